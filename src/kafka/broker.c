/* broker.c: the broker's loop, listener, request dispatch, response ordering and lifecycle.
 *
 * Every request is answered in the order it arrived on its connection. A handler that cannot
 * answer at once (acks=all Produce waiting for the flusher, a Fetch long-poll, a JoinGroup)
 * defers: its place is held in the connection's response queue, and responses behind it wait
 * until it completes. Each queued slot keeps the connection (sl_conn_keep), so a connection
 * closed meanwhile stays valid until the last deferred response is dropped. */
#include "kafka/handlers_int.h"
#include "auth/auth.h"
#include "kafka/group.h"
#include "core/log.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOG_SUB "kafka"
/* Responses queued behind a deferred one before the connection stops reading. */
#define MAX_QUEUED 1024
/* Unsent response bytes before the connection stops reading: a client that pipelines Fetches
 * without reading the answers must not make the broker buffer without bound. */
#define MAX_WRITE_PENDING (64u << 20)
/* How often a connection stopped for its write backlog is looked at again. */
#define BACKLOG_CHECK_MS 5
/* How often dirty producer state is written to producer.snapshot (not fsynced). */
#define SNAPSHOT_INTERVAL_MS 10000
/* Header room: length prefix, correlation id and, for flexible versions, empty tags. */
#define RESP_HDR_MAX 9
/* Auto-created topics up to this many partitions are made at once, on the loop (a few ms);
 * larger ones on worker threads, answered LEADER_NOT_AVAILABLE until they exist. */
#define AUTO_CREATE_SYNC_MAX 8
/* Direct frames (see produce_frame_buf): their memory's alignment, and the most kept per
 * connection between frames. */
#define DFRAME_ALIGN    4096
#define DFRAME_KEEP_MAX (8u << 20)

#define O(f) offsetof(sl_broker_config, f)
const sl_opt sl_broker_opts[] = {
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:9092", O(listen), "address to listen on", NULL, 0, 0},
    {"advertised", SL_OPT_HOSTPORT, NULL, O(advertised),
     "HOST:PORT given to clients in Metadata (default: the listen address)", NULL, 0, 0},
    {"data-dir", SL_OPT_STR, "./sluice-data/kafka", O(data_dir),
     "directory for topics.json and the partition logs", NULL, 0, 0},
    {"auto-create-topics", SL_OPT_BOOL, "true", O(auto_create_topics),
     "create unknown topics on Metadata and Produce", NULL, 0, 0},
    {"direct-appends", SL_OPT_BOOL, "false", O(direct_appends),
     "write large Produce batches with O_DIRECT from aligned memory (no page-cache copy)", NULL, 0,
     0},
    {"fetch-tail-bytes", SL_OPT_SIZE, "8MiB", O(fetch_tail_bytes),
     "newest bytes of each directly appended partition kept in memory for fetches (0 = none)", NULL,
     0, 1LL << 30},
    {"fetch-tail-total", SL_OPT_SIZE, "256MiB", O(fetch_tail_total),
     "most memory all partitions' fetch tails may take together", NULL, 0, INT64_MAX},
    {"page-cache-keep", SL_OPT_SIZE, "64MiB", O(page_cache_keep),
     "synced bytes older than each partition's newest SIZE leave the page cache (0 = never)", NULL,
     0, INT64_MAX},
    {"num-partitions", SL_OPT_INT, "1", O(num_partitions), "partitions of an auto-created topic",
     NULL, 1, 100000},
    {"flush", SL_OPT_STR, "always", O(flush),
     "always (acks=all waits for fsync) | interval:MS | os (never fsync)", NULL, 0, 0},
    {"segment-bytes", SL_OPT_SIZE, "1GiB", O(segment_bytes), "default segment.bytes", NULL, 14,
     INT32_MAX},
    {"segment-ms", SL_OPT_DURATION, "7d", O(segment_ms), "default segment.ms", NULL, 1, INT64_MAX},
    {"retention-ms", SL_OPT_STR, "7d", O(retention_ms_opt),
     "default retention.ms (a duration, or -1 for forever)", NULL, 0, 0},
    {"retention-bytes", SL_OPT_STR, "-1", O(retention_bytes_opt),
     "default retention.bytes per partition (a size, or -1 for unlimited)", NULL, 0, 0},
    {"retention-check", SL_OPT_DURATION, "5m", O(retention_check_ms),
     "how often retention deletes old segments", NULL, 1, INT64_MAX},
    {"log-cleaner-interval", SL_OPT_DURATION, "15s", O(log_cleaner_interval_ms),
     "how often the log cleaner looks for compacted topics to clean (log.cleaner.backoff.ms)", NULL,
     1, INT64_MAX},
    {"max-request-bytes", SL_OPT_SIZE, "100MiB", O(max_request_bytes),
     "largest request accepted (socket.request.max.bytes)", NULL, 64, INT32_MAX},
    {"max-connections", SL_OPT_INT, "10000", O(max_connections), "connection limit", NULL, 1,
     1000000},
    {"sasl-users", SL_OPT_STR, NULL, O(sasl_users),
     "require SASL/PLAIN as a user of this file of NAME HASH lines (sluice store passwd)", NULL, 0,
     0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert),
     "PEM certificate (chain): the listener speaks TLS only (needs tls-key)", NULL, 0, 0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of tls-cert", NULL, 0, 0},
    {"tls-ca", SL_OPT_STR, NULL, O(tls_ca),
     "PEM CA certificates: clients must present a certificate signed by one", NULL, 0, 0},
    {"offsets-retention", SL_OPT_DURATION, "7d", O(offsets_retention_ms),
     "committed offsets of an empty group expire after this", NULL, 1, INT64_MAX},
    {"offsets-retention-check", SL_OPT_DURATION, "10m", O(offsets_retention_check_ms),
     "how often expired committed offsets are removed", NULL, 1, INT64_MAX},
    {"group-min-session-timeout", SL_OPT_DURATION, "6s", O(group_min_session_timeout_ms),
     "smallest session timeout a consumer may ask for", NULL, 1, INT64_MAX},
    {"group-max-session-timeout", SL_OPT_DURATION, "30m", O(group_max_session_timeout_ms),
     "largest session timeout a consumer may ask for", NULL, 1, INT64_MAX},
    {"group-initial-rebalance-delay", SL_OPT_DURATION, "0", O(group_initial_rebalance_delay_ms),
     "wait for more members before the first rebalance of a new group (Kafka: 3s)", NULL, 0, 0},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level),
     "log level (default: info, or $SLUICE_LOG_LEVEL)", "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
#undef O

typedef struct kconn kconn;

/* A response slot in a connection's queue; also the handle of a deferred response. */
struct kafka_deferred {
    kafka_deferred *next;
    kconn *kc;
    int32_t correlation_id;
    int16_t api_key;
    int16_t api_version;
    bool flexible; /* the request's version is flexible */
    bool hdr_v1;   /* the response header carries tags */
    bool done;
    sl_buf body; /* complete response frame once done; empty = send nothing */
};

/* A connection's state. conn is NULL for the broker's detached pseudo-connection, which serves
 * sl_broker_handle_frame and discards its responses. */
struct kconn {
    sl_conn *conn;
    sl_broker *b;
    kafka_deferred *head, *tail; /* responses waiting for an earlier deferred one */
    unsigned nqueued;
    unsigned refs; /* 1 for the open connection, 1 per queued slot, 1 on the backlog list */
    bool closed;
    bool paused;     /* reading stopped, for one of the two reasons below */
    bool queue_full; /* too many responses queued behind a deferred one */
    bool backlog;    /* too many response bytes not yet written; on the broker's list */
    kconn *backlog_next;
    bool sasl_started;     /* SaslHandshake chose PLAIN */
    bool authed;           /* SaslAuthenticate succeeded (or the broker has no --sasl-users) */
    uint8_t *dmem;         /* DFRAME_ALIGN-aligned memory for large Produce frames */
    size_t dcap;           /* its size */
    const uint8_t *dframe; /* where produce_frame_buf placed the frame arriving */
    bool direct;           /* the frame being dispatched lies in dmem */
};

typedef struct kafka_api {
    int16_t key;
    int16_t min, max; /* advertised range */
    int16_t flex_min; /* first flexible version; -1 none */
    kafka_handler_fn fn;
} kafka_api;

/* The dispatch table, in ApiVersions order. Produce is advertised from 0 and Fetch from 4
 * because librdkafka 2.0.2 enables features only when fixed old versions are in range
 * (notes: "the librdkafka 2.0.2 feature trap"); the handlers answer versions they do not serve
 * with UNSUPPORTED_VERSION. */
static const kafka_api api_table[] = {
    {KAFKA_API_PRODUCE, 0, 8, 9, kafka_handle_Produce},
    {KAFKA_API_FETCH, 4, 11, 12, kafka_handle_Fetch},
    {KAFKA_API_LIST_OFFSETS, 0, 5, 6, kafka_handle_ListOffsets},
    {KAFKA_API_METADATA, 0, 8, 9, kafka_handle_Metadata},
    {KAFKA_API_OFFSET_COMMIT, 0, 7, 8, kafka_handle_OffsetCommit},
    {KAFKA_API_OFFSET_FETCH, 0, 7, 6, kafka_handle_OffsetFetch},
    {KAFKA_API_FIND_COORDINATOR, 0, 2, 3, kafka_handle_FindCoordinator},
    {KAFKA_API_JOIN_GROUP, 0, 5, 6, kafka_handle_JoinGroup},
    {KAFKA_API_HEARTBEAT, 0, 3, 4, kafka_handle_Heartbeat},
    {KAFKA_API_LEAVE_GROUP, 0, 3, 4, kafka_handle_LeaveGroup},
    {KAFKA_API_SYNC_GROUP, 0, 3, 4, kafka_handle_SyncGroup},
    {KAFKA_API_DESCRIBE_GROUPS, 0, 4, 5, kafka_handle_DescribeGroups},
    {KAFKA_API_LIST_GROUPS, 0, 2, 3, kafka_handle_ListGroups},
    {KAFKA_API_API_VERSIONS, 0, 3, 3, kafka_handle_ApiVersions},
    {KAFKA_API_CREATE_TOPICS, 0, 4, 5, kafka_handle_CreateTopics},
    {KAFKA_API_DELETE_TOPICS, 0, 3, 4, kafka_handle_DeleteTopics},
    {KAFKA_API_INIT_PRODUCER_ID, 0, 4, 2, kafka_handle_InitProducerId},
    {KAFKA_API_DESCRIBE_CONFIGS, 0, 2, -1, kafka_handle_DescribeConfigs},
    {KAFKA_API_DESCRIBE_LOG_DIRS, 0, 1, -1, kafka_handle_DescribeLogDirs},
    /* SaslHandshake v0 (raw tokens without Kafka framing after it) is answered
     * UNSUPPORTED_VERSION; it is advertised for the feature trap above (librdkafka enables
     * SASL only with v0 in range, then uses v1). */
    {KAFKA_API_SASL_HANDSHAKE, 0, 1, -1, kafka_handle_SaslHandshake},
    {KAFKA_API_SASL_AUTHENTICATE, 0, 2, 2, kafka_handle_SaslAuthenticate},
};

typedef struct delete_wait {
    struct delete_wait *next;
    kafka_topic *topic;
    kafka_topic_cb cb; /* told when the files are gone */
    void *arg;
} delete_wait;

struct sl_broker {
    uv_loop_t *loop;
    sl_broker_config cfg;
    char host[256];
    int adv_port;
    char cluster_id[32];
    sl_server *srv;
    sl_flusher *flusher;
    sl_auth_users *users; /* --sasl-users, or NULL */
    kafka_topics *topics;
    sl_group_coord *groups;
    sl_arena arena;
    uv_timer_t retention_timer;
    uv_timer_t cleaner_timer;
    uv_timer_t swap_timer; /* one compacted segment swapped in per loop turn */
    uv_timer_t snapshot_timer;
    uv_timer_t flush_timer;
    unsigned timers_open;
    delete_wait *deletes;
    void *fetch_waiters;
    kconn *backlog;  /* connections stopped for their write backlog */
    kconn *detached; /* serves sl_broker_handle_frame */
    uv_timer_t backlog_timer;
    bool stopping;
    unsigned bg_jobs;         /* topic creations and deletions, a compaction, in flight */
    struct clean_work *clean; /* the compaction running on a worker, or NULL */
    kafka_compact_cursor clean_cur;
    bool stop_waits_jobs; /* the server stopped while some were */
    void (*stop_done)(void *);
    void *stop_arg;
};

static const kafka_api *api_find(int16_t key)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(api_table); i++)
        if (api_table[i].key == key) return &api_table[i];
    return NULL;
}

uv_loop_t *sl_broker_loop(const sl_broker *b)
{
    return b->loop;
}
const char *sl_broker_data_dir(const sl_broker *b)
{
    return b->cfg.data_dir;
}
sl_flusher *sl_broker_flusher(const sl_broker *b)
{
    return b->flusher;
}
const sl_broker_config *sl_broker_cfg(const sl_broker *b)
{
    return &b->cfg;
}
const char *sl_broker_host(const sl_broker *b)
{
    return b->host;
}
int sl_broker_adv_port(const sl_broker *b)
{
    return b->adv_port;
}
sl_group_coord *sl_broker_groups(const sl_broker *b)
{
    return b->groups;
}
kafka_topics *sl__broker_topics(const sl_broker *b)
{
    return b->topics;
}
const char *sl__broker_cluster_id(const sl_broker *b)
{
    return b->cluster_id;
}
void **sl__broker_fetch_waiters(sl_broker *b)
{
    return &b->fetch_waiters;
}
int sl_broker_port(const sl_broker *b)
{
    return b->srv ? sl_server_port(b->srv) : -1;
}

int32_t sl_broker_topic_partitions(sl_broker *b, sl_slice topic)
{
    kafka_topic *tp = kafka_topics_find(b->topics, topic);
    return tp ? tp->nparts : -1;
}

kafka_err_t sl__broker_topic_get(sl_broker *b, sl_slice name, bool allow_create, kafka_topic **out)
{
    kafka_topic *tp = kafka_topics_find(b->topics, name);
    if (tp) {
        *out = tp;
        return KAFKA_ERR_NONE;
    }
    if (!kafka_topic_name_valid(name)) return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    /* Retriable: clients ask again until the creation in flight is done. */
    if (kafka_topics_creating(b->topics, name)) return KAFKA_ERR_LEADER_NOT_AVAILABLE;
    if (!allow_create || !b->cfg.auto_create_topics || b->stopping)
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    char msg[300];
    int32_t nparts = (int32_t)b->cfg.num_partitions;
    kafka_err_t err;
    if (nparts <= AUTO_CREATE_SYNC_MAX) {
        err = kafka_topics_create(b->topics, name, nparts, NULL, 0, false, out, msg, sizeof(msg));
    } else {
        bool started;
        err = sl__broker_topic_create(b, name, nparts, NULL, 0, false, NULL, NULL, &started, msg,
                                      sizeof(msg));
        if (!err) return KAFKA_ERR_LEADER_NOT_AVAILABLE;
    }
    if (err == KAFKA_ERR_TOPIC_ALREADY_EXISTS) return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (err) {
        SL_WARN(LOG_SUB, "auto-creating topic %.*s: %s", (int)name.len, (const char *)name.ptr,
                msg);
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return KAFKA_ERR_NONE;
}

void sl__broker_appended(sl_broker *b, kafka_partition *p)
{
    p->flush_dirty = true;
    if (p->watchers) sl__fetch_wake(p);
}

typedef struct flush_req {
    sl_broker *b;
    kafka_partition *p;
    sl_flusher_cb cb;
    void *arg;
} flush_req;

static void on_flushed(void *arg, int rc)
{
    flush_req *fr = arg;
    fr->p->flush_refs--;
    bool deleting = fr->p->topic->deleting && fr->p->flush_refs == 0;
    if (fr->cb) fr->cb(fr->arg, rc);
    sl_broker *b = fr->b;
    sl_free(fr);
    if (deleting) sl__broker_deletes_check(b);
}

void sl__broker_flush(sl_broker *b, kafka_partition *p, sl_flusher_cb cb, void *arg)
{
    flush_req *fr = sl_malloc(sizeof(*fr));
    *fr = (flush_req){b, p, cb, arg};
    p->flush_refs++;
    p->flush_dirty = false;
    sl_flusher_request(b->flusher, p->log, on_flushed, fr);
}

/* Response framing and ordering. */

static size_t resp_hdr_len(bool hdr_v1)
{
    return hdr_v1 ? 9 : 8;
}

static void body_init(sl_buf *body, bool hdr_v1)
{
    sl_buf_init(body);
    sl_buf_reserve(body, 256);
    body->len = resp_hdr_len(hdr_v1);
}

/* Fills the reserved header room of a finished body, followed by extra bytes from files. */
static void frame_finish(sl_buf *body, int32_t correlation_id, bool hdr_v1, size_t extra)
{
    sl_put_be32(body->ptr, (uint32_t)(body->len + extra - 4));
    sl_put_be32(body->ptr + 4, (uint32_t)correlation_id);
    if (hdr_v1) body->ptr[8] = 0;
}

static void kconn_release(kconn *kc)
{
    if (--kc->refs == 0) sl_free(kc);
}

static void on_backlog_check(uv_timer_t *t);

/* Stops or restarts reading on kc after its queue or write backlog changed, with hysteresis. */
static void kconn_check_pause(kconn *kc)
{
    if (!kc->conn || kc->closed || sl_conn_closing(kc->conn)) return;
    kc->queue_full = kc->nqueued >= (kc->queue_full ? MAX_QUEUED / 2 : MAX_QUEUED);
    size_t pending = sl_conn_write_pending(kc->conn);
    bool backlog = pending > (kc->backlog ? MAX_WRITE_PENDING / 2 : MAX_WRITE_PENDING);
    if (backlog && !kc->backlog) {
        sl_broker *b = kc->b;
        kc->backlog = true;
        kc->refs++;
        sl_conn_keep(kc->conn);
        kc->backlog_next = b->backlog;
        b->backlog = kc;
        if (!uv_is_active((uv_handle_t *)&b->backlog_timer))
            uv_timer_start(&b->backlog_timer, on_backlog_check, BACKLOG_CHECK_MS, BACKLOG_CHECK_MS);
    }
    kc->backlog = kc->backlog && backlog;
    bool want = kc->queue_full || kc->backlog;
    if (want != kc->paused) {
        kc->paused = want;
        if (want)
            sl_conn_pause(kc->conn);
        else
            sl_conn_resume(kc->conn);
    }
}

static void on_backlog_check(uv_timer_t *t)
{
    sl_broker *b = t->data;
    for (kconn **pp = &b->backlog; *pp;) {
        kconn *kc = *pp;
        kconn_check_pause(kc);
        if (kc->backlog && !sl_conn_closing(kc->conn)) {
            pp = &kc->backlog_next;
            continue;
        }
        kc->backlog = false;
        *pp = kc->backlog_next;
        sl_conn_release(kc->conn);
        kconn_release(kc);
    }
    if (!b->backlog) uv_timer_stop(t);
}

/* Sends every finished response at the head of the queue. */
static void kconn_flush(kconn *kc)
{
    while (kc->head && kc->head->done) {
        kafka_deferred *d = kc->head;
        kc->head = d->next;
        if (!kc->head) kc->tail = NULL;
        kc->nqueued--;
        if (kc->conn && d->body.len) sl_conn_write(kc->conn, &d->body); /* no-op once closing */
        sl_buf_free(&d->body);
        if (kc->conn) sl_conn_release(kc->conn);
        sl_free(d);
        kconn_release(kc);
    }
    kconn_check_pause(kc);
}

static kafka_deferred *kconn_enqueue(kconn *kc, const kafka_req *req, bool hdr_v1)
{
    kafka_deferred *d = sl_calloc(1, sizeof(*d));
    d->kc = kc;
    d->correlation_id = req->correlation_id;
    d->api_key = req->api_key;
    d->api_version = req->api_version;
    d->flexible = req->flexible;
    d->hdr_v1 = hdr_v1;
    kc->refs++;
    if (kc->conn) sl_conn_keep(kc->conn);
    if (kc->tail)
        kc->tail->next = d;
    else
        kc->head = d;
    kc->tail = d;
    kc->nqueued++;
    kconn_check_pause(kc);
    return d;
}

/* Sends a finished response now, or queues it behind an unfinished deferred one. */
static void kconn_respond(kconn *kc, const kafka_req *req, bool hdr_v1, sl_buf *body)
{
    size_t extra = 0;
    for (size_t i = 0; i < req->nranges; i++)
        extra += req->ranges[i].len;
    frame_finish(body, req->correlation_id, hdr_v1, extra);
    if (!kc->head) {
        if (!kc->conn) {
            sl_buf_free(body);
            return;
        }
        if (req->nranges)
            sl_conn_write_ranges(kc->conn, body, req->ranges, req->nranges);
        else
            sl_conn_write(kc->conn, body);
        if (sl_conn_write_pending(kc->conn) > MAX_WRITE_PENDING) kconn_check_pause(kc);
        return;
    }
    /* Not reached by handlers that check kafka_req_can_stream; kept correct all the same. */
    int rc = sl_file_ranges_read(body, req->ranges, req->nranges);
    if (rc) {
        sl_log(SL_LOG_ERROR, LOG_SUB, kc->conn ? sl_conn_peer(kc->conn) : "local",
               "response read: %s, closing", sl_strerror(rc));
        sl_buf_free(body);
        if (kc->conn) sl_conn_close(kc->conn);
        return;
    }
    kafka_deferred *d = kconn_enqueue(kc, req, hdr_v1);
    sl_buf_move(&d->body, body);
    d->done = true;
}

bool kafka_req_can_stream(const kafka_req *req)
{
    return req->conn && !((kconn *)sl_conn_data(req->conn))->head;
}

int kafka_req_add_range(kafka_req *req, const sl_buf *body, int fd, int64_t off, size_t len)
{
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return -errno;
    if (req->nranges == req->cranges) {
        req->cranges = req->cranges ? req->cranges * 2 : 8;
        req->ranges = sl_realloc(req->ranges, req->cranges * sizeof(*req->ranges));
    }
    req->ranges[req->nranges++] = (sl_file_range){body->len, own, off, len};
    return 0;
}

void kafka_req_drop_ranges(kafka_req *req, size_t keep)
{
    for (size_t i = keep; i < req->nranges; i++)
        close(req->ranges[i].fd);
    if (req->nranges > keep) req->nranges = keep;
}

kafka_deferred *kafka_req_defer(kafka_req *req)
{
    kconn *kc = req->conn ? sl_conn_data(req->conn) : req->broker->detached;
    bool hdr_v1 = req->flexible && req->api_key != KAFKA_API_API_VERSIONS;
    req->deferred = kconn_enqueue(kc, req, hdr_v1);
    return req->deferred;
}

void kafka_deferred_body_init(const kafka_deferred *d, sl_buf *body)
{
    body_init(body, d->hdr_v1);
}

void kafka_deferred_complete(kafka_deferred *d, sl_buf *body)
{
    if (body && body->len >= resp_hdr_len(d->hdr_v1)) {
        frame_finish(body, d->correlation_id, d->hdr_v1, 0);
        sl_buf_move(&d->body, body);
    } else if (body) {
        sl_buf_free(body);
    }
    d->done = true;
    kconn_flush(d->kc);
}

bool kafka_deferred_conn_closed(const kafka_deferred *d)
{
    return d->kc->conn && sl_conn_closing(d->kc->conn);
}
int16_t kafka_deferred_version(const kafka_deferred *d)
{
    return d->api_version;
}
bool kafka_deferred_flexible(const kafka_deferred *d)
{
    return d->flexible;
}

/* Connection callbacks. */

static void on_open(sl_conn *c)
{
    sl_broker *b = sl_server_udata(sl_conn_server(c));
    kconn *kc = sl_calloc(1, sizeof(*kc));
    kc->conn = c;
    kc->b = b;
    kc->refs = 1;
    sl_conn_set_data(c, kc);
    sl_log(SL_LOG_DEBUG, LOG_SUB, sl_conn_peer(c), "connected");
}

static void on_close(sl_conn *c)
{
    kconn *kc = sl_conn_data(c);
    if (!kc) return;
    free(kc->dmem); /* posix_memalign's */
    kc->dmem = NULL;
    kc->closed = true;
    sl_conn_set_data(c, NULL);
    kconn_release(kc);
}

/* Answers an ApiVersions request of a version we do not serve (KIP-511): a v0 body with
 * UNSUPPORTED_VERSION and our ApiVersions range, so the client retries with a version we know. */
static void apiversions_unsupported(sl_buf *body)
{
    kafka_put_i16(body, KAFKA_ERR_UNSUPPORTED_VERSION);
    kafka_put_array(body, false, 1);
    const kafka_api *a = api_find(KAFKA_API_API_VERSIONS);
    kafka_put_i16(body, a->key);
    kafka_put_i16(body, a->min);
    kafka_put_i16(body, a->max);
}

static const char *conn_peer(const sl_conn *c)
{
    return c ? sl_conn_peer(c) : "local";
}

const char *kafka_req_peer(const kafka_req *req)
{
    return conn_peer(req->conn);
}

/* Decodes and handles one request (a frame without its length prefix) from kc. Returns false
 * when the connection must close; offsets in logs count the length prefix, as on the wire. */
static bool dispatch(kconn *kc, const uint8_t *frame, size_t len)
{
    sl_broker *b = kc->b;
    sl_conn *c = kc->conn;
    sl_rd rd;
    sl_rd_init(&rd, frame, len);
    kafka_hdr h;
    if (kafka_hdr_parse(&rd, &h)) {
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c), "malformed request header (%zu bytes), closing",
               len);
        return false;
    }
    const kafka_api *api = api_find(h.api_key);
    if (!api) {
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c),
               "unknown api key %d (correlation id %d), closing", h.api_key, h.correlation_id);
        return false;
    }
    kafka_req req = {
        .api_key = h.api_key,
        .api_version = h.api_version,
        .correlation_id = h.correlation_id,
        .client_id = h.client_id,
        .flexible = api->flex_min >= 0 && h.api_version >= api->flex_min,
        .broker = b,
        .conn = c,
        .arena = &b->arena,
        .direct = kc->direct,
    };
    if (b->users && c && !kc->authed && h.api_key != KAFKA_API_API_VERSIONS &&
        h.api_key != KAFKA_API_SASL_HANDSHAKE && h.api_key != KAFKA_API_SASL_AUTHENTICATE) {
        /* As Kafka: a request before authentication ends the connection, unanswered. */
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c),
               "%s before SASL authentication (correlation id %d), closing",
               kafka_api_name(h.api_key), h.correlation_id);
        return false;
    }
    sl_buf body;
    if (h.api_version < api->min || h.api_version > api->max) {
        body_init(&body, false);
        if (h.api_key == KAFKA_API_API_VERSIONS) {
            apiversions_unsupported(&body);
            kconn_respond(kc, &req, false, &body);
            return true;
        }
        /* The body layout of a version we do not know cannot be trusted either way: answer
         * with the error code and close, and the client renegotiates on reconnect. */
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c), "%s v%d is not supported (v%d-%d), closing",
               kafka_api_name(h.api_key), h.api_version, api->min, api->max);
        kafka_put_i16(&body, KAFKA_ERR_UNSUPPORTED_VERSION);
        kconn_respond(kc, &req, false, &body);
        return false;
    }
    if (req.flexible && kafka_rd_tags(&rd)) {
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c), "%s v%d: malformed request header tags, closing",
               kafka_api_name(h.api_key), h.api_version);
        return false;
    }
    req.rd = rd;
    bool hdr_v1 = req.flexible && h.api_key != KAFKA_API_API_VERSIONS;
    body_init(&body, hdr_v1);
    int rc = api->fn(&req, &body);
    sl_arena_reset(&b->arena);
    if (rc == 0) kconn_respond(kc, &req, hdr_v1, &body);
    /* Written by now (sendfile, or read into memory): the duplicated descriptors can go. */
    kafka_req_drop_ranges(&req, 0);
    sl_free(req.ranges);
    if (rc == KAFKA_DEFERRED || rc == KAFKA_NO_RESPONSE) {
        sl_buf_free(&body);
    } else if (rc != 0) {
        sl_log(SL_LOG_WARN, LOG_SUB, conn_peer(c),
               "%s v%d: malformed request body at offset %zu of %zu, closing",
               kafka_api_name(h.api_key), h.api_version, (size_t)(req.rd.p - frame) + 4, len + 4);
        sl_buf_free(&body);
        return false;
    }
    return true;
}

/* The offset in a Produce v3-8 frame (length prefix included) of the first partition's records,
 * with that partition, or -1 when the head does not show them. */
static ssize_t produce_records_at(sl_broker *b, const uint8_t *head, size_t avail,
                                  kafka_partition **part)
{
    sl_rd r;
    sl_rd_init(&r, head + 4, avail - 4);
    kafka_hdr h;
    sl_slice txn, topic;
    int16_t acks;
    int32_t timeout, ntopics, nparts, index, nrec;
    if (kafka_hdr_parse(&r, &h) || h.api_key != KAFKA_API_PRODUCE || h.api_version < 3 ||
        h.api_version > 8 || kafka_rd_string(&r, &txn) || sl_rd_i16(&r, &acks) ||
        sl_rd_i32(&r, &timeout) || sl_rd_i32(&r, &ntopics) || ntopics < 1 ||
        kafka_rd_string(&r, &topic) || sl_rd_i32(&r, &nparts) || nparts < 1 ||
        sl_rd_i32(&r, &index) || sl_rd_i32(&r, &nrec) || nrec < 0)
        return -1;
    *part = kafka_topics_partition(b->topics, topic, index);
    return *part && (*part)->log ? (ssize_t)(r.p - head) : -1;
}

/* sl_server_opts.frame_buf: a large Produce frame is read into aligned memory placed so that its
 * first partition's records fall at the address phase the partition log needs to write them
 * with O_DIRECT (sl_plog_append_direct), with room around them for the log's block padding. */
static uint8_t *produce_frame_buf(sl_conn *c, const uint8_t *head, size_t avail, size_t len)
{
    kconn *kc = sl_conn_data(c);
    kafka_partition *p;
    ssize_t at = produce_records_at(kc->b, head, avail, &p);
    if (at < 0) return NULL;
    size_t lead =
        (sl_plog_direct_phase(p->log) + DFRAME_ALIGN - (size_t)at % DFRAME_ALIGN) % DFRAME_ALIGN;
    size_t need = (lead + len + DFRAME_ALIGN - 1) / DFRAME_ALIGN * DFRAME_ALIGN + DFRAME_ALIGN;
    if (kc->dcap < need) {
        free(kc->dmem);
        void *m;
        if (posix_memalign(&m, DFRAME_ALIGN, need)) { /* as sl_malloc: no aligned one in core */
            SL_ERROR(LOG_SUB, "out of memory allocating %zu bytes (%s:%d)", need, __FILE__,
                     __LINE__);
            abort();
        }
        kc->dmem = m;
        kc->dcap = need;
    }
    kc->dframe = kc->dmem + lead;
    return kc->dmem + lead;
}

static void on_frame(sl_conn *c, const uint8_t *frame, size_t len)
{
    kconn *kc = sl_conn_data(c);
    sl_broker *b = kc->b;
    kc->direct = frame == kc->dframe;
    kc->dframe = NULL;
    bool ok = dispatch(kc, frame + 4, len - 4);
    kc->direct = false;
    if (kc->dcap > DFRAME_KEEP_MAX && frame != kc->dmem) {
        free(kc->dmem);
        kc->dmem = NULL;
        kc->dcap = 0;
    }
    if (!ok) sl_conn_close(c);
    /* Acks whose sync finished go out now rather than after the rest of this read burst. */
    if (b->flusher) sl_flusher_poll(b->flusher);
}

int sl_broker_handle_frame(sl_broker *b, const uint8_t *frame, size_t len)
{
    if (b->stopping) return SL_ERR_CLOSED;
    /* Produce rewrites batches in place, so the handlers get a private copy. */
    sl_buf copy = SL_BUF_INIT;
    sl_buf_append(&copy, frame, len);
    bool ok = dispatch(b->detached, copy.ptr, copy.len);
    sl_buf_free(&copy);
    return ok ? 0 : SL_ERR_PARSE;
}

/* SaslHandshake v1 (v0: UNSUPPORTED_VERSION): PLAIN is the one mechanism, and only when the broker
 * has --sasl-users. */
int kafka_handle_SaslHandshake(kafka_req *req, sl_buf *body)
{
    sl_slice mech;
    if (kafka_rd_str(&req->rd, false, &mech)) return SL_ERR_PARSE;
    kconn *kc = req->conn ? sl_conn_data(req->conn) : NULL;
    bool plain = req->broker->users && mech.len == 5 && memcmp(mech.ptr, "PLAIN", 5) == 0;
    int16_t err = KAFKA_ERR_NONE;
    if (req->api_version == 0)
        err = KAFKA_ERR_UNSUPPORTED_VERSION;
    else if (!req->broker->users || !plain)
        err = KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM;
    else if (!kc || kc->authed)
        err = KAFKA_ERR_ILLEGAL_SASL_STATE;
    if (err == KAFKA_ERR_NONE) kc->sasl_started = true;
    kafka_put_i16(body, err);
    kafka_put_array(body, false, req->broker->users ? 1 : 0);
    if (req->broker->users) kafka_put_cstr(body, false, "PLAIN");
    return 0;
}

/* SaslAuthenticate v0-2 carrying one SASL PLAIN token (RFC 4616: authzid NUL user NUL pass). */
int kafka_handle_SaslAuthenticate(kafka_req *req, sl_buf *body)
{
    bool flex = req->flexible;
    sl_slice tok;
    if (kafka_rd_byts(&req->rd, flex, &tok) || kafka_rd_tags_if(&req->rd, flex))
        return SL_ERR_PARSE;
    kconn *kc = req->conn ? sl_conn_data(req->conn) : NULL;
    int16_t err = KAFKA_ERR_NONE;
    const char *msg = NULL;
    if (!kc || !kc->sasl_started || kc->authed) {
        err = KAFKA_ERR_ILLEGAL_SASL_STATE;
        msg = "SaslAuthenticate without a SaslHandshake for PLAIN";
    } else {
        const uint8_t *p = tok.ptr, *end = tok.ptr + tok.len;
        const uint8_t *n1 = tok.len ? memchr(p, 0, tok.len) : NULL;
        const uint8_t *n2 = n1 ? memchr(n1 + 1, 0, (size_t)(end - n1 - 1)) : NULL;
        if (!n2 || n2 == n1 + 1 || memchr(n2 + 1, 0, (size_t)(end - n2 - 1))) {
            err = KAFKA_ERR_SASL_AUTHENTICATION_FAILED;
            msg = "Authentication failed: malformed SASL/PLAIN token";
        } else if (!sl_auth_users_check(req->broker->users, (const char *)n1 + 1,
                                        (size_t)(n2 - n1 - 1), (const char *)n2 + 1,
                                        (size_t)(end - n2 - 1))) {
            err = KAFKA_ERR_SASL_AUTHENTICATION_FAILED;
            msg = "Authentication failed: Invalid username or password";
            sl_log(SL_LOG_INFO, LOG_SUB, kafka_req_peer(req),
                   "SASL/PLAIN authentication failed for user '%.*s'",
                   (int)SL_MIN(n2 - n1 - 1, 128), (const char *)n1 + 1);
        } else {
            kc->authed = true;
        }
    }
    kafka_put_i16(body, err);
    kafka_put_cstr(body, flex, msg);
    kafka_put_bytes(body, flex, (sl_slice){(const uint8_t *)"", 0});
    if (req->api_version >= 1) kafka_put_i64(body, 0); /* session_lifetime_ms: no expiry */
    kafka_put_tags(body, flex);
    return 0;
}

/* ApiVersions (KIP-511 fallback in on_frame). */
int kafka_handle_ApiVersions(kafka_req *req, sl_buf *body)
{
    bool flex = req->flexible;
    if (req->api_version >= 3) {
        sl_slice name, version;
        if (kafka_rd_compact_string(&req->rd, &name) ||
            kafka_rd_compact_string(&req->rd, &version) || kafka_rd_tags(&req->rd))
            return SL_ERR_PARSE;
    }
    kafka_put_i16(body, KAFKA_ERR_NONE);
    kafka_put_array(body, flex, (int32_t)SL_ARRAY_LEN(api_table));
    for (size_t i = 0; i < SL_ARRAY_LEN(api_table); i++) {
        kafka_put_i16(body, api_table[i].key);
        kafka_put_i16(body, api_table[i].min);
        kafka_put_i16(body, api_table[i].max);
        kafka_put_tags(body, flex);
    }
    if (req->api_version >= 1) kafka_put_i32(body, 0);
    kafka_put_tags(body, flex);
    return 0;
}

/* Topic deletion waits for in-flight syncs of its logs. */

void sl__broker_deletes_check(sl_broker *b)
{
    for (delete_wait **pp = &b->deletes; *pp;) {
        delete_wait *w = *pp;
        if (kafka_topic_idle(w->topic)) {
            *pp = w->next;
            /* While stopping, at once: the registry closes right after. */
            if (b->stopping) {
                kafka_topics_destroy(b->topics, w->topic);
                if (w->cb) w->cb(w->arg, KAFKA_ERR_NONE, "");
            } else {
                sl__broker_topic_remove(b, w->topic, w->cb, w->arg);
            }
            sl_free(w);
        } else {
            pp = &w->next;
        }
    }
}

void sl__broker_topic_delete(sl_broker *b, kafka_topic *tp, kafka_topic_cb cb, void *arg)
{
    kafka_topics_mark_deleting(b->topics, tp);
    for (int32_t i = 0; i < tp->nparts; i++)
        if (tp->parts[i].watchers) sl__fetch_wake(&tp->parts[i]);
    delete_wait *w = sl_calloc(1, sizeof(*w));
    w->topic = tp;
    w->cb = cb;
    w->arg = arg;
    w->next = b->deletes;
    b->deletes = w;
    sl__broker_deletes_check(b);
}

/* Timers. */

/* Log files that retention or compaction removed, held open by the log (sl_plog_take_dead_fds),
 * are closed on a libuv worker: the last close frees the file's blocks, which takes 100s of ms
 * for a big segment on ext4 (160-200 ms for 512 MiB here). */
typedef struct fd_close_work {
    uv_work_t work; /* sender: the loop (uv_queue_work); receiver: a libuv worker thread, then
                       the loop again in fd_close_done */
    sl_broker *b;
    size_t n;
    int fds[16];
} fd_close_work;

static void fd_close_run(uv_work_t *w)
{
    fd_close_work *cw = w->data;
    for (size_t i = 0; i < cw->n; i++)
        close(cw->fds[i]);
}

static void fd_close_done(uv_work_t *w, int status)
{
    SL_UNUSED(status);
    fd_close_work *cw = w->data;
    sl_broker *b = cw->b;
    sl_free(cw);
    sl__broker_bg_end(b);
}

static void close_dead_files(sl_broker *b, sl_plog *l)
{
    for (;;) {
        fd_close_work *cw = sl_malloc(sizeof(*cw));
        cw->n = sl_plog_take_dead_fds(l, cw->fds, SL_ARRAY_LEN(cw->fds));
        if (cw->n == 0) {
            sl_free(cw);
            return;
        }
        cw->b = b;
        cw->work.data = cw;
        sl__broker_bg_begin(b);
        uv_queue_work(b->loop, &cw->work, fd_close_run, fd_close_done);
    }
}

static void on_retention(uv_timer_t *t)
{
    sl_broker *b = t->data;
    kafka_topics_retain(b->topics, sl_now_ms());
    size_t n = kafka_topics_count(b->topics);
    for (size_t i = 0; i < n; i++) {
        kafka_topic *tp = kafka_topics_at(b->topics, i);
        for (int32_t j = 0; j < tp->nparts; j++)
            if (tp->parts[j].log) close_dead_files(b, tp->parts[j].log);
    }
}

/* The log cleaner: one partition at a time, its reading and writing on a libuv worker
 * (sl_compact_run) so that a big compaction never holds this loop; the snapshot of its segments
 * and their swaps run here (compact.h). A timer round walks every topic once. The partition's
 * flush_refs keeps its log from DeleteTopics and bg_jobs keeps a stop waiting (it cancels). */
typedef struct clean_work {
    uv_work_t work; /* sender: the loop (uv_queue_work); receiver: a libuv worker thread, then
                       the loop again in on_cleaned */
    sl_broker *b;
    kafka_partition *p;
    sl_compact_job *job;
} clean_work;

static void cleaner_next(sl_broker *b);

static void clean_run(uv_work_t *w)
{
    clean_work *cw = w->data;
    sl_compact_run(cw->job);
}

/* The compaction is over: its outcome recorded, the partition released, the next one started. */
static void clean_done(sl_broker *b)
{
    clean_work *cw = b->clean;
    kafka_partition *p = cw->p;
    sl_compact_stats st;
    int rc = sl_compact_end(cw->job, &st);
    kafka_partition_compacted(p, rc, &st);
    b->clean = NULL;
    sl_free(cw);
    p->flush_refs--;
    if (p->topic->deleting && p->flush_refs == 0) sl__broker_deletes_check(b);
    bool stopping = b->stopping;
    sl__broker_bg_end(b); /* may finish a stop, after which no topic may be touched */
    if (!stopping) cleaner_next(b);
}

/* Each swap costs a few fsyncs and an index rebuild: one per timer turn, so that the loop
 * serves its connections between segments. A stopping broker swaps the rest at once. */
static void on_swap(uv_timer_t *t)
{
    sl_broker *b = t->data;
    int more = b->stopping ? 0 : sl_compact_swap_next(b->clean->job);
    close_dead_files(b, b->clean->p->log);
    if (more > 0) {
        /* 1 ms, not 0: libuv runs a timer re-armed with 0 again in the same pass, before any
         * socket is polled. */
        uv_timer_start(&b->swap_timer, on_swap, 1, 0);
        return;
    }
    clean_done(b);
}

static void on_cleaned(uv_work_t *w, int status)
{
    SL_UNUSED(status); /* never cancelled through libuv: the job itself is */
    clean_work *cw = w->data;
    uv_timer_start(&cw->b->swap_timer, on_swap, 0, 0);
}

static void cleaner_next(sl_broker *b)
{
    if (b->clean || b->stopping) return;
    sl_compact_opts o;
    kafka_partition *p = kafka_topics_compact_next(b->topics, sl_now_ms(), &b->clean_cur, &o);
    if (!p) return; /* the round is over */
    clean_work *cw = sl_calloc(1, sizeof(*cw));
    cw->b = b;
    cw->p = p;
    cw->job = sl_compact_begin(p->log, &o);
    cw->work.data = cw;
    p->flush_refs++;
    sl__broker_bg_begin(b);
    b->clean = cw;
    uv_queue_work(b->loop, &cw->work, clean_run, on_cleaned);
}

static void on_cleaner(uv_timer_t *t)
{
    sl_broker *b = t->data;
    if (b->clean) return; /* the last round is still going */
    b->clean_cur = (kafka_compact_cursor){0, 0};
    cleaner_next(b);
}

static void on_snapshot(uv_timer_t *t)
{
    sl_broker *b = t->data;
    kafka_topics_snapshot(b->topics, false);
}

static void on_flush_interval(uv_timer_t *t)
{
    sl_broker *b = t->data;
    size_t n = kafka_topics_count(b->topics);
    for (size_t i = 0; i < n; i++) {
        kafka_topic *tp = kafka_topics_at(b->topics, i);
        if (tp->deleting) continue;
        for (int32_t j = 0; j < tp->nparts; j++)
            if (tp->parts[j].flush_dirty) sl__broker_flush(b, &tp->parts[j], NULL, NULL);
    }
}

static int parse_signed(const char *s, bool size, int64_t *out)
{
    if (!strcmp(s, "-1")) {
        *out = -1;
        return 0;
    }
    return size ? sl_parse_size(s, out) : sl_parse_duration_ms(s, out);
}

int sl_broker_config_check(sl_broker_config *cfg, char *err, size_t errlen)
{
    const char *f = cfg->flush;
    if (!strcmp(f, "always")) {
        cfg->flush_mode = SL_FLUSH_ALWAYS;
    } else if (!strcmp(f, "os")) {
        cfg->flush_mode = SL_FLUSH_OS;
    } else if (!strncmp(f, "interval:", 9) &&
               sl_parse_duration_ms(f + 9, &cfg->flush_interval_ms) == 0 &&
               cfg->flush_interval_ms > 0) {
        cfg->flush_mode = SL_FLUSH_INTERVAL;
    } else {
        snprintf(err, errlen, "flush: '%s' is not always, interval:MS or os", f);
        return SL_ERR_CONFIG;
    }
    if (parse_signed(cfg->retention_ms_opt, false, &cfg->retention_ms)) {
        snprintf(err, errlen, "retention-ms: '%s' is not a duration or -1", cfg->retention_ms_opt);
        return SL_ERR_CONFIG;
    }
    if (parse_signed(cfg->retention_bytes_opt, true, &cfg->retention_bytes)) {
        snprintf(err, errlen, "retention-bytes: '%s' is not a size or -1",
                 cfg->retention_bytes_opt);
        return SL_ERR_CONFIG;
    }
    if (cfg->group_min_session_timeout_ms > cfg->group_max_session_timeout_ms) {
        snprintf(err, errlen, "group-min-session-timeout is above group-max-session-timeout");
        return SL_ERR_CONFIG;
    }
    char host[256];
    int port;
    const char *adv = cfg->advertised ? cfg->advertised : cfg->listen;
    if (sl_hostport_parse(adv, host, sizeof(host), &port)) {
        snprintf(err, errlen, "%s: '%s' is not HOST:PORT",
                 cfg->advertised ? "advertised" : "listen", adv);
        return SL_ERR_CONFIG;
    }
    return 0;
}

/* The cluster id is made once and kept in DIR/cluster.id, so clients see a stable id. */
static int cluster_id_load(sl_broker *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/cluster.id", b->cfg.data_dir);
    FILE *f = fopen(path, "re");
    if (f) {
        char line[64] = "";
        bool ok = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        line[strcspn(line, "\r\n")] = 0;
        if (ok && strlen(line) == 22) {
            memcpy(b->cluster_id, line, 23);
            return 0;
        }
        SL_WARN(LOG_SUB, "%s: not a cluster id; making a new one", path);
    }
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t rnd[22];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
        uint64_t x = (uint64_t)sl_now_ms() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof(rnd); i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            rnd[i] = (uint8_t)(x >> 56);
        }
    }
    if (fd >= 0) close(fd);
    for (size_t i = 0; i < 22; i++)
        b->cluster_id[i] = alphabet[rnd[i] & 63];
    b->cluster_id[22] = 0;
    char line[24];
    int n = snprintf(line, sizeof line, "%s\n", b->cluster_id);
    int rc = sl_write_file_atomic(path, line, (size_t)n, 0644, true);
    if (rc) SL_ERROR(LOG_SUB, "writing %s: %s", path, sl_strerror(rc));
    return rc;
}

static void cfg_copy(sl_broker_config *dst, const sl_broker_config *src)
{
    *dst = *src;
    for (const sl_opt *o = sl_broker_opts; o->name; o++) {
        if (o->type != SL_OPT_STR && o->type != SL_OPT_HOSTPORT && o->type != SL_OPT_ENUM) continue;
        char **p = (char **)((char *)dst + o->offset);
        if (*p) *p = sl_strdup(*p);
    }
}

static void timer_start(sl_broker *b, uv_timer_t *t, uv_timer_cb cb, int64_t ms)
{
    uv_timer_init(b->loop, t);
    t->data = b;
    uv_timer_start(t, cb, (uint64_t)ms, (uint64_t)ms);
    uv_unref((uv_handle_t *)t);
    b->timers_open++;
}

int sl_broker_open(uv_loop_t *loop, const sl_broker_config *cfg, sl_broker **out)
{
    sl_broker *b = sl_calloc(1, sizeof(*b));
    b->loop = loop;
    cfg_copy(&b->cfg, cfg);
    sl_arena_init(&b->arena, 16 * 1024);
    b->detached = sl_calloc(1, sizeof(kconn));
    b->detached->b = b;
    b->detached->refs = 1;
    char err[256];
    int rc = sl_broker_config_check(&b->cfg, err, sizeof(err));
    if (rc) {
        SL_ERROR(LOG_SUB, "%s", err);
        goto fail;
    }
    if (b->cfg.sasl_users &&
        (rc = sl_auth_users_load(b->cfg.sasl_users, &b->users, err, sizeof(err)))) {
        SL_ERROR(LOG_SUB, "sasl-users %s", err);
        goto fail;
    }
    rc = kafka_topics_open(b->cfg.data_dir, &b->cfg, &b->topics);
    if (rc) goto fail;
    rc = cluster_id_load(b);
    if (rc) goto fail;
    rc = sl_flusher_start(loop, &b->flusher);
    if (rc) {
        SL_ERROR(LOG_SUB, "starting the flusher: %s", sl_strerror(rc));
        goto fail;
    }
    rc = sl_group_coord_open(b, &b->groups);
    if (rc) goto fail;
    sl_server_opts so = {
        .listen = b->cfg.listen,
        .max_frame = (size_t)b->cfg.max_request_bytes + 4,
        .max_conns = (unsigned)b->cfg.max_connections,
        .frame_len = sl_frame_len_be32,
        .name = LOG_SUB,
        .tls_cert = b->cfg.tls_cert,
        .tls_key = b->cfg.tls_key,
        .tls_ca = b->cfg.tls_ca,
        .udata = b,
        .on_open = on_open,
        .on_frame = on_frame,
        .frame_buf = b->cfg.direct_appends ? produce_frame_buf : NULL,
        .on_close = on_close,
    };
    rc = sl_server_start(loop, &so, &b->srv);
    if (rc) goto fail;
    const char *adv = b->cfg.advertised ? b->cfg.advertised : b->cfg.listen;
    sl_hostport_parse(adv, b->host, sizeof(b->host), &b->adv_port);
    if (!b->cfg.advertised && b->adv_port == 0) b->adv_port = sl_server_port(b->srv);
    uv_timer_init(loop, &b->backlog_timer);
    b->backlog_timer.data = b;
    b->timers_open++;
    timer_start(b, &b->retention_timer, on_retention, b->cfg.retention_check_ms);
    timer_start(b, &b->cleaner_timer, on_cleaner, b->cfg.log_cleaner_interval_ms);
    uv_timer_init(loop, &b->swap_timer);
    b->swap_timer.data = b;
    b->timers_open++;
    timer_start(b, &b->snapshot_timer, on_snapshot, SNAPSHOT_INTERVAL_MS);
    if (b->cfg.flush_mode == SL_FLUSH_INTERVAL)
        timer_start(b, &b->flush_timer, on_flush_interval, b->cfg.flush_interval_ms);
    SL_INFO(LOG_SUB, "broker %s on %s%s, data in %s, flush %s", b->cluster_id, b->cfg.listen,
            b->cfg.tls_cert ? (b->cfg.tls_ca ? " (TLS, client certificates)" : " (TLS)") : "",
            b->cfg.data_dir, b->cfg.flush);
    *out = b;
    return 0;
fail:
    if (b->groups) sl_group_coord_stop(b->groups);
    if (b->flusher) sl_flusher_stop(b->flusher);
    if (b->groups) sl_group_coord_close(b->groups);
    kafka_topics_close(b->topics);
    sl_auth_users_free(b->users);
    sl_config_free(sl_broker_opts, &b->cfg);
    sl_arena_free(&b->arena);
    kconn_release(b->detached);
    sl_free(b);
    return rc;
}

static void on_timer_closed(uv_handle_t *h)
{
    sl_broker *b = h->data;
    if (--b->timers_open == 0 && b->stop_done) b->stop_done(b->stop_arg);
}

static void on_server_stopped(void *arg)
{
    sl_broker *b = arg;
    /* Topics being made or removed on worker threads are finished first (topic_jobs.c). */
    if (b->bg_jobs > 0) {
        b->stop_waits_jobs = true;
        return;
    }
    /* Every connection is gone; the flusher completes the syncs still in flight, which
     * releases their partitions, then deletions can finish and the logs close. */
    sl_flusher_stop(b->flusher);
    b->flusher = NULL;
    sl_group_coord_close(b->groups);
    b->groups = NULL;
    sl__broker_deletes_check(b);
    kafka_topics_close(b->topics);
    b->topics = NULL;
    SL_INFO(LOG_SUB, "broker stopped");
    if (b->timers_open == 0) {
        if (b->stop_done) b->stop_done(b->stop_arg);
        return;
    }
    uv_close((uv_handle_t *)&b->backlog_timer, on_timer_closed);
    uv_close((uv_handle_t *)&b->retention_timer, on_timer_closed);
    uv_close((uv_handle_t *)&b->cleaner_timer, on_timer_closed);
    uv_close((uv_handle_t *)&b->swap_timer, on_timer_closed);
    uv_close((uv_handle_t *)&b->snapshot_timer, on_timer_closed);
    if (b->cfg.flush_mode == SL_FLUSH_INTERVAL)
        uv_close((uv_handle_t *)&b->flush_timer, on_timer_closed);
}

void sl__broker_bg_begin(sl_broker *b)
{
    b->bg_jobs++;
}

void sl__broker_bg_end(sl_broker *b)
{
    if (--b->bg_jobs == 0 && b->stop_waits_jobs) {
        b->stop_waits_jobs = false;
        on_server_stopped(b);
    }
}

void sl_broker_stop(sl_broker *b, void (*done)(void *arg), void *arg)
{
    if (b->stopping) return;
    b->stopping = true;
    b->stop_done = done;
    b->stop_arg = arg;
    SL_INFO(LOG_SUB, "stopping: closing connections, finishing syncs, saving producer state");
    if (b->clean) sl_compact_cancel(b->clean->job);
    sl__fetch_flush_all(b);
    sl_group_coord_stop(b->groups);
    sl_server_stop(b->srv, on_server_stopped, b);
}

void sl_broker_free(sl_broker *b)
{
    if (!b) return;
    sl_auth_users_free(b->users);
    sl_config_free(sl_broker_opts, &b->cfg);
    sl_arena_free(&b->arena);
    kconn_release(b->detached);
    sl_free(b);
}
