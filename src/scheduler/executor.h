/* executor.h: runs one task try, with the try's log on disk: as a child process in a process
 * group of its own, so that a timeout or an orphaned try can be killed whole (the task and
 * everything it started); or, for the task types that stop promptly when asked
 * (sl_task_in_process), in-process on a thread of its own, without a fork. */
#ifndef SL_SCHEDULER_EXECUTOR_H
#define SL_SCHEDULER_EXECUTOR_H

#include "scheduler/dag.h"
#include "scheduler/tasks.h"

#include <sys/types.h>

/* A started try: the child waits on go_fd until sl_exec_go, so the scheduler can record it as
 * running (with its pid) before it does anything; if the scheduler dies first, the child reads
 * end-of-file and exits without running the task. */
typedef struct sl_exec_try {
    pid_t pid; /* also the process group id */
    int go_fd; /* write end; -1 once released */
} sl_exec_try;

/* The log file of a try: DATA_DIR/logs/DAG/RUN/TASK/TRY.log (as Airflow's dag_id=/run_id=/
 * task_id=/attempt= layout, shorter). Returns 0 or SL_ERR_TOOBIG when it does not fit. */
int sl_exec_log_path(const char *data_dir, const char *dag_id, const char *run_id,
                     const char *task_id, int try_number, char *buf, size_t len);

/* Sets the sluice binary that a child try of an ingest or sql task execs (`sluice __try`,
 * sl_exec_fresh_main) right after the fork, so that it runs in a fresh process image rather
 * than in a copy of the scheduler whose other threads may have held library locks at the fork.
 * NULL (the default) runs every type in the forked child itself. */
void sl_exec_set_program(const char *path);
/* The main of `sluice __try FD FILE DAG TASK RUN TRY START END CONF`: reads the DAG's text from
 * FD, loads it and runs the task's try with stdout and stderr as its log. Returns the exit
 * status: 0 success, 1 failure, 2 bad arguments. */
int sl_exec_fresh_main(int argc, char **argv);
/* Forks the child: a new process group, killed if the scheduler dies (PR_SET_PDEATHSIG); once
 * released it creates the log's directories, appends stdout and stderr to log_path and runs
 * sl_task_run(d, t, ctx); its exit status is 0 on success, 1 on failure. Returns 0 or -errno. */
int sl_exec_start(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx, const char *log_path,
                  sl_exec_try *out);
/* Lets the child run the task. */
void sl_exec_go(sl_exec_try *x);
/* SIGKILLs the whole process group pgid (a timeout, an orphan, a shutdown). Returns 0, or
 * -ESRCH when no process of the group is left. */
int sl_exec_kill_group(pid_t pgid);
/* An in-process try: sl_task_run on a thread of its own. */
typedef struct sl_exec_thread sl_exec_thread;
/* Called on the try's thread once the task has returned and its log is closed; the receiver
 * then calls sl_exec_join from its own thread. */
typedef void (*sl_exec_done_fn)(sl_exec_thread *x, void *arg);

/* Starts a thread that creates the log's directories, appends the executor's lines and the
 * task's own to log_path and runs sl_task_run(d, t, ctx) (ctx's strings are copied; ctx->cancel
 * is replaced by the thread's own flag, see sl_exec_cancel). d and t must outlive the thread.
 * Returns 0 or -errno; a log that cannot be created ends the try with -errno (sl_exec_join). */
int sl_exec_start_thread(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx,
                         const char *log_path, sl_exec_done_fn done, void *arg,
                         sl_exec_thread **out);
/* Asks the try to stop (a timeout, a shutdown): the task sees its cancel flag and returns. */
void sl_exec_cancel(sl_exec_thread *x);
/* Waits for the thread, frees x and returns the task's result (0: success). */
int sl_exec_join(sl_exec_thread *x);

/* Appends one line (with a UTC timestamp) to a try's log, from the scheduler's side: timeouts,
 * orphans, shutdowns. */
void sl_exec_log_note(const char *log_path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
