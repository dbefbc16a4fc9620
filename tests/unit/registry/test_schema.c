/* test_schema.c: AVRO through the registry's seam: libavro's rejections become parse errors,
 * equivalent schemas share one Parsing Canonical Form, and writer/reader pairs from the Avro
 * specification's resolution rules (promotions, defaults, unions, enums with defaults, aliases,
 * nested and named types, arrays and maps, fixed sizes, namespaces, recursion): at least 60. */
#include "registry/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static sl_regschema *parse(const char *text)
{
    sl_regschema *s = NULL;
    char err[256] = "";
    int rc = sl_regschema_parse(SL_SCHEMA_AVRO, text, strlen(text), &s, err, sizeof err);
    if (rc) fail_msg("parse %s: %s", text, err);
    return s;
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{",
        "\"nosuchtype\"",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Missing\"}]}",
        "{\"type\":\"enum\",\"name\":\"E\"}",
        "{\"type\":\"fixed\",\"name\":\"F\"}",
        "[\"int\",\"int\"]",
        "{\"type\":\"record\",\"name\":\"1bad\",\"fields\":[]}",
        /* found by fuzz_avro_schema: accepted, its canonical form then failed to parse */
        "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"io.slu%ce\",\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a..b\",\"fields\":[]}",
        /* also found by it: two fields of one name (Avro: "Duplicate field"), and a bad name */
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\",\"type\":\"int\"},"
        "{\"name\":\"f\",\"type\":\"long\"}]}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a-b\",\"type\":\"int\"}]}",
        /* refused by libavro ("R0" inside namespace x names x.R0), which then left a freed schema
         * in its out pointer: decref'd again (valgrind on a grown fuzz corpus, session 5) */
        "{\"type\":\"record\",\"name\":\"R0\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
        "\"record\",\"name\":\"x.F\",\"fields\":[{\"name\":\"b\",\"type\":\"R0\"}]}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_regschema *s = NULL;
        char err[256] = "";
        assert_true(
            sl_regschema_parse(SL_SCHEMA_AVRO, bad[i], strlen(bad[i]), &s, err, sizeof err) < 0);
        assert_null(s);
        assert_true(err[0] != '\0');
    }
    sl_regschema *s = NULL;
    char err[64];
    assert_true(sl_regschema_parse(SL_SCHEMA_PROTOBUF, "x", 1, &s, err, sizeof err) < 0);
}

static void test_canonical(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"{\"type\":\"int\"}", "\"int\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"long\""},
        {"{\"namespace\":\"a.b\",\"type\":\"record\",\"name\":\"R\",\"doc\":\"d\",\"fields\":"
         "[ {\"name\":\"x\",\"type\":{\"type\":\"int\"},\"default\":1,\"doc\":\"y\"},"
         "{\"name\":\"self\",\"type\":[\"null\",\"R\"]},"
         "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
         "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"x.F\",\"size\":16}},"
         "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":"
         "\"E\"}}}]}",
         "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"},"
         "{\"name\":\"self\",\"type\":[\"null\",\"a.b.R\"]},{\"name\":\"e\",\"type\":{\"name\":"
         "\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"A\",\"B\"]}},{\"name\":\"f\",\"type\":{"
         "\"name\":\"x.F\",\"type\":\"fixed\",\"size\":16}},{\"name\":\"m\",\"type\":{\"type\":"
         "\"map\",\"values\":{\"type\":\"array\",\"items\":\"a.b.E\"}}}]}"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        sl_regschema *s = parse(pairs[i][0]);
        assert_string_equal(sl_regschema_canonical(s), pairs[i][1]);
        sl_regschema *again = parse(sl_regschema_canonical(s));
        assert_string_equal(sl_regschema_canonical(again), pairs[i][1]);
        sl_regschema_free(again);
        sl_regschema_free(s);
    }
}

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"
#define F(n, t)     "{\"name\":\"" n "\",\"type\":" t "}"
#define FD(n, t, d) "{\"name\":\"" n "\",\"type\":" t ",\"default\":" d "}"
#define ENUM(syms)  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[" syms "]}"

static const struct {
    const char *writer, *reader;
    bool ok;
} cases[] = {
    {"\"int\"", "\"int\"", true},
    {"\"int\"", "\"long\"", true},
    {"\"int\"", "\"float\"", true},
    {"\"int\"", "\"double\"", true},
    {"\"long\"", "\"float\"", true},
    {"\"long\"", "\"double\"", true},
    {"\"float\"", "\"double\"", true},
    {"\"string\"", "\"bytes\"", true},
    {"\"bytes\"", "\"string\"", true},
    {"\"long\"", "\"int\"", false},
    {"\"double\"", "\"float\"", false},
    {"\"float\"", "\"long\"", false},
    {"\"int\"", "\"string\"", false},
    {"\"null\"", "\"boolean\"", false},
    {"\"boolean\"", "\"boolean\"", true},
    {REC(F("a", "\"int\"")), REC(F("a", "\"int\"")), true},
    {REC(F("a", "\"int\"")), REC(F("a", "\"long\"")), true},
    {REC(F("a", "\"long\"")), REC(F("a", "\"int\"")), false},
    {REC(F("a", "\"int\"")), REC(F("a", "\"int\"") "," FD("b", "\"string\"", "\"x\"")), true},
    {REC(F("a", "\"int\"")), REC(F("a", "\"int\"") "," F("b", "\"string\"")), false},
    {REC(F("a", "\"int\"") "," F("b", "\"string\"")), REC(F("a", "\"int\"")), true},
    {REC(F("old", "\"int\"")),
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"new\",\"type\":\"int\","
     "\"aliases\":[\"old\"]}]}",
     true},
    {REC(F("a", "\"int\"")), "{\"type\":\"record\",\"name\":\"S\",\"fields\":[]}", false},
    {REC(F("a", "\"int\"")),
     "{\"type\":\"record\",\"name\":\"S\",\"aliases\":[\"R\"],\"fields\":[]}", true},
    {"{\"type\":\"record\",\"name\":\"x.R\",\"fields\":[]}",
     "{\"type\":\"record\",\"name\":\"y.R\",\"fields\":[]}", true},
    {ENUM("\"A\",\"B\""), ENUM("\"A\",\"B\",\"C\""), true},
    {ENUM("\"A\",\"B\",\"C\""), ENUM("\"A\",\"B\""), false},
    {ENUM("\"A\",\"B\",\"C\""),
     "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"],\"default\":\"A\"}", true},
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
     "{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}", true},
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
     "{\"type\":\"fixed\",\"name\":\"F\",\"size\":8}", false},
    {"{\"type\":\"array\",\"items\":\"int\"}", "{\"type\":\"array\",\"items\":\"long\"}", true},
    {"{\"type\":\"array\",\"items\":\"long\"}", "{\"type\":\"array\",\"items\":\"int\"}", false},
    {"{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"map\",\"values\":\"double\"}", true},
    {"{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"array\",\"items\":\"int\"}", false},
    {"\"int\"", "[\"null\",\"int\"]", true},
    {"\"int\"", "[\"null\",\"long\"]", true},
    {"\"int\"", "[\"null\",\"string\"]", false},
    {"[\"null\",\"int\"]", "\"int\"", false},
    {"[\"int\",\"long\"]", "\"long\"", true},
    {"[\"null\",\"int\"]", "[\"int\",\"null\"]", true},
    {"[\"null\",\"int\",\"string\"]", "[\"null\",\"int\"]", false},
    {"[\"null\",\"int\"]", "[\"null\",\"int\",\"string\"]", true},
    {REC(F("next", "[\"null\",\"R\"]") "," F("v", "\"int\"")),
     REC(F("next", "[\"null\",\"R\"]") "," F("v", "\"long\"")), true},
    {REC(F("next", "[\"null\",\"R\"]") "," F("v", "\"long\"")),
     REC(F("next", "[\"null\",\"R\"]") "," F("v", "\"int\"")), false},
    /* promotions inside containers */
    {"{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"map\",\"values\":\"long\"}", true},
    {"{\"type\":\"array\",\"items\":\"string\"}", "{\"type\":\"array\",\"items\":\"bytes\"}", true},
    {REC(F("b", "\"bytes\"")), REC(F("b", "\"string\"")), true},
    {"\"long\"", "\"long\"", true},
    {"\"double\"", "\"long\"", false},
    {"\"null\"", "\"null\"", true},
    {"\"int\"", "\"null\"", false},
    /* unions */
    {"[\"int\",\"string\"]", "[\"long\",\"string\"]", true},
    {"[\"null\",\"int\"]", "[\"null\",\"long\"]", true},
    {"\"string\"", "[\"null\",\"bytes\"]", true},
    {"[\"null\",\"float\"]", "[\"null\",\"int\"]", false},
    {"[\"null\",\"string\"]", "\"string\"", false},
    {REC(F("u", "[\"null\",\"int\"]")), REC(FD("u", "[\"null\",\"int\",\"string\"]", "null")),
     true},
    /* enums: defaults, names, aliases */
    {ENUM("\"A\",\"B\""),
     "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"Z\"],\"default\":\"Z\"}", true},
    {ENUM("\"A\""), "{\"type\":\"enum\",\"name\":\"G\",\"symbols\":[\"A\"]}", false},
    {ENUM("\"A\""), "{\"type\":\"enum\",\"name\":\"G\",\"aliases\":[\"E\"],\"symbols\":[\"A\"]}",
     true},
    {REC(F("e", ENUM("\"A\",\"B\""))),
     REC(F("e", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"A\"}")), true},
    {ENUM("\"A\""), "\"string\"", false},
    /* aliases */
    {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"m\",\"fields\":[]}",
     "{\"type\":\"record\",\"name\":\"S\",\"namespace\":\"n\",\"aliases\":[\"m.R\"],"
     "\"fields\":[]}",
     true},
    {REC(F("old", "\"int\"")),
     REC("{\"name\":\"new\",\"type\":\"long\",\"aliases\":[\"x\",\"old\"]}"), true},
    {REC(F("old", "\"long\"")), REC("{\"name\":\"new\",\"type\":\"int\",\"aliases\":[\"old\"]}"),
     false},
    /* nested records */
    {REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"int\"") "]}")),
     REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"long\"") "]}")),
     true},
    {REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"int\"") "]}")),
     REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"int\"") "," F(
                     "y", "\"int\"") "]}")),
     false},
    {REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"int\"") "]}")),
     REC(F("in", "{\"type\":\"record\",\"name\":\"I\",\"fields\":[" F("x", "\"int\"") "," FD(
                     "y", "\"int\"", "0") "]}")),
     true},
    /* arrays and maps of named types */
    {"{\"type\":\"array\",\"items\":" REC(F("a", "\"int\"")) "}",
     "{\"type\":\"array\",\"items\":" REC(F("a", "\"double\"")) "}", true},
    {"{\"type\":\"map\",\"values\":[\"null\",\"int\"]}", "{\"type\":\"map\",\"values\":\"int\"}",
     false},
    {"{\"type\":\"array\",\"items\":\"int\"}", "{\"type\":\"map\",\"values\":\"int\"}", false},
    /* fixed */
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
     "{\"type\":\"fixed\",\"name\":\"G\",\"size\":4}", false},
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}",
     "{\"type\":\"fixed\",\"name\":\"G\",\"aliases\":[\"F\"],\"size\":4}", true},
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}", "\"bytes\"", false},
    /* namespaces: names compare unqualified */
    {"{\"type\":\"enum\",\"name\":\"a.E\",\"symbols\":[\"A\"]}",
     "{\"type\":\"enum\",\"name\":\"E\",\"namespace\":\"b\",\"symbols\":[\"A\"]}", true},
    {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a\",\"fields\":[" F(
         "f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}") "]}",
     "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"b\",\"fields\":[" F(
         "f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}") "]}",
     true},
};

static void test_resolution(void **state)
{
    (void)state;
    assert_true(sizeof cases / sizeof cases[0] >= 60);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_regschema *w = parse(cases[i].writer), *r = parse(cases[i].reader);
        char **msgs = NULL;
        size_t n = 0;
        bool ok = sl_regschema_can_read(r, w, &msgs, &n);
        if (ok != cases[i].ok)
            fail_msg("case %zu: writer %s reader %s: got %d", i, cases[i].writer, cases[i].reader,
                     ok);
        assert_true(ok ? n == 0 : n > 0);
        for (size_t k = 0; k < n; k++)
            free(msgs[k]);
        free(msgs);
        sl_regschema_free(w);
        sl_regschema_free(r);
    }
}

/* 40 nested records, each with two fields of the next: a check that walked every path would take
 * 2^40 steps; each pair of records is answered once. */
static void test_shared_types(void **state)
{
    (void)state;
    enum { LEVELS = 40 };
    sl_regschema *sch[2];
    for (int v = 0; v < 2; v++) {
        char *doc = malloc(LEVELS * 120 + 128), *s = doc;
        for (int i = 0; i < LEVELS - 1; i++)
            s += sprintf(
                s,
                "{\"type\":\"record\",\"name\":\"R%d\",\"fields\":[{\"name\":\"a\",\"type\":", i);
        const char *base = v ? "long" : "int";
        s += sprintf(s,
                     "{\"type\":\"record\",\"name\":\"R%d\",\"fields\":[{\"name\":\"a\",\"type\":"
                     "\"%s\"},{\"name\":\"b\",\"type\":\"%s\"}]}",
                     LEVELS - 1, base, base);
        for (int i = LEVELS - 2; i >= 0; i--)
            s += sprintf(s, "},{\"name\":\"b\",\"type\":\"R%d\"}]}", i + 1);
        sch[v] = parse(doc);
        free(doc);
    }
    assert_true(sl_regschema_can_read(sch[0], sch[0], NULL, NULL));
    assert_true(sl_regschema_can_read(sch[1], sch[0], NULL, NULL));
    char **msgs = NULL;
    size_t n = 0;
    assert_false(sl_regschema_can_read(sch[0], sch[1], &msgs, &n));
    assert_true(n >= 1);
    for (size_t k = 0; k < n; k++)
        free(msgs[k]);
    free(msgs);
    sl_regschema_free(sch[0]);
    sl_regschema_free(sch[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_shared_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
