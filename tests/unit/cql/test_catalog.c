/* test_catalog.c: DDL (keyspaces, tables, ALTER), Cassandra's errors, persistence across a
 * reopen, schema_version changing on every DDL, column order and the built-in system tables. */
#include "cql/catalog.h"
#include "cql/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

typedef struct fx {
    char dir[64];
    uv_loop_t loop;
    sl_store *s;
    sl_catalog *c;
} fx;

static void fx_open(fx *f)
{
    sl_store_opts o;
    sl_store_opts_default(&o);
    o.dir = f->dir;
    o.full_compaction_period_ms = 0;
    o.write_buffer_bytes = 4u << 20;
    sl_buf err = SL_BUF_INIT;
    if (sl_store_open(&f->loop, &o, &f->s, &err)) fail_msg("open: %s", sl_buf_cstr(&err));
    if (sl_catalog_open(f->s, &f->c, &err)) fail_msg("catalog: %s", sl_buf_cstr(&err));
    sl_buf_free(&err);
}

static void fx_close(fx *f)
{
    sl_catalog_close(f->c);
    sl_store_close(f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sl-test-catalog-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    uv_loop_init(&f->loop);
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    fx_close(f);
    uv_loop_close(&f->loop);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd)) {
    }
    free(f);
    return 0;
}

static sl_cql_dtype *T(const char *text)
{
    sl_cql_dtype *t = NULL;
    sl_buf err = SL_BUF_INIT;
    if (sl_cql_dtype_parse(SL_SLICE_STR(text), &t, &err)) fail_msg("type %s", text);
    sl_buf_free(&err);
    return t;
}

static void add(sl_cql_table *t, const char *name, const char *type, sl_cql_col_kind k, bool desc)
{
    sl_buf err = SL_BUF_INIT;
    sl_cql_dtype *ty = T(type);
    assert_int_equal(sl_cql_table_add_column(t, name, ty, k, desc, &err), 0);
    sl_cql_dtype_release(ty);
    sl_buf_free(&err);
}

static const sl_cql_option simple[2] = {{"class", "SimpleStrategy"}, {"replication_factor", "1"}};

static void expect_err(int rc, int want_rc, sl_buf *err, const char *want)
{
    assert_int_equal(rc, want_rc);
    if (!strstr(sl_buf_cstr(err), want)) fail_msg("got '%s', want '%s'", sl_buf_cstr(err), want);
    err->len = 0;
}

static void test_system_schema(void **state)
{
    fx *f = *state;
    size_t n;
    const sl_cql_keyspace *const *ks = sl_catalog_keyspaces(f->c, &n);
    assert_int_equal(n, 5);
    assert_string_equal(ks[0]->name, "system");
    assert_string_equal(ks[3]->name, "system_schema");
    sl_cql_table *local = sl_catalog_table(f->c, "system", "local");
    assert_non_null(local);
    assert_true(local->is_system);
    assert_int_equal(local->npk, 1);
    assert_string_equal(local->pk[0]->name, "key");
    const sl_cql_column *tokens = sl_cql_table_column(local, "tokens");
    assert_non_null(tokens);
    sl_buf b = SL_BUF_INIT;
    sl_cql_dtype_to_cql(tokens->type, &b);
    assert_string_equal(sl_buf_cstr(&b), "set<text>");
    const char *needed[] = {"cluster_name",
                            "data_center",
                            "rack",
                            "release_version",
                            "cql_version",
                            "schema_version",
                            "host_id",
                            "rpc_address",
                            "partitioner",
                            "native_protocol_version",
                            "broadcast_address"};
    for (size_t i = 0; i < SL_ARRAY_LEN(needed); i++)
        assert_non_null(sl_cql_table_column(local, needed[i]));
    const char *tables[] = {"keyspaces", "tables",     "columns",  "dropped_columns", "types",
                            "functions", "aggregates", "triggers", "indexes",         "views"};
    for (size_t i = 0; i < SL_ARRAY_LEN(tables); i++)
        assert_non_null(sl_catalog_table(f->c, "system_schema", tables[i]));
    sl_cql_table *cols = sl_catalog_table(f->c, "system_schema", "columns");
    assert_int_equal(cols->npk, 1);
    assert_int_equal(cols->nck, 2);
    assert_string_equal(cols->ck[1]->name, "column_name");
    assert_non_null(sl_catalog_table(f->c, "system", "peers_v2"));
    assert_non_null(sl_catalog_table(f->c, "system", "peers"));
    /* system table ids are stable (name-based) */
    assert_int_equal(local->id[6] >> 4, 3);
    /* system keyspaces are read-only */
    sl_buf err = SL_BUF_INIT;
    expect_err(sl_catalog_drop_keyspace(f->c, "system", false, &err), SL_ERR_INVAL, &err,
               "system keyspace is not user-modifiable.");
    sl_cql_table *t = sl_cql_table_new("system", "x");
    add(t, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    expect_err(sl_catalog_create_table(f->c, t, false, &err), SL_ERR_INVAL, &err,
               "not user-modifiable");
    sl_buf_free(&b);
    sl_buf_free(&err);
}

static void test_ddl_and_reopen(void **state)
{
    fx *f = *state;
    sl_buf err = SL_BUF_INIT;
    uint8_t v0[16], v1[16];
    sl_catalog_schema_version(f->c, v0);
    assert_int_equal(
        sl_catalog_create_keyspace(f->c, "spark_streams", simple, 2, true, false, &err), 0);
    sl_catalog_schema_version(f->c, v1);
    assert_memory_not_equal(v0, v1, 16);
    expect_err(sl_catalog_create_keyspace(f->c, "spark_streams", simple, 2, true, false, &err),
               SL_ERR_EXISTS, &err, "Cannot add already existing keyspace \"spark_streams\"");
    assert_int_equal(sl_catalog_create_keyspace(f->c, "spark_streams", simple, 2, true, true, &err),
                     1);
    const sl_cql_keyspace *k = sl_catalog_keyspace(f->c, "spark_streams");
    assert_non_null(k);
    assert_int_equal(k->nreplication, 2);
    assert_string_equal(k->replication[0].name, "class");
    assert_string_equal(k->replication[0].value, "org.apache.cassandra.locator.SimpleStrategy");

    /* the seeds' table, plus dob */
    sl_cql_table *t = sl_cql_table_new("spark_streams", "created_users");
    add(t, "id", "uuid", SL_CQL_COL_PARTITION_KEY, false);
    const char *cols[] = {"first_name", "last_name", "gender",   "address",
                          "post_code",  "email",     "username", "registered_date",
                          "phone",      "picture",   "dob"};
    for (size_t i = 0; i < SL_ARRAY_LEN(cols); i++)
        add(t, cols[i], "text", SL_CQL_COL_REGULAR, false);
    assert_int_equal(sl_cql_table_set_option(t, "comment", "'users'", &err), 0);
    expect_err(sl_cql_table_set_option(t, "bogus", "1", &err), SL_ERR_INVAL, &err,
               "Unknown property 'bogus'");
    expect_err(sl_cql_table_set_option(t, "gc_grace_seconds", "'x'", &err), SL_ERR_INVAL, &err,
               "Invalid value for property 'gc_grace_seconds'");
    sl_catalog_schema_version(f->c, v0);
    assert_int_equal(sl_catalog_create_table(f->c, t, false, &err), 0);
    sl_catalog_schema_version(f->c, v1);
    assert_memory_not_equal(v0, v1, 16);
    t = sl_catalog_table(f->c, "spark_streams", "created_users");
    assert_non_null(t);
    /* SELECT * order: key first, then regular columns by name */
    assert_string_equal(t->columns[0].name, "id");
    assert_string_equal(t->columns[1].name, "address");
    assert_string_equal(t->columns[2].name, "dob");
    assert_string_equal(t->columns[11].name, "username");
    assert_int_equal(t->columns[0].position, 0);
    assert_int_equal(t->columns[1].position, -1);
    assert_string_equal(sl_cql_table_option(t, "comment"), "'users'");
    assert_string_equal(sl_cql_table_option(t, "gc_grace_seconds"), "864000");
    assert_null(sl_cql_table_option(t, "nope"));
    uint32_t sid = t->storage_id;
    uint8_t id[16];
    memcpy(id, t->id, 16);

    /* a clustered table */
    sl_cql_table *e = sl_cql_table_new("spark_streams", "events");
    add(e, "day", "date", SL_CQL_COL_PARTITION_KEY, false);
    add(e, "src", "text", SL_CQL_COL_PARTITION_KEY, false);
    add(e, "at", "timestamp", SL_CQL_COL_CLUSTERING, true);
    add(e, "seq", "int", SL_CQL_COL_CLUSTERING, false);
    add(e, "tags", "set<text>", SL_CQL_COL_REGULAR, false);
    add(e, "total", "bigint", SL_CQL_COL_STATIC, false);
    assert_int_equal(sl_catalog_create_table(f->c, e, false, &err), 0);
    e = sl_catalog_table(f->c, "spark_streams", "events");
    assert_int_equal(e->npk, 2);
    assert_int_equal(e->nck, 2);
    assert_string_equal(e->columns[4].name, "total"); /* statics before regulars */
    assert_true(e->ck[0]->desc);

    /* ALTER: add, drop, options */
    sl_cql_dtype *ty = T("map<text, int>");
    assert_int_equal(
        sl_catalog_alter_add(f->c, "spark_streams", "events", "counts", ty, false, &err), 0);
    expect_err(sl_catalog_alter_add(f->c, "spark_streams", "events", "counts", ty, false, &err),
               SL_ERR_INVAL, &err, "Column with name 'counts' already exists");
    sl_cql_dtype_release(ty);
    expect_err(sl_catalog_alter_drop(f->c, "spark_streams", "events", "seq", &err), SL_ERR_INVAL,
               &err, "Cannot drop PRIMARY KEY column seq");
    expect_err(sl_catalog_alter_drop(f->c, "spark_streams", "events", "zz", &err), SL_ERR_INVAL,
               &err, "Column zz was not found");
    assert_int_equal(sl_catalog_alter_drop(f->c, "spark_streams", "events", "tags", &err), 0);
    sl_cql_option gc = {"gc_grace_seconds", "3600"};
    assert_int_equal(sl_catalog_alter_options(f->c, "spark_streams", "events", &gc, 1, &err), 0);
    e = sl_catalog_table(f->c, "spark_streams", "events");
    assert_null(sl_cql_table_column(e, "tags"));
    const sl_cql_column *counts = sl_cql_table_column(e, "counts");
    assert_non_null(counts);
    assert_int_equal(counts->id, 6); /* a fresh id: 0..5 were used at create */
    assert_int_equal(e->gc_grace_seconds, 3600);

    /* errors */
    sl_cql_table *bad = sl_cql_table_new("nope", "x");
    add(bad, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_NOTFOUND, &err,
               "Keyspace 'nope' doesn't exist");
    bad = sl_cql_table_new("spark_streams", "created_users");
    add(bad, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_EXISTS, &err,
               "Cannot add already existing table \"created_users\" to keyspace \"spark_streams\"");
    bad = sl_cql_table_new("spark_streams", "nokey");
    add(bad, "k", "int", SL_CQL_COL_REGULAR, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_INVAL, &err,
               "No PRIMARY KEY specifed");
    bad = sl_cql_table_new("spark_streams", "listkey");
    add(bad, "k", "list<int>", SL_CQL_COL_PARTITION_KEY, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_INVAL, &err,
               "Invalid non-frozen collection type list<int> for PRIMARY KEY component k");
    bad = sl_cql_table_new("spark_streams", "mixed");
    add(bad, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    add(bad, "n", "counter", SL_CQL_COL_REGULAR, false);
    add(bad, "v", "text", SL_CQL_COL_REGULAR, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_INVAL, &err,
               "Cannot mix counter and non counter columns");
    bad = sl_cql_table_new("spark_streams", "stat");
    add(bad, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    add(bad, "s", "int", SL_CQL_COL_STATIC, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_INVAL, &err,
               "Static columns are only useful");
    bad = sl_cql_table_new("spark_streams", "bad-name");
    add(bad, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    expect_err(sl_catalog_create_table(f->c, bad, false, &err), SL_ERR_INVAL, &err,
               "Table name must not be empty");
    sl_cql_table *dup = sl_cql_table_new("spark_streams", "dup");
    add(dup, "k", "int", SL_CQL_COL_PARTITION_KEY, false);
    sl_cql_dtype *it = T("int");
    expect_err(sl_cql_table_add_column(dup, "k", it, SL_CQL_COL_REGULAR, false, &err),
               SL_ERR_EXISTS, &err, "Multiple definition of identifier k");
    sl_cql_dtype_release(it);
    sl_cql_table_release(dup);
    sl_cql_option noclass = {"replication_factor", "1"};
    expect_err(sl_catalog_create_keyspace(f->c, "k2", &noclass, 1, true, false, &err),
               SL_ERR_CONFIG, &err, "Missing replication strategy class");
    sl_cql_option norf = {"class", "SimpleStrategy"};
    expect_err(sl_catalog_create_keyspace(f->c, "k2", &norf, 1, true, false, &err), SL_ERR_CONFIG,
               &err, "SimpleStrategy requires a replication_factor");
    sl_cql_option nts[2] = {{"class", "NetworkTopologyStrategy"}, {"datacenter1", "3"}};
    assert_int_equal(sl_catalog_create_keyspace(f->c, "k2", nts, 2, false, false, &err), 0);
    expect_err(sl_catalog_drop_table(f->c, "spark_streams", "zz", false, &err), SL_ERR_NOTFOUND,
               &err, "Table 'spark_streams.zz' doesn't exist");
    assert_int_equal(sl_catalog_drop_table(f->c, "spark_streams", "zz", true, &err), 1);

    /* everything comes back after a reopen, with the same version */
    sl_catalog_schema_version(f->c, v0);
    fx_close(f);
    fx_open(f);
    sl_catalog_schema_version(f->c, v1);
    assert_memory_equal(v0, v1, 16);
    t = sl_catalog_table(f->c, "spark_streams", "created_users");
    assert_non_null(t);
    assert_int_equal(t->storage_id, sid);
    assert_memory_equal(t->id, id, 16);
    assert_int_equal(t->ncolumns, 12);
    assert_string_equal(t->columns[2].name, "dob");
    assert_string_equal(sl_cql_table_option(t, "comment"), "'users'");
    e = sl_catalog_table(f->c, "spark_streams", "events");
    assert_non_null(e);
    assert_true(e->ck[0]->desc);
    assert_int_equal(e->gc_grace_seconds, 3600);
    assert_int_equal(sl_cql_table_column(e, "counts")->id, 6);
    assert_int_equal(e->next_column_id, 7);
    assert_null(sl_cql_table_column(e, "tags"));
    k = sl_catalog_keyspace(f->c, "k2");
    assert_non_null(k);
    assert_false(k->durable_writes);

    /* drops, which also survive a reopen; new tables never reuse a storage id */
    assert_int_equal(sl_catalog_drop_table(f->c, "spark_streams", "created_users", false, &err), 0);
    assert_int_equal(sl_catalog_drop_keyspace(f->c, "k2", false, &err), 0);
    expect_err(sl_catalog_drop_keyspace(f->c, "k2", false, &err), SL_ERR_NOTFOUND, &err,
               "Keyspace 'k2' doesn't exist");
    t = sl_cql_table_new("spark_streams", "created_users");
    add(t, "id", "uuid", SL_CQL_COL_PARTITION_KEY, false);
    assert_int_equal(sl_catalog_create_table(f->c, t, false, &err), 0);
    t = sl_catalog_table(f->c, "spark_streams", "created_users");
    assert_true(t->storage_id > sid);
    fx_close(f);
    fx_open(f);
    assert_null(sl_catalog_keyspace(f->c, "k2"));
    t = sl_catalog_table(f->c, "spark_streams", "created_users");
    assert_int_equal(t->ncolumns, 1);
    assert_int_equal(sl_catalog_drop_keyspace(f->c, "spark_streams", false, &err), 0);
    assert_null(sl_catalog_table(f->c, "spark_streams", "events"));
    sl_buf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_system_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ddl_and_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
