/* test_broker.c: the broker's request dispatch through sl_broker_handle_frame (the fuzz entry
 * point): good requests take effect, malformed and unknown ones are refused as a client would be
 * disconnected, and long-poll Fetches woken by a Produce or pending at shutdown end cleanly. */
#include "core/crc32c.h"
#include "kafka/batch.h"
#include "kafka/broker.h"
#include "kafka/proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

static char dir[64];
static uv_loop_t loop;
static sl_broker *b;
static sl_broker_config cfg;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sluice-broker-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    sl_config_defaults(sl_broker_opts, &cfg);
    char err[256];
    sl_config_set(sl_broker_opts, &cfg, "listen", "127.0.0.1:0", err, sizeof(err));
    sl_config_set(sl_broker_opts, &cfg, "data-dir", dir, err, sizeof(err));
    uv_loop_init(&loop);
    return sl_broker_open(&loop, &cfg, &b);
}

static bool stopped;
static void on_stopped(void *arg)
{
    (void)arg;
    stopped = true;
}

static int teardown(void **state)
{
    (void)state;
    stopped = false;
    sl_broker_stop(b, on_stopped, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(stopped);
    sl_broker_free(b);
    assert_int_equal(uv_loop_close(&loop), 0);
    sl_config_free(sl_broker_opts, &cfg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void hdr(sl_buf *f, int16_t key, int16_t ver)
{
    sl_buf_reset(f);
    kafka_put_i16(f, key);
    kafka_put_i16(f, ver);
    kafka_put_i32(f, 1);
    kafka_put_cstr(f, false, "test");
}

static int feed(sl_buf *f)
{
    return sl_broker_handle_frame(b, f->ptr, f->len);
}

static bool exists(const char *path)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, path);
    return stat(p, &st) == 0;
}

static void metadata(sl_buf *f, const char *topic)
{
    hdr(f, KAFKA_API_METADATA, 4);
    kafka_put_array(f, false, 1);
    kafka_put_cstr(f, false, topic);
    kafka_put_bool(f, true);
}

static void produce(sl_buf *f, const char *topic, int16_t acks)
{
    sl_buf batch = SL_BUF_INIT;
    sl_buf_put_be64(&batch, 0);
    sl_buf_put_be32(&batch, 0);
    sl_buf_put_be32(&batch, 0);
    sl_buf_put_u8(&batch, 2);
    sl_buf_put_be32(&batch, 0);
    sl_buf_put_be16(&batch, 0);
    sl_buf_put_be32(&batch, 0);
    sl_buf_put_be64(&batch, 1000);
    sl_buf_put_be64(&batch, 1000);
    sl_buf_put_be64(&batch, (uint64_t)-1);
    sl_buf_put_be16(&batch, (uint16_t)-1);
    sl_buf_put_be32(&batch, (uint32_t)-1);
    sl_buf_put_be32(&batch, 1);
    static const uint8_t rec[] = {0x0e, 0, 0, 0, 1, 6, 'a', 'b', 'c', 0};
    sl_buf_append(&batch, rec, sizeof(rec));
    sl_put_be32(batch.ptr + KAFKA_BATCH_OFF_LENGTH, (uint32_t)(batch.len - 12));
    sl_put_be32(batch.ptr + KAFKA_BATCH_OFF_CRC,
                sl_crc32c(0, batch.ptr + KAFKA_BATCH_OFF_ATTRIBUTES,
                          batch.len - KAFKA_BATCH_OFF_ATTRIBUTES));
    hdr(f, KAFKA_API_PRODUCE, 7);
    kafka_put_cstr(f, false, NULL);
    kafka_put_i16(f, acks);
    kafka_put_i32(f, 1000);
    kafka_put_array(f, false, 1);
    kafka_put_cstr(f, false, topic);
    kafka_put_array(f, false, 1);
    kafka_put_i32(f, 0);
    kafka_put_bytes(f, false, sl_buf_slice(&batch));
    sl_buf_free(&batch);
}

static void test_requests_take_effect(void **state)
{
    (void)state;
    sl_buf f = SL_BUF_INIT;
    hdr(&f, KAFKA_API_API_VERSIONS, 0);
    assert_int_equal(feed(&f), 0);
    /* KIP-511: an ApiVersions version we do not serve still gets an answer. */
    hdr(&f, KAFKA_API_API_VERSIONS, 9);
    assert_int_equal(feed(&f), 0);
    metadata(&f, "auto1");
    assert_int_equal(feed(&f), 0);
    assert_true(exists("auto1-0"));
    /* An invalid name is answered with an error, not created. */
    metadata(&f, "bad/name");
    assert_int_equal(feed(&f), 0);
    assert_false(exists("bad/name-0"));
    produce(&f, "auto2", -1);
    assert_int_equal(feed(&f), 0);
    produce(&f, "auto2", 1);
    assert_int_equal(feed(&f), 0);
    produce(&f, "auto2", 0);
    assert_int_equal(feed(&f), 0);
    assert_true(exists("auto2-0"));
    uv_run(&loop, UV_RUN_NOWAIT);
    sl_buf_free(&f);
}

static void test_bad_requests_refused(void **state)
{
    (void)state;
    sl_buf f = SL_BUF_INIT;
    /* Unknown API key. */
    hdr(&f, 999, 0);
    assert_int_equal(feed(&f), SL_ERR_PARSE);
    /* A version outside the advertised range (after its error response). */
    hdr(&f, KAFKA_API_METADATA, 42);
    assert_int_equal(feed(&f), SL_ERR_PARSE);
    /* Truncated header. */
    assert_int_equal(sl_broker_handle_frame(b, (const uint8_t *)"\x00\x03\x00", 3), SL_ERR_PARSE);
    /* A count larger than the bytes left, and a negative one. */
    hdr(&f, KAFKA_API_METADATA, 1);
    kafka_put_i32(&f, 1000000);
    assert_int_equal(feed(&f), SL_ERR_PARSE);
    hdr(&f, KAFKA_API_METADATA, 1);
    kafka_put_i32(&f, -7);
    assert_int_equal(feed(&f), SL_ERR_PARSE);
    /* Every truncation of a good Produce is refused or harmless, never a crash. */
    produce(&f, "trunc", 1);
    for (size_t n = 0; n < f.len; n++)
        sl_broker_handle_frame(b, f.ptr, n);
    sl_buf_free(&f);
}

static void test_long_poll(void **state)
{
    (void)state;
    sl_buf f = SL_BUF_INIT;
    metadata(&f, "lp");
    assert_int_equal(feed(&f), 0);
    /* A Fetch at the log end with a long wait is deferred ... */
    hdr(&f, KAFKA_API_FETCH, 11);
    kafka_put_i32(&f, -1);
    kafka_put_i32(&f, 60000);
    kafka_put_i32(&f, 1);
    kafka_put_i32(&f, 1 << 20);
    kafka_put_i8(&f, 0);
    kafka_put_i32(&f, 0);
    kafka_put_i32(&f, -1);
    kafka_put_array(&f, false, 1);
    kafka_put_cstr(&f, false, "lp");
    kafka_put_array(&f, false, 1);
    kafka_put_i32(&f, 0);
    kafka_put_i32(&f, -1);
    kafka_put_i64(&f, 0);
    kafka_put_i64(&f, -1);
    kafka_put_i32(&f, 1 << 20);
    kafka_put_array(&f, false, 0);
    kafka_put_cstr(&f, false, "");
    sl_buf fetch = SL_BUF_INIT;
    sl_buf_append(&fetch, f.ptr, f.len);
    assert_int_equal(feed(&fetch), 0);
    /* ... and answered by an append; a second one is still waiting when the broker stops
     * (teardown), which must answer it and close its timer (uv_loop_close succeeds). */
    produce(&f, "lp", 1);
    assert_int_equal(feed(&f), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(feed(&fetch), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    sl_buf_free(&fetch);
    sl_buf_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_requests_take_effect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
