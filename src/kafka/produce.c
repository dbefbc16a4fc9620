/* produce.c: the Produce handler. Each partition's records must be one v2 batch; its header and
 * CRC32C are checked, the idempotent producer's sequence is checked, and the batch is appended
 * as received (the log rewrites only its base offset). Records are never decoded.
 *
 * The response is written while the request is parsed. acks=all under flush=always defers it
 * until the flusher reports every touched partition durable; a failed sync patches that
 * partition's error code in the already-built body. */
#include "kafka/handlers_int.h"
#include "core/log.h"
#include <inttypes.h>

typedef struct produce_wait produce_wait;

/* One partition sync a deferred response waits for. */
typedef struct produce_sync {
    produce_wait *pw;
    size_t err_pos; /* where this partition's error code sits in the body */
} produce_sync;

struct produce_wait {
    kafka_deferred *d;
    sl_buf body;
    int pending;
    produce_sync syncs[];
};

static void on_produce_synced(void *arg, int rc)
{
    produce_sync *s = arg;
    produce_wait *pw = s->pw;
    if (rc < 0) {
        SL_ERROR("kafka", "sync failed, answering KAFKA_STORAGE_ERROR: %s", sl_strerror(rc));
        sl_put_be16(pw->body.ptr + s->err_pos, (uint16_t)KAFKA_ERR_KAFKA_STORAGE_ERROR);
    }
    if (--pw->pending > 0) return;
    kafka_deferred_complete(pw->d, &pw->body);
    sl_free(pw);
}

/* The outcome of one partition. */
typedef struct part_result {
    kafka_err_t err;
    int64_t base_offset;
    int64_t log_append_time;
    int64_t log_start_offset;
    kafka_partition *synced; /* appended (or a duplicate): needs a sync for acks=all */
} part_result;

static void produce_partition(kafka_req *req, kafka_topic *tp, kafka_err_t topic_err, int32_t index,
                              sl_slice records, int16_t acks, bool txn, part_result *res)
{
    sl_broker *b = req->broker;
    *res = (part_result){KAFKA_ERR_NONE, -1, -1, -1, NULL};
    if (topic_err) {
        res->err = topic_err;
        return;
    }
    if (index < 0 || index >= tp->nparts) {
        res->err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    kafka_partition *p = &tp->parts[index];
    res->log_start_offset = sl_plog_start_offset(p->log);
    if (acks != 0 && acks != 1 && acks != -1) {
        res->err = KAFKA_ERR_INVALID_REQUIRED_ACKS;
        return;
    }
    if (!records.ptr || records.len == 0) {
        res->err = KAFKA_ERR_INVALID_RECORD;
        return;
    }
    kafka_batch_hdr h;
    /* v3+ carries exactly one batch (ProduceRequest.validateRecords). */
    if (records.len >= KAFKA_BATCH_HEADER_SIZE) {
        int32_t blen = (int32_t)sl_get_be32(records.ptr + KAFKA_BATCH_OFF_LENGTH);
        if (blen >= 0 && (size_t)blen + KAFKA_BATCH_LOG_OVERHEAD < records.len) {
            res->err = KAFKA_ERR_INVALID_RECORD;
            return;
        }
    }
    res->err = kafka_batch_validate(records.ptr, records.len, &h);
    if (res->err) {
        sl_log(SL_LOG_DEBUG, "kafka", kafka_req_peer(req), "produce to %s-%d: %s", tp->name, index,
               kafka_err_name((int16_t)res->err));
        return;
    }
    if (txn || (h.attributes & KAFKA_ATTR_TRANSACTIONAL)) {
        res->err = KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        return;
    }
    if ((int64_t)records.len > tp->cfg.max_message_bytes) {
        res->err = KAFKA_ERR_MESSAGE_TOO_LARGE;
        return;
    }
    if ((h.attributes & KAFKA_ATTR_CODEC_MASK) == KAFKA_CODEC_ZSTD && req->api_version < 7) {
        res->err = KAFKA_ERR_UNSUPPORTED_COMPRESSION_TYPE;
        return;
    }
    if (acks == -1 && tp->cfg.min_insync_replicas > 1) {
        res->err = KAFKA_ERR_NOT_ENOUGH_REPLICAS;
        return;
    }
    if (h.producer_id >= 0) {
        kafka_pcheck c = kafka_pstate_check(p->pstate, &h);
        if (c.err) {
            sl_log(SL_LOG_INFO, "kafka", kafka_req_peer(req),
                   "produce to %s-%d from producer %" PRId64 " epoch %d seq %d: %s", tp->name,
                   index, h.producer_id, h.producer_epoch, h.base_sequence,
                   kafka_err_name((int16_t)c.err));
            res->err = c.err;
            return;
        }
        if (c.duplicate) {
            res->base_offset = c.dup_base_offset;
            res->synced = p;
            return;
        }
    }
    /* The batch is rewritten in place (base offset, and LogAppendTime if configured): the
     * frame lives in the server's writable read buffer and is not used after this request. */
    uint8_t *batch = (uint8_t *)records.ptr;
    if (tp->cfg.timestamp_type == 1) {
        res->log_append_time = sl_now_ms();
        kafka_batch_set_log_append_time(batch, records.len, res->log_append_time);
    }
    int64_t base;
    int rc = req->direct ? sl_plog_append_direct(p->log, batch, records.len, &base)
                         : sl_plog_append(p->log, batch, records.len, &base);
    if (rc) {
        SL_ERROR("kafka", "append to %s: %s", p->dir, sl_strerror(rc));
        res->err = KAFKA_ERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (h.producer_id >= 0) {
        kafka_pstate_update(p->pstate, &h, base, sl_now_ms());
        p->pstate_dirty = true;
    }
    kafka_partition_appended(p, records.len);
    res->base_offset = base;
    res->log_start_offset = sl_plog_start_offset(p->log);
    res->synced = p;
    sl__broker_appended(b, p);
}

int kafka_handle_Produce(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    bool flex = req->flexible;
    int16_t v = req->api_version;
    sl_slice txn_id = SL_SLICE_NULL;
    int16_t acks;
    int32_t timeout_ms, ntopics;
    if (v >= 3 && kafka_rd_str(r, flex, &txn_id)) return SL_ERR_PARSE;
    if (sl_rd_i16(r, &acks) || sl_rd_i32(r, &timeout_ms) || kafka_rd_array(r, flex, 4, &ntopics))
        return SL_ERR_PARSE;
    if (ntopics < 0) ntopics = 0;
    sl_broker *b = req->broker;
    /* v0-2 carry message sets v0/v1, which this broker does not store. */
    bool unsupported = v < 3;
    bool wait_sync = acks == -1 && !unsupported && sl_broker_cfg(b)->flush_mode == SL_FLUSH_ALWAYS;
    size_t nsync = 0, cap_sync = 0;
    produce_sync *syncs = NULL;
    kafka_partition **sync_parts = NULL;

    kafka_put_array(body, flex, ntopics);
    for (int32_t t = 0; t < ntopics; t++) {
        sl_slice name;
        int32_t nparts;
        if (kafka_rd_str(r, flex, &name) || kafka_rd_array(r, flex, 8, &nparts))
            return SL_ERR_PARSE;
        if (nparts < 0) nparts = 0;
        kafka_topic *tp = NULL;
        kafka_err_t terr =
            unsupported ? KAFKA_ERR_UNSUPPORTED_VERSION : sl__broker_topic_get(b, name, true, &tp);
        kafka_put_str(body, flex, name);
        kafka_put_array(body, flex, nparts);
        for (int32_t i = 0; i < nparts; i++) {
            int32_t index;
            sl_slice records;
            if (sl_rd_i32(r, &index) || kafka_rd_byts(r, flex, &records) ||
                kafka_rd_tags_if(r, flex))
                return SL_ERR_PARSE;
            part_result res;
            produce_partition(req, tp, terr, index, records, acks, txn_id.ptr != NULL, &res);
            kafka_put_i32(body, index);
            size_t err_pos = body->len;
            kafka_put_i16(body, (int16_t)res.err);
            kafka_put_i64(body, res.base_offset);
            if (v >= 2) kafka_put_i64(body, res.log_append_time);
            if (v >= 5) kafka_put_i64(body, res.log_start_offset);
            if (v >= 8) {
                kafka_put_array(body, flex, 0);
                kafka_put_str(body, flex, SL_SLICE_NULL);
            }
            kafka_put_tags(body, flex);
            if (wait_sync && res.synced) {
                if (nsync == cap_sync) {
                    cap_sync = cap_sync ? cap_sync * 2 : 16;
                    produce_sync *ns = sl_arena_alloc(req->arena, cap_sync * sizeof(*ns));
                    kafka_partition **np = sl_arena_alloc(req->arena, cap_sync * sizeof(*np));
                    if (nsync) {
                        memcpy(ns, syncs, nsync * sizeof(*ns));
                        memcpy(np, sync_parts, nsync * sizeof(*np));
                    }
                    syncs = ns;
                    sync_parts = np;
                }
                syncs[nsync].err_pos = err_pos;
                sync_parts[nsync++] = res.synced;
            }
        }
        if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
        kafka_put_tags(body, flex);
    }
    if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
    if (v >= 1) kafka_put_i32(body, 0);
    kafka_put_tags(body, flex);

    if (acks == 0) return KAFKA_NO_RESPONSE;
    if (nsync == 0) return 0;
    produce_wait *pw = sl_malloc(sizeof(*pw) + nsync * sizeof(produce_sync));
    pw->d = kafka_req_defer(req);
    sl_buf_init(&pw->body);
    sl_buf_move(&pw->body, body);
    pw->pending = (int)nsync;
    for (size_t i = 0; i < nsync; i++) {
        pw->syncs[i].pw = pw;
        pw->syncs[i].err_pos = syncs[i].err_pos;
    }
    for (size_t i = 0; i < nsync; i++)
        sl__broker_flush(b, sync_parts[i], on_produce_synced, &pw->syncs[i]);
    return KAFKA_DEFERRED;
}
