/* sink_cql.c: the cql:// sink, through src/cql/client.h on the client's private loop.
 *
 * Open creates the keyspace (SimpleStrategy, replication 1) and the table from the columns when
 * system_schema lacks them, waits for schema agreement (system.local and system.peers, as the
 * drivers do), and prepares the upsert, checking that the table's columns have the types the
 * columns ask for. A write sends the rows as UNLOGGED BATCHes of up to batch_rows prepared
 * upserts (a row alone when batch_rows is 1 or its values are large) and keeps at most
 * max_inflight requests in flight: each completion sends the next request from its callback,
 * and sl_cqlc_run drives the loop until the batch is answered. A BATCH is one frame, one
 * statement group and one commit-log sync request in the store, where each row as a request of
 * its own costs all three. Only standard CQL and system tables are used, so the same sink works
 * against a real Cassandra. */
#include "pipeline/sink_int.h"
#include "auth/auth.h"

#include "core/log.h"
#include "core/sl.h"
#include "cql/client.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG             "sink"
#define DEFAULT_USER        "cassandra"
#define DEFAULT_KEYSPACE    "spark_streams"
#define DEFAULT_TABLE       "created_users"
#define SCHEMA_AGREEMENT_MS 10000
#define RECONNECT_MAX_MS    2000
#define DEFAULT_BATCH_ROWS  32
#define MAX_BATCH_ROWS      1000
/* A BATCH stops growing at this many bytes of values, and a larger row goes alone as an
 * EXECUTE: Cassandra refuses a batch over batch_size_fail_threshold (50 KiB by default). */
#define BATCH_MAX_BYTES (32u << 10)

typedef struct cql_sink {
    sl_sink base;
    sl_cqlc *c;
    char *insert; /* the prepared upsert's text */
    char *target; /* "ks.table" for messages */
    const sl_sink_column *cols;
    size_t ncols;
    int max_inflight;
    int batch_rows;
    sl_cqlc_qopts qo;
    /* The batch being written (sl_sink_write only). */
    const sl_sink_value *rows;
    const size_t *idx;
    size_t n, next, outstanding;
    size_t failed;    /* rows whose request failed */
    bool send_failed; /* a request could not be sent */
    sl_cqlc_error first_err;
    sl_slice *vals;
    uint8_t (*tmp)[16];
} cql_sink;

static const struct {
    const char *name;
    int level;
} consistencies[] = {
    {"ANY", SL_CQLC_ANY},
    {"ONE", SL_CQLC_ONE},
    {"TWO", SL_CQLC_TWO},
    {"THREE", SL_CQLC_THREE},
    {"QUORUM", SL_CQLC_QUORUM},
    {"ALL", SL_CQLC_ALL},
    {"LOCAL_QUORUM", SL_CQLC_LOCAL_QUORUM},
    {"EACH_QUORUM", SL_CQLC_EACH_QUORUM},
    {"LOCAL_ONE", SL_CQLC_LOCAL_ONE},
};

static const struct {
    const char *cql;
    uint16_t ids[2]; /* type ids a bind variable of this column may have */
} cql_types[] = {
    [SL_SINK_UUID] = {"uuid", {SL_CQLC_T_UUID, SL_CQLC_T_TIMEUUID}},
    [SL_SINK_TEXT] = {"text", {SL_CQLC_T_VARCHAR, SL_CQLC_T_ASCII}},
    [SL_SINK_INT] = {"int", {SL_CQLC_T_INT, SL_CQLC_T_INT}},
    [SL_SINK_BIGINT] = {"bigint", {SL_CQLC_T_BIGINT, SL_CQLC_T_BIGINT}},
    [SL_SINK_DOUBLE] = {"double", {SL_CQLC_T_DOUBLE, SL_CQLC_T_DOUBLE}},
    [SL_SINK_BOOLEAN] = {"boolean", {SL_CQLC_T_BOOLEAN, SL_CQLC_T_BOOLEAN}},
    [SL_SINK_TIMESTAMP] = {"timestamp", {SL_CQLC_T_TIMESTAMP, SL_CQLC_T_TIMESTAMP}},
};

/* A bind variable's type for messages. */
static const char *type_name(uint16_t id)
{
    static const struct {
        uint16_t id;
        const char *name;
    } names[] = {
        {SL_CQLC_T_ASCII, "ascii"},     {SL_CQLC_T_BIGINT, "bigint"},
        {SL_CQLC_T_BLOB, "blob"},       {SL_CQLC_T_BOOLEAN, "boolean"},
        {SL_CQLC_T_COUNTER, "counter"}, {SL_CQLC_T_DECIMAL, "decimal"},
        {SL_CQLC_T_DOUBLE, "double"},   {SL_CQLC_T_FLOAT, "float"},
        {SL_CQLC_T_INT, "int"},         {SL_CQLC_T_TIMESTAMP, "timestamp"},
        {SL_CQLC_T_UUID, "uuid"},       {SL_CQLC_T_VARCHAR, "text"},
        {SL_CQLC_T_VARINT, "varint"},   {SL_CQLC_T_TIMEUUID, "timeuuid"},
        {SL_CQLC_T_INET, "inet"},       {SL_CQLC_T_DATE, "date"},
        {SL_CQLC_T_TIME, "time"},       {SL_CQLC_T_SMALLINT, "smallint"},
        {SL_CQLC_T_TINYINT, "tinyint"}, {SL_CQLC_T_LIST, "a list"},
        {SL_CQLC_T_MAP, "a map"},       {SL_CQLC_T_SET, "a set"},
        {SL_CQLC_T_UDT, "a user type"}, {SL_CQLC_T_TUPLE, "a tuple"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (names[i].id == id) return names[i].name;
    return "of another type";
}

const char *sl__sink_cql_type(sl_sink_type t)
{
    return cql_types[t].cql;
}

void sl__sink_cql_url_free(sl__sink_cql_url *u)
{
    sl_free(u->user);
    sl_free(u->password);
    sl_free(u->hosts);
    sl_free(u->tls_ca);
    memset(u, 0, sizeof *u);
}

int sl__sink_cql_url_parse(const char *url, sl__sink_cql_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->consistency = SL_CQLC_ONE;
    u->batch_rows = DEFAULT_BATCH_ROWS;
    if (strncasecmp(url, "cql://", 6) != 0) {
        sl__sink_err(err, errlen, "cql sink: URL must start with cql://");
        return SL_ERR_INVAL;
    }
    const char *p = url + 6;
    size_t alen = strcspn(p, "/?");
    const char *auth = p, *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@') at = auth + i;
    const char *hosts = auth;
    if (at) {
        size_t ulen = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', ulen);
        size_t nlen = colon ? (size_t)(colon - auth) : ulen;
        u->user = sl_sink_url_unescape(auth, nlen);
        if (colon) u->password = sl_sink_url_unescape(colon + 1, ulen - nlen - 1);
        if (!u->user || !*u->user || (colon && !u->password)) {
            sl__sink_err(err, errlen,
                         "cql sink: bad user:password in URL (empty user or bad %%-escape)");
            goto fail;
        }
        hosts = at + 1;
    }
    size_t hlen = (size_t)(auth + alen - hosts);
    if (hlen == 0) {
        sl__sink_err(err, errlen,
                     "cql sink: no host in URL (cql://HOST:PORT[,HOST:PORT]/KS.TABLE)");
        goto fail;
    }
    for (size_t i = 0, start = 0; i <= hlen; i++) {
        if (i < hlen && hosts[i] != ',') {
            unsigned char ch = (unsigned char)hosts[i];
            if (!isalnum(ch) && !strchr(".-_:[]", ch)) {
                sl__sink_err(err, errlen, "cql sink: bad character '%c' in host list \"%.*s\"", ch,
                             (int)hlen, hosts);
                goto fail;
            }
            continue;
        }
        if (i == start) {
            sl__sink_err(err, errlen, "cql sink: empty host in \"%.*s\"", (int)hlen, hosts);
            goto fail;
        }
        start = i + 1;
    }
    u->hosts = sl_strndup(hosts, hlen);
    p = auth + alen;
    const char *ks = DEFAULT_KEYSPACE, *tb = DEFAULT_TABLE;
    size_t kslen = strlen(ks), tblen = strlen(tb);
    if (*p == '/') {
        p++;
        size_t plen = strcspn(p, "?");
        if (plen > 0) {
            const char *dot = memchr(p, '.', plen);
            if (!dot) {
                sl__sink_err(err, errlen, "cql sink: path \"/%.*s\" must be /KEYSPACE.TABLE",
                             (int)plen, p);
                goto fail;
            }
            ks = p, kslen = (size_t)(dot - p);
            tb = dot + 1, tblen = plen - kslen - 1;
            if (!sl__sink_ident_ok(ks, kslen) || !sl__sink_ident_ok(tb, tblen)) {
                sl__sink_err(err, errlen,
                             "cql sink: bad keyspace or table name in \"/%.*s\" (letters, digits "
                             "and _, at most 48 each)",
                             (int)plen, p);
                goto fail;
            }
        }
        p += plen;
    }
    memcpy(u->keyspace, ks, kslen);
    u->keyspace[kslen] = '\0';
    memcpy(u->table, tb, tblen);
    u->table[tblen] = '\0';
    if (*p == '?') p++;
    while (*p) {
        size_t plen = strcspn(p, "&");
        const char *eq = memchr(p, '=', plen);
        if (eq && (size_t)(eq - p) == 11 && strncasecmp(p, "consistency", 11) == 0) {
            const char *v = eq + 1;
            size_t vlen = plen - 12;
            bool found = false;
            for (size_t i = 0; i < SL_ARRAY_LEN(consistencies); i++) {
                if (strlen(consistencies[i].name) == vlen &&
                    strncasecmp(consistencies[i].name, v, vlen) == 0) {
                    u->consistency = consistencies[i].level;
                    found = true;
                }
            }
            if (!found) {
                sl__sink_err(err, errlen,
                             "cql sink: unknown consistency \"%.*s\" (ONE, QUORUM, LOCAL_QUORUM, "
                             "ALL, ...)",
                             (int)vlen, v);
                goto fail;
            }
        } else if (eq && (size_t)(eq - p) == 10 && strncasecmp(p, "batch_rows", 10) == 0) {
            const char *v = eq + 1;
            size_t vlen = plen - 11;
            long n = 0;
            size_t i = 0;
            for (; i < vlen && isdigit((unsigned char)v[i]) && n <= MAX_BATCH_ROWS; i++)
                n = n * 10 + (v[i] - '0');
            if (vlen == 0 || i < vlen || n < 1 || n > MAX_BATCH_ROWS) {
                sl__sink_err(err, errlen, "cql sink: batch_rows \"%.*s\" must be 1..%d", (int)vlen,
                             v, MAX_BATCH_ROWS);
                goto fail;
            }
            u->batch_rows = (int)n;
        } else if (eq && (size_t)(eq - p) == 6 && strncasecmp(p, "tls_ca", 6) == 0) {
            sl_free(u->tls_ca);
            u->tls_ca = sl_sink_url_unescape(eq + 1, plen - 7);
            if (!u->tls_ca || !*u->tls_ca) {
                sl__sink_err(err, errlen, "cql sink: tls_ca needs a file (bad %%-escape?)");
                goto fail;
            }
        } else if (plen > 0) {
            sl__sink_err(err, errlen,
                         "cql sink: unknown URL parameter \"%.*s\" (known: consistency, "
                         "batch_rows, tls_ca)",
                         (int)(eq ? (size_t)(eq - p) : plen), p);
            goto fail;
        }
        p += plen;
        if (*p == '&') p++;
    }
    return 0;
fail:
    sl__sink_cql_url_free(u);
    return SL_ERR_INVAL;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

int sl__sink_cql_value(sl_sink_type t, const sl_sink_value *v, uint8_t tmp[16], sl_slice *out)
{
    if (v->null) {
        *out = SL_SLICE_NULL;
        return 0;
    }
    switch (t) {
    case SL_SINK_UUID: *out = (sl_slice){v->v.uuid, 16}; return 0;
    case SL_SINK_TEXT:
        if (!v->str && v->len) return SL_ERR_INVAL;
        *out = (sl_slice){v->str ? (const uint8_t *)v->str : (const uint8_t *)"", v->len};
        return 0;
    case SL_SINK_INT:
        if (v->v.i64 < INT32_MIN || v->v.i64 > INT32_MAX) return SL_ERR_INVAL;
        put_be(tmp, (uint32_t)(int32_t)v->v.i64, 4);
        *out = (sl_slice){tmp, 4};
        return 0;
    case SL_SINK_BIGINT:
    case SL_SINK_TIMESTAMP:
        put_be(tmp, (uint64_t)v->v.i64, 8);
        *out = (sl_slice){tmp, 8};
        return 0;
    case SL_SINK_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->v.f64, 8);
        put_be(tmp, bits, 8);
        *out = (sl_slice){tmp, 8};
        return 0;
    }
    case SL_SINK_BOOLEAN:
        tmp[0] = v->v.b ? 1 : 0;
        *out = (sl_slice){tmp, 1};
        return 0;
    }
    return SL_ERR_INVAL;
}

static void fail_with(char *err, size_t errlen, const char *what, const char *target,
                      const sl_cqlc_error *e)
{
    char line[1200];
    sl__sink_err(err, errlen, "cql sink %s: %s: %s", target, what,
                 sl_cqlc_error_str(e, line, sizeof line));
}

/* Cassandra applies DDL on one node and gossips it; statements on the new table may fail on
 * other nodes until every schema_version agrees. One node (sluice store) agrees at once. */
static int wait_schema_agreement(cql_sink *s, char *err, size_t errlen)
{
    int64_t end = sl_mono_ms() + SCHEMA_AGREEMENT_MS;
    for (;;) {
        sl_cqlc_error e;
        sl_cqlc_result *local = NULL, *peers = NULL;
        int rc = sl_cqlc_query(s->c, "SELECT schema_version FROM system.local WHERE key='local'",
                               NULL, 0, NULL, &local, &e);
        if (rc == 0)
            rc = sl_cqlc_query(s->c, "SELECT peer, schema_version FROM system.peers", NULL, 0, NULL,
                               &peers, &e);
        if (rc) {
            sl_cqlc_result_free(local);
            fail_with(err, errlen, "reading schema versions", s->target, &e);
            return rc;
        }
        bool agreed = local->nrows == 1;
        sl_slice mine = agreed ? sl_cqlc_cell(local, 0, 0) : SL_SLICE_NULL;
        for (size_t r = 0; agreed && r < peers->nrows; r++) {
            sl_slice v = sl_cqlc_cell(peers, r, 1);
            if (v.ptr && !sl_slice_eq(v, mine)) agreed = false;
        }
        sl_cqlc_result_free(local);
        sl_cqlc_result_free(peers);
        if (agreed) return 0;
        if (sl_mono_ms() >= end) {
            SL_WARN(LOG_TAG, "cql sink %s: schema versions still disagree after %d ms; going on",
                    s->target, SCHEMA_AGREEMENT_MS);
            return 0;
        }
        usleep(200 * 1000);
    }
}

/* 1 when system_schema has the row, 0 when not, or a failure. Names are compared folded to
 * lower case, as the DDL below creates them. */
static int schema_has(cql_sink *s, const char *cql, const char *ks, const char *table,
                      const char *what, char *err, size_t errlen)
{
    char lks[49], ltb[49];
    size_t i;
    for (i = 0; ks[i]; i++)
        lks[i] = (char)tolower((unsigned char)ks[i]);
    lks[i] = '\0';
    for (i = 0; table && table[i]; i++)
        ltb[i] = (char)tolower((unsigned char)table[i]);
    ltb[i] = '\0';
    sl_slice vals[2] = {SL_SLICE_STR(lks), SL_SLICE_STR(ltb)};
    sl_cqlc_error e;
    sl_cqlc_result *res = NULL;
    int rc = sl_cqlc_query(s->c, cql, vals, table ? 2 : 1, NULL, &res, &e);
    if (rc) {
        fail_with(err, errlen, what, s->target, &e);
        return rc;
    }
    rc = res->nrows > 0;
    sl_cqlc_result_free(res);
    return rc;
}

/* DDL only for what is missing: an account that may write to an existing table but not create
 * keyspaces (a real Cassandra checks CREATE permission even with IF NOT EXISTS) still opens. */
static int create_schema(cql_sink *s, const sl__sink_cql_url *u, const sl_sink_config *cfg,
                         char *err, size_t errlen)
{
    int has = schema_has(s,
                         "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND "
                         "table_name = ?",
                         u->keyspace, u->table, "reading system_schema.tables", err, errlen);
    if (has < 0) return has;
    if (has) return 0;
    has = schema_has(s, "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
                     u->keyspace, NULL, "reading system_schema.keyspaces", err, errlen);
    if (has < 0) return has;
    sl_buf b = SL_BUF_INIT;
    sl_cqlc_error e;
    int rc = 0;
    if (has) goto table;
    sl_buf_append_str(&b, "CREATE KEYSPACE IF NOT EXISTS ");
    sl__sink_ident_append(&b, u->keyspace, strlen(u->keyspace));
    sl_buf_append_str(&b, " WITH replication = {'class': 'SimpleStrategy', "
                          "'replication_factor': 1}");
    rc = sl_cqlc_query(s->c, sl_buf_cstr(&b), NULL, 0, NULL, NULL, &e);
    if (rc) {
        fail_with(err, errlen, "creating the keyspace", s->target, &e);
        goto out;
    }
    SL_INFO(LOG_TAG, "cql sink %s: created its keyspace (SimpleStrategy, replication_factor 1)",
            s->target);
table:
    sl_buf_reset(&b);
    sl_buf_append_str(&b, "CREATE TABLE IF NOT EXISTS ");
    sl__sink_ident_append(&b, u->keyspace, strlen(u->keyspace));
    sl_buf_append_str(&b, ".");
    sl__sink_ident_append(&b, u->table, strlen(u->table));
    sl_buf_append_str(&b, " (");
    for (size_t i = 0; i < cfg->ncols; i++) {
        sl__sink_ident_append(&b, cfg->cols[i].name, strlen(cfg->cols[i].name));
        sl_buf_printf(&b, " %s%s", cql_types[cfg->cols[i].type].cql, i == 0 ? " PRIMARY KEY" : "");
        sl_buf_append_str(&b, i + 1 < cfg->ncols ? ", " : ")");
    }
    rc = sl_cqlc_query(s->c, sl_buf_cstr(&b), NULL, 0, NULL, NULL, &e);
    if (rc) {
        fail_with(err, errlen, "creating the table", s->target, &e);
        goto out;
    }
    SL_INFO(LOG_TAG, "cql sink %s: created the table", s->target);
    rc = wait_schema_agreement(s, err, errlen);
out:
    sl_buf_free(&b);
    return rc;
}

/* Prepares the upsert and checks each bind variable's type against its column's. */
static int prepare_insert(cql_sink *s, const sl__sink_cql_url *u, const sl_sink_config *cfg,
                          char *err, size_t errlen)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_append_str(&b, "INSERT INTO ");
    sl__sink_ident_append(&b, u->keyspace, strlen(u->keyspace));
    sl_buf_append_str(&b, ".");
    sl__sink_ident_append(&b, u->table, strlen(u->table));
    sl_buf_append_str(&b, " (");
    for (size_t i = 0; i < cfg->ncols; i++) {
        sl__sink_ident_append(&b, cfg->cols[i].name, strlen(cfg->cols[i].name));
        sl_buf_append_str(&b, i + 1 < cfg->ncols ? ", " : ") VALUES (");
    }
    for (size_t i = 0; i < cfg->ncols; i++)
        sl_buf_append_str(&b, i + 1 < cfg->ncols ? "?, " : "?)");
    s->insert = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);

    sl_cqlc_error e;
    sl_cqlc_result *res = NULL;
    int rc = sl_cqlc_prepare(s->c, s->insert, &res, &e);
    if (rc) {
        fail_with(err, errlen, "preparing the upsert", s->target, &e);
        return rc;
    }
    if (res->nbind != cfg->ncols) {
        sl__sink_err(err, errlen, "cql sink %s: the upsert has %zu bind variables, not %zu",
                     s->target, res->nbind, cfg->ncols);
        rc = SL_ERR_CONFIG;
    }
    for (size_t i = 0; rc == 0 && i < cfg->ncols; i++) {
        uint16_t id = res->bind[i].type.id;
        const uint16_t *ok = cql_types[cfg->cols[i].type].ids;
        if (id != ok[0] && id != ok[1]) {
            sl__sink_err(err, errlen,
                         "cql sink %s: column %s is %s in the existing table, but the schema says "
                         "%s",
                         s->target, cfg->cols[i].name, type_name(id),
                         cql_types[cfg->cols[i].type].cql);
            rc = SL_ERR_CONFIG;
        }
    }
    sl_cqlc_result_free(res);
    return rc;
}

static void cql_close(sl_sink *base)
{
    cql_sink *s = (cql_sink *)base;
    if (s->c) sl_cqlc_close(s->c);
    sl_free(s->insert);
    sl_free(s->target);
    sl_free(s->vals);
    sl_free(s->tmp);
    sl_free(s);
}

static int cql_open(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen)
{
    sl__sink_cql_url u;
    int rc = sl__sink_cql_url_parse(cfg->url, &u, err, errlen);
    if (rc) return rc;
    cql_sink *s = sl_calloc(1, sizeof *s);
    size_t tlen = strlen(u.keyspace) + strlen(u.table) + 2;
    s->target = sl_malloc(tlen);
    snprintf(s->target, tlen, "%s.%s", u.keyspace, u.table);
    for (char *p = s->target; *p; p++) /* as the server names them: folded, unquoted */
        *p = (char)tolower((unsigned char)*p);
    s->cols = cfg->cols;
    s->ncols = cfg->ncols;
    s->max_inflight = cfg->max_inflight;
    s->batch_rows = u.batch_rows;
    s->vals = sl_malloc(cfg->ncols * sizeof *s->vals);
    s->tmp = sl_malloc(cfg->ncols * sizeof *s->tmp);
    sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
    qo.idempotent = true; /* an upsert may be sent again if its connection is lost */
    qo.skip_metadata = true;
    s->qo = qo;

    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    o.loop = NULL;
    o.contact_points = u.hosts;
    o.user = u.user ? u.user : DEFAULT_USER;
    o.password = sl_auth_cql_password(u.password, u.user ? "" : DEFAULT_USER);
    o.tls_ca = u.tls_ca;
    o.max_streams = (unsigned)SL_MAX(cfg->max_inflight, 128);
    o.request_timeout_ms = cfg->timeout_ms;
    o.connect_timeout_ms = SL_MIN(cfg->timeout_ms, 5000);
    o.reconnect_max_ms = RECONNECT_MAX_MS;
    o.consistency = u.consistency;
    sl_cqlc_error e;
    rc = sl_cqlc_open(&o, &s->c, &e);
    if (rc) {
        s->c = NULL;
        char line[1200];
        sl__sink_err(err, errlen, "cql sink %s: cannot connect to %s as %s: %s", s->target, u.hosts,
                     o.user, sl_cqlc_error_str(&e, line, sizeof line));
        goto fail;
    }
    rc = create_schema(s, &u, cfg, err, errlen);
    if (rc == 0) rc = prepare_insert(s, &u, cfg, err, errlen);
    if (rc) goto fail;
    SL_INFO(LOG_TAG, "cql sink %s on %s ready (%zu columns, %d in flight, %d rows a batch)",
            s->target, u.hosts, cfg->ncols, cfg->max_inflight, s->batch_rows);
    sl__sink_cql_url_free(&u);
    *out = &s->base;
    return 0;
fail:
    sl__sink_cql_url_free(&u);
    cql_close(&s->base);
    return rc;
}

static void send_rows(cql_sink *s);

/* A request's rows, for its completion. */
typedef struct row_req {
    cql_sink *s;
    size_t nrows;
} row_req;

static void on_rows_done(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    row_req *rq = udata;
    cql_sink *s = rq->s;
    SL_UNUSED(c);
    s->outstanding--;
    if (resp->status != 0) {
        if (s->failed == 0 && !s->send_failed) s->first_err = *resp->error;
        s->failed += rq->nrows;
    }
    sl_free(rq);
    send_rows(s);
}

/* Serializes row r's values into s->vals; returns their total size. */
static size_t row_values(cql_sink *s, size_t r)
{
    const sl_sink_value *row = &s->rows[s->idx[r] * s->ncols];
    size_t bytes = 0;
    for (size_t c = 0; c < s->ncols; c++) {
        sl__sink_cql_value(s->cols[c].type, &row[c], s->tmp[c], &s->vals[c]);
        bytes += s->vals[c].len;
    }
    return bytes;
}

/* Adds rows next.. to b, each serialized once: up to batch_rows, while their values stay within
 * BATCH_MAX_BYTES; a row over it goes alone. Returns how many. */
static size_t fill_batch(cql_sink *s, sl_cqlc_batch *b)
{
    size_t n = 0, bytes = 0;
    while (s->next + n < s->n && n < (size_t)s->batch_rows) {
        size_t sz = row_values(s, s->next + n);
        if (n > 0 && bytes + sz > BATCH_MAX_BYTES) break;
        sl_cqlc_batch_add(b, s->insert, s->vals, s->ncols, true);
        bytes += sz;
        n++;
        if (bytes > BATCH_MAX_BYTES) break;
    }
    return n;
}

static void send_failed(cql_sink *s, int rc)
{
    if (s->failed == 0 && !s->send_failed) {
        memset(&s->first_err, 0, sizeof s->first_err);
        s->first_err.status = rc;
        snprintf(s->first_err.message, sizeof s->first_err.message, "request not sent: %s",
                 sl_strerror(rc));
    }
    s->send_failed = true;
}

/* Keeps max_inflight requests in flight; after a failure nothing more is sent (the caller
 * retries the whole batch). */
static void send_rows(cql_sink *s)
{
    while (s->failed == 0 && !s->send_failed && s->next < s->n &&
           s->outstanding < (size_t)s->max_inflight) {
        sl_cqlc_batch *b = NULL;
        size_t n = 1;
        if (s->batch_rows > 1) {
            b = sl_cqlc_batch_new(SL_CQLC_BATCH_UNLOGGED);
            n = fill_batch(s, b);
        }
        row_req *rq = sl_malloc(sizeof *rq);
        *rq = (row_req){s, n};
        int rc;
        if (n == 1) {
            row_values(s, s->next); /* s->vals may hold the row after it */
            rc =
                sl_cqlc_execute_async(s->c, s->insert, s->vals, s->ncols, &s->qo, on_rows_done, rq);
        } else {
            rc = sl_cqlc_batch_async(s->c, b, &s->qo, on_rows_done, rq);
        }
        sl_cqlc_batch_free(b);
        if (rc) {
            sl_free(rq);
            send_failed(s, rc);
            return;
        }
        s->next += n;
        s->outstanding++;
    }
}

static int cql_write(sl_sink *base, const sl_sink_value *rows, const size_t *idx, size_t n,
                     char *err, size_t errlen)
{
    cql_sink *s = (cql_sink *)base;
    s->cols = base->cols; /* the config's array may be gone by now */
    s->rows = rows;
    s->idx = idx;
    s->n = n;
    s->next = s->outstanding = s->failed = 0;
    s->send_failed = false;
    send_rows(s);
    /* Every request ends by its own timeout at the latest, so this returns. */
    sl_cqlc_run(s->c, -1);
    size_t sent = s->next, failed = s->failed;
    s->rows = NULL;
    s->idx = NULL;
    if (failed == 0 && sent == n) return 0;
    char line[1200];
    sl__sink_err(err, errlen, "cql sink %s: %zu of %zu rows not acknowledged: %s", s->target,
                 n - sent + failed, n, sl_cqlc_error_str(&s->first_err, line, sizeof line));
    return s->first_err.status ? s->first_err.status : SL_ERR_CLOSED;
}

const sl__sink_ops sl__sink_cql_ops = {"cql", cql_open, cql_write, cql_close};
