/* sink.c: the sink kinds by URL scheme, configuration checks, and the batch deduplication every
 * kind relies on (two rows with one key in a batch: the last wins, as it would in sequence). */
#include "pipeline/sink_int.h"

#include "core/sl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_INFLIGHT 256
#define DEFAULT_TIMEOUT_MS   10000
#define MAX_COLUMNS          1024

static const struct {
    const char *scheme;
    const sl__sink_ops *ops;
} sink_kinds[] = {
    {"cql", &sl__sink_cql_ops},
    {"postgresql", &sl__sink_pg_ops},
    {"postgres", &sl__sink_pg_ops},
};

void sl__sink_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

void sl_sink_url_escape(sl_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            sl_buf_append(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sl_buf_append(b, e, 3);
        }
    }
}

char *sl_sink_url_unescape(const char *s, size_t n)
{
    char *out = sl_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            sl_free(out);
            return NULL;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

bool sl__sink_ident_ok(const char *s, size_t len)
{
    if (len == 0 || len > 48) return false;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_') return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

void sl__sink_ident_append(sl_buf *b, const char *s, size_t len)
{
    uint8_t *p = sl_buf_extend(b, len + 2);
    p[0] = '"';
    for (size_t i = 0; i < len; i++)
        p[i + 1] = (uint8_t)tolower((unsigned char)s[i]);
    p[len + 1] = '"';
}

int sl__sink_config_check(const sl_sink_config *cfg, sl_sink_config *out, char *err, size_t errlen)
{
    if (!cfg || !cfg->url || !*cfg->url) {
        sl__sink_err(err, errlen, "sink: no URL (cql://... or postgresql://...)");
        return SL_ERR_INVAL;
    }
    if (!cfg->cols || cfg->ncols == 0 || cfg->ncols > MAX_COLUMNS) {
        sl__sink_err(err, errlen, "sink: %zu columns (1..%d, column 0 the primary key)", cfg->ncols,
                     MAX_COLUMNS);
        return SL_ERR_INVAL;
    }
    for (size_t i = 0; i < cfg->ncols; i++) {
        const sl_sink_column *c = &cfg->cols[i];
        if (!c->name || !sl__sink_ident_ok(c->name, strlen(c->name))) {
            sl__sink_err(err, errlen,
                         "sink: column %zu: bad name \"%s\" (letters, digits and _, at most 48)", i,
                         c->name ? c->name : "(null)");
            return SL_ERR_INVAL;
        }
        if ((unsigned)c->type > SL_SINK_TIMESTAMP) {
            sl__sink_err(err, errlen, "sink: column %s: unknown type %d", c->name, (int)c->type);
            return SL_ERR_INVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(cfg->cols[j].name, c->name) == 0) {
                sl__sink_err(err, errlen, "sink: column %s appears twice", c->name);
                return SL_ERR_INVAL;
            }
        }
    }
    if (cfg->max_inflight < 0 || cfg->timeout_ms < 0) {
        sl__sink_err(err, errlen, "sink: negative max_inflight (%d) or timeout_ms (%d)",
                     cfg->max_inflight, cfg->timeout_ms);
        return SL_ERR_INVAL;
    }
    *out = *cfg;
    if (out->max_inflight == 0) out->max_inflight = DEFAULT_MAX_INFLIGHT;
    if (out->timeout_ms == 0) out->timeout_ms = DEFAULT_TIMEOUT_MS;
    return 0;
}

int sl__sink_open_ops(const sl__sink_ops *ops, const sl_sink_config *cfg, sl_sink **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    sl_sink_config c;
    int rc = sl__sink_config_check(cfg, &c, err, errlen);
    if (rc) return rc;
    sl_sink *s = NULL;
    rc = ops->open(&c, &s, err, errlen);
    if (rc) return rc;
    s->ops = ops;
    s->ncols = c.ncols;
    s->cols = sl_malloc(c.ncols * sizeof *s->cols);
    for (size_t i = 0; i < c.ncols; i++) {
        s->cols[i].name = sl_strdup(c.cols[i].name);
        s->cols[i].type = c.cols[i].type;
    }
    *out = s;
    return 0;
}

int sl_sink_open(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen)
{
    *out = NULL;
    sl_sink_config c;
    int rc = sl__sink_config_check(cfg, &c, err, errlen);
    if (rc) return rc;
    const char *sep = strstr(c.url, "://");
    const sl__sink_ops *ops = NULL;
    for (size_t i = 0; sep && i < SL_ARRAY_LEN(sink_kinds); i++) {
        size_t n = strlen(sink_kinds[i].scheme);
        if ((size_t)(sep - c.url) == n && strncasecmp(c.url, sink_kinds[i].scheme, n) == 0)
            ops = sink_kinds[i].ops;
    }
    if (!ops) {
        /* Only the scheme is named: the rest may hold a password. */
        if (sep)
            sl__sink_err(err, errlen,
                         "sink: unsupported URL scheme \"%.*s\" (expected cql:// or postgresql://)",
                         (int)SL_MIN((size_t)(sep - c.url), (size_t)32), c.url);
        else
            sl__sink_err(err, errlen,
                         "sink: unsupported URL: no scheme (expected cql://HOST:PORT/KS.TABLE or "
                         "postgresql://...)");
        return SL_ERR_INVAL;
    }
    return sl__sink_open_ops(ops, cfg, out, err, errlen);
}

static uint64_t key_hash(sl_sink_type t, const sl_sink_value *v)
{
    const uint8_t *p;
    size_t n;
    switch (t) {
    case SL_SINK_UUID: p = v->v.uuid, n = 16; break;
    case SL_SINK_TEXT: p = (const uint8_t *)v->str, n = v->len; break;
    case SL_SINK_DOUBLE: p = (const uint8_t *)&v->v.f64, n = sizeof v->v.f64; break;
    case SL_SINK_BOOLEAN: return v->v.b;
    default: p = (const uint8_t *)&v->v.i64, n = sizeof v->v.i64; break;
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix for the low bits */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static bool key_eq(sl_sink_type t, const sl_sink_value *a, const sl_sink_value *b)
{
    switch (t) {
    case SL_SINK_UUID: return memcmp(a->v.uuid, b->v.uuid, 16) == 0;
    case SL_SINK_TEXT: return a->len == b->len && (a->len == 0 || !memcmp(a->str, b->str, a->len));
    case SL_SINK_DOUBLE: return a->v.f64 == b->v.f64;
    case SL_SINK_BOOLEAN: return a->v.b == b->v.b;
    default: return a->v.i64 == b->v.i64;
    }
}

/* Fills s->idx with the rows to write: the last row of each key, in batch order. */
static int dedupe(sl_sink *s, const sl_sink_value *rows, size_t nrows, size_t *nout, char *err,
                  size_t errlen)
{
    if (nrows > s->cap_rows) {
        sl_free(s->idx);
        s->idx = sl_malloc(nrows * sizeof *s->idx);
        s->cap_rows = nrows;
    }
    size_t need = 16;
    while (need < nrows * 2)
        need <<= 1;
    if (need > s->cap_slots) {
        sl_free(s->slots);
        s->slots = sl_malloc(need * sizeof *s->slots);
        s->cap_slots = need;
    }
    memset(s->slots, 0, s->cap_slots * sizeof *s->slots);
    size_t mask = s->cap_slots - 1, dups = 0;
    /* Pass 1: each key's slot ends up holding its last row. */
    for (size_t r = 0; r < nrows; r++) {
        const sl_sink_value *k = &rows[r * s->ncols];
        if (k->null) {
            sl__sink_err(err, errlen, "row %zu: the primary key (column 0) is null", r);
            return SL_ERR_INVAL;
        }
        for (size_t i = key_hash(s->cols[0].type, k) & mask;; i = (i + 1) & mask) {
            if (s->slots[i] == 0) {
                s->slots[i] = (uint32_t)r + 1;
                break;
            }
            if (key_eq(s->cols[0].type, &rows[(s->slots[i] - 1) * s->ncols], k)) {
                s->slots[i] = (uint32_t)r + 1;
                dups++;
                break;
            }
        }
    }
    if (dups == 0) {
        for (size_t r = 0; r < nrows; r++)
            s->idx[r] = r;
        *nout = nrows;
        return 0;
    }
    /* Pass 2: keep row r only when its key's slot names r. */
    size_t n = 0;
    for (size_t r = 0; r < nrows; r++) {
        const sl_sink_value *k = &rows[r * s->ncols];
        for (size_t i = key_hash(s->cols[0].type, k) & mask;; i = (i + 1) & mask) {
            if (key_eq(s->cols[0].type, &rows[(s->slots[i] - 1) * s->ncols], k)) {
                if (s->slots[i] == r + 1) s->idx[n++] = r;
                break;
            }
        }
    }
    *nout = n;
    return 0;
}

/* Refuses values no kind can store, so that a sink never fails half way for them. */
static int check_values(const sl_sink *s, const sl_sink_value *rows, size_t nrows, char *err,
                        size_t errlen)
{
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < s->ncols; c++) {
            const sl_sink_value *v = &rows[r * s->ncols + c];
            if (v->null) continue;
            if (s->cols[c].type == SL_SINK_TEXT && !v->str && v->len) {
                sl__sink_err(err, errlen, "row %zu column %s: text of %zu bytes at NULL", r,
                             s->cols[c].name, v->len);
                return SL_ERR_INVAL;
            }
            if (s->cols[c].type == SL_SINK_INT && (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX)) {
                sl__sink_err(err, errlen, "row %zu column %s: %" PRId64 " is out of range for int",
                             r, s->cols[c].name, v->v.i64);
                return SL_ERR_INVAL;
            }
        }
    }
    return 0;
}

int sl_sink_write(sl_sink *s, const sl_sink_value *rows, size_t nrows, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (nrows == 0) return 0;
    if (nrows > UINT32_MAX - 1) {
        sl__sink_err(err, errlen, "batch of %zu rows is too big", nrows);
        return SL_ERR_TOOBIG;
    }
    size_t n;
    int rc = check_values(s, rows, nrows, err, errlen);
    if (rc) return rc;
    rc = dedupe(s, rows, nrows, &n, err, errlen);
    if (rc) return rc;
    return s->ops->write(s, rows, s->idx, n, err, errlen);
}

void sl_sink_close(sl_sink *s)
{
    if (!s) return;
    size_t *idx = s->idx;
    uint32_t *slots = s->slots;
    sl_sink_column *cols = s->cols;
    size_t ncols = s->ncols;
    s->ops->close(s);
    sl_free(idx);
    sl_free(slots);
    for (size_t i = 0; i < ncols; i++)
        sl_free((char *)cols[i].name);
    sl_free(cols);
}
