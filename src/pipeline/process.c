/* process.c: the processor loop. The processor thread polls the librdkafka consumer, parses
 * each record into the current batch (rows borrow from the consumed messages, which are kept
 * until the batch is committed) and produces refused records to the DLQ at once. When the batch
 * is full or has lingered long enough it goes to the writer thread, which writes batches to the
 * sink in order (retrying forever), while the processor fills the next one. Up to max_batches
 * + 1 are held; the oldest is committed once the writer has written it and its DLQ deliveries are
 * in, so commits follow consumption order and never pass an unacknowledged record. With a
 * window, each batch also carries the window's rows and a checkpoint of its state taken as the
 * batch was cut; the writer writes the rows after the batch's, and the checkpoint is written
 * (in batch order) before the batch's offsets are committed, so state and offsets agree.
 *
 * The consumer uses the eager rebalance protocol: the revoke callback runs inside
 * rd_kafka_consumer_poll, between two records, so the batch in hand is exactly what was
 * consumed from the partitions being given up; it is flushed and committed synchronously
 * before the assignment is dropped. */
#include "pipeline/process.h"

#include "auth/auth.h"
#include "core/log.h"
#include "pipeline/avro.h"
#include "pipeline/sink.h"
#include "web/http.h"

#include <librdkafka/rdkafka.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define LOG "process"

#define LAT_RING             1024 /* batch latencies kept for p50/p99 */
#define BACKOFF_MIN_MS       100
#define BACKOFF_MAX_MS       5000
#define LAG_INTERVAL_MS      1000
#define COMMITTED_TIMEOUT_MS 5000 /* one OffsetFetch of the start offsets after an assignment */
#define CLOCK_EVERY          64   /* records taken between clock reads while records stream in */
/* format avro: one registry request's timeout, and how long an unreachable registry is retried
 * before the record goes to the DLQ as registry_unavailable */
#define AVRO_REGISTRY_TIMEOUT_MS 10000
#define AVRO_REGISTRY_RETRY_MS   30000

#define OPT_END                                                                                    \
    {                                                                                              \
        NULL, 0, NULL, 0, NULL, NULL, 0, 0                                                         \
    }

const sl_opt sl_process_opts[] = {
    {"kafka", SL_OPT_STR, "127.0.0.1:9092", offsetof(sl_process_config, kafka),
     "bootstrap servers, HOST:PORT[,HOST:PORT...]", NULL, 0, 0},
    {"topic", SL_OPT_STR, "users_created", offsetof(sl_process_config, topic), "source topic", NULL,
     0, 0},
    {"format", SL_OPT_ENUM, "json", offsetof(sl_process_config, format),
     "record format: json, or avro in Confluent's wire format (decoded by schema id, needs "
     "registry)",
     "json|avro", 0, 0},
    {"registry", SL_OPT_STR, NULL, offsetof(sl_process_config, registry),
     "Schema Registry URL (http://HOST:PORT) for format avro", NULL, 0, 0},
    {"group", SL_OPT_STR, "sluice-process", offsetof(sl_process_config, group), "consumer group",
     NULL, 0, 0},
    {"session_timeout", SL_OPT_DURATION, "10s", offsetof(sl_process_config, session_timeout_ms),
     "group session timeout: how soon a crashed member's partitions move to the others (and to "
     "its own restart)",
     NULL, 1000, 300000},
    {"dlq_topic", SL_OPT_STR, NULL, offsetof(sl_process_config, dlq_topic),
     "dead-letter topic (default: the source topic + \".dlq\")", NULL, 0, 0},
    {"sink", SL_OPT_STR, "cql://127.0.0.1:9042/spark_streams.created_users",
     offsetof(sl_process_config, sink),
     "where rows go: cql://[USER:PASS@]HOST:PORT/KS.TABLE (cassandra/cassandra unless given) "
     "or postgresql://...[?table=T]",
     NULL, 0, 0},
    {"batch_size", SL_OPT_INT, "5000", offsetof(sl_process_config, batch_size),
     "records per sink batch", NULL, 1, 1000000},
    {"linger", SL_OPT_DURATION, "100ms", offsetof(sl_process_config, linger_ms),
     "longest wait for a batch to fill before it is written", NULL, 0, 60000},
    {"max_inflight", SL_OPT_INT, "256", offsetof(sl_process_config, max_inflight),
     "sink requests in flight at once", NULL, 1, 65536},
    {"max_batches", SL_OPT_INT, "2", offsetof(sl_process_config, max_batches),
     "batches being written or queued for the sink while the next one is parsed (0: parse only "
     "once the previous batch is committed)",
     NULL, 0, 16},
    {"max_record_size", SL_OPT_SIZE, "1MiB", offsetof(sl_process_config, max_record_size),
     "larger records go to the DLQ as too_large", NULL, 1, 64 << 20},
    {"prefetch", SL_OPT_SIZE, "64MiB", offsetof(sl_process_config, prefetch_bytes),
     "records the consumer fetches ahead of the batch being parsed, in bytes "
     "(queued.max.messages.kbytes; under sluice up: 8MiB unless set)",
     NULL, 1 << 20, 1 << 30},
    {"sink_timeout", SL_OPT_DURATION, "10s", offsetof(sl_process_config, sink_timeout_ms),
     "timeout of one sink request", NULL, 1, 600000},
    {"drain_timeout", SL_OPT_DURATION, "30s", offsetof(sl_process_config, drain_timeout_ms),
     "after SIGTERM, how long a failing sink is retried before giving up (exit 1)", NULL, 0, 0},
    {"metrics_listen", SL_OPT_HOSTPORT, NULL, offsetof(sl_process_config, metrics_listen),
     "serve GET /metrics.json on HOST:PORT", NULL, 0, 0},
    {"metrics_tls_cert", SL_OPT_STR, NULL, offsetof(sl_process_config, metrics_tls_cert),
     "PEM certificate chain: the metrics listener serves HTTPS only", NULL, 0, 0},
    {"metrics_tls_key", SL_OPT_STR, NULL, offsetof(sl_process_config, metrics_tls_key),
     "PEM private key of the metrics certificate", NULL, 0, 0},
    {"metrics_interval", SL_OPT_DURATION, "10s", offsetof(sl_process_config, metrics_interval_ms),
     "how often the metrics are logged", NULL, 100, 86400000},
    {"log_level", SL_OPT_ENUM, "info", offsetof(sl_process_config, log_level), "log level",
     "error|warn|info|debug|trace", 0, 0},
    {"state_dir", SL_OPT_STR, NULL, offsetof(sl_process_config, state_dir),
     "directory of the window state (needed by window:)", NULL, 0, 0},
    {"window_preset", SL_OPT_ENUM, "none", offsetof(sl_process_config, window_preset),
     "a built-in window used when the file has no window: (docs/transforms.md)",
     "none|users_per_nat_minute", 0, 0},
    OPT_END,
};

void sl_process_config_init(sl_process_config *cfg)
{
    sl_config_defaults(sl_process_opts, cfg);
    cfg->schema = sl_schema_default();
    cfg->transform = NULL;
    cfg->window = NULL;
}

int sl_process_config_apply(sl_process_config *cfg, const sl_yaml *section, sl_errs *errs)
{
    size_t n0 = errs->n;
    if (!section) return 0;
    if (section->kind != SL_YAML_MAP) {
        sl_errs_add(errs, section->file, section->line, "pipeline: expected a map");
        return 1;
    }
    /* The option table knows the scalar keys; schema: and mapping: are structured. */
    sl_yaml scalars = *section;
    scalars.keys = sl_calloc(section->n ? section->n : 1, sizeof *scalars.keys);
    scalars.key_lines = sl_calloc(section->n ? section->n : 1, sizeof *scalars.key_lines);
    scalars.items = sl_calloc(section->n ? section->n : 1, sizeof *scalars.items);
    scalars.n = 0;
    const sl_yaml *schema = NULL, *mapping = NULL, *filter = NULL, *derive = NULL, *rules = NULL,
                  *window = NULL;
    for (size_t i = 0; i < section->n; i++) {
        if (!strcmp(section->keys[i], "schema")) {
            schema = section->items[i];
        } else if (!strcmp(section->keys[i], "mapping")) {
            mapping = section->items[i];
        } else if (!strcmp(section->keys[i], "filter")) {
            filter = section->items[i];
        } else if (!strcmp(section->keys[i], "derive")) {
            derive = section->items[i];
        } else if (!strcmp(section->keys[i], "rules")) {
            rules = section->items[i];
        } else if (!strcmp(section->keys[i], "window")) {
            window = section->items[i];
        } else {
            scalars.keys[scalars.n] = section->keys[i];
            scalars.key_lines[scalars.n] = section->key_lines[i];
            scalars.items[scalars.n++] = section->items[i];
        }
    }
    sl_config_apply(sl_process_opts, cfg, &scalars, "pipeline", errs);
    sl_free(scalars.keys);
    sl_free(scalars.key_lines);
    sl_free(scalars.items);
    if (schema || mapping) {
        sl_schema *s = NULL;
        if (sl_schema_from_yaml(schema, mapping, &s, errs) == 0) {
            sl_schema_free(cfg->schema);
            cfg->schema = s;
        }
    }
    if ((filter || derive || rules) && errs->n == n0) {
        size_t ncols;
        const sl_sink_column *cols = sl_schema_columns(cfg->schema, &ncols);
        sl_transform *t = NULL;
        if (sl_transform_from_yaml(filter, derive, rules, cols, ncols, &t, errs) == 0) {
            sl_transform_free(cfg->transform);
            cfg->transform = t;
        }
    }
    if (window && errs->n == n0) {
        size_t ncols;
        const sl_sink_column *cols = cfg->transform ? sl_transform_columns(cfg->transform, &ncols)
                                                    : sl_schema_columns(cfg->schema, &ncols);
        sl_window_spec *w = NULL;
        if (sl_window_spec_from_yaml(window, cols, ncols, &w, errs) == 0) {
            sl_window_spec_free(cfg->window);
            cfg->window = w;
        }
    }
    return (int)(errs->n - n0);
}

int sl_process_config_check(const sl_process_config *cfg, char *err, size_t errlen)
{
    if (strncmp(cfg->sink, "cql://", 6) && strncmp(cfg->sink, "postgresql://", 13) &&
        strncmp(cfg->sink, "postgres://", 11)) {
        snprintf(err, errlen, "sink: '%.40s' is neither cql:// nor postgresql://", cfg->sink);
        return SL_ERR_CONFIG;
    }
    if (!*cfg->topic) {
        snprintf(err, errlen, "topic: empty");
        return SL_ERR_CONFIG;
    }
    if ((cfg->window || strcmp(cfg->window_preset, "none")) &&
        (!cfg->state_dir || !*cfg->state_dir)) {
        snprintf(err, errlen, "state_dir: a window needs a directory for its state");
        return SL_ERR_CONFIG;
    }
    if (!strcmp(cfg->format, "avro") &&
        (!cfg->registry ||
         (strncmp(cfg->registry, "http://", 7) && strncmp(cfg->registry, "https://", 8)))) {
        snprintf(err, errlen, "format avro needs registry: http://HOST:PORT");
        return SL_ERR_CONFIG;
    }
    return 0;
}

void sl_process_config_free(sl_process_config *cfg)
{
    sl_config_free(sl_process_opts, cfg);
    sl_schema_free(cfg->schema);
    cfg->schema = NULL;
    sl_transform_free(cfg->transform);
    cfg->transform = NULL;
    sl_window_spec_free(cfg->window);
    cfg->window = NULL;
}

typedef enum { DLQ_INFLIGHT, DLQ_DELIVERED, DLQ_FAILED } dlq_state;

/* A refused record of a batch; its message stays alive until the batch is done. */
typedef struct dlq_item {
    rd_kafka_message_t *m;
    sl_rec_error err;
    const char *reason; /* a transform's refusal ("rule_failed", ...) instead of err's name */
    const char *rule;   /* rule_failed: the rule, for the `rule` header */
    dlq_state state;
    bool drop_value; /* too large for the producer or the DLQ topic: forwarded without it */
    char detail[160];
} dlq_item;

/* A batch: consumed messages, their rows (borrowing from the messages and the arena), dead
 * letters and the offsets to commit. The processor thread owns it except while it is queued
 * for the writer, which then only reads rows and nrows and sets the fields under wmu. */
typedef struct batch {
    rd_kafka_message_t **msgs;
    size_t nmsgs;
    sl_sink_value *rows; /* batch_size * ncols */
    size_t nrows;
    sl_arena arena;
    dlq_item *dlq;
    size_t ndlq, dlqcap, dlq_inflight;
    int64_t *next_off; /* per partition: the offset to commit, -1 if not in the batch */
    size_t noffs;
    int32_t *touched; /* partitions with next_off set */
    size_t ntouched;
    int64_t start;
    int64_t wall_ms;        /* the wall clock at the batch's first record: age()'s "now" */
    const char *topic_name; /* of the consumed messages */
    /* With a window, taken as the batch is submitted: its rows as they stood then (strings in
     * arena) and the state's checkpoint with the batch's offsets. */
    sl_sink_value *wrows;
    size_t nwrows, wrowcap;
    sl_window_ckpt *ckpt;
    /* Set by the writer under wmu. */
    bool written;
    int write_rc; /* 0, or -1 when a drain gave up on it */
} batch;

struct sl_process {
    const sl_process_config *cfg;
    char *dlq_topic;
    char *sink_safe; /* the sink URL without its password, for logs */
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    sl_sink *sink;     /* used by the writer thread only once it runs */
    sl_avro_dec *avro; /* format avro */
    sl_buf decoded;    /* one record decoded to JSON, copied to the arena for the batch */
    const sl_sink_column *cols;
    size_t ncols;
    volatile sig_atomic_t stop;
    int64_t drain_deadline; /* set once stop is seen; 0 before (processor thread) */
    bool gave_up;     /* a drain gave up on a batch: exit 1, without the consumer close handshake */
    bool auth_failed; /* the broker refused our SASL credentials: stopped, exit 1 */

    /* A ring of batches: b[head] is the oldest not yet committed, then nsub batches handed to
     * the writer in order, then the one being filled (cur). Commits follow the ring's order,
     * so an offset is committed only when every record before it is acknowledged. */
    batch *b;
    size_t nb;    /* slots: depth + 1 */
    size_t depth; /* batches out with the writer while the next fills */
    size_t head, nsub;
    batch *cur; /* NULL while submit waits for a free slot */

    /* The writer thread: writes the submitted batches to the sink in order. Sender of work:
     * the processor thread (wsub); receiver: the writer, which answers through written. */
    pthread_t writer;
    bool writer_running, writer_quit;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    size_t wsub, wdone; /* batches submitted and written since the start (under wmu) */
    /* Failed sink writes, of both sinks: counted by the writer and the processor, published
     * as sink_retries while the retries go on. */
    atomic_uint_fast64_t sink_retries;

    /* Windowed aggregation (none without a window spec). */
    const sl_window_spec *wspec;
    sl_window_spec *wspec_owned; /* a preset's */
    sl_window *win;
    sl_sink *wsink; /* the window's: used by the writer thread only once it runs */
    size_t nwcols;
    char *wsink_url, *wsink_safe;
    char *state_path;
    int64_t *ckpt_off; /* per partition: the next offset the saved state covers, -1 none */
    size_t nckpt;

    /* Counters, owned by the processor thread; published under mu for other threads. */
    sl_process_metrics local;
    double lat[LAT_RING];
    size_t nlat;
    int64_t next_log, next_lag;
    pthread_mutex_t mu;
    sl_process_metrics pub;

    /* The metrics HTTP server: its own thread and loop, reading pub under mu. */
    uv_loop_t http_loop;
    uv_async_t http_stop; /* sender: sl_process_close (processor thread); receiver: http thread */
    sl_http_server *http;
    pthread_t http_thread;
    bool http_running;
};

/* librdkafka callbacks, all called on the processor thread from its poll calls */

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    SL_UNUSED(rk);
    if (level <= 3)
        SL_ERROR(LOG, "librdkafka %s: %s", fac, buf);
    else if (level <= 4)
        SL_WARN(LOG, "librdkafka %s: %s", fac, buf);
    else
        SL_DEBUG(LOG, "librdkafka %s: %s", fac, buf);
}

/* Served by the processor thread's polls. */
static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sl_process *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        /* Credentials the broker refuses stay refused: retrying would only repeat this line
         * while nothing is consumed. Stop as for SIGTERM and exit 1 (Spark's query fails too);
         * under `up` the supervisor restarts it with backoff. */
        if (!p->auth_failed)
            SL_ERROR(LOG,
                     "%s: Kafka authentication failed: %s; stopping (check sasl.username and "
                     "sasl.password in $SLUICE_KAFKA_CONFIG)",
                     rd_kafka_name(rk), reason);
        p->auth_failed = true;
        p->stop = 1;
        return;
    }
    SL_WARN(LOG, "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

/* A dead letter's opaque: its batch's slot in the ring and its index there. */
static void *dlq_opaque(const sl_process *p, size_t slot, size_t i)
{
    return (void *)(uintptr_t)(i * p->nb + slot);
}

static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    sl_process *p = opaque;
    uintptr_t v = (uintptr_t)m->_private;
    batch *b = &p->b[v % p->nb];
    size_t i = v / p->nb;
    /* A drain that gave up dropped the batch: a late report has nothing to update. */
    if (i >= b->ndlq || b->dlq[i].state != DLQ_INFLIGHT) return;
    b->dlq_inflight--;
    if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !b->dlq[i].drop_value) {
        /* The topic's max.message.bytes (Kafka's default is 1 MiB + 12 bytes) is under
         * max_record_size plus the headers: sent again as it is, it would be refused for ever
         * and its batch never committed. */
        b->dlq[i].state = DLQ_FAILED;
        b->dlq[i].drop_value = true;
        SL_WARN(LOG,
                "DLQ delivery to %s refused a %zu-byte value as too large; will produce it again "
                "without its value",
                p->dlq_topic, b->dlq[i].m->len);
    } else if (m->err) {
        b->dlq[i].state = DLQ_FAILED;
        SL_WARN(LOG, "DLQ delivery to %s failed (%s); will produce it again", p->dlq_topic,
                rd_kafka_err2str(m->err));
    } else {
        b->dlq[i].state = DLQ_DELIVERED;
    }
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    SL_UNUSED(rk);
    SL_UNUSED(offsets);
    SL_UNUSED(opaque);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        SL_WARN(LOG,
                "offset commit failed: %s (the records will be replayed and upserted "
                "again)",
                rd_kafka_err2str(err));
}

static int flush_batch(sl_process *p, bool sync_commit);
static void update_lag(sl_process *p);
static void periodic(sl_process *p, int64_t now);
static void nap(sl_process *p, int64_t ms, bool until_stop);
static int64_t backoff(int attempt);

/* Sets every partition of an assignment that has no start offset yet to its committed offset
 * (the topic's beginning if none), asking the coordinator ourselves until it answers. Left to
 * librdkafka 2.0, that query is dropped, not retried, when its answer is an error or arrives
 * after the assignment changed (rdkafka_assignment.c): the partition stays assigned with no
 * fetcher, which is how the processor stalled after a broker restart (docs/reliability.md).
 * An async commit still in flight may be missed: its records are then replayed (upserts). */
static void start_offsets(sl_process *p, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(q, parts->elems[i].topic, parts->elems[i].partition);
    for (int attempt = 0; q->cnt && !p->stop; attempt++) {
        rd_kafka_resp_err_t e = rd_kafka_committed(rk, q, COMMITTED_TIMEOUT_MS);
        for (int i = 0; !e && i < q->cnt; i++)
            e = q->elems[i].err;
        if (!e) {
            for (int i = 0; i < q->cnt; i++) {
                rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                    parts, q->elems[i].topic, q->elems[i].partition);
                /* No commit yet: auto.offset.reset (earliest) by hand. */
                tp->offset =
                    q->elems[i].offset >= 0 ? q->elems[i].offset : RD_KAFKA_OFFSET_BEGINNING;
            }
            break;
        }
        int64_t wait = backoff(attempt);
        SL_WARN(LOG,
                "fetching the committed offsets of %d partition(s): %s; retry %d in %" PRId64 " ms",
                q->cnt, rd_kafka_err2str(e), attempt + 1, wait);
        nap(p, wait, true);
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* Records held in batches not yet committed. */
static size_t held(const sl_process *p)
{
    size_t n = p->cur ? p->cur->nmsgs : 0;
    for (size_t k = 0; k < p->nsub; k++)
        n += p->b[(p->head + k) % p->nb].nmsgs;
    return n;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sl_process *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        SL_INFO(LOG, "assigned %d partition(s) of %s", parts->cnt,
                parts->cnt ? parts->elems[0].topic : p->cfg->topic);
        /* The window state covers input up to its saved offsets: start exactly there. */
        for (int i = 0; i < parts->cnt; i++) {
            size_t part = (size_t)parts->elems[i].partition;
            if (part < p->nckpt && p->ckpt_off[part] >= 0)
                parts->elems[i].offset = p->ckpt_off[part];
        }
        start_offsets(p, rk, parts);
        rd_kafka_assign(rk, parts);
        p->local.partitions = parts->cnt;
        return;
    }
    /* Revoked (or lost): write and commit every batch we hold before giving the partitions up,
     * so their next owner starts exactly after them. */
    SL_INFO(LOG, "revoking %d partition(s): flushing %zu record(s) first", parts->cnt, held(p));
    flush_batch(p, true);
    rd_kafka_assign(rk, NULL);
    p->local.partitions = 0;
}

/* Sleeps up to ms on the DLQ producer's poll (which serves its delivery reports). With
 * until_stop it returns early when a stop is requested; otherwise at the drain deadline. */
static void nap(sl_process *p, int64_t ms, bool until_stop)
{
    int64_t until = sl_mono_ms() + ms;
    for (int64_t now = sl_mono_ms(); now < until; now = sl_mono_ms()) {
        if (p->stop && (until_stop || (p->drain_deadline && now >= p->drain_deadline))) return;
        rd_kafka_poll(p->producer, (int)SL_MIN(until - now, 50));
    }
}

/* Whether a stop asked us to give up retrying: the drain deadline has passed. Each thread
 * keeps its own deadline, counted from when it first saw the stop. */
static bool gave_up(const sl_process *p, int64_t *deadline)
{
    if (!p->stop) return false;
    if (!*deadline) *deadline = sl_mono_ms() + p->cfg->drain_timeout_ms;
    return sl_mono_ms() >= *deadline;
}

static int64_t backoff(int attempt)
{
    int64_t ms = BACKOFF_MIN_MS << SL_MIN(attempt, 10);
    ms = SL_MIN(ms, BACKOFF_MAX_MS);
    return ms / 2 + rand() % (ms / 2 + 1); /* jitter */
}

/* Produces dead letter i of the batch in ring slot `slot`. A full local queue is waited out;
 * any other refusal marks it failed, to be produced again (with backoff) before its batch
 * commits. A value over the producer's message.max.bytes, or one the broker refused as too large
 * (on_dlq_delivery), goes without its value, flagged by a header. */
static void dlq_produce(sl_process *p, size_t slot, size_t i)
{
    batch *b = &p->b[slot];
    dlq_item *d = &b->dlq[i];
    rd_kafka_message_t *m = d->m;
    char part[16], off[24];
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    bool drop_value = d->drop_value;
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(7);
        rd_kafka_header_add(h, "error", -1, d->reason ? d->reason : sl_rec_error_name(d->err), -1);
        if (d->rule) rd_kafka_header_add(h, "rule", -1, d->rule, -1);
        rd_kafka_header_add(h, "error.message", -1, d->detail, -1);
        rd_kafka_header_add(h, "source.topic", -1, b->topic_name, -1);
        rd_kafka_header_add(h, "source.partition", -1, part, -1);
        rd_kafka_header_add(h, "source.offset", -1, off, -1);
        if (drop_value) rd_kafka_header_add(h, "value.dropped", -1, "too large to forward", -1);
        /* Copied: a drain that gives up frees the batch while a delivery may be pending. */
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->producer, RD_KAFKA_V_TOPIC(p->dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(drop_value ? NULL : m->payload, drop_value ? 0 : m->len),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(dlq_opaque(p, slot, i)), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            d->state = DLQ_INFLIGHT;
            b->dlq_inflight++;
            return;
        }
        rd_kafka_headers_destroy(h);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p->producer, 10);
        } else if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !drop_value) {
            drop_value = d->drop_value = true;
        } else {
            SL_WARN(LOG, "DLQ produce to %s failed (%s); will retry", p->dlq_topic,
                    rd_kafka_err2str(e));
            d->state = DLQ_FAILED;
            return;
        }
    }
}

static void note_offset(batch *b, const rd_kafka_message_t *m)
{
    size_t part = (size_t)m->partition;
    if (part >= b->noffs) {
        size_t n = SL_MAX(part + 1, b->noffs * 2);
        b->next_off = sl_realloc(b->next_off, n * sizeof *b->next_off);
        b->touched = sl_realloc(b->touched, n * sizeof *b->touched);
        for (size_t i = b->noffs; i < n; i++)
            b->next_off[i] = -1;
        b->noffs = n;
    }
    if (b->next_off[part] < 0) b->touched[b->ntouched++] = m->partition;
    b->next_off[part] = m->offset + 1;
}

/* Adds a refused record to the current batch's dead letters and produces it at once. */
static void dlq_add(sl_process *p, rd_kafka_message_t *m, sl_rec_error e, const char *reason,
                    const char *rule, const char *detail)
{
    batch *b = p->cur;
    if (b->ndlq == b->dlqcap) {
        b->dlqcap = b->dlqcap ? b->dlqcap * 2 : 64;
        b->dlq = sl_realloc(b->dlq, b->dlqcap * sizeof *b->dlq);
    }
    dlq_item *d = &b->dlq[b->ndlq++];
    d->m = m;
    d->err = e;
    d->reason = reason;
    d->rule = rule;
    d->state = DLQ_FAILED; /* until produced */
    d->drop_value = false;
    snprintf(d->detail, sizeof d->detail, "%s", detail);
    SL_DEBUG(LOG, "%s [%" PRId32 "] @%" PRId64 ": %s: %s", b->topic_name, m->partition, m->offset,
             reason ? reason : sl_rec_error_name(e), detail);
    dlq_produce(p, (size_t)(b - p->b), b->ndlq - 1);
}

/* Adds one consumed message to the current batch: a row, or a dead letter produced at once. */
static void take(sl_process *p, rd_kafka_message_t *m, int64_t now)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            SL_WARN(LOG, "consume: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return;
    }
    batch *b = p->cur;
    if (b->nmsgs == 0) {
        b->start = now;
        b->wall_ms = sl_now_ms();
        b->topic_name = rd_kafka_topic_name(m->rkt);
    }
    b->msgs[b->nmsgs++] = m;
    p->local.in++;
    note_offset(b, m);
    sl_sink_value *row = &b->rows[b->nrows * p->ncols];
    char detail[160];
    const void *value = m->payload;
    size_t len = m->len;
    sl_rec_error e = SL_REC_OK;
    if (p->avro) {
        /* Decoded to JSON for the parser; the rows borrow its text until the batch is done. */
        sl_buf_reset(&p->decoded);
        e = sl_avro_dec_json(p->avro, value, len, &p->decoded, detail, sizeof detail);
        if (e == SL_REC_OK) {
            len = p->decoded.len;
            value = memcpy(sl_arena_alloc(&b->arena, len ? len : 1), p->decoded.ptr, len);
        }
    }
    if (e == SL_REC_OK)
        e = sl_schema_parse(p->cfg->schema, value, len, (size_t)p->cfg->max_record_size, row,
                            &b->arena, detail, sizeof detail);
    if (e == SL_REC_OK && p->cfg->transform) {
        sl_tx_refusal why;
        switch (
            sl_transform_apply(p->cfg->transform, row, value, len, &b->arena, b->wall_ms, &why)) {
        case SL_TX_KEEP: break;
        case SL_TX_DROP: p->local.filtered++; return;
        case SL_TX_REFUSE: dlq_add(p, m, SL_REC_OK, why.reason, why.rule, why.detail); return;
        }
    }
    if (e == SL_REC_OK && p->win) {
        const char *reason;
        if (sl_window_add(p->win, row, value, len, rd_kafka_message_timestamp(m, NULL), &b->arena,
                          &reason, detail, sizeof detail) == SL_WIN_REFUSE) {
            dlq_add(p, m, SL_REC_OK, reason, NULL, detail);
            return;
        }
    }
    if (e == SL_REC_OK) {
        b->nrows++;
        return;
    }
    dlq_add(p, m, e, NULL, NULL, detail);
}

static void record_latency(sl_process *p, double ms)
{
    p->lat[p->nlat++ % LAT_RING] = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void publish(sl_process *p)
{
    size_t n = SL_MIN(p->nlat, (size_t)LAT_RING);
    double sorted[LAT_RING];
    memcpy(sorted, p->lat, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    p->local.batch_p50_ms = n ? sorted[(n - 1) / 2] : 0;
    p->local.batch_p99_ms = n ? sorted[(size_t)((double)(n - 1) * 0.99)] : 0;
    if (p->win) {
        sl_window_stats st;
        sl_window_stats_get(p->win, &st);
        p->local.late = st.late;
        p->local.missing_timestamp = st.missing_timestamp;
        p->local.windows = st.windows;
        p->local.window_bytes = st.bytes;
    }
    p->local.sink_retries = atomic_load(&p->sink_retries);
    pthread_mutex_lock(&p->mu);
    p->pub = p->local;
    pthread_mutex_unlock(&p->mu);
}

/* Sleeps up to ms on the writer thread, returning early at a stop (then at the drain deadline).
 * No librdkafka poll here: its callbacks belong to the processor thread. */
static void writer_sleep(sl_process *p, int64_t ms, const int64_t *deadline)
{
    int64_t until = sl_mono_ms() + ms;
    for (int64_t now = sl_mono_ms(); now < until; now = sl_mono_ms()) {
        if (p->stop && *deadline && now >= *deadline) return;
        uv_sleep((unsigned)SL_MIN(until - now, 50));
    }
}

/* Writes rows to a sink, retrying with backoff until it succeeds (0) or a drain gives up (-1,
 * the batch stays uncommitted). Runs on the writer thread for the main sink (sleeping there) and
 * on the processor thread for the window's (napping on the producer's poll). nmsgs is the
 * batch's record count, for the log. */
static int write_rows(sl_process *p, sl_sink *sink, const char *safe, const sl_sink_value *rows,
                      size_t nrows, size_t nmsgs, bool on_writer)
{
    int64_t writer_deadline = 0;
    int64_t *deadline = on_writer ? &writer_deadline : &p->drain_deadline;
    for (int attempt = 0; nrows;) {
        char err[256] = "";
        if (sl_sink_write(sink, rows, nrows, err, sizeof err) == 0) break;
        atomic_fetch_add(&p->sink_retries, 1);
        if (gave_up(p, deadline)) {
            SL_ERROR(LOG,
                     "sink %s still failing (%s) after the drain timeout; exiting with %zu "
                     "record(s) uncommitted (they will be processed again)",
                     safe, err, nmsgs);
            return -1;
        }
        int64_t wait = backoff(attempt++);
        SL_WARN(LOG, "sink %s: write of %zu row(s) failed: %s; retry %d in %" PRId64 " ms", safe,
                nrows, err, attempt, wait);
        if (on_writer) {
            writer_sleep(p, wait, deadline);
        } else {
            update_lag(p);
            publish(p);
            nap(p, wait, false);
        }
    }
    return 0;
}

/* The writer thread: writes the submitted batches to the main sink, oldest first, so the
 * processor can parse the next batch meanwhile. */
static void *writer_main(void *arg)
{
    sl_process *p = arg;
    bool failed = false;
    pthread_mutex_lock(&p->wmu);
    for (;;) {
        while (!p->writer_quit && p->wdone == p->wsub)
            pthread_cond_wait(&p->wcv, &p->wmu);
        if (p->wdone == p->wsub) break;
        /* Batch number n sits in slot n % nb (the ring advances one per batch). */
        batch *b = &p->b[p->wdone % p->nb];
        pthread_mutex_unlock(&p->wmu);
        /* After a drain gave up on a batch, the later ones are dropped too, unwritten. */
        int rc =
            failed ? -1 : write_rows(p, p->sink, p->sink_safe, b->rows, b->nrows, b->nmsgs, true);
        if (!rc && b->nwrows)
            rc = write_rows(p, p->wsink, p->wsink_safe, b->wrows, b->nwrows, b->nmsgs, true);
        failed = rc != 0;
        pthread_mutex_lock(&p->wmu);
        b->write_rc = rc;
        b->written = true;
        p->wdone++;
        pthread_cond_broadcast(&p->wcv);
    }
    pthread_mutex_unlock(&p->wmu);
    return NULL;
}

/* Writes the batch's window checkpoint (the state with the offsets it covers, the batch's
 * included) before the batch's offsets are committed: a restart seeks to these offsets, so
 * state and input always agree. Checkpoints are written in batch order, as commits are. */
static int save_state(sl_process *p, batch *b)
{
    for (int attempt = 0;;) {
        char err[256] = "";
        if (sl_window_ckpt_write(b->ckpt, err, sizeof err) == 0) return 0;
        if (gave_up(p, &p->drain_deadline)) {
            SL_ERROR(LOG, "window state: %s; giving up after the drain timeout", err);
            return -1;
        }
        int64_t wait = backoff(attempt++);
        SL_WARN(LOG, "window state: %s; retry %d in %" PRId64 " ms", err, attempt, wait);
        nap(p, wait, false);
    }
}

/* With a window, as the batch is submitted: copies the window's rows into the batch (its
 * arena keeps their strings), marks them written, and takes the state's checkpoint with the
 * offsets up to the batch's end. The next batch may then change the windows while this one is
 * written; were it lost, a restart replays it from the checkpoint before. */
static void window_cut(sl_process *p, batch *b)
{
    const sl_sink_value *wrows;
    size_t n = sl_window_rows(p->win, &wrows);
    if (n > b->wrowcap) {
        b->wrowcap = n;
        b->wrows = sl_realloc(b->wrows, n * p->nwcols * sizeof *b->wrows);
    }
    memcpy(b->wrows, wrows, n * p->nwcols * sizeof *b->wrows);
    for (size_t i = 0; i < n * p->nwcols; i++)
        if (b->wrows[i].str)
            b->wrows[i].str = sl_arena_strndup(&b->arena, b->wrows[i].str, b->wrows[i].len);
    b->nwrows = n;
    sl_window_written(p->win);
    for (size_t i = 0; i < b->ntouched; i++) {
        size_t part = (size_t)b->touched[i];
        if (part >= p->nckpt) {
            p->ckpt_off = sl_realloc(p->ckpt_off, (part + 1) * sizeof *p->ckpt_off);
            for (size_t k = p->nckpt; k <= part; k++)
                p->ckpt_off[k] = -1;
            p->nckpt = part + 1;
        }
        p->ckpt_off[part] = b->next_off[part];
    }
    b->ckpt = sl_window_checkpoint(p->win, p->state_path, p->ckpt_off, p->nckpt);
}

/* Waits until every dead letter of the batch is delivered, producing failed ones again with
 * backoff. Returns 0, or -1 when a drain gave up. */
static int dlq_settle(sl_process *p, batch *b)
{
    size_t slot = (size_t)(b - p->b);
    for (int attempt = 0;;) {
        while (b->dlq_inflight) {
            rd_kafka_poll(p->producer, 50);
            if (gave_up(p, &p->drain_deadline)) {
                SL_ERROR(LOG, "DLQ %s: deliveries still pending after the drain timeout",
                         p->dlq_topic);
                return -1;
            }
        }
        bool again = false;
        for (size_t i = 0; i < b->ndlq; i++)
            if (b->dlq[i].state == DLQ_FAILED) {
                if (!again) {
                    if (gave_up(p, &p->drain_deadline)) {
                        SL_ERROR(LOG, "DLQ %s: deliveries still failing after the drain timeout",
                                 p->dlq_topic);
                        return -1;
                    }
                    nap(p, backoff(attempt++), false);
                }
                again = true;
                dlq_produce(p, slot, i);
            }
        if (!again) return 0;
    }
}

/* Whether the writer is done with the oldest submitted batch. */
static bool oldest_written(sl_process *p)
{
    pthread_mutex_lock(&p->wmu);
    bool w = p->b[p->head].written;
    pthread_mutex_unlock(&p->wmu);
    return w;
}

/* Finishes the oldest submitted batch once the writer has written it: the window's rows and
 * state, the dead letters, then the commit of its offsets. A batch after one a drain gave up
 * on is dropped uncommitted. */
static void complete_oldest(sl_process *p, bool sync_commit)
{
    batch *b = &p->b[p->head];
    pthread_mutex_lock(&p->wmu);
    while (!b->written) {
        pthread_mutex_unlock(&p->wmu);
        /* Serve the DLQ reports and the metrics while the writer works. */
        rd_kafka_poll(p->producer, 5);
        periodic(p, sl_mono_ms());
        pthread_mutex_lock(&p->wmu);
        if (!b->written) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->wcv, &p->wmu, &ts);
        }
    }
    int rc = b->write_rc;
    pthread_mutex_unlock(&p->wmu);

    if (p->gave_up) rc = -1;
    if (!rc) rc = dlq_settle(p, b);
    if (!rc && p->win) rc = save_state(p, b);
    if (!rc) {
        rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new((int)b->ntouched);
        for (size_t i = 0; i < b->ntouched; i++)
            rd_kafka_topic_partition_list_add(offs, b->topic_name, b->touched[i])->offset =
                b->next_off[b->touched[i]];
        if (sync_commit && rd_kafka_assignment_lost(p->consumer)) {
            SL_WARN(LOG, "assignment lost: not committing (the records will be replayed)");
        } else {
            rd_kafka_resp_err_t e = rd_kafka_commit(p->consumer, offs, sync_commit ? 0 : 1);
            if (e && sync_commit)
                SL_WARN(LOG, "offset commit failed: %s (the records will be replayed)",
                        rd_kafka_err2str(e));
        }
        rd_kafka_topic_partition_list_destroy(offs);
        p->local.out += b->nrows;
        p->local.invalid += b->ndlq;
        p->local.batches++;
        record_latency(p, (double)(sl_mono_ms() - b->start));
    }
    if (rc) p->gave_up = true;
    for (size_t i = 0; i < b->nmsgs; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    for (size_t i = 0; i < b->ntouched; i++)
        b->next_off[b->touched[i]] = -1;
    sl_window_ckpt_free(b->ckpt);
    b->ckpt = NULL;
    b->nwrows = 0;
    b->nmsgs = b->nrows = b->ndlq = b->ntouched = 0;
    b->dlq_inflight = 0;
    b->written = false;
    sl_arena_reset(&b->arena);
    p->head = (p->head + 1) % p->nb;
    p->nsub--;
    publish(p);
}

/* Hands the current batch to the writer and starts the next one, first completing the oldest
 * when `depth` batches are already out. */
static void submit(sl_process *p)
{
    if (p->cur->nmsgs == 0) return;
    if (p->win) window_cut(p, p->cur);
    pthread_mutex_lock(&p->wmu);
    p->nsub++;
    p->wsub++;
    pthread_cond_broadcast(&p->wcv);
    pthread_mutex_unlock(&p->wmu);
    p->cur = NULL; /* no batch fills until a slot is free */
    while (p->nsub > p->depth)
        complete_oldest(p, false);
    p->cur = &p->b[(p->head + p->nsub) % p->nb];
}

/* Submits the current batch, then (sync_commit: a rebalance or the drain) waits for every
 * batch held to be written and committed, the last commit synchronously. Returns 0, or -1 when
 * a drain gave up (the batches are dropped uncommitted). */
static int flush_batch(sl_process *p, bool sync_commit)
{
    submit(p);
    if (sync_commit)
        while (p->nsub)
            complete_oldest(p, p->nsub == 1);
    return p->gave_up ? -1 : 0;
}

static void update_lag(sl_process *p)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(p->consumer, &a) || !a) return;
    rd_kafka_position(p->consumer, a);
    int64_t lag = 0;
    bool known = true;
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo, hi;
        rd_kafka_topic_partition_t *tp = &a->elems[i];
        if (rd_kafka_get_watermark_offsets(p->consumer, tp->topic, tp->partition, &lo, &hi) ||
            hi < 0) {
            known = false;
            continue;
        }
        int64_t pos = tp->offset >= 0 ? tp->offset : lo;
        if (hi > pos) lag += hi - pos;
    }
    p->local.partitions = a->cnt;
    /* Records consumed but not yet committed are still lag: they are not durable anywhere. */
    p->local.lag = known ? lag + (int64_t)held(p) : -1;
    rd_kafka_topic_partition_list_destroy(a);
}

static void periodic(sl_process *p, int64_t now)
{
    if (now >= p->next_lag) {
        update_lag(p);
        publish(p);
        p->next_lag = now + LAG_INTERVAL_MS;
    }
    if (now >= p->next_log) {
        publish(p);
        const sl_process_metrics *m = &p->pub;
        SL_INFO(LOG,
                "in=%" PRIu64 " out=%" PRIu64 " invalid=%" PRIu64 " filtered=%" PRIu64
                " batches=%" PRIu64 " batch_p50=%.1fms batch_p99=%.1fms lag=%" PRId64
                " partitions=%d "
                "sink_retries=%" PRIu64,
                m->in, m->out, m->invalid, m->filtered, m->batches, m->batch_p50_ms,
                m->batch_p99_ms, m->lag, m->partitions, m->sink_retries);
        p->next_log = now + p->cfg->metrics_interval_ms;
    }
}

static void on_metrics_json(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    sl_process_metrics m;
    sl_process_metrics_get(arg, &m);
    sl_process_metrics_json(&m, &resp->body);
    sl_buf_append_str(&resp->body, "\n");
}

static const sl_http_route metrics_routes[] = {
    {NULL, "/metrics.json", on_metrics_json},
    {NULL, NULL, NULL},
};

static void on_http_stop(uv_async_t *a)
{
    sl_process *p = a->data;
    sl_http_close(p->http);
    uv_close((uv_handle_t *)&p->http_stop, NULL);
}

static void *http_main(void *arg)
{
    sl_process *p = arg;
    uv_run(&p->http_loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Binds the metrics listener on a loop of its own, then hands the loop to a thread. */
static int metrics_open(sl_process *p, char *err, size_t errlen)
{
    uv_loop_init(&p->http_loop);
    sl_http_config hc = {.listen = p->cfg->metrics_listen,
                         .name = "process",
                         .routes = metrics_routes,
                         .arg = p,
                         .max_connections = 64,
                         .tls_cert = p->cfg->metrics_tls_cert,
                         .tls_key = p->cfg->metrics_tls_key};
    int rc = sl_http_open(&p->http_loop, &hc, &p->http);
    if (rc) {
        snprintf(err, errlen, "metrics_listen %s: %s", p->cfg->metrics_listen, sl_strerror(rc));
        uv_loop_close(&p->http_loop);
        return rc;
    }
    uv_async_init(&p->http_loop, &p->http_stop, on_http_stop);
    p->http_stop.data = p;
    pthread_create(&p->http_thread, NULL, http_main, p);
    p->http_running = true;
    char host[256];
    int port;
    sl_hostport_parse(p->cfg->metrics_listen, host, sizeof host, &port);
    SL_INFO(LOG, "metrics on %s://%s:%d/metrics.json", p->cfg->metrics_tls_cert ? "https" : "http",
            host, sl_http_port(p->http));
    return 0;
}

static void metrics_close(sl_process *p)
{
    if (!p->http_running) return;
    uv_async_send(&p->http_stop);
    pthread_join(p->http_thread, NULL);
    uv_run(&p->http_loop, UV_RUN_NOWAIT);
    uv_loop_close(&p->http_loop);
    p->http_running = false;
}

static char *redact_url(const char *url)
{
    /* Each redaction adds at most 3 bytes and needs at least 3 of input. */
    size_t n = 2 * strlen(url) + 8;
    return (char *)sl_auth_redact(url, sl_malloc(n), n);
}

static int kset(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen)
{
    if (rd_kafka_conf_set(c, k, v, err, errlen) == RD_KAFKA_CONF_OK) return 0;
    return SL_ERR_CONFIG;
}

/* The built-in windows of window_preset, over the seeds' schema. */
static const char *const preset_users_per_nat_minute =
    "window:\n"
    "  table: spark_streams.users_per_nat_minute\n"
    "  size: 1m\n"
    "  time: kafka\n"
    "  lateness: 5s\n"
    "  late: count\n"
    "  group_by: {nat: \"split_part(address, ', ', -1)\"}\n"
    "  aggregates: {users: count(), distinct_emails: count_distinct(email)}\n";

/* Sets up the window (the file's, or a preset's) and loads its saved state and offsets. */
static int window_open(sl_process *p, char *err, size_t errlen)
{
    const sl_process_config *cfg = p->cfg;
    p->wspec = cfg->window;
    if (!p->wspec && strcmp(cfg->window_preset, "none")) {
        sl_errs errs = {0};
        sl_yaml *y = NULL;
        if (sl_yaml_load_str(preset_users_per_nat_minute, strlen(preset_users_per_nat_minute),
                             cfg->window_preset, &y, &errs) == 0)
            sl_window_spec_from_yaml(sl_yaml_get(y, "window"), p->cols, p->ncols, &p->wspec_owned,
                                     &errs);
        sl_yaml_free(y);
        if (errs.n) {
            snprintf(err, errlen, "window_preset %s does not fit this schema: %s",
                     cfg->window_preset, errs.msgs[0]);
            sl_errs_free(&errs);
            return SL_ERR_CONFIG;
        }
        p->wspec = p->wspec_owned;
    }
    if (!p->wspec) return 0;
    if (mkdir(cfg->state_dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "state_dir %s: %s", cfg->state_dir, strerror(errno));
        return SL_ERR_CONFIG;
    }
    size_t n = strlen(cfg->state_dir) + strlen(cfg->group) + 32;
    p->state_path = sl_malloc(n);
    snprintf(p->state_path, n, "%s/window-%s.state", cfg->state_dir, cfg->group);
    /* The group name is the file name's middle: nothing in it may leave the directory. */
    for (char *c = p->state_path + strlen(cfg->state_dir) + 8; *c && strcmp(c, ".state"); c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            *c = '_';
    p->win = sl_window_new(p->wspec);
    int rc = sl_window_load(p->win, p->state_path, &p->ckpt_off, &p->nckpt, err, errlen);
    if (rc && rc != SL_ERR_NOTFOUND) return SL_ERR_CONFIG;
    if (rc == 0) {
        sl_window_stats st;
        sl_window_stats_get(p->win, &st);
        SL_INFO(LOG, "window state %s: %" PRIu64 " open window(s), offsets of %zu partition(s)",
                p->state_path, st.windows, p->nckpt);
    }
    p->wsink_url = sl_window_sink_url(cfg->sink, sl_window_spec_table(p->wspec));
    sl_window_spec_columns(p->wspec, &p->nwcols);
    p->wsink_safe = redact_url(p->wsink_url);
    return 0;
}

int sl_process_open(const sl_process_config *cfg, sl_process **out, char *err, size_t errlen)
{
    sl_process *p = sl_calloc(1, sizeof *p);
    p->cfg = cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->wmu, NULL);
    pthread_cond_init(&p->wcv, NULL);
    if (cfg->dlq_topic) {
        p->dlq_topic = sl_strdup(cfg->dlq_topic);
    } else {
        p->dlq_topic = sl_malloc(strlen(cfg->topic) + 5);
        sprintf(p->dlq_topic, "%s.dlq", cfg->topic);
    }
    p->sink_safe = redact_url(cfg->sink);
    p->cols = cfg->transform ? sl_transform_columns(cfg->transform, &p->ncols)
                             : sl_schema_columns(cfg->schema, &p->ncols);
    if (!strcmp(cfg->format, "avro"))
        p->avro = sl_avro_dec_new(cfg->registry, AVRO_REGISTRY_TIMEOUT_MS, AVRO_REGISTRY_RETRY_MS);
    if (window_open(p, err, errlen)) goto fail;
    /* With a window too: each batch carries the window's rows and checkpoint as they stood at
     * its end (window_cut). */
    p->depth = (size_t)cfg->max_batches;
    p->nb = p->depth + 1;
    p->b = sl_calloc(p->nb, sizeof *p->b);
    for (size_t k = 0; k < p->nb; k++) {
        batch *b = &p->b[k];
        b->msgs = sl_malloc((size_t)cfg->batch_size * sizeof *b->msgs);
        b->rows = sl_malloc((size_t)cfg->batch_size * p->ncols * sizeof *b->rows);
        sl_arena_init(&b->arena, 256 * 1024);
    }
    p->cur = &p->b[0];
    p->local.lag = -1;
    p->pub = p->local;

    char max_bytes[32], session[32], heartbeat[32], prefetch[32];
    snprintf(session, sizeof session, "%" PRId64, cfg->session_timeout_ms);
    snprintf(heartbeat, sizeof heartbeat, "%" PRId64, SL_MAX(cfg->session_timeout_ms / 3, 100));
    snprintf(prefetch, sizeof prefetch, "%" PRId64, cfg->prefetch_bytes / 1024);
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    /* Dead letters carry the refused value whole, even one over max_record_size. */
    snprintf(max_bytes, sizeof max_bytes, "%d", 64 << 20);
    if (kset(cc, "bootstrap.servers", cfg->kafka, err, errlen) ||
        kset(cc, "group.id", cfg->group, err, errlen) ||
        kset(cc, "enable.auto.commit", "false", err, errlen) ||
        kset(cc, "enable.auto.offset.store", "false", err, errlen) ||
        kset(cc, "auto.offset.reset", "earliest", err, errlen) ||
        kset(cc, "client.id", "sluice-process", err, errlen) ||
        kset(cc, "session.timeout.ms", session, err, errlen) ||
        kset(cc, "heartbeat.interval.ms", heartbeat, err, errlen) ||
        /* librdkafka 2.0.2 stops fetching once this much is queued and fetches again only
         * about half a second after the queue has room: with 16 MiB the processor ran dry
         * every ~50k records and end-to-end throughput fell from about 100k to 61k records/s
         * (docs/benchmarks.md, session 8). `up` passes 8 MiB for its memory budget. */
        kset(cc, "queued.max.messages.kbytes", prefetch, err, errlen) ||
        kset(pc, "bootstrap.servers", cfg->kafka, err, errlen) ||
        kset(pc, "enable.idempotence", "true", err, errlen) ||
        kset(pc, "acks", "all", err, errlen) || kset(pc, "linger.ms", "5", err, errlen) ||
        kset(pc, "message.max.bytes", max_bytes, err, errlen) ||
        kset(pc, "client.id", "sluice-process-dlq", err, errlen) ||
        sl_auth_kafka_conf(cc, err, errlen) || sl_auth_kafka_conf(pc, err, errlen)) {
        rd_kafka_conf_destroy(cc);
        rd_kafka_conf_destroy(pc);
        goto fail;
    }
    rd_kafka_conf_set_opaque(cc, p);
    rd_kafka_conf_set_opaque(pc, p);
    rd_kafka_conf_set_log_cb(cc, on_kafka_log);
    rd_kafka_conf_set_log_cb(pc, on_kafka_log);
    rd_kafka_conf_set_error_cb(cc, on_kafka_error);
    rd_kafka_conf_set_error_cb(pc, on_kafka_error);
    rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(cc, on_commit);
    rd_kafka_conf_set_dr_msg_cb(pc, on_dlq_delivery);
    p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, errlen);
    if (!p->producer) {
        rd_kafka_conf_destroy(pc);
        rd_kafka_conf_destroy(cc);
        goto fail;
    }
    p->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, errlen);
    if (!p->consumer) {
        rd_kafka_conf_destroy(cc);
        goto fail;
    }
    rd_kafka_poll_set_consumer(p->consumer);
    if (cfg->metrics_listen && metrics_open(p, err, errlen)) goto fail;
    *out = p;
    return 0;
fail:
    sl_process_close(p);
    *out = NULL;
    return SL_ERR_CONFIG;
}

static int open_sink(sl_process *p, const char *url, const char *safe, const sl_sink_column *cols,
                     size_t ncols, sl_sink **out)
{
    sl_sink_config sc = {.url = url,
                         .cols = cols,
                         .ncols = ncols,
                         .max_inflight = (int)p->cfg->max_inflight,
                         .timeout_ms = (int)p->cfg->sink_timeout_ms};
    for (int attempt = 0; !p->stop; attempt++) {
        char err[256] = "";
        if (sl_sink_open(&sc, out, err, sizeof err) == 0) {
            SL_INFO(LOG, "sink %s ready", safe);
            return 0;
        }
        int64_t wait = backoff(attempt);
        SL_WARN(LOG, "sink %s: cannot open: %s; retry %d in %" PRId64 " ms", safe, err, attempt + 1,
                wait);
        nap(p, wait, true);
    }
    return -1;
}

int sl_process_run(sl_process *p)
{
    const sl_process_config *cfg = p->cfg;
    /* Stopped before the sinks came up: nothing was consumed. */
    if (open_sink(p, cfg->sink, p->sink_safe, p->cols, p->ncols, &p->sink)) return 0;
    if (p->wspec) {
        size_t nw;
        const sl_sink_column *wc = sl_window_spec_columns(p->wspec, &nw);
        if (open_sink(p, p->wsink_url, p->wsink_safe, wc, nw, &p->wsink)) return 0;
    }
    if (pthread_create(&p->writer, NULL, writer_main, p)) {
        SL_ERROR(LOG, "cannot start the sink writer thread");
        return -1;
    }
    p->writer_running = true;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, cfg->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(p->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        SL_ERROR(LOG, "subscribe to %s: %s", cfg->topic, rd_kafka_err2str(e));
        return -1;
    }
    SL_INFO(LOG, "consuming %s in group %s; dead letters to %s; sink %s", cfg->topic, cfg->group,
            p->dlq_topic, p->sink_safe);
    p->next_log = sl_mono_ms() + cfg->metrics_interval_ms;
    /* The clock is read around every wait and every CLOCK_EVERY records taken without one: a
     * record found already queued (poll with no wait) costs no clock read, and records that
     * trickle in (each one a wait) never leave `now` behind, which would hold a batch past its
     * linger until CLOCK_EVERY records had arrived. */
    int64_t now = sl_mono_ms();
    unsigned since_clock = 0;
    while (!p->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, 0);
        bool waited = !m;
        if (waited) {
            now = sl_mono_ms();
            /* Short waits, so a stop and the periodic work are never late. */
            int timeout = 100;
            if (p->cur->nmsgs)
                timeout = (int)SL_MIN(100, SL_MAX(0, p->cur->start + cfg->linger_ms - now));
            m = rd_kafka_consumer_poll(p->consumer, timeout);
        }
        if (waited || ++since_clock == CLOCK_EVERY) {
            now = sl_mono_ms();
            since_clock = 0;
        }
        if (m) take(p, m, now);
        if (p->cur->nmsgs >= (size_t)cfg->batch_size ||
            (p->cur->nmsgs && now >= p->cur->start + cfg->linger_ms)) {
            flush_batch(p, false);
            now = sl_mono_ms();
        }
        /* The writer finished the oldest batch: commit it now rather than when the ring is
         * full, so commits and DLQ waits do not lag behind the sink. */
        if (p->nsub && oldest_written(p)) complete_oldest(p, false);
        if (!since_clock || p->cur->dlq_inflight) {
            rd_kafka_poll(p->producer, 0);
            periodic(p, now);
        }
    }
    SL_INFO(LOG, "stopping: draining %zu record(s)", held(p));
    int rc = flush_batch(p, true) || p->gave_up ? -1 : 0;
    if (rc == 0) {
        /* Leaves the group; the revoke callback commits synchronously (nothing is left). */
        rd_kafka_consumer_close(p->consumer);
        rd_kafka_flush(p->producer, 10000);
    }
    update_lag(p);
    publish(p);
    const sl_process_metrics *m = &p->pub;
    SL_INFO(LOG, "%s: in=%" PRIu64 " out=%" PRIu64 " invalid=%" PRIu64 " filtered=%" PRIu64,
            rc ? "gave up draining" : "drained", m->in, m->out, m->invalid, m->filtered);
    return p->auth_failed ? -1 : rc;
}

void sl_process_stop(sl_process *p)
{
    p->stop = 1;
}

void sl_process_metrics_get(sl_process *p, sl_process_metrics *m)
{
    pthread_mutex_lock(&p->mu);
    *m = p->pub;
    pthread_mutex_unlock(&p->mu);
}

void sl_process_metrics_json(const sl_process_metrics *m, sl_buf *out)
{
    sl_buf_printf(
        out,
        "{\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"filtered\":%" PRIu64
        ",\"late\":%" PRIu64 ",\"missing_timestamp\":%" PRIu64 ",\"windows\":%" PRIu64
        ",\"window_bytes\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"sink_retries\":%" PRIu64
        ",\"batch_latency_ms\":{\"p50\":%.3f,\"p99\":%.3f},\"lag\":%" PRId64 ",\"partitions\":%d}",
        m->in, m->out, m->invalid, m->filtered, m->late, m->missing_timestamp, m->windows,
        m->window_bytes, m->batches, m->sink_retries, m->batch_p50_ms, m->batch_p99_ms, m->lag,
        m->partitions);
}

void sl_process_close(sl_process *p)
{
    if (!p) return;
    metrics_close(p);
    if (p->writer_running) {
        pthread_mutex_lock(&p->wmu);
        p->writer_quit = true;
        pthread_cond_broadcast(&p->wcv);
        pthread_mutex_unlock(&p->wmu);
        pthread_join(p->writer, NULL);
    }
    for (size_t k = 0; p->b && k < p->nb; k++) {
        batch *b = &p->b[k];
        for (size_t i = 0; i < b->nmsgs; i++)
            rd_kafka_message_destroy(b->msgs[i]);
        sl_arena_free(&b->arena);
        sl_free(b->msgs);
        sl_free(b->rows);
        sl_free(b->dlq);
        sl_free(b->next_off);
        sl_free(b->touched);
        sl_free(b->wrows);
        sl_window_ckpt_free(b->ckpt);
    }
    if (p->consumer)
        rd_kafka_destroy_flags(p->consumer, p->gave_up ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    if (p->producer) rd_kafka_destroy(p->producer);
    sl_sink_close(p->sink);
    sl_sink_close(p->wsink);
    sl_window_free(p->win);
    sl_window_spec_free(p->wspec_owned);
    sl_free(p->wsink_url);
    sl_free(p->wsink_safe);
    sl_free(p->state_path);
    sl_free(p->ckpt_off);
    sl_avro_dec_free(p->avro);
    sl_buf_free(&p->decoded);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->wmu);
    pthread_cond_destroy(&p->wcv);
    sl_free(p->b);
    sl_free(p->dlq_topic);
    sl_free(p->sink_safe);
    sl_free(p);
}
