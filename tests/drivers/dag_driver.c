/* dag_driver: loads DAGs the way the scheduler's --dags does, for test_0401. Usage:
 *   dag_driver [--default] PATH...
 * Prints one JSON line per loaded DAG (id, file, line, schedule, timezone, start_date_ms,
 * catchup, max_active_runs, next fire after start_date or 0, tasks in order with their
 * settings) on stdout, and each load error on stderr. Exits 1 if there were errors. */
#include "scheduler/dag.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    bool def = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--default") == 0)
            def = true;
        else
            sl_dag_load_path(&set, argv[i], &errs);
    }
    if (def) sl_dag_add_default(&set);
    for (size_t i = 0; i < set.n; i++) {
        const sl_dag *d = &set.dags[i];
        json_t *tasks = json_array();
        for (size_t k = 0; k < d->ntasks; k++) {
            const sl_task *t = &d->tasks[k];
            json_t *deps = json_array();
            for (size_t j = 0; j < t->ndeps; j++)
                json_array_append_new(deps, json_string(t->depends_on[j]));
            json_array_append_new(
                tasks, json_pack("{s:s, s:s, s:i, s:o, s:s, s:i, s:I, s:b, s:I, s:I, s:s?}",
                                 "task_id", t->id, "type", t->type, "line", t->line, "depends_on",
                                 deps, "trigger_rule", sl_trigger_rule_name(t->trigger_rule),
                                 "retries", t->retries, "retry_delay_ms",
                                 (json_int_t)t->retry_delay_ms, "retry_exponential_backoff",
                                 t->retry_exponential_backoff, "max_retry_delay_ms",
                                 (json_int_t)t->max_retry_delay_ms, "execution_timeout_ms",
                                 (json_int_t)t->execution_timeout_ms, "pool", t->pool));
        }
        int64_t next = 0;
        if (d->schedule && sl_cron_next(d->schedule, d->start_date_ms - 1, &next) != 0) next = 0;
        json_t *o = json_pack(
            "{s:s, s:s, s:i, s:s?, s:s, s:I, s:I, s:b, s:i, s:I, s:o}", "dag_id", d->id, "file",
            d->file, "line", d->line, "schedule", d->schedule ? sl_cron_text(d->schedule) : NULL,
            "timezone", d->timezone, "start_date_ms", (json_int_t)d->start_date_ms, "end_date_ms",
            (json_int_t)d->end_date_ms, "catchup", d->catchup, "max_active_runs",
            d->max_active_runs, "next_ms", (json_int_t)next, "tasks", tasks);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    sl_errs_print(&errs, stderr);
    int rc = errs.n ? 1 : 0;
    sl_errs_free(&errs);
    sl_dagset_free(&set);
    return rc;
}
