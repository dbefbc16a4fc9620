/* exec_dml.c: INSERT (VALUES and JSON), UPDATE, DELETE and their conditional (LWT) forms:
 * analysis into mod_plans and execution into the engine's write batch. */
#include "cql/exec_int.h"

#include "core/codec.h"

#include <jansson.h>
#include <stdio.h>
#include <strings.h>

#define MAX_TTL      630720000 /* 20 years, as Cassandra */
#define MAX_KEY_SIZE 65535

bool sl__mod_has_conditions(const mod_plan *m)
{
    return m->if_exists || m->if_not_exists || m->nconds > 0;
}

static mod_plan *mod_new(an_ctx *a, mod_kind kind, sl_cql_table *t)
{
    mod_plan *m = sl__an_alloc(a, sizeof *m);
    m->kind = kind;
    m->table = t;
    m->pk = sl__an_alloc(a, (t->npk ? t->npk : 1) * sizeof *m->pk);
    m->ck = sl__an_alloc(a, (t->nck ? t->nck : 1) * sizeof *m->ck);
    a->plan->mod = m;
    return m;
}

static int an_using(an_ctx *a, mod_plan *m, const sl_cql_using *u)
{
    const sl_cql_table *t = m->table;
    if (u->ttl) {
        m->ttl =
            sl__an_term(a, u->ttl, sl_cql_dtype_prim(SL_CQL_INT), t->keyspace, t->name, "[ttl]");
        if (!m->ttl) return -1;
    }
    if (u->timestamp) {
        m->timestamp = sl__an_term(a, u->timestamp, sl_cql_dtype_prim(SL_CQL_BIGINT), t->keyspace,
                                   t->name, "[timestamp]");
        if (!m->timestamp) return -1;
    }
    return 0;
}

static void missing_list(const sl_cql_table *t, sl_cql_column *const *cols, size_t n,
                         const key_restr *r, sl_buf *b)
{
    (void)t;
    for (size_t i = 0; i < n; i++)
        if (!r[i].has) sl_buf_printf(b, "%s%s", b->len ? ", " : "", cols[i]->name);
}

/* Checks the WHERE clause of UPDATE/DELETE: the full partition key by EQ/IN, and the
 * clustering key by EQ/IN (or, for whole-row DELETEs, a prefix and a slice). */
static int an_mod_where(an_ctx *a, mod_plan *m, const sl_cql_relation *where, uint32_t n,
                        bool allow_range)
{
    const sl_cql_table *t = m->table;
    for (uint32_t i = 0; i < n; i++) {
        const sl_cql_relation *rel = &where[i];
        if (rel->kind == SL_CQL_REL_TOKEN)
            return sl__exec_fail(
                a->res, SL_CQL_ERR_INVALID,
                "The token function cannot be used in WHERE clauses for UPDATE and "
                "DELETE statements: token(%s) %s",
                rel->cols[0].name, "...");
        if (rel->kind == SL_CQL_REL_MULTI) {
            if (sl__an_multi_relation(a, t, rel, &m->multi) != 0) return -1;
            continue;
        }
        const sl_cql_column *c = sl__an_column(a, t, &rel->cols[0]);
        if (!c) return -1;
        if (c->kind != SL_CQL_COL_PARTITION_KEY && c->kind != SL_CQL_COL_CLUSTERING)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Non PRIMARY KEY columns found in where clause: %s", c->name);
        if (rel->key)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid element access on PRIMARY KEY column %s", c->name);
        bool pk = c->kind == SL_CQL_COL_PARTITION_KEY;
        key_restr *r = pk ? &m->pk[c->position] : &m->ck[c->position];
        int rc = sl__an_key_relation(a, t, c, rel, r, !pk && allow_range);
        if (rc < 0) return -1;
        if (rc == 1) {
            if (pk)
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "Only EQ and IN relation are supported on the partition key "
                                     "(unless you use the token() function)");
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operator for PRIMARY KEY part %s in %s statement",
                                 c->name, m->kind == MOD_UPDATE ? "UPDATE" : "DELETE");
        }
    }
    sl_buf b = SL_BUF_INIT;
    missing_list(t, t->pk, t->npk, m->pk, &b);
    if (b.len) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Some partition key parts are missing: %s",
                      sl_buf_cstr(&b));
        sl_buf_free(&b);
        return -1;
    }
    sl_buf_free(&b);
    bool single = false;
    for (size_t i = 0; i < t->nck; i++)
        single |= m->ck[i].has;
    if (single && m->multi.has)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Mixing single column relations and multi column relations on "
                             "clustering columns is not allowed");
    uint32_t n_eq = 0;
    while (n_eq < t->nck && m->ck[n_eq].has && !m->ck[n_eq].lo && !m->ck[n_eq].hi)
        n_eq++;
    size_t after = n_eq < t->nck && m->ck[n_eq].has ? n_eq + 1 : n_eq;
    for (size_t i = after; i < t->nck; i++) {
        if (!m->ck[i].has) continue;
        if (!m->ck[i - 1].has)
            return sl__exec_fail(
                a->res, SL_CQL_ERR_INVALID,
                "PRIMARY KEY column \"%s\" cannot be restricted as preceding column "
                "\"%s\" is not restricted",
                t->ck[i]->name, t->ck[i - 1]->name);
        return sl__exec_fail(
            a->res, SL_CQL_ERR_INVALID,
            "Clustering column \"%s\" cannot be restricted (preceding column \"%s\" "
            "is restricted by a non-EQ relation)",
            t->ck[i]->name, t->ck[i - 1]->name);
    }
    if (m->multi.has) {
        n_eq = (m->multi.eq || m->multi.in || m->multi.in_list) ? m->multi.ncols : 0;
        if (n_eq < t->nck && !allow_range)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Some clustering keys are missing: %s",
                                 t->ck[n_eq]->name);
        m->ck_range = n_eq < t->nck;
    } else {
        m->ck_range = n_eq < t->nck && (n_eq > 0 || m->ck[n_eq].has);
    }
    m->n_ck_eq = n_eq;
    return 0;
}

/* With no clustering key given, only static columns may be touched (or, for a DELETE, the
 * whole partition). */
static int check_clustering(an_ctx *a, mod_plan *m, bool whole_row_delete)
{
    const sl_cql_table *t = m->table;
    if (!t->nck || m->n_ck_eq == t->nck) return 0;
    if (whole_row_delete) return 0; /* partition or range deletion */
    bool any_ck = m->ck_range || m->n_ck_eq > 0;
    if (!any_ck && m->static_only) return 0;
    if (m->ck_range && m->kind == MOD_DELETE)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Range deletions are not supported for specific columns");
    sl_buf b = SL_BUF_INIT;
    missing_list(t, t->ck, t->nck, m->ck, &b);
    sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Some clustering keys are missing: %s",
                  b.len ? sl_buf_cstr(&b) : t->ck[0]->name);
    sl_buf_free(&b);
    return -1;
}

static void set_pk_index(an_ctx *a, const mod_plan *m)
{
    const sl_cql_table *t = m->table;
    for (size_t i = 0; i < t->npk; i++)
        if (!m->pk[i].eq || m->pk[i].eq->kind != PT_BIND) return;
    cql_plan *p = a->plan;
    p->n_pk_index = (uint32_t)t->npk;
    p->pk_index = sl__an_alloc(a, t->npk * sizeof *p->pk_index);
    for (size_t i = 0; i < t->npk; i++)
        p->pk_index[i] = (uint16_t)m->pk[i].eq->bind;
}

static int an_conditions(an_ctx *a, mod_plan *m, const sl_cql_relation *conds, uint32_t n)
{
    if (!n) return 0;
    if (m->table->is_counter)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Conditional updates are not supported on counter tables");
    m->conds = sl__an_alloc(a, n * sizeof *m->conds);
    m->nconds = n;
    for (uint32_t i = 0; i < n; i++) {
        const sl_cql_relation *rel = &conds[i];
        const sl_cql_column *c = sl__an_column(a, m->table, &rel->cols[0]);
        if (!c) return -1;
        if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "PRIMARY KEY column '%s' cannot have IF conditions", c->name);
        if (sl__an_filter(a, m->table, rel, &m->conds[i], true) != 0) return -1;
    }
    return 0;
}

int sl__an_insert(an_ctx *a, const sl_cql_insert *s)
{
    sl_cql_table *t = sl__an_table(a, &s->table);
    if (!t) return -1;
    if (t->is_counter)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "INSERT statements are not allowed on counter tables, use UPDATE "
                             "instead");
    mod_plan *m = mod_new(a, MOD_INSERT, t);
    m->if_not_exists = s->if_not_exists;
    if (an_using(a, m, &s->using) != 0) return -1;
    if (s->json) {
        m->json = sl__an_term(a, s->json_value, sl_cql_dtype_prim(SL_CQL_TEXT), t->keyspace,
                              t->name, "[json]");
        m->json_default_unset = s->default_unset;
        m->n_ck_eq = (uint32_t)t->nck;
        return m->json ? 0 : -1;
    }
    bool *seen = sl__an_alloc(a, t->ncolumns * sizeof *seen);
    m->assigns = sl__an_alloc(a, (s->n_cols ? s->n_cols : 1) * sizeof *m->assigns);
    bool regular = false;
    for (uint32_t i = 0; i < s->n_cols; i++) {
        const sl_cql_column *c = sl__an_column(a, t, &s->cols[i]);
        if (!c) return -1;
        if (seen[c->index])
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Multiple definitions found for column %s", c->name);
        seen[c->index] = true;
        pterm *v = sl__an_term(a, s->values[i], c->type, t->keyspace, t->name, c->name);
        if (!v) return -1;
        if (c->kind == SL_CQL_COL_PARTITION_KEY) {
            m->pk[c->position].eq = v;
            m->pk[c->position].has = true;
        } else if (c->kind == SL_CQL_COL_CLUSTERING) {
            m->ck[c->position].eq = v;
            m->ck[c->position].has = true;
        } else {
            regular |= c->kind == SL_CQL_COL_REGULAR;
            m->assigns[m->nassigns++] = (passign){SL_CQL_ASSIGN_SET, c, NULL, v};
        }
    }
    sl_buf b = SL_BUF_INIT;
    missing_list(t, t->pk, t->npk, m->pk, &b);
    if (b.len) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Some partition key parts are missing: %s",
                      sl_buf_cstr(&b));
        sl_buf_free(&b);
        return -1;
    }
    missing_list(t, t->ck, t->nck, m->ck, &b);
    uint32_t nck = 0;
    while (nck < t->nck && m->ck[nck].has)
        nck++;
    if (b.len && (regular || nck > 0 || m->nassigns == 0)) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Some clustering keys are missing: %s",
                      sl_buf_cstr(&b));
        sl_buf_free(&b);
        return -1;
    }
    sl_buf_free(&b);
    m->n_ck_eq = nck;
    m->static_only = t->nck && nck == 0;
    set_pk_index(a, m);
    return 0;
}

static const char *assign_form(sl_cql_assign_kind k)
{
    switch (k) {
    case SL_CQL_ASSIGN_ADD: return "%s = %s + ?";
    case SL_CQL_ASSIGN_SUB: return "%s = %s - ?";
    case SL_CQL_ASSIGN_PREPEND: return "%s = ? + %s";
    default: return "%s = %s";
    }
}

static int an_assign(an_ctx *a, mod_plan *m, const sl_cql_assign *as, passign *out)
{
    const sl_cql_table *t = m->table;
    const sl_cql_column *c = sl__an_column(a, t, &as->col);
    if (!c) return -1;
    if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "PRIMARY KEY part %s found in SET part",
                             c->name);
    out->kind = as->kind;
    out->col = c;
    const sl_cql_dtype *ct = c->type;
    const char *ks = t->keyspace, *tn = t->name;
    char form[256];
    snprintf(form, sizeof form, assign_form(as->kind), c->name, c->name);
    bool counter = ct->kind == SL_CQL_COUNTER;
    switch (as->kind) {
    case SL_CQL_ASSIGN_SET:
        if (counter)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Cannot set the value of counter column %s (counters can only be "
                                 "incremented/decremented, not set)",
                                 c->name);
        out->value = sl__an_term(a, as->value, ct, ks, tn, c->name);
        break;
    case SL_CQL_ASSIGN_ADD:
    case SL_CQL_ASSIGN_SUB:
        if (counter) {
            out->value =
                sl__an_term(a, as->value, sl_cql_dtype_prim(SL_CQL_BIGINT), ks, tn, c->name);
            break;
        }
        if (!sl_cql_dtype_is_collection(ct))
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operation (%s) for non counter column %s", form, c->name);
        if (ct->frozen)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operation (%s) for frozen collection column %s", form,
                                 c->name);
        if (as->kind == SL_CQL_ASSIGN_SUB && ct->kind == SL_CQL_MAP)
            out->value = sl__an_term(a, as->value, sl__an_list_of(a, ct->sub[0], SL_CQL_SET), ks,
                                     tn, c->name);
        else
            out->value = sl__an_term(a, as->value, ct, ks, tn, c->name);
        break;
    case SL_CQL_ASSIGN_PREPEND:
        if (ct->kind != SL_CQL_LIST || ct->frozen)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operation (%s) for non list column %s", form, c->name);
        out->value = sl__an_term(a, as->value, ct, ks, tn, c->name);
        break;
    case SL_CQL_ASSIGN_ELEMENT: {
        if (ct->kind != SL_CQL_LIST && ct->kind != SL_CQL_MAP)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operation (%s[?] = ?) for non list/map column %s",
                                 c->name, c->name);
        if (ct->frozen)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid operation (%s[?] = ?) for frozen collection column %s",
                                 c->name, c->name);
        char kn[300], vn[300];
        snprintf(kn, sizeof kn, ct->kind == SL_CQL_LIST ? "idx(%s)" : "key(%s)", c->name);
        snprintf(vn, sizeof vn, "value(%s)", c->name);
        out->key = sl__an_term(a, as->key,
                               ct->kind == SL_CQL_LIST ? sl_cql_dtype_prim(SL_CQL_INT) : ct->sub[0],
                               ks, tn, sl__an_strdup(a, kn));
        if (!out->key) return -1;
        out->value = sl__an_term(a, as->value, ct->kind == SL_CQL_LIST ? ct->sub[0] : ct->sub[1],
                                 ks, tn, sl__an_strdup(a, vn));
        break;
    }
    }
    if (counter && as->kind != SL_CQL_ASSIGN_ADD && as->kind != SL_CQL_ASSIGN_SUB)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Invalid operation (%s) for counter column %s", form, c->name);
    if (!counter && t->is_counter)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Cannot mix counter and non counter columns in the same table");
    return out->value ? 0 : -1;
}

int sl__an_update(an_ctx *a, const sl_cql_update *s)
{
    sl_cql_table *t = sl__an_table(a, &s->table);
    if (!t) return -1;
    mod_plan *m = mod_new(a, MOD_UPDATE, t);
    m->if_exists = s->if_exists;
    if (an_using(a, m, &s->using) != 0) return -1;
    if (t->is_counter && m->ttl)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Cannot provide custom TTL for counter updates");
    m->assigns = sl__an_alloc(a, (s->n_assigns ? s->n_assigns : 1) * sizeof *m->assigns);
    m->static_only = s->n_assigns > 0;
    for (uint32_t i = 0; i < s->n_assigns; i++) {
        passign *pa = &m->assigns[m->nassigns];
        if (an_assign(a, m, &s->assigns[i], pa) != 0) return -1;
        for (uint32_t k = 0; k < m->nassigns; k++)
            if (m->assigns[k].col == pa->col &&
                (pa->kind == SL_CQL_ASSIGN_SET || m->assigns[k].kind == SL_CQL_ASSIGN_SET))
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "Multiple incompatible setting of column %s", pa->col->name);
        m->static_only &= pa->col->kind == SL_CQL_COL_STATIC;
        m->nassigns++;
    }
    if (an_mod_where(a, m, s->where, s->n_where, false) != 0) return -1;
    if (an_conditions(a, m, s->conds, s->n_conds) != 0) return -1;
    if (s->if_exists && t->is_counter)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Conditional updates are not supported on counter tables");
    if (check_clustering(a, m, false) != 0) return -1;
    set_pk_index(a, m);
    return 0;
}

int sl__an_delete(an_ctx *a, const sl_cql_delete *s)
{
    sl_cql_table *t = sl__an_table(a, &s->table);
    if (!t) return -1;
    mod_plan *m = mod_new(a, MOD_DELETE, t);
    m->if_exists = s->if_exists;
    if (an_using(a, m, &s->using) != 0) return -1;
    m->dels = sl__an_alloc(a, (s->n_targets ? s->n_targets : 1) * sizeof *m->dels);
    m->static_only = s->n_targets > 0;
    for (uint32_t i = 0; i < s->n_targets; i++) {
        const sl_cql_column *c = sl__an_column(a, t, &s->targets[i].col);
        if (!c) return -1;
        if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Invalid identifier %s for deletion (should not be a PRIMARY KEY "
                                 "part)",
                                 c->name);
        pdelete *d = &m->dels[m->ndels++];
        d->col = c;
        if (s->targets[i].key) {
            if (c->type->frozen || (c->type->kind != SL_CQL_LIST && c->type->kind != SL_CQL_MAP))
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "Invalid element access syntax for non-%scollection column %s",
                                     c->type->frozen ? "frozen " : "", c->name);
            char kn[300];
            snprintf(kn, sizeof kn, c->type->kind == SL_CQL_LIST ? "idx(%s)" : "key(%s)", c->name);
            d->key = sl__an_term(a, s->targets[i].key,
                                 c->type->kind == SL_CQL_LIST ? sl_cql_dtype_prim(SL_CQL_INT)
                                                              : c->type->sub[0],
                                 t->keyspace, t->name, sl__an_strdup(a, kn));
            if (!d->key) return -1;
        }
        m->static_only &= c->kind == SL_CQL_COL_STATIC;
    }
    if (an_mod_where(a, m, s->where, s->n_where, s->n_targets == 0) != 0) return -1;
    if (an_conditions(a, m, s->conds, s->n_conds) != 0) return -1;
    if (check_clustering(a, m, s->n_targets == 0) != 0) return -1;
    if (sl__mod_has_conditions(m) && m->ck_range)
        return sl__exec_fail(
            a->res, SL_CQL_ERR_INVALID,
            "DELETE statements must restrict all PRIMARY KEY columns with equality "
            "relations in order to use IF conditions");
    set_pk_index(a, m);
    return 0;
}

/* ---- execution ---- */

static int mod_ttl_ts(exec_ctx *x, const mod_plan *m, int64_t *ts, int32_t *ttl)
{
    *ts = x->ts;
    *ttl = m->table->default_ttl;
    sl_slice v;
    if (m->timestamp) {
        int rc = sl__ev_term_required(x, m->timestamp, "timestamp", &v);
        if (rc < 0) return -1;
        if (rc == 0 && v.len != 8)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid empty value for timestamp");
        if (rc == 0) *ts = (int64_t)sl_get_be64(v.ptr);
        if (rc == 0 && *ts == INT64_MIN)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Out of bound timestamp, must be in [%lld, %lld]",
                                 (long long)(INT64_MIN + 1), (long long)INT64_MAX);
    }
    if (m->ttl) {
        int rc = sl__ev_term_required(x, m->ttl, "TTL", &v);
        if (rc < 0) return -1;
        if (rc == 0 && v.len != 4)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid empty value for TTL");
        if (rc == 0) {
            int32_t n = (int32_t)sl_get_be32(v.ptr);
            if (n < 0)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "A TTL must be greater or equal to 0, but was %d", n);
            if (n > MAX_TTL)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "ttl is too large. requested (%d) maximum (%d)", n, MAX_TTL);
            *ttl = n;
        }
    }
    /* An expiry is a 32-bit second count, as in Cassandra: one past 2038-01-19 is refused
     * (Cassandra 4's default REJECT policy, CASSANDRA-14092) rather than wrapped. */
    if (*ttl > 0 && (int64_t)x->now_s + *ttl > INT32_MAX)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Request on table %s.%s with ttl of %d seconds exceeds maximum "
                             "supported expiration date of 2038-01-19T03:14:07+00:00",
                             m->table->keyspace, m->table->name, *ttl);
    return 0;
}

static int check_keys(exec_ctx *x, const sl_cql_table *t, const pk_set *ps)
{
    sl_buf kb = SL_BUF_INIT;
    int rc = 0;
    for (uint32_t k = 0; k < ps->n && rc == 0; k++) {
        const sl_slice *comps = &ps->keys[(size_t)k * t->npk];
        sl_buf_reset(&kb);
        sl_cql_partition_key(comps, t->npk, &kb);
        if (kb.len == 0)
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Key may not be empty");
        else if (kb.len > MAX_KEY_SIZE)
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                               "Key length of %zu is longer than maximum of %d", kb.len,
                               MAX_KEY_SIZE);
    }
    sl_buf_free(&kb);
    return rc;
}

/* A one-element collection of key k (the bytes of set<K> / list<K>). */
static sl_slice single_elem(exec_ctx *x, sl_slice k)
{
    uint8_t *p = sl_arena_alloc(x->tmp, 8 + k.len);
    sl_put_be32(p, 1);
    sl_put_be32(p + 4, (uint32_t)k.len);
    if (k.len) memcpy(p + 8, k.ptr, k.len);
    return (sl_slice){p, 8 + k.len};
}

static int apply_assign(exec_ctx *x, sl_store_batch *b, const passign *as)
{
    const sl_cql_column *c = as->col;
    evalue v;
    if (sl__ev_term(x, as->value, &v) != 0) return -1;
    if (v.unset) return 0;
    const sl_cql_dtype *ct = c->type;
    sl_buf err = SL_BUF_INIT;
    int rc = 0;
    switch (as->kind) {
    case SL_CQL_ASSIGN_SET: sl_store_batch_cell(b, c, v.v); break;
    case SL_CQL_ASSIGN_ADD:
    case SL_CQL_ASSIGN_SUB:
        if (ct->kind == SL_CQL_COUNTER) {
            if (!v.v.ptr)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Invalid null value for counter "
                                     "increment");
            if (v.v.len != 8)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid counter increment");
            int64_t d = (int64_t)sl_get_be64(v.v.ptr);
            sl_store_batch_counter_add(
                b, c, as->kind == SL_CQL_ASSIGN_SUB ? (int64_t)(0 - (uint64_t)d) : d);
            break;
        }
        if (!v.v.ptr) break; /* adding or removing null changes nothing */
        if (as->kind == SL_CQL_ASSIGN_ADD)
            sl_store_batch_elems_add(b, c, v.v, false);
        else if (ct->kind == SL_CQL_LIST)
            rc = sl_store_batch_list_remove(b, c, v.v, &err);
        else
            sl_store_batch_elems_remove(b, c, v.v);
        break;
    case SL_CQL_ASSIGN_PREPEND:
        if (v.v.ptr) sl_store_batch_elems_add(b, c, v.v, true);
        break;
    case SL_CQL_ASSIGN_ELEMENT: {
        evalue k;
        if (sl__ev_term(x, as->key, &k) != 0) return -1;
        if (k.unset || !k.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid %s value for %s of %s",
                                 k.unset ? "unset" : "null",
                                 ct->kind == SL_CQL_LIST ? "list index" : "map key", c->name);
        if (ct->kind == SL_CQL_MAP) {
            sl_store_batch_map_put(b, c, k.v, v.v);
        } else {
            if (k.v.len != 4)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid list index for %s",
                                     c->name);
            rc = sl_store_batch_list_set(b, c, (int32_t)sl_get_be32(k.v.ptr), v.v, &err);
        }
        break;
    }
    }
    if (rc != 0) {
        sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s",
                      err.len ? sl_buf_cstr(&err) : "Invalid list operation");
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    return 0;
}

static int apply_delete(exec_ctx *x, sl_store_batch *b, const pdelete *d)
{
    if (!d->key) {
        sl_store_batch_cell(b, d->col, SL_SLICE_NULL);
        return 0;
    }
    evalue k;
    if (sl__ev_term(x, d->key, &k) != 0) return -1;
    if (k.unset) return 0;
    if (!k.v.ptr)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid null value for %s element",
                             d->col->name);
    if (d->col->type->kind == SL_CQL_MAP) {
        sl_store_batch_elems_remove(b, d->col, single_elem(x, k.v));
        return 0;
    }
    sl_buf err = SL_BUF_INIT;
    if (k.v.len != 4 || sl_store_batch_list_set(b, d->col, (int32_t)sl_get_be32(k.v.ptr),
                                                SL_SLICE_NULL, &err) != 0) {
        sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s",
                      err.len ? sl_buf_cstr(&err) : "Invalid list index");
        sl_buf_free(&err);
        return -1;
    }
    sl_buf_free(&err);
    return 0;
}

/* INSERT JSON: the object's members as column values, and the key they give. */
typedef struct json_row {
    sl_slice *vals;
    bool *given;
    sl_slice *pk;
    sl_slice *ck;
} json_row;

static int json_parse_row(exec_ctx *x, const mod_plan *m, json_row *jr)
{
    const sl_cql_table *t = m->table;
    sl_slice js;
    int rc = sl__ev_term_required(x, m->json, "JSON", &js);
    if (rc != 0) {
        if (rc == 1)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid unset value for JSON");
        return -1;
    }
    json_error_t jerr;
    json_t *root =
        json_loadb((const char *)js.ptr, js.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root || !json_is_object(root)) {
        if (root) json_decref(root);
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Could not decode JSON string as a map: %s",
                             root ? "not an object" : jerr.text);
    }
    sl_slice *vals = sl_arena_alloc(x->tmp, t->ncolumns * sizeof *vals);
    bool *given = sl_arena_alloc(x->tmp, t->ncolumns * sizeof *given);
    memset(given, 0, t->ncolumns * sizeof *given);
    const char *key;
    json_t *jv;
    rc = 0;
    json_object_foreach(root, key, jv)
    {
        /* "\"Name\"" names a case-sensitive column; other keys are case-insensitive. */
        char name[512];
        size_t kl = strlen(key);
        const sl_cql_column *c = NULL;
        if (kl >= 2 && key[0] == '"' && key[kl - 1] == '"' && kl - 2 < sizeof name) {
            memcpy(name, key + 1, kl - 2);
            name[kl - 2] = 0;
            c = sl_cql_table_column(t, name);
        } else if (kl < sizeof name) {
            for (size_t i = 0; i <= kl; i++)
                name[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
            c = sl_cql_table_column(t, name);
        }
        if (!c) {
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                               "JSON values map contains unrecognized column: %s", key);
            break;
        }
        sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
        bool is_null = false;
        if (sl_cql_value_from_json(c->type, jv, c->name, &out, &is_null, &err) != 0) {
            rc = sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s", sl_buf_cstr(&err));
        } else {
            given[c->index] = true;
            if (is_null) {
                vals[c->index] = SL_SLICE_NULL;
            } else {
                uint8_t *p = sl_arena_alloc(x->tmp, out.len ? out.len : 1);
                if (out.len) memcpy(p, out.ptr, out.len);
                vals[c->index] = (sl_slice){p, out.len};
            }
        }
        sl_buf_free(&out);
        sl_buf_free(&err);
        if (rc) break;
    }
    json_decref(root);
    if (rc) return -1;
    sl_slice *pk = sl_arena_alloc(x->tmp, (t->npk ? t->npk : 1) * sizeof *pk);
    sl_slice *ck = sl_arena_alloc(x->tmp, (t->nck ? t->nck : 1) * sizeof *ck);
    for (size_t i = 0; i < t->npk; i++) {
        sl_slice v = given[t->pk[i]->index] ? vals[t->pk[i]->index] : SL_SLICE_NULL;
        if (!v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null value in condition for column %s", t->pk[i]->name);
        pk[i] = v;
    }
    for (size_t i = 0; i < t->nck; i++) {
        sl_slice v = given[t->ck[i]->index] ? vals[t->ck[i]->index] : SL_SLICE_NULL;
        if (!v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null value in condition for column %s", t->ck[i]->name);
        ck[i] = v;
    }
    pk_set ps = {pk, 1};
    if (check_keys(x, t, &ps) != 0) return -1;
    *jr = (json_row){vals, given, pk, ck};
    return 0;
}

static int exec_insert_json(exec_ctx *x, const mod_plan *m, int64_t ts, int32_t ttl)
{
    const sl_cql_table *t = m->table;
    json_row jr;
    if (json_parse_row(x, m, &jr) != 0) return -1;
    sl_store_batch *b = x->e->wb;
    sl_store_batch_row(b, t, jr.pk, jr.ck, t->nck, ts, ttl);
    sl_store_batch_marker(b);
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *c = &t->columns[i];
        if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING) continue;
        if (!jr.given[i] && m->json_default_unset) continue;
        sl_store_batch_cell(b, c, jr.given[i] ? jr.vals[i] : SL_SLICE_NULL);
    }
    return 0;
}

int sl__exec_mod(exec_ctx *x, const mod_plan *m)
{
    const sl_cql_table *t = m->table;
    int64_t ts;
    int32_t ttl;
    if (mod_ttl_ts(x, m, &ts, &ttl) != 0) return -1;
    if (m->json) return exec_insert_json(x, m, ts, ttl);
    pk_set ps;
    if (sl__ev_pk_set(x, t, m->pk, &ps) != 0) return -1;
    if (m->kind != MOD_DELETE && check_keys(x, t, &ps) != 0) return -1;
    ck_range *rs;
    uint32_t nr;
    if (sl__ev_ck_ranges(x, t, m->ck, &m->multi, m->n_ck_eq, &rs, &nr) != 0) return -1;
    sl_store_batch *b = x->e->wb;
    for (uint32_t p = 0; p < ps.n; p++) {
        const sl_slice *pk = &ps.keys[(size_t)p * t->npk];
        for (uint32_t r = 0; r < nr; r++) {
            const ck_range *cr = &rs[r];
            bool full = cr->nstart == t->nck && cr->nend == t->nck && cr->start_incl &&
                        cr->end_incl &&
                        sl__ck_compare_prefix(t, cr->start, cr->nstart, cr->end, cr->nend) == 0;
            if (m->kind == MOD_DELETE && m->ndels == 0) {
                sl_store_batch_row(b, t, pk, cr->start, full ? t->nck : 0, ts, 0);
                if (full && t->nck)
                    sl_store_batch_row_delete(b);
                else if (!t->nck || (cr->nstart == 0 && cr->nend == 0))
                    sl_store_batch_partition_delete(b);
                else {
                    sl_store_bound s = {cr->start, cr->nstart, cr->start_incl};
                    sl_store_bound e = {cr->end, cr->nend, cr->end_incl};
                    sl_store_batch_range_delete(b, &s, &e);
                }
                continue;
            }
            size_t nck = m->static_only && m->n_ck_eq == 0 ? 0 : cr->nstart;
            sl_store_batch_row(b, t, pk, cr->start, nck, ts, m->kind == MOD_DELETE ? 0 : ttl);
            if (m->kind == MOD_INSERT && !m->static_only) sl_store_batch_marker(b);
            for (uint32_t i = 0; i < m->nassigns; i++)
                if (apply_assign(x, b, &m->assigns[i]) != 0) return -1;
            for (uint32_t i = 0; i < m->ndels; i++)
                if (apply_delete(x, b, &m->dels[i]) != 0) return -1;
        }
    }
    return 0;
}

/* ---- conditional statements ---- */

/* Reads the row a conditional statement addresses: 1 with *row (copied to x->tmp), 0 when
 * absent, -1 on error. */
static int read_current(exec_ctx *x, const sl_cql_table *t, const sl_slice *pk, const ck_range *cr,
                        bool static_only, sl_store_row **out)
{
    sl_store_read rd;
    memset(&rd, 0, sizeof rd);
    rd.pk = pk;
    rd.now_s = x->now_s;
    if (!static_only) {
        rd.start = (sl_store_bound){cr->start, cr->nstart, true};
        rd.end = (sl_store_bound){cr->end, cr->nend, true};
    }
    sl_store_cursor *c;
    int rc = sl_store_cursor_open(x->e->store, t, &rd, &c);
    if (rc != 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_READ_FAILURE,
                             "Operation failed - reading %s.%s: %s", t->keyspace, t->name,
                             sl_strerror(rc));
    const sl_store_row *row;
    rc = sl_store_cursor_next(c, &row);
    if (rc == 1) {
        sl_store_row *cp = sl_arena_alloc(x->tmp, sizeof *cp);
        *cp = *row;
        cp->cells = sl_arena_alloc(x->tmp, (t->ncolumns ? t->ncolumns : 1) * sizeof *cp->cells);
        for (size_t i = 0; i < t->ncolumns; i++) {
            cp->cells[i] = row->cells[i];
            sl_slice v = row->cells[i].value;
            if (v.ptr) {
                uint8_t *p = sl_arena_alloc(x->tmp, v.len ? v.len : 1);
                if (v.len) memcpy(p, v.ptr, v.len);
                cp->cells[i].value = (sl_slice){p, v.len};
            }
        }
        cp->pos = SL_SLICE_NULL;
        *out = cp;
    }
    sl_store_cursor_close(c);
    if (rc < 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_READ_FAILURE,
                             "Operation failed - reading %s.%s: %s", t->keyspace, t->name,
                             sl_strerror(rc));
    /* A row of a static-only read exists when its partition has live static cells. */
    if (rc == 1 && static_only) {
        bool live = false;
        for (size_t i = 0; i < t->ncolumns; i++)
            live |= t->columns[i].kind == SL_CQL_COL_STATIC && (*out)->cells[i].value.ptr;
        if (!live) rc = 0;
    }
    return rc;
}

typedef struct cas_row {
    const mod_plan *m;
    exec_ctx *x;
    sl_store_row *row; /* NULL when absent */
} cas_row;

static void applied_col(sl_cql_result *res, size_t i, const sl_cql_table *t)
{
    sl__exec_colspec(res, &res->columns[i], t->keyspace, t->name, "[applied]",
                     sl_cql_dtype_prim(SL_CQL_BOOLEAN));
}

static void cell_bool(sl_cql_result *res, bool v)
{
    uint8_t b = v;
    sl__exec_cell(res, (sl_slice){&b, 1});
}

int sl__exec_conditional(exec_ctx *x, exec_ctx **xs, const mod_plan **ms, size_t n)
{
    sl_cql_result *res = x->res;
    const sl_cql_table *t = ms[0]->table;
    pk_set first = {NULL, 0};
    cas_row *rows = sl_arena_alloc(x->tmp, (n ? n : 1) * sizeof *rows);
    size_t nrows = 0;
    bool applied = true;
    for (size_t i = 0; i < n; i++) {
        const mod_plan *m = ms[i];
        if (strcmp(m->table->keyspace, t->keyspace) != 0 || strcmp(m->table->name, t->name) != 0)
            return sl__exec_fail(res, SL_CQL_ERR_INVALID,
                                 "Batch with conditions cannot span multiple tables");
        pk_set ps;
        json_row jr;
        if (m->json) {
            if (json_parse_row(xs[i], m, &jr) != 0) return -1;
            ps = (pk_set){jr.pk, 1};
        } else if (sl__ev_pk_set(xs[i], m->table, m->pk, &ps) != 0) {
            return -1;
        }
        if (ps.n != 1)
            return sl__exec_fail(res, SL_CQL_ERR_INVALID,
                                 "IN on the partition key is not supported with conditional %s",
                                 n > 1                   ? "updates"
                                 : m->kind == MOD_DELETE ? "deletions"
                                                         : "updates");
        if (!first.n) {
            first = ps;
        } else {
            for (size_t k = 0; k < t->npk; k++)
                if (!sl_slice_eq(first.keys[k], ps.keys[k]))
                    return sl__exec_fail(res, SL_CQL_ERR_INVALID,
                                         "Batch with conditions cannot span multiple partitions");
        }
        if (!sl__mod_has_conditions(m)) continue;
        ck_range *rs;
        uint32_t nr;
        if (m->json) {
            rs = sl_arena_alloc(x->tmp, sizeof *rs);
            *rs = (ck_range){jr.ck, (uint32_t)t->nck, true, jr.ck, (uint32_t)t->nck, true};
            nr = 1;
        } else if (sl__ev_ck_ranges(xs[i], t, m->ck, &m->multi, m->n_ck_eq, &rs, &nr) != 0) {
            return -1;
        }
        if (nr != 1)
            return sl__exec_fail(
                res, SL_CQL_ERR_INVALID,
                "IN on the clustering key columns is not supported with conditional "
                "%s",
                m->kind == MOD_DELETE ? "deletions" : "updates");
        bool static_only = t->nck && rs[0].nstart < t->nck;
        sl_store_row *cur = NULL;
        int rc = read_current(xs[i], t, ps.keys, &rs[0], static_only, &cur);
        if (rc < 0) return -1;
        bool ok;
        if (m->if_not_exists) {
            ok = rc == 0;
        } else if (m->if_exists) {
            ok = rc == 1;
        } else {
            ok = true;
            for (uint32_t k = 0; k < m->nconds && ok; k++) {
                if (rc == 1) {
                    int mr = sl__ev_filter(xs[i], t, &m->conds[k], cur);
                    if (mr < 0) return -1;
                    ok = mr == 1;
                } else {
                    /* No row: every column is null. */
                    sl_store_row empty;
                    memset(&empty, 0, sizeof empty);
                    empty.table = t;
                    empty.cells = sl_arena_alloc(x->tmp, t->ncolumns * sizeof *empty.cells);
                    memset(empty.cells, 0, t->ncolumns * sizeof *empty.cells);
                    int mr = sl__ev_filter(xs[i], t, &m->conds[k], &empty);
                    if (mr < 0) return -1;
                    ok = mr == 1;
                }
            }
        }
        applied &= ok;
        rows[nrows++] = (cas_row){m, xs[i], rc == 1 ? cur : NULL};
    }
    res->kind = SL_CQL_RESULT_ROWS;
    if (applied) {
        for (size_t i = 0; i < n; i++)
            if (sl__exec_mod(xs[i], ms[i]) != 0) return -1;
        res->n_columns = 1;
        res->columns = sl__exec_columns(res, 1);
        applied_col(res, 0, t);
        cell_bool(res, true);
        res->row_count = 1;
        return 1;
    }
    /* Not applied: [applied] plus what was read, as Cassandra's buildCasFailureResultSet
     * returns it: every column when an IF [NOT] EXISTS took part, else the condition columns in
     * IF order (after the primary key columns in a batch); nothing more for an absent row. */
    bool wildcard = false, any_row = false;
    for (size_t i = 0; i < nrows; i++) {
        wildcard |= rows[i].m->if_exists || rows[i].m->if_not_exists;
        any_row |= rows[i].row != NULL;
    }
    int *order = sl_arena_alloc(x->tmp, (t->ncolumns ? t->ncolumns : 1) * sizeof *order);
    bool *seen = sl_arena_alloc(x->tmp, (t->ncolumns ? t->ncolumns : 1) * sizeof *seen);
    memset(seen, 0, t->ncolumns * sizeof *seen);
    size_t ncols = 0;
    for (size_t c = 0; any_row && c < t->ncolumns; c++) {
        sl_cql_col_kind kind = t->columns[c].kind;
        if (wildcard ||
            (n > 1 && (kind == SL_CQL_COL_PARTITION_KEY || kind == SL_CQL_COL_CLUSTERING))) {
            order[ncols++] = (int)c;
            seen[c] = true;
        }
    }
    for (size_t i = 0; any_row && !wildcard && i < nrows; i++)
        for (uint32_t k = 0; k < rows[i].m->nconds; k++) {
            int c = rows[i].m->conds[k].col;
            if (!seen[c]) {
                order[ncols++] = c;
                seen[c] = true;
            }
        }
    res->n_columns = 1 + ncols;
    res->columns = sl__exec_columns(res, 1 + ncols);
    applied_col(res, 0, t);
    for (size_t k = 0; k < ncols; k++)
        sl__exec_colspec(res, &res->columns[1 + k], t->keyspace, t->name, t->columns[order[k]].name,
                         t->columns[order[k]].type);
    if (!any_row) {
        cell_bool(res, false);
        res->row_count = 1;
        return 0;
    }
    for (size_t i = 0; i < nrows; i++) {
        if (!rows[i].row) continue;
        cell_bool(res, false);
        for (size_t k = 0; k < ncols; k++)
            sl__exec_cell(res, rows[i].row->cells[order[k]].value);
        res->row_count++;
    }
    return 0;
}
