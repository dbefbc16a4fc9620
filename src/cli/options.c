/* options.c: option loading shared by the component subcommands. */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>

const char *sl_cli_take_config(int *argc, char **argv, bool *bad)
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

int sl_cli_options(const sl_opt *tbl, void *obj, const char *cmd, const char *section,
                   const char *usage, int argc, char **argv)
{
    sl_config_defaults(tbl, obj);
    bool bad = false;
    const char *file = sl_cli_take_config(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "sluice %s: --config needs a FILE\n", cmd);
        return SL_ERR_INVAL;
    }
    if (file) {
        sl_errs errs = {0};
        sl_yaml *root = NULL;
        if (sl_yaml_load_file(file, &root, &errs) == 0) {
            const sl_yaml *sec = sl_yaml_get(root, section);
            if (sec) sl_config_apply(tbl, obj, sec, section, &errs);
        }
        sl_yaml_free(root);
        if (errs.n) {
            sl_errs_print(&errs, stderr);
            sl_errs_free(&errs);
            return SL_ERR_INVAL;
        }
    }
    int argi = 1;
    int r = sl_args_parse(tbl, obj, cmd, usage, argc, argv, &argi);
    if (r != 0) return r;
    if (argi < argc) {
        fprintf(stderr, "sluice %s: unexpected argument '%s'\n", cmd, argv[argi]);
        return SL_ERR_INVAL;
    }
    return 0;
}
