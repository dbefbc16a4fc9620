/* ops_tables.c: the Tables page over CQL (src/cql/client.h), each call on a worker thread with
 * a client of its own (a private loop and the blocking API; a connection to a local store is
 * a fraction of a millisecond):
 *   GET  /api/cql/schema  keyspaces, tables and columns from system_schema, with each user
 *                         table's row count (the store keeps no size estimates: counted
 *                         exactly, a page of rows per request, up to ROWS_MAX, beyond which
 *                         the table has "rows_more": true);
 *   POST /api/cql/query   {"statement", "page_size" (1..5000, default 100), "paging_state"
 *                         (from the previous page), "keyspace"}: one page of the result, the
 *                         cells as cqlsh shows them, and the paging state of the next page. */
#include "console/ops_int.h"

#include "core/codec.h"
#include "core/log.h"
#include "cql/client.h"
#include "cql/types.h"

#include <stdio.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX     5000
#define STMT_MAX     (64 << 10)
#define PAGING_MAX   4096   /* bytes of a paging state accepted back from the browser */
#define ROWS_MAX     100000 /* rows counted per table for the schema tree */

/* What a worker needs, copied on the loop thread: the console is not touched off it. */
typedef struct cql_job {
    char *contact, *user, *password, *keyspace, *statement, *tls_ca;
    int32_t page_size;
    sl_buf paging; /* empty: first page */
} cql_job;

static void job_free(void *arg)
{
    cql_job *j = arg;
    sl_free(j->contact);
    sl_free(j->user);
    sl_free(j->password);
    sl_free(j->tls_ca);
    sl_free(j->keyspace);
    sl_free(j->statement);
    sl_buf_free(&j->paging);
    sl_free(j);
}

static cql_job *job_new(sl_console *c)
{
    cql_job *j = sl_calloc(1, sizeof *j);
    j->contact = sl_strdup(sl_console_cql(c));
    if (sl_console_cql_user(c)) j->user = sl_strdup(sl_console_cql_user(c));
    if (sl_console_cql_password(c)) j->password = sl_strdup(sl_console_cql_password(c));
    if (sl_console_cql_tls_ca(c)) j->tls_ca = sl_strdup(sl_console_cql_tls_ca(c));
    return j;
}

/* A client failure as the answer: the store unreachable is a 502, a statement the server
 * refused a 400 with its code and message, as cqlsh prints them. */
static void cql_error(sl_http_resp *resp, int rc, const sl_cqlc_error *err)
{
    char line[1200];
    sl_cqlc_error_str(err, line, sizeof line);
    sl_http_resp_error(resp, rc == SL_CQLC_ESERVER ? 400 : 502, line);
}

static sl_cqlc *job_open(cql_job *j, sl_http_resp *resp)
{
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    o.contact_points = j->contact;
    o.user = j->user;
    o.password = j->password;
    o.tls_ca = j->tls_ca;
    o.keyspace = j->keyspace;
    o.connect_timeout_ms = 3000;
    o.request_timeout_ms = 10000;
    sl_cqlc *c = NULL;
    sl_cqlc_error err;
    int rc = sl_cqlc_open(&o, &c, &err);
    if (rc) {
        cql_error(resp, rc, &err);
        return NULL;
    }
    return c;
}

/* A text cell as a new JSON string (null for a CQL null). */
static json_t *text_cell(const sl_cqlc_result *r, size_t row, int col)
{
    if (col < 0) return json_null();
    sl_slice v = sl_cqlc_cell(r, row, (size_t)col);
    return v.ptr ? json_stringn_nocheck((const char *)v.ptr, v.len) : json_null();
}

/* The decoded types of a result's columns (NULL where one cannot be read). */
static sl_cql_dtype **col_types(const sl_cqlc_result *r)
{
    sl_cql_dtype **dt = sl_calloc(r->ncols ? r->ncols : 1, sizeof *dt);
    for (size_t k = 0; k < r->ncols; k++) {
        sl_rd rd;
        sl_rd_init(&rd, r->cols[k].type.option.ptr, r->cols[k].type.option.len);
        if (sl_cql_dtype_decode_option(&rd, &dt[k])) dt[k] = NULL;
    }
    return dt;
}

static void types_free(sl_cql_dtype **dt, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (dt[k]) sl_cql_dtype_release(dt[k]);
    sl_free(dt);
}

static void hex_append(sl_buf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        sl_buf_put_u8(b, (uint8_t)digits[p[i] >> 4]);
        sl_buf_put_u8(b, (uint8_t)digits[p[i] & 15]);
    }
}

/* A cell as cqlsh displays it, or null; a type the client cannot read shows as a blob. */
static json_t *display_cell(const sl_cqlc_result *r, size_t row, size_t col, sl_cql_dtype *dt)
{
    sl_slice v = sl_cqlc_cell(r, row, col);
    if (!v.ptr) return json_null();
    sl_buf b = SL_BUF_INIT;
    if (dt) {
        sl_cql_value_format(dt, v, SL_CQL_FMT_DISPLAY, &b);
    } else {
        sl_buf_append_str(&b, "0x");
        hex_append(&b, v.ptr, v.len);
    }
    json_t *j = json_stringn_nocheck((const char *)b.ptr, b.len);
    sl_buf_free(&b);
    return j;
}

/* Runs a whole statement (every page), or answers the error and returns NULL. */
static sl_cqlc_result *query_all(sl_cqlc *c, const char *cql, sl_http_resp *resp)
{
    sl_cqlc_result *res = NULL;
    sl_cqlc_error err;
    int rc = sl_cqlc_query(c, cql, NULL, 0, NULL, &res, &err);
    if (rc) cql_error(resp, rc, &err);
    return res;
}

/* Index of the keyspace/table object named name in array a (objects with "name"), or -1. */
static json_t *find_named(json_t *a, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) return v;
    }
    return NULL;
}

static bool is_system(const char *ks)
{
    return strncmp(ks, "system", 6) == 0;
}

/* The table's row count, counted a page at a time (sl_cqlc_count_rows) up to ROWS_MAX: a
 * single SELECT count(*) would hold sluice store's loop, and so every other client, for the
 * whole scan (a second per 300k rows). Past ROWS_MAX the table says "rows_more". */
static void row_count(sl_cqlc *c, const char *ks, const char *table, json_t *out)
{
    int64_t n;
    bool more;
    sl_cqlc_error err;
    if (sl_cqlc_count_rows(c, ks, table, ROWS_MAX, NULL, &n, &more, &err) != 0) {
        json_object_set_new(out, "rows", json_null());
        return;
    }
    json_object_set_new(out, "rows", json_integer((json_int_t)n));
    if (more) json_object_set_new(out, "rows_more", json_true());
}

static void schema_work(void *arg, sl_http_resp *resp)
{
    cql_job *j = arg;
    sl_cqlc *c = job_open(j, resp);
    if (!c) return;
    sl_cqlc_result *ks = NULL, *tb = NULL, *co = NULL;
    if (!(ks = query_all(c, "SELECT keyspace_name, replication FROM system_schema.keyspaces",
                         resp)) ||
        !(tb = query_all(c, "SELECT keyspace_name, table_name FROM system_schema.tables", resp)) ||
        !(co = query_all(c,
                         "SELECT keyspace_name, table_name, column_name, kind, position, type,"
                         " clustering_order FROM system_schema.columns",
                         resp)))
        goto done;
    json_t *list = json_array();
    sl_cql_dtype **kt = col_types(ks);
    for (size_t i = 0; i < ks->nrows; i++) {
        json_t *name = text_cell(ks, i, 0);
        if (!json_is_string(name)) {
            json_decref(name);
            continue;
        }
        sl_buf b = SL_BUF_INIT;
        sl_slice rep = sl_cqlc_cell(ks, i, 1);
        json_t *repl = NULL;
        if (kt[1] && rep.ptr) {
            sl_cql_value_format_json(kt[1], rep, &b);
            repl = json_loadb((const char *)b.ptr, b.len, 0, NULL);
        }
        sl_buf_free(&b);
        json_array_append_new(list, json_pack("{s:o, s:b, s:o, s:o}", "name", name, "system",
                                              is_system(json_string_value(name)), "replication",
                                              repl ? repl : json_null(), "tables", json_array()));
    }
    types_free(kt, ks->ncols);
    for (size_t i = 0; i < tb->nrows; i++) {
        json_t *k = text_cell(tb, i, 0), *t = text_cell(tb, i, 1);
        json_t *kso = json_is_string(k) ? find_named(list, json_string_value(k)) : NULL;
        if (kso && json_is_string(t)) {
            json_t *tbo = json_pack("{s:O, s:n, s:o}", "name", t, "rows", "columns", json_array());
            if (!is_system(json_string_value(k)))
                row_count(c, json_string_value(k), json_string_value(t), tbo);
            json_array_append_new(json_object_get(kso, "tables"), tbo);
        }
        json_decref(k);
        json_decref(t);
    }
    for (size_t i = 0; i < co->nrows; i++) {
        json_t *k = text_cell(co, i, 0), *t = text_cell(co, i, 1);
        json_t *kso = json_is_string(k) ? find_named(list, json_string_value(k)) : NULL;
        json_t *tbo = kso && json_is_string(t)
                          ? find_named(json_object_get(kso, "tables"), json_string_value(t))
                          : NULL;
        if (tbo) {
            sl_slice pos = sl_cqlc_cell(co, i, 4);
            json_array_append_new(
                json_object_get(tbo, "columns"),
                json_pack(
                    "{s:o, s:o, s:o, s:I, s:o}", "name", text_cell(co, i, 2), "kind",
                    text_cell(co, i, 3), "type", text_cell(co, i, 5), "position",
                    (json_int_t)(pos.ptr && pos.len == 4 ? (int32_t)sl_get_be32(pos.ptr) : -1),
                    "clustering_order", text_cell(co, i, 6)));
        }
        json_decref(k);
        json_decref(t);
    }
    sl__ops_send(resp, 200, json_pack("{s:o}", "keyspaces", list));
done:
    sl_cqlc_result_free(ks);
    sl_cqlc_result_free(tb);
    sl_cqlc_result_free(co);
    sl_cqlc_close(c);
}

void sl__ops_cql_schema(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(resp);
    sl_console_offload(req, schema_work, job_new(arg), job_free);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void query_work(void *arg, sl_http_resp *resp)
{
    cql_job *j = arg;
    sl_cqlc *c = job_open(j, resp);
    if (!c) return;
    sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
    qo.page_size = j->page_size;
    if (j->paging.len) qo.paging_state = (sl_slice){j->paging.ptr, j->paging.len};
    sl_cqlc_result *res = NULL;
    sl_cqlc_error err;
    int64_t t0 = sl_mono_ms();
    int rc = sl_cqlc_query(c, j->statement, NULL, 0, &qo, &res, &err);
    int64_t took = sl_mono_ms() - t0;
    sl_cqlc_close(c);
    if (rc) {
        cql_error(resp, rc, &err);
        return;
    }
    static const char *const kinds[] = {"",         "void",         "rows", "set_keyspace",
                                        "prepared", "schema_change"};
    json_t *out = json_pack("{s:s, s:I}", "kind",
                            res->kind > 0 && res->kind < (int)SL_ARRAY_LEN(kinds) ? kinds[res->kind]
                                                                                  : "unknown",
                            "took_ms", (json_int_t)took);
    if (res->kind == SL_CQLC_ROWS) {
        sl_cql_dtype **dt = col_types(res);
        json_t *cols = json_array(), *rows = json_array();
        for (size_t k = 0; k < res->ncols; k++) {
            sl_buf tn = SL_BUF_INIT;
            if (dt[k]) sl_cql_dtype_to_cql(dt[k], &tn);
            /* a result's types come without frozen-ness: the decoder marks every collection
             * frozen, which the table's definition may not say */
            const char *t = (const char *)tn.ptr;
            size_t tl = tn.len;
            if (tl > 8 && memcmp(t, "frozen<", 7) == 0 && t[tl - 1] == '>') t += 7, tl -= 8;
            json_array_append_new(cols, json_pack("{s:s, s:s%}", "name", res->cols[k].name, "type",
                                                  tl ? t : "?", tl ? tl : (size_t)1));
            sl_buf_free(&tn);
        }
        for (size_t i = 0; i < res->nrows; i++) {
            json_t *row = json_array();
            for (size_t k = 0; k < res->ncols; k++)
                json_array_append_new(row, display_cell(res, i, k, dt[k]));
            json_array_append_new(rows, row);
        }
        types_free(dt, res->ncols);
        json_t *next = json_null();
        if (res->has_more_pages && res->paging_state.ptr) {
            sl_buf h = SL_BUF_INIT;
            hex_append(&h, res->paging_state.ptr, res->paging_state.len);
            next = json_stringn((const char *)h.ptr, h.len);
            sl_buf_free(&h);
        }
        json_object_set_new(out, "columns", cols);
        json_object_set_new(out, "rows", rows);
        json_object_set_new(out, "paging_state", next);
    } else if (res->kind == SL_CQLC_SCHEMA_CHANGE) {
        json_object_set_new(out, "change",
                            json_pack("{s:s?, s:s?, s:s?, s:s?}", "type", res->change_type,
                                      "target", res->target, "keyspace", res->change_keyspace,
                                      "name", res->change_name));
    } else if (res->kind == SL_CQLC_SET_KEYSPACE) {
        json_object_set_new(out, "keyspace", json_string(res->keyspace ? res->keyspace : ""));
    }
    json_t *warn = json_array();
    for (size_t i = 0; i < res->nwarnings; i++)
        json_array_append_new(warn, json_string(res->warnings[i]));
    json_object_set_new(out, "warnings", warn);
    sl_cqlc_result_free(res);
    sl__ops_send(resp, 200, out);
}

void sl__ops_cql_query(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    json_t *b = sl__ops_body(req, resp);
    if (!b) return;
    const char *stmt = json_string_value(json_object_get(b, "statement"));
    json_t *ps = json_object_get(b, "page_size"), *st = json_object_get(b, "paging_state");
    json_t *ks = json_object_get(b, "keyspace");
    const char *msg = NULL;
    size_t slen = stmt ? strlen(stmt) : 0;
    while (slen && (stmt[slen - 1] == ' ' || stmt[slen - 1] == '\n' || stmt[slen - 1] == ';'))
        slen--;
    if (!stmt || slen == 0)
        msg = "statement: required, a CQL statement";
    else if (slen > STMT_MAX)
        msg = "statement: longer than 64 KiB";
    else if (ps && (!json_is_integer(ps) || json_integer_value(ps) < 1 ||
                    json_integer_value(ps) > PAGE_MAX))
        msg = "page_size: expected a whole number 1..5000";
    else if (st && !json_is_null(st) &&
             (!json_is_string(st) || json_string_length(st) % 2 ||
              json_string_length(st) > 2 * PAGING_MAX))
        msg = "paging_state: expected the hex string a previous page returned";
    else if (ks && !json_is_null(ks) && (!json_is_string(ks) || !json_string_length(ks)))
        msg = "keyspace: expected a keyspace name";
    cql_job *j = NULL;
    if (!msg) {
        j = job_new(arg);
        j->statement = sl_strndup(stmt, slen);
        j->page_size = ps ? (int32_t)json_integer_value(ps) : PAGE_DEFAULT;
        if (json_is_string(ks)) j->keyspace = sl_strdup(json_string_value(ks));
        const char *hex = json_is_string(st) ? json_string_value(st) : "";
        for (size_t i = 0; hex[i] && !msg; i += 2) {
            int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
            if (hi < 0 || lo < 0)
                msg = "paging_state: expected the hex string a previous page returned";
            else
                sl_buf_put_u8(&j->paging, (uint8_t)(hi << 4 | lo));
        }
    }
    json_decref(b);
    if (msg) {
        if (j) job_free(j);
        sl_http_resp_error(resp, 400, msg);
        return;
    }
    sl_console_offload(req, query_work, j, job_free);
}
