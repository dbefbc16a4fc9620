/* kafka_groups.c: the Consumer groups page's answers: the group list, one group's members,
 * assignments, committed offsets and lag, and resetting an empty group's offsets. */
#include "console/kafka_int.h"

#include "web/http.h"

#include <inttypes.h>
#include <jansson.h>

/* DescribeConsumerGroups for names[0..n); the event owns the descriptions (*out[i], NULL for a
 * group the result lacks). Returns the event or NULL with err. */
static rd_kafka_event_t *describe(sl_kview *k, const char **names, size_t n,
                                  const rd_kafka_ConsumerGroupDescription_t **out, char *err,
                                  size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0) return NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->admin);
    rd_kafka_AdminOptions_t *o = sl_ck_admin_opts(k, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_DescribeConsumerGroups(k->admin, names, n, o, q);
    rd_kafka_event_t *ev = sl_ck_admin_wait(k, q, err, errlen);
    if (ev) {
        size_t cnt;
        const rd_kafka_ConsumerGroupDescription_t **ds =
            rd_kafka_DescribeConsumerGroups_result_groups(
                rd_kafka_event_DescribeConsumerGroups_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++)
            for (size_t j = 0; j < n; j++)
                if (!strcmp(rd_kafka_ConsumerGroupDescription_group_id(ds[i]), names[j]))
                    out[j] = ds[i];
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return ev;
}

static int64_t part_high(const sl_ck_snapshot *s, const char *topic, int32_t partition,
                         int64_t *low)
{
    const sl_ck_topic *t = sl_ck_snapshot_find(s, topic);
    for (int p = 0; t && p < t->nparts; p++)
        if (t->parts[p].id == partition) {
            if (low) *low = t->parts[p].low;
            return t->parts[p].high;
        }
    if (low) *low = -1;
    return -1;
}

/* Total lag of g's committed partitions; -1 when none could be measured. */
static int64_t group_lag(const sl_ck_group *g, const sl_ck_snapshot *s)
{
    int64_t lag = -1;
    for (size_t i = 0; i < g->ncommitted; i++) {
        int64_t high = part_high(s, g->committed[i].topic, g->committed[i].partition, NULL);
        if (high < 0) continue;
        lag = SL_MAX(lag, 0) + SL_MAX(high - g->committed[i].offset, 0);
    }
    return lag;
}

static void json_str(sl_buf *b, const char *s)
{
    if (s)
        sl_http_json_str(b, s, strlen(s));
    else
        sl_buf_append_str(b, "null");
}

void sl_console_kafka_groups(sl_kview *k, sl_ck_answer *a)
{
    char err[256];
    sl_ck_group *gs;
    size_t n;
    if (sl_ck_groups_list(k, &gs, &n, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        return;
    }
    sl_ck_snapshot s;
    if (sl_ck_snapshot_take(k, NULL, &s, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        sl_ck_groups_free(gs, n);
        return;
    }
    const char **names = sl_calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = gs[i].name;
    const rd_kafka_ConsumerGroupDescription_t **ds = sl_calloc(n + 1, sizeof *ds);
    char derr[256] = "";
    rd_kafka_event_t *ev = describe(k, names, n, ds, derr, sizeof derr);

    sl_buf *b = &a->body;
    sl_buf_append_str(b, "{\"groups\":[");
    for (size_t i = 0; i < n; i++) {
        sl_ck_group *g = &gs[i];
        char gerr[256] = "";
        sl_ck_group_committed(k, g, gerr, sizeof gerr);
        sl_buf_append_str(b, i ? ",{\"group\":" : "{\"group\":");
        json_str(b, g->name);
        const rd_kafka_ConsumerGroupDescription_t *d = ds[i];
        const char *state =
            d ? rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d))
              : g->state;
        sl_buf_append_str(b, ",\"state\":");
        json_str(b, state);
        sl_buf_printf(b, ",\"members\":%zu,\"simple\":%s,\"assignor\":",
                      d ? rd_kafka_ConsumerGroupDescription_member_count(d) : 0,
                      g->simple ? "true" : "false");
        json_str(b, d ? rd_kafka_ConsumerGroupDescription_partition_assignor(d) : NULL);
        sl_buf_append_str(b, ",\"topics\":[");
        for (size_t c = 0, nt = 0; c < g->ncommitted; c++) {
            if (c && !strcmp(g->committed[c].topic, g->committed[c - 1].topic)) continue;
            sl_buf_append_str(b, nt++ ? "," : "");
            json_str(b, g->committed[c].topic);
        }
        int64_t lag = group_lag(g, &s);
        if (lag >= 0)
            sl_buf_printf(b, "],\"lag\":%" PRId64, lag);
        else
            sl_buf_append_str(b, "],\"lag\":null");
        if (gerr[0]) {
            sl_buf_append_str(b, ",\"error\":");
            json_str(b, gerr);
        }
        sl_buf_append_str(b, "}");
    }
    sl_buf_append_str(b, "]");
    if (derr[0]) {
        sl_buf_append_str(b, ",\"error\":");
        json_str(b, derr);
    }
    sl_buf_append_str(b, "}");
    a->status = 200;
    if (ev) rd_kafka_event_destroy(ev);
    sl_free(ds);
    sl_free(names);
    sl_ck_snapshot_free(&s);
    sl_ck_groups_free(gs, n);
}

/* The member a partition is assigned to, or NULL. */
static const char *owner(const rd_kafka_ConsumerGroupDescription_t *d, const char *topic,
                         int32_t partition)
{
    size_t nm = d ? rd_kafka_ConsumerGroupDescription_member_count(d) : 0;
    for (size_t m = 0; m < nm; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
        const rd_kafka_topic_partition_list_t *l =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        for (int i = 0; l && i < l->cnt; i++)
            if (l->elems[i].partition == partition && !strcmp(l->elems[i].topic, topic))
                return rd_kafka_MemberDescription_consumer_id(md);
    }
    return NULL;
}

static void offset_row(sl_buf *b, bool first, const char *topic, int32_t partition,
                       const int64_t *committed, const sl_ck_snapshot *s, const char *member)
{
    int64_t low, high = part_high(s, topic, partition, &low);
    sl_buf_append_str(b, first ? "{\"topic\":" : ",{\"topic\":");
    json_str(b, topic);
    sl_buf_printf(b, ",\"partition\":%" PRId32 ",\"start\":%" PRId64 ",\"end\":%" PRId64, partition,
                  low, high);
    if (committed && high >= 0)
        sl_buf_printf(b, ",\"committed\":%" PRId64 ",\"lag\":%" PRId64, *committed,
                      SL_MAX(high - *committed, 0));
    else if (committed)
        sl_buf_printf(b, ",\"committed\":%" PRId64 ",\"lag\":null", *committed);
    else
        sl_buf_append_str(b, ",\"committed\":null,\"lag\":null");
    sl_buf_append_str(b, ",\"member\":");
    json_str(b, member);
    sl_buf_append_str(b, "}");
}

void sl_console_kafka_group(sl_kview *k, const char *group, sl_ck_answer *a)
{
    char err[256];
    sl_ck_group g = {.name = (char *)group};
    const rd_kafka_ConsumerGroupDescription_t *d;
    rd_kafka_event_t *ev = describe(k, &group, 1, &d, err, sizeof err);
    if (!ev) {
        sl_ck_error(a, 502, "%s", err);
        return;
    }
    const rd_kafka_error_t *de = d ? rd_kafka_ConsumerGroupDescription_error(d) : NULL;
    sl_ck_snapshot s = {0};
    if (!d || de) {
        sl_ck_error(a, 502, "describe group %s: %s", group,
                    de ? rd_kafka_error_string(de) : "no result");
        goto out;
    }
    if (sl_ck_group_committed(k, &g, err, sizeof err) ||
        sl_ck_snapshot_take(k, NULL, &s, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        goto out;
    }
    rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d);
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);
    if (st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD && nm == 0 && g.ncommitted == 0) {
        sl_ck_error(a, 404, "unknown group '%s'", group);
        goto out;
    }
    sl_buf *b = &a->body;
    sl_buf_append_str(b, "{\"group\":");
    json_str(b, group);
    sl_buf_append_str(b, ",\"state\":");
    json_str(b, rd_kafka_consumer_group_state_name(st));
    sl_buf_append_str(b, ",\"assignor\":");
    json_str(b, rd_kafka_ConsumerGroupDescription_partition_assignor(d));
    sl_buf_printf(b, ",\"simple\":%s,\"members\":[",
                  rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) ? "true" : "false");
    for (size_t m = 0; m < nm; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
        sl_buf_append_str(b, m ? ",{\"member_id\":" : "{\"member_id\":");
        json_str(b, rd_kafka_MemberDescription_consumer_id(md));
        sl_buf_append_str(b, ",\"client_id\":");
        json_str(b, rd_kafka_MemberDescription_client_id(md));
        sl_buf_append_str(b, ",\"host\":");
        json_str(b, rd_kafka_MemberDescription_host(md));
        sl_buf_append_str(b, ",\"instance_id\":");
        json_str(b, rd_kafka_MemberDescription_group_instance_id(md));
        sl_buf_append_str(b, ",\"assignment\":[");
        const rd_kafka_topic_partition_list_t *l =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        for (int i = 0; l && i < l->cnt; i++) {
            sl_buf_append_str(b, i ? ",{\"topic\":" : "{\"topic\":");
            json_str(b, l->elems[i].topic);
            sl_buf_printf(b, ",\"partition\":%" PRId32 "}", l->elems[i].partition);
        }
        sl_buf_append_str(b, "]}");
    }
    /* Committed partitions, then assigned ones that have no commit yet. */
    sl_buf_append_str(b, "],\"offsets\":[");
    int64_t total = -1;
    size_t rows = 0;
    for (size_t c = 0; c < g.ncommitted; c++) {
        const sl_ck_committed *cm = &g.committed[c];
        offset_row(b, rows++ == 0, cm->topic, cm->partition, &cm->offset, &s,
                   owner(d, cm->topic, cm->partition));
        int64_t high = part_high(&s, cm->topic, cm->partition, NULL);
        if (high >= 0) total = SL_MAX(total, 0) + SL_MAX(high - cm->offset, 0);
    }
    for (size_t m = 0; m < nm; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(d, m);
        const rd_kafka_topic_partition_list_t *l =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        for (int i = 0; l && i < l->cnt; i++) {
            bool have = false;
            for (size_t c = 0; c < g.ncommitted && !have; c++)
                have = g.committed[c].partition == l->elems[i].partition &&
                       !strcmp(g.committed[c].topic, l->elems[i].topic);
            if (!have)
                offset_row(b, rows++ == 0, l->elems[i].topic, l->elems[i].partition, NULL, &s,
                           rd_kafka_MemberDescription_consumer_id(md));
        }
    }
    if (total >= 0)
        sl_buf_printf(b, "],\"lag\":%" PRId64, total);
    else
        sl_buf_append_str(b, "],\"lag\":null");
    sl_buf_append_str(b, ",\"history\":");
    sl_ck_history_group_json(k->hist, group, b);
    sl_buf_printf(b, ",\"sample_ms\":%" PRId64 "}", k->sample_ms);
    a->status = 200;
out:
    for (size_t c = 0; c < g.ncommitted; c++)
        sl_free(g.committed[c].topic);
    sl_free(g.committed);
    sl_ck_snapshot_free(&s);
    rd_kafka_event_destroy(ev);
}

/* The parsed body of a reset. */
typedef struct reset_req {
    enum { TO_EARLIEST, TO_LATEST, TO_TIMESTAMP } to;
    int64_t timestamp;
    const char *topic; /* NULL: every topic the group has offsets for */
} reset_req;

static int reset_parse(json_t *j, reset_req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    const char *name;
    json_t *v;
    const char *to = NULL;
    json_object_foreach(j, name, v)
    {
        if (!strcmp(name, "to") && json_is_string(v)) {
            to = json_string_value(v);
        } else if (!strcmp(name, "timestamp") && json_is_integer(v) && json_integer_value(v) >= 0) {
            r->timestamp = json_integer_value(v);
        } else if (!strcmp(name, "topic") && json_is_string(v) && json_string_length(v) > 0) {
            r->topic = json_string_value(v);
        } else if (!strcmp(name, "to") || !strcmp(name, "timestamp") || !strcmp(name, "topic")) {
            snprintf(err, errlen,
                     "\"%s\" has the wrong type (to: string, timestamp: ms >= 0, "
                     "topic: non-empty string)",
                     name);
            return -1;
        } else {
            snprintf(err, errlen, "unknown field \"%s\" (to, timestamp, topic)", name);
            return -1;
        }
    }
    if (!to) {
        snprintf(err, errlen, "\"to\" is required: earliest, latest or timestamp");
        return -1;
    }
    if (!strcmp(to, "earliest")) {
        r->to = TO_EARLIEST;
    } else if (!strcmp(to, "latest")) {
        r->to = TO_LATEST;
    } else if (!strcmp(to, "timestamp")) {
        r->to = TO_TIMESTAMP;
        if (!json_object_get(j, "timestamp")) {
            snprintf(err, errlen, "to=timestamp needs \"timestamp\" (ms since the epoch)");
            return -1;
        }
    } else {
        snprintf(err, errlen, "\"to\" must be earliest, latest or timestamp");
        return -1;
    }
    return 0;
}

void sl_console_kafka_reset(sl_kview *k, const char *group, sl_slice body, sl_ck_answer *a)
{
    char err[256];
    json_error_t jerr;
    json_t *j = json_loadb((const char *)body.ptr, body.len, 0, &jerr);
    if (!j) {
        sl_ck_error(a, 400, "bad JSON: %s", jerr.text);
        return;
    }
    reset_req r;
    sl_ck_group g = {.name = (char *)group};
    sl_ck_snapshot s = {0};
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_event_t *ev = NULL, *aev = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_AdminOptions_t *o = NULL;
    rd_kafka_AlterConsumerGroupOffsets_t *alter = NULL;
    if (reset_parse(j, &r, err, sizeof err)) {
        sl_ck_error(a, 400, "%s", err);
        goto out;
    }
    const rd_kafka_ConsumerGroupDescription_t *d;
    ev = describe(k, &group, 1, &d, err, sizeof err);
    if (!ev || !d || rd_kafka_ConsumerGroupDescription_error(d)) {
        sl_ck_error(a, 502, "describe group %s: %s", group,
                    !ev ? err
                    : d ? rd_kafka_error_string(rd_kafka_ConsumerGroupDescription_error(d))
                        : "no result");
        goto out;
    }
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);
    if (nm > 0) {
        /* Kafka refuses commits from outside a live generation; saying so first is clearer. */
        sl_ck_error(a, 409,
                    "group '%s' has %zu active member%s (state %s): stop its consumers before "
                    "resetting offsets",
                    group, nm, nm == 1 ? "" : "s",
                    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d)));
        goto out;
    }
    if (sl_ck_group_committed(k, &g, err, sizeof err) ||
        sl_ck_snapshot_take(k, r.topic, &s, err, sizeof err)) {
        sl_ck_error(a, 502, "%s", err);
        goto out;
    }
    l = rd_kafka_topic_partition_list_new(16);
    if (r.topic) {
        const sl_ck_topic *t = sl_ck_snapshot_find(&s, r.topic);
        if (!t) {
            sl_ck_error(a, 404, "unknown topic '%s'", r.topic);
            goto out;
        }
        for (int p = 0; p < t->nparts; p++)
            rd_kafka_topic_partition_list_add(l, t->name, t->parts[p].id);
    } else {
        for (size_t c = 0; c < g.ncommitted; c++)
            if (part_high(&s, g.committed[c].topic, g.committed[c].partition, NULL) >= 0)
                rd_kafka_topic_partition_list_add(l, g.committed[c].topic,
                                                  g.committed[c].partition);
        if (l->cnt == 0) {
            sl_ck_error(a, 400, "group '%s' has no committed offsets: name a \"topic\"", group);
            goto out;
        }
    }
    if (r.to == TO_TIMESTAMP) {
        for (int i = 0; i < l->cnt; i++)
            l->elems[i].offset = r.timestamp;
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(k->admin, l, k->timeout_ms);
        if (e) {
            sl_ck_error(a, 502, "offsets for time %" PRId64 ": %s", r.timestamp,
                        rd_kafka_err2str(e));
            goto out;
        }
    }
    for (int i = 0; i < l->cnt; i++) {
        rd_kafka_topic_partition_t *p = &l->elems[i];
        int64_t low, high = part_high(&s, p->topic, p->partition, &low);
        if (r.to == TO_EARLIEST)
            p->offset = low;
        else if (r.to == TO_LATEST)
            p->offset = high;
        else if (p->err || p->offset < 0)
            p->offset = high; /* nothing at or after the time: the end */
        p->err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    q = rd_kafka_queue_new(k->admin);
    o = sl_ck_admin_opts(k, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    alter = rd_kafka_AlterConsumerGroupOffsets_new(group, l);
    rd_kafka_AlterConsumerGroupOffsets(k->admin, &alter, 1, o, q);
    aev = sl_ck_admin_wait(k, q, err, sizeof err);
    if (!aev) {
        sl_ck_error(a, 502, "alter offsets of %s: %s", group, err);
        goto out;
    }
    size_t cnt;
    const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(aev), &cnt);
    const rd_kafka_topic_partition_list_t *res =
        cnt == 1 ? rd_kafka_group_result_partitions(gr[0]) : NULL;
    const rd_kafka_error_t *ge = cnt == 1 ? rd_kafka_group_result_error(gr[0]) : NULL;
    if (ge || !res) {
        sl_ck_error(a, 502, "alter offsets of %s: %s", group,
                    ge ? rd_kafka_error_string(ge) : "no result");
        goto out;
    }
    for (int i = 0; i < res->cnt; i++)
        if (res->elems[i].err) {
            rd_kafka_resp_err_t e = res->elems[i].err;
            /* A consumer that joined in between makes the commit stale. */
            bool busy = e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                        e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                        e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
            sl_ck_error(a, busy ? 409 : 502, "alter offsets of %s: %s [%" PRId32 "]: %s", group,
                        res->elems[i].topic, res->elems[i].partition, rd_kafka_err2str(e));
            goto out;
        }
    sl_buf *b = &a->body;
    sl_buf_append_str(b, "{\"group\":");
    json_str(b, group);
    sl_buf_append_str(b, ",\"offsets\":[");
    for (int i = 0; i < l->cnt; i++) {
        sl_buf_append_str(b, i ? ",{\"topic\":" : "{\"topic\":");
        json_str(b, l->elems[i].topic);
        sl_buf_printf(b, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 "}",
                      l->elems[i].partition, l->elems[i].offset);
    }
    sl_buf_append_str(b, "]}");
    a->status = 200;
out:
    if (alter) rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
    if (o) rd_kafka_AdminOptions_destroy(o);
    if (q) rd_kafka_queue_destroy(q);
    if (aev) rd_kafka_event_destroy(aev);
    if (ev) rd_kafka_event_destroy(ev);
    if (l) rd_kafka_topic_partition_list_destroy(l);
    for (size_t c = 0; c < g.ncommitted; c++)
        sl_free(g.committed[c].topic);
    sl_free(g.committed);
    sl_ck_snapshot_free(&s);
    json_decref(j);
}
