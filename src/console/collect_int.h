/* collect_int.h: the console's collector and alerts (private to src/console/).
 *
 * One collector thread polls every component through its own protocol each collect interval:
 * the broker with librdkafka (metadata, watermarks, groups and committed offsets), the store
 * with the CQL client (a row count of the pipeline's table), the registry, the processors'
 * /metrics.json and the scheduler's REST API with libcurl. From each sample it computes rates,
 * evaluates the alert rules (notifying the log and the webhook), and renders the Prometheus
 * text and the Overview JSON once, so a request only copies a string under the lock. */
#ifndef SL_CONSOLE_COLLECT_INT_H
#define SL_CONSOLE_COLLECT_INT_H

#include "console/console.h"
#include "core/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sl_collector sl_collector;

enum { COL_BROKER, COL_STORE, COL_REGISTRY, COL_SCHEDULER, COL_PROCESSOR, COL_N };

typedef struct col_topic {
    char *name;
    int partitions;
    int64_t start, end; /* summed over partitions: low and high watermarks */
    double rate;        /* records/s appended since the previous sample */
} col_topic;

typedef struct col_group {
    char *name, *state;
    int members;
    int64_t committed; /* summed over partitions */
    int64_t lag;       /* high watermark minus committed, summed; -1 unknown */
    double rate;       /* committed records/s */
} col_group;

/* One poll of every component. Counts are -1 when unknown (component down). */
typedef struct col_sample {
    int64_t t_ms; /* wall clock */
    bool up[COL_N];
    col_topic *topics;
    size_t ntopics;
    col_group *groups;
    size_t ngroups;
    int64_t rows; /* rows of the pipeline's table */
    double rows_rate;
    int64_t subjects;
    /* processors (summed) */
    int nproc;
    int64_t p_in, p_out, p_invalid, p_batches, p_retries, p_lag;
    double p_in_rate, p_batch_p99_ms;
    /* scheduler */
    int ndags;
    int dags_failed; /* DAGs whose last run failed */
    int64_t runs[4]; /* runs by state: queued, running, success, failed */
    char last_dag[128], last_run[256], last_state[32];
    int64_t last_start_ms, last_end_ms;
    double collect_ms; /* how long the poll took */
} col_sample;

/* Starts the collector thread; cfg must outlive it. */
sl_collector *sl_collector_start(const sl_console_config *cfg);
/* Stops and joins the thread, then frees everything. */
void sl_collector_free(sl_collector *col);
/* Appends the latest Prometheus text / Overview JSON / Alerts JSON to out. */
void sl_collector_prometheus(sl_collector *col, sl_buf *out);
void sl_collector_overview(sl_collector *col, sl_buf *out);
void sl_collector_alerts(sl_collector *col, sl_buf *out);
/* Replaces the alert rules with rules (a JSON array, validated, saved to DATA_DIR/alerts.json).
 * Returns 0, or SL_ERR_INVAL with a reason in err. */
int sl_collector_set_rules(sl_collector *col, json_t *rules, char *err, size_t errlen);

/* Alerts: rules over samples, their state, history and notifications (alerts.c). */
typedef struct col_alerts col_alerts;
/* Loads DATA_DIR/alerts.json (or the default rules) and DATA_DIR/alerts-history.jsonl. */
col_alerts *col_alerts_new(const sl_console_config *cfg);
void col_alerts_free(col_alerts *a);
/* Evaluates every rule against s (collector thread); fires and resolves, notifying the log and
 * the webhook. */
void col_alerts_eval(col_alerts *a, const col_sample *s);
/* The rules, the firing ones and the history as JSON (under the collector's lock). */
json_t *col_alerts_json(col_alerts *a);
/* The number of firing alerts, for the Overview. */
json_t *col_alerts_firing(col_alerts *a);
/* Validates and replaces the rules; see sl_collector_set_rules. */
int col_alerts_set_rules(col_alerts *a, json_t *rules, char *err, size_t errlen);

#endif
