/* cmd_registry.c: `sluice registry`, a Confluent-compatible Schema Registry (docs/registry.md). */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"
#include "core/server.h"
#include "registry/registry.h"

#include <stdio.h>

#define USAGE                                                                                      \
    "registry [--listen HOST:PORT] [--kafka BOOTSTRAP] [--topic _schemas] [--max-schema 1MiB] "    \
    "[--config FILE]"

static void on_signal(void *arg)
{
    sl_registry **r = arg;
    sl_registry_close(*r);
    *r = NULL;
    sl_signals_close();
}

int sl_cmd_registry(int argc, char **argv)
{
    sl_registry_config cfg;
    int rc = 2;
    int a = sl_cli_options(sl_registry_opts, &cfg, "registry", "registry", USAGE, argc, argv);
    if (a == 1) rc = 0;
    if (a != 0) goto out;
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_registry *r = NULL;
    if (sl_registry_open(&loop, &cfg, &r)) {
        fprintf(stderr, "sluice registry: could not start (see the log above)\n");
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        rc = 1;
        goto out;
    }
    sl_signals_install(&loop, on_signal, &r);
    fprintf(stderr, "registry listening on %s://%s (port %d), schemas in %s on %s\n",
            cfg.tls_cert ? "https" : "http", cfg.listen, sl_registry_port(r), cfg.topic, cfg.kafka);
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_registry_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    rc = 0;
out:
    sl_config_free(sl_registry_opts, &cfg);
    return rc;
}
