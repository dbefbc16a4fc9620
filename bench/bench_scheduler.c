/* bench_scheduler.c: the scheduler over SQLite metadata in a temp dir, in this process:
 * trigger-to-running latency (p50, p99) of a shell task, drift of "every 1s" runs from their
 * instants, the time for one run of 1,000 no-op tasks, and RSS idle and after RUNS runs.
 * Usage: bench_scheduler [RUNS] (default 10000). docs/scheduler.md compares with Airflow. */
#include "core/buf.h"
#include "scheduler/dag.h"
#include "scheduler/meta.h"
#include "scheduler/scheduler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static uv_loop_t loop;
static sl_meta *meta;
static sl_sched *sched;

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

static int64_t q1(const char *sql, const char *a, const char *b)
{
    const char *p[] = {a, b};
    sl_meta_rows r;
    if (sl_meta_exec(meta, sql, b ? 2 : a ? 1 : 0, p, &r)) return -2;
    int64_t v = sl_meta_cell_i64(&r, 0, 0, -1);
    sl_meta_rows_free(&r);
    return v;
}

/* Runs the loop until sql (with a, b) yields a value other than -1, or timeout. */
static int64_t run_until(const char *sql, const char *a, const char *b, int64_t timeout_ms)
{
    int64_t end = sl_mono_ms() + timeout_ms, v;
    while ((v = q1(sql, a, b)) == -1 && sl_mono_ms() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(200);
    }
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *run_done = "SELECT 1 FROM dag_run WHERE dag_id=$1 AND run_id=$2 AND state IN"
                              " ('success','failed')";

int main(int argc, char **argv)
{
    long runs = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    sl_log_level = SL_LOG_WARN;
    char dir[] = "/tmp/bench_scheduler_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char url[300], err[300];
    snprintf(url, sizeof url, "sqlite:%s/scheduler.db", dir);
    if (sl_meta_open(url, &meta, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sl_buf y = SL_BUF_INIT;
    const char *head = "dags:\n"
                       "  - dag_id: one\n    tasks: [{task_id: t, type: shell, command: 'true'}]\n"
                       "  - dag_id: tick\n    schedule: every 1s\n"
                       "    tasks: [{task_id: t, type: shell, command: 'true'}]\n"
                       "  - dag_id: many\n    tasks:\n";
    sl_buf_append(&y, head, strlen(head));
    for (int i = 0; i < 1000; i++) {
        char t[96];
        int n =
            snprintf(t, sizeof t, "      - {task_id: t%04d, type: shell, command: 'true'}\n", i);
        sl_buf_append(&y, t, (size_t)n);
    }
    sl_dagset dags = {0};
    sl_errs errs = {0};
    if (sl_dag_load_str(&dags, (const char *)y.ptr, y.len, "bench", &errs) != 3) {
        sl_errs_print(&errs, stderr);
        return 1;
    }
    uv_loop_init(&loop);
    sl_sched_config cfg = {.data_dir = dir, .parallelism = 32, .tick_ms = 100};
    if (sl_sched_open(&loop, meta, &dags, &cfg, &sched)) return 1;
    /* pause the every-1s DAG until the drift phase */
    sl_meta_exec(meta, "UPDATE dag SET is_paused=1 WHERE dag_id='tick'", 0, NULL, NULL);
    for (int i = 0; i < 20; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    long rss_idle = rss_kb();

    /* trigger -> running of a shell task (the try's start_ms, recorded once its process exists) */
    enum { LAT = 200 };
    int64_t lat[LAT];
    char run_id[96];
    for (int i = 0; i < LAT; i++) {
        int64_t t0 = sl_now_ms();
        if (sl_sched_trigger(sched, "one", NULL, run_id, sizeof run_id)) {
            usleep(1000);
            i--;
            continue;
        }
        int64_t st = run_until("SELECT start_ms FROM task_try WHERE dag_id=$1 AND run_id=$2", "one",
                               run_id, 10000);
        lat[i] = st - t0;
        run_until(run_done, "one", run_id, 10000);
    }
    qsort(lat, LAT, sizeof *lat, cmp_i64);
    printf("trigger-to-running, shell task (%d triggers): p50 %" PRId64 " ms, p99 %" PRId64
           " ms (ms resolution)\n",
           LAT, lat[LAT / 2], lat[LAT * 99 / 100]);
    printf("trigger-to-running, in-process task: not measured (every try is a child process)\n");

    /* 1,000 no-op tasks in one run, parallelism 32 */
    int64_t t0 = sl_mono_ms();
    sl_sched_trigger(sched, "many", NULL, run_id, sizeof run_id);
    run_until(run_done, "many", run_id, 600000);
    printf("1,000 no-op shell tasks, one run: %.2f s\n", (double)(sl_mono_ms() - t0) / 1000);

    /* drift of scheduled runs from their instants (run created at - interval end) */
    sl_meta_exec(meta, "UPDATE dag SET is_paused=0 WHERE dag_id='tick'", 0, NULL, NULL);
    sl_sched_wake(sched);
    run_until("SELECT count(*) FROM dag_run WHERE dag_id=$1 HAVING count(*) >= 11", "tick", NULL,
              20000);
    sl_meta_exec(meta, "UPDATE dag SET is_paused=1 WHERE dag_id='tick'", 0, NULL, NULL);
    sl_meta_rows r;
    sl_meta_exec(meta,
                 "SELECT queued_ms - interval_end_ms FROM dag_run WHERE dag_id='tick' ORDER BY"
                 " logical_ms",
                 0, NULL, &r);
    int64_t drift[64];
    size_t nd = 0;
    for (size_t i = 1; i < r.nrows && nd < 64; i++) /* the first is the catch-up one */
        drift[nd++] = sl_meta_cell_i64(&r, i, 0, 0);
    sl_meta_rows_free(&r);
    qsort(drift, nd, sizeof *drift, cmp_i64);
    if (nd)
        printf("drift of every-1s runs (%zu): p50 %" PRId64 " ms, max %" PRId64 " ms\n", nd,
               drift[nd / 2], drift[nd - 1]);

    /* RSS after many runs of the one-task DAG */
    t0 = sl_mono_ms();
    for (long i = 0; i < runs; i++) {
        if (sl_sched_trigger(sched, "one", NULL, run_id, sizeof run_id)) {
            usleep(1000);
            i--;
            continue;
        }
        run_until(run_done, "one", run_id, 10000);
    }
    double secs = (double)(sl_mono_ms() - t0) / 1000;
    printf("RSS: idle %ld KiB, after %ld more runs %ld KiB (%.1f runs/s, one at a time)\n",
           rss_idle, runs, rss_kb(), (double)runs / secs);
    sl_sched_close(sched);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    sl_meta_close(meta);
    sl_dagset_free(&dags);
    sl_buf_free(&y);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}
