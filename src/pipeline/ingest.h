/* ingest.h: `sluice ingest`, the seeds' Airflow task stream_data_from_api: users from the
 * randomuser API, flattened by format_data (user.h), produced as JSON to a Kafka topic keyed by
 * id through an idempotent librdkafka producer with acks=all. Optionally staged first in a
 * PostgreSQL outbox (stage.h) so that a crash anywhere between the API and Kafka loses nothing.
 *
 * A run succeeds only when every record it produced has a successful delivery report. */
#ifndef SL_PIPELINE_INGEST_H
#define SL_PIPELINE_INGEST_H

#include "core/sl.h"
#include "pipeline/source.h"

#include <signal.h>

typedef struct sl_ingest_config {
    const char *source; /* API URL (source.h explains paging) */
    const char *topic;
    const char *kafka;    /* bootstrap servers */
    const char *stage;    /* postgresql:// outbox, or NULL to produce straight from the API */
    const char *format;   /* "json" (NULL too) or "avro": Confluent wire format (avro.h) */
    const char *registry; /* avro: the Schema Registry URL; the schema goes to <topic>-value */
    int64_t count;        /* records to produce; -1: as many as duration_ms allows */
    int64_t duration_ms;
    int batch;   /* users per API request (results=) */
    double rate; /* users per second taken from the API; 0: unlimited */
    int retries; /* retries of one API request before giving up */
    int64_t timeout_ms, backoff_ms, backoff_max_ms;
    int64_t delivery_timeout_ms; /* librdkafka message.timeout.ms; also bounds the broker check */
    bool progress;               /* redraw a progress line on stderr (a terminal) */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop fetching, drain, return */
} sl_ingest_config;

typedef struct sl_ingest_stats {
    int64_t fetched; /* users taken from the API (and staged, with a stage) this run */
    int64_t invalid; /* users that did not flatten, skipped */
    int64_t produced, delivered, failed;
    int64_t elapsed_ms;
    bool resumed; /* with a stage: this run resumed an unfinished job */
    sl_source_stats source;
} sl_ingest_stats;

/* Checks what can be checked before connecting anywhere (the source URL, the stage URL's form).
 * Returns 0, or SL_ERR_INVAL with a one-line reason. */
int sl_ingest_config_check(const sl_ingest_config *cfg, char *err, size_t errlen);

/* Runs until count records are delivered, duration_ms has passed or *stop is set, then waits for
 * every delivery report. Returns 0 when each produced record was delivered; otherwise <0 with
 * the reason in err (the broker unreachable, the API's retries exhausted, records not
 * delivered, the stage failing). */
int sl_ingest_run(const sl_ingest_config *cfg, sl_ingest_stats *stats, char *err, size_t errlen);

#endif
