/* test_expr.c: the transform expression language: precedence and three-valued logic, every
 * operator and function with its values, static type errors and parse errors with their
 * columns, run-time errors by reason name, and json paths over records. */
#include "core/buf.h"
#include "pipeline/expr.h"
#include "pipeline/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A row of every column type. */
static const sl_sink_column cols[] = {
    {"id", SL_SINK_UUID},        {"name", SL_SINK_TEXT},    {"n", SL_SINK_INT},
    {"big", SL_SINK_BIGINT},     {"score", SL_SINK_DOUBLE}, {"vip", SL_SINK_BOOLEAN},
    {"seen", SL_SINK_TIMESTAMP}, {"dob", SL_SINK_TEXT},     {"code", SL_SINK_TEXT},
    {"gone", SL_SINK_TEXT},
};
#define NCOLS (sizeof cols / sizeof cols[0])

static sl_sink_value row[NCOLS];
static sl_arena arena;
static const char *raw =
    "{\"a\": {\"b\": [10, \"x\\u00e9\", {\"c\": true}], \"n\": null}, \"s\": \"top\"}";

static void text(size_t i, const char *s)
{
    row[i] = (sl_sink_value){.str = s, .len = strlen(s)};
}

static int setup(void **state)
{
    (void)state;
    sl_arena_init(&arena, 4096);
    memset(row, 0, sizeof row);
    sl_uuid_parse("4C2F0C52-7d3a-4a59-9a7b-1b0c2d3e4f50", 36, row[0].v.uuid);
    text(1, "  Ana Lima ");
    row[2].v.i64 = 42;
    row[3].v.i64 = 5000000000;
    row[4].v.f64 = 2.5;
    row[5].v.b = true;
    row[6].v.i64 = 1704067200000; /* 2024-01-01T00:00:00Z */
    text(7, "1990-06-15T10:00:00Z");
    text(8, "81234");
    row[9].null = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_arena_free(&arena);
    return 0;
}

static sl_expr_value run(const char *src)
{
    sl_expr *e;
    char err[200] = "";
    int rc = sl_expr_compile(src, cols, NCOLS, &e, err, sizeof err);
    if (rc) fail_msg("%s: %s", src, err);
    sl_expr_ctx c = {.row = row,
                     .raw = raw,
                     .rawlen = strlen(raw),
                     .arena = &arena,
                     .now_ms = 1763769600000 /* 2025-11-22 */};
    sl_expr_value v = sl_expr_eval(e, &c);
    /* Text may borrow from the expression's literals, which go with it. */
    if (v.type == SL_EXPR_TEXT) v.str = sl_arena_strndup(&arena, v.str ? v.str : "", v.len);
    sl_expr_free(e);
    return v;
}

static void is_bool(const char *src, int want) /* -1: null */
{
    sl_expr_value v = run(src);
    if (want < 0) {
        if (v.type != SL_EXPR_NULL) fail_msg("%s: type %d, expected null", src, v.type);
        return;
    }
    if (v.type != SL_EXPR_BOOL)
        fail_msg("%s: type %s, expected boolean (%s)", src, sl_expr_type_name(v.type),
                 v.str ? v.str : "");
    if (v.v.b != (want == 1)) fail_msg("%s: %d, expected %d", src, v.v.b, want);
}

static void is_text(const char *src, const char *want)
{
    sl_expr_value v = run(src);
    if (v.type != SL_EXPR_TEXT)
        fail_msg("%s: type %s, expected text", src, sl_expr_type_name(v.type));
    if (v.len != strlen(want) || memcmp(v.str, want, v.len))
        fail_msg("%s: '%.*s', expected '%s'", src, (int)v.len, v.str, want);
}

static void is_int(const char *src, int64_t want, sl_expr_type t)
{
    sl_expr_value v = run(src);
    if (v.type != t) fail_msg("%s: type %s", src, sl_expr_type_name(v.type));
    if (v.v.i != want) fail_msg("%s: %lld, expected %lld", src, (long long)v.v.i, (long long)want);
}

static void is_error(const char *src, const char *reason)
{
    sl_expr_value v = run(src);
    if (v.type != SL_EXPR_ERROR)
        fail_msg("%s: type %s, expected an error", src, sl_expr_type_name(v.type));
    if (strcmp(v.reason, reason))
        fail_msg("%s: %s (%s), expected %s", src, v.reason, v.str, reason);
}

static void bad(const char *src, const char *want_err)
{
    sl_expr *e = NULL;
    char err[200] = "";
    if (sl_expr_compile(src, cols, NCOLS, &e, err, sizeof err) == 0) {
        sl_expr_free(e);
        fail_msg("%s: compiled, expected '%s'", src, want_err);
    }
    if (!strstr(err, want_err)) fail_msg("%s: '%s', expected '%s'", src, err, want_err);
}

static void test_logic(void **state)
{
    (void)state;
    is_bool("n = 42", 1);
    is_bool("n == 42 and not vip", 0);
    is_bool("n <> 42 or vip", 1);
    is_bool("not n > 41 or score >= 2.5", 1); /* not binds looser than > */
    is_bool("1 + 2 * 3 = 7", 1);              /* * before + */
    is_bool("(1 + 2) * 3 = 9", 1);
    is_bool("10 - 2 - 3 = 5", 1); /* left associative */
    is_bool("n < 43 and n <= 42 and big > n and score != 2", 1);
    is_bool("gone = 'x'", -1);          /* null compares to null */
    is_bool("gone = 'x' and false", 0); /* false wins over null */
    is_bool("gone = 'x' or true", 1);
    is_bool("gone = 'x' or false", -1);
    is_bool("not (gone = 'x')", -1);
    is_bool("gone is null and name is not null", 1);
    is_bool("n in (1, 2, 42)", 1);
    is_bool("n not in (1, 2, 42)", 0);
    is_bool("n in (1, null)", -1);
    is_bool("name in ('a', 'b')", 0);
    is_bool("code in (81234, 5)", 1); /* text to int at run time */
    is_bool("code = 81234 and code > 80000.5", 1);
    is_bool("trim(name) starts_with 'Ana'", 1);
    is_bool("name starts_with 'Ana'", 0);
    is_bool("starts_with(name, '  A')", 1);
    is_bool("name not starts_with 'x'", 1);
    is_bool("trim(name) matches '^[A-Z][a-z]+ L'", 1);
    is_bool("name matches '^Ana'", 0);
    is_bool("name not matches 'z'", 1);
    is_bool("matches(dob, '^\\\\d{4}-')", 1);
    is_bool("matches(dob, '^\\d{4}-\\d')", 1); /* unknown escapes stay as written */
    is_text("'a\\qb\\\\c\\'d'", "a\\qb\\c'd");
    is_bool("seen > '2023-12-31' and seen = 1704067200000", 1);
    is_bool("vip = true AND vip", 1); /* keywords ignore case */
    is_bool("id = '4c2f0c52-7d3a-4a59-9a7b-1b0c2d3e4f50'", 1);
    is_bool("'it''s' = \"it's\"", 1);
    is_bool("`name` is not null", 1);
    is_bool("-n = 0 - 42 and -score < 0", 1);
    is_bool("7 % 3 = 1 and 7 / 2 = 3.5", 1);
    is_bool("seen + 1000 - seen = 1000", 1);
}

static void test_functions(void **state)
{
    (void)state;
    is_text("lower(name)", "  ana lima ");
    is_text("upper(trim(name))", "ANA LIMA");
    is_text("trim('\\t x \\n')", "x");
    is_text("substring(trim(name), 5)", "Lima");
    is_text("substring(trim(name), 1, 3)", "Ana");
    is_text("substring('héllo', 2, 2)", "él"); /* counts characters, not bytes */
    is_text("substring('abc', 10)", "");
    is_int("length('héllo')", 5, SL_EXPR_INT);
    is_text("concat(trim(name), '/', n, '/', vip, '/', gone, score)", "Ana Lima/42/true/2.5");
    is_text("concat(seen)", "2024-01-01T00:00:00.000Z");
    is_text("split_part('12 Rue X, Lyon, Rhone, France', ', ', -1)", "France");
    is_text("split_part('a,b,c', ',', 2)", "b");
    is_text("split_part('a,b,c', ',', 1)", "a");
    is_bool("split_part('a,b,c', ',', 4) is null", 1);
    is_int("parse_ts(dob)", 645444000000, SL_EXPR_TIMESTAMP);
    is_int("parse_ts('2024-02-29T12:00:00.5+02:00')", 1709200800500, SL_EXPR_TIMESTAMP);
    is_int("age(dob, '2025-06-15')", 35, SL_EXPR_INT); /* birthday counts on its day */
    is_int("age(dob, '2025-06-14')", 34, SL_EXPR_INT);
    is_int("age('2000-02-29', '2001-02-28')", 0, SL_EXPR_INT);
    is_int("age(dob)", 35, SL_EXPR_INT); /* against now_ms, 2025-11-22 */
    is_text("sha256('abc')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    is_text("sha256(lower('ABC'))",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    is_text("json_path('$.s')", "top");
    is_text("json_path('$.a.b[0]')", "10");
    is_text("json_path('$.a.b[1]')", "x\xc3\xa9");
    is_text("json_path('$.a.b[2]')", "{\"c\": true}");
    is_text("json_path('$.a.b[2].c')", "true");
    is_bool("json_path('$.a.n') is null and json_path('$.zz') is null", 1);
    is_bool("json_path('$.a.b[7]') is null and json_path('$.s.t') is null", 1);
    is_text("json_path('{\"k\": [1, {\"v\": \"w\"}]}', '$.k[1].v')", "w");
    is_text("coalesce(gone, trim(name))", "Ana Lima");
    is_bool("lower(gone) is null and substring(gone, 1) is null", 1);
}

static void test_runtime_errors(void **state)
{
    (void)state;
    is_error("name > 5", "type_error"); /* text that is not a number */
    is_error("name + 1 = 2", "type_error");
    is_error("parse_ts(name)", "invalid_timestamp");
    is_error("age(code)", "invalid_timestamp");
    is_error("n / 0", "division_by_zero");
    is_error("n % 0", "division_by_zero");
    is_error("big * big * big", "overflow");
    is_error("substring(name, 0)", "invalid_argument");
    is_error("substring(name, 1, -1)", "invalid_argument");
    is_error("split_part(name, '', 1)", "invalid_argument");
    is_error("json_path(name, '$.a')", "invalid_json");
    is_error("json_path('{\"a\": [1,', '$.a[3]')", "invalid_json");
    /* An error the evaluation reaches wins over the logic around it. */
    is_error("vip and name > 5", "type_error");
    is_bool("vip or name > 5", 1); /* and/or stop early, so a guard protects what follows */
    is_error("not (name > 5)", "type_error");
    sl_expr_value v = run("parse_ts(name)");
    assert_non_null(strstr(v.str, "parse_ts"));
    assert_null(strstr(v.str, "Ana")); /* a detail never carries the content */
}

static void test_compile_errors(void **state)
{
    (void)state;
    bad("", "column 1: unexpected end");
    bad("n = ", "column 5: unexpected end");
    bad("nope = 1", "column 1: unknown field 'nope'");
    bad("n = 1 and frob(2)", "column 11: unknown function 'frob'");
    bad("n = 'x", "column 5: unterminated string");
    bad("n = 1 2", "column 7: unexpected text after");
    bad("name matches '('", "matches: bad regex at offset 1");
    bad("name matches name", "pattern must be a string literal");
    bad("n = null", "use 'is null'");
    bad("vip = 3", "cannot compare boolean with int");
    bad("seen = vip", "cannot compare timestamp with boolean");
    bad("n and vip", "and: operand is int");
    bad("not name", "not: operand is text");
    bad("lower(n)", "lower: argument 1 is int, expected text");
    bad("substring(name)", "substring takes 2 to 3 arguments, not 1");
    bad("json_path(name, '$..x')", "json_path: bad path");
    bad("json_path('a.b')", "json_path: bad path");
    bad("json_path(name, name)", "path must be a string literal");
    bad("name + name", "on two texts");
    bad("vip + 1", "+ of boolean and int");
    bad("score % 2", "% of doubles");
    bad("n = 1 ; drop", "column 7: unexpected ';'");
    bad("n = \x01", "unexpected byte 0x01");
    bad("n not 3", "expected in, matches or starts_with after not");
    bad("coalesce(n, name)", "coalesce: argument 2 is text");
    bad("null", "always null");
    bad("12abc", "bad number");
    bad("99999999999999999999", "integer out of range");
    char deep[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "(");
    bad(deep, "nested more than 64 deep");
}

static void test_types(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        sl_expr_type t;
    } cases[] = {
        {"n + 1", SL_EXPR_INT},
        {"n + 1.5", SL_EXPR_DOUBLE},
        {"n / 2", SL_EXPR_DOUBLE},
        {"code + 1", SL_EXPR_INT},
        {"seen + 60000", SL_EXPR_TIMESTAMP},
        {"seen - seen", SL_EXPR_INT},
        {"parse_ts(dob)", SL_EXPR_TIMESTAMP},
        {"age(dob)", SL_EXPR_INT},
        {"n > 1", SL_EXPR_BOOL},
        {"sha256(name)", SL_EXPR_TEXT},
        {"coalesce(null, n)", SL_EXPR_INT},
        {"id", SL_EXPR_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_expr *e;
        char err[200];
        assert_int_equal(sl_expr_compile(cases[i].src, cols, NCOLS, &e, err, sizeof err), 0);
        if (sl_expr_result_type(e) != cases[i].t)
            fail_msg("%s: %s", cases[i].src, sl_expr_type_name(sl_expr_result_type(e)));
        sl_expr_free(e);
    }
    assert_int_equal(sl_expr_sink_type(SL_EXPR_INT), SL_SINK_BIGINT);
    assert_int_equal(sl_expr_sink_type(SL_EXPR_TIMESTAMP), SL_SINK_TIMESTAMP);
    sl_expr_value v = run("n * 2");
    sl_sink_value s;
    sl_expr_to_sink(&v, &s);
    assert_false(s.null);
    assert_int_equal(s.v.i64, 84);
    v = run("lower(gone)");
    sl_expr_to_sink(&v, &s);
    assert_true(s.null);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
