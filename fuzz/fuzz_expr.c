/* fuzz_expr.c: an expression and a record through the expression language. The input's first
 * line is compiled against a row of every column type; the rest is the record's raw value (for
 * json_path). A compile must end in an expression or an error naming a column; an evaluation in
 * a value of the expression's static type, null, or an error with a reason and a detail. Never
 * a crash, a leak or a read past the input (both parts are copied to exact-size buffers). */
#include "fuzz.h"

#include "core/buf.h"
#include "pipeline/expr.h"

#include <stdlib.h>
#include <string.h>

static const sl_sink_column cols[] = {
    {"id", SL_SINK_UUID},        {"name", SL_SINK_TEXT},    {"n", SL_SINK_INT},
    {"big", SL_SINK_BIGINT},     {"score", SL_SINK_DOUBLE}, {"vip", SL_SINK_BOOLEAN},
    {"seen", SL_SINK_TIMESTAMP}, {"dob", SL_SINK_TEXT},     {"gone", SL_SINK_TEXT},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t srclen = nl ? (size_t)(nl - data) : size;
    char *src = malloc(srclen + 1);
    memcpy(src, data, srclen);
    src[srclen] = 0;
    size_t rawlen = nl ? size - srclen - 1 : 0;
    char *raw = malloc(rawlen ? rawlen : 1);
    if (rawlen) memcpy(raw, nl + 1, rawlen);

    sl_expr *e = NULL;
    char err[200] = "";
    if (sl_expr_compile(src, cols, sizeof cols / sizeof cols[0], &e, err, sizeof err)) {
        if (strncmp(err, "column ", 7)) abort();
    } else {
        sl_sink_value row[sizeof cols / sizeof cols[0]];
        memset(row, 0, sizeof row);
        row[1] = (sl_sink_value){.str = "Ana 12", .len = 6};
        row[2].v.i64 = 42;
        row[3].v.i64 = INT64_MIN;
        row[4].v.f64 = -0.5;
        row[6].v.i64 = 1704067200000;
        row[7] = (sl_sink_value){.str = "1990-06-15", .len = 10};
        row[8].null = true;
        sl_arena arena;
        sl_arena_init(&arena, 1024);
        sl_expr_ctx c = {.row = row, .raw = raw, .rawlen = rawlen, .arena = &arena, .now_ms = 0};
        sl_expr_value v = sl_expr_eval(e, &c);
        if (v.type == SL_EXPR_ERROR) {
            if (!v.reason || !v.str) abort();
        } else if (v.type != SL_EXPR_NULL && v.type != sl_expr_result_type(e)) {
            abort();
        }
        sl_arena_free(&arena);
        sl_expr_free(e);
    }
    free(src);
    free(raw);
    return 0;
}
