/* meta.h: the scheduler's metadata store: SQLite (WAL mode) or PostgreSQL (libpq) behind one
 * small SQL interface, with a versioned schema migrated on open.
 *
 * Statements are written once for both engines: parameters are $1..$n (rewritten to ?n for
 * SQLite), values travel as text, and "FOR UPDATE SKIP LOCKED" is appended only on PostgreSQL
 * through sl_meta_lock_clause. The tables (docs/scheduler.md "Metadata"):
 *   sl_schema(version)
 *   dag(dag_id, is_paused, next_interval_ms)
 *   dag_run(dag_id, run_id, run_type, state, logical_ms, interval_start_ms, interval_end_ms, conf,
 *           queued_ms, start_ms, end_ms)
 *   task_instance(dag_id, run_id, task_id, state, try_number, max_tries, pool, next_try_ms,
 *                 start_ms, end_ms, scheduler_id, hostname, pid)
 *   task_try(dag_id, run_id, task_id, try_number, state, start_ms, end_ms, scheduler_id,
 *            hostname, pid, log_path)
 *   scheduler_job(id, hostname, pid, state, start_ms, heartbeat_ms)
 *   pool(name, slots)
 * Times are epoch milliseconds. Not thread-safe: one connection, one thread. */
#ifndef SL_SCHEDULER_META_H
#define SL_SCHEDULER_META_H

#include "core/sl.h"

#include <uv.h>

typedef struct sl_meta sl_meta;

/* Rows of a result, every cell text (NULL for SQL NULL). */
typedef struct sl_meta_rows {
    size_t nrows, ncols;
    char **cells; /* nrows * ncols, row-major */
} sl_meta_rows;

/* The newest schema version; sl_meta_open migrates to it. */
#define SL_META_SCHEMA_VERSION 3

/* Opens "sqlite:PATH" or "postgresql://..." (also "postgres://") and migrates its schema to
 * SL_META_SCHEMA_VERSION. On failure writes a reason (never the password) into err and returns
 * SL_ERR_CONFIG (bad URL) or SL_ERR_CLOSED (cannot connect or migrate). */
int sl_meta_open(const char *url, sl_meta **out, char *err, size_t errlen);
/* The same, migrating only up to version (tests of the migrations). */
int sl_meta_open_version(const char *url, int version, sl_meta **out, char *err, size_t errlen);
void sl_meta_close(sl_meta *m);

/* True for PostgreSQL. */
bool sl_meta_is_pg(const sl_meta *m);
/* The schema version the store is at. */
int sl_meta_version(sl_meta *m);
/* " FOR UPDATE SKIP LOCKED" on PostgreSQL, "" on SQLite (whose write transactions are already
 * exclusive). */
const char *sl_meta_lock_clause(const sl_meta *m);
/* The URL with any password replaced by "***", for logs: a per-thread buffer, valid until the
 * same thread calls again. */
const char *sl_meta_url_redacted(const char *url);

/* Starts a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN). */
int sl_meta_begin(sl_meta *m);
int sl_meta_commit(sl_meta *m);
/* Rolls back; harmless when no transaction is open. */
void sl_meta_rollback(sl_meta *m);

/* Runs one statement with n text parameters ($1..$n; NULL binds SQL NULL). rows may be NULL;
 * otherwise it receives the result (free with sl_meta_rows_free). Returns 0 or SL_ERR_CLOSED,
 * with the engine's message in sl_meta_error. */
int sl_meta_exec(sl_meta *m, const char *sql, int n, const char *const *params, sl_meta_rows *rows);
/* Like sl_meta_exec and returns the number of rows the statement changed, or < 0. */
int64_t sl_meta_exec_changes(sl_meta *m, const char *sql, int n, const char *const *params);
/* SQLite: how many WAL checkpoints the store's checkpointer thread has completed (they run
 * there, off the caller's thread, once the WAL reaches 1000 pages); -1 on PostgreSQL.
 * on_own_thread (may be NULL) receives how many the caller's thread ran (past 4,000 pages). */
int64_t sl_meta_checkpoints(sl_meta *m, int64_t *on_own_thread);
/* SQLite: lets the checkpoint a commit makes itself when the WAL outgrew the checkpointer
 * thread (4,000 pages) wait, on loop, for a moment without commits rather than run inside that
 * commit; loop is the thread that uses m. NULL detaches (before sl_meta_close, while loop still
 * runs). No-op on PostgreSQL. */
void sl_meta_set_loop(sl_meta *m, uv_loop_t *loop);
/* The last error message of m. */
const char *sl_meta_error(const sl_meta *m);

const char *sl_meta_cell(const sl_meta_rows *r, size_t row, size_t col);
/* The cell as an integer, def when NULL. */
int64_t sl_meta_cell_i64(const sl_meta_rows *r, size_t row, size_t col, int64_t def);
void sl_meta_rows_free(sl_meta_rows *r);

#endif
