/* user.c: format_data (see user.h) and UUIDv4 generation. */
#include "pipeline/user.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

const char *const sl_user_fields[SL_USER_NFIELDS] = {
    "id",    "first_name", "last_name", "gender",          "address", "post_code",
    "email", "username",   "dob",       "registered_date", "phone",   "picture",
};

/* Per-thread block of kernel randomness; 4 KiB is 256 ids per getrandom(2). */
static _Thread_local uint8_t rnd_block[4096];
static _Thread_local size_t rnd_left;

static void random_bytes(uint8_t *out, size_t n)
{
    while (n) {
        if (!rnd_left) {
            size_t got = 0;
            while (got < sizeof rnd_block) {
                ssize_t r = getrandom(rnd_block + got, sizeof rnd_block - got, 0);
                if (r < 0) {
                    if (errno == EINTR) continue;
                    /* Without randomness an id could repeat: nothing sensible to fall back to. */
                    fprintf(stderr, "sluice: getrandom failed: %s\n", strerror(errno));
                    abort();
                }
                got += (size_t)r;
            }
            rnd_left = sizeof rnd_block;
        }
        size_t take = n < rnd_left ? n : rnd_left;
        memcpy(out, rnd_block + sizeof rnd_block - rnd_left, take);
        /* Used bytes are wiped so they cannot be handed out twice, e.g. after a fork. */
        memset(rnd_block + sizeof rnd_block - rnd_left, 0, take);
        rnd_left -= take;
        out += take;
        n -= take;
    }
}

void sl_user_uuid4(uint8_t out[16])
{
    random_bytes(out, 16);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* version 4 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* variant 10 (RFC 9562) */
}

void sl_user_uuid_format(const uint8_t u[16], char out[SL_UUID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[u[i] >> 4];
        *p++ = hex[u[i] & 15];
    }
    *p = 0;
}

/* Looks up a dotted path ("location.street.name") in raw; NULL with a reason if absent. */
static const json_t *get_path(const json_t *raw, const char *path, char *err, size_t errlen)
{
    const json_t *v = raw;
    const char *p = path;
    char key[64];
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        memcpy(key, p, n);
        key[n] = 0;
        if (!json_is_object(v)) {
            snprintf(err, errlen, "%.*s: not an object", (int)(p - path - 1), path);
            return NULL;
        }
        v = json_object_get(v, key);
        if (!v) {
            snprintf(err, errlen, "%.*s: missing", (int)(p - path + n), path);
            return NULL;
        }
        p += n + (dot != NULL);
    }
    return v;
}

static const char *kind_name(const json_t *v)
{
    if (!v) return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Appends the field at path as text: a string as it is, an integer in decimal when allow_int
 * (street.number and postcode are numbers in the API; the seeds turn them into text). */
static bool append_text(sl_buf *b, const json_t *raw, const char *path, bool allow_int, char *err,
                        size_t errlen)
{
    const json_t *v = get_path(raw, path, err, errlen);
    if (!v) return false;
    if (json_is_string(v)) {
        sl_buf_append(b, json_string_value(v), json_string_length(v));
        return true;
    }
    if (allow_int && json_is_integer(v)) {
        sl_buf_printf(b, "%" PRId64, (int64_t)json_integer_value(v));
        return true;
    }
    snprintf(err, errlen, "%s: %s, expected a string%s", path, kind_name(v),
             allow_int ? " or an integer" : "");
    return false;
}

/* The record's fields after id, in order, each from one path of the raw user; address is built
 * from several. */
static const struct {
    const char *field;
    const char *path; /* NULL: address */
    bool allow_int;
} flat_fields[] = {
    {"first_name", "name.first", false},
    {"last_name", "name.last", false},
    {"gender", "gender", false},
    {"address", NULL, false},
    {"post_code", "location.postcode", true},
    {"email", "email", false},
    {"username", "login.username", false},
    {"dob", "dob.date", false},
    {"registered_date", "registered.date", false},
    {"phone", "phone", false},
    {"picture", "picture.medium", false},
};

/* Collects the 11 texts after id into b, field i at off[i], len[i]. */
static bool collect(const json_t *raw, sl_buf *b, size_t *off, size_t *len, char *err,
                    size_t errlen)
{
    if (!json_is_object(raw)) {
        snprintf(err, errlen, "user: %s, expected an object", kind_name(raw));
        return false;
    }
    sl_buf_reset(b);
    for (size_t i = 0; i < SL_ARRAY_LEN(flat_fields); i++) {
        off[i] = b->len;
        bool ok;
        if (flat_fields[i].path) {
            ok = append_text(b, raw, flat_fields[i].path, flat_fields[i].allow_int, err, errlen);
        } else {
            ok = append_text(b, raw, "location.street.number", true, err, errlen);
            sl_buf_append_str(b, " ");
            ok = ok && append_text(b, raw, "location.street.name", false, err, errlen);
            sl_buf_append_str(b, ", ");
            ok = ok && append_text(b, raw, "location.city", false, err, errlen);
            sl_buf_append_str(b, ", ");
            ok = ok && append_text(b, raw, "location.state", false, err, errlen);
            sl_buf_append_str(b, ", ");
            ok = ok && append_text(b, raw, "location.country", false, err, errlen);
        }
        if (!ok) return false;
        len[i] = b->len - off[i];
    }
    return true;
}

/* Scratch space for collect, kept per thread so that encoding a record allocates nothing. */
static _Thread_local sl_buf scratch;

json_t *sl_user_flatten(const json_t *raw, const char *id, char *err, size_t errlen)
{
    size_t off[SL_ARRAY_LEN(flat_fields)], len[SL_ARRAY_LEN(flat_fields)];
    if (!collect(raw, &scratch, off, len, err, errlen)) return NULL;
    json_t *rec = json_object();
    json_object_set_new(rec, "id", json_string(id));
    for (size_t i = 0; i < SL_ARRAY_LEN(flat_fields); i++)
        json_object_set_new(rec, flat_fields[i].field,
                            json_stringn((const char *)scratch.ptr + off[i], len[i]));
    return rec;
}

/* Appends s as a JSON string, escaped as jansson escapes (so both encoders agree byte for byte):
 * the quote, the backslash, short forms for \b \f \n \r \t, \u00XX for other controls, and
 * UTF-8 passed through (it was validated when the response was parsed). */
static void json_str(sl_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    sl_buf_reserve(out, n + 2);
    sl_buf_append(out, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sl_buf_append(out, s + run, i - run);
        run = i + 1;
        char e[6] = {'\\', 0};
        size_t el = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            el = 6;
        }
        sl_buf_append(out, e, el);
    }
    sl_buf_append(out, s + run, n - run);
    sl_buf_append(out, "\"", 1);
}

int sl_user_encode(const json_t *raw, const char *id, sl_buf *out, char *err, size_t errlen)
{
    size_t off[SL_ARRAY_LEN(flat_fields)], len[SL_ARRAY_LEN(flat_fields)];
    if (!collect(raw, &scratch, off, len, err, errlen)) return SL_ERR_PARSE;
    sl_buf_append_str(out, "{\"id\":");
    json_str(out, id, strlen(id));
    for (size_t i = 0; i < SL_ARRAY_LEN(flat_fields); i++) {
        sl_buf_append(out, ",\"", 2);
        sl_buf_append_str(out, flat_fields[i].field);
        sl_buf_append(out, "\":", 2);
        json_str(out, (const char *)scratch.ptr + off[i], len[i]);
    }
    sl_buf_append(out, "}", 1);
    return 0;
}
