/* bench_schema.c: records/s of sl_schema_parse (the seeds' schema: parse, validate, convert to
 * a row of sink values) against jansson's json_loadb + field lookups doing the same work, on one
 * core, over the same 100k flattened users. This is the measurement behind process.c parsing
 * with its own one-pass parser instead of jansson.
 *
 *   build/bench/bench_schema [N]     (default 200000 records, each parsed once per round) */
#include "core/buf.h"
#include "core/sl.h"
#include "pipeline/schema.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NREC 100000

static char *records[NREC];
static size_t lens[NREC];

static void make_records(void)
{
    for (int i = 0; i < NREC; i++) {
        char buf[1024];
        int n = snprintf(
            buf, sizeof buf,
            "{\"id\": \"%08x-7d3a-4a59-9a7b-1b0c2d3e%04x\", \"first_name\": \"Ana%d\", "
            "\"last_name\": \"Lima\", \"gender\": \"female\", \"address\": \"%d Rua das "
            "Flores, Recife, Pernambuco, Brazil\", \"post_code\": %d, \"email\": "
            "\"ana.lima%d@example.com\", \"username\": \"bluebird%d\", \"dob\": "
            "\"1990-01-02T03:04:05.006Z\", \"registered_date\": \"2010-05-06T07:08:09.010Z\", "
            "\"phone\": \"(81) 1234-5678\", \"picture\": "
            "\"https://randomuser.me/api/portraits/med/women/%d.jpg\"}",
            (unsigned)i * 2654435761u, i & 0xffff, i, i, 10000 + i, i, i, i % 100);
        records[i] = sl_strndup(buf, (size_t)n);
        lens[i] = (size_t)n;
    }
}

static const char *const fields[] = {"id",      "first_name",      "last_name", "gender",
                                     "address", "post_code",       "email",     "username",
                                     "dob",     "registered_date", "phone",     "picture"};

/* What process.c would do with jansson: load, look each field up, convert into a row. */
static int jansson_row(const char *v, size_t len, sl_sink_value *row, sl_arena *arena)
{
    json_error_t e;
    json_t *o = json_loadb(v, len, JSON_REJECT_DUPLICATES, &e);
    if (!o || !json_is_object(o)) return -1;
    int rc = 0;
    for (size_t i = 0; i < SL_ARRAY_LEN(fields) && !rc; i++) {
        json_t *x = json_object_get(o, fields[i]);
        if (!x) {
            rc = -1;
        } else if (i == 0) {
            rc = json_is_string(x)
                     ? sl_uuid_parse(json_string_value(x), json_string_length(x), row[0].v.uuid)
                     : -1;
        } else if (json_is_string(x)) {
            /* The tree is freed before the row is used: the text must be copied out. */
            row[i].len = json_string_length(x);
            row[i].str = sl_arena_strndup(arena, json_string_value(x), row[i].len);
        } else if (json_is_integer(x)) {
            char *t = sl_arena_alloc(arena, 24);
            row[i].len = (size_t)snprintf(t, 24, "%lld", (long long)json_integer_value(x));
            row[i].str = t;
        } else {
            rc = -1;
        }
    }
    json_decref(o);
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    make_records();
    sl_schema *s = sl_schema_default();
    sl_sink_value row[12];
    sl_arena arena;
    sl_arena_init(&arena, 1 << 20);
    size_t bytes = 0;
    for (int i = 0; i < NREC; i++)
        bytes += lens[i];

    printf("%-28s %12s %10s %10s\n", "parser", "records/s", "MB/s", "ns/record");
    for (int which = 0; which < 2; which++) {
        uint64_t t0 = sl_mono_ns();
        for (long k = 0; k < n; k++) {
            int i = (int)(k % NREC);
            if (k % 5000 == 0) sl_arena_reset(&arena);
            int rc = which == 0 ? (int)sl_schema_parse(s, records[i], lens[i], 1 << 20, row, &arena,
                                                       NULL, 0)
                                : jansson_row(records[i], lens[i], row, &arena);
            if (rc) {
                fprintf(stderr, "record %d refused\n", i);
                return 1;
            }
        }
        double secs = (double)(sl_mono_ns() - t0) / 1e9;
        double avg = (double)bytes / NREC;
        printf("%-28s %12.0f %10.1f %10.0f\n",
               which == 0 ? "sl_schema_parse" : "jansson json_loadb + copy", (double)n / secs,
               (double)n * avg / secs / 1e6, secs * 1e9 / (double)n);
    }
    sl_arena_free(&arena);
    sl_schema_free(s);
    for (int i = 0; i < NREC; i++)
        sl_free(records[i]);
    return 0;
}
