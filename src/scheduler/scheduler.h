/* scheduler.h: the scheduler loop: DAG runs and their data intervals, catchup, max_active_runs,
 * manual triggers with conf, the task-instance state machine (tries, retries with exponential
 * backoff, trigger rules), parallelism and pools, heartbeats, orphan adoption and HA on one
 * metadata store (docs/scheduler.md). Every state change is one transaction of meta.h. */
#ifndef SL_SCHEDULER_SCHEDULER_H
#define SL_SCHEDULER_SCHEDULER_H

#include "scheduler/dag.h"
#include "scheduler/meta.h"

#include <uv.h>

typedef enum {
    SL_TI_NONE,      /* created with its run, waiting for its upstream tasks */
    SL_TI_SCHEDULED, /* may run; waiting for a slot */
    SL_TI_QUEUED,    /* claimed by a scheduler, its try counted */
    SL_TI_RUNNING,   /* its try's process runs */
    SL_TI_SUCCESS,
    SL_TI_FAILED,
    SL_TI_UP_FOR_RETRY, /* a try failed; the next waits for the retry delay */
    SL_TI_UPSTREAM_FAILED,
    SL_TI_SKIPPED,
} sl_ti_state;

typedef struct sl_sched_config {
    const char *data_dir;         /* try logs under DATA_DIR/logs */
    int parallelism;              /* tries running at once in this scheduler */
    int default_pool_slots;       /* slots of default_pool and of pools not configured */
    const char *pools;            /* "name=slots,name=slots" or NULL */
    int64_t tick_ms;              /* how often the loop looks for work without a wake-up */
    int64_t heartbeat_ms;         /* how often this scheduler heartbeats */
    int64_t heartbeat_timeout_ms; /* a scheduler silent this long is dead: its tries orphaned */
    /* A DAG new to the metadata store starts paused unless its is_paused_upon_creation says
     * otherwise (Airflow 2's [core] dags_are_paused_at_creation, true there). */
    bool dags_are_paused_at_creation;
} sl_sched_config;

typedef struct sl_sched sl_sched;

/* Registers this scheduler (a scheduler_job row), the DAGs and pools, and starts the loop's
 * timer and SIGCHLD watcher on loop. Borrows meta and dags until sl_sched_close. */
int sl_sched_open(uv_loop_t *loop, sl_meta *meta, const sl_dagset *dags, const sl_sched_config *cfg,
                  sl_sched **out);
/* An API-only handle over meta and dags for a process that serves the REST API beside a
 * running scheduler (the console): no job, no timer, no tries. Trigger, backfill, clear and
 * pause only write the metadata, which the scheduler reads at its next tick; data_dir is the
 * scheduler's, for try logs whose path the store lacks. Free with sl_sched_close. */
int sl_sched_open_api(sl_meta *meta, const sl_dagset *dags, const char *data_dir, sl_sched **out);
/* Kills the tries still running (each counts as a failed try), marks the job stopped, closes
 * the handles (run the loop afterwards) and frees s. */
void sl_sched_close(sl_sched *s);

/* Creates a manual run of dag_id with conf (a JSON object, NULL for "{}"), queued behind
 * max_active_runs; its run_id ("manual__<ts>") goes to run_id. Returns 0, SL_ERR_NOTFOUND
 * (unknown DAG), SL_ERR_INVAL (conf not a JSON object), SL_ERR_EXISTS or SL_ERR_CLOSED. */
int sl_sched_trigger(sl_sched *s, const char *dag_id, const char *conf_json, char *run_id,
                     size_t len);
/* The most intervals one backfill may create. */
#define SL_SCHED_MAX_BACKFILL 1000
/* Creates a backfill run (run_type "backfill", run_id "backfill__<start>", conf a JSON object or
 * NULL) for each interval of dag_id's schedule starting within [from_ms, to_ms], as Airflow's
 * `dags backfill -s -e`; an interval that already has a run is skipped. *created gets the count.
 * Returns 0, SL_ERR_NOTFOUND (unknown DAG), SL_ERR_INVAL (no repeating schedule, from after to,
 * bad conf), SL_ERR_LIMIT (over SL_SCHED_MAX_BACKFILL intervals) or SL_ERR_CLOSED. */
int sl_sched_backfill(sl_sched *s, const char *dag_id, int64_t from_ms, int64_t to_ms,
                      const char *conf_json, int *created);
/* Clears task_id of a run so it runs again, with downstream also every task that depends on
 * it: each goes back to waiting for its upstream (its try number kept, its retries restored),
 * and a finished run is queued again. Instances in flight downstream are left alone. cleared
 * (NULL, or one bool per task of the DAG in its order) gets which were cleared. Returns how
 * many, SL_ERR_NOTFOUND (unknown DAG, task or run), -EBUSY (the task itself is queued or
 * running) or SL_ERR_CLOSED. */
int sl_sched_clear(sl_sched *s, const char *dag_id, const char *run_id, const char *task_id,
                   bool downstream, bool *cleared);
/* Wakes the loop now (after a trigger or an unpause from another module). */
void sl_sched_wake(sl_sched *s);

sl_meta *sl_sched_meta(sl_sched *s);
const sl_dagset *sl_sched_dags(const sl_sched *s);
/* This scheduler's job id and the epoch ms of its last heartbeat (an API-only handle: the
 * newest heartbeat of any running scheduler in the store, 0 when none). */
int64_t sl_sched_job_id(const sl_sched *s);
int64_t sl_sched_last_heartbeat(const sl_sched *s);
const char *sl_sched_data_dir(const sl_sched *s);

/* The state machine, pure functions (tested on their own). */
const char *sl_ti_state_name(sl_ti_state st);
/* Returns 0 and sets *out, or SL_ERR_INVAL. */
int sl_ti_state_parse(const char *s, sl_ti_state *out);
/* True for success, failed, upstream_failed and skipped. */
bool sl_ti_state_done(sl_ti_state st);
/* What a waiting task becomes given its upstream tasks' states under rule: SL_TI_NONE (keep
 * waiting), SL_TI_SCHEDULED, SL_TI_SKIPPED or SL_TI_UPSTREAM_FAILED. No upstream: scheduled. */
sl_ti_state sl_sched_rule_eval(sl_trigger_rule rule, const sl_ti_state *up, size_t n);
/* The wait before the retry after failed try number try_number (1-based): retry_delay, doubled
 * per earlier retry with exponential backoff, capped by max_retry_delay (when > 0). */
int64_t sl_sched_retry_delay(const sl_task *t, int try_number);
/* The data interval of the next scheduled run whose interval starts at or after next_start
 * (INT64_MIN: none created yet), as of now: returns 1 and the interval when one is due (its end
 * has passed), 0 when none is due yet, -1 when the schedule has no more runs. Follows catchup:
 * without it only the latest complete interval is run. */
int sl_sched_next_interval(const sl_dag *d, int64_t next_start, int64_t now, int64_t *start,
                           int64_t *end);
/* "2024-01-31T00:00:00+00:00", the form of run ids. */
void sl_sched_iso(int64_t ms, char *buf, size_t len);

#endif
