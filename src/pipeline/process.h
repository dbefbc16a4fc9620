/* process.h: `sluice process`, the stream processor of the seeds' pipeline (ARCHITECTURE.md
 * "The data path"): a Kafka consumer group member that parses each record against the declared
 * schema, upserts good rows into a sink in batches, sends bad records to a dead-letter topic,
 * and commits an offset only once everything up to it is durable.
 *
 * Delivery: a partition's offset is committed only after the sink acknowledged every row below
 * it and every dead letter below it was delivered (acks=all); sinks upsert by primary key, so
 * the replays that follow a crash rewrite the same rows and the store ends with every record
 * exactly once. */
#ifndef SL_PIPELINE_PROCESS_H
#define SL_PIPELINE_PROCESS_H

#include "core/buf.h"
#include "core/config.h"
#include "pipeline/schema.h"
#include "pipeline/transform.h"
#include "pipeline/window.h"

/* The `pipeline:` section of sluice.yaml; the scalar keys are also flags of `sluice process`. */
typedef struct sl_process_config {
    char *kafka;    /* bootstrap servers */
    char *topic;    /* source topic */
    char *format;   /* record format: json, or avro (Confluent's wire format, decoded by id) */
    char *registry; /* format avro: the Schema Registry URL writer schemas are fetched from */
    char *group;    /* consumer group */
    int64_t session_timeout_ms;
    char *dlq_topic;      /* NULL: "<topic>.dlq" */
    char *sink;           /* cql://... or postgresql://... */
    int64_t batch_size;   /* records per sink batch */
    int64_t linger_ms;    /* longest wait for a batch to fill */
    int64_t max_inflight; /* sink requests in flight */
    int64_t max_batches;  /* batches written or queued while the next one fills */
    int64_t max_record_size;
    int64_t prefetch_bytes; /* the consumer's prefetch queue (queued.max.messages.kbytes) */
    int64_t sink_timeout_ms;
    int64_t drain_timeout_ms; /* after SIGTERM, how long a failing sink is retried */
    char *metrics_listen;     /* HOST:PORT for GET /metrics.json, NULL: none */
    char *metrics_tls_cert;   /* PEM files: the metrics listener serves HTTPS; NULL: HTTP */
    char *metrics_tls_key;
    int64_t metrics_interval_ms;
    char *log_level;
    sl_schema *schema;       /* owned; from schema: and mapping:, or the seeds' */
    sl_transform *transform; /* owned; from filter:, derive: and rules:, NULL if none */
    sl_window_spec *window;  /* owned; from window:, NULL if none */
    char *state_dir;         /* where the window state and its offsets are saved */
    char *window_preset;     /* none, or a built-in window used when window: is absent */
} sl_process_config;

extern const sl_opt sl_process_opts[];

/* Sets every option to its default and the schema to the seeds'. */
void sl_process_config_init(sl_process_config *cfg);
/* Applies a `pipeline:` map: the scalar options, `schema:`, `mapping:` and the transforms
 * (`filter:`, `derive:`, `rules:`, compiled against the schema's columns) and `window:`. Errors are
 * added to errs with file:line; returns the number added. */
int sl_process_config_apply(sl_process_config *cfg, const sl_yaml *section, sl_errs *errs);
/* Checks what the option table cannot (the sink's scheme); writes a reason, returns
 * SL_ERR_CONFIG. */
int sl_process_config_check(const sl_process_config *cfg, char *err, size_t errlen);
void sl_process_config_free(sl_process_config *cfg);

typedef struct sl_process_metrics {
    uint64_t in;                /* records consumed */
    uint64_t out;               /* rows acknowledged by the sink */
    uint64_t invalid;           /* records delivered to the DLQ */
    uint64_t filtered;          /* records the filter dropped */
    uint64_t late;              /* window: late records (counted, or sent to the DLQ) */
    uint64_t missing_timestamp; /* window: records without an event time (to the DLQ) */
    uint64_t windows;           /* window: open windows held */
    uint64_t window_bytes;      /* window: memory they hold */
    uint64_t batches;           /* batches committed */
    uint64_t sink_retries;      /* failed sink writes, each retried */
    double batch_p50_ms;        /* batch latency (first record in to commit) over recent batches */
    double batch_p99_ms;
    int64_t lag;    /* records in the assigned partitions not yet committed: high watermark minus
                       position, plus the batch in hand; -1 unknown */
    int partitions; /* assigned partitions */
} sl_process_metrics;

typedef struct sl_process sl_process;

/* Creates the consumer and the DLQ producer; cfg must outlive the processor. The sink is
 * connected by sl_process_run. Returns 0 or SL_ERR_CONFIG with a reason in err. */
int sl_process_open(const sl_process_config *cfg, sl_process **out, char *err, size_t errlen);
/* Connects the sink (retrying while it is down), joins the group and processes until
 * sl_process_stop; then drains: writes and commits what it holds and leaves the group. Returns
 * 0 after a full drain, <0 if the drain gave up (nothing uncommitted was acknowledged). */
int sl_process_run(sl_process *p);
/* Asks run to drain and return. Async-signal-safe. */
void sl_process_stop(sl_process *p);
/* A snapshot of the counters; callable from any thread. */
void sl_process_metrics_get(sl_process *p, sl_process_metrics *m);
/* Appends m as a JSON object. */
void sl_process_metrics_json(const sl_process_metrics *m, sl_buf *out);
void sl_process_close(sl_process *p);

#endif
