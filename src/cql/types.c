/* types.c: CQL type descriptors; validation, comparison and parsing of serialized values.
 * Formatting and literal conversion are in types_text.c, uuids and tokens in types_uuid.c. */
#include "cql/types.h"
#include "cql/types_int.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

#define PRIM(k) [k] = {.kind = k, .refs = -1}
static const sl_cql_dtype prims[SL_CQL_TINYINT + 1] = {
    PRIM(SL_CQL_ASCII),   PRIM(SL_CQL_BIGINT),    PRIM(SL_CQL_BLOB),    PRIM(SL_CQL_BOOLEAN),
    PRIM(SL_CQL_COUNTER), PRIM(SL_CQL_DECIMAL),   PRIM(SL_CQL_DOUBLE),  PRIM(SL_CQL_FLOAT),
    PRIM(SL_CQL_INT),     PRIM(SL_CQL_TIMESTAMP), PRIM(SL_CQL_UUID),    PRIM(SL_CQL_TEXT),
    PRIM(SL_CQL_VARINT),  PRIM(SL_CQL_TIMEUUID),  PRIM(SL_CQL_INET),    PRIM(SL_CQL_DATE),
    PRIM(SL_CQL_TIME),    PRIM(SL_CQL_SMALLINT),  PRIM(SL_CQL_TINYINT),
};

static const struct {
    const char *name;
    sl_cql_kind kind;
} kind_names[] = {
    {"ascii", SL_CQL_ASCII},       {"bigint", SL_CQL_BIGINT},
    {"blob", SL_CQL_BLOB},         {"boolean", SL_CQL_BOOLEAN},
    {"counter", SL_CQL_COUNTER},   {"decimal", SL_CQL_DECIMAL},
    {"double", SL_CQL_DOUBLE},     {"float", SL_CQL_FLOAT},
    {"int", SL_CQL_INT},           {"timestamp", SL_CQL_TIMESTAMP},
    {"uuid", SL_CQL_UUID},         {"text", SL_CQL_TEXT},
    {"varchar", SL_CQL_TEXT},      {"varint", SL_CQL_VARINT},
    {"timeuuid", SL_CQL_TIMEUUID}, {"inet", SL_CQL_INET},
    {"date", SL_CQL_DATE},         {"time", SL_CQL_TIME},
    {"smallint", SL_CQL_SMALLINT}, {"tinyint", SL_CQL_TINYINT},
    {"list", SL_CQL_LIST},         {"map", SL_CQL_MAP},
    {"set", SL_CQL_SET},           {"tuple", SL_CQL_TUPLE},
};

const sl_cql_dtype *sl_cql_dtype_prim(sl_cql_kind kind)
{
    if ((unsigned)kind >= SL_ARRAY_LEN(prims) || prims[kind].kind != kind || kind == 0) return NULL;
    return &prims[kind];
}

const char *sl_cql_kind_name(sl_cql_kind kind)
{
    if (kind == SL_CQL_UDT) return "udt";
    if (kind == SL_CQL_CUSTOM) return "custom";
    for (size_t i = 0; i < SL_ARRAY_LEN(kind_names); i++)
        if (kind_names[i].kind == kind) return kind_names[i].name;
    return "unknown";
}

sl_cql_dtype *sl_cql_dtype_new(sl_cql_kind kind, bool frozen, size_t nsub, sl_cql_dtype **sub)
{
    sl_cql_dtype *t = sl_calloc(1, sizeof(*t));
    t->kind = kind;
    t->frozen = frozen || kind == SL_CQL_TUPLE;
    t->refs = 1;
    t->nsub = (uint16_t)nsub;
    if (nsub) {
        t->sub = sl_malloc(nsub * sizeof(*t->sub));
        memcpy(t->sub, sub, nsub * sizeof(*t->sub));
    }
    return t;
}

sl_cql_dtype *sl_cql_dtype_keep(const sl_cql_dtype *t)
{
    sl_cql_dtype *m = (sl_cql_dtype *)t;
    if (m->refs > 0) m->refs++;
    return m;
}

void sl_cql_dtype_release(sl_cql_dtype *t)
{
    if (!t || t->refs < 0 || --t->refs > 0) return;
    for (size_t i = 0; i < t->nsub; i++) {
        sl_cql_dtype_release(t->sub[i]);
        if (t->field_names) sl_free(t->field_names[i]);
    }
    sl_free(t->sub);
    sl_free(t->field_names);
    sl_free(t->custom);
    sl_free(t->udt_keyspace);
    sl_free(t->udt_name);
    sl_free(t);
}

static sl_cql_dtype *dtype_copy_shallow(const sl_cql_dtype *t, bool frozen)
{
    sl_cql_dtype *c = sl_calloc(1, sizeof(*c));
    c->kind = t->kind;
    c->frozen = frozen;
    c->refs = 1;
    c->nsub = t->nsub;
    if (t->nsub) {
        c->sub = sl_malloc(t->nsub * sizeof(*c->sub));
        for (size_t i = 0; i < t->nsub; i++)
            c->sub[i] = sl_cql_dtype_keep(t->sub[i]);
    }
    if (t->field_names) {
        c->field_names = sl_malloc(t->nsub * sizeof(char *));
        for (size_t i = 0; i < t->nsub; i++)
            c->field_names[i] = sl_strdup(t->field_names[i]);
    }
    if (t->custom) c->custom = sl_strdup(t->custom);
    if (t->udt_keyspace) c->udt_keyspace = sl_strdup(t->udt_keyspace);
    if (t->udt_name) c->udt_name = sl_strdup(t->udt_name);
    return c;
}

sl_cql_dtype *sl_cql_dtype_freeze(const sl_cql_dtype *t)
{
    bool freezable = sl_cql_dtype_is_collection(t) || t->kind == SL_CQL_UDT;
    if (!freezable || t->frozen) return sl_cql_dtype_keep(t);
    return dtype_copy_shallow(t, true);
}

bool sl_cql_dtype_equal(const sl_cql_dtype *a, const sl_cql_dtype *b)
{
    if (a == b) return true;
    if (a->kind != b->kind || a->nsub != b->nsub) return false;
    bool freezable = sl_cql_dtype_is_collection(a) || a->kind == SL_CQL_UDT;
    if (freezable && a->frozen != b->frozen) return false;
    if (a->kind == SL_CQL_CUSTOM) return a->custom && b->custom && !strcmp(a->custom, b->custom);
    if (a->kind == SL_CQL_UDT) {
        if (strcmp(a->udt_keyspace ? a->udt_keyspace : "",
                   b->udt_keyspace ? b->udt_keyspace : "") ||
            strcmp(a->udt_name ? a->udt_name : "", b->udt_name ? b->udt_name : ""))
            return false;
    }
    for (size_t i = 0; i < a->nsub; i++)
        if (!sl_cql_dtype_equal(a->sub[i], b->sub[i])) return false;
    return true;
}

bool sl_cql_dtype_is_collection(const sl_cql_dtype *t)
{
    return t->kind == SL_CQL_LIST || t->kind == SL_CQL_SET || t->kind == SL_CQL_MAP;
}

bool sl_cql_dtype_is_multicell(const sl_cql_dtype *t)
{
    return sl_cql_dtype_is_collection(t) && !t->frozen;
}

int sl_cql_dtype_fixed_size(const sl_cql_dtype *t)
{
    switch (t->kind) {
    case SL_CQL_BOOLEAN:
    case SL_CQL_TINYINT: return 1;
    case SL_CQL_SMALLINT: return 2;
    case SL_CQL_INT:
    case SL_CQL_FLOAT:
    case SL_CQL_DATE: return 4;
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
    case SL_CQL_DOUBLE:
    case SL_CQL_TIMESTAMP:
    case SL_CQL_TIME: return 8;
    case SL_CQL_UUID:
    case SL_CQL_TIMEUUID: return 16;
    default: return -1;
    }
}

/* ---- type text: "frozen<map<text, list<int>>>" ---- */

typedef struct tparser {
    const char *p, *end;
    sl_buf *err;
    int depth;
} tparser;

static void tp_ws(tparser *tp)
{
    while (tp->p < tp->end && isspace((unsigned char)*tp->p))
        tp->p++;
}

static bool tp_ident(tparser *tp, const char **s, size_t *n)
{
    tp_ws(tp);
    *s = tp->p;
    while (tp->p < tp->end && (isalnum((unsigned char)*tp->p) || *tp->p == '_'))
        tp->p++;
    *n = (size_t)(tp->p - *s);
    return *n > 0;
}

static bool tp_char(tparser *tp, char c)
{
    tp_ws(tp);
    if (tp->p < tp->end && *tp->p == c) {
        tp->p++;
        return true;
    }
    return false;
}

static int kind_by_name(const char *s, size_t n, sl_cql_kind *out)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(kind_names); i++)
        if (strlen(kind_names[i].name) == n && !strncasecmp(kind_names[i].name, s, n)) {
            *out = kind_names[i].kind;
            return 0;
        }
    return -1;
}

/* Checks the rules Cassandra applies to a collection's element types. inside_frozen: the
 * collection is frozen or nested in a frozen type, so its elements are frozen implicitly. */
static int check_elements(sl_cql_dtype *t, sl_buf *err)
{
    if (!sl_cql_dtype_is_collection(t) && t->kind != SL_CQL_TUPLE) return 0;
    for (size_t i = 0; i < t->nsub; i++) {
        sl_cql_dtype *e = t->sub[i];
        if (e->kind == SL_CQL_COUNTER) {
            sl_buf_printf(err, "Counters are not allowed inside collections: ");
            sl_cql_dtype_to_cql(t, err);
            return SL_ERR_INVAL;
        }
        if (sl_cql_dtype_is_multicell(e)) {
            if (t->kind == SL_CQL_TUPLE || t->frozen) {
                t->sub[i] = sl_cql_dtype_freeze(e);
                sl_cql_dtype_release(e);
                continue;
            }
            sl_buf_printf(err, "Non-frozen collections are not allowed inside collections: ");
            sl_cql_dtype_to_cql(t, err);
            return SL_ERR_INVAL;
        }
    }
    return 0;
}

static int tp_type(tparser *tp, bool in_frozen, sl_cql_dtype **out)
{
    const char *s;
    size_t n;
    *out = NULL;
    if (++tp->depth > SL_CQL_TYPE_MAX_DEPTH) {
        sl_buf_printf(tp->err, "Type nesting too deep");
        return SL_ERR_INVAL;
    }
    if (!tp_ident(tp, &s, &n)) {
        sl_buf_printf(tp->err, "Invalid type text '%.*s'", (int)(tp->end - tp->p), tp->p);
        return SL_ERR_INVAL;
    }
    if (n == 6 && !strncasecmp(s, "frozen", 6)) {
        sl_cql_dtype *inner;
        if (!tp_char(tp, '<')) goto bad;
        int rc = tp_type(tp, true, &inner);
        if (rc) return rc;
        if (!tp_char(tp, '>')) {
            sl_cql_dtype_release(inner);
            goto bad;
        }
        if (!sl_cql_dtype_is_collection(inner) && inner->kind != SL_CQL_TUPLE &&
            inner->kind != SL_CQL_UDT) {
            sl_buf_printf(tp->err, "frozen<> is only allowed on collections, tuples, and "
                                   "user-defined types (got ");
            sl_cql_dtype_to_cql(inner, tp->err);
            sl_buf_printf(tp->err, ")");
            sl_cql_dtype_release(inner);
            return SL_ERR_INVAL;
        }
        *out = sl_cql_dtype_freeze(inner);
        sl_cql_dtype_release(inner);
        /* Freezing reaches nested collections too. */
        rc = check_elements(*out, tp->err);
        tp->depth--;
        return rc;
    }
    sl_cql_kind k;
    if (kind_by_name(s, n, &k)) {
        sl_buf_printf(tp->err, "Unknown type %.*s", (int)n, s);
        return SL_ERR_INVAL;
    }
    if (k != SL_CQL_LIST && k != SL_CQL_SET && k != SL_CQL_MAP && k != SL_CQL_TUPLE) {
        *out = (sl_cql_dtype *)sl_cql_dtype_prim(k);
        tp->depth--;
        return 0;
    }
    sl_cql_dtype *sub[256];
    size_t nsub = 0;
    int rc = 0;
    if (!tp_char(tp, '<')) goto bad;
    do {
        if (nsub == SL_ARRAY_LEN(sub)) {
            sl_buf_printf(tp->err, "Too many tuple fields");
            rc = SL_ERR_INVAL;
            goto fail;
        }
        rc = tp_type(tp, in_frozen || k == SL_CQL_TUPLE, &sub[nsub]);
        if (rc) goto fail;
        nsub++;
    } while (tp_char(tp, ','));
    if (!tp_char(tp, '>')) {
        rc = SL_ERR_INVAL;
        sl_buf_printf(tp->err, "Invalid type text: expected '>'");
        goto fail;
    }
    size_t want = k == SL_CQL_MAP ? 2 : k == SL_CQL_TUPLE ? nsub : 1;
    if (nsub != want) {
        sl_buf_printf(tp->err, "%s takes %zu type parameter%s, got %zu", sl_cql_kind_name(k), want,
                      want > 1 ? "s" : "", nsub);
        rc = SL_ERR_INVAL;
        goto fail;
    }
    *out = sl_cql_dtype_new(k, in_frozen, nsub, sub);
    rc = check_elements(*out, tp->err);
    if (rc) {
        sl_cql_dtype_release(*out);
        *out = NULL;
    }
    tp->depth--;
    return rc;
fail:
    while (nsub)
        sl_cql_dtype_release(sub[--nsub]);
    return rc;
bad:
    sl_buf_printf(tp->err, "Invalid type text near '%.*s'", (int)(tp->end - tp->p), tp->p);
    return SL_ERR_INVAL;
}

int sl_cql_dtype_parse(sl_slice text, sl_cql_dtype **out, sl_buf *err)
{
    tparser tp = {(const char *)text.ptr, (const char *)text.ptr + text.len, err, 0};
    int rc = tp_type(&tp, false, out);
    if (rc) return rc;
    tp_ws(&tp);
    if (tp.p != tp.end) {
        sl_buf_printf(err, "Invalid type text: unexpected '%.*s'", (int)(tp.end - tp.p), tp.p);
        sl_cql_dtype_release(*out);
        *out = NULL;
        return SL_ERR_INVAL;
    }
    return 0;
}

static int from_ast(const sl_cql_type *a, int depth, bool in_frozen, sl_cql_dtype **out,
                    sl_buf *err)
{
    *out = NULL;
    if (depth > SL_CQL_TYPE_MAX_DEPTH) {
        sl_buf_printf(err, "Type nesting too deep");
        return SL_ERR_INVAL;
    }
    if (a->custom) {
        sl_buf_printf(err, "Custom types are not supported: '%s'", a->name);
        return SL_ERR_INVAL;
    }
    if (a->ks.name) {
        sl_buf_printf(err, "Unknown type %s.%s", a->ks.name, a->name);
        return SL_ERR_INVAL;
    }
    if (!strcmp(a->name, "frozen")) {
        sl_cql_dtype *inner;
        if (a->n_args != 1) goto bad_args;
        int rc = from_ast(a->args[0], depth + 1, true, &inner, err);
        if (rc) return rc;
        if (!sl_cql_dtype_is_collection(inner) && inner->kind != SL_CQL_TUPLE) {
            sl_buf_printf(err,
                          "frozen<> is only allowed on collections, tuples, and "
                          "user-defined types (got %.*s)",
                          (int)a->text_len, a->text);
            sl_cql_dtype_release(inner);
            return SL_ERR_INVAL;
        }
        *out = sl_cql_dtype_freeze(inner);
        sl_cql_dtype_release(inner);
        return check_elements(*out, err);
    }
    sl_cql_kind k;
    if (kind_by_name(a->name, strlen(a->name), &k)) {
        sl_buf_printf(err, "Unknown type %s", a->name);
        return SL_ERR_INVAL;
    }
    bool param = k == SL_CQL_LIST || k == SL_CQL_SET || k == SL_CQL_MAP || k == SL_CQL_TUPLE;
    if (!param) {
        if (a->n_args) goto bad_args;
        *out = (sl_cql_dtype *)sl_cql_dtype_prim(k);
        return 0;
    }
    size_t want = k == SL_CQL_MAP ? 2 : k == SL_CQL_TUPLE ? a->n_args : 1;
    if (a->n_args != want || want == 0 || want > 0xffff) goto bad_args;
    sl_cql_dtype **sub = sl_calloc(want, sizeof(*sub));
    int rc = 0;
    for (size_t i = 0; i < want && !rc; i++)
        rc = from_ast(a->args[i], depth + 1, in_frozen || k == SL_CQL_TUPLE, &sub[i], err);
    if (rc) {
        for (size_t i = 0; i < want; i++)
            if (sub[i]) sl_cql_dtype_release(sub[i]);
        sl_free(sub);
        return rc;
    }
    *out = sl_cql_dtype_new(k, in_frozen, want, sub);
    sl_free(sub);
    rc = check_elements(*out, err);
    if (rc) {
        sl_cql_dtype_release(*out);
        *out = NULL;
    }
    return rc;
bad_args:
    sl_buf_printf(err, "Invalid type %.*s: wrong number of type parameters", (int)a->text_len,
                  a->text);
    return SL_ERR_INVAL;
}

int sl_cql_dtype_from_ast(const sl_cql_type *ast, sl_cql_dtype **out, sl_buf *err)
{
    return from_ast(ast, 0, false, out, err);
}

void sl_cql_dtype_to_cql(const sl_cql_dtype *t, sl_buf *out)
{
    bool freezable = sl_cql_dtype_is_collection(t) || t->kind == SL_CQL_UDT;
    if (freezable && t->frozen) sl_buf_append_str(out, "frozen<");
    switch (t->kind) {
    case SL_CQL_CUSTOM: sl_buf_printf(out, "'%s'", t->custom ? t->custom : ""); break;
    case SL_CQL_UDT:
        if (t->udt_keyspace) sl_buf_printf(out, "%s.", t->udt_keyspace);
        sl_buf_append_str(out, t->udt_name ? t->udt_name : "");
        break;
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
        sl_buf_printf(out, "%s<", sl_cql_kind_name(t->kind));
        for (size_t i = 0; i < t->nsub; i++) {
            if (i) sl_buf_append_str(out, ", ");
            sl_cql_dtype_to_cql(t->sub[i], out);
        }
        sl_buf_append_str(out, ">");
        break;
    default: sl_buf_append_str(out, sl_cql_kind_name(t->kind)); break;
    }
    if (freezable && t->frozen) sl_buf_append_str(out, ">");
}

/* ---- [option] ---- */

static void put_string(sl_buf *out, const char *s)
{
    size_t n = strlen(s);
    if (n > 0xffff) n = 0xffff;
    sl_buf_put_be16(out, (uint16_t)n);
    sl_buf_append(out, s, n);
}

void sl_cql_dtype_encode_option(const sl_cql_dtype *t, sl_buf *out)
{
    sl_buf_put_be16(out, (uint16_t)t->kind);
    switch (t->kind) {
    case SL_CQL_CUSTOM: put_string(out, t->custom ? t->custom : ""); break;
    case SL_CQL_LIST:
    case SL_CQL_SET: sl_cql_dtype_encode_option(t->sub[0], out); break;
    case SL_CQL_MAP:
        sl_cql_dtype_encode_option(t->sub[0], out);
        sl_cql_dtype_encode_option(t->sub[1], out);
        break;
    case SL_CQL_UDT:
        put_string(out, t->udt_keyspace ? t->udt_keyspace : "");
        put_string(out, t->udt_name ? t->udt_name : "");
        sl_buf_put_be16(out, t->nsub);
        for (size_t i = 0; i < t->nsub; i++) {
            put_string(out, t->field_names[i]);
            sl_cql_dtype_encode_option(t->sub[i], out);
        }
        break;
    case SL_CQL_TUPLE:
        sl_buf_put_be16(out, t->nsub);
        for (size_t i = 0; i < t->nsub; i++)
            sl_cql_dtype_encode_option(t->sub[i], out);
        break;
    default: break;
    }
}

static int rd_string(sl_rd *r, char **out)
{
    uint16_t n;
    sl_slice s;
    if (sl_rd_be16(r, &n) || sl_rd_bytes(r, n, &s)) return SL_ERR_PARSE;
    *out = sl_slice_dup(s);
    return 0;
}

static int decode_option(sl_rd *r, int depth, sl_cql_dtype **out)
{
    uint16_t id;
    *out = NULL;
    if (depth > SL_CQL_TYPE_MAX_DEPTH || sl_rd_be16(r, &id)) return SL_ERR_PARSE;
    const sl_cql_dtype *p = sl_cql_dtype_prim((sl_cql_kind)id);
    if (p) {
        *out = (sl_cql_dtype *)p;
        return 0;
    }
    sl_cql_dtype *t = sl_calloc(1, sizeof(*t));
    t->kind = (sl_cql_kind)id;
    t->refs = 1;
    switch (id) {
    case SL_CQL_CUSTOM:
        if (rd_string(r, &t->custom)) goto fail;
        break;
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP: {
        /* A collection in result metadata says nothing of frozenness; treat it as frozen (one
         * value), which is how it travels. */
        t->frozen = true;
        t->nsub = id == SL_CQL_MAP ? 2 : 1;
        t->sub = sl_calloc(t->nsub, sizeof(*t->sub));
        for (size_t i = 0; i < t->nsub; i++)
            if (decode_option(r, depth + 1, &t->sub[i])) goto fail;
        break;
    }
    case SL_CQL_UDT:
    case SL_CQL_TUPLE: {
        uint16_t n;
        t->frozen = true;
        if (id == SL_CQL_UDT && (rd_string(r, &t->udt_keyspace) || rd_string(r, &t->udt_name)))
            goto fail;
        if (sl_rd_be16(r, &n)) goto fail;
        /* Each field takes at least 2 bytes: bound the allocation by what is left. */
        if ((size_t)n * 2 > sl_rd_left(r)) goto fail;
        t->sub = sl_calloc(n ? n : 1, sizeof(*t->sub));
        if (id == SL_CQL_UDT) t->field_names = sl_calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            t->nsub = (uint16_t)(i + 1);
            if (id == SL_CQL_UDT && rd_string(r, &t->field_names[i])) goto fail;
            if (decode_option(r, depth + 1, &t->sub[i])) goto fail;
        }
        t->nsub = n;
        break;
    }
    default: goto fail;
    }
    *out = t;
    return 0;
fail:
    sl_cql_dtype_release(t);
    return SL_ERR_PARSE;
}

int sl_cql_dtype_decode_option(sl_rd *r, sl_cql_dtype **out)
{
    return decode_option(r, 0, out);
}

/* ---- validation ---- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* Eight ASCII bytes at a time: most text is ASCII, and every bound text value of every
         * INSERT comes through here. */
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull))) {
            i += 8;
            continue;
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

bool sl__cql_utf8_valid(const uint8_t *s, size_t n)
{
    return utf8_valid(s, n);
}

int sl_cql_iter_init(sl_cql_iter *it, const sl_cql_dtype *t, sl_slice v)
{
    sl_rd_init(&it->r, v.ptr, v.len);
    if (t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT) {
        it->left = SIZE_MAX; /* fields run to the end of the value */
        it->tuple = true;
        return t->nsub;
    }
    it->tuple = false;
    int32_t n;
    if (sl_rd_i32(&it->r, &n) || n < 0) return SL_ERR_PARSE;
    size_t per = t->kind == SL_CQL_MAP ? 2 : 1;
    /* Each element has a 4-byte length: a count beyond the bytes left is malformed. */
    if ((size_t)n * per > sl_rd_left(&it->r) / 4) return SL_ERR_PARSE;
    it->left = (size_t)n * per;
    return (int)it->left;
}

int sl_cql_iter_next(sl_cql_iter *it, sl_slice *elem)
{
    if (it->tuple) {
        if (sl_rd_left(&it->r) == 0 || it->r.err) return it->r.err ? SL_ERR_PARSE : 0;
    } else if (it->left == 0) {
        return 0;
    }
    int32_t len;
    if (sl_rd_i32(&it->r, &len)) return SL_ERR_PARSE;
    if (len < 0) {
        /* null: allowed for tuple fields only */
        if (!it->tuple) return SL_ERR_PARSE;
        *elem = SL_SLICE_NULL;
    } else if (sl_rd_bytes(&it->r, (size_t)len, elem)) {
        return SL_ERR_PARSE;
    } else if (len == 0) {
        elem->ptr = (const uint8_t *)""; /* empty, not null */
    }
    if (!it->tuple) it->left--;
    return 1;
}

static int validate(const sl_cql_dtype *t, sl_slice v, int depth, sl_buf *err);

static int validate_collection(const sl_cql_dtype *t, sl_slice v, int depth, sl_buf *err)
{
    sl_cql_iter it;
    const char *what = sl_cql_kind_name(t->kind);
    if (sl_cql_iter_init(&it, t, v) < 0) {
        sl_buf_printf(err, "Not enough bytes to read a %s", what);
        return SL_ERR_INVAL;
    }
    size_t i = 0;
    sl_slice e;
    int rc;
    while ((rc = sl_cql_iter_next(&it, &e)) == 1) {
        const sl_cql_dtype *et;
        if (t->kind == SL_CQL_MAP)
            et = t->sub[i & 1];
        else if (t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT) {
            if (i >= t->nsub) {
                sl_buf_printf(err, "Invalid remaining data after end of %s value", what);
                return SL_ERR_INVAL;
            }
            et = t->sub[i];
        } else
            et = t->sub[0];
        i++;
        if (!e.ptr) continue;
        if ((rc = validate(et, e, depth + 1, err))) return rc;
    }
    if (rc < 0) {
        sl_buf_printf(err, "Not enough bytes to read a %s", what);
        return SL_ERR_INVAL;
    }
    if (sl_rd_left(&it.r)) {
        sl_buf_printf(err, "Unexpected extraneous bytes after %s value", what);
        return SL_ERR_INVAL;
    }
    return 0;
}

static int validate(const sl_cql_dtype *t, sl_slice v, int depth, sl_buf *err)
{
    size_t n = v.len;
    if (depth > SL_CQL_TYPE_MAX_DEPTH) {
        sl_buf_printf(err, "Value nesting too deep");
        return SL_ERR_INVAL;
    }
    switch (t->kind) {
    case SL_CQL_INT:
        if (n != 4 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
        if (n != 8 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_SMALLINT:
        if (n != 2) goto bad_fmt;
        return 0;
    case SL_CQL_TINYINT:
        if (n != 1) goto bad_fmt;
        return 0;
    case SL_CQL_FLOAT:
        if (n != 4 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_DOUBLE:
        if (n != 8 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_BOOLEAN:
        if (n > 1) goto bad_fmt;
        return 0;
    case SL_CQL_TIMESTAMP:
        if (n != 8 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_DATE:
        if (n != 4) goto bad_fmt;
        return 0;
    case SL_CQL_TIME: {
        if (n != 8) goto bad_fmt;
        int64_t ns = (int64_t)sl_get_be64(v.ptr);
        if (ns < 0 || ns > 86399999999999LL) {
            sl_buf_printf(err,
                          "Invalid time value: %lld (must be between 0 and 86399999999999 "
                          "nanoseconds)",
                          (long long)ns);
            return SL_ERR_INVAL;
        }
        return 0;
    }
    case SL_CQL_UUID:
        if (n != 16 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_TIMEUUID:
        if (n != 16 && n != 0) goto bad_fmt;
        if (n && (v.ptr[6] & 0xf0) != 0x10) {
            sl_buf_printf(err, "Unsupported UUID version (%d) for a timeuuid", v.ptr[6] >> 4);
            return SL_ERR_INVAL;
        }
        return 0;
    case SL_CQL_INET:
        if (n != 4 && n != 16 && n != 0) goto bad_fmt;
        return 0;
    case SL_CQL_DECIMAL:
        if (n != 0 && n < 4) goto bad_fmt;
        return 0;
    case SL_CQL_VARINT:
    case SL_CQL_BLOB:
    case SL_CQL_CUSTOM: return 0;
    case SL_CQL_ASCII:
        for (size_t i = 0; i < n; i++)
            if (v.ptr[i] & 0x80) {
                sl_buf_printf(err, "Invalid byte for ascii: %d", (int)(int8_t)v.ptr[i]);
                return SL_ERR_INVAL;
            }
        return 0;
    case SL_CQL_TEXT:
        if (!utf8_valid(v.ptr, n)) {
            sl_buf_printf(err, "String didn't validate.");
            return SL_ERR_INVAL;
        }
        return 0;
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
    case SL_CQL_UDT: return validate_collection(t, v, depth, err);
    }
    sl_buf_printf(err, "Unknown type");
    return SL_ERR_INVAL;
bad_fmt:
    switch (t->kind) {
    case SL_CQL_INT: sl_buf_printf(err, "Expected 4 or 0 byte int (%zu)", n); break;
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER: sl_buf_printf(err, "Expected 8 or 0 byte long (%zu)", n); break;
    case SL_CQL_SMALLINT: sl_buf_printf(err, "Expected 2 bytes for a smallint (%zu)", n); break;
    case SL_CQL_TINYINT: sl_buf_printf(err, "Expected 1 byte for a tinyint (%zu)", n); break;
    case SL_CQL_FLOAT: sl_buf_printf(err, "Expected 4 or 0 byte value for a float (%zu)", n); break;
    case SL_CQL_DOUBLE:
        sl_buf_printf(err, "Expected 8 or 0 byte value for a double (%zu)", n);
        break;
    case SL_CQL_BOOLEAN: sl_buf_printf(err, "Expected 1 or 0 byte value (%zu)", n); break;
    case SL_CQL_TIMESTAMP: sl_buf_printf(err, "Expected 8 or 0 byte long for date (%zu)", n); break;
    case SL_CQL_DATE: sl_buf_printf(err, "Expected 4 byte long for date (%zu)", n); break;
    case SL_CQL_TIME: sl_buf_printf(err, "Expected 8 byte long for time (%zu)", n); break;
    case SL_CQL_UUID:
    case SL_CQL_TIMEUUID: sl_buf_printf(err, "UUID should be 16 or 0 bytes (%zu)", n); break;
    case SL_CQL_INET:
        sl_buf_printf(err, "Expected 4 or 16 byte inetaddress; got %zu bytes", n);
        break;
    case SL_CQL_DECIMAL:
        sl_buf_printf(err, "Expected 0 or at least 4 bytes for a decimal (%zu)", n);
        break;
    default: sl_buf_printf(err, "Invalid value length %zu", n); break;
    }
    return SL_ERR_INVAL;
}

int sl_cql_value_validate(const sl_cql_dtype *t, sl_slice v, sl_buf *err)
{
    return validate(t, v, 0, err);
}

/* ---- comparison ---- */

static int cmp_bytes(sl_slice a, sl_slice b)
{
    size_t n = SL_MIN(a.len, b.len);
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return (a.len > b.len) - (a.len < b.len);
}

#define CMP(x, y) (((x) > (y)) - ((x) < (y)))

static uint64_t timeuuid_ts(const uint8_t *b)
{
    return (uint64_t)(b[6] & 0x0f) << 56 | (uint64_t)b[7] << 48 | (uint64_t)b[4] << 40 |
           (uint64_t)b[5] << 32 | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
           (uint64_t)b[2] << 8 | b[3];
}

/* Float.compare / Double.compare: -0.0 < 0.0, NaN above everything and equal to itself. */
static int cmp_double(double x, double y)
{
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    if (x != y) return x < y ? -1 : 1;
    if (x == 0) return (int)!signbit(x) - (int)!signbit(y);
    return 0;
}

int sl__cql_varint_cmp(sl_slice a, sl_slice b)
{
    /* Two's complement big-endian of any length: compare signs, then sign-extended bytes. */
    bool na = a.len && (a.ptr[0] & 0x80), nb = b.len && (b.ptr[0] & 0x80);
    if (na != nb) return na ? -1 : 1;
    uint8_t ext = na ? 0xff : 0x00;
    size_t n = SL_MAX(a.len, b.len);
    for (size_t i = 0; i < n; i++) {
        size_t ia = i + a.len, ib = i + b.len; /* index from the left of the longer one */
        uint8_t x = ia >= n ? a.ptr[ia - n] : ext;
        uint8_t y = ib >= n ? b.ptr[ib - n] : ext;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

static int cmp_collection(const sl_cql_dtype *t, sl_slice a, sl_slice b, int depth)
{
    sl_cql_iter ia, ib;
    int na = sl_cql_iter_init(&ia, t, a), nb = sl_cql_iter_init(&ib, t, b);
    if (na < 0 || nb < 0) return cmp_bytes(a, b);
    for (size_t i = 0;; i++) {
        sl_slice x, y;
        int ra = sl_cql_iter_next(&ia, &x), rb = sl_cql_iter_next(&ib, &y);
        if (ra != 1 || rb != 1) return (ra == 1) - (rb == 1);
        const sl_cql_dtype *et = t->kind == SL_CQL_MAP ? t->sub[i & 1]
                                 : (t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT)
                                     ? t->sub[SL_MIN(i, (size_t)t->nsub - 1)]
                                     : t->sub[0];
        if (!x.ptr || !y.ptr) {
            if (x.ptr || y.ptr) return x.ptr ? 1 : -1; /* null field first */
            continue;
        }
        int c =
            depth > SL_CQL_TYPE_MAX_DEPTH ? cmp_bytes(x, y) : sl__cql_compare(et, x, y, depth + 1);
        if (c) return c;
    }
}

int sl__cql_compare(const sl_cql_dtype *t, sl_slice a, sl_slice b, int depth)
{
    if (a.len == 0 || b.len == 0) return (a.len > 0) - (b.len > 0);
    switch (t->kind) {
    case SL_CQL_BOOLEAN: return CMP(a.ptr[0] != 0, b.ptr[0] != 0);
    case SL_CQL_TINYINT:
        if (a.len != 1 || b.len != 1) break;
        return CMP((int8_t)a.ptr[0], (int8_t)b.ptr[0]);
    case SL_CQL_SMALLINT:
        if (a.len != 2 || b.len != 2) break;
        return CMP((int16_t)sl_get_be16(a.ptr), (int16_t)sl_get_be16(b.ptr));
    case SL_CQL_INT:
        if (a.len != 4 || b.len != 4) break;
        return CMP((int32_t)sl_get_be32(a.ptr), (int32_t)sl_get_be32(b.ptr));
    case SL_CQL_DATE: /* days with a 2^31 offset: unsigned order is chronological */
        if (a.len != 4 || b.len != 4) break;
        return CMP(sl_get_be32(a.ptr), sl_get_be32(b.ptr));
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
    case SL_CQL_TIMESTAMP:
    case SL_CQL_TIME:
        if (a.len != 8 || b.len != 8) break;
        return CMP((int64_t)sl_get_be64(a.ptr), (int64_t)sl_get_be64(b.ptr));
    case SL_CQL_FLOAT: {
        if (a.len != 4 || b.len != 4) break;
        uint32_t x = sl_get_be32(a.ptr), y = sl_get_be32(b.ptr);
        float fx, fy;
        memcpy(&fx, &x, 4);
        memcpy(&fy, &y, 4);
        return cmp_double(fx, fy);
    }
    case SL_CQL_DOUBLE: {
        if (a.len != 8 || b.len != 8) break;
        uint64_t x = sl_get_be64(a.ptr), y = sl_get_be64(b.ptr);
        double dx, dy;
        memcpy(&dx, &x, 8);
        memcpy(&dy, &y, 8);
        return cmp_double(dx, dy);
    }
    case SL_CQL_TIMEUUID: {
        if (a.len != 16 || b.len != 16) break;
        int c = CMP(timeuuid_ts(a.ptr), timeuuid_ts(b.ptr));
        if (c) return c;
        /* Cassandra compares the low half as signed bytes. */
        uint64_t x = sl_get_be64(a.ptr + 8) ^ 0x8080808080808080ULL;
        uint64_t y = sl_get_be64(b.ptr + 8) ^ 0x8080808080808080ULL;
        return CMP(x, y);
    }
    case SL_CQL_UUID: {
        if (a.len != 16 || b.len != 16) break;
        int va = a.ptr[6] >> 4, vb = b.ptr[6] >> 4;
        if (va != vb) return CMP(va, vb);
        if (va == 1) {
            int c = CMP(timeuuid_ts(a.ptr), timeuuid_ts(b.ptr));
            if (c) return c;
            return CMP(sl_get_be64(a.ptr + 8), sl_get_be64(b.ptr + 8));
        }
        return cmp_bytes(a, b);
    }
    case SL_CQL_VARINT: return sl__cql_varint_cmp(a, b);
    case SL_CQL_DECIMAL: return sl__cql_decimal_cmp(a, b);
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
    case SL_CQL_UDT: return cmp_collection(t, a, b, depth);
    default: break;
    }
    return cmp_bytes(a, b);
}

int sl_cql_value_compare(const sl_cql_dtype *t, sl_slice a, sl_slice b)
{
    return sl__cql_compare(t, a, b, 0);
}

/* ---- collection building ---- */

typedef struct sort_ctx {
    const sl_cql_dtype *t;
    const sl_slice *e;
    size_t stride;
} sort_ctx;

static int idx_cmp(const void *x, const void *y, void *arg)
{
    const sort_ctx *c = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int r = sl_cql_value_compare(c->t, c->e[i * c->stride], c->e[j * c->stride]);
    if (r) return r;
    return CMP(i, j); /* stable: later duplicates after earlier ones */
}

static void put_elem(sl_buf *out, sl_slice e)
{
    if (!e.ptr) {
        sl_buf_put_be32(out, 0xffffffffu);
        return;
    }
    sl_buf_put_be32(out, (uint32_t)e.len);
    sl_buf_append(out, e.ptr, e.len);
}

void sl_cql_collection_encode(const sl_cql_dtype *t, const sl_slice *elems, size_t n, sl_buf *out)
{
    if (t->kind == SL_CQL_TUPLE || t->kind == SL_CQL_UDT) {
        for (size_t i = 0; i < n; i++)
            put_elem(out, elems[i]);
        return;
    }
    if (t->kind == SL_CQL_LIST) {
        sl_buf_put_be32(out, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            put_elem(out, elems[i]);
        return;
    }
    size_t stride = t->kind == SL_CQL_MAP ? 2 : 1;
    size_t *idx = sl_malloc((n ? n : 1) * sizeof(*idx));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_ctx c = {t->sub[0], elems, stride};
    qsort_r(idx, n, sizeof(*idx), idx_cmp, &c);
    /* Keep the last of each run of equal keys (a later map entry wins). */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n &&
            !sl_cql_value_compare(t->sub[0], elems[idx[i] * stride], elems[idx[i + 1] * stride]))
            continue;
        idx[m++] = idx[i];
    }
    sl_buf_put_be32(out, (uint32_t)m);
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < stride; k++)
            put_elem(out, elems[idx[i] * stride + k]);
    sl_free(idx);
}
