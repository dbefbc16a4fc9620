/* frame.c: CQL v4 frame header, notation types, request bodies and body compression.
 *
 * Every read goes through sl_rd, which latches its first failure; decoders check a count
 * against the bytes left (each element needs at least its length fields) before allocating
 * the array for it, so a hostile count costs nothing. */
#include "cql/frame.h"

#include <lz4.h>
#include <snappy-c.h>
#include <stdio.h>
#include <strings.h>

ssize_t sl_cql_frame_len(const uint8_t *p, size_t avail)
{
    if (avail == 0) return SL_AGAIN;
    /* Any other version is refused at once, as Cassandra does before the header is whole (v1/v2
     * headers are shorter): the first 4 bytes carry the stream id to answer on. A v4 header with
     * the response bit is refused whole, so the answer can name its opcode. */
    if (p[0] == (SL_CQL_VERSION | 0x80))
        return avail < SL_CQL_HEADER_LEN ? SL_AGAIN : SL_CQL_HEADER_LEN;
    if (p[0] != SL_CQL_VERSION) return avail < 4 ? SL_AGAIN : 4;
    if (avail < SL_CQL_HEADER_LEN) return SL_AGAIN;
    uint32_t len = sl_get_be32(p + 5);
    if (len > INT32_MAX) return SL_ERR_PARSE;
    return (ssize_t)SL_CQL_HEADER_LEN + (ssize_t)len;
}

void sl_cql_header_read(const uint8_t *p, sl_cql_header *h)
{
    h->version = p[0];
    h->flags = p[1];
    h->stream = (int16_t)sl_get_be16(p + 2);
    h->opcode = p[4];
    h->length = sl_get_be32(p + 5);
}

int16_t sl_cql_header_stream(const uint8_t *p, size_t avail)
{
    int version = avail > 0 ? (p[0] & 0x7f) : 0;
    if (version >= 1 && version <= 2) return avail >= 3 ? (int16_t)(int8_t)p[2] : 0;
    return avail >= 4 ? (int16_t)sl_get_be16(p + 2) : 0;
}

static const char *const opcode_names[SL_CQL_OP_MAX + 1] = {
    [SL_CQL_OP_ERROR] = "ERROR",
    [SL_CQL_OP_STARTUP] = "STARTUP",
    [SL_CQL_OP_READY] = "READY",
    [SL_CQL_OP_AUTHENTICATE] = "AUTHENTICATE",
    [SL_CQL_OP_OPTIONS] = "OPTIONS",
    [SL_CQL_OP_SUPPORTED] = "SUPPORTED",
    [SL_CQL_OP_QUERY] = "QUERY",
    [SL_CQL_OP_RESULT] = "RESULT",
    [SL_CQL_OP_PREPARE] = "PREPARE",
    [SL_CQL_OP_EXECUTE] = "EXECUTE",
    [SL_CQL_OP_REGISTER] = "REGISTER",
    [SL_CQL_OP_EVENT] = "EVENT",
    [SL_CQL_OP_BATCH] = "BATCH",
    [SL_CQL_OP_AUTH_CHALLENGE] = "AUTH_CHALLENGE",
    [SL_CQL_OP_AUTH_RESPONSE] = "AUTH_RESPONSE",
    [SL_CQL_OP_AUTH_SUCCESS] = "AUTH_SUCCESS",
};

const char *sl_cql_opcode_name(uint8_t opcode)
{
    return opcode <= SL_CQL_OP_MAX ? opcode_names[opcode] : NULL;
}

static const char *const consistency_names[] = {
    "ANY",          "ONE",         "TWO",    "THREE",        "QUORUM",    "ALL",
    "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE",
};

const char *sl_cql_consistency_name(uint16_t cl)
{
    return cl < SL_ARRAY_LEN(consistency_names) ? consistency_names[cl] : NULL;
}

size_t sl_cql_frame_begin(sl_buf *b, uint8_t flags, int16_t stream, uint8_t opcode)
{
    size_t off = b->len;
    uint8_t *h = sl_buf_extend(b, SL_CQL_HEADER_LEN);
    h[0] = SL_CQL_VERSION_RESP;
    h[1] = flags;
    sl_put_be16(h + 2, (uint16_t)stream);
    h[4] = opcode;
    sl_put_be32(h + 5, 0);
    return off;
}

void sl_cql_frame_finish(sl_buf *b, size_t hdr_off)
{
    size_t body = b->len - hdr_off - SL_CQL_HEADER_LEN;
    sl_put_be32(b->ptr + hdr_off + 5, (uint32_t)body);
}

/* The longest prefix of s (at most max bytes) that does not split a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t n = max;
    while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void sl_cql_put_error_frame(sl_buf *b, int16_t stream, sl_cql_errcode code, const char *msg)
{
    size_t off = sl_cql_frame_begin(b, 0, stream, SL_CQL_OP_ERROR);
    sl_cql_put_int(b, (int32_t)code);
    sl_cql_put_string(b, msg, utf8_prefix(msg, strlen(msg), UINT16_MAX));
    sl_cql_frame_finish(b, off);
}

int sl_cql_rd_int(sl_rd *r, int32_t *v)
{
    return sl_rd_i32(r, v);
}

int sl_cql_rd_long(sl_rd *r, int64_t *v)
{
    return sl_rd_i64(r, v);
}

int sl_cql_rd_short(sl_rd *r, uint16_t *v)
{
    return sl_rd_be16(r, v);
}

int sl_cql_rd_byte(sl_rd *r, uint8_t *v)
{
    return sl_rd_u8(r, v);
}

int sl_cql_rd_string(sl_rd *r, sl_slice *s)
{
    uint16_t n;
    if (sl_rd_be16(r, &n)) return SL_ERR_PARSE;
    return sl_rd_bytes(r, n, s);
}

int sl_cql_rd_long_string(sl_rd *r, sl_slice *s)
{
    int32_t n;
    if (sl_rd_i32(r, &n)) return SL_ERR_PARSE;
    if (n < 0) return sl_rd_fail(r);
    return sl_rd_bytes(r, (size_t)n, s);
}

int sl_cql_rd_uuid(sl_rd *r, sl_slice *s)
{
    return sl_rd_bytes(r, 16, s);
}

int sl_cql_rd_bytes(sl_rd *r, sl_cql_value *v)
{
    int32_t n;
    if (sl_rd_i32(r, &n)) return SL_ERR_PARSE;
    if (n < 0) {
        *v = (sl_cql_value){SL_SLICE_NULL, SL_CQL_NULL};
        return 0;
    }
    v->kind = SL_CQL_VALUE;
    return sl_rd_bytes(r, (size_t)n, &v->bytes);
}

int sl_cql_rd_value(sl_rd *r, sl_cql_value *v)
{
    int32_t n;
    if (sl_rd_i32(r, &n)) return SL_ERR_PARSE;
    if (n == -1 || n == -2) {
        *v = (sl_cql_value){SL_SLICE_NULL, n == -1 ? SL_CQL_NULL : SL_CQL_UNSET};
        return 0;
    }
    if (n < 0) return sl_rd_fail(r);
    v->kind = SL_CQL_VALUE;
    return sl_rd_bytes(r, (size_t)n, &v->bytes);
}

int sl_cql_rd_short_bytes(sl_rd *r, sl_slice *s)
{
    return sl_cql_rd_string(r, s);
}

int sl_cql_rd_inet(sl_rd *r, sl_cql_inet *in)
{
    uint8_t n;
    sl_slice a;
    if (sl_rd_u8(r, &n)) return SL_ERR_PARSE;
    if (n != 4 && n != 16) return sl_rd_fail(r);
    if (sl_rd_bytes(r, n, &a) || sl_rd_i32(r, &in->port)) return SL_ERR_PARSE;
    memset(in->addr, 0, sizeof in->addr);
    memcpy(in->addr, a.ptr, n);
    in->len = n;
    return 0;
}

int sl_cql_rd_option_id(sl_rd *r, uint16_t *id, sl_slice *custom)
{
    *custom = SL_SLICE_NULL;
    if (sl_rd_be16(r, id)) return SL_ERR_PARSE;
    if (*id == 0) return sl_cql_rd_string(r, custom);
    return 0;
}

/* Reads a [short] count of elements that take at least min_each bytes, refusing a count the
 * remaining bytes cannot hold. */
static int rd_count(sl_rd *r, size_t min_each, uint16_t *n)
{
    if (sl_rd_be16(r, n)) return SL_ERR_PARSE;
    if ((size_t)*n * min_each > sl_rd_left(r)) return sl_rd_fail(r);
    return 0;
}

/* Arena arrays; zero elements give NULL so callers never index an empty allocation. */
static void *arena_array(sl_arena *a, size_t n, size_t size)
{
    if (n == 0) return NULL;
    void *p = sl_arena_alloc(a, n * size);
    memset(p, 0, n * size);
    return p;
}

int sl_cql_rd_string_list(sl_rd *r, sl_arena *a, sl_cql_string_list *out)
{
    uint16_t n;
    out->n = 0;
    out->items = NULL;
    if (rd_count(r, 2, &n)) return SL_ERR_PARSE;
    sl_slice *items = arena_array(a, n, sizeof *items);
    for (size_t i = 0; i < n; i++)
        if (sl_cql_rd_string(r, &items[i])) return SL_ERR_PARSE;
    out->n = n;
    out->items = items;
    return 0;
}

int sl_cql_rd_string_map(sl_rd *r, sl_arena *a, sl_cql_string_map *out)
{
    uint16_t n;
    out->n = 0;
    out->keys = out->values = NULL;
    if (rd_count(r, 4, &n)) return SL_ERR_PARSE;
    sl_slice *keys = arena_array(a, n, sizeof *keys);
    sl_slice *values = arena_array(a, n, sizeof *values);
    for (size_t i = 0; i < n; i++)
        if (sl_cql_rd_string(r, &keys[i]) || sl_cql_rd_string(r, &values[i])) return SL_ERR_PARSE;
    out->n = n;
    out->keys = keys;
    out->values = values;
    return 0;
}

int sl_cql_rd_string_multimap(sl_rd *r, sl_arena *a, sl_cql_string_multimap *out)
{
    uint16_t n;
    out->n = 0;
    out->keys = NULL;
    out->values = NULL;
    if (rd_count(r, 4, &n)) return SL_ERR_PARSE;
    sl_slice *keys = arena_array(a, n, sizeof *keys);
    sl_cql_string_list *values = arena_array(a, n, sizeof *values);
    for (size_t i = 0; i < n; i++)
        if (sl_cql_rd_string(r, &keys[i]) || sl_cql_rd_string_list(r, a, &values[i]))
            return SL_ERR_PARSE;
    out->n = n;
    out->keys = keys;
    out->values = values;
    return 0;
}

int sl_cql_rd_bytes_map(sl_rd *r, sl_arena *a, sl_cql_bytes_map *out)
{
    uint16_t n;
    out->n = 0;
    out->keys = NULL;
    out->values = NULL;
    if (rd_count(r, 6, &n)) return SL_ERR_PARSE;
    sl_slice *keys = arena_array(a, n, sizeof *keys);
    sl_cql_value *values = arena_array(a, n, sizeof *values);
    for (size_t i = 0; i < n; i++)
        if (sl_cql_rd_string(r, &keys[i]) || sl_cql_rd_bytes(r, &values[i])) return SL_ERR_PARSE;
    out->n = n;
    out->keys = keys;
    out->values = values;
    return 0;
}

bool sl_cql_string_map_get(const sl_cql_string_map *m, const char *key, sl_slice *value)
{
    for (size_t i = 0; i < m->n; i++) {
        if (sl_slice_eq_str(m->keys[i], key)) {
            *value = m->values[i];
            return true;
        }
    }
    return false;
}

static void put_len16(sl_buf *b, size_t len)
{
    if (len > UINT16_MAX) {
        fprintf(stderr, "sluice: cql: a [string] or [short bytes] of %zu bytes\n", len);
        abort();
    }
    sl_buf_put_be16(b, (uint16_t)len);
}

static void put_len32(sl_buf *b, size_t len)
{
    if (len > INT32_MAX) {
        fprintf(stderr, "sluice: cql: a [long string] or [bytes] of %zu bytes\n", len);
        abort();
    }
    sl_buf_put_be32(b, (uint32_t)len);
}

void sl_cql_put_string(sl_buf *b, const void *s, size_t len)
{
    put_len16(b, len);
    if (len) sl_buf_append(b, s, len);
}

void sl_cql_put_cstring(sl_buf *b, const char *s)
{
    sl_cql_put_string(b, s, strlen(s));
}

void sl_cql_put_long_string(sl_buf *b, const void *s, size_t len)
{
    put_len32(b, len);
    if (len) sl_buf_append(b, s, len);
}

void sl_cql_put_uuid(sl_buf *b, const uint8_t uuid[16])
{
    sl_buf_append(b, uuid, 16);
}

void sl_cql_put_value(sl_buf *b, const sl_cql_value *v)
{
    switch (v->kind) {
    case SL_CQL_NULL: sl_cql_put_int(b, -1); return;
    case SL_CQL_UNSET: sl_cql_put_int(b, -2); return;
    case SL_CQL_VALUE: break;
    }
    put_len32(b, v->bytes.len);
    if (v->bytes.len) sl_buf_append(b, v->bytes.ptr, v->bytes.len);
}

void sl_cql_put_bytes(sl_buf *b, const void *p, size_t n)
{
    if (p == NULL) {
        sl_cql_put_int(b, -1);
        return;
    }
    put_len32(b, n);
    if (n) sl_buf_append(b, p, n);
}

void sl_cql_put_short_bytes(sl_buf *b, const void *p, size_t n)
{
    sl_cql_put_string(b, p, n);
}

void sl_cql_put_inet(sl_buf *b, const sl_cql_inet *in)
{
    sl_buf_put_u8(b, in->len);
    sl_buf_append(b, in->addr, in->len);
    sl_cql_put_int(b, in->port);
}

void sl_cql_put_string_list(sl_buf *b, const char *const *items, size_t n)
{
    put_len16(b, n);
    for (size_t i = 0; i < n; i++)
        sl_cql_put_cstring(b, items[i]);
}

void sl_cql_put_string_map(sl_buf *b, const char *const *keys, const char *const *values, size_t n)
{
    put_len16(b, n);
    for (size_t i = 0; i < n; i++) {
        sl_cql_put_cstring(b, keys[i]);
        sl_cql_put_cstring(b, values[i]);
    }
}

void sl_cql_put_string_multimap(sl_buf *b, const char *const *keys, const size_t *counts,
                                const char *const *values, size_t n)
{
    put_len16(b, n);
    for (size_t i = 0; i < n; i++) {
        sl_cql_put_cstring(b, keys[i]);
        sl_cql_put_string_list(b, values, counts[i]);
        values += counts[i];
    }
}

void sl_cql_put_bytes_map(sl_buf *b, const char *const *keys, const sl_slice *values, size_t n)
{
    put_len16(b, n);
    for (size_t i = 0; i < n; i++) {
        sl_cql_put_cstring(b, keys[i]);
        sl_cql_put_bytes(b, values[i].ptr, values[i].len);
    }
}

/* n [value]s, each preceded by a [string] name when named. Each takes at least 4 bytes (6
 * with a name), which bounds n before the arrays are allocated. */
static int rd_values(sl_rd *r, sl_arena *a, bool named, size_t *nout, const sl_cql_value **vout,
                     const sl_slice **nmout)
{
    uint16_t n;
    if (rd_count(r, named ? 6 : 4, &n)) return SL_ERR_PARSE;
    sl_cql_value *values = arena_array(a, n, sizeof *values);
    sl_slice *names = named ? arena_array(a, n, sizeof *names) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (named && sl_cql_rd_string(r, &names[i])) return SL_ERR_PARSE;
        if (sl_cql_rd_value(r, &values[i])) return SL_ERR_PARSE;
    }
    *nout = n;
    *vout = values;
    *nmout = names;
    return 0;
}

int sl_cql_decode_query_params(sl_rd *r, sl_arena *a, sl_cql_query *q)
{
    sl_slice text = q->text, id = q->id;
    uint8_t flags;
    memset(q, 0, sizeof *q);
    q->text = text;
    q->id = id;
    q->page_size = -1;
    if (sl_rd_be16(r, &q->consistency) || sl_rd_u8(r, &flags)) return SL_ERR_PARSE;
    if (flags & SL_CQL_QF_VALUES) {
        bool named = flags & SL_CQL_QF_NAMES_FOR_VALUES;
        if (rd_values(r, a, named, &q->n_values, &q->values, &q->names)) return SL_ERR_PARSE;
    }
    q->skip_metadata = flags & SL_CQL_QF_SKIP_METADATA;
    if (flags & SL_CQL_QF_PAGE_SIZE) {
        if (sl_rd_i32(r, &q->page_size)) return SL_ERR_PARSE;
    }
    if (flags & SL_CQL_QF_PAGING_STATE) {
        sl_cql_value ps;
        if (sl_cql_rd_bytes(r, &ps)) return SL_ERR_PARSE;
        if (ps.kind == SL_CQL_VALUE) q->paging_state = ps.bytes;
    }
    if (flags & SL_CQL_QF_SERIAL_CONSISTENCY) {
        if (sl_rd_be16(r, &q->serial_consistency)) return SL_ERR_PARSE;
    }
    if (flags & SL_CQL_QF_DEFAULT_TIMESTAMP) {
        if (sl_rd_i64(r, &q->timestamp)) return SL_ERR_PARSE;
        q->has_timestamp = true;
    }
    return 0;
}

int sl_cql_decode_query(sl_rd *r, sl_arena *a, sl_cql_query *q)
{
    q->id = SL_SLICE_NULL;
    if (sl_cql_rd_long_string(r, &q->text)) return SL_ERR_PARSE;
    return sl_cql_decode_query_params(r, a, q);
}

int sl_cql_decode_prepare(sl_rd *r, sl_slice *query)
{
    return sl_cql_rd_long_string(r, query);
}

int sl_cql_decode_execute(sl_rd *r, sl_arena *a, sl_cql_query *q)
{
    q->text = SL_SLICE_NULL;
    if (sl_cql_rd_short_bytes(r, &q->id)) return SL_ERR_PARSE;
    return sl_cql_decode_query_params(r, a, q);
}

int sl_cql_decode_batch(sl_rd *r, sl_arena *a, sl_cql_batch_req *b)
{
    uint8_t type, flags;
    uint16_t n;
    memset(b, 0, sizeof *b);
    if (sl_rd_u8(r, &type)) return SL_ERR_PARSE;
    if (type > SL_CQL_BATCH_COUNTER) return sl_rd_fail(r);
    b->type = (sl_cql_batch_type)type;
    /* kind(1) + the shortest string_or_id (2) + value count (2) */
    if (rd_count(r, 5, &n)) return SL_ERR_PARSE;
    sl_cql_batch_stmt *stmts = arena_array(a, n, sizeof *stmts);
    for (size_t i = 0; i < n; i++) {
        sl_cql_batch_stmt *s = &stmts[i];
        uint8_t kind;
        if (sl_rd_u8(r, &kind)) return SL_ERR_PARSE;
        if (kind == 0) {
            if (sl_cql_rd_long_string(r, &s->text)) return SL_ERR_PARSE;
        } else if (kind == 1) {
            if (sl_cql_rd_short_bytes(r, &s->id)) return SL_ERR_PARSE;
        } else {
            return sl_rd_fail(r);
        }
        if (rd_values(r, a, false, &s->n_values, &s->values, &s->names)) return SL_ERR_PARSE;
    }
    if (sl_rd_be16(r, &b->consistency) || sl_rd_u8(r, &flags)) return SL_ERR_PARSE;
    /* The low four flags make no sense for a batch, and names for values cannot be decoded:
     * they are announced after the values they would precede (CASSANDRA-10246). */
    if (flags & (0x0F | SL_CQL_QF_NAMES_FOR_VALUES)) return sl_rd_fail(r);
    if (flags & SL_CQL_QF_SERIAL_CONSISTENCY) {
        if (sl_rd_be16(r, &b->serial_consistency)) return SL_ERR_PARSE;
    }
    if (flags & SL_CQL_QF_DEFAULT_TIMESTAMP) {
        if (sl_rd_i64(r, &b->timestamp)) return SL_ERR_PARSE;
        b->has_timestamp = true;
    }
    b->n_stmts = n;
    b->stmts = stmts;
    return 0;
}

int sl_cql_compression_parse(sl_slice name, sl_cql_compression *out)
{
    if (name.len == 3 && strncasecmp((const char *)name.ptr, "lz4", 3) == 0) {
        *out = SL_CQL_COMPRESSION_LZ4;
        return 0;
    }
    if (name.len == 6 && strncasecmp((const char *)name.ptr, "snappy", 6) == 0) {
        *out = SL_CQL_COMPRESSION_SNAPPY;
        return 0;
    }
    return SL_ERR_NOTFOUND;
}

const char *sl_cql_compression_name(sl_cql_compression c)
{
    switch (c) {
    case SL_CQL_COMPRESSION_LZ4: return "lz4";
    case SL_CQL_COMPRESSION_SNAPPY: return "snappy";
    case SL_CQL_COMPRESSION_NONE: break;
    }
    return "none";
}

void sl_cql_compress(sl_cql_compression c, sl_slice in, sl_buf *out)
{
    switch (c) {
    case SL_CQL_COMPRESSION_NONE: sl_buf_append(out, in.ptr, in.len); return;
    case SL_CQL_COMPRESSION_LZ4: {
        if (in.len > (size_t)LZ4_MAX_INPUT_SIZE) {
            fprintf(stderr, "sluice: cql: lz4 input of %zu bytes\n", in.len);
            abort();
        }
        int bound = LZ4_compressBound((int)in.len);
        size_t start = out->len;
        sl_buf_reserve(out, 4 + (size_t)bound);
        sl_put_be32(out->ptr + start, (uint32_t)in.len);
        int n = LZ4_compress_default((const char *)in.ptr, (char *)out->ptr + start + 4,
                                     (int)in.len, bound);
        if (n <= 0) {
            fprintf(stderr, "sluice: cql: LZ4_compress_default failed\n");
            abort();
        }
        out->len = start + 4 + (size_t)n;
        return;
    }
    case SL_CQL_COMPRESSION_SNAPPY: {
        size_t bound = snappy_max_compressed_length(in.len);
        sl_buf_reserve(out, bound);
        size_t n = bound;
        if (snappy_compress((const char *)in.ptr, in.len, (char *)out->ptr + out->len, &n) !=
            SNAPPY_OK) {
            fprintf(stderr, "sluice: cql: snappy_compress failed\n");
            abort();
        }
        out->len += n;
        return;
    }
    }
}

int sl_cql_decompress(sl_cql_compression c, sl_slice in, size_t max, sl_buf *out)
{
    switch (c) {
    case SL_CQL_COMPRESSION_NONE:
        if (in.len > max) return SL_ERR_TOOBIG;
        sl_buf_append(out, in.ptr, in.len);
        return 0;
    case SL_CQL_COMPRESSION_LZ4: {
        if (in.len < 4) return SL_ERR_PARSE;
        uint32_t len = sl_get_be32(in.ptr);
        if (len > max) return SL_ERR_TOOBIG;
        if (len > (uint32_t)INT32_MAX || in.len - 4 > (size_t)INT32_MAX) return SL_ERR_PARSE;
        if (len == 0) {
            /* An empty input compresses to the single token byte 0x00. */
            return in.len == 5 && in.ptr[4] == 0 ? 0 : SL_ERR_PARSE;
        }
        /* lz4 expands at most 255:1, so a declared length beyond that is a lie; refusing it
         * keeps a tiny frame from reserving a huge buffer. */
        if ((uint64_t)len > (uint64_t)(in.len - 4) * 255 + 16) return SL_ERR_PARSE;
        sl_buf_reserve(out, len);
        int n = LZ4_decompress_safe((const char *)in.ptr + 4, (char *)out->ptr + out->len,
                                    (int)(in.len - 4), (int)len);
        if (n < 0 || (uint32_t)n != len) return SL_ERR_PARSE;
        out->len += len;
        return 0;
    }
    case SL_CQL_COMPRESSION_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)in.ptr, in.len, &len) != SNAPPY_OK)
            return SL_ERR_PARSE;
        if (len > max) return SL_ERR_TOOBIG;
        /* snappy's best ratio is about 21:1 (a 64 KiB copy per 3-byte tag). */
        if ((uint64_t)len > (uint64_t)in.len * 32 + 16) return SL_ERR_PARSE;
        if (snappy_validate_compressed_buffer((const char *)in.ptr, in.len) != SNAPPY_OK)
            return SL_ERR_PARSE;
        sl_buf_reserve(out, len ? len : 1);
        size_t n = len;
        if (snappy_uncompress((const char *)in.ptr, in.len, (char *)out->ptr + out->len, &n) !=
                SNAPPY_OK ||
            n != len)
            return SL_ERR_PARSE;
        out->len += len;
        return 0;
    }
    }
    return SL_ERR_PARSE;
}

void sl_cql_frame_compress(sl_buf *b, size_t hdr_off, sl_cql_compression c)
{
    size_t body_off = hdr_off + SL_CQL_HEADER_LEN;
    size_t body_len = b->len - body_off;
    if (c == SL_CQL_COMPRESSION_NONE || body_len == 0) return;
    sl_buf z = SL_BUF_INIT;
    sl_cql_compress(c, (sl_slice){b->ptr + body_off, body_len}, &z);
    b->len = body_off;
    sl_buf_append(b, z.ptr, z.len);
    sl_buf_free(&z);
    b->ptr[hdr_off + 1] |= SL_CQL_FLAG_COMPRESSION;
    sl_cql_frame_finish(b, hdr_off);
}
