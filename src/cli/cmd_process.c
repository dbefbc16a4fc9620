/* cmd_process.c: `sluice process`, the stream processor (src/pipeline/process.h) as a process.
 *
 *   sluice process [--config FILE] [--kafka BOOTSTRAP] [--sink URL] [--group G]
 *                  [--metrics-listen HOST:PORT] [options]
 *
 * Options come from the defaults (the seeds' pipeline), then the `pipeline:` section of FILE,
 * then the flags. SIGTERM or SIGINT drains and exits 0; a second one exits 130 at once (which
 * loses nothing: uncommitted records are processed again). Exit 1: the drain gave up on a
 * failing sink, or the clients or the metrics listener could not be set up; 2: bad usage or
 * configuration. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/config.h"
#include "core/log.h"
#include "pipeline/process.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "process [--config FILE] [--kafka BOOTSTRAP] [--sink URL] [--group G] "                        \
    "[--metrics-listen HOST:PORT] [options]"

static sl_process *running;
static volatile sig_atomic_t signals_seen;

/* Installed first thing, so that a SIGTERM during startup also ends in a clean exit 0. */
static void on_signal(int sig)
{
    SL_UNUSED(sig);
    if (signals_seen++) _exit(130);
    if (running) sl_process_stop(running);
}

/* Defaults, then the file's pipeline section, then the flags. 0: run, 1: --help, else exit 2. */
static int load_options(sl_process_config *cfg, int argc, char **argv)
{
    bool bad = false;
    const char *file = sl_cli_take_config(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "sluice process: --config needs a FILE\n");
        return SL_ERR_INVAL;
    }
    if (file) {
        sl_errs errs = {0};
        sl_yaml *root = NULL;
        if (sl_yaml_load_file(file, &root, &errs) == 0) {
            if (root && root->kind != SL_YAML_MAP)
                sl_errs_add(&errs, root->file, root->line, "expected a map of sections");
            else
                sl_process_config_apply(cfg, sl_yaml_get(root, "pipeline"), &errs);
        }
        sl_yaml_free(root);
        if (errs.n) {
            sl_errs_print(&errs, stderr);
            sl_errs_free(&errs);
            return SL_ERR_INVAL;
        }
    }
    int argi = 1;
    int r = sl_args_parse(sl_process_opts, cfg, "process", USAGE, argc, argv, &argi);
    if (r != 0) return r;
    if (argi < argc) {
        fprintf(stderr, "sluice process: unexpected argument '%s'\n", argv[argi]);
        return SL_ERR_INVAL;
    }
    char err[256];
    if (sl_process_config_check(cfg, err, sizeof err)) {
        fprintf(stderr, "sluice process: %s\n", err);
        return SL_ERR_INVAL;
    }
    return 0;
}

int sl_cmd_process(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sl_process_config cfg;
    sl_process_config_init(&cfg);
    int rc = 2;
    int r = load_options(&cfg, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
    sl_log_level = sl_log_level_parse(cfg.log_level);

    char err[512];
    sl_process *p = NULL;
    if (sl_process_open(&cfg, &p, err, sizeof err)) {
        fprintf(stderr, "sluice process: %s\n", err);
        rc = 1;
        goto out;
    }
    running = p;
    if (signals_seen) sl_process_stop(p);
    rc = sl_process_run(p) == 0 ? 0 : 1;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    running = NULL;
    sl_process_close(p);
out:
    sl_process_config_free(&cfg);
    return rc;
}
