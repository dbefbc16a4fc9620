/* exec_select.c: SELECT: analysis (selection, WHERE classification, ORDER BY, limits) and
 * execution over partitions, token range scans or virtual system tables, with filtering,
 * aggregation, JSON output and paging. */
#include "cql/exec_int.h"

#include "core/codec.h"

#include <stdio.h>
#include <stdlib.h>

#define FILTERING_MSG                                                                              \
    "Cannot execute this query as it might involve data filtering and thus may have "              \
    "unpredictable performance. If you want to execute this query despite the performance "        \
    "unpredictability, use ALLOW FILTERING"

#define PAGING_MAGIC   0x53 /* 'S' */
#define PAGING_VERSION 1

/* ---- analysis ---- */

static void name_append_sel(sl_buf *b, const psel *p);

static void name_append_sel(sl_buf *b, const psel *p)
{
    if (p->kind == PS_FUNC) {
        sl_buf_printf(b, "system.%s(", sl__exec_fn_name(p->fn));
        for (uint32_t i = 0; i < p->nargs; i++) {
            if (i) sl_buf_append_str(b, ", ");
            name_append_sel(b, p->args[i]);
        }
        sl_buf_append_str(b, ")");
    } else {
        sl_buf_append_str(b, p->name);
    }
}

static const sl_cql_dtype *literal_type(const sl_cql_term *t)
{
    switch (t->kind) {
    case SL_CQL_TERM_STRING: return sl_cql_dtype_prim(SL_CQL_TEXT);
    case SL_CQL_TERM_INTEGER: return sl_cql_dtype_prim(SL_CQL_INT);
    case SL_CQL_TERM_FLOAT: return sl_cql_dtype_prim(SL_CQL_DOUBLE);
    case SL_CQL_TERM_BOOLEAN: return sl_cql_dtype_prim(SL_CQL_BOOLEAN);
    case SL_CQL_TERM_UUID: return sl_cql_dtype_prim(SL_CQL_UUID);
    case SL_CQL_TERM_BLOB: return sl_cql_dtype_prim(SL_CQL_BLOB);
    default: return NULL;
    }
}

static bool is_numeric(const sl_cql_dtype *t)
{
    switch (t->kind) {
    case SL_CQL_TINYINT:
    case SL_CQL_SMALLINT:
    case SL_CQL_INT:
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
    case SL_CQL_FLOAT:
    case SL_CQL_DOUBLE: return true;
    default: return false;
    }
}

static psel *an_selector(an_ctx *a, const sl_cql_table *t, const sl_cql_selector *s)
{
    psel *p = sl__an_alloc(a, sizeof *p);
    p->col = -1;
    switch (s->kind) {
    case SL_CQL_SEL_COLUMN: {
        const sl_cql_column *c = sl__an_column(a, t, &s->col);
        if (!c) return NULL;
        p->kind = PS_COL;
        p->col = c->index;
        p->type = c->type;
        p->name = c->name;
        break;
    }
    case SL_CQL_SEL_COUNT:
        p->kind = PS_COUNT_ROWS;
        p->fn = FN_COUNT;
        p->type = sl_cql_dtype_prim(SL_CQL_BIGINT);
        p->name = "count";
        p->aggregate = true;
        break;
    case SL_CQL_SEL_WRITETIME:
    case SL_CQL_SEL_TTL: {
        const sl_cql_column *c = sl__an_column(a, t, &s->col);
        if (!c) return NULL;
        bool wt = s->kind == SL_CQL_SEL_WRITETIME;
        if (c->kind == SL_CQL_COL_PARTITION_KEY || c->kind == SL_CQL_COL_CLUSTERING) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Cannot use selection function %s on PRIMARY KEY part %s",
                          wt ? "writeTime" : "ttl", c->name);
            return NULL;
        }
        if (sl_cql_dtype_is_multicell(c->type)) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Cannot use selection function %s on non-frozen %s %s",
                          wt ? "writeTime" : "ttl", "collection", c->name);
            return NULL;
        }
        if (c->type->kind == SL_CQL_COUNTER) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Cannot use selection function %s on counter column %s",
                          wt ? "writeTime" : "ttl", c->name);
            return NULL;
        }
        p->kind = wt ? PS_WRITETIME : PS_TTL;
        p->col = c->index;
        p->type = sl_cql_dtype_prim(wt ? SL_CQL_BIGINT : SL_CQL_INT);
        sl_buf nb = SL_BUF_INIT;
        sl_buf_printf(&nb, "%s(%s)", wt ? "writetime" : "ttl", c->name);
        p->name = sl__an_strdup(a, sl_buf_cstr(&nb));
        sl_buf_free(&nb);
        break;
    }
    case SL_CQL_SEL_FUNC: {
        const fn_def *fd = sl__exec_fn_lookup(&s->func);
        if (!fd) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Unknown function '%s'", s->func.name.name);
            return NULL;
        }
        p->kind = PS_FUNC;
        p->fn = fd->fn;
        p->nargs = s->n_args;
        p->args = sl__an_alloc(a, (s->n_args ? s->n_args : 1) * sizeof *p->args);
        for (uint32_t i = 0; i < s->n_args; i++) {
            p->args[i] = an_selector(a, t, s->args[i]);
            if (!p->args[i]) return NULL;
            if (p->args[i]->aggregate) {
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "aggregate functions cannot be used as arguments of aggregate "
                              "functions");
                return NULL;
            }
        }
        if (fd->fn == FN_TOKEN) {
            bool ok = s->n_args == t->npk;
            for (uint32_t i = 0; ok && i < s->n_args; i++)
                ok = p->args[i]->kind == PS_COL && p->args[i]->col == t->pk[i]->index;
            if (!ok) {
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "Invalid call to function token, none of its type signatures match "
                              "(the arguments must be the partition key columns in order)");
                return NULL;
            }
            p->type = sl_cql_dtype_prim(SL_CQL_BIGINT);
        } else if (fd->nargs >= 0 && (int)s->n_args != fd->nargs) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Invalid number of arguments in call to function system.%s: %d required "
                          "but %u provided",
                          fd->name, fd->nargs, s->n_args);
            return NULL;
        } else if (FN_IS_AGGREGATE(fd->fn)) {
            const sl_cql_dtype *at = p->args[0]->type;
            if ((fd->fn == FN_SUM || fd->fn == FN_AVG) && !is_numeric(at)) {
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "Invalid call to function %s, none of its type signatures match",
                              fd->name);
                return NULL;
            }
            p->aggregate = true;
            p->type = sl__exec_fn_return(fd->fn, at);
        } else if (fd->nargs == 1 && fd->fn != FN_TO_JSON) {
            size_t nk;
            const sl_cql_kind *kinds = sl__exec_fn_arg_kinds(fd->fn, &nk);
            const sl_cql_dtype *at = p->args[0]->type;
            bool ok = false;
            for (size_t i = 0; i < nk && !ok; i++)
                ok = at->kind == kinds[i];
            if (!ok) {
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "Invalid call to function %s, none of its type signatures match",
                              fd->name);
                return NULL;
            }
            p->type = sl__exec_fn_return(fd->fn, at);
        } else {
            p->type = sl__exec_fn_return(fd->fn, NULL);
        }
        sl_buf nb = SL_BUF_INIT;
        name_append_sel(&nb, p);
        p->name = sl__an_strdup(a, sl_buf_cstr(&nb));
        sl_buf_free(&nb);
        break;
    }
    case SL_CQL_SEL_TERM: {
        const sl_cql_dtype *lt = literal_type(s->term);
        if (!lt && s->term->kind != SL_CQL_TERM_HINT && s->term->kind != SL_CQL_TERM_FUNC) {
            sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                          "Cannot infer type for term %.*s in selection clause (try using a cast "
                          "to force a type)",
                          (int)s->text_len, s->text);
            return NULL;
        }
        p->kind = PS_TERM;
        p->term = sl__an_term(a, s->term, lt, t->keyspace, t->name, "selection");
        if (!p->term) return NULL;
        p->type = p->term->type;
        p->name = sl__an_strdup(a, s->text ? s->text : "");
        if (s->text) ((char *)p->name)[s->text_len] = 0;
        break;
    }
    case SL_CQL_SEL_CAST:
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "CAST is not supported by this server");
        return NULL;
    }
    for (uint32_t i = 0; i < p->nargs; i++)
        p->aggregate |= p->args[i]->aggregate;
    if (s->alias.name) p->name = s->alias.name;
    return p;
}

/* Moves a key restriction into filters (partial partition keys, clustering restrictions that
 * need ALLOW FILTERING). */
static void restr_to_filters(an_ctx *a, select_plan *sp, const sl_cql_column *c, key_restr *r)
{
    pfilter f[2];
    uint32_t n = 0;
    memset(f, 0, sizeof f);
    if (r->eq) {
        f[n] = (pfilter){.col = c->index, .op = SL_CQL_OP_EQ, .value = r->eq};
        n++;
    } else if (r->in || r->in_list) {
        f[n] = (pfilter){.col = c->index,
                         .op = SL_CQL_OP_IN,
                         .in = r->in,
                         .n_in = r->n_in,
                         .in_list = r->in_list};
        n++;
    } else {
        if (r->lo) {
            f[n] = (pfilter){
                .col = c->index, .op = r->lo_incl ? SL_CQL_OP_GTE : SL_CQL_OP_GT, .value = r->lo};
            n++;
        }
        if (r->hi) {
            f[n] = (pfilter){
                .col = c->index, .op = r->hi_incl ? SL_CQL_OP_LTE : SL_CQL_OP_LT, .value = r->hi};
            n++;
        }
    }
    pfilter *nf = sl__an_alloc(a, (sp->nfilters + n) * sizeof *nf);
    if (sp->nfilters) memcpy(nf, sp->filters, sp->nfilters * sizeof *nf);
    memcpy(nf + sp->nfilters, f, n * sizeof *nf);
    sp->filters = nf;
    sp->nfilters += n;
    memset(r, 0, sizeof *r);
}

static pfilter *add_filter(an_ctx *a, select_plan *sp, uint32_t *cap)
{
    if (sp->nfilters == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        pfilter *nf = sl__an_alloc(a, *cap * sizeof *nf);
        if (sp->nfilters) memcpy(nf, sp->filters, sp->nfilters * sizeof *nf);
        sp->filters = nf;
    }
    pfilter *f = &sp->filters[sp->nfilters++];
    memset(f, 0, sizeof *f);
    return f;
}

/* The bound of a token relation: a bigint, or token() over values of the partition key, as in
 * Cassandra's WHERE token(k) > token(5). */
static pterm *an_token_bound(an_ctx *a, const sl_cql_table *t, const sl_cql_term *v)
{
    const fn_def *fd = v->kind == SL_CQL_TERM_FUNC ? sl__exec_fn_lookup(&v->u.func.name) : NULL;
    if (!fd || fd->fn != FN_TOKEN)
        return sl__an_term(a, v, sl_cql_dtype_prim(SL_CQL_BIGINT), t->keyspace, t->name,
                           "partition key token");
    if (v->u.func.n_args != t->npk) {
        sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                      "Invalid number of arguments in call to function system.token: %zu required "
                      "but %u provided",
                      t->npk, v->u.func.n_args);
        return NULL;
    }
    pterm *p = sl__an_alloc(a, sizeof *p);
    p->kind = PT_FUNC;
    p->fn = FN_TOKEN;
    p->type = sl_cql_dtype_prim(SL_CQL_BIGINT);
    p->nsub = (uint32_t)t->npk;
    p->sub = sl__an_alloc(a, t->npk * sizeof *p->sub);
    for (size_t k = 0; k < t->npk; k++) {
        p->sub[k] =
            sl__an_term(a, v->u.func.args[k], t->pk[k]->type, t->keyspace, t->name, t->pk[k]->name);
        if (!p->sub[k]) return NULL;
    }
    return p;
}

static int an_where(an_ctx *a, const sl_cql_select *s, select_plan *sp)
{
    const sl_cql_table *t = sp->table;
    uint32_t cap = 0;
    bool tok = false;
    for (uint32_t i = 0; i < s->n_where; i++) {
        const sl_cql_relation *rel = &s->where[i];
        if (rel->kind == SL_CQL_REL_TOKEN) {
            bool ok = rel->n_cols == t->npk;
            for (uint32_t k = 0; ok && k < rel->n_cols; k++)
                ok = strcmp(rel->cols[k].name, t->pk[k]->name) == 0;
            if (!ok) {
                sl_buf b = SL_BUF_INIT;
                for (size_t k = 0; k < t->npk; k++)
                    sl_buf_printf(&b, "%s%s", k ? ", " : "", t->pk[k]->name);
                sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                              "The token function arguments must be in the partition key order: %s",
                              sl_buf_cstr(&b));
                sl_buf_free(&b);
                return -1;
            }
            pterm *v = an_token_bound(a, t, rel->value);
            if (!v) return -1;
            switch (rel->op) {
            case SL_CQL_OP_EQ:
                if (sp->tok_lo || sp->tok_hi)
                    return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                         "Only EQ and IN relation are supported on the partition "
                                         "key (unless you use the token() function)");
                sp->tok_lo = sp->tok_hi = v;
                sp->tok_lo_incl = sp->tok_hi_incl = true;
                sp->tok_eq = true;
                break;
            case SL_CQL_OP_GT:
            case SL_CQL_OP_GTE:
                if (sp->tok_lo)
                    return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                         "More than one restriction was found for the start bound "
                                         "on %s",
                                         t->pk[0]->name);
                sp->tok_lo = v;
                sp->tok_lo_incl = rel->op == SL_CQL_OP_GTE;
                break;
            case SL_CQL_OP_LT:
            case SL_CQL_OP_LTE:
                if (sp->tok_hi)
                    return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                         "More than one restriction was found for the end bound on "
                                         "%s",
                                         t->pk[0]->name);
                sp->tok_hi = v;
                sp->tok_hi_incl = rel->op == SL_CQL_OP_LTE;
                break;
            default:
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "Unsupported restriction on the token function");
            }
            tok = true;
            continue;
        }
        if (rel->kind == SL_CQL_REL_MULTI) {
            if (sl__an_multi_relation(a, t, rel, &sp->multi) != 0) return -1;
            continue;
        }
        const sl_cql_column *c = sl__an_column(a, t, &rel->cols[0]);
        if (!c) return -1;
        int rc = 1;
        if (!rel->key && c->kind == SL_CQL_COL_PARTITION_KEY &&
            (rel->op == SL_CQL_OP_EQ || rel->op == SL_CQL_OP_IN))
            rc = sl__an_key_relation(a, t, c, rel, &sp->pk[c->position], false);
        else if (!rel->key && c->kind == SL_CQL_COL_CLUSTERING)
            rc = sl__an_key_relation(a, t, c, rel, &sp->ck[c->position], true);
        if (rc < 0) return -1;
        if (rc == 1 && sl__an_filter(a, t, rel, add_filter(a, sp, &cap), false) != 0) return -1;
    }
    bool af = s->allow_filtering;
    uint32_t npk = 0;
    for (size_t i = 0; i < t->npk; i++)
        npk += sp->pk[i].has;
    if (tok && npk)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Columns \"%s\" cannot be restricted by both a normal relation and a "
                             "token relation",
                             t->pk[0]->name);
    bool need_filtering = sp->nfilters > 0;
    if (npk == t->npk) {
        sp->mode = SEL_PARTITIONS;
    } else {
        sp->mode = SEL_SCAN;
        if (npk) {
            need_filtering = true;
            for (size_t i = 0; i < t->npk; i++)
                if (sp->pk[i].has) restr_to_filters(a, sp, t->pk[i], &sp->pk[i]);
        }
    }
    if (t->is_system) sp->mode = SEL_VIRTUAL;

    /* Clustering: an EQ/IN prefix, then at most one slice; anything else filters. */
    bool single = false;
    for (size_t i = 0; i < t->nck; i++)
        single |= sp->ck[i].has;
    if (single && sp->multi.has)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "Mixing single column relations and multi column relations on "
                             "clustering columns is not allowed");
    uint32_t n_eq = 0;
    while (n_eq < t->nck && sp->ck[n_eq].has && !sp->ck[n_eq].lo && !sp->ck[n_eq].hi)
        n_eq++;
    size_t after = n_eq < t->nck && sp->ck[n_eq].has ? n_eq + 1 : n_eq;
    for (size_t i = after; i < t->nck; i++) {
        if (!sp->ck[i].has) continue;
        if (!af) {
            const sl_cql_column *prev = t->ck[i - 1];
            if (!sp->ck[i - 1].has)
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "PRIMARY KEY column \"%s\" cannot be restricted as preceding "
                                     "column \"%s\" is not restricted",
                                     t->ck[i]->name, prev->name);
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Clustering column \"%s\" cannot be restricted (preceding column "
                                 "\"%s\" is restricted by a non-EQ relation)",
                                 t->ck[i]->name, prev->name);
        }
        restr_to_filters(a, sp, t->ck[i], &sp->ck[i]);
    }
    if (sp->multi.has)
        n_eq = (sp->multi.eq || sp->multi.in || sp->multi.in_list) ? sp->multi.ncols : 0;
    sp->n_ck_eq = n_eq;
    bool ck_restricted =
        sp->multi.has || (t->nck && (n_eq > 0 || sp->ck[n_eq < t->nck ? n_eq : 0].has));
    sp->ck_filter_only = ck_restricted;
    if (sp->mode != SEL_PARTITIONS && ck_restricted && !(sp->mode == SEL_VIRTUAL && npk == t->npk))
        need_filtering = true;
    if (need_filtering && !af) return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, FILTERING_MSG);
    return 0;
}

static int an_order(an_ctx *a, const sl_cql_select *s, select_plan *sp)
{
    const sl_cql_table *t = sp->table;
    if (!s->n_order) return 0;
    bool all_pk = true;
    for (size_t i = 0; i < t->npk; i++)
        all_pk &= sp->pk[i].has;
    if (!all_pk)
        return sl__exec_fail(
            a->res, SL_CQL_ERR_INVALID,
            "ORDER BY is only supported when the partition key is restricted by an "
            "EQ or an IN.");
    int rev = -1;
    for (uint32_t i = 0; i < s->n_order; i++) {
        const sl_cql_column *c = sl_cql_table_column(t, s->order[i].col.name);
        if (!c)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Undefined column name %s",
                                 s->order[i].col.name);
        if (c->kind != SL_CQL_COL_CLUSTERING)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "Order by is currently only supported on the clustered columns of "
                                 "the PRIMARY KEY, got %s",
                                 c->name);
        if (c->position != (int)i)
            return sl__exec_fail(
                a->res, SL_CQL_ERR_INVALID,
                "Order by currently only supports the ordering of columns following "
                "their declared order in the PRIMARY KEY");
        int r = s->order[i].desc != c->desc;
        if (rev >= 0 && r != rev)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID, "Unsupported order by relation");
        rev = r;
    }
    sp->reverse = rev == 1;
    sp->ordered = true;
    return 0;
}

int sl__an_select(an_ctx *a, const sl_cql_select *s)
{
    sl_cql_table *t = sl__an_table(a, &s->table);
    if (!t) return -1;
    select_plan *sp = sl__an_alloc(a, sizeof *sp);
    a->plan->sel = sp;
    sp->table = t;
    sp->json = s->json;
    sp->distinct = s->distinct;
    sp->pk = sl__an_alloc(a, (t->npk ? t->npk : 1) * sizeof *sp->pk);
    sp->ck = sl__an_alloc(a, (t->nck ? t->nck : 1) * sizeof *sp->ck);
    if (s->n_group_by)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "GROUP BY is not supported by this server");
    if (s->star) {
        sp->nsels = (uint32_t)t->ncolumns;
        sp->sels = sl__an_alloc(a, (t->ncolumns ? t->ncolumns : 1) * sizeof *sp->sels);
        for (size_t i = 0; i < t->ncolumns; i++) {
            psel *p = sl__an_alloc(a, sizeof *p);
            p->kind = PS_COL;
            p->col = (int)i;
            p->type = t->columns[i].type;
            p->name = t->columns[i].name;
            sp->sels[i] = p;
        }
    } else {
        sp->nsels = s->n_sels;
        sp->sels = sl__an_alloc(a, (s->n_sels ? s->n_sels : 1) * sizeof *sp->sels);
        for (uint32_t i = 0; i < s->n_sels; i++) {
            sp->sels[i] = an_selector(a, t, s->sels[i]);
            if (!sp->sels[i]) return -1;
            sp->aggregate |= sp->sels[i]->aggregate;
        }
    }
    if (sp->distinct) {
        for (uint32_t i = 0; i < sp->nsels; i++) {
            const psel *p = sp->sels[i];
            if (p->kind != PS_COL) continue;
            sl_cql_col_kind k = t->columns[p->col].kind;
            if (k != SL_CQL_COL_PARTITION_KEY && k != SL_CQL_COL_STATIC)
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "SELECT DISTINCT queries must only request partition key "
                                     "columns and/or static columns (not %s)",
                                     t->columns[p->col].name);
        }
        for (size_t k = 0; k < t->npk; k++) {
            bool found = false;
            for (uint32_t i = 0; i < sp->nsels && !found; i++)
                found = sp->sels[i]->kind == PS_COL && sp->sels[i]->col == t->pk[k]->index;
            if (!found)
                return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                     "SELECT DISTINCT queries must request all the partition key "
                                     "columns (missing %s)",
                                     t->pk[k]->name);
        }
    }
    if (an_where(a, s, sp) != 0) return -1;
    if (sp->distinct && sp->ck_filter_only)
        return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                             "SELECT DISTINCT with WHERE clause only supports restriction by "
                             "partition key and/or static columns.");
    if (an_order(a, s, sp) != 0) return -1;
    if (s->limit) {
        sp->limit = sl__an_term(a, s->limit, sl_cql_dtype_prim(SL_CQL_INT), t->keyspace, t->name,
                                "[limit]");
        if (!sp->limit) return -1;
    }
    if (s->per_partition_limit) {
        if (sp->distinct)
            return sl__exec_fail(a->res, SL_CQL_ERR_INVALID,
                                 "PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries");
        sp->ppl = sl__an_term(a, s->per_partition_limit, sl_cql_dtype_prim(SL_CQL_INT), t->keyspace,
                              t->name, "[per_partition_limit]");
        if (!sp->ppl) return -1;
    }
    /* Result metadata. */
    cql_plan *p = a->plan;
    sl_cql_result *tmp = sl__exec_result_new(SL_CQL_RESULT_ROWS);
    uint32_t ncols = sp->json ? 1 : sp->nsels;
    p->cols = sl__an_alloc(a, ncols * sizeof *p->cols);
    p->n_cols = ncols;
    for (uint32_t i = 0; i < ncols; i++) {
        const char *name = sp->json ? "[json]" : sp->sels[i]->name;
        const sl_cql_dtype *ty = sp->json ? sl_cql_dtype_prim(SL_CQL_TEXT) : sp->sels[i]->type;
        sl_cql_colspec cs;
        sl__exec_colspec(tmp, &cs, t->keyspace, t->name, name, ty);
        p->cols[i].keyspace = sl__an_strdup(a, cs.keyspace);
        p->cols[i].table = sl__an_strdup(a, cs.table);
        p->cols[i].name = sl__an_strdup(a, cs.name);
        uint8_t *ob = sl__an_alloc(a, cs.type.len);
        memcpy(ob, cs.type.ptr, cs.type.len);
        p->cols[i].type = (sl_slice){ob, cs.type.len};
    }
    sl_cql_result_free(tmp);
    /* Token-aware routing: the markers binding the partition key, when all are markers. */
    if (sp->mode == SEL_PARTITIONS) {
        bool all = true;
        for (size_t i = 0; i < t->npk && all; i++)
            all = sp->pk[i].eq && sp->pk[i].eq->kind == PT_BIND;
        if (all) {
            p->n_pk_index = (uint32_t)t->npk;
            p->pk_index = sl__an_alloc(a, t->npk * sizeof *p->pk_index);
            for (size_t i = 0; i < t->npk; i++)
                p->pk_index[i] = (uint16_t)sp->pk[i].eq->bind;
        }
    }
    return 0;
}

/* ---- execution ---- */

typedef struct agg {
    int64_t count;
    bool has;
    sl_buf best; /* min/max: the current value */
    int64_t isum;
    double dsum;
} agg;

typedef struct sel_run {
    exec_ctx *x;
    select_plan *sp;
    const sl_cql_table *t;
    pk_set pks;
    bool have_pks;
    ck_range *ranges;
    uint32_t nranges;
    bool check_ranges; /* rows must fall in one of ranges (scans, virtual tables) */
    int64_t tmin, tmax;
    bool tok_check;
    bool empty;
    /* position */
    uint32_t pi, ri, vi;
    sl_slice after;
    sl_store_cursor *cur;
    uint32_t cur_pi, cur_ri; /* where the row just returned came from */
    sl_store_row *vrows;
    size_t nv;
    /* Per-row scratch (x->tmp while rows are read), reset for every row so long scans run in
     * constant memory; persist is the execution's arena, for what outlives a row. */
    sl_arena rowa;
    sl_arena *persist;
} sel_run;

static int open_cursor(sel_run *r)
{
    select_plan *sp = r->sp;
    sl_store_read rd;
    memset(&rd, 0, sizeof rd);
    rd.now_s = r->x->now_s;
    rd.after = r->after;
    const ck_range *cr = NULL;
    if (sp->mode == SEL_PARTITIONS) {
        rd.pk = &r->pks.keys[(size_t)r->pi * r->t->npk];
        uint32_t ri = sp->reverse ? r->nranges - 1 - r->ri : r->ri;
        cr = &r->ranges[ri];
        rd.reverse = sp->reverse;
    } else {
        rd.token_min = r->tmin;
        rd.token_max = r->tmax;
        if (r->nranges == 1) cr = &r->ranges[0];
    }
    if (cr) {
        rd.start = (sl_store_bound){cr->start, cr->nstart, cr->start_incl};
        rd.end = (sl_store_bound){cr->end, cr->nend, cr->end_incl};
    }
    r->after = SL_SLICE_NULL;
    int rc = sl_store_cursor_open(r->x->e->store, r->t, &rd, &r->cur);
    if (rc != 0)
        return sl__exec_fail(r->x->res, SL_CQL_ERR_READ_FAILURE,
                             "Operation failed - reading %s.%s: %s", r->t->keyspace, r->t->name,
                             sl_strerror(rc));
    return 0;
}

static void close_cursor(sel_run *r)
{
    if (r->cur) sl_store_cursor_close(r->cur);
    r->cur = NULL;
}

/* Skips the rest of the current partition (PER PARTITION LIMIT reached). */
static void next_partition(sel_run *r)
{
    if (r->sp->mode != SEL_PARTITIONS) return;
    close_cursor(r);
    r->ri = 0;
    r->pi++;
}

/* Returns 1 with the next candidate row, 0 at the end, -1 on error. */
static int next_row(sel_run *r, const sl_store_row **row)
{
    if (r->empty) return 0;
    if (r->sp->mode == SEL_VIRTUAL) {
        if (r->vi >= r->nv) return 0;
        r->cur_pi = r->vi;
        *row = &r->vrows[r->vi++];
        return 1;
    }
    for (;;) {
        if (!r->cur) {
            if (r->sp->mode == SEL_PARTITIONS && r->pi >= r->pks.n) return 0;
            if (r->sp->mode == SEL_SCAN && r->pi > 0) return 0;
            if (open_cursor(r) != 0) return -1;
        }
        int rc = sl_store_cursor_next(r->cur, row);
        if (rc == 1) {
            r->cur_pi = r->pi;
            r->cur_ri = r->ri;
            return 1;
        }
        close_cursor(r);
        if (rc < 0)
            return sl__exec_fail(r->x->res, SL_CQL_ERR_READ_FAILURE,
                                 "Operation failed - reading %s.%s: %s", r->t->keyspace, r->t->name,
                                 sl_strerror(rc));
        if (r->sp->mode == SEL_SCAN) {
            r->pi = 1;
            return 0;
        }
        if (++r->ri >= r->nranges) {
            r->ri = 0;
            r->pi++;
        }
    }
}

static void row_pk(const sl_cql_table *t, const sl_store_row *row, sl_slice *comps)
{
    for (size_t i = 0; i < t->npk; i++)
        comps[i] = row->cells[t->pk[i]->index].value;
}

static int row_matches(sel_run *r, const sl_store_row *row)
{
    const sl_cql_table *t = r->t;
    select_plan *sp = r->sp;
    if (sp->mode == SEL_VIRTUAL) {
        sl_slice comps[16];
        if (t->npk <= 16) row_pk(t, row, comps);
        if (r->have_pks && t->npk <= 16) {
            bool found = false;
            for (uint32_t k = 0; k < r->pks.n && !found; k++) {
                const sl_slice *key = &r->pks.keys[(size_t)k * t->npk];
                found = true;
                for (size_t i = 0; i < t->npk && found; i++)
                    found = comps[i].ptr && sl_slice_eq(comps[i], key[i]);
            }
            if (!found) return 0;
        }
        if (r->tok_check && t->npk <= 16) {
            int64_t tok = sl_cql_token(comps, t->npk);
            if (tok < r->tmin || tok > r->tmax) return 0;
        }
    }
    if (sp->ck_filter_only) {
        if (row->static_only) return 0;
        if (r->check_ranges) {
            sl_slice ckv[64];
            size_t nck = SL_MIN(t->nck, (size_t)64);
            for (size_t i = 0; i < nck; i++)
                ckv[i] = row->cells[t->ck[i]->index].value;
            bool in = false;
            for (uint32_t k = 0; k < r->nranges && !in; k++)
                in = sl__ck_in_range(t, ckv, &r->ranges[k]);
            if (!in) return 0;
        }
    }
    for (uint32_t i = 0; i < sp->nfilters; i++) {
        int m = sl__ev_filter(r->x, t, &sp->filters[i], row);
        if (m <= 0) return m;
    }
    return 1;
}

/* Evaluates a non-aggregate selector on a row. */
static int ev_sel(exec_ctx *x, const sl_cql_table *t, const psel *p, const sl_store_row *row,
                  sl_slice *out)
{
    switch (p->kind) {
    case PS_COL: *out = row->cells[p->col].value; return 0;
    case PS_WRITETIME: {
        const sl_store_cell *c = &row->cells[p->col];
        if (!c->value.ptr || c->timestamp == INT64_MIN) {
            *out = SL_SLICE_NULL;
            return 0;
        }
        uint8_t *b = sl_arena_alloc(x->tmp, 8);
        sl_put_be64(b, (uint64_t)c->timestamp);
        *out = (sl_slice){b, 8};
        return 0;
    }
    case PS_TTL: {
        const sl_store_cell *c = &row->cells[p->col];
        if (!c->value.ptr || c->ttl <= 0) {
            *out = SL_SLICE_NULL;
            return 0;
        }
        uint8_t *b = sl_arena_alloc(x->tmp, 4);
        sl_put_be32(b, (uint32_t)c->ttl);
        *out = (sl_slice){b, 4};
        return 0;
    }
    case PS_TERM: {
        evalue v;
        if (sl__ev_term(x, p->term, &v) != 0) return -1;
        *out = v.v;
        return 0;
    }
    case PS_FUNC: {
        if (p->fn == FN_TOKEN) {
            sl_slice comps[16];
            if (t->npk > 16) return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Too many key parts");
            row_pk(t, row, comps);
            uint8_t *b = sl_arena_alloc(x->tmp, 8);
            sl_put_be64(b, (uint64_t)sl_cql_token(comps, t->npk));
            *out = (sl_slice){b, 8};
            return 0;
        }
        sl_slice arg = SL_SLICE_NULL;
        const sl_cql_dtype *at = NULL;
        if (p->nargs == 1) {
            if (ev_sel(x, t, p->args[0], row, &arg) != 0) return -1;
            at = p->args[0]->type;
        }
        return sl__ev_apply_fn(x, p->fn, at, arg, out);
    }
    default: *out = SL_SLICE_NULL; return 0;
    }
}

static void json_key(sl_buf *b, const char *name)
{
    bool plain = *name != 0;
    for (const char *c = name; *c && plain; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
    sl_buf_append_str(b, "\"");
    if (!plain) sl_buf_append_str(b, "\\\"");
    for (const char *c = name; *c; c++) {
        if (*c == '"' || *c == '\\') sl_buf_append(b, "\\", 1);
        if (*c == '"' && !plain) sl_buf_append(b, "\"\\", 2);
        sl_buf_append(b, c, 1);
    }
    if (!plain) sl_buf_append_str(b, "\\\"");
    sl_buf_append_str(b, "\"");
}

/* Appends the selected values of one output row. vals[i] for sels[i]. */
static void emit(sel_run *r, const sl_slice *vals)
{
    select_plan *sp = r->sp;
    sl_cql_result *res = r->x->res;
    if (!sp->json) {
        for (uint32_t i = 0; i < sp->nsels; i++)
            sl__exec_cell(res, vals[i]);
    } else {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append_str(&b, "{");
        for (uint32_t i = 0; i < sp->nsels; i++) {
            if (i) sl_buf_append_str(&b, ", ");
            json_key(&b, sp->sels[i]->name);
            sl_buf_append_str(&b, ": ");
            if (!vals[i].ptr)
                sl_buf_append_str(&b, "null");
            else
                sl_cql_value_format_json(sp->sels[i]->type, vals[i], &b);
        }
        sl_buf_append_str(&b, "}");
        sl__exec_cell(res, sl_buf_slice(&b));
        sl_buf_free(&b);
    }
    res->row_count++;
}

static int emit_row(sel_run *r, const sl_store_row *row)
{
    select_plan *sp = r->sp;
    sl_slice *vals = sl_arena_alloc(r->x->tmp, (sp->nsels ? sp->nsels : 1) * sizeof *vals);
    for (uint32_t i = 0; i < sp->nsels; i++)
        if (ev_sel(r->x, r->t, sp->sels[i], row, &vals[i]) != 0) return -1;
    emit(r, vals);
    return 0;
}

/* A copy of a row that survives the cursor moving on (ordered merges, aggregates). */
static sl_store_row *copy_row(sl_arena *a, const sl_cql_table *t, const sl_store_row *row)
{
    sl_store_row *c = sl_arena_alloc(a, sizeof *c);
    *c = *row;
    c->cells = sl_arena_alloc(a, (t->ncolumns ? t->ncolumns : 1) * sizeof *c->cells);
    for (size_t i = 0; i < t->ncolumns; i++) {
        c->cells[i] = row->cells[i];
        sl_slice v = row->cells[i].value;
        if (v.ptr) {
            uint8_t *p = sl_arena_alloc(a, v.len ? v.len : 1);
            if (v.len) memcpy(p, v.ptr, v.len);
            c->cells[i].value = (sl_slice){p, v.len};
        }
    }
    c->pos = SL_SLICE_NULL;
    return c;
}

/* ---- paging state ---- */

typedef struct page_pos {
    uint32_t pi, ri, vi;
    int64_t rows_left;
    int64_t part_count;
    sl_slice pos;
    sl_slice last_pk;
} page_pos;

static void paging_encode(sl_buf *b, const page_pos *p)
{
    sl_buf_put_u8(b, PAGING_MAGIC);
    sl_buf_put_u8(b, PAGING_VERSION);
    sl_buf_put_be32(b, p->pi);
    sl_buf_put_be32(b, p->ri);
    sl_buf_put_be32(b, p->vi);
    sl_buf_put_be64(b, (uint64_t)p->rows_left);
    sl_buf_put_be64(b, (uint64_t)p->part_count);
    sl_buf_put_be32(b, (uint32_t)p->pos.len);
    if (p->pos.len) sl_buf_append(b, p->pos.ptr, p->pos.len);
    sl_buf_put_be32(b, (uint32_t)p->last_pk.len);
    if (p->last_pk.len) sl_buf_append(b, p->last_pk.ptr, p->last_pk.len);
}

static int paging_decode(sl_slice s, page_pos *p)
{
    sl_rd r;
    sl_rd_init(&r, s.ptr, s.len);
    uint8_t magic = 0, ver = 0;
    uint32_t n;
    sl_rd_u8(&r, &magic);
    sl_rd_u8(&r, &ver);
    sl_rd_be32(&r, &p->pi);
    sl_rd_be32(&r, &p->ri);
    sl_rd_be32(&r, &p->vi);
    sl_rd_i64(&r, &p->rows_left);
    sl_rd_i64(&r, &p->part_count);
    if (sl_rd_be32(&r, &n) == 0) sl_rd_bytes(&r, n, &p->pos);
    if (sl_rd_be32(&r, &n) == 0) sl_rd_bytes(&r, n, &p->last_pk);
    if (r.err || sl_rd_left(&r) || magic != PAGING_MAGIC || ver != PAGING_VERSION) return -1;
    return 0;
}

/* ---- the query ---- */

static int eval_positive(exec_ctx *x, pterm *t, const char *what, const char *msg, int64_t *out)
{
    *out = INT64_MAX;
    if (!t) return 0;
    sl_slice v;
    int rc = sl__ev_term_required(x, t, what, &v);
    if (rc < 0) return -1;
    if (rc == 1) return 0; /* unset: no limit */
    if (v.len != 4) return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid %s value", what);
    int32_t n = (int32_t)sl_get_be32(v.ptr);
    if (n <= 0) return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s", msg);
    *out = n;
    return 0;
}

static int eval_tokens(sel_run *r)
{
    select_plan *sp = r->sp;
    r->tmin = INT64_MIN;
    r->tmax = INT64_MAX;
    for (int side = 0; side < 2; side++) {
        pterm *pt = side ? sp->tok_hi : sp->tok_lo;
        if (!pt) continue;
        sl_slice v;
        int rc = sl__ev_term_required(r->x, pt, "partition key token", &v);
        if (rc < 0) return -1;
        if (rc == 1)
            return sl__exec_fail(r->x->res, SL_CQL_ERR_INVALID,
                                 "Invalid unset value for partition key token");
        if (v.len != 8)
            return sl__exec_fail(r->x->res, SL_CQL_ERR_INVALID,
                                 "Invalid empty value for partition key token");
        int64_t tv = (int64_t)sl_get_be64(v.ptr);
        if (side == 0) {
            if (!sp->tok_lo_incl) {
                if (tv == INT64_MAX)
                    r->empty = true;
                else
                    tv++;
            }
            r->tmin = tv;
        } else {
            if (!sp->tok_hi_incl) {
                if (tv == INT64_MIN)
                    r->empty = true;
                else
                    tv--;
            }
            r->tmax = tv;
        }
        r->tok_check = true;
    }
    if (r->tmin > r->tmax) r->empty = true;
    return 0;
}

static void set_metadata(exec_ctx *x)
{
    cql_plan *p = x->plan;
    sl_cql_result *res = x->res;
    res->kind = SL_CQL_RESULT_ROWS;
    res->n_columns = p->n_cols;
    res->columns = sl__exec_columns(res, p->n_cols);
    for (uint32_t i = 0; i < p->n_cols; i++) {
        res->columns[i].keyspace = sl__exec_strdup(res, p->cols[i].keyspace);
        res->columns[i].table = sl__exec_strdup(res, p->cols[i].table);
        res->columns[i].name = sl__exec_strdup(res, p->cols[i].name);
        uint8_t *tb = sl_arena_alloc(&res->arena, p->cols[i].type.len);
        memcpy(tb, p->cols[i].type.ptr, p->cols[i].type.len);
        res->columns[i].type = (sl_slice){tb, p->cols[i].type.len};
    }
}

static void agg_update(exec_ctx *x, const psel *p, agg *g, sl_slice v)
{
    if (p->kind == PS_COUNT_ROWS) {
        g->count++;
        return;
    }
    if (!v.ptr || (v.len == 0 && p->type->kind != SL_CQL_TEXT && p->type->kind != SL_CQL_ASCII &&
                   p->type->kind != SL_CQL_BLOB))
        return;
    switch (p->fn) {
    case FN_COUNT: g->count++; break;
    case FN_MIN:
    case FN_MAX: {
        int c = g->has ? sl_cql_value_compare(p->type, v, sl_buf_slice(&g->best)) : 0;
        if (!g->has || (p->fn == FN_MIN ? c < 0 : c > 0)) {
            sl_buf_reset(&g->best);
            if (v.len)
                sl_buf_append(&g->best, v.ptr, v.len);
            else
                sl_buf_reserve(&g->best, 1);
        }
        g->has = true;
        break;
    }
    case FN_SUM:
    case FN_AVG:
        g->count++;
        g->has = true;
        if (p->type->kind == SL_CQL_FLOAT && v.len == 4) {
            uint32_t b = sl_get_be32(v.ptr);
            float f;
            memcpy(&f, &b, 4);
            g->dsum += f;
        } else if (p->type->kind == SL_CQL_DOUBLE && v.len == 8) {
            uint64_t b = sl_get_be64(v.ptr);
            double d;
            memcpy(&d, &b, 8);
            g->dsum += d;
        } else {
            g->isum += sl__ev_int_value(p->type, v);
        }
        break;
    default: break;
    }
    (void)x;
}

static sl_slice agg_result(exec_ctx *x, const psel *p, agg *g)
{
    uint8_t *b;
    switch (p->kind == PS_COUNT_ROWS ? FN_COUNT : p->fn) {
    case FN_COUNT:
        b = sl_arena_alloc(x->tmp, 8);
        sl_put_be64(b, (uint64_t)g->count);
        return (sl_slice){b, 8};
    case FN_MIN:
    case FN_MAX:
        if (!g->has) return SL_SLICE_NULL;
        b = sl_arena_alloc(x->tmp, g->best.len ? g->best.len : 1);
        if (g->best.len) memcpy(b, g->best.ptr, g->best.len);
        return (sl_slice){b, g->best.len};
    case FN_SUM:
    case FN_AVG: {
        /* Cassandra returns 0, not null, for an empty sum or average. */
        bool avg = p->fn == FN_AVG;
        int size = sl_cql_dtype_fixed_size(p->type);
        if (size <= 0) size = 8;
        b = sl_arena_alloc(x->tmp, (size_t)size);
        if (p->type->kind == SL_CQL_FLOAT) {
            float f = (float)(avg && g->count ? g->dsum / (double)g->count : g->dsum);
            uint32_t u;
            memcpy(&u, &f, 4);
            sl_put_be32(b, u);
        } else if (p->type->kind == SL_CQL_DOUBLE) {
            double d = avg && g->count ? g->dsum / (double)g->count : g->dsum;
            uint64_t u;
            memcpy(&u, &d, 8);
            sl_put_be64(b, u);
        } else {
            int64_t v = avg && g->count ? g->isum / g->count : g->isum;
            for (int i = size - 1; i >= 0; i--) {
                b[i] = (uint8_t)v;
                v >>= 8;
            }
        }
        return (sl_slice){b, (size_t)size};
    }
    default: return SL_SLICE_NULL;
    }
}

/* Evaluates a selector for aggregation: aggregates read their state, the rest the first row. */
static int run_aggregate(sel_run *r)
{
    exec_ctx *x = r->x;
    select_plan *sp = r->sp;
    agg *g = sl_calloc(sp->nsels, sizeof *g);
    sl_store_row *first = NULL;
    const sl_store_row *row;
    int rc;
    while (sl_arena_reset(&r->rowa), (rc = next_row(r, &row)) == 1) {
        int m = row_matches(r, row);
        if (m < 0) {
            rc = -1;
            break;
        }
        if (!m) continue;
        if (!first) first = copy_row(r->persist, r->t, row);
        for (uint32_t i = 0; i < sp->nsels; i++) {
            const psel *p = sp->sels[i];
            if (!p->aggregate) continue;
            sl_slice v = SL_SLICE_NULL;
            if (p->kind == PS_FUNC && ev_sel(x, r->t, p->args[0], row, &v) != 0) {
                rc = -1;
                break;
            }
            agg_update(x, p, &g[i], v);
        }
        if (rc < 0) break;
    }
    if (rc == 0) {
        sl_slice *vals = sl_arena_alloc(x->tmp, sp->nsels * sizeof *vals);
        for (uint32_t i = 0; i < sp->nsels && rc == 0; i++) {
            const psel *p = sp->sels[i];
            if (p->aggregate)
                vals[i] = agg_result(x, p, &g[i]);
            else if (first)
                rc = ev_sel(x, r->t, p, first, &vals[i]);
            else
                vals[i] = SL_SLICE_NULL;
        }
        if (rc == 0) emit(r, vals);
    }
    for (uint32_t i = 0; i < sp->nsels; i++)
        sl_buf_free(&g[i].best);
    sl_free(g);
    return rc < 0 ? -1 : 0;
}

static const sl_cql_table *merge_table;
static bool merge_reverse;
static int merge_cmp(const void *a, const void *b)
{
    const sl_store_row *x = *(const sl_store_row *const *)a, *y = *(const sl_store_row *const *)b;
    const sl_cql_table *t = merge_table;
    int c = 0;
    for (size_t i = 0; i < t->nck && c == 0; i++) {
        sl_slice u = x->cells[t->ck[i]->index].value, v = y->cells[t->ck[i]->index].value;
        if (!u.ptr || !v.ptr)
            c = (u.ptr != NULL) - (v.ptr != NULL);
        else
            c = sl_cql_value_compare(t->ck[i]->type, u, v);
        if (t->ck[i]->desc) c = -c;
    }
    return merge_reverse ? -c : c;
}

/* ORDER BY over several partitions: Cassandra sorts them in memory, unpaged. */
static int run_ordered_merge(sel_run *r, int64_t limit, int64_t ppl)
{
    size_t n = 0, cap = 64;
    sl_store_row **rows = sl_malloc(cap * sizeof *rows);
    const sl_store_row *row;
    int rc;
    int64_t part_count = 0;
    uint32_t last_pi = UINT32_MAX;
    while (sl_arena_reset(&r->rowa), (rc = next_row(r, &row)) == 1) {
        int m = row_matches(r, row);
        if (m < 0) {
            rc = -1;
            break;
        }
        if (!m) continue;
        if (r->cur_pi != last_pi) {
            last_pi = r->cur_pi;
            part_count = 0;
        }
        if (part_count >= ppl) continue;
        part_count++;
        if (n == cap) rows = sl_realloc(rows, (cap *= 2) * sizeof *rows);
        rows[n++] = copy_row(r->persist, r->t, row);
    }
    if (rc == 0) {
        merge_table = r->t;
        merge_reverse = r->sp->reverse;
        qsort(rows, n, sizeof *rows, merge_cmp);
        for (size_t i = 0; i < n && (int64_t)i < limit && rc == 0; i++)
            rc = emit_row(r, rows[i]);
    }
    sl_free(rows);
    return rc < 0 ? -1 : 0;
}

/* Reads, filters and emits the rows; x->tmp is the per-row arena here. */
static int select_rows(sel_run *r, int64_t limit, int64_t ppl)
{
    exec_ctx *x = r->x;
    select_plan *sp = r->sp;
    const sl_cql_table *t = r->t;
    if (sp->aggregate) return run_aggregate(r);

    int32_t page = x->q ? x->q->page_size : 0;
    if (sp->ordered && sp->mode == SEL_PARTITIONS && r->pks.n > 1) {
        if (page > 0)
            return sl__exec_fail(
                x->res, SL_CQL_ERR_INVALID,
                "Cannot page queries with both ORDER BY and a IN restriction on the "
                "partition key; you must either remove the ORDER BY or the IN and "
                "sort client side, or disable paging for this query");
        return run_ordered_merge(r, limit, ppl);
    }

    page_pos pp = {0, 0, 0, limit, 0, SL_SLICE_NULL, SL_SLICE_NULL};
    if (x->q && x->q->paging_state.len) {
        if (paging_decode(x->q->paging_state, &pp) != 0 ||
            (sp->mode == SEL_PARTITIONS && (pp.pi >= r->pks.n || pp.ri >= r->nranges)) ||
            (sp->mode == SEL_VIRTUAL && pp.vi > r->nv) || pp.rows_left <= 0)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid value for the paging state");
        r->pi = pp.pi;
        r->ri = pp.ri;
        r->vi = pp.vi;
        r->after = pp.pos;
    }
    int64_t rows_left = pp.rows_left, part_count = pp.part_count;
    sl_buf last_pk = SL_BUF_INIT, cur_pk = SL_BUF_INIT, last_pos = SL_BUF_INIT;
    if (pp.last_pk.len) sl_buf_append(&last_pk, pp.last_pk.ptr, pp.last_pk.len);
    bool track_pk = ppl != INT64_MAX;
    uint32_t last_pi = pp.pi, last_ri = pp.ri, last_vi = pp.vi;
    int64_t emitted = 0;
    bool more = false;
    int rc = 0;
    const sl_store_row *row;
    while (rows_left > 0 && (sl_arena_reset(&r->rowa), (rc = next_row(r, &row)) == 1)) {
        int m = row_matches(r, row);
        if (m < 0) {
            rc = -1;
            break;
        }
        if (!m) continue;
        if (track_pk) {
            sl_slice comps[16];
            if (t->npk <= 16) row_pk(t, row, comps);
            sl_buf_reset(&cur_pk);
            sl_cql_partition_key(comps, t->npk, &cur_pk);
            if (!sl_slice_eq(sl_buf_slice(&cur_pk), sl_buf_slice(&last_pk))) {
                sl_buf_reset(&last_pk);
                sl_buf_append(&last_pk, cur_pk.ptr, cur_pk.len);
                part_count = 0;
            }
            if (part_count >= ppl) {
                next_partition(r);
                continue;
            }
        }
        if (page > 0 && emitted == page) {
            more = true;
            break;
        }
        if (emit_row(r, row) != 0) {
            rc = -1;
            break;
        }
        emitted++;
        part_count++;
        rows_left--;
        last_pi = r->cur_pi;
        last_ri = r->cur_ri;
        last_vi = r->vi;
        sl_buf_reset(&last_pos);
        if (row->pos.len) sl_buf_append(&last_pos, row->pos.ptr, row->pos.len);
        rc = 0;
    }
    if (rows_left <= 0) rc = 0;
    close_cursor(r);
    if (rc >= 0 && more) {
        page_pos np = {last_pi,
                       last_ri,
                       last_vi,
                       rows_left,
                       part_count,
                       sl_buf_slice(&last_pos),
                       sl_buf_slice(&last_pk)};
        x->res->has_more_pages = true;
        paging_encode(&x->res->paging_state, &np);
    }
    sl_buf_free(&last_pk);
    sl_buf_free(&cur_pk);
    sl_buf_free(&last_pos);
    return rc < 0 ? -1 : 0;
}

int sl__exec_select(exec_ctx *x)
{
    select_plan *sp = x->plan->sel;
    const sl_cql_table *t = sp->table;
    sel_run r;
    memset(&r, 0, sizeof r);
    r.x = x;
    r.sp = sp;
    r.t = t;
    set_metadata(x);
    int64_t limit, ppl;
    if (eval_positive(x, sp->limit, "limit", "LIMIT must be strictly positive", &limit) != 0)
        return -1;
    if (eval_positive(x, sp->ppl, "per partition limit",
                      "PER PARTITION LIMIT must be strictly positive", &ppl) != 0)
        return -1;
    if (sp->distinct) ppl = 1;
    if (eval_tokens(&r) != 0) return -1;
    bool all_pk = true;
    for (size_t i = 0; i < t->npk; i++)
        all_pk &= sp->pk[i].has;
    if (all_pk && t->npk) {
        if (sl__ev_pk_set(x, t, sp->pk, &r.pks) != 0) return -1;
        r.have_pks = true;
    }
    if (sl__ev_ck_ranges(x, t, sp->ck, &sp->multi, sp->n_ck_eq, &r.ranges, &r.nranges) != 0)
        return -1;
    r.check_ranges = sp->mode != SEL_PARTITIONS;
    if (sp->mode == SEL_VIRTUAL) {
        if (sl__exec_system_rows(x, t, &r.vrows, &r.nv) != 0) return -1;
    }
    if (sp->mode != SEL_PARTITIONS && sp->aggregate)
        sl__exec_warn(x->res, "Aggregation query used without partition key");
    r.persist = x->tmp;
    sl_arena_init(&r.rowa, 4096);
    x->tmp = &r.rowa;
    int rc = select_rows(&r, limit, ppl);
    x->tmp = r.persist;
    sl_arena_free(&r.rowa);
    return rc;
}
