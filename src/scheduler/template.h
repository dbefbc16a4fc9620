/* template.h: renders {{ ds }}, {{ ts }}, {{ run_id }}, {{ params.x }} (and their neighbours
 * listed in docs/scheduler.md) in task fields, as Airflow's Jinja does for these names. */
#ifndef SL_SCHEDULER_TEMPLATE_H
#define SL_SCHEDULER_TEMPLATE_H

#include "core/sl.h"
#include "core/config.h"

typedef struct sl_tmpl_ctx {
    const char *dag_id, *task_id, *run_id;
    int try_number;
    int64_t interval_start_ms, interval_end_ms; /* the run's data interval */
    const sl_yaml *params;                      /* the DAG's params (defaults); may be NULL */
    const char *conf_json;                      /* the run's conf, overrides params; may be NULL */
} sl_tmpl_ctx;

/* Renders text into a new string (*out, freed by the caller). An unknown name, an unclosed
 * "{{" or bad conf JSON writes a one-line reason into err and returns SL_ERR_PARSE. */
int sl_tmpl_render(const char *text, const sl_tmpl_ctx *ctx, char **out, char *err, size_t errlen);

#endif
