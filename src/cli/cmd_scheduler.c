/* cmd_scheduler.c: `sluice scheduler`, the DAG scheduler over SQLite or PostgreSQL metadata. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"
#include "core/server.h"
#include "scheduler/dag.h"
#include "scheduler/executor.h"
#include "scheduler/meta.h"
#include "scheduler/scheduler.h"
#include "scheduler/api.h"
#include "web/http.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define USAGE                                                                                      \
    "scheduler [--dags DIR|FILE] [--metadata sqlite:PATH|postgresql://...] [--listen HOST:PORT] "  \
    "[--data-dir DIR] [--parallelism N] [--pools NAME=SLOTS,...] [--config FILE]"

typedef struct sched_opts {
    char *dags, *metadata, *listen, *data_dir, *pools, *log_level;
    char *tls_cert, *tls_key; /* PEM files: the API serves HTTPS only */
    int64_t parallelism, default_pool_slots, tick, heartbeat, heartbeat_timeout;
    bool default_dag, paused_at_creation;
} sched_opts;

#define O(f) offsetof(sched_opts, f)
const sl_opt sl_scheduler_cli_opts[] = {
    {"dags", SL_OPT_STR, NULL, O(dags), "a DAG file or a directory of them (none: user_automation)",
     NULL, 0, 0},
    {"metadata", SL_OPT_STR, NULL, O(metadata),
     "sqlite:PATH or postgresql://... (default sqlite:DATA_DIR/scheduler.db)", NULL, 0, 0},
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:8080", O(listen), "address of the HTTP API", NULL, 0, 0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert), "PEM certificate chain: serve HTTPS only", NULL, 0,
     0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of --tls-cert", NULL, 0, 0},
    {"data-dir", SL_OPT_STR, "./sluice-data/scheduler", O(data_dir),
     "directory of the SQLite metadata and the try logs", NULL, 0, 0},
    {"parallelism", SL_OPT_INT, "32", O(parallelism), "tries running at once in this scheduler",
     NULL, 1, 100000},
    {"pools", SL_OPT_STR, NULL, O(pools), "pool sizes, name=slots,name=slots", NULL, 0, 0},
    {"default-pool-slots", SL_OPT_INT, "128", O(default_pool_slots),
     "slots of default_pool and of pools not listed in --pools", NULL, 1, 1000000},
    {"tick", SL_OPT_DURATION, "100ms", O(tick), "the longest the loop sleeps without a wake-up",
     NULL, 1, 60000},
    {"heartbeat", SL_OPT_DURATION, "1s", O(heartbeat), "how often this scheduler heartbeats", NULL,
     10, 600000},
    {"heartbeat-timeout", SL_OPT_DURATION, "30s", O(heartbeat_timeout),
     "a scheduler silent this long is dead and its tries are orphaned", NULL, 100, 86400000},
    {"default-dag", SL_OPT_BOOL, "true", O(default_dag),
     "load the built-in DAG user_automation when no DAG file has that id", NULL, 0, 0},
    {"dags-are-paused-at-creation", SL_OPT_BOOL, "true", O(paused_at_creation),
     "a DAG new to the metadata starts paused unless it sets is_paused_upon_creation", NULL, 0, 0},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level), "error|warn|info|debug|trace",
     "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

const size_t sl_scheduler_cli_opts_size = sizeof(sched_opts);

typedef struct sched_app {
    sl_sched *sched;
    sl_http_server *http;
} sched_app;

static void on_signal(void *arg)
{
    sched_app *a = arg;
    sl_sched_close(a->sched);
    a->sched = NULL;
    if (a->http) sl_http_close(a->http);
    a->http = NULL;
    sl_signals_close();
}

int sl_cmd_scheduler(int argc, char **argv)
{
    sched_opts o;
    int rc = 2;
    int r = sl_cli_options(sl_scheduler_cli_opts, &o, "scheduler", "scheduler", USAGE, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
    if (o.log_level) sl_log_level = sl_log_level_parse(o.log_level);
    signal(SIGPIPE, SIG_IGN);

    sl_dagset dags = {0};
    sl_errs errs = {0};
    if (o.dags && sl_dag_load_path(&dags, o.dags, &errs) == SL_ERR_NOTFOUND) {
        sl_errs_print(&errs, stderr);
        sl_errs_free(&errs);
        sl_dagset_free(&dags);
        goto out;
    }
    /* A bad DAG is reported and skipped; the others run. */
    sl_errs_print(&errs, stderr);
    sl_errs_free(&errs);
    if (o.default_dag) sl_dag_add_default(&dags);
    /* ingest and sql tries exec this same binary, whatever has happened to its file since */
    sl_exec_set_program("/proc/self/exe");

    rc = 1;
    if (sl_mkdirs(o.data_dir, 0755)) {
        fprintf(stderr, "sluice scheduler: cannot create %s: %s\n", o.data_dir, strerror(errno));
        sl_dagset_free(&dags);
        goto out;
    }
    char url[1200], err[600];
    if (o.metadata)
        snprintf(url, sizeof url, "%s", o.metadata);
    else
        snprintf(url, sizeof url, "sqlite:%s/scheduler.db", o.data_dir);
    sl_meta *meta = NULL;
    int mr = sl_meta_open(url, &meta, err, sizeof err);
    if (mr) {
        fprintf(stderr, "sluice scheduler: %s\n", err);
        if (mr == SL_ERR_CONFIG) rc = 2;
        sl_dagset_free(&dags);
        goto out;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    sched_app app = {0};
    sl_sched_config cfg = {
        .data_dir = o.data_dir,
        .parallelism = (int)o.parallelism,
        .default_pool_slots = (int)o.default_pool_slots,
        .pools = o.pools,
        .tick_ms = o.tick,
        .heartbeat_ms = o.heartbeat,
        .heartbeat_timeout_ms = o.heartbeat_timeout,
        .dags_are_paused_at_creation = o.paused_at_creation,
    };
    int so = sl_sched_open(&loop, meta, &dags, &cfg, &app.sched);
    if (so) {
        fprintf(stderr, "sluice scheduler: could not start (see the log above)\n");
        if (so == SL_ERR_CONFIG) rc = 2;
        goto close;
    }
    sl_http_config hc = {.listen = o.listen,
                         .name = "scheduler",
                         .routes = sl_api_routes,
                         .arg = app.sched,
                         .tls_cert = o.tls_cert,
                         .tls_key = o.tls_key};
    if (sl_http_open(&loop, &hc, &app.http)) {
        fprintf(stderr, "sluice scheduler: cannot listen on %s\n", o.listen);
        sl_sched_close(app.sched);
        goto close;
    }
    sl_signals_install(&loop, on_signal, &app);
    fprintf(stderr, "scheduler: %zu DAGs, metadata %s, API on %s://%s (port %d)\n", dags.n,
            sl_meta_url_redacted(url), o.tls_cert ? "https" : "http", o.listen,
            sl_http_port(app.http));
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = 0;
close:
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    sl_meta_close(meta);
    sl_dagset_free(&dags);
out:
    sl_config_free(sl_scheduler_cli_opts, &o);
    return rc;
}
