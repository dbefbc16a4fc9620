/* test_storage.c: the RocksDB row store: writes and reads, last-write-wins, every kind of
 * tombstone, TTL expiry on an injected clock, clustering order (ASC/DESC, bounds, reverse),
 * collections and counters, static columns, token-range scans with resume, reopening, the
 * compaction filter purging expired data, and group commit batching WAL syncs. */
#include "cql/catalog.h"
#include "cql/storage.h"
#include "cql/storage_int.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static int64_t fake_now_us = 1700000000LL * 1000000;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now_us;
}

typedef struct fx {
    char dir[64];
    uv_loop_t loop;
    sl_store *s;
    sl_catalog *c;
} fx;

static void rm_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd)) {
    }
}

static void fx_open(fx *f, sl_store_sync_mode mode)
{
    sl_store_opts o;
    sl_store_opts_default(&o);
    o.dir = f->dir;
    o.sync_mode = mode;
    o.sync_period_ms = 50;
    o.clock_us = fake_clock;
    o.full_compaction_period_ms = 0;
    o.write_buffer_bytes = 4u << 20;
    o.block_cache_bytes = 8u << 20;
    sl_buf err = SL_BUF_INIT;
    if (sl_store_open(&f->loop, &o, &f->s, &err)) fail_msg("open: %s", sl_buf_cstr(&err));
    if (sl_catalog_open(f->s, &f->c, &err)) fail_msg("catalog: %s", sl_buf_cstr(&err));
    sl_buf_free(&err);
}

static void fx_close(fx *f)
{
    sl_catalog_close(f->c);
    sl_store_close(f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    f->s = NULL;
    f->c = NULL;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sl-test-storage-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    uv_loop_init(&f->loop);
    fx_open(f, SL_STORE_SYNC_BATCH);
    sl_buf err = SL_BUF_INIT;
    sl_cql_option r[2] = {{"class", "SimpleStrategy"}, {"replication_factor", "1"}};
    assert_int_equal(sl_catalog_create_keyspace(f->c, "ks", r, 2, true, false, &err), 0);
    sl_buf_free(&err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->s) fx_close(f);
    uv_loop_close(&f->loop);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static sl_cql_dtype *T(const char *text)
{
    sl_cql_dtype *t = NULL;
    sl_buf err = SL_BUF_INIT;
    if (sl_cql_dtype_parse(SL_SLICE_STR(text), &t, &err)) fail_msg("type %s", text);
    sl_buf_free(&err);
    return t;
}

/* "name type kind" separated by ';', kind one of pk ck ckdesc static regular */
static sl_cql_table *make_table(fx *f, const char *name, const char *defs, const char *opt_name,
                                const char *opt_val)
{
    sl_cql_table *t = sl_cql_table_new("ks", name);
    sl_buf err = SL_BUF_INIT;
    char *copy = strdup(defs), *save = NULL;
    for (char *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save)) {
        char cname[64], ctype[64], kind[16];
        assert_int_equal(sscanf(d, " %63s %63s %15s", cname, ctype, kind), 3);
        sl_cql_col_kind k = !strcmp(kind, "pk") ? SL_CQL_COL_PARTITION_KEY
                            : !strcmp(kind, "ck") || !strcmp(kind, "ckdesc") ? SL_CQL_COL_CLUSTERING
                            : !strcmp(kind, "static")                        ? SL_CQL_COL_STATIC
                                                                             : SL_CQL_COL_REGULAR;
        sl_cql_dtype *ty = T(ctype);
        assert_int_equal(sl_cql_table_add_column(t, cname, ty, k, !strcmp(kind, "ckdesc"), &err),
                         0);
        sl_cql_dtype_release(ty);
    }
    free(copy);
    if (opt_name) assert_int_equal(sl_cql_table_set_option(t, opt_name, opt_val, &err), 0);
    if (sl_catalog_create_table(f->c, t, false, &err)) fail_msg("create: %s", sl_buf_cstr(&err));
    sl_buf_free(&err);
    return sl_catalog_table(f->c, "ks", name);
}

static sl_slice I32(int32_t v, uint8_t b[4])
{
    sl_put_be32(b, (uint32_t)v);
    return (sl_slice){b, 4};
}

static void write_batch(fx *f, sl_store_batch *b)
{
    sl_buf err = SL_BUF_INIT;
    if (sl_store_write(f->s, b, &err)) fail_msg("write: %s", sl_buf_cstr(&err));
    sl_buf_free(&err);
}

/* Collects a cursor's rows as text: "pk,ck:col=val@ts/ttl;..." per row with non-null cells. */
static char *dump(fx *f, const sl_cql_table *t, const sl_store_read *rd)
{
    sl_store_cursor *c;
    assert_int_equal(sl_store_cursor_open(f->s, t, rd, &c), 0);
    sl_buf out = SL_BUF_INIT;
    const sl_store_row *row;
    int rc;
    while ((rc = sl_store_cursor_next(c, &row)) == 1) {
        if (out.len) sl_buf_append_str(&out, " | ");
        for (size_t i = 0; i < t->ncolumns; i++) {
            const sl_store_cell *cell = &row->cells[i];
            if (!cell->value.ptr) continue;
            if (i) sl_buf_append_str(&out, " ");
            sl_buf_printf(&out, "%s=", t->columns[i].name);
            sl_cql_value_format(t->columns[i].type, cell->value, SL_CQL_FMT_LITERAL, &out);
            if (cell->ttl) sl_buf_printf(&out, "/ttl%d", cell->ttl);
        }
        if (row->static_only) sl_buf_append_str(&out, " (static)");
    }
    assert_int_equal(rc, 0);
    sl_store_cursor_close(c);
    return (char *)sl_buf_cstr(&out);
}

static void expect(fx *f, const sl_cql_table *t, const sl_store_read *rd, const char *want)
{
    char *got = dump(f, t, rd);
    if (strcmp(got, want)) fail_msg("\n got: %s\nwant: %s", got, want);
    free(got);
}

static sl_store_read part_read(const sl_slice *pk)
{
    sl_store_read rd = {0};
    rd.pk = pk;
    rd.now_s = (int32_t)(fake_now_us / 1000000);
    return rd;
}

static void put_row(fx *f, sl_cql_table *t, int32_t pk, int32_t ck, const char *v, int64_t ts,
                    int32_t ttl)
{
    uint8_t a[4], b[4];
    sl_slice p = I32(pk, a), c = I32(ck, b);
    sl_store_batch *bt = sl_store_batch_new(f->s);
    sl_store_batch_row(bt, t, &p, &c, 1, ts, ttl);
    sl_store_batch_marker(bt);
    sl_store_batch_cell(bt, sl_cql_table_column(t, "v"), v ? SL_SLICE_STR(v) : SL_SLICE_NULL);
    write_batch(f, bt);
    sl_store_batch_free(bt);
}

static void test_write_read_lww(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "t1", "p int pk; c int ck; v text regular", NULL, NULL);
    uint8_t a[4];
    sl_slice p = I32(1, a);
    sl_store_read rd = part_read(&p);
    expect(f, t, &rd, "");
    put_row(f, t, 1, 2, "b", 100, 0);
    put_row(f, t, 1, 1, "a", 100, 0);
    expect(f, t, &rd, "p=1 c=1 v='a' | p=1 c=2 v='b'");
    /* an older write loses, a newer wins, a tie goes to the greater value */
    put_row(f, t, 1, 1, "old", 99, 0);
    expect(f, t, &rd, "p=1 c=1 v='a' | p=1 c=2 v='b'");
    put_row(f, t, 1, 1, "new", 101, 0);
    put_row(f, t, 1, 2, "z", 100, 0);
    put_row(f, t, 1, 2, "c", 100, 0);
    expect(f, t, &rd, "p=1 c=1 v='new' | p=1 c=2 v='z'");
    /* a tombstone wins a tie; the marker keeps the row */
    put_row(f, t, 1, 2, NULL, 100, 0);
    expect(f, t, &rd, "p=1 c=1 v='new' | p=1 c=2");
    /* write time is reported per cell */
    sl_store_cursor *c;
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    const sl_store_row *row;
    assert_int_equal(sl_store_cursor_next(c, &row), 1);
    assert_int_equal(row->cells[sl_cql_table_column(t, "v")->index].timestamp, 101);
    assert_int_equal(row->token, sl_cql_token(&p, 1));
    sl_store_cursor_close(c);
    /* a regular cell or marker without every clustering value is refused, not misfiled */
    sl_store_batch *bt = sl_store_batch_new(f->s);
    sl_store_batch_row(bt, t, &p, NULL, 0, 200, 0);
    sl_store_batch_marker(bt);
    sl_store_batch_cell(bt, sl_cql_table_column(t, "v"), SL_SLICE_STR("misfiled"));
    assert_int_equal(sl_store_batch_count(bt), 0);
    write_batch(f, bt);
    sl_store_batch_free(bt);
    expect(f, t, &rd, "p=1 c=1 v='new' | p=1 c=2");
    /* other partitions are not visible */
    uint8_t b2[4];
    sl_slice p2 = I32(2, b2);
    sl_store_read rd2 = part_read(&p2);
    expect(f, t, &rd2, "");
}

static void test_tombstones(void **state)
{
    fx *f = *state;
    sl_cql_table *t =
        make_table(f, "t2", "p int pk; c1 int ck; c2 int ck; v text regular", NULL, NULL);
    uint8_t pb[4], c1b[4], c2b[4];
    sl_slice p = I32(7, pb);
    sl_store_batch *b = sl_store_batch_new(f->s);
    for (int i = 1; i <= 3; i++)
        for (int j = 1; j <= 3; j++) {
            sl_slice ck[2] = {I32(i, c1b), I32(j, c2b)};
            sl_store_batch_row(b, t, &p, ck, 2, 10, 0);
            char v[8];
            snprintf(v, sizeof(v), "%d%d", i, j);
            sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR(v));
        }
    write_batch(f, b);
    sl_store_read rd = part_read(&p);
    char *all = dump(f, t, &rd);
    assert_int_equal(strlen(all) > 0, 1);
    free(all);
    /* row tombstone */
    sl_slice ck[2] = {I32(1, c1b), I32(2, c2b)};
    sl_store_batch_row(b, t, &p, ck, 2, 20, 0);
    sl_store_batch_row_delete(b);
    write_batch(f, b);
    expect(f, t, &rd,
           "p=7 c1=1 c2=1 v='11' | p=7 c1=1 c2=3 v='13' | p=7 c1=2 c2=1 v='21' | "
           "p=7 c1=2 c2=2 v='22' | p=7 c1=2 c2=3 v='23' | p=7 c1=3 c2=1 v='31' | "
           "p=7 c1=3 c2=2 v='32' | p=7 c1=3 c2=3 v='33'");
    /* range tombstone on a prefix: c1 = 2 */
    sl_slice pre = I32(2, c1b);
    sl_store_bound s = {&pre, 1, true}, e = {&pre, 1, true};
    sl_store_batch_row(b, t, &p, NULL, 0, 20, 0);
    sl_store_batch_range_delete(b, &s, &e);
    write_batch(f, b);
    expect(f, t, &rd,
           "p=7 c1=1 c2=1 v='11' | p=7 c1=1 c2=3 v='13' | p=7 c1=3 c2=1 v='31' | "
           "p=7 c1=3 c2=2 v='32' | p=7 c1=3 c2=3 v='33'");
    /* range tombstone on a slice: c1 = 3 and c2 > 1 */
    sl_slice lo[2] = {I32(3, c1b), I32(1, c2b)};
    uint8_t hb[4];
    sl_slice hi = I32(3, hb);
    sl_store_bound s2 = {lo, 2, false}, e2 = {&hi, 1, true};
    sl_store_batch_row(b, t, &p, NULL, 0, 20, 0);
    sl_store_batch_range_delete(b, &s2, &e2);
    write_batch(f, b);
    sl_slice pp = I32(7, pb);
    sl_store_read rd2 = part_read(&pp);
    expect(f, t, &rd2, "p=7 c1=1 c2=1 v='11' | p=7 c1=1 c2=3 v='13' | p=7 c1=3 c2=1 v='31'");
    /* a newer write into a deleted range is visible; one at the deletion's time is not */
    sl_slice ck2[2] = {I32(2, c1b), I32(5, c2b)};
    sl_store_batch_row(b, t, &pp, ck2, 2, 21, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR("25"));
    sl_slice ck3[2] = {I32(2, c1b), I32(6, c2b)};
    sl_store_batch_row(b, t, &pp, ck3, 2, 20, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR("26"));
    write_batch(f, b);
    expect(f, t, &rd2,
           "p=7 c1=1 c2=1 v='11' | p=7 c1=1 c2=3 v='13' | p=7 c1=2 c2=5 v='25' | "
           "p=7 c1=3 c2=1 v='31'");
    /* partition tombstone */
    sl_store_batch_row(b, t, &pp, NULL, 0, 30, 0);
    sl_store_batch_partition_delete(b);
    write_batch(f, b);
    expect(f, t, &rd2, "");
    sl_slice ck4[2] = {I32(9, c1b), I32(9, c2b)};
    sl_store_batch_row(b, t, &pp, ck4, 2, 31, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR("99"));
    write_batch(f, b);
    expect(f, t, &rd2, "p=7 c1=9 c2=9 v='99'");

    /* without clustering a partition is one key, read with one Get: the same semantics */
    sl_cql_table *u = make_table(f, "t2u", "p int pk; v text regular; w int regular", NULL, NULL);
    uint8_t wb[4];
    sl_store_batch_row(b, u, &pp, NULL, 0, 10, 0);
    sl_store_batch_marker(b);
    sl_store_batch_cell(b, sl_cql_table_column(u, "v"), SL_SLICE_STR("x"));
    sl_store_batch_cell(b, sl_cql_table_column(u, "w"), I32(5, wb));
    write_batch(f, b);
    expect(f, u, &rd2, "p=7 v='x' w=5");
    sl_store_batch_row(b, u, &pp, NULL, 0, 11, 0);
    sl_store_batch_partition_delete(b);
    write_batch(f, b);
    expect(f, u, &rd2, "");
    sl_store_read scan = {0};
    scan.token_min = INT64_MIN;
    scan.token_max = INT64_MAX;
    scan.now_s = rd2.now_s;
    expect(f, u, &scan, "");
    sl_store_batch_row(b, u, &pp, NULL, 0, 12, 30);
    sl_store_batch_cell(b, sl_cql_table_column(u, "w"), I32(6, wb));
    write_batch(f, b);
    expect(f, u, &rd2, "p=7 w=6/ttl30");
    expect(f, u, &scan, "p=7 w=6/ttl30");
    rd2.now_s += 30;
    expect(f, u, &rd2, "");
    sl_store_batch_free(b);
}

static void test_ttl(void **state)
{
    fx *f = *state;
    sl_cql_table *t =
        make_table(f, "t3", "p int pk; c int ck; v text regular; w text regular", NULL, NULL);
    uint8_t pb[4], cb[4];
    sl_slice p = I32(1, pb), c = I32(1, cb);
    sl_store_batch *b = sl_store_batch_new(f->s);
    sl_store_batch_row(b, t, &p, &c, 1, 10, 100);
    sl_store_batch_marker(b);
    sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR("short"));
    sl_store_batch_row(b, t, &p, &c, 1, 10, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "w"), SL_SLICE_STR("forever"));
    write_batch(f, b);
    sl_store_read rd = part_read(&p);
    expect(f, t, &rd, "p=1 c=1 v='short'/ttl100 w='forever'");
    rd.now_s += 40;
    expect(f, t, &rd, "p=1 c=1 v='short'/ttl60 w='forever'");
    rd.now_s += 60;
    expect(f, t, &rd, "p=1 c=1 w='forever'");
    /* a row whose marker and cells all expire disappears */
    sl_slice c2 = I32(2, cb);
    sl_store_batch_row(b, t, &p, &c2, 1, 10, 5);
    sl_store_batch_marker(b);
    sl_store_batch_cell(b, sl_cql_table_column(t, "v"), SL_SLICE_STR("x"));
    write_batch(f, b);
    rd.now_s = (int32_t)(fake_now_us / 1000000) + 4;
    expect(f, t, &rd, "p=1 c=1 v='short'/ttl96 w='forever' | p=1 c=2 v='x'/ttl1");
    rd.now_s += 1;
    expect(f, t, &rd, "p=1 c=1 v='short'/ttl95 w='forever'");
    sl_store_batch_free(b);
}

static void test_clustering_order(void **state)
{
    fx *f = *state;
    sl_cql_table *t =
        make_table(f, "t4", "p int pk; a text ck; d int ckdesc; v int regular", NULL, NULL);
    uint8_t pb[4], db[4], vb[4];
    sl_slice p = I32(1, pb);
    sl_store_batch *b = sl_store_batch_new(f->s);
    const char *as[] = {"b", "", "a", "ab", "a\x01"};
    for (size_t i = 0; i < 5; i++)
        for (int d = -1; d <= 1; d++) {
            sl_slice ck[2] = {{(const uint8_t *)as[i], strlen(as[i])}, I32(d, db)};
            sl_store_batch_row(b, t, &p, ck, 2, 1, 0);
            sl_store_batch_cell(b, sl_cql_table_column(t, "v"), I32(d * 10, vb));
        }
    write_batch(f, b);
    sl_store_read rd = part_read(&p);
    sl_store_cursor *c;
    /* a ascending (bytes), then d descending */
    const char *want_a[] = {"", "a", "a\x01", "ab", "b"};
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    const sl_store_row *row;
    for (size_t i = 0; i < 5; i++)
        for (int d = 1; d >= -1; d--) {
            assert_int_equal(sl_store_cursor_next(c, &row), 1);
            sl_slice av = row->cells[sl_cql_table_column(t, "a")->index].value;
            assert_int_equal(av.len, strlen(want_a[i]));
            assert_non_null(av.ptr);
            assert_memory_equal(av.ptr, want_a[i], av.len);
            assert_int_equal(
                (int32_t)sl_get_be32(row->cells[sl_cql_table_column(t, "d")->index].value.ptr), d);
        }
    assert_int_equal(sl_store_cursor_next(c, &row), 0);
    sl_store_cursor_close(c);
    /* reverse */
    rd.reverse = true;
    char *rev = dump(f, t, &rd);
    assert_true(!strncmp(rev, "p=1 a='b' d=-1 v=-10 | p=1 a='b' d=0 v=0 | p=1 a='b' d=1 v=10", 60));
    free(rev);
    /* bounds in clustering order: a = 'a' and d < 1 (d is DESC, so the rows after d = 1) */
    sl_slice sa = SL_SLICE_STR("a");
    sl_slice st[2] = {sa, I32(1, db)};
    rd.reverse = false;
    rd.start = (sl_store_bound){st, 2, false};
    rd.end = (sl_store_bound){&sa, 1, true};
    expect(f, t, &rd, "p=1 a='a' d=0 v=0 | p=1 a='a' d=-1 v=-10");
    rd.reverse = true;
    expect(f, t, &rd, "p=1 a='a' d=-1 v=-10 | p=1 a='a' d=0 v=0");
    /* a > 'a' and a <= 'ab' */
    rd.reverse = false;
    sl_slice sab = SL_SLICE_STR("ab");
    rd.start = (sl_store_bound){&sa, 1, false};
    rd.end = (sl_store_bound){&sab, 1, true};
    expect(f, t, &rd,
           "p=1 a='a\x01' d=1 v=10 | p=1 a='a\x01' d=0 v=0 | p=1 a='a\x01' d=-1 v=-10 | "
           "p=1 a='ab' d=1 v=10 | p=1 a='ab' d=0 v=0 | p=1 a='ab' d=-1 v=-10");
    /* resume after a position, forward and reverse */
    rd.start = rd.end = (sl_store_bound){0};
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sl_store_cursor_next(c, &row), 1);
    sl_buf pos = SL_BUF_INIT;
    sl_buf_append(&pos, row->pos.ptr, row->pos.len);
    sl_store_cursor_close(c);
    rd.after = sl_buf_slice(&pos);
    char *rest = dump(f, t, &rd);
    assert_true(!strncmp(rest, "p=1 a='a' d=0 v=0 | p=1 a='a' d=-1 v=-10 | p=1 a='a\x01' d=1", 50));
    free(rest);
    rd.reverse = true;
    expect(f, t, &rd, "p=1 a='' d=-1 v=-10 | p=1 a='' d=0 v=0 | p=1 a='' d=1 v=10");
    sl_buf_free(&pos);
    sl_store_batch_free(b);
}

static void test_collections_counters_static(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "t5",
                                 "p int pk; c int ck; s text static; l list<int> regular; "
                                 "st set<text> regular; m map<text,int> regular; "
                                 "fl frozen<list<int>> regular",
                                 NULL, NULL);
    uint8_t pb[4], cb[4];
    sl_slice p = I32(1, pb), c = I32(1, cb);
    sl_buf v = SL_BUF_INIT, err = SL_BUF_INIT;
    bool nul;
    sl_store_batch *b = sl_store_batch_new(f->s);
#define LIT(col, text)                                                                             \
    (v.len = 0,                                                                                    \
     assert_int_equal(sl_cql_value_parse_literal(sl_cql_table_column(t, col)->type,                \
                                                 SL_SLICE_STR(text), col, &v, &nul, &err),         \
                      0),                                                                          \
     sl_buf_slice(&v))
    sl_store_batch_row(b, t, &p, &c, 1, 10, 0);
    sl_store_batch_marker(b);
    sl_store_batch_cell(b, sl_cql_table_column(t, "l"), LIT("l", "[1, 2]"));
    sl_store_batch_cell(b, sl_cql_table_column(t, "st"), LIT("st", "{'b', 'a'}"));
    sl_store_batch_cell(b, sl_cql_table_column(t, "m"), LIT("m", "{'x': 1}"));
    sl_store_batch_cell(b, sl_cql_table_column(t, "fl"), LIT("fl", "[3, 3]"));
    sl_store_batch_cell(b, sl_cql_table_column(t, "s"), SL_SLICE_STR("stat"));
    write_batch(f, b);
    sl_store_read rd = part_read(&p);
    expect(f, t, &rd, "p=1 c=1 s='stat' fl=[3, 3] l=[1, 2] m={'x': 1} st={'a', 'b'}");
    /* blind element operations */
    sl_store_batch_row(b, t, &p, &c, 1, 11, 0);
    sl_store_batch_elems_add(b, sl_cql_table_column(t, "l"), LIT("l", "[3]"), false);
    sl_store_batch_elems_add(b, sl_cql_table_column(t, "l"), LIT("l", "[-1, 0]"), true);
    sl_store_batch_elems_add(b, sl_cql_table_column(t, "st"), LIT("st", "{'c'}"), false);
    sl_store_batch_elems_remove(b, sl_cql_table_column(t, "st"), LIT("st", "{'a'}"));
    sl_store_batch_map_put(b, sl_cql_table_column(t, "m"), SL_SLICE_STR("y"), LIT("fl", "[]"));
    write_batch(f, b);
    /* (map values are ints: write one properly) */
    uint8_t two[4];
    sl_store_batch_row(b, t, &p, &c, 1, 12, 0);
    sl_store_batch_map_put(b, sl_cql_table_column(t, "m"), SL_SLICE_STR("y"), I32(2, two));
    sl_store_batch_map_put(b, sl_cql_table_column(t, "m"), SL_SLICE_STR("x"), SL_SLICE_NULL);
    write_batch(f, b);
    expect(f, t, &rd, "p=1 c=1 s='stat' fl=[3, 3] l=[-1, 0, 1, 2, 3] m={'y': 2} st={'b', 'c'}");
    /* read-before-write list operations */
    uint8_t nine[4];
    sl_store_batch_row(b, t, &p, &c, 1, 13, 0);
    assert_int_equal(sl_store_batch_list_set(b, sl_cql_table_column(t, "l"), 2, I32(9, nine), &err),
                     0);
    write_batch(f, b);
    sl_store_batch_row(b, t, &p, &c, 1, 14, 0);
    err.len = 0;
    assert_int_equal(sl_store_batch_list_set(b, sl_cql_table_column(t, "l"), 5, I32(9, nine), &err),
                     SL_ERR_INVAL);
    assert_string_equal(sl_buf_cstr(&err), "List index 5 out of bound, list has size 5");
    assert_int_equal(
        sl_store_batch_list_remove(b, sl_cql_table_column(t, "l"), LIT("l", "[0, 2]"), &err), 0);
    write_batch(f, b);
    expect(f, t, &rd, "p=1 c=1 s='stat' fl=[3, 3] l=[-1, 9, 3] m={'y': 2} st={'b', 'c'}");
    /* overwrite replaces the whole collection */
    sl_store_batch_row(b, t, &p, &c, 1, 15, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "l"), LIT("l", "[7]"));
    sl_store_batch_cell(b, sl_cql_table_column(t, "st"), SL_SLICE_NULL);
    write_batch(f, b);
    expect(f, t, &rd, "p=1 c=1 s='stat' fl=[3, 3] l=[7] m={'y': 2}");
    /* static columns show on every row; a partition with only statics gives one row */
    uint8_t c2b[4];
    sl_slice c2 = I32(2, c2b);
    sl_store_batch_row(b, t, &p, &c2, 1, 15, 0);
    sl_store_batch_marker(b);
    write_batch(f, b);
    expect(f, t, &rd, "p=1 c=1 s='stat' fl=[3, 3] l=[7] m={'y': 2} | p=1 c=2 s='stat'");
    uint8_t p2b[4];
    sl_slice p2 = I32(2, p2b);
    sl_store_batch_row(b, t, &p2, NULL, 0, 15, 0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "s"), SL_SLICE_STR("alone"));
    write_batch(f, b);
    sl_store_read rd2 = part_read(&p2);
    expect(f, t, &rd2, "p=2 s='alone' (static)");
    /* ... but not when clustering is restricted */
    rd2.start = (sl_store_bound){&c, 1, true};
    expect(f, t, &rd2, "");
    sl_store_batch_free(b);

    /* counters sum blind increments */
    sl_cql_table *ct =
        make_table(f, "t6", "p int pk; n counter regular; k counter regular", NULL, NULL);
    b = sl_store_batch_new(f->s);
    for (int i = 0; i < 10; i++) {
        sl_store_batch_row(b, ct, &p, NULL, 0, 100 + i, 0);
        sl_store_batch_counter_add(b, sl_cql_table_column(ct, "n"), i);
        sl_store_batch_counter_add(b, sl_cql_table_column(ct, "k"), -1);
        write_batch(f, b);
    }
    expect(f, ct, &rd, "p=1 k=-10 n=45");
    sl_store_batch_free(b);
    sl_buf_free(&v);
    sl_buf_free(&err);
}

static void test_scan_and_reopen(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "t7", "p int pk; c int ck; v text regular", NULL, NULL);
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 3; j++)
            put_row(f, t, i, j, "x", 10, 0);
    /* another table's data never shows up */
    sl_cql_table *t8 = make_table(f, "t8", "p int pk; c int ck; v text regular", NULL, NULL);
    put_row(f, t8, 5, 5, "other", 10, 0);

    sl_store_read rd = {0};
    rd.token_min = INT64_MIN;
    rd.token_max = INT64_MAX;
    rd.now_s = (int32_t)(fake_now_us / 1000000);
    sl_store_cursor *c;
    const sl_store_row *row;
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    int n = 0;
    int64_t last = INT64_MIN;
    sl_buf pos = SL_BUF_INIT;
    while (sl_store_cursor_next(c, &row) == 1) {
        sl_slice pk = row->cells[0].value;
        assert_int_equal(row->token, sl_cql_token(&pk, 1));
        assert_true(row->token >= last);
        last = row->token;
        if (++n == 250) sl_buf_append(&pos, row->pos.ptr, row->pos.len);
    }
    sl_store_cursor_close(c);
    assert_int_equal(n, 600);
    /* resume in the middle of a partition */
    rd.after = sl_buf_slice(&pos);
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    n = 0;
    while (sl_store_cursor_next(c, &row) == 1)
        n++;
    sl_store_cursor_close(c);
    assert_int_equal(n, 350);
    /* a token sub-range holds exactly the partitions whose tokens fall in it */
    rd.after = SL_SLICE_NULL;
    rd.token_min = -1000000000000000000LL;
    rd.token_max = 3000000000000000000LL;
    int want = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t b[4];
        sl_slice pk = I32(i, b);
        int64_t tk = sl_cql_token(&pk, 1);
        if (tk >= rd.token_min && tk <= rd.token_max) want += 3;
    }
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    n = 0;
    while (sl_store_cursor_next(c, &row) == 1) {
        assert_true(row->token >= rd.token_min && row->token <= rd.token_max);
        n++;
    }
    sl_store_cursor_close(c);
    assert_int_equal(n, want);
    /* clustering bounds apply in every partition of a scan */
    uint8_t cb[4];
    sl_slice one = I32(1, cb);
    rd.token_min = INT64_MIN;
    rd.token_max = INT64_MAX;
    rd.start = (sl_store_bound){&one, 1, true};
    rd.end = (sl_store_bound){&one, 1, true};
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    n = 0;
    while (sl_store_cursor_next(c, &row) == 1) {
        assert_int_equal(sl_get_be32(row->cells[1].value.ptr), 1);
        n++;
    }
    sl_store_cursor_close(c);
    assert_int_equal(n, 200);

    /* everything survives a close and reopen, schema included */
    fx_close(f);
    fx_open(f, SL_STORE_SYNC_BATCH);
    t = sl_catalog_table(f->c, "ks", "t7");
    assert_non_null(t);
    rd.start = rd.end = (sl_store_bound){0};
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    n = 0;
    while (sl_store_cursor_next(c, &row) == 1)
        n++;
    sl_store_cursor_close(c);
    assert_int_equal(n, 600);
    /* truncate empties the table and leaves the other one alone */
    sl_buf err = SL_BUF_INIT;
    assert_int_equal(sl_store_truncate(f->s, t, &err), 0);
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &c), 0);
    assert_int_equal(sl_store_cursor_next(c, &row), 0);
    sl_store_cursor_close(c);
    t8 = sl_catalog_table(f->c, "ks", "t8");
    expect(f, t8, &rd, "p=5 c=5 v='other'");
    sl_buf_free(&err);
    sl_buf_free(&pos);
}

static size_t raw_keys(fx *f, uint32_t storage_id)
{
    sl__store_flush(f->s); /* a read from under the store: apply the pending group first */
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(sl__store_db(f->s), ro, sl__store_cf(f->s));
    uint8_t k[4];
    sl_put_be32(k, storage_id);
    size_t n = 0;
    for (rocksdb_iter_seek(it, (const char *)k, 4); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl;
        const char *key = rocksdb_iter_key(it, &kl);
        if (kl < 4 || memcmp(key, k, 4)) break;
        n++;
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

static void test_compaction_purges(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "t9", "p int pk; c int ck; v text regular; l list<int> regular",
                                 "gc_grace_seconds", "0");
    sl_buf v = SL_BUF_INIT, err = SL_BUF_INIT;
    bool nul;
    for (int i = 0; i < 50; i++) {
        put_row(f, t, i, 0, "keep", 10, 0);
        put_row(f, t, i, 1, "expire", 10, 60);
    }
    /* a deleted partition with a collection, a deleted row */
    uint8_t pb[4], cb[4];
    sl_slice p = I32(1000, pb), c = I32(0, cb);
    sl_store_batch *b = sl_store_batch_new(f->s);
    sl_store_batch_row(b, t, &p, &c, 1, 10, 0);
    assert_int_equal(sl_cql_value_parse_literal(sl_cql_table_column(t, "l")->type,
                                                SL_SLICE_STR("[1, 2, 3]"), "l", &v, &nul, &err),
                     0);
    sl_store_batch_cell(b, sl_cql_table_column(t, "l"), sl_buf_slice(&v));
    write_batch(f, b);
    sl_store_batch_row(b, t, &p, NULL, 0, 20, 0);
    sl_store_batch_partition_delete(b);
    write_batch(f, b);
    sl_store_batch_free(b);
    put_row(f, t, 3, 0, NULL, 20, 0); /* a cell tombstone in a live row */

    size_t before = raw_keys(f, t->storage_id);
    assert_true(before >= 104);
    /* within gc grace and before expiry nothing goes */
    assert_int_equal(sl_store_compact(f->s, &err), 0);
    size_t mid = raw_keys(f, t->storage_id);
    assert_true(mid >= 100);
    /* after expiry (+ gc grace 0) the expired rows, the deleted partition and its list go */
    fake_now_us += 120LL * 1000000;
    assert_int_equal(sl_store_compact(f->s, &err), 0);
    size_t after = raw_keys(f, t->storage_id);
    assert_int_equal(after, 50);
    sl_store_read rd = {0};
    rd.token_min = INT64_MIN;
    rd.token_max = INT64_MAX;
    rd.now_s = (int32_t)(fake_now_us / 1000000);
    sl_store_cursor *cur;
    const sl_store_row *row;
    assert_int_equal(sl_store_cursor_open(f->s, t, &rd, &cur), 0);
    int n = 0;
    while (sl_store_cursor_next(cur, &row) == 1)
        n++;
    sl_store_cursor_close(cur);
    assert_int_equal(n, 50);
    sl_buf_free(&v);
    sl_buf_free(&err);
}

/* A tombstone is kept for the table's gc_grace_seconds (here 3600) after its deletion time,
 * as in Cassandra: a full compaction drops the rows it shadows at once but keeps the tombstone
 * itself until the grace period is over. */
static void test_compaction_waits_for_gc_grace(void **state)
{
    fx *f = *state;
    sl_cql_table *t =
        make_table(f, "tg", "p int pk; c int ck; v text regular", "gc_grace_seconds", "3600");
    sl_buf err = SL_BUF_INIT;
    for (int i = 0; i < 10; i++)
        put_row(f, t, 7, i, "gone", 10, 0);
    put_row(f, t, 8, 0, "kept", 10, 0);
    uint8_t pb[4];
    sl_slice p = I32(7, pb);
    sl_store_batch *b = sl_store_batch_new(f->s);
    sl_store_batch_row(b, t, &p, NULL, 0, 20, 0);
    sl_store_batch_partition_delete(b);
    write_batch(f, b);
    sl_store_batch_free(b);
    size_t before = raw_keys(f, t->storage_id);
    assert_int_equal(before, 12);
    fake_now_us += 3000LL * 1000000; /* within the grace period: the tombstone and row 8 stay */
    assert_int_equal(sl_store_compact(f->s, &err), 0);
    assert_int_equal(raw_keys(f, t->storage_id), 2);
    fake_now_us += 700LL * 1000000; /* past it: the tombstone goes too */
    assert_int_equal(sl_store_compact(f->s, &err), 0);
    assert_int_equal(raw_keys(f, t->storage_id), 1);
    sl_buf_free(&err);
}

/* ALTER TABLE DROP hides a column at once; a full compaction then removes its cells and
 * elements, and a column added back under the same name starts empty. */
static void test_dropped_columns(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "td",
                                 "p int pk; a text regular; l list<int> regular; "
                                 "b text regular",
                                 NULL, NULL);
    sl_buf v = SL_BUF_INIT, err = SL_BUF_INIT;
    bool nul;
    assert_int_equal(sl_cql_value_parse_literal(sl_cql_table_column(t, "l")->type,
                                                SL_SLICE_STR("[1, 2, 3]"), "l", &v, &nul, &err),
                     0);
    sl_store_batch *b = sl_store_batch_new(f->s);
    for (int i = 0; i < 10; i++) {
        uint8_t pb[4];
        sl_slice p = I32(i, pb);
        sl_store_batch_row(b, t, &p, NULL, 0, 10, 0);
        sl_store_batch_marker(b);
        sl_store_batch_cell(b, sl_cql_table_column(t, "a"), SL_SLICE_STR("dropped soon"));
        sl_store_batch_cell(b, sl_cql_table_column(t, "b"), SL_SLICE_STR("kept"));
        sl_store_batch_cell(b, sl_cql_table_column(t, "l"), sl_buf_slice(&v));
    }
    write_batch(f, b);
    uint32_t sid = t->storage_id;
    assert_int_equal(raw_keys(f, sid), 10 + 30);
    assert_int_equal(sl_catalog_alter_drop(f->c, "ks", "td", "a", &err), 0);
    assert_int_equal(sl_catalog_alter_drop(f->c, "ks", "td", "l", &err), 0);
    t = sl_catalog_table(f->c, "ks", "td");
    uint8_t pb[4];
    sl_slice p = I32(3, pb);
    sl_store_read rd = part_read(&p);
    expect(f, t, &rd, "p=3 b='kept'");
    assert_int_equal(sl_store_compact(f->s, &err), 0);
    assert_int_equal(raw_keys(f, sid), 10);
    sl_cql_dtype *tx = T("text");
    assert_int_equal(sl_catalog_alter_add(f->c, "ks", "td", "a", tx, false, &err), 0);
    sl_cql_dtype_release(tx);
    t = sl_catalog_table(f->c, "ks", "td");
    expect(f, t, &rd, "p=3 b='kept'");
    sl_store_batch_free(b);
    sl_buf_free(&v);
    sl_buf_free(&err);
}

typedef struct sync_ctx {
    int done;
    int rc_sum;
} sync_ctx;

static void on_sync(void *arg, int rc)
{
    sync_ctx *x = arg;
    x->done++;
    x->rc_sum += rc;
}

static void test_group_commit(void **state)
{
    fx *f = *state;
    sl_cql_table *t = make_table(f, "t10", "p int pk; c int ck; v text regular", NULL, NULL);
    sl_store_stats s0, s1;
    sl_store_stats_get(f->s, &s0);
    sync_ctx x = {0};
    const int n = 2000;
    /* bursts of 10 statements per loop iteration, as connections would deliver them; each
     * burst is handed to the worker at the end of its iteration */
    for (int i = 0; i < n; i++) {
        put_row(f, t, i, 0, "gc", 10, 0);
        sl_store_sync(f->s, on_sync, &x);
        if (i % 10 == 9) uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    while (x.done < n)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(x.rc_sum, 0);
    sl_store_stats_get(f->s, &s1);
    uint64_t reqs = s1.sync_requests - s0.sync_requests, syncs = s1.syncs - s0.syncs;
    print_message("group commit: %llu requests, %llu WAL syncs\n", (unsigned long long)reqs,
                  (unsigned long long)syncs);
    assert_int_equal(reqs, (uint64_t)n);
    assert_true(syncs >= 1);
    assert_true(syncs * 4 < reqs); /* batching must happen */

    /* a request made after close began still completes */
    sync_ctx y = {0};
    sl_store_sync(f->s, on_sync, &y);
    fx_close(f);
    assert_int_equal(y.done, 1);

    /* periodic mode acknowledges at once and syncs on its timer */
    fx_open(f, SL_STORE_SYNC_PERIODIC);
    t = sl_catalog_table(f->c, "ks", "t10");
    sync_ctx z = {0};
    put_row(f, t, 1, 1, "p", 10, 0);
    sl_store_sync(f->s, on_sync, &z);
    assert_int_equal(z.done, 1);
    sl_store_stats_get(f->s, &s0);
    uint64_t start = uv_now(&f->loop);
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(5000);
        uv_update_time(&f->loop);
        sl_store_stats_get(f->s, &s1);
    } while (s1.syncs == s0.syncs && uv_now(&f->loop) - start < 5000);
    assert_true(s1.syncs > s0.syncs);
}

/* A key merged again and again is folded into a plain value at write time: counters still
 * sum, last-write-wins still holds (an older USING TIMESTAMP write loses to the folded value,
 * a newer one wins), a collection element key folds too, and a key merged twice in one batch
 * keeps both operands. */
static void test_hot_key_folding(void **state)
{
    fx *f = *state;
    sl_cql_table *ct = make_table(f, "t11", "p int pk; n counter regular", NULL, NULL);
    sl_cql_table *t = make_table(f, "t12", "p int pk; c int ck; v text regular", NULL, NULL);
    sl_cql_table *mt = make_table(f, "t13", "p int pk; m map<text,int> regular", NULL, NULL);
    uint8_t pb[4], cb[4], vb[4];
    sl_slice p = I32(1, pb), c = I32(1, cb);
    sl_store_stats s0, s1;
    sl_store_stats_get(f->s, &s0);
    sl_store_batch *b = sl_store_batch_new(f->s);
    for (int i = 0; i < 1000; i++) {
        sl_store_batch_row(b, ct, &p, NULL, 0, 100 + i, 0);
        sl_store_batch_counter_add(b, sl_cql_table_column(ct, "n"), 2);
        write_batch(f, b);
    }
    sl_store_read rd = part_read(&p);
    expect(f, ct, &rd, "p=1 n=2000");
    sl_store_stats_get(f->s, &s1);
    assert_true(s1.folds - s0.folds >= 10);

    char v[32];
    for (int i = 0; i < 300; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        put_row(f, t, 1, 1, v, 1000 + i, 0);
    }
    expect(f, t, &rd, "p=1 c=1 v='v299'");
    put_row(f, t, 1, 1, "older", 500, 0);
    expect(f, t, &rd, "p=1 c=1 v='v299'");
    put_row(f, t, 1, 1, "newer", 5000, 0);
    expect(f, t, &rd, "p=1 c=1 v='newer'");

    for (int i = 0; i < 200; i++) {
        sl_store_batch_row(b, mt, &p, NULL, 0, 100 + i, 0);
        sl_store_batch_map_put(b, sl_cql_table_column(mt, "m"), SL_SLICE_STR("k"), I32(i, vb));
        write_batch(f, b);
    }
    expect(f, mt, &rd, "p=1 m={'k': 199}");

    /* two operands of one key in one batch, the second one due to fold: both count */
    for (int round = 0; round < 64; round++) {
        for (int k = 0; k < 2; k++) {
            sl_store_batch_row(b, ct, &p, NULL, 0, 5000 + 2 * round + k, 0);
            sl_store_batch_counter_add(b, sl_cql_table_column(ct, "n"), 1);
        }
        write_batch(f, b);
    }
    expect(f, ct, &rd, "p=1 n=2128");
    sl_store_batch_free(b);

    /* and it all survives a reopen (the WAL replays puts and merges alike) */
    fx_close(f);
    fx_open(f, SL_STORE_SYNC_BATCH);
    expect(f, sl_catalog_table(f->c, "ks", "t11"), &rd, "p=1 n=2128");
    expect(f, sl_catalog_table(f->c, "ks", "t12"), &rd, "p=1 c=1 v='newer'");
    (void)c;
}

/* SIGKILL a writer in the middle of a stream of acknowledged writes: after reopening, every
 * acknowledged row is there, and the schema too. */
static int ack_fd = -1;
static void on_ack(void *arg, int rc)
{
    int32_t i = (int32_t)(intptr_t)arg;
    if (rc == 0 && write(ack_fd, &i, sizeof(i)) != sizeof(i)) _exit(3);
}

static void test_crash_durability(void **state)
{
    fx *f = *state;
    fx_close(f);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        ack_fd = fds[1];
        static fx child;
        memcpy(child.dir, f->dir, sizeof(child.dir));
        uv_loop_init(&child.loop);
        fx_open(&child, SL_STORE_SYNC_BATCH);
        sl_cql_table *t =
            make_table(&child, "crash", "p int pk; c int ck; v text regular", NULL, NULL);
        sl_store_sync(child.s, on_ack, (void *)(intptr_t)-1); /* the schema is durable */
        for (int32_t i = 0;; i++) {
            put_row(&child, t, i, 0, "durable", 10, 0);
            sl_store_sync(child.s, on_ack, (void *)(intptr_t)i);
            uv_run(&child.loop, UV_RUN_NOWAIT);
        }
    }
    close(fds[1]);
    int32_t v, acked = 0, max = -1;
    bool schema = false;
    int64_t until = sl_mono_ms() + 1500;
    while (sl_mono_ms() < until && read(fds[0], &v, sizeof(v)) == sizeof(v)) {
        if (v < 0) {
            schema = true;
            continue;
        }
        acked++;
        if (v > max) max = v;
        if (acked >= 3000) break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* acknowledgements already in the pipe count too */
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        if (v > max) max = v;
    close(fds[0]);
    assert_true(schema);
    assert_true(max >= 0);
    fx_open(f, SL_STORE_SYNC_BATCH);
    sl_cql_table *t = sl_catalog_table(f->c, "ks", "crash");
    assert_non_null(t);
    for (int32_t i = 0; i <= max; i++) {
        uint8_t b[4];
        sl_slice p = I32(i, b);
        sl_store_read rd = part_read(&p);
        char *got = dump(f, t, &rd);
        char want[64];
        snprintf(want, sizeof(want), "p=%d c=0 v='durable'", i);
        if (strcmp(got, want)) fail_msg("acknowledged row %d: got '%s'", i, got);
        free(got);
    }
    print_message("crash: %d rows acknowledged before SIGKILL, all present\n", max + 1);
}

/* The periodic full compaction thread starts, runs and stops with the store. */
static void test_compactor_lifecycle(void **state)
{
    fx *f = *state;
    fx_close(f);
    sl_store_opts o;
    sl_store_opts_default(&o);
    o.dir = f->dir;
    o.full_compaction_period_ms = 20;
    o.clock_us = fake_clock;
    sl_buf err = SL_BUF_INIT;
    assert_int_equal(sl_store_open(&f->loop, &o, &f->s, &err), 0);
    assert_int_equal(sl_catalog_open(f->s, &f->c, &err), 0);
    sl_cql_table *t = make_table(f, "cl", "p int pk; v text regular", "gc_grace_seconds", "0");
    uint8_t b[4];
    sl_slice p = I32(1, b);
    sl_store_batch *bt = sl_store_batch_new(f->s);
    sl_store_batch_row(bt, t, &p, NULL, 0, 10, 1);
    sl_store_batch_cell(bt, sl_cql_table_column(t, "v"), SL_SLICE_STR("gone soon"));
    write_batch(f, bt);
    sl_store_batch_free(bt);
    fake_now_us += 10LL * 1000000;
    /* the compactor purges the expired cell by itself */
    int64_t until = sl_mono_ms() + 5000;
    while (raw_keys(f, t->storage_id) > 0 && sl_mono_ms() < until)
        usleep(20000);
    assert_int_equal(raw_keys(f, t->storage_id), 0);
    sl_buf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_lww, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clustering_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections_counters_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_purges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_waits_for_gc_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_key_folding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compactor_lifecycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
