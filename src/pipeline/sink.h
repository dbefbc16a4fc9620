/* sink.h: where process writes typed rows: a CQL store (cql://) or PostgreSQL (postgresql://).
 *
 * A sink upserts batches of rows keyed by column 0. It is used from one thread at a time (it
 * is opened on process's processor thread, then written by its writer); sl_sink_write blocks until
 * the whole batch is durable or has failed. */
#ifndef SL_PIPELINE_SINK_H
#define SL_PIPELINE_SINK_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_SINK_UUID,
    SL_SINK_TEXT,
    SL_SINK_INT,
    SL_SINK_BIGINT,
    SL_SINK_DOUBLE,
    SL_SINK_BOOLEAN,
    SL_SINK_TIMESTAMP /* ms since the epoch */
} sl_sink_type;

typedef struct sl_sink_column {
    const char *name;
    sl_sink_type type;
} sl_sink_column; /* column 0 is the primary key */

typedef struct sl_sink_value {
    bool null;
    union {
        int64_t i64;
        double f64;
        bool b;
        uint8_t uuid[16];
    } v;             /* INT uses i64 */
    const char *str; /* TEXT: UTF-8, not NUL-terminated */
    size_t len;
} sl_sink_value;

typedef struct sl_sink_config {
    const char *url; /* cql://[user:pass@]host:port[,host:port...]/KS.TABLE
                        postgresql://...[?table=NAME]  (table default created_users) */
    const sl_sink_column *cols;
    size_t ncols;
    int max_inflight; /* bound on requests in flight (default 256) */
    int timeout_ms;   /* per request (default 10000) */
} sl_sink_config;

typedef struct sl_sink sl_sink;

/* Connects, creates the keyspace/schema and table if missing, prepares the upsert. */
int sl_sink_open(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen);
/* Upserts nrows rows (rows[r * ncols + c]). Blocks until every row is acknowledged durable by
 * the sink; returns 0 then. On failure returns <0 with a reason: the caller may assume nothing
 * and retries the whole batch later (upserts are idempotent). Reconnects by itself. */
int sl_sink_write(sl_sink *s, const sl_sink_value *rows, size_t nrows, char *err, size_t errlen);
/* Closes the connection(s) and frees the sink; NULL is a no-op. */
void sl_sink_close(sl_sink *s);

/* Appends s to b percent-encoded: every byte outside RFC 3986's unreserved set (letters,
 * digits, "-._~") as %XX, so a user, password or file path fits any part of a sink URL. */
void sl_sink_url_escape(sl_buf *b, const char *s);
/* Percent-decodes s[0..n) into a new string (sl_free); NULL when an escape is malformed or
 * decodes to NUL. The inverse of sl_sink_url_escape, used by every sink URL parser. */
char *sl_sink_url_unescape(const char *s, size_t n);

#endif
