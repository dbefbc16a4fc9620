/* fuzz_kafka_request.c: one Kafka request per input, through everything the broker does with it
 * short of the socket: header parsing, dispatch by api key and version, and the handler with its
 * body decoding, topic registry, partition logs, producer state and group coordinator.
 *
 * The input is a request frame without its 4-byte length prefix (api_key, api_version,
 * correlation_id, client_id, [tags,] body), handed to sl_broker_handle_frame, the broker's own
 * entry point for this: it dispatches exactly as for a connection and discards the response. A
 * real broker (sl_broker_open on 127.0.0.1:0, flush=os, a data dir on tmpfs) runs on a loop in
 * this thread, which is pumped after each input so deferred work (flusher completions, group
 * timers) runs too. Framing is the server's (tests/unit/core/test_server.c, test_0150). The
 * corpus in fuzz/corpus/kafka_request/ holds requests captured from kcat, confluent-kafka,
 * kafka-python and kafkajs sessions (fuzz/capture_kafka_corpus.py) plus hand-made, truncated and
 * mutated variants. */
#include "fuzz.h"

#include "core/log.h"
#include "core/sl.h"
#include "kafka/broker.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

/* Inputs served by one broker before it is stopped and a fresh one opened on an empty data dir.
 * All inputs share the broker's one pseudo-connection, whose responses queue in order behind
 * any deferred one (a Fetch long-poll, a JoinGroup); a real connection stops reading at that
 * point, this one cannot, so its memory is bounded by restarting. The restart also puts the
 * broker's stop path (fetch flush, group stop, producer snapshots) under the fuzzer. */
#define INPUTS_PER_BROKER 1000

static uv_loop_t loop;
static sl_broker *broker;
static unsigned served;
static char data_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    SL_UNUSED(st);
    SL_UNUSED(flag);
    SL_UNUSED(ftw);
    return remove(path);
}

static void remove_data_dir(void)
{
    if (data_dir[0]) nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void set_opt(sl_broker_config *cfg, const char *k, const char *v)
{
    char err[256];
    if (sl_config_set(sl_broker_opts, cfg, k, v, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_kafka_request: %s\n", err);
        abort();
    }
}

static void on_stopped(void *arg)
{
    *(bool *)arg = true;
}

static void broker_close(void)
{
    bool stopped = false;
    sl_broker_stop(broker, on_stopped, &stopped);
    while (!stopped)
        uv_run(&loop, UV_RUN_ONCE);
    sl_broker_free(broker);
    broker = NULL;
    remove_data_dir();
}

static void setup(void)
{
    if (broker && served++ < INPUTS_PER_BROKER) return;
    if (broker) {
        broker_close();
        served = 0;
    } else {
        /* Malformed requests are logged at warn; thousands per second would drown the output. */
        const char *lvl = getenv("SLUICE_LOG_LEVEL");
        sl_log_level = lvl ? sl_log_level_parse(lvl) : SL_LOG_ERROR;
        uv_loop_init(&loop);
        atexit(remove_data_dir);
    }
    /* tmpfs when there is one: random topic names auto-create topics, and each creation
     * rewrites topics.json with fsyncs that would otherwise bound the fuzzer's speed. */
    struct stat st;
    snprintf(data_dir, sizeof data_dir, "%s/sluice-fuzz-kafka-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(data_dir)) abort();
    sl_broker_config cfg;
    sl_config_defaults(sl_broker_opts, &cfg);
    set_opt(&cfg, "listen", "127.0.0.1:0");
    set_opt(&cfg, "data-dir", data_dir);
    /* fsync is the flusher's business, not the decoder's; it would only slow the fuzzer. */
    set_opt(&cfg, "flush", "os");
    set_opt(&cfg, "group-min-session-timeout", "10ms");
    char err[256];
    if (sl_broker_config_check(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_kafka_request: %s\n", err);
        abort();
    }
    if (sl_broker_open(&loop, &cfg, &broker) != 0) abort();
    sl_config_free(sl_broker_opts, &cfg); /* the broker keeps a copy */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    sl_broker_handle_frame(broker, data, size);
    for (int i = 0; i < 4; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
