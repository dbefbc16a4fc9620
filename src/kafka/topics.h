/* topics.h: the broker's topic registry. Topics and their configs persist in DIR/topics.json
 * (written atomically); each partition is an sl_plog in DIR/<topic>-<partition>/ with its
 * idempotent producer state beside it. All functions run on the broker loop's thread. */
#ifndef SL_KAFKA_TOPICS_H
#define SL_KAFKA_TOPICS_H

#include "kafka/broker.h"
#include "kafka/compact.h"
#include "kafka/plog.h"
#include "kafka/producer_state.h"

/* Kafka's limit on topic name length (Topic.MAX_NAME_LENGTH). */
#define KAFKA_TOPIC_MAX_NAME 249
/* Partitions per topic: each holds open files and a directory, and one request must not be
 * able to ask for an unbounded number of them. */
#define KAFKA_MAX_PARTITIONS 10000
/* Descriptors a partition may hold (plog.c: directory, recovery point, active log, and one old
 * segment being read), and those kept free for connections and transient files. A topic is
 * created only when its partitions fit under RLIMIT_NOFILE with that headroom left. */
#define KAFKA_FDS_PER_PARTITION 4
#define KAFKA_FD_HEADROOM       512

/* Effective per-topic configuration; every value is an int64 so one table describes them all. */
typedef struct kafka_topic_cfg {
    int64_t cleanup_policy;   /* KAFKA_CLEANUP_*: delete, compact, or both (two spellings) */
    int64_t compression_type; /* 0 = producer (batches are stored as received) */
    int64_t retention_ms;
    int64_t retention_bytes;
    int64_t segment_bytes;
    int64_t segment_ms;
    int64_t max_message_bytes;
    int64_t timestamp_type; /* 0 = CreateTime, 1 = LogAppendTime */
    int64_t index_interval_bytes;
    int64_t min_insync_replicas;
    int64_t delete_retention_ms;       /* compacted topics keep tombstones this long */
    int64_t min_cleanable_dirty_ratio; /* millionths: compact when this share is uncleaned */
} kafka_topic_cfg;

enum { KAFKA_CLEANUP_DELETE, KAFKA_CLEANUP_COMPACT, KAFKA_CLEANUP_COMPACT_DELETE };

struct kafka_watch;
struct kafka_topic;

typedef struct kafka_partition {
    struct kafka_topic *topic;
    int32_t index;
    char *dir;
    sl_plog *log;
    kafka_pstate *pstate;
    int64_t snap_offset; /* log offset the last producer snapshot covers */
    int64_t snap_bytes;  /* bytes appended since that snapshot */
    bool pstate_dirty;   /* producer state changed since that snapshot */
    bool flush_dirty;    /* appended since the last interval flush */
    int flush_refs; /* flusher requests and a compaction in flight: the log may not be destroyed */
    struct kafka_watch *watchers; /* Fetch long-polls waiting for appends */
    int64_t clean_end;            /* closed segments from this base on are not yet compacted */
    int64_t clean_due_ms;         /* compact again then (a kept tombstone expires); 0 = none */
} kafka_partition;

typedef struct kafka_topic {
    char *name;
    int32_t nparts;
    kafka_partition *parts;
    kafka_topic_cfg cfg;
    size_t nover; /* explicit config overrides, as given (persisted, shown by DescribeConfigs) */
    char **over_keys;
    char **over_vals;
    bool deleting; /* DeleteTopics waits for in-flight syncs; invisible meanwhile */
} kafka_topic;

typedef struct kafka_topics kafka_topics;

/* A config name/value pair from CreateTopics. */
typedef struct kafka_cfg_kv {
    sl_slice name;
    sl_slice value; /* ptr NULL: null value (use the default) */
} kafka_cfg_kv;

/* True when name follows Kafka's rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool kafka_topic_name_valid(sl_slice name);

/* Loads DIR/topics.json and opens every partition with its producer state; cfg gives the
 * defaults for topic configs and is borrowed for the registry's lifetime. Partition logs in DIR
 * that topics.json does not list (a deletion or creation cut short) are removed, with a
 * warning; directories that are not partition logs are reported and kept. */
int kafka_topics_open(const char *dir, const sl_broker_config *cfg, kafka_topics **out);
/* Writes producer snapshots (fsynced) and closes every log. */
void kafka_topics_close(kafka_topics *t);

/* Looks a live topic up by name; NULL if absent or being deleted. */
kafka_topic *kafka_topics_find(kafka_topics *t, sl_slice name);
/* Like kafka_topics_find, but also returns a topic being deleted. */
kafka_topic *kafka_topics_find_any(kafka_topics *t, sl_slice name);
/* Live partition by topic and index, or NULL. */
kafka_partition *kafka_topics_partition(kafka_topics *t, sl_slice topic, int32_t index);
size_t kafka_topics_count(const kafka_topics *t);
/* The i-th topic (including deleting ones) for iteration, in creation order. */
kafka_topic *kafka_topics_at(kafka_topics *t, size_t i);

/* Creates a topic (nparts >= 1) with config overrides, or only validates them when
 * validate_only: begin, open and end below in one call, on the loop thread. Returns NONE,
 * INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG,
 * POLICY_VIOLATION (not enough file descriptors) or KAFKA_STORAGE_ERROR, with a reason in msg. */
kafka_err_t kafka_topics_create(kafka_topics *t, sl_slice name, int32_t nparts,
                                const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                kafka_topic **out, char *msg, size_t msglen);
/* Creation in steps, so that the partition logs (a directory sync each) can be made on worker
 * threads. begin (loop thread) validates as kafka_topics_create does, checks the descriptor
 * budget and reserves the name: lookups do not see it and creating it again gets
 * TOPIC_ALREADY_EXISTS. *out is NULL after a successful validate_only. */
kafka_err_t kafka_topics_create_begin(kafka_topics *t, sl_slice name, int32_t nparts,
                                      const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                      kafka_topic **out, char *msg, size_t msglen);
/* Opens partitions [from, to) of a topic from begin, empty. Any thread: it touches only those
 * partitions, so disjoint ranges may be opened concurrently. On failure it undoes its own
 * range and returns a negative code. */
int kafka_topic_open_new(const kafka_topics *t, kafka_topic *tp, int32_t from, int32_t to);
/* Loop thread, once every range is done (rc: the first failure, or 0): publishes the topic and
 * rewrites topics.json, or destroys what was opened and frees tp. Returns NONE or
 * KAFKA_STORAGE_ERROR with a reason in msg. */
kafka_err_t kafka_topics_create_end(kafka_topics *t, kafka_topic *tp, int rc, char *msg,
                                    size_t msglen);
/* True while a creation of name is between begin and end. */
bool kafka_topics_creating(const kafka_topics *t, sl_slice name);
/* Creations between begin and end. */
size_t kafka_topics_creating_count(const kafka_topics *t);
/* Marks a topic as deleting (it disappears from lookups at once). The caller waits until no
 * partition has flush_refs, then calls kafka_topics_destroy. */
void kafka_topics_mark_deleting(kafka_topics *t, kafka_topic *tp);
/* True when no partition of tp has a flusher request in flight. */
bool kafka_topic_idle(const kafka_topic *tp);
/* Removes a deleting topic: rewrites topics.json and destroys its logs (the steps below in one
 * call, on the loop thread). */
int kafka_topics_destroy(kafka_topics *t, kafka_topic *tp);
/* Deletion in steps, so that removing the files (an unlink each) can run on worker threads.
 * begin (loop thread) rewrites topics.json without tp and closes its logs, leaving the files;
 * the name stays taken (CreateTopics: marked for deletion) until end. */
int kafka_topics_delete_begin(kafka_topics *t, kafka_topic *tp);
/* Deletes the directories of partitions [from, to) of a topic after delete_begin. Any thread. */
void kafka_topic_remove_files(const kafka_topic *tp, int32_t from, int32_t to);
/* Loop thread, once every range is removed: forgets tp and frees it. */
void kafka_topics_delete_end(kafka_topics *t, kafka_topic *tp);

/* Applies retention to every partition as of now_ms, and forgets producers idle for a day. */
void kafka_topics_retain(kafka_topics *t, int64_t now_ms);
/* Where kafka_topics_compact_next resumes: a topic index and a partition in it. */
typedef struct kafka_compact_cursor {
    size_t topic;
    int32_t part;
} kafka_compact_cursor;
/* The next partition from *cur on (which moves past it) that the log cleaner (compact.h) should
 * compact: of a compacted topic, with an uncleaned share of closed-segment bytes reaching
 * min.cleanable.dirty.ratio or kept tombstones expired; o is set for it. NULL at the end of the
 * topics. Loop thread. */
kafka_partition *kafka_topics_compact_next(kafka_topics *t, int64_t now_ms,
                                           kafka_compact_cursor *cur, sl_compact_opts *o);
/* Records the outcome of a compaction of p (rc from sl_compact_end): what is clean now and when
 * a kept tombstone expires. Loop thread. */
void kafka_partition_compacted(kafka_partition *p, int rc, const sl_compact_stats *st);
/* Saves the producer snapshot of every partition appended to (or whose state changed) since its
 * last one, fsynced if sync. Snapshots bound what a restart replays from the log. */
void kafka_topics_snapshot(kafka_topics *t, bool sync);
/* Records len bytes appended to p; past KAFKA_SNAPSHOT_BYTES since the last snapshot, saves one
 * (not fsynced), so a crash never leaves more than that to replay per partition. */
void kafka_partition_appended(kafka_partition *p, size_t len);

/* Calls emit for every known topic config of tp in name order: its effective value as text
 * and whether it is the default. tp NULL lists the defaults. */
void kafka_topic_configs(const kafka_topics *t, const kafka_topic *tp,
                         void (*emit)(void *arg, const char *name, const char *value,
                                      bool is_default, bool read_only),
                         void *arg);

/* Next producer id, never reused across restarts: ids are reserved in persisted blocks. */
int64_t kafka_topics_next_producer_id(kafka_topics *t);
/* The id kafka_topics_next_producer_id would return; every id below it was handed out. */
int64_t kafka_topics_next_producer_id_peek(const kafka_topics *t);

#endif
