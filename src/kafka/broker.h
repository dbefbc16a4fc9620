/* broker.h: `sluice broker`, a single-node Kafka-wire-compatible broker on one libuv loop.
 *
 * The broker owns the loop's server, the topic registry and partition logs, the flusher that
 * makes acks=all durable, and the group coordinator. Everything runs on the loop thread except
 * the flusher's fsync worker. */
#ifndef SL_KAFKA_BROKER_H
#define SL_KAFKA_BROKER_H

#include "core/config.h"
#include <uv.h>

typedef struct sl_broker sl_broker;

typedef enum {
    SL_FLUSH_ALWAYS,   /* acks=all waits for fdatasync (group commit) */
    SL_FLUSH_INTERVAL, /* fsync on a timer; acks=all answered after write(2) */
    SL_FLUSH_OS,       /* never fsync; the OS writes back */
} sl_flush_mode;

/* The `broker:` section of sluice.yaml and the flags of `sluice broker` (sl_broker_opts). */
typedef struct sl_broker_config {
    char *listen;                         /* HOST:PORT to bind */
    char *advertised;                     /* HOST:PORT given to clients; NULL = listen */
    char *data_dir;                       /* topics.json and one directory per partition */
    bool auto_create_topics;              /* Metadata/Produce create unknown topics */
    bool direct_appends;                  /* large Produce batches written with O_DIRECT */
    int64_t fetch_tail_bytes;             /* per partition in-memory tail (docs/kafka.md) */
    int64_t fetch_tail_total;             /* all partitions' tails together */
    int64_t page_cache_keep;              /* synced bytes per partition left cached; 0 = all */
    int64_t num_partitions;               /* partitions of an auto-created topic */
    char *flush;                          /* "always" | "interval:MS" | "os" */
    int64_t segment_bytes;                /* default segment.bytes */
    int64_t segment_ms;                   /* default segment.ms */
    char *retention_ms_opt;               /* "7d", "3600000", or -1 for forever */
    char *retention_bytes_opt;            /* "10GiB", or -1 for unlimited */
    int64_t retention_check_ms;           /* how often retention runs */
    int64_t log_cleaner_interval_ms;      /* how often the log cleaner runs */
    int64_t max_request_bytes;            /* socket.request.max.bytes */
    int64_t max_connections;              /* connections beyond this are closed */
    int64_t offsets_retention_ms;         /* committed offsets expire after this */
    int64_t offsets_retention_check_ms;   /* how often expiry runs */
    int64_t group_min_session_timeout_ms; /* JoinGroup session timeout bounds */
    int64_t group_max_session_timeout_ms;
    int64_t group_initial_rebalance_delay_ms; /* wait for more members of a new group */
    char *log_level;                          /* error | warn | info | debug | trace */
    char *sasl_users; /* "NAME HASH" lines: SASL/PLAIN required on every connection; NULL: none */
    char *tls_cert;   /* PEM files: the listener speaks TLS (SSL, SASL_SSL); NULL: plaintext */
    char *tls_key;
    char *tls_ca; /* clients must present a certificate signed by these; NULL: not asked */

    /* Derived by sl_broker_config_check. */
    sl_flush_mode flush_mode;
    int64_t flush_interval_ms;
    int64_t retention_ms;    /* default retention.ms; -1 = forever */
    int64_t retention_bytes; /* default retention.bytes; -1 = unlimited */
} sl_broker_config;

/* The option table: defaults, parsing, validation and --help for sl_broker_config. */
extern const sl_opt sl_broker_opts[];

/* Checks cross-field rules and fills the derived fields. On failure writes a
 * one-line reason naming the key into err and returns SL_ERR_CONFIG. */
int sl_broker_config_check(sl_broker_config *cfg, char *err, size_t errlen);

/* Opens the data dir (topics, logs, producer state), starts the flusher and the listener.
 * cfg is copied. Returns 0 or a negative code with the reason logged. */
int sl_broker_open(uv_loop_t *loop, const sl_broker_config *cfg, sl_broker **out);
/* The bound port (the listen port may be 0). */
int sl_broker_port(const sl_broker *b);
/* Handles one request frame (without its 4-byte length prefix) as if a client had sent it,
 * discarding the response: the entry point of the request-decoder fuzz target. The frame is
 * copied. Returns 0, SL_ERR_PARSE when a client would have been disconnected (malformed or
 * unknown request), or SL_ERR_CLOSED once stopping. Deferred work completes as the loop runs. */
int sl_broker_handle_frame(sl_broker *b, const uint8_t *frame, size_t len);
/* Graceful stop: stops accepting, closes connections, waits for in-flight syncs, writes
 * producer snapshots and closes the logs; done(arg) runs on the loop when all is closed. */
void sl_broker_stop(sl_broker *b, void (*done)(void *arg), void *arg);
/* Frees a stopped broker. */
void sl_broker_free(sl_broker *b);

#endif
