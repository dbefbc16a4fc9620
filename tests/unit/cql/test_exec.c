/* test_exec.c: the CQL engine driven directly, statement by statement, over a temp data dir
 * (a real RocksDB, a real uv loop, the group-commit sync worker): DDL, DML, SELECT with every
 * clause, errors with their codes and messages, paging, LWT, TTL on an injected clock, the
 * virtual system tables and DESCRIBE. */
#include "cql/exec.h"
#include "cql/types.h"
#include "core/codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[64];
static uv_loop_t loop;
static sl_cql_engine *eng;
static sl_cql_session *sess;
static int64_t clock_us;
static bool use_clock;

static int64_t test_clock(void *arg)
{
    (void)arg;
    return clock_us;
}

static void open_engine(void)
{
    sl_cql_engine_opts o;
    sl_cql_engine_opts_default(&o);
    o.data_dir = dir;
    o.rpc_address = "127.0.0.1";
    o.rpc_port = 19042;
    if (use_clock) {
        o.clock_us = test_clock;
        o.clock_arg = NULL;
    }
    char *err = NULL;
    int rc = sl_cql_engine_open(&loop, &o, &eng, &err);
    if (rc != 0) fail_msg("engine open: %s", err ? err : "?");
    sess = sl_cql_session_new(eng, NULL);
}

static void close_engine(void)
{
    sl_cql_session_free(sess);
    sl_cql_engine_close(eng);
    uv_run(&loop, UV_RUN_DEFAULT); /* the store's handles close */
    sess = NULL;
    eng = NULL;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sluice-exec-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    uv_loop_init(&loop);
    use_clock = false;
    clock_us = 1700000000LL * 1000000;
    open_engine();
    return 0;
}

static int setup_clock(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sluice-exec-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    uv_loop_init(&loop);
    use_clock = true;
    clock_us = 1700000000LL * 1000000;
    open_engine();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close_engine();
    uv_loop_close(&loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void on_done(void *arg, sl_cql_result *res)
{
    *(sl_cql_result **)arg = res;
}

static sl_cql_result *wait_result(sl_cql_result **slot)
{
    while (!*slot)
        uv_run(&loop, UV_RUN_ONCE);
    return *slot;
}

/* Runs a QUERY with optional values (NULL-terminated text values are not needed here). */
static sl_cql_result *qv(const char *cql, const sl_cql_value *vals, size_t n, int32_t page,
                         sl_slice paging)
{
    sl_cql_query q;
    memset(&q, 0, sizeof q);
    q.text = SL_SLICE_STR(cql);
    q.values = vals;
    q.n_values = n;
    q.consistency = SL_CQL_CL_ONE;
    q.page_size = page;
    q.paging_state = paging;
    sl_cql_result *res = NULL;
    sl_cql_execute(eng, sess, &q, on_done, &res);
    return wait_result(&res);
}

static sl_cql_result *q(const char *cql)
{
    return qv(cql, NULL, 0, 0, SL_SLICE_NULL);
}

/* Runs a statement that must succeed and frees its result. */
static void ok(const char *cql)
{
    sl_cql_result *r = q(cql);
    if (r->kind == SL_CQL_RESULT_ERROR)
        fail_msg("%s -> 0x%04x %s", cql, r->error.code, r->error.message);
    sl_cql_result_free(r);
}

/* Runs a statement that must fail with code and a message containing msg. */
static void err(const char *cql, sl_cql_errcode code, const char *msg)
{
    sl_cql_result *r = q(cql);
    if (r->kind != SL_CQL_RESULT_ERROR)
        fail_msg("%s: expected error 0x%04x, got kind %d", cql, code, r->kind);
    if (r->error.code != code || (msg && !strstr(r->error.message, msg)))
        fail_msg("%s: expected 0x%04x '%s', got 0x%04x '%s'", cql, code, msg ? msg : "",
                 r->error.code, r->error.message);
    sl_cql_result_free(r);
}

static sl_cql_value V(const void *p, size_t n)
{
    return (sl_cql_value){{(const uint8_t *)p, n}, SL_CQL_VALUE};
}

static sl_cql_value VS(const char *s)
{
    return V(s, strlen(s));
}

static sl_cql_value VI(int32_t v)
{
    static uint8_t bufs[64][4];
    static int k;
    uint8_t *b = bufs[k++ % 64];
    sl_put_be32(b, (uint32_t)v);
    return V(b, 4);
}

static sl_cql_value VB(int64_t v)
{
    static uint8_t bufs[64][8];
    static int k;
    uint8_t *b = bufs[k++ % 64];
    sl_put_be64(b, (uint64_t)v);
    return V(b, 8);
}

/* The cells of a ROWS result as display text: rows joined by '\n', cells by '|'. */
static char *rows_text(const sl_cql_result *r)
{
    assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
    sl_buf out = SL_BUF_INIT;
    sl_cql_dtype **types = calloc(r->n_columns ? r->n_columns : 1, sizeof *types);
    for (size_t i = 0; i < r->n_columns; i++) {
        sl_rd rd;
        sl_rd_init(&rd, r->columns[i].type.ptr, r->columns[i].type.len);
        assert_int_equal(sl_cql_dtype_decode_option(&rd, &types[i]), 0);
    }
    size_t off = 0;
    for (uint32_t row = 0; row < r->row_count; row++) {
        if (row) sl_buf_append_str(&out, "\n");
        for (size_t c = 0; c < r->n_columns; c++) {
            sl_cql_value v;
            assert_true(sl_cql_result_next_cell(r, &off, &v));
            if (c) sl_buf_append_str(&out, "|");
            sl_cql_value_format(types[c], v.kind == SL_CQL_NULL ? SL_SLICE_NULL : v.bytes,
                                SL_CQL_FMT_DISPLAY, &out);
        }
    }
    for (size_t i = 0; i < r->n_columns; i++)
        sl_cql_dtype_release(types[i]);
    free(types);
    char *s = strdup(sl_buf_cstr(&out));
    sl_buf_free(&out);
    return s;
}

/* Runs a SELECT and compares its rows as text. */
static void rows(const char *cql, const char *want)
{
    sl_cql_result *r = q(cql);
    if (r->kind == SL_CQL_RESULT_ERROR)
        fail_msg("%s -> 0x%04x %s", cql, r->error.code, r->error.message);
    char *got = rows_text(r);
    if (strcmp(got, want) != 0) fail_msg("%s\n got:\n%s\n want:\n%s", cql, got, want);
    free(got);
    sl_cql_result_free(r);
}

static void col_names(const sl_cql_result *r, const char *want)
{
    sl_buf b = SL_BUF_INIT;
    for (size_t i = 0; i < r->n_columns; i++)
        sl_buf_printf(&b, "%s%s", i ? "," : "", r->columns[i].name);
    if (strcmp(sl_buf_cstr(&b), want) != 0) fail_msg("columns %s, want %s", sl_buf_cstr(&b), want);
    sl_buf_free(&b);
}

static void schema_ks(void)
{
    ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': "
       "1}");
    ok("USE ks");
}

/* ---- DDL ---- */

static int events;
static sl_cql_schema_change last_event;
static char last_event_ks[64], last_event_name[64];

static void on_schema(void *arg, const sl_cql_schema_change *c)
{
    (void)arg;
    events++;
    last_event = *c;
    snprintf(last_event_ks, sizeof last_event_ks, "%s", c->keyspace);
    snprintf(last_event_name, sizeof last_event_name, "%s", c->name ? c->name : "");
}

static void test_ddl(void **state)
{
    (void)state;
    sl_cql_engine_on_schema_change(eng, on_schema, NULL);
    uint8_t v0[16], v1[16];
    sl_cql_engine_schema_version(eng, v0);
    sl_cql_result *r = q("CREATE KEYSPACE spark_streams WITH replication = "
                         "{'class':'SimpleStrategy', 'replication_factor':'1'}");
    assert_int_equal(r->kind, SL_CQL_RESULT_SCHEMA_CHANGE);
    assert_int_equal(r->schema_change.change, SL_CQL_CHANGE_CREATED);
    assert_int_equal(r->schema_change.target, SL_CQL_TARGET_KEYSPACE);
    assert_string_equal(r->schema_change.keyspace, "spark_streams");
    assert_null(r->schema_change.name);
    sl_cql_result_free(r);
    assert_int_equal(events, 1);
    sl_cql_engine_schema_version(eng, v1);
    assert_memory_not_equal(v0, v1, 16);

    err("CREATE KEYSPACE spark_streams WITH replication = {'class':'SimpleStrategy', "
        "'replication_factor':'1'}",
        SL_CQL_ERR_ALREADY_EXISTS, "Cannot add existing keyspace \"spark_streams\"");
    r = q("CREATE KEYSPACE spark_streams WITH replication = {'class':'SimpleStrategy', "
          "'replication_factor':'1'}");
    assert_string_equal(r->error.keyspace, "spark_streams");
    assert_string_equal(r->error.table, "");
    sl_cql_result_free(r);
    r = q("CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = "
          "{'class':'SimpleStrategy', 'replication_factor':'1'}");
    assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
    sl_cql_result_free(r);
    err("CREATE KEYSPACE k2 WITH replication = {'class':'SimpleStrategy'}", SL_CQL_ERR_CONFIG,
        "SimpleStrategy requires a replication_factor strategy option.");
    err("CREATE KEYSPACE k2 WITH replication = {'class':'NoSuchStrategy', 'replication_factor': 1}",
        SL_CQL_ERR_CONFIG, "Unable to find replication strategy class");
    err("CREATE KEYSPACE k2 WITH replication = {'class':'SimpleStrategy', 'replication_factor': 1} "
        "AND foo = 1",
        SL_CQL_ERR_SYNTAX, "Unknown property 'foo'");
    ok("CREATE KEYSPACE k3 WITH replication = {'class':'NetworkTopologyStrategy', 'datacenter1': "
       "1} AND durable_writes = false");

    events = 0;
    r = q("CREATE TABLE spark_streams.created_users (id UUID PRIMARY KEY, first_name TEXT, "
          "last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, username TEXT, "
          "dob TEXT, registered_date TEXT, phone TEXT, picture TEXT)");
    assert_int_equal(r->kind, SL_CQL_RESULT_SCHEMA_CHANGE);
    assert_int_equal(r->schema_change.target, SL_CQL_TARGET_TABLE);
    assert_string_equal(r->schema_change.keyspace, "spark_streams");
    assert_string_equal(r->schema_change.name, "created_users");
    sl_cql_result_free(r);
    assert_int_equal(events, 1);
    assert_string_equal(last_event_name, "created_users");
    err("CREATE TABLE spark_streams.created_users (id uuid PRIMARY KEY)", SL_CQL_ERR_ALREADY_EXISTS,
        "Cannot add already existing table \"created_users\" to keyspace \"spark_streams\"");
    ok("CREATE TABLE IF NOT EXISTS spark_streams.created_users (id uuid PRIMARY KEY)");
    err("CREATE TABLE nope.t (id int PRIMARY KEY)", SL_CQL_ERR_INVALID,
        "Keyspace 'nope' doesn't exist");
    err("CREATE TABLE t (id int PRIMARY KEY)", SL_CQL_ERR_INVALID,
        "No keyspace has been specified");
    ok("USE spark_streams");
    err("CREATE TABLE t (a int, b int)", SL_CQL_ERR_INVALID,
        "No PRIMARY KEY specifed for table 't'");
    err("CREATE TABLE t (a int, b int, PRIMARY KEY (a, c))", SL_CQL_ERR_INVALID,
        "Unknown definition c referenced in PRIMARY KEY");
    err("CREATE TABLE t (a int PRIMARY KEY, b int static)", SL_CQL_ERR_INVALID,
        "Static columns are only useful");
    err("CREATE TABLE t (a int PRIMARY KEY, b foo)", SL_CQL_ERR_INVALID, NULL);
    err("CREATE TABLE t (a int PRIMARY KEY, b int) WITH nope = 1", SL_CQL_ERR_SYNTAX,
        "Unknown property 'nope'");
    err("CREATE TABLE t (a int, b int, c int, PRIMARY KEY (a, b, c)) WITH CLUSTERING ORDER BY (c "
        "DESC, b ASC)",
        SL_CQL_ERR_INVALID, "CLUSTERING ORDER");
    ok("CREATE TABLE events (k text, c1 int, c2 timestamp, s text static, v text, m map<text, "
       "int>, "
       "PRIMARY KEY ((k), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC) AND comment = 'hi' "
       "AND gc_grace_seconds = 10");
    ok("CREATE TABLE composite (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))");

    /* ALTER, TRUNCATE, DROP */
    r = q("ALTER TABLE events ADD extra int");
    assert_int_equal(r->kind, SL_CQL_RESULT_SCHEMA_CHANGE);
    assert_int_equal(r->schema_change.change, SL_CQL_CHANGE_UPDATED);
    sl_cql_result_free(r);
    err("ALTER TABLE events ADD extra int", SL_CQL_ERR_INVALID, "already exists");
    ok("INSERT INTO events (k, c1, c2, v, extra) VALUES ('a', 1, 0, 'x', 5)");
    rows("SELECT extra FROM events", "5");
    ok("ALTER TABLE events DROP extra");
    err("SELECT extra FROM events", SL_CQL_ERR_INVALID, "Undefined column name extra");
    err("ALTER TABLE events DROP c1", SL_CQL_ERR_INVALID, "PRIMARY KEY");
    ok("ALTER TABLE events WITH comment = 'changed'");
    ok("TRUNCATE events");
    rows("SELECT * FROM events", "");
    r = q("DROP TABLE composite");
    assert_int_equal(r->schema_change.change, SL_CQL_CHANGE_DROPPED);
    sl_cql_result_free(r);
    err("DROP TABLE composite", SL_CQL_ERR_INVALID, "doesn't exist");
    ok("DROP TABLE IF EXISTS composite");
    ok("DROP KEYSPACE k3");
    err("DROP KEYSPACE k3", SL_CQL_ERR_INVALID, NULL);
    ok("DROP KEYSPACE IF EXISTS k3");
    err("DROP KEYSPACE system", SL_CQL_ERR_UNAUTHORIZED, NULL);
    err("USE nope", SL_CQL_ERR_INVALID, "Keyspace 'nope' does not exist");
    r = q("USE spark_streams");
    assert_int_equal(r->kind, SL_CQL_RESULT_SET_KEYSPACE);
    assert_string_equal(r->keyspace, "spark_streams");
    assert_string_equal(sl_cql_session_keyspace(sess), "spark_streams");
    sl_cql_result_free(r);
    err("CREATE TYPE t (a int)", SL_CQL_ERR_INVALID, "not supported");
    err("CREATE INDEX ON events (v)", SL_CQL_ERR_INVALID, "not supported");
    err("SELEC * FROM events", SL_CQL_ERR_SYNTAX, "line 1:0");
    sl_cql_engine_on_schema_change(eng, NULL, NULL);
}

/* Schema and data survive closing and reopening the engine. */
static void test_reopen(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE t (id int PRIMARY KEY, v text)");
    ok("INSERT INTO t (id, v) VALUES (1, 'one')");
    close_engine();
    open_engine();
    ok("USE ks");
    rows("SELECT id, v FROM t", "1|one");
}

/* ---- DML ---- */

static void test_insert_select(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE created_users (id uuid PRIMARY KEY, first_name text, last_name text, email "
       "text)");
    ok("INSERT INTO created_users (id, first_name, last_name, email) VALUES "
       "(123e4567-e89b-12d3-a456-426614174000, 'Ada', 'Lovelace', 'ada@example.com')");
    rows("SELECT first_name, last_name FROM created_users WHERE id = "
         "123e4567-e89b-12d3-a456-426614174000",
         "Ada|Lovelace");
    sl_cql_result *r = q("SELECT * FROM created_users");
    col_names(r, "id,email,first_name,last_name");
    char *t = rows_text(r);
    assert_string_equal(t, "123e4567-e89b-12d3-a456-426614174000|ada@example.com|Ada|Lovelace");
    free(t);
    sl_cql_result_free(r);
    /* Last write wins: upsert, then a null deletes the cell. */
    ok("INSERT INTO created_users (id, first_name) VALUES (123e4567-e89b-12d3-a456-426614174000, "
       "'Augusta')");
    ok("UPDATE created_users SET email = null WHERE id = 123e4567-e89b-12d3-a456-426614174000");
    rows("SELECT first_name, email FROM created_users", "Augusta|null");
    /* An explicit older timestamp loses, a newer one wins. */
    ok("INSERT INTO created_users (id, last_name) VALUES (123e4567-e89b-12d3-a456-426614174000, "
       "'Old') USING TIMESTAMP 1");
    rows("SELECT last_name FROM created_users", "Lovelace");
    ok("UPDATE created_users USING TIMESTAMP 9000000000000000 SET last_name = 'New' WHERE id = "
       "123e4567-e89b-12d3-a456-426614174000");
    rows("SELECT last_name, WRITETIME(last_name) FROM created_users", "New|9000000000000000");
    ok("INSERT INTO created_users (id, last_name) VALUES (123e4567-e89b-12d3-a456-426614174000, "
       "'Later')");
    rows("SELECT last_name FROM created_users", "New");
    ok("DELETE last_name FROM created_users USING TIMESTAMP 9000000000000001 WHERE id = "
       "123e4567-e89b-12d3-a456-426614174000");
    rows("SELECT last_name FROM created_users", "null");
    ok("DELETE FROM created_users WHERE id = 123e4567-e89b-12d3-a456-426614174000");
    rows("SELECT * FROM created_users", "");
    /* A row inserted with only its key exists. */
    ok("INSERT INTO created_users (id) VALUES (00000000-0000-0000-0000-000000000001)");
    rows("SELECT id, email FROM created_users", "00000000-0000-0000-0000-000000000001|null");
    rows("SELECT COUNT(*) FROM created_users", "1");
}

static void test_clustering(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE ts (k text, c int, d int, v text, PRIMARY KEY (k, c, d))");
    ok("BEGIN BATCH "
       "INSERT INTO ts (k, c, d, v) VALUES ('a', 1, 1, 'a11'); "
       "INSERT INTO ts (k, c, d, v) VALUES ('a', 1, 2, 'a12'); "
       "INSERT INTO ts (k, c, d, v) VALUES ('a', 2, 1, 'a21'); "
       "INSERT INTO ts (k, c, d, v) VALUES ('a', 3, 1, 'a31'); "
       "INSERT INTO ts (k, c, d, v) VALUES ('b', 1, 1, 'b11'); "
       "APPLY BATCH");
    rows("SELECT v FROM ts WHERE k = 'a'", "a11\na12\na21\na31");
    rows("SELECT v FROM ts WHERE k = 'a' AND c = 1", "a11\na12");
    rows("SELECT v FROM ts WHERE k = 'a' AND c = 1 AND d = 2", "a12");
    rows("SELECT v FROM ts WHERE k = 'a' AND c > 1", "a21\na31");
    rows("SELECT v FROM ts WHERE k = 'a' AND c >= 2 AND c < 3", "a21");
    rows("SELECT v FROM ts WHERE k = 'a' AND c <= 2", "a11\na12\na21");
    rows("SELECT v FROM ts WHERE k = 'a' AND c IN (3, 1)", "a11\na12\na31");
    rows("SELECT v FROM ts WHERE k = 'a' AND c = 1 AND d > 1", "a12");
    rows("SELECT v FROM ts WHERE k = 'a' AND (c, d) > (1, 1)", "a12\na21\na31");
    rows("SELECT v FROM ts WHERE k = 'a' AND (c, d) IN ((2, 1), (1, 2))", "a12\na21");
    rows("SELECT v FROM ts WHERE k = 'a' ORDER BY c DESC", "a31\na21\na12\na11");
    rows("SELECT v FROM ts WHERE k = 'a' ORDER BY c DESC, d DESC LIMIT 2", "a31\na21");
    rows("SELECT v FROM ts WHERE k IN ('b', 'a') AND c = 1 AND d = 1", "a11\nb11");
    rows("SELECT v FROM ts WHERE k IN ('a', 'b') AND c = 1 ORDER BY c DESC, d DESC",
         "a12\na11\nb11");
    rows("SELECT v FROM ts WHERE k = 'a' LIMIT 3", "a11\na12\na21");
    rows("SELECT k, v FROM ts PER PARTITION LIMIT 1", "a|a11\nb|b11");
    rows("SELECT k, COUNT(*) FROM ts WHERE k = 'a'", "a|4");
    rows("SELECT DISTINCT k FROM ts", "a\nb");
    err("SELECT v FROM ts WHERE k = 'a' AND d = 1", SL_CQL_ERR_INVALID,
        "PRIMARY KEY column \"d\" cannot be restricted as preceding column \"c\" is not "
        "restricted");
    rows("SELECT v FROM ts WHERE k = 'a' AND d = 1 ALLOW FILTERING", "a11\na21\na31");
    err("SELECT v FROM ts WHERE k = 'a' AND c > 1 AND d = 1", SL_CQL_ERR_INVALID,
        "Clustering column \"d\" cannot be restricted (preceding column \"c\" is restricted by a "
        "non-EQ relation)");
    err("SELECT v FROM ts WHERE c = 1", SL_CQL_ERR_INVALID,
        "Cannot execute this query as it might involve data filtering and thus may have "
        "unpredictable "
        "performance. If you want to execute this query despite the performance unpredictability, "
        "use "
        "ALLOW FILTERING");
    rows("SELECT v FROM ts WHERE c = 1 AND d = 1 ALLOW FILTERING", "a11\nb11");
    err("SELECT v FROM ts WHERE v = 'a11'", SL_CQL_ERR_INVALID, "ALLOW FILTERING");
    rows("SELECT v FROM ts WHERE v = 'a21' ALLOW FILTERING", "a21");
    rows("SELECT v FROM ts WHERE k = 'a' AND v IN ('a21', 'a31') ALLOW FILTERING", "a21\na31");
    err("SELECT v FROM ts ORDER BY c DESC", SL_CQL_ERR_INVALID,
        "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.");
    err("SELECT v FROM ts WHERE k = 'a' ORDER BY d DESC", SL_CQL_ERR_INVALID,
        "Order by currently only supports");
    err("SELECT v FROM ts WHERE k = 'a' ORDER BY v DESC", SL_CQL_ERR_INVALID,
        "Order by is currently only supported");
    err("SELECT v FROM ts WHERE k = 'a' LIMIT 0", SL_CQL_ERR_INVALID,
        "LIMIT must be strictly positive");
    /* DESC clustering order */
    ok("CREATE TABLE rev (k int, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c "
       "DESC)");
    for (int i = 0; i < 5; i++) {
        char s[128];
        snprintf(s, sizeof s, "INSERT INTO rev (k, c, v) VALUES (1, %d, %d)", i, i * 10);
        ok(s);
    }
    rows("SELECT c FROM rev WHERE k = 1", "4\n3\n2\n1\n0");
    rows("SELECT c FROM rev WHERE k = 1 ORDER BY c ASC", "0\n1\n2\n3\n4");
    rows("SELECT c FROM rev WHERE k = 1 AND c > 1 AND c <= 3", "3\n2");
    rows("SELECT c FROM rev WHERE k = 1 AND c < 2 ORDER BY c ASC", "0\n1");
    /* Range deletions */
    ok("DELETE FROM rev WHERE k = 1 AND c >= 3");
    rows("SELECT c FROM rev WHERE k = 1", "2\n1\n0");
    ok("DELETE FROM ts WHERE k = 'a' AND c = 1");
    rows("SELECT v FROM ts WHERE k = 'a'", "a21\na31");
    ok("DELETE FROM ts WHERE k = 'a'");
    rows("SELECT v FROM ts", "b11");
}

static void test_composite_and_token(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE cp (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))");
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 2; c++) {
            char s[160];
            snprintf(s, sizeof s, "INSERT INTO cp (a, b, c, v) VALUES (%d, 'x', %d, %d)", a, c,
                     a * 10 + c);
            ok(s);
        }
    rows("SELECT v FROM cp WHERE a = 2 AND b = 'x'", "20\n21");
    err("SELECT v FROM cp WHERE a = 2", SL_CQL_ERR_INVALID, "ALLOW FILTERING");
    rows("SELECT v FROM cp WHERE a = 2 ALLOW FILTERING", "20\n21");
    /* token() ranges: the whole ring split in two covers every partition once. */
    sl_cql_result *r1 = q("SELECT a, c FROM cp WHERE token(a, b) <= 0");
    sl_cql_result *r2 = q("SELECT a, c FROM cp WHERE token(a, b) > 0");
    assert_int_equal(r1->kind, SL_CQL_RESULT_ROWS);
    assert_int_equal(r2->kind, SL_CQL_RESULT_ROWS);
    assert_int_equal(r1->row_count + r2->row_count, 8);
    sl_cql_result_free(r1);
    sl_cql_result_free(r2);
    sl_cql_result *r = q("SELECT token(a, b), a FROM cp WHERE a = 1 AND b = 'x' LIMIT 1");
    col_names(r, "system.token(a, b),a");
    sl_cql_result_free(r);
    err("SELECT * FROM cp WHERE token(b, a) > 0", SL_CQL_ERR_INVALID, "partition key order");
    /* A bound given as token() of key values, as in Cassandra. */
    rows("SELECT v FROM cp WHERE token(a, b) = token(2, 'x')", "20\n21");
    err("SELECT v FROM cp WHERE token(a, b) > token(2)", SL_CQL_ERR_INVALID,
        "system.token: 2 required but 1 provided");
    err("INSERT INTO cp (a, c, v) VALUES (1, 1, 1)", SL_CQL_ERR_INVALID,
        "Some partition key parts are missing: b");
    err("INSERT INTO cp (a, b, v) VALUES (1, 'x', 1)", SL_CQL_ERR_INVALID,
        "Some clustering keys are missing: c");
    err("UPDATE cp SET v = 1 WHERE a = 1 AND b = 'x'", SL_CQL_ERR_INVALID,
        "Some clustering keys are missing: c");
    err("UPDATE cp SET v = 1 WHERE a = 1 AND c = 1", SL_CQL_ERR_INVALID,
        "Some partition key parts are missing: b");
    err("UPDATE cp SET a = 1 WHERE a = 1 AND b = 'x' AND c = 1", SL_CQL_ERR_INVALID,
        "PRIMARY KEY part a found in SET part");
    err("UPDATE cp SET v = 1 WHERE a = 1 AND b = 'x' AND c = 1 AND v = 2", SL_CQL_ERR_INVALID,
        "Non PRIMARY KEY columns found in where clause: v");
}

static void test_collections(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE coll (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>, f "
       "frozen<list<int>>, t tuple<int, text>)");
    ok("INSERT INTO coll (k, l, s, m, f, t) VALUES (1, [1, 2], {'b', 'a'}, {'x': 1}, [7, 8], (3, "
       "'z'))");
    rows("SELECT l, s, m, f, t FROM coll WHERE k = 1",
         "[1, 2]|{'a', 'b'}|{'x': 1}|[7, 8]|(3, 'z')");
    ok("UPDATE coll SET l = l + [3], s = s + {'c'}, m = m + {'y': 2} WHERE k = 1");
    rows("SELECT l, s, m FROM coll WHERE k = 1", "[1, 2, 3]|{'a', 'b', 'c'}|{'x': 1, 'y': 2}");
    ok("UPDATE coll SET l = [0] + l WHERE k = 1");
    rows("SELECT l FROM coll WHERE k = 1", "[0, 1, 2, 3]");
    ok("UPDATE coll SET l = l - [2], s = s - {'a'}, m = m - {'x'} WHERE k = 1");
    rows("SELECT l, s, m FROM coll WHERE k = 1", "[0, 1, 3]|{'b', 'c'}|{'y': 2}");
    ok("UPDATE coll SET l[1] = 10, m['z'] = 26 WHERE k = 1");
    rows("SELECT l, m FROM coll WHERE k = 1", "[0, 10, 3]|{'y': 2, 'z': 26}");
    ok("DELETE l[0], m['y'] FROM coll WHERE k = 1");
    rows("SELECT l, m FROM coll WHERE k = 1", "[10, 3]|{'z': 26}");
    err("UPDATE coll SET l[5] = 1 WHERE k = 1", SL_CQL_ERR_INVALID, "out of bound");
    err("UPDATE coll SET f = f + [1] WHERE k = 1", SL_CQL_ERR_INVALID,
        "frozen collection column f");
    ok("UPDATE coll SET s = {'only'} WHERE k = 1");
    rows("SELECT s FROM coll WHERE k = 1", "{'only'}");
    rows("SELECT k FROM coll WHERE s CONTAINS 'only' ALLOW FILTERING", "1");
    rows("SELECT k FROM coll WHERE m CONTAINS KEY 'z' ALLOW FILTERING", "1");
    rows("SELECT k FROM coll WHERE m['z'] = 26 ALLOW FILTERING", "1");
    /* Bind markers inside collection literals. */
    sl_cql_value vals[2] = {VI(41), VI(42)};
    sl_cql_result *r = qv("UPDATE coll SET l = [?, ?] WHERE k = 1", vals, 2, 0, SL_SLICE_NULL);
    assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
    sl_cql_result_free(r);
    rows("SELECT l FROM coll WHERE k = 1", "[41, 42]");
    /* Counters */
    ok("CREATE TABLE cnt (k int PRIMARY KEY, hits counter)");
    ok("UPDATE cnt SET hits = hits + 5 WHERE k = 1");
    ok("UPDATE cnt SET hits = hits - 2 WHERE k = 1");
    ok("BEGIN COUNTER BATCH UPDATE cnt SET hits = hits + 10 WHERE k = 1; APPLY BATCH");
    rows("SELECT hits FROM cnt WHERE k = 1", "13");
    err("UPDATE cnt SET hits = 3 WHERE k = 1", SL_CQL_ERR_INVALID,
        "Cannot set the value of counter column hits");
    err("INSERT INTO cnt (k, hits) VALUES (1, 1)", SL_CQL_ERR_INVALID,
        "INSERT statements are not allowed on counter tables");
    err("BEGIN BATCH UPDATE cnt SET hits = hits + 1 WHERE k = 1; APPLY BATCH", SL_CQL_ERR_INVALID,
        "counter");
}

static void test_types_roundtrip(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE ty (k int PRIMARY KEY, a ascii, bi bigint, bl blob, bo boolean, de decimal, "
       "do double, fl float, i inet, si smallint, ti tinyint, tm time, ts timestamp, dt date, "
       "tu timeuuid, u uuid, vi varint, tx text, vc varchar)");
    ok("INSERT INTO ty (k, a, bi, bl, bo, de, do, fl, i, si, ti, tm, ts, dt, tu, u, vi, tx, vc) "
       "VALUES "
       "(1, 'asc', -9000000000, 0xcafe, true, 12.345, 2.5, 1.5, '10.0.0.1', -300, 7, "
       "'13:30:54.234', "
       "'2024-01-02 03:04:05+0000', '2024-02-29', 50554d6e-29bb-11e5-b345-feff819cdc9f, "
       "62c36092-82a1-3a00-93d1-46196ee77204, 123456789012345678901234567890, 'héllo', 'v')");
    rows("SELECT a, bi, bl, bo, de, do, fl, i, si, ti FROM ty",
         "asc|-9000000000|0xcafe|true|12.345|2.5|1.5|10.0.0.1|-300|7");
    rows("SELECT tu, u, vi, tx, vc FROM ty",
         "50554d6e-29bb-11e5-b345-feff819cdc9f|62c36092-82a1-3a00-93d1-46196ee77204|"
         "123456789012345678901234567890|héllo|v");
    err("INSERT INTO ty (k, bi) VALUES (2, 'abc')", SL_CQL_ERR_INVALID,
        "Invalid STRING constant (abc) for \"bi\" of type bigint");
    err("INSERT INTO ty (k, tx) VALUES (2, 42)", SL_CQL_ERR_INVALID,
        "Invalid INTEGER constant (42) for \"tx\" of type text");
    err("INSERT INTO ty (k, nope) VALUES (2, 42)", SL_CQL_ERR_INVALID,
        "Undefined column name nope");
    err("INSERT INTO nope (k) VALUES (2)", SL_CQL_ERR_INVALID, "unconfigured table nope");
    err("INSERT INTO nope.t (k) VALUES (2)", SL_CQL_ERR_INVALID, "Keyspace 'nope' does not exist");
    /* Bound values are validated against the column type. */
    sl_cql_value bad[2] = {VI(3), V("\x01\x02\x03", 3)};
    sl_cql_result *r = qv("INSERT INTO ty (k, bi) VALUES (?, ?)", bad, 2, 0, SL_SLICE_NULL);
    assert_int_equal(r->kind, SL_CQL_RESULT_ERROR);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    assert_non_null(strstr(r->error.message, "Expected 8 or 0 byte long"));
    sl_cql_result_free(r);
    sl_cql_value badutf[2] = {VI(3), V("\xff\xfe", 2)};
    r = qv("INSERT INTO ty (k, tx) VALUES (?, ?)", badutf, 2, 0, SL_SLICE_NULL);
    assert_int_equal(r->kind, SL_CQL_RESULT_ERROR);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    sl_cql_result_free(r);
    /* Too many or too few values. */
    sl_cql_value one[1] = {VI(3)};
    r = qv("INSERT INTO ty (k, bi) VALUES (?, ?)", one, 1, 0, SL_SLICE_NULL);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    assert_string_equal(r->error.message, "there were 2 markers(?) in CQL but 1 bound variables");
    sl_cql_result_free(r);
    sl_cql_value three[3] = {VI(3), VB(1), VB(2)};
    r = qv("INSERT INTO ty (k, bi) VALUES (?, ?)", three, 3, 0, SL_SLICE_NULL);
    assert_string_equal(r->error.message, "there were 2 markers(?) in CQL but 3 bound variables");
    sl_cql_result_free(r);
    /* null and unset */
    sl_cql_value nu[3] = {VI(1), {SL_SLICE_NULL, SL_CQL_NULL}, {SL_SLICE_NULL, SL_CQL_UNSET}};
    r = qv("UPDATE ty SET a = ?, bi = ? WHERE k = ?", (sl_cql_value[]){nu[1], nu[2], nu[0]}, 3, 0,
           SL_SLICE_NULL);
    assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
    sl_cql_result_free(r);
    rows("SELECT a, bi FROM ty WHERE k = 1", "null|-9000000000");
    r = qv("SELECT * FROM ty WHERE k = ?", &nu[2], 1, 0, SL_SLICE_NULL);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    assert_non_null(strstr(r->error.message, "unset"));
    sl_cql_result_free(r);
}

static void test_functions_json(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE fj (id timeuuid PRIMARY KEY, u uuid, ts timestamp, n int, name text)");
    ok("INSERT INTO fj (id, u, ts, n, name) VALUES (now(), uuid(), toTimestamp(now()), 5, 'a')");
    sl_cql_result *r = q("SELECT id, u, ts, toTimestamp(id), toUnixTimestamp(ts) FROM fj");
    assert_int_equal(r->row_count, 1);
    col_names(r, "id,u,ts,system.totimestamp(id),system.tounixtimestamp(ts)");
    sl_cql_result_free(r);
    rows("SELECT n AS number, name FROM fj", "5|a");
    r = q("SELECT n AS number FROM fj");
    col_names(r, "number");
    sl_cql_result_free(r);
    ok("INSERT INTO fj JSON '{\"id\": \"50554d6e-29bb-11e5-b345-feff819cdc9f\", \"n\": 7, "
       "\"name\": \"js\"}'");
    rows("SELECT JSON n, name FROM fj WHERE id = 50554d6e-29bb-11e5-b345-feff819cdc9f",
         "{\"n\": 7, \"name\": \"js\"}");
    err("INSERT INTO fj JSON '{\"id\": \"50554d6e-29bb-11e5-b345-feff819cdc9f\", \"zz\": 1}'",
        SL_CQL_ERR_INVALID, "JSON values map contains unrecognized column: zz");
    rows("SELECT COUNT(*), MIN(n), MAX(n), SUM(n), AVG(n) FROM fj", "2|5|7|12|6");
    r = q("SELECT COUNT(*) FROM fj");
    assert_int_equal(r->n_warnings, 1);
    assert_string_equal(r->warnings[0], "Aggregation query used without partition key");
    sl_cql_result_free(r);
    err("SELECT nope(n) FROM fj", SL_CQL_ERR_INVALID, "Unknown function");
    err("SELECT WRITETIME(id) FROM fj", SL_CQL_ERR_INVALID,
        "Cannot use selection function writeTime on PRIMARY KEY part id");
}

static void test_ttl(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE tt (k int PRIMARY KEY, v text, w text)");
    ok("INSERT INTO tt (k, v, w) VALUES (1, 'short', 'forever') USING TTL 10");
    ok("UPDATE tt SET w = 'forever' WHERE k = 1");
    rows("SELECT v, TTL(v), w, TTL(w) FROM tt", "short|10|forever|null");
    clock_us += 4 * 1000000LL;
    rows("SELECT TTL(v) FROM tt", "6");
    clock_us += 7 * 1000000LL;
    rows("SELECT k, v, w FROM tt", "1|null|forever");
    ok("INSERT INTO tt (k, v) VALUES (2, 'gone') USING TTL 1 AND TIMESTAMP 5");
    rows("SELECT v, WRITETIME(v) FROM tt WHERE k = 2", "gone|5");
    clock_us += 2 * 1000000LL;
    rows("SELECT * FROM tt WHERE k = 2", "");
    err("INSERT INTO tt (k, v) VALUES (3, 'x') USING TTL -1", SL_CQL_ERR_INVALID,
        "A TTL must be greater or equal to 0");
    err("INSERT INTO tt (k, v) VALUES (3, 'x') USING TTL 999999999", SL_CQL_ERR_INVALID,
        "ttl is too large");
    /* An expiry past 2038-01-19 does not fit its 32-bit field: refused (found by fuzz_cql_exec) */
    int64_t saved_clock = clock_us;
    clock_us = 1893456000LL * 1000000; /* 2030-01-01 */
    err("INSERT INTO tt (k, v) VALUES (3, 'x') USING TTL 300000000", SL_CQL_ERR_INVALID,
        "exceeds maximum supported expiration date of 2038-01-19");
    ok("INSERT INTO tt (k, v) VALUES (3, 'x') USING TTL 200000000");
    clock_us = saved_clock;
    /* default_time_to_live */
    ok("CREATE TABLE dt (k int PRIMARY KEY, v int) WITH default_time_to_live = 5");
    ok("INSERT INTO dt (k, v) VALUES (1, 1)");
    rows("SELECT TTL(v) FROM dt", "5");
    clock_us += 6 * 1000000LL;
    rows("SELECT * FROM dt", "");
}

static void test_lwt(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE users (id int PRIMARY KEY, name text, balance int)");
    sl_cql_result *r =
        q("INSERT INTO users (id, name, balance) VALUES (1, 'ann', 10) IF NOT EXISTS");
    col_names(r, "[applied]");
    char *t = rows_text(r);
    assert_string_equal(t, "true");
    free(t);
    sl_cql_result_free(r);
    r = q("INSERT INTO users (id, name, balance) VALUES (1, 'bob', 20) IF NOT EXISTS");
    col_names(r, "[applied],id,balance,name");
    t = rows_text(r);
    assert_string_equal(t, "false|1|10|ann");
    free(t);
    sl_cql_result_free(r);
    rows("UPDATE users SET balance = 5 WHERE id = 1 IF balance = 10", "true");
    r = q("UPDATE users SET balance = 0 WHERE id = 1 IF balance = 10");
    col_names(r, "[applied],balance");
    t = rows_text(r);
    assert_string_equal(t, "false|5");
    free(t);
    sl_cql_result_free(r);
    rows("UPDATE users SET name = 'x' WHERE id = 2 IF EXISTS", "false");
    rows("UPDATE users SET name = 'ann2' WHERE id = 1 IF EXISTS", "true");
    r = q("UPDATE users SET balance = 1 WHERE id = 1 IF name = 'x' AND balance > 3");
    col_names(r, "[applied],name,balance");
    t = rows_text(r);
    assert_string_equal(t, "false|ann2|5");
    free(t);
    sl_cql_result_free(r);
    rows("UPDATE users SET balance = 1 WHERE id = 1 IF balance > 3 AND name = 'ann2'", "true");
    rows("DELETE FROM users WHERE id = 1 IF balance IN (7, 8)", "false|1");
    rows("DELETE FROM users WHERE id = 1 IF EXISTS", "true");
    rows("SELECT * FROM users", "");
    /* A conditional batch applies all or nothing. */
    ok("INSERT INTO users (id, name, balance) VALUES (3, 'c', 1)");
    rows("BEGIN BATCH UPDATE users SET balance = 2 WHERE id = 3 IF balance = 1; "
         "INSERT INTO users (id, name) VALUES (3, 'c2'); APPLY BATCH",
         "true");
    rows("SELECT name, balance FROM users WHERE id = 3", "c2|2");
    r = q("BEGIN BATCH UPDATE users SET balance = 9 WHERE id = 3 IF balance = 1; "
          "INSERT INTO users (id, name) VALUES (3, 'c3'); APPLY BATCH");
    assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
    t = rows_text(r);
    assert_string_equal(t, "false|3|2");
    free(t);
    sl_cql_result_free(r);
    rows("SELECT name, balance FROM users WHERE id = 3", "c2|2");
    err("BEGIN BATCH UPDATE users SET balance = 9 WHERE id = 3 IF balance = 1; "
        "INSERT INTO users (id, name) VALUES (4, 'd'); APPLY BATCH",
        SL_CQL_ERR_INVALID, "Batch with conditions cannot span multiple partitions");
}

/* ---- prepared statements, batches, paging ---- */

static void test_prepared(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE p (k int, c int, v text, PRIMARY KEY (k, c))");
    sl_cql_result *pr =
        sl_cql_prepare(eng, sess, SL_SLICE_STR("INSERT INTO p (k, c, v) VALUES (?, ?, :val)"));
    assert_int_equal(pr->kind, SL_CQL_RESULT_PREPARED);
    assert_int_equal(pr->n_bind, 3);
    assert_string_equal(pr->bind[0].name, "k");
    assert_string_equal(pr->bind[0].keyspace, "ks");
    assert_string_equal(pr->bind[0].table, "p");
    assert_string_equal(pr->bind[2].name, "val");
    assert_int_equal(pr->bind[0].type.len, 2);
    assert_int_equal(sl_get_be16(pr->bind[0].type.ptr), 0x09);
    assert_int_equal(sl_get_be16(pr->bind[2].type.ptr), 0x0D);
    assert_int_equal(pr->n_pk_index, 1);
    assert_int_equal(pr->pk_index[0], 0);
    assert_int_equal(pr->n_columns, 0);
    uint8_t id[16];
    memcpy(id, pr->id, 16);
    sl_cql_result_free(pr);
    for (int i = 0; i < 10; i++) {
        sl_cql_value vals[3] = {VI(1), VI(i), VS("val")};
        sl_cql_query qq;
        memset(&qq, 0, sizeof qq);
        qq.id = (sl_slice){id, 16};
        qq.values = vals;
        qq.n_values = 3;
        sl_cql_result *r = NULL;
        sl_cql_execute(eng, sess, &qq, on_done, &r);
        wait_result(&r);
        assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
        sl_cql_result_free(r);
    }
    /* Named values, in any order. */
    sl_cql_value nv[3] = {VS("named"), VI(2), VI(0)};
    sl_slice names[3] = {SL_SLICE_STR("val"), SL_SLICE_STR("k"), SL_SLICE_STR("c")};
    sl_cql_query qq;
    memset(&qq, 0, sizeof qq);
    qq.id = (sl_slice){id, 16};
    qq.values = nv;
    qq.n_values = 3;
    qq.names = names;
    sl_cql_result *r = NULL;
    sl_cql_execute(eng, sess, &qq, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
    sl_cql_result_free(r);
    rows("SELECT v FROM p WHERE k = 2", "named");
    rows("SELECT COUNT(*) FROM p WHERE k = 1", "10");
    /* SELECT metadata and an unknown id. */
    pr =
        sl_cql_prepare(eng, sess, SL_SLICE_STR("SELECT c, v FROM p WHERE k = ? AND c > ? LIMIT ?"));
    assert_int_equal(pr->kind, SL_CQL_RESULT_PREPARED);
    assert_int_equal(pr->n_bind, 3);
    assert_string_equal(pr->bind[2].name, "[limit]");
    assert_int_equal(pr->n_columns, 2);
    assert_string_equal(pr->columns[1].name, "v");
    sl_cql_result_free(pr);
    uint8_t bogus[16] = {1, 2, 3};
    memset(&qq, 0, sizeof qq);
    qq.id = (sl_slice){bogus, 16};
    r = NULL;
    sl_cql_execute(eng, sess, &qq, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->kind, SL_CQL_RESULT_ERROR);
    assert_int_equal(r->error.code, SL_CQL_ERR_UNPREPARED);
    assert_memory_equal(r->error.unprepared_id.ptr, bogus, 16);
    sl_cql_result_free(r);
    /* A prepared statement follows the schema: re-analyzed after DDL. */
    pr = sl_cql_prepare(eng, sess, SL_SLICE_STR("SELECT * FROM p WHERE k = 2"));
    memcpy(id, pr->id, 16);
    sl_cql_result_free(pr);
    ok("ALTER TABLE p ADD w int");
    memset(&qq, 0, sizeof qq);
    qq.id = (sl_slice){id, 16};
    r = NULL;
    sl_cql_execute(eng, sess, &qq, on_done, &r);
    wait_result(&r);
    col_names(r, "k,c,v,w");
    sl_cql_result_free(r);
    pr = sl_cql_prepare(eng, sess, SL_SLICE_STR("SELECT * FROM nope"));
    assert_int_equal(pr->kind, SL_CQL_RESULT_ERROR);
    assert_string_equal(pr->error.message, "unconfigured table nope");
    sl_cql_result_free(pr);
}

static void test_protocol_batch(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE b (k int PRIMARY KEY, v text)");
    sl_cql_result *pr =
        sl_cql_prepare(eng, sess, SL_SLICE_STR("INSERT INTO b (k, v) VALUES (?, ?)"));
    uint8_t id[16];
    memcpy(id, pr->id, 16);
    sl_cql_result_free(pr);
    sl_cql_value v1[2] = {VI(1), VS("one")};
    sl_cql_value v2[2] = {VI(2), VS("two")};
    sl_cql_value v3[1] = {VI(3)};
    sl_cql_batch_stmt st[3] = {
        {.id = {id, 16}, .values = v1, .n_values = 2},
        {.id = {id, 16}, .values = v2, .n_values = 2},
        {.text = SL_SLICE_STR("INSERT INTO b (k, v) VALUES (?, 'three')"),
         .values = v3,
         .n_values = 1},
    };
    sl_cql_batch_req br = {SL_CQL_BATCH_LOGGED, st, 3, SL_CQL_CL_ONE, 0, 0, false};
    sl_cql_result *r = NULL;
    sl_cql_execute_batch(eng, sess, &br, on_done, &r);
    wait_result(&r);
    if (r->kind == SL_CQL_RESULT_ERROR) fail_msg("batch: %s", r->error.message);
    assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
    sl_cql_result_free(r);
    rows("SELECT k, v FROM b WHERE k IN (1, 2, 3)", "1|one\n2|two\n3|three");
    /* One bad statement: nothing of the batch is applied. */
    sl_cql_value bad[2] = {VI(4), V("\xff", 1)};
    sl_cql_batch_stmt st2[2] = {
        {.text = SL_SLICE_STR("INSERT INTO b (k, v) VALUES (5, 'five')")},
        {.id = {id, 16}, .values = bad, .n_values = 2},
    };
    sl_cql_batch_req br2 = {SL_CQL_BATCH_UNLOGGED, st2, 2, SL_CQL_CL_ONE, 0, 0, false};
    r = NULL;
    sl_cql_execute_batch(eng, sess, &br2, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->kind, SL_CQL_RESULT_ERROR);
    sl_cql_result_free(r);
    rows("SELECT k FROM b WHERE k = 5", "");
    sl_cql_batch_stmt st3[1] = {{.text = SL_SLICE_STR("SELECT * FROM b")}};
    sl_cql_batch_req br3 = {SL_CQL_BATCH_LOGGED, st3, 1, SL_CQL_CL_ONE, 0, 0, false};
    r = NULL;
    sl_cql_execute_batch(eng, sess, &br3, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    sl_cql_result_free(r);
    /* Default timestamps from the request. */
    sl_cql_batch_stmt st4[1] = {{.text = SL_SLICE_STR("INSERT INTO b (k, v) VALUES (6, 'six')")}};
    sl_cql_batch_req br4 = {SL_CQL_BATCH_LOGGED, st4, 1, SL_CQL_CL_ONE, 0, 42, true};
    r = NULL;
    sl_cql_execute_batch(eng, sess, &br4, on_done, &r);
    wait_result(&r);
    sl_cql_result_free(r);
    rows("SELECT WRITETIME(v) FROM b WHERE k = 6", "42");
}

/* Pages through cql, checking every row's first column (an int) strictly increases, or
 * strictly decreases when desc is set. */
static void page_through_dir(const char *cql, int32_t page, uint32_t expect_rows,
                             uint32_t expect_pages, bool desc);

static void page_through(const char *cql, int32_t page, uint32_t expect_rows, uint32_t expect_pages)
{
    page_through_dir(cql, page, expect_rows, expect_pages, false);
}

static void page_through_dir(const char *cql, int32_t page, uint32_t expect_rows,
                             uint32_t expect_pages, bool desc)
{
    sl_buf state = SL_BUF_INIT;
    uint32_t total = 0, pages = 0;
    int32_t last = desc ? INT32_MAX : -1;
    for (;;) {
        sl_cql_result *r = qv(cql, NULL, 0, page, sl_buf_slice(&state));
        if (r->kind == SL_CQL_RESULT_ERROR) fail_msg("%s: %s", cql, r->error.message);
        assert_true(r->row_count <= (uint32_t)page);
        /* Rows come in clustering order across pages, none repeated. */
        size_t off = 0;
        sl_cql_value v;
        for (uint32_t i = 0; i < r->row_count; i++) {
            assert_true(sl_cql_result_next_cell(r, &off, &v));
            int32_t c = (int32_t)sl_get_be32(v.bytes.ptr);
            if (desc ? c >= last : c <= last) fail_msg("%s: %d after %d", cql, c, last);
            last = c;
        }
        total += r->row_count;
        pages++;
        sl_buf_reset(&state);
        bool more = r->has_more_pages;
        if (more) sl_buf_append(&state, r->paging_state.ptr, r->paging_state.len);
        sl_cql_result_free(r);
        if (!more) break;
    }
    assert_int_equal(total, expect_rows);
    assert_int_equal(pages, expect_pages);
    sl_buf_free(&state);
}

static void test_paging(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE pg (k int, c int, v int, PRIMARY KEY (k, c))");
    sl_cql_result *pr =
        sl_cql_prepare(eng, sess, SL_SLICE_STR("INSERT INTO pg (k, c, v) VALUES (?, ?, ?)"));
    uint8_t id[16];
    memcpy(id, pr->id, 16);
    sl_cql_result_free(pr);
    for (int i = 0; i < 2500; i++) {
        sl_cql_value vals[3] = {VI(i % 3 == 0 ? 7 : 100 + i % 50), VI(i), VI(i)};
        sl_cql_query qq;
        memset(&qq, 0, sizeof qq);
        qq.id = (sl_slice){id, 16};
        qq.values = vals;
        qq.n_values = 3;
        sl_cql_result *r = NULL;
        sl_cql_execute(eng, sess, &qq, on_done, &r);
        wait_result(&r);
        sl_cql_result_free(r);
    }
    /* One partition: 834 rows (i % 3 == 0) in pages of 100 and an exact multiple. */
    page_through("SELECT c FROM pg WHERE k = 7", 100, 834, 9);
    page_through("SELECT c FROM pg WHERE k = 7", 834, 834, 1);
    page_through("SELECT c FROM pg WHERE k = 7 AND c >= 100 LIMIT 250", 100, 250, 3);
    page_through("SELECT c FROM pg WHERE k IN (7) AND c IN (3, 6, 9, 12)", 3, 4, 2);
    page_through_dir("SELECT c FROM pg WHERE k = 7 ORDER BY c DESC", 100, 834, 9, true);
    page_through_dir("SELECT c FROM pg WHERE k = 7 AND c IN (3, 6, 9, 12, 15) ORDER BY c DESC", 2,
                     5, 3, true);
    page_through("SELECT c FROM pg WHERE k = 7 AND c > 2000 AND c <= 2100", 1, 34, 34);
    /* Several partitions by IN, each in clustering order: a page boundary inside and between
     * partitions loses and repeats nothing. */
    sl_buf st2 = SL_BUF_INIT;
    uint32_t n2 = 0;
    for (;;) {
        sl_cql_result *r =
            qv("SELECT k, c FROM pg WHERE k IN (101, 102, 103) PER PARTITION LIMIT 7", NULL, 0, 4,
               sl_buf_slice(&st2));
        assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
        n2 += r->row_count;
        sl_buf_reset(&st2);
        bool more = r->has_more_pages;
        if (more) sl_buf_append(&st2, r->paging_state.ptr, r->paging_state.len);
        sl_cql_result_free(r);
        if (!more) break;
    }
    assert_int_equal(n2, 21);
    sl_buf_free(&st2);
    /* A whole-table scan: every row once. */
    sl_buf st = SL_BUF_INIT;
    uint32_t total = 0;
    for (;;) {
        sl_cql_result *r = qv("SELECT k, c FROM pg", NULL, 0, 333, sl_buf_slice(&st));
        assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
        total += r->row_count;
        sl_buf_reset(&st);
        bool more = r->has_more_pages;
        if (more) sl_buf_append(&st, r->paging_state.ptr, r->paging_state.len);
        sl_cql_result_free(r);
        if (!more) break;
    }
    assert_int_equal(total, 2500);
    sl_buf_free(&st);
    sl_cql_result *r = qv("SELECT k FROM pg", NULL, 0, 10, SL_SLICE_STR("garbage"));
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    sl_cql_result_free(r);
    rows("SELECT c FROM pg WHERE k IN (7, 8) AND c < 7 ORDER BY c DESC", "6\n3\n0");
    r = qv("SELECT c FROM pg WHERE k IN (7, 8) ORDER BY c DESC", NULL, 0, 100, SL_SLICE_NULL);
    assert_int_equal(r->error.code, SL_CQL_ERR_INVALID);
    assert_non_null(
        strstr(r->error.message, "Cannot page queries with both ORDER BY and a IN restriction"));
    sl_cql_result_free(r);
}

/* ---- system tables and DESCRIBE ---- */

static void test_system_tables(void **state)
{
    (void)state;
    sl_cql_result *r = q("SELECT * FROM system.local WHERE key='local'");
    assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
    assert_int_equal(r->row_count, 1);
    col_names(r, "key,bootstrapped,broadcast_address,broadcast_port,cluster_name,cql_version,"
                 "data_center,gossip_generation,host_id,listen_address,listen_port,"
                 "native_protocol_version,partitioner,rack,release_version,rpc_address,rpc_port,"
                 "schema_version,tokens,truncated_at");
    sl_cql_result_free(r);
    rows("SELECT cluster_name, data_center, rack, release_version, cql_version, partitioner, "
         "native_protocol_version, rpc_address, rpc_port FROM system.local",
         "Test "
         "Cluster|datacenter1|rack1|4.0.11|3.4.5|org.apache.cassandra.dht.Murmur3Partitioner|4|127."
         "0.0.1|19042");
    rows("SELECT * FROM system.peers", "");
    rows("SELECT * FROM system.peers_v2", "");
    r = q("SELECT peer, rpc_address, host_id FROM system.peers");
    assert_int_equal(r->n_columns, 3);
    sl_cql_result_free(r);
    static const char *tables[] = {"keyspaces",  "tables",   "columns", "types", "functions",
                                   "aggregates", "triggers", "indexes", "views"};
    for (size_t i = 0; i < SL_ARRAY_LEN(tables); i++) {
        char s[128];
        snprintf(s, sizeof s, "SELECT * FROM system_schema.%s", tables[i]);
        r = q(s);
        if (r->kind != SL_CQL_RESULT_ROWS) fail_msg("%s: %s", s, r->error.message);
        sl_cql_result_free(r);
    }
    err("SELECT * FROM system_virtual_schema.keyspaces", SL_CQL_ERR_INVALID, NULL);
    schema_ks();
    ok("CREATE TABLE t (k int, c text, s int static, v list<int>, PRIMARY KEY (k, c)) WITH "
       "CLUSTERING ORDER BY (c DESC)");
    rows("SELECT keyspace_name, durable_writes, replication FROM system_schema.keyspaces WHERE "
         "keyspace_name = 'ks'",
         "ks|true|{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': "
         "'1'}");
    rows("SELECT table_name, flags, comment, gc_grace_seconds FROM system_schema.tables WHERE "
         "keyspace_name = 'ks' AND table_name = 't'",
         "t|{'compound'}||864000");
    rows("SELECT column_name, clustering_order, kind, position, type FROM system_schema.columns "
         "WHERE keyspace_name = 'ks' AND table_name = 't'",
         "c|desc|clustering|0|text\nk|none|partition_key|0|int\ns|none|static|-1|int\nv|none|"
         "regular|-1|list<int>");
    rows("SELECT * FROM system_schema.views WHERE keyspace_name = 'ks' AND view_name = 't'", "");
    rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system' AND "
         "table_name = 'local'",
         "local");
    rows("SELECT count(*) FROM system_schema.columns WHERE keyspace_name = 'system' AND table_name "
         "= 'local'",
         "20");
    /* schema_version changes with DDL. */
    r = q("SELECT schema_version FROM system.local");
    char *v0 = rows_text(r);
    sl_cql_result_free(r);
    ok("ALTER TABLE t ADD w int");
    r = q("SELECT schema_version FROM system.local");
    char *v1 = rows_text(r);
    sl_cql_result_free(r);
    assert_string_not_equal(v0, v1);
    free(v0);
    free(v1);
    err("INSERT INTO system.local (key) VALUES ('x')", SL_CQL_ERR_UNAUTHORIZED, NULL);
}

static void test_describe(void **state)
{
    (void)state;
    ok("CREATE KEYSPACE spark_streams WITH replication = {'class':'SimpleStrategy', "
       "'replication_factor':'1'}");
    ok("CREATE TABLE spark_streams.created_users (id UUID PRIMARY KEY, first_name TEXT, last_name "
       "TEXT)");
    ok("CREATE TABLE spark_streams.ev (k int, c int, v text, PRIMARY KEY ((k), c)) WITH CLUSTERING "
       "ORDER BY (c DESC)");
    sl_cql_result *r = q("DESCRIBE KEYSPACES");
    col_names(r, "keyspace_name,type,name");
    char *t = rows_text(r);
    assert_non_null(strstr(t, "spark_streams|keyspace|spark_streams"));
    assert_non_null(strstr(t, "system|keyspace|system"));
    free(t);
    sl_cql_result_free(r);
    r = q("DESCRIBE KEYSPACE spark_streams");
    col_names(r, "keyspace_name,type,name,create_statement");
    assert_int_equal(r->row_count, 3);
    t = rows_text(r);
    assert_non_null(strstr(
        t, "spark_streams|keyspace|spark_streams|CREATE KEYSPACE spark_streams WITH replication = "
           "{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '1'}  "
           "AND durable_writes = true;"));
    free(t);
    sl_cql_result_free(r);
    rows("DESCRIBE TABLE spark_streams.created_users",
         "spark_streams|table|created_users|CREATE TABLE spark_streams.created_users (\n"
         "    id uuid PRIMARY KEY,\n"
         "    first_name text,\n"
         "    last_name text\n"
         ") WITH additional_write_policy = '99p'\n"
         "    AND bloom_filter_fp_chance = 0.01\n"
         "    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}\n"
         "    AND cdc = false\n"
         "    AND comment = ''\n"
         "    AND compaction = {'class': "
         "'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': "
         "'32', 'min_threshold': '4'}\n"
         "    AND compression = {'chunk_length_in_kb': '16', 'class': "
         "'org.apache.cassandra.io.compress.LZ4Compressor'}\n"
         "    AND crc_check_chance = 1.0\n"
         "    AND default_time_to_live = 0\n"
         "    AND extensions = {}\n"
         "    AND gc_grace_seconds = 864000\n"
         "    AND max_index_interval = 2048\n"
         "    AND memtable_flush_period_in_ms = 0\n"
         "    AND min_index_interval = 128\n"
         "    AND read_repair = 'BLOCKING'\n"
         "    AND speculative_retry = '99p';");
    r = q("DESCRIBE TABLE spark_streams.ev");
    t = rows_text(r);
    assert_non_null(strstr(t, "    k int,\n    c int,\n    v text,\n    PRIMARY KEY (k, c)\n) WITH "
                              "CLUSTERING ORDER BY (c DESC)\n    AND additional_write_policy"));
    free(t);
    sl_cql_result_free(r);
    ok("USE spark_streams");
    rows("DESCRIBE TABLES", "spark_streams|table|created_users\nspark_streams|table|ev");
    r = q("DESCRIBE created_users");
    assert_int_equal(r->row_count, 1);
    sl_cql_result_free(r);
    err("DESCRIBE TABLE nope", SL_CQL_ERR_INVALID,
        "Table 'nope' not found in keyspace 'spark_streams'");
    err("DESCRIBE KEYSPACE nope", SL_CQL_ERR_INVALID, "'nope' not found in keyspaces");
    r = q("DESCRIBE CLUSTER");
    col_names(r, "cluster,partitioner,snitch,range_ownership");
    t = rows_text(r);
    assert_non_null(strstr(t, "Test Cluster|Murmur3Partitioner|DynamicEndpointSnitch|{'"));
    free(t);
    sl_cql_result_free(r);
}

static void test_static_and_more(void **state)
{
    (void)state;
    schema_ks();
    ok("CREATE TABLE st (k int, c int, s text static, v int, PRIMARY KEY (k, c))");
    /* A partition with only its static part: one row, clustering columns null. */
    ok("INSERT INTO st (k, s) VALUES (1, 'only static')");
    rows("SELECT k, c, s, v FROM st WHERE k = 1", "1|null|only static|null");
    rows("SELECT k, c FROM st WHERE k = 1 AND c = 0", "");
    ok("INSERT INTO st (k, c, v) VALUES (1, 0, 10)");
    ok("INSERT INTO st (k, c, v) VALUES (1, 1, 11)");
    rows("SELECT c, s, v FROM st WHERE k = 1", "0|only static|10\n1|only static|11");
    ok("UPDATE st SET s = 'shared' WHERE k = 1");
    rows("SELECT c, s FROM st WHERE k = 1", "0|shared\n1|shared");
    rows("SELECT DISTINCT k, s FROM st", "1|shared");
    rows("UPDATE st SET s = 'cas' WHERE k = 1 IF s = 'shared'", "true");
    rows("SELECT s FROM st WHERE k = 1 LIMIT 1", "cas");
    err("INSERT INTO st (k, c, s) VALUES (2, 0, 'x') IF s = 'y'", SL_CQL_ERR_SYNTAX, NULL);
    /* IN on clustering with a slice on the next column, token EQ, LIMIT as a marker. */
    ok("CREATE TABLE g (k int, a int, b int, PRIMARY KEY (k, a, b))");
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            char q2[128];
            snprintf(q2, sizeof q2, "INSERT INTO g (k, a, b) VALUES (1, %d, %d)", a, b);
            ok(q2);
        }
    rows("SELECT a, b FROM g WHERE k = 1 AND a IN (0, 2) AND b > 0", "0|1\n0|2\n2|1\n2|2");
    rows("SELECT a, b FROM g WHERE k = 1 AND a IN (0, 2) AND b > 0 ORDER BY a DESC",
         "2|2\n2|1\n0|2\n0|1");
    sl_cql_result *r = q("SELECT token(k) FROM g WHERE k = 1 LIMIT 1");
    char *tok = rows_text(r);
    sl_cql_result_free(r);
    char q3[160];
    snprintf(q3, sizeof q3, "SELECT count(*) FROM g WHERE token(k) = %s", tok);
    rows(q3, "9");
    free(tok);
    sl_cql_value lim[2] = {VI(1), VI(4)};
    r = qv("SELECT a, b FROM g WHERE k = ? LIMIT ?", lim, 2, 0, SL_SLICE_NULL);
    assert_int_equal(r->row_count, 4);
    sl_cql_result_free(r);
    /* Time functions. */
    ok("CREATE TABLE tl (k int, t timeuuid, PRIMARY KEY (k, t))");
    ok("INSERT INTO tl (k, t) VALUES (1, minTimeuuid('2020-01-01 00:00:00+0000'))");
    ok("INSERT INTO tl (k, t) VALUES (1, now())");
    rows("SELECT toDate(t), toUnixTimestamp(t) FROM tl WHERE k = 1 LIMIT 1",
         "2020-01-01|1577836800000");
    rows("SELECT count(*) FROM tl WHERE k = 1 AND t > maxTimeuuid('2021-01-01 00:00:00+0000')",
         "1");
    /* INSERT JSON with DEFAULT UNSET keeps the other columns. */
    ok("CREATE TABLE js (k int PRIMARY KEY, a text, b text)");
    ok("INSERT INTO js (k, a, b) VALUES (1, 'a', 'b')");
    ok("INSERT INTO js JSON '{\"k\": 1, \"a\": \"A\"}' DEFAULT UNSET");
    rows("SELECT a, b FROM js", "A|b");
    ok("INSERT INTO js JSON '{\"k\": 1, \"a\": \"A2\"}'");
    rows("SELECT a, b FROM js", "A2|null");
    /* ALTER KEYSPACE */
    ok("ALTER KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} "
       "AND durable_writes = false");
    rows("SELECT durable_writes, replication FROM system_schema.keyspaces WHERE keyspace_name = "
         "'ks'",
         "false|{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': "
         "'3'}");
    err("ALTER KEYSPACE system WITH durable_writes = true", SL_CQL_ERR_UNAUTHORIZED, NULL);
    /* A prepared TRUNCATE runs again and again. */
    sl_cql_result *pr = sl_cql_prepare(eng, sess, SL_SLICE_STR("TRUNCATE js"));
    uint8_t id[16];
    memcpy(id, pr->id, 16);
    sl_cql_result_free(pr);
    for (int i = 0; i < 3; i++) {
        sl_cql_query qq;
        memset(&qq, 0, sizeof qq);
        qq.id = (sl_slice){id, 16};
        r = NULL;
        sl_cql_execute(eng, sess, &qq, on_done, &r);
        wait_result(&r);
        assert_int_equal(r->kind, SL_CQL_RESULT_VOID);
        sl_cql_result_free(r);
    }
    rows("SELECT * FROM js", "");
}

/* The schema listener runs before the DDL's result is delivered. */
static int order_log[4], order_n;
static void order_schema(void *arg, const sl_cql_schema_change *c)
{
    (void)arg;
    (void)c;
    order_log[order_n++] = 1;
}
static void order_done(void *arg, sl_cql_result *res)
{
    order_log[order_n++] = 2;
    *(sl_cql_result **)arg = res;
}

static void test_lifecycle(void **state)
{
    (void)state;
    sl_cql_engine_on_schema_change(eng, order_schema, NULL);
    sl_cql_query qq;
    memset(&qq, 0, sizeof qq);
    qq.text = SL_SLICE_STR("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
                           "'replication_factor': 1}");
    sl_cql_result *r = NULL;
    sl_cql_execute(eng, sess, &qq, order_done, &r);
    wait_result(&r);
    assert_int_equal(order_n, 2);
    assert_int_equal(order_log[0], 1);
    assert_int_equal(order_log[1], 2);
    sl_cql_result_free(r);
    sl_cql_engine_on_schema_change(eng, NULL, NULL);
    ok("USE ks");
    ok("CREATE TABLE t (k int PRIMARY KEY)");

    /* The prepared registry is bounded: the least recently used statement is evicted and
     * answers Unprepared; one in use stays. */
    sl_cql_result *pr = sl_cql_prepare(eng, sess, SL_SLICE_STR("SELECT k FROM t WHERE k = 0"));
    uint8_t first[16], hot[16];
    memcpy(first, pr->id, 16);
    sl_cql_result_free(pr);
    pr = sl_cql_prepare(eng, sess, SL_SLICE_STR("SELECT k FROM t WHERE k = 1"));
    memcpy(hot, pr->id, 16);
    sl_cql_result_free(pr);
    for (int i = 2; i < 10002; i++) {
        char s[64];
        snprintf(s, sizeof s, "SELECT k FROM t WHERE k = %d", i);
        pr = sl_cql_prepare(eng, sess, SL_SLICE_STR(s));
        assert_int_equal(pr->kind, SL_CQL_RESULT_PREPARED);
        sl_cql_result_free(pr);
        if (i % 1000 == 0) {
            memset(&qq, 0, sizeof qq);
            qq.id = (sl_slice){hot, 16};
            r = NULL;
            sl_cql_execute(eng, sess, &qq, on_done, &r);
            wait_result(&r);
            assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
            sl_cql_result_free(r);
        }
    }
    memset(&qq, 0, sizeof qq);
    qq.id = (sl_slice){first, 16};
    r = NULL;
    sl_cql_execute(eng, sess, &qq, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->error.code, SL_CQL_ERR_UNPREPARED);
    sl_cql_result_free(r);
    qq.id = (sl_slice){hot, 16};
    r = NULL;
    sl_cql_execute(eng, sess, &qq, on_done, &r);
    wait_result(&r);
    assert_int_equal(r->kind, SL_CQL_RESULT_ROWS);
    sl_cql_result_free(r);

    /* Closing with writes waiting for their WAL sync completes them first. */
    sl_cql_result *pending[8] = {0};
    for (int i = 0; i < 8; i++) {
        char s[64];
        snprintf(s, sizeof s, "INSERT INTO t (k) VALUES (%d)", i);
        memset(&qq, 0, sizeof qq);
        qq.text = SL_SLICE_STR(s);
        sl_cql_execute(eng, sess, &qq, on_done, &pending[i]);
    }
    sl_cql_session_free(sess); /* a session may go while its writes are pending */
    sess = NULL;
    sl_cql_engine_close(eng);
    eng = NULL;
    for (int i = 0; i < 8; i++) {
        assert_non_null(pending[i]);
        assert_int_equal(pending[i]->kind, SL_CQL_RESULT_VOID);
        sl_cql_result_free(pending[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    open_engine();
    rows("SELECT count(*) FROM ks.t", "8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ddl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clustering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_functions_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup_clock, teardown),
        cmocka_unit_test_setup_teardown(test_lwt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_and_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
