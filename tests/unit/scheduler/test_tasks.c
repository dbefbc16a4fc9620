/* test_tasks.c: the task types' load-time checks (each bad field named with file:line, the DAG
 * skipped) and tries that need no server: shell (env, cwd, captured output, exit status,
 * templating, cancel), sql on sqlite:, a file_exists sensor that holds and one that times out,
 * and an http request to a closed port. Tasks against real servers are in test_046x. */
#include "scheduler/dag.h"
#include "scheduler/tasks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define HEAD "dag_id: d\nparams: {who: world}\ntasks:\n  - task_id: t\n"

static void expect_error(const char *text, const char *want)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    int n = sl_dag_load_str(&set, text, strlen(text), "t.yaml", &errs);
    bool found = false;
    for (size_t i = 0; i < errs.n; i++)
        found |= strcmp(errs.msgs[i], want) == 0;
    if (n != 0 || !found) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "got: %s\n", errs.msgs[i]);
        fail_msg("loaded %d; wanted: %s", n, want);
    }
    sl_errs_free(&errs);
    sl_dagset_free(&set);
}

static void test_check(void **state)
{
    (void)state;
    expect_error(HEAD "    type: shell\n", "t.yaml:4: task t: a shell task needs command");
    expect_error(HEAD "    type: shell\n    command: true\n    colour: red\n",
                 "t.yaml:7: task t: colour: unknown field of a shell task (command, env, cwd)");
    expect_error(HEAD "    type: shell\n    command: true\n    env: [a]\n",
                 "t.yaml:7: task t: env: expected a map");
    expect_error(HEAD "    type: http\n    url: http://x/\n    expected_status: ok\n",
                 "t.yaml:7: task t: expected_status: \"ok\" is not a status or a list of them "
                 "(\"200\", \"200,204\")");
    expect_error(HEAD "    type: sql\n    conn: mysql://x\n    sql: select 1\n",
                 "t.yaml:6: task t: conn: unsupported connection (postgresql://, sqlite:PATH or "
                 "cql://)");
    expect_error(HEAD "    type: sql\n    conn: sqlite:x.db\n",
                 "t.yaml:4: task t: a sql task needs sql");
    expect_error(HEAD "    type: sensor\n    condition: moon_full\n",
                 "t.yaml:6: task t: condition: unknown condition \"moon_full\" "
                 "(consumer_lag_zero, cql_rows, file_exists)");
    expect_error(HEAD "    type: sensor\n    condition: consumer_lag_zero\n    group: g\n",
                 "t.yaml:4: task t: a consumer_lag_zero sensor needs topic");
    expect_error(HEAD "    type: sensor\n    condition: file_exists\n    path: /x\n"
                      "    poke_interval: often\n",
                 "t.yaml:8: task t: poke_interval: \"often\" is not a duration (\"30s\", \"5m\")");
    expect_error(HEAD "    type: ingest\n    count: 10\n    duration: 5s\n",
                 "t.yaml:4: task t: give count or duration, not both");
    expect_error(HEAD "    type: ingest\n    count: -3\n",
                 "t.yaml:6: task t: count: \"-3\" is not a whole number >= 0");

    /* good tasks load, templated values are left for the try */
    const char *good = HEAD "    type: shell\n    command: echo hi\n    env: {A: \"1\"}\n"
                            "  - task_id: h\n    type: http\n    url: http://x/{{ ds }}\n"
                            "    expected_status: \"200, 204\"\n    timeout: \"{{ params.t }}\"\n"
                            "  - task_id: s\n    type: sensor\n    condition: cql_rows\n"
                            "    conn: cql://127.0.0.1:9042\n    table: ks.t\n    min_rows: 5\n";
    sl_dagset set = {0};
    sl_errs errs = {0};
    int n = sl_dag_load_str(&set, good, strlen(good), "t.yaml", &errs);
    if (n != 1) sl_errs_print(&errs, stderr);
    assert_int_equal(n, 1);
    sl_errs_free(&errs);
    sl_dagset_free(&set);
}

/* Loads one DAG, runs task id with its log in a temp file, returns the exit and the log. */
static int run_task(const char *yaml, const char *id, char **logtext)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    int n = sl_dag_load_str(&set, yaml, strlen(yaml), "t.yaml", &errs);
    if (n != 1) sl_errs_print(&errs, stderr);
    assert_int_equal(n, 1);
    const sl_dag *d = &set.dags[0];
    const sl_task *t = sl_dag_task(d, id);
    assert_non_null(t);
    FILE *log = tmpfile();
    sl_task_ctx ctx = {.dag_id = d->id,
                       .task_id = id,
                       .run_id = "manual__x",
                       .try_number = 1,
                       .interval_start_ms = 1700000000000,
                       .interval_end_ms = 1700086400000,
                       .conf_json = "{\"who\": \"conf\"}"};
    int rc = sl_task_run(d, t, &ctx, log);
    long len = ftell(log);
    rewind(log);
    *logtext = calloc(1, (size_t)len + 1);
    assert_int_equal(fread(*logtext, 1, (size_t)len, log), (size_t)len);
    fclose(log);
    sl_errs_free(&errs);
    sl_dagset_free(&set);
    return rc;
}

static void test_shell(void **state)
{
    (void)state;
    char *log;
    int rc = run_task(HEAD "    type: shell\n    command: 'echo out $GREETING {{ params.who }} "
                           "{{ ds }}; echo err >&2; pwd'\n"
                           "    env: {GREETING: \"hello {{ run_id }}\"}\n    cwd: /tmp\n",
                      "t", &log);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(log, "out hello manual__x conf 2023-11-14\n"));
    assert_non_null(strstr(log, "err\n"));
    assert_non_null(strstr(log, "\n/tmp\n"));
    assert_non_null(strstr(log, "shell: exited with status 0"));
    free(log);

    rc = run_task(HEAD "    type: shell\n    command: exit 3\n", "t", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "shell: exited with status 3"));
    free(log);

    rc = run_task(HEAD "    type: shell\n    command: 'true'\n    cwd: /nonexistent/dir\n", "t",
                  &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "cwd /nonexistent/dir"));
    free(log);

    rc = run_task(HEAD "    type: shell\n    command: echo {{ nosuch }}\n", "t", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "command: "));
    free(log);
}

static void test_sqlite(void **state)
{
    (void)state;
    char path[] = "/tmp/test_tasks_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             HEAD "    type: sql\n    conn: sqlite:%s\n"
                  "    sql: create table x(a text); insert into x values ('{{ ds }}');"
                  " insert into x values ('b')\n"
                  "  - task_id: q\n    type: sql\n    conn: sqlite:%s\n"
                  "    sql: select a from x order by a\n    depends_on: t\n"
                  "  - task_id: bad\n    type: sql\n    conn: sqlite:%s\n    sql: selec nothing\n",
             path, path, path);
    char *log;
    assert_int_equal(run_task(yaml, "t", &log), 0);
    free(log);
    assert_int_equal(run_task(yaml, "q", &log), 0);
    assert_non_null(strstr(log, "\n2023-11-14\nb\n"));
    assert_non_null(strstr(log, "sql: done, 2 rows"));
    free(log);
    assert_int_equal(run_task(yaml, "bad", &log), 1);
    assert_non_null(strstr(log, "syntax error"));
    free(log);
    unlink(path);
}

static void test_file_sensor(void **state)
{
    (void)state;
    char *log;
    int rc = run_task(HEAD "    type: sensor\n    condition: file_exists\n    path: /etc/passwd\n",
                      "t", &log);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(log, "condition holds after 1 pokes"));
    free(log);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    rc = run_task(HEAD "    type: sensor\n    condition: file_exists\n    path: /nonexistent\n"
                       "    poke_interval: 100ms\n    timeout: 500ms\n",
                  "t", &log);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "sensor: timed out after"));
    assert_true(s >= 0.5 && s < 3.0);
    free(log);
}

static void test_http_refused(void **state)
{
    (void)state;
    char *log;
    int rc =
        run_task(HEAD "    type: http\n    url: http://127.0.0.1:1/\n    timeout: 2s\n", "t", &log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "http: GET http://127.0.0.1:1/"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),        cmocka_unit_test(test_shell),
        cmocka_unit_test(test_sqlite),       cmocka_unit_test(test_file_sensor),
        cmocka_unit_test(test_http_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
