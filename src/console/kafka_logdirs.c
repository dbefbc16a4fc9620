/* kafka_logdirs.c: partition sizes for the Topics page. Kafka reports bytes on disk only through
 * DescribeLogDirs (API key 35), for which librdkafka 2.0.2 has no call, so the console asks each
 * broker itself: version 1 (non-flexible) over a plain, blocking TCP connection with the kview's
 * round-trip timeout, from the worker thread the page's answer runs on. */
#include "console/kafka_int.h"

#include "core/codec.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define API_DESCRIBE_LOG_DIRS 35
/* A log-dir answer lists every partition once; 64 MiB is far more than any real cluster's. */
#define MAX_RESPONSE (64u << 20)

static int cmp_size(const void *a, const void *b)
{
    const sl_ck_size *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static int connect_to(const char *host, int port, int timeout_ms)
{
    char svc[16];
    snprintf(svc, sizeof svc, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, svc, &hints, &ai)) return -1;
    int fd = -1;
    for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, p->ai_addr, p->ai_addrlen)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

static int read_full(int fd, void *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* One broker's answer, appended to sizes (the largest replica wins when merged). */
static int ask_broker(const char *host, int port, int timeout_ms, sl_ck_sizes *sizes)
{
    int fd = connect_to(host, port, timeout_ms);
    if (fd < 0) return -1;
    static const char client[] = "sluice-console";
    sl_buf req = SL_BUF_INIT;
    sl_buf_put_be32(&req, 0); /* the size, set below */
    sl_buf_put_be16(&req, API_DESCRIBE_LOG_DIRS);
    sl_buf_put_be16(&req, 1);
    sl_buf_put_be32(&req, 1); /* correlation id */
    sl_buf_put_be16(&req, sizeof client - 1);
    sl_buf_append(&req, client, sizeof client - 1);
    sl_buf_put_be32(&req, UINT32_MAX); /* topics: null, all of them */
    uint32_t len = (uint32_t)req.len - 4;
    req.ptr[0] = (uint8_t)(len >> 24), req.ptr[1] = (uint8_t)(len >> 16);
    req.ptr[2] = (uint8_t)(len >> 8), req.ptr[3] = (uint8_t)len;
    int rc = -1;
    uint8_t hdr[4];
    uint8_t *body = NULL;
    if (write(fd, req.ptr, req.len) != (ssize_t)req.len || read_full(fd, hdr, 4)) goto out;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n < 8 || n > MAX_RESPONSE) goto out;
    body = sl_malloc(n);
    if (read_full(fd, body, n)) goto out;
    sl_rd rd;
    sl_rd_init(&rd, body, n);
    int32_t corr = 0, throttle = 0, nres = 0;
    sl_rd_i32(&rd, &corr);
    sl_rd_i32(&rd, &throttle);
    sl_rd_i32(&rd, &nres);
    if (rd.err || corr != 1 || nres < 0) goto out;
    for (int32_t i = 0; i < nres && !rd.err; i++) {
        int16_t err = 0, dlen = 0, tlen = 0;
        int32_t ntopics = 0, nparts = 0;
        sl_slice dir, topic;
        sl_rd_i16(&rd, &err);
        sl_rd_i16(&rd, &dlen);
        sl_rd_bytes(&rd, dlen < 0 ? 0 : (size_t)dlen, &dir);
        sl_rd_i32(&rd, &ntopics);
        for (int32_t t = 0; t < ntopics && !rd.err; t++) {
            sl_rd_i16(&rd, &tlen);
            sl_rd_bytes(&rd, tlen < 0 ? 0 : (size_t)tlen, &topic);
            sl_rd_i32(&rd, &nparts);
            for (int32_t p = 0; p < nparts && !rd.err; p++) {
                int32_t part = 0;
                int64_t size = 0, lag = 0;
                int8_t future = 0;
                sl_rd_i32(&rd, &part);
                sl_rd_i64(&rd, &size);
                sl_rd_i64(&rd, &lag);
                sl_rd_i8(&rd, &future);
                if (rd.err || err || future) continue;
                if (sizes->n == sizes->cap) {
                    sizes->cap = sizes->cap ? 2 * sizes->cap : 64;
                    sizes->v = sl_realloc(sizes->v, sizes->cap * sizeof *sizes->v);
                }
                sizes->v[sizes->n++] =
                    (sl_ck_size){sl_strndup((const char *)topic.ptr, topic.len), part, size};
            }
        }
    }
    rc = rd.err ? -1 : 0;
out:
    sl_free(body);
    sl_buf_free(&req);
    close(fd);
    return rc;
}

int sl_ck_sizes_take(sl_kview *k, sl_ck_sizes *s)
{
    memset(s, 0, sizeof *s);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(k->admin, 0, NULL, &md, k->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    int asked = 0;
    for (int i = 0; i < md->broker_cnt; i++)
        asked += ask_broker(md->brokers[i].host, md->brokers[i].port, k->timeout_ms, s) == 0;
    rd_kafka_metadata_destroy(md);
    if (!asked) return -1;
    if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_size);
    /* Replicas of one partition on several brokers: keep the largest. */
    size_t w = 0;
    for (size_t r = 0; r < s->n; r++) {
        if (w && !cmp_size(&s->v[w - 1], &s->v[r])) {
            if (s->v[r].bytes > s->v[w - 1].bytes) s->v[w - 1].bytes = s->v[r].bytes;
            sl_free(s->v[r].topic);
        } else {
            s->v[w++] = s->v[r];
        }
    }
    s->n = w;
    return 0;
}

int64_t sl_ck_size_of(const sl_ck_sizes *s, const char *topic, int32_t partition)
{
    sl_ck_size key = {(char *)topic, partition, 0};
    const sl_ck_size *f = s->n ? bsearch(&key, s->v, s->n, sizeof key, cmp_size) : NULL;
    return f ? f->bytes : -1;
}

void sl_ck_sizes_free(sl_ck_sizes *s)
{
    for (size_t i = 0; i < s->n; i++)
        sl_free(s->v[i].topic);
    sl_free(s->v);
    memset(s, 0, sizeof *s);
}
