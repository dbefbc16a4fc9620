/* cmd_store.c: `sluice store`, the CQL-compatible store (native protocol v4 on RocksDB) as a
 * process. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"
#include "core/server.h"
#include "cql/server.h"

#include <malloc.h>
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

int sl_cmd_store(int argc, char **argv)
{
    sl_cql_server_config cfg;
    int rc = 2;
    int r = sl_cli_options(sl_cql_server_opts, &cfg, "store", "store", USAGE, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
    char err[256];
    if (sl_cql_server_config_check(&cfg, err, sizeof(err))) {
        fprintf(stderr, "sluice store: %s\n", err);
        goto out;
    }
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);

    /* One malloc arena: the storage sync worker inserts into memtables while the loop builds
     * the groups, and glibc's arena per thread kept ~70 MiB more at 300k rows for no speed. */
    mallopt(M_ARENA_MAX, 1);
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
