/* kafka_topics.c: the Topics page's answers: the topic list, one topic's partitions and configs,
 * and producing a message. */
#include "console/kafka_int.h"

#include "web/http.h"

#include <inttypes.h>
#include <jansson.h>

/* Topics whose names start with '_' are the cluster's own (__groups-style, _schemas). */
static bool is_internal(const char *name)
{
    return name[0] == '_';
}

/* Appends ,"size_bytes":N (null when any partition's size is unknown). */
static void topic_size(const sl_ck_sizes *z, bool known, const sl_ck_topic *t, sl_buf *b)
{
    int64_t sum = 0;
    for (int p = 0; p < t->nparts && known; p++) {
        int64_t n = sl_ck_size_of(z, t->name, t->parts[p].id);
        if (n < 0) known = false;
        sum += n;
    }
    if (known)
        sl_buf_printf(b, ",\"size_bytes\":%" PRId64, sum);
    else
        sl_buf_append_str(b, ",\"size_bytes\":null");
}

static int64_t topic_messages(const sl_ck_topic *t, int64_t *start, int64_t *end)
{
    int64_t n = 0;
    *start = *end = 0;
    for (int p = 0; p < t->nparts; p++) {
        if (t->parts[p].low < 0 || t->parts[p].high < 0) continue;
        *start += t->parts[p].low;
        *end += t->parts[p].high;
        n += t->parts[p].high - t->parts[p].low;
    }
    return n;
}

void sl_console_kafka_topics(sl_kview *k, sl_ck_answer *a)
{
    char err[256];
    sl_ck_snapshot s;
    if (sl_ck_snapshot_take(k, NULL, &s, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        return;
    }
    sl_ck_sizes z;
    bool sized = sl_ck_sizes_take(k, &z) == 0;
    sl_buf *b = &a->body;
    sl_buf_printf(b, "{\"sample_ms\":%" PRId64 ",\"topics\":[", k->sample_ms);
    for (size_t i = 0; i < s.ntopics; i++) {
        const sl_ck_topic *t = &s.topics[i];
        int64_t start, end, n = topic_messages(t, &start, &end);
        double in, out;
        sl_ck_history_rates(k->hist, t->name, &in, &out);
        sl_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
        sl_http_json_str(b, t->name, strlen(t->name));
        sl_buf_printf(b,
                      ",\"partitions\":%d,\"messages\":%" PRId64 ",\"start\":%" PRId64
                      ",\"end\":%" PRId64 ",\"in_rate\":%.3f,\"out_rate\":%.3f,\"internal\":%s",
                      t->nparts, n, start, end, in, out, is_internal(t->name) ? "true" : "false");
        topic_size(&z, sized, t, b);
        if (t->err) {
            const char *e = rd_kafka_err2str(t->err);
            sl_buf_append_str(b, ",\"error\":");
            sl_http_json_str(b, e, strlen(e));
        }
        sl_buf_append_str(b, "}");
    }
    sl_buf_append_str(b, "],\"history\":");
    sl_ck_history_total_json(k->hist, b);
    sl_buf_append_str(b, "}");
    a->status = 200;
    sl_ck_sizes_free(&z);
    sl_ck_snapshot_free(&s);
}

/* Appends "configs":[...] from DescribeConfigs; on failure "configs_error" instead, so the
 * partitions still show. */
static void topic_configs(sl_kview *k, const char *topic, sl_buf *b)
{
    char err[256];
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->admin);
    rd_kafka_AdminOptions_t *o = sl_ck_admin_opts(k, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(k->admin, &res, 1, o, q);
    rd_kafka_event_t *ev = sl_ck_admin_wait(k, q, err, sizeof err);
    bool done = false;
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1 && rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            size_t ne;
            const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(rs[0], &ne);
            sl_buf_append_str(b, ",\"configs\":[");
            for (size_t i = 0; i < ne; i++) {
                const char *name = rd_kafka_ConfigEntry_name(ents[i]);
                const char *v = rd_kafka_ConfigEntry_value(ents[i]);
                bool sensitive = rd_kafka_ConfigEntry_is_sensitive(ents[i]);
                sl_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
                sl_http_json_str(b, name, strlen(name));
                sl_buf_append_str(b, ",\"value\":");
                if (v && !sensitive)
                    sl_http_json_str(b, v, strlen(v));
                else
                    sl_buf_append_str(b, "null");
                sl_buf_printf(b, ",\"default\":%s,\"read_only\":%s,\"sensitive\":%s}",
                              rd_kafka_ConfigEntry_is_default(ents[i]) ? "true" : "false",
                              rd_kafka_ConfigEntry_is_read_only(ents[i]) ? "true" : "false",
                              sensitive ? "true" : "false");
            }
            sl_buf_append_str(b, "]");
            done = true;
        } else if (n == 1) {
            snprintf(err, sizeof err, "%s", rd_kafka_ConfigResource_error_string(rs[0]));
        }
        rd_kafka_event_destroy(ev);
    }
    if (!done) {
        sl_buf_append_str(b, ",\"configs\":[],\"configs_error\":");
        sl_http_json_str(b, err, strlen(err));
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
}

void sl_console_kafka_topic(sl_kview *k, const char *topic, sl_ck_answer *a)
{
    sl_ck_snapshot s;
    const sl_ck_topic *t = sl_ck_snapshot_topic(k, topic, &s, a);
    if (!t) return;
    sl_ck_sizes z;
    bool sized = sl_ck_sizes_take(k, &z) == 0;
    sl_buf *b = &a->body;
    int64_t start, end, n = topic_messages(t, &start, &end);
    double in, out;
    sl_ck_history_rates(k->hist, topic, &in, &out);
    sl_buf_append_str(b, "{\"name\":");
    sl_http_json_str(b, t->name, strlen(t->name));
    sl_buf_printf(b,
                  ",\"messages\":%" PRId64 ",\"in_rate\":%.3f,\"out_rate\":%.3f,"
                  "\"internal\":%s",
                  n, in, out, is_internal(t->name) ? "true" : "false");
    topic_size(&z, sized, t, b);
    sl_buf_append_str(b, ",\"partitions\":[");
    for (int p = 0; p < t->nparts; p++) {
        const sl_ck_part *pp = &t->parts[p];
        sl_buf_printf(b,
                      "%s{\"partition\":%" PRId32 ",\"leader\":%" PRId32 ",\"start\":%" PRId64
                      ",\"end\":%" PRId64 ",\"messages\":%" PRId64,
                      p ? "," : "", pp->id, pp->leader, pp->low, pp->high,
                      pp->low >= 0 && pp->high >= 0 ? pp->high - pp->low : 0);
        int64_t bytes = sized ? sl_ck_size_of(&z, topic, pp->id) : -1;
        if (bytes >= 0)
            sl_buf_printf(b, ",\"size_bytes\":%" PRId64 "}", bytes);
        else
            sl_buf_append_str(b, ",\"size_bytes\":null}");
    }
    sl_buf_append_str(b, "]");
    topic_configs(k, topic, b);
    sl_buf_append_str(b, ",\"groups\":");
    sl_ck_history_topic_groups_json(k->hist, topic, b);
    sl_buf_append_str(b, ",\"history\":");
    sl_ck_history_topic_json(k->hist, topic, b);
    sl_buf_append_str(b, "}");
    a->status = 200;
    sl_ck_sizes_free(&z);
    sl_ck_snapshot_free(&s);
}

/* The parsed body of a produce. */
typedef struct produce_req {
    const char *key, *value; /* NULL: a null key or value */
    size_t key_len, value_len;
    int32_t partition; /* RD_KAFKA_PARTITION_UA: chosen by the key */
    rd_kafka_headers_t *headers;
} produce_req;

static int produce_parse(json_t *j, produce_req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->partition = RD_KAFKA_PARTITION_UA;
    if (!json_is_object(j)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    const char *name;
    json_t *v;
    json_object_foreach(j, name, v)
    {
        if (!strcmp(name, "value") || !strcmp(name, "key")) {
            if (!json_is_string(v) && !json_is_null(v)) {
                snprintf(err, errlen, "\"%s\" must be a string or null", name);
                return -1;
            }
            const char **p = name[0] == 'v' ? &r->value : &r->key;
            size_t *n = name[0] == 'v' ? &r->value_len : &r->key_len;
            *p = json_is_string(v) ? json_string_value(v) : NULL;
            *n = json_is_string(v) ? json_string_length(v) : 0;
        } else if (!strcmp(name, "partition")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > INT32_MAX) {
                snprintf(err, errlen, "\"partition\" must be a partition number");
                return -1;
            }
            r->partition = (int32_t)json_integer_value(v);
        } else if (!strcmp(name, "headers")) {
            if (!json_is_object(v)) {
                snprintf(err, errlen, "\"headers\" must be an object of strings");
                return -1;
            }
            const char *hk;
            json_t *hv;
            r->headers = rd_kafka_headers_new(json_object_size(v));
            json_object_foreach(v, hk, hv)
            {
                if (!json_is_string(hv)) {
                    snprintf(err, errlen, "header \"%s\" must be a string", hk);
                    return -1;
                }
                rd_kafka_header_add(r->headers, hk, -1, json_string_value(hv),
                                    (ssize_t)json_string_length(hv));
            }
        } else {
            snprintf(err, errlen, "unknown field \"%s\" (value, key, partition, headers)", name);
            return -1;
        }
    }
    if (!json_object_get(j, "value")) {
        snprintf(err, errlen, "\"value\" is required (null for a tombstone)");
        return -1;
    }
    return 0;
}

void sl_console_kafka_produce(sl_kview *k, const char *topic, sl_slice body, sl_ck_answer *a)
{
    char err[256];
    json_error_t jerr;
    produce_req r = {0};
    json_t *j = json_loadb((const char *)body.ptr, body.len, 0, &jerr);
    if (!j) {
        sl_ck_error(a, 400, "bad JSON: %s", jerr.text);
        return;
    }
    if (produce_parse(j, &r, err, sizeof err)) {
        sl_ck_error(a, 400, "%s", err);
        goto out;
    }
    /* Checked first: producing to a missing topic could create it through auto-creation. */
    sl_ck_snapshot s;
    const sl_ck_topic *t = sl_ck_snapshot_topic(k, topic, &s, a);
    if (!t) goto out;
    int nparts = t->nparts;
    sl_ck_snapshot_free(&s);
    if (r.partition != RD_KAFKA_PARTITION_UA && r.partition >= nparts) {
        sl_ck_error(a, 400, "topic '%s' has no partition %" PRId32 " (it has %d)", topic,
                    r.partition, nparts);
        goto out;
    }
    /* The report lands in d during a flush, which only ever runs under produce_mu; a report
     * that misses the deadline finds d abandoned and frees it in a later producer's flush. */
    sl_ck_delivery *d = sl_calloc(1, sizeof *d);
    if (!r.headers) r.headers = rd_kafka_headers_new(0);
    pthread_mutex_lock(&k->produce_mu);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->admin, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(r.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)r.value, r.value_len),
        RD_KAFKA_V_KEY(r.key, r.key_len), RD_KAFKA_V_HEADERS(r.headers), RD_KAFKA_V_OPAQUE(d),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        r.headers = NULL; /* owned by the message now */
        rd_kafka_flush(k->admin, k->timeout_ms * 2);
    }
    sl_ck_delivery res = *d;
    if (e)
        sl_free(d);
    else if (!d->done)
        d->abandoned = true;
    else
        sl_free(d);
    pthread_mutex_unlock(&k->produce_mu);
    if (e) {
        sl_ck_error(a, 502, "produce to %s: %s", topic, rd_kafka_err2str(e));
    } else if (!res.done) {
        sl_ck_error(a, 504, "produce to %s: no acknowledgement within %d ms", topic,
                    k->timeout_ms * 2);
    } else if (res.err) {
        sl_ck_error(a, 502, "produce to %s: %s", topic, rd_kafka_err2str(res.err));
    } else {
        sl_buf_append_str(&a->body, "{\"topic\":");
        sl_http_json_str(&a->body, topic, strlen(topic));
        sl_buf_printf(&a->body,
                      ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64
                      "}",
                      res.partition, res.offset, res.timestamp);
        a->status = 200;
    }
out:
    if (r.headers) rd_kafka_headers_destroy(r.headers);
    json_decref(j);
}
