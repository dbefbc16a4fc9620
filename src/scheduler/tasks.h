/* tasks.h: the task types of a DAG (ingest, shell, http, sql, sensor, noop): their fields checked
 * when a DAG loads, and one try of a task run in the calling process. docs/scheduler.md lists every
 * type's fields. */
#ifndef SL_SCHEDULER_TASKS_H
#define SL_SCHEDULER_TASKS_H

#include "core/config.h"
#include "scheduler/dag.h"

#include <stdio.h>

/* What a try knows about its run; the fields are rendered with template.h from it. */
typedef struct sl_task_ctx {
    const char *dag_id, *task_id, *run_id;
    int try_number;
    int64_t interval_start_ms, interval_end_ms; /* the run's data interval */
    const char *conf_json;                      /* the run's conf, "{}" when none */
    volatile int *cancel;                       /* set to 1 to ask the task to stop */
} sl_task_ctx;

/* Checks the type-specific fields of t at load; adds "file:line: ..." errors. */
int sl_task_check(const sl_task *t, sl_errs *errs);
/* True when t's type runs on a thread of the scheduler rather than in a child process (noop,
 * http, sensor: thread-safe, and they stop soon after their cancel flag is set). */
bool sl_task_in_process(const sl_task *t);
/* True when a child try of t's type execs a fresh sluice (sl_exec_set_program) before it runs
 * (ingest, sql): its libraries' locks may be held by an in-process try's thread at the fork. */
bool sl_task_fresh_process(const sl_task *t);
/* Runs one try of t (fields rendered with template.h using ctx) in the calling process,
 * writing its log to log; returns 0 on success, non-zero on failure (reason in the log). */
int sl_task_run(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx, FILE *log);

#endif
