/* compact.h: the log cleaner. Compaction of a partition log's closed segments (the active one
 * is never touched): of the records with the same key only the one with the highest offset is
 * kept, and a tombstone (null value) that is the latest of its key is removed once its
 * timestamp is older than delete_retention_ms. Offsets never change: a rewritten batch keeps
 * its base offset, last offset delta and producer fields, so gaps appear between and inside
 * batches, as in Kafka.
 *
 * Crash safety: each segment is rewritten beside the old one as NNN.log.cleaned, fdatasync()ed,
 * then renamed over it (sl_plog_segment_replace), oldest segment first, so a crash leaves every
 * segment either old or cleaned; cleaning segments oldest first means a tombstone is never
 * removed while an older value of its key could survive in a segment not yet renamed.
 *
 * Threads: the reading and writing (both passes, every NNN.log.cleaned and its fdatasync) is
 * sl_compact_run, which touches no state of the log and so runs on a worker thread; only the
 * snapshot of the closed segments (sl_compact_begin) and the swaps (sl_compact_end) run on the
 * log's loop thread. One job per log at a time; the log must not be destroyed while one runs. */
#ifndef SL_KAFKA_COMPACT_H
#define SL_KAFKA_COMPACT_H

#include "kafka/plog.h"

typedef struct sl_compact_opts {
    int64_t now_ms;
    int64_t delete_retention_ms; /* tombstones whose timestamp is older are removed */
} sl_compact_opts;

typedef struct sl_compact_stats {
    int64_t segments_rewritten;
    int64_t bytes_before, bytes_after; /* of the closed segments */
    int64_t records_kept, records_removed, tombstones_kept;
    int64_t next_tombstone_ms; /* when the first kept tombstone becomes removable; INT64_MAX */
    int64_t clean_end;         /* just past the newest segment considered; -1: none closed */
} sl_compact_stats;

typedef struct sl_compact_job sl_compact_job;

/* Loop thread: snapshots l's closed segments for a job and keeps l (sl_plog_keep) until end. */
sl_compact_job *sl_compact_begin(sl_plog *l, const sl_compact_opts *o);
/* Any thread: both passes over the snapshot, writing NNN.log.cleaned beside each segment that
 * changes. Returns 0 or a negative code (then end swaps nothing). */
int sl_compact_run(sl_compact_job *j);
/* Any thread: makes a running sl_compact_run stop at its next batch with SL_ERR_CLOSED (a
 * stopping broker does not wait for a whole compaction). */
void sl_compact_cancel(sl_compact_job *j);
/* Loop thread: swaps the next cleaned file in (sl_plog_segment_replace: a few fsyncs and an
 * index rebuild), so a caller can give its loop a turn between segments. Returns 1 when more
 * remain, 0 when none do, or the negative code of the run or of a failed swap (none follow). */
int sl_compact_swap_next(sl_compact_job *j);
/* Loop thread: swaps what remains of the cleaned files in, oldest first, stopping at the first
 * failure (the rest are deleted), logs the outcome, fills st (may be NULL), releases the log and
 * frees j. */
int sl_compact_end(sl_compact_job *j, sl_compact_stats *st);

/* begin, run and end in one call on the loop thread. Compacts the closed segments of l. Batches the
 * cleaner cannot read record by record (compressed, control) are kept whole and their records count
 * as present. Returns 0 or a negative code (a segment left as it was); stats are filled either way.
 */
int sl_compact_log(sl_plog *l, const sl_compact_opts *o, sl_compact_stats *st);

#endif
