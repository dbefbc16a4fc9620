/* test_frame.c: the CQL v4 frame codec: header and frame_len edge cases, every notation type
 * written then read back, lengths and counts that lie, the request bodies with each flag, and
 * lz4 / snappy body compression round trips and corrupt inputs. */
#include "cql/frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static sl_arena arena;

static int setup(void **state)
{
    (void)state;
    sl_arena_init(&arena, 4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_arena_free(&arena);
    return 0;
}

static void hdr(uint8_t *p, uint8_t version, uint8_t flags, int16_t stream, uint8_t op,
                uint32_t len)
{
    p[0] = version;
    p[1] = flags;
    sl_put_be16(p + 2, (uint16_t)stream);
    p[4] = op;
    sl_put_be32(p + 5, len);
}

static void test_frame_len(void **state)
{
    (void)state;
    uint8_t h[9];
    hdr(h, 4, 0, 7, SL_CQL_OP_OPTIONS, 0);
    assert_int_equal(sl_cql_frame_len(h, 0), SL_AGAIN);
    for (size_t n = 1; n < 9; n++)
        assert_int_equal(sl_cql_frame_len(h, n), SL_AGAIN);
    assert_int_equal(sl_cql_frame_len(h, 9), 9);
    hdr(h, 4, 0, 7, SL_CQL_OP_QUERY, 1000);
    assert_int_equal(sl_cql_frame_len(h, 9), 1009);
    hdr(h, 4, 0, 7, SL_CQL_OP_QUERY, 0x7fffffff);
    assert_int_equal(sl_cql_frame_len(h, 9), 9 + (ssize_t)0x7fffffff);
    /* A negative length. */
    hdr(h, 4, 0, 7, SL_CQL_OP_QUERY, 0x80000000u);
    assert_int_equal(sl_cql_frame_len(h, 9), SL_ERR_PARSE);
    /* Other versions and the response bit are delivered as 4-byte frames once the stream id
     * is in, whatever length their header claims, for the handler to refuse. */
    static const uint8_t bad[] = {0x03, 0x05, 0x42, 0x41, 0x85, 0x01, 0x00, 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        hdr(h, bad[i], 0, 7, SL_CQL_OP_OPTIONS, 0x80000000u);
        assert_int_equal(sl_cql_frame_len(h, 3), SL_AGAIN);
        assert_int_equal(sl_cql_frame_len(h, 4), 4);
        assert_int_equal(sl_cql_frame_len(h, 9), 4);
    }
    hdr(h, 0x84, 0, 7, SL_CQL_OP_RESULT, 1000);
    assert_int_equal(sl_cql_frame_len(h, 8), SL_AGAIN);
    assert_int_equal(sl_cql_frame_len(h, 9), 9);
}

static void test_header_read_and_stream(void **state)
{
    (void)state;
    uint8_t h[9];
    sl_cql_header hd;
    hdr(h, 4, SL_CQL_FLAG_TRACING | SL_CQL_FLAG_COMPRESSION, -2, SL_CQL_OP_BATCH, 77);
    sl_cql_header_read(h, &hd);
    assert_int_equal(hd.version, 4);
    assert_int_equal(hd.flags, 3);
    assert_int_equal(hd.stream, -2);
    assert_int_equal(hd.opcode, SL_CQL_OP_BATCH);
    assert_int_equal(hd.length, 77);
    assert_int_equal(sl_cql_header_stream(h, 9), -2);
    assert_int_equal(sl_cql_header_stream(h, 3), 0);
    hdr(h, 0x42, 0, 300, SL_CQL_OP_OPTIONS, 0);
    assert_int_equal(sl_cql_header_stream(h, 4), 300);
    /* v1/v2 headers carry a one-byte stream at offset 2. */
    const uint8_t v2[] = {0x02, 0x00, 0x05, 0x05, 0, 0, 0, 0};
    assert_int_equal(sl_cql_header_stream(v2, sizeof v2), 5);
    const uint8_t v1[] = {0x01, 0x00, 0xff, 0x05};
    assert_int_equal(sl_cql_header_stream(v1, sizeof v1), -1);
    assert_int_equal(sl_cql_header_stream(v1, 0), 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sl_cql_opcode_name(SL_CQL_OP_AUTH_SUCCESS), "AUTH_SUCCESS");
    assert_string_equal(sl_cql_opcode_name(SL_CQL_OP_QUERY), "QUERY");
    assert_null(sl_cql_opcode_name(0x04));
    assert_null(sl_cql_opcode_name(0x11));
    assert_null(sl_cql_opcode_name(0xff));
    assert_string_equal(sl_cql_consistency_name(SL_CQL_CL_LOCAL_ONE), "LOCAL_ONE");
    assert_string_equal(sl_cql_consistency_name(SL_CQL_CL_ANY), "ANY");
    assert_null(sl_cql_consistency_name(0x0B));
}

static void test_frame_begin_finish_and_error(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_buf_append(&b, "xx", 2); /* frames may follow other bytes in the same buffer */
    size_t off = sl_cql_frame_begin(&b, SL_CQL_FLAG_WARNING, -1, SL_CQL_OP_EVENT);
    assert_int_equal(off, 2);
    sl_cql_put_cstring(&b, "SCHEMA_CHANGE");
    sl_cql_frame_finish(&b, off);
    sl_cql_header h;
    sl_cql_header_read(b.ptr + 2, &h);
    assert_int_equal(h.version, 0x84);
    assert_int_equal(h.flags, SL_CQL_FLAG_WARNING);
    assert_int_equal(h.stream, -1);
    assert_int_equal(h.opcode, SL_CQL_OP_EVENT);
    assert_int_equal(h.length, 15);
    sl_buf_reset(&b);

    sl_cql_put_error_frame(&b, 12, SL_CQL_ERR_PROTOCOL, "bad thing");
    sl_cql_header_read(b.ptr, &h);
    assert_int_equal(h.opcode, SL_CQL_OP_ERROR);
    assert_int_equal(h.stream, 12);
    assert_int_equal(h.length, b.len - 9);
    sl_rd r;
    sl_rd_init(&r, b.ptr + 9, b.len - 9);
    int32_t code;
    sl_slice msg;
    assert_int_equal(sl_cql_rd_int(&r, &code), 0);
    assert_int_equal(code, 0x000A);
    assert_int_equal(sl_cql_rd_string(&r, &msg), 0);
    assert_true(sl_slice_eq_str(msg, "bad thing"));
    sl_buf_reset(&b);

    /* A message too long for a [string] is cut, never inside a UTF-8 sequence. */
    size_t n = 70000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        big[i] = (char)0xC3; /* é */
        big[i + 1] = (char)0xA9;
    }
    big[n] = 0;
    sl_cql_put_error_frame(&b, 0, SL_CQL_ERR_SERVER, big);
    sl_rd_init(&r, b.ptr + 9, b.len - 9);
    assert_int_equal(sl_cql_rd_int(&r, &code), 0);
    assert_int_equal(sl_cql_rd_string(&r, &msg), 0);
    assert_int_equal(msg.len, 65534);
    assert_int_equal(msg.ptr[msg.len - 1], 0xA9);
    free(big);
    sl_buf_free(&b);
}

static void test_scalar_round_trips(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    static const uint8_t uuid[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                                     0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
    sl_cql_put_int(&b, INT32_MIN);
    sl_cql_put_int(&b, -1);
    sl_cql_put_long(&b, INT64_MIN);
    sl_cql_put_long(&b, INT64_MAX);
    sl_cql_put_short(&b, 65535);
    sl_cql_put_byte(&b, 0xfe);
    sl_cql_put_cstring(&b, "héllo");
    sl_cql_put_string(&b, "", 0);
    sl_cql_put_long_string(&b, "SELECT * FROM t", 15);
    sl_cql_put_uuid(&b, uuid);
    sl_cql_put_bytes(&b, "\x00\x01", 2);
    sl_cql_put_bytes(&b, "", 0);
    sl_cql_put_bytes(&b, NULL, 0);
    sl_cql_put_short_bytes(&b, uuid, 16);
    sl_cql_value vs[3] = {{SL_SLICE_STR("v"), SL_CQL_VALUE},
                          {SL_SLICE_NULL, SL_CQL_NULL},
                          {SL_SLICE_NULL, SL_CQL_UNSET}};
    for (int i = 0; i < 3; i++)
        sl_cql_put_value(&b, &vs[i]);
    sl_cql_inet in4 = {.addr = {127, 0, 0, 1}, .len = 4, .port = 9042};
    sl_cql_inet in6 = {.addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, .len = 16, .port = 65535};
    sl_cql_put_inet(&b, &in4);
    sl_cql_put_inet(&b, &in6);

    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    int32_t i32;
    int64_t i64;
    uint16_t u16;
    uint8_t u8;
    sl_slice s;
    sl_cql_value v;
    sl_cql_inet in;
    assert_int_equal(sl_cql_rd_int(&r, &i32), 0);
    assert_int_equal(i32, INT32_MIN);
    assert_int_equal(sl_cql_rd_int(&r, &i32), 0);
    assert_int_equal(i32, -1);
    assert_int_equal(sl_cql_rd_long(&r, &i64), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(sl_cql_rd_long(&r, &i64), 0);
    assert_true(i64 == INT64_MAX);
    assert_int_equal(sl_cql_rd_short(&r, &u16), 0);
    assert_int_equal(u16, 65535);
    assert_int_equal(sl_cql_rd_byte(&r, &u8), 0);
    assert_int_equal(u8, 0xfe);
    assert_int_equal(sl_cql_rd_string(&r, &s), 0);
    assert_true(sl_slice_eq_str(s, "héllo"));
    assert_int_equal(sl_cql_rd_string(&r, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(sl_cql_rd_long_string(&r, &s), 0);
    assert_true(sl_slice_eq_str(s, "SELECT * FROM t"));
    assert_int_equal(sl_cql_rd_uuid(&r, &s), 0);
    assert_memory_equal(s.ptr, uuid, 16);
    assert_int_equal(sl_cql_rd_bytes(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_VALUE);
    assert_int_equal(v.bytes.len, 2);
    assert_memory_equal(v.bytes.ptr, "\x00\x01", 2);
    assert_int_equal(sl_cql_rd_bytes(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_VALUE);
    assert_int_equal(v.bytes.len, 0);
    assert_int_equal(sl_cql_rd_bytes(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_NULL);
    assert_null(v.bytes.ptr);
    assert_int_equal(sl_cql_rd_short_bytes(&r, &s), 0);
    assert_int_equal(s.len, 16);
    assert_int_equal(sl_cql_rd_value(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_VALUE);
    assert_true(sl_slice_eq_str(v.bytes, "v"));
    assert_int_equal(sl_cql_rd_value(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_NULL);
    assert_int_equal(sl_cql_rd_value(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_UNSET);
    assert_int_equal(sl_cql_rd_inet(&r, &in), 0);
    assert_int_equal(in.len, 4);
    assert_memory_equal(in.addr, in4.addr, 4);
    assert_int_equal(in.port, 9042);
    assert_int_equal(sl_cql_rd_inet(&r, &in), 0);
    assert_int_equal(in.len, 16);
    assert_memory_equal(in.addr, in6.addr, 16);
    assert_int_equal(in.port, 65535);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(r.err, 0);
    /* Past the end: an error, latched. */
    assert_int_equal(sl_cql_rd_byte(&r, &u8), SL_ERR_PARSE);
    assert_int_equal(sl_cql_rd_short(&r, &u16), SL_ERR_PARSE);
    sl_buf_free(&b);
}

/* Reading buf as one notation through fn must fail. */
#define ASSERT_BAD(bytes, call)                                                                    \
    do {                                                                                           \
        sl_rd r_;                                                                                  \
        sl_rd_init(&r_, (bytes), sizeof(bytes) - 1);                                               \
        sl_rd *r = &r_;                                                                            \
        assert_int_equal((call), SL_ERR_PARSE);                                                    \
        assert_int_equal(r_.err, SL_ERR_PARSE);                                                    \
    } while (0)

static void test_bad_lengths(void **state)
{
    (void)state;
    sl_slice s;
    sl_cql_value v;
    sl_cql_inet in;
    sl_cql_string_list l;
    sl_cql_string_map m;
    sl_cql_string_multimap mm;
    sl_cql_bytes_map bm;
    ASSERT_BAD("\x00\x05"
               "abcd",
               sl_cql_rd_string(r, &s));
    ASSERT_BAD("\x00", sl_cql_rd_string(r, &s));
    ASSERT_BAD("\xff\xff\xff\xff", sl_cql_rd_long_string(r, &s)); /* negative */
    ASSERT_BAD("\x00\x00\x00\x09"
               "abc",
               sl_cql_rd_long_string(r, &s));
    ASSERT_BAD("\x7f\xff\xff\xff", sl_cql_rd_bytes(r, &v));
    ASSERT_BAD("\xff\xff\xff\xfd", sl_cql_rd_value(r, &v)); /* -3 */
    ASSERT_BAD("\x80\x00\x00\x00", sl_cql_rd_value(r, &v)); /* INT32_MIN */
    ASSERT_BAD("\x00\x02\x01", sl_cql_rd_short_bytes(r, &s));
    ASSERT_BAD("\x05\x01\x02\x03\x04\x05\x00\x00\x00\x01", sl_cql_rd_inet(r, &in));
    ASSERT_BAD("\x04\x01\x02\x03\x04\x00\x00", sl_cql_rd_inet(r, &in));
    ASSERT_BAD("\x0f", sl_cql_rd_uuid(r, &s));
    /* Counts the remaining bytes cannot hold fail before any allocation. */
    ASSERT_BAD("\xff\xff\x00\x00", sl_cql_rd_string_list(r, &arena, &l));
    ASSERT_BAD("\x00\x02\x00\x00", sl_cql_rd_string_list(r, &arena, &l));
    ASSERT_BAD("\x00\x01\x00\x01k", sl_cql_rd_string_map(r, &arena, &m));
    ASSERT_BAD("\x40\x00\x00\x00\x00\x00", sl_cql_rd_string_multimap(r, &arena, &mm));
    ASSERT_BAD("\x00\x01\x00\x01k\x00\x00\x00\x05x", sl_cql_rd_bytes_map(r, &arena, &bm));
    /* A negative [bytes] length is null, any negative, unlike [value]. */
    sl_rd r;
    sl_rd_init(&r, "\xff\xff\xff\xfd", 4);
    assert_int_equal(sl_cql_rd_bytes(&r, &v), 0);
    assert_int_equal(v.kind, SL_CQL_NULL);
}

static void test_collections_round_trip(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    const char *items[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
    const char *keys[] = {"CQL_VERSION", "COMPRESSION"};
    const char *vals[] = {"3.0.0", "lz4"};
    const size_t counts[] = {1, 2};
    const char *mvals[] = {"3.4.5", "lz4", "snappy"};
    const sl_slice bvals[] = {SL_SLICE_STR("\x01\x02"), SL_SLICE_NULL};
    sl_cql_put_string_list(&b, items, 3);
    sl_cql_put_string_list(&b, items, 0);
    sl_cql_put_string_map(&b, keys, vals, 2);
    sl_cql_put_string_multimap(&b, keys, counts, mvals, 2);
    sl_cql_put_bytes_map(&b, keys, bvals, 2);

    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    sl_cql_string_list l;
    sl_cql_string_map m;
    sl_cql_string_multimap mm;
    sl_cql_bytes_map bm;
    sl_slice s;
    assert_int_equal(sl_cql_rd_string_list(&r, &arena, &l), 0);
    assert_int_equal(l.n, 3);
    for (int i = 0; i < 3; i++)
        assert_true(sl_slice_eq_str(l.items[i], items[i]));
    assert_int_equal(sl_cql_rd_string_list(&r, &arena, &l), 0);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
    assert_int_equal(sl_cql_rd_string_map(&r, &arena, &m), 0);
    assert_int_equal(m.n, 2);
    assert_true(sl_cql_string_map_get(&m, "COMPRESSION", &s));
    assert_true(sl_slice_eq_str(s, "lz4"));
    assert_true(sl_cql_string_map_get(&m, "CQL_VERSION", &s));
    assert_true(sl_slice_eq_str(s, "3.0.0"));
    assert_false(sl_cql_string_map_get(&m, "compression", &s));
    assert_int_equal(sl_cql_rd_string_multimap(&r, &arena, &mm), 0);
    assert_int_equal(mm.n, 2);
    assert_true(sl_slice_eq_str(mm.keys[1], "COMPRESSION"));
    assert_int_equal(mm.values[0].n, 1);
    assert_int_equal(mm.values[1].n, 2);
    assert_true(sl_slice_eq_str(mm.values[1].items[1], "snappy"));
    assert_int_equal(sl_cql_rd_bytes_map(&r, &arena, &bm), 0);
    assert_int_equal(bm.n, 2);
    assert_int_equal(bm.values[0].kind, SL_CQL_VALUE);
    assert_int_equal(bm.values[0].bytes.len, 2);
    assert_int_equal(bm.values[1].kind, SL_CQL_NULL);
    assert_int_equal(sl_rd_left(&r), 0);
    sl_buf_free(&b);
}

static void test_option_id(void **state)
{
    (void)state;
    sl_rd r;
    uint16_t id;
    sl_slice custom;
    sl_rd_init(&r, "\x00\x09", 2);
    assert_int_equal(sl_cql_rd_option_id(&r, &id, &custom), 0);
    assert_int_equal(id, 9);
    assert_null(custom.ptr);
    sl_rd_init(&r,
               "\x00\x00\x00\x03"
               "Foo",
               7);
    assert_int_equal(sl_cql_rd_option_id(&r, &id, &custom), 0);
    assert_int_equal(id, 0);
    assert_true(sl_slice_eq_str(custom, "Foo"));
    sl_rd_init(&r,
               "\x00\x00\x00\x09"
               "Foo",
               7);
    assert_int_equal(sl_cql_rd_option_id(&r, &id, &custom), SL_ERR_PARSE);
}

/* Builds QUERY parameters in b. */
static void put_params(sl_buf *b, uint16_t cl, uint8_t flags, int nvalues)
{
    sl_cql_put_short(b, cl);
    sl_cql_put_byte(b, flags);
    if (flags & SL_CQL_QF_VALUES) {
        sl_cql_put_short(b, (uint16_t)nvalues);
        for (int i = 0; i < nvalues; i++) {
            if (flags & SL_CQL_QF_NAMES_FOR_VALUES) sl_cql_put_cstring(b, i ? "b" : "a");
            if (i == 1)
                sl_cql_put_int(b, -1);
            else if (i == 2)
                sl_cql_put_int(b, -2);
            else
                sl_cql_put_bytes(b, "\x00\x00\x00\x2a", 4);
        }
    }
    if (flags & SL_CQL_QF_PAGE_SIZE) sl_cql_put_int(b, 5000);
    if (flags & SL_CQL_QF_PAGING_STATE) sl_cql_put_bytes(b, "PS", 2);
    if (flags & SL_CQL_QF_SERIAL_CONSISTENCY) sl_cql_put_short(b, SL_CQL_CL_LOCAL_SERIAL);
    if (flags & SL_CQL_QF_DEFAULT_TIMESTAMP) sl_cql_put_long(b, 1700000000000000LL);
}

static void test_decode_query_each_flag(void **state)
{
    (void)state;
    for (unsigned flags = 0; flags < 0x80; flags++) {
        sl_buf b = SL_BUF_INIT;
        sl_cql_put_long_string(&b, "SELECT * FROM ks.t WHERE a = ?", 30);
        put_params(&b, SL_CQL_CL_LOCAL_ONE, (uint8_t)flags, 3);
        sl_rd r;
        sl_rd_init(&r, b.ptr, b.len);
        sl_cql_query q;
        assert_int_equal(sl_cql_decode_query(&r, &arena, &q), 0);
        assert_int_equal(sl_rd_left(&r), 0);
        assert_int_equal(q.text.len, 30);
        assert_int_equal(q.id.len, 0);
        assert_int_equal(q.consistency, SL_CQL_CL_LOCAL_ONE);
        if (flags & SL_CQL_QF_VALUES) {
            assert_int_equal(q.n_values, 3);
            assert_int_equal(q.values[0].kind, SL_CQL_VALUE);
            assert_int_equal(q.values[0].bytes.len, 4);
            assert_int_equal(q.values[1].kind, SL_CQL_NULL);
            assert_int_equal(q.values[2].kind, SL_CQL_UNSET);
            if (flags & SL_CQL_QF_NAMES_FOR_VALUES) {
                assert_non_null(q.names);
                assert_true(sl_slice_eq_str(q.names[0], "a"));
                assert_true(sl_slice_eq_str(q.names[2], "b"));
            } else {
                assert_null(q.names);
            }
        } else {
            assert_int_equal(q.n_values, 0);
            assert_null(q.names);
        }
        assert_int_equal(q.skip_metadata, !!(flags & SL_CQL_QF_SKIP_METADATA));
        assert_int_equal(q.page_size, flags & SL_CQL_QF_PAGE_SIZE ? 5000 : -1);
        if (flags & SL_CQL_QF_PAGING_STATE)
            assert_true(sl_slice_eq_str(q.paging_state, "PS"));
        else
            assert_int_equal(q.paging_state.len, 0);
        assert_int_equal(q.serial_consistency,
                         flags & SL_CQL_QF_SERIAL_CONSISTENCY ? SL_CQL_CL_LOCAL_SERIAL : 0);
        assert_int_equal(q.has_timestamp, !!(flags & SL_CQL_QF_DEFAULT_TIMESTAMP));
        if (q.has_timestamp) assert_true(q.timestamp == 1700000000000000LL);
        /* Every proper prefix is truncated. */
        for (size_t n = 0; n < b.len; n++) {
            sl_rd_init(&r, b.ptr, n);
            assert_int_equal(sl_cql_decode_query(&r, &arena, &q), SL_ERR_PARSE);
        }
        sl_buf_free(&b);
        sl_arena_reset(&arena);
    }
}

static void test_decode_query_null_paging_state(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_cql_put_long_string(&b, "x", 1);
    sl_cql_put_short(&b, 1);
    sl_cql_put_byte(&b, SL_CQL_QF_PAGING_STATE);
    sl_cql_put_int(&b, -1);
    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    sl_cql_query q;
    assert_int_equal(sl_cql_decode_query(&r, &arena, &q), 0);
    assert_int_equal(q.paging_state.len, 0);
    /* A value count larger than the body could hold. */
    sl_buf_reset(&b);
    sl_cql_put_long_string(&b, "x", 1);
    sl_cql_put_short(&b, 1);
    sl_cql_put_byte(&b, SL_CQL_QF_VALUES);
    sl_cql_put_short(&b, 60000);
    sl_cql_put_int(&b, -1);
    sl_rd_init(&r, b.ptr, b.len);
    assert_int_equal(sl_cql_decode_query(&r, &arena, &q), SL_ERR_PARSE);
    sl_buf_free(&b);
}

static void test_decode_prepare_execute(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_cql_put_long_string(&b, "INSERT INTO t (a) VALUES (?)", 28);
    sl_rd r;
    sl_slice q;
    sl_rd_init(&r, b.ptr, b.len);
    assert_int_equal(sl_cql_decode_prepare(&r, &q), 0);
    assert_true(sl_slice_eq_str(q, "INSERT INTO t (a) VALUES (?)"));

    sl_buf_reset(&b);
    uint8_t id[16];
    memset(id, 0xab, sizeof id);
    sl_cql_put_short_bytes(&b, id, 16);
    put_params(&b, SL_CQL_CL_QUORUM,
               SL_CQL_QF_VALUES | SL_CQL_QF_SKIP_METADATA | SL_CQL_QF_PAGE_SIZE |
                   SL_CQL_QF_DEFAULT_TIMESTAMP,
               1);
    sl_cql_query eq;
    sl_rd_init(&r, b.ptr, b.len);
    assert_int_equal(sl_cql_decode_execute(&r, &arena, &eq), 0);
    assert_int_equal(eq.id.len, 16);
    assert_memory_equal(eq.id.ptr, id, 16);
    assert_null(eq.text.ptr);
    assert_int_equal(eq.n_values, 1);
    assert_true(eq.skip_metadata);
    assert_int_equal(eq.consistency, SL_CQL_CL_QUORUM);
    sl_buf_free(&b);
}

static void put_batch(sl_buf *b, uint8_t type, uint8_t flags, uint8_t bad_kind)
{
    sl_cql_put_byte(b, type);
    sl_cql_put_short(b, 3);
    sl_cql_put_byte(b, 0);
    sl_cql_put_long_string(b, "INSERT INTO t (a, b) VALUES (?, ?)", 34);
    sl_cql_put_short(b, 2);
    sl_cql_put_bytes(b, "\x00\x00\x00\x01", 4);
    sl_cql_put_int(b, -1);
    sl_cql_put_byte(b, bad_kind ? bad_kind : 1);
    sl_cql_put_short_bytes(b, "0123456789abcdef", 16);
    sl_cql_put_short(b, 1);
    sl_cql_put_int(b, -2);
    sl_cql_put_byte(b, 0);
    sl_cql_put_long_string(b, "DELETE FROM t WHERE a = 1", 25);
    sl_cql_put_short(b, 0);
    sl_cql_put_short(b, SL_CQL_CL_ONE);
    sl_cql_put_byte(b, flags);
    if (flags & SL_CQL_QF_SERIAL_CONSISTENCY) sl_cql_put_short(b, SL_CQL_CL_SERIAL);
    if (flags & SL_CQL_QF_DEFAULT_TIMESTAMP) sl_cql_put_long(b, 42);
}

static void test_decode_batch(void **state)
{
    (void)state;
    static const uint8_t good_flags[] = {0, 0x10, 0x20, 0x30};
    for (size_t f = 0; f < sizeof good_flags; f++) {
        for (uint8_t type = 0; type <= 2; type++) {
            sl_buf b = SL_BUF_INIT;
            put_batch(&b, type, good_flags[f], 0);
            sl_rd r;
            sl_rd_init(&r, b.ptr, b.len);
            sl_cql_batch_req bt;
            assert_int_equal(sl_cql_decode_batch(&r, &arena, &bt), 0);
            assert_int_equal(sl_rd_left(&r), 0);
            assert_int_equal(bt.type, type);
            assert_int_equal(bt.n_stmts, 3);
            assert_int_equal(bt.stmts[0].text.len, 34);
            assert_int_equal(bt.stmts[0].n_values, 2);
            assert_int_equal(bt.stmts[0].values[1].kind, SL_CQL_NULL);
            assert_null(bt.stmts[0].id.ptr);
            assert_int_equal(bt.stmts[1].id.len, 16);
            assert_null(bt.stmts[1].text.ptr);
            assert_int_equal(bt.stmts[1].values[0].kind, SL_CQL_UNSET);
            assert_int_equal(bt.stmts[2].n_values, 0);
            assert_int_equal(bt.consistency, SL_CQL_CL_ONE);
            assert_int_equal(bt.serial_consistency, good_flags[f] & 0x10 ? SL_CQL_CL_SERIAL : 0);
            assert_int_equal(bt.has_timestamp, !!(good_flags[f] & 0x20));
            if (bt.has_timestamp) assert_int_equal(bt.timestamp, 42);
            for (size_t n = 0; n < b.len; n++) {
                sl_rd_init(&r, b.ptr, n);
                assert_int_equal(sl_cql_decode_batch(&r, &arena, &bt), SL_ERR_PARSE);
            }
            sl_buf_free(&b);
            sl_arena_reset(&arena);
        }
    }
    /* Refused: flags meant for QUERY, names for values, a batch type of 3, a kind of 2. */
    static const uint8_t bad_flags[] = {0x01, 0x02, 0x04, 0x08, 0x40};
    for (size_t f = 0; f < sizeof bad_flags; f++) {
        sl_buf b = SL_BUF_INIT;
        put_batch(&b, 0, bad_flags[f], 0);
        sl_rd r;
        sl_rd_init(&r, b.ptr, b.len);
        sl_cql_batch_req bt;
        assert_int_equal(sl_cql_decode_batch(&r, &arena, &bt), SL_ERR_PARSE);
        sl_buf_free(&b);
    }
    sl_buf b = SL_BUF_INIT;
    put_batch(&b, 3, 0, 0);
    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    sl_cql_batch_req bt;
    assert_int_equal(sl_cql_decode_batch(&r, &arena, &bt), SL_ERR_PARSE);
    sl_buf_reset(&b);
    put_batch(&b, 0, 0, 2);
    sl_rd_init(&r, b.ptr, b.len);
    assert_int_equal(sl_cql_decode_batch(&r, &arena, &bt), SL_ERR_PARSE);
    sl_buf_free(&b);
}

static void test_compression_names(void **state)
{
    (void)state;
    sl_cql_compression c;
    assert_int_equal(sl_cql_compression_parse(SL_SLICE_STR("lz4"), &c), 0);
    assert_int_equal(c, SL_CQL_COMPRESSION_LZ4);
    assert_int_equal(sl_cql_compression_parse(SL_SLICE_STR("LZ4"), &c), 0);
    assert_int_equal(sl_cql_compression_parse(SL_SLICE_STR("Snappy"), &c), 0);
    assert_int_equal(c, SL_CQL_COMPRESSION_SNAPPY);
    assert_int_equal(sl_cql_compression_parse(SL_SLICE_STR("zstd"), &c), SL_ERR_NOTFOUND);
    assert_int_equal(sl_cql_compression_parse(SL_SLICE_STR("lz"), &c), SL_ERR_NOTFOUND);
    assert_string_equal(sl_cql_compression_name(SL_CQL_COMPRESSION_LZ4), "lz4");
    assert_string_equal(sl_cql_compression_name(SL_CQL_COMPRESSION_SNAPPY), "snappy");
}

static uint64_t rng = 88172645463325252ull;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)rng;
}

static void round_trip(sl_cql_compression c, const uint8_t *p, size_t n)
{
    sl_buf z = SL_BUF_INIT, out = SL_BUF_INIT;
    sl_buf_append(&out, "keep", 4); /* decompress appends */
    sl_cql_compress(c, (sl_slice){p, n}, &z);
    assert_int_equal(sl_cql_decompress(c, sl_buf_slice(&z), n, &out), 0);
    assert_int_equal(out.len, 4 + n);
    assert_memory_equal(out.ptr, "keep", 4);
    if (n) assert_memory_equal(out.ptr + 4, p, n);
    /* One byte under the real size is over the limit. */
    if (n) {
        out.len = 4;
        assert_int_equal(sl_cql_decompress(c, sl_buf_slice(&z), n - 1, &out), SL_ERR_TOOBIG);
        assert_int_equal(out.len, 4);
    }
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < z.len; cut += (z.len > 64 ? z.len / 17 : 1)) {
        out.len = 4;
        int rc = sl_cql_decompress(c, (sl_slice){z.ptr, cut}, n + 64, &out);
        assert_true(rc == SL_ERR_PARSE || (rc == 0 && out.len == 4 + n));
        if (rc) assert_int_equal(out.len, 4);
    }
    sl_buf_free(&z);
    sl_buf_free(&out);
}

static void test_compression_round_trips(void **state)
{
    (void)state;
    static const sl_cql_compression algos[] = {SL_CQL_COMPRESSION_LZ4, SL_CQL_COMPRESSION_SNAPPY};
    size_t big = 1 << 20;
    uint8_t *p = malloc(big);
    for (size_t a = 0; a < 2; a++) {
        round_trip(algos[a], (const uint8_t *)"", 0);
        round_trip(algos[a], (const uint8_t *)"x", 1);
        round_trip(algos[a], (const uint8_t *)"SELECT * FROM system.local", 26);
        for (size_t i = 0; i < big; i++)
            p[i] = (uint8_t)("abcabcabd"[i % 9]);
        round_trip(algos[a], p, big); /* compressible */
        for (size_t i = 0; i < big; i++)
            p[i] = rnd8();
        round_trip(algos[a], p, 65536 + 3); /* incompressible */
    }
    free(p);
}

static void test_decompress_corrupt(void **state)
{
    (void)state;
    sl_buf out = SL_BUF_INIT;
    /* lz4: too short for the length prefix, a length the block cannot expand to, garbage. */
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\0\0\0", 3}, 1000, &out),
                     SL_ERR_PARSE);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\x00\x10\x00\x00\x10x", 6},
                                       1 << 30, &out),
                     SL_ERR_PARSE);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\x00\x00\x00\x05\xff\xff", 6},
                                       100, &out),
                     SL_ERR_PARSE);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\x7f\xff\xff\xff\x00", 5}, 1000,
                                       &out),
                     SL_ERR_TOOBIG);
    /* An empty body compresses to one zero token; anything else declaring 0 bytes is corrupt. */
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\0\0\0\0\0", 5}, 10, &out),
                     0);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_LZ4,
                                       (sl_slice){(const uint8_t *)"\0\0\0\0\x10", 5}, 10, &out),
                     SL_ERR_PARSE);
    /* snappy: a varint length of 1 GiB over 3 bytes, and a bad tag. */
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_SNAPPY,
                                       (sl_slice){(const uint8_t *)"\x80\x80\x80\x04\x00", 5},
                                       1u << 31, &out),
                     SL_ERR_PARSE);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_SNAPPY,
                                       (sl_slice){(const uint8_t *)"\x80\x80\x80\x04\x00", 5}, 100,
                                       &out),
                     SL_ERR_TOOBIG);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_SNAPPY,
                                       (sl_slice){(const uint8_t *)"\x05\xff\xff", 3}, 100, &out),
                     SL_ERR_PARSE);
    assert_int_equal(sl_cql_decompress(SL_CQL_COMPRESSION_SNAPPY,
                                       (sl_slice){(const uint8_t *)"\xff", 1}, 100, &out),
                     SL_ERR_PARSE);
    assert_int_equal(out.len, 0);
    sl_buf_free(&out);
}

static void test_frame_compress(void **state)
{
    (void)state;
    static const sl_cql_compression algos[] = {SL_CQL_COMPRESSION_LZ4, SL_CQL_COMPRESSION_SNAPPY};
    for (size_t a = 0; a < 2; a++) {
        sl_buf b = SL_BUF_INIT;
        size_t off = sl_cql_frame_begin(&b, SL_CQL_FLAG_WARNING, 5, SL_CQL_OP_RESULT);
        for (int i = 0; i < 200; i++)
            sl_cql_put_cstring(&b, "created_users");
        sl_cql_frame_finish(&b, off);
        sl_buf plain = SL_BUF_INIT;
        sl_buf_append(&plain, b.ptr + 9, b.len - 9);
        sl_cql_frame_compress(&b, off, algos[a]);
        sl_cql_header h;
        sl_cql_header_read(b.ptr, &h);
        assert_int_equal(h.flags, SL_CQL_FLAG_WARNING | SL_CQL_FLAG_COMPRESSION);
        assert_int_equal(h.stream, 5);
        assert_int_equal(h.length, b.len - 9);
        assert_true(h.length < plain.len);
        sl_buf out = SL_BUF_INIT;
        assert_int_equal(
            sl_cql_decompress(algos[a], (sl_slice){b.ptr + 9, h.length}, plain.len, &out), 0);
        assert_int_equal(out.len, plain.len);
        assert_memory_equal(out.ptr, plain.ptr, plain.len);
        /* An empty body stays as it is, without the flag. */
        sl_buf_reset(&b);
        off = sl_cql_frame_begin(&b, 0, 1, SL_CQL_OP_READY);
        sl_cql_frame_finish(&b, off);
        sl_cql_frame_compress(&b, off, algos[a]);
        assert_int_equal(b.len, 9);
        assert_int_equal(b.ptr[1], 0);
        sl_buf_free(&b);
        sl_buf_free(&plain);
        sl_buf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_header_read_and_stream),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_frame_begin_finish_and_error),
        cmocka_unit_test(test_scalar_round_trips),
        cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections_round_trip, setup, teardown),
        cmocka_unit_test(test_option_id),
        cmocka_unit_test_setup_teardown(test_decode_query_each_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_query_null_paging_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_prepare_execute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_batch, setup, teardown),
        cmocka_unit_test(test_compression_names),
        cmocka_unit_test(test_compression_round_trips),
        cmocka_unit_test(test_decompress_corrupt),
        cmocka_unit_test(test_frame_compress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
