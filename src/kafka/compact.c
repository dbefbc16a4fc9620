/* compact.c: the log cleaner. See compact.h for the contract.
 *
 * Two passes over the closed segments. The first maps each key to the offset of its latest
 * record (keys copied into one arena, FNV-1a open addressing) and each producer id to its last
 * batch. The second rewrites each segment: a batch whose records all stay is copied as it is;
 * otherwise its kept records are copied byte for byte (their offset and timestamp deltas are
 * relative to fields the header keeps) behind the same header with new Length, count and
 * CRC32C. A batch left without records is dropped, except the last batch of a producer id (so
 * idempotent producer state rebuilt from the log stays right), which stays as an empty batch, as
 * Kafka keeps it. A segment may end up empty; sl_plog_read moves across such gaps. */
#include "kafka/compact.h"
#include "core/codec.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "kafka/batch.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NAME_LEN 48

typedef struct kent {
    uint64_t h;
    const uint8_t *key; /* NULL: empty slot */
    uint32_t len;
    int64_t off; /* key map: latest offset; pid map: base offset of the last batch */
} kent;

/* Keys live in chunks that never move, so entries can point into them. */
typedef struct kchunk {
    struct kchunk *next;
    size_t used, cap;
    uint8_t data[];
} kchunk;

typedef struct kmap {
    kent *v;
    size_t cap, n;
    kchunk *chunks;
} kmap;

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static kent *kmap_slot(kmap *m, uint64_t h, const uint8_t *key, uint32_t len)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        kent *e = &m->v[i];
        if (!e->key) return e;
        if (e->h == h && e->len == len && !memcmp(e->key, key, len)) return e;
    }
}

static void kmap_grow(kmap *m)
{
    kent *old = m->v;
    size_t ocap = m->cap;
    m->cap = ocap ? ocap * 2 : 1024;
    m->v = sl_calloc(m->cap, sizeof(*m->v));
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key) *kmap_slot(m, old[i].h, old[i].key, old[i].len) = old[i];
    sl_free(old);
}

static const uint8_t *key_copy(kmap *m, const uint8_t *p, size_t n)
{
    kchunk *chunks = m->chunks;
    if (!chunks || chunks->cap - chunks->used < n) {
        size_t cap = SL_MAX(n, (size_t)1 << 20);
        kchunk *c = sl_malloc(sizeof(*c) + cap);
        c->next = chunks;
        c->used = 0;
        c->cap = cap;
        chunks = m->chunks = c;
    }
    uint8_t *d = chunks->data + chunks->used;
    memcpy(d, p, n);
    chunks->used += n;
    return n ? d : (const uint8_t *)"";
}

static void kmap_put(kmap *m, const uint8_t *key, uint32_t len, int64_t off)
{
    if ((m->n + 1) * 2 > m->cap) kmap_grow(m);
    uint64_t h = fnv(key, len);
    kent *e = kmap_slot(m, h, key, len);
    if (!e->key) {
        *e = (kent){h, key_copy(m, key, len), len, off};
        m->n++;
    } else if (off > e->off) {
        e->off = off;
    }
}

static int64_t kmap_get(const kmap *m, const uint8_t *key, uint32_t len)
{
    if (!m->cap) return -1;
    kent *e = kmap_slot((kmap *)m, fnv(key, len), key, len);
    return e->key ? e->off : -1;
}

static void kmap_free(kmap *m)
{
    while (m->chunks) {
        kchunk *n = m->chunks->next;
        sl_free(m->chunks);
        m->chunks = n;
    }
    sl_free(m->v);
    memset(m, 0, sizeof(*m));
}

/* One record of an uncompressed batch: its bytes (length varint included), offset and key. */
typedef struct rec {
    const uint8_t *p;
    size_t n;
    int64_t off, ts;
    const uint8_t *key; /* NULL: null key */
    int64_t klen;
    bool null_value;
} rec;

/* Parses the record at r; returns 0 or SL_ERR_PARSE. */
static int rec_next(sl_rd *r, int64_t base, int64_t first_ts, rec *out)
{
    const uint8_t *start = r->p;
    int64_t len, tsd, offd, vlen;
    int8_t attr;
    if (sl_rd_varint(r, &len) || len < 0 || (uint64_t)len > sl_rd_left(r)) return SL_ERR_PARSE;
    sl_rd body;
    sl_rd_init(&body, r->p, (size_t)len);
    r->p += len;
    if (sl_rd_i8(&body, &attr) || sl_rd_varint(&body, &tsd) || sl_rd_varint(&body, &offd) ||
        sl_rd_varint(&body, &out->klen))
        return SL_ERR_PARSE;
    out->key = NULL;
    if (out->klen >= 0) {
        sl_slice k;
        if (sl_rd_bytes(&body, (size_t)out->klen, &k)) return SL_ERR_PARSE;
        out->key = k.ptr ? k.ptr : (const uint8_t *)"";
    }
    if (sl_rd_varint(&body, &vlen)) return SL_ERR_PARSE;
    out->null_value = vlen < 0;
    out->p = start;
    out->n = (size_t)(r->p - start);
    out->off = base + offd;
    out->ts = first_ts + tsd;
    return 0;
}

/* Reads the batch at pos of fd into b; returns its total size, 0 at the end, or <0. */
static int64_t batch_read(int fd, int64_t pos, sl_buf *b)
{
    uint8_t h[KAFKA_BATCH_HEADER_SIZE];
    ssize_t r = pread(fd, h, sizeof(h), (off_t)pos);
    if (r == 0) return 0;
    if (r != (ssize_t)sizeof(h)) return r < 0 ? -errno : SL_ERR_CORRUPT;
    int32_t length = (int32_t)sl_get_be32(h + KAFKA_BATCH_OFF_LENGTH);
    if (length < KAFKA_BATCH_HEADER_SIZE - KAFKA_BATCH_LOG_OVERHEAD ||
        h[KAFKA_BATCH_OFF_MAGIC] != 2)
        return SL_ERR_CORRUPT;
    size_t total = (size_t)length + KAFKA_BATCH_LOG_OVERHEAD;
    sl_buf_reset(b);
    uint8_t *d = sl_buf_extend(b, total);
    size_t got = 0;
    while (got < total) {
        r = pread(fd, d + got, total - got, (off_t)(pos + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 ? -errno : SL_ERR_CORRUPT;
        got += (size_t)r;
    }
    return (int64_t)total;
}

static bool batch_readable(const uint8_t *b)
{
    int16_t attr = (int16_t)sl_get_be16(b + KAFKA_BATCH_OFF_ATTRIBUTES);
    return (attr & KAFKA_ATTR_CODEC_MASK) == KAFKA_CODEC_NONE && !(attr & KAFKA_ATTR_CONTROL);
}

struct sl_compact_job {
    sl_plog *l; /* kept (sl_plog_keep) from begin to end */
    int dfd;
    sl_compact_opts o;
    sl_compact_stats st;
    size_t n;
    int64_t *bases, *sizes;
    bool *cleaned; /* NNN.log.cleaned written for segment i, to be swapped in at end */
    int rc;        /* of the run, then of the first failed swap */
    size_t next;   /* the next segment sl_compact_swap_next looks at */
    atomic_bool cancel;
    kmap keys, pids;
    sl_buf in, out, recs;
};

typedef struct sl_compact_job cleaner;

static int seg_open(cleaner *c, int64_t base, int *fd)
{
    char name[NAME_LEN];
    snprintf(name, sizeof(name), "%020" PRId64 ".log", base);
    *fd = openat(c->dfd, name, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        int rc = -errno;
        SL_ERROR("kafka", "%s/%s: open: %s", sl_plog_dir(c->l), name, sl_strerror(rc));
        return rc;
    }
    return 0;
}

/* Pass one over a segment: the latest offset of each key, the last batch of each producer. */
static int map_segment(cleaner *c, int64_t base, int64_t size)
{
    int fd, rc = seg_open(c, base, &fd);
    if (rc) return rc;
    for (int64_t pos = 0; pos < size;) {
        if (atomic_load_explicit(&c->cancel, memory_order_relaxed)) {
            rc = SL_ERR_CLOSED;
            break;
        }
        int64_t n = batch_read(fd, pos, &c->in);
        if (n <= 0) {
            rc = n ? (int)n : 0;
            break;
        }
        pos += n;
        const uint8_t *b = c->in.ptr;
        int64_t bbase = (int64_t)sl_get_be64(b);
        int64_t pid = (int64_t)sl_get_be64(b + KAFKA_BATCH_OFF_PRODUCER_ID);
        if (pid >= 0) {
            uint8_t k[8];
            sl_put_be64(k, (uint64_t)pid);
            kmap_put(&c->pids, k, 8, bbase);
        }
        if (!batch_readable(b)) continue;
        int32_t count = (int32_t)sl_get_be32(b + KAFKA_BATCH_OFF_RECORDS_COUNT);
        int64_t first_ts = (int64_t)sl_get_be64(b + KAFKA_BATCH_OFF_BASE_TIMESTAMP);
        sl_rd r;
        sl_rd_init(&r, b + KAFKA_BATCH_HEADER_SIZE, (size_t)n - KAFKA_BATCH_HEADER_SIZE);
        for (int32_t i = 0; i < count; i++) {
            rec x;
            if (rec_next(&r, bbase, first_ts, &x)) {
                SL_WARN("kafka", "%s/%020" PRId64 ".log: undecodable record at offset %" PRId64,
                        sl_plog_dir(c->l), base, bbase);
                break;
            }
            if (x.key) kmap_put(&c->keys, x.key, (uint32_t)x.klen, x.off);
        }
    }
    close(fd);
    return rc;
}

static bool rec_keep(cleaner *c, const rec *x)
{
    if (!x->key) return true; /* Kafka refuses null keys on compacted topics; keep what came */
    if (kmap_get(&c->keys, x->key, (uint32_t)x->klen) != x->off) return false;
    if (!x->null_value) return true;
    int64_t due = x->ts + c->o.delete_retention_ms;
    if (x->ts >= 0 && due <= c->o.now_ms) return false;
    c->st.tombstones_kept++;
    if (due < c->st.next_tombstone_ms) c->st.next_tombstone_ms = due;
    return true;
}

/* Filters the batch in c->in (n bytes) into c->out; returns whether anything changed. */
static bool filter_batch(cleaner *c, size_t n)
{
    bool must_stay = false;
    const uint8_t *b = c->in.ptr;
    int64_t bbase = (int64_t)sl_get_be64(b);
    int64_t pid = (int64_t)sl_get_be64(b + KAFKA_BATCH_OFF_PRODUCER_ID);
    if (pid >= 0) {
        uint8_t k[8];
        sl_put_be64(k, (uint64_t)pid);
        if (kmap_get(&c->pids, k, 8) == bbase) must_stay = true;
    }
    if (!batch_readable(b)) {
        sl_buf_append(&c->out, b, n);
        return false;
    }
    int32_t count = (int32_t)sl_get_be32(b + KAFKA_BATCH_OFF_RECORDS_COUNT);
    int64_t first_ts = (int64_t)sl_get_be64(b + KAFKA_BATCH_OFF_BASE_TIMESTAMP);
    sl_rd r;
    sl_rd_init(&r, b + KAFKA_BATCH_HEADER_SIZE, n - KAFKA_BATCH_HEADER_SIZE);
    sl_buf_reset(&c->recs);
    int32_t kept = 0, i;
    for (i = 0; i < count; i++) {
        rec x;
        if (rec_next(&r, bbase, first_ts, &x)) break;
        if (rec_keep(c, &x)) {
            sl_buf_append(&c->recs, x.p, x.n);
            kept++;
        }
    }
    if (i < count) { /* undecodable: keep it whole rather than guess */
        sl_buf_append(&c->out, b, n);
        return false;
    }
    c->st.records_kept += kept;
    c->st.records_removed += count - kept;
    if (kept == count) {
        sl_buf_append(&c->out, b, n);
        return false;
    }
    if (kept == 0 && !must_stay) return true;
    size_t at = c->out.len;
    sl_buf_append(&c->out, b, KAFKA_BATCH_HEADER_SIZE);
    sl_buf_append(&c->out, c->recs.ptr, c->recs.len);
    uint8_t *h = c->out.ptr + at;
    size_t total = c->out.len - at;
    sl_put_be32(h + KAFKA_BATCH_OFF_LENGTH, (uint32_t)(total - KAFKA_BATCH_LOG_OVERHEAD));
    sl_put_be32(h + KAFKA_BATCH_OFF_RECORDS_COUNT, (uint32_t)kept);
    sl_put_be32(h + KAFKA_BATCH_OFF_CRC,
                sl_crc32c(0, h + KAFKA_BATCH_OFF_ATTRIBUTES, total - KAFKA_BATCH_OFF_ATTRIBUTES));
    return true;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void cleaned_name(char *out, int64_t base)
{
    snprintf(out, NAME_LEN, "%020" PRId64 ".log.cleaned", base);
}

/* Pass two over a segment: writes NNN.log.cleaned, fdatasync()ed, when anything changed; the
 * swap is left to sl_compact_end on the loop. */
static int clean_segment(cleaner *c, size_t i)
{
    int64_t base = c->bases[i], size = c->sizes[i];
    int fd, rc = seg_open(c, base, &fd);
    if (rc) return rc;
    char tmp[NAME_LEN];
    cleaned_name(tmp, base);
    int out = openat(c->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    bool changed = false;
    int64_t written = 0;
    for (int64_t pos = 0; pos < size && !rc;) {
        if (atomic_load_explicit(&c->cancel, memory_order_relaxed)) {
            rc = SL_ERR_CLOSED;
            break;
        }
        int64_t n = batch_read(fd, pos, &c->in);
        if (n <= 0) {
            rc = n ? (int)n : 0;
            break;
        }
        pos += n;
        sl_buf_reset(&c->out);
        changed |= filter_batch(c, (size_t)n);
        if (c->out.len) rc = write_all(out, c->out.ptr, c->out.len);
        written += (int64_t)c->out.len;
    }
    close(fd);
    if (!rc && changed) rc = fdatasync(out) ? -errno : 0;
    close(out);
    c->st.bytes_after += changed && !rc ? written : size;
    if (rc || !changed) {
        unlinkat(c->dfd, tmp, 0);
        return rc;
    }
    c->cleaned[i] = true;
    return 0;
}

sl_compact_job *sl_compact_begin(sl_plog *l, const sl_compact_opts *o)
{
    enum { MAXSEG = 4096 };
    cleaner *c = sl_calloc(1, sizeof(*c));
    c->l = l;
    c->dfd = sl_plog_dir_fd(l);
    c->o = *o;
    c->st.next_tombstone_ms = INT64_MAX;
    c->bases = sl_malloc(MAXSEG * sizeof(int64_t));
    c->sizes = sl_malloc(MAXSEG * sizeof(int64_t));
    c->n = sl_plog_closed_segments(l, c->bases, c->sizes, MAXSEG);
    c->st.clean_end = c->n ? c->bases[c->n - 1] + 1 : -1;
    c->cleaned = sl_calloc(c->n ? c->n : 1, sizeof(bool));
    sl_plog_keep(l);
    return c;
}

int sl_compact_run(sl_compact_job *c)
{
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
        c->st.bytes_before += c->sizes[i];
        rc = map_segment(c, c->bases[i], c->sizes[i]);
    }
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = clean_segment(c, i);
    c->rc = rc;
    return rc;
}

void sl_compact_cancel(sl_compact_job *c)
{
    atomic_store(&c->cancel, true);
}

int sl_compact_swap_next(sl_compact_job *c)
{
    /* Oldest first, and none after a failure: a tombstone must never be swapped in while an
     * older value of its key could survive in a segment not yet swapped. */
    while (c->next < c->n && !c->cleaned[c->next])
        c->next++;
    if (c->rc || c->next == c->n) return c->rc;
    size_t i = c->next++;
    char tmp[NAME_LEN];
    cleaned_name(tmp, c->bases[i]);
    c->cleaned[i] = false;
    c->rc = sl_plog_segment_replace(c->l, c->bases[i], tmp);
    if (c->rc) {
        unlinkat(c->dfd, tmp, 0);
        return c->rc;
    }
    c->st.segments_rewritten++;
    while (c->next < c->n && !c->cleaned[c->next])
        c->next++;
    return c->next < c->n ? 1 : 0;
}

int sl_compact_end(sl_compact_job *c, sl_compact_stats *st)
{
    sl_plog *l = c->l;
    while (sl_compact_swap_next(c) > 0) {
    }
    int rc = c->rc;
    for (size_t i = 0; i < c->n; i++) { /* what a failure left unswapped */
        if (!c->cleaned[i]) continue;
        char tmp[NAME_LEN];
        cleaned_name(tmp, c->bases[i]);
        unlinkat(c->dfd, tmp, 0);
    }
    if (rc)
        SL_WARN("kafka", "%s: compaction stopped: %s", sl_plog_dir(l), sl_strerror(rc));
    else if (c->st.segments_rewritten)
        SL_INFO("kafka",
                "%s: compacted %" PRId64 " segment(s): %" PRId64 " -> %" PRId64 " bytes, %" PRId64
                " records removed",
                sl_plog_dir(l), c->st.segments_rewritten, c->st.bytes_before, c->st.bytes_after,
                c->st.records_removed);
    if (st) *st = c->st;
    sl_plog_release(l);
    kmap_free(&c->keys);
    kmap_free(&c->pids);
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    sl_buf_free(&c->recs);
    sl_free(c->bases);
    sl_free(c->sizes);
    sl_free(c->cleaned);
    sl_free(c);
    return rc;
}

int sl_compact_log(sl_plog *l, const sl_compact_opts *o, sl_compact_stats *st)
{
    sl_compact_job *c = sl_compact_begin(l, o);
    sl_compact_run(c);
    return sl_compact_end(c, st);
}
