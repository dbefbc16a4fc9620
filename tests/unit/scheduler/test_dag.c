/* test_dag.c: the DAG loader: every field and its default, default_args and per-task
 * overrides, topological order, the built-in user_automation, dates, and each bad input with
 * its file:line, with the good DAGs beside it still loading. */
#include "scheduler/dag.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static int load(sl_dagset *set, const char *text, sl_errs *errs)
{
    return sl_dag_load_str(set, text, strlen(text), "t.yaml", errs);
}

/* Loads text expecting no DAG and exactly one error equal to want. */
static void expect_error(const char *text, const char *want)
{
    sl_dagset set = {0};
    sl_errs errs = {0};
    int n = load(&set, text, &errs);
    if (n != 0 || errs.n == 0) fail_msg("loaded %d DAGs, %zu errors; wanted: %s", n, errs.n, want);
    bool found = false;
    for (size_t i = 0; i < errs.n; i++)
        found |= strcmp(errs.msgs[i], want) == 0;
    if (!found) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "got: %s\n", errs.msgs[i]);
        fail_msg("wanted: %s", want);
    }
    sl_errs_free(&errs);
    sl_dagset_free(&set);
}

static void test_all_fields(void **state)
{
    (void)state;
    const char *y =
        "dag_id: etl\n"                       /* 1 */
        "description: nightly load\n"         /* 2 */
        "tags: [a, b]\n"                      /* 3 */
        "schedule: '30 2 * * mon-fri'\n"      /* 4 */
        "timezone: Europe/Paris\n"            /* 5 */
        "start_date: 2024-01-01\n"            /* 6 */
        "end_date: 2025-01-01T00:00:00Z\n"    /* 7 */
        "catchup: true\n"                     /* 8 */
        "max_active_runs: 3\n"                /* 9 */
        "default_args:\n"                     /* 10 */
        "  retries: 2\n"                      /* 11 */
        "  retry_delay: 30s\n"                /* 12 */
        "  retry_exponential_backoff: yes\n"  /* 13 */
        "  max_retry_delay: 10m\n"            /* 14 */
        "  execution_timeout: 1h\n"           /* 15 */
        "params: {table: users, limit: 10}\n" /* 16 */
        "tasks:\n"                            /* 17 */
        "  - task_id: load\n"                 /* 18 */
        "    type: sql\n"                     /* 19 */
        "    depends_on: [extract, check]\n"  /* 20 */
        "    trigger_rule: one_success\n"     /* 21 */
        "    sql: select 1\n"                 /* 22 */
        "    conn: 'sqlite:x.db'\n"           /* 23 */
        "  - {task_id: extract, type: shell, command: 'true', retries: 0, pool: small,"
        " execution_timeout: none}\n"
        "  - {task_id: check, type: http, url: 'http://127.0.0.1/', depends_on: extract}\n";
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(load(&set, y, &errs), 1);
    sl_errs_print(&errs, stderr);
    assert_int_equal(errs.n, 0);
    const sl_dag *d = sl_dagset_find(&set, "etl");
    assert_non_null(d);
    assert_string_equal(d->file, "t.yaml");
    assert_int_equal(d->line, 1);
    assert_string_equal(d->description, "nightly load");
    assert_int_equal(d->ntags, 2);
    assert_string_equal(d->tags[1], "b");
    assert_non_null(d->schedule);
    assert_string_equal(sl_cron_text(d->schedule), "30 2 * * mon-fri");
    assert_string_equal(d->timezone, "Europe/Paris");
    assert_int_equal(d->start_date_ms, 1704063600000LL); /* 2024-01-01T00:00+01:00 */
    assert_int_equal(d->end_date_ms, 1735689600000LL);
    assert_true(d->catchup);
    assert_int_equal(d->max_active_runs, 3);
    assert_non_null(d->params);
    assert_string_equal(sl_yaml_get(d->params, "table")->scalar, "users");
    assert_int_equal(d->ntasks, 3);
    /* topological: extract, check, load */
    assert_string_equal(d->tasks[0].id, "extract");
    assert_string_equal(d->tasks[1].id, "check");
    assert_string_equal(d->tasks[2].id, "load");
    const sl_task *load_t = sl_dag_task(d, "load"), *ex = sl_dag_task(d, "extract");
    const sl_task *chk = sl_dag_task(d, "check");
    assert_string_equal(load_t->type, "sql");
    assert_int_equal(load_t->line, 18);
    assert_int_equal(load_t->ndeps, 2);
    assert_string_equal(load_t->depends_on[0], "extract");
    assert_int_equal(load_t->trigger_rule, SL_RULE_ONE_SUCCESS);
    assert_int_equal(load_t->retries, 2);
    assert_int_equal(load_t->retry_delay_ms, 30000);
    assert_true(load_t->retry_exponential_backoff);
    assert_int_equal(load_t->max_retry_delay_ms, 600000);
    assert_int_equal(load_t->execution_timeout_ms, 3600000);
    assert_null(load_t->pool);
    assert_string_equal(sl_yaml_get(load_t->spec, "sql")->scalar, "select 1");
    assert_int_equal(ex->retries, 0);
    assert_string_equal(ex->pool, "small");
    assert_int_equal(ex->execution_timeout_ms, 0);
    assert_int_equal(ex->trigger_rule, SL_RULE_ALL_SUCCESS);
    assert_int_equal(chk->ndeps, 1);
    assert_null(sl_dag_task(d, "nope"));
    assert_null(sl_dagset_find(&set, "nope"));
    sl_dagset_free(&set);
}

static void test_defaults(void **state)
{
    (void)state;
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(
        load(&set, "dag_id: d\ntasks:\n  - {task_id: t, type: shell, command: \"true\"}\n", &errs),
        1);
    const sl_dag *d = &set.dags[0];
    assert_null(d->description);
    assert_int_equal(d->ntags, 0);
    assert_null(d->schedule);
    assert_string_equal(d->timezone, "UTC");
    assert_int_equal(d->start_date_ms, 0);
    assert_int_equal(d->end_date_ms, 0);
    assert_true(d->catchup); /* Airflow 2's catchup_by_default */
    assert_int_equal(d->is_paused_upon_creation, -1);
    /* catchup false and is_paused_upon_creation as Airflow's DAG arguments */
    assert_int_equal(load(&set,
                          "dag_id: g\ncatchup: false\nis_paused_upon_creation: false\ntasks: "
                          "[{task_id: t, type: shell, command: \"true\"}]\n",
                          &errs),
                     1);
    assert_false(sl_dagset_find(&set, "g")->catchup);
    assert_int_equal(sl_dagset_find(&set, "g")->is_paused_upon_creation, 0);
    d = sl_dagset_find(&set, "d"); /* the second load may have moved the array */
    assert_int_equal(d->max_active_runs, 16);
    assert_null(d->params);
    const sl_task *t = &d->tasks[0];
    assert_int_equal(t->retries, 0);
    assert_int_equal(t->retry_delay_ms, 300000);
    assert_false(t->retry_exponential_backoff);
    assert_int_equal(t->max_retry_delay_ms, 86400000);
    assert_int_equal(t->execution_timeout_ms, 0);
    assert_int_equal(t->trigger_rule, SL_RULE_ALL_SUCCESS);
    assert_int_equal(t->ndeps, 0);
    /* schedule: none and an empty schedule are both manual-only */
    assert_int_equal(load(&set,
                          "dag_id: e\nschedule: none\ntasks: [{task_id: t, type: sql, conn: "
                          "\"sqlite:x.db\", sql: \"select 1\"}]\n",
                          &errs),
                     1);
    assert_int_equal(load(&set,
                          "dag_id: f\nschedule:\ntasks: [{task_id: t, type: sql, conn: "
                          "\"sqlite:x.db\", sql: \"select 1\"}]\n",
                          &errs),
                     1);
    assert_null(sl_dagset_find(&set, "e")->schedule);
    assert_null(sl_dagset_find(&set, "f")->schedule);
    assert_int_equal(errs.n, 0);
    sl_dagset_free(&set);
}

static void test_default_dag(void **state)
{
    (void)state;
    sl_dagset set = {0};
    sl_dag_add_default(&set);
    sl_dag_add_default(&set); /* once only */
    assert_int_equal(set.n, 1);
    const sl_dag *d = sl_dagset_find(&set, "user_automation");
    assert_non_null(d);
    assert_int_equal(sl_cron_kind_of(d->schedule), SL_CRON_EXPR);
    assert_string_equal(sl_cron_text(d->schedule), "@daily");
    assert_false(d->catchup);
    assert_int_equal(d->start_date_ms, 1693735200000LL); /* 2023-09-03T10:00Z */
    assert_int_equal(d->ntasks, 1);
    assert_string_equal(d->tasks[0].id, "stream_data_from_api");
    assert_string_equal(d->tasks[0].type, "ingest");
    assert_string_equal(sl_yaml_get(d->tasks[0].spec, "duration")->scalar, "60s");
    sl_dagset_free(&set);

    /* a user's DAG of that id wins over the built-in one */
    sl_errs errs = {0};
    assert_int_equal(
        load(&set,
             "dag_id: user_automation\ntasks: [{task_id: x, type: shell, command: \"true\"}]\n",
             &errs),
        1);
    sl_dag_add_default(&set);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.dags[0].tasks[0].id, "x");
    sl_dagset_free(&set);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *ok_tasks = "tasks:\n  - {task_id: t, type: shell, command: \"true\"}\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "dag_id: d\nschedule: '61 * * * *'\n%s", ok_tasks);
    expect_error(buf, "t.yaml:2: schedule: minute field \"61\": 61 is out of range 0-59");
    snprintf(buf, sizeof buf, "dag_id: d\nschedule: '@sometimes'\n%s", ok_tasks);
    expect_error(buf, "t.yaml:2: schedule: unknown preset \"@sometimes\" (@once @hourly @daily "
                      "@weekly @monthly @yearly)");
    snprintf(buf, sizeof buf, "dag_id: d\nschedule: '@once'\n%s", ok_tasks);
    expect_error(buf, "t.yaml:2: schedule: @once needs a start_date");
    snprintf(buf, sizeof buf, "description: no id\n%s", ok_tasks);
    expect_error(buf, "t.yaml:1: DAG: missing field dag_id");
    expect_error("dag_id: d\n", "t.yaml:1: DAG d: missing field tasks");
    expect_error("dag_id: d\ntasks: []\n",
                 "t.yaml:2: tasks: expected a list of at least one task, got an empty list");
    expect_error("dag_id: d\ntasks:\n  - {type: shell, command: \"true\"}\n",
                 "t.yaml:3: task: missing field task_id");
    expect_error("dag_id: d\ntasks:\n  - {task_id: t}\n", "t.yaml:3: task t: missing field type");
    expect_error(
        "dag_id: d\ntasks:\n  - task_id: t\n    type: bash\n",
        "t.yaml:4: type: unknown task type \"bash\" (ingest, shell, http, sql, sensor, noop)");
    expect_error("dag_id: d\ntasks:\n  - task_id: a\n    type: shell\n    command: 'true'\n"
                 "    depends_on: [b, zz]\n"
                 "  - {task_id: b, type: shell, command: \"true\"}\n",
                 "t.yaml:6: task a: depends_on: unknown task \"zz\"");
    expect_error("dag_id: d\n"
                 "tasks:\n"
                 "  - {task_id: a, type: shell, command: x, depends_on: c}\n"
                 "  - {task_id: b, type: shell, command: x, depends_on: a}\n"
                 "  - {task_id: c, type: shell, command: x, depends_on: [b]}\n",
                 "t.yaml:4: dag d: cycle in depends_on: a -> c -> b -> a");
    expect_error("dag_id: d\ntasks:\n  - {task_id: a, type: shell, command: x, depends_on: a}\n",
                 "t.yaml:3: dag d: cycle in depends_on: a -> a");
    expect_error("dag_id: d\ntasks:\n  - {task_id: a, type: shell, command: \"true\"}\n  - "
                 "{task_id: a, type: sql, conn: \"sqlite:x.db\", sql: \"select 1\"}\n",
                 "t.yaml:4: dag d: task_id \"a\" is used twice (first at line 3)");
    expect_error(
        "dag_id: d\ntasks:\n  - {task_id: b, type: shell, command: x}\n"
        "  - {task_id: b, type: shell, command: x}\n  - {task_id: b, type: shell, command: x}\n",
        "t.yaml:5: dag d: task_id \"b\" is used twice (first at line 3)");
    expect_error(
        "dag_id: d\nschedul: '@daily'\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: unknown DAG field \"schedul\"");
    expect_error("dag_id: 'bad id/x'\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
                 "t.yaml:1: dag_id: \"bad id/x\" is not an id (1-250 letters, digits, _ - .)");
    expect_error(
        "dag_id: d\ntimezone: Mars/Base\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: timezone: unknown time zone \"Mars/Base\"");
    expect_error(
        "dag_id: d\nstart_date: yesterday\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: start_date: expected a date like 2024-01-31 or "
        "2024-01-31T10:00[:00][Z|+hh:mm], got \"yesterday\"");
    expect_error("dag_id: d\nstart_date: 2024-02-30\ntasks: [{task_id: a, type: shell, command: "
                 "\"true\"}]\n",
                 "t.yaml:2: start_date: expected a date like 2024-01-31 or "
                 "2024-01-31T10:00[:00][Z|+hh:mm], got \"2024-02-30\"");
    expect_error("dag_id: d\nstart_date: 2024-02-01\nend_date: 2024-01-01\n"
                 "tasks: [{task_id: a, type: shell, command: \"true\"}]\n",
                 "t.yaml:3: end_date: not after start_date");
    expect_error(
        "dag_id: d\ncatchup: maybe\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: catchup: expected true or false, got \"maybe\"");
    expect_error(
        "dag_id: d\nis_paused_upon_creation: 2\ntasks: [{task_id: a, type: shell, command: "
        "\"true\"}]\n",
        "t.yaml:2: is_paused_upon_creation: expected true or false, got \"2\"");
    expect_error(
        "dag_id: d\nmax_active_runs: 0\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: max_active_runs: expected a whole number 1..10000, got \"0\"");
    expect_error("dag_id: d\ndefault_args: {retry_delay: 300}\ntasks: [{task_id: a, type: shell, "
                 "command: \"true\"}]\n",
                 "t.yaml:2: default_args.retry_delay: expected a duration with a unit (\"300s\", "
                 "\"5m\", \"1h\"), got \"300\"");
    expect_error("dag_id: d\ndefault_args: {owner: me}\ntasks: [{task_id: a, type: shell, command: "
                 "\"true\"}]\n",
                 "t.yaml:2: default_args: unknown field \"owner\" (retries, retry_delay, "
                 "retry_exponential_backoff, max_retry_delay, execution_timeout, pool, "
                 "trigger_rule)");
    expect_error("dag_id: d\ntasks:\n  - {task_id: a, type: shell, command: x, retries: -1}\n",
                 "t.yaml:3: retries: expected a whole number 0..1000, got \"-1\"");
    expect_error(
        "dag_id: d\ntasks:\n  - {task_id: a, type: shell, command: x, trigger_rule: none_failed}\n",
        "t.yaml:3: trigger_rule: unknown rule \"none_failed\" (all_success, all_done, "
        "one_failed, one_success)");
    expect_error(
        "dag_id: d\nparams: [1, 2]\ntasks: [{task_id: a, type: shell, command: \"true\"}]\n",
        "t.yaml:2: params: expected a map of names to defaults, got a list");
    expect_error("dag_id: d\ntasks:\n  - task_id: a\n    type: shell\n    command: \"true\"\n    "
                 "depends_on: {x: 1}\n",
                 "t.yaml:6: task a: depends_on: expected a task id or a list of them, got a map");
    expect_error("- 1\n- 2\n", "t.yaml:1: dags: expected a DAG (a map), got a value");
    expect_error("just text\n", "t.yaml:1: expected a DAG (a map with dag_id) or a list of DAGs "
                                "under dags:");
    expect_error("dag_id: d\ntasks: [\n", "t.yaml:3: syntax error: did not find expected node "
                                          "content while parsing a flow node (line 3)");
    expect_error("", "t.yaml: empty DAG file");
}

static void test_bad_dag_does_not_stop_others(void **state)
{
    (void)state;
    const char *y = "dags:\n"
                    "  - dag_id: good1\n"
                    "    tasks: [{task_id: a, type: shell, command: \"true\"}]\n"
                    "  - dag_id: bad\n"
                    "    schedule: 'nope'\n"
                    "    tasks: [{task_id: a, type: shell, command: \"true\"}]\n"
                    "  - dag_id: good1\n"
                    "    tasks: [{task_id: b, type: shell, command: \"true\"}]\n"
                    "  - dag_id: good2\n"
                    "    schedule: every 30s\n"
                    "    tasks: [{task_id: a, type: shell, command: \"true\"}]\n";
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(load(&set, y, &errs), 2);
    assert_int_equal(set.n, 2);
    assert_non_null(sl_dagset_find(&set, "good1"));
    assert_non_null(sl_dagset_find(&set, "good2"));
    assert_null(sl_dagset_find(&set, "bad"));
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.msgs[0], "t.yaml:5: schedule: \"nope\": a cron expression has 5 "
                                      "fields (minute hour day-of-month month day-of-week), "
                                      "this has 1");
    assert_string_equal(errs.msgs[1], "t.yaml:7: dag_id \"good1\" is already defined at t.yaml:2");
    sl_errs_free(&errs);
    sl_dagset_free(&set);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/sluice-test-dag-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml", "dag_id: a\ntasks: [{task_id: t, type: shell, command: \"true\"}]\n");
    write_file(dir, "b.yml", "dag_id: b\ntasks: [{task_id: t, type: bash}]\n");
    write_file(dir, "c.yaml",
               "dag_id: c\ntasks: [{task_id: t, type: http, url: x\n"
               "    url: http://127.0.0.1/\n");
    write_file(
        dir, "d.yml",
        "dag_id: d\ntasks: [{task_id: t, type: sql, conn: \"sqlite:x.db\", sql: \"select 1\"}]\n");
    write_file(dir, "notes.txt", "not a dag");
    write_file(
        dir, ".hidden.yaml",
        "dag_id: h\ntasks: [{task_id: t, type: sql, conn: \"sqlite:x.db\", sql: \"select 1\"}]\n");
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(sl_dag_load_path(&set, dir, &errs), 2);
    assert_non_null(sl_dagset_find(&set, "a"));
    assert_non_null(sl_dagset_find(&set, "d"));
    assert_int_equal(errs.n, 2);
    /* each DAG keeps the text of the file as it was read (a fresh-process try loads it) */
    const char *dt = "dag_id: a\ntasks: [{task_id: t, type: shell, command: \"true\"}]\n";
    assert_int_equal(sl_dagset_find(&set, "a")->text_len, strlen(dt));
    assert_string_equal(sl_dagset_find(&set, "a")->text, dt);
    assert_non_null(strstr(sl_dagset_find(&set, "d")->text, "sqlite:x.db"));
    char want[600];
    snprintf(want, sizeof want, "%s/b.yml:2: type: unknown task type \"bash\"", dir);
    assert_memory_equal(errs.msgs[0], want, strlen(want));
    snprintf(want, sizeof want, "%s/c.yaml:", dir);
    assert_memory_equal(errs.msgs[1], want, strlen(want));
    /* a single file works too; a missing path is SL_ERR_NOTFOUND with its name */
    sl_errs_free(&errs);
    sl_dagset_free(&set);
    char path[600];
    snprintf(path, sizeof path, "%s/a.yaml", dir);
    assert_int_equal(sl_dag_load_path(&set, path, &errs), 1);
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(sl_dag_load_path(&set, path, &errs), SL_ERR_NOTFOUND);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.msgs[0], "missing.yaml: cannot read: No such file"));
    sl_errs_free(&errs);
    sl_dagset_free(&set);
    const char *names[] = {"a.yaml", "b.yml", "c.yaml", "d.yml", "notes.txt", ".hidden.yaml"};
    for (size_t i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_dates(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(sl_dag_parse_date("2024-01-31", NULL, &ms), 0);
    assert_int_equal(ms, 1706659200000LL);
    assert_int_equal(sl_dag_parse_date("2024-01-31T10:00", NULL, &ms), 0);
    assert_int_equal(ms, 1706659200000LL + 36000000);
    assert_int_equal(sl_dag_parse_date("2024-01-31 10:00:30", NULL, &ms), 0);
    assert_int_equal(ms, 1706659200000LL + 36030000);
    assert_int_equal(sl_dag_parse_date("2024-01-31T10:00:00+02:00", "America/New_York", &ms), 0);
    assert_int_equal(ms, 1706659200000LL + 8 * 3600000);
    assert_int_equal(sl_dag_parse_date("2024-01-31T10:00Z", "America/New_York", &ms), 0);
    assert_int_equal(ms, 1706659200000LL + 36000000);
    assert_int_equal(sl_dag_parse_date("2024-07-01", "America/New_York", &ms), 0);
    assert_int_equal(ms, 1719806400000LL);
    assert_int_equal(sl_dag_parse_date("2024-13-01", NULL, &ms), SL_ERR_INVAL);
    assert_int_equal(sl_dag_parse_date("2024-1-01", NULL, &ms), SL_ERR_INVAL);
    assert_int_equal(sl_dag_parse_date("2024-01-01T25:00", NULL, &ms), SL_ERR_INVAL);
    assert_int_equal(sl_dag_parse_date("2024-01-01x", NULL, &ms), SL_ERR_INVAL);
    sl_trigger_rule r;
    assert_int_equal(sl_trigger_rule_parse("all_done", &r), 0);
    assert_int_equal(r, SL_RULE_ALL_DONE);
    assert_string_equal(sl_trigger_rule_name(SL_RULE_ONE_FAILED), "one_failed");
}

static void test_large_dag(void **state)
{
    (void)state;
    /* a chain of 2000 tasks written backwards: ordering and cycle checks stay fast */
    size_t cap = 2000 * 80 + 64, len = 0;
    char *y = malloc(cap);
    len += (size_t)snprintf(y + len, cap - len, "dag_id: big\ntasks:\n");
    for (int i = 1999; i >= 0; i--) {
        if (i)
            len += (size_t)snprintf(
                y + len, cap - len,
                "  - {task_id: t%d, type: shell, command: x, depends_on: t%d}\n", i, i - 1);
        else
            len += (size_t)snprintf(y + len, cap - len,
                                    "  - {task_id: t0, type: shell, command: \"true\"}\n");
    }
    sl_dagset set = {0};
    sl_errs errs = {0};
    assert_int_equal(sl_dag_load_str(&set, y, len, "big.yaml", &errs), 1);
    const sl_dag *d = &set.dags[0];
    assert_int_equal(d->ntasks, 2000);
    for (int i = 0; i < 2000; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%d", i);
        assert_string_equal(d->tasks[i].id, id);
    }
    sl_dagset_free(&set);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_dag),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_bad_dag_does_not_stop_others),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_large_dag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
