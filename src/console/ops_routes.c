/* ops_routes.c: the DAGs, Tables and Schemas pages' /api/ routes, the scheduler's REST under
 * /api/v1/, and the metadata connection they share.
 *
 * The console reads and writes the scheduler's metadata itself rather than calling the
 * scheduler over HTTP: one source of truth, and /api/v1/ stays up while the scheduler restarts.
 * Its handlers run on the loop thread, like the scheduler's own API on the scheduler's loop:
 * a SQLite read in WAL mode never waits for the writer, and a write waits at most for one
 * scheduler transaction. */
#include "console/ops_int.h"

#include "core/log.h"
#include "scheduler/api.h"

#include <stdio.h>
#include <string.h>

/* What the ops modules hold for one console: its metadata connection, the DAG files and the
 * API-only scheduler over both. One console per process, so one slot. */
typedef struct ops_state {
    sl_console *console;
    sl_meta *meta;
    sl_dagset dags;
    sl_sched *sched;
    char *data_dir; /* the scheduler's, for try logs (the store's log_path normally names them) */
} ops_state;

static ops_state *g_ops;

void sl__ops_send(sl_http_resp *resp, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp->status = status;
    resp->content_type = "application/json";
    sl_buf_reset(&resp->body);
    if (text) sl_buf_append(&resp->body, text, strlen(text));
    free(text);
}

json_t *sl__ops_body(sl_http_req *req, sl_http_resp *resp)
{
    sl_slice b = sl_http_req_body(req);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &je);
    if (j && json_is_object(j)) return j;
    char msg[300];
    if (j)
        snprintf(msg, sizeof msg, "the body must be a JSON object");
    else
        snprintf(msg, sizeof msg, "the body is not JSON: %s (line %d, column %d)", je.text, je.line,
                 je.column);
    json_decref(j);
    sl_http_resp_error(resp, 400, msg);
    return NULL;
}

json_t *sl__ops_iso(int64_t ms)
{
    if (ms == INT64_MIN) return json_null();
    char iso[64];
    sl_sched_iso(ms, iso, sizeof iso);
    return json_string(iso);
}

/* The scheduler's data dir: the directory of a sqlite: store (where `sluice scheduler` keeps
 * both), else the console's own. */
static char *sched_data_dir(sl_console *c)
{
    const char *url = sl_console_metadata(c);
    if (url && strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7, *slash = strrchr(path, '/');
        if (slash) return sl_strndup(path, (size_t)(slash - path));
        return sl_strdup(".");
    }
    return sl_strdup(sl_console_data_dir(c));
}

/* The built-in user_automation is listed when the scheduler registered it, or before any
 * scheduler has registered anything (it then has it unless started with --default-dag=false). */
static void add_default_dag(ops_state *o)
{
    sl_meta_rows r;
    if (sl_meta_exec(o->meta,
                     "SELECT count(*), sum(CASE WHEN dag_id = 'user_automation' THEN 1 ELSE 0 END)"
                     " FROM dag",
                     0, NULL, &r))
        return;
    bool want = sl_meta_cell_i64(&r, 0, 0, 0) == 0 || sl_meta_cell_i64(&r, 0, 1, 0) > 0;
    sl_meta_rows_free(&r);
    if (want) sl_dag_add_default(&o->dags);
}

static void ops_free(ops_state *o)
{
    if (!o) return;
    sl_sched_close(o->sched);
    sl_meta_close(o->meta);
    sl_dagset_free(&o->dags);
    sl_free(o->data_dir);
    sl_free(o);
}

sl_sched *sl__ops_sched(sl_console *c, sl_http_resp *resp)
{
    if (g_ops && g_ops->console == c) return g_ops->sched;
    ops_free(g_ops);
    g_ops = NULL;
    ops_state *o = sl_calloc(1, sizeof *o);
    o->console = c;
    char err[512] = "";
    const char *url = sl_console_metadata(c);
    if (sl_meta_open(url, &o->meta, err, sizeof err)) {
        SL_WARN("console", "scheduler metadata %s: %s", sl_meta_url_redacted(url), err);
        char msg[700];
        snprintf(msg, sizeof msg, "the scheduler's metadata (%s) cannot be opened: %s",
                 sl_meta_url_redacted(url), err);
        sl_http_resp_error(resp, 503, msg);
        sl_free(o);
        return NULL;
    }
    const char *dags = sl_console_dags(c);
    if (dags) {
        sl_errs errs = {0};
        sl_dag_load_path(&o->dags, dags, &errs);
        for (size_t i = 0; i < errs.n; i++)
            SL_WARN("console", "%s", errs.msgs[i]);
        sl_errs_free(&errs);
    }
    add_default_dag(o);
    o->data_dir = sched_data_dir(c);
    sl_sched_open_api(o->meta, &o->dags, o->data_dir, &o->sched);
    SL_INFO("console", "scheduler metadata %s, %zu DAG(s)", sl_meta_url_redacted(url), o->dags.n);
    g_ops = o;
    return o->sched;
}

void sl_console_ops_close(sl_console *c)
{
    if (!g_ops || g_ops->console != c) return;
    ops_free(g_ops);
    g_ops = NULL;
}

/* /api/v1/...: the scheduler's REST (api.c) over the console's API-only handle, so it answers
 * behind the console's users. */
static void ops_v1(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_sched *s = sl__ops_sched(arg, resp);
    if (s && sl_http_route_run(sl_api_routes, req, resp, s) == 0)
        sl_http_resp_error(resp, 405, "method not allowed");
}

const sl_http_route sl_console_ops_routes[] = {
    {NULL, "/api/v1/*", ops_v1},
    {"POST", "/api/v1/*", ops_v1},
    {"PATCH", "/api/v1/*", ops_v1},
    {NULL, "/api/dags", sl__ops_dags},
    {NULL, "/api/dags/*", sl__ops_dag_grid},
    {NULL, "/api/cql/schema", sl__ops_cql_schema},
    {"POST", "/api/cql/query", sl__ops_cql_query},
    {NULL, "/api/schemas", sl__ops_schemas},
    {NULL, "/api/schemas/*", sl__ops_schemas},
    {"POST", "/api/schemas/*", sl__ops_schemas_post},
    {"PUT", "/api/schemas/*", sl__ops_schemas_put},
    {NULL, NULL, NULL},
};
