/* test_lexer.c: CQL tokens: keywords (table order, case, reserved status), names, strings and
 * their escapes, every number form, uuids, blobs, durations, operators, comments, positions
 * across lines, and the errors for unterminated strings, names, comments and stray characters. */
#include "cql/lexer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

typedef struct tok {
    sl_cql_tok_kind kind;
    const char *text;
} tok;

/* Scans q and checks each token's kind and text against want (ended by EOF). */
static void expect_tokens(const char *q, const tok *want)
{
    sl_cql_lexer lx;
    sl_cql_token t;
    sl_cql_parse_error err;
    sl_cql_lex_init(&lx, q, (uint32_t)strlen(q));
    for (size_t i = 0;; i++) {
        assert_int_equal(sl_cql_lex_next(&lx, &t, &err), 0);
        if (t.kind != want[i].kind)
            fail_msg("%s: token %zu: kind %s, want %s", q, i, sl_cql_tok_name(t.kind),
                     sl_cql_tok_name(want[i].kind));
        if (t.kind == SL_CQL_TOK_EOF) break;
        if (want[i].text &&
            (strlen(want[i].text) != t.len || memcmp(want[i].text, q + t.off, t.len) != 0))
            fail_msg("%s: token %zu: '%.*s', want '%s'", q, i, (int)t.len, q + t.off, want[i].text);
    }
}

/* Scans q expecting one token of kind k covering all of q. */
static void expect_one(const char *q, sl_cql_tok_kind k)
{
    tok want[] = {{k, q}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens(q, want);
}

/* Scans q until the lexer fails; checks the position and message. */
static void expect_lex_error(const char *q, uint32_t line, uint32_t col, const char *msg)
{
    sl_cql_lexer lx;
    sl_cql_token t;
    sl_cql_parse_error err;
    sl_cql_lex_init(&lx, q, (uint32_t)strlen(q));
    for (int i = 0; i < 1000; i++) {
        int rc = sl_cql_lex_next(&lx, &t, &err);
        if (rc != 0) {
            assert_int_equal(rc, SL_ERR_PARSE);
            assert_int_equal(err.line, line);
            assert_int_equal(err.col, col);
            if (!strstr(err.message, msg)) fail_msg("'%s' lacks '%s'", err.message, msg);
            return;
        }
        assert_int_not_equal(t.kind, SL_CQL_TOK_EOF);
    }
    fail();
}

static void test_keyword_table(void **state)
{
    (void)state;
    /* A sorted table has no duplicates, which the lookup table relies on. */
    for (int k = SL_CQL_KW_NONE + 2; k < SL_CQL_KW_COUNT_; k++)
        if (strcmp(sl_cql_kw_text(k - 1), sl_cql_kw_text(k)) >= 0)
            fail_msg("keywords out of order: %s, %s", sl_cql_kw_text(k - 1), sl_cql_kw_text(k));
    for (int k = SL_CQL_KW_NONE + 1; k < SL_CQL_KW_COUNT_; k++) {
        const char *s = sl_cql_kw_text(k);
        assert_int_equal(sl_cql_keyword(s, strlen(s)), k);
    }
    assert_int_equal(sl_cql_keyword("SeLeCt", 6), SL_CQL_KW_SELECT);
    assert_int_equal(sl_cql_keyword("selects", 7), SL_CQL_KW_NONE);
    assert_int_equal(sl_cql_keyword("sel", 3), SL_CQL_KW_NONE);
    assert_int_equal(sl_cql_keyword("", 0), SL_CQL_KW_NONE);
    assert_int_equal(sl_cql_keyword("averyveryverylongidentifier", 27), SL_CQL_KW_NONE);

    assert_true(sl_cql_kw_reserved(SL_CQL_KW_SELECT));
    assert_true(sl_cql_kw_reserved(SL_CQL_KW_FROM));
    assert_true(sl_cql_kw_reserved(SL_CQL_KW_TOKEN));
    assert_true(sl_cql_kw_reserved(SL_CQL_KW_TABLE));
    /* Names the drivers and system tables use must stay usable as identifiers. */
    static const sl_cql_kw unreserved[] = {
        SL_CQL_KW_KEY,  SL_CQL_KW_TYPE,      SL_CQL_KW_TTL,     SL_CQL_KW_TIMESTAMP,
        SL_CQL_KW_KEYS, SL_CQL_KW_VALUES,    SL_CQL_KW_JSON,    SL_CQL_KW_COUNT,
        SL_CQL_KW_TEXT, SL_CQL_KW_WRITETIME, SL_CQL_KW_AS,      SL_CQL_KW_DISTINCT,
        SL_CQL_KW_LIST, SL_CQL_KW_MAP,       SL_CQL_KW_CLUSTER, SL_CQL_KW_OPTIONS,
    };
    for (size_t i = 0; i < sizeof unreserved / sizeof unreserved[0]; i++)
        assert_false(sl_cql_kw_reserved(unreserved[i]));
    assert_false(sl_cql_kw_reserved(SL_CQL_KW_NONE));
}

static void test_identifiers_and_keywords(void **state)
{
    (void)state;
    sl_cql_lexer lx;
    sl_cql_token t;
    const char *q = "SELECT select_x My_Col2 KEY \"Quoted \"\" Name\" \"\" x";
    sl_cql_lex_init(&lx, q, (uint32_t)strlen(q));
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_IDENT);
    assert_int_equal(t.kw, SL_CQL_KW_SELECT);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_IDENT);
    assert_int_equal(t.kw, SL_CQL_KW_NONE);
    assert_int_equal(t.len, 8);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kw, SL_CQL_KW_NONE);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kw, SL_CQL_KW_KEY);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_QNAME);
    assert_true(t.escapes);
    assert_int_equal(t.len, strlen("\"Quoted \"\" Name\""));
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_EMPTY_QNAME);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_IDENT);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_EOF);
    /* EOF repeats. */
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_EOF);

    /* A quoted name holding only an escaped quote is a name, not the empty name. */
    expect_one("\"\"\"\"", SL_CQL_TOK_QNAME);
    /* Identifiers cannot start with '_' or a digit. */
    tok w[] = {{SL_CQL_TOK_INTEGER, "1"}, {SL_CQL_TOK_IDENT, "abc"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("1abc", w);
    expect_lex_error("_x", 1, 0, "no viable alternative at character '_'");
}

static void test_strings(void **state)
{
    (void)state;
    sl_cql_lexer lx;
    sl_cql_token t;
    const char *q = "'plain' 'it''s' $$pg's $ string$$ '' $$$$ 'multi\nline'";
    sl_cql_lex_init(&lx, q, (uint32_t)strlen(q));
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_STRING);
    assert_false(t.escapes);
    assert_int_equal(t.len, 7);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_true(t.escapes);
    assert_int_equal(t.len, 7);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_true(t.dollar);
    assert_int_equal(t.len, strlen("$$pg's $ string$$"));
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.len, 2);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_true(t.dollar);
    assert_int_equal(t.len, 4);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_STRING);
    assert_int_equal(t.line, 1);
    /* Line accounting continues through the string's newline. */
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.kind, SL_CQL_TOK_EOF);
    assert_int_equal(t.line, 2);
    assert_int_equal(t.col, 5);
}

static void test_numbers(void **state)
{
    (void)state;
    expect_one("0", SL_CQL_TOK_INTEGER);
    expect_one("42", SL_CQL_TOK_INTEGER);
    expect_one("-42", SL_CQL_TOK_INTEGER);
    expect_one("9223372036854775808123", SL_CQL_TOK_INTEGER);
    expect_one("1.5", SL_CQL_TOK_FLOAT);
    expect_one("-1.5", SL_CQL_TOK_FLOAT);
    expect_one("1.", SL_CQL_TOK_FLOAT);
    expect_one("1e10", SL_CQL_TOK_FLOAT);
    expect_one("1E-3", SL_CQL_TOK_FLOAT);
    expect_one("-2.5e+7", SL_CQL_TOK_FLOAT);
    expect_one("-NaN", SL_CQL_TOK_FLOAT);
    expect_one("-infinity", SL_CQL_TOK_FLOAT);
    expect_one("0xCAFEbabe", SL_CQL_TOK_HEX);
    expect_one("0x", SL_CQL_TOK_HEX);
    expect_one("550e8400-e29b-41d4-a716-446655440000", SL_CQL_TOK_UUID);
    expect_one("DEADBEEF-e29b-41d4-a716-446655440000", SL_CQL_TOK_UUID);
    expect_one("1h30m", SL_CQL_TOK_DURATION);
    expect_one("-3d", SL_CQL_TOK_DURATION);
    expect_one("12mo5ms7us2ns", SL_CQL_TOK_DURATION);
    expect_one("2\xc2\xb5s", SL_CQL_TOK_DURATION);
    expect_one("P1Y2M3DT4H5M6S", SL_CQL_TOK_DURATION);
    expect_one("PT10M", SL_CQL_TOK_DURATION);
    expect_one("P3W", SL_CQL_TOK_DURATION);
    expect_one("P0001-02-03T04:05:06", SL_CQL_TOK_DURATION);
    expect_one("-P1D", SL_CQL_TOK_DURATION);
    expect_one("true", SL_CQL_TOK_BOOLEAN);
    expect_one("FALSE", SL_CQL_TOK_BOOLEAN);

    /* NaN and Infinity alone are keywords; the parser makes them float literals. */
    tok w1[] = {{SL_CQL_TOK_IDENT, "NaN"}, {SL_CQL_TOK_IDENT, "Infinity"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("NaN Infinity", w1);
    /* "1..2" is a range, not a float. */
    tok w2[] = {{SL_CQL_TOK_INTEGER, "1"},
                {SL_CQL_TOK_RANGE, ".."},
                {SL_CQL_TOK_INTEGER, "2"},
                {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("1..2", w2);
    /* "x = x -3" lexes the "-3" as one integer, as Cassandra's lexer does. */
    tok w3[] = {{SL_CQL_TOK_IDENT, "x"},
                {SL_CQL_TOK_EQ, "="},
                {SL_CQL_TOK_IDENT, "x"},
                {SL_CQL_TOK_INTEGER, "-3"},
                {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("x = x -3", w3);
    /* A uuid-like prefix that breaks off is a float (550e8400) and a name. */
    tok w4[] = {{SL_CQL_TOK_FLOAT, "550e8400"}, {SL_CQL_TOK_IDENT, "x"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("550e8400x", w4);
    /* "1e" is not an exponent. */
    tok w5[] = {{SL_CQL_TOK_INTEGER, "1"}, {SL_CQL_TOK_IDENT, "e"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("1e", w5);
}

static void test_operators(void **state)
{
    (void)state;
    tok w[] = {
        {SL_CQL_TOK_LPAREN, "("},   {SL_CQL_TOK_RPAREN, ")"},   {SL_CQL_TOK_LBRACKET, "["},
        {SL_CQL_TOK_RBRACKET, "]"}, {SL_CQL_TOK_LBRACE, "{"},   {SL_CQL_TOK_RBRACE, "}"},
        {SL_CQL_TOK_COMMA, ","},    {SL_CQL_TOK_SEMI, ";"},     {SL_CQL_TOK_DOT, "."},
        {SL_CQL_TOK_COLON, ":"},    {SL_CQL_TOK_QMARK, "?"},    {SL_CQL_TOK_EQ, "="},
        {SL_CQL_TOK_LT, "<"},       {SL_CQL_TOK_LTE, "<="},     {SL_CQL_TOK_GT, ">"},
        {SL_CQL_TOK_GTE, ">="},     {SL_CQL_TOK_NEQ, "!="},     {SL_CQL_TOK_PLUS, "+"},
        {SL_CQL_TOK_MINUS, "-"},    {SL_CQL_TOK_STAR, "*"},     {SL_CQL_TOK_SLASH, "/"},
        {SL_CQL_TOK_PERCENT, "%"},  {SL_CQL_TOK_PLUS_EQ, "+="}, {SL_CQL_TOK_MINUS_EQ, "-="},
        {SL_CQL_TOK_RANGE, ".."},   {SL_CQL_TOK_EOF, NULL},
    };
    expect_tokens("( ) [ ] { } , ; . : ? = < <= > >= != + - * / % += -= ..", w);
    /* map<int,list<int>> closes with two '>' tokens. */
    tok w2[] = {{SL_CQL_TOK_IDENT, "map"}, {SL_CQL_TOK_LT, "<"},       {SL_CQL_TOK_IDENT, "int"},
                {SL_CQL_TOK_COMMA, ","},   {SL_CQL_TOK_IDENT, "list"}, {SL_CQL_TOK_LT, "<"},
                {SL_CQL_TOK_IDENT, "int"}, {SL_CQL_TOK_GT, ">"},       {SL_CQL_TOK_GT, ">"},
                {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("map<int,list<int>>", w2);
}

static void test_comments_and_positions(void **state)
{
    (void)state;
    const char *q = "-- line comment\n"
                    "SELECT /* multi\n"
                    "line */ a // tail\n"
                    "\tFROM t";
    tok w[] = {{SL_CQL_TOK_IDENT, "SELECT"},
               {SL_CQL_TOK_IDENT, "a"},
               {SL_CQL_TOK_IDENT, "FROM"},
               {SL_CQL_TOK_IDENT, "t"},
               {SL_CQL_TOK_EOF, NULL}};
    expect_tokens(q, w);

    sl_cql_lexer lx;
    sl_cql_token t;
    sl_cql_lex_init(&lx, q, (uint32_t)strlen(q));
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.line, 2);
    assert_int_equal(t.col, 0);
    assert_int_equal(t.off, 16);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.line, 3);
    assert_int_equal(t.col, 8);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), 0);
    assert_int_equal(t.line, 4);
    assert_int_equal(t.col, 1);
    /* A line comment may end the text without a newline. */
    tok w2[] = {{SL_CQL_TOK_IDENT, "x"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("x -- no newline", w2);
    expect_tokens("x // no newline", w2);
    /* A lone '-' or '/' is an operator, not a comment. */
    tok w3[] = {{SL_CQL_TOK_MINUS, "-"}, {SL_CQL_TOK_SLASH, "/"}, {SL_CQL_TOK_EOF, NULL}};
    expect_tokens("- /", w3);
}

static void test_errors(void **state)
{
    (void)state;
    expect_lex_error("SELECT 'abc", 1, 11, "mismatched character '<EOF>' expecting '''");
    expect_lex_error("x = $$abc", 1, 9, "expecting '$'");
    expect_lex_error("SELECT \"abc", 1, 11, "expecting '\"'");
    expect_lex_error("a /* never\nclosed", 2, 6, "expecting '*'");
    expect_lex_error("SELECT a\n  @ b", 2, 2, "line 2:2 no viable alternative at character '@'");
    expect_lex_error("a ! b", 1, 2, "character '!'");
    expect_lex_error("a \x01", 1, 2, "character '\\x01'");
    expect_lex_error("\xc3\xa9", 1, 0, "character '\\xc3'");
    /* Errors leave err NULL-safe. */
    sl_cql_lexer lx;
    sl_cql_token t;
    sl_cql_lex_init(&lx, "'x", 2);
    assert_int_equal(sl_cql_lex_next(&lx, &t, NULL), SL_ERR_PARSE);
}

static void test_token_names(void **state)
{
    (void)state;
    assert_string_equal(sl_cql_tok_name(SL_CQL_TOK_RPAREN), "')'");
    assert_string_equal(sl_cql_tok_name(SL_CQL_TOK_IDENT), "IDENT");
    assert_string_equal(sl_cql_tok_name(SL_CQL_TOK_EOF), "EOF");
    for (int k = SL_CQL_TOK_EOF; k <= SL_CQL_TOK_MINUS_EQ; k++)
        assert_string_not_equal(sl_cql_tok_name(k), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_table), cmocka_unit_test(test_identifiers_and_keywords),
        cmocka_unit_test(test_strings),       cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_operators),     cmocka_unit_test(test_comments_and_positions),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_token_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
