/* exec_eval.c: evaluating analyzed terms against bound values, the CQL functions, partition
 * key sets, clustering ranges and row predicates. */
#include "cql/exec_int.h"

#include "core/codec.h"

#include <stdlib.h>

#define MAX_KEY_COMBINATIONS 65535
#define MS_PER_DAY           86400000LL
#define DATE_EPOCH           (1LL << 31)

static const uint8_t empty_bytes[1];

static uint8_t *tmp_copy(exec_ctx *x, const void *p, size_t n)
{
    uint8_t *d = sl_arena_alloc(x->tmp, n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

static sl_slice tmp_slice(exec_ctx *x, const sl_buf *b)
{
    return (sl_slice){tmp_copy(x, b->ptr, b->len), b->len};
}

static sl_slice be64_slice(exec_ctx *x, int64_t v)
{
    uint8_t *p = sl_arena_alloc(x->tmp, 8);
    sl_put_be64(p, (uint64_t)v);
    return (sl_slice){p, 8};
}

static sl_slice be32_slice(exec_ctx *x, uint32_t v)
{
    uint8_t *p = sl_arena_alloc(x->tmp, 4);
    sl_put_be32(p, v);
    return (sl_slice){p, 4};
}

int64_t sl__ev_int_value(const sl_cql_dtype *t, sl_slice v)
{
    switch (v.len) {
    case 1: return (int8_t)v.ptr[0];
    case 2: return (int16_t)sl_get_be16(v.ptr);
    case 4:
        return t && t->kind == SL_CQL_DATE ? (int64_t)sl_get_be32(v.ptr)
                                           : (int32_t)sl_get_be32(v.ptr);
    case 8: return (int64_t)sl_get_be64(v.ptr);
    default: {
        if (v.len == 0 || v.len > 8) return 0;
        int64_t r = (int8_t)v.ptr[0];
        for (size_t i = 1; i < v.len; i++)
            r = (int64_t)((uint64_t)r << 8 | v.ptr[i]);
        return r;
    }
    }
}

/* The Unix milliseconds of a timeuuid, timestamp or date value. */
static int64_t time_ms(const sl_cql_dtype *t, sl_slice v)
{
    switch (t->kind) {
    case SL_CQL_TIMEUUID: return sl_cql_timeuuid_unix_ms(v.ptr);
    case SL_CQL_DATE: return ((int64_t)sl_get_be32(v.ptr) - DATE_EPOCH) * MS_PER_DAY;
    default: return (int64_t)sl_get_be64(v.ptr);
    }
}

static void timeuuid_now(exec_ctx *x, uint8_t out[16])
{
    sl_cql_engine *e = x->e;
    int64_t ms = x->now_us / 1000;
    if (ms > e->tu_ms) {
        e->tu_ms = ms;
        e->tu_ticks = 0;
    } else if (++e->tu_ticks >= 10000) {
        e->tu_ms++; /* more than 10000 in one ms: borrow from the next one */
        e->tu_ticks = 0;
    }
    sl_cql_timeuuid_at(e->tu_ms, e->tu_ticks, out);
}

int sl__ev_apply_fn(exec_ctx *x, cql_fn fn, const sl_cql_dtype *arg_type, sl_slice arg,
                    sl_slice *out)
{
    uint8_t u[16];
    switch (fn) {
    case FN_NOW:
    case FN_CURRENT_TIMEUUID:
        timeuuid_now(x, u);
        *out = (sl_slice){tmp_copy(x, u, 16), 16};
        return 0;
    case FN_UUID:
        sl_cql_uuid_v4(u);
        *out = (sl_slice){tmp_copy(x, u, 16), 16};
        return 0;
    case FN_CURRENT_TIMESTAMP: *out = be64_slice(x, x->now_us / 1000); return 0;
    case FN_CURRENT_DATE:
        *out = be32_slice(x, (uint32_t)(sl_floor_div(x->now_us / 1000, MS_PER_DAY) + DATE_EPOCH));
        return 0;
    case FN_CURRENT_TIME: {
        int64_t ms = x->now_us / 1000;
        int64_t in_day = ms - sl_floor_div(ms, MS_PER_DAY) * MS_PER_DAY;
        *out = be64_slice(x, in_day * 1000000 + (x->now_us % 1000) * 1000);
        return 0;
    }
    default: break;
    }
    /* One-argument functions: null (or empty) in, null out. */
    if (!arg.ptr || arg.len == 0) {
        *out = SL_SLICE_NULL;
        return 0;
    }
    switch (fn) {
    case FN_TO_TIMESTAMP:
    case FN_DATE_OF: *out = be64_slice(x, time_ms(arg_type, arg)); return 0;
    case FN_TO_UNIX_TIMESTAMP:
    case FN_UNIX_TIMESTAMP_OF: *out = be64_slice(x, time_ms(arg_type, arg)); return 0;
    case FN_TO_DATE:
        *out = be32_slice(
            x, (uint32_t)(sl_floor_div(time_ms(arg_type, arg), MS_PER_DAY) + DATE_EPOCH));
        return 0;
    case FN_MIN_TIMEUUID:
    case FN_MAX_TIMEUUID: {
        int64_t ms = time_ms(arg_type, arg);
        bool max = fn == FN_MAX_TIMEUUID;
        sl_cql_timeuuid_at(ms, max ? 9999 : 0, u);
        /* Cassandra's extreme clock sequence and node (compared as signed bytes). */
        memset(u + 8, max ? 0x7f : 0x80, 8);
        *out = (sl_slice){tmp_copy(x, u, 16), 16};
        return 0;
    }
    case FN_TO_JSON: {
        sl_buf b = SL_BUF_INIT;
        sl_cql_value_format_json(arg_type, arg, &b);
        *out = tmp_slice(x, &b);
        sl_buf_free(&b);
        return 0;
    }
    default: return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported function call");
    }
}

/* token() over partition key values (a token relation's bound): their Murmur3 token. */
static int ev_token(exec_ctx *x, const pterm *t, evalue *out)
{
    sl_slice comps[16];
    if (t->nsub > SL_ARRAY_LEN(comps))
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Too many key parts");
    for (uint32_t i = 0; i < t->nsub; i++) {
        evalue ev;
        if (sl__ev_term(x, t->sub[i], &ev) != 0) return -1;
        if (ev.unset || !ev.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null or unset value in call to function token");
        comps[i] = ev.v;
    }
    out->v = be64_slice(x, sl_cql_token(comps, t->nsub));
    return 0;
}

static int ev_func(exec_ctx *x, const pterm *t, evalue *out)
{
    if (t->fn == FN_TOKEN) return ev_token(x, t, out);
    evalue arg = {SL_SLICE_NULL, false};
    if (t->nsub == 1) {
        if (sl__ev_term(x, t->sub[0], &arg) != 0) return -1;
        if (arg.unset)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid unset value for argument in call to function %s",
                                 sl__exec_fn_name(t->fn));
    }
    return sl__ev_apply_fn(x, t->fn, t->arg_type, arg.v, &out->v);
}

static int ev_collection(exec_ctx *x, const pterm *t, evalue *out)
{
    sl_slice *elems = sl_arena_alloc(x->tmp, (t->nsub ? t->nsub : 1) * sizeof *elems);
    for (uint32_t i = 0; i < t->nsub; i++) {
        evalue ev;
        if (sl__ev_term(x, t->sub[i], &ev) != 0) return -1;
        if (ev.unset)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid unset value in %s",
                                 t->kind == PT_TUPLE ? "tuple" : "collection");
        if (!ev.v.ptr && t->kind != PT_TUPLE)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "null is not supported inside collections");
        elems[i] = ev.v;
    }
    sl_buf b = SL_BUF_INIT;
    sl_cql_collection_encode(t->type, elems, t->kind == PT_MAP ? t->nsub / 2 : t->nsub, &b);
    out->v = tmp_slice(x, &b);
    sl_buf_free(&b);
    return 0;
}

int sl__ev_term(exec_ctx *x, const pterm *t, evalue *out)
{
    out->v = SL_SLICE_NULL;
    out->unset = false;
    switch (t->kind) {
    case PT_CONST: out->v = t->value; return 0;
    case PT_BIND: {
        if (t->bind >= x->n_values)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "No value for bind variable %u",
                                 t->bind);
        const sl_cql_value *v = &x->values[t->bind];
        if (v->kind == SL_CQL_UNSET) {
            out->unset = true;
            return 0;
        }
        if (v->kind == SL_CQL_NULL) return 0;
        sl_slice s = v->bytes;
        if (!s.ptr) s.ptr = empty_bytes;
        if (s.len) {
            sl_buf err = SL_BUF_INIT;
            if (sl_cql_value_validate(t->type, s, &err) != 0) {
                sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s",
                              err.len ? sl_buf_cstr(&err) : "Invalid value");
                sl_buf_free(&err);
                return -1;
            }
            sl_buf_free(&err);
        } else if (sl_cql_dtype_is_collection(t->type) || t->type->kind == SL_CQL_TUPLE) {
            /* An empty collection's bytes are its zero count; 0 bytes are not a value. */
            sl_buf err = SL_BUF_INIT;
            if (sl_cql_value_validate(t->type, s, &err) != 0) {
                sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "%s",
                              err.len ? sl_buf_cstr(&err) : "Invalid value");
                sl_buf_free(&err);
                return -1;
            }
            sl_buf_free(&err);
        }
        out->v = s;
        return 0;
    }
    case PT_FUNC: return ev_func(x, t, out);
    default: return ev_collection(x, t, out);
    }
}

int sl__ev_term_required(exec_ctx *x, const pterm *t, const char *what, sl_slice *out)
{
    evalue v;
    if (sl__ev_term(x, t, &v) != 0) return -1;
    if (v.unset) return 1;
    if (!v.v.ptr)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid null value of %s", what);
    *out = v.v;
    return 0;
}

int sl__ev_in_list(exec_ctx *x, pterm **in, uint32_t n_in, pterm *in_list, const char *what,
                   sl_slice **out, uint32_t *n)
{
    if (in_list) {
        evalue v;
        if (sl__ev_term(x, in_list, &v) != 0) return -1;
        if (v.unset)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid unset value for column %s",
                                 what);
        if (!v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid null value for column %s",
                                 what);
        sl_cql_iter it;
        int cnt = sl_cql_iter_init(&it, in_list->type, v.v);
        if (cnt < 0)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid IN list for %s", what);
        sl_slice *vals = sl_arena_alloc(x->tmp, ((size_t)cnt ? (size_t)cnt : 1) * sizeof *vals);
        uint32_t k = 0;
        sl_slice el;
        while (sl_cql_iter_next(&it, &el) == 1) {
            if (!el.ptr)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Invalid null value in condition for column %s", what);
            vals[k++] = el;
        }
        *out = vals;
        *n = k;
        return 0;
    }
    sl_slice *vals = sl_arena_alloc(x->tmp, (n_in ? n_in : 1) * sizeof *vals);
    for (uint32_t i = 0; i < n_in; i++) {
        evalue v;
        if (sl__ev_term(x, in[i], &v) != 0) return -1;
        if (v.unset)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid unset value for column %s",
                                 what);
        if (!v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null value in condition for column %s", what);
        vals[i] = v.v;
    }
    *out = vals;
    *n = n_in;
    return 0;
}

/* The values one key column is restricted to (EQ or IN). */
static int key_values(exec_ctx *x, const sl_cql_column *col, key_restr *r, sl_slice **out,
                      uint32_t *n)
{
    if (r->eq) {
        evalue v;
        if (sl__ev_term(x, r->eq, &v) != 0) return -1;
        if (v.unset)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid unset value for column %s",
                                 col->name);
        if (!v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null value in condition for column %s", col->name);
        *out = sl_arena_alloc(x->tmp, sizeof **out);
        (*out)[0] = v.v;
        *n = 1;
        return 0;
    }
    return sl__ev_in_list(x, r->in, r->n_in, r->in_list, col->name, out, n);
}

/* Partition keys are ordered and deduplicated as Cassandra's MultiCBuilder does for IN: by
 * value with the key's type (component by component for a composite key), not by token. */
static const sl_cql_table *pk_sort_table;
static int pk_tuple_cmp(const void *a, const void *b)
{
    const sl_slice *x = *(const sl_slice *const *)a, *y = *(const sl_slice *const *)b;
    for (size_t i = 0; i < pk_sort_table->npk; i++) {
        int c = sl_cql_value_compare(pk_sort_table->pk[i]->type, x[i], y[i]);
        if (c) return c;
    }
    return 0;
}

int sl__ev_pk_set(exec_ctx *x, const sl_cql_table *t, key_restr *pk, pk_set *out)
{
    size_t npk = t->npk;
    sl_slice **vals = sl_arena_alloc(x->tmp, npk * sizeof *vals);
    uint32_t *nv = sl_arena_alloc(x->tmp, npk * sizeof *nv);
    uint64_t total = 1;
    for (size_t i = 0; i < npk; i++) {
        if (key_values(x, t->pk[i], &pk[i], &vals[i], &nv[i]) != 0) return -1;
        total *= nv[i];
        if (total > MAX_KEY_COMBINATIONS)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "IN restrictions on the partition key select too many partitions "
                                 "(more than %d)",
                                 MAX_KEY_COMBINATIONS);
    }
    out->keys = sl_arena_alloc(x->tmp, (total ? total : 1) * npk * sizeof *out->keys);
    out->n = 0;
    if (total == 1) { /* the common case: one key, nothing to order */
        for (size_t i = 0; i < npk; i++)
            out->keys[i] = vals[i][0];
        out->n = 1;
        return 0;
    }
    const sl_slice **tuples = sl_arena_alloc(x->tmp, (total ? total : 1) * sizeof *tuples);
    uint32_t *idx = sl_arena_alloc(x->tmp, npk * sizeof *idx);
    memset(idx, 0, npk * sizeof *idx);
    for (uint64_t k = 0; k < total; k++) {
        sl_slice *comps = sl_arena_alloc(x->tmp, npk * sizeof *comps);
        for (size_t i = 0; i < npk; i++)
            comps[i] = vals[i][idx[i]];
        tuples[k] = comps;
        for (size_t i = npk; i-- > 0;) {
            if (++idx[i] < nv[i]) break;
            idx[i] = 0;
        }
    }
    pk_sort_table = t;
    qsort(tuples, total, sizeof *tuples, pk_tuple_cmp);
    for (uint64_t k = 0; k < total; k++) {
        if (k > 0 && pk_tuple_cmp(&tuples[k], &tuples[k - 1]) == 0) continue;
        memcpy(out->keys + (size_t)out->n * npk, tuples[k], npk * sizeof *out->keys);
        out->n++;
    }
    return 0;
}

int sl__ck_compare_prefix(const sl_cql_table *t, const sl_slice *a, uint32_t na, const sl_slice *b,
                          uint32_t nb)
{
    uint32_t n = SL_MIN(na, nb);
    for (uint32_t i = 0; i < n; i++) {
        int c = sl_cql_value_compare(t->ck[i]->type, a[i], b[i]);
        if (c) return t->ck[i]->desc ? -c : c;
    }
    return 0;
}

bool sl__ck_in_range(const sl_cql_table *t, const sl_slice *ckv, const ck_range *r)
{
    if (r->nstart) {
        int c = sl__ck_compare_prefix(t, ckv, (uint32_t)t->nck, r->start, r->nstart);
        if (c < 0 || (c == 0 && !r->start_incl)) return false;
    }
    if (r->nend) {
        int c = sl__ck_compare_prefix(t, ckv, (uint32_t)t->nck, r->end, r->nend);
        if (c > 0 || (c == 0 && !r->end_incl)) return false;
    }
    return true;
}

/* Sorts one clustering column's values in clustering order and drops duplicates. */
static const sl_cql_column *sort_col;
static int ck_value_cmp(const void *a, const void *b)
{
    int c = sl_cql_value_compare(sort_col->type, *(const sl_slice *)a, *(const sl_slice *)b);
    return sort_col->desc ? -c : c;
}

static uint32_t sort_unique(const sl_cql_column *col, sl_slice *v, uint32_t n)
{
    sort_col = col;
    qsort(v, n, sizeof *v, ck_value_cmp);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (k == 0 || ck_value_cmp(&v[k - 1], &v[i]) != 0) v[k++] = v[i];
    return k;
}

/* Splits a tuple value into n components. */
static int tuple_comps(exec_ctx *x, const sl_cql_table *t, const sl_cql_dtype *tt, sl_slice v,
                       uint32_t n, sl_slice *out)
{
    sl_cql_iter it;
    if (sl_cql_iter_init(&it, tt, v) < 0)
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid tuple value");
    for (uint32_t i = 0; i < n; i++) {
        if (sl_cql_iter_next(&it, &out[i]) != 1 || !out[i].ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid null value in condition for column %s", t->ck[i]->name);
    }
    return 0;
}

static const sl_cql_table *sort_table;
static uint32_t sort_n;
static int prefix_cmp(const void *a, const void *b)
{
    return sl__ck_compare_prefix(sort_table, *(const sl_slice *const *)a, sort_n,
                                 *(const sl_slice *const *)b, sort_n);
}

static int ev_multi_ranges(exec_ctx *x, const sl_cql_table *t, const multi_restr *m, ck_range **out,
                           uint32_t *n)
{
    if (m->eq || m->in || m->in_list) {
        sl_slice *tuples;
        uint32_t nt;
        if (m->eq) {
            evalue v;
            if (sl__ev_term(x, m->eq, &v) != 0) return -1;
            if (v.unset || !v.v.ptr)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Invalid %s value in condition for column %s",
                                     v.unset ? "unset" : "null", t->ck[0]->name);
            tuples = sl_arena_alloc(x->tmp, sizeof *tuples);
            tuples[0] = v.v;
            nt = 1;
        } else if (sl__ev_in_list(x, m->in, m->n_in, m->in_list, t->ck[0]->name, &tuples, &nt) !=
                   0) {
            return -1;
        }
        const sl_cql_dtype *tt = m->eq        ? m->eq->type
                                 : m->in_list ? m->in_list->type->sub[0]
                                              : m->in[0]->type;
        sl_slice **pre = sl_arena_alloc(x->tmp, (nt ? nt : 1) * sizeof *pre);
        for (uint32_t i = 0; i < nt; i++) {
            pre[i] = sl_arena_alloc(x->tmp, m->ncols * sizeof **pre);
            if (tuple_comps(x, t, tt, tuples[i], m->ncols, pre[i]) != 0) return -1;
        }
        sort_table = t;
        sort_n = m->ncols;
        qsort(pre, nt, sizeof *pre, prefix_cmp);
        ck_range *r = sl_arena_alloc(x->tmp, (nt ? nt : 1) * sizeof *r);
        uint32_t k = 0;
        for (uint32_t i = 0; i < nt; i++) {
            if (k && prefix_cmp(&pre[i], &pre[i - 1]) == 0) continue;
            r[k++] = (ck_range){pre[i], m->ncols, true, pre[i], m->ncols, true};
        }
        *out = r;
        *n = k;
        return 0;
    }
    ck_range *r = sl_arena_alloc(x->tmp, sizeof *r);
    memset(r, 0, sizeof *r);
    sl_slice *lo = NULL, *hi = NULL;
    if (m->lo) {
        evalue v;
        if (sl__ev_term(x, m->lo, &v) != 0) return -1;
        if (v.unset || !v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid %s value in condition for column %s",
                                 v.unset ? "unset" : "null", t->ck[0]->name);
        lo = sl_arena_alloc(x->tmp, m->nlo * sizeof *lo);
        if (tuple_comps(x, t, m->lo->type, v.v, m->nlo, lo) != 0) return -1;
    }
    if (m->hi) {
        evalue v;
        if (sl__ev_term(x, m->hi, &v) != 0) return -1;
        if (v.unset || !v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "Invalid %s value in condition for column %s",
                                 v.unset ? "unset" : "null", t->ck[0]->name);
        hi = sl_arena_alloc(x->tmp, m->nhi * sizeof *hi);
        if (tuple_comps(x, t, m->hi->type, v.v, m->nhi, hi) != 0) return -1;
    }
    /* Every column of the tuple has the same order (checked in analysis): DESC swaps the
     * bounds, since the store's bounds follow clustering order. */
    bool desc = t->ck[0]->desc;
    sl_slice *s = desc ? hi : lo, *e = desc ? lo : hi;
    r->start = s;
    r->nstart = s ? (desc ? m->nhi : m->nlo) : 0;
    r->start_incl = desc ? m->hi_incl : m->lo_incl;
    r->end = e;
    r->nend = e ? (desc ? m->nlo : m->nhi) : 0;
    r->end_incl = desc ? m->lo_incl : m->hi_incl;
    *out = r;
    *n = 1;
    return 0;
}

int sl__ev_ck_ranges(exec_ctx *x, const sl_cql_table *t, key_restr *ck, const multi_restr *multi,
                     uint32_t n_eq, ck_range **out, uint32_t *n)
{
    if (multi && multi->has) return ev_multi_ranges(x, t, multi, out, n);
    sl_slice **vals = sl_arena_alloc(x->tmp, (n_eq ? n_eq : 1) * sizeof *vals);
    uint32_t *nv = sl_arena_alloc(x->tmp, (n_eq ? n_eq : 1) * sizeof *nv);
    uint64_t total = 1;
    for (uint32_t i = 0; i < n_eq; i++) {
        if (key_values(x, t->ck[i], &ck[i], &vals[i], &nv[i]) != 0) return -1;
        nv[i] = sort_unique(t->ck[i], vals[i], nv[i]);
        total *= nv[i];
        if (total > MAX_KEY_COMBINATIONS)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                 "IN restrictions on clustering columns select too many rows (more "
                                 "than %d)",
                                 MAX_KEY_COMBINATIONS);
    }
    /* The slice on the column after the EQ/IN prefix, if any. */
    sl_slice lo = SL_SLICE_NULL, hi = SL_SLICE_NULL;
    bool has_lo = false, has_hi = false, lo_incl = false, hi_incl = false;
    const sl_cql_column *sc = n_eq < t->nck ? t->ck[n_eq] : NULL;
    if (sc && ck[n_eq].has && (ck[n_eq].lo || ck[n_eq].hi)) {
        key_restr *r = &ck[n_eq];
        for (int side = 0; side < 2; side++) {
            pterm *pt = side ? r->hi : r->lo;
            if (!pt) continue;
            evalue v;
            if (sl__ev_term(x, pt, &v) != 0) return -1;
            if (v.unset)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Invalid unset value for column %s", sc->name);
            if (!v.v.ptr)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Invalid null value in condition for column %s", sc->name);
            if (side) {
                hi = v.v;
                has_hi = true;
                hi_incl = r->hi_incl;
            } else {
                lo = v.v;
                has_lo = true;
                lo_incl = r->lo_incl;
            }
        }
    }
    ck_range *rs = sl_arena_alloc(x->tmp, (total ? total : 1) * sizeof *rs);
    uint32_t *idx = sl_arena_alloc(x->tmp, (n_eq ? n_eq : 1) * sizeof *idx);
    memset(idx, 0, (n_eq ? n_eq : 1) * sizeof *idx);
    for (uint64_t k = 0; k < total; k++) {
        sl_slice *pre = sl_arena_alloc(x->tmp, (n_eq + 1) * sizeof *pre);
        for (uint32_t i = 0; i < n_eq; i++)
            pre[i] = vals[i][idx[i]];
        ck_range *r = &rs[k];
        r->start = r->end = pre;
        r->nstart = r->nend = n_eq;
        r->start_incl = r->end_incl = true;
        if (has_lo || has_hi) {
            /* Bounds follow clustering order: on a DESC column the lower value is the end. */
            bool desc = sc->desc;
            bool s_has = desc ? has_hi : has_lo, e_has = desc ? has_lo : has_hi;
            if (s_has) {
                sl_slice *sp = sl_arena_alloc(x->tmp, (n_eq + 1) * sizeof *sp);
                memcpy(sp, pre, n_eq * sizeof *sp);
                sp[n_eq] = desc ? hi : lo;
                r->start = sp;
                r->nstart = n_eq + 1;
                r->start_incl = desc ? hi_incl : lo_incl;
            }
            if (e_has) {
                sl_slice *ep = sl_arena_alloc(x->tmp, (n_eq + 1) * sizeof *ep);
                memcpy(ep, pre, n_eq * sizeof *ep);
                ep[n_eq] = desc ? lo : hi;
                r->end = ep;
                r->nend = n_eq + 1;
                r->end_incl = desc ? lo_incl : hi_incl;
            }
        }
        for (uint32_t i = n_eq; i-- > 0;) {
            if (++idx[i] < nv[i]) break;
            idx[i] = 0;
        }
    }
    *out = rs;
    *n = (uint32_t)total;
    return 0;
}

/* The element of a map (by key) or list (by index) inside collection value v of type ct. */
static sl_slice collection_elem(const sl_cql_dtype *ct, sl_slice v, sl_slice key)
{
    sl_cql_iter it;
    if (!v.ptr || sl_cql_iter_init(&it, ct, v) < 0) return SL_SLICE_NULL;
    sl_slice a, b;
    if (ct->kind == SL_CQL_MAP) {
        while (sl_cql_iter_next(&it, &a) == 1 && sl_cql_iter_next(&it, &b) == 1)
            if (sl_cql_value_compare(ct->sub[0], a, key) == 0) return b;
        return SL_SLICE_NULL;
    }
    if (key.len != 4) return SL_SLICE_NULL;
    int32_t want = (int32_t)sl_get_be32(key.ptr);
    for (int32_t i = 0; sl_cql_iter_next(&it, &a) == 1; i++)
        if (i == want) return a;
    return SL_SLICE_NULL;
}

static bool values_equal(const sl_cql_dtype *t, sl_slice a, sl_slice b)
{
    if (!a.ptr || !b.ptr) return !a.ptr && !b.ptr;
    return sl_cql_value_compare(t, a, b) == 0;
}

int sl__ev_filter(exec_ctx *x, const sl_cql_table *t, const pfilter *f, const sl_store_row *row)
{
    const sl_cql_column *col = &t->columns[f->col];
    sl_slice cell = row->cells[f->col].value;
    const sl_cql_dtype *vt = col->type;
    if (f->elem_key) {
        evalue k;
        if (sl__ev_term(x, f->elem_key, &k) != 0) return -1;
        if (k.unset || !k.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Invalid %s value for %s element",
                                 k.unset ? "unset" : "null", col->name);
        cell = collection_elem(col->type, cell, k.v);
        vt = col->type->kind == SL_CQL_MAP ? col->type->sub[1] : col->type->sub[0];
    }
    switch (f->op) {
    case SL_CQL_OP_IN: {
        sl_slice *vals;
        uint32_t n;
        if (f->in_list) {
            evalue v;
            if (sl__ev_term(x, f->in_list, &v) != 0) return -1;
            if (v.unset || !v.v.ptr) return 0;
            sl_cql_iter it;
            if (sl_cql_iter_init(&it, f->in_list->type, v.v) < 0) return 0;
            sl_slice el;
            while (sl_cql_iter_next(&it, &el) == 1)
                if (values_equal(vt, cell, el)) return 1;
            return 0;
        }
        vals = sl_arena_alloc(x->tmp, (f->n_in ? f->n_in : 1) * sizeof *vals);
        n = f->n_in;
        for (uint32_t i = 0; i < n; i++) {
            evalue v;
            if (sl__ev_term(x, f->in[i], &v) != 0) return -1;
            if (v.unset) continue;
            if (!v.v.ptr && !f->cond)
                return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                                     "Unsupported null value for column %s", col->name);
            if (values_equal(vt, cell, v.v)) return 1;
        }
        return 0;
    }
    case SL_CQL_OP_CONTAINS:
    case SL_CQL_OP_CONTAINS_KEY: {
        evalue v;
        if (sl__ev_term(x, f->value, &v) != 0) return -1;
        if (v.unset || !v.v.ptr)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported %s value for column %s",
                                 v.unset ? "unset" : "null", col->name);
        if (!cell.ptr) return 0;
        sl_cql_iter it;
        if (sl_cql_iter_init(&it, col->type, cell) < 0) return 0;
        sl_slice a, b;
        if (col->type->kind == SL_CQL_MAP) {
            while (sl_cql_iter_next(&it, &a) == 1 && sl_cql_iter_next(&it, &b) == 1) {
                if (f->op == SL_CQL_OP_CONTAINS_KEY && values_equal(col->type->sub[0], a, v.v))
                    return 1;
                if (f->op == SL_CQL_OP_CONTAINS && values_equal(col->type->sub[1], b, v.v))
                    return 1;
            }
            return 0;
        }
        while (sl_cql_iter_next(&it, &a) == 1)
            if (values_equal(col->type->sub[0], a, v.v)) return 1;
        return 0;
    }
    default: break;
    }
    evalue v;
    if (sl__ev_term(x, f->value, &v) != 0) return -1;
    if (v.unset) {
        if (f->cond) return 1;
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported unset value for column %s",
                             col->name);
    }
    if (!v.v.ptr) {
        if (!f->cond)
            return sl__exec_fail(x->res, SL_CQL_ERR_INVALID, "Unsupported null value for column %s",
                                 col->name);
        if (f->op == SL_CQL_OP_EQ) return !cell.ptr;
        if (f->op == SL_CQL_OP_NEQ) return cell.ptr != NULL;
        return sl__exec_fail(x->res, SL_CQL_ERR_INVALID,
                             "Invalid comparison with null for operator \"%s\"",
                             f->op == SL_CQL_OP_LT    ? "<"
                             : f->op == SL_CQL_OP_LTE ? "<="
                             : f->op == SL_CQL_OP_GT  ? ">"
                                                      : ">=");
    }
    if (f->op == SL_CQL_OP_NEQ) return !values_equal(vt, cell, v.v);
    if (!cell.ptr) return 0;
    int c = sl_cql_value_compare(vt, cell, v.v);
    switch (f->op) {
    case SL_CQL_OP_EQ: return c == 0;
    case SL_CQL_OP_LT: return c < 0;
    case SL_CQL_OP_LTE: return c <= 0;
    case SL_CQL_OP_GT: return c > 0;
    case SL_CQL_OP_GTE: return c >= 0;
    default: return 0;
    }
}
