/* main.c: the sluice entry point. Dispatches to one subcommand per component (ARCHITECTURE.md
 * "CLI contract"); the table in commands.c lists only subcommands that work. */
#include "cli/commands.h"
#include "core/log.h"
#include "up/supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "sluice %s: the randomuser -> Kafka -> stream -> Cassandra pipeline in one "
            "program\n\nUsage:\n",
            SLUICE_VERSION);
    for (const sl_command *c = sl_commands; c->name; c++)
        if (c->usage) fprintf(out, "  sluice %s\n", c->usage);
    fprintf(out, "  sluice --version | --help\n\n"
                 "Run 'sluice COMMAND --help' for the flags of a command.\n");
}

int main(int argc, char **argv)
{
    sl_sup_child_init();
    const char *lvl = getenv("SLUICE_LOG_LEVEL");
    if (lvl && sl_log_level_parse(lvl) >= 0) sl_log_level = sl_log_level_parse(lvl);

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    for (const sl_command *c = sl_commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);

    if (argv[1][0] == '-')
        fprintf(stderr, "sluice: unknown flag '%s' (try 'sluice --help')\n", argv[1]);
    else
        fprintf(stderr, "sluice: unknown command '%s' (try 'sluice --help')\n", argv[1]);
    return 2;
}
