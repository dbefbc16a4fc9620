/* client.c: the CQL native protocol v4 client (see client.h for the threading model).
 *
 * Structure: a client has hosts (contact points), each with conns_per_host connections. A
 * request waits in the client's pending queue until a ready connection has a free stream id,
 * then is framed into that connection's output buffer; output is flushed once per loop turn
 * (uv_prepare), so requests issued in one turn share one write. Responses are matched by stream
 * id. A prepared statement lives in the cache keyed by keyspace and query text; requests that
 * need it wait on it, and an Unprepared answer sends the request back to wait for a PREPARE
 * pinned to the host that forgot it.
 *
 * The frame notation helpers here are the few the client needs (requests out, results in); the
 * server side has its own in frame.c. */
#include "cql/client.h"
#include "cql/client_int.h"
#include "core/codec.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "cqlc"

enum {
    OP_ERROR = 0x00,
    OP_STARTUP = 0x01,
    OP_READY = 0x02,
    OP_AUTHENTICATE = 0x03,
    OP_QUERY = 0x07,
    OP_RESULT = 0x08,
    OP_PREPARE = 0x09,
    OP_EXECUTE = 0x0A,
    OP_BATCH = 0x0D,
    OP_AUTH_CHALLENGE = 0x0E,
    OP_AUTH_RESPONSE = 0x0F,
    OP_AUTH_SUCCESS = 0x10,
};

enum {
    HF_COMPRESSION = 0x01,
    HF_TRACING = 0x02,
    HF_CUSTOM_PAYLOAD = 0x04,
    HF_WARNING = 0x08,
};

enum {
    QF_VALUES = 0x01,
    QF_SKIP_METADATA = 0x02,
    QF_PAGE_SIZE = 0x04,
    QF_PAGING_STATE = 0x08,
    QF_SERIAL = 0x10,
    QF_TIMESTAMP = 0x20,
};

#define MAX_HOSTS         64 /* hosts are tracked in 64-bit masks */
#define MAX_STREAMS       32768
#define MAX_ATTEMPTS      3 /* sends of one request over lost connections */
#define MAX_REPREPARES    3
#define MAX_TYPE_DEPTH    16
#define TICK_MS           50
#define READ_CHUNK        (64 * 1024)
#define CACHE_BUCKETS_MIN 64

/* Frame notation (§3), the parts a client writes and reads. */

size_t sl__cqlc_frame_begin(sl_buf *b, int16_t stream, uint8_t opcode)
{
    size_t off = b->len;
    uint8_t *h = sl_buf_extend(b, SL__CQLC_HEADER_LEN);
    h[0] = 0x04;
    h[1] = 0;
    sl_put_be16(h + 2, (uint16_t)stream);
    h[4] = opcode;
    sl_put_be32(h + 5, 0);
    return off;
}

void sl__cqlc_frame_finish(sl_buf *b, size_t hdr_off)
{
    sl_put_be32(b->ptr + hdr_off + 5, (uint32_t)(b->len - hdr_off - SL__CQLC_HEADER_LEN));
}

static void put_string(sl_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 65535) n = 65535;
    sl_buf_put_be16(b, (uint16_t)n);
    sl_buf_append(b, s, n);
}

void sl__cqlc_put_long_string(sl_buf *b, const char *s, size_t len)
{
    sl_buf_put_be32(b, (uint32_t)len);
    sl_buf_append(b, s, len);
}

void sl__cqlc_put_short_bytes(sl_buf *b, const void *p, size_t len)
{
    sl_buf_put_be16(b, (uint16_t)len);
    sl_buf_append(b, p, len);
}

static void put_value(sl_buf *b, sl_slice v)
{
    if (!v.ptr) {
        sl_buf_put_be32(b, (uint32_t)-1);
        return;
    }
    sl_buf_put_be32(b, (uint32_t)v.len);
    sl_buf_append(b, v.ptr, v.len);
}

void sl__cqlc_put_startup(sl_buf *b)
{
    sl_buf_put_be16(b, 3);
    put_string(b, "CQL_VERSION");
    put_string(b, "3.0.0");
    put_string(b, "DRIVER_NAME");
    put_string(b, "sluice");
    put_string(b, "DRIVER_VERSION");
    put_string(b, SLUICE_VERSION);
}

void sl__cqlc_put_auth_plain(sl_buf *b, const char *user, const char *password)
{
    size_t ul = strlen(user), pl = strlen(password);
    sl_buf_put_be32(b, (uint32_t)(ul + pl + 2));
    sl_buf_put_u8(b, 0);
    sl_buf_append(b, user, ul);
    sl_buf_put_u8(b, 0);
    sl_buf_append(b, password, pl);
}

static const sl_cqlc_qopts default_qopts = SL_CQLC_QOPTS_INIT;

static uint8_t params_flags(size_t nvalues, const sl_cqlc_qopts *qo)
{
    uint8_t f = 0;
    if (nvalues) f |= QF_VALUES;
    if (qo->skip_metadata) f |= QF_SKIP_METADATA;
    if (qo->page_size > 0) f |= QF_PAGE_SIZE;
    if (qo->page_size > 0 && qo->paging_state.ptr) f |= QF_PAGING_STATE;
    if (qo->serial_consistency >= 0) f |= QF_SERIAL;
    if (qo->timestamp != INT64_MIN) f |= QF_TIMESTAMP;
    return f;
}

void sl__cqlc_put_params(sl_buf *b, const sl_slice *values, size_t nvalues, const sl_cqlc_qopts *qo,
                         int default_cl)
{
    if (!qo) qo = &default_qopts;
    uint8_t f = params_flags(nvalues, qo);
    sl_buf_put_be16(b, (uint16_t)(qo->consistency >= 0 ? qo->consistency : default_cl));
    sl_buf_put_u8(b, f);
    if (f & QF_VALUES) {
        sl_buf_put_be16(b, (uint16_t)nvalues);
        for (size_t i = 0; i < nvalues; i++)
            put_value(b, values[i]);
    }
    if (f & QF_PAGE_SIZE) sl_buf_put_be32(b, (uint32_t)qo->page_size);
    if (f & QF_PAGING_STATE) put_value(b, qo->paging_state);
    if (f & QF_SERIAL) sl_buf_put_be16(b, (uint16_t)qo->serial_consistency);
    if (f & QF_TIMESTAMP) sl_buf_put_be64(b, (uint64_t)qo->timestamp);
}

static int rd_string(sl_rd *r, sl_slice *s)
{
    uint16_t n;
    if (sl_rd_be16(r, &n)) return SL_ERR_PARSE;
    return sl_rd_bytes(r, n, s);
}

static int rd_cstring(sl_rd *r, sl_arena *a, const char **out)
{
    sl_slice s;
    if (rd_string(r, &s)) return SL_ERR_PARSE;
    *out = sl_arena_strndup(a, (const char *)s.ptr, s.len);
    return 0;
}

static int rd_short_bytes(sl_rd *r, sl_slice *s)
{
    return rd_string(r, s);
}

/* [bytes]: a negative length is null (ptr NULL). */
static int rd_bytes(sl_rd *r, sl_slice *s)
{
    int32_t n;
    if (sl_rd_i32(r, &n)) return SL_ERR_PARSE;
    if (n < 0) {
        *s = SL_SLICE_NULL;
        return 0;
    }
    return sl_rd_bytes(r, (size_t)n, s);
}

static int rd_string_list(sl_rd *r, sl_arena *a, const char ***out, size_t *n)
{
    uint16_t cnt;
    if (sl_rd_be16(r, &cnt)) return SL_ERR_PARSE;
    if ((size_t)cnt * 2 > sl_rd_left(r)) return sl_rd_fail(r);
    const char **v = sl_arena_alloc(a, sizeof(*v) * (cnt ? cnt : 1));
    for (uint16_t i = 0; i < cnt; i++)
        if (rd_cstring(r, a, &v[i])) return SL_ERR_PARSE;
    *out = v;
    *n = cnt;
    return 0;
}

static int rd_type(sl_rd *r, sl_arena *a, sl_cqlc_type *t, int depth)
{
    const uint8_t *start = r->p;
    memset(t, 0, sizeof(*t));
    if (depth > MAX_TYPE_DEPTH) return sl_rd_fail(r);
    if (sl_rd_be16(r, &t->id)) return SL_ERR_PARSE;
    switch (t->id) {
    case SL_CQLC_T_CUSTOM:
        if (rd_cstring(r, a, &t->name)) return SL_ERR_PARSE;
        break;
    case SL_CQLC_T_LIST:
    case SL_CQLC_T_SET:
    case SL_CQLC_T_MAP:
        t->nsub = t->id == SL_CQLC_T_MAP ? 2 : 1;
        t->sub = sl_arena_alloc(a, sizeof(*t->sub) * t->nsub);
        for (uint16_t i = 0; i < t->nsub; i++)
            if (rd_type(r, a, &t->sub[i], depth + 1)) return SL_ERR_PARSE;
        break;
    case SL_CQLC_T_UDT:
    case SL_CQLC_T_TUPLE:
        if (t->id == SL_CQLC_T_UDT &&
            (rd_cstring(r, a, &t->keyspace) || rd_cstring(r, a, &t->name)))
            return SL_ERR_PARSE;
        if (sl_rd_be16(r, &t->nsub)) return SL_ERR_PARSE;
        if ((size_t)t->nsub * 2 > sl_rd_left(r)) return sl_rd_fail(r);
        t->sub = sl_arena_alloc(a, sizeof(*t->sub) * (t->nsub ? t->nsub : 1));
        if (t->id == SL_CQLC_T_UDT)
            t->field_names = sl_arena_alloc(a, sizeof(char *) * (t->nsub ? t->nsub : 1));
        for (uint16_t i = 0; i < t->nsub; i++) {
            if (t->id == SL_CQLC_T_UDT && rd_cstring(r, a, &t->field_names[i])) return SL_ERR_PARSE;
            if (rd_type(r, a, &t->sub[i], depth + 1)) return SL_ERR_PARSE;
        }
        break;
    default: break; /* a native type: the id is all */
    }
    t->option = (sl_slice){start, (size_t)(r->p - start)};
    return 0;
}

/* <metadata> of a Rows result or of a Prepared result's result_metadata (§4.2.5.2). */
/* count column specs, after the global keyspace and table when flags has Global_tables_spec
 * (0x0001); count is checked against the bytes left by the caller. */
static int rd_col_specs(sl_rd *r, sl_arena *a, int32_t flags, int32_t count, sl_cqlc_col **out)
{
    const char *gks = NULL, *gtable = NULL;
    if ((flags & 0x0001) && (rd_cstring(r, a, &gks) || rd_cstring(r, a, &gtable)))
        return SL_ERR_PARSE;
    sl_cqlc_col *cols = sl_arena_alloc(a, sizeof(sl_cqlc_col) * (count ? (size_t)count : 1));
    *out = cols;
    for (int32_t i = 0; i < count; i++) {
        sl_cqlc_col *col = &cols[i];
        if (flags & 0x0001) {
            col->keyspace = gks;
            col->table = gtable;
        } else if (rd_cstring(r, a, &col->keyspace) || rd_cstring(r, a, &col->table)) {
            return SL_ERR_PARSE;
        }
        if (rd_cstring(r, a, &col->name) || rd_type(r, a, &col->type, 0)) return SL_ERR_PARSE;
    }
    return 0;
}

static int rd_rows_meta(sl_rd *r, sl_cqlc_result *res)
{
    int32_t flags, count;
    if (sl_rd_i32(r, &flags) || sl_rd_i32(r, &count)) return SL_ERR_PARSE;
    if (count < 0 || (size_t)count > sl_rd_left(r) + 65536) return sl_rd_fail(r);
    if (flags & 0x0002) {
        if (rd_bytes(r, &res->paging_state)) return SL_ERR_PARSE;
        res->has_more_pages = true;
    }
    res->row_width = (size_t)count;
    if (flags & 0x0004) return 0; /* no metadata: the caller knows the columns */
    /* Each column spec needs at least a name length and a type id. */
    if ((size_t)count * 4 > sl_rd_left(r)) return sl_rd_fail(r);
    res->ncols = (size_t)count;
    return rd_col_specs(r, &res->arena, flags, count, &res->cols);
}

static int rd_prepared(sl_rd *r, sl_cqlc_result *res)
{
    int32_t flags, count, npk;
    if (rd_short_bytes(r, &res->id) || sl_rd_i32(r, &flags) || sl_rd_i32(r, &count) ||
        sl_rd_i32(r, &npk))
        return SL_ERR_PARSE;
    if (count < 0 || npk < 0 || (size_t)npk * 2 > sl_rd_left(r) ||
        (size_t)count * 4 > sl_rd_left(r))
        return sl_rd_fail(r);
    res->npk = (size_t)npk;
    res->pk_index = sl_arena_alloc(&res->arena, sizeof(uint16_t) * (npk ? (size_t)npk : 1));
    for (int32_t i = 0; i < npk; i++)
        if (sl_rd_be16(r, &res->pk_index[i])) return SL_ERR_PARSE;
    res->nbind = (size_t)count;
    if (rd_col_specs(r, &res->arena, flags, count, &res->bind)) return SL_ERR_PARSE;
    if (rd_rows_meta(r, res)) return SL_ERR_PARSE;
    /* A Prepared result's metadata never has pages. */
    res->has_more_pages = false;
    res->paging_state = SL_SLICE_NULL;
    return 0;
}

/* Skips the tracing id and custom payload, and reads warnings, that precede a response body
 * (§2.2; Cassandra writes them in this order). */
static int rd_response_prefix(sl_rd *r, uint8_t hdr_flags, sl_arena *a, const char ***warnings,
                              size_t *nwarnings)
{
    if ((hdr_flags & HF_TRACING) && sl_rd_skip(r, 16)) return SL_ERR_PARSE;
    if (hdr_flags & HF_WARNING) {
        if (rd_string_list(r, a, warnings, nwarnings)) return SL_ERR_PARSE;
    }
    if (hdr_flags & HF_CUSTOM_PAYLOAD) {
        uint16_t n;
        if (sl_rd_be16(r, &n)) return SL_ERR_PARSE;
        for (uint16_t i = 0; i < n; i++) {
            sl_slice k, v;
            if (rd_string(r, &k) || rd_bytes(r, &v)) return SL_ERR_PARSE;
        }
    }
    return 0;
}

int sl__cqlc_decode_result(uint8_t hdr_flags, sl_buf *body, sl_cqlc_result **out)
{
    sl_cqlc_result *res = sl_calloc(1, sizeof(*res));
    sl_buf_move(&res->body, body);
    sl_arena_init(&res->arena, 1024);
    *out = NULL;
    sl_rd r;
    sl_rd_init(&r, res->body.ptr, res->body.len);
    int32_t kind;
    if (rd_response_prefix(&r, hdr_flags, &res->arena, &res->warnings, &res->nwarnings) ||
        sl_rd_i32(&r, &kind))
        goto err;
    res->kind = kind;
    switch (kind) {
    case SL_CQLC_VOID: break;
    case SL_CQLC_ROWS: {
        if (rd_rows_meta(&r, res)) goto err;
        int32_t nrows;
        if (sl_rd_i32(&r, &nrows) || nrows < 0) goto err;
        /* Every cell is at least a 4-byte length: bound the allocation by the bytes left. */
        if (res->row_width && (size_t)nrows > sl_rd_left(&r) / 4 / res->row_width) goto err;
        res->nrows = (size_t)nrows;
        size_t ncells = res->nrows * res->row_width;
        res->cells = sl_arena_alloc(&res->arena, sizeof(sl_slice) * (ncells ? ncells : 1));
        for (size_t i = 0; i < ncells; i++)
            if (rd_bytes(&r, &res->cells[i])) goto err;
        break;
    }
    case SL_CQLC_SET_KEYSPACE:
        if (rd_cstring(&r, &res->arena, &res->keyspace)) goto err;
        break;
    case SL_CQLC_PREPARED:
        if (rd_prepared(&r, res)) goto err;
        break;
    case SL_CQLC_SCHEMA_CHANGE:
        if (rd_cstring(&r, &res->arena, &res->change_type) ||
            rd_cstring(&r, &res->arena, &res->target) ||
            rd_cstring(&r, &res->arena, &res->change_keyspace))
            goto err;
        if (strcmp(res->target, "KEYSPACE") != 0) {
            if (rd_cstring(&r, &res->arena, &res->change_name)) goto err;
            if (!strcmp(res->target, "FUNCTION") || !strcmp(res->target, "AGGREGATE")) {
                const char **args;
                size_t nargs;
                if (rd_string_list(&r, &res->arena, &args, &nargs)) goto err;
            }
        }
        break;
    default: goto err;
    }
    *out = res;
    return 0;
err:
    sl_cqlc_result_free(res);
    return SL_ERR_PARSE;
}

static void copy_str(char *dst, size_t cap, sl_slice s)
{
    size_t n = SL_MIN(s.len, cap - 1);
    memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

int sl__cqlc_decode_error(uint8_t hdr_flags, sl_slice body, sl_cqlc_error *err)
{
    memset(err, 0, sizeof(*err));
    err->status = SL_CQLC_ESERVER;
    sl_rd r;
    sl_rd_init(&r, body.ptr, body.len);
    sl_arena a;
    sl_arena_init(&a, 256);
    const char **warnings;
    size_t nwarnings = 0;
    int32_t code;
    sl_slice msg;
    int rc = SL_ERR_PARSE;
    if (rd_response_prefix(&r, hdr_flags, &a, &warnings, &nwarnings) || sl_rd_i32(&r, &code) ||
        rd_string(&r, &msg))
        goto out;
    err->code = code;
    copy_str(err->message, sizeof(err->message), msg);
    rc = 0;
    /* The extras are informational: a server that omits them still gave code and message. */
    sl_slice s;
    switch (code) {
    case SL_CQLC_UNAVAILABLE:
        if (!sl_rd_be16(&r, &err->consistency) && !sl_rd_i32(&r, &err->required))
            sl_rd_i32(&r, &err->alive);
        break;
    case SL_CQLC_WRITE_TIMEOUT:
    case SL_CQLC_READ_TIMEOUT:
    case SL_CQLC_READ_FAILURE:
    case SL_CQLC_WRITE_FAILURE:
        if (sl_rd_be16(&r, &err->consistency) || sl_rd_i32(&r, &err->received) ||
            sl_rd_i32(&r, &err->blockfor))
            break;
        if (code == SL_CQLC_READ_FAILURE || code == SL_CQLC_WRITE_FAILURE)
            if (sl_rd_i32(&r, &err->numfailures)) break;
        if (code == SL_CQLC_READ_TIMEOUT || code == SL_CQLC_READ_FAILURE)
            sl_rd_u8(&r, &err->data_present);
        else if (!rd_string(&r, &s))
            copy_str(err->write_type, sizeof(err->write_type), s);
        break;
    case SL_CQLC_FUNCTION_FAILURE:
    case SL_CQLC_ALREADY_EXISTS:
        if (!rd_string(&r, &s)) {
            copy_str(err->keyspace, sizeof(err->keyspace), s);
            if (!rd_string(&r, &s)) copy_str(err->table, sizeof(err->table), s);
        }
        break;
    case SL_CQLC_UNPREPARED:
        if (!rd_short_bytes(&r, &s) && s.len <= sizeof(err->unprepared_id)) {
            memcpy(err->unprepared_id, s.ptr, s.len);
            err->unprepared_id_len = (uint8_t)s.len;
        }
        break;
    default: break;
    }
out:
    sl_arena_free(&a);
    return rc;
}

void sl_cqlc_result_free(sl_cqlc_result *res)
{
    if (!res) return;
    sl_buf_free(&res->body);
    sl_arena_free(&res->arena);
    sl_free(res);
}

int sl_cqlc_col_index(const sl_cqlc_result *res, const char *name)
{
    for (size_t i = 0; i < res->ncols; i++)
        if (!strcmp(res->cols[i].name, name)) return (int)i;
    return -1;
}

static const struct {
    int code;
    const char *name;
} code_names[] = {
    {SL_CQLC_SERVER_ERROR, "Server error"},
    {SL_CQLC_PROTOCOL_ERROR, "Protocol error"},
    {SL_CQLC_BAD_CREDENTIALS, "Bad credentials"},
    {SL_CQLC_UNAVAILABLE, "Unavailable exception"},
    {SL_CQLC_OVERLOADED, "Coordinator node overloaded"},
    {SL_CQLC_IS_BOOTSTRAPPING, "Coordinator node is bootstrapping"},
    {SL_CQLC_TRUNCATE_ERROR, "Error during truncate"},
    {SL_CQLC_WRITE_TIMEOUT, "Coordinator node timed out waiting for replica nodes' responses"},
    {SL_CQLC_READ_TIMEOUT, "Coordinator node timed out waiting for replica nodes' responses"},
    {SL_CQLC_READ_FAILURE, "Replica(s) failed to execute read"},
    {SL_CQLC_FUNCTION_FAILURE, "User Defined Function failure"},
    {SL_CQLC_WRITE_FAILURE, "Replica(s) failed to execute write"},
    {SL_CQLC_SYNTAX_ERROR, "Syntax error in CQL query"},
    {SL_CQLC_UNAUTHORIZED, "Unauthorized"},
    {SL_CQLC_INVALID, "Invalid query"},
    {SL_CQLC_CONFIG_ERROR, "Query invalid because of configuration issue"},
    {SL_CQLC_ALREADY_EXISTS, "Already exists"},
    {SL_CQLC_UNPREPARED, "Unprepared query"},
};

const char *sl_cqlc_code_name(int code)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(code_names); i++)
        if (code_names[i].code == code) return code_names[i].name;
    return "Error";
}

const char *sl_cqlc_error_str(const sl_cqlc_error *err, char *buf, size_t len)
{
    if (err->status == SL_CQLC_ESERVER)
        snprintf(buf, len, "code=%04x [%s] message=\"%s\"", (unsigned)err->code,
                 sl_cqlc_code_name(err->code), err->message);
    else
        snprintf(buf, len, "%s", err->message[0] ? err->message : sl_strerror(err->status));
    return buf;
}

static void set_err(sl_cqlc_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(sl_cqlc_error *err, int status, const char *fmt, ...)
{
    memset(err, 0, sizeof(*err));
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* The client. */

typedef struct cqlc_req cqlc_req;
typedef struct cqlc_conn cqlc_conn;
typedef struct cqlc_host cqlc_host;
typedef struct cqlc_prep cqlc_prep;
typedef struct cqlc_wait cqlc_wait;

enum req_kind {
    RK_USER,          /* QUERY / EXECUTE / BATCH for a caller */
    RK_USER_PREPARE,  /* a caller's prepare: only waits on the cache entry, never sent itself */
    RK_STARTUP,       /* handshake, on one connection */
    RK_AUTH,          /* AUTH_RESPONSE, on one connection */
    RK_USE_CONNECT,   /* USE after the handshake, on one connection */
    RK_USE_PROPAGATE, /* USE sent to the other connections after a caller's USE */
    RK_PREPARE,       /* PREPARE for a cache entry */
};

typedef struct batch_entry {
    char *cql;       /* unprepared entries only: a prepared one is sent by its id */
    size_t off, len; /* its <n><value_1>...<value_n> in the request's bvals */
    cqlc_prep *prep;
} batch_entry;

struct cqlc_req {
    cqlc_req *next, *prev; /* pending queue or a connection's in-flight list */
    sl_cqlc *c;
    int kind;
    uint8_t opcode;
    sl_buf body; /* EXECUTE: the parameters after the id; BATCH: the part after the statements */
    cqlc_prep *prep;
    batch_entry *batch;
    size_t nbatch;
    sl_buf bvals; /* BATCH: every entry's values, back to back */
    uint8_t batch_type;
    sl_cqlc_cb cb;
    void *udata;
    cqlc_conn *conn; /* while in flight */
    int stream;
    int pin_host;        /* -1: any host */
    cqlc_conn *pin_conn; /* RK_USE_PROPAGATE, RK_USE_CONNECT... */
    cqlc_req *parent;    /* RK_USE_PROPAGATE: the caller's USE request */
    int64_t deadline;    /* sl_mono_ms; 0: none */
    int attempts;
    int reprepares;
    int nwait;    /* cache entries this request waits for */
    int use_wait; /* USE propagations outstanding before the caller hears back */
    bool idempotent;
    bool queued; /* in the pending queue */
    int status;  /* a failure met while waiting */
    sl_cqlc_error *err;
    sl_cqlc_result *result;
};

struct cqlc_wait {
    cqlc_wait *next;
    cqlc_req *req;
    int host; /* the host whose PREPARE this waits for; -1: any */
};

struct cqlc_prep {
    cqlc_prep *hnext;
    char *key;     /* keyspace "\n" query */
    uint64_t hash; /* of key */
    char *query;
    sl_buf id;
    bool ready;
    sl_buf result_body; /* the Prepared RESULT body, to decode for callers */
    uint64_t preparing; /* hosts with a PREPARE in flight */
    int inflight;       /* PREPAREs in flight */
    cqlc_wait *waiters;
};

enum conn_state { CS_IDLE, CS_CONNECTING, CS_HANDSHAKE, CS_READY, CS_CLOSING };

struct cqlc_conn {
    sl_cqlc *c;
    cqlc_host *host;
    int state;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_timer_t retry;
    bool tcp_open; /* tcp initialised and not yet closed */
    bool writing;
    sl_buf in, out, wbuf;
    cqlc_req **streams;
    int16_t *free_ids;
    int nfree;
    int inflight;
    int orphans;            /* streams of timed-out requests whose answers are still due */
    cqlc_req inflight_list; /* sentinel; send order */
    char *keyspace;
    int failures; /* consecutive failed attempts */
    int64_t connect_deadline;
    sl_buf *capture;       /* detached test connection */
    SSL *ssl;              /* TLS: set from connect to close; NULL in plaintext */
    BIO *tls_in, *tls_out; /* ciphertext from and to the socket (owned by ssl) */
    bool tls_ready;        /* handshake done: out may be encrypted */
};

struct cqlc_host {
    char *addr; /* "host:port" as given */
    char name[256];
    int port;
    int index;
    cqlc_conn *conns;
    bool ever_tried_failed; /* an attempt failed since the client started */
    bool ever_ready;
    sl_cqlc_error last_error;
};

struct sl_cqlc {
    uv_loop_t *loop;
    uv_loop_t own_loop;
    bool own;
    sl_cqlc_opts opts;
    char *contact_points, *user, *password;
    SSL_CTX *tls;       /* opts.tls_ca given; NULL: plaintext */
    uint8_t *tls_rdbuf; /* READ_CHUNK bytes of ciphertext, for the read callback */
    cqlc_host *hosts;
    size_t nhosts;
    size_t rr;
    char *keyspace;
    cqlc_req pending; /* sentinel */
    size_t npending;
    size_t nreq; /* requests alive (callers' and internal) */
    cqlc_prep **buckets;
    size_t nbuckets, nprep;
    uv_timer_t tick;
    uv_prepare_t flush;
    bool flush_active;
    bool tick_ref;
    bool closing;
    int open_handles;
    sl_cqlc_stats stats;
    unsigned conns_ready;
};

static void conn_connect(cqlc_conn *cn);
static void conn_fail(cqlc_conn *cn, const sl_cqlc_error *why);
static void conn_send(cqlc_conn *cn, cqlc_req *req);
static void drain(sl_cqlc *c);
static void req_complete(cqlc_req *req, int status, const sl_cqlc_error *err, sl_cqlc_result *res);
static void req_dispatch(cqlc_req *req);
static void prep_wait(cqlc_prep *p, cqlc_req *req, int host);
static void prep_start(sl_cqlc *c, cqlc_prep *p, int host);
static void on_frame(cqlc_conn *cn, uint8_t flags, int16_t stream, uint8_t opcode, sl_slice body);

/* Requests and lists. */

static void list_init(cqlc_req *s)
{
    s->next = s->prev = s;
}
static bool list_empty(const cqlc_req *s)
{
    return s->next == s;
}
static void list_push(cqlc_req *s, cqlc_req *r)
{
    r->prev = s->prev;
    r->next = s;
    s->prev->next = r;
    s->prev = r;
}
static void list_push_front(cqlc_req *s, cqlc_req *r)
{
    r->next = s->next;
    r->prev = s;
    s->next->prev = r;
    s->next = r;
}
static void list_del(cqlc_req *r)
{
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = r;
}

static void update_tick_ref(sl_cqlc *c)
{
    /* The tick keeps a private loop alive only while something can time out, so sl_cqlc_run
     * and the blocking calls sleep in the kernel instead of spinning. */
    bool want = c->nreq > 0;
    if (want == c->tick_ref || c->closing) return;
    c->tick_ref = want;
    if (want)
        uv_ref((uv_handle_t *)&c->tick);
    else
        uv_unref((uv_handle_t *)&c->tick);
}

static cqlc_req *req_new(sl_cqlc *c, int kind, uint8_t opcode)
{
    cqlc_req *r = sl_calloc(1, sizeof(*r));
    r->next = r->prev = r;
    r->c = c;
    r->kind = kind;
    r->opcode = opcode;
    r->stream = -1;
    r->pin_host = -1;
    if (c->opts.request_timeout_ms > 0) r->deadline = sl_mono_ms() + c->opts.request_timeout_ms;
    c->nreq++;
    update_tick_ref(c);
    return r;
}

static void req_free(cqlc_req *r)
{
    sl_cqlc *c = r->c;
    sl_buf_free(&r->body);
    for (size_t i = 0; i < r->nbatch; i++)
        sl_free(r->batch[i].cql);
    sl_free(r->batch);
    sl_buf_free(&r->bvals);
    sl_free(r->err);
    sl_cqlc_result_free(r->result);
    sl_free(r);
    c->nreq--;
    update_tick_ref(c);
}

static void req_set_error(cqlc_req *r, int status, const sl_cqlc_error *err)
{
    if (r->status) return; /* the first failure is the one reported */
    r->status = status;
    if (!r->err) r->err = sl_malloc(sizeof(*r->err));
    *r->err = *err;
}

/* The prepared statement cache. */

/* FNV-1a over s, continuing from h. */
static uint64_t hash_more(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The hash of prep_key(ks, query), without building the key. */
static uint64_t prep_hash(const char *ks, const char *query)
{
    uint64_t h = hash_more(1469598103934665603ull, ks ? ks : "");
    h = (h ^ (uint8_t)'\n') * 1099511628211ull;
    return hash_more(h, query);
}

static bool prep_key_is(const cqlc_prep *p, const char *ks, const char *query)
{
    size_t kl = ks ? strlen(ks) : 0;
    return !strncmp(p->key, ks ? ks : "", kl) && p->key[kl] == '\n' &&
           !strcmp(p->key + kl + 1, query);
}

static char *prep_key(const char *ks, const char *query)
{
    size_t kl = ks ? strlen(ks) : 0, ql = strlen(query);
    char *k = sl_malloc(kl + ql + 2);
    if (kl) memcpy(k, ks, kl);
    k[kl] = '\n';
    memcpy(k + kl + 1, query, ql + 1);
    return k;
}

/* Runs for every request: the lookup allocates nothing. */
static cqlc_prep *prep_get(sl_cqlc *c, const char *query)
{
    uint64_t h = prep_hash(c->keyspace, query);
    for (cqlc_prep *p = c->buckets[h % c->nbuckets]; p; p = p->hnext)
        if (p->hash == h && prep_key_is(p, c->keyspace, query)) return p;
    if (c->nprep >= c->nbuckets) {
        size_t nb = c->nbuckets * 2;
        cqlc_prep **b = sl_calloc(nb, sizeof(*b));
        for (size_t i = 0; i < c->nbuckets; i++)
            for (cqlc_prep *p = c->buckets[i], *nx; p; p = nx) {
                nx = p->hnext;
                size_t j = p->hash % nb;
                p->hnext = b[j];
                b[j] = p;
            }
        sl_free(c->buckets);
        c->buckets = b;
        c->nbuckets = nb;
    }
    cqlc_prep *p = sl_calloc(1, sizeof(*p));
    p->key = prep_key(c->keyspace, query);
    p->hash = h;
    p->query = sl_strdup(query);
    p->hnext = c->buckets[h % c->nbuckets];
    c->buckets[h % c->nbuckets] = p;
    c->nprep++;
    return p;
}

static void prep_wait(cqlc_prep *p, cqlc_req *req, int host)
{
    cqlc_wait *w = sl_malloc(sizeof(*w));
    w->req = req;
    w->host = host;
    w->next = p->waiters;
    p->waiters = w;
    req->nwait++;
}

/* Sends a PREPARE for p, to host (or any host with -1). */
static void prep_start(sl_cqlc *c, cqlc_prep *p, int host)
{
    cqlc_req *r = req_new(c, RK_PREPARE, OP_PREPARE);
    r->prep = p;
    r->pin_host = host;
    r->idempotent = true;
    sl__cqlc_put_long_string(&r->body, p->query, strlen(p->query));
    p->inflight++;
    if (host >= 0) p->preparing |= 1ull << host;
    req_dispatch(r);
}

/* A PREPARE for p on host finished: ok, or failed with status/err. Wakes the requests waiting
 * for that host or for any host. */
static void prep_done(sl_cqlc *c, cqlc_prep *p, uint64_t hosts, int host, int status,
                      const sl_cqlc_error *err)
{
    p->inflight--;
    p->preparing &= ~hosts;
    cqlc_wait **pw = &p->waiters, *woken = NULL;
    while (*pw) {
        cqlc_wait *w = *pw;
        /* Success gives every waiter the id (a host that still lacks it answers Unprepared
         * again, within MAX_REPREPARES). A failure while other PREPAREs are in flight only
         * fails the waiters of the host that failed. */
        bool match = !status || p->inflight == 0 || (host >= 0 && w->host == host);
        if (match) {
            *pw = w->next;
            w->next = woken;
            woken = w;
        } else {
            pw = &w->next;
        }
    }
    while (woken) {
        cqlc_wait *w = woken;
        woken = w->next;
        cqlc_req *r = w->req;
        sl_free(w);
        if (status) req_set_error(r, status, err);
        if (--r->nwait == 0) req_dispatch(r);
    }
    SL_UNUSED(c);
}

/* Connections and hosts. */

static cqlc_conn *pick_conn(sl_cqlc *c, cqlc_req *req)
{
    if (req->pin_conn) {
        cqlc_conn *cn = req->pin_conn;
        return (cn->state == CS_READY || (cn->state == CS_HANDSHAKE && req->kind != RK_USER)) &&
                       cn->nfree > 0
                   ? cn
                   : NULL;
    }
    cqlc_conn *best = NULL;
    for (size_t k = 0; k < c->nhosts; k++) {
        cqlc_host *h = &c->hosts[(c->rr + k) % c->nhosts];
        if (req->pin_host >= 0 && h->index != req->pin_host) continue;
        for (unsigned i = 0; i < c->opts.conns_per_host; i++) {
            cqlc_conn *cn = &h->conns[i];
            if (cn->state != CS_READY || cn->nfree == 0) continue;
            if (!best || cn->inflight < best->inflight) best = cn;
        }
        if (best) break;
    }
    if (best) c->rr = (size_t)(best->host->index + 1) % c->nhosts;
    return best;
}

/* A pinned request whose host or connection cannot serve it any more goes to any host. */
static bool pin_dead(sl_cqlc *c, cqlc_req *req)
{
    if (req->pin_conn)
        return req->pin_conn->state != CS_READY &&
               !(req->pin_conn->state == CS_HANDSHAKE && req->kind != RK_USER);
    if (req->pin_host < 0) return false;
    cqlc_host *h = &c->hosts[req->pin_host];
    for (unsigned i = 0; i < c->opts.conns_per_host; i++)
        if (h->conns[i].state == CS_READY) return false;
    return true;
}

static void drain(sl_cqlc *c)
{
    cqlc_req *r = c->pending.next;
    while (r != &c->pending) {
        cqlc_req *next = r->next;
        if (r->pin_host >= 0 && !r->pin_conn && pin_dead(c, r)) r->pin_host = -1;
        cqlc_conn *cn = pick_conn(c, r);
        if (!cn) {
            if (r->pin_host < 0 && !r->pin_conn) break; /* every connection is full or down */
            r = next;
            continue;
        }
        list_del(r);
        r->queued = false;
        c->npending--;
        conn_send(cn, r);
        r = next;
    }
}

static void req_dispatch(cqlc_req *req)
{
    sl_cqlc *c = req->c;
    if (req->nwait > 0) return;
    if (req->status) {
        req_complete(req, req->status, req->err, NULL);
        return;
    }
    if (req->kind == RK_USER_PREPARE) {
        sl_buf body = SL_BUF_INIT;
        sl_buf_append(&body, req->prep->result_body.ptr, req->prep->result_body.len);
        sl_cqlc_result *res;
        if (sl__cqlc_decode_result(0, &body, &res) == 0) {
            req_complete(req, 0, NULL, res);
        } else {
            sl_cqlc_error e;
            set_err(&e, SL_ERR_PARSE, "malformed Prepared result");
            req_complete(req, SL_ERR_PARSE, &e, NULL);
        }
        return;
    }
    if (req->kind == RK_USER && req->prep && !req->prep->ready) {
        /* Its cache entry lost its id (a failed re-prepare): prepare again first. */
        prep_wait(req->prep, req, -1);
        if (req->prep->inflight == 0) prep_start(c, req->prep, -1);
        return;
    }
    list_push(&c->pending, req);
    req->queued = true;
    c->npending++;
    drain(c);
}

static void schedule_flush(sl_cqlc *c);

static void conn_send(cqlc_conn *cn, cqlc_req *req)
{
    sl_cqlc *c = cn->c;
    int16_t stream = cn->free_ids[--cn->nfree];
    cn->streams[stream] = req;
    cn->inflight++;
    req->conn = cn;
    req->stream = stream;
    list_push(&cn->inflight_list, req);
    if (req->opcode == OP_PREPARE && req->prep && req->kind == RK_PREPARE)
        req->prep->preparing |= 1ull << cn->host->index;

    size_t off = sl__cqlc_frame_begin(&cn->out, stream, req->opcode);
    if (req->opcode == OP_EXECUTE) {
        sl__cqlc_put_short_bytes(&cn->out, req->prep->id.ptr, req->prep->id.len);
    } else if (req->opcode == OP_BATCH) {
        sl_buf_put_u8(&cn->out, req->batch_type);
        sl_buf_put_be16(&cn->out, (uint16_t)req->nbatch);
        for (size_t i = 0; i < req->nbatch; i++) {
            batch_entry *e = &req->batch[i];
            if (e->prep) {
                sl_buf_put_u8(&cn->out, 1);
                sl__cqlc_put_short_bytes(&cn->out, e->prep->id.ptr, e->prep->id.len);
            } else {
                sl_buf_put_u8(&cn->out, 0);
                sl__cqlc_put_long_string(&cn->out, e->cql, strlen(e->cql));
            }
            sl_buf_append(&cn->out, req->bvals.ptr + e->off, e->len);
        }
    }
    sl_buf_append(&cn->out, req->body.ptr, req->body.len);
    sl__cqlc_frame_finish(&cn->out, off);
    if (req->kind == RK_USER) c->stats.requests++;
    schedule_flush(c);
}

static void on_write(uv_write_t *w, int status)
{
    cqlc_conn *cn = w->data;
    cn->writing = false;
    sl_buf_reset(&cn->wbuf);
    if (status < 0) {
        sl_cqlc_error e;
        set_err(&e, status, "write to %s failed: %s", cn->host->addr, uv_strerror(status));
        conn_fail(cn, &e);
        return;
    }
    bool more = cn->out.len || (cn->ssl && BIO_ctrl_pending(cn->tls_out));
    if (more && cn->state != CS_CLOSING) schedule_flush(cn->c);
}

/* Logs nothing: makes e from OpenSSL's last error, naming what failed. */
static void tls_err(cqlc_conn *cn, sl_cqlc_error *e, const char *what)
{
    char reason[256] = "unknown error";
    unsigned long x = ERR_peek_last_error();
    if (x) ERR_error_string_n(x, reason, sizeof reason);
    ERR_clear_error();
    set_err(e, SL_ERR_CLOSED, "TLS %s with %s failed: %s", what, cn->host->addr, reason);
}

/* Moves what OpenSSL has to send (after encrypting out, once the handshake is done) into
 * wbuf. Returns false, with the connection failed, on an OpenSSL error. */
static bool tls_fill(cqlc_conn *cn)
{
    ERR_clear_error();
    if (cn->tls_ready && cn->out.len) {
        if (SSL_write(cn->ssl, cn->out.ptr, (int)cn->out.len) <= 0) {
            sl_cqlc_error e;
            tls_err(cn, &e, "write");
            conn_fail(cn, &e);
            return false;
        }
        sl_buf_reset(&cn->out);
    }
    size_t n = BIO_ctrl_pending(cn->tls_out);
    if (n) {
        int r = BIO_read(cn->tls_out, sl_buf_extend(&cn->wbuf, n), (int)n);
        cn->wbuf.len -= n - (r > 0 ? (size_t)r : 0);
    }
    return true;
}

static void conn_flush(cqlc_conn *cn)
{
    if (cn->writing || cn->state == CS_CLOSING || cn->state == CS_IDLE) return;
    if (cn->ssl) {
        if (!tls_fill(cn) || !cn->wbuf.len) return;
    } else {
        if (!cn->out.len) return;
        if (cn->capture) {
            sl_buf_append(cn->capture, cn->out.ptr, cn->out.len);
            sl_buf_reset(&cn->out);
            return;
        }
        /* Swap buffers: out keeps collecting while wbuf is written. */
        sl_buf t = cn->wbuf;
        cn->wbuf = cn->out;
        cn->out = t;
    }
    uv_buf_t b = uv_buf_init((char *)cn->wbuf.ptr, (unsigned)cn->wbuf.len);
    cn->wreq.data = cn;
    cn->writing = true;
    int rc = uv_write(&cn->wreq, (uv_stream_t *)&cn->tcp, &b, 1, on_write);
    if (rc < 0) {
        cn->writing = false;
        sl_cqlc_error e;
        set_err(&e, rc, "write to %s failed: %s", cn->host->addr, uv_strerror(rc));
        conn_fail(cn, &e);
    }
}

static void on_flush(uv_prepare_t *h)
{
    sl_cqlc *c = h->data;
    uv_prepare_stop(h);
    c->flush_active = false;
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++)
            conn_flush(&c->hosts[i].conns[j]);
}

static void schedule_flush(sl_cqlc *c)
{
    if (c->flush_active || c->closing) return;
    c->flush_active = true;
    uv_prepare_start(&c->flush, on_flush);
}

static void conn_mark_ready(cqlc_conn *cn)
{
    sl_cqlc *c = cn->c;
    cn->state = CS_READY;
    cn->failures = 0;
    cn->host->ever_ready = true;
    c->conns_ready++;
    SL_DEBUG(LOG_TAG, "connected to %s%s%s", cn->host->addr, cn->keyspace ? " keyspace " : "",
             cn->keyspace ? cn->keyspace : "");
    drain(c);
}

static char *quote_ident(const char *s)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_append_str(&b, "USE \"");
    for (; *s; s++) {
        if (*s == '"') sl_buf_put_u8(&b, '"');
        sl_buf_put_u8(&b, (uint8_t)*s);
    }
    sl_buf_append_str(&b, "\"");
    char *r = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    return r;
}

static void send_use(cqlc_conn *cn, int kind, cqlc_req *parent)
{
    sl_cqlc *c = cn->c;
    cqlc_req *r = req_new(c, kind, OP_QUERY);
    r->pin_conn = cn;
    r->parent = parent;
    char *q = quote_ident(c->keyspace);
    sl__cqlc_put_long_string(&r->body, q, strlen(q));
    sl_free(q);
    sl__cqlc_put_params(&r->body, NULL, 0, NULL, c->opts.consistency);
    if (parent) parent->use_wait++;
    req_dispatch(r);
}

static void conn_handshake_done(cqlc_conn *cn)
{
    sl_cqlc *c = cn->c;
    if (c->keyspace && (!cn->keyspace || strcmp(cn->keyspace, c->keyspace)))
        send_use(cn, RK_USE_CONNECT, NULL);
    else
        conn_mark_ready(cn);
}

static int64_t backoff_ms(sl_cqlc *c, int failures)
{
    int64_t d = c->opts.reconnect_min_ms;
    for (int i = 1; i < failures && d < c->opts.reconnect_max_ms; i++)
        d *= 2;
    d = SL_MIN(d, c->opts.reconnect_max_ms);
    /* +-20% jitter, so that clients do not reconnect in lockstep. */
    int64_t j = d / 5;
    if (j > 0) d += (int64_t)(sl_mono_ns() % (uint64_t)(2 * j + 1)) - j;
    return d > 0 ? d : 1;
}

static void on_retry(uv_timer_t *t)
{
    cqlc_conn *cn = t->data;
    if (!cn->c->closing && cn->state == CS_IDLE) conn_connect(cn);
}

static void on_tcp_closed(uv_handle_t *h)
{
    cqlc_conn *cn = h->data;
    sl_cqlc *c = cn->c;
    cn->tcp_open = false;
    cn->state = CS_IDLE;
    if (cn->ssl) SSL_free(cn->ssl);
    cn->ssl = NULL;
    cn->tls_ready = false;
    sl_buf_reset(&cn->in);
    sl_buf_reset(&cn->out);
    sl_buf_reset(&cn->wbuf);
    c->open_handles--;
    if (c->closing) {
        if (c->open_handles == 0 && !c->own) sl_cqlc_close(c); /* finishes a shared-loop close */
        return;
    }
    int64_t d = backoff_ms(c, cn->failures);
    SL_DEBUG(LOG_TAG, "reconnecting to %s in %" PRId64 " ms", cn->host->addr, d);
    uv_timer_start(&cn->retry, on_retry, (uint64_t)d, 0);
}

/* Hands every request on the connection back: idempotent ones (and internal ones) go to the
 * pending queue to be sent again elsewhere, others fail with why. */
static void conn_fail(cqlc_conn *cn, const sl_cqlc_error *why)
{
    sl_cqlc *c = cn->c;
    if (cn->state == CS_CLOSING || cn->state == CS_IDLE) return;
    bool was_ready = cn->state == CS_READY;
    if (was_ready) {
        c->conns_ready--;
        cn->failures = 1;
    } else {
        cn->failures++;
        cn->host->ever_tried_failed = true;
        c->stats.connect_failures++;
    }
    cn->host->last_error = *why;
    cn->state = CS_CLOSING;
    if (was_ready)
        SL_INFO(LOG_TAG, "connection to %s lost: %s", cn->host->addr, why->message);
    else
        SL_DEBUG(LOG_TAG, "connecting to %s failed: %s", cn->host->addr, why->message);
    sl_free(cn->keyspace);
    cn->keyspace = NULL;

    sl_cqlc_error lost;
    set_err(&lost, SL_ERR_CLOSED, "connection to %s lost with the request in flight (%s)",
            cn->host->addr, why->message);
    while (!list_empty(&cn->inflight_list)) {
        cqlc_req *r = cn->inflight_list.next;
        list_del(r);
        cn->streams[r->stream] = NULL;
        r->conn = NULL;
        r->stream = -1;
        switch (r->kind) {
        case RK_STARTUP:
        case RK_AUTH:
        case RK_USE_CONNECT: req_free(r); break;
        case RK_USE_PROPAGATE: req_complete(r, SL_ERR_CLOSED, &lost, NULL); break;
        default:
            if ((r->idempotent || r->kind == RK_PREPARE) && ++r->attempts < MAX_ATTEMPTS) {
                c->stats.retries++;
                if (r->kind == RK_PREPARE) r->prep->preparing &= ~(1ull << cn->host->index);
                r->pin_conn = NULL;
                if (r->kind != RK_PREPARE) r->pin_host = -1;
                list_push_front(&c->pending, r);
                r->queued = true;
                c->npending++;
            } else {
                req_complete(r, SL_ERR_CLOSED, &lost, NULL);
            }
        }
    }
    /* Queued requests pinned to this connection (USE) have nowhere to go. */
    for (cqlc_req *r = c->pending.next, *nx; r != &c->pending; r = nx) {
        nx = r->next;
        if (r->pin_conn == cn) {
            list_del(r);
            r->queued = false;
            c->npending--;
            if (r->kind == RK_USE_PROPAGATE)
                req_complete(r, SL_ERR_CLOSED, &lost, NULL);
            else
                req_free(r);
        }
    }
    cn->inflight = 0;
    cn->orphans = 0;
    cn->nfree = 0;
    for (int i = (int)c->opts.max_streams - 1; i >= 0; i--) {
        cn->streams[i] = NULL;
        cn->free_ids[cn->nfree++] = (int16_t)i;
    }
    if (cn->capture) {
        cn->state = CS_IDLE;
    } else if (cn->tcp_open && !uv_is_closing((uv_handle_t *)&cn->tcp)) {
        uv_close((uv_handle_t *)&cn->tcp, on_tcp_closed);
    }
    drain(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    cqlc_conn *cn = h->data;
    SL_UNUSED(hint);
    if (cn->ssl) { /* ciphertext, into the client's buffer until OpenSSL takes it */
        *buf = uv_buf_init((char *)cn->c->tls_rdbuf, READ_CHUNK);
        return;
    }
    sl_buf_reserve(&cn->in, READ_CHUNK);
    buf->base = (char *)cn->in.ptr + cn->in.len;
    buf->len = cn->in.cap - cn->in.len;
}

/* A response header with a version other than 0x84: the server speaks another protocol version,
 * as Cassandra answers a version it does not support (an ERROR with its own version). */
static void bad_version(cqlc_conn *cn, const uint8_t *p, size_t n)
{
    int v = p[0] & 0x7f;
    sl_cqlc_error e;
    char msg[1100] = "";
    /* v1/v2 headers are 8 bytes (one-byte stream), v3+ 9 bytes. */
    size_t hl = v <= 2 ? 8 : 9;
    if (n >= hl && p[hl - 5] == OP_ERROR) {
        uint32_t len = sl_get_be32(p + hl - 4);
        if (n - hl >= len) {
            sl_cqlc_error se;
            if (sl__cqlc_decode_error(0, (sl_slice){p + hl, len}, &se) == 0)
                snprintf(msg, sizeof msg, ": %s", se.message);
        }
    }
    set_err(&e, SL_ERR_UNSUPPORTED,
            "%s does not support CQL native protocol v4 (it answered with version %d)%s",
            cn->host->addr, v, msg);
    conn_fail(cn, &e);
}

static void conn_process(cqlc_conn *cn)
{
    sl_cqlc *c = cn->c;
    size_t off = 0;
    while (cn->in.len - off >= SL__CQLC_HEADER_LEN &&
           (cn->state == CS_READY || cn->state == CS_HANDSHAKE)) {
        const uint8_t *p = cn->in.ptr + off;
        if (p[0] != 0x84) {
            bad_version(cn, p, cn->in.len - off);
            return;
        }
        uint32_t len = sl_get_be32(p + 5);
        if (len > c->opts.max_frame) {
            sl_cqlc_error e;
            set_err(&e, SL_ERR_TOOBIG, "%s sent a frame body of %" PRIu32 " bytes (limit %zu)",
                    cn->host->addr, len, c->opts.max_frame);
            conn_fail(cn, &e);
            return;
        }
        if (cn->in.len - off - SL__CQLC_HEADER_LEN < len) {
            sl_buf_reserve(&cn->in, SL__CQLC_HEADER_LEN + len - (cn->in.len - off));
            break;
        }
        on_frame(cn, p[1], (int16_t)sl_get_be16(p + 2), p[4],
                 (sl_slice){p + SL__CQLC_HEADER_LEN, len});
        off += SL__CQLC_HEADER_LEN + len;
    }
    if (cn->state != CS_READY && cn->state != CS_HANDSHAKE)
        sl_buf_reset(&cn->in);
    else
        sl_buf_consume(&cn->in, off);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    cqlc_conn *cn = s->data;
    SL_UNUSED(buf);
    if (n < 0) {
        sl_cqlc_error e;
        set_err(&e, (int)n, "%s: %s", cn->host->addr,
                n == UV_EOF ? "connection closed by the server" : uv_strerror((int)n));
        conn_fail(cn, &e);
        return;
    }
    if (!cn->ssl) {
        cn->in.len += (size_t)n;
        conn_process(cn);
        return;
    }
    BIO_write(cn->tls_in, buf->base, (int)n);
    ERR_clear_error();
    sl_cqlc_error e;
    if (!cn->tls_ready) {
        int r = SSL_do_handshake(cn->ssl);
        if (r != 1 && SSL_get_error(cn->ssl, r) != SSL_ERROR_WANT_READ) {
            tls_err(cn, &e, "handshake");
            conn_fail(cn, &e);
            return;
        }
        cn->tls_ready = r == 1;
    }
    while (cn->tls_ready) {
        sl_buf_reserve(&cn->in, READ_CHUNK);
        int r = SSL_read(cn->ssl, cn->in.ptr + cn->in.len, (int)(cn->in.cap - cn->in.len));
        if (r <= 0) {
            int se = SSL_get_error(cn->ssl, r);
            if (se == SSL_ERROR_WANT_READ) break;
            if (se == SSL_ERROR_ZERO_RETURN)
                set_err(&e, SL_ERR_CLOSED, "%s: connection closed by the server", cn->host->addr);
            else
                tls_err(cn, &e, "read");
            conn_fail(cn, &e);
            return;
        }
        cn->in.len += (size_t)r;
    }
    conn_process(cn);
    /* Handshake messages, and the STARTUP that waited for the handshake. */
    if (cn->state == CS_HANDSHAKE || cn->state == CS_READY) schedule_flush(cn->c);
}

/* Starts TLS on a connected socket; false with the connection failed if OpenSSL cannot. */
static bool tls_start(cqlc_conn *cn)
{
    cqlc_host *h = cn->host;
    cn->ssl = SSL_new(cn->c->tls);
    cn->tls_in = BIO_new(BIO_s_mem());
    cn->tls_out = BIO_new(BIO_s_mem());
    sl_cqlc_error e;
    if (!cn->ssl || !cn->tls_in || !cn->tls_out) {
        BIO_free(cn->tls_in);
        BIO_free(cn->tls_out);
        tls_err(cn, &e, "setup");
        conn_fail(cn, &e);
        return false;
    }
    BIO_set_mem_eof_return(cn->tls_in, -1);
    BIO_set_mem_eof_return(cn->tls_out, -1);
    SSL_set_bio(cn->ssl, cn->tls_in, cn->tls_out);
    SSL_set_connect_state(cn->ssl);
    /* The certificate must name the host as given: its IP address, or its DNS name. */
    unsigned char ip[16];
    if (inet_pton(AF_INET, h->name, ip) == 1 || inet_pton(AF_INET6, h->name, ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(cn->ssl), h->name);
    } else {
        SSL_set_tlsext_host_name(cn->ssl, h->name);
        SSL_set1_host(cn->ssl, h->name);
    }
    ERR_clear_error();
    SSL_do_handshake(cn->ssl); /* the ClientHello, sent by the flush */
    return true;
}

static void send_startup(cqlc_conn *cn)
{
    cqlc_req *r = req_new(cn->c, RK_STARTUP, OP_STARTUP);
    r->pin_conn = cn;
    sl__cqlc_put_startup(&r->body);
    conn_send(cn, r); /* a fresh connection has every stream free */
}

static void on_connect(uv_connect_t *creq, int status)
{
    cqlc_conn *cn = creq->data;
    if (cn->state != CS_CONNECTING) return;
    if (status < 0) {
        sl_cqlc_error e;
        set_err(&e, status, "%s: %s", cn->host->addr, uv_strerror(status));
        conn_fail(cn, &e);
        return;
    }
    cn->state = CS_HANDSHAKE;
    if (cn->c->tls && !tls_start(cn)) return;
    uv_tcp_nodelay(&cn->tcp, 1);
    uv_tcp_keepalive(&cn->tcp, 1, 60);
    int rc = uv_read_start((uv_stream_t *)&cn->tcp, on_alloc, on_read);
    if (rc < 0) {
        sl_cqlc_error e;
        set_err(&e, rc, "%s: %s", cn->host->addr, uv_strerror(rc));
        conn_fail(cn, &e);
        return;
    }
    send_startup(cn);
}

static void conn_connect(cqlc_conn *cn)
{
    sl_cqlc *c = cn->c;
    struct sockaddr_storage sa;
    cqlc_host *h = cn->host;
    c->stats.connects++;
    if (uv_ip4_addr(h->name, h->port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(h->name, h->port, (struct sockaddr_in6 *)&sa) != 0) {
        /* Names are resolved here, synchronously: contact points are few and connecting is
         * rare next to requests. */
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        char port[16];
        snprintf(port, sizeof port, "%d", h->port);
        int grc = getaddrinfo(h->name, port, &hints, &ai);
        if (grc != 0 || !ai) {
            sl_cqlc_error e;
            set_err(&e, SL_ERR_NOTFOUND, "%s: cannot resolve host: %s", h->addr, gai_strerror(grc));
            cn->state = CS_CONNECTING; /* so conn_fail counts the attempt */
            conn_fail(cn, &e);
            cn->state = CS_IDLE;
            uv_timer_start(&cn->retry, on_retry, (uint64_t)backoff_ms(c, cn->failures), 0);
            return;
        }
        memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
    }
    uv_tcp_init(c->loop, &cn->tcp);
    cn->tcp.data = cn;
    cn->tcp_open = true;
    c->open_handles++;
    cn->state = CS_CONNECTING;
    cn->connect_deadline = sl_mono_ms() + c->opts.connect_timeout_ms;
    cn->creq.data = cn;
    int rc = uv_tcp_connect(&cn->creq, &cn->tcp, (struct sockaddr *)&sa, on_connect);
    if (rc < 0) {
        sl_cqlc_error e;
        set_err(&e, rc, "%s: %s", h->addr, uv_strerror(rc));
        conn_fail(cn, &e);
    }
}

/* Responses. */

static void complete_use(cqlc_req *parent)
{
    if (--parent->use_wait > 0) return;
    sl_cqlc_result *res = parent->result;
    parent->result = NULL;
    req_complete(parent, 0, NULL, res);
}

static void req_complete(cqlc_req *req, int status, const sl_cqlc_error *err, sl_cqlc_result *res)
{
    sl_cqlc *c = req->c;
    if (req->kind == RK_USE_PROPAGATE) {
        cqlc_req *parent = req->parent;
        req_free(req);
        sl_cqlc_result_free(res);
        if (parent) complete_use(parent);
        return;
    }
    if (req->kind == RK_PREPARE) {
        /* Only reached when the PREPARE itself could not be sent or answered. */
        cqlc_prep *p = req->prep;
        int host = req->pin_host;
        req_free(req);
        sl_cqlc_result_free(res);
        prep_done(c, p, host >= 0 ? 1ull << host : 0, host, status, err);
        return;
    }
    if (req->kind != RK_USER && req->kind != RK_USER_PREPARE) {
        req_free(req);
        sl_cqlc_result_free(res);
        return;
    }
    if (status == 0)
        c->stats.responses++;
    else
        c->stats.errors++;
    sl_cqlc_response resp = {status, res, status ? err : NULL};
    if (req->cb) req->cb(c, &resp, req->udata);
    sl_cqlc_result_free(resp.result);
    req_free(req);
}

static void on_result_set_keyspace(cqlc_conn *cn, cqlc_req *req, sl_cqlc_result *res)
{
    sl_cqlc *c = cn->c;
    sl_free(c->keyspace);
    c->keyspace = sl_strdup(res->keyspace);
    sl_free(cn->keyspace);
    cn->keyspace = sl_strdup(res->keyspace);
    /* Like the drivers, switch every other connection before the caller hears back, so that the
     * next statement runs in the new keyspace whichever connection it takes. */
    req->result = res;
    req->use_wait = 1;
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++) {
            cqlc_conn *o = &c->hosts[i].conns[j];
            if (o != cn && o->state == CS_READY &&
                (!o->keyspace || strcmp(o->keyspace, c->keyspace)))
                send_use(o, RK_USE_PROPAGATE, req);
        }
    complete_use(req);
}

static cqlc_prep *find_unprepared(cqlc_req *req, const sl_cqlc_error *err)
{
    sl_slice id = {err->unprepared_id, err->unprepared_id_len};
    if (req->prep) return req->prep;
    for (size_t i = 0; i < req->nbatch; i++) {
        cqlc_prep *p = req->batch[i].prep;
        if (p && p->id.len == id.len && !memcmp(p->id.ptr, id.ptr, id.len)) return p;
    }
    for (size_t i = 0; i < req->nbatch; i++)
        if (req->batch[i].prep) return req->batch[i].prep;
    return NULL;
}

static void on_user_response(cqlc_conn *cn, cqlc_req *req, uint8_t flags, uint8_t opcode,
                             sl_slice body)
{
    sl_cqlc *c = cn->c;
    sl_cqlc_error err;
    if (opcode == OP_ERROR) {
        if (sl__cqlc_decode_error(flags, body, &err)) {
            set_err(&err, SL_ERR_PARSE, "%s sent a malformed ERROR body", cn->host->addr);
            req_complete(req, SL_ERR_PARSE, &err, NULL);
            return;
        }
        cqlc_prep *p = err.code == SL_CQLC_UNPREPARED ? find_unprepared(req, &err) : NULL;
        if (p && req->reprepares < MAX_REPREPARES) {
            /* The server forgot the statement (a restart, or a node that never saw it):
             * prepare it again on that host and send the request there once it is. */
            int host = cn->host->index;
            req->reprepares++;
            c->stats.reprepares++;
            SL_DEBUG(LOG_TAG, "re-preparing on %s after Unprepared: %s", cn->host->addr, p->query);
            req->pin_host = host;
            prep_wait(p, req, host);
            if (!(p->preparing & (1ull << host))) prep_start(c, p, host);
            return;
        }
        req_complete(req, SL_CQLC_ESERVER, &err, NULL);
        return;
    }
    if (opcode != OP_RESULT) {
        set_err(&err, SL_ERR_PARSE, "%s answered with opcode 0x%02x instead of RESULT",
                cn->host->addr, opcode);
        req_complete(req, SL_ERR_PARSE, &err, NULL);
        return;
    }
    sl_buf b = SL_BUF_INIT;
    sl_buf_append(&b, body.ptr, body.len);
    sl_cqlc_result *res;
    if (sl__cqlc_decode_result(flags, &b, &res)) {
        set_err(&err, SL_ERR_PARSE, "%s sent a malformed RESULT body", cn->host->addr);
        req_complete(req, SL_ERR_PARSE, &err, NULL);
        return;
    }
    if (res->kind == SL_CQLC_SET_KEYSPACE) {
        on_result_set_keyspace(cn, req, res);
        return;
    }
    req_complete(req, 0, NULL, res);
}

static void on_prepare_response(cqlc_conn *cn, cqlc_req *req, uint8_t flags, uint8_t opcode,
                                sl_slice body)
{
    sl_cqlc *c = cn->c;
    cqlc_prep *p = req->prep;
    int host = cn->host->index;
    uint64_t hosts = 1ull << host;
    if (req->pin_host >= 0) hosts |= 1ull << req->pin_host;
    sl_cqlc_error err;
    int status = 0;
    if (opcode == OP_ERROR) {
        if (sl__cqlc_decode_error(flags, body, &err))
            set_err(&err, SL_ERR_PARSE, "%s sent a malformed ERROR body", cn->host->addr);
        status = err.status;
    } else {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append(&b, body.ptr, body.len);
        sl_cqlc_result *res = NULL;
        if (opcode != OP_RESULT || sl__cqlc_decode_result(flags, &b, &res) ||
            res->kind != SL_CQLC_PREPARED || res->id.len == 0) {
            set_err(&err, SL_ERR_PARSE, "%s sent no Prepared result for a PREPARE", cn->host->addr);
            status = SL_ERR_PARSE;
        } else {
            sl_buf_reset(&p->id);
            sl_buf_append(&p->id, res->id.ptr, res->id.len);
            /* Keep the body without the warnings prefix, to decode it again for callers. */
            size_t skip = (size_t)(res->id.ptr - res->body.ptr) - 4 - 2;
            sl_buf_reset(&p->result_body);
            sl_buf_append(&p->result_body, res->body.ptr + skip, res->body.len - skip);
            p->ready = true;
        }
        sl_cqlc_result_free(res);
    }
    req_free(req);
    prep_done(c, p, hosts, host, status, &err);
}

static void on_frame(cqlc_conn *cn, uint8_t flags, int16_t stream, uint8_t opcode, sl_slice body)
{
    sl_cqlc *c = cn->c;
    if (stream < 0) return; /* EVENT: the client does not REGISTER, so none is expected */
    if (flags & HF_COMPRESSION) {
        sl_cqlc_error e;
        set_err(&e, SL_ERR_PARSE, "%s sent a compressed frame, which was not negotiated",
                cn->host->addr);
        conn_fail(cn, &e);
        return;
    }
    cqlc_req *req = stream < (int)c->opts.max_streams ? cn->streams[stream] : NULL;
    if (!req) {
        SL_WARN(LOG_TAG, "%s answered stream %d, which has no request", cn->host->addr, stream);
        return;
    }
    cn->streams[stream] = NULL;
    cn->free_ids[cn->nfree++] = stream;
    cn->inflight--;
    if (req == (cqlc_req *)cn) { /* the request timed out earlier */
        cn->orphans--;
        drain(c);
        return;
    }
    list_del(req);
    req->conn = NULL;
    req->stream = -1;

    sl_cqlc_error err;
    switch (req->kind) {
    case RK_STARTUP:
    case RK_AUTH: {
        bool was_startup = req->kind == RK_STARTUP;
        req_free(req);
        if (opcode == OP_READY || opcode == OP_AUTH_SUCCESS) {
            conn_handshake_done(cn);
        } else if (opcode == OP_AUTHENTICATE && was_startup) {
            if (!c->user) {
                sl_rd r;
                sl_slice cls = SL_SLICE_NULL;
                sl_rd_init(&r, body.ptr, body.len);
                rd_string(&r, &cls);
                set_err(&err, SL_CQLC_ESERVER,
                        "%s requires authentication (%.*s) but no user was given", cn->host->addr,
                        (int)cls.len, cls.ptr ? (const char *)cls.ptr : "");
                err.code = SL_CQLC_BAD_CREDENTIALS;
                conn_fail(cn, &err);
                return;
            }
            cqlc_req *r = req_new(c, RK_AUTH, OP_AUTH_RESPONSE);
            r->pin_conn = cn;
            sl__cqlc_put_auth_plain(&r->body, c->user, c->password ? c->password : "");
            conn_send(cn, r);
        } else if (opcode == OP_ERROR) {
            if (sl__cqlc_decode_error(flags, body, &err))
                set_err(&err, SL_ERR_PARSE, "%s sent a malformed ERROR body", cn->host->addr);
            conn_fail(cn, &err);
        } else {
            set_err(&err, SL_ERR_PARSE, "%s answered the handshake with opcode 0x%02x",
                    cn->host->addr, opcode);
            conn_fail(cn, &err);
        }
        return;
    }
    case RK_USE_CONNECT:
    case RK_USE_PROPAGATE: {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append(&b, body.ptr, body.len);
        sl_cqlc_result *res = NULL;
        if (opcode == OP_RESULT && sl__cqlc_decode_result(flags, &b, &res) == 0 &&
            res->kind == SL_CQLC_SET_KEYSPACE) {
            sl_free(cn->keyspace);
            cn->keyspace = sl_strdup(res->keyspace);
        } else if (req->kind == RK_USE_CONNECT) {
            if (opcode != OP_ERROR || sl__cqlc_decode_error(flags, body, &err))
                set_err(&err, SL_ERR_PARSE, "%s: USE failed", cn->host->addr);
            sl_cqlc_result_free(res);
            sl_buf_free(&b);
            req_free(req);
            conn_fail(cn, &err);
            return;
        }
        sl_cqlc_result_free(res);
        sl_buf_free(&b);
        if (req->kind == RK_USE_CONNECT) {
            req_free(req);
            conn_mark_ready(cn);
        } else {
            req_complete(req, 0, NULL, NULL);
        }
        drain(c);
        return;
    }
    case RK_PREPARE: on_prepare_response(cn, req, flags, opcode, body); break;
    default: on_user_response(cn, req, flags, opcode, body); break;
    }
    drain(c);
}

/* Timeouts, checked every TICK_MS. */

static void fail_timeout(cqlc_req *r, const char *where)
{
    sl_cqlc *c = r->c;
    sl_cqlc_error e;
    c->stats.timeouts++;
    if (c->conns_ready == 0) {
        /* Name why no host could take it, as the drivers' NoHostAvailable does. */
        sl_buf b = SL_BUF_INIT;
        for (size_t i = 0; i < c->nhosts; i++)
            sl_buf_printf(&b, "%s%s", i ? "; " : "",
                          c->hosts[i].last_error.message[0] ? c->hosts[i].last_error.message
                                                            : c->hosts[i].addr);
        set_err(&e, SL_CQLC_ENOHOST, "no host available: %s", sl_buf_cstr(&b));
        sl_buf_free(&b);
    } else {
        set_err(&e, -ETIMEDOUT, "request timed out after %" PRId64 " ms (%s)",
                c->opts.request_timeout_ms, where);
    }
    req_complete(r, e.status, &e, NULL);
}

static void on_tick(uv_timer_t *t)
{
    sl_cqlc *c = t->data;
    int64_t now = sl_mono_ms();
    for (cqlc_req *r = c->pending.next, *nx; r != &c->pending; r = nx) {
        nx = r->next;
        if (r->deadline && now >= r->deadline) {
            list_del(r);
            r->queued = false;
            c->npending--;
            fail_timeout(r, "waiting for a connection");
        }
    }
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++) {
            cqlc_conn *cn = &c->hosts[i].conns[j];
            if ((cn->state == CS_CONNECTING || cn->state == CS_HANDSHAKE) &&
                now >= cn->connect_deadline) {
                sl_cqlc_error e;
                set_err(&e, -ETIMEDOUT, "%s: connection timed out after %" PRId64 " ms",
                        cn->host->addr, c->opts.connect_timeout_ms);
                conn_fail(cn, &e);
                continue;
            }
            /* In-flight lists are in send order, so deadlines ascend. */
            while (!list_empty(&cn->inflight_list)) {
                cqlc_req *r = cn->inflight_list.next;
                if (!r->deadline || now < r->deadline) break;
                list_del(r);
                /* The stream stays taken until its answer arrives: an orphan marker. */
                cn->streams[r->stream] = (cqlc_req *)cn;
                cn->orphans++;
                r->conn = NULL;
                fail_timeout(r, cn->host->addr);
            }
            if (cn->state == CS_READY && cn->orphans > (int)c->opts.max_streams / 2) {
                sl_cqlc_error e;
                set_err(&e, -ETIMEDOUT, "%s: too many requests timed out", cn->host->addr);
                conn_fail(cn, &e);
            }
        }
}

/* Construction and teardown. */

void sl_cqlc_opts_default(sl_cqlc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->contact_points = "127.0.0.1:9042";
    o->conns_per_host = 1;
    o->max_streams = 1024;
    o->max_pending = 1u << 20;
    o->connect_timeout_ms = 5000;
    o->request_timeout_ms = 12000;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 10000;
    o->consistency = SL_CQLC_ONE;
    o->max_frame = 256u * 1024 * 1024;
}

static int parse_hosts(sl_cqlc *c, sl_cqlc_error *err)
{
    char *list = sl_strdup(c->opts.contact_points ? c->opts.contact_points : "");
    size_t n = 0;
    for (char *s = list; *s; s++)
        if (*s == ',') n++;
    c->hosts = sl_calloc(n + 1, sizeof(cqlc_host));
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (c->nhosts == MAX_HOSTS) {
            set_err(err, SL_ERR_INVAL, "more than %d contact points", MAX_HOSTS);
            rc = SL_ERR_INVAL;
            break;
        }
        cqlc_host *h = &c->hosts[c->nhosts];
        char buf[300];
        /* A bare host (no port, or a bracketless IPv6 address) means the default port. */
        if (strchr(tok, ':') == strrchr(tok, ':') && strchr(tok, ':'))
            snprintf(buf, sizeof buf, "%s", tok);
        else if (tok[0] == '[')
            snprintf(buf, sizeof buf, "%s", tok);
        else
            snprintf(buf, sizeof buf, strchr(tok, ':') ? "[%s]:9042" : "%s:9042", tok);
        if (sl_hostport_parse(buf, h->name, sizeof h->name, &h->port) || h->port == 0) {
            set_err(err, SL_ERR_INVAL, "bad contact point '%s' (want HOST:PORT)", tok);
            rc = SL_ERR_INVAL;
            break;
        }
        h->addr = sl_strdup(buf);
        h->index = (int)c->nhosts++;
    }
    if (!rc && c->nhosts == 0) {
        set_err(err, SL_ERR_INVAL, "no contact points given");
        rc = SL_ERR_INVAL;
    }
    sl_free(list);
    return rc;
}

static void conn_init(sl_cqlc *c, cqlc_host *h, cqlc_conn *cn)
{
    cn->c = c;
    cn->host = h;
    cn->state = CS_IDLE;
    cn->streams = sl_calloc(c->opts.max_streams, sizeof(*cn->streams));
    cn->free_ids = sl_malloc(c->opts.max_streams * sizeof(*cn->free_ids));
    for (int i = (int)c->opts.max_streams - 1; i >= 0; i--)
        cn->free_ids[cn->nfree++] = (int16_t)i;
    list_init(&cn->inflight_list);
    uv_timer_init(c->loop, &cn->retry);
    cn->retry.data = cn;
    c->open_handles++;
}

/* The client's TLS context: verification against opts->tls_ca, and the client certificate. */
static int tls_ctx_new(sl_cqlc *c, const sl_cqlc_opts *o, sl_cqlc_error *err)
{
    const char *what = "tls-ca", *file = o->tls_ca;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    bool ok = ctx && SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) == 1;
    if (ok && o->tls_cert) {
        what = "tls-cert", file = o->tls_cert;
        ok = SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) == 1;
        what = "tls-key", file = o->tls_key ? o->tls_key : "(none)";
        ok = ok && o->tls_key &&
             SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    }
    if (!ok) {
        char reason[256] = "unusable";
        unsigned long x = ERR_peek_last_error();
        if (x) ERR_error_string_n(x, reason, sizeof reason);
        ERR_clear_error();
        set_err(err, SL_ERR_CONFIG, "%s %s: %s", what, file, reason);
        SSL_CTX_free(ctx);
        return SL_ERR_CONFIG;
    }
    c->tls = ctx;
    c->tls_rdbuf = sl_malloc(READ_CHUNK);
    return 0;
}

static int client_alloc(const sl_cqlc_opts *opts, sl_cqlc **out, sl_cqlc_error *err)
{
    sl_cqlc_error scratch;
    if (!err) err = &scratch;
    memset(err, 0, sizeof(*err));
    *out = NULL;
    sl_cqlc *c = sl_calloc(1, sizeof(*c));
    c->opts = *opts;
    if (!c->opts.conns_per_host) c->opts.conns_per_host = 1;
    if (!c->opts.max_streams) c->opts.max_streams = 1024;
    if (c->opts.max_streams > MAX_STREAMS) c->opts.max_streams = MAX_STREAMS;
    if (!c->opts.max_pending) c->opts.max_pending = 1u << 20;
    if (c->opts.connect_timeout_ms <= 0) c->opts.connect_timeout_ms = 5000;
    if (c->opts.reconnect_min_ms <= 0) c->opts.reconnect_min_ms = 100;
    if (c->opts.reconnect_max_ms < c->opts.reconnect_min_ms)
        c->opts.reconnect_max_ms = c->opts.reconnect_min_ms;
    if (c->opts.consistency < 0) c->opts.consistency = SL_CQLC_ONE;
    if (!c->opts.max_frame) c->opts.max_frame = 256u * 1024 * 1024;
    if (parse_hosts(c, err) || (opts->tls_ca && tls_ctx_new(c, opts, err))) {
        for (size_t i = 0; i < c->nhosts; i++)
            sl_free(c->hosts[i].addr);
        sl_free(c->hosts);
        sl_free(c);
        return SL_ERR_INVAL;
    }
    c->opts.tls_ca = c->opts.tls_cert = c->opts.tls_key = NULL;
    c->user = opts->user ? sl_strdup(opts->user) : NULL;
    c->password = opts->password ? sl_strdup(opts->password) : NULL;
    c->opts.user = c->user;
    c->opts.password = c->password;
    c->opts.contact_points = NULL;
    c->keyspace = opts->keyspace && *opts->keyspace ? sl_strdup(opts->keyspace) : NULL;
    c->opts.keyspace = NULL;
    if (opts->loop) {
        c->loop = opts->loop;
    } else {
        uv_loop_init(&c->own_loop);
        c->loop = &c->own_loop;
        c->own = true;
    }
    list_init(&c->pending);
    c->nbuckets = CACHE_BUCKETS_MIN;
    c->buckets = sl_calloc(c->nbuckets, sizeof(*c->buckets));
    uv_timer_init(c->loop, &c->tick);
    c->tick.data = c;
    uv_timer_start(&c->tick, on_tick, TICK_MS, TICK_MS);
    uv_unref((uv_handle_t *)&c->tick);
    uv_prepare_init(c->loop, &c->flush);
    c->flush.data = c;
    uv_unref((uv_handle_t *)&c->flush);
    c->open_handles += 2;
    for (size_t i = 0; i < c->nhosts; i++) {
        cqlc_host *h = &c->hosts[i];
        h->conns = sl_calloc(c->opts.conns_per_host, sizeof(cqlc_conn));
        for (unsigned j = 0; j < c->opts.conns_per_host; j++)
            conn_init(c, h, &h->conns[j]);
    }
    *out = c;
    return 0;
}

int sl_cqlc_new(const sl_cqlc_opts *opts, sl_cqlc **out, sl_cqlc_error *err)
{
    int rc = client_alloc(opts, out, err);
    if (rc) return rc;
    sl_cqlc *c = *out;
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++)
            conn_connect(&c->hosts[i].conns[j]);
    return 0;
}

static bool open_settled(sl_cqlc *c)
{
    if (c->conns_ready > 0) return true;
    for (size_t i = 0; i < c->nhosts; i++)
        if (!c->hosts[i].ever_tried_failed) return false;
    return true;
}

int sl_cqlc_open(const sl_cqlc_opts *opts, sl_cqlc **out, sl_cqlc_error *err)
{
    if (opts->loop) return SL_ERR_INVAL;
    sl_cqlc_error scratch;
    if (!err) err = &scratch;
    int rc = sl_cqlc_new(opts, out, err);
    if (rc) return rc;
    sl_cqlc *c = *out;
    /* The tick keeps the loop awake while connecting, for the connect timeout. */
    uv_ref((uv_handle_t *)&c->tick);
    while (!open_settled(c))
        uv_run(c->loop, UV_RUN_ONCE);
    if (!c->tick_ref) uv_unref((uv_handle_t *)&c->tick);
    if (c->conns_ready > 0) return 0;
    /* Report a server's refusal (bad credentials, wrong version) over a plain TCP error. */
    const sl_cqlc_error *best = &c->hosts[0].last_error;
    for (size_t i = 0; i < c->nhosts; i++) {
        const sl_cqlc_error *e = &c->hosts[i].last_error;
        if (e->status == SL_CQLC_ESERVER || e->status == SL_ERR_UNSUPPORTED) best = e;
    }
    if (c->nhosts == 1 || best->status == SL_CQLC_ESERVER || best->status == SL_ERR_UNSUPPORTED) {
        *err = *best;
    } else {
        sl_buf b = SL_BUF_INIT;
        for (size_t i = 0; i < c->nhosts; i++)
            sl_buf_printf(&b, "%s%s", i ? "; " : "", c->hosts[i].last_error.message);
        set_err(err, SL_CQLC_ENOHOST, "unable to connect to any server: %s", sl_buf_cstr(&b));
        sl_buf_free(&b);
    }
    rc = err->status ? err->status : SL_CQLC_ENOHOST;
    sl_cqlc_close(c);
    *out = NULL;
    return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_cqlc *c = h->data;
    c->open_handles--;
    if (c->open_handles == 0 && !c->own) sl_cqlc_close(c);
}

static void client_free(sl_cqlc *c)
{
    for (size_t i = 0; i < c->nbuckets; i++)
        for (cqlc_prep *p = c->buckets[i], *nx; p; p = nx) {
            nx = p->hnext;
            sl_free(p->key);
            sl_free(p->query);
            sl_buf_free(&p->id);
            sl_buf_free(&p->result_body);
            sl_free(p);
        }
    sl_free(c->buckets);
    for (size_t i = 0; i < c->nhosts; i++) {
        for (unsigned j = 0; j < c->opts.conns_per_host; j++) {
            cqlc_conn *cn = &c->hosts[i].conns[j];
            sl_buf_free(&cn->in);
            sl_buf_free(&cn->out);
            sl_buf_free(&cn->wbuf);
            sl_free(cn->streams);
            sl_free(cn->free_ids);
            sl_free(cn->keyspace);
            if (cn->ssl) SSL_free(cn->ssl);
        }
        sl_free(c->hosts[i].conns);
        sl_free(c->hosts[i].addr);
    }
    sl_free(c->hosts);
    sl_free(c->keyspace);
    sl_free(c->user);
    sl_free(c->password);
    SSL_CTX_free(c->tls);
    sl_free(c->tls_rdbuf);
    sl_free(c);
}

void sl_cqlc_close(sl_cqlc *c)
{
    if (!c) return;
    if (c->closing) {
        /* Called again by the last close callback on a shared loop. */
        if (c->open_handles == 0) client_free(c);
        return;
    }
    c->closing = true;
    sl_cqlc_error e;
    set_err(&e, SL_ERR_CLOSED, "the client is closing");
    /* Requests waiting on cache entries are found through the entries. */
    for (size_t i = 0; i < c->nbuckets; i++)
        for (cqlc_prep *p = c->buckets[i]; p; p = p->hnext)
            while (p->waiters) {
                cqlc_wait *w = p->waiters;
                p->waiters = w->next;
                req_set_error(w->req, SL_ERR_CLOSED, &e);
                if (--w->req->nwait == 0) req_complete(w->req, SL_ERR_CLOSED, &e, NULL);
                sl_free(w);
            }
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++) {
            cqlc_conn *cn = &c->hosts[i].conns[j];
            while (!list_empty(&cn->inflight_list)) {
                cqlc_req *r = cn->inflight_list.next;
                list_del(r);
                cn->streams[r->stream] = NULL;
                req_complete(r, SL_ERR_CLOSED, &e, NULL);
            }
        }
    while (!list_empty(&c->pending)) {
        cqlc_req *r = c->pending.next;
        list_del(r);
        req_complete(r, SL_ERR_CLOSED, &e, NULL);
    }
    c->npending = 0;
    for (size_t i = 0; i < c->nhosts; i++)
        for (unsigned j = 0; j < c->opts.conns_per_host; j++) {
            cqlc_conn *cn = &c->hosts[i].conns[j];
            cn->state = CS_CLOSING;
            /* A failed connection may already be closing (conn_fail): its callback is due. */
            if (cn->tcp_open && !uv_is_closing((uv_handle_t *)&cn->tcp))
                uv_close((uv_handle_t *)&cn->tcp, on_tcp_closed);
            cn->retry.data = c;
            uv_close((uv_handle_t *)&cn->retry, on_handle_closed);
        }
    uv_close((uv_handle_t *)&c->tick, on_handle_closed);
    uv_close((uv_handle_t *)&c->flush, on_handle_closed);
    if (c->own) {
        while (c->open_handles > 0)
            uv_run(c->loop, UV_RUN_ONCE);
        uv_run(c->loop, UV_RUN_NOWAIT);
        uv_loop_close(c->loop);
        client_free(c);
    }
}

/* Submitting requests. */

static int check_submit(sl_cqlc *c)
{
    if (c->closing) return SL_ERR_CLOSED;
    if (c->npending >= c->opts.max_pending) return SL_ERR_LIMIT;
    return 0;
}

int sl_cqlc_query_async(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                        const sl_cqlc_qopts *qo, sl_cqlc_cb cb, void *udata)
{
    int rc = check_submit(c);
    if (rc) return rc;
    if (!cql || nvalues > 65535) return SL_ERR_INVAL;
    cqlc_req *r = req_new(c, RK_USER, OP_QUERY);
    r->cb = cb;
    r->udata = udata;
    r->idempotent = qo && qo->idempotent;
    sl__cqlc_put_long_string(&r->body, cql, strlen(cql));
    sl__cqlc_put_params(&r->body, values, nvalues, qo, c->opts.consistency);
    req_dispatch(r);
    return 0;
}

int sl_cqlc_execute_async(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                          const sl_cqlc_qopts *qo, sl_cqlc_cb cb, void *udata)
{
    int rc = check_submit(c);
    if (rc) return rc;
    if (!cql || nvalues > 65535) return SL_ERR_INVAL;
    cqlc_req *r = req_new(c, RK_USER, OP_EXECUTE);
    r->cb = cb;
    r->udata = udata;
    r->idempotent = qo && qo->idempotent;
    r->prep = prep_get(c, cql);
    sl__cqlc_put_params(&r->body, values, nvalues, qo, c->opts.consistency);
    req_dispatch(r); /* waits for the entry first when it is not prepared yet */
    return 0;
}

int sl_cqlc_prepare_async(sl_cqlc *c, const char *cql, sl_cqlc_cb cb, void *udata)
{
    int rc = check_submit(c);
    if (rc) return rc;
    if (!cql) return SL_ERR_INVAL;
    cqlc_req *r = req_new(c, RK_USER_PREPARE, OP_PREPARE);
    r->cb = cb;
    r->udata = udata;
    r->prep = prep_get(c, cql);
    /* Even a cached entry is answered from the loop, never inside this call. */
    prep_wait(r->prep, r, -1);
    if (r->prep->inflight == 0) prep_start(c, r->prep, -1);
    return 0;
}

/* A sink adds thousands of entries of one statement: their values go into one buffer and an
 * entry whose text equals the previous one's shares it, so an entry costs no allocation. */
struct sl_cqlc_batch {
    int type;
    size_t n, cap;
    sl_buf vals; /* every entry's <n><value_1>...<value_n>, back to back */
    struct {
        char *cql; /* owned unless same */
        bool same; /* same text and kind as the previous entry */
        bool prepared;
        size_t off, len; /* in vals */
    } * e;
};

sl_cqlc_batch *sl_cqlc_batch_new(int type)
{
    sl_cqlc_batch *b = sl_calloc(1, sizeof(*b));
    b->type = type;
    return b;
}

void sl_cqlc_batch_add(sl_cqlc_batch *b, const char *cql, const sl_slice *values, size_t nvalues,
                       bool prepared)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->e = sl_realloc(b->e, b->cap * sizeof(*b->e));
    }
    const char *prev = b->n ? b->e[b->n - 1].cql : NULL;
    bool same = prev && b->e[b->n - 1].prepared == prepared && !strcmp(prev, cql);
    b->e[b->n].cql = same ? (char *)prev : sl_strdup(cql);
    b->e[b->n].same = same;
    b->e[b->n].prepared = prepared;
    size_t size = 2;
    for (size_t i = 0; i < nvalues; i++)
        size += 4 + (values[i].ptr ? values[i].len : 0);
    sl_buf_reserve(&b->vals, size);
    b->e[b->n].off = b->vals.len;
    sl_buf_put_be16(&b->vals, (uint16_t)nvalues);
    for (size_t i = 0; i < nvalues; i++)
        put_value(&b->vals, values[i]);
    b->e[b->n].len = b->vals.len - b->e[b->n].off;
    b->n++;
}

size_t sl_cqlc_batch_count(const sl_cqlc_batch *b)
{
    return b->n;
}

void sl_cqlc_batch_free(sl_cqlc_batch *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        if (!b->e[i].same) sl_free(b->e[i].cql);
    sl_buf_free(&b->vals);
    sl_free(b->e);
    sl_free(b);
}

int sl_cqlc_batch_async(sl_cqlc *c, const sl_cqlc_batch *b, const sl_cqlc_qopts *qo, sl_cqlc_cb cb,
                        void *udata)
{
    int rc = check_submit(c);
    if (rc) return rc;
    if (b->n == 0 || b->n > 65535) return SL_ERR_INVAL;
    if (!qo) qo = &default_qopts;
    cqlc_req *r = req_new(c, RK_USER, OP_BATCH);
    r->cb = cb;
    r->udata = udata;
    r->idempotent = qo->idempotent;
    r->batch_type = (uint8_t)b->type;
    r->nbatch = b->n;
    r->batch = sl_calloc(b->n, sizeof(batch_entry));
    /* A prepared entry is sent by its id, so its text is not kept; a run of entries of one
     * statement (a sink's batch of upserts) looks the cache up once. */
    sl_buf_append(&r->bvals, b->vals.ptr, b->vals.len);
    for (size_t i = 0; i < b->n; i++) {
        r->batch[i].off = b->e[i].off;
        r->batch[i].len = b->e[i].len;
        if (!b->e[i].prepared)
            r->batch[i].cql = sl_strdup(b->e[i].cql);
        else if (b->e[i].same)
            r->batch[i].prep = r->batch[i - 1].prep;
        else
            r->batch[i].prep = prep_get(c, b->e[i].cql);
    }
    /* <consistency><flags>[<serial_consistency>][<timestamp>] (§4.1.7). */
    uint8_t f = 0;
    if (qo->serial_consistency >= 0) f |= QF_SERIAL;
    if (qo->timestamp != INT64_MIN) f |= QF_TIMESTAMP;
    sl_buf_put_be16(&r->body,
                    (uint16_t)(qo->consistency >= 0 ? qo->consistency : c->opts.consistency));
    sl_buf_put_u8(&r->body, f);
    if (f & QF_SERIAL) sl_buf_put_be16(&r->body, (uint16_t)qo->serial_consistency);
    if (f & QF_TIMESTAMP) sl_buf_put_be64(&r->body, (uint64_t)qo->timestamp);
    for (size_t i = 0; i < r->nbatch; i++) {
        cqlc_prep *p = r->batch[i].prep;
        if (!p || p->ready) continue;
        prep_wait(p, r, -1);
        if (p->inflight == 0) prep_start(c, p, -1);
    }
    req_dispatch(r);
    return 0;
}

/* Driving a private loop, and the blocking calls. */

int sl_cqlc_run(sl_cqlc *c, int64_t timeout_ms)
{
    int64_t end = timeout_ms >= 0 ? sl_mono_ms() + timeout_ms : INT64_MAX;
    while (c->nreq > 0) {
        if (sl_mono_ms() >= end) return -ETIMEDOUT;
        uv_run(c->loop, UV_RUN_ONCE);
    }
    return 0;
}

size_t sl_cqlc_inflight(const sl_cqlc *c)
{
    return c->nreq;
}

const char *sl_cqlc_keyspace(const sl_cqlc *c)
{
    return c->keyspace;
}

void sl_cqlc_get_stats(const sl_cqlc *c, sl_cqlc_stats *out)
{
    *out = c->stats;
    out->conns_ready = c->conns_ready;
}

typedef struct waiter {
    bool done;
    int status;
    sl_cqlc_result *res;
    sl_cqlc_error *err;
} waiter;

static void on_wait_done(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    waiter *w = udata;
    SL_UNUSED(c);
    w->done = true;
    w->status = resp->status;
    if (resp->status == 0) {
        w->res = resp->result;
        resp->result = NULL;
    } else if (w->err) {
        *w->err = *resp->error;
    }
}

/* Before a blocking request: handles what arrived while the caller was away from the loop, so
 * that a connection the server closed meanwhile is seen as closed before the request is put on
 * it (it then waits for the reconnect instead of failing as "lost in flight"). */
static void settle(sl_cqlc *c)
{
    uv_run(c->loop, UV_RUN_NOWAIT);
}

static int wait_for(sl_cqlc *c, int rc, waiter *w, sl_cqlc_result **out)
{
    if (out) *out = NULL;
    if (rc) {
        if (w->err) set_err(w->err, rc, "request not sent: %s", sl_strerror(rc));
        return rc;
    }
    while (!w->done)
        uv_run(c->loop, UV_RUN_ONCE);
    if (out)
        *out = w->res;
    else
        sl_cqlc_result_free(w->res);
    return w->status;
}

int sl_cqlc_query(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                  const sl_cqlc_qopts *qo, sl_cqlc_result **out, sl_cqlc_error *err)
{
    waiter w = {.err = err};
    if (!c->own) return SL_ERR_INVAL;
    settle(c);
    return wait_for(c, sl_cqlc_query_async(c, cql, values, nvalues, qo, on_wait_done, &w), &w, out);
}

int sl_cqlc_execute(sl_cqlc *c, const char *cql, const sl_slice *values, size_t nvalues,
                    const sl_cqlc_qopts *qo, sl_cqlc_result **out, sl_cqlc_error *err)
{
    waiter w = {.err = err};
    if (!c->own) return SL_ERR_INVAL;
    settle(c);
    return wait_for(c, sl_cqlc_execute_async(c, cql, values, nvalues, qo, on_wait_done, &w), &w,
                    out);
}

int sl_cqlc_prepare(sl_cqlc *c, const char *cql, sl_cqlc_result **out, sl_cqlc_error *err)
{
    waiter w = {.err = err};
    if (!c->own) return SL_ERR_INVAL;
    settle(c);
    return wait_for(c, sl_cqlc_prepare_async(c, cql, on_wait_done, &w), &w, out);
}

int sl_cqlc_batch_execute(sl_cqlc *c, const sl_cqlc_batch *b, const sl_cqlc_qopts *qo,
                          sl_cqlc_result **out, sl_cqlc_error *err)
{
    waiter w = {.err = err};
    if (!c->own) return SL_ERR_INVAL;
    settle(c);
    return wait_for(c, sl_cqlc_batch_async(c, b, qo, on_wait_done, &w), &w, out);
}

struct sl_cqlc_pager {
    sl_cqlc *c;
    char *cql;
    sl_slice *values;
    size_t nvalues;
    sl_buf vbuf;
    int32_t page_size;
    bool prepared;
    bool started, done;
    sl_buf state;
};

sl_cqlc_pager *sl_cqlc_pager_new(sl_cqlc *c, const char *cql, const sl_slice *values,
                                 size_t nvalues, int32_t page_size, bool prepared)
{
    sl_cqlc_pager *p = sl_calloc(1, sizeof(*p));
    p->c = c;
    p->cql = sl_strdup(cql);
    p->page_size = page_size > 0 ? page_size : 5000;
    p->prepared = prepared;
    p->nvalues = nvalues;
    p->values = sl_calloc(nvalues ? nvalues : 1, sizeof(sl_slice));
    /* Copy the values into one buffer, then point the slices at it. */
    for (size_t i = 0; i < nvalues; i++)
        if (values[i].ptr) sl_buf_append(&p->vbuf, values[i].ptr, values[i].len);
    size_t off = 0;
    for (size_t i = 0; i < nvalues; i++) {
        if (!values[i].ptr) continue;
        p->values[i] =
            (sl_slice){p->vbuf.ptr ? p->vbuf.ptr + off : (const uint8_t *)"", values[i].len};
        off += values[i].len;
    }
    return p;
}

int sl_cqlc_pager_next(sl_cqlc_pager *p, sl_cqlc_result **page, sl_cqlc_error *err)
{
    *page = NULL;
    if (p->done) return 0;
    sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
    qo.page_size = p->page_size;
    if (p->started) qo.paging_state = sl_buf_slice(&p->state);
    if (p->started && !qo.paging_state.ptr) qo.paging_state.ptr = (const uint8_t *)"";
    sl_cqlc_result *res;
    int rc = p->prepared ? sl_cqlc_execute(p->c, p->cql, p->values, p->nvalues, &qo, &res, err)
                         : sl_cqlc_query(p->c, p->cql, p->values, p->nvalues, &qo, &res, err);
    if (rc) return rc;
    p->started = true;
    if (res->kind == SL_CQLC_ROWS && res->has_more_pages && res->paging_state.ptr) {
        sl_buf_reset(&p->state);
        sl_buf_append(&p->state, res->paging_state.ptr, res->paging_state.len);
    } else {
        p->done = true;
    }
    *page = res;
    return 1;
}

void sl_cqlc_pager_free(sl_cqlc_pager *p)
{
    if (!p) return;
    sl_free(p->cql);
    sl_free(p->values);
    sl_buf_free(&p->vbuf);
    sl_buf_free(&p->state);
    sl_free(p);
}

/* The detached test connection. */

int sl__cqlc_new_detached(const sl_cqlc_opts *opts, sl_buf *capture, sl_cqlc **out)
{
    sl_cqlc_opts o = *opts;
    o.loop = NULL;
    o.conns_per_host = 1;
    if (!o.contact_points) o.contact_points = "127.0.0.1:9042";
    int rc = client_alloc(&o, out, NULL);
    if (rc) return rc;
    sl_cqlc *c = *out;
    for (size_t i = 0; i < c->nhosts; i++) {
        cqlc_conn *cn = &c->hosts[i].conns[0];
        cn->capture = capture;
        cn->state = CS_READY;
        cn->keyspace = c->keyspace ? sl_strdup(c->keyspace) : NULL;
        c->conns_ready++;
    }
    return 0;
}

void sl__cqlc_test_flush(sl_cqlc *c)
{
    on_flush(&c->flush);
}

void sl__cqlc_test_feed(sl_cqlc *c, const void *p, size_t n)
{
    cqlc_conn *cn = &c->hosts[0].conns[0];
    sl_buf_append(&cn->in, p, n);
    conn_process(cn);
}

/* Counting rows a page at a time. */

void sl_cqlc_quote_ident(sl_buf *b, const char *name)
{
    sl_buf_put_u8(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') sl_buf_put_u8(b, '"');
        sl_buf_put_u8(b, (uint8_t)*p);
    }
    sl_buf_put_u8(b, '"');
}

/* The name of the table's first partition key column into *out (the caller frees it). */
static int first_pk_column(sl_cqlc *c, const char *ks, const char *table, char **out,
                           sl_cqlc_error *err)
{
    sl_slice v[2] = {{(const uint8_t *)ks, strlen(ks)}, {(const uint8_t *)table, strlen(table)}};
    sl_cqlc_result *res;
    int rc = sl_cqlc_query(c,
                           "SELECT column_name, kind, position FROM system_schema.columns"
                           " WHERE keyspace_name = ? AND table_name = ?",
                           v, 2, NULL, &res, err);
    if (rc) return rc;
    *out = NULL;
    for (size_t i = 0; i < res->nrows && !*out; i++) {
        sl_slice name = sl_cqlc_cell(res, i, 0), kind = sl_cqlc_cell(res, i, 1),
                 pos = sl_cqlc_cell(res, i, 2);
        if (name.ptr && kind.len == 13 && memcmp(kind.ptr, "partition_key", 13) == 0 &&
            pos.len == 4 && sl_get_be32(pos.ptr) == 0)
            *out = sl_strndup((const char *)name.ptr, name.len);
    }
    sl_cqlc_result_free(res);
    if (*out) return 0;
    memset(err, 0, sizeof *err);
    err->status = SL_CQLC_ESERVER;
    err->code = SL_CQLC_INVALID;
    snprintf(err->message, sizeof err->message, "table %s.%s does not exist", ks, table);
    return SL_CQLC_ESERVER;
}

int sl_cqlc_count_rows(sl_cqlc *c, const char *ks, const char *table, int64_t max,
                       const atomic_bool *cancel, int64_t *n, bool *more, sl_cqlc_error *err)
{
    *n = 0;
    *more = false;
    char *pk;
    int rc = first_pk_column(c, ks, table, &pk, err);
    if (rc) return rc;
    sl_buf q = SL_BUF_INIT;
    sl_buf_append_str(&q, "SELECT ");
    sl_cqlc_quote_ident(&q, pk);
    sl_buf_append_str(&q, " FROM ");
    sl_cqlc_quote_ident(&q, ks);
    sl_buf_put_u8(&q, '.');
    sl_cqlc_quote_ident(&q, table);
    sl_buf_put_u8(&q, 0);
    sl_cqlc_pager *p =
        sl_cqlc_pager_new(c, (const char *)q.ptr, NULL, 0, SL_CQLC_COUNT_PAGE, false);
    sl_cqlc_result *page;
    while ((rc = sl_cqlc_pager_next(p, &page, err)) == 1) {
        *n += (int64_t)page->nrows;
        sl_cqlc_result_free(page);
        if (max > 0 && *n >= max) {
            /* Stop at max; a last page that ends exactly there may still have been the last. */
            *more = *n > max || !p->done;
            if (*n > max) *n = max;
            break;
        }
        if (cancel && atomic_load(cancel)) {
            memset(err, 0, sizeof *err);
            err->status = SL_ERR_CLOSED;
            snprintf(err->message, sizeof err->message, "count cancelled");
            rc = SL_ERR_CLOSED;
            break;
        }
    }
    sl_cqlc_pager_free(p);
    sl_buf_free(&q);
    sl_free(pk);
    return rc < 0 ? rc : 0;
}
