/* test_user.c: format_data's flattening checked field by field against the seeds' rules, the
 * errors for users that lack a field or carry the wrong type, and the UUIDv4 ids. */
#include "pipeline/user.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* randomuser.me's documented example user (API 1.4), postcode as a string. */
static const char *const jennie =
    "{\"gender\":\"female\",\"name\":{\"title\":\"Miss\",\"first\":\"Jennie\",\"last\":"
    "\"Nichols\"},\"location\":{\"street\":{\"number\":8929,\"name\":\"Valwood Pkwy\"},"
    "\"city\":\"Billings\",\"state\":\"Michigan\",\"country\":\"United States\",\"postcode\":"
    "\"63104\",\"coordinates\":{\"latitude\":\"-69.8246\",\"longitude\":\"134.8719\"},"
    "\"timezone\":{\"offset\":\"+9:30\",\"description\":\"Adelaide, Darwin\"}},\"email\":"
    "\"jennie.nichols@example.com\",\"login\":{\"uuid\":\"7a0eed16-9430-4d68-901f-c0d4c1c3bf00\","
    "\"username\":\"yellowpeacock117\",\"password\":\"addison\",\"salt\":\"sld1yGtd\",\"md5\":"
    "\"ab54ac4c0be9480ae8fa5e9e2a5196a3\",\"sha1\":\"edcf2ce613cbdea349133c52dc2f3b83168dc51b\","
    "\"sha256\":\"48df5229235ada28389b91e60a935e4f9b73eb4bdb855ef9258a1751f10bdc5d\"},\"dob\":{"
    "\"date\":\"1992-03-08T15:13:16.688Z\",\"age\":30},\"registered\":{\"date\":"
    "\"2007-07-09T05:51:59.390Z\",\"age\":14},\"phone\":\"(272) 790-0888\",\"cell\":"
    "\"(489) 330-2385\",\"id\":{\"name\":\"SSN\",\"value\":\"405-88-3636\"},\"picture\":{"
    "\"large\":\"https://randomuser.me/api/portraits/men/75.jpg\",\"medium\":"
    "\"https://randomuser.me/api/portraits/med/men/75.jpg\",\"thumbnail\":"
    "\"https://randomuser.me/api/portraits/thumb/men/75.jpg\"},\"nat\":\"US\"}";

static const char *const id = "0b3e4c5d-6f70-4182-93a4-b5c6d7e8f901";

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

static const char *field(const json_t *rec, const char *name)
{
    const json_t *v = json_object_get(rec, name);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_flatten_example(void **state)
{
    (void)state;
    json_t *raw = load(jennie);
    char err[128];
    json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
    assert_non_null(rec);
    assert_int_equal(json_object_size(rec), SL_USER_NFIELDS);
    assert_string_equal(field(rec, "id"), id);
    assert_string_equal(field(rec, "first_name"), "Jennie");
    assert_string_equal(field(rec, "last_name"), "Nichols");
    assert_string_equal(field(rec, "gender"), "female");
    assert_string_equal(field(rec, "address"),
                        "8929 Valwood Pkwy, Billings, Michigan, United States");
    assert_string_equal(field(rec, "post_code"), "63104");
    assert_string_equal(field(rec, "email"), "jennie.nichols@example.com");
    assert_string_equal(field(rec, "username"), "yellowpeacock117");
    assert_string_equal(field(rec, "dob"), "1992-03-08T15:13:16.688Z");
    assert_string_equal(field(rec, "registered_date"), "2007-07-09T05:51:59.390Z");
    assert_string_equal(field(rec, "phone"), "(272) 790-0888");
    assert_string_equal(field(rec, "picture"),
                        "https://randomuser.me/api/portraits/med/men/75.jpg");

    /* The seeds' key order. */
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(rec, key, v)
    {
        (void)v;
        assert_string_equal(key, sl_user_fields[i]);
        i++;
    }
    json_decref(rec);
    json_decref(raw);
}

/* postcode comes as an integer for most nationalities and as a string for GB, CA, NO; the
 * record always carries text. street.number is an integer in the API and text in the address. */
static void test_postcode_int_and_string(void **state)
{
    (void)state;
    char err[128];
    json_t *raw = load(jennie);
    json_t *loc = json_object_get(raw, "location");
    const struct {
        json_t *pc;
        const char *want;
    } cases[] = {
        {json_integer(63104), "63104"},
        {json_integer(200), "200"},
        {json_string("EC1A 1BB"), "EC1A 1BB"},
        {json_string("A1B 2C3"), "A1B 2C3"},
        {json_string("0150"), "0150"}, /* a string keeps its leading zero */
        {json_integer(0), "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object_set_new(loc, "postcode", cases[i].pc);
        json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
        assert_non_null(rec);
        assert_string_equal(field(rec, "post_code"), cases[i].want);
        json_decref(rec);
    }
    json_object_set_new(json_object_get(loc, "street"), "number", json_string("12b"));
    json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
    assert_non_null(rec);
    assert_string_equal(field(rec, "address"),
                        "12b Valwood Pkwy, Billings, Michigan, United States");
    json_decref(rec);
    json_decref(raw);
}

/* Names, streets and cities in other scripts pass through unchanged, as UTF-8. */
static void test_unicode(void **state)
{
    (void)state;
    char err[128];
    json_t *raw = load(jennie);
    json_object_set_new(json_object_get(raw, "name"), "first", json_string("Мирослава"));
    json_t *loc = json_object_get(raw, "location");
    json_object_set_new(json_object_get(loc, "street"), "name", json_string("خیابان آزادی"));
    json_object_set_new(loc, "city", json_string("Zürich"));
    json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
    assert_non_null(rec);
    assert_string_equal(field(rec, "first_name"), "Мирослава");
    assert_string_equal(field(rec, "address"),
                        "8929 خیابان آزادی, Zürich, Michigan, United States");
    json_decref(rec);
    json_decref(raw);
}

static void expect_error(json_t *raw, const char *want)
{
    char err[128] = "";
    json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
    assert_null(rec);
    assert_string_equal(err, want);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    json_t *raw = load(jennie);
    json_object_del(json_object_get(json_object_get(raw, "location"), "street"), "number");
    expect_error(raw, "location.street.number: missing");
    json_decref(raw);

    raw = load(jennie);
    json_object_set_new(raw, "phone", json_null());
    expect_error(raw, "phone: null, expected a string");
    json_decref(raw);

    raw = load(jennie);
    json_object_set_new(raw, "location", json_string("somewhere"));
    expect_error(raw, "location: not an object");
    json_decref(raw);

    raw = load(jennie);
    json_object_del(raw, "picture");
    expect_error(raw, "picture: missing");
    json_decref(raw);

    raw = load(jennie);
    json_object_set_new(json_object_get(raw, "location"), "postcode", json_real(1.5));
    expect_error(raw, "location.postcode: a real number, expected a string or an integer");
    json_decref(raw);

    raw = load(jennie);
    json_object_set_new(json_object_get(raw, "dob"), "date", json_integer(1992));
    expect_error(raw, "dob.date: an integer, expected a string");
    json_decref(raw);

    raw = json_array();
    expect_error(raw, "user: an array, expected an object");
    json_decref(raw);
}

static void test_encode(void **state)
{
    (void)state;
    json_t *raw = load(jennie);
    sl_buf b = SL_BUF_INIT;
    char err[128];
    sl_buf_append_str(&b, "prefix|");
    assert_int_equal(sl_user_encode(raw, id, &b, err, sizeof err), 0);
    const char *text = sl_buf_cstr(&b);
    assert_memory_equal(text, "prefix|{\"id\":\"", 14);
    json_error_t je;
    json_t *back = json_loads(text + 7, 0, &je);
    assert_non_null(back);
    assert_string_equal(field(back, "post_code"), "63104");
    assert_null(strchr(text, '\n')); /* compact: one line per record */
    json_decref(back);

    size_t len = b.len;
    json_object_del(raw, "email");
    assert_int_equal(sl_user_encode(raw, id, &b, err, sizeof err), SL_ERR_PARSE);
    assert_int_equal(b.len, len); /* nothing appended on failure */
    assert_string_equal(err, "email: missing");
    sl_buf_free(&b);
    json_decref(raw);
}

static int dump_cb(const char *p, size_t n, void *data)
{
    sl_buf_append((sl_buf *)data, p, n);
    return 0;
}

/* The direct encoder writes exactly what jansson writes for the flattened object, escapes
 * included: quotes, backslashes, every control character, NUL, and multi-byte UTF-8. */
static void test_encode_matches_jansson(void **state)
{
    (void)state;
    static const char nasty[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 \xe2\x82\xac "
                                "\xf0\x9f\x98\x80 end";
    json_t *raw = load(jennie);
    json_object_set_new(raw, "phone", json_string(nasty));
    json_object_set_new(json_object_get(raw, "name"), "last", json_stringn("a\0b", 3));
    json_object_set_new(json_object_get(json_object_get(raw, "location"), "street"), "name",
                        json_string("\"Quoted\" Rd\\"));
    char err[128];
    json_t *rec = sl_user_flatten(raw, id, err, sizeof err);
    assert_non_null(rec);
    sl_buf want = SL_BUF_INIT, got = SL_BUF_INIT;
    json_dump_callback(rec, dump_cb, &want, JSON_COMPACT);
    assert_int_equal(sl_user_encode(raw, id, &got, err, sizeof err), 0);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.ptr, want.ptr, want.len);
    assert_non_null(strstr(sl_buf_cstr(&got), "\"last_name\":\"a\\u0000b\""));
    sl_buf_free(&want);
    sl_buf_free(&got);
    json_decref(rec);
    json_decref(raw);
}

static void test_uuid_format(void **state)
{
    (void)state;
    uint8_t u[16];
    for (int i = 0; i < 16; i++)
        u[i] = (uint8_t)(i * 17);
    char s[SL_UUID_STRLEN + 1];
    sl_user_uuid_format(u, s);
    assert_string_equal(s, "00112233-4455-6677-8899-aabbccddeeff");
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Version and variant bits, uniqueness over many ids, and every random bit both 0 and 1 about
 * half the time. */
static void test_uuid4(void **state)
{
    (void)state;
    enum { N = 100000 };
    uint8_t(*ids)[16] = malloc(sizeof(uint8_t[16]) * N);
    assert_non_null(ids);
    int ones[128] = {0};
    for (int i = 0; i < N; i++) {
        sl_user_uuid4(ids[i]);
        assert_int_equal(ids[i][6] >> 4, 4);
        assert_int_equal(ids[i][8] >> 6, 2);
        for (int bit = 0; bit < 128; bit++)
            ones[bit] += (ids[i][bit / 8] >> (7 - bit % 8)) & 1;
        if (i < 1000) {
            char s[SL_UUID_STRLEN + 1];
            sl_user_uuid_format(ids[i], s);
            assert_int_equal(strlen(s), 36);
            assert_int_equal(s[14], '4');
            assert_non_null(strchr("89ab", s[19]));
            for (int k = 0; k < 36; k++) {
                if (k == 8 || k == 13 || k == 18 || k == 23)
                    assert_int_equal(s[k], '-');
                else
                    assert_non_null(strchr("0123456789abcdef", s[k]));
            }
        }
    }
    qsort(ids, N, 16, cmp16);
    for (int i = 1; i < N; i++)
        assert_true(memcmp(ids[i - 1], ids[i], 16) != 0);
    for (int bit = 0; bit < 128; bit++) {
        bool fixed = (bit >= 48 && bit < 52) || bit == 64 || bit == 65;
        if (fixed) continue;
        /* 100k fair coin flips: 6 standard deviations is about +-950. */
        assert_in_range(ones[bit], N / 2 - 1000, N / 2 + 1000);
    }
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten_example), cmocka_unit_test(test_postcode_int_and_string),
        cmocka_unit_test(test_unicode),         cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_encode),          cmocka_unit_test(test_encode_matches_jansson),
        cmocka_unit_test(test_uuid_format),     cmocka_unit_test(test_uuid4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
