/* window.h: windowed aggregations of `sluice process` (docs/transforms.md "Windows").
 *
 * Tumbling (hop = size) and hopping windows over event time (the Kafka record timestamp or a
 * timestamp expression), GROUP BY expressions, and count, sum, min, max, avg and count_distinct
 * (HyperLogLog, hll.h). The watermark is the largest event time seen minus the allowed
 * lateness; a window [start, start + size) closes once the watermark reaches its end, and a
 * record all of whose windows are closed is late. Lateness is decided by the watermark alone,
 * never by when rows happen to be written, so the same records in the same order give the same
 * aggregates however the stream is cut into batches (what crash recovery relies on).
 *
 * Results are rows keyed by (group values, window start): the windows updated since the last
 * write, with closed = false, and the windows that closed, with closed = true (then freed).
 * The state and the source offsets it covers are saved together in one file, replaced
 * atomically (write, fsync, rename, fsync of the directory). Used by one thread. */
#ifndef SL_PIPELINE_WINDOW_H
#define SL_PIPELINE_WINDOW_H

#include "core/buf.h"
#include "core/config.h"
#include "pipeline/expr.h"
#include "pipeline/sink.h"

typedef struct sl_window_spec sl_window_spec;
typedef struct sl_window sl_window;

/* Compiles a `window:` map against the row's columns cols (the schema's and the derived ones).
 * Every problem is added to errs with file:line. Returns 0 or SL_ERR_CONFIG (*out NULL). */
int sl_window_spec_from_yaml(const sl_yaml *y, const sl_sink_column *cols, size_t ncols,
                             sl_window_spec **out, sl_errs *errs);
void sl_window_spec_free(sl_window_spec *s);
/* The result table: KS.TABLE (cql) or [SCHEMA.]NAME (postgresql). */
const char *sl_window_spec_table(const sl_window_spec *s);
/* The result columns: key (text: the group values and the window start, the primary key), the
 * group columns, window_start, window_end, one column per aggregate, closed. */
const sl_sink_column *sl_window_spec_columns(const sl_window_spec *s, size_t *ncols);
/* The pipeline's sink URL with its table replaced by table (path of cql://, table= of
 * postgresql://); malloc'd. */
char *sl_window_sink_url(const char *sink, const char *table);

typedef enum {
    SL_WIN_OK,     /* aggregated (or late and counted): the record goes on to the sink */
    SL_WIN_REFUSE, /* missing_timestamp, late_record (late: dlq) or an expression error */
} sl_win_result;

typedef struct sl_window_stats {
    uint64_t late;              /* late records (counted or refused) */
    uint64_t missing_timestamp; /* records without an event time (refused) */
    uint64_t windows;           /* open windows held */
    uint64_t bytes;             /* memory held by them */
} sl_window_stats;

sl_window *sl_window_new(const sl_window_spec *spec);
void sl_window_free(sl_window *w);
/* Adds one row (the columns the spec was compiled against). kafka_ts is the record's
 * timestamp (-1 if none). On refusal *reason names why and detail says where. */
sl_win_result sl_window_add(sl_window *w, const sl_sink_value *row, const void *raw, size_t rawlen,
                            int64_t kafka_ts, sl_arena *scratch, const char **reason, char *detail,
                            size_t detaillen);
/* The rows to upsert now: updated windows and closed ones, at most 16384 closed ones (the
 * rest come in later calls); valid until sl_window_written. */
size_t sl_window_rows(sl_window *w, const sl_sink_value **rows);
/* After the rows were acknowledged: frees the closed windows, clears the updated marks. */
void sl_window_written(sl_window *w);
void sl_window_stats_get(sl_window *w, sl_window_stats *st);

/* A checkpoint of the state taken now and written later (sl_window_ckpt_write), so the state
 * can go on changing meanwhile. */
typedef struct sl_window_ckpt sl_window_ckpt;
/* Takes the checkpoint of the state with offs[0..noffs) (per partition, the next offset to
 * consume; -1 none): a delta of the windows changed since the last checkpoint, for path.log,
 * or, when that log would outgrow it, a whole snapshot to replace path (then an empty log).
 * Checkpoints are written in the order they were taken; the next is taken as if this one
 * were written. */
sl_window_ckpt *sl_window_checkpoint(sl_window *w, const char *path, const int64_t *offs,
                                     size_t noffs);
/* Writes c and syncs it (a delta at its place in the log, a snapshot atomically). Returns 0 or
 * <0 with a reason in err; a failed write may be retried, and must succeed before a later
 * checkpoint is written. */
int sl_window_ckpt_write(sl_window_ckpt *c, char *err, size_t errlen);
/* The bytes c writes. */
size_t sl_window_ckpt_bytes(const sl_window_ckpt *c);
void sl_window_ckpt_free(sl_window_ckpt *c);
/* sl_window_checkpoint and sl_window_ckpt_write in one: 0 or <0 with a reason in err (then the
 * next checkpoint is a whole snapshot, so nothing changed is left out). */
int sl_window_save(sl_window *w, const char *path, const int64_t *offs, size_t noffs, char *err,
                   size_t errlen);
/* Loads a state saved by sl_window_save into an empty w: the snapshot, then the log's whole
 * deltas; *offs (malloc'd) and *noffs get the last offsets. A missing file is SL_ERR_NOTFOUND; a
 * damaged one or one written for another spec fails with a reason. */
int sl_window_load(sl_window *w, const char *path, int64_t **offs, size_t *noffs, char *err,
                   size_t errlen);

#endif
