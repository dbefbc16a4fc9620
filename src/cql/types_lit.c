/* types_lit.c: literal terms (ast.h), literal text and JSON values to serialized values. The
 * literal text parser builds the same term nodes the CQL parser does, so one converter serves
 * both. */
#include "cql/types.h"
#include "cql/types_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <strings.h>

typedef struct conv {
    sl_buf *err;
    int depth;
} conv;

static void type_text(const sl_cql_dtype *t, sl_buf *b)
{
    sl_cql_dtype_to_cql(t, b);
}

/* Element receiver names as Cassandra prints them: value(l), key(m), c[0]. */
static char *elem_name(const char *column, const char *what, size_t idx)
{
    sl_buf b = SL_BUF_INIT;
    if (!strcmp(what, "field"))
        sl_buf_printf(&b, "%s[%zu]", column ? column : "?", idx);
    else
        sl_buf_printf(&b, "%s(%s)", what, column ? column : "?");
    return (char *)sl_buf_cstr(&b);
}

static int from_term(conv *c, const sl_cql_dtype *t, const sl_cql_term *term, const char *column,
                     sl_buf *out, bool *is_null);

static int bad_literal(conv *c, const char *kind, const sl_cql_dtype *t, const char *column)
{
    sl_buf_printf(c->err, "Invalid %s literal for %s of type ", kind, column ? column : "?");
    type_text(t, c->err);
    return SL_ERR_INVAL;
}

/* Converts n element terms into one buffer; slices are built once it no longer moves. */
static int convert_elems(conv *c, const sl_cql_dtype *t, sl_cql_term *const *terms,
                         const sl_cql_dtype *const *types, const char *const *names, size_t n,
                         bool nulls_ok, sl_buf *out)
{
    sl_buf tmp = SL_BUF_INIT;
    size_t *off = sl_malloc((n + 1) * sizeof(*off));
    bool *nul = sl_calloc(n + 1, sizeof(*nul));
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        off[i] = tmp.len;
        rc = from_term(c, types[i], terms[i], names[i], &tmp, &nul[i]);
        if (!rc && nul[i] && !nulls_ok) {
            sl_buf_printf(c->err, "null is not supported inside collections");
            rc = SL_ERR_INVAL;
        }
    }
    off[n] = tmp.len;
    if (!rc) {
        sl_slice *el = sl_malloc((n + 1) * sizeof(*el));
        for (size_t i = 0; i < n; i++)
            el[i] = nul[i] ? SL_SLICE_NULL
                           : (sl_slice){tmp.ptr ? tmp.ptr + off[i] : (const uint8_t *)"",
                                        off[i + 1] - off[i]};
        sl_cql_collection_encode(t, el, t->kind == SL_CQL_MAP ? n / 2 : n, out);
        sl_free(el);
    }
    sl_free(off);
    sl_free(nul);
    sl_buf_free(&tmp);
    return rc;
}

static int from_collection(conv *c, const sl_cql_dtype *t, const sl_cql_term *term,
                           const char *column, sl_buf *out)
{
    size_t n;
    sl_cql_term **terms;
    bool free_terms = false;
    const char *kind = term->kind == SL_CQL_TERM_LIST  ? "list"
                       : term->kind == SL_CQL_TERM_SET ? "set"
                       : term->kind == SL_CQL_TERM_MAP ? "map"
                                                       : "tuple";
    switch (term->kind) {
    case SL_CQL_TERM_LIST:
        if (t->kind != SL_CQL_LIST) return bad_literal(c, kind, t, column);
        n = term->u.items.n;
        terms = term->u.items.items;
        break;
    case SL_CQL_TERM_SET:
        if (t->kind != SL_CQL_SET) return bad_literal(c, kind, t, column);
        n = term->u.items.n;
        terms = term->u.items.items;
        break;
    case SL_CQL_TERM_MAP:
        if (t->kind == SL_CQL_SET && term->u.map.n == 0) { /* {} is an empty set too */
            sl_buf_put_be32(out, 0);
            return 0;
        }
        if (t->kind != SL_CQL_MAP) return bad_literal(c, kind, t, column);
        n = (size_t)term->u.map.n * 2;
        terms = sl_malloc((n + 1) * sizeof(*terms));
        free_terms = true;
        for (size_t i = 0; i < term->u.map.n; i++) {
            terms[2 * i] = term->u.map.keys[i];
            terms[2 * i + 1] = term->u.map.values[i];
        }
        break;
    case SL_CQL_TERM_TUPLE:
        if (t->kind != SL_CQL_TUPLE) return bad_literal(c, kind, t, column);
        n = term->u.items.n;
        terms = term->u.items.items;
        if (n > t->nsub) {
            sl_buf_printf(c->err, "Invalid tuple literal for %s: too many elements. Type ",
                          column ? column : "?");
            type_text(t, c->err);
            sl_buf_printf(c->err, " expects %u but got %zu", t->nsub, n);
            return SL_ERR_INVAL;
        }
        break;
    default: return SL_ERR_INVAL;
    }
    const sl_cql_dtype **types = sl_malloc((n + 1) * sizeof(*types));
    char **names = sl_malloc((n + 1) * sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        if (t->kind == SL_CQL_MAP) {
            types[i] = t->sub[i & 1];
            names[i] = elem_name(column, i & 1 ? "value" : "key", i / 2);
        } else if (t->kind == SL_CQL_TUPLE) {
            types[i] = t->sub[i];
            names[i] = elem_name(column, "field", i);
        } else {
            types[i] = t->sub[0];
            names[i] = elem_name(column, "value", i);
        }
    }
    int rc = convert_elems(c, t, terms, types, (const char *const *)names, n,
                           t->kind == SL_CQL_TUPLE, out);
    for (size_t i = 0; i < n; i++)
        sl_free(names[i]);
    sl_free(names);
    sl_free(types);
    if (free_terms) sl_free(terms);
    return rc;
}

static int from_term(conv *c, const sl_cql_dtype *t, const sl_cql_term *term, const char *column,
                     sl_buf *out, bool *is_null)
{
    *is_null = false;
    if (++c->depth > SL_CQL_TYPE_MAX_DEPTH) {
        sl_buf_printf(c->err, "Literal nesting too deep");
        return SL_ERR_INVAL;
    }
    int rc;
    sl_slice text = {(const uint8_t *)term->text, term->len};
    switch (term->kind) {
    case SL_CQL_TERM_NULL:
        *is_null = true;
        rc = 0;
        break;
    case SL_CQL_TERM_STRING:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_STRING, text, column, out, c->err);
        break;
    case SL_CQL_TERM_INTEGER:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_INTEGER, text, column, out, c->err);
        break;
    case SL_CQL_TERM_FLOAT:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_FLOAT, text, column, out, c->err);
        break;
    case SL_CQL_TERM_UUID:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_UUID, text, column, out, c->err);
        break;
    case SL_CQL_TERM_BOOLEAN:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_BOOLEAN, text, column, out, c->err);
        break;
    case SL_CQL_TERM_BLOB:
        rc = sl_cql_value_from_const(t, SL_CQL_CONST_HEX, text, column, out, c->err);
        break;
    case SL_CQL_TERM_DURATION:
        sl_buf_printf(c->err, "Invalid DURATION constant (%.*s) for \"%s\" of type ",
                      (int)term->len, term->text, column ? column : "?");
        type_text(t, c->err);
        rc = SL_ERR_INVAL;
        break;
    case SL_CQL_TERM_LIST:
    case SL_CQL_TERM_SET:
    case SL_CQL_TERM_MAP:
    case SL_CQL_TERM_TUPLE: rc = from_collection(c, t, term, column, out); break;
    case SL_CQL_TERM_UDT: rc = bad_literal(c, "user type", t, column); break;
    case SL_CQL_TERM_HINT: rc = from_term(c, t, term->u.hint.term, column, out, is_null); break;
    default: rc = SL_ERR_UNSUPPORTED; break;
    }
    c->depth--;
    return rc;
}

int sl_cql_value_from_term(const sl_cql_dtype *t, const sl_cql_term *term, const char *column,
                           sl_buf *out, bool *is_null, sl_buf *err)
{
    conv c = {err, 0};
    size_t start = out->len;
    int rc = from_term(&c, t, term, column, out, is_null);
    if (rc) out->len = start;
    return rc;
}

/* ---- literal text -> terms ---- */

typedef struct lparser {
    const char *p, *end;
    sl_arena *a;
    sl_buf *err;
    int depth;
} lparser;

static void lp_ws(lparser *lp)
{
    while (lp->p < lp->end && isspace((unsigned char)*lp->p))
        lp->p++;
}

static bool is_hex_run(const char *p, const char *end, size_t n)
{
    if ((size_t)(end - p) < n) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)p[i])) return false;
    return true;
}

static bool looks_like_uuid(const char *p, const char *end)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        if (!is_hex_run(p, end, groups[g])) return false;
        p += groups[g];
        if (g < 4) {
            if (p >= end || *p != '-') return false;
            p++;
        }
    }
    return p == end || !isalnum((unsigned char)*p);
}

static sl_cql_term *lp_new(lparser *lp, sl_cql_term_kind kind, const char *s, size_t n)
{
    sl_cql_term *t = sl_arena_alloc(lp->a, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    if (s) {
        t->text = sl_arena_strndup(lp->a, s, n);
        t->len = (uint32_t)n;
    }
    return t;
}

static int lp_fail(lparser *lp, const char *what)
{
    sl_buf_printf(lp->err, "Invalid literal: %s at '%.*s'", what, (int)SL_MIN(lp->end - lp->p, 20),
                  lp->p);
    return SL_ERR_INVAL;
}

static int lp_term(lparser *lp, sl_cql_term **out);

/* Reads terms separated by ',' until close; with colon, key: value pairs. */
static int lp_items(lparser *lp, char close, bool *is_map, sl_cql_term ***keys, sl_cql_term ***vals,
                    uint32_t *n)
{
    size_t cap = 8;
    *keys = sl_arena_alloc(lp->a, cap * sizeof(**keys));
    *vals = sl_arena_alloc(lp->a, cap * sizeof(**vals));
    *n = 0;
    lp_ws(lp);
    if (lp->p < lp->end && *lp->p == close) {
        lp->p++;
        return 0;
    }
    for (;;) {
        sl_cql_term *k, *v = NULL;
        int rc = lp_term(lp, &k);
        if (rc) return rc;
        lp_ws(lp);
        bool colon = lp->p < lp->end && *lp->p == ':';
        if (*n == 0 && close == '}') *is_map = colon;
        if (colon != (*is_map && close == '}')) return lp_fail(lp, "mixed set and map entries");
        if (colon) {
            lp->p++;
            if ((rc = lp_term(lp, &v))) return rc;
        }
        if (*n == cap) {
            sl_cql_term **nk = sl_arena_alloc(lp->a, 2 * cap * sizeof(*nk));
            sl_cql_term **nv = sl_arena_alloc(lp->a, 2 * cap * sizeof(*nv));
            memcpy(nk, *keys, cap * sizeof(*nk));
            memcpy(nv, *vals, cap * sizeof(*nv));
            *keys = nk;
            *vals = nv;
            cap *= 2;
        }
        (*keys)[*n] = k;
        (*vals)[*n] = v;
        (*n)++;
        lp_ws(lp);
        if (lp->p < lp->end && *lp->p == ',') {
            lp->p++;
            continue;
        }
        if (lp->p < lp->end && *lp->p == close) {
            lp->p++;
            return 0;
        }
        return lp_fail(lp, "expected ',' or closing bracket");
    }
}

static int lp_term(lparser *lp, sl_cql_term **out)
{
    lp_ws(lp);
    if (lp->p >= lp->end) return lp_fail(lp, "unexpected end");
    if (++lp->depth > SL_CQL_TYPE_MAX_DEPTH) return lp_fail(lp, "nesting too deep");
    const char *s = lp->p;
    char ch = *s;
    int rc = 0;
    if (ch == '[' || ch == '{' || ch == '(') {
        char close = ch == '[' ? ']' : ch == '{' ? '}' : ')';
        bool is_map = false;
        sl_cql_term **keys, **vals;
        uint32_t n;
        lp->p++;
        if ((rc = lp_items(lp, close, &is_map, &keys, &vals, &n))) return rc;
        sl_cql_term *t;
        if (ch == '{' && (is_map || n == 0)) {
            t = lp_new(lp, SL_CQL_TERM_MAP, NULL, 0);
            t->u.map.keys = keys;
            t->u.map.values = vals;
            t->u.map.n = n;
        } else {
            t = lp_new(lp,
                       ch == '['   ? SL_CQL_TERM_LIST
                       : ch == '{' ? SL_CQL_TERM_SET
                                   : SL_CQL_TERM_TUPLE,
                       NULL, 0);
            t->u.items.items = keys;
            t->u.items.n = n;
        }
        *out = t;
    } else if (ch == '\'') {
        sl_buf v = SL_BUF_INIT;
        lp->p++;
        for (;;) {
            if (lp->p >= lp->end) {
                sl_buf_free(&v);
                return lp_fail(lp, "unterminated string");
            }
            if (*lp->p == '\'') {
                if (lp->p + 1 < lp->end && lp->p[1] == '\'') {
                    sl_buf_append(&v, "'", 1);
                    lp->p += 2;
                    continue;
                }
                lp->p++;
                break;
            }
            sl_buf_append(&v, lp->p++, 1);
        }
        *out = lp_new(lp, SL_CQL_TERM_STRING, v.ptr ? (const char *)v.ptr : "", v.len);
        sl_buf_free(&v);
    } else if (ch == '$' && lp->end - s >= 2 && s[1] == '$') {
        const char *b = s + 2, *e = b;
        while (e + 1 < lp->end && !(e[0] == '$' && e[1] == '$'))
            e++;
        if (e + 1 >= lp->end) return lp_fail(lp, "unterminated $$ string");
        *out = lp_new(lp, SL_CQL_TERM_STRING, b, (size_t)(e - b));
        lp->p = e + 2;
    } else if (looks_like_uuid(s, lp->end)) {
        lp->p += 36;
        *out = lp_new(lp, SL_CQL_TERM_UUID, s, 36);
    } else if (ch == '0' && lp->end - s >= 2 && (s[1] == 'x' || s[1] == 'X')) {
        lp->p += 2;
        while (lp->p < lp->end && isxdigit((unsigned char)*lp->p))
            lp->p++;
        *out = lp_new(lp, SL_CQL_TERM_BLOB, s, (size_t)(lp->p - s));
    } else if (isdigit((unsigned char)ch) || ch == '-' || ch == '+' || ch == '.') {
        bool is_float = false;
        const char *p = s + (ch == '-' || ch == '+');
        if (lp->end - p >= 8 && !strncmp(p, "Infinity", 8)) {
            p += 8;
            is_float = true;
        } else if (lp->end - p >= 3 && !strncmp(p, "NaN", 3)) {
            p += 3;
            is_float = true;
        } else {
            while (p < lp->end && isdigit((unsigned char)*p))
                p++;
            if (p < lp->end && *p == '.') {
                is_float = true;
                for (p++; p < lp->end && isdigit((unsigned char)*p); p++)
                    ;
            }
            if (p < lp->end && (*p == 'e' || *p == 'E')) {
                is_float = true;
                p++;
                if (p < lp->end && (*p == '-' || *p == '+')) p++;
                while (p < lp->end && isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (p == s + (ch == '-' || ch == '+')) return lp_fail(lp, "bad number");
        lp->p = p;
        *out = lp_new(lp, is_float ? SL_CQL_TERM_FLOAT : SL_CQL_TERM_INTEGER, s, (size_t)(p - s));
    } else if (isalpha((unsigned char)ch)) {
        const char *p = s;
        while (p < lp->end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        size_t n = (size_t)(p - s);
        lp->p = p;
        if (n == 4 && !strncasecmp(s, "null", 4))
            *out = lp_new(lp, SL_CQL_TERM_NULL, NULL, 0);
        else if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 5 && !strncasecmp(s, "false", 5)))
            *out = lp_new(lp, SL_CQL_TERM_BOOLEAN, n == 4 ? "true" : "false", n);
        else if ((n == 3 && !strncmp(s, "NaN", 3)) || (n == 8 && !strncmp(s, "Infinity", 8)))
            *out = lp_new(lp, SL_CQL_TERM_FLOAT, s, n);
        else {
            lp->p = s;
            return lp_fail(lp, "unexpected word");
        }
    } else {
        return lp_fail(lp, "unexpected character");
    }
    lp->depth--;
    return rc;
}

int sl_cql_value_parse_literal(const sl_cql_dtype *t, sl_slice text, const char *column,
                               sl_buf *out, bool *is_null, sl_buf *err)
{
    sl_arena a;
    sl_arena_init(&a, 4096);
    lparser lp = {(const char *)text.ptr, (const char *)text.ptr + text.len, &a, err, 0};
    sl_cql_term *term = NULL;
    int rc = lp_term(&lp, &term);
    if (!rc) {
        lp_ws(&lp);
        if (lp.p != lp.end) rc = lp_fail(&lp, "trailing characters");
    }
    if (!rc) rc = sl_cql_value_from_term(t, term, column, out, is_null, err);
    sl_arena_free(&a);
    return rc;
}

/* ---- JSON ---- */

static int json_conv(conv *c, const sl_cql_dtype *t, const json_t *j, const char *column,
                     sl_buf *out, bool *is_null);

static int json_bad(conv *c, const sl_cql_dtype *t, const json_t *j, const char *column)
{
    char *txt = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    sl_buf_printf(c->err, "Error decoding JSON value for %s: Unable to make ",
                  column ? column : "?");
    type_text(t, c->err);
    sl_buf_printf(c->err, " from %s", txt ? txt : "?");
    free(txt);
    return SL_ERR_INVAL;
}

/* A JSON scalar as a constant of the kind the type expects. */
static int json_scalar(conv *c, const sl_cql_dtype *t, const json_t *j, const char *column,
                       sl_buf *out)
{
    char num[64];
    sl_slice text;
    sl_cql_const_kind ck;
    switch (json_typeof(j)) {
    case JSON_STRING:
        text = (sl_slice){(const uint8_t *)json_string_value(j), json_string_length(j)};
        switch (t->kind) {
        case SL_CQL_ASCII:
        case SL_CQL_TEXT:
        case SL_CQL_TIMESTAMP:
        case SL_CQL_DATE:
        case SL_CQL_TIME:
        case SL_CQL_INET: ck = SL_CQL_CONST_STRING; break;
        case SL_CQL_UUID:
        case SL_CQL_TIMEUUID: ck = SL_CQL_CONST_UUID; break;
        case SL_CQL_BLOB: ck = SL_CQL_CONST_HEX; break;
        case SL_CQL_BOOLEAN: ck = SL_CQL_CONST_BOOLEAN; break;
        case SL_CQL_FLOAT:
        case SL_CQL_DOUBLE:
        case SL_CQL_DECIMAL: ck = SL_CQL_CONST_FLOAT; break;
        default: ck = SL_CQL_CONST_INTEGER; break;
        }
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        text = SL_SLICE_STR(num);
        ck = SL_CQL_CONST_INTEGER;
        break;
    case JSON_REAL: {
        double d = json_real_value(j);
        if (t->kind == SL_CQL_FLOAT || t->kind == SL_CQL_DOUBLE || t->kind == SL_CQL_DECIMAL) {
            snprintf(num, sizeof(num), "%.17g", d);
            ck = SL_CQL_CONST_FLOAT;
        } else if (d == floor(d) && fabs(d) < 9.2e18) {
            snprintf(num, sizeof(num), "%.0f", d);
            ck = SL_CQL_CONST_INTEGER;
        } else {
            return json_bad(c, t, j, column);
        }
        text = SL_SLICE_STR(num);
        break;
    }
    case JSON_TRUE:
    case JSON_FALSE:
        text = SL_SLICE_STR(json_is_true(j) ? "true" : "false");
        ck = SL_CQL_CONST_BOOLEAN;
        break;
    default: return json_bad(c, t, j, column);
    }
    if (t->kind == SL_CQL_DECIMAL && json_is_integer(j)) ck = SL_CQL_CONST_INTEGER;
    size_t mark = c->err->len;
    int rc = sl_cql_value_from_const(t, ck, text, column, out, c->err);
    if (rc == SL_ERR_INVAL && !json_is_string(j)) {
        c->err->len = mark;
        return json_bad(c, t, j, column);
    }
    return rc;
}

static int json_collection(conv *c, const sl_cql_dtype *t, const json_t *j, const char *column,
                           sl_buf *out)
{
    bool map = t->kind == SL_CQL_MAP;
    if (map ? !json_is_object(j) : !json_is_array(j)) return json_bad(c, t, j, column);
    size_t n = map ? json_object_size(j) * 2 : json_array_size(j);
    if (t->kind == SL_CQL_TUPLE && n > t->nsub) return json_bad(c, t, j, column);
    sl_buf tmp = SL_BUF_INIT;
    size_t *off = sl_malloc((n + 1) * sizeof(*off));
    bool *nul = sl_calloc(n + 1, sizeof(*nul));
    int rc = 0;
    if (map) {
        const char *key;
        json_t *val;
        size_t i = 0;
        bool text_key = t->sub[0]->kind == SL_CQL_TEXT || t->sub[0]->kind == SL_CQL_ASCII;
        json_object_foreach((json_t *)j, key, val)
        {
            /* Keys are JSON strings holding the key's own JSON (except for string keys). */
            json_t *kj = text_key ? NULL : json_loads(key, JSON_DECODE_ANY, NULL);
            json_t *ks = kj ? NULL : json_string(key);
            off[i] = tmp.len;
            rc = json_conv(c, t->sub[0], kj ? kj : ks, column, &tmp, &nul[i]);
            if (kj) json_decref(kj);
            if (ks) json_decref(ks);
            if (rc) break;
            off[i + 1] = tmp.len;
            rc = json_conv(c, t->sub[1], val, column, &tmp, &nul[i + 1]);
            if (rc) break;
            if (nul[i] || nul[i + 1]) {
                sl_buf_printf(c->err, "null is not supported inside collections");
                rc = SL_ERR_INVAL;
                break;
            }
            i += 2;
        }
    } else {
        for (size_t i = 0; i < n && !rc; i++) {
            off[i] = tmp.len;
            const sl_cql_dtype *et = t->kind == SL_CQL_TUPLE ? t->sub[i] : t->sub[0];
            rc = json_conv(c, et, json_array_get(j, i), column, &tmp, &nul[i]);
            if (!rc && nul[i] && t->kind != SL_CQL_TUPLE) {
                sl_buf_printf(c->err, "null is not supported inside collections");
                rc = SL_ERR_INVAL;
            }
        }
    }
    off[n] = tmp.len;
    if (!rc) {
        sl_slice *el = sl_malloc((n + 1) * sizeof(*el));
        for (size_t i = 0; i < n; i++)
            el[i] = nul[i] ? SL_SLICE_NULL
                           : (sl_slice){tmp.ptr ? tmp.ptr + off[i] : (const uint8_t *)"",
                                        (i + 1 < n ? off[i + 1] : tmp.len) - off[i]};
        sl_cql_collection_encode(t, el, map ? n / 2 : n, out);
        sl_free(el);
    }
    sl_free(off);
    sl_free(nul);
    sl_buf_free(&tmp);
    return rc;
}

static int json_conv(conv *c, const sl_cql_dtype *t, const json_t *j, const char *column,
                     sl_buf *out, bool *is_null)
{
    *is_null = false;
    if (!j || json_is_null(j)) {
        *is_null = true;
        return 0;
    }
    if (++c->depth > SL_CQL_TYPE_MAX_DEPTH) {
        sl_buf_printf(c->err, "JSON nesting too deep");
        return SL_ERR_INVAL;
    }
    int rc;
    if (sl_cql_dtype_is_collection(t) || t->kind == SL_CQL_TUPLE)
        rc = json_collection(c, t, j, column, out);
    else if ((t->kind == SL_CQL_TEXT || t->kind == SL_CQL_ASCII) && !json_is_string(j))
        rc = json_bad(c, t, j, column);
    else
        rc = json_scalar(c, t, j, column, out);
    c->depth--;
    return rc;
}

int sl_cql_value_from_json(const sl_cql_dtype *t, const json_t *j, const char *column, sl_buf *out,
                           bool *is_null, sl_buf *err)
{
    conv c = {err, 0};
    size_t start = out->len;
    int rc = json_conv(&c, t, j, column, out, is_null);
    if (rc) out->len = start;
    return rc;
}
