/* stage.c: the PostgreSQL outbox (see stage.h), on libpq. */
#include "pipeline/stage.h"

#include "core/buf.h"

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#define STAGE_DEFAULT_TABLE "sluice_ingest_stage"
#define STAGE_TABLE_MAX     48
/* First key of the table's advisory lock ("slui"); the second is hashtext(table). */
#define STAGE_LOCK_CLASS 0x736c7569

struct sl_stage {
    PGconn *pg;
    char table[STAGE_TABLE_MAX + 1];
    char qt[STAGE_TABLE_MAX + 3];       /* "table" */
    char qjobs[STAGE_TABLE_MAX + 8];    /* "table_jobs" */
    char qunsent[STAGE_TABLE_MAX + 10]; /* "table_unsent" */
    PGresult *rows_res;
    sl_stage_row *rows;
    int rows_cap;
    sl_buf copy; /* COPY data of one put */
    sl_buf sql;
};

/* libpq's message on one line: its continuation lines ("\tIs the server running...") joined
 * with a space, the trailing newline dropped. */
static void pg_reason(PGconn *pg, const char *what, char *err, size_t errlen)
{
    char msg[512];
    size_t o = 0;
    bool space = false;
    for (const char *m = PQerrorMessage(pg); *m && o < sizeof msg - 1; m++) {
        if (*m == '\n' || *m == '\t' || *m == '\r' || *m == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o < sizeof msg - 2) msg[o++] = ' ';
        space = false;
        msg[o++] = *m;
    }
    msg[o] = 0;
    snprintf(err, errlen, "stage: %s: %s", what, msg);
}

/* Runs a statement; ok is the expected status. On failure fills err and returns SL_ERR_CLOSED. */
static int exec_params(sl_stage *st, const char *what, const char *sql, int n,
                       const char *const *vals, ExecStatusType ok, PGresult **keep, char *err,
                       size_t errlen)
{
    PGresult *r = PQexecParams(st->pg, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != ok) {
        pg_reason(st->pg, what, err, errlen);
        PQclear(r);
        return SL_ERR_CLOSED;
    }
    if (keep)
        *keep = r;
    else
        PQclear(r);
    return 0;
}

static int exec_sql(sl_stage *st, const char *what, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(st->pg, sql);
    ExecStatusType s = PQresultStatus(r);
    PQclear(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        pg_reason(st->pg, what, err, errlen);
        return SL_ERR_CLOSED;
    }
    return 0;
}

/* Splits ?table=NAME off the URL: libpq rejects query parameters it does not know. */
static int split_url(const char *url, char *conninfo, size_t connlen, char *table, char *err,
                     size_t errlen)
{
    strcpy(table, STAGE_DEFAULT_TABLE);
    const char *q = strchr(url, '?');
    size_t base = q ? (size_t)(q - url) : strlen(url);
    if (base + 1 >= connlen) {
        snprintf(err, errlen, "stage: URL too long");
        return SL_ERR_INVAL;
    }
    memcpy(conninfo, url, base);
    size_t out = base;
    conninfo[out] = 0;
    char sep = '?';
    while (q && *q) {
        q++;
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 6 && !strncmp(q, "table=", 6)) {
            size_t tl = n - 6;
            const char *t = q + 6;
            bool ok =
                tl > 0 && tl <= STAGE_TABLE_MAX && (islower((unsigned char)t[0]) || t[0] == '_');
            for (size_t i = 0; ok && i < tl; i++)
                ok = islower((unsigned char)t[i]) || isdigit((unsigned char)t[i]) || t[i] == '_';
            if (!ok) {
                snprintf(err, errlen,
                         "stage: table name must be 1-%d characters of a-z, 0-9 and _, starting "
                         "with a letter or _",
                         STAGE_TABLE_MAX);
                return SL_ERR_INVAL;
            }
            memcpy(table, t, tl);
            table[tl] = 0;
        } else if (n) {
            if (out + n + 2 >= connlen) {
                snprintf(err, errlen, "stage: URL too long");
                return SL_ERR_INVAL;
            }
            conninfo[out++] = sep;
            memcpy(conninfo + out, q, n);
            out += n;
            conninfo[out] = 0;
            sep = '&';
        }
        q = amp;
    }
    return 0;
}

int sl_stage_open(const char *url, sl_stage **out, char *err, size_t errlen)
{
    if (strncmp(url, "postgresql://", 13) && strncmp(url, "postgres://", 11)) {
        snprintf(err, errlen, "stage: URL must start with postgresql://");
        return SL_ERR_INVAL;
    }
    char conninfo[4096];
    sl_stage *st = sl_calloc(1, sizeof *st);
    int r = split_url(url, conninfo, sizeof conninfo, st->table, err, errlen);
    if (r < 0) {
        sl_free(st);
        return r;
    }
    snprintf(st->qt, sizeof st->qt, "\"%s\"", st->table);
    snprintf(st->qjobs, sizeof st->qjobs, "\"%s_jobs\"", st->table);
    snprintf(st->qunsent, sizeof st->qunsent, "\"%s_unsent\"", st->table);
    st->pg = PQconnectdb(conninfo);
    if (PQstatus(st->pg) != CONNECTION_OK) {
        pg_reason(st->pg, "cannot connect", err, errlen);
        sl_stage_close(st);
        return SL_ERR_CLOSED;
    }
    /* A session lock: a second ingest on the same table would send rows twice. */
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, hashtext('%s'))", STAGE_LOCK_CLASS,
             st->table);
    PGresult *res = PQexec(st->pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_reason(st->pg, "lock", err, errlen);
        PQclear(res);
        sl_stage_close(st);
        return SL_ERR_CLOSED;
    }
    bool locked = !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (!locked) {
        snprintf(err, errlen, "stage: table %s is in use by another sluice ingest", st->table);
        sl_stage_close(st);
        return SL_ERR_EXISTS;
    }
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning;"
             "CREATE TABLE IF NOT EXISTS %s ("
             " job bigserial PRIMARY KEY, source text NOT NULL, topic text NOT NULL,"
             " target bigint, batch integer NOT NULL, fetched bigint NOT NULL DEFAULT 0,"
             " next_page integer NOT NULL DEFAULT 1,"
             " started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);"
             "CREATE TABLE IF NOT EXISTS %s ("
             " seq bigserial PRIMARY KEY, job bigint NOT NULL REFERENCES %s,"
             " topic text NOT NULL, id uuid NOT NULL, raw json NOT NULL, value text NOT NULL,"
             " staged_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);"
             "CREATE INDEX IF NOT EXISTS %s ON %s (seq) WHERE sent_at IS NULL",
             st->qjobs, st->qt, st->qjobs, st->qunsent, st->qt);
    if ((r = exec_sql(st, "creating the stage tables", sql, err, errlen)) < 0) {
        sl_stage_close(st);
        return r;
    }
    *out = st;
    return 0;
}

void sl_stage_close(sl_stage *st)
{
    if (!st) return;
    PQclear(st->rows_res);
    sl_free(st->rows);
    sl_buf_free(&st->copy);
    sl_buf_free(&st->sql);
    PQfinish(st->pg);
    sl_free(st);
}

const char *sl_stage_table(const sl_stage *st)
{
    return st->table;
}

int sl_stage_job_begin(sl_stage *st, const char *source, const char *topic, int64_t target,
                       int batch, int first_page, sl_stage_job *job, char *err, size_t errlen)
{
    char tbuf[24], pbuf[16], bbuf[16];
    snprintf(tbuf, sizeof tbuf, "%" PRId64, target);
    snprintf(bbuf, sizeof bbuf, "%d", batch);
    snprintf(pbuf, sizeof pbuf, "%d", first_page);
    memset(job, 0, sizeof *job);
    job->target = target;
    PGresult *r = NULL;
    int rc;
    if (target >= 0) {
        sl_buf_reset(&st->sql);
        sl_buf_printf(
            &st->sql,
            "SELECT job, fetched, next_page FROM %s WHERE source = $1 AND topic = $2 "
            "AND target = $3 AND batch = $4 AND finished_at IS NULL ORDER BY job DESC LIMIT 1",
            st->qjobs);
        const char *v[] = {source, topic, tbuf, bbuf};
        rc = exec_params(st, "finding a job to resume", sl_buf_cstr(&st->sql), 4, v,
                         PGRES_TUPLES_OK, &r, err, errlen);
        if (rc < 0) return rc;
        if (PQntuples(r) == 1) {
            job->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            job->fetched = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            job->next_page = atoi(PQgetvalue(r, 0, 2));
            job->resumed = true;
            PQclear(r);
            return 0;
        }
        PQclear(r);
    }
    sl_buf_reset(&st->sql);
    sl_buf_printf(
        &st->sql,
        "INSERT INTO %s (source, topic, target, batch, next_page) VALUES ($1, $2, $3, $4, $5) "
        "RETURNING job",
        st->qjobs);
    const char *v[] = {source, topic, target >= 0 ? tbuf : NULL, bbuf, pbuf};
    rc = exec_params(st, "starting a job", sl_buf_cstr(&st->sql), 5, v, PGRES_TUPLES_OK, &r, err,
                     errlen);
    if (rc < 0) return rc;
    job->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    job->next_page = first_page;
    PQclear(r);
    return 0;
}

int sl_stage_job_finish(sl_stage *st, const sl_stage_job *job, char *err, size_t errlen)
{
    char jbuf[24];
    snprintf(jbuf, sizeof jbuf, "%" PRId64, job->id);
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql, "UPDATE %s SET finished_at = now() WHERE job = $1", st->qjobs);
    const char *v[] = {jbuf};
    return exec_params(st, "finishing the job", sl_buf_cstr(&st->sql), 1, v, PGRES_COMMAND_OK, NULL,
                       err, errlen);
}

/* Appends s to a COPY text-format field, escaping what the format treats specially. */
static void copy_field(sl_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\\': sl_buf_append(b, "\\\\", 2); break;
        case '\n': sl_buf_append(b, "\\n", 2); break;
        case '\r': sl_buf_append(b, "\\r", 2); break;
        case '\t': sl_buf_append(b, "\\t", 2); break;
        default: sl_buf_append(b, p, 1);
        }
    }
}

static int rollback(sl_stage *st, int rc)
{
    PQclear(PQexec(st->pg, "ROLLBACK"));
    return rc;
}

int sl_stage_put(sl_stage *st, sl_stage_job *job, const char *topic, json_t *const *users,
                 const char *const *ids, const char *const *values, size_t n, int next_page,
                 char *err, size_t errlen)
{
    char jbuf[24], nbuf[24], pbuf[16];
    snprintf(jbuf, sizeof jbuf, "%" PRId64, job->id);
    snprintf(nbuf, sizeof nbuf, "%zu", n);
    snprintf(pbuf, sizeof pbuf, "%d", next_page);
    sl_buf_reset(&st->copy);
    for (size_t i = 0; i < n; i++) {
        char *raw = json_dumps(users[i], JSON_COMPACT);
        sl_buf_printf(&st->copy, "%s\t", jbuf);
        copy_field(&st->copy, topic);
        sl_buf_printf(&st->copy, "\t%s\t", ids[i]);
        copy_field(&st->copy, raw);
        sl_buf_append(&st->copy, "\t", 1);
        copy_field(&st->copy, values[i]);
        sl_buf_append(&st->copy, "\n", 1);
        free(raw);
    }
    int rc = exec_sql(st, "BEGIN", "BEGIN", err, errlen);
    if (rc < 0) return rc;
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql, "COPY %s (job, topic, id, raw, value) FROM STDIN", st->qt);
    PGresult *r = PQexec(st->pg, sl_buf_cstr(&st->sql));
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        PQclear(r);
        pg_reason(st->pg, "COPY", err, errlen);
        return rollback(st, SL_ERR_CLOSED);
    }
    PQclear(r);
    if (PQputCopyData(st->pg, (const char *)st->copy.ptr, (int)st->copy.len) != 1 ||
        PQputCopyEnd(st->pg, NULL) != 1) {
        pg_reason(st->pg, "COPY data", err, errlen);
        return rollback(st, SL_ERR_CLOSED);
    }
    bool ok = true;
    while ((r = PQgetResult(st->pg))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) ok = false;
        PQclear(r);
    }
    if (!ok) {
        pg_reason(st->pg, "COPY", err, errlen);
        return rollback(st, SL_ERR_CLOSED);
    }
    /* The job's progress and the commit in one round trip (the values are numbers we made). */
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql,
                  "UPDATE %s SET fetched = fetched + %s, next_page = %s WHERE job = %s; COMMIT",
                  st->qjobs, nbuf, pbuf, jbuf);
    if ((rc = exec_sql(st, "recording the job's progress", sl_buf_cstr(&st->sql), err, errlen)) < 0)
        return rollback(st, rc);
    job->fetched += (int64_t)n;
    job->next_page = next_page;
    return 0;
}

int sl_stage_next(sl_stage *st, int64_t after, int max, const sl_stage_row **rows, char *err,
                  size_t errlen)
{
    PQclear(st->rows_res);
    st->rows_res = NULL;
    char abuf[24], mbuf[16];
    snprintf(abuf, sizeof abuf, "%" PRId64, after);
    snprintf(mbuf, sizeof mbuf, "%d", max);
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql,
                  "SELECT seq, topic, id, value FROM %s WHERE sent_at IS NULL AND seq > $1 "
                  "ORDER BY seq LIMIT $2",
                  st->qt);
    const char *v[] = {abuf, mbuf};
    int rc = exec_params(st, "reading unsent rows", sl_buf_cstr(&st->sql), 2, v, PGRES_TUPLES_OK,
                         &st->rows_res, err, errlen);
    if (rc < 0) return rc;
    int n = PQntuples(st->rows_res);
    if (n > st->rows_cap) {
        st->rows_cap = n;
        st->rows = sl_realloc(st->rows, (size_t)n * sizeof *st->rows);
    }
    for (int i = 0; i < n; i++) {
        st->rows[i].seq = strtoll(PQgetvalue(st->rows_res, i, 0), NULL, 10);
        st->rows[i].topic = PQgetvalue(st->rows_res, i, 1);
        st->rows[i].id = PQgetvalue(st->rows_res, i, 2);
        st->rows[i].value = PQgetvalue(st->rows_res, i, 3);
        st->rows[i].value_len = (size_t)PQgetlength(st->rows_res, i, 3);
    }
    *rows = st->rows;
    return n;
}

int sl_stage_mark_sent(sl_stage *st, const int64_t *seqs, size_t n, char *err, size_t errlen)
{
    if (!n) return 0;
    sl_buf arr = SL_BUF_INIT;
    sl_buf_append_str(&arr, "{");
    for (size_t i = 0; i < n; i++)
        sl_buf_printf(&arr, "%s%" PRId64, i ? "," : "", seqs[i]);
    sl_buf_append_str(&arr, "}");
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql, "UPDATE %s SET sent_at = now() WHERE seq = ANY($1::bigint[])", st->qt);
    const char *v[] = {sl_buf_cstr(&arr)};
    int rc = exec_params(st, "marking rows sent", sl_buf_cstr(&st->sql), 1, v, PGRES_COMMAND_OK,
                         NULL, err, errlen);
    sl_buf_free(&arr);
    return rc;
}

int sl_stage_unsent(sl_stage *st, int64_t *count, char *err, size_t errlen)
{
    sl_buf_reset(&st->sql);
    sl_buf_printf(&st->sql, "SELECT count(*) FROM %s WHERE sent_at IS NULL", st->qt);
    PGresult *r = NULL;
    int rc = exec_params(st, "counting unsent rows", sl_buf_cstr(&st->sql), 0, NULL,
                         PGRES_TUPLES_OK, &r, err, errlen);
    if (rc < 0) return rc;
    *count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}
