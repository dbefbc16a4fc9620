/* test_plog.c: the partition log: append/read across segments, reads inside batches and under
 * max_bytes, offset_for_time, rolls, retention, recovery from torn and corrupt tails (clean and
 * after a real crash of a child process), index rebuilds, write errors, sync concurrency and the
 * in-memory tail, and the page-cache drop after a sync. */
#include "kafka/plog.h"
#include "batch_util.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <uv.h>
#include <cmocka.h>

/* What the log should hold: every appended batch, as rewritten by the log. */
typedef struct model {
    sl_buf data;
    size_t *at, *len;
    int64_t *base, *last;
    size_t n, cap;
} model;

static void model_free(model *m)
{
    sl_buf_free(&m->data);
    free(m->at);
    free(m->len);
    free(m->base);
    free(m->last);
    memset(m, 0, sizeof(*m));
}

static void model_add(model *m, const uint8_t *b, size_t len, int64_t base, int recs)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->at = realloc(m->at, m->cap * sizeof(size_t));
        m->len = realloc(m->len, m->cap * sizeof(size_t));
        m->base = realloc(m->base, m->cap * sizeof(int64_t));
        m->last = realloc(m->last, m->cap * sizeof(int64_t));
    }
    m->at[m->n] = m->data.len;
    m->len[m->n] = len;
    m->base[m->n] = base;
    m->last[m->n] = base + recs - 1;
    m->n++;
    sl_buf_append(&m->data, b, len);
}

/* Appends count batches of recs records; timestamps continue from *ts by step per record. */
static void append_n(sl_plog *l, model *m, int count, int recs, int64_t *ts, int64_t step,
                     size_t vlen)
{
    sl_buf b = SL_BUF_INIT;
    for (int i = 0; i < count; i++) {
        sl_buf_reset(&b);
        tb_batch(&b, recs, *ts, step, vlen, (uint8_t)('a' + (m->n % 26)));
        if (*ts >= 0) *ts += recs * step;
        int64_t base = -1, expect = sl_plog_end_offset(l);
        assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), 0);
        assert_int_equal(base, expect);
        assert_int_equal(sl_plog_end_offset(l), expect + recs);
        model_add(m, b.ptr, b.len, base, recs);
    }
    sl_buf_free(&b);
}

static size_t model_find(const model *m, int64_t offset)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->base[i] <= offset && offset <= m->last[i]) return i;
    fail_msg("offset %lld not in model", (long long)offset);
    return 0;
}

/* Reads at offset and checks the result is whole batches from the model, starting with the one
 * holding offset, within max_bytes unless a single batch. Returns the number of batches. */
static size_t check_read(sl_plog *l, const model *m, int64_t offset, size_t max_bytes)
{
    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_plog_read(l, offset, max_bytes, &out), 0);
    size_t i = model_find(m, offset), off = 0, n = 0;
    while (off < out.len) {
        assert_true(i < m->n);
        assert_true(off + m->len[i] <= out.len);
        assert_memory_equal(out.ptr + off, m->data.ptr + m->at[i], m->len[i]);
        off += m->len[i++];
        n++;
    }
    assert_true(n >= 1);
    if (n > 1) assert_true(out.len <= max_bytes);
    sl_buf_free(&out);
    return n;
}

static int count_files(const char *dir, const char *ext)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.%s$'", dir, ext);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

static void seg_path(char *out, const char *dir, int64_t base, const char *ext)
{
    snprintf(out, 512, "%s/%020lld.%s", dir, (long long)base, ext);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (int64_t)st.st_size;
}

static sl_plog_opts small_opts(void)
{
    sl_plog_opts o;
    sl_plog_opts_default(&o);
    o.segment_bytes = 64 << 10;
    o.index_interval = 1024;
    return o;
}

static void test_round_trip_segments(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    sl_plog *l;
    model m = {0};
    int64_t ts = 1700000000000;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_start_offset(l), 0);
    assert_int_equal(sl_plog_end_offset(l), 0);
    append_n(l, &m, 600, 5, &ts, 1, 100);
    assert_true(count_files(dir, "log") >= 5);
    assert_int_equal(sl_plog_size_bytes(l), (int64_t)m.data.len);

    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 7)
        check_read(l, &m, off, 10000);
    for (int64_t off = sl_plog_end_offset(l) - 1; off >= 0; off -= 13)
        check_read(l, &m, off, 3000);

    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_plog_read(l, sl_plog_end_offset(l), 1000, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(sl_plog_read(l, sl_plog_end_offset(l) + 1, 1000, &out), SL_ERR_NOTFOUND);
    assert_int_equal(sl_plog_read(l, -1, 1000, &out), SL_ERR_NOTFOUND);

    /* A sequential consumer: each read continues where the last stopped. */
    int64_t next = 0;
    size_t got = 0;
    while (next < sl_plog_end_offset(l)) {
        sl_buf_reset(&out);
        assert_int_equal(sl_plog_read(l, next, 4096, &out), 0);
        assert_true(out.len > 0);
        size_t off = 0;
        while (off < out.len) {
            int64_t base = (int64_t)sl_get_be64(out.ptr + off);
            int64_t last = base + (int32_t)sl_get_be32(out.ptr + off + 23);
            off += 12 + sl_get_be32(out.ptr + off + 8);
            next = last + 1;
            got++;
        }
    }
    assert_int_equal(got, m.n);
    sl_buf_free(&out);

    int64_t end = sl_plog_end_offset(l), size = sl_plog_size_bytes(l);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_start_offset(l), 0);
    assert_int_equal(sl_plog_end_offset(l), end);
    assert_int_equal(sl_plog_size_bytes(l), size);
    for (int64_t off = 0; off < end; off += 11)
        check_read(l, &m, off, 5000);
    append_n(l, &m, 10, 5, &ts, 1, 100);
    check_read(l, &m, end, 100000);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

static void test_read_middle_and_max_bytes(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    sl_plog *l;
    model m = {0};
    int64_t ts = 1000;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 20, 10, &ts, 1, 50);
    size_t blen = m.len[0];

    /* Offset 15 sits inside the second batch (10..19): that batch comes back whole. */
    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_plog_read(l, 15, blen, &out), 0);
    assert_int_equal(out.len, blen);
    assert_int_equal(sl_get_be64(out.ptr), 10);
    sl_buf_free(&out);

    assert_int_equal(check_read(l, &m, 0, 1), 1); /* first batch whole though too big */
    assert_int_equal(check_read(l, &m, 0, 0), 1);
    assert_int_equal(check_read(l, &m, 0, blen * 3), 3); /* exactly three */
    assert_int_equal(check_read(l, &m, 0, blen * 3 + blen / 2), 3);
    assert_int_equal(check_read(l, &m, 33, blen * 2), 2);
    assert_int_equal(check_read(l, &m, 190, 1 << 20), 1); /* the end of the log */
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

/* sl_plog_read_range gives the bytes sl_plog_read gives, as a range of a segment file. */
static void check_range(sl_plog *l, int64_t offset, size_t max_bytes)
{
    sl_buf want = SL_BUF_INIT, got = SL_BUF_INIT;
    int fd = -1;
    int64_t pos = -1;
    size_t len = 1;
    int rc = sl_plog_read(l, offset, max_bytes, &want);
    assert_int_equal(sl_plog_read_range(l, offset, max_bytes, &fd, &pos, &len), rc);
    assert_int_equal(len, want.len);
    if (len) assert_int_equal(pread(fd, sl_buf_extend(&got, len), len, pos), (ssize_t)len);
    if (len) assert_memory_equal(got.ptr, want.ptr, len);
    sl_buf_free(&want);
    sl_buf_free(&got);
}

static void test_read_range(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    sl_plog *l;
    model m = {0};
    int64_t ts = 1000;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    /* Batches of several sizes, some larger than an index interval, over several segments. */
    for (int round = 0; round < 6; round++) {
        append_n(l, &m, 30, 2, &ts, 1, 20);
        append_n(l, &m, 5, 10, &ts, 1, 300);
        append_n(l, &m, 40, 1, &ts, 1, 5);
    }
    assert_true(count_files(dir, "log") >= 3);
    int64_t end = sl_plog_end_offset(l);
    static const size_t maxes[] = {0, 1, 100, 1000, 1024, 3000, 5000, 70000};
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t off = 0; off <= end; off += 3)
            for (size_t i = 0; i < SL_ARRAY_LEN(maxes); i++)
                check_range(l, off, maxes[i]);
        /* A sequential consumer, as Fetch reads: each range continues where the last ended. */
        int64_t next = 0;
        size_t batches = 0;
        sl_buf b = SL_BUF_INIT;
        while (next < end) {
            int fd;
            int64_t pos;
            size_t len;
            assert_int_equal(sl_plog_read_range(l, next, 4096, &fd, &pos, &len), 0);
            assert_true(len > 0);
            sl_buf_reset(&b);
            assert_int_equal(pread(fd, sl_buf_extend(&b, len), len, pos), (ssize_t)len);
            for (size_t off = 0; off < len; batches++) {
                size_t i = model_find(&m, next);
                assert_int_equal(sl_get_be64(b.ptr + off), m.base[i]);
                assert_memory_equal(b.ptr + off, m.data.ptr + m.at[i], m.len[i]);
                off += m.len[i];
                next = m.last[i] + 1;
            }
        }
        sl_buf_free(&b);
        assert_int_equal(batches, m.n);
        /* Closed segments read after a restart load their indexes from disk. */
        sl_plog_close(l);
        assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    }
    int fd;
    int64_t pos;
    size_t len = 1;
    assert_int_equal(sl_plog_read_range(l, end, 100, &fd, &pos, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(sl_plog_read_range(l, end + 1, 100, &fd, &pos, &len), SL_ERR_NOTFOUND);
    assert_int_equal(sl_plog_read_range(l, -1, 100, &fd, &pos, &len), SL_ERR_NOTFOUND);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

static void test_offset_for_time(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    sl_plog *l;
    model m = {0};
    int64_t ts = 10000, off, t;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 400, 4, &ts, 10, 100); /* record k has timestamp 10000 + 10 k */
    assert_true(count_files(dir, "log") >= 3);

    for (int round = 0; round < 2; round++) {
        for (int64_t k = 0; k < 1600; k += 37) {
            assert_int_equal(sl_plog_offset_for_time(l, 10000 + 10 * k, &off, &t), 0);
            assert_int_equal(off, k);
            assert_int_equal(t, 10000 + 10 * k);
            assert_int_equal(sl_plog_offset_for_time(l, 10000 + 10 * k - 5, &off, &t), 0);
            assert_int_equal(off, k);
        }
        assert_int_equal(sl_plog_offset_for_time(l, 0, &off, &t), 0);
        assert_int_equal(off, 0);
        assert_int_equal(t, 10000);
        assert_int_equal(sl_plog_offset_for_time(l, 10000 + 10 * 1600, &off, &t), 0);
        assert_int_equal(off, -1);
        assert_int_equal(t, -1);
        /* Again after a reopen, from the indexes on disk. */
        sl_plog_close(l);
        assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    }

    /* A compressed batch cannot be searched record by record: its base offset answers. */
    sl_buf b = SL_BUF_INIT;
    tb_batch_attrs(&b, 4, 50000, 10, 10, 'z', 1);
    int64_t base;
    assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), 0);
    assert_int_equal(sl_plog_offset_for_time(l, 50020, &off, &t), 0);
    assert_int_equal(off, base);
    sl_buf_free(&b);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

/* LogAppendTime batches: every record carries the batch's max timestamp. */
static void test_offset_for_time_log_append_time(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, NULL, &l), 0);
    sl_buf b = SL_BUF_INIT;
    int64_t base, off, t;
    for (int i = 0; i < 3; i++) {
        sl_buf_reset(&b);
        tb_batch_attrs(&b, 4, 1000 * (i + 1), 1, 10, 'l', 0x08);
        assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), 0);
    }
    /* Batch 1 (offsets 4..7) has max timestamp 2003: the first at or after 2001. */
    assert_int_equal(sl_plog_offset_for_time(l, 2001, &off, &t), 0);
    assert_int_equal(off, 4);
    assert_int_equal(t, 2003);
    sl_buf_free(&b);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

static void test_roll_by_size_and_time(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    o.segment_bytes = 10000;
    o.segment_ms = 1000;
    sl_plog *l;
    model m = {0};
    int64_t ts = 1000;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 1, 1, &ts, 1, 100);
    int64_t t2 = 1500;
    append_n(l, &m, 1, 1, &t2, 1, 100);
    assert_int_equal(count_files(dir, "log"), 1);
    int64_t t3 = 2001; /* more than segment_ms after the segment's first batch */
    append_n(l, &m, 1, 1, &t3, 1, 100);
    assert_int_equal(count_files(dir, "log"), 2);

    /* By size: a segment never passes segment_bytes unless one batch does. */
    int64_t t4 = 2002;
    append_n(l, &m, 30, 3, &t4, 0, 1000);
    int nlogs = count_files(dir, "log");
    assert_true(nlogs >= 10);
    char p[512];
    int seen = 0;
    for (size_t i = 0; i < m.n; i++) {
        seg_path(p, dir, m.base[i], "log");
        if (file_size(p) < 0) continue;
        assert_true(file_size(p) > 0 && file_size(p) <= o.segment_bytes);
        seen++;
    }
    assert_int_equal(seen, nlogs);
    /* Each rolled segment's indexes were written and synced. */
    seg_path(p, dir, 0, "timeindex");
    assert_int_equal(file_size(p), 12);

    for (int64_t off = 0; off < sl_plog_end_offset(l); off++)
        check_read(l, &m, off, 3000);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);

    /* By wall clock, when batches carry no timestamps. */
    tb_tmpdir(dir, "plog");
    o.segment_ms = 30;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    int64_t none = -1;
    append_n(l, &m, 1, 1, &none, 0, 10);
    usleep(10 * 1000);
    append_n(l, &m, 1, 1, &none, 0, 10);
    nlogs = count_files(dir, "log");
    usleep(60 * 1000);
    append_n(l, &m, 1, 1, &none, 0, 10);
    assert_int_equal(count_files(dir, "log"), nlogs + 1);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off++)
        check_read(l, &m, off, 3000);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

static void test_retention(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    o.segment_bytes = 8000;
    sl_plog *l;
    model m = {0};
    int64_t now = 1700000000000, day = 86400000;
    int64_t ts = now - 10 * day;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 40, 2, &ts, 0, 500); /* ten days old: past the 7 d default */
    ts = now - 1000;
    append_n(l, &m, 40, 2, &ts, 0, 500);
    int before = count_files(dir, "log");
    assert_true(before >= 8);

    /* By time: every segment holding only old data goes; the one where fresh data starts
     * stays, so the first fresh offset (80) is still readable. */
    assert_int_equal(sl_plog_retain(l, now), 0);
    int n = before - count_files(dir, "log");
    assert_true(n >= 3);
    assert_int_equal(count_files(dir, "log"), before - n);
    /* The deleted files stay open for the caller to close off the loop (freeing a big file's
     * blocks is slow): one per segment, unlinked, still holding their bytes. */
    int dead[32];
    assert_int_equal(sl_plog_take_dead_fds(l, dead, 32), n);
    for (int i = 0; i < n; i++) {
        struct stat st;
        assert_int_equal(fstat(dead[i], &st), 0);
        assert_int_equal(st.st_nlink, 0);
        assert_true(st.st_size > 0);
        close(dead[i]);
    }
    assert_int_equal(sl_plog_take_dead_fds(l, dead, 32), 0);
    /* Every closed segment keeps its indexes; the active one gets its files at its first index
     * flush (IDX_FLUSH entries), which these few batches do not reach. */
    assert_int_equal(count_files(dir, "index"), before - n - 1);
    int64_t start = sl_plog_start_offset(l);
    assert_true(start > 80 - 40 && start <= 80); /* a segment holds < 20 batches of 2 */
    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_plog_read(l, start - 1, 1000, &out), SL_ERR_NOTFOUND);
    check_read(l, &m, start, 1000);
    check_read(l, &m, 80, 1000);
    assert_int_equal(sl_plog_retain(l, now), 0);
    assert_int_equal(count_files(dir, "log"), before - n);

    /* The start offset survives a reopen (it is the first segment's base). */
    int64_t size = sl_plog_size_bytes(l);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_start_offset(l), start);
    assert_int_equal(sl_plog_size_bytes(l), size);
    sl_plog_close(l);

    /* By bytes: as Kafka, what remains is at least retention_bytes. */
    o.retention_ms = -1;
    o.retention_bytes = size / 2;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    before = count_files(dir, "log");
    assert_int_equal(sl_plog_retain(l, now + 100 * day), 0);
    assert_true(count_files(dir, "log") < before);
    assert_true(sl_plog_size_bytes(l) >= o.retention_bytes);
    assert_true(sl_plog_size_bytes(l) < o.retention_bytes + 8000);
    assert_true(sl_plog_start_offset(l) > start);
    check_read(l, &m, sl_plog_start_offset(l), 1000);
    sl_plog_close(l);

    /* Never the active segment, even when everything is expired. */
    o.retention_ms = 1;
    o.retention_bytes = 0;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    int64_t end = sl_plog_end_offset(l);
    assert_true(count_files(dir, "log") > 1);
    assert_int_equal(sl_plog_retain(l, now + 100 * day), 0);
    assert_int_equal(count_files(dir, "log"), 1);
    assert_int_equal(sl_plog_end_offset(l), end);
    assert_true(sl_plog_start_offset(l) < end);
    check_read(l, &m, sl_plog_start_offset(l), 1000);
    ts = now;
    append_n(l, &m, 1, 2, &ts, 0, 10);
    assert_int_equal(m.base[m.n - 1], end);
    sl_buf_free(&out);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

/* Segments without timestamps age by their file's mtime, as Kafka's do. */
static void test_retention_by_mtime(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    o.segment_bytes = 4000;
    model m = {0};
    int64_t none = -1;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 30, 2, &none, 0, 400);
    sl_plog_close(l);
    int before = count_files(dir, "log");
    assert_true(before >= 3);
    /* Age the first segment by ten days. */
    seg_path(p, dir, 0, "log");
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= 10 * 86400;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_retain(l, sl_now_ms()), 0);
    assert_int_equal(count_files(dir, "log"), before - 1);
    assert_true(sl_plog_start_offset(l) > 0);
    check_read(l, &m, sl_plog_start_offset(l), 1000);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

static int64_t active_base(const model *m, const char *dir)
{
    char p[512];
    int64_t best = 0;
    for (size_t i = 0; i < m->n; i++) {
        seg_path(p, dir, m->base[i], "log");
        if (file_size(p) >= 0) best = m->base[i];
    }
    return best;
}

/* Reopens after damage to the last batch and checks: that batch is gone, all before it reads
 * back, and appends continue at its offset. */
static void check_tail_cut(const char *dir, sl_plog_opts *o, model *m)
{
    sl_plog *l;
    int64_t last = m->base[m->n - 1];
    assert_int_equal(sl_plog_open(dir, o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), last);
    char p[512];
    seg_path(p, dir, active_base(m, dir), "log");
    m->n--;
    m->data.len = m->at[m->n];
    for (int64_t off = 0; off < last; off += 3)
        check_read(l, m, off, 2000);
    int64_t ts = 5000;
    append_n(l, m, 3, 5, &ts, 1, 100);
    assert_int_equal(m->base[m->n - 3], last);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), last + 15);
    for (int64_t off = 0; off < last + 15; off += 3)
        check_read(l, m, off, 2000);
    sl_plog_close(l);
}

static void fill_log(const char *dir, sl_plog_opts *o, model *m, int batches)
{
    sl_plog *l;
    int64_t ts = 1000;
    assert_int_equal(sl_plog_open(dir, o, &l), 0);
    append_n(l, m, batches, 5, &ts, 1, 100);
    sl_plog_close(l);
}

static void test_recovery_truncated_mid_batch(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    fill_log(dir, &o, &m, 250); /* several segments */
    seg_path(p, dir, active_base(&m, dir), "log");
    int64_t size = file_size(p);
    assert_int_equal(truncate(p, size - (int64_t)m.len[m.n - 1] / 2), 0);
    check_tail_cut(dir, &o, &m);
    assert_int_equal(count_files(dir, "log"), count_files(dir, "index"));

    /* A torn header: only 20 bytes of the last batch made it. */
    seg_path(p, dir, active_base(&m, dir), "log");
    size = file_size(p);
    assert_int_equal(truncate(p, size - (int64_t)m.len[m.n - 1] + 20), 0);
    check_tail_cut(dir, &o, &m);
    model_free(&m);
    tb_rm_rf(dir);
}

static void flip_byte(const char *path, int64_t pos)
{
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, pos), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, pos), 1);
    close(fd);
}

static void test_recovery_flipped_byte(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    fill_log(dir, &o, &m, 250);
    seg_path(p, dir, active_base(&m, dir), "log");
    int64_t size = file_size(p);
    flip_byte(p, size - (int64_t)m.len[m.n - 1] / 2); /* inside the records: CRC catches it */
    check_tail_cut(dir, &o, &m);

    /* Garbage where a length should be, as a lost page of zeros would leave. */
    seg_path(p, dir, active_base(&m, dir), "log");
    size = file_size(p);
    int fd = open(p, O_RDWR);
    uint8_t zeros[64] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), size - (int64_t)m.len[m.n - 1]), 64);
    close(fd);
    check_tail_cut(dir, &o, &m);
    model_free(&m);
    tb_rm_rf(dir);
}

/* What keeps restart fast: a clean reopen verifies only past the last index entry, so damage
 * deep in the synced region is (by design) not even read; without a recovery point the whole
 * active segment is verified and the same damage is found. */
static void test_recovery_verifies_only_tail(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    o.segment_bytes = 16 << 20;
    model m = {0};
    fill_log(dir, &o, &m, 200);
    seg_path(p, dir, 0, "log");
    flip_byte(p, (int64_t)m.at[10] + 100);

    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), m.base[m.n - 1] + 5);
    sl_plog_close(l);

    snprintf(p, sizeof(p), "%s/recovery-point", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), m.base[10]);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

static void read_file(const char *path, sl_buf *out)
{
    sl_buf_reset(out);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sl_buf_append(out, buf, n);
    fclose(f);
}

static void test_missing_index_rebuilt(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    int64_t ts = 1000;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 450, 5, &ts, 7, 100);
    int64_t end = sl_plog_end_offset(l);
    sl_plog_close(l);

    /* Remember every index file, then delete them all. */
    size_t nfiles = 0;
    int64_t bases[64];
    sl_buf orig[64][2];
    const char *ext[2] = {"index", "timeindex"};
    for (size_t i = 0; i < m.n; i++) {
        seg_path(p, dir, m.base[i], "log");
        if (file_size(p) < 0) continue;
        bases[nfiles] = m.base[i];
        for (int k = 0; k < 2; k++) {
            sl_buf_init(&orig[nfiles][k]);
            seg_path(p, dir, m.base[i], ext[k]);
            read_file(p, &orig[nfiles][k]);
            assert_int_equal(unlink(p), 0);
        }
        nfiles++;
    }
    assert_true(nfiles >= 4);
    assert_true(orig[0][0].len > 0 && orig[0][1].len > 0);

    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), end);
    for (int64_t off = 0; off < end; off += 5)
        check_read(l, &m, off, 3000);
    int64_t off, t;
    assert_int_equal(sl_plog_offset_for_time(l, 1000 + 7 * 700, &off, &t), 0);
    assert_int_equal(off, 700);
    sl_plog_close(l);
    /* The rebuilt files are the ones the appends wrote. */
    sl_buf now = SL_BUF_INIT;
    for (size_t i = 0; i < nfiles; i++)
        for (int k = 0; k < 2; k++) {
            seg_path(p, dir, bases[i], ext[k]);
            read_file(p, &now);
            assert_int_equal(now.len, orig[i][k].len);
            assert_memory_equal(now.ptr, orig[i][k].ptr, now.len);
        }

    /* An index of the right size but wrong content is caught at first use and rebuilt. */
    seg_path(p, dir, bases[1], "index");
    int fd = open(p, O_RDWR);
    uint8_t junk[16];
    memset(junk, 0xff, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 8), 16);
    close(fd);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    for (int64_t o2 = bases[1]; o2 < bases[2]; o2++)
        check_read(l, &m, o2, 3000);
    sl_plog_close(l);
    read_file(p, &now);
    assert_memory_equal(now.ptr, orig[1][0].ptr, now.len);

    sl_buf_free(&now);
    for (size_t i = 0; i < nfiles; i++)
        for (int k = 0; k < 2; k++)
            sl_buf_free(&orig[i][k]);
    model_free(&m);
    tb_rm_rf(dir);
}

/* A child appends and dies without closing, as under kill -9; the parent recovers. */
static void test_recovery_after_crash(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    int64_t ts = 1000;
    /* The parent builds the same batches to compare with. */
    sl_buf b = SL_BUF_INIT;
    for (int i = 0; i < 300; i++) {
        sl_buf_reset(&b);
        tb_batch(&b, 5, ts, 1, 100, (uint8_t)('a' + i % 26));
        ts += 5;
        sl_put_be64(b.ptr, (uint64_t)i * 5);
        model_add(&m, b.ptr, b.len, i * 5, 5);
    }
    pid_t pid = fork();
    if (pid == 0) {
        sl_plog *l;
        if (sl_plog_open(dir, &o, &l)) _exit(1);
        for (size_t i = 0; i < m.n; i++) {
            int64_t base, synced;
            sl_buf_reset(&b);
            sl_buf_append(&b, m.data.ptr + m.at[i], m.len[i]);
            if (sl_plog_append(l, b.ptr, b.len, &base) || base != m.base[i]) _exit(2);
            if (i == 150 && (sl_plog_sync(l, &synced) || synced != 755)) _exit(3);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), 1500);
    for (int64_t off = 0; off < 1500; off += 4)
        check_read(l, &m, off, 3000);
    sl_plog_close(l);

    /* Without a recovery point the whole active segment is verified; a torn tail still goes. */
    snprintf(p, sizeof(p), "%s/recovery-point", dir);
    assert_int_equal(unlink(p), 0);
    seg_path(p, dir, active_base(&m, dir), "log");
    assert_int_equal(truncate(p, file_size(p) - 10), 0);
    check_tail_cut(dir, &o, &m);
    sl_buf_free(&b);
    model_free(&m);
    tb_rm_rf(dir);
}

static void test_write_error_truncates(void **state)
{
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    int64_t ts = 1000;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 10, 5, &ts, 1, 100);
    seg_path(p, dir, 0, "log");
    int64_t size = file_size(p), end = sl_plog_end_offset(l);

    /* The file may grow by only half a batch: the write fails part way. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)(size + (int64_t)m.len[0] / 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sl_buf b = SL_BUF_INIT;
    tb_batch(&b, 5, ts, 1, 100, 'x');
    int64_t base = -1;
    int rc = sl_plog_append(l, b.ptr, b.len, &base);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(file_size(p), size);
    assert_int_equal(sl_plog_end_offset(l), end);

    /* Space is back: the next append lands where the failed one would have. */
    append_n(l, &m, 3, 5, &ts, 1, 100);
    assert_int_equal(m.base[10], end);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off++)
        check_read(l, &m, off, 1500);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), end + 15);
    sl_plog_close(l);
    sl_buf_free(&b);
    model_free(&m);
    tb_rm_rf(dir);
}

/* A roll that cannot write the old segment's indexes (a full disk) fails the append but not the
 * log: once the cause is gone the roll and the append succeed. */
static void test_roll_write_error(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    int64_t ts = 1000;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 4, 5, &ts, 1, 100);
    o.segment_bytes = (int64_t)m.data.len + 10; /* the next batch rolls */
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    int logs = count_files(dir, "log");

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sl_buf b = SL_BUF_INIT;
    tb_batch(&b, 5, ts, 1, 100, 'x');
    int64_t base;
    int rc = sl_plog_append(l, b.ptr, b.len, &base);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(count_files(dir, "log"), logs);

    append_n(l, &m, 3, 5, &ts, 1, 100);
    assert_int_equal(count_files(dir, "log"), logs + 1);
    assert_int_equal(m.base[4], 20);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off++)
        check_read(l, &m, off, 2000);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), 35);
    int64_t off, t;
    assert_int_equal(sl_plog_offset_for_time(l, 1000 + 22, &off, &t), 0);
    assert_int_equal(off, 22);
    sl_plog_close(l);
    sl_buf_free(&b);
    model_free(&m);
    tb_rm_rf(dir);
}

static void test_bad_batches(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, NULL, &l), 0);
    sl_buf b = SL_BUF_INIT;
    tb_batch(&b, 2, 1, 1, 10, 'q');
    int64_t base;
    assert_int_equal(sl_plog_append(l, b.ptr, 40, &base), SL_ERR_INVAL);
    assert_int_equal(sl_plog_append(l, b.ptr, b.len - 1, &base), SL_ERR_INVAL);
    b.ptr[16] = 1;
    assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), SL_ERR_INVAL);
    b.ptr[16] = 2;
    assert_int_equal(sl_plog_append(l, b.ptr, b.len, &base), 0);
    assert_int_equal(sl_plog_end_offset(l), 2);
    assert_int_equal(sl_plog_size_bytes(l), (int64_t)b.len);
    sl_buf_free(&b);
    sl_plog_close(l);
    tb_rm_rf(dir);
}

/* A worker syncs in a loop while the loop thread appends, rolls, applies retention and finally
 * destroys the log under it. */
typedef struct syncer {
    sl_plog *l;
    atomic_int stop;
    int64_t last;
    int rounds, closed_seen, bad;
} syncer;

static void syncer_main(void *arg)
{
    syncer *s = arg;
    while (!atomic_load(&s->stop)) {
        int64_t synced = -1;
        int rc = sl_plog_sync(s->l, &synced);
        if (rc == SL_ERR_CLOSED) {
            s->closed_seen = 1;
            break;
        }
        if (rc || synced < s->last) s->bad++;
        s->last = synced;
        s->rounds++;
    }
}

static void test_sync_concurrent(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    o.segment_bytes = 16 << 10;
    o.retention_bytes = 64 << 10;
    o.retention_ms = -1;
    sl_plog *l;
    model m = {0};
    int64_t ts = 1000;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    syncer s = {.l = l};
    sl_plog_keep(l); /* the worker's reference */
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, syncer_main, &s), 0);
    for (int i = 0; i < 40; i++) {
        append_n(l, &m, 25, 5, &ts, 1, 100);
        assert_int_equal(sl_plog_retain(l, 0), 0);
        usleep(1000);
    }
    int64_t end = sl_plog_end_offset(l), synced;
    assert_true(sl_plog_start_offset(l) > 0);
    check_read(l, &m, sl_plog_start_offset(l), 1000);
    assert_int_equal(sl_plog_sync(l, &synced), 0);
    assert_int_equal(synced, end);
    assert_int_equal(sl_plog_destroy(l), 0);
    uv_thread_join(&t);
    assert_int_equal(s.bad, 0);
    assert_true(s.rounds > 0);
    assert_int_equal(s.closed_seen, 1);
    sl_plog_release(l);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    model_free(&m);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own */
}

/* A partition holds three descriptors (directory, recovery point, active log) and at most one
 * more while old segments are read, however many segments it has, so that the broker's budget
 * of descriptors per partition holds. */
static void test_descriptors(void **state)
{
    char dir[256];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    sl_plog *l;
    model m = {0};
    int64_t ts = 1700000000000;
    int base = open_fds();
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(open_fds(), base + 3);
    append_n(l, &m, 1000, 5, &ts, 1, 100); /* many index flushes and rolls */
    assert_true(count_files(dir, "log") >= 8);
    assert_int_equal(open_fds(), base + 3);
    /* A reader going through every old segment, and a second one far behind it. */
    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 37) {
        check_read(l, &m, off, 2000);
        check_read(l, &m, off / 3, 2000);
        assert_true(open_fds() <= base + 4);
    }
    int64_t t;
    for (int64_t q = ts - 2000; q < ts; q += 300) {
        int64_t off;
        assert_int_equal(sl_plog_offset_for_time(l, q, &off, &t), 0);
        assert_true(open_fds() <= base + 4);
    }
    sl_plog_close(l);
    assert_int_equal(open_fds(), base);

    /* Reopened with every index missing: the rebuilds open old logs, then let them go. */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -f %s/*.index %s/*.timeindex", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(open_fds(), base + 3);
    check_read(l, &m, 0, 2000);
    assert_int_equal(open_fds(), base + 4);
    sl_plog_close(l);
    assert_int_equal(open_fds(), base);
    model_free(&m);
    tb_rm_rf(dir);
}

static int64_t file_blocks_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (int64_t)st.st_blocks * 512;
}

/* Blocks are reserved past the active segment's end while it takes appends (its size, and
 * everything read back, stay exact), and given back when it rolls and when the log closes. */
static void test_prealloc_trimmed(void **state)
{
    char dir[256], p0[512], probe[512];
    tb_tmpdir(dir, "plog");
    snprintf(probe, sizeof(probe), "%s/probe", dir);
    int fd = open(probe, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    bool can = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
    close(fd);
    unlink(probe);
    if (!can) {
        tb_rm_rf(dir);
        skip();
    }
    sl_plog_opts o;
    sl_plog_opts_default(&o);
    o.segment_bytes = 2 << 20;
    model m = {0};
    int64_t ts = 1000;
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    append_n(l, &m, 10, 10, &ts, 1, 1000); /* ~10 KiB batches: 640 KiB reserved ahead */
    seg_path(p0, dir, 0, "log");
    int64_t size = file_size(p0);
    assert_int_equal(size, (int64_t)m.data.len);
    assert_true(file_blocks_bytes(p0) >= size + (256 << 10));

    int64_t base1 = 0;
    while (count_files(dir, "log") < 2) {
        base1 = sl_plog_end_offset(l); /* the batch that rolls starts the next segment */
        append_n(l, &m, 1, 10, &ts, 1, 1000);
    }
    size = file_size(p0);
    assert_true(size <= o.segment_bytes);
    assert_true(file_blocks_bytes(p0) < size + 8192); /* the closed segment was trimmed */

    append_n(l, &m, 5, 10, &ts, 1, 1000);
    char p1[512];
    seg_path(p1, dir, base1, "log");
    assert_true(file_size(p1) > 0);
    assert_true(file_blocks_bytes(p1) > file_size(p1) + 8192);
    sl_plog_close(l);
    assert_true(file_blocks_bytes(p1) < file_size(p1) + 8192);

    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), (int64_t)m.n * 10);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 7)
        check_read(l, &m, off, 30000);
    sl_plog_close(l);
    model_free(&m);
    tb_rm_rf(dir);
}

/* Pages of path resident in the page cache, one flag per 4 KiB page, in res (npages long). */
static void file_resident(const char *path, unsigned char *res, size_t npages)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    void *map = mmap(NULL, npages * 4096, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mincore(map, npages * 4096, res), 0);
    munmap(map, npages * 4096);
    close(fd);
}

/* Whether POSIX_FADV_DONTNEED drops clean pages of a file in dir (not on tmpfs). */
static bool can_drop_cache(const char *dir)
{
    char probe[512];
    snprintf(probe, sizeof(probe), "%s/probe", dir);
    int fd = open(probe, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    static uint8_t page[4096];
    assert_int_equal(pwrite(fd, page, sizeof page, 0), (ssize_t)sizeof page);
    assert_int_equal(fdatasync(fd), 0);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    unsigned char res = 1;
    file_resident(probe, &res, 1);
    close(fd);
    unlink(probe);
    return !(res & 1);
}

/* cache_keep: a sync drops the active segment's bytes older than its newest cache_keep from the
 * page cache and leaves the newest cached; every batch still reads back (from the device). With
 * cache_keep 0 nothing is dropped. */
static void test_cache_drop(void **state)
{
    char dir[256], p0[512];
    tb_tmpdir(dir, "plog");
    bool drops = can_drop_cache(dir);
    seg_path(p0, dir, 0, "log");
    for (int keep = 0; keep <= 1; keep++) {
        sl_plog_opts o;
        sl_plog_opts_default(&o);
        o.cache_keep = keep ? 1 << 20 : 0;
        model m = {0};
        int64_t ts = 1000, synced = 0;
        sl_plog *l;
        assert_int_equal(sl_plog_open(dir, &o, &l), 0);
        append_n(l, &m, 100, 64, &ts, 1, 1000); /* 100 batches of ~64 KiB: ~6.3 MiB */
        assert_int_equal(sl_plog_sync(l, &synced), 0);
        assert_int_equal(synced, sl_plog_end_offset(l));
        size_t size = m.data.len, npages = (size + 4095) / 4096;
        unsigned char *res = malloc(npages);
        file_resident(p0, res, npages);
        /* The first page of the newest 1 MiB; the few pages before it may stay (fadvise leaves
         * a partial page, and one still on a per-CPU LRU batch), so they are not checked. */
        size_t keep_from = (size - (1 << 20)) / 4096;
        for (size_t i = 0; i < npages; i++) {
            if (keep && drops && i + 8 < keep_from)
                assert_false(res[i] & 1);
            else if (!keep || i >= keep_from)
                assert_true(res[i] & 1);
        }
        free(res);
        for (int64_t off = 0; off < sl_plog_end_offset(l); off += 640)
            check_read(l, &m, off, 1 << 20);
        /* A second sync with nothing new appended drops nothing more and fails nothing. */
        assert_int_equal(sl_plog_sync(l, &synced), 0);
        sl_plog_close(l);
        model_free(&m);
        tb_rm_rf(dir);
        assert_int_equal(mkdir(dir, 0755), 0);
    }
    tb_rm_rf(dir);
}

/* Appends one batch of recs records of vlen bytes through sl_plog_append_direct from mem, at
 * the address phase the log asks for plus skew (0: written with O_DIRECT; else through the page
 * cache). The bytes around the batch must be as they were. */
static void append_direct(sl_plog *l, model *m, uint8_t *mem, size_t memlen, int recs, size_t vlen,
                          size_t skew)
{
    sl_buf b = SL_BUF_INIT;
    tb_batch(&b, recs, 1000 + (int64_t)m->n, 1, vlen, (uint8_t)('a' + (m->n % 26)));
    memset(mem, 0xee, memlen);
    uint8_t *at = mem + 4096 + (sl_plog_direct_phase(l) + skew) % 4096;
    assert_true(at + b.len + 4096 <= mem + memlen);
    memcpy(at, b.ptr, b.len);
    int64_t base = -1, expect = sl_plog_end_offset(l);
    assert_int_equal(sl_plog_append_direct(l, at, b.len, &base), 0);
    assert_int_equal(base, expect);
    for (uint8_t *q = mem; q < at; q++)
        assert_int_equal(*q, 0xee);
    for (uint8_t *q = at + b.len; q < mem + memlen; q++)
        assert_int_equal(*q, 0xee);
    model_add(m, at, b.len, base, recs);
    sl_buf_free(&b);
}

/* Direct appends: O_DIRECT when the phase matches (the last block is padded past the log's
 * size, then trimmed at roll and close), the page cache when not, mixed with plain appends and
 * across rolls; every batch reads back, and a crash leaves nothing recovery cannot cut. */
static void test_direct_append(void **state)
{
    (void)state;
    char dir[256], p[512];
    tb_tmpdir(dir, "plog");
    sl_plog_opts o = small_opts();
    model m = {0};
    size_t memlen = 64 << 10;
    uint8_t *mem = NULL;
    assert_int_equal(posix_memalign((void **)&mem, 4096, memlen), 0);
    sl_plog *l;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    int64_t ts = 1;
    int padded = 0;
    for (int i = 0; i < 120; i++) {
        size_t vlen = 50 + (size_t)(i * 677) % 9000;
        if (i % 5 == 3) {
            append_n(l, &m, 1, 3, &ts, 1, vlen);
            continue;
        }
        int64_t before = m.n ? active_base(&m, dir) : 0;
        append_direct(l, &m, mem, memlen, 3, vlen, i % 5 == 4 ? 1 + (size_t)i : 0);
        int64_t logical = 0;
        int64_t abase = active_base(&m, dir);
        if (abase != before) continue; /* it rolled: phase 0 was needed, not the one asked */
        for (size_t k = 0; k < m.n; k++)
            if (m.base[k] >= abase) logical += (int64_t)m.len[k];
        seg_path(p, dir, abase, "log");
        if (i % 5 != 4 && logical % 4096) {
            /* O_DIRECT wrote whole blocks: the zero padding shows in the file's size. */
            assert_int_equal(file_size(p), (logical + 4095) / 4096 * 4096);
            padded++;
        }
    }
    assert_true(padded > 50);
    assert_true(count_files(dir, "log") > 3);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 5)
        check_read(l, &m, off, 20000);
    sl_plog_close(l);
    int64_t total = 0;
    for (size_t k = 0; k < m.n; k++)
        total += (int64_t)m.len[k];
    DIR *d = opendir(dir);
    int64_t on_disk = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            on_disk += file_size(p);
        }
    }
    closedir(d);
    assert_int_equal(on_disk, total); /* no padding left after close */

    /* A crash after direct appends: the padded tail is cut at reopen, every batch is there. */
    pid_t pid = fork();
    if (pid == 0) {
        sl_plog *cl;
        if (sl_plog_open(dir, &o, &cl)) _exit(1);
        for (int i = 0; i < 7; i++)
            append_direct(cl, &m, mem, memlen, 2, 333 + (size_t)i, 0);
        int64_t synced;
        if (sl_plog_sync(cl, &synced)) _exit(3);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The same batches, as the child's log rewrote them. */
    sl_buf b = SL_BUF_INIT;
    int64_t next = m.last[m.n - 1] + 1;
    for (int i = 0; i < 7; i++) {
        sl_buf_reset(&b);
        tb_batch(&b, 2, 1000 + (int64_t)m.n, 1, 333 + (size_t)i, (uint8_t)('a' + (m.n % 26)));
        sl_put_be64(b.ptr, (uint64_t)next);
        model_add(&m, b.ptr, b.len, next, 2);
        next += 2;
    }
    sl_buf_free(&b);
    seg_path(p, dir, active_base(&m, dir), "log");
    assert_true(file_size(p) % 4096 == 0); /* the crash left the padding */
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), next);
    for (int64_t off = 0; off < next; off += 3)
        check_read(l, &m, off, 20000);
    append_direct(l, &m, mem, memlen, 4, 700, 0);
    sl_plog_close(l);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_end_offset(l), next + 4);
    for (int64_t off = 0; off < next + 4; off += 3)
        check_read(l, &m, off, 20000);
    sl_plog_close(l);
    model_free(&m);
    free(mem);
    tb_rm_rf(dir);
}

/* Checks that the bytes of [pos, pos + len) of the active segment, as read_range gives them for
 * offset, are copied from the tail and equal the model's. */
static void check_copy(sl_plog *l, const model *m, int64_t offset, sl_plog_tail_pool *pool)
{
    int fd;
    int64_t pos;
    size_t len;
    assert_int_equal(sl_plog_read_range(l, offset, 30000, &fd, &pos, &len), 0);
    sl_buf out = SL_BUF_INIT;
    uint64_t hits = pool->hits;
    assert_int_equal(sl_plog_copy_range(l, fd, pos, len, &out), 0);
    assert_int_equal(out.len, len);
    assert_int_equal(pool->hits, hits + 1);
    size_t i = model_find(m, offset);
    assert_memory_equal(out.ptr, m->data.ptr + m->at[i], m->len[i]);
    sl_buf_free(&out);
}

static void test_tail(void **state)
{
    (void)state;
    char dir[256], dir2[256], p[512];
    tb_tmpdir(dir, "plog");
    tb_tmpdir(dir2, "plog");
    sl_plog_tail_pool pool = {.per_log = 20000, .total = 30000};
    sl_plog_opts o = small_opts();
    o.tail_pool = &pool;
    size_t memlen = 64 << 10;
    uint8_t *mem = NULL;
    assert_int_equal(posix_memalign((void **)&mem, 4096, memlen), 0);
    model m = {0}, m2 = {0};
    sl_plog *l, *l2;
    int64_t lo, hi, ts = 1;
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    assert_int_equal(sl_plog_open(dir2, &o, &l2), 0);

    /* A read of the newest bytes of a log that only appended through the page cache takes no
     * tail, nor does a direct append alone; such a read after a direct append takes one from
     * the pool (a miss, as the ring starts empty), and the appends after it fill it. */
    append_n(l, &m, 3, 2, &ts, 1, 500);
    int fd;
    int64_t pos;
    size_t len;
    sl_buf out = SL_BUF_INIT;
    assert_int_equal(sl_plog_read_range(l, m.base[2], 30000, &fd, &pos, &len), 0);
    assert_int_equal(sl_plog_copy_range(l, fd, pos, len, &out), SL_ERR_NOTFOUND);
    append_direct(l, &m, mem, memlen, 3, 700, 0);
    sl_plog_tail_span(l, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
    assert_int_equal(pool.used, 0);
    assert_int_equal(sl_plog_read_range(l, m.base[3], 30000, &fd, &pos, &len), 0);
    assert_int_equal(sl_plog_copy_range(l, fd, pos, len, &out), SL_ERR_NOTFOUND);
    assert_int_equal(out.len, 0);
    assert_int_equal(pool.used, 20000);
    sl_plog_tail_span(l, &lo, &hi);
    assert_int_equal(lo, sl_plog_size_bytes(l));
    assert_int_equal(hi, lo);
    int64_t filled_from = lo;
    /* The pool is spent: a second log's reader takes none. */
    append_direct(l2, &m2, mem, memlen, 2, 300, 0);
    check_read(l2, &m2, 0, 1000);
    sl_plog_tail_span(l2, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
    assert_int_equal(pool.used, 20000);

    /* Fill past the cap: the ring keeps the newest 20000 bytes; later buffered appends count. */
    for (int i = 0; i < 12; i++) {
        if (i % 3 == 2)
            append_n(l, &m, 1, 2, &ts, 1, 900 + (size_t)i);
        else
            append_direct(l, &m, mem, memlen, 3, 1000 + (size_t)i * 37, (size_t)i % 2);
    }
    int64_t abase = active_base(&m, dir);
    assert_int_equal(abase, 0); /* no roll yet */
    sl_plog_tail_span(l, &lo, &hi);
    assert_int_equal(hi, sl_plog_size_bytes(l));
    assert_int_equal(hi - lo, 20000);
    assert_true(lo > filled_from);
    /* Every batch wholly inside the tail is copied from it; one that starts before is not. */
    int64_t first_in = -1, before = -1;
    for (size_t k = 0; k < m.n; k++) {
        if ((int64_t)m.at[k] >= lo && first_in < 0) first_in = m.base[k];
        if ((int64_t)m.at[k] < lo) before = m.base[k];
    }
    for (size_t k = 0; k < m.n; k++)
        if (m.base[k] >= first_in) check_copy(l, &m, m.base[k], &pool);
    assert_int_equal(sl_plog_read_range(l, before, 30000, &fd, &pos, &len), 0);
    assert_int_equal(sl_plog_copy_range(l, fd, pos, len, &out), SL_ERR_NOTFOUND);
    assert_int_equal(out.len, 0);

    /* Reads of the tail's range never touch the file: zero it there and read. */
    seg_path(p, dir, abase, "log");
    int wfd = open(p, O_WRONLY);
    assert_true(wfd >= 0);
    uint8_t *zero = calloc(1, (size_t)(hi - lo));
    assert_int_equal(pwrite(wfd, zero, (size_t)(hi - lo), lo), hi - lo);
    for (int64_t off = first_in; off < sl_plog_end_offset(l); off++)
        check_read(l, &m, off, 5000);
    /* Put the file back as it was. */
    assert_int_equal(pwrite(wfd, m.data.ptr + lo, (size_t)(hi - lo), lo), hi - lo);
    close(wfd);
    free(zero);

    /* Roll: the tail then holds only the new segment, from its start. */
    int64_t old_end = sl_plog_end_offset(l);
    while (active_base(&m, dir) == abase)
        append_direct(l, &m, mem, memlen, 3, 2500, 0);
    int64_t nbase = active_base(&m, dir);
    sl_plog_tail_span(l, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, sl_plog_size_bytes(l) - (int64_t)m.at[model_find(&m, nbase)]);
    check_copy(l, &m, nbase, &pool);
    assert_int_equal(sl_plog_read_range(l, old_end - 1, 30000, &fd, &pos, &len), 0);
    assert_int_equal(sl_plog_copy_range(l, fd, pos, len, &out), SL_ERR_NOTFOUND);
    assert_int_equal(out.len, 0);
    assert_int_equal(sl_plog_read_range(l2, 0, 30000, &fd, &pos, &len), 0);
    assert_int_equal(sl_plog_copy_range(l2, fd, pos, len, &out), SL_ERR_NOTFOUND);
    assert_int_equal(out.len, 0);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 3)
        check_read(l, &m, off, 20000);

    /* Appends that no read uses give the ring back after 4 times its size. */
    int64_t idle_from = sl_plog_size_bytes(l);
    while (pool.used && sl_plog_size_bytes(l) - idle_from <= 5 * 20000)
        append_direct(l, &m, mem, memlen, 3, 2000, 0);
    assert_int_equal(pool.used, 0);
    sl_plog_tail_span(l, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
    assert_true(sl_plog_size_bytes(l) - idle_from > 4 * 20000);
    /* A reader of the newest bytes (sl_plog_read) takes it again. */
    check_read(l, &m, m.base[m.n - 1], 5000);
    assert_int_equal(pool.used, 20000);
    append_direct(l, &m, mem, memlen, 3, 2000, 0);
    check_copy(l, &m, m.base[m.n - 1], &pool);

    /* Close gives the memory back; after a reopen (recovery) the log starts without a tail and
     * takes one again once it appends directly and is read near its end. */
    sl_plog_close(l);
    assert_int_equal(pool.used, 0);
    assert_int_equal(sl_plog_open(dir, &o, &l), 0);
    sl_plog_tail_span(l, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
    append_direct(l, &m, mem, memlen, 2, 800, 0);
    check_read(l, &m, m.base[m.n - 1], 5000);
    assert_int_equal(pool.used, 20000);
    append_direct(l, &m, mem, memlen, 2, 900, 0);
    check_copy(l, &m, m.base[m.n - 1], &pool);
    for (int64_t off = 0; off < sl_plog_end_offset(l); off += 3)
        check_read(l, &m, off, 20000);
    sl_plog_close(l);
    sl_plog_close(l2);
    assert_int_equal(pool.used, 0);
    sl_buf_free(&out);
    model_free(&m);
    model_free(&m2);
    free(mem);
    tb_rm_rf(dir);
    tb_rm_rf(dir2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trip_segments),
    cmocka_unit_test(test_direct_append),
    cmocka_unit_test(test_tail),
    cmocka_unit_test(test_read_middle_and_max_bytes),
    cmocka_unit_test(test_read_range),
    cmocka_unit_test(test_offset_for_time),
    cmocka_unit_test(test_offset_for_time_log_append_time),
    cmocka_unit_test(test_roll_by_size_and_time),
    cmocka_unit_test(test_retention),
    cmocka_unit_test(test_retention_by_mtime),
    cmocka_unit_test(test_recovery_truncated_mid_batch),
    cmocka_unit_test(test_recovery_flipped_byte),
    cmocka_unit_test(test_recovery_verifies_only_tail),
    cmocka_unit_test(test_missing_index_rebuilt),
    cmocka_unit_test(test_recovery_after_crash),
    cmocka_unit_test(test_write_error_truncates),
    cmocka_unit_test(test_roll_write_error),
    cmocka_unit_test(test_bad_batches),
    cmocka_unit_test(test_sync_concurrent),
    cmocka_unit_test(test_descriptors),
    cmocka_unit_test(test_prealloc_trimmed),
    cmocka_unit_test(test_cache_drop),
};

int main(void)
{
    sl_log_level =
        getenv("SLUICE_LOG_LEVEL") ? sl_log_level_parse(getenv("SLUICE_LOG_LEVEL")) : SL_LOG_ERROR;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
