/* test_parser.c: every statement form sluice serves, parsed into the tree the executor reads:
 * what the drivers and cqlsh send at connect, the seeds' statements, DDL, DML with all clauses,
 * batches, DESCRIBE, every literal kind, bind markers, names, error messages with positions,
 * bounded nesting, scripts and the shell's statement splitter. */
#include "cql/parser.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static sl_arena arena;

static int setup(void **state)
{
    (void)state;
    sl_arena_init(&arena, 8192);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_arena_free(&arena);
    return 0;
}

static sl_cql_stmt *ok(const char *q)
{
    sl_cql_stmt *st = NULL;
    sl_cql_parse_error e;
    if (sl_cql_parse(q, strlen(q), &arena, &st, &e) != 0) fail_msg("%s\n  -> %s", q, e.message);
    assert_non_null(st);
    return st;
}

static void bad(const char *q, uint32_t line, uint32_t col, const char *msg)
{
    sl_cql_stmt *st = (sl_cql_stmt *)1;
    sl_cql_parse_error e;
    memset(&e, 0, sizeof e);
    if (sl_cql_parse(q, strlen(q), &arena, &st, &e) != SL_ERR_PARSE) fail_msg("parsed: %s", q);
    assert_null(st);
    if (e.line != line || e.col != col)
        fail_msg("%s: error at %u:%u, want %u:%u (%s)", q, e.line, e.col, line, col, e.message);
    char head[32];
    snprintf(head, sizeof head, "line %u:%u ", line, col);
    if (strncmp(e.message, head, strlen(head)) != 0) fail_msg("'%s' lacks '%s'", e.message, head);
    if (!strstr(e.message, msg)) fail_msg("'%s' lacks '%s'", e.message, msg);
}

static void id_is(sl_cql_ident id, const char *name)
{
    assert_non_null(id.name);
    assert_string_equal(id.name, name);
    assert_int_equal(id.len, strlen(name));
}

static void term_is(const sl_cql_term *t, sl_cql_term_kind kind, const char *text)
{
    assert_non_null(t);
    if (t->kind != kind) fail_msg("term kind %d, want %d", t->kind, kind);
    if (text) {
        assert_non_null(t->text);
        assert_string_equal(t->text, text);
        assert_int_equal(t->len, strlen(text));
    }
}

static void rel_is(const sl_cql_relation *r, const char *col, sl_cql_op op)
{
    assert_int_equal(r->kind, SL_CQL_REL_COLUMN);
    assert_int_equal(r->n_cols, 1);
    id_is(r->cols[0], col);
    assert_int_equal(r->op, op);
}

static void test_driver_connect_queries(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("SELECT * FROM system.local WHERE key='local'");
    assert_int_equal(st->kind, SL_CQL_STMT_SELECT);
    sl_cql_select *s = &st->u.select;
    assert_true(s->star);
    assert_int_equal(s->n_sels, 0);
    id_is(s->table.ks, "system");
    id_is(s->table.name, "local");
    assert_int_equal(s->n_where, 1);
    rel_is(&s->where[0], "key", SL_CQL_OP_EQ);
    term_is(s->where[0].value, SL_CQL_TERM_STRING, "local");
    assert_null(s->limit);
    assert_false(s->allow_filtering);
    assert_int_equal(st->n_binds, 0);

    /* cqlsh writes it in lower case with spaces. */
    st = ok("select * from system.local where key = 'local'");
    id_is(st->u.select.table.name, "local");
    rel_is(&st->u.select.where[0], "key", SL_CQL_OP_EQ);

    st = ok("SELECT * FROM system.peers_v2");
    id_is(st->u.select.table.name, "peers_v2");
    assert_int_equal(st->u.select.n_where, 0);
    ok("SELECT * FROM system.peers");
    ok("SELECT * FROM system_virtual_schema.keyspaces");
    static const char *const schema[] = {"keyspaces",  "tables",   "columns", "types", "functions",
                                         "aggregates", "triggers", "indexes", "views"};
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT * FROM system_schema.%s", schema[i]);
        st = ok(q);
        id_is(st->u.select.table.ks, "system_schema");
        id_is(st->u.select.table.name, schema[i]);
    }
    /* After DDL the Python driver refreshes one table's metadata. */
    st = ok("SELECT * FROM system_schema.columns WHERE keyspace_name = 'spark_streams' AND "
            "table_name = 'created_users'");
    s = &st->u.select;
    assert_int_equal(s->n_where, 2);
    rel_is(&s->where[0], "keyspace_name", SL_CQL_OP_EQ);
    term_is(s->where[0].value, SL_CQL_TERM_STRING, "spark_streams");
    rel_is(&s->where[1], "table_name", SL_CQL_OP_EQ);
    term_is(s->where[1].value, SL_CQL_TERM_STRING, "created_users");
    st = ok("SELECT * FROM system_schema.views WHERE keyspace_name = 'ks' AND view_name = 'v'");
    rel_is(&st->u.select.where[1], "view_name", SL_CQL_OP_EQ);

    /* Schema agreement and gocql's projections. */
    st = ok("SELECT schema_version FROM system.local WHERE key='local'");
    assert_int_equal(st->u.select.n_sels, 1);
    assert_int_equal(st->u.select.sels[0]->kind, SL_CQL_SEL_COLUMN);
    id_is(st->u.select.sels[0]->col, "schema_version");
    st = ok("SELECT peer, data_center, host_id, rack, release_version, rpc_address, "
            "schema_version, tokens FROM system.peers");
    assert_int_equal(st->u.select.n_sels, 8);
    id_is(st->u.select.sels[7]->col, "tokens");
    ok("SELECT cluster_name, data_center, rack, tokens, partitioner, release_version, "
       "schema_version FROM system.local WHERE key='local'");
    /* system_schema column names that are CQL keywords. */
    st = ok("SELECT keyspace_name, table_name, column_name, clustering_order, column_name_bytes, "
            "kind, position, type FROM system_schema.columns");
    id_is(st->u.select.sels[5]->col, "kind");
    id_is(st->u.select.sels[7]->col, "type");
}

static void test_seed_statements(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = "
                         "{'class': 'SimpleStrategy', 'replication_factor': '1'};");
    assert_int_equal(st->kind, SL_CQL_STMT_CREATE_KEYSPACE);
    sl_cql_keyspace_def *k = &st->u.keyspace;
    assert_true(k->if_not_exists);
    id_is(k->name, "spark_streams");
    assert_int_equal(k->n_props, 1);
    id_is(k->props[0].name, "replication");
    const sl_cql_term *m = k->props[0].value;
    term_is(m, SL_CQL_TERM_MAP, NULL);
    assert_int_equal(m->u.map.n, 2);
    term_is(m->u.map.keys[0], SL_CQL_TERM_STRING, "class");
    term_is(m->u.map.values[0], SL_CQL_TERM_STRING, "SimpleStrategy");
    term_is(m->u.map.keys[1], SL_CQL_TERM_STRING, "replication_factor");
    term_is(m->u.map.values[1], SL_CQL_TERM_STRING, "1");
    assert_string_equal(st->text, "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication "
                                  "= {'class': 'SimpleStrategy', 'replication_factor': '1'}");

    st = ok("\n        CREATE TABLE IF NOT EXISTS spark_streams.created_users (\n"
            "            id UUID PRIMARY KEY,\n"
            "            first_name TEXT,\n"
            "            last_name TEXT,\n"
            "            gender TEXT,\n"
            "            address TEXT,\n"
            "            post_code TEXT,\n"
            "            email TEXT,\n"
            "            username TEXT,\n"
            "            dob TEXT,\n"
            "            registered_date TEXT,\n"
            "            phone TEXT,\n"
            "            picture TEXT);\n"
            "        ");
    assert_int_equal(st->kind, SL_CQL_STMT_CREATE_TABLE);
    assert_int_equal(st->pos.line, 2);
    assert_int_equal(st->pos.col, 8);
    sl_cql_create_table *t = &st->u.create_table;
    assert_true(t->if_not_exists);
    id_is(t->table.ks, "spark_streams");
    id_is(t->table.name, "created_users");
    assert_int_equal(t->n_cols, 12);
    id_is(t->cols[0].name, "id");
    assert_string_equal(t->cols[0].type->name, "uuid");
    assert_true(t->cols[0].primary_key);
    assert_int_equal(t->n_pk, 1);
    id_is(t->partition_key[0], "id");
    assert_int_equal(t->n_ck, 0);
    for (uint32_t i = 1; i < 12; i++) {
        assert_string_equal(t->cols[i].type->name, "text");
        assert_false(t->cols[i].primary_key);
        assert_false(t->cols[i].is_static);
    }
    id_is(t->cols[11].name, "picture");
    assert_int_equal(t->cols[11].name.pos.line, 14);
    assert_int_equal(t->cols[11].name.pos.col, 12);

    st = ok("INSERT INTO spark_streams.created_users(id, first_name, last_name, gender, address, "
            "post_code, email, username, dob, registered_date, phone, picture) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    assert_int_equal(st->u.insert.n_cols, 12);
    assert_int_equal(st->u.insert.n_values, 12);
    assert_int_equal(st->n_binds, 12);
    for (uint32_t i = 0; i < 12; i++) {
        assert_ptr_equal(st->binds[i], st->u.insert.values[i]);
        assert_int_equal(st->binds[i]->u.bind.index, i);
    }
    st = ok("SELECT * FROM spark_streams.created_users;");
    id_is(st->u.select.table.name, "created_users");
}

static void test_keyspace_ddl(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("create keyspace Ks with REPLICATION = {'class' : "
                         "'NetworkTopologyStrategy', 'dc1' : 3} and durable_writes = false");
    id_is(st->u.keyspace.name, "ks");
    assert_false(st->u.keyspace.if_not_exists);
    assert_int_equal(st->u.keyspace.n_props, 2);
    id_is(st->u.keyspace.props[0].name, "replication");
    term_is(st->u.keyspace.props[0].value->u.map.values[1], SL_CQL_TERM_INTEGER, "3");
    id_is(st->u.keyspace.props[1].name, "durable_writes");
    term_is(st->u.keyspace.props[1].value, SL_CQL_TERM_BOOLEAN, "false");

    st = ok("ALTER KEYSPACE ks WITH durable_writes = true");
    assert_int_equal(st->kind, SL_CQL_STMT_ALTER_KEYSPACE);
    id_is(st->u.keyspace.name, "ks");

    st = ok("DROP KEYSPACE IF EXISTS \"MyKs\"");
    assert_int_equal(st->kind, SL_CQL_STMT_DROP_KEYSPACE);
    assert_true(st->u.drop.if_exists);
    id_is(st->u.drop.name.name, "MyKs");
    assert_true(st->u.drop.name.name.quoted);
    assert_null(st->u.drop.name.ks.name);

    st = ok("USE spark_streams");
    assert_int_equal(st->kind, SL_CQL_STMT_USE);
    id_is(st->u.use, "spark_streams");
    st = ok("use \"CamelKs\";");
    id_is(st->u.use, "CamelKs");

    bad("CREATE KEYSPACE ks", 1, 18, "mismatched input '<EOF>' expecting K_WITH");
    bad("CREATE KEYSPACE ks WITH replication = {'a': 'b'} AND replication = {}", 1, 53,
        "Multiple definition for property replication");
    bad("CREATE KEYSPACE ks WITH replication = ?", 1, 38, "bind variables are not supported");
    bad("CREATE KEYSPACE ks WITH replication = {'a', 'b'}", 1, 38, "expected a map");
    bad("USE ?", 1, 4, "Bind variables cannot be used for keyspace names");
}

static void test_create_table(void **state)
{
    (void)state;
    sl_cql_stmt *st =
        ok("CREATE TABLE ks.events (tenant text, day date, ts timeuuid, seq int, kind text STATIC, "
           "tags set<text>, attrs frozen<map<text, list<int>>>, pair tuple<int, text>, "
           "addr ks.address, legacy 'org.apache.cassandra.db.marshal.BytesType', "
           "PRIMARY KEY ((tenant, day), ts, seq),) WITH CLUSTERING ORDER BY (ts DESC, seq ASC) "
           "AND comment = 'events' AND gc_grace_seconds = 864000 AND bloom_filter_fp_chance = 0.01 "
           "AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'} AND COMPACT STORAGE");
    sl_cql_create_table *t = &st->u.create_table;
    assert_int_equal(t->n_cols, 10);
    assert_int_equal(t->n_pk, 2);
    id_is(t->partition_key[0], "tenant");
    id_is(t->partition_key[1], "day");
    assert_int_equal(t->n_ck, 2);
    id_is(t->clustering[0], "ts");
    id_is(t->clustering[1], "seq");
    assert_true(t->cols[4].is_static);
    assert_false(t->cols[3].is_static);

    const sl_cql_type *ty = t->cols[5].type;
    assert_string_equal(ty->name, "set");
    assert_int_equal(ty->n_args, 1);
    assert_string_equal(ty->args[0]->name, "text");
    ty = t->cols[6].type;
    assert_string_equal(ty->name, "frozen");
    assert_string_equal(ty->text, "frozen<map<text, list<int>>>");
    assert_int_equal(ty->text_len, strlen(ty->text));
    assert_string_equal(ty->args[0]->name, "map");
    assert_int_equal(ty->args[0]->n_args, 2);
    assert_string_equal(ty->args[0]->args[1]->name, "list");
    assert_string_equal(ty->args[0]->args[1]->args[0]->name, "int");
    assert_string_equal(ty->args[0]->args[1]->text, "list<int>");
    ty = t->cols[7].type;
    assert_string_equal(ty->name, "tuple");
    assert_int_equal(ty->n_args, 2);
    ty = t->cols[8].type;
    id_is(ty->ks, "ks");
    assert_string_equal(ty->name, "address");
    assert_false(ty->custom);
    ty = t->cols[9].type;
    assert_true(ty->custom);
    assert_string_equal(ty->name, "org.apache.cassandra.db.marshal.BytesType");

    assert_int_equal(t->n_clustering_order, 2);
    id_is(t->clustering_order[0].col, "ts");
    assert_true(t->clustering_order[0].desc);
    assert_false(t->clustering_order[1].desc);
    assert_true(t->compact_storage);
    assert_int_equal(t->n_props, 4);
    id_is(t->props[0].name, "comment");
    term_is(t->props[2].value, SL_CQL_TERM_FLOAT, "0.01");
    term_is(t->props[3].value, SL_CQL_TERM_MAP, NULL);

    /* Every native type name. */
    st = ok("CREATE TABLE t (k int PRIMARY KEY, a ascii, b bigint, c blob, d boolean, e counter, "
            "f decimal, g double, h float, i inet, j smallint, l text, m timestamp, n tinyint, "
            "o uuid, p varchar, q varint, r timeuuid, s date, u time, v duration, w "
            "list<frozen<set<bigint>>>)");
    static const char *const names[] = {
        "int",    "ascii",    "bigint",   "blob", "boolean",   "counter", "decimal", "double",
        "float",  "inet",     "smallint", "text", "timestamp", "tinyint", "uuid",    "varchar",
        "varint", "timeuuid", "date",     "time", "duration",  "list"};
    assert_int_equal(st->u.create_table.n_cols, 22);
    for (uint32_t i = 0; i < 22; i++)
        assert_string_equal(st->u.create_table.cols[i].type->name, names[i]);

    /* A table without a primary key parses; the executor rejects it. */
    st = ok("CREATE COLUMNFAMILY t (a int)");
    assert_int_equal(st->u.create_table.n_pk, 0);
    /* Column names that are unreserved keywords. */
    st = ok("CREATE TABLE t (key text, type text, value blob, ttl int, timestamp bigint, "
            "PRIMARY KEY (key, type))");
    id_is(st->u.create_table.clustering[0], "type");

    st = ok("CREATE TABLE t (k int PRIMARY KEY, c $$org.Custom$$)");
    assert_true(st->u.create_table.cols[1].type->custom);
    assert_string_equal(st->u.create_table.cols[1].type->name, "org.Custom");
    bad("CREATE TABLE t (k int PRIMARY KEY, c 42)", 1, 37, "no viable alternative at input '42'");
    bad("CREATE TABLE t (k int PRIMARY KEY, c in)", 1, 37, "no viable alternative at input 'in'");
    bad("CREATE TABLE t (a int PRIMARY KEY, b int PRIMARY KEY)", 1, 41,
        "Multiple PRIMARY KEYs specified");
    bad("CREATE TABLE t (a int, b int, PRIMARY KEY (a), PRIMARY KEY (b))", 1, 47,
        "Multiple PRIMARY KEYs");
    bad("CREATE TABLE t (a int, PRIMARY KEY (a)) WITH CLUSTERING ORDER BY (a)", 1, 67,
        "no viable alternative at input ')'");
    bad("CREATE TABLE t (select int PRIMARY KEY)", 1, 16,
        "no viable alternative at input 'select'");
    bad("CREATE TABLE t (a map<int> PRIMARY KEY)", 1, 25, "mismatched input '>' expecting ','");
    bad("CREATE TABLE t (a list<int, int> PRIMARY KEY)", 1, 26,
        "mismatched input ',' expecting '>'");
    bad("CREATE TABLE t (a int PRIMARY KEY", 1, 33, "expecting ')'");
    bad("CREATE TABLE ?.t (a int PRIMARY KEY)", 1, 13, "keyspace names");
    bad("CREATE TABLE ks.? (a int PRIMARY KEY)", 1, 16, "table names");
}

static void test_alter_drop_truncate(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("ALTER TABLE ks.t ADD email text");
    assert_int_equal(st->kind, SL_CQL_STMT_ALTER_TABLE);
    sl_cql_alter_table *a = &st->u.alter_table;
    assert_int_equal(a->kind, SL_CQL_ALTER_ADD);
    id_is(a->table.ks, "ks");
    assert_int_equal(a->n_cols, 1);
    id_is(a->cols[0].name, "email");
    assert_string_equal(a->cols[0].type->name, "text");
    assert_false(a->cols[0].primary_key);

    st = ok("ALTER TABLE t ADD (a int, b map<text, int> static)");
    assert_int_equal(st->u.alter_table.n_cols, 2);
    assert_true(st->u.alter_table.cols[1].is_static);

    st = ok("ALTER TABLE t DROP email");
    assert_int_equal(st->u.alter_table.kind, SL_CQL_ALTER_DROP);
    assert_int_equal(st->u.alter_table.n_drop, 1);
    id_is(st->u.alter_table.drop[0], "email");
    assert_null(st->u.alter_table.timestamp);
    st = ok("ALTER TABLE t DROP (a, b) USING TIMESTAMP 1700000000000000");
    assert_int_equal(st->u.alter_table.n_drop, 2);
    term_is(st->u.alter_table.timestamp, SL_CQL_TERM_INTEGER, "1700000000000000");

    st = ok("ALTER TABLE t RENAME a TO b AND c TO d");
    assert_int_equal(st->u.alter_table.kind, SL_CQL_ALTER_RENAME);
    assert_int_equal(st->u.alter_table.n_rename, 2);
    id_is(st->u.alter_table.rename_from[1], "c");
    id_is(st->u.alter_table.rename_to[1], "d");

    st = ok("ALTER TABLE t WITH comment = 'c' AND default_time_to_live = 60");
    assert_int_equal(st->u.alter_table.kind, SL_CQL_ALTER_WITH);
    assert_int_equal(st->u.alter_table.n_props, 2);

    /* A property value may be an unreserved keyword, kept as written. */
    st = ok("ALTER TABLE t WITH speculative_retry = ALL AND x = 'y'");
    term_is(st->u.alter_table.props[0].value, SL_CQL_TERM_STRING, "ALL");
    bad("ALTER TABLE t WITH x = y", 1, 23, "no viable alternative at input 'y'");
    bad("ALTER TABLE t WITH x = FROM", 1, 23, "no viable alternative at input 'FROM'");
    bad("ALTER TABLE t DROP COMPACT STORAGE", 1, 19, "DROP COMPACT STORAGE is not supported");
    bad("ALTER TABLE t ALTER a TYPE text", 1, 14, "Altering column types is no longer supported");
    bad("ALTER VIEW v WITH a = 1", 1, 6, "no viable alternative at input 'VIEW'");
    bad("DROP FUNCTION f", 1, 5, "no viable alternative at input 'FUNCTION'");
    bad("ALTER TABLE t DROP a USING TIMESTAMP ?", 1, 37, "expecting INTEGER");
    bad("ALTER TABLE t", 1, 13, "no viable alternative at input '<EOF>'");

    st = ok("DROP TABLE IF EXISTS ks.t");
    assert_int_equal(st->kind, SL_CQL_STMT_DROP_TABLE);
    assert_true(st->u.drop.if_exists);
    id_is(st->u.drop.name.ks, "ks");
    id_is(st->u.drop.name.name, "t");
    st = ok("DROP COLUMNFAMILY t");
    assert_int_equal(st->kind, SL_CQL_STMT_DROP_TABLE);
    assert_false(st->u.drop.if_exists);

    st = ok("TRUNCATE ks.t");
    assert_int_equal(st->kind, SL_CQL_STMT_TRUNCATE);
    id_is(st->u.drop.name.name, "t");
    st = ok("TRUNCATE TABLE t");
    id_is(st->u.drop.name.name, "t");
    assert_null(st->u.drop.name.ks.name);
}

static void test_insert(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("INSERT INTO ks.t (a, \"B\", c) VALUES (1, 'two', ?) IF NOT EXISTS USING "
                         "TTL 86400 AND TIMESTAMP :ts");
    assert_int_equal(st->kind, SL_CQL_STMT_INSERT);
    sl_cql_insert *in = &st->u.insert;
    assert_false(in->json);
    id_is(in->cols[1], "B");
    assert_true(in->cols[1].quoted);
    term_is(in->values[0], SL_CQL_TERM_INTEGER, "1");
    term_is(in->values[1], SL_CQL_TERM_STRING, "two");
    term_is(in->values[2], SL_CQL_TERM_BIND, "");
    assert_true(in->if_not_exists);
    term_is(in->using.ttl, SL_CQL_TERM_INTEGER, "86400");
    term_is(in->using.timestamp, SL_CQL_TERM_BIND, "ts");
    assert_int_equal(st->n_binds, 2);
    assert_int_equal(in->using.timestamp->u.bind.index, 1);

    st = ok("INSERT INTO t (a) VALUES (1) USING TIMESTAMP 5 AND TTL ?");
    term_is(st->u.insert.using.timestamp, SL_CQL_TERM_INTEGER, "5");
    term_is(st->u.insert.using.ttl, SL_CQL_TERM_BIND, "");

    st = ok("INSERT INTO t JSON '{\"id\": 1, \"name\": \"it''s\"}'");
    in = &st->u.insert;
    assert_true(in->json);
    term_is(in->json_value, SL_CQL_TERM_STRING, "{\"id\": 1, \"name\": \"it's\"}");
    assert_false(in->default_unset);
    assert_int_equal(in->n_cols, 0);
    st = ok("INSERT INTO t JSON ? DEFAULT UNSET IF NOT EXISTS USING TTL 10");
    term_is(st->u.insert.json_value, SL_CQL_TERM_BIND, "");
    assert_true(st->u.insert.default_unset);
    assert_true(st->u.insert.if_not_exists);
    st = ok("INSERT INTO t JSON :j DEFAULT NULL");
    term_is(st->u.insert.json_value, SL_CQL_TERM_BIND, "j");
    assert_false(st->u.insert.default_unset);

    bad("INSERT INTO t (a, b) VALUES (1)", 1, 14, "Unmatched column names/values");
    bad("INSERT INTO t (a) VALUES (1) USING TTL 'x'", 1, 39,
        "no viable alternative at input ''x''");
    bad("INSERT INTO t (a) VALUE (1)", 1, 18, "mismatched input 'VALUE' expecting K_VALUES");
    bad("INSERT t (a) VALUES (1)", 1, 7, "mismatched input 't' expecting K_INTO");
    bad("INSERT INTO t JSON 5", 1, 19, "no viable alternative at input '5'");
    bad("INSERT INTO t JSON '{}' DEFAULT FOO", 1, 32, "no viable alternative at input 'FOO'");
}

static void test_update(void **state)
{
    (void)state;
    sl_cql_stmt *st =
        ok("UPDATE ks.t USING TTL 30 AND TIMESTAMP 99 SET a = 1, cnt = cnt + 5, dec = dec - 2, "
           "neg = neg -3, l = ['x'] + l, l2 = l2 + ['y'], s = s - {'z'}, m['k'] = 'v', c += 1, "
           "d -= ?, e = null WHERE id = ? AND ck IN (1, 2) IF a = 1 AND m['k'] != 'w' AND l IN (?, "
           "?) AND s CONTAINS 'q'");
    assert_int_equal(st->kind, SL_CQL_STMT_UPDATE);
    sl_cql_update *u = &st->u.update;
    term_is(u->using.ttl, SL_CQL_TERM_INTEGER, "30");
    term_is(u->using.timestamp, SL_CQL_TERM_INTEGER, "99");
    assert_int_equal(u->n_assigns, 11);
    static const struct {
        const char *col;
        sl_cql_assign_kind kind;
    } want[] = {
        {"a", SL_CQL_ASSIGN_SET},   {"cnt", SL_CQL_ASSIGN_ADD},   {"dec", SL_CQL_ASSIGN_SUB},
        {"neg", SL_CQL_ASSIGN_ADD}, {"l", SL_CQL_ASSIGN_PREPEND}, {"l2", SL_CQL_ASSIGN_ADD},
        {"s", SL_CQL_ASSIGN_SUB},   {"m", SL_CQL_ASSIGN_ELEMENT}, {"c", SL_CQL_ASSIGN_ADD},
        {"d", SL_CQL_ASSIGN_SUB},   {"e", SL_CQL_ASSIGN_SET},
    };
    for (uint32_t i = 0; i < 11; i++) {
        id_is(u->assigns[i].col, want[i].col);
        assert_int_equal(u->assigns[i].kind, want[i].kind);
    }
    term_is(u->assigns[1].value, SL_CQL_TERM_INTEGER, "5");
    term_is(u->assigns[2].value, SL_CQL_TERM_INTEGER, "2");
    /* "neg = neg -3" adds the integer -3, as Cassandra reads it. */
    term_is(u->assigns[3].value, SL_CQL_TERM_INTEGER, "-3");
    term_is(u->assigns[4].value, SL_CQL_TERM_LIST, NULL);
    term_is(u->assigns[7].key, SL_CQL_TERM_STRING, "k");
    term_is(u->assigns[7].value, SL_CQL_TERM_STRING, "v");
    term_is(u->assigns[9].value, SL_CQL_TERM_BIND, NULL);
    term_is(u->assigns[10].value, SL_CQL_TERM_NULL, NULL);
    assert_int_equal(u->n_where, 2);
    rel_is(&u->where[1], "ck", SL_CQL_OP_IN);
    assert_int_equal(u->where[1].n_in, 2);
    assert_false(u->if_exists);
    assert_int_equal(u->n_conds, 4);
    rel_is(&u->conds[0], "a", SL_CQL_OP_EQ);
    rel_is(&u->conds[1], "m", SL_CQL_OP_NEQ);
    term_is(u->conds[1].key, SL_CQL_TERM_STRING, "k");
    rel_is(&u->conds[2], "l", SL_CQL_OP_IN);
    assert_int_equal(u->conds[2].n_in, 2);
    rel_is(&u->conds[3], "s", SL_CQL_OP_CONTAINS);
    /* Markers are numbered in order of appearance. */
    assert_int_equal(st->n_binds, 4);
    assert_ptr_equal(st->binds[0], u->assigns[9].value);
    assert_ptr_equal(st->binds[1], u->where[0].value);
    assert_ptr_equal(st->binds[3], u->conds[2].in_values[1]);

    st = ok("UPDATE t SET v = 1 WHERE k = 0 IF EXISTS");
    assert_true(st->u.update.if_exists);
    assert_int_equal(st->u.update.n_conds, 0);
    st = ok("UPDATE t SET m[?] = ?, v = now() WHERE k = 0 IF m[?] IN ?");
    assert_int_equal(st->n_binds, 4);
    term_is(st->u.update.assigns[1].value, SL_CQL_TERM_FUNC, NULL);
    assert_ptr_equal(st->u.update.conds[0].value, st->binds[3]);

    bad("UPDATE t SET a = b + 1 WHERE k = 1", 1, 17,
        "Only expressions of the form X = X +<value> are supported.");
    bad("UPDATE t SET a = b - 1 WHERE k = 1", 1, 17, "X = X -<value>");
    bad("UPDATE t SET a = b -1 WHERE k = 1", 1, 17, "X = X +<value>");
    bad("UPDATE t SET a = [1] + b WHERE k = 1", 1, 23, "X = <value> + X");
    bad("UPDATE t SET a = 1", 1, 18, "mismatched input '<EOF>' expecting K_WHERE");
    bad("UPDATE t SET a = a WHERE k = 1", 1, 19, "no viable alternative at input 'WHERE'");
    bad("UPDATE t SET WHERE k = 1", 1, 13, "no viable alternative at input 'WHERE'");
}

static void test_delete(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("DELETE FROM ks.t WHERE id = 1");
    assert_int_equal(st->kind, SL_CQL_STMT_DELETE);
    assert_int_equal(st->u.del.n_targets, 0);
    id_is(st->u.del.table.name, "t");
    assert_int_equal(st->u.del.n_where, 1);

    st = ok("DELETE a, m['k'], l[0] FROM t USING TIMESTAMP ? WHERE id = ? AND c > 1 AND c <= 9 "
            "IF a = 2");
    sl_cql_delete *d = &st->u.del;
    assert_int_equal(d->n_targets, 3);
    id_is(d->targets[0].col, "a");
    assert_null(d->targets[0].key);
    term_is(d->targets[1].key, SL_CQL_TERM_STRING, "k");
    term_is(d->targets[2].key, SL_CQL_TERM_INTEGER, "0");
    term_is(d->using.timestamp, SL_CQL_TERM_BIND, NULL);
    assert_null(d->using.ttl);
    assert_int_equal(d->n_where, 3);
    rel_is(&d->where[1], "c", SL_CQL_OP_GT);
    rel_is(&d->where[2], "c", SL_CQL_OP_LTE);
    assert_int_equal(d->n_conds, 1);
    assert_int_equal(st->n_binds, 2);

    st = ok("DELETE FROM t WHERE id IN ? IF EXISTS");
    assert_true(st->u.del.if_exists);
    rel_is(&st->u.del.where[0], "id", SL_CQL_OP_IN);
    term_is(st->u.del.where[0].value, SL_CQL_TERM_BIND, NULL);
    assert_null(st->u.del.where[0].in_values);

    bad("DELETE FROM t USING TTL 5 WHERE id = 1", 1, 20,
        "mismatched input 'TTL' expecting K_TIMESTAMP");
    bad("DELETE FROM t", 1, 13, "expecting K_WHERE");
    bad("DELETE a b FROM t WHERE k = 1", 1, 9, "mismatched input 'b' expecting K_FROM");
}

static void test_batch(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("BEGIN BATCH\n"
                         "  INSERT INTO t (k, v) VALUES (?, ?);\n"
                         "  UPDATE t SET v = :v WHERE k = 2;\n"
                         "  DELETE FROM t WHERE k = ?\n"
                         "APPLY BATCH;");
    assert_int_equal(st->kind, SL_CQL_STMT_BATCH);
    sl_cql_batch *b = &st->u.batch;
    assert_int_equal(b->type, SL_CQL_BATCH_LOGGED);
    assert_int_equal(b->n_stmts, 3);
    assert_int_equal(b->stmts[0]->kind, SL_CQL_STMT_INSERT);
    assert_int_equal(b->stmts[1]->kind, SL_CQL_STMT_UPDATE);
    assert_int_equal(b->stmts[2]->kind, SL_CQL_STMT_DELETE);
    assert_string_equal(b->stmts[1]->text, "UPDATE t SET v = :v WHERE k = 2");
    assert_int_equal(b->stmts[2]->pos.line, 4);
    /* One marker array for the batch; each child sees its slice with batch-wide indexes. */
    assert_int_equal(st->n_binds, 4);
    assert_int_equal(b->stmts[0]->n_binds, 2);
    assert_ptr_equal(b->stmts[0]->binds, st->binds);
    assert_int_equal(b->stmts[1]->n_binds, 1);
    assert_ptr_equal(b->stmts[1]->binds, st->binds + 2);
    term_is(b->stmts[1]->binds[0], SL_CQL_TERM_BIND, "v");
    assert_int_equal(b->stmts[1]->binds[0]->u.bind.index, 2);
    assert_int_equal(b->stmts[2]->binds[0]->u.bind.index, 3);

    st = ok("BEGIN UNLOGGED BATCH USING TIMESTAMP ? INSERT INTO t (k) VALUES (?) INSERT INTO t "
            "(k) VALUES (1) APPLY BATCH");
    b = &st->u.batch;
    assert_int_equal(b->type, SL_CQL_BATCH_UNLOGGED);
    term_is(b->using.timestamp, SL_CQL_TERM_BIND, NULL);
    assert_int_equal(b->using.timestamp->u.bind.index, 0);
    assert_int_equal(b->stmts[0]->n_binds, 1);
    assert_int_equal(b->stmts[0]->binds[0]->u.bind.index, 1);
    assert_int_equal(b->stmts[1]->n_binds, 0);
    assert_null(b->stmts[1]->binds);

    st = ok("begin counter batch update c set n = n + 1 where k = 1; apply batch");
    assert_int_equal(st->u.batch.type, SL_CQL_BATCH_COUNTER);
    st = ok("BEGIN BATCH APPLY BATCH");
    assert_int_equal(st->u.batch.n_stmts, 0);

    bad("BEGIN BATCH SELECT * FROM t; APPLY BATCH", 1, 12,
        "mismatched input 'SELECT' expecting K_APPLY");
    bad("BEGIN BATCH BEGIN BATCH APPLY BATCH APPLY BATCH", 1, 12, "expecting K_APPLY");
    bad("BEGIN BATCH INSERT INTO t (k) VALUES (1);", 1, 41,
        "mismatched input '<EOF>' expecting K_APPLY");
    bad("BEGIN LOGGED BATCH APPLY BATCH", 1, 6, "expecting K_BATCH");
}

static void test_select_clauses(void **state)
{
    (void)state;
    sl_cql_stmt *st =
        ok("SELECT JSON DISTINCT a, b AS \"Bee\", COUNT(*), count(1) AS n, WRITETIME(c), ttl(c), "
           "toTimestamp(now()), uuid(), token(id), system.now(), blobAsText(0xab), "
           "CAST(d AS text), 'lit', ?, null, count(e) FROM ks.t WHERE id = 1 GROUP BY id ORDER BY "
           "c DESC, d PER PARTITION LIMIT 3 LIMIT :lim ALLOW FILTERING");
    sl_cql_select *s = &st->u.select;
    assert_true(s->json);
    assert_true(s->distinct);
    assert_false(s->star);
    assert_int_equal(s->n_sels, 16);
    assert_int_equal(s->sels[0]->kind, SL_CQL_SEL_COLUMN);
    assert_null(s->sels[0]->alias.name);
    id_is(s->sels[1]->alias, "Bee");
    assert_int_equal(s->sels[2]->kind, SL_CQL_SEL_COUNT);
    assert_string_equal(s->sels[2]->text, "COUNT(*)");
    assert_int_equal(s->sels[3]->kind, SL_CQL_SEL_COUNT);
    id_is(s->sels[3]->alias, "n");
    assert_string_equal(s->sels[3]->text, "count(1)");
    assert_int_equal(s->sels[4]->kind, SL_CQL_SEL_WRITETIME);
    id_is(s->sels[4]->col, "c");
    assert_string_equal(s->sels[4]->text, "WRITETIME(c)");
    assert_int_equal(s->sels[5]->kind, SL_CQL_SEL_TTL);
    assert_int_equal(s->sels[6]->kind, SL_CQL_SEL_FUNC);
    id_is(s->sels[6]->func.name, "totimestamp");
    assert_int_equal(s->sels[6]->n_args, 1);
    assert_int_equal(s->sels[6]->args[0]->kind, SL_CQL_SEL_FUNC);
    id_is(s->sels[6]->args[0]->func.name, "now");
    assert_int_equal(s->sels[6]->args[0]->n_args, 0);
    id_is(s->sels[7]->func.name, "uuid");
    id_is(s->sels[8]->func.name, "token");
    id_is(s->sels[8]->args[0]->col, "id");
    id_is(s->sels[9]->func.ks, "system");
    id_is(s->sels[9]->func.name, "now");
    assert_int_equal(s->sels[10]->args[0]->kind, SL_CQL_SEL_TERM);
    term_is(s->sels[10]->args[0]->term, SL_CQL_TERM_BLOB, "0xab");
    assert_int_equal(s->sels[11]->kind, SL_CQL_SEL_CAST);
    assert_string_equal(s->sels[11]->type->name, "text");
    id_is(s->sels[11]->args[0]->col, "d");
    term_is(s->sels[12]->term, SL_CQL_TERM_STRING, "lit");
    term_is(s->sels[13]->term, SL_CQL_TERM_BIND, NULL);
    term_is(s->sels[14]->term, SL_CQL_TERM_NULL, NULL);
    /* count(col) is the generic aggregate, not a row count. */
    assert_int_equal(s->sels[15]->kind, SL_CQL_SEL_FUNC);
    id_is(s->sels[15]->func.name, "count");
    assert_int_equal(s->n_group_by, 1);
    assert_int_equal(s->n_order, 2);
    assert_true(s->order[0].desc);
    assert_false(s->order[1].desc);
    term_is(s->per_partition_limit, SL_CQL_TERM_INTEGER, "3");
    term_is(s->limit, SL_CQL_TERM_BIND, "lim");
    assert_true(s->allow_filtering);
    assert_int_equal(st->n_binds, 2);

    /* json, distinct, count, ttl and writetime are also plain column names. */
    st = ok("SELECT json, distinct, count, ttl, writetime, key, keys, values, type FROM t");
    s = &st->u.select;
    assert_false(s->json);
    assert_false(s->distinct);
    assert_int_equal(s->n_sels, 9);
    for (uint32_t i = 0; i < 9; i++)
        assert_int_equal(s->sels[i]->kind, SL_CQL_SEL_COLUMN);
    id_is(s->sels[0]->col, "json");
    id_is(s->sels[1]->col, "distinct");
    st = ok("SELECT json FROM t");
    assert_false(st->u.select.json);
    st = ok("SELECT JSON * FROM t");
    assert_true(st->u.select.json);
    assert_true(st->u.select.star);
    st = ok("SELECT DISTINCT json FROM t");
    assert_true(st->u.select.distinct);
    id_is(st->u.select.sels[0]->col, "json");

    /* Every relation form. */
    st = ok("SELECT * FROM t WHERE token(a, b) > token(1, 'x') AND token(a, b) <= ? AND c IN (1, "
            "2, 3) AND d IN ? AND e IN () AND (f, g) >= (1, 2) AND (f, g) IN ((1, 2), (3, 4)) AND "
            "(f, g) < ? AND h CONTAINS 'x' AND i CONTAINS KEY 'y' AND j LIKE 'a%' AND k IS NOT "
            "NULL AND l['key'] = 5 AND (m = 1) AND n != 2");
    s = &st->u.select;
    assert_int_equal(s->n_where, 15);
    assert_int_equal(s->where[0].kind, SL_CQL_REL_TOKEN);
    assert_int_equal(s->where[0].n_cols, 2);
    id_is(s->where[0].cols[1], "b");
    assert_int_equal(s->where[0].op, SL_CQL_OP_GT);
    term_is(s->where[0].value, SL_CQL_TERM_FUNC, NULL);
    id_is(s->where[0].value->u.func.name.name, "token");
    assert_int_equal(s->where[0].value->u.func.n_args, 2);
    term_is(s->where[1].value, SL_CQL_TERM_BIND, NULL);
    rel_is(&s->where[2], "c", SL_CQL_OP_IN);
    assert_int_equal(s->where[2].n_in, 3);
    term_is(s->where[2].in_values[2], SL_CQL_TERM_INTEGER, "3");
    assert_null(s->where[2].value);
    term_is(s->where[3].value, SL_CQL_TERM_BIND, NULL);
    assert_int_equal(s->where[4].n_in, 0);
    assert_int_equal(s->where[5].kind, SL_CQL_REL_MULTI);
    assert_int_equal(s->where[5].op, SL_CQL_OP_GTE);
    term_is(s->where[5].value, SL_CQL_TERM_TUPLE, NULL);
    assert_int_equal(s->where[6].kind, SL_CQL_REL_MULTI);
    assert_int_equal(s->where[6].op, SL_CQL_OP_IN);
    assert_int_equal(s->where[6].n_in, 2);
    term_is(s->where[6].in_values[1], SL_CQL_TERM_TUPLE, NULL);
    term_is(s->where[7].value, SL_CQL_TERM_BIND, NULL);
    rel_is(&s->where[8], "h", SL_CQL_OP_CONTAINS);
    rel_is(&s->where[9], "i", SL_CQL_OP_CONTAINS_KEY);
    rel_is(&s->where[10], "j", SL_CQL_OP_LIKE);
    rel_is(&s->where[11], "k", SL_CQL_OP_IS_NOT_NULL);
    assert_null(s->where[11].value);
    rel_is(&s->where[12], "l", SL_CQL_OP_EQ);
    term_is(s->where[12].key, SL_CQL_TERM_STRING, "key");
    rel_is(&s->where[13], "m", SL_CQL_OP_EQ);
    rel_is(&s->where[14], "n", SL_CQL_OP_NEQ);

    st = ok("SELECT a FROM t ORDER BY a ASC LIMIT 10");
    term_is(st->u.select.limit, SL_CQL_TERM_INTEGER, "10");
    assert_null(st->u.select.per_partition_limit);

    bad("SELECT * FROM t LIMIT 'x'", 1, 22, "no viable alternative at input ''x''");
    bad("SELECT * FROM t ALLOW", 1, 21, "expecting K_FILTERING");
    bad("SELECT * FROM t PER LIMIT 1", 1, 20, "expecting K_PARTITION");
    bad("SELECT * FROM t WHERE a", 1, 23, "no viable alternative at input '<EOF>'");
    bad("SELECT * FROM t WHERE a = 1 AND", 1, 31, "no viable alternative at input '<EOF>'");
    bad("SELECT * FROM t WHERE (a, b) = 1", 1, 31, "no viable alternative at input '1'");
    bad("SELECT CAST(a AS foo) FROM t", 1, 17, "no viable alternative at input 'foo'");
    bad("SELECT a, FROM t", 1, 10, "no viable alternative at input 'FROM'");
    bad("SELECT a AS FROM t", 1, 12, "no viable alternative at input 'FROM'");
}

static void test_literal_values(void **state)
{
    (void)state;
    const char *q = "SELECT * FROM t WHERE "
                    "a = 'it''s' AND a = $$dollar's$$ AND a = '' AND a = 42 AND a = -7 AND "
                    "a = 1.5 AND a = -2e-3 AND a = NaN AND a = -NaN AND a = Infinity AND "
                    "a = -Infinity AND a = 550E8400-e29b-41d4-a716-446655440000 AND a = TRUE AND "
                    "a = False AND a = 0xCAFE AND a = 0x AND a = null AND a = 1h30m AND a = P1D "
                    "AND a = 'caf\xc3\xa9'";
    sl_cql_stmt *st = ok(q);
    sl_cql_relation *w = st->u.select.where;
    static const struct {
        sl_cql_term_kind kind;
        const char *text;
    } want[] = {
        {SL_CQL_TERM_STRING, "it's"},
        {SL_CQL_TERM_STRING, "dollar's"},
        {SL_CQL_TERM_STRING, ""},
        {SL_CQL_TERM_INTEGER, "42"},
        {SL_CQL_TERM_INTEGER, "-7"},
        {SL_CQL_TERM_FLOAT, "1.5"},
        {SL_CQL_TERM_FLOAT, "-2e-3"},
        {SL_CQL_TERM_FLOAT, "NaN"},
        {SL_CQL_TERM_FLOAT, "NaN"},
        {SL_CQL_TERM_FLOAT, "Infinity"},
        {SL_CQL_TERM_FLOAT, "-Infinity"},
        {SL_CQL_TERM_UUID, "550E8400-e29b-41d4-a716-446655440000"},
        {SL_CQL_TERM_BOOLEAN, "true"},
        {SL_CQL_TERM_BOOLEAN, "false"},
        {SL_CQL_TERM_BLOB, "0xCAFE"},
        {SL_CQL_TERM_BLOB, "0x"},
        {SL_CQL_TERM_NULL, NULL},
        {SL_CQL_TERM_DURATION, "1h30m"},
        {SL_CQL_TERM_DURATION, "P1D"},
        {SL_CQL_TERM_STRING, "caf\xc3\xa9"},
    };
    assert_int_equal(st->u.select.n_where, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        term_is(w[i].value, want[i].kind, want[i].text);

    st = ok("SELECT * FROM t WHERE a = [1, [2, 3], []] AND a = {1, 2} AND a = {'k': [1], 'l': "
            "{}} AND a = {} AND a = (1, 'x', null) AND a = {f1: 1, \"F2\": 'x', key: ?} AND a = "
            "(int) ? AND a = (frozen<list<int>>) [1] AND a = (set<int>) {} AND a = ('x') AND "
            "a = now() AND a = ks.f(1, g(2)) AND a = \"Quoted\"(1) AND a = (ks.udt) {x: 1}");
    w = st->u.select.where;
    const sl_cql_term *t = w[0].value;
    term_is(t, SL_CQL_TERM_LIST, NULL);
    assert_int_equal(t->u.items.n, 3);
    term_is(t->u.items.items[1], SL_CQL_TERM_LIST, NULL);
    term_is(t->u.items.items[1]->u.items.items[1], SL_CQL_TERM_INTEGER, "3");
    assert_int_equal(t->u.items.items[2]->u.items.n, 0);
    t = w[1].value;
    term_is(t, SL_CQL_TERM_SET, NULL);
    assert_int_equal(t->u.items.n, 2);
    t = w[2].value;
    term_is(t, SL_CQL_TERM_MAP, NULL);
    assert_int_equal(t->u.map.n, 2);
    term_is(t->u.map.keys[1], SL_CQL_TERM_STRING, "l");
    term_is(t->u.map.values[1], SL_CQL_TERM_MAP, NULL);
    t = w[3].value;
    term_is(t, SL_CQL_TERM_MAP, NULL);
    assert_int_equal(t->u.map.n, 0);
    t = w[4].value;
    term_is(t, SL_CQL_TERM_TUPLE, NULL);
    assert_int_equal(t->u.items.n, 3);
    term_is(t->u.items.items[2], SL_CQL_TERM_NULL, NULL);
    t = w[5].value;
    term_is(t, SL_CQL_TERM_UDT, NULL);
    assert_int_equal(t->u.udt.n, 3);
    id_is(t->u.udt.fields[0], "f1");
    id_is(t->u.udt.fields[1], "F2");
    id_is(t->u.udt.fields[2], "key");
    term_is(t->u.udt.values[2], SL_CQL_TERM_BIND, NULL);
    t = w[6].value;
    term_is(t, SL_CQL_TERM_HINT, NULL);
    assert_string_equal(t->u.hint.type->name, "int");
    term_is(t->u.hint.term, SL_CQL_TERM_BIND, NULL);
    t = w[7].value;
    assert_string_equal(t->u.hint.type->text, "frozen<list<int>>");
    term_is(t->u.hint.term, SL_CQL_TERM_LIST, NULL);
    assert_string_equal(w[8].value->u.hint.type->name, "set");
    term_is(w[9].value, SL_CQL_TERM_TUPLE, NULL);
    assert_int_equal(w[9].value->u.items.n, 1);
    t = w[10].value;
    term_is(t, SL_CQL_TERM_FUNC, NULL);
    id_is(t->u.func.name.name, "now");
    assert_null(t->u.func.name.ks.name);
    assert_int_equal(t->u.func.n_args, 0);
    t = w[11].value;
    id_is(t->u.func.name.ks, "ks");
    id_is(t->u.func.name.name, "f");
    assert_int_equal(t->u.func.n_args, 2);
    term_is(t->u.func.args[1], SL_CQL_TERM_FUNC, NULL);
    id_is(w[12].value->u.func.name.name, "Quoted");
    t = w[13].value;
    term_is(t, SL_CQL_TERM_HINT, NULL);
    id_is(t->u.hint.type->ks, "ks");
    term_is(t->u.hint.term, SL_CQL_TERM_UDT, NULL);

    bad("SELECT * FROM t WHERE a = {1: 2, 3}", 1, 34, "mismatched input '}' expecting ':'");
    bad("SELECT * FROM t WHERE a = {1, 2: 3}", 1, 31, "mismatched input ':' expecting '}'");
    bad("SELECT * FROM t WHERE a = ()", 1, 27, "no viable alternative at input ')'");
    bad("SELECT * FROM t WHERE a = b", 1, 26, "no viable alternative at input 'b'");
    bad("SELECT * FROM t WHERE a = [1, 2", 1, 31, "expecting ']'");
    bad("SELECT * FROM t WHERE a = - 1", 1, 26, "no viable alternative at input '-'");
}

static void test_bind_markers(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("SELECT * FROM t WHERE a = ? AND b = :bee AND c IN :cs AND d = :key AND "
                         "e = :\"Quoted\" AND f IN (?, :g) LIMIT ?");
    assert_int_equal(st->n_binds, 8);
    static const char *const names[] = {"", "bee", "cs", "key", "Quoted", "", "g", ""};
    for (uint32_t i = 0; i < 8; i++) {
        term_is(st->binds[i], SL_CQL_TERM_BIND, names[i]);
        assert_int_equal(st->binds[i]->u.bind.index, i);
    }
    assert_int_equal(st->binds[1]->pos.col, 36);
    assert_ptr_equal(st->binds[7], st->u.select.limit);

    /* At most SL_CQL_MAX_BINDS markers, as a [short] count of values can carry. */
    size_t n = SL_CQL_MAX_BINDS;
    size_t cap = 64 + n * 3;
    char *q = malloc(cap);
    strcpy(q, "SELECT * FROM t WHERE k IN (?");
    size_t o = strlen(q);
    for (size_t i = 1; i < n; i++) {
        memcpy(q + o, ",?", 2);
        o += 2;
    }
    strcpy(q + o, ")");
    st = ok(q);
    assert_int_equal(st->n_binds, SL_CQL_MAX_BINDS);
    assert_int_equal(st->u.select.where[0].n_in, SL_CQL_MAX_BINDS);
    strcpy(q + o, ",?)");
    sl_cql_parse_error e;
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_non_null(strstr(e.message, "too many bind markers"));
    free(q);

    bad("SELECT * FROM t WHERE a = :", 1, 27, "no viable alternative at input '<EOF>'");
    bad("SELECT * FROM t WHERE a = :from", 1, 27, "no viable alternative at input 'from'");
}

static void test_identifiers(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("SELECT MixedCase, \"MixedCase\", \"with \"\"quote\"\"\", \"\" FROM "
                         "\"Ks\".Tbl");
    sl_cql_select *s = &st->u.select;
    id_is(s->sels[0]->col, "mixedcase");
    assert_false(s->sels[0]->col.quoted);
    id_is(s->sels[1]->col, "MixedCase");
    assert_true(s->sels[1]->col.quoted);
    id_is(s->sels[2]->col, "with \"quote\"");
    id_is(s->sels[3]->col, "");
    assert_true(s->sels[3]->col.quoted);
    id_is(s->table.ks, "Ks");
    id_is(s->table.name, "tbl");
    assert_int_equal(s->table.name.pos.col, strlen("SELECT MixedCase, \"MixedCase\", \"with "
                                                   "\"\"quote\"\"\", \"\" FROM \"Ks\"."));

    /* Unreserved keywords are names wherever a name goes. */
    static const char *const names[] = {
        "key",       "type",  "name",     "ttl",       "timestamp", "value",    "keys",
        "values",    "json",  "count",    "kind",      "position",  "text",     "date",
        "time",      "list",  "map",      "frozen",    "tuple",     "static",   "cluster",
        "filtering", "as",    "exists",   "writetime", "cast",      "distinct", "options",
        "partition", "per",   "contains", "custom",    "function",  "login",    "user",
        "role",      "roles", "trigger",  "only",      "internals", "storage",  "compact",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char q[256];
        snprintf(q, sizeof q, "SELECT %s FROM %s.%s WHERE %s = 1", names[i], names[i], names[i],
                 names[i]);
        st = ok(q);
        id_is(st->u.select.sels[0]->col, names[i]);
        id_is(st->u.select.table.ks, names[i]);
        id_is(st->u.select.where[0].cols[0], names[i]);
        snprintf(q, sizeof q, "INSERT INTO t (%s) VALUES (:%s)", names[i], names[i]);
        st = ok(q);
        id_is(st->u.insert.cols[0], names[i]);
        term_is(st->binds[0], SL_CQL_TERM_BIND, names[i]);
    }
    /* Reserved keywords are not, unless quoted. */
    static const char *const reserved[] = {"select", "from",     "where", "table",   "keyspace",
                                           "token",  "limit",    "order", "primary", "null",
                                           "nan",    "infinity", "set",   "in",      "and"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "INSERT INTO t (%s) VALUES (1)", reserved[i]);
        char msg[64];
        snprintf(msg, sizeof msg, "no viable alternative at input '%s'", reserved[i]);
        bad(q, 1, 15, msg);
        snprintf(q, sizeof q, "INSERT INTO t (\"%s\") VALUES (1)", reserved[i]);
        st = ok(q);
        id_is(st->u.insert.cols[0], reserved[i]);
    }
    /* Keywords are case-insensitive. */
    st = ok("sElEcT * fRoM t wHeRe A = 1 LiMiT 1 aLlOw FiLtErInG");
    assert_true(st->u.select.allow_filtering);
}

static void test_describe(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        sl_cql_describe_kind kind;
        const char *ks, *name;
    } cases[] = {
        {"DESCRIBE CLUSTER", SL_CQL_DESC_CLUSTER, NULL, NULL},
        {"DESCRIBE SCHEMA", SL_CQL_DESC_SCHEMA, NULL, NULL},
        {"DESC FULL SCHEMA", SL_CQL_DESC_SCHEMA, NULL, NULL},
        {"DESCRIBE KEYSPACES", SL_CQL_DESC_KEYSPACES, NULL, NULL},
        {"describe keyspace", SL_CQL_DESC_KEYSPACE, NULL, NULL},
        {"DESCRIBE KEYSPACE spark_streams", SL_CQL_DESC_KEYSPACE, NULL, "spark_streams"},
        {"DESCRIBE ONLY KEYSPACE ks", SL_CQL_DESC_KEYSPACE, NULL, "ks"},
        {"DESCRIBE TABLES", SL_CQL_DESC_TABLES, NULL, NULL},
        {"DESCRIBE COLUMNFAMILIES", SL_CQL_DESC_TABLES, NULL, NULL},
        {"DESCRIBE TABLE spark_streams.created_users", SL_CQL_DESC_TABLE, "spark_streams",
         "created_users"},
        {"DESC COLUMNFAMILY t", SL_CQL_DESC_TABLE, NULL, "t"},
        {"DESCRIBE INDEX ks.i", SL_CQL_DESC_INDEX, "ks", "i"},
        {"DESCRIBE MATERIALIZED VIEW v", SL_CQL_DESC_VIEW, NULL, "v"},
        {"DESCRIBE TYPES", SL_CQL_DESC_TYPES, NULL, NULL},
        {"DESCRIBE TYPE ks.address", SL_CQL_DESC_TYPE, "ks", "address"},
        {"DESCRIBE FUNCTIONS", SL_CQL_DESC_FUNCTIONS, NULL, NULL},
        {"DESCRIBE FUNCTION ks.f", SL_CQL_DESC_FUNCTION, "ks", "f"},
        {"DESCRIBE AGGREGATES", SL_CQL_DESC_AGGREGATES, NULL, NULL},
        {"DESCRIBE AGGREGATE a", SL_CQL_DESC_AGGREGATE, NULL, "a"},
        {"DESCRIBE spark_streams", SL_CQL_DESC_NAME, NULL, "spark_streams"},
        {"DESC spark_streams.created_users", SL_CQL_DESC_NAME, "spark_streams", "created_users"},
        {"DESCRIBE type", SL_CQL_DESC_NAME, NULL, "type"},
        {"DESCRIBE \"Quoted\"", SL_CQL_DESC_NAME, NULL, "Quoted"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_cql_stmt *st = ok(cases[i].q);
        assert_int_equal(st->kind, SL_CQL_STMT_DESCRIBE);
        const sl_cql_describe *d = &st->u.describe;
        if (d->kind != cases[i].kind) fail_msg("%s: kind %d", cases[i].q, d->kind);
        if (cases[i].ks)
            id_is(d->name.ks, cases[i].ks);
        else
            assert_null(d->name.ks.name);
        if (cases[i].name)
            id_is(d->name.name, cases[i].name);
        else
            assert_null(d->name.name.name);
    }
    sl_cql_stmt *st = ok("DESC FULL SCHEMA WITH INTERNALS");
    assert_true(st->u.describe.full);
    assert_true(st->u.describe.with_internals);
    st = ok("DESCRIBE ONLY KEYSPACE ks");
    assert_true(st->u.describe.only);
    bad("DESCRIBE", 1, 8, "no viable alternative at input '<EOF>'");
    bad("DESCRIBE TABLE", 1, 14, "no viable alternative at input '<EOF>'");
    bad("DESCRIBE FULL KEYSPACES", 1, 14, "expecting K_SCHEMA");
    bad("DESCRIBE TABLES WITH x", 1, 21, "expecting K_INTERNALS");
}

static void test_type_and_index(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("CREATE TYPE IF NOT EXISTS ks.address (street text, zip int, tags "
                         "frozen<set<text>>,)");
    assert_int_equal(st->kind, SL_CQL_STMT_CREATE_TYPE);
    assert_true(st->u.create_type.if_not_exists);
    id_is(st->u.create_type.name.ks, "ks");
    id_is(st->u.create_type.name.name, "address");
    assert_int_equal(st->u.create_type.n_fields, 3);
    id_is(st->u.create_type.fields[2].name, "tags");
    assert_string_equal(st->u.create_type.fields[2].type->name, "frozen");

    st = ok("DROP TYPE IF EXISTS ks.address");
    assert_int_equal(st->kind, SL_CQL_STMT_DROP_TYPE);
    assert_true(st->u.drop.if_exists);

    st = ok("CREATE INDEX ON t (v)");
    assert_int_equal(st->kind, SL_CQL_STMT_CREATE_INDEX);
    assert_null(st->u.create_index.name.name);
    id_is(st->u.create_index.target, "v");
    assert_null(st->u.create_index.target_fn);
    st = ok("CREATE INDEX IF NOT EXISTS idx ON ks.t (keys(m))");
    id_is(st->u.create_index.name, "idx");
    assert_string_equal(st->u.create_index.target_fn, "keys");
    id_is(st->u.create_index.target, "m");
    st = ok("CREATE INDEX ON t (values(l))");
    assert_string_equal(st->u.create_index.target_fn, "values");
    st = ok("CREATE INDEX ON t (keys)");
    id_is(st->u.create_index.target, "keys");
    st = ok("CREATE INDEX ON t (entries(m))");
    assert_string_equal(st->u.create_index.target_fn, "entries");
    st = ok("CREATE CUSTOM INDEX i ON t (full(f)) USING 'org.example.Idx' WITH OPTIONS = {'a': "
            "'b'}");
    assert_true(st->u.create_index.custom);
    assert_string_equal(st->u.create_index.target_fn, "full");
    term_is(st->u.create_index.using_class, SL_CQL_TERM_STRING, "org.example.Idx");
    assert_int_equal(st->u.create_index.n_props, 1);
    st = ok("DROP INDEX IF EXISTS ks.idx");
    assert_int_equal(st->kind, SL_CQL_STMT_DROP_INDEX);
    id_is(st->u.drop.name.ks, "ks");

    bad("CREATE INDEX ON t (v) USING Foo", 1, 28, "expecting STRING_LITERAL");
    bad("CREATE FUNCTION f () RETURNS int", 1, 7, "no viable alternative at input 'FUNCTION'");
    bad("CREATE ROLE bob", 1, 7, "no viable alternative at input 'ROLE'");
    bad("GRANT ALL ON ks TO bob", 1, 0, "no viable alternative at input 'GRANT'");
}

static void test_errors(void **state)
{
    (void)state;
    sl_cql_stmt *st;
    sl_cql_parse_error e;
    /* Cassandra's message, with the snippet marking the offending token. */
    const char *q = "SELECT * FORM users";
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_string_equal(
        e.message, "line 1:9 mismatched input 'FORM' expecting K_FROM (SELECT * [FORM] users)");
    assert_int_equal(e.off, 9);
    q = "SELECT a, b, c, d, e, f FORM users WHERE x = 1";
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_string_equal(e.message, "line 1:24 mismatched input 'FORM' expecting K_FROM (...d, e, f "
                                   "[FORM] users...)");
    q = "SELEC * FROM t";
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_string_equal(e.message,
                        "line 1:0 no viable alternative at input 'SELEC' ([SELEC] *...)");

    bad("SELECT * FROM", 1, 13, "no viable alternative at input '<EOF>' (SELECT * FROM)");
    bad("SELECT * FROM t WHERE", 1, 21, "no viable alternative at input '<EOF>'");
    bad("SELECT * FROM t x", 1, 16, "mismatched input 'x' expecting EOF");
    bad("SELECT * FROM t; SELECT * FROM u", 1, 17, "mismatched input 'SELECT' expecting EOF");
    bad("SELECT *\nFROM t\nWHERE a = = 1", 3, 10, "no viable alternative at input '='");
    bad("SELECT * FROM t WHERE a = 'unterminated", 1, 39,
        "mismatched character '<EOF>' expecting '''");
    bad("SELECT * FROM t WHERE a # 1", 1, 24, "no viable alternative at character '#'");
    bad("", 1, 0, "no viable alternative at input '<EOF>'");
    bad("   -- only a comment", 1, 20, "no viable alternative at input '<EOF>'");
    bad(";", 1, 0, "no viable alternative at input ';'");
    bad("42", 1, 0, "no viable alternative at input '42'");
    bad("SELECT * FROM ks.", 1, 17, "no viable alternative at input '<EOF>'");

    /* Long tokens are clipped so the message stays readable and bounded. */
    char big[600];
    memset(big, 'x', sizeof big);
    memcpy(big, "SELECT * FROM t WHERE a = 1 ", 28);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sl_cql_parse(big, strlen(big), &arena, &st, &e), SL_ERR_PARSE);
    assert_true(strlen(e.message) < sizeof e.message);
    assert_non_null(strstr(e.message, "line 1:28 mismatched input 'xxxx"));
    /* err may be NULL. */
    assert_int_equal(sl_cql_parse("x", 1, &arena, &st, NULL), SL_ERR_PARSE);
    /* A trailing ';' and blanks are fine. */
    st = ok("  SELECT * FROM t ;; \n ");
    assert_string_equal(st->text, "SELECT * FROM t");
    assert_int_equal(st->pos.col, 2);
}

/* Inputs that would make the parser do or allocate far more than their size. */
static void test_limits(void **state)
{
    (void)state;
    sl_cql_stmt *st;
    sl_cql_parse_error e;
    /* Many properties: the duplicate check is not quadratic. */
    enum { NPROPS = 50000 };
    char *q = malloc(64 + (size_t)NPROPS * 24);
    size_t o = (size_t)sprintf(q, "ALTER TABLE t WITH p0 = 0");
    for (int i = 1; i < NPROPS; i++)
        o += (size_t)sprintf(q + o, " AND p%d = %d", i, i);
    uint64_t t0 = sl_mono_ns();
    assert_int_equal(sl_cql_parse(q, o, &arena, &st, &e), 0);
    assert_true(sl_mono_ns() - t0 < 2000000000ull);
    assert_int_equal(st->u.alter_table.n_props, NPROPS);
    /* A duplicate is reported where it appears the second time. */
    o += (size_t)sprintf(q + o, " AND p777 = 1 AND p12 = 2");
    assert_int_equal(sl_cql_parse(q, o, &arena, &st, &e), SL_ERR_PARSE);
    assert_non_null(strstr(e.message, "Multiple definition for property p777"));
    assert_int_equal(e.off, o - strlen("p777 = 1 AND p12 = 2"));
    free(q);
    sl_arena_reset(&arena);
    bad("CREATE TABLE t (k int PRIMARY KEY) WITH comment = 'a' AND CLUSTERING ORDER BY (k ASC) "
        "AND comment = 'b'",
        1, 90, "Multiple definition for property comment");

    /* A list of one-digit literals costs ~40x its text in tree: SL_CQL_MAX_TREE_BYTES caps it. */
    enum { NLIT = 2000000 };
    q = malloc(64 + (size_t)NLIT * 2);
    o = (size_t)sprintf(q, "SELECT * FROM t WHERE k IN (1");
    for (int i = 1; i < NLIT; i++) {
        q[o++] = ',';
        q[o++] = '1';
    }
    q[o++] = ')';
    assert_int_equal(sl_cql_parse(q, o, &arena, &st, &e), SL_ERR_PARSE);
    assert_non_null(strstr(e.message, "statement too large: its syntax tree would exceed 64 MiB"));
    free(q);
    sl_arena_reset(&arena);
    /* Large text by itself is fine: a 16 MiB string literal. */
    size_t big = 16u << 20;
    q = malloc(big + 64);
    o = (size_t)sprintf(q, "INSERT INTO t JSON '");
    memset(q + o, 'j', big);
    o += big;
    q[o++] = '\'';
    assert_int_equal(sl_cql_parse(q, o, &arena, &st, &e), 0);
    assert_int_equal(st->u.insert.json_value->len, big);
    free(q);
    sl_arena_reset(&arena);
}

static char *nest(const char *open, const char *close, const char *pre, const char *post, int n)
{
    size_t lo = strlen(open), lc = strlen(close), lp = strlen(pre), lq = strlen(post);
    char *q = malloc(lp + lq + (size_t)n * (lo + lc) + 2);
    size_t o = 0;
    memcpy(q + o, pre, lp);
    o += lp;
    for (int i = 0; i < n; i++, o += lo)
        memcpy(q + o, open, lo);
    q[o++] = '1';
    for (int i = 0; i < n; i++, o += lc)
        memcpy(q + o, close, lc);
    memcpy(q + o, post, lq);
    o += lq;
    q[o] = '\0';
    return q;
}

static void test_depth(void **state)
{
    (void)state;
    sl_cql_stmt *st;
    sl_cql_parse_error e;
    static const struct {
        const char *open, *close, *pre, *post;
    } shapes[] = {
        {"[", "]", "SELECT * FROM t WHERE a = ", ""},
        {"{", "}", "SELECT * FROM t WHERE a = ", ""},
        {"(", ")", "SELECT * FROM t WHERE a = ", ""},
        {"f(", ")", "SELECT * FROM t WHERE a = ", ""},
        {"{'k': ", "}", "INSERT INTO t (a) VALUES (", ")"},
        {"f(", ")", "SELECT ", " FROM t"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        /* Within the limit parses; far past it is an error, never a stack overflow. */
        char *q = nest(shapes[i].open, shapes[i].close, shapes[i].pre, shapes[i].post,
                       SL_CQL_MAX_DEPTH - 2);
        if (sl_cql_parse(q, strlen(q), &arena, &st, &e) != 0) fail_msg("%s: %s", q, e.message);
        free(q);
        q = nest(shapes[i].open, shapes[i].close, shapes[i].pre, shapes[i].post, 100000);
        assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
        assert_non_null(strstr(e.message, "too deeply nested"));
        free(q);
    }
    /* Parenthesized relations and nested types. */
    char *q = nest("(", ")", "SELECT * FROM t WHERE ", "", 100000);
    char *one = strchr(q, '1');
    *one = 'a';
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_non_null(strstr(e.message, "too deeply nested"));
    free(q);
    q = nest("frozen<", ">", "CREATE TABLE t (k ", " PRIMARY KEY)", 100000);
    one = strchr(q, '1');
    *one = 'x';
    assert_int_equal(sl_cql_parse(q, strlen(q), &arena, &st, &e), SL_ERR_PARSE);
    assert_non_null(strstr(e.message, "too deeply nested"));
    free(q);
    st = ok("SELECT * FROM t WHERE ((a = 1)) AND (((b > 2)))");
    assert_int_equal(st->u.select.n_where, 2);
}

static void test_script(void **state)
{
    (void)state;
    const char *script = "-- the seeds' setup\n"
                         "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': "
                         "'SimpleStrategy', 'replication_factor': '1'};\n"
                         ";;\n"
                         "USE ks;\n"
                         "BEGIN BATCH INSERT INTO t (k) VALUES (?); INSERT INTO t (k) VALUES (?); "
                         "APPLY BATCH;\n"
                         "SELECT * FROM t WHERE k = 'a;b'\n";
    sl_cql_stmt **stmts;
    size_t n;
    sl_cql_parse_error e;
    assert_int_equal(sl_cql_parse_script(script, strlen(script), &arena, &stmts, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_int_equal(stmts[0]->kind, SL_CQL_STMT_CREATE_KEYSPACE);
    assert_int_equal(stmts[1]->kind, SL_CQL_STMT_USE);
    assert_int_equal(stmts[2]->kind, SL_CQL_STMT_BATCH);
    assert_int_equal(stmts[2]->n_binds, 2);
    assert_int_equal(stmts[3]->kind, SL_CQL_STMT_SELECT);
    assert_int_equal(stmts[3]->n_binds, 0);
    assert_int_equal(stmts[3]->pos.line, 6);
    assert_string_equal(stmts[3]->text, "SELECT * FROM t WHERE k = 'a;b'");

    const char *broken = "USE ks;\nSELECT * FROM t;\nSELECT * FORM t;\nUSE x;";
    assert_int_equal(sl_cql_parse_script(broken, strlen(broken), &arena, &stmts, &n, &e),
                     SL_ERR_PARSE);
    assert_int_equal(n, 2);
    assert_int_equal(stmts[1]->kind, SL_CQL_STMT_SELECT);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 9);
    const char *missing = "USE ks USE x";
    assert_int_equal(sl_cql_parse_script(missing, strlen(missing), &arena, &stmts, &n, &e),
                     SL_ERR_PARSE);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.message, "line 1:7 mismatched input 'USE' expecting ';'"));
    assert_int_equal(sl_cql_parse_script("", 0, &arena, &stmts, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sl_cql_parse_script(" ; -- x\n ;", 10, &arena, &stmts, &n, NULL), 0);
    assert_int_equal(n, 0);
}

static void test_split(void **state)
{
    (void)state;
    size_t end;
    const char *q = "SELECT 'a;b', \"c;d\" /* ; */ -- ;\n FROM t; USE x;";
    assert_int_equal(sl_cql_split(q, strlen(q), &end), 0);
    assert_int_equal(end, strlen("SELECT 'a;b', \"c;d\" /* ; */ -- ;\n FROM t;"));
    assert_int_equal(sl_cql_split(q + end, strlen(q + end), &end), 0);
    assert_int_equal(end, strlen(" USE x;"));

    /* The shell keeps reading lines while a statement is incomplete. */
    assert_int_equal(sl_cql_split("SELECT *", 8, &end), SL_AGAIN);
    assert_int_equal(sl_cql_split("SELECT 'x;", 10, &end), SL_AGAIN);
    assert_int_equal(sl_cql_split("SELECT /* ;", 11, &end), SL_AGAIN);
    assert_int_equal(sl_cql_split("  -- c\n", 7, &end), SL_AGAIN);
    assert_int_equal(end, 0);
    const char *batch = "BEGIN BATCH INSERT INTO t (k) VALUES (1); INSERT INTO t (k) VALUES (2);";
    assert_int_equal(sl_cql_split(batch, strlen(batch), &end), SL_AGAIN);
    const char *done = "BEGIN BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH; SELECT";
    assert_int_equal(sl_cql_split(done, strlen(done), &end), 0);
    assert_int_equal(end, strlen("BEGIN BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH;"));
    /* A stray character does not hide the ';' after it. */
    assert_int_equal(sl_cql_split("SELECT @ FROM t; x", 18, &end), 0);
    assert_int_equal(end, 16);
    assert_int_equal(sl_cql_split(";; SELECT 1;", 12, &end), 0);
    assert_int_equal(end, 12);

    assert_true(sl_cql_is_blank("", 0));
    assert_true(sl_cql_is_blank(" ; -- x\n /* y */ ;", 18));
    assert_false(sl_cql_is_blank("USE", 3));
    assert_false(sl_cql_is_blank("'open", 5));
}

static void test_positions(void **state)
{
    (void)state;
    sl_cql_stmt *st = ok("UPDATE t\n  SET a = 1\n  WHERE k = ?\n  IF b = [2]");
    assert_int_equal(st->pos.line, 1);
    assert_int_equal(st->u.update.assigns[0].pos.line, 2);
    assert_int_equal(st->u.update.assigns[0].pos.col, 6);
    assert_int_equal(st->u.update.assigns[0].value->pos.col, 10);
    assert_int_equal(st->u.update.where[0].pos.line, 3);
    assert_int_equal(st->u.update.where[0].pos.col, 8);
    assert_int_equal(st->u.update.where[0].value->pos.col, 12);
    assert_int_equal(st->u.update.conds[0].pos.line, 4);
    assert_int_equal(st->u.update.conds[0].value->pos.col, 9);
    assert_int_equal(st->u.update.conds[0].value->u.items.items[0]->pos.col, 10);
    assert_int_equal(st->u.update.table.name.pos.off, 7);
    st = ok("CREATE TABLE t (\n  k int PRIMARY KEY,\n  v map<text, int>)");
    const sl_cql_type *ty = st->u.create_table.cols[1].type;
    assert_int_equal(ty->pos.line, 3);
    assert_int_equal(ty->pos.col, 4);
    assert_int_equal(ty->args[1]->pos.col, 14);
    assert_string_equal(sl_cql_stmt_kind_name(SL_CQL_STMT_CREATE_TABLE), "CREATE TABLE");
    for (int k = SL_CQL_STMT_SELECT; k <= SL_CQL_STMT_DESCRIBE; k++)
        assert_string_not_equal(sl_cql_stmt_kind_name(k), "?");
}

/* One prepared INSERT of the seeds' row parsed many times: the arena is reset between parses, so
 * memory stays flat however many statements pass through. */
static void test_arena_reuse(void **state)
{
    (void)state;
    const char *q = "INSERT INTO spark_streams.created_users (id, first_name, last_name, gender, "
                    "address, post_code, email, username, dob, registered_date, phone, picture) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sl_arena a;
    sl_arena_init(&a, 16384);
    for (int i = 0; i < 1000; i++) {
        sl_cql_stmt *st;
        assert_int_equal(sl_cql_parse(q, strlen(q), &a, &st, NULL), 0);
        assert_int_equal(st->n_binds, 12);
        sl_arena_reset(&a);
    }
    sl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_connect_queries),
        cmocka_unit_test(test_seed_statements),
        cmocka_unit_test(test_keyspace_ddl),
        cmocka_unit_test(test_create_table),
        cmocka_unit_test(test_alter_drop_truncate),
        cmocka_unit_test(test_insert),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_select_clauses),
        cmocka_unit_test(test_literal_values),
        cmocka_unit_test(test_bind_markers),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_type_and_index),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_arena_reuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
