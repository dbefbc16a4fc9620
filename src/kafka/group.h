/* group.h: the consumer group coordinator of `sluice broker` (Kafka's classic group protocol).
 *
 * Groups move through Empty -> PreparingRebalance -> CompletingRebalance -> Stable, with session
 * timeouts per member, a rebalance timeout per generation, leader choice and protocol selection
 * as Kafka's GroupCoordinator does. Committed offsets live in memory and in an append-only log
 * DATA_DIR/__groups/offsets.log; an OffsetCommit is answered only once its records are fsynced
 * (through the broker's flusher, so commits share fsyncs with produce). The log is reloaded at
 * start (a torn or CRC-bad tail is dropped) and compacted at open and when it grows.
 *
 * Static membership (group.instance.id) is accepted but treated as dynamic: every join gets a
 * fresh member id, and a join carrying the instance id of a live member replaces that member.
 *
 * Threading: everything runs on the broker loop's thread. */
#ifndef SL_KAFKA_GROUP_H
#define SL_KAFKA_GROUP_H

#include "core/buf.h"
#include "kafka/broker.h"
#include "kafka/flusher.h"
#include <uv.h>

typedef struct sl_group_coord sl_group_coord;
typedef struct kafka_req kafka_req;

typedef struct sl_group_opts {
    const char *data_dir;               /* offsets go in data_dir/__groups/ (created) */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes; default 7 d */
    int64_t offsets_retention_check_ms; /* how often expiry runs; default 10 min */
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms; default 6 s */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms; default 30 min */
    /* group.initial.rebalance.delay.ms: how long a new group waits for more members before its
     * first generation. Default 0, as in Kafka's shipped config/server.properties (its code
     * default of 3 s suits production clusters where many consumers start at once). */
    int32_t initial_rebalance_delay_ms;
    int32_t max_metadata_bytes; /* offset.metadata.max.bytes; default 4096 */
    /* Commits wait for fsync (true, the default; flush=always and flush=interval) or are
     * answered after write(2) (flush=os). */
    bool fsync;
} sl_group_opts;

/* Fills o with the defaults above (data_dir NULL). */
void sl_group_opts_default(sl_group_opts *o);

/* Creates a coordinator on loop, loading and compacting the offsets log. Commits are fsynced
 * through flusher (which may be NULL only when o->fsync is false). Returns 0 or a negative
 * code with the reason logged naming the file. */
int sl_group_coord_create(uv_loop_t *loop, const sl_group_opts *o, sl_flusher *flusher,
                          sl_group_coord **out);
/* What the broker calls at open: sl_group_coord_create with the broker's loop, data dir,
 * flusher and config (flush=os turns commit fsyncs off). */
int sl_group_coord_open(sl_broker *b, sl_group_coord **out);
/* At broker shutdown, before connections close: answers waiting JoinGroup/SyncGroup requests
 * with NOT_COORDINATOR, fails commits held for a compaction, and stops the timers. Commits
 * already written are answered when the flusher completes their fsync. No handler may be
 * called after this. */
void sl_group_coord_stop(sl_group_coord *gc);
/* After the flusher has stopped (so every commit was answered): stops if needed and frees.
 * Handles close asynchronously, so the loop must run on until idle, as after any uv_close. */
void sl_group_coord_close(sl_group_coord *gc);

/* Introspection for the console, metrics and tests. Strings are valid during the callback. */
typedef struct sl_group_info {
    const char *group_id;
    const char *state;         /* "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" */
    const char *protocol_type; /* "" when the group never had members ("simple" commits only) */
    const char *protocol;      /* the selected protocol, "" when none */
    int32_t generation;
    const char *leader; /* member id, "" when none */
    size_t members;
    size_t offsets; /* committed partitions */
} sl_group_info;

typedef struct sl_group_member_info {
    const char *member_id;
    const char *instance_id; /* NULL unless the client sent group.instance.id */
    const char *client_id;
    const char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    sl_slice metadata;   /* for the selected protocol; empty when none is selected */
    sl_slice assignment; /* from the leader's SyncGroup; empty until then */
} sl_group_member_info;

typedef struct sl_group_offset_info {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 when the client sent none */
    const char *metadata;
    int64_t commit_ts; /* wall-clock ms */
} sl_group_offset_info;

typedef struct sl_group_stats {
    uint64_t groups, members;
    uint64_t rebalances;      /* generations completed */
    uint64_t expired_members; /* removed by session or rebalance timeouts */
    uint64_t commits;         /* OffsetCommit requests stored */
    uint64_t offsets_stored;  /* partition offsets written */
    uint64_t offsets_expired;
    uint64_t log_bytes;   /* size of offsets.log */
    uint64_t compactions; /* offsets.log rewrites */
} sl_group_stats;

/* Calls fn for every group, in no particular order. */
void sl_group_list(sl_group_coord *gc, void (*fn)(void *arg, const sl_group_info *g), void *arg);
/* Fills *info about group_id and calls member_fn (may be NULL) for each member in join order.
 * Returns 0 or SL_ERR_NOTFOUND. info's strings stay valid until the loop next runs. */
int sl_group_describe(sl_group_coord *gc, sl_slice group_id, sl_group_info *info,
                      void (*member_fn)(void *arg, const sl_group_member_info *m), void *arg);
/* Calls fn for each committed offset of group_id, sorted by topic and partition. Returns 0 or
 * SL_ERR_NOTFOUND. */
int sl_group_offsets(sl_group_coord *gc, sl_slice group_id,
                     void (*fn)(void *arg, const sl_group_offset_info *o), void *arg);
void sl_group_stats_get(sl_group_coord *gc, sl_group_stats *out);

/* Wire handlers for the broker's dispatch table (contract in broker_int.h). */
int kafka_handle_FindCoordinator(kafka_req *req, sl_buf *body); /* v0-2 */
int kafka_handle_JoinGroup(kafka_req *req, sl_buf *body);       /* v0-5 */
int kafka_handle_SyncGroup(kafka_req *req, sl_buf *body);       /* v0-3 */
int kafka_handle_Heartbeat(kafka_req *req, sl_buf *body);       /* v0-3 */
int kafka_handle_LeaveGroup(kafka_req *req, sl_buf *body);      /* v0-3 */
int kafka_handle_OffsetCommit(kafka_req *req, sl_buf *body);    /* v0-7 */
int kafka_handle_OffsetFetch(kafka_req *req, sl_buf *body);     /* v0-7, flexible from 6 */
int kafka_handle_ListGroups(kafka_req *req, sl_buf *body);      /* v0-2 */
int kafka_handle_DescribeGroups(kafka_req *req, sl_buf *body);  /* v0-4 */

#endif
