/* transform.h: the per-record transforms of `sluice process` (docs/transforms.md), applied
 * between the schema parse and the sink: `derive:` (new columns, each an expression over the
 * columns before it), `filter:` (records for which it is not true are dropped) and `rules:`
 * (named data-quality checks: a record for which one is not true is refused with the rule's
 * name). Every expression is compiled once, at config time. */
#ifndef SL_PIPELINE_TRANSFORM_H
#define SL_PIPELINE_TRANSFORM_H

#include "core/buf.h"
#include "core/config.h"
#include "pipeline/expr.h"
#include "pipeline/sink.h"

typedef struct sl_transform sl_transform;

/* Builds the transforms from the `filter:` scalar, `derive:` map and `rules:` map of a pipeline
 * section (each may be NULL) over the columns cols (the schema's). Every problem, including an
 * expression that does not compile, is added to errs as FILE:LINE: pipeline.KEY: reason.
 * Returns 0 or SL_ERR_CONFIG (*out NULL). */
int sl_transform_from_yaml(const sl_yaml *filter, const sl_yaml *derive, const sl_yaml *rules,
                           const sl_sink_column *cols, size_t ncols, sl_transform **out,
                           sl_errs *errs);
void sl_transform_free(sl_transform *t);
/* The columns of a transformed row: the schema's, then the derived ones; valid while t lives. */
const sl_sink_column *sl_transform_columns(const sl_transform *t, size_t *ncols);

typedef enum {
    SL_TX_KEEP,   /* the row goes on, its derived columns filled */
    SL_TX_DROP,   /* the filter was not true */
    SL_TX_REFUSE, /* a rule failed or an expression gave an error: to the DLQ */
} sl_tx_result;

/* Why a record was refused. */
typedef struct sl_tx_refusal {
    const char *reason; /* "rule_failed" or an expression error ("type_error", ...) */
    const char *rule;   /* rule_failed: the rule's name (owned by the transform), else NULL */
    char detail[160];   /* which transform and why, never a field's content */
} sl_tx_refusal;

/* Applies the transforms to row (the schema's columns filled, room for the derived ones after
 * them). raw is the record's value (for json_path); text results go into arena. */
sl_tx_result sl_transform_apply(const sl_transform *t, sl_sink_value *row, const void *raw,
                                size_t rawlen, sl_arena *arena, int64_t now_ms, sl_tx_refusal *why);

/* Whether name can be a column: a lower-case identifier of at most 48 characters. */
bool sl_transform_column_name_ok(const char *name);

#endif
