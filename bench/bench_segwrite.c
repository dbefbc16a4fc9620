/* bench_segwrite.c: the ways a partition log's active segment can be written and filled, measured
 * side by side as evidence for the broker's next produce-path lever (docs/benchmarks.md, "Results:
 * broker").
 *
 *   bench_segwrite [--gib G (default 1)] [--runs R (default 5)] [--chunk BYTES (default
 *                  1000000)] [--sync-every N (default 4)] [--dir DIR (default /var/tmp)]
 *
 * Both append G GiB in chunks of BYTES (a producer batch; not a multiple of the block size) to
 * a file whose blocks were reserved with fallocate(KEEP_SIZE), as plog does, with an
 * fdatasync after every N chunks:
 *   buffered: pwrite(2) of each chunk through the page cache (what src/kafka/plog.c does);
 *   O_DIRECT: each chunk is copied into an aligned staging buffer after the partial block the
 *             previous chunk left, and the whole blocks from there are written with O_DIRECT,
 *             so the file holds the same bytes.
 * Then the file is read back with 1 MiB preads, as Fetch does (the O_DIRECT file is not in the
 * page cache, so this reads the device). CPU is this process's utime+stime (getrusage, in
 * microseconds) per GB (1e9 bytes); the worst single write's latency shows how long an
 * O_DIRECT append would hold the broker's loop. Runs alternate the two; medians with min-max.
 *
 * A second table measures the receive path, with the same bytes arriving on a loopback TCP
 * connection from a sender thread, CPU counted for the receiving thread only (RUSAGE_THREAD):
 *   buffer + pwrite: each chunk is read into a buffer and then written with pwrite(2), as the
 *                    broker does today (connection buffer, then sl_plog_append);
 *   into mapping:    each chunk is read straight into a shared mapping of the (allocated)
 *                    file, populated ahead with MADV_POPULATE_WRITE: one copy fewer;
 *   into O_DIRECT staging: each chunk is read straight into the aligned staging buffer after
 *                    the previous partial block and written with O_DIRECT: no copy but the
 *                    socket read's. */
#include "core/sl.h"
#include "bench_stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RUNS 20
#define BLOCK    4096
#define READ_SZ  (1 << 20)
#define POPULATE (16 << 20) /* how far ahead the mapping is populated */

enum { M_BUFFERED, M_DIRECT, M_COUNT };
static const char *mode_names[M_COUNT] = {"buffered", "O_DIRECT"};
enum { R_PWRITE, R_MAP, R_DIRECT, R_COUNT };
static const char *recv_names[R_COUNT] = {"buffer + pwrite", "into mapping",
                                          "into O_DIRECT staging"};

typedef struct result {
    double write_s, write_cpu, max_lat, read_s, read_cpu;
} result;

static struct {
    double gib;
    int runs;
    size_t chunk;
    int sync_every;
    const char *dir;
} opt = {1.0, 5, 1000000, 4, "/var/tmp"};

static char path[512]; /* removed on every way out */

static double now_s(void)
{
    return (double)sl_mono_ns() / 1e9;
}

static double cpu_of(int who)
{
    struct rusage u;
    getrusage(who, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double cpu_s(void)
{
    return cpu_of(RUSAGE_SELF);
}

static void on_signal(int sig)
{
    if (path[0]) unlink(path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_segwrite: %s: %s\n", what, strerror(errno));
    if (path[0]) unlink(path);
    exit(1);
}

static void write_all(int fd, const uint8_t *p, size_t n, int64_t pos, double *max_lat)
{
    double t0 = now_s();
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, pos);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("pwrite");
        p += w;
        n -= (size_t)w;
        pos += w;
    }
    double lat = now_s() - t0;
    if (lat > *max_lat) *max_lat = lat;
}

static void run_one(int mode, const uint8_t *src, uint8_t *stage, uint8_t *rbuf, result *r)
{
    int64_t total = (int64_t)(opt.gib * (double)(1 << 30));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | (mode == M_DIRECT ? O_DIRECT : 0), 0644);
    if (fd < 0) die(mode == M_DIRECT ? "open O_DIRECT" : "open");
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total + (int64_t)opt.chunk + BLOCK)) die("fallocate");
    *r = (result){0, 0, 0, 0, 0};
    double c0 = cpu_s(), t0 = now_s();
    int64_t pos = 0;
    for (int n = 1; pos < total; n++) {
        /* Vary the source offset so no two chunks are the same bytes at the same alignment. */
        const uint8_t *p = src + (size_t)(n % 7) * 61;
        if (mode == M_BUFFERED) {
            write_all(fd, p, opt.chunk, pos, &r->max_lat);
        } else {
            /* stage holds the partial block at the aligned start of pos, then the chunk. */
            size_t head = (size_t)(pos % BLOCK);
            memcpy(stage + head, p, opt.chunk);
            size_t end = head + opt.chunk, span = (end + BLOCK - 1) / BLOCK * BLOCK;
            memset(stage + end, 0, span - end);
            write_all(fd, stage, span, pos - (int64_t)head, &r->max_lat);
            size_t keep = end / BLOCK * BLOCK;
            memmove(stage, stage + keep, end - keep);
        }
        pos += (int64_t)opt.chunk;
        if (n % opt.sync_every == 0 && fdatasync(fd)) die("fdatasync");
    }
    if (fdatasync(fd)) die("fdatasync");
    r->write_s = now_s() - t0;
    r->write_cpu = cpu_s() - c0;
    close(fd);

    int rfd = open(path, O_RDONLY);
    if (rfd < 0) die("open for reading");
    c0 = cpu_s();
    t0 = now_s();
    for (int64_t off = 0; off < pos; off += READ_SZ)
        if (pread(rfd, rbuf, READ_SZ, off) < 0) die("pread");
    r->read_s = now_s() - t0;
    r->read_cpu = cpu_s() - c0;
    close(rfd);
    unlink(path);
}

typedef struct sender {
    int fd;
    int64_t total;
    const uint8_t *src;
} sender;

/* Sends total bytes in chunks, as a producer's requests arrive, then closes. */
static void *send_main(void *arg)
{
    sender *sd = arg;
    for (int64_t sent = 0; sent < sd->total;) {
        size_t n = (size_t)SL_MIN((int64_t)opt.chunk, sd->total - sent);
        ssize_t w = write(sd->fd, sd->src, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        sent += w;
    }
    close(sd->fd);
    return NULL;
}

/* A connected loopback pair: *rx for this thread, *tx for the sender. */
static void tcp_pair(int *rx, int *tx)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &len))
        die("listen");
    *tx = socket(AF_INET, SOCK_STREAM, 0);
    if (*tx < 0 || connect(*tx, (struct sockaddr *)&a, sizeof a)) die("connect");
    *rx = accept(ls, NULL, NULL);
    if (*rx < 0) die("accept");
    close(ls);
}

/* Reads exactly n bytes (less only at end of stream). */
static size_t read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("read");
        if (r == 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Returns the receiving thread's CPU seconds for the whole stream. */
static double run_recv(int mode, const uint8_t *src, uint8_t *buf, uint8_t *stage)
{
    int64_t total = (int64_t)(opt.gib * (double)(1 << 30));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | (mode == R_DIRECT ? O_DIRECT : 0), 0644);
    if (fd < 0) die("open");
    uint8_t *map = NULL;
    if (mode != R_MAP) {
        if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total)) die("fallocate");
    } else {
        /* A mapping needs the file to be that long; a log would trim it at roll and close. */
        if (fallocate(fd, 0, 0, total)) die("fallocate");
        map = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) die("mmap");
    }
    int rx, tx;
    tcp_pair(&rx, &tx);
    sender sd = {tx, total, src};
    pthread_t th;
    if (pthread_create(&th, NULL, send_main, &sd)) die("pthread_create");
    double c0 = cpu_of(RUSAGE_THREAD);
    int64_t pos = 0, populated = 0;
    for (int n = 1; pos < total; n++) {
        size_t want = (size_t)SL_MIN((int64_t)opt.chunk, total - pos), got;
        if (mode == R_PWRITE) {
            got = read_full(rx, buf, want);
            double lat = 0;
            if (got) write_all(fd, buf, got, pos, &lat);
        } else if (mode == R_DIRECT) {
            size_t head = (size_t)(pos % BLOCK);
            got = read_full(rx, stage + head, want);
            size_t end = head + got, span = (end + BLOCK - 1) / BLOCK * BLOCK;
            memset(stage + end, 0, span - end);
            double lat = 0;
            write_all(fd, stage, span, pos - (int64_t)head, &lat);
            size_t keep = end / BLOCK * BLOCK;
            memmove(stage, stage + keep, end - keep);
        } else {
            if (pos + (int64_t)want > populated) {
                int64_t upto = SL_MIN(total, pos + (int64_t)want + POPULATE);
                int64_t from = populated / BLOCK * BLOCK;
                if (madvise(map + from, (size_t)(upto - from), MADV_POPULATE_WRITE)) die("madvise");
                populated = upto;
            }
            got = read_full(rx, map + pos, want);
        }
        if (got < want) die("short stream");
        pos += (int64_t)got;
        if (n % opt.sync_every == 0 && fdatasync(fd)) die("fdatasync");
    }
    if (fdatasync(fd)) die("fdatasync");
    double cpu = cpu_of(RUSAGE_THREAD) - c0;
    pthread_join(th, NULL);
    close(rx);
    if (map) munmap(map, (size_t)total);
    close(fd);
    unlink(path);
    return cpu;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!v) goto bad;
        i++;
        if (!strcmp(a, "--gib")) {
            opt.gib = strtod(v, &end);
            if (*end || !(opt.gib > 0 && opt.gib <= 64)) goto bad;
        } else if (!strcmp(a, "--runs")) {
            opt.runs = (int)strtol(v, &end, 10);
            if (*end || opt.runs < 1 || opt.runs > MAX_RUNS) goto bad;
        } else if (!strcmp(a, "--chunk")) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > (64 << 20)) goto bad;
            opt.chunk = (size_t)n;
        } else if (!strcmp(a, "--sync-every")) {
            opt.sync_every = (int)strtol(v, &end, 10);
            if (*end || opt.sync_every < 1) goto bad;
        } else if (!strcmp(a, "--dir")) {
            opt.dir = v;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr,
                "usage: bench_segwrite [--gib G] [--runs R] [--chunk BYTES] [--sync-every N] "
                "[--dir DIR]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) return 2;
    snprintf(path, sizeof path, "%s/sluice-bench-segwrite-%d", opt.dir, (int)getpid());
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    uint8_t *src = NULL, *stage = NULL, *rbuf = NULL;
    size_t src_len = opt.chunk + 7 * 61, stage_len = opt.chunk + 2 * BLOCK;
    if (posix_memalign((void **)&src, BLOCK, src_len) ||
        posix_memalign((void **)&stage, BLOCK, stage_len) ||
        posix_memalign((void **)&rbuf, BLOCK, READ_SZ)) {
        fprintf(stderr, "bench_segwrite: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < src_len; i++)
        src[i] = (uint8_t)(i * 131 + (i >> 9));
    memset(stage, 0, stage_len);

    static result res[M_COUNT][MAX_RUNS];
    for (int run = 0; run < opt.runs; run++) {
        for (int k = 0; k < M_COUNT; k++) {
            int m = (run + k) % 2; /* alternate which goes first */
            run_one(m, src, stage, rbuf, &res[m][run]);
            fprintf(stderr, "run %d %s: write %.2f s (%.3f CPU s), read back %.2f s\n", run + 1,
                    mode_names[m], res[m][run].write_s, res[m][run].write_cpu, res[m][run].read_s);
        }
    }

    double gb = opt.gib * (double)(1 << 30) / 1e9;
    printf("bench_segwrite: %.2f GiB appended in %zu-byte chunks to a fallocated file in %s, "
           "fdatasync every %d chunks, read back in 1 MiB preads; medians of %d runs (min-max)\n",
           opt.gib, opt.chunk, opt.dir, opt.sync_every, opt.runs);
    printf("| case | buffered (as plog) | O_DIRECT + staging copy | ratio O_DIRECT/buffered |\n");
    printf("|---|---|---|---|\n");
    static const char *rows[] = {"write CPU s/GB", "write MB/s", "slowest single write ms",
                                 "read back CPU s/GB", "read back MB/s"};
    for (size_t row = 0; row < SL_ARRAY_LEN(rows); row++) {
        bench_stat3 st[M_COUNT];
        for (int m = 0; m < M_COUNT; m++) {
            double v[MAX_RUNS];
            for (int run = 0; run < opt.runs; run++) {
                const result *r = &res[m][run];
                double x[] = {r->write_cpu / gb, gb * 1e3 / r->write_s, r->max_lat * 1e3,
                              r->read_cpu / gb, gb * 1e3 / r->read_s};
                v[run] = x[row];
            }
            st[m] = bench_stats(v, opt.runs);
        }
        printf("| %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.2f |\n", rows[row],
               st[M_BUFFERED].med, st[M_BUFFERED].min, st[M_BUFFERED].max, st[M_DIRECT].med,
               st[M_DIRECT].min, st[M_DIRECT].max,
               st[M_BUFFERED].med > 0 ? st[M_DIRECT].med / st[M_BUFFERED].med : NAN);
    }

    /* The receive path: the sender's source is one chunk, sent over and over. */
    static double rcpu[R_COUNT][MAX_RUNS];
    uint8_t *rxbuf = NULL;
    if (posix_memalign((void **)&rxbuf, BLOCK, opt.chunk)) {
        fprintf(stderr, "bench_segwrite: out of memory\n");
        return 1;
    }
    for (int run = 0; run < opt.runs; run++) {
        for (int k = 0; k < R_COUNT; k++) {
            int m = (run + k) % R_COUNT; /* rotate which goes first */
            rcpu[m][run] = run_recv(m, src, rxbuf, stage) / gb;
            fprintf(stderr, "run %d %s: %.3f CPU s/GB\n", run + 1, recv_names[m], rcpu[m][run]);
        }
    }
    bench_stat3 rp = bench_stats(rcpu[R_PWRITE], opt.runs), rm = bench_stats(rcpu[R_MAP], opt.runs),
                rd = bench_stats(rcpu[R_DIRECT], opt.runs);
    printf("\nreceive path: the same appends arriving on a loopback TCP connection, CPU of the "
           "receiving thread\n");
    printf("| case | CPU s/GB (median, min-max) | ratio to buffer + pwrite |\n");
    printf("|---|---|---|\n");
    const bench_stat3 *rs[R_COUNT] = {&rp, &rm, &rd};
    for (int m = 0; m < R_COUNT; m++)
        printf("| %s | %.3f (%.3f-%.3f) | %.2f |\n", recv_names[m], rs[m]->med, rs[m]->min,
               rs[m]->max, rs[m]->med / rp.med);
    free(rxbuf);
    free(src);
    free(stage);
    free(rbuf);
    return 0;
}
