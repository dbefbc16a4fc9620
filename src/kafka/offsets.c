/* offsets.c: committed offsets: validation, the append-only log DATA_DIR/__groups/offsets.log,
 * answering a commit only once it is fsynced, reload at start, expiry and compaction.
 *
 * File format: the 8-byte magic "SLOFFS01", then records
 *     u32 body_len | u32 crc32c(body) | body
 * where body is one of (strings are u16 length + bytes; a null string has length 0xFFFF)
 *     1 OFFSET  group, topic, i32 partition, i64 offset, i32 leader_epoch, i64 commit_ts,
 *               i64 expire_ts, metadata
 *     2 DELETE  group, topic, i32 partition          (an expired offset)
 *     3 GROUP   group, protocol_type (nullable), i32 generation, i64 empty_since (-1: active)
 * Reload replays records in order and stops at the first torn or CRC-bad one, as Kafka's log
 * recovery does. A rewrite (compaction) writes the live state to offsets.log.tmp, fsyncs it and
 * renames it over the log, so the file is always either the old or the new whole state. */
#include "kafka/group_int.h"

#include "core/crc32c.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAGIC     "SLOFFS01"
#define LOG_MAGIC_LEN 8
#define REC_HDR       8
#define REC_MAX       (1u << 20)
#define STR_NULL      0xFFFF

enum { REC_OFFSET = 1, REC_DELETE = 2, REC_GROUP = 3 };

/* One append to the log: a commit's records (rq set) or bookkeeping records (rq NULL), which
 * are not waited for and become durable with the next fsync. */
struct gc_write {
    gc_write *next;
    sl_group_coord *gc;
    sl_buf data;
    gc_group *g;
    gc_commit_req *rq;
    gc_commit_cb cb;
    void *arg;
    int64_t now;
};

/* A rewrite handed to libuv's threadpool: the loop thread fills snapshot and reads newfd/rc
 * after the work is done; the worker touches only this struct and the immutable paths. */
struct gc_compaction {
    sl_buf snapshot;
    const char *dir;
    const char *path;
    int newfd;
    int rc;
};

static void put_str(sl_buf *b, const void *p, size_t n)
{
    sl_buf_put_be16(b, (uint16_t)n);
    if (n) sl_buf_append(b, p, n);
}

static void put_cstr(sl_buf *b, const char *s)
{
    if (s)
        put_str(b, s, strlen(s));
    else
        sl_buf_put_be16(b, STR_NULL);
}

static size_t rec_begin(sl_buf *b, uint8_t type)
{
    size_t at = b->len;
    sl_buf_extend(b, REC_HDR);
    sl_buf_put_u8(b, type);
    return at;
}

/* Returns the record's total size. */
static uint32_t rec_end(sl_buf *b, size_t at)
{
    uint32_t len = (uint32_t)(b->len - at - REC_HDR);
    sl_put_be32(b->ptr + at, len);
    sl_put_be32(b->ptr + at + 4, sl_crc32c(0, b->ptr + at + REC_HDR, len));
    return len + REC_HDR;
}

static uint32_t rec_offset(sl_buf *b, const char *group, size_t group_len, sl_slice topic,
                           int32_t partition, int64_t offset, int32_t epoch, int64_t commit_ts,
                           int64_t expire_ts, sl_slice meta)
{
    size_t at = rec_begin(b, REC_OFFSET);
    put_str(b, group, group_len);
    put_str(b, topic.ptr, topic.len);
    sl_buf_put_be32(b, (uint32_t)partition);
    sl_buf_put_be64(b, (uint64_t)offset);
    sl_buf_put_be32(b, (uint32_t)epoch);
    sl_buf_put_be64(b, (uint64_t)commit_ts);
    sl_buf_put_be64(b, (uint64_t)expire_ts);
    put_str(b, meta.ptr, meta.len);
    return rec_end(b, at);
}

static void rec_delete(sl_buf *b, const gc_group *g, const gc_offset *o)
{
    size_t at = rec_begin(b, REC_DELETE);
    put_str(b, g->id, g->id_len);
    put_cstr(b, o->topic);
    sl_buf_put_be32(b, (uint32_t)o->partition);
    rec_end(b, at);
}

static void rec_group(sl_buf *b, const gc_group *g)
{
    size_t at = rec_begin(b, REC_GROUP);
    put_str(b, g->id, g->id_len);
    put_cstr(b, g->protocol_type);
    sl_buf_put_be32(b, (uint32_t)g->generation);
    sl_buf_put_be64(b, (uint64_t)(g->state == GC_EMPTY ? g->state_ts : -1));
    rec_end(b, at);
}

static uint64_t off_hash(const sl_group_coord *gc, sl_slice topic, int32_t partition)
{
    return sl__gc_hash(gc->seed ^ ((uint64_t)(uint32_t)partition * 0x9E3779B97F4A7C15ULL),
                       topic.ptr, topic.len);
}

static gc_offset *off_find(const gc_group *g, sl_slice topic, int32_t partition)
{
    uint64_t h = off_hash(g->gc, topic, partition);
    for (gc_node *n = sl__gc_map_chain(&g->offsets, h); n; n = n->next) {
        gc_offset *o = gc_container_of(n, gc_offset, node);
        if (n->hash == h && o->partition == partition && sl_slice_eq_str(topic, o->topic)) return o;
    }
    return NULL;
}

static void off_free(gc_offset *o)
{
    sl_free(o->topic);
    sl_free(o->metadata);
    sl_free(o);
}

/* Inserts or replaces; returns true when it replaced an entry. */
static bool off_put(gc_group *g, sl_slice topic, int32_t partition, int64_t offset, int32_t epoch,
                    sl_slice meta, int64_t commit_ts, int64_t expire_ts, uint32_t rec_len)
{
    sl_group_coord *gc = g->gc;
    gc_offset *o = off_find(g, topic, partition);
    bool replaced = o != NULL;
    if (o) {
        gc->live_bytes -= o->rec_len;
        sl_free(o->metadata);
    } else {
        o = sl_calloc(1, sizeof *o);
        o->topic = sl_slice_dup(topic);
        o->partition = partition;
        sl__gc_map_insert(&g->offsets, &o->node, off_hash(gc, topic, partition));
    }
    o->offset = offset;
    o->leader_epoch = epoch;
    o->metadata = sl_slice_dup(meta);
    o->commit_ts = commit_ts;
    o->expire_ts = expire_ts;
    o->rec_len = rec_len;
    gc->live_bytes += rec_len;
    return replaced;
}

static void off_del(gc_group *g, gc_offset *o)
{
    g->gc->live_bytes -= o->rec_len;
    sl__gc_map_remove(&g->offsets, &o->node);
    off_free(o);
}

void sl__gc_offsets_free(gc_group *g)
{
    GC_MAP_EACH(&g->offsets, n, nx)
    {
        off_free(gc_container_of(n, gc_offset, node));
    }
    sl__gc_map_free(&g->offsets);
}

const gc_offset *sl__gc_offset_lookup(sl_group_coord *gc, sl_slice group_id, sl_slice topic,
                                      int32_t partition)
{
    gc_group *g = sl__gc_group_find(gc, group_id);
    return g ? off_find(g, topic, partition) : NULL;
}

static int off_cmp(const void *a, const void *b)
{
    const gc_offset *x = *(const gc_offset *const *)a, *y = *(const gc_offset *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

gc_offset **sl__gc_offsets_sorted(gc_group *g, size_t *n)
{
    gc_offset **v = sl_calloc(g->offsets.count, sizeof *v);
    size_t i = 0;
    GC_MAP_EACH(&g->offsets, node, nx)
    {
        v[i++] = gc_container_of(node, gc_offset, node);
    }
    qsort(v, i, sizeof *v, off_cmp);
    *n = i;
    return v;
}

/* The whole live state, as a fresh log. */
static void snapshot(sl_group_coord *gc, sl_buf *b)
{
    sl_buf_append(b, LOG_MAGIC, LOG_MAGIC_LEN);
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        gc_group *g = gc_container_of(n, gc_group, node);
        if (!g->offsets.count) continue;
        if (g->protocol_type) rec_group(b, g);
        GC_MAP_EACH(&g->offsets, on, onx)
        {
            gc_offset *o = gc_container_of(on, gc_offset, node);
            rec_offset(b, g->id, g->id_len, SL_SLICE_STR(o->topic), o->partition, o->offset,
                       o->leader_epoch, o->commit_ts, o->expire_ts, SL_SLICE_STR(o->metadata));
        }
    }
}

static int write_all(int fd, const uint8_t *p, size_t n, size_t *done)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            *done = off;
            return -errno;
        }
        off += (size_t)w;
    }
    *done = off;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Replaces path with data atomically. Runs on a worker (compaction) or at open. *fd_out gets
 * an O_APPEND descriptor of the new file once the rename happened, even if the directory
 * fsync then failed (rc < 0): the name already points at it. */
static int write_file(const char *dir, const char *path, const sl_buf *data, int *fd_out)
{
    char tmp[PATH_MAX];
    *fd_out = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -ENAMETOOLONG;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    size_t done;
    int rc = write_all(fd, data->ptr, data->len, &done);
    if (!rc && fdatasync(fd) < 0) rc = -errno;
    if (!rc && rename(tmp, path) < 0) rc = -errno;
    if (rc) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    *fd_out = fd;
    return fsync_dir(dir);
}

static void write_free(gc_write *w)
{
    sl_buf_free(&w->data);
    sl_free(w);
}

static void fail_parts(gc_commit_req *rq, int16_t err)
{
    for (size_t i = 0; i < rq->nparts; i++)
        if (!rq->parts[i].error) rq->parts[i].error = err;
}

/* Answers a commit whose records are durable (rc 0) or not (rc < 0), and frees w. */
static void commit_done(gc_write *w, int rc)
{
    sl_group_coord *gc = w->gc;
    gc_commit_req *rq = w->rq;
    if (rc < 0) {
        /* A storage failure: the client asks again for the coordinator and retries. */
        fail_parts(rq, KAFKA_ERR_NOT_COORDINATOR);
    } else if (!gc->closing) {
        for (size_t i = 0; i < rq->nparts; i++) {
            gc_commit_part *p = &rq->parts[i];
            if (p->error) continue;
            int64_t expire = rq->retention_ms >= 0 ? w->now + rq->retention_ms : -1;
            sl_buf tmp = SL_BUF_INIT;
            uint32_t len =
                rec_offset(&tmp, w->g->id, w->g->id_len, p->topic, p->partition, p->offset,
                           p->leader_epoch, p->commit_ts, expire, p->metadata);
            sl_buf_free(&tmp);
            off_put(w->g, p->topic, p->partition, p->offset, p->leader_epoch, p->metadata,
                    p->commit_ts, expire, len);
        }
    }
    if (!gc->closing) w->g->inflight--;
    w->cb(w->arg, rq);
    write_free(w);
}

static void maybe_start_compaction(sl_group_coord *gc);

/* Called on the loop thread by the flusher once the records are on disk (or not). */
static void on_flushed(void *arg, int rc)
{
    gc_write *w = arg;
    sl_group_coord *gc = w->gc;
    gc->inflight--;
    if (rc < 0) {
        SL_ERROR(GC_LOG_TAG, "%s: fsync failed: %s; rewriting it before the next commit",
                 gc->log_path, sl_strerror(rc));
        gc->log_broken = true;
    }
    commit_done(w, rc);
    if (gc->stopping)
        sl__gc_maybe_free(gc);
    else if (gc->log_state == GC_LOG_DRAINING)
        maybe_start_compaction(gc);
    else
        sl__gc_log_maybe_compact(gc, false);
}

static int log_append(sl_group_coord *gc, const sl_buf *b)
{
    size_t done;
    int rc = write_all(gc->fd, b->ptr, b->len, &done);
    if (!rc) {
        gc->log_bytes += b->len;
        return 0;
    }
    SL_ERROR(GC_LOG_TAG, "%s: append failed: %s", gc->log_path, sl_strerror(rc));
    /* A partial record would hide every later one at reload: cut it off, or rewrite. */
    if (done && ftruncate(gc->fd, (off_t)gc->log_bytes) < 0) gc->log_broken = true;
    return rc;
}

static void log_write(sl_group_coord *gc, gc_write *w)
{
    int rc = log_append(gc, &w->data);
    if (!w->rq) {
        write_free(w);
        return;
    }
    if (rc < 0 || !gc->opts.fsync) {
        commit_done(w, rc);
        return;
    }
    gc->inflight++;
    sl_flusher_request_fd(gc->flusher, gc->fd, on_flushed, w);
}

static void log_submit(sl_group_coord *gc, gc_write *w)
{
    if (gc->log_broken) sl__gc_log_maybe_compact(gc, true);
    if (gc->log_state != GC_LOG_IDLE) {
        w->next = NULL;
        *gc->queue_tail = w;
        gc->queue_tail = &w->next;
        return;
    }
    log_write(gc, w);
}

/* Writes (or, when the log cannot be trusted, fails) the appends held during a compaction. */
static void flush_queue(sl_group_coord *gc, bool fail)
{
    gc_write *w = gc->queue;
    gc->queue = NULL;
    gc->queue_tail = &gc->queue;
    while (w) {
        gc_write *next = w->next;
        if (!fail) {
            log_write(gc, w);
        } else if (w->rq) {
            commit_done(w, -EIO);
        } else {
            write_free(w);
        }
        w = next;
    }
}

static void compact_work(uv_work_t *req)
{
    struct gc_compaction *c = req->data;
    c->rc = write_file(c->dir, c->path, &c->snapshot, &c->newfd);
}

static void compact_done(uv_work_t *req, int status)
{
    struct gc_compaction *c = req->data;
    sl_group_coord *gc = gc_container_of(req, sl_group_coord, compact_work);
    (void)status;
    gc->compaction = NULL;
    gc->log_state = GC_LOG_IDLE;
    if (c->newfd >= 0) {
        close(gc->fd);
        gc->fd = c->newfd;
        gc->log_bytes = c->snapshot.len;
        gc->stats.compactions++;
        gc->log_broken = c->rc < 0;
        SL_DEBUG(GC_LOG_TAG, "%s compacted to %zu bytes", gc->log_path, c->snapshot.len);
    }
    if (c->rc < 0)
        SL_ERROR(GC_LOG_TAG, "rewriting %s failed: %s", gc->log_path, sl_strerror(c->rc));
    sl_buf_free(&c->snapshot);
    sl_free(c);
    flush_queue(gc, gc->stopping || gc->log_broken);
    sl__gc_maybe_free(gc);
}

static void maybe_start_compaction(sl_group_coord *gc)
{
    if (gc->log_state != GC_LOG_DRAINING || gc->inflight) return;
    struct gc_compaction *c = sl_calloc(1, sizeof *c);
    snapshot(gc, &c->snapshot);
    c->dir = gc->dir;
    c->path = gc->log_path;
    c->newfd = -1;
    gc->compaction = c;
    gc->log_state = GC_LOG_COMPACTING;
    gc->compact_work.data = c;
    uv_queue_work(gc->loop, &gc->compact_work, compact_work, compact_done);
}

void sl__gc_log_maybe_compact(sl_group_coord *gc, bool force)
{
    if (gc->stopping || gc->log_state != GC_LOG_IDLE) return;
    if (!force && gc->log_bytes <= 2 * gc->live_bytes + gc->compact_min) return;
    /* Appends that arrive from now on wait until the rewrite is done, and the rewrite waits
     * for the fsyncs in flight, so no acknowledged record can miss the new file. */
    gc->log_state = GC_LOG_DRAINING;
    maybe_start_compaction(gc);
}

void sl__gc_commit(sl_group_coord *gc, gc_commit_req *rq, gc_commit_cb cb, void *arg)
{
    int16_t err = KAFKA_ERR_NONE;
    gc_group *g = NULL;
    if (gc->stopping) {
        err = KAFKA_ERR_NOT_COORDINATOR;
    } else if (!(g = sl__gc_group_find(gc, rq->group_id))) {
        /* No group: only a commit outside group management (generation -1) creates one. */
        if (rq->generation < 0)
            g = sl__gc_group_get(gc, rq->group_id);
        else
            err = KAFKA_ERR_ILLEGAL_GENERATION;
    }
    if (g && !(rq->generation < 0 && g->state == GC_EMPTY)) {
        gc_member *m = sl__gc_member_find(g, rq->member_id);
        if (!m)
            err = KAFKA_ERR_UNKNOWN_MEMBER_ID;
        else if (rq->generation != g->generation)
            err = KAFKA_ERR_ILLEGAL_GENERATION;
        else if (g->state == GC_COMPLETING)
            /* The member has its join response but not yet its assignment. */
            err = KAFKA_ERR_REBALANCE_IN_PROGRESS;
        else
            sl__gc_member_touch(m); /* Stable, or PreparingRebalance as Kafka allows */
    }
    if (err) {
        fail_parts(rq, err);
        cb(arg, rq);
        return;
    }
    gc_write *w = sl_calloc(1, sizeof *w);
    w->gc = gc;
    w->now = sl_now_ms();
    size_t stored = 0;
    for (size_t i = 0; i < rq->nparts; i++) {
        gc_commit_part *p = &rq->parts[i];
        if (p->error) continue;
        if (p->metadata.len > (size_t)gc->opts.max_metadata_bytes) {
            p->error = KAFKA_ERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        if (p->commit_ts == -1) p->commit_ts = w->now;
        int64_t expire = rq->retention_ms >= 0 ? w->now + rq->retention_ms : -1;
        rec_offset(&w->data, g->id, g->id_len, p->topic, p->partition, p->offset, p->leader_epoch,
                   p->commit_ts, expire, p->metadata);
        stored++;
    }
    if (!stored) {
        write_free(w);
        cb(arg, rq);
        return;
    }
    w->g = g;
    w->rq = rq;
    w->cb = cb;
    w->arg = arg;
    g->inflight++;
    gc->stats.commits++;
    gc->stats.offsets_stored += stored;
    log_submit(gc, w);
}

void sl__gc_log_group(sl_group_coord *gc, gc_group *g)
{
    if (gc->stopping || gc->fd < 0) return;
    gc_write *w = sl_calloc(1, sizeof *w);
    w->gc = gc;
    rec_group(&w->data, g);
    log_submit(gc, w);
}

/* Kafka's rule (GroupMetadata.removeExpiredOffsets): offsets of a consumer group expire
 * retention after it became Empty, those of a group that only stores offsets retention after
 * their commit, and never while a group has members. An OffsetCommit v2-4 retention overrides
 * the period. Offsets with a commit in flight are left alone. */
static size_t expire_offsets(sl_group_coord *gc, int64_t now, sl_buf *tombstones)
{
    size_t n = 0;
    GC_MAP_EACH(&gc->groups, gn, gnx)
    {
        gc_group *g = gc_container_of(gn, gc_group, node);
        bool simple = !g->protocol_type;
        if (g->inflight || (!simple && g->state != GC_EMPTY)) continue;
        GC_MAP_EACH(&g->offsets, on, onx)
        {
            gc_offset *o = gc_container_of(on, gc_offset, node);
            bool expired;
            if (o->expire_ts >= 0)
                expired = now >= o->expire_ts;
            else
                expired =
                    now - (simple ? o->commit_ts : g->state_ts) >= gc->opts.offsets_retention_ms;
            if (!expired) continue;
            SL_DEBUG(GC_LOG_TAG, "group %s: offset of %s-%d expired", g->id, o->topic,
                     o->partition);
            if (tombstones) rec_delete(tombstones, g, o);
            off_del(g, o);
            n++;
        }
    }
    gc->stats.offsets_expired += n;
    return n;
}

static void reap_groups(sl_group_coord *gc)
{
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        sl__gc_group_reap(gc_container_of(n, gc_group, node));
    }
}

void sl__gc_expire(sl_group_coord *gc, int64_t now_ms)
{
    if (gc->stopping) return;
    gc_write *w = sl_calloc(1, sizeof *w);
    w->gc = gc;
    size_t n = expire_offsets(gc, now_ms, &w->data);
    if (n) {
        SL_INFO(GC_LOG_TAG, "expired %zu committed offset(s)", n);
        log_submit(gc, w);
    } else {
        write_free(w);
    }
    reap_groups(gc);
    sl__gc_log_maybe_compact(gc, false);
}

static int rd_str(sl_rd *r, sl_slice *s, bool nullable)
{
    uint16_t len;
    if (sl_rd_be16(r, &len)) return SL_ERR_PARSE;
    if (len == STR_NULL) {
        if (!nullable) return sl_rd_fail(r);
        *s = SL_SLICE_NULL;
        return 0;
    }
    return sl_rd_bytes(r, len, s);
}

/* Applies one record read at open. */
static int load_record(sl_group_coord *gc, const uint8_t *body, uint32_t len)
{
    sl_rd r;
    sl_rd_init(&r, body, len);
    sl_slice group, topic, meta, ptype;
    int32_t partition = 0, epoch = 0, generation = 0;
    int64_t offset = 0, commit_ts = 0, expire_ts = 0, empty_since = 0;
    uint8_t type = 0;
    sl_rd_u8(&r, &type);
    rd_str(&r, &group, false);
    switch (type) {
    case REC_OFFSET:
        rd_str(&r, &topic, false);
        sl_rd_i32(&r, &partition);
        sl_rd_i64(&r, &offset);
        sl_rd_i32(&r, &epoch);
        sl_rd_i64(&r, &commit_ts);
        sl_rd_i64(&r, &expire_ts);
        rd_str(&r, &meta, false);
        if (r.err || sl_rd_left(&r)) return SL_ERR_CORRUPT;
        off_put(sl__gc_group_get(gc, group), topic, partition, offset, epoch, meta, commit_ts,
                expire_ts, len + REC_HDR);
        return 0;
    case REC_DELETE: {
        rd_str(&r, &topic, false);
        sl_rd_i32(&r, &partition);
        if (r.err || sl_rd_left(&r)) return SL_ERR_CORRUPT;
        gc_group *g = sl__gc_group_find(gc, group);
        gc_offset *o = g ? off_find(g, topic, partition) : NULL;
        if (o) off_del(g, o);
        return 0;
    }
    case REC_GROUP: {
        rd_str(&r, &ptype, true);
        sl_rd_i32(&r, &generation);
        sl_rd_i64(&r, &empty_since);
        if (r.err || sl_rd_left(&r)) return SL_ERR_CORRUPT;
        gc_group *g = sl__gc_group_get(gc, group);
        sl_free(g->protocol_type);
        g->protocol_type = ptype.ptr ? sl_slice_dup(ptype) : NULL;
        g->generation = generation;
        /* A group that had members when the broker stopped is Empty from now on. */
        g->state_ts = empty_since >= 0 ? empty_since : sl_now_ms();
        return 0;
    }
    default: return SL_ERR_CORRUPT;
    }
}

static int read_file(int fd, sl_buf *out)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    size_t size = (size_t)st.st_size;
    sl_buf_reserve(out, size);
    while (out->len < size) {
        ssize_t n = pread(fd, out->ptr + out->len, size - out->len, (off_t)out->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        out->len += (size_t)n;
    }
    return 0;
}

static char *path_join(const char *a, const char *b)
{
    sl_buf p = SL_BUF_INIT;
    sl_buf_printf(&p, "%s/%s", a, b);
    char *s = sl_strdup(sl_buf_cstr(&p));
    sl_buf_free(&p);
    return s;
}

static int mkdir_one(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        int rc = -errno;
        SL_ERROR(GC_LOG_TAG, "cannot create %s: %s", path, sl_strerror(rc));
        return rc;
    }
    return 0;
}

int sl__gc_log_open(sl_group_coord *gc)
{
    gc->dir = path_join(gc->data_dir, "__groups");
    gc->log_path = path_join(gc->dir, "offsets.log");
    int rc = mkdir_one(gc->data_dir);
    if (!rc) rc = mkdir_one(gc->dir);
    if (rc) return rc;
    int fd = open(gc->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        SL_ERROR(GC_LOG_TAG, "cannot open %s: %s", gc->log_path, sl_strerror(rc));
        return rc;
    }
    gc->fd = fd;
    sl_buf data = SL_BUF_INIT;
    rc = read_file(fd, &data);
    if (rc) {
        SL_ERROR(GC_LOG_TAG, "cannot read %s: %s", gc->log_path, sl_strerror(rc));
        sl_buf_free(&data);
        return rc;
    }
    bool rewrite = false;
    size_t pos = LOG_MAGIC_LEN, records = 0;
    if (data.len < LOG_MAGIC_LEN) {
        /* A new file, or one whose very first write was torn. */
        if (data.len && memcmp(data.ptr, LOG_MAGIC, data.len)) goto not_ours;
        rewrite = true;
        pos = data.len;
    } else if (memcmp(data.ptr, LOG_MAGIC, LOG_MAGIC_LEN)) {
        goto not_ours;
    }
    while (data.len - pos >= REC_HDR) {
        uint32_t len = sl_get_be32(data.ptr + pos), crc = sl_get_be32(data.ptr + pos + 4);
        const uint8_t *body = data.ptr + pos + REC_HDR;
        if (!len || len > REC_MAX || data.len - pos - REC_HDR < len) break;
        if (sl_crc32c(0, body, len) != crc || load_record(gc, body, len) < 0) break;
        pos += REC_HDR + len;
        records++;
    }
    if (pos < data.len) {
        SL_WARN(GC_LOG_TAG, "%s: dropping %zu bytes of torn or corrupt records at offset %zu",
                gc->log_path, data.len - pos, pos);
        rewrite = true;
    }
    gc->log_bytes = data.len;
    sl_buf_free(&data);

    reap_groups(gc);
    if (expire_offsets(gc, sl_now_ms(), NULL)) reap_groups(gc);
    size_t live = 0, offsets = 0;
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        gc_group *g = gc_container_of(n, gc_group, node);
        offsets += g->offsets.count;
        live += g->offsets.count + (g->protocol_type ? 1 : 0);
    }
    if (records != live) rewrite = true;
    if (rewrite) {
        sl_buf snap = SL_BUF_INIT;
        snapshot(gc, &snap);
        int newfd;
        rc = write_file(gc->dir, gc->log_path, &snap, &newfd);
        if (newfd >= 0) {
            close(gc->fd);
            gc->fd = newfd;
            gc->log_bytes = snap.len;
            gc->stats.compactions++;
        }
        sl_buf_free(&snap);
        if (rc < 0) {
            SL_ERROR(GC_LOG_TAG, "cannot rewrite %s: %s", gc->log_path, sl_strerror(rc));
            return rc;
        }
    }
    SL_INFO(GC_LOG_TAG, "%s: %zu committed offset(s) of %zu group(s), %" PRIu64 " bytes",
            gc->log_path, offsets, gc->groups.count, gc->log_bytes);
    return 0;

not_ours:
    SL_ERROR(GC_LOG_TAG,
             "%s is not a sluice offsets log (bad header); move it away to start afresh",
             gc->log_path);
    sl_buf_free(&data);
    return SL_ERR_CORRUPT;
}

void sl__gc_log_stop(sl_group_coord *gc)
{
    flush_queue(gc, true);
    if (gc->log_state == GC_LOG_DRAINING) gc->log_state = GC_LOG_IDLE;
}
