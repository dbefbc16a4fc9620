/* group_handlers.c: the coordinator's Kafka wire handlers and its broker hookup.
 *
 * Each handler decodes its request for the versions listed in group.h, calls the coordinator
 * and encodes the answer; strings, arrays and tags follow req->flexible, so OffsetFetch v6-7
 * shares the code of v0-5. JoinGroup, SyncGroup and OffsetCommit may be answered later: their
 * callbacks either run before the coordinator call returns (the answer goes into the
 * handler's body) or after, on the loop (the answer completes the deferred response). */
#include "kafka/broker_int.h"
#include "kafka/group_int.h"

#include "core/log.h"

#include <string.h>

/* Kafka's "no authorized operations info" (DescribeGroups v3+). */
#define AUTHZ_OPS_UNKNOWN INT32_MIN

int sl_group_coord_open(sl_broker *b, sl_group_coord **out)
{
    const sl_broker_config *cfg = sl_broker_cfg(b);
    sl_group_opts o;
    sl_group_opts_default(&o);
    o.data_dir = sl_broker_data_dir(b);
    o.offsets_retention_ms = cfg->offsets_retention_ms;
    o.offsets_retention_check_ms = cfg->offsets_retention_check_ms;
    o.min_session_timeout_ms = (int32_t)SL_MIN(cfg->group_min_session_timeout_ms, INT32_MAX);
    o.max_session_timeout_ms = (int32_t)SL_MIN(cfg->group_max_session_timeout_ms, INT32_MAX);
    o.initial_rebalance_delay_ms =
        (int32_t)SL_MIN(cfg->group_initial_rebalance_delay_ms, INT32_MAX);
    o.fsync = cfg->flush_mode != SL_FLUSH_OS;
    return sl_group_coord_create(sl_broker_loop(b), &o, sl_broker_flusher(b), out);
}

/* A response that may be produced during the handler call or after it. */
typedef struct wire_wait {
    kafka_deferred *d; /* set once the handler has returned KAFKA_DEFERRED */
    sl_buf *body;      /* the handler's body while it runs */
    int16_t version;
    bool flexible;
    bool done; /* answered during the handler call */
    sl_buf out;
} wire_wait;

static void wait_init(wire_wait *w, kafka_req *req, sl_buf *body)
{
    w->d = NULL;
    w->body = body;
    w->version = req->api_version;
    w->flexible = req->flexible;
    w->done = false;
    sl_buf_init(&w->out);
}

/* The buffer to encode the answer into. */
static sl_buf *wait_body(wire_wait *w)
{
    if (!w->d) {
        w->done = true;
        return w->body;
    }
    kafka_deferred_body_init(w->d, &w->out);
    return &w->out;
}

/* Sends a deferred answer; returns true when the caller should free its context. */
static bool wait_send(wire_wait *w)
{
    if (!w->d) return false;
    kafka_deferred_complete(w->d, &w->out);
    sl_buf_free(&w->out);
    return true;
}

/* After the coordinator call: 0 if answered, else defers. */
static int wait_return(wire_wait *w, kafka_req *req)
{
    if (w->done) return 0;
    w->d = kafka_req_defer(req);
    w->body = NULL;
    return KAFKA_DEFERRED;
}

static sl_group_coord *coord(kafka_req *req)
{
    return sl_broker_groups(req->broker);
}

/* Reads a string that Kafka defines as non-nullable; a null is read as empty. */
static int rd_str(kafka_req *req, sl_slice *s)
{
    if (kafka_rd_str(&req->rd, req->flexible, s)) return SL_ERR_PARSE;
    if (!s->ptr) *s = (sl_slice){(const uint8_t *)"", 0};
    return 0;
}

static int rd_nstr(kafka_req *req, sl_slice *s)
{
    return kafka_rd_str(&req->rd, req->flexible, s);
}

/* Smallest encoded size of a string or bytes field, for array count checks. */
static size_t min_str(const kafka_req *req)
{
    return req->flexible ? 1 : 2;
}

static size_t min_bytes(const kafka_req *req)
{
    return req->flexible ? 1 : 4;
}

static size_t min_tags(const kafka_req *req)
{
    return req->flexible ? 1 : 0;
}

/* Kafka reports a member's host as InetAddress.toString() does: "/127.0.0.1". */
static void client_host(kafka_req *req, char *out, size_t n)
{
    const char *peer = kafka_req_peer(req);
    char host[128];
    int port;
    if (sl_hostport_parse(peer, host, sizeof host, &port)) snprintf(host, sizeof host, "%s", peer);
    snprintf(out, n, "/%s", host);
}

static void put_throttle(sl_buf *b)
{
    kafka_put_i32(b, 0);
}

int kafka_handle_FindCoordinator(kafka_req *req, sl_buf *body)
{
    sl_slice key;
    int8_t key_type = 0;
    if (rd_str(req, &key)) return SL_ERR_PARSE;
    if (req->api_version >= 1 && sl_rd_i8(&req->rd, &key_type)) return SL_ERR_PARSE;
    if (kafka_rd_tags_if(&req->rd, req->flexible)) return SL_ERR_PARSE;
    int16_t err = KAFKA_ERR_NONE;
    const char *msg = NULL;
    if (key_type == 1) {
        err = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        msg = "transactions are not supported by this broker";
    } else if (key_type != 0) {
        err = KAFKA_ERR_INVALID_REQUEST;
        msg = "unknown key type";
    }
    if (req->api_version >= 1) put_throttle(body);
    kafka_put_i16(body, err);
    if (req->api_version >= 1) kafka_put_cstr(body, req->flexible, msg);
    kafka_put_i32(body, err ? -1 : KAFKA_NODE_ID);
    kafka_put_cstr(body, req->flexible, err ? "" : sl_broker_host(req->broker));
    kafka_put_i32(body, err ? -1 : sl_broker_adv_port(req->broker));
    kafka_put_tags(body, req->flexible);
    return 0;
}

typedef struct join_wait {
    wire_wait w;
} join_wait;

static void encode_join(const wire_wait *w, sl_buf *b, const gc_join_res *r)
{
    bool flex = w->flexible;
    if (w->version >= 2) put_throttle(b);
    kafka_put_i16(b, r->error);
    kafka_put_i32(b, r->generation);
    kafka_put_cstr(b, flex, r->protocol ? r->protocol : "");
    kafka_put_cstr(b, flex, r->leader);
    kafka_put_cstr(b, flex, r->member_id);
    kafka_put_array(b, flex, (int32_t)r->nmembers);
    for (size_t i = 0; i < r->nmembers; i++) {
        kafka_put_cstr(b, flex, r->members[i].member_id);
        if (w->version >= 5) kafka_put_cstr(b, flex, r->members[i].instance_id);
        kafka_put_bytes(b, flex, r->members[i].metadata);
        kafka_put_tags(b, flex);
    }
    kafka_put_tags(b, flex);
}

static void on_join_done(void *arg, const gc_join_res *res)
{
    join_wait *jw = arg;
    encode_join(&jw->w, wait_body(&jw->w), res);
    if (wait_send(&jw->w)) sl_free(jw);
}

int kafka_handle_JoinGroup(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    gc_join_req rq = {0};
    int32_t nprotos;
    if (rd_str(req, &rq.group_id) || sl_rd_i32(r, &rq.session_timeout_ms)) return SL_ERR_PARSE;
    rq.rebalance_timeout_ms = rq.session_timeout_ms;
    if (req->api_version >= 1 && sl_rd_i32(r, &rq.rebalance_timeout_ms)) return SL_ERR_PARSE;
    if (rd_str(req, &rq.member_id)) return SL_ERR_PARSE;
    if (req->api_version >= 5 && rd_nstr(req, &rq.instance_id)) return SL_ERR_PARSE;
    if (rd_str(req, &rq.protocol_type)) return SL_ERR_PARSE;
    if (kafka_rd_array(r, req->flexible, min_str(req) + min_bytes(req) + min_tags(req), &nprotos))
        return SL_ERR_PARSE;
    nprotos = SL_MAX(nprotos, 0);
    gc_protocol_in *protos = sl_arena_alloc(req->arena, (size_t)nprotos * sizeof *protos + 1);
    for (int32_t i = 0; i < nprotos; i++) {
        if (rd_str(req, &protos[i].name) || kafka_rd_byts(r, req->flexible, &protos[i].metadata) ||
            kafka_rd_tags_if(r, req->flexible))
            return SL_ERR_PARSE;
    }
    if (kafka_rd_tags_if(r, req->flexible)) return SL_ERR_PARSE;

    char host[160];
    client_host(req, host, sizeof host);
    rq.client_id = req->client_id.ptr ? req->client_id : (sl_slice){(const uint8_t *)"", 0};
    rq.client_host = SL_SLICE_STR(host);
    /* A v0 client has no rebalance timeout: Kafka uses the session timeout. */
    if (rq.rebalance_timeout_ms < 0) rq.rebalance_timeout_ms = rq.session_timeout_ms;
    rq.require_known_member = req->api_version >= 4;
    rq.nprotocols = (size_t)nprotos;
    rq.protocols = protos;

    sl_group_coord *gc = coord(req);
    join_wait *jw = sl_calloc(1, sizeof *jw);
    wait_init(&jw->w, req, body);
    if (!gc) {
        gc_join_res err = {.error = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE,
                           .generation = -1,
                           .leader = "",
                           .member_id = ""};
        on_join_done(jw, &err);
    } else {
        sl__gc_join(gc, &rq, on_join_done, jw);
    }
    int rc = wait_return(&jw->w, req);
    if (!rc) sl_free(jw);
    return rc;
}

typedef struct sync_wait {
    wire_wait w;
} sync_wait;

static void on_sync_done(void *arg, int16_t err, sl_slice assignment)
{
    sync_wait *sw = arg;
    sl_buf *b = wait_body(&sw->w);
    bool flex = sw->w.flexible;
    if (sw->w.version >= 1) put_throttle(b);
    kafka_put_i16(b, err);
    kafka_put_bytes(b, flex, assignment.ptr ? assignment : (sl_slice){(const uint8_t *)"", 0});
    kafka_put_tags(b, flex);
    if (wait_send(&sw->w)) sl_free(sw);
}

int kafka_handle_SyncGroup(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    gc_sync_req rq = {0};
    int32_t n;
    if (rd_str(req, &rq.group_id) || sl_rd_i32(r, &rq.generation) || rd_str(req, &rq.member_id))
        return SL_ERR_PARSE;
    if (req->api_version >= 3 && rd_nstr(req, &rq.instance_id)) return SL_ERR_PARSE;
    if (kafka_rd_array(r, req->flexible, min_str(req) + min_bytes(req) + min_tags(req), &n))
        return SL_ERR_PARSE;
    n = SL_MAX(n, 0);
    gc_assignment_in *as = sl_arena_alloc(req->arena, (size_t)n * sizeof *as + 1);
    for (int32_t i = 0; i < n; i++) {
        if (rd_str(req, &as[i].member_id) || kafka_rd_byts(r, req->flexible, &as[i].assignment) ||
            kafka_rd_tags_if(r, req->flexible))
            return SL_ERR_PARSE;
    }
    if (kafka_rd_tags_if(r, req->flexible)) return SL_ERR_PARSE;
    rq.nassignments = (size_t)n;
    rq.assignments = as;

    sl_group_coord *gc = coord(req);
    sync_wait *sw = sl_calloc(1, sizeof *sw);
    wait_init(&sw->w, req, body);
    if (!gc)
        on_sync_done(sw, KAFKA_ERR_COORDINATOR_NOT_AVAILABLE, SL_SLICE_NULL);
    else
        sl__gc_sync(gc, &rq, on_sync_done, sw);
    int rc = wait_return(&sw->w, req);
    if (!rc) sl_free(sw);
    return rc;
}

int kafka_handle_Heartbeat(kafka_req *req, sl_buf *body)
{
    sl_slice group, member, instance;
    int32_t generation;
    if (rd_str(req, &group) || sl_rd_i32(&req->rd, &generation) || rd_str(req, &member))
        return SL_ERR_PARSE;
    if (req->api_version >= 3 && rd_nstr(req, &instance)) return SL_ERR_PARSE;
    if (kafka_rd_tags_if(&req->rd, req->flexible)) return SL_ERR_PARSE;
    sl_group_coord *gc = coord(req);
    int16_t err =
        gc ? sl__gc_heartbeat(gc, group, member, generation) : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (req->api_version >= 1) put_throttle(body);
    kafka_put_i16(body, err);
    kafka_put_tags(body, req->flexible);
    return 0;
}

int kafka_handle_LeaveGroup(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    sl_group_coord *gc = coord(req);
    bool flex = req->flexible;
    sl_slice group;
    if (rd_str(req, &group)) return SL_ERR_PARSE;
    if (req->api_version < 3) {
        sl_slice member;
        if (rd_str(req, &member) || kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
        int16_t merr = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        int16_t err = gc ? sl__gc_leave(gc, group, member, SL_SLICE_NULL, &merr) : merr;
        if (req->api_version >= 1) put_throttle(body);
        /* Before v3 the one member's outcome is the response's error. */
        kafka_put_i16(body, err ? err : merr);
        kafka_put_tags(body, flex);
        return 0;
    }
    int32_t n;
    if (kafka_rd_array(r, flex, 2 * min_str(req) + min_tags(req), &n)) return SL_ERR_PARSE;
    n = SL_MAX(n, 0);
    sl_slice *ids = sl_arena_alloc(req->arena, 2 * (size_t)n * sizeof *ids + 1);
    for (int32_t i = 0; i < n; i++) {
        if (rd_str(req, &ids[2 * i]) || rd_nstr(req, &ids[2 * i + 1]) || kafka_rd_tags_if(r, flex))
            return SL_ERR_PARSE;
    }
    if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
    int16_t *merrs = sl_arena_alloc(req->arena, (size_t)n * sizeof *merrs + 1);
    int16_t err = gc ? KAFKA_ERR_NONE : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
    for (int32_t i = 0; i < n && !err; i++)
        err = sl__gc_leave(gc, group, ids[2 * i], ids[2 * i + 1], &merrs[i]);
    put_throttle(body);
    kafka_put_i16(body, err);
    kafka_put_array(body, flex, err ? 0 : n);
    for (int32_t i = 0; i < n && !err; i++) {
        kafka_put_str(body, flex, ids[2 * i]);
        kafka_put_str(body, flex, ids[2 * i + 1]);
        kafka_put_i16(body, merrs[i]);
        kafka_put_tags(body, flex);
    }
    kafka_put_tags(body, flex);
    return 0;
}

/* The request copied into memory that lives until the commit is durable. */
typedef struct commit_wait {
    wire_wait w;
    sl_arena arena;
    gc_commit_req rq;
    size_t ntopics;
    struct commit_topic {
        sl_slice name;
        size_t first, n; /* its parts in rq.parts */
    } * topics;
} commit_wait;

static void commit_wait_free(commit_wait *cw)
{
    sl_free(cw->rq.parts);
    sl_arena_free(&cw->arena);
    sl_free(cw);
}

/* A copy of s that outlives the request; embedded NULs are kept (group ids are bytes). */
static sl_slice arena_copy(sl_arena *a, sl_slice s)
{
    if (!s.ptr) return s;
    return (sl_slice){(const uint8_t *)sl_arena_strndup(a, (const char *)s.ptr, s.len), s.len};
}

static void on_commit_done(void *arg, gc_commit_req *rq)
{
    commit_wait *cw = arg;
    sl_buf *b = wait_body(&cw->w);
    bool flex = cw->w.flexible;
    if (cw->w.version >= 3) put_throttle(b);
    kafka_put_array(b, flex, (int32_t)cw->ntopics);
    for (size_t t = 0; t < cw->ntopics; t++) {
        kafka_put_str(b, flex, cw->topics[t].name);
        kafka_put_array(b, flex, (int32_t)cw->topics[t].n);
        for (size_t i = cw->topics[t].first; i < cw->topics[t].first + cw->topics[t].n; i++) {
            kafka_put_i32(b, rq->parts[i].partition);
            kafka_put_i16(b, rq->parts[i].error);
            kafka_put_tags(b, flex);
        }
        kafka_put_tags(b, flex);
    }
    kafka_put_tags(b, flex);
    if (wait_send(&cw->w)) commit_wait_free(cw);
}

int kafka_handle_OffsetCommit(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    bool flex = req->flexible;
    int16_t v = req->api_version;
    sl_slice group, member = {(const uint8_t *)"", 0}, instance = SL_SLICE_NULL;
    int32_t generation = -1, ntopics;
    int64_t retention = -1;
    if (rd_str(req, &group)) return SL_ERR_PARSE;
    if (v >= 1 && (sl_rd_i32(r, &generation) || rd_str(req, &member))) return SL_ERR_PARSE;
    if (v >= 7 && rd_nstr(req, &instance)) return SL_ERR_PARSE;
    if (v >= 2 && v <= 4 && sl_rd_i64(r, &retention)) return SL_ERR_PARSE;
    if (kafka_rd_array(r, flex, min_str(req) + (flex ? 1 : 4) + min_tags(req), &ntopics))
        return SL_ERR_PARSE;
    ntopics = SL_MAX(ntopics, 0);

    commit_wait *cw = sl_calloc(1, sizeof *cw);
    sl_arena_init(&cw->arena, 4096);
    cw->topics = sl_arena_alloc(&cw->arena, (size_t)ntopics * sizeof *cw->topics + 1);
    size_t cap = 0;
    /* Per-partition minimum: partition, offset, metadata (and v1's timestamp, v6's epoch). */
    size_t part_min = 4 + 8 + min_str(req) + min_tags(req) + (v == 1 ? 8 : 0) + (v >= 6 ? 4 : 0);
    for (int32_t t = 0; t < ntopics; t++) {
        sl_slice name;
        int32_t nparts;
        if (rd_str(req, &name) || kafka_rd_array(r, flex, part_min, &nparts)) goto parse_error;
        nparts = SL_MAX(nparts, 0);
        struct commit_topic *ct = &cw->topics[cw->ntopics++];
        ct->name = arena_copy(&cw->arena, name);
        ct->first = cw->rq.nparts;
        ct->n = (size_t)nparts;
        if (cw->rq.nparts + (size_t)nparts > cap) {
            /* Counts were checked against the bytes left, so this is bounded by the frame. */
            cap = SL_MAX(cap * 2, cw->rq.nparts + (size_t)nparts);
            cw->rq.parts = sl_realloc(cw->rq.parts, cap * sizeof *cw->rq.parts);
        }
        int32_t count = req->broker ? sl_broker_topic_partitions(req->broker, name) : -1;
        for (int32_t i = 0; i < nparts; i++) {
            gc_commit_part *p = &cw->rq.parts[cw->rq.nparts++];
            memset(p, 0, sizeof *p);
            p->topic = ct->name;
            p->leader_epoch = -1;
            p->commit_ts = -1;
            sl_slice meta;
            if (sl_rd_i32(r, &p->partition) || sl_rd_i64(r, &p->offset)) goto parse_error;
            if (v >= 6 && sl_rd_i32(r, &p->leader_epoch)) goto parse_error;
            if (v == 1 && sl_rd_i64(r, &p->commit_ts)) goto parse_error;
            if (rd_nstr(req, &meta) || kafka_rd_tags_if(r, flex)) goto parse_error;
            /* A null metadata is stored as "", as Kafka does. */
            p->metadata =
                meta.ptr ? arena_copy(&cw->arena, meta) : (sl_slice){(const uint8_t *)"", 0};
            if (p->partition < 0 || p->partition >= count)
                p->error = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (kafka_rd_tags_if(r, flex)) goto parse_error;
    }
    if (kafka_rd_tags_if(r, flex)) goto parse_error;
    cw->rq.group_id = arena_copy(&cw->arena, group);
    cw->rq.member_id = arena_copy(&cw->arena, member);
    cw->rq.instance_id = arena_copy(&cw->arena, instance);
    cw->rq.generation = generation;
    cw->rq.retention_ms = retention;
    wait_init(&cw->w, req, body);

    sl_group_coord *gc = coord(req);
    if (!gc) {
        for (size_t i = 0; i < cw->rq.nparts; i++)
            cw->rq.parts[i].error = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE;
        on_commit_done(cw, &cw->rq);
    } else {
        sl__gc_commit(gc, &cw->rq, on_commit_done, cw);
    }
    int rc = wait_return(&cw->w, req);
    if (!rc) commit_wait_free(cw);
    return rc;

parse_error:
    commit_wait_free(cw);
    return SL_ERR_PARSE;
}

typedef struct fetch_topic {
    sl_slice name;
    int32_t n;
    int32_t *parts;
} fetch_topic;

static void put_fetched(sl_buf *b, const kafka_req *req, int32_t partition, const gc_offset *o)
{
    bool flex = req->flexible;
    kafka_put_i32(b, partition);
    kafka_put_i64(b, o ? o->offset : -1);
    if (req->api_version >= 5) kafka_put_i32(b, o ? o->leader_epoch : -1);
    kafka_put_cstr(b, flex, o ? o->metadata : "");
    kafka_put_i16(b, KAFKA_ERR_NONE);
    kafka_put_tags(b, flex);
}

/* OffsetFetch with a null topic list (v2+): every committed offset of the group. */
static void put_all_fetched(sl_buf *b, const kafka_req *req, gc_group *g)
{
    bool flex = req->flexible;
    size_t n = 0;
    gc_offset **v = g ? sl__gc_offsets_sorted(g, &n) : NULL;
    int32_t ntopics = 0;
    for (size_t i = 0; i < n; i++)
        if (!i || strcmp(v[i]->topic, v[i - 1]->topic)) ntopics++;
    kafka_put_array(b, flex, ntopics);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(v[j]->topic, v[i]->topic))
            j++;
        kafka_put_cstr(b, flex, v[i]->topic);
        kafka_put_array(b, flex, (int32_t)(j - i));
        for (size_t k = i; k < j; k++)
            put_fetched(b, req, v[k]->partition, v[k]);
        kafka_put_tags(b, flex);
        i = j;
    }
    sl_free(v);
}

int kafka_handle_OffsetFetch(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    bool flex = req->flexible;
    sl_slice group;
    int32_t ntopics;
    if (rd_str(req, &group)) return SL_ERR_PARSE;
    if (kafka_rd_array(r, flex, min_str(req) + (flex ? 1 : 4) + min_tags(req), &ntopics))
        return SL_ERR_PARSE;
    /* A null topic list means "all", from v2. */
    if (ntopics < 0 && req->api_version < 2) return SL_ERR_PARSE;
    fetch_topic *topics =
        sl_arena_alloc(req->arena, (size_t)SL_MAX(ntopics, 0) * sizeof *topics + 1);
    for (int32_t t = 0; t < ntopics; t++) {
        fetch_topic *ft = &topics[t];
        if (rd_str(req, &ft->name) || kafka_rd_array(r, flex, 4, &ft->n)) return SL_ERR_PARSE;
        ft->n = SL_MAX(ft->n, 0);
        ft->parts = sl_arena_alloc(req->arena, (size_t)ft->n * sizeof *ft->parts + 1);
        for (int32_t i = 0; i < ft->n; i++)
            if (sl_rd_i32(r, &ft->parts[i])) return SL_ERR_PARSE;
        if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;
    }
    bool require_stable;
    if (req->api_version >= 7 && kafka_rd_bool(r, &require_stable)) return SL_ERR_PARSE;
    if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;

    sl_group_coord *gc = coord(req);
    /* There are no transactions, so no offset is ever unstable (require_stable). */
    int16_t err = !gc            ? KAFKA_ERR_COORDINATOR_NOT_AVAILABLE
                  : gc->stopping ? KAFKA_ERR_NOT_COORDINATOR
                                 : KAFKA_ERR_NONE;
    gc_group *g = err ? NULL : sl__gc_group_find(gc, group);
    if (req->api_version >= 3) put_throttle(body);
    if (ntopics < 0) {
        put_all_fetched(body, req, g);
    } else {
        kafka_put_array(body, flex, ntopics);
        for (int32_t t = 0; t < ntopics; t++) {
            kafka_put_str(body, flex, topics[t].name);
            kafka_put_array(body, flex, topics[t].n);
            for (int32_t i = 0; i < topics[t].n; i++) {
                const gc_offset *o =
                    g ? sl__gc_offset_lookup(gc, group, topics[t].name, topics[t].parts[i]) : NULL;
                if (err && req->api_version < 2) {
                    /* v0-1 have no top-level error: report it per partition. */
                    kafka_put_i32(body, topics[t].parts[i]);
                    kafka_put_i64(body, -1);
                    kafka_put_cstr(body, flex, "");
                    kafka_put_i16(body, err);
                } else {
                    put_fetched(body, req, topics[t].parts[i], o);
                }
            }
            kafka_put_tags(body, flex);
        }
    }
    if (req->api_version >= 2) kafka_put_i16(body, err);
    kafka_put_tags(body, flex);
    return 0;
}

typedef struct list_ctx {
    sl_buf *b;
    bool flex;
    int32_t n;
} list_ctx;

static void list_one(void *arg, const sl_group_info *g)
{
    list_ctx *c = arg;
    kafka_put_cstr(c->b, c->flex, g->group_id);
    kafka_put_cstr(c->b, c->flex, g->protocol_type);
    kafka_put_tags(c->b, c->flex);
    c->n++;
}

int kafka_handle_ListGroups(kafka_req *req, sl_buf *body)
{
    if (kafka_rd_tags_if(&req->rd, req->flexible)) return SL_ERR_PARSE;
    sl_group_coord *gc = coord(req);
    bool flex = req->flexible;
    if (req->api_version >= 1) put_throttle(body);
    kafka_put_i16(body, gc ? KAFKA_ERR_NONE : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
    /* The count is known after the walk: patch it (classic int32 arrays only). */
    list_ctx c = {.b = body, .flex = flex};
    if (flex) {
        sl_buf tmp = SL_BUF_INIT;
        c.b = &tmp;
        if (gc) sl_group_list(gc, list_one, &c);
        kafka_put_array(body, flex, c.n);
        sl_buf_append(body, tmp.ptr, tmp.len);
        sl_buf_free(&tmp);
    } else {
        size_t at = kafka_put_i32_placeholder(body);
        if (gc) sl_group_list(gc, list_one, &c);
        kafka_patch_i32(body, at, c.n);
    }
    kafka_put_tags(body, flex);
    return 0;
}

typedef struct describe_ctx {
    sl_buf *b;
    const kafka_req *req;
    bool stable;
} describe_ctx;

static void describe_member(void *arg, const sl_group_member_info *m)
{
    describe_ctx *c = arg;
    bool flex = c->req->flexible;
    static const uint8_t none;
    sl_slice empty = {&none, 0};
    kafka_put_cstr(c->b, flex, m->member_id);
    if (c->req->api_version >= 4) kafka_put_cstr(c->b, flex, m->instance_id);
    kafka_put_cstr(c->b, flex, m->client_id);
    kafka_put_cstr(c->b, flex, m->client_host);
    /* As Kafka: metadata and assignment only for a Stable group. */
    kafka_put_bytes(c->b, flex, c->stable ? m->metadata : empty);
    kafka_put_bytes(c->b, flex, c->stable && m->assignment.ptr ? m->assignment : empty);
    kafka_put_tags(c->b, flex);
}

int kafka_handle_DescribeGroups(kafka_req *req, sl_buf *body)
{
    sl_rd *r = &req->rd;
    bool flex = req->flexible;
    int32_t n;
    if (kafka_rd_array(r, flex, min_str(req), &n)) return SL_ERR_PARSE;
    n = SL_MAX(n, 0);
    sl_slice *ids = sl_arena_alloc(req->arena, (size_t)n * sizeof *ids + 1);
    for (int32_t i = 0; i < n; i++)
        if (rd_str(req, &ids[i])) return SL_ERR_PARSE;
    bool authz;
    if (req->api_version >= 3 && kafka_rd_bool(r, &authz)) return SL_ERR_PARSE;
    if (kafka_rd_tags_if(r, flex)) return SL_ERR_PARSE;

    sl_group_coord *gc = coord(req);
    if (req->api_version >= 1) put_throttle(body);
    kafka_put_array(body, flex, n);
    for (int32_t i = 0; i < n; i++) {
        sl_group_info info;
        bool found = gc && !sl_group_describe(gc, ids[i], &info, NULL, NULL);
        kafka_put_i16(body, gc ? KAFKA_ERR_NONE : KAFKA_ERR_COORDINATOR_NOT_AVAILABLE);
        kafka_put_str(body, flex, ids[i]);
        /* An unknown group is described as Dead, as Kafka does. */
        kafka_put_cstr(body, flex, found ? info.state : "Dead");
        kafka_put_cstr(body, flex, found ? info.protocol_type : "");
        bool stable = found && !strcmp(info.state, "Stable");
        kafka_put_cstr(body, flex, stable ? info.protocol : "");
        if (found) {
            kafka_put_array(body, flex, (int32_t)info.members);
            describe_ctx c = {.b = body, .req = req, .stable = stable};
            sl_group_describe(gc, ids[i], &info, describe_member, &c);
        } else {
            kafka_put_array(body, flex, 0);
        }
        if (req->api_version >= 3) kafka_put_i32(body, AUTHZ_OPS_UNKNOWN);
        kafka_put_tags(body, flex);
    }
    kafka_put_tags(body, flex);
    return 0;
}
