/* storage.c: the RocksDB database, the write path, group commit and compaction. Reads are in
 * storage_read.c, the formats in storage_key.c (see storage_int.h).
 *
 * Threads and their messages:
 *   loop thread   calls everything in storage.h and reads RocksDB. In batch mode the
 *                 statements of one loop iteration are collected in one group (one
 *                 WriteBatch), handed to the sync worker with the sync requests made since the
 *                 last hand-over when the iteration ends (prepare and check handles), so a
 *                 burst of statements costs one lock and one wakeup. In periodic mode the loop
 *                 writes each statement itself.
 *   sync worker   applies the groups handed over (RocksDB write: WAL buffer and memtable, the
 *                 larger half of an INSERT's CPU, now beside the loop instead of on it), then
 *                 runs rocksdb_flush_wal(sync) once for every request whose group is applied
 *                 (group commit; the WAL is flushed manually, manual_wal_flush, so that call
 *                 also writes the records). Groups are applied under s->apply_mu in hand-over
 *                 order; a read on the loop first applies what is still queued itself (drain),
 *                 so it sees every write made before it. Messages, under s->mu:
 *                   queue:   loop -> worker, hand-overs (a group and its requests);
 *                   spare:   worker -> loop, emptied hand-overs for reuse;
 *                   pending: requests whose group is applied, waiting for the next sync (and
 *                            the periodic timer's sync_due); requests arriving during a sync
 *                            share the next one;
 *                   done:    worker -> loop, announced by uv_async_send(&s->async); the loop
 *                            runs the callbacks.
 *   compactor     runs the periodic full compaction; woken by s->compact_cond (loop ->
 *                 compactor: stop), never calls back.
 *   RocksDB's     threads run the merge operator and the compaction filter, which read the
 *                 table registry under s->reg_mu (the loop thread writes it). */
#include "cql/storage.h"
#include "cql/storage_int.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* A RocksDB error string as a status: a full disk keeps its name, so a client reads "No space
 * left on device" rather than an I/O error. */
static int rocks_rc(const char *e)
{
    return strstr(e, "No space left on device") ? -ENOSPC : -EIO;
}

typedef struct sreq {
    struct sreq *next;
    sl_store_sync_cb cb;
    void *arg;
    int rc;
} sreq;

/* Write-time folding of hot keys (loop thread only). RocksDB's max_successive_merges does this
 * with a memtable seek on every merge, a quarter of an INSERT's CPU; a direct-mapped table of
 * key hashes finds the keys merged again and again (counters, rows updated in a loop) for the
 * price of a hash. Every HOT_FOLD_AT-th merge of one key reads the key's value and writes it,
 * merged with the new operand, as a plain value, so reads and compactions never fold long
 * operand chains. */
#define HOT_SLOTS   4096
#define HOT_FOLD_AT 64

/* A group grown this large is written at once rather than at the end of the iteration. */
#define GROUP_MAX_BYTES (4u << 20)
/* Emptied hand-overs kept for reuse; more pile up only while the worker is behind. */
#define SPARE_MAX 4

/* A group handed from the loop to the sync worker: its WriteBatch and the sync requests made
 * since the previous hand-over (they fail if the group's write does). */
typedef struct handover {
    struct handover *next;
    rocksdb_writebatch_t *wb;
    sreq *reqs, **reqs_tail;
    size_t nreqs;
} handover;

typedef struct hot_slot {
    uint64_t hash;
    uint32_t merges;
} hot_slot;

typedef struct reg_entry {
    uint32_t storage_id;
    sl_cql_table *t; /* a reference held by the registry */
} reg_entry;

struct sl_store {
    uv_loop_t *loop;
    sl_store_opts o;
    char *dir;
    rocksdb_t *db;
    rocksdb_options_t *dbopts, *catopts;
    rocksdb_column_family_handle_t *cf_data, *cf_cat;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_cache_t *cache;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_mergeoperator_t *merge;
    rocksdb_compactionfilterfactory_t *cff;

    uv_thread_t sync_thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    uv_mutex_t apply_mu; /* held while groups are applied, so they land in hand-over order */
    handover *queue, **queue_tail; /* under mu */
    handover *spare;               /* under mu */
    size_t nspare;                 /* under mu */
    sreq *pending, **pending_tail;
    sreq *done, **done_tail;
    bool sync_due;
    bool stop;
    /* sync worker (then sl_store_close, after the join): the status of a failed WAL flush.
     * RocksDB's WAL writer refuses (an assertion in Debian's build: an abort) any flush after
     * one failed, so none is tried again: every later write is answered with this status
     * until the store restarts on a fresh WAL. */
    int wal_rc;
    uint64_t sync_requests, syncs; /* under mu */
    uint64_t writes, folds;        /* loop thread */
    hot_slot hot[HOT_SLOTS];       /* loop thread */
    /* loop thread: the statements written since the last hand-over (periodic mode: since the
     * last write) */
    rocksdb_writebatch_t *group;
    size_t group_ops, group_bytes;
    uv_async_t async;
    uv_timer_t timer;
    uv_prepare_t prepare;        /* hand staged requests to the worker before the loop polls ... */
    uv_check_t check;            /* ... and after the I/O callbacks of the poll */
    sreq *staged, **staged_tail; /* loop thread only */
    size_t nstaged;
    bool flush_armed;
    int open_handles;
    size_t outstanding; /* loop thread: sync requests whose callbacks have not run; the async
                           handle keeps the loop alive while there are any */

    /* loop thread: a write failed (a full disk); the recover timer reopens the database once
     * the disk has room again */
    bool write_failed;
    uv_timer_t recover;

    uv_thread_t compact_thread;
    uv_cond_t compact_cond;
    bool compact_stop; /* under mu */
    bool compact_started;

    uv_mutex_t reg_mu;
    reg_entry *reg;
    size_t nreg, creg;
};

static int64_t real_clock_us(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sl_store_opts_default(sl_store_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->dir = "./sluice-data/store";
    o->sync_mode = SL_STORE_SYNC_BATCH;
    o->sync_period_ms = 10000;
    o->block_cache_bytes = 64u << 20;
    o->write_buffer_bytes = 64u << 20;
    o->full_compaction_period_ms = 6 * 3600 * 1000;
}

int64_t sl_store_now_us(const sl_store *s)
{
    return s->o.clock_us(s->o.clock_arg);
}

int32_t sl_store_now_s(const sl_store *s)
{
    return (int32_t)(sl_store_now_us(s) / 1000000);
}

/* ---- the table registry (compaction filter) ---- */

static reg_entry *reg_find(sl_store *s, uint32_t id)
{
    size_t lo = 0, hi = s->nreg;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->reg[mid].storage_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nreg && s->reg[lo].storage_id == id ? &s->reg[lo] : NULL;
}

void sl__store_register(sl_store *s, const sl_cql_table *t)
{
    uv_mutex_lock(&s->reg_mu);
    reg_entry *e = reg_find(s, t->storage_id);
    if (e) {
        sl_cql_table_release(e->t);
        e->t = sl_cql_table_keep(t);
    } else {
        if (s->nreg == s->creg) {
            s->creg = s->creg ? s->creg * 2 : 16;
            s->reg = sl_realloc(s->reg, s->creg * sizeof(*s->reg));
        }
        size_t i = s->nreg;
        while (i > 0 && s->reg[i - 1].storage_id > t->storage_id) {
            s->reg[i] = s->reg[i - 1];
            i--;
        }
        s->reg[i] = (reg_entry){t->storage_id, sl_cql_table_keep(t)};
        s->nreg++;
    }
    uv_mutex_unlock(&s->reg_mu);
}

void sl__store_unregister(sl_store *s, uint32_t storage_id)
{
    uv_mutex_lock(&s->reg_mu);
    reg_entry *e = reg_find(s, storage_id);
    if (e) {
        sl_cql_table_release(e->t);
        size_t i = (size_t)(e - s->reg);
        memmove(&s->reg[i], &s->reg[i + 1], (s->nreg - i - 1) * sizeof(*s->reg));
        s->nreg--;
    }
    uv_mutex_unlock(&s->reg_mu);
}

/* ---- compaction filter ---- */

/* One filter per compaction, used by one thread. Only full compactions purge: a filter that
 * drops a tombstone while older versions of the key sit in levels outside the compaction
 * would resurrect them. Keys arrive in order, so the filter remembers the current partition's
 * deletion and range tombstones and the current row's deletions, and drops what they shadow
 * before it may purge them. */
typedef struct cfilter {
    sl_store *s;
    bool full;
    int32_t now_s;
    sl_buf out; /* the changed value handed back to RocksDB */
    /* current partition */
    sl_buf part;
    int32_t gc;
    bool known;
    int64_t part_del;
    sl_buf rts;  /* [u16 lolen][lo][u16 hilen][hi][i64 ts] */
    sl_buf live; /* bitmap of the table's column ids: cells of other (dropped) ids go */
    /* current row (P 0x20 C or P 0x10) */
    sl_buf row;
    int64_t row_del;
    uint16_t *coll_col;
    int64_t *coll_ts;
    size_t ncoll, ccoll;
    sk_row r;
    sl_buf scratch;
} cfilter;

static void cf_destroy(void *st)
{
    cfilter *f = st;
    sl_buf_free(&f->out);
    sl_buf_free(&f->part);
    sl_buf_free(&f->live);
    sl_buf_free(&f->rts);
    sl_buf_free(&f->row);
    sl_buf_free(&f->scratch);
    sl_free(f->coll_col);
    sl_free(f->coll_ts);
    sl__row_free(&f->r);
    sl_free(f);
}

static const char *cf_name(void *st)
{
    (void)st;
    return "sluice.cql.purge";
}

static bool purgeable(const sk_cell *c, int32_t now_s, int32_t gc)
{
    if (!(c->flags & (CELL_TOMBSTONE | CELL_EXPIRING))) return false;
    if ((c->flags & CELL_EXPIRING) && !(c->flags & CELL_TOMBSTONE) && now_s < c->ldt) return false;
    return (int64_t)c->ldt + gc < now_s;
}

static bool has_prefix(sl_slice k, sl_slice p)
{
    return k.len >= p.len && !memcmp(k.ptr, p.ptr, p.len);
}

/* Splits key into partition prefix, region and (for rows) the clustering; fills *c_len with the
 * length of P 0x20 C. Returns false for keys it cannot parse (kept as they are). */
static bool cf_parse(const sl_cql_table *t, sl_slice key, size_t *p_len, uint8_t *region,
                     size_t *row_len, sl_buf *scratch)
{
    sl_rd r;
    sl_rd_init(&r, key.ptr, key.len);
    if (sl_rd_skip(&r, 12)) return false;
    for (size_t i = 0; i < t->npk; i++) {
        scratch->len = 0;
        if (sl__key_get_escaped(&r, scratch)) return false;
    }
    *p_len = sl_rd_offset(&r);
    if (sl_rd_u8(&r, region)) return false;
    if (*region == SK_ROWS) {
        for (size_t i = 0; i < t->nck; i++) {
            bool nul;
            scratch->len = 0;
            if (sl__key_get(&r, t->ck[i]->type, t->ck[i]->desc, scratch, &nul)) return false;
        }
    }
    *row_len = sl_rd_offset(&r);
    return true;
}

static bool cf_live_col(const cfilter *f, uint16_t id)
{
    return (size_t)id / 8 < f->live.len && (f->live.ptr[id / 8] >> (id % 8) & 1);
}

static int64_t cf_rt_cover(cfilter *f, sl_slice c)
{
    int64_t best = SL_NO_TS;
    sl_rd r;
    sl_rd_init(&r, f->rts.ptr, f->rts.len);
    while (sl_rd_left(&r)) {
        uint16_t ln, hn;
        sl_slice lo, hi;
        int64_t ts;
        if (sl_rd_be16(&r, &ln) || sl_rd_bytes(&r, ln, &lo) || sl_rd_be16(&r, &hn) ||
            sl_rd_bytes(&r, hn, &hi) || sl_rd_i64(&r, &ts))
            break;
        size_t n1 = SL_MIN(lo.len, c.len), n2 = SL_MIN(hi.len, c.len);
        int a = n1 ? memcmp(lo.ptr, c.ptr, n1) : 0;
        int b = n2 ? memcmp(c.ptr, hi.ptr, n2) : 0;
        bool ge_lo = a < 0 || (a == 0 && lo.len <= c.len);
        bool lt_hi = b < 0 || (b == 0 && c.len < hi.len);
        if (ge_lo && lt_hi && ts > best) best = ts;
    }
    return best;
}

static unsigned char cf_filter(void *st, int level, const char *k, size_t klen, const char *v,
                               size_t vlen, char **new_value, size_t *new_len,
                               unsigned char *changed)
{
    cfilter *f = st;
    (void)level;
    *changed = 0;
    if (!f->full || klen < 12 || vlen == 0) return 0;
    sl_slice key = {(const uint8_t *)k, klen}, val = {(const uint8_t *)v, vlen};
    /* A new partition: look its table up and reset the per-partition state. */
    if (!f->part.len || !has_prefix(key, sl_buf_slice(&f->part))) {
        f->part.len = 0;
        f->rts.len = 0;
        f->row.len = 0;
        f->part_del = SL_NO_TS;
        f->known = false;
        uint32_t id = sl_get_be32(key.ptr);
        uv_mutex_lock(&f->s->reg_mu);
        reg_entry *e = reg_find(f->s, id);
        size_t p_len = 0, row_len;
        uint8_t region;
        if (e && cf_parse(e->t, key, &p_len, &region, &row_len, &f->scratch)) {
            f->known = true;
            f->gc = e->t->gc_grace_seconds;
            f->live.len = 0;
            uint8_t *bits = sl_buf_extend(&f->live, (size_t)e->t->next_column_id / 8 + 1);
            memset(bits, 0, f->live.len);
            for (size_t i = 0; i < e->t->ncolumns; i++)
                bits[e->t->columns[i].id / 8] |= (uint8_t)(1u << (e->t->columns[i].id % 8));
        }
        uv_mutex_unlock(&f->s->reg_mu);
        if (!f->known) return 0; /* unknown table or key: never guess */
        sl_buf_append(&f->part, key.ptr, p_len);
    }
    if (!f->known) return 0;
    size_t p_len = f->part.len, row_len = 0;
    uint8_t region = key.len > p_len ? key.ptr[p_len] : 0;
    int64_t cover = f->part_del;
    if (region == SK_ROWS) {
        /* The row prefix: reuse it while keys stay in the same row. */
        if (!f->row.len || !has_prefix(key, sl_buf_slice(&f->row)) || key.len == f->row.len) {
            uv_mutex_lock(&f->s->reg_mu);
            reg_entry *e = reg_find(f->s, sl_get_be32(key.ptr));
            size_t pl;
            uint8_t rg;
            bool ok = e && cf_parse(e->t, key, &pl, &rg, &row_len, &f->scratch);
            uv_mutex_unlock(&f->s->reg_mu);
            if (!ok) return 0;
            f->row.len = 0;
            sl_buf_append(&f->row, key.ptr, row_len);
            f->row_del = SL_NO_TS;
            f->ncoll = 0;
        }
        row_len = f->row.len;
        int64_t rt = cf_rt_cover(f, (sl_slice){key.ptr + p_len + 1, row_len - p_len - 1});
        if (rt > cover) cover = rt;
    } else if (region == SK_STATIC) {
        row_len = p_len + 1;
        if (f->row.len != row_len || memcmp(f->row.ptr, key.ptr, row_len)) {
            f->row.len = 0;
            sl_buf_append(&f->row, key.ptr, row_len);
            f->row_del = SL_NO_TS;
            f->ncoll = 0;
        }
    }
    int32_t now = f->now_s;
    if (val.ptr[0] & ROW_TAG) {
        sk_row *r = &f->r;
        if (sl__row_decode(val, r)) return 0;
        bool is_static = region == SK_STATIC;
        bool dirty = false;
        if (is_static && r->has_del) f->part_del = SL_MAX(f->part_del, r->del_ts);
        int64_t rdel = r->has_del ? r->del_ts : SL_NO_TS;
        if (!is_static) f->row_del = rdel;
        int64_t shadow = SL_MAX(cover, is_static ? f->part_del : SL_MAX(cover, rdel));
        if (r->has_marker && (r->marker.ts <= shadow || purgeable(&r->marker, now, f->gc))) {
            r->has_marker = false;
            dirty = true;
        }
        size_t kept = 0;
        for (size_t i = 0; i < r->ncells; i++) {
            sk_cell *c = &r->cells[i];
            /* A collection tombstone shadows the elements that follow: remember it. */
            if ((c->flags & CELL_TOMBSTONE) && f->ncoll < 4096) {
                if (f->ncoll == f->ccoll) {
                    f->ccoll = f->ccoll ? 2 * f->ccoll : 8;
                    f->coll_col = sl_realloc(f->coll_col, f->ccoll * sizeof(*f->coll_col));
                    f->coll_ts = sl_realloc(f->coll_ts, f->ccoll * sizeof(*f->coll_ts));
                }
                f->coll_col[f->ncoll] = r->col[i];
                f->coll_ts[f->ncoll++] = c->ts;
            }
            if (c->ts <= shadow || purgeable(c, now, f->gc) || !cf_live_col(f, r->col[i])) {
                dirty = true;
                continue;
            }
            r->col[kept] = r->col[i];
            r->cells[kept++] = *c;
        }
        r->ncells = kept;
        if (r->has_del && (int64_t)r->del_ldt + f->gc < now) {
            r->has_del = false;
            dirty = true;
        }
        if (!r->has_marker && !r->has_del && r->ncells == 0) return 1;
        if (dirty) {
            f->out.len = 0;
            sl__row_encode(r, &f->out);
            *new_value = (char *)f->out.ptr;
            *new_len = f->out.len;
            *changed = 1;
        }
        return 0;
    }
    sk_cell c;
    if (sl__cell_get(val, &c)) return 0;
    if (region == SK_RANGE_TOMB) {
        /* Remember it for the rows that follow; purge it only past gc grace. */
        sl_rd r;
        uint16_t ln;
        sl_slice lo;
        sl_rd_init(&r, key.ptr + p_len + 1, key.len - p_len - 1);
        if (!sl_rd_be16(&r, &ln) && !sl_rd_bytes(&r, ln, &lo)) {
            sl_slice hi = {r.p, sl_rd_left(&r)};
            sl_buf_put_be16(&f->rts, (uint16_t)lo.len);
            sl_buf_append(&f->rts, lo.ptr, lo.len);
            sl_buf_put_be16(&f->rts, (uint16_t)hi.len);
            sl_buf_append(&f->rts, hi.ptr, hi.len);
            sl_buf_put_be64(&f->rts, (uint64_t)c.ts);
        }
        return purgeable(&c, now, f->gc);
    }
    /* A collection element: shadowed by the partition, range, row or collection deletion. */
    int64_t shadow = SL_MAX(region == SK_STATIC ? f->part_del : cover, f->row_del);
    if (key.len >= row_len + 3 && key.ptr[row_len] == SK_ELEM) {
        uint16_t col = sl_get_be16(key.ptr + row_len + 1);
        if (!cf_live_col(f, col)) return 1; /* a dropped column's element */
        for (size_t i = 0; i < f->ncoll; i++)
            if (f->coll_col[i] == col) shadow = SL_MAX(shadow, f->coll_ts[i]);
    }
    return c.ts <= shadow || purgeable(&c, now, f->gc);
}

static rocksdb_compactionfilter_t *cf_create(void *st, rocksdb_compactionfiltercontext_t *ctx)
{
    sl_store *s = st;
    cfilter *f = sl_calloc(1, sizeof(*f));
    f->s = s;
    f->full = rocksdb_compactionfiltercontext_is_full_compaction(ctx);
    f->now_s = sl_store_now_s(s);
    sl__row_init(&f->r);
    return rocksdb_compactionfilter_create(f, cf_destroy, cf_filter, cf_name);
}

static const char *cff_name(void *st)
{
    (void)st;
    return "sluice.cql.purge.factory";
}

static void noop_destroy(void *st)
{
    (void)st;
}

static void merge_delete_value(void *st, const char *v, size_t n)
{
    (void)st;
    (void)n;
    free((void *)v);
}

static const char *merge_name(void *st)
{
    (void)st;
    return "sluice.cql.lww";
}

/* ---- sync worker ---- */

/* Applies the groups queued so far, in order; their requests then wait for the next sync.
 * It takes the queue as it is when called, so a loop handing over groups without pause does
 * not keep the worker from syncing. Worker or loop thread (drain). Returns 0 or the first
 * failure, described in err. */
static int apply_queued(sl_store *s, sl_buf *err)
{
    int first = 0;
    uv_mutex_lock(&s->apply_mu);
    uv_mutex_lock(&s->mu);
    handover *list = s->queue;
    s->queue = NULL;
    s->queue_tail = &s->queue;
    uv_mutex_unlock(&s->mu);
    if (!list) {
        uv_mutex_unlock(&s->apply_mu);
        return 0;
    }
    for (handover *h = list; h; h = h->next) {
        if (rocksdb_writebatch_count(h->wb) == 0) continue;
        char *e = NULL;
        rocksdb_write(s->db, s->wo, h->wb, &e);
        rocksdb_writebatch_clear(h->wb);
        if (!e) continue;
        if (err && !first) sl_buf_printf(err, "write to the store in %s failed: %s", s->dir, e);
        SL_ERROR("cql", "write to the store in %s failed: %s", s->dir, e);
        int rc = rocks_rc(e);
        free(e);
        if (!first) first = rc;
        for (sreq *r = h->reqs; r; r = r->next)
            r->rc = rc;
    }
    handover *extra = NULL; /* beyond SPARE_MAX: freed, with the memory their groups grew to */
    uv_mutex_lock(&s->mu);
    for (handover *h = list, *nx; h; h = nx) {
        nx = h->next;
        if (h->reqs) {
            *s->pending_tail = h->reqs;
            s->pending_tail = h->reqs_tail;
        }
        s->sync_requests += h->nreqs;
        h->reqs = NULL;
        h->reqs_tail = &h->reqs;
        h->nreqs = 0;
        if (s->nspare < SPARE_MAX) {
            h->next = s->spare;
            s->spare = h;
            s->nspare++;
        } else {
            h->next = extra;
            extra = h;
        }
    }
    s->sync_due = true; /* a write nobody asked to sync still reaches the file */
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->mu);
    uv_mutex_unlock(&s->apply_mu);
    while (extra) {
        handover *h = extra;
        extra = h->next;
        rocksdb_writebatch_destroy(h->wb);
        sl_free(h);
    }
    return first;
}

static void sync_worker(void *arg)
{
    sl_store *s = arg;
    rocksdb_set_perf_level(rocksdb_disable); /* per thread: see sl_store_open */
    uv_mutex_lock(&s->mu);
    for (;;) {
        while (!s->queue && !s->pending && !s->sync_due && !s->stop)
            uv_cond_wait(&s->cond, &s->mu);
        if (!s->queue && !s->pending && !s->sync_due) break; /* stop, nothing left */
        if (s->queue) {
            uv_mutex_unlock(&s->mu);
            apply_queued(s, NULL);
            uv_mutex_lock(&s->mu);
        }
        sreq *batch = s->pending;
        s->pending = NULL;
        s->pending_tail = &s->pending;
        s->sync_due = false;
        uv_mutex_unlock(&s->mu);

        int rc = s->wal_rc;
        if (rc == 0) {
            char *err = NULL;
            rocksdb_flush_wal(s->db, 1, &err);
            if (err) {
                rc = s->wal_rc = rocks_rc(err);
                SL_ERROR("cql",
                         "WAL sync failed in %s: %s; writes are refused until the disk has "
                         "room again and the store reopens",
                         s->dir, err);
                free(err);
            }
        }

        uv_mutex_lock(&s->mu);
        s->syncs++;
        if (batch) {
            for (sreq *r = batch; r; r = r->next) {
                if (r->rc == 0) r->rc = rc; /* a failed group write already set it */
                if (!r->next) {
                    *s->done_tail = batch;
                    s->done_tail = &r->next;
                }
            }
            uv_async_send(&s->async);
        }
    }
    uv_mutex_unlock(&s->mu);
}

static void note_failure(sl_store *s);

static void run_done(sl_store *s)
{
    uv_mutex_lock(&s->mu);
    sreq *list = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    uv_mutex_unlock(&s->mu);
    while (list) {
        sreq *r = list;
        list = r->next;
        if (--s->outstanding == 0) uv_unref((uv_handle_t *)&s->async);
        if (r->rc < 0) note_failure(s);
        r->cb(r->arg, r->rc);
        sl_free(r);
    }
}

static void on_async(uv_async_t *h)
{
    run_done(h->data);
}

static void on_timer(uv_timer_t *h)
{
    sl_store *s = h->data;
    uv_mutex_lock(&s->mu);
    s->sync_due = true;
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->mu);
}

/* Periodic mode: writes the group (one statement) to the database at once. Loop thread. */
static int group_write(sl_store *s, sl_buf *err)
{
    if (!s->group_ops) return 0;
    char *e = NULL;
    rocksdb_write(s->db, s->wo, s->group, &e);
    rocksdb_writebatch_clear(s->group);
    s->group_ops = s->group_bytes = 0;
    if (!e) return 0;
    if (err) sl_buf_printf(err, "write to the store in %s failed: %s", s->dir, e);
    SL_ERROR("cql", "write to the store in %s failed: %s", s->dir, e);
    int rc = rocks_rc(e);
    free(e);
    note_failure(s);
    return rc;
}

/* Batch mode: queues the group and the requests staged since the last hand-over for the
 * worker, swapping in an empty WriteBatch. Loop thread. */
static void hand_over(sl_store *s)
{
    if (!s->group_ops && !s->staged) return;
    uv_mutex_lock(&s->mu);
    handover *h = s->spare;
    if (h) {
        s->spare = h->next;
        s->nspare--;
    }
    uv_mutex_unlock(&s->mu);
    if (!h) {
        h = sl_calloc(1, sizeof(*h));
        h->wb = rocksdb_writebatch_create();
    }
    rocksdb_writebatch_t *full = s->group;
    s->group = h->wb;
    h->wb = full;
    h->next = NULL;
    h->reqs = s->staged;
    h->reqs_tail = s->staged ? s->staged_tail : &h->reqs;
    h->nreqs = s->nstaged;
    s->staged = NULL;
    s->staged_tail = &s->staged;
    s->nstaged = 0;
    s->group_ops = s->group_bytes = 0;
    uv_mutex_lock(&s->mu);
    *s->queue_tail = h;
    s->queue_tail = &h->next;
    uv_cond_signal(&s->cond);
    uv_mutex_unlock(&s->mu);
}

/* Makes every write so far visible to reads: hands the group over and applies whatever is
 * still queued on this thread (waiting for a group the worker is applying). Loop thread. */
static int drain(sl_store *s, sl_buf *err)
{
    if (s->o.sync_mode != SL_STORE_SYNC_BATCH) return group_write(s, err);
    hand_over(s);
    return apply_queued(s, err);
}

void sl__store_flush(sl_store *s)
{
    drain(s, NULL);
}

/* Hands the iteration's group and requests to the worker. Loop thread. */
static void flush_staged(sl_store *s)
{
    if (s->flush_armed) {
        uv_prepare_stop(&s->prepare);
        uv_check_stop(&s->check);
        s->flush_armed = false;
    }
    if (s->o.sync_mode == SL_STORE_SYNC_BATCH) hand_over(s);
}

static void on_prepare(uv_prepare_t *h)
{
    flush_staged(h->data);
}

static void on_check(uv_check_t *h)
{
    flush_staged(h->data);
}

/* Makes the loop hand staged requests (and unflushed writes) over in this iteration. */
static void arm_flush(sl_store *s)
{
    if (s->flush_armed) return;
    uv_prepare_start(&s->prepare, on_prepare);
    uv_check_start(&s->check, on_check);
    s->flush_armed = true;
}

void sl_store_sync(sl_store *s, sl_store_sync_cb cb, void *arg)
{
    if (s->o.sync_mode == SL_STORE_SYNC_PERIODIC) {
        cb(arg, 0);
        return;
    }
    sreq *r = sl_malloc(sizeof(*r));
    r->next = NULL;
    r->cb = cb;
    r->arg = arg;
    r->rc = 0;
    if (s->outstanding++ == 0) uv_ref((uv_handle_t *)&s->async);
    *s->staged_tail = r;
    s->staged_tail = &r->next;
    s->nstaged++;
    arm_flush(s);
}

void sl_store_stats_get(sl_store *s, sl_store_stats *out)
{
    uv_mutex_lock(&s->mu);
    out->sync_requests = s->sync_requests;
    out->syncs = s->syncs;
    uv_mutex_unlock(&s->mu);
    out->writes = s->writes;
    out->folds = s->folds;
}

/* ---- full compaction ---- */

/* A full compaction: flush the memtables, then compact everything with the bottommost level
 * forced, so every file is rewritten through the purge filter in one compaction. RocksDB
 * filters values, not merge operands: a key still made only of operands is merged into a
 * value by one pass and purged by the next, so callers wanting everything purged now run two
 * passes; the periodic compactor runs one (by then most keys are values). */
static int compact_all(sl_store *s, int passes, sl_buf *err)
{
    char *e = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush_cf(s->db, fo, s->cf_data, &e);
    rocksdb_flushoptions_destroy(fo);
    if (e) {
        if (err) sl_buf_printf(err, "flush before compaction failed in %s: %s", s->dir, e);
        SL_WARN("cql", "flush before compaction failed in %s: %s", s->dir, e);
        free(e);
        return -EIO;
    }
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 1);
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    for (int i = 0; i < passes; i++)
        rocksdb_compact_range_cf_opt(s->db, s->cf_data, co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
    return 0;
}

static void compactor(void *arg)
{
    sl_store *s = arg;
    uint64_t period_ns = (uint64_t)s->o.full_compaction_period_ms * 1000000u;
    uv_mutex_lock(&s->mu);
    while (!s->compact_stop) {
        if (uv_cond_timedwait(&s->compact_cond, &s->mu, period_ns) == 0 || s->compact_stop)
            continue;
        uv_mutex_unlock(&s->mu);
        SL_DEBUG("cql", "full compaction of %s", s->dir);
        compact_all(s, 1, NULL);
        uv_mutex_lock(&s->mu);
    }
    uv_mutex_unlock(&s->mu);
}

int sl_store_compact(sl_store *s, sl_buf *err)
{
    drain(s, NULL);
    return compact_all(s, 2, err);
}

/* ---- open / close ---- */

static void store_free(sl_store *s)
{
    if (s->db) {
        rocksdb_column_family_handle_destroy(s->cf_data);
        rocksdb_column_family_handle_destroy(s->cf_cat);
        rocksdb_close(s->db);
    }
    if (s->group) rocksdb_writebatch_destroy(s->group);
    if (s->wo) rocksdb_writeoptions_destroy(s->wo);
    if (s->ro) rocksdb_readoptions_destroy(s->ro);
    if (s->dbopts) rocksdb_options_destroy(s->dbopts);
    if (s->catopts) rocksdb_options_destroy(s->catopts);
    if (s->bbto) rocksdb_block_based_options_destroy(s->bbto);
    if (s->cache) rocksdb_cache_destroy(s->cache);
    for (size_t i = 0; i < s->nreg; i++)
        sl_cql_table_release(s->reg[i].t);
    sl_free(s->reg);
    uv_mutex_destroy(&s->mu);
    uv_mutex_destroy(&s->reg_mu);
    uv_mutex_destroy(&s->apply_mu);
    while (s->spare) {
        handover *h = s->spare;
        s->spare = h->next;
        rocksdb_writebatch_destroy(h->wb);
        sl_free(h);
    }
    uv_cond_destroy(&s->cond);
    uv_cond_destroy(&s->compact_cond);
    sl_free(s->dir);
    sl_free(s);
}

static int open_db(sl_store *s, sl_buf *err)
{
    const char *names[2] = {"default", "catalog"};
    const rocksdb_options_t *cfopts[2] = {s->dbopts, s->catopts};
    rocksdb_column_family_handle_t *cfs[2];
    char *e = NULL;
    s->db = rocksdb_open_column_families(s->dbopts, s->dir, 2, names, cfopts, cfs, &e);
    if (e) {
        sl_buf_printf(err, "cannot open the store in %s: %s", s->dir, e);
        free(e);
        s->db = NULL;
        return -1;
    }
    s->cf_data = cfs[0];
    s->cf_cat = cfs[1];
    return 0;
}

static void start_threads(sl_store *s)
{
    if (uv_thread_create(&s->sync_thread, sync_worker, s)) abort();
    if (s->o.full_compaction_period_ms > 0) {
        if (uv_thread_create(&s->compact_thread, compactor, s)) abort();
        s->compact_started = true;
    }
}

/* ---- recovery from a full disk ---- */

/* The bytes of the WAL files in dir: about what reopening writes (the replayed memtable's
 * flush to a table file). */
static uint64_t wal_bytes(const char *dir)
{
    uint64_t n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        struct stat st;
        if (len > 4 && !strcmp(de->d_name + len - 4, ".log") &&
            fstatat(dirfd(d), de->d_name, &st, 0) == 0)
            n += (uint64_t)st.st_size;
    }
    closedir(d);
    return n;
}

/* Asks the sync worker and the compactor to stop and joins the worker, which first drains
 * every pending request. Loop thread. */
static void stop_threads(sl_store *s)
{
    flush_staged(s);
    uv_mutex_lock(&s->mu);
    s->stop = true;
    s->compact_stop = true;
    uv_cond_signal(&s->cond);
    uv_cond_signal(&s->compact_cond);
    uv_mutex_unlock(&s->mu);
    uv_thread_join(&s->sync_thread);
}

/* Joins the compactor once stop_threads has asked it to stop; a manual compaction in progress
 * is cut short. */
static void stop_compactor(sl_store *s)
{
    if (!s->compact_started) return;
    rocksdb_disable_manual_compaction(s->db);
    uv_thread_join(&s->compact_thread);
    s->compact_started = false;
}

/* Past a failed WAL flush RocksDB takes no write, and librocksdb's C API has no Resume: the way
 * out is to close the database and open it again, which replays the WAL's synced records (every
 * acknowledged write) and starts a fresh one. Loop thread. Nothing else touches the database
 * meanwhile: the worker and the compactor are stopped and joined first (the worker answers
 * what it holds, refused), and cursors never outlive one request (exec_select.c). */
static int reopen(sl_store *s, sl_buf *err)
{
    stop_threads(s);
    stop_compactor(s);
    run_done(s);
    rocksdb_cancel_all_background_work(s->db, 1);
    rocksdb_column_family_handle_destroy(s->cf_data);
    rocksdb_column_family_handle_destroy(s->cf_cat);
    rocksdb_close(s->db);
    if (open_db(s, err)) return -1;
    memset(s->hot, 0, sizeof s->hot);
    s->stop = s->compact_stop = false;
    s->wal_rc = 0;
    s->write_failed = false;
    start_threads(s);
    return 0;
}

/* Every second after a failed write: once the disk has room for the reopen (the WAL's size
 * plus a margin), reopens. A reopen that fails leaves no database to serve: the store exits,
 * and a supervisor (`sluice up`) starts it again, on the same acknowledged data. */
static void on_recover(uv_timer_t *h)
{
    sl_store *s = h->data;
    struct statvfs v;
    if (statvfs(s->dir, &v) != 0) return;
    uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize, need = wal_bytes(s->dir) + (1u << 20);
    if (avail < need) return;
    sl_buf err = {0};
    int64_t t0 = sl_mono_ms();
    if (reopen(s, &err)) {
        SL_ERROR("cql", "%.*s; exiting (status 3) for a restart", (int)err.len,
                 (const char *)err.ptr);
        exit(3);
    }
    uv_timer_stop(h);
    SL_INFO("cql",
            "store %s reopened after a failed write (%" PRIu64 " MiB free now, %" PRId64
            " ms): writes are accepted again",
            s->dir, avail >> 20, sl_mono_ms() - t0);
}

static void note_failure(sl_store *s)
{
    s->write_failed = true;
    if (!uv_is_active((uv_handle_t *)&s->recover))
        uv_timer_start(&s->recover, on_recover, 1000, 1000);
}

int sl_store_open(uv_loop_t *loop, const sl_store_opts *o, sl_store **out, sl_buf *err)
{
    *out = NULL;
    int rc = sl_mkdirs(o->dir, 0755);
    if (rc) {
        sl_buf_printf(err, "cannot create %s: %s", o->dir, sl_strerror(rc));
        return rc;
    }
    sl_store *s = sl_calloc(1, sizeof(*s));
    s->loop = loop;
    s->o = *o;
    if (!s->o.clock_us) s->o.clock_us = real_clock_us;
    if (s->o.sync_period_ms <= 0) s->o.sync_period_ms = 10000;
    s->dir = sl_strdup(o->dir);
    s->o.dir = s->dir;
    s->pending_tail = &s->pending;
    s->queue_tail = &s->queue;
    s->staged_tail = &s->staged;
    s->group = rocksdb_writebatch_create();
    s->done_tail = &s->done;
    uv_mutex_init(&s->mu);
    uv_mutex_init(&s->reg_mu);
    uv_mutex_init(&s->apply_mu);
    uv_cond_init(&s->cond);
    uv_cond_init(&s->compact_cond);

    s->cache = rocksdb_cache_create_lru(o->block_cache_bytes ? o->block_cache_bytes : 64u << 20);
    s->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(s->bbto, s->cache);
    rocksdb_block_based_options_set_filter_policy(s->bbto,
                                                  rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->bbto, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(s->bbto, 1);

    s->dbopts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->dbopts, 1);
    rocksdb_options_set_create_missing_column_families(s->dbopts, 1);
    rocksdb_options_increase_parallelism(s->dbopts, 2);
    rocksdb_options_set_max_background_jobs(s->dbopts, 2);
    /* RocksDB's own LOG file shares the data dir's disk: on a full disk its failed append makes
     * the next message abort the process (an assertion in Debian's build), and the first one
     * comes from the very error handler reporting ENOSPC. Only fatal messages go there; the
     * store logs every failed write and sync itself. */
    rocksdb_options_set_info_log_level(s->dbopts, 4 /* FATAL_LEVEL */);
    rocksdb_options_set_write_buffer_size(s->dbopts, o->write_buffer_bytes ? o->write_buffer_bytes
                                                                           : 64u << 20);
    rocksdb_options_set_max_write_buffer_number(s->dbopts, 3);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(s->dbopts, 1);
    /* Memtable flushes write L0 uncompressed: compaction into the lower levels compresses
     * anyway, and the flush thread shares two cores with the loop. */
    int per_level[7] = {rocksdb_no_compression,  rocksdb_lz4_compression, rocksdb_lz4_compression,
                        rocksdb_lz4_compression, rocksdb_lz4_compression, rocksdb_lz4_compression,
                        rocksdb_lz4_compression};
    rocksdb_options_set_compression_per_level(s->dbopts, per_level, 7);
    rocksdb_options_set_block_based_table_factory(s->dbopts, s->bbto);
    rocksdb_options_set_max_subcompactions(s->dbopts, 1); /* the purge filter reads keys in order */
    /* Batch mode: writes append WAL records in memory and the sync worker writes and syncs
     * them in one go, instead of a write(2) per statement on the loop thread. Periodic mode
     * keeps RocksDB's write per statement, so a killed process loses no more than before. */
    if (o->sync_mode == SL_STORE_SYNC_BATCH) rocksdb_options_set_manual_wal_flush(s->dbopts, 1);
    s->merge = rocksdb_mergeoperator_create(s, noop_destroy, sl__merge_full, sl__merge_partial,
                                            merge_delete_value, merge_name);
    rocksdb_options_set_merge_operator(s->dbopts, s->merge);
    s->cff = rocksdb_compactionfilterfactory_create(s, noop_destroy, cf_create, cff_name);
    rocksdb_options_set_compaction_filter_factory(s->dbopts, s->cff);

    s->catopts = rocksdb_options_create();
    rocksdb_options_set_compression(s->catopts, rocksdb_lz4_compression);

    if (open_db(s, err)) {
        store_free(s);
        return SL_ERR_CONFIG;
    }
    s->wo = rocksdb_writeoptions_create(); /* WAL on, no sync: the worker syncs */
    /* RocksDB counts perf-context statistics per thread by default, a thread-local access on
     * every key comparison; nothing reads them. Per thread: this is the loop thread. */
    rocksdb_set_perf_level(rocksdb_disable);
    s->ro = rocksdb_readoptions_create();

    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_prepare_init(loop, &s->prepare);
    s->prepare.data = s;
    uv_check_init(loop, &s->check);
    s->check.data = s;
    uv_timer_init(loop, &s->recover);
    s->recover.data = s;
    uv_unref((uv_handle_t *)&s->recover);
    s->open_handles = 5;
    if (s->o.sync_mode == SL_STORE_SYNC_PERIODIC)
        uv_timer_start(&s->timer, on_timer, (uint64_t)s->o.sync_period_ms,
                       (uint64_t)s->o.sync_period_ms);
    else
        uv_unref((uv_handle_t *)&s->timer);
    uv_unref((uv_handle_t *)&s->async);
    start_threads(s);
    *out = s;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_store *s = h->data;
    if (--s->open_handles == 0) store_free(s);
}

void sl_store_close(sl_store *s)
{
    stop_threads(s);
    run_done(s);
    if (s->o.sync_mode == SL_STORE_SYNC_BATCH && s->wal_rc == 0) {
        char *e = NULL;
        rocksdb_flush_wal(s->db, 1, &e);
        if (e) {
            SL_ERROR("cql", "WAL sync at close failed in %s: %s", s->dir, e);
            free(e);
        }
    }
    stop_compactor(s);
    rocksdb_cancel_all_background_work(s->db, 1);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->recover, on_handle_closed);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->async, on_handle_closed);
    uv_close((uv_handle_t *)&s->prepare, on_handle_closed);
    uv_close((uv_handle_t *)&s->check, on_handle_closed);
}

/* ---- meta (the catalog's column family) ---- */

int sl_store_meta_get(sl_store *s, sl_slice key, sl_buf *val)
{
    drain(s, NULL);
    char *e = NULL;
    size_t n;
    char *v = rocksdb_get_cf(s->db, s->ro, s->cf_cat, (const char *)key.ptr, key.len, &n, &e);
    if (e) {
        SL_ERROR("cql", "catalog read failed in %s: %s", s->dir, e);
        free(e);
        return -EIO;
    }
    if (!v) return SL_ERR_NOTFOUND;
    sl_buf_append(val, v, n);
    free(v);
    return 0;
}

int sl_store_meta_scan(sl_store *s, sl_slice prefix,
                       int (*fn)(void *arg, sl_slice key, sl_slice val), void *arg)
{
    drain(s, NULL);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf_cat);
    int rc = 0;
    for (rocksdb_iter_seek(it, (const char *)prefix.ptr, prefix.len); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
        if (kl < prefix.len || memcmp(k, prefix.ptr, prefix.len)) break;
        rc = fn(arg, (sl_slice){(const uint8_t *)k, kl}, (sl_slice){(const uint8_t *)v, vl});
        if (rc) break;
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    if (e) {
        SL_ERROR("cql", "catalog scan failed in %s: %s", s->dir, e);
        free(e);
        rc = -EIO;
    }
    rocksdb_iter_destroy(it);
    return rc;
}

rocksdb_t *sl__store_db(sl_store *s)
{
    return s->db;
}
rocksdb_column_family_handle_t *sl__store_cf(sl_store *s)
{
    return s->cf_data;
}
rocksdb_readoptions_t *sl__store_ro(sl_store *s)
{
    return s->ro;
}

/* ---- batches ---- */

/* A cell of the pending row: its bytes live in b->vals at off. */
typedef struct pcell {
    uint16_t col;
    uint32_t seq;
    uint8_t flags;
    int64_t ts;
    int32_t ttl, ldt;
    size_t off, len;
} pcell;

typedef struct prow {
    bool used, has_marker, has_del;
    uint8_t mflags;
    int64_t mts;
    int32_t mttl, mldt;
    int64_t del_ts;
    int32_t del_ldt;
    pcell *cells;
    size_t n, cap;
} prow;

/* A batch's operations, [u8 op][u32 klen][u32 vlen][key][value] in host order, copied into the
 * store's group by sl_store_write; a statement that fails is cleared without touching the
 * group. */
enum { OP_MERGE, OP_PUT, OP_META_PUT, OP_META_DELETE, OP_DELETE_RANGE };

struct sl_store_batch {
    sl_store *s;
    sl_buf ops;
    size_t count;
    const sl_cql_table *t;
    int64_t ts;
    int32_t ttl, now_s;
    sl_buf part;   /* P */
    sl_buf rowkey; /* P 0x20 C: the row prefix */
    size_t nck;
    prow statics, regular;
    sl_buf vals;
    sl_buf key, tmp, enc;
    uint32_t seq;
    uint32_t *drops; /* storage ids whose files to drop after the write */
    size_t ndrops;
    uint64_t *hashes; /* of the data keys merged so far, to fold a key only once per batch */
    size_t nhashes, chashes;
    sk_row row;  /* flush_prow's scratch */
    sl_buf sums; /* flush_prow's summed counters, 8 bytes per cell */
};

sl_store_batch *sl_store_batch_new(sl_store *s)
{
    sl_store_batch *b = sl_calloc(1, sizeof(*b));
    b->s = s;
    return b;
}

static void prow_reset(prow *r)
{
    pcell *c = r->cells;
    size_t cap = r->cap;
    memset(r, 0, sizeof(*r));
    r->cells = c;
    r->cap = cap;
}

void sl_store_batch_clear(sl_store_batch *b)
{
    b->ops.len = 0;
    b->count = 0;
    b->t = NULL;
    prow_reset(&b->statics);
    prow_reset(&b->regular);
    b->vals.len = 0;
    b->ndrops = 0;
    b->nhashes = 0;
}

void sl_store_batch_free(sl_store_batch *b)
{
    if (!b) return;
    sl_buf_free(&b->ops);
    sl_buf_free(&b->part);
    sl_buf_free(&b->rowkey);
    sl_buf_free(&b->vals);
    sl_buf_free(&b->key);
    sl_buf_free(&b->tmp);
    sl_buf_free(&b->enc);
    sl_free(b->statics.cells);
    sl_free(b->regular.cells);
    sl_free(b->drops);
    sl_free(b->hashes);
    sl__row_free(&b->row);
    sl_buf_free(&b->sums);
    sl_free(b);
}

size_t sl_store_batch_count(const sl_store_batch *b)
{
    return b->count;
}

static void op_add(sl_store_batch *b, uint8_t op, sl_slice k, sl_slice v)
{
    uint32_t kl = (uint32_t)k.len, vl = (uint32_t)v.len;
    uint8_t *p = sl_buf_extend(&b->ops, 9 + k.len + v.len);
    p[0] = op;
    memcpy(p + 1, &kl, 4);
    memcpy(p + 5, &vl, 4);
    if (k.len) memcpy(p + 9, k.ptr, k.len);
    if (v.len) memcpy(p + 9 + k.len, v.ptr, v.len);
    b->count++;
}

/* Copies b's operations into the group. */
static void ops_to_group(sl_store *s, const sl_store_batch *b)
{
    const uint8_t *p = b->ops.ptr, *end = p + b->ops.len;
    while (p < end) {
        uint32_t kl, vl;
        memcpy(&kl, p + 1, 4);
        memcpy(&vl, p + 5, 4);
        const char *k = (const char *)p + 9, *v = k + kl;
        switch (p[0]) {
        case OP_MERGE: rocksdb_writebatch_merge_cf(s->group, s->cf_data, k, kl, v, vl); break;
        case OP_PUT: rocksdb_writebatch_put_cf(s->group, s->cf_data, k, kl, v, vl); break;
        case OP_META_PUT: rocksdb_writebatch_put_cf(s->group, s->cf_cat, k, kl, v, vl); break;
        case OP_META_DELETE: rocksdb_writebatch_delete_cf(s->group, s->cf_cat, k, kl); break;
        case OP_DELETE_RANGE:
            rocksdb_writebatch_delete_range_cf(s->group, s->cf_data, k, kl, v, vl);
            break;
        }
        p += 9 + kl + vl;
    }
    s->group_ops += b->count;
    s->group_bytes += b->ops.len;
}

/* FNV-1a: keys are short and this runs once per merge. */
static uint64_t key_hash(sl_slice k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < k.len; i++)
        h = (h ^ k.ptr[i]) * 0x100000001b3ull;
    return h;
}

/* Replaces the merge of op into key by a put of the key's current value merged with op. False
 * when the read or the merge fails: the caller merges as usual. */
static bool fold(sl_store_batch *b, sl_slice key, sl_slice op)
{
    sl_store *s = b->s;
    if (drain(s, NULL)) return false;
    char *e = NULL;
    size_t n = 0;
    char *cur = rocksdb_get_cf(s->db, s->ro, s->cf_data, (const char *)key.ptr, key.len, &n, &e);
    if (e) {
        free(e);
        return false;
    }
    const char *ops[1] = {(const char *)op.ptr};
    size_t lens[1] = {op.len};
    unsigned char ok = 0;
    size_t outlen = 0;
    char *v = sl__merge_full(s, (const char *)key.ptr, key.len, cur, cur ? n : 0, ops, lens, 1, &ok,
                             &outlen);
    free(cur);
    if (ok && v) op_add(b, OP_PUT, key, (sl_slice){(const uint8_t *)v, outlen});
    free(v);
    return ok && v;
}

/* Adds a data cell or row operand, folding a hot key (see HOT_SLOTS). A key already merged
 * in this batch is never folded: the read would miss that earlier operand. */
static void data_merge(sl_store_batch *b, sl_slice key, sl_slice val)
{
    uint64_t h = key_hash(key);
    hot_slot *slot = &b->s->hot[h & (HOT_SLOTS - 1)];
    if (slot->hash != h) {
        slot->hash = h;
        slot->merges = 0;
    }
    bool folded = false;
    if (++slot->merges >= HOT_FOLD_AT) {
        bool seen = false;
        for (size_t i = 0; i < b->nhashes && !seen; i++)
            seen = b->hashes[i] == h;
        if (!seen && fold(b, key, val)) {
            folded = true;
            slot->merges = 0;
            b->s->folds++;
        }
    }
    if (!folded) op_add(b, OP_MERGE, key, val);
    if (b->nhashes == b->chashes) {
        b->chashes = b->chashes ? 2 * b->chashes : 8;
        b->hashes = sl_realloc(b->hashes, b->chashes * sizeof(*b->hashes));
    }
    b->hashes[b->nhashes++] = h;
}

static bool pcell_less(const pcell *a, const pcell *c)
{
    return a->col != c->col ? a->col < c->col : a->seq < c->seq;
}

/* Cells by column, then write order. An insertion sort: a row has a few dozen cells at most and
 * statements list columns mostly in table order, so this is near linear and allocates nothing
 * (qsort took a malloc and a merge sort per row). */
static void pcells_sort(pcell *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        pcell x = v[i];
        size_t j = i;
        for (; j > 0 && pcell_less(&x, &v[j - 1]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static void flush_prow(sl_store_batch *b, prow *r, bool is_static)
{
    if (!r->used) return;
    sk_row row = b->row; /* the batch's arrays, grown to r->n */
    if (row.cap < r->n) {
        row.cap = SL_MAX(r->n, 2 * row.cap);
        row.col = sl_realloc(row.col, row.cap * sizeof(*row.col));
        row.cells = sl_realloc(row.cells, row.cap * sizeof(*row.cells));
    }
    row.has_marker = r->has_marker;
    row.marker = (sk_cell){r->mflags, r->mts, r->mttl, r->mldt, {(const uint8_t *)"", 0}};
    row.has_del = r->has_del;
    row.del_ts = r->del_ts;
    row.del_ldt = r->del_ldt;
    pcells_sort(r->cells, r->n);
    b->sums.len = 0;
    uint8_t *sums = sl_buf_extend(&b->sums, 8 * (r->n ? r->n : 1));
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const pcell *p = &r->cells[i];
        sk_cell c = {p->flags,
                     p->ts,
                     p->ttl,
                     p->ldt,
                     {b->vals.ptr ? b->vals.ptr + p->off : (const uint8_t *)"", p->len}};
        if (k && row.col[k - 1] == p->col) {
            /* Two writes to one column in a statement: reconcile as the merge would. */
            int64_t sum;
            int w = sl__cell_reconcile(&row.cells[k - 1], &c, &sum);
            if (w == 2) {
                sl_put_be64(sums + 8 * i, (uint64_t)sum);
                row.cells[k - 1].value = (sl_slice){sums + 8 * i, 8};
            } else if (w == 1) {
                row.cells[k - 1] = c;
            }
            continue;
        }
        row.col[k] = p->col;
        row.cells[k++] = c;
    }
    row.ncells = k;
    b->tmp.len = 0;
    sl__row_encode(&row, &b->tmp);
    b->key.len = 0;
    if (is_static) {
        sl_buf_append(&b->key, b->part.ptr, b->part.len);
        sl_buf_put_u8(&b->key, SK_STATIC);
    } else {
        sl_buf_append(&b->key, b->rowkey.ptr, b->rowkey.len);
    }
    sl_buf_put_u8(&b->key, SK_ROW);
    data_merge(b, sl_buf_slice(&b->key), sl_buf_slice(&b->tmp));
    b->row = row;
    prow_reset(r);
}

static void flush_rows(sl_store_batch *b)
{
    flush_prow(b, &b->statics, true);
    flush_prow(b, &b->regular, false);
    b->vals.len = 0;
}

void sl_store_batch_row(sl_store_batch *b, const sl_cql_table *t, const sl_slice *pk,
                        const sl_slice *ck, size_t nck, int64_t ts, int32_t ttl)
{
    flush_rows(b);
    b->t = t;
    b->ts = ts;
    b->ttl = ttl;
    b->now_s = sl_store_now_s(b->s);
    b->part.len = 0;
    sl__key_partition(&b->part, t->storage_id, sl_cql_token(pk, t->npk), pk, t->npk);
    b->rowkey.len = 0;
    sl_buf_append(&b->rowkey, b->part.ptr, b->part.len);
    sl_buf_put_u8(&b->rowkey, SK_ROWS);
    b->nck = SL_MIN(nck, t->nck);
    for (size_t i = 0; i < b->nck; i++)
        sl__key_put(&b->rowkey, t->ck[i]->type, ck[i], t->ck[i]->desc);
}

static uint8_t live_flags(const sl_store_batch *b)
{
    return b->ttl > 0 ? CELL_EXPIRING : 0;
}

static int32_t live_ldt(const sl_store_batch *b)
{
    return b->ttl > 0 ? b->now_s + b->ttl : 0;
}

static void add_pcell(sl_store_batch *b, prow *r, uint16_t col, uint8_t flags, int64_t ts,
                      int32_t ttl, int32_t ldt, sl_slice v)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->cells = sl_realloc(r->cells, r->cap * sizeof(*r->cells));
    }
    pcell *c = &r->cells[r->n++];
    c->col = col;
    c->seq = b->seq++;
    c->flags = flags;
    c->ts = ts;
    c->ttl = ttl;
    c->ldt = ldt;
    c->off = b->vals.len;
    c->len = (flags & CELL_TOMBSTONE) ? 0 : v.len;
    if (c->len) sl_buf_append(&b->vals, v.ptr, v.len);
    r->used = true;
}

/* The executor addresses regular cells, markers and row deletions with every clustering
 * value and static cells with the partition only; anything else would write a key no read
 * can place. Refuse it loudly rather than corrupt the table. */
static bool addressable(sl_store_batch *b, const sl_cql_column *col, const char *op)
{
    bool is_static = col && col->kind == SL_CQL_COL_STATIC;
    if (b->t && (is_static || b->nck == b->t->nck)) return true;
    SL_ERROR("cql", "storage: %s on %s.%s without a full primary key ignored", op,
             b->t ? b->t->keyspace : "?", b->t ? b->t->name : "?");
    return false;
}

static prow *row_of(sl_store_batch *b, const sl_cql_column *col)
{
    return col->kind == SL_CQL_COL_STATIC ? &b->statics : &b->regular;
}

void sl_store_batch_marker(sl_store_batch *b)
{
    if (!addressable(b, NULL, "row marker")) return;
    prow *r = &b->regular;
    r->used = true;
    r->has_marker = true;
    r->mflags = live_flags(b);
    r->mts = b->ts;
    r->mttl = b->ttl;
    r->mldt = live_ldt(b);
}

void sl_store_batch_row_delete(sl_store_batch *b)
{
    if (!addressable(b, NULL, "row deletion")) return;
    prow *r = &b->regular;
    r->used = true;
    if (!r->has_del || b->ts > r->del_ts) {
        r->has_del = true;
        r->del_ts = b->ts;
        r->del_ldt = b->now_s;
    }
}

void sl_store_batch_partition_delete(sl_store_batch *b)
{
    /* Without clustering columns the row is the partition: keep the deletion in the row, so
     * a point read is one key (storage_read.c). */
    prow *r = b->t && b->t->nck == 0 ? &b->regular : &b->statics;
    r->used = true;
    if (!r->has_del || b->ts > r->del_ts) {
        r->has_del = true;
        r->del_ts = b->ts;
        r->del_ldt = b->now_s;
    }
}

/* The key of an element of col in the current row: (P 0x10 | P 0x20 C) 0x03 col elem. */
static void elem_key(sl_store_batch *b, const sl_cql_column *col, const sl_cql_dtype *kt,
                     sl_slice ekey)
{
    b->key.len = 0;
    if (col->kind == SL_CQL_COL_STATIC) {
        sl_buf_append(&b->key, b->part.ptr, b->part.len);
        sl_buf_put_u8(&b->key, SK_STATIC);
    } else {
        sl_buf_append(&b->key, b->rowkey.ptr, b->rowkey.len);
    }
    sl_buf_put_u8(&b->key, SK_ELEM);
    sl_buf_put_be16(&b->key, col->id);
    sl__key_put(&b->key, kt, ekey, false);
}

/* An element cell under an already encoded element key. */
static void put_elem_raw(sl_store_batch *b, const sl_cql_column *col, sl_slice ekey_enc,
                         uint8_t flags, sl_slice v)
{
    b->key.len = 0;
    if (col->kind == SL_CQL_COL_STATIC) {
        sl_buf_append(&b->key, b->part.ptr, b->part.len);
        sl_buf_put_u8(&b->key, SK_STATIC);
    } else {
        sl_buf_append(&b->key, b->rowkey.ptr, b->rowkey.len);
    }
    sl_buf_put_u8(&b->key, SK_ELEM);
    sl_buf_put_be16(&b->key, col->id);
    sl_buf_append(&b->key, ekey_enc.ptr, ekey_enc.len);
    b->tmp.len = 0;
    int32_t ldt = (flags & CELL_TOMBSTONE) ? b->now_s : (flags & CELL_EXPIRING) ? live_ldt(b) : 0;
    sl__cell_put(&b->tmp, flags, b->ts, b->ttl, ldt, v);
    data_merge(b, sl_buf_slice(&b->key), sl_buf_slice(&b->tmp));
}

/* The live elements of list col in the current row: [u32 klen][key][u32 vlen][value]... */
static int list_elements(sl_store_batch *b, const sl_cql_column *col, sl_buf *out)
{
    if (!addressable(b, col, "list update")) return SL_ERR_INVAL;
    sl_slice crel = {b->rowkey.ptr + b->part.len + 1, b->rowkey.len - b->part.len - 1};
    if (col->kind == SL_CQL_COL_STATIC) crel = (sl_slice){(const uint8_t *)"", 0};
    return sl__store_list_read(b->s, b->t, sl_buf_slice(&b->part), crel, col, b->now_s, out);
}

static bool next_elem(sl_rd *r, sl_slice *k, sl_slice *v)
{
    uint32_t kl, vl;
    return !sl_rd_be32(r, &kl) && !sl_rd_bytes(r, kl, k) && !sl_rd_be32(r, &vl) &&
           !sl_rd_bytes(r, vl, v);
}

int sl_store_batch_list_set(sl_store_batch *b, const sl_cql_column *col, int32_t idx, sl_slice v,
                            sl_buf *err)
{
    if (col->type->kind != SL_CQL_LIST || !sl_cql_dtype_is_multicell(col->type)) {
        sl_buf_printf(err, "Invalid operation for non list column %s", col->name);
        return SL_ERR_INVAL;
    }
    sl_buf els = SL_BUF_INIT;
    int rc = list_elements(b, col, &els);
    if (rc) {
        sl_buf_printf(err, "reading list %s failed", col->name);
        sl_buf_free(&els);
        return rc;
    }
    sl_rd r;
    sl_rd_init(&r, els.ptr, els.len);
    sl_slice k, ev;
    int32_t n = 0;
    bool found = false;
    while (next_elem(&r, &k, &ev)) {
        if (n++ == idx) {
            found = true;
            if (v.ptr)
                put_elem_raw(b, col, k, live_flags(b), v);
            else
                put_elem_raw(b, col, k, CELL_TOMBSTONE, SL_SLICE_NULL);
        }
    }
    sl_buf_free(&els);
    if (!found || idx < 0) {
        sl_buf_printf(err, "List index %d out of bound, list has size %d", idx, n);
        return SL_ERR_INVAL;
    }
    return 0;
}

int sl_store_batch_list_remove(sl_store_batch *b, const sl_cql_column *col, sl_slice vals,
                               sl_buf *err)
{
    if (col->type->kind != SL_CQL_LIST || !sl_cql_dtype_is_multicell(col->type)) {
        sl_buf_printf(err, "Invalid operation for non list column %s", col->name);
        return SL_ERR_INVAL;
    }
    if (!vals.ptr) return 0;
    sl_buf els = SL_BUF_INIT;
    int rc = list_elements(b, col, &els);
    if (rc) {
        sl_buf_printf(err, "reading list %s failed", col->name);
        sl_buf_free(&els);
        return rc;
    }
    sl_rd r;
    sl_rd_init(&r, els.ptr, els.len);
    sl_slice k, ev;
    while (next_elem(&r, &k, &ev)) {
        sl_cql_iter it;
        sl_slice x;
        if (sl_cql_iter_init(&it, col->type, vals) < 0) break;
        while (sl_cql_iter_next(&it, &x) == 1)
            if (!sl_cql_value_compare(col->type->sub[0], x, ev)) {
                put_elem_raw(b, col, k, CELL_TOMBSTONE, SL_SLICE_NULL);
                break;
            }
    }
    sl_buf_free(&els);
    return 0;
}

static void put_elem(sl_store_batch *b, const sl_cql_column *col, const sl_cql_dtype *kt,
                     sl_slice ekey, uint8_t flags, int64_t ts, sl_slice v)
{
    elem_key(b, col, kt, ekey);
    b->tmp.len = 0;
    int32_t ldt = (flags & CELL_TOMBSTONE) ? b->now_s : (flags & CELL_EXPIRING) ? live_ldt(b) : 0;
    sl__cell_put(&b->tmp, flags, ts, b->ttl, ldt, v);
    data_merge(b, sl_buf_slice(&b->key), sl_buf_slice(&b->tmp));
}

/* Cassandra's list element keys: time uuids. Appends use the current time; prepends a time
 * mirrored before 2010-01-01 so that later prepends sort earlier. */
#define LIST_REFERENCE_MS 1262304000000LL

static void list_key(uint8_t u[16], bool prepend, int64_t now_ms, uint32_t i)
{
    if (!prepend) {
        sl_cql_timeuuid_now(u);
        return;
    }
    sl_cql_timeuuid_at(LIST_REFERENCE_MS - (now_ms - LIST_REFERENCE_MS), i, u);
}

static void add_elements(sl_store_batch *b, const sl_cql_column *col, sl_slice v, bool prepend)
{
    const sl_cql_dtype *t = col->type;
    sl_cql_iter it;
    sl_slice e, val;
    if (sl_cql_iter_init(&it, t, v) < 0) return;
    uint8_t flags = live_flags(b);
    int64_t now_ms = sl_store_now_us(b->s) / 1000;
    uint32_t i = 0;
    while (sl_cql_iter_next(&it, &e) == 1) {
        if (t->kind == SL_CQL_LIST) {
            uint8_t u[16];
            list_key(u, prepend, now_ms, i++);
            put_elem(b, col, sl_cql_dtype_prim(SL_CQL_TIMEUUID), (sl_slice){u, 16}, flags, b->ts,
                     e);
        } else if (t->kind == SL_CQL_SET) {
            put_elem(b, col, t->sub[0], e, flags, b->ts, (sl_slice){(const uint8_t *)"", 0});
        } else {
            if (sl_cql_iter_next(&it, &val) != 1) return;
            put_elem(b, col, t->sub[0], e, flags, b->ts, val);
        }
    }
}

void sl_store_batch_cell(sl_store_batch *b, const sl_cql_column *col, sl_slice v)
{
    if (!addressable(b, col, "cell write")) return;
    prow *r = row_of(b, col);
    if (sl_cql_dtype_is_multicell(col->type)) {
        /* Replace: delete what was there just before this write, then add the elements. */
        add_pcell(b, r, col->id, CELL_TOMBSTONE, v.ptr ? b->ts - 1 : b->ts, 0, b->now_s, v);
        if (v.ptr) add_elements(b, col, v, false);
        return;
    }
    if (!v.ptr)
        add_pcell(b, r, col->id, CELL_TOMBSTONE, b->ts, 0, b->now_s, v);
    else
        add_pcell(b, r, col->id, live_flags(b), b->ts, b->ttl, live_ldt(b), v);
}

void sl_store_batch_elems_add(sl_store_batch *b, const sl_cql_column *col, sl_slice v, bool prepend)
{
    if (!v.ptr || !sl_cql_dtype_is_multicell(col->type) || !addressable(b, col, "append")) return;
    add_elements(b, col, v, prepend);
}

void sl_store_batch_elems_remove(sl_store_batch *b, const sl_cql_column *col, sl_slice keys)
{
    const sl_cql_dtype *t = col->type;
    if (!keys.ptr || !sl_cql_dtype_is_multicell(t) || t->kind == SL_CQL_LIST ||
        !addressable(b, col, "element removal"))
        return;
    sl_cql_iter it;
    sl_slice e;
    /* keys is a set (or list) of the element/key type */
    sl_cql_dtype *lt =
        sl_cql_dtype_new(SL_CQL_LIST, true, 1, (sl_cql_dtype *[]){sl_cql_dtype_keep(t->sub[0])});
    if (sl_cql_iter_init(&it, lt, keys) >= 0)
        while (sl_cql_iter_next(&it, &e) == 1)
            put_elem(b, col, t->sub[0], e, CELL_TOMBSTONE, b->ts, SL_SLICE_NULL);
    sl_cql_dtype_release(lt);
}

void sl_store_batch_map_put(sl_store_batch *b, const sl_cql_column *col, sl_slice key,
                            sl_slice value)
{
    const sl_cql_dtype *t = col->type;
    if (t->kind != SL_CQL_MAP || !sl_cql_dtype_is_multicell(t) || !key.ptr ||
        !addressable(b, col, "map put"))
        return;
    if (value.ptr)
        put_elem(b, col, t->sub[0], key, live_flags(b), b->ts, value);
    else
        put_elem(b, col, t->sub[0], key, CELL_TOMBSTONE, b->ts, SL_SLICE_NULL);
}

void sl_store_batch_counter_add(sl_store_batch *b, const sl_cql_column *col, int64_t delta)
{
    if (!addressable(b, col, "counter update")) return;
    uint8_t d[8];
    sl_put_be64(d, (uint64_t)delta);
    add_pcell(b, row_of(b, col), col->id, CELL_COUNTER, b->ts, 0, 0, (sl_slice){d, 8});
}

void sl__bound_encode(const sl_cql_table *t, const sl_store_bound *bd, bool is_end, sl_buf *out,
                      bool *unbounded)
{
    out->len = 0;
    *unbounded = !bd || bd->n == 0;
    if (*unbounded) return;
    for (size_t i = 0; i < bd->n && i < t->nck; i++)
        sl__key_put(out, t->ck[i]->type, bd->ck[i], t->ck[i]->desc);
    /* start: inclusive -> S, exclusive -> succ(S); end: inclusive -> succ(E), exclusive -> E */
    if (bd->inclusive == is_end && !sl__key_successor(out)) {
        out->len = 0;
        sl_buf_put_u8(out, 0xff);
    }
}

void sl_store_batch_range_delete(sl_store_batch *b, const sl_store_bound *start,
                                 const sl_store_bound *end)
{
    bool ustart, uend;
    sl_buf lo = SL_BUF_INIT, hi = SL_BUF_INIT;
    sl__bound_encode(b->t, start, false, &lo, &ustart);
    sl__bound_encode(b->t, end, true, &hi, &uend);
    if (uend) { /* above every clustering encoding */
        hi.len = 0;
        sl_buf_put_u8(&hi, 0xff);
    }
    b->key.len = 0;
    sl_buf_append(&b->key, b->part.ptr, b->part.len);
    sl_buf_put_u8(&b->key, SK_RANGE_TOMB);
    sl_buf_put_be16(&b->key, (uint16_t)lo.len);
    sl_buf_append(&b->key, lo.ptr, lo.len);
    sl_buf_append(&b->key, hi.ptr, hi.len);
    b->tmp.len = 0;
    sl__cell_put(&b->tmp, CELL_TOMBSTONE, b->ts, 0, b->now_s, SL_SLICE_NULL);
    data_merge(b, sl_buf_slice(&b->key), sl_buf_slice(&b->tmp));
    sl_buf_free(&lo);
    sl_buf_free(&hi);
}

void sl_store_batch_meta_put(sl_store_batch *b, sl_slice key, sl_slice val)
{
    op_add(b, OP_META_PUT, key, val);
}

void sl_store_batch_meta_delete(sl_store_batch *b, sl_slice key)
{
    op_add(b, OP_META_DELETE, key, SL_SLICE_NULL);
}

static void id_range(uint32_t id, uint8_t lo[4], uint8_t hi[5], size_t *hilen)
{
    sl_put_be32(lo, id);
    if (id == UINT32_MAX) {
        memset(hi, 0xff, 5);
        *hilen = 5;
    } else {
        sl_put_be32(hi, id + 1);
        *hilen = 4;
    }
}

void sl_store_batch_drop_data(sl_store_batch *b, uint32_t storage_id)
{
    uint8_t lo[4], hi[5];
    size_t hl;
    id_range(storage_id, lo, hi, &hl);
    op_add(b, OP_DELETE_RANGE, (sl_slice){lo, 4}, (sl_slice){hi, hl});
    b->drops = sl_realloc(b->drops, (b->ndrops + 1) * sizeof(*b->drops));
    b->drops[b->ndrops++] = storage_id;
}

/* Frees whole files of a deleted range (the range deletion already hides their data). */
static void drop_files(sl_store *s, uint32_t storage_id)
{
    uint8_t lo[4], hi[5];
    size_t hl;
    id_range(storage_id, lo, hi, &hl);
    char *e = NULL;
    rocksdb_delete_file_in_range_cf(s->db, s->cf_data, (const char *)lo, 4, (const char *)hi, hl,
                                    &e);
    if (e) {
        SL_WARN("cql", "dropping files of table %u in %s: %s", storage_id, s->dir, e);
        free(e);
    }
}

int sl_store_write(sl_store *s, sl_store_batch *b, sl_buf *err)
{
    flush_rows(b);
    s->writes++;
    int rc = 0;
    if (b->count) {
        ops_to_group(s, b);
        /* Batch mode: a write is acknowledged after a sync, so the group waits for the end of
         * the iteration (flush_staged) and a burst of statements costs one RocksDB write, on
         * the worker. Drops (whose files go next) and oversized groups are applied now. */
        if (s->o.sync_mode != SL_STORE_SYNC_BATCH)
            rc = group_write(s, err);
        else if (b->ndrops || s->group_bytes >= GROUP_MAX_BYTES)
            rc = drain(s, err);
        else
            arm_flush(s);
    }
    for (size_t i = 0; rc == 0 && i < b->ndrops; i++)
        drop_files(s, b->drops[i]);
    sl_store_batch_clear(b);
    return rc;
}

int sl_store_truncate(sl_store *s, const sl_cql_table *t, sl_buf *err)
{
    sl_store_batch *b = sl_store_batch_new(s);
    sl_store_batch_drop_data(b, t->storage_id);
    int rc = sl_store_write(s, b, err);
    sl_store_batch_free(b);
    return rc;
}
