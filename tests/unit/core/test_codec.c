/* test_codec.c: big-endian helpers, varint and zigzag round trips at the edges, overlong and
 * truncated varints, and the latching bounds-checked reader. */
#include "core/codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void test_be_roundtrip(void **state)
{
    (void)state;
    uint8_t b[8];
    sl_put_be16(b, 0xBEEF);
    assert_int_equal(b[0], 0xBE);
    assert_int_equal(b[1], 0xEF);
    assert_int_equal(sl_get_be16(b), 0xBEEF);
    sl_put_be32(b, 0xDEADBEEF);
    assert_memory_equal(b, "\xDE\xAD\xBE\xEF", 4);
    assert_int_equal(sl_get_be32(b), 0xDEADBEEFu);
    sl_put_be64(b, 0x0102030405060708ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(sl_get_be64(b), 0x0102030405060708ull);
    sl_put_be64(b, UINT64_MAX);
    assert_int_equal(sl_get_be64(b), UINT64_MAX);
    sl_put_be32(b, 0x80000000u);
    assert_int_equal((int32_t)sl_get_be32(b), INT32_MIN);
}

static void test_zigzag(void **state)
{
    (void)state;
    assert_int_equal(sl_zigzag_enc(0), 0);
    assert_int_equal(sl_zigzag_enc(-1), 1);
    assert_int_equal(sl_zigzag_enc(1), 2);
    assert_int_equal(sl_zigzag_enc(-2), 3);
    assert_int_equal(sl_zigzag_enc(INT32_MAX), 0xFFFFFFFEull);
    assert_int_equal(sl_zigzag_enc(INT32_MIN), 0xFFFFFFFFull);
    assert_int_equal(sl_zigzag_enc(INT64_MAX), UINT64_MAX - 1);
    assert_int_equal(sl_zigzag_enc(INT64_MIN), UINT64_MAX);
    static const int64_t vals[] = {0,   1,         -1,        63,        -64,       64,
                                   -65, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < SL_ARRAY_LEN(vals); i++)
        assert_true(sl_zigzag_dec(sl_zigzag_enc(vals[i])) == vals[i]);
}

static void test_varint_known_encodings(void **state)
{
    (void)state;
    uint8_t b[SL_VARINT_MAX];
    assert_int_equal(sl_varint_put(b, 0), 1);
    assert_int_equal(b[0], 0);
    assert_int_equal(sl_varint_put(b, 127), 1);
    assert_int_equal(b[0], 0x7f);
    assert_int_equal(sl_varint_put(b, 128), 2);
    assert_memory_equal(b, "\x80\x01", 2);
    assert_int_equal(sl_varint_put(b, 300), 2);
    assert_memory_equal(b, "\xac\x02", 2);
    assert_int_equal(sl_varint_put(b, UINT64_MAX), 10);
    assert_memory_equal(b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
}

static void test_varint_roundtrip_edges(void **state)
{
    (void)state;
    uint8_t b[SL_VARINT_MAX];
    uint64_t out;
    /* Every power of two and its neighbours crosses each 7-bit group boundary. */
    for (int s = 0; s < 64; s++) {
        uint64_t base = 1ull << s;
        uint64_t vals[] = {base - 1, base, base + 1};
        for (int k = 0; k < 3; k++) {
            size_t n = sl_varint_put(b, vals[k]);
            size_t bits = vals[k] ? 64 - (size_t)__builtin_clzll(vals[k]) : 1;
            assert_int_equal(n, (bits + 6) / 7);
            assert_int_equal(sl_varint_get(b, n, &out), (int)n);
            assert_true(out == vals[k]);
            /* Any truncation asks for more input. */
            for (size_t t = 0; t < n; t++)
                assert_int_equal(sl_varint_get(b, t, &out), 0);
        }
    }
    size_t n = sl_varint_put(b, UINT64_MAX);
    assert_int_equal(sl_varint_get(b, n, &out), 10);
    assert_true(out == UINT64_MAX);
}

static void test_varint_overlong(void **state)
{
    (void)state;
    uint64_t out;
    /* Ten bytes whose last carries more than bit 63. */
    assert_int_equal(
        sl_varint_get((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &out),
        SL_ERR_PARSE);
    /* Eleven bytes: a continuation bit on the tenth. */
    assert_int_equal(
        sl_varint_get((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x81\x00", 11, &out),
        SL_ERR_PARSE);
    /* Non-canonical padding within ten bytes is accepted, as protobuf and Kafka do. */
    assert_int_equal(sl_varint_get((const uint8_t *)"\x81\x80\x00", 3, &out), 3);
    assert_int_equal(out, 1);
    /* Ten continuation bytes with nothing after them is overlong, not incomplete. */
    assert_int_equal(
        sl_varint_get((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", 10, &out),
        SL_ERR_PARSE);
}

static void test_buf_writers_and_reader(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_u8(&b, 0xAB);
    sl_buf_put_be16(&b, 0x1234);
    sl_buf_put_be32(&b, 0xCAFEBABE);
    sl_buf_put_be64(&b, 0x1122334455667788ull);
    sl_buf_put_uvarint(&b, 300);
    sl_buf_put_varint(&b, -3);
    sl_buf_put_varint(&b, INT64_MIN);
    sl_buf_append(&b, "tail", 4);

    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    sl_slice s;
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0xAB);
    assert_int_equal(sl_rd_be16(&r, &u16), 0);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(sl_rd_i32(&r, &i32), 0);
    assert_int_equal((uint32_t)i32, 0xCAFEBABEu);
    assert_int_equal(sl_rd_be64(&r, &u64), 0);
    assert_true(u64 == 0x1122334455667788ull);
    assert_int_equal(sl_rd_uvarint(&r, &u64), 0);
    assert_int_equal(u64, 300);
    assert_int_equal(sl_rd_varint(&r, &i64), 0);
    assert_int_equal(i64, -3);
    assert_int_equal(sl_rd_varint(&r, &i64), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(sl_rd_left(&r), 4);
    assert_int_equal(sl_rd_bytes(&r, 4, &s), 0);
    assert_true(sl_slice_eq_str(s, "tail"));
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(sl_rd_offset(&r), b.len);
    assert_int_equal(r.err, 0);
    sl_buf_free(&b);
}

static void test_reader_latches_errors(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0x01, 0x02};
    sl_rd r;
    uint32_t v32;
    uint16_t v16;
    uint8_t v8;
    sl_rd_init(&r, data, sizeof data);
    assert_int_equal(sl_rd_be32(&r, &v32), SL_ERR_PARSE);
    assert_int_equal(r.err, SL_ERR_PARSE);
    assert_int_equal(sl_rd_offset(&r), 0); /* a failed read consumes nothing */
    /* Later reads fail although the bytes are there. */
    assert_int_equal(sl_rd_u8(&r, &v8), SL_ERR_PARSE);
    assert_int_equal(sl_rd_be16(&r, &v16), SL_ERR_PARSE);

    sl_rd_init(&r, data, sizeof data);
    assert_int_equal(sl_rd_skip(&r, 3), 0);
    assert_int_equal(sl_rd_skip(&r, 1), SL_ERR_PARSE);

    /* A length far beyond the buffer must not wrap the pointer arithmetic. */
    sl_rd_init(&r, data, sizeof data);
    sl_slice s;
    assert_int_equal(sl_rd_bytes(&r, SIZE_MAX, &s), SL_ERR_PARSE);

    /* A truncated varint fails the reader rather than asking for more. */
    uint64_t u;
    sl_rd_init(&r, "\x80\x80", 2);
    assert_int_equal(sl_rd_uvarint(&r, &u), SL_ERR_PARSE);
    assert_int_equal(r.err, SL_ERR_PARSE);

    /* Empty input. */
    sl_rd_init(&r, NULL, 0);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(sl_rd_u8(&r, &v8), SL_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_roundtrip),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_varint_known_encodings),
        cmocka_unit_test(test_varint_roundtrip_edges),
        cmocka_unit_test(test_varint_overlong),
        cmocka_unit_test(test_buf_writers_and_reader),
        cmocka_unit_test(test_reader_latches_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
