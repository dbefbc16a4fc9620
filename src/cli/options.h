/* options.h: how a component subcommand reads its options: defaults, then the COMMAND section of
 * a sluice.yaml given with --config FILE, then command-line flags, which win. */
#ifndef SL_CLI_OPTIONS_H
#define SL_CLI_OPTIONS_H

#include "core/config.h"

/* Fills obj from tbl's defaults, the `section:` map of --config FILE (if given) and the flags in
 * argv (argv[0] is the subcommand). Every config error is printed with file:line; a bad flag or
 * a stray argument prints one line "sluice CMD: reason". Returns 0 to run, 1 when --help was
 * printed (exit 0), or SL_ERR_INVAL (exit 2). obj is always initialised, so the caller frees it
 * with sl_config_free. */
int sl_cli_options(const sl_opt *tbl, void *obj, const char *cmd, const char *section,
                   const char *usage, int argc, char **argv);

/* Takes "--config FILE" / "--config=FILE" out of argv (compacting it, *argc updated), so the
 * file can be applied before the flags. Returns the file or NULL; *bad is set when --config has
 * no value. For subcommands whose section needs more than an option table. */
const char *sl_cli_take_config(int *argc, char **argv, bool *bad);

#endif
