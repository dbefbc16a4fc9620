/* cmd_broker.c: `sluice broker`, the Kafka-compatible broker as a process. */
#include "cli/commands.h"
#include "core/log.h"
#include "core/server.h"
#include "kafka/broker.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define USAGE                                                                                      \
    "broker [--listen HOST:PORT] [--data-dir DIR] [--advertised HOST:PORT] [--config FILE] "       \
    "[options]"

static void on_stopped(void *arg)
{
    SL_UNUSED(arg);
    sl_signals_close();
}

static void on_signal(void *arg)
{
    sl_broker_stop(arg, on_stopped, NULL);
}

/* Every partition keeps a few files open (log, indexes) besides the connections, so the broker
 * takes the whole descriptor allowance it is given rather than a soft default of 1024. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
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

int sl_cmd_broker(int argc, char **argv)
{
    sl_broker_config cfg;
    sl_config_defaults(sl_broker_opts, &cfg);
    int rc = 2;
    bool bad = false;
    const char *file = take_config(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "sluice broker: --config needs a FILE\n");
        goto out;
    }
    if (file) {
        sl_errs errs = {0};
        sl_yaml *root = NULL;
        if (sl_yaml_load_file(file, &root, &errs) == 0) {
            const sl_yaml *sec = sl_yaml_get(root, "broker");
            if (sec) sl_config_apply(sl_broker_opts, &cfg, sec, "broker", &errs);
        }
        sl_yaml_free(root);
        if (errs.n) {
            sl_errs_print(&errs, stderr);
            sl_errs_free(&errs);
            goto out;
        }
    }
    int argi = 1;
    int r = sl_args_parse(sl_broker_opts, &cfg, "broker", USAGE, argc, argv, &argi);
    if (r == 1) {
        rc = 0;
        goto out;
    }
    if (r < 0) goto out;
    if (argi < argc) {
        fprintf(stderr, "sluice broker: unexpected argument '%s'\n", argv[argi]);
        goto out;
    }
    char err[256];
    if (sl_broker_config_check(&cfg, err, sizeof(err))) {
        fprintf(stderr, "sluice broker: %s\n", err);
        goto out;
    }
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);

    raise_fd_limit();
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_broker *b = NULL;
    if (sl_broker_open(&loop, &cfg, &b)) {
        fprintf(stderr, "sluice broker: could not start (see the log above)\n");
        uv_loop_close(&loop);
        rc = 1;
        goto out;
    }
    sl_signals_install(&loop, on_signal, b);
    char host[256];
    int port;
    sl_hostport_parse(cfg.listen, host, sizeof(host), &port);
    fprintf(stderr, "broker listening on %s:%d\n", host, sl_broker_port(b));
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_broker_free(b);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    rc = 0;
out:
    sl_config_free(sl_broker_opts, &cfg);
    return rc;
}
