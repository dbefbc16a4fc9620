/* ops_dags.c: the DAGs page's two reads, each a few statements over the metadata store:
 *   GET /api/dags        every DAG with its schedule, next run and its last runs' states;
 *   GET /api/dags/{id}   one DAG's grid: its tasks, its latest runs and each run's task
 *                        instances (Airflow's grid view), ?runs=N (1..365, default 25) and
 *                        ?offset=K to page back.
 * Everything that changes state (trigger, pause, clear) and the try logs go through the
 * scheduler's REST under /api/v1/, so the page and API clients share one implementation. */
#include "console/ops_int.h"

#include "core/codec.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAST_RUNS      10 /* coloured squares per DAG on the list */
#define GRID_RUNS      25
#define GRID_RUNS_MAX  365
#define GRID_RUNS_MAXS "365"

static void db_error(sl_http_resp *resp, sl_meta *m)
{
    SL_ERROR("console", "scheduler metadata: %s", sl_meta_error(m));
    sl_http_resp_error(resp, 500, "the scheduler's metadata store failed");
}

/* The next scheduled run of d as Airflow's list shows it: the logical date (the start of its
 * data interval) and when it runs (the interval's end), or null. */
static json_t *next_run(const sl_dag *d, int64_t next_interval_ms)
{
    int64_t start, end;
    if (sl_sched_next_interval(d, next_interval_ms, sl_now_ms(), &start, &end) < 0)
        return json_null();
    return json_pack("{s:o, s:o}", "logical_date", sl__ops_iso(start), "run_after",
                     sl__ops_iso(end));
}

static json_t *dag_summary(const sl_dag *d, bool paused, int64_t next_interval_ms)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < d->ntags; i++)
        json_array_append_new(tags, json_string(d->tags[i]));
    return json_pack("{s:s, s:s?, s:o, s:s?, s:s, s:b, s:b, s:i, s:I, s:o, s:o}", "dag_id", d->id,
                     "description", d->description, "tags", tags, "schedule",
                     d->schedule ? sl_cron_text(d->schedule) : NULL, "timezone",
                     d->timezone ? d->timezone : "UTC", "is_paused", paused, "catchup", d->catchup,
                     "max_active_runs", d->max_active_runs, "tasks", (json_int_t)d->ntasks,
                     "next_run", next_run(d, next_interval_ms), "runs", json_array());
}

/* Index of dag_id in set, or -1 (sets are small: a linear scan). */
static int dag_index(const sl_dagset *set, const char *dag_id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->dags[i].id, dag_id) == 0) return (int)i;
    return -1;
}

void sl__ops_dags(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    sl_sched *s = sl__ops_sched(arg, resp);
    if (!s) return;
    sl_meta *m = sl_sched_meta(s);
    const sl_dagset *set = sl_sched_dags(s);
    json_t **items = sl_calloc(set->n ? set->n : 1, sizeof *items);
    sl_meta_rows dr, rr;
    if (sl_meta_exec(m, "SELECT dag_id, is_paused, next_interval_ms FROM dag", 0, NULL, &dr)) {
        sl_free(items);
        db_error(resp, m);
        return;
    }
    bool *paused = sl_calloc(set->n ? set->n : 1, sizeof *paused);
    int64_t *next = sl_calloc(set->n ? set->n : 1, sizeof *next);
    for (size_t i = 0; i < set->n; i++)
        next[i] = INT64_MIN;
    for (size_t i = 0; i < dr.nrows; i++) {
        int di = dag_index(set, sl_meta_cell(&dr, i, 0));
        if (di < 0) continue;
        paused[di] = sl_meta_cell_i64(&dr, i, 1, 0) != 0;
        next[di] = sl_meta_cell_i64(&dr, i, 2, INT64_MIN);
    }
    sl_meta_rows_free(&dr);
    for (size_t i = 0; i < set->n; i++)
        items[i] = dag_summary(&set->dags[i], paused[i], next[i]);
    sl_free(paused);
    sl_free(next);
    /* The last LAST_RUNS runs of each DAG: one indexed range read per DAG (run_logical). */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT run_id, state, run_type, logical_ms FROM dag_run WHERE dag_id = $1 ORDER BY"
             " logical_ms DESC, run_id DESC LIMIT %d",
             LAST_RUNS);
    for (size_t i = 0; i < set->n; i++) {
        const char *p[] = {set->dags[i].id};
        if (sl_meta_exec(m, sql, 1, p, &rr)) {
            for (size_t k = 0; k < set->n; k++)
                json_decref(items[k]);
            sl_free(items);
            db_error(resp, m);
            return;
        }
        json_t *runs = json_object_get(items[i], "runs");
        for (size_t k = rr.nrows; k-- > 0;) /* oldest first, as the squares are drawn */
            json_array_append_new(
                runs, json_pack("{s:s, s:s, s:s, s:o}", "run_id", sl_meta_cell(&rr, k, 0), "state",
                                sl_meta_cell(&rr, k, 1), "run_type", sl_meta_cell(&rr, k, 2),
                                "logical_date", sl__ops_iso(sl_meta_cell_i64(&rr, k, 3, 0))));
        sl_meta_rows_free(&rr);
    }
    json_t *list = json_array();
    for (size_t i = 0; i < set->n; i++)
        json_array_append_new(list, items[i]);
    sl_free(items);
    sl__ops_send(resp, 200, json_pack("{s:o}", "dags", list));
}

/* A query argument as a whole number in [lo, hi]; def when absent. false when it is bad. */
static bool int_arg(sl_http_req *req, const char *name, long lo, long hi, long def, long *out)
{
    const char *v = sl_http_req_arg(req, name);
    *out = def;
    if (!v) return true;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) return false;
    *out = n;
    return true;
}

/* ,"key":"value" (without the comma when first), null for NULL. */
static void j_field_str(sl_buf *b, const char *key, const char *v, bool first)
{
    if (!first) sl_buf_put_u8(b, ',');
    sl_http_json_str(b, key, strlen(key));
    sl_buf_put_u8(b, ':');
    if (v)
        sl_http_json_str(b, v, strlen(v));
    else
        sl_buf_append_str(b, "null");
}

static void j_field_int(sl_buf *b, const char *key, int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, v);
    sl_buf_put_u8(b, ',');
    sl_http_json_str(b, key, strlen(key));
    sl_buf_put_u8(b, ':');
    sl_buf_append_str(b, num);
}

/* ,"key":"ISO date" of an epoch-ms cell, or null. */
static void j_field_iso(sl_buf *b, const char *key, const sl_meta_rows *r, size_t row, size_t col)
{
    char iso[64];
    const char *v = NULL;
    if (sl_meta_cell(r, row, col)) {
        sl_sched_iso(sl_meta_cell_i64(r, row, col, 0), iso, sizeof iso);
        v = iso;
    }
    j_field_str(b, key, v, false);
}

typedef struct name_ix {
    const char *name;
    size_t ix;
} name_ix;

static int name_ix_cmp(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* Finds name in a sorted name_ix array; SIZE_MAX when absent. */
static size_t name_ix_find(const name_ix *v, size_t n, const char *name)
{
    name_ix key = {name, 0};
    const name_ix *hit = bsearch(&key, v, n, sizeof *v, name_ix_cmp);
    return hit ? hit->ix : SIZE_MAX;
}

/* A DAG's params for the trigger form's conf: maps and lists as JSON, scalars as strings. */
static json_t *yaml_json(const sl_yaml *y)
{
    if (!y) return json_object();
    if (y->kind == SL_YAML_SCALAR) return y->scalar ? json_string(y->scalar) : json_null();
    json_t *j = y->kind == SL_YAML_MAP ? json_object() : json_array();
    for (size_t i = 0; i < y->n; i++) {
        if (y->kind == SL_YAML_MAP)
            json_object_set_new(j, y->keys[i], yaml_json(y->items[i]));
        else
            json_array_append_new(j, yaml_json(y->items[i]));
    }
    return j;
}

static json_t *grid_tasks(const sl_dag *d)
{
    json_t *tasks = json_array();
    for (size_t i = 0; i < d->ntasks; i++) {
        const sl_task *t = &d->tasks[i];
        json_t *deps = json_array();
        for (size_t k = 0; k < t->ndeps; k++)
            json_array_append_new(deps, json_string(t->depends_on[k]));
        json_array_append_new(tasks, json_pack("{s:s, s:s, s:o, s:s, s:i}", "task_id", t->id,
                                               "type", t->type, "depends_on", deps, "trigger_rule",
                                               sl_trigger_rule_name(t->trigger_rule), "retries",
                                               t->retries));
    }
    return tasks;
}

void sl__ops_dag_grid(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *id = sl_http_req_path(req) + strlen("/api/dags/");
    sl_sched *s = sl__ops_sched(arg, resp);
    if (!s) return;
    const sl_dag *d = sl_dagset_find(sl_sched_dags(s), id);
    if (!d) {
        char msg[400];
        snprintf(msg, sizeof msg, "no DAG %.300s", id);
        sl_http_resp_error(resp, 404, msg);
        return;
    }
    long nruns, offset;
    if (!int_arg(req, "runs", 1, GRID_RUNS_MAX, GRID_RUNS, &nruns)) {
        sl_http_resp_error(resp, 400, "runs: expected a whole number 1.." GRID_RUNS_MAXS);
        return;
    }
    if (!int_arg(req, "offset", 0, 1000000000L, 0, &offset)) {
        sl_http_resp_error(resp, 400, "offset: expected a whole number >= 0");
        return;
    }
    sl_meta *m = sl_sched_meta(s);
    char latest[200], sql[700];
    snprintf(latest, sizeof latest,
             "SELECT run_id FROM dag_run WHERE dag_id = $1 ORDER BY logical_ms DESC, run_id DESC"
             " LIMIT %ld OFFSET %ld",
             nruns, offset);
    snprintf(sql, sizeof sql,
             "SELECT run_id, run_type, state, logical_ms, interval_start_ms, interval_end_ms,"
             " conf, start_ms, end_ms FROM dag_run WHERE dag_id = $1 AND run_id IN (%s) ORDER"
             " BY logical_ms, run_id",
             latest);
    const char *p[] = {d->id};
    sl_meta_rows rr = {0}, tr = {0}, dr = {0}, nr = {0};
    if (sl_meta_exec(m, sql, 1, p, &rr)) goto fail;
    snprintf(sql, sizeof sql,
             "SELECT run_id, task_id, state, try_number, max_tries, start_ms, end_ms FROM"
             " task_instance WHERE dag_id = $1 AND run_id IN (%s)",
             latest);
    if (sl_meta_exec(m, sql, 1, p, &tr) ||
        sl_meta_exec(m, "SELECT is_paused, next_interval_ms FROM dag WHERE dag_id = $1", 1, p,
                     &dr) ||
        sl_meta_exec(m, "SELECT count(*) FROM dag_run WHERE dag_id = $1", 1, p, &nr))
        goto fail;
    name_ix *runs = sl_calloc(rr.nrows + 1, sizeof *runs),
            *tasks = sl_calloc(d->ntasks, sizeof *tasks);
    for (size_t i = 0; i < rr.nrows; i++)
        runs[i] = (name_ix){sl_meta_cell(&rr, i, 0), i};
    for (size_t i = 0; i < d->ntasks; i++)
        tasks[i] = (name_ix){d->tasks[i].id, i};
    qsort(runs, rr.nrows, sizeof *runs, name_ix_cmp);
    qsort(tasks, d->ntasks, sizeof *tasks, name_ix_cmp);
    /* grid[run][task] as the index of its row in tr, -1 where the run has no instance of the
     * task (one added to the DAG later) */
    long *cell = sl_malloc((rr.nrows * d->ntasks + 1) * sizeof *cell);
    for (size_t i = 0; i < rr.nrows * d->ntasks; i++)
        cell[i] = -1;
    for (size_t i = 0; i < tr.nrows; i++) {
        size_t ri = name_ix_find(runs, rr.nrows, sl_meta_cell(&tr, i, 0));
        size_t ti = name_ix_find(tasks, d->ntasks, sl_meta_cell(&tr, i, 1));
        if (ri != SIZE_MAX && ti != SIZE_MAX) cell[ri * d->ntasks + ti] = (long)i;
    }
    sl_free(runs);
    sl_free(tasks);
    bool paused = dr.nrows && sl_meta_cell_i64(&dr, 0, 0, 0) != 0;
    int64_t next = dr.nrows ? sl_meta_cell_i64(&dr, 0, 1, INT64_MIN) : INT64_MIN;
    json_t *dag = dag_summary(d, paused, next);
    json_object_del(dag, "runs");
    json_object_set_new(dag, "params", yaml_json(d->params));
    json_t *head =
        json_pack("{s:o, s:o, s:I, s:i}", "dag", dag, "tasks", grid_tasks(d), "total_runs",
                  (json_int_t)sl_meta_cell_i64(&nr, 0, 0, 0), "offset", (int)offset);
    /* The runs and the grid are written straight into the body: with hundreds of runs a tree
     * of JSON values cost most of the answer's time. */
    char *text = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    sl_buf *b = &resp->body;
    resp->status = 200;
    resp->content_type = "application/json";
    sl_buf_append(b, text, strlen(text) - 1); /* without the closing brace */
    free(text);
    sl_buf_append_str(b, ",\"runs\":[");
    for (size_t i = 0; i < rr.nrows; i++) {
        const char *conf = sl_meta_cell(&rr, i, 6);
        sl_buf_append_str(b, i ? ",{" : "{");
        j_field_str(b, "run_id", sl_meta_cell(&rr, i, 0), true);
        j_field_str(b, "run_type", sl_meta_cell(&rr, i, 1), false);
        j_field_str(b, "state", sl_meta_cell(&rr, i, 2), false);
        static const char *const dates[] = {"logical_date",      "data_interval_start",
                                            "data_interval_end", NULL,
                                            "start_date",        "end_date"};
        for (size_t k = 0; k < SL_ARRAY_LEN(dates); k++)
            if (dates[k]) j_field_iso(b, dates[k], &rr, i, 3 + k);
        /* conf is the scheduler's own json_dumps of an object */
        sl_buf_append_str(b, ",\"conf\":");
        sl_buf_append_str(b, conf && *conf ? conf : "{}");
        sl_buf_put_u8(b, '}');
    }
    sl_buf_append_str(b, "],\"grid\":[");
    for (size_t i = 0; i < rr.nrows; i++) {
        sl_buf_append_str(b, i ? ",[" : "[");
        for (size_t k = 0; k < d->ntasks; k++) {
            long t = cell[i * d->ntasks + k];
            if (k) sl_buf_put_u8(b, ',');
            if (t < 0) {
                sl_buf_append_str(b, "null");
                continue;
            }
            const char *st = sl_meta_cell(&tr, (size_t)t, 2);
            sl_buf_put_u8(b, '{');
            j_field_str(b, "state", st ? st : "none", true);
            j_field_int(b, "try_number", sl_meta_cell_i64(&tr, (size_t)t, 3, 0));
            j_field_int(b, "max_tries", sl_meta_cell_i64(&tr, (size_t)t, 4, 0));
            j_field_iso(b, "start_date", &tr, (size_t)t, 5);
            j_field_iso(b, "end_date", &tr, (size_t)t, 6);
            sl_buf_put_u8(b, '}');
        }
        sl_buf_put_u8(b, ']');
    }
    sl_buf_append_str(b, "]}");
    sl_free(cell);
    sl_meta_rows_free(&rr);
    sl_meta_rows_free(&tr);
    sl_meta_rows_free(&dr);
    sl_meta_rows_free(&nr);
    return;
fail:
    sl_meta_rows_free(&rr);
    sl_meta_rows_free(&tr);
    sl_meta_rows_free(&dr);
    sl_meta_rows_free(&nr);
    db_error(resp, m);
}
