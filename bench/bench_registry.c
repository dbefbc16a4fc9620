/* bench_registry.c: `sluice registry` over `sluice broker`: registration latency and
 * GET /schemas/ids/{id} lookups per second (docs/registry.md), each against a peer measured in
 * the same run, alternating, RUNS runs each, printed as a markdown table of median (min-max) and
 * the ratio sluice/peer.
 *
 *   bench_registry [--schemas N (default 200)] [--seconds S (default 2)] [--conns C (default 4)]
 *                  [--depth D (default 16)]
 *
 * Starts $SLUICE_BIN broker (data under /var/tmp) and registry on free loopback ports. A run of
 * registration registers N distinct Avro schemas one at a time over one keep-alive connection
 * (each answered only after the registry read its record back from _schemas): schemas/s and
 * p50/p99 latency. Its peer is the same durable write done bare: librdkafka produces a record of
 * the same shape (the registry's JSON key and value) to a one-partition topic of the same broker
 * with the registry's producer settings (acks=all, idempotent, linger.ms=0), waits for the
 * delivery report, then reads the record back with a consumer (fetch.wait.max.ms=10, as the
 * registry's), one at a time.
 * A run of lookups has C threads each keep D pipelined GET /schemas/ids/{id} requests in flight
 * for S seconds. Its peer is the HTTP floor: a bare libmicrohttpd server in this process (epoll,
 * one thread, as src/web/http.c drives it from its loop) answering each GET /schemas/ids/{id}
 * with the bytes and content type the registry answered for that id (fetched beforehand), under
 * the same client load. */
#include "bench_stats.h"

#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_port(int port, double timeout)
{
    double end = now_s() + timeout;
    while (now_s() < end) {
        int fd = dial(port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        usleep(50000);
    }
    return -1;
}

/* Reads one HTTP response from fd (buffered in buf/len); returns its status or -1. */
typedef struct conn {
    int fd;
    char buf[65536];
    size_t len;
} conn;

static int read_response(conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end) {
            size_t hdr = (size_t)(end - c->buf) + 4;
            char *cl = memmem(c->buf, hdr, "Content-Length:", 15);
            if (!cl) cl = memmem(c->buf, hdr, "content-length:", 15);
            size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if (c->len >= hdr + body) {
                int status = atoi(c->buf + 9);
                memmove(c->buf, c->buf + hdr + body, c->len - hdr - body);
                c->len -= hdr + body;
                return status;
            }
        }
        if (c->len == sizeof c->buf) return -1;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct worker {
    int port, depth, nids, seconds;
    long done, bad;
    pthread_t t;
} worker;

static void *lookups(void *arg)
{
    worker *w = arg;
    conn *c = calloc(1, sizeof *c);
    c->fd = dial(w->port);
    if (c->fd < 0) {
        w->bad++;
        free(c);
        return NULL;
    }
    char req[256];
    unsigned seed = (unsigned)pthread_self();
    double end = now_s() + w->seconds;
    int inflight = 0;
    while (now_s() < end || inflight) {
        while (inflight < w->depth && now_s() < end) {
            int n = snprintf(req, sizeof req, "GET /schemas/ids/%d HTTP/1.1\r\nHost: x\r\n\r\n",
                             1 + (int)(rand_r(&seed) % (unsigned)w->nids));
            if (write_all(c->fd, req, (size_t)n)) goto broken;
            inflight++;
        }
        int st = read_response(c);
        if (st < 0) goto broken;
        inflight--;
        if (st == 200)
            w->done++;
        else
            w->bad++;
    }
    goto out;
broken: /* the connection closed under load: an error, not a short run */
    w->bad++;
out:
    close(c->fd);
    free(c);
    return NULL;
}

#define RUNS 5
#define CT   "application/vnd.schemaregistry.v1+json"

/* ---- the registration peer: produce and read back, bare ---- */

static int64_t delivered = -2; /* the last delivery report: its offset, or -1 on error */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    delivered = m->err ? -1 : m->offset;
}

typedef struct kpeer {
    rd_kafka_t *prod, *cons;
    rd_kafka_topic_t *ptopic, *ctopic;
} kpeer;

static rd_kafka_t *kclient(rd_kafka_type_t type, const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) ||
        (type == RD_KAFKA_PRODUCER &&
         (rd_kafka_conf_set(conf, "acks", "all", err, sizeof err) ||
          rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err))) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err)))) {
        fprintf(stderr, "bench_registry: kafka config: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) fprintf(stderr, "bench_registry: kafka client: %s\n", err);
    return rk;
}

static int kpeer_open(kpeer *k, const char *brokers, const char *topic)
{
    if (!(k->prod = kclient(RD_KAFKA_PRODUCER, brokers)) ||
        !(k->cons = kclient(RD_KAFKA_CONSUMER, brokers)))
        return -1;
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    rd_kafka_CreateTopics(k->prod, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = -1;
    if (ev) {
        size_t n = 0;
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        rc = !rd_kafka_event_error(ev) && n == 1 && !rd_kafka_topic_result_error(tr[0]) ? 0 : -1;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    if (rc) {
        fprintf(stderr, "bench_registry: could not create the peer's topic %s\n", topic);
        return -1;
    }
    k->ptopic = rd_kafka_topic_new(k->prod, topic, NULL);
    k->ctopic = rd_kafka_topic_new(k->cons, topic, NULL);
    return rd_kafka_consume_start(k->ctopic, 0, RD_KAFKA_OFFSET_BEGINNING);
}

static void kpeer_close(kpeer *k)
{
    if (k->ctopic) {
        rd_kafka_consume_stop(k->ctopic, 0);
        rd_kafka_topic_destroy(k->ctopic);
    }
    if (k->ptopic) rd_kafka_topic_destroy(k->ptopic);
    if (k->prod) {
        rd_kafka_flush(k->prod, 5000);
        rd_kafka_destroy(k->prod);
    }
    if (k->cons) rd_kafka_destroy(k->cons);
}

/* Schema i as the registry stores it: its key and value, produced and read back. Returns the
 * milliseconds it took, or < 0. */
static double kpeer_register(kpeer *k, int i)
{
    char key[256], val[512];
    int kl =
        snprintf(key, sizeof key,
                 "{\"keytype\":\"SCHEMA\",\"subject\":\"peer-%d\",\"version\":1,\"magic\":1}", i);
    int vl = snprintf(val, sizeof val,
                      "{\"subject\":\"peer-%d\",\"version\":1,\"id\":%d,\"schema\":\"{\\\"type\\\":"
                      "\\\"record\\\",\\\"name\\\":\\\"R%d\\\",\\\"fields\\\":[{\\\"name\\\":"
                      "\\\"f\\\",\\\"type\\\":\\\"int\\\"}]}\",\"deleted\":false}",
                      i, i + 1, i);
    double s = now_s(), end = s + 30;
    delivered = -2;
    if (rd_kafka_producev(k->prod, RD_KAFKA_V_RKT(k->ptopic), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)kl),
                          RD_KAFKA_V_VALUE(val, (size_t)vl), RD_KAFKA_V_END))
        return -1;
    while (delivered == -2 && now_s() < end)
        rd_kafka_poll(k->prod, 100);
    if (delivered < 0) return -1;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consume(k->ctopic, 0, 100);
        bool seen = m && !m->err && m->offset >= delivered;
        if (m) rd_kafka_message_destroy(m);
        if (seen) return (now_s() - s) * 1000;
        if (now_s() > end) return -1;
    }
}

/* ---- the lookup peer: libmicrohttpd answering the registry's bytes ---- */

typedef struct answer {
    char *p;
    size_t len;
} answer;

static answer *bodies;
static int nbodies;

static enum MHD_Result on_peer_request(void *cls, struct MHD_Connection *c, const char *url,
                                       const char *method, const char *version, const char *upload,
                                       size_t *upload_len, void **con_cls)
{
    /* The first call only announces the request: a response queued then makes libmicrohttpd
     * close the connection after it. */
    static int started;
    if (*con_cls == NULL) {
        *con_cls = &started;
        return MHD_YES;
    }
    int id = 0;
    static const char prefix[] = "/schemas/ids/";
    if (strncmp(url, prefix, sizeof prefix - 1) == 0) id = atoi(url + sizeof prefix - 1);
    bool ok = id >= 1 && id <= nbodies && bodies[id - 1].p;
    static char missing[] = "{\"error_code\":40403,\"message\":\"Schema not found\"}";
    struct MHD_Response *r =
        ok ? MHD_create_response_from_buffer(bodies[id - 1].len, bodies[id - 1].p,
                                             MHD_RESPMEM_PERSISTENT)
           : MHD_create_response_from_buffer(strlen(missing), missing, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT);
    enum MHD_Result ret = MHD_queue_response(c, ok ? 200 : 404, r);
    MHD_destroy_response(r);
    return ret;
}

/* The body of GET /schemas/ids/{1..n} from the registry, for the peer to answer with. */
static int fetch_bodies(int port, int n)
{
    conn *c = calloc(1, sizeof *c);
    c->fd = dial(port);
    bodies = calloc((size_t)n, sizeof *bodies);
    nbodies = n;
    int rc = c->fd < 0 ? -1 : 0;
    for (int id = 1; id <= n && !rc; id++) {
        char req[128];
        int k = snprintf(req, sizeof req, "GET /schemas/ids/%d HTTP/1.1\r\nHost: x\r\n\r\n", id);
        if (write_all(c->fd, req, (size_t)k)) {
            rc = -1;
            break;
        }
        /* read_response drops the bytes it returns: find the body before it does */
        for (;;) {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (end) {
                size_t hdr = (size_t)(end - c->buf) + 4;
                char *cl = memmem(c->buf, hdr, "Content-Length:", 15);
                if (!cl) cl = memmem(c->buf, hdr, "content-length:", 15);
                size_t bl = cl ? strtoul(cl + 15, NULL, 10) : 0;
                if (c->len >= hdr + bl) {
                    bodies[id - 1].p = malloc(bl + 1);
                    memcpy(bodies[id - 1].p, c->buf + hdr, bl);
                    bodies[id - 1].len = bl;
                    break;
                }
            }
            ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (got <= 0) {
                rc = -1;
                break;
            }
            c->len += (size_t)got;
        }
        if (!rc && read_response(c) != 200) rc = -1;
    }
    if (c->fd >= 0) close(c->fd);
    free(c);
    return rc;
}

/* ---- the runs ---- */

/* A run of lookups against port: answered/s, and the non-200 answers added to *bad. */
static double lookup_run(int port, int conns, int depth, int nids, int seconds, long *bad)
{
    worker *w = calloc((size_t)conns, sizeof *w);
    double l0 = now_s();
    for (int i = 0; i < conns; i++) {
        w[i] = (worker){.port = port, .depth = depth, .nids = nids, .seconds = seconds};
        pthread_create(&w[i].t, NULL, lookups, &w[i]);
    }
    long done = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(w[i].t, NULL);
        done += w[i].done;
        *bad += w[i].bad;
    }
    double el = now_s() - l0;
    free(w);
    return (double)done / el;
}

typedef struct regrun {
    double rate, p50, p99;
} regrun;

/* Latencies (ms, sorted here) of n registrations taking secs: the run's figures. */
static regrun reg_figures(double *lat, int n, double secs)
{
    bench_sort(lat, (size_t)n);
    return (regrun){.rate = n / secs, .p50 = lat[n / 2], .p99 = lat[n * 99 / 100]};
}

/* Registers schemas first..first+n-1 with the registry on c, one at a time. */
static int registry_run(conn *c, int first, int n, regrun *out)
{
    double *lat = calloc((size_t)n, sizeof *lat);
    char body[512], req[1024];
    double t0 = now_s();
    for (int i = first; i < first + n; i++) {
        int bl = snprintf(body, sizeof body,
                          "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"R%d\\\","
                          "\\\"fields\\\":[{\\\"name\\\":\\\"f\\\",\\\"type\\\":\\\"int\\\"}]}\"}",
                          i);
        int k = snprintf(req, sizeof req,
                         "POST /subjects/bench-%d/versions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/vnd.schemaregistry.v1+json\r\nContent-Length: %d\r\n\r\n%s",
                         i, bl, body);
        double s = now_s();
        if (write_all(c->fd, req, (size_t)k) || read_response(c) != 200) {
            fprintf(stderr, "bench_registry: registration %d failed\n", i);
            free(lat);
            return -1;
        }
        lat[i - first] = (now_s() - s) * 1000;
    }
    *out = reg_figures(lat, n, now_s() - t0);
    free(lat);
    return 0;
}

static int kpeer_run(kpeer *k, int first, int n, regrun *out)
{
    double *lat = calloc((size_t)n, sizeof *lat);
    double t0 = now_s();
    for (int i = first; i < first + n; i++)
        if ((lat[i - first] = kpeer_register(k, i)) < 0) {
            fprintf(stderr, "bench_registry: peer write %d failed\n", i);
            free(lat);
            return -1;
        }
    *out = reg_figures(lat, n, now_s() - t0);
    free(lat);
    return 0;
}

/* A table row: RUNS values of each side, median (min-max), ratio of the medians. */
static void row(const char *what, const double *ours, const char *peer, const double *theirs,
                int prec)
{
    bench_row(what, ours, peer, theirs, RUNS, prec);
}

int main(int argc, char **argv)
{
    int nschemas = 200, seconds = 2, conns = 4, depth = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--schemas"))
            nschemas = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--depth"))
            depth = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_registry [--schemas N] [--seconds S] [--conns C] "
                            "[--depth D]\n");
            return 2;
        }
    }
    if (nschemas < 1 || seconds < 1 || conns < 1 || conns > 64 || depth < 1 || depth > 256) {
        fprintf(stderr, "bench_registry: values out of range\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed connection is an error to report, not a death */
    char *bin = getenv("SLUICE_BIN") ? getenv("SLUICE_BIN") : "build/sluice";
    char dir[] = "/var/tmp/bench_registry.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    int bport = free_port(), rport = free_port();
    char baddr[64], raddr[64];
    snprintf(baddr, sizeof baddr, "127.0.0.1:%d", bport);
    snprintf(raddr, sizeof raddr, "127.0.0.1:%d", rport);
    char *bargv[] = {bin, "broker", "--listen", baddr, "--data-dir", dir, NULL};
    pid_t bpid = spawn(bargv);
    int rc = 1;
    pid_t rpid = -1;
    kpeer kp = {0};
    struct MHD_Daemon *mhd = NULL;
    conn *c = NULL;
    if (wait_port(bport, 30)) goto out;
    char *rargv[] = {bin, "registry", "--listen", raddr, "--kafka", baddr, NULL};
    rpid = spawn(rargv);
    if (wait_port(rport, 60)) goto out;
    /* The producer's first write also fetches its idempotent producer id and the metadata, done
     * by the registry at its start: warm up once, untimed. */
    if (kpeer_open(&kp, baddr, "_bench_peer_schemas") || kpeer_register(&kp, -1) < 0) goto out;

    /* Registration, alternating with the bare produce + read-back. */
    double rate[2][RUNS], p50[2][RUNS], p99[2][RUNS];
    c = calloc(1, sizeof *c);
    c->fd = dial(rport);
    for (int r = 0; r < RUNS; r++) {
        regrun a, b;
        if (registry_run(c, r * nschemas, nschemas, &a) ||
            kpeer_run(&kp, r * nschemas, nschemas, &b))
            goto out;
        rate[0][r] = a.rate, p50[0][r] = a.p50, p99[0][r] = a.p99;
        rate[1][r] = b.rate, p50[1][r] = b.p50, p99[1][r] = b.p99;
    }
    close(c->fd);
    free(c);
    c = NULL;

    /* Lookups, alternating with libmicrohttpd answering the same bytes. */
    int nids = RUNS * nschemas;
    if (fetch_bodies(rport, nids)) {
        fprintf(stderr, "bench_registry: could not read the registry's answers back\n");
        goto out;
    }
    int pport = free_port();
    mhd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)pport, NULL,
                           NULL, on_peer_request, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                           (size_t)16384, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                           MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!mhd) {
        fprintf(stderr, "bench_registry: libmicrohttpd did not start on port %d\n", pport);
        goto out;
    }
    double look[2][RUNS];
    long bad = 0;
    for (int r = 0; r < RUNS; r++) {
        look[0][r] = lookup_run(rport, conns, depth, nids, seconds, &bad);
        look[1][r] = lookup_run(pport, conns, depth, nids, seconds, &bad);
    }

    printf("bench_registry: sluice registry over sluice broker (flush=always, /var/tmp), loopback, "
           "client in this process; registration: %d schemas a run one at a time, each answered "
           "after its read-back from _schemas; lookups: GET /schemas/ids/{id} of %d ids, %d "
           "connections x %d pipelined, %d s a run; %d runs alternating with the peers, median "
           "(min-max), ratio sluice/peer\n",
           nschemas, nids, conns, depth, seconds, RUNS);
    printf("| figure | sluice (median, min-max) | peer | peer (median, min-max) | ratio |\n");
    printf("|---|---|---|---|---|\n");
    const char *kpeer_name = "librdkafka produce (acks=all, idempotent) + read back, same broker";
    const char *hpeer_name = "libmicrohttpd (epoll, one thread) answering the same bytes";
    row("registration, schemas/s", rate[0], kpeer_name, rate[1], 0);
    row("registration p50 ms", p50[0], kpeer_name, p50[1], 2);
    row("registration p99 ms", p99[0], kpeer_name, p99[1], 2);
    row("lookups, answers/s", look[0], hpeer_name, look[1], 0);
    if (bad) printf("\n%ld lookups were not answered 200 or lost their connection\n", bad);
    rc = bad ? 1 : 0;
out:
    if (c) {
        if (c->fd >= 0) close(c->fd);
        free(c);
    }
    if (mhd) MHD_stop_daemon(mhd);
    kpeer_close(&kp);
    for (int i = 0; i < nbodies; i++)
        free(bodies[i].p);
    free(bodies);
    if (rpid > 0) {
        kill(rpid, SIGTERM);
        waitpid(rpid, NULL, 0);
    }
    kill(bpid, SIGTERM);
    waitpid(bpid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) rc = 1;
    return rc;
}
