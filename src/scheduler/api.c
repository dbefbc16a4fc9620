/* api.c: the REST API of api.h. One handler per method takes the path apart into segments after
 * /api/v1/ and dispatches through a table of (method, shape) entries. JSON is built and parsed
 * with jansson; errors are Airflow's problem documents {"detail","status","title","type"}. */
#include "scheduler/api.h"
#include "core/log.h"
#include "scheduler/executor.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define API_PREFIX    "/api/v1/"
#define API_MAX_SEGS  9
#define API_MAX_LIMIT 10000
#define API_MAX_LOG   (16 << 20) /* bytes of a try's log returned at most (its head) */

typedef struct call {
    sl_http_req *req;
    sl_http_resp *resp;
    sl_sched *s;
    sl_meta *m;
    char *path; /* owned copy that segs point into */
    char *segs[API_MAX_SEGS];
    int nsegs;
} call;

static void send_json(call *c, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    c->resp->status = status;
    if (text) sl_buf_append(&c->resp->body, text, strlen(text));
    free(text);
}

static void problem(call *c, int status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Airflow's error body: type names the section of its API reference for the status. */
static void problem(call *c, int status, const char *title, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *kind = status == 404   ? "NotFound"
                       : status == 409 ? "AlreadyExists"
                       : status == 400 ? "BadRequest"
                       : status == 405 ? "MethodNotAllowed"
                                       : "Unknown";
    char type[160];
    snprintf(type, sizeof type,
             "https://airflow.apache.org/docs/apache-airflow/stable/"
             "stable-rest-api-ref.html#section/Errors/%s",
             kind);
    send_json(c, status,
              json_pack("{s:s, s:i, s:s, s:s}", "detail", detail, "status", status, "title", title,
                        "type", type));
}

static void db_error(call *c)
{
    SL_ERROR("api", "metadata: %s", sl_meta_error(c->m));
    problem(c, 500, "Internal error", "the metadata store failed");
}

static json_t *iso_json(int64_t ms)
{
    char iso[64];
    sl_sched_iso(ms, iso, sizeof iso);
    return json_string(iso);
}

/* A cell holding epoch ms as an ISO date, or null. */
static json_t *cell_iso(const sl_meta_rows *r, size_t row, size_t col)
{
    const char *v = sl_meta_cell(r, row, col);
    return v ? iso_json(strtoll(v, NULL, 10)) : json_null();
}

static json_t *cell_str(const sl_meta_rows *r, size_t row, size_t col)
{
    const char *v = sl_meta_cell(r, row, col);
    return v ? json_string(v) : json_null();
}

/* limit and offset query arguments as Airflow takes them (limit default 100). */
static bool paging(call *c, int64_t *limit, int64_t *offset)
{
    const char *names[2] = {"limit", "offset"};
    int64_t *outs[2] = {limit, offset};
    *limit = 100;
    *offset = 0;
    for (int i = 0; i < 2; i++) {
        const char *v = sl_http_req_arg(c->req, names[i]);
        if (!v) continue;
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < 0 || (i == 0 && (n < 1 || n > API_MAX_LIMIT))) {
            problem(c, 400, "Bad Request", "%s: \"%s\" is not valid (limit 1..%d, offset >= 0)",
                    names[i], v, API_MAX_LIMIT);
            return false;
        }
        *outs[i] = n;
    }
    return true;
}

static const sl_dag *find_dag(call *c, const char *id)
{
    const sl_dag *d = sl_dagset_find(sl_sched_dags(c->s), id);
    if (!d) problem(c, 404, "DAG not found", "DAG with dag_id: '%s' not found", id);
    return d;
}

/* -1 on a store failure (already answered), else 0/1. */
static int dag_paused(call *c, const char *id)
{
    sl_meta_rows r;
    const char *p[] = {id};
    if (sl_meta_exec(c->m, "SELECT is_paused FROM dag WHERE dag_id = $1", 1, p, &r)) {
        db_error(c);
        return -1;
    }
    int paused = r.nrows ? sl_meta_cell_i64(&r, 0, 0, 0) != 0 : 0;
    sl_meta_rows_free(&r);
    return paused;
}

static json_t *dag_json(const sl_dag *d, bool paused)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < d->ntags; i++)
        json_array_append_new(tags, json_pack("{s:s}", "name", d->tags[i]));
    json_t *sched = d->schedule ? json_pack("{s:s, s:s}", "__type", "CronExpression", "value",
                                            sl_cron_text(d->schedule))
                                : json_null();
    json_t *j =
        json_pack("{s:s, s:s?, s:b, s:b, s:b, s:s?, s:o, s:o, s:s?, s:i, s:b, s:s, s:o}", "dag_id",
                  d->id, "description", d->description, "is_paused", paused, "is_active", 1,
                  "is_subdag", 0, "fileloc", d->file, "tags", tags, "schedule_interval", sched,
                  "timetable_description", d->schedule ? sl_cron_text(d->schedule) : NULL,
                  "max_active_runs", d->max_active_runs, "catchup", d->catchup, "timezone",
                  d->timezone ? d->timezone : "UTC", "owners", json_array());
    json_object_set_new(j, "start_date",
                        d->start_date_ms ? iso_json(d->start_date_ms) : json_null());
    json_object_set_new(j, "end_date", d->end_date_ms ? iso_json(d->end_date_ms) : json_null());
    return j;
}

static void get_health(call *c)
{
    int v = sl_meta_version(c->m);
    int64_t hb = sl_sched_last_heartbeat(c->s);
    bool sched_ok = hb > 0 && sl_now_ms() - hb < 30000;
    json_t *j = json_pack("{s:{s:s}, s:{s:s, s:o}}", "metadatabase", "status",
                          v > 0 ? "healthy" : "unhealthy", "scheduler", "status",
                          sched_ok ? "healthy" : "unhealthy", "latest_scheduler_heartbeat",
                          hb > 0 ? iso_json(hb) : json_null());
    send_json(c, v > 0 ? 200 : 503, j);
}

static void get_dags(call *c)
{
    int64_t limit, offset;
    if (!paging(c, &limit, &offset)) return;
    const char *pf = sl_http_req_arg(c->req, "paused");
    if (pf && strcmp(pf, "true") && strcmp(pf, "false")) {
        problem(c, 400, "Bad Request", "paused: expected true or false, got \"%s\"", pf);
        return;
    }
    const sl_dagset *set = sl_sched_dags(c->s);
    json_t *list = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < set->n; i++) {
        int paused = dag_paused(c, set->dags[i].id);
        if (paused < 0) {
            json_decref(list);
            return;
        }
        if (pf && paused != (strcmp(pf, "true") == 0)) continue;
        if (total++ >= offset && (int64_t)json_array_size(list) < limit)
            json_array_append_new(list, dag_json(&set->dags[i], paused));
    }
    send_json(c, 200, json_pack("{s:o, s:I}", "dags", list, "total_entries", (json_int_t)total));
}

static void get_dag(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d) return;
    int paused = dag_paused(c, d->id);
    if (paused >= 0) send_json(c, 200, dag_json(d, paused));
}

/* Parses the body as a JSON object, or answers 400. */
static json_t *body_object(call *c)
{
    sl_slice b = sl_http_req_body(c->req);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &je);
    if (!j || !json_is_object(j)) {
        if (j)
            problem(c, 400, "Bad Request", "the body must be a JSON object");
        else
            problem(c, 400, "Bad Request", "the body is not JSON: %s (line %d, column %d)", je.text,
                    je.line, je.column);
        json_decref(j);
        return NULL;
    }
    return j;
}

static void patch_dag(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d) return;
    json_t *j = body_object(c);
    if (!j) return;
    json_t *p = json_object_get(j, "is_paused");
    const char *mask = sl_http_req_arg(c->req, "update_mask");
    if (mask && strcmp(mask, "is_paused") != 0) {
        problem(c, 400, "Bad Request", "update_mask: only is_paused can be updated");
    } else if (!json_is_boolean(p)) {
        problem(c, 400, "Bad Request", "is_paused: expected true or false");
    } else {
        const char *params[] = {d->id, json_is_true(p) ? "1" : "0"};
        /* the scheduler registers every DAG at open; the insert covers a store shared with an
         * older scheduler that has not */
        int rc = sl_meta_begin(c->m);
        if (!rc)
            rc = sl_meta_exec(c->m,
                              "INSERT INTO dag (dag_id, is_paused) VALUES ($1, 0)"
                              " ON CONFLICT DO NOTHING",
                              1, params, NULL);
        if (!rc)
            rc = sl_meta_exec(c->m, "UPDATE dag SET is_paused = $2 WHERE dag_id = $1", 2, params,
                              NULL);
        if (!rc) rc = sl_meta_commit(c->m);
        if (rc) {
            sl_meta_rollback(c->m);
            db_error(c);
        } else {
            SL_INFO("api", "dag %s %s", d->id, json_is_true(p) ? "paused" : "unpaused");
            sl_sched_wake(c->s);
            send_json(c, 200, dag_json(d, json_is_true(p)));
        }
    }
    json_decref(j);
}

#define RUN_COLS                                                                                   \
    "run_id, run_type, state, logical_ms, interval_start_ms, interval_end_ms, conf, queued_ms,"    \
    " start_ms, end_ms"

static void put_key(sl_buf *b, const char *key)
{
    sl_http_json_str(b, key, strlen(key));
    sl_buf_append(b, ":", 1);
}

static void put_str(sl_buf *b, const char *key, const char *v)
{
    put_key(b, key);
    if (v)
        sl_http_json_str(b, v, strlen(v));
    else
        sl_buf_append_str(b, "null");
    sl_buf_append(b, ",", 1);
}

/* key: a cell holding epoch ms as an ISO date, or null. */
static void put_iso(sl_buf *b, const char *key, const sl_meta_rows *r, size_t row, size_t col)
{
    char iso[64];
    const char *v = sl_meta_cell(r, row, col);
    if (v) sl_sched_iso(strtoll(v, NULL, 10), iso, sizeof iso);
    put_str(b, key, v ? iso : NULL);
}

/* A run, written straight into b: a page of a thousand runs as a tree of JSON values took most
 * of the answer's time and a few MB at its peak. */
static void run_write(sl_buf *b, const char *dag_id, const sl_meta_rows *r, size_t i)
{
    const char *type = sl_meta_cell(r, i, 1), *conf = sl_meta_cell(r, i, 6);
    sl_buf_append(b, "{", 1);
    put_str(b, "dag_id", dag_id);
    put_str(b, "dag_run_id", sl_meta_cell(r, i, 0));
    put_str(b, "run_type", type);
    put_str(b, "state", sl_meta_cell(r, i, 2));
    put_iso(b, "logical_date", r, i, 3);
    put_iso(b, "execution_date", r, i, 3);
    put_iso(b, "data_interval_start", r, i, 4);
    put_iso(b, "data_interval_end", r, i, 5);
    put_iso(b, "queued_at", r, i, 7);
    put_iso(b, "start_date", r, i, 8);
    put_iso(b, "end_date", r, i, 9);
    put_key(b, "external_trigger");
    sl_buf_append_str(b, type && strcmp(type, "scheduled") != 0 ? "true," : "false,");
    sl_buf_append_str(b, "\"note\":null,\"last_scheduling_decision\":null,");
    /* conf is stored as the scheduler's compact dump of an object; anything else shows as {} */
    json_t *cj = conf ? json_loads(conf, 0, NULL) : NULL;
    put_key(b, "conf");
    sl_buf_append_str(b, json_is_object(cj) ? conf : "{}");
    json_decref(cj);
    sl_buf_append(b, "}", 1);
}

static void get_runs(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    int64_t limit, offset;
    if (!d || !paging(c, &limit, &offset)) return;
    const char *state = sl_http_req_arg(c->req, "state");
    const char *p[] = {d->id, state};
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT " RUN_COLS " FROM dag_run WHERE dag_id = $1%s ORDER BY logical_ms, run_id"
             " LIMIT %" PRId64 " OFFSET %" PRId64,
             state ? " AND state = $2" : "", limit, offset);
    sl_meta_rows r, n;
    if (sl_meta_exec(c->m, sql, state ? 2 : 1, p, &r)) {
        db_error(c);
        return;
    }
    if (sl_meta_exec(c->m,
                     state ? "SELECT count(*) FROM dag_run WHERE dag_id = $1 AND state = $2"
                           : "SELECT count(*) FROM dag_run WHERE dag_id = $1",
                     state ? 2 : 1, p, &n)) {
        sl_meta_rows_free(&r);
        db_error(c);
        return;
    }
    sl_buf *b = &c->resp->body;
    c->resp->status = 200;
    sl_buf_append_str(b, "{\"dag_runs\":[");
    for (size_t i = 0; i < r.nrows; i++) {
        if (i) sl_buf_append(b, ",", 1);
        run_write(b, d->id, &r, i);
    }
    char tail[64];
    snprintf(tail, sizeof tail, "],\"total_entries\":%" PRId64 "}", sl_meta_cell_i64(&n, 0, 0, 0));
    sl_buf_append_str(b, tail);
    sl_meta_rows_free(&r);
    sl_meta_rows_free(&n);
}

/* Answers with the run, or 404; returns whether it exists. */
static bool send_run(call *c, const char *dag_id, const char *run_id, bool send)
{
    sl_meta_rows r;
    const char *p[] = {dag_id, run_id};
    if (sl_meta_exec(c->m, "SELECT " RUN_COLS " FROM dag_run WHERE dag_id = $1 AND run_id = $2", 2,
                     p, &r)) {
        db_error(c);
        return false;
    }
    bool found = r.nrows == 1;
    if (!found)
        problem(c, 404, "DAGRun not found",
                "DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found", dag_id, run_id);
    else if (send) {
        c->resp->status = 200;
        run_write(&c->resp->body, dag_id, &r, 0);
    }
    sl_meta_rows_free(&r);
    return found;
}

static void get_run(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (d) send_run(c, d->id, c->segs[3], true);
}

static void post_run(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d) return;
    json_t *j = body_object(c);
    if (!j) return;
    json_t *conf = json_object_get(j, "conf");
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "conf") != 0 && strcmp(key, "note") != 0) {
            problem(c, 400, "Bad Request",
                    "%s: not supported (a manual run takes conf; its id and logical date are "
                    "the trigger time)",
                    key);
            json_decref(j);
            return;
        }
    }
    if (conf && !json_is_object(conf) && !json_is_null(conf)) {
        problem(c, 400, "Bad Request", "conf: expected a JSON object");
        json_decref(j);
        return;
    }
    char *text = conf && json_is_object(conf) ? json_dumps(conf, JSON_COMPACT) : NULL;
    char run_id[128];
    int rc = sl_sched_trigger(c->s, d->id, text, run_id, sizeof run_id);
    free(text);
    json_decref(j);
    if (rc == SL_ERR_EXISTS)
        problem(c, 409, "DAGRun already exists", "a run of %s was triggered in the same instant",
                d->id);
    else if (rc == SL_ERR_INVAL)
        problem(c, 400, "Bad Request", "conf: expected a JSON object");
    else if (rc)
        problem(c, 500, "Internal error", "trigger failed: %s", sl_strerror(rc));
    else
        send_run(c, d->id, run_id, true);
}

#define TI_COLS                                                                                    \
    "ti.task_id, ti.state, ti.try_number, ti.max_tries, ti.pool, ti.start_ms, ti.end_ms,"          \
    " ti.hostname, ti.pid, ti.next_try_ms, r.logical_ms"

static json_t *ti_json(const sl_dag *d, const char *run_id, const sl_meta_rows *r, size_t i)
{
    const char *task_id = sl_meta_cell(r, i, 0);
    const sl_task *t = sl_dag_task(d, task_id);
    const char *state = sl_meta_cell(r, i, 1);
    const char *s0 = sl_meta_cell(r, i, 5), *s1 = sl_meta_cell(r, i, 6);
    json_t *dur = s0 && s1
                      ? json_real((double)(strtoll(s1, NULL, 10) - strtoll(s0, NULL, 10)) / 1000.0)
                      : json_null();
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:i, s:s, s:i, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, "
        "s:i, s:n}",
        "task_id", task_id, "dag_id", d->id, "dag_run_id", run_id, "state",
        state && strcmp(state, "none") != 0 ? json_string(state) : json_null(), "try_number",
        (json_int_t)sl_meta_cell_i64(r, i, 2, 0), "max_tries",
        (json_int_t)sl_meta_cell_i64(r, i, 3, 0), "pool", cell_str(r, i, 4), "pool_slots", 1,
        "queue", "default", "priority_weight", 1, "operator", t ? t->type : NULL, "start_date",
        cell_iso(r, i, 5), "end_date", cell_iso(r, i, 6), "duration", dur, "hostname",
        cell_str(r, i, 7), "execution_date", cell_iso(r, i, 10), "next_retry_date",
        state && strcmp(state, "up_for_retry") == 0 ? cell_iso(r, i, 9) : json_null(), "map_index",
        -1, "note");
    const char *pid = sl_meta_cell(r, i, 8);
    json_object_set_new(j, "pid", pid ? json_integer(strtoll(pid, NULL, 10)) : json_null());
    return j;
}

static void get_tis(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d || !send_run(c, d->id, c->segs[3], false)) return;
    const char *task = c->nsegs == 6 ? c->segs[5] : NULL;
    if (task && !sl_dag_task(d, task)) {
        problem(c, 404, "Task not found", "Task with task_id: '%s' not found in DAG '%s'", task,
                d->id);
        return;
    }
    const char *p[] = {d->id, c->segs[3], task};
    sl_meta_rows r;
    if (sl_meta_exec(c->m,
                     task ? "SELECT " TI_COLS " FROM task_instance ti JOIN dag_run r ON"
                            " r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id = $1"
                            " AND ti.run_id = $2 AND ti.task_id = $3"
                          : "SELECT " TI_COLS " FROM task_instance ti JOIN dag_run r ON"
                            " r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id = $1"
                            " AND ti.run_id = $2 ORDER BY ti.task_id",
                     task ? 3 : 2, p, &r)) {
        db_error(c);
        return;
    }
    if (task) {
        if (r.nrows == 1)
            send_json(c, 200, ti_json(d, c->segs[3], &r, 0));
        else
            problem(c, 404, "Task instance not found", "no instance of %s in run %s", task,
                    c->segs[3]);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < r.nrows; i++)
            json_array_append_new(list, ti_json(d, c->segs[3], &r, i));
        send_json(
            c, 200,
            json_pack("{s:o, s:I}", "task_instances", list, "total_entries", (json_int_t)r.nrows));
    }
    sl_meta_rows_free(&r);
}

static void get_log(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d || !send_run(c, d->id, c->segs[3], false)) return;
    const char *task = c->segs[5], *trys = c->segs[7];
    char *end;
    errno = 0;
    long try_no = strtol(trys, &end, 10);
    if (errno || end == trys || *end || try_no < 1 || try_no > 100000) {
        problem(c, 400, "Bad Request", "try number \"%s\" is not a whole number >= 1", trys);
        return;
    }
    if (!sl_dag_task(d, task)) {
        problem(c, 404, "Task not found", "Task with task_id: '%s' not found in DAG '%s'", task,
                d->id);
        return;
    }
    const char *p[] = {d->id, c->segs[3], task, trys};
    sl_meta_rows r;
    if (sl_meta_exec(c->m,
                     "SELECT log_path FROM task_try WHERE dag_id = $1 AND run_id = $2 AND"
                     " task_id = $3 AND try_number = $4",
                     4, p, &r)) {
        db_error(c);
        return;
    }
    char path[4096] = "";
    bool found = r.nrows == 1;
    if (found && sl_meta_cell(&r, 0, 0))
        snprintf(path, sizeof path, "%s", sl_meta_cell(&r, 0, 0));
    else if (found)
        sl_exec_log_path(sl_sched_data_dir(c->s), d->id, c->segs[3], task, (int)try_no, path,
                         sizeof path);
    sl_meta_rows_free(&r);
    if (!found) {
        problem(c, 404, "Task try not found", "task %s of run %s has no try %ld", task, c->segs[3],
                try_no);
        return;
    }
    sl_buf text = {0};
    FILE *f = fopen(path, "rb");
    if (f) {
        char chunk[65536];
        size_t n;
        while (text.len < API_MAX_LOG && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
            sl_buf_append(&text, chunk, SL_MIN(n, API_MAX_LOG - text.len));
        fclose(f);
    }
    const char *accept = sl_http_req_header(c->req, "Accept");
    if (accept && strstr(accept, "text/plain")) {
        c->resp->status = 200;
        c->resp->content_type = "text/plain; charset=utf-8";
        sl_buf_append(&c->resp->body, text.ptr, text.len);
    } else {
        json_t *content = json_stringn_nocheck((const char *)text.ptr, text.len);
        send_json(c, 200,
                  json_pack("{s:o, s:n}", "content", content ? content : json_string(""),
                            "continuation_token"));
    }
    sl_buf_free(&text);
}

/* Checks a clearTaskInstances body (answering 400/404 when it is wrong). */
static bool clear_body_ok(call *c, const sl_dag *d, json_t *j)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "dag_run_id") && strcmp(key, "task_ids") &&
            strcmp(key, "include_downstream") && strcmp(key, "dry_run")) {
            problem(c, 400, "Bad Request",
                    "%s: not supported (dag_run_id, task_ids, include_downstream and dry_run are)",
                    key);
            return false;
        }
    }
    json_t *ids = json_object_get(j, "task_ids"), *down = json_object_get(j, "include_downstream");
    if (!json_is_string(json_object_get(j, "dag_run_id"))) {
        problem(c, 400, "Bad Request", "dag_run_id: required, a string");
        return false;
    }
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        problem(c, 400, "Bad Request", "task_ids: expected a non-empty list of task ids");
        return false;
    }
    if (down && !json_is_boolean(down)) {
        problem(c, 400, "Bad Request", "include_downstream: expected true or false");
        return false;
    }
    if (!json_is_false(json_object_get(j, "dry_run"))) {
        problem(c, 400, "Bad Request",
                "dry_run: must be false (Airflow's default is true; only clearing is supported)");
        return false;
    }
    size_t k;
    json_array_foreach(ids, k, v)
    {
        if (!json_is_string(v)) {
            problem(c, 400, "Bad Request", "task_ids: expected a non-empty list of task ids");
            return false;
        }
        if (!sl_dag_task(d, json_string_value(v))) {
            problem(c, 404, "Task not found", "Task with task_id: '%s' not found in DAG '%s'",
                    json_string_value(v), d->id);
            return false;
        }
    }
    return true;
}

/* Airflow's POST /dags/{id}/clearTaskInstances for one run: {"dag_run_id", "task_ids",
 * "include_downstream", "dry_run": false}. Answers the instances cleared. */
static void post_clear(call *c)
{
    const sl_dag *d = find_dag(c, c->segs[1]);
    if (!d) return;
    json_t *j = body_object(c);
    if (!j) return;
    const char *run_id = json_string_value(json_object_get(j, "dag_run_id"));
    if (clear_body_ok(c, d, j) && send_run(c, d->id, run_id, false)) {
        json_t *ids = json_object_get(j, "task_ids"), *v;
        bool down = json_is_true(json_object_get(j, "include_downstream"));
        bool *all = sl_calloc(d->ntasks, sizeof *all), *one = sl_calloc(d->ntasks, sizeof *one);
        int rc = 0;
        size_t k;
        json_array_foreach(ids, k, v)
        {
            rc = sl_sched_clear(c->s, d->id, run_id, json_string_value(v), down, one);
            if (rc < 0) break;
            for (size_t i = 0; i < d->ntasks; i++)
                all[i] |= one[i];
        }
        if (rc == -EBUSY) {
            problem(c, 409, "Task instance is running",
                    "%s of run %s is queued or running: it can be cleared once it is done",
                    json_string_value(v), run_id);
        } else if (rc < 0) {
            db_error(c);
        } else {
            json_t *list = json_array();
            for (size_t i = 0; i < d->ntasks; i++)
                if (all[i])
                    json_array_append_new(list,
                                          json_pack("{s:s, s:s, s:s}", "task_id", d->tasks[i].id,
                                                    "dag_id", d->id, "dag_run_id", run_id));
            send_json(c, 200, json_pack("{s:o}", "task_instances", list));
        }
        sl_free(all);
        sl_free(one);
    }
    json_decref(j);
}

/* Airflow 3's POST /backfills body: {"dag_id", "from_date", "to_date", "dag_run_conf"}. */
static void post_backfill(call *c)
{
    json_t *j = body_object(c);
    if (!j) return;
    const char *dag_id = json_string_value(json_object_get(j, "dag_id"));
    const char *from = json_string_value(json_object_get(j, "from_date"));
    const char *to = json_string_value(json_object_get(j, "to_date"));
    json_t *conf = json_object_get(j, "dag_run_conf");
    const sl_dag *d = NULL;
    int64_t from_ms, to_ms;
    if (!dag_id || !from || !to) {
        problem(c, 400, "Bad Request", "dag_id, from_date and to_date are required strings");
    } else if (conf && !json_is_object(conf) && !json_is_null(conf)) {
        problem(c, 400, "Bad Request", "dag_run_conf: expected a JSON object");
    } else if ((d = find_dag(c, dag_id)) == NULL) {
        /* answered */
    } else if (sl_dag_parse_date(from, d->timezone, &from_ms) ||
               sl_dag_parse_date(to, d->timezone, &to_ms)) {
        problem(c, 400, "Bad Request", "from_date/to_date: not dates (\"2024-01-31\")");
    } else if (from_ms > to_ms) {
        problem(c, 400, "Bad Request", "from_date is after to_date");
    } else {
        char *text = json_is_object(conf) ? json_dumps(conf, JSON_COMPACT) : NULL;
        int created = 0;
        int rc = sl_sched_backfill(c->s, d->id, from_ms, to_ms, text, &created);
        free(text);
        if (rc == SL_ERR_INVAL)
            problem(c, 400, "Bad Request", "%s has no repeating schedule to backfill", d->id);
        else if (rc == SL_ERR_LIMIT)
            problem(c, 400, "Bad Request", "more than %d intervals in that range",
                    SL_SCHED_MAX_BACKFILL);
        else if (rc)
            db_error(c);
        else
            send_json(c, 200,
                      json_pack("{s:s, s:o, s:o, s:O, s:i}", "dag_id", d->id, "from_date",
                                iso_json(from_ms), "to_date", iso_json(to_ms), "dag_run_conf",
                                conf && json_is_object(conf) ? conf : json_null(), "created_runs",
                                created));
    }
    json_decref(j);
}

typedef struct api_route {
    const char *method;
    const char *shape[API_MAX_SEGS]; /* segment literals; "*" is a parameter */
    int nsegs;
    void (*fn)(call *c);
} api_route;

static const api_route api_table[] = {
    {"GET", {"health"}, 1, get_health},
    {"GET", {"dags"}, 1, get_dags},
    {"POST", {"backfills"}, 1, post_backfill},
    {"GET", {"dags", "*"}, 2, get_dag},
    {"PATCH", {"dags", "*"}, 2, patch_dag},
    {"POST", {"dags", "*", "clearTaskInstances"}, 3, post_clear},
    {"GET", {"dags", "*", "dagRuns"}, 3, get_runs},
    {"POST", {"dags", "*", "dagRuns"}, 3, post_run},
    {"GET", {"dags", "*", "dagRuns", "*"}, 4, get_run},
    {"GET", {"dags", "*", "dagRuns", "*", "taskInstances"}, 5, get_tis},
    {"GET", {"dags", "*", "dagRuns", "*", "taskInstances", "*"}, 6, get_tis},
    {"GET", {"dags", "*", "dagRuns", "*", "taskInstances", "*", "logs", "*"}, 8, get_log},
};

static bool shape_matches(const api_route *r, const call *c)
{
    if (r->nsegs != c->nsegs) return false;
    for (int i = 0; i < r->nsegs; i++)
        if (strcmp(r->shape[i], "*") != 0 && strcmp(r->shape[i], c->segs[i]) != 0) return false;
    return true;
}

static void on_api(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    call c = {.req = req, .resp = resp, .s = arg};
    c.m = sl_sched_meta(c.s);
    const char *path = sl_http_req_path(req);
    const char *method = sl_http_req_method(req);
    if (strcmp(method, "HEAD") == 0) method = "GET";
    c.path = sl_strdup(path + strlen(API_PREFIX));
    size_t len = strlen(c.path);
    if (len && c.path[len - 1] == '/') c.path[len - 1] = 0;
    for (char *p = c.path, *slash; p; p = slash ? slash + 1 : NULL) {
        slash = strchr(p, '/');
        if (slash) *slash = 0;
        if (c.nsegs == API_MAX_SEGS || !*p) {
            c.nsegs = -1;
            break;
        }
        c.segs[c.nsegs++] = p;
    }
    bool path_known = false;
    for (size_t i = 0; c.nsegs > 0 && i < SL_ARRAY_LEN(api_table); i++) {
        if (!shape_matches(&api_table[i], &c)) continue;
        path_known = true;
        if (strcmp(api_table[i].method, method) != 0) continue;
        api_table[i].fn(&c);
        sl_free(c.path);
        return;
    }
    if (path_known)
        problem(&c, 405, "Method Not Allowed", "%s is not allowed on %s", method, path);
    else
        problem(&c, 404, "Not Found", "no such endpoint: %s", path);
    sl_free(c.path);
}

const sl_http_route sl_api_routes[] = {
    {NULL, API_PREFIX "*", on_api},
    {"POST", API_PREFIX "*", on_api},
    {"PATCH", API_PREFIX "*", on_api},
    {NULL, NULL, NULL},
};
