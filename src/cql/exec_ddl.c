/* exec_ddl.c: CREATE/ALTER/DROP KEYSPACE, CREATE/ALTER/DROP TABLE and TRUNCATE on the catalog,
 * with Cassandra's checks and messages; the statements sluice does not support (types,
 * indexes) answer with a clear Invalid. */
#include "cql/exec_int.h"

#include <stdio.h>
#include <strings.h>

/* Appends a CQL literal for a property value: strings quoted, numbers and booleans as
 * written, maps and sets in braces. Returns 0 or -1 for terms that are not literals. */
static int term_to_cql(const sl_cql_term *t, sl_buf *out)
{
    switch (t->kind) {
    case SL_CQL_TERM_STRING:
        sl_buf_append_str(out, "'");
        for (uint32_t i = 0; i < t->len; i++) {
            if (t->text[i] == '\'') sl_buf_append_str(out, "'");
            sl_buf_append(out, &t->text[i], 1);
        }
        sl_buf_append_str(out, "'");
        return 0;
    case SL_CQL_TERM_INTEGER:
    case SL_CQL_TERM_FLOAT:
    case SL_CQL_TERM_BOOLEAN:
    case SL_CQL_TERM_UUID:
    case SL_CQL_TERM_BLOB: sl_buf_append(out, t->text, t->len); return 0;
    case SL_CQL_TERM_MAP:
        sl_buf_append_str(out, "{");
        for (uint32_t i = 0; i < t->u.map.n; i++) {
            if (i) sl_buf_append_str(out, ", ");
            if (term_to_cql(t->u.map.keys[i], out) != 0) return -1;
            sl_buf_append_str(out, ": ");
            if (term_to_cql(t->u.map.values[i], out) != 0) return -1;
        }
        sl_buf_append_str(out, "}");
        return 0;
    case SL_CQL_TERM_SET:
    case SL_CQL_TERM_LIST:
        sl_buf_append_str(out, t->kind == SL_CQL_TERM_SET ? "{" : "[");
        for (uint32_t i = 0; i < t->u.items.n; i++) {
            if (i) sl_buf_append_str(out, ", ");
            if (term_to_cql(t->u.items.items[i], out) != 0) return -1;
        }
        sl_buf_append_str(out, t->kind == SL_CQL_TERM_SET ? "}" : "]");
        return 0;
    default: return -1;
    }
}

/* A scalar property value as plain text ('1' and 1 both give "1"). */
static const char *term_text(exec_ctx *x, const sl_cql_term *t)
{
    switch (t->kind) {
    case SL_CQL_TERM_STRING:
    case SL_CQL_TERM_INTEGER:
    case SL_CQL_TERM_FLOAT:
    case SL_CQL_TERM_BOOLEAN:
    case SL_CQL_TERM_UUID: return sl_arena_strndup(x->tmp, t->text, t->len);
    default: return NULL;
    }
}

/* Maps a catalog failure to the wire error Cassandra gives. */
static int catalog_error(exec_ctx *x, int rc, sl_buf *err, const char *ks, const char *table)
{
    const char *msg = err->len ? sl_buf_cstr(err) : sl_strerror(rc);
    switch (rc) {
    case SL_ERR_EXISTS:
        /* Cassandra's AlreadyExistsException wording. */
        if (table)
            sl__exec_fail(x->res, SL_CQL_ERR_ALREADY_EXISTS,
                          "Cannot add already existing table \"%s\" to keyspace \"%s\"", table, ks);
        else
            sl__exec_fail(x->res, SL_CQL_ERR_ALREADY_EXISTS, "Cannot add existing keyspace \"%s\"",
                          ks);
        x->res->error.keyspace = sl__exec_strdup(x->res, ks);
        x->res->error.table = sl__exec_strdup(x->res, table ? table : "");
        return -1;
    case SL_ERR_CONFIG: return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG, "%s", msg);
    case SL_ERR_NOTFOUND:
    case SL_ERR_INVAL:
    case SL_ERR_UNSUPPORTED: break;
    default: return sl__exec_fail(x->res, SL_CQL_ERR_SERVER, "%s", msg);
    }
    if (strncmp(msg, "Unknown property", 16) == 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX, "%s", msg);
    if (strstr(msg, "not user-modifiable") || strstr(msg, "system keyspace"))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s", msg);
    return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s", msg);
}

static void schema_change(exec_ctx *x, sl_cql_change_type c, sl_cql_change_target tg,
                          const char *ks, const char *name, bool *notify)
{
    sl_cql_result *res = x->res;
    res->kind = SL_CQL_RESULT_SCHEMA_CHANGE;
    res->schema_change.change = c;
    res->schema_change.target = tg;
    res->schema_change.keyspace = sl__exec_strdup(res, ks);
    res->schema_change.name = sl__exec_strdup(res, name);
    *notify = true;
}

static bool is_reserved_keyspace(const char *ks)
{
    static const char *names[] = {
        "system",        "system_schema",         "system_auth", "system_distributed",
        "system_traces", "system_virtual_schema", "system_views"};
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (strcasecmp(ks, names[i]) == 0) return true;
    return false;
}

/* WITH replication = {...} AND durable_writes = b. */
static int keyspace_props(exec_ctx *x, const sl_cql_keyspace_def *d, sl_cql_option **repl,
                          size_t *nrepl, bool *durable, bool require_replication)
{
    *repl = NULL;
    *nrepl = 0;
    *durable = true;
    bool has_repl = false;
    for (uint32_t i = 0; i < d->n_props; i++) {
        const sl_cql_prop *p = &d->props[i];
        if (ident_is(&p->name, "replication")) {
            if (has_repl)
                return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX,
                                     "Multiple definitions for property 'replication'");
            if (p->value->kind != SL_CQL_TERM_MAP)
                return sl__exec_fail(
                    x->res, SL_CQL_ERR_SYNTAX,
                    "Invalid value for property 'replication'. It should be a map.");
            has_repl = true;
            uint32_t n = p->value->u.map.n;
            sl_cql_option *o = sl_arena_alloc(x->tmp, (n ? n : 1) * sizeof *o);
            for (uint32_t k = 0; k < n; k++) {
                const char *kn = term_text(x, p->value->u.map.keys[k]);
                const char *vv = term_text(x, p->value->u.map.values[k]);
                if (!kn || !vv)
                    return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX,
                                         "Invalid value for property 'replication'");
                o[k].name = (char *)kn;
                o[k].value = (char *)vv;
            }
            *repl = o;
            *nrepl = n;
        } else if (ident_is(&p->name, "durable_writes")) {
            const char *v = term_text(x, p->value);
            if (!v || (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0))
                return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX,
                                     "Invalid boolean value %s for 'durable_writes' property",
                                     v ? v : "?");
            *durable = strcasecmp(v, "true") == 0;
        } else {
            return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX, "Unknown property '%s'", p->name.name);
        }
    }
    if (!has_repl) {
        if (require_replication)
            return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG, "Missing replication strategy class");
        return 0;
    }
    /* The strategy: a short name gets Cassandra's package; options are checked as Cassandra's
     * strategies check them. */
    sl_cql_option *cls = NULL;
    for (size_t i = 0; i < *nrepl; i++)
        if (strcmp((*repl)[i].name, "class") == 0) cls = &(*repl)[i];
    if (!cls) return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG, "Missing replication strategy class");
    const char *c = cls->value;
    const char *shortname = strrchr(c, '.') ? strrchr(c, '.') + 1 : c;
    if (!strchr(c, '.')) {
        size_t n = strlen(c) + 32;
        char *full = sl_arena_alloc(x->tmp, n);
        snprintf(full, n, "org.apache.cassandra.locator.%s", c);
        cls->value = full;
    }
    if (strcmp(shortname, "LocalStrategy") == 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                             "Unable to use given strategy class: LocalStrategy is reserved for "
                             "internal use.");
    bool simple = strcmp(shortname, "SimpleStrategy") == 0;
    bool nts = strcmp(shortname, "NetworkTopologyStrategy") == 0;
    if (!simple && !nts)
        return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                             "Unable to find replication strategy class '%s'", cls->value);
    bool has_rf = false;
    for (size_t i = 0; i < *nrepl; i++) {
        const sl_cql_option *o = &(*repl)[i];
        if (o == cls) continue;
        if (simple && strcmp(o->name, "replication_factor") != 0)
            return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                                 "Unrecognized strategy option {%s} passed to SimpleStrategy for "
                                 "keyspace %s",
                                 o->name, d->name.name);
        char *end;
        const char *v = o->value;
        long rf = strtol(v, &end, 10);
        if (*v == 0 || *end != 0)
            return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                                 "Replication factor must be numeric; found %s", v);
        if (rf < 0)
            return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                                 "Replication factor must be non-negative; found %s", v);
        has_rf |= strcmp(o->name, "replication_factor") == 0;
    }
    if (simple && !has_rf)
        return sl__exec_fail(x->res, SL_CQL_ERR_CONFIG,
                             "SimpleStrategy requires a replication_factor strategy option.");
    return 0;
}

static int create_keyspace(exec_ctx *x, const sl_cql_keyspace_def *d, bool *sync, bool *notify)
{
    const char *name = d->name.name;
    if (is_reserved_keyspace(name))
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Keyspace name must not be a reserved "
                             "keyspace name: %s",
                             name);
    sl_cql_option *repl;
    size_t nrepl;
    bool durable;
    if (keyspace_props(x, d, &repl, &nrepl, &durable, true) != 0) return -1;
    sl_buf err = SL_BUF_INIT;
    int rc =
        sl_catalog_create_keyspace(x->e->cat, name, repl, nrepl, durable, d->if_not_exists, &err);
    if (rc < 0) {
        catalog_error(x, rc, &err, name, NULL);
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    if (rc == 0)
        schema_change(x, SL_CQL_CHANGE_CREATED, SL_CQL_TARGET_KEYSPACE, name, NULL, notify);
    return 0;
}

static int alter_keyspace(exec_ctx *x, const sl_cql_keyspace_def *d, bool *sync, bool *notify)
{
    const char *name = d->name.name;
    if (is_reserved_keyspace(name))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             name);
    const sl_cql_keyspace *ks = sl_catalog_keyspace(x->e->cat, name);
    if (!ks) return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Keyspace '%s' doesn't exist", name);
    sl_cql_option *repl;
    size_t nrepl;
    bool durable;
    if (keyspace_props(x, d, &repl, &nrepl, &durable, false) != 0) return -1;
    bool has_durable = false;
    for (uint32_t i = 0; i < d->n_props; i++)
        has_durable |= ident_is(&d->props[i].name, "durable_writes");
    if (!has_durable) durable = ks->durable_writes;
    sl_buf err = SL_BUF_INIT;
    int rc = sl_catalog_alter_keyspace(x->e->cat, name, repl, nrepl, durable, &err);
    if (rc < 0) {
        catalog_error(x, rc, &err, name, NULL);
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    schema_change(x, SL_CQL_CHANGE_UPDATED, SL_CQL_TARGET_KEYSPACE, name, NULL, notify);
    return 0;
}

static int drop_keyspace(exec_ctx *x, const sl_cql_drop *d, bool *sync, bool *notify)
{
    const char *name = d->name.name.name;
    if (is_reserved_keyspace(name))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             name);
    sl_buf err = SL_BUF_INIT;
    int rc = sl_catalog_drop_keyspace(x->e->cat, name, d->if_exists, &err);
    if (rc < 0) {
        catalog_error(x, rc, &err, name, NULL);
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    if (rc == 0)
        schema_change(x, SL_CQL_CHANGE_DROPPED, SL_CQL_TARGET_KEYSPACE, name, NULL, notify);
    return 0;
}

static const sl_cql_column_def *find_def(const sl_cql_create_table *ct, const char *name)
{
    for (uint32_t i = 0; i < ct->n_cols; i++)
        if (strcmp(ct->cols[i].name.name, name) == 0) return &ct->cols[i];
    return NULL;
}

static int resolve_type(exec_ctx *x, const sl_cql_type *ast, sl_cql_dtype **out)
{
    sl_buf err = SL_BUF_INIT;
    if (sl_cql_dtype_from_ast(ast, out, &err) != 0) {
        sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s",
                      err.len ? sl_buf_cstr(&err) : "Unknown type");
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    return 0;
}

/* Applies WITH properties to a table definition. */
static int table_props(exec_ctx *x, sl_cql_table *def, const sl_cql_prop *props, uint32_t n,
                       sl_cql_option **opts, size_t *nopts)
{
    if (opts) {
        *opts = sl_arena_alloc(x->tmp, (n ? n : 1) * sizeof **opts);
        *nopts = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        sl_buf v = SL_BUF_INIT, err = SL_BUF_INIT;
        if (term_to_cql(props[i].value, &v) != 0) {
            sl_buf_free(&v);
            return sl__exec_fail(x->res, SL_CQL_ERR_SYNTAX, "Invalid value for property '%s'",
                                 props[i].name.name);
        }
        int rc = 0;
        if (def) {
            rc = sl_cql_table_set_option(def, props[i].name.name, sl_buf_cstr(&v), &err);
        } else {
            sl_cql_option *o = &(*opts)[(*nopts)++];
            o->name = sl_arena_strndup(x->tmp, props[i].name.name, props[i].name.len);
            o->value = sl_arena_strndup(x->tmp, (const char *)v.ptr, v.len);
        }
        if (rc != 0) {
            const char *msg = err.len ? sl_buf_cstr(&err) : "Invalid table option";
            sl__exec_fail(x->res,
                          strncmp(msg, "Unknown property", 16) == 0 ? SL_CQL_ERR_SYNTAX
                                                                    : SL_CQL_ERR_CONFIG,
                          "%s", msg);
        }
        sl_buf_free(&v);
        sl_buf_free(&err);
        if (rc != 0) return -1;
    }
    return 0;
}

static int add_column(exec_ctx *x, sl_cql_table *def, const sl_cql_column_def *cd,
                      sl_cql_col_kind kind, bool desc)
{
    sl_cql_dtype *ty;
    if (resolve_type(x, cd->type, &ty) != 0) return -1;
    int rc = 0;
    if (kind == SL_CQL_COL_PARTITION_KEY || kind == SL_CQL_COL_CLUSTERING) {
        if (ty->kind == SL_CQL_COUNTER)
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                               "counter type is not supported for PRIMARY KEY column '%s'",
                               cd->name.name);
        else if (sl_cql_dtype_is_multicell(ty))
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                               "Invalid non-frozen collection type for PRIMARY KEY component %s",
                               cd->name.name);
    }
    if (rc == 0) {
        sl_buf err = SL_BUF_INIT;
        if (sl_cql_table_add_column(def, cd->name.name, ty, kind, desc, &err) != 0)
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s", sl_buf_cstr(&err));
        sl_buf_free(&err);
    }
    sl_cql_dtype_release(ty);
    return rc;
}

static int create_table(exec_ctx *x, const sl_cql_create_table *ct, bool *sync, bool *notify)
{
    an_ctx a = {x->e, x->plan, x->res, x->plan->keyspace};
    const char *ks = sl__an_keyspace(&a, &ct->table.ks);
    if (!ks) return -1;
    const char *name = ct->table.name.name;
    if (is_reserved_keyspace(ks))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             ks);
    if (!sl_catalog_keyspace(x->e->cat, ks))
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Keyspace '%s' doesn't exist", ks);
    if (ct->compact_storage)
        return sl__exec_fail(
            x->res, SL_CQL_ERR_INVALID,
            "Compact tables are not allowed in Cassandra starting with 4.0 version.");
    if (ct->n_pk == 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "No PRIMARY KEY specifed for table '%s' (exactly one required)", name);
    for (uint32_t i = 0; i < ct->n_cols; i++)
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(ct->cols[i].name.name, ct->cols[k].name.name) == 0)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Multiple definition of identifier %s", ct->cols[i].name.name);
    uint32_t nkey = ct->n_pk + ct->n_ck;
    const sl_cql_ident **key = sl_arena_alloc(x->tmp, (nkey ? nkey : 1) * sizeof *key);
    for (uint32_t i = 0; i < nkey; i++) {
        key[i] = i < ct->n_pk ? &ct->partition_key[i] : &ct->clustering[i - ct->n_pk];
        const sl_cql_column_def *cd = find_def(ct, key[i]->name);
        if (!cd)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Unknown definition %s referenced in PRIMARY KEY", key[i]->name);
        if (cd->is_static)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Static column %s cannot be part of the PRIMARY KEY",
                                 key[i]->name);
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(key[k]->name, key[i]->name) == 0)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Duplicate column %s in PRIMARY KEY", key[i]->name);
    }
    if (ct->n_clustering_order) {
        bool ok = ct->n_clustering_order <= ct->n_ck;
        for (uint32_t i = 0; ok && i < ct->n_clustering_order; i++) {
            bool is_ck = false;
            for (uint32_t k = 0; k < ct->n_ck; k++)
                is_ck |= strcmp(ct->clustering[k].name, ct->clustering_order[i].col.name) == 0;
            if (!is_ck)
                return sl__exec_fail(
                    x->res, SL_CQL_ERR_INVALID,
                    "Only clustering key columns can be defined in CLUSTERING ORDER "
                    "directive");
            ok = strcmp(ct->clustering[i].name, ct->clustering_order[i].col.name) == 0;
        }
        if (!ok || ct->n_clustering_order != ct->n_ck)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Clustering key columns must exactly match columns in CLUSTERING "
                                 "ORDER BY directive");
    }
    for (uint32_t i = 0; i < ct->n_cols; i++)
        if (ct->cols[i].is_static && ct->n_ck == 0)
            return sl__exec_fail(
                x->res, SL_CQL_ERR_INVALID,
                "Static columns are only useful (and thus allowed) if the table has "
                "at least one clustering column");
    sl_cql_table *def = sl_cql_table_new(ks, name);
    int rc = 0;
    for (uint32_t i = 0; i < ct->n_pk && rc == 0; i++)
        rc = add_column(x, def, find_def(ct, ct->partition_key[i].name), SL_CQL_COL_PARTITION_KEY,
                        false);
    for (uint32_t i = 0; i < ct->n_ck && rc == 0; i++) {
        bool desc = i < ct->n_clustering_order && ct->clustering_order[i].desc;
        rc = add_column(x, def, find_def(ct, ct->clustering[i].name), SL_CQL_COL_CLUSTERING, desc);
    }
    for (uint32_t i = 0; i < ct->n_cols && rc == 0; i++) {
        const sl_cql_column_def *cd = &ct->cols[i];
        bool is_key = false;
        for (uint32_t k = 0; k < nkey; k++)
            is_key |= strcmp(key[k]->name, cd->name.name) == 0;
        if (!is_key)
            rc = add_column(x, def, cd, cd->is_static ? SL_CQL_COL_STATIC : SL_CQL_COL_REGULAR,
                            false);
    }
    if (rc == 0) rc = table_props(x, def, ct->props, ct->n_props, NULL, NULL);
    if (rc != 0) {
        sl_cql_table_release(def);
        return -1;
    }
    sl_buf err = SL_BUF_INIT;
    rc = sl_catalog_create_table(x->e->cat, def, ct->if_not_exists, &err);
    if (rc < 0) {
        catalog_error(x, rc, &err, ks, name);
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    if (rc == 0) schema_change(x, SL_CQL_CHANGE_CREATED, SL_CQL_TARGET_TABLE, ks, name, notify);
    return 0;
}

/* Resolves the table of ALTER/DROP/TRUNCATE: the keyspace must exist and, unless if_exists,
 * so must the table. *t is NULL for an absent table with if_exists. */
static int ddl_table(exec_ctx *x, const sl_cql_qname *qn, bool if_exists, const char **ks,
                     sl_cql_table **t)
{
    an_ctx a = {x->e, x->plan, x->res, x->plan->keyspace};
    *ks = sl__an_keyspace(&a, &qn->ks);
    *t = NULL;
    if (!*ks) return -1;
    if (!sl_catalog_keyspace(x->e->cat, *ks)) {
        if (if_exists) return 0;
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Keyspace '%s' doesn't exist", *ks);
    }
    *t = sl_catalog_table(x->e->cat, *ks, qn->name.name);
    if (!*t && !if_exists)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Table '%s.%s' doesn't exist", *ks,
                             qn->name.name);
    return 0;
}

static int alter_table(exec_ctx *x, const sl_cql_alter_table *at, bool *sync, bool *notify)
{
    const char *ks;
    sl_cql_table *t;
    if (ddl_table(x, &at->table, false, &ks, &t) != 0) return -1;
    if (is_reserved_keyspace(ks) || t->is_system)
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             ks);
    /* t and its strings may go with the first change (ALTER publishes a new version). */
    const char *name = sl_arena_strndup(x->tmp, t->name, strlen(t->name));
    ks = sl_arena_strndup(x->tmp, ks, strlen(ks));
    sl_buf err = SL_BUF_INIT;
    int rc = 0;
    switch (at->kind) {
    case SL_CQL_ALTER_ADD:
        for (uint32_t i = 0; i < at->n_cols && rc == 0; i++) {
            const sl_cql_column_def *cd = &at->cols[i];
            if (sl_cql_table_column(t, cd->name.name)) {
                rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                   "Column with name '%s' already exists", cd->name.name);
                break;
            }
            if (cd->is_static && t->nck == 0) {
                rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                   "Static columns are only useful (and thus allowed) if the table "
                                   "has at least one clustering column");
                break;
            }
            sl_cql_dtype *ty;
            if (resolve_type(x, cd->type, &ty) != 0) {
                rc = -1;
                break;
            }
            rc = sl_catalog_alter_add(x->e->cat, ks, name, cd->name.name, ty, cd->is_static, &err);
            sl_cql_dtype_release(ty);
            if (rc < 0) catalog_error(x, rc, &err, ks, name);
            /* The catalog publishes a new table version; look it up again. */
            t = sl_catalog_table(x->e->cat, ks, name);
            if (!t) break;
        }
        break;
    case SL_CQL_ALTER_DROP:
        for (uint32_t i = 0; i < at->n_drop && rc == 0; i++) {
            const sl_cql_column *c = sl_cql_table_column(t, at->drop[i].name);
            if (!c) {
                rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                   "Column %s was not found in table %s", at->drop[i].name, name);
                break;
            }
            if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING) {
                rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Cannot drop PRIMARY KEY column %s",
                                   c->name);
                break;
            }
            rc = sl_catalog_alter_drop(x->e->cat, ks, name, at->drop[i].name, &err);
            if (rc < 0) catalog_error(x, rc, &err, ks, name);
            t = sl_catalog_table(x->e->cat, ks, name);
            if (!t) break;
        }
        break;
    case SL_CQL_ALTER_WITH: {
        sl_cql_option *opts;
        size_t nopts;
        rc = table_props(x, NULL, at->props, at->n_props, &opts, &nopts);
        if (rc == 0) {
            rc = sl_catalog_alter_options(x->e->cat, ks, name, opts, nopts, &err);
            if (rc < 0) catalog_error(x, rc, &err, ks, name);
        }
        break;
    }
    case SL_CQL_ALTER_RENAME:
        rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                           "ALTER TABLE ... RENAME is not supported by this server");
        break;
    }
    sl_buf_free(&err);
    if (rc < 0) return -1;
    *sync = true;
    schema_change(x, SL_CQL_CHANGE_UPDATED, SL_CQL_TARGET_TABLE, ks, name, notify);
    return 0;
}

static int drop_table(exec_ctx *x, const sl_cql_drop *d, bool *sync, bool *notify)
{
    const char *ks;
    sl_cql_table *t;
    if (ddl_table(x, &d->name, d->if_exists, &ks, &t) != 0) return -1;
    if (!t) return 0; /* IF EXISTS on an absent table: a no-op, answered with Void */
    if (is_reserved_keyspace(ks) || t->is_system)
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             ks);
    char *name = sl_arena_strndup(x->tmp, t->name, strlen(t->name));
    sl_buf err = SL_BUF_INIT;
    int rc = sl_catalog_drop_table(x->e->cat, ks, name, d->if_exists, &err);
    if (rc < 0) {
        catalog_error(x, rc, &err, ks, name);
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    if (rc == 0) schema_change(x, SL_CQL_CHANGE_DROPPED, SL_CQL_TARGET_TABLE, ks, name, notify);
    return 0;
}

static int truncate_table(exec_ctx *x, const sl_cql_drop *d, bool *sync)
{
    an_ctx a = {x->e, x->plan, x->res, x->plan->keyspace};
    const char *ks = sl__an_keyspace(&a, &d->name.ks);
    if (!ks) return -1;
    if (!sl_catalog_keyspace(x->e->cat, ks))
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Keyspace '%s' does not exist", ks);
    /* Valid until the next DDL: long enough for this call. */
    const sl_cql_table *t = sl_catalog_table(x->e->cat, ks, d->name.name.name);
    if (!t)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "unconfigured table %s",
                             d->name.name.name);
    if (t->is_system || is_reserved_keyspace(t->keyspace))
        return sl__exec_fail(x->res, SL_CQL_ERR_UNAUTHORIZED, "%s keyspace is not user-modifiable.",
                             t->keyspace);
    sl_buf err = SL_BUF_INIT;
    int rc = sl_store_truncate(x->e->store, t, &err);
    if (rc != 0) {
        sl__exec_fail(x->res, SL_CQL_ERR_TRUNCATE, "Error during truncate: %s",
                      err.len ? sl_buf_cstr(&err) : sl_strerror(rc));
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    *sync = true;
    x->res->kind = SL_CQL_RESULT_VOID;
    return 0;
}

int sl__exec_ddl(exec_ctx *x, const sl_cql_stmt *st, bool *sync, bool *notify)
{
    x->res->kind = SL_CQL_RESULT_VOID;
    switch (st->kind) {
    case SL_CQL_STMT_CREATE_KEYSPACE: return create_keyspace(x, &st->u.keyspace, sync, notify);
    case SL_CQL_STMT_ALTER_KEYSPACE: return alter_keyspace(x, &st->u.keyspace, sync, notify);
    case SL_CQL_STMT_DROP_KEYSPACE: return drop_keyspace(x, &st->u.drop, sync, notify);
    case SL_CQL_STMT_CREATE_TABLE: return create_table(x, &st->u.create_table, sync, notify);
    case SL_CQL_STMT_ALTER_TABLE: return alter_table(x, &st->u.alter_table, sync, notify);
    case SL_CQL_STMT_DROP_TABLE: return drop_table(x, &st->u.drop, sync, notify);
    case SL_CQL_STMT_TRUNCATE: return truncate_table(x, &st->u.drop, sync);
    case SL_CQL_STMT_CREATE_TYPE:
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "User defined types are not supported by this server");
    case SL_CQL_STMT_DROP_TYPE: {
        if (st->u.drop.if_exists) return 0;
        an_ctx a = {x->e, x->plan, x->res, x->plan->keyspace};
        const char *ks = sl__an_keyspace(&a, &st->u.drop.name.ks);
        if (!ks) return -1;
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Type '%s.%s' doesn't exist", ks,
                             st->u.drop.name.name.name);
    }
    case SL_CQL_STMT_CREATE_INDEX:
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Secondary indexes are not supported by this server");
    case SL_CQL_STMT_DROP_INDEX: {
        if (st->u.drop.if_exists) return 0;
        an_ctx a = {x->e, x->plan, x->res, x->plan->keyspace};
        const char *ks = sl__an_keyspace(&a, &st->u.drop.name.ks);
        if (!ks) return -1;
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Index '%s' could not be found in any of the tables of keyspace '%s'",
                             st->u.drop.name.name.name, ks);
    }
    default:
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported statement %s",
                             sl_cql_stmt_kind_name(st->kind));
    }
}
