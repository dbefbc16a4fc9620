/* storage_read.c: cursors over a partition or a token range (see storage.h), assembling rows
 * from row values and collection elements and applying deletions and TTL expiry. */
#include "cql/storage.h"
#include "cql/storage_int.h"
#include "core/log.h"

#include <rocksdb/c.h>

/* A key-value pair copied out of the iterator (it moves on before a row is assembled). */
typedef struct kv {
    size_t koff, klen, voff, vlen;
} kv;

/* A range tombstone of the current partition: rows with lo <= C < hi. */
typedef struct rtomb {
    size_t lo, lolen, hi, hilen; /* in c->rtbuf */
    int64_t ts;
} rtomb;

struct sl_store_cursor {
    sl_store *s;
    sl_cql_table *t;
    bool point; /* a partition that is a single key: one Get, no iterator */
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it;
    sl_buf lower, upper; /* the iterator's bounds; must outlive it */
    bool single, reverse, started, done;
    int32_t now_s;
    sl_buf lo, hi; /* the clustering slice over C */
    bool has_lo, has_hi, bounded;
    sl_buf after;       /* resume strictly after this position */
    int16_t *col_of_id; /* column id -> index in t->columns, -1 for dropped ids */
    size_t nids;

    /* the current partition */
    bool in_part;
    sl_buf part; /* P */
    int64_t token;
    int64_t part_del;
    sl_buf rtbuf;
    rtomb *rts;
    size_t nrts, crts;
    bool emitted;      /* a row of this partition was returned (or resumed past) */
    bool statics_live; /* some static column has a value */
    sl_buf pkvals;     /* the partition key values */
    size_t *pkoff;
    sl_buf statvals; /* static column values */
    sl_store_cell *statcells;
    size_t *statoff; /* offsets of static values in statvals, SIZE_MAX for null */

    /* the row being assembled */
    sl_buf raw; /* copied keys and values */
    kv *kvs;
    size_t nkv, ckv;
    sl_buf vals; /* output values */
    size_t *voff;
    sl_store_cell *cells;
    sl_store_row row;
    sl_buf pos;
    sk_row r;
    sl_buf scratch;

    /* list reads for the write path: capture the live elements of one column */
    int cap_col;
    sl_buf cap; /* [u32 keylen][elem key][u32 vlen][value] ... */
};

static bool has_prefix(sl_slice k, const sl_buf *p)
{
    return k.len >= p->len && !memcmp(k.ptr, p->ptr, p->len);
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = SL_MIN(an, bn);
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

static sl_slice it_key(rocksdb_iterator_t *it)
{
    size_t n;
    const char *k = rocksdb_iter_key(it, &n);
    return (sl_slice){(const uint8_t *)k, n};
}

static sl_slice it_val(rocksdb_iterator_t *it)
{
    size_t n;
    const char *v = rocksdb_iter_value(it, &n);
    return (sl_slice){(const uint8_t *)v, n};
}

static int64_t rt_cover(const sl_store_cursor *c, const uint8_t *ck, size_t n)
{
    int64_t best = SL_NO_TS;
    for (size_t i = 0; i < c->nrts; i++) {
        const rtomb *r = &c->rts[i];
        if (r->ts <= best) continue;
        if (cmp_bytes(c->rtbuf.ptr + r->lo, r->lolen, ck, n) <= 0 &&
            cmp_bytes(ck, n, c->rtbuf.ptr + r->hi, r->hilen) < 0)
            best = r->ts;
    }
    return best;
}

static int32_t ttl_left(const sk_cell *c, int32_t now_s)
{
    return (c->flags & CELL_EXPIRING) ? c->ldt - now_s : 0;
}

static const sl_cql_column *column_of(const sl_store_cursor *c, uint16_t id)
{
    if (id >= c->nids || c->col_of_id[id] < 0) return NULL;
    return &c->t->columns[c->col_of_id[id]];
}

/* Copies the current iterator entry into c->raw. */
static void take_kv(sl_store_cursor *c, sl_slice k, sl_slice v)
{
    if (c->nkv == c->ckv) {
        c->ckv = c->ckv ? 2 * c->ckv : 16;
        c->kvs = sl_realloc(c->kvs, c->ckv * sizeof(*c->kvs));
    }
    kv *e = &c->kvs[c->nkv++];
    e->koff = c->raw.len;
    e->klen = k.len;
    sl_buf_append(&c->raw, k.ptr, k.len);
    e->voff = c->raw.len;
    e->vlen = v.len;
    sl_buf_append(&c->raw, v.ptr, v.len);
}

/* Builds the values of the row's columns from kvs (a row value and collection elements of
 * the row whose prefix has length plen), writing into vals/voff and cells (indexed by column).
 * del is the deletion covering the row from outside (partition, range tombstones). Returns
 * whether anything (marker or a column) is live. */
static bool assemble(sl_store_cursor *c, size_t plen, int64_t del, bool is_static, sl_buf *vals,
                     size_t *voff, sl_store_cell *cells)
{
    const sl_cql_table *t = c->t;
    bool live = false;
    int64_t rdel = del;
    sk_row *r = &c->r;
    r->ncells = 0;
    r->has_marker = r->has_del = false;
    /* kvs are in key order: the row value (suffix 0x00) first, elements after. */
    size_t i = 0;
    if (c->nkv && c->kvs[0].klen == plen + 1) {
        kv *e = &c->kvs[0];
        if (sl__row_decode((sl_slice){c->raw.ptr + e->voff, e->vlen}, r)) {
            SL_WARN("cql", "undecodable row in table %s.%s ignored", t->keyspace, t->name);
            r->ncells = 0;
            r->has_marker = r->has_del = false;
        }
        i = 1;
    }
    if (r->has_del && r->del_ts > rdel) rdel = r->del_ts;
    if (r->has_marker && r->marker.ts > rdel && sl__cell_live(&r->marker, c->now_s)) live = true;

    /* collection deletions by column, for the elements */
    int64_t coll_del_stack[64];
    int64_t *coll_del =
        t->ncolumns <= 64 ? coll_del_stack : sl_malloc(t->ncolumns * sizeof(*coll_del));
    for (size_t k = 0; k < t->ncolumns; k++)
        coll_del[k] = rdel;
    for (size_t k = 0; k < r->ncells; k++) {
        const sl_cql_column *col = column_of(c, r->col[k]);
        if (!col || (col->kind == SL_CQL_COL_STATIC) != is_static) continue;
        const sk_cell *cell = &r->cells[k];
        if (sl_cql_dtype_is_multicell(col->type)) {
            if (cell->ts > coll_del[col->index]) coll_del[col->index] = cell->ts;
            continue;
        }
        if (cell->ts <= rdel || !sl__cell_live(cell, c->now_s)) continue;
        voff[col->index] = vals->len;
        sl_buf_append(vals, cell->value.ptr, cell->value.len);
        cells[col->index].value.len = cell->value.len;
        cells[col->index].timestamp = cell->ts;
        cells[col->index].ttl = ttl_left(cell, c->now_s);
        live = true;
    }

    /* Elements: runs per column, in element order. */
    while (i < c->nkv) {
        kv *e = &c->kvs[i];
        const uint8_t *k = c->raw.ptr + e->koff;
        if (e->klen < plen + 3 || k[plen] != SK_ELEM) {
            i++;
            continue;
        }
        uint16_t id = sl_get_be16(k + plen + 1);
        const sl_cql_column *col = column_of(c, id);
        bool usable = col && sl_cql_dtype_is_multicell(col->type) &&
                      (col->kind == SL_CQL_COL_STATIC) == is_static;
        size_t count_at = vals->len;
        uint32_t count = 0;
        if (usable) sl_buf_put_be32(vals, 0);
        for (; i < c->nkv; i++) {
            e = &c->kvs[i];
            k = c->raw.ptr + e->koff;
            if (e->klen < plen + 3 || k[plen] != SK_ELEM || sl_get_be16(k + plen + 1) != id) break;
            if (!usable) continue;
            sk_cell cell;
            if (sl__cell_get((sl_slice){c->raw.ptr + e->voff, e->vlen}, &cell)) continue;
            if (cell.ts <= coll_del[col->index] || !sl__cell_live(&cell, c->now_s)) continue;
            sl_rd rd;
            sl_rd_init(&rd, k + plen + 3, e->klen - plen - 3);
            const sl_cql_dtype *kt = col->type->kind == SL_CQL_LIST
                                         ? sl_cql_dtype_prim(SL_CQL_TIMEUUID)
                                         : col->type->sub[0];
            if (col->type->kind != SL_CQL_LIST) {
                /* the element (set) or map key is in the key */
                size_t len_at = vals->len;
                bool nul;
                sl_buf_put_be32(vals, 0);
                if (sl__key_get(&rd, kt, false, vals, &nul)) {
                    vals->len = len_at;
                    continue;
                }
                sl_put_be32(vals->ptr + len_at, (uint32_t)(vals->len - len_at - 4));
            }
            if (col->type->kind != SL_CQL_SET) {
                sl_buf_put_be32(vals, (uint32_t)cell.value.len);
                sl_buf_append(vals, cell.value.ptr, cell.value.len);
            }
            if ((int)col->id == c->cap_col) {
                sl_buf_put_be32(&c->cap, (uint32_t)(e->klen - plen - 3));
                sl_buf_append(&c->cap, k + plen + 3, e->klen - plen - 3);
                sl_buf_put_be32(&c->cap, (uint32_t)cell.value.len);
                sl_buf_append(&c->cap, cell.value.ptr, cell.value.len);
            }
            count++;
        }
        if (!usable) continue;
        if (count == 0) {
            vals->len = count_at;
            continue;
        }
        sl_put_be32(vals->ptr + count_at, count);
        voff[col->index] = count_at;
        cells[col->index].value.len = vals->len - count_at;
        cells[col->index].timestamp = SL_NO_TS;
        cells[col->index].ttl = 0;
        live = true;
    }
    if (coll_del != coll_del_stack) sl_free(coll_del);
    return live;
}

static void reset_row_cells(sl_store_cursor *c, sl_store_cell *cells, size_t *voff)
{
    for (size_t i = 0; i < c->t->ncolumns; i++) {
        cells[i] = (sl_store_cell){SL_SLICE_NULL, SL_NO_TS, 0};
        voff[i] = SIZE_MAX;
    }
}

/* Points the value slices of cells at their bytes once vals no longer moves. */
static void fix_slices(const sl_buf *vals, const size_t *voff, sl_store_cell *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (voff[i] != SIZE_MAX)
            cells[i].value.ptr = vals->ptr ? vals->ptr + voff[i] : (const uint8_t *)"";
}

/* Reads the partition header at P (static row, static elements, range tombstones) and decodes
 * the partition key. Moves the iterator. */
static int load_partition(sl_store_cursor *c, sl_slice p)
{
    const sl_cql_table *t = c->t;
    c->part.len = 0;
    sl_buf_append(&c->part, p.ptr, p.len);
    c->token = (int64_t)sl__token_key((int64_t)sl_get_be64(p.ptr + 4));
    c->part_del = SL_NO_TS;
    c->nrts = 0;
    c->rtbuf.len = 0;
    c->emitted = false;
    c->statics_live = false;
    c->pkvals.len = 0;
    sl_rd rd;
    sl_rd_init(&rd, p.ptr + 12, p.len - 12);
    for (size_t i = 0; i < t->npk; i++) {
        c->pkoff[i] = c->pkvals.len;
        if (sl__key_get_escaped(&rd, &c->pkvals)) return SL_ERR_CORRUPT;
    }
    c->pkoff[t->npk] = c->pkvals.len;

    /* Forward from P 0x10 up to the rows. */
    sl_buf seek = SL_BUF_INIT;
    sl_buf_append(&seek, p.ptr, p.len);
    sl_buf_put_u8(&seek, SK_STATIC);
    rocksdb_iter_seek(c->it, (const char *)seek.ptr, seek.len);
    c->nkv = 0;
    c->raw.len = 0;
    while (rocksdb_iter_valid(c->it)) {
        sl_slice k = it_key(c->it);
        if (!has_prefix(k, &c->part) || k.len <= p.len || k.ptr[p.len] >= SK_ROWS) break;
        if (k.ptr[p.len] == SK_STATIC) {
            take_kv(c, k, it_val(c->it));
        } else if (k.ptr[p.len] == SK_RANGE_TOMB) {
            sk_cell cell;
            sl_rd r;
            uint16_t ln;
            sl_slice lo;
            sl_rd_init(&r, k.ptr + p.len + 1, k.len - p.len - 1);
            if (!sl__cell_get(it_val(c->it), &cell) && !sl_rd_be16(&r, &ln) &&
                !sl_rd_bytes(&r, ln, &lo)) {
                if (c->nrts == c->crts) {
                    c->crts = c->crts ? 2 * c->crts : 8;
                    c->rts = sl_realloc(c->rts, c->crts * sizeof(*c->rts));
                }
                rtomb *rt = &c->rts[c->nrts++];
                rt->lo = c->rtbuf.len;
                rt->lolen = lo.len;
                sl_buf_append(&c->rtbuf, lo.ptr, lo.len);
                rt->hi = c->rtbuf.len;
                rt->hilen = sl_rd_left(&r);
                sl_buf_append(&c->rtbuf, r.p, rt->hilen);
                rt->ts = cell.ts;
            }
        }
        rocksdb_iter_next(c->it);
    }
    /* The static row; its deletion is the partition's, which covers the statics too. */
    c->statvals.len = 0;
    reset_row_cells(c, c->statcells, c->statoff);
    size_t plen = p.len + 1;
    if (c->nkv && c->kvs[0].klen == plen + 1 &&
        !sl__row_decode((sl_slice){c->raw.ptr + c->kvs[0].voff, c->kvs[0].vlen}, &c->r) &&
        c->r.has_del)
        c->part_del = c->r.del_ts;
    if (c->nkv) assemble(c, plen, c->part_del, true, &c->statvals, c->statoff, c->statcells);
    fix_slices(&c->statvals, c->statoff, c->statcells, t->ncolumns);
    bool any_static = false;
    for (size_t i = 0; i < t->ncolumns; i++)
        if (t->columns[i].kind == SL_CQL_COL_STATIC && c->statcells[i].value.ptr) any_static = true;
    c->statics_live = any_static;
    sl_buf_free(&seek);
    c->in_part = true;
    return 0;
}

/* Positions the iterator at the first row of the current partition to read (forward: the
 * smallest key >= lo and after `after`; reverse: the largest below hi and before `after`). */
static void seek_rows(sl_store_cursor *c)
{
    sl_buf k = SL_BUF_INIT;
    sl_buf_append(&k, c->part.ptr, c->part.len);
    sl_buf_put_u8(&k, SK_ROWS);
    bool resume = c->after.len && has_prefix(sl_buf_slice(&c->after), &c->part);
    if (!c->reverse) {
        if (!c->has_lo && !resume) {
            /* load_partition stopped at the first key past the header: the first row */
            sl_buf_free(&k);
            return;
        }
        if (c->has_lo) sl_buf_append(&k, c->lo.ptr, c->lo.len);
        if (resume) {
            sl_buf a = SL_BUF_INIT;
            sl_buf_append(&a, c->after.ptr, c->after.len);
            sl__key_successor(&a);
            if (cmp_bytes(a.ptr, a.len, k.ptr, k.len) > 0) sl_buf_move(&k, &a);
            sl_buf_free(&a);
            c->emitted = true;
        }
        rocksdb_iter_seek(c->it, (const char *)k.ptr, k.len);
    } else {
        if (c->has_hi)
            sl_buf_append(&k, c->hi.ptr, c->hi.len);
        else
            k.ptr[k.len - 1] = SK_ROWS + 1;
        if (resume && cmp_bytes(c->after.ptr, c->after.len, k.ptr, k.len) < 0) {
            k.len = 0;
            sl_buf_append(&k, c->after.ptr, c->after.len);
            c->emitted = true;
        }
        rocksdb_iter_seek_for_prev(c->it, (const char *)k.ptr, k.len);
        while (rocksdb_iter_valid(c->it)) {
            sl_slice key = it_key(c->it);
            if (cmp_bytes(key.ptr, key.len, k.ptr, k.len) < 0) break;
            rocksdb_iter_prev(c->it);
        }
    }
    if (resume && c->after.len == c->part.len + 1) c->emitted = true; /* the static row */
    sl_buf_free(&k);
}

/* Length of P 0x20 C of a row key, or 0. */
static size_t row_prefix_len(sl_store_cursor *c, sl_slice k)
{
    if (k.len <= c->part.len || k.ptr[c->part.len] != SK_ROWS) return 0;
    sl_rd rd;
    sl_rd_init(&rd, k.ptr + c->part.len + 1, k.len - c->part.len - 1);
    for (size_t i = 0; i < c->t->nck; i++) {
        bool nul;
        c->scratch.len = 0;
        if (sl__key_get(&rd, c->t->ck[i]->type, c->t->ck[i]->desc, &c->scratch, &nul)) return 0;
    }
    return sl_rd_offset(&rd) + c->part.len + 1;
}

/* Fills the output row from the assembled cells plus key and static values. */
static void finish_row(sl_store_cursor *c, const uint8_t *ck, size_t cklen, bool static_only)
{
    const sl_cql_table *t = c->t;
    /* static and partition key values are copied after the regular ones */
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *col = &t->columns[i];
        if (col->kind == SL_CQL_COL_STATIC && c->statoff[i] != SIZE_MAX) {
            c->voff[i] = c->vals.len;
            sl_buf_append(&c->vals, c->statvals.ptr + c->statoff[i], c->statcells[i].value.len);
            c->cells[i] = c->statcells[i];
        }
    }
    for (size_t i = 0; i < t->npk; i++) {
        size_t idx = t->pk[i]->index;
        c->voff[idx] = c->vals.len;
        sl_buf_append(&c->vals, c->pkvals.ptr + c->pkoff[i], c->pkoff[i + 1] - c->pkoff[i]);
        c->cells[idx].value.len = c->pkoff[i + 1] - c->pkoff[i];
    }
    if (!static_only) {
        sl_rd rd;
        sl_rd_init(&rd, ck, cklen);
        for (size_t i = 0; i < t->nck; i++) {
            size_t idx = t->ck[i]->index;
            bool nul;
            size_t at = c->vals.len;
            if (sl__key_get(&rd, t->ck[i]->type, t->ck[i]->desc, &c->vals, &nul)) break;
            c->voff[idx] = at;
            c->cells[idx].value.len = c->vals.len - at;
        }
    }
    fix_slices(&c->vals, c->voff, c->cells, t->ncolumns);
    c->row.table = t;
    c->row.token = c->token;
    c->row.cells = c->cells;
    c->row.static_only = static_only;
    c->pos.len = 0;
    sl_buf_append(&c->pos, c->part.ptr, c->part.len);
    if (static_only) {
        sl_buf_put_u8(&c->pos, SK_STATIC);
    } else {
        sl_buf_put_u8(&c->pos, SK_ROWS);
        sl_buf_append(&c->pos, ck, cklen);
    }
    c->row.pos = sl_buf_slice(&c->pos);
}

/* Reads the next row of the current partition. 1: a live row is ready; 0: the partition is
 * exhausted (the iterator is somewhere past it or inside its rows); <0 error. */
static int next_in_partition(sl_store_cursor *c)
{
    size_t pl = c->part.len + 1; /* P 0x20 */
    for (;;) {
        if (!rocksdb_iter_valid(c->it)) return 0;
        sl_slice k = it_key(c->it);
        if (!has_prefix(k, &c->part) || k.len <= c->part.len || k.ptr[c->part.len] != SK_ROWS)
            return 0;
        size_t rl = row_prefix_len(c, k);
        if (!rl) {
            SL_WARN("cql", "undecodable key in table %s.%s skipped", c->t->keyspace, c->t->name);
            if (c->reverse)
                rocksdb_iter_prev(c->it);
            else
                rocksdb_iter_next(c->it);
            continue;
        }
        const uint8_t *ck = k.ptr + pl;
        size_t cklen = rl - pl;
        if (!c->reverse && c->has_hi && cmp_bytes(ck, cklen, c->hi.ptr, c->hi.len) >= 0) return 0;
        if (c->reverse && c->has_lo && cmp_bytes(ck, cklen, c->lo.ptr, c->lo.len) < 0) return 0;
        /* collect the row's entries */
        sl_buf rowp = SL_BUF_INIT;
        sl_buf_append(&rowp, k.ptr, rl);
        c->nkv = 0;
        c->raw.len = 0;
        while (rocksdb_iter_valid(c->it)) {
            sl_slice kk = it_key(c->it);
            if (!has_prefix(kk, &rowp)) break;
            take_kv(c, kk, it_val(c->it));
            if (c->reverse)
                rocksdb_iter_prev(c->it);
            else
                rocksdb_iter_next(c->it);
        }
        if (c->reverse) /* back to key order */
            for (size_t a = 0, b = c->nkv ? c->nkv - 1 : 0; a < b; a++, b--) {
                kv tmp = c->kvs[a];
                c->kvs[a] = c->kvs[b];
                c->kvs[b] = tmp;
            }
        const uint8_t *rck = rowp.ptr + pl;
        int64_t del = SL_MAX(c->part_del, rt_cover(c, rck, cklen));
        c->vals.len = 0;
        reset_row_cells(c, c->cells, c->voff);
        bool live = assemble(c, rl, del, false, &c->vals, c->voff, c->cells);
        if (live) {
            finish_row(c, rck, cklen, false);
            sl_buf_free(&rowp);
            c->emitted = true;
            return 1;
        }
        sl_buf_free(&rowp);
    }
}

/* After a partition: a static-only row when no row was returned and the query does not
 * restrict clustering. */
static bool static_only_row(sl_store_cursor *c)
{
    if (c->emitted || !c->statics_live || c->bounded) return false;
    c->vals.len = 0;
    reset_row_cells(c, c->cells, c->voff);
    finish_row(c, NULL, 0, true);
    c->emitted = true;
    return true;
}

/* The partition prefix of a data key (storage id, token, key components). */
static size_t part_len(const sl_store_cursor *c, sl_slice k, sl_buf *scratch)
{
    sl_rd rd;
    sl_rd_init(&rd, k.ptr, k.len);
    if (sl_rd_skip(&rd, 12)) return 0;
    for (size_t i = 0; i < c->t->npk; i++) {
        scratch->len = 0;
        if (sl__key_get_escaped(&rd, scratch)) return 0;
    }
    return sl_rd_offset(&rd);
}

/* The partition of a table without clustering or non-frozen collections is one key. */
static int point_next(sl_store_cursor *c, const sl_store_row **row)
{
    if (c->started) return 0;
    c->started = true;
    const sl_cql_table *t = c->t;
    sl_buf key = SL_BUF_INIT;
    sl_buf_append(&key, c->part.ptr, c->part.len);
    sl_buf_put_u8(&key, SK_ROWS);
    sl_buf_put_u8(&key, SK_ROW);
    char *e = NULL;
    size_t vlen;
    char *v = rocksdb_get_cf(sl__store_db(c->s), sl__store_ro(c->s), sl__store_cf(c->s),
                             (const char *)key.ptr, key.len, &vlen, &e);
    if (e) {
        SL_ERROR("cql", "read of %s.%s failed: %s", t->keyspace, t->name, e);
        free(e);
        sl_buf_free(&key);
        return SL_ERR_CORRUPT;
    }
    int rc = 0;
    if (v) {
        c->nkv = 0;
        c->raw.len = 0;
        take_kv(c, sl_buf_slice(&key), (sl_slice){(const uint8_t *)v, vlen});
        free(v);
        sl_rd rd;
        sl_rd_init(&rd, c->part.ptr + 12, c->part.len - 12);
        c->pkvals.len = 0;
        for (size_t i = 0; i < t->npk; i++) {
            c->pkoff[i] = c->pkvals.len;
            if (sl__key_get_escaped(&rd, &c->pkvals)) rc = SL_ERR_CORRUPT;
        }
        c->pkoff[t->npk] = c->pkvals.len;
        c->token = (int64_t)sl__token_key((int64_t)sl_get_be64(c->part.ptr + 4));
        c->vals.len = 0;
        reset_row_cells(c, c->cells, c->voff);
        reset_row_cells(c, c->statcells, c->statoff);
        if (!rc && assemble(c, c->part.len + 1, SL_NO_TS, false, &c->vals, c->voff, c->cells)) {
            finish_row(c, NULL, 0, false);
            *row = &c->row;
            rc = 1;
        }
    }
    sl_buf_free(&key);
    return rc;
}

int sl_store_cursor_next(sl_store_cursor *c, const sl_store_row **row)
{
    *row = NULL;
    if (c->point) return point_next(c, row);
    for (;;) {
        if (c->done) return 0;
        if (!c->in_part) {
            sl_slice p;
            if (c->single) {
                if (c->started) {
                    c->done = true;
                    return 0;
                }
                p = sl_buf_slice(&c->part);
            } else {
                if (!c->started) {
                    /* resume: start in the partition of `after` */
                    if (c->after.len) {
                        size_t pl = part_len(c, sl_buf_slice(&c->after), &c->scratch);
                        if (pl) {
                            sl_buf tmp = SL_BUF_INIT;
                            sl_buf_append(&tmp, c->after.ptr, pl);
                            rocksdb_iter_seek(c->it, (const char *)tmp.ptr, tmp.len);
                            sl_buf_free(&tmp);
                        } else {
                            rocksdb_iter_seek_to_first(c->it);
                        }
                    } else {
                        rocksdb_iter_seek_to_first(c->it);
                    }
                }
                if (!rocksdb_iter_valid(c->it)) {
                    c->done = true;
                    char *e = NULL;
                    rocksdb_iter_get_error(c->it, &e);
                    if (e) {
                        SL_ERROR("cql", "scan of %s.%s failed: %s", c->t->keyspace, c->t->name, e);
                        free(e);
                        return SL_ERR_CORRUPT;
                    }
                    return 0;
                }
                sl_slice k = it_key(c->it);
                size_t pl = part_len(c, k, &c->scratch);
                if (!pl) {
                    SL_WARN("cql", "undecodable key in table %s.%s skipped", c->t->keyspace,
                            c->t->name);
                    rocksdb_iter_next(c->it);
                    c->started = true;
                    continue;
                }
                sl_buf_reset(&c->pos);
                sl_buf_append(&c->pos, k.ptr, pl);
                p = sl_buf_slice(&c->pos);
            }
            c->started = true;
            sl_buf pcopy = SL_BUF_INIT;
            sl_buf_append(&pcopy, p.ptr, p.len);
            int rc = load_partition(c, sl_buf_slice(&pcopy));
            sl_buf_free(&pcopy);
            if (rc) return rc;
            seek_rows(c);
        }
        int rc = next_in_partition(c);
        if (rc) {
            if (rc == 1) *row = &c->row;
            return rc;
        }
        c->in_part = false;
        bool st = static_only_row(c);
        if (!c->single) {
            /* on to the next partition */
            sl_buf n = SL_BUF_INIT;
            sl_buf_append(&n, c->part.ptr, c->part.len);
            sl__key_successor(&n);
            rocksdb_iter_seek(c->it, (const char *)n.ptr, n.len);
            sl_buf_free(&n);
        } else {
            c->done = true;
        }
        if (st) {
            *row = &c->row;
            return 1;
        }
    }
}

static int cursor_open(sl_store *s, const sl_cql_table *t, const sl_store_read *rd, sl_slice part,
                       int cap_col, sl_store_cursor **out)
{
    sl_store_cursor *c = sl_calloc(1, sizeof(*c));
    c->s = s;
    c->t = sl_cql_table_keep(t);
    c->single = rd->pk != NULL || part.len;
    c->reverse = c->single && rd->reverse;
    c->now_s = rd->now_s;
    c->cap_col = cap_col;
    bool ulo, uhi;
    sl__bound_encode(t, &rd->start, false, &c->lo, &ulo);
    sl__bound_encode(t, &rd->end, true, &c->hi, &uhi);
    c->has_lo = !ulo;
    c->has_hi = !uhi;
    c->bounded = c->has_lo || c->has_hi;
    if (rd->after.len) sl_buf_append(&c->after, rd->after.ptr, rd->after.len);
    c->nids = t->next_column_id;
    c->col_of_id = sl_malloc((c->nids ? c->nids : 1) * sizeof(*c->col_of_id));
    for (size_t i = 0; i < c->nids; i++)
        c->col_of_id[i] = -1;
    for (size_t i = 0; i < t->ncolumns; i++)
        if (t->columns[i].id < c->nids) c->col_of_id[t->columns[i].id] = (int16_t)i;
    size_t n = t->ncolumns ? t->ncolumns : 1;
    c->cells = sl_calloc(n, sizeof(*c->cells));
    c->voff = sl_calloc(n, sizeof(*c->voff));
    c->statcells = sl_calloc(n, sizeof(*c->statcells));
    c->statoff = sl_calloc(n, sizeof(*c->statoff));
    c->pkoff = sl_calloc(t->npk + 1, sizeof(*c->pkoff));
    sl__row_init(&c->r);

    if (c->single) {
        if (part.len)
            sl_buf_append(&c->part, part.ptr, part.len);
        else
            sl__key_partition(&c->part, t->storage_id, sl_cql_token(rd->pk, t->npk), rd->pk,
                              t->npk);
        sl_buf_append(&c->lower, c->part.ptr, c->part.len);
        sl_buf_append(&c->upper, c->part.ptr, c->part.len);
        sl__key_successor(&c->upper);
    } else {
        sl_buf_put_be32(&c->lower, t->storage_id);
        sl_buf_put_be64(&c->lower, sl__token_key(rd->token_min));
        if (rd->token_max == INT64_MAX) {
            sl_buf_put_be32(&c->upper, t->storage_id);
            if (!sl__key_successor(&c->upper)) sl_buf_put_u8(&c->upper, 0xff);
        } else {
            sl_buf_put_be32(&c->upper, t->storage_id);
            sl_buf_put_be64(&c->upper, sl__token_key(rd->token_max + 1));
        }
    }
    c->point = c->single && t->nck == 0 && !c->after.len && cap_col < 0;
    for (size_t i = 0; c->point && i < t->ncolumns; i++)
        if (sl_cql_dtype_is_multicell(t->columns[i].type)) c->point = false;
    if (!c->point) {
        c->ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_iterate_lower_bound(c->ro, (const char *)c->lower.ptr,
                                                    c->lower.len);
        rocksdb_readoptions_set_iterate_upper_bound(c->ro, (const char *)c->upper.ptr,
                                                    c->upper.len);
        c->it = rocksdb_create_iterator_cf(sl__store_db(s), c->ro, sl__store_cf(s));
    }
    if (rd->token_min > rd->token_max && !c->single) c->done = true;
    *out = c;
    return 0;
}

int sl_store_cursor_open(sl_store *s, const sl_cql_table *t, const sl_store_read *rd,
                         sl_store_cursor **out)
{
    *out = NULL;
    if (t->is_system) return SL_ERR_INVAL;
    sl__store_flush(s);
    return cursor_open(s, t, rd, SL_SLICE_NULL, -1, out);
}

void sl_store_cursor_close(sl_store_cursor *c)
{
    if (!c) return;
    if (c->it) rocksdb_iter_destroy(c->it);
    if (c->ro) rocksdb_readoptions_destroy(c->ro);
    sl_cql_table_release(c->t);
    sl_buf_free(&c->lower);
    sl_buf_free(&c->upper);
    sl_buf_free(&c->lo);
    sl_buf_free(&c->hi);
    sl_buf_free(&c->after);
    sl_buf_free(&c->part);
    sl_buf_free(&c->rtbuf);
    sl_buf_free(&c->pkvals);
    sl_buf_free(&c->statvals);
    sl_buf_free(&c->raw);
    sl_buf_free(&c->vals);
    sl_buf_free(&c->pos);
    sl_buf_free(&c->scratch);
    sl_buf_free(&c->cap);
    sl__row_free(&c->r);
    sl_free(c->rts);
    sl_free(c->kvs);
    sl_free(c->col_of_id);
    sl_free(c->cells);
    sl_free(c->voff);
    sl_free(c->statcells);
    sl_free(c->statoff);
    sl_free(c->pkoff);
    sl_free(c);
}

int sl__store_list_read(sl_store *s, const sl_cql_table *t, sl_slice part, sl_slice crel,
                        const sl_cql_column *col, int32_t now_s, sl_buf *out)
{
    sl_store_read rd = {0};
    rd.now_s = now_s;
    sl_store_cursor *c;
    sl__store_flush(s);
    int rc = cursor_open(s, t, &rd, part, col->id, &c);
    if (rc) return rc;
    /* Only the row itself (a static list is captured while the partition header loads). A
     * table without clustering columns has one row with an empty clustering part, which has no
     * successor to bound it with: read it unbounded. */
    if (crel.len) {
        c->lo.len = 0;
        sl_buf_append(&c->lo, crel.ptr, crel.len);
        c->hi.len = 0;
        sl_buf_append(&c->hi, crel.ptr, crel.len);
        sl__key_successor(&c->hi);
        c->has_lo = c->has_hi = c->bounded = true;
    }
    const sl_store_row *row;
    rc = sl_store_cursor_next(c, &row);
    if (rc >= 0) sl_buf_append(out, c->cap.ptr, c->cap.len);
    sl_store_cursor_close(c);
    return rc < 0 ? rc : 0;
}
