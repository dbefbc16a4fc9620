/* test_proto.c: Kafka primitive codec round trips (classic and compact), null vs empty, and
 * that bad lengths, negative counts and counts larger than the bytes left fail cleanly. */
#include "kafka/proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void test_string_roundtrip(void **state)
{
    (void)state;
    for (int flex = 0; flex <= 1; flex++) {
        sl_buf b = SL_BUF_INIT;
        kafka_put_cstr(&b, flex, "hello");
        kafka_put_cstr(&b, flex, "");
        kafka_put_cstr(&b, flex, NULL);
        kafka_put_str(&b, flex, SL_SLICE_STR("x"));
        sl_rd r;
        sl_rd_init(&r, b.ptr, b.len);
        sl_slice s;
        assert_int_equal(kafka_rd_str(&r, flex, &s), 0);
        assert_true(sl_slice_eq_str(s, "hello"));
        assert_int_equal(kafka_rd_str(&r, flex, &s), 0);
        assert_non_null(s.ptr);
        assert_int_equal(s.len, 0);
        assert_int_equal(kafka_rd_str(&r, flex, &s), 0);
        assert_null(s.ptr);
        assert_int_equal(kafka_rd_str(&r, flex, &s), 0);
        assert_true(sl_slice_eq_str(s, "x"));
        assert_int_equal(sl_rd_left(&r), 0);
        assert_int_equal(kafka_rd_str(&r, flex, &s), SL_ERR_PARSE);
        sl_buf_free(&b);
    }
}

static void test_string_encodings(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    kafka_put_cstr(&b, false, "ab");
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.ptr,
                        "\x00\x02"
                        "ab",
                        4);
    sl_buf_reset(&b);
    kafka_put_cstr(&b, true, "ab");
    assert_memory_equal(b.ptr,
                        "\x03"
                        "ab",
                        3);
    sl_buf_reset(&b);
    kafka_put_cstr(&b, false, NULL);
    assert_memory_equal(b.ptr, "\xff\xff", 2);
    sl_buf_reset(&b);
    kafka_put_cstr(&b, true, NULL);
    assert_memory_equal(b.ptr, "\x00", 1);
    sl_buf_free(&b);
}

static void test_bad_string_lengths(void **state)
{
    (void)state;
    sl_rd r;
    sl_slice s;
    /* -2 is not null, it is invalid. */
    sl_rd_init(&r, "\xff\xfe", 2);
    assert_int_equal(kafka_rd_string(&r, &s), SL_ERR_PARSE);
    /* Longer than the bytes left. */
    sl_rd_init(&r,
               "\x00\x05"
               "abc",
               5);
    assert_int_equal(kafka_rd_string(&r, &s), SL_ERR_PARSE);
    assert_int_equal(r.err, SL_ERR_PARSE);
    /* Compact: length+1 = 10 with 2 bytes left. */
    sl_rd_init(&r,
               "\x0a"
               "ab",
               3);
    assert_int_equal(kafka_rd_compact_string(&r, &s), SL_ERR_PARSE);
    /* Compact length varint over 32 bits. */
    sl_rd_init(&r, "\xff\xff\xff\xff\x7f", 5);
    assert_int_equal(kafka_rd_compact_string(&r, &s), SL_ERR_PARSE);
    /* Truncated varint. */
    sl_rd_init(&r, "\x80", 1);
    assert_int_equal(kafka_rd_compact_string(&r, &s), SL_ERR_PARSE);
    /* Negative bytes length other than -1. */
    sl_rd_init(&r, "\xff\xff\xff\xf0", 4);
    assert_int_equal(kafka_rd_bytes(&r, &s), SL_ERR_PARSE);
}

static void test_bytes_roundtrip(void **state)
{
    (void)state;
    for (int flex = 0; flex <= 1; flex++) {
        sl_buf b = SL_BUF_INIT;
        kafka_put_bytes(&b, flex, (sl_slice){(const uint8_t *)"\x00\x01\x02", 3});
        kafka_put_bytes(&b, flex, SL_SLICE_NULL);
        sl_rd r;
        sl_rd_init(&r, b.ptr, b.len);
        sl_slice s;
        assert_int_equal(kafka_rd_byts(&r, flex, &s), 0);
        assert_int_equal(s.len, 3);
        assert_memory_equal(s.ptr, "\x00\x01\x02", 3);
        assert_int_equal(kafka_rd_byts(&r, flex, &s), 0);
        assert_null(s.ptr);
        sl_buf_free(&b);
    }
}

static void test_arrays(void **state)
{
    (void)state;
    for (int flex = 0; flex <= 1; flex++) {
        sl_buf b = SL_BUF_INIT;
        kafka_put_array(&b, flex, 3);
        for (int i = 0; i < 3; i++)
            kafka_put_i32(&b, i);
        kafka_put_array(&b, flex, -1);
        kafka_put_array(&b, flex, 0);
        sl_rd r;
        sl_rd_init(&r, b.ptr, b.len);
        int32_t n;
        assert_int_equal(kafka_rd_array(&r, flex, 4, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(sl_rd_skip(&r, 12), 0);
        assert_int_equal(kafka_rd_array(&r, flex, 4, &n), 0);
        assert_int_equal(n, -1);
        assert_int_equal(kafka_rd_array(&r, flex, 4, &n), 0);
        assert_int_equal(n, 0);
        sl_buf_free(&b);
    }
}

static void test_bad_counts(void **state)
{
    (void)state;
    sl_rd r;
    int32_t n;
    /* Negative count other than -1. */
    sl_rd_init(&r, "\xff\xff\xff\xfe", 4);
    assert_int_equal(kafka_rd_array(&r, false, 1, &n), SL_ERR_PARSE);
    sl_rd_init(&r, "\x80\x00\x00\x00", 4);
    assert_int_equal(kafka_rd_array(&r, false, 1, &n), SL_ERR_PARSE);
    /* A count of 2^31-1 with 4 bytes left: refused before anything is allocated. */
    sl_rd_init(&r, "\x7f\xff\xff\xff\x00\x00\x00\x00", 8);
    assert_int_equal(kafka_rd_array(&r, false, 1, &n), SL_ERR_PARSE);
    /* Three 4-byte elements need 12 bytes; 8 are left. */
    sl_rd_init(&r, "\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00", 12);
    assert_int_equal(kafka_rd_array(&r, false, 4, &n), SL_ERR_PARSE);
    /* Compact count too large for what follows. */
    sl_rd_init(&r, "\x05\x00", 2);
    assert_int_equal(kafka_rd_array(&r, true, 1, &n), SL_ERR_PARSE);
    /* Over the absolute limit even with bytes to spare is still refused. */
    sl_buf big = SL_BUF_INIT;
    kafka_put_i32(&big, KAFKA_MAX_ARRAY + 1);
    sl_buf_extend(&big, KAFKA_MAX_ARRAY + 8);
    sl_rd_init(&r, big.ptr, big.len);
    assert_int_equal(kafka_rd_array(&r, false, 1, &n), SL_ERR_PARSE);
    sl_buf_free(&big);
}

static void test_tags(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    /* Two tagged fields: tag 0 with 3 bytes, tag 5 with 0 bytes, then a marker byte. */
    sl_buf_append(&b,
                  "\x02\x00\x03"
                  "abc"
                  "\x05\x00"
                  "Z",
                  9);
    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    assert_int_equal(kafka_rd_tags(&r), 0);
    uint8_t z;
    assert_int_equal(sl_rd_u8(&r, &z), 0);
    assert_int_equal(z, 'Z');
    /* A field whose size runs past the end. */
    sl_rd_init(&r,
               "\x01\x00\x09"
               "ab",
               5);
    assert_int_equal(kafka_rd_tags(&r), SL_ERR_PARSE);
    /* A count the bytes left cannot hold. */
    sl_rd_init(&r, "\x7f\x00", 2);
    assert_int_equal(kafka_rd_tags(&r), SL_ERR_PARSE);
    /* Writing: empty tags only when flexible. */
    sl_buf_reset(&b);
    kafka_put_tags(&b, false);
    assert_int_equal(b.len, 0);
    kafka_put_tags(&b, true);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.ptr[0], 0);
    sl_buf_free(&b);
}

static void test_header(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    kafka_put_i16(&b, 18);
    kafka_put_i16(&b, 3);
    kafka_put_i32(&b, 0x01020304);
    kafka_put_cstr(&b, false, "rdkafka");
    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    kafka_hdr h;
    assert_int_equal(kafka_hdr_parse(&r, &h), 0);
    assert_int_equal(h.api_key, 18);
    assert_int_equal(h.api_version, 3);
    assert_int_equal(h.correlation_id, 0x01020304);
    assert_true(sl_slice_eq_str(h.client_id, "rdkafka"));
    /* Every truncation fails. */
    for (size_t n = 0; n < b.len; n++) {
        sl_rd_init(&r, b.ptr, n);
        assert_int_equal(kafka_hdr_parse(&r, &h), SL_ERR_PARSE);
    }
    sl_buf_free(&b);
}

static void test_placeholder_and_names(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    kafka_put_i8(&b, 1);
    size_t at = kafka_put_i32_placeholder(&b);
    kafka_put_i64(&b, -1);
    kafka_patch_i32(&b, at, 42);
    assert_int_equal((int32_t)sl_get_be32(b.ptr + 1), 42);
    assert_int_equal((int64_t)sl_get_be64(b.ptr + 5), -1);
    assert_string_equal(kafka_err_name(KAFKA_ERR_CORRUPT_MESSAGE), "CORRUPT_MESSAGE");
    assert_string_equal(kafka_err_name(KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER),
                        "OUT_OF_ORDER_SEQUENCE_NUMBER");
    assert_string_equal(kafka_err_name(12345), "UNKNOWN");
    assert_string_equal(kafka_api_name(KAFKA_API_FETCH), "Fetch");
    assert_null(kafka_api_name(999));
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_roundtrip),
        cmocka_unit_test(test_string_encodings),
        cmocka_unit_test(test_bad_string_lengths),
        cmocka_unit_test(test_bytes_roundtrip),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_bad_counts),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_placeholder_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
