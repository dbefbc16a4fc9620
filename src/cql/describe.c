/* describe.c: server-side DESCRIBE, as Cassandra 4.0 answers it for cqlsh: rows of
 * (keyspace_name, type, name[, create_statement]), and the CREATE statements themselves. */
#include "cql/exec_int.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

static const char *reserved[] = {
    "add",    "allow",       "alter",  "and",          "apply",    "asc",      "authorize",
    "batch",  "begin",       "by",     "columnfamily", "create",   "default",  "delete",
    "desc",   "describe",    "drop",   "entries",      "execute",  "from",     "full",
    "grant",  "if",          "in",     "index",        "infinity", "insert",   "into",
    "is",     "keyspace",    "limit",  "materialized", "mbean",    "mbeans",   "modify",
    "nan",    "norecursive", "not",    "null",         "of",       "on",       "or",
    "order",  "primary",     "rename", "replace",      "revoke",   "schema",   "select",
    "set",    "table",       "to",     "token",        "truncate", "unlogged", "unset",
    "update", "use",         "using",  "view",         "where",    "with",
};

void sl__cql_append_name(sl_buf *b, const char *name)
{
    bool plain = islower((unsigned char)name[0]);
    for (const char *c = name; *c && plain; c++)
        plain = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_';
    for (size_t i = 0; plain && i < SL_ARRAY_LEN(reserved); i++)
        plain = strcmp(name, reserved[i]) != 0;
    if (plain) {
        sl_buf_append_str(b, name);
        return;
    }
    sl_buf_append_str(b, "\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"') sl_buf_append_str(b, "\"");
        sl_buf_append(b, c, 1);
    }
    sl_buf_append_str(b, "\"");
}

static void append_quoted(sl_buf *b, const char *s)
{
    sl_buf_append_str(b, "'");
    for (const char *c = s; *c; c++) {
        if (*c == '\'') sl_buf_append_str(b, "'");
        sl_buf_append(b, c, 1);
    }
    sl_buf_append_str(b, "'");
}

void sl__cql_keyspace_cql(const sl_cql_keyspace *ks, sl_buf *out)
{
    sl_buf_append_str(out, "CREATE KEYSPACE ");
    sl__cql_append_name(out, ks->name);
    sl_buf_append_str(out, " WITH replication = {");
    bool first = true;
    /* The class first, then the options in name order, as Cassandra prints them. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ks->nreplication; i++) {
            const sl_cql_option *o = &ks->replication[i];
            if ((strcmp(o->name, "class") == 0) != (pass == 0) || !o->value) continue;
            if (!first) sl_buf_append_str(out, ", ");
            first = false;
            append_quoted(out, o->name);
            sl_buf_append_str(out, ": ");
            append_quoted(out, o->value);
        }
    /* Cassandra 4.0 prints two spaces before AND here. */
    sl_buf_printf(out, "}  AND durable_writes = %s;", ks->durable_writes ? "true" : "false");
}

/* The options DESCRIBE TABLE prints, in its order. */
static const char *table_opts[] = {
    "additional_write_policy",
    "bloom_filter_fp_chance",
    "caching",
    "cdc",
    "comment",
    "compaction",
    "compression",
    "crc_check_chance",
    "default_time_to_live",
    "extensions",
    "gc_grace_seconds",
    "max_index_interval",
    "memtable_flush_period_in_ms",
    "min_index_interval",
    "read_repair",
    "speculative_retry",
};

void sl__cql_table_cql(const sl_cql_table *t, sl_buf *out)
{
    sl_buf_append_str(out, "CREATE TABLE ");
    sl__cql_append_name(out, t->keyspace);
    sl_buf_append_str(out, ".");
    sl__cql_append_name(out, t->name);
    sl_buf_append_str(out, " (\n");
    bool inline_pk = t->npk == 1 && t->nck == 0;
    sl_buf ty = SL_BUF_INIT;
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *c = &t->columns[i];
        sl_buf_append_str(out, "    ");
        sl__cql_append_name(out, c->name);
        sl_buf_reset(&ty);
        sl_cql_dtype_to_cql(c->type, &ty);
        sl_buf_printf(out, " %s", sl_buf_cstr(&ty));
        if (c->kind == SL_CQL_COL_STATIC) sl_buf_append_str(out, " static");
        if (inline_pk && c->kind == SL_CQL_COL_PARTITION_KEY)
            sl_buf_append_str(out, " PRIMARY KEY");
        if (i + 1 < t->ncolumns || !inline_pk) sl_buf_append_str(out, ",");
        sl_buf_append_str(out, "\n");
    }
    sl_buf_free(&ty);
    if (!inline_pk) {
        sl_buf_append_str(out, "    PRIMARY KEY (");
        if (t->npk > 1) sl_buf_append_str(out, "(");
        for (size_t i = 0; i < t->npk; i++) {
            if (i) sl_buf_append_str(out, ", ");
            sl__cql_append_name(out, t->pk[i]->name);
        }
        if (t->npk > 1) sl_buf_append_str(out, ")");
        for (size_t i = 0; i < t->nck; i++) {
            sl_buf_append_str(out, ", ");
            sl__cql_append_name(out, t->ck[i]->name);
        }
        sl_buf_append_str(out, ")\n");
    }
    sl_buf_append_str(out, ") WITH ");
    bool first = true;
    if (t->nck) {
        sl_buf_append_str(out, "CLUSTERING ORDER BY (");
        for (size_t i = 0; i < t->nck; i++) {
            if (i) sl_buf_append_str(out, ", ");
            sl__cql_append_name(out, t->ck[i]->name);
            sl_buf_append_str(out, t->ck[i]->desc ? " DESC" : " ASC");
        }
        sl_buf_append_str(out, ")");
        first = false;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(table_opts); i++) {
        const char *v = sl_cql_table_option(t, table_opts[i]);
        if (!v) continue;
        sl_buf_printf(out, "%s%s = %s", first ? "" : "\n    AND ", table_opts[i], v);
        first = false;
    }
    sl_buf_append_str(out, ";");
}

static void desc_columns(exec_ctx *x, bool element)
{
    sl_cql_result *res = x->res;
    res->kind = SL_CQL_RESULT_ROWS;
    res->n_columns = element ? 4 : 3;
    res->columns = sl__exec_columns(res, res->n_columns);
    static const char *names[] = {"keyspace_name", "type", "name", "create_statement"};
    for (size_t i = 0; i < res->n_columns; i++)
        sl__exec_colspec(res, &res->columns[i], "system", "describe", names[i],
                         sl_cql_dtype_prim(SL_CQL_TEXT));
}

static void desc_row(exec_ctx *x, const char *ks, const char *type, const char *name,
                     const sl_buf *create)
{
    sl_buf b = SL_BUF_INIT;
    sl__cql_append_name(&b, ks);
    sl__exec_cell(x->res, sl_buf_slice(&b));
    sl__exec_cell(x->res, SL_SLICE_STR(type));
    sl_buf_reset(&b);
    sl__cql_append_name(&b, name);
    sl__exec_cell(x->res, sl_buf_slice(&b));
    if (create) sl__exec_cell(x->res, sl_buf_slice(create));
    x->res->row_count++;
    sl_buf_free(&b);
}

static void keyspace_elements(exec_ctx *x, const sl_cql_keyspace *ks, bool only)
{
    sl_buf b = SL_BUF_INIT;
    sl__cql_keyspace_cql(ks, &b);
    desc_row(x, ks->name, "keyspace", ks->name, &b);
    for (size_t i = 0; !only && i < ks->ntables; i++) {
        sl_buf_reset(&b);
        sl__cql_table_cql(ks->tables[i], &b);
        desc_row(x, ks->name, "table", ks->tables[i]->name, &b);
    }
    sl_buf_free(&b);
}

static const sl_cql_keyspace *desc_keyspace(exec_ctx *x, const char *name)
{
    if (!name) {
        name = x->s ? x->s->keyspace : NULL;
        if (!name) {
            sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                          "No keyspace specified and no current keyspace");
            return NULL;
        }
    }
    const sl_cql_keyspace *ks = sl_catalog_keyspace(x->e->cat, name);
    if (!ks) sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "'%s' not found in keyspaces", name);
    return ks;
}

static bool is_system_ks(const char *n)
{
    return strncmp(n, "system", 6) == 0 &&
           (n[6] == 0 || strcmp(n, "system_schema") == 0 || strcmp(n, "system_auth") == 0 ||
            strcmp(n, "system_distributed") == 0 || strcmp(n, "system_traces") == 0);
}

static int describe_cluster(exec_ctx *x)
{
    sl_cql_result *res = x->res;
    const char *ks = x->s ? x->s->keyspace : NULL;
    bool ranges = ks && !is_system_ks(ks);
    res->kind = SL_CQL_RESULT_ROWS;
    res->n_columns = ranges ? 4 : 3;
    res->columns = sl__exec_columns(res, res->n_columns);
    sl__exec_colspec(res, &res->columns[0], "system", "describe", "cluster",
                     sl_cql_dtype_prim(SL_CQL_TEXT));
    sl__exec_colspec(res, &res->columns[1], "system", "describe", "partitioner",
                     sl_cql_dtype_prim(SL_CQL_TEXT));
    sl__exec_colspec(res, &res->columns[2], "system", "describe", "snitch",
                     sl_cql_dtype_prim(SL_CQL_TEXT));
    sl_cql_dtype *lt = NULL, *mt = NULL;
    if (ranges) {
        sl_cql_dtype *sub[1] = {sl_cql_dtype_keep(sl_cql_dtype_prim(SL_CQL_TEXT))};
        lt = sl_cql_dtype_new(SL_CQL_LIST, false, 1, sub);
        sl_cql_dtype *msub[2] = {sl_cql_dtype_keep(sl_cql_dtype_prim(SL_CQL_TEXT)),
                                 sl_cql_dtype_keep(lt)};
        mt = sl_cql_dtype_new(SL_CQL_MAP, false, 2, msub);
        sl__exec_colspec(res, &res->columns[3], "system", "describe", "range_ownership", mt);
    }
    sl__exec_cell(res, SL_SLICE_STR(x->e->opts.cluster_name));
    sl__exec_cell(res, SL_SLICE_STR("Murmur3Partitioner"));
    sl__exec_cell(res, SL_SLICE_STR("DynamicEndpointSnitch"));
    if (ranges) {
        /* One node owns the ring: the range ending at its token maps to it. */
        sl_store_row *rows;
        size_t n;
        const sl_cql_table *local = sl_catalog_table(x->e->cat, "system", "local");
        char tok[24] = "0";
        if (local && sl__exec_system_rows(x, local, &rows, &n) == 0 && n) {
            const sl_cql_column *tc = sl_cql_table_column(local, "tokens");
            sl_cql_iter it;
            sl_slice el;
            if (tc && rows[0].cells[tc->index].value.ptr &&
                sl_cql_iter_init(&it, tc->type, rows[0].cells[tc->index].value) > 0 &&
                sl_cql_iter_next(&it, &el) == 1 && el.len < sizeof tok) {
                memcpy(tok, el.ptr, el.len);
                tok[el.len] = 0;
            }
        }
        char ep[300];
        snprintf(ep, sizeof ep, "%s:7000", x->e->opts.rpc_address);
        sl_slice lv[1] = {SL_SLICE_STR(ep)};
        sl_buf lb = SL_BUF_INIT, mb = SL_BUF_INIT;
        sl_cql_collection_encode(lt, lv, 1, &lb);
        sl_slice mv[2] = {SL_SLICE_STR(tok), sl_buf_slice(&lb)};
        sl_cql_collection_encode(mt, mv, 1, &mb);
        sl__exec_cell(res, sl_buf_slice(&mb));
        sl_buf_free(&lb);
        sl_buf_free(&mb);
        sl_cql_dtype_release(mt);
        sl_cql_dtype_release(lt);
    }
    res->row_count = 1;
    return 0;
}

static int describe_table(exec_ctx *x, const char *ksname, const char *name)
{
    const sl_cql_keyspace *ks = desc_keyspace(x, ksname);
    if (!ks) return -1;
    const sl_cql_table *t = sl_catalog_table(x->e->cat, ks->name, name);
    if (!t)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Table '%s' not found in keyspace '%s'",
                             name, ks->name);
    desc_columns(x, true);
    sl_buf b = SL_BUF_INIT;
    sl__cql_table_cql(t, &b);
    desc_row(x, t->keyspace, "table", t->name, &b);
    sl_buf_free(&b);
    return 0;
}

int sl__exec_describe(exec_ctx *x, const sl_cql_describe *d)
{
    size_t nks;
    const sl_cql_keyspace *const *kss = sl_catalog_keyspaces(x->e->cat, &nks);
    const char *ksname = d->name.ks.name;
    const char *name = d->name.name.name;
    const char *cur = x->s ? x->s->keyspace : NULL;
    switch (d->kind) {
    case SL_CQL_DESC_CLUSTER: return describe_cluster(x);
    case SL_CQL_DESC_KEYSPACES:
        desc_columns(x, false);
        for (size_t i = 0; i < nks; i++)
            desc_row(x, kss[i]->name, "keyspace", kss[i]->name, NULL);
        return 0;
    case SL_CQL_DESC_SCHEMA:
        desc_columns(x, true);
        for (size_t i = 0; i < nks; i++)
            if (d->full || !is_system_ks(kss[i]->name)) keyspace_elements(x, kss[i], false);
        return 0;
    case SL_CQL_DESC_KEYSPACE: {
        const sl_cql_keyspace *ks = desc_keyspace(x, name);
        if (!ks) return -1;
        desc_columns(x, true);
        keyspace_elements(x, ks, d->only);
        return 0;
    }
    case SL_CQL_DESC_TABLES:
        desc_columns(x, false);
        for (size_t i = 0; i < nks; i++) {
            if (cur && strcmp(cur, kss[i]->name) != 0) continue;
            for (size_t k = 0; k < kss[i]->ntables; k++)
                desc_row(x, kss[i]->name, "table", kss[i]->tables[k]->name, NULL);
        }
        if (cur && !sl_catalog_keyspace(x->e->cat, cur))
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "'%s' not found in keyspaces", cur);
        return 0;
    case SL_CQL_DESC_TABLE: return describe_table(x, ksname, name);
    case SL_CQL_DESC_TYPES:
    case SL_CQL_DESC_FUNCTIONS:
    case SL_CQL_DESC_AGGREGATES:
        /* No user types, functions or aggregates exist here. */
        desc_columns(x, false);
        return 0;
    case SL_CQL_DESC_TYPE:
    case SL_CQL_DESC_FUNCTION:
    case SL_CQL_DESC_AGGREGATE:
    case SL_CQL_DESC_INDEX:
    case SL_CQL_DESC_VIEW: {
        const sl_cql_keyspace *ks = desc_keyspace(x, ksname);
        if (!ks) return -1;
        const char *what =
            d->kind == SL_CQL_DESC_TYPE        ? "User defined type '%s' not found in '%s'"
            : d->kind == SL_CQL_DESC_FUNCTION  ? "User defined function '%s' not found in '%s'"
            : d->kind == SL_CQL_DESC_AGGREGATE ? "User defined aggregate '%s' not found in '%s'"
            : d->kind == SL_CQL_DESC_INDEX     ? "Table for existing index '%s' not found in '%s'"
                                               : "Materialized view '%s' not found in '%s'";
        char msg[600];
        snprintf(msg, sizeof msg, what, name, ks->name);
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s", msg);
    }
    case SL_CQL_DESC_NAME: {
        /* A keyspace, else a table (in the given or current keyspace), as Cassandra resolves. */
        if (!ksname && sl_catalog_keyspace(x->e->cat, name)) {
            desc_columns(x, true);
            keyspace_elements(x, sl_catalog_keyspace(x->e->cat, name), false);
            return 0;
        }
        const char *ks = ksname ? ksname : cur ? cur : name;
        if (!sl_catalog_keyspace(x->e->cat, ks))
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "'%s' not found in keyspaces", ks);
        if (sl_catalog_table(x->e->cat, ks, name)) return describe_table(x, ks, name);
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "'%s' not found in keyspace '%s'", name,
                             ks);
    }
    }
    return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported DESCRIBE statement");
}
