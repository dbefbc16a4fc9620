/* bench_cql_storage.c: the CQL row store on its own: durable inserts of created_users rows
 * (a uuid key and 11 text columns, as the seeds write them) through one write batch per row
 * and a group-commit WAL sync before each acknowledgement, at several concurrency levels
 * (requests in flight on the one loop thread).
 *
 *   bench_cql_storage [--rows N] [--dir DIR]
 *
 * The peer is RocksDB doing the same writes the simplest durable way: one write with
 * sync=true per row. It shows what group commit buys. Data lives under DIR (default /var/tmp,
 * a real disk). */
#include "cql/catalog.h"
#include "cql/storage.h"
#include "core/log.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static long rows_per_level = 100000;
static const char *base_dir = "/var/tmp";

typedef struct bench bench;
typedef struct client {
    bench *b;
    uint64_t t0;
    bool in_issue; /* periodic mode completes inside sl_store_sync: loop, do not recurse */
} client;

#define READ_IDS 100000
static uint8_t (*read_ids)[16];
static long nread_ids;

struct bench {
    sl_store *s;
    sl_cql_table *t;
    sl_store_batch *batch;
    long issued, done, total;
    uint64_t *lat;
    int failed;
};

static const char *fields[] = {"Jane",
                               "Doe",
                               "female",
                               "4821 Main Street, Springfield, Ohio, US",
                               "43210",
                               "jane.doe@example.com",
                               "purplecat512",
                               "2015-03-02T10:11:12.000Z",
                               "(555) 123-4567",
                               "https://randomuser.me/api/portraits/med/women/12.jpg",
                               "1987-06-05T04:03:02.000Z"};
static const char *colnames[] = {"first_name", "last_name", "gender",   "address",
                                 "post_code",  "email",     "username", "registered_date",
                                 "phone",      "picture",   "dob"};

static void issue(client *c);

static void on_durable(void *arg, int rc)
{
    client *c = arg;
    bench *b = c->b;
    if (rc) b->failed++;
    b->lat[b->done++] = sl_mono_ns() - c->t0;
    if (b->issued < b->total && !c->in_issue) issue(c);
}

static void issue_one(client *c);

static void issue(client *c)
{
    bench *b = c->b;
    c->in_issue = true;
    long before;
    do {
        before = b->done;
        issue_one(c);
    } while (b->done > before && b->issued < b->total);
    c->in_issue = false;
}

static void issue_one(client *c)
{
    bench *b = c->b;
    uint8_t id[16];
    sl_cql_uuid_v4(id);
    if (nread_ids < READ_IDS) memcpy(read_ids[nread_ids++], id, 16);
    sl_slice pk = {id, 16};
    c->t0 = sl_mono_ns();
    sl_store_batch_row(b->batch, b->t, &pk, NULL, 0, sl_store_now_us(b->s), 0);
    sl_store_batch_marker(b->batch);
    for (size_t i = 0; i < SL_ARRAY_LEN(fields); i++)
        sl_store_batch_cell(b->batch, sl_cql_table_column(b->t, colnames[i]),
                            SL_SLICE_STR(fields[i]));
    sl_buf err = SL_BUF_INIT;
    if (sl_store_write(b->s, b->batch, &err)) {
        fprintf(stderr, "write: %s\n", sl_buf_cstr(&err));
        exit(1);
    }
    sl_buf_free(&err);
    b->issued++;
    sl_store_sync(b->s, on_durable, c);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static long rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The peer: one synced RocksDB write per row, same keys and value sizes. */
static double peer_rate(const char *dir, long n)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    char *e = NULL;
    rocksdb_t *db = rocksdb_open(o, dir, &e);
    if (e) {
        fprintf(stderr, "peer open: %s\n", e);
        exit(1);
    }
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    char val[400];
    memset(val, 'x', sizeof(val));
    uint64_t t0 = sl_mono_ns();
    for (long i = 0; i < n; i++) {
        uint8_t id[16];
        sl_cql_uuid_v4(id);
        rocksdb_put(db, wo, (const char *)id, 16, val, sizeof(val), &e);
        if (e) {
            fprintf(stderr, "peer put: %s\n", e);
            exit(1);
        }
    }
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return (double)n / secs;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows_per_level = atol(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base_dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_cql_storage [--rows N] [--dir DIR]\n");
            return 2;
        }
    }
    char dir[512], peerdir[600];
    snprintf(dir, sizeof(dir), "%s/sl-bench-cql-storage-%d", base_dir, (int)getpid());
    snprintf(peerdir, sizeof(peerdir), "%s.peer", dir);
    read_ids = sl_malloc(READ_IDS * sizeof(*read_ids));
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_store_opts o;
    sl_store_opts_default(&o);
    o.dir = dir;
    sl_buf err = SL_BUF_INIT;
    sl_store *s;
    sl_catalog *cat;
    if (sl_store_open(&loop, &o, &s, &err) || sl_catalog_open(s, &cat, &err)) {
        fprintf(stderr, "open: %s\n", sl_buf_cstr(&err));
        return 1;
    }
    sl_cql_option r[2] = {{"class", "SimpleStrategy"}, {"replication_factor", "1"}};
    sl_catalog_create_keyspace(cat, "spark_streams", r, 2, true, false, &err);
    sl_cql_table *t = sl_cql_table_new("spark_streams", "created_users");
    sl_cql_table_add_column(t, "id", sl_cql_dtype_prim(SL_CQL_UUID), SL_CQL_COL_PARTITION_KEY,
                            false, &err);
    for (size_t i = 0; i < SL_ARRAY_LEN(colnames); i++)
        sl_cql_table_add_column(t, colnames[i], sl_cql_dtype_prim(SL_CQL_TEXT), SL_CQL_COL_REGULAR,
                                false, &err);
    if (sl_catalog_create_table(cat, t, false, &err)) {
        fprintf(stderr, "create: %s\n", sl_buf_cstr(&err));
        return 1;
    }
    t = sl_catalog_table(cat, "spark_streams", "created_users");

    printf("%-14s %12s %10s %10s %12s %10s %10s\n", "in flight", "rows/s", "p50 us", "p99 us",
           "rows/sync", "RSS MiB", "peer x");
    long peer_n = rows_per_level / 20 > 200 ? rows_per_level / 20 : 200;
    double peer = peer_rate(peerdir, peer_n);
    static const int levels[] = {1, 8, 64, 256, -256};
    for (size_t li = 0; li < SL_ARRAY_LEN(levels); li++) {
        int conc = levels[li] < 0 ? -levels[li] : levels[li];
        if (levels[li] < 0) {
            /* the same with commitlog_sync: periodic, which shows the write path's CPU cost */
            sl_catalog_close(cat);
            sl_store_close(s);
            uv_run(&loop, UV_RUN_DEFAULT);
            o.sync_mode = SL_STORE_SYNC_PERIODIC;
            if (sl_store_open(&loop, &o, &s, &err) || sl_catalog_open(s, &cat, &err)) {
                fprintf(stderr, "reopen: %s\n", sl_buf_cstr(&err));
                return 1;
            }
            t = sl_catalog_table(cat, "spark_streams", "created_users");
        }
        bench b = {s, t, sl_store_batch_new(s), 0, 0, rows_per_level, NULL, 0};
        b.lat = sl_malloc((size_t)rows_per_level * sizeof(*b.lat));
        client *cl = sl_calloc((size_t)conc, sizeof(*cl));
        sl_store_stats s0, s1;
        sl_store_stats_get(s, &s0);
        uint64_t t0 = sl_mono_ns();
        for (int i = 0; i < conc && b.issued < b.total; i++) {
            cl[i].b = &b;
            issue(&cl[i]);
        }
        while (b.done < b.total)
            uv_run(&loop, UV_RUN_ONCE);
        double secs = (double)(sl_mono_ns() - t0) / 1e9;
        sl_store_stats_get(s, &s1);
        qsort(b.lat, (size_t)b.done, sizeof(*b.lat), cmp_u64);
        double rate = (double)b.done / secs;
        char label[32];
        snprintf(label, sizeof(label), "%d%s", conc, levels[li] < 0 ? " periodic" : "");
        printf("%-14s %12.0f %10.0f %10.0f %12.1f %10.1f %9.1fx\n", label, rate,
               (double)b.lat[b.done / 2] / 1e3, (double)b.lat[b.done * 99 / 100] / 1e3,
               (double)(levels[li] < 0 ? b.done : (long)(s1.sync_requests - s0.sync_requests)) /
                   (double)SL_MAX(1, s1.syncs - s0.syncs),
               (double)rss_kib() / 1024, rate / peer);
        if (b.failed) printf("  %d syncs failed\n", b.failed);
        sl_free(b.lat);
        sl_free(cl);
        sl_store_batch_free(b.batch);
    }
    printf("peer: RocksDB put with sync=true per row, %ld rows: %.0f rows/s\n", peer_n, peer);

    /* point reads of written rows by id, through a cursor each (as SELECT ... WHERE id = ?) */
    uint64_t *lat = sl_malloc(READ_IDS * sizeof(*lat));
    long found = 0;
    uint64_t r0 = sl_mono_ns();
    for (long i = 0; i < nread_ids; i++) {
        long k = (i * 7919) % nread_ids;
        sl_slice pk = {read_ids[k], 16};
        sl_store_read rd = {0};
        rd.pk = &pk;
        rd.now_s = sl_store_now_s(s);
        uint64_t t1 = sl_mono_ns();
        sl_store_cursor *cur;
        const sl_store_row *row;
        if (sl_store_cursor_open(s, t, &rd, &cur) == 0) {
            if (sl_store_cursor_next(cur, &row) == 1) found++;
            sl_store_cursor_close(cur);
        }
        lat[i] = sl_mono_ns() - t1;
    }
    double rsecs = (double)(sl_mono_ns() - r0) / 1e9;
    qsort(lat, (size_t)nread_ids, sizeof(*lat), cmp_u64);
    printf("point reads: %ld (%ld found) %.0f reads/s, p50 %.1f us, p99 %.1f us\n", nread_ids,
           found, (double)nread_ids / rsecs, (double)lat[nread_ids / 2] / 1e3,
           (double)lat[nread_ids * 99 / 100] / 1e3);
    sl_free(lat);
    sl_catalog_close(cat);
    sl_store_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    sl_buf_free(&err);
    sl_free(read_ids);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, peerdir);
    if (system(cmd)) {
    }
    return 0;
}
