/* plog.h: a partition log. A directory of segments, each a log file of Kafka v2 record batches
 * stored as received (base offset rewritten), with a sparse offset index and a time index.
 *
 * Threading: every function except sl_plog_sync runs on the broker loop's thread. sl_plog_sync
 * may run on a flusher worker concurrently with appends and reads on the loop thread; whoever
 * hands a log to another thread holds a reference (sl_plog_keep) until that thread is done.
 *
 * Durability: a closed (rolled) segment was fdatasync()ed with its indexes when it rolled; the
 * active segment is durable up to the last sl_plog_sync. The log keeps a recovery point (the
 * position its last sync covered) so that recovery verifies only the active segment's tail; a
 * clean sl_plog_close makes that the whole file. */
#ifndef SL_KAFKA_PLOG_H
#define SL_KAFKA_PLOG_H

#include "core/buf.h"

typedef struct sl_plog sl_plog;

/* The budget of in-memory tails shared by a broker's logs (loop thread only). A log takes a
 * tail of `per_log` bytes (see sl_plog_copy_range) while `used` stays within `total`. */
typedef struct sl_plog_tail_pool {
    int64_t per_log;    /* bytes of one log's tail; 0 = no tails */
    int64_t total;      /* most bytes all tails may hold */
    int64_t used;       /* bytes the open logs' tails hold */
    uint64_t hit_bytes; /* record bytes fetches took from tails (sl_plog_copy_range) */
    uint64_t hits;      /* how many ranges */
} sl_plog_tail_pool;

typedef struct sl_plog_opts {
    int64_t segment_bytes;   /* roll when the active segment would exceed this (default 1 GiB) */
    int64_t segment_ms;      /* roll when a batch's max timestamp is this much newer than the
                                active segment's first batch (by wall clock when the segment has
                                no timestamps), as Kafka does (default 7 d); -1 = never */
    int64_t retention_ms;    /* delete closed segments whose newest record is older; -1 = never */
    int64_t retention_bytes; /* delete oldest closed segments while what remains is still at
                                least this large (Kafka's rule); -1 = never */
    int32_t index_interval;  /* bytes between sparse index entries (default 4096) */
    sl_plog_tail_pool *tail_pool; /* where the in-memory tail comes from; NULL = none. It must
                                     outlive the log */
    int64_t cache_keep;           /* sl_plog_sync drops the active segment's synced bytes older
                                     than its newest cache_keep from the page cache; 0 = never */
} sl_plog_opts;

/* Fills o with the defaults: 1 GiB segments, 7 days of segment age and retention, no byte
 * retention, an index entry every 4 KiB, and every other option off (no tail_pool). */
void sl_plog_opts_default(sl_plog_opts *o);

/* Opens (creating if needed) the log in dir. Recovery: the active segment's tail is checked
 * batch by batch (length and CRC32C); a torn or corrupt tail is truncated and its indexes are
 * rebuilt. Returns 0 or a negative code, with the reason logged naming the file. */
int sl_plog_open(const char *dir, const sl_plog_opts *opts, sl_plog **out);
/* Flushes the indexes, fdatasyncs the active segment and records a clean recovery point, then
 * drops the owner's reference. Pending syncs on other threads stay safe (they return 0). */
void sl_plog_close(sl_plog *l);
/* Closes the log and deletes its directory (DeleteTopics). A sync still pending on another
 * thread returns SL_ERR_CLOSED. */
int sl_plog_destroy(sl_plog *l);
/* sl_plog_destroy in two steps, so the slow one can run on a worker thread: abandon closes the
 * log as destroy does but leaves its files; sl_plog_remove_dir then deletes a log directory's
 * files and the directory itself (any thread, no open log on it; a missing one is fine). */
void sl_plog_abandon(sl_plog *l);
int sl_plog_remove_dir(const char *dir);
/* References for work on another thread (the flusher): the memory stays valid until the last
 * release, even after close or destroy. Loop thread only. */
void sl_plog_keep(sl_plog *l);
void sl_plog_release(sl_plog *l);
const char *sl_plog_dir(const sl_plog *l);
/* True when dir holds a partition log made by sl_plog_open (its recovery-point file), so that a
 * directory a log did not make is never taken for one and deleted. */
bool sl_plog_dir_is_log(const char *dir);

int64_t sl_plog_start_offset(const sl_plog *l); /* log start offset (earliest) */
int64_t sl_plog_end_offset(const sl_plog *l);   /* next offset to be assigned (high watermark) */
int64_t sl_plog_size_bytes(const sl_plog *l);

/* Appends one validated v2 batch (len bytes, CRC already checked by the caller). The base
 * offset field in batch is rewritten in place to the assigned offset, which is returned in
 * *base. The bytes reach the file with write(2) before this returns; durability needs
 * sl_plog_sync. Rolls segments by size and time. SL_ERR_INVAL for a malformed header; -errno
 * (e.g. -ENOSPC) when the write fails, with nothing of the batch left in the file, so a later
 * append succeeds once the cause is gone. After a failed fdatasync every append returns that
 * error until the log is reopened. */
int sl_plog_append(sl_plog *l, uint8_t *batch, size_t len, int64_t *base);
/* sl_plog_append for a batch whose surroundings the log may use: the memory from the start of
 * the 4 KiB-aligned page holding batch's first byte to the end of the one holding its last must
 * be writable (the bytes around the batch are restored before return). When batch's address modulo
 * 4 KiB equals sl_plog_direct_phase, the batch goes to the device with O_DIRECT, without a copy
 * into the page cache; otherwise, or where the file system refuses O_DIRECT, it is written as
 * sl_plog_append writes. */
int sl_plog_append_direct(sl_plog *l, uint8_t *batch, size_t len, int64_t *base);
/* Where the next append starts, modulo 4 KiB: the address phase a direct append needs. */
size_t sl_plog_direct_phase(const sl_plog *l);

/* Appends to out whole batches starting with the one containing offset, until adding the next
 * would exceed max_bytes or the segment ends (the next call continues in the next); the first batch
 * is always included whole, even if larger (as Kafka does, so consumers make progress). Returns 0
 * (possibly nothing appended at the end of the log), SL_ERR_NOTFOUND when offset is outside [start,
 * end], SL_ERR_CORRUPT when the batches on disk do not hold it, or -errno from pread. Sequential
 * readers cost one pread per call. */
int sl_plog_read(sl_plog *l, int64_t offset, size_t max_bytes, sl_buf *out);

/* What sl_plog_read would append, as a range of a segment file instead: *len bytes of *fd from
 * *pos (*len 0 at the end of the log), for sending with sendfile. The descriptor belongs to the
 * log and is valid only until the next call into it. Same return codes as sl_plog_read. */
int sl_plog_read_range(sl_plog *l, int64_t offset, size_t max_bytes, int *fd, int64_t *pos,
                       size_t *len);

/* The in-memory tail: a log that appends directly (which leaves the bytes out of the page
 * cache) and is read within tail_pool->per_log bytes of its end (sl_plog_read, or a miss here)
 * takes a ring of that size, filled by every append from then on and emptied at roll, and
 * gives it back once 4 times its size were copied in without a read using it. Reads of those
 * bytes (sl_plog_read, sl_plog_read_range's batch walk) come from it. A cache only: the file
 * stays the truth.
 * When [pos, pos + len) of fd, as sl_plog_read_range just gave them, are held in the tail,
 * appends them to out and returns 0; SL_ERR_NOTFOUND when not (send them from the file). */
int sl_plog_copy_range(sl_plog *l, int fd, int64_t pos, size_t len, sl_buf *out);
/* The file positions [*lo, *hi) of the active segment its tail holds (both 0 without one). */
void sl_plog_tail_span(const sl_plog *l, int64_t *lo, int64_t *hi);

/* The first offset with a timestamp >= ts (ListOffsets by time) and that record's timestamp;
 * *offset = -1 and *ts_out = -1 when there is none. Exact for uncompressed batches; for a
 * compressed one the batch's base offset (every record of it is returned to the consumer). */
int sl_plog_offset_for_time(sl_plog *l, int64_t ts, int64_t *offset, int64_t *ts_out);

/* fdatasync()s everything appended so far; returns the end offset it covers in *synced. Safe to
 * call from a worker thread while the loop thread appends (hold a reference). Never holds a
 * lock the loop needs while it waits for the disk. SL_ERR_CLOSED once destroyed. */
int sl_plog_sync(sl_plog *l, int64_t *synced);

/* Starts writeback of everything appended so far without waiting for it (sync_file_range), so
 * that a flusher about to sync several logs gets all their data moving before the first
 * fdatasync: on ext4 the later fdatasyncs then find their journal commit done. Same threading
 * as sl_plog_sync; durability still needs sl_plog_sync. */
void sl_plog_sync_start(sl_plog *l);

/* Applies time and size retention as of now_ms, deleting whole closed segments (never the
 * active one) from the oldest; the start offset moves up. Time is a segment's largest record
 * timestamp (its file's mtime when it has none). Returns 0, or -errno when a file could not
 * be deleted (the segment is dropped from the log all the same). */
int sl_plog_retain(sl_plog *l, int64_t now_ms);

/* Descriptors (at most max, into out) of log files that retention deleted or compaction
 * replaced, still open: the file's blocks are freed when the last one closes, which takes 100s
 * of ms for a big file on ext4, so the caller closes them on a worker thread. The log keeps at
 * most 16 (closing the oldest itself beyond) and closes what is left when it is freed. Loop
 * thread; the caller owns the descriptors returned. */
size_t sl_plog_take_dead_fds(sl_plog *l, int *out, size_t max);

/* Log compaction (compact.c). The closed segments' base offsets and sizes, oldest first (at
 * most max); returns how many. */
size_t sl_plog_closed_segments(const sl_plog *l, int64_t *bases, int64_t *sizes, size_t max);
/* The log directory's descriptor, for files made beside the segments. */
int sl_plog_dir_fd(const sl_plog *l);
/* Replaces the log file of closed segment base with cleaned, a file in the log's directory
 * already written and fdatasync()ed: removes the old indexes (dir fsync), renames cleaned over
 * the segment (dir fsync) and rebuilds the indexes. Batches keep their offsets; gaps between
 * them are allowed. A file named <20 digits>.log.cleaned left by a crash is deleted at open.
 * SL_AGAIN when a sync pins the segment, SL_ERR_NOTFOUND when it is not a closed segment. */
int sl_plog_segment_replace(sl_plog *l, int64_t base, const char *cleaned);

#endif
