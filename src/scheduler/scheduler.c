/* scheduler.c: the scheduler loop over the metadata store.
 *
 * One libuv timer drives a tick: heartbeat, orphan adoption, run creation and promotion, the
 * task-instance state machine of each running run, and the launch of scheduled tries. A child's
 * exit (SIGCHLD) or a trigger wakes the tick at once. Every state change is one transaction;
 * rows other schedulers may touch are taken with FOR UPDATE SKIP LOCKED on PostgreSQL, so two
 * schedulers never evaluate the same run or claim the same try at once. */
#include "scheduler/scheduler.h"

#include "core/log.h"
#include "scheduler/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DONE_MS           INT64_MAX /* dag.next_interval_ms once a schedule has no more runs */
#define MAX_RUNS_PER_TICK 64

typedef struct running {
    char *dag_id, *run_id, *task_id;
    int try_number, max_tries;
    pid_t pid;           /* the child's, also its process group; 0 for an in-process try */
    sl_exec_thread *th;  /* an in-process try's thread, NULL for a child */
    int64_t deadline_ms; /* monotonic; 0: no execution_timeout */
    bool timed_out;
    const sl_task *task;
    char log_path[1024];
} running;

typedef struct dag_state {
    bool known; /* has a row in dag */
    bool paused;
    int64_t next_interval_ms; /* INT64_MIN: none yet */
    int queued, running;
} dag_state;

struct sl_sched {
    uv_loop_t *loop;
    sl_meta *m;
    const sl_dagset *dags;
    sl_sched_config cfg;
    char *data_dir, *pools;
    uv_timer_t timer;
    uv_signal_t sigchld;
    /* In-process tries that ended: pushed by their threads (on_thread_done), taken by the loop
     * thread (on_threads_done, woken by done_async). */
    uv_async_t done_async;
    uv_mutex_t done_lock;
    sl_exec_thread **done;
    size_t ndone, capdone;
    int open_handles; /* the uv handles still to be closed before s is freed */
    int64_t job_id, last_hb, last_orphan_check;
    char hostname[256];
    running *run;
    size_t nrun, caprun;
    dag_state *ds;    /* one per dags->dags[i] */
    int64_t next_due; /* epoch ms of the earliest known deadline, for the timer */
    bool closing;
};

static const char *const state_names[] = {
    [SL_TI_NONE] = "none",
    [SL_TI_SCHEDULED] = "scheduled",
    [SL_TI_QUEUED] = "queued",
    [SL_TI_RUNNING] = "running",
    [SL_TI_SUCCESS] = "success",
    [SL_TI_FAILED] = "failed",
    [SL_TI_UP_FOR_RETRY] = "up_for_retry",
    [SL_TI_UPSTREAM_FAILED] = "upstream_failed",
    [SL_TI_SKIPPED] = "skipped",
};

const char *sl_ti_state_name(sl_ti_state st)
{
    return (size_t)st < SL_ARRAY_LEN(state_names) ? state_names[st] : "?";
}

int sl_ti_state_parse(const char *s, sl_ti_state *out)
{
    for (size_t i = 0; s && i < SL_ARRAY_LEN(state_names); i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (sl_ti_state)i;
            return 0;
        }
    return SL_ERR_INVAL;
}

bool sl_ti_state_done(sl_ti_state st)
{
    return st == SL_TI_SUCCESS || st == SL_TI_FAILED || st == SL_TI_UPSTREAM_FAILED ||
           st == SL_TI_SKIPPED;
}

/* Airflow 2's trigger-rule dependency: all_success fails or skips as soon as one upstream did,
 * one_failed and one_success fire as soon as one upstream did, otherwise they wait until every
 * upstream is done. */
sl_ti_state sl_sched_rule_eval(sl_trigger_rule rule, const sl_ti_state *up, size_t n)
{
    size_t succ = 0, fail = 0, skip = 0, done = 0;
    for (size_t i = 0; i < n; i++) {
        succ += up[i] == SL_TI_SUCCESS;
        fail += up[i] == SL_TI_FAILED || up[i] == SL_TI_UPSTREAM_FAILED;
        skip += up[i] == SL_TI_SKIPPED;
        done += sl_ti_state_done(up[i]);
    }
    if (n == 0) return SL_TI_SCHEDULED;
    switch (rule) {
    case SL_RULE_ALL_SUCCESS:
        if (fail) return SL_TI_UPSTREAM_FAILED;
        if (skip) return SL_TI_SKIPPED;
        return succ == n ? SL_TI_SCHEDULED : SL_TI_NONE;
    case SL_RULE_ALL_DONE: return done == n ? SL_TI_SCHEDULED : SL_TI_NONE;
    case SL_RULE_ONE_FAILED:
        if (fail) return SL_TI_SCHEDULED;
        return done == n ? SL_TI_SKIPPED : SL_TI_NONE;
    case SL_RULE_ONE_SUCCESS:
        if (succ) return SL_TI_SCHEDULED;
        if (done < n) return SL_TI_NONE;
        return fail ? SL_TI_UPSTREAM_FAILED : SL_TI_SKIPPED;
    }
    return SL_TI_NONE;
}

int64_t sl_sched_retry_delay(const sl_task *t, int try_number)
{
    int64_t d = t->retry_delay_ms;
    if (t->retry_exponential_backoff)
        for (int i = 1; i < try_number && d < INT64_MAX / 2; i++)
            d *= 2;
    if (t->retry_exponential_backoff && t->max_retry_delay_ms > 0 && d > t->max_retry_delay_ms)
        d = t->max_retry_delay_ms;
    return d;
}

int sl_sched_next_interval(const sl_dag *d, int64_t next_start, int64_t now, int64_t *start,
                           int64_t *end)
{
    const sl_cron *c = d->schedule;
    if (!c || next_start == DONE_MS) return -1;
    int64_t s, e;
    if (next_start != INT64_MIN) {
        s = next_start;
    } else if (d->start_date_ms) {
        if (sl_cron_next(c, d->start_date_ms - 1, &s)) return -1;
    } else if (sl_cron_next(c, now, &s)) {
        return -1;
    }
    if (sl_cron_kind_of(c) == SL_CRON_ONCE) {
        if (next_start != INT64_MIN) return -1;
        *start = *end = s;
        return s <= now ? 1 : 0;
    }
    /* Without catchup only the latest complete interval runs (Airflow's catchup=False). */
    int64_t le, ls;
    if (!d->catchup && sl_cron_prev(c, now + 1, &le) == 0 && sl_cron_prev(c, le, &ls) == 0 &&
        ls > s)
        s = ls;
    if (d->end_date_ms && s > d->end_date_ms) return -1;
    if (sl_cron_next(c, s, &e)) return -1;
    *start = s;
    *end = e;
    return e <= now ? 1 : 0;
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void sl_sched_iso(int64_t ms, char *buf, size_t len)
{
    /* By hand for the common case (years 1970-9999): the API formats thousands of these per
     * page, and strftime costs ten times as much. */
    if (ms >= 0 && ms < 253402300800000 && len >= sizeof "2024-01-31T00:00:00.000+00:00") {
        int64_t days = ms / 86400000, rem = ms % 86400000, y;
        int m, d;
        sl_civil_from_days(days, &y, &m, &d);
        char *p = put_digits(buf, y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, d, 2);
        *p++ = 'T';
        p = put_digits(p, rem / 3600000, 2);
        *p++ = ':';
        p = put_digits(p, rem / 60000 % 60, 2);
        *p++ = ':';
        p = put_digits(p, rem / 1000 % 60, 2);
        if (rem % 1000) {
            *p++ = '.';
            p = put_digits(p, rem % 1000, 3);
        }
        memcpy(p, "+00:00", sizeof "+00:00");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms % 1000) n += (size_t)snprintf(buf + n, len - n, ".%03d", (int)(ms % 1000));
    snprintf(buf + n, len - n, "+00:00");
}

static void i64s(char *buf, int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
}

static void rescheduled(sl_sched *s, int64_t due)
{
    if (due < s->next_due) s->next_due = due;
}

static int dag_index(const sl_sched *s, const char *dag_id)
{
    for (size_t i = 0; i < s->dags->n; i++)
        if (strcmp(s->dags->dags[i].id, dag_id) == 0) return (int)i;
    return -1;
}

static int task_index(const sl_dag *d, const char *task_id)
{
    const sl_task *t = sl_dag_task(d, task_id);
    return t ? (int)(t - d->tasks) : -1;
}

/* Inserts a run and its task instances; 1 if created, 0 if the run id exists, < 0 on error.
 * Called inside a transaction. */
static int insert_run(sl_sched *s, const sl_dag *d, const char *run_id, const char *type,
                      const char *state, int64_t logical, int64_t start, int64_t end,
                      const char *conf)
{
    char lg[24], st[24], en[24], now[24];
    i64s(lg, logical);
    i64s(st, start);
    i64s(en, end);
    i64s(now, sl_now_ms());
    const char *p[] = {d->id, run_id, type, state, lg, st, en, conf, now};
    int64_t n = sl_meta_exec_changes(
        s->m,
        "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_ms, interval_start_ms,"
        " interval_end_ms, conf, queued_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
        " ON CONFLICT DO NOTHING",
        9, p);
    if (n <= 0) return (int)n;
    for (size_t i = 0; i < d->ntasks; i++) {
        char mt[24];
        i64s(mt, d->tasks[i].retries + 1);
        const char *q[] = {d->id, run_id, d->tasks[i].id, mt,
                           d->tasks[i].pool ? d->tasks[i].pool : "default_pool"};
        if (sl_meta_exec(s->m,
                         "INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number,"
                         " max_tries, pool) VALUES ($1,$2,$3,'none',0,$4,$5)",
                         5, q, NULL))
            return SL_ERR_CLOSED;
    }
    char iso[64];
    sl_sched_iso(start, iso, sizeof iso);
    SL_INFO("sched", "created run %s.%s (%s, interval from %s)", d->id, run_id, state, iso);
    return 1;
}

int sl_sched_trigger(sl_sched *s, const char *dag_id, const char *conf_json, char *run_id,
                     size_t len)
{
    int di = dag_index(s, dag_id);
    if (di < 0) return SL_ERR_NOTFOUND;
    const sl_dag *d = &s->dags->dags[di];
    char *conf = NULL;
    if (conf_json) {
        json_error_t je;
        json_t *j = json_loads(conf_json, 0, &je);
        bool ok = j && json_is_object(j);
        if (ok) conf = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!ok) return SL_ERR_INVAL;
    }
    int64_t now = sl_now_ms(), start = now, end = now, e, st;
    /* As Airflow infers a manual run's interval: the latest complete one of the schedule. */
    if (d->schedule && sl_cron_kind_of(d->schedule) != SL_CRON_ONCE &&
        sl_cron_prev(d->schedule, now + 1, &e) == 0 && sl_cron_prev(d->schedule, e, &st) == 0) {
        start = st;
        end = e;
    }
    char iso[64];
    sl_sched_iso(now, iso, sizeof iso);
    snprintf(run_id, len, "manual__%s", iso);
    int rc = sl_meta_begin(s->m);
    if (!rc) rc = insert_run(s, d, run_id, "manual", "queued", now, start, end, conf ? conf : "{}");
    free(conf);
    if (rc == 1)
        rc = sl_meta_commit(s->m);
    else if (rc == 0)
        rc = SL_ERR_EXISTS;
    if (rc) {
        if (rc == SL_ERR_CLOSED) SL_ERROR("sched", "trigger %s: %s", dag_id, sl_meta_error(s->m));
        sl_meta_rollback(s->m);
        return rc;
    }
    sl_sched_wake(s);
    return 0;
}

int sl_sched_backfill(sl_sched *s, const char *dag_id, int64_t from_ms, int64_t to_ms,
                      const char *conf_json, int *created)
{
    *created = 0;
    int di = dag_index(s, dag_id);
    if (di < 0) return SL_ERR_NOTFOUND;
    const sl_dag *d = &s->dags->dags[di];
    if (!d->schedule || sl_cron_kind_of(d->schedule) == SL_CRON_ONCE || from_ms > to_ms)
        return SL_ERR_INVAL;
    char *conf = NULL;
    if (conf_json) {
        json_t *j = json_loads(conf_json, 0, NULL);
        bool ok = j && json_is_object(j);
        if (ok) conf = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!ok) return SL_ERR_INVAL;
    }
    int rc = sl_meta_begin(s->m);
    int64_t start, end;
    int n = 0;
    for (int r = rc ? -1 : sl_cron_next(d->schedule, from_ms - 1, &start);
         !rc && r == 0 && start <= to_ms; r = sl_cron_next(d->schedule, start, &start)) {
        if (sl_cron_next(d->schedule, start, &end) != 0) break;
        if (++n > SL_SCHED_MAX_BACKFILL) {
            rc = SL_ERR_LIMIT;
            break;
        }
        /* an interval that already has a run (scheduled, manual at that instant or an earlier
         * backfill) is not run again */
        char lg[24];
        i64s(lg, start);
        const char *p[] = {d->id, lg};
        sl_meta_rows rows;
        if (sl_meta_exec(s->m, "SELECT 1 FROM dag_run WHERE dag_id = $1 AND logical_ms = $2", 2, p,
                         &rows)) {
            rc = SL_ERR_CLOSED;
            break;
        }
        bool exists = rows.nrows > 0;
        sl_meta_rows_free(&rows);
        if (exists) continue;
        char iso[64], run_id[96];
        sl_sched_iso(start, iso, sizeof iso);
        snprintf(run_id, sizeof run_id, "backfill__%s", iso);
        int ir =
            insert_run(s, d, run_id, "backfill", "queued", start, start, end, conf ? conf : "{}");
        if (ir < 0) rc = ir;
        if (ir == 1) (*created)++;
    }
    free(conf);
    if (!rc) rc = sl_meta_commit(s->m);
    if (rc) {
        if (rc == SL_ERR_CLOSED) SL_ERROR("sched", "backfill %s: %s", dag_id, sl_meta_error(s->m));
        sl_meta_rollback(s->m);
        *created = 0;
        return rc;
    }
    sl_sched_wake(s);
    return 0;
}

/* Marks task ti of d and, with downstream, every task that depends on it transitively: tasks
 * are in dependency order, so one pass over the later ones finds them all. */
static void mark_downstream(const sl_dag *d, size_t ti, bool downstream, bool *mark)
{
    mark[ti] = true;
    for (size_t j = ti + 1; downstream && j < d->ntasks; j++)
        for (size_t k = 0; k < d->tasks[j].ndeps && !mark[j]; k++) {
            int u = task_index(d, d->tasks[j].depends_on[k]);
            if (u >= 0 && mark[u]) mark[j] = true;
        }
}

int sl_sched_clear(sl_sched *s, const char *dag_id, const char *run_id, const char *task_id,
                   bool downstream, bool *cleared)
{
    int di = dag_index(s, dag_id);
    if (di < 0) return SL_ERR_NOTFOUND;
    const sl_dag *d = &s->dags->dags[di];
    int ti = task_index(d, task_id);
    if (ti < 0) return SL_ERR_NOTFOUND;
    if (cleared) memset(cleared, 0, d->ntasks * sizeof *cleared);
    int count = 0;
    bool *mark = sl_calloc(d->ntasks, sizeof *mark);
    mark_downstream(d, (size_t)ti, downstream, mark);
    char lock[200];
    snprintf(lock, sizeof lock, "SELECT state FROM dag_run WHERE dag_id=$1 AND run_id=$2%s",
             sl_meta_lock_clause(s->m));
    const char *p[] = {dag_id, run_id};
    sl_meta_rows r = {0};
    int rc = sl_meta_begin(s->m) ? SL_ERR_CLOSED : 0;
    if (!rc && sl_meta_exec(s->m, lock, 2, p, &r)) rc = SL_ERR_CLOSED;
    if (!rc && r.nrows != 1) rc = SL_ERR_NOTFOUND;
    sl_meta_rows_free(&r);
    /* The task itself must not be in flight: its try would finish over the cleared state. */
    const char *q0[] = {dag_id, run_id, task_id};
    if (!rc && sl_meta_exec(s->m,
                            "SELECT state FROM task_instance WHERE dag_id=$1 AND run_id=$2 AND"
                            " task_id=$3",
                            3, q0, &r))
        rc = SL_ERR_CLOSED;
    if (!rc && r.nrows == 1 &&
        (strcmp(sl_meta_cell(&r, 0, 0), "queued") == 0 ||
         strcmp(sl_meta_cell(&r, 0, 0), "running") == 0))
        rc = -EBUSY;
    sl_meta_rows_free(&r);
    for (size_t i = 0; i < d->ntasks && !rc; i++) {
        if (!mark[i]) continue;
        /* As Airflow's clear: the try number stays (the next try counts on from it) and the
         * task gets its retries again; downstream tries in flight are left to finish. */
        char rt[24];
        i64s(rt, d->tasks[i].retries + 1);
        const char *q[] = {dag_id, run_id, d->tasks[i].id, rt};
        int64_t n = sl_meta_exec_changes(
            s->m,
            "UPDATE task_instance SET state='none', max_tries=try_number+$4, next_try_ms=NULL,"
            " start_ms=NULL, end_ms=NULL, pid=NULL WHERE dag_id=$1 AND run_id=$2 AND task_id=$3"
            " AND state NOT IN ('queued','running')",
            4, q);
        if (n < 0) rc = SL_ERR_CLOSED;
        if (n > 0 && cleared) cleared[i] = true;
        count += n > 0;
    }
    /* A finished run goes back to queued, so max_active_runs holds when it starts again. */
    if (!rc && sl_meta_exec(s->m,
                            "UPDATE dag_run SET state='queued', end_ms=NULL WHERE dag_id=$1 AND"
                            " run_id=$2 AND state IN ('success','failed')",
                            2, p, NULL))
        rc = SL_ERR_CLOSED;
    if (!rc) rc = sl_meta_commit(s->m) ? SL_ERR_CLOSED : 0;
    sl_free(mark);
    if (rc) {
        if (rc == SL_ERR_CLOSED) SL_ERROR("sched", "clear %s: %s", dag_id, sl_meta_error(s->m));
        sl_meta_rollback(s->m);
        if (cleared) memset(cleared, 0, d->ntasks * sizeof *cleared);
        return rc;
    }
    SL_INFO("sched", "cleared %d task instance(s) of %s.%s from %s", count, dag_id, run_id,
            task_id);
    sl_sched_wake(s);
    return count;
}

/* Reads every DAG's row and its counts of queued and running runs. */
static int load_dag_states(sl_sched *s)
{
    sl_meta_rows r;
    for (size_t i = 0; i < s->dags->n; i++)
        s->ds[i] = (dag_state){.next_interval_ms = INT64_MIN};
    if (sl_meta_exec(s->m, "SELECT dag_id, is_paused, next_interval_ms FROM dag", 0, NULL, &r))
        return SL_ERR_CLOSED;
    for (size_t i = 0; i < r.nrows; i++) {
        int di = dag_index(s, sl_meta_cell(&r, i, 0));
        if (di < 0) continue;
        s->ds[di].known = true;
        s->ds[di].paused = sl_meta_cell_i64(&r, i, 1, 0) != 0;
        s->ds[di].next_interval_ms = sl_meta_cell_i64(&r, i, 2, INT64_MIN);
    }
    sl_meta_rows_free(&r);
    if (sl_meta_exec(s->m,
                     "SELECT dag_id, state, count(*) FROM dag_run WHERE state IN"
                     " ('queued','running') GROUP BY dag_id, state",
                     0, NULL, &r))
        return SL_ERR_CLOSED;
    for (size_t i = 0; i < r.nrows; i++) {
        int di = dag_index(s, sl_meta_cell(&r, i, 0));
        if (di < 0) continue;
        int n = (int)sl_meta_cell_i64(&r, i, 2, 0);
        if (strcmp(sl_meta_cell(&r, i, 1), "queued") == 0)
            s->ds[di].queued = n;
        else
            s->ds[di].running = n;
    }
    sl_meta_rows_free(&r);
    return 0;
}

/* One transaction for one DAG: create its next due run (if max_active_runs allows) and promote
 * queued runs to running. Returns 1 if it changed something, 0 if not, < 0 on error. */
static int step_dag(sl_sched *s, size_t di, int64_t now)
{
    const sl_dag *d = &s->dags->dags[di];
    const char *p[] = {d->id};
    char lock[160];
    snprintf(lock, sizeof lock, "SELECT is_paused, next_interval_ms FROM dag WHERE dag_id=$1%s",
             sl_meta_lock_clause(s->m));
    if (sl_meta_begin(s->m)) return SL_ERR_CLOSED;
    sl_meta_rows r;
    if (sl_meta_exec(s->m, lock, 1, p, &r)) goto fail;
    bool got = r.nrows == 1 && sl_meta_cell_i64(&r, 0, 0, 0) == 0;
    int64_t next = sl_meta_cell_i64(&r, 0, 1, INT64_MIN);
    sl_meta_rows_free(&r);
    if (!got) { /* another scheduler holds it, or it was paused */
        sl_meta_rollback(s->m);
        return 0;
    }
    if (sl_meta_exec(s->m,
                     "SELECT state, count(*) FROM dag_run WHERE dag_id=$1 AND state IN"
                     " ('queued','running') GROUP BY state",
                     1, p, &r))
        goto fail;
    int queued = 0, run = 0, changed = 0;
    for (size_t i = 0; i < r.nrows; i++) {
        if (strcmp(sl_meta_cell(&r, i, 0), "queued") == 0)
            queued = (int)sl_meta_cell_i64(&r, i, 1, 0);
        else
            run = (int)sl_meta_cell_i64(&r, i, 1, 0);
    }
    sl_meta_rows_free(&r);
    int64_t start, end;
    int due = sl_sched_next_interval(d, next, now, &start, &end);
    if (due == 1 && queued + run < d->max_active_runs) {
        char iso[64], run_id[96], nx[24];
        sl_sched_iso(start, iso, sizeof iso);
        snprintf(run_id, sizeof run_id, "scheduled__%s", iso);
        if (insert_run(s, d, run_id, "scheduled", "queued", start, start, end, "{}") < 0) goto fail;
        bool once = sl_cron_kind_of(d->schedule) == SL_CRON_ONCE;
        i64s(nx, once ? DONE_MS : end);
        const char *q[] = {d->id, nx};
        if (sl_meta_exec(s->m, "UPDATE dag SET next_interval_ms=$2 WHERE dag_id=$1", 2, q, NULL))
            goto fail;
        queued++;
        changed = 1;
    } else if (due == -1 && next != DONE_MS) {
        char nx[24];
        i64s(nx, DONE_MS);
        const char *q[] = {d->id, nx};
        if (sl_meta_exec(s->m, "UPDATE dag SET next_interval_ms=$2 WHERE dag_id=$1", 2, q, NULL))
            goto fail;
        changed = 1;
    } else if (due == 0) {
        rescheduled(s, end);
    }
    if (queued > 0 && run < d->max_active_runs) {
        char nw[24];
        i64s(nw, now);
        const char *q[] = {d->id, nw};
        int64_t n = sl_meta_exec_changes(
            s->m,
            "UPDATE dag_run SET state='running', start_ms=$2 WHERE dag_id=$1 AND run_id ="
            " (SELECT run_id FROM dag_run WHERE dag_id=$1 AND state='queued'"
            " ORDER BY logical_ms, run_id LIMIT 1)",
            2, q);
        if (n < 0) goto fail;
        changed |= n > 0;
    }
    if (sl_meta_commit(s->m)) goto fail;
    return changed;
fail:
    SL_ERROR("sched", "dag %s: %s", d->id, sl_meta_error(s->m));
    sl_meta_rollback(s->m);
    return SL_ERR_CLOSED;
}

static void create_runs(sl_sched *s, int64_t now)
{
    if (load_dag_states(s)) {
        SL_ERROR("sched", "reading DAG states: %s", sl_meta_error(s->m));
        return;
    }
    for (size_t i = 0; i < s->dags->n; i++) {
        const sl_dag *d = &s->dags->dags[i];
        dag_state *st = &s->ds[i];
        if (st->paused) continue;
        int64_t a, b;
        int due = sl_sched_next_interval(d, st->next_interval_ms, now, &a, &b);
        if (due == 0) rescheduled(s, b);
        if (due == 0 && st->next_interval_ms == INT64_MIN && !d->start_date_ms) {
            /* No start_date: the first interval is the one after the DAG was first seen. */
            char nx[24];
            i64s(nx, a);
            const char *q[] = {d->id, nx};
            if (sl_meta_exec(s->m,
                             "UPDATE dag SET next_interval_ms=$2 WHERE dag_id=$1 AND"
                             " next_interval_ms IS NULL",
                             2, q, NULL))
                SL_ERROR("sched", "dag %s: %s", d->id, sl_meta_error(s->m));
        }
        bool work = (due == 1 && st->queued + st->running < d->max_active_runs) ||
                    (due == -1 && st->next_interval_ms != DONE_MS && d->schedule) ||
                    (st->queued > 0 && st->running < d->max_active_runs);
        for (int n = 0; work && n < MAX_RUNS_PER_TICK; n++)
            if (step_dag(s, i, now) <= 0) break;
    }
}

/* One transaction per run: moves its task instances along the state machine and finishes the
 * run when every one is done (failed if a leaf task failed or was upstream_failed). */
static int eval_run(sl_sched *s, const sl_dag *d, const char *run_id, int64_t now)
{
    const char *p[] = {d->id, run_id};
    char lock[200];
    snprintf(lock, sizeof lock,
             "SELECT run_id FROM dag_run WHERE dag_id=$1 AND run_id=$2 AND state='running'%s",
             sl_meta_lock_clause(s->m));
    if (sl_meta_begin(s->m)) return SL_ERR_CLOSED;
    sl_meta_rows r = {0};
    sl_ti_state *st = NULL, *old = NULL;
    int64_t *next_try = NULL;
    if (sl_meta_exec(s->m, lock, 2, p, &r)) goto fail;
    bool got = r.nrows == 1;
    sl_meta_rows_free(&r);
    if (!got) {
        sl_meta_rollback(s->m);
        return 0;
    }
    if (sl_meta_exec(s->m,
                     "SELECT task_id, state, next_try_ms FROM task_instance WHERE dag_id=$1 AND"
                     " run_id=$2",
                     2, p, &r))
        goto fail;
    size_t n = d->ntasks;
    st = sl_calloc(n ? n : 1, sizeof *st);
    old = sl_calloc(n ? n : 1, sizeof *old);
    next_try = sl_calloc(n ? n : 1, sizeof *next_try);
    bool *present = sl_calloc(n ? n : 1, sizeof *present);
    for (size_t i = 0; i < r.nrows; i++) {
        int ti = task_index(d, sl_meta_cell(&r, i, 0));
        if (ti < 0 || sl_ti_state_parse(sl_meta_cell(&r, i, 1), &st[ti])) continue;
        present[ti] = true;
        next_try[ti] = sl_meta_cell_i64(&r, i, 2, 0);
    }
    sl_meta_rows_free(&r);
    memcpy(old, st, n * sizeof *st);
    sl_ti_state up[64], *ups = up;
    size_t all_done = 0, leaf_failed = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_task *t = &d->tasks[i];
        if (!present[i]) {
            /* A task added to the DAG after the run was created joins it. */
            char mt[24];
            i64s(mt, t->retries + 1);
            const char *q[] = {d->id, run_id, t->id, mt, t->pool ? t->pool : "default_pool"};
            if (sl_meta_exec(s->m,
                             "INSERT INTO task_instance (dag_id, run_id, task_id, state,"
                             " try_number, max_tries, pool) VALUES ($1,$2,$3,'none',0,$4,$5)",
                             5, q, NULL))
                goto fail_present;
        }
        if (st[i] == SL_TI_NONE) {
            if (t->ndeps > SL_ARRAY_LEN(up)) ups = sl_calloc(t->ndeps, sizeof *ups);
            for (size_t k = 0; k < t->ndeps; k++) {
                int u = task_index(d, t->depends_on[k]);
                ups[k] = u >= 0 ? st[u] : SL_TI_SUCCESS;
            }
            st[i] = sl_sched_rule_eval(t->trigger_rule, ups, t->ndeps);
            if (ups != up) sl_free(ups);
            ups = up;
        } else if (st[i] == SL_TI_UP_FOR_RETRY) {
            if (next_try[i] <= now)
                st[i] = SL_TI_SCHEDULED;
            else
                rescheduled(s, next_try[i]);
        }
        all_done += sl_ti_state_done(st[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (st[i] == old[i]) continue;
        char nw[24];
        i64s(nw, now);
        const char *q[] = {d->id,
                           run_id,
                           d->tasks[i].id,
                           sl_ti_state_name(st[i]),
                           sl_ti_state_name(old[i]),
                           sl_ti_state_done(st[i]) ? nw : NULL};
        if (sl_meta_exec(s->m,
                         "UPDATE task_instance SET state=$4, end_ms=$6 WHERE dag_id=$1 AND"
                         " run_id=$2 AND task_id=$3 AND state=$5",
                         6, q, NULL))
            goto fail_present;
    }
    if (all_done == n) {
        for (size_t i = 0; i < n; i++) {
            bool leaf = true;
            for (size_t j = 0; j < n && leaf; j++)
                for (size_t k = 0; k < d->tasks[j].ndeps; k++)
                    if (strcmp(d->tasks[j].depends_on[k], d->tasks[i].id) == 0) leaf = false;
            if (leaf && (st[i] == SL_TI_FAILED || st[i] == SL_TI_UPSTREAM_FAILED)) leaf_failed++;
        }
        char nw[24];
        i64s(nw, now);
        const char *q[] = {d->id, run_id, leaf_failed ? "failed" : "success", nw};
        if (sl_meta_exec(s->m,
                         "UPDATE dag_run SET state=$3, end_ms=$4 WHERE dag_id=$1 AND run_id=$2", 4,
                         q, NULL))
            goto fail_present;
        SL_INFO("sched", "run %s.%s %s", d->id, run_id, leaf_failed ? "failed" : "succeeded");
    }
    sl_free(present);
    sl_free(st);
    sl_free(old);
    sl_free(next_try);
    return sl_meta_commit(s->m) ? SL_ERR_CLOSED : 0;
fail_present:
    sl_free(present);
fail:
    SL_ERROR("sched", "run %s.%s: %s", d->id, run_id, sl_meta_error(s->m));
    sl_meta_rollback(s->m);
    sl_free(st);
    sl_free(old);
    sl_free(next_try);
    return SL_ERR_CLOSED;
}

static void eval_runs(sl_sched *s, int64_t now)
{
    sl_meta_rows r;
    if (sl_meta_exec(s->m, "SELECT dag_id, run_id FROM dag_run WHERE state='running'", 0, NULL,
                     &r)) {
        SL_ERROR("sched", "reading runs: %s", sl_meta_error(s->m));
        return;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        int di = dag_index(s, sl_meta_cell(&r, i, 0));
        if (di < 0 || s->ds[di].paused) continue;
        eval_run(s, &s->dags->dags[di], sl_meta_cell(&r, i, 1), now);
    }
    sl_meta_rows_free(&r);
}

/* The try's end: success, or a failed try that is retried after its delay or fails the task.
 * Only the try this scheduler still owns is updated (an adopter may have taken it over). */
static void finish_try(sl_sched *s, running *x, bool ok, const char *why)
{
    int64_t now = sl_now_ms();
    sl_ti_state ns = SL_TI_SUCCESS;
    int64_t next = 0;
    if (!ok) {
        /* max_tries, not the task's retries: a cleared task gets its retries again */
        if (x->try_number < x->max_tries) {
            ns = SL_TI_UP_FOR_RETRY;
            next = now + (x->task ? sl_sched_retry_delay(x->task, x->try_number) : 0);
        } else {
            ns = SL_TI_FAILED;
        }
        sl_exec_log_note(x->log_path, "try %d failed: %s; task now %s", x->try_number, why,
                         sl_ti_state_name(ns));
    }
    char tn[24], nw[24], nx[24], me[24];
    i64s(tn, x->try_number);
    i64s(nw, now);
    i64s(nx, next);
    i64s(me, s->job_id);
    const char *q[] = {x->dag_id, x->run_id,        x->task_id, tn, sl_ti_state_name(ns),
                       nw,        next ? nx : NULL, me};
    const char *q2[] = {x->dag_id, x->run_id, x->task_id, tn, ok ? "success" : "failed", nw};
    if (sl_meta_begin(s->m)) goto fail;
    int64_t n = sl_meta_exec_changes(
        s->m,
        "UPDATE task_instance SET state=$5, end_ms=$6, next_try_ms=$7, pid=NULL WHERE dag_id=$1"
        " AND run_id=$2 AND task_id=$3 AND try_number=$4 AND state='running' AND scheduler_id=$8",
        8, q);
    if (n < 0) goto fail;
    if (n > 0 && sl_meta_exec(s->m,
                              "UPDATE task_try SET state=$5, end_ms=$6 WHERE dag_id=$1 AND"
                              " run_id=$2 AND task_id=$3 AND try_number=$4",
                              6, q2, NULL))
        goto fail;
    if (sl_meta_commit(s->m)) goto fail;
    SL_INFO("sched", "%s.%s %s try %d: %s", x->dag_id, x->task_id, x->run_id, x->try_number,
            n > 0 ? sl_ti_state_name(ns) : "no longer ours, left as it is");
    if (next) rescheduled(s, next);
    return;
fail:
    SL_ERROR("sched", "recording the end of %s.%s try %d: %s", x->dag_id, x->task_id, x->try_number,
             sl_meta_error(s->m));
    sl_meta_rollback(s->m);
}

static void running_free(running *x)
{
    sl_free(x->dag_id);
    sl_free(x->run_id);
    sl_free(x->task_id);
}

static void running_remove(sl_sched *s, size_t i)
{
    running_free(&s->run[i]);
    s->run[i] = s->run[--s->nrun];
}

typedef struct claim {
    char *dag_id, *run_id, *task_id;
    int try_number, max_tries;
    const sl_dag *dag;
    const sl_task *task;
} claim;

static void claims_free(claim *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sl_free(c[i].dag_id);
        sl_free(c[i].run_id);
        sl_free(c[i].task_id);
    }
    sl_free(c);
}

/* One transaction: takes up to cap scheduled task instances (SKIP LOCKED: another scheduler's
 * claim is passed over), within their pools' free slots, and queues them with their try
 * counted. The pool rows are locked (in name order) so the free slots are counted by one
 * scheduler at a time. */
static size_t claim_tries(sl_sched *s, int cap, claim **out)
{
    *out = NULL;
    char sql[400], lim[24], me[24];
    i64s(lim, cap * 4 + 16);
    i64s(me, s->job_id);
    snprintf(sql, sizeof sql,
             "SELECT dag_id, run_id, task_id, pool FROM task_instance WHERE state='scheduled'"
             " ORDER BY dag_id, run_id, task_id LIMIT $1%s",
             sl_meta_lock_clause(s->m));
    const char *p[] = {lim};
    sl_meta_rows r = {0};
    if (sl_meta_begin(s->m)) return 0;
    if (sl_meta_exec(s->m, sql, 1, p, &r)) goto fail;
    if (r.nrows == 0) {
        sl_meta_rows_free(&r);
        sl_meta_rollback(s->m);
        return 0;
    }
    /* Distinct pools of the candidates, sorted, each with its free slots. */
    size_t np = 0;
    char **pools = sl_calloc(r.nrows, sizeof *pools);
    int *freeslots = sl_calloc(r.nrows, sizeof *freeslots);
    for (size_t i = 0; i < r.nrows; i++) {
        const char *pn = sl_meta_cell(&r, i, 3);
        size_t k = 0;
        while (k < np && strcmp(pools[k], pn) != 0)
            k++;
        if (k == np) pools[np++] = (char *)pn;
    }
    for (size_t a = 1; a < np; a++)
        for (size_t b = a; b > 0 && strcmp(pools[b - 1], pools[b]) > 0; b--) {
            char *t = pools[b];
            pools[b] = pools[b - 1];
            pools[b - 1] = t;
        }
    bool err = false;
    for (size_t k = 0; k < np && !err; k++) {
        const char *q[] = {pools[k]};
        sl_meta_rows pr;
        snprintf(sql, sizeof sql, "SELECT slots FROM pool WHERE name=$1%s",
                 sl_meta_is_pg(s->m) ? " FOR UPDATE" : "");
        if (sl_meta_exec(s->m, sql, 1, q, &pr)) {
            err = true;
            break;
        }
        int slots = (int)sl_meta_cell_i64(&pr, 0, 0, s->cfg.default_pool_slots);
        sl_meta_rows_free(&pr);
        if (sl_meta_exec(s->m,
                         "SELECT count(*) FROM task_instance WHERE pool=$1 AND state IN"
                         " ('queued','running')",
                         1, q, &pr)) {
            err = true;
            break;
        }
        freeslots[k] = slots - (int)sl_meta_cell_i64(&pr, 0, 0, 0);
        sl_meta_rows_free(&pr);
    }
    claim *c = sl_calloc(r.nrows, sizeof *c);
    size_t nc = 0;
    for (size_t i = 0; i < r.nrows && !err && (int)nc < cap; i++) {
        int di = dag_index(s, sl_meta_cell(&r, i, 0));
        if (di < 0) continue;
        const sl_dag *d = &s->dags->dags[di];
        int ti = task_index(d, sl_meta_cell(&r, i, 2));
        if (ti < 0) continue;
        size_t k = 0;
        while (strcmp(pools[k], sl_meta_cell(&r, i, 3)) != 0)
            k++;
        if (freeslots[k] <= 0) continue;
        const char *q[] = {sl_meta_cell(&r, i, 0), sl_meta_cell(&r, i, 1), sl_meta_cell(&r, i, 2),
                           me, s->hostname};
        sl_meta_rows tr;
        if (sl_meta_exec(s->m,
                         "UPDATE task_instance SET state='queued', try_number=try_number+1,"
                         " scheduler_id=$4, hostname=$5, pid=NULL, start_ms=NULL, end_ms=NULL,"
                         " next_try_ms=NULL WHERE dag_id=$1 AND run_id=$2 AND task_id=$3 AND"
                         " state='scheduled'",
                         5, q, NULL) ||
            sl_meta_exec(s->m,
                         "SELECT try_number, max_tries FROM task_instance WHERE dag_id=$1 AND"
                         " run_id=$2 AND task_id=$3",
                         3, q, &tr)) {
            err = true;
            break;
        }
        claim *cl = &c[nc];
        cl->try_number = (int)sl_meta_cell_i64(&tr, 0, 0, 1);
        cl->max_tries = (int)sl_meta_cell_i64(&tr, 0, 1, d->tasks[ti].retries + 1);
        sl_meta_rows_free(&tr);
        char tn[24], path[1024];
        i64s(tn, cl->try_number);
        sl_exec_log_path(s->data_dir, q[0], q[1], q[2], cl->try_number, path, sizeof path);
        const char *q2[] = {q[0], q[1], q[2], tn, me, s->hostname, path};
        if (sl_meta_exec(s->m,
                         "INSERT INTO task_try (dag_id, run_id, task_id, try_number, state,"
                         " scheduler_id, hostname, log_path) VALUES ($1,$2,$3,$4,'queued',$5,$6,$7)"
                         " ON CONFLICT DO NOTHING",
                         7, q2, NULL)) {
            err = true;
            break;
        }
        cl->dag_id = sl_strdup(q[0]);
        cl->run_id = sl_strdup(q[1]);
        cl->task_id = sl_strdup(q[2]);
        cl->dag = d;
        cl->task = &d->tasks[ti];
        freeslots[k]--;
        nc++;
    }
    sl_free(pools);
    sl_free(freeslots);
    sl_meta_rows_free(&r);
    if (err || sl_meta_commit(s->m)) {
        claims_free(c, nc);
        goto fail;
    }
    *out = c;
    return nc;
fail:
    SL_ERROR("sched", "claiming tries: %s", sl_meta_error(s->m));
    sl_meta_rows_free(&r);
    sl_meta_rollback(s->m);
    return 0;
}

/* Records a queued try of this scheduler as running with pid, in one transaction. Returns 1, 0
 * when the try is no longer ours as queued, or < 0 on error. */
static int64_t record_running(sl_sched *s, const claim *c, pid_t pid_)
{
    char tn[24], nw[24], pid[24], me[24];
    i64s(tn, c->try_number);
    i64s(nw, sl_now_ms());
    i64s(pid, pid_);
    i64s(me, s->job_id);
    const char *q[] = {c->dag_id, c->run_id, c->task_id, tn, nw, pid_ > 0 ? pid : NULL, me};
    if (sl_meta_begin(s->m)) return -1;
    int64_t n = sl_meta_exec_changes(s->m,
                                     "UPDATE task_instance SET state='running', start_ms=$5, pid=$6"
                                     " WHERE dag_id=$1 AND run_id=$2 AND task_id=$3 AND"
                                     " try_number=$4 AND state='queued' AND scheduler_id=$7",
                                     7, q);
    if (n > 0 && sl_meta_exec(s->m,
                              "UPDATE task_try SET state='running', start_ms=$5, pid=$6"
                              " WHERE dag_id=$1 AND run_id=$2 AND task_id=$3 AND"
                              " try_number=$4",
                              6, q, NULL))
        n = -1;
    if (n >= 0 && sl_meta_commit(s->m)) n = -1;
    if (n < 0) sl_meta_rollback(s->m);
    return n;
}

static void on_thread_done(sl_exec_thread *x, void *arg);

/* Starts the claimed try. A child process is forked first and waits while the try is recorded
 * running with its pid (one transaction), then is let go. An in-process try is recorded running
 * (with the scheduler's pid) first, then its thread starts. */
static void launch_one(sl_sched *s, claim *c)
{
    const char *p[] = {c->dag_id, c->run_id};
    sl_meta_rows r;
    if (sl_meta_exec(s->m,
                     "SELECT conf, interval_start_ms, interval_end_ms FROM dag_run WHERE"
                     " dag_id=$1 AND run_id=$2",
                     2, p, &r) ||
        r.nrows != 1) {
        SL_ERROR("sched", "run %s.%s: %s", c->dag_id, c->run_id, sl_meta_error(s->m));
        return;
    }
    running x = {.dag_id = c->dag_id,
                 .run_id = c->run_id,
                 .task_id = c->task_id,
                 .try_number = c->try_number,
                 .max_tries = c->max_tries,
                 .task = c->task};
    sl_exec_log_path(s->data_dir, c->dag_id, c->run_id, c->task_id, c->try_number, x.log_path,
                     sizeof x.log_path);
    sl_task_ctx ctx = {
        .dag_id = c->dag_id,
        .task_id = c->task_id,
        .run_id = c->run_id,
        .try_number = c->try_number,
        .interval_start_ms = sl_meta_cell_i64(&r, 0, 1, 0),
        .interval_end_ms = sl_meta_cell_i64(&r, 0, 2, 0),
        .conf_json = sl_meta_cell(&r, 0, 0) ? sl_meta_cell(&r, 0, 0) : "{}",
    };
    bool inproc = sl_task_in_process(c->task);
    sl_exec_try et = {.pid = -1, .go_fd = -1};
    int rc = 0;
    int64_t n;
    if (inproc) {
        n = record_running(s, c, getpid());
        if (n > 0)
            rc = sl_exec_start_thread(c->dag, c->task, &ctx, x.log_path, on_thread_done, s, &x.th);
    } else {
        rc = sl_exec_start(c->dag, c->task, &ctx, x.log_path, &et);
        n = rc ? -1 : record_running(s, c, et.pid);
    }
    sl_meta_rows_free(&r);
    if (n <= 0 || rc) {
        /* Not recorded as running: a child never runs the task (it reads end-of-file). */
        if (et.go_fd >= 0) close(et.go_fd);
        if (et.pid > 0) sl_exec_kill_group(et.pid);
        SL_ERROR("sched", "could not start %s.%s try %d: %s", c->dag_id, c->task_id, c->try_number,
                 rc ? sl_strerror(rc) : sl_meta_error(s->m));
        if (rc) {
            /* Recorded running (a thread that could not start), or recorded so that
             * finish_try's guarded update applies: then failed. */
            if (!inproc) record_running(s, c, 0);
            finish_try(s, &x, false, sl_strerror(rc));
        }
        return;
    }
    sl_exec_go(&et);
    if (s->nrun == s->caprun) {
        s->caprun = s->caprun ? s->caprun * 2 : 16;
        s->run = sl_realloc(s->run, s->caprun * sizeof *s->run);
    }
    x.pid = inproc ? 0 : et.pid;
    x.deadline_ms =
        c->task->execution_timeout_ms ? sl_mono_ms() + c->task->execution_timeout_ms : 0;
    c->dag_id = c->run_id = c->task_id = NULL; /* moved into the running table */
    s->run[s->nrun++] = x;
    if (inproc)
        SL_INFO("sched", "%s.%s %s try %d running (in-process)", x.dag_id, x.task_id, x.run_id,
                x.try_number);
    else
        SL_INFO("sched", "%s.%s %s try %d running (pid %ld)", x.dag_id, x.task_id, x.run_id,
                x.try_number, (long)x.pid);
}

static void launch(sl_sched *s)
{
    int cap = s->cfg.parallelism - (int)s->nrun;
    if (cap <= 0) return;
    claim *c;
    size_t n = claim_tries(s, cap, &c);
    for (size_t i = 0; i < n; i++)
        launch_one(s, &c[i]);
    claims_free(c, n);
}

static void reap(sl_sched *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        size_t i = 0;
        while (i < s->nrun && s->run[i].pid != pid)
            i++;
        if (i == s->nrun) continue;
        running *x = &s->run[i];
        /* The group may still hold processes the task started: they go with it. */
        sl_exec_kill_group(x->pid);
        bool ok = !x->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char why[128];
        if (x->timed_out)
            snprintf(why, sizeof why,
                     "execution_timeout (%" PRId64 " ms) exceeded, process group killed",
                     x->task->execution_timeout_ms);
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
        else
            snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
        finish_try(s, x, ok, why);
        running_remove(s, i);
    }
}

/* Called on a try's thread when its task has returned. */
static void on_thread_done(sl_exec_thread *x, void *arg)
{
    sl_sched *s = arg;
    uv_mutex_lock(&s->done_lock);
    if (s->ndone == s->capdone) {
        s->capdone = s->capdone ? s->capdone * 2 : 16;
        s->done = sl_realloc(s->done, s->capdone * sizeof *s->done);
    }
    s->done[s->ndone++] = x;
    uv_mutex_unlock(&s->done_lock);
    uv_async_send(&s->done_async);
}

/* Records the end of the in-process tries whose threads are done. A try cancelled by kill_all
 * counts as failed with why (or, unless record, only gets a line in its log), unless its task
 * had already succeeded. */
static void reap_threads(sl_sched *s, const char *why_stopped, bool record)
{
    uv_mutex_lock(&s->done_lock);
    sl_exec_thread **done = s->done;
    size_t n = s->ndone;
    s->done = NULL;
    s->ndone = s->capdone = 0;
    uv_mutex_unlock(&s->done_lock);
    for (size_t k = 0; k < n; k++) {
        size_t i = 0;
        while (i < s->nrun && s->run[i].th != done[k])
            i++;
        int rc = sl_exec_join(done[k]);
        if (i == s->nrun) continue;
        running *x = &s->run[i];
        x->th = NULL;
        bool ok = rc == 0 && !x->timed_out;
        char why[128];
        if (x->timed_out)
            snprintf(why, sizeof why, "execution_timeout (%" PRId64 " ms) exceeded, cancelled",
                     x->task->execution_timeout_ms);
        else if (rc < 0)
            snprintf(why, sizeof why, "%s", sl_strerror(rc));
        else
            snprintf(why, sizeof why, "%s", why_stopped ? why_stopped : "the task failed");
        if (record || ok)
            finish_try(s, x, ok, why);
        else
            sl_exec_log_note(x->log_path, "try %d stopped: %s", x->try_number, why);
        running_remove(s, i);
    }
    sl_free(done);
}

static void on_threads_done(uv_async_t *h)
{
    sl_sched *s = h->data;
    reap_threads(s, NULL, true);
    sl_sched_wake(s);
}

static void check_timeouts(sl_sched *s)
{
    int64_t mono = sl_mono_ms();
    for (size_t i = 0; i < s->nrun; i++) {
        running *x = &s->run[i];
        if (!x->deadline_ms || x->timed_out) continue;
        if (mono >= x->deadline_ms && x->th) {
            /* A thread cannot be killed: it is asked to stop and counts as failed once it has. */
            x->timed_out = true;
            SL_WARN("sched", "%s.%s %s try %d: execution_timeout, cancelling the in-process try",
                    x->dag_id, x->task_id, x->run_id, x->try_number);
            sl_exec_cancel(x->th);
        } else if (mono >= x->deadline_ms) {
            x->timed_out = true;
            SL_WARN("sched", "%s.%s %s try %d: execution_timeout, killing process group %ld",
                    x->dag_id, x->task_id, x->run_id, x->try_number, (long)x->pid);
            sl_exec_kill_group(x->pid);
        } else {
            rescheduled(s, sl_now_ms() + (x->deadline_ms - mono));
        }
    }
}

static int register_job(sl_sched *s)
{
    uint64_t id = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &id, sizeof id) != (ssize_t)sizeof id)
        id = (uint64_t)sl_now_ms() * 1000003u ^ (uint64_t)getpid();
    if (fd >= 0) close(fd);
    s->job_id = (int64_t)(id >> 12); /* positive and exact in a double, for JSON readers */
    char jid[24], pid[24], nw[24];
    i64s(jid, s->job_id);
    i64s(pid, getpid());
    i64s(nw, sl_now_ms());
    const char *p[] = {jid, s->hostname, pid, nw};
    if (sl_meta_exec(s->m,
                     "INSERT INTO scheduler_job (id, hostname, pid, state, start_ms, heartbeat_ms)"
                     " VALUES ($1,$2,$3,'running',$4,$4)",
                     4, p, NULL))
        return SL_ERR_CLOSED;
    s->last_hb = sl_now_ms();
    SL_INFO("sched", "scheduler job %" PRId64 " on %s (pid %ld)", s->job_id, s->hostname,
            (long)getpid());
    return 0;
}

/* Kills every try this scheduler runs and waits for them (used when the job is over). */
static void kill_all(sl_sched *s, const char *why, bool record)
{
    /* In-process tries are asked to stop and waited for (each stops within about a second). */
    bool threads = false;
    for (size_t i = 0; i < s->nrun; i++)
        if (s->run[i].th) {
            sl_exec_cancel(s->run[i].th);
            threads = true;
        }
    while (threads) {
        threads = false;
        reap_threads(s, why, record);
        for (size_t i = 0; i < s->nrun && !threads; i++)
            threads = s->run[i].th != NULL;
        if (threads) uv_sleep(1);
    }
    while (s->nrun) {
        running *x = &s->run[s->nrun - 1];
        sl_exec_kill_group(x->pid);
        int status;
        while (waitpid(x->pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (record)
            finish_try(s, x, false, why);
        else
            sl_exec_log_note(x->log_path, "try %d killed: %s", x->try_number, why);
        running_remove(s, s->nrun - 1);
    }
}

static void heartbeat(sl_sched *s, int64_t now)
{
    char jid[24], nw[24];
    i64s(jid, s->job_id);
    i64s(nw, now);
    const char *p[] = {jid, nw};
    int64_t n = sl_meta_exec_changes(
        s->m, "UPDATE scheduler_job SET heartbeat_ms=$2 WHERE id=$1 AND state='running'", 2, p);
    s->last_hb = now; /* also on failure: the next attempt waits a heartbeat period */
    if (n < 0) {
        SL_ERROR("sched", "heartbeat: %s", sl_meta_error(s->m));
        return;
    }
    if (n == 0) {
        /* Declared dead by another scheduler (we stalled past the timeout): our tries were
         * retried or failed there, so ours must stop before anything else runs. */
        SL_ERROR("sched",
                 "job %" PRId64 " was declared dead by another scheduler; killing its"
                 " tries and registering again",
                 s->job_id);
        kill_all(s, "this scheduler was declared dead (heartbeat timeout)", false);
        register_job(s);
    }
}

/* Marks a dead scheduler's job dead and settles its task instances, in one transaction: a queued
 * try never started, so it goes back to scheduled uncounted; a running try is killed (its
 * process group, when on this host) and counts as failed: retried or failed per its retries. */
static int adopt(sl_sched *s, const char *job, const char *host, int64_t job_pid, int64_t now)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM scheduler_job WHERE id=$1 AND state='running'%s",
             sl_meta_lock_clause(s->m));
    const char *p[] = {job};
    sl_meta_rows r = {0};
    if (sl_meta_begin(s->m)) return SL_ERR_CLOSED;
    if (sl_meta_exec(s->m, sql, 1, p, &r)) goto fail;
    bool got = r.nrows == 1;
    sl_meta_rows_free(&r);
    if (!got) {
        sl_meta_rollback(s->m);
        return 0;
    }
    if (sl_meta_exec(s->m, "UPDATE scheduler_job SET state='dead' WHERE id=$1", 1, p, NULL))
        goto fail;
    if (sl_meta_exec(s->m,
                     "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.state, ti.try_number,"
                     " ti.max_tries, ti.pid, tt.log_path FROM task_instance ti LEFT JOIN task_try"
                     " tt ON tt.dag_id=ti.dag_id AND tt.run_id=ti.run_id AND"
                     " tt.task_id=ti.task_id AND tt.try_number=ti.try_number WHERE"
                     " ti.scheduler_id=$1 AND ti.state IN ('queued','running')",
                     1, p, &r))
        goto fail;
    bool local = strcmp(host, s->hostname) == 0;
    for (size_t i = 0; i < r.nrows; i++) {
        const char *dag = sl_meta_cell(&r, i, 0), *run = sl_meta_cell(&r, i, 1),
                   *task = sl_meta_cell(&r, i, 2), *state = sl_meta_cell(&r, i, 3),
                   *tn = sl_meta_cell(&r, i, 4), *log = sl_meta_cell(&r, i, 7);
        int try_number = (int)sl_meta_cell_i64(&r, i, 4, 0);
        const char *q[] = {dag, run, task, tn};
        if (strcmp(state, "queued") == 0) {
            if (sl_meta_exec(s->m,
                             "UPDATE task_instance SET state='scheduled',"
                             " try_number=try_number-1, scheduler_id=NULL, hostname=NULL WHERE"
                             " dag_id=$1 AND run_id=$2 AND task_id=$3 AND try_number=$4",
                             4, q, NULL) ||
                sl_meta_exec(s->m,
                             "DELETE FROM task_try WHERE dag_id=$1 AND run_id=$2 AND task_id=$3"
                             " AND try_number=$4",
                             4, q, NULL))
                goto fail;
            continue;
        }
        int64_t pid = sl_meta_cell_i64(&r, i, 6, 0);
        /* pid is the dead scheduler's own for an in-process try: nothing of it is left. */
        if (local && pid > 1 && pid != job_pid) sl_exec_kill_group((pid_t)pid);
        int di = dag_index(s, dag);
        const sl_task *t = NULL;
        if (di >= 0) {
            int ti = task_index(&s->dags->dags[di], task);
            if (ti >= 0) t = &s->dags->dags[di].tasks[ti];
        }
        bool retry = try_number < (int)sl_meta_cell_i64(&r, i, 5, 1);
        int64_t next = now + (retry && t ? sl_sched_retry_delay(t, try_number) : 0);
        char nw[24], nx[24];
        i64s(nw, now);
        i64s(nx, next);
        const char *q2[] = {
            dag, run, task, tn, retry ? "up_for_retry" : "failed", nw, retry ? nx : NULL};
        if (sl_meta_exec(s->m,
                         "UPDATE task_instance SET state=$5, end_ms=$6, next_try_ms=$7, pid=NULL"
                         " WHERE dag_id=$1 AND run_id=$2 AND task_id=$3 AND try_number=$4",
                         7, q2, NULL) ||
            sl_meta_exec(s->m,
                         "UPDATE task_try SET state='failed', end_ms=$5 WHERE dag_id=$1 AND"
                         " run_id=$2 AND task_id=$3 AND try_number=$4",
                         5, (const char *[]){dag, run, task, tn, nw}, NULL))
            goto fail;
        if (local && log)
            sl_exec_log_note(log,
                             "try %d orphaned: scheduler job %s stopped heartbeating; task"
                             " now %s",
                             try_number, job, retry ? "up_for_retry" : "failed");
        SL_WARN("sched", "%s.%s %s try %d orphaned by job %s: %s", dag, task, run, try_number, job,
                retry ? "up_for_retry" : "failed");
        if (retry) rescheduled(s, next);
    }
    sl_meta_rows_free(&r);
    if (sl_meta_commit(s->m)) goto fail;
    SL_WARN("sched", "adopted the task instances of dead scheduler job %s (%s)", job, host);
    return 1;
fail:
    SL_ERROR("sched", "adopting job %s: %s", job, sl_meta_error(s->m));
    sl_meta_rows_free(&r);
    sl_meta_rollback(s->m);
    return SL_ERR_CLOSED;
}

static void adopt_orphans(sl_sched *s, int64_t now)
{
    char jid[24];
    i64s(jid, s->job_id);
    const char *p[] = {jid};
    sl_meta_rows r;
    if (sl_meta_exec(s->m,
                     "SELECT id, hostname, pid, heartbeat_ms FROM scheduler_job WHERE"
                     " state='running' AND id<>$1",
                     1, p, &r))
        return;
    for (size_t i = 0; i < r.nrows; i++) {
        const char *host = sl_meta_cell(&r, i, 1);
        int64_t pid = sl_meta_cell_i64(&r, i, 2, 0);
        bool dead = sl_meta_cell_i64(&r, i, 3, 0) < now - s->cfg.heartbeat_timeout_ms;
        /* A scheduler of this host whose process is gone need not be waited for. */
        if (!dead && strcmp(host, s->hostname) == 0 && pid > 1 && kill((pid_t)pid, 0) != 0 &&
            errno == ESRCH)
            dead = true;
        if (dead) adopt(s, sl_meta_cell(&r, i, 0), host, pid, now);
    }
    sl_meta_rows_free(&r);
}

static void on_tick(uv_timer_t *t);

static void arm(sl_sched *s)
{
    if (s->closing) return;
    int64_t now = sl_now_ms();
    int64_t wait = s->cfg.tick_ms;
    if (s->next_due - now < wait) wait = s->next_due - now;
    /* At least 1 ms: libuv runs a timer re-armed for 0 ms from its own callback in the same
     * pass, which would starve the signal and I/O watchers. */
    if (wait < 1) wait = 1;
    uv_timer_start(&s->timer, on_tick, (uint64_t)wait, 0);
}

static void tick(sl_sched *s)
{
    int64_t now = sl_now_ms();
    s->next_due = INT64_MAX;
    if (now - s->last_hb >= s->cfg.heartbeat_ms) heartbeat(s, now);
    if (now - s->last_orphan_check >= s->cfg.heartbeat_ms) {
        s->last_orphan_check = now;
        adopt_orphans(s, now);
    }
    reap(s);
    check_timeouts(s);
    create_runs(s, now);
    eval_runs(s, now);
    launch(s);
    rescheduled(s, s->last_hb + s->cfg.heartbeat_ms);
}

static void on_tick(uv_timer_t *t)
{
    sl_sched *s = t->data;
    tick(s);
    arm(s);
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    SL_UNUSED(sig);
    sl_sched *s = h->data;
    reap(s);
    sl_sched_wake(s);
}

void sl_sched_wake(sl_sched *s)
{
    if (!s->loop || s->closing) return;
    uv_timer_start(&s->timer, on_tick, 0, 0);
}

/* Parses "name=slots,name=slots" into pool rows. */
static int upsert_pools(sl_sched *s)
{
    char slots[24];
    i64s(slots, s->cfg.default_pool_slots);
    const char *p[] = {"default_pool", slots};
    const char *ins = "INSERT INTO pool (name, slots) VALUES ($1,$2) ON CONFLICT DO NOTHING";
    const char *set = "INSERT INTO pool (name, slots) VALUES ($1,$2) ON CONFLICT (name) DO UPDATE"
                      " SET slots=excluded.slots";
    if (sl_meta_exec(s->m, ins, 2, p, NULL)) return SL_ERR_CLOSED;
    for (size_t i = 0; i < s->dags->n; i++)
        for (size_t k = 0; k < s->dags->dags[i].ntasks; k++) {
            const char *pool = s->dags->dags[i].tasks[k].pool;
            const char *q[] = {pool, slots};
            if (pool && sl_meta_exec(s->m, ins, 2, q, NULL)) return SL_ERR_CLOSED;
        }
    if (!s->pools || !*s->pools) return 0;
    char *copy = sl_strdup(s->pools), *save = NULL;
    int rc = 0;
    for (char *it = strtok_r(copy, ",", &save); it && !rc; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        char *end = NULL;
        long n = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || eq == it || !end || *end || n < 0 || n > 1000000) {
            SL_ERROR("sched", "bad pool \"%s\" (want name=slots)", it);
            rc = SL_ERR_CONFIG;
            break;
        }
        *eq = '\0';
        char ns[24];
        i64s(ns, n);
        const char *q[] = {it, ns};
        if (sl_meta_exec(s->m, set, 2, q, NULL)) rc = SL_ERR_CLOSED;
    }
    sl_free(copy);
    return rc;
}

int sl_sched_open(uv_loop_t *loop, sl_meta *meta, const sl_dagset *dags, const sl_sched_config *cfg,
                  sl_sched **out)
{
    sl_sched *s = sl_calloc(1, sizeof *s);
    s->loop = loop;
    s->m = meta;
    s->dags = dags;
    s->cfg = *cfg;
    s->data_dir = sl_strdup(cfg->data_dir ? cfg->data_dir : ".");
    s->pools = cfg->pools ? sl_strdup(cfg->pools) : NULL;
    s->cfg.data_dir = s->data_dir;
    s->cfg.pools = s->pools;
    if (s->cfg.parallelism <= 0) s->cfg.parallelism = 32;
    if (s->cfg.default_pool_slots <= 0) s->cfg.default_pool_slots = 128;
    if (s->cfg.tick_ms <= 0) s->cfg.tick_ms = 100;
    if (s->cfg.heartbeat_ms <= 0) s->cfg.heartbeat_ms = 1000;
    if (s->cfg.heartbeat_timeout_ms <= 0) s->cfg.heartbeat_timeout_ms = 30000;
    s->ds = sl_calloc(dags->n ? dags->n : 1, sizeof *s->ds);
    if (gethostname(s->hostname, sizeof s->hostname - 1) != 0) strcpy(s->hostname, "localhost");
    int rc = upsert_pools(s);
    for (size_t i = 0; i < dags->n && !rc; i++) {
        const sl_dag *d = &dags->dags[i];
        bool paused = d->is_paused_upon_creation >= 0 ? d->is_paused_upon_creation
                                                      : cfg->dags_are_paused_at_creation;
        const char *p[] = {d->id, paused ? "1" : "0"};
        int64_t n = sl_meta_exec_changes(
            meta, "INSERT INTO dag (dag_id, is_paused) VALUES ($1,$2) ON CONFLICT DO NOTHING", 2,
            p);
        if (n < 0) rc = SL_ERR_CLOSED;
        if (n > 0 && paused)
            SL_INFO("sched", "dag %s is new: paused at creation (sluice dag unpause %s)", d->id,
                    d->id);
    }
    if (!rc) rc = register_job(s);
    if (rc) {
        if (rc == SL_ERR_CLOSED) SL_ERROR("sched", "metadata: %s", sl_meta_error(meta));
        sl_free(s->ds);
        sl_free(s->data_dir);
        sl_free(s->pools);
        sl_free(s);
        return rc;
    }
    sl_meta_set_loop(meta, loop); /* WAL checkpoints wait for a pause in launches (meta.c) */
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_signal_init(loop, &s->sigchld);
    s->sigchld.data = s;
    uv_signal_start(&s->sigchld, on_sigchld, SIGCHLD);
    uv_mutex_init(&s->done_lock);
    uv_async_init(loop, &s->done_async, on_threads_done);
    s->done_async.data = s;
    s->open_handles = 3;
    sl_sched_wake(s);
    *out = s;
    return 0;
}

int sl_sched_open_api(sl_meta *meta, const sl_dagset *dags, const char *data_dir, sl_sched **out)
{
    sl_sched *s = sl_calloc(1, sizeof *s);
    s->m = meta;
    s->dags = dags;
    s->data_dir = sl_strdup(data_dir ? data_dir : ".");
    s->cfg.data_dir = s->data_dir;
    *out = s;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    sl_sched *s = h->data;
    if (--s->open_handles > 0) return;
    uv_mutex_destroy(&s->done_lock);
    sl_free(s->done);
    sl_free(s->ds);
    sl_free(s->run);
    sl_free(s->data_dir);
    sl_free(s->pools);
    sl_free(s);
}

void sl_sched_close(sl_sched *s)
{
    if (!s) return;
    if (!s->loop) {
        sl_free(s->data_dir);
        sl_free(s);
        return;
    }
    s->closing = true;
    uv_timer_stop(&s->timer);
    uv_signal_stop(&s->sigchld);
    kill_all(s, "the scheduler stopped", true);
    char jid[24];
    i64s(jid, s->job_id);
    const char *p[] = {jid};
    sl_meta_exec(s->m, "UPDATE scheduler_job SET state='stopped' WHERE id=$1", 1, p, NULL);
    SL_INFO("sched", "scheduler job %" PRId64 " stopped", s->job_id);
    sl_meta_set_loop(s->m, NULL);
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_close((uv_handle_t *)&s->sigchld, on_closed);
    uv_close((uv_handle_t *)&s->done_async, on_closed);
}

sl_meta *sl_sched_meta(sl_sched *s)
{
    return s->m;
}
const sl_dagset *sl_sched_dags(const sl_sched *s)
{
    return s->dags;
}
int64_t sl_sched_job_id(const sl_sched *s)
{
    return s->job_id;
}
int64_t sl_sched_last_heartbeat(const sl_sched *s)
{
    if (s->loop) return s->last_hb;
    sl_meta_rows r;
    if (sl_meta_exec(s->m, "SELECT max(heartbeat_ms) FROM scheduler_job WHERE state='running'", 0,
                     NULL, &r))
        return 0;
    int64_t hb = r.nrows ? sl_meta_cell_i64(&r, 0, 0, 0) : 0;
    sl_meta_rows_free(&r);
    return hb;
}
const char *sl_sched_data_dir(const sl_sched *s)
{
    return s->data_dir;
}
