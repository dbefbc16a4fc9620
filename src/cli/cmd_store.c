/* cmd_store.c: `sluice store`, the CQL-compatible store (native protocol v4 on RocksDB) as a
 * process. */
#include "auth/auth.h"
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
    "[--commitlog-sync batch|periodic] [--config FILE] [options] | store passwd < PASSWORD_FILE"

static void on_stopped(void *arg)
{
    SL_UNUSED(arg);
    sl_signals_close();
}

static void on_signal(void *arg)
{
    sl_cql_server_stop(arg, on_stopped, NULL);
}

/* `sluice store passwd`: reads a password (one line) from stdin and prints its hash, to give
 * as --password (or any other password setting that takes one, auth.h) instead of the text. */
static int store_passwd(int argc)
{
    if (argc > 2) {
        fprintf(stderr, "sluice store passwd: takes no arguments (the password is read from "
                        "stdin)\n");
        return 2;
    }
    char pw[1025];
    if (!fgets(pw, sizeof pw, stdin)) pw[0] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    if (!pw[0]) {
        fprintf(stderr, "sluice store passwd: empty password on stdin\n");
        return 2;
    }
    char hash[SL_AUTH_HASH_LEN];
    sl_auth_hash(pw, strlen(pw), SL_AUTH_ITERATIONS, hash);
    memset(pw, 0, sizeof pw);
    printf("%s\n", hash);
    return 0;
}

int sl_cmd_store(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "passwd") == 0) return store_passwd(argc);
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
