/* test_kafka_history.c: the sampler's ring: rates from consecutive samples (a counter going
 * backwards is no traffic), eviction of the oldest sample, and the chart series it serves. */
#include "console/kafka_int.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void push(sl_ck_history *h, int64_t ts, int64_t end, int64_t consumed, int64_t lag0,
                 int64_t lag1)
{
    sl_ck_sample s = {.ts = ts};
    s.topics = sl_calloc(3, sizeof *s.topics);
    /* Out of order on purpose: push sorts. */
    s.topics[0] = (sl_ck_sample_topic){sl_strdup("zeta"), 5, 0};
    s.topics[1] = (sl_ck_sample_topic){sl_strdup("users"), end, consumed};
    s.topics[2] = (sl_ck_sample_topic){sl_strdup("_schemas"), ts, 0}; /* internal, always busy */
    s.ntopics = 3;
    s.groups = sl_calloc(1, sizeof *s.groups);
    s.ngroups = 1;
    s.groups[0].name = sl_strdup("proc");
    s.groups[0].parts = sl_calloc(2, sizeof *s.groups[0].parts);
    s.groups[0].parts[0] = (sl_ck_sample_lag){sl_strdup("users"), 1, lag1};
    s.groups[0].parts[1] = (sl_ck_sample_lag){sl_strdup("users"), 0, lag0};
    s.groups[0].nparts = 2;
    s.groups[0].lag = lag0 + lag1;
    sl_ck_history_push(h, &s);
    assert_null(s.topics); /* ownership moved */
}

static json_t *parse(sl_buf *b)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)b->ptr, b->len, 0, &e);
    if (!j) fail_msg("bad JSON %.*s: %s", (int)b->len, b->ptr, e.text);
    return j;
}

static void test_rates(void **state)
{
    (void)state;
    sl_ck_history *h = sl_ck_history_new(3);
    double in, out;
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 0 && out == 0);
    push(h, 1000, 100, 50, 30, 20);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 0 && out == 0); /* one sample is no rate */
    push(h, 3000, 300, 150, 10, 5);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 100.0 && out == 50.0);
    sl_ck_history_rates(h, "missing", &in, &out);
    assert_true(in == 0 && out == 0);
    /* A reset to earliest moves consumed backwards: no negative rate. */
    push(h, 4000, 400, 0, 400, 0);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 100.0 && out == 0);
    assert_int_equal(sl_ck_history_len(h), 3);
    push(h, 5000, 400, 100, 300, 0);
    assert_int_equal(sl_ck_history_len(h), 3); /* the oldest went */

    sl_buf b = SL_BUF_INIT;
    sl_ck_history_topic_json(h, "users", &b);
    json_t *j = parse(&b);
    assert_int_equal(json_array_size(j), 2);
    json_t *p = json_array_get(j, 1);
    assert_int_equal(json_integer_value(json_array_get(p, 0)), 5000);
    assert_true(json_real_value(json_array_get(p, 1)) == 0.0);
    assert_true(json_real_value(json_array_get(p, 2)) == 100.0);
    json_decref(j);

    /* The total leaves out internal topics and adds up the others ("zeta" is flat). */
    sl_buf_reset(&b);
    sl_ck_history_total_json(h, &b);
    j = parse(&b);
    assert_int_equal(json_array_size(j), 2);
    assert_true(json_real_value(json_array_get(json_array_get(j, 1), 1)) == 0.0);
    assert_true(json_real_value(json_array_get(json_array_get(j, 1), 2)) == 100.0);
    json_decref(j);

    sl_buf_reset(&b);
    sl_ck_history_group_json(h, "proc", &b);
    j = parse(&b);
    assert_int_equal(json_array_size(json_object_get(j, "ts")), 3);
    json_t *tot = json_object_get(j, "total");
    assert_int_equal(json_integer_value(json_array_get(tot, 0)), 15);
    assert_int_equal(json_integer_value(json_array_get(tot, 2)), 300);
    json_t *parts = json_object_get(j, "partitions");
    assert_int_equal(json_object_size(parts), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(parts, "users/0"), 1)), 400);
    json_decref(j);

    sl_buf_reset(&b);
    sl_ck_history_group_json(h, "nobody", &b);
    j = parse(&b);
    assert_int_equal(json_array_size(json_object_get(j, "ts")), 0);
    json_decref(j);

    sl_buf_reset(&b);
    sl_ck_history_topic_groups_json(h, "users", &b);
    j = parse(&b);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "group")), "proc");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "lag")), 300);
    json_decref(j);
    sl_buf_reset(&b);
    sl_ck_history_topic_groups_json(h, "zeta", &b);
    assert_string_equal(sl_buf_cstr(&b), "[]");
    /* A sample that could not read every partition (-1) shows no rate; the next known one shows
     * the mean since the last known one (5000: 400 in, 100 out), so nothing is lost. */
    push(h, 6000, -1, -1, 0, 0);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 0 && out == 0);
    push(h, 7000, 500, 200, 0, 0);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 50.0 && out == 50.0);
    /* Two unknowns in a row: the ring (3) holds 6000 -1, 7000 known, 8000 -1, then 9000. */
    push(h, 8000, -1, 200, 0, 0);
    push(h, 9000, 700, 200, 0, 0);
    sl_ck_history_rates(h, "users", &in, &out);
    assert_true(in == 100.0 && out == 0);
    sl_buf_free(&b);
    sl_ck_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
