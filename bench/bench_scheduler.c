/* bench_scheduler.c: the scheduler over SQLite metadata in a temp dir, in this process, its loop
 * driven as `sluice scheduler` drives it (uv_run until the next event):
 *   - trigger-to-running latency (p50, p99, in microseconds) of a shell task (a child process)
 *     and of a noop task (in-process): from the trigger call to the try's "running" commit;
 *   - the time and CPU (this process and its children) for one run of 1,000 no-op tasks, shell
 *     and noop, parallelism 32;
 *   - drift of scheduled runs from their instants: "every 1s" (10 runs) and, with --cron, a
 *     `* * * * *` schedule (2 fires, up to 2 minutes);
 *   - RSS idle and every RUNS/10 one-task runs up to RUNS, with SQLite's and malloc's share.
 * The latency and 1,000-task figures are measured REPEATS times, alternating with their peers,
 * and printed as a markdown table of median (min-max) and the ratio sluice/peer:
 *   - shell tasks: posix_spawn of the same `/bin/sh -c true` (stdin /dev/null, output to a log
 *     file) with no scheduler: its return is the floor of trigger-to-running, and 1,000 of them,
 *     32 alive at a time, each waited for, the floor of tasks/s;
 *   - noop tasks: bare SQLite (prepared statements, the scheduler's schema, WAL with
 *     synchronous=NORMAL, checkpoints outside the timed part as the scheduler's own thread does),
 *     one transaction per state change the scheduler commits: the run and its task instance
 *     inserted, the run running, the instance scheduled, queued with its try, running; then, not
 *     timed for latency, success and the run's end. For 1,000 tasks the same with the inserts
 *     and the scheduling in one transaction each and the claims 32 at a time, as the scheduler
 *     batches them. Neither peer reads anything back or evaluates dependencies.
 * Each run's detail lines (loop CPU, preemptions; CPU per task) start with "run ".
 * Usage: bench_scheduler [RUNS (default 10000)] [shell|noop (the RSS runs' task, default
 * shell)] [--cron | --latency (the two latency figures only, to repeat them cheaply)].
 * docs/scheduler.md and docs/benchmarks.md compare with Airflow. */
#include "core/buf.h"
#include "scheduler/dag.h"
#include "scheduler/meta.h"
#include "scheduler/scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "bench_stats.h"

#define REPEATS 5
enum { LAT = 200 };

extern char **environ;

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

/* p50 and p99 in ms of n samples in us (sorted here). */
static void pcts(int64_t *us, int n, double *p50, double *p99)
{
    qsort(us, (size_t)n, sizeof *us, cmp_i64);
    *p50 = (double)us[n / 2] / 1000;
    *p99 = (double)us[n * 99 / 100] / 1000;
}

/* LAT triggers of dag, one at a time: microseconds from the trigger call to "running", and
 * for each the loop thread's CPU time and its context switches, to tell work from waiting: a
 * slow sample with little CPU was preempted (involuntary switch) or blocked (voluntary). The
 * samples go to all (LAT of them), p50 and p99 to the caller; the detail to a "run" line. */
static void latency(const char *dag, const char *what, int rep, int64_t *all, double *p50,
                    double *p99)
{
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
    memcpy(all, lat, sizeof lat);
    qsort(lat, LAT, sizeof *lat, cmp_i64);
    qsort(cpu, LAT, sizeof *cpu, cmp_i64);
    *p50 = (double)lat[LAT / 2] / 1000;
    *p99 = (double)lat[LAT * 99 / 100] / 1000;
    printf("run %d/%d trigger-to-running, %s (%d triggers): p50 %.2f ms, p99 %.2f ms, max %.2f "
           "ms; loop CPU p50 %.2f ms, p99 %.2f ms; %d samples >= 2 ms, %d of them preempted, %d "
           "blocked\n",
           rep + 1, REPEATS, what, LAT, *p50, *p99, (double)lat[LAT - 1] / 1000,
           (double)cpu[LAT / 2] / 1000, (double)cpu[LAT * 99 / 100] / 1000, slow, slow_preempted,
           slow_blocked);
}

/* Returns tasks/s of one run of dag's 1,000 tasks. */
static double thousand(const char *dag, const char *what, int rep)
{
    char run_id[96];
    double c0 = cpu_of(RUSAGE_SELF), k0 = cpu_of(RUSAGE_CHILDREN);
    int64_t t0 = (int64_t)sl_mono_ns();
    trigger(dag, run_id, sizeof run_id);
    run_until(run_done, dag, run_id, 600000);
    double secs = (double)((int64_t)sl_mono_ns() - t0) / 1e9, cpu = cpu_of(RUSAGE_SELF) - c0,
           kids = cpu_of(RUSAGE_CHILDREN) - k0;
    printf("run %d/%d 1,000 %s, one run: %.2f s (%.0f tasks/s); CPU a task: %.2f ms in the "
           "scheduler, %.2f ms in its children\n",
           rep + 1, REPEATS, what, secs, 1000 / secs, cpu, kids);
    return 1000 / secs;
}

/* The shell peer: posix_spawn of what the shell task runs, with its stdin and log as the
 * task's, and no scheduler. */
static int peer_log = -1;

static pid_t peer_spawn(void)
{
    static char *const argv[] = {"/bin/sh", "-c", "true", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, peer_log, 1);
    posix_spawn_file_actions_adddup2(&fa, peer_log, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        fprintf(stderr, "bench_scheduler: posix_spawn: %s\n", strerror(rc));
        exit(1);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

/* LAT spawns, one at a time: from the call to its return (the child has exec'd). */
static void peer_spawn_latency(int64_t *all, double *p50, double *p99)
{
    for (int i = 0; i < LAT; i++) {
        int64_t t0 = (int64_t)sl_mono_ns();
        pid_t pid = peer_spawn();
        all[i] = ((int64_t)sl_mono_ns() - t0) / 1000;
        reap(pid);
    }
    int64_t s[LAT];
    memcpy(s, all, sizeof s);
    pcts(s, LAT, p50, p99);
}

/* 1,000 spawns, at most 32 (the scheduler's parallelism) alive, oldest waited for first. */
static double peer_spawn_thousand(void)
{
    pid_t ring[32];
    int64_t t0 = (int64_t)sl_mono_ns();
    for (int i = 0; i < 1000; i++) {
        if (i >= 32) reap(ring[i % 32]);
        ring[i % 32] = peer_spawn();
    }
    for (int i = 1000 - 32; i < 1000; i++)
        reap(ring[i % 32]);
    return 1000 / ((double)((int64_t)sl_mono_ns() - t0) / 1e9);
}

/* The noop peer: bare SQLite, one prepared statement per kind of state change. */
enum {
    P_BEGIN,
    P_COMMIT,
    P_RUN_INS,
    P_TI_INS,
    P_RUN_STATE,
    P_TI_SCHED,
    P_TI_QUEUED,
    P_TRY_INS,
    P_TI_RUNNING,
    P_TRY_RUNNING,
    P_TI_DONE,
    P_TRY_DONE,
    P_NSTMT
};
static sqlite3 *pdb;
static sqlite3_stmt *pst[P_NSTMT];
static int64_t peer_runs;

static void peer_open(const char *dir)
{
    char path[300], url[320], err[300];
    snprintf(path, sizeof path, "%s/peer.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    sl_meta *m; /* the scheduler's schema and indexes, made by its migrations */
    if (sl_meta_open(url, &m, err, sizeof err)) {
        fprintf(stderr, "bench_scheduler: peer: %s\n", err);
        exit(1);
    }
    sl_meta_close(m);
    static const char *const sql[P_NSTMT] = {
        "BEGIN IMMEDIATE",
        "COMMIT",
        "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_ms, interval_start_ms,"
        " interval_end_ms, conf, queued_ms) VALUES ('peer',?1,'manual','queued',?2,?2,?2,'{}',?2)",
        "INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number, max_tries, pool)"
        " VALUES ('peer',?1,?2,'none',0,1,'default_pool')",
        "UPDATE dag_run SET state=?3, start_ms=?2 WHERE dag_id='peer' AND run_id=?1",
        "UPDATE task_instance SET state='scheduled' WHERE dag_id='peer' AND run_id=?1 AND"
        " task_id=?2",
        "UPDATE task_instance SET state='queued', try_number=try_number+1, scheduler_id=1,"
        " hostname='localhost' WHERE dag_id='peer' AND run_id=?1 AND task_id=?2",
        "INSERT INTO task_try (dag_id, run_id, task_id, try_number, state, scheduler_id, hostname,"
        " log_path) VALUES ('peer',?1,?2,1,'queued',1,'localhost','/dev/null')",
        "UPDATE task_instance SET state='running', start_ms=?3 WHERE dag_id='peer' AND run_id=?1"
        " AND task_id=?2",
        "UPDATE task_try SET state='running', start_ms=?3 WHERE dag_id='peer' AND run_id=?1 AND"
        " task_id=?2 AND try_number=1",
        "UPDATE task_instance SET state='success', end_ms=?3 WHERE dag_id='peer' AND run_id=?1"
        " AND task_id=?2",
        "UPDATE task_try SET state='success', end_ms=?3 WHERE dag_id='peer' AND run_id=?1 AND"
        " task_id=?2 AND try_number=1",
    };
    if (sqlite3_open_v2(path, &pdb, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(pdb,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512;"
                     " PRAGMA wal_autocheckpoint=0",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_scheduler: peer: %s\n", sqlite3_errmsg(pdb));
        exit(1);
    }
    for (int i = 0; i < P_NSTMT; i++)
        if (sqlite3_prepare_v2(pdb, sql[i], -1, &pst[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "bench_scheduler: peer: %s: %s\n", sql[i], sqlite3_errmsg(pdb));
            exit(1);
        }
}

static void peer_close(void)
{
    for (int i = 0; i < P_NSTMT; i++)
        sqlite3_finalize(pst[i]);
    sqlite3_close(pdb);
}

/* Runs statement k with the run id, a task id and a number (each bound only if k uses it). */
static void step(int k, const char *run, const char *task, int64_t v, const char *state)
{
    sqlite3_stmt *st = pst[k];
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1) sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
    if (n >= 2) {
        if (k == P_RUN_INS || k == P_RUN_STATE)
            sqlite3_bind_int64(st, 2, v);
        else
            sqlite3_bind_text(st, 2, task, -1, SQLITE_STATIC);
    }
    if (n >= 3) {
        if (k == P_RUN_STATE)
            sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 3, v);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "bench_scheduler: peer: %s\n", sqlite3_errmsg(pdb));
        exit(1);
    }
    sqlite3_reset(st);
}

#define TX(...)                                                                                    \
    do {                                                                                           \
        step(P_BEGIN, NULL, NULL, 0, NULL);                                                        \
        __VA_ARGS__;                                                                               \
        step(P_COMMIT, NULL, NULL, 0, NULL);                                                       \
    } while (0)

/* A run of ntasks through the state changes; t0_ns set: returns us from t0_ns to the first
 * task's "running" commit. */
static int64_t peer_run(int ntasks, int64_t t0_ns)
{
    char run[32];
    snprintf(run, sizeof run, "peer__%" PRId64, ++peer_runs);
    char(*task)[8] = sl_calloc((size_t)ntasks, sizeof *task);
    for (int i = 0; i < ntasks; i++)
        snprintf(task[i], sizeof task[i], "t%04d", i);
    int64_t now = sl_now_ms(), running_us = -1;
    TX(step(P_RUN_INS, run, NULL, now, NULL);
       for (int i = 0; i < ntasks; i++) step(P_TI_INS, run, task[i], 0, NULL));
    TX(step(P_RUN_STATE, run, NULL, now, "running"));
    TX(for (int i = 0; i < ntasks; i++) step(P_TI_SCHED, run, task[i], 0, NULL));
    for (int b = 0; b < ntasks; b += 32) {
        int e = SL_MIN(ntasks, b + 32);
        TX(for (int i = b; i < e; i++) {
            step(P_TI_QUEUED, run, task[i], 0, NULL);
            step(P_TRY_INS, run, task[i], 0, NULL);
        });
        for (int i = b; i < e; i++) {
            TX(step(P_TI_RUNNING, run, task[i], now, NULL);
               step(P_TRY_RUNNING, run, task[i], now, NULL));
            if (running_us < 0) running_us = ((int64_t)sl_mono_ns() - t0_ns) / 1000;
        }
        for (int i = b; i < e; i++)
            TX(step(P_TI_DONE, run, task[i], now, NULL); step(P_TRY_DONE, run, task[i], now, NULL));
    }
    TX(step(P_RUN_STATE, run, NULL, now, "success"));
    sl_free(task);
    return running_us;
}

/* The scheduler checkpoints on its own thread, outside its commits: here, between runs. */
static void peer_checkpoint(void)
{
    sqlite3_exec(pdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
}

static void peer_sqlite_latency(int64_t *all, double *p50, double *p99)
{
    for (int i = 0; i < LAT; i++)
        all[i] = peer_run(1, (int64_t)sl_mono_ns());
    peer_checkpoint();
    int64_t s[LAT];
    memcpy(s, all, sizeof s);
    pcts(s, LAT, p50, p99);
}

static double peer_sqlite_thousand(void)
{
    int64_t t0 = (int64_t)sl_mono_ns();
    peer_run(1000, t0);
    double tps = 1000 / ((double)((int64_t)sl_mono_ns() - t0) / 1e9);
    peer_checkpoint();
    return tps;
}

/* A table row: sluice's REPEATS values and the peer's, median (min-max) and the ratio. */
static void row(const char *what, const double *ours, const char *peer, const double *theirs,
                int prec)
{
    bench_row(what, ours, peer, theirs, REPEATS, prec);
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

    /* The latency and 1,000-task figures, alternating with their peers. */
    static const char *const lat_what[4] = {"shell task (child process)",
                                            "peer posix_spawn sh -c true", "noop task (in-process)",
                                            "peer sqlite transactions"};
    int64_t *samples[4];
    double p50[4][REPEATS], p99[4][REPEATS], tps[4][REPEATS];
    char plog[320];
    snprintf(plog, sizeof plog, "%s/peer.log", dir);
    peer_log = open(plog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    peer_open(dir);
    for (int k = 0; k < 4; k++)
        samples[k] = sl_calloc(REPEATS * LAT, sizeof **samples);
    for (int r = 0; r < REPEATS; r++) {
        latency("one", lat_what[0], r, samples[0] + r * LAT, &p50[0][r], &p99[0][r]);
        peer_spawn_latency(samples[1] + r * LAT, &p50[1][r], &p99[1][r]);
        latency("one_noop", lat_what[2], r, samples[2] + r * LAT, &p50[2][r], &p99[2][r]);
        peer_sqlite_latency(samples[3] + r * LAT, &p50[3][r], &p99[3][r]);
        if (latency_only) continue;
        tps[0][r] = thousand("many_shell", "no-op shell tasks ('true')", r);
        tps[1][r] = peer_spawn_thousand();
        tps[2][r] = thousand("many_noop", "noop tasks (in-process)", r);
        tps[3][r] = peer_sqlite_thousand();
    }
    for (int k = 0; k < 4; k++) {
        save_samples(lat_what[k], samples[k], REPEATS * LAT);
        sl_free(samples[k]);
    }
    peer_close();
    close(peer_log);
    printf("\nbench_scheduler: scheduler loop in process over SQLite (WAL, synchronous=NORMAL) in "
           "/tmp, parallelism 32; trigger-to-running over %d triggers one at a time, 1,000-task "
           "runs; %d runs alternating with the peers, median (min-max), ratio sluice/peer\n",
           LAT, REPEATS);
    printf("| figure | sluice (median, min-max) | peer | peer (median, min-max) | ratio |\n");
    printf("|---|---|---|---|---|\n");
    const char *spawn_peer = "posix_spawn + waitpid of sh -c true";
    const char *sql_peer = "bare SQLite, a transaction per state change";
    row("trigger-to-running p50 ms, shell task", p50[0], spawn_peer, p50[1], 2);
    row("trigger-to-running p99 ms, shell task", p99[0], spawn_peer, p99[1], 2);
    row("trigger-to-running p50 ms, noop task", p50[2], sql_peer, p50[3], 2);
    row("trigger-to-running p99 ms, noop task", p99[2], sql_peer, p99[3], 2);
    if (!latency_only) {
        row("1,000 shell tasks in one run, tasks/s", tps[0], spawn_peer, tps[1], 0);
        row("1,000 noop tasks in one run, tasks/s", tps[2], sql_peer, tps[3], 0);
    }
    printf("\n");
    if (latency_only) runs = 0;
    if (!latency_only) drift("tick", 10, 20000, "\"every 1s\"");
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
