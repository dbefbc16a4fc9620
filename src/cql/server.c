/* server.c: the CQL v4 server: connection state, authentication, compression, request
 * dispatch to the engine, response and event encoding.
 *
 * A connection moves NEW -> (AUTHENTICATING ->) READY. Frame-level errors (a version byte
 * other than 4, the response bit, a negative or oversized length) are answered with a
 * Protocol error and the connection is closed, since the byte stream can no longer be trusted;
 * message-level errors (unknown opcode, wrong state, malformed body) are answered on their
 * stream and the connection keeps going, as Cassandra does.
 *
 * Requests are decoded in place from the read buffer (or the connection's decompression
 * buffer) with arrays from a per-connection arena that is reset after each frame: the engine
 * borrows them only for the duration of the call. A statement whose result comes later (a
 * write waiting for the WAL sync) holds a reference on the connection until it is answered.
 *
 * Responses are gathered per connection and written once per loop iteration (a uv_check after
 * the poll phase, which is where frames arrive and WAL syncs complete): a sync that completes a
 * thousand pipelined writes costs one write(2) per connection, not a thousand. */
#include "cql/server.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define SUBSYS          "cql"
#define AUTHENTICATOR   "org.apache.cassandra.auth.PasswordAuthenticator"
#define RELEASE_VERSION "4.0.11"
#define ARENA_CHUNK     (16 * 1024)
#define ZBUF_KEEP_MAX   (64 * 1024)
/* A connection stops being read while this many statements await the engine, or while this
 * much of its output is unsent; it resumes below half of either. */
#define MAX_INFLIGHT      4096
#define MAX_WRITE_PENDING (64u * 1024 * 1024)
#define BACKLOG_CHECK_MS  10
/* Gathered output beyond this is written at once rather than at the end of the iteration. */
#define OUT_FLUSH_BYTES (256 * 1024)

enum { EV_TOPOLOGY_CHANGE = 1, EV_STATUS_CHANGE = 2, EV_SCHEMA_CHANGE = 4 };

typedef enum { PHASE_NEW, PHASE_AUTHENTICATING, PHASE_READY } conn_phase;

typedef struct cql_conn cql_conn;
struct cql_conn {
    sl_cql_server *srv;
    sl_conn *conn;
    conn_phase phase;
    sl_cql_compression comp;
    unsigned events; /* EV_* registered for */
    sl_cql_session *session;
    unsigned inflight; /* statements handed to the engine and not yet answered */
    bool paused;
    bool backlog; /* on the server's backlog list, holding a reference */
    cql_conn *ev_prev, *ev_next;
    bool ev_listed;
    cql_conn *backlog_next;
    sl_buf out;        /* responses gathered in this loop iteration */
    bool flush_queued; /* on the server's flush list, holding a reference */
    cql_conn *flush_next;
    sl_buf zbuf;    /* the decompressed body of the frame being handled */
    sl_arena arena; /* request-scoped arrays, reset after each frame */
};

struct sl_cql_server {
    uv_loop_t *loop;
    sl_server *srv;
    sl_cql_engine *engine;
    sl_cql_server_config cfg;
    size_t max_body;
    /* Only a PBKDF2 hash of the password is kept (the configured text is wiped at open). The
     * last accepted password is remembered as an HMAC under a random key, so reconnects do not
     * pay PBKDF2 on the loop; a wrong password always does. */
    char pw_hash[SL_AUTH_HASH_LEN];
    unsigned char ok_key[32], ok_mac[32];
    bool ok_cached;
    cql_conn *listeners; /* connections registered for SCHEMA_CHANGE */
    cql_conn *backlog;   /* connections paused for unsent output */
    cql_conn *flushes;   /* connections with gathered output */
    uv_timer_t backlog_timer;
    uv_check_t flush_check; /* writes gathered output after the poll phase */
    uv_idle_t flush_idle;   /* keeps poll from blocking while output is gathered */
    unsigned handles_open;  /* of the three above */
    bool server_open;
    bool stopping;
    void (*done)(void *);
    void *done_arg;
};

/* A statement awaiting the engine: the stream to answer and how. */
typedef struct cql_req {
    cql_conn *cc;
    int16_t stream;
    bool skip_metadata;
} cql_req;

typedef void (*cql_handler)(cql_conn *cc, const sl_cql_header *h, sl_rd *body);

#define O(f) offsetof(sl_cql_server_config, f)
const sl_opt sl_cql_server_opts[] = {
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:9042", O(listen), "address to listen on", NULL, 0, 0},
    {"data-dir", SL_OPT_STR, "./sluice-data/store", O(data_dir),
     "directory of the RocksDB database (data and schema)", NULL, 0, 0},
    {"auth", SL_OPT_ENUM, "on", O(auth),
     "on: PasswordAuthenticator (SASL PLAIN); off: any client is let in", "on|off", 0, 0},
    {"user", SL_OPT_STR, "cassandra", O(user), "the account's user name when auth is on", NULL, 0,
     0},
    {"password", SL_OPT_STR, "cassandra", O(password),
     "the account's password when auth is on, or its hash from `sluice store passwd`", NULL, 0, 0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert),
     "PEM certificate (chain): the listener speaks TLS only (needs tls-key)", NULL, 0, 0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of tls-cert", NULL, 0, 0},
    {"tls-ca", SL_OPT_STR, NULL, O(tls_ca),
     "PEM CA certificates: clients must present a certificate signed by one", NULL, 0, 0},
    {"commitlog-sync", SL_OPT_ENUM, "batch", O(commitlog_sync),
     "batch: acknowledge writes after the WAL sync (group commit); periodic: sync on a timer",
     "batch|periodic", 0, 0},
    {"commitlog-sync-period", SL_OPT_DURATION, "10s", O(commitlog_sync_period),
     "time between WAL syncs in periodic mode", NULL, 1, INT32_MAX},
    {"max-frame-bytes", SL_OPT_SIZE, "256MiB", O(max_frame_bytes),
     "largest request body accepted (a frame's length field)", NULL, 256,
     INT32_MAX - SL_CQL_HEADER_LEN},
    {"memtable-size", SL_OPT_SIZE, "64MiB", O(memtable_bytes),
     "size of one memtable; up to three are in memory while one is flushed (under sluice up: "
     "8MiB unless set here)",
     NULL, 1 << 20, INT32_MAX},
    {"block-cache-size", SL_OPT_SIZE, "64MiB", O(block_cache_bytes),
     "RocksDB block cache for reads (under sluice up: 8MiB unless set here)", NULL, 1 << 20,
     INT32_MAX},
    {"max-connections", SL_OPT_INT, "10000", O(max_connections), "connection limit", NULL, 1,
     1000000},
    {"cluster-name", SL_OPT_STR, "Test Cluster", O(cluster_name), "system.local cluster_name", NULL,
     0, 0},
    {"datacenter", SL_OPT_STR, "datacenter1", O(datacenter),
     "system.local data_center (what drivers call the local datacenter)", NULL, 0, 0},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level),
     "log level (default: info, or $SLUICE_LOG_LEVEL)", "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
#undef O

int sl_cql_server_config_check(sl_cql_server_config *cfg, char *err, size_t errlen)
{
    cfg->auth_enabled = strcmp(cfg->auth, "on") == 0;
    cfg->sync_mode =
        strcmp(cfg->commitlog_sync, "periodic") == 0 ? SL_CQL_SYNC_PERIODIC : SL_CQL_SYNC_BATCH;
    if (cfg->auth_enabled && (!cfg->user || !*cfg->user)) {
        snprintf(err, errlen, "user: must not be empty when auth is on");
        return SL_ERR_CONFIG;
    }
    if (cfg->auth_enabled && (!cfg->password || !*cfg->password)) {
        snprintf(err, errlen, "password: must not be empty when auth is on");
        return SL_ERR_CONFIG;
    }
    if (cfg->auth_enabled &&
        strncmp(cfg->password, SL_AUTH_HASH_PREFIX, strlen(SL_AUTH_HASH_PREFIX)) == 0 &&
        !sl_auth_hash_valid(cfg->password)) {
        snprintf(err, errlen, "password: a malformed %s...$ hash", SL_AUTH_HASH_PREFIX);
        return SL_ERR_CONFIG;
    }
    if (!cfg->data_dir || !*cfg->data_dir) {
        snprintf(err, errlen, "data-dir: must not be empty");
        return SL_ERR_CONFIG;
    }
    char host[256];
    int port;
    if (sl_hostport_parse(cfg->listen, host, sizeof host, &port)) {
        snprintf(err, errlen, "listen: '%s' is not HOST:PORT", cfg->listen);
        return SL_ERR_CONFIG;
    }
    return 0;
}

/* Sending. */

/* Writes what the connection gathered. */
static void conn_flush(cql_conn *cc)
{
    if (cc->out.len) sl_conn_write(cc->conn, &cc->out);
}

static void on_flush_check(uv_check_t *h)
{
    sl_cql_server *s = h->data;
    cql_conn *list = s->flushes;
    s->flushes = NULL;
    uv_check_stop(&s->flush_check);
    uv_idle_stop(&s->flush_idle);
    while (list) {
        cql_conn *cc = list;
        list = cc->flush_next;
        cc->flush_queued = false;
        conn_flush(cc);
        sl_conn_release(cc->conn);
    }
}

static void flush_idle_noop(uv_idle_t *h)
{
    SL_UNUSED(h);
}

/* Compresses (once STARTUP negotiated it) and gathers one complete frame, to be written at
 * the end of this loop iteration; b is taken. */
static void conn_send(cql_conn *cc, sl_buf *b)
{
    if (sl_conn_closing(cc->conn)) {
        sl_buf_free(b);
        return;
    }
    if (cc->comp != SL_CQL_COMPRESSION_NONE) sl_cql_frame_compress(b, 0, cc->comp);
    if (cc->out.len == 0)
        sl_buf_move(&cc->out, b);
    else {
        sl_buf_append(&cc->out, b->ptr, b->len);
        sl_buf_free(b);
    }
    if (cc->out.len >= OUT_FLUSH_BYTES) {
        conn_flush(cc);
        return;
    }
    sl_cql_server *s = cc->srv;
    if (cc->flush_queued || s->stopping) {
        if (s->stopping) conn_flush(cc);
        return;
    }
    cc->flush_queued = true;
    sl_conn_keep(cc->conn);
    cc->flush_next = s->flushes;
    s->flushes = cc;
    uv_check_start(&s->flush_check, on_flush_check);
    uv_idle_start(&s->flush_idle, flush_idle_noop);
}

static void send_error(cql_conn *cc, int16_t stream, sl_cql_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_error(cql_conn *cc, int16_t stream, sl_cql_errcode code, const char *fmt, ...)
{
    sl_buf msg = SL_BUF_INIT, b = SL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    const char *text = sl_buf_cstr(&msg);
    sl_log(SL_LOG_DEBUG, SUBSYS, sl_conn_peer(cc->conn), "stream %d: error 0x%04x: %s", stream,
           code, text);
    sl_cql_put_error_frame(&b, stream, code, text);
    sl_buf_free(&msg);
    conn_send(cc, &b);
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* True when every column names the same keyspace and table, so one global spec serves. */
static bool same_table(const sl_cql_colspec *cols, size_t n)
{
    if (n == 0 || !cols[0].keyspace || !cols[0].table) return false;
    for (size_t i = 1; i < n; i++)
        if (!cols[i].keyspace || !cols[i].table || strcmp(cols[i].keyspace, cols[0].keyspace) ||
            strcmp(cols[i].table, cols[0].table))
            return false;
    return true;
}

static void put_colspecs(sl_buf *b, const sl_cql_colspec *cols, size_t n, bool global)
{
    if (global) {
        sl_cql_put_cstring(b, cols[0].keyspace);
        sl_cql_put_cstring(b, cols[0].table);
    }
    for (size_t i = 0; i < n; i++) {
        if (!global) {
            sl_cql_put_cstring(b, str_or_empty(cols[i].keyspace));
            sl_cql_put_cstring(b, str_or_empty(cols[i].table));
        }
        sl_cql_put_cstring(b, str_or_empty(cols[i].name));
        sl_buf_append(b, cols[i].type.ptr, cols[i].type.len);
    }
}

/* <metadata> of a Rows result or a Prepared result's <result_metadata> (§4.2.5.2). */
static void put_rows_metadata(sl_buf *b, const sl_cql_colspec *cols, size_t n, bool no_metadata,
                              bool has_more, sl_slice paging_state)
{
    int32_t flags = 0;
    bool global = false;
    if (no_metadata || n == 0)
        flags |= SL_CQL_ROWS_NO_METADATA;
    else if ((global = same_table(cols, n)))
        flags |= SL_CQL_ROWS_GLOBAL_TABLES_SPEC;
    if (has_more) flags |= SL_CQL_ROWS_HAS_MORE_PAGES;
    sl_cql_put_int(b, flags);
    sl_cql_put_int(b, (int32_t)n);
    if (has_more)
        sl_cql_put_bytes(b, paging_state.ptr ? paging_state.ptr : (const uint8_t *)"",
                         paging_state.len);
    if (!(flags & SL_CQL_ROWS_NO_METADATA)) put_colspecs(b, cols, n, global);
}

static void put_schema_change(sl_buf *b, const sl_cql_schema_change *ch)
{
    sl_cql_put_cstring(b, sl_cql_change_type_name(ch->change));
    sl_cql_put_cstring(b, sl_cql_change_target_name(ch->target));
    sl_cql_put_cstring(b, str_or_empty(ch->keyspace));
    if (ch->target != SL_CQL_TARGET_KEYSPACE) sl_cql_put_cstring(b, str_or_empty(ch->name));
}

static void put_warnings(sl_buf *b, const sl_cql_result *res)
{
    sl_cql_put_short(b, (uint16_t)SL_MIN(res->n_warnings, (size_t)UINT16_MAX));
    for (size_t i = 0; i < res->n_warnings && i < UINT16_MAX; i++) {
        const char *w = res->warnings[i];
        sl_cql_put_string(b, w, SL_MIN(strlen(w), (size_t)UINT16_MAX));
    }
}

/* The ERROR body of an engine error: code, message and the code's extra fields (§9). */
static void put_error_body(sl_buf *b, const sl_cql_error *e)
{
    const char *msg = str_or_empty(e->message);
    sl_cql_put_int(b, (int32_t)e->code);
    sl_cql_put_string(b, msg, SL_MIN(strlen(msg), (size_t)UINT16_MAX));
    const char *wt = e->write_type ? e->write_type : "SIMPLE";
    switch (e->code) {
    case SL_CQL_ERR_UNAVAILABLE:
        sl_cql_put_short(b, e->consistency);
        sl_cql_put_int(b, e->blockfor);
        sl_cql_put_int(b, e->received);
        break;
    case SL_CQL_ERR_WRITE_TIMEOUT:
        sl_cql_put_short(b, e->consistency);
        sl_cql_put_int(b, e->received);
        sl_cql_put_int(b, e->blockfor);
        sl_cql_put_cstring(b, wt);
        break;
    case SL_CQL_ERR_READ_TIMEOUT:
        sl_cql_put_short(b, e->consistency);
        sl_cql_put_int(b, e->received);
        sl_cql_put_int(b, e->blockfor);
        sl_cql_put_byte(b, 0);
        break;
    case SL_CQL_ERR_READ_FAILURE:
        sl_cql_put_short(b, e->consistency);
        sl_cql_put_int(b, e->received);
        sl_cql_put_int(b, e->blockfor);
        sl_cql_put_int(b, e->numfailures);
        sl_cql_put_byte(b, 0);
        break;
    case SL_CQL_ERR_WRITE_FAILURE:
        sl_cql_put_short(b, e->consistency);
        sl_cql_put_int(b, e->received);
        sl_cql_put_int(b, e->blockfor);
        sl_cql_put_int(b, e->numfailures);
        sl_cql_put_cstring(b, wt);
        break;
    case SL_CQL_ERR_FUNCTION_FAILURE:
        sl_cql_put_cstring(b, str_or_empty(e->keyspace));
        sl_cql_put_cstring(b, str_or_empty(e->table));
        sl_cql_put_short(b, 0);
        break;
    case SL_CQL_ERR_ALREADY_EXISTS:
        sl_cql_put_cstring(b, str_or_empty(e->keyspace));
        sl_cql_put_cstring(b, str_or_empty(e->table));
        break;
    case SL_CQL_ERR_UNPREPARED:
        sl_cql_put_short_bytes(b, e->unprepared_id.ptr, e->unprepared_id.len);
        break;
    default: break;
    }
}

/* Encodes an engine result as the response on stream. */
static void send_result(cql_conn *cc, int16_t stream, const sl_cql_result *res, bool skip_metadata)
{
    sl_buf b = SL_BUF_INIT;
    uint8_t flags = res->n_warnings ? SL_CQL_FLAG_WARNING : 0;
    bool error = res->kind == SL_CQL_RESULT_ERROR;
    size_t off = sl_cql_frame_begin(&b, flags, stream, error ? SL_CQL_OP_ERROR : SL_CQL_OP_RESULT);
    if (res->n_warnings) put_warnings(&b, res);
    if (error) {
        sl_log(SL_LOG_DEBUG, SUBSYS, sl_conn_peer(cc->conn), "stream %d: error 0x%04x: %s", stream,
               res->error.code, str_or_empty(res->error.message));
        put_error_body(&b, &res->error);
        sl_cql_frame_finish(&b, off);
        conn_send(cc, &b);
        return;
    }
    sl_cql_put_int(&b, (int32_t)res->kind);
    switch (res->kind) {
    case SL_CQL_RESULT_ROWS:
        put_rows_metadata(&b, res->columns, res->n_columns, skip_metadata, res->has_more_pages,
                          sl_buf_slice(&res->paging_state));
        sl_cql_put_int(&b, (int32_t)res->row_count);
        sl_buf_append(&b, res->rows.ptr, res->rows.len);
        break;
    case SL_CQL_RESULT_SET_KEYSPACE: sl_cql_put_cstring(&b, str_or_empty(res->keyspace)); break;
    case SL_CQL_RESULT_PREPARED: {
        sl_cql_put_short_bytes(&b, res->id, sizeof res->id);
        bool global = same_table(res->bind, res->n_bind);
        sl_cql_put_int(&b, global ? SL_CQL_ROWS_GLOBAL_TABLES_SPEC : 0);
        sl_cql_put_int(&b, (int32_t)res->n_bind);
        sl_cql_put_int(&b, (int32_t)res->n_pk_index);
        for (size_t i = 0; i < res->n_pk_index; i++)
            sl_cql_put_short(&b, res->pk_index[i]);
        put_colspecs(&b, res->bind, res->n_bind, global);
        put_rows_metadata(&b, res->columns, res->n_columns, false, false, SL_SLICE_NULL);
        break;
    }
    case SL_CQL_RESULT_SCHEMA_CHANGE: put_schema_change(&b, &res->schema_change); break;
    case SL_CQL_RESULT_VOID:
    case SL_CQL_RESULT_ERROR: break;
    }
    sl_cql_frame_finish(&b, off);
    conn_send(cc, &b);
}

/* Back-pressure. */

static void on_backlog_check(uv_timer_t *t);

static void backlog_add(cql_conn *cc)
{
    sl_cql_server *s = cc->srv;
    cc->backlog = true;
    sl_conn_keep(cc->conn);
    cc->backlog_next = s->backlog;
    s->backlog = cc;
    if (!uv_is_active((uv_handle_t *)&s->backlog_timer))
        uv_timer_start(&s->backlog_timer, on_backlog_check, BACKLOG_CHECK_MS, BACKLOG_CHECK_MS);
}

/* Pauses reading a connection with too much outstanding, and resumes it below half. */
static void conn_check_pause(cql_conn *cc)
{
    if (sl_conn_closing(cc->conn)) return;
    size_t pending = sl_conn_write_pending(cc->conn) + cc->out.len;
    bool busy = cc->inflight >= (cc->paused ? MAX_INFLIGHT / 2 : MAX_INFLIGHT);
    bool full = pending > (cc->paused ? MAX_WRITE_PENDING / 2 : MAX_WRITE_PENDING);
    /* Nothing calls back when output drains, so a connection paused for it is polled. */
    if (full && !cc->backlog && !cc->srv->stopping) backlog_add(cc);
    bool want = busy || full;
    if (want == cc->paused) return;
    cc->paused = want;
    if (want) {
        sl_log(SL_LOG_DEBUG, SUBSYS, sl_conn_peer(cc->conn),
               "pausing reads (%u in flight, %zu bytes unsent)", cc->inflight, pending);
        sl_conn_pause(cc->conn);
    } else {
        sl_conn_resume(cc->conn);
    }
}

static void on_backlog_check(uv_timer_t *t)
{
    sl_cql_server *s = t->data;
    for (cql_conn **pp = &s->backlog; *pp;) {
        cql_conn *cc = *pp;
        conn_check_pause(cc);
        if (!sl_conn_closing(cc->conn) && sl_conn_write_pending(cc->conn) > MAX_WRITE_PENDING / 2) {
            pp = &cc->backlog_next;
            continue;
        }
        *pp = cc->backlog_next;
        cc->backlog = false;
        sl_conn_release(cc->conn);
    }
    if (!s->backlog) uv_timer_stop(t);
}

/* Requests. */

static bool consistency_ok(cql_conn *cc, int16_t stream, uint16_t cl)
{
    if (sl_cql_consistency_name(cl)) return true;
    send_error(cc, stream, SL_CQL_ERR_PROTOCOL, "Unknown code %u for a consistency level", cl);
    return false;
}

static void send_parse_error(cql_conn *cc, const sl_cql_header *h, const sl_rd *r)
{
    send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
               "Invalid or truncated %s message body (at byte %zu of %zu)",
               sl_cql_opcode_name(h->opcode), sl_rd_offset(r), (size_t)(r->end - r->start));
}

static void cql_handle_OPTIONS(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    static const char *const keys[] = {"CQL_VERSION", "COMPRESSION", "PROTOCOL_VERSIONS"};
    static const size_t counts[] = {1, 2, 1};
    static const char *const values[] = {SL_CQL_CQL_VERSION, "lz4", "snappy", SL_CQL_PROTOCOL_NAME};
    sl_buf b = SL_BUF_INIT;
    size_t off = sl_cql_frame_begin(&b, 0, h->stream, SL_CQL_OP_SUPPORTED);
    sl_cql_put_string_multimap(&b, keys, counts, values, SL_ARRAY_LEN(keys));
    sl_cql_frame_finish(&b, off);
    conn_send(cc, &b);
}

static void send_empty(cql_conn *cc, int16_t stream, uint8_t opcode)
{
    sl_buf b = SL_BUF_INIT;
    size_t off = sl_cql_frame_begin(&b, 0, stream, opcode);
    sl_cql_frame_finish(&b, off);
    conn_send(cc, &b);
}

/* Parses the leading major version of "3.4.5"; -1 when it is not a version. */
static int cql_major(sl_slice v)
{
    int major = 0;
    size_t i = 0;
    for (; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9' && major < 1000; i++)
        major = major * 10 + (v.ptr[i] - '0');
    if (i == 0 || (i < v.len && v.ptr[i] != '.')) return -1;
    return major;
}

static void conn_ready(cql_conn *cc, const char *user)
{
    cc->phase = PHASE_READY;
    cc->session = sl_cql_session_new(cc->srv->engine, user);
}

static void cql_handle_STARTUP(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    sl_cql_string_map opts;
    sl_slice v;
    if (sl_cql_rd_string_map(body, &cc->arena, &opts)) {
        send_parse_error(cc, h, body);
        return;
    }
    if (!sl_cql_string_map_get(&opts, "CQL_VERSION", &v)) {
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "Missing value CQL_VERSION in STARTUP message");
        return;
    }
    int major = cql_major(v);
    if (major < 3) {
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "CQL version %.*s is not supported by the binary protocol (supported version "
                   "are >= 3.0.0)",
                   (int)SL_MIN(v.len, 64), (const char *)v.ptr);
        return;
    }
    sl_cql_compression comp = SL_CQL_COMPRESSION_NONE;
    if (sl_cql_string_map_get(&opts, "COMPRESSION", &v) && v.len > 0 &&
        sl_cql_compression_parse(v, &comp)) {
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL, "Unknown compression algorithm: %.*s",
                   (int)SL_MIN(v.len, 64), (const char *)v.ptr);
        return;
    }
    /* The response to STARTUP is the first frame that may be compressed (§5). */
    cc->comp = comp;
    if (cc->srv->cfg.auth_enabled) {
        cc->phase = PHASE_AUTHENTICATING;
        sl_buf b = SL_BUF_INIT;
        size_t off = sl_cql_frame_begin(&b, 0, h->stream, SL_CQL_OP_AUTHENTICATE);
        sl_cql_put_cstring(&b, AUTHENTICATOR);
        sl_cql_frame_finish(&b, off);
        conn_send(cc, &b);
        return;
    }
    conn_ready(cc, NULL);
    send_empty(cc, h->stream, SL_CQL_OP_READY);
}

/* Compares without an early exit, so the time taken does not tell how much of a guess was
 * right. */
static bool secret_eq(sl_slice a, const char *b)
{
    size_t blen = strlen(b);
    uint8_t diff = a.len != blen;
    for (size_t i = 0; i < a.len; i++)
        diff |= a.ptr[i] ^ (uint8_t)b[i % (blen ? blen : 1)];
    return diff == 0;
}

static bool password_ok(sl_cql_server *s, sl_slice pass)
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), s->ok_key, sizeof s->ok_key, pass.ptr, pass.len, mac, &maclen);
    if (s->ok_cached && CRYPTO_memcmp(mac, s->ok_mac, sizeof mac) == 0) return true;
    if (!sl_auth_verify(s->pw_hash, (const char *)pass.ptr, pass.len)) return false;
    memcpy(s->ok_mac, mac, sizeof mac);
    s->ok_cached = true;
    return true;
}

/* SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, split from the end as Cassandra's
 * PlainTextSaslAuthenticator does (an authzid, if any, is ignored). */
static const char *sasl_plain_split(sl_slice tok, sl_slice *user, sl_slice *pass)
{
    size_t end = tok.len;
    int found = 0;
    for (size_t i = tok.len; i-- > 0;) {
        if (tok.ptr[i] != 0) continue;
        if (found == 0)
            *pass = (sl_slice){tok.ptr + i + 1, end - i - 1};
        else if (found == 1)
            *user = (sl_slice){tok.ptr + i + 1, end - i - 1};
        else
            return "Credential format error: username or password is empty or contains NUL(\\0) "
                   "character";
        found++;
        end = i;
    }
    if (found < 1 || pass->len == 0) return "Password must not be null";
    if (found < 2 || user->len == 0) return "Authentication ID must not be null";
    return NULL;
}

static void cql_handle_AUTH_RESPONSE(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    sl_cql_value tok;
    if (cc->phase != PHASE_AUTHENTICATING) {
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "Unexpected message AUTH_RESPONSE, no authentication is in progress");
        return;
    }
    if (sl_cql_rd_bytes(body, &tok)) {
        send_parse_error(cc, h, body);
        return;
    }
    sl_slice user = SL_SLICE_NULL, pass = SL_SLICE_NULL;
    const char *why = sasl_plain_split(tok.bytes, &user, &pass);
    if (why) {
        send_error(cc, h->stream, SL_CQL_ERR_BAD_CREDENTIALS, "%s", why);
        return;
    }
    const sl_cql_server_config *cfg = &cc->srv->cfg;
    bool user_ok = secret_eq(user, cfg->user);
    bool pass_ok = password_ok(cc->srv, pass);
    if (!user_ok || !pass_ok) {
        sl_log(SL_LOG_INFO, SUBSYS, sl_conn_peer(cc->conn), "authentication failed for user '%.*s'",
               (int)SL_MIN(user.len, 128), (const char *)user.ptr);
        send_error(cc, h->stream, SL_CQL_ERR_BAD_CREDENTIALS,
                   "Provided username %.*s and/or password are incorrect",
                   (int)SL_MIN(user.len, 1024), (const char *)user.ptr);
        return;
    }
    conn_ready(cc, cfg->user);
    sl_buf b = SL_BUF_INIT;
    size_t off = sl_cql_frame_begin(&b, 0, h->stream, SL_CQL_OP_AUTH_SUCCESS);
    sl_cql_put_bytes(&b, NULL, 0);
    sl_cql_frame_finish(&b, off);
    conn_send(cc, &b);
}

static void cql_handle_REGISTER(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    static const char *const names[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
    sl_cql_string_list list;
    if (sl_cql_rd_string_list(body, &cc->arena, &list)) {
        send_parse_error(cc, h, body);
        return;
    }
    unsigned events = 0;
    for (size_t i = 0; i < list.n; i++) {
        size_t k = 0;
        while (k < SL_ARRAY_LEN(names) && !sl_slice_eq_str(list.items[i], names[k]))
            k++;
        if (k == SL_ARRAY_LEN(names)) {
            send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL, "Invalid value '%.*s' for Type",
                       (int)SL_MIN(list.items[i].len, 64), (const char *)list.items[i].ptr);
            return;
        }
        events |= 1u << k;
    }
    cc->events |= events;
    sl_cql_server *s = cc->srv;
    if ((cc->events & EV_SCHEMA_CHANGE) && !cc->ev_listed) {
        cc->ev_listed = true;
        cc->ev_prev = NULL;
        cc->ev_next = s->listeners;
        if (s->listeners) s->listeners->ev_prev = cc;
        s->listeners = cc;
    }
    send_empty(cc, h->stream, SL_CQL_OP_READY);
}

static void on_engine_result(void *arg, sl_cql_result *res)
{
    cql_req *req = arg;
    cql_conn *cc = req->cc;
    cc->inflight--;
    send_result(cc, req->stream, res, req->skip_metadata);
    sl_cql_result_free(res);
    conn_check_pause(cc);
    sl_conn_release(cc->conn);
    sl_free(req);
}

static cql_req *req_new(cql_conn *cc, int16_t stream, bool skip_metadata)
{
    cql_req *req = sl_malloc(sizeof *req);
    req->cc = cc;
    req->stream = stream;
    req->skip_metadata = skip_metadata;
    cc->inflight++;
    sl_conn_keep(cc->conn);
    return req;
}

/* Checks the parameters the engine takes on trust; answers and returns false when one is bad. */
static bool query_params_ok(cql_conn *cc, int16_t stream, const sl_cql_query *q)
{
    if (!consistency_ok(cc, stream, q->consistency)) return false;
    if (q->serial_consistency && !consistency_ok(cc, stream, q->serial_consistency)) return false;
    if (q->page_size == 0) {
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL, "The page size cannot be 0");
        return false;
    }
    if (q->has_timestamp && q->timestamp == INT64_MIN) {
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL,
                   "Out of bound timestamp, must be in [%lld, %lld] (got %lld)",
                   (long long)INT64_MIN + 1, (long long)INT64_MAX, (long long)q->timestamp);
        return false;
    }
    return true;
}

static void send_unprepared(cql_conn *cc, int16_t stream, sl_slice id)
{
    sl_cql_result res = {.kind = SL_CQL_RESULT_ERROR};
    res.error.code = SL_CQL_ERR_UNPREPARED;
    res.error.message = "Prepared query with ID  not found (either the query was not prepared on "
                        "this host (maybe the host has been restarted?) or you have prepared too "
                        "many queries and it has been evicted from the internal cache)";
    res.error.unprepared_id = id;
    send_result(cc, stream, &res, false);
}

static void cql_handle_QUERY_or_EXECUTE(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    sl_cql_query q = {0};
    int rc = h->opcode == SL_CQL_OP_QUERY ? sl_cql_decode_query(body, &cc->arena, &q)
                                          : sl_cql_decode_execute(body, &cc->arena, &q);
    if (rc) {
        send_parse_error(cc, h, body);
        return;
    }
    if (!query_params_ok(cc, h->stream, &q)) return;
    if (h->opcode == SL_CQL_OP_EXECUTE && q.id.len == 0) {
        send_unprepared(cc, h->stream, q.id);
        return;
    }
    cql_req *req = req_new(cc, h->stream, q.skip_metadata);
    sl_cql_execute(cc->srv->engine, cc->session, &q, on_engine_result, req);
}

static void cql_handle_QUERY(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    cql_handle_QUERY_or_EXECUTE(cc, h, body);
}

static void cql_handle_EXECUTE(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    cql_handle_QUERY_or_EXECUTE(cc, h, body);
}

static void cql_handle_PREPARE(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    sl_slice query;
    if (sl_cql_decode_prepare(body, &query)) {
        send_parse_error(cc, h, body);
        return;
    }
    sl_cql_result *res = sl_cql_prepare(cc->srv->engine, cc->session, query);
    send_result(cc, h->stream, res, false);
    sl_cql_result_free(res);
}

static void cql_handle_BATCH(cql_conn *cc, const sl_cql_header *h, sl_rd *body)
{
    sl_cql_batch_req batch;
    if (sl_cql_decode_batch(body, &cc->arena, &batch)) {
        send_parse_error(cc, h, body);
        return;
    }
    if (!consistency_ok(cc, h->stream, batch.consistency)) return;
    if (batch.serial_consistency && !consistency_ok(cc, h->stream, batch.serial_consistency))
        return;
    for (size_t i = 0; i < batch.n_stmts; i++) {
        const sl_cql_batch_stmt *st = &batch.stmts[i];
        if (st->text.ptr == NULL && st->id.len == 0) {
            send_unprepared(cc, h->stream, st->id);
            return;
        }
    }
    cql_req *req = req_new(cc, h->stream, false);
    sl_cql_execute_batch(cc->srv->engine, cc->session, &batch, on_engine_result, req);
}

/* The opcode table: which requests exist and in which phases they are accepted. */
enum { IN_NEW = 1 << PHASE_NEW, IN_AUTH = 1 << PHASE_AUTHENTICATING, IN_READY = 1 << PHASE_READY };

typedef struct cql_op {
    cql_handler handler;
    unsigned phases;
} cql_op;

static const cql_op ops[SL_CQL_OP_MAX + 1] = {
    [SL_CQL_OP_STARTUP] = {cql_handle_STARTUP, IN_NEW},
    [SL_CQL_OP_OPTIONS] = {cql_handle_OPTIONS, IN_NEW | IN_READY},
    [SL_CQL_OP_AUTH_RESPONSE] = {cql_handle_AUTH_RESPONSE, IN_AUTH | IN_READY},
    [SL_CQL_OP_REGISTER] = {cql_handle_REGISTER, IN_READY},
    [SL_CQL_OP_QUERY] = {cql_handle_QUERY, IN_READY},
    [SL_CQL_OP_PREPARE] = {cql_handle_PREPARE, IN_READY},
    [SL_CQL_OP_EXECUTE] = {cql_handle_EXECUTE, IN_READY},
    [SL_CQL_OP_BATCH] = {cql_handle_BATCH, IN_READY},
};

/* Answers a request its connection's phase does not allow, in Cassandra's words. */
static void send_phase_error(cql_conn *cc, const sl_cql_header *h)
{
    const char *name = sl_cql_opcode_name(h->opcode);
    switch (cc->phase) {
    case PHASE_NEW:
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "Unexpected message %s, expecting STARTUP or OPTIONS", name);
        break;
    case PHASE_AUTHENTICATING:
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "Unexpected message %s, expecting SASL_RESPONSE", name);
        break;
    case PHASE_READY:
        send_error(cc, h->stream, SL_CQL_ERR_PROTOCOL,
                   "Unexpected message STARTUP, the connection is already initialized");
        break;
    }
}

static void handle_frame(cql_conn *cc, const uint8_t *frame, size_t len)
{
    sl_cql_header h;
    sl_cql_header_read(frame, &h);
    sl_slice body = {frame + SL_CQL_HEADER_LEN, len - SL_CQL_HEADER_LEN};
    const cql_op *op = h.opcode <= SL_CQL_OP_MAX ? &ops[h.opcode] : NULL;
    if (!op || !op->handler) {
        const char *name = sl_cql_opcode_name(h.opcode);
        if (name)
            send_error(cc, h.stream, SL_CQL_ERR_PROTOCOL,
                       "Wrong protocol direction (expected RESPONSE, got REQUEST) for opcode %u "
                       "(%s)",
                       h.opcode, name);
        else
            send_error(cc, h.stream, SL_CQL_ERR_PROTOCOL, "Unknown opcode %u", h.opcode);
        return;
    }
    if (!(op->phases & (1u << cc->phase))) {
        send_phase_error(cc, &h);
        return;
    }
    if (h.flags & SL_CQL_FLAG_COMPRESSION) {
        if (cc->comp == SL_CQL_COMPRESSION_NONE) {
            send_error(cc, h.stream, SL_CQL_ERR_PROTOCOL,
                       "Received a compressed %s frame but no compression was negotiated",
                       sl_cql_opcode_name(h.opcode));
            return;
        }
        sl_buf_reset(&cc->zbuf);
        int rc = sl_cql_decompress(cc->comp, body, cc->srv->max_body, &cc->zbuf);
        if (rc == SL_ERR_TOOBIG) {
            send_error(cc, h.stream, SL_CQL_ERR_PROTOCOL,
                       "Request is too big: uncompressed length exceeds maximum allowed length "
                       "%zu.",
                       cc->srv->max_body);
            return;
        }
        if (rc) {
            send_error(cc, h.stream, SL_CQL_ERR_PROTOCOL, "Invalid %s-compressed %s frame body",
                       sl_cql_compression_name(cc->comp), sl_cql_opcode_name(h.opcode));
            return;
        }
        body = sl_buf_slice(&cc->zbuf);
    }
    sl_rd r;
    sl_rd_init(&r, body.ptr, body.len);
    if (h.flags & SL_CQL_FLAG_CUSTOM_PAYLOAD) {
        /* Cassandra's default query handler ignores custom payloads; so do we. */
        sl_cql_bytes_map payload;
        if (sl_cql_rd_bytes_map(&r, &cc->arena, &payload)) {
            send_parse_error(cc, &h, &r);
            return;
        }
    }
    op->handler(cc, &h, &r);
}

/* Refuses a frame whose header cannot be trusted, in the words drivers act on, then closes:
 * the byte stream is lost. Whatever was negotiated, the answer is uncompressed and has a v4
 * response header, which lets a driver trying a newer version step down to 4. */
static void refuse_frame(cql_conn *cc, int rc, const uint8_t *hdr, size_t n)
{
    int16_t stream = sl_cql_header_stream(hdr, n);
    int version = n > 0 ? hdr[0] & 0x7f : 0;
    cc->comp = SL_CQL_COMPRESSION_NONE;
    if (n > 0 && version != SL_CQL_VERSION) {
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL,
                   "Invalid or unsupported protocol version (%d); supported versions are (%s)",
                   version, SL_CQL_PROTOCOL_NAME);
    } else if (n > 0 && (hdr[0] & 0x80)) {
        uint8_t op = n > 4 ? hdr[4] : 0;
        const char *name = sl_cql_opcode_name(op);
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL,
                   "Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode %u (%s)",
                   op, name ? name : "unknown");
    } else if (rc == SL_ERR_TOOBIG && n >= SL_CQL_HEADER_LEN) {
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL,
                   "Request is too big: length %u exceeds maximum allowed length %zu.",
                   sl_get_be32(hdr + 5), cc->srv->max_body);
    } else {
        send_error(cc, stream, SL_CQL_ERR_PROTOCOL, "Invalid frame body length %d",
                   n >= SL_CQL_HEADER_LEN ? (int32_t)sl_get_be32(hdr + 5) : -1);
    }
    conn_flush(cc);
    sl_conn_close(cc->conn);
}

/* sl_server callbacks. */

static void on_frame(sl_conn *c, const uint8_t *frame, size_t len)
{
    cql_conn *cc = sl_conn_data(c);
    if (frame[0] != SL_CQL_VERSION) {
        /* The first 4 bytes of another version's frame (sl_cql_frame_len): a driver probing
         * for its newest version, which steps down on the answer. */
        sl_log(SL_LOG_DEBUG, SUBSYS, sl_conn_peer(c), "refusing protocol version byte 0x%02x",
               frame[0]);
        refuse_frame(cc, SL_ERR_PARSE, frame, len);
        return;
    }
    handle_frame(cc, frame, len);
    sl_arena_reset(&cc->arena);
    if (cc->zbuf.cap > ZBUF_KEEP_MAX) sl_buf_free(&cc->zbuf);
    sl_buf_reset(&cc->zbuf);
    conn_check_pause(cc);
}

/* sl_server: a negative length or one over the limit; the server closes the connection. */
static void on_frame_error(sl_conn *c, int rc, const uint8_t *hdr, size_t n)
{
    refuse_frame(sl_conn_data(c), rc, hdr, n);
}

static void on_open(sl_conn *c)
{
    sl_cql_server *s = sl_server_udata(sl_conn_server(c));
    cql_conn *cc = sl_calloc(1, sizeof *cc);
    cc->srv = s;
    cc->conn = c;
    cc->phase = PHASE_NEW;
    sl_arena_init(&cc->arena, ARENA_CHUNK);
    sl_conn_set_data(c, cc);
}

static void on_close(sl_conn *c)
{
    cql_conn *cc = sl_conn_data(c);
    sl_cql_server *s = cc->srv;
    if (cc->ev_listed) {
        if (cc->ev_prev)
            cc->ev_prev->ev_next = cc->ev_next;
        else
            s->listeners = cc->ev_next;
        if (cc->ev_next) cc->ev_next->ev_prev = cc->ev_prev;
    }
    if (cc->session) sl_cql_session_free(cc->session);
    sl_buf_free(&cc->out);
    sl_buf_free(&cc->zbuf);
    sl_arena_free(&cc->arena);
    sl_free(cc);
}

/* Engine -> server: a DDL statement committed; push SCHEMA_CHANGE to registered connections. */
static void on_schema_change(void *arg, const sl_cql_schema_change *ch)
{
    sl_cql_server *s = arg;
    for (cql_conn *cc = s->listeners; cc; cc = cc->ev_next) {
        if (sl_conn_closing(cc->conn)) continue;
        sl_buf b = SL_BUF_INIT;
        size_t off = sl_cql_frame_begin(&b, 0, SL_CQL_EVENT_STREAM, SL_CQL_OP_EVENT);
        sl_cql_put_cstring(&b, "SCHEMA_CHANGE");
        put_schema_change(&b, ch);
        sl_cql_frame_finish(&b, off);
        conn_send(cc, &b);
    }
}

/* Lifecycle. */

static void cfg_copy(sl_cql_server_config *dst, const sl_cql_server_config *src)
{
    *dst = *src;
    for (const sl_opt *o = sl_cql_server_opts; o->name; o++) {
        if (o->type != SL_OPT_STR && o->type != SL_OPT_HOSTPORT && o->type != SL_OPT_ENUM) continue;
        char **p = (char **)((char *)dst + o->offset);
        if (*p) *p = sl_strdup(*p);
    }
}

int sl_cql_server_open(uv_loop_t *loop, const sl_cql_server_config *cfg, sl_cql_server **out)
{
    sl_cql_server *s = sl_calloc(1, sizeof *s);
    s->loop = loop;
    cfg_copy(&s->cfg, cfg);
    s->max_body = (size_t)cfg->max_frame_bytes;
    if (s->cfg.auth_enabled) {
        size_t n = strlen(s->cfg.password);
        if (sl_auth_hash_valid(s->cfg.password))
            snprintf(s->pw_hash, sizeof s->pw_hash, "%s", s->cfg.password);
        else
            sl_auth_hash(s->cfg.password, n, SL_AUTH_ITERATIONS, s->pw_hash);
        OPENSSL_cleanse(s->cfg.password, n);
        if (RAND_bytes(s->ok_key, sizeof s->ok_key) != 1) abort();
    }

    char host[256];
    int port = 0;
    sl_hostport_parse(cfg->listen, host, sizeof host, &port);
    sl_cql_engine_opts eo;
    sl_cql_engine_opts_default(&eo);
    eo.data_dir = s->cfg.data_dir;
    eo.sync_mode = cfg->sync_mode;
    eo.sync_period_ms = cfg->commitlog_sync_period;
    eo.memtable_bytes = (size_t)cfg->memtable_bytes;
    eo.block_cache_bytes = (size_t)cfg->block_cache_bytes;
    eo.cluster_name = s->cfg.cluster_name;
    eo.datacenter = s->cfg.datacenter;
    eo.release_version = RELEASE_VERSION;
    eo.cql_version = SL_CQL_CQL_VERSION;
    eo.rpc_address = host;
    eo.rpc_port = port;
    char *errmsg = NULL;
    int rc = sl_cql_engine_open(loop, &eo, &s->engine, &errmsg);
    if (rc) {
        sl_log(SL_LOG_ERROR, SUBSYS, NULL, "cannot open the store in %s: %s", cfg->data_dir,
               errmsg ? errmsg : sl_strerror(rc));
        sl_free(errmsg);
        sl_config_free(sl_cql_server_opts, &s->cfg);
        sl_free(s);
        return rc;
    }
    sl_server_opts so = {
        .listen = s->cfg.listen,
        .max_frame = SL_CQL_HEADER_LEN + s->max_body,
        .max_conns = (unsigned)cfg->max_connections,
        .frame_len = sl_cql_frame_len,
        .name = SUBSYS,
        .tls_cert = s->cfg.tls_cert,
        .tls_key = s->cfg.tls_key,
        .tls_ca = s->cfg.tls_ca,
        .udata = s,
        .on_open = on_open,
        .on_frame = on_frame,
        .on_frame_error = on_frame_error,
        .on_close = on_close,
    };
    rc = sl_server_start(loop, &so, &s->srv);
    if (rc) {
        sl_cql_engine_close(s->engine);
        sl_config_free(sl_cql_server_opts, &s->cfg);
        sl_free(s);
        return rc;
    }
    s->server_open = true;
    sl_cql_engine_on_schema_change(s->engine, on_schema_change, s);
    uv_timer_init(loop, &s->backlog_timer);
    uv_check_init(loop, &s->flush_check);
    uv_idle_init(loop, &s->flush_idle);
    s->backlog_timer.data = s->flush_check.data = s->flush_idle.data = s;
    s->handles_open = 3;
    sl_log(SL_LOG_INFO, SUBSYS, NULL, "serving CQL v4 on %s:%d (auth %s, commitlog_sync %s%s)",
           host, sl_server_port(s->srv), cfg->auth_enabled ? "on" : "off", cfg->commitlog_sync,
           !cfg->tls_cert ? ""
           : cfg->tls_ca  ? ", TLS with client certificates"
                          : ", TLS");
    *out = s;
    return 0;
}

int sl_cql_server_port(const sl_cql_server *s)
{
    return s->srv ? sl_server_port(s->srv) : -1;
}

static void maybe_finish(sl_cql_server *s)
{
    if (s->server_open || s->handles_open || !s->stopping || !s->engine) return;
    sl_cql_engine_on_schema_change(s->engine, NULL, NULL);
    sl_cql_engine_close(s->engine);
    s->engine = NULL;
    sl_log(SL_LOG_INFO, SUBSYS, NULL, "stopped");
    if (s->done) s->done(s->done_arg);
}

static void on_server_stopped(void *arg)
{
    sl_cql_server *s = arg;
    s->server_open = false;
    s->srv = NULL;
    maybe_finish(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_cql_server *s = h->data;
    s->handles_open--;
    maybe_finish(s);
}

void sl_cql_server_stop(sl_cql_server *s, void (*done)(void *arg), void *arg)
{
    if (s->stopping) return;
    s->stopping = true;
    s->done = done;
    s->done_arg = arg;
    sl_log(SL_LOG_INFO, SUBSYS, NULL, "stopping");
    while (s->backlog) {
        cql_conn *cc = s->backlog;
        s->backlog = cc->backlog_next;
        cc->backlog = false;
        sl_conn_release(cc->conn);
    }
    /* From here conn_send writes at once; what is gathered goes out before the closes. */
    on_flush_check(&s->flush_check);
    uv_close((uv_handle_t *)&s->backlog_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->flush_check, on_handle_closed);
    uv_close((uv_handle_t *)&s->flush_idle, on_handle_closed);
    sl_server_stop(s->srv, on_server_stopped, s);
}

void sl_cql_server_free(sl_cql_server *s)
{
    if (!s) return;
    sl_config_free(sl_cql_server_opts, &s->cfg);
    sl_free(s);
}
