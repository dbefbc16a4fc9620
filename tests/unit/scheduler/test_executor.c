/* test_executor.c: which task types run in-process, and an in-process try on its thread: the
 * executor's lines and the task's in the log, success, and a cancel that stops a sensor within
 * its 50 ms nap. Child-process tries are exercised end to end by test_042x. */
#include "scheduler/dag.h"
#include "scheduler/executor.h"
#include "scheduler/tasks.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static const char *dag_text = "dag_id: d\n"
                              "tasks:\n"
                              "  - {task_id: nothing, type: noop}\n"
                              "  - {task_id: sh, type: shell, command: 'true'}\n"
                              "  - {task_id: get, type: http, url: 'http://127.0.0.1:1/'}\n"
                              "  - {task_id: q, type: sql, conn: 'sqlite:x.db', sql: select 1}\n"
                              "  - {task_id: in, type: ingest, count: 1}\n"
                              "  - {task_id: wait, type: sensor, condition: file_exists,\n"
                              "     path: /nonexistent/flag, poke_interval: 20ms}\n";

static int done_calls;

static void on_done(sl_exec_thread *x, void *arg)
{
    (void)x;
    (void)arg;
    __atomic_add_fetch(&done_calls, 1, __ATOMIC_RELEASE);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_in_process_types(void **state)
{
    (void)state;
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(sl_dag_load_str(&set, dag_text, strlen(dag_text), "t.yaml", &errs), 1);
    const sl_dag *d = &set.dags[0];
    assert_true(sl_task_in_process(sl_dag_task(d, "nothing")));
    assert_true(sl_task_in_process(sl_dag_task(d, "get")));
    assert_true(sl_task_in_process(sl_dag_task(d, "wait")));
    assert_false(sl_task_in_process(sl_dag_task(d, "sh")));
    assert_false(sl_task_in_process(sl_dag_task(d, "q")));
    assert_false(sl_task_in_process(sl_dag_task(d, "in")));
    sl_dagset_free(&set);
    /* noop has no fields of its own */
    const char *bad = "dag_id: d\ntasks:\n  - task_id: t\n    type: noop\n    colour: red\n";
    assert_int_equal(sl_dag_load_str(&set, bad, strlen(bad), "t.yaml", &errs), 0);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0],
                        "t.yaml:5: task t: colour: unknown field of a noop task (it has none)");
    sl_errs_free(&errs);
    sl_dagset_free(&set);
}

static void test_thread_try(void **state)
{
    (void)state;
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(sl_dag_load_str(&set, dag_text, strlen(dag_text), "t.yaml", &errs), 1);
    const sl_dag *d = &set.dags[0];
    char dir[] = "/tmp/test_executor_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    sl_task_ctx ctx = {.dag_id = "d", .task_id = "nothing", .run_id = "r", .try_number = 1};

    /* a noop succeeds; its log has the executor's lines around the task's */
    assert_int_equal(sl_exec_log_path(dir, "d", "r", "nothing", 1, path, sizeof path), 0);
    sl_exec_thread *x = NULL;
    done_calls = 0;
    assert_int_equal(
        sl_exec_start_thread(d, sl_dag_task(d, "nothing"), &ctx, path, on_done, NULL, &x), 0);
    while (!__atomic_load_n(&done_calls, __ATOMIC_ACQUIRE))
        usleep(1000);
    assert_int_equal(sl_exec_join(x), 0);
    char want[64];
    snprintf(want, sizeof want, "(pid %ld, in-process)", (long)getpid());
    const char *log = slurp(path);
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "d.nothing: success after"));
    assert_non_null(strstr(log, "try 1 succeeded"));

    /* a sensor waiting for a file that never comes stops within its nap once cancelled */
    ctx.task_id = "wait";
    assert_int_equal(sl_exec_log_path(dir, "d", "r", "wait", 1, path, sizeof path), 0);
    done_calls = 0;
    assert_int_equal(sl_exec_start_thread(d, sl_dag_task(d, "wait"), &ctx, path, on_done, NULL, &x),
                     0);
    usleep(100000);
    assert_int_equal(__atomic_load_n(&done_calls, __ATOMIC_ACQUIRE), 0);
    int64_t t0 = sl_mono_ms();
    sl_exec_cancel(x);
    while (!__atomic_load_n(&done_calls, __ATOMIC_ACQUIRE))
        usleep(1000);
    assert_true(sl_mono_ms() - t0 < 200);
    assert_int_not_equal(sl_exec_join(x), 0);
    log = slurp(path);
    assert_non_null(strstr(log, "sensor: cancelled"));
    assert_non_null(strstr(log, "try 1 failed"));

    /* a log path that cannot be created ends the try with the error */
    done_calls = 0;
    assert_int_equal(sl_exec_start_thread(d, sl_dag_task(d, "nothing"), &ctx,
                                          "/dev/null/logs/1.log", on_done, NULL, &x),
                     0);
    while (!__atomic_load_n(&done_calls, __ATOMIC_ACQUIRE))
        usleep(1000);
    assert_int_equal(sl_exec_join(x), -ENOTDIR);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    sl_dagset_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_process_types),
        cmocka_unit_test(test_thread_try),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
