/* schema.c: the declared schema, its mapping onto sink columns, and a JSON record parser that
 * fills one row of typed values per record.
 *
 * The parser is a single pass over the record written for this job instead of a general JSON
 * library: it validates the whole document (syntax, UTF-8, \u escapes), picks out the declared
 * top-level fields and converts them in place. Text without escapes is borrowed from the record
 * itself, so a typical record costs no allocation at all (jansson builds a tree with a malloc
 * per node and copies every string). */
#include "pipeline/schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 128 /* per-record scratch lives on the stack */
#define MAX_DEPTH  64  /* nesting inside a record */

typedef struct field {
    char *name;
    size_t namelen;
    sl_sink_type type;
    bool required;
    bool email;
    bool has_default;
    sl_sink_value def; /* TEXT: str points at def_text */
    char *def_text;
} field;

typedef struct column {
    int field;  /* the source field, or -1 for a concatenation */
    int *parts; /* concat: field indexes */
    size_t nparts;
    char *sep;
    size_t seplen;
} column;

struct sl_schema {
    field *fields;
    size_t nfields;
    column *cols;
    sl_sink_column *sink_cols; /* names owned */
    size_t ncols;
};

static const char *const rec_error_names[] = {
    [SL_REC_OK] = "ok",
    [SL_REC_NOT_JSON] = "not_json",
    [SL_REC_INVALID_UTF8] = "invalid_utf8",
    [SL_REC_TOO_LARGE] = "too_large",
    [SL_REC_MISSING_FIELD] = "missing_field",
    [SL_REC_WRONG_TYPE] = "wrong_type",
    [SL_REC_INVALID_UUID] = "invalid_uuid",
    [SL_REC_INVALID_EMAIL] = "invalid_email",
    [SL_REC_DUPLICATE_FIELD] = "duplicate_field",
    [SL_REC_NUL_IN_TEXT] = "nul_in_text",
    [SL_REC_NOT_AVRO] = "not_avro",
    [SL_REC_UNKNOWN_SCHEMA_ID] = "unknown_schema_id",
    [SL_REC_UNSUPPORTED_SCHEMA] = "unsupported_schema",
    [SL_REC_AVRO_DECODE] = "avro_decode_error",
    [SL_REC_REGISTRY_UNAVAILABLE] = "registry_unavailable",
};

const char *sl_rec_error_name(sl_rec_error e)
{
    if ((unsigned)e >= SL_ARRAY_LEN(rec_error_names)) return "unknown";
    return rec_error_names[e];
}

static const struct {
    const char *name;
    sl_sink_type type;
} type_names[] = {
    {"uuid", SL_SINK_UUID},           {"text", SL_SINK_TEXT},     {"int", SL_SINK_INT},
    {"bigint", SL_SINK_BIGINT},       {"double", SL_SINK_DOUBLE}, {"boolean", SL_SINK_BOOLEAN},
    {"timestamp", SL_SINK_TIMESTAMP},
};

static const char *type_name(sl_sink_type t)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(type_names); i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "?";
}

/* Values */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sl_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
    if (len != 36) return SL_ERR_PARSE;
    int k = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return SL_ERR_PARSE;
            i++;
            continue;
        }
        int hi = hexval((uint8_t)s[i]), lo = hexval((uint8_t)s[i + 1]);
        if (hi < 0 || lo < 0) return SL_ERR_PARSE;
        out[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

bool sl_email_shaped(const char *s, size_t len)
{
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c <= ' ' || c == 0x7f) return false;
        if (c == '@') {
            if (at != len) return false;
            at = i;
        }
    }
    if (at == 0 || at >= len - 1) return false;
    const char *d = s + at + 1;
    size_t dl = len - at - 1;
    if (d[0] == '.' || d[dl - 1] == '.') return false;
    bool dot = false;
    for (size_t i = 0; i < dl; i++) {
        if (d[i] != '.') continue;
        if (i + 1 < dl && d[i + 1] == '.') return false;
        dot = true;
    }
    return dot;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sl_timestamp_parse(const char *s, size_t len, int64_t *ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (len < 10 || s[4] != '-' || s[7] != '-') return SL_ERR_PARSE;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d)) return SL_ERR_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return SL_ERR_PARSE;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return SL_ERR_PARSE;
    size_t i = 10;
    if (i < len) {
        if ((s[i] != 'T' && s[i] != 't' && s[i] != ' ') || len < i + 9) return SL_ERR_PARSE;
        if (s[i + 3] != ':' || s[i + 6] != ':') return SL_ERR_PARSE;
        if (digits(s + i + 1, 2, &h) || digits(s + i + 4, 2, &mi) || digits(s + i + 7, 2, &sec))
            return SL_ERR_PARSE;
        if (h > 23 || mi > 59 || sec > 60) return SL_ERR_PARSE;
        i += 9;
        if (i < len && s[i] == '.') {
            size_t n = 0;
            for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
                if (n < 3) frac = frac * 10 + (s[i] - '0');
            if (n == 0) return SL_ERR_PARSE;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int oh, om;
            if (len - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
                digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
                return SL_ERR_PARSE;
            off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        if (i != len) return SL_ERR_PARSE;
    }
    int64_t secs = sl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off * 60;
    *ms = secs * 1000 + frac;
    return 0;
}

/* Parses an optionally signed decimal integer that must fill s[0..n). */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) neg = s[i++] == '-';
    if (i == n) return SL_ERR_PARSE;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return SL_ERR_PARSE;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (lim - dgt) / 10) return SL_ERR_TOOBIG;
        v = v * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_double(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) return SL_ERR_PARSE;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *e;
    errno = 0;
    double d = strtod(tmp, &e);
    if (e != tmp + n || errno == ERANGE) return SL_ERR_PARSE;
    *out = d;
    return 0;
}

/* The JSON record parser */

typedef struct jp {
    const uint8_t *p, *end;
    sl_arena *arena;
    sl_rec_error syntax; /* stops the parse */
    sl_rec_error sem;    /* first error about a field's content; the parse goes on */
    char *detail;
    size_t detaillen;
} jp;

static int fail_syntax(jp *j, sl_rec_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_syntax(jp *j, sl_rec_error e, const char *fmt, ...)
{
    j->syntax = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->detail, j->detaillen, fmt, ap);
    va_end(ap);
    return -1;
}

static void fail_sem(jp *j, sl_rec_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_sem(jp *j, sl_rec_error e, const char *fmt, ...)
{
    if (j->sem) return;
    j->sem = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->detail, j->detaillen, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0: no overlongs, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0xC2) return 0;
    if (c < 0xE0) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) return 0;
        return 4;
    }
    return 0;
}

static int hex4(const uint8_t *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* A byte where a token should start: invalid UTF-8 is named as such, anything else is a
 * syntax error. */
static int bad_token(jp *j, const char *what)
{
    if (j->p >= j->end) return fail_syntax(j, SL_REC_NOT_JSON, "unexpected end, expected %s", what);
    if (*j->p >= 0x80 && !utf8_seq(j->p, j->end))
        return fail_syntax(j, SL_REC_INVALID_UTF8, "invalid UTF-8 byte 0x%02x", *j->p);
    return fail_syntax(j, SL_REC_NOT_JSON, "unexpected '%c', expected %s",
                       *j->p >= 0x20 && *j->p < 0x7f ? *j->p : '?', what);
}

static inline void skip_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* Reads the \u escape at q (pointing at 'u'): its code point and its length past the
 * backslash, combining a surrogate pair. Returns -1 (error set) for bad hex or a lone
 * surrogate. */
static int read_u_escape(jp *j, const uint8_t *q, uint32_t *cp, size_t *len)
{
    if (j->end - q < 5) return fail_syntax(j, SL_REC_NOT_JSON, "truncated \\u escape");
    int v = hex4(q + 1);
    if (v < 0) return fail_syntax(j, SL_REC_NOT_JSON, "bad \\u escape");
    *len = 5;
    if (v >= 0xDC00 && v <= 0xDFFF)
        return fail_syntax(j, SL_REC_INVALID_UTF8, "lone low surrogate \\u%04x", v);
    if (v >= 0xD800 && v <= 0xDBFF) {
        int lo = j->end - q >= 11 && q[5] == '\\' && q[6] == 'u' ? hex4(q + 7) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_syntax(j, SL_REC_INVALID_UTF8, "lone high surrogate \\u%04x", v);
        *cp = 0x10000 + (((uint32_t)v - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        *len = 11;
        return 0;
    }
    *cp = (uint32_t)v;
    return 0;
}

/* Scans the string token at j->p (on its opening quote), validating escapes and UTF-8. With
 * out non-NULL, *out and *outlen receive its content: borrowed from the record when it has no
 * escapes, else unescaped into the arena (never longer than the escaped form). */
/* Skips eight bytes at a time while none of them ends a plain run: a quote, a backslash, a
 * control character or a non-ASCII byte. Each test is exact for "some byte in the word", so the
 * byte loop after it sees every byte that matters. */
static const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t hit = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w;
        if (hit & high) break;
        p += 8;
    }
    return p;
}

static int scan_string(jp *j, const char **out, size_t *outlen)
{
    const uint8_t *start = ++j->p;
    bool escaped = false;
    for (;;) {
        j->p = skip_plain(j->p, j->end);
        while (j->p < j->end && *j->p >= 0x20 && *j->p < 0x80 && *j->p != '"' && *j->p != '\\')
            j->p++;
        if (j->p >= j->end) return fail_syntax(j, SL_REC_NOT_JSON, "unterminated string");
        uint8_t c = *j->p;
        if (c == '"') break;
        if (c == '\\') {
            escaped = true;
            if (j->end - j->p < 2) return fail_syntax(j, SL_REC_NOT_JSON, "unterminated string");
            uint8_t e = j->p[1];
            if (e == 'u') {
                uint32_t cp;
                size_t n;
                if (read_u_escape(j, j->p + 1, &cp, &n)) return -1;
                /* Refused for every sink alike: the postgresql:// sink cannot store it, and a
                 * record one sink refuses for ever would stall the processor on its batch. */
                if (cp == 0) return fail_syntax(j, SL_REC_NUL_IN_TEXT, "\\u0000 in a string");
                j->p += 1 + n;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                j->p += 2;
            } else {
                return fail_syntax(j, SL_REC_NOT_JSON, "bad escape in string");
            }
            continue;
        }
        if (c < 0x20) return fail_syntax(j, SL_REC_NOT_JSON, "control character in string");
        size_t k = utf8_seq(j->p, j->end);
        if (!k) return fail_syntax(j, SL_REC_INVALID_UTF8, "invalid UTF-8 byte 0x%02x", c);
        j->p += k;
    }
    const uint8_t *stop = j->p++;
    if (!out) return 0;
    if (!escaped) {
        *out = (const char *)start;
        *outlen = (size_t)(stop - start);
        return 0;
    }
    uint8_t *o = sl_arena_alloc(j->arena, (size_t)(stop - start));
    size_t w = 0;
    for (const uint8_t *q = start; q < stop;) {
        if (*q != '\\') {
            o[w++] = *q++;
            continue;
        }
        q++;
        switch (*q) {
        case 'b': o[w++] = '\b'; break;
        case 'f': o[w++] = '\f'; break;
        case 'n': o[w++] = '\n'; break;
        case 'r': o[w++] = '\r'; break;
        case 't': o[w++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            size_t n;
            read_u_escape(j, q, &cp, &n); /* validated above */
            if (cp < 0x80) {
                o[w++] = (uint8_t)cp;
            } else if (cp < 0x800) {
                o[w++] = (uint8_t)(0xC0 | cp >> 6);
                o[w++] = (uint8_t)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                o[w++] = (uint8_t)(0xE0 | cp >> 12);
                o[w++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                o[w++] = (uint8_t)(0x80 | (cp & 0x3F));
            } else {
                o[w++] = (uint8_t)(0xF0 | cp >> 18);
                o[w++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
                o[w++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                o[w++] = (uint8_t)(0x80 | (cp & 0x3F));
            }
            q += n;
            continue;
        }
        default: o[w++] = *q; break; /* " \ / */
        }
        q++;
    }
    *out = (const char *)o;
    *outlen = w;
    return 0;
}

/* Scans a number token per the JSON grammar; *is_int when it has no fraction or exponent. */
static int scan_number(jp *j, const char **s, size_t *n, bool *is_int)
{
    const uint8_t *start = j->p;
    *is_int = true;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end) return fail_syntax(j, SL_REC_NOT_JSON, "bad number");
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    } else {
        return fail_syntax(j, SL_REC_NOT_JSON, "bad number");
    }
    if (j->p < j->end && *j->p == '.') {
        *is_int = false;
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return fail_syntax(j, SL_REC_NOT_JSON, "bad number");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        *is_int = false;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return fail_syntax(j, SL_REC_NOT_JSON, "bad number");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    *s = (const char *)start;
    *n = (size_t)(j->p - start);
    return 0;
}

static int scan_literal(jp *j, const char *lit, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n)) return bad_token(j, "a value");
    j->p += n;
    return 0;
}

static int skip_value(jp *j, int depth);

/* Members of an object or elements of an array, the opening bracket already consumed. */
static int skip_container(jp *j, uint8_t close, int depth)
{
    if (depth > MAX_DEPTH) return fail_syntax(j, SL_REC_NOT_JSON, "nested too deeply");
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (j->p >= j->end || *j->p != '"') return bad_token(j, "a member name");
            if (scan_string(j, NULL, NULL)) return -1;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':') return bad_token(j, "':'");
            j->p++;
            skip_ws(j);
        }
        if (skip_value(j, depth)) return -1;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            skip_ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        return bad_token(j, close == '}' ? "',' or '}'" : "',' or ']'");
    }
}

static int skip_value(jp *j, int depth)
{
    if (j->p >= j->end) return bad_token(j, "a value");
    const char *s;
    size_t n;
    bool is_int;
    switch (*j->p) {
    case '"': return scan_string(j, NULL, NULL);
    case '{': j->p++; return skip_container(j, '}', depth + 1);
    case '[': j->p++; return skip_container(j, ']', depth + 1);
    case 't': return scan_literal(j, "true", 4);
    case 'f': return scan_literal(j, "false", 5);
    case 'n': return scan_literal(j, "null", 4);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return scan_number(j, &s, &n, &is_int);
        return bad_token(j, "a value");
    }
}

static const char *json_kind(uint8_t c)
{
    switch (c) {
    case '"': return "a string";
    case '{': return "an object";
    case '[': return "an array";
    case 't':
    case 'f': return "a boolean";
    default: return "a number";
    }
}

/* Parses the value of declared field f into *v (v->null for JSON null). */
static int parse_field(jp *j, const field *f, sl_sink_value *v)
{
    if (j->p >= j->end) return bad_token(j, "a value");
    uint8_t c = *j->p;
    const char *s;
    size_t n;
    bool is_int;
    v->null = false;
    v->str = NULL;
    v->len = 0;
    switch (c) {
    case '"':
        if (scan_string(j, &s, &n)) return -1;
        switch (f->type) {
        case SL_SINK_TEXT:
            v->str = s;
            v->len = n;
            return 0;
        case SL_SINK_UUID:
            if (sl_uuid_parse(s, n, v->v.uuid))
                fail_sem(j, SL_REC_INVALID_UUID, "%s: not a UUID", f->name);
            return 0;
        case SL_SINK_TIMESTAMP:
            if (sl_timestamp_parse(s, n, &v->v.i64))
                fail_sem(j, SL_REC_WRONG_TYPE, "%s: not an ISO-8601 timestamp", f->name);
            return 0;
        default: break;
        }
        break;
    case 't':
    case 'f':
        if (scan_literal(j, c == 't' ? "true" : "false", c == 't' ? 4 : 5)) return -1;
        if (f->type == SL_SINK_BOOLEAN) {
            v->v.b = c == 't';
            return 0;
        }
        if (f->type == SL_SINK_TEXT) { /* the literal's text, as Spark's from_json does */
            v->str = (const char *)j->p - (c == 't' ? 4 : 5);
            v->len = c == 't' ? 4 : 5;
            return 0;
        }
        break;
    case 'n':
        if (scan_literal(j, "null", 4)) return -1;
        v->null = true;
        return 0;
    case '{':
    case '[':
        if (skip_value(j, 1)) return -1;
        break;
    default:
        if (c != '-' && (c < '0' || c > '9')) return bad_token(j, "a value");
        if (scan_number(j, &s, &n, &is_int)) return -1;
        switch (f->type) {
        case SL_SINK_TEXT: /* randomuser's postcode is a number for some nationalities */
            v->str = s;
            v->len = n;
            return 0;
        case SL_SINK_INT:
        case SL_SINK_BIGINT:
        case SL_SINK_TIMESTAMP:
            if (!is_int || parse_i64(s, n, &v->v.i64) ||
                (f->type == SL_SINK_INT && (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX)))
                fail_sem(j, SL_REC_WRONG_TYPE, "%s: not a %s", f->name, type_name(f->type));
            return 0;
        case SL_SINK_DOUBLE:
            if (parse_double(s, n, &v->v.f64))
                fail_sem(j, SL_REC_WRONG_TYPE, "%s: not a double", f->name);
            return 0;
        default: break;
        }
        break;
    }
    fail_sem(j, SL_REC_WRONG_TYPE, "%s: expected %s, got %s", f->name, type_name(f->type),
             json_kind(c));
    return 0;
}

static int find_field(const sl_schema *s, const char *k, size_t n, size_t hint)
{
    for (size_t i = 0; i < s->nfields; i++) {
        size_t x = (hint + i) % s->nfields;
        const field *f = &s->fields[x];
        if (f->namelen == n && !memcmp(f->name, k, n)) return (int)x;
    }
    return -1;
}

sl_rec_error sl_schema_parse(const sl_schema *s, const void *value, size_t len, size_t max_size,
                             sl_sink_value *row, sl_arena *arena, char *detail, size_t detaillen)
{
    char dummy[1];
    if (!detail || !detaillen) {
        detail = dummy;
        detaillen = sizeof dummy;
    }
    detail[0] = 0;
    if (len > max_size) {
        snprintf(detail, detaillen, "value of %zu bytes over max_record_size %zu", len, max_size);
        return SL_REC_TOO_LARGE;
    }
    if (!value || len == 0) {
        snprintf(detail, detaillen, "empty value");
        return SL_REC_NOT_JSON;
    }
    jp j = {.p = value,
            .end = (const uint8_t *)value + len,
            .arena = arena,
            .detail = detail,
            .detaillen = detaillen};
    sl_sink_value vals[MAX_FIELDS];
    bool seen[MAX_FIELDS];
    memset(seen, 0, s->nfields);

    skip_ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        if (j.p < j.end && (*j.p == '[' || *j.p == '"' || *j.p == 't' || *j.p == 'f' ||
                            *j.p == 'n' || *j.p == '-' || (*j.p >= '0' && *j.p <= '9'))) {
            const uint8_t *at = j.p;
            if (skip_value(&j, 0) == 0) {
                skip_ws(&j);
                if (j.p == j.end) {
                    snprintf(detail, detaillen, "%s, not an object", json_kind(*at));
                    return SL_REC_NOT_JSON;
                }
                bad_token(&j, "end of value");
            }
            return j.syntax;
        }
        bad_token(&j, "'{'");
        return j.syntax;
    }
    j.p++;
    skip_ws(&j);
    size_t hint = 0;
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            const char *k;
            size_t kn;
            if (j.p >= j.end || *j.p != '"') {
                bad_token(&j, "a member name");
                return j.syntax;
            }
            if (scan_string(&j, &k, &kn)) return j.syntax;
            skip_ws(&j);
            if (j.p >= j.end || *j.p != ':') {
                bad_token(&j, "':'");
                return j.syntax;
            }
            j.p++;
            skip_ws(&j);
            int f = find_field(s, k, kn, hint);
            if (f < 0) {
                if (skip_value(&j, 1)) return j.syntax;
            } else {
                if (seen[f])
                    fail_sem(&j, SL_REC_DUPLICATE_FIELD, "%s: appears twice", s->fields[f].name);
                seen[f] = true;
                if (parse_field(&j, &s->fields[f], &vals[f])) return j.syntax;
                hint = (size_t)f + 1;
            }
            skip_ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                skip_ws(&j);
                continue;
            }
            if (j.p < j.end && *j.p == '}') {
                j.p++;
                break;
            }
            bad_token(&j, "',' or '}'");
            return j.syntax;
        }
    }
    skip_ws(&j);
    if (j.p != j.end) {
        bad_token(&j, "end of value");
        return j.syntax;
    }
    if (j.sem) return j.sem;

    for (size_t i = 0; i < s->nfields; i++) {
        const field *f = &s->fields[i];
        if (!seen[i] || vals[i].null) {
            if (f->has_default) {
                vals[i] = f->def;
            } else if (f->required) {
                snprintf(detail, detaillen, "%s: %s", f->name, seen[i] ? "null" : "missing");
                return SL_REC_MISSING_FIELD;
            } else {
                vals[i].null = true;
                vals[i].str = NULL;
                vals[i].len = 0;
            }
        } else if (f->email && !sl_email_shaped(vals[i].str, vals[i].len)) {
            snprintf(detail, detaillen, "%s: not shaped like an email address", f->name);
            return SL_REC_INVALID_EMAIL;
        }
    }
    for (size_t c = 0; c < s->ncols; c++) {
        const column *col = &s->cols[c];
        if (col->field >= 0) {
            row[c] = vals[col->field];
            continue;
        }
        size_t total = 0;
        for (size_t k = 0; k < col->nparts; k++)
            total += vals[col->parts[k]].len + col->seplen;
        char *o = sl_arena_alloc(arena, total + 1);
        size_t w = 0;
        for (size_t k = 0; k < col->nparts; k++) {
            const sl_sink_value *pv = &vals[col->parts[k]];
            if (pv->null) continue;
            if (w && col->seplen) {
                memcpy(o + w, col->sep, col->seplen);
                w += col->seplen;
            }
            memcpy(o + w, pv->str, pv->len);
            w += pv->len;
        }
        row[c] = (sl_sink_value){.null = false, .str = o, .len = w};
    }
    return SL_REC_OK;
}

/* Schema construction */

static const char *const seed_fields[] = {
    "id",    "first_name", "last_name", "gender",          "address", "post_code",
    "email", "username",   "dob",       "registered_date", "phone",   "picture",
};

const sl_sink_column *sl_schema_columns(const sl_schema *s, size_t *ncols)
{
    *ncols = s->ncols;
    return s->sink_cols;
}

void sl_schema_free(sl_schema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nfields; i++) {
        sl_free(s->fields[i].name);
        sl_free(s->fields[i].def_text);
    }
    for (size_t c = 0; c < s->ncols; c++) {
        sl_free(s->cols[c].parts);
        sl_free(s->cols[c].sep);
        sl_free((char *)s->sink_cols[c].name);
    }
    sl_free(s->fields);
    sl_free(s->cols);
    sl_free(s->sink_cols);
    sl_free(s);
}

static void add_field(sl_schema *s, const char *name, sl_sink_type t)
{
    field *f = &s->fields[s->nfields++];
    memset(f, 0, sizeof *f);
    f->name = sl_strdup(name);
    f->namelen = strlen(name);
    f->type = t;
    f->required = true;
}

static void add_column(sl_schema *s, const char *name, sl_sink_type t, int fieldidx)
{
    size_t c = s->ncols++;
    memset(&s->cols[c], 0, sizeof s->cols[c]);
    s->cols[c].field = fieldidx;
    s->sink_cols[c].name = sl_strdup(name);
    s->sink_cols[c].type = t;
}

static sl_schema *schema_alloc(size_t nfields, size_t ncols)
{
    sl_schema *s = sl_calloc(1, sizeof *s);
    s->fields = sl_calloc(nfields ? nfields : 1, sizeof *s->fields);
    s->cols = sl_calloc(ncols ? ncols : 1, sizeof *s->cols);
    s->sink_cols = sl_calloc(ncols ? ncols : 1, sizeof *s->sink_cols);
    return s;
}

sl_schema *sl_schema_default(void)
{
    size_t n = SL_ARRAY_LEN(seed_fields);
    sl_schema *s = schema_alloc(n, n);
    for (size_t i = 0; i < n; i++) {
        add_field(s, seed_fields[i], i == 0 ? SL_SINK_UUID : SL_SINK_TEXT);
        if (!strcmp(seed_fields[i], "email")) s->fields[i].email = true;
        add_column(s, seed_fields[i], s->fields[i].type, (int)i);
    }
    return s;
}

/* Column names go into CQL and SQL statements unquoted, so they are plain identifiers. */
static bool is_ident(const char *s)
{
    if (!s || !*s || strlen(s) > 48) return false;
    if (!((*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
    return true;
}

static int lookup_field(const sl_schema *s, const char *name)
{
    return name ? find_field(s, name, strlen(name), 0) : -1;
}

static int parse_default(field *f, const char *text)
{
    sl_sink_value *v = &f->def;
    memset(v, 0, sizeof *v);
    f->def_text = sl_strdup(text);
    switch (f->type) {
    case SL_SINK_TEXT:
        v->str = f->def_text;
        v->len = strlen(text);
        return 0;
    case SL_SINK_UUID: return sl_uuid_parse(text, strlen(text), v->v.uuid);
    case SL_SINK_INT:
    case SL_SINK_BIGINT:
        if (parse_i64(text, strlen(text), &v->v.i64)) return SL_ERR_PARSE;
        if (f->type == SL_SINK_INT && (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX))
            return SL_ERR_PARSE;
        return 0;
    case SL_SINK_DOUBLE: return parse_double(text, strlen(text), &v->v.f64);
    case SL_SINK_BOOLEAN:
        if (!strcmp(text, "true"))
            v->v.b = true;
        else if (strcmp(text, "false"))
            return SL_ERR_PARSE;
        return 0;
    case SL_SINK_TIMESTAMP:
        if (parse_i64(text, strlen(text), &v->v.i64) == 0) return 0;
        return sl_timestamp_parse(text, strlen(text), &v->v.i64);
    }
    return SL_ERR_PARSE;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!s) return false;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) return *out = true;
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) return !(*out = false);
    return false;
}

/* One `schema:` entry: "name: type" or "name: {type: T, required: B, format: email}". */
static void schema_entry(sl_schema *s, const char *name, const sl_yaml *v, sl_errs *errs)
{
    const char *tname = NULL;
    bool required = true, email = false;
    if (v->kind == SL_YAML_SCALAR) {
        tname = v->scalar;
    } else if (v->kind == SL_YAML_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            const char *k = v->keys[i];
            const sl_yaml *x = v->items[i];
            const char *sv = x->kind == SL_YAML_SCALAR ? x->scalar : NULL;
            if (!strcmp(k, "type")) {
                tname = sv;
            } else if (!strcmp(k, "required")) {
                if (!parse_bool(sv, &required))
                    sl_errs_add(errs, x->file, x->line,
                                "pipeline.schema.%s.required: expected true or false", name);
            } else if (!strcmp(k, "format")) {
                if (sv && !strcmp(sv, "email"))
                    email = true;
                else
                    sl_errs_add(errs, x->file, x->line,
                                "pipeline.schema.%s.format: unknown format (known: email)", name);
            } else {
                sl_errs_add(errs, v->file, v->key_lines[i],
                            "pipeline.schema.%s: unknown key '%s' (known: type, required, "
                            "format)",
                            name, k);
            }
        }
    } else {
        sl_errs_add(errs, v->file, v->line, "pipeline.schema.%s: expected a type or a map", name);
        return;
    }
    int t = -1;
    for (size_t i = 0; tname && i < SL_ARRAY_LEN(type_names); i++)
        if (!strcmp(tname, type_names[i].name)) t = (int)type_names[i].type;
    if (t < 0) {
        sl_errs_add(errs, v->file, v->line,
                    "pipeline.schema.%s: unknown type '%s' (known: uuid, text, int, bigint, "
                    "double, boolean, timestamp)",
                    name, tname ? tname : "");
        return;
    }
    if (email && t != SL_SINK_TEXT)
        sl_errs_add(errs, v->file, v->line, "pipeline.schema.%s: format email needs type text",
                    name);
    add_field(s, name, (sl_sink_type)t);
    s->fields[s->nfields - 1].required = required;
    s->fields[s->nfields - 1].email = email;
}

static const sl_yaml *map_get(const sl_yaml *m, const char *key, int *line)
{
    for (size_t i = 0; m && m->kind == SL_YAML_MAP && i < m->n; i++)
        if (!strcmp(m->keys[i], key)) {
            if (line) *line = m->key_lines[i];
            return m->items[i];
        }
    return NULL;
}

/* A map whose values must all be scalars ("rename:", "default:"). */
static bool scalar_map(const sl_yaml *m, const char *what, sl_errs *errs)
{
    if (!m) return false;
    if (m->kind != SL_YAML_MAP) {
        sl_errs_add(errs, m->file, m->line, "pipeline.mapping.%s: expected a map", what);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i]->kind != SL_YAML_SCALAR || !m->items[i]->scalar) {
            sl_errs_add(errs, m->file, m->items[i]->line,
                        "pipeline.mapping.%s.%s: expected a value", what, m->keys[i]);
            ok = false;
        }
    return ok;
}

static void mapping_fields(const sl_schema *s, const sl_yaml *m, const char *what, sl_errs *errs)
{
    for (size_t i = 0; m && m->kind == SL_YAML_MAP && i < m->n; i++)
        if (lookup_field(s, m->keys[i]) < 0)
            sl_errs_add(errs, m->file, m->key_lines[i],
                        "pipeline.mapping.%s: '%s' is not a field of the schema", what, m->keys[i]);
}

int sl_schema_from_yaml(const sl_yaml *schema, const sl_yaml *mapping, sl_schema **out,
                        sl_errs *errs)
{
    size_t nerr0 = errs->n;
    *out = NULL;
    sl_schema *s;
    if (schema) {
        if (schema->kind != SL_YAML_MAP || schema->n == 0) {
            sl_errs_add(errs, schema->file, schema->line,
                        "pipeline.schema: expected a map of field: type");
            return SL_ERR_CONFIG;
        }
        if (schema->n > MAX_FIELDS) {
            sl_errs_add(errs, schema->file, schema->line, "pipeline.schema: %zu fields, at most %d",
                        schema->n, MAX_FIELDS);
            return SL_ERR_CONFIG;
        }
        s = schema_alloc(schema->n, 0);
        for (size_t i = 0; i < schema->n; i++)
            schema_entry(s, schema->keys[i], schema->items[i], errs);
    } else {
        sl_schema *d = sl_schema_default();
        s = schema_alloc(d->nfields, 0);
        for (size_t i = 0; i < d->nfields; i++) {
            add_field(s, d->fields[i].name, d->fields[i].type);
            s->fields[i].email = d->fields[i].email;
        }
        sl_schema_free(d);
    }
    if (errs->n != nerr0) goto fail;

    const sl_yaml *rename = NULL, *defaults = NULL, *drop = NULL, *concat = NULL;
    if (mapping) {
        if (mapping->kind != SL_YAML_MAP) {
            sl_errs_add(errs, mapping->file, mapping->line, "pipeline.mapping: expected a map");
            goto fail;
        }
        for (size_t i = 0; i < mapping->n; i++) {
            const char *k = mapping->keys[i];
            if (strcmp(k, "rename") && strcmp(k, "default") && strcmp(k, "drop") &&
                strcmp(k, "concat"))
                sl_errs_add(errs, mapping->file, mapping->key_lines[i],
                            "pipeline.mapping: unknown key '%s' (known: rename, default, drop, "
                            "concat)",
                            k);
        }
        rename = map_get(mapping, "rename", NULL);
        defaults = map_get(mapping, "default", NULL);
        drop = map_get(mapping, "drop", NULL);
        concat = map_get(mapping, "concat", NULL);
        if (scalar_map(rename, "rename", errs)) mapping_fields(s, rename, "rename", errs);
        if (scalar_map(defaults, "default", errs)) mapping_fields(s, defaults, "default", errs);
        if (drop && drop->kind != SL_YAML_SEQ) {
            sl_errs_add(errs, drop->file, drop->line, "pipeline.mapping.drop: expected a list");
            drop = NULL;
        }
        if (concat && concat->kind != SL_YAML_MAP) {
            sl_errs_add(errs, concat->file, concat->line,
                        "pipeline.mapping.concat: expected a map of column: {fields, "
                        "separator}");
            concat = NULL;
        }
    }
    if (errs->n != nerr0) goto fail;

    for (size_t i = 0; defaults && i < defaults->n; i++) {
        field *f = &s->fields[lookup_field(s, defaults->keys[i])];
        if (parse_default(f, defaults->items[i]->scalar))
            sl_errs_add(errs, defaults->file, defaults->items[i]->line,
                        "pipeline.mapping.default.%s: '%s' is not a %s", f->name,
                        defaults->items[i]->scalar, type_name(f->type));
        f->has_default = true;
    }
    bool dropped[MAX_FIELDS] = {0};
    for (size_t i = 0; drop && i < drop->n; i++) {
        const sl_yaml *x = drop->items[i];
        int f = x->kind == SL_YAML_SCALAR ? lookup_field(s, x->scalar) : -1;
        if (f < 0)
            sl_errs_add(errs, x->file, x->line,
                        "pipeline.mapping.drop: '%s' is not a field of the schema",
                        x->kind == SL_YAML_SCALAR && x->scalar ? x->scalar : "");
        else
            dropped[f] = true;
    }
    size_t ncols = concat ? concat->n : 0;
    for (size_t i = 0; i < s->nfields; i++)
        ncols += !dropped[i];
    s->cols = sl_realloc(s->cols, (ncols ? ncols : 1) * sizeof *s->cols);
    s->sink_cols = sl_realloc(s->sink_cols, (ncols ? ncols : 1) * sizeof *s->sink_cols);
    int line = schema ? schema->line : 0;
    const char *file = schema ? schema->file : mapping ? mapping->file : NULL;
    for (size_t i = 0; i < s->nfields; i++) {
        if (dropped[i]) continue;
        const sl_yaml *r = map_get(rename, s->fields[i].name, NULL);
        const char *cname = r ? r->scalar : s->fields[i].name;
        if (!is_ident(cname))
            sl_errs_add(errs, r ? r->file : file, r ? r->line : line,
                        "pipeline: column name '%s' is not a lower-case identifier", cname);
        add_column(s, cname, s->fields[i].type, (int)i);
    }
    for (size_t i = 0; concat && i < concat->n; i++) {
        const sl_yaml *spec = concat->items[i];
        const char *cname = concat->keys[i];
        const sl_yaml *parts = map_get(spec, "fields", NULL),
                      *sep = map_get(spec, "separator", NULL);
        add_column(s, cname, SL_SINK_TEXT, -1);
        column *col = &s->cols[s->ncols - 1];
        if (!is_ident(cname))
            sl_errs_add(errs, concat->file, concat->key_lines[i],
                        "pipeline.mapping.concat: column name '%s' is not a lower-case "
                        "identifier",
                        cname);
        if (spec->kind != SL_YAML_MAP || !parts || parts->kind != SL_YAML_SEQ || !parts->n) {
            sl_errs_add(errs, spec->file, spec->line,
                        "pipeline.mapping.concat.%s: expected {fields: [f1, f2, ...], "
                        "separator: S}",
                        cname);
            continue;
        }
        for (size_t k = 0; k < spec->n; k++)
            if (strcmp(spec->keys[k], "fields") && strcmp(spec->keys[k], "separator"))
                sl_errs_add(errs, spec->file, spec->key_lines[k],
                            "pipeline.mapping.concat.%s: unknown key '%s' (known: fields, "
                            "separator)",
                            cname, spec->keys[k]);
        col->sep = sl_strdup(sep && sep->kind == SL_YAML_SCALAR && sep->scalar ? sep->scalar : " ");
        col->seplen = strlen(col->sep);
        col->parts = sl_calloc(parts->n, sizeof *col->parts);
        for (size_t k = 0; k < parts->n; k++) {
            const sl_yaml *x = parts->items[k];
            int f = x->kind == SL_YAML_SCALAR ? lookup_field(s, x->scalar) : -1;
            if (f < 0 || s->fields[f].type != SL_SINK_TEXT) {
                sl_errs_add(errs, x->file, x->line,
                            "pipeline.mapping.concat.%s: '%s' is not a text field of the schema",
                            cname, x->kind == SL_YAML_SCALAR && x->scalar ? x->scalar : "");
                continue;
            }
            col->parts[col->nparts++] = f;
        }
    }
    for (size_t a = 0; a < s->ncols; a++)
        for (size_t b = a + 1; b < s->ncols; b++)
            if (!strcmp(s->sink_cols[a].name, s->sink_cols[b].name))
                sl_errs_add(errs, file, line, "pipeline: two columns are named '%s'",
                            s->sink_cols[a].name);
    if (s->ncols == 0) {
        sl_errs_add(errs, file, line, "pipeline: the mapping leaves no column");
    } else if (s->cols[0].field < 0 || (!s->fields[s->cols[0].field].required &&
                                        !s->fields[s->cols[0].field].has_default)) {
        sl_errs_add(errs, file, line,
                    "pipeline: the first column '%s' is the primary key: its field must be "
                    "required or have a default",
                    s->sink_cols[0].name);
    }
    if (errs->n != nerr0) goto fail;
    *out = s;
    return 0;
fail:
    sl_schema_free(s);
    return SL_ERR_CONFIG;
}

/* JSON paths */

/* The next step of a path at *p: a member name (name, n) or an index (*idx >= 0). Returns 1
 * with a step, 0 at the end, -1 for a malformed step. */
static int path_step(const char **p, const char **name, size_t *n, long *idx)
{
    const char *s = *p;
    if (!*s) return 0;
    *idx = -1;
    if (*s == '.') {
        size_t k = strcspn(s + 1, ".[");
        if (!k) return -1;
        *name = s + 1;
        *n = k;
        *p = s + 1 + k;
        return 1;
    }
    if (*s == '[') {
        char *e;
        if (s[1] < '0' || s[1] > '9') return -1;
        errno = 0;
        long v = strtol(s + 1, &e, 10);
        if (errno || *e != ']' || v > 1000000) return -1;
        *idx = v;
        *p = e + 1;
        return 1;
    }
    return -1;
}

bool sl_json_path_valid(const char *path)
{
    if (!path || path[0] != '$') return false;
    const char *p = path + 1, *name;
    size_t n;
    long idx;
    int r;
    while ((r = path_step(&p, &name, &n, &idx)) == 1) {
    }
    return r == 0;
}

int sl_json_path(const void *json, size_t len, const char *path, sl_arena *arena, const char **out,
                 size_t *outlen, bool *is_str)
{
    char detail[8];
    jp j = {.p = json,
            .end = (const uint8_t *)json + len,
            .arena = arena,
            .detail = detail,
            .detaillen = sizeof detail};
    if (!sl_json_path_valid(path)) return SL_ERR_INVAL;
    const char *p = path + 1, *name;
    size_t n;
    long idx;
    int depth = 0;
    skip_ws(&j);
    while (path_step(&p, &name, &n, &idx) == 1) {
        if (++depth > MAX_DEPTH) return SL_ERR_NOTFOUND;
        uint8_t open = idx < 0 ? '{' : '[';
        if (j.p >= j.end) return SL_ERR_PARSE;
        if (*j.p != open) {
            if (*j.p == '{' || *j.p == '[' || *j.p == '"' || *j.p == 't' || *j.p == 'f' ||
                *j.p == 'n' || *j.p == '-' || (*j.p >= '0' && *j.p <= '9'))
                return SL_ERR_NOTFOUND;
            return SL_ERR_PARSE;
        }
        j.p++;
        skip_ws(&j);
        if (j.p < j.end && *j.p == (open == '{' ? '}' : ']')) return SL_ERR_NOTFOUND;
        for (long i = 0;; i++) {
            bool hit;
            if (open == '{') {
                const char *k;
                size_t kn;
                if (j.p >= j.end || *j.p != '"' || scan_string(&j, &k, &kn)) return SL_ERR_PARSE;
                skip_ws(&j);
                if (j.p >= j.end || *j.p != ':') return SL_ERR_PARSE;
                j.p++;
                skip_ws(&j);
                hit = kn == n && !memcmp(k, name, n);
            } else {
                hit = i == idx;
            }
            if (hit) break;
            if (skip_value(&j, depth)) return SL_ERR_PARSE;
            skip_ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                skip_ws(&j);
                continue;
            }
            if (j.p < j.end && *j.p == (open == '{' ? '}' : ']')) return SL_ERR_NOTFOUND;
            return SL_ERR_PARSE;
        }
    }
    if (j.p >= j.end) return SL_ERR_PARSE;
    const uint8_t *start = j.p;
    *is_str = *j.p == '"';
    if (*is_str) return scan_string(&j, out, outlen) ? SL_ERR_PARSE : 0;
    if (*j.p == 'n') return scan_literal(&j, "null", 4) ? SL_ERR_PARSE : SL_ERR_NOTFOUND;
    if (skip_value(&j, depth)) return SL_ERR_PARSE;
    *out = (const char *)start;
    *outlen = (size_t)(j.p - start);
    return 0;
}
