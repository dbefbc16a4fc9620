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
 * Loop thread (the log's owner); the cleaner reads and writes segment files synchronously. */
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
} sl_compact_stats;

/* Compacts the closed segments of l. Batches the cleaner cannot read record by record
 * (compressed, control) are kept whole and their records count as present. Returns 0 or a
 * negative code (a segment left as it was); stats are filled either way. */
int sl_compact_log(sl_plog *l, const sl_compact_opts *o, sl_compact_stats *st);

#endif
