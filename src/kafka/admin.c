/* admin.c: Metadata, CreateTopics, DeleteTopics, DescribeConfigs, DescribeLogDirs and
 * InitProducerId. */
#include "kafka/handlers_int.h"
#include "core/log.h"
#include <inttypes.h>
#include <stdio.h>

/* DescribeConfigs resource types and config sources (DescribeConfigsResponse.json). */
enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };
enum {
    SOURCE_DYNAMIC_TOPIC_CONFIG = 1,
    SOURCE_STATIC_BROKER_CONFIG = 4,
    SOURCE_DEFAULT_CONFIG = 5,
};

static void put_partition_meta(sl_buf *body, int16_t v, int32_t index)
{
    kafka_put_i16(body, KAFKA_ERR_NONE);
    kafka_put_i32(body, index);
    kafka_put_i32(body, KAFKA_NODE_ID); /* leader */
    if (v >= 7) kafka_put_i32(body, 0); /* leader epoch */
    kafka_put_array(body, false, 1);    /* replicas */
    kafka_put_i32(body, KAFKA_NODE_ID);
    kafka_put_array(body, false, 1); /* in-sync replicas */
    kafka_put_i32(body, KAFKA_NODE_ID);
    if (v >= 5) kafka_put_array(body, false, 0); /* offline replicas */
}

static void put_topic_meta(sl_buf *body, int16_t v, kafka_err_t err, sl_slice name,
                           const kafka_topic *tp)
{
    kafka_put_i16(body, (int16_t)err);
    kafka_put_str(body, false, name);
    if (v >= 1) kafka_put_bool(body, false); /* is_internal */
    int32_t n = tp ? tp->nparts : 0;
    kafka_put_array(body, false, n);
    for (int32_t i = 0; i < n; i++)
        put_partition_meta(body, v, i);
    if (v >= 8) kafka_put_i32(body, INT32_MIN); /* authorized operations: not asked */
}

int kafka_handle_Metadata(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    sl_broker *b = req->broker;
    int32_t ntopics;
    if (kafka_rd_array(r, false, 2, &ntopics)) return SL_ERR_PARSE;
    sl_slice *names = NULL;
    if (ntopics > 0) {
        names = sl_arena_alloc(req->arena, (size_t)ntopics * sizeof(sl_slice));
        for (int32_t i = 0; i < ntopics; i++)
            if (kafka_rd_string(r, &names[i])) return SL_ERR_PARSE;
    }
    bool allow_create = true, b1, b2;
    if (v >= 4 && kafka_rd_bool(r, &allow_create)) return SL_ERR_PARSE;
    if (v >= 8 && (kafka_rd_bool(r, &b1) || kafka_rd_bool(r, &b2))) return SL_ERR_PARSE;
    /* v0: an empty list means every topic; v1+: null does. */
    bool all = ntopics < 0 || (v == 0 && ntopics == 0);

    if (v >= 3) kafka_put_i32(body, 0);
    kafka_put_array(body, false, 1);
    kafka_put_i32(body, KAFKA_NODE_ID);
    kafka_put_cstr(body, false, sl_broker_host(b));
    kafka_put_i32(body, sl_broker_adv_port(b));
    if (v >= 1) kafka_put_str(body, false, SL_SLICE_NULL); /* rack */
    if (v >= 2) kafka_put_cstr(body, false, sl__broker_cluster_id(b));
    if (v >= 1) kafka_put_i32(body, KAFKA_NODE_ID); /* controller */

    kafka_topics *topics = sl__broker_topics(b);
    if (all) {
        size_t pos = kafka_put_i32_placeholder(body);
        int32_t n = 0;
        for (size_t i = 0; i < kafka_topics_count(topics); i++) {
            kafka_topic *tp = kafka_topics_at(topics, i);
            if (tp->deleting) continue;
            put_topic_meta(body, v, KAFKA_ERR_NONE, SL_SLICE_STR(tp->name), tp);
            n++;
        }
        kafka_patch_i32(body, pos, n);
    } else {
        kafka_put_array(body, false, ntopics);
        for (int32_t i = 0; i < ntopics; i++) {
            kafka_topic *tp = NULL;
            kafka_err_t err = sl__broker_topic_get(b, names[i], allow_create, &tp);
            put_topic_meta(body, v, err, names[i], err ? NULL : tp);
        }
    }
    if (v >= 8) kafka_put_i32(body, INT32_MIN);
    return 0;
}

/* A CreateTopics or DeleteTopics response waiting for topics being made or removed on worker
 * threads (topic_jobs.c). */
typedef struct create_wait create_wait;

typedef struct create_result {
    create_wait *cw;
    sl_slice name; /* points into names */
    int16_t err;
    char *msg; /* NULL when none */
} create_result;

struct create_wait {
    kafka_deferred *d; /* NULL while the handler runs */
    bool deleting;     /* DeleteTopics */
    int16_t version;
    int pending;
    int32_t n;
    uint8_t *names;
    create_result res[];
};

static void create_wait_free(create_wait *cw)
{
    for (int32_t i = 0; i < cw->n; i++)
        sl_free(cw->res[i].msg);
    sl_free(cw->names);
    sl_free(cw);
}

static void put_create_results(sl_buf *body, const create_wait *cw)
{
    int16_t v = cw->version;
    if (v >= (cw->deleting ? 1 : 2)) kafka_put_i32(body, 0);
    kafka_put_array(body, false, cw->n);
    for (int32_t t = 0; t < cw->n; t++) {
        const create_result *r = &cw->res[t];
        kafka_put_str(body, false, r->name);
        kafka_put_i16(body, r->err);
        if (v >= 1 && !cw->deleting) kafka_put_cstr(body, false, r->msg);
    }
}

/* A results holder for n topics whose names (borrowed from the request) it copies. */
static create_wait *create_wait_new(int16_t v, bool deleting, const sl_slice *names, int32_t n)
{
    size_t len = 0;
    for (int32_t t = 0; t < n; t++)
        len += names[t].len;
    create_wait *cw = sl_calloc(1, sizeof(*cw) + (size_t)n * sizeof(create_result));
    cw->version = v;
    cw->deleting = deleting;
    cw->n = n;
    cw->names = sl_malloc(len + 1);
    size_t at = 0;
    for (int32_t t = 0; t < n; t++) {
        create_result *res = &cw->res[t];
        res->cw = cw;
        res->name = (sl_slice){names[t].ptr ? cw->names + at : NULL, names[t].len};
        if (names[t].len) memcpy(cw->names + at, names[t].ptr, names[t].len);
        at += names[t].len;
    }
    return cw;
}

/* Answers now when nothing is pending, else defers until the last topic is done. */
static int create_wait_finish(kafka_req *req, create_wait *cw, sl_buf *body)
{
    if (cw->pending == 0) {
        put_create_results(body, cw);
        create_wait_free(cw);
        return 0;
    }
    cw->d = kafka_req_defer(req);
    return KAFKA_DEFERRED;
}

static void on_topic_created(void *arg, kafka_err_t err, const char *msg)
{
    create_result *r = arg;
    create_wait *cw = r->cw;
    r->err = (int16_t)err;
    if (err) {
        r->msg = sl_strdup(msg);
        SL_INFO("kafka", "%s %.*s: %s: %s", cw->deleting ? "DeleteTopics" : "CreateTopics",
                (int)SL_MIN(r->name.len, 255), (const char *)r->name.ptr,
                kafka_err_name((int16_t)err), msg);
    }
    /* Still inside the handler (a deletion while stopping completes at once): it answers. */
    if (--cw->pending > 0 || !cw->d) return;
    sl_buf body;
    kafka_deferred_body_init(cw->d, &body);
    put_create_results(&body, cw);
    kafka_deferred_complete(cw->d, &body);
    create_wait_free(cw);
}

/* Answered once every topic exists or has failed, whatever timeout_ms asks. */
int kafka_handle_CreateTopics(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    sl_broker *b = req->broker;
    int32_t ntopics, timeout_ms;
    bool validate_only = false;
    if (kafka_rd_array(r, false, 16, &ntopics)) return SL_ERR_PARSE;
    if (ntopics < 0) ntopics = 0;

    typedef struct create_topic {
        sl_slice name;
        int32_t nparts;
        int16_t rf;
        bool bad_assign;
        int32_t nassign;
        size_t ncfg;
        kafka_cfg_kv *cfgs;
    } create_topic;
    create_topic *ct = sl_arena_alloc(req->arena, (size_t)ntopics * sizeof(*ct) + 1);
    for (int32_t t = 0; t < ntopics; t++) {
        create_topic *c = &ct[t];
        int32_t nassign, ncfg;
        memset(c, 0, sizeof(*c));
        if (kafka_rd_string(r, &c->name) || sl_rd_i32(r, &c->nparts) || sl_rd_i16(r, &c->rf) ||
            kafka_rd_array(r, false, 8, &nassign))
            return SL_ERR_PARSE;
        c->nassign = nassign > 0 ? nassign : 0;
        for (int32_t i = 0; i < nassign; i++) {
            int32_t index, nb, broker;
            if (sl_rd_i32(r, &index) || kafka_rd_array(r, false, 4, &nb)) return SL_ERR_PARSE;
            if (index != i || nb != 1) c->bad_assign = true;
            for (int32_t j = 0; j < nb; j++) {
                if (sl_rd_i32(r, &broker)) return SL_ERR_PARSE;
                if (broker != KAFKA_NODE_ID) c->bad_assign = true;
            }
        }
        if (kafka_rd_array(r, false, 4, &ncfg)) return SL_ERR_PARSE;
        c->ncfg = ncfg > 0 ? (size_t)ncfg : 0;
        c->cfgs = sl_arena_alloc(req->arena, c->ncfg * sizeof(kafka_cfg_kv) + 1);
        for (size_t i = 0; i < c->ncfg; i++)
            if (kafka_rd_string(r, &c->cfgs[i].name) || kafka_rd_string(r, &c->cfgs[i].value))
                return SL_ERR_PARSE;
    }
    if (sl_rd_i32(r, &timeout_ms)) return SL_ERR_PARSE;
    if (v >= 1 && kafka_rd_bool(r, &validate_only)) return SL_ERR_PARSE;

    sl_slice *names = sl_arena_alloc(req->arena, (size_t)ntopics * sizeof(sl_slice) + 1);
    for (int32_t t = 0; t < ntopics; t++)
        names[t] = ct[t].name;
    create_wait *cw = create_wait_new(v, false, names, ntopics);
    for (int32_t t = 0; t < ntopics; t++) {
        create_topic *c = &ct[t];
        create_result *res = &cw->res[t];

        char msg[300] = "";
        kafka_err_t err = KAFKA_ERR_NONE;
        int32_t nparts = c->nparts;
        bool dup = false, started = false;
        for (int32_t u = 0; u < ntopics; u++)
            if (u != t && sl_slice_eq(ct[u].name, c->name)) dup = true;
        if (dup) {
            err = KAFKA_ERR_INVALID_REQUEST;
            snprintf(msg, sizeof(msg),
                     "Create topics request from client contains a duplicate "
                     "topic name.");
        } else if (c->nassign > 0) {
            if (c->nparts != -1 || c->rf != -1 || c->bad_assign) {
                err = KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT;
                snprintf(msg, sizeof(msg),
                         "Replica assignments must name broker %d once per "
                         "partition, with partitions and replication factor -1.",
                         KAFKA_NODE_ID);
            }
            nparts = c->nassign;
        } else if (c->rf != 1 && c->rf != -1) {
            err = KAFKA_ERR_INVALID_REPLICATION_FACTOR;
            snprintf(msg, sizeof(msg), "Replication factor: %d larger than available brokers: 1.",
                     c->rf);
        } else if (nparts == -1) {
            nparts = (int32_t)sl_broker_cfg(b)->num_partitions;
        }
        if (!err)
            err = sl__broker_topic_create(b, c->name, nparts, c->cfgs, c->ncfg, validate_only,
                                          on_topic_created, res, &started, msg, sizeof(msg));
        if (err)
            sl_log(SL_LOG_INFO, "kafka", kafka_req_peer(req), "CreateTopics %.*s: %s: %s",
                   (int)SL_MIN(c->name.len, 255), c->name.ptr ? (const char *)c->name.ptr : "",
                   kafka_err_name((int16_t)err), msg);
        res->err = (int16_t)err;
        if (err) res->msg = sl_strdup(msg);
        if (started) cw->pending++;
    }
    return create_wait_finish(req, cw, body);
}

int kafka_handle_DeleteTopics(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    sl_broker *b = req->broker;
    kafka_topics *topics = sl__broker_topics(b);
    int32_t n, timeout_ms;
    if (kafka_rd_array(r, false, 2, &n)) return SL_ERR_PARSE;
    if (n < 0) n = 0;
    sl_slice *names = sl_arena_alloc(req->arena, (size_t)n * sizeof(sl_slice) + 1);
    for (int32_t i = 0; i < n; i++)
        if (kafka_rd_string(r, &names[i])) return SL_ERR_PARSE;
    if (sl_rd_i32(r, &timeout_ms)) return SL_ERR_PARSE;
    /* Answered once the files are gone, so the name can be created again at once. */
    create_wait *cw = create_wait_new(v, true, names, n);
    for (int32_t i = 0; i < n; i++) {
        kafka_topic *tp = kafka_topics_find(topics, names[i]);
        if (!kafka_topic_name_valid(names[i])) {
            cw->res[i].err = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
        } else if (!tp) {
            cw->res[i].err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else {
            cw->pending++;
            sl__broker_topic_delete(b, tp, on_topic_created, &cw->res[i]);
        }
    }
    return create_wait_finish(req, cw, body);
}

typedef struct describe_ctx {
    sl_buf *body;
    int16_t v;
    int32_t nkeys; /* -1: every config */
    const sl_slice *keys;
    int32_t count;
    int8_t default_source;
    int8_t set_source;
} describe_ctx;

static void emit_config(void *arg, const char *name, const char *value, bool is_default,
                        bool read_only)
{
    describe_ctx *c = arg;
    if (c->nkeys >= 0) {
        bool want = false;
        for (int32_t i = 0; i < c->nkeys && !want; i++)
            want = sl_slice_eq_str(c->keys[i], name);
        if (!want) return;
    }
    sl_buf *body = c->body;
    kafka_put_cstr(body, false, name);
    kafka_put_cstr(body, false, value);
    kafka_put_bool(body, read_only);
    if (c->v == 0)
        kafka_put_bool(body, is_default);
    else
        kafka_put_i8(body, is_default ? c->default_source : c->set_source);
    kafka_put_bool(body, false);                    /* is_sensitive */
    if (c->v >= 1) kafka_put_array(body, false, 0); /* synonyms */
    c->count++;
}

/* The broker resource lists this broker's settings under Kafka's names. */
static void broker_configs(sl_broker *b, describe_ctx *c)
{
    const sl_broker_config *cfg = sl_broker_cfg(b);
    char v[320];
#define EMIT_I64(name, val)                                                                        \
    do {                                                                                           \
        snprintf(v, sizeof(v), "%" PRId64, (int64_t)(val));                                        \
        emit_config(c, name, v, false, true);                                                      \
    } while (0)
    snprintf(v, sizeof(v), "PLAINTEXT://%s:%d", sl_broker_host(b), sl_broker_adv_port(b));
    emit_config(c, "advertised.listeners", v, false, true);
    emit_config(c, "auto.create.topics.enable", cfg->auto_create_topics ? "true" : "false", false,
                true);
    EMIT_I64("broker.id", KAFKA_NODE_ID);
    EMIT_I64("group.initial.rebalance.delay.ms", cfg->group_initial_rebalance_delay_ms);
    EMIT_I64("group.max.session.timeout.ms", cfg->group_max_session_timeout_ms);
    EMIT_I64("group.min.session.timeout.ms", cfg->group_min_session_timeout_ms);
    emit_config(c, "log.dirs", cfg->data_dir, false, true);
    EMIT_I64("log.retention.bytes", cfg->retention_bytes);
    EMIT_I64("log.retention.check.interval.ms", cfg->retention_check_ms);
    EMIT_I64("log.retention.ms", cfg->retention_ms);
    EMIT_I64("log.roll.ms", cfg->segment_ms);
    EMIT_I64("log.segment.bytes", cfg->segment_bytes);
    EMIT_I64("max.connections", cfg->max_connections);
    EMIT_I64("num.partitions", cfg->num_partitions);
    EMIT_I64("offsets.retention.check.interval.ms", cfg->offsets_retention_check_ms);
    EMIT_I64("offsets.retention.minutes", cfg->offsets_retention_ms / 60000);
    EMIT_I64("socket.request.max.bytes", cfg->max_request_bytes);
#undef EMIT_I64
}

int kafka_handle_DescribeConfigs(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    int16_t v = req->api_version;
    sl_broker *b = req->broker;
    int32_t n;
    if (kafka_rd_array(r, false, 7, &n)) return SL_ERR_PARSE;
    if (n < 0) n = 0;
    typedef struct resource {
        int8_t type;
        sl_slice name;
        int32_t nkeys;
        sl_slice *keys;
    } resource;
    resource *res = sl_arena_alloc(req->arena, (size_t)n * sizeof(*res) + 1);
    for (int32_t i = 0; i < n; i++) {
        if (sl_rd_i8(r, &res[i].type) || kafka_rd_string(r, &res[i].name) ||
            kafka_rd_array(r, false, 2, &res[i].nkeys))
            return SL_ERR_PARSE;
        res[i].keys = sl_arena_alloc(
            req->arena, (size_t)(res[i].nkeys > 0 ? res[i].nkeys : 0) * sizeof(sl_slice) + 1);
        for (int32_t k = 0; k < res[i].nkeys; k++)
            if (kafka_rd_string(r, &res[i].keys[k])) return SL_ERR_PARSE;
    }
    bool synonyms = false;
    if (v >= 1 && kafka_rd_bool(r, &synonyms)) return SL_ERR_PARSE;

    kafka_topics *topics = sl__broker_topics(b);
    kafka_put_i32(body, 0);
    kafka_put_array(body, false, n);
    for (int32_t i = 0; i < n; i++) {
        resource *rs = &res[i];
        kafka_err_t err = KAFKA_ERR_NONE;
        const char *msg = NULL;
        kafka_topic *tp = NULL;
        char node[16];
        snprintf(node, sizeof(node), "%d", KAFKA_NODE_ID);
        if (rs->type == RESOURCE_TOPIC) {
            if (!kafka_topic_name_valid(rs->name)) {
                err = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
                msg = "Invalid topic name";
            } else if (!(tp = kafka_topics_find(topics, rs->name))) {
                err = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                msg = "Topic does not exist";
            }
        } else if (rs->type == RESOURCE_BROKER) {
            if (rs->name.len && !sl_slice_eq_str(rs->name, node)) {
                err = KAFKA_ERR_INVALID_REQUEST;
                msg = "Unknown broker id";
            }
        } else {
            err = KAFKA_ERR_INVALID_REQUEST;
            msg = "Unsupported resource type";
        }
        kafka_put_i16(body, (int16_t)err);
        kafka_put_cstr(body, false, msg);
        kafka_put_i8(body, rs->type);
        kafka_put_str(body, false, rs->name);
        size_t pos = kafka_put_i32_placeholder(body);
        describe_ctx c = {
            body, v, rs->nkeys, rs->keys, 0, SOURCE_DEFAULT_CONFIG, SOURCE_DYNAMIC_TOPIC_CONFIG};
        if (!err && rs->type == RESOURCE_TOPIC) {
            kafka_topic_configs(topics, tp, emit_config, &c);
        } else if (!err) {
            c.set_source = SOURCE_STATIC_BROKER_CONFIG;
            broker_configs(b, &c);
        }
        kafka_patch_i32(body, pos, c.count);
    }
    return 0;
}

int kafka_handle_InitProducerId(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    bool flex = req->flexible;
    int16_t v = req->api_version;
    sl_slice txn_id;
    int32_t txn_timeout;
    int64_t pid = -1;
    int16_t epoch = -1;
    if (kafka_rd_str(r, flex, &txn_id) || sl_rd_i32(r, &txn_timeout)) return SL_ERR_PARSE;
    if (v >= 3 && (sl_rd_i64(r, &pid) || sl_rd_i16(r, &epoch))) return SL_ERR_PARSE;
    if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
    kafka_topics *topics = sl__broker_topics(req->broker);
    kafka_err_t err = KAFKA_ERR_NONE;
    int64_t out_pid = -1;
    int16_t out_epoch = -1;
    if (txn_id.ptr) {
        /* No transaction coordinator: transactional producers are refused plainly. */
        err = KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    } else if (pid >= 0 && epoch >= 0 && epoch < INT16_MAX - 1 &&
               pid < kafka_topics_next_producer_id_peek(topics)) {
        /* KIP-360: an idempotent producer that lost track of its sequences bumps its epoch,
         * which fences its own older in-flight batches and restarts sequences at 0. */
        out_pid = pid;
        out_epoch = (int16_t)(epoch + 1);
    } else {
        out_pid = kafka_topics_next_producer_id(topics);
        out_epoch = 0;
        if (out_pid < 0) {
            err = KAFKA_ERR_KAFKA_STORAGE_ERROR;
            out_epoch = -1;
        }
    }
    kafka_put_i32(body, 0);
    kafka_put_i16(body, (int16_t)err);
    kafka_put_i64(body, out_pid);
    kafka_put_i16(body, out_epoch);
    kafka_put_tags(body, flex);
    return 0;
}

static void put_partition_size(sl_buf *body, const kafka_partition *p)
{
    kafka_put_i32(body, p->index);
    kafka_put_i64(body, sl_plog_size_bytes(p->log));
    kafka_put_i64(body, 0);      /* offset lag: no future replica */
    kafka_put_bool(body, false); /* is_future_key */
}

/* DescribeLogDirs v0-1: one log dir, the data dir. Topics and partitions asked for that do not
 * exist are left out, as Kafka does. */
int kafka_handle_DescribeLogDirs(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    sl_broker *b = req->broker;
    int32_t n;
    if (kafka_rd_array(r, false, 6, &n)) return SL_ERR_PARSE;
    typedef struct want {
        sl_slice name;
        int32_t nparts;
        int32_t *parts;
    } want;
    want *w = sl_arena_alloc(req->arena, (size_t)(n > 0 ? n : 0) * sizeof(*w) + 1);
    for (int32_t i = 0; i < n; i++) {
        if (kafka_rd_string(r, &w[i].name) || kafka_rd_array(r, false, 4, &w[i].nparts))
            return SL_ERR_PARSE;
        if (w[i].nparts < 0) w[i].nparts = 0;
        w[i].parts = sl_arena_alloc(req->arena, (size_t)w[i].nparts * sizeof(int32_t) + 1);
        for (int32_t k = 0; k < w[i].nparts; k++)
            if (sl_rd_i32(r, &w[i].parts[k])) return SL_ERR_PARSE;
    }

    kafka_topics *topics = sl__broker_topics(b);
    kafka_put_i32(body, 0);
    kafka_put_array(body, false, 1);
    kafka_put_i16(body, KAFKA_ERR_NONE);
    kafka_put_cstr(body, false, sl_broker_data_dir(b));
    size_t tpos = kafka_put_i32_placeholder(body);
    int32_t nt = 0;
    size_t count = n < 0 ? kafka_topics_count(topics) : (size_t)n;
    for (size_t i = 0; i < count; i++) {
        kafka_topic *tp = n < 0 ? kafka_topics_at(topics, i) : kafka_topics_find(topics, w[i].name);
        if (!tp || tp->deleting) continue;
        kafka_put_cstr(body, false, tp->name);
        size_t ppos = kafka_put_i32_placeholder(body);
        int32_t np = 0;
        if (n < 0) {
            for (int32_t k = 0; k < tp->nparts; k++, np++)
                put_partition_size(body, &tp->parts[k]);
        } else {
            for (int32_t k = 0; k < w[i].nparts; k++) {
                int32_t idx = w[i].parts[k];
                if (idx < 0 || idx >= tp->nparts) continue;
                put_partition_size(body, &tp->parts[idx]);
                np++;
            }
        }
        kafka_patch_i32(body, ppos, np);
        nt++;
    }
    kafka_patch_i32(body, tpos, nt);
    return 0;
}
