/* config.c: YAML documents as trees with line numbers (libyaml's event parser), option tables
 * that parse, validate, default and document typed settings, and the command-line parser that
 * uses the same tables. Errors are collected, not stopped at, so an operator sees every problem
 * in a file at once. */
#include "core/config.h"
#include "core/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Deeper documents are refused: the tree is built and freed recursively. */
#define YAML_MAX_DEPTH 64
#define VALUE_ECHO_MAX 64 /* longest value quoted back in an error */

void sl_errs_add(sl_errs *e, const char *file, int line, const char *fmt, ...)
{
    sl_buf b = SL_BUF_INIT;
    if (file && line > 0)
        sl_buf_printf(&b, "%s:%d: ", file, line);
    else if (file)
        sl_buf_printf(&b, "%s: ", file);
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    e->msgs = sl_realloc(e->msgs, (e->n + 1) * sizeof *e->msgs);
    sl_buf_cstr(&b);
    e->msgs[e->n++] = (char *)b.ptr; /* the buffer, NUL-terminated, becomes the message */
}

void sl_errs_print(const sl_errs *e, FILE *out)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(out, "%s\n", e->msgs[i]);
}

void sl_errs_free(sl_errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        sl_free(e->msgs[i]);
    sl_free(e->msgs);
    e->msgs = NULL;
    e->n = 0;
}

/* The root node is allocated together with the file name every node points at, so freeing the
 * root frees the name. */
typedef struct yaml_root {
    sl_yaml node;
    char file[];
} yaml_root;

typedef struct loader {
    yaml_parser_t parser;
    const char *file;
    sl_errs *errs;
    int nerr;
} loader;

static sl_yaml *node_new(loader *L, sl_yaml_kind kind, const yaml_mark_t *mark)
{
    sl_yaml *y = sl_calloc(1, sizeof *y);
    y->kind = kind;
    y->line = (int)mark->line + 1;
    y->file = L->file;
    return y;
}

void sl_yaml_free(sl_yaml *y)
{
    if (!y) return;
    sl_free(y->scalar);
    for (size_t i = 0; i < y->n; i++) {
        if (y->keys) sl_free(y->keys[i]);
        sl_yaml_free(y->items[i]);
    }
    sl_free(y->keys);
    sl_free(y->key_lines);
    sl_free(y->items);
    sl_free(y);
}

static void load_error(loader *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void load_error(loader *L, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_errs_add(L->errs, L->file, line, "%s", msg);
    L->nerr++;
}

/* Reads the next event; a syntax error is reported and returns false. */
static bool next_event(loader *L, yaml_event_t *ev)
{
    if (yaml_parser_parse(&L->parser, ev)) return true;
    yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_READER_ERROR) {
        load_error(L, 0, "invalid text at byte %zu: %s", p->problem_offset, problem);
    } else if (p->context) {
        load_error(L, (int)p->problem_mark.line + 1, "syntax error: %s %s (line %d)", problem,
                   p->context, (int)p->context_mark.line + 1);
    } else {
        load_error(L, (int)p->problem_mark.line + 1, "syntax error: %s", problem);
    }
    return false;
}

static bool is_null_scalar(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.length == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
           !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static void append_child(sl_yaml *parent, char *key, int key_line, sl_yaml *child)
{
    size_t n = parent->n + 1;
    parent->items = sl_realloc(parent->items, n * sizeof *parent->items);
    parent->items[n - 1] = child;
    if (parent->kind == SL_YAML_MAP) {
        parent->keys = sl_realloc(parent->keys, n * sizeof *parent->keys);
        parent->key_lines = sl_realloc(parent->key_lines, n * sizeof *parent->key_lines);
        parent->keys[n - 1] = key;
        parent->key_lines[n - 1] = key_line;
    }
    parent->n = n;
}

/* Builds the node that starts with *ev (which it deletes). Returns NULL only after a syntax
 * error, when parsing cannot go on; other errors are counted and parsing continues so that
 * all of them are reported. */
static sl_yaml *load_node(loader *L, yaml_event_t *ev, int depth)
{
    sl_yaml *y = NULL;
    int line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        load_error(L, line, "aliases (*%s) are not supported", (const char *)ev->data.alias.anchor);
        y = node_new(L, SL_YAML_SCALAR, &ev->start_mark);
        yaml_event_delete(ev);
        return y;
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            load_error(L, line, "anchors (&%s) are not supported",
                       (const char *)ev->data.scalar.anchor);
        y = node_new(L, SL_YAML_SCALAR, &ev->start_mark);
        if (!is_null_scalar(ev))
            y->scalar = sl_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        yaml_event_delete(ev);
        return y;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: break;
    default:
        load_error(L, line, "unexpected YAML event");
        yaml_event_delete(ev);
        return NULL;
    }

    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (anchor) load_error(L, line, "anchors (&%s) are not supported", (const char *)anchor);
    y = node_new(L, is_map ? SL_YAML_MAP : SL_YAML_SEQ, &ev->start_mark);
    yaml_event_delete(ev);
    if (depth >= YAML_MAX_DEPTH) {
        load_error(L, line, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        sl_yaml_free(y);
        return NULL;
    }

    yaml_event_t e;
    for (;;) {
        if (!next_event(L, &e)) goto fail;
        if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&e);
            return y;
        }
        if (!is_map) {
            sl_yaml *child = load_node(L, &e, depth + 1);
            if (!child) goto fail;
            append_child(y, NULL, 0, child);
            continue;
        }
        /* A key: only scalars make sense as option names. */
        int key_line = (int)e.start_mark.line + 1;
        char *key = NULL;
        if (e.type == YAML_SCALAR_EVENT) {
            if (e.data.scalar.anchor)
                load_error(L, key_line, "anchors (&%s) are not supported",
                           (const char *)e.data.scalar.anchor);
            key = sl_strndup((const char *)e.data.scalar.value, e.data.scalar.length);
            if (!*key) load_error(L, key_line, "empty key");
            yaml_event_delete(&e);
        } else {
            sl_yaml *k = load_node(L, &e, depth + 1);
            if (!k) goto fail;
            if (k->kind == SL_YAML_SCALAR)
                load_error(L, key_line, "aliases cannot be keys");
            else
                load_error(L, key_line, "keys must be plain values, not a %s",
                           k->kind == SL_YAML_MAP ? "map" : "list");
            sl_yaml_free(k);
            key = sl_strdup("");
        }
        if (*key) {
            for (size_t i = 0; i < y->n; i++) {
                if (strcmp(y->keys[i], key) == 0) {
                    load_error(L, key_line, "%s: duplicate key (first at line %d)", key,
                               y->key_lines[i]);
                    break;
                }
            }
        }
        if (!next_event(L, &e)) {
            sl_free(key);
            goto fail;
        }
        sl_yaml *val = load_node(L, &e, depth + 1);
        if (!val) {
            sl_free(key);
            goto fail;
        }
        append_child(y, key, key_line, val);
    }
fail:
    sl_yaml_free(y);
    return NULL;
}

static sl_yaml *root_new(const char *name)
{
    size_t len = strlen(name);
    yaml_root *r = sl_calloc(1, sizeof *r + len + 1);
    memcpy(r->file, name, len + 1);
    r->node.file = r->file;
    r->node.kind = SL_YAML_MAP;
    r->node.line = 1;
    return &r->node;
}

/* Moves node's contents into root (keeping root's file name) and frees node. */
static void root_adopt(sl_yaml *root, sl_yaml *node)
{
    const char *file = root->file;
    *root = *node;
    root->file = file;
    sl_free(node);
}

/* Parses the stream that L's parser reads. */
static int load_stream(loader *L, sl_yaml **out)
{
    sl_yaml *root = root_new(L->file);
    L->file = root->file; /* nodes point at the root's copy of the name */
    yaml_event_t e;
    bool have_doc = false;
    for (;;) {
        if (!next_event(L, &e)) goto fail;
        yaml_event_type_t t = e.type;
        int line = (int)e.start_mark.line + 1;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&e);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&e);
            if (have_doc) {
                load_error(L, line, "more than one YAML document");
                goto fail;
            }
            have_doc = true;
            continue;
        }
        sl_yaml *node = load_node(L, &e, 0);
        if (!node) goto fail;
        /* A document that is only "---" or "~" is an empty configuration. */
        if (node->kind == SL_YAML_SCALAR && !node->scalar) {
            sl_yaml_free(node);
        } else {
            root_adopt(root, node);
        }
    }
    if (L->nerr) goto fail;
    *out = root;
    return 0;
fail:
    sl_yaml_free(root);
    *out = NULL;
    return SL_ERR_CONFIG;
}

int sl_yaml_load_str(const char *text, size_t len, const char *name, sl_yaml **out, sl_errs *errs)
{
    loader L = {.file = name ? name : "<string>", .errs = errs};
    if (!yaml_parser_initialize(&L.parser)) abort();
    yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, len);
    int rc = load_stream(&L, out);
    yaml_parser_delete(&L.parser);
    return rc;
}

int sl_yaml_load_file(const char *path, sl_yaml **out, sl_errs *errs)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        sl_errs_add(errs, path, 0, "cannot read: %s", strerror(errno));
        return SL_ERR_CONFIG;
    }
    loader L = {.file = path, .errs = errs};
    if (!yaml_parser_initialize(&L.parser)) abort();
    yaml_parser_set_input_file(&L.parser, f);
    int rc = load_stream(&L, out);
    yaml_parser_delete(&L.parser);
    if (ferror(f) && rc == 0) {
        sl_errs_add(errs, path, 0, "read error");
        sl_yaml_free(*out);
        *out = NULL;
        rc = SL_ERR_CONFIG;
    }
    fclose(f);
    return rc;
}

const sl_yaml *sl_yaml_get(const sl_yaml *map, const char *path)
{
    const sl_yaml *y = map;
    const char *p = path;
    while (y) {
        if (y->kind != SL_YAML_MAP) return NULL;
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        const sl_yaml *next = NULL;
        for (size_t i = 0; i < y->n; i++) {
            if (strlen(y->keys[i]) == len && memcmp(y->keys[i], p, len) == 0) {
                next = y->items[i];
                break;
            }
        }
        if (!dot || !next) return next;
        y = next;
        p = dot + 1;
    }
    return NULL;
}

static void *field(void *obj, const sl_opt *o)
{
    return (char *)obj + o->offset;
}

static bool is_string_type(sl_opt_type t)
{
    return t == SL_OPT_STR || t == SL_OPT_HOSTPORT || t == SL_OPT_ENUM;
}

static bool bounded(const sl_opt *o)
{
    return o->min != 0 || o->max != 0;
}

static const char *unit_of(const sl_opt *o)
{
    return o->type == SL_OPT_DURATION ? "ms" : o->type == SL_OPT_SIZE ? " bytes" : "";
}

/* Does value name one of the '|'-separated choices? */
static bool enum_has(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && memcmp(p, value, len) == 0) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static int parse_int(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s)) return SL_ERR_INVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return SL_ERR_INVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return SL_ERR_INVAL;
}

/* Parses value into o's field. On failure writes the reason alone (no key) into err. */
static int opt_set(const sl_opt *o, void *obj, const char *value, char *err, size_t errlen)
{
    int64_t n = 0;
    bool b = false;
    int rc = 0;
    const char *what = NULL;
    switch (o->type) {
    case SL_OPT_STR: break;
    case SL_OPT_INT:
        rc = parse_int(value, &n);
        what = "not an integer";
        break;
    case SL_OPT_BOOL:
        rc = parse_bool(value, &b);
        what = "not a boolean (use true/false, yes/no, on/off, 1/0)";
        break;
    case SL_OPT_DURATION:
        rc = sl_parse_duration_ms(value, &n);
        what = "bad duration (use e.g. 250ms, 30s, 5m, 2h, 7d)";
        break;
    case SL_OPT_SIZE:
        rc = sl_parse_size(value, &n);
        what = "bad size (use e.g. 512, 64k, 100MiB, 1g)";
        break;
    case SL_OPT_HOSTPORT: {
        char host[256];
        int port;
        rc = sl_hostport_parse(value, host, sizeof host, &port);
        what = "expected HOST:PORT (e.g. 127.0.0.1:9092 or [::1]:9092)";
        break;
    }
    case SL_OPT_ENUM:
        if (!enum_has(o->choices, value)) {
            snprintf(err, errlen, "'%.*s' is not one of %s", VALUE_ECHO_MAX, value,
                     o->choices ? o->choices : "(none)");
            return SL_ERR_CONFIG;
        }
        break;
    }
    if (rc) {
        snprintf(err, errlen, "'%.*s': %s", VALUE_ECHO_MAX, value, what);
        return SL_ERR_CONFIG;
    }
    if ((o->type == SL_OPT_INT || o->type == SL_OPT_DURATION || o->type == SL_OPT_SIZE) &&
        bounded(o) && (n < o->min || n > o->max)) {
        snprintf(err, errlen, "'%.*s' is out of range [%lld%s, %lld%s]", VALUE_ECHO_MAX, value,
                 (long long)o->min, unit_of(o), (long long)o->max, unit_of(o));
        return SL_ERR_CONFIG;
    }
    if (is_string_type(o->type)) {
        char **p = field(obj, o);
        sl_free(*p);
        *p = sl_strdup(value);
    } else if (o->type == SL_OPT_BOOL) {
        *(bool *)field(obj, o) = b;
    } else {
        *(int64_t *)field(obj, o) = n;
    }
    return 0;
}

static const sl_opt *opt_find(const sl_opt *tbl, const char *name)
{
    for (const sl_opt *o = tbl; o->name; o++)
        if (!strcmp(o->name, name)) return o;
    return NULL;
}

void sl_config_defaults(const sl_opt *tbl, void *obj)
{
    for (const sl_opt *o = tbl; o->name; o++) {
        if (is_string_type(o->type))
            *(char **)field(obj, o) = NULL;
        else if (o->type == SL_OPT_BOOL)
            *(bool *)field(obj, o) = false;
        else
            *(int64_t *)field(obj, o) = 0;
        if (!o->def) continue;
        char err[256];
        if (opt_set(o, obj, o->def, err, sizeof err) != 0) {
            /* A broken table is a programming error: fail loudly on first use. */
            fprintf(stderr, "sluice: bad default for option %s: %s\n", o->name, err);
            abort();
        }
    }
}

int sl_config_set(const sl_opt *tbl, void *obj, const char *name, const char *value, char *err,
                  size_t errlen)
{
    const sl_opt *o = opt_find(tbl, name);
    if (!o) {
        snprintf(err, errlen, "%s: unknown option", name);
        return SL_ERR_NOTFOUND;
    }
    char reason[256];
    if (opt_set(o, obj, value, reason, sizeof reason) != 0) {
        snprintf(err, errlen, "%s: %s", name, reason);
        return SL_ERR_CONFIG;
    }
    return 0;
}

/* Levenshtein distance, capped: only small distances matter for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = SL_MIN(SL_MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

static const sl_opt *suggest(const sl_opt *tbl, const char *name)
{
    const sl_opt *best = NULL;
    size_t best_d = SIZE_MAX;
    for (const sl_opt *o = tbl; o->name; o++) {
        size_t d = edit_distance(name, o->name);
        if (d < best_d) {
            best_d = d;
            best = o;
        }
    }
    size_t len = strlen(name);
    return best && best_d <= 2 && best_d * 3 <= len ? best : NULL;
}

static bool has_prefix_opt(const sl_opt *tbl, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const sl_opt *o = tbl; o->name; o++)
        if (!strncmp(o->name, prefix, len)) return true;
    return false;
}

static const char *kind_name(sl_yaml_kind k)
{
    return k == SL_YAML_MAP ? "a map" : k == SL_YAML_SEQ ? "a list" : "a value";
}

/* Applies map, whose keys are relative to prefix ("" or "tls."), and returns the errors added. */
static int apply_map(const sl_opt *tbl, void *obj, const sl_yaml *map, const char *section,
                     const char *prefix, sl_errs *errs)
{
    int nerr = 0;
    sl_buf rel = SL_BUF_INIT, full = SL_BUF_INIT;
    for (size_t i = 0; i < map->n; i++) {
        const sl_yaml *val = map->items[i];
        sl_buf_reset(&rel);
        sl_buf_printf(&rel, "%s%s", prefix, map->keys[i]);
        sl_buf_reset(&full);
        if (section) sl_buf_printf(&full, "%s.", section);
        sl_buf_printf(&full, "%s", sl_buf_cstr(&rel));
        const char *name = sl_buf_cstr(&rel), *fname = sl_buf_cstr(&full);

        const sl_opt *o = opt_find(tbl, name);
        if (o) {
            char reason[256];
            if (val->kind != SL_YAML_SCALAR) {
                sl_errs_add(errs, map->file, val->line, "%s: expected a value, got %s", fname,
                            kind_name(val->kind));
                nerr++;
            } else if (!val->scalar) {
                sl_errs_add(errs, map->file, val->line, "%s: missing value", fname);
                nerr++;
            } else if (opt_set(o, obj, val->scalar, reason, sizeof reason) != 0) {
                sl_errs_add(errs, map->file, val->line, "%s: %s", fname, reason);
                nerr++;
            }
            continue;
        }
        sl_buf_append_str(&rel, ".");
        if (has_prefix_opt(tbl, sl_buf_cstr(&rel))) {
            if (val->kind == SL_YAML_MAP) {
                char *sub = sl_strdup(sl_buf_cstr(&rel));
                nerr += apply_map(tbl, obj, val, section, sub, errs);
                sl_free(sub);
            } else {
                sl_errs_add(errs, map->file, val->line, "%s: expected a map, got %s", fname,
                            val->kind == SL_YAML_SCALAR ? "a value" : "a list");
                nerr++;
            }
            continue;
        }
        rel.len--; /* drop the '.' again */
        const sl_opt *s = suggest(tbl, sl_buf_cstr(&rel));
        if (s)
            sl_errs_add(errs, map->file, map->key_lines[i], "%s: unknown key (did you mean '%s'?)",
                        fname, s->name);
        else
            sl_errs_add(errs, map->file, map->key_lines[i], "%s: unknown key", fname);
        nerr++;
    }
    sl_buf_free(&rel);
    sl_buf_free(&full);
    return nerr;
}

int sl_config_apply(const sl_opt *tbl, void *obj, const sl_yaml *map, const char *section,
                    sl_errs *errs)
{
    if (!map) return 0;
    if (map->kind != SL_YAML_MAP) {
        sl_errs_add(errs, map->file, map->line, "%s: expected a map, got %s",
                    section ? section : "(top level)", kind_name(map->kind));
        return 1;
    }
    return apply_map(tbl, obj, map, section, "", errs);
}

void sl_config_free(const sl_opt *tbl, void *obj)
{
    for (const sl_opt *o = tbl; o->name; o++) {
        if (!is_string_type(o->type)) continue;
        char **p = field(obj, o);
        sl_free(*p);
        *p = NULL;
    }
}

static const char *metavar(const sl_opt *o)
{
    switch (o->type) {
    case SL_OPT_STR: return "VALUE";
    case SL_OPT_INT: return "N";
    case SL_OPT_BOOL: return NULL;
    case SL_OPT_DURATION: return "DURATION";
    case SL_OPT_SIZE: return "SIZE";
    case SL_OPT_HOSTPORT: return "HOST:PORT";
    case SL_OPT_ENUM: return o->choices;
    }
    return "VALUE";
}

/* "--data-dir DIR": option names use '_' where flags use '-'. */
static void flag_text(const sl_opt *o, char *out, size_t outlen)
{
    const char *mv = metavar(o);
    int n = snprintf(out, outlen, "--%s%s%s", o->name, mv ? " " : "", mv ? mv : "");
    for (int i = 2; i < n && i < (int)outlen && out[i] != ' '; i++)
        if (out[i] == '_') out[i] = '-';
}

void sl_config_help(const sl_opt *tbl, FILE *out)
{
    int width = 0;
    char flag[128];
    for (const sl_opt *o = tbl; o->name; o++) {
        flag_text(o, flag, sizeof flag);
        width = SL_MAX(width, (int)strlen(flag));
    }
    for (const sl_opt *o = tbl; o->name; o++) {
        flag_text(o, flag, sizeof flag);
        fprintf(out, "  %-*s  %s", width, flag, o->help ? o->help : "");
        if (o->def) fprintf(out, " (default: %s)", o->def);
        fputc('\n', out);
    }
}

/* Finds the option a flag names, treating '-' and '_' alike. */
static const sl_opt *flag_find(const sl_opt *tbl, const char *name, size_t len)
{
    for (const sl_opt *o = tbl; o->name; o++) {
        if (strlen(o->name) != len) continue;
        size_t i = 0;
        for (; i < len; i++) {
            char a = name[i] == '-' ? '_' : name[i];
            char b = o->name[i] == '-' ? '_' : o->name[i];
            if (a != b) break;
        }
        if (i == len) return o;
    }
    return NULL;
}

int sl_args_parse(const sl_opt *tbl, void *obj, const char *cmd, const char *usage, int argc,
                  char **argv, int *argi)
{
    int i = *argi;
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') break; /* a positional argument ("-" is stdin) */
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("Usage: sluice %s\n", usage ? usage : cmd);
            if (tbl->name) {
                printf("\nOptions:\n");
                sl_config_help(tbl, stdout);
            }
            *argi = i + 1;
            return 1;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const sl_opt *o = flag_find(tbl, name, len);
        if (!o) {
            fprintf(stderr, "sluice %s: unknown flag '%.*s' (try 'sluice %s --help')\n", cmd,
                    (int)(name - a + len), a, cmd);
            *argi = i;
            return SL_ERR_INVAL;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (o->type == SL_OPT_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "sluice %s: %s needs a value\n", cmd, a);
            *argi = i;
            return SL_ERR_INVAL;
        }
        char reason[256];
        if (opt_set(o, obj, value, reason, sizeof reason) != 0) {
            fprintf(stderr, "sluice %s: %.*s: %s\n", cmd, (int)(name - a + len), a, reason);
            *argi = i;
            return SL_ERR_INVAL;
        }
        i++;
    }
    *argi = i;
    return 0;
}
