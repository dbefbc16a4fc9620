/* fuzz_kafka_request.c: one Kafka request per input, through everything the broker does with it:
 * framing (sl_server), header parsing, dispatch by api key and version, and the handler with its
 * body decoding, topic registry, partition logs and group coordinator.
 *
 * The input is a request frame without its 4-byte length prefix (api_key, api_version,
 * correlation_id, client_id, [tags,] body); the prefix is added here so the frame is always
 * delivered whole. A real broker (sl_broker_open on 127.0.0.1:0, flush=os, a temp data dir) runs
 * on a loop in this thread; each input goes over a fresh loopback connection and the loop is
 * pumped until the broker answers, closes the connection or a short budget runs out (a deferred
 * answer such as a long-poll Fetch may legitimately wait). Using only the broker's public API
 * keeps the fuzzed path identical to production. The corpus in fuzz/corpus/kafka_request/ holds
 * requests captured from kcat, confluent-kafka, kafka-python and kafkajs sessions
 * (fuzz/capture_kafka_corpus.py) plus truncated and mutated variants. */
#include "fuzz.h"

#include "core/codec.h"
#include "core/log.h"
#include "core/sl.h"
#include "kafka/broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* Loop pumping for one input: at most this long without the broker answering or closing. */
#define WAIT_MS 200

static uv_loop_t loop;
static sl_broker *broker;
static int broker_port;
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
    nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void set_opt(sl_broker_config *cfg, const char *k, const char *v)
{
    char err[256];
    if (sl_config_set(sl_broker_opts, cfg, k, v, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_kafka_request: %s\n", err);
        abort();
    }
}

static void setup(void)
{
    if (broker) return;
    /* Malformed requests are logged at warn; thousands per second would drown the output. */
    sl_log_level =
        getenv("SLUICE_LOG_LEVEL") ? sl_log_level_parse(getenv("SLUICE_LOG_LEVEL")) : SL_LOG_ERROR;
    signal(SIGPIPE, SIG_IGN);
    /* tmpfs when there is one: random topic names auto-create topics, and each creation
     * rewrites topics.json with fsyncs that would otherwise bound the fuzzer's speed. */
    struct stat st;
    snprintf(data_dir, sizeof data_dir, "%s/sluice-fuzz-kafka-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(data_dir)) abort();
    atexit(remove_data_dir);
    static sl_broker_config cfg;
    sl_config_defaults(sl_broker_opts, &cfg);
    set_opt(&cfg, "listen", "127.0.0.1:0");
    set_opt(&cfg, "data-dir", data_dir);
    /* fsync is the flusher's business, not the decoder's; it would only slow the fuzzer. */
    set_opt(&cfg, "flush", "os");
    set_opt(&cfg, "max-request-bytes", "1MiB");
    set_opt(&cfg, "group-min-session-timeout", "10ms");
    char err[256];
    if (sl_broker_config_check(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_kafka_request: %s\n", err);
        abort();
    }
    if (uv_loop_init(&loop) != 0 || sl_broker_open(&loop, &cfg, &broker) != 0) abort();
    broker_port = sl_broker_port(broker);
}

static int client_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)broker_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* The kernel completes the handshake from the listen backlog; the loop accepts later. */
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) abort();
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Runs the broker's loop once without blocking, then waits up to 1 ms for either the client
 * socket or the loop's epoll descriptor (which becomes readable when the broker has work). */
static void pump(int fd, short events)
{
    uv_run(&loop, UV_RUN_NOWAIT);
    struct pollfd p[2] = {{.fd = fd, .events = events},
                          {.fd = uv_backend_fd(&loop), .events = POLLIN}};
    poll(p, 2, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > (1 << 20) - 4) return 0;
    uint8_t *frame = sl_malloc(size + 4);
    sl_put_be32(frame, (uint32_t)size);
    memcpy(frame + 4, data, size);

    int fd = client_connect();
    size_t sent = 0, hdr_have = 0;
    uint64_t want = 0, got = 0;
    uint8_t resp[64 * 1024], hdr[4];
    int64_t idle_since = sl_mono_ms();
    bool done = false;
    while (!done && sl_mono_ms() - idle_since < WAIT_MS) {
        if (sent < size + 4) {
            ssize_t n = write(fd, frame + sent, size + 4 - sent);
            if (n > 0) {
                sent += (size_t)n;
                idle_since = sl_mono_ms();
            } else if (n < 0 && errno != EAGAIN) {
                break; /* the broker closed on us */
            }
        }
        pump(fd, sent < size + 4 ? POLLOUT | POLLIN : POLLIN);
        for (;;) {
            ssize_t n = read(fd, resp, sizeof resp);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                done = true; /* closed by the broker */
                break;
            }
            if (n < 0) break;
            idle_since = sl_mono_ms();
            /* Only the first response frame matters: one request, one answer. */
            for (ssize_t i = 0; i < n && hdr_have < 4; i++)
                hdr[hdr_have++] = resp[i];
            if (hdr_have == 4 && !want) want = 4 + (uint64_t)sl_get_be32(hdr);
            got += (uint64_t)n;
            if (want && got >= want) {
                done = true;
                break;
            }
        }
    }
    close(fd);
    sl_free(frame);
    /* Let the broker see the close and reap the connection before the next input. */
    for (int i = 0; i < 4; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
