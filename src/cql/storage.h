/* storage.h: CQL rows on RocksDB.
 *
 * Every cell is one RocksDB key, ordered as Cassandra orders data: table, partition token,
 * partition key, then clustering values (DESC columns inverted), then the column. A cell holds
 * its write timestamp (µs), TTL and local expiry or deletion time, and its value or a tombstone.
 * Cells are written with RocksDB merges resolved by a last-write-wins operator (greater
 * timestamp; on a tie a tombstone, then the greater value), so writes never read first; reads
 * apply partition, range and row tombstones and TTL expiry. Counters are summed by the same
 * operator. Compaction (full compactions, run periodically and by sl_store_compact) drops
 * expired cells and tombstones past the table's gc_grace_seconds.
 *
 * Durability: sl_store_write applies a batch to the WAL and memtable without syncing.
 * sl_store_sync then asks for durability: in batch mode (Cassandra's commitlog_sync: batch) a
 * worker thread syncs the WAL once for all requests queued while the previous sync ran (group
 * commit) and the callbacks run on the loop thread; in periodic mode the WAL is synced on a
 * timer and the callback runs at once.
 *
 * Threading: the loop thread calls everything here; the sync worker (which in batch mode also
 * applies each loop iteration's writes to RocksDB) and RocksDB's own threads work behind it. */
#ifndef SL_CQL_STORAGE_H
#define SL_CQL_STORAGE_H

#include "cql/catalog.h"
#include <uv.h>

typedef struct sl_store sl_store;
typedef struct sl_store_batch sl_store_batch;
typedef struct sl_store_cursor sl_store_cursor;

typedef enum sl_store_sync_mode {
    SL_STORE_SYNC_BATCH,    /* sl_store_sync completes after a WAL sync covering the write */
    SL_STORE_SYNC_PERIODIC, /* sl_store_sync completes at once; the WAL is synced every period */
} sl_store_sync_mode;

typedef struct sl_store_opts {
    const char *dir; /* created if missing */
    sl_store_sync_mode sync_mode;
    int64_t sync_period_ms;            /* periodic mode; default 10000 */
    size_t block_cache_bytes;          /* default 64 MiB */
    size_t write_buffer_bytes;         /* per memtable; default 64 MiB */
    int64_t full_compaction_period_ms; /* purge expired data this often; 0 = only on request;
                                          default 6 h */
    /* Microseconds since the epoch for write timestamps, TTL expiry and gc grace; NULL for
     * the real clock. For tests. */
    int64_t (*clock_us)(void *arg);
    void *clock_arg;
} sl_store_opts;

void sl_store_opts_default(sl_store_opts *o);

/* Opens or creates the database under o->dir; the store runs its timers and completions on
 * loop. Returns 0 or a negative status with RocksDB's message in err. */
int sl_store_open(uv_loop_t *loop, const sl_store_opts *o, sl_store **out, sl_buf *err);
/* Completes pending sync requests (their callbacks run, with the final sync's result), stops
 * the worker and closes the database. s is freed once the loop has run its handles' close
 * callbacks, so the loop must run again before uv_loop_close. */
void sl_store_close(sl_store *s);

/* The store's clock: µs and seconds since the epoch. */
int64_t sl_store_now_us(const sl_store *s);
int32_t sl_store_now_s(const sl_store *s);

/* Writes. A batch collects the mutations of one statement (or one BATCH) and is applied
 * atomically by sl_store_write. Operations address the "current row" set by
 * sl_store_batch_row, and use its timestamp and TTL. Values are serialized CQL values already
 * validated against the column type; a NULL ptr is null. */
sl_store_batch *sl_store_batch_new(sl_store *s);
void sl_store_batch_free(sl_store_batch *b);
/* Empties b for reuse. */
void sl_store_batch_clear(sl_store_batch *b);
/* Number of mutations in b. */
size_t sl_store_batch_count(const sl_store_batch *b);

/* Sets the current row: pk has t->npk components, ck t->nck (fewer, down to 0, when only
 * static cells or the partition are addressed). ts in µs; ttl in seconds, 0 for none. t must
 * stay alive until the batch is written or cleared. */
void sl_store_batch_row(sl_store_batch *b, const sl_cql_table *t, const sl_slice *pk,
                        const sl_slice *ck, size_t nck, int64_t ts, int32_t ttl);
/* INSERT's row marker: the row exists (with ttl) even when all its cells are null. */
void sl_store_batch_marker(sl_store_batch *b);
/* Sets column col (regular or static) to v. A null v writes a tombstone. For a non-frozen
 * collection it replaces the whole collection (a collection tombstone at ts-1, then one cell
 * per element, as Cassandra does). */
void sl_store_batch_cell(sl_store_batch *b, const sl_cql_column *col, sl_slice v);
/* Non-frozen collections, blind: adds the elements of v (a serialized value of col's type):
 * set add, map put, list append (prepend when prepend is set, elements keyed by time uuids
 * as Cassandra does). */
void sl_store_batch_elems_add(sl_store_batch *b, const sl_cql_column *col, sl_slice v,
                              bool prepend);
/* Set remove / map key removal: keys is a serialized set (or list) of element keys. */
void sl_store_batch_elems_remove(sl_store_batch *b, const sl_cql_column *col, sl_slice keys);
/* map[key] = value (a null value removes the key). */
void sl_store_batch_map_put(sl_store_batch *b, const sl_cql_column *col, sl_slice key,
                            sl_slice value);
/* Lists by index and by value need the current elements: these read the current row (the
 * list as stored, not what b holds). list[idx] = v (null v deletes the element), and
 * DELETE list[idx]: SL_ERR_INVAL "List index 5 out of bound, list has size 2". */
int sl_store_batch_list_set(sl_store_batch *b, const sl_cql_column *col, int32_t idx, sl_slice v,
                            sl_buf *err);
/* list = list - [values]: removes every element equal to one of vals (a serialized list). */
int sl_store_batch_list_remove(sl_store_batch *b, const sl_cql_column *col, sl_slice vals,
                               sl_buf *err);
/* Counter column: adds delta (blind; the merge operator sums). */
void sl_store_batch_counter_add(sl_store_batch *b, const sl_cql_column *col, int64_t delta);
/* Deletes the current row (all clustering columns given): a row tombstone at ts. */
void sl_store_batch_row_delete(sl_store_batch *b);
/* Deletes the current partition (ck ignored): a partition tombstone at ts. */
void sl_store_batch_partition_delete(sl_store_batch *b);

/* A clustering bound: the first n clustering values (n == 0: unbounded). A prefix bound covers
 * every row starting with it; inclusive decides whether rows on the bound itself count.
 * Bounds are positions in the table's clustering order (the order a forward cursor returns),
 * so for a DESC column "c > 5" is an end bound and "c < 5" a start bound. */
typedef struct sl_store_bound {
    const sl_slice *ck;
    size_t n;
    bool inclusive;
} sl_store_bound;

/* Deletes rows of the current partition between start and end (a range tombstone at ts):
 * DELETE with a clustering prefix or slice. */
void sl_store_batch_range_delete(sl_store_batch *b, const sl_store_bound *start,
                                 const sl_store_bound *end);

/* Applies b atomically to the WAL (not synced) and memtables; b is cleared. Returns 0 or a
 * negative status with RocksDB's message in err. In batch mode the statements of one loop
 * iteration are applied together by the sync worker once it ends, or on the loop before the
 * next read (every read sees them); a failure there fails the sl_store_sync requests made
 * with that iteration. */
int sl_store_write(sl_store *s, sl_store_batch *b, sl_buf *err);

/* Called on the loop thread once everything written before the request is durable (rc 0) or
 * the WAL sync failed (rc < 0). */
typedef void (*sl_store_sync_cb)(void *arg, int rc);
/* Requests durability of every write so far. Batch mode: cb runs later on the loop thread,
 * after a group-commit sync. Periodic mode: cb runs before this returns. */
void sl_store_sync(sl_store *s, sl_store_sync_cb cb, void *arg);

typedef struct sl_store_stats {
    uint64_t sync_requests; /* sl_store_sync calls in batch mode */
    uint64_t syncs;         /* WAL syncs done (group commit: far fewer than requests) */
    uint64_t writes;        /* sl_store_write calls */
    uint64_t folds;         /* hot keys' operands folded into a value at write time */
} sl_store_stats;
void sl_store_stats_get(sl_store *s, sl_store_stats *out);

/* TRUNCATE: deletes all of t's data (a range deletion plus dropping whole files). */
int sl_store_truncate(sl_store *s, const sl_cql_table *t, sl_buf *err);
/* Runs a full compaction now (blocking; for tests and tools): expired cells, tombstones past
 * gc grace and the data of dropped tables and columns are purged. */
int sl_store_compact(sl_store *s, sl_buf *err);

/* Reads. A cursor yields live rows in clustering order (or reverse) with the values of every
 * column and per-cell write time and TTL. */
typedef struct sl_store_cell {
    sl_slice value;    /* NULL ptr: null. Non-frozen collections come assembled. */
    int64_t timestamp; /* write time in µs; INT64_MIN for null and key columns */
    int32_t ttl;       /* seconds left, 0 for none */
} sl_store_cell;

typedef struct sl_store_row {
    const sl_cql_table *table;
    int64_t token;
    sl_store_cell *cells; /* table->ncolumns, by sl_cql_column.index; key columns included */
    bool static_only;     /* a partition with live static cells and no live rows: the
                             clustering columns are null */
    sl_slice pos;         /* opaque position to resume after (sl_store_read.after) */
} sl_store_row;

typedef struct sl_store_read {
    /* One partition (t->npk components), or NULL to scan the token range
     * [token_min, token_max] in token order. */
    const sl_slice *pk;
    int64_t token_min;
    int64_t token_max;
    /* The clustering slice within each partition. */
    sl_store_bound start;
    sl_store_bound end;
    bool reverse;   /* descending clustering order; single partition reads only */
    sl_slice after; /* resume strictly after this sl_store_row.pos; empty: from the start */
    int32_t now_s;  /* the query's time for TTL expiry (sl_store_now_s) */
} sl_store_read;

/* Opens a cursor; t is kept until the cursor is closed. Returns 0 or a negative status. */
int sl_store_cursor_open(sl_store *s, const sl_cql_table *t, const sl_store_read *rd,
                         sl_store_cursor **out);
/* Advances: returns 1 with *row (valid until the next call), 0 at the end, or a negative
 * status (SL_ERR_CORRUPT for undecodable data). */
int sl_store_cursor_next(sl_store_cursor *c, const sl_store_row **row);
void sl_store_cursor_close(sl_store_cursor *c);

/* The catalog's key-value space (its own column family). */
int sl_store_meta_get(sl_store *s, sl_slice key, sl_buf *val);
/* Calls fn for every key starting with prefix, in order; stops early when fn returns nonzero
 * and returns that. */
int sl_store_meta_scan(sl_store *s, sl_slice prefix,
                       int (*fn)(void *arg, sl_slice key, sl_slice val), void *arg);
void sl_store_batch_meta_put(sl_store_batch *b, sl_slice key, sl_slice val);
void sl_store_batch_meta_delete(sl_store_batch *b, sl_slice key);
/* Deletes all data of the storage id (DROP TABLE, DROP KEYSPACE) in b. */
void sl_store_batch_drop_data(sl_store_batch *b, uint32_t storage_id);

#endif
