/* bench_scheduler.c: the scheduler over SQLite metadata in a temp dir, in this process, its loop
 * driven as `sluice scheduler` drives it (uv_run until the next event):
 *   - trigger-to-running latency (p50, p99, in microseconds) of a shell task (a child process)
 *     and of a noop task (in-process): from the trigger call to the try's "running" commit;
 *   - the time and CPU (this process and its children) for one run of 1,000 no-op tasks, shell
 *     and noop, parallelism 32;
 *   - drift of scheduled runs from their instants: "every 1s" (10 runs) and, with --cron, a
 *     `* * * * *` schedule (2 fires, up to 2 minutes);
 *   - RSS idle and every RUNS/10 one-task runs up to RUNS, with SQLite's and malloc's share.
 * Usage: bench_scheduler [RUNS (default 10000)] [shell|noop (the RSS runs' task, default
 * shell)] [--cron | --latency (the two latency figures only, to repeat them cheaply)].
 * docs/scheduler.md and docs/benchmarks.md compare with Airflow. */
#include "core/buf.h"
#include "scheduler/dag.h"
#include "scheduler/meta.h"
#include "scheduler/scheduler.h"

#include <inttypes.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
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

/* CPU seconds (user + system) of this process (RUSAGE_SELF) or of its waited-for children
 * (RUSAGE_CHILDREN). */
static double cpu_of(int who)
{
    struct rusage u;
    getrusage(who, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double cpu_s(void)
{
    return cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
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

/* Runs the loop until sql (with a, b) yields a value other than -1, or timeout: an event at a
 * time (mode UV_RUN_ONCE), or without waiting in poll (UV_RUN_NOWAIT: to see a state the moment
 * the tick that made it returns, rather than after the loop's next event). */
static int64_t run_until_mode(const char *sql, const char *a, const char *b, int64_t timeout_ms,
                              uv_run_mode mode)
{
    int64_t end = sl_mono_ms() + timeout_ms, v;
    while ((v = q1(sql, a, b)) == -1 && sl_mono_ms() < end)
        uv_run(&loop, mode);
    return v;
}

static int64_t run_until(const char *sql, const char *a, const char *b, int64_t timeout_ms)
{
    return run_until_mode(sql, a, b, timeout_ms, UV_RUN_ONCE);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *run_done = "SELECT 1 FROM dag_run WHERE dag_id=$1 AND run_id=$2 AND state IN"
                              " ('success','failed')";
static const char *try_running = "SELECT 1 FROM task_try WHERE dag_id=$1 AND run_id=$2 AND"
                                 " state IN ('running','success','failed')";

static void trigger(const char *dag, char *run_id, size_t len)
{
    while (sl_sched_trigger(sched, dag, NULL, run_id, len)) /* same millisecond as the last */
        usleep(1000);
}

/* The samples (ms, one a line) for bench/report's latency CDF, when bench/run names a dir. */
static void save_samples(const char *what, const int64_t *us, int n)
{
    const char *dir = getenv("SLUICE_BENCH_OUT");
    if (!dir) return;
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/latency_scheduler_", dir);
    for (const char *w = what; *w && k < (int)sizeof path - 5; w++)
        path[k++] = (*w >= 'a' && *w <= 'z') || (*w >= '0' && *w <= '9') ? *w : '_';
    snprintf(path + k, sizeof path - (size_t)k, ".txt");
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (int i = 0; i < n; i++)
        fprintf(f, "%.3f\n", (double)us[i] / 1000);
    fclose(f);
}

/* LAT triggers of dag, one at a time: microseconds from the trigger call to "running", and
 * for each the loop thread's CPU time and its context switches, to tell work from waiting: a
 * slow sample with little CPU was preempted (involuntary switch) or blocked (voluntary). */
static void latency(const char *dag, const char *what)
{
    enum { LAT = 200 };
    int64_t lat[LAT], cpu[LAT];
    int slow = 0, slow_preempted = 0, slow_blocked = 0;
    char run_id[96];
    for (int i = 0; i < LAT; i++) {
        struct rusage u0, u1;
        struct timespec c0, c1;
        getrusage(RUSAGE_THREAD, &u0);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        int64_t t0 = (int64_t)sl_mono_ns();
        trigger(dag, run_id, sizeof run_id);
        run_until_mode(try_running, dag, run_id, 10000, UV_RUN_NOWAIT);
        lat[i] = ((int64_t)sl_mono_ns() - t0) / 1000;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        getrusage(RUSAGE_THREAD, &u1);
        cpu[i] = ((int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec)) / 1000;
        if (lat[i] >= 2000) {
            slow++;
            slow_preempted += u1.ru_nivcsw > u0.ru_nivcsw;
            slow_blocked += u1.ru_nvcsw > u0.ru_nvcsw;
        }
        run_until(run_done, dag, run_id, 10000);
    }
    qsort(lat, LAT, sizeof *lat, cmp_i64);
    qsort(cpu, LAT, sizeof *cpu, cmp_i64);
    save_samples(what, lat, LAT);
    printf("trigger-to-running, %s (%d triggers): p50 %.2f ms, p99 %.2f ms, max %.2f ms; loop "
           "CPU p50 %.2f ms, p99 %.2f ms; %d samples >= 2 ms, %d of them preempted, %d blocked\n",
           what, LAT, (double)lat[LAT / 2] / 1000, (double)lat[LAT * 99 / 100] / 1000,
           (double)lat[LAT - 1] / 1000, (double)cpu[LAT / 2] / 1000,
           (double)cpu[LAT * 99 / 100] / 1000, slow, slow_preempted, slow_blocked);
}

static void thousand(const char *dag, const char *what)
{
    char run_id[96];
    double c0 = cpu_of(RUSAGE_SELF), k0 = cpu_of(RUSAGE_CHILDREN);
    int64_t t0 = sl_mono_ms();
    trigger(dag, run_id, sizeof run_id);
    run_until(run_done, dag, run_id, 600000);
    double secs = (double)(sl_mono_ms() - t0) / 1000, cpu = cpu_of(RUSAGE_SELF) - c0,
           kids = cpu_of(RUSAGE_CHILDREN) - k0;
    printf("1,000 %s, one run: %.2f s (%.0f tasks/s); CPU a task: %.2f ms in the scheduler, "
           "%.2f ms in its children\n",
           what, secs, 1000 / secs, cpu, kids);
}

static void drift(const char *dag, int n, int64_t timeout_ms, const char *what)
{
    char unpause[128], pause[128], cnt[24];
    snprintf(unpause, sizeof unpause, "UPDATE dag SET is_paused=0 WHERE dag_id='%s'", dag);
    snprintf(pause, sizeof pause, "UPDATE dag SET is_paused=1 WHERE dag_id='%s'", dag);
    snprintf(cnt, sizeof cnt, "%d", n);
    sl_meta_exec(meta, unpause, 0, NULL, NULL);
    sl_sched_wake(sched);
    run_until("SELECT count(*) FROM dag_run WHERE dag_id=$1 HAVING count(*) >= CAST($2 AS INT)",
              dag, cnt, timeout_ms);
    sl_meta_exec(meta, pause, 0, NULL, NULL);
    const char *p[] = {dag};
    sl_meta_rows r;
    sl_meta_exec(meta,
                 "SELECT queued_ms - interval_end_ms FROM dag_run WHERE dag_id=$1 ORDER BY"
                 " logical_ms",
                 1, p, &r);
    int64_t d[64];
    size_t nd = 0;
    /* without a start_date the first interval starts at the first fire after the unpause, so
     * every run, the first too, is created at a fire */
    for (size_t i = 0; i < r.nrows && nd < 64; i++)
        d[nd++] = sl_meta_cell_i64(&r, i, 0, 0);
    sl_meta_rows_free(&r);
    qsort(d, nd, sizeof *d, cmp_i64);
    if (nd)
        printf("drift of %s (%zu fires, ms resolution): p50 %" PRId64 " ms, max %" PRId64 " ms\n",
               what, nd, d[nd / 2], d[nd - 1]);
}

static void rss_line(const char *when)
{
    struct mallinfo2 mi = mallinfo2();
    printf("RSS %s: %ld KiB (SQLite's allocations %.0f KiB, malloc in use %.0f KiB of %.0f KiB "
           "held)\n",
           when, rss_kb(), (double)sqlite3_memory_used() / 1024, (double)mi.uordblks / 1024,
           (double)(mi.arena + mi.hblkhd) / 1024);
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    const char *rss_dag = argc > 2 && strcmp(argv[2], "noop") == 0 ? "one_noop" : "one";
    bool cron = argc > 3 && strcmp(argv[3], "--cron") == 0;
    bool latency_only = argc > 3 && strcmp(argv[3], "--latency") == 0;
    sl_log_level = SL_LOG_WARN;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as it comes, also into a file */
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
                       "  - dag_id: one_noop\n    tasks: [{task_id: t, type: noop}]\n"
                       "  - dag_id: tick\n    schedule: every 1s\n    catchup: false\n"
                       "    tasks: [{task_id: t, type: noop}]\n"
                       "  - dag_id: cron\n    schedule: '* * * * *'\n    catchup: false\n"
                       "    tasks: [{task_id: t, type: noop}]\n";
    sl_buf_append(&y, head, strlen(head));
    const char *types[2] = {"shell, command: 'true'", "noop"};
    for (int k = 0; k < 2; k++) {
        char t[96];
        int n = snprintf(t, sizeof t, "  - dag_id: many_%s\n    tasks:\n", k ? "noop" : "shell");
        sl_buf_append(&y, t, (size_t)n);
        for (int i = 0; i < 1000; i++) {
            n = snprintf(t, sizeof t, "      - {task_id: t%04d, type: %s}\n", i, types[k]);
            sl_buf_append(&y, t, (size_t)n);
        }
    }
    sl_dagset dags = {0};
    sl_errs errs = {0};
    if (sl_dag_load_str(&dags, (const char *)y.ptr, y.len, "bench", &errs) != 6) {
        sl_errs_print(&errs, stderr);
        return 1;
    }
    uv_loop_init(&loop);
    sl_sched_config cfg = {.data_dir = dir, .parallelism = 32, .tick_ms = 100};
    if (sl_sched_open(&loop, meta, &dags, &cfg, &sched)) return 1;
    /* the scheduled DAGs wait for their drift phase */
    sl_meta_exec(meta, "UPDATE dag SET is_paused=1 WHERE dag_id IN ('tick','cron')", 0, NULL, NULL);
    for (int64_t end = sl_mono_ms() + 300; sl_mono_ms() < end;)
        uv_run(&loop, UV_RUN_ONCE);
    rss_line("idle");

    latency("one", "shell task (child process)");
    latency("one_noop", "noop task (in-process)");
    if (latency_only) runs = 0;
    if (!latency_only) {
        thousand("many_shell", "no-op shell tasks ('true')");
        thousand("many_noop", "noop tasks (in-process)");
        drift("tick", 10, 20000, "\"every 1s\"");
    }
    if (cron) drift("cron", 2, 200000, "\"* * * * *\""); /* the 2nd and 3rd minute */

    /* RSS over many runs of a one-task DAG, one at a time */
    double c0 = cpu_s();
    int64_t t0 = sl_mono_ms();
    char run_id[96];
    for (long i = 1; i <= runs; i++) {
        trigger(rss_dag, run_id, sizeof run_id);
        run_until(run_done, rss_dag, run_id, 10000);
        if (i % (runs >= 10 ? runs / 10 : 1) == 0) {
            char when[64];
            snprintf(when, sizeof when, "after %ld runs of %s", i, rss_dag);
            rss_line(when);
        }
    }
    double secs = (double)(sl_mono_ms() - t0) / 1000;
    if (runs)
        printf("%ld runs of %s one at a time: %.1f runs/s, CPU %.2f ms a run\n", runs, rss_dag,
               (double)runs / secs, (cpu_s() - c0) * 1000 / (double)runs);
    sl_sched_close(sched);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    sl_meta_close(meta);
    sl_dagset_free(&dags);
    sl_buf_free(&y);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}
