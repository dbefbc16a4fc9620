/* bench_cql_parse.c: CQL parse throughput for the statements the store sees most: the seeds'
 * 12-column prepared INSERT, the drivers' system.local and system_schema queries, a full
 * CREATE TABLE, an inline-literal INSERT, and a 1000-element IN list. Each statement is parsed
 * into a reused arena (reset between parses), as the wire layer does per request.
 *   bench_cql_parse [seconds per statement, default 1] */
#include "cql/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0) secs = 1.0;
    char *in_list = malloc(16 + 1000 * 8 + 64);
    strcpy(in_list, "SELECT * FROM t WHERE k IN (0");
    for (int i = 1; i < 1000; i++)
        sprintf(in_list + strlen(in_list), ", %d", i);
    strcat(in_list, ")");
    static const struct {
        const char *name, *q;
    } cases[] = {
        {"seed INSERT (12 markers)",
         "INSERT INTO spark_streams.created_users (id, first_name, last_name, gender, address, "
         "post_code, email, username, dob, registered_date, phone, picture) VALUES (?, ?, ?, ?, "
         "?, ?, ?, ?, ?, ?, ?, ?)"},
        {"system.local", "SELECT * FROM system.local WHERE key='local'"},
        {"system_schema.columns", "SELECT * FROM system_schema.columns WHERE keyspace_name = "
                                  "'spark_streams' AND table_name = 'created_users'"},
        {"point SELECT by id", "SELECT * FROM spark_streams.created_users WHERE id = ?"},
        {"INSERT with literals",
         "INSERT INTO spark_streams.created_users (id, first_name, last_name, email, dob) VALUES "
         "(550e8400-e29b-41d4-a716-446655440000, 'Ada', 'Lovelace', 'ada@example.com', "
         "'1815-12-10T00:00:00.000Z') USING TTL 86400"},
        {"seed CREATE TABLE",
         "CREATE TABLE IF NOT EXISTS spark_streams.created_users (id UUID PRIMARY KEY, first_name "
         "TEXT, last_name TEXT, gender TEXT, address TEXT, post_code TEXT, email TEXT, username "
         "TEXT, dob TEXT, registered_date TEXT, phone TEXT, picture TEXT)"},
        {"IN list of 1000", NULL},
    };
    printf("%-26s %14s %12s %12s\n", "statement", "parses/s", "MB/s", "arena bytes");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *q = cases[i].q ? cases[i].q : in_list;
        size_t len = strlen(q), bytes;
        double rate = run(q, len, secs, &bytes);
        printf("%-26s %14.0f %12.1f %12zu\n", cases[i].name, rate, rate * (double)len / 1e6, bytes);
    }
    free(in_list);
    return 0;
}
