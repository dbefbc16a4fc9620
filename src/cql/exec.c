/* exec.c: the CQL engine: lifecycle, sessions, the prepared statement registry, analysis and
 * evaluation helpers shared by the statement files, and the execute/batch entry points. */
#include "cql/exec_int.h"

#include "core/codec.h"
#include "core/log.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#define MAX_PREPARED_DEFAULT 10000
#define MAX_KEY_COMBINATIONS 65535

static const uint8_t empty_bytes[1];

/* ---- results ---- */

sl_cql_result *sl__exec_result_new(sl_cql_result_kind kind)
{
    sl_cql_result *r = sl_calloc(1, sizeof *r);
    r->kind = kind;
    sl_arena_init(&r->arena, 1024);
    return r;
}

void sl_cql_result_free(sl_cql_result *res)
{
    if (!res) return;
    sl_buf_free(&res->rows);
    sl_buf_free(&res->paging_state);
    sl_arena_free(&res->arena);
    sl_free(res);
}

char *sl__exec_strdup(sl_cql_result *res, const char *s)
{
    return s ? sl_arena_strndup(&res->arena, s, strlen(s)) : NULL;
}

static char *vfmt(sl_cql_result *res, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *p = sl_arena_alloc(&res->arena, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

int sl__exec_fail(sl_cql_result *res, sl_cql_errcode code, const char *fmt, ...)
{
    if (res->kind == SL_CQL_RESULT_ERROR) return -1; /* the first error wins */
    res->kind = SL_CQL_RESULT_ERROR;
    res->error.code = code;
    va_list ap;
    va_start(ap, fmt);
    res->error.message = vfmt(res, fmt, ap);
    va_end(ap);
    return -1;
}

void sl__exec_warn(sl_cql_result *res, const char *fmt, ...)
{
    char **w = sl_arena_alloc(&res->arena, (res->n_warnings + 1) * sizeof *w);
    if (res->n_warnings) memcpy(w, res->warnings, res->n_warnings * sizeof *w);
    va_list ap;
    va_start(ap, fmt);
    w[res->n_warnings++] = vfmt(res, fmt, ap);
    va_end(ap);
    res->warnings = w;
}

sl_cql_colspec *sl__exec_columns(sl_cql_result *res, size_t n)
{
    sl_cql_colspec *c = sl_arena_alloc(&res->arena, (n ? n : 1) * sizeof *c);
    memset(c, 0, (n ? n : 1) * sizeof *c);
    return c;
}

void sl__exec_colspec(sl_cql_result *res, sl_cql_colspec *spec, const char *ks, const char *table,
                      const char *name, const sl_cql_dtype *type)
{
    spec->keyspace = sl__exec_strdup(res, ks);
    spec->table = sl__exec_strdup(res, table);
    spec->name = sl__exec_strdup(res, name);
    sl_buf b = SL_BUF_INIT;
    sl_cql_dtype_encode_option(type, &b);
    uint8_t *p = sl_arena_alloc(&res->arena, b.len);
    memcpy(p, b.ptr, b.len);
    spec->type = (sl_slice){p, b.len};
    sl_buf_free(&b);
}

void sl__exec_cell(sl_cql_result *res, sl_slice v)
{
    if (!v.ptr) {
        sl_buf_put_be32(&res->rows, UINT32_MAX);
        return;
    }
    sl_buf_put_be32(&res->rows, (uint32_t)v.len);
    if (v.len) sl_buf_append(&res->rows, v.ptr, v.len);
}

bool sl_cql_result_next_cell(const sl_cql_result *res, size_t *off, sl_cql_value *cell)
{
    if (*off + 4 > res->rows.len) return false;
    int32_t n = (int32_t)sl_get_be32(res->rows.ptr + *off);
    *off += 4;
    if (n < 0) {
        cell->kind = SL_CQL_NULL;
        cell->bytes = SL_SLICE_NULL;
        return true;
    }
    if ((size_t)n > res->rows.len - *off) return false;
    cell->kind = SL_CQL_VALUE;
    cell->bytes = (sl_slice){n ? res->rows.ptr + *off : empty_bytes, (size_t)n};
    *off += (size_t)n;
    return true;
}

const char *sl_cql_change_type_name(sl_cql_change_type c)
{
    static const char *names[] = {"CREATED", "UPDATED", "DROPPED"};
    return (unsigned)c < SL_ARRAY_LEN(names) ? names[c] : "UPDATED";
}

const char *sl_cql_change_target_name(sl_cql_change_target t)
{
    static const char *names[] = {"KEYSPACE", "TABLE", "TYPE"};
    return (unsigned)t < SL_ARRAY_LEN(names) ? names[t] : "KEYSPACE";
}

/* ---- engine ---- */

void sl_cql_engine_opts_default(sl_cql_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data_dir = "./sluice-data/store";
    o->sync_mode = SL_CQL_SYNC_BATCH;
    o->sync_period_ms = 10000;
    o->cluster_name = "Test Cluster";
    o->datacenter = "datacenter1";
    o->rack = "rack1";
    o->release_version = "4.0.11";
    o->cql_version = "3.4.5";
    o->rpc_address = "127.0.0.1";
    o->rpc_port = 9042;
}

static char *dup_or(const char *s, const char *dflt)
{
    return sl_strdup(s ? s : dflt);
}

static void plan_free(cql_plan *p);

static void keepalive_closed(uv_handle_t *h)
{
    sl_free(h);
}

static void keepalive_noop(uv_async_t *h)
{
    (void)h;
}

static void engine_free(sl_cql_engine *e)
{
    for (size_t i = 0; i < e->ptab_cap; i++) {
        cql_plan *p = e->ptab[i];
        while (p) {
            cql_plan *n = p->hnext;
            plan_free(p);
            p = n;
        }
    }
    sl_free(e->ptab);
    if (e->wb) sl_store_batch_free(e->wb);
    if (e->cat) sl_catalog_close(e->cat);
    if (e->store) sl_store_close(e->store);
    if (e->keepalive) uv_close((uv_handle_t *)e->keepalive, keepalive_closed);
    sl_free((char *)e->opts.data_dir);
    sl_free((char *)e->opts.cluster_name);
    sl_free((char *)e->opts.datacenter);
    sl_free((char *)e->opts.rack);
    sl_free((char *)e->opts.release_version);
    sl_free((char *)e->opts.cql_version);
    sl_free((char *)e->opts.rpc_address);
    sl_free(e);
}

/* The host id persists in the catalog's key space so drivers see the same node after a
 * restart. */
static int load_host_id(sl_cql_engine *e, sl_buf *err)
{
    static const char key[] = "engine/host_id";
    sl_buf v = SL_BUF_INIT;
    int rc = sl_store_meta_get(e->store, SL_SLICE_STR(key), &v);
    if (rc == 0 && v.len == 16) {
        memcpy(e->host_id, v.ptr, 16);
        sl_buf_free(&v);
        return 0;
    }
    sl_buf_free(&v);
    if (rc != 0 && rc != SL_ERR_NOTFOUND) {
        sl_buf_printf(err, "reading the host id: %s", sl_strerror(rc));
        return rc;
    }
    sl_cql_uuid_v4(e->host_id);
    sl_store_batch_meta_put(e->wb, SL_SLICE_STR(key), (sl_slice){e->host_id, 16});
    return sl_store_write(e->store, e->wb, err);
}

int sl_cql_engine_open(uv_loop_t *loop, const sl_cql_engine_opts *opts, sl_cql_engine **out,
                       char **errmsg)
{
    sl_cql_engine_opts dflt;
    sl_cql_engine_opts_default(&dflt);
    if (errmsg) *errmsg = NULL;
    sl_cql_engine *e = sl_calloc(1, sizeof *e);
    e->loop = loop;
    e->opts = *opts;
    e->opts.data_dir = dup_or(opts->data_dir, dflt.data_dir);
    e->opts.cluster_name = dup_or(opts->cluster_name, dflt.cluster_name);
    e->opts.datacenter = dup_or(opts->datacenter, dflt.datacenter);
    e->opts.rack = dup_or(opts->rack, dflt.rack);
    e->opts.release_version = dup_or(opts->release_version, dflt.release_version);
    e->opts.cql_version = dup_or(opts->cql_version, dflt.cql_version);
    e->opts.rpc_address = dup_or(opts->rpc_address, dflt.rpc_address);
    if (e->opts.rpc_port <= 0) e->opts.rpc_port = dflt.rpc_port;
    e->max_prepared = MAX_PREPARED_DEFAULT;
    e->lru.lru_next = e->lru.lru_prev = &e->lru;
    e->ptab_cap = 1024;
    e->ptab = sl_calloc(e->ptab_cap, sizeof *e->ptab);
    e->keepalive = sl_malloc(sizeof *e->keepalive);
    uv_async_init(loop, e->keepalive, keepalive_noop);
    uv_unref((uv_handle_t *)e->keepalive);

    sl_store_opts so;
    sl_store_opts_default(&so);
    so.dir = e->opts.data_dir;
    so.sync_mode =
        opts->sync_mode == SL_CQL_SYNC_PERIODIC ? SL_STORE_SYNC_PERIODIC : SL_STORE_SYNC_BATCH;
    if (opts->sync_period_ms > 0) so.sync_period_ms = opts->sync_period_ms;
    if (opts->memtable_bytes) so.write_buffer_bytes = opts->memtable_bytes;
    if (opts->block_cache_bytes) so.block_cache_bytes = opts->block_cache_bytes;
    so.clock_us = opts->clock_us;
    so.clock_arg = opts->clock_arg;
    sl_buf err = SL_BUF_INIT;
    int rc = sl_store_open(loop, &so, &e->store, &err);
    if (rc == 0) {
        e->wb = sl_store_batch_new(e->store);
        rc = sl_catalog_open(e->store, &e->cat, &err);
    }
    if (rc == 0) rc = load_host_id(e, &err);
    if (rc != 0) {
        if (errmsg) *errmsg = sl_strdup(err.len ? sl_buf_cstr(&err) : sl_strerror(rc));
        sl_buf_free(&err);
        engine_free(e);
        return rc;
    }
    sl_buf_free(&err);
    e->gossip_generation = (int32_t)(sl_store_now_us(e->store) / 1000000);
    SL_INFO(EXEC_SUBSYS, "store open in %s", e->opts.data_dir);
    *out = e;
    return 0;
}

void sl_cql_engine_close(sl_cql_engine *e)
{
    if (e) engine_free(e);
}

void sl_cql_engine_schema_version(const sl_cql_engine *e, uint8_t out[16])
{
    sl_catalog_schema_version(e->cat, out);
}

void sl_cql_engine_on_schema_change(sl_cql_engine *e, sl_cql_schema_fn fn, void *arg)
{
    e->schema_fn = fn;
    e->schema_arg = arg;
}

int64_t sl__exec_next_timestamp(sl_cql_engine *e)
{
    int64_t now = sl_store_now_us(e->store);
    if (now <= e->last_ts) now = e->last_ts + 1;
    e->last_ts = now;
    return now;
}

/* ---- sessions ---- */

sl_cql_session *sl_cql_session_new(sl_cql_engine *e, const char *user)
{
    sl_cql_session *s = sl_calloc(1, sizeof *s);
    s->e = e;
    s->user = user ? sl_strdup(user) : NULL;
    return s;
}

void sl_cql_session_free(sl_cql_session *s)
{
    if (!s) return;
    sl_free(s->keyspace);
    sl_free(s->user);
    sl_free(s);
}

const char *sl_cql_session_keyspace(const sl_cql_session *s)
{
    return s->keyspace;
}

/* ---- plans ---- */

static void plan_reset_analysis(cql_plan *p)
{
    for (uint32_t i = 0; i < p->n_subplans; i++)
        plan_free(p->subplans[i]);
    for (uint32_t i = 0; i < p->n_tables; i++)
        sl_cql_table_release(p->tables[i]);
    for (uint32_t i = 0; i < p->n_owned; i++)
        sl_cql_dtype_release(p->owned[i]);
    sl_free(p->tables);
    sl_free(p->owned);
    sl_free(p->subplans);
    sl_arena_free(&p->arena);
    sl_arena_init(&p->arena, 4096);
    p->tables = NULL;
    p->owned = NULL;
    p->subplans = NULL;
    p->n_tables = p->cap_tables = p->n_owned = p->cap_owned = p->n_subplans = 0;
    p->binds = NULL;
    p->bind_types = NULL;
    p->n_binds = 0;
    p->pk_index = NULL;
    p->n_pk_index = 0;
    p->cols = NULL;
    p->n_cols = 0;
    p->sel = NULL;
    p->mod = NULL;
    p->batch = NULL;
    p->analyzed = false;
}

static void plan_free(cql_plan *p)
{
    if (!p) return;
    plan_reset_analysis(p);
    sl_arena_free(&p->arena);
    sl_arena_free(&p->ast_arena);
    sl_free(p);
}

/* Parses query into a new plan (not analyzed). On a syntax error returns NULL with res set. */
static cql_plan *plan_parse(const char *keyspace, sl_slice query, sl_cql_result *res)
{
    cql_plan *p = sl_calloc(1, sizeof *p);
    sl_arena_init(&p->ast_arena, 4096);
    sl_arena_init(&p->arena, 4096);
    p->query = sl_arena_strndup(&p->ast_arena, (const char *)query.ptr, query.len);
    p->query_len = query.len;
    p->keyspace = keyspace ? sl_arena_strndup(&p->ast_arena, keyspace, strlen(keyspace)) : NULL;
    sl_cql_parse_error perr;
    memset(&perr, 0, sizeof perr);
    if (sl_cql_parse((const char *)query.ptr, query.len, &p->ast_arena, &p->stmt, &perr) != 0) {
        sl__exec_fail(res, SL_CQL_ERR_SYNTAX, "%s", perr.message);
        plan_free(p);
        return NULL;
    }
    return p;
}

/* A plan for a statement nested in a BATCH: it shares the parent's syntax tree. */
static cql_plan *plan_child(cql_plan *parent, sl_cql_stmt *st)
{
    cql_plan *p = sl_calloc(1, sizeof *p);
    sl_arena_init(&p->ast_arena, 256);
    sl_arena_init(&p->arena, 4096);
    p->stmt = st;
    p->keyspace = parent->keyspace;
    p->query = parent->query;
    p->query_len = parent->query_len;
    return p;
}

void *sl__an_alloc(an_ctx *a, size_t n)
{
    void *p = sl_arena_alloc(&a->plan->arena, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

char *sl__an_strdup(an_ctx *a, const char *s)
{
    return s ? sl_arena_strndup(&a->plan->arena, s, strlen(s)) : NULL;
}

const sl_cql_dtype *sl__an_own(an_ctx *a, sl_cql_dtype *t)
{
    cql_plan *p = a->plan;
    if (p->n_owned == p->cap_owned) {
        p->cap_owned = p->cap_owned ? p->cap_owned * 2 : 8;
        p->owned = sl_realloc(p->owned, p->cap_owned * sizeof *p->owned);
    }
    p->owned[p->n_owned++] = t;
    return t;
}

sl_cql_table *sl__an_keep_table(an_ctx *a, sl_cql_table *t)
{
    cql_plan *p = a->plan;
    if (p->n_tables == p->cap_tables) {
        p->cap_tables = p->cap_tables ? p->cap_tables * 2 : 4;
        p->tables = sl_realloc(p->tables, p->cap_tables * sizeof *p->tables);
    }
    p->tables[p->n_tables++] = sl_cql_table_keep(t);
    return t;
}

const char *sl__an_keyspace(an_ctx *a, const sl_cql_ident *ks)
{
    if (ks && ks->name) return ks->name;
    if (a->keyspace) return a->keyspace;
    sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                  "No keyspace has been specified. USE a keyspace, or explicitly specify "
                  "keyspace.tablename");
    return NULL;
}

sl_cql_table *sl__an_table(an_ctx *a, const sl_cql_qname *qn)
{
    const char *ks = sl__an_keyspace(a, &qn->ks);
    if (!ks) return NULL;
    if (!sl_catalog_keyspace(a->e->cat, ks)) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Keyspace '%s' does not exist", ks);
        return NULL;
    }
    sl_cql_table *t = sl_catalog_table(a->e->cat, ks, qn->name.name);
    if (!t) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "unconfigured table %s", qn->name.name);
        return NULL;
    }
    return sl__an_keep_table(a, t);
}

const sl_cql_column *sl__an_column(an_ctx *a, const sl_cql_table *t, const sl_cql_ident *name)
{
    const sl_cql_column *c = sl_cql_table_column(t, name->name);
    if (!c) sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Undefined column name %s", name->name);
    return c;
}

const sl_cql_dtype *sl__an_list_of(an_ctx *a, const sl_cql_dtype *elem, sl_cql_kind kind)
{
    sl_cql_dtype *sub[1] = {sl_cql_dtype_keep(elem)};
    return sl__an_own(a, sl_cql_dtype_new(kind, false, 1, sub));
}

/* Records bind marker idx's receiver for the PREPARED metadata. */
static void an_bind(an_ctx *a, uint32_t idx, const char *ks, const char *table, const char *name,
                    const sl_cql_dtype *type)
{
    cql_plan *p = a->plan;
    if (idx >= p->n_binds) return;
    p->binds[idx].keyspace = sl__an_strdup(a, ks ? ks : "");
    p->binds[idx].table = sl__an_strdup(a, table ? table : "");
    p->binds[idx].name = sl__an_strdup(a, name ? name : "");
    p->bind_types[idx] = type;
}

/* ---- functions ---- */

static const fn_def fn_defs[] = {
    {"now", FN_NOW, 0},
    {"uuid", FN_UUID, 0},
    {"currenttimeuuid", FN_CURRENT_TIMEUUID, 0},
    {"currenttimestamp", FN_CURRENT_TIMESTAMP, 0},
    {"currentdate", FN_CURRENT_DATE, 0},
    {"currenttime", FN_CURRENT_TIME, 0},
    {"totimestamp", FN_TO_TIMESTAMP, 1},
    {"todate", FN_TO_DATE, 1},
    {"tounixtimestamp", FN_TO_UNIX_TIMESTAMP, 1},
    {"dateof", FN_DATE_OF, 1},
    {"unixtimestampof", FN_UNIX_TIMESTAMP_OF, 1},
    {"mintimeuuid", FN_MIN_TIMEUUID, 1},
    {"maxtimeuuid", FN_MAX_TIMEUUID, 1},
    {"token", FN_TOKEN, -1},
    {"tojson", FN_TO_JSON, 1},
    {"count", FN_COUNT, 1},
    {"min", FN_MIN, 1},
    {"max", FN_MAX, 1},
    {"sum", FN_SUM, 1},
    {"avg", FN_AVG, 1},
};

const fn_def *sl__exec_fn_lookup(const sl_cql_qname *qn)
{
    if (qn->ks.name && strcasecmp(qn->ks.name, "system") != 0) return NULL;
    for (size_t i = 0; i < SL_ARRAY_LEN(fn_defs); i++)
        if (strcasecmp(fn_defs[i].name, qn->name.name) == 0) return &fn_defs[i];
    return NULL;
}

const char *sl__exec_fn_name(cql_fn fn)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(fn_defs); i++)
        if (fn_defs[i].fn == fn) return fn_defs[i].name;
    return "?";
}

const sl_cql_kind *sl__exec_fn_arg_kinds(cql_fn fn, size_t *n)
{
    static const sl_cql_kind to_ts[] = {SL_CQL_TIMEUUID, SL_CQL_DATE, SL_CQL_TIMESTAMP};
    static const sl_cql_kind to_date[] = {SL_CQL_TIMEUUID, SL_CQL_TIMESTAMP, SL_CQL_DATE};
    static const sl_cql_kind to_unix[] = {SL_CQL_TIMEUUID, SL_CQL_TIMESTAMP, SL_CQL_DATE};
    static const sl_cql_kind tu[] = {SL_CQL_TIMEUUID};
    static const sl_cql_kind ts[] = {SL_CQL_TIMESTAMP};
    switch (fn) {
    case FN_TO_TIMESTAMP: *n = 3; return to_ts;
    case FN_TO_DATE: *n = 3; return to_date;
    case FN_TO_UNIX_TIMESTAMP: *n = 3; return to_unix;
    case FN_DATE_OF:
    case FN_UNIX_TIMESTAMP_OF: *n = 1; return tu;
    case FN_MIN_TIMEUUID:
    case FN_MAX_TIMEUUID: *n = 1; return ts;
    default: *n = 0; return NULL;
    }
}

const sl_cql_dtype *sl__exec_fn_return(cql_fn fn, const sl_cql_dtype *arg)
{
    switch (fn) {
    case FN_NOW:
    case FN_CURRENT_TIMEUUID:
    case FN_MIN_TIMEUUID:
    case FN_MAX_TIMEUUID: return sl_cql_dtype_prim(SL_CQL_TIMEUUID);
    case FN_UUID: return sl_cql_dtype_prim(SL_CQL_UUID);
    case FN_CURRENT_TIMESTAMP:
    case FN_TO_TIMESTAMP:
    case FN_DATE_OF: return sl_cql_dtype_prim(SL_CQL_TIMESTAMP);
    case FN_CURRENT_DATE:
    case FN_TO_DATE: return sl_cql_dtype_prim(SL_CQL_DATE);
    case FN_CURRENT_TIME: return sl_cql_dtype_prim(SL_CQL_TIME);
    case FN_TO_UNIX_TIMESTAMP:
    case FN_UNIX_TIMESTAMP_OF:
    case FN_TOKEN:
    case FN_COUNT: return sl_cql_dtype_prim(SL_CQL_BIGINT);
    case FN_TO_JSON: return sl_cql_dtype_prim(SL_CQL_TEXT);
    case FN_MIN:
    case FN_MAX:
    case FN_SUM:
    case FN_AVG: return arg;
    default: return NULL;
    }
}

/* Whether a value of type from may be assigned to a receiver of type to. */
static bool assignable(const sl_cql_dtype *to, const sl_cql_dtype *from)
{
    if (sl_cql_dtype_equal(to, from)) return true;
    if (to->kind == SL_CQL_UUID && from->kind == SL_CQL_TIMEUUID) return true;
    if (to->kind == SL_CQL_TEXT && from->kind == SL_CQL_ASCII) return true;
    if (to->kind == SL_CQL_BLOB) return false;
    /* A frozen and a non-frozen collection of the same elements take the same values. */
    if (to->kind != from->kind || !sl_cql_dtype_is_collection(to) || to->nsub != from->nsub)
        return false;
    for (uint16_t i = 0; i < to->nsub; i++)
        if (!sl_cql_dtype_equal(to->sub[i], from->sub[i])) return false;
    return true;
}

static bool term_is_literal(const sl_cql_term *t)
{
    switch (t->kind) {
    case SL_CQL_TERM_BIND:
    case SL_CQL_TERM_FUNC: return false;
    case SL_CQL_TERM_LIST:
    case SL_CQL_TERM_SET:
    case SL_CQL_TERM_TUPLE:
        for (uint32_t i = 0; i < t->u.items.n; i++)
            if (!term_is_literal(t->u.items.items[i])) return false;
        return true;
    case SL_CQL_TERM_MAP:
        for (uint32_t i = 0; i < t->u.map.n; i++)
            if (!term_is_literal(t->u.map.keys[i]) || !term_is_literal(t->u.map.values[i]))
                return false;
        return true;
    case SL_CQL_TERM_HINT: return term_is_literal(t->u.hint.term);
    default: return true;
    }
}

static const char *term_kind_name(sl_cql_term_kind k)
{
    switch (k) {
    case SL_CQL_TERM_LIST: return "list";
    case SL_CQL_TERM_SET: return "set";
    case SL_CQL_TERM_MAP: return "map";
    case SL_CQL_TERM_TUPLE: return "tuple";
    default: return "value";
    }
}

static char *spec_name(an_ctx *a, const char *fmt, const char *name)
{
    size_t n = strlen(fmt) + strlen(name) + 1;
    char *p = sl__an_alloc(a, n);
    snprintf(p, n, fmt, name);
    return p;
}

static pterm *an_func_term(an_ctx *a, const sl_cql_term *t, const sl_cql_dtype *type,
                           const char *ks, const char *table, const char *name)
{
    const fn_def *fd = sl__exec_fn_lookup(&t->u.func.name);
    if (!fd || fd->fn == FN_TOKEN || fd->fn == FN_TO_JSON || FN_IS_AGGREGATE(fd->fn)) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Unknown function %s called",
                      t->u.func.name.name.name);
        return NULL;
    }
    if ((int)t->u.func.n_args != fd->nargs) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                      "Invalid number of arguments in call to function system.%s: %d required but "
                      "%u provided",
                      fd->name, fd->nargs, t->u.func.n_args);
        return NULL;
    }
    pterm *p = sl__an_alloc(a, sizeof *p);
    p->kind = PT_FUNC;
    p->fn = fd->fn;
    if (fd->nargs == 1) {
        size_t nk;
        const sl_cql_kind *kinds = sl__exec_fn_arg_kinds(fd->fn, &nk);
        const sl_cql_term *arg = t->u.func.args[0];
        pterm *pa = NULL;
        for (size_t i = 0; i < nk && !pa; i++) {
            const sl_cql_dtype *at = sl_cql_dtype_prim(kinds[i]);
            if (arg->kind == SL_CQL_TERM_FUNC) {
                const fn_def *inner = sl__exec_fn_lookup(&arg->u.func.name);
                if (inner && !FN_IS_AGGREGATE(inner->fn) &&
                    !assignable(at, sl__exec_fn_return(inner->fn, NULL)))
                    continue;
            }
            if (term_is_literal(arg) && arg->kind != SL_CQL_TERM_NULL) {
                sl_buf tmp = SL_BUF_INIT, err = SL_BUF_INIT;
                bool is_null;
                int rc = sl_cql_value_from_term(at, arg, name, &tmp, &is_null, &err);
                sl_buf_free(&tmp);
                sl_buf_free(&err);
                if (rc != 0 && i + 1 < nk) continue;
            }
            pa = sl__an_term(a, arg, at, ks, table, spec_name(a, "arg0(%s)", fd->name));
            if (!pa) return NULL;
            p->arg_type = at;
        }
        if (!pa) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Invalid call to function %s, none of its type signatures match",
                          fd->name);
            return NULL;
        }
        p->sub = sl__an_alloc(a, sizeof *p->sub);
        p->sub[0] = pa;
        p->nsub = 1;
    }
    const sl_cql_dtype *rt = sl__exec_fn_return(fd->fn, p->arg_type);
    if (type && !assignable(type, rt)) {
        sl_buf tn = SL_BUF_INIT;
        sl_cql_dtype_to_cql(type, &tn);
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                      "Type error: cannot assign result of function system.%s (type %s) to %s "
                      "(type %s)",
                      fd->name, sl_cql_kind_name(rt->kind), name, sl_buf_cstr(&tn));
        sl_buf_free(&tn);
        return NULL;
    }
    p->type = type ? type : rt;
    return p;
}

pterm *sl__an_term(an_ctx *a, const sl_cql_term *t, const sl_cql_dtype *type, const char *ks,
                   const char *table, const char *name)
{
    if (a->res->kind == SL_CQL_RESULT_ERROR) return NULL;
    switch (t->kind) {
    case SL_CQL_TERM_BIND: {
        pterm *p = sl__an_alloc(a, sizeof *p);
        p->kind = PT_BIND;
        p->type = type;
        p->bind = t->u.bind.index;
        an_bind(a, p->bind, ks, table, t->len ? t->text : name, type);
        return p;
    }
    case SL_CQL_TERM_FUNC: return an_func_term(a, t, type, ks, table, name);
    case SL_CQL_TERM_HINT: {
        sl_cql_dtype *ht;
        sl_buf err = SL_BUF_INIT;
        if (sl_cql_dtype_from_ast(t->u.hint.type, &ht, &err) != 0) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "%s", sl_buf_cstr(&err));
            sl_buf_free(&err);
            return NULL;
        }
        sl_buf_free(&err);
        sl__an_own(a, ht);
        if (type && !assignable(type, ht)) {
            sl_buf tn = SL_BUF_INIT, hn = SL_BUF_INIT;
            sl_cql_dtype_to_cql(type, &tn);
            sl_cql_dtype_to_cql(ht, &hn);
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Cannot assign value of type %s to %s of type %s", sl_buf_cstr(&hn), name,
                          sl_buf_cstr(&tn));
            sl_buf_free(&tn);
            sl_buf_free(&hn);
            return NULL;
        }
        return sl__an_term(a, t->u.hint.term, ht, ks, table, name);
    }
    default: break;
    }
    if (!type) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Cannot infer the type of %.*s", (int)t->len,
                      t->text ? t->text : "");
        return NULL;
    }
    if (!term_is_literal(t)) {
        /* A collection or tuple literal with markers or calls inside: typed element by
         * element, assembled at execution. */
        sl_cql_kind want = type->kind;
        pterm_kind pk;
        bool ok;
        switch (t->kind) {
        case SL_CQL_TERM_LIST:
            ok = want == SL_CQL_LIST;
            pk = PT_LIST;
            break;
        case SL_CQL_TERM_SET:
            ok = want == SL_CQL_SET;
            pk = PT_SET;
            break;
        case SL_CQL_TERM_MAP:
            ok = want == SL_CQL_MAP;
            pk = PT_MAP;
            break;
        case SL_CQL_TERM_TUPLE:
            ok = want == SL_CQL_TUPLE;
            pk = PT_TUPLE;
            break;
        default:
            ok = false;
            pk = PT_CONST;
            break;
        }
        if (!ok) {
            sl_buf tn = SL_BUF_INIT;
            sl_cql_dtype_to_cql(type, &tn);
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Invalid %s literal for %s of type %s",
                          term_kind_name(t->kind), name, sl_buf_cstr(&tn));
            sl_buf_free(&tn);
            return NULL;
        }
        pterm *p = sl__an_alloc(a, sizeof *p);
        p->kind = pk;
        p->type = type;
        if (pk == PT_MAP) {
            p->nsub = t->u.map.n * 2;
            p->sub = sl__an_alloc(a, p->nsub * sizeof *p->sub);
            const char *kn = spec_name(a, "key(%s)", name), *vn = spec_name(a, "value(%s)", name);
            for (uint32_t i = 0; i < t->u.map.n; i++) {
                p->sub[2 * i] = sl__an_term(a, t->u.map.keys[i], type->sub[0], ks, table, kn);
                p->sub[2 * i + 1] = sl__an_term(a, t->u.map.values[i], type->sub[1], ks, table, vn);
                if (!p->sub[2 * i] || !p->sub[2 * i + 1]) return NULL;
            }
        } else {
            p->nsub = t->u.items.n;
            if (pk == PT_TUPLE && p->nsub > type->nsub) {
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "Invalid tuple literal for %s: too many elements. Type %s expects %u "
                              "but got %u",
                              name, "tuple", type->nsub, p->nsub);
                return NULL;
            }
            p->sub = sl__an_alloc(a, (p->nsub ? p->nsub : 1) * sizeof *p->sub);
            const char *vn = spec_name(a, "value(%s)", name);
            for (uint32_t i = 0; i < p->nsub; i++) {
                const sl_cql_dtype *et = pk == PT_TUPLE ? type->sub[i] : type->sub[0];
                p->sub[i] = sl__an_term(a, t->u.items.items[i], et, ks, table, vn);
                if (!p->sub[i]) return NULL;
            }
        }
        return p;
    }
    sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
    bool is_null = false;
    int rc = sl_cql_value_from_term(type, t, name, &out, &is_null, &err);
    if (rc != 0) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "%s",
                      err.len ? sl_buf_cstr(&err) : "Invalid literal");
        sl_buf_free(&out);
        sl_buf_free(&err);
        return NULL;
    }
    pterm *p = sl__an_alloc(a, sizeof *p);
    p->kind = PT_CONST;
    p->type = type;
    if (!is_null) {
        uint8_t *v = sl_arena_alloc(&a->plan->arena, out.len ? out.len : 1);
        if (out.len) memcpy(v, out.ptr, out.len);
        p->value = (sl_slice){v, out.len};
    }
    sl_buf_free(&out);
    sl_buf_free(&err);
    return p;
}

int sl__an_key_relation(an_ctx *a, const sl_cql_table *t, const sl_cql_column *col,
                        const sl_cql_relation *rel, key_restr *r, bool allow_slice)
{
    const char *cn = col->name;
    switch (rel->op) {
    case SL_CQL_OP_EQ:
        if (r->has)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "%s cannot be restricted by more than one relation if it includes "
                                 "an Equal",
                                 cn);
        r->eq = sl__an_term(a, rel->value, col->type, t->keyspace, t->name, cn);
        break;
    case SL_CQL_OP_IN:
        if (r->has)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "%s cannot be restricted by more than one relation if it includes "
                                 "a IN",
                                 cn);
        if (rel->value) {
            r->in_list = sl__an_term(a, rel->value, sl__an_list_of(a, col->type, SL_CQL_LIST),
                                     t->keyspace, t->name, spec_name(a, "in(%s)", cn));
            if (!r->in_list) return -1;
        } else {
            r->n_in = rel->n_in;
            r->in = sl__an_alloc(a, (rel->n_in ? rel->n_in : 1) * sizeof *r->in);
            for (uint32_t i = 0; i < rel->n_in; i++) {
                r->in[i] = sl__an_term(a, rel->in_values[i], col->type, t->keyspace, t->name, cn);
                if (!r->in[i]) return -1;
            }
        }
        break;
    case SL_CQL_OP_GT:
    case SL_CQL_OP_GTE:
    case SL_CQL_OP_LT:
    case SL_CQL_OP_LTE: {
        if (!allow_slice) return 1;
        if (r->eq || r->in || r->in_list)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "%s cannot be restricted by both an equality and an inequality "
                                 "relation",
                                 cn);
        bool lower = rel->op == SL_CQL_OP_GT || rel->op == SL_CQL_OP_GTE;
        bool incl = rel->op == SL_CQL_OP_GTE || rel->op == SL_CQL_OP_LTE;
        if (lower ? r->lo != NULL : r->hi != NULL)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "More than one restriction was found for the %s bound on %s",
                                 lower ? "start" : "end", cn);
        pterm *v = sl__an_term(a, rel->value, col->type, t->keyspace, t->name, cn);
        if (!v) return -1;
        if (lower) {
            r->lo = v;
            r->lo_incl = incl;
        } else {
            r->hi = v;
            r->hi_incl = incl;
        }
        break;
    }
    default: return 1;
    }
    if (a->res->kind == SL_CQL_RESULT_ERROR) return -1;
    r->has = true;
    return 0;
}

int sl__an_filter(an_ctx *a, const sl_cql_table *t, const sl_cql_relation *rel, pfilter *f,
                  bool condition)
{
    const sl_cql_column *col = sl__an_column(a, t, &rel->cols[0]);
    if (!col) return -1;
    f->col = col->index;
    f->op = rel->op;
    f->cond = condition;
    const sl_cql_dtype *vt = col->type;
    const char *cn = col->name;
    if (rel->key) {
        if (col->type->kind == SL_CQL_MAP) {
            f->elem_key = sl__an_term(a, rel->key, col->type->sub[0], t->keyspace, t->name,
                                      spec_name(a, "key(%s)", cn));
            vt = col->type->sub[1];
        } else if (col->type->kind == SL_CQL_LIST && condition) {
            f->elem_key = sl__an_term(a, rel->key, sl_cql_dtype_prim(SL_CQL_INT), t->keyspace,
                                      t->name, spec_name(a, "idx(%s)", cn));
            vt = col->type->sub[0];
        } else {
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid element access syntax for non-%s column %s",
                                 condition ? "collection" : "map", cn);
        }
        if (!f->elem_key) return -1;
        cn = spec_name(a, "value(%s)", cn);
    }
    switch (rel->op) {
    case SL_CQL_OP_EQ:
    case SL_CQL_OP_NEQ:
    case SL_CQL_OP_LT:
    case SL_CQL_OP_LTE:
    case SL_CQL_OP_GT:
    case SL_CQL_OP_GTE:
        if (!condition && rel->op == SL_CQL_OP_NEQ)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Unsupported \"!=\" relation: %s != %.*s", col->name,
                                 (int)rel->value->len, rel->value->text ? rel->value->text : "?");
        if (!condition && sl_cql_dtype_is_multicell(col->type) && !rel->key &&
            rel->op != SL_CQL_OP_EQ)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Collection column '%s' (%s) cannot be restricted by a '%s' "
                                 "relation",
                                 col->name, sl_cql_kind_name(col->type->kind),
                                 rel->op == SL_CQL_OP_LT    ? "<"
                                 : rel->op == SL_CQL_OP_LTE ? "<="
                                 : rel->op == SL_CQL_OP_GT  ? ">"
                                                            : ">=");
        /* A whole collection compares as its frozen value. */
        if (sl_cql_dtype_is_multicell(vt)) vt = sl__an_own(a, sl_cql_dtype_freeze(vt));
        f->value = sl__an_term(a, rel->value, vt, t->keyspace, t->name, cn);
        if (!f->value) return -1;
        break;
    case SL_CQL_OP_IN:
        if (rel->value) {
            f->in_list = sl__an_term(a, rel->value, sl__an_list_of(a, vt, SL_CQL_LIST), t->keyspace,
                                     t->name, spec_name(a, "in(%s)", col->name));
            if (!f->in_list) return -1;
        } else {
            f->n_in = rel->n_in;
            f->in = sl__an_alloc(a, (rel->n_in ? rel->n_in : 1) * sizeof *f->in);
            for (uint32_t i = 0; i < rel->n_in; i++) {
                f->in[i] = sl__an_term(a, rel->in_values[i], vt, t->keyspace, t->name, cn);
                if (!f->in[i]) return -1;
            }
        }
        break;
    case SL_CQL_OP_CONTAINS:
    case SL_CQL_OP_CONTAINS_KEY: {
        if (condition || !sl_cql_dtype_is_collection(col->type))
            return sl__exec_fail(
                a->res, SL_CQL_ERR_INVALID, "Cannot use %s on non-collection column %s",
                rel->op == SL_CQL_OP_CONTAINS ? "CONTAINS" : "CONTAINS KEY", col->name);
        const sl_cql_dtype *et;
        if (rel->op == SL_CQL_OP_CONTAINS_KEY) {
            if (col->type->kind != SL_CQL_MAP)
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "Cannot use CONTAINS KEY on non-map column %s", col->name);
            et = col->type->sub[0];
        } else {
            et = col->type->kind == SL_CQL_MAP ? col->type->sub[1] : col->type->sub[0];
        }
        f->value = sl__an_term(a, rel->value, et, t->keyspace, t->name,
                               spec_name(a, "value(%s)", col->name));
        if (!f->value) return -1;
        break;
    }
    case SL_CQL_OP_LIKE:
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "LIKE restriction is only supported on properly indexed columns. %s "
                             "LIKE %.*s is not valid.",
                             col->name, (int)(rel->value ? rel->value->len : 0),
                             rel->value && rel->value->text ? rel->value->text : "");
    case SL_CQL_OP_IS_NOT_NULL:
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Unsupported restriction: %s IS NOT NULL",
                             col->name);
    }
    return 0;
}

int sl__an_multi_relation(an_ctx *a, const sl_cql_table *t, const sl_cql_relation *rel,
                          multi_restr *m)
{
    uint32_t n = rel->n_cols;
    if (n > t->nck)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Multi-column relations can only be applied to clustering columns");
    for (uint32_t i = 0; i < n; i++) {
        const sl_cql_column *c = sl__an_column(a, t, &rel->cols[i]);
        if (!c) return -1;
        if (c->kind != SL_CQL_COL_CLUSTERING)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Multi-column relations can only be applied to clustering columns "
                                 "but was applied to: %s",
                                 c->name);
        if (c->position != (int)i)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Clustering columns must appear in the PRIMARY KEY order in "
                                 "multi-column relations: %.*s",
                                 (int)rel->cols[0].len, rel->cols[0].name);
        if (t->ck[i]->desc != t->ck[0]->desc && rel->op != SL_CQL_OP_EQ && rel->op != SL_CQL_OP_IN)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Multi-column slice restrictions over clustering columns of mixed "
                                 "order are not supported");
    }
    sl_cql_dtype **sub = sl_calloc(n, sizeof *sub);
    for (uint32_t i = 0; i < n; i++)
        sub[i] = sl_cql_dtype_keep(t->ck[i]->type);
    const sl_cql_dtype *tt = sl__an_own(a, sl_cql_dtype_new(SL_CQL_TUPLE, true, n, sub));
    sl_free(sub);
    char names[512];
    size_t o = 0;
    o += (size_t)snprintf(names + o, sizeof names - o, "(");
    for (uint32_t i = 0; i < n && o < sizeof names; i++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? "," : "", t->ck[i]->name);
    if (o < sizeof names) snprintf(names + o, sizeof names - o, ")");
    const char *nm = sl__an_strdup(a, names);
    switch (rel->op) {
    case SL_CQL_OP_EQ:
    case SL_CQL_OP_IN:
        if (m->has)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "%s cannot be restricted by more than one relation if it includes "
                                 "an Equal",
                                 t->ck[0]->name);
        m->ncols = n;
        if (rel->op == SL_CQL_OP_EQ) {
            m->eq = sl__an_term(a, rel->value, tt, t->keyspace, t->name, nm);
        } else if (rel->value) {
            m->in_list = sl__an_term(a, rel->value, sl__an_list_of(a, tt, SL_CQL_LIST), t->keyspace,
                                     t->name, spec_name(a, "in(%s)", nm));
        } else {
            m->n_in = rel->n_in;
            m->in = sl__an_alloc(a, (rel->n_in ? rel->n_in : 1) * sizeof *m->in);
            for (uint32_t i = 0; i < rel->n_in; i++)
                m->in[i] = sl__an_term(a, rel->in_values[i], tt, t->keyspace, t->name, nm);
        }
        break;
    case SL_CQL_OP_GT:
    case SL_CQL_OP_GTE:
    case SL_CQL_OP_LT:
    case SL_CQL_OP_LTE: {
        if (m->eq || m->in || m->in_list)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "%s cannot be restricted by both an equality and an inequality "
                                 "relation",
                                 t->ck[0]->name);
        bool lower = rel->op == SL_CQL_OP_GT || rel->op == SL_CQL_OP_GTE;
        bool incl = rel->op == SL_CQL_OP_GTE || rel->op == SL_CQL_OP_LTE;
        if (lower ? m->lo != NULL : m->hi != NULL)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "More than one restriction was found for the %s bound on %s",
                                 lower ? "start" : "end", t->ck[0]->name);
        pterm *v = sl__an_term(a, rel->value, tt, t->keyspace, t->name, nm);
        if (lower) {
            m->lo = v;
            m->nlo = n;
            m->lo_incl = incl;
        } else {
            m->hi = v;
            m->nhi = n;
            m->hi_incl = incl;
        }
        if (n > m->ncols) m->ncols = n;
        break;
    }
    default:
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Unsupported operator in a multi-column relation");
    }
    if (a->res->kind == SL_CQL_RESULT_ERROR) return -1;
    m->has = true;
    return 0;
}

/* ---- analysis driver ---- */

static int an_batch(an_ctx *a, const sl_cql_batch *b)
{
    cql_plan *p = a->plan;
    batch_plan *bp = sl__an_alloc(a, sizeof *bp);
    bp->type = b->type;
    bp->stmts = sl__an_alloc(a, (b->n_stmts ? b->n_stmts : 1) * sizeof *bp->stmts);
    p->subplans = sl_calloc(b->n_stmts ? b->n_stmts : 1, sizeof *p->subplans);
    if (b->using.ttl)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Global TTL on the BATCH statement is not supported.");
    if (b->using.timestamp) {
        bp->timestamp = sl__an_term(a, b->using.timestamp, sl_cql_dtype_prim(SL_CQL_BIGINT), NULL,
                                    NULL, "[timestamp]");
        if (!bp->timestamp) return -1;
    }
    for (uint32_t i = 0; i < b->n_stmts; i++) {
        cql_plan *c = plan_child(p, b->stmts[i]);
        p->subplans[p->n_subplans++] = c;
        /* Children record their markers in the parent's bind table (indexes are batch-wide). */
        c->binds = p->binds;
        c->bind_types = p->bind_types;
        c->n_binds = p->n_binds;
        an_ctx ca = {a->e, c, a->res, a->keyspace};
        int rc;
        switch (b->stmts[i]->kind) {
        case SL_CQL_STMT_INSERT: rc = sl__an_insert(&ca, &b->stmts[i]->u.insert); break;
        case SL_CQL_STMT_UPDATE: rc = sl__an_update(&ca, &b->stmts[i]->u.update); break;
        case SL_CQL_STMT_DELETE: rc = sl__an_delete(&ca, &b->stmts[i]->u.del); break;
        default:
            rc = sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                               "Only INSERT, UPDATE and DELETE statements are allowed in a BATCH");
        }
        if (rc != 0) return -1;
        c->analyzed = true;
        const mod_plan *m = c->mod;
        if (b->type == SL_CQL_BATCH_COUNTER && !m->table->is_counter)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Cannot include non-counter statement in a counter batch");
        if (b->type != SL_CQL_BATCH_COUNTER && m->table->is_counter)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Cannot include a counter statement in a %s batch",
                                 b->type == SL_CQL_BATCH_LOGGED ? "logged" : "unlogged");
        if (bp->timestamp && m->timestamp)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Timestamp must be set either on BATCH or individual statements");
        bp->stmts[bp->nstmts++] = c;
    }
    p->batch = bp;
    return 0;
}

/* Analyzes (or re-analyzes after DDL) plan p. Returns 0, or -1 with the error in res. */
static int plan_analyze(sl_cql_engine *e, cql_plan *p, sl_cql_result *res)
{
    uint8_t ver[16];
    sl_catalog_schema_version(e->cat, ver);
    if (p->analyzed && memcmp(ver, p->version, 16) == 0) return 0;
    plan_reset_analysis(p);
    an_ctx a = {e, p, res, p->keyspace};
    sl_cql_stmt *st = p->stmt;
    p->n_binds = st->n_binds;
    p->binds = sl__an_alloc(&a, (st->n_binds ? st->n_binds : 1) * sizeof *p->binds);
    p->bind_types = sl__an_alloc(&a, (st->n_binds ? st->n_binds : 1) * sizeof *p->bind_types);
    int rc = 0;
    switch (st->kind) {
    case SL_CQL_STMT_SELECT: rc = sl__an_select(&a, &st->u.select); break;
    case SL_CQL_STMT_INSERT: rc = sl__an_insert(&a, &st->u.insert); break;
    case SL_CQL_STMT_UPDATE: rc = sl__an_update(&a, &st->u.update); break;
    case SL_CQL_STMT_DELETE: rc = sl__an_delete(&a, &st->u.del); break;
    case SL_CQL_STMT_BATCH: rc = an_batch(&a, &st->u.batch); break;
    default:
        if (st->n_binds)
            rc = sl__exec_fail(res, SL_CQL_ERR_INVALID, "Bind variables are not supported in %s",
                               sl_cql_stmt_kind_name(st->kind));
        break;
    }
    if (rc == 0 && res->kind == SL_CQL_RESULT_ERROR) rc = -1;
    if (rc != 0) {
        plan_reset_analysis(p);
        return -1;
    }
    /* Markers with no receiver (none in valid statements) get a blob type, not a NULL. */
    for (uint32_t i = 0; i < p->n_binds; i++) {
        if (!p->bind_types[i]) {
            p->bind_types[i] = sl_cql_dtype_prim(SL_CQL_BLOB);
            p->binds[i].keyspace = p->binds[i].table = p->binds[i].name = "";
        }
    }
    memcpy(p->version, ver, 16);
    p->analyzed = true;
    return 0;
}

/* ---- the prepared registry ---- */

static void md5_id(const char *keyspace, sl_slice query, uint8_t out[16])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 16;
    EVP_DigestInit_ex(c, EVP_md5(), NULL);
    if (keyspace) EVP_DigestUpdate(c, keyspace, strlen(keyspace));
    EVP_DigestUpdate(c, query.ptr, query.len);
    EVP_DigestFinal_ex(c, out, &n);
    EVP_MD_CTX_free(c);
}

static size_t id_hash(const uint8_t id[16], size_t cap)
{
    uint64_t h;
    memcpy(&h, id, 8);
    return (size_t)(h % cap);
}

static void lru_unlink(cql_plan *p)
{
    p->lru_prev->lru_next = p->lru_next;
    p->lru_next->lru_prev = p->lru_prev;
}

static void lru_push(sl_cql_engine *e, cql_plan *p)
{
    p->lru_next = e->lru.lru_next;
    p->lru_prev = &e->lru;
    e->lru.lru_next->lru_prev = p;
    e->lru.lru_next = p;
}

static cql_plan *registry_find(sl_cql_engine *e, sl_slice id)
{
    if (id.len != 16) return NULL;
    for (cql_plan *p = e->ptab[id_hash(id.ptr, e->ptab_cap)]; p; p = p->hnext) {
        if (memcmp(p->id, id.ptr, 16) == 0) {
            lru_unlink(p);
            lru_push(e, p);
            return p;
        }
    }
    return NULL;
}

static void registry_remove(sl_cql_engine *e, cql_plan *p)
{
    cql_plan **pp = &e->ptab[id_hash(p->id, e->ptab_cap)];
    while (*pp && *pp != p)
        pp = &(*pp)->hnext;
    if (*pp) *pp = p->hnext;
    lru_unlink(p);
    e->n_prepared--;
}

static void registry_add(sl_cql_engine *e, cql_plan *p)
{
    if (e->n_prepared >= e->max_prepared) {
        cql_plan *old = e->lru.lru_prev;
        registry_remove(e, old);
        plan_free(old);
    }
    size_t h = id_hash(p->id, e->ptab_cap);
    p->hnext = e->ptab[h];
    e->ptab[h] = p;
    lru_push(e, p);
    e->n_prepared++;
}

static void fill_prepared(sl_cql_result *res, const cql_plan *p)
{
    memcpy(res->id, p->id, 16);
    res->n_bind = p->n_binds;
    res->bind = sl__exec_columns(res, p->n_binds);
    for (uint32_t i = 0; i < p->n_binds; i++)
        sl__exec_colspec(res, &res->bind[i], p->binds[i].keyspace, p->binds[i].table,
                         p->binds[i].name, p->bind_types[i]);
    res->n_pk_index = p->n_pk_index;
    if (p->n_pk_index) {
        res->pk_index = sl_arena_alloc(&res->arena, p->n_pk_index * sizeof *res->pk_index);
        memcpy(res->pk_index, p->pk_index, p->n_pk_index * sizeof *res->pk_index);
    }
    res->n_columns = p->n_cols;
    res->columns = sl__exec_columns(res, p->n_cols);
    for (uint32_t i = 0; i < p->n_cols; i++) {
        res->columns[i] = p->cols[i];
        res->columns[i].keyspace = sl__exec_strdup(res, p->cols[i].keyspace);
        res->columns[i].table = sl__exec_strdup(res, p->cols[i].table);
        res->columns[i].name = sl__exec_strdup(res, p->cols[i].name);
        uint8_t *t = sl_arena_alloc(&res->arena, p->cols[i].type.len);
        memcpy(t, p->cols[i].type.ptr, p->cols[i].type.len);
        res->columns[i].type = (sl_slice){t, p->cols[i].type.len};
    }
}

sl_cql_result *sl_cql_prepare(sl_cql_engine *e, sl_cql_session *s, sl_slice query)
{
    sl_cql_result *res = sl__exec_result_new(SL_CQL_RESULT_PREPARED);
    uint8_t id[16];
    md5_id(s->keyspace, query, id);
    cql_plan *p = registry_find(e, (sl_slice){id, 16});
    if (p && p->query_len == query.len && memcmp(p->query, query.ptr, query.len) == 0) {
        if (plan_analyze(e, p, res) != 0) return res;
        fill_prepared(res, p);
        return res;
    }
    p = plan_parse(s->keyspace, query, res);
    if (!p) return res;
    if (plan_analyze(e, p, res) != 0) {
        plan_free(p);
        return res;
    }
    memcpy(p->id, id, 16);
    registry_add(e, p);
    fill_prepared(res, p);
    return res;
}

/* ---- execution ---- */

typedef struct pending {
    sl_cql_engine *e;
    sl_cql_result *res;
    bool notify;
    sl_cql_done_fn done;
    void *arg;
} pending;

static void deliver(sl_cql_engine *e, sl_cql_result *res, bool notify, sl_cql_done_fn done,
                    void *arg)
{
    if (notify && res->kind == SL_CQL_RESULT_SCHEMA_CHANGE) {
        const sl_cql_schema_change *c = &res->schema_change;
        SL_INFO(EXEC_SUBSYS, "schema: %s %s %s%s%s", sl_cql_change_type_name(c->change),
                sl_cql_change_target_name(c->target), c->keyspace, c->name ? "." : "",
                c->name ? c->name : "");
        if (e->schema_fn) e->schema_fn(e->schema_arg, c);
    }
    done(arg, res);
}

/* Sender: the store's sync worker, through the store's uv_async; receiver: the loop thread. */
static void on_synced(void *arg, int rc)
{
    pending *p = arg;
    if (--p->e->pending == 0) uv_unref((uv_handle_t *)p->e->keepalive);
    if (rc < 0) {
        SL_ERROR(EXEC_SUBSYS, "WAL sync failed: %s", sl_strerror(rc));
        /* VOID, not ERROR: sl__exec_fail keeps an error already set (code 0, no message). */
        sl_cql_result *r = sl__exec_result_new(SL_CQL_RESULT_VOID);
        sl__exec_fail(r, SL_CQL_ERR_WRITE_FAILURE, "Operation failed - WAL sync failed: %s",
                      sl_strerror(rc));
        r->error.consistency = SL_CQL_CL_ONE;
        r->error.received = 0;
        r->error.blockfor = 1;
        r->error.numfailures = 1;
        r->error.write_type = "SIMPLE";
        sl_cql_result_free(p->res);
        p->res = r;
    }
    deliver(p->e, p->res, p->notify, p->done, p->arg);
    sl_free(p);
}

void sl__exec_complete(sl_cql_engine *e, sl_cql_result *res, bool sync, bool notify_schema,
                       sl_cql_done_fn done, void *arg)
{
    if (!sync || res->kind == SL_CQL_RESULT_ERROR) {
        deliver(e, res, notify_schema, done, arg);
        return;
    }
    pending *p = sl_malloc(sizeof *p);
    *p = (pending){e, res, notify_schema, done, arg};
    if (e->pending++ == 0) uv_ref((uv_handle_t *)e->keepalive);
    sl_store_sync(e->store, on_synced, p);
}

/* Writes the engine batch (the store skips an empty one); a sync is then due. */
static int flush_writes(exec_ctx *x, bool *wrote)
{
    *wrote = false;
    sl_buf err = SL_BUF_INIT;
    int rc = sl_store_write(x->e->store, x->e->wb, &err);
    if (rc != 0) {
        sl__exec_fail(x->res, SL_CQL_ERR_WRITE_FAILURE, "Operation failed - %s",
                      err.len ? sl_buf_cstr(&err) : sl_strerror(rc));
        x->res->error.consistency = SL_CQL_CL_ONE;
        x->res->error.blockfor = 1;
        x->res->error.numfailures = 1;
        x->res->error.write_type = "SIMPLE";
        sl_buf_free(&err);
        sl_store_batch_clear(x->e->wb);
        return -1;
    }
    sl_buf_free(&err);
    *wrote = true;
    return 0;
}

static void ctx_init(exec_ctx *x, sl_cql_engine *e, sl_cql_session *s, cql_plan *p,
                     sl_cql_result *res, sl_arena *tmp)
{
    memset(x, 0, sizeof *x);
    x->e = e;
    x->s = s;
    x->plan = p;
    x->res = res;
    x->now_us = sl_store_now_us(e->store);
    x->now_s = sl_store_now_s(e->store);
    x->tmp = tmp;
}

/* Orders values by marker, resolving names. Returns the array (x->tmp) or NULL on error. */
static const sl_cql_value *order_values(exec_ctx *x, const cql_plan *p, const sl_cql_value *vals,
                                        size_t n, const sl_slice *names, bool batch)
{
    if (!(n == 0 && p->n_binds == 0) && n != p->n_binds) {
        sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                      "%s were %u markers(?) in CQL but %zu bound variables",
                      batch ? "There" : "there", p->n_binds, n);
        return NULL;
    }
    static const sl_cql_value none[1];
    if (!names) return vals ? vals : none;
    sl_cql_value *out = sl_arena_alloc(x->tmp, (n ? n : 1) * sizeof *out);
    for (uint32_t i = 0; i < p->n_binds; i++) {
        const char *want = p->binds[i].name;
        size_t j;
        for (j = 0; j < n; j++)
            if (names[j].len == strlen(want) && memcmp(names[j].ptr, want, names[j].len) == 0)
                break;
        if (j == n)
            for (j = 0; j < n; j++)
                if (names[j].len == strlen(want) &&
                    strncasecmp((const char *)names[j].ptr, want, names[j].len) == 0)
                    break;
        if (j == n) {
            sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "No value provided for bind variable %s",
                          want);
            return NULL;
        }
        out[i] = vals[j];
    }
    return out;
}

static int run_use(exec_ctx *x, const sl_cql_ident *ks)
{
    if (!sl_catalog_keyspace(x->e->cat, ks->name))
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Keyspace '%s' does not exist", ks->name);
    sl_free(x->s->keyspace);
    x->s->keyspace = sl_strdup(ks->name);
    x->res->kind = SL_CQL_RESULT_SET_KEYSPACE;
    x->res->keyspace = sl__exec_strdup(x->res, ks->name);
    return 0;
}

static bool is_system_keyspace(const char *ks)
{
    return strcmp(ks, "system") == 0 || strcmp(ks, "system_schema") == 0 ||
           strcmp(ks, "system_auth") == 0 || strcmp(ks, "system_distributed") == 0 ||
           strcmp(ks, "system_traces") == 0 || strcmp(ks, "system_virtual_schema") == 0 ||
           strcmp(ks, "system_views") == 0;
}

static int check_writable(exec_ctx *x, const sl_cql_table *t)
{
    if (t->is_system || is_system_keyspace(t->keyspace))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             t->keyspace);
    return 0;
}

/* Sets the default timestamp: the request's, or the next engine timestamp. */
static void ctx_timestamp(exec_ctx *x, bool has, int64_t ts)
{
    x->ts = has ? ts : sl__exec_next_timestamp(x->e);
}

/* Runs a modification plan (one statement) into the engine batch or a conditional result. */
static int run_modification(exec_ctx *x, const mod_plan *m, bool *wrote)
{
    if (check_writable(x, m->table) != 0) return -1;
    if (sl__mod_has_conditions(m)) {
        exec_ctx *xs[1] = {x};
        const mod_plan *ms[1] = {m};
        int rc = sl__exec_conditional(x, xs, ms, 1);
        if (rc < 0) return -1;
        if (rc == 0) {
            *wrote = true; /* a serial read answers once what it read is durable */
            return 0;
        }
    } else if (sl__exec_mod(x, m) != 0) {
        sl_store_batch_clear(x->e->wb);
        return -1;
    }
    if (flush_writes(x, wrote) != 0) return -1;
    if (!sl__mod_has_conditions(m)) x->res->kind = SL_CQL_RESULT_VOID;
    *wrote = true;
    return 0;
}

static int run_text_batch(exec_ctx *x, cql_plan *p, bool *wrote)
{
    batch_plan *bp = p->batch;
    int64_t ts = x->ts;
    if (bp->timestamp) {
        sl_slice v;
        int rc = sl__ev_term_required(x, bp->timestamp, "timestamp", &v);
        if (rc < 0) return -1;
        if (rc == 0 && v.len != 8)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid empty value for timestamp");
        if (rc == 0) ts = sl__ev_int_value(bp->timestamp->type, v);
    }
    bool cond = false;
    for (uint32_t i = 0; i < bp->nstmts; i++) {
        if (check_writable(x, bp->stmts[i]->mod->table) != 0) return -1;
        cond |= sl__mod_has_conditions(bp->stmts[i]->mod);
    }
    exec_ctx *xs = sl_calloc(bp->nstmts ? bp->nstmts : 1, sizeof *xs);
    exec_ctx **xps = sl_calloc(bp->nstmts ? bp->nstmts : 1, sizeof *xps);
    const mod_plan **ms = sl_calloc(bp->nstmts ? bp->nstmts : 1, sizeof *ms);
    for (uint32_t i = 0; i < bp->nstmts; i++) {
        xs[i] = *x;
        xs[i].plan = bp->stmts[i];
        xs[i].ts = ts;
        xs[i].batch_has_conditions = cond;
        xps[i] = &xs[i];
        ms[i] = bp->stmts[i]->mod;
    }
    int rc = 0;
    if (cond) {
        rc = sl__exec_conditional(x, xps, ms, bp->nstmts);
    } else {
        for (uint32_t i = 0; i < bp->nstmts && rc == 0; i++)
            rc = sl__exec_mod(&xs[i], ms[i]);
        rc = rc == 0 ? 1 : -1;
    }
    sl_free(xs);
    sl_free(xps);
    sl_free(ms);
    if (rc < 0) {
        sl_store_batch_clear(x->e->wb);
        return -1;
    }
    if (rc == 1 && flush_writes(x, wrote) != 0) return -1;
    if (!cond) x->res->kind = SL_CQL_RESULT_VOID;
    *wrote = true;
    return 0;
}

/* Runs an analyzed plan. Sets *sync when the result must wait for a WAL sync, *notify for a
 * schema change. */
static int run_plan(exec_ctx *x, cql_plan *p, bool *sync, bool *notify)
{
    const sl_cql_stmt *st = p->stmt;
    switch (st->kind) {
    case SL_CQL_STMT_SELECT: return sl__exec_select(x);
    case SL_CQL_STMT_INSERT:
    case SL_CQL_STMT_UPDATE:
    case SL_CQL_STMT_DELETE: return run_modification(x, p->mod, sync);
    case SL_CQL_STMT_BATCH: return run_text_batch(x, p, sync);
    case SL_CQL_STMT_USE: return run_use(x, &st->u.use);
    case SL_CQL_STMT_DESCRIBE: return sl__exec_describe(x, &st->u.describe);
    default: return sl__exec_ddl(x, st, sync, notify);
    }
}

static void unprepared(sl_cql_result *res, sl_slice id)
{
    static const char hex[] = "0123456789abcdef";
    char m[2 * 64 + 1];
    size_t n = SL_MIN(id.len, (size_t)64);
    for (size_t i = 0; i < n; i++) {
        m[2 * i] = hex[id.ptr[i] >> 4];
        m[2 * i + 1] = hex[id.ptr[i] & 15];
    }
    m[2 * n] = 0;
    sl__exec_fail(res, SL_CQL_ERR_UNPREPARED,
                  "Prepared query with ID %s not found (either the query was not prepared on this "
                  "host (maybe the host has been restarted?) or you have prepared too many queries "
                  "and it has been evicted from the internal cache)",
                  m);
    uint8_t *p = sl_arena_alloc(&res->arena, id.len ? id.len : 1);
    if (id.len) memcpy(p, id.ptr, id.len);
    res->error.unprepared_id = (sl_slice){p, id.len};
}

void sl_cql_execute(sl_cql_engine *e, sl_cql_session *s, const sl_cql_query *q, sl_cql_done_fn done,
                    void *arg)
{
    sl_cql_result *res = sl__exec_result_new(SL_CQL_RESULT_VOID);
    cql_plan *p, *tmp = NULL;
    if (q->id.len) {
        p = registry_find(e, q->id);
        if (!p) {
            unprepared(res, q->id);
            done(arg, res);
            return;
        }
    } else {
        p = tmp = plan_parse(s->keyspace, q->text, res);
        if (!p) {
            done(arg, res);
            return;
        }
    }
    exec_ctx x;
    sl_arena tmparena;
    sl_arena_init(&tmparena, 4096);
    bool sync = false, notify = false;
    ctx_init(&x, e, s, p, res, &tmparena);
    x.q = q;
    if (plan_analyze(e, p, res) == 0) {
        x.values = order_values(&x, p, q->values, q->n_values, q->names, false);
        x.n_values = q->n_values;
        if (x.values) {
            ctx_timestamp(&x, q->has_timestamp, q->timestamp);
            if (run_plan(&x, p, &sync, &notify) != 0) res->kind = SL_CQL_RESULT_ERROR;
        }
    }
    sl_arena_free(&tmparena);
    plan_free(tmp);
    sl__exec_complete(e, res, sync, notify, done, arg);
}

void sl_cql_execute_batch(sl_cql_engine *e, sl_cql_session *s, const sl_cql_batch_req *b,
                          sl_cql_done_fn done, void *arg)
{
    sl_cql_result *res = sl__exec_result_new(SL_CQL_RESULT_VOID);
    size_t n = b->n_stmts;
    cql_plan **plans = sl_calloc(n ? n : 1, sizeof *plans);
    bool *owned = sl_calloc(n ? n : 1, sizeof *owned);
    exec_ctx *xs = sl_calloc(n ? n : 1, sizeof *xs);
    exec_ctx **xps = sl_calloc(n ? n : 1, sizeof *xps);
    const mod_plan **ms = sl_calloc(n ? n : 1, sizeof *ms);
    exec_ctx x;
    sl_arena tmparena;
    sl_arena_init(&tmparena, 4096);
    ctx_init(&x, e, s, NULL, res, &tmparena);
    ctx_timestamp(&x, b->has_timestamp, b->timestamp);
    bool cond = false, sync = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const sl_cql_batch_stmt *bs = &b->stmts[i];
        if (bs->id.len) {
            plans[i] = registry_find(e, bs->id);
            if (!plans[i]) {
                unprepared(res, bs->id);
                rc = -1;
                break;
            }
        } else {
            plans[i] = plan_parse(s->keyspace, bs->text, res);
            owned[i] = true;
            if (!plans[i]) {
                rc = -1;
                break;
            }
        }
        if (plan_analyze(e, plans[i], res) != 0) {
            rc = -1;
            break;
        }
        cql_plan *p = plans[i];
        if (!p->mod) {
            rc = sl__exec_fail(
                res, SL_CQL_ERR_INVALID,
                "Invalid statement in batch: only UPDATE, INSERT and DELETE statements "
                "are allowed.");
            break;
        }
        const mod_plan *m = p->mod;
        if (b->type == SL_CQL_BATCH_COUNTER && !m->table->is_counter)
            rc = sl__exec_fail(res, SL_CQL_ERR_INVALID,
                               "Cannot include non-counter statement in a counter batch");
        else if (b->type != SL_CQL_BATCH_COUNTER && m->table->is_counter)
            rc = sl__exec_fail(res, SL_CQL_ERR_INVALID,
                               "Cannot include a counter statement in a %s batch",
                               b->type == SL_CQL_BATCH_LOGGED ? "logged" : "unlogged");
        else if (check_writable(&x, m->table) != 0)
            rc = -1;
        if (rc != 0) break;
        xs[i] = x;
        xs[i].plan = p;
        xs[i].values = order_values(&xs[i], p, bs->values, bs->n_values, bs->names, true);
        xs[i].n_values = bs->n_values;
        if (!xs[i].values) {
            rc = -1;
            break;
        }
        xps[i] = &xs[i];
        ms[i] = m;
        cond |= sl__mod_has_conditions(m);
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            xs[i].batch_has_conditions = cond;
        if (cond) {
            rc = sl__exec_conditional(&x, xps, ms, n);
        } else {
            for (size_t i = 0; i < n && rc == 0; i++)
                rc = sl__exec_mod(&xs[i], ms[i]);
            rc = rc == 0 ? 1 : -1;
        }
        if (rc < 0) {
            sl_store_batch_clear(e->wb);
        } else {
            if (rc == 1 && flush_writes(&x, &sync) != 0) rc = -1;
            sync = rc >= 0;
            if (rc >= 0 && !cond) res->kind = SL_CQL_RESULT_VOID;
        }
    }
    if (rc < 0) res->kind = SL_CQL_RESULT_ERROR;
    for (size_t i = 0; i < n; i++)
        if (owned[i]) plan_free(plans[i]);
    sl_arena_free(&tmparena);
    sl_free(plans);
    sl_free(owned);
    sl_free(xs);
    sl_free(xps);
    sl_free(ms);
    sl__exec_complete(e, res, sync, false, done, arg);
}
