/* expr.c: the transform expression language: a tokenizer, a Pratt parser that builds a typed
 * tree (types are checked at compile time wherever they are known) and a tree-walking
 * evaluator.
 *
 * Null follows SQL: comparisons and functions of null are null, and/or use three-valued logic.
 * A TEXT operand against a number or a timestamp is converted at run time (randomuser's fields
 * arrive as text), which is where run-time type errors come from. */
#include "pipeline/expr.h"
#include "pipeline/schema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SRC   65536 /* bytes of one expression */
#define MAX_DEPTH 64    /* parser recursion */
#define MAX_ARGS  64

typedef enum {
    T_END,
    T_IDENT,
    T_INT,
    T_DOUBLE,
    T_STRING,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PERCENT,
    /* keywords */
    T_AND,
    T_OR,
    T_NOT,
    T_IN,
    T_IS,
    T_NULL,
    T_TRUE,
    T_FALSE,
    T_MATCHES,
    T_STARTS_WITH,
} tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s; /* IDENT: the name; STRING: unescaped text (owned by the lexer's list) */
    size_t n;
    int64_t i;
    double d;
    size_t col; /* 1-based column in the source */
} tok;

typedef enum {
    OP_LIT,
    OP_FIELD,
    OP_NOT,
    OP_NEG,
    OP_AND,
    OP_OR,
    OP_CMP,
    OP_ARITH,
    OP_IS_NULL,
    OP_IN,
    OP_MATCHES,
    OP_STARTS_WITH,
    OP_CALL,
} op_kind;

typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_kind;

typedef enum {
    F_LOWER,
    F_UPPER,
    F_TRIM,
    F_LENGTH,
    F_SUBSTRING,
    F_CONCAT,
    F_SPLIT_PART,
    F_PARSE_TS,
    F_AGE,
    F_SHA256,
    F_JSON_PATH,
    F_COALESCE,
} fn_kind;

typedef struct node node;
struct node {
    op_kind op;
    sl_expr_type type; /* static result type */
    sl_expr_type cmp;  /* OP_CMP, OP_IN: the type both sides are compared as */
    int sub;           /* cmp_kind, arith char, fn_kind */
    bool negate;       /* IS NOT NULL, NOT IN, NOT MATCHES, NOT STARTS_WITH */
    node **args;
    size_t nargs;
    sl_expr_value lit;
    char *text;           /* literal text storage, json path */
    int col;              /* OP_FIELD */
    sl_sink_type coltype; /* OP_FIELD */
    pcre2_code *re;       /* OP_MATCHES */
    pcre2_match_data *md; /* OP_MATCHES scratch */
};

struct sl_expr {
    node *root;
};

typedef struct parser {
    const char *src;
    size_t len, pos;
    tok t; /* current token */
    const sl_sink_column *cols;
    size_t ncols;
    int depth;
    char *err;
    size_t errlen;
    bool failed;
    sl_buf strbuf; /* the current string token's text */
} parser;

static const char *const type_names[] = {
    [SL_EXPR_NULL] = "null",     [SL_EXPR_BOOL] = "boolean", [SL_EXPR_INT] = "int",
    [SL_EXPR_DOUBLE] = "double", [SL_EXPR_TEXT] = "text",    [SL_EXPR_TIMESTAMP] = "timestamp",
    [SL_EXPR_ERROR] = "error",
};

const char *sl_expr_type_name(sl_expr_type t)
{
    return (unsigned)t < SL_ARRAY_LEN(type_names) ? type_names[t] : "?";
}

static int fail(parser *p, size_t col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t col, const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = true;
    int n = snprintf(p->err, p->errlen, "column %zu: ", col);
    if (n < 0 || (size_t)n >= p->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The tokenizer */

static const struct {
    const char *word;
    tok_kind kind;
} keywords[] = {
    {"and", T_AND},         {"or", T_OR},
    {"not", T_NOT},         {"in", T_IN},
    {"is", T_IS},           {"null", T_NULL},
    {"true", T_TRUE},       {"false", T_FALSE},
    {"matches", T_MATCHES}, {"starts_with", T_STARTS_WITH},
};

static int lex_string(parser *p, char quote)
{
    size_t start = p->pos++;
    sl_buf_reset(&p->strbuf);
    for (;;) {
        if (p->pos >= p->len) return fail(p, start + 1, "unterminated string");
        char c = p->src[p->pos++];
        if (c == quote) {
            if (p->pos < p->len && p->src[p->pos] == quote) { /* '' is a quote, as in SQL */
                p->pos++;
                sl_buf_append(&p->strbuf, &c, 1);
                continue;
            }
            break;
        }
        if (c == '\\') {
            if (p->pos >= p->len) return fail(p, start + 1, "unterminated string");
            char e = p->src[p->pos++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\':
            case '\'':
            case '"': c = e; break;
            default: /* kept as written, so regexes read naturally: '\d+\.' */
                sl_buf_append(&p->strbuf, "\\", 1);
                c = e;
            }
        }
        if (c == 0) return fail(p, p->pos, "NUL in a string");
        sl_buf_append(&p->strbuf, &c, 1);
    }
    p->t.kind = T_STRING;
    p->t.s = (const char *)p->strbuf.ptr;
    p->t.n = p->strbuf.len;
    return 0;
}

static int lex_number(parser *p)
{
    size_t start = p->pos;
    bool frac = false;
    while (p->pos < p->len && isdigit((unsigned char)p->src[p->pos]))
        p->pos++;
    if (p->pos < p->len && p->src[p->pos] == '.') {
        frac = true;
        p->pos++;
        if (p->pos >= p->len || !isdigit((unsigned char)p->src[p->pos]))
            return fail(p, start + 1, "bad number");
        while (p->pos < p->len && isdigit((unsigned char)p->src[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->src[p->pos] == 'e' || p->src[p->pos] == 'E')) {
        frac = true;
        p->pos++;
        if (p->pos < p->len && (p->src[p->pos] == '+' || p->src[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || !isdigit((unsigned char)p->src[p->pos]))
            return fail(p, start + 1, "bad number");
        while (p->pos < p->len && isdigit((unsigned char)p->src[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (isalpha((unsigned char)p->src[p->pos]) || p->src[p->pos] == '_'))
        return fail(p, start + 1, "bad number");
    char buf[64];
    size_t n = p->pos - start;
    if (n >= sizeof buf) return fail(p, start + 1, "number too long");
    memcpy(buf, p->src + start, n);
    buf[n] = 0;
    errno = 0;
    if (frac) {
        p->t.kind = T_DOUBLE;
        p->t.d = strtod(buf, NULL);
        if (errno || !isfinite(p->t.d)) return fail(p, start + 1, "number out of range");
    } else {
        p->t.kind = T_INT;
        p->t.i = strtoll(buf, NULL, 10);
        if (errno) return fail(p, start + 1, "integer out of range");
    }
    return 0;
}

static int next(parser *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->src[p->pos]))
        p->pos++;
    p->t.col = p->pos + 1;
    if (p->pos >= p->len) {
        p->t.kind = T_END;
        return 0;
    }
    char c = p->src[p->pos];
    char d = p->pos + 1 < p->len ? p->src[p->pos + 1] : 0;
    if (isalpha((unsigned char)c) || c == '_') {
        size_t start = p->pos;
        while (p->pos < p->len && (isalnum((unsigned char)p->src[p->pos]) || p->src[p->pos] == '_'))
            p->pos++;
        p->t.kind = T_IDENT;
        p->t.s = p->src + start;
        p->t.n = p->pos - start;
        for (size_t i = 0; i < SL_ARRAY_LEN(keywords); i++)
            if (strlen(keywords[i].word) == p->t.n &&
                !strncasecmp(keywords[i].word, p->t.s, p->t.n))
                p->t.kind = keywords[i].kind;
        return 0;
    }
    if (c == '`') { /* a field whose name is a keyword */
        size_t start = ++p->pos;
        while (p->pos < p->len && p->src[p->pos] != '`')
            p->pos++;
        if (p->pos >= p->len || p->pos == start) return fail(p, start, "bad `quoted` name");
        p->t.kind = T_IDENT;
        p->t.s = p->src + start;
        p->t.n = p->pos++ - start;
        return 0;
    }
    if (isdigit((unsigned char)c)) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p, c);
    static const struct {
        char a, b;
        tok_kind kind;
    } ops[] = {
        {'=', '=', T_EQ},    {'!', '=', T_NE},   {'<', '>', T_NE},   {'<', '=', T_LE},
        {'>', '=', T_GE},    {'=', 0, T_EQ},     {'<', 0, T_LT},     {'>', 0, T_GT},
        {'+', 0, T_PLUS},    {'-', 0, T_MINUS},  {'*', 0, T_STAR},   {'/', 0, T_SLASH},
        {'%', 0, T_PERCENT}, {'(', 0, T_LPAREN}, {')', 0, T_RPAREN}, {',', 0, T_COMMA},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ops); i++)
        if (ops[i].a == c && (!ops[i].b || ops[i].b == d)) {
            p->pos += ops[i].b ? 2 : 1;
            p->t.kind = ops[i].kind;
            return 0;
        }
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        return fail(p, p->pos + 1, "unexpected '%c'", c);
    return fail(p, p->pos + 1, "unexpected byte 0x%02x", (unsigned char)c);
}

/* The tree */

static node *new_node(op_kind op, sl_expr_type type)
{
    node *n = sl_calloc(1, sizeof *n);
    n->op = op;
    n->type = type;
    n->col = -1;
    return n;
}

static void free_node(node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nargs; i++)
        free_node(n->args[i]);
    sl_free(n->args);
    sl_free(n->text);
    if (n->md) pcre2_match_data_free(n->md);
    if (n->re) pcre2_code_free(n->re);
    sl_free(n);
}

static void add_arg(node *n, node *a)
{
    n->args = sl_realloc(n->args, (n->nargs + 1) * sizeof *n->args);
    n->args[n->nargs++] = a;
}

static node *binary(op_kind op, sl_expr_type type, node *a, node *b)
{
    node *n = new_node(op, type);
    add_arg(n, a);
    add_arg(n, b);
    return n;
}

static bool numeric(sl_expr_type t)
{
    return t == SL_EXPR_INT || t == SL_EXPR_DOUBLE;
}

/* The type two operands are compared as, or NULL when they cannot be. TEXT converts to the
 * other side's type at run time. */
static sl_expr_type common_type(sl_expr_type a, sl_expr_type b)
{
    if (a == b) return a;
    if (numeric(a) && numeric(b)) return SL_EXPR_DOUBLE;
    if (a == SL_EXPR_TEXT) return b;
    if (b == SL_EXPR_TEXT) return a;
    if ((a == SL_EXPR_TIMESTAMP && b == SL_EXPR_INT) ||
        (b == SL_EXPR_TIMESTAMP && a == SL_EXPR_INT))
        return SL_EXPR_TIMESTAMP;
    return SL_EXPR_NULL;
}

static node *parse_expr(parser *p, int rbp);

static int expect(parser *p, tok_kind k, const char *what)
{
    if (p->t.kind != k) return fail(p, p->t.col, "expected %s", what);
    return next(p);
}

typedef struct fn_def {
    const char *name;
    fn_kind fn;
    size_t min, max; /* arguments */
    sl_expr_type ret;
} fn_def;

static const fn_def fns[] = {
    {"lower", F_LOWER, 1, 1, SL_EXPR_TEXT},
    {"upper", F_UPPER, 1, 1, SL_EXPR_TEXT},
    {"trim", F_TRIM, 1, 1, SL_EXPR_TEXT},
    {"length", F_LENGTH, 1, 1, SL_EXPR_INT},
    {"substring", F_SUBSTRING, 2, 3, SL_EXPR_TEXT},
    {"concat", F_CONCAT, 1, MAX_ARGS, SL_EXPR_TEXT},
    {"split_part", F_SPLIT_PART, 3, 3, SL_EXPR_TEXT},
    {"parse_ts", F_PARSE_TS, 1, 1, SL_EXPR_TIMESTAMP},
    {"age", F_AGE, 1, 2, SL_EXPR_INT},
    {"sha256", F_SHA256, 1, 1, SL_EXPR_TEXT},
    {"json_path", F_JSON_PATH, 1, 2, SL_EXPR_TEXT},
    {"coalesce", F_COALESCE, 1, MAX_ARGS, SL_EXPR_NULL},
    /* function forms of the infix operators */
    {"starts_with", -1, 2, 2, SL_EXPR_BOOL},
    {"matches", -2, 2, 2, SL_EXPR_BOOL},
};

static node *literal_text(const char *s, size_t n)
{
    node *l = new_node(OP_LIT, SL_EXPR_TEXT);
    l->text = sl_malloc(n + 1);
    if (n) memcpy(l->text, s, n); /* s is NULL for '' */
    l->text[n] = 0;
    l->lit = (sl_expr_value){.type = SL_EXPR_TEXT, .str = l->text, .len = n};
    return l;
}

static bool is_text_literal(const node *n)
{
    return n->op == OP_LIT && n->type == SL_EXPR_TEXT;
}

/* Checks an argument that must be text (or null). */
static int want_text(parser *p, size_t col, const char *fn, size_t i, const node *a)
{
    if (a->type == SL_EXPR_TEXT || a->type == SL_EXPR_NULL) return 0;
    return fail(p, col, "%s: argument %zu is %s, expected text", fn, i + 1,
                sl_expr_type_name(a->type));
}

static int want_int(parser *p, size_t col, const char *fn, size_t i, const node *a)
{
    if (a->type == SL_EXPR_INT || a->type == SL_EXPR_TEXT || a->type == SL_EXPR_NULL) return 0;
    return fail(p, col, "%s: argument %zu is %s, expected int", fn, i + 1,
                sl_expr_type_name(a->type));
}

static int want_date(parser *p, size_t col, const char *fn, size_t i, const node *a)
{
    if (a->type == SL_EXPR_TIMESTAMP || a->type == SL_EXPR_TEXT || a->type == SL_EXPR_NULL)
        return 0;
    return fail(p, col, "%s: argument %zu is %s, expected a timestamp or ISO-8601 text", fn, i + 1,
                sl_expr_type_name(a->type));
}

static node *make_matches(parser *p, size_t col, node *subject, node *pattern, bool negate)
{
    node *n = binary(OP_MATCHES, SL_EXPR_BOOL, subject, pattern);
    n->negate = negate;
    if (want_text(p, col, "matches", 0, subject)) return n;
    if (!is_text_literal(pattern)) {
        fail(p, col, "matches: the pattern must be a string literal (it is compiled once)");
        return n;
    }
    int code;
    PCRE2_SIZE off;
    n->re =
        pcre2_compile((PCRE2_SPTR)pattern->lit.str, pattern->lit.len, PCRE2_UTF, &code, &off, NULL);
    if (!n->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        fail(p, col, "matches: bad regex at offset %zu: %s", (size_t)off, (const char *)msg);
        return n;
    }
    pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
    return n;
}

static node *make_starts_with(parser *p, size_t col, node *subject, node *prefix, bool negate)
{
    node *n = binary(OP_STARTS_WITH, SL_EXPR_BOOL, subject, prefix);
    n->negate = negate;
    if (!want_text(p, col, "starts_with", 0, subject)) want_text(p, col, "starts_with", 1, prefix);
    return n;
}

static node *parse_call(parser *p, const char *name, size_t namelen, size_t col)
{
    const fn_def *f = NULL;
    for (size_t i = 0; i < SL_ARRAY_LEN(fns); i++)
        if (strlen(fns[i].name) == namelen && !strncasecmp(fns[i].name, name, namelen)) f = &fns[i];
    if (!f) {
        fail(p, col, "unknown function '%.*s'", (int)namelen, name);
        return NULL;
    }
    node *n = new_node(OP_CALL, f->ret);
    n->sub = (int)f->fn;
    if (next(p)) return n; /* ( */
    if (p->t.kind != T_RPAREN) {
        for (;;) {
            if (n->nargs == MAX_ARGS) {
                fail(p, p->t.col, "%s: too many arguments", f->name);
                return n;
            }
            node *a = parse_expr(p, 0);
            if (!a) return n;
            add_arg(n, a);
            if (p->t.kind != T_COMMA) break;
            if (next(p)) return n;
        }
    }
    if (expect(p, T_RPAREN, "',' or ')'")) return n;
    if (n->nargs < f->min || n->nargs > f->max) {
        if (f->min == f->max)
            fail(p, col, "%s takes %zu argument(s), not %zu", f->name, f->min, n->nargs);
        else
            fail(p, col, "%s takes %zu to %zu arguments, not %zu", f->name, f->min, f->max,
                 n->nargs);
        return n;
    }
    if ((int)f->fn < 0) { /* starts_with(), matches(): the operator nodes */
        node *a = n->args[0], *b = n->args[1];
        n->nargs = 0;
        free_node(n);
        return (int)f->fn == -1 ? make_starts_with(p, col, a, b, false)
                                : make_matches(p, col, a, b, false);
    }
    switch (f->fn) {
    case F_LOWER:
    case F_UPPER:
    case F_TRIM:
    case F_LENGTH:
    case F_SHA256: want_text(p, col, f->name, 0, n->args[0]); break;
    case F_SUBSTRING:
        if (!want_text(p, col, f->name, 0, n->args[0]) &&
            !want_int(p, col, f->name, 1, n->args[1]) && n->nargs == 3)
            want_int(p, col, f->name, 2, n->args[2]);
        break;
    case F_SPLIT_PART:
        if (!want_text(p, col, f->name, 0, n->args[0]) &&
            !want_text(p, col, f->name, 1, n->args[1]))
            want_int(p, col, f->name, 2, n->args[2]);
        break;
    case F_PARSE_TS: want_date(p, col, f->name, 0, n->args[0]); break;
    case F_AGE:
        if (!want_date(p, col, f->name, 0, n->args[0]) && n->nargs == 2)
            want_date(p, col, f->name, 1, n->args[1]);
        break;
    case F_JSON_PATH: {
        node *path = n->args[n->nargs - 1];
        if (n->nargs == 2 && want_text(p, col, f->name, 0, n->args[0])) break;
        if (!is_text_literal(path)) {
            fail(p, col, "json_path: the path must be a string literal");
            break;
        }
        if (!sl_json_path_valid(path->lit.str))
            fail(p, col, "json_path: bad path (expected $ then .name or [N] steps)");
        break;
    }
    case F_COALESCE: {
        sl_expr_type t = SL_EXPR_NULL;
        for (size_t i = 0; i < n->nargs; i++) {
            sl_expr_type a = n->args[i]->type;
            if (a == SL_EXPR_NULL) continue;
            if (t != SL_EXPR_NULL && a != t) {
                fail(p, col, "coalesce: argument %zu is %s, the ones before it %s", i + 1,
                     sl_expr_type_name(a), sl_expr_type_name(t));
                break;
            }
            t = a;
        }
        if (t == SL_EXPR_NULL && !p->failed) fail(p, col, "coalesce: every argument is null");
        n->type = t;
        break;
    }
    default: break;
    }
    return n;
}

static node *parse_field(parser *p, const char *name, size_t namelen, size_t col)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (strlen(p->cols[i].name) == namelen && !memcmp(p->cols[i].name, name, namelen)) {
            static const sl_expr_type of[] = {
                [SL_SINK_UUID] = SL_EXPR_TEXT,
                [SL_SINK_TEXT] = SL_EXPR_TEXT,
                [SL_SINK_INT] = SL_EXPR_INT,
                [SL_SINK_BIGINT] = SL_EXPR_INT,
                [SL_SINK_DOUBLE] = SL_EXPR_DOUBLE,
                [SL_SINK_BOOLEAN] = SL_EXPR_BOOL,
                [SL_SINK_TIMESTAMP] = SL_EXPR_TIMESTAMP,
            };
            node *n = new_node(OP_FIELD, of[p->cols[i].type]);
            n->col = (int)i;
            n->coltype = p->cols[i].type;
            return n;
        }
    fail(p, col, "unknown field '%.*s'", (int)namelen, name);
    return NULL;
}

/* A prefix position: literals, fields, calls, parentheses, not, unary minus. */
static node *parse_prefix(parser *p)
{
    tok t = p->t;
    node *n, *x;
    switch (t.kind) {
    case T_INT:
        n = new_node(OP_LIT, SL_EXPR_INT);
        n->lit = (sl_expr_value){.type = SL_EXPR_INT, .v.i = t.i};
        next(p);
        return n;
    case T_DOUBLE:
        n = new_node(OP_LIT, SL_EXPR_DOUBLE);
        n->lit = (sl_expr_value){.type = SL_EXPR_DOUBLE, .v.d = t.d};
        next(p);
        return n;
    case T_STRING:
        n = literal_text(t.s, t.n);
        next(p);
        return n;
    case T_TRUE:
    case T_FALSE:
        n = new_node(OP_LIT, SL_EXPR_BOOL);
        n->lit = (sl_expr_value){.type = SL_EXPR_BOOL, .v.b = t.kind == T_TRUE};
        next(p);
        return n;
    case T_NULL:
        n = new_node(OP_LIT, SL_EXPR_NULL);
        n->lit.type = SL_EXPR_NULL;
        next(p);
        return n;
    case T_IDENT:
        if (next(p)) return NULL;
        if (p->t.kind == T_LPAREN) return parse_call(p, t.s, t.n, t.col);
        return parse_field(p, t.s, t.n, t.col);
    case T_STARTS_WITH:
    case T_MATCHES:
        if (next(p)) return NULL;
        if (p->t.kind != T_LPAREN) {
            fail(p, t.col, "%s needs arguments", t.kind == T_MATCHES ? "matches" : "starts_with");
            return NULL;
        }
        return parse_call(p, t.kind == T_MATCHES ? "matches" : "starts_with",
                          t.kind == T_MATCHES ? 7 : 11, t.col);
    case T_LPAREN:
        if (next(p)) return NULL;
        n = parse_expr(p, 0);
        if (n) expect(p, T_RPAREN, "')'");
        return n;
    case T_NOT:
        if (next(p)) return NULL;
        n = parse_expr(p, 30);
        if (!n) return NULL;
        if (n->type != SL_EXPR_BOOL && n->type != SL_EXPR_NULL)
            fail(p, t.col, "not: operand is %s, expected boolean", sl_expr_type_name(n->type));
        x = new_node(OP_NOT, SL_EXPR_BOOL);
        add_arg(x, n);
        return x;
    case T_MINUS:
        if (next(p)) return NULL;
        n = parse_expr(p, 70);
        if (!n) return NULL;
        if (!numeric(n->type) && n->type != SL_EXPR_NULL)
            fail(p, t.col, "-: operand is %s, expected a number", sl_expr_type_name(n->type));
        x = new_node(OP_NEG, n->type == SL_EXPR_NULL ? SL_EXPR_INT : n->type);
        add_arg(x, n);
        return x;
    case T_END: fail(p, t.col, "unexpected end of expression"); return NULL;
    default: fail(p, t.col, "expected a value"); return NULL;
    }
}

/* Left binding power of the current token as an infix operator (0: none). */
static int lbp(const parser *p)
{
    switch (p->t.kind) {
    case T_OR: return 10;
    case T_AND: return 20;
    case T_EQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
    case T_IS:
    case T_IN:
    case T_NOT: /* not in, not matches, not starts_with */
    case T_MATCHES:
    case T_STARTS_WITH: return 40;
    case T_PLUS:
    case T_MINUS: return 50;
    case T_STAR:
    case T_SLASH:
    case T_PERCENT: return 60;
    default: return 0;
    }
}

static node *parse_in(parser *p, node *left, bool negate, size_t col)
{
    node *n = new_node(OP_IN, SL_EXPR_BOOL);
    n->negate = negate;
    add_arg(n, left);
    if (expect(p, T_LPAREN, "'(' after in")) return n;
    sl_expr_type t = left->type;
    for (;;) {
        if (n->nargs > 4096) {
            fail(p, p->t.col, "in: more than 4096 values");
            return n;
        }
        node *v = parse_expr(p, 0);
        if (!v) return n;
        add_arg(n, v);
        sl_expr_type c = v->type == SL_EXPR_NULL ? t : common_type(t, v->type);
        if (c == SL_EXPR_NULL && t != SL_EXPR_NULL) {
            fail(p, col, "in: cannot compare %s with %s", sl_expr_type_name(left->type),
                 sl_expr_type_name(v->type));
            return n;
        }
        t = c;
        if (p->t.kind != T_COMMA) break;
        if (next(p)) return n;
    }
    n->cmp = t;
    expect(p, T_RPAREN, "',' or ')'");
    return n;
}

static node *parse_infix(parser *p, node *left)
{
    tok t = p->t;
    if (next(p)) return left;
    switch (t.kind) {
    case T_OR:
    case T_AND: {
        node *r = parse_expr(p, t.kind == T_OR ? 10 : 20);
        if (!r) return left;
        for (int i = 0; i < 2; i++) {
            const node *x = i ? r : left;
            if (x->type != SL_EXPR_BOOL && x->type != SL_EXPR_NULL)
                fail(p, t.col, "%s: operand is %s, expected boolean", t.kind == T_OR ? "or" : "and",
                     sl_expr_type_name(x->type));
        }
        return binary(t.kind == T_OR ? OP_OR : OP_AND, SL_EXPR_BOOL, left, r);
    }
    case T_EQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE: {
        node *r = parse_expr(p, 41);
        if (!r) return left;
        node *n = binary(OP_CMP, SL_EXPR_BOOL, left, r);
        n->sub = t.kind == T_EQ   ? CMP_EQ
                 : t.kind == T_NE ? CMP_NE
                 : t.kind == T_LT ? CMP_LT
                 : t.kind == T_LE ? CMP_LE
                 : t.kind == T_GT ? CMP_GT
                                  : CMP_GE;
        if (left->type == SL_EXPR_NULL || r->type == SL_EXPR_NULL) {
            fail(p, t.col, "comparing with null is always null: use 'is null'");
            return n;
        }
        n->cmp = common_type(left->type, r->type);
        if (n->cmp == SL_EXPR_NULL)
            fail(p, t.col, "cannot compare %s with %s", sl_expr_type_name(left->type),
                 sl_expr_type_name(r->type));
        return n;
    }
    case T_IS: {
        bool neg = false;
        if (p->t.kind == T_NOT) {
            neg = true;
            if (next(p)) return left;
        }
        node *n = new_node(OP_IS_NULL, SL_EXPR_BOOL);
        n->negate = neg;
        add_arg(n, left);
        expect(p, T_NULL, "null after is");
        return n;
    }
    case T_NOT:
        if (p->t.kind == T_IN) {
            next(p);
            return parse_in(p, left, true, t.col);
        }
        if (p->t.kind == T_MATCHES || p->t.kind == T_STARTS_WITH) {
            tok_kind k = p->t.kind;
            if (next(p)) return left;
            node *r = parse_expr(p, 41);
            if (!r) return left;
            return k == T_MATCHES ? make_matches(p, t.col, left, r, true)
                                  : make_starts_with(p, t.col, left, r, true);
        }
        fail(p, p->t.col, "expected in, matches or starts_with after not");
        return left;
    case T_IN: return parse_in(p, left, false, t.col);
    case T_MATCHES:
    case T_STARTS_WITH: {
        node *r = parse_expr(p, 41);
        if (!r) return left;
        return t.kind == T_MATCHES ? make_matches(p, t.col, left, r, false)
                                   : make_starts_with(p, t.col, left, r, false);
    }
    default: {
        int bp = t.kind == T_PLUS || t.kind == T_MINUS ? 50 : 60;
        node *r = parse_expr(p, bp);
        if (!r) return left;
        char op = t.kind == T_PLUS    ? '+'
                  : t.kind == T_MINUS ? '-'
                  : t.kind == T_STAR  ? '*'
                  : t.kind == T_SLASH ? '/'
                                      : '%';
        sl_expr_type a = left->type, b = r->type, res = SL_EXPR_NULL;
        if (a == SL_EXPR_TEXT && b == SL_EXPR_TEXT) {
            fail(p, t.col, "%c on two texts (concat() joins texts)", op);
        } else if (a == SL_EXPR_TIMESTAMP || b == SL_EXPR_TIMESTAMP) {
            if (op == '-' && a == SL_EXPR_TIMESTAMP && b == SL_EXPR_TIMESTAMP)
                res = SL_EXPR_INT;
            else if ((op == '+' || op == '-') && a == SL_EXPR_TIMESTAMP &&
                     (b == SL_EXPR_INT || b == SL_EXPR_TEXT))
                res = SL_EXPR_TIMESTAMP;
            else if (op == '+' && b == SL_EXPR_TIMESTAMP && a == SL_EXPR_INT)
                res = SL_EXPR_TIMESTAMP;
            else
                fail(p, t.col, "%c of %s and %s", op, sl_expr_type_name(a), sl_expr_type_name(b));
        } else if ((numeric(a) || a == SL_EXPR_TEXT || a == SL_EXPR_NULL) &&
                   (numeric(b) || b == SL_EXPR_TEXT || b == SL_EXPR_NULL)) {
            if (op == '/' || a == SL_EXPR_DOUBLE || b == SL_EXPR_DOUBLE)
                res = SL_EXPR_DOUBLE;
            else
                res = SL_EXPR_INT;
            if (op == '%' && res == SL_EXPR_DOUBLE) {
                fail(p, t.col, "%% of doubles");
            }
        } else {
            fail(p, t.col, "%c of %s and %s", op, sl_expr_type_name(a), sl_expr_type_name(b));
        }
        node *n = binary(OP_ARITH, res == SL_EXPR_NULL ? SL_EXPR_INT : res, left, r);
        n->sub = op;
        /* Operands are converted to the result's type (int - int of timestamps: INT). */
        n->cmp = res == SL_EXPR_TIMESTAMP || (a == SL_EXPR_TIMESTAMP && b == SL_EXPR_TIMESTAMP)
                     ? SL_EXPR_INT
                     : res;
        return n;
    }
    }
}

static node *parse_expr(parser *p, int rbp)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->t.col, "nested more than %d deep", MAX_DEPTH);
        p->depth--;
        return NULL;
    }
    node *left = parse_prefix(p);
    while (left && !p->failed && rbp < lbp(p))
        left = parse_infix(p, left);
    p->depth--;
    if (p->failed) {
        free_node(left);
        return NULL;
    }
    return left;
}

int sl_expr_compile(const char *src, const sl_sink_column *cols, size_t ncols, sl_expr **out,
                    char *err, size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    *out = NULL;
    parser p = {.src = src ? src : "",
                .len = src ? strlen(src) : 0,
                .cols = cols,
                .ncols = ncols,
                .err = err,
                .errlen = errlen};
    sl_buf_init(&p.strbuf);
    if (p.len > MAX_SRC) {
        fail(&p, 1, "expression over %d bytes", MAX_SRC);
        sl_buf_free(&p.strbuf);
        return SL_ERR_PARSE;
    }
    node *root = NULL;
    if (next(&p) == 0) root = parse_expr(&p, 0);
    if (root && !p.failed && p.t.kind != T_END)
        fail(&p, p.t.col, "unexpected text after the expression");
    if (root && !p.failed && root->type == SL_EXPR_NULL)
        fail(&p, 1, "the expression is always null");
    sl_buf_free(&p.strbuf);
    if (p.failed || !root) {
        free_node(root);
        return SL_ERR_PARSE;
    }
    sl_expr *e = sl_malloc(sizeof *e);
    e->root = root;
    *out = e;
    return 0;
}

sl_expr_type sl_expr_result_type(const sl_expr *e)
{
    return e->root->type;
}

int sl_expr_field(const sl_expr *e, sl_sink_type *type)
{
    if (e->root->op != OP_FIELD) return -1;
    *type = e->root->coltype;
    return (int)e->root->col;
}

void sl_expr_free(sl_expr *e)
{
    if (!e) return;
    free_node(e->root);
    sl_free(e);
}

/* Evaluation */

#define NULLV ((sl_expr_value){.type = SL_EXPR_NULL})

static sl_expr_value error_value(const sl_expr_ctx *c, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sl_expr_value error_value(const sl_expr_ctx *c, const char *reason, const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    return (sl_expr_value){.type = SL_EXPR_ERROR,
                           .reason = reason,
                           .str = sl_arena_strndup(c->arena, buf, (size_t)n),
                           .len = (size_t)n};
}

static sl_expr_value text_value(const char *s, size_t n)
{
    return (sl_expr_value){.type = SL_EXPR_TEXT, .str = s, .len = n};
}

/* Formats ms since the epoch as 2024-05-01T10:00:00.123Z into arena. */
static sl_expr_value format_ts(const sl_expr_ctx *c, int64_t ms)
{
    int64_t days = sl_floor_div(ms, 86400000), rem = ms - days * 86400000, y;
    int mo, d;
    sl_civil_from_days(days, &y, &mo, &d);
    char *o = sl_arena_alloc(c->arena, 40);
    int n = snprintf(o, 40, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d,
                     (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                     (int)(rem % 1000));
    return text_value(o, (size_t)n);
}

/* Converts v (not null, not an error) to type t: the run-time half of the typing rules. */
static sl_expr_value convert(const sl_expr_ctx *c, sl_expr_value v, sl_expr_type t,
                             const char *what)
{
    if (v.type == t) return v;
    char buf[64];
    switch (t) {
    case SL_EXPR_DOUBLE:
        if (v.type == SL_EXPR_INT) return (sl_expr_value){.type = t, .v.d = (double)v.v.i};
        if (v.type == SL_EXPR_TEXT && v.len > 0 && v.len < sizeof buf) {
            memcpy(buf, v.str, v.len);
            buf[v.len] = 0;
            char *e;
            errno = 0;
            double d = strtod(buf, &e);
            if (!*e && !errno && isfinite(d) && !isspace((unsigned char)buf[0]))
                return (sl_expr_value){.type = t, .v.d = d};
        }
        break;
    case SL_EXPR_INT:
        if (v.type == SL_EXPR_TIMESTAMP) return (sl_expr_value){.type = t, .v.i = v.v.i};
        if (v.type == SL_EXPR_TEXT && v.len > 0 && v.len < sizeof buf) {
            memcpy(buf, v.str, v.len);
            buf[v.len] = 0;
            char *e;
            errno = 0;
            long long i = strtoll(buf, &e, 10);
            if (!*e && !errno && !isspace((unsigned char)buf[0]))
                return (sl_expr_value){.type = t, .v.i = i};
        }
        break;
    case SL_EXPR_TIMESTAMP:
        if (v.type == SL_EXPR_INT) return (sl_expr_value){.type = t, .v.i = v.v.i};
        if (v.type == SL_EXPR_TEXT) {
            int64_t ms;
            if (sl_timestamp_parse(v.str, v.len, &ms) == 0)
                return (sl_expr_value){.type = t, .v.i = ms};
            return error_value(c, "invalid_timestamp", "%s: not an ISO-8601 date or time", what);
        }
        break;
    case SL_EXPR_BOOL:
        if (v.type == SL_EXPR_TEXT) {
            if (v.len == 4 && !memcmp(v.str, "true", 4))
                return (sl_expr_value){.type = t, .v.b = true};
            if (v.len == 5 && !memcmp(v.str, "false", 5))
                return (sl_expr_value){.type = t, .v.b = false};
        }
        break;
    case SL_EXPR_TEXT:
        switch (v.type) {
        case SL_EXPR_INT: {
            int n = snprintf(buf, sizeof buf, "%" PRId64, v.v.i);
            return text_value(sl_arena_strndup(c->arena, buf, (size_t)n), (size_t)n);
        }
        case SL_EXPR_DOUBLE: {
            int n = snprintf(buf, sizeof buf, "%.17g", v.v.d);
            return text_value(sl_arena_strndup(c->arena, buf, (size_t)n), (size_t)n);
        }
        case SL_EXPR_BOOL: return text_value(v.v.b ? "true" : "false", v.v.b ? 4 : 5);
        case SL_EXPR_TIMESTAMP: return format_ts(c, v.v.i);
        default: break;
        }
        break;
    default: break;
    }
    return error_value(c, "type_error", "%s: %s is not %s %s", what, sl_expr_type_name(v.type),
                       t == SL_EXPR_INT ? "an" : "a", sl_expr_type_name(t));
}

static sl_expr_value eval(const node *n, const sl_expr_ctx *c);

static const char *what_of(const node *n)
{
    return n->op == OP_FIELD ? "field" : n->op == OP_LIT ? "literal" : "operand";
}

static int cmp_values(const sl_expr_value *a, const sl_expr_value *b)
{
    switch (a->type) {
    case SL_EXPR_BOOL: return (int)a->v.b - (int)b->v.b;
    case SL_EXPR_INT:
    case SL_EXPR_TIMESTAMP: return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    case SL_EXPR_DOUBLE: return a->v.d < b->v.d ? -1 : a->v.d > b->v.d;
    case SL_EXPR_TEXT: {
        int r = memcmp(a->str, b->str, SL_MIN(a->len, b->len));
        return r ? r : a->len < b->len ? -1 : a->len > b->len;
    }
    default: return 0;
    }
}

static sl_expr_value bool_value(bool b)
{
    return (sl_expr_value){.type = SL_EXPR_BOOL, .v.b = b};
}

static sl_expr_value eval_arith(const node *n, const sl_expr_ctx *c)
{
    sl_expr_value a = eval(n->args[0], c);
    if (a.type == SL_EXPR_ERROR) return a;
    sl_expr_value b = eval(n->args[1], c);
    if (b.type == SL_EXPR_ERROR) return b;
    if (a.type == SL_EXPR_NULL || b.type == SL_EXPR_NULL) return NULLV;
    a = convert(c, a, n->cmp, what_of(n->args[0]));
    if (a.type == SL_EXPR_ERROR) return a;
    b = convert(c, b, n->cmp, what_of(n->args[1]));
    if (b.type == SL_EXPR_ERROR) return b;
    sl_expr_value r = {.type = n->type};
    if (n->cmp == SL_EXPR_DOUBLE) {
        switch (n->sub) {
        case '+': r.v.d = a.v.d + b.v.d; break;
        case '-': r.v.d = a.v.d - b.v.d; break;
        case '*': r.v.d = a.v.d * b.v.d; break;
        default:
            if (b.v.d == 0) return error_value(c, "division_by_zero", "division by zero");
            r.v.d = a.v.d / b.v.d;
        }
        if (!isfinite(r.v.d)) return error_value(c, "overflow", "%c overflows a double", n->sub);
        return r;
    }
    bool ovf = false;
    switch (n->sub) {
    case '+': ovf = __builtin_add_overflow(a.v.i, b.v.i, &r.v.i); break;
    case '-': ovf = __builtin_sub_overflow(a.v.i, b.v.i, &r.v.i); break;
    case '*': ovf = __builtin_mul_overflow(a.v.i, b.v.i, &r.v.i); break;
    default:
        if (b.v.i == 0) return error_value(c, "division_by_zero", "%% by zero");
        if (b.v.i == -1 && a.v.i == INT64_MIN)
            ovf = true;
        else
            r.v.i = a.v.i % b.v.i;
    }
    if (ovf) return error_value(c, "overflow", "%c overflows 64 bits", n->sub);
    return r;
}

/* Position in bytes of the k-th code point (0-based) of s, or len. */
static size_t utf8_offset(const char *s, size_t len, int64_t k)
{
    size_t i = 0;
    for (; i < len && k > 0; k--) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Whole years from birth to at, by calendar date (a birthday counts on its day). */
static int64_t years_between(int64_t birth_ms, int64_t at_ms)
{
    int64_t by, ay;
    int bm, bd, am, ad;
    sl_civil_from_days(sl_floor_div(birth_ms, 86400000), &by, &bm, &bd);
    sl_civil_from_days(sl_floor_div(at_ms, 86400000), &ay, &am, &ad);
    int64_t years = ay - by;
    if (am < bm || (am == bm && ad < bd)) years--;
    return years;
}

static sl_expr_value eval_call(const node *n, const sl_expr_ctx *c)
{
    sl_expr_value a[3] = {NULLV, NULLV, NULLV};
    if (n->sub != F_CONCAT && n->sub != F_COALESCE) {
        for (size_t i = 0; i < n->nargs && i < 3; i++) {
            a[i] = eval(n->args[i], c);
            if (a[i].type == SL_EXPR_ERROR) return a[i];
            if (a[i].type == SL_EXPR_NULL) return NULLV;
        }
    }
    switch ((fn_kind)n->sub) {
    case F_LOWER:
    case F_UPPER: {
        char *o = sl_arena_alloc(c->arena, a[0].len + 1);
        for (size_t i = 0; i < a[0].len; i++) {
            char ch = a[0].str[i];
            if (n->sub == F_LOWER && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
            if (n->sub == F_UPPER && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
            o[i] = ch;
        }
        return text_value(o, a[0].len);
    }
    case F_TRIM: {
        const char *s = a[0].str;
        size_t len = a[0].len;
        while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
            len--;
        return text_value(s, len);
    }
    case F_LENGTH:
        return (sl_expr_value){.type = SL_EXPR_INT, .v.i = (int64_t)utf8_count(a[0].str, a[0].len)};
    case F_SUBSTRING: {
        sl_expr_value st = convert(c, a[1], SL_EXPR_INT, "substring start");
        if (st.type == SL_EXPR_ERROR) return st;
        int64_t count = INT64_MAX;
        if (n->nargs == 3) {
            sl_expr_value ln = convert(c, a[2], SL_EXPR_INT, "substring length");
            if (ln.type == SL_EXPR_ERROR) return ln;
            if (ln.v.i < 0) return error_value(c, "invalid_argument", "substring: negative length");
            count = ln.v.i;
        }
        if (st.v.i < 1)
            return error_value(c, "invalid_argument",
                               "substring: start below 1 (it counts from 1)");
        size_t from = utf8_offset(a[0].str, a[0].len, st.v.i - 1);
        size_t to = from + utf8_offset(a[0].str + from, a[0].len - from, count);
        return text_value(a[0].str + from, to - from);
    }
    case F_CONCAT: {
        sl_expr_value parts[MAX_ARGS];
        size_t total = 0;
        for (size_t i = 0; i < n->nargs; i++) {
            parts[i] = eval(n->args[i], c);
            if (parts[i].type == SL_EXPR_ERROR) return parts[i];
            if (parts[i].type == SL_EXPR_NULL) continue;
            parts[i] = convert(c, parts[i], SL_EXPR_TEXT, "concat");
            total += parts[i].len;
        }
        char *o = sl_arena_alloc(c->arena, total + 1);
        size_t w = 0;
        for (size_t i = 0; i < n->nargs; i++)
            if (parts[i].type == SL_EXPR_TEXT) {
                memcpy(o + w, parts[i].str, parts[i].len);
                w += parts[i].len;
            }
        return text_value(o, w);
    }
    case F_COALESCE:
        for (size_t i = 0; i < n->nargs; i++) {
            sl_expr_value v = eval(n->args[i], c);
            if (v.type != SL_EXPR_NULL) return v;
        }
        return NULLV;
    case F_SPLIT_PART: {
        sl_expr_value k = convert(c, a[2], SL_EXPR_INT, "split_part index");
        if (k.type == SL_EXPR_ERROR) return k;
        if (a[1].len == 0) return error_value(c, "invalid_argument", "split_part: empty separator");
        if (k.v.i == 0)
            return error_value(c, "invalid_argument",
                               "split_part: index 0 (from 1, or -1 from the end)");
        /* The parts' bounds, found left to right; a negative index counts from the end. */
        const char *s = a[0].str, *end = s + a[0].len;
        size_t nparts = 1;
        for (const char *q = s; (q = memmem(q, (size_t)(end - q), a[1].str, a[1].len));
             q += a[1].len)
            nparts++;
        int64_t want = k.v.i > 0 ? k.v.i - 1 : (int64_t)nparts + k.v.i;
        if (want < 0 || want >= (int64_t)nparts) return NULLV;
        const char *from = s;
        for (int64_t i = 0; i < want; i++)
            from = (const char *)memmem(from, (size_t)(end - from), a[1].str, a[1].len) + a[1].len;
        const char *to = memmem(from, (size_t)(end - from), a[1].str, a[1].len);
        return text_value(from, (size_t)((to ? to : end) - from));
    }
    case F_PARSE_TS: return convert(c, a[0], SL_EXPR_TIMESTAMP, "parse_ts");
    case F_AGE: {
        sl_expr_value b = convert(c, a[0], SL_EXPR_TIMESTAMP, "age");
        if (b.type == SL_EXPR_ERROR) return b;
        int64_t at = c->now_ms;
        if (n->nargs == 2) {
            sl_expr_value t = convert(c, a[1], SL_EXPR_TIMESTAMP, "age");
            if (t.type == SL_EXPR_ERROR) return t;
            at = t.v.i;
        }
        return (sl_expr_value){.type = SL_EXPR_INT, .v.i = years_between(b.v.i, at)};
    }
    case F_SHA256: {
        unsigned char md[32];
        unsigned int mdlen = 0;
        if (!EVP_Digest(a[0].str, a[0].len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
            return error_value(c, "internal_error", "sha256 failed");
        char *o = sl_arena_alloc(c->arena, 65);
        for (int i = 0; i < 32; i++)
            snprintf(o + 2 * i, 3, "%02x", md[i]);
        return text_value(o, 64);
    }
    case F_JSON_PATH: {
        const char *doc = n->nargs == 2 ? a[0].str : c->raw;
        size_t doclen = n->nargs == 2 ? a[0].len : c->rawlen;
        const node *path = n->args[n->nargs - 1];
        if (!doc) return NULLV;
        const char *out;
        size_t outlen;
        bool is_str;
        int rc = sl_json_path(doc, doclen, path->lit.str, c->arena, &out, &outlen, &is_str);
        if (rc == SL_ERR_NOTFOUND) return NULLV;
        if (rc) return error_value(c, "invalid_json", "json_path: the document is not valid JSON");
        return text_value(out, outlen);
    }
    }
    return NULLV;
}

static sl_expr_value eval(const node *n, const sl_expr_ctx *c)
{
    switch (n->op) {
    case OP_LIT: return n->lit;
    case OP_FIELD: return sl_expr_from_sink(&c->row[n->col], n->coltype, c->arena);
    case OP_NOT: {
        sl_expr_value v = eval(n->args[0], c);
        if (v.type == SL_EXPR_BOOL) v.v.b = !v.v.b;
        return v;
    }
    case OP_NEG: {
        sl_expr_value v = eval(n->args[0], c);
        if (v.type == SL_EXPR_INT) {
            if (v.v.i == INT64_MIN) return error_value(c, "overflow", "- overflows 64 bits");
            v.v.i = -v.v.i;
        } else if (v.type == SL_EXPR_DOUBLE) {
            v.v.d = -v.v.d;
        }
        return v;
    }
    case OP_AND:
    case OP_OR: {
        /* Three-valued: false and x is false, true or x is true, whatever x is. */
        bool is_and = n->op == OP_AND;
        sl_expr_value a = eval(n->args[0], c);
        if (a.type == SL_EXPR_ERROR) return a;
        if (a.type == SL_EXPR_BOOL && a.v.b != is_and) return a;
        sl_expr_value b = eval(n->args[1], c);
        if (b.type == SL_EXPR_ERROR) return b;
        if (b.type == SL_EXPR_BOOL && b.v.b != is_and) return b;
        if (a.type == SL_EXPR_NULL || b.type == SL_EXPR_NULL) return NULLV;
        return bool_value(is_and);
    }
    case OP_CMP: {
        sl_expr_value a = eval(n->args[0], c);
        if (a.type == SL_EXPR_ERROR) return a;
        sl_expr_value b = eval(n->args[1], c);
        if (b.type == SL_EXPR_ERROR) return b;
        if (a.type == SL_EXPR_NULL || b.type == SL_EXPR_NULL) return NULLV;
        a = convert(c, a, n->cmp, what_of(n->args[0]));
        if (a.type == SL_EXPR_ERROR) return a;
        b = convert(c, b, n->cmp, what_of(n->args[1]));
        if (b.type == SL_EXPR_ERROR) return b;
        int r = cmp_values(&a, &b);
        switch ((cmp_kind)n->sub) {
        case CMP_EQ: return bool_value(r == 0);
        case CMP_NE: return bool_value(r != 0);
        case CMP_LT: return bool_value(r < 0);
        case CMP_LE: return bool_value(r <= 0);
        case CMP_GT: return bool_value(r > 0);
        case CMP_GE: return bool_value(r >= 0);
        }
        return NULLV;
    }
    case OP_ARITH: return eval_arith(n, c);
    case OP_IS_NULL: {
        sl_expr_value v = eval(n->args[0], c);
        if (v.type == SL_EXPR_ERROR) return v;
        return bool_value((v.type == SL_EXPR_NULL) != n->negate);
    }
    case OP_IN: {
        sl_expr_value a = eval(n->args[0], c);
        if (a.type != SL_EXPR_BOOL && a.type != SL_EXPR_INT && a.type != SL_EXPR_DOUBLE &&
            a.type != SL_EXPR_TEXT && a.type != SL_EXPR_TIMESTAMP)
            return a; /* null or error */
        a = convert(c, a, n->cmp, what_of(n->args[0]));
        if (a.type == SL_EXPR_ERROR) return a;
        bool saw_null = false;
        for (size_t i = 1; i < n->nargs; i++) {
            sl_expr_value b = eval(n->args[i], c);
            if (b.type == SL_EXPR_ERROR) return b;
            if (b.type == SL_EXPR_NULL) {
                saw_null = true;
                continue;
            }
            b = convert(c, b, n->cmp, "in value");
            if (b.type == SL_EXPR_ERROR) return b;
            if (cmp_values(&a, &b) == 0) return bool_value(!n->negate);
        }
        return saw_null ? NULLV : bool_value(n->negate);
    }
    case OP_STARTS_WITH: {
        sl_expr_value a = eval(n->args[0], c);
        if (a.type != SL_EXPR_TEXT) return a;
        sl_expr_value b = eval(n->args[1], c);
        if (b.type != SL_EXPR_TEXT) return b;
        return bool_value((a.len >= b.len && !memcmp(a.str, b.str, b.len)) != n->negate);
    }
    case OP_MATCHES: {
        sl_expr_value a = eval(n->args[0], c);
        if (a.type != SL_EXPR_TEXT) return a;
        int rc = pcre2_match(n->re, (PCRE2_SPTR)(a.str ? a.str : ""), a.len, 0, 0, n->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) return bool_value(n->negate);
        if (rc < 0) return error_value(c, "regex_error", "matches: PCRE2 error %d", rc);
        return bool_value(!n->negate);
    }
    case OP_CALL: return eval_call(n, c);
    }
    return NULLV;
}

sl_expr_value sl_expr_eval(const sl_expr *e, const sl_expr_ctx *ctx)
{
    return eval(e->root, ctx);
}

sl_sink_type sl_expr_sink_type(sl_expr_type t)
{
    switch (t) {
    case SL_EXPR_BOOL: return SL_SINK_BOOLEAN;
    case SL_EXPR_INT: return SL_SINK_BIGINT;
    case SL_EXPR_DOUBLE: return SL_SINK_DOUBLE;
    case SL_EXPR_TIMESTAMP: return SL_SINK_TIMESTAMP;
    default: return SL_SINK_TEXT;
    }
}

void sl_expr_to_sink(const sl_expr_value *v, sl_sink_value *out)
{
    memset(out, 0, sizeof *out);
    switch (v->type) {
    case SL_EXPR_BOOL: out->v.b = v->v.b; break;
    case SL_EXPR_INT:
    case SL_EXPR_TIMESTAMP: out->v.i64 = v->v.i; break;
    case SL_EXPR_DOUBLE: out->v.f64 = v->v.d; break;
    case SL_EXPR_TEXT:
        out->str = v->str ? v->str : "";
        out->len = v->len;
        break;
    default: out->null = true; break;
    }
}

sl_expr_value sl_expr_from_sink(const sl_sink_value *v, sl_sink_type t, sl_arena *arena)
{
    if (v->null) return NULLV;
    switch (t) {
    case SL_SINK_UUID: {
        char *o = sl_arena_alloc(arena, 37);
        static const char hex[] = "0123456789abcdef";
        size_t w = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) o[w++] = '-';
            o[w++] = hex[v->v.uuid[i] >> 4];
            o[w++] = hex[v->v.uuid[i] & 15];
        }
        return text_value(o, 36);
    }
    case SL_SINK_TEXT: return text_value(v->str ? v->str : "", v->len);
    case SL_SINK_INT:
    case SL_SINK_BIGINT: return (sl_expr_value){.type = SL_EXPR_INT, .v.i = v->v.i64};
    case SL_SINK_DOUBLE: return (sl_expr_value){.type = SL_EXPR_DOUBLE, .v.d = v->v.f64};
    case SL_SINK_BOOLEAN: return bool_value(v->v.b);
    case SL_SINK_TIMESTAMP: return (sl_expr_value){.type = SL_EXPR_TIMESTAMP, .v.i = v->v.i64};
    }
    return NULLV;
}
