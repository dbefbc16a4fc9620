/* commands.c: the subcommand table. Add a line here when a component's subcommand works. */
#include "cli/commands.h"
#include "scheduler/executor.h"
#include <stddef.h>

const sl_command sl_commands[] = {
    {"broker", sl_cmd_broker,
     "broker [--listen HOST:PORT] [--data-dir DIR] [--advertised HOST:PORT] [--config FILE]"},
    {"topic", sl_cmd_topic,
     "topic [--kafka BOOTSTRAP] list | create T | describe T | produce T | consume T"},
    {"cql", sl_cmd_cql,
     "cql [HOST:PORT] [-u USER -p PASS] [-k KS] [-e STATEMENT] [-f FILE]   (a cqlsh-like shell)"},
    {"store", sl_cmd_store,
     "store [--listen HOST:PORT] [--data-dir DIR] [--auth on|off] [--user U --password P]"},
    {"ingest", sl_cmd_ingest,
     "ingest --source URL --topic T [--kafka BOOTSTRAP] [--duration 60s | --count N] [--stage "
     "URL]"},
    {"process", sl_cmd_process,
     "process [--config FILE] [--kafka BOOTSTRAP] [--sink URL] [--group G] [--metrics-listen "
     "HOST:PORT]"},
    {"fake-api", sl_cmd_fake_api,
     "fake-api [--listen HOST:PORT] [--quota N] [--quota-window 300s] [--latency-ms N] "
     "[--fail-rate 0.x]   (randomuser.me 1.4, offline)"},
    {"registry", sl_cmd_registry,
     "registry [--listen HOST:PORT] [--kafka BOOTSTRAP]   (a Confluent-compatible Schema "
     "Registry)"},
    {"up", sl_cmd_up, "up [--config FILE] [--data-dir DIR]   (the whole pipeline, supervised)"},
    {"dag", sl_cmd_dag,
     "dag list | trigger DAG [--conf JSON] | runs DAG | tasks DAG RUN | logs DAG RUN TASK | "
     "pause DAG | unpause DAG | backfill DAG --from D --to D | test DAG TASK   (--scheduler URL)"},
    {"scheduler", sl_cmd_scheduler,
     "scheduler [--dags DIR|FILE] [--metadata sqlite:PATH|postgresql://...] [--listen HOST:PORT] "
     "[--data-dir DIR]"},
    {"console", sl_cmd_console,
     "console [--listen HOST:PORT] [--data-dir DIR] [--kafka B] [--cql HOST:PORT] | console user "
     "add NAME [--role viewer] | user delete NAME | user list"},
    /* internal: a scheduler's ingest or sql try in a fresh process (src/scheduler/executor.h) */
    {"__try", sl_exec_fresh_main, NULL},
    {NULL, NULL, NULL},
};
