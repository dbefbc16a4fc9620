/* up_config.h: the whole sluice.yaml as `sluice up` sees it: every section it knows, checked at
 * once before anything starts, and the documented example file made from the same tables. */
#ifndef SL_CLI_UP_CONFIG_H
#define SL_CLI_UP_CONFIG_H

#include "core/config.h"

#include <stdbool.h>
#include <stdio.h>

/* `sluice up`'s own options: its flags and the `up:` section. */
typedef struct sl_up_args {
    char *data_dir;
    int64_t ingest_ms;
    int64_t partitions;
    bool check;        /* --check: validate, print the plan, exit */
    bool print_config; /* --print-config: print the example file, exit */
} sl_up_args;

extern const sl_opt sl_up_opts[];

/* Checks every section of root against its component's option table (and the pipeline's
 * schema and mapping); unknown sections and keys are errors. Each error is added to errs as
 * "FILE:LINE: section.key: reason". Returns the number added. */
int sl_up_config_check(const sl_yaml *root, sl_errs *errs);

/* Writes the example sluice.yaml: every section and key with its default and a comment. */
void sl_up_config_example(FILE *out);

#endif
