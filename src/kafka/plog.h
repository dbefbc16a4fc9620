/* plog.h: a partition log. A directory of segments, each a log file of Kafka v2 record batches
 * stored as received (base offset rewritten), with a sparse offset index and a time index.
 *
 * Threading: every function except sl_plog_sync runs on the broker loop's thread. sl_plog_sync
 * may run on a flusher worker concurrently with appends and reads on the loop thread. */
#ifndef SL_KAFKA_PLOG_H
#define SL_KAFKA_PLOG_H

#include "core/buf.h"

typedef struct sl_plog sl_plog;

typedef struct sl_plog_opts {
    int64_t segment_bytes;   /* roll when the active segment would exceed this (default 1 GiB) */
    int64_t segment_ms;      /* roll when the active segment is older than this (default 7 d) */
    int64_t retention_ms;    /* delete closed segments whose newest record is older; -1 = never */
    int64_t retention_bytes; /* delete oldest closed segments while the log is larger; -1 = never */
    int32_t index_interval;  /* bytes between sparse index entries (default 4096) */
} sl_plog_opts;

void sl_plog_opts_default(sl_plog_opts *o);

/* Opens (creating if needed) the log in dir. Recovery: the active segment's tail is checked
 * batch by batch (length and CRC32C); a torn or corrupt tail is truncated and its indexes are
 * rebuilt. Returns 0 or a negative code, with the reason logged naming the file. */
int sl_plog_open(const char *dir, const sl_plog_opts *opts, sl_plog **out);
void sl_plog_close(sl_plog *l);
/* Closes the log and deletes its directory (DeleteTopics). */
int sl_plog_destroy(sl_plog *l);

int64_t sl_plog_start_offset(const sl_plog *l); /* log start offset (earliest) */
int64_t sl_plog_end_offset(const sl_plog *l);   /* next offset to be assigned (high watermark) */
int64_t sl_plog_size_bytes(const sl_plog *l);

/* Appends one validated v2 batch (len bytes, CRC already checked by the caller). The base
 * offset field in batch is rewritten in place to the assigned offset, which is returned in
 * *base. The bytes reach the file with write(2) before this returns; durability needs
 * sl_plog_sync. Rolls segments by size and time. */
int sl_plog_append(sl_plog *l, uint8_t *batch, size_t len, int64_t *base);

/* Appends to out whole batches starting with the one containing offset, until adding the next
 * would exceed max_bytes; the first batch is always included whole, even if larger (as Kafka
 * does, so consumers make progress). Returns 0 (possibly nothing appended at the end of the
 * log), or SL_ERR_NOTFOUND when offset is outside [start, end]. */
int sl_plog_read(sl_plog *l, int64_t offset, size_t max_bytes, sl_buf *out);

/* The first offset whose batch max timestamp is >= ts (ListOffsets by time); *offset = -1 and
 * *ts_out = -1 when there is none. */
int sl_plog_offset_for_time(sl_plog *l, int64_t ts, int64_t *offset, int64_t *ts_out);

/* fdatasync()s everything appended so far; returns the end offset it covers in *synced. Safe to
 * call from a worker thread while the loop thread appends. */
int sl_plog_sync(sl_plog *l, int64_t *synced);

/* Applies time and size retention as of now_ms, deleting whole closed segments. */
int sl_plog_retain(sl_plog *l, int64_t now_ms);

#endif
