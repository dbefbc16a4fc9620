/* sink_int.h: private to src/pipeline/sink*.c: the table of sink kinds, and the URL parsers and
 * value encoders of each kind (exposed for tests/unit/pipeline/test_sink.c). */
#ifndef SL_PIPELINE_SINK_INT_H
#define SL_PIPELINE_SINK_INT_H

#include "core/buf.h"
#include "pipeline/sink.h"

/* One kind of sink, chosen by the URL's scheme. write gets the batch without repeated keys:
 * idx[0..n) are the rows to write, in order (the last row of each key). */
typedef struct sl__sink_ops {
    const char *scheme; /* "cql", "postgresql", ... (before "://") */
    int (*open)(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen);
    int (*write)(sl_sink *s, const sl_sink_value *rows, const size_t *idx, size_t n, char *err,
                 size_t errlen);
    void (*close)(sl_sink *s);
} sl__sink_ops;

/* The head of every sink; each kind's struct starts with it. Owned by sink.c. */
struct sl_sink {
    const sl__sink_ops *ops;
    size_t ncols;
    sl_sink_column *cols; /* names owned */
    size_t *idx;          /* scratch for the deduplicated batch */
    uint32_t *slots;      /* open-addressing table of row index + 1 */
    size_t cap_rows;      /* capacity of idx */
    size_t cap_slots;     /* a power of two */
};

extern const sl__sink_ops sl__sink_cql_ops;
extern const sl__sink_ops sl__sink_pg_ops;

/* sl_sink_open with the kind given (tests use a kind of their own). */
int sl__sink_open_ops(const sl__sink_ops *ops, const sl_sink_config *cfg, sl_sink **out, char *err,
                      size_t errlen);
/* Writes "fmt" into err (never more than errlen bytes, always NUL-terminated). */
void sl__sink_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when s is a CQL/SQL identifier sluice accepts unquoted: [A-Za-z_][A-Za-z0-9_]*, at most
 * 48 characters (Cassandra's limit for keyspace and table names). */
bool sl__sink_ident_ok(const char *s, size_t len);
/* Appends the identifier folded to lower case and double-quoted, as an unquoted one means. */
void sl__sink_ident_append(sl_buf *b, const char *s, size_t len);
/* Checks cfg (url, columns, limits) and fills in the defaults; 0 or SL_ERR_INVAL with err. */
int sl__sink_config_check(const sl_sink_config *cfg, sl_sink_config *out, char *err, size_t errlen);

/* cql://[user[:pass]@]host[:port][,host[:port]...]/KEYSPACE.TABLE[?consistency=LEVEL] */
typedef struct sl__sink_cql_url {
    char *user, *password; /* percent-decoded; NULL when the URL has none */
    char *hosts;           /* "host:port,host:port" as the client's contact_points */
    char keyspace[49], table[49];
    int consistency; /* SL_CQLC_*; default SL_CQLC_ONE */
    int batch_rows;  /* rows per UNLOGGED BATCH request (1: one EXECUTE per row); default 32 */
    char *tls_ca;    /* ?tls_ca=PATH (percent-decoded): TLS, verified against it; NULL: plain */
} sl__sink_cql_url;

/* Parses url; 0, or SL_ERR_INVAL with the reason in err. Free with sl__sink_cql_url_free. */
int sl__sink_cql_url_parse(const char *url, sl__sink_cql_url *out, char *err, size_t errlen);
void sl__sink_cql_url_free(sl__sink_cql_url *u);
/* The CQL type name of t ("uuid", "text", ...). */
const char *sl__sink_cql_type(sl_sink_type t);
/* v as the native protocol's serialized bytes (§6): *out borrows v->str (TEXT) or tmp. A null
 * is ptr NULL, empty text a non-NULL empty slice. SL_ERR_INVAL for an INT out of 32 bits or a
 * TEXT with a NULL pointer and a length. */
int sl__sink_cql_value(sl_sink_type t, const sl_sink_value *v, uint8_t tmp[16], sl_slice *out);

/* Splits a postgresql:// (or postgres://) URL into the libpq conninfo without sluice's own
 * parameter table=NAME, and the table ("created_users" by default; NAME or SCHEMA.NAME). 0 or
 * SL_ERR_INVAL with err; the caller frees both strings. */
int sl__sink_pg_url_split(const char *url, char **conninfo, char **table, char *err, size_t errlen);
/* The PostgreSQL type of t ("uuid", "text", "integer", ..., "timestamptz"). */
const char *sl__sink_pg_type(sl_sink_type t);
/* COPY ... (FORMAT binary): the header, one tuple of ncols values, and the trailer. A row fails
 * with SL_ERR_INVAL and the reason (INT out of 32 bits) before anything is appended. */
void sl__sink_pg_copy_header(sl_buf *b);
int sl__sink_pg_copy_row(sl_buf *b, const sl_sink_column *cols, size_t ncols,
                         const sl_sink_value *row, char *err, size_t errlen);
void sl__sink_pg_copy_trailer(sl_buf *b);

#endif
