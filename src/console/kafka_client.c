/* kafka_client.c: the console's librdkafka clients, the snapshot and group helpers the pages
 * share, and the sampler that feeds the rate and lag history. */
#include "console/kafka_int.h"
#include "auth/auth.h"

#include "core/log.h"
#include "web/http.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define LOG_SUB "console"

void sl_ck_error(sl_ck_answer *a, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->status = status;
    sl_buf_reset(&a->body);
    sl_buf_append_str(&a->body, "{\"error\":");
    sl_http_json_str(&a->body, msg, strlen(msg));
    sl_buf_append_str(&a->body, "}");
}

static void rdk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    SL_UNUSED(rk);
    /* syslog levels; librdkafka logs each failed connection attempt at 3 and retries, and the
     * pages report a broker that stays away, so those stay at debug. */
    if (level <= 2)
        SL_ERROR("rdkafka", "%s: %s", fac, buf);
    else if (level == 4)
        SL_WARN("rdkafka", "%s: %s", fac, buf);
    else
        SL_DEBUG("rdkafka", "%s: %s", fac, buf);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    SL_UNUSED(opaque);
    sl_ck_delivery *d = m->_private;
    if (!d) return;
    if (d->abandoned) {
        sl_free(d);
        return;
    }
    d->done = true;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
    d->timestamp = rd_kafka_message_timestamp(m, NULL);
}

static rd_kafka_t *client_new(const sl_kview *k, rd_kafka_type_t type, const char *const *kv,
                              char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *common[] = {"bootstrap.servers", k->bootstrap, "client.id", "sluice-console",
                            /* Idle connections are kept: the sampler uses them every interval. */
                            "connections.max.idle.ms", "0", NULL};
    for (int pass = 0; pass < 2; pass++)
        for (const char *const *p = pass ? kv : common; p && *p; p += 2)
            if (rd_kafka_conf_set(conf, p[0], p[1], err, errlen) != RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
    if (sl_auth_kafka_conf(conf, err, errlen)) { /* $SLUICE_KAFKA_CONFIG: SASL, TLS */
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, rdk_log);
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, errlen);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
}

static void on_timer(uv_timer_t *t);

int sl_console_kafka_open(uv_loop_t *loop, const sl_kview_config *cfg, sl_kview **out, char *err,
                          size_t errlen)
{
    if (!cfg->bootstrap || !cfg->bootstrap[0]) {
        snprintf(err, errlen, "--kafka is empty");
        return SL_ERR_CONFIG;
    }
    if (cfg->registry && cfg->registry[0] && strncmp(cfg->registry, "http://", 7) &&
        strncmp(cfg->registry, "https://", 8)) {
        /* Not echoed: a URL may carry user:password. */
        snprintf(err, errlen, "--registry is not an http:// or https:// URL");
        return SL_ERR_CONFIG;
    }
    sl_kview *k = sl_calloc(1, sizeof *k);
    k->loop = loop;
    k->bootstrap = sl_strdup(cfg->bootstrap);
    k->registry = cfg->registry && cfg->registry[0] ? sl_strdup(cfg->registry) : NULL;
    if (k->registry && k->registry[strlen(k->registry) - 1] == '/')
        k->registry[strlen(k->registry) - 1] = '\0';
    k->timeout_ms =
        cfg->timeout_ms > 0 && cfg->timeout_ms < INT32_MAX ? (int)cfg->timeout_ms : 5000;
    k->sample_ms = cfg->sample_ms > 0 ? cfg->sample_ms : 2000;
    k->hist = sl_ck_history_new(cfg->history ? cfg->history : 300);
    atomic_init(&k->refs, 1);
    pthread_mutex_init(&k->browse_mu, NULL);
    pthread_mutex_init(&k->produce_mu, NULL);
    /* One try per schema id, no retries: a browse waits at most one registry round trip. */
    if (k->registry) k->avro = sl_avro_dec_new(k->registry, k->timeout_ms, 0);

    /* acks=all: a message produced from the console is durable before the page says so. */
    const char *prod_kv[] = {"acks", "all", "linger.ms", "0", NULL};
    /* The browser assigns partitions itself and never commits: the group id is a formality of
     * librdkafka's consumer. Small fetch waits let a browse end soon after the last message. */
    const char *cons_kv[] = {"group.id",
                             "sluice-console-browser",
                             "enable.auto.commit",
                             "false",
                             "enable.partition.eof",
                             "true",
                             "fetch.wait.max.ms",
                             "10",
                             "queued.min.messages",
                             "1000",
                             "auto.offset.reset",
                             "earliest",
                             NULL};
    k->admin = client_new(k, RD_KAFKA_PRODUCER, prod_kv, err, errlen);
    if (k->admin) k->browser = client_new(k, RD_KAFKA_CONSUMER, cons_kv, err, errlen);
    if (!k->browser) {
        sl_console_kafka_release(k);
        return SL_ERR_CONFIG;
    }
    uv_timer_init(loop, &k->timer);
    k->timer.data = k;
    uv_timer_start(&k->timer, on_timer, 0, (uint64_t)k->sample_ms);
    *out = k;
    return 0;
}

sl_kview *sl_console_kafka_keep(sl_kview *k)
{
    atomic_fetch_add(&k->refs, 1);
    return k;
}

void sl_console_kafka_release(sl_kview *k)
{
    if (!k || atomic_fetch_sub(&k->refs, 1) != 1) return;
    if (k->browser) rd_kafka_destroy(k->browser);
    if (k->admin) rd_kafka_destroy(k->admin);
    sl_avro_dec_free(k->avro);
    sl_ck_history_free(k->hist);
    pthread_mutex_destroy(&k->browse_mu);
    pthread_mutex_destroy(&k->produce_mu);
    sl_free(k->bootstrap);
    sl_free(k->registry);
    sl_free(k);
}

static void on_timer_closed(uv_handle_t *h)
{
    sl_console_kafka_release(h->data);
}

void sl_console_kafka_close(sl_kview *k)
{
    if (!k) return;
    k->closing = true;
    uv_timer_stop(&k->timer);
    /* The timer's own reference goes when the handle has closed; the owner's goes now. */
    sl_console_kafka_keep(k);
    uv_close((uv_handle_t *)&k->timer, on_timer_closed);
    sl_console_kafka_release(k);
}

rd_kafka_AdminOptions_t *sl_ck_admin_opts(sl_kview *k, rd_kafka_admin_op_t op)
{
    char err[128];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->admin, op);
    rd_kafka_AdminOptions_set_request_timeout(o, k->timeout_ms, err, sizeof err);
    return o;
}

rd_kafka_event_t *sl_ck_admin_wait(sl_kview *k, rd_kafka_queue_t *q, char *err, size_t errlen)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, k->timeout_ms + 1000);
    if (!ev) {
        snprintf(err, errlen, "no answer from the broker at %s", k->bootstrap);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static int cmp_ck_topic(const void *a, const void *b)
{
    return strcmp(((const sl_ck_topic *)a)->name, ((const sl_ck_topic *)b)->name);
}

/* Asks for one watermark of every listed partition at once: ListOffsets' timestamp -2 means
 * the log start, -1 the end, which is what offsets_for_times sends. */
static int watermarks(rd_kafka_t *rk, int timeout_ms, const char *bootstrap,
                      rd_kafka_topic_partition_list_t *l, int64_t which, char *err, size_t errlen)
{
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = which;
    if (l->cnt == 0) return 0;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (e) {
        snprintf(err, errlen, "offsets from %s: %s", bootstrap, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int sl_ck_snapshot_take(sl_kview *k, const char *only, sl_ck_snapshot *s, char *err, size_t errlen)
{
    return sl_ck_snapshot_take_rk(k->admin, k->timeout_ms, k->bootstrap, only, s, err, errlen);
}

int sl_ck_snapshot_take_rk(rd_kafka_t *rk, int timeout_ms, const char *bootstrap, const char *only,
                           sl_ck_snapshot *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const rd_kafka_metadata_t *md;
    /* All topics even for one: asking for an unknown topic by name could auto-create it. */
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "metadata from %s: %s", bootstrap, rd_kafka_err2str(e));
        return -1;
    }
    s->topics = sl_calloc((size_t)md->topic_cnt + 1, sizeof *s->topics);
    rd_kafka_topic_partition_list_t *lo = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[i];
        if (only && strcmp(mt->topic, only)) continue;
        sl_ck_topic *t = &s->topics[s->ntopics++];
        t->name = sl_strdup(mt->topic);
        t->err = mt->err;
        t->nparts = mt->partition_cnt;
        t->parts = sl_calloc((size_t)mt->partition_cnt + 1, sizeof *t->parts);
        for (int p = 0; p < mt->partition_cnt; p++) {
            t->parts[p] = (sl_ck_part){mt->partitions[p].id, mt->partitions[p].leader, -1, -1};
            rd_kafka_topic_partition_list_add(lo, mt->topic, mt->partitions[p].id);
        }
    }
    rd_kafka_metadata_destroy(md);
    qsort(s->topics, s->ntopics, sizeof *s->topics, cmp_ck_topic);
    rd_kafka_topic_partition_list_t *hi = rd_kafka_topic_partition_list_copy(lo);
    int rc = -1;
    if (watermarks(rk, timeout_ms, bootstrap, lo, RD_KAFKA_OFFSET_BEGINNING, err, errlen) == 0 &&
        watermarks(rk, timeout_ms, bootstrap, hi, RD_KAFKA_OFFSET_END, err, errlen) == 0) {
        rc = 0;
        for (int i = 0; i < lo->cnt; i++) {
            const sl_ck_topic *t = sl_ck_snapshot_find(s, lo->elems[i].topic);
            for (int p = 0; t && p < t->nparts; p++) {
                if (t->parts[p].id != lo->elems[i].partition) continue;
                if (!lo->elems[i].err) t->parts[p].low = lo->elems[i].offset;
                if (!hi->elems[i].err) t->parts[p].high = hi->elems[i].offset;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(lo);
    rd_kafka_topic_partition_list_destroy(hi);
    if (rc) sl_ck_snapshot_free(s);
    return rc;
}

void sl_ck_snapshot_free(sl_ck_snapshot *s)
{
    for (size_t i = 0; i < s->ntopics; i++) {
        sl_free(s->topics[i].name);
        sl_free(s->topics[i].parts);
    }
    sl_free(s->topics);
    memset(s, 0, sizeof *s);
}

const sl_ck_topic *sl_ck_snapshot_find(const sl_ck_snapshot *s, const char *topic)
{
    sl_ck_topic key = {.name = (char *)topic};
    return s->ntopics ? bsearch(&key, s->topics, s->ntopics, sizeof key, cmp_ck_topic) : NULL;
}

const sl_ck_topic *sl_ck_snapshot_topic(sl_kview *k, const char *topic, sl_ck_snapshot *s,
                                        sl_ck_answer *a)
{
    char err[256];
    if (sl_ck_snapshot_take(k, topic, s, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        return NULL;
    }
    const sl_ck_topic *t = sl_ck_snapshot_find(s, topic);
    if (!t) {
        sl_ck_error(a, 404, "unknown topic '%s'", topic);
        sl_ck_snapshot_free(s);
    }
    return t;
}

static int cmp_ck_group(const void *a, const void *b)
{
    return strcmp(((const sl_ck_group *)a)->name, ((const sl_ck_group *)b)->name);
}

int sl_ck_groups_list(sl_kview *k, sl_ck_group **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->admin);
    rd_kafka_AdminOptions_t *o = sl_ck_admin_opts(k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_ListConsumerGroups(k->admin, o, q);
    rd_kafka_event_t *ev = sl_ck_admin_wait(k, q, err, errlen);
    int rc = -1;
    if (ev) {
        const rd_kafka_ListConsumerGroups_result_t *res =
            rd_kafka_event_ListConsumerGroups_result(ev);
        size_t cnt, nerr;
        const rd_kafka_ConsumerGroupListing_t **gl =
            rd_kafka_ListConsumerGroups_result_valid(res, &cnt);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        if (nerr && !cnt) {
            snprintf(err, errlen, "list groups: %s", rd_kafka_error_string(errs[0]));
        } else {
            *out = sl_calloc(cnt + 1, sizeof **out);
            for (size_t i = 0; i < cnt; i++) {
                sl_ck_group *g = &(*out)[i];
                g->name = sl_strdup(rd_kafka_ConsumerGroupListing_group_id(gl[i]));
                g->state = sl_strdup(
                    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i])));
                g->simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gl[i]);
            }
            *n = cnt;
            qsort(*out, cnt, sizeof **out, cmp_ck_group);
            rc = 0;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int cmp_committed(const void *a, const void *b)
{
    const sl_ck_committed *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int sl_ck_group_committed(sl_kview *k, sl_ck_group *g, char *err, size_t errlen)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->admin);
    rd_kafka_AdminOptions_t *o = sl_ck_admin_opts(k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(g->name, NULL);
    rd_kafka_ListConsumerGroupOffsets(k->admin, &req, 1, o, q);
    rd_kafka_event_t *ev = sl_ck_admin_wait(k, q, err, errlen);
    int rc = -1;
    if (ev) {
        size_t cnt;
        const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(ev), &cnt);
        const rd_kafka_error_t *ge = cnt == 1 ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (cnt != 1) {
            snprintf(err, errlen, "offsets of group %s: no result", g->name);
        } else if (ge) {
            snprintf(err, errlen, "offsets of group %s: %s", g->name, rd_kafka_error_string(ge));
        } else {
            const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(gr[0]);
            g->committed = sl_calloc((size_t)(l ? l->cnt : 0) + 1, sizeof *g->committed);
            g->ncommitted = 0;
            for (int i = 0; l && i < l->cnt; i++) {
                /* A partition without a commit is reported as -1 (INVALID): skip it. */
                if (l->elems[i].err || l->elems[i].offset < 0) continue;
                sl_ck_committed *c = &g->committed[g->ncommitted++];
                c->topic = sl_strdup(l->elems[i].topic);
                c->partition = l->elems[i].partition;
                c->offset = l->elems[i].offset;
            }
            qsort(g->committed, g->ncommitted, sizeof *g->committed, cmp_committed);
            rc = 0;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

void sl_ck_groups_free(sl_ck_group *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++) {
        for (size_t j = 0; j < g[i].ncommitted; j++)
            sl_free(g[i].committed[j].topic);
        sl_free(g[i].committed);
        sl_free(g[i].name);
        sl_free(g[i].state);
    }
    sl_free(g);
}

/* One sample: end offsets per topic and, per group, committed offsets and lag. Runs on a
 * worker; a failure skips the sample (logged at debug: the pages show the broker's error). */
static void sample_work(uv_work_t *w)
{
    sl_kview *k = w->data;
    char err[256];
    sl_ck_snapshot s;
    if (sl_ck_snapshot_take(k, NULL, &s, err, sizeof err)) {
        SL_DEBUG(LOG_SUB, "sample: %s", err);
        return;
    }
    sl_ck_group *groups = NULL;
    size_t ngroups = 0;
    if (sl_ck_groups_list(k, &groups, &ngroups, err, sizeof err)) {
        SL_DEBUG(LOG_SUB, "sample: %s", err);
        ngroups = 0;
    }
    sl_ck_sample smp = {.ts = sl_now_ms()};
    smp.topics = sl_calloc(s.ntopics + 1, sizeof *smp.topics);
    for (size_t i = 0; i < s.ntopics; i++) {
        sl_ck_sample_topic *st = &smp.topics[smp.ntopics++];
        st->name = sl_strdup(s.topics[i].name);
        /* A partition the broker could not answer for makes the sum unknown, not smaller: a
         * partial sum would read as a drop and then a burst. */
        for (int p = 0; p < s.topics[i].nparts && st->end >= 0; p++)
            st->end = s.topics[i].parts[p].high < 0 ? -1 : st->end + s.topics[i].parts[p].high;
    }
    smp.groups = sl_calloc(ngroups + 1, sizeof *smp.groups);
    bool consumed_known = true;
    for (size_t g = 0; g < ngroups; g++) {
        if (sl_ck_group_committed(k, &groups[g], err, sizeof err)) {
            consumed_known = false;
            continue;
        }
        sl_ck_sample_group *sg = &smp.groups[smp.ngroups++];
        sg->name = sl_strdup(groups[g].name);
        sg->parts = sl_calloc(groups[g].ncommitted + 1, sizeof *sg->parts);
        for (size_t c = 0; c < groups[g].ncommitted; c++) {
            const sl_ck_committed *cm = &groups[g].committed[c];
            const sl_ck_topic *t = sl_ck_snapshot_find(&s, cm->topic);
            int64_t high = -1;
            for (int p = 0; t && p < t->nparts; p++)
                if (t->parts[p].id == cm->partition) high = t->parts[p].high;
            sl_ck_sample_topic key = {.name = cm->topic};
            for (size_t i = 0; i < smp.ntopics; i++)
                if (!strcmp(smp.topics[i].name, key.name)) smp.topics[i].consumed += cm->offset;
            if (high < 0) continue;
            int64_t lag = SL_MAX(high - cm->offset, 0);
            sg->parts[sg->nparts++] = (sl_ck_sample_lag){sl_strdup(cm->topic), cm->partition, lag};
            sg->lag += lag;
        }
    }
    /* Likewise a group whose offsets could not be read: every topic's consumed sum is unknown. */
    for (size_t i = 0; i < smp.ntopics && !consumed_known; i++)
        smp.topics[i].consumed = -1;
    sl_ck_groups_free(groups, ngroups);
    sl_ck_snapshot_free(&s);
    sl_ck_history_push(k->hist, &smp);
}

static void sample_done(uv_work_t *w, int status)
{
    SL_UNUSED(status);
    sl_kview *k = w->data;
    k->sampling = false;
    sl_console_kafka_release(k);
}

static void on_timer(uv_timer_t *t)
{
    sl_kview *k = t->data;
    /* A sample slower than the interval (a broker that is down) is not stacked up behind. */
    if (k->sampling || k->closing) return;
    k->sampling = true;
    k->work.data = sl_console_kafka_keep(k);
    uv_queue_work(k->loop, &k->work, sample_work, sample_done);
}
