/* kafka_history.c: a bounded ring of Kafka samples (end offsets, consumed offsets, lag) behind
 * one mutex. The sampler's worker pushes; request workers read. Each sample owns its arrays, so
 * eviction is a free and readers never see a half-written sample. */
#include "console/kafka_int.h"

#include "web/http.h"

#include <inttypes.h>
#include <pthread.h>

struct sl_ck_history {
    pthread_mutex_t mu;
    sl_ck_sample *ring;
    size_t cap, start, len;
};

sl_ck_history *sl_ck_history_new(size_t capacity)
{
    sl_ck_history *h = sl_calloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->cap = capacity ? capacity : 1;
    h->ring = sl_calloc(h->cap, sizeof *h->ring);
    return h;
}

void sl_ck_sample_clear(sl_ck_sample *s)
{
    for (size_t i = 0; i < s->ntopics; i++)
        sl_free(s->topics[i].name);
    for (size_t i = 0; i < s->ngroups; i++) {
        for (size_t j = 0; j < s->groups[i].nparts; j++)
            sl_free(s->groups[i].parts[j].topic);
        sl_free(s->groups[i].parts);
        sl_free(s->groups[i].name);
    }
    sl_free(s->topics);
    sl_free(s->groups);
    memset(s, 0, sizeof *s);
}

void sl_ck_history_free(sl_ck_history *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->len; i++)
        sl_ck_sample_clear(&h->ring[(h->start + i) % h->cap]);
    sl_free(h->ring);
    pthread_mutex_destroy(&h->mu);
    sl_free(h);
}

static int cmp_topic(const void *a, const void *b)
{
    return strcmp(((const sl_ck_sample_topic *)a)->name, ((const sl_ck_sample_topic *)b)->name);
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const sl_ck_sample_group *)a)->name, ((const sl_ck_sample_group *)b)->name);
}

static int cmp_lag(const void *a, const void *b)
{
    const sl_ck_sample_lag *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void sl_ck_history_push(sl_ck_history *h, sl_ck_sample *s)
{
    if (s->ntopics) qsort(s->topics, s->ntopics, sizeof *s->topics, cmp_topic);
    if (s->ngroups) qsort(s->groups, s->ngroups, sizeof *s->groups, cmp_group);
    for (size_t i = 0; i < s->ngroups; i++)
        if (s->groups[i].nparts)
            qsort(s->groups[i].parts, s->groups[i].nparts, sizeof *s->groups[i].parts, cmp_lag);
    pthread_mutex_lock(&h->mu);
    sl_ck_sample old = {0};
    if (h->len == h->cap) {
        old = h->ring[h->start];
        h->start = (h->start + 1) % h->cap;
        h->len--;
    }
    h->ring[(h->start + h->len) % h->cap] = *s;
    h->len++;
    pthread_mutex_unlock(&h->mu);
    sl_ck_sample_clear(&old);
    memset(s, 0, sizeof *s);
}

size_t sl_ck_history_len(sl_ck_history *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->len;
    pthread_mutex_unlock(&h->mu);
    return n;
}

static const sl_ck_sample_topic *find_topic(const sl_ck_sample *s, const char *name)
{
    sl_ck_sample_topic key = {.name = (char *)name};
    return s->ntopics ? bsearch(&key, s->topics, s->ntopics, sizeof key, cmp_topic) : NULL;
}

static const sl_ck_sample_group *find_group(const sl_ck_sample *s, const char *name)
{
    sl_ck_sample_group key = {.name = (char *)name};
    return s->ngroups ? bsearch(&key, s->groups, s->ngroups, sizeof key, cmp_group) : NULL;
}

static const sl_ck_sample *at(const sl_ck_history *h, size_t i)
{
    return &h->ring[(h->start + i) % h->cap];
}

/* Messages/s of one counter (end or consumed) of topic up to sample i, measured from the newest
 * earlier sample where that counter was known (-1: the broker did not answer for every
 * partition). An unknown sample shows no rate, and the next known one the mean over the whole
 * gap: traffic during the gap is neither lost nor shown as a drop and a burst. A counter that
 * went backwards (a group reset to earliest, a topic recreated) counts as no traffic. */
static double counter_rate(const sl_ck_history *h, size_t i, const char *topic, bool consumed)
{
    const sl_ck_sample_topic *y = find_topic(at(h, i), topic);
    int64_t vy = y ? (consumed ? y->consumed : y->end) : -1;
    if (vy < 0) return 0;
    for (size_t j = i; j-- > 0;) {
        const sl_ck_sample_topic *x = find_topic(at(h, j), topic);
        if (!x) return 0;
        int64_t vx = consumed ? x->consumed : x->end;
        if (vx < 0) continue;
        int64_t dt = at(h, i)->ts - at(h, j)->ts;
        return dt > 0 && vy >= vx ? (double)(vy - vx) * 1000.0 / (double)dt : 0;
    }
    return 0;
}

static void rate_at(const sl_ck_history *h, size_t i, const char *topic, double *in, double *out)
{
    *in = counter_rate(h, i, topic, false);
    *out = counter_rate(h, i, topic, true);
}

void sl_ck_history_rates(sl_ck_history *h, const char *topic, double *in, double *out)
{
    *in = *out = 0;
    pthread_mutex_lock(&h->mu);
    if (h->len >= 2) rate_at(h, h->len - 1, topic, in, out);
    pthread_mutex_unlock(&h->mu);
}

/* Messages/s in and out up to sample i, summed over its topics, leaving out internal ones (names
 * starting with '_'). */
static void total_at(const sl_ck_history *h, size_t i, double *in, double *out)
{
    *in = *out = 0;
    const sl_ck_sample *b = at(h, i);
    for (size_t k = 0; k < b->ntopics; k++) {
        if (b->topics[k].name[0] == '_') continue;
        double ti, to;
        rate_at(h, i, b->topics[k].name, &ti, &to);
        *in += ti;
        *out += to;
    }
}

void sl_ck_history_total_json(sl_ck_history *h, sl_buf *out)
{
    sl_buf_append_str(out, "[");
    pthread_mutex_lock(&h->mu);
    for (size_t i = 1; i < h->len; i++) {
        double in, o;
        total_at(h, i, &in, &o);
        sl_buf_printf(out, "%s[%" PRId64 ",%.3f,%.3f]", i > 1 ? "," : "", at(h, i)->ts, in, o);
    }
    pthread_mutex_unlock(&h->mu);
    sl_buf_append_str(out, "]");
}

void sl_ck_history_topic_json(sl_ck_history *h, const char *topic, sl_buf *out)
{
    sl_buf_append_str(out, "[");
    pthread_mutex_lock(&h->mu);
    for (size_t i = 1; i < h->len; i++) {
        double in, o;
        rate_at(h, i, topic, &in, &o);
        sl_buf_printf(out, "%s[%" PRId64 ",%.3f,%.3f]", i > 1 ? "," : "", at(h, i)->ts, in, o);
    }
    pthread_mutex_unlock(&h->mu);
    sl_buf_append_str(out, "]");
}

void sl_ck_history_group_json(sl_ck_history *h, const char *group, sl_buf *out)
{
    pthread_mutex_lock(&h->mu);
    sl_buf_append_str(out, "{\"ts\":[");
    bool first = true;
    for (size_t i = 0; i < h->len; i++) {
        if (!find_group(at(h, i), group)) continue;
        sl_buf_printf(out, "%s%" PRId64, first ? "" : ",", at(h, i)->ts);
        first = false;
    }
    sl_buf_append_str(out, "],\"total\":[");
    first = true;
    for (size_t i = 0; i < h->len; i++) {
        const sl_ck_sample_group *g = find_group(at(h, i), group);
        if (!g) continue;
        sl_buf_printf(out, "%s%" PRId64, first ? "" : ",", g->lag);
        first = false;
    }
    /* One series per partition the newest sample knows, aligned with "ts" (null where a sample
     * lacked the partition). */
    sl_buf_append_str(out, "],\"partitions\":{");
    const sl_ck_sample_group *last = NULL;
    for (size_t i = h->len; i-- > 0 && !last;)
        last = find_group(at(h, i), group);
    for (size_t p = 0; last && p < last->nparts; p++) {
        const sl_ck_sample_lag *want = &last->parts[p];
        char name[300];
        int n = snprintf(name, sizeof name, "%s/%" PRId32, want->topic, want->partition);
        sl_buf_append_str(out, p ? "," : "");
        sl_http_json_str(out, name, (size_t)SL_MIN(n, (int)sizeof name - 1));
        sl_buf_append_str(out, ":[");
        first = true;
        for (size_t i = 0; i < h->len; i++) {
            const sl_ck_sample_group *g = find_group(at(h, i), group);
            if (!g) continue;
            const sl_ck_sample_lag *l =
                g->nparts ? bsearch(want, g->parts, g->nparts, sizeof *want, cmp_lag) : NULL;
            if (l)
                sl_buf_printf(out, "%s%" PRId64, first ? "" : ",", l->lag);
            else
                sl_buf_printf(out, "%snull", first ? "" : ",");
            first = false;
        }
        sl_buf_append_str(out, "]");
    }
    sl_buf_append_str(out, "}}");
    pthread_mutex_unlock(&h->mu);
}

void sl_ck_history_topic_groups_json(sl_ck_history *h, const char *topic, sl_buf *out)
{
    sl_buf_append_str(out, "[");
    pthread_mutex_lock(&h->mu);
    const sl_ck_sample *s = h->len ? at(h, h->len - 1) : NULL;
    bool first = true;
    for (size_t g = 0; s && g < s->ngroups; g++) {
        const sl_ck_sample_group *sg = &s->groups[g];
        int64_t lag = 0;
        bool on = false;
        for (size_t p = 0; p < sg->nparts; p++)
            if (!strcmp(sg->parts[p].topic, topic)) {
                on = true;
                lag += sg->parts[p].lag;
            }
        if (!on) continue;
        sl_buf_append_str(out, first ? "{\"group\":" : ",{\"group\":");
        sl_http_json_str(out, sg->name, strlen(sg->name));
        sl_buf_printf(out, ",\"lag\":%" PRId64 "}", lag);
        first = false;
    }
    pthread_mutex_unlock(&h->mu);
    sl_buf_append_str(out, "]");
}
