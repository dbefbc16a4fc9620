/* fuzz_schema.c: one Kafka record value through sl_schema_parse, against the seeds' schema and
 * against a schema with every type, an optional field, a default and a concat. Any input must
 * end in a row or a named refusal with a detail; a row's text must lie inside the input or the
 * arena and be valid UTF-8 (the parser's promise to the sinks). Never a crash or a read past
 * the input: the value is copied into an exact-size buffer, so ASan catches overreads. */
#include "fuzz.h"

#include "core/buf.h"
#include "pipeline/schema.h"

#include <stdlib.h>
#include <string.h>

static const char *const every_type = "pipeline:\n"
                                      "  schema:\n"
                                      "    k: uuid\n"
                                      "    t: {type: text, required: false}\n"
                                      "    i: {type: int, required: false}\n"
                                      "    b: {type: bigint, required: false}\n"
                                      "    d: {type: double, required: false}\n"
                                      "    o: {type: boolean, required: false}\n"
                                      "    s: {type: timestamp, required: false}\n"
                                      "    e: {type: text, format: email, required: false}\n"
                                      "  mapping:\n"
                                      "    default: {i: 7}\n"
                                      "    concat: {te: {fields: [t, e], separator: '-'}}\n";

static bool utf8_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static void check(const sl_schema *s, const uint8_t *data, size_t size, sl_arena *arena)
{
    sl_sink_value row[16];
    char detail[160];
    sl_rec_error e = sl_schema_parse(s, data, size, 4096, row, arena, detail, sizeof detail);
    if (e != SL_REC_OK) {
        if (!detail[0] || !strcmp(sl_rec_error_name(e), "unknown")) abort();
        return;
    }
    size_t ncols;
    const sl_sink_column *cols = sl_schema_columns(s, &ncols);
    for (size_t c = 0; c < ncols; c++) {
        if (row[c].null || cols[c].type != SL_SINK_TEXT) continue;
        if (row[c].len && !utf8_ok((const uint8_t *)row[c].str, row[c].len)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sl_schema *seeds, *typed;
    if (!seeds) {
        seeds = sl_schema_default();
        sl_errs errs = {0};
        sl_yaml *y = NULL;
        if (sl_yaml_load_str(every_type, strlen(every_type), "fuzz", &y, &errs) ||
            sl_schema_from_yaml(sl_yaml_get(y, "pipeline.schema"),
                                sl_yaml_get(y, "pipeline.mapping"), &typed, &errs))
            abort();
        sl_yaml_free(y);
    }
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sl_arena arena;
    sl_arena_init(&arena, 1024);
    check(seeds, copy, size, &arena);
    check(typed, copy, size, &arena);
    sl_arena_free(&arena);
    free(copy);
    return 0;
}
