/* storage_key.c: the storage formats of storage_int.h: cells, rows, their reconciliation (the
 * merge operator), and the order-preserving key encoding of CQL values. */
#include "cql/storage_int.h"
#include "cql/types_int.h"

#include <stdlib.h>

/* ---- cells ---- */

/* Cells and rows are encoded by size first, then written in place: every INSERT encodes a row
 * of a dozen cells, and merges re-encode rows. */
static size_t cell_size(uint8_t flags, size_t vlen)
{
    size_t n = 9;
    if (flags & CELL_EXPIRING)
        n += 8;
    else if (flags & CELL_TOMBSTONE)
        n += 4;
    return (flags & CELL_TOMBSTONE) ? n : n + vlen;
}

static uint8_t *cell_write(uint8_t *p, uint8_t flags, int64_t ts, int32_t ttl, int32_t ldt,
                           sl_slice v)
{
    *p++ = flags;
    sl_put_be64(p, (uint64_t)ts);
    p += 8;
    if (flags & CELL_EXPIRING) {
        sl_put_be32(p, (uint32_t)ttl);
        sl_put_be32(p + 4, (uint32_t)ldt);
        p += 8;
    } else if (flags & CELL_TOMBSTONE) {
        sl_put_be32(p, (uint32_t)ldt);
        p += 4;
    }
    if (!(flags & CELL_TOMBSTONE) && v.len) {
        memcpy(p, v.ptr, v.len);
        p += v.len;
    }
    return p;
}

void sl__cell_put(sl_buf *out, uint8_t flags, int64_t ts, int32_t ttl, int32_t ldt, sl_slice v)
{
    cell_write(sl_buf_extend(out, cell_size(flags, v.len)), flags, ts, ttl, ldt, v);
}

int sl__cell_get(sl_slice in, sk_cell *c)
{
    sl_rd r;
    sl_rd_init(&r, in.ptr, in.len);
    uint64_t ts;
    if (sl_rd_u8(&r, &c->flags) || (c->flags & ROW_TAG) || sl_rd_be64(&r, &ts))
        return SL_ERR_CORRUPT;
    c->ts = (int64_t)ts;
    c->ttl = 0;
    c->ldt = 0;
    if (c->flags & CELL_EXPIRING) {
        if (sl_rd_i32(&r, &c->ttl) || sl_rd_i32(&r, &c->ldt)) return SL_ERR_CORRUPT;
    } else if (c->flags & CELL_TOMBSTONE) {
        if (sl_rd_i32(&r, &c->ldt)) return SL_ERR_CORRUPT;
    }
    c->value = (sl_slice){r.p, sl_rd_left(&r)};
    if (c->flags & CELL_COUNTER && !(c->flags & CELL_TOMBSTONE) && c->value.len != 8)
        return SL_ERR_CORRUPT;
    return 0;
}

static int cmp_unsigned(sl_slice a, sl_slice b)
{
    size_t n = SL_MIN(a.len, b.len);
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

int sl__cell_reconcile(const sk_cell *a, const sk_cell *b, int64_t *sum)
{
    bool at = a->flags & CELL_TOMBSTONE, bt = b->flags & CELL_TOMBSTONE;
    if ((a->flags & CELL_COUNTER) && (b->flags & CELL_COUNTER) && !at && !bt) {
        *sum = (int64_t)((uint64_t)sl_get_be64(a->value.ptr) + sl_get_be64(b->value.ptr));
        return 2;
    }
    if (a->ts != b->ts) return a->ts > b->ts ? 0 : 1;
    bool ad = at || (a->flags & CELL_EXPIRING), bd = bt || (b->flags & CELL_EXPIRING);
    if (ad || bd) {
        if (ad != bd) return ad ? 0 : 1;
        if (at != bt) return at ? 0 : 1;
        if (a->ldt != b->ldt) return a->ldt > b->ldt ? 0 : 1;
    }
    return cmp_unsigned(a->value, b->value) >= 0 ? 0 : 1;
}

/* ---- rows ---- */

void sl__row_init(sk_row *r)
{
    memset(r, 0, sizeof(*r));
}

void sl__row_free(sk_row *r)
{
    sl_free(r->col);
    sl_free(r->cells);
    sl__row_init(r);
}

static void row_reserve(sk_row *r, size_t n)
{
    if (n <= r->cap) return;
    r->cap = SL_MAX(n, r->cap * 2);
    r->col = sl_realloc(r->col, r->cap * sizeof(*r->col));
    r->cells = sl_realloc(r->cells, r->cap * sizeof(*r->cells));
}

int sl__row_decode(sl_slice in, sk_row *r)
{
    sl_rd rd;
    uint8_t flags;
    sl_rd_init(&rd, in.ptr, in.len);
    r->ncells = 0;
    if (sl_rd_u8(&rd, &flags) || !(flags & ROW_TAG)) return SL_ERR_CORRUPT;
    r->has_marker = flags & ROW_HAS_MARKER;
    r->has_del = flags & ROW_HAS_DEL;
    if (r->has_marker) {
        uint32_t n;
        sl_slice m;
        if (sl_rd_be32(&rd, &n) || sl_rd_bytes(&rd, n, &m) || sl__cell_get(m, &r->marker))
            return SL_ERR_CORRUPT;
    }
    if (r->has_del) {
        uint64_t ts;
        if (sl_rd_be64(&rd, &ts) || sl_rd_i32(&rd, &r->del_ldt)) return SL_ERR_CORRUPT;
        r->del_ts = (int64_t)ts;
    }
    uint16_t n;
    if (sl_rd_be16(&rd, &n)) return SL_ERR_CORRUPT;
    row_reserve(r, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t len;
        sl_slice c;
        if (sl_rd_be16(&rd, &r->col[i]) || sl_rd_be32(&rd, &len) || sl_rd_bytes(&rd, len, &c) ||
            sl__cell_get(c, &r->cells[i]))
            return SL_ERR_CORRUPT;
        if (i && r->col[i] <= r->col[i - 1]) return SL_ERR_CORRUPT;
    }
    r->ncells = n;
    return sl_rd_left(&rd) ? SL_ERR_CORRUPT : 0;
}

static uint8_t *cell_write_framed(uint8_t *p, const sk_cell *c)
{
    sl_put_be32(p, (uint32_t)cell_size(c->flags, c->value.len));
    return cell_write(p + 4, c->flags, c->ts, c->ttl, c->ldt, c->value);
}

void sl__row_encode(const sk_row *r, sl_buf *out)
{
    size_t n = 1 + 2 + (r->has_del ? 12 : 0);
    if (r->has_marker) n += 4 + cell_size(r->marker.flags, r->marker.value.len);
    for (size_t i = 0; i < r->ncells; i++)
        n += 2 + 4 + cell_size(r->cells[i].flags, r->cells[i].value.len);
    uint8_t *p = sl_buf_extend(out, n);
    *p++ =
        (uint8_t)(ROW_TAG | (r->has_marker ? ROW_HAS_MARKER : 0) | (r->has_del ? ROW_HAS_DEL : 0));
    if (r->has_marker) p = cell_write_framed(p, &r->marker);
    if (r->has_del) {
        sl_put_be64(p, (uint64_t)r->del_ts);
        sl_put_be32(p + 8, (uint32_t)r->del_ldt);
        p += 12;
    }
    sl_put_be16(p, (uint16_t)r->ncells);
    p += 2;
    for (size_t i = 0; i < r->ncells; i++) {
        sl_put_be16(p, r->col[i]);
        p = cell_write_framed(p + 2, &r->cells[i]);
    }
}

/* Reconciles two cells into *out; a summed counter's bytes go to scratch (8 bytes reserved by
 * the caller so they do not move). */
static void merge_cell(sk_cell *out, const sk_cell *a, const sk_cell *b, uint8_t *sumbuf)
{
    int64_t sum;
    int w = sl__cell_reconcile(a, b, &sum);
    if (w == 2) {
        *out = *a;
        out->ts = SL_MAX(a->ts, b->ts);
        sl_put_be64(sumbuf, (uint64_t)sum);
        out->value = (sl_slice){sumbuf, 8};
        return;
    }
    *out = w == 0 ? *a : *b;
}

void sl__row_merge(sk_row *a, const sk_row *b, sl_buf *scratch)
{
    if (b->has_marker) {
        if (!a->has_marker) {
            a->marker = b->marker;
            a->has_marker = true;
        } else {
            int64_t unused;
            if (sl__cell_reconcile(&a->marker, &b->marker, &unused) == 1) a->marker = b->marker;
        }
    }
    if (b->has_del && (!a->has_del || b->del_ts > a->del_ts ||
                       (b->del_ts == a->del_ts && b->del_ldt > a->del_ldt))) {
        a->del_ts = b->del_ts;
        a->del_ldt = b->del_ldt;
        a->has_del = true;
    }
    /* Counter sums need stable bytes: reserve them all before taking pointers. */
    size_t need = 8 * (a->ncells + b->ncells);
    scratch->len = 0;
    sl_buf_reserve(scratch, need);
    uint8_t *sums = scratch->ptr;
    size_t nsum = 0;
    size_t n = a->ncells + b->ncells;
    uint16_t *col = sl_malloc((n ? n : 1) * sizeof(*col));
    sk_cell *cells = sl_malloc((n ? n : 1) * sizeof(*cells));
    size_t i = 0, j = 0, k = 0;
    while (i < a->ncells || j < b->ncells) {
        if (j == b->ncells || (i < a->ncells && a->col[i] < b->col[j])) {
            col[k] = a->col[i];
            cells[k++] = a->cells[i++];
        } else if (i == a->ncells || b->col[j] < a->col[i]) {
            col[k] = b->col[j];
            cells[k++] = b->cells[j++];
        } else {
            col[k] = a->col[i];
            merge_cell(&cells[k++], &a->cells[i++], &b->cells[j++], sums + 8 * nsum++);
        }
    }
    sl_free(a->col);
    sl_free(a->cells);
    a->col = col;
    a->cells = cells;
    a->ncells = k;
    a->cap = n ? n : 1;
}

/* ---- merge operator ---- */

static char *dup_out(const sl_buf *b, size_t *outlen)
{
    char *p = malloc(b->len ? b->len : 1);
    if (!p) abort();
    if (b->len) memcpy(p, b->ptr, b->len);
    *outlen = b->len;
    return p;
}

/* Folds operands (in write order) into one value with the same reconciliation as reads. */
static char *merge_values(const char *existing, size_t elen, const char *const *ops,
                          const size_t *oplens, int nops, unsigned char *ok, size_t *outlen)
{
    sl_slice first = existing ? (sl_slice){(const uint8_t *)existing, elen}
                              : (sl_slice){(const uint8_t *)ops[0], oplens[0]};
    int start = existing ? 0 : 1;
    sl_buf out = SL_BUF_INIT;
    *ok = 1;
    if (first.len && (first.ptr[0] & ROW_TAG)) {
        sk_row acc, b;
        sl__row_init(&acc);
        sl__row_init(&b);
        /* Merged rows borrow from the operands and from earlier sums: re-encode after each
         * step so nothing dangles. */
        sl_buf cur = SL_BUF_INIT, scratch = SL_BUF_INIT;
        sl_buf_append(&cur, first.ptr, first.len);
        for (int i = start; i < nops; i++) {
            sl_slice op = {(const uint8_t *)ops[i], oplens[i]};
            if (sl__row_decode(sl_buf_slice(&cur), &acc) || sl__row_decode(op, &b)) {
                /* An undecodable operand: keep the last good state rather than fail reads. */
                continue;
            }
            sl__row_merge(&acc, &b, &scratch);
            out.len = 0;
            sl__row_encode(&acc, &out);
            sl_buf_move(&cur, &out);
        }
        sl__row_free(&acc);
        sl__row_free(&b);
        sl_buf_free(&scratch);
        char *p = dup_out(&cur, outlen);
        sl_buf_free(&cur);
        return p;
    }
    sk_cell acc, c;
    uint8_t sum[8];
    if (sl__cell_get(first, &acc)) {
        *ok = 0;
        return NULL;
    }
    for (int i = start; i < nops; i++) {
        if (sl__cell_get((sl_slice){(const uint8_t *)ops[i], oplens[i]}, &c)) continue;
        sk_cell m;
        uint8_t nsum[8];
        merge_cell(&m, &acc, &c, nsum);
        if (m.value.ptr == nsum) {
            memcpy(sum, nsum, 8);
            m.value.ptr = sum;
        }
        acc = m;
    }
    sl__cell_put(&out, acc.flags, acc.ts, acc.ttl, acc.ldt, acc.value);
    char *p = dup_out(&out, outlen);
    sl_buf_free(&out);
    return p;
}

char *sl__merge_full(void *st, const char *key, size_t klen, const char *existing, size_t elen,
                     const char *const *ops, const size_t *oplens, int nops, unsigned char *ok,
                     size_t *outlen)
{
    if (nops == 0 && existing) {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append(&b, existing, elen);
        *ok = 1;
        char *p = dup_out(&b, outlen);
        sl_buf_free(&b);
        return p;
    }
    return merge_values(existing, elen, ops, oplens, nops, ok, outlen);
}

char *sl__merge_partial(void *st, const char *key, size_t klen, const char *const *ops,
                        const size_t *oplens, int nops, unsigned char *ok, size_t *outlen)
{
    /* Reconciliation is associative, so operands fold the same way as a full merge. */
    return merge_values(NULL, 0, ops, oplens, nops, ok, outlen);
}

/* ---- keys ---- */

void sl__key_put_escaped(sl_buf *out, sl_slice v)
{
    for (size_t i = 0; i < v.len; i++) {
        sl_buf_put_u8(out, v.ptr[i]);
        if (v.ptr[i] == 0) sl_buf_put_u8(out, 0xff);
    }
    sl_buf_put_u8(out, 0x00);
    sl_buf_put_u8(out, 0x01);
}

/* Reads escaped bytes, un-inverting with x. */
static int get_escaped_x(sl_rd *r, uint8_t x, sl_buf *out)
{
    for (;;) {
        uint8_t c;
        if (sl_rd_u8(r, &c)) return SL_ERR_CORRUPT;
        c ^= x;
        if (c != 0) {
            sl_buf_put_u8(out, c);
            continue;
        }
        if (sl_rd_u8(r, &c)) return SL_ERR_CORRUPT;
        c ^= x;
        if (c == 0x01) return 0;
        if (c != 0xff) return SL_ERR_CORRUPT;
        sl_buf_put_u8(out, 0);
    }
}

int sl__key_get_escaped(sl_rd *r, sl_buf *out)
{
    return get_escaped_x(r, 0, out);
}

void sl__key_partition(sl_buf *out, uint32_t storage_id, int64_t token, const sl_slice *pk,
                       size_t npk)
{
    sl_buf_put_be32(out, storage_id);
    sl_buf_put_be64(out, sl__token_key(token));
    for (size_t i = 0; i < npk; i++)
        sl__key_put_escaped(out, pk[i]);
}

bool sl__key_successor(sl_buf *k)
{
    while (k->len && k->ptr[k->len - 1] == 0xff)
        k->len--;
    if (!k->len) return false;
    k->ptr[k->len - 1]++;
    return true;
}

enum { KV_NULL = 0x00, KV_EMPTY = 0x01, KV_VALUE = 0x02 };
enum { KC_END = 0x01, KC_MORE = 0x02 };

static uint64_t timeuuid_ts(const uint8_t *b)
{
    return (uint64_t)(b[6] & 0x0f) << 56 | (uint64_t)b[7] << 48 | (uint64_t)b[4] << 40 |
           (uint64_t)b[5] << 32 | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
           (uint64_t)b[2] << 8 | b[3];
}

static void uuid_from_ts(uint64_t ts, uint8_t version, uint8_t *u)
{
    sl_put_be32(u, (uint32_t)ts);
    sl_put_be16(u + 4, (uint16_t)(ts >> 32));
    sl_put_be16(u + 6, (uint16_t)(((ts >> 48) & 0x0fff) | (uint16_t)version << 12));
}

static void put_flip(sl_buf *out, const uint8_t *p, size_t n)
{
    uint8_t *d = sl_buf_extend(out, n);
    memcpy(d, p, n);
    d[0] ^= 0x80;
}

static void key_put(sl_buf *out, const sl_cql_dtype *t, sl_slice v, int depth)
{
    if (!v.ptr) {
        sl_buf_put_u8(out, KV_NULL);
        return;
    }
    int fixed = sl_cql_dtype_fixed_size(t);
    if (v.len == 0 || (fixed > 0 && v.len != (size_t)fixed) || depth > SL_CQL_TYPE_MAX_DEPTH) {
        /* Empty values, and (defensively) malformed ones as raw bytes after the empty marker
         * would be ambiguous: values are validated before they get here. */
        sl_buf_put_u8(out, KV_EMPTY);
        return;
    }
    sl_buf_put_u8(out, KV_VALUE);
    switch (t->kind) {
    case SL_CQL_BOOLEAN: sl_buf_put_u8(out, v.ptr[0] ? 1 : 0); return;
    case SL_CQL_TINYINT:
    case SL_CQL_SMALLINT:
    case SL_CQL_INT:
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
    case SL_CQL_TIMESTAMP:
    case SL_CQL_TIME: put_flip(out, v.ptr, v.len); return;
    case SL_CQL_DATE: sl_buf_append(out, v.ptr, 4); return;
    case SL_CQL_FLOAT: {
        uint32_t x = sl_get_be32(v.ptr);
        x = (x & 0x80000000u) ? ~x : x | 0x80000000u;
        sl_buf_put_be32(out, x);
        return;
    }
    case SL_CQL_DOUBLE: {
        uint64_t x = sl_get_be64(v.ptr);
        x = (x & 0x8000000000000000ULL) ? ~x : x | 0x8000000000000000ULL;
        sl_buf_put_be64(out, x);
        return;
    }
    case SL_CQL_UUID: {
        uint8_t ver = v.ptr[6] >> 4;
        sl_buf_put_u8(out, ver);
        if (ver == 1) {
            sl_buf_put_be64(out, timeuuid_ts(v.ptr));
            sl_buf_append(out, v.ptr + 8, 8);
        } else {
            sl_buf_append(out, v.ptr, 16);
        }
        return;
    }
    case SL_CQL_TIMEUUID: {
        sl_buf_put_u8(out, v.ptr[6] >> 4);
        sl_buf_put_be64(out, timeuuid_ts(v.ptr));
        uint8_t *d = sl_buf_extend(out, 8);
        for (int i = 0; i < 8; i++)
            d[i] = v.ptr[8 + i] ^ 0x80;
        return;
    }
    case SL_CQL_VARINT: {
        bool neg = v.ptr[0] & 0x80;
        /* magnitude, minimal big-endian */
        size_t n = v.len;
        uint8_t *mag = sl_malloc(n);
        memcpy(mag, v.ptr, n);
        if (neg) {
            unsigned carry = 1;
            for (size_t i = n; i-- > 0;) {
                unsigned x = (uint8_t)~mag[i] + carry;
                mag[i] = (uint8_t)x;
                carry = x >> 8;
            }
        }
        size_t s = 0;
        while (s < n && mag[s] == 0)
            s++;
        uint8_t x = neg ? 0xff : 0x00;
        sl_buf_put_u8(out, neg ? 0x00 : 0x01);
        sl_buf_put_be32(out, (uint32_t)(n - s) ^ (neg ? 0xffffffffu : 0));
        uint8_t *d = sl_buf_extend(out, n - s);
        for (size_t i = s; i < n; i++)
            d[i - s] = mag[i] ^ x;
        sl_free(mag);
        return;
    }
    case SL_CQL_DECIMAL: {
        bool neg;
        int64_t exp;
        sl_buf digits = SL_BUF_INIT;
        sl__cql_decimal_norm(v, &neg, &digits, &exp);
        if (digits.len == 0) {
            sl_buf_put_u8(out, 0x01);
        } else {
            sl_buf_put_u8(out, neg ? 0x00 : 0x02);
            uint8_t x = neg ? 0xff : 0x00;
            uint8_t e[8];
            sl_put_be64(e, sl__token_key(exp));
            for (int i = 0; i < 8; i++)
                sl_buf_put_u8(out, e[i] ^ x);
            for (size_t i = 0; i < digits.len; i++)
                sl_buf_put_u8(out, (uint8_t)(digits.ptr[i] - '0' + 1) ^ x);
            sl_buf_put_u8(out, x);
        }
        sl_buf_append(out, v.ptr, 4); /* the scale, to give back the value as written */
        sl_buf_free(&digits);
        return;
    }
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
    case SL_CQL_UDT: {
        sl_cql_iter it;
        sl_slice e;
        size_t i = 0;
        if (sl_cql_iter_init(&it, t, v) < 0) {
            sl_buf_put_u8(out, KC_END);
            return;
        }
        while (sl_cql_iter_next(&it, &e) == 1) {
            const sl_cql_dtype *et;
            if (t->kind == SL_CQL_MAP)
                et = t->sub[i & 1];
            else if (t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT)
                et = t->sub[SL_MIN(i, (size_t)t->nsub - 1)];
            else
                et = t->sub[0];
            if (t->kind != SL_CQL_MAP || (i & 1) == 0) sl_buf_put_u8(out, KC_MORE);
            key_put(out, et, e, depth + 1);
            i++;
        }
        sl_buf_put_u8(out, KC_END);
        return;
    }
    default: sl__key_put_escaped(out, v); return;
    }
}

void sl__key_put(sl_buf *out, const sl_cql_dtype *t, sl_slice v, bool desc)
{
    size_t start = out->len;
    key_put(out, t, v, 0);
    if (desc)
        for (size_t i = start; i < out->len; i++)
            out->ptr[i] = (uint8_t)~out->ptr[i];
}

typedef struct kr {
    sl_rd *r;
    uint8_t x;
} kr;

static int kr_u8(kr *k, uint8_t *v)
{
    if (sl_rd_u8(k->r, v)) return SL_ERR_CORRUPT;
    *v ^= k->x;
    return 0;
}

static int kr_bytes(kr *k, size_t n, uint8_t *out)
{
    sl_slice s;
    if (sl_rd_bytes(k->r, n, &s)) return SL_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++)
        out[i] = s.ptr[i] ^ k->x;
    return 0;
}

static int key_get(kr *k, const sl_cql_dtype *t, sl_buf *out, bool *is_null, int depth)
{
    uint8_t h, b[17];
    *is_null = false;
    if (depth > SL_CQL_TYPE_MAX_DEPTH || kr_u8(k, &h)) return SL_ERR_CORRUPT;
    if (h == KV_NULL) {
        *is_null = true;
        return 0;
    }
    if (h == KV_EMPTY) return 0;
    if (h != KV_VALUE) return SL_ERR_CORRUPT;
    switch (t->kind) {
    case SL_CQL_BOOLEAN:
        if (kr_u8(k, b)) return SL_ERR_CORRUPT;
        sl_buf_put_u8(out, b[0]);
        return 0;
    case SL_CQL_TINYINT:
    case SL_CQL_SMALLINT:
    case SL_CQL_INT:
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
    case SL_CQL_TIMESTAMP:
    case SL_CQL_TIME: {
        size_t n = (size_t)sl_cql_dtype_fixed_size(t);
        if (kr_bytes(k, n, b)) return SL_ERR_CORRUPT;
        b[0] ^= 0x80;
        sl_buf_append(out, b, n);
        return 0;
    }
    case SL_CQL_DATE:
        if (kr_bytes(k, 4, b)) return SL_ERR_CORRUPT;
        sl_buf_append(out, b, 4);
        return 0;
    case SL_CQL_FLOAT: {
        if (kr_bytes(k, 4, b)) return SL_ERR_CORRUPT;
        uint32_t x = sl_get_be32(b);
        x = (x & 0x80000000u) ? x & 0x7fffffffu : ~x;
        sl_buf_put_be32(out, x);
        return 0;
    }
    case SL_CQL_DOUBLE: {
        if (kr_bytes(k, 8, b)) return SL_ERR_CORRUPT;
        uint64_t x = sl_get_be64(b);
        x = (x & 0x8000000000000000ULL) ? x & 0x7fffffffffffffffULL : ~x;
        sl_buf_put_be64(out, x);
        return 0;
    }
    case SL_CQL_UUID:
    case SL_CQL_TIMEUUID: {
        uint8_t u[16];
        if (kr_bytes(k, 17, b)) return SL_ERR_CORRUPT;
        if (b[0] == 1) {
            uuid_from_ts(sl_get_be64(b + 1), 1, u);
            memcpy(u + 8, b + 9, 8);
            if (t->kind == SL_CQL_TIMEUUID)
                for (int i = 8; i < 16; i++)
                    u[i] ^= 0x80;
        } else if (t->kind == SL_CQL_UUID) {
            memcpy(u, b + 1, 16);
        } else {
            return SL_ERR_CORRUPT;
        }
        sl_buf_append(out, u, 16);
        return 0;
    }
    case SL_CQL_VARINT: {
        uint8_t sign;
        uint8_t lb[4];
        if (kr_u8(k, &sign) || kr_bytes(k, 4, lb)) return SL_ERR_CORRUPT;
        bool neg = sign == 0x00;
        uint32_t n = sl_get_be32(lb) ^ (neg ? 0xffffffffu : 0);
        if (n > sl_rd_left(k->r)) return SL_ERR_CORRUPT;
        uint8_t *m = sl_malloc(n + 1);
        m[0] = 0;
        if (kr_bytes(k, n, m + 1)) {
            sl_free(m);
            return SL_ERR_CORRUPT;
        }
        if (neg) {
            for (uint32_t i = 1; i <= n; i++)
                m[i] = (uint8_t)~m[i];
            unsigned carry = 1;
            for (uint32_t i = n + 1; i-- > 0;) {
                unsigned x = (uint8_t)~m[i] + carry;
                m[i] = (uint8_t)x;
                carry = x >> 8;
            }
        }
        size_t s = 0;
        while (s < n &&
               ((m[s] == 0x00 && !(m[s + 1] & 0x80)) || (m[s] == 0xff && (m[s + 1] & 0x80))))
            s++;
        sl_buf_append(out, m + s, n + 1 - s);
        sl_free(m);
        return 0;
    }
    case SL_CQL_DECIMAL: {
        uint8_t sign;
        sl_buf digits = SL_BUF_INIT;
        int64_t exp = 0;
        if (kr_u8(k, &sign)) return SL_ERR_CORRUPT;
        if (sign != 0x01) {
            uint8_t x = sign == 0x00 ? 0xff : 0x00;
            if (kr_bytes(k, 8, b)) return SL_ERR_CORRUPT;
            for (int i = 0; i < 8; i++)
                b[i] ^= x;
            exp = (int64_t)sl__token_key((int64_t)sl_get_be64(b));
            if (sign == 0x00) sl_buf_put_u8(&digits, '-');
            for (;;) {
                uint8_t d;
                if (kr_u8(k, &d)) goto bad_dec;
                d ^= x;
                if (d == 0) break;
                if (d < 1 || d > 10) goto bad_dec;
                sl_buf_put_u8(&digits, (uint8_t)('0' + d - 1));
            }
        }
        if (kr_bytes(k, 4, b)) goto bad_dec;
        int32_t scale = (int32_t)sl_get_be32(b);
        size_t nd = digits.len - (sign == 0x00);
        int64_t zeros = exp - (int64_t)nd + scale;
        if (sign == 0x01) {
            sl_buf_put_u8(&digits, '0');
        } else {
            if (zeros < 0 || zeros > 100000) goto bad_dec;
            for (int64_t i = 0; i < zeros; i++)
                sl_buf_put_u8(&digits, '0');
        }
        sl_buf_append(out, b, 4);
        if (sl__cql_varint_from_digits((const char *)digits.ptr, digits.len, out)) goto bad_dec;
        sl_buf_free(&digits);
        return 0;
    bad_dec:
        sl_buf_free(&digits);
        return SL_ERR_CORRUPT;
    }
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
    case SL_CQL_UDT: {
        bool tuple = t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT;
        size_t count_at = out->len;
        if (!tuple) sl_buf_put_be32(out, 0);
        uint32_t count = 0;
        size_t i = 0;
        for (;;) {
            uint8_t m;
            if (kr_u8(k, &m)) return SL_ERR_CORRUPT;
            if (m == KC_END) break;
            if (m != KC_MORE) return SL_ERR_CORRUPT;
            size_t per = t->kind == SL_CQL_MAP ? 2 : 1;
            for (size_t p = 0; p < per; p++, i++) {
                const sl_cql_dtype *et;
                if (t->kind == SL_CQL_MAP)
                    et = t->sub[i & 1];
                else if (tuple) {
                    if (i >= t->nsub) return SL_ERR_CORRUPT;
                    et = t->sub[i];
                } else
                    et = t->sub[0];
                size_t len_at = out->len;
                bool nul;
                sl_buf_put_be32(out, 0);
                int rc = key_get(k, et, out, &nul, depth + 1);
                if (rc) return rc;
                if (nul && !tuple) return SL_ERR_CORRUPT;
                sl_put_be32(out->ptr + len_at,
                            nul ? 0xffffffffu : (uint32_t)(out->len - len_at - 4));
            }
            count++;
        }
        if (!tuple) sl_put_be32(out->ptr + count_at, count);
        return 0;
    }
    default: return get_escaped_x(k->r, k->x, out);
    }
}

int sl__key_get(sl_rd *r, const sl_cql_dtype *t, bool desc, sl_buf *out, bool *is_null)
{
    kr k = {r, desc ? 0xff : 0x00};
    return key_get(&k, t, out, is_null, 0);
}
