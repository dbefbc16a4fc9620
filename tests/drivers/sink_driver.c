/* sink_driver.c: drives one sl_sink for the integration tests (test_036x, test_037x).
 *
 *   sink_driver URL --cols NAME:TYPE[,NAME:TYPE...] [--max-inflight N] [--timeout-ms N]
 *
 * Opens the sink and prints "open ok" or "open error: REASON" (then exits 1). Each stdin line
 * is then one batch, a JSON array of rows, each row an array of values in column order (uuid as
 * its string, text a string, int/bigint/timestamp integers, double a number, boolean, null);
 * each batch is answered by "ok N" or "error: REASON" on one line. Exits 0 at end of input. */
#include "core/sl.h"
#include "cql/types.h"
#include "pipeline/sink.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"uuid",   "text",    "int",      "bigint",
                                         "double", "boolean", "timestamp"};

static int parse_cols(char *spec, sl_sink_column *cols, size_t max, size_t *n)
{
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || *n == max) return -1;
        *colon = '\0';
        int t = -1;
        for (int i = 0; i < (int)SL_ARRAY_LEN(type_names); i++)
            if (strcmp(colon + 1, type_names[i]) == 0) t = i;
        if (t < 0) return -1;
        cols[*n].name = tok;
        cols[*n].type = (sl_sink_type)t;
        (*n)++;
    }
    return *n ? 0 : -1;
}

static int to_value(json_t *j, sl_sink_type t, sl_sink_value *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (json_is_null(j)) {
        v->null = true;
        return 0;
    }
    switch (t) {
    case SL_SINK_UUID:
        if (!json_is_string(j) ||
            sl_cql_uuid_parse(
                (sl_slice){(const uint8_t *)json_string_value(j), json_string_length(j)},
                v->v.uuid))
            goto bad;
        return 0;
    case SL_SINK_TEXT:
        if (!json_is_string(j)) goto bad;
        v->str = json_string_value(j);
        v->len = json_string_length(j);
        return 0;
    case SL_SINK_DOUBLE:
        if (!json_is_number(j)) goto bad;
        v->v.f64 = json_number_value(j);
        return 0;
    case SL_SINK_BOOLEAN:
        if (!json_is_boolean(j)) goto bad;
        v->v.b = json_is_true(j);
        return 0;
    default:
        if (!json_is_integer(j)) goto bad;
        v->v.i64 = json_integer_value(j);
        return 0;
    }
bad:
    snprintf(err, errlen, "bad value for a %s column", type_names[t]);
    return -1;
}

int main(int argc, char **argv)
{
    sl_sink_column cols[64];
    sl_sink_config cfg = {0};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc) {
            if (parse_cols(argv[++i], cols, SL_ARRAY_LEN(cols), &cfg.ncols)) {
                fprintf(stderr, "sink_driver: bad --cols\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--max-inflight") == 0 && i + 1 < argc) {
            cfg.max_inflight = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
            cfg.timeout_ms = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: sink_driver URL --cols NAME:TYPE,... [--max-inflight N] "
                            "[--timeout-ms N]\n");
            return 2;
        }
    }
    if (argc < 2) return 2;
    cfg.url = argv[1];
    cfg.cols = cols;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char err[2048];
    sl_sink *s;
    if (sl_sink_open(&cfg, &s, err, sizeof err)) {
        printf("open error: %s\n", err);
        return 1;
    }
    printf("open ok\n");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *batch = json_loadb(line, (size_t)len, JSON_DECODE_ANY, &je);
        if (!json_is_array(batch)) {
            printf("error: input is not a JSON array: %s\n", je.text);
            json_decref(batch);
            continue;
        }
        size_t nrows = json_array_size(batch);
        sl_sink_value *vals = sl_calloc(nrows * cfg.ncols + 1, sizeof *vals);
        int rc = 0;
        for (size_t r = 0; rc == 0 && r < nrows; r++) {
            json_t *row = json_array_get(batch, r);
            if (!json_is_array(row) || json_array_size(row) != cfg.ncols) {
                snprintf(err, sizeof err, "row %zu: not an array of %zu values", r, cfg.ncols);
                rc = -1;
                break;
            }
            for (size_t c = 0; rc == 0 && c < cfg.ncols; c++)
                rc = to_value(json_array_get(row, c), cols[c].type, &vals[r * cfg.ncols + c], err,
                              sizeof err);
        }
        if (rc == 0) rc = sl_sink_write(s, vals, nrows, err, sizeof err);
        if (rc == 0)
            printf("ok %zu\n", nrows);
        else
            printf("error: %s\n", err);
        sl_free(vals);
        json_decref(batch);
    }
    free(line);
    sl_sink_close(s);
    return 0;
}
