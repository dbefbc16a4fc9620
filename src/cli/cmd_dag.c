/* cmd_dag.c: `sluice dag`, the scheduler's command line. Every verb but `test` is a call to a
 * running scheduler's REST API (api.h) with libcurl; `test` loads the DAG and runs one task here
 * and now with its log on stdout, recording nothing.
 *
 * Exit status: 0 success, 1 the call or the task failed (the API's detail on stderr), 2 usage. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/buf.h"
#include "core/log.h"
#include "scheduler/dag.h"
#include "scheduler/tasks.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE                                                                                      \
    "dag list | trigger DAG [--conf JSON] | runs DAG | tasks DAG RUN | logs DAG RUN TASK "         \
    "[--try N] | pause DAG | unpause DAG | backfill DAG --from D --to D | test DAG TASK [--dags "  \
    "DIR|FILE] [--conf JSON] "                                                                     \
    "[--date D]  [--scheduler URL] [--user NAME]"

typedef struct dag_opts {
    char *scheduler, *user, *conf, *dags, *date, *from, *to, *log_level;
    int64_t try_number;
} dag_opts;

#define O(f) offsetof(dag_opts, f)
static const sl_opt dag_opts_tbl[] = {
    {"scheduler", SL_OPT_STR, "http://127.0.0.1:8080", O(scheduler),
     "the scheduler's API (its --listen), or the console's (sluice up's, behind its users)", NULL,
     0, 0},
    {"user", SL_OPT_STR, NULL, O(user),
     "a console user for basic auth; the password is read from $SLUICE_PASSWORD", NULL, 0, 0},
    {"conf", SL_OPT_STR, NULL, O(conf), "trigger, test: the run's conf, a JSON object", NULL, 0, 0},
    {"try", SL_OPT_INT, "0", O(try_number), "logs: the try (default: the latest)", NULL, 0, 100000},
    {"dags", SL_OPT_STR, NULL, O(dags), "test: DAG file or directory (the built-in DAG is there)",
     NULL, 0, 0},
    {"date", SL_OPT_STR, NULL, O(date),
     "test: the logical date; the run's data interval is the schedule's interval from it "
     "(default: now)",
     NULL, 0, 0},
    {"from", SL_OPT_STR, NULL, O(from), "backfill: the first logical date", NULL, 0, 0},
    {"to", SL_OPT_STR, NULL, O(to), "backfill: the last logical date", NULL, 0, 0},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level), "log level", "error|warn|info|debug|trace", 0,
     0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

typedef struct api_reply {
    long status;
    sl_buf body;
} api_reply;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    sl_buf_append(&((api_reply *)arg)->body, p, sz * n);
    return sz * n;
}

/* One call to the API; returns 0 with the reply, or 1 after printing why it failed. */
static int api_call(const dag_opts *o, const char *method, const char *path, const char *body,
                    const char *accept, api_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    char url[4096];
    size_t bl = strlen(o->scheduler);
    snprintf(url, sizeof url, "%.*s%s", (int)(bl && o->scheduler[bl - 1] == '/' ? bl - 1 : bl),
             o->scheduler, path);
    CURL *c = curl_easy_init();
    if (!c) return 1;
    struct curl_slist *h = NULL;
    char ah[128];
    snprintf(ah, sizeof ah, "Accept: %s", accept ? accept : "application/json");
    h = curl_slist_append(h, ah);
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (o->user) {
        /* the password stays out of argv, where ps would show it */
        const char *pw = getenv("SLUICE_PASSWORD");
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pw ? pw : "");
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        fprintf(stderr, "sluice dag: %s: %s\n", o->scheduler, curl_easy_strerror(cc));
        sl_buf_free(&rep->body);
        return 1;
    }
    if (rep->status >= 300) {
        json_t *j = json_loadb((const char *)rep->body.ptr, rep->body.len, 0, NULL);
        const char *detail = json_string_value(json_object_get(j, "detail"));
        if (!detail) detail = json_string_value(json_object_get(j, "error")); /* the console's */
        fprintf(stderr, "sluice dag: %ld: %s\n", rep->status,
                detail ? detail : "(no detail in the answer)");
        json_decref(j);
        sl_buf_free(&rep->body);
        return 1;
    }
    return 0;
}

static json_t *api_json(const dag_opts *o, const char *method, const char *path, const char *body)
{
    api_reply rep;
    if (api_call(o, method, path, body, NULL, &rep)) return NULL;
    json_error_t je;
    json_t *j = json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je);
    if (!j) fprintf(stderr, "sluice dag: the scheduler's answer is not JSON: %s\n", je.text);
    sl_buf_free(&rep.body);
    return j;
}

/* Percent-encodes a path segment (run ids hold ':' and '+'). */
static char *seg(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *r = sl_strdup(e ? e : "");
    curl_free(e);
    return r;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int do_list(const dag_opts *o)
{
    json_t *j = api_json(o, "GET", "/api/v1/dags?limit=10000", NULL);
    if (!j) return 1;
    printf("%-30s %-7s %-20s %s\n", "dag_id", "paused", "schedule", "description");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "dags"), i, d)
    {
        json_t *sched = json_object_get(d, "schedule_interval");
        printf("%-30s %-7s %-20s %s\n", str(d, "dag_id"),
               json_is_true(json_object_get(d, "is_paused")) ? "yes" : "no",
               sched ? str(sched, "value") : "-", str(d, "description"));
    }
    json_decref(j);
    return 0;
}

static int do_trigger(const dag_opts *o, const char *dag)
{
    json_t *conf = NULL;
    if (o->conf) {
        json_error_t je;
        conf = json_loads(o->conf, 0, &je);
        if (!conf || !json_is_object(conf)) {
            fprintf(stderr, "sluice dag: --conf: not a JSON object%s%s\n", conf ? "" : ": ",
                    conf ? "" : je.text);
            json_decref(conf);
            return 2;
        }
    }
    json_t *body = json_pack("{s:o}", "conf", conf ? conf : json_object());
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *d = seg(dag), path[1024];
    snprintf(path, sizeof path, "/api/v1/dags/%s/dagRuns", d);
    json_t *j = api_json(o, "POST", path, text);
    free(text);
    sl_free(d);
    if (!j) return 1;
    printf("%s\n", str(j, "dag_run_id"));
    json_decref(j);
    return 0;
}

static int do_runs(const dag_opts *o, const char *dag)
{
    char *d = seg(dag), path[1024];
    snprintf(path, sizeof path, "/api/v1/dags/%s/dagRuns?limit=10000", d);
    sl_free(d);
    json_t *j = api_json(o, "GET", path, NULL);
    if (!j) return 1;
    printf("%-45s %-10s %-9s %-25s %-25s %s\n", "dag_run_id", "run_type", "state",
           "data_interval_start", "data_interval_end", "end_date");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "dag_runs"), i, r)
    {
        printf("%-45s %-10s %-9s %-25s %-25s %s\n", str(r, "dag_run_id"), str(r, "run_type"),
               str(r, "state"), str(r, "data_interval_start"), str(r, "data_interval_end"),
               str(r, "end_date"));
    }
    json_decref(j);
    return 0;
}

static int do_tasks(const dag_opts *o, const char *dag, const char *run)
{
    char *d = seg(dag), *r = seg(run), path[2048];
    snprintf(path, sizeof path, "/api/v1/dags/%s/dagRuns/%s/taskInstances", d, r);
    sl_free(d);
    sl_free(r);
    json_t *j = api_json(o, "GET", path, NULL);
    if (!j) return 1;
    printf("%-30s %-16s %-4s %-25s %s\n", "task_id", "state", "try", "start_date", "end_date");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(j, "task_instances"), i, t)
    {
        printf("%-30s %-16s %-4lld %-25s %s\n", str(t, "task_id"), str(t, "state"),
               (long long)json_integer_value(json_object_get(t, "try_number")),
               str(t, "start_date"), str(t, "end_date"));
    }
    json_decref(j);
    return 0;
}

static int do_logs(const dag_opts *o, const char *dag, const char *run, const char *task)
{
    char *d = seg(dag), *r = seg(run), *t = seg(task), path[3072];
    int rc = 1;
    long long try_no = o->try_number;
    if (try_no == 0) {
        snprintf(path, sizeof path, "/api/v1/dags/%s/dagRuns/%s/taskInstances/%s", d, r, t);
        json_t *j = api_json(o, "GET", path, NULL);
        if (!j) goto out;
        try_no = json_integer_value(json_object_get(j, "try_number"));
        json_decref(j);
        if (try_no < 1) {
            fprintf(stderr, "sluice dag: %s has not run yet in %s\n", task, run);
            goto out;
        }
    }
    snprintf(path, sizeof path, "/api/v1/dags/%s/dagRuns/%s/taskInstances/%s/logs/%lld", d, r, t,
             try_no);
    api_reply rep;
    if (api_call(o, "GET", path, NULL, "text/plain", &rep)) goto out;
    fwrite(rep.body.ptr, 1, rep.body.len, stdout);
    sl_buf_free(&rep.body);
    rc = 0;
out:
    sl_free(d);
    sl_free(r);
    sl_free(t);
    return rc;
}

static int do_pause(const dag_opts *o, const char *dag, bool pause)
{
    char *d = seg(dag), path[1024];
    snprintf(path, sizeof path, "/api/v1/dags/%s?update_mask=is_paused", d);
    sl_free(d);
    json_t *j =
        api_json(o, "PATCH", path, pause ? "{\"is_paused\":true}" : "{\"is_paused\":false}");
    if (!j) return 1;
    printf("%s %s\n", str(j, "dag_id"),
           json_is_true(json_object_get(j, "is_paused")) ? "paused" : "unpaused");
    json_decref(j);
    return 0;
}

static int do_backfill(const dag_opts *o, const char *dag)
{
    if (!o->from || !o->to) {
        fprintf(stderr, "sluice dag: backfill needs --from and --to\n");
        return 2;
    }
    json_t *conf = NULL;
    if (o->conf && (!(conf = json_loads(o->conf, 0, NULL)) || !json_is_object(conf))) {
        fprintf(stderr, "sluice dag: --conf: not a JSON object\n");
        json_decref(conf);
        return 2;
    }
    json_t *body = json_pack("{s:s, s:s, s:s, s:o}", "dag_id", dag, "from_date", o->from, "to_date",
                             o->to, "dag_run_conf", conf ? conf : json_object());
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *j = api_json(o, "POST", "/api/v1/backfills", text);
    free(text);
    if (!j) return 1;
    printf("%lld runs created\n",
           (long long)json_integer_value(json_object_get(j, "created_runs")));
    json_decref(j);
    return 0;
}

static volatile int test_cancel;

static void on_test_signal(int sig)
{
    SL_UNUSED(sig);
    test_cancel = 1;
}

/* Runs one task in this process, as a try would, with nothing recorded. */
static int do_test(const dag_opts *o, const char *dag_id, const char *task_id)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    if (o->dags && sl_dag_load_path(&set, o->dags, &errs) < 0) {
        sl_errs_print(&errs, stderr);
        sl_errs_free(&errs);
        return 1;
    }
    sl_errs_print(&errs, stderr);
    sl_errs_free(&errs);
    sl_dag_add_default(&set);
    int rc = 1;
    const sl_dag *d = sl_dagset_find(&set, dag_id);
    const sl_task *t = d ? sl_dag_task(d, task_id) : NULL;
    if (!d || !t) {
        fprintf(stderr, "sluice dag: %s %s not found%s\n", !d ? "DAG" : "task",
                !d ? dag_id : task_id, o->dags ? "" : " (give --dags)");
        goto out;
    }
    int64_t logical = sl_now_ms(), start = logical, end = logical;
    if (o->date && sl_dag_parse_date(o->date, d->timezone, &logical) != 0) {
        fprintf(stderr, "sluice dag: --date: \"%s\" is not a date\n", o->date);
        rc = 2;
        goto out;
    }
    start = end = logical;
    int64_t e;
    /* a test at a logical date covers the schedule's interval starting there, as a scheduled
     * run with that logical date would */
    if (o->date && d->schedule && sl_cron_next(d->schedule, logical, &e) == 0) end = e;
    char run_id[96];
    snprintf(run_id, sizeof run_id, "test__%lld", (long long)logical);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_test_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sl_task_ctx ctx = {.dag_id = d->id,
                       .task_id = t->id,
                       .run_id = run_id,
                       .try_number = 1,
                       .interval_start_ms = start,
                       .interval_end_ms = end,
                       .conf_json = o->conf ? o->conf : "{}",
                       .cancel = &test_cancel};
    rc = sl_task_run(d, t, &ctx, stdout) == 0 ? 0 : 1;
out:
    sl_dagset_free(&set);
    return rc;
}

typedef struct verb {
    const char *name;
    int nargs;
} verb;

static const verb verbs[] = {
    {"list", 0},  {"trigger", 1}, {"runs", 1},     {"tasks", 2}, {"logs", 3},
    {"pause", 1}, {"unpause", 1}, {"backfill", 1}, {"test", 2},
};

int sl_cmd_dag(int argc, char **argv)
{
    dag_opts o;
    sl_config_defaults(dag_opts_tbl, &o);
    int rc = 2;
    char *pos[8];
    int npos = 0;
    for (int i = 1; i < argc;) {
        int r = sl_args_parse(dag_opts_tbl, &o, "dag", USAGE, argc, argv, &i);
        if (r == 1) {
            rc = 0;
            goto out;
        }
        if (r < 0) goto out;
        if (i < argc) {
            if (npos == (int)SL_ARRAY_LEN(pos)) {
                fprintf(stderr, "sluice dag: too many arguments\nusage: sluice %s\n", USAGE);
                goto out;
            }
            pos[npos++] = argv[i++];
        }
    }
    if (o.log_level) sl_log_level = sl_log_level_parse(o.log_level);
    const verb *v = NULL;
    for (size_t i = 0; npos && i < SL_ARRAY_LEN(verbs); i++)
        if (strcmp(verbs[i].name, pos[0]) == 0) v = &verbs[i];
    if (!v || npos - 1 != v->nargs) {
        fprintf(stderr, "sluice dag: %s\nusage: sluice %s\n",
                !npos ? "what to do?"
                : !v  ? "unknown verb"
                      : "wrong number of arguments",
                USAGE);
        goto out;
    }
    if (strcmp(v->name, "test") == 0) {
        rc = do_test(&o, pos[1], pos[2]);
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(v->name, "list") == 0)
        rc = do_list(&o);
    else if (strcmp(v->name, "trigger") == 0)
        rc = do_trigger(&o, pos[1]);
    else if (strcmp(v->name, "runs") == 0)
        rc = do_runs(&o, pos[1]);
    else if (strcmp(v->name, "tasks") == 0)
        rc = do_tasks(&o, pos[1], pos[2]);
    else if (strcmp(v->name, "logs") == 0)
        rc = do_logs(&o, pos[1], pos[2], pos[3]);
    else if (strcmp(v->name, "backfill") == 0)
        rc = do_backfill(&o, pos[1]);
    else
        rc = do_pause(&o, pos[1], strcmp(v->name, "pause") == 0);
    curl_global_cleanup();
out:
    sl_config_free(dag_opts_tbl, &o);
    return rc;
}
