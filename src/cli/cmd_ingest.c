/* cmd_ingest.c: `sluice ingest`, users from the randomuser API into a Kafka topic (ingest.h).
 *
 * Exit status: 0 when every produced record was delivered (also after SIGINT/SIGTERM, which stop
 * fetching and wait for the delivery reports), 1 with the reason on stderr otherwise, 2 for bad
 * usage. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"
#include "pipeline/ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "ingest --source URL --topic T [--kafka BOOTSTRAP] [--duration 60s | --count N] [--batch N] "  \
    "[--rate N] [--retries N] [--timeout D] [--stage postgresql://...] "                           \
    "[--format json|avro --registry URL]"

typedef struct ingest_args {
    char *source;
    char *topic;
    char *kafka;
    char *stage;
    char *format;
    char *registry;
    char *log_level;
    char *count; /* text, so that "not given" and 0 differ */
    int64_t duration_ms;
    int64_t batch;
    int64_t rate;
    int64_t retries;
    int64_t timeout_ms;
    int64_t backoff_ms;
    int64_t backoff_max_ms;
    int64_t delivery_timeout_ms;
} ingest_args;

static const sl_opt ingest_opts[] = {
    {"source", SL_OPT_STR, "http://127.0.0.1:8000/api/", offsetof(ingest_args, source),
     "randomuser API URL; with seed= in it, pages 1,2,3... are fetched in order", NULL, 0, 0},
    {"topic", SL_OPT_STR, "users_created", offsetof(ingest_args, topic), "Kafka topic", NULL, 0, 0},
    {"kafka", SL_OPT_STR, "127.0.0.1:9092", offsetof(ingest_args, kafka),
     "bootstrap servers, HOST:PORT[,HOST:PORT...]", NULL, 0, 0},
    {"count", SL_OPT_STR, NULL, offsetof(ingest_args, count),
     "produce exactly N records, then exit (with --stage, 0 only sends what is staged)", NULL, 0,
     0},
    {"duration", SL_OPT_DURATION, NULL, offsetof(ingest_args, duration_ms),
     "fetch for this long, then exit (the default, 60s, is the seeds' DAG task)", NULL, 1,
     INT64_MAX},
    {"batch", SL_OPT_INT, "500", offsetof(ingest_args, batch), "users per API request (results=)",
     NULL, 1, 5000},
    {"rate", SL_OPT_INT, "0", offsetof(ingest_args, rate),
     "at most N users a second from the API (0: unlimited)", NULL, 0, 100000000},
    {"retries", SL_OPT_INT, "10", offsetof(ingest_args, retries),
     "retries of a failed API request (error, 429, 5xx, garbage) before giving up", NULL, 0, 1000},
    {"timeout", SL_OPT_DURATION, "30s", offsetof(ingest_args, timeout_ms),
     "timeout of one API request", NULL, 1, 3600000},
    {"backoff", SL_OPT_DURATION, "250ms", offsetof(ingest_args, backoff_ms),
     "first retry's delay; it doubles each retry, with jitter", NULL, 1, 3600000},
    {"backoff-max", SL_OPT_DURATION, "30s", offsetof(ingest_args, backoff_max_ms),
     "longest retry delay (a 429's Retry-After is honoured beyond it)", NULL, 1, 86400000},
    {"delivery-timeout", SL_OPT_DURATION, "30s", offsetof(ingest_args, delivery_timeout_ms),
     "how long a record may wait for its delivery report (librdkafka message.timeout.ms)", NULL,
     1000, 3600000},
    {"stage", SL_OPT_STR, NULL, offsetof(ingest_args, stage),
     "postgresql://...[?table=NAME]: stage raw users there first and produce from that outbox",
     NULL, 0, 0},
    {"format", SL_OPT_ENUM, "json", offsetof(ingest_args, format),
     "record format: json, or avro in Confluent's wire format (needs --registry)", "json|avro", 0,
     0},
    {"registry", SL_OPT_STR, NULL, offsetof(ingest_args, registry),
     "Schema Registry URL for --format avro; the schema is registered under <topic>-value", NULL, 0,
     0},
    {"log-level", SL_OPT_ENUM, NULL, offsetof(ingest_args, log_level),
     "log level (default: info, or $SLUICE_LOG_LEVEL)", "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    SL_UNUSED(sig);
    stop_requested = 1;
}

int sl_cmd_ingest(int argc, char **argv)
{
    ingest_args a;
    memset(&a, 0, sizeof a);
    int rc = 2;
    int r = sl_cli_options(ingest_opts, &a, "ingest", "ingest", USAGE, argc, argv);
    if (r == 1) rc = 0;
    if (r != 0) goto out;
    int64_t count = -1;
    if (a.count) {
        char *end;
        errno = 0;
        count = strtoll(a.count, &end, 10);
        if (errno || end == a.count || *end || count < 0) {
            fprintf(stderr, "sluice ingest: --count: '%s' is not a number >= 0\n", a.count);
            goto out;
        }
    }
    if (count >= 0 && a.duration_ms > 0) {
        fprintf(stderr, "sluice ingest: give --count or --duration, not both\n");
        goto out;
    }
    if (!*a.topic || !*a.source || !*a.kafka) {
        fprintf(stderr, "sluice ingest: --source, --topic and --kafka must not be empty\n");
        goto out;
    }
    if (count < 0 && a.duration_ms == 0) a.duration_ms = 60000;
    if (a.log_level) sl_log_level = sl_log_level_parse(a.log_level);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    sl_ingest_config cfg = {
        .source = a.source,
        .topic = a.topic,
        .kafka = a.kafka,
        .stage = a.stage,
        .format = a.format,
        .registry = a.registry,
        .count = count,
        .duration_ms = count >= 0 ? 0 : a.duration_ms,
        .batch = (int)a.batch,
        .rate = (double)a.rate,
        .retries = (int)a.retries,
        .timeout_ms = a.timeout_ms,
        .backoff_ms = a.backoff_ms,
        .backoff_max_ms = a.backoff_max_ms,
        .delivery_timeout_ms = a.delivery_timeout_ms,
        .progress = isatty(STDERR_FILENO),
        .stop = &stop_requested,
    };
    char err[1024] = "";
    if (sl_ingest_config_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "sluice ingest: %s\n", err);
        goto out;
    }
    sl_ingest_stats st;
    r = sl_ingest_run(&cfg, &st, err, sizeof err);
    double secs = (double)st.elapsed_ms / 1000;
    SL_INFO("ingest",
            "%s: %" PRId64 " records delivered to %s in %.2f s (%.0f/s); %" PRId64
            " users fetched, %" PRId64 " skipped as invalid; %" PRId64 " API requests, %" PRId64
            " retries (%" PRId64 " 429, %" PRId64 " 5xx, %" PRId64 " garbage, %" PRId64 " network)",
            r == 0 ? (stop_requested ? "stopped" : "done") : "failed", st.delivered, a.topic, secs,
            secs > 0 ? (double)st.delivered / secs : 0.0, st.fetched, st.invalid,
            st.source.requests, st.source.retries, st.source.http_429, st.source.http_5xx,
            st.source.garbage, st.source.net_errors);
    if (r < 0) {
        fprintf(stderr, "sluice ingest: %s\n", err);
        rc = 1;
    } else {
        rc = 0;
    }
out:
    sl_config_free(ingest_opts, &a);
    return rc;
}
