/* test_types.c: type descriptors (text, AST-free parse, [option]), validation of every type,
 * Cassandra ordering, formatting (literal, cqlsh, JSON), constants/literals/JSON to bytes,
 * uuids, and Murmur3 tokens checked against values Cassandra computes. */
#include "cql/types.h"
#include "cql/types_int.h"
#include "cql/parser.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static sl_cql_dtype *T(const char *text)
{
    sl_cql_dtype *t = NULL;
    sl_buf err = SL_BUF_INIT;
    int rc = sl_cql_dtype_parse(SL_SLICE_STR(text), &t, &err);
    if (rc) fail_msg("parse %s: %s", text, sl_buf_cstr(&err));
    sl_buf_free(&err);
    return t;
}

/* A buffer's bytes as a value: an empty buffer is the empty value, not null. */
static sl_slice val(const sl_buf *b)
{
    return (sl_slice){b->ptr ? b->ptr : (const uint8_t *)"", b->len};
}

/* Serializes literal text as type text; returns the bytes in b (reset first). */
static int lit(const char *type, const char *text, sl_buf *b, sl_buf *err)
{
    sl_cql_dtype *t = T(type);
    bool is_null;
    b->len = 0;
    err->len = 0;
    int rc = sl_cql_value_parse_literal(t, SL_SLICE_STR(text), "c", b, &is_null, err);
    sl_cql_dtype_release(t);
    return rc;
}

/* Round trip: literal -> bytes -> formatted in style fmt equals want. */
static void check_fmt(const char *type, const char *text, sl_cql_fmt fmt, const char *want)
{
    sl_buf b = SL_BUF_INIT, err = SL_BUF_INIT, out = SL_BUF_INIT;
    if (lit(type, text, &b, &err)) fail_msg("%s %s: %s", type, text, sl_buf_cstr(&err));
    sl_cql_dtype *t = T(type);
    assert_int_equal(sl_cql_value_validate(t, val(&b), &err), 0);
    sl_cql_value_format(t, val(&b), fmt, &out);
    assert_string_equal(sl_buf_cstr(&out), want);
    sl_cql_dtype_release(t);
    sl_buf_free(&b);
    sl_buf_free(&err);
    sl_buf_free(&out);
}

static void check_json(const char *type, const char *text, const char *want)
{
    sl_buf b = SL_BUF_INIT, err = SL_BUF_INIT, out = SL_BUF_INIT;
    if (lit(type, text, &b, &err)) fail_msg("%s %s: %s", type, text, sl_buf_cstr(&err));
    sl_cql_dtype *t = T(type);
    sl_cql_value_format_json(t, val(&b), &out);
    assert_string_equal(sl_buf_cstr(&out), want);
    /* and back: the JSON parses to the same bytes */
    json_error_t je;
    json_t *j = json_loads(sl_buf_cstr(&out), JSON_DECODE_ANY, &je);
    assert_non_null(j);
    sl_buf b2 = SL_BUF_INIT;
    bool is_null;
    if (sl_cql_value_from_json(t, j, "c", &b2, &is_null, &err))
        fail_msg("from_json %s: %s", want, sl_buf_cstr(&err));
    assert_int_equal(b2.len, b.len);
    assert_true(sl_cql_value_compare(t, val(&b), val(&b2)) == 0);
    json_decref(j);
    sl_cql_dtype_release(t);
    sl_buf_free(&b);
    sl_buf_free(&b2);
    sl_buf_free(&err);
    sl_buf_free(&out);
}

static void check_lit_err(const char *type, const char *text, const char *want)
{
    sl_buf b = SL_BUF_INIT, err = SL_BUF_INIT;
    assert_int_equal(lit(type, text, &b, &err), SL_ERR_INVAL);
    if (!strstr(sl_buf_cstr(&err), want))
        fail_msg("%s %s: got '%s', want '%s'", type, text, sl_buf_cstr(&err), want);
    sl_buf_free(&b);
    sl_buf_free(&err);
}

static void test_type_text(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"int", "int"},
        {"VARCHAR", "text"},
        {"frozen<map<text, list<int>>>", "frozen<map<text, frozen<list<int>>>>"},
        {"list<int>", "list<int>"},
        {"set < timeuuid >", "set<timeuuid>"},
        {"tuple<int, text, frozen<set<uuid>>>", "tuple<int, text, frozen<set<uuid>>>"},
        {"map<uuid, tuple<int, list<int>>>", "map<uuid, tuple<int, frozen<list<int>>>>"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_cql_dtype *t = T(cases[i][0]);
        sl_buf out = SL_BUF_INIT;
        sl_cql_dtype_to_cql(t, &out);
        assert_string_equal(sl_buf_cstr(&out), cases[i][1]);
        /* the printed form parses to an equal type */
        sl_cql_dtype *t2 = T(cases[i][1]);
        assert_true(sl_cql_dtype_equal(t, t2));
        /* [option] round trip (collections come back frozen: metadata carries no flag) */
        sl_buf opt = SL_BUF_INIT;
        sl_cql_dtype_encode_option(t, &opt);
        sl_rd r;
        sl_rd_init(&r, opt.ptr, opt.len);
        sl_cql_dtype *t3;
        assert_int_equal(sl_cql_dtype_decode_option(&r, &t3), 0);
        assert_int_equal(sl_rd_left(&r), 0);
        sl_cql_dtype *f = sl_cql_dtype_freeze(t);
        assert_int_equal(t3->kind, t->kind);
        sl_cql_dtype_release(f);
        sl_cql_dtype_release(t3);
        sl_cql_dtype_release(t);
        sl_cql_dtype_release(t2);
        sl_buf_free(&out);
        sl_buf_free(&opt);
    }
    sl_cql_dtype *ml = T("list<int>");
    assert_true(sl_cql_dtype_is_multicell(ml));
    sl_cql_dtype_release(ml);
    sl_cql_dtype *fl = T("frozen<list<int>>");
    assert_false(sl_cql_dtype_is_multicell(fl));
    sl_cql_dtype_release(fl);

    static const char *bad[][2] = {
        {"foo", "Unknown type foo"},
        {"list<list<int>>", "Non-frozen collections are not allowed inside collections"},
        {"list<counter>", "Counters are not allowed inside collections"},
        {"map<int>", "map takes 2 type parameters"},
        {"frozen<int>", "frozen<> is only allowed on collections"},
        {"list<int", "expected '>'"},
        {"int x", "unexpected"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        sl_cql_dtype *t = NULL;
        sl_buf err = SL_BUF_INIT;
        assert_int_equal(sl_cql_dtype_parse(SL_SLICE_STR(bad[i][0]), &t, &err), SL_ERR_INVAL);
        assert_null(t);
        if (!strstr(sl_buf_cstr(&err), bad[i][1]))
            fail_msg("%s: got '%s'", bad[i][0], sl_buf_cstr(&err));
        sl_buf_free(&err);
    }
    /* option ids as §4.2.5.2 numbers them */
    sl_buf opt = SL_BUF_INIT;
    sl_cql_dtype *m = T("map<text, int>");
    sl_cql_dtype_encode_option(m, &opt);
    assert_int_equal(opt.len, 6);
    assert_memory_equal(opt.ptr, "\x00\x21\x00\x0d\x00\x09", 6);
    sl_cql_dtype_release(m);
    /* truncated and hostile options fail cleanly */
    for (size_t n = 0; n < opt.len; n++) {
        sl_rd r;
        sl_rd_init(&r, opt.ptr, n);
        sl_cql_dtype *t;
        assert_int_equal(sl_cql_dtype_decode_option(&r, &t), SL_ERR_PARSE);
    }
    uint8_t deep[2 * 100];
    for (int i = 0; i < 100; i++)
        sl_put_be16(deep + 2 * i, 0x20);
    sl_rd r;
    sl_rd_init(&r, deep, sizeof(deep));
    sl_cql_dtype *t;
    assert_int_equal(sl_cql_dtype_decode_option(&r, &t), SL_ERR_PARSE);
    uint8_t tuple_huge[] = {0x00, 0x31, 0xff, 0xff, 0x00, 0x09};
    sl_rd_init(&r, tuple_huge, sizeof(tuple_huge));
    assert_int_equal(sl_cql_dtype_decode_option(&r, &t), SL_ERR_PARSE);
    sl_buf_free(&opt);
}

static void check_valid(const char *type, const void *p, size_t n, const char *want_err)
{
    sl_cql_dtype *t = T(type);
    sl_buf err = SL_BUF_INIT;
    int rc = sl_cql_value_validate(t, (sl_slice){p ? p : (const uint8_t *)"", n}, &err);
    if (!want_err) {
        if (rc) fail_msg("%s: unexpected error %s", type, sl_buf_cstr(&err));
    } else {
        assert_int_equal(rc, SL_ERR_INVAL);
        if (!strstr(sl_buf_cstr(&err), want_err))
            fail_msg("%s: got '%s', want '%s'", type, sl_buf_cstr(&err), want_err);
    }
    sl_cql_dtype_release(t);
    sl_buf_free(&err);
}

static void test_validate(void **state)
{
    (void)state;
    check_valid("int", "\0\0\0\1", 4, NULL);
    check_valid("int", "", 0, NULL); /* empty values are legal for int */
    check_valid("int", "\0\0\1", 3, "Expected 4 or 0 byte int (3)");
    check_valid("bigint", "\0\0\0\1", 4, "Expected 8 or 0 byte long (4)");
    check_valid("counter", "12345678", 8, NULL);
    check_valid("smallint", "\0", 1, "Expected 2 bytes for a smallint (1)");
    check_valid("smallint", "", 0, "Expected 2 bytes for a smallint (0)");
    check_valid("tinyint", "ab", 2, "Expected 1 byte for a tinyint (2)");
    check_valid("float", "abc", 3, "float");
    check_valid("double", "abcdefgh", 8, NULL);
    check_valid("boolean", "\1\1", 2, "Expected 1 or 0 byte value (2)");
    check_valid("timestamp", "1234567", 7, "Expected 8 or 0 byte long for date (7)");
    check_valid("date", "\x80\0\0\0", 4, NULL);
    check_valid("date", "\x80\0\0", 3, "Expected 4 byte long for date (3)");
    check_valid("time", "\0\0\0\0\0\0\0\1", 8, NULL);
    check_valid("time", "\x7f\0\0\0\0\0\0\1", 8, "Invalid time value");
    check_valid("uuid", "0123456789abcdef", 16, NULL);
    check_valid("uuid", "0123456789abcde", 15, "UUID should be 16 or 0 bytes (15)");
    check_valid("timeuuid", "0123456789abcdef", 16, "Unsupported UUID version");
    check_valid("timeuuid",
                "012345\x10\x37"
                "89abcdef",
                16, NULL);
    check_valid("inet", "\x7f\0\0\1", 4, NULL);
    check_valid("inet", "\x7f\0\0", 3, "inetaddress");
    check_valid("decimal", "\0\0\0\1\x05", 5, NULL);
    check_valid("decimal", "\0\1", 2, "decimal");
    check_valid("varint", "\xff\x00\x01", 3, NULL);
    check_valid("blob", "\xff\x00", 2, NULL);
    check_valid("ascii", "hello", 5, NULL);
    check_valid("ascii", "h\xc3\xa9", 3, "Invalid byte for ascii");
    check_valid("text", "h\xc3\xa9", 3, NULL);
    check_valid("text", "h\xc3", 2, "String didn't validate.");
    /* past the eight-bytes-at-a-time ASCII scan: bad bytes after, inside and across words */
    check_valid("text", "abcdefghijklmnop\xc3\xa9xyz", 21, NULL);
    check_valid("text", "abcdefghijklmnop\xc3", 17, "String didn't validate.");
    check_valid("text",
                "abcdefgh\x80"
                "bcdefgh",
                16, "String didn't validate.");
    check_valid("text",
                "abcdefg\xe2\x82\xac"
                "abcdefgh",
                18, NULL);
    check_valid("text",
                "abcdefg\xed\xa0\x80"
                "abcdefgh",
                18, "String didn't validate.");
    check_valid("text", "\xed\xa0\x80", 3, "String didn't validate.");     /* surrogate */
    check_valid("text", "\xc0\x80", 2, "String didn't validate.");         /* overlong */
    check_valid("text", "\xf4\x90\x80\x80", 4, "String didn't validate."); /* > U+10FFFF */
    /* collections: count, element lengths, element validity, trailing bytes */
    check_valid("list<int>", "\0\0\0\1\0\0\0\4\0\0\0\7", 12, NULL);
    check_valid("list<int>", "\0\0\0\2\0\0\0\4\0\0\0\7", 12, "Not enough bytes to read a list");
    check_valid("list<int>", "\0\0\0\1\0\0\0\3\0\0\7", 11, "Expected 4 or 0 byte int (3)");
    check_valid("list<int>", "\0\0\0\1\0\0\0\4\0\0\0\7\0", 13, "extraneous bytes");
    check_valid("list<int>", "\xff\xff\xff\xff", 4, "Not enough bytes");
    check_valid("list<int>", "\x7f\xff\xff\xff", 4, "Not enough bytes");
    check_valid("map<text, int>", "\0\0\0\1\0\0\0\1a\0\0\0\4\0\0\0\1", 17, NULL);
    check_valid("map<text, int>", "\0\0\0\1\0\0\0\1\xff\0\0\0\4\0\0\0\1", 17,
                "String didn't validate.");
    check_valid("tuple<int, text>", "\0\0\0\4\0\0\0\1\xff\xff\xff\xff", 12, NULL);
    check_valid("tuple<int>", "\0\0\0\4\0\0\0\1\xff\xff\xff\xff", 12, "remaining data");
    check_valid("frozen<list<text>>", "\0\0\0\1\xff\xff\xff\xff", 8, "Not enough bytes");
}

static void order(const char *type, const char *const *lits, size_t n)
{
    sl_cql_dtype *t = T(type);
    sl_buf *b = calloc(n, sizeof(*b));
    sl_buf err = SL_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (lit(type, lits[i], &b[i], &err)) fail_msg("%s: %s", lits[i], sl_buf_cstr(&err));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = sl_cql_value_compare(t, val(&b[i]), val(&b[j]));
            int want = (i > j) - (i < j);
            if ((c > 0) - (c < 0) != want)
                fail_msg("%s: compare(%s, %s) = %d, want %d", type, lits[i], lits[j], c, want);
        }
    for (size_t i = 0; i < n; i++)
        sl_buf_free(&b[i]);
    free(b);
    sl_buf_free(&err);
    sl_cql_dtype_release(t);
}

#define ORDER(type, ...)                                                                           \
    do {                                                                                           \
        static const char *const l_[] = {__VA_ARGS__};                                             \
        order(type, l_, SL_ARRAY_LEN(l_));                                                         \
    } while (0)

static void test_compare(void **state)
{
    (void)state;
    ORDER("int", "-2147483648", "-1", "0", "1", "2147483647");
    ORDER("bigint", "-9223372036854775808", "-5", "0", "7", "9223372036854775807");
    ORDER("smallint", "-32768", "-1", "0", "32767");
    ORDER("tinyint", "-128", "-1", "0", "127");
    ORDER("varint", "-100000000000000000000000", "-256", "-255", "-1", "0", "1", "127", "128",
          "255", "256", "100000000000000000000000");
    ORDER("decimal", "-1e10", "-1.5", "-0.001", "0", "0.0001", "0.1", "1", "1.01", "10", "1e10");
    ORDER("float", "-Infinity", "-1.5", "-0.0", "0.0", "1e-10", "3.5", "Infinity", "NaN");
    ORDER("double", "-Infinity", "-1e300", "-0.0", "0.0", "2.5", "1e300", "Infinity", "NaN");
    ORDER("boolean", "false", "true");
    ORDER("text", "''", "'A'", "'a'", "'ab'", "'b'", "'\xc3\xa9'");
    ORDER("ascii", "''", "'a'", "'aa'", "'b'");
    ORDER("blob", "0x", "0x00", "0x0000", "0x01", "0xff");
    ORDER("timestamp", "-1000", "0", "'2024-01-01'", "'2024-01-01 00:00:01'");
    ORDER("date", "'1969-12-31'", "'1970-01-01'", "'2024-02-29'");
    ORDER("time", "'00:00:00'", "'00:00:00.000000001'", "'23:59:59.999999999'");
    /* inet: raw bytes, so every v6 address below 1.0.0.0 sorts before the v4 ones */
    ORDER("inet", "'::1'", "'1.2.3.4'", "'10.0.0.1'", "'ff00::1'");
    /* timeuuid: by time first (time_hi, time_mid, time_low), then the low half as signed bytes */
    ORDER("timeuuid", "ffffffff-ffff-1000-8000-000000000000",
          "00000000-0000-1001-8000-000000000000", "00000000-0000-1002-8000-000000000000",
          "00000001-0000-1002-8000-000000000000", "00000001-0000-1002-0000-000000000000");
    /* uuid: version first; v1 by time; other versions by raw bytes */
    ORDER("uuid", "ffffffff-ffff-1000-8000-000000000000", "00000000-0000-1001-8000-000000000000",
          "00000000-0000-4000-8000-000000000000", "ffffffff-0000-4000-8000-000000000000");
    ORDER("frozen<list<int>>", "[]", "[1]", "[1, 2]", "[2]");
    ORDER("frozen<set<int>>", "{}", "{-1}", "{1, 2}", "{3}");
    ORDER("frozen<map<int, text>>", "{}", "{1: 'a'}", "{1: 'b'}", "{1: 'b', 2: 'a'}", "{2: 'a'}");
    ORDER("tuple<int, text>", "(1, null)", "(1, 'a')", "(2, 'a')");
    /* empty values sort first */
    sl_cql_dtype *t = T("int");
    sl_slice empty = {(const uint8_t *)"", 0}, one = {(const uint8_t *)"\x80\0\0\0", 4};
    assert_true(sl_cql_value_compare(t, empty, one) < 0);
    assert_true(sl_cql_value_compare(t, one, empty) > 0);
    assert_true(sl_cql_value_compare(t, empty, empty) == 0);
}

static void test_format(void **state)
{
    (void)state;
    check_fmt("int", "-42", SL_CQL_FMT_LITERAL, "-42");
    check_fmt("bigint", "9223372036854775807", SL_CQL_FMT_DISPLAY, "9223372036854775807");
    check_fmt("text", "'it''s'", SL_CQL_FMT_LITERAL, "'it''s'");
    check_fmt("text", "'it''s'", SL_CQL_FMT_DISPLAY, "it's");
    check_fmt("text", "$$dollar 'q'$$", SL_CQL_FMT_DISPLAY, "dollar 'q'");
    check_fmt("ascii", "'abc'", SL_CQL_FMT_LITERAL, "'abc'");
    check_fmt("boolean", "TRUE", SL_CQL_FMT_LITERAL, "true");
    check_fmt("float", "1.5", SL_CQL_FMT_LITERAL, "1.5");
    check_fmt("float", "3", SL_CQL_FMT_LITERAL, "3.0");
    check_fmt("float", "0.1", SL_CQL_FMT_LITERAL, "0.1");
    check_fmt("double", "0.1", SL_CQL_FMT_LITERAL, "0.1");
    check_fmt("double", "-Infinity", SL_CQL_FMT_LITERAL, "-Infinity");
    check_fmt("double", "NaN", SL_CQL_FMT_LITERAL, "NaN");
    check_fmt("double", "1e300", SL_CQL_FMT_LITERAL, "1e+300");
    check_fmt("varint", "-123456789012345678901234567890", SL_CQL_FMT_LITERAL,
              "-123456789012345678901234567890");
    check_fmt("varint", "0", SL_CQL_FMT_LITERAL, "0");
    check_fmt("varint", "-128", SL_CQL_FMT_LITERAL, "-128");
    check_fmt("decimal", "1.50", SL_CQL_FMT_LITERAL, "1.50");
    check_fmt("decimal", "-0.000123", SL_CQL_FMT_LITERAL, "-0.000123");
    check_fmt("decimal", "1e3", SL_CQL_FMT_LITERAL, "1E+3");
    check_fmt("decimal", "12345678901234567890.123", SL_CQL_FMT_LITERAL,
              "12345678901234567890.123");
    check_fmt("decimal", "1e-10", SL_CQL_FMT_LITERAL, "1E-10");
    check_fmt("timestamp", "'2024-03-05 06:07:08.009'", SL_CQL_FMT_DISPLAY,
              "2024-03-05 06:07:08.009000+0000");
    check_fmt("timestamp", "'2024-03-05T06:07:08+0100'", SL_CQL_FMT_LITERAL,
              "'2024-03-05T05:07:08.000Z'");
    check_fmt("timestamp", "'2024-03-05'", SL_CQL_FMT_LITERAL, "'2024-03-05T00:00:00.000Z'");
    check_fmt("timestamp", "0", SL_CQL_FMT_DISPLAY, "1970-01-01 00:00:00.000000+0000");
    check_fmt("timestamp", "-1", SL_CQL_FMT_DISPLAY, "1969-12-31 23:59:59.999000+0000");
    check_fmt("date", "'2024-02-29'", SL_CQL_FMT_DISPLAY, "2024-02-29");
    check_fmt("date", "'1900-01-01'", SL_CQL_FMT_LITERAL, "'1900-01-01'");
    check_fmt("date", "2147483648", SL_CQL_FMT_DISPLAY, "1970-01-01");
    check_fmt("time", "'13:14:15.5'", SL_CQL_FMT_DISPLAY, "13:14:15.500000000");
    check_fmt("time", "1", SL_CQL_FMT_LITERAL, "'00:00:00.000000001'");
    check_fmt("inet", "'127.0.0.1'", SL_CQL_FMT_DISPLAY, "127.0.0.1");
    check_fmt("inet", "'::1'", SL_CQL_FMT_LITERAL, "'::1'");
    check_fmt("uuid", "550e8400-E29B-41d4-a716-446655440000", SL_CQL_FMT_LITERAL,
              "550e8400-e29b-41d4-a716-446655440000");
    check_fmt("blob", "0xCAFE", SL_CQL_FMT_LITERAL, "0xcafe");
    check_fmt("blob", "0x", SL_CQL_FMT_LITERAL, "0x");
    check_fmt("list<text>", "['a', 'b''c']", SL_CQL_FMT_DISPLAY, "['a', 'b''c']");
    check_fmt("set<int>", "{3, 1, 2, 1}", SL_CQL_FMT_LITERAL, "{1, 2, 3}");
    check_fmt("map<text, int>", "{'b': 2, 'a': 1, 'b': 3}", SL_CQL_FMT_LITERAL, "{'a': 1, 'b': 3}");
    check_fmt("set<text>", "{}", SL_CQL_FMT_LITERAL, "{}");
    check_fmt("frozen<map<text, list<int>>>", "{'k': [1, 2], 'j': []}", SL_CQL_FMT_LITERAL,
              "{'j': [], 'k': [1, 2]}");
    check_fmt("tuple<int, text, boolean>", "(1, 'x', null)", SL_CQL_FMT_LITERAL, "(1, 'x', null)");
    check_fmt("tuple<int, text>", "(1)", SL_CQL_FMT_LITERAL, "(1)");
    /* bad bytes format as a blob instead of failing */
    sl_buf out = SL_BUF_INIT;
    sl_cql_value_format(sl_cql_dtype_prim(SL_CQL_INT), (sl_slice){(const uint8_t *)"abc", 3},
                        SL_CQL_FMT_DISPLAY, &out);
    assert_string_equal(sl_buf_cstr(&out), "0x616263");
    out.len = 0;
    sl_cql_value_format(sl_cql_dtype_prim(SL_CQL_INT), SL_SLICE_NULL, SL_CQL_FMT_DISPLAY, &out);
    assert_string_equal(sl_buf_cstr(&out), "null");
    sl_buf_free(&out);
}

static void test_json(void **state)
{
    (void)state;
    check_json("int", "7", "7");
    check_json("text", "'a\"b\\c\n'", "\"a\\\"b\\\\c\\n\"");
    check_json("uuid", "550e8400-e29b-41d4-a716-446655440000",
               "\"550e8400-e29b-41d4-a716-446655440000\"");
    check_json("timestamp", "'2024-03-05 06:07:08.009Z'", "\"2024-03-05 06:07:08.009Z\"");
    check_json("date", "'2024-03-05'", "\"2024-03-05\"");
    check_json("blob", "0x00ff", "\"0x00ff\"");
    check_json("boolean", "false", "false");
    check_json("double", "2.5", "2.5");
    check_json("varint", "12345", "12345");
    check_json("list<int>", "[1, 2]", "[1, 2]");
    check_json("set<text>", "{'x', 'a'}", "[\"a\", \"x\"]");
    check_json("map<text, int>", "{'a': 1}", "{\"a\": 1}");
    check_json("map<int, boolean>", "{2: true, 1: false}", "{\"1\": false, \"2\": true}");
    check_json("map<uuid, int>", "{550e8400-e29b-41d4-a716-446655440000: 1}",
               "{\"550e8400-e29b-41d4-a716-446655440000\": 1}");
    check_json("tuple<int, text>", "(1, null)", "[1, null]");

    /* Numbers as strings are accepted, text needs a string. */
    sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
    bool is_null;
    json_t *j = json_string("42");
    assert_int_equal(
        sl_cql_value_from_json(sl_cql_dtype_prim(SL_CQL_INT), j, "c", &out, &is_null, &err), 0);
    assert_memory_equal(out.ptr, "\0\0\0\x2a", 4);
    json_decref(j);
    j = json_integer(5);
    assert_int_equal(
        sl_cql_value_from_json(sl_cql_dtype_prim(SL_CQL_TEXT), j, "c", &out, &is_null, &err),
        SL_ERR_INVAL);
    json_decref(j);
    j = json_null();
    out.len = 0;
    assert_int_equal(
        sl_cql_value_from_json(sl_cql_dtype_prim(SL_CQL_TEXT), j, "c", &out, &is_null, &err), 0);
    assert_true(is_null);
    json_decref(j);
    sl_buf_free(&out);
    sl_buf_free(&err);
}

static void test_constants(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT, err = SL_BUF_INIT;
    assert_int_equal(lit("int", "2147483647", &b, &err), 0);
    assert_memory_equal(b.ptr, "\x7f\xff\xff\xff", 4);
    assert_int_equal(lit("tinyint", "-1", &b, &err), 0);
    assert_memory_equal(b.ptr, "\xff", 1);
    assert_int_equal(lit("varint", "128", &b, &err), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.ptr, "\x00\x80", 2);
    assert_int_equal(lit("varint", "-129", &b, &err), 0);
    assert_memory_equal(b.ptr, "\xff\x7f", 2);
    assert_int_equal(lit("decimal", "1.5", &b, &err), 0);
    assert_memory_equal(b.ptr, "\0\0\0\1\x0f", 5);
    assert_int_equal(lit("date", "'1970-01-01'", &b, &err), 0);
    assert_memory_equal(b.ptr, "\x80\0\0\0", 4);
    assert_int_equal(lit("timestamp", "'2011-02-03 04:05+0000'", &b, &err), 0);
    assert_int_equal((int64_t)sl_get_be64(b.ptr), 1296705900000LL);
    assert_int_equal(lit("timestamp", "'2011-02-03T04:05:00.123Z'", &b, &err), 0);
    assert_int_equal((int64_t)sl_get_be64(b.ptr), 1296705900123LL);
    assert_int_equal(lit("float", "1", &b, &err), 0);
    assert_memory_equal(b.ptr, "\x3f\x80\0\0", 4);
    assert_int_equal(lit("list<int>", "[]", &b, &err), 0);
    assert_memory_equal(b.ptr, "\0\0\0\0", 4);
    assert_int_equal(lit("set<int>", "{}", &b, &err), 0);
    assert_int_equal(lit("text", "null", &b, &err), 0);

    /* Cassandra's constant errors */
    check_lit_err("uuid", "'abc'", "Invalid STRING constant (abc) for \"c\" of type uuid");
    check_lit_err("int", "'1'", "Invalid STRING constant (1) for \"c\" of type int");
    check_lit_err("text", "1", "Invalid INTEGER constant (1) for \"c\" of type text");
    check_lit_err("int", "1.5", "Invalid FLOAT constant (1.5) for \"c\" of type int");
    check_lit_err("boolean", "1", "Invalid INTEGER constant (1) for \"c\" of type boolean");
    check_lit_err("blob", "'x'", "Invalid STRING constant (x) for \"c\" of type blob");
    check_lit_err("int", "2147483648", "Unable to make int from '2147483648'");
    check_lit_err("tinyint", "128", "Unable to make tinyint from '128'");
    check_lit_err("bigint", "9223372036854775808", "Unable to make long from");
    check_lit_err("timestamp", "'yesterday'", "Unable to coerce 'yesterday' to a formatted date");
    check_lit_err("date", "'2023-02-29'", "Unable to coerce '2023-02-29'");
    check_lit_err("time", "'25:00:00'", "hh:mm:ss");
    check_lit_err("inet", "'1.2.3'", "Unable to make inet address from '1.2.3'");
    check_lit_err("timeuuid", "550e8400-e29b-41d4-a716-446655440000",
                  "Unsupported UUID version (4)");
    check_lit_err("ascii", "'\xc3\xa9'", "Invalid ASCII character");
    check_lit_err("blob", "0xabc", "cannot parse '0xabc' as hex bytes");
    check_lit_err("list<int>", "{1}", "Invalid set literal for c of type list<int>");
    check_lit_err("set<int>", "[1]", "Invalid list literal for c of type set<int>");
    check_lit_err("map<int, int>", "{1, 2}", "Invalid set literal for c of type map<int, int>");
    check_lit_err("int", "[1]", "Invalid list literal for c of type int");
    check_lit_err("list<int>", "[1, null]", "null is not supported inside collections");
    check_lit_err("list<int>", "['a']", "Invalid STRING constant (a) for \"value(c)\" of type int");
    check_lit_err("map<int, text>", "{'a': 'b'}", "for \"key(c)\" of type int");
    check_lit_err("tuple<int>", "(1, 2)", "too many elements");
    check_lit_err("int", "1 2", "trailing");
    check_lit_err("list<int>", "[1, 2", "expected ','");
    check_lit_err("text", "'abc", "unterminated");
    sl_buf_free(&b);
    sl_buf_free(&err);
}

static void test_uuids(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    sl_cql_uuid_v4(a);
    assert_int_equal(a[6] >> 4, 4);
    assert_int_equal(a[8] >> 6, 2);
    char s[37];
    sl_cql_uuid_format(a, s);
    assert_int_equal(strlen(s), 36);
    assert_int_equal(sl_cql_uuid_parse(SL_SLICE_STR(s), b), 0);
    assert_memory_equal(a, b, 16);
    assert_int_equal(sl_cql_uuid_parse(SL_SLICE_STR("550e8400-e29b-41d4-a716-44665544000g"), b),
                     SL_ERR_INVAL);
    assert_int_equal(sl_cql_uuid_parse(SL_SLICE_STR("550e8400e29b-41d4-a716-4466554400000"), b),
                     SL_ERR_INVAL);

    /* time uuids: version 1, strictly increasing in timeuuid order, time recoverable */
    sl_cql_dtype *tt = T("timeuuid");
    int64_t now = sl_now_ms();
    sl_cql_timeuuid_now(a);
    assert_int_equal(a[6] >> 4, 1);
    assert_true(llabs(sl_cql_timeuuid_unix_ms(a) - now) < 2000);
    for (int i = 0; i < 10000; i++) {
        sl_cql_timeuuid_now(b);
        assert_true(sl_cql_value_compare(tt, (sl_slice){a, 16}, (sl_slice){b, 16}) < 0);
        memcpy(a, b, 16);
    }
    sl_cql_timeuuid_at(1700000000123LL, 5, a);
    assert_int_equal(sl_cql_timeuuid_unix_ms(a), 1700000000123LL);
    sl_cql_timeuuid_at(-5000, 0, a);
    assert_int_equal(sl_cql_timeuuid_unix_ms(a), -5000);
}

static void test_murmur3(void **state)
{
    (void)state;
    /* Values Cassandra computes (the DataStax drivers test against the same ones). */
    uint8_t seq[23];
    for (int i = 0; i < 23; i++)
        seq[i] = (uint8_t)(i + 1);
    static const int64_t seq_tokens[] = {-5563837382979743776LL, -1513403162740402161LL,
                                         -495360443712684655LL,  1734091135765407943LL,
                                         -3199412112042527988LL, -6316563938475080831LL,
                                         8228893370679682632LL};
    for (int i = 0; i < 7; i++)
        assert_int_equal(sl_cql_murmur3_token(seq + i, 16), seq_tokens[i]);
    uint8_t z[16] = {0}, ff[16], fe[16];
    memset(ff, 0xff, 16);
    memset(fe, 0xfe, 16);
    assert_int_equal(sl_cql_murmur3_token(z, 16), 5457549051747178710LL);
    assert_int_equal(sl_cql_murmur3_token(ff, 16), -2824192546314762522LL);
    assert_int_equal(sl_cql_murmur3_token(fe, 16), -833317529301936754LL);
    /* token(1) for an int key, as Cassandra's documentation shows it */
    assert_int_equal(sl_cql_murmur3_token("\0\0\0\1", 4), -4069959284402364209LL);
    /* tails with bytes >= 0x80 exercise the sign extension */
    assert_int_equal(sl_cql_murmur3_token("a", 1), -8839064797231613815LL);
    assert_int_equal(sl_cql_murmur3_token("\xff", 1), -4442228696663692417LL);
    assert_int_equal(sl_cql_murmur3_token("\x80\x81\x82", 3), 4805209697930042770LL);
    uint8_t f0[15];
    for (int i = 0; i < 15; i++)
        f0[i] = (uint8_t)(0xf0 + i);
    assert_int_equal(sl_cql_murmur3_token(f0, 15), -7737243313669454511LL);
    uint8_t r[33];
    for (int i = 0; i < 33; i++)
        r[i] = (uint8_t)(0x70 + i);
    assert_int_equal(sl_cql_murmur3_token(r, 33), 3355624033672326391LL);
    assert_int_equal(sl_cql_murmur3_token("hello world", 11), 5998619086395760910LL);
    assert_int_equal(sl_cql_murmur3_token("\0\0\0\0\0\0\0\1", 8), 6292367497774912474LL);
    uint8_t u[16];
    assert_int_equal(sl_cql_uuid_parse(SL_SLICE_STR("550e8400-e29b-41d4-a716-446655440000"), u), 0);
    assert_int_equal(sl_cql_murmur3_token(u, 16), 4277286421682315655LL);
    /* the empty key is the minimum token */
    assert_int_equal(sl_cql_murmur3_token("", 0), INT64_MIN);
    /* composite keys: <u16 len><bytes><0> per component */
    sl_slice comps[2] = {{(const uint8_t *)"\0\0\0\1", 4}, {(const uint8_t *)"a", 1}};
    assert_int_equal(sl_cql_token(comps, 2), 6516349416904725244LL);
    sl_buf pk = SL_BUF_INIT;
    sl_cql_partition_key(comps, 2, &pk);
    assert_int_equal(pk.len, 11);
    assert_memory_equal(pk.ptr, "\0\4\0\0\0\1\0\0\1a\0", 11);
    assert_int_equal(sl_cql_token(comps, 1), -4069959284402364209LL);
    sl_buf_free(&pk);
}

/* The parser's type nodes and literal terms resolve as the text forms do. */
static void test_ast(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 4096);
    sl_cql_stmt *st;
    sl_cql_parse_error pe;
    const char *ddl = "CREATE TABLE t (k int PRIMARY KEY, a frozen<map<text, list<int>>>, "
                      "b list<frozen<set<uuid>>>, c tuple<int, list<text>>, d varchar, e foo)";
    assert_int_equal(sl_cql_parse(ddl, strlen(ddl), &a, &st, &pe), 0);
    const char *want[] = {"int", "frozen<map<text, frozen<list<int>>>>", "list<frozen<set<uuid>>>",
                          "tuple<int, frozen<list<text>>>", "text"};
    sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
    for (size_t i = 0; i < 5; i++) {
        sl_cql_dtype *t;
        assert_int_equal(sl_cql_dtype_from_ast(st->u.create_table.cols[i].type, &t, &err), 0);
        out.len = 0;
        sl_cql_dtype_to_cql(t, &out);
        assert_string_equal(sl_buf_cstr(&out), want[i]);
        sl_cql_dtype_release(t);
    }
    sl_cql_dtype *t;
    assert_int_equal(sl_cql_dtype_from_ast(st->u.create_table.cols[5].type, &t, &err),
                     SL_ERR_INVAL);
    assert_string_equal(sl_buf_cstr(&err), "Unknown type foo");
    const char *bad = "CREATE TABLE t (k int PRIMARY KEY, l list<list<int>>)";
    assert_int_equal(sl_cql_parse(bad, strlen(bad), &a, &st, &pe), 0);
    err.len = 0;
    assert_int_equal(sl_cql_dtype_from_ast(st->u.create_table.cols[1].type, &t, &err),
                     SL_ERR_INVAL);
    assert_non_null(strstr(sl_buf_cstr(&err), "Non-frozen collections are not allowed"));

    const char *ins = "INSERT INTO t (a, b, c, d, e, f, g) VALUES ({'k': [1, 2]}, "
                      "[{550e8400-e29b-41d4-a716-446655440000}], (1, ['x']), 'it''s', null, "
                      "(int) 5, ?)";
    assert_int_equal(sl_cql_parse(ins, strlen(ins), &a, &st, &pe), 0);
    const char *types[] = {"frozen<map<text, frozen<list<int>>>>",
                           "list<frozen<set<uuid>>>",
                           "tuple<int, frozen<list<text>>>",
                           "text",
                           "int",
                           "int",
                           "int"};
    const char *lits[] = {"{'k': [1, 2]}",
                          "[{550e8400-e29b-41d4-a716-446655440000}]",
                          "(1, ['x'])",
                          "'it''s'",
                          NULL,
                          "5",
                          NULL};
    for (size_t i = 0; i < 7; i++) {
        sl_cql_dtype *ty = T(types[i]);
        sl_buf v = SL_BUF_INIT;
        bool is_null = false;
        err.len = 0;
        int rc = sl_cql_value_from_term(ty, st->u.insert.values[i], "c", &v, &is_null, &err);
        if (i == 6) {
            assert_int_equal(rc, SL_ERR_UNSUPPORTED); /* bind markers are the executor's */
        } else if (!lits[i]) {
            assert_int_equal(rc, 0);
            assert_true(is_null);
        } else {
            if (rc) fail_msg("%s: %s", lits[i], sl_buf_cstr(&err));
            out.len = 0;
            sl_cql_value_format(ty, val(&v), SL_CQL_FMT_LITERAL, &out);
            assert_string_equal(sl_buf_cstr(&out), lits[i]);
        }
        sl_buf_free(&v);
        sl_cql_dtype_release(ty);
    }
    /* a mismatch names the receiver as Cassandra does */
    sl_buf v = SL_BUF_INIT;
    bool is_null;
    err.len = 0;
    assert_int_equal(sl_cql_value_from_term(sl_cql_dtype_prim(SL_CQL_UUID), st->u.insert.values[3],
                                            "id", &v, &is_null, &err),
                     SL_ERR_INVAL);
    assert_string_equal(sl_buf_cstr(&err),
                        "Invalid STRING constant (it's) for \"id\" of type uuid");
    sl_buf_free(&v);
    sl_buf_free(&out);
    sl_buf_free(&err);
    sl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_text), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_compare),   cmocka_unit_test(test_format),
        cmocka_unit_test(test_json),      cmocka_unit_test(test_constants),
        cmocka_unit_test(test_uuids),     cmocka_unit_test(test_murmur3),
        cmocka_unit_test(test_ast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
