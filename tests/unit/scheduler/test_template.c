/* test_template.c: each name in Airflow's format, params with conf overriding them, literals,
 * and each refusal (unknown name, unclosed braces, missing param, bad conf). */
#include "scheduler/template.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static sl_yaml *params;

static sl_tmpl_ctx ctx(const char *conf)
{
    sl_tmpl_ctx c = {
        .dag_id = "etl",
        .task_id = "load",
        .run_id = "scheduled__2024-01-31T00:00:00+00:00",
        .try_number = 2,
        .interval_start_ms = 1706659200000LL, /* 2024-01-31T00:00:00Z */
        .interval_end_ms = 1706745600000LL,
        .params = params,
        .conf_json = conf,
    };
    return c;
}

static void expect(const char *text, const char *conf, const char *want)
{
    sl_tmpl_ctx c = ctx(conf);
    char *out = NULL, err[300] = "";
    int rc = sl_tmpl_render(text, &c, &out, err, sizeof err);
    if (rc != 0) fail_msg("\"%s\": %s", text, err);
    assert_string_equal(out, want);
    sl_free(out);
}

static void expect_error(const char *text, const char *conf, const char *want)
{
    sl_tmpl_ctx c = ctx(conf);
    char *out = (char *)1, err[300] = "";
    assert_int_equal(sl_tmpl_render(text, &c, &out, err, sizeof err), SL_ERR_PARSE);
    assert_null(out);
    assert_string_equal(err, want);
}

static void test_names(void **state)
{
    (void)state;
    expect("plain text", NULL, "plain text");
    expect("", NULL, "");
    expect("{{ ds }}", NULL, "2024-01-31");
    expect("{{ds}}", NULL, "2024-01-31");
    expect("d={{ ds_nodash }}.csv", NULL, "d=20240131.csv");
    expect("{{ ts }}", NULL, "2024-01-31T00:00:00+00:00");
    expect("{{ ts_nodash }}", NULL, "20240131T000000");
    expect("{{ logical_date }}", NULL, "2024-01-31T00:00:00+00:00");
    expect("{{ data_interval_start }}..{{ data_interval_end }}", NULL,
           "2024-01-31T00:00:00+00:00..2024-02-01T00:00:00+00:00");
    expect("{{ run_id }}", NULL, "scheduled__2024-01-31T00:00:00+00:00");
    expect("{{ dag.dag_id }}/{{ task.task_id }}/{{ try_number }}", NULL, "etl/load/2");
    expect("{{ '{{' }} ds }}", NULL, "{{ ds }}");
    expect("a } b { c }}", NULL, "a } b { c }}");
}

static void test_params_and_conf(void **state)
{
    (void)state;
    expect("select * from {{ params.table }} limit {{ params.limit }}", NULL,
           "select * from users limit 10");
    expect("{{ params.db.host }}", NULL, "localhost");
    expect("{{ params.table }}", "{}", "users");
    expect("{{ params.table }}", "{\"table\": \"accounts\"}", "accounts");
    expect("{{ params.limit }}", "{\"limit\": 5}", "5");
    expect("{{ params.flag }}", "{\"flag\": true}", "true");
    expect("{{ params.extra }}", "{\"extra\": [1, 2]}", "[1,2]");
    expect("{{ params.db.host }}", "{\"db\": {\"host\": \"pg\"}}", "pg");
    /* conf that does not name the key leaves the default */
    expect("{{ params.db.host }}", "{\"db\": {\"port\": 1}}", "localhost");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{{ dss }}", NULL,
                 "{{ dss }}: unknown name (ds, ds_nodash, ts, ts_nodash, logical_date, "
                 "data_interval_start, data_interval_end, run_id, dag.dag_id, task.task_id, "
                 "try_number, params.NAME)");
    expect_error("{{ ds | upper }}", NULL,
                 "{{ ds | upper }}: unknown name (ds, ds_nodash, ts, ts_nodash, logical_date, "
                 "data_interval_start, data_interval_end, run_id, dag.dag_id, task.task_id, "
                 "try_number, params.NAME)");
    expect_error("x {{ ds", NULL, "\"{{\" at offset 2 is not closed by \"}}\"");
    expect_error("{{ }}", NULL, "\"{{ }}\" at offset 0: empty");
    expect_error("{{ params.nope }}", NULL,
                 "{{ params.nope }}: no such param (not in params or conf)");
    expect_error("{{ params.db }}", NULL, "{{ params.db }}: is a map, not a value");
    expect_error("{{ ds }}", "{not json", "conf is not JSON: string or '}' expected near 'not'");
    expect_error("{{ ds }}", "[1]", "conf is not a JSON object");
}

static int setup(void **state)
{
    (void)state;
    sl_errs errs = {0};
    const char *y = "table: users\nlimit: 10\ndb:\n  host: localhost\n";
    assert_int_equal(sl_yaml_load_str(y, strlen(y), "params", &params, &errs), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_yaml_free(params);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_params_and_conf),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
