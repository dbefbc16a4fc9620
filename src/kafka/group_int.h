/* group_int.h: the coordinator's internals, shared by group.c (membership state machine),
 * offsets.c (the durable offset store and its log) and group_handlers.c (the wire handlers).
 * The sl__gc_* calls below are the coordinator's own API, free of wire encodings, so the unit
 * tests drive it with a real loop and no broker. */
#ifndef SL_KAFKA_GROUP_INT_H
#define SL_KAFKA_GROUP_INT_H

#include "kafka/group.h"
#include "kafka/proto.h"

#define GC_LOG_TAG "group"

/* An intrusive chained hash map (core has none yet). Nodes are embedded in their owners; the
 * caller compares keys while walking a bucket. The hash is seeded per process, so chains do not
 * depend on names a client chose in advance. */
typedef struct gc_node {
    struct gc_node *next;
    uint64_t hash;
} gc_node;

typedef struct gc_map {
    gc_node **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first insert */
    size_t count;
} gc_map;

#define gc_container_of(p, type, field) ((type *)((char *)(p)-offsetof(type, field)))

uint64_t sl__gc_hash(uint64_t seed, const void *p, size_t n);
void sl__gc_map_insert(gc_map *m, gc_node *n, uint64_t hash);
void sl__gc_map_remove(gc_map *m, gc_node *n);
/* The chain that a node with this hash would be in (NULL when empty). */
static inline gc_node *sl__gc_map_chain(const gc_map *m, uint64_t hash)
{
    return m->nbuckets ? m->buckets[hash & (m->nbuckets - 1)] : NULL;
}
/* Frees the bucket array (not the nodes). */
void sl__gc_map_free(gc_map *m);
/* Visits every node; n may be removed during its visit (nx is read first). */
#define GC_MAP_EACH(m, n, nx)                                                                      \
    for (size_t n##_i = 0; n##_i < (m)->nbuckets; n##_i++)                                         \
        for (gc_node *n = (m)->buckets[n##_i], *nx = n ? n->next : NULL; n;                        \
             n = nx, nx = n ? n->next : NULL)

typedef enum { GC_EMPTY, GC_PREPARING, GC_COMPLETING, GC_STABLE, GC_DEAD } gc_state;

/* Kafka's names for the states (DescribeGroups, console). */
const char *sl__gc_state_name(gc_state s);

typedef struct gc_protocol {
    char *name;
    uint8_t *meta;
    size_t meta_len;
} gc_protocol;

typedef struct gc_group gc_group;

typedef struct gc_join_member {
    const char *member_id;
    const char *instance_id; /* NULL when none */
    sl_slice metadata;
} gc_join_member;

typedef struct gc_join_res {
    int16_t error;
    int32_t generation;    /* -1 on error */
    const char *protocol;  /* NULL on error */
    const char *leader;    /* "" on error */
    const char *member_id; /* the caller's id; the new one with MEMBER_ID_REQUIRED */
    size_t nmembers;       /* every member, for the leader only */
    const gc_join_member *members;
} gc_join_res;

/* Runs once per join, possibly before sl__gc_join returns; res is valid during the call. */
typedef void (*gc_join_cb)(void *arg, const gc_join_res *res);
/* Runs once per sync; assignment is valid during the call. */
typedef void (*gc_sync_cb)(void *arg, int16_t error, sl_slice assignment);

typedef struct gc_member {
    gc_group *g;
    sl_group_coord *gc; /* its timer may close after the group is freed */
    char *id;
    char *instance_id; /* NULL when none */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    gc_protocol *protos; /* in the member's order of preference */
    size_t nprotos;
    sl_buf assignment;
    gc_join_cb join_cb; /* set while a JoinGroup waits for the rebalance */
    void *join_arg;
    gc_sync_cb sync_cb; /* set while a SyncGroup waits for the leader */
    void *sync_arg;
    bool pending;       /* given an id with MEMBER_ID_REQUIRED, not yet rejoined */
    bool awaiting_sync; /* got this generation's join response, no SyncGroup yet */
    uv_timer_t timer;   /* session timeout */
} gc_member;

typedef struct gc_offset {
    gc_node node;
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_ts;
    int64_t expire_ts; /* -1: the broker's retention; else set by an OffsetCommit v2-4 */
    uint32_t rec_len;  /* bytes of its record in the log, for compaction accounting */
} gc_offset;

typedef enum { GC_TIMER_NONE, GC_TIMER_INITIAL, GC_TIMER_JOIN, GC_TIMER_SYNC } gc_timer_kind;

struct gc_group {
    gc_node node;
    sl_group_coord *gc;
    char *id;
    size_t id_len;
    gc_state state;
    int64_t state_ts; /* wall-clock ms the state was entered; Empty's is the expiry base */
    int32_t generation;
    char *protocol_type; /* NULL until a member joins; kept when the group empties */
    char *protocol;      /* selected for the current generation; NULL when none */
    gc_member *leader;
    gc_member **members; /* in join order */
    size_t nmembers, members_cap;
    gc_member **pending; /* MEMBER_ID_REQUIRED members awaiting their second join */
    size_t npending, pending_cap;
    uv_timer_t timer; /* initial delay, rebalance (join) or sync timeout */
    gc_timer_kind timer_kind;
    bool new_member_added;   /* during the initial delay */
    int64_t delay_remaining; /* of the initial delay's rebalance timeout budget */
    gc_map offsets;          /* gc_offset by (topic, partition) */
    unsigned inflight;       /* commits written but not yet durable: keeps the group */
};

typedef struct gc_write gc_write;

typedef enum { GC_LOG_IDLE, GC_LOG_DRAINING, GC_LOG_COMPACTING } gc_log_state;

struct sl_group_coord {
    uv_loop_t *loop;
    sl_group_opts opts;
    char *data_dir;
    char *dir;      /* data_dir/__groups */
    char *log_path; /* dir/offsets.log */
    sl_flusher *flusher;
    uint64_t seed;
    gc_map groups;
    uv_timer_t cleanup_timer; /* offset expiry and dead-group removal */

    int fd; /* offsets.log, O_APPEND */
    uint64_t log_bytes;
    uint64_t live_bytes;  /* bytes the live offset records would take after compaction */
    uint64_t compact_min; /* compact when log_bytes > 2 * live_bytes + compact_min */
    unsigned inflight;    /* appends awaiting their fsync */
    gc_log_state log_state;
    bool log_broken;               /* a write or fsync failed: rewrite before appending again */
    gc_write *queue, **queue_tail; /* appends held while compaction drains or runs */
    uv_work_t compact_work;
    struct gc_compaction *compaction;

    bool stopping;    /* sl_group_coord_stop: requests are refused, timers stopped */
    bool closing;     /* sl_group_coord_close: groups are being freed */
    unsigned handles; /* open uv handles; memory is freed when they and inflight are gone */
    sl_group_stats stats;
};

/* group.c */
gc_group *sl__gc_group_find(sl_group_coord *gc, sl_slice id);
/* Finds or creates (Empty, no protocol type) a group. */
gc_group *sl__gc_group_get(sl_group_coord *gc, sl_slice id);
/* Deletes g if it is Empty with no members, offsets or commits in flight (Kafka moves such
 * a group to Dead and forgets it). Returns true when deleted. */
bool sl__gc_group_reap(gc_group *g);
/* Frees gc once closing and nothing is left in flight. */
void sl__gc_maybe_free(sl_group_coord *gc);

typedef struct gc_protocol_in {
    sl_slice name;
    sl_slice metadata;
} gc_protocol_in;

typedef struct gc_join_req {
    sl_slice group_id;
    sl_slice member_id;   /* empty for a first join */
    sl_slice instance_id; /* ptr NULL when none (v5+) */
    sl_slice protocol_type;
    sl_slice client_id;
    sl_slice client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v0 sends none: pass the session timeout */
    bool require_known_member;    /* v4+: an empty member id gets MEMBER_ID_REQUIRED */
    size_t nprotocols;
    const gc_protocol_in *protocols;
} gc_join_req;

/* JoinGroup. The request is copied before this returns; cb runs exactly once. */
void sl__gc_join(sl_group_coord *gc, const gc_join_req *rq, gc_join_cb cb, void *arg);

typedef struct gc_assignment_in {
    sl_slice member_id;
    sl_slice assignment;
} gc_assignment_in;

typedef struct gc_sync_req {
    sl_slice group_id;
    sl_slice member_id;
    sl_slice instance_id;
    int32_t generation;
    size_t nassignments; /* the leader's; ignored from followers */
    const gc_assignment_in *assignments;
} gc_sync_req;

/* SyncGroup. The request is copied before this returns; cb runs exactly once. */
void sl__gc_sync(sl_group_coord *gc, const gc_sync_req *rq, gc_sync_cb cb, void *arg);
/* Heartbeat; returns the error code for the response. */
int16_t sl__gc_heartbeat(sl_group_coord *gc, sl_slice group_id, sl_slice member_id,
                         int32_t generation);
/* LeaveGroup for one member (by member id, or by instance id when member_id is empty).
 * Returns the request-level error and sets *member_err. */
int16_t sl__gc_leave(sl_group_coord *gc, sl_slice group_id, sl_slice member_id,
                     sl_slice instance_id, int16_t *member_err);
/* Session timer bookkeeping shared with offsets.c (a member's commit counts as liveness). */
void sl__gc_member_touch(gc_member *m);
gc_member *sl__gc_member_find(gc_group *g, sl_slice id);

/* offsets.c */
typedef struct gc_commit_part {
    sl_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 when none (before v6) */
    sl_slice metadata;    /* ptr NULL (null) is stored as "" */
    int64_t commit_ts;    /* -1 = now; OffsetCommit v1 may carry its own */
    int16_t error;        /* in: non-zero skips the part (e.g. unknown topic); out: result */
} gc_commit_part;

typedef struct gc_commit_req {
    sl_slice group_id;
    sl_slice member_id;
    sl_slice instance_id;
    int32_t generation;   /* -1 for v0 and for simple (group-less) commits */
    int64_t retention_ms; /* v2-4; -1 = the broker's offsets retention */
    size_t nparts;
    gc_commit_part *parts;
} gc_commit_req;

typedef void (*gc_commit_cb)(void *arg, gc_commit_req *rq);

/* OffsetCommit: checks membership and generation as Kafka does, writes the records and runs
 * cb (possibly before returning) once they are durable, with each part's error set. rq and
 * everything it points to must stay valid until cb. */
void sl__gc_commit(sl_group_coord *gc, gc_commit_req *rq, gc_commit_cb cb, void *arg);
/* The committed offset of (topic, partition) in group_id, or NULL. */
const gc_offset *sl__gc_offset_lookup(sl_group_coord *gc, sl_slice group_id, sl_slice topic,
                                      int32_t partition);
/* Sorted (topic, partition) array of g's offsets, malloc'd; *n receives the count. */
gc_offset **sl__gc_offsets_sorted(gc_group *g, size_t *n);
void sl__gc_offsets_free(gc_group *g);

/* Loads DATA_DIR/__groups/offsets.log into gc, expires what is due, and rewrites the file when
 * it holds dead records or a torn tail. */
int sl__gc_log_open(sl_group_coord *gc);
/* Fails the appends held for a compaction (their commits get NOT_COORDINATOR); commits
 * already written complete when their fsync does. */
void sl__gc_log_stop(sl_group_coord *gc);
/* Records a group's protocol type, generation and Empty timestamp when it enters or leaves
 * Empty, so offset expiry after a restart counts from the right moment. Not waited for. */
void sl__gc_log_group(sl_group_coord *gc, gc_group *g);
/* Expires offsets as of now_ms and deletes dead groups; may start a compaction. */
void sl__gc_expire(sl_group_coord *gc, int64_t now_ms);
/* Starts a compaction if the log is over its threshold (or force). */
void sl__gc_log_maybe_compact(sl_group_coord *gc, bool force);

#endif
