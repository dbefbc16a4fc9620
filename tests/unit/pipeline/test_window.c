/* test_window.c: the window state without Kafka or a sink: tumbling and hopping assignment,
 * the watermark and late records, rows only for updated windows and closed ones once, the saved
 * state (round trip, a damaged file, a file of another configuration), and the result table's
 * sink URL. */
#include "core/buf.h"
#include "core/config.h"
#include "pipeline/window.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static const sl_sink_column cols[] = {{"nat", SL_SINK_TEXT}, {"age", SL_SINK_INT}};

static sl_window_spec *spec_of(const char *yaml)
{
    sl_errs errs = {0};
    sl_yaml *y = NULL;
    sl_window_spec *s = NULL;
    if (sl_yaml_load_str(yaml, strlen(yaml), "t.yaml", &y, &errs) == 0)
        sl_window_spec_from_yaml(sl_yaml_get(y, "window"), cols, 2, &s, &errs);
    if (errs.n) fail_msg("%s", errs.msgs[0]);
    sl_yaml_free(y);
    return s;
}

static const char *hopping = "window:\n"
                             "  table: k.t\n"
                             "  size: 10s\n"
                             "  hop: 5s\n"
                             "  lateness: 1s\n"
                             "  time: kafka\n"
                             "  group_by: [nat]\n"
                             "  aggregates: {n: count(), s: sum(age), d: count_distinct(age)}\n";

static sl_win_result add(sl_window *w, sl_arena *a, const char *nat, int64_t age, int64_t ts,
                         const char **reason)
{
    sl_sink_value row[2] = {{.str = nat, .len = strlen(nat)}, {.v.i64 = age}};
    char detail[160];
    return sl_window_add(w, row, NULL, 0, ts, a, reason, detail, sizeof detail);
}

/* The rows to write as "key n=.. s=.. d=.. open|closed" lines, sorted; then written. */
static size_t rows_of(sl_window *w, const sl_window_spec *s, char out[][64])
{
    const sl_sink_value *rows;
    size_t ncols, n = sl_window_rows(w, &rows);
    sl_window_spec_columns(s, &ncols);
    for (size_t i = 0; i < n; i++) {
        const sl_sink_value *r = &rows[i * ncols];
        snprintf(out[i], 64, "%.*s n=%lld s=%lld d=%lld %s", (int)r[0].len, r[0].str,
                 (long long)r[4].v.i64, (long long)r[5].v.i64, (long long)r[6].v.i64,
                 r[7].v.b ? "closed" : "open");
    }
    qsort(out, n, 64, (int (*)(const void *, const void *))strcmp);
    sl_window_written(w);
    return n;
}

static void test_hopping_and_late(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of(hopping);
    size_t ncols;
    const sl_sink_column *c = sl_window_spec_columns(s, &ncols);
    assert_int_equal(ncols, 8);
    assert_string_equal(c[0].name, "key");
    assert_string_equal(c[1].name, "nat");
    assert_string_equal(c[2].name, "window_start");
    assert_int_equal(c[5].type, SL_SINK_BIGINT);
    assert_string_equal(c[7].name, "closed");
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    assert_int_equal(add(w, &a, "BR", 30, 12000, &reason), SL_WIN_OK); /* windows 5s, 10s */
    assert_int_equal(add(w, &a, "BR", 40, 13000, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "FR", 40, 14000, &reason), SL_WIN_OK);
    char out[16][64];
    assert_int_equal(rows_of(w, s, out), 4);
    assert_string_equal(out[0], "BR|10000 n=2 s=70 d=2 open");
    assert_string_equal(out[1], "BR|5000 n=2 s=70 d=2 open");
    assert_string_equal(out[2], "FR|10000 n=1 s=40 d=1 open");
    assert_string_equal(out[3], "FR|5000 n=1 s=40 d=1 open");
    assert_int_equal(rows_of(w, s, out), 0); /* nothing updated since */
    /* Event time 17 s: the watermark is 16 s, past [5 s, 15 s): closed once, then gone. */
    assert_int_equal(add(w, &a, "BR", 50, 17000, &reason), SL_WIN_OK);
    assert_int_equal(rows_of(w, s, out), 4);
    assert_string_equal(out[0], "BR|10000 n=3 s=120 d=3 open");
    assert_string_equal(out[1], "BR|15000 n=1 s=50 d=1 open");
    assert_string_equal(out[2], "BR|5000 n=2 s=70 d=2 closed");
    assert_string_equal(out[3], "FR|5000 n=1 s=40 d=1 closed");
    /* 14 s falls in [5, 15) (closed) and [10, 20) (open): counted in the open one only. */
    assert_int_equal(add(w, &a, "FR", 1, 14000, &reason), SL_WIN_OK);
    /* 9 s: [0, 10) and [5, 15), both closed: late (late: dlq by default). */
    assert_int_equal(add(w, &a, "FR", 1, 9000, &reason), SL_WIN_REFUSE);
    assert_string_equal(reason, "late_record");
    assert_int_equal(add(w, &a, "FR", 1, -1, &reason), SL_WIN_REFUSE);
    assert_string_equal(reason, "missing_timestamp");
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.missing_timestamp, 1);
    assert_int_equal(st.windows, 3);
    assert_int_equal(rows_of(w, s, out), 1);
    assert_string_equal(out[0], "FR|10000 n=2 s=41 d=2 open");

    /* Saved and loaded: the same state, offsets and counters. */
    char path[] = "/tmp/test_window_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    int64_t offs[3] = {7, -1, 42};
    char err[256];
    assert_int_equal(sl_window_save(w, path, offs, 3, err, sizeof err), 0);
    sl_window *w2 = sl_window_new(s);
    int64_t *got;
    size_t ngot;
    assert_int_equal(sl_window_load(w2, path, &got, &ngot, err, sizeof err), 0);
    assert_int_equal(ngot, 3);
    assert_int_equal(got[0], 7);
    assert_int_equal(got[1], -1);
    assert_int_equal(got[2], 42);
    sl_free(got);
    sl_window_stats st2;
    sl_window_stats_get(w2, &st2);
    assert_int_equal(st2.windows, 3);
    assert_int_equal(st2.late, 1);
    assert_int_equal(st2.bytes, st.bytes);
    for (int k = 0; k < 2; k++) {
        sl_window *x = k ? w2 : w;
        assert_int_equal(add(x, &a, "BR", 60, 19000, &reason), SL_WIN_OK);
    }
    char o1[16][64], o2[16][64];
    size_t n1 = rows_of(w, s, o1), n2 = rows_of(w2, s, o2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++)
        assert_string_equal(o1[i], o2[i]);

    /* Another configuration refuses the file; a damaged byte too. */
    sl_window_spec *other = spec_of("window:\n  table: k.t\n  size: 20s\n  group_by: [nat]\n"
                                    "  aggregates: {n: count()}\n");
    sl_window *w3 = sl_window_new(other);
    assert_int_equal(sl_window_load(w3, path, &got, &ngot, err, sizeof err), SL_ERR_CONFIG);
    assert_non_null(strstr(err, "another window configuration"));
    sl_window_free(w3);
    sl_window_spec_free(other);
    FILE *f = fopen(path, "r+b");
    fseek(f, 30, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    sl_window *w4 = sl_window_new(s);
    assert_int_equal(sl_window_load(w4, path, &got, &ngot, err, sizeof err), SL_ERR_CORRUPT);
    assert_non_null(strstr(err, "damaged"));
    sl_window_free(w4);
    unlink(path);
    sl_window *w5 = sl_window_new(s);
    assert_int_equal(sl_window_load(w5, path, &got, &ngot, err, sizeof err), SL_ERR_NOTFOUND);
    sl_window_free(w5);
    char logpath[64];
    snprintf(logpath, sizeof logpath, "%s.log", path);
    unlink(logpath);

    sl_window_free(w);
    sl_window_free(w2);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

/* An entry holds only what its aggregates need (count() 8 bytes, min/max 24, count_distinct
 * 40 with up to two values inline): 10,000 groups of one record take under 200 bytes each, the hash
 * table's share included. Min and max of text and of numbers survive a save and a load. */
static void test_memory_and_minmax(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of("window:\n  table: k.t\n  size: 1m\n  group_by: [age]\n"
                                "  aggregates: {n: count(), lo: min(nat), hi: max(nat), "
                                "top: max(age), d: count_distinct(nat)}\n");
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16];
    for (int g = 0; g < 10000; g++) {
        snprintf(nat, sizeof nat, "n%05d", g);
        assert_int_equal(add(w, &a, nat, g, 1000, &reason), SL_WIN_OK);
    }
    assert_int_equal(add(w, &a, "m", 1, 2000, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "c", 1, 3000, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "x", 1, 4000, &reason), SL_WIN_OK);
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.windows, 10000);
    assert_true(st.bytes / st.windows < 200);

    char path[] = "/tmp/test_window_mmXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char err[256];
    int64_t off = 5, *got;
    size_t ngot;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    sl_window *w2 = sl_window_new(s);
    assert_int_equal(sl_window_load(w2, path, &got, &ngot, err, sizeof err), 0);
    sl_free(got);
    sl_window_stats st2;
    sl_window_stats_get(w2, &st2);
    assert_int_equal(st2.bytes, st.bytes);
    unlink(path);
    char logpath[64];
    snprintf(logpath, sizeof logpath, "%s.log", path);
    unlink(logpath);
    for (int k = 0; k < 2; k++) {
        sl_window *x = k ? w2 : w;
        if (k) assert_int_equal(add(x, &a, "n00001", 1, 5000, &reason), SL_WIN_OK);
        if (!k) sl_window_written(x);
        assert_int_equal(add(x, &a, "b", 1, 5000, &reason), SL_WIN_OK);
        if (!k) assert_int_equal(add(x, &a, "n00001", 1, 5000, &reason), SL_WIN_OK);
        const sl_sink_value *rows;
        size_t ncols, n = sl_window_rows(x, &rows);
        sl_window_spec_columns(s, &ncols);
        assert_int_equal(ncols, 10);
        assert_int_equal(n, 1);
        assert_int_equal(rows[4].v.i64, 6); /* n */
        assert_int_equal(rows[5].len, 1);
        assert_memory_equal(rows[5].str, "b", 1);
        assert_int_equal(rows[6].len, 1);
        assert_memory_equal(rows[6].str, "x", 1);
        assert_int_equal(rows[7].v.i64, 1);
        assert_int_equal(rows[8].v.i64, 5);
        sl_window_written(x);
    }
    sl_window_free(w);
    sl_window_free(w2);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Loads path into a new window and compares its stats and next rows with w's after one more
 * record each. */
static void same_after_load(sl_window *w, const sl_window_spec *s, const char *path,
                            int64_t want_off, sl_arena *a)
{
    sl_window *w2 = sl_window_new(s);
    int64_t *got;
    size_t ngot;
    char err[256];
    assert_int_equal(sl_window_load(w2, path, &got, &ngot, err, sizeof err), 0);
    assert_int_equal(ngot, 1);
    assert_int_equal(got[0], want_off);
    sl_free(got);
    sl_window_stats st, st2;
    sl_window_stats_get(w, &st);
    sl_window_stats_get(w2, &st2);
    assert_int_equal(st.windows, st2.windows);
    assert_int_equal(st.late, st2.late);
    const char *reason;
    sl_window_written(w);
    assert_int_equal(add(w, a, "g7", 99, 59000, &reason), add(w2, a, "g7", 99, 59000, &reason));
    char o1[16][64], o2[16][64];
    size_t n1 = rows_of(w, s, o1), n2 = rows_of(w2, s, o2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++)
        assert_string_equal(o1[i], o2[i]);
    sl_window_free(w2);
}

/* A checkpoint after the first writes only the windows changed since the last one (a delta
 * appended to path.log) until the log would outgrow the snapshot; a load replays the deltas,
 * freed windows included, and ignores a torn tail, after which the next save is a snapshot. */
static void test_checkpoint_deltas(void **state)
{
    (void)state;
    sl_window_spec *s =
        spec_of("window:\n  table: k.t\n  size: 1m\n  time: kafka\n"
                "  group_by: [nat]\n"
                "  aggregates: {n: count(), s: sum(age), d: count_distinct(age)}\n");
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16], err[256];
    for (int g = 0; g < 1000; g++) {
        snprintf(nat, sizeof nat, "g%d", g);
        assert_int_equal(add(w, &a, nat, g, 1000, &reason), SL_WIN_OK);
    }
    char path[] = "/tmp/test_window_ckXXXXXX", logpath[64];
    int fd = mkstemp(path);
    close(fd);
    snprintf(logpath, sizeof logpath, "%s.log", path);
    int64_t off = 1000;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    long snap = file_size(path);
    assert_true(snap > 1000 * 20);
    assert_int_equal(file_size(logpath), 0);

    /* Two groups updated: the delta holds them alone. */
    assert_int_equal(add(w, &a, "g1", 5, 2000, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "g2", 6, 2000, &reason), SL_WIN_OK);
    off = 1002;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    assert_int_equal(file_size(path), snap);
    long log1 = file_size(logpath);
    assert_true(log1 > 0 && log1 < 400); /* two groups of the thousand */
    /* Nothing changed: a delta of the offsets alone. */
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    assert_true(file_size(logpath) - log1 < 100);
    same_after_load(w, s, path, 1002, &a);

    /* The window closes: every group freed, a delta that removes them. */
    assert_int_equal(add(w, &a, "late", 1, 200000, &reason), SL_WIN_OK);
    const sl_sink_value *rows;
    assert_int_equal(sl_window_rows(w, &rows), 1001); /* closed, and the new one */
    sl_window_written(w);
    off = 1004;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    assert_int_equal(file_size(path), snap);
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.windows, 1);
    same_after_load(w, s, path, 1004, &a);

    /* A torn tail (a checkpoint cut short) is ignored; the next save is a whole snapshot. */
    long before = file_size(logpath);
    FILE *f = fopen(logpath, "ab");
    fwrite("\0\0\1\0garbage", 1, 11, f);
    fclose(f);
    sl_window *w3 = sl_window_new(s);
    int64_t *got;
    size_t ngot;
    assert_int_equal(sl_window_load(w3, path, &got, &ngot, err, sizeof err), 0);
    assert_int_equal(got[0], 1004);
    sl_free(got);
    sl_window_stats_get(w3, &st);
    assert_int_equal(st.windows, 1); /* "late"'s */
    assert_true(file_size(logpath) == before + 11);
    assert_int_equal(sl_window_save(w3, path, &off, 1, err, sizeof err), 0);
    assert_int_equal(file_size(logpath), 0);
    assert_true(file_size(path) < snap);
    sl_window_free(w3);

    unlink(path);
    unlink(logpath);
    sl_window_free(w);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

/* A checkpoint is the state when it was taken, whenever it is written: sl_process takes one per
 * batch and writes it after the batch's rows, while the next batch already changes the state.
 * Written in order (the first twice, as a retry does), each loads as the state it was taken
 * from. */
static void test_checkpoint_taken_then_written(void **state)
{
    (void)state;
    sl_window_spec *s =
        spec_of("window:\n  table: k.t\n  size: 1m\n  time: kafka\n"
                "  group_by: [nat]\n"
                "  aggregates: {n: count(), s: sum(age), d: count_distinct(age)}\n");
    sl_window *w = sl_window_new(s), *ref = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16], err[256];
    for (int g = 0; g < 100; g++) {
        snprintf(nat, sizeof nat, "g%d", g);
        assert_int_equal(add(w, &a, nat, g, 1000, &reason), SL_WIN_OK);
        assert_int_equal(add(ref, &a, nat, g, 1000, &reason), SL_WIN_OK);
    }
    char path[] = "/tmp/test_window_ctXXXXXX", logpath[64];
    int fd = mkstemp(path);
    close(fd);
    snprintf(logpath, sizeof logpath, "%s.log", path);
    int64_t off = 100;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);

    assert_int_equal(add(w, &a, "g1", 7, 2000, &reason), SL_WIN_OK);
    assert_int_equal(add(ref, &a, "g1", 7, 2000, &reason), SL_WIN_OK);
    off = 101;
    sl_window_ckpt *c1 = sl_window_checkpoint(w, path, &off, 1);
    assert_int_equal(add(w, &a, "g2", 8, 3000, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "new", 9, 3000, &reason), SL_WIN_OK);
    off = 103;
    sl_window_ckpt *c2 = sl_window_checkpoint(w, path, &off, 1);
    assert_true(sl_window_ckpt_bytes(c1) > 0 && sl_window_ckpt_bytes(c2) > 0);

    assert_int_equal(sl_window_ckpt_write(c1, err, sizeof err), 0);
    assert_int_equal(sl_window_ckpt_write(c1, err, sizeof err), 0); /* a retry: same bytes */
    same_after_load(ref, s, path, 101, &a);
    assert_int_equal(sl_window_ckpt_write(c2, err, sizeof err), 0);
    same_after_load(w, s, path, 103, &a);

    sl_window_ckpt_free(c1);
    sl_window_ckpt_free(c2);
    unlink(path);
    unlink(logpath);
    sl_window_free(w);
    sl_window_free(ref);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

static void test_sink_url(void **state)
{
    (void)state;
    static const struct {
        const char *in, *table, *out;
    } cases[] = {
        {"cql://u:p@h:9042/ks.users", "ks.agg", "cql://u:p@h:9042/ks.agg"},
        {"cql://h1,h2:9043", "a.b", "cql://h1,h2:9043/a.b"},
        {"cql://h/ks.t?consistency=QUORUM", "a.b", "cql://h/a.b?consistency=QUORUM"},
        {"postgresql://u@h/db", "agg", "postgresql://u@h/db?table=agg"},
        {"postgresql://u@h/db?sslmode=disable&table=x", "agg",
         "postgresql://u@h/db?sslmode=disable&table=agg"},
        {"postgresql://u@h/db?table=x&sslmode=disable", "s.agg",
         "postgresql://u@h/db?sslmode=disable&table=s.agg"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = sl_window_sink_url(cases[i].in, cases[i].table);
        assert_string_equal(u, cases[i].out);
        sl_free(u);
    }
}

/* The key column writes integers in decimal, negative ones and the extremes included. */
static void test_integer_keys(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of("window:\n"
                                "  table: k.t\n"
                                "  size: 1m\n"
                                "  group_by: [age]\n"
                                "  aggregates: {n: count()}\n");
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    static const int64_t ages[] = {-2147483647 - 1, -7, 0, 9, 2147483647};
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++)
        assert_int_equal(add(w, &a, "BR", ages[i], 120000 + (int64_t)i, &reason), SL_WIN_OK);
    assert_int_equal(add(w, &a, "BR", -7, 1234567890123, &reason), SL_WIN_OK);
    const sl_sink_value *rows;
    size_t ncols, n = sl_window_rows(w, &rows);
    sl_window_spec_columns(s, &ncols);
    static const char *const want[] = {"-2147483648|120000", "-7|120000",
                                       "0|120000",           "9|120000",
                                       "2147483647|120000",  "-7|1234567860000"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        const sl_sink_value *r = &rows[i * ncols];
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found |= r[0].len == strlen(want[k]) && !memcmp(r[0].str, want[k], r[0].len);
        if (!found) fail_msg("key %.*s", (int)r[0].len, r[0].str);
    }
    sl_window_written(w);
    sl_window_free(w);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

/* Ten-second tumbling windows per nat: count, sum and count_distinct of age. */
static const char *tumbling = "window:\n  table: k.t\n  size: 10s\n  group_by: [nat]\n"
                              "  aggregates: {n: count(), s: sum(age), d: count_distinct(age)}\n";

/* Closing a window frees its entries out of the open-addressing table, which moves the entries
 * of the next window that probed past them: every one must still be found, so a second record
 * of each group adds to its row (n=2) rather than starting a new one, and a restart from a
 * snapshot taken in between finds them too. */
static void test_close_among_many(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of(tumbling);
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16];
    enum { G = 3000 };
    static char out[2 * G][64];
    for (int g = 0; g < G; g++) {
        snprintf(nat, sizeof nat, "n%d", g);
        assert_int_equal(add(w, &a, nat, g % 7, 1000, &reason), SL_WIN_OK);
    }
    assert_int_equal(rows_of(w, s, out), G);
    for (int g = 0; g < G; g++) {
        snprintf(nat, sizeof nat, "n%d", g);
        assert_int_equal(add(w, &a, nat, g % 5, 11000, &reason), SL_WIN_OK);
    }
    /* window 0 closes now (its rows closed, its entries freed), window 1 stays */
    assert_int_equal(rows_of(w, s, out), 2 * G);
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.windows, G);
    char path[] = "/tmp/test_window_caXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char err[256], logpath[64];
    int64_t off = 1, *got;
    size_t ngot;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    sl_window *w2 = sl_window_new(s);
    assert_int_equal(sl_window_load(w2, path, &got, &ngot, err, sizeof err), 0);
    sl_free(got);
    sl_window *ws[2] = {w, w2};
    for (int k = 0; k < 2; k++) {
        for (int g = 0; g < G; g++) {
            snprintf(nat, sizeof nat, "n%d", g);
            assert_int_equal(add(ws[k], &a, nat, g % 5 + 1, 12000, &reason), SL_WIN_OK);
        }
        assert_int_equal(rows_of(ws[k], s, out), G);
        sl_window_stats_get(ws[k], &st);
        assert_int_equal(st.windows, G);
        for (int g = 0; g < G; g++) {
            char want[64];
            int len = snprintf(want, sizeof want, "n%d|10000 ", g);
            bool found = false;
            for (int r = 0; r < G && !found; r++) {
                if (strncmp(out[r], want, (size_t)len)) continue;
                char line[64];
                snprintf(line, sizeof line, "n%d|10000 n=2 s=%d d=2 open", g, 2 * (g % 5) + 1);
                assert_string_equal(out[r], line);
                found = true;
            }
            if (!found) fail_msg("no row for group n%d", g);
        }
    }
    snprintf(logpath, sizeof logpath, "%s.log", path);
    unlink(path);
    unlink(logpath);
    sl_window_free(w);
    sl_window_free(w2);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

/* w saved with offset off and loaded into a new window of spec s; the files are removed. */
static sl_window *reloaded(sl_window *w, const sl_window_spec *s, int64_t off)
{
    char path[] = "/tmp/test_window_rXXXXXX", err[256], logpath[64];
    close(mkstemp(path));
    int64_t *got;
    size_t ngot;
    assert_int_equal(sl_window_save(w, path, &off, 1, err, sizeof err), 0);
    sl_window *w2 = sl_window_new(s);
    assert_int_equal(sl_window_load(w2, path, &got, &ngot, err, sizeof err), 0);
    sl_free(got);
    snprintf(logpath, sizeof logpath, "%s.log", path);
    unlink(path);
    unlink(logpath);
    return w2;
}

/* Past PIPE_FROM windows, sl_window_add queues a record's update behind a prefetch (window.c):
 * every aggregate must come out as if applied at once, over two windows a record (hopping),
 * with the text that min and max keep copied before the caller reuses its buffer, and every
 * reader (stats, rows, a checkpoint) seeing the queued records. */
static void test_many_groups_queued(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of("window:\n  table: k.t\n  size: 10s\n  hop: 5s\n"
                                "  group_by: [age]\n"
                                "  aggregates: {n: count(), lo: min(nat), hi: max(nat), "
                                "d: count_distinct(nat)}\n");
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16];
    enum { G = 70000 };
    for (int g = 0; g < G; g++) {
        snprintf(nat, sizeof nat, "x%06d", g);
        assert_int_equal(add(w, &a, nat, g, 1000, &reason), SL_WIN_OK);
    }
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.windows, 2 * G); /* windows 0 and -5000 of each group */
    for (int g = G - 1; g >= 0; g--) {
        snprintf(nat, sizeof nat, "a%06d", g);
        assert_int_equal(add(w, &a, nat, g, 2000, &reason), SL_WIN_OK);
        memset(nat, 'z', sizeof nat - 1); /* the window must hold its own copy */
    }
    const sl_sink_value *rows;
    size_t ncols, n = sl_window_rows(w, &rows);
    sl_window_spec_columns(s, &ncols);
    assert_int_equal(n, 2 * G);
    static int seen[G][2];
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_sink_value *r = &rows[i * ncols];
        int64_t g = r[1].v.i64, start = r[2].v.i64;
        assert_true(g >= 0 && g < G && (start == 0 || start == -5000));
        seen[g][start == 0]++;
        char lo[16], hi[16];
        snprintf(lo, sizeof lo, "a%06d", (int)g);
        snprintf(hi, sizeof hi, "x%06d", (int)g);
        assert_int_equal(r[4].v.i64, 2);
        assert_int_equal(r[5].len, 7);
        assert_memory_equal(r[5].str, lo, 7);
        assert_int_equal(r[6].len, 7);
        assert_memory_equal(r[6].str, hi, 7);
        /* two values share one of the 4096 registers about once in 4096 groups */
        assert_true(r[7].v.i64 == 2 || r[7].v.i64 == 1);
        ones += r[7].v.i64 == 1;
    }
    assert_true(ones < 2 * 2 * G / 4096 + 20);
    for (int g = 0; g < G; g++)
        assert_true(seen[g][0] == 1 && seen[g][1] == 1);
    sl_window_written(w);

    /* queued records are in a checkpoint taken right after them */
    assert_int_equal(add(w, &a, "b", 7, 3000, &reason), SL_WIN_OK);
    sl_window *w2 = reloaded(w, s, 9);
    sl_window_stats st2;
    sl_window_stats_get(w, &st);
    sl_window_stats_get(w2, &st2);
    assert_int_equal(st2.windows, st.windows);
    assert_int_equal(st2.bytes, st.bytes);
    assert_int_equal(add(w2, &a, "c", 7, 3000, &reason), SL_WIN_OK);
    n = sl_window_rows(w2, &rows);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i * ncols + 4].v.i64, 4); /* x, a, b, then c */
        assert_memory_equal(rows[i * ncols + 5].str, "a000007", 7);
        assert_int_equal(rows[i * ncols + 7].v.i64, 4);
    }
    sl_window_written(w2);
    sl_window_free(w);
    sl_window_free(w2);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

/* The group number of a row whose nat is "n<number>" (the text is not NUL-terminated). */
static int group_of(const sl_sink_value *r)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%.*s", (int)r[1].len, r[1].str);
    return atoi(buf + 1);
}

/* When the watermark closes more windows than one call returns (CLOSED_MAX, 16384), the rest
 * come in the next calls: each closed row exactly once, final, with its aggregates; the ones
 * left waiting still refuse late records, and survive a checkpoint and a load. */
static void test_closes_spread(void **state)
{
    (void)state;
    sl_window_spec *s = spec_of(tumbling);
    sl_window *w = sl_window_new(s);
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *reason;
    char nat[16];
    enum { G = 20000, FIRST = 16384 };
    for (int g = 0; g < G; g++) {
        snprintf(nat, sizeof nat, "n%d", g);
        assert_int_equal(add(w, &a, nat, g % 7, 1000, &reason), SL_WIN_OK);
    }
    /* the watermark passes window 0 before its rows were ever written */
    assert_int_equal(add(w, &a, "zz", 1, 20000, &reason), SL_WIN_OK);
    static char seen[G];
    const sl_sink_value *rows;
    size_t ncols, n = sl_window_rows(w, &rows), closed = 0;
    sl_window_spec_columns(s, &ncols);
    assert_int_equal(n, FIRST + 1);
    for (size_t i = 0; i < n; i++) {
        const sl_sink_value *r = &rows[i * ncols];
        if (r[1].len == 2 && !memcmp(r[1].str, "zz", 2)) {
            assert_false(r[7].v.b);
            continue;
        }
        int g = group_of(r);
        assert_true(r[7].v.b);
        assert_int_equal(r[4].v.i64, 1);
        assert_int_equal(r[5].v.i64, g % 7);
        assert_int_equal(seen[g]++, 0);
        closed++;
    }
    assert_int_equal(closed, FIRST);
    sl_window_written(w);
    sl_window_stats st;
    sl_window_stats_get(w, &st);
    assert_int_equal(st.windows, G - FIRST + 1);
    /* a group whose closed row is still to come is late all the same */
    char detail[160];
    sl_sink_value late[2] = {{.str = "n1", .len = 2}, {.v.i64 = 1}};
    assert_int_equal(sl_window_add(w, late, NULL, 0, 1500, &a, &reason, detail, sizeof detail),
                     SL_WIN_REFUSE);
    assert_string_equal(reason, "late_record");

    sl_window *w2 = reloaded(w, s, 3);
    sl_window *ws[2] = {w, w2};
    for (int k = 0; k < 2; k++) {
        static char seen2[G];
        memcpy(seen2, seen, sizeof seen2);
        n = sl_window_rows(ws[k], &rows);
        if (k == 0) assert_int_equal(n, G - FIRST); /* zz was written */
        closed = 0;
        for (size_t i = 0; i < n; i++) {
            const sl_sink_value *r = &rows[i * ncols];
            if (r[1].len == 2 && !memcmp(r[1].str, "zz", 2)) continue; /* reloaded: dirty */
            int g = group_of(r);
            assert_true(r[7].v.b);
            assert_int_equal(r[4].v.i64, 1);
            assert_int_equal(seen2[g]++, 0);
            closed++;
        }
        assert_int_equal(closed, G - FIRST);
        for (int g = 0; g < G; g++)
            assert_int_equal(seen2[g], 1);
        sl_window_written(ws[k]);
        sl_window_stats_get(ws[k], &st);
        assert_int_equal(st.windows, 1);
        assert_int_equal(sl_window_rows(ws[k], &rows), 0);
        sl_window_written(ws[k]);
    }
    sl_window_free(w);
    sl_window_free(w2);
    sl_arena_free(&a);
    sl_window_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hopping_and_late),
        cmocka_unit_test(test_memory_and_minmax),
        cmocka_unit_test(test_checkpoint_deltas),
        cmocka_unit_test(test_checkpoint_taken_then_written),
        cmocka_unit_test(test_sink_url),
        cmocka_unit_test(test_integer_keys),
        cmocka_unit_test(test_close_among_many),
        cmocka_unit_test(test_many_groups_queued),
        cmocka_unit_test(test_closes_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
