/* bench_window.c: what windowed aggregation costs sluice process's loop. In one run, on one
 * core, over the same records (the seeds' 12 fields plus an age and a group field, about 480
 * bytes):
 *   - pass-through: sl_schema_parse into a row, the arena reset per batch of 5000 (process.c's
 *     work per record before the sink);
 *   - aggregation: the same, plus sl_window_add (a one-minute tumbling window on the record
 *     timestamp, GROUP BY the group field, count, sum, max, avg and count_distinct) and, per
 *     batch, sl_window_rows + sl_window_written (building the result rows to upsert);
 * for 1, 10 and 1,000,000 distinct groups, in records per second of the thread's CPU time,
 * alternating the two five times. Prints a markdown table: per group count, each side's median
 * (min-max) over the five rounds, the ratio of the medians agg/pass (pass-through is the peer:
 * the same records through the same parser, without the window), and the window state's memory
 * (its own count and the process RSS). Then, under the table, the checkpoint (sl_window_save,
 * fsync included, in /var/tmp): a whole snapshot of that state, and the delta after one more
 * batch of 5000 records (what sluice process writes per batch).
 *
 *   build/bench/bench_window [N]     (default 2,000,000 records per measurement) */
#include "core/buf.h"
#include "core/config.h"
#include "core/sl.h"
#include "pipeline/schema.h"
#include "pipeline/window.h"
#include "bench_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NREC   100000
#define BATCH  5000
#define ROUNDS 5
#define T0     1699999980000LL /* a multiple of a minute */

static char *records[NREC];
static size_t lens[NREC];

/* The seeds' record (what `sluice ingest` produces) plus an age and a group field. */
static const char *const conf = "pipeline:\n"
                                "  schema:\n"
                                "    id: uuid\n"
                                "    first_name: text\n"
                                "    last_name: text\n"
                                "    gender: text\n"
                                "    address: text\n"
                                "    post_code: text\n"
                                "    email: text\n"
                                "    username: text\n"
                                "    dob: text\n"
                                "    registered_date: text\n"
                                "    phone: text\n"
                                "    picture: text\n"
                                "    age: int\n"
                                "    grp: text\n"
                                "  window:\n"
                                "    table: b.w\n"
                                "    size: 1m\n"
                                "    group_by: [grp]\n"
                                "    aggregates:\n"
                                "      n: count()\n"
                                "      age_sum: sum(age)\n"
                                "      age_max: max(age)\n"
                                "      age_avg: avg(age)\n"
                                "      emails: count_distinct(email)\n";

static void make_records(long groups, long n)
{
    for (int i = 0; i < NREC; i++) {
        sl_free(records[i]);
        char buf[1024];
        /* Record i of a round stands for records i, i + NREC, ...: its group is set per use. */
        int len = snprintf(
            buf, sizeof buf,
            "{\"id\": \"%08x-7d3a-4a59-9a7b-1b0c2d3e%04x\", \"first_name\": \"Ana%d\", "
            "\"last_name\": \"Lima\", \"gender\": \"female\", \"address\": \"%d Rua das "
            "Flores, Recife, Pernambuco, Brazil\", \"post_code\": %d, \"email\": "
            "\"ana.lima%d@example.com\", \"username\": \"bluebird%d\", \"dob\": "
            "\"1990-01-02T03:04:05.006Z\", \"registered_date\": \"2010-05-06T07:08:09.010Z\", "
            "\"phone\": \"(81) 1234-5678\", \"picture\": "
            "\"https://randomuser.me/api/portraits/med/women/%d.jpg\", \"age\": %d, "
            "\"grp\": \"g%07ld\"}",
            (unsigned)i * 2654435761u, i & 0xffff, i, i, 10000 + i, i % 5000, i, i % 100,
            18 + i % 70, (long)(i % groups));
        records[i] = sl_strndup(buf, (size_t)len);
        lens[i] = (size_t)len;
    }
    SL_UNUSED(n);
}

/* The group field is the record's last 8 characters before "\"}": rewritten per use so that
 * 1,000,000 groups need only NREC stored records. */
static void set_group(int i, long g)
{
    char *p = records[i] + lens[i] - 9;
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%07ld\"", g % 10000000);
    memcpy(p, tmp, 8);
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long file_kib(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fclose(f);
    }
    return n / 1024;
}

static double run(const sl_schema *s, sl_window *w, long groups, long n, sl_arena *arena);

/* A snapshot of w, then one more batch and its delta: both into out, printed under the table
 * (a line between its rows would split it). */
static void checkpoints(const sl_schema *s, sl_window *w, long groups, sl_arena *arena, char *out,
                        size_t outlen)
{
    char path[] = "/var/tmp/bench_window_XXXXXX", logpath[64], err[256];
    int fd = mkstemp(path);
    if (fd < 0) return;
    close(fd);
    snprintf(logpath, sizeof logpath, "%s.log", path);
    int64_t off = 1;
    double t0 = wall_ms();
    int rc = sl_window_save(w, path, &off, 1, err, sizeof err);
    double snap = wall_ms() - t0;
    run(s, w, groups, BATCH, arena);
    const sl_sink_value *rows;
    sl_window_rows(w, &rows);
    sl_window_written(w);
    t0 = wall_ms();
    rc = rc ? rc : sl_window_save(w, path, &off, 1, err, sizeof err);
    double delta = wall_ms() - t0;
    if (rc)
        fprintf(stderr, "checkpoint: %s\n", err);
    else
        snprintf(out, outlen,
                 "checkpoint, %ld groups: snapshot %.1f ms (%ld KiB); after %d more records, "
                 "delta %.1f ms (%ld KiB)",
                 groups, snap, file_kib(path), BATCH, delta, file_kib(logpath));
    unlink(path);
    unlink(logpath);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* CPU time of this thread: other jobs on the shared machine take the core away at random
 * moments, which wall-clock time would count against whichever loop was running. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double run(const sl_schema *s, sl_window *w, long groups, long n, sl_arena *arena)
{
    size_t ncols;
    sl_schema_columns(s, &ncols);
    sl_sink_value row[32];
    uint64_t t0 = cpu_ns();
    for (long k = 0; k < n; k++) {
        int i = (int)(k % NREC);
        if (groups > NREC) set_group(i, k % groups);
        if (k % BATCH == 0) {
            if (w) {
                const sl_sink_value *rows;
                sl_window_rows(w, &rows);
                sl_window_written(w);
            }
            sl_arena_reset(arena);
        }
        if (sl_schema_parse(s, records[i], lens[i], 1 << 20, row, arena, NULL, 0)) {
            fprintf(stderr, "record %d refused\n", i);
            exit(1);
        }
        if (w) {
            const char *reason;
            char detail[160];
            /* Every record within one minute: one window per group. */
            int64_t ts = T0 + k * 59999 / n;
            if (sl_window_add(w, row, records[i], lens[i], ts, arena, &reason, detail,
                              sizeof detail) != SL_WIN_OK) {
                fprintf(stderr, "record %d: %s %s\n", i, reason, detail);
                exit(1);
            }
        }
    }
    return (double)n / ((double)(cpu_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
    long n = 2000000;
    if (argc > 1) {
        char *end;
        n = strtol(argv[1], &end, 10);
        if (*end || n < BATCH) {
            fprintf(stderr,
                    "usage: bench_window [N]   (records per measurement, at least %d; "
                    "default 2000000)\n",
                    BATCH);
            return 2;
        }
    }
    sl_errs errs = {0};
    sl_yaml *y = NULL;
    sl_schema *s = NULL;
    sl_window_spec *spec = NULL;
    if (sl_yaml_load_str(conf, strlen(conf), "bench", &y, &errs) ||
        sl_schema_from_yaml(sl_yaml_get(y, "pipeline.schema"), NULL, &s, &errs)) {
        sl_errs_print(&errs, stderr);
        return 1;
    }
    size_t ncols;
    const sl_sink_column *cols = sl_schema_columns(s, &ncols);
    if (sl_window_spec_from_yaml(sl_yaml_get(y, "pipeline.window"), cols, ncols, &spec, &errs)) {
        sl_errs_print(&errs, stderr);
        return 1;
    }
    sl_arena arena;
    sl_arena_init(&arena, 256 * 1024);
    static const long group_counts[] = {1, 10, 1000000};
    char ckpt[SL_ARRAY_LEN(group_counts)][256] = {{0}};
    printf("bench_window: records/s of the thread's CPU time, %ld records per measurement (~480 B "
           "JSON, 14 fields), one-minute tumbling window, 5 aggregates; pass-through and "
           "aggregation alternated, %d rounds, median (min-max)\n",
           n, ROUNDS);
    printf("| groups | aggregation rec/s (median, min-max) | peer: pass-through rec/s (median, "
           "min-max) | ratio agg/pass | windows | state MiB | B/group | RSS MiB |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t g = 0; g < SL_ARRAY_LEN(group_counts); g++) {
        long groups = group_counts[g];
        make_records(groups, n);
        /* Alternated: other jobs on the machine come and go, and hit both sides alike. */
        double pass[ROUNDS], agg[ROUNDS];
        sl_window *w = NULL;
        for (int round = 0; round < ROUNDS; round++) {
            pass[round] = run(s, NULL, groups, n, &arena);
            sl_window_free(w);
            w = sl_window_new(spec);
            agg[round] = run(s, w, groups, n, &arena);
        }
        bench_stat3 pass_st = bench_stats(pass, ROUNDS), agg_st = bench_stats(agg, ROUNDS);
        sl_window_stats st;
        sl_window_stats_get(w, &st);
        printf("| %ld | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %llu | %.1f | %.0f | %.1f |\n",
               groups, agg_st.med, agg_st.min, agg_st.max, pass_st.med, pass_st.min, pass_st.max,
               agg_st.med / pass_st.med, (unsigned long long)st.windows,
               (double)st.bytes / (1 << 20), (double)st.bytes / (double)st.windows,
               (double)rss_kib() / 1024);
        checkpoints(s, w, groups, &arena, ckpt[g], sizeof ckpt[g]);
        fflush(stdout);
        sl_window_free(w);
    }
    printf("\n");
    for (size_t g = 0; g < SL_ARRAY_LEN(group_counts); g++)
        if (ckpt[g][0]) printf("%s\n", ckpt[g]);
    for (int i = 0; i < NREC; i++)
        sl_free(records[i]);
    sl_arena_free(&arena);
    sl_window_spec_free(spec);
    sl_schema_free(s);
    sl_yaml_free(y);
    return 0;
}
