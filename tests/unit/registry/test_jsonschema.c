/* test_jsonschema.c: JSON Schema (draft-07) through the registry's seam: the keyword structure
 * is checked (each refusal names the keyword), local $refs resolve, equivalent documents share a
 * canonical form, and writer/reader pairs over the checked keyword subset. */
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
    int rc = sl_regschema_parse(SL_SCHEMA_JSON, text, strlen(text), &s, err, sizeof err);
    if (rc) fail_msg("parse %s: %s", text, err);
    return s;
}

static void test_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{", "Invalid schema"},
        {"\"string\"", "object or a boolean"},
        {"{\"type\":\"strin\"}", "/type"},
        {"{\"type\":[]}", "/type"},
        {"{\"type\":[\"string\",\"string\"]}", "/type"},
        {"{\"properties\":[]}", "#/properties: must be an object"},
        {"{\"properties\":{\"a\":3}}", "#/properties/a: a schema"},
        {"{\"required\":\"a\"}", "#/required"},
        {"{\"required\":[\"a\",\"a\"]}", "#/required"},
        {"{\"minLength\":-1}", "#/minLength"},
        {"{\"maxItems\":1.5}", "#/maxItems"},
        {"{\"multipleOf\":0}", "#/multipleOf"},
        {"{\"maximum\":\"5\"}", "#/maximum"},
        {"{\"items\":[]}", "#/items"},
        {"{\"anyOf\":[]}", "#/anyOf"},
        {"{\"allOf\":[1]}", "#/allOf/0"},
        {"{\"uniqueItems\":1}", "#/uniqueItems"},
        {"{\"pattern\":1}", "#/pattern"},
        {"{\"dependencies\":{\"a\":[\"b\",\"b\"]}}", "#/dependencies/a"},
        {"{\"$ref\":\"#/definitions/x\"}", "unresolvable"},
        {"{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":"
         "\"#/definitions/a\"}},\"$ref\":\"#/definitions/a\"}",
         "cycle"},
        {"{\"$ref\":\"#/enum/0\",\"enum\":[3]}", "does not name a schema"},
        {"{\"$ref\":\"#/enum/0\",\"enum\":[{\"type\":7}]}", "/type"},
        {"{\"type\":\"string\",\"type\":\"number\"}", "duplicate"},
        {"{\"not\":{\"items\":{\"additionalProperties\":{\"properties\":{\"a\":{\"minimum\":"
         "null}}}}}}",
         "#/not/items/additionalProperties/properties/a/minimum"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_regschema *s = NULL;
        char err[256] = "";
        int rc = sl_regschema_parse(SL_SCHEMA_JSON, bad[i].text, strlen(bad[i].text), &s, err,
                                    sizeof err);
        if (rc == 0 || s || !strstr(err, bad[i].why))
            fail_msg("case %zu %s: rc %d err \"%s\", wanted \"%s\"", i, bad[i].text, rc, err,
                     bad[i].why);
    }
    /* deeper than the nesting limit */
    char deep[4096] = "";
    for (int i = 0; i < 200; i++)
        strcat(deep, "{\"not\":");
    strcat(deep, "true");
    for (int i = 0; i < 200; i++)
        strcat(deep, "}");
    sl_regschema *s = NULL;
    char err[256] = "";
    assert_true(sl_regschema_parse(SL_SCHEMA_JSON, deep, strlen(deep), &s, err, sizeof err) < 0);
    assert_non_null(strstr(err, "nested deeper"));
}

static void test_accepts(void **state)
{
    (void)state;
    static const char *const good[] = {
        "true",
        "false",
        "{}",
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"title\":\"User\","
        "\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
        "\"age\":{\"type\":\"integer\",\"minimum\":0},\"tags\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"string\"},\"uniqueItems\":true},\"home\":{\"$ref\":\"#/definitions/addr\"}},"
        "\"required\":[\"id\"],\"additionalProperties\":false,\"definitions\":{\"addr\":"
        "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/definitions/addr\"}}}}}",
        "{\"definitions\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"type\":\"null\"}},\"anyOf\":"
        "[{\"$ref\":\"#/definitions/a~1b\"},{\"$ref\":\"#/definitions/c~0d\"}]}",
        "{\"definitions\":{\"x\":{\"$id\":\"#node\",\"type\":\"integer\"}},\"items\":{\"$ref\":"
        "\"#node\"}}",
        "{\"$ref\":\"other.json#/definitions/x\"}",
        "{\"x-vendor\":{\"anything\":[1,2]},\"const\":{\"a\":1},\"dependencies\":{\"a\":[\"b\"],"
        "\"c\":{\"required\":[\"d\"]}},\"if\":{\"minimum\":1},\"then\":true,\"else\":false}",
        "{\"items\":[{\"type\":\"string\"},true],\"additionalItems\":false,\"contains\":"
        "{\"const\":1}}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        sl_regschema_free(parse(good[i]));
}

static void test_canonical(void **state)
{
    (void)state;
    sl_regschema *a = parse("{\"type\":\"object\", \"properties\": {\"b\":{\"type\":\"string\"},"
                            " \"a\":{\"type\":\"integer\"}}}");
    sl_regschema *b = parse("{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":"
                            "\"string\"}},\n  \"type\":\"object\"}");
    sl_regschema *c = parse("{\"properties\":{\"a\":{\"type\":\"number\"},\"b\":{\"type\":"
                            "\"string\"}},\"type\":\"object\"}");
    assert_string_equal(sl_regschema_canonical(a), sl_regschema_canonical(b));
    assert_string_equal(sl_regschema_canonical(a), "{\"properties\":{\"a\":{\"type\":\"integer\"},"
                                                   "\"b\":{\"type\":\"string\"}},\"type\":"
                                                   "\"object\"}");
    assert_string_not_equal(sl_regschema_canonical(a), sl_regschema_canonical(c));
    sl_regschema_free(a);
    sl_regschema_free(b);
    sl_regschema_free(c);
}

#define OBJ(props, extra) "{\"type\":\"object\",\"properties\":{" props "}" extra "}"
#define CLOSED            ",\"additionalProperties\":false"

/* writer, reader, whether the reader accepts every document the writer does, and a word the
 * first reason must contain. */
static const struct {
    const char *writer, *reader;
    bool ok;
    const char *why;
} cases[] = {
    {"{\"type\":\"string\"}", "{\"type\":\"string\"}", true, NULL},
    {"{\"type\":\"integer\"}", "{\"type\":\"number\"}", true, NULL},
    {"{\"type\":\"number\"}", "{\"type\":\"integer\"}", false, "TYPE_NARROWED"},
    {"{\"type\":\"string\"}", "{\"type\":[\"string\",\"null\"]}", true, NULL},
    {"{\"type\":[\"string\",\"null\"]}", "{\"type\":\"string\"}", false, "TYPE_NARROWED"},
    {"{\"type\":\"string\"}", "{}", true, NULL},
    {"{\"type\":\"string\"}", "true", true, NULL},
    {"{}", "{\"type\":\"string\"}", false, "TYPE_NARROWED"},
    {"{\"type\":\"string\"}", "false", false, "SCHEMA_REMOVED"},
    {"false", "{\"type\":\"null\"}", true, NULL},
    /* string keywords */
    {"{\"type\":\"string\",\"maxLength\":5}", "{\"type\":\"string\",\"maxLength\":10}", true, NULL},
    {"{\"type\":\"string\",\"maxLength\":10}", "{\"type\":\"string\",\"maxLength\":5}", false,
     "MAX_LENGTH_DECREASED"},
    {"{\"type\":\"string\"}", "{\"type\":\"string\",\"maxLength\":5}", false, "MAX_LENGTH_ADDED"},
    {"{\"type\":\"string\",\"minLength\":3}", "{\"type\":\"string\",\"minLength\":1}", true, NULL},
    {"{\"type\":\"string\",\"minLength\":1}", "{\"type\":\"string\",\"minLength\":3}", false,
     "MIN_LENGTH_INCREASED"},
    {"{\"type\":\"string\",\"pattern\":\"^a\"}", "{\"type\":\"string\"}", true, NULL},
    {"{\"type\":\"string\",\"pattern\":\"^a\"}", "{\"type\":\"string\",\"pattern\":\"^b\"}", false,
     "PATTERN_CHANGED"},
    {"{\"type\":\"string\"}", "{\"type\":\"string\",\"format\":\"email\"}", false, "FORMAT_ADDED"},
    /* numbers */
    {"{\"type\":\"integer\",\"maximum\":10}", "{\"type\":\"integer\",\"maximum\":20}", true, NULL},
    {"{\"type\":\"integer\",\"maximum\":20}", "{\"type\":\"integer\",\"maximum\":10}", false,
     "MAXIMUM_DECREASED"},
    {"{\"type\":\"number\",\"exclusiveMaximum\":10}", "{\"type\":\"number\",\"maximum\":10}", true,
     NULL},
    {"{\"type\":\"number\",\"maximum\":10}", "{\"type\":\"number\",\"exclusiveMaximum\":10}", false,
     "EXCLUSIVE_MAXIMUM_DECREASED"},
    {"{\"type\":\"number\",\"minimum\":5}", "{\"type\":\"number\",\"minimum\":0}", true, NULL},
    {"{\"type\":\"number\"}", "{\"type\":\"number\",\"minimum\":0}", false, "MINIMUM_ADDED"},
    {"{\"type\":\"number\",\"exclusiveMinimum\":0}", "{\"type\":\"number\",\"minimum\":0}", true,
     NULL},
    {"{\"type\":\"integer\",\"multipleOf\":6}", "{\"type\":\"integer\",\"multipleOf\":3}", true,
     NULL},
    {"{\"type\":\"integer\",\"multipleOf\":3}", "{\"type\":\"integer\",\"multipleOf\":6}", false,
     "MULTIPLE_OF_CHANGED"},
    {"{\"type\":\"string\"}", "{\"type\":\"string\",\"minimum\":3}", true, NULL},
    /* enum and const */
    {"{\"enum\":[\"a\",\"b\"]}", "{\"enum\":[\"a\",\"b\",\"c\"]}", true, NULL},
    {"{\"enum\":[\"a\",\"b\",\"c\"]}", "{\"enum\":[\"a\",\"b\"]}", false, "ENUM_ARRAY_NARROWED"},
    {"{\"type\":\"string\"}", "{\"enum\":[\"a\"]}", false, "ENUM_ARRAY_ADDED"},
    {"{\"const\":1}", "{\"enum\":[1,2]}", true, NULL},
    {"{\"enum\":[1,2]}", "{\"const\":1}", false, "CONST_CHANGED"},
    /* objects: required, content models */
    {OBJ("\"a\":{\"type\":\"string\"}", ",\"required\":[\"a\"]"),
     OBJ("\"a\":{\"type\":\"string\"}", ""), true, NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ""),
     OBJ("\"a\":{\"type\":\"string\"}", ",\"required\":[\"a\"]"), false,
     "REQUIRED_ATTRIBUTE_ADDED"},
    {OBJ("\"a\":{\"type\":\"string\"}", ""),
     OBJ("\"a\":{\"type\":\"string\",\"default\":\"x\"}", ",\"required\":[\"a\"]"), true, NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ""),
     OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}", ""), false,
     "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"},
    {OBJ("\"a\":{\"type\":\"string\"}", CLOSED),
     OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}", ""), true, NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ""), OBJ("\"a\":{\"type\":\"string\"},\"b\":{}", ""), true,
     NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ",\"additionalProperties\":{\"type\":\"integer\"}"),
     OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"number\"}",
         ",\"additionalProperties\":{\"type\":\"integer\"}"),
     true, NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ",\"additionalProperties\":{\"type\":\"number\"}"),
     OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}",
         ",\"additionalProperties\":{\"type\":\"number\"}"),
     false, "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"},
    {OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}", ""),
     OBJ("\"a\":{\"type\":\"string\"}", ""), true, NULL},
    {OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}", CLOSED),
     OBJ("\"a\":{\"type\":\"string\"}", CLOSED), false,
     "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
    {OBJ("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}", ""),
     OBJ("\"a\":{\"type\":\"string\"}", ",\"additionalProperties\":{\"type\":\"string\"}"), false,
     "PROPERTY_REMOVED_NOT_COVERED"},
    {OBJ("\"a\":{\"type\":\"string\"}", CLOSED), OBJ("\"a\":{\"type\":\"string\"}", ""), true,
     NULL},
    {OBJ("\"a\":{\"type\":\"string\"}", ""), OBJ("\"a\":{\"type\":\"string\"}", CLOSED), false,
     "ADDITIONAL_PROPERTIES_REMOVED"},
    {OBJ("\"a\":{\"type\":\"integer\"}", ""), OBJ("\"a\":{\"type\":\"number\"}", ""), true, NULL},
    {OBJ("\"a\":{\"type\":\"number\"}", ""), OBJ("\"a\":{\"type\":\"integer\"}", ""), false,
     "TYPE_NARROWED: the writer's number is not within the reader's integer at "
     "'#/properties/a'"},
    {"{\"type\":\"object\",\"maxProperties\":3}", "{\"type\":\"object\",\"maxProperties\":2}",
     false, "MAX_PROPERTIES_DECREASED"},
    /* arrays */
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}",
     "{\"type\":\"array\",\"items\":{\"type\":\"number\"}}", true, NULL},
    {"{\"type\":\"array\",\"items\":{\"type\":\"number\"}}",
     "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", false, "#/items"},
    {"{\"type\":\"array\"}", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", false,
     "TYPE_NARROWED"},
    {"{\"type\":\"array\",\"items\":[{\"type\":\"string\"}],\"additionalItems\":false}",
     "{\"type\":\"array\",\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", true, NULL},
    {"{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}",
     "{\"type\":\"array\",\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", false,
     "#/items/1"},
    {"{\"type\":\"array\",\"items\":[{\"type\":\"string\"},{\"type\":\"string\"}],"
     "\"additionalItems\":false}",
     "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", true, NULL},
    {"{\"type\":\"array\",\"items\":[{\"type\":\"string\"},{\"type\":\"string\"}]}",
     "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", false, "#/items/2"},
    {"{\"type\":\"array\",\"minItems\":1,\"maxItems\":3}",
     "{\"type\":\"array\",\"minItems\":0,\"maxItems\":5}", true, NULL},
    {"{\"type\":\"array\"}", "{\"type\":\"array\",\"uniqueItems\":true}", false,
     "UNIQUE_ITEMS_ADDED"},
    /* combinations and references */
    {"{\"type\":\"string\"}", "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", true,
     NULL},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "{\"type\":[\"string\",\"null\"]}",
     true, NULL},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
     "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"},{\"type\":\"integer\"}]}", true, NULL},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
     "{\"oneOf\":[{\"type\":\"string\"}]}", false, "SUM_TYPE_NARROWED"},
    {"{\"type\":\"integer\",\"minimum\":1}", "{\"allOf\":[{\"type\":\"number\"},{\"minimum\":0}]}",
     true, NULL},
    {"{\"type\":\"integer\"}", "{\"allOf\":[{\"type\":\"number\"},{\"minimum\":0}]}", false,
     "#/allOf/1"},
    {"{\"type\":\"string\",\"not\":{\"const\":\"x\"}}", "{\"type\":\"string\"}", true, NULL},
    {"{\"type\":\"string\"}", "{\"type\":\"string\",\"not\":{\"const\":\"x\"}}", false,
     "NOT_TYPE_EXTENDED"},
    {"{\"definitions\":{\"n\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
     "\"next\":{\"$ref\":\"#/definitions/n\"}}}},\"$ref\":\"#/definitions/n\"}",
     "{\"definitions\":{\"m\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"number\"},"
     "\"next\":{\"$ref\":\"#/definitions/m\"}}}},\"$ref\":\"#/definitions/m\"}",
     true, NULL},
    {"{\"definitions\":{\"n\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"number\"},"
     "\"next\":{\"$ref\":\"#\"}}}},\"$ref\":\"#/definitions/n\"}",
     "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"next\":{\"$ref\":"
     "\"#\"}}}",
     false, "#/properties/v"},
    {"{\"$ref\":\"a.json\"}", "{\"$ref\":\"a.json\"}", true, NULL},
    {"{\"$ref\":\"a.json\"}", "{\"$ref\":\"b.json\"}", false, "REFERENCE_CHANGED"},
    /* the writer's allOf parts keep their external $refs when flattened */
    {"{\"allOf\":[{\"$ref\":\"number\"},{\"minimum\":0}]}",
     "{\"allOf\":[{\"$ref\":\"number\"},{\"minimum\":0}]}", true, NULL},
    {"{\"type\":\"object\",\"allOf\":[{\"$ref\":\"b.json\"},{\"$ref\":\"a.json\"}]}",
     "{\"$ref\":\"a.json\"}", true, NULL},
    {"{\"allOf\":[{\"$ref\":\"b.json\"},{\"$ref\":\"a.json\"}]}", "{\"$ref\":\"c.json\"}", false,
     "REFERENCE_CHANGED: c.json"},
    {"{\"properties\":{\"p\":{\"allOf\":[{\"$ref\":\"#/definitions/"
     "e\"}]}},\"definitions\":{\"e\":{\"$ref\":\"a.json\"}}}",
     "{\"definitions\":{\"d\":{\"$ref\":\"a.json\"}},\"properties\":{\"p\":{\"$ref\":\"#/"
     "definitions/d\"}}}",
     true, NULL},
    {"{\"allOf\":[{\"$ref\":\"a.json\"}],\"anyOf\":[{\"type\":\"string\"},{\"type\":\"string\","
     "\"maxLength\":3}]}",
     "{\"type\":\"string\",\"allOf\":[{\"$ref\":\"a.json\"}]}", true, NULL},
    /* two parts bounding one keyword: the writer is read through the part that holds */
    {"{\"allOf\":[{\"maximum\":5},{\"maximum\":3}]}",
     "{\"allOf\":[{\"maximum\":5},{\"maximum\":3}]}", true, NULL},
    {"{\"allOf\":[{\"maximum\":5},{\"maximum\":3}]}", "{\"maximum\":4}", true, NULL},
    {"{\"allOf\":[{\"maximum\":5},{\"maximum\":3}]}", "{\"maximum\":2}", false,
     "MAXIMUM_DECREASED"},
    /* a writer's anyOf branch that is an external $ref keeps it beside the other keywords */
    {"{\"anyOf\":[{\"type\":\"string\"},{\"$ref\":\"a.json\"}],\"definitions\":{}}",
     "{\"allOf\":[{\"anyOf\":[{\"type\":\"string\"},{\"$ref\":\"a.json\"}]}]}", true, NULL},
    /* a part's own allOf is the writer's too; a part referring back adds nothing */
    {"{\"allOf\":[{\"allOf\":[{\"type\":\"number\"}]}]}", "{\"type\":\"number\"}", true, NULL},
    {"{\"allOf\":[{\"allOf\":[{\"$ref\":\"a.json\"}]}]}", "{\"$ref\":\"a.json\"}", true, NULL},
    {"{\"allOf\":[{\"$ref\":\"#\"},{\"type\":\"string\"}]}",
     "{\"allOf\":[{\"$ref\":\"#\"},{\"type\":\"string\"}]}", true, NULL},
    {"{\"allOf\":[{\"$ref\":\"#\"},{\"type\":\"string\"}]}", "{\"type\":\"integer\"}", false,
     "TYPE_NARROWED"},
    /* merged parts keep the types both allow: an impossible branch has no value to read */
    {"{\"allOf\":[{\"type\":\"object\"}],\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"object\","
     "\"minProperties\":1}]}",
     "{\"type\":\"object\",\"minProperties\":1}", true, NULL},
    {"{\"allOf\":[{\"type\":\"object\"}],\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"object\","
     "\"minProperties\":1}]}",
     "{\"type\":\"object\",\"minProperties\":2}", false, "MIN_PROPERTIES"},
    {"{\"type\":\"number\",\"anyOf\":[{\"type\":[\"integer\",\"string\"]}]}",
     "{\"type\":\"integer\"}", true, NULL},
    /* merged parts keep the enum values both list, the tighter bounds, the required of either */
    {"{\"allOf\":[{\"enum\":[1,2,3]},{\"enum\":[2,3,4]}]}", "{\"enum\":[2,3]}", true, NULL},
    {"{\"allOf\":[{\"enum\":[1,2,3]},{\"enum\":[2,3,4]}]}", "{\"enum\":[3,4]}", false,
     "ENUM_ARRAY_NARROWED"},
    {"{\"allOf\":[{\"enum\":[1]},{\"enum\":[2]}]}", "{\"type\":\"string\"}", true, NULL},
    {"{\"allOf\":[{\"maximum\":5,\"minimum\":1},{\"maximum\":3,\"minimum\":0}]}",
     "{\"minimum\":1,\"maximum\":3}", true, NULL},
    {"{\"type\":\"object\",\"required\":[\"a\"],\"allOf\":[{\"required\":[\"b\"]}]}",
     "{\"type\":\"object\",\"required\":[\"a\",\"b\"]}", true, NULL},
    {"{\"type\":\"object\",\"required\":[\"a\"],\"allOf\":[{\"required\":[\"b\"]}]}",
     "{\"type\":\"object\",\"required\":[\"c\"]}", false, "REQUIRED_ATTRIBUTE_ADDED"},
    /* two multipleOf: their least common multiple */
    {"{\"anyOf\":[{\"type\":\"integer\",\"multipleOf\":0.5}],\"allOf\":[{\"multipleOf\":1.5}]}",
     "{\"multipleOf\":1.5}", true, NULL},
    {"{\"allOf\":[{\"multipleOf\":4},{\"multipleOf\":6}]}", "{\"multipleOf\":12}", true, NULL},
    {"{\"allOf\":[{\"multipleOf\":4},{\"multipleOf\":6}]}", "{\"multipleOf\":8}", false,
     "MULTIPLE_OF_CHANGED"},
    {"{\"allOf\":[{\"multipleOf\":0.3},{\"multipleOf\":0.5}]}", "{\"multipleOf\":1.5}", true, NULL},
    /* a merged writer with anyOf and oneOf: the reader reads every branch of one of them */
    {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"allOf\":[{\"anyOf\":[{\"type\":"
     "\"integer\"},{\"type\":\"string\"}]}]}",
     "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", true, NULL},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"allOf\":[{\"anyOf\":[{\"type\":"
     "\"integer\"},{\"type\":\"string\"}]}]}",
     "{\"oneOf\":[{\"type\":\"null\"}]}", false, "SUM_TYPE_NARROWED"},
    /* a reader's allOf part may read one part of the writer's (equality-only keywords clash) */
    {"{\"allOf\":[{\"if\":{\"\":0}},{\"if\":{}}]}", "{\"allOf\":[{\"if\":{\"\":0}},{\"if\":{}}]}",
     true, NULL},
    {"{\"allOf\":[{\"if\":{\"\":0}},{\"if\":{}}]}", "{\"allOf\":[{\"if\":{\"\":1}}]}", false,
     "CONDITIONAL_CHANGED"},
    {"{\"allOf\":[{\"multipleOf\":5.555555555},{\"multipleOf\":0.6}]}",
     "{\"multipleOf\":5.555555555}", true, NULL},
    /* an LCM past 9 decimal places: 5.5555555555555554 = 50/9, so 50 (a continued fraction) */
    {"{\"allOf\":[{\"multipleOf\":5.5555555555555554},{\"multipleOf\":0.5}]}",
     "{\"multipleOf\":50}", true, NULL},
    {"{\"allOf\":[{\"multipleOf\":5.5555555555555554},{\"multipleOf\":0.5}]}",
     "{\"multipleOf\":100}", false, "MULTIPLE_OF_CHANGED"},
    {"{\"multipleOf\":0.5,\"oneOf\":[{\"multipleOf\":5.5555555555555554}]}",
     "{\"allOf\":[{\"multipleOf\":0.5}],\"oneOf\":[{\"multipleOf\":5.5555555555555554}]}", true,
     NULL},
    {"{\"allOf\":[{\"multipleOf\":0.5}],\"oneOf\":[{\"multipleOf\":5.5555555555555554}]}",
     "{\"multipleOf\":0.5,\"oneOf\":[{\"multipleOf\":5.5555555555555554}]}", true, NULL},
    /* a writer's branch with its parent's keywords: a reader that reads either reads it */
    {"{\"oneOf\":[{\"if\":true}],\"if\":{}}", "{\"allOf\":[{\"if\":{}}],\"oneOf\":[{\"if\":true}]}",
     true, NULL},
    {"{\"oneOf\":[{\"if\":true}],\"if\":{}}", "{\"if\":{}}", true, NULL},
    {"{\"oneOf\":[{\"if\":true}],\"if\":{}}", "{\"if\":{\"x\":1}}", false, "CONDITIONAL_CHANGED"},
    /* an external $ref's siblings are not the writer's (draft-07 ignores them) */
    {"{\"allOf\":[{\"$ref\":\"a.json\",\"type\":\"string\"}]}", "{\"type\":\"string\"}", false,
     "TYPE_NARROWED"},
    /* a key named like a marker is only a keyword of the user's */
    {"{\"allOf\":[{\"extrefs\":[\"a.json\"]}]}", "{\"$ref\":\"a.json\"}", false,
     "REFERENCE_CHANGED"},
};

static void test_compatibility(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_regschema *w = parse(cases[i].writer), *r = parse(cases[i].reader);
        char **msgs = NULL;
        size_t n = 0;
        bool ok = sl_regschema_can_read(r, w, &msgs, &n);
        if (ok != cases[i].ok || (ok ? n != 0 : n == 0) ||
            (cases[i].why && !strstr(msgs[0], cases[i].why)))
            fail_msg("case %zu: writer %s reader %s: got %d (%s)", i, cases[i].writer,
                     cases[i].reader, ok, n ? msgs[0] : "no reason");
        for (size_t k = 0; k < n; k++)
            free(msgs[k]);
        free(msgs);
        sl_regschema_free(w);
        sl_regschema_free(r);
    }
}

/* 40 levels of definitions, each using the next twice: a check that walked every path would
 * take 2^40 steps; each pair is answered once. */
static void test_shared_definitions(void **state)
{
    (void)state;
    enum { LEVELS = 40 };
    char *doc = malloc(LEVELS * 160 + 64);
    char *p = doc + sprintf(doc, "{\"$ref\":\"#/definitions/d0\",\"definitions\":{");
    for (int i = 0; i < LEVELS; i++)
        p += sprintf(p,
                     "%s\"d%d\":{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/"
                     "definitions/d%d\"},\"b\":{\"$ref\":\"#/definitions/d%d\"}}}",
                     i ? "," : "", i, i + 1, i + 1);
    sprintf(p, ",\"d%d\":{\"type\":\"integer\"}}}", LEVELS);
    sl_regschema *w = parse(doc);
    char *wider = strdup(doc);
    char *last = strstr(wider, "{\"type\":\"integer\"}}}");
    memcpy(last, "{\"type\":\"number\"} }}", strlen("{\"type\":\"number\"} }}"));
    sl_regschema *r = parse(wider);
    assert_true(sl_regschema_can_read(w, w, NULL, NULL));
    assert_true(sl_regschema_can_read(r, w, NULL, NULL));
    char **msgs = NULL;
    size_t n = 0;
    assert_false(sl_regschema_can_read(w, r, &msgs, &n));
    assert_true(n >= 1);
    for (size_t k = 0; k < n; k++)
        free(msgs[k]);
    free(msgs);
    sl_regschema_free(w);
    sl_regschema_free(r);
    free(doc);
    free(wider);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_compatibility),
        cmocka_unit_test(test_shared_definitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
