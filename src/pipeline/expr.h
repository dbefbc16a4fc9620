/* expr.h: the expression language of the pipeline's transforms (docs/transforms.md): filters,
 * derived fields, data-quality rules and the arguments of windowed aggregates.
 *
 * An expression is compiled once against the columns of a row (a Pratt parser; field names are
 * resolved to column indexes and regexes compiled with PCRE2) and evaluated per record without
 * a malloc: text results go into the caller's arena. Every expression has a static type; what
 * can only fail at run time (a text that is not a number, a bad date, a division by zero) yields
 * an error value with a stable reason name, which the caller turns into a dead letter. A
 * compiled expression keeps per-expression scratch (PCRE2 match data), so it is used by one
 * thread at a time. */
#ifndef SL_PIPELINE_EXPR_H
#define SL_PIPELINE_EXPR_H

#include "core/buf.h"
#include "pipeline/sink.h"

typedef enum {
    SL_EXPR_NULL,
    SL_EXPR_BOOL,
    SL_EXPR_INT, /* 64 bits */
    SL_EXPR_DOUBLE,
    SL_EXPR_TEXT,
    SL_EXPR_TIMESTAMP, /* ms since the epoch */
    SL_EXPR_ERROR,     /* run time only: reason and detail */
} sl_expr_type;

typedef struct sl_expr_value {
    sl_expr_type type;
    union {
        bool b;
        int64_t i; /* INT, TIMESTAMP */
        double d;
    } v;
    const char *str; /* TEXT: UTF-8, not NUL-terminated; ERROR: the detail (NUL-terminated) */
    size_t len;
    const char *reason; /* ERROR: a stable name ("type_error", "invalid_timestamp", ...) */
} sl_expr_value;

/* What an expression reads while it is evaluated. */
typedef struct sl_expr_ctx {
    const sl_sink_value *row; /* the columns the expression was compiled against */
    const void *raw;          /* the record's value, for json_path('$...'); may be NULL */
    size_t rawlen;
    sl_arena *arena; /* text results live here */
    int64_t now_ms;  /* for age(date) without a second argument */
} sl_expr_ctx;

typedef struct sl_expr sl_expr;

/* Compiles src against the columns cols[0..ncols) (field references name them). On error
 * returns SL_ERR_PARSE and writes "column N: reason" into err. */
int sl_expr_compile(const char *src, const sl_sink_column *cols, size_t ncols, sl_expr **out,
                    char *err, size_t errlen);
/* The static type of the result (never NULL or ERROR). */
sl_expr_type sl_expr_result_type(const sl_expr *e);
/* The column e is, when e is nothing but a field reference (its type in *type), else -1: a
 * caller evaluating e per record may read the column itself. */
int sl_expr_field(const sl_expr *e, sl_sink_type *type);
/* Evaluates e over one record. */
sl_expr_value sl_expr_eval(const sl_expr *e, const sl_expr_ctx *ctx);
void sl_expr_free(sl_expr *e);

/* The lower-case name of a type ("text", "int", ...). */
const char *sl_expr_type_name(sl_expr_type t);
/* The sink column type that stores values of static type t. */
sl_sink_type sl_expr_sink_type(sl_expr_type t);
/* Converts a non-error value of static type t into a sink value (null stays null; TEXT is
 * borrowed). */
void sl_expr_to_sink(const sl_expr_value *v, sl_sink_value *out);
/* Converts a sink value of column type t into an expression value (a UUID is formatted into
 * arena as its 36-character text). */
sl_expr_value sl_expr_from_sink(const sl_sink_value *v, sl_sink_type t, sl_arena *arena);

#endif
