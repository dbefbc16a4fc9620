/* commands.h: the subcommands of the sluice binary, one file each (cmd_<name>.c).
 * Each returns the process exit status: 0 success, 1 runtime failure, 2 usage error. */
#ifndef SL_COMMANDS_H
#define SL_COMMANDS_H

typedef struct sl_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *usage;                 /* one line, after "sluice " */
} sl_command;

extern const sl_command sl_commands[];

/* `sluice topic`: list, create, describe, produce to and consume from Kafka topics. */
int sl_cmd_topic(int argc, char **argv);
/* `sluice broker`: the Kafka-compatible broker. */
int sl_cmd_broker(int argc, char **argv);
/* `sluice cql`: a cqlsh-like shell over the CQL client. */
int sl_cmd_cql(int argc, char **argv);
/* `sluice store`: the CQL-compatible store. */
int sl_cmd_store(int argc, char **argv);
/* `sluice ingest`: users from the randomuser API into a Kafka topic. */
int sl_cmd_ingest(int argc, char **argv);
/* `sluice process`: the stream processor (topic -> schema -> sink, bad records to a DLQ). */
int sl_cmd_process(int argc, char **argv);
/* `sluice fake-api`: the randomuser.me 1.4 API, offline and deterministic. */
int sl_cmd_fake_api(int argc, char **argv);
int sl_cmd_registry(int argc, char **argv);
/* `sluice up`: every component as a supervised child process. */
int sl_cmd_up(int argc, char **argv);
/* `sluice dag`: the scheduler's command line, over its REST API (test runs a task here). */
int sl_cmd_dag(int argc, char **argv);
/* `sluice scheduler`: the DAG scheduler (runs, retries, pools, HA on PostgreSQL). */
int sl_cmd_scheduler(int argc, char **argv);
/* `sluice console`: the web console, and `console user` to manage its users. */
int sl_cmd_console(int argc, char **argv);

#include "core/config.h"
/* `sluice scheduler`'s option table (its flags and the `scheduler:` section of sluice.yaml) and
 * the size of the object it fills, so `sluice up` can check that section. */
extern const sl_opt sl_scheduler_cli_opts[];
extern const size_t sl_scheduler_cli_opts_size;

#endif
