/* test_supervisor.c: the supervisor on a real loop with /bin/sh children: start order, one-shot
 * steps and their retries, restarts of a dying service, readiness timeouts, spawn failures, and
 * a child that ignores SIGTERM being killed within the stop deadline. */
#include "core/sl.h"
#include "up/supervisor.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct outcome {
    int ready_calls, ready_status;
    int stopped_calls;
} outcome;

static uv_loop_t loop;
static uv_timer_t guard;

static void on_guard(uv_timer_t *t)
{
    SL_UNUSED(t);
    /* Children may still be running, so the test cannot unwind and tear down: stop here. */
    fprintf(stderr, "the loop ran past its deadline\n");
    abort();
}

static void on_ready(void *arg, int status)
{
    outcome *o = arg;
    o->ready_calls++;
    o->ready_status = status;
}

static void on_stopped(void *arg)
{
    outcome *o = arg;
    o->stopped_calls++;
}

static void sh_child(sl_sup *s, const char *name, sl_sup_kind kind, const char *script,
                     const char *ready)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    sl_sup_spec spec = {.name = name, .kind = kind, .argv = argv, .ready_addr = ready};
    sl_sup_add(s, &spec);
}

/* Runs the loop until cond holds (or the guard fails the test). */
#define RUN_UNTIL(cond)                                                                            \
    do {                                                                                           \
        while (!(cond))                                                                            \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
    } while (0)

static void on_nap(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop for ms; a timer wakes it, since the children alone may not for a long time. */
static void run_for(int ms)
{
    uv_timer_t t;
    bool done = false;
    uv_timer_init(&loop, &t);
    t.data = &done;
    uv_timer_start(&t, on_nap, (uint64_t)ms, 0);
    RUN_UNTIL(done);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static int setup(void **state)
{
    SL_UNUSED(state);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_guard, 20000, 0);
    uv_unref((uv_handle_t *)&guard);
    return 0;
}

static int teardown(void **state)
{
    SL_UNUSED(state);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void stop_and_free(sl_sup *s, outcome *o)
{
    sl_sup_stop(s, on_stopped, o);
    RUN_UNTIL(o->stopped_calls == 1);
    sl_sup_free(s);
}

static void test_steps_run_in_order(void **state)
{
    SL_UNUSED(state);
    char path[] = "/tmp/sl-sup-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char a[256], b[256], c[256];
    /* a sleeps first: if b did not wait for a's exit, b would be written before a. */
    snprintf(a, sizeof a, "sleep 0.2; echo a >> %s", path);
    snprintf(b, sizeof b, "echo b >> %s", path);
    snprintf(c, sizeof c, "echo c >> %s", path);
    sl_sup_opts so = {.oneshot_retries = 0, .backoff_min_ms = 10};
    sl_sup *s = sl_sup_new(&loop, &so);
    sh_child(s, "a", SL_SUP_ONESHOT, a, NULL);
    sh_child(s, "b", SL_SUP_ONESHOT, b, NULL);
    sh_child(s, "c", SL_SUP_TASK, c, NULL);
    outcome o = {0};
    sl_sup_start(s, on_ready, &o);
    RUN_UNTIL(o.ready_calls == 1);
    assert_int_equal(o.ready_status, 0);
    sl_sup_status st;
    RUN_UNTIL((sl_sup_get(s, 2, &st), st.last_exit == 0));
    char buf[16] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(path);
    assert_int_equal(n, 6);
    assert_string_equal(buf, "a\nb\nc\n");
    assert_int_equal(sl_sup_count(s), 3);
    stop_and_free(s, &o);
}

static void test_failing_step_is_retried_then_fails_the_start(void **state)
{
    SL_UNUSED(state);
    sl_sup_opts so = {.oneshot_retries = 2, .backoff_min_ms = 10, .backoff_max_ms = 20};
    sl_sup *s = sl_sup_new(&loop, &so);
    sh_child(s, "bad", SL_SUP_ONESHOT, "exit 3", NULL);
    sh_child(s, "never", SL_SUP_ONESHOT, "exit 0", NULL);
    outcome o = {0};
    sl_sup_start(s, on_ready, &o);
    RUN_UNTIL(o.ready_calls == 1);
    assert_true(o.ready_status < 0);
    sl_sup_status st;
    sl_sup_get(s, 0, &st);
    assert_int_equal(st.last_exit, 3);
    sl_sup_get(s, 1, &st);
    assert_true(st.last_exit == INT64_MIN); /* the step after a failed one never ran */
    stop_and_free(s, &o);
}

static void test_dying_service_is_restarted(void **state)
{
    SL_UNUSED(state);
    sl_sup_opts so = {.backoff_min_ms = 10, .backoff_max_ms = 40};
    sl_sup *s = sl_sup_new(&loop, &so);
    sh_child(s, "flaky", SL_SUP_SERVICE, "exit 7", NULL);
    outcome o = {0};
    sl_sup_start(s, on_ready, &o);
    sl_sup_status st;
    RUN_UNTIL((sl_sup_get(s, 0, &st), st.restarts >= 3));
    assert_int_equal(st.last_exit, 7);
    assert_int_equal(o.ready_status, 0);
    stop_and_free(s, &o);
}

static void test_service_that_never_listens_fails_the_start(void **state)
{
    SL_UNUSED(state);
    /* A port nobody listens on: bind one, read its number, close it. */
    uv_tcp_t t;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&loop, &t);
    assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&sa, 0), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
    uv_close((uv_handle_t *)&t, NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(got.sin_port));

    sl_sup_opts so = {.ready_timeout_ms = 300, .backoff_min_ms = 10};
    sl_sup *s = sl_sup_new(&loop, &so);
    sh_child(s, "deaf", SL_SUP_SERVICE, "sleep 30", addr);
    outcome o = {0};
    int64_t t0 = sl_mono_ms();
    sl_sup_start(s, on_ready, &o);
    RUN_UNTIL(o.ready_calls == 1);
    assert_int_equal(o.ready_status, -ETIMEDOUT);
    assert_true(sl_mono_ms() - t0 >= 300);
    stop_and_free(s, &o);
}

static void test_child_ignoring_sigterm_is_killed_by_the_deadline(void **state)
{
    SL_UNUSED(state);
    sl_sup_opts so = {.stop_deadline_ms = 300};
    sl_sup *s = sl_sup_new(&loop, &so);
    sh_child(s, "stubborn", SL_SUP_SERVICE,
             "trap '' TERM; echo trapped; while :; do sleep 0.05; done", NULL);
    sh_child(s, "polite", SL_SUP_SERVICE, "exec sleep 30", NULL);
    outcome o = {0};
    sl_sup_start(s, on_ready, &o);
    RUN_UNTIL(o.ready_calls == 1);
    /* Give the shell time to install its trap before it is asked to stop. */
    run_for(200);
    int64_t t0 = sl_mono_ms();
    sl_sup_stop(s, on_stopped, &o);
    RUN_UNTIL(o.stopped_calls == 1);
    int64_t took = sl_mono_ms() - t0;
    assert_true(took < 2000);
    sl_sup_status st;
    sl_sup_get(s, 1, &st); /* stopped first, by SIGTERM */
    assert_int_equal(st.last_exit, -15);
    sl_sup_get(s, 0, &st); /* then killed when its share of the deadline ran out */
    assert_int_equal(st.last_exit, -9);
    sl_sup_free(s);
}

static void test_missing_executable_is_reported(void **state)
{
    SL_UNUSED(state);
    sl_sup_opts so = {.oneshot_retries = 1, .backoff_min_ms = 10};
    sl_sup *s = sl_sup_new(&loop, &so);
    char *argv[] = {"/nonexistent/sluice", NULL};
    sl_sup_spec spec = {.name = "ghost", .kind = SL_SUP_ONESHOT, .argv = argv};
    sl_sup_add(s, &spec);
    outcome o = {0};
    sl_sup_start(s, on_ready, &o);
    RUN_UNTIL(o.ready_calls == 1);
    assert_true(o.ready_status < 0);
    sl_sup_status st;
    sl_sup_get(s, 0, &st);
    assert_int_equal(st.last_exit, 127);
    stop_and_free(s, &o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_steps_run_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_step_is_retried_then_fails_the_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dying_service_is_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_that_never_listens_fails_the_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_child_ignoring_sigterm_is_killed_by_the_deadline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_executable_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
