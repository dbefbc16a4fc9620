/* test_kafka_client.c: the console's Kafka answers against a real broker (sluice's, in-process
 * on its own thread and loop), driven by librdkafka clients as any Kafka tool would: the topic
 * list and detail, browsing (modes, search, partitions, binary and null values), producing,
 * groups with a live member, resetting offsets only once the group is empty, and the sampler's
 * history. */
#include "console/kafka_int.h"
#include "kafka/broker.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

static char dir[64];
static uv_loop_t bloop, loop;
static uv_thread_t bthread;
static uv_async_t bstop;
static sl_broker *broker;
static sl_broker_config bcfg;
static char bootstrap[64];
static sl_kview *ck;

static void on_broker_stopped(void *arg)
{
    (void)arg;
}

static void on_bstop(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
    sl_broker_stop(broker, on_broker_stopped, NULL);
}

static void broker_main(void *arg)
{
    (void)arg;
    uv_run(&bloop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    (void)state;
    /* As `sluice broker` does (sl_server_run): the test's short-lived clients hang up while the
     * in-process broker may still be writing to them. */
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/sluice-ck-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    sl_config_defaults(sl_broker_opts, &bcfg);
    char err[256];
    sl_config_set(sl_broker_opts, &bcfg, "listen", "127.0.0.1:0", err, sizeof err);
    sl_config_set(sl_broker_opts, &bcfg, "data-dir", dir, err, sizeof err);
    sl_config_set(sl_broker_opts, &bcfg, "flush", "os", err, sizeof err);
    if (sl_broker_config_check(&bcfg, err, sizeof err)) return -1;
    uv_loop_init(&bloop);
    if (sl_broker_open(&bloop, &bcfg, &broker)) return -1;
    uv_async_init(&bloop, &bstop, on_bstop);
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", sl_broker_port(broker));
    uv_thread_create(&bthread, broker_main, NULL);
    uv_loop_init(&loop);
    sl_kview_config cfg = {.bootstrap = bootstrap, .sample_ms = 100, .history = 50};
    return sl_console_kafka_open(&loop, &cfg, &ck, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    sl_console_kafka_close(ck);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    uv_async_send(&bstop);
    uv_thread_join(&bthread);
    sl_broker_free(broker);
    uv_loop_close(&bloop);
    sl_config_free(sl_broker_opts, &bcfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *group)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof err);
    if (group) {
        rd_kafka_conf_set(c, "group.id", group, err, sizeof err);
        rd_kafka_conf_set(c, "auto.offset.reset", "earliest", err, sizeof err);
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err);
    }
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    assert_non_null(rk);
    return rk;
}

static void create_topic(const char *name, int parts)
{
    char err[256];
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, parts, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    assert_non_null(ev);
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    assert_int_equal(n, 1);
    assert_int_equal(rd_kafka_topic_result_error(res[0]), 0);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
}

/* Produces n messages to partition p (key "k<i>", value {"i":i,"name":...}) with timestamps
 * ts0 + i. */
static void produce(const char *topic, int32_t p, int n, int64_t ts0)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, NULL);
    for (int i = 0; i < n; i++) {
        char key[32], val[128];
        snprintf(key, sizeof key, "k%d-%d", p, i);
        snprintf(val, sizeof val, "{\"i\":%d,\"name\":\"%s\"}", i, i == 3 ? "Needle" : "hay");
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE(val, strlen(val)),
                                           RD_KAFKA_V_TIMESTAMP(ts0 + i), RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(rk, 10000), 0);
    rd_kafka_destroy(rk);
}

static json_t *answer(sl_ck_answer *a, int status)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)a->body.ptr, a->body.len, 0, &e);
    if (!j) fail_msg("bad JSON %.*s: %s", (int)a->body.len, a->body.ptr, e.text);
    if (a->status != status)
        fail_msg("status %d, not %d: %.*s", a->status, status, (int)a->body.len, a->body.ptr);
    sl_buf_free(&a->body);
    a->status = 0;
    return j;
}

static json_t *find(json_t *arr, const char *field, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, field)), value)) return v;
    }
    return NULL;
}

static int64_t ival(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *sval(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_topics(void **state)
{
    (void)state;
    create_topic("orders", 3);
    produce("orders", 0, 10, 1000000);
    produce("orders", 2, 4, 2000000);
    sl_ck_answer a = {0};
    sl_console_kafka_topics(ck, &a);
    json_t *j = answer(&a, 200);
    json_t *t = find(json_object_get(j, "topics"), "name", "orders");
    assert_non_null(t);
    assert_int_equal(ival(t, "partitions"), 3);
    assert_int_equal(ival(t, "messages"), 14);
    assert_false(json_is_true(json_object_get(t, "internal")));
    json_decref(j);

    sl_console_kafka_topic(ck, "orders", &a);
    j = answer(&a, 200);
    json_t *parts = json_object_get(j, "partitions");
    assert_int_equal(json_array_size(parts), 3);
    assert_int_equal(ival(json_array_get(parts, 0), "end"), 10);
    assert_int_equal(ival(json_array_get(parts, 1), "messages"), 0);
    assert_int_equal(ival(json_array_get(parts, 2), "end"), 4);
    json_t *cleanup = find(json_object_get(j, "configs"), "name", "cleanup.policy");
    assert_non_null(cleanup);
    assert_string_equal(sval(cleanup, "value"), "delete");
    json_decref(j);

    sl_console_kafka_topic(ck, "no-such-topic", &a);
    j = answer(&a, 404);
    assert_non_null(strstr(sval(j, "error"), "unknown topic"));
    json_decref(j);
}

static json_t *browse(const char *topic, const char *part, const char *from, const char *off,
                      const char *ts, const char *limit, const char *q, const char *in, int status)
{
    sl_browse_query bq;
    char err[128];
    assert_int_equal(sl_browse_query_parse(&bq, part, from, off, ts, limit, q, in, err, sizeof err),
                     0);
    sl_ck_answer a = {0};
    sl_console_kafka_browse(ck, topic, &bq, &a);
    sl_browse_query_free(&bq);
    return answer(&a, status);
}

static void test_browse(void **state)
{
    (void)state;
    create_topic("browse", 2);
    produce("browse", 0, 10, 1000000);
    produce("browse", 1, 5, 3000000);

    /* Newest 4 over both partitions: partition 1 was written later. */
    json_t *j = browse("browse", NULL, NULL, NULL, NULL, "4", NULL, NULL, 200);
    json_t *ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 4);
    json_t *last = json_array_get(ms, 3);
    assert_int_equal(ival(last, "partition"), 1);
    assert_int_equal(ival(last, "offset"), 4);
    assert_string_equal(sval(last, "key"), "k1-4");
    assert_string_equal(sval(last, "value_format"), "json");
    assert_string_equal(sval(last, "key_format"), "text");
    assert_int_equal(ival(last, "timestamp"), 3000004);
    assert_true(json_is_true(json_object_get(j, "complete")));
    json_decref(j);

    /* Oldest 3 of partition 0, from an offset, from a timestamp. */
    j = browse("browse", "0", "oldest", NULL, NULL, "3", NULL, NULL, 200);
    ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 3);
    assert_int_equal(ival(json_array_get(ms, 0), "offset"), 0);
    json_decref(j);
    j = browse("browse", "0", NULL, "7", NULL, "50", NULL, NULL, 200);
    ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 3);
    assert_int_equal(ival(json_array_get(ms, 0), "offset"), 7);
    json_decref(j);
    j = browse("browse", NULL, NULL, NULL, "1000008", "50", NULL, NULL, 200);
    ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 2 + 5); /* p0 offsets 8, 9 and all of p1 */
    json_decref(j);
    j = browse("browse", NULL, NULL, NULL, "9000000", "50", NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 0);
    json_decref(j);

    /* Search: value matches in both partitions, key only in one. */
    j = browse("browse", NULL, NULL, NULL, NULL, "50", "needle", NULL, 200);
    ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 2);
    assert_int_equal(ival(j, "scanned"), 15);
    json_decref(j);
    j = browse("browse", NULL, NULL, NULL, NULL, "50", "k0-3", "key", 200);
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
    json_decref(j);
    j = browse("browse", NULL, NULL, NULL, NULL, "50", "k0-3", "value", 200);
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 0);
    json_decref(j);

    j = browse("browse", "5", NULL, NULL, NULL, NULL, NULL, NULL, 400);
    assert_non_null(strstr(sval(j, "error"), "no partition 5"));
    json_decref(j);
    j = browse("nope", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 404);
    json_decref(j);
}

static json_t *produce_api(const char *topic, const char *body, int status)
{
    sl_ck_answer a = {0};
    sl_console_kafka_produce(ck, topic, (sl_slice){(const uint8_t *)body, strlen(body)}, &a);
    return answer(&a, status);
}

static void test_produce(void **state)
{
    (void)state;
    create_topic("made", 2);
    json_t *j = produce_api(
        "made",
        "{\"key\":\"u1\",\"value\":\"{\\\"a\\\":1}\",\"partition\":1,\"headers\":{\"h\":\"v\"}}",
        200);
    assert_int_equal(ival(j, "partition"), 1);
    assert_int_equal(ival(j, "offset"), 0);
    json_decref(j);
    j = produce_api("made", "{\"value\":null,\"key\":\"gone\",\"partition\":1}", 200);
    assert_int_equal(ival(j, "offset"), 1);
    json_decref(j);
    j = browse("made", "1", "oldest", NULL, NULL, NULL, NULL, NULL, 200);
    json_t *ms = json_object_get(j, "messages");
    assert_int_equal(json_array_size(ms), 2);
    json_t *m = json_array_get(ms, 0);
    assert_string_equal(sval(m, "value"), "{\"a\":1}");
    json_t *h = json_array_get(json_object_get(m, "headers"), 0);
    assert_string_equal(sval(h, "key"), "h");
    assert_string_equal(sval(h, "value"), "v");
    m = json_array_get(ms, 1);
    assert_true(json_is_null(json_object_get(m, "value")));
    assert_string_equal(sval(m, "value_format"), "null");
    json_decref(j);

    /* Binary bytes produced by another client are shown as base64. */
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("made"), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_VALUE("\xff\x00\x01", 3), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_END);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    j = browse("made", "0", NULL, NULL, NULL, NULL, NULL, NULL, 200);
    m = json_array_get(json_object_get(j, "messages"), 0);
    assert_string_equal(sval(m, "value_format"), "binary");
    assert_string_equal(sval(m, "value"), "/wAB");
    assert_true(json_is_null(json_object_get(m, "key")));
    json_decref(j);

    struct {
        const char *topic, *body, *needle;
        int status;
    } bad[] = {
        {"made", "{", "bad JSON", 400},
        {"made", "[]", "JSON object", 400},
        {"made", "{\"key\":\"x\"}", "\"value\" is required", 400},
        {"made", "{\"value\":1}", "string or null", 400},
        {"made", "{\"value\":\"x\",\"partition\":-1}", "partition", 400},
        {"made", "{\"value\":\"x\",\"partition\":7}", "no partition 7", 400},
        {"made", "{\"value\":\"x\",\"headers\":{\"a\":1}}", "header \"a\"", 400},
        {"made", "{\"value\":\"x\",\"colour\":1}", "unknown field", 400},
        {"absent", "{\"value\":\"x\"}", "unknown topic", 404},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        j = produce_api(bad[i].topic, bad[i].body, bad[i].status);
        if (!strstr(sval(j, "error"), bad[i].needle))
            fail_msg("%s: %s lacks %s", bad[i].body, sval(j, "error"), bad[i].needle);
        json_decref(j);
    }
}

static json_t *group_api(const char *g, int status)
{
    sl_ck_answer a = {0};
    sl_console_kafka_group(ck, g, &a);
    return answer(&a, status);
}

static json_t *reset_api(const char *g, const char *body, int status)
{
    sl_ck_answer a = {0};
    sl_console_kafka_reset(ck, g, (sl_slice){(const uint8_t *)body, strlen(body)}, &a);
    return answer(&a, status);
}

static void test_groups(void **state)
{
    (void)state;
    create_topic("feed", 2);
    produce("feed", 0, 6, 1000000);
    produce("feed", 1, 4, 5000000);
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, "readers");
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, "feed", RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(c, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);
    /* Read 7 of 10 and commit: lag 3. */
    int got = 0;
    for (int64_t end = sl_mono_ms() + 20000; got < 7 && sl_mono_ms() < end;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        if (!m->err) {
            got++;
            rd_kafka_commit_message(c, m, 0);
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(got, 7);

    sl_ck_answer a = {0};
    sl_console_kafka_groups(ck, &a);
    json_t *j = answer(&a, 200);
    json_t *g = find(json_object_get(j, "groups"), "group", "readers");
    assert_non_null(g);
    assert_string_equal(sval(g, "state"), "Stable");
    assert_int_equal(ival(g, "members"), 1);
    assert_int_equal(ival(g, "lag"), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(g, "topics"), 0)), "feed");
    json_decref(j);

    j = group_api("readers", 200);
    assert_int_equal(ival(j, "lag"), 3);
    json_t *mem = json_array_get(json_object_get(j, "members"), 0);
    assert_string_equal(sval(mem, "client_id"), "rdkafka");
    assert_int_equal(json_array_size(json_object_get(mem, "assignment")), 2);
    json_t *offs = json_object_get(j, "offsets");
    assert_int_equal(json_array_size(offs), 2);
    int64_t lag = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(offs, i);
        assert_string_equal(sval(o, "member"), sval(mem, "member_id"));
        assert_int_equal(ival(o, "lag"), ival(o, "end") - ival(o, "committed"));
        lag += ival(o, "lag");
    }
    assert_int_equal(lag, 3);
    json_decref(j);

    /* A live member blocks a reset. */
    j = reset_api("readers", "{\"to\":\"earliest\"}", 409);
    assert_non_null(strstr(sval(j, "error"), "1 active member"));
    json_decref(j);

    /* The sampler has recorded the group's lag. */
    for (int64_t end = sl_mono_ms() + 5000; sl_mono_ms() < end;) {
        uv_run(&loop, UV_RUN_ONCE);
        j = group_api("readers", 200);
        size_t n = json_array_size(json_object_get(json_object_get(j, "history"), "total"));
        json_decref(j);
        if (n >= 2) break;
    }
    j = group_api("readers", 200);
    json_t *tot = json_object_get(json_object_get(j, "history"), "total");
    assert_true(json_array_size(tot) >= 2);
    assert_int_equal(json_integer_value(json_array_get(tot, json_array_size(tot) - 1)), 3);
    json_decref(j);

    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);

    j = reset_api("readers", "{\"to\":\"earliest\"}", 200);
    assert_int_equal(json_array_size(json_object_get(j, "offsets")), 2);
    json_decref(j);
    j = group_api("readers", 200);
    assert_string_equal(sval(j, "state"), "Empty");
    assert_int_equal(ival(j, "lag"), 10);
    json_decref(j);
    j = reset_api("readers", "{\"to\":\"latest\",\"topic\":\"feed\"}", 200);
    json_decref(j);
    j = group_api("readers", 200);
    assert_int_equal(ival(j, "lag"), 0);
    json_decref(j);
    /* Partition 0's messages are at 1000000+i, partition 1's at 5000000+i. */
    j = reset_api("readers", "{\"to\":\"timestamp\",\"timestamp\":1000004}", 200);
    json_decref(j);
    j = group_api("readers", 200);
    assert_int_equal(ival(j, "lag"), 2 + 4);
    json_decref(j);

    struct {
        const char *group, *body, *needle;
        int status;
    } bad[] = {
        {"readers", "nope", "bad JSON", 400},
        {"readers", "{}", "\"to\" is required", 400},
        {"readers", "{\"to\":\"middle\"}", "earliest, latest or timestamp", 400},
        {"readers", "{\"to\":\"timestamp\"}", "needs \"timestamp\"", 400},
        {"readers", "{\"to\":\"latest\",\"topic\":5}", "wrong type", 400},
        {"readers", "{\"to\":\"latest\",\"x\":5}", "unknown field", 400},
        {"readers", "{\"to\":\"latest\",\"topic\":\"ghost\"}", "unknown topic", 404},
        {"nobody", "{\"to\":\"latest\"}", "no committed offsets", 400},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        j = reset_api(bad[i].group, bad[i].body, bad[i].status);
        if (!strstr(sval(j, "error"), bad[i].needle))
            fail_msg("%s: %s lacks %s", bad[i].body, sval(j, "error"), bad[i].needle);
        json_decref(j);
    }
    j = group_api("nobody", 404);
    json_decref(j);
}

static void test_history(void **state)
{
    (void)state;
    create_topic("rated", 1);
    /* A rate needs the topic in two samples: let one see it empty first. */
    size_t start = sl_ck_history_len(ck->hist);
    for (int64_t end = sl_mono_ms() + 5000; sl_mono_ms() < end;)
        if (uv_run(&loop, UV_RUN_ONCE), sl_ck_history_len(ck->hist) >= start + 2) break;
    produce("rated", 0, 50, sl_now_ms());
    /* A sample already in flight may predate the messages: wait for two more. */
    size_t before = sl_ck_history_len(ck->hist);
    for (int64_t end = sl_mono_ms() + 5000; sl_mono_ms() < end;)
        if (uv_run(&loop, UV_RUN_ONCE), sl_ck_history_len(ck->hist) >= before + 2) break;
    sl_ck_answer a = {0};
    sl_console_kafka_topic(ck, "rated", &a);
    json_t *j = answer(&a, 200);
    json_t *h = json_object_get(j, "history");
    double max_in = 0;
    size_t i;
    json_t *p;
    json_array_foreach(h, i, p)
    {
        max_in = SL_MAX(max_in, json_real_value(json_array_get(p, 1)));
        assert_true(json_real_value(json_array_get(p, 2)) == 0); /* nobody consumes it */
    }
    assert_true(max_in > 0);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),  cmocka_unit_test(test_browse),
        cmocka_unit_test(test_produce), cmocka_unit_test(test_groups),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
