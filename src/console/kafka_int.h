/* kafka_int.h: the console's Kafka view (Topics and Consumer groups pages), private to
 * src/console/. docs/console.md describes the JSON it serves.
 *
 * Everything talks to --kafka through librdkafka: one producer handle carries metadata, admin
 * requests and produced messages; one consumer handle, used by one browse at a time, reads
 * messages. The functions that take an sl_kview and fill an answer block on the network
 * and run on libuv workers (sl_console_offload), never on the console loop. A sampler on the
 * console loop records end offsets and committed offsets every interval so that rates and lag
 * have a history to chart. */
#ifndef SL_CONSOLE_KAFKA_INT_H
#define SL_CONSOLE_KAFKA_INT_H

#include "core/buf.h"
#include "core/sl.h"
#include "pipeline/avro.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct sl_kview sl_kview;

typedef struct sl_kview_config {
    const char *bootstrap; /* host:port[,...] */
    const char *registry;  /* http://host:port of the Schema Registry, NULL or "": none */
    int64_t sample_ms;     /* sampler interval; 0: 2 s */
    size_t history;        /* samples kept; 0: 300 */
    int64_t timeout_ms;    /* one broker round trip; 0: 5 s */
} sl_kview_config;

/* Creates the clients (no connection is made yet) and starts the sampler on loop. Returns 0 or
 * SL_ERR_CONFIG with the reason in err. */
int sl_console_kafka_open(uv_loop_t *loop, const sl_kview_config *cfg, sl_kview **out, char *err,
                          size_t errlen);
/* Stops the sampler and drops the owner's reference: k is freed when the last worker using it
 * releases it (run the loop afterwards until it is idle). Loop thread. */
void sl_console_kafka_close(sl_kview *k);
/* A worker that uses k across the loop's lifetime holds a reference; any thread. */
sl_kview *sl_console_kafka_keep(sl_kview *k);
void sl_console_kafka_release(sl_kview *k);

/* An answer computed on a worker: HTTP status and a JSON body. */
typedef struct sl_ck_answer {
    int status;
    sl_buf body;
} sl_ck_answer;
/* Sets a {"error":"..."} answer. */
void sl_ck_error(sl_ck_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GET /api/topics: every topic with partitions, messages, rates. */
void sl_console_kafka_topics(sl_kview *k, sl_ck_answer *a);
/* GET /api/topics/{t}: partitions with offsets, configs, rate history, consuming groups. */
void sl_console_kafka_topic(sl_kview *k, const char *topic, sl_ck_answer *a);

/* What to browse. */
typedef enum {
    SL_BROWSE_NEWEST,
    SL_BROWSE_OLDEST,
    SL_BROWSE_OFFSET,
    SL_BROWSE_TIMESTAMP
} sl_browse_from;
typedef enum { SL_SEARCH_ANY, SL_SEARCH_KEY, SL_SEARCH_VALUE } sl_search_field;
typedef struct sl_browse_query {
    int32_t partition; /* -1: every partition */
    sl_browse_from from;
    int64_t offset;    /* SL_BROWSE_OFFSET */
    int64_t timestamp; /* SL_BROWSE_TIMESTAMP, ms */
    int limit;         /* messages returned, 1..SL_BROWSE_MAX_LIMIT */
    char *q;           /* substring to look for, NULL: none (owned) */
    sl_search_field field;
    int64_t max_scan; /* messages read at most while searching */
} sl_browse_query;
#define SL_BROWSE_MAX_LIMIT 500
#define SL_BROWSE_MAX_SCAN  100000

/* Parses the query string of a browse (partition, from=newest|oldest|offset|timestamp, offset,
 * timestamp, limit, q, in=any|key|value). Returns 0 or SL_ERR_INVAL with a reason in err. */
int sl_browse_query_parse(sl_browse_query *q, const char *partition, const char *from,
                          const char *offset, const char *timestamp, const char *limit,
                          const char *search, const char *in, char *err, size_t errlen);
void sl_browse_query_free(sl_browse_query *q);
/* GET /api/topics/{t}/messages. */
void sl_console_kafka_browse(sl_kview *k, const char *topic, const sl_browse_query *q,
                             sl_ck_answer *a);
/* POST /api/topics/{t}/messages with body {"value":..., "key":..., "partition":...,
 * "headers":{...}}: produces one message with acks=all and answers its partition and offset. */
void sl_console_kafka_produce(sl_kview *k, const char *topic, sl_slice body, sl_ck_answer *a);

/* GET /api/groups: every consumer group with state, members and total lag. */
void sl_console_kafka_groups(sl_kview *k, sl_ck_answer *a);
/* GET /api/groups/{g}: members and assignments, committed offsets, lag per partition, and the
 * lag history. */
void sl_console_kafka_group(sl_kview *k, const char *group, sl_ck_answer *a);
/* POST /api/groups/{g}/offsets with body {"to":"earliest"|"latest"|"timestamp",
 * "timestamp":MS, "topic":T}: moves the group's committed offsets, only while it has no
 * members (409 otherwise). Without "topic", every topic the group has offsets for. */
void sl_console_kafka_reset(sl_kview *k, const char *group, sl_slice body, sl_ck_answer *a);

/* How a message's bytes are shown. */
typedef enum {
    SL_VALUE_NULL,   /* a null key or value */
    SL_VALUE_JSON,   /* valid JSON text, shown as is (the page pretty-prints it) */
    SL_VALUE_AVRO,   /* Confluent wire format decoded through the registry, as JSON */
    SL_VALUE_TEXT,   /* UTF-8 that is not JSON */
    SL_VALUE_BINARY, /* anything else, shown as base64 */
} sl_value_format;
/* The name used in the JSON ("json", "avro", ...). */
const char *sl_value_format_name(sl_value_format f);
/* Classifies plain bytes (not the Confluent wire format) and appends the text to show to out:
 * the text itself (UTF-8 checked by jansson), or base64 for binary. */
sl_value_format sl_ck_render_plain(const uint8_t *p, size_t n, sl_buf *out);
/* Case-insensitive substring search of needle (NUL-terminated, may be empty) in hay. */
bool sl_ck_contains(const char *hay, size_t n, const char *needle);

/* The rate and lag history (kafka_history.c): a ring of samples, thread-safe. */
typedef struct sl_ck_history sl_ck_history;
typedef struct sl_ck_sample_topic {
    char *name;
    int64_t end;      /* sum of the partitions' end offsets; -1: not all known */
    int64_t consumed; /* sum over groups of their committed offsets on it; -1: not all known */
} sl_ck_sample_topic;
typedef struct sl_ck_sample_lag {
    char *topic;
    int32_t partition;
    int64_t lag;
} sl_ck_sample_lag;
typedef struct sl_ck_sample_group {
    char *name;
    int64_t lag; /* total */
    size_t nparts;
    sl_ck_sample_lag *parts;
} sl_ck_sample_group;
typedef struct sl_ck_sample {
    int64_t ts; /* wall-clock ms */
    size_t ntopics, ngroups;
    sl_ck_sample_topic *topics; /* sorted by name */
    sl_ck_sample_group *groups; /* sorted by name */
} sl_ck_sample;

sl_ck_history *sl_ck_history_new(size_t capacity);
void sl_ck_history_free(sl_ck_history *h);
/* Takes ownership of s (its arrays and strings, allocated with sl_malloc), sorting them. */
void sl_ck_history_push(sl_ck_history *h, sl_ck_sample *s);
/* Frees a sample's contents (not s itself). */
void sl_ck_sample_clear(sl_ck_sample *s);
/* Messages/s into and out of topic over the last sampled interval; 0 when unknown. */
void sl_ck_history_rates(sl_ck_history *h, const char *topic, double *in, double *out);
/* Appends [[ts,in,out],...] for topic, one point per interval, oldest first. */
void sl_ck_history_topic_json(sl_ck_history *h, const char *topic, sl_buf *out);
/* Appends [[ts,in,out],...] summed over every topic but the internal ones ('_' prefix). */
void sl_ck_history_total_json(sl_ck_history *h, sl_buf *out);
/* Appends {"ts":[...],"total":[...],"partitions":{"t/p":[...],...}} for group. */
void sl_ck_history_group_json(sl_ck_history *h, const char *group, sl_buf *out);
/* Appends [{"group":G,"lag":N},...]: the groups with offsets on topic in the newest sample. */
void sl_ck_history_topic_groups_json(sl_ck_history *h, const char *topic, sl_buf *out);
/* Number of samples held. */
size_t sl_ck_history_len(sl_ck_history *h);

/* Shared by the kafka_*.c files (kafka_client.c). */
struct sl_kview {
    uv_loop_t *loop;
    char *bootstrap, *registry;
    int timeout_ms;
    rd_kafka_t *admin;   /* a producer: metadata, admin requests and produce */
    rd_kafka_t *browser; /* a consumer that never joins its group; browse_mu serialises it */
    pthread_mutex_t browse_mu, produce_mu;
    sl_avro_dec *avro; /* NULL without a registry; used under browse_mu */
    sl_ck_history *hist;
    int64_t sample_ms;
    uv_timer_t timer;
    uv_work_t work; /* sender: the loop's timer; receiver: a worker taking one sample */
    bool sampling, closing;
    atomic_int refs;
};

/* One partition's watermarks as the broker reported them. */
typedef struct sl_ck_part {
    int32_t id, leader;
    int64_t low, high; /* -1 when the broker could not say */
} sl_ck_part;
typedef struct sl_ck_topic {
    char *name;
    int err; /* rd_kafka_resp_err_t of the metadata */
    int nparts;
    sl_ck_part *parts;
} sl_ck_topic;
typedef struct sl_ck_snapshot {
    size_t ntopics;
    sl_ck_topic *topics; /* sorted by name */
} sl_ck_snapshot;
/* Metadata and both watermarks of every topic (only is NULL) or of topic only. Two ListOffsets
 * round trips cover every partition. Returns 0, or -1 with the reason in err. */
int sl_ck_snapshot_take(sl_kview *k, const char *only, sl_ck_snapshot *s, char *err, size_t errlen);
/* The same through any client handle rk (the collector has its own); bootstrap names the
 * cluster in err. */
int sl_ck_snapshot_take_rk(rd_kafka_t *rk, int timeout_ms, const char *bootstrap, const char *only,
                           sl_ck_snapshot *s, char *err, size_t errlen);
void sl_ck_snapshot_free(sl_ck_snapshot *s);

/* Bytes on disk per partition, from DescribeLogDirs v1 sent to every broker (kafka_logdirs.c);
 * a partition on several brokers counts its largest replica. */
typedef struct sl_ck_size {
    char *topic;
    int32_t partition;
    int64_t bytes;
} sl_ck_size;
typedef struct sl_ck_sizes {
    size_t n, cap;
    sl_ck_size *v; /* sorted by topic, partition */
} sl_ck_sizes;
/* Returns 0, or -1 when no broker answered (an old cluster without DescribeLogDirs v1: the page
 * shows no sizes then). */
int sl_ck_sizes_take(sl_kview *k, sl_ck_sizes *s);
/* One partition's bytes, or -1 when unknown. */
int64_t sl_ck_size_of(const sl_ck_sizes *s, const char *topic, int32_t partition);
void sl_ck_sizes_free(sl_ck_sizes *s);
const sl_ck_topic *sl_ck_snapshot_find(const sl_ck_snapshot *s, const char *topic);
/* Takes a snapshot of topic only and returns its entry; or NULL with a answered 502 (the broker
 * did not answer) or 404 (no such topic), s then holding nothing to free. */
const sl_ck_topic *sl_ck_snapshot_topic(sl_kview *k, const char *topic, sl_ck_snapshot *s,
                                        sl_ck_answer *a);

/* One group's committed offsets. */
typedef struct sl_ck_committed {
    char *topic;
    int32_t partition;
    int64_t offset;
} sl_ck_committed;
typedef struct sl_ck_group {
    char *name;
    char *state; /* "Stable", "Empty", ... */
    bool simple;
    size_t ncommitted;
    sl_ck_committed *committed; /* sorted by topic, partition */
} sl_ck_group;
/* Lists the consumer groups (names and states, sorted by name). Returns 0 or -1 (err). */
int sl_ck_groups_list(sl_kview *k, sl_ck_group **out, size_t *n, char *err, size_t errlen);
/* Fills g->committed for g->name. Returns 0 or -1 (err). */
int sl_ck_group_committed(sl_kview *k, sl_ck_group *g, char *err, size_t errlen);
void sl_ck_groups_free(sl_ck_group *g, size_t n);

/* Where the admin producer's delivery report for one message goes (its opaque); written from
 * rd_kafka_flush, under produce_mu. An abandoned one is freed by the report. */
typedef struct sl_ck_delivery {
    bool done, abandoned;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset, timestamp;
} sl_ck_delivery;

/* Admin plumbing: options with k's timeouts, and waiting for the one result event on q (NULL
 * after a timeout or a request-level error, with the reason in err). */
rd_kafka_AdminOptions_t *sl_ck_admin_opts(sl_kview *k, rd_kafka_admin_op_t op);
rd_kafka_event_t *sl_ck_admin_wait(sl_kview *k, rd_kafka_queue_t *q, char *err, size_t errlen);
#endif
