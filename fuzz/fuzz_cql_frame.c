/* fuzz_cql_frame.c: a byte stream -> CQL v4 frames -> decompressed bodies -> decoded messages,
 * the path every request takes in the store before it reaches the engine (and every response
 * in a client). Any input must decode or fail cleanly; every slice a decoder returns must lie
 * inside the body it came from. */
#include "fuzz.h"

#include "cql/frame.h"

#include <string.h>

#define MAX_BODY (1u << 20)

static const uint8_t *body_lo, *body_hi;

static void check(sl_slice s)
{
    if (s.len && (s.ptr < body_lo || s.ptr + s.len > body_hi)) __builtin_trap();
}

static void check_values(const sl_cql_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != SL_CQL_VALUE && v[i].bytes.ptr) __builtin_trap();
        check(v[i].bytes);
    }
}

static void decode_body(const sl_cql_header *h, sl_rd *r, sl_arena *a)
{
    sl_cql_string_map m;
    sl_cql_string_multimap mm;
    sl_cql_string_list l;
    sl_cql_value v;
    sl_cql_query q;
    sl_cql_batch_req b;
    sl_slice s;
    int32_t i32;
    if ((h->flags & SL_CQL_FLAG_CUSTOM_PAYLOAD)) {
        sl_cql_bytes_map bm;
        if (sl_cql_rd_bytes_map(r, a, &bm)) return;
        for (size_t i = 0; i < bm.n; i++)
            check(bm.keys[i]);
        check_values(bm.values, bm.n);
    }
    switch (h->opcode) {
    case SL_CQL_OP_STARTUP:
        if (sl_cql_rd_string_map(r, a, &m) == 0) {
            for (size_t i = 0; i < m.n; i++) {
                check(m.keys[i]);
                check(m.values[i]);
            }
            sl_cql_compression c;
            if (sl_cql_string_map_get(&m, "COMPRESSION", &s)) sl_cql_compression_parse(s, &c);
        }
        break;
    case SL_CQL_OP_AUTH_RESPONSE:
    case SL_CQL_OP_AUTH_CHALLENGE:
    case SL_CQL_OP_AUTH_SUCCESS:
        if (sl_cql_rd_bytes(r, &v) == 0) check_values(&v, 1);
        break;
    case SL_CQL_OP_REGISTER:
        if (sl_cql_rd_string_list(r, a, &l) == 0)
            for (size_t i = 0; i < l.n; i++)
                check(l.items[i]);
        break;
    case SL_CQL_OP_QUERY:
    case SL_CQL_OP_EXECUTE:
        memset(&q, 0, sizeof q);
        if ((h->opcode == SL_CQL_OP_QUERY ? sl_cql_decode_query(r, a, &q)
                                          : sl_cql_decode_execute(r, a, &q)) == 0) {
            check(q.text);
            check(q.id);
            check(q.paging_state);
            check_values(q.values, q.n_values);
            for (size_t i = 0; q.names && i < q.n_values; i++)
                check(q.names[i]);
        }
        break;
    case SL_CQL_OP_PREPARE:
        if (sl_cql_decode_prepare(r, &s) == 0) check(s);
        break;
    case SL_CQL_OP_BATCH:
        if (sl_cql_decode_batch(r, a, &b) == 0) {
            for (size_t i = 0; i < b.n_stmts; i++) {
                const sl_cql_batch_stmt *st = &b.stmts[i];
                if (!!st->text.ptr == !!st->id.ptr && (st->text.len || st->id.len))
                    __builtin_trap();
                check(st->text);
                check(st->id);
                check_values(st->values, st->n_values);
            }
        }
        break;
    case SL_CQL_OP_SUPPORTED:
        if (sl_cql_rd_string_multimap(r, a, &mm) == 0)
            for (size_t i = 0; i < mm.n; i++)
                for (size_t j = 0; j < mm.values[i].n; j++)
                    check(mm.values[i].items[j]);
        break;
    case SL_CQL_OP_ERROR:
    case SL_CQL_OP_AUTHENTICATE:
    case SL_CQL_OP_EVENT:
        if (h->opcode == SL_CQL_OP_ERROR && sl_cql_rd_int(r, &i32)) break;
        if (sl_cql_rd_string(r, &s) == 0) check(s);
        break;
    case SL_CQL_OP_RESULT: {
        uint16_t id;
        sl_cql_inet in;
        if (sl_cql_rd_int(r, &i32) || sl_cql_rd_option_id(r, &id, &s)) break;
        check(s);
        sl_cql_rd_inet(r, &in);
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_arena a;
    sl_arena_init(&a, 4096);
    sl_buf z = SL_BUF_INIT;
    size_t off = 0;
    while (off < size) {
        ssize_t fl = sl_cql_frame_len(data + off, size - off);
        sl_cql_header h;
        if (fl == SL_CQL_HEADER_LEN && data[off] == SL_CQL_VERSION_RESP) {
            /* A response, as a client decodes it. */
            sl_cql_header_read(data + off, &h);
            if (h.length > size - off - SL_CQL_HEADER_LEN) break;
            fl = (ssize_t)(SL_CQL_HEADER_LEN + h.length);
        } else if (fl == SL_AGAIN || fl < 0) {
            break;
        } else if (data[off] != SL_CQL_VERSION) {
            /* Another version: the server reads only the stream id, then refuses and closes. */
            if (fl != 4 && fl != SL_CQL_HEADER_LEN) __builtin_trap();
            sl_cql_header_stream(data + off, (size_t)fl);
            break;
        } else {
            if ((size_t)fl > size - off) break;
            sl_cql_header_read(data + off, &h);
            if (h.version != SL_CQL_VERSION || SL_CQL_HEADER_LEN + (size_t)h.length != (size_t)fl)
                __builtin_trap();
        }
        sl_cql_opcode_name(h.opcode);
        sl_slice body = {data + off + SL_CQL_HEADER_LEN, h.length};
        if (h.flags & SL_CQL_FLAG_COMPRESSION) {
            /* Both algorithms, chosen by the stream id's low bit. */
            sl_cql_compression c =
                (h.stream & 1) ? SL_CQL_COMPRESSION_SNAPPY : SL_CQL_COMPRESSION_LZ4;
            sl_buf_reset(&z);
            int rc = sl_cql_decompress(c, body, MAX_BODY, &z);
            if (rc == 0) {
                if (z.len > MAX_BODY) __builtin_trap();
                body = sl_buf_slice(&z);
            } else if (z.len != 0) {
                __builtin_trap();
            }
        }
        body_lo = body.ptr;
        body_hi = body.len ? body.ptr + body.len : body.ptr; /* an empty body may have no pointer */
        sl_rd r;
        sl_rd_init(&r, body.ptr, body.len);
        decode_body(&h, &r, &a);
        if (sl_rd_offset(&r) > body.len) __builtin_trap();
        sl_arena_reset(&a);
        off += (size_t)fl;
    }
    sl_buf_free(&z);
    sl_arena_free(&a);
    return 0;
}
