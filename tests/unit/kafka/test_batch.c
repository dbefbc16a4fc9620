/* test_batch.c: v2 record batch header parsing and validation: a good batch passes, and a bad
 * CRC, wrong magic, inconsistent length, bad counts, unknown codec or control batch are each
 * refused with the error Kafka uses. */
#include "core/crc32c.h"
#include "kafka/batch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

/* Builds an uncompressed batch of n records ("v0", "v1", ...), with a correct CRC. */
static void build_batch(sl_buf *b, int n, int64_t pid, int16_t epoch, int32_t seq)
{
    sl_buf_reset(b);
    sl_buf_put_be64(b, 0); /* base offset */
    sl_buf_put_be32(b, 0); /* length, patched */
    sl_buf_put_be32(b, 0); /* leader epoch */
    sl_buf_put_u8(b, 2);   /* magic */
    sl_buf_put_be32(b, 0); /* crc, patched */
    sl_buf_put_be16(b, 0); /* attributes */
    sl_buf_put_be32(b, (uint32_t)(n - 1));
    sl_buf_put_be64(b, 1000); /* base timestamp */
    sl_buf_put_be64(b, 1000 + (uint64_t)n - 1);
    sl_buf_put_be64(b, (uint64_t)pid);
    sl_buf_put_be16(b, (uint16_t)epoch);
    sl_buf_put_be32(b, (uint32_t)seq);
    sl_buf_put_be32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        sl_buf rec = SL_BUF_INIT;
        char val[16];
        int vl = snprintf(val, sizeof(val), "v%d", i);
        sl_buf_put_u8(&rec, 0);      /* attributes */
        sl_buf_put_varint(&rec, i);  /* timestamp delta */
        sl_buf_put_varint(&rec, i);  /* offset delta */
        sl_buf_put_varint(&rec, -1); /* null key */
        sl_buf_put_varint(&rec, vl);
        sl_buf_append(&rec, val, (size_t)vl);
        sl_buf_put_varint(&rec, 0); /* headers */
        sl_buf_put_varint(b, (int64_t)rec.len);
        sl_buf_append(b, rec.ptr, rec.len);
        sl_buf_free(&rec);
    }
    sl_put_be32(b->ptr + KAFKA_BATCH_OFF_LENGTH, (uint32_t)(b->len - KAFKA_BATCH_LOG_OVERHEAD));
    sl_put_be32(b->ptr + KAFKA_BATCH_OFF_CRC, sl_crc32c(0, b->ptr + KAFKA_BATCH_OFF_ATTRIBUTES,
                                                        b->len - KAFKA_BATCH_OFF_ATTRIBUTES));
}

static void fix_crc(sl_buf *b)
{
    sl_put_be32(b->ptr + KAFKA_BATCH_OFF_CRC, sl_crc32c(0, b->ptr + KAFKA_BATCH_OFF_ATTRIBUTES,
                                                        b->len - KAFKA_BATCH_OFF_ATTRIBUTES));
}

static void test_good_batch(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    build_batch(&b, 3, 7, 2, 10);
    kafka_batch_hdr h;
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
    assert_int_equal(h.magic, 2);
    assert_int_equal(h.records_count, 3);
    assert_int_equal(h.last_offset_delta, 2);
    assert_int_equal(h.producer_id, 7);
    assert_int_equal(h.producer_epoch, 2);
    assert_int_equal(h.base_sequence, 10);
    assert_int_equal(h.base_timestamp, 1000);
    assert_int_equal(h.max_timestamp, 1002);
    assert_int_equal((size_t)h.length, b.len - 12);
    /* The base offset and leader epoch are outside the CRC: rewriting them keeps it valid. */
    sl_put_be64(b.ptr, 12345);
    sl_put_be32(b.ptr + KAFKA_BATCH_OFF_LEADER_EPOCH, 9);
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
    assert_int_equal(kafka_batch_last_offset(b.ptr), 12347);
    sl_buf_free(&b);
}

static void test_bad_crc(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    build_batch(&b, 2, -1, -1, -1);
    kafka_batch_hdr h;
    /* Flip a bit in a record value, in the attributes, and in the CRC itself. */
    size_t spots[] = {b.len - 2, KAFKA_BATCH_OFF_ATTRIBUTES + 1, KAFKA_BATCH_OFF_CRC};
    for (size_t i = 0; i < SL_ARRAY_LEN(spots); i++) {
        b.ptr[spots[i]] ^= 0x10;
        assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_CORRUPT_MESSAGE);
        b.ptr[spots[i]] ^= 0x10;
    }
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
    sl_buf_free(&b);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    build_batch(&b, 2, -1, -1, -1);
    kafka_batch_hdr h;
    /* Truncated anywhere. */
    for (size_t n = 0; n < b.len; n++) {
        kafka_err_t e = kafka_batch_validate(b.ptr, n, &h);
        assert_true(e == KAFKA_ERR_CORRUPT_MESSAGE ||
                    e == KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
    /* Length field disagreeing with the bytes given, either way, or negative. */
    int32_t len = (int32_t)sl_get_be32(b.ptr + KAFKA_BATCH_OFF_LENGTH);
    int32_t bad[] = {len + 1, len - 1, -1, INT32_MIN};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        sl_put_be32(b.ptr + KAFKA_BATCH_OFF_LENGTH, (uint32_t)bad[i]);
        assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_CORRUPT_MESSAGE);
    }
    sl_buf_free(&b);
}

static void test_bad_fields(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    kafka_batch_hdr h;
    /* Magic 1 is an old message set; 3 is unknown. */
    build_batch(&b, 1, -1, -1, -1);
    b.ptr[KAFKA_BATCH_OFF_MAGIC] = 1;
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h),
                     KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    b.ptr[KAFKA_BATCH_OFF_MAGIC] = 3;
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_CORRUPT_MESSAGE);
    /* Codec 5 does not exist. */
    build_batch(&b, 1, -1, -1, -1);
    sl_put_be16(b.ptr + KAFKA_BATCH_OFF_ATTRIBUTES, 5);
    fix_crc(&b);
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_CORRUPT_MESSAGE);
    /* A control batch from a producer. */
    build_batch(&b, 1, -1, -1, -1);
    sl_put_be16(b.ptr + KAFKA_BATCH_OFF_ATTRIBUTES, KAFKA_ATTR_CONTROL);
    fix_crc(&b);
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_INVALID_RECORD);
    /* Records count disagreeing with the last offset delta, zero, or negative. */
    build_batch(&b, 3, -1, -1, -1);
    int32_t counts[] = {2, 0, -5};
    for (size_t i = 0; i < SL_ARRAY_LEN(counts); i++) {
        sl_put_be32(b.ptr + KAFKA_BATCH_OFF_RECORDS_COUNT, (uint32_t)counts[i]);
        fix_crc(&b);
        assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_INVALID_RECORD);
    }
    /* A count the bytes cannot hold (uncompressed records take at least 7 bytes each). */
    build_batch(&b, 1, -1, -1, -1);
    sl_put_be32(b.ptr + KAFKA_BATCH_OFF_RECORDS_COUNT, 1000);
    sl_put_be32(b.ptr + KAFKA_BATCH_OFF_LAST_OFFSET_DELTA, 999);
    fix_crc(&b);
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_CORRUPT_MESSAGE);
    /* But a compressed batch may claim many records in few bytes. */
    sl_put_be16(b.ptr + KAFKA_BATCH_OFF_ATTRIBUTES, KAFKA_CODEC_ZSTD);
    fix_crc(&b);
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
    sl_buf_free(&b);
}

static void test_log_append_time(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    build_batch(&b, 2, -1, -1, -1);
    kafka_batch_set_log_append_time(b.ptr, b.len, 99999);
    kafka_batch_hdr h;
    assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
    assert_true(h.attributes & KAFKA_ATTR_LOG_APPEND_TIME);
    assert_int_equal(h.max_timestamp, 99999);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_batch),      cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_bad_sizes),       cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_log_append_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
