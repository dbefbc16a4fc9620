/* test_meta.c: the metadata store on SQLite: WAL mode, the migrations step by step (a store at
 * version 1 is brought to the newest on open, a newer one is refused), parameters and NULLs,
 * transactions that roll back, bad URLs, and password redaction; the statement cache (more
 * distinct statements than it holds, each still right); WAL checkpoints done by the store's
 * checkpointer thread, so the WAL stops growing; with a loop, the committer's own checkpoint
 * waits for a pause in commits. */
#include "scheduler/meta.h"

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

static char path[256], url[300];

static int setup(void **st)
{
    (void)st;
    snprintf(path, sizeof path, "/tmp/sl_test_meta_%ld.db", (long)getpid());
    snprintf(url, sizeof url, "sqlite:%s", path);
    unlink(path);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char p[300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    return 0;
}

static int64_t scalar(sl_meta *m, const char *sql)
{
    sl_meta_rows r;
    assert_int_equal(sl_meta_exec(m, sql, 0, NULL, &r), 0);
    int64_t v = sl_meta_cell_i64(&r, 0, 0, -1);
    sl_meta_rows_free(&r);
    return v;
}

static void test_migrations(void **st)
{
    (void)st;
    sl_meta *m;
    char err[200];
    assert_int_equal(sl_meta_open_version(url, 1, &m, err, sizeof err), 0);
    assert_int_equal(sl_meta_version(m), 1);
    assert_int_equal(scalar(m, "SELECT count(*) FROM sqlite_master WHERE name='ti_state'"), 0);
    sl_meta_rows r;
    assert_int_equal(sl_meta_exec(m, "PRAGMA journal_mode", 0, NULL, &r), 0);
    assert_string_equal(sl_meta_cell(&r, 0, 0), "wal");
    sl_meta_rows_free(&r);
    const char *p[] = {"d1"};
    assert_int_equal(sl_meta_exec(m, "INSERT INTO dag (dag_id) VALUES ($1)", 1, p, NULL), 0);
    sl_meta_close(m);
    /* reopening migrates 1 -> newest and keeps the data */
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), 0);
    assert_int_equal(sl_meta_version(m), SL_META_SCHEMA_VERSION);
    assert_int_equal(scalar(m, "SELECT count(*) FROM sqlite_master WHERE name='ti_state'"), 1);
    assert_int_equal(scalar(m, "SELECT count(*) FROM dag WHERE dag_id='d1'"), 1);
    assert_int_equal(scalar(m, "SELECT count(*) FROM sl_schema"), 1);
    /* a store from a newer sluice is refused, not downgraded */
    assert_int_equal(sl_meta_exec(m, "UPDATE sl_schema SET version=99", 0, NULL, NULL), 0);
    sl_meta_close(m);
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), SL_ERR_CLOSED);
    assert_non_null(strstr(err, "newer"));
}

static void test_exec_and_transactions(void **st)
{
    (void)st;
    sl_meta *m;
    char err[200];
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), 0);
    assert_false(sl_meta_is_pg(m));
    assert_string_equal(sl_meta_lock_clause(m), "");
    const char *p[] = {"d", "r1", "scheduled", "queued", "10", "10", "20", "{\"a\":1}", NULL};
    assert_int_equal(sl_meta_exec(m,
                                  "INSERT INTO dag_run (dag_id, run_id, run_type, state,"
                                  " logical_ms, interval_start_ms, interval_end_ms, conf,"
                                  " queued_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                                  9, p, NULL),
                     0);
    sl_meta_rows r;
    assert_int_equal(
        sl_meta_exec(m, "SELECT conf, queued_ms, interval_end_ms FROM dag_run", 0, NULL, &r), 0);
    assert_int_equal(r.nrows, 1);
    assert_string_equal(sl_meta_cell(&r, 0, 0), "{\"a\":1}");
    assert_null(sl_meta_cell(&r, 0, 1));
    assert_int_equal(sl_meta_cell_i64(&r, 0, 1, -5), -5);
    assert_int_equal(sl_meta_cell_i64(&r, 0, 2, 0), 20);
    assert_null(sl_meta_cell(&r, 1, 0));
    sl_meta_rows_free(&r);
    /* a rolled back transaction leaves nothing */
    assert_int_equal(sl_meta_begin(m), 0);
    assert_int_equal(sl_meta_exec_changes(m, "UPDATE dag_run SET state='running'", 0, NULL), 1);
    sl_meta_rollback(m);
    assert_int_equal(scalar(m, "SELECT count(*) FROM dag_run WHERE state='queued'"), 1);
    /* a committed one stays; a '$' inside quotes is text, not a parameter */
    assert_int_equal(sl_meta_begin(m), 0);
    assert_int_equal(sl_meta_exec_changes(m, "UPDATE dag_run SET conf='$1' WHERE run_id=$1", 1,
                                          (const char *[]){"r1"}),
                     1);
    assert_int_equal(sl_meta_commit(m), 0);
    assert_int_equal(scalar(m, "SELECT count(*) FROM dag_run WHERE conf='$1'"), 1);
    /* the primary key holds, with the engine's message */
    assert_int_equal(sl_meta_exec(m,
                                  "INSERT INTO dag_run (dag_id, run_id, run_type, state,"
                                  " logical_ms, interval_start_ms, interval_end_ms, conf,"
                                  " queued_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                                  9, p, NULL),
                     SL_ERR_CLOSED);
    assert_non_null(strstr(sl_meta_error(m), "UNIQUE"));
    assert_int_equal(sl_meta_exec(m, "SELEC nonsense", 0, NULL, NULL), SL_ERR_CLOSED);
    sl_meta_rollback(m); /* harmless without a transaction */
    sl_meta_close(m);
}

static void test_statement_cache(void **st)
{
    (void)st;
    sl_meta *m;
    char err[200], sql[100];
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), 0);
    /* 3 rounds of 100 distinct statements through a 64-entry cache, each with its own answer */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100; i++) {
            snprintf(sql, sizeof sql, "SELECT %d + $1", i);
            sl_meta_rows r;
            assert_int_equal(sl_meta_exec(m, sql, 1, (const char *[]){"1000"}, &r), 0);
            assert_int_equal(sl_meta_cell_i64(&r, 0, 0, -1), 1000 + i);
            sl_meta_rows_free(&r);
        }
    /* a statement that failed is reusable; a NULL parameter is not left bound */
    assert_int_equal(sl_meta_exec(m, "SELECT 1/0 + abs($1)", 1, (const char *[]){"x"}, NULL), 0);
    assert_int_equal(sl_meta_exec(m, "SELECT coalesce($1, 7)", 1, (const char *[]){"3"}, NULL), 0);
    sl_meta_rows r;
    assert_int_equal(sl_meta_exec(m, "SELECT coalesce($1, 7)", 1, (const char *[]){NULL}, &r), 0);
    assert_int_equal(sl_meta_cell_i64(&r, 0, 0, -1), 7);
    sl_meta_rows_free(&r);
    sl_meta_close(m);
}

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void test_checkpointer(void **st)
{
    (void)st;
    sl_meta *m;
    char err[200], wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), 0);
    assert_int_equal(sl_meta_checkpoints(m, NULL), 0);
    assert_int_equal(sl_meta_exec(m, "CREATE TABLE big (v BLOB)", 0, NULL, NULL), 0);
    /* 2,000 commits of 2 pages each: 4,000 WAL pages, past the 1,000 that call the checkpointer
     * thread; each in its own transaction as the scheduler's are */
    for (int i = 0; i < 2000; i++)
        assert_int_equal(sl_meta_exec(m, "INSERT INTO big VALUES (zeroblob(5000))", 0, NULL, NULL),
                         0);
    for (int i = 0; i < 500 && sl_meta_checkpoints(m, NULL) < 1; i++)
        usleep(10000);
    assert_true(sl_meta_checkpoints(m, NULL) >= 1);
    /* 6,000 more commits back to back, leaving the thread no gap to catch up in: the committer
     * checkpoints at 4,000 pages (16 MB) itself, so the WAL stays bounded; without checkpoints
     * it would be some 96 MB */
    for (int i = 0; i < 6000; i++)
        assert_int_equal(sl_meta_exec(m, "INSERT INTO big VALUES (zeroblob(5000))", 0, NULL, NULL),
                         0);
    long after = file_size(wal);
    assert_true(after > 0 && after < 24L * 1024 * 1024);
    assert_int_equal(scalar(m, "SELECT count(*) FROM big"), 8000);
    int64_t own;
    sl_meta_checkpoints(m, &own);
    assert_true(own >= 1);
    sl_meta_close(m);
}

static void on_stop(uv_timer_t *t)
{
    (void)t;
}

/* With a loop: 6,000 pages of back-to-back commits make no checkpoint on the committing thread
 * (the scheduler's launches stay free of its fsyncs); the first 20 ms without a commit does
 * one; past 16,000 pages a loop that never pauses checkpoints anyway, so the WAL stays
 * bounded. */
static void test_checkpoint_waits_for_pause(void **st)
{
    (void)st;
    sl_meta *m;
    char err[200], wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    uv_loop_t loop;
    uv_loop_init(&loop);
    assert_int_equal(sl_meta_open(url, &m, err, sizeof err), 0);
    sl_meta_set_loop(m, &loop);
    assert_int_equal(sl_meta_exec(m, "CREATE TABLE big (v BLOB)", 0, NULL, NULL), 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(sl_meta_exec(m, "INSERT INTO big VALUES (zeroblob(5000))", 0, NULL, NULL),
                         0);
    int64_t own = -1;
    sl_meta_checkpoints(m, &own);
    assert_int_equal(own, 0);
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    uv_timer_start(&stop, on_stop, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_meta_checkpoints(m, &own);
    assert_int_equal(own, 1);
    for (int i = 0; i < 12000; i++)
        assert_int_equal(sl_meta_exec(m, "INSERT INTO big VALUES (zeroblob(5000))", 0, NULL, NULL),
                         0);
    long after = file_size(wal);
    assert_true(after > 0 && after < 72L * 1024 * 1024);
    assert_int_equal(scalar(m, "SELECT count(*) FROM big"), 15000);
    sl_meta_set_loop(m, NULL);
    uv_close((uv_handle_t *)&stop, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    sl_meta_close(m);
}

static void test_bad_urls(void **st)
{
    (void)st;
    sl_meta *m;
    char err[300];
    assert_int_equal(sl_meta_open("mysql://x", &m, err, sizeof err), SL_ERR_CONFIG);
    assert_null(m);
    assert_int_equal(sl_meta_open("sqlite:", &m, err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(sl_meta_open("sqlite:/nonexistent/dir/x.db", &m, err, sizeof err),
                     SL_ERR_CLOSED);
    assert_int_equal(
        sl_meta_open("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2", &m, err, sizeof err),
        SL_ERR_CLOSED);
    assert_null(strstr(err, "secret"));
    assert_string_equal(sl_meta_url_redacted("postgresql://u:secret@h/db"),
                        "postgresql://u:***@h/db");
    assert_string_equal(sl_meta_url_redacted("postgresql://u@h/db"), "postgresql://u@h/db");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_and_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_waits_for_pause, setup, teardown),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
