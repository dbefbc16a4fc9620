/* broker_int.h: what request handlers (broker.c, topics, group coordinator) see of the broker.
 *
 * Handler contract: a handler reads its request body from req->rd and appends the response BODY
 * to body; the broker writes the response header (v0 for ApiVersions and for non-flexible
 * versions, v1 with empty tags for flexible ones) and the length prefix into room it reserved
 * at the start of body, so the response is sent without a copy. Handlers only append to body
 * (positions for patching are taken from body->len). It returns:
 *   0               the response is body;
 *   KAFKA_DEFERRED  after kafka_req_defer(req); the response follows later, on the loop thread,
 *                   through kafka_deferred_complete;
 *   KAFKA_NO_RESPONSE  nothing is sent (Produce with acks=0);
 *   SL_ERR_PARSE    the body is malformed: the broker logs api/version/offset and closes the
 *                   connection.
 * Responses on a connection go out in request order even when some are deferred. The request
 * frame (and so every slice read from req->rd, and req->client_id) is valid only during the
 * handler call: a deferring handler copies what it keeps. */
#ifndef SL_KAFKA_BROKER_INT_H
#define SL_KAFKA_BROKER_INT_H

#include "core/server.h"
#include "kafka/broker.h"
#include "kafka/flusher.h"
#include "kafka/proto.h"

/* This broker's node id in Metadata and FindCoordinator, and its controller id. */
#define KAFKA_NODE_ID 1

#define KAFKA_DEFERRED    1
#define KAFKA_NO_RESPONSE 2

typedef struct kafka_deferred kafka_deferred;
typedef struct sl_group_coord sl_group_coord;

typedef struct kafka_req {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    sl_slice client_id; /* borrowed from the frame; ptr NULL when the client sent null */
    bool flexible;      /* api_version >= the API's first flexible version */
    sl_rd rd;           /* the body, positioned after the request header */
    sl_broker *broker;
    sl_conn *conn;            /* NULL for frames fed by sl_broker_handle_frame */
    sl_arena *arena;          /* request-scoped memory, reset after the handler returns */
    kafka_deferred *deferred; /* set by kafka_req_defer */
    sl_file_range *ranges;    /* file parts of the response (kafka_req_add_range) */
    size_t nranges, cranges;
    bool direct; /* the frame lies in memory a partition log may write from directly, with
                    room around it (sl_plog_append_direct) */
} kafka_req;

typedef int (*kafka_handler_fn)(kafka_req *req, sl_buf *body);

/* "127.0.0.1:51234" for log context ("local" for frames fed by sl_broker_handle_frame). */
const char *kafka_req_peer(const kafka_req *req);

/* True when a response returned now goes out at once (it has a connection and nothing
 * deferred is ahead of it), so it may carry file ranges. */
bool kafka_req_can_stream(const kafka_req *req);
/* Puts len bytes of fd from off into the response at body's current end, to be sent from the
 * file (sendfile) when the handler returns 0; the handler appends nothing for them. Only when
 * kafka_req_can_stream. fd is duplicated, as the owner may close its own first. Returns 0 or
 * -errno (then nothing was added and the caller copies the bytes instead). */
int kafka_req_add_range(kafka_req *req, const sl_buf *body, int fd, int64_t off, size_t len);
/* Drops the ranges added after the first keep (a handler that takes back records, or defers
 * after all: keep 0). */
void kafka_req_drop_ranges(kafka_req *req, size_t keep);

/* Reserves this request's place in the connection's response order and returns a handle that
 * outlives the request (it keeps the connection). Call at most once, then return
 * KAFKA_DEFERRED. */
kafka_deferred *kafka_req_defer(kafka_req *req);
/* Starts an empty response body for d, reserving room for its header. */
void kafka_deferred_body_init(const kafka_deferred *d, sl_buf *body);
/* Completes a deferred response, taking body by move (body is left empty). body is either the
 * buffer the handler was given (moved out before returning KAFKA_DEFERRED) or one started with
 * kafka_deferred_body_init; NULL sends nothing. Frees the handle. If the connection closed
 * meanwhile the body is dropped. Runs on the loop thread. */
void kafka_deferred_complete(kafka_deferred *d, sl_buf *body);
/* True when the deferred request's connection has closed, so its work may be cut short. */
bool kafka_deferred_conn_closed(const kafka_deferred *d);
/* The api version and flexibility of the deferred request, for encoding its body. */
int16_t kafka_deferred_version(const kafka_deferred *d);
bool kafka_deferred_flexible(const kafka_deferred *d);

/* Broker accessors for handlers and the group coordinator. */
uv_loop_t *sl_broker_loop(const sl_broker *b);
const char *sl_broker_data_dir(const sl_broker *b);
sl_flusher *sl_broker_flusher(const sl_broker *b);
const sl_broker_config *sl_broker_cfg(const sl_broker *b);
/* The advertised host and port (what Metadata and FindCoordinator return). */
const char *sl_broker_host(const sl_broker *b);
int sl_broker_adv_port(const sl_broker *b);
/* The group coordinator. group.h declares its lifecycle, which the broker calls:
 *   int  sl_group_coord_open(sl_broker *b, sl_group_coord **out);  at broker open, after the
 *        flusher has started (take loop, data dir, flusher and config from the accessors);
 *   void sl_group_coord_stop(sl_group_coord *g);   at shutdown, before connections close:
 *        complete every deferred response (connections can only be freed after) and stop
 *        timers; no handler is called after it;
 *   void sl_group_coord_close(sl_group_coord *g);  after the flusher has stopped and delivered
 *        every callback: save state, free. */
sl_group_coord *sl_broker_groups(const sl_broker *b);
/* The partition count of topic, or -1 when it does not exist (OffsetCommit validation). */
int32_t sl_broker_topic_partitions(sl_broker *b, sl_slice topic);

#endif
