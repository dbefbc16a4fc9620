/* fetch.c: the Fetch and ListOffsets handlers, and Fetch long-polling.
 *
 * Record batches are read from the partition log straight into the response body. A Fetch that
 * finds fewer than min_bytes waits up to max_wait_ms: it watches the partitions it asked for and
 * is re-evaluated whenever one of them is appended to. Fetch sessions (KIP-227) are not kept:
 * every response carries session id 0, which tells the client to send full requests. */
#include "kafka/handlers_int.h"
#include "core/log.h"
#include <inttypes.h>

/* The broker's cap on one Fetch response (Kafka's fetch.max.bytes, 55 MiB). */
#define FETCH_MAX_BYTES 57671680

typedef struct fetch_part {
    int32_t index;
    int64_t offset;
    int32_t max_bytes;
} fetch_part;

typedef struct fetch_topic {
    sl_slice name;
    int32_t nparts;
    fetch_part *parts;
} fetch_topic;

typedef struct fetch_args {
    int16_t version;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int32_t session_id;
    int32_t ntopics;
    fetch_topic *topics;
} fetch_args;

typedef struct fetch_wait {
    struct fetch_wait *next, **pprev; /* the broker's list of pending long-polls */
    sl_broker *b;
    kafka_deferred *d;
    uv_timer_t timer;
    fetch_args a; /* a deep copy, in mem */
    void *mem;
    size_t nwatch;
    kafka_watch *watches;
    bool done;
} fetch_wait;

static int parse_fetch(kafka_req *req, fetch_args *a)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    int32_t replica_id, session_epoch = -1;
    int8_t isolation = 0;
    memset(a, 0, sizeof(*a));
    a->version = v;
    a->max_bytes = INT32_MAX;
    if (sl_rd_i32(r, &replica_id) || sl_rd_i32(r, &a->max_wait_ms) || sl_rd_i32(r, &a->min_bytes))
        return SL_ERR_PARSE;
    if (v >= 3 && sl_rd_i32(r, &a->max_bytes)) return SL_ERR_PARSE;
    if (v >= 4 && sl_rd_i8(r, &isolation)) return SL_ERR_PARSE;
    if (v >= 7 && (sl_rd_i32(r, &a->session_id) || sl_rd_i32(r, &session_epoch)))
        return SL_ERR_PARSE;
    if (a->max_bytes > FETCH_MAX_BYTES) a->max_bytes = FETCH_MAX_BYTES;
    if (kafka_rd_array(r, false, 6, &a->ntopics)) return SL_ERR_PARSE;
    if (a->ntopics < 0) a->ntopics = 0;
    a->topics = sl_arena_alloc(req->arena, (size_t)a->ntopics * sizeof(fetch_topic) + 1);
    for (int32_t t = 0; t < a->ntopics; t++) {
        fetch_topic *ft = &a->topics[t];
        if (kafka_rd_string(r, &ft->name) || kafka_rd_array(r, false, 16, &ft->nparts))
            return SL_ERR_PARSE;
        if (ft->nparts < 0) ft->nparts = 0;
        ft->parts = sl_arena_alloc(req->arena, (size_t)ft->nparts * sizeof(fetch_part) + 1);
        for (int32_t i = 0; i < ft->nparts; i++) {
            fetch_part *fp = &ft->parts[i];
            int32_t leader_epoch;
            int64_t log_start;
            if (sl_rd_i32(r, &fp->index)) return SL_ERR_PARSE;
            if (v >= 9 && sl_rd_i32(r, &leader_epoch)) return SL_ERR_PARSE;
            if (sl_rd_i64(r, &fp->offset)) return SL_ERR_PARSE;
            if (v >= 5 && sl_rd_i64(r, &log_start)) return SL_ERR_PARSE;
            if (sl_rd_i32(r, &fp->max_bytes)) return SL_ERR_PARSE;
        }
    }
    if (v >= 7) {
        int32_t nforgotten;
        if (kafka_rd_array(r, false, 6, &nforgotten)) return SL_ERR_PARSE;
        for (int32_t t = 0; t < nforgotten; t++) {
            sl_slice name;
            int32_t n;
            if (kafka_rd_string(r, &name) || kafka_rd_array(r, false, 4, &n) ||
                sl_rd_skip(r, (size_t)(n > 0 ? n : 0) * 4))
                return SL_ERR_PARSE;
        }
    }
    if (v >= 11) {
        sl_slice rack;
        if (kafka_rd_string(r, &rack)) return SL_ERR_PARSE;
    }
    return r->err ? SL_ERR_PARSE : 0;
}

/* Reads a partition's records for a response: as a file range of stream's response when
 * stream is set (sent with sendfile) unless the log's in-memory tail holds them, else into body.
 * *got is the record bytes either way. Returns what sl_plog_read does. */
static int read_records(kafka_req *stream, sl_plog *log, int64_t offset, size_t max_bytes,
                        sl_buf *body, size_t *got)
{
    size_t before = body->len;
    if (stream) {
        int fd;
        int64_t pos;
        size_t len = 0;
        int rc = sl_plog_read_range(log, offset, max_bytes, &fd, &pos, &len);
        *got = len;
        if (rc || len == 0) return rc;
        /* Bytes a direct append wrote are not in the page cache: sendfile would read them from
         * the device, a copy from the log's in-memory tail does not. */
        if (sl_plog_copy_range(log, fd, pos, len, body) == 0) return 0;
        if (kafka_req_add_range(stream, body, fd, pos, len) == 0) return 0;
    }
    int rc = sl_plog_read(log, offset, max_bytes, body);
    *got = body->len - before;
    return rc;
}

/* Writes the response body for a; returns the record bytes included, and sets *errors when a
 * partition has an error (which answers a long-poll at once). With stream, records go into
 * file ranges of that request's response instead of body (kafka_req_add_range). */
static size_t build_fetch(sl_broker *b, const fetch_args *a, sl_buf *body, bool *errors,
                          kafka_req *stream)
{
    kafka_topics *topics = sl__broker_topics(b);
    int16_t v = a->version;
    size_t total = 0;
    int64_t remaining = a->max_bytes > 0 ? a->max_bytes : 0;
    *errors = false;
    kafka_put_i32(body, 0);
    if (v >= 7) {
        if (a->session_id != 0) {
            kafka_put_i16(body, KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND);
            kafka_put_i32(body, 0);
            kafka_put_array(body, false, 0);
            *errors = true;
            return 0;
        }
        kafka_put_i16(body, KAFKA_ERR_NONE);
        kafka_put_i32(body, 0);
    }
    kafka_put_array(body, false, a->ntopics);
    for (int32_t t = 0; t < a->ntopics; t++) {
        const fetch_topic *ft = &a->topics[t];
        kafka_topic *tp = kafka_topics_find(topics, ft->name);
        kafka_put_str(body, false, ft->name);
        kafka_put_array(body, false, ft->nparts);
        for (int32_t i = 0; i < ft->nparts; i++) {
            const fetch_part *fp = &ft->parts[i];
            kafka_partition *p =
                tp && fp->index >= 0 && fp->index < tp->nparts ? &tp->parts[fp->index] : NULL;
            kafka_err_t err = KAFKA_ERR_NONE;
            int64_t hwm = -1, start = -1;
            if (!p) {
                err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else {
                hwm = sl_plog_end_offset(p->log);
                start = sl_plog_start_offset(p->log);
                if (fp->offset < start || fp->offset > hwm) err = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
            }
            if (err) *errors = true;
            kafka_put_i32(body, fp->index);
            size_t err_pos = body->len;
            kafka_put_i16(body, (int16_t)err);
            kafka_put_i64(body, hwm);
            kafka_put_i64(body, hwm); /* last stable offset: no transactions */
            if (v >= 5) kafka_put_i64(body, start);
            kafka_put_array(body, false, 0); /* aborted transactions */
            if (v >= 11) kafka_put_i32(body, -1);
            size_t len_pos = kafka_put_i32_placeholder(body);
            size_t got = 0;
            int64_t limit = SL_MIN((int64_t)fp->max_bytes, remaining);
            if (!err && fp->offset < hwm && (limit > 0 || total == 0)) {
                size_t before = body->len, nranges = stream ? stream->nranges : 0;
                int rc = read_records(stream, p->log, fp->offset, limit > 0 ? (size_t)limit : 1,
                                      body, &got);
                /* Only the first batch of the response may exceed the limits (KIP-74). */
                if (rc || (total > 0 && (int64_t)got > limit)) {
                    body->len = before;
                    if (stream) kafka_req_drop_ranges(stream, nranges);
                    got = 0;
                }
                if (rc) {
                    /* The log could not be read (an I/O error or a bad batch on disk): say so
                     * rather than answer "no data", which would stall the consumer silently. */
                    SL_WARN("kafka", "read from %s at %" PRId64 ": %s", p->dir, fp->offset,
                            sl_strerror(rc));
                    sl_put_be16(body->ptr + err_pos, (uint16_t)KAFKA_ERR_KAFKA_STORAGE_ERROR);
                    *errors = true;
                }
            }
            kafka_patch_i32(body, len_pos, (int32_t)got);
            total += got;
            remaining -= (int64_t)got;
        }
    }
    return total;
}

static void wait_detach(fetch_wait *w)
{
    for (size_t i = 0; i < w->nwatch; i++) {
        kafka_watch *k = &w->watches[i];
        if (!k->pprev) continue;
        *k->pprev = k->next;
        if (k->next) k->next->pprev = k->pprev;
        k->next = NULL;
        k->pprev = NULL;
    }
    if (w->pprev) {
        *w->pprev = w->next;
        if (w->next) w->next->pprev = w->pprev;
        w->pprev = NULL;
    }
}

static void on_wait_closed(uv_handle_t *h)
{
    fetch_wait *w = h->data;
    sl_free(w->watches);
    sl_free(w->mem);
    sl_free(w);
}

/* Re-evaluates a long-poll; answers it when enough bytes are there, on timeout, on an error or
 * when its connection is gone. */
static void wait_fire(fetch_wait *w, bool force)
{
    if (w->done) return;
    if (kafka_deferred_conn_closed(w->d)) {
        kafka_deferred_complete(w->d, NULL);
    } else {
        sl_buf body;
        kafka_deferred_body_init(w->d, &body);
        bool errors;
        size_t total = build_fetch(w->b, &w->a, &body, &errors, NULL);
        if (!force && !errors && total < (size_t)SL_MAX(w->a.min_bytes, 1)) {
            sl_buf_free(&body);
            return;
        }
        kafka_deferred_complete(w->d, &body);
    }
    w->done = true;
    wait_detach(w);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_wait_closed);
}

static void on_wait_timeout(uv_timer_t *t)
{
    wait_fire(t->data, true);
}

void sl__fetch_wake(kafka_partition *p)
{
    size_t n = 0;
    for (kafka_watch *k = p->watchers; k; k = k->next)
        n++;
    fetch_wait *small[16];
    fetch_wait **ws = n <= 16 ? small : sl_malloc(n * sizeof(*ws));
    n = 0;
    for (kafka_watch *k = p->watchers; k; k = k->next)
        ws[n++] = k->waiter;
    for (size_t i = 0; i < n; i++)
        wait_fire(ws[i], false);
    if (ws != small) sl_free(ws);
}

void sl__fetch_flush_all(sl_broker *b)
{
    fetch_wait **head = (fetch_wait **)sl__broker_fetch_waiters(b);
    while (*head)
        wait_fire(*head, true);
}

/* Copies a (whose slices point into the request frame and arena) into one heap block. */
static void *args_copy(const fetch_args *a, fetch_args *out)
{
    size_t size = (size_t)a->ntopics * sizeof(fetch_topic);
    for (int32_t t = 0; t < a->ntopics; t++)
        size += (size_t)a->topics[t].nparts * sizeof(fetch_part) + a->topics[t].name.len + 1;
    uint8_t *mem = sl_malloc(size + 1);
    *out = *a;
    out->topics = (fetch_topic *)mem;
    uint8_t *p = mem + (size_t)a->ntopics * sizeof(fetch_topic);
    for (int32_t t = 0; t < a->ntopics; t++) {
        const fetch_topic *src = &a->topics[t];
        fetch_topic *dst = &out->topics[t];
        dst->nparts = src->nparts;
        dst->parts = (fetch_part *)p;
        memcpy(p, src->parts, (size_t)src->nparts * sizeof(fetch_part));
        p += (size_t)src->nparts * sizeof(fetch_part);
        memcpy(p, src->name.ptr ? src->name.ptr : (const uint8_t *)"", src->name.len);
        dst->name = (sl_slice){src->name.ptr ? p : NULL, src->name.len};
        p += src->name.len + 1;
    }
    return mem;
}

int kafka_handle_Fetch(kafka_req *req, sl_buf *body)
{
    fetch_args a;
    if (parse_fetch(req, &a)) return SL_ERR_PARSE;
    sl_broker *b = req->broker;
    size_t start = body->len;
    bool errors;
    size_t total = build_fetch(b, &a, body, &errors, kafka_req_can_stream(req) ? req : NULL);
    if (errors || a.max_wait_ms <= 0 || total >= (size_t)SL_MAX(a.min_bytes, 1) || a.ntopics == 0)
        return 0;
    body->len = start;
    kafka_req_drop_ranges(req, 0);

    fetch_wait *w = sl_calloc(1, sizeof(*w));
    w->b = b;
    w->mem = args_copy(&a, &w->a);
    size_t nparts = 0;
    for (int32_t t = 0; t < a.ntopics; t++)
        nparts += (size_t)a.topics[t].nparts;
    w->watches = sl_calloc(nparts + 1, sizeof(kafka_watch));
    kafka_topics *topics = sl__broker_topics(b);
    for (int32_t t = 0; t < w->a.ntopics; t++) {
        const fetch_topic *ft = &w->a.topics[t];
        for (int32_t i = 0; i < ft->nparts; i++) {
            kafka_partition *p = kafka_topics_partition(topics, ft->name, ft->parts[i].index);
            if (!p) continue;
            kafka_watch *k = &w->watches[w->nwatch++];
            k->waiter = w;
            k->next = p->watchers;
            k->pprev = &p->watchers;
            if (p->watchers) p->watchers->pprev = &k->next;
            p->watchers = k;
        }
    }
    fetch_wait **head = (fetch_wait **)sl__broker_fetch_waiters(b);
    w->next = *head;
    w->pprev = head;
    if (*head) (*head)->pprev = &w->next;
    *head = w;
    w->d = kafka_req_defer(req);
    uv_timer_init(sl_broker_loop(b), &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_wait_timeout, (uint64_t)a.max_wait_ms, 0);
    return KAFKA_DEFERRED;
}

int kafka_handle_ListOffsets(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    int32_t replica_id, ntopics;
    int8_t isolation = 0;
    if (sl_rd_i32(r, &replica_id)) return SL_ERR_PARSE;
    if (v >= 2 && sl_rd_i8(r, &isolation)) return SL_ERR_PARSE;
    if (kafka_rd_array(r, false, 6, &ntopics)) return SL_ERR_PARSE;
    if (ntopics < 0) ntopics = 0;
    kafka_topics *topics = sl__broker_topics(req->broker);
    if (v >= 2) kafka_put_i32(body, 0);
    kafka_put_array(body, false, ntopics);
    for (int32_t t = 0; t < ntopics; t++) {
        sl_slice name;
        int32_t nparts;
        if (kafka_rd_string(r, &name) || kafka_rd_array(r, false, 12, &nparts)) return SL_ERR_PARSE;
        if (nparts < 0) nparts = 0;
        kafka_topic *tp = kafka_topics_find(topics, name);
        kafka_put_str(body, false, name);
        kafka_put_array(body, false, nparts);
        for (int32_t i = 0; i < nparts; i++) {
            int32_t index, leader_epoch, max_num = 1;
            int64_t ts;
            if (sl_rd_i32(r, &index)) return SL_ERR_PARSE;
            if (v >= 4 && sl_rd_i32(r, &leader_epoch)) return SL_ERR_PARSE;
            if (sl_rd_i64(r, &ts)) return SL_ERR_PARSE;
            if (v == 0 && sl_rd_i32(r, &max_num)) return SL_ERR_PARSE;
            kafka_err_t err = KAFKA_ERR_NONE;
            int64_t off = -1, found_ts = -1;
            kafka_partition *p = tp && index >= 0 && index < tp->nparts ? &tp->parts[index] : NULL;
            if (!p) {
                err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (ts == -1) {
                off = sl_plog_end_offset(p->log);
            } else if (ts == -2) {
                off = sl_plog_start_offset(p->log);
            } else if (ts < 0) {
                err = KAFKA_ERR_UNSUPPORTED_VERSION; /* -3 (max timestamp) is ListOffsets v7+ */
            } else if (sl_plog_offset_for_time(p->log, ts, &off, &found_ts)) {
                err = KAFKA_ERR_UNKNOWN_SERVER_ERROR;
                off = -1;
            }
            kafka_put_i32(body, index);
            kafka_put_i16(body, (int16_t)err);
            if (v == 0) {
                bool one = !err && off >= 0 && max_num > 0;
                kafka_put_array(body, false, one ? 1 : 0);
                if (one) kafka_put_i64(body, off);
            } else {
                kafka_put_i64(body, found_ts);
                kafka_put_i64(body, off);
                if (v >= 4) kafka_put_i32(body, -1);
            }
        }
    }
    return r->err ? SL_ERR_PARSE : 0;
}
