/* exec.h: the CQL engine: analyzes and executes statements against the catalog and storage.
 *
 * The wire layer (src/cql/server.c) owns connections and frames; the engine owns everything
 * below: parsing, the prepared statement registry, the catalog, storage, the virtual system
 * tables and DESCRIBE. Every CQL value crossing this API is its native protocol serialized form
 * (native_protocol_v4.spec §6) and every type is its [option] encoding (§4.2.5.2), so the wire
 * layer copies bytes and never interprets a value or a type.
 *
 * Threading: one loop thread calls everything here. Results are delivered through a callback,
 * exactly once per call, on that thread: synchronously for reads, DDL and errors found before
 * anything is written; later for writes, once the group-commit WAL sync covering them is done
 * (or at once in periodic sync mode). Responses may therefore complete out of order. */
#ifndef SL_CQL_EXEC_H
#define SL_CQL_EXEC_H

#include "core/buf.h"
#include "cql/ast.h"
#include <uv.h>

typedef struct sl_cql_engine sl_cql_engine;
typedef struct sl_cql_session sl_cql_session;

/* Wire error codes, native_protocol_v4.spec §9. Never mixed with SL_ERR_* statuses. */
typedef enum sl_cql_errcode {
    SL_CQL_ERR_SERVER = 0x0000,
    SL_CQL_ERR_PROTOCOL = 0x000A,
    SL_CQL_ERR_BAD_CREDENTIALS = 0x0100,
    SL_CQL_ERR_UNAVAILABLE = 0x1000,
    SL_CQL_ERR_OVERLOADED = 0x1001,
    SL_CQL_ERR_IS_BOOTSTRAPPING = 0x1002,
    SL_CQL_ERR_TRUNCATE = 0x1003,
    SL_CQL_ERR_WRITE_TIMEOUT = 0x1100,
    SL_CQL_ERR_READ_TIMEOUT = 0x1200,
    SL_CQL_ERR_READ_FAILURE = 0x1300,
    SL_CQL_ERR_FUNCTION_FAILURE = 0x1400,
    SL_CQL_ERR_WRITE_FAILURE = 0x1500,
    SL_CQL_ERR_SYNTAX = 0x2000,
    SL_CQL_ERR_UNAUTHORIZED = 0x2100,
    SL_CQL_ERR_INVALID = 0x2200,
    SL_CQL_ERR_CONFIG = 0x2300,
    SL_CQL_ERR_ALREADY_EXISTS = 0x2400,
    SL_CQL_ERR_UNPREPARED = 0x2500,
} sl_cql_errcode;

/* Consistency levels, §3. A single node satisfies every level; SERIAL and LOCAL_SERIAL are
 * accepted as serial consistencies for conditional statements. */
enum {
    SL_CQL_CL_ANY = 0x0000,
    SL_CQL_CL_ONE = 0x0001,
    SL_CQL_CL_QUORUM = 0x0004,
    SL_CQL_CL_ALL = 0x0005,
    SL_CQL_CL_LOCAL_QUORUM = 0x0006,
    SL_CQL_CL_SERIAL = 0x0008,
    SL_CQL_CL_LOCAL_SERIAL = 0x0009,
    SL_CQL_CL_LOCAL_ONE = 0x000A,
};

/* A bound or returned value: bytes when kind is SL_CQL_VALUE, otherwise null or "not set" (§3
 * [value] lengths -1 and -2). */
typedef enum sl_cql_value_kind {
    SL_CQL_VALUE = 0,
    SL_CQL_NULL = 1,
    SL_CQL_UNSET = 2,
} sl_cql_value_kind;

typedef struct sl_cql_value {
    sl_slice bytes;
    uint8_t kind; /* sl_cql_value_kind */
} sl_cql_value;

/* One column of a result or one bind variable (§4.2.5.2 <col_spec_i>). */
typedef struct sl_cql_colspec {
    const char *keyspace;
    const char *table;
    const char *name;
    sl_slice type; /* the [option] encoding: id [short], then the element options if any */
} sl_cql_colspec;

typedef enum sl_cql_result_kind {
    SL_CQL_RESULT_ERROR = 0,
    SL_CQL_RESULT_VOID = 1,
    SL_CQL_RESULT_ROWS = 2,
    SL_CQL_RESULT_SET_KEYSPACE = 3,
    SL_CQL_RESULT_PREPARED = 4,
    SL_CQL_RESULT_SCHEMA_CHANGE = 5,
} sl_cql_result_kind;

typedef struct sl_cql_error {
    sl_cql_errcode code;
    char *message;
    /* Already_exists: the keyspace, and the table ("" for a keyspace). */
    char *keyspace;
    char *table;
    /* Unprepared: the id that is not known. */
    sl_slice unprepared_id;
    /* Write_failure / Write_timeout / Read_failure / Unavailable bodies. */
    uint16_t consistency;
    int32_t received;
    int32_t blockfor;
    int32_t numfailures;
    const char *write_type; /* "SIMPLE", "BATCH", "CAS", ... */
} sl_cql_error;

typedef enum sl_cql_change_type {
    SL_CQL_CHANGE_CREATED,
    SL_CQL_CHANGE_UPDATED,
    SL_CQL_CHANGE_DROPPED,
} sl_cql_change_type;

typedef enum sl_cql_change_target {
    SL_CQL_TARGET_KEYSPACE,
    SL_CQL_TARGET_TABLE,
    SL_CQL_TARGET_TYPE,
} sl_cql_change_target;

/* A Schema_change result body, and the SCHEMA_CHANGE event pushed after DDL (§4.2.5.5, §4.2.6).
 * name is NULL for a KEYSPACE target. */
typedef struct sl_cql_schema_change {
    sl_cql_change_type change;
    sl_cql_change_target target;
    const char *keyspace;
    const char *name;
} sl_cql_schema_change;

/* "CREATED", "UPDATED", "DROPPED"; "KEYSPACE", "TABLE", "TYPE": the protocol's [string]s. */
const char *sl_cql_change_type_name(sl_cql_change_type c);
const char *sl_cql_change_target_name(sl_cql_change_target t);

typedef struct sl_cql_result {
    sl_cql_result_kind kind;
    sl_cql_error error; /* kind ERROR */

    /* ROWS: the result columns. PREPARED: the result metadata (0 columns for non-SELECTs). */
    sl_cql_colspec *columns;
    size_t n_columns;

    /* ROWS: row_count rows of n_columns cells, each a §3 [bytes] (int32 length, -1 = null):
     * exactly <rows_content> of §4.2.5.2 after its rows_count. */
    uint32_t row_count;
    sl_buf rows;
    /* ROWS: set when more rows follow; paging_state resumes right after the last row sent. */
    bool has_more_pages;
    sl_buf paging_state;

    /* SET_KEYSPACE */
    char *keyspace;

    /* PREPARED: the statement id (MD5 of keyspace + query, as Cassandra computes it), its bind
     * variables and, for token-aware drivers, the indexes of the partition key variables. */
    uint8_t id[16];
    sl_cql_colspec *bind;
    size_t n_bind;
    uint16_t *pk_index;
    size_t n_pk_index;

    /* SCHEMA_CHANGE */
    sl_cql_schema_change schema_change;

    /* Any kind: warnings for the response's warnings flag (§2.2 flag 0x08). */
    char **warnings;
    size_t n_warnings;

    /* The memory behind the strings above. */
    sl_arena arena;
} sl_cql_result;

/* The receiver owns res and frees it with sl_cql_result_free. */
typedef void (*sl_cql_done_fn)(void *arg, sl_cql_result *res);

void sl_cql_result_free(sl_cql_result *res);

/* Walks the cells of a ROWS result in order; returns false after the last one. Start with
 * *off = 0. For callers other than the wire layer, which copies res->rows as is. */
bool sl_cql_result_next_cell(const sl_cql_result *res, size_t *off, sl_cql_value *cell);

/* A QUERY or EXECUTE (§4.1.4, §4.1.6). Everything is borrowed for the duration of the call. */
typedef struct sl_cql_query {
    sl_slice text;              /* QUERY: the statement; unused when id.len > 0 */
    sl_slice id;                /* EXECUTE: the prepared id */
    const sl_cql_value *values; /* bound values, positional unless names is set */
    size_t n_values;
    const sl_slice *names; /* flag 0x40: names[i] names values[i] */
    uint16_t consistency;
    uint16_t serial_consistency; /* 0 when the request gave none */
    int32_t page_size;           /* <= 0: every row in one page */
    sl_slice paging_state;       /* empty for the first page */
    int64_t timestamp;           /* microseconds; used when has_timestamp */
    bool has_timestamp;
    bool skip_metadata; /* informational: the wire layer omits column specs itself */
} sl_cql_query;

/* One statement of a BATCH (§4.1.7): text (kind 0) or a prepared id (kind 1). */
typedef struct sl_cql_batch_stmt {
    sl_slice text;
    sl_slice id;
    const sl_cql_value *values;
    size_t n_values;
    const sl_slice *names;
} sl_cql_batch_stmt;

/* A BATCH request. Its type is ast.h's sl_cql_batch_type, whose values are the wire's (0 logged,
 * 1 unlogged, 2 counter). */
typedef struct sl_cql_batch_req {
    sl_cql_batch_type type;
    const sl_cql_batch_stmt *stmts;
    size_t n_stmts;
    uint16_t consistency;
    uint16_t serial_consistency;
    int64_t timestamp;
    bool has_timestamp;
} sl_cql_batch_req;

typedef enum sl_cql_sync_mode {
    SL_CQL_SYNC_BATCH,    /* acknowledge a write after the WAL sync covering it (group commit) */
    SL_CQL_SYNC_PERIODIC, /* acknowledge at once; sync the WAL every sync_period_ms */
} sl_cql_sync_mode;

typedef struct sl_cql_engine_opts {
    const char *data_dir; /* the RocksDB directory, created if missing */
    sl_cql_sync_mode sync_mode;
    int64_t sync_period_ms;
    size_t memtable_bytes;    /* 0: storage's default (64 MiB) */
    size_t block_cache_bytes; /* 0: storage's default (64 MiB) */
    /* What system.local reports. */
    const char *cluster_name;    /* "Test Cluster" */
    const char *datacenter;      /* "datacenter1" */
    const char *rack;            /* "rack1" */
    const char *release_version; /* "4.0.11" */
    const char *cql_version;     /* "3.4.5" */
    const char *rpc_address;     /* the listen address, also broadcast/listen_address */
    int rpc_port;                /* the listen port */
    /* Microseconds since the epoch for write timestamps, now() and TTL expiry; NULL for the
     * real clock. For tests. */
    int64_t (*clock_us)(void *arg);
    void *clock_arg;
} sl_cql_engine_opts;

/* Fills opts with the defaults shown above (data_dir "./sluice-data/store", batch sync,
 * 127.0.0.1:9042). */
void sl_cql_engine_opts_default(sl_cql_engine_opts *opts);

/* Opens (creating if needed) the store in opts->data_dir and loads the schema. The engine runs
 * on loop. Returns 0 or a negative status; *errmsg (malloc'd, may be NULL) explains a failure. */
int sl_cql_engine_open(uv_loop_t *loop, const sl_cql_engine_opts *opts, sl_cql_engine **out,
                       char **errmsg);

/* Waits for pending writes (their callbacks run first, on this thread), then closes storage and
 * frees the engine. */
void sl_cql_engine_close(sl_cql_engine *e);

/* The schema_version uuid (16 bytes) as system.local reports it; it changes on every DDL. */
void sl_cql_engine_schema_version(const sl_cql_engine *e, uint8_t out[16]);

/* Called on the loop thread after each DDL statement commits, before its result is delivered.
 * One listener; NULL removes it. The server turns these into SCHEMA_CHANGE events. */
typedef void (*sl_cql_schema_fn)(void *arg, const sl_cql_schema_change *change);
void sl_cql_engine_on_schema_change(sl_cql_engine *e, sl_cql_schema_fn fn, void *arg);

/* A session per connection: its current keyspace (USE) and its authenticated user (NULL when
 * auth is off). A session may be freed while its writes are still pending. */
sl_cql_session *sl_cql_session_new(sl_cql_engine *e, const char *user);
void sl_cql_session_free(sl_cql_session *s);
/* The current keyspace, or NULL before USE. */
const char *sl_cql_session_keyspace(const sl_cql_session *s);

/* PREPARE: parses and analyzes query in the session's keyspace and registers it in the
 * engine's prepared statement registry (node-global, kept until restart or until DDL makes it
 * stale). Returns a PREPARED or ERROR result, which the caller frees. */
sl_cql_result *sl_cql_prepare(sl_cql_engine *e, sl_cql_session *s, sl_slice query);

/* QUERY (q->text) or EXECUTE (q->id; an unknown id gives Unprepared carrying it). done gets the
 * result exactly once, possibly before this returns. */
void sl_cql_execute(sl_cql_engine *e, sl_cql_session *s, const sl_cql_query *q, sl_cql_done_fn done,
                    void *arg);

/* BATCH: every statement's mutations go into one atomic write; conditional batches apply all
 * or nothing and answer [applied]. done as for sl_cql_execute. */
void sl_cql_execute_batch(sl_cql_engine *e, sl_cql_session *s, const sl_cql_batch_req *b,
                          sl_cql_done_fn done, void *arg);

#endif
