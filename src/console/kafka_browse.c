/* kafka_browse.c: the message browser. A browse reads a bounded range of each chosen partition
 * with the console's consumer (assigned, never joined), renders keys and values (JSON, text,
 * base64, Avro through the registry), filters them by a search string and answers the newest or
 * oldest matches. */
#include "console/kafka_int.h"

#include "web/http.h"

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>

#define SHOW_MAX   (64 * 1024) /* bytes of one key or value shown; the rest is cut */
#define SEARCH_MAX 256         /* bytes of a search string */
#define SCAN_MAX   20000       /* messages read at most by one search */

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!s[0] || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int sl_browse_query_parse(sl_browse_query *q, const char *partition, const char *from,
                          const char *offset, const char *timestamp, const char *limit,
                          const char *search, const char *in, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->partition = -1;
    q->limit = 50;
    q->max_scan = SCAN_MAX;
    int64_t v;
    if (partition && partition[0] && strcmp(partition, "all")) {
        if (parse_i64(partition, 0, INT32_MAX, &v)) {
            snprintf(err, errlen, "partition must be a partition number or \"all\"");
            return SL_ERR_INVAL;
        }
        q->partition = (int32_t)v;
    }
    /* Without from=, an offset or a timestamp picks its own mode. */
    if (!from || !from[0])
        from = offset && offset[0] ? "offset" : timestamp && timestamp[0] ? "timestamp" : "newest";
    static const char *const modes[] = {[SL_BROWSE_NEWEST] = "newest",
                                        [SL_BROWSE_OLDEST] = "oldest",
                                        [SL_BROWSE_OFFSET] = "offset",
                                        [SL_BROWSE_TIMESTAMP] = "timestamp"};
    size_t m = 0;
    while (m < SL_ARRAY_LEN(modes) && strcmp(from, modes[m]))
        m++;
    if (m == SL_ARRAY_LEN(modes)) {
        snprintf(err, errlen, "from must be newest, oldest, offset or timestamp");
        return SL_ERR_INVAL;
    }
    q->from = (sl_browse_from)m;
    if (q->from == SL_BROWSE_OFFSET) {
        if (!offset || parse_i64(offset, 0, INT64_MAX, &q->offset)) {
            snprintf(err, errlen, "offset must be a number >= 0");
            return SL_ERR_INVAL;
        }
    }
    if (q->from == SL_BROWSE_TIMESTAMP) {
        if (!timestamp || parse_i64(timestamp, 0, INT64_MAX, &q->timestamp)) {
            snprintf(err, errlen, "timestamp must be milliseconds since the epoch");
            return SL_ERR_INVAL;
        }
    }
    if (limit && limit[0]) {
        if (parse_i64(limit, 1, SL_BROWSE_MAX_LIMIT, &v)) {
            snprintf(err, errlen, "limit must be 1..%d", SL_BROWSE_MAX_LIMIT);
            return SL_ERR_INVAL;
        }
        q->limit = (int)v;
    }
    if (search && search[0]) {
        if (strlen(search) > SEARCH_MAX) {
            snprintf(err, errlen, "q is longer than %d bytes", SEARCH_MAX);
            return SL_ERR_INVAL;
        }
        q->q = sl_strdup(search);
    }
    if (in && in[0]) {
        if (!strcmp(in, "any"))
            q->field = SL_SEARCH_ANY;
        else if (!strcmp(in, "key"))
            q->field = SL_SEARCH_KEY;
        else if (!strcmp(in, "value"))
            q->field = SL_SEARCH_VALUE;
        else {
            sl_browse_query_free(q);
            snprintf(err, errlen, "in must be any, key or value");
            return SL_ERR_INVAL;
        }
    }
    return 0;
}

void sl_browse_query_free(sl_browse_query *q)
{
    sl_free(q->q);
    q->q = NULL;
}

typedef struct browse {
    sl_kview *k;
} browse;

/* One rendered key or value. */
typedef struct shown {
    sl_value_format fmt;
    int32_t schema_id; /* -1: not the Confluent wire format */
    sl_buf text;
    char *error; /* why a schema-framed payload could not be decoded */
} shown;

static void render(browse *br, const void *ptr, size_t n, shown *s)
{
    const uint8_t *p = ptr;
    memset(s, 0, sizeof *s);
    s->schema_id = -1;
    if (!p) {
        s->fmt = SL_VALUE_NULL;
        return;
    }
    /* Confluent's wire format: magic 0, a 4-byte big-endian schema id, then the payload. */
    if (n >= 5 && p[0] == 0) {
        int32_t id =
            (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
        char detail[256];
        if (!br->k->avro) {
            snprintf(detail, sizeof detail, "no --registry to decode schema id %" PRId32, id);
            s->error = sl_strdup(detail);
        } else {
            sl_rec_error e = sl_avro_dec_json(br->k->avro, p, n, &s->text, detail, sizeof detail);
            json_t *utf8 =
                e == SL_REC_OK ? json_stringn((const char *)s->text.ptr, s->text.len) : NULL;
            if (utf8) {
                json_decref(utf8);
                s->fmt = SL_VALUE_AVRO;
                s->schema_id = id;
                return;
            }
            sl_buf_reset(&s->text);
            if (e == SL_REC_OK) {
                /* Avro bytes and fixed values come out as they are: not always UTF-8. */
                snprintf(detail, sizeof detail, "schema id %" PRId32 ": not UTF-8 text", id);
            } else if (e == SL_REC_UNSUPPORTED_SCHEMA) {
                /* A JSON Schema or Protobuf id: the payload after the header, as it is. */
                s->schema_id = id;
                s->error = sl_strdup(detail);
                s->fmt = sl_ck_render_plain(p + 5, n - 5, &s->text);
                return;
            }
            s->error = sl_strdup(detail);
        }
    }
    s->fmt = sl_ck_render_plain(p, n, &s->text);
}

static void shown_free(shown *s)
{
    sl_buf_free(&s->text);
    sl_free(s->error);
}

typedef struct msg {
    int32_t partition;
    int64_t offset, timestamp;
    size_t size;
    shown key, value;
    sl_buf headers; /* JSON array, ready to append */
} msg;

static void msg_free(msg *m)
{
    shown_free(&m->key);
    shown_free(&m->value);
    sl_buf_free(&m->headers);
}

static int cmp_msg(const void *a, const void *b)
{
    const msg *x = a, *y = b;
    if (x->timestamp != y->timestamp) return x->timestamp < y->timestamp ? -1 : 1;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Keeps the limit newest (or oldest) of the messages collected so far. */
static void trim(msg *ms, size_t *n, size_t limit, bool newest)
{
    if (*n <= limit) return;
    qsort(ms, *n, sizeof *ms, cmp_msg);
    size_t drop = *n - limit;
    if (newest) {
        for (size_t i = 0; i < drop; i++)
            msg_free(&ms[i]);
        memmove(ms, ms + drop, limit * sizeof *ms);
    } else {
        for (size_t i = limit; i < *n; i++)
            msg_free(&ms[i]);
    }
    *n = limit;
}

static void headers_json(const rd_kafka_message_t *m, sl_buf *b)
{
    rd_kafka_headers_t *hdrs = NULL;
    sl_buf_append_str(b, "[");
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t len;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &len); i++) {
            sl_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
            sl_http_json_str(b, name, strlen(name));
            sl_buf_append_str(b, ",\"value\":");
            sl_buf v = SL_BUF_INIT;
            if (val) sl_ck_render_plain(val, len, &v);
            sl_http_json_str(b, (const char *)v.ptr, v.len);
            sl_buf_free(&v);
            sl_buf_append_str(b, "}");
        }
    }
    sl_buf_append_str(b, "]");
}

static bool matches(const sl_browse_query *q, const shown *key, const shown *value)
{
    if (!q->q) return true;
    if (q->field != SL_SEARCH_VALUE &&
        sl_ck_contains((const char *)key->text.ptr, key->text.len, q->q))
        return true;
    return q->field != SL_SEARCH_KEY &&
           sl_ck_contains((const char *)value->text.ptr, value->text.len, q->q);
}

static void shown_json(sl_buf *b, const char *name, shown *s)
{
    sl_buf_printf(b, ",\"%s\":", name);
    if (s->fmt == SL_VALUE_NULL) {
        sl_buf_append_str(b, "null");
    } else {
        size_t n = s->text.len;
        bool cut = n > SHOW_MAX;
        if (cut) {
            n = SHOW_MAX;
            /* Back to a code point boundary (text is UTF-8 or base64). */
            while (n > 0 && (s->text.ptr[n] & 0xC0) == 0x80)
                n--;
        }
        sl_http_json_str(b, (const char *)s->text.ptr, n);
        if (cut) sl_buf_printf(b, ",\"%s_truncated\":true", name);
    }
    sl_buf_printf(b, ",\"%s_format\":\"%s\"", name, sl_value_format_name(s->fmt));
    if (s->schema_id >= 0) sl_buf_printf(b, ",\"%s_schema_id\":%" PRId32, name, s->schema_id);
    if (s->error) {
        sl_buf_printf(b, ",\"%s_error\":", name);
        sl_http_json_str(b, s->error, strlen(s->error));
    }
}

/* The range [start, stop) read from one partition. */
typedef struct range {
    int32_t partition;
    int64_t start, stop, next;
    int matched;
    bool done;
} range;

void sl_console_kafka_browse(sl_kview *k, const char *topic, const sl_browse_query *q,
                             sl_ck_answer *a)
{
    sl_ck_snapshot s;
    const sl_ck_topic *t = sl_ck_snapshot_topic(k, topic, &s, a);
    if (!t) return;
    if (q->partition >= t->nparts) {
        sl_ck_error(a, 400, "topic '%s' has no partition %" PRId32 " (it has %d)", topic,
                    q->partition, t->nparts);
        sl_ck_snapshot_free(&s);
        return;
    }
    range *rs = sl_calloc((size_t)t->nparts + 1, sizeof *rs);
    size_t nr = 0;
    for (int p = 0; p < t->nparts; p++)
        if (q->partition < 0 || t->parts[p].id == q->partition)
            rs[nr++] = (range){t->parts[p].id, t->parts[p].low, t->parts[p].high, 0, 0, false};
    sl_ck_snapshot_free(&s);

    /* Per partition, how far a browse reads: the limit, or a share of the search budget. */
    int64_t span = q->q ? SL_MAX(1, q->max_scan / (int64_t)SL_MAX(nr, 1)) : q->limit;
    rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_new((int)nr + 1);
    if (q->from == SL_BROWSE_TIMESTAMP) {
        for (size_t i = 0; i < nr; i++)
            rd_kafka_topic_partition_list_add(at, topic, rs[i].partition)->offset = q->timestamp;
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(k->admin, at, k->timeout_ms);
        if (e) {
            sl_ck_error(a, 502, "offsets for time %" PRId64 ": %s", q->timestamp,
                        rd_kafka_err2str(e));
            goto out;
        }
    }
    for (size_t i = 0; i < nr; i++) {
        range *r = &rs[i];
        int64_t low = r->start, high = r->stop;
        if (low < 0 || high < 0) {
            r->start = r->stop = 0;
            continue;
        }
        switch (q->from) {
        case SL_BROWSE_NEWEST: r->start = SL_MAX(low, high - span); break;
        case SL_BROWSE_OLDEST: r->start = low; break;
        case SL_BROWSE_OFFSET: r->start = SL_MIN(SL_MAX(q->offset, low), high); break;
        case SL_BROWSE_TIMESTAMP:
            /* -1: nothing at or after the time. */
            r->start = at->elems[i].err || at->elems[i].offset < 0
                           ? high
                           : SL_MIN(SL_MAX(at->elems[i].offset, low), high);
            break;
        }
        if (q->from != SL_BROWSE_NEWEST) r->stop = SL_MIN(high, r->start + span);
        r->next = r->start;
    }
    rd_kafka_topic_partition_list_destroy(at);
    at = rd_kafka_topic_partition_list_new((int)nr + 1);
    size_t open = 0;
    for (size_t i = 0; i < nr; i++) {
        rs[i].done = rs[i].start >= rs[i].stop;
        if (rs[i].done) continue;
        rd_kafka_topic_partition_list_add(at, topic, rs[i].partition)->offset = rs[i].start;
        open++;
    }

    browse br = {.k = k};
    msg *ms = sl_calloc((size_t)q->limit * 2 + 1, sizeof *ms);
    size_t nms = 0;
    int64_t scanned = 0;
    bool complete = true, newest = q->from == SL_BROWSE_NEWEST;
    char read_err[256] = "";
    if (open) {
        pthread_mutex_lock(&k->browse_mu);
        rd_kafka_resp_err_t e = rd_kafka_assign(k->browser, at);
        int64_t deadline = sl_mono_ms() + k->timeout_ms;
        while (!e && open > 0) {
            if (sl_mono_ms() >= deadline) {
                complete = false;
                break;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(k->browser, 50);
            if (!m) continue;
            range *r = NULL;
            for (size_t i = 0; i < nr && !r; i++)
                if (rs[i].partition == m->partition) r = &rs[i];
            if (!r || r->done) {
                rd_kafka_message_destroy(m);
                continue;
            }
            if (m->err) {
                /* EOF or a partition error both end that partition's range. */
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    snprintf(read_err, sizeof read_err, "partition %" PRId32 ": %s", m->partition,
                             rd_kafka_message_errstr(m));
                r->done = true;
                open--;
                rd_kafka_message_destroy(m);
                continue;
            }
            if (m->offset < r->stop) {
                scanned++;
                r->next = m->offset + 1;
                msg cur = {.partition = m->partition, .offset = m->offset};
                cur.timestamp = rd_kafka_message_timestamp(m, NULL);
                cur.size = m->len + m->key_len;
                render(&br, m->key, m->key_len, &cur.key);
                render(&br, m->payload, m->len, &cur.value);
                if (matches(q, &cur.key, &cur.value)) {
                    headers_json(m, &cur.headers);
                    ms[nms++] = cur;
                    r->matched++;
                    if (nms == (size_t)q->limit * 2) trim(ms, &nms, (size_t)q->limit, newest);
                } else {
                    msg_free(&cur);
                }
            }
            if (m->offset + 1 >= r->stop || (!newest && r->matched >= q->limit)) {
                r->done = true;
                open--;
            }
            rd_kafka_message_destroy(m);
        }
        if (e) snprintf(read_err, sizeof read_err, "assign: %s", rd_kafka_err2str(e));
        rd_kafka_assign(k->browser, NULL);
        pthread_mutex_unlock(&k->browse_mu);
    }
    trim(ms, &nms, (size_t)q->limit, newest);
    qsort(ms, nms, sizeof *ms, cmp_msg);

    sl_buf *b = &a->body;
    sl_buf_append_str(b, "{\"topic\":");
    sl_http_json_str(b, topic, strlen(topic));
    sl_buf_printf(b, ",\"scanned\":%" PRId64 ",\"complete\":%s", scanned,
                  complete ? "true" : "false");
    if (read_err[0]) {
        sl_buf_append_str(b, ",\"error\":");
        sl_http_json_str(b, read_err, strlen(read_err));
    }
    sl_buf_append_str(b, ",\"partitions\":[");
    for (size_t i = 0; i < nr; i++)
        sl_buf_printf(b,
                      "%s{\"partition\":%" PRId32 ",\"start\":%" PRId64 ",\"stop\":%" PRId64
                      ",\"next\":%" PRId64 "}",
                      i ? "," : "", rs[i].partition, rs[i].start, rs[i].stop, rs[i].next);
    sl_buf_append_str(b, "],\"messages\":[");
    for (size_t i = 0; i < nms; i++) {
        msg *m = &ms[i];
        sl_buf_printf(b,
                      "%s{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64
                      ",\"size\":%zu",
                      i ? "," : "", m->partition, m->offset, m->timestamp, m->size);
        shown_json(b, "key", &m->key);
        shown_json(b, "value", &m->value);
        sl_buf_append_str(b, ",\"headers\":");
        sl_buf_append(b, m->headers.ptr, m->headers.len);
        sl_buf_append_str(b, "}");
        msg_free(m);
    }
    sl_buf_append_str(b, "]}");
    a->status = 200;
    sl_free(ms);
out:
    rd_kafka_topic_partition_list_destroy(at);
    sl_free(rs);
}
