/* collect.c: the collector thread (see collect_int.h). */
#include "console/collect_int.h"
#include "console/kafka_int.h"
#include "auth/auth.h"

#include "core/codec.h"
#include "core/log.h"
#include "core/sl.h"
#include "cql/client.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define HIST          300   /* samples kept for the Overview chart */
#define KAFKA_TIMEOUT 2000  /* ms for each blocking librdkafka call */
#define EVENTS_TAIL   65536 /* bytes of the supervisor's event file read each time */
#define ROWS_EVERY_MS 15000

typedef struct hist_point {
    int64_t t_ms;
    double in_rate, proc_rate, rows_rate, dlq_rate;
    int64_t lag;
} hist_point;

struct sl_collector {
    const sl_console_config *cfg;
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below it, and the stop flag */
    pthread_cond_t cv;
    bool stop;
    atomic_bool stopping;  /* read without the lock between blocking calls */
    sl_buf prom, overview; /* rendered from the latest sample */
    hist_point hist[HIST];
    size_t nhist;
    col_alerts *alerts;
    /* collector thread only */
    col_sample prev;
    bool have_prev;
    rd_kafka_t *rk;
    sl_cqlc *cql;
    int64_t rows, rows_at; /* the last row count and when it finished (monotonic ms) */
    int64_t rows_took;     /* how long that count took (ms) */
    CURL *curl;
};

static void sample_free(col_sample *s)
{
    for (size_t i = 0; i < s->ntopics; i++)
        sl_free(s->topics[i].name);
    for (size_t i = 0; i < s->ngroups; i++) {
        sl_free(s->groups[i].name);
        sl_free(s->groups[i].state);
    }
    sl_free(s->topics);
    sl_free(s->groups);
    memset(s, 0, sizeof *s);
}

static size_t curl_sink(char *p, size_t size, size_t n, void *arg)
{
    sl_buf *b = arg;
    if (b->len + size * n > (8u << 20)) return 0; /* no component answers this much */
    sl_buf_append(b, p, size * n);
    return size * n;
}

/* GET url into out; returns the HTTP status, or -1 when the server could not be reached. */
static long http_get(sl_collector *col, const char *url, sl_buf *out)
{
    sl_buf_reset(out);
    CURL *c = col->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(c) != CURLE_OK) return -1;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static json_t *get_json(sl_collector *col, const char *url)
{
    sl_buf b;
    sl_buf_init(&b);
    json_t *j = NULL;
    if (http_get(col, url, &b) == 200) j = json_loadb((const char *)b.ptr, b.len, 0, NULL);
    sl_buf_free(&b);
    return j;
}

/* librdkafka's own log lines (a broker down, reconnects) are ours at debug level: the
 * component's state is what the console reports, not each failed connect. */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    SL_UNUSED(rk);
    SL_UNUSED(level);
    SL_DEBUG("console", "rdkafka %s: %s", fac, buf);
}

static rd_kafka_t *kafka_new(const sl_console_config *cfg)
{
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", cfg->kafka, err, sizeof err) ||
        rd_kafka_conf_set(kc, "client.id", "sluice-console", err, sizeof err) ||
        rd_kafka_conf_set(kc, "log_level", "3", err, sizeof err) ||
        sl_auth_kafka_conf(kc, err, sizeof err)) {
        SL_ERROR("console", "kafka config: %s", err);
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(kc, kafka_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof err);
    if (!rk) SL_ERROR("console", "kafka client: %s", err);
    return rk;
}

/* The high watermark of one partition in the snapshot, -1 when unknown. */
static int64_t snap_high(const sl_ck_snapshot *snap, const char *topic, int32_t partition)
{
    const sl_ck_topic *t = sl_ck_snapshot_find(snap, topic);
    for (int p = 0; t && p < t->nparts; p++)
        if (t->parts[p].id == partition) return t->parts[p].high;
    return -1;
}

/* Committed offsets of group, summed against the snapshot's high watermarks (lag). */
static void group_offsets(sl_collector *col, const sl_ck_snapshot *snap, col_group *g)
{
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(g->name, NULL);
    rd_kafka_queue_t *q = rd_kafka_queue_new(col->rk);
    rd_kafka_AdminOptions_t *o =
        rd_kafka_AdminOptions_new(col->rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_AdminOptions_set_request_timeout(o, KAFKA_TIMEOUT, NULL, 0);
    rd_kafka_ListConsumerGroupOffsets(col->rk, &req, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KAFKA_TIMEOUT + 500);
    g->lag = -1;
    const rd_kafka_ListConsumerGroupOffsets_result_t *res =
        ev ? rd_kafka_event_ListConsumerGroupOffsets_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_group_result_t **gr =
        res ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n) : NULL;
    if (n == 1 && !rd_kafka_group_result_error(gr[0])) {
        const rd_kafka_topic_partition_list_t *pl = rd_kafka_group_result_partitions(gr[0]);
        int64_t lag = 0, committed = 0;
        for (int i = 0; pl && i < pl->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &pl->elems[i];
            if (tp->offset < 0) continue;
            int64_t hi = snap_high(snap, tp->topic, tp->partition);
            if (hi < 0) {
                lag = -1; /* a partial sum would understate it */
                break;
            }
            committed += tp->offset;
            lag += hi > tp->offset ? hi - tp->offset : 0;
        }
        g->lag = lag;
        g->committed = lag < 0 ? -1 : committed;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
}

/* Topics and groups: one metadata request and two ListOffsets round trips for every
 * partition (sl_ck_snapshot_take_rk), then one offsets request per group. */
static void poll_kafka(sl_collector *col, col_sample *s)
{
    if (!col->rk) col->rk = kafka_new(col->cfg);
    if (!col->rk) return;
    sl_ck_snapshot snap;
    char err[256];
    if (sl_ck_snapshot_take_rk(col->rk, KAFKA_TIMEOUT, col->cfg->kafka, NULL, &snap, err,
                               sizeof err)) {
        SL_DEBUG("console", "kafka sample: %s", err);
        return;
    }
    s->up[COL_BROKER] = true;
    s->topics = sl_calloc(snap.ntopics + 1, sizeof *s->topics);
    for (size_t i = 0; i < snap.ntopics; i++) {
        const sl_ck_topic *t = &snap.topics[i];
        if (t->err || t->name[0] == '_') continue; /* internal topics: __groups, _schemas */
        col_topic *ct = &s->topics[s->ntopics++];
        ct->name = sl_strdup(t->name);
        ct->partitions = t->nparts;
        for (int p = 0; p < t->nparts; p++) {
            if (t->parts[p].low < 0 || t->parts[p].high < 0) {
                /* A partial sum would read as a drop, then a burst: unknown this time. */
                ct->start = ct->end = -1;
                break;
            }
            ct->start += t->parts[p].low;
            ct->end += t->parts[p].high;
        }
    }
    const struct rd_kafka_group_list *gl = NULL;
    if (rd_kafka_list_groups(col->rk, NULL, &gl, KAFKA_TIMEOUT) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->groups = sl_calloc((size_t)gl->group_cnt + 1, sizeof *s->groups);
        for (int i = 0; i < gl->group_cnt && !atomic_load(&col->stopping); i++) {
            col_group *g = &s->groups[s->ngroups++];
            g->name = sl_strdup(gl->groups[i].group);
            g->state = sl_strdup(gl->groups[i].state ? gl->groups[i].state : "");
            g->members = gl->groups[i].member_cnt;
            group_offsets(col, &snap, g);
        }
        rd_kafka_group_list_destroy(gl);
    }
    sl_ck_snapshot_free(&snap);
}

/* Counts cfg->table ("keyspace.table") a page at a time (sl_cqlc_count_rows): a single
 * SELECT count(*) would hold sluice store's loop, and every other client with it, for the whole
 * scan. Returns 0 with *n set. */
static int count_rows(sl_collector *col, int64_t *n)
{
    const char *dot = strchr(col->cfg->table, '.');
    if (!dot) return -1;
    char *ks = sl_strndup(col->cfg->table, (size_t)(dot - col->cfg->table));
    bool more;
    sl_cqlc_error err;
    int rc = sl_cqlc_count_rows(col->cql, ks, dot + 1, 0, &col->stopping, n, &more, &err);
    sl_free(ks);
    return rc;
}

/* The store: up when it answers, and the table's row count. Counting scans the table, so it
 * runs at most every ROWS_EVERY_MS, and no more than a tenth of the time (a count that took
 * 3 s waits 30 s for the next); between counts the last one is carried forward. */
static void poll_store(sl_collector *col, col_sample *s)
{
    sl_cqlc_error err;
    if (!col->cql) {
        sl_cqlc_opts o;
        sl_cqlc_opts_default(&o);
        o.contact_points = col->cfg->cql;
        o.user = col->cfg->cql_user;
        o.password = col->cfg->cql_password;
        o.tls_ca = col->cfg->cql_tls_ca;
        o.connect_timeout_ms = 1000;
        o.request_timeout_ms = 2000;
        if (sl_cqlc_open(&o, &col->cql, &err)) {
            col->cql = NULL;
            return;
        }
    }
    sl_cqlc_result *res = NULL;
    int rc = sl_cqlc_query(col->cql, "SELECT release_version FROM system.local", NULL, 0, NULL,
                           &res, &err);
    if (res) sl_cqlc_result_free(res);
    if (rc && rc != SL_CQLC_ESERVER) {
        /* The connection is gone: reconnect next time. */
        sl_cqlc_close(col->cql);
        col->cql = NULL;
        return;
    }
    s->up[COL_STORE] = true;
    int64_t now = sl_mono_ms();
    if (col->rows_at == 0 || now - col->rows_at >= SL_MAX(ROWS_EVERY_MS, 10 * col->rows_took)) {
        int64_t n;
        if (count_rows(col, &n) == 0) {
            col->rows = n;
            col->rows_at = sl_mono_ms();
            col->rows_took = col->rows_at - now;
        }
    }
    s->rows = col->rows;
}

static void poll_registry(sl_collector *col, col_sample *s)
{
    char url[600];
    snprintf(url, sizeof url, "%s/subjects", col->cfg->registry);
    json_t *j = get_json(col, url);
    if (json_is_array(j)) {
        s->up[COL_REGISTRY] = true;
        s->subjects = (int64_t)json_array_size(j);
    }
    json_decref(j);
}

static int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void poll_processors(sl_collector *col, col_sample *s)
{
    const char *list = col->cfg->process_metrics;
    s->p_lag = 0;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char url[300];
        snprintf(url, sizeof url, "http://%.*s/metrics.json", (int)SL_MIN(n, 200), list);
        list += n + (list[n] == ',');
        json_t *j = get_json(col, url);
        if (!json_is_object(j)) {
            json_decref(j);
            continue;
        }
        s->nproc++;
        s->p_in += jint(j, "in");
        s->p_out += jint(j, "out");
        s->p_invalid += jint(j, "invalid");
        s->p_batches += jint(j, "batches");
        s->p_retries += jint(j, "sink_retries");
        if (jint(j, "lag") > 0) s->p_lag += jint(j, "lag");
        double p99 =
            json_number_value(json_object_get(json_object_get(j, "batch_latency_ms"), "p99"));
        if (p99 > s->p_batch_p99_ms) s->p_batch_p99_ms = p99;
        json_decref(j);
    }
    s->up[COL_PROCESSOR] = s->nproc > 0;
}

static const char *const run_states[4] = {"queued", "running", "success", "failed"};

/* The DAGs, each one's run counts by state, and the latest run of all (by start). */
static void poll_scheduler(sl_collector *col, col_sample *s)
{
    char url[800];
    const char *base = col->cfg->scheduler;
    snprintf(url, sizeof url, "%s/api/v1/dags?limit=100", base);
    json_t *dags = get_json(col, url);
    json_t *list = json_object_get(dags, "dags");
    if (!json_is_array(list)) {
        json_decref(dags);
        return;
    }
    s->up[COL_SCHEDULER] = true;
    s->ndags = (int)json_array_size(list);
    char latest[64] = ""; /* start_date of the latest run so far */
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        const char *id = json_string_value(json_object_get(d, "dag_id"));
        if (!id || strlen(id) > 200) continue;
        int64_t total = 0;
        for (int k = 0; k < 4; k++) {
            snprintf(url, sizeof url, "%s/api/v1/dags/%s/dagRuns?limit=1&state=%s", base, id,
                     run_states[k]);
            json_t *r = get_json(col, url);
            int64_t n = jint(r, "total_entries");
            s->runs[k] += n;
            total += n;
            json_decref(r);
        }
        if (total == 0) continue;
        /* Runs are listed by logical date: the last page of one is the latest run. */
        snprintf(url, sizeof url, "%s/api/v1/dags/%s/dagRuns?limit=1&offset=%lld", base, id,
                 (long long)(total > 0 ? total - 1 : 0));
        json_t *r = get_json(col, url);
        json_t *run = json_array_get(json_object_get(r, "dag_runs"), 0);
        const char *state = json_string_value(json_object_get(run, "state"));
        const char *start = json_string_value(json_object_get(run, "start_date"));
        const char *rid = json_string_value(json_object_get(run, "dag_run_id"));
        if (state && !strcmp(state, "failed")) s->dags_failed++;
        /* ISO-8601 UTC strings order as their instants do. */
        if (state && rid && (!s->last_state[0] || strcmp(start ? start : "", latest) >= 0)) {
            snprintf(latest, sizeof latest, "%s", start ? start : "");
            snprintf(s->last_dag, sizeof s->last_dag, "%s", id);
            snprintf(s->last_state, sizeof s->last_state, "%s", state);
            snprintf(s->last_run, sizeof s->last_run, "%s", rid);
        }
        json_decref(r);
    }
    json_decref(dags);
}

static const col_topic *find_topic(const col_sample *s, const char *name)
{
    for (size_t i = 0; s && i < s->ntopics; i++)
        if (!strcmp(s->topics[i].name, name)) return &s->topics[i];
    return NULL;
}

static const col_group *find_group(const col_sample *s, const char *name)
{
    for (size_t i = 0; s && i < s->ngroups; i++)
        if (!strcmp(s->groups[i].name, name)) return &s->groups[i];
    return NULL;
}

static double per_s(int64_t now, int64_t before, int64_t dt_ms)
{
    if (dt_ms <= 0 || now < 0 || before < 0 || now < before) return 0;
    return (double)(now - before) * 1000.0 / (double)dt_ms;
}

static void rates(col_sample *s, const col_sample *p)
{
    int64_t dt = p ? s->t_ms - p->t_ms : 0;
    for (size_t i = 0; i < s->ntopics; i++) {
        const col_topic *pt = find_topic(p, s->topics[i].name);
        s->topics[i].rate = pt ? per_s(s->topics[i].end, pt->end, dt) : 0;
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        const col_group *pg = find_group(p, s->groups[i].name);
        s->groups[i].rate = pg ? per_s(s->groups[i].committed, pg->committed, dt) : 0;
    }
    s->p_in_rate = p && p->nproc ? per_s(s->p_in, p->p_in, dt) : 0;
    /* Rows written: the processors' acknowledged writes, else the (less frequent) counts. */
    if (p && p->nproc && s->nproc)
        s->rows_rate = per_s(s->p_out, p->p_out, dt);
    else
        s->rows_rate = p && s->rows != p->rows ? per_s(s->rows, p->rows, dt) : 0;
}

static void prom_metric(sl_buf *b, const char *name, const char *type, const char *help)
{
    sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here are topic, group and DAG names; escape what the text format requires. */
static void prom_label(sl_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sl_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            sl_buf_append_str(b, "\\n");
        else
            sl_buf_append(b, v, 1);
    }
}

static void render_prom(const col_sample *s, sl_buf *b)
{
    static const char *const comp[COL_N] = {"broker", "store", "registry", "scheduler",
                                            "processor"};
    sl_buf_reset(b);
    prom_metric(b, "sluice_up", "gauge", "1 when the component answered the last poll");
    for (int i = 0; i < COL_N; i++)
        sl_buf_printf(b, "sluice_up{component=\"%s\"} %d\n", comp[i], s->up[i] ? 1 : 0);
    if (s->up[COL_BROKER]) {
        prom_metric(b, "sluice_kafka_topic_partitions", "gauge", "partitions of a topic");
        for (size_t i = 0; i < s->ntopics; i++) {
            sl_buf_append_str(b, "sluice_kafka_topic_partitions{topic=\"");
            prom_label(b, s->topics[i].name);
            sl_buf_printf(b, "\"} %d\n", s->topics[i].partitions);
        }
        prom_metric(b, "sluice_kafka_topic_end_offset", "counter",
                    "records ever appended to a topic (high watermarks summed)");
        for (size_t i = 0; i < s->ntopics; i++) {
            if (s->topics[i].end < 0) continue;
            sl_buf_append_str(b, "sluice_kafka_topic_end_offset{topic=\"");
            prom_label(b, s->topics[i].name);
            sl_buf_printf(b, "\"} %lld\n", (long long)s->topics[i].end);
        }
        prom_metric(b, "sluice_kafka_topic_messages", "gauge",
                    "records a topic holds (high minus low watermarks)");
        for (size_t i = 0; i < s->ntopics; i++) {
            if (s->topics[i].end < 0) continue;
            sl_buf_append_str(b, "sluice_kafka_topic_messages{topic=\"");
            prom_label(b, s->topics[i].name);
            sl_buf_printf(b, "\"} %lld\n", (long long)(s->topics[i].end - s->topics[i].start));
        }
        prom_metric(b, "sluice_kafka_group_members", "gauge", "members of a consumer group");
        for (size_t i = 0; i < s->ngroups; i++) {
            sl_buf_append_str(b, "sluice_kafka_group_members{group=\"");
            prom_label(b, s->groups[i].name);
            sl_buf_printf(b, "\"} %d\n", s->groups[i].members);
        }
        prom_metric(b, "sluice_kafka_group_lag", "gauge",
                    "records not yet committed by a consumer group, summed over partitions");
        for (size_t i = 0; i < s->ngroups; i++) {
            if (s->groups[i].lag < 0) continue;
            sl_buf_append_str(b, "sluice_kafka_group_lag{group=\"");
            prom_label(b, s->groups[i].name);
            sl_buf_printf(b, "\"} %lld\n", (long long)s->groups[i].lag);
        }
    }
    if (s->up[COL_STORE] && s->rows >= 0) {
        prom_metric(b, "sluice_store_table_rows", "gauge", "rows of the pipeline's table");
        sl_buf_printf(b, "sluice_store_table_rows %lld\n", (long long)s->rows);
    }
    if (s->up[COL_REGISTRY]) {
        prom_metric(b, "sluice_registry_subjects", "gauge", "subjects in the schema registry");
        sl_buf_printf(b, "sluice_registry_subjects %lld\n", (long long)s->subjects);
    }
    if (s->up[COL_PROCESSOR]) {
        static const struct {
            const char *name, *help;
            size_t off;
        } pm[] = {
            {"sluice_processor_records_in_total", "records consumed", offsetof(col_sample, p_in)},
            {"sluice_processor_rows_out_total", "rows acknowledged by the sink",
             offsetof(col_sample, p_out)},
            {"sluice_processor_invalid_total", "records sent to the DLQ",
             offsetof(col_sample, p_invalid)},
            {"sluice_processor_batches_total", "batches committed",
             offsetof(col_sample, p_batches)},
            {"sluice_processor_sink_retries_total", "failed sink writes, each retried",
             offsetof(col_sample, p_retries)},
        };
        for (size_t i = 0; i < SL_ARRAY_LEN(pm); i++) {
            prom_metric(b, pm[i].name, "counter", pm[i].help);
            sl_buf_printf(b, "%s %lld\n", pm[i].name,
                          (long long)*(const int64_t *)((const char *)s + pm[i].off));
        }
        prom_metric(b, "sluice_processor_lag", "gauge", "records assigned but not committed");
        sl_buf_printf(b, "sluice_processor_lag %lld\n", (long long)s->p_lag);
        prom_metric(b, "sluice_processor_batch_p99_seconds", "gauge",
                    "batch latency, first record in to commit, p99 over recent batches");
        sl_buf_printf(b, "sluice_processor_batch_p99_seconds %.6f\n", s->p_batch_p99_ms / 1000);
        prom_metric(b, "sluice_processors", "gauge", "processors answering");
        sl_buf_printf(b, "sluice_processors %d\n", s->nproc);
    }
    if (s->up[COL_SCHEDULER]) {
        prom_metric(b, "sluice_scheduler_dags", "gauge", "DAGs loaded");
        sl_buf_printf(b, "sluice_scheduler_dags %d\n", s->ndags);
        prom_metric(b, "sluice_scheduler_dag_runs", "gauge", "DAG runs by state");
        for (int k = 0; k < 4; k++)
            sl_buf_printf(b, "sluice_scheduler_dag_runs{state=\"%s\"} %lld\n", run_states[k],
                          (long long)s->runs[k]);
        prom_metric(b, "sluice_scheduler_dags_last_run_failed", "gauge",
                    "DAGs whose latest run failed");
        sl_buf_printf(b, "sluice_scheduler_dags_last_run_failed %d\n", s->dags_failed);
    }
    prom_metric(b, "sluice_console_collect_seconds", "gauge", "how long the last poll took");
    sl_buf_printf(b, "sluice_console_collect_seconds %.6f\n", s->collect_ms / 1000);
}

/* The supervisor's events: JSON lines, the last 50 of the file's tail. */
static json_t *read_events(const char *path)
{
    json_t *a = json_array();
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return a;
    char *buf = sl_malloc(EVENTS_TAIL + 1);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > EVENTS_TAIL ? size - EVENTS_TAIL : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, EVENTS_TAIL, f);
    fclose(f);
    buf[n] = '\0';
    char *line = buf;
    if (from > 0)
        line = strchr(buf, '\n') ? strchr(buf, '\n') + 1 : buf + n; /* a torn first line */
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        json_t *e = json_loads(line, 0, NULL);
        if (json_is_object(e))
            json_array_append_new(a, e);
        else
            json_decref(e);
    }
    sl_free(buf);
    while (json_array_size(a) > 50)
        json_array_remove(a, 0);
    return a;
}

static void render_overview(sl_collector *col, const col_sample *s, sl_buf *b)
{
    const sl_console_config *cfg = col->cfg;
    const col_topic *t = find_topic(s, cfg->topic);
    const col_topic *dlq = find_topic(s, cfg->dlq_topic);
    const col_group *g = find_group(s, cfg->group);
    json_t *comps = json_object();
    static const char *const comp[COL_N] = {"broker", "store", "registry", "scheduler",
                                            "processor"};
    for (int i = 0; i < COL_N; i++)
        json_object_set_new(comps, comp[i], json_boolean(s->up[i]));
    json_t *hist = json_array();
    for (size_t k = col->nhist > HIST ? col->nhist - HIST : 0; k < col->nhist; k++) {
        const hist_point *h = &col->hist[k % HIST];
        json_array_append_new(hist, json_pack("[I, f, f, f, f, I]", (json_int_t)h->t_ms, h->in_rate,
                                              h->proc_rate, h->rows_rate, h->dlq_rate,
                                              (json_int_t)h->lag));
    }
    double proc_rate = s->nproc ? s->p_in_rate : (g ? g->rate : 0);
    json_t *o = json_pack(
        "{s:I, s:o, s:{s:s, s:I, s:I, s:f}, s:{s:s, s:I, s:f}, s:{s:s, s:I, s:I, s:f, s:s, s:i},"
        " s:{s:s, s:I, s:f}, s:{s:I, s:I, s:I, s:I, s:f}, s:{s:i, s:i, s:s, s:s, s:s},"
        " s:I, s:o, s:f}",
        "t", (json_int_t)s->t_ms, "components", comps, "topic", "name", cfg->topic, "messages",
        (json_int_t)(t && t->end >= 0 ? t->end - t->start : -1), "end",
        (json_int_t)(t ? t->end : -1), "rate", t ? t->rate : 0.0, "dlq", "name", cfg->dlq_topic,
        "messages", (json_int_t)(dlq && dlq->end >= 0 ? dlq->end - dlq->start : -1), "rate",
        dlq ? dlq->rate : 0.0, "group", "name", cfg->group, "lag", (json_int_t)(g ? g->lag : -1),
        "committed", (json_int_t)(g ? g->committed : -1), "rate", g ? g->rate : 0.0, "state",
        g ? g->state : "", "members", g ? g->members : 0, "table", "name", cfg->table, "rows",
        (json_int_t)s->rows, "rate", s->rows_rate, "processor", "count", (json_int_t)s->nproc, "in",
        (json_int_t)s->p_in, "out", (json_int_t)s->p_out, "invalid", (json_int_t)s->p_invalid,
        "rate", proc_rate, "scheduler", "dags", s->ndags, "dags_failed", s->dags_failed, "last_dag",
        s->last_dag, "last_run", s->last_run, "last_state", s->last_state, "subjects",
        (json_int_t)s->subjects, "history", hist, "collect_ms", s->collect_ms);
    json_object_set_new(o, "alerts_firing", col_alerts_firing(col->alerts));
    json_object_set_new(o, "events", read_events(cfg->events));
    char *text = json_dumps(o, JSON_COMPACT);
    sl_buf_reset(b);
    sl_buf_append_str(b, text);
    free(text);
    json_decref(o);
}

static void collect_once(sl_collector *col)
{
    col_sample s = {0};
    s.rows = -1;
    s.subjects = -1;
    uint64_t t0 = sl_mono_ns();
    s.t_ms = sl_now_ms();
    /* Each poll blocks for at most a timeout or two when its component is down; a stop
     * request is checked between them so that closing the console waits for one at most. */
    static void (*const polls[])(sl_collector *, col_sample *) = {
        poll_kafka, poll_store, poll_registry, poll_processors, poll_scheduler};
    for (size_t i = 0; i < SL_ARRAY_LEN(polls) && !atomic_load(&col->stopping); i++)
        polls[i](col, &s);
    s.collect_ms = (double)(sl_mono_ns() - t0) / 1e6;
    rates(&s, col->have_prev ? &col->prev : NULL);
    col_alerts_eval(col->alerts, &s);

    const col_topic *t = find_topic(&s, col->cfg->topic);
    const col_topic *dlq = find_topic(&s, col->cfg->dlq_topic);
    const col_group *g = find_group(&s, col->cfg->group);
    hist_point h = {s.t_ms,      t ? t->rate : 0,     s.nproc ? s.p_in_rate : (g ? g->rate : 0),
                    s.rows_rate, dlq ? dlq->rate : 0, g ? g->lag : -1};
    sl_buf prom, ov;
    sl_buf_init(&prom);
    sl_buf_init(&ov);
    render_prom(&s, &prom);
    pthread_mutex_lock(&col->mu);
    col->hist[col->nhist % HIST] = h;
    col->nhist++;
    render_overview(col, &s, &ov);
    sl_buf_move(&col->prom, &prom);
    sl_buf_move(&col->overview, &ov);
    pthread_mutex_unlock(&col->mu);
    sl_buf_free(&prom);
    sl_buf_free(&ov);
    if (col->have_prev) sample_free(&col->prev);
    col->prev = s;
    col->have_prev = true;
}

static void *collector_main(void *arg)
{
    sl_collector *col = arg;
    pthread_mutex_lock(&col->mu);
    while (!col->stop) {
        pthread_mutex_unlock(&col->mu);
        int64_t t0 = sl_mono_ms();
        collect_once(col);
        int64_t wait = col->cfg->collect_ms - (sl_mono_ms() - t0);
        pthread_mutex_lock(&col->mu);
        if (wait > 0 && !col->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&col->cv, &col->mu, &ts);
        }
    }
    pthread_mutex_unlock(&col->mu);
    return NULL;
}

sl_collector *sl_collector_start(const sl_console_config *cfg)
{
    sl_collector *col = sl_calloc(1, sizeof *col);
    col->cfg = cfg;
    col->rows = -1;
    pthread_mutex_init(&col->mu, NULL);
    pthread_cond_init(&col->cv, NULL);
    sl_buf_init(&col->prom);
    sl_buf_init(&col->overview);
    col->alerts = col_alerts_new(cfg);
    col->curl = curl_easy_init();
    pthread_create(&col->thread, NULL, collector_main, col);
    return col;
}

void sl_collector_free(sl_collector *col)
{
    if (!col) return;
    atomic_store(&col->stopping, true);
    pthread_mutex_lock(&col->mu);
    col->stop = true;
    pthread_cond_signal(&col->cv);
    pthread_mutex_unlock(&col->mu);
    pthread_join(col->thread, NULL);
    if (col->have_prev) sample_free(&col->prev);
    if (col->rk) rd_kafka_destroy(col->rk);
    if (col->cql) sl_cqlc_close(col->cql);
    curl_easy_cleanup(col->curl);
    col_alerts_free(col->alerts);
    sl_buf_free(&col->prom);
    sl_buf_free(&col->overview);
    pthread_cond_destroy(&col->cv);
    pthread_mutex_destroy(&col->mu);
    sl_free(col);
}

void sl_collector_prometheus(sl_collector *col, sl_buf *out)
{
    pthread_mutex_lock(&col->mu);
    if (col->prom.len)
        sl_buf_append(out, col->prom.ptr, col->prom.len);
    else
        sl_buf_append_str(out, "# the first poll of the components has not finished yet\n");
    pthread_mutex_unlock(&col->mu);
}

void sl_collector_overview(sl_collector *col, sl_buf *out)
{
    pthread_mutex_lock(&col->mu);
    if (col->overview.len)
        sl_buf_append(out, col->overview.ptr, col->overview.len);
    else
        sl_buf_append_str(out, "{\"t\":0}");
    pthread_mutex_unlock(&col->mu);
}

void sl_collector_alerts(sl_collector *col, sl_buf *out)
{
    json_t *j = col_alerts_json(col->alerts);
    char *text = json_dumps(j, JSON_COMPACT);
    sl_buf_append_str(out, text);
    free(text);
    json_decref(j);
}

int sl_collector_set_rules(sl_collector *col, json_t *rules, char *err, size_t errlen)
{
    return col_alerts_set_rules(col->alerts, rules, err, errlen);
}
