/* bench_registry.c: `sluice registry` over `sluice broker`: registration latency and
 * GET /schemas/ids/{id} lookups per second (docs/registry.md).
 *
 *   bench_registry [--schemas N (default 200)] [--seconds S (default 5)] [--conns C (default 4)]
 *                  [--depth D (default 16)]
 *
 * Starts $SLUICE_BIN broker (data under /var/tmp) and registry on free loopback ports. Registers
 * N distinct Avro schemas one at a time over one keep-alive connection (each answered only after
 * the registry read its record back from _schemas) and reports p50/p99/max latency; then C
 * threads each keep D pipelined GET /schemas/ids/{id} requests in flight for S seconds and the
 * total answered per second is reported. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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
            if (write_all(c->fd, req, (size_t)n)) goto out;
            inflight++;
        }
        int st = read_response(c);
        if (st < 0) goto out;
        inflight--;
        if (st == 200)
            w->done++;
        else
            w->bad++;
    }
out:
    close(c->fd);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    int nschemas = 200, seconds = 5, conns = 4, depth = 16;
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
    if (wait_port(bport, 30)) goto out;
    char *rargv[] = {bin, "registry", "--listen", raddr, "--kafka", baddr, NULL};
    rpid = spawn(rargv);
    if (wait_port(rport, 60)) goto out;

    conn *c = calloc(1, sizeof *c);
    c->fd = dial(rport);
    double *lat = calloc((size_t)nschemas, sizeof *lat);
    char body[512], req[1024];
    double t0 = now_s();
    for (int i = 0; i < nschemas; i++) {
        int bl = snprintf(body, sizeof body,
                          "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"R%d\\\","
                          "\\\"fields\\\":[{\\\"name\\\":\\\"f\\\",\\\"type\\\":\\\"int\\\"}]}\"}",
                          i);
        int n = snprintf(req, sizeof req,
                         "POST /subjects/bench-%d/versions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/vnd.schemaregistry.v1+json\r\nContent-Length: %d\r\n\r\n%s",
                         i, bl, body);
        double s = now_s();
        if (write_all(c->fd, req, (size_t)n) || read_response(c) != 200) {
            fprintf(stderr, "bench_registry: registration %d failed\n", i);
            goto out;
        }
        lat[i] = (now_s() - s) * 1000;
    }
    double reg_s = now_s() - t0;
    close(c->fd);
    free(c);
    qsort(lat, (size_t)nschemas, sizeof *lat, cmp_d);
    printf("registration: %d schemas in %.2f s (%.0f/s, one at a time): p50 %.2f ms, p99 %.2f "
           "ms, max %.2f ms\n",
           nschemas, reg_s, nschemas / reg_s, lat[nschemas / 2], lat[nschemas * 99 / 100],
           lat[nschemas - 1]);
    free(lat);

    worker *w = calloc((size_t)conns, sizeof *w);
    double l0 = now_s();
    for (int i = 0; i < conns; i++) {
        w[i] = (worker){.port = rport, .depth = depth, .nids = nschemas, .seconds = seconds};
        pthread_create(&w[i].t, NULL, lookups, &w[i]);
    }
    long done = 0, bad = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(w[i].t, NULL);
        done += w[i].done;
        bad += w[i].bad;
    }
    double el = now_s() - l0;
    free(w);
    printf("lookups: GET /schemas/ids/{id}: %ld in %.2f s = %.0f/s (%d connections x %d "
           "pipelined; %ld non-200)\n",
           done, el, done / el, conns, depth, bad);
    rc = bad ? 1 : 0;
out:
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
