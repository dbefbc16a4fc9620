/* test_producer_state.c: the idempotent producer window: in-order batches pass, a retry of any
 * of the last 5 batches is a duplicate with its original offset, a gap or an old batch is out of
 * order, epochs fence, unknown producers must start at 0, and a snapshot round-trips (and a
 * corrupted one is refused). */
#include "kafka/producer_state.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

static kafka_batch_hdr hdr(int64_t pid, int16_t epoch, int32_t seq, int32_t count)
{
    kafka_batch_hdr h;
    memset(&h, 0, sizeof(h));
    h.magic = 2;
    h.producer_id = pid;
    h.producer_epoch = epoch;
    h.base_sequence = seq;
    h.records_count = count;
    h.last_offset_delta = count - 1;
    return h;
}

/* Appends a batch as the broker would: check, then update at the next offset. */
static kafka_pcheck append(kafka_pstate *s, int64_t *next, kafka_batch_hdr h)
{
    kafka_pcheck c = kafka_pstate_check(s, &h);
    if (c.err == KAFKA_ERR_NONE && !c.duplicate) {
        kafka_pstate_update(s, &h, *next, 1000);
        *next += h.records_count;
    }
    return c;
}

static void test_in_order_and_duplicates(void **state)
{
    (void)state;
    kafka_pstate *s = kafka_pstate_new();
    int64_t next = 100;
    /* Seven batches of 2 records: sequences 0,2,4,...,12 at offsets 100,102,... */
    for (int i = 0; i < 7; i++) {
        kafka_pcheck c = append(s, &next, hdr(5, 0, i * 2, 2));
        assert_int_equal(c.err, KAFKA_ERR_NONE);
        assert_false(c.duplicate);
    }
    assert_int_equal(next, 114);
    /* The last five are remembered: retries are duplicates with their first offset. */
    for (int i = 2; i < 7; i++) {
        kafka_pcheck c = append(s, &next, hdr(5, 0, i * 2, 2));
        assert_int_equal(c.err, KAFKA_ERR_NONE);
        assert_true(c.duplicate);
        assert_int_equal(c.dup_base_offset, 100 + i * 2);
    }
    assert_int_equal(next, 114);
    /* Older than the window: out of order, not silently re-appended. */
    assert_int_equal(append(s, &next, hdr(5, 0, 0, 2)).err, KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* A gap. */
    assert_int_equal(append(s, &next, hdr(5, 0, 15, 1)).err,
                     KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* The same first sequence with a different size is not a duplicate. */
    assert_int_equal(append(s, &next, hdr(5, 0, 12, 1)).err,
                     KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* The next one in order. */
    assert_int_equal(append(s, &next, hdr(5, 0, 14, 1)).err, KAFKA_ERR_NONE);
    assert_int_equal(next, 115);
    kafka_pstate_free(s);
}

static void test_epochs_and_unknown(void **state)
{
    (void)state;
    kafka_pstate *s = kafka_pstate_new();
    int64_t next = 0;
    /* A producer never seen must start at sequence 0. */
    assert_int_equal(append(s, &next, hdr(9, 0, 3, 1)).err, KAFKA_ERR_UNKNOWN_PRODUCER_ID);
    assert_int_equal(append(s, &next, hdr(9, 3, 0, 1)).err, KAFKA_ERR_NONE);
    assert_int_equal(append(s, &next, hdr(9, 3, 1, 1)).err, KAFKA_ERR_NONE);
    /* An older epoch is fenced. */
    assert_int_equal(append(s, &next, hdr(9, 2, 2, 1)).err, KAFKA_ERR_INVALID_PRODUCER_EPOCH);
    /* A newer epoch must restart at 0 ... */
    assert_int_equal(append(s, &next, hdr(9, 4, 2, 1)).err, KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(append(s, &next, hdr(9, 4, 0, 1)).err, KAFKA_ERR_NONE);
    /* ... and then fences the old one. */
    assert_int_equal(append(s, &next, hdr(9, 3, 2, 1)).err, KAFKA_ERR_INVALID_PRODUCER_EPOCH);
    /* Producers are independent; non-idempotent batches are never checked. */
    assert_int_equal(append(s, &next, hdr(10, 0, 0, 1)).err, KAFKA_ERR_NONE);
    assert_int_equal(append(s, &next, hdr(-1, -1, -1, 1)).err, KAFKA_ERR_NONE);
    assert_int_equal(kafka_pstate_count(s), 2);
    kafka_pstate_free(s);
}

static void test_sequence_wrap(void **state)
{
    (void)state;
    /* A batch of 3 starting at INT32_MAX - 1 ends at 0 (sequences wrap); the next starts at 1. */
    kafka_pstate *s = kafka_pstate_new();
    kafka_batch_hdr w = hdr(2, 0, INT32_MAX - 1, 3);
    kafka_pstate_update(s, &w, 50, 1000);
    kafka_pcheck c = kafka_pstate_check(s, &w);
    assert_true(c.duplicate);
    assert_int_equal(c.dup_base_offset, 50);
    kafka_batch_hdr after = hdr(2, 0, 1, 1);
    assert_int_equal(kafka_pstate_check(s, &after).err, KAFKA_ERR_NONE);
    kafka_batch_hdr gap = hdr(2, 0, 2, 1);
    assert_int_equal(kafka_pstate_check(s, &gap).err, KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    kafka_pstate_free(s);
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    kafka_pstate *s = kafka_pstate_new();
    int64_t next = 0;
    for (int64_t pid = 0; pid < 50; pid++)
        for (int i = 0; i < 7; i++)
            append(s, &next, hdr(pid, (int16_t)(pid % 3), i, 1));
    sl_buf b = SL_BUF_INIT;
    kafka_pstate_encode(s, next, &b);
    kafka_pstate *t = kafka_pstate_new();
    int64_t off = -1;
    assert_int_equal(kafka_pstate_decode(t, b.ptr, b.len, &off), 0);
    assert_int_equal(off, next);
    assert_int_equal(kafka_pstate_count(t), 50);
    for (int64_t pid = 0; pid < 50; pid++) {
        kafka_batch_hdr dup = hdr(pid, (int16_t)(pid % 3), 6, 1);
        kafka_pcheck c1 = kafka_pstate_check(s, &dup), c2 = kafka_pstate_check(t, &dup);
        assert_true(c1.duplicate && c2.duplicate);
        assert_int_equal(c1.dup_base_offset, c2.dup_base_offset);
        kafka_batch_hdr nx = hdr(pid, (int16_t)(pid % 3), 7, 1);
        assert_int_equal(kafka_pstate_check(t, &nx).err, KAFKA_ERR_NONE);
    }
    /* Any flipped byte or truncation is refused and leaves the target untouched. */
    for (size_t i = 0; i < b.len; i += 7) {
        b.ptr[i] ^= 0x01;
        assert_int_not_equal(kafka_pstate_decode(t, b.ptr, b.len, &off), 0);
        b.ptr[i] ^= 0x01;
    }
    assert_int_not_equal(kafka_pstate_decode(t, b.ptr, b.len - 1, &off), 0);
    assert_int_not_equal(kafka_pstate_decode(t, b.ptr, 3, &off), 0);
    assert_int_equal(kafka_pstate_count(t), 50);

    /* Through a file. */
    char dir[] = "/tmp/sluice-pstate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(kafka_pstate_load(t, dir, &off), SL_ERR_NOTFOUND);
    assert_int_equal(kafka_pstate_save(s, 1234, dir, true), 0);
    kafka_pstate *u = kafka_pstate_new();
    assert_int_equal(kafka_pstate_load(u, dir, &off), 0);
    assert_int_equal(off, 1234);
    assert_int_equal(kafka_pstate_count(u), 50);
    char path[256];
    snprintf(path, sizeof(path), "%s/producer.snapshot", dir);
    unlink(path);
    rmdir(dir);

    /* Expiry drops producers idle for too long. */
    kafka_pstate_expire(u, 1000 + 10, 5);
    assert_int_equal(kafka_pstate_count(u), 0);
    kafka_pstate_free(u);
    kafka_pstate_free(t);
    kafka_pstate_free(s);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_duplicates),
        cmocka_unit_test(test_epochs_and_unknown),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_snapshot_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
