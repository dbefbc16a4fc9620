/* test_compact.c: the log cleaner on real segment files: the latest record per key kept at its
 * offset in closed segments only, rewritten batches with valid CRC32C, base offsets and last
 * offset deltas, tombstones dropped after delete.retention.ms and kept before, a producer's
 * last batch kept (empty), reads across the gaps, and restart, a leftover .cleaned file and
 * missing indexes after a crash; and the broker's split: the passes on a worker thread while the
 * log is read, the swaps one at a time, a cancelled job. */
#include "kafka/compact.h"
#include "batch_util.h"
#include "core/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <cmocka.h>

typedef struct krec {
    const char *key, *value; /* value NULL: tombstone */
} krec;

/* Appends one batch of the records to l; returns its base offset. */
static int64_t put(sl_plog *l, const krec *r, int n, int64_t ts, int64_t pid)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_be64(&b, 0);
    sl_buf_put_be32(&b, 0);
    sl_buf_put_be32(&b, (uint32_t)-1);
    sl_buf_put_u8(&b, 2);
    sl_buf_put_be32(&b, 0);
    sl_buf_put_be16(&b, 0);
    sl_buf_put_be32(&b, (uint32_t)(n - 1));
    sl_buf_put_be64(&b, (uint64_t)ts);
    sl_buf_put_be64(&b, (uint64_t)ts);
    sl_buf_put_be64(&b, (uint64_t)pid);
    sl_buf_put_be16(&b, pid >= 0 ? 0 : (uint16_t)-1);
    sl_buf_put_be32(&b, pid >= 0 ? 0 : (uint32_t)-1);
    sl_buf_put_be32(&b, (uint32_t)n);
    sl_buf rec = SL_BUF_INIT;
    for (int i = 0; i < n; i++) {
        sl_buf_reset(&rec);
        sl_buf_put_u8(&rec, 0);
        sl_buf_put_varint(&rec, 0);
        sl_buf_put_varint(&rec, i);
        sl_buf_put_varint(&rec, (int64_t)strlen(r[i].key));
        sl_buf_append(&rec, r[i].key, strlen(r[i].key));
        sl_buf_put_varint(&rec, r[i].value ? (int64_t)strlen(r[i].value) : -1);
        if (r[i].value) sl_buf_append(&rec, r[i].value, strlen(r[i].value));
        sl_buf_put_varint(&rec, 0);
        sl_buf_put_varint(&b, (int64_t)rec.len);
        sl_buf_append(&b, rec.ptr, rec.len);
    }
    sl_buf_free(&rec);
    sl_put_be32(b.ptr + 8, (uint32_t)(b.len - 12));
    sl_put_be32(b.ptr + 17, sl_crc32c(0, b.ptr + 21, b.len - 21));
    int64_t base;
    assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), 0);
    sl_buf_free(&b);
    return base;
}

typedef struct seen {
    int64_t off[4096];
    char key[4096][16], val[4096][24]; /* val "" with tomb set: tombstone */
    bool tomb[4096];
    int n, batches, empty_batches;
    int64_t batch_last[4096]; /* base + last offset delta of each batch */
} seen;

/* Reads the whole log, checking every batch's CRC and the records' offsets. */
static void read_all(sl_plog *l, seen *s)
{
    memset(s, 0, sizeof(*s));
    int64_t off = sl_plog_start_offset(l), end = sl_plog_end_offset(l), prev = -1;
    sl_buf b = SL_BUF_INIT;
    while (off < end) {
        sl_buf_reset(&b);
        assert_int_equal(sl_plog_read(l, off, 1 << 20, &b), 0);
        assert_true(b.len > 0);
        for (size_t pos = 0; pos < b.len;) {
            const uint8_t *h = b.ptr + pos;
            size_t total = sl_get_be32(h + 8) + 12;
            assert_true(pos + total <= b.len);
            assert_int_equal(sl_get_be32(h + 17), sl_crc32c(0, h + 21, total - 21));
            int64_t base = (int64_t)sl_get_be64(h);
            int64_t last = base + (int32_t)sl_get_be32(h + 23);
            int32_t count = (int32_t)sl_get_be32(h + 57);
            pos += total;
            if (last < off) continue;
            s->batch_last[s->batches++] = last;
            if (count == 0) s->empty_batches++;
            sl_rd r;
            sl_rd_init(&r, h + 61, total - 61);
            for (int32_t i = 0; i < count; i++) {
                int64_t len, tsd, od, kl, vl, nh;
                int8_t attr;
                sl_slice k = {0}, v = {0};
                assert_int_equal(sl_rd_varint(&r, &len), 0);
                assert_int_equal(sl_rd_i8(&r, &attr), 0);
                assert_int_equal(sl_rd_varint(&r, &tsd), 0);
                assert_int_equal(sl_rd_varint(&r, &od), 0);
                assert_int_equal(sl_rd_varint(&r, &kl), 0);
                assert_int_equal(sl_rd_bytes(&r, (size_t)kl, &k), 0);
                assert_int_equal(sl_rd_varint(&r, &vl), 0);
                if (vl >= 0) assert_int_equal(sl_rd_bytes(&r, (size_t)vl, &v), 0);
                assert_int_equal(sl_rd_varint(&r, &nh), 0);
                int64_t o = base + od;
                assert_true(o > prev && o <= last);
                prev = o;
                int j = s->n++;
                s->off[j] = o;
                snprintf(s->key[j], 16, "%.*s", (int)k.len, (const char *)k.ptr);
                snprintf(s->val[j], 24, "%.*s", (int)v.len, v.ptr ? (const char *)v.ptr : "");
                s->tomb[j] = vl < 0;
            }
            off = last + 1;
        }
    }
    sl_buf_free(&b);
}

/* The active segment's base: the largest segment file name. */
static int64_t active_base(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int64_t best = -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strlen(e->d_name) == 24 && !strcmp(e->d_name + 20, ".log"))
            best = SL_MAX(best, (int64_t)strtoll(e->d_name, NULL, 10));
    closedir(d);
    assert_true(best > 0);
    return best;
}

static sl_plog *open_log(const char *dir)
{
    sl_plog_opts o;
    sl_plog_opts_default(&o);
    o.segment_bytes = 400;
    o.index_interval = 64;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    return l;
}

/* 30 batches of 3 records over keys k0..k6, values v<offset>: many versions per key. */
static void fill(sl_plog *l, int64_t ts)
{
    int seq = 0;
    for (int b = 0; b < 30; b++) {
        char keys[3][8], vals[3][16];
        krec r[3];
        for (int i = 0; i < 3; i++, seq++) {
            snprintf(keys[i], 8, "k%d", (seq * 5) % 7);
            snprintf(vals[i], 16, "v%d", seq);
            r[i] = (krec){keys[i], vals[i]};
        }
        put(l, r, 3, ts, -1);
    }
}

/* Checks that closed segments hold one record per key, the latest below the active segment,
 * and that everything from the active segment on is as written. */
static void check_latest(const seen *s, int64_t active_from, int total)
{
    for (int i = 0; i < s->n; i++) {
        char want[16];
        snprintf(want, 16, "v%" PRId64, s->off[i]); /* values carry their offset */
        assert_string_equal(s->val[i], want);
        if (s->off[i] >= active_from) continue;
        for (int j = i + 1; j < s->n; j++)
            if (s->off[j] < active_from) assert_string_not_equal(s->key[i], s->key[j]);
    }
    /* Every offset from the active segment on is present. */
    int64_t expect = -1;
    int have = 0;
    for (int i = 0; i < s->n; i++)
        if (s->off[i] >= active_from) {
            if (expect >= 0) assert_int_equal(s->off[i], expect);
            expect = s->off[i] + 1;
            have++;
        }
    assert_true(have > 0 && expect == total);
}

static void test_latest_per_key(void **state)
{
    (void)state;
    char dir[256];
    tb_tmpdir(dir, "compact");
    sl_plog *l = open_log(dir);
    fill(l, sl_now_ms());
    int64_t act = active_base(dir), end = sl_plog_end_offset(l);
    seen before, after;
    read_all(l, &before);
    assert_int_equal(before.n, 90);

    sl_compact_opts o = {.now_ms = sl_now_ms(), .delete_retention_ms = 1000};
    sl_compact_stats st;
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    assert_true(st.segments_rewritten > 0 && st.records_removed > 0);
    assert_true(st.bytes_after < st.bytes_before);
    read_all(l, &after);
    check_latest(&after, act, 90);
    assert_true(after.n < before.n);
    assert_int_equal(sl_plog_start_offset(l), 0);
    assert_int_equal(sl_plog_end_offset(l), end);
    /* Every key's latest closed record is still there. */
    for (int i = 0; i < before.n; i++) {
        if (before.off[i] >= act) continue;
        bool latest = true;
        for (int j = i + 1; j < before.n; j++)
            if (before.off[j] < act && !strcmp(before.key[i], before.key[j])) latest = false;
        bool kept = false;
        for (int j = 0; j < after.n; j++)
            if (after.off[j] == before.off[i]) kept = true;
        assert_int_equal(kept, latest);
    }
    /* Kept batches end where they ended: last offset deltas kept. */
    for (int i = 0; i < after.batches; i++) {
        bool found = false;
        for (int j = 0; j < before.batches; j++)
            if (before.batch_last[j] == after.batch_last[i]) found = true;
        assert_true(found);
    }
    /* Every offset reads: one in a gap returns the next batch. */
    for (int64_t off = 0; off < end; off++) {
        sl_buf b = SL_BUF_INIT;
        assert_int_equal(sl_plog_read(l, off, 100, &b), 0);
        assert_true(b.len > 0);
        sl_buf_free(&b);
    }
    /* A second pass with nothing new changes nothing. */
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    assert_int_equal(st.segments_rewritten, 0);

    /* Appends go on; restart keeps the result. */
    krec r = {"k1", "v90"};
    assert_int_equal(put(l, &r, 1, sl_now_ms(), -1), 90);
    sl_plog_close(l);
    l = open_log(dir);
    seen again;
    read_all(l, &again);
    assert_int_equal(again.n, after.n + 1);
    for (int i = 0; i < after.n; i++) {
        assert_int_equal(again.off[i], after.off[i]);
        assert_string_equal(again.val[i], after.val[i]);
    }
    sl_plog_close(l);
    tb_rm_rf(dir);
}

static void test_tombstones(void **state)
{
    (void)state;
    char dir[256];
    tb_tmpdir(dir, "compact");
    sl_plog *l = open_log(dir);
    int64_t now = sl_now_ms();
    krec old[3] = {{"a", "v0"}, {"b", "v1"}, {"c", "v2"}};
    put(l, old, 3, now - 10000, -1);
    krec dead_old = {"a", NULL}; /* offset 3: old enough to go */
    put(l, &dead_old, 1, now - 10000, -1);
    krec dead_new = {"b", NULL}; /* offset 4: too young */
    put(l, &dead_new, 1, now, -1);
    for (int i = 0; i < 20; i++) { /* roll past them */
        char v[16];
        snprintf(v, 16, "v%d", 5 + i);
        krec f = {"filler-key", v};
        put(l, &f, 1, now, -1);
    }
    sl_compact_opts o = {.now_ms = now, .delete_retention_ms = 5000};
    sl_compact_stats st;
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    assert_int_equal(st.tombstones_kept, 1);
    assert_int_equal(st.next_tombstone_ms, now + 5000);
    seen s;
    read_all(l, &s);
    assert_int_equal(s.off[0], 2); /* a and b superseded, c live; then b's tombstone */
    assert_string_equal(s.key[0], "c");
    assert_int_equal(s.off[1], 4);
    assert_true(s.tomb[1]);
    /* Once delete.retention.ms has passed, b's tombstone goes too. */
    o.now_ms = now + 6000;
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    assert_int_equal(st.tombstones_kept, 0);
    read_all(l, &s);
    assert_int_equal(s.off[0], 2);
    assert_string_equal(s.key[1], "filler-key");
    sl_plog_close(l);
    tb_rm_rf(dir);
}

static void test_producer_last_batch_kept(void **state)
{
    (void)state;
    char dir[256];
    tb_tmpdir(dir, "compact");
    sl_plog *l = open_log(dir);
    int64_t now = sl_now_ms();
    krec r[2] = {{"x", "v0"}, {"y", "v1"}};
    put(l, r, 2, now, 7); /* offsets 0-1, producer 7's only batch */
    krec r2[2] = {{"x", "v2"}, {"y", "v3"}};
    put(l, r2, 2, now, -1); /* supersedes both */
    for (int i = 0; i < 20; i++) {
        char v[16];
        snprintf(v, 16, "v%d", 4 + i);
        krec f = {"filler-key", v};
        put(l, &f, 1, now, -1);
    }
    sl_compact_opts o = {.now_ms = now, .delete_retention_ms = 0};
    sl_compact_stats st;
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    seen s;
    read_all(l, &s);
    assert_int_equal(s.batch_last[0], 1); /* producer 7's batch, empty, its offsets kept */
    assert_int_equal(s.empty_batches, 1);
    assert_int_equal(s.off[0], 2);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

/* What a kill -9 can leave: a half-written .cleaned file (the old segment is intact), or a
 * renamed log whose indexes were already removed. */
static void test_crash_leftovers(void **state)
{
    (void)state;
    char dir[256], path[400];
    tb_tmpdir(dir, "compact");
    sl_plog *l = open_log(dir);
    fill(l, sl_now_ms());
    seen before, after;
    read_all(l, &before);
    sl_plog_close(l);
    snprintf(path, sizeof(path), "%s/00000000000000000000.log.cleaned", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "torn", 4), 4);
    close(fd);
    l = open_log(dir);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0); /* removed at open */
    read_all(l, &after);
    assert_int_equal(after.n, before.n);

    sl_compact_opts o = {.now_ms = sl_now_ms(), .delete_retention_ms = 1000};
    sl_compact_stats cst;
    int64_t act = active_base(dir);
    assert_int_equal(sl_compact_log(l, &o, &cst), 0);
    read_all(l, &before);
    sl_plog_close(l);
    /* Indexes gone (a crash between their removal and the rebuild): rebuilt at open. */
    snprintf(path, sizeof(path), "%s/00000000000000000000.index", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/00000000000000000000.timeindex", dir);
    unlink(path);
    l = open_log(dir);
    read_all(l, &after);
    assert_int_equal(after.n, before.n);
    check_latest(&after, act, 90);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

/* Checks a log after a crash mid-compaction: every record has the value written at its offset,
 * offsets increase, and the last record of each key is the one written last (a tombstone for
 * dead keys, or nothing when the tombstone went too): nothing lost, nothing come back. */
static void check_crash_state(sl_plog *l, int nkeys, const int64_t *last_off, const int64_t *tomb,
                              int *cleaned)
{
    static seen s;
    read_all(l, &s);
    int64_t found[64];
    for (int k = 0; k < nkeys; k++)
        found[k] = -1;
    for (int i = 0; i < s.n; i++) {
        char want[16];
        snprintf(want, 16, "v%" PRId64, s.off[i]);
        if (!s.tomb[i]) assert_string_equal(s.val[i], want);
        if (s.key[i][0] == 'k') found[atoi(s.key[i] + 1)] = s.off[i];
    }
    /* A removed tombstone may still be there (its segment not yet swapped); a value never. */
    for (int k = 0; k < nkeys; k++)
        assert_true(found[k] == last_off[k] || (last_off[k] < 0 && found[k] == tomb[k]));
    /* Count the states a kill left half done: some records removed, some duplicates still in. */
    bool dup = false;
    for (int i = 0; i < s.n && !dup; i++)
        for (int j = i + 1; j < s.n && !dup; j++)
            dup = s.key[i][0] == 'k' && !strcmp(s.key[i], s.key[j]);
    *cleaned += s.n < 940 && dup;
}

static void test_kill9_mid_compaction(void **state)
{
    (void)state;
    char dir[256];
    tb_tmpdir(dir, "compact");
    sl_plog *l = open_log(dir);
    enum { NKEYS = 40 };
    int64_t last_off[NKEYS], tomb[NKEYS];
    int64_t now = sl_now_ms();
    /* 880 values then tombstones for every 4th key then filler: 900 records before the filler. */
    for (int i = 0; i < 880; i++) {
        char k[8], v[16];
        snprintf(k, 8, "k%d", (i * 7) % NKEYS);
        snprintf(v, 16, "v%d", i);
        krec r = {k, v};
        last_off[(i * 7) % NKEYS] = put(l, &r, 1, now, -1);
    }
    for (int k = 0; k < NKEYS; k += 2) {
        char key[8];
        snprintf(key, 8, "k%d", k);
        krec r = {key, NULL};
        /* Half the tombstones are old (they go), half young (they stay). */
        int64_t o = put(l, &r, 1, k % 4 ? now : now - 100000, -1);
        last_off[k] = k % 4 ? o : -1;
        tomb[k] = o;
    }
    for (int i = 0; i < 40; i++) { /* roll past everything above */
        char v[16];
        snprintf(v, 16, "v%" PRId64, sl_plog_end_offset(l));
        krec r = {"filler", v};
        put(l, &r, 1, now, -1);
    }
    sl_plog_close(l);
    srand((unsigned)time(NULL));
    int cleaned = 0, rounds = 0;
    for (; rounds < 12; rounds++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            sl_plog *c = open_log(dir);
            sl_compact_opts o = {.now_ms = now, .delete_retention_ms = 50000};
            sl_compact_stats st;
            sl_compact_log(c, &o, &st);
            sl_plog_close(c);
            _exit(0);
        }
        usleep((useconds_t)(rand() % 150000));
        kill(pid, SIGKILL);
        int ws;
        waitpid(pid, &ws, 0);
        l = open_log(dir);
        check_crash_state(l, NKEYS, last_off, tomb, &cleaned);
        sl_plog_close(l);
    }
    print_message("%d of %d kill -9s left a partly compacted log\n", cleaned, rounds);
    /* Finally a full pass: exactly the latest per key. */
    l = open_log(dir);
    sl_compact_opts o = {.now_ms = now, .delete_retention_ms = 50000};
    sl_compact_stats st;
    assert_int_equal(sl_compact_log(l, &o, &st), 0);
    static seen s;
    read_all(l, &s);
    int64_t act = active_base(dir);
    for (int i = 0; i < s.n; i++)
        for (int j = i + 1; j < s.n; j++)
            if (s.off[j] < act) assert_string_not_equal(s.key[i], s.key[j]);
    check_crash_state(l, NKEYS, last_off, tomb, &cleaned);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

static int count_cleaned(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".log.cleaned") != NULL;
    if (d) closedir(d);
    return n;
}

static void same_records(const seen *a, const seen *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->off[i], b->off[i]);
        assert_string_equal(a->val[i], b->val[i]);
    }
}

static void run_job(void *arg)
{
    sl_compact_run(arg);
}

/* The broker's way: the passes on another thread while this one reads the log, which shows
 * the old records until the swaps, then one segment per sl_compact_swap_next; and a cancelled
 * job that leaves the log as it was and no .cleaned file. */
static void test_job_on_a_worker(void **state)
{
    (void)state;
    char dir[256];
    tb_tmpdir(dir, "compact-job");
    sl_plog *l = open_log(dir);
    fill(l, sl_now_ms());
    int64_t act = active_base(dir);
    static seen before, during, after;
    read_all(l, &before);

    sl_compact_opts o = {.now_ms = sl_now_ms(), .delete_retention_ms = 1000};
    sl_compact_job *j = sl_compact_begin(l, &o);
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, run_job, j), 0);
    read_all(l, &during);
    uv_thread_join(&t);
    same_records(&before, &during);
    int files = count_cleaned(dir);
    assert_true(files > 0);
    read_all(l, &during); /* written, not yet swapped in */
    same_records(&before, &during);
    int swaps = 0, r;
    while ((r = sl_compact_swap_next(j)) > 0)
        swaps++;
    assert_int_equal(r, 0);
    assert_int_equal(swaps + 1, files);
    assert_int_equal(count_cleaned(dir), 0);
    /* Each replaced file is held open for the caller to free off the loop. */
    int dead[32];
    assert_int_equal(sl_plog_take_dead_fds(l, dead, 32), files);
    for (int i = 0; i < files; i++) {
        struct stat fst;
        assert_int_equal(fstat(dead[i], &fst), 0);
        assert_int_equal(fst.st_nlink, 0);
        close(dead[i]);
    }
    sl_compact_stats st;
    assert_int_equal(sl_compact_end(j, &st), 0);
    assert_int_equal(st.segments_rewritten, files);
    assert_true(st.clean_end > 0 && st.clean_end <= act); /* past the newest closed base */
    read_all(l, &after);
    check_latest(&after, act, 90);

    /* Cancelled: nothing changes, nothing is left behind. */
    krec r1 = {"k1", "again"};
    for (int i = 0; i < 40; i++)
        put(l, &r1, 1, sl_now_ms(), -1);
    read_all(l, &before);
    j = sl_compact_begin(l, &o);
    sl_compact_cancel(j);
    assert_int_equal(sl_compact_run(j), SL_ERR_CLOSED);
    assert_int_equal(sl_compact_swap_next(j), SL_ERR_CLOSED);
    assert_int_equal(sl_compact_end(j, &st), SL_ERR_CLOSED);
    assert_int_equal(st.segments_rewritten, 0);
    assert_int_equal(count_cleaned(dir), 0);
    read_all(l, &during);
    same_records(&before, &during);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_job_on_a_worker),          cmocka_unit_test(test_kill9_mid_compaction),
    cmocka_unit_test(test_latest_per_key),           cmocka_unit_test(test_tombstones),
    cmocka_unit_test(test_producer_last_batch_kept), cmocka_unit_test(test_crash_leftovers),
};

int main(void)
{
    sl_log_level =
        getenv("SLUICE_LOG_LEVEL") ? sl_log_level_parse(getenv("SLUICE_LOG_LEVEL")) : SL_LOG_ERROR;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
