/* test_kafka_render.c: how the message browser shows plain bytes (JSON, text, base64), the
 * search match, and the browse query's parsing with a named reason for each bad value. */
#include "console/kafka_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void check_plain(const char *in, size_t n, sl_value_format want, const char *text)
{
    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_ck_render_plain((const uint8_t *)in, n, &out), want);
    assert_int_equal(out.len, strlen(text));
    assert_memory_equal(out.ptr, text, out.len);
    sl_buf_free(&out);
}

static void test_plain(void **state)
{
    (void)state;
    check_plain("{\"a\": [1, 2]}", 13, SL_VALUE_JSON, "{\"a\": [1, 2]}");
    check_plain("42", 2, SL_VALUE_JSON, "42");
    check_plain("\"s\"", 3, SL_VALUE_JSON, "\"s\"");
    check_plain("hello world", 11, SL_VALUE_TEXT, "hello world");
    check_plain("{\"a\":", 5, SL_VALUE_TEXT, "{\"a\":");
    check_plain("", 0, SL_VALUE_TEXT, "");
    check_plain("h\xc3\xa9llo", 6, SL_VALUE_TEXT, "h\xc3\xa9llo");
    /* Invalid UTF-8 and raw bytes are base64. */
    check_plain("\xff\xfe\x00\x01", 4, SL_VALUE_BINARY, "//4AAQ==");
    check_plain("\xc3", 1, SL_VALUE_BINARY, "ww==");
    const char nul[] = {'a', 0, 'b'};
    check_plain(nul, sizeof nul, SL_VALUE_BINARY, "YQBi");
    check_plain("\x01\x02", 2, SL_VALUE_BINARY, "AQI=");
    check_plain("a\tb\r\n", 5, SL_VALUE_TEXT, "a\tb\r\n");
    assert_string_equal(sl_value_format_name(SL_VALUE_AVRO), "avro");
    assert_string_equal(sl_value_format_name(SL_VALUE_NULL), "null");
}

static void test_contains(void **state)
{
    (void)state;
    const char *h = "{\"email\":\"Ann@Example.com\"}";
    assert_true(sl_ck_contains(h, strlen(h), "ann@example"));
    assert_true(sl_ck_contains(h, strlen(h), "EMAIL"));
    assert_true(sl_ck_contains(h, strlen(h), ""));
    assert_false(sl_ck_contains(h, strlen(h), "bob"));
    assert_false(sl_ck_contains(h, 5, "email"));
    assert_false(sl_ck_contains(NULL, 0, "x"));
}

static void test_query_parse(void **state)
{
    (void)state;
    sl_browse_query q;
    char err[128];
    assert_int_equal(
        sl_browse_query_parse(&q, NULL, NULL, NULL, NULL, NULL, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(q.partition, -1);
    assert_int_equal(q.from, SL_BROWSE_NEWEST);
    assert_int_equal(q.limit, 50);
    assert_null(q.q);
    assert_int_equal(
        sl_browse_query_parse(&q, "2", NULL, "17", NULL, "5", "Ann", "key", err, sizeof err), 0);
    assert_int_equal(q.partition, 2);
    assert_int_equal(q.from, SL_BROWSE_OFFSET);
    assert_int_equal(q.offset, 17);
    assert_int_equal(q.limit, 5);
    assert_string_equal(q.q, "Ann");
    assert_int_equal(q.field, SL_SEARCH_KEY);
    sl_browse_query_free(&q);
    assert_int_equal(sl_browse_query_parse(&q, "all", NULL, NULL, "1700000000000", NULL, NULL, NULL,
                                           err, sizeof err),
                     0);
    assert_int_equal(q.from, SL_BROWSE_TIMESTAMP);
    assert_int_equal(q.timestamp, 1700000000000LL);
    /* Each bad value is named. */
    struct {
        const char *part, *from, *off, *ts, *limit, *in, *needle;
    } bad[] = {
        {"x", NULL, NULL, NULL, NULL, NULL, "partition"},
        {"-1", NULL, NULL, NULL, NULL, NULL, "partition"},
        {NULL, "middle", NULL, NULL, NULL, NULL, "from"},
        {NULL, "offset", NULL, NULL, NULL, NULL, "offset"},
        {NULL, NULL, "-3", NULL, NULL, NULL, "offset"},
        {NULL, NULL, NULL, "soon", NULL, NULL, "timestamp"},
        {NULL, NULL, NULL, NULL, "0", NULL, "limit"},
        {NULL, NULL, NULL, NULL, "501", NULL, "limit"},
        {NULL, NULL, NULL, NULL, "9x", NULL, "limit"},
        {NULL, NULL, NULL, NULL, NULL, "body", "in"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        assert_int_equal(sl_browse_query_parse(&q, bad[i].part, bad[i].from, bad[i].off, bad[i].ts,
                                               bad[i].limit, "s", bad[i].in, err, sizeof err),
                         SL_ERR_INVAL);
        assert_non_null(strstr(err, bad[i].needle));
        sl_browse_query_free(&q);
    }
    char longq[300];
    memset(longq, 'a', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    assert_int_equal(
        sl_browse_query_parse(&q, NULL, NULL, NULL, NULL, NULL, longq, NULL, err, sizeof err),
        SL_ERR_INVAL);
    assert_non_null(strstr(err, "q is longer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_query_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
