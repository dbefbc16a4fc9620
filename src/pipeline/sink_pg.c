/* sink_pg.c: the postgresql:// sink, through libpq.
 *
 * Open creates the table from the columns when missing (column 0 the primary key), a temporary
 * staging table with the same columns (ON COMMIT DELETE ROWS), and prepares and plans the merge,
 * which checks an existing table's columns, types and the key's unique constraint at once. A
 * batch is one transaction: COPY (FORMAT binary) into the staging table, INSERT ... SELECT ...
 * ON CONFLICT (key) DO UPDATE into the table, COMMIT, which returns once the commit is durable as
 * the server's synchronous_commit says. Every wait is bounded by timeout_ms. A lost connection is
 * reopened, and the batch tried once more on the new one, before the write reports failure. */
#include "pipeline/sink_int.h"

#include "core/log.h"
#include "core/sl.h"

#include <libpq-fe.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG       "sink"
#define DEFAULT_TABLE "created_users"
#define STAGE_TABLE   "sluice_stage"
#define MERGE_STMT    "sluice_merge"
/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define PG_EPOCH_US INT64_C(946684800000000)

typedef struct pg_sink {
    sl_sink base;
    PGconn *conn;   /* NULL until connected; reopened after a loss */
    char *conninfo; /* may hold a password: never logged */
    char *table;    /* as given, for messages */
    char *create_sql, *stage_sql, *copy_sql, *merge_sql;
    int timeout_ms;
    sl_buf copy;
} pg_sink;

static const char *const pg_types[] = {
    [SL_SINK_UUID] = "uuid",
    [SL_SINK_TEXT] = "text",
    [SL_SINK_INT] = "integer",
    [SL_SINK_BIGINT] = "bigint",
    [SL_SINK_DOUBLE] = "double precision",
    [SL_SINK_BOOLEAN] = "boolean",
    [SL_SINK_TIMESTAMP] = "timestamptz",
};

const char *sl__sink_pg_type(sl_sink_type t)
{
    return pg_types[t];
}

/* Checks NAME or SCHEMA.NAME. */
static bool table_ok(const char *t)
{
    const char *dot = strchr(t, '.');
    if (!dot) return sl__sink_ident_ok(t, strlen(t));
    return sl__sink_ident_ok(t, (size_t)(dot - t)) && sl__sink_ident_ok(dot + 1, strlen(dot + 1));
}

int sl__sink_pg_url_split(const char *url, char **conninfo, char **table, char *err, size_t errlen)
{
    *conninfo = *table = NULL;
    if (strncasecmp(url, "postgresql://", 13) != 0 && strncasecmp(url, "postgres://", 11) != 0) {
        sl__sink_err(err, errlen, "postgresql sink: URL must start with postgresql://");
        return SL_ERR_INVAL;
    }
    const char *q = strchr(url, '?');
    sl_buf ci = SL_BUF_INIT;
    sl_buf_append(&ci, url, q ? (size_t)(q - url) : strlen(url));
    char *tb = NULL;
    bool first = true;
    for (const char *p = q ? q + 1 : ""; *p;) {
        size_t plen = strcspn(p, "&");
        if (plen > 6 && strncmp(p, "table=", 6) == 0) {
            sl_free(tb);
            tb = sl_sink_url_unescape(p + 6, plen - 6);
            if (!tb) {
                sl__sink_err(err, errlen, "postgresql sink: bad %%-escape in \"%.*s\"", (int)plen,
                             p);
                sl_buf_free(&ci);
                return SL_ERR_INVAL;
            }
        } else if (plen > 0) {
            sl_buf_append(&ci, first ? "?" : "&", 1);
            sl_buf_append(&ci, p, plen);
            first = false;
        }
        p += plen;
        if (*p == '&') p++;
    }
    if (!tb) tb = sl_strdup(DEFAULT_TABLE);
    if (!table_ok(tb)) {
        sl__sink_err(err, errlen,
                     "postgresql sink: bad table name \"%s\" (NAME or SCHEMA.NAME: letters, digits "
                     "and _)",
                     tb);
        sl_free(tb);
        sl_buf_free(&ci);
        return SL_ERR_INVAL;
    }
    *conninfo = sl_strdup(sl_buf_cstr(&ci));
    *table = tb;
    sl_buf_free(&ci);
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void sl__sink_pg_copy_header(sl_buf *b)
{
    static const uint8_t sig[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    sl_buf_append(b, sig, sizeof sig); /* signature, then flags and extension length, all 0 */
}

void sl__sink_pg_copy_trailer(sl_buf *b)
{
    sl_buf_append(b, "\xff\xff", 2);
}

int sl__sink_pg_copy_row(sl_buf *b, const sl_sink_column *cols, size_t ncols,
                         const sl_sink_value *row, char *err, size_t errlen)
{
    size_t need = 2;
    for (size_t c = 0; c < ncols; c++) {
        const sl_sink_value *v = &row[c];
        if (v->null) {
            need += 4;
            continue;
        }
        switch (cols[c].type) {
        case SL_SINK_TEXT:
            if (!v->str && v->len) goto bad;
            if (v->len > INT32_MAX) goto bad;
            if (v->len && memchr(v->str, '\0', v->len)) {
                /* Valid UTF-8 and JSON (\u0000), but no PostgreSQL text can hold it. */
                sl__sink_err(err, errlen, "column %s: text with a NUL byte (PostgreSQL refuses it)",
                             cols[c].name);
                return SL_ERR_INVAL;
            }
            need += 4 + v->len;
            break;
        case SL_SINK_INT:
            if (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX) goto bad;
            need += 8;
            break;
        case SL_SINK_TIMESTAMP:
            if (v->v.i64 > INT64_MAX / 1000 - PG_EPOCH_US / 1000 ||
                v->v.i64 < INT64_MIN / 1000 + PG_EPOCH_US / 1000)
                goto bad;
            need += 12;
            break;
        case SL_SINK_UUID: need += 20; break;
        case SL_SINK_BOOLEAN: need += 5; break;
        default: need += 12; break;
        }
        continue;
    bad:
        sl__sink_err(err, errlen, "column %s: value out of range for %s", cols[c].name,
                     pg_types[cols[c].type]);
        return SL_ERR_INVAL;
    }
    uint8_t *p = sl_buf_extend(b, need);
    put_be(p, ncols, 2);
    p += 2;
    for (size_t c = 0; c < ncols; c++) {
        const sl_sink_value *v = &row[c];
        if (v->null) {
            put_be(p, UINT32_MAX, 4); /* -1: null */
            p += 4;
            continue;
        }
        switch (cols[c].type) {
        case SL_SINK_UUID:
            put_be(p, 16, 4);
            memcpy(p + 4, v->v.uuid, 16);
            p += 20;
            break;
        case SL_SINK_TEXT:
            put_be(p, v->len, 4);
            if (v->len) memcpy(p + 4, v->str, v->len);
            p += 4 + v->len;
            break;
        case SL_SINK_INT:
            put_be(p, 4, 4);
            put_be(p + 4, (uint32_t)(int32_t)v->v.i64, 4);
            p += 8;
            break;
        case SL_SINK_BIGINT:
            put_be(p, 8, 4);
            put_be(p + 4, (uint64_t)v->v.i64, 8);
            p += 12;
            break;
        case SL_SINK_TIMESTAMP:
            put_be(p, 8, 4);
            put_be(p + 4, (uint64_t)(v->v.i64 * 1000 - PG_EPOCH_US), 8);
            p += 12;
            break;
        case SL_SINK_DOUBLE: {
            uint64_t bits;
            memcpy(&bits, &v->v.f64, 8);
            put_be(p, 8, 4);
            put_be(p + 4, bits, 8);
            p += 12;
            break;
        }
        case SL_SINK_BOOLEAN:
            put_be(p, 1, 4);
            p[4] = v->v.b ? 1 : 0;
            p += 5;
            break;
        }
    }
    return 0;
}

/* Puts libpq's message into err after a prefix, on one line: libpq ends it in a newline and
 * the server's DETAIL and HINT come on lines of their own. */
static void pg_fail(pg_sink *s, char *err, size_t errlen, const char *what, const PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : "";
    if (!m || !*m) m = s->conn ? PQerrorMessage(s->conn) : "out of memory";
    sl_buf b = SL_BUF_INIT;
    bool space = false;
    for (const char *p = m; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = true;
            continue;
        }
        if (space && b.len) sl_buf_append(&b, " ", 1);
        space = false;
        sl_buf_append(&b, p, 1);
    }
    sl__sink_err(err, errlen, "postgresql sink %s: %s: %s", s->table, what, sl_buf_cstr(&b));
    sl_buf_free(&b);
}

static void pg_disconnect(pg_sink *s)
{
    if (s->conn) PQfinish(s->conn);
    s->conn = NULL;
}

/* The connection is non-blocking and every wait is bounded by timeout_ms, so a server that
 * stops answering (stalled, or a network that drops packets) fails the request instead of
 * hanging the processor; the connection is then dropped, as its state is unknown. */
static int pg_poll(pg_sink *s, short events, int64_t deadline, const char *what, char *err,
                   size_t errlen)
{
    for (;;) {
        int64_t left = deadline - sl_mono_ms();
        if (left <= 0) {
            sl__sink_err(err, errlen,
                         "postgresql sink %s: %s: no answer within %d ms (server stalled or "
                         "unreachable); dropping the connection",
                         s->table, what, s->timeout_ms);
            pg_disconnect(s);
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {PQsocket(s->conn), events, 0};
        int n = poll(&pfd, 1, (int)SL_MIN(left, INT32_MAX));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            sl__sink_err(err, errlen, "postgresql sink %s: poll: %s", s->table, strerror(errno));
            return -errno;
        }
        if (n > 0) return 0;
    }
}

/* Sends what libpq holds for the server; reads meanwhile, as libpq asks, so neither side
 * blocks the other. */
static int pg_flush(pg_sink *s, int64_t deadline, const char *what, char *err, size_t errlen)
{
    for (;;) {
        int f = PQflush(s->conn);
        if (f == 0) return 0;
        if (f < 0) {
            pg_fail(s, err, errlen, what, NULL);
            return SL_ERR_CLOSED;
        }
        int rc = pg_poll(s, POLLIN | POLLOUT, deadline, what, err, errlen);
        if (rc) return rc;
        if (!PQconsumeInput(s->conn)) {
            pg_fail(s, err, errlen, what, NULL);
            return SL_ERR_CLOSED;
        }
    }
}

/* Waits for the results of what was sent: returns the first error result, or the last one
 * (COPY_IN at once); NULL with err filled when the connection failed or the deadline passed. */
static PGresult *pg_result(pg_sink *s, int64_t deadline, const char *what, char *err, size_t errlen)
{
    if (pg_flush(s, deadline, what, err, errlen)) return NULL;
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(s->conn)) {
            if (pg_poll(s, POLLIN, deadline, what, err, errlen) || !PQconsumeInput(s->conn)) {
                if (s->conn) pg_fail(s, err, errlen, what, keep);
                PQclear(keep);
                return NULL;
            }
        }
        PGresult *r = PQgetResult(s->conn);
        if (!r) break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN) {
            PQclear(keep);
            return r;
        }
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    if (!keep) pg_fail(s, err, errlen, what, NULL);
    return keep;
}

/* Runs one statement (sql, or the prepared stmt when sql is NULL) within timeout_ms and checks
 * that its result has status want; 0, or a failure with err filled. */
static int pg_run(pg_sink *s, const char *sql, const char *stmt, ExecStatusType want,
                  const char *what, char *err, size_t errlen)
{
    int64_t deadline = sl_mono_ms() + s->timeout_ms;
    int ok = sql ? PQsendQuery(s->conn, sql)
                 : PQsendQueryPrepared(s->conn, stmt, 0, NULL, NULL, NULL, 0);
    if (!ok) {
        pg_fail(s, err, errlen, what, NULL);
        return SL_ERR_CLOSED;
    }
    PGresult *r = pg_result(s, deadline, what, err, errlen);
    if (!r) return s->conn ? SL_ERR_CLOSED : -ETIMEDOUT;
    int rc = 0;
    if (PQresultStatus(r) != want &&
        !(want == PGRES_COMMAND_OK && PQresultStatus(r) == PGRES_TUPLES_OK)) {
        pg_fail(s, err, errlen, what, r);
        rc = SL_ERR_CLOSED;
    }
    PQclear(r);
    return rc;
}

static int exec_ok(pg_sink *s, const char *sql, const char *what, char *err, size_t errlen)
{
    return pg_run(s, sql, NULL, PGRES_COMMAND_OK, what, err, errlen);
}

/* Connects and makes the session ready: statement timeout, table, staging table, merge. */
static int pg_connect(pg_sink *s, char *err, size_t errlen)
{
    char secs[16], ms[48];
    snprintf(secs, sizeof secs, "%d", SL_MAX(1, (s->timeout_ms + 999) / 1000));
    /* Options before dbname are defaults the URL may override. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {secs, "sluice-sink", s->conninfo, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        pg_fail(s, err, errlen, "cannot connect", NULL);
        pg_disconnect(s);
        return SL_ERR_CLOSED;
    }
    if (PQsetnonblocking(s->conn, 1)) {
        pg_fail(s, err, errlen, "setting non-blocking mode", NULL);
        pg_disconnect(s);
        return SL_ERR_CLOSED;
    }
    snprintf(ms, sizeof ms, "SET statement_timeout = %d", s->timeout_ms);
    int rc = exec_ok(s, ms, "setting statement_timeout", err, errlen);
    if (rc == 0) rc = exec_ok(s, "SET client_min_messages = warning", "setting", err, errlen);
    if (rc == 0) rc = exec_ok(s, s->create_sql, "creating the table", err, errlen);
    if (rc == 0) rc = exec_ok(s, s->stage_sql, "creating the staging table", err, errlen);
    if (rc == 0) {
        int64_t deadline = sl_mono_ms() + s->timeout_ms;
        PGresult *r = NULL;
        if (!PQsendPrepare(s->conn, MERGE_STMT, s->merge_sql, 0, NULL))
            pg_fail(s, err, errlen, "preparing the merge", NULL);
        else
            r = pg_result(s, deadline, "preparing the merge", err, errlen);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (r) pg_fail(s, err, errlen, "preparing the merge", r);
            rc = SL_ERR_CONFIG;
        }
        PQclear(r);
    }
    /* ON CONFLICT finds its unique index when planned, not when prepared: plan it now. */
    if (rc == 0) rc = exec_ok(s, "EXPLAIN EXECUTE " MERGE_STMT, "planning the merge", err, errlen);
    if (rc) pg_disconnect(s);
    return rc;
}

static void build_sql(pg_sink *s, const sl_sink_config *cfg)
{
    sl_buf tq = SL_BUF_INIT, cols = SL_BUF_INIT, b = SL_BUF_INIT;
    const char *dot = strchr(s->table, '.');
    if (dot) {
        sl__sink_ident_append(&tq, s->table, (size_t)(dot - s->table));
        sl_buf_append_str(&tq, ".");
        sl__sink_ident_append(&tq, dot + 1, strlen(dot + 1));
    } else {
        sl__sink_ident_append(&tq, s->table, strlen(s->table));
    }
    for (size_t i = 0; i < cfg->ncols; i++) {
        if (i) sl_buf_append_str(&cols, ", ");
        sl__sink_ident_append(&cols, cfg->cols[i].name, strlen(cfg->cols[i].name));
    }
    const char *t = sl_buf_cstr(&tq), *c = sl_buf_cstr(&cols);

    sl_buf_printf(&b, "CREATE TABLE IF NOT EXISTS %s (", t);
    for (size_t i = 0; i < cfg->ncols; i++) {
        sl__sink_ident_append(&b, cfg->cols[i].name, strlen(cfg->cols[i].name));
        sl_buf_printf(&b, " %s%s%s", pg_types[cfg->cols[i].type], i == 0 ? " PRIMARY KEY" : "",
                      i + 1 < cfg->ncols ? ", " : ")");
    }
    s->create_sql = sl_strdup(sl_buf_cstr(&b));

    sl_buf_reset(&b);
    sl_buf_append_str(&b, "CREATE TEMP TABLE IF NOT EXISTS " STAGE_TABLE " (");
    for (size_t i = 0; i < cfg->ncols; i++) {
        sl__sink_ident_append(&b, cfg->cols[i].name, strlen(cfg->cols[i].name));
        sl_buf_printf(&b, " %s%s", pg_types[cfg->cols[i].type], i + 1 < cfg->ncols ? ", " : ")");
    }
    sl_buf_append_str(&b, " ON COMMIT DELETE ROWS");
    s->stage_sql = sl_strdup(sl_buf_cstr(&b));

    sl_buf_reset(&b);
    sl_buf_printf(&b, "COPY " STAGE_TABLE " (%s) FROM STDIN (FORMAT binary)", c);
    s->copy_sql = sl_strdup(sl_buf_cstr(&b));

    sl_buf_reset(&b);
    sl_buf_printf(&b, "INSERT INTO %s (%s) SELECT %s FROM " STAGE_TABLE " ON CONFLICT (", t, c, c);
    sl__sink_ident_append(&b, cfg->cols[0].name, strlen(cfg->cols[0].name));
    if (cfg->ncols == 1) {
        sl_buf_append_str(&b, ") DO NOTHING");
    } else {
        sl_buf_append_str(&b, ") DO UPDATE SET ");
        for (size_t i = 1; i < cfg->ncols; i++) {
            size_t n = strlen(cfg->cols[i].name);
            sl__sink_ident_append(&b, cfg->cols[i].name, n);
            sl_buf_append_str(&b, " = EXCLUDED.");
            sl__sink_ident_append(&b, cfg->cols[i].name, n);
            if (i + 1 < cfg->ncols) sl_buf_append_str(&b, ", ");
        }
    }
    s->merge_sql = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&tq);
    sl_buf_free(&cols);
    sl_buf_free(&b);
}

static void pg_close(sl_sink *base)
{
    pg_sink *s = (pg_sink *)base;
    pg_disconnect(s);
    sl_free(s->conninfo);
    sl_free(s->table);
    sl_free(s->create_sql);
    sl_free(s->stage_sql);
    sl_free(s->copy_sql);
    sl_free(s->merge_sql);
    sl_buf_free(&s->copy);
    sl_free(s);
}

static int pg_open(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen)
{
    pg_sink *s = sl_calloc(1, sizeof *s);
    int rc = sl__sink_pg_url_split(cfg->url, &s->conninfo, &s->table, err, errlen);
    if (rc) {
        pg_close(&s->base);
        return rc;
    }
    s->timeout_ms = cfg->timeout_ms;
    build_sql(s, cfg);
    rc = pg_connect(s, err, errlen);
    if (rc) {
        pg_close(&s->base);
        return rc;
    }
    SL_INFO(LOG_TAG, "postgresql sink %s on %s:%s/%s ready (%zu columns)", s->table,
            PQhost(s->conn), PQport(s->conn), PQdb(s->conn), cfg->ncols);
    *out = &s->base;
    return 0;
}

/* One transaction: COPY into the staging table, merge, commit. */
static int write_once(pg_sink *s, const sl_sink_value *rows, const size_t *idx, size_t n, char *err,
                      size_t errlen)
{
    const sl_sink *base = &s->base;
    sl_buf_reset(&s->copy);
    sl__sink_pg_copy_header(&s->copy);
    for (size_t i = 0; i < n; i++) {
        char why[256];
        if (sl__sink_pg_copy_row(&s->copy, base->cols, base->ncols, &rows[idx[i] * base->ncols],
                                 why, sizeof why)) {
            sl__sink_err(err, errlen, "postgresql sink %s: row %zu: %s", s->table, idx[i], why);
            return SL_ERR_INVAL;
        }
    }
    sl__sink_pg_copy_trailer(&s->copy);

    int rc = exec_ok(s, "BEGIN", "BEGIN", err, errlen);
    if (rc) return rc;
    rc = pg_run(s, s->copy_sql, NULL, PGRES_COPY_IN, "COPY into the staging table", err, errlen);
    if (rc) goto rollback;
    int64_t deadline = sl_mono_ms() + s->timeout_ms;
    if (PQputCopyData(s->conn, (const char *)s->copy.ptr, (int)s->copy.len) != 1 ||
        PQputCopyEnd(s->conn, NULL) != 1) {
        pg_fail(s, err, errlen, "sending COPY data", NULL);
        rc = SL_ERR_CLOSED;
        goto rollback;
    }
    PGresult *r = pg_result(s, deadline, "COPY into the staging table", err, errlen);
    if (!r) {
        rc = s->conn ? SL_ERR_CLOSED : -ETIMEDOUT;
        goto rollback;
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_fail(s, err, errlen, "COPY into the staging table", r);
        PQclear(r);
        rc = SL_ERR_CLOSED;
        goto rollback;
    }
    PQclear(r);
    rc = pg_run(s, NULL, MERGE_STMT, PGRES_COMMAND_OK, "merging into the table", err, errlen);
    if (rc) goto rollback;
    return exec_ok(s, "COMMIT", "COMMIT", err, errlen);
rollback:
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) {
        char ignored[256];
        exec_ok(s, "ROLLBACK", "ROLLBACK", ignored, sizeof ignored);
    }
    return rc;
}

static int pg_write(sl_sink *base, const sl_sink_value *rows, const size_t *idx, size_t n,
                    char *err, size_t errlen)
{
    pg_sink *s = (pg_sink *)base;
    bool fresh = false;
    if (!s->conn) {
        int rc = pg_connect(s, err, errlen);
        if (rc) return rc;
        fresh = true;
        SL_INFO(LOG_TAG, "postgresql sink %s: reconnected", s->table);
    }
    int rc = write_once(s, rows, idx, n, err, errlen);
    /* A timeout already dropped the connection: the next write reconnects (a retry now would
     * wait as long again on a server that does not answer). */
    if (rc == 0 || rc == SL_ERR_INVAL || rc == -ETIMEDOUT) return rc;
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) return rc;
    /* The connection is gone (server restart, network): a batch is all or nothing, so it may be
     * sent again on a new connection at once. */
    pg_disconnect(s);
    if (fresh) return rc;
    SL_WARN(LOG_TAG, "%s; reconnecting", err);
    char first[512], again[512];
    snprintf(first, sizeof first, "%s", err);
    rc = pg_connect(s, again, sizeof again);
    if (rc) {
        size_t skip = strlen("postgresql sink : ") + strlen(s->table);
        sl__sink_err(err, errlen, "%s; reconnect failed: %s", first,
                     strlen(again) > skip ? again + skip : again);
        return rc;
    }
    SL_INFO(LOG_TAG, "postgresql sink %s: reconnected", s->table);
    return write_once(s, rows, idx, n, err, errlen);
}

const sl__sink_ops sl__sink_pg_ops = {"postgresql", pg_open, pg_write, pg_close};
