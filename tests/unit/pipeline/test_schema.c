/* test_schema.c: the record parser against the seeds' schema (every refusal kind by name,
 * escapes, UTF-8, numbers as text, borrowed vs arena text), the typed conversions, and schemas
 * and mappings built from YAML (rename, default, drop, concat, and their errors with
 * file:line). */
#include "core/buf.h"
#include "core/config.h"
#include "pipeline/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define GOOD_ID "4c2f0c52-7d3a-4a59-9a7b-1b0c2d3e4f50"

static const char *good_fmt =
    "{\"id\": \"%s\", \"first_name\": \"Ana\", \"last_name\": \"Lima\", \"gender\": \"female\", "
    "\"address\": \"12 Rua A, Recife, PE, Brazil\", \"post_code\": %s, \"email\": \"%s\", "
    "\"username\": \"bluebird1\", \"dob\": \"1990-01-02T03:04:05.006Z\", "
    "\"registered_date\": \"2010-05-06T07:08:09.010Z\", \"phone\": \"(81) 1234-5678\", "
    "\"picture\": \"https://randomuser.me/api/portraits/med/women/1.jpg\"}";

static char *rec(const char *id, const char *post_code, const char *email)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, good_fmt, id, post_code, email);
    return buf;
}

typedef struct ctx {
    sl_schema *s;
    sl_arena arena;
    sl_sink_value row[64];
    char detail[160];
} ctx;

static sl_rec_error parse(ctx *c, const char *v)
{
    sl_arena_reset(&c->arena);
    return sl_schema_parse(c->s, v, strlen(v), 1 << 20, c->row, &c->arena, c->detail,
                           sizeof c->detail);
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    c->s = sl_schema_default();
    sl_arena_init(&c->arena, 4096);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    sl_schema_free(c->s);
    sl_arena_free(&c->arena);
    free(c);
    return 0;
}

static bool text_is(const sl_sink_value *v, const char *s)
{
    return !v->null && v->len == strlen(s) && !memcmp(v->str, s, v->len);
}

static void test_default_columns(void **state)
{
    ctx *c = *state;
    size_t n;
    const sl_sink_column *cols = sl_schema_columns(c->s, &n);
    static const char *names[] = {"id",      "first_name",      "last_name", "gender",
                                  "address", "post_code",       "email",     "username",
                                  "dob",     "registered_date", "phone",     "picture"};
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(cols[i].name, names[i]);
        assert_int_equal(cols[i].type, i == 0 ? SL_SINK_UUID : SL_SINK_TEXT);
    }
}

static void test_good_record(void **state)
{
    ctx *c = *state;
    const char *v = rec(GOOD_ID, "\"50000-000\"", "ana.lima@example.com");
    assert_int_equal(parse(c, v), SL_REC_OK);
    static const uint8_t id[16] = {0x4c, 0x2f, 0x0c, 0x52, 0x7d, 0x3a, 0x4a, 0x59,
                                   0x9a, 0x7b, 0x1b, 0x0c, 0x2d, 0x3e, 0x4f, 0x50};
    assert_memory_equal(c->row[0].v.uuid, id, 16);
    assert_true(text_is(&c->row[1], "Ana"));
    assert_true(text_is(&c->row[5], "50000-000"));
    assert_true(text_is(&c->row[6], "ana.lima@example.com"));
    assert_true(text_is(&c->row[8], "1990-01-02T03:04:05.006Z"));
    /* Unescaped text is borrowed from the record itself. */
    assert_true(c->row[1].str >= v && c->row[1].str < v + strlen(v));
    /* A numeric postcode is stored as its literal text, as Spark's from_json does. */
    assert_int_equal(parse(c, rec(GOOD_ID, "12345", "a@b.co")), SL_REC_OK);
    assert_true(text_is(&c->row[5], "12345"));
    /* Upper-case UUIDs, unknown fields, nesting and whitespace are fine. */
    char big[4096];
    snprintf(big, sizeof big, "  {\"extra\": {\"a\": [1, 2.5e3, true, null, \"x\"]}, %s  ",
             rec("4C2F0C52-7D3A-4A59-9A7B-1B0C2D3E4F50", "1", "a@b.co") + 1);
    assert_int_equal(parse(c, big), SL_REC_OK);
}

static void test_escapes_and_unicode(void **state)
{
    ctx *c = *state;
    const char *t = "{\"id\":\"" GOOD_ID "\",\"first_name\":\"J\\u00f6rg \\ud83d\\ude00 \\\"q\\\" "
                    "\\\\ \\/ \\n\",\"last_name\":\"\xe6\x9d\x8e\",\"gender\":\"m\",\"address\":"
                    "\"a\",\"post_code\":\"p\",\"email\":\"x@y.z\",\"username\":\"u\",\"dob\":"
                    "\"d\",\"registered_date\":\"r\",\"phone\":\"p\",\"picture\":\"q\"}";
    assert_int_equal(parse(c, t), SL_REC_OK);
    assert_true(text_is(&c->row[1], "J\xc3\xb6rg \xf0\x9f\x98\x80 \"q\" \\ / \n"));
    assert_true(text_is(&c->row[2], "\xe6\x9d\x8e"));
}

static void expect(ctx *c, const char *v, sl_rec_error e, const char *detail_part)
{
    sl_rec_error got = parse(c, v);
    if (got != e)
        fail_msg("%s: got %s (%s), want %s", v, sl_rec_error_name(got), c->detail,
                 sl_rec_error_name(e));
    if (detail_part && !strstr(c->detail, detail_part))
        fail_msg("%s: detail '%s' lacks '%s'", v, c->detail, detail_part);
}

/* Strings are scanned eight bytes at a time: a byte that ends the plain run is found at every
 * position of a long string, not only where a word begins. */
static void test_long_strings_every_position(void **state)
{
    ctx *c = *state;
    char v[512], want[64];
    for (int i = 0; i < 30; i++) {
        char s[64];
        memset(s, 'a', 30);
        s[30] = 0;
        s[i] = '\t';
        snprintf(v, sizeof v, "{\"a\": \"%s\"}", s);
        expect(c, v, SL_REC_NOT_JSON, "control");
        s[i] = (char)0xff;
        snprintf(v, sizeof v, "{\"a\": \"%s\"}", s);
        expect(c, v, SL_REC_INVALID_UTF8, "0xff");
        /* An escaped quote and a two-byte character at i decode into the field. */
        memset(s, 'b', 34);
        memcpy(s + i, "\\\"\xc3\xb6", 4);
        s[34] = 0;
        memset(want, 'b', 33);
        memcpy(want + i, "\"\xc3\xb6", 3);
        want[33] = 0;
        snprintf(v, sizeof v,
                 "{\"id\":\"" GOOD_ID "\",\"first_name\":\"%s\",\"last_name\":\"l\",\"gender\":"
                 "\"m\",\"address\":\"a\",\"post_code\":\"p\",\"email\":\"x@y.z\",\"username\":"
                 "\"u\",\"dob\":\"d\",\"registered_date\":\"r\",\"phone\":\"p\",\"picture\":\"q\"}",
                 s);
        assert_int_equal(parse(c, v), SL_REC_OK);
        assert_true(text_is(&c->row[1], want));
    }
}

static void test_refusals(void **state)
{
    ctx *c = *state;
    expect(c, "not json at all", SL_REC_NOT_JSON, NULL);
    expect(c, "", SL_REC_NOT_JSON, "empty");
    expect(c, "[1,2]", SL_REC_NOT_JSON, "not an object");
    expect(c, "\"str\"", SL_REC_NOT_JSON, "not an object");
    expect(c, "{\"id\": }", SL_REC_NOT_JSON, NULL);
    expect(c, "{\"id\": \"x\"", SL_REC_NOT_JSON, NULL);
    expect(c, "{\"a\": 01}", SL_REC_NOT_JSON, NULL);
    expect(c, "{\"a\": \"tab\there\"}", SL_REC_NOT_JSON, "control");
    expect(c, "{\"a\": \"\\x\"}", SL_REC_NOT_JSON, "escape");
    /* Nesting: 64 levels counting the record's own object, and not one more, in a declared
     * field and in an undeclared one alike. */
    char deep[2048];
    for (int d = 63; d <= 64; d++) {
        for (int declared = 0; declared < 2; declared++) {
            int n = snprintf(deep, sizeof deep, "{\"%s\": ", declared ? "phone" : "extra");
            for (int k = 0; k < d; k++)
                deep[n++] = '[';
            for (int k = 0; k < d; k++)
                deep[n++] = ']';
            snprintf(deep + n, sizeof deep - (size_t)n, ", %s", rec(GOOD_ID, "1", "a@b.co") + 1);
            if (d > 63)
                expect(c, deep, SL_REC_NOT_JSON, "nested too deeply");
            else
                expect(c, deep, declared ? SL_REC_WRONG_TYPE : SL_REC_OK, NULL);
        }
    }
    expect(c, "{} {}", SL_REC_NOT_JSON, NULL);
    expect(c, "{\"a\": tru}", SL_REC_NOT_JSON, NULL);

    expect(c, "{\"a\": \"\xff\"}", SL_REC_INVALID_UTF8, "0xff");
    expect(c, "{\"a\": \"\xc0\xaf\"}", SL_REC_INVALID_UTF8, NULL);     /* overlong */
    expect(c, "{\"a\": \"\xed\xa0\x80\"}", SL_REC_INVALID_UTF8, NULL); /* surrogate */
    expect(c, "{\"a\": \"\xe6\x9d\"}", SL_REC_INVALID_UTF8, NULL);     /* truncated */
    expect(c, "{\"a\": \"\\ud800\"}", SL_REC_INVALID_UTF8, "surrogate");
    expect(c, "{\"a\": \"x\\u0000y\"}", SL_REC_NUL_IN_TEXT, "u0000");
    /* other control characters are text: past the string, the record fails on its missing id */
    expect(c, "{\"a\": \"x\\u0001y\"}", SL_REC_MISSING_FIELD, "id");
    expect(c, "{\"a\": \"\\udc00\"}", SL_REC_INVALID_UTF8, "surrogate");
    expect(c, "\xfe{}", SL_REC_INVALID_UTF8, NULL);

    char v[4096];
    snprintf(v, sizeof v, "%s", rec(GOOD_ID, "1", "a@b.co"));
    char *p = strstr(v, "\"gender\": \"female\", ");
    memmove(p, p + 20, strlen(p + 20) + 1);
    expect(c, v, SL_REC_MISSING_FIELD, "gender");
    snprintf(v, sizeof v, "%s", rec(GOOD_ID, "null", "a@b.co"));
    expect(c, v, SL_REC_MISSING_FIELD, "post_code");

    expect(c, rec(GOOD_ID, "{\"a\":1}", "a@b.co"), SL_REC_WRONG_TYPE, "post_code");
    expect(c, rec(GOOD_ID, "[1]", "a@b.co"), SL_REC_WRONG_TYPE, "post_code");
    snprintf(v, sizeof v, "%s", rec(GOOD_ID, "1", "a@b.co"));
    p = strstr(v, "\"" GOOD_ID "\"");
    memcpy(p, "12345678901234567890123456789012345678", 38);
    expect(c, v, SL_REC_WRONG_TYPE, "id");

    expect(c, rec("not-a-uuid", "1", "a@b.co"), SL_REC_INVALID_UUID, "id");
    expect(c, rec("4c2f0c52-7d3a-4a59-9a7b-1b0c2d3e4f5g", "1", "a@b.co"), SL_REC_INVALID_UUID,
           NULL);
    expect(c, rec(GOOD_ID, "1", "no-at-sign"), SL_REC_INVALID_EMAIL, "email");
    expect(c, rec(GOOD_ID, "1", "a@nodot"), SL_REC_INVALID_EMAIL, NULL);
    expect(c, rec(GOOD_ID, "1", "a b@c.d"), SL_REC_INVALID_EMAIL, NULL);

    snprintf(v, sizeof v, "{\"gender\": \"x\", %s", rec(GOOD_ID, "1", "a@b.co") + 1);
    expect(c, v, SL_REC_DUPLICATE_FIELD, "gender");

    const char *ok = rec(GOOD_ID, "1", "a@b.co");
    sl_rec_error e =
        sl_schema_parse(c->s, ok, strlen(ok), 100, c->row, &c->arena, c->detail, sizeof c->detail);
    assert_int_equal(e, SL_REC_TOO_LARGE);
    assert_non_null(strstr(c->detail, "max_record_size"));
    /* Syntax errors win over field errors found before them. */
    snprintf(v, sizeof v, "%s", rec("bad", "1", "a@b.co"));
    v[strlen(v) - 1] = ',';
    expect(c, v, SL_REC_NOT_JSON, NULL);
    assert_string_equal(sl_rec_error_name(SL_REC_INVALID_EMAIL), "invalid_email");
}

static void test_values(void **state)
{
    SL_UNUSED(state);
    int64_t ms;
    assert_int_equal(sl_timestamp_parse("1970-01-01", 10, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sl_timestamp_parse("2024-02-29T12:00:00.5Z", 22, &ms), 0);
    assert_int_equal(ms, 1709208000500);
    assert_int_equal(sl_timestamp_parse("2024-02-29T12:00:00+02:00", 25, &ms), 0);
    assert_int_equal(ms, 1709200800000);
    assert_int_not_equal(sl_timestamp_parse("2023-02-29", 10, &ms), 0);
    assert_int_not_equal(sl_timestamp_parse("2023-13-01", 10, &ms), 0);
    assert_int_not_equal(sl_timestamp_parse("2023-01-01T10:00", 16, &ms), 0);
    assert_true(sl_email_shaped("a.b@c.d", 7));
    assert_false(sl_email_shaped("@c.d", 4));
    assert_false(sl_email_shaped("a@@c.d", 6));
    assert_false(sl_email_shaped("a@c..d", 6));
    assert_false(sl_email_shaped("a@.cd", 5));
}

static sl_schema *from_yaml(const char *text, sl_errs *errs)
{
    sl_yaml *y = NULL;
    if (sl_yaml_load_str(text, strlen(text), "t.yaml", &y, errs)) return NULL;
    sl_schema *s = NULL;
    sl_schema_from_yaml(sl_yaml_get(y, "pipeline.schema"), sl_yaml_get(y, "pipeline.mapping"), &s,
                        errs);
    sl_yaml_free(y);
    return s;
}

static void test_yaml_mapping(void **state)
{
    SL_UNUSED(state);
    sl_errs errs = {0};
    sl_schema *s = from_yaml("pipeline:\n"
                             "  schema:\n"
                             "    uid: uuid\n"
                             "    first: text\n"
                             "    last: {type: text, required: false}\n"
                             "    age: int\n"
                             "    score: double\n"
                             "    vip: boolean\n"
                             "    at: timestamp\n"
                             "    big: bigint\n"
                             "    junk: text\n"
                             "    mail: {type: text, format: email, required: no}\n"
                             "  mapping:\n"
                             "    rename: {uid: id, vip: is_vip}\n"
                             "    default: {age: 42, score: '1.5'}\n"
                             "    drop: [junk]\n"
                             "    concat:\n"
                             "      full_name: {fields: [first, last], separator: ' '}\n",
                             &errs);
    sl_errs_print(&errs, stderr);
    assert_int_equal(errs.n, 0);
    assert_non_null(s);
    size_t n;
    const sl_sink_column *cols = sl_schema_columns(s, &n);
    assert_int_equal(n, 10);
    assert_string_equal(cols[0].name, "id");
    assert_int_equal(cols[0].type, SL_SINK_UUID);
    assert_string_equal(cols[5].name, "is_vip");
    assert_string_equal(cols[9].name, "full_name");
    assert_int_equal(cols[9].type, SL_SINK_TEXT);

    sl_arena arena;
    sl_arena_init(&arena, 1024);
    sl_sink_value row[10];
    char d[160];
    const char *v = "{\"uid\":\"" GOOD_ID "\",\"first\":\"Ana\",\"last\":\"Lima\",\"vip\":true,"
                    "\"at\":\"2024-02-29T12:00:00.5Z\",\"big\":-9223372036854775808,"
                    "\"junk\":\"x\"}";
    assert_int_equal(sl_schema_parse(s, v, strlen(v), 4096, row, &arena, d, sizeof d), SL_REC_OK);
    assert_int_equal(row[3].v.i64, 42);
    assert_true(row[4].v.f64 == 1.5);
    assert_true(row[5].v.b);
    assert_int_equal(row[6].v.i64, 1709208000500);
    assert_int_equal(row[7].v.i64, INT64_MIN);
    assert_true(row[8].null);
    assert_true(text_is(&row[9], "Ana Lima"));

    const char *w = "{\"uid\":\"" GOOD_ID "\",\"first\":\"Ana\",\"vip\":false,\"at\":0,"
                    "\"big\":1,\"junk\":\"x\",\"age\":3000000000}";
    assert_int_equal(sl_schema_parse(s, w, strlen(w), 4096, row, &arena, d, sizeof d),
                     SL_REC_WRONG_TYPE);
    assert_non_null(strstr(d, "age"));
    const char *x = "{\"uid\":\"" GOOD_ID "\",\"first\":\"Ana\",\"vip\":false,\"at\":0,"
                    "\"big\":1,\"junk\":\"x\",\"age\":7,\"score\":2e2}";
    assert_int_equal(sl_schema_parse(s, x, strlen(x), 4096, row, &arena, d, sizeof d), SL_REC_OK);
    assert_int_equal(row[3].v.i64, 7);
    assert_true(row[4].v.f64 == 200.0);
    assert_true(text_is(&row[9], "Ana"));
    const char *y = "{\"uid\":\"" GOOD_ID "\",\"first\":\"Ana\",\"vip\":1,\"at\":0,\"big\":1,"
                    "\"junk\":\"x\"}";
    assert_int_equal(sl_schema_parse(s, y, strlen(y), 4096, row, &arena, d, sizeof d),
                     SL_REC_WRONG_TYPE);
    assert_non_null(strstr(d, "vip: expected boolean, got a number"));
    sl_arena_free(&arena);
    sl_schema_free(s);
}

static void expect_yaml_error(const char *text, const char *msg)
{
    sl_errs errs = {0};
    sl_schema *s = from_yaml(text, &errs);
    assert_null(s);
    bool found = false;
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.msgs[i], msg)) found = true;
    if (!found) {
        sl_errs_print(&errs, stderr);
        fail_msg("no error containing '%s'", msg);
    }
    sl_errs_free(&errs);
}

static void test_yaml_errors(void **state)
{
    SL_UNUSED(state);
    expect_yaml_error("pipeline:\n  schema:\n    id: uuid\n    x: varchar\n",
                      "t.yaml:4: pipeline.schema.x: unknown type 'varchar'");
    expect_yaml_error("pipeline:\n  schema:\n    id: {type: uuid, colour: red}\n",
                      "t.yaml:3: pipeline.schema.id: unknown key 'colour'");
    expect_yaml_error("pipeline:\n  mapping:\n    rename: {nope: x}\n",
                      "t.yaml:3: pipeline.mapping.rename: 'nope' is not a field");
    expect_yaml_error("pipeline:\n  mapping:\n    drop:\n      - nope\n",
                      "t.yaml:4: pipeline.mapping.drop: 'nope' is not a field");
    expect_yaml_error("pipeline:\n  mapping:\n    default: {id: not-a-uuid}\n",
                      "t.yaml:3: pipeline.mapping.default.id: 'not-a-uuid' is not a uuid");
    expect_yaml_error("pipeline:\n  mapping:\n    rename: {email: first_name}\n",
                      "two columns are named 'first_name'");
    expect_yaml_error("pipeline:\n  mapping:\n    rename: {email: \"drop table\"}\n",
                      "not a lower-case identifier");
    expect_yaml_error("pipeline:\n  mapping:\n    frobnicate: 1\n",
                      "t.yaml:3: pipeline.mapping: unknown key 'frobnicate'");
    expect_yaml_error("pipeline:\n  mapping:\n    concat: {full: {fields: [id]}}\n",
                      "'id' is not a text field");
    expect_yaml_error("pipeline:\n  schema:\n    id: {type: uuid, required: false}\n",
                      "primary key");
    expect_yaml_error("pipeline:\n  schema:\n    n: {type: int, format: email}\n",
                      "format email needs type text");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes_and_unicode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_strings_every_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_yaml_mapping),
        cmocka_unit_test(test_yaml_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
