/* cmd_store.c: `sluice store`, the CQL-compatible store (native protocol v4 on RocksDB) as a
 * process. */
#include "cli/commands.h"
#include "core/log.h"
#include "core/server.h"
#include "cql/server.h"

#include <stdio.h>
#include <string.h>

#define USAGE                                                                                      \
    "store [--listen HOST:PORT] [--data-dir DIR] [--auth on|off] [--user U --password P] "         \
    "[--commitlog-sync batch|periodic] [--config FILE] [options]"

static void on_stopped(void *arg)
{
    SL_UNUSED(arg);
    sl_signals_close();
}

static void on_signal(void *arg)
{
    sl_cql_server_stop(arg, on_stopped, NULL);
}

/* Takes "--config FILE" / "--config=FILE" out of argv (flags override the file, so the file is
 * read first). Returns the file or NULL; *bad is set for a missing value. */
static const char *take_config(int *argc, char **argv, bool *bad)
{
    const char *file = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= *argc) {
                *bad = true;
                return NULL;
            }
            file = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--config=", 9)) {
            file = argv[i] + 9;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return file;
}

int sl_cmd_store(int argc, char **argv)
{
    sl_cql_server_config cfg;
    sl_config_defaults(sl_cql_server_opts, &cfg);
    int rc = 2;
    bool bad = false;
    const char *file = take_config(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "sluice store: --config needs a FILE\n");
        goto out;
    }
    if (file) {
        sl_errs errs = {0};
        sl_yaml *root = NULL;
        if (sl_yaml_load_file(file, &root, &errs) == 0) {
            const sl_yaml *sec = sl_yaml_get(root, "store");
            if (sec) sl_config_apply(sl_cql_server_opts, &cfg, sec, "store", &errs);
        }
        sl_yaml_free(root);
        if (errs.n) {
            sl_errs_print(&errs, stderr);
            sl_errs_free(&errs);
            goto out;
        }
    }
    int argi = 1;
    int r = sl_args_parse(sl_cql_server_opts, &cfg, "store", USAGE, argc, argv, &argi);
    if (r == 1) {
        rc = 0;
        goto out;
    }
    if (r < 0) goto out;
    if (argi < argc) {
        fprintf(stderr, "sluice store: unexpected argument '%s'\n", argv[argi]);
        goto out;
    }
    char err[256];
    if (sl_cql_server_config_check(&cfg, err, sizeof(err))) {
        fprintf(stderr, "sluice store: %s\n", err);
        goto out;
    }
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);

    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_cql_server *s = NULL;
    if (sl_cql_server_open(&loop, &cfg, &s)) {
        fprintf(stderr, "sluice store: could not start (see the log above)\n");
        uv_loop_close(&loop);
        rc = 1;
        goto out;
    }
    sl_signals_install(&loop, on_signal, s);
    char host[256];
    int port;
    sl_hostport_parse(cfg.listen, host, sizeof(host), &port);
    fprintf(stderr, "store listening on %s:%d\n", host, sl_cql_server_port(s));
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_cql_server_free(s);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    rc = 0;
out:
    sl_config_free(sl_cql_server_opts, &cfg);
    return rc;
}
