/* registry.h: `sluice registry`, a Confluent-compatible Schema Registry (docs/registry.md).
 *
 * State lives in the compacted topic _schemas, written with librdkafka in Confluent's key and
 * value formats; an instance replays the whole topic before it listens, then follows it, so
 * several instances over one cluster agree. A write is answered only once the instance has read
 * it back from the topic. */
#ifndef SL_REGISTRY_REGISTRY_H
#define SL_REGISTRY_REGISTRY_H

#include "core/config.h"

#include <uv.h>

typedef struct sl_registry_config {
    char *listen;
    char *kafka;        /* bootstrap servers */
    char *topic;        /* _schemas */
    int64_t max_schema; /* bytes of one schema's text */
    int64_t timeout_ms; /* a write not read back by then is answered 50002 */
    int64_t startup_ms; /* how long start may wait for the cluster and the replay */
    char *auth_file;    /* "NAME HASH" lines: HTTP basic auth on every request; NULL: none */
    char *tls_cert;     /* PEM files: HTTPS only; NULL: plain HTTP */
    char *tls_key;
    int64_t max_connections; /* HTTP connections at once; past it 503 (0: 1024) */
    char *log_level;
} sl_registry_config;

/* The option table: the `registry:` section of sluice.yaml and the flags. */
extern const sl_opt sl_registry_opts[];

typedef struct sl_registry sl_registry;

/* Creates the topic if missing (cleanup.policy=compact), replays it, then serves on loop. Blocks
 * the caller during the replay. Returns 0 or a negative status (logged). */
int sl_registry_open(uv_loop_t *loop, const sl_registry_config *cfg, sl_registry **out);
/* The bound port. */
int sl_registry_port(const sl_registry *r);
/* Stops serving (pending writes get a 503) and frees r; run the loop afterwards. */
void sl_registry_close(sl_registry *r);

#endif
