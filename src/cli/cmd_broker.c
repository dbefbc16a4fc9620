/* cmd_broker.c: `sluice broker`, the Kafka-compatible broker as a process. */
#include "cli/commands.h"
#include "cli/options.h"
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

int sl_cmd_broker(int argc, char **argv)
{
    sl_broker_config cfg;
    int rc = 2;
    int r = sl_cli_options(sl_broker_opts, &cfg, "broker", "broker", USAGE, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
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
