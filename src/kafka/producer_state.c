/* producer_state.c: idempotent producer state (see producer_state.h). */
#include "kafka/producer_state.h"
#include "core/crc32c.h"
#include "core/log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC   0x534c5053u /* "SLPS" */
#define SNAP_VERSION 1

typedef struct pbatch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
} pbatch;

typedef struct pentry {
    int64_t pid; /* -1: empty slot */
    int16_t epoch;
    uint8_t n; /* batches held, oldest first in b[0..n) */
    int64_t last_ts;
    pbatch b[KAFKA_PRODUCER_BATCHES];
} pentry;

/* Open addressing on the producer id, kept at most half full. */
struct kafka_pstate {
    pentry *slots;
    size_t cap; /* power of two */
    size_t count;
};

static size_t slot_of(int64_t pid, size_t cap)
{
    uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static pentry *find(const kafka_pstate *s, int64_t pid)
{
    for (size_t i = slot_of(pid, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i].pid == pid) return &s->slots[i];
        if (s->slots[i].pid == -1) return NULL;
    }
}

static void alloc_slots(kafka_pstate *s, size_t cap)
{
    s->slots = sl_malloc(cap * sizeof(pentry));
    for (size_t i = 0; i < cap; i++)
        s->slots[i].pid = -1;
    s->cap = cap;
    s->count = 0;
}

static pentry *insert(kafka_pstate *s, int64_t pid);

static void rehash(kafka_pstate *s, size_t cap)
{
    pentry *old = s->slots;
    size_t oldcap = s->cap;
    alloc_slots(s, cap);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].pid != -1) *insert(s, old[i].pid) = old[i];
    sl_free(old);
}

static pentry *insert(kafka_pstate *s, int64_t pid)
{
    if ((s->count + 1) * 2 > s->cap) rehash(s, s->cap * 2);
    size_t i = slot_of(pid, s->cap);
    while (s->slots[i].pid != -1)
        i = (i + 1) & (s->cap - 1);
    pentry *e = &s->slots[i];
    memset(e, 0, sizeof(*e));
    e->pid = pid;
    s->count++;
    return e;
}

kafka_pstate *kafka_pstate_new(void)
{
    kafka_pstate *s = sl_calloc(1, sizeof(*s));
    alloc_slots(s, 8);
    return s;
}

void kafka_pstate_free(kafka_pstate *s)
{
    if (!s) return;
    sl_free(s->slots);
    sl_free(s);
}

size_t kafka_pstate_count(const kafka_pstate *s)
{
    return s->count;
}

/* Sequences wrap from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence). */
static int32_t seq_add(int32_t seq, int32_t delta)
{
    if (seq > INT32_MAX - delta) return delta - (INT32_MAX - seq) - 1;
    return seq + delta;
}

kafka_pcheck kafka_pstate_check(const kafka_pstate *s, const kafka_batch_hdr *h)
{
    kafka_pcheck c = {KAFKA_ERR_NONE, false, -1};
    if (h->producer_id < 0) return c;
    if (h->producer_epoch < 0 || h->base_sequence < 0) {
        c.err = KAFKA_ERR_INVALID_RECORD;
        return c;
    }
    const pentry *e = find(s, h->producer_id);
    if (!e) {
        /* No record of this producer: a first batch must start at sequence 0 (Kafka 2.x,
         * before KIP-360 relaxed it), otherwise its history was lost. */
        if (h->base_sequence != 0) c.err = KAFKA_ERR_UNKNOWN_PRODUCER_ID;
        return c;
    }
    if (h->producer_epoch < e->epoch) {
        c.err = KAFKA_ERR_INVALID_PRODUCER_EPOCH;
        return c;
    }
    if (h->producer_epoch > e->epoch) {
        if (h->base_sequence != 0) c.err = KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return c;
    }
    int32_t last = seq_add(h->base_sequence, h->last_offset_delta);
    for (int i = 0; i < e->n; i++) {
        if (e->b[i].first_seq == h->base_sequence && e->b[i].last_seq == last) {
            c.duplicate = true;
            c.dup_base_offset = e->b[i].first_offset;
            return c;
        }
    }
    if (e->n > 0 && h->base_sequence != seq_add(e->b[e->n - 1].last_seq, 1))
        c.err = KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    return c;
}

void kafka_pstate_update(kafka_pstate *s, const kafka_batch_hdr *h, int64_t base_offset,
                         int64_t now_ms)
{
    if (h->producer_id < 0) return;
    pentry *e = find(s, h->producer_id);
    if (!e) e = insert(s, h->producer_id);
    if (h->producer_epoch != e->epoch) e->n = 0;
    e->epoch = h->producer_epoch;
    e->last_ts = now_ms;
    if (e->n == KAFKA_PRODUCER_BATCHES) {
        memmove(&e->b[0], &e->b[1], (KAFKA_PRODUCER_BATCHES - 1) * sizeof(pbatch));
        e->n--;
    }
    e->b[e->n++] =
        (pbatch){h->base_sequence, seq_add(h->base_sequence, h->last_offset_delta), base_offset};
}

void kafka_pstate_expire(kafka_pstate *s, int64_t now_ms, int64_t max_age_ms)
{
    size_t expired = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].pid != -1 && s->slots[i].last_ts < now_ms - max_age_ms) expired++;
    if (!expired) return;
    pentry *old = s->slots;
    size_t oldcap = s->cap;
    alloc_slots(s, oldcap);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].pid != -1 && old[i].last_ts >= now_ms - max_age_ms)
            *insert(s, old[i].pid) = old[i];
    sl_free(old);
}

void kafka_pstate_encode(const kafka_pstate *s, int64_t offset, sl_buf *out)
{
    size_t start = out->len;
    sl_buf_put_be32(out, SNAP_MAGIC);
    sl_buf_put_be32(out, SNAP_VERSION);
    sl_buf_put_be64(out, (uint64_t)offset);
    sl_buf_put_be32(out, (uint32_t)s->count);
    for (size_t i = 0; i < s->cap; i++) {
        const pentry *e = &s->slots[i];
        if (e->pid == -1) continue;
        sl_buf_put_be64(out, (uint64_t)e->pid);
        sl_buf_put_be16(out, (uint16_t)e->epoch);
        sl_buf_put_be64(out, (uint64_t)e->last_ts);
        sl_buf_put_u8(out, e->n);
        for (int j = 0; j < e->n; j++) {
            sl_buf_put_be32(out, (uint32_t)e->b[j].first_seq);
            sl_buf_put_be32(out, (uint32_t)e->b[j].last_seq);
            sl_buf_put_be64(out, (uint64_t)e->b[j].first_offset);
        }
    }
    sl_buf_put_be32(out, sl_crc32c(0, out->ptr + start, out->len - start));
}

int kafka_pstate_decode(kafka_pstate *s, const uint8_t *p, size_t len, int64_t *offset)
{
    if (len < 24) return SL_ERR_CORRUPT;
    if (sl_crc32c(0, p, len - 4) != sl_get_be32(p + len - 4)) return SL_ERR_CORRUPT;
    sl_rd r;
    sl_rd_init(&r, p, len - 4);
    uint32_t magic, version, count;
    int64_t off;
    if (sl_rd_be32(&r, &magic) || sl_rd_be32(&r, &version) || sl_rd_i64(&r, &off) ||
        sl_rd_be32(&r, &count))
        return SL_ERR_PARSE;
    if (magic != SNAP_MAGIC || version != SNAP_VERSION) return SL_ERR_PARSE;
    /* Each entry takes at least 19 bytes. */
    if ((uint64_t)count * 19 > sl_rd_left(&r)) return SL_ERR_PARSE;
    kafka_pstate tmp;
    size_t cap = 8;
    while (cap < (size_t)count * 2 + 2)
        cap *= 2;
    alloc_slots(&tmp, cap);
    for (uint32_t i = 0; i < count; i++) {
        int64_t pid, ts;
        int16_t epoch;
        uint8_t n;
        if (sl_rd_i64(&r, &pid) || sl_rd_i16(&r, &epoch) || sl_rd_i64(&r, &ts) ||
            sl_rd_u8(&r, &n) || pid < 0 || n > KAFKA_PRODUCER_BATCHES || find(&tmp, pid))
            goto err_parse;
        pentry *e = insert(&tmp, pid);
        e->epoch = epoch;
        e->last_ts = ts;
        e->n = n;
        for (int j = 0; j < n; j++) {
            if (sl_rd_i32(&r, &e->b[j].first_seq) || sl_rd_i32(&r, &e->b[j].last_seq) ||
                sl_rd_i64(&r, &e->b[j].first_offset))
                goto err_parse;
        }
    }
    if (sl_rd_left(&r) != 0) goto err_parse;
    sl_free(s->slots);
    *s = tmp;
    *offset = off;
    return 0;
err_parse:
    sl_free(tmp.slots);
    return SL_ERR_PARSE;
}

int kafka_pstate_save(const kafka_pstate *s, int64_t offset, const char *dir, bool sync)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/producer.snapshot", dir);
    sl_buf b = SL_BUF_INIT;
    kafka_pstate_encode(s, offset, &b);
    int rc = sl_write_file_atomic(path, b.ptr, b.len, 0644, sync);
    if (rc) SL_WARN("kafka", "writing %s: %s", path, sl_strerror(rc));
    sl_buf_free(&b);
    return rc;
}

int kafka_pstate_load(kafka_pstate *s, const char *dir, int64_t *offset)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/producer.snapshot", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SL_ERR_NOTFOUND : -errno;
    struct stat st;
    int rc = 0;
    sl_buf b = SL_BUF_INIT;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (st.st_size > (1 << 30)) {
        rc = SL_ERR_TOOBIG;
        goto out;
    }
    sl_buf_reserve(&b, (size_t)st.st_size);
    while (b.len < (size_t)st.st_size) {
        ssize_t n = read(fd, b.ptr + b.len, (size_t)st.st_size - b.len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : SL_ERR_CORRUPT;
            goto out;
        }
        b.len += (size_t)n;
    }
    rc = kafka_pstate_decode(s, b.ptr, b.len, offset);
out:
    if (rc) SL_WARN("kafka", "reading %s: %s", path, sl_strerror(rc));
    close(fd);
    sl_buf_free(&b);
    return rc;
}
