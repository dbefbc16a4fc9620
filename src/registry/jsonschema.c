/* jsonschema.c: JSON Schema (draft-07) for the registry. jansson loads the document; check()
 * walks its keyword structure against draft-07's meta-schema (each keyword's value shape), and
 * every local $ref must resolve to a schema. Compatibility asks whether the reader accepts every
 * document the writer accepts, keyword by keyword over the subset of docs/registry.md, with
 * Confluent's difference names in the reasons. A writer keyword outside the subset is ignored
 * (that only widens the writer, so the answer stays safe); a reader keyword outside it must
 * equal the writer's. */
#include "registry/jsonschema_int.h"

#include "core/sl.h"
#include "registry/pairmemo_int.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting beyond this is refused (parse) or answered incompatible (check): a bound on the
 * recursion a hostile document can cause. */
#define JS_MAX_DEPTH 128
/* A chain of $ref to $ref longer than this is a cycle. */
#define JS_MAX_REF_HOPS 32

typedef struct anchor {
    const char *id; /* a "$id" of the form "#name" */
    const json_t *node;
} anchor;

struct sl_jsonschema {
    json_t *root;
    anchor *anchors; /* sorted by id */
    size_t nanchors, capanchors;
    char *canonical;
};

typedef enum {
    K_SCHEMA,       /* a schema */
    K_ITEMS,        /* a schema or a non-empty array of schemas */
    K_SCHEMA_MAP,   /* an object whose values are schemas */
    K_SCHEMA_LIST,  /* a non-empty array of schemas */
    K_NONNEG,       /* a non-negative integer */
    K_NUMBER,       /* a number */
    K_POSITIVE,     /* a number > 0 */
    K_STRING,       /* a string */
    K_BOOL,         /* a boolean */
    K_TYPE,         /* a simple type name or a non-empty array of distinct ones */
    K_STRING_SET,   /* an array of distinct strings */
    K_ARRAY,        /* an array */
    K_DEPENDENCIES, /* an object whose values are schemas or arrays of distinct strings */
} kw_shape;

/* draft-07's keywords with the shape its meta-schema gives their values. */
static const struct {
    const char *name;
    kw_shape shape;
} keywords[] = {
    {"$id", K_STRING},
    {"$schema", K_STRING},
    {"$ref", K_STRING},
    {"$comment", K_STRING},
    {"title", K_STRING},
    {"description", K_STRING},
    {"readOnly", K_BOOL},
    {"writeOnly", K_BOOL},
    {"examples", K_ARRAY},
    {"multipleOf", K_POSITIVE},
    {"maximum", K_NUMBER},
    {"exclusiveMaximum", K_NUMBER},
    {"minimum", K_NUMBER},
    {"exclusiveMinimum", K_NUMBER},
    {"maxLength", K_NONNEG},
    {"minLength", K_NONNEG},
    {"pattern", K_STRING},
    {"additionalItems", K_SCHEMA},
    {"items", K_ITEMS},
    {"maxItems", K_NONNEG},
    {"minItems", K_NONNEG},
    {"uniqueItems", K_BOOL},
    {"contains", K_SCHEMA},
    {"maxProperties", K_NONNEG},
    {"minProperties", K_NONNEG},
    {"required", K_STRING_SET},
    {"additionalProperties", K_SCHEMA},
    {"definitions", K_SCHEMA_MAP},
    {"properties", K_SCHEMA_MAP},
    {"patternProperties", K_SCHEMA_MAP},
    {"dependencies", K_DEPENDENCIES},
    {"propertyNames", K_SCHEMA},
    {"enum", K_ARRAY},
    {"type", K_TYPE},
    {"format", K_STRING},
    {"contentMediaType", K_STRING},
    {"contentEncoding", K_STRING},
    {"if", K_SCHEMA},
    {"then", K_SCHEMA},
    {"else", K_SCHEMA},
    {"allOf", K_SCHEMA_LIST},
    {"anyOf", K_SCHEMA_LIST},
    {"oneOf", K_SCHEMA_LIST},
    {"not", K_SCHEMA},
};

enum {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_STRING = 32,
    T_INTEGER = 64,
    T_ALL = 127
};
static const char *const type_names[] = {"null",   "boolean", "object", "array",
                                         "number", "string",  "integer"};

static int type_bit(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (!strcmp(s, type_names[i])) return 1 << i;
    return 0;
}

/* ---- parsing ---- */

typedef struct parse_ctx {
    sl_jsonschema *doc;
    const json_t **schemas; /* every node checked as a schema, sorted for the $ref pass */
    size_t nschemas, cap;
    char *err;
    size_t errlen;
} parse_ctx;

static int fail(parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return SL_ERR_PARSE;
}

static bool is_nonneg_int(const json_t *v)
{
    if (json_is_integer(v)) return json_integer_value(v) >= 0;
    if (!json_is_real(v)) return false;
    double d = json_real_value(v);
    return d >= 0 && d == floor(d) && d < 9e15;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A value's canonical text; jansson fails only when out of memory, which aborts as sl_malloc
 * does. */
static char *dump(const json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!t) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return t;
}

/* The array's members as sorted canonical texts (equal texts: equal values), so that membership
 * and distinctness cost n log n even for the largest arrays a schema may hold. */
static char **sorted_texts(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    char **t = sl_malloc((*n ? *n : 1) * sizeof *t);
    for (size_t i = 0; i < *n; i++) {
        t[i] = dump(json_array_get(a, i));
    }
    qsort(t, *n, sizeof *t, cmp_str);
    return t;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

static bool distinct_strings(const json_t *a, bool types)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || (types && !type_bit(json_string_value(v)))) return false;
    }
    size_t n;
    char **t = sorted_texts(a, &n);
    bool ok = true;
    for (size_t i = 1; i < n && ok; i++)
        ok = strcmp(t[i - 1], t[i]) != 0;
    free_texts(t, n);
    return ok;
}

static int check(parse_ctx *c, const json_t *s, const char *path, int depth);

static int check_sub(parse_ctx *c, const json_t *s, const char *path, const char *key,
                     const char *sub, int depth)
{
    char p[512];
    if (sub)
        snprintf(p, sizeof p, "%s/%s/%s", path, key, sub);
    else
        snprintf(p, sizeof p, "%s/%s", path, key);
    return check(c, s, p, depth + 1);
}

static int check_keyword(parse_ctx *c, const char *key, kw_shape shape, const json_t *v,
                         const char *path, int depth)
{
    char idx[32];
    switch (shape) {
    case K_SCHEMA: return check_sub(c, v, path, key, NULL, depth);
    case K_ITEMS:
        if (!json_is_array(v)) return check_sub(c, v, path, key, NULL, depth);
        if (json_array_size(v) == 0)
            return fail(c, "%s/%s: must be a schema or a non-empty array of schemas", path, key);
        /* fall through */
    case K_SCHEMA_LIST:
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail(c, "%s/%s: must be a non-empty array of schemas", path, key);
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(idx, sizeof idx, "%zu", i);
            int rc = check_sub(c, json_array_get(v, i), path, key, idx, depth);
            if (rc) return rc;
        }
        return 0;
    case K_SCHEMA_MAP:
    case K_DEPENDENCIES: {
        if (!json_is_object(v)) return fail(c, "%s/%s: must be an object", path, key);
        const char *k;
        const json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            if (shape == K_DEPENDENCIES && json_is_array(m)) {
                if (!distinct_strings(m, false))
                    return fail(c, "%s/%s/%s: must be a schema or an array of distinct strings",
                                path, key, k);
                continue;
            }
            int rc = check_sub(c, m, path, key, k, depth);
            if (rc) return rc;
        }
        return 0;
    }
    case K_NONNEG:
        if (!is_nonneg_int(v)) return fail(c, "%s/%s: must be a non-negative integer", path, key);
        return 0;
    case K_NUMBER:
        if (!json_is_number(v)) return fail(c, "%s/%s: must be a number", path, key);
        return 0;
    case K_POSITIVE:
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return fail(c, "%s/%s: must be a number greater than 0", path, key);
        return 0;
    case K_STRING:
        if (!json_is_string(v)) return fail(c, "%s/%s: must be a string", path, key);
        return 0;
    case K_BOOL:
        if (!json_is_boolean(v)) return fail(c, "%s/%s: must be a boolean", path, key);
        return 0;
    case K_TYPE:
        if (json_is_string(v) && type_bit(json_string_value(v))) return 0;
        if (json_is_array(v) && json_array_size(v) > 0 && distinct_strings(v, true)) return 0;
        return fail(c,
                    "%s/type: must be one of null, boolean, object, array, number, string, "
                    "integer, or a non-empty array of distinct ones",
                    path);
    case K_STRING_SET:
        if (!json_is_array(v) || !distinct_strings(v, false))
            return fail(c, "%s/%s: must be an array of distinct strings", path, key);
        return 0;
    case K_ARRAY:
        if (!json_is_array(v)) return fail(c, "%s/%s: must be an array", path, key);
        return 0;
    }
    return 0;
}

static int check(parse_ctx *c, const json_t *s, const char *path, int depth)
{
    if (depth > JS_MAX_DEPTH) return fail(c, "schema nested deeper than %d levels", JS_MAX_DEPTH);
    if (json_is_boolean(s)) return 0;
    if (!json_is_object(s)) return fail(c, "%s: a schema must be an object or a boolean", path);
    if (c->nschemas == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->schemas = sl_realloc(c->schemas, c->cap * sizeof *c->schemas);
    }
    c->schemas[c->nschemas++] = s;
    const char *id = json_string_value(json_object_get(s, "$id"));
    if (id && id[0] == '#' && id[1] != '/' && id[1]) {
        sl_jsonschema *d = c->doc;
        if (d->nanchors == d->capanchors) {
            d->capanchors = d->capanchors ? d->capanchors * 2 : 8;
            d->anchors = sl_realloc(d->anchors, d->capanchors * sizeof *d->anchors);
        }
        d->anchors[d->nanchors++] = (anchor){id, s};
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        const json_t *v = json_object_get(s, keywords[i].name);
        if (!v) continue;
        int rc = check_keyword(c, keywords[i].name, keywords[i].shape, v, path, depth);
        if (rc) return rc;
    }
    return 0;
}

/* A JSON pointer token, ~1 and ~0 and %XX decoded, into out. */
static bool pointer_token(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end || v <= 0) return false;
            ch = (char)v;
            i += 2;
        } else if (ch == '~') {
            if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')) return false;
            ch = s[++i] == '0' ? '~' : '/';
        }
        if (o + 1 >= outlen) return false;
        out[o++] = ch;
    }
    out[o] = 0;
    return true;
}

static int cmp_anchor(const void *a, const void *b)
{
    return strcmp(((const anchor *)a)->id, ((const anchor *)b)->id);
}

/* The target of a local $ref ("#", "#/json/pointer" or a "#name" $id), or NULL. */
static const json_t *resolve(const sl_jsonschema *d, const char *ref)
{
    if (ref[0] != '#') return NULL;
    if (!ref[1]) return d->root;
    if (ref[1] != '/') {
        anchor key = {ref, NULL};
        const anchor *a =
            d->nanchors ? bsearch(&key, d->anchors, d->nanchors, sizeof key, cmp_anchor) : NULL;
        return a ? a->node : NULL;
    }
    const json_t *n = d->root;
    const char *p = ref + 1;
    while (*p == '/' && n) {
        p++;
        size_t len = strcspn(p, "/");
        char tok[256];
        if (!pointer_token(p, len, tok, sizeof tok)) return NULL;
        if (json_is_object(n)) {
            n = json_object_get(n, tok);
        } else if (json_is_array(n)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            n = *tok && !*end ? json_array_get(n, i) : NULL;
        } else {
            n = NULL;
        }
        p += len;
    }
    return n;
}

static bool is_local_ref(const char *ref)
{
    return ref[0] == '#';
}

static int cmp_ptr(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return x < y ? -1 : x > y;
}

/* Every local $ref resolves to a schema, and no chain of them loops. */
static int check_refs(parse_ctx *c)
{
    size_t nchecked = c->nschemas;
    if (nchecked) qsort(c->schemas, nchecked, sizeof *c->schemas, cmp_ptr);
    for (size_t i = 0; i < c->nschemas; i++) {
        const json_t *s = c->schemas[i];
        const char *ref = json_string_value(json_object_get(s, "$ref"));
        if (!ref || !is_local_ref(ref)) continue;
        const json_t *t = s;
        for (int hop = 0;; hop++) {
            const char *r = json_string_value(json_object_get(t, "$ref"));
            if (!r || !is_local_ref(r)) break;
            if (hop == JS_MAX_REF_HOPS) return fail(c, "$ref %s: a cycle of references", ref);
            t = resolve(c->doc, r);
            if (!t) return fail(c, "$ref %s: unresolvable", r);
            if (!json_is_object(t) && !json_is_boolean(t))
                return fail(c, "$ref %s: does not name a schema", r);
            if (json_is_object(t) &&
                !(nchecked && bsearch(&t, c->schemas, nchecked, sizeof *c->schemas, cmp_ptr))) {
                /* A target outside a schema position (under "enum", say) is checked here once;
                 * check() appends it past nchecked, so this loop also visits its $refs. */
                int rc = check(c, t, r, 0);
                if (rc) return rc;
            }
        }
    }
    return 0;
}

int sl_jsonschema_parse(const char *text, size_t len, sl_jsonschema **out, char *err, size_t errlen)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "Invalid schema: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        return SL_ERR_PARSE;
    }
    sl_jsonschema *s = sl_calloc(1, sizeof *s);
    s->root = root;
    parse_ctx c = {.doc = s, .err = err, .errlen = errlen};
    int rc = check(&c, root, "#", 0);
    if (rc == 0) {
        if (s->nanchors) qsort(s->anchors, s->nanchors, sizeof *s->anchors, cmp_anchor);
        for (size_t i = 1; i < s->nanchors && rc == 0; i++)
            if (!strcmp(s->anchors[i - 1].id, s->anchors[i].id))
                rc = fail(&c, "$id %s: defined twice", s->anchors[i].id);
    }
    if (rc == 0) rc = check_refs(&c);
    free(c.schemas);
    if (rc) {
        sl_jsonschema_free(s);
        return rc;
    }
    s->canonical = dump(root);
    *out = s;
    return 0;
}

const char *sl_jsonschema_canonical(const sl_jsonschema *s)
{
    return s->canonical;
}

void sl_jsonschema_free(sl_jsonschema *s)
{
    if (!s) return;
    json_decref(s->root);
    free(s->anchors);
    free(s->canonical);
    free(s);
}

/* ---- compatibility ---- */

typedef struct cctx {
    const sl_jsonschema *rdoc, *wdoc;
    /* pairs being compared (a revisit, recursion through $ref, is assumed to hold) and pairs
     * already answered, so that $refs shared across a document (a DAG) cost one check each
     * instead of one per path */
    sl_pairwalk walk;
    json_t *unknown; /* the writer when nothing is known of its data: {} */
    json_t *merged;  /* writers merged with their parts, by "%p %p" of the two sources: kept
                      * to the end so each has one address (for the stack and the memo) */
    json_t *extrefs; /* by "%p" of a merged writer: the external $refs its parts hold, which a
                      * merged object cannot (draft-07 ignores a $ref's siblings); kept here,
                      * not in a key of the object, where a user's schema could forge one */
    char ***msgs;    /* NULL: quiet */
    size_t *nmsgs;
} cctx;

static bool reason(cctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool reason(cctx *c, const char *path, const char *fmt, ...)
{
    if (!c->msgs) return false;
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    size_t n = strlen(body) + strlen(path) + 16;
    char *m = sl_malloc(n);
    snprintf(m, n, "%s at '%s'", body, path);
    *c->msgs = sl_realloc(*c->msgs, (*c->nmsgs + 1) * sizeof **c->msgs);
    (*c->msgs)[(*c->nmsgs)++] = m;
    return false;
}

/* Follows local $refs (draft-07: a $ref's siblings are ignored); an external one stays. */
static const json_t *deref(const sl_jsonschema *d, const json_t *s)
{
    for (int hop = 0; hop < JS_MAX_REF_HOPS && json_is_object(s); hop++) {
        const char *r = json_string_value(json_object_get(s, "$ref"));
        if (!r || !is_local_ref(r)) break;
        const json_t *t = resolve(d, r);
        if (!t) break;
        s = t;
    }
    return s;
}

static const char *const assertions[] = {
    "$ref",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "additionalItems",
    "items",
    "maxItems",
    "minItems",
    "uniqueItems",
    "contains",
    "maxProperties",
    "minProperties",
    "required",
    "additionalProperties",
    "properties",
    "patternProperties",
    "dependencies",
    "propertyNames",
    "enum",
    "const",
    "type",
    "format",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
};

/* true, or an object with annotations only: every document is valid. */
static bool accepts_all(const json_t *s)
{
    if (!s || json_is_true(s)) return true;
    if (!json_is_object(s)) return false;
    for (size_t i = 0; i < sizeof assertions / sizeof assertions[0]; i++)
        if (json_object_get(s, assertions[i])) return false;
    return true;
}

static int types_of(const json_t *s)
{
    const json_t *t = json_object_get(s, "type");
    if (!t) return T_ALL;
    if (json_is_string(t)) return type_bit(json_string_value(t));
    int m = 0;
    for (size_t i = 0; i < json_array_size(t); i++)
        m |= type_bit(json_string_value(json_array_get(t, i)));
    return m;
}

static void type_list(int m, char *out, size_t n)
{
    out[0] = 0;
    for (int i = 0; i < 7; i++)
        if (m & (1 << i))
            snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "," : "", type_names[i]);
}

static bool can_read(cctx *c, const json_t *r, const json_t *w, const char *path, int depth);
static bool check_pair(cctx *c, const json_t *r, const json_t *w, const char *path, int depth);

static bool quiet(cctx *c, const json_t *r, const json_t *w, int depth)
{
    char ***msgs = c->msgs;
    c->msgs = NULL;
    bool ok = can_read(c, r, w, "", depth);
    c->msgs = msgs;
    return ok;
}

static bool sub(cctx *c, const json_t *r, const json_t *w, const char *path, const char *k1,
                const char *k2, int depth)
{
    char p[512];
    if (k2)
        snprintf(p, sizeof p, "%s/%s/%s", path, k1, k2);
    else
        snprintf(p, sizeof p, "%s/%s", path, k1);
    return can_read(c, r, w, p, depth + 1);
}

static bool num(const json_t *s, const char *k, double *out)
{
    const json_t *v = json_object_get(s, k);
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return true;
}

/* A bound of the reader (rk: maximum, exclusiveMaximum, maxLength, ...; lower for minimum and
 * the like) must hold for the writer: the writer has one at least as tight, inclusive (wk) or
 * exclusive (wk_excl). */
static bool bound(cctx *c, const json_t *r, const json_t *w, const char *path, const char *rk,
                  bool r_excl, const char *wk, const char *wk_excl, bool lower, const char *name)
{
    double rv, wv = 0, we = 0;
    if (!num(r, rk, &rv)) return true;
    bool hw = num(w, wk, &wv), he = wk_excl && num(w, wk_excl, &we);
    if (!hw && !he) return reason(c, path, "%s_ADDED: the reader adds %s %g", name, rk, rv);
    bool ok = false;
    if (hw) ok = lower ? (r_excl ? wv > rv : wv >= rv) : (r_excl ? wv < rv : wv <= rv);
    if (!ok && he) ok = lower ? we >= rv : we <= rv;
    if (!ok)
        return reason(c, path, "%s_%s: %s %g does not hold for the writer", name,
                      lower ? "INCREASED" : "DECREASED", rk, rv);
    return true;
}

/* Reader keywords outside the checked subset must equal the writer's. */
static bool same_keyword(cctx *c, const json_t *r, const json_t *w, const char *path, const char *k,
                         const char *name)
{
    const json_t *rv = json_object_get(r, k);
    if (!rv || json_equal(rv, json_object_get(w, k))) return true;
    return reason(c, path, "%s: %s differs from the writer's (checked for equality only)", name, k);
}

static bool enum_ok(cctx *c, const json_t *r, const json_t *w, const char *path)
{
    const json_t *re = json_object_get(r, "enum"), *rc = json_object_get(r, "const");
    if (!re && !rc) return true;
    const json_t *we = json_object_get(w, "enum"), *wc = json_object_get(w, "const");
    if (!we && !wc)
        return reason(c, path, "%s_ADDED: the reader allows only listed values",
                      re ? "ENUM_ARRAY" : "CONST");
    size_t nr = 0;
    char **allowed = re ? sorted_texts(re, &nr) : NULL;
    if (wc && we) {
        /* the writer's values are its const, if its enum allows it, else none */
        size_t nw;
        char **wv = sorted_texts(we, &nw), *t = dump(wc);
        bool any = bsearch(&t, wv, nw, sizeof *wv, cmp_str) != NULL;
        free(t);
        free_texts(wv, nw);
        if (!any) {
            if (allowed) free_texts(allowed, nr);
            return true;
        }
    }
    size_t n = wc ? 1 : json_array_size(we);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const json_t *v = wc ? wc : json_array_get(we, i);
        char *t = dump(v);
        ok = (!rc || json_equal(rc, v)) &&
             (!re || bsearch(&t, allowed, nr, sizeof *allowed, cmp_str) != NULL);
        if (!ok)
            reason(c, path, "%s: the writer's value %s is not allowed",
                   re ? "ENUM_ARRAY_NARROWED" : "CONST_CHANGED", t);
        free(t);
    }
    if (allowed) free_texts(allowed, nr);
    return ok;
}

static bool string_ok(cctx *c, const json_t *r, const json_t *w, const char *path)
{
    bool ok = bound(c, r, w, path, "maxLength", false, "maxLength", NULL, false, "MAX_LENGTH");
    ok &= bound(c, r, w, path, "minLength", false, "minLength", NULL, true, "MIN_LENGTH");
    const char *rp = json_string_value(json_object_get(r, "pattern"));
    const char *wp = json_string_value(json_object_get(w, "pattern"));
    if (rp && !wp)
        ok = reason(c, path, "PATTERN_ADDED: %s", rp);
    else if (rp && strcmp(rp, wp))
        ok = reason(c, path, "PATTERN_CHANGED: %s to %s", wp, rp);
    const char *rf = json_string_value(json_object_get(r, "format"));
    const char *wf = json_string_value(json_object_get(w, "format"));
    if (rf && (!wf || strcmp(rf, wf)))
        ok = reason(c, path, "FORMAT_%s: %s", wf ? "CHANGED" : "ADDED", rf);
    return ok;
}

/* True if a is a whole multiple of b, to double precision (relative to the quotient). */
static bool multiple_of(double a, double b)
{
    double q = a / b;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1, fabs(q));
}

static bool number_ok(cctx *c, const json_t *r, const json_t *w, const char *path)
{
    static const char *const mx = "maximum", *const xmx = "exclusiveMaximum", *const mn = "minimum",
                             *const xmn = "exclusiveMinimum";
    bool ok = bound(c, r, w, path, mx, false, mx, xmx, false, "MAXIMUM");
    ok &= bound(c, r, w, path, xmx, true, mx, xmx, false, "EXCLUSIVE_MAXIMUM");
    ok &= bound(c, r, w, path, mn, false, mn, xmn, true, "MINIMUM");
    ok &= bound(c, r, w, path, xmn, true, mn, xmn, true, "EXCLUSIVE_MINIMUM");
    double rm, wm;
    if (num(r, "multipleOf", &rm)) {
        if (!num(w, "multipleOf", &wm))
            ok = reason(c, path, "MULTIPLE_OF_ADDED: %g", rm);
        else if (!multiple_of(wm, rm))
            ok = reason(c, path, "MULTIPLE_OF_CHANGED: %g is not a multiple of %g", wm, rm);
    }
    return ok;
}

/* The writer's content model for a property it does not declare. */
static const json_t *additional(const json_t *s)
{
    const json_t *a = json_object_get(s, "additionalProperties");
    return a ? a : json_true();
}

static bool object_ok(cctx *c, const json_t *r, const json_t *w, const char *path, int depth)
{
    bool ok = true;
    const json_t *rp = json_object_get(r, "properties"), *wp = json_object_get(w, "properties");
    const json_t *rreq = json_object_get(r, "required"), *wreq = json_object_get(w, "required");
    for (size_t i = 0; i < json_array_size(rreq); i++) {
        const json_t *name = json_array_get(rreq, i);
        bool found = false;
        for (size_t k = 0; k < json_array_size(wreq) && !found; k++)
            found = json_equal(name, json_array_get(wreq, k));
        const json_t *prop = deref(c->rdoc, json_object_get(rp, json_string_value(name)));
        if (!found && !json_object_get(prop, "default"))
            ok = reason(c, path, "REQUIRED_ATTRIBUTE_ADDED: %s", json_string_value(name));
    }
    const json_t *wadd = additional(w), *radd = additional(r);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)rp, k, v)
    {
        const json_t *wv = json_object_get(wp, k);
        if (wv) {
            ok &= sub(c, v, wv, path, "properties", k, depth);
        } else if (json_is_false(wadd)) {
            continue; /* OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL */
        } else if (accepts_all(wadd)) {
            if (!accepts_all(deref(c->rdoc, v)))
                ok = reason(c, path, "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: %s", k);
        } else if (!quiet(c, v, wadd, depth + 1)) {
            ok = reason(c, path, "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: %s",
                        k);
        }
    }
    json_object_foreach((json_t *)wp, k, v)
    {
        if (json_object_get(rp, k) || accepts_all(radd)) continue;
        if (json_is_false(radd))
            ok = reason(c, path, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL: %s", k);
        else if (!quiet(c, radd, v, depth + 1))
            ok = reason(c, path, "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: %s",
                        k);
    }
    if (!json_is_false(wadd) && !accepts_all(radd)) {
        if (json_is_false(radd))
            ok = reason(c, path, "ADDITIONAL_PROPERTIES_REMOVED");
        else
            ok &= sub(c, radd, wadd, path, "additionalProperties", NULL, depth);
    }
    ok &= bound(c, r, w, path, "maxProperties", false, "maxProperties", NULL, false,
                "MAX_PROPERTIES");
    ok &=
        bound(c, r, w, path, "minProperties", false, "minProperties", NULL, true, "MIN_PROPERTIES");
    ok &= same_keyword(c, r, w, path, "patternProperties", "PATTERN_PROPERTIES_CHANGED");
    ok &= same_keyword(c, r, w, path, "dependencies", "DEPENDENCIES_CHANGED");
    ok &= same_keyword(c, r, w, path, "propertyNames", "PROPERTY_NAMES_CHANGED");
    return ok;
}

/* The schema of array position i (a tuple's entry, else the rest). */
static const json_t *item_at(const json_t *s, size_t i)
{
    const json_t *items = json_object_get(s, "items");
    if (!items) return json_true();
    if (!json_is_array(items)) return items;
    if (i < json_array_size(items)) return json_array_get(items, i);
    const json_t *add = json_object_get(s, "additionalItems");
    return add ? add : json_true();
}

static size_t tuple_len(const json_t *s)
{
    const json_t *items = json_object_get(s, "items");
    return json_is_array(items) ? json_array_size(items) : 0;
}

static bool array_ok(cctx *c, const json_t *r, const json_t *w, const char *path, int depth)
{
    bool ok = true;
    size_t n = tuple_len(r) > tuple_len(w) ? tuple_len(r) : tuple_len(w);
    char idx[32];
    for (size_t i = 0; i <= n; i++) {
        /* position n stands for every later one */
        const json_t *ri = item_at(r, i), *wi = item_at(w, i);
        if (json_is_false(wi) || accepts_all(ri)) continue;
        snprintf(idx, sizeof idx, "%zu", i);
        ok &= sub(c, ri, wi, path, "items", tuple_len(r) || tuple_len(w) ? idx : NULL, depth);
    }
    ok &= bound(c, r, w, path, "maxItems", false, "maxItems", NULL, false, "MAX_ITEMS");
    ok &= bound(c, r, w, path, "minItems", false, "minItems", NULL, true, "MIN_ITEMS");
    if (json_is_true(json_object_get(r, "uniqueItems")) &&
        !json_is_true(json_object_get(w, "uniqueItems")))
        ok = reason(c, path, "UNIQUE_ITEMS_ADDED");
    ok &= same_keyword(c, r, w, path, "contains", "CONTAINS_CHANGED");
    return ok;
}

static const json_t *sum_of(const json_t *s)
{
    const json_t *a = json_object_get(s, "anyOf");
    return a ? a : json_object_get(s, "oneOf");
}

static bool combined_ok(cctx *c, const json_t *r, const json_t *w, const char *path, int depth)
{
    bool ok = true;
    const json_t *all = json_object_get(r, "allOf");
    char idx[32];
    /* each reader part against the writer as written, so it too may read one of the writer's
     * parts (the flattening keeps one side of a clash) */
    snprintf(idx, sizeof idx, "orig %p", (const void *)w);
    const json_t *w0 = json_object_get(c->merged, idx);
    for (size_t i = 0; i < json_array_size(all); i++) {
        snprintf(idx, sizeof idx, "%zu", i);
        ok &= sub(c, json_array_get(all, i), w0 ? w0 : w, path, "allOf", idx, depth);
    }
    const json_t *rs = sum_of(r);
    if (rs) {
        /* The writer's value is in some branch of each of its sums (a merged writer can have both
         * anyOf and oneOf) and is the writer itself: the reader reads it if it reads every
         * branch of one of these. Reasons are given against the first. */
        const json_t *sums[] = {sum_of(w), json_object_get(w, "oneOf"), NULL};
        bool read = false;
        for (size_t s = 0; s < 3 && !read; s++) {
            const json_t *ws = sums[s];
            if ((s == 1 && (!ws || ws == sums[0])) || (s == 2 && !sums[0])) continue;
            size_t n = ws ? json_array_size(ws) : 1;
            read = true;
            for (size_t i = 0; i < n && read; i++) {
                const json_t *wb = ws ? json_array_get(ws, i) : w;
                bool any = false;
                for (size_t k = 0; k < json_array_size(rs) && !any; k++)
                    any = quiet(c, json_array_get(rs, k), wb, depth + 1);
                read = any;
            }
        }
        const json_t *ws = sums[0];
        size_t n = ws ? json_array_size(ws) : 1;
        for (size_t i = 0; i < n && !read; i++) {
            const json_t *wb = ws ? json_array_get(ws, i) : w;
            bool any = false;
            for (size_t k = 0; k < json_array_size(rs) && !any; k++)
                any = quiet(c, json_array_get(rs, k), wb, depth + 1);
            if (!any)
                ok = reason(c, path, "SUM_TYPE_NARROWED: no branch of the reader reads %s%zu",
                            ws ? "the writer's branch " : "the writer", ws ? i : 0);
        }
    }
    const json_t *rn = json_object_get(r, "not");
    if (rn) {
        const json_t *wn = json_object_get(w, "not");
        /* what the reader excludes the writer must exclude too */
        if (!wn || !quiet(c, wn, rn, depth + 1))
            ok = reason(c, path, "NOT_TYPE_EXTENDED: the reader's \"not\" excludes more");
    }
    if (json_object_get(r, "if") || json_object_get(r, "then") || json_object_get(r, "else")) {
        ok &= same_keyword(c, r, w, path, "if", "CONDITIONAL_CHANGED");
        ok &= same_keyword(c, r, w, path, "then", "CONDITIONAL_CHANGED");
        ok &= same_keyword(c, r, w, path, "else", "CONDITIONAL_CHANGED");
    }
    return ok;
}

/* The external $refs a merged writer carries (an array), or NULL. */
static json_t *extrefs_of(cctx *c, const json_t *s)
{
    char key[32];
    snprintf(key, sizeof key, "%p", (const void *)s);
    return json_object_get(c->extrefs, key);
}

/* Records that m's values satisfy the external $ref ref. */
static void extrefs_add(cctx *c, const json_t *m, const char *ref)
{
    char key[32];
    snprintf(key, sizeof key, "%p", (const void *)m);
    json_t *a = json_object_get(c->extrefs, key);
    if (!a) {
        a = json_array();
        json_object_set_new(c->extrefs, key, a);
    }
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!strcmp(json_string_value(json_array_get(a, i)), ref)) return;
    json_array_append_new(a, json_string(ref));
}

static void extrefs_copy(cctx *c, const json_t *m, const json_t *from)
{
    json_t *a = extrefs_of(c, from);
    for (size_t i = 0; i < json_array_size(a); i++)
        extrefs_add(c, m, json_string_value(json_array_get(a, i)));
}

/* The types both masks allow (an integer is a number). */
static int types_meet(int a, int b)
{
    int m = a & b;
    if ((a & T_NUMBER) && (b & T_INTEGER)) m |= T_INTEGER;
    if ((b & T_NUMBER) && (a & T_INTEGER)) m |= T_INTEGER;
    return m;
}

static json_t *types_json(int m)
{
    json_t *a = json_array();
    for (int i = 0; i < 7; i++)
        if (m & (1 << i)) json_array_append_new(a, json_string(type_names[i]));
    return a;
}

/* The values of enum a that enum b also lists. */
static json_t *enums_meet(const json_t *a, const json_t *b)
{
    json_t *m = json_array();
    for (size_t i = 0; i < json_array_size(a); i++)
        for (size_t k = 0; k < json_array_size(b); k++)
            if (json_equal(json_array_get(a, i), json_array_get(b, k))) {
                json_array_append(m, json_array_get(a, i));
                break;
            }
    return m;
}

/* The least common multiple of two positive numbers, when bm / em is a fraction p / q with q at
 * most 1e9 to double precision (multiple_of's): bm * q, the smallest number both divide. The
 * fraction is bm / em's continued-fraction convergent (so 0.3 and 0.5 give 1.5, 4 and 6 give 12,
 * 5.5555555555555554 and 0.5 give 50). 0 when there is none: then the merge keeps one of them. */
static double lcm_of(double bm, double em)
{
    if (multiple_of(em, bm)) return em;
    if (multiple_of(bm, em)) return bm;
    double x = bm / em, p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    for (int i = 0; i < 64 && isfinite(x); i++) {
        double a = floor(x), p2 = a * p1 + p0, q2 = a * q1 + q0;
        if (q2 > 1e9) break;
        double l = bm * q2;
        if (multiple_of(l, bm) && multiple_of(l, em)) return l;
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
        if (x - a < 1e-15) break;
        x = 1 / (x - a);
    }
    return 0;
}

/* In m, the merge of base and extra, the keywords both bound hold what both allow: the types
 * and enum values both list, the tighter of two bounds, the least common multiple of two
 * multipleOf when it is known (lcm_of), the required names of either. */
static void meet_clashes(json_t *m, const json_t *base, const json_t *extra)
{
    static const char *const upper[] = {"maximum", "exclusiveMaximum", "maxLength", "maxItems",
                                        "maxProperties"};
    static const char *const lower[] = {"minimum", "exclusiveMinimum", "minLength", "minItems",
                                        "minProperties"};
    if (json_object_get(base, "type") && json_object_get(extra, "type"))
        json_object_set_new(m, "type", types_json(types_meet(types_of(base), types_of(extra))));
    const json_t *be = json_object_get(base, "enum"), *ee = json_object_get(extra, "enum");
    if (json_is_array(be) && json_is_array(ee)) json_object_set_new(m, "enum", enums_meet(be, ee));
    for (size_t i = 0; i < 5; i++) {
        double b, e;
        if (num(base, upper[i], &b) && num(extra, upper[i], &e) && e < b)
            json_object_set(m, upper[i], json_object_get(extra, upper[i]));
        if (num(base, lower[i], &b) && num(extra, lower[i], &e) && e > b)
            json_object_set(m, lower[i], json_object_get(extra, lower[i]));
    }
    double bm, em;
    if (num(base, "multipleOf", &bm) && num(extra, "multipleOf", &em) && bm > 0 && em > 0) {
        double l = lcm_of(bm, em);
        if (l > 0) json_object_set_new(m, "multipleOf", json_real(l));
    }
    const json_t *br = json_object_get(base, "required"), *er = json_object_get(extra, "required");
    if (json_is_array(br) && json_is_array(er)) {
        json_t *req = json_copy((json_t *)br), *both = enums_meet(er, br);
        for (size_t i = 0; i < json_array_size(er); i++) {
            bool dup = false;
            for (size_t k = 0; k < json_array_size(both) && !dup; k++)
                dup = json_equal(json_array_get(er, i), json_array_get(both, k));
            if (!dup) json_array_append(req, json_array_get(er, i));
        }
        json_decref(both);
        json_object_set_new(m, "required", req);
    }
}

/* base with extra's keywords that base lacks (but skip, and $ref), one copy per pair. A writer
 * may drop any of its keywords soundly, so a clash keeps base's, except where meet_clashes
 * keeps what both allow (an empty type or enum list: the writer has no value). The external $refs
 * of both, an extra that is one included, stay with the copy (extrefs). */
static const json_t *merge(cctx *c, const json_t *base, const json_t *extra, const char *skip)
{
    char key[64];
    snprintf(key, sizeof key, "%p %p %s", (const void *)base, (const void *)extra, skip);
    json_t *m = json_object_get(c->merged, key);
    if (m) return m;
    m = json_object();
    /* an external $ref's siblings mean nothing (draft-07): only the reference is the writer's */
    const char *ref = json_string_value(json_object_get(extra, "$ref"));
    bool external = ref && !is_local_ref(ref);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)base, k, v)
    {
        if (strcmp(k, skip)) json_object_set(m, k, v);
    }
    if (json_is_object(extra) && !external) json_object_foreach((json_t *)extra, k, v)
        {
            if (strcmp(k, skip) && strcmp(k, "$ref") && !json_object_get(m, k))
                json_object_set(m, k, v);
        }
    if (!external && json_is_object(extra)) meet_clashes(m, base, extra);
    json_object_set_new(c->merged, key, m);
    extrefs_copy(c, m, base);
    if (extra) extrefs_copy(c, m, extra);
    if (external) extrefs_add(c, m, ref);
    return m;
}

/* A writer with allOf: its value satisfies every part, so the parts' keywords are the writer's,
 * and so are those of a part's own allOf. Each writer is flattened once (kept in merged under
 * "flat %p"); a part met again while it is being flattened (allOf through a $ref back to an
 * enclosing schema) adds nothing, which only drops keywords of the writer: sound. */
static const json_t *flatten_all_of(cctx *c, const json_t *w)
{
    const json_t *all = json_object_get(w, "allOf");
    if (!all) return w;
    char key[40];
    snprintf(key, sizeof key, "flat %p", (const void *)w);
    const json_t *done = json_object_get(c->merged, key);
    if (done) return json_is_null(done) ? NULL : done;
    json_object_set_new(c->merged, key, json_null()); /* in progress */
    const json_t *m = merge(c, w, NULL, "allOf");
    for (size_t i = 0; i < json_array_size(all); i++) {
        const json_t *part = deref(c->wdoc, json_array_get(all, i));
        if (json_is_object(part) && json_object_get(part, "allOf") &&
            !json_object_get(part, "$ref"))
            part = flatten_all_of(c, part);
        if (part) m = merge(c, m, part, "allOf");
    }
    json_object_set(c->merged, key, (json_t *)m);
    snprintf(key, sizeof key, "orig %p", (const void *)m);
    json_object_set(c->merged, key, (json_t *)w);
    return m;
}

/* Records that the merged writer m, a branch of a sum with the writer's other keywords, was
 * written as {"allOf":[a, b]}: a reader that reads a or b reads m (can_read), and a reader's
 * allOf parts are checked against that form (combined_ok), as with a writer's own allOf, where
 * the merge keeps one side of a clash (a oneOf branch {"if":true} under a parent with
 * {"if":{}}: a reader part {"if":{}} reads the parent). */
static void as_written(cctx *c, const json_t *m, const json_t *a, const json_t *b)
{
    char key[32];
    snprintf(key, sizeof key, "orig %p", (const void *)m);
    if (json_object_get(c->merged, key)) return;
    json_t *parts = json_array();
    json_array_append(parts, (json_t *)a);
    json_array_append(parts, (json_t *)b);
    json_t *o = json_object();
    json_object_set_new(o, "allOf", parts);
    json_object_set_new(c->merged, key, o);
    snprintf(key, sizeof key, "branch %p", (const void *)m);
    json_object_set(c->merged, key, parts);
}

static bool can_read(cctx *c, const json_t *r, const json_t *w, const char *path, int depth)
{
    if (depth > JS_MAX_DEPTH) return reason(c, "#", "nested deeper than %d levels", JS_MAX_DEPTH);
    r = deref(c->rdoc, r);
    w = deref(c->wdoc, w);
    if (accepts_all(r) || json_is_false(w)) return true;
    if (json_is_false(r)) return reason(c, path, "SCHEMA_REMOVED: the reader accepts nothing");
    const char *rref = json_string_value(json_object_get(r, "$ref"));
    const char *wref = json_string_value(json_object_get(w, "$ref"));
    if (!json_is_object(w) || wref) w = c->unknown; /* true, or external: nothing known */
    /* The writer's value satisfies each of its allOf parts, so a reader that reads one part reads
     * the writer. The flattening alone cannot show it when two parts bound one keyword (the
     * merge keeps one), e.g. {"allOf":[{"maximum":5},{"maximum":3}]} read by itself. */
    const json_t *parts = json_object_get(w, "allOf");
    for (size_t i = 0; i < json_array_size(parts); i++)
        if (quiet(c, r, json_array_get(parts, i), depth + 1)) return true;
    char key[32];
    snprintf(key, sizeof key, "branch %p", (const void *)w);
    parts = json_object_get(c->merged, key);
    for (size_t i = 0; i < json_array_size(parts); i++)
        if (quiet(c, r, json_array_get(parts, i), depth + 1)) return true;
    w = flatten_all_of(c, w);
    const json_t *we = json_object_get(w, "enum");
    if (types_of(w) == 0 || (json_is_array(we) && json_array_size(we) == 0))
        return true; /* the writer has no value: none has no type, none is in an empty enum */
    if (rref) {      /* external: not loaded, so only the same reference is known to read it */
        if (wref && !strcmp(rref, wref)) return true;
        json_t *carried = extrefs_of(c, w);
        for (size_t i = 0; i < json_array_size(carried); i++)
            if (!strcmp(rref, json_string_value(json_array_get(carried, i)))) return true;
        return reason(c, path, "REFERENCE_CHANGED: %s", rref);
    }
    bool ok;
    sl_pairwalk_mark m;
    if (sl_pairwalk_enter(&c->walk, r, w, c->msgs != NULL, &ok, &m)) return ok;
    return sl_pairwalk_leave(&c->walk, r, w, c->msgs != NULL, m, check_pair(c, r, w, path, depth));
}

static bool check_pair(cctx *c, const json_t *r, const json_t *w, const char *path, int depth)
{
    bool ok = true;
    /* A writer that is a sum of branches: the reader must read each (the writer's other
     * keywords only narrow it, so leaving them out is safe). */
    const json_t *ws = sum_of(w);
    if (ws && !sum_of(r)) {
        char idx[32];
        for (size_t i = 0; i < json_array_size(ws); i++) {
            snprintf(idx, sizeof idx, "%zu", i);
            char p[512];
            snprintf(p, sizeof p, "%s/%s/%s", path, json_object_get(w, "anyOf") ? "anyOf" : "oneOf",
                     idx);
            const json_t *b = deref(c->wdoc, json_array_get(ws, i));
            if (json_is_false(b)) continue;
            /* the branch with the writer's other keywords; a branch that is an external $ref
             * joins them as a carried reference (merged as the base, its $ref would make the
             * whole branch unknown) */
            const char *sum = json_object_get(w, "anyOf") ? "anyOf" : "oneOf";
            const char *bref = json_string_value(json_object_get(b, "$ref"));
            const json_t *bw = !json_is_object(b)            ? w
                               : bref && !is_local_ref(bref) ? merge(c, w, b, sum)
                                                             : merge(c, b, w, sum);
            if (bw != w) as_written(c, bw, b, merge(c, w, NULL, sum));
            ok &= can_read(c, r, bw, p, depth + 1);
        }
        return ok;
    }
    int rt = types_of(r), wt = types_of(w);
    int missing = wt & ~rt;
    if ((rt & T_NUMBER) && (missing & T_INTEGER)) missing &= ~T_INTEGER;
    if (missing) {
        char a[96], b[96];
        type_list(wt, a, sizeof a);
        type_list(rt, b, sizeof b);
        ok = reason(c, path, "TYPE_NARROWED: the writer's %s is not within the reader's %s", a, b);
    }
    ok &= enum_ok(c, r, w, path);
    if (wt & T_STRING) ok &= string_ok(c, r, w, path);
    if (wt & (T_NUMBER | T_INTEGER)) ok &= number_ok(c, r, w, path);
    if (wt & T_OBJECT) ok &= object_ok(c, r, w, path, depth);
    if (wt & T_ARRAY) ok &= array_ok(c, r, w, path, depth);
    ok &= combined_ok(c, r, w, path, depth);
    return ok;
}

bool sl_jsonschema_can_read(const sl_jsonschema *reader, const sl_jsonschema *writer, char ***msgs,
                            size_t *nmsgs)
{
    cctx c = {.rdoc = reader,
              .wdoc = writer,
              .msgs = msgs,
              .nmsgs = nmsgs,
              .unknown = json_object(),
              .merged = json_object(),
              .extrefs = json_object(),
              .walk = SL_PAIRWALK_INIT};
    bool ok = can_read(&c, reader->root, writer->root, "#", 0);
    sl_pairwalk_free(&c.walk);
    json_decref(c.unknown);
    json_decref(c.merged);
    json_decref(c.extrefs);
    return ok;
}
