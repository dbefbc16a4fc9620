/* avro.c: Confluent wire-format records with libavro: registration and encoding for ingest,
 * decoding by schema id (fetched from the registry once, then cached) into JSON for process. */
#include "pipeline/avro.h"

#include "core/codec.h"
#include "core/log.h"
#include "core/sl.h"
#include "web/http.h"

#include <avro.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG "avro"
#define CT  "application/vnd.schemaregistry.v1+json"
/* An id the registry answered 404 for is asked again after this long (it may be registered
 * meanwhile; a flood of records with a bad id costs one request per interval). */
#define UNKNOWN_RETRY_MS 5000
/* Nesting of a decoded value beyond this is a decode error (recursive schemas, hostile data). */
#define MAX_DEPTH 64

const char sl_avro_user_schema[] =
    "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"io.sluice\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"first_name\",\"type\":\"string\"},"
    "{\"name\":\"last_name\",\"type\":\"string\"},{\"name\":\"gender\",\"type\":\"string\"},"
    "{\"name\":\"address\",\"type\":\"string\"},{\"name\":\"post_code\",\"type\":\"string\"},"
    "{\"name\":\"email\",\"type\":\"string\"},{\"name\":\"username\",\"type\":\"string\"},"
    "{\"name\":\"dob\",\"type\":\"string\"},{\"name\":\"registered_date\",\"type\":\"string\"},"
    "{\"name\":\"phone\",\"type\":\"string\"},{\"name\":\"picture\",\"type\":\"string\"}]}";

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sl_buf_append((sl_buf *)arg, p, size * n);
    return size * n;
}

/* One request to the registry. Returns 0 with *status and body set, or <0 when no answer came
 * (err says why). */
static int http_call(const char *url, const char *post, int64_t timeout_ms, long *status,
                     sl_buf *body, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot create an HTTP client");
        return -EIO;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: " CT);
    if (post) h = curl_slist_append(h, "Content-Type: " CT);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (post) curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -EIO;
}

/* base without trailing slashes + path. */
static char *url_of(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    size_t len = n + strlen(path) + 1;
    char *u = sl_malloc(len);
    snprintf(u, len, "%.*s%s", (int)n, base, path);
    return u;
}

/* The registry's {"error_code":N,"message":"..."}, or the body's start. */
static void registry_error(const sl_buf *body, long status, char *err, size_t errlen)
{
    json_t *j = json_loadb(body->ptr ? (const char *)body->ptr : "", body->len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m)
        snprintf(err, errlen, "registry answered %ld (%" JSON_INTEGER_FORMAT "): %s", status,
                 json_integer_value(json_object_get(j, "error_code")), m);
    else
        snprintf(err, errlen, "registry answered HTTP %ld: %.*s", status,
                 (int)SL_MIN(body->len, 120), body->ptr ? (const char *)body->ptr : "");
    json_decref(j);
}

/* ---- encoding ---- */

struct sl_avro_enc {
    int32_t id;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    avro_writer_t writer;
};

int sl_avro_enc_open(const char *registry, const char *subject, const char *schema,
                     int64_t timeout_ms, sl_avro_enc **out, char *err, size_t errlen)
{
    *out = NULL;
    avro_schema_t s = NULL;
    if (avro_schema_from_json_length(schema, strlen(schema), &s)) {
        snprintf(err, errlen, "invalid Avro schema: %s", avro_strerror());
        return SL_ERR_PARSE;
    }
    if (!is_avro_record(s)) {
        avro_schema_decref(s);
        snprintf(err, errlen, "the Avro schema must be a record");
        return SL_ERR_PARSE;
    }
    char *esc = curl_easy_escape(NULL, subject, 0);
    char path[512];
    snprintf(path, sizeof path, "/subjects/%s/versions", esc ? esc : subject);
    curl_free(esc);
    char *url = url_of(registry, path);
    json_t *req = json_pack("{ss}", "schema", schema);
    char *post = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    sl_buf body;
    sl_buf_init(&body);
    long status = 0;
    char why[256];
    int rc = http_call(url, post, timeout_ms, &status, &body, why, sizeof why);
    int32_t id = 0;
    if (rc < 0) {
        snprintf(err, errlen, "registry %s: %s", url, why);
    } else if (status != 200) {
        registry_error(&body, status, why, sizeof why);
        snprintf(err, errlen, "registering the schema under %s at %s: %s", subject, registry, why);
        rc = -EIO;
    } else {
        json_t *j = json_loadb(body.ptr ? (const char *)body.ptr : "", body.len, 0, NULL);
        json_int_t v = json_integer_value(json_object_get(j, "id"));
        json_decref(j);
        if (v <= 0 || v > INT32_MAX) {
            snprintf(err, errlen, "registry %s: no id in its answer", url);
            rc = -EIO;
        }
        id = (int32_t)v;
    }
    sl_buf_free(&body);
    free(post);
    free(url);
    if (rc < 0) {
        avro_schema_decref(s);
        return rc;
    }
    sl_avro_enc *e = sl_calloc(1, sizeof *e);
    e->id = id;
    e->schema = s;
    e->iface = avro_generic_class_from_schema(s);
    avro_generic_value_new(e->iface, &e->value);
    e->writer = avro_writer_memory(NULL, 0);
    *out = e;
    return 0;
}

int32_t sl_avro_enc_id(const sl_avro_enc *e)
{
    return e->id;
}

static int set_value(avro_value_t *v, avro_schema_t s, const json_t *j, const char *field,
                     char *err, size_t errlen)
{
    switch (avro_typeof(s)) {
    case AVRO_STRING:
        if (json_is_string(j)) return avro_value_set_string(v, json_string_value(j));
        break;
    case AVRO_INT32:
        if (json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
            json_integer_value(j) <= INT32_MAX)
            return avro_value_set_int(v, (int32_t)json_integer_value(j));
        break;
    case AVRO_INT64:
        if (json_is_integer(j)) return avro_value_set_long(v, json_integer_value(j));
        break;
    case AVRO_FLOAT:
        if (json_is_number(j)) return avro_value_set_float(v, (float)json_number_value(j));
        break;
    case AVRO_DOUBLE:
        if (json_is_number(j)) return avro_value_set_double(v, json_number_value(j));
        break;
    case AVRO_BOOLEAN:
        if (json_is_boolean(j)) return avro_value_set_boolean(v, json_is_true(j));
        break;
    case AVRO_NULL:
        if (!j || json_is_null(j)) return avro_value_set_null(v);
        break;
    case AVRO_UNION: {
        bool null = !j || json_is_null(j);
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            avro_schema_t b = avro_schema_union_branch(s, (int)i);
            if ((avro_typeof(b) == AVRO_NULL) != null) continue;
            avro_value_t branch;
            if (avro_value_set_branch(v, (int)i, &branch)) break;
            return set_value(&branch, b, j, field, err, errlen);
        }
        break;
    }
    default:
        snprintf(err, errlen, "field %s: its Avro type is not one the encoder writes", field);
        return SL_ERR_UNSUPPORTED;
    }
    snprintf(err, errlen, "field %s: %s does not fit its Avro type %s", field,
             !j                  ? "missing"
             : json_is_string(j) ? "a string"
                                 : "a value",
             avro_schema_type_name(s));
    return SL_ERR_PARSE;
}

int sl_avro_enc_write(sl_avro_enc *e, const json_t *obj, sl_buf *out, char *err, size_t errlen)
{
    avro_value_reset(&e->value);
    size_t n = avro_schema_record_size(e->schema);
    for (size_t i = 0; i < n; i++) {
        avro_value_t f;
        const char *name = NULL;
        avro_value_get_by_index(&e->value, i, &f, &name);
        int rc = set_value(&f, avro_schema_record_field_get_by_index(e->schema, (int)i),
                           json_object_get(obj, name), name, err, errlen);
        if (rc) return rc < 0 ? rc : SL_ERR_PARSE;
    }
    size_t size = 0;
    avro_value_sizeof(&e->value, &size);
    size_t at = out->len;
    sl_buf_reserve(out, 5 + size);
    uint8_t hdr[5] = {0, (uint8_t)(e->id >> 24), (uint8_t)(e->id >> 16), (uint8_t)(e->id >> 8),
                      (uint8_t)e->id};
    sl_buf_append(out, hdr, 5);
    avro_writer_memory_set_dest(e->writer, (const char *)out->ptr + out->len, (int64_t)size);
    if (avro_value_write(e->writer, &e->value)) {
        out->len = at;
        snprintf(err, errlen, "Avro encoding failed: %s", avro_strerror());
        return SL_ERR_PARSE;
    }
    out->len += size;
    return 0;
}

void sl_avro_enc_free(sl_avro_enc *e)
{
    if (!e) return;
    avro_value_decref(&e->value);
    avro_value_iface_decref(e->iface);
    avro_schema_decref(e->schema);
    avro_writer_free(e->writer);
    free(e);
}

/* ---- decoding ---- */

typedef enum { ID_OK, ID_UNKNOWN, ID_UNSUPPORTED } id_state;

typedef struct id_entry {
    int32_t id;
    id_state state;
    int64_t retry_at; /* ID_UNKNOWN: when to ask again */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    char why[160]; /* ID_UNSUPPORTED */
} id_entry;

struct sl_avro_dec {
    char *registry;
    int64_t timeout_ms, retry_ms;
    id_entry *ids;
    size_t n, cap;
    avro_reader_t reader;
};

sl_avro_dec *sl_avro_dec_new(const char *registry, int64_t timeout_ms, int64_t retry_ms)
{
    sl_avro_dec *d = sl_calloc(1, sizeof *d);
    d->registry = sl_strdup(registry);
    d->timeout_ms = timeout_ms;
    d->retry_ms = retry_ms;
    d->reader = avro_reader_memory("", 0);
    return d;
}

size_t sl_avro_dec_cached(const sl_avro_dec *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        k += d->ids[i].state == ID_OK;
    return k;
}

static id_entry *find_id(sl_avro_dec *d, int32_t id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->ids[i].id == id) return &d->ids[i];
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->ids = sl_realloc(d->ids, d->cap * sizeof *d->ids);
    }
    id_entry *e = &d->ids[d->n++];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->state = ID_UNKNOWN;
    return e;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Fills e from the registry. Returns 0 when the registry answered (e's state says what), <0
 * when it could not be reached within retry_ms (detail says why). */
static int fetch(sl_avro_dec *d, id_entry *e, char *detail, size_t dlen)
{
    char path[64];
    snprintf(path, sizeof path, "/schemas/ids/%" PRId32, e->id);
    char *url = url_of(d->registry, path);
    int64_t deadline = sl_mono_ms() + d->retry_ms, backoff = 100;
    sl_buf body;
    sl_buf_init(&body);
    int rc;
    for (;;) {
        long status = 0;
        char why[256];
        body.len = 0;
        rc = http_call(url, NULL, d->timeout_ms, &status, &body, why, sizeof why);
        if (rc == 0 && status == 200) {
            json_t *j = json_loadb(body.ptr ? (const char *)body.ptr : "", body.len, 0, NULL);
            const char *type = json_string_value(json_object_get(j, "schemaType"));
            json_t *text = json_object_get(j, "schema");
            avro_schema_t s = NULL;
            e->state = ID_UNSUPPORTED;
            if (type && strcmp(type, "AVRO"))
                snprintf(e->why, sizeof e->why, "schema id %" PRId32 " is of type %s", e->id, type);
            else if (!json_is_string(text) ||
                     avro_schema_from_json_length(json_string_value(text), json_string_length(text),
                                                  &s))
                snprintf(e->why, sizeof e->why, "schema id %" PRId32 ": %s", e->id,
                         json_is_string(text) ? avro_strerror() : "no schema in the answer");
            else {
                e->state = ID_OK;
                e->schema = s;
                e->iface = avro_generic_class_from_schema(s);
                avro_generic_value_new(e->iface, &e->value);
                SL_INFO(LOG, "schema id %" PRId32 " fetched from %s", e->id, d->registry);
            }
            json_decref(j);
            break;
        }
        if (rc == 0 && status == 404) {
            e->state = ID_UNKNOWN;
            e->retry_at = sl_mono_ms() + UNKNOWN_RETRY_MS;
            break;
        }
        if (rc == 0) registry_error(&body, status, why, sizeof why);
        if (sl_mono_ms() + backoff > deadline) {
            snprintf(detail, dlen, "schema id %" PRId32 ": %s", e->id, why);
            rc = -EIO;
            break;
        }
        SL_WARN(LOG, "fetching schema id %" PRId32 " from %s: %s; retry in %" PRId64 " ms", e->id,
                d->registry, why, backoff);
        sleep_ms(backoff);
        backoff = SL_MIN(backoff * 2, 2000);
    }
    sl_buf_free(&body);
    free(url);
    return rc;
}

/* Walks the binary encoding of one value of schema s, checking every length and count against the
 * bytes left, before libavro reads it: libavro allocates a string or bytes value by the length it
 * claims and leaks that buffer when the data is cut short, so a hostile record would leak up to
 * its claimed size each time. *budget bounds the items walked (arrays of nulls take no bytes). */
static int check_binary(avro_schema_t s, sl_rd *rd, int depth, size_t *budget)
{
    if (depth > MAX_DEPTH || (*budget)-- == 0) return SL_ERR_PARSE;
    int64_t n;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN: return sl_rd_skip(rd, 1);
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM: return sl_rd_varint(rd, &n);
    case AVRO_FLOAT: return sl_rd_skip(rd, 4);
    case AVRO_DOUBLE: return sl_rd_skip(rd, 8);
    case AVRO_FIXED: return sl_rd_skip(rd, (size_t)avro_schema_fixed_size(s));
    case AVRO_STRING:
    case AVRO_BYTES:
        if (sl_rd_varint(rd, &n) || n < 0 || (uint64_t)n > sl_rd_left(rd)) return SL_ERR_PARSE;
        return sl_rd_skip(rd, (size_t)n);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (check_binary(avro_schema_record_field_get_by_index(s, (int)i), rd, depth + 1,
                             budget))
                return SL_ERR_PARSE;
        return 0;
    case AVRO_UNION:
        if (sl_rd_varint(rd, &n) || n < 0 || (uint64_t)n >= avro_schema_union_size(s))
            return SL_ERR_PARSE;
        return check_binary(avro_schema_union_branch(s, (int)n), rd, depth + 1, budget);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        bool map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        for (;;) {
            if (sl_rd_varint(rd, &n)) return SL_ERR_PARSE;
            if (n == 0) return 0;
            if (n < 0) { /* a negative count is followed by the block's size in bytes */
                int64_t size;
                if (n == INT64_MIN || sl_rd_varint(rd, &size) || size < 0) return SL_ERR_PARSE;
                n = -n;
            }
            if ((uint64_t)n > *budget) return SL_ERR_PARSE;
            for (int64_t i = 0; i < n; i++) {
                if (map) {
                    int64_t klen;
                    if (sl_rd_varint(rd, &klen) || klen < 0 || (uint64_t)klen > sl_rd_left(rd) ||
                        sl_rd_skip(rd, (size_t)klen))
                        return SL_ERR_PARSE;
                }
                if (check_binary(item, rd, depth + 1, budget)) return SL_ERR_PARSE;
            }
        }
    }
    case AVRO_LINK: return check_binary(avro_schema_link_target(s), rd, depth + 1, budget);
    default: return SL_ERR_PARSE;
    }
}

static int to_json(avro_value_t *v, sl_buf *b, int depth)
{
    if (depth > MAX_DEPTH) return SL_ERR_PARSE;
    const char *s;
    const void *p;
    size_t n;
    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        if (avro_value_get_string(v, &s, &n)) return SL_ERR_PARSE;
        sl_http_json_str(b, s, n ? n - 1 : 0); /* n counts the NUL */
        return 0;
    case AVRO_BYTES:
        if (avro_value_get_bytes(v, &p, &n)) return SL_ERR_PARSE;
        sl_http_json_str(b, p, n);
        return 0;
    case AVRO_FIXED:
        if (avro_value_get_fixed(v, &p, &n)) return SL_ERR_PARSE;
        sl_http_json_str(b, p, n);
        return 0;
    case AVRO_INT32: {
        int32_t x;
        if (avro_value_get_int(v, &x)) return SL_ERR_PARSE;
        sl_buf_printf(b, "%" PRId32, x);
        return 0;
    }
    case AVRO_INT64: {
        int64_t x;
        if (avro_value_get_long(v, &x)) return SL_ERR_PARSE;
        sl_buf_printf(b, "%" PRId64, x);
        return 0;
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double x;
        if (avro_value_get_type(v) == AVRO_FLOAT) {
            float f;
            if (avro_value_get_float(v, &f)) return SL_ERR_PARSE;
            x = f;
        } else if (avro_value_get_double(v, &x)) {
            return SL_ERR_PARSE;
        }
        if (isfinite(x))
            sl_buf_printf(b, "%.17g", x);
        else
            sl_buf_append_str(b, "null");
        return 0;
    }
    case AVRO_BOOLEAN: {
        int x;
        if (avro_value_get_boolean(v, &x)) return SL_ERR_PARSE;
        sl_buf_append_str(b, x ? "true" : "false");
        return 0;
    }
    case AVRO_NULL: sl_buf_append_str(b, "null"); return 0;
    case AVRO_ENUM: {
        int x;
        if (avro_value_get_enum(v, &x)) return SL_ERR_PARSE;
        const char *sym = avro_schema_enum_get(avro_value_get_schema(v), x);
        if (!sym) return SL_ERR_PARSE;
        sl_http_json_str(b, sym, strlen(sym));
        return 0;
    }
    case AVRO_RECORD:
    case AVRO_MAP:
    case AVRO_ARRAY: {
        avro_type_t t = avro_value_get_type(v);
        sl_buf_append_str(b, t == AVRO_ARRAY ? "[" : "{");
        if (avro_value_get_size(v, &n)) return SL_ERR_PARSE;
        for (size_t i = 0; i < n; i++) {
            avro_value_t e;
            const char *name = NULL;
            if (avro_value_get_by_index(v, i, &e, &name)) return SL_ERR_PARSE;
            if (i) sl_buf_append_str(b, ",");
            if (t != AVRO_ARRAY) {
                sl_http_json_str(b, name, strlen(name));
                sl_buf_append_str(b, ":");
            }
            int rc = to_json(&e, b, depth + 1);
            if (rc) return rc;
        }
        sl_buf_append_str(b, t == AVRO_ARRAY ? "]" : "}");
        return 0;
    }
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_get_current_branch(v, &br)) return SL_ERR_PARSE;
        return to_json(&br, b, depth + 1);
    }
    default: return SL_ERR_PARSE;
    }
}

sl_rec_error sl_avro_dec_json(sl_avro_dec *d, const void *value, size_t len, sl_buf *out,
                              char *detail, size_t detaillen)
{
    const uint8_t *p = value;
    if (len < 5 || p[0] != 0) {
        snprintf(detail, detaillen, "%s",
                 len < 5 ? "shorter than the 5-byte header"
                         : "the first byte is not the magic byte 0");
        return SL_REC_NOT_AVRO;
    }
    int32_t id = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
                           (uint32_t)p[4]);
    id_entry *e = find_id(d, id);
    if (e->state == ID_UNKNOWN && sl_mono_ms() >= e->retry_at) {
        if (fetch(d, e, detail, detaillen) < 0) {

            return SL_REC_REGISTRY_UNAVAILABLE;
        }
    }
    if (e->state == ID_UNKNOWN) {
        snprintf(detail, detaillen, "schema id %" PRId32 " is not in the registry", id);
        return SL_REC_UNKNOWN_SCHEMA_ID;
    }
    if (e->state == ID_UNSUPPORTED) {
        snprintf(detail, detaillen, "%s", e->why);
        return SL_REC_UNSUPPORTED_SCHEMA;
    }
    sl_rd rd;
    sl_rd_init(&rd, p + 5, len - 5);
    size_t budget = 8 * len + 1024;
    int bad = check_binary(e->schema, &rd, 0, &budget);
    if (bad || sl_rd_left(&rd)) {
        snprintf(detail, detaillen, "schema id %" PRId32 ": %s", id,
                 bad ? "a length, count or union branch does not fit the record's bytes"
                     : "bytes left after the record");
        return SL_REC_AVRO_DECODE;
    }
    avro_value_reset(&e->value);
    avro_reader_memory_set_source(d->reader, (const char *)p + 5, (int64_t)(len - 5));
    size_t at = out->len;
    if (avro_value_read(d->reader, &e->value)) {
        snprintf(detail, detaillen, "schema id %" PRId32 ": %s", id, avro_strerror());
        return SL_REC_AVRO_DECODE;
    }
    if (to_json(&e->value, out, 0)) {
        out->len = at;
        snprintf(detail, detaillen, "schema id %" PRId32 ": nested deeper than %d", id, MAX_DEPTH);
        return SL_REC_AVRO_DECODE;
    }
    return SL_REC_OK;
}

void sl_avro_dec_free(sl_avro_dec *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++)
        if (d->ids[i].state == ID_OK) {
            avro_value_decref(&d->ids[i].value);
            avro_value_iface_decref(d->ids[i].iface);
            avro_schema_decref(d->ids[i].schema);
        }
    free(d->ids);
    avro_reader_free(d->reader);
    free(d->registry);
    free(d);
}
