/* flusher.h: group commit for partition logs. One worker thread fdatasyncs logs on behalf of
 * the broker loop, folding every request that arrived while a sync was running into the next
 * one, so many acks=all producers across connections and partitions share each fsync.
 *
 * Threading: sl_flusher_request is called on the loop thread; the worker calls sl_plog_sync;
 * completion callbacks are delivered back on the loop thread through a uv_async. */
#ifndef SL_KAFKA_FLUSHER_H
#define SL_KAFKA_FLUSHER_H

#include "kafka/plog.h"
#include <uv.h>

typedef struct sl_flusher sl_flusher;

/* Called on the loop thread when the data appended to the log before the matching request is
 * durable (rc 0), or the sync failed (rc < 0, e.g. -EIO or -ENOSPC). */
typedef void (*sl_flusher_cb)(void *arg, int rc);

int sl_flusher_start(uv_loop_t *loop, sl_flusher **out);
/* Asks for l to be synced up to everything appended so far; cb(arg, rc) follows on the loop. */
void sl_flusher_request(sl_flusher *f, sl_plog *l, sl_flusher_cb cb, void *arg);
/* Like sl_flusher_request for an arbitrary file descriptor (e.g. the offsets log). */
void sl_flusher_request_fd(sl_flusher *f, int fd, sl_flusher_cb cb, void *arg);
/* Completes outstanding requests, joins the worker and frees f. Runs on the loop thread. */
void sl_flusher_stop(sl_flusher *f);

#endif
