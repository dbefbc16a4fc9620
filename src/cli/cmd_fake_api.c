/* cmd_fake_api.c: `sluice fake-api`, the randomuser.me 1.4 API served offline. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"
#include "core/server.h"
#include "pipeline/fakeapi.h"

#include <stdio.h>

#define USAGE                                                                                      \
    "fake-api [--listen HOST:PORT] [--quota N] [--quota-window 300s] [--latency-ms N] "            \
    "[--fail-rate 0.x] [--config FILE]"

typedef struct stop_ctx {
    sl_fakeapi *api;
} stop_ctx;

static void on_signal(void *arg)
{
    stop_ctx *c = arg;
    sl_fakeapi_close(c->api);
    c->api = NULL;
    sl_signals_close();
}

int sl_cmd_fake_api(int argc, char **argv)
{
    sl_fakeapi_config cfg;
    int rc = 2;
    int r = sl_cli_options(sl_fakeapi_opts, &cfg, "fake-api", "fake-api", USAGE, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
    char err[256];
    if (sl_fakeapi_config_check(&cfg, err, sizeof(err))) {
        fprintf(stderr, "sluice fake-api: %s\n", err);
        goto out;
    }
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);

    uv_loop_t loop;
    uv_loop_init(&loop);
    stop_ctx ctx = {NULL};
    if (sl_fakeapi_open(&loop, &cfg, &ctx.api)) {
        fprintf(stderr, "sluice fake-api: could not start (see the log above)\n");
        uv_loop_close(&loop);
        rc = 1;
        goto out;
    }
    sl_signals_install(&loop, on_signal, &ctx);
    fprintf(stderr, "fake-api listening on %s://%s (port %d)\n", cfg.tls_cert ? "https" : "http",
            cfg.listen, sl_fakeapi_port(ctx.api));
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_fakeapi_close(ctx.api);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    rc = 0;
out:
    sl_config_free(sl_fakeapi_opts, &cfg);
    return rc;
}
