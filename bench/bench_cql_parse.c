/* bench_cql_parse.c: CQL parse throughput for the statements the store sees most: the seeds'
 * 12-column prepared INSERT, the drivers' system.local and system_schema queries, a full
 * CREATE TABLE, an inline-literal INSERT, and a 1000-element IN list. Each statement is parsed
 * into a reused arena (reset between parses), as the wire layer does per request.
 *
 * The peer is SQLite (the scheduler's metadata store, so already linked): sqlite3_prepare_v2 +
 * sqlite3_finalize of the equivalent SQL statement, on an in-memory database whose attached
 * schemas hold the tables the statements name, so that names resolve as they do in the store.
 * SQLite's API has no parse-only call: a prepare also resolves the names and compiles bytecode,
 * work the CQL layer does later (or, for a prepared statement, once). The two alternate, RUNS
 * runs each; the table gives medians (min-max) and the ratio of the medians sluice/SQLite.
 *   bench_cql_parse [seconds per run of one side, default 0.2] */
#include "cql/parser.h"
#include "bench_stats.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 5

static double run(const char *q, size_t len, double secs, size_t *arena_bytes)
{
    sl_arena a;
    sl_arena_init(&a, 16384);
    uint64_t start = sl_mono_ns(), deadline = start + (uint64_t)(secs * 1e9);
    uint64_t n = 0, now;
    do {
        for (int i = 0; i < 256; i++) {
            sl_cql_stmt *st;
            if (sl_cql_parse(q, len, &a, &st, NULL) != 0) {
                fprintf(stderr, "bench_cql_parse: does not parse: %.60s\n", q);
                exit(1);
            }
            sl_arena_reset(&a);
        }
        n += 256;
        now = sl_mono_ns();
    } while (now < deadline);
    /* Arena bytes one parse takes: measured on a fresh arena with a large first chunk. */
    sl_arena_free(&a);
    sl_arena_init(&a, 1 << 20);
    uint8_t *before = sl_arena_alloc(&a, 1);
    sl_cql_stmt *st;
    sl_cql_parse(q, len, &a, &st, NULL);
    uint8_t *after = sl_arena_alloc(&a, 1);
    *arena_bytes = (size_t)(after - before);
    sl_arena_free(&a);
    return (double)n / ((double)(now - start) / 1e9);
}

/* Prepares and finalizes q on db for secs; statements per second. */
static double run_sqlite(sqlite3 *db, const char *q, double secs)
{
    uint64_t start = sl_mono_ns(), deadline = start + (uint64_t)(secs * 1e9);
    uint64_t n = 0, now;
    do {
        for (int i = 0; i < 256; i++) {
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
                fprintf(stderr, "bench_cql_parse: SQLite does not prepare %.60s: %s\n", q,
                        sqlite3_errmsg(db));
                exit(1);
            }
            sqlite3_finalize(st);
        }
        n += 256;
        now = sl_mono_ns();
    } while (now < deadline);
    return (double)n / ((double)(now - start) / 1e9);
}

/* The tables the peer's statements name, in schemas named as the keyspaces. */
static sqlite3 *open_peer(void)
{
    static const char *const ddl =
        "ATTACH ':memory:' AS spark_streams; ATTACH ':memory:' AS system;"
        "ATTACH ':memory:' AS system_schema;"
        "CREATE TABLE spark_streams.created_users (id TEXT PRIMARY KEY, first_name TEXT, "
        "last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, username TEXT, "
        "dob TEXT, registered_date TEXT, phone TEXT, picture TEXT);"
        "CREATE TABLE system.local (key TEXT PRIMARY KEY, bootstrapped TEXT, broadcast_address "
        "TEXT, cluster_name TEXT, cql_version TEXT, data_center TEXT, host_id TEXT, listen_address "
        "TEXT, partitioner TEXT, rack TEXT, release_version TEXT, rpc_address TEXT, "
        "schema_version TEXT, tokens TEXT);"
        "CREATE TABLE system_schema.columns (keyspace_name TEXT, table_name TEXT, column_name "
        "TEXT, clustering_order TEXT, column_name_bytes BLOB, kind TEXT, position INT, type TEXT, "
        "PRIMARY KEY (keyspace_name, table_name, column_name));"
        "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);";
    sqlite3 *db;
    char *err = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, ddl, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench_cql_parse: SQLite: %s\n", err ? err : sqlite3_errmsg(db));
        exit(1);
    }
    return db;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.2;
    if (secs <= 0) secs = 0.2;
    char *in_list = malloc(16 + 1000 * 8 + 64);
    strcpy(in_list, "SELECT * FROM t WHERE k IN (0");
    for (int i = 1; i < 1000; i++)
        sprintf(in_list + strlen(in_list), ", %d", i);
    strcat(in_list, ")");
    /* sql: the SQLite equivalent; NULL when it is the CQL text itself. */
    static const struct {
        const char *name, *q, *sql;
    } cases[] = {
        {"seed INSERT (12 markers)",
         "INSERT INTO spark_streams.created_users (id, first_name, last_name, gender, address, "
         "post_code, email, username, dob, registered_date, phone, picture) VALUES (?, ?, ?, ?, "
         "?, ?, ?, ?, ?, ?, ?, ?)",
         NULL},
        {"system.local", "SELECT * FROM system.local WHERE key='local'", NULL},
        {"system_schema.columns",
         "SELECT * FROM system_schema.columns WHERE keyspace_name = "
         "'spark_streams' AND table_name = 'created_users'",
         NULL},
        {"point SELECT by id", "SELECT * FROM spark_streams.created_users WHERE id = ?", NULL},
        /* SQLite has no uuid literal and no TTL: a text literal, and no USING clause. */
        {"INSERT with literals",
         "INSERT INTO spark_streams.created_users (id, first_name, last_name, email, dob) VALUES "
         "(550e8400-e29b-41d4-a716-446655440000, 'Ada', 'Lovelace', 'ada@example.com', "
         "'1815-12-10T00:00:00.000Z') USING TTL 86400",
         "INSERT INTO spark_streams.created_users (id, first_name, last_name, email, dob) VALUES "
         "('550e8400-e29b-41d4-a716-446655440000', 'Ada', 'Lovelace', 'ada@example.com', "
         "'1815-12-10T00:00:00.000Z')"},
        /* A table that does not exist yet, so that SQLite's prepare builds it rather than
         * stopping at IF NOT EXISTS; UUID PRIMARY KEY is valid SQLite. */
        {"seed CREATE TABLE",
         "CREATE TABLE IF NOT EXISTS spark_streams.created_users (id UUID PRIMARY KEY, first_name "
         "TEXT, last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, username "
         "TEXT, dob TEXT, registered_date TEXT, phone TEXT, picture TEXT)",
         "CREATE TABLE IF NOT EXISTS spark_streams.created_users2 (id UUID PRIMARY KEY, "
         "first_name TEXT, last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, "
         "username TEXT, dob TEXT, registered_date TEXT, phone TEXT, picture TEXT)"},
        {"IN list of 1000", NULL, NULL},
    };
    sqlite3 *db = open_peer();
    printf("bench_cql_parse: statements per second on one thread, sluice sl_cql_parse into a "
           "reused arena against SQLite %s sqlite3_prepare_v2 + sqlite3_finalize of the "
           "equivalent SQL (in memory, tables in place); alternating, %d runs of %g s each "
           "side, median (min-max)\n",
           sqlite3_libversion(), RUNS, secs);
    printf("| statement | sluice parses/s (median, min-max) | peer: SQLite prepares/s (median, "
           "min-max) | ratio | sluice MB/s | arena bytes |\n");
    printf("|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *q = cases[i].q ? cases[i].q : in_list;
        const char *sql = cases[i].sql ? cases[i].sql : q;
        size_t len = strlen(q), bytes = 0;
        double ours[RUNS], peer[RUNS];
        for (int r = 0; r < RUNS; r++) {
            ours[r] = run(q, len, secs, &bytes);
            peer[r] = run_sqlite(db, sql, secs);
        }
        bench_stat3 o = bench_stats(ours, RUNS), p = bench_stats(peer, RUNS);
        printf("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %.1f | %zu |\n", cases[i].name,
               o.med, o.min, o.max, p.med, p.min, p.max, o.med / p.med, o.med * (double)len / 1e6,
               bytes);
        fflush(stdout);
    }
    sqlite3_close(db);
    free(in_list);
    return 0;
}
