/* parser.c: recursive-descent CQL parser (see parser.h), following the shape of Cassandra's
 * Parser.g for the statements sluice serves.
 *
 * Errors unwind with longjmp to the entry point: the parser holds no resource but the caller's
 * arena, so nothing leaks, and the grammar functions stay free of error plumbing. Tokens are
 * scanned on demand into a small lookahead ring; every decision needs at most LA_MAX tokens. */
#include "cql/parser.h"
#include "cql/lexer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LA_MAX  8 /* a power of two */
#define LA_MASK (LA_MAX - 1)

typedef struct parser {
    const char *src;
    uint32_t len;
    sl_arena *a;
    sl_cql_lexer lx; /* positioned after the last token in the ring */
    sl_cql_token la[LA_MAX];
    uint32_t la_head;
    uint32_t la_n;
    sl_cql_token prev; /* the last token consumed */
    sl_cql_parse_error *err;
    jmp_buf jb;
    int depth;
    size_t tree_bytes;   /* arena bytes taken so far, bounded by SL_CQL_MAX_TREE_BYTES */
    sl_cql_term **binds; /* markers of the statement being parsed */
    uint32_t n_binds;
    uint32_t cap_binds;
} parser;

/* Error reporting. */

static sl_cql_pos tpos(const sl_cql_token *t)
{
    return (sl_cql_pos){t->line, t->col, t->off};
}

/* Appends s[0..n) to out (newlines become spaces), keeping room for the NUL. */
static void put_span(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < cap; i++) {
        char c = s[i];
        out[(*o)++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    out[*o < cap ? *o : cap - 1] = '\0';
}

static void put_str(char *out, size_t cap, size_t *o, const char *s)
{
    put_span(out, cap, o, s, strlen(s));
}

/* Like put_span but long spans keep their start and end around "...". */
static void put_clipped(char *out, size_t cap, size_t *o, const char *s, size_t n, size_t max)
{
    if (n <= max) {
        put_span(out, cap, o, s, n);
        return;
    }
    put_span(out, cap, o, s, max / 2);
    put_str(out, cap, o, "...");
    put_span(out, cap, o, s + n - max / 2, max / 2);
}

/* The token as ANTLR displays it in messages: its text, or <EOF>. */
static void put_token(parser *p, char *out, size_t cap, size_t *o, const sl_cql_token *t)
{
    if (t->kind == SL_CQL_TOK_EOF)
        put_str(out, cap, o, "<EOF>");
    else
        put_clipped(out, cap, o, p->src + t->off, t->len, 40);
}

/* Appends Cassandra's context snippet: " (SELECT * [FORM] users...)", up to five tokens before
 * the offending one and one after it. Only runs on the error path, so it simply re-scans. */
static void put_snippet(parser *p, char *out, size_t cap, size_t *o, const sl_cql_token *bad)
{
    enum { BEFORE = 6 };
    sl_cql_lexer lx;
    sl_cql_token ring[BEFORE], t, to, after;
    uint32_t n = 0;
    sl_cql_lex_init(&lx, p->src, p->len);
    for (;;) {
        if (sl_cql_lex_next(&lx, &t, NULL) != 0) return;
        ring[n % BEFORE] = t;
        n++;
        if (t.off >= bad->off || t.kind == SL_CQL_TOK_EOF) break;
    }
    if (t.off != bad->off) return;
    bool incl_start = n <= BEFORE;
    const sl_cql_token *from = incl_start ? &ring[0] : &ring[n % BEFORE];
    bool incl_end = true;
    to = t;
    if (t.kind != SL_CQL_TOK_EOF) {
        if (sl_cql_lex_next(&lx, &after, NULL) != 0) return;
        if (after.kind != SL_CQL_TOK_EOF) {
            to = after;
            if (sl_cql_lex_next(&lx, &after, NULL) != 0 || after.kind != SL_CQL_TOK_EOF)
                incl_end = false;
        }
    }
    put_str(out, cap, o, " (");
    if (!incl_start) put_str(out, cap, o, "...");
    put_clipped(out, cap, o, p->src + from->off, bad->off - from->off, 80);
    if (bad->kind != SL_CQL_TOK_EOF) {
        put_str(out, cap, o, "[");
        put_clipped(out, cap, o, p->src + bad->off, bad->len, 40);
        put_str(out, cap, o, "]");
        uint32_t end = bad->off + bad->len;
        if (to.off + to.len > end)
            put_clipped(out, cap, o, p->src + end, to.off + to.len - end, 40);
    }
    if (!incl_end) put_str(out, cap, o, "...");
    put_str(out, cap, o, ")");
}

static _Noreturn void unwind(parser *p)
{
    longjmp(p->jb, 1);
}

/* Fails at token t with "line L:C <what> (snippet)". When subst is set, %T in what stands for
 * the token's text. */
static _Noreturn void fail_at(parser *p, const sl_cql_token *t, const char *what, bool subst,
                              bool snippet)
{
    sl_cql_parse_error *e = p->err;
    e->line = t->line;
    e->col = t->col;
    e->off = t->off;
    size_t o = 0, cap = sizeof e->message;
    char head[48];
    snprintf(head, sizeof head, "line %u:%u ", t->line, t->col);
    e->message[0] = '\0';
    put_str(e->message, cap, &o, head);
    for (const char *s = what; *s; s++) {
        if (subst && s[0] == '%' && s[1] == 'T') {
            put_token(p, e->message, cap, &o, t);
            s++;
        } else {
            put_span(e->message, cap, &o, s, 1);
        }
    }
    if (snippet) put_snippet(p, e->message, cap, &o, t);
    unwind(p);
}

static _Noreturn void fail_nva(parser *p, const sl_cql_token *t)
{
    fail_at(p, t, "no viable alternative at input '%T'", true, true);
}

static _Noreturn void fail_expect(parser *p, const sl_cql_token *t, const char *expected)
{
    char what[96];
    snprintf(what, sizeof what, "mismatched input '%%T' expecting %s", expected);
    fail_at(p, t, what, true, true);
}

/* A semantic check Cassandra's grammar makes (its addRecognitionError). */
static _Noreturn void fail_msg(parser *p, const sl_cql_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void fail_msg(parser *p, const sl_cql_token *t, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fail_at(p, t, what, false, false);
}

/* Tokens. */

/* The token k places ahead (0 is the current one); k < LA_MAX. Pointers into the ring stay valid
 * until the token is consumed and LA_MAX more are scanned. */
static sl_cql_token *peek(parser *p, uint32_t k)
{
    while (p->la_n <= k) {
        sl_cql_token *t = &p->la[(p->la_head + p->la_n) & LA_MASK];
        if (sl_cql_lex_next(&p->lx, t, p->err) != 0) unwind(p);
        p->la_n++;
    }
    return &p->la[(p->la_head + k) & LA_MASK];
}

static inline sl_cql_token *cur(parser *p)
{
    return p->la_n ? &p->la[p->la_head] : peek(p, 0);
}

/* Consumes the current token; returns it (as p->prev). */
static const sl_cql_token *next(parser *p)
{
    p->prev = *cur(p);
    p->la_head = (p->la_head + 1) & LA_MASK;
    p->la_n--;
    return &p->prev;
}

static inline bool is(const sl_cql_token *t, sl_cql_tok_kind k)
{
    return t->kind == k;
}

static inline bool is_kw(const sl_cql_token *t, sl_cql_kw kw)
{
    return t->kind == SL_CQL_TOK_IDENT && t->kw == kw;
}

/* A token usable as a name: IDENT that is no reserved keyword, or a quoted name. */
static inline bool is_name(const sl_cql_token *t)
{
    return (t->kind == SL_CQL_TOK_IDENT && !sl_cql_kw_reserved((sl_cql_kw)t->kw)) ||
           t->kind == SL_CQL_TOK_QNAME;
}

static bool accept(parser *p, sl_cql_tok_kind k)
{
    if (!is(cur(p), k)) return false;
    next(p);
    return true;
}

static bool accept_kw(parser *p, sl_cql_kw kw)
{
    if (!is_kw(cur(p), kw)) return false;
    next(p);
    return true;
}

static const sl_cql_token *expect(parser *p, sl_cql_tok_kind k)
{
    if (!is(cur(p), k)) fail_expect(p, cur(p), sl_cql_tok_name(k));
    return next(p);
}

static void kw_token_name(sl_cql_kw kw, char *buf, size_t n)
{
    const char *s = kw == SL_CQL_KW_TABLE ? "columnfamily" : sl_cql_kw_text(kw);
    size_t o = 0;
    if (n < 3) return;
    buf[o++] = 'K';
    buf[o++] = '_';
    for (; *s && o + 1 < n; s++)
        buf[o++] = (*s >= 'a' && *s <= 'z') ? (char)(*s - 32) : *s;
    buf[o] = '\0';
}

static const sl_cql_token *expect_kw(parser *p, sl_cql_kw kw)
{
    if (!is_kw(cur(p), kw)) {
        char name[32];
        kw_token_name(kw, name, sizeof name);
        fail_expect(p, cur(p), name);
    }
    return next(p);
}

/* TABLE and COLUMNFAMILY are one token in Cassandra's lexer. */
static bool is_table_kw(const sl_cql_token *t)
{
    return is_kw(t, SL_CQL_KW_TABLE) || is_kw(t, SL_CQL_KW_COLUMNFAMILY);
}

/* Memory. */

/* Every allocation of the tree goes through here, so a short text cannot make a huge tree (a list
 * of one-digit literals costs ~40 bytes of tree per byte of text). */
static void *alloc(parser *p, size_t n)
{
    p->tree_bytes += n;
    if (p->tree_bytes > SL_CQL_MAX_TREE_BYTES)
        fail_msg(p, cur(p), "statement too large: its syntax tree would exceed %d MiB",
                 SL_CQL_MAX_TREE_BYTES >> 20);
    return sl_arena_alloc(p->a, n);
}

static void *grow(parser *p, void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap) return arr;
    if (*cap >= (1u << 30)) fail_msg(p, cur(p), "too many elements");
    uint32_t nc = *cap ? *cap * 2 : 4;
    uint8_t *na = alloc(p, (size_t)nc * elem);
    if (n) memcpy(na, arr, (size_t)n * elem);
    memset(na + (size_t)n * elem, 0, (size_t)(nc - n) * elem); /* new slots start zeroed */
    *cap = nc;
    return na;
}

/* Makes room for one more element of arr and returns a pointer to it (n counts it already). */
#define PUSH(p, arr, n, cap) ((arr) = grow((p), (arr), (n), &(cap), sizeof *(arr)), &(arr)[(n)++])
/* Appends val, evaluated before the array grows: val may itself parse and allocate. */
#define APPEND(p, arr, n, cap, val)                                                                \
    do {                                                                                           \
        __typeof__(*(arr)) v_ = (val);                                                             \
        *PUSH(p, arr, n, cap) = v_;                                                                \
    } while (0)

static void *zalloc(parser *p, size_t n)
{
    void *m = alloc(p, n);
    memset(m, 0, n);
    return m;
}

#define NEW(p, type) ((type *)zalloc((p), sizeof(type)))

/* Copies s[0..n) and a NUL; unlike sl_arena_strndup it keeps embedded NULs, which CQL strings
 * may hold, so the copy's length is always n. */
static char *copy_span(parser *p, const char *s, uint32_t n)
{
    char *d = alloc(p, (size_t)n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *copy_lower(parser *p, const char *s, uint32_t n)
{
    char *d = alloc(p, (size_t)n + 1);
    for (uint32_t i = 0; i < n; i++) {
        char c = s[i];
        d[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    d[n] = '\0';
    return d;
}

/* Copies s[0..n) turning each doubled quote q into one. */
static char *unescape(parser *p, const char *s, uint32_t n, char q, uint32_t *out_len)
{
    char *d = alloc(p, (size_t)n + 1);
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        d[o++] = s[i];
        if (s[i] == q && i + 1 < n && s[i + 1] == q) i++;
    }
    d[o] = '\0';
    *out_len = o;
    return d;
}

static void enter(parser *p)
{
    if (++p->depth > SL_CQL_MAX_DEPTH)
        fail_msg(p, cur(p), "too deeply nested (more than %d levels)", SL_CQL_MAX_DEPTH);
}

static inline void leave(parser *p)
{
    p->depth--;
}

/* Names. */

static sl_cql_ident make_ident(parser *p, const sl_cql_token *t)
{
    sl_cql_ident id = {0};
    const char *s = p->src + t->off;
    id.pos = tpos(t);
    if (t->kind == SL_CQL_TOK_QNAME) {
        id.quoted = true;
        id.name = unescape(p, s + 1, t->len - 2, '"', &id.len);
    } else if (t->kind == SL_CQL_TOK_EMPTY_QNAME) {
        id.quoted = true;
        id.name = copy_lower(p, s, 0);
        id.len = 0;
    } else {
        id.name = copy_lower(p, s, t->len);
        id.len = t->len;
    }
    return id;
}

/* ident: IDENT | QUOTED_NAME | unreserved keyword. */
static sl_cql_ident ident(parser *p)
{
    if (!is_name(cur(p))) fail_nva(p, cur(p));
    sl_cql_token t = *next(p);
    return make_ident(p, &t);
}

/* cident: a column name, which may also be the empty quoted name "". */
static sl_cql_ident cident(parser *p)
{
    if (is(cur(p), SL_CQL_TOK_EMPTY_QNAME)) {
        sl_cql_token t = *next(p);
        return make_ident(p, &t);
    }
    return ident(p);
}

static sl_cql_ident name_or_marker(parser *p, const char *what)
{
    if (is(cur(p), SL_CQL_TOK_QMARK))
        fail_msg(p, cur(p), "Bind variables cannot be used for %s names", what);
    return ident(p);
}

/* [ks '.'] name */
static sl_cql_qname qname(parser *p, const char *what)
{
    sl_cql_qname q = {0};
    sl_cql_ident first = name_or_marker(p, is(peek(p, 1), SL_CQL_TOK_DOT) ? "keyspace" : what);
    if (accept(p, SL_CQL_TOK_DOT)) {
        q.ks = first;
        q.name = name_or_marker(p, what);
    } else {
        q.name = first;
    }
    return q;
}

static sl_cql_ident keyspace_name(parser *p)
{
    return name_or_marker(p, "keyspace");
}

/* Types. */

static bool is_native_type_kw(sl_cql_kw kw)
{
    switch (kw) {
    case SL_CQL_KW_ASCII:
    case SL_CQL_KW_BIGINT:
    case SL_CQL_KW_BLOB:
    case SL_CQL_KW_BOOLEAN:
    case SL_CQL_KW_COUNTER:
    case SL_CQL_KW_DECIMAL:
    case SL_CQL_KW_DOUBLE:
    case SL_CQL_KW_DURATION:
    case SL_CQL_KW_FLOAT:
    case SL_CQL_KW_INET:
    case SL_CQL_KW_INT:
    case SL_CQL_KW_SMALLINT:
    case SL_CQL_KW_TEXT:
    case SL_CQL_KW_TIMESTAMP:
    case SL_CQL_KW_TINYINT:
    case SL_CQL_KW_UUID:
    case SL_CQL_KW_VARCHAR:
    case SL_CQL_KW_VARINT:
    case SL_CQL_KW_TIMEUUID:
    case SL_CQL_KW_DATE:
    case SL_CQL_KW_TIME: return true;
    default: return false;
    }
}

static sl_cql_type *parse_type(parser *p);

static void type_args(parser *p, sl_cql_type *ty, uint32_t min, uint32_t max)
{
    uint32_t cap = 0;
    expect(p, SL_CQL_TOK_LT);
    for (;;) {
        APPEND(p, ty->args, ty->n_args, cap, parse_type(p));
        if (ty->n_args >= max) break;
        if (!accept(p, SL_CQL_TOK_COMMA)) break;
    }
    if (ty->n_args < min) fail_expect(p, cur(p), "','");
    expect(p, SL_CQL_TOK_GT);
}

/* comparatorType: native | map<a,b> | list<a> | set<a> | tuple<a,...> | frozen<a> | udt |
 * 'custom.Class'. */
static sl_cql_type *parse_type(parser *p)
{
    enter(p);
    sl_cql_token t = *cur(p);
    sl_cql_type *ty = NEW(p, sl_cql_type);
    ty->pos = tpos(&t);
    if (is(&t, SL_CQL_TOK_STRING)) {
        next(p);
        ty->custom = true;
        if (t.dollar) {
            ty->name = copy_span(p, p->src + t.off + 2, t.len - 4);
            ty->len = t.len - 4;
        } else {
            ty->name = unescape(p, p->src + t.off + 1, t.len - 2, '\'', &ty->len);
        }
    } else if (is(&t, SL_CQL_TOK_IDENT) &&
               (t.kw == SL_CQL_KW_MAP || t.kw == SL_CQL_KW_LIST || t.kw == SL_CQL_KW_SET ||
                t.kw == SL_CQL_KW_TUPLE || t.kw == SL_CQL_KW_FROZEN) &&
               is(peek(p, 1), SL_CQL_TOK_LT)) {
        next(p);
        ty->name = sl_cql_kw_text((sl_cql_kw)t.kw);
        ty->len = (uint32_t)strlen(ty->name);
        switch (t.kw) {
        case SL_CQL_KW_MAP: type_args(p, ty, 2, 2); break;
        case SL_CQL_KW_TUPLE: type_args(p, ty, 1, UINT32_MAX); break;
        default: type_args(p, ty, 1, 1); break;
        }
    } else if (is(&t, SL_CQL_TOK_IDENT) && is_native_type_kw((sl_cql_kw)t.kw)) {
        next(p);
        ty->name = sl_cql_kw_text((sl_cql_kw)t.kw);
        ty->len = (uint32_t)strlen(ty->name);
    } else if (is_name(&t)) {
        /* userTypeName: [ks '.'] name */
        sl_cql_ident n = ident(p);
        if (accept(p, SL_CQL_TOK_DOT)) {
            ty->ks = n;
            n = ident(p);
        }
        ty->name = n.name;
        ty->len = n.len;
    } else {
        fail_nva(p, &t);
    }
    uint32_t end = p->prev.off + p->prev.len;
    ty->text = copy_span(p, p->src + t.off, end - t.off);
    ty->text_len = end - t.off;
    leave(p);
    return ty;
}

/* Terms. */

static sl_cql_term *new_term(parser *p, sl_cql_term_kind kind, const sl_cql_token *t)
{
    sl_cql_term *term = NEW(p, sl_cql_term);
    term->kind = kind;
    term->pos = tpos(t);
    return term;
}

static sl_cql_term *new_bind(parser *p, const sl_cql_token *at, sl_cql_ident *name)
{
    if (p->n_binds >= SL_CQL_MAX_BINDS)
        fail_msg(p, at, "too many bind markers (at most %d)", SL_CQL_MAX_BINDS);
    sl_cql_term *term = new_term(p, SL_CQL_TERM_BIND, at);
    if (name) {
        term->text = name->name;
        term->len = name->len;
    } else {
        term->text = "";
    }
    term->u.bind.index = p->n_binds;
    APPEND(p, p->binds, p->n_binds, p->cap_binds, term);
    return term;
}

/* marker: '?' | ':' name. Returns NULL when the current token starts no marker. */
static sl_cql_term *marker(parser *p)
{
    sl_cql_token t = *cur(p);
    if (is(&t, SL_CQL_TOK_QMARK)) {
        next(p);
        return new_bind(p, &t, NULL);
    }
    if (is(&t, SL_CQL_TOK_COLON)) {
        next(p);
        sl_cql_ident n = ident(p);
        return new_bind(p, &t, &n);
    }
    return NULL;
}

/* A constant token as a literal term, or NULL when t is no constant. */
static sl_cql_term *constant(parser *p)
{
    sl_cql_token t = *cur(p);
    const char *s = p->src + t.off;
    sl_cql_term *term;
    switch (t.kind) {
    case SL_CQL_TOK_STRING:
        term = new_term(p, SL_CQL_TERM_STRING, &t);
        if (t.dollar) {
            term->text = copy_span(p, s + 2, t.len - 4);
            term->len = t.len - 4;
        } else {
            term->text = unescape(p, s + 1, t.len - 2, '\'', &term->len);
        }
        break;
    case SL_CQL_TOK_INTEGER: term = new_term(p, SL_CQL_TERM_INTEGER, &t); break;
    case SL_CQL_TOK_FLOAT:
        term = new_term(p, SL_CQL_TERM_FLOAT, &t);
        if (s[0] == '-' && (s[1] | 0x20) == 'n') {
            term->text = "NaN";
            term->len = 3;
        } else if (s[0] == '-' && (s[1] | 0x20) == 'i') {
            term->text = "-Infinity";
            term->len = 9;
        }
        break;
    case SL_CQL_TOK_BOOLEAN:
        term = new_term(p, SL_CQL_TERM_BOOLEAN, &t);
        term->text = copy_lower(p, s, t.len);
        term->len = t.len;
        break;
    case SL_CQL_TOK_DURATION: term = new_term(p, SL_CQL_TERM_DURATION, &t); break;
    case SL_CQL_TOK_UUID: term = new_term(p, SL_CQL_TERM_UUID, &t); break;
    case SL_CQL_TOK_HEX: term = new_term(p, SL_CQL_TERM_BLOB, &t); break;
    case SL_CQL_TOK_IDENT:
        if (t.kw == SL_CQL_KW_NAN) {
            term = new_term(p, SL_CQL_TERM_FLOAT, &t);
            term->text = "NaN";
            term->len = 3;
        } else if (t.kw == SL_CQL_KW_INFINITY) {
            term = new_term(p, SL_CQL_TERM_FLOAT, &t);
            term->text = "Infinity";
            term->len = 8;
        } else {
            return NULL;
        }
        break;
    default: return NULL;
    }
    if (!term->text) {
        term->text = copy_span(p, s, t.len);
        term->len = t.len;
    }
    next(p);
    return term;
}

/* True when the tokens at k start a function call: name '(' or ks '.' name '('. */
static bool at_function(parser *p, uint32_t k)
{
    const sl_cql_token *t = peek(p, k);
    if (!is_name(t) && !is_kw(t, SL_CQL_KW_TOKEN)) return false;
    if (is(peek(p, k + 1), SL_CQL_TOK_LPAREN)) return true;
    return is_name(t) && is(peek(p, k + 1), SL_CQL_TOK_DOT) &&
           (is_name(peek(p, k + 2)) || is_kw(peek(p, k + 2), SL_CQL_KW_TOKEN)) &&
           is(peek(p, k + 3), SL_CQL_TOK_LPAREN);
}

/* functionName: [ks '.'] name, the name lower-cased unless quoted. */
static sl_cql_qname function_name(parser *p)
{
    sl_cql_qname q = {0};
    sl_cql_token t = *next(p);
    sl_cql_ident first = make_ident(p, &t);
    if (accept(p, SL_CQL_TOK_DOT)) {
        t = *next(p);
        q.ks = first;
        q.name = make_ident(p, &t);
    } else {
        q.name = first;
    }
    return q;
}

static sl_cql_term *parse_term(parser *p);

static void term_list(parser *p, sl_cql_tok_kind close, sl_cql_term ***items, uint32_t *n)
{
    uint32_t cap = 0;
    if (is(cur(p), close)) return;
    do {
        APPEND(p, *items, *n, cap, parse_term(p));
    } while (accept(p, SL_CQL_TOK_COMMA));
}

/* '{' ... '}': an empty map, a map, a set or a UDT literal. */
static sl_cql_term *brace_literal(parser *p)
{
    sl_cql_token open = *next(p);
    if (accept(p, SL_CQL_TOK_RBRACE)) return new_term(p, SL_CQL_TERM_MAP, &open);
    uint32_t cap = 0, vcap = 0;
    if (is_name(cur(p)) && is(peek(p, 1), SL_CQL_TOK_COLON)) {
        sl_cql_term *term = new_term(p, SL_CQL_TERM_UDT, &open);
        do {
            sl_cql_ident f = ident(p);
            expect(p, SL_CQL_TOK_COLON);
            sl_cql_term *v = parse_term(p);
            uint32_t nf = term->u.udt.n;
            APPEND(p, term->u.udt.fields, nf, cap, f);
            APPEND(p, term->u.udt.values, term->u.udt.n, vcap, v);
        } while (accept(p, SL_CQL_TOK_COMMA));
        expect(p, SL_CQL_TOK_RBRACE);
        return term;
    }
    sl_cql_term *first = parse_term(p);
    if (accept(p, SL_CQL_TOK_COLON)) {
        sl_cql_term *term = new_term(p, SL_CQL_TERM_MAP, &open);
        sl_cql_term *key = first;
        for (;;) {
            sl_cql_term *v = parse_term(p);
            uint32_t nk = term->u.map.n;
            APPEND(p, term->u.map.keys, nk, cap, key);
            APPEND(p, term->u.map.values, term->u.map.n, vcap, v);
            if (!accept(p, SL_CQL_TOK_COMMA)) break;
            key = parse_term(p);
            expect(p, SL_CQL_TOK_COLON);
        }
        expect(p, SL_CQL_TOK_RBRACE);
        return term;
    }
    sl_cql_term *term = new_term(p, SL_CQL_TERM_SET, &open);
    APPEND(p, term->u.items.items, term->u.items.n, cap, first);
    while (accept(p, SL_CQL_TOK_COMMA))
        APPEND(p, term->u.items.items, term->u.items.n, cap, parse_term(p));
    expect(p, SL_CQL_TOK_RBRACE);
    return term;
}

/* term: constant | NULL | marker | [list] | {set/map/udt} | (tuple) | (type) term | f(args). */
static sl_cql_term *parse_term(parser *p)
{
    enter(p);
    sl_cql_token t = *cur(p);
    sl_cql_term *term = constant(p);
    if (term) goto out;
    if ((term = marker(p)) != NULL) goto out;
    switch (t.kind) {
    case SL_CQL_TOK_LBRACKET:
        next(p);
        term = new_term(p, SL_CQL_TERM_LIST, &t);
        term_list(p, SL_CQL_TOK_RBRACKET, &term->u.items.items, &term->u.items.n);
        expect(p, SL_CQL_TOK_RBRACKET);
        goto out;
    case SL_CQL_TOK_LBRACE: term = brace_literal(p); goto out;
    case SL_CQL_TOK_LPAREN: {
        /* '(' type ')' term is a type hint; anything else in parentheses is a tuple. A term never
         * starts with a bare name, so a name that is not a function call must be a type. */
        const sl_cql_token *t1 = peek(p, 1);
        bool hint = is_name(t1) && !at_function(p, 1);
        if (!hint && is_kw(t1, SL_CQL_KW_SET) && is(peek(p, 2), SL_CQL_TOK_LT)) hint = true;
        next(p);
        if (hint) {
            term = new_term(p, SL_CQL_TERM_HINT, &t);
            term->u.hint.type = parse_type(p);
            expect(p, SL_CQL_TOK_RPAREN);
            term->u.hint.term = parse_term(p);
            goto out;
        }
        term = new_term(p, SL_CQL_TERM_TUPLE, &t);
        term_list(p, SL_CQL_TOK_RPAREN, &term->u.items.items, &term->u.items.n);
        if (term->u.items.n == 0) fail_nva(p, cur(p));
        expect(p, SL_CQL_TOK_RPAREN);
        goto out;
    }
    case SL_CQL_TOK_IDENT:
        if (t.kw == SL_CQL_KW_NULL) {
            next(p);
            term = new_term(p, SL_CQL_TERM_NULL, &t);
            goto out;
        }
        break;
    default: break;
    }
    if (at_function(p, 0)) {
        term = new_term(p, SL_CQL_TERM_FUNC, &t);
        term->u.func.name = function_name(p);
        expect(p, SL_CQL_TOK_LPAREN);
        term_list(p, SL_CQL_TOK_RPAREN, &term->u.func.args, &term->u.func.n_args);
        expect(p, SL_CQL_TOK_RPAREN);
        goto out;
    }
    fail_nva(p, &t);
out:
    leave(p);
    return term;
}

/* intValue: INTEGER | marker (LIMIT, USING TTL/TIMESTAMP). */
static sl_cql_term *int_value(parser *p)
{
    sl_cql_term *m = marker(p);
    if (m) return m;
    if (!is(cur(p), SL_CQL_TOK_INTEGER)) fail_nva(p, cur(p));
    return constant(p);
}

/* Selectors. */

static sl_cql_selector *parse_selector(parser *p);

static sl_cql_selector *unaliased_selector(parser *p)
{
    enter(p);
    sl_cql_token t = *cur(p);
    sl_cql_selector *s = NEW(p, sl_cql_selector);
    s->pos = tpos(&t);
    const sl_cql_token *t1 = peek(p, 1);
    if (is_kw(&t, SL_CQL_KW_COUNT) && is(t1, SL_CQL_TOK_LPAREN) &&
        (is(peek(p, 2), SL_CQL_TOK_STAR) ||
         (is(peek(p, 2), SL_CQL_TOK_INTEGER) && peek(p, 2)->len == 1 &&
          p->src[peek(p, 2)->off] == '1')) &&
        is(peek(p, 3), SL_CQL_TOK_RPAREN)) {
        next(p);
        next(p);
        next(p);
        next(p);
        s->kind = SL_CQL_SEL_COUNT;
    } else if ((is_kw(&t, SL_CQL_KW_WRITETIME) || is_kw(&t, SL_CQL_KW_TTL)) &&
               is(t1, SL_CQL_TOK_LPAREN)) {
        next(p);
        next(p);
        s->kind = t.kw == SL_CQL_KW_TTL ? SL_CQL_SEL_TTL : SL_CQL_SEL_WRITETIME;
        s->col = cident(p);
        expect(p, SL_CQL_TOK_RPAREN);
    } else if (is_kw(&t, SL_CQL_KW_CAST) && is(t1, SL_CQL_TOK_LPAREN)) {
        next(p);
        next(p);
        s->kind = SL_CQL_SEL_CAST;
        s->args = alloc(p, sizeof *s->args);
        s->args[0] = unaliased_selector(p);
        s->n_args = 1;
        expect_kw(p, SL_CQL_KW_AS);
        if (!is(cur(p), SL_CQL_TOK_IDENT) || !is_native_type_kw((sl_cql_kw)cur(p)->kw))
            fail_nva(p, cur(p));
        s->type = parse_type(p);
        expect(p, SL_CQL_TOK_RPAREN);
    } else if (at_function(p, 0)) {
        s->kind = SL_CQL_SEL_FUNC;
        s->func = function_name(p);
        expect(p, SL_CQL_TOK_LPAREN);
        uint32_t cap = 0;
        if (!is(cur(p), SL_CQL_TOK_RPAREN)) {
            do {
                APPEND(p, s->args, s->n_args, cap, unaliased_selector(p));
            } while (accept(p, SL_CQL_TOK_COMMA));
        }
        expect(p, SL_CQL_TOK_RPAREN);
    } else if (is_name(&t) || is(&t, SL_CQL_TOK_EMPTY_QNAME)) {
        s->kind = SL_CQL_SEL_COLUMN;
        s->col = cident(p);
    } else {
        sl_cql_term *term = constant(p);
        if (!term) term = marker(p);
        if (!term && is_kw(&t, SL_CQL_KW_NULL)) {
            next(p);
            term = new_term(p, SL_CQL_TERM_NULL, &t);
        }
        if (!term) fail_nva(p, &t);
        s->kind = SL_CQL_SEL_TERM;
        s->term = term;
    }
    uint32_t end = p->prev.off + p->prev.len;
    s->text = copy_span(p, p->src + t.off, end - t.off);
    s->text_len = end - t.off;
    leave(p);
    return s;
}

static sl_cql_selector *parse_selector(parser *p)
{
    sl_cql_selector *s = unaliased_selector(p);
    if (accept_kw(p, SL_CQL_KW_AS)) s->alias = ident(p);
    return s;
}

/* Relations and conditions. */

static bool relation_op(parser *p, sl_cql_op *op)
{
    switch (cur(p)->kind) {
    case SL_CQL_TOK_EQ: *op = SL_CQL_OP_EQ; break;
    case SL_CQL_TOK_LT: *op = SL_CQL_OP_LT; break;
    case SL_CQL_TOK_LTE: *op = SL_CQL_OP_LTE; break;
    case SL_CQL_TOK_GT: *op = SL_CQL_OP_GT; break;
    case SL_CQL_TOK_GTE: *op = SL_CQL_OP_GTE; break;
    case SL_CQL_TOK_NEQ: *op = SL_CQL_OP_NEQ; break;
    default: return false;
    }
    next(p);
    return true;
}

/* IN values: '(' [term, ...] ')' into in_values, or a marker into value. */
static void in_values(parser *p, sl_cql_relation *r)
{
    r->op = SL_CQL_OP_IN;
    if ((r->value = marker(p)) != NULL) return;
    expect(p, SL_CQL_TOK_LPAREN);
    term_list(p, SL_CQL_TOK_RPAREN, &r->in_values, &r->n_in);
    expect(p, SL_CQL_TOK_RPAREN);
}

static void relation(parser *p, sl_cql_relation *r)
{
    enter(p);
    sl_cql_token t = *cur(p);
    memset(r, 0, sizeof *r);
    r->pos = tpos(&t);
    if (is_kw(&t, SL_CQL_KW_TOKEN)) {
        next(p);
        r->kind = SL_CQL_REL_TOKEN;
        expect(p, SL_CQL_TOK_LPAREN);
        uint32_t cap = 0;
        do {
            APPEND(p, r->cols, r->n_cols, cap, cident(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
        expect(p, SL_CQL_TOK_RPAREN);
        if (!relation_op(p, &r->op)) fail_nva(p, cur(p));
        r->value = parse_term(p);
        goto out;
    }
    if (is(&t, SL_CQL_TOK_LPAREN)) {
        const sl_cql_token *t1 = peek(p, 1), *t2 = peek(p, 2);
        bool tuple = (is_name(t1) || is(t1, SL_CQL_TOK_EMPTY_QNAME)) &&
                     (is(t2, SL_CQL_TOK_COMMA) || is(t2, SL_CQL_TOK_RPAREN));
        next(p);
        if (!tuple) {
            relation(p, r);
            expect(p, SL_CQL_TOK_RPAREN);
            goto out;
        }
        r->kind = SL_CQL_REL_MULTI;
        uint32_t cap = 0;
        do {
            APPEND(p, r->cols, r->n_cols, cap, cident(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
        expect(p, SL_CQL_TOK_RPAREN);
        if (accept_kw(p, SL_CQL_KW_IN)) {
            in_values(p, r);
        } else if (relation_op(p, &r->op)) {
            if ((r->value = marker(p)) == NULL) {
                if (!is(cur(p), SL_CQL_TOK_LPAREN)) fail_nva(p, cur(p));
                r->value = parse_term(p);
            }
        } else {
            fail_nva(p, cur(p));
        }
        goto out;
    }
    r->kind = SL_CQL_REL_COLUMN;
    r->cols = alloc(p, sizeof *r->cols);
    r->cols[0] = cident(p);
    r->n_cols = 1;
    if (accept(p, SL_CQL_TOK_LBRACKET)) {
        r->key = parse_term(p);
        expect(p, SL_CQL_TOK_RBRACKET);
        if (!relation_op(p, &r->op)) fail_nva(p, cur(p));
        r->value = parse_term(p);
        goto out;
    }
    if (relation_op(p, &r->op)) {
        r->value = parse_term(p);
    } else if (accept_kw(p, SL_CQL_KW_IN)) {
        in_values(p, r);
    } else if (accept_kw(p, SL_CQL_KW_CONTAINS)) {
        r->op = accept_kw(p, SL_CQL_KW_KEY) ? SL_CQL_OP_CONTAINS_KEY : SL_CQL_OP_CONTAINS;
        r->value = parse_term(p);
    } else if (accept_kw(p, SL_CQL_KW_LIKE)) {
        r->op = SL_CQL_OP_LIKE;
        r->value = parse_term(p);
    } else if (accept_kw(p, SL_CQL_KW_IS)) {
        expect_kw(p, SL_CQL_KW_NOT);
        expect_kw(p, SL_CQL_KW_NULL);
        r->op = SL_CQL_OP_IS_NOT_NULL;
    } else {
        fail_nva(p, cur(p));
    }
out:
    leave(p);
}

static void where_clause(parser *p, sl_cql_relation **rels, uint32_t *n)
{
    uint32_t cap = 0;
    do {
        relation(p, PUSH(p, *rels, *n, cap));
    } while (accept_kw(p, SL_CQL_KW_AND));
}

/* columnCondition: c op t | c CONTAINS [KEY] t | c IN v | c[k] op t | c[k] IN v. */
static void condition(parser *p, sl_cql_relation *r)
{
    memset(r, 0, sizeof *r);
    r->pos = tpos(cur(p));
    r->kind = SL_CQL_REL_COLUMN;
    r->cols = alloc(p, sizeof *r->cols);
    r->cols[0] = cident(p);
    r->n_cols = 1;
    if (accept(p, SL_CQL_TOK_LBRACKET)) {
        r->key = parse_term(p);
        expect(p, SL_CQL_TOK_RBRACKET);
        if (relation_op(p, &r->op))
            r->value = parse_term(p);
        else if (accept_kw(p, SL_CQL_KW_IN))
            in_values(p, r);
        else
            fail_nva(p, cur(p));
        return;
    }
    if (relation_op(p, &r->op)) {
        r->value = parse_term(p);
    } else if (accept_kw(p, SL_CQL_KW_IN)) {
        in_values(p, r);
    } else if (accept_kw(p, SL_CQL_KW_CONTAINS)) {
        r->op = accept_kw(p, SL_CQL_KW_KEY) ? SL_CQL_OP_CONTAINS_KEY : SL_CQL_OP_CONTAINS;
        r->value = parse_term(p);
    } else {
        fail_nva(p, cur(p));
    }
}

/* [IF (EXISTS | cond AND ...)] */
static void if_clause(parser *p, bool *if_exists, sl_cql_relation **conds, uint32_t *n)
{
    if (!accept_kw(p, SL_CQL_KW_IF)) return;
    if (accept_kw(p, SL_CQL_KW_EXISTS)) {
        *if_exists = true;
        return;
    }
    uint32_t cap = 0;
    do {
        condition(p, PUSH(p, *conds, *n, cap));
    } while (accept_kw(p, SL_CQL_KW_AND));
}

static void if_not_exists(parser *p, bool *flag)
{
    if (!accept_kw(p, SL_CQL_KW_IF)) return;
    expect_kw(p, SL_CQL_KW_NOT);
    expect_kw(p, SL_CQL_KW_EXISTS);
    *flag = true;
}

static void if_exists(parser *p, bool *flag)
{
    if (!accept_kw(p, SL_CQL_KW_IF)) return;
    expect_kw(p, SL_CQL_KW_EXISTS);
    *flag = true;
}

/* USING (TTL v | TIMESTAMP v) (AND ...)* */
static void using_clause(parser *p, sl_cql_using *u, bool ttl_allowed)
{
    if (!accept_kw(p, SL_CQL_KW_USING)) return;
    do {
        if (accept_kw(p, SL_CQL_KW_TIMESTAMP)) {
            u->timestamp = int_value(p);
        } else if (ttl_allowed && accept_kw(p, SL_CQL_KW_TTL)) {
            u->ttl = int_value(p);
        } else {
            if (ttl_allowed) fail_nva(p, cur(p));
            fail_expect(p, cur(p), "K_TIMESTAMP");
        }
    } while (accept_kw(p, SL_CQL_KW_AND));
}

/* Properties: name = constant | unreserved keyword | {map}. */
static sl_cql_term *property_value(parser *p)
{
    sl_cql_token t = *cur(p);
    if (is(&t, SL_CQL_TOK_LBRACE)) {
        sl_cql_term *m = brace_literal(p);
        if (m->kind != SL_CQL_TERM_MAP) fail_msg(p, &t, "Invalid property value: expected a map");
        return m;
    }
    sl_cql_term *c = constant(p);
    if (c) return c;
    if (is(&t, SL_CQL_TOK_IDENT) && t.kw != SL_CQL_KW_NONE && !sl_cql_kw_reserved(t.kw)) {
        next(p);
        sl_cql_term *term = new_term(p, SL_CQL_TERM_STRING, &t);
        term->text = copy_span(p, p->src + t.off, t.len);
        term->len = t.len;
        return term;
    }
    if (is(&t, SL_CQL_TOK_QMARK) || is(&t, SL_CQL_TOK_COLON))
        fail_msg(p, &t, "bind variables are not supported in DDL queries");
    fail_nva(p, &t);
}

static void property(parser *p, sl_cql_prop **props, uint32_t *n, uint32_t *cap)
{
    sl_cql_prop *pr = PUSH(p, *props, *n, *cap);
    pr->name = ident(p);
    expect(p, SL_CQL_TOK_EQ);
    pr->value = property_value(p);
}

static int prop_cmp(const void *a, const void *b)
{
    const sl_cql_prop *x = *(const sl_cql_prop *const *)a, *y = *(const sl_cql_prop *const *)b;
    int c = memcmp(x->name.name, y->name.name, SL_MIN(x->name.len, y->name.len));
    if (c == 0 && x->name.len != y->name.len) c = x->name.len < y->name.len ? -1 : 1;
    if (c == 0) c = x->name.pos.off < y->name.pos.off ? -1 : 1;
    return c;
}

/* Rejects a property given twice, at its second occurrence. Sorting keeps this O(n log n): a
 * statement may carry many thousands of properties. */
static void check_duplicate_props(parser *p, const sl_cql_prop *props, uint32_t n)
{
    if (n < 2) return;
    const sl_cql_prop **sorted = alloc(p, (size_t)n * sizeof *sorted);
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = &props[i];
    qsort(sorted, n, sizeof *sorted, prop_cmp);
    const sl_cql_prop *dup = NULL;
    for (uint32_t i = 1; i < n; i++) {
        const sl_cql_ident *a = &sorted[i - 1]->name, *b = &sorted[i]->name;
        if (a->len == b->len && memcmp(a->name, b->name, a->len) == 0 &&
            (!dup || b->pos.off < dup->name.pos.off))
            dup = sorted[i];
    }
    if (dup) {
        sl_cql_token at = {
            .line = dup->name.pos.line, .col = dup->name.pos.col, .off = dup->name.pos.off};
        fail_msg(p, &at, "Multiple definition for property %s", dup->name.name);
    }
}

static void properties(parser *p, sl_cql_prop **props, uint32_t *n)
{
    uint32_t cap = 0;
    do {
        property(p, props, n, &cap);
    } while (accept_kw(p, SL_CQL_KW_AND));
    check_duplicate_props(p, *props, *n);
}

/* Statements. */

static sl_cql_stmt *parse_statement(parser *p);

/* JSON and DISTINCT are also column names: they are modifiers only when a selector follows. */
static bool is_select_modifier(parser *p, sl_cql_kw kw)
{
    if (!is_kw(cur(p), kw)) return false;
    const sl_cql_token *t1 = peek(p, 1);
    return !(is_kw(t1, SL_CQL_KW_FROM) || is(t1, SL_CQL_TOK_COMMA) || is(t1, SL_CQL_TOK_LPAREN) ||
             is_kw(t1, SL_CQL_KW_AS));
}

static void parse_select(parser *p, sl_cql_select *s)
{
    if (is_select_modifier(p, SL_CQL_KW_JSON)) {
        next(p);
        s->json = true;
    }
    if (is_select_modifier(p, SL_CQL_KW_DISTINCT)) {
        next(p);
        s->distinct = true;
    }
    if (accept(p, SL_CQL_TOK_STAR)) {
        s->star = true;
    } else {
        uint32_t cap = 0;
        do {
            APPEND(p, s->sels, s->n_sels, cap, parse_selector(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
    }
    expect_kw(p, SL_CQL_KW_FROM);
    s->table = qname(p, "table");
    if (accept_kw(p, SL_CQL_KW_WHERE)) where_clause(p, &s->where, &s->n_where);
    if (accept_kw(p, SL_CQL_KW_GROUP)) {
        expect_kw(p, SL_CQL_KW_BY);
        uint32_t cap = 0;
        do {
            APPEND(p, s->group_by, s->n_group_by, cap, cident(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
    }
    if (accept_kw(p, SL_CQL_KW_ORDER)) {
        expect_kw(p, SL_CQL_KW_BY);
        uint32_t cap = 0;
        do {
            sl_cql_order *o = PUSH(p, s->order, s->n_order, cap);
            o->col = cident(p);
            o->desc = false;
            if (!accept_kw(p, SL_CQL_KW_ASC) && accept_kw(p, SL_CQL_KW_DESC)) o->desc = true;
        } while (accept(p, SL_CQL_TOK_COMMA));
    }
    if (accept_kw(p, SL_CQL_KW_PER)) {
        expect_kw(p, SL_CQL_KW_PARTITION);
        expect_kw(p, SL_CQL_KW_LIMIT);
        s->per_partition_limit = int_value(p);
    }
    if (accept_kw(p, SL_CQL_KW_LIMIT)) s->limit = int_value(p);
    if (accept_kw(p, SL_CQL_KW_ALLOW)) {
        expect_kw(p, SL_CQL_KW_FILTERING);
        s->allow_filtering = true;
    }
}

static void parse_insert(parser *p, sl_cql_insert *s)
{
    expect_kw(p, SL_CQL_KW_INTO);
    s->table = qname(p, "table");
    if (accept_kw(p, SL_CQL_KW_JSON)) {
        s->json = true;
        sl_cql_token t = *cur(p);
        if (is(&t, SL_CQL_TOK_STRING))
            s->json_value = constant(p);
        else if ((s->json_value = marker(p)) == NULL)
            fail_nva(p, &t);
        if (accept_kw(p, SL_CQL_KW_DEFAULT)) {
            if (accept_kw(p, SL_CQL_KW_UNSET))
                s->default_unset = true;
            else if (!accept_kw(p, SL_CQL_KW_NULL))
                fail_nva(p, cur(p));
        }
    } else {
        sl_cql_token open = *expect(p, SL_CQL_TOK_LPAREN);
        uint32_t cap = 0;
        do {
            APPEND(p, s->cols, s->n_cols, cap, cident(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
        expect(p, SL_CQL_TOK_RPAREN);
        expect_kw(p, SL_CQL_KW_VALUES);
        expect(p, SL_CQL_TOK_LPAREN);
        cap = 0;
        do {
            APPEND(p, s->values, s->n_values, cap, parse_term(p));
        } while (accept(p, SL_CQL_TOK_COMMA));
        expect(p, SL_CQL_TOK_RPAREN);
        if (s->n_cols != s->n_values) fail_msg(p, &open, "Unmatched column names/values");
    }
    if_not_exists(p, &s->if_not_exists);
    using_clause(p, &s->using, true);
}

/* columnOperation: c = t | c = c + t | c = c - t | c = t + c | c += t | c -= t | c[k] = t */
static void assignment(parser *p, sl_cql_assign *as)
{
    sl_cql_token t = *cur(p);
    as->pos = tpos(&t);
    as->col = cident(p);
    if (accept(p, SL_CQL_TOK_LBRACKET)) {
        as->kind = SL_CQL_ASSIGN_ELEMENT;
        as->key = parse_term(p);
        expect(p, SL_CQL_TOK_RBRACKET);
        expect(p, SL_CQL_TOK_EQ);
        as->value = parse_term(p);
        return;
    }
    if (accept(p, SL_CQL_TOK_PLUS_EQ) || accept(p, SL_CQL_TOK_MINUS_EQ)) {
        as->kind = p->prev.kind == SL_CQL_TOK_PLUS_EQ ? SL_CQL_ASSIGN_ADD : SL_CQL_ASSIGN_SUB;
        as->value = parse_term(p);
        return;
    }
    expect(p, SL_CQL_TOK_EQ);
    const sl_cql_token *v = cur(p);
    if ((is_name(v) || is(v, SL_CQL_TOK_EMPTY_QNAME)) && !at_function(p, 0)) {
        /* c = c + t, c = c - t, or c = c -3 (the lexer reads "-3" as one INTEGER). */
        sl_cql_token ct = *v;
        sl_cql_ident c = cident(p);
        bool same = c.len == as->col.len && memcmp(c.name, as->col.name, c.len) == 0;
        if (is(cur(p), SL_CQL_TOK_INTEGER)) {
            if (!same)
                fail_msg(p, &ct, "Only expressions of the form X = X +<value> are supported.");
            as->kind = SL_CQL_ASSIGN_ADD;
            as->value = constant(p);
            return;
        }
        if (!accept(p, SL_CQL_TOK_PLUS) && !accept(p, SL_CQL_TOK_MINUS)) fail_nva(p, cur(p));
        char sig = p->prev.kind == SL_CQL_TOK_PLUS ? '+' : '-';
        if (!same)
            fail_msg(p, &ct, "Only expressions of the form X = X %c<value> are supported.", sig);
        as->kind = sig == '+' ? SL_CQL_ASSIGN_ADD : SL_CQL_ASSIGN_SUB;
        as->value = parse_term(p);
        return;
    }
    as->value = parse_term(p);
    as->kind = SL_CQL_ASSIGN_SET;
    if (accept(p, SL_CQL_TOK_PLUS)) {
        sl_cql_token ct = *cur(p);
        sl_cql_ident c = cident(p);
        if (c.len != as->col.len || memcmp(c.name, as->col.name, c.len) != 0)
            fail_msg(p, &ct, "Only expressions of the form X = <value> + X are supported.");
        as->kind = SL_CQL_ASSIGN_PREPEND;
    }
}

static void parse_update(parser *p, sl_cql_update *s)
{
    s->table = qname(p, "table");
    using_clause(p, &s->using, true);
    expect_kw(p, SL_CQL_KW_SET);
    uint32_t cap = 0;
    do {
        assignment(p, PUSH(p, s->assigns, s->n_assigns, cap));
    } while (accept(p, SL_CQL_TOK_COMMA));
    expect_kw(p, SL_CQL_KW_WHERE);
    where_clause(p, &s->where, &s->n_where);
    if_clause(p, &s->if_exists, &s->conds, &s->n_conds);
}

static void parse_delete(parser *p, sl_cql_delete *s)
{
    if (!is_kw(cur(p), SL_CQL_KW_FROM)) {
        uint32_t cap = 0;
        do {
            sl_cql_delete_target *d = PUSH(p, s->targets, s->n_targets, cap);
            d->col = cident(p);
            d->key = NULL;
            if (accept(p, SL_CQL_TOK_LBRACKET)) {
                d->key = parse_term(p);
                expect(p, SL_CQL_TOK_RBRACKET);
            }
        } while (accept(p, SL_CQL_TOK_COMMA));
    }
    expect_kw(p, SL_CQL_KW_FROM);
    s->table = qname(p, "table");
    using_clause(p, &s->using, false);
    expect_kw(p, SL_CQL_KW_WHERE);
    where_clause(p, &s->where, &s->n_where);
    if_clause(p, &s->if_exists, &s->conds, &s->n_conds);
}

static void parse_batch(parser *p, sl_cql_stmt *st)
{
    sl_cql_batch *b = &st->u.batch;
    b->type = SL_CQL_BATCH_LOGGED;
    if (accept_kw(p, SL_CQL_KW_UNLOGGED))
        b->type = SL_CQL_BATCH_UNLOGGED;
    else if (accept_kw(p, SL_CQL_KW_COUNTER))
        b->type = SL_CQL_BATCH_COUNTER;
    expect_kw(p, SL_CQL_KW_BATCH);
    using_clause(p, &b->using, true);
    uint32_t cap = 0, scap = 0, n_starts = 0;
    uint32_t *starts = NULL;
    while (!is_kw(cur(p), SL_CQL_KW_APPLY)) {
        const sl_cql_token *t = cur(p);
        if (!is_kw(t, SL_CQL_KW_INSERT) && !is_kw(t, SL_CQL_KW_UPDATE) &&
            !is_kw(t, SL_CQL_KW_DELETE))
            fail_expect(p, t, "K_APPLY");
        APPEND(p, starts, n_starts, scap, p->n_binds);
        sl_cql_stmt *child = parse_statement(p);
        APPEND(p, b->stmts, b->n_stmts, cap, child);
        child->n_binds = p->n_binds - starts[n_starts - 1];
        accept(p, SL_CQL_TOK_SEMI);
    }
    expect_kw(p, SL_CQL_KW_APPLY);
    expect_kw(p, SL_CQL_KW_BATCH);
    /* Children point into the batch's marker array once it stops growing (see finish). */
    for (uint32_t i = 0; i < b->n_stmts; i++)
        b->stmts[i]->binds = (sl_cql_term **)(uintptr_t)starts[i];
}

static void column_def(parser *p, sl_cql_column_def *c)
{
    c->name = ident(p);
    c->type = parse_type(p);
    c->is_static = accept_kw(p, SL_CQL_KW_STATIC);
}

static void parse_create_table(parser *p, sl_cql_create_table *s)
{
    if_not_exists(p, &s->if_not_exists);
    s->table = qname(p, "table");
    expect(p, SL_CQL_TOK_LPAREN);
    uint32_t cap = 0;
    bool have_pk = false;
    for (;;) {
        sl_cql_token t = *cur(p);
        if (is_kw(&t, SL_CQL_KW_PRIMARY)) {
            next(p);
            expect_kw(p, SL_CQL_KW_KEY);
            if (have_pk) fail_msg(p, &t, "Multiple PRIMARY KEYs specified (exactly one required)");
            have_pk = true;
            expect(p, SL_CQL_TOK_LPAREN);
            uint32_t pcap = 0, ccap = 0;
            if (accept(p, SL_CQL_TOK_LPAREN)) {
                do {
                    APPEND(p, s->partition_key, s->n_pk, pcap, ident(p));
                } while (accept(p, SL_CQL_TOK_COMMA));
                expect(p, SL_CQL_TOK_RPAREN);
            } else {
                APPEND(p, s->partition_key, s->n_pk, pcap, ident(p));
            }
            while (accept(p, SL_CQL_TOK_COMMA))
                APPEND(p, s->clustering, s->n_ck, ccap, ident(p));
            expect(p, SL_CQL_TOK_RPAREN);
        } else {
            sl_cql_column_def *c = PUSH(p, s->cols, s->n_cols, cap);
            column_def(p, c);
            c->primary_key = false;
            if (is_kw(cur(p), SL_CQL_KW_PRIMARY)) {
                sl_cql_token pk = *next(p);
                expect_kw(p, SL_CQL_KW_KEY);
                if (have_pk)
                    fail_msg(p, &pk, "Multiple PRIMARY KEYs specified (exactly one required)");
                have_pk = true;
                c->primary_key = true;
                s->partition_key = alloc(p, sizeof *s->partition_key);
                s->partition_key[0] = c->name;
                s->n_pk = 1;
            }
        }
        if (!accept(p, SL_CQL_TOK_COMMA)) break;
        if (is(cur(p), SL_CQL_TOK_RPAREN)) break; /* a trailing ',' is accepted */
    }
    expect(p, SL_CQL_TOK_RPAREN);
    if (!accept_kw(p, SL_CQL_KW_WITH)) return;
    uint32_t pcap = 0, ocap = 0;
    do {
        sl_cql_token t = *cur(p);
        if (is_kw(&t, SL_CQL_KW_COMPACT) && is_kw(peek(p, 1), SL_CQL_KW_STORAGE)) {
            next(p);
            next(p);
            s->compact_storage = true;
        } else if (is_kw(&t, SL_CQL_KW_CLUSTERING) && is_kw(peek(p, 1), SL_CQL_KW_ORDER)) {
            next(p);
            next(p);
            expect_kw(p, SL_CQL_KW_BY);
            expect(p, SL_CQL_TOK_LPAREN);
            do {
                sl_cql_order *o = PUSH(p, s->clustering_order, s->n_clustering_order, ocap);
                o->col = ident(p);
                if (accept_kw(p, SL_CQL_KW_DESC))
                    o->desc = true;
                else if (accept_kw(p, SL_CQL_KW_ASC))
                    o->desc = false;
                else
                    fail_nva(p, cur(p));
            } while (accept(p, SL_CQL_TOK_COMMA));
            expect(p, SL_CQL_TOK_RPAREN);
        } else {
            property(p, &s->props, &s->n_props, &pcap);
        }
    } while (accept_kw(p, SL_CQL_KW_AND));
    check_duplicate_props(p, s->props, s->n_props);
}

static void parse_alter_table(parser *p, sl_cql_alter_table *s)
{
    s->table = qname(p, "table");
    sl_cql_token t = *cur(p);
    uint32_t cap = 0;
    if (accept_kw(p, SL_CQL_KW_ADD)) {
        s->kind = SL_CQL_ALTER_ADD;
        bool paren = accept(p, SL_CQL_TOK_LPAREN);
        do {
            column_def(p, PUSH(p, s->cols, s->n_cols, cap));
        } while (paren && accept(p, SL_CQL_TOK_COMMA));
        if (paren) expect(p, SL_CQL_TOK_RPAREN);
    } else if (accept_kw(p, SL_CQL_KW_DROP)) {
        s->kind = SL_CQL_ALTER_DROP;
        if (is_kw(cur(p), SL_CQL_KW_COMPACT) && is_kw(peek(p, 1), SL_CQL_KW_STORAGE))
            fail_msg(p, cur(p), "DROP COMPACT STORAGE is not supported");
        bool paren = accept(p, SL_CQL_TOK_LPAREN);
        do {
            APPEND(p, s->drop, s->n_drop, cap, ident(p));
        } while (paren && accept(p, SL_CQL_TOK_COMMA));
        if (paren) expect(p, SL_CQL_TOK_RPAREN);
        if (accept_kw(p, SL_CQL_KW_USING)) {
            expect_kw(p, SL_CQL_KW_TIMESTAMP);
            if (!is(cur(p), SL_CQL_TOK_INTEGER)) fail_expect(p, cur(p), "INTEGER");
            s->timestamp = constant(p);
        }
    } else if (accept_kw(p, SL_CQL_KW_RENAME)) {
        s->kind = SL_CQL_ALTER_RENAME;
        uint32_t cap2 = 0, n2 = 0;
        do {
            APPEND(p, s->rename_from, s->n_rename, cap, ident(p));
            expect_kw(p, SL_CQL_KW_TO);
            APPEND(p, s->rename_to, n2, cap2, ident(p));
        } while (accept_kw(p, SL_CQL_KW_AND));
    } else if (accept_kw(p, SL_CQL_KW_WITH)) {
        s->kind = SL_CQL_ALTER_WITH;
        properties(p, &s->props, &s->n_props);
    } else if (is_kw(&t, SL_CQL_KW_ALTER)) {
        fail_msg(p, &t, "Altering column types is no longer supported");
    } else {
        fail_nva(p, &t);
    }
}

static void parse_create_type(parser *p, sl_cql_create_type *s)
{
    if_not_exists(p, &s->if_not_exists);
    s->name = qname(p, "type");
    expect(p, SL_CQL_TOK_LPAREN);
    uint32_t cap = 0;
    do {
        if (is(cur(p), SL_CQL_TOK_RPAREN) && s->n_fields > 0) break;
        sl_cql_column_def *f = PUSH(p, s->fields, s->n_fields, cap);
        f->name = ident(p);
        f->type = parse_type(p);
    } while (accept(p, SL_CQL_TOK_COMMA));
    expect(p, SL_CQL_TOK_RPAREN);
}

static void parse_create_index(parser *p, sl_cql_create_index *s)
{
    if_not_exists(p, &s->if_not_exists);
    if (!is_kw(cur(p), SL_CQL_KW_ON)) s->name = name_or_marker(p, "index");
    expect_kw(p, SL_CQL_KW_ON);
    s->table = qname(p, "table");
    expect(p, SL_CQL_TOK_LPAREN);
    const sl_cql_token *t = cur(p);
    if (is(peek(p, 1), SL_CQL_TOK_LPAREN) &&
        (is_kw(t, SL_CQL_KW_KEYS) || is_kw(t, SL_CQL_KW_VALUES) || is_kw(t, SL_CQL_KW_ENTRIES) ||
         is_kw(t, SL_CQL_KW_FULL))) {
        s->target_fn = sl_cql_kw_text((sl_cql_kw)t->kw);
        next(p);
        next(p);
        s->target = cident(p);
        expect(p, SL_CQL_TOK_RPAREN);
    } else {
        s->target = cident(p);
    }
    expect(p, SL_CQL_TOK_RPAREN);
    if (accept_kw(p, SL_CQL_KW_USING)) {
        if (!is(cur(p), SL_CQL_TOK_STRING)) fail_expect(p, cur(p), "STRING_LITERAL");
        s->using_class = constant(p);
    }
    if (accept_kw(p, SL_CQL_KW_WITH)) properties(p, &s->props, &s->n_props);
}

static void parse_describe(parser *p, sl_cql_describe *d)
{
    const sl_cql_token *t = cur(p);
    const sl_cql_token *t1 = peek(p, 1);
    bool named_next = is_name(t1);
    if (is_kw(t, SL_CQL_KW_CLUSTER)) {
        next(p);
        d->kind = SL_CQL_DESC_CLUSTER;
    } else if (is_kw(t, SL_CQL_KW_FULL) || is_kw(t, SL_CQL_KW_SCHEMA)) {
        d->full = accept_kw(p, SL_CQL_KW_FULL);
        expect_kw(p, SL_CQL_KW_SCHEMA);
        d->kind = SL_CQL_DESC_SCHEMA;
    } else if (is_kw(t, SL_CQL_KW_KEYSPACES)) {
        next(p);
        d->kind = SL_CQL_DESC_KEYSPACES;
    } else if (is_kw(t, SL_CQL_KW_KEYSPACE) ||
               (is_kw(t, SL_CQL_KW_ONLY) && is_kw(t1, SL_CQL_KW_KEYSPACE))) {
        d->only = accept_kw(p, SL_CQL_KW_ONLY);
        next(p);
        d->kind = SL_CQL_DESC_KEYSPACE;
        if (is_name(cur(p))) d->name.name = keyspace_name(p);
    } else if (is_kw(t, SL_CQL_KW_TABLES) || is_kw(t, SL_CQL_KW_COLUMNFAMILIES)) {
        next(p);
        d->kind = SL_CQL_DESC_TABLES;
    } else if (is_table_kw(t)) {
        next(p);
        d->kind = SL_CQL_DESC_TABLE;
        d->name = qname(p, "table");
    } else if (is_kw(t, SL_CQL_KW_INDEX)) {
        next(p);
        d->kind = SL_CQL_DESC_INDEX;
        d->name = qname(p, "index");
    } else if (is_kw(t, SL_CQL_KW_MATERIALIZED)) {
        next(p);
        expect_kw(p, SL_CQL_KW_VIEW);
        d->kind = SL_CQL_DESC_VIEW;
        d->name = qname(p, "table");
    } else if (is_kw(t, SL_CQL_KW_TYPES)) {
        next(p);
        d->kind = SL_CQL_DESC_TYPES;
    } else if (is_kw(t, SL_CQL_KW_FUNCTIONS)) {
        next(p);
        d->kind = SL_CQL_DESC_FUNCTIONS;
    } else if (is_kw(t, SL_CQL_KW_AGGREGATES)) {
        next(p);
        d->kind = SL_CQL_DESC_AGGREGATES;
    } else if ((is_kw(t, SL_CQL_KW_TYPE) || is_kw(t, SL_CQL_KW_FUNCTION) ||
                is_kw(t, SL_CQL_KW_AGGREGATE)) &&
               named_next) {
        d->kind = t->kw == SL_CQL_KW_TYPE       ? SL_CQL_DESC_TYPE
                  : t->kw == SL_CQL_KW_FUNCTION ? SL_CQL_DESC_FUNCTION
                                                : SL_CQL_DESC_AGGREGATE;
        next(p);
        d->name = qname(p, "type");
    } else {
        d->kind = SL_CQL_DESC_NAME;
        d->name = qname(p, "table");
    }
    if (accept_kw(p, SL_CQL_KW_WITH)) {
        expect_kw(p, SL_CQL_KW_INTERNALS);
        d->with_internals = true;
    }
}

static sl_cql_stmt *parse_statement(parser *p)
{
    sl_cql_token t = *cur(p);
    sl_cql_stmt *st = NEW(p, sl_cql_stmt);
    st->pos = tpos(&t);
    if (!is(&t, SL_CQL_TOK_IDENT)) fail_nva(p, &t);
    next(p);
    switch (t.kw) {
    case SL_CQL_KW_SELECT:
        st->kind = SL_CQL_STMT_SELECT;
        parse_select(p, &st->u.select);
        break;
    case SL_CQL_KW_INSERT:
        st->kind = SL_CQL_STMT_INSERT;
        parse_insert(p, &st->u.insert);
        break;
    case SL_CQL_KW_UPDATE:
        st->kind = SL_CQL_STMT_UPDATE;
        parse_update(p, &st->u.update);
        break;
    case SL_CQL_KW_DELETE:
        st->kind = SL_CQL_STMT_DELETE;
        parse_delete(p, &st->u.del);
        break;
    case SL_CQL_KW_BEGIN:
        st->kind = SL_CQL_STMT_BATCH;
        parse_batch(p, st);
        break;
    case SL_CQL_KW_USE:
        st->kind = SL_CQL_STMT_USE;
        st->u.use = keyspace_name(p);
        break;
    case SL_CQL_KW_TRUNCATE:
        st->kind = SL_CQL_STMT_TRUNCATE;
        if (is_table_kw(cur(p))) next(p);
        st->u.drop.name = qname(p, "table");
        break;
    case SL_CQL_KW_CREATE: {
        const sl_cql_token *w = cur(p);
        if (is_kw(w, SL_CQL_KW_KEYSPACE)) {
            next(p);
            st->kind = SL_CQL_STMT_CREATE_KEYSPACE;
            if_not_exists(p, &st->u.keyspace.if_not_exists);
            st->u.keyspace.name = keyspace_name(p);
            expect_kw(p, SL_CQL_KW_WITH);
            properties(p, &st->u.keyspace.props, &st->u.keyspace.n_props);
        } else if (is_table_kw(w)) {
            next(p);
            st->kind = SL_CQL_STMT_CREATE_TABLE;
            parse_create_table(p, &st->u.create_table);
        } else if (is_kw(w, SL_CQL_KW_TYPE)) {
            next(p);
            st->kind = SL_CQL_STMT_CREATE_TYPE;
            parse_create_type(p, &st->u.create_type);
        } else if (is_kw(w, SL_CQL_KW_INDEX) ||
                   (is_kw(w, SL_CQL_KW_CUSTOM) && is_kw(peek(p, 1), SL_CQL_KW_INDEX))) {
            st->u.create_index.custom = accept_kw(p, SL_CQL_KW_CUSTOM);
            next(p);
            st->kind = SL_CQL_STMT_CREATE_INDEX;
            parse_create_index(p, &st->u.create_index);
        } else {
            fail_nva(p, w);
        }
        break;
    }
    case SL_CQL_KW_ALTER: {
        const sl_cql_token *w = cur(p);
        if (is_kw(w, SL_CQL_KW_KEYSPACE)) {
            next(p);
            st->kind = SL_CQL_STMT_ALTER_KEYSPACE;
            st->u.keyspace.name = keyspace_name(p);
            expect_kw(p, SL_CQL_KW_WITH);
            properties(p, &st->u.keyspace.props, &st->u.keyspace.n_props);
        } else if (is_table_kw(w)) {
            next(p);
            st->kind = SL_CQL_STMT_ALTER_TABLE;
            parse_alter_table(p, &st->u.alter_table);
        } else {
            fail_nva(p, w);
        }
        break;
    }
    case SL_CQL_KW_DROP: {
        const sl_cql_token *w = cur(p);
        if (is_kw(w, SL_CQL_KW_KEYSPACE)) {
            next(p);
            st->kind = SL_CQL_STMT_DROP_KEYSPACE;
            if_exists(p, &st->u.drop.if_exists);
            st->u.drop.name.name = keyspace_name(p);
        } else if (is_table_kw(w) || is_kw(w, SL_CQL_KW_TYPE) || is_kw(w, SL_CQL_KW_INDEX)) {
            st->kind = is_kw(w, SL_CQL_KW_TYPE)    ? SL_CQL_STMT_DROP_TYPE
                       : is_kw(w, SL_CQL_KW_INDEX) ? SL_CQL_STMT_DROP_INDEX
                                                   : SL_CQL_STMT_DROP_TABLE;
            next(p);
            if_exists(p, &st->u.drop.if_exists);
            st->u.drop.name = qname(p, st->kind == SL_CQL_STMT_DROP_TYPE    ? "type"
                                       : st->kind == SL_CQL_STMT_DROP_INDEX ? "index"
                                                                            : "table");
        } else {
            fail_nva(p, w);
        }
        break;
    }
    case SL_CQL_KW_DESCRIBE:
    case SL_CQL_KW_DESC:
        st->kind = SL_CQL_STMT_DESCRIBE;
        parse_describe(p, &st->u.describe);
        break;
    default: fail_nva(p, &t);
    }
    uint32_t end = p->prev.off + p->prev.len;
    st->text = copy_span(p, p->src + t.off, end - t.off);
    st->text_len = end - t.off;
    return st;
}

/* Hands the statement its marker array; batch children get their slices of it. */
static void finish(parser *p, sl_cql_stmt *st)
{
    st->binds = p->binds;
    st->n_binds = p->n_binds;
    if (st->kind == SL_CQL_STMT_BATCH) {
        for (uint32_t i = 0; i < st->u.batch.n_stmts; i++) {
            sl_cql_stmt *c = st->u.batch.stmts[i];
            uintptr_t start = (uintptr_t)c->binds;
            c->binds = c->n_binds ? p->binds + start : NULL;
        }
    }
    p->binds = NULL;
    p->n_binds = p->cap_binds = 0;
    p->tree_bytes = 0;
}

static int parser_init(parser *p, const char *q, size_t len, sl_arena *a, sl_cql_parse_error *err)
{
    memset(p, 0, sizeof *p);
    p->err = err;
    if (len >= UINT32_MAX) {
        err->line = 1;
        err->col = 0;
        err->off = 0;
        snprintf(err->message, sizeof err->message, "line 1:0 query too long (%zu bytes)", len);
        return SL_ERR_PARSE;
    }
    p->src = q;
    p->len = (uint32_t)len;
    p->a = a;
    sl_cql_lex_init(&p->lx, q, (uint32_t)len);
    return 0;
}

int sl_cql_parse(const char *q, size_t len, sl_arena *a, sl_cql_stmt **out, sl_cql_parse_error *err)
{
    sl_cql_parse_error local;
    parser p;
    if (!err) err = &local;
    *out = NULL;
    if (parser_init(&p, q, len, a, err) != 0) return SL_ERR_PARSE;
    if (setjmp(p.jb) != 0) return SL_ERR_PARSE;
    sl_cql_stmt *st = parse_statement(&p);
    while (accept(&p, SL_CQL_TOK_SEMI)) {
    }
    if (!is(cur(&p), SL_CQL_TOK_EOF)) fail_expect(&p, cur(&p), "EOF");
    finish(&p, st);
    *out = st;
    return 0;
}

int sl_cql_parse_script(const char *q, size_t len, sl_arena *a, sl_cql_stmt ***out, size_t *n,
                        sl_cql_parse_error *err)
{
    sl_cql_parse_error local;
    parser p;
    if (!err) err = &local;
    *out = NULL;
    *n = 0;
    if (parser_init(&p, q, len, a, err) != 0) return SL_ERR_PARSE;
    sl_cql_stmt **stmts = NULL;
    /* volatile: read after a longjmp back into this frame */
    volatile uint32_t count = 0;
    uint32_t cap = 0;
    if (setjmp(p.jb) != 0) {
        *n = count;
        return SL_ERR_PARSE;
    }
    for (;;) {
        while (accept(&p, SL_CQL_TOK_SEMI)) {
        }
        if (is(cur(&p), SL_CQL_TOK_EOF)) break;
        sl_cql_stmt *st = parse_statement(&p);
        if (!is(cur(&p), SL_CQL_TOK_EOF) && !is(cur(&p), SL_CQL_TOK_SEMI))
            fail_expect(&p, cur(&p), "';'");
        finish(&p, st);
        uint32_t c = count;
        *PUSH(&p, stmts, c, cap) = st;
        count = c;
        *out = stmts;
    }
    *out = stmts;
    *n = count;
    return 0;
}

int sl_cql_split(const char *q, size_t len, size_t *stmt_end)
{
    sl_cql_lexer lx;
    sl_cql_token t;
    bool first = true, batch = false, applied = false;
    bool prev_apply = false;
    *stmt_end = 0;
    if (len >= UINT32_MAX) return SL_ERR_TOOBIG;
    sl_cql_lex_init(&lx, q, (uint32_t)len);
    for (;;) {
        sl_cql_parse_error e;
        if (sl_cql_lex_next(&lx, &t, &e) != 0) {
            if (e.off >= len) return SL_AGAIN; /* unterminated string, name or comment */
            lx.off++;                          /* a stray character: the server will report it */
            first = false;
            continue;
        }
        if (t.kind == SL_CQL_TOK_EOF) return SL_AGAIN;
        if (t.kind == SL_CQL_TOK_SEMI) {
            if (first) continue; /* leading empty statements */
            if (!batch || applied) {
                *stmt_end = t.off + 1;
                return 0;
            }
            continue;
        }
        if (first) batch = is_kw(&t, SL_CQL_KW_BEGIN);
        first = false;
        if (batch && prev_apply && is_kw(&t, SL_CQL_KW_BATCH)) applied = true;
        prev_apply = is_kw(&t, SL_CQL_KW_APPLY);
    }
}

bool sl_cql_is_blank(const char *q, size_t len)
{
    sl_cql_lexer lx;
    sl_cql_token t;
    if (len >= UINT32_MAX) return false;
    sl_cql_lex_init(&lx, q, (uint32_t)len);
    for (;;) {
        if (sl_cql_lex_next(&lx, &t, NULL) != 0) return false;
        if (t.kind == SL_CQL_TOK_EOF) return true;
        if (t.kind != SL_CQL_TOK_SEMI) return false;
    }
}

const char *sl_cql_stmt_kind_name(sl_cql_stmt_kind k)
{
    switch (k) {
    case SL_CQL_STMT_SELECT: return "SELECT";
    case SL_CQL_STMT_INSERT: return "INSERT";
    case SL_CQL_STMT_UPDATE: return "UPDATE";
    case SL_CQL_STMT_DELETE: return "DELETE";
    case SL_CQL_STMT_BATCH: return "BATCH";
    case SL_CQL_STMT_USE: return "USE";
    case SL_CQL_STMT_CREATE_KEYSPACE: return "CREATE KEYSPACE";
    case SL_CQL_STMT_ALTER_KEYSPACE: return "ALTER KEYSPACE";
    case SL_CQL_STMT_DROP_KEYSPACE: return "DROP KEYSPACE";
    case SL_CQL_STMT_CREATE_TABLE: return "CREATE TABLE";
    case SL_CQL_STMT_ALTER_TABLE: return "ALTER TABLE";
    case SL_CQL_STMT_DROP_TABLE: return "DROP TABLE";
    case SL_CQL_STMT_TRUNCATE: return "TRUNCATE";
    case SL_CQL_STMT_CREATE_TYPE: return "CREATE TYPE";
    case SL_CQL_STMT_DROP_TYPE: return "DROP TYPE";
    case SL_CQL_STMT_CREATE_INDEX: return "CREATE INDEX";
    case SL_CQL_STMT_DROP_INDEX: return "DROP INDEX";
    case SL_CQL_STMT_DESCRIBE: return "DESCRIBE";
    }
    return "?";
}
