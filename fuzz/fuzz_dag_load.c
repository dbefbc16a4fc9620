/* fuzz_dag_load.c: DAG file text -> sl_dag_load_str -> for each loaded DAG, its schedule's next
 * and previous fires and every task field rendered through template.c; then the same bytes as a
 * schedule and as a template on their own. Any input must end in DAGs or file:line errors, never
 * a crash, a hang or a leak; a DAG that loaded must satisfy the model's invariants. */
#include "fuzz.h"

#include "scheduler/dag.h"
#include "scheduler/template.h"

#include <string.h>

static void check_dag(const sl_dag *d)
{
    if (!d->id || !d->file || !d->timezone || d->ntasks == 0 || d->max_active_runs < 1)
        __builtin_trap();
    if (d->schedule) {
        int64_t t = 1700000000000LL, out;
        if (sl_cron_next(d->schedule, t, &out) == 0 && out <= t) __builtin_trap();
        if (sl_cron_prev(d->schedule, t, &out) == 0 && out >= t) __builtin_trap();
    }
    for (size_t i = 0; i < d->ntasks; i++) {
        const sl_task *t = &d->tasks[i];
        if (!t->id || !t->type || !t->spec || sl_dag_task(d, t->id) != t) __builtin_trap();
        /* topological order: everything a task depends on comes before it */
        for (size_t k = 0; k < t->ndeps; k++) {
            const sl_task *dep = sl_dag_task(d, t->depends_on[k]);
            if (!dep || dep >= t) __builtin_trap();
        }
        sl_tmpl_ctx ctx = {.dag_id = d->id,
                           .task_id = t->id,
                           .run_id = "manual__fuzz",
                           .try_number = 1,
                           .interval_start_ms = 1700000000000LL,
                           .interval_end_ms = 1700086400000LL,
                           .params = d->params,
                           .conf_json = "{\"a\": {\"b\": [1, \"x\"]}}"};
        for (size_t k = 0; k < t->spec->n; k++) {
            const sl_yaml *v = t->spec->items[k];
            if (v->kind != SL_YAML_SCALAR || !v->scalar) continue;
            char *out = NULL, err[256];
            if (sl_tmpl_render(v->scalar, &ctx, &out, err, sizeof err) == 0) sl_free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    int n = sl_dag_load_str(&set, (const char *)data, size, "fuzz.yaml", &errs);
    if (n < 0 || (size_t)n != set.n) __builtin_trap();
    for (size_t i = 0; i < set.n; i++)
        check_dag(&set.dags[i]);
    for (size_t i = 0; i < errs.n; i++)
        if (strncmp(errs.msgs[i], "fuzz.yaml", 9) != 0) __builtin_trap();
    sl_errs_free(&errs);
    sl_dagset_free(&set);

    if (size < 512 && !memchr(data, 0, size)) {
        char text[512];
        memcpy(text, data, size);
        text[size] = '\0';
        sl_cron *c;
        char err[256];
        if (sl_cron_parse(text, size % 3 ? NULL : "Europe/Paris", 1700000000000LL, &c, err,
                          sizeof err) == 0) {
            int64_t t = 1700000000000LL, out;
            for (int k = 0; k < 4 && sl_cron_next(c, t, &out) == 0; k++) {
                if (out <= t) __builtin_trap();
                t = out;
            }
            sl_cron_free(c);
        }
        sl_tmpl_ctx ctx = {.run_id = "r", .dag_id = "d", .task_id = "t", .conf_json = "{}"};
        char *out = NULL;
        if (sl_tmpl_render(text, &ctx, &out, err, sizeof err) == 0) sl_free(out);
    }
    return 0;
}
