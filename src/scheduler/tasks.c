/* tasks.c: the task types. A table of types, each with its fields (name, kind, required) and a
 * run function; sl_task_check walks the table, sl_task_run renders the fields it asks for with
 * template.h and runs the type. Every try writes a few timestamped lines of its own to the log
 * (what it does, and why it failed) next to the output of what it runs. */
#include "scheduler/tasks.h"
#include "auth/auth.h"
#include "core/log.h"
#include "cql/client.h"
#include "pipeline/ingest.h"
#include "scheduler/template.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sqlite3.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ingest's stop flag is a sig_atomic_t; the try's cancel flag is handed to it as is. */
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "sig_atomic_t is not an int");

typedef enum { F_STR, F_DUR, F_INT, F_MAP } fkind;

typedef struct field {
    const char *name;
    fkind kind;
    bool required;
} field;

typedef struct run run;

typedef struct task_type {
    const char *name;
    const field *fields; /* ends with name NULL */
    int (*run)(run *R);
    /* Safe on a thread of the scheduler: thread-safe, and every wait in it ends soon after
     * the cancel flag is set, so an execution_timeout stops it without killing a process. */
    bool in_process;
    /* A child try of this type execs a fresh sluice before it runs: it calls into libraries
     * (libcurl, OpenSSL, librdkafka, libpq) whose locks an in-process try's thread may have held
     * at the instant of the fork. */
    bool fresh;
} task_type;

/* One try being run: its context, the log, and the rendered strings it owns. */
struct run {
    const sl_dag *d;
    const sl_task *t;
    const sl_task_ctx *ctx;
    FILE *log;
    sl_tmpl_ctx tc;
    char **owned;
    size_t nowned;
    bool bad; /* a field failed to render or parse; already logged */
};

/* Keys of a task map that dag.c reads itself. */
static const char *const common_keys[] = {
    "task_id",
    "type",
    "depends_on",
    "trigger_rule",
    "retries",
    "pool",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    NULL,
};

#define DEF_KAFKA  "127.0.0.1:9092"
#define DEF_SOURCE "http://127.0.0.1:8000/api/"

static void logf_(run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(run *R, const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(R->log, "[%s] %s.%s: ", ts, R->ctx->dag_id ? R->ctx->dag_id : "-", R->t->id);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(R->log, fmt, ap);
    va_end(ap);
    fputc('\n', R->log);
    fflush(R->log);
}

static bool cancelled(const run *R)
{
    return R->ctx->cancel && *R->ctx->cancel;
}

static char *own(run *R, char *s)
{
    R->owned = sl_realloc(R->owned, (R->nowned + 1) * sizeof *R->owned);
    R->owned[R->nowned++] = s;
    return s;
}

static const char *render(run *R, const char *name, const char *text)
{
    char *out = NULL, err[256];
    if (sl_tmpl_render(text, &R->tc, &out, err, sizeof err) != 0) {
        logf_(R, "%s: %s", name, err);
        R->bad = true;
        return NULL;
    }
    return own(R, out);
}

/* The rendered scalar field name, or def when absent. */
static const char *get(run *R, const char *name, const char *def)
{
    const sl_yaml *v = sl_yaml_get(R->t->spec, name);
    if (!v || v->kind != SL_YAML_SCALAR || !v->scalar) return def;
    return render(R, name, v->scalar);
}

static int64_t get_dur(run *R, const char *name, int64_t def)
{
    const char *s = get(R, name, NULL);
    int64_t ms;
    if (!s) return def;
    if (sl_parse_duration_ms(s, &ms) != 0 || ms < 0) {
        logf_(R, "%s: \"%s\" is not a duration", name, s);
        R->bad = true;
        return def;
    }
    return ms;
}

static int64_t get_int(run *R, const char *name, int64_t def)
{
    const char *s = get(R, name, NULL);
    if (!s) return def;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        logf_(R, "%s: \"%s\" is not a whole number >= 0", name, s);
        R->bad = true;
        return def;
    }
    return v;
}

/* Sleeps up to ms, returning early (false) when the try is cancelled. */
static bool nap(const run *R, int64_t ms)
{
    int64_t end = sl_mono_ms() + ms;
    for (;;) {
        if (cancelled(R)) return false;
        int64_t left = end - sl_mono_ms();
        if (left <= 0) return true;
        struct timespec ts = {0, (long)SL_MIN(left, 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ingest: sluice ingest's options as fields. */
static const field ingest_fields[] = {
    {"source", F_STR, false},  {"topic", F_STR, false},       {"kafka", F_STR, false},
    {"stage", F_STR, false},   {"count", F_INT, false},       {"duration", F_DUR, false},
    {"batch", F_INT, false},   {"rate", F_INT, false},        {"api_retries", F_INT, false},
    {"timeout", F_DUR, false}, {"format", F_STR, false},      {"registry", F_STR, false},
    {"backoff", F_DUR, false}, {"backoff_max", F_DUR, false}, {"delivery_timeout", F_DUR, false},
    {NULL, 0, false},
};

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int run_ingest(run *R)
{
    int64_t count = get_int(R, "count", -1);
    int64_t duration = get_dur(R, "duration", 0);
    if (count < 0 && duration == 0) duration = 60000;
    sl_ingest_config cfg = {
        .source = get(R, "source", env_or("SLUICE_INGEST_SOURCE", DEF_SOURCE)),
        .topic = get(R, "topic", "users_created"),
        .kafka = get(R, "kafka", env_or("SLUICE_KAFKA", DEF_KAFKA)),
        .stage = get(R, "stage", NULL),
        .format = get(R, "format", "json"),
        .registry = get(R, "registry", NULL),
        .count = count,
        .duration_ms = count >= 0 ? 0 : duration,
        .batch = (int)get_int(R, "batch", 500),
        .rate = (double)get_int(R, "rate", 0),
        .retries = (int)get_int(R, "api_retries", 10),
        .timeout_ms = get_dur(R, "timeout", 30000),
        .backoff_ms = get_dur(R, "backoff", 250),
        .backoff_max_ms = get_dur(R, "backoff_max", 30000),
        .delivery_timeout_ms = get_dur(R, "delivery_timeout", 30000),
        .stop = (volatile sig_atomic_t *)R->ctx->cancel,
    };
    if (R->bad) return 1;
    char err[1024] = "";
    if (sl_ingest_config_check(&cfg, err, sizeof err) < 0) {
        logf_(R, "ingest: %s", err);
        return 1;
    }
    if (count >= 0)
        logf_(R, "ingest: %" PRId64 " records from %s into %s at %s", count, cfg.source, cfg.topic,
              cfg.kafka);
    else
        logf_(R, "ingest: %.3f s from %s into %s at %s", (double)duration / 1000, cfg.source,
              cfg.topic, cfg.kafka);
    sl_ingest_stats st;
    memset(&st, 0, sizeof st);
    int rc = sl_ingest_run(&cfg, &st, err, sizeof err);
    logf_(R,
          "ingest: %s: %" PRId64 " records delivered in %.2f s; %" PRId64 " fetched, %" PRId64
          " invalid, %" PRId64 " failed",
          rc == 0 ? "done" : "failed", st.delivered, (double)st.elapsed_ms / 1000, st.fetched,
          st.invalid, st.failed);
    if (rc < 0) logf_(R, "ingest: %s", err);
    return rc < 0 ? 1 : 0;
}

/* shell: /bin/sh -c command, with env added to the scheduler's and cwd; stdout and stderr go to
 * the log. */
static const field shell_fields[] = {
    {"command", F_STR, true},
    {"env", F_MAP, false},
    {"cwd", F_STR, false},
    {NULL, 0, false},
};

static int run_shell(run *R)
{
    const char *cmd = get(R, "command", NULL);
    const char *cwd = get(R, "cwd", NULL);
    const sl_yaml *env = sl_yaml_get(R->t->spec, "env");
    size_t nenv = env && env->kind == SL_YAML_MAP ? env->n : 0;
    const char **vals = sl_calloc(nenv + 1, sizeof *vals);
    for (size_t i = 0; i < nenv; i++) {
        const sl_yaml *v = env->items[i];
        vals[i] =
            v->kind == SL_YAML_SCALAR ? render(R, env->keys[i], v->scalar ? v->scalar : "") : NULL;
    }
    if (R->bad || !cmd) {
        sl_free(vals);
        return 1;
    }
    logf_(R, "shell: %s%s%s", cmd, cwd ? " (in " : "", cwd ? cwd : "");
    struct stat sb;
    errno = 0;
    if (cwd && (stat(cwd, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        logf_(R, "shell: cwd %s: %s", cwd, errno ? strerror(errno) : "not a directory");
        sl_free(vals);
        return 1;
    }
    fflush(R->log);
    int logfd = fileno(R->log);
    /* posix_spawn (vfork-like: no copy of this process's page tables) rather than fork: a
     * try's process is a copy of the scheduler, and a second full fork for the command was most
     * of a short shell try's CPU. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, logfd, 1);
    posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    /* the environment with env's variables set (replaced where they exist) */
    size_t nold = 0;
    while (environ[nold])
        nold++;
    char **envp = sl_calloc(nold + nenv + 1, sizeof *envp);
    size_t ne = 0;
    for (size_t i = 0; i < nold; i++) {
        bool replaced = false;
        for (size_t k = 0; k < nenv && !replaced; k++) {
            size_t kl = strlen(env->keys[k]);
            replaced =
                vals[k] && strncmp(environ[i], env->keys[k], kl) == 0 && environ[i][kl] == '=';
        }
        if (!replaced) envp[ne++] = environ[i];
    }
    size_t kept = ne;
    for (size_t k = 0; k < nenv; k++)
        if (vals[k]) {
            size_t len = strlen(env->keys[k]) + strlen(vals[k]) + 2;
            envp[ne] = sl_malloc(len);
            snprintf(envp[ne++], len, "%s=%s", env->keys[k], vals[k]);
        }
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int se = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
    for (size_t i = kept; i < ne; i++)
        sl_free(envp[i]);
    sl_free(envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    sl_free(vals);
    if (se != 0) {
        logf_(R, "shell: cannot start /bin/sh: %s", strerror(se));
        return 1;
    }
    int st = 0;
    int64_t kill_at = 0;
    /* Polled, to see the cancel flag: from 1 ms doubling to 20 ms, so a short command is not
     * held up to 20 ms after it ended (that was most of a no-op shell try's time). */
    long nap_ns = 1000000L;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            logf_(R, "shell: waitpid: %s", strerror(errno));
            return 1;
        }
        if (cancelled(R) && !kill_at) {
            kill(pid, SIGTERM);
            kill_at = sl_mono_ms() + 5000;
        } else if (kill_at && sl_mono_ms() > kill_at) {
            kill(pid, SIGKILL);
        }
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        if (nap_ns < 20000000L) nap_ns *= 2;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        logf_(R, "shell: exited with status 0");
        return 0;
    }
    if (WIFEXITED(st))
        logf_(R, "shell: exited with status %d", WEXITSTATUS(st));
    else
        logf_(R, "shell: killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 1;
}

/* http: one request; success is the expected status. */
static const field http_fields[] = {
    {"url", F_STR, true},      {"method", F_STR, false},          {"body", F_STR, false},
    {"headers", F_MAP, false}, {"expected_status", F_STR, false}, {"timeout", F_DUR, false},
    {NULL, 0, false},
};

#define HTTP_LOG_BODY 4096

typedef struct http_sink {
    run *R;
    size_t logged, total;
} http_sink;

static size_t http_write(char *p, size_t sz, size_t n, void *arg)
{
    http_sink *s = arg;
    size_t len = sz * n;
    if (s->logged < HTTP_LOG_BODY) {
        size_t k = SL_MIN(len, HTTP_LOG_BODY - s->logged);
        fwrite(p, 1, k, s->R->log);
        s->logged += k;
    }
    s->total += len;
    return len;
}

static int http_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    SL_UNUSED(a), SL_UNUSED(b), SL_UNUSED(c), SL_UNUSED(d);
    return cancelled(((http_sink *)arg)->R) ? 1 : 0;
}

static bool status_expected(const char *list, long status)
{
    for (const char *p = list; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) return false;
        if (v == status) return true;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

static bool status_list_valid(const char *list)
{
    const char *p = list;
    if (!*p) return false;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 100 || v > 599) return false;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return true;
}

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int run_http(run *R)
{
    /* Once per process, before any handle: http tries may start on several threads at once. */
    static uv_once_t curl_once = UV_ONCE_INIT;
    uv_once(&curl_once, curl_init);
    const char *url = get(R, "url", NULL);
    const char *method = get(R, "method", "GET");
    const char *body = get(R, "body", NULL);
    const char *expect = get(R, "expected_status", "200");
    int64_t timeout = get_dur(R, "timeout", 30000);
    const sl_yaml *hdrs = sl_yaml_get(R->t->spec, "headers");
    struct curl_slist *hl = NULL;
    if (hdrs && hdrs->kind == SL_YAML_MAP)
        for (size_t i = 0; i < hdrs->n; i++) {
            const sl_yaml *v = hdrs->items[i];
            const char *val =
                v->kind == SL_YAML_SCALAR && v->scalar ? render(R, hdrs->keys[i], v->scalar) : "";
            if (!val) continue;
            char line[2048];
            snprintf(line, sizeof line, "%s: %s", hdrs->keys[i], val);
            hl = curl_slist_append(hl, line);
        }
    if (R->bad || !url) {
        curl_slist_free_all(hl);
        return 1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        curl_slist_free_all(hl);
        logf_(R, "http: curl_easy_init failed");
        return 1;
    }
    http_sink sink = {R, 0, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &sink);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    logf_(R, "http: %s %s", method, url);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    if (sink.logged) fputc('\n', R->log);
    if (cc != CURLE_OK) {
        logf_(R, "http: %s", curl_easy_strerror(cc));
        return 1;
    }
    bool ok = status_expected(expect, status);
    logf_(R, "http: status %ld (%zu bytes)%s%s", status, sink.total, ok ? "" : ", expected ",
          ok ? "" : expect);
    return ok ? 0 : 1;
}

/* sql: conn is postgresql://..., sqlite:PATH or cql://[user:pass@]host[:port][/keyspace]. */
static const field sql_fields[] = {
    {"conn", F_STR, true},
    {"sql", F_STR, true},
    {NULL, 0, false},
};

static bool conn_kind_known(const char *c)
{
    return strncmp(c, "postgresql://", 13) == 0 || strncmp(c, "postgres://", 11) == 0 ||
           strncmp(c, "sqlite:", 7) == 0 || strncmp(c, "cql://", 6) == 0;
}

/* The scheme of a connection URL only: the rest may hold a password. */
static const char *conn_scheme(const char *c)
{
    if (strncmp(c, "sqlite:", 7) == 0) return c; /* a path, no secret */
    if (strncmp(c, "cql://", 6) == 0) return "cql://...";
    return "postgresql://...";
}

#define SQL_LOG_ROWS 20

static int sql_pg(run *R, const char *conn, const char *sql, int64_t *rows_out)
{
    PGconn *pg = PQconnectdb(conn);
    if (PQstatus(pg) != CONNECTION_OK) {
        logf_(R, "sql: connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    PGresult *res = PQexec(pg, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK) {
        int n = PQntuples(res), nf = PQnfields(res);
        for (int i = 0; i < n && i < SQL_LOG_ROWS; i++) {
            for (int j = 0; j < nf; j++)
                fprintf(R->log, "%s%s", j ? "\t" : "",
                        PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j));
            fputc('\n', R->log);
        }
        *rows_out = n;
    } else if (st == PGRES_COMMAND_OK) {
        const char *t = PQcmdTuples(res);
        *rows_out = *t ? atoll(t) : 0;
    } else {
        logf_(R, "sql: %s", PQresultErrorMessage(res));
        rc = 1;
    }
    PQclear(res);
    PQfinish(pg);
    return rc;
}

typedef struct lite_rows {
    run *R;
    int64_t n;
} lite_rows;

static int lite_row(void *arg, int nf, char **vals, char **names)
{
    SL_UNUSED(names);
    lite_rows *lr = arg;
    if (lr->n++ < SQL_LOG_ROWS) {
        for (int j = 0; j < nf; j++)
            fprintf(lr->R->log, "%s%s", j ? "\t" : "", vals[j] ? vals[j] : "NULL");
        fputc('\n', lr->R->log);
    }
    return 0;
}

static int sql_sqlite(run *R, const char *path, const char *sql, int64_t *rows_out)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        logf_(R, "sql: open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    lite_rows lr = {R, 0};
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, lite_row, &lr, &err);
    if (rc != SQLITE_OK) {
        logf_(R, "sql: %s", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        sqlite3_close(db);
        return 1;
    }
    *rows_out = lr.n ? lr.n : sqlite3_changes(db);
    sqlite3_close(db);
    return 0;
}

/* Splits cql://[user:pass@]host[:port][,host...][/keyspace] into client options; the strings
 * live in buf. */
static int cql_opts(const char *url, sl_cqlc_opts *o, char *buf, size_t len)
{
    sl_cqlc_opts_default(o);
    snprintf(buf, len, "%s", url + 6);
    char *hosts = buf;
    char *at = strrchr(buf, '@');
    if (at) {
        *at = 0;
        char *colon = strchr(buf, ':');
        if (colon) {
            *colon = 0;
            o->password = colon + 1;
        }
        o->user = buf;
        hosts = at + 1;
    }
    char *slash = strchr(hosts, '/');
    if (slash) {
        *slash = 0;
        if (slash[1]) o->keyspace = slash + 1;
    }
    if (!*hosts) return SL_ERR_INVAL;
    o->contact_points = hosts;
    o->connect_timeout_ms = 5000;
    return 0;
}

/* Opens a client on conn (cql://...); logs why not. buf keeps the option strings. */
static sl_cqlc *cql_connect(run *R, const char *conn, sl_cqlc_opts *o, char *buf, size_t len)
{
    if (cql_opts(conn, o, buf, len) != 0) {
        logf_(R, "sql: cql:// needs a host");
        return NULL;
    }
    sl_cqlc *c = NULL;
    sl_cqlc_error err;
    char eb[1200];
    if (sl_cqlc_open(o, &c, &err) != 0) {
        logf_(R, "sql: connect: %s", sl_cqlc_error_str(&err, eb, sizeof eb));
        return NULL;
    }
    return c;
}

static int sql_cql(run *R, const char *conn, const char *cql, int64_t *rows_out)
{
    char buf[1024];
    sl_cqlc_opts o;
    sl_cqlc *c = cql_connect(R, conn, &o, buf, sizeof buf);
    if (!c) return 1;
    sl_cqlc_error err;
    char eb[1200];
    sl_cqlc_result *res = NULL;
    int rc = sl_cqlc_query(c, cql, NULL, 0, NULL, &res, &err);
    if (rc != 0) {
        logf_(R, "sql: %s", sl_cqlc_error_str(&err, eb, sizeof eb));
        sl_cqlc_close(c);
        return 1;
    }
    *rows_out = res->kind == SL_CQLC_ROWS ? (int64_t)res->nrows : 0;
    sl_cqlc_result_free(res);
    sl_cqlc_close(c);
    return 0;
}

static int run_sql(run *R)
{
    const char *conn = get(R, "conn", NULL);
    const char *sql = get(R, "sql", NULL);
    if (R->bad || !conn || !sql) return 1;
    if (!conn_kind_known(conn)) {
        logf_(R, "sql: conn: unsupported (postgresql://, sqlite:PATH or cql://)");
        return 1;
    }
    logf_(R, "sql: on %s: %s", conn_scheme(conn), sql);
    int64_t rows = 0;
    int rc;
    if (strncmp(conn, "sqlite:", 7) == 0)
        rc = sql_sqlite(R, conn + 7, sql, &rows);
    else if (strncmp(conn, "cql://", 6) == 0)
        rc = sql_cql(R, conn, sql, &rows);
    else
        rc = sql_pg(R, conn, sql, &rows);
    if (rc == 0) logf_(R, "sql: done, %" PRId64 " rows", rows);
    return rc;
}

/* sensor: pokes condition every poke_interval until it holds (success) or timeout passes
 * (failure). */
static const field sensor_fields[] = {
    {"condition", F_STR, true}, {"poke_interval", F_DUR, false},
    {"timeout", F_DUR, false},  {"kafka", F_STR, false},
    {"group", F_STR, false},    {"topic", F_STR, false},
    {"conn", F_STR, false},     {"table", F_STR, false},
    {"min_rows", F_INT, false}, {"path", F_STR, false},
    {NULL, 0, false},
};

/* What each condition needs besides the sensor's own fields. */
static const struct {
    const char *name;
    const char *required[3];
} conditions[] = {
    {"consumer_lag_zero", {"group", "topic", NULL}},
    {"cql_rows", {"conn", "table", NULL}},
    {"file_exists", {"path", NULL}},
};

/* 1: the group has consumed every record of topic; 0: not yet; <0: cannot tell. */
static int poke_lag(run *R, const char *kafka, const char *group, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", kafka, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK ||
        sl_auth_kafka_conf(conf, err, sizeof err)) {
        rd_kafka_conf_destroy(conf);
        logf_(R, "sensor: %s", err);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        logf_(R, "sensor: %s", err);
        return -1;
    }
    int result = -1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (e) {
        logf_(R, "sensor: metadata: %s", rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err) {
        logf_(R, "sensor: topic %s: %s", topic,
              md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id);
    e = rd_kafka_committed(rk, parts, 5000);
    if (e) {
        logf_(R, "sensor: committed offsets: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(parts);
        goto out;
    }
    int64_t lag = 0;
    result = 1;
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &hi, 5000);
        if (e) {
            logf_(R, "sensor: offsets of %s/%d: %s", topic, parts->elems[i].partition,
                  rd_kafka_err2str(e));
            result = -1;
            break;
        }
        int64_t at = parts->elems[i].offset >= 0 ? parts->elems[i].offset : lo;
        if (hi > at) lag += hi - at;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (result == 1) {
        logf_(R, "sensor: group %s lag on %s: %" PRId64, group, topic, lag);
        if (lag > 0) result = 0;
    }
out:
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return result;
}

/* Counts table's rows a page at a time up to min_rows (sl_cqlc_count_rows): a SELECT count(*)
 * would hold sluice store's loop, and every other client, for the whole scan at every poke. */
static int poke_cql_rows(run *R, const char *conn, const char *table, int64_t min_rows)
{
    char buf[1024];
    sl_cqlc_opts o;
    sl_cqlc *c = cql_connect(R, conn, &o, buf, sizeof buf);
    if (!c) return -1;
    const char *dot = strchr(table, '.');
    char *ks =
        dot ? sl_strndup(table, (size_t)(dot - table)) : sl_strdup(o.keyspace ? o.keyspace : "");
    int64_t n;
    bool more;
    sl_cqlc_error err;
    int rc = sl_cqlc_count_rows(c, ks, dot ? dot + 1 : table, min_rows > 0 ? min_rows : 1, NULL, &n,
                                &more, &err);
    sl_free(ks);
    sl_cqlc_close(c);
    if (rc != 0) {
        char eb[1200];
        logf_(R, "sensor: counting %s: %s", table, sl_cqlc_error_str(&err, eb, sizeof eb));
        return -1;
    }
    logf_(R, "sensor: %s has %s%" PRId64 " rows (want %" PRId64 ")", table, more ? "at least " : "",
          n, min_rows);
    return n >= min_rows;
}

static int run_sensor(run *R)
{
    const char *cond = get(R, "condition", NULL);
    int64_t every = get_dur(R, "poke_interval", 5000);
    int64_t timeout = get_dur(R, "timeout", 7LL * 86400 * 1000);
    const char *kafka = get(R, "kafka", env_or("SLUICE_KAFKA", DEF_KAFKA));
    const char *group = get(R, "group", NULL);
    const char *topic = get(R, "topic", NULL);
    const char *conn = get(R, "conn", NULL);
    const char *table = get(R, "table", NULL);
    int64_t min_rows = get_int(R, "min_rows", 1);
    const char *path = get(R, "path", NULL);
    if (R->bad || !cond) return 1;
    if (every <= 0) every = 1;
    logf_(R, "sensor: %s, every %.3f s for at most %.3f s", cond, (double)every / 1000,
          (double)timeout / 1000);
    /* Nanoseconds: whole milliseconds truncated at both ends could time out up to 1 ms early. */
    int64_t start = (int64_t)sl_mono_ns();
    for (int pokes = 1;; pokes++) {
        int held;
        if (strcmp(cond, "consumer_lag_zero") == 0 && group && topic)
            held = poke_lag(R, kafka, group, topic);
        else if (strcmp(cond, "cql_rows") == 0 && conn && table)
            held = poke_cql_rows(R, conn, table, min_rows);
        else if (strcmp(cond, "file_exists") == 0 && path)
            held = access(path, F_OK) == 0;
        else {
            logf_(R, "sensor: condition \"%s\" lacks its fields", cond);
            return 1;
        }
        if (held == 1) {
            logf_(R, "sensor: condition holds after %d pokes, %.3f s", pokes,
                  (double)((int64_t)sl_mono_ns() - start) / 1e9);
            return 0;
        }
        int64_t left_ns = start + timeout * 1000000 - (int64_t)sl_mono_ns();
        if (left_ns <= 0) {
            logf_(R, "sensor: timed out after %.3f s (%d pokes)",
                  (double)((int64_t)sl_mono_ns() - start) / 1e9, pokes);
            return 1;
        }
        if (!nap(R, SL_MIN(every, (left_ns + 999999) / 1000000))) {
            logf_(R, "sensor: cancelled");
            return 1;
        }
    }
}

/* noop: nothing, successfully (Airflow's EmptyOperator), for joins and for measuring the
 * scheduler itself. */
static const field noop_fields[] = {{NULL, 0, false}};

static int run_noop(run *R)
{
    SL_UNUSED(R);
    return 0;
}

/* In-process: noop; http (curl's progress callback sees the cancel flag at least about once a
 * second); sensor (it naps 50 ms at a time, and each poke's own waits are bounded by 5 s).
 * Child processes: shell and ingest (a command's process group must be killable; ingest runs a
 * whole producer), and sql (libpq's and SQLite's calls block until the statement ends). */
static const task_type types[] = {
    {"ingest", ingest_fields, run_ingest, false, true},
    {"shell", shell_fields, run_shell, false, false},
    {"http", http_fields, run_http, true, false},
    {"sql", sql_fields, run_sql, false, true},
    {"sensor", sensor_fields, run_sensor, true, false},
    {"noop", noop_fields, run_noop, true, false},
};

static const task_type *type_find(const char *name)
{
    for (size_t i = 0; name && i < SL_ARRAY_LEN(types); i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    return NULL;
}

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0) return true;
    return false;
}

static const field *field_find(const task_type *ty, const char *name)
{
    for (const field *f = ty->fields; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static void field_names(const task_type *ty, char *buf, size_t len)
{
    size_t o = 0;
    snprintf(buf, len, "it has none");
    for (const field *f = ty->fields; f->name && o < len; f++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", f->name);
}

/* A value's own check; templated values are checked when rendered. */
static void check_value(const sl_task *t, const field *f, const sl_yaml *v, sl_errs *errs)
{
    const char *file = t->spec->file;
    if (f->kind == F_MAP) {
        if (v->kind != SL_YAML_MAP) {
            sl_errs_add(errs, file, v->line, "task %s: %s: expected a map", t->id, f->name);
            return;
        }
        for (size_t i = 0; i < v->n; i++)
            if (v->items[i]->kind != SL_YAML_SCALAR)
                sl_errs_add(errs, file, v->items[i]->line, "task %s: %s.%s: expected a value",
                            t->id, f->name, v->keys[i]);
        return;
    }
    if (v->kind != SL_YAML_SCALAR || !v->scalar) {
        sl_errs_add(errs, file, v->line, "task %s: %s: expected a value", t->id, f->name);
        return;
    }
    const char *s = v->scalar;
    if (strstr(s, "{{")) return;
    int64_t n;
    char *end;
    if (f->kind == F_DUR && (sl_parse_duration_ms(s, &n) != 0 || n < 0))
        sl_errs_add(errs, file, v->line, "task %s: %s: \"%s\" is not a duration (\"30s\", \"5m\")",
                    t->id, f->name, s);
    if (f->kind == F_INT && ((n = strtoll(s, &end, 10)) < 0 || end == s || *end))
        sl_errs_add(errs, file, v->line, "task %s: %s: \"%s\" is not a whole number >= 0", t->id,
                    f->name, s);
    if (f->kind == F_STR && f->required && !*s)
        sl_errs_add(errs, file, v->line, "task %s: %s: must not be empty", t->id, f->name);
}

int sl_task_check(const sl_task *t, sl_errs *errs)
{
    size_t before = errs->n;
    const task_type *ty = type_find(t->type);
    const char *file = t->spec ? t->spec->file : "?";
    const char *id = t->id ? t->id : "?";
    if (!ty) {
        sl_errs_add(
            errs, file, t->line,
            "task %s: type: unknown task type \"%s\" (ingest, shell, http, sql, sensor, noop)", id,
            t->type ? t->type : "");
        return (int)(errs->n - before);
    }
    if (!t->spec || t->spec->kind != SL_YAML_MAP) return 0;
    const sl_yaml *m = t->spec;
    char names[512];
    for (size_t i = 0; i < m->n; i++) {
        if (in_list(common_keys, m->keys[i])) continue;
        const field *f = field_find(ty, m->keys[i]);
        if (!f) {
            field_names(ty, names, sizeof names);
            sl_errs_add(errs, file, m->key_lines[i], "task %s: %s: unknown field of a %s task (%s)",
                        id, m->keys[i], ty->name, names);
            continue;
        }
        check_value(t, f, m->items[i], errs);
    }
    for (const field *f = ty->fields; f->name; f++)
        if (f->required && !sl_yaml_get(m, f->name))
            sl_errs_add(errs, file, t->line, "task %s: a %s task needs %s", id, ty->name, f->name);
    if (strcmp(ty->name, "ingest") == 0 && sl_yaml_get(m, "count") && sl_yaml_get(m, "duration"))
        sl_errs_add(errs, file, t->line, "task %s: give count or duration, not both", id);
    const sl_yaml *v;
    if (strcmp(ty->name, "http") == 0 && (v = sl_yaml_get(m, "expected_status")) &&
        v->kind == SL_YAML_SCALAR && v->scalar && !strstr(v->scalar, "{{") &&
        !status_list_valid(v->scalar))
        sl_errs_add(errs, file, v->line,
                    "task %s: expected_status: \"%s\" is not a status or a list of them (\"200\", "
                    "\"200,204\")",
                    id, v->scalar);
    if (strcmp(ty->name, "sql") == 0 && (v = sl_yaml_get(m, "conn")) && v->kind == SL_YAML_SCALAR &&
        v->scalar && !strstr(v->scalar, "{{") && !conn_kind_known(v->scalar))
        sl_errs_add(errs, file, v->line,
                    "task %s: conn: unsupported connection (postgresql://, sqlite:PATH or cql://)",
                    id);
    if (strcmp(ty->name, "sensor") == 0 && (v = sl_yaml_get(m, "condition")) &&
        v->kind == SL_YAML_SCALAR && v->scalar) {
        size_t k = 0;
        while (k < SL_ARRAY_LEN(conditions) && strcmp(conditions[k].name, v->scalar) != 0)
            k++;
        if (k == SL_ARRAY_LEN(conditions)) {
            sl_errs_add(errs, file, v->line,
                        "task %s: condition: unknown condition \"%s\" (consumer_lag_zero, "
                        "cql_rows, file_exists)",
                        id, v->scalar);
        } else {
            for (const char *const *r = conditions[k].required; *r; r++)
                if (!sl_yaml_get(m, *r))
                    sl_errs_add(errs, file, t->line, "task %s: a %s sensor needs %s", id, v->scalar,
                                *r);
            if ((v = sl_yaml_get(m, "conn")) && v->kind == SL_YAML_SCALAR && v->scalar &&
                !strstr(v->scalar, "{{") && strncmp(v->scalar, "cql://", 6) != 0)
                sl_errs_add(errs, file, v->line, "task %s: conn: a cql_rows sensor needs cql://",
                            id);
        }
    }
    return (int)(errs->n - before);
}

bool sl_task_in_process(const sl_task *t)
{
    const task_type *ty = type_find(t->type);
    return ty && ty->in_process;
}

bool sl_task_fresh_process(const sl_task *t)
{
    const task_type *ty = type_find(t->type);
    return ty && ty->fresh;
}

int sl_task_run(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx, FILE *log)
{
    run R = {
        .d = d,
        .t = t,
        .ctx = ctx,
        .log = log,
        .tc =
            {
                .dag_id = ctx->dag_id,
                .task_id = ctx->task_id,
                .run_id = ctx->run_id,
                .try_number = ctx->try_number,
                .interval_start_ms = ctx->interval_start_ms,
                .interval_end_ms = ctx->interval_end_ms,
                .params = d ? d->params : NULL,
                .conf_json = ctx->conf_json,
            },
    };
    const task_type *ty = type_find(t->type);
    if (!ty) {
        logf_(&R, "unknown task type \"%s\"", t->type ? t->type : "");
        return 1;
    }
    logf_(&R, "try %d of %s (run %s, type %s)", ctx->try_number, t->id,
          ctx->run_id ? ctx->run_id : "-", ty->name);
    int64_t t0 = sl_mono_ms();
    int rc = ty->run(&R);
    logf_(&R, "%s after %.3f s", rc == 0 ? "success" : "failed",
          (double)(sl_mono_ms() - t0) / 1000);
    for (size_t i = 0; i < R.nowned; i++)
        sl_free(R.owned[i]);
    sl_free(R.owned);
    return rc == 0 ? 0 : 1;
}
