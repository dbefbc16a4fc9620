/* flusher.h: group commit for partition logs. One worker thread fdatasyncs logs on behalf of
 * the broker loop, folding every request that arrived while a sync was running into the next
 * one, so many acks=all producers across connections and partitions share each fsync.
 *
 * Threading: sl_flusher_request is called on the loop thread; the worker calls sl_plog_sync;
 * completion callbacks are delivered back on the loop thread through a uv_async.
 *
 * Closing logs: a request keeps its log (sl_plog_keep) until its callback has run, so the loop
 * may sl_plog_close or sl_plog_destroy a log with requests pending. After a close they complete
 * with 0 (close syncs everything); after a destroy with SL_ERR_CLOSED unless their sync had
 * already finished. Either way the callback runs once: its arg must still be valid then. */
#ifndef SL_KAFKA_FLUSHER_H
#define SL_KAFKA_FLUSHER_H

#include "kafka/plog.h"
#include <uv.h>

typedef struct sl_flusher sl_flusher;

/* Called on the loop thread when the data appended to the log before the matching request is
 * durable (rc 0), or the sync failed (rc < 0, e.g. -EIO or -ENOSPC). */
typedef void (*sl_flusher_cb)(void *arg, int rc);

typedef struct sl_flusher_stats {
    uint64_t requests; /* requests received */
    uint64_t rounds;   /* worker rounds (each takes every request pending at its start) */
    uint64_t syncs;    /* logs or fds synced: one per distinct target per round */
    uint64_t early;    /* requests completed by the round running when they arrived, because
                          that round's sync already covered their data */
    uint64_t errors;   /* failed syncs */
} sl_flusher_stats;

/* Starts the worker thread; returns 0 or a negative libuv code. */
int sl_flusher_start(uv_loop_t *loop, sl_flusher **out);
/* Asks for l to be synced up to everything appended so far; cb(arg, rc) follows on the loop. */
void sl_flusher_request(sl_flusher *f, sl_plog *l, sl_flusher_cb cb, void *arg);
/* Like sl_flusher_request for an arbitrary file descriptor (e.g. the offsets log). Requests for
 * the same fd in one round share one fdatasync; the fd must stay open until cb has run. */
void sl_flusher_request_fd(sl_flusher *f, int fd, sl_flusher_cb cb, void *arg);
/* Runs the callbacks of requests already completed, if any, without waiting for the async
 * wake-up: the loop calls it between frames, since libuv reads a busy socket up to 32 times
 * before it looks at the async handle again. Cheap when nothing is done. Loop thread. */
void sl_flusher_poll(sl_flusher *f);
/* Counters since start (any thread). */
void sl_flusher_stats_get(sl_flusher *f, sl_flusher_stats *out);
/* Completes outstanding requests (running their callbacks, including requests those callbacks
 * make), joins the worker and closes the async handle; f is freed once the loop has run the
 * handle's close callback, so the loop must run again before uv_loop_close. Loop thread. */
void sl_flusher_stop(sl_flusher *f);

#endif
