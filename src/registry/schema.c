/* schema.c: AVRO schemas for the registry: validated by libavro, turned into a small type graph
 * (named types resolved, so recursion is a cycle), printed in the Avro specification's Parsing
 * Canonical Form and checked against each other with its schema resolution rules. */
#include "registry/schema.h"

#include "core/buf.h"
#include "core/sl.h"
#include "registry/pairmemo_int.h"
#include "registry/jsonschema_int.h"

#include <avro.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    AV_NULL,
    AV_BOOLEAN,
    AV_INT,
    AV_LONG,
    AV_FLOAT,
    AV_DOUBLE,
    AV_BYTES,
    AV_STRING,
    AV_RECORD,
    AV_ENUM,
    AV_ARRAY,
    AV_MAP,
    AV_UNION,
    AV_FIXED,
} av_kind;

static const char *const kind_names[] = {"null",   "boolean", "int",    "long",   "float",
                                         "double", "bytes",   "string", "record", "enum",
                                         "array",  "map",     "union",  "fixed"};

typedef struct av_node av_node;

typedef struct av_field {
    const char *name;
    const char **aliases;
    size_t naliases;
    av_node *type;
    bool has_default;
} av_field;

struct av_node {
    av_kind kind;
    bool is_error;        /* a record declared as "error" */
    const char *fullname; /* named types */
    const char **aliases; /* fullnames */
    size_t naliases;
    av_field *fields; /* record */
    size_t nfields;
    const char **symbols; /* enum */
    size_t nsymbols;
    bool has_enum_default;
    av_node *items;     /* array items, map values */
    av_node **branches; /* union */
    size_t nbranches;
    long long size; /* fixed */
};

struct sl_regschema {
    sl_regschema_type type;
    sl_jsonschema *json; /* SL_SCHEMA_JSON */
    av_node *root;
    sl_arena arena; /* every node, name and array */
    char *canonical;
};

typedef struct named {
    const char *fullname;
    av_node *node;
} named;

typedef struct parse_ctx {
    sl_regschema *s;
    named *names;
    size_t nnames, capnames;
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

static void *alloc(parse_ctx *c, size_t n)
{
    void *p = sl_arena_alloc(&c->s->arena, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

static const char *dup(parse_ctx *c, const char *s)
{
    return sl_arena_strndup(&c->s->arena, s, strlen(s));
}

static int primitive_kind(const char *s)
{
    for (int k = AV_NULL; k <= AV_STRING; k++)
        if (!strcmp(s, kind_names[k])) return k;
    return -1;
}

/* Every dot-separated part of a name: [A-Za-z_][A-Za-z0-9_]*. */
static bool valid_name(const char *s)
{
    bool start = true;
    for (; *s; s++) {
        if (*s == '.' && !start) {
            start = true;
            continue;
        }
        bool alpha = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_';
        if (!alpha && (start || *s < '0' || *s > '9')) return false;
        start = false;
    }
    return !start;
}

/* name relative to namespace ns (NULL or "" for none). */
static const char *qualify(parse_ctx *c, const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns) return dup(c, name);
    size_t n = strlen(ns) + 1 + strlen(name) + 1;
    char *o = sl_arena_alloc(&c->s->arena, n);
    snprintf(o, n, "%s.%s", ns, name);
    return o;
}

static av_node *lookup(parse_ctx *c, const char *fullname)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (!strcmp(c->names[i].fullname, fullname)) return c->names[i].node;
    return NULL;
}

static int define(parse_ctx *c, const char *fullname, av_node *n)
{
    if (lookup(c, fullname)) return fail(c, "Can't redefine: %s", fullname);
    if (c->nnames == c->capnames) {
        c->capnames = c->capnames ? c->capnames * 2 : 8;
        c->names = sl_realloc(c->names, c->capnames * sizeof *c->names);
    }
    c->names[c->nnames++] = (named){fullname, n};
    return 0;
}

static int aliases(parse_ctx *c, json_t *obj, const char *ns, const char ***out, size_t *nout)
{
    json_t *a = json_object_get(obj, "aliases");
    *out = NULL;
    *nout = 0;
    if (!a) return 0;
    if (!json_is_array(a)) return fail(c, "aliases must be an array of names");
    size_t n = json_array_size(a);
    *out = alloc(c, n * sizeof **out);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_string(v)) return fail(c, "aliases must be an array of names");
        (*out)[i] = qualify(c, json_string_value(v), ns);
    }
    *nout = n;
    return 0;
}

static int build(parse_ctx *c, json_t *j, const char *ns, av_node **out);

static int build_named(parse_ctx *c, json_t *j, const char *type, const char *ns, av_node **out)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name) return fail(c, "a %s needs a name", type);
    if (!valid_name(name)) return fail(c, "Invalid name: %s", name);
    const char *nsattr = json_string_value(json_object_get(j, "namespace"));
    /* "" is the null namespace; anything else is names joined by dots, as Avro requires */
    if (nsattr && *nsattr && !valid_name(nsattr)) return fail(c, "Invalid namespace: %s", nsattr);
    const char *myns = nsattr ? nsattr : ns;
    av_node *n = alloc(c, sizeof *n);
    n->fullname = qualify(c, name, myns);
    const char *dot = strrchr(n->fullname, '.');
    const char *inner = "";
    if (dot) inner = sl_arena_strndup(&c->s->arena, n->fullname, (size_t)(dot - n->fullname));
    int rc = define(c, n->fullname, n);
    if (rc == 0) rc = aliases(c, j, inner, &n->aliases, &n->naliases);
    if (rc) return rc;
    *out = n;
    if (!strcmp(type, "record") || !strcmp(type, "error")) {
        n->kind = AV_RECORD;
        n->is_error = !strcmp(type, "error");
        json_t *f = json_object_get(j, "fields");
        if (!json_is_array(f)) return fail(c, "record %s: fields must be an array", n->fullname);
        n->nfields = json_array_size(f);
        n->fields = alloc(c, n->nfields * sizeof *n->fields);
        json_t *seen = json_object(); /* field names so far: Avro wants them unique */
        for (size_t i = 0; i < n->nfields; i++) {
            json_t *fj = json_array_get(f, i);
            av_field *fd = &n->fields[i];
            const char *fname = json_string_value(json_object_get(fj, "name"));
            json_t *ft = json_object_get(fj, "type");
            if (!fname || !ft)
                rc = fail(c, "record %s: field %zu needs a name and a type", n->fullname, i);
            else if (!valid_name(fname) || strchr(fname, '.'))
                rc = fail(c, "record %s: Invalid field name: %s", n->fullname, fname);
            else if (json_object_get(seen, fname))
                rc = fail(c, "Duplicate field %s in record %s", fname, n->fullname);
            if (rc) {
                json_decref(seen);
                return rc;
            }
            json_object_set_new(seen, fname, json_true());
            fd->name = dup(c, fname);
            fd->has_default = json_object_get(fj, "default") != NULL;
            json_t *fa = json_object_get(fj, "aliases");
            if (fa && !json_is_array(fa)) {
                rc = fail(c, "field %s: aliases must be an array", fname);
            } else if (fa) {
                fd->naliases = json_array_size(fa);
                fd->aliases = alloc(c, fd->naliases * sizeof *fd->aliases);
                for (size_t k = 0; k < fd->naliases && !rc; k++) {
                    const char *al = json_string_value(json_array_get(fa, k));
                    if (!al)
                        rc = fail(c, "field %s: aliases must be strings", fname);
                    else
                        fd->aliases[k] = dup(c, al);
                }
            }
            if (rc || (rc = build(c, ft, inner, &fd->type))) break;
        }
        json_decref(seen);
        if (rc) return rc;
    } else if (!strcmp(type, "enum")) {
        n->kind = AV_ENUM;
        json_t *sy = json_object_get(j, "symbols");
        if (!json_is_array(sy)) return fail(c, "enum %s: symbols must be an array", n->fullname);
        n->nsymbols = json_array_size(sy);
        n->symbols = alloc(c, n->nsymbols * sizeof *n->symbols);
        for (size_t i = 0; i < n->nsymbols; i++) {
            const char *v = json_string_value(json_array_get(sy, i));
            if (!v) return fail(c, "enum %s: symbols must be strings", n->fullname);
            n->symbols[i] = dup(c, v);
        }
        n->has_enum_default = json_is_string(json_object_get(j, "default"));
    } else {
        n->kind = AV_FIXED;
        json_t *sz = json_object_get(j, "size");
        if (!json_is_integer(sz) || json_integer_value(sz) < 0)
            return fail(c, "fixed %s: size must be a non-negative integer", n->fullname);
        n->size = json_integer_value(sz);
    }
    return 0;
}

static int build(parse_ctx *c, json_t *j, const char *ns, av_node **out)
{
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        int k = primitive_kind(s);
        if (k >= 0) {
            av_node *n = alloc(c, sizeof *n);
            n->kind = (av_kind)k;
            *out = n;
            return 0;
        }
        av_node *n = NULL;
        if (!strchr(s, '.') && ns && *ns) n = lookup(c, qualify(c, s, ns));
        if (!n) n = lookup(c, s);
        if (!n) return fail(c, "Unknown type: %s", s);
        *out = n;
        return 0;
    }
    if (json_is_array(j)) {
        av_node *n = alloc(c, sizeof *n);
        n->kind = AV_UNION;
        n->nbranches = json_array_size(j);
        n->branches = alloc(c, n->nbranches * sizeof *n->branches);
        for (size_t i = 0; i < n->nbranches; i++) {
            int rc = build(c, json_array_get(j, i), ns, &n->branches[i]);
            if (rc) return rc;
            const av_node *b = n->branches[i];
            if (b->kind == AV_UNION) return fail(c, "Unions may not immediately contain unions");
            for (size_t k = 0; k < i; k++) {
                const av_node *o = n->branches[k];
                bool same =
                    o->kind == b->kind && (!b->fullname || !strcmp(o->fullname, b->fullname));
                if (same)
                    return fail(c, "Duplicate in union: %s",
                                b->fullname ? b->fullname : kind_names[b->kind]);
            }
        }
        *out = n;
        return 0;
    }
    if (!json_is_object(j)) return fail(c, "a type must be a name, an object or an array");
    json_t *t = json_object_get(j, "type");
    if (!t) return fail(c, "a type object needs \"type\"");
    if (!json_is_string(t)) return build(c, t, ns, out);
    const char *ts = json_string_value(t);
    if (primitive_kind(ts) >= 0) return build(c, t, ns, out);
    if (!strcmp(ts, "record") || !strcmp(ts, "error") || !strcmp(ts, "enum") ||
        !strcmp(ts, "fixed"))
        return build_named(c, j, ts, ns, out);
    if (!strcmp(ts, "array") || !strcmp(ts, "map")) {
        av_node *n = alloc(c, sizeof *n);
        n->kind = ts[0] == 'a' ? AV_ARRAY : AV_MAP;
        json_t *it = json_object_get(j, ts[0] == 'a' ? "items" : "values");
        if (!it) return fail(c, "%s needs \"%s\"", ts, ts[0] == 'a' ? "items" : "values");
        *out = n;
        return build(c, it, ns, &n->items);
    }
    return build(c, t, ns, out); /* a reference to a named type: {"type":"com.x.Rec"} */
}

typedef struct seen {
    const av_node **v;
    size_t n, cap;
} seen;

static bool seen_has(const seen *s, const av_node *n)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == n) return true;
    return false;
}

static void seen_add(seen *s, const av_node *n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = sl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = n;
}

/* Names and symbols are [A-Za-z_][A-Za-z0-9_]* (dotted), so they need no escaping; libavro has
 * checked that before we get here. */
static void emit(sl_buf *b, const av_node *n, seen *sn)
{
    switch (n->kind) {
    case AV_RECORD:
    case AV_ENUM:
    case AV_FIXED:
        if (seen_has(sn, n)) {
            sl_buf_printf(b, "\"%s\"", n->fullname);
            return;
        }
        seen_add(sn, n);
        sl_buf_printf(b, "{\"name\":\"%s\",\"type\":\"%s\"", n->fullname,
                      n->kind == AV_RECORD ? (n->is_error ? "error" : "record")
                                           : kind_names[n->kind]);
        if (n->kind == AV_RECORD) {
            sl_buf_append_str(b, ",\"fields\":[");
            for (size_t i = 0; i < n->nfields; i++) {
                sl_buf_printf(b, "%s{\"name\":\"%s\",\"type\":", i ? "," : "", n->fields[i].name);
                emit(b, n->fields[i].type, sn);
                sl_buf_append_str(b, "}");
            }
            sl_buf_append_str(b, "]}");
        } else if (n->kind == AV_ENUM) {
            sl_buf_append_str(b, ",\"symbols\":[");
            for (size_t i = 0; i < n->nsymbols; i++)
                sl_buf_printf(b, "%s\"%s\"", i ? "," : "", n->symbols[i]);
            sl_buf_append_str(b, "]}");
        } else {
            sl_buf_printf(b, ",\"size\":%lld}", n->size);
        }
        return;
    case AV_ARRAY:
    case AV_MAP:
        sl_buf_printf(b, "{\"type\":\"%s\",\"%s\":", kind_names[n->kind],
                      n->kind == AV_ARRAY ? "items" : "values");
        emit(b, n->items, sn);
        sl_buf_append_str(b, "}");
        return;
    case AV_UNION:
        sl_buf_append_str(b, "[");
        for (size_t i = 0; i < n->nbranches; i++) {
            if (i) sl_buf_append_str(b, ",");
            emit(b, n->branches[i], sn);
        }
        sl_buf_append_str(b, "]");
        return;
    default: sl_buf_printf(b, "\"%s\"", kind_names[n->kind]);
    }
}

int sl_regschema_parse(sl_regschema_type t, const char *text, size_t len, sl_regschema **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (t == SL_SCHEMA_JSON) {
        sl_jsonschema *js = NULL;
        int rc = sl_jsonschema_parse(text, len, &js, err, errlen);
        if (rc) return rc;
        sl_regschema *s = sl_calloc(1, sizeof *s);
        s->type = t;
        s->json = js;
        sl_arena_init(&s->arena, 64);
        s->canonical = sl_strdup(sl_jsonschema_canonical(js));
        *out = s;
        return 0;
    }
    if (t != SL_SCHEMA_AVRO) {
        snprintf(err, errlen, "schema type PROTOBUF is not supported");
        return SL_ERR_UNSUPPORTED;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!j) {
        snprintf(err, errlen, "Invalid schema: %s", jerr.text);
        return SL_ERR_PARSE;
    }
    sl_regschema *s = sl_calloc(1, sizeof *s);
    s->type = t;
    sl_arena_init(&s->arena, 4096);
    parse_ctx c = {.s = s, .err = err, .errlen = errlen};
    int rc = build(&c, j, "", &s->root);
    json_decref(j);
    free(c.names);
    /* libavro after our own walk: its parser leaks on some refusals (a redefined name), which
     * the walk refuses first. */
    avro_schema_t as = NULL;
    if (rc == 0 && avro_schema_from_json_length(text, len, &as)) {
        snprintf(err, errlen, "Invalid schema: %s", avro_strerror());
        rc = SL_ERR_PARSE;
        as = NULL; /* on some refusals libavro leaves here a schema it has already freed */
    }
    if (as) avro_schema_decref(as);
    if (rc) {
        sl_regschema_free(s);
        return rc;
    }
    sl_buf b;
    sl_buf_init(&b);
    seen sn = {0};
    emit(&b, s->root, &sn);
    free(sn.v);
    s->canonical = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    *out = s;
    return 0;
}

const char *sl_regschema_canonical(const sl_regschema *s)
{
    return s->canonical;
}

void sl_regschema_free(sl_regschema *s)
{
    if (!s) return;
    sl_jsonschema_free(s->json);
    sl_arena_free(&s->arena);
    free(s->canonical);
    free(s);
}

typedef struct check_ctx {
    /* record pairs being compared (a revisit, recursion, is assumed to match) and pairs
     * already answered, so that a named type used many times (a DAG of records) costs one check
     * instead of one per path; tagged loud or quiet */
    sl_pairwalk walk;
    char ***msgs;
    size_t *nmsgs;
} check_ctx;

static void msg(check_ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void msg(check_ctx *c, const char *path, const char *fmt, ...)
{
    if (!c->msgs) return;
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    size_t n = strlen(body) + strlen(path) + 16;
    char *m = sl_malloc(n);
    snprintf(m, n, "%s at '%s'", body, *path ? path : "/");
    *c->msgs = sl_realloc(*c->msgs, (*c->nmsgs + 1) * sizeof **c->msgs);
    (*c->msgs)[(*c->nmsgs)++] = m;
}

static const char *unqualified(const char *fullname)
{
    const char *d = strrchr(fullname, '.');
    return d ? d + 1 : fullname;
}

/* The specification compares unqualified names; the reader's aliases may name the writer. */
static bool names_match(const av_node *r, const av_node *w)
{
    if (!strcmp(unqualified(r->fullname), unqualified(w->fullname))) return true;
    for (size_t i = 0; i < r->naliases; i++)
        if (!strcmp(r->aliases[i], w->fullname) ||
            !strcmp(unqualified(r->aliases[i]), unqualified(w->fullname)))
            return true;
    return false;
}

static bool promotes(av_kind w, av_kind r)
{
    switch (w) {
    case AV_INT: return r == AV_LONG || r == AV_FLOAT || r == AV_DOUBLE;
    case AV_LONG: return r == AV_FLOAT || r == AV_DOUBLE;
    case AV_FLOAT: return r == AV_DOUBLE;
    case AV_STRING: return r == AV_BYTES;
    case AV_BYTES: return r == AV_STRING;
    default: return false;
    }
}

static bool can_read(check_ctx *c, const av_node *r, const av_node *w, const char *path);
static bool record_fields(check_ctx *c, const av_node *r, const av_node *w, const char *path);

static bool quiet_can_read(check_ctx *c, const av_node *r, const av_node *w)
{
    char ***msgs = c->msgs;
    c->msgs = NULL;
    bool ok = can_read(c, r, w, "");
    c->msgs = msgs;
    return ok;
}

static bool can_read_record(check_ctx *c, const av_node *r, const av_node *w, const char *path)
{
    bool ok;
    sl_pairwalk_mark m;
    if (sl_pairwalk_enter(&c->walk, r, w, c->msgs != NULL, &ok, &m)) return ok;
    return sl_pairwalk_leave(&c->walk, r, w, c->msgs != NULL, m, record_fields(c, r, w, path));
}

static bool record_fields(check_ctx *c, const av_node *r, const av_node *w, const char *path)
{
    bool ok = true;
    for (size_t i = 0; i < r->nfields; i++) {
        const av_field *rf = &r->fields[i];
        const av_field *wf = NULL;
        for (size_t k = 0; k < w->nfields && !wf; k++)
            if (!strcmp(w->fields[k].name, rf->name)) wf = &w->fields[k];
        for (size_t a = 0; a < rf->naliases && !wf; a++)
            for (size_t k = 0; k < w->nfields && !wf; k++)
                if (!strcmp(w->fields[k].name, rf->aliases[a])) wf = &w->fields[k];
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/fields/%zu", path, i);
        if (!wf) {
            if (!rf->has_default) {
                msg(c, sub, "READER_FIELD_MISSING_DEFAULT_VALUE: %s", rf->name);
                ok = false;
            }
            continue;
        }
        char tsub[1040];
        snprintf(tsub, sizeof tsub, "%s/type", sub);
        if (!can_read(c, rf->type, wf->type, tsub)) ok = false;
    }
    return ok;
}

static bool can_read(check_ctx *c, const av_node *r, const av_node *w, const char *path)
{
    if (w->kind == AV_UNION) {
        bool ok = true;
        for (size_t i = 0; i < w->nbranches; i++) {
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%zu", path, i);
            if (r->kind == AV_UNION) {
                bool any = false;
                for (size_t k = 0; k < r->nbranches && !any; k++)
                    any = quiet_can_read(c, r->branches[k], w->branches[i]);
                if (!any) {
                    msg(c, sub, "MISSING_UNION_BRANCH: reader union lacks writer's %s",
                        w->branches[i]->fullname ? w->branches[i]->fullname
                                                 : kind_names[w->branches[i]->kind]);
                    ok = false;
                }
            } else if (!can_read(c, r, w->branches[i], sub)) {
                ok = false;
            }
        }
        return ok;
    }
    if (r->kind == AV_UNION) {
        for (size_t k = 0; k < r->nbranches; k++)
            if (quiet_can_read(c, r->branches[k], w)) return true;
        msg(c, path, "MISSING_UNION_BRANCH: reader union lacks writer's %s",
            w->fullname ? w->fullname : kind_names[w->kind]);
        return false;
    }
    if (r->kind != w->kind) {
        if (promotes(w->kind, r->kind)) return true;
        msg(c, path, "TYPE_MISMATCH: reader type %s is not compatible with writer type %s",
            kind_names[r->kind], kind_names[w->kind]);
        return false;
    }
    switch (r->kind) {
    case AV_RECORD:
    case AV_ENUM:
    case AV_FIXED:
        if (!names_match(r, w)) {
            msg(c, path, "NAME_MISMATCH: expected %s, found %s", w->fullname, r->fullname);
            return false;
        }
        break;
    default: break;
    }
    switch (r->kind) {
    case AV_RECORD: return can_read_record(c, r, w, path);
    case AV_ENUM: {
        if (r->has_enum_default) return true;
        bool ok = true;
        for (size_t i = 0; i < w->nsymbols; i++) {
            bool found = false;
            for (size_t k = 0; k < r->nsymbols && !found; k++)
                found = !strcmp(r->symbols[k], w->symbols[i]);
            if (!found) {
                msg(c, path, "MISSING_ENUM_SYMBOLS: reader lacks %s", w->symbols[i]);
                ok = false;
            }
        }
        return ok;
    }
    case AV_FIXED:
        if (r->size != w->size) {
            msg(c, path, "FIXED_SIZE_MISMATCH: expected %lld, found %lld", w->size, r->size);
            return false;
        }
        return true;
    case AV_ARRAY:
    case AV_MAP: {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, r->kind == AV_ARRAY ? "items" : "values");
        return can_read(c, r->items, w->items, sub);
    }
    default: return true;
    }
}

bool sl_regschema_can_read(const sl_regschema *reader, const sl_regschema *writer, char ***msgs,
                           size_t *nmsgs)
{
    if (reader->type == SL_SCHEMA_JSON && writer->type == SL_SCHEMA_JSON)
        return sl_jsonschema_can_read(reader->json, writer->json, msgs, nmsgs);
    check_ctx c = {.msgs = msgs, .nmsgs = nmsgs, .walk = SL_PAIRWALK_INIT};
    bool ok = can_read(&c, reader->root, writer->root, "");
    sl_pairwalk_free(&c.walk);
    return ok;
}
