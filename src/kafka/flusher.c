/* flusher.c: group commit. See flusher.h.
 *
 * Messages between the threads, all through two lists under f->mu:
 *   pending: loop thread (sl_flusher_request*) -> worker. The worker takes the whole list at
 *            once, so every request that arrived during a round joins the next one.
 *   done:    worker -> loop thread, announced by uv_async_send and by the flag has_done, which
 *            sl_flusher_poll reads without the lock; the loop runs the callbacks.
 * A request holds a reference on its log (sl_plog_keep) until its callback has run, so the loop
 * may close or destroy a log with requests in flight. */
#include "kafka/flusher.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct freq {
    struct freq *next;
    sl_plog *log; /* NULL for an fd request */
    int fd;
    int64_t need; /* the log's end offset when requested */
    sl_flusher_cb cb;
    void *arg;
    int rc;
} freq;

/* One log synced in the current round, for completing requests that arrived meanwhile. */
typedef struct synced_log {
    sl_plog *log;
    int64_t end;
} synced_log;

struct sl_flusher {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    freq *pending, **pending_tail;
    freq *done, **done_tail;
    atomic_bool has_done; /* done is not empty; written under mu */
    bool stop;
    sl_flusher_stats stats; /* under mu */
    /* Worker-only scratch. */
    freq **vec;
    size_t cvec;
    synced_log *synced;
    size_t csynced;
};

static int req_cmp(const void *a, const void *b)
{
    const freq *x = *(freq *const *)a, *y = *(freq *const *)b;
    if (x->log != y->log) return (uintptr_t)x->log < (uintptr_t)y->log ? -1 : 1;
    return (x->fd > y->fd) - (x->fd < y->fd);
}

static int synced_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const synced_log *)a)->log;
    uintptr_t y = (uintptr_t)((const synced_log *)b)->log;
    return (x > y) - (x < y);
}

/* One round: sync each distinct log or fd once and give its result to all its requests. */
static void worker_round(sl_flusher *f, freq *batch, size_t n)
{
    if (n > f->cvec) {
        f->cvec = n * 2;
        f->vec = sl_realloc(f->vec, f->cvec * sizeof(*f->vec));
        f->synced = sl_realloc(f->synced, f->cvec * sizeof(*f->synced));
    }
    size_t i = 0;
    for (freq *r = batch; r; r = r->next)
        f->vec[i++] = r;
    qsort(f->vec, n, sizeof(*f->vec), req_cmp);

    /* With several targets, start all their writeback first: the fdatasyncs that follow then
     * share one journal commit instead of paying one each (bench_plog, group commit). */
    size_t ntargets = 0;
    for (i = 0; i < n; i++)
        if (i == 0 || req_cmp(&f->vec[i - 1], &f->vec[i])) ntargets++;
    if (ntargets > 1)
        for (i = 0; i < n; i++) {
            if (i > 0 && !req_cmp(&f->vec[i - 1], &f->vec[i])) continue;
            if (f->vec[i]->log)
                sl_plog_sync_start(f->vec[i]->log);
            else
                sync_file_range(f->vec[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }

    size_t nsynced = 0;
    uint64_t syncs = 0, errors = 0;
    for (i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !req_cmp(&f->vec[i], &f->vec[j]))
            j++;
        int rc;
        if (f->vec[i]->log) {
            int64_t end = 0;
            rc = sl_plog_sync(f->vec[i]->log, &end);
            if (!rc) f->synced[nsynced++] = (synced_log){f->vec[i]->log, end};
        } else {
            rc = fdatasync(f->vec[i]->fd) ? -errno : 0;
            if (rc)
                SL_ERROR("kafka", "flusher: fdatasync fd %d: %s", f->vec[i]->fd, sl_strerror(rc));
        }
        syncs++;
        if (rc) errors++;
        for (; i < j; i++)
            f->vec[i]->rc = rc;
    }

    uv_mutex_lock(&f->mu);
    *f->done_tail = batch;
    while (*f->done_tail)
        f->done_tail = &(*f->done_tail)->next;
    atomic_store_explicit(&f->has_done, true, memory_order_release);
    /* Requests queued while we synced are done too if the sync covered their data. */
    if (nsynced) {
        for (freq **pp = &f->pending; *pp;) {
            freq *r = *pp;
            synced_log key = {r->log, 0}, *hit = NULL;
            if (r->log) hit = bsearch(&key, f->synced, nsynced, sizeof(key), synced_cmp);
            if (!hit || hit->end < r->need) {
                pp = &r->next;
                continue;
            }
            *pp = r->next;
            r->next = NULL;
            r->rc = 0;
            *f->done_tail = r;
            f->done_tail = &r->next;
            f->stats.early++;
        }
        f->pending_tail = &f->pending;
        while (*f->pending_tail)
            f->pending_tail = &(*f->pending_tail)->next;
    }
    f->stats.rounds++;
    f->stats.syncs += syncs;
    f->stats.errors += errors;
    uv_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
}

static void worker_main(void *arg)
{
    sl_flusher *f = arg;
    uv_mutex_lock(&f->mu);
    for (;;) {
        while (!f->pending && !f->stop)
            uv_cond_wait(&f->cond, &f->mu);
        if (!f->pending) break; /* stopping, and nothing left */
        freq *batch = f->pending;
        f->pending = NULL;
        f->pending_tail = &f->pending;
        uv_mutex_unlock(&f->mu);
        size_t n = 0;
        for (freq *r = batch; r; r = r->next)
            n++;
        worker_round(f, batch, n);
        uv_mutex_lock(&f->mu);
    }
    uv_mutex_unlock(&f->mu);
}

/* Runs the callbacks of completed requests on the loop thread. */
static void deliver(sl_flusher *f)
{
    uv_mutex_lock(&f->mu);
    freq *r = f->done;
    f->done = NULL;
    f->done_tail = &f->done;
    atomic_store_explicit(&f->has_done, false, memory_order_relaxed);
    uv_mutex_unlock(&f->mu);
    while (r) {
        freq *next = r->next;
        r->cb(r->arg, r->rc);
        if (r->log) sl_plog_release(r->log);
        sl_free(r);
        r = next;
    }
}

static void on_async(uv_async_t *h)
{
    deliver(h->data);
}

void sl_flusher_poll(sl_flusher *f)
{
    if (atomic_load_explicit(&f->has_done, memory_order_acquire)) deliver(f);
}

static void on_closed(uv_handle_t *h)
{
    sl_flusher *f = h->data;
    uv_mutex_destroy(&f->mu);
    uv_cond_destroy(&f->cond);
    sl_free(f->vec);
    sl_free(f->synced);
    sl_free(f);
}

int sl_flusher_start(uv_loop_t *loop, sl_flusher **out)
{
    sl_flusher *f = sl_calloc(1, sizeof(*f));
    f->loop = loop;
    f->pending_tail = &f->pending;
    f->done_tail = &f->done;
    uv_mutex_init(&f->mu);
    uv_cond_init(&f->cond);
    int rc = uv_async_init(loop, &f->async, on_async);
    if (rc) {
        uv_mutex_destroy(&f->mu);
        uv_cond_destroy(&f->cond);
        sl_free(f);
        return rc;
    }
    f->async.data = f;
    rc = uv_thread_create(&f->thread, worker_main, f);
    if (rc) {
        SL_ERROR("kafka", "flusher: thread: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)&f->async, on_closed); /* frees f once the loop runs */
        return rc;
    }
    *out = f;
    return 0;
}

static void enqueue(sl_flusher *f, freq *r)
{
    uv_mutex_lock(&f->mu);
    *f->pending_tail = r;
    f->pending_tail = &r->next;
    f->stats.requests++;
    uv_cond_signal(&f->cond);
    uv_mutex_unlock(&f->mu);
}

void sl_flusher_request(sl_flusher *f, sl_plog *l, sl_flusher_cb cb, void *arg)
{
    freq *r = sl_calloc(1, sizeof(*r));
    r->log = l;
    r->fd = -1;
    r->need = sl_plog_end_offset(l);
    r->cb = cb;
    r->arg = arg;
    sl_plog_keep(l);
    enqueue(f, r);
}

void sl_flusher_request_fd(sl_flusher *f, int fd, sl_flusher_cb cb, void *arg)
{
    freq *r = sl_calloc(1, sizeof(*r));
    r->fd = fd;
    r->cb = cb;
    r->arg = arg;
    enqueue(f, r);
}

void sl_flusher_stats_get(sl_flusher *f, sl_flusher_stats *out)
{
    uv_mutex_lock(&f->mu);
    *out = f->stats;
    uv_mutex_unlock(&f->mu);
}

void sl_flusher_stop(sl_flusher *f)
{
    if (!f) return;
    uv_mutex_lock(&f->mu);
    f->stop = true;
    uv_cond_signal(&f->cond);
    uv_mutex_unlock(&f->mu);
    uv_thread_join(&f->thread);
    /* A callback may have asked again; serve that here, blocking, as the worker is gone. */
    for (;;) {
        deliver(f);
        uv_mutex_lock(&f->mu);
        freq *batch = f->pending;
        f->pending = NULL;
        f->pending_tail = &f->pending;
        uv_mutex_unlock(&f->mu);
        if (!batch) break;
        size_t n = 0;
        for (freq *r = batch; r; r = r->next)
            n++;
        worker_round(f, batch, n);
    }
    uv_close((uv_handle_t *)&f->async, on_closed);
}
