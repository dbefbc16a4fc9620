/* client.h: the CQL native protocol v4 client (sluice process, sluice cql, bench_cql).
 *
 * It speaks to sluice's store and to a real Cassandra alike: a pool of connections over several
 * contact points with failover, STARTUP with CQL_VERSION 3.0.0, SASL PLAIN for
 * PasswordAuthenticator, protocol v4 only (a server that refuses v4 is reported as such), a
 * prepared statement cache that re-prepares on Unprepared (0x2500) and retries, pipelined
 * requests within a window of stream ids per connection, batches and paging.
 *
 * Threading. A client belongs to one libuv loop and is used only from that loop's thread: every
 * call below and every callback happen there, with no locks and no thread hops, so a caller that
 * keeps thousands of inserts in flight pays one syscall per loop turn and connection, not one per
 * request. Give opts.loop to share the caller's loop (sluice process), or leave it NULL and the
 * client makes a private loop: the blocking functions (sl_cqlc_open, sl_cqlc_query, ...) then
 * run that loop until their request completes, and sl_cqlc_run drives async requests. The
 * blocking functions must not be used on a shared loop (libuv loops do not nest).
 *
 * Values are their native protocol serialized bytes (§6); a NULL ptr is a CQL null, so an empty
 * non-null value needs a non-NULL ptr (e.g. ""). Wire errors carry the server's code (the
 * sl_cql_errcode values of §9); the client's own failures are SL_ERR_* / -errno statuses. */
#ifndef SL_CQL_CLIENT_H
#define SL_CQL_CLIENT_H

#include "core/buf.h"
#include <stdatomic.h>
#include <uv.h>

typedef struct sl_cqlc sl_cqlc;

/* A blocking call or a callback's status when the server answered with an ERROR frame; the
 * error's code and message say which. Every other failure is an SL_ERR_* or -errno status:
 * SL_CQLC_ENOHOST, -ETIMEDOUT, SL_ERR_CLOSED (connection lost with the request in flight),
 * SL_ERR_UNSUPPORTED (the server refused protocol v4), SL_ERR_PARSE (malformed response). */
#define SL_CQLC_ESERVER (-21001)
/* No connection could be had to any contact point (each host's last error is in the message). */
#define SL_CQLC_ENOHOST (-21002)

/* Wire codes of an ERROR body (native_protocol_v4.spec §9); never SL_ERR_* statuses. */
enum {
    SL_CQLC_SERVER_ERROR = 0x0000,
    SL_CQLC_PROTOCOL_ERROR = 0x000A,
    SL_CQLC_BAD_CREDENTIALS = 0x0100,
    SL_CQLC_UNAVAILABLE = 0x1000,
    SL_CQLC_OVERLOADED = 0x1001,
    SL_CQLC_IS_BOOTSTRAPPING = 0x1002,
    SL_CQLC_TRUNCATE_ERROR = 0x1003,
    SL_CQLC_WRITE_TIMEOUT = 0x1100,
    SL_CQLC_READ_TIMEOUT = 0x1200,
    SL_CQLC_READ_FAILURE = 0x1300,
    SL_CQLC_FUNCTION_FAILURE = 0x1400,
    SL_CQLC_WRITE_FAILURE = 0x1500,
    SL_CQLC_SYNTAX_ERROR = 0x2000,
    SL_CQLC_UNAUTHORIZED = 0x2100,
    SL_CQLC_INVALID = 0x2200,
    SL_CQLC_CONFIG_ERROR = 0x2300,
    SL_CQLC_ALREADY_EXISTS = 0x2400,
    SL_CQLC_UNPREPARED = 0x2500,
};

/* Consistency levels (§3). */
enum {
    SL_CQLC_ANY = 0x00,
    SL_CQLC_ONE = 0x01,
    SL_CQLC_TWO = 0x02,
    SL_CQLC_THREE = 0x03,
    SL_CQLC_QUORUM = 0x04,
    SL_CQLC_ALL = 0x05,
    SL_CQLC_LOCAL_QUORUM = 0x06,
    SL_CQLC_EACH_QUORUM = 0x07,
    SL_CQLC_SERIAL = 0x08,
    SL_CQLC_LOCAL_SERIAL = 0x09,
    SL_CQLC_LOCAL_ONE = 0x0A,
};

/* How a request ended when it did not succeed. */
typedef struct sl_cqlc_error {
    int status;         /* SL_CQLC_ESERVER, or the client's SL_ERR_* / -errno */
    int code;           /* SL_CQLC_ESERVER: the wire code (SL_CQLC_INVALID, ...) */
    char message[1024]; /* the server's message, or the client's reason; truncated to fit */
    /* Extras of §9, by code. Unavailable/timeouts/failures: consistency and counts. */
    uint16_t consistency;
    int32_t required, alive, received, blockfor, numfailures;
    uint8_t data_present; /* Read_timeout / Read_failure */
    char write_type[32];  /* Write_timeout / Write_failure: "SIMPLE", "BATCH", ... */
    char keyspace[256];   /* Already_exists, Function_failure */
    char table[256];      /* Already_exists ("" for a keyspace); Function_failure: the function */
    uint8_t unprepared_id[64];
    uint8_t unprepared_id_len;
} sl_cqlc_error;

/* The name cqlsh and the drivers print for a wire code ("Invalid query", "Syntax error in CQL
 * query", ...), or "Error" for an unknown one. */
const char *sl_cqlc_code_name(int code);
/* One line describing err: "code=2200 [Invalid query] message=\"...\"" for a server error, the
 * client's reason otherwise. Returns buf. */
const char *sl_cqlc_error_str(const sl_cqlc_error *err, char *buf, size_t len);

/* RESULT kinds (§4.2.5). */
enum {
    SL_CQLC_VOID = 1,
    SL_CQLC_ROWS = 2,
    SL_CQLC_SET_KEYSPACE = 3,
    SL_CQLC_PREPARED = 4,
    SL_CQLC_SCHEMA_CHANGE = 5,
};

/* Type option ids (§4.2.5.2) as they appear first in a column's type. */
enum {
    SL_CQLC_T_CUSTOM = 0x00,
    SL_CQLC_T_ASCII = 0x01,
    SL_CQLC_T_BIGINT = 0x02,
    SL_CQLC_T_BLOB = 0x03,
    SL_CQLC_T_BOOLEAN = 0x04,
    SL_CQLC_T_COUNTER = 0x05,
    SL_CQLC_T_DECIMAL = 0x06,
    SL_CQLC_T_DOUBLE = 0x07,
    SL_CQLC_T_FLOAT = 0x08,
    SL_CQLC_T_INT = 0x09,
    SL_CQLC_T_TIMESTAMP = 0x0B,
    SL_CQLC_T_UUID = 0x0C,
    SL_CQLC_T_VARCHAR = 0x0D,
    SL_CQLC_T_VARINT = 0x0E,
    SL_CQLC_T_TIMEUUID = 0x0F,
    SL_CQLC_T_INET = 0x10,
    SL_CQLC_T_DATE = 0x11,
    SL_CQLC_T_TIME = 0x12,
    SL_CQLC_T_SMALLINT = 0x13,
    SL_CQLC_T_TINYINT = 0x14,
    SL_CQLC_T_DURATION = 0x15,
    SL_CQLC_T_LIST = 0x20,
    SL_CQLC_T_MAP = 0x21,
    SL_CQLC_T_SET = 0x22,
    SL_CQLC_T_UDT = 0x30,
    SL_CQLC_T_TUPLE = 0x31,
};

/* A column's type, decoded from its [option] (nested for collections, tuples and UDTs). */
typedef struct sl_cqlc_type {
    uint16_t id;              /* SL_CQLC_T_* */
    const char *name;         /* CUSTOM: the class name; UDT: the type name */
    const char *keyspace;     /* UDT */
    uint16_t nsub;            /* LIST/SET 1, MAP 2, TUPLE and UDT: their fields */
    struct sl_cqlc_type *sub; /* element, key/value, or field types */
    const char **field_names; /* UDT */
    sl_slice option;          /* the type's [option] bytes as the server sent them */
} sl_cqlc_type;

typedef struct sl_cqlc_col {
    const char *keyspace;
    const char *table;
    const char *name;
    sl_cqlc_type type;
} sl_cqlc_col;

/* A decoded RESULT. Every pointer and slice borrows from the result itself. */
typedef struct sl_cqlc_result {
    int kind; /* SL_CQLC_VOID ... */
    /* ROWS: ncols columns (0 when the server sent no metadata) and nrows * ncols_sent cells,
     * row-major; a cell with ptr NULL is null. PREPARED: the result metadata. */
    size_t ncols;
    sl_cqlc_col *cols;
    size_t nrows;
    size_t row_width; /* cells per row (== ncols unless metadata was skipped) */
    sl_slice *cells;
    bool has_more_pages;
    sl_slice paging_state; /* ptr NULL when absent */
    /* SET_KEYSPACE */
    const char *keyspace;
    /* PREPARED: the id, the bind variables and the partition key variables' indexes. */
    sl_slice id;
    size_t nbind;
    sl_cqlc_col *bind;
    size_t npk;
    uint16_t *pk_index;
    /* SCHEMA_CHANGE: "CREATED"..., "KEYSPACE"/"TABLE"/..., the keyspace and the object name
     * (NULL for a keyspace). */
    const char *change_type, *target, *change_keyspace, *change_name;
    /* Warnings sent with the response (header flag 0x08), for any kind. */
    size_t nwarnings;
    const char **warnings;
    /* Private: the memory behind everything above. */
    sl_buf body;
    sl_arena arena;
} sl_cqlc_result;

/* The cell at row r, column c (ptr NULL for null). */
static inline sl_slice sl_cqlc_cell(const sl_cqlc_result *res, size_t r, size_t c)
{
    return res->cells[r * res->row_width + c];
}
/* Index of the column called name, or -1. */
int sl_cqlc_col_index(const sl_cqlc_result *res, const char *name);
void sl_cqlc_result_free(sl_cqlc_result *res);

typedef struct sl_cqlc_opts {
    uv_loop_t *loop;            /* NULL: a private loop (and the blocking API) */
    const char *contact_points; /* "host:port[,host:port...]"; a bare host means port 9042 */
    const char *user;           /* SASL PLAIN credentials; NULL when the server needs none */
    const char *password;
    const char *keyspace;       /* USE on every connection; NULL for none */
    unsigned conns_per_host;    /* default 1 */
    unsigned max_streams;       /* requests in flight per connection, default 1024, max 32768 */
    size_t max_pending;         /* requests queued for a free stream, default 1<<20 */
    int64_t connect_timeout_ms; /* TCP connect + handshake, default 5000 */
    int64_t request_timeout_ms; /* default 12000 (the drivers' default); 0: none */
    int64_t reconnect_min_ms;   /* backoff for a dead host: default 100, doubling ... */
    int64_t reconnect_max_ms;   /* ... up to this, default 10000 */
    int consistency;            /* default SL_CQLC_ONE */
    size_t max_frame;           /* longest response body accepted, default 256 MiB */
    const char *tls_ca;         /* PEM CA file: TLS, the server's certificate checked against it
                                 * and the host name or IP; NULL: plaintext */
    const char *tls_cert;       /* PEM client certificate and key, for a server that asks */
    const char *tls_key;
} sl_cqlc_opts;

/* Fills opts with the defaults above (contact point 127.0.0.1:9042). */
void sl_cqlc_opts_default(sl_cqlc_opts *opts);

/* Per-request options; NULL means all defaults. */
typedef struct sl_cqlc_qopts {
    int consistency;        /* -1: the client's default */
    int serial_consistency; /* -1: none sent */
    int32_t page_size;      /* > 0: ask for pages of this many rows */
    sl_slice paging_state;  /* resume after a page (ptr NULL: from the start) */
    int64_t timestamp;      /* microseconds; INT64_MIN: none sent (the server's clock) */
    bool idempotent;        /* may be sent again on another connection if its own is lost */
    bool skip_metadata;     /* EXECUTE: rows come without column specs (the cache has them) */
} sl_cqlc_qopts;

#define SL_CQLC_QOPTS_INIT                                                                         \
    {                                                                                              \
        -1, -1, 0, {NULL, 0}, INT64_MIN, false, false                                              \
    }

/* A completed request. The response is valid during the callback only; to keep the result,
 * take resp->result and set the field to NULL, then free it with sl_cqlc_result_free. */
typedef struct sl_cqlc_response {
    int status; /* 0, SL_CQLC_ESERVER (see error), or a client status */
    sl_cqlc_result *result;
    const sl_cqlc_error *error; /* when status != 0 */
} sl_cqlc_response;

typedef void (*sl_cqlc_cb)(sl_cqlc *c, sl_cqlc_response *resp, void *udata);

/* Creates the client and starts connecting to every contact point. A bad opts (e.g. an
 * unparsable contact point) returns SL_ERR_INVAL with the reason in err. */
int sl_cqlc_new(const sl_cqlc_opts *opts, sl_cqlc **out, sl_cqlc_error *err);
/* Blocking (private loop): sl_cqlc_new, then waits until one connection is ready or every
 * contact point failed once; the error then names each host's failure. */
int sl_cqlc_open(const sl_cqlc_opts *opts, sl_cqlc **out, sl_cqlc_error *err);
/* Fails every request still queued or in flight with SL_ERR_CLOSED (callbacks run), closes the
 * connections and frees the client; a private loop is run until its handles are closed. On a
 * shared loop the memory is released from a later close callback. */
void sl_cqlc_close(sl_cqlc *c);

/* Asynchronous requests: cb runs exactly once, on the loop's thread, never before the call
 * returns. They return 0, or SL_ERR_CLOSED / SL_ERR_LIMIT (pending queue full) / SL_ERR_INVAL
 * without calling cb. Everything passed is copied. */

/* QUERY: a statement as text, with optional positional values. */
int sl_cqlc_query_async(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                        const sl_cqlc_qopts *qo, sl_cqlc_cb cb, void *udata);
/* PREPARE (through the cache) then EXECUTE: prepares cql once per client and keyspace, and
 * re-prepares and retries when a server answers Unprepared. */
int sl_cqlc_execute_async(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                          const sl_cqlc_qopts *qo, sl_cqlc_cb cb, void *udata);
/* Sends a PREPARE (refreshing the cache entry's id); the result (kind PREPARED) describes the
 * bind variables and result columns. Executing needs no prior call: execute prepares itself. */
int sl_cqlc_prepare_async(sl_cqlc *c, const char *cql, sl_cqlc_cb cb, void *udata);

/* A BATCH being built: statements as text, or prepared through the cache. */
typedef struct sl_cqlc_batch sl_cqlc_batch;
enum { SL_CQLC_BATCH_LOGGED = 0, SL_CQLC_BATCH_UNLOGGED = 1, SL_CQLC_BATCH_COUNTER = 2 };
sl_cqlc_batch *sl_cqlc_batch_new(int type);
/* Adds a statement; with prepared, cql is prepared through the cache before the batch is sent. */
void sl_cqlc_batch_add(sl_cqlc_batch *b, const char *cql, const sl_slice *values, size_t nvalues,
                       bool prepared);
size_t sl_cqlc_batch_count(const sl_cqlc_batch *b);
void sl_cqlc_batch_free(sl_cqlc_batch *b);
/* Sends the batch (consistency, timestamp and idempotent from qo); b is not kept. */
int sl_cqlc_batch_async(sl_cqlc *c, const sl_cqlc_batch *b, const sl_cqlc_qopts *qo, sl_cqlc_cb cb,
                        void *udata);

/* Runs a private loop until no request is queued or in flight, or timeout_ms passes (< 0: no
 * limit). Returns 0, or -ETIMEDOUT. */
int sl_cqlc_run(sl_cqlc *c, int64_t timeout_ms);
/* Requests queued or in flight. */
size_t sl_cqlc_inflight(const sl_cqlc *c);
/* The keyspace of the last USE (or opts.keyspace), or NULL. */
const char *sl_cqlc_keyspace(const sl_cqlc *c);
/* Counters for logs and tests. */
typedef struct sl_cqlc_stats {
    uint64_t requests, responses, errors, timeouts, retries, reprepares, connects, connect_failures;
    unsigned conns_ready;
} sl_cqlc_stats;
void sl_cqlc_get_stats(const sl_cqlc *c, sl_cqlc_stats *out);

/* Blocking requests (private loop only). Each returns 0 with *out set (the caller frees it; out
 * may be NULL to discard), or a failure status with err filled in. */
int sl_cqlc_query(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                  const sl_cqlc_qopts *qo, sl_cqlc_result **out, sl_cqlc_error *err);
int sl_cqlc_execute(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                    const sl_cqlc_qopts *qo, sl_cqlc_result **out, sl_cqlc_error *err);
int sl_cqlc_prepare(sl_cqlc *c, const char *cql, sl_cqlc_result **out, sl_cqlc_error *err);
int sl_cqlc_batch_execute(sl_cqlc *c, const sl_cqlc_batch *b, const sl_cqlc_qopts *qo,
                          sl_cqlc_result **out, sl_cqlc_error *err);

/* Paging through a query's rows, one page per call (private loop only). */
typedef struct sl_cqlc_pager sl_cqlc_pager;
/* page_size > 0; prepared chooses EXECUTE through the cache over QUERY. */
sl_cqlc_pager *sl_cqlc_pager_new(sl_cqlc *c, const char *cql, const sl_slice *values,
                                 size_t nvalues, int32_t page_size, bool prepared);
/* Returns 1 with the next page in *page (the caller frees it), 0 after the last page, or a
 * failure status with err filled in. The first page is returned even when empty. */
int sl_cqlc_pager_next(sl_cqlc_pager *p, sl_cqlc_result **page, sl_cqlc_error *err);
void sl_cqlc_pager_free(sl_cqlc_pager *p);

/* Appends name to b as a CQL identifier: double-quoted, quotes doubled. */
void sl_cqlc_quote_ident(sl_buf *b, const char *name);

/* Counts ks.table's rows by paging through its first partition key column,
 * SL_CQLC_COUNT_PAGE rows per request (private loop only). Unlike SELECT count(*), which a
 * server answers in one request, each page is a short request, so a server that runs one
 * request at a time (sluice store's loop) keeps serving its other clients between them. Stops
 * once max rows are counted (max <= 0: no bound) and sets *more if there may be others, or
 * between pages once *cancel (may be NULL) is set, returning SL_ERR_CLOSED. Returns 0 with *n
 * set, or a failure status with err filled in. */
#define SL_CQLC_COUNT_PAGE 5000
int sl_cqlc_count_rows(sl_cqlc *c, const char *ks, const char *table, int64_t max,
                       const atomic_bool *cancel, int64_t *n, bool *more, sl_cqlc_error *err);

#endif
