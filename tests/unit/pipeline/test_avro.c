/* test_avro.c: the parts of the Confluent wire-format codec that need no registry (the rest is
 * test_0537 against sluice registry): values without the header, a registry that cannot be
 * reached (named reason, bounded retry), and the encoder refusing a bad schema before any
 * request. */
#include "pipeline/avro.h"

#include "core/sl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void test_not_avro(void **state)
{
    (void)state;
    sl_avro_dec *d = sl_avro_dec_new("http://127.0.0.1:1", 100, 0);
    sl_buf out;
    sl_buf_init(&out);
    char detail[160];
    static const struct {
        const char *v;
        size_t n;
    } bad[] = {{"", 0}, {"\0\0\0", 3}, {"{\"a\":1}", 7}, {"\1\0\0\0\1x", 6}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        detail[0] = 0;
        assert_int_equal(sl_avro_dec_json(d, bad[i].v, bad[i].n, &out, detail, sizeof detail),
                         SL_REC_NOT_AVRO);
        assert_true(detail[0] != 0);
    }
    assert_int_equal(out.len, 0);
    assert_string_equal(sl_rec_error_name(SL_REC_NOT_AVRO), "not_avro");
    sl_buf_free(&out);
    sl_avro_dec_free(d);
}

static void test_registry_unreachable(void **state)
{
    (void)state;
    sl_avro_dec *d = sl_avro_dec_new("http://127.0.0.1:1/", 200, 300);
    sl_buf out;
    sl_buf_init(&out);
    char detail[160] = "";
    int64_t t0 = sl_mono_ms();
    assert_int_equal(sl_avro_dec_json(d, "\0\0\0\0\7\2a", 7, &out, detail, sizeof detail),
                     SL_REC_REGISTRY_UNAVAILABLE);
    assert_true(sl_mono_ms() - t0 < 5000);
    assert_non_null(strstr(detail, "schema id 7"));
    assert_string_equal(sl_rec_error_name(SL_REC_REGISTRY_UNAVAILABLE), "registry_unavailable");
    assert_int_equal(sl_avro_dec_cached(d), 0);
    sl_buf_free(&out);
    sl_avro_dec_free(d);

    sl_avro_enc *e = NULL;
    char err[256] = "";
    assert_true(sl_avro_enc_open("http://127.0.0.1:1", "t-value", sl_avro_user_schema, 200, &e, err,
                                 sizeof err) < 0);
    assert_null(e);
    assert_non_null(strstr(err, "registry"));
}

static void test_encoder_refuses_bad_schemas(void **state)
{
    (void)state;
    sl_avro_enc *e = NULL;
    char err[256] = "";
    assert_int_equal(
        sl_avro_enc_open("http://127.0.0.1:1", "s", "{\"type\":", 100, &e, err, sizeof err),
        SL_ERR_PARSE);
    assert_non_null(strstr(err, "invalid Avro schema"));
    assert_int_equal(
        sl_avro_enc_open("http://127.0.0.1:1", "s", "\"string\"", 100, &e, err, sizeof err),
        SL_ERR_PARSE);
    assert_non_null(strstr(err, "must be a record"));
    assert_null(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_avro),
        cmocka_unit_test(test_registry_unreachable),
        cmocka_unit_test(test_encoder_refuses_bad_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
