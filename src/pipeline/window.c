/* window.c: windowed GROUP BY state (window.h). Open windows live in an open-addressing hash
 * table (linear probing, backward-shift deletion) keyed by (encoded group values, window
 * start); a slot holds the entry's hash and pointer, so a probe reads an entry only once the
 * hash matched, and growing never reads the entries. The group values are encoded once into
 * bytes (a type tag, then the value) that serve as the hash key, the equality test, the output
 * columns' source and the saved form. An entry is one allocation: its header, each aggregate's
 * state at an offset fixed by the spec and only as large as its kind needs (8 bytes for
 * count(), 40 for count_distinct, whose first two values need no allocation), then the key. */
#include "pipeline/window.h"
#include "core/codec.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "pipeline/hll.h"
#include "pipeline/transform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG         "window"
#define MAX_GROUPS  16
#define MAX_AGGS    32
#define STATE_MAGIC 0x534c574eu /* "SLWN" */
#define STATE_VER   2           /* 2: a generation, and the log beside the snapshot */
#define MAX_KEY     65536       /* bytes of one encoded group */

typedef enum { AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG, AGG_COUNT_DISTINCT } agg_kind;

static const char *const agg_names[] = {"count", "sum", "min", "max", "avg", "count_distinct"};

typedef struct agg_spec {
    char *name;
    agg_kind kind;
    sl_expr *arg; /* NULL: count() */
    char *src;    /* the argument's text */
    int same_as;  /* an earlier aggregate with the same argument (evaluated once), or -1 */
    sl_expr_type argtype;
    int col;              /* the argument is this column alone (read directly), or -1 */
    sl_sink_type coltype; /* its type */
    uint32_t off;         /* of its state in an entry's states */
} agg_spec;

typedef struct opts {
    char *table;
    int64_t size_ms, hop_ms, lateness_ms;
    char *late;
    char *time;
} opts;

static const sl_opt window_opts[] = {
    {"table", SL_OPT_STR, NULL, offsetof(opts, table), "result table, KS.TABLE", NULL, 0, 0},
    {"size", SL_OPT_DURATION, "1m", offsetof(opts, size_ms), "window length", NULL, 1,
     366LL * 86400000},
    {"hop", SL_OPT_DURATION, "0", offsetof(opts, hop_ms),
     "distance between window starts (0: size, tumbling)", NULL, 0, 366LL * 86400000},
    {"lateness", SL_OPT_DURATION, "0", offsetof(opts, lateness_ms),
     "how far behind the largest event time a record may be", NULL, 0, 366LL * 86400000},
    {"late", SL_OPT_ENUM, "dlq", offsetof(opts, late), "what a late record does", "dlq|count", 0,
     0},
    {"time", SL_OPT_STR, "kafka", offsetof(opts, time),
     "event time: kafka (the record timestamp) or a timestamp expression", NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

struct sl_window_spec {
    opts o;
    sl_expr *time; /* NULL: the Kafka timestamp */
    char *gnames[MAX_GROUPS];
    sl_expr *gexprs[MAX_GROUPS];
    sl_expr_type gtypes[MAX_GROUPS];
    int gcols[MAX_GROUPS]; /* as agg_spec's col */
    sl_sink_type gcoltypes[MAX_GROUPS];
    size_t ngroups;
    agg_spec aggs[MAX_AGGS];
    size_t naggs;
    sl_sink_column *cols;
    size_t ncols;
    size_t statebytes;    /* of all aggregates' states in an entry */
    uint64_t fingerprint; /* of everything above: a saved state fits only its own spec */
};

/* Each state starts with n, the values counted (non-null): count() and count(x) need no more. */
typedef struct sum_state { /* sum, avg */
    int64_t n;
    union {
        int64_t i;
        double d; /* avg, and sum of a double */
    } sum;
} sum_state;

typedef struct mm_state { /* min, max: the value held once n > 0 */
    int64_t n;
    union {
        int64_t i;
        double d;
        bool b;
        char *text; /* malloc'd, len bytes and a NUL */
    } v;
    uint32_t len;
    uint8_t type; /* sl_expr_type */
} mm_state;

typedef struct cd_state { /* count_distinct */
    int64_t n;
    sl_hll hll;
} cd_state;

static const uint32_t state_size[] = {
    [AGG_COUNT] = sizeof(int64_t), [AGG_SUM] = sizeof(sum_state),
    [AGG_MIN] = sizeof(mm_state),  [AGG_MAX] = sizeof(mm_state),
    [AGG_AVG] = sizeof(sum_state), [AGG_COUNT_DISTINCT] = sizeof(cd_state),
};

typedef struct entry {
    uint64_t hash;
    int64_t start;
    uint32_t keylen; /* encoded group values, after the states */
    bool dirty;      /* updated since the last write */
    bool unsaved;    /* updated since the last checkpoint */
    bool closing;    /* emitted as closed by sl_window_rows: freed by sl_window_written */
    _Alignas(8) uint8_t states[];
} entry;

typedef struct slot {
    uint64_t hash;
    entry *e; /* NULL: empty */
} slot;

/* A record whose windows are not updated yet: with many groups, finding a window is two cache
 * misses (its slot, then its entry), so sl_window_add prefetches the slot and leaves the update
 * to a later call, by which time the slot (and, prefetched halfway, the entry) is in cache.
 * A small table is in cache anyway: there records are applied at once, without the copies.
 * Everything that can refuse a record is decided before it is queued; every other entry point
 * applies the queue first, so the delay is never seen. */
#define PIPE      8
#define PIPE_FROM 65536 /* windows held: below, the table is in cache and records apply at once */

/* Closed windows one sl_window_rows call returns at most. When the watermark passes a minute
 * with a million groups, the million closed rows go out over many batches instead of in one,
 * whose rows (and the sink's request for them) would take a gigabyte and stall the pipeline
 * for as long as the store takes to write them. */
#define CLOSED_MAX 16384

typedef struct pending {
    sl_buf key;        /* the encoded group values */
    sl_buf text;       /* copies of the text arguments of min/max, which the update keeps */
    uint64_t hash;     /* of key and the newest window start */
    int64_t start;     /* the newest window start */
    uint32_t nwindows; /* windows to update: start, start - hop, ... */
    sl_expr_value args[MAX_AGGS];
    uint64_t dhash[MAX_AGGS];
} pending;

struct sl_window {
    const sl_window_spec *spec;
    slot *slots; /* a power of two, at most three quarters full */
    size_t nslots, nentries;
    entry *last;    /* the entry the previous record updated: consecutive records often share it */
    int64_t max_ts; /* INT64_MIN before the first record */
    uint64_t late, missing_ts;
    size_t bytes;   /* held by the entries, kept up to date as they change */
    int64_t oldest; /* the smallest window start held (INT64_MAX: none) */
    entry **dirty;  /* entries updated since the last write, each once */
    size_t ndirty, dirtycap;
    entry **unsaved; /* entries updated since the last checkpoint, each once */
    size_t nunsaved, unsavedcap;
    sl_buf removed; /* (start, key) of the entries freed since the last checkpoint */
    uint64_t nremoved;
    uint64_t gen;                 /* of the snapshot the log follows */
    size_t snap_bytes, log_bytes; /* their sizes */
    bool log_ok;                  /* deltas may be appended (else the next save is a snapshot) */
    bool swept;                   /* sl_window_rows looked at every entry for closed windows */
    bool sum_overflow_logged;
    pending *pend; /* a ring of PIPE, allocated with the first record */
    size_t pend_head, npend;
    sl_buf keybuf;
    sl_buf textbuf; /* the key column being formatted */
    /* The decimal text of the window start formatted last: the rows of one batch mostly share
     * a start, and formatting it was a quarter of a row's cost with a million groups. */
    int64_t start_text_of;
    bool start_text_valid;
    uint8_t start_text_len;
    char start_text[24];
    sl_arena rowarena;
    sl_sink_value *rows;
    entry **rowentries; /* the entry of each row */
    size_t nrows, rowcap;
};

/* The spec */

static bool name_taken(const sl_window_spec *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (!strcmp(s->cols[i].name, name)) return true;
    return false;
}

static void add_col(sl_window_spec *s, const char *name, sl_sink_type t)
{
    s->cols[s->ncols++] = (sl_sink_column){name, t};
}

static int parse_agg(sl_window_spec *s, const char *name, const sl_yaml *v,
                     const sl_sink_column *cols, size_t ncols, sl_errs *errs)
{
    if (v->kind != SL_YAML_SCALAR || !v->scalar) {
        sl_errs_add(errs, v->file, v->line,
                    "pipeline.window.aggregates.%s: expected FUNCTION(expression)", name);
        return -1;
    }
    const char *src = v->scalar, *open = strchr(src, '('), *close = strrchr(src, ')');
    size_t fl = open ? (size_t)(open - src) : 0;
    while (fl && src[fl - 1] == ' ')
        fl--;
    int kind = -1;
    for (size_t k = 0; open && k < SL_ARRAY_LEN(agg_names); k++)
        if (strlen(agg_names[k]) == fl && !strncmp(agg_names[k], src, fl)) kind = (int)k;
    const char *tail = close ? close + 1 : NULL;
    while (tail && *tail == ' ')
        tail++;
    if (kind < 0 || !close || close < open || *tail) {
        sl_errs_add(errs, v->file, v->line,
                    "pipeline.window.aggregates.%s: expected count(), count(x), sum(x), min(x), "
                    "max(x), avg(x) or count_distinct(x)",
                    name);
        return -1;
    }
    agg_spec *a = &s->aggs[s->naggs];
    a->kind = (agg_kind)kind;
    char *inner = sl_strndup(open + 1, (size_t)(close - open - 1));
    bool empty = strspn(inner, " ") == strlen(inner);
    if (empty && kind != AGG_COUNT) {
        sl_errs_add(errs, v->file, v->line, "pipeline.window.aggregates.%s: %s needs an argument",
                    name, agg_names[kind]);
        sl_free(inner);
        return -1;
    }
    a->col = -1;
    if (!empty) {
        char err[256];
        if (sl_expr_compile(inner, cols, ncols, &a->arg, err, sizeof err)) {
            sl_errs_add(errs, v->file, v->line, "pipeline.window.aggregates.%s: %s(...): %s", name,
                        agg_names[kind], err);
            sl_free(inner);
            return -1;
        }
        a->argtype = sl_expr_result_type(a->arg);
        a->col = sl_expr_field(a->arg, &a->coltype);
        bool num = a->argtype == SL_EXPR_INT || a->argtype == SL_EXPR_DOUBLE;
        if ((kind == AGG_SUM || kind == AGG_AVG) && !num) {
            sl_errs_add(errs, v->file, v->line,
                        "pipeline.window.aggregates.%s: %s of %s (it needs a number)", name,
                        agg_names[kind], sl_expr_type_name(a->argtype));
            sl_expr_free(a->arg);
            a->arg = NULL;
            sl_free(inner);
            return -1;
        }
    }
    a->same_as = -1;
    for (size_t k = 0; k < s->naggs && a->arg; k++)
        if (s->aggs[k].src && !strcmp(s->aggs[k].src, inner)) {
            a->same_as = (int)k;
            break;
        }
    a->src = inner;
    a->name = sl_strdup(name);
    s->naggs++;
    return 0;
}

static sl_sink_type agg_type(const agg_spec *a)
{
    switch (a->kind) {
    case AGG_COUNT:
    case AGG_COUNT_DISTINCT: return SL_SINK_BIGINT;
    case AGG_AVG: return SL_SINK_DOUBLE;
    default: return sl_expr_sink_type(a->argtype);
    }
}

int sl_window_spec_from_yaml(const sl_yaml *y, const sl_sink_column *cols, size_t ncols,
                             sl_window_spec **out, sl_errs *errs)
{
    size_t n0 = errs->n;
    *out = NULL;
    if (!y || y->kind != SL_YAML_MAP) {
        sl_errs_add(errs, y ? y->file : "?", y ? y->line : 0, "pipeline.window: expected a map");
        return SL_ERR_CONFIG;
    }
    sl_window_spec *s = sl_calloc(1, sizeof *s);
    sl_config_defaults(window_opts, &s->o);
    sl_yaml scalars = *y;
    scalars.keys = sl_calloc(y->n + 1, sizeof *scalars.keys);
    scalars.key_lines = sl_calloc(y->n + 1, sizeof *scalars.key_lines);
    scalars.items = sl_calloc(y->n + 1, sizeof *scalars.items);
    scalars.n = 0;
    const sl_yaml *group = NULL, *aggs = NULL;
    int time_line = y->line, hop_line = y->line;
    for (size_t i = 0; i < y->n; i++) {
        if (!strcmp(y->keys[i], "group_by")) {
            group = y->items[i];
        } else if (!strcmp(y->keys[i], "aggregates")) {
            aggs = y->items[i];
        } else {
            if (!strcmp(y->keys[i], "time")) time_line = y->items[i]->line;
            if (!strcmp(y->keys[i], "hop")) hop_line = y->items[i]->line;
            scalars.keys[scalars.n] = y->keys[i];
            scalars.key_lines[scalars.n] = y->key_lines[i];
            scalars.items[scalars.n++] = y->items[i];
        }
    }
    sl_config_apply(window_opts, &s->o, &scalars, "pipeline.window", errs);
    sl_free(scalars.keys);
    sl_free(scalars.key_lines);
    sl_free(scalars.items);
    if (!s->o.table || !*s->o.table)
        sl_errs_add(errs, y->file, y->line, "pipeline.window.table: required (KS.TABLE)");
    if (s->o.hop_ms == 0) s->o.hop_ms = s->o.size_ms;
    if (s->o.hop_ms > s->o.size_ms || (s->o.size_ms && s->o.size_ms % s->o.hop_ms))
        sl_errs_add(errs, y->file, hop_line,
                    "pipeline.window.hop: must divide size (every record in size/hop windows)");
    if (s->o.time && strcmp(s->o.time, "kafka")) {
        char err[256];
        if (sl_expr_compile(s->o.time, cols, ncols, &s->time, err, sizeof err))
            sl_errs_add(errs, y->file, time_line, "pipeline.window.time: %s", err);
        else if (sl_expr_result_type(s->time) != SL_EXPR_TIMESTAMP)
            sl_errs_add(errs, y->file, time_line,
                        "pipeline.window.time: the expression is %s, not a timestamp (use "
                        "parse_ts)",
                        sl_expr_type_name(sl_expr_result_type(s->time)));
    }
    size_t ng = group ? group->n : 0, na = aggs ? aggs->n : 0;
    s->cols = sl_calloc(ng + na + 4, sizeof *s->cols);
    add_col(s, "key", SL_SINK_TEXT);
    if (!group || (group->kind != SL_YAML_SEQ && group->kind != SL_YAML_MAP) || group->n == 0 ||
        group->n > MAX_GROUPS) {
        sl_errs_add(errs, group ? group->file : y->file, group ? group->line : y->line,
                    "pipeline.window.group_by: expected a list of columns or a map of name: "
                    "expression (1 to %d)",
                    MAX_GROUPS);
    } else {
        for (size_t i = 0; i < group->n; i++) {
            const sl_yaml *v = group->items[i];
            const char *name = group->kind == SL_YAML_MAP ? group->keys[i] : v->scalar;
            if (v->kind != SL_YAML_SCALAR || !v->scalar || !name) {
                sl_errs_add(errs, v->file, v->line, "pipeline.window.group_by: expected a name");
                continue;
            }
            if (!sl_transform_column_name_ok(name) || name_taken(s, name)) {
                sl_errs_add(errs, v->file, v->line,
                            "pipeline.window.group_by.%s: not a lower-case identifier, or taken",
                            name);
                continue;
            }
            char err[256];
            sl_expr *e;
            if (sl_expr_compile(v->scalar, cols, ncols, &e, err, sizeof err)) {
                sl_errs_add(errs, v->file, v->line, "pipeline.window.group_by.%s: %s", name, err);
                continue;
            }
            s->gnames[s->ngroups] = sl_strdup(name);
            s->gexprs[s->ngroups] = e;
            s->gtypes[s->ngroups] = sl_expr_result_type(e);
            s->gcols[s->ngroups] = sl_expr_field(e, &s->gcoltypes[s->ngroups]);
            add_col(s, s->gnames[s->ngroups], sl_expr_sink_type(s->gtypes[s->ngroups]));
            s->ngroups++;
        }
    }
    add_col(s, "window_start", SL_SINK_TIMESTAMP);
    add_col(s, "window_end", SL_SINK_TIMESTAMP);
    if (!aggs || aggs->kind != SL_YAML_MAP || aggs->n == 0 || aggs->n > MAX_AGGS) {
        sl_errs_add(errs, aggs ? aggs->file : y->file, aggs ? aggs->line : y->line,
                    "pipeline.window.aggregates: expected a map of column: FUNCTION(expression) "
                    "(1 to %d)",
                    MAX_AGGS);
    } else {
        for (size_t i = 0; i < aggs->n; i++) {
            if (!sl_transform_column_name_ok(aggs->keys[i]) || name_taken(s, aggs->keys[i]) ||
                !strcmp(aggs->keys[i], "closed")) {
                sl_errs_add(errs, aggs->file, aggs->key_lines[i],
                            "pipeline.window.aggregates.%s: not a lower-case identifier, or taken",
                            aggs->keys[i]);
                continue;
            }
            if (parse_agg(s, aggs->keys[i], aggs->items[i], cols, ncols, errs) == 0)
                add_col(s, s->aggs[s->naggs - 1].name, agg_type(&s->aggs[s->naggs - 1]));
        }
    }
    add_col(s, "closed", SL_SINK_BOOLEAN);
    for (size_t i = 0; i < s->naggs; i++) {
        s->aggs[i].off = (uint32_t)s->statebytes;
        s->statebytes += state_size[s->aggs[i].kind];
    }
    if (errs->n > n0) {
        sl_window_spec_free(s);
        return SL_ERR_CONFIG;
    }
    sl_buf fp = SL_BUF_INIT;
    sl_buf_printf(&fp, "%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%s", s->o.table, s->o.size_ms,
                  s->o.hop_ms, s->o.lateness_ms, s->o.late, s->o.time);
    for (size_t i = 0; i < group->n; i++)
        sl_buf_printf(&fp, "|g:%s=%s", s->gnames[i], group->items[i]->scalar);
    for (size_t i = 0; i < aggs->n; i++)
        sl_buf_printf(&fp, "|a:%s=%s", aggs->keys[i], aggs->items[i]->scalar);
    s->fingerprint = sl_hll_hash(fp.ptr, fp.len);
    sl_buf_free(&fp);
    *out = s;
    return 0;
}

void sl_window_spec_free(sl_window_spec *s)
{
    if (!s) return;
    sl_config_free(window_opts, &s->o);
    sl_expr_free(s->time);
    for (size_t i = 0; i < s->ngroups; i++) {
        sl_free(s->gnames[i]);
        sl_expr_free(s->gexprs[i]);
    }
    for (size_t i = 0; i < s->naggs; i++) {
        sl_free(s->aggs[i].name);
        sl_free(s->aggs[i].src);
        sl_expr_free(s->aggs[i].arg);
    }
    sl_free(s->cols);
    sl_free(s);
}

const char *sl_window_spec_table(const sl_window_spec *s)
{
    return s->o.table;
}

const sl_sink_column *sl_window_spec_columns(const sl_window_spec *s, size_t *ncols)
{
    *ncols = s->ncols;
    return s->cols;
}

char *sl_window_sink_url(const char *sink, const char *table)
{
    sl_buf b = SL_BUF_INIT;
    const char *scheme = strstr(sink, "://");
    if (!strncmp(sink, "cql://", 6) && scheme) {
        const char *path = strchr(scheme + 3, '/'), *query = strchr(scheme + 3, '?');
        if (query && path && path > query) path = NULL;
        size_t hostend = path    ? (size_t)(path - sink)
                         : query ? (size_t)(query - sink)
                                 : strlen(sink);
        sl_buf_append(&b, sink, hostend);
        sl_buf_printf(&b, "/%s%s", table, query ? query : "");
    } else {
        /* postgresql://...: replace or add table= */
        const char *q = strchr(sink, '?');
        sl_buf_append(&b, sink, q ? (size_t)(q - sink) : strlen(sink));
        char sep = '?';
        for (const char *p = q ? q + 1 : NULL; p && *p;) {
            const char *amp = strchr(p, '&');
            size_t n = amp ? (size_t)(amp - p) : strlen(p);
            if (strncmp(p, "table=", 6)) {
                sl_buf_printf(&b, "%c%.*s", sep, (int)n, p);
                sep = '&';
            }
            p = amp ? amp + 1 : p + n;
        }
        sl_buf_printf(&b, "%ctable=%s", sep, table);
    }
    char *s = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    return s;
}

/* Values: the group encoding */

/* The bytes encode_value writes for v. */
static size_t encoded_len(const sl_expr_value *v)
{
    switch (v->type) {
    case SL_EXPR_BOOL: return 2;
    case SL_EXPR_INT:
    case SL_EXPR_TIMESTAMP:
    case SL_EXPR_DOUBLE: return 9;
    case SL_EXPR_TEXT: return 5 + v->len;
    default: return 1;
    }
}

/* Writes v tagged with its type at p (encoded_len(v) bytes): the byte form of group keys and
 * distinct-count inputs. Returns the end. */
static uint8_t *encode_at(uint8_t *p, const sl_expr_value *v)
{
    *p++ = (uint8_t)v->type;
    switch (v->type) {
    case SL_EXPR_BOOL: *p++ = v->v.b; break;
    case SL_EXPR_INT:
    case SL_EXPR_TIMESTAMP:
        sl_put_be64(p, (uint64_t)v->v.i);
        p += 8;
        break;
    case SL_EXPR_DOUBLE: {
        uint64_t bits;
        double d = v->v.d == 0 ? 0 : v->v.d; /* -0 and 0 are one group */
        memcpy(&bits, &d, 8);
        sl_put_be64(p, bits);
        p += 8;
        break;
    }
    case SL_EXPR_TEXT:
        sl_put_be32(p, (uint32_t)v->len);
        if (v->len) memcpy(p + 4, v->str, v->len);
        p += 4 + v->len;
        break;
    default: break;
    }
    return p;
}

/* Appends v's encoding to b: one reservation, per record and group value. */
static void encode_value(sl_buf *b, const sl_expr_value *v)
{
    encode_at(sl_buf_extend(b, encoded_len(v)), v);
}

static int decode_value(sl_rd *rd, sl_expr_value *v)
{
    uint8_t t;
    memset(v, 0, sizeof *v);
    if (sl_rd_u8(rd, &t)) return -1;
    v->type = (sl_expr_type)t;
    switch (v->type) {
    case SL_EXPR_NULL: return 0;
    case SL_EXPR_BOOL: {
        uint8_t x;
        if (sl_rd_u8(rd, &x)) return -1;
        v->v.b = x != 0;
        return 0;
    }
    case SL_EXPR_INT:
    case SL_EXPR_TIMESTAMP:
    case SL_EXPR_DOUBLE: {
        uint64_t x;
        if (sl_rd_be64(rd, &x)) return -1;
        if (v->type == SL_EXPR_DOUBLE)
            memcpy(&v->v.d, &x, 8);
        else
            v->v.i = (int64_t)x;
        return 0;
    }
    case SL_EXPR_TEXT: {
        uint32_t n;
        sl_slice s;
        if (sl_rd_be32(rd, &n) || sl_rd_bytes(rd, n, &s)) return -1;
        v->str = (const char *)s.ptr;
        v->len = n;
        return 0;
    }
    default: return -1;
    }
}

/* The state */

sl_window *sl_window_new(const sl_window_spec *spec)
{
    sl_window *w = sl_calloc(1, sizeof *w);
    w->spec = spec;
    w->nslots = 1024;
    w->slots = sl_calloc(w->nslots, sizeof *w->slots);
    w->max_ts = INT64_MIN;
    w->oldest = INT64_MAX;
    sl_buf_init(&w->keybuf);
    sl_buf_init(&w->textbuf);
    sl_buf_init(&w->removed);
    sl_arena_init(&w->rowarena, 64 * 1024);
    return w;
}

static void *state_of(const sl_window *w, const entry *e, size_t i)
{
    return (uint8_t *)e->states + w->spec->aggs[i].off;
}

static uint8_t *entry_key(const sl_window *w, const entry *e)
{
    return (uint8_t *)e->states + w->spec->statebytes;
}

static bool is_mm(agg_kind k)
{
    return k == AGG_MIN || k == AGG_MAX;
}

/* The bytes an aggregate's state holds outside the entry. */
static size_t state_extra(const sl_window *w, const entry *e, size_t i)
{
    agg_kind k = w->spec->aggs[i].kind;
    if (k == AGG_COUNT_DISTINCT) return sl_hll_bytes(&((const cd_state *)state_of(w, e, i))->hll);
    if (!is_mm(k)) return 0;
    const mm_state *m = state_of(w, e, i);
    return m->type == SL_EXPR_TEXT && m->v.text ? m->len + 1 : 0;
}

static size_t entry_bytes(const sl_window *w, const entry *e)
{
    size_t n = sizeof *e + w->spec->statebytes + e->keylen;
    for (size_t i = 0; i < w->spec->naggs; i++)
        n += state_extra(w, e, i);
    return n;
}

static void free_entry(sl_window *w, entry *e)
{
    if (w->last == e) w->last = NULL;
    w->bytes -= entry_bytes(w, e);
    for (size_t i = 0; i < w->spec->naggs; i++) {
        agg_kind k = w->spec->aggs[i].kind;
        if (k == AGG_COUNT_DISTINCT) sl_hll_free(&((cd_state *)state_of(w, e, i))->hll);
        if (is_mm(k) && ((mm_state *)state_of(w, e, i))->type == SL_EXPR_TEXT)
            sl_free(((mm_state *)state_of(w, e, i))->v.text);
    }
    sl_free(e);
}

void sl_window_free(sl_window *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nslots; i++)
        if (w->slots[i].e) free_entry(w, w->slots[i].e);
    sl_free(w->slots);
    if (w->pend)
        for (size_t i = 0; i < PIPE; i++) {
            sl_buf_free(&w->pend[i].key);
            sl_buf_free(&w->pend[i].text);
        }
    sl_free(w->pend);
    sl_buf_free(&w->keybuf);
    sl_buf_free(&w->textbuf);
    sl_arena_free(&w->rowarena);
    sl_free(w->rows);
    sl_free(w->rowentries);
    sl_free(w->dirty);
    sl_free(w->unsaved);
    sl_buf_free(&w->removed);
    sl_free(w);
}

static uint64_t entry_hash(const uint8_t *key, size_t keylen, int64_t start)
{
    return sl_hll_hash(key, keylen) ^ ((uint64_t)start * 0x9e3779b97f4a7c15ull);
}

/* Rehashing reads the slots alone: the hashes are there, the entries stay where they are. */
static void grow(sl_window *w)
{
    size_t n = w->nslots * 2;
    slot *t = sl_calloc(n, sizeof *t);
    for (size_t i = 0; i < w->nslots; i++) {
        if (!w->slots[i].e) continue;
        size_t j = w->slots[i].hash & (n - 1);
        while (t[j].e)
            j = (j + 1) & (n - 1);
        t[j] = w->slots[i];
    }
    sl_free(w->slots);
    w->slots = t;
    w->nslots = n;
}

/* Group keys are short (a tag, a length, a few bytes): compared a word at a time inline, where
 * a call to memcmp cost as much as the comparison. */
static bool key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x, y;
    if (n < 8) {
        for (; n; a++, b++, n--)
            if (*a != *b) return false;
        return true;
    }
    for (; n > 8; a += 8, b += 8, n -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return false;
    }
    /* the last 8 bytes, overlapping what was compared */
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

static bool entry_is(const sl_window *w, const entry *e, const uint8_t *key, size_t keylen,
                     int64_t start)
{
    return e->start == start && e->keylen == keylen && key_eq(entry_key(w, e), key, keylen);
}

/* The slot holding (key, start), or the empty slot ending its probe sequence. */
static size_t probe(const sl_window *w, uint64_t h, const uint8_t *key, size_t keylen,
                    int64_t start)
{
    size_t mask = w->nslots - 1, i = h & mask;
    for (; w->slots[i].e; i = (i + 1) & mask)
        if (w->slots[i].hash == h && entry_is(w, w->slots[i].e, key, keylen, start)) break;
    return i;
}

/* Empties slot i and moves later entries of its run back so no probe sequence is cut
 * (backward-shift deletion: no tombstones). */
static void clear_slot(sl_window *w, size_t i)
{
    size_t mask = w->nslots - 1;
    for (size_t j = (i + 1) & mask; w->slots[j].e; j = (j + 1) & mask) {
        size_t home = w->slots[j].hash & mask;
        /* j's entry may fill hole i unless its home lies cyclically in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            w->slots[i] = w->slots[j];
            i = j;
        }
    }
    w->slots[i] = (slot){0, NULL};
}

/* Unlinks e from the table (the caller frees it). */
static void unlink_entry(sl_window *w, const entry *e)
{
    size_t mask = w->nslots - 1, i = e->hash & mask;
    while (w->slots[i].e != e)
        i = (i + 1) & mask;
    clear_slot(w, i);
    w->nentries--;
}

/* The entry of (key, start), whose entry_hash is h, added empty if there is none. */
static entry *find_or_add_h(sl_window *w, const uint8_t *key, size_t keylen, int64_t start,
                            uint64_t h)
{
    if (w->last && w->last->hash == h && entry_is(w, w->last, key, keylen, start)) return w->last;
    size_t at = probe(w, h, key, keylen, start);
    if (w->slots[at].e) return w->last = w->slots[at].e;
    if (4 * (w->nentries + 1) > 3 * w->nslots) {
        grow(w);
        at = probe(w, h, key, keylen, start);
    }
    size_t size = sizeof(entry) + w->spec->statebytes + keylen;
    entry *e = sl_calloc(1, size);
    e->hash = h;
    e->start = start;
    e->keylen = (uint32_t)keylen;
    memcpy(entry_key(w, e), key, keylen);
    if (start < w->oldest) w->oldest = start;
    /* calloc'd: every state starts at zero, an empty sketch included (sl_hll_init) */
    w->bytes += size;
    w->slots[at] = (slot){h, e};
    w->nentries++;
    return w->last = e;
}

/* find_or_add_h, hashing only when the entry is not the previous record's. */
static entry *find_or_add(sl_window *w, const uint8_t *key, size_t keylen, int64_t start)
{
    if (w->last && entry_is(w, w->last, key, keylen, start)) return w->last;
    return find_or_add_h(w, key, keylen, start, entry_hash(key, keylen, start));
}

static int cmp_mm(const sl_expr_value *a, const sl_expr_value *b)
{
    switch (a->type) {
    case SL_EXPR_DOUBLE: return a->v.d < b->v.d ? -1 : a->v.d > b->v.d;
    case SL_EXPR_TEXT: {
        int r = memcmp(a->str, b->str, SL_MIN(a->len, b->len));
        return r ? r : a->len < b->len ? -1 : a->len > b->len;
    }
    case SL_EXPR_BOOL: return (int)a->v.b - (int)b->v.b;
    default: return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    }
}

static sl_expr_value mm_value(const mm_state *m)
{
    sl_expr_value v = {.type = (sl_expr_type)m->type};
    switch (v.type) {
    case SL_EXPR_TEXT:
        v.str = m->v.text;
        v.len = m->len;
        break;
    case SL_EXPR_BOOL: v.v.b = m->v.b; break;
    case SL_EXPR_DOUBLE: v.v.d = m->v.d; break;
    default: v.v.i = m->v.i;
    }
    return v;
}

static void set_mm(sl_window *w, mm_state *m, const sl_expr_value *v)
{
    if (m->type == SL_EXPR_TEXT && m->v.text) {
        w->bytes -= m->len + 1;
        sl_free(m->v.text);
    }
    m->type = (uint8_t)v->type;
    m->len = 0;
    switch (v->type) {
    case SL_EXPR_TEXT:
        m->v.text = sl_strndup(v->str ? v->str : "", v->len);
        m->len = (uint32_t)v->len;
        w->bytes += v->len + 1;
        break;
    case SL_EXPR_BOOL: m->v.b = v->v.b; break;
    case SL_EXPR_DOUBLE: m->v.d = v->v.d; break;
    default: m->v.i = v->v.i;
    }
}

static void update(sl_window *w, entry *e, const sl_expr_value *args, const uint64_t *dhash)
{
    if (!e->dirty) {
        if (w->ndirty == w->dirtycap) {
            w->dirtycap = w->dirtycap ? w->dirtycap * 2 : 256;
            w->dirty = sl_realloc(w->dirty, w->dirtycap * sizeof *w->dirty);
        }
        w->dirty[w->ndirty++] = e;
        e->dirty = true;
    }
    if (!e->unsaved) {
        if (w->nunsaved == w->unsavedcap) {
            w->unsavedcap = w->unsavedcap ? w->unsavedcap * 2 : 256;
            w->unsaved = sl_realloc(w->unsaved, w->unsavedcap * sizeof *w->unsaved);
        }
        w->unsaved[w->nunsaved++] = e;
        e->unsaved = true;
    }
    for (size_t i = 0; i < w->spec->naggs; i++) {
        const agg_spec *a = &w->spec->aggs[i];
        void *st = state_of(w, e, i);
        const sl_expr_value *v = &args[i];
        if (a->arg && v->type == SL_EXPR_NULL) continue; /* aggregates skip nulls, as in SQL */
        switch (a->kind) {
        case AGG_SUM:
        case AGG_AVG: {
            sum_state *s = st;
            s->n++;
            if (v->type == SL_EXPR_INT && a->kind == AGG_SUM) {
                if (__builtin_add_overflow(s->sum.i, v->v.i, &s->sum.i)) {
                    s->sum.i = v->v.i > 0 ? INT64_MAX : INT64_MIN;
                    if (!w->sum_overflow_logged)
                        SL_WARN(LOG, "sum %s overflows 64 bits: it stays at the limit", a->name);
                    w->sum_overflow_logged = true;
                }
            } else {
                s->sum.d += v->type == SL_EXPR_INT ? (double)v->v.i : v->v.d;
            }
            break;
        }
        case AGG_MIN:
        case AGG_MAX: {
            mm_state *m = st;
            if (m->n == 0) {
                set_mm(w, m, v);
            } else if (v->type == SL_EXPR_INT && m->type == SL_EXPR_INT) {
                if (a->kind == AGG_MIN ? v->v.i < m->v.i : v->v.i > m->v.i) m->v.i = v->v.i;
            } else {
                sl_expr_value cur = mm_value(m);
                int c = cmp_mm(v, &cur);
                if (a->kind == AGG_MIN ? c < 0 : c > 0) set_mm(w, m, v);
            }
            m->n++;
            break;
        }
        case AGG_COUNT_DISTINCT: {
            cd_state *c = st;
            size_t before = sl_hll_bytes(&c->hll);
            c->n++;
            sl_hll_add(&c->hll, dhash[i]);
            w->bytes += sl_hll_bytes(&c->hll) - before;
            break;
        }
        default: ++*(int64_t *)st; break;
        }
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static sl_win_result refuse(const sl_expr_value *v, const char *what, const char **reason,
                            char *detail, size_t detaillen)
{
    *reason = v->reason;
    snprintf(detail, detaillen, "window %s: %s", what, v->str);
    return SL_WIN_REFUSE;
}

/* Updates the windows of the oldest queued record. */
static void apply_oldest(sl_window *w)
{
    const sl_window_spec *s = w->spec;
    pending *p = &w->pend[w->pend_head];
    if (w->npend > PIPE / 2) {
        /* The slot of the record PIPE / 2 behind was prefetched when it was queued: its entry
         * now, so both are in cache by its turn. */
        const pending *q = &w->pend[(w->pend_head + PIPE / 2) % PIPE];
        const slot *sl = &w->slots[q->hash & (w->nslots - 1)];
        if (sl->e && sl->hash == q->hash) __builtin_prefetch(sl->e);
    }
    for (uint32_t k = 0; k < p->nwindows; k++) {
        int64_t start = p->start - (int64_t)k * s->o.hop_ms;
        entry *e = k ? find_or_add(w, p->key.ptr, p->key.len, start)
                     : find_or_add_h(w, p->key.ptr, p->key.len, start, p->hash);
        update(w, e, p->args, p->dhash);
    }
    w->pend_head = (w->pend_head + 1) % PIPE;
    w->npend--;
}

/* Applies every queued record: before the state is read or written. */
static void drain(sl_window *w)
{
    while (w->npend)
        apply_oldest(w);
}

/* Queues the record in w->keybuf (its key, keylen bytes) for nwindows windows from start down,
 * applying the oldest if the queue is full, and prefetches its slot. */
static void enqueue(sl_window *w, size_t keylen, int64_t start, uint32_t nwindows,
                    const sl_expr_value *args, const uint64_t *dhash)
{
    const sl_window_spec *s = w->spec;
    if (!w->pend) w->pend = sl_calloc(PIPE, sizeof *w->pend);
    if (w->npend == PIPE) apply_oldest(w);
    pending *p = &w->pend[(w->pend_head + w->npend++) % PIPE];
    sl_buf_reset(&p->key);
    sl_buf_append(&p->key, w->keybuf.ptr, keylen);
    p->start = start;
    p->nwindows = nwindows;
    p->hash = entry_hash(p->key.ptr, keylen, start);
    memcpy(p->args, args, s->naggs * sizeof *args);
    memcpy(p->dhash, dhash, s->naggs * sizeof *dhash);
    /* min and max keep a text value: it is copied, as the row it points into may go first */
    sl_buf_reset(&p->text);
    for (size_t i = 0; i < s->naggs; i++)
        if (is_mm(s->aggs[i].kind) && args[i].type == SL_EXPR_TEXT)
            sl_buf_append(&p->text, args[i].str, args[i].len);
    for (size_t i = 0, off = 0; i < s->naggs; i++)
        if (is_mm(s->aggs[i].kind) && args[i].type == SL_EXPR_TEXT) {
            p->args[i].str = (const char *)p->text.ptr + off;
            off += args[i].len;
        }
    __builtin_prefetch(&w->slots[p->hash & (w->nslots - 1)]);
}

/* Evaluates e over the record; a bare field reference (col >= 0) is read from the row without
 * the evaluator: group keys and aggregate arguments are mostly plain columns. */
static sl_expr_value value_of(const sl_expr *e, int col, sl_sink_type t, const sl_expr_ctx *c)
{
    if (col < 0) return sl_expr_eval(e, c);
    const sl_sink_value *v = &c->row[col];
    if (v->null) return (sl_expr_value){.type = SL_EXPR_NULL};
    switch (t) {
    case SL_SINK_TEXT:
        return (sl_expr_value){.type = SL_EXPR_TEXT, .str = v->str ? v->str : "", .len = v->len};
    case SL_SINK_INT:
    case SL_SINK_BIGINT: return (sl_expr_value){.type = SL_EXPR_INT, .v.i = v->v.i64};
    default: return sl_expr_from_sink(v, t, c->arena);
    }
}

sl_win_result sl_window_add(sl_window *w, const sl_sink_value *row, const void *raw, size_t rawlen,
                            int64_t kafka_ts, sl_arena *scratch, const char **reason, char *detail,
                            size_t detaillen)
{
    const sl_window_spec *s = w->spec;
    sl_expr_ctx c = {.row = row, .raw = raw, .rawlen = rawlen, .arena = scratch, .now_ms = 0};
    int64_t ts = kafka_ts;
    if (s->time) {
        sl_expr_value v = sl_expr_eval(s->time, &c);
        if (v.type == SL_EXPR_ERROR) return refuse(&v, "time", reason, detail, detaillen);
        ts = v.type == SL_EXPR_TIMESTAMP ? v.v.i : -1;
        if (v.type == SL_EXPR_NULL) ts = INT64_MIN;
    }
    if ((!s->time && ts < 0) || ts == INT64_MIN) {
        w->missing_ts++;
        *reason = "missing_timestamp";
        snprintf(detail, detaillen, "window time: %s", s->time ? "null" : "no Kafka timestamp");
        return SL_WIN_REFUSE;
    }
    /* Everything that can fail is evaluated before the state changes. */
    sl_buf_reset(&w->keybuf);
    for (size_t i = 0; i < s->ngroups; i++) {
        sl_expr_value v = value_of(s->gexprs[i], s->gcols[i], s->gcoltypes[i], &c);
        if (v.type == SL_EXPR_ERROR) return refuse(&v, s->gnames[i], reason, detail, detaillen);
        encode_value(&w->keybuf, &v);
    }
    if (w->keybuf.len > MAX_KEY) {
        *reason = "invalid_argument";
        snprintf(detail, detaillen, "window group_by: values over %d bytes", MAX_KEY);
        return SL_WIN_REFUSE;
    }
    sl_expr_value args[MAX_AGGS];
    uint64_t dhash[MAX_AGGS];
    size_t keylen = w->keybuf.len;
    for (size_t i = 0; i < s->naggs; i++) {
        args[i] = (sl_expr_value){.type = SL_EXPR_NULL};
        if (!s->aggs[i].arg) continue;
        const agg_spec *a = &s->aggs[i];
        args[i] = a->same_as >= 0 ? args[a->same_as] : value_of(a->arg, a->col, a->coltype, &c);
        if (args[i].type == SL_EXPR_ERROR)
            return refuse(&args[i], s->aggs[i].name, reason, detail, detaillen);
        if (s->aggs[i].kind == AGG_COUNT_DISTINCT && args[i].type != SL_EXPR_NULL) {
            /* Hashed in its encoded form, on the stack unless it is long. */
            uint8_t tmp[128];
            size_t n = encoded_len(&args[i]);
            uint8_t *at = n <= sizeof tmp ? tmp : sl_buf_extend(&w->keybuf, n);
            encode_at(at, &args[i]);
            dhash[i] = sl_hll_hash(at, n);
            w->keybuf.len = keylen;
        }
    }
    int64_t wm = w->max_ts == INT64_MIN ? INT64_MIN : w->max_ts - s->o.lateness_ms;
    int64_t last = floor_div(ts, s->o.hop_ms) * s->o.hop_ms;
    uint32_t nwindows = 0;
    for (int64_t start = last; start > ts - s->o.size_ms; start -= s->o.hop_ms) {
        if (wm != INT64_MIN && start + s->o.size_ms <= wm) break; /* older ones closed too */
        nwindows++;
    }
    if (ts > w->max_ts) w->max_ts = ts;
    if (nwindows && w->nentries < PIPE_FROM && !w->npend) {
        for (uint32_t k = 0; k < nwindows; k++)
            update(w, find_or_add(w, w->keybuf.ptr, keylen, last - (int64_t)k * s->o.hop_ms), args,
                   dhash);
        return SL_WIN_OK;
    }
    if (nwindows) {
        enqueue(w, keylen, last, nwindows, args, dhash);
        return SL_WIN_OK;
    }
    w->late++;
    if (!strcmp(s->o.late, "count")) return SL_WIN_OK;
    *reason = "late_record";
    snprintf(detail, detaillen, "window: event time %" PRId64 " ms behind the watermark", wm - ts);
    return SL_WIN_REFUSE;
}

/* Writes v in decimal into out (no NUL) and returns its length: the key column is formatted
 * once per updated window, and vfprintf was a visible share of that with a million groups. */
static size_t fmt_decimal(char out[21], int64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp, n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) out[n++] = '-';
    memcpy(out + n, tmp + i, sizeof tmp - i);
    return n + sizeof tmp - i;
}

static void put_decimal(sl_buf *b, int64_t v)
{
    char t[21];
    sl_buf_append(b, t, fmt_decimal(t, v));
}

/* Writes the key column: the group values as text and the window start, '|'-separated. */
static void key_text(sl_window *w, sl_buf *b, const sl_expr_value *gv, size_t ng, int64_t start)
{
    for (size_t i = 0; i < ng; i++) {
        const sl_expr_value *v = &gv[i];
        switch (v->type) {
        case SL_EXPR_NULL: sl_buf_append_str(b, "\\N"); break;
        case SL_EXPR_BOOL: sl_buf_append_str(b, v->v.b ? "true" : "false"); break;
        case SL_EXPR_INT:
        case SL_EXPR_TIMESTAMP: put_decimal(b, v->v.i); break;
        case SL_EXPR_DOUBLE: sl_buf_printf(b, "%.17g", v->v.d); break;
        default:
            /* runs without '|' or '\\' in one append each */
            for (size_t k = 0, run = 0; k <= v->len; k++) {
                if (k < v->len && v->str[k] != '|' && v->str[k] != '\\') continue;
                sl_buf_append(b, v->str + run, k - run);
                if (k < v->len) sl_buf_append(b, "\\", 1);
                run = k;
            }
        }
        sl_buf_append(b, "|", 1);
    }
    if (!w->start_text_valid || w->start_text_of != start) {
        w->start_text_len = (uint8_t)fmt_decimal(w->start_text, start);
        w->start_text_of = start;
        w->start_text_valid = true;
    }
    sl_buf_append(b, w->start_text, w->start_text_len);
}

static void emit(sl_window *w, entry *e, bool closed)
{
    const sl_window_spec *s = w->spec;
    if (w->nrows == w->rowcap) {
        w->rowcap = w->rowcap ? w->rowcap * 2 : 64;
        w->rows = sl_realloc(w->rows, w->rowcap * s->ncols * sizeof *w->rows);
        w->rowentries = sl_realloc(w->rowentries, w->rowcap * sizeof *w->rowentries);
    }
    w->rowentries[w->nrows] = e;
    sl_sink_value *r = &w->rows[w->nrows++ * s->ncols];
    memset(r, 0, s->ncols * sizeof *r);
    sl_expr_value gv[MAX_GROUPS];
    sl_rd rd;
    sl_rd_init(&rd, entry_key(w, e), e->keylen);
    for (size_t i = 0; i < s->ngroups; i++)
        decode_value(&rd, &gv[i]);
    sl_buf *kb = &w->textbuf;
    sl_buf_reset(kb);
    key_text(w, kb, gv, s->ngroups, e->start);
    char *k = sl_arena_strndup(&w->rowarena, (const char *)kb->ptr, kb->len);
    r[0] = (sl_sink_value){.str = k, .len = kb->len};
    size_t c = 1;
    for (size_t i = 0; i < s->ngroups; i++)
        sl_expr_to_sink(&gv[i], &r[c++]);
    r[c++].v.i64 = e->start;
    r[c++].v.i64 = e->start + s->o.size_ms;
    for (size_t i = 0; i < s->naggs; i++, c++) {
        const void *st = state_of(w, e, i);
        const sum_state *ss = st;
        switch (s->aggs[i].kind) {
        case AGG_COUNT: r[c].v.i64 = *(const int64_t *)st; break;
        case AGG_COUNT_DISTINCT:
            r[c].v.i64 = (int64_t)sl_hll_estimate(&((const cd_state *)st)->hll);
            break;
        case AGG_SUM:
            if (!ss->n)
                r[c].null = true;
            else if (s->aggs[i].argtype == SL_EXPR_INT)
                r[c].v.i64 = ss->sum.i;
            else
                r[c].v.f64 = ss->sum.d;
            break;
        case AGG_AVG:
            /* avg accumulates in a double whatever its argument's type */
            if (!ss->n)
                r[c].null = true;
            else
                r[c].v.f64 = ss->sum.d / (double)ss->n;
            break;
        case AGG_MIN:
        case AGG_MAX: {
            const mm_state *m = st;
            if (!m->n) {
                r[c].null = true;
            } else {
                sl_expr_value v = mm_value(m);
                sl_expr_to_sink(&v, &r[c]);
                if (v.type == SL_EXPR_TEXT) r[c].str = sl_arena_strndup(&w->rowarena, v.str, v.len);
            }
            break;
        }
        }
    }
    r[c].v.b = closed;
    e->closing = closed;
}

size_t sl_window_rows(sl_window *w, const sl_sink_value **rows)
{
    const sl_window_spec *s = w->spec;
    drain(w);
    w->nrows = 0;
    sl_arena_reset(&w->rowarena);
    int64_t wm = w->max_ts == INT64_MIN ? INT64_MIN : w->max_ts - s->o.lateness_ms;
    /* Only the updated windows, unless the watermark passed the oldest window's end: then a
     * sweep of every entry finds the closed ones (once per window period, not per batch). */
    w->swept = w->oldest != INT64_MAX && wm != INT64_MIN && w->oldest + s->o.size_ms <= wm;
    if (!w->swept) {
        for (size_t i = 0; i < w->ndirty; i++)
            emit(w, w->dirty[i], false);
    } else {
        w->oldest = INT64_MAX;
        size_t nclosed = 0;
        for (size_t b = 0; b < w->nslots; b++) {
            entry *e = w->slots[b].e;
            if (!e) continue;
            bool closed = e->start + s->o.size_ms <= wm;
            /* Past CLOSED_MAX a closed window waits for a later call: oldest stays at or
             * below its start, so the next call sweeps again. */
            if (closed && nclosed == CLOSED_MAX) {
                if (e->start < w->oldest) w->oldest = e->start;
                continue;
            }
            if (closed || e->dirty) emit(w, e, closed);
            nclosed += closed;
            if (!closed && e->start < w->oldest) w->oldest = e->start;
        }
    }
    *rows = w->rows;
    return w->nrows;
}

void sl_window_written(sl_window *w)
{
    drain(w);
    /* Every dirty window was emitted, but for closed ones a sweep left for a later call
     * (CLOSED_MAX): the next sweep emits those, dirty or not. */
    for (size_t i = 0; i < w->ndirty; i++)
        w->dirty[i]->dirty = false;
    w->ndirty = 0;
    if (w->swept) {
        /* The unsaved list is rebuilt without the freed entries, which are noted as removed. */
        w->nunsaved = 0;
        for (size_t b = 0; b < w->nslots; b++) {
            entry *e = w->slots[b].e;
            if (e && !e->closing && e->unsaved) w->unsaved[w->nunsaved++] = e;
        }
        /* The closed ones are the rows just written (a deletion moves slots, so it does not
         * run inside the sweep above). */
        for (size_t r = 0; r < w->nrows; r++) {
            entry *e = w->rowentries[r];
            if (!e->closing) continue;
            sl_buf_put_be64(&w->removed, (uint64_t)e->start);
            sl_buf_put_be32(&w->removed, e->keylen);
            sl_buf_append(&w->removed, entry_key(w, e), e->keylen);
            w->nremoved++;
            unlink_entry(w, e);
            free_entry(w, e);
        }
        w->swept = false;
    }
    w->nrows = 0;
}

void sl_window_stats_get(sl_window *w, sl_window_stats *st)
{
    drain(w);
    st->late = w->late;
    st->missing_timestamp = w->missing_ts;
    st->windows = w->nentries;
    st->bytes = w->bytes + w->nslots * sizeof *w->slots;
}

/* Saving and loading.
 *
 * A snapshot (path) holds the whole state, replaced atomically; a log (path.log) holds deltas
 * appended after it: per checkpoint, the windows updated and those freed since the previous
 * one, so a checkpoint costs the groups a batch touched, not all groups held. A delta is
 * [be32 length][body][be32 crc32c of body] and names the snapshot generation it follows; a
 * load replays the deltas of its snapshot's generation in order and stops at a torn tail (a
 * checkpoint that never completed, whose offsets were never committed). Once the log would
 * outgrow the snapshot, the next checkpoint writes a new snapshot of the next generation, then
 * replaces the log with an empty one (a crash between the two leaves deltas of the old
 * generation, which are skipped). */

static void put_entry(const sl_window *w, sl_buf *b, const entry *e)
{
    const sl_window_spec *s = w->spec;
    sl_buf_put_be64(b, (uint64_t)e->start);
    sl_buf_put_be32(b, e->keylen);
    sl_buf_append(b, entry_key(w, e), e->keylen);
    /* per aggregate: n, the sum's 8 bytes (0 unless sum or avg), whether a min/max value
     * follows and the value, the sketch of a count_distinct */
    for (size_t i = 0; i < s->naggs; i++) {
        const void *st = state_of(w, e, i);
        agg_kind kind = s->aggs[i].kind;
        uint64_t sum = 0;
        if (kind == AGG_SUM || kind == AGG_AVG) memcpy(&sum, &((const sum_state *)st)->sum, 8);
        bool has = is_mm(kind) && *(const int64_t *)st > 0;
        sl_buf_put_be64(b, (uint64_t)(*(const int64_t *)st));
        sl_buf_put_be64(b, sum);
        sl_buf_put_u8(b, has);
        if (has) {
            sl_expr_value v = mm_value(st);
            encode_value(b, &v);
        }
        if (kind == AGG_COUNT_DISTINCT) sl_hll_save(&((const cd_state *)st)->hll, b);
    }
}

static void put_header(const sl_window *w, sl_buf *b, const int64_t *offs, size_t noffs)
{
    sl_buf_put_be64(b, (uint64_t)w->max_ts);
    sl_buf_put_be64(b, w->late);
    sl_buf_put_be64(b, w->missing_ts);
    sl_buf_put_be32(b, (uint32_t)noffs);
    for (size_t i = 0; i < noffs; i++)
        sl_buf_put_be64(b, (uint64_t)offs[i]);
}

static void remove_entry(sl_window *w, const uint8_t *key, size_t keylen, int64_t start)
{
    size_t i = probe(w, entry_hash(key, keylen, start), key, keylen, start);
    entry *e = w->slots[i].e;
    if (!e) return;
    clear_slot(w, i);
    w->nentries--;
    free_entry(w, e);
}

/* Reads one entry as put_entry wrote it, replacing any held for the same key and start. */
static int get_entry(sl_window *w, sl_rd *rd)
{
    const sl_window_spec *s = w->spec;
    uint64_t start;
    uint32_t keylen;
    sl_slice key;
    if (sl_rd_be64(rd, &start) || sl_rd_be32(rd, &keylen) || sl_rd_bytes(rd, keylen, &key))
        return -1;
    remove_entry(w, key.ptr, keylen, (int64_t)start);
    entry *e = find_or_add(w, key.ptr, keylen, (int64_t)start);
    for (size_t i = 0; i < s->naggs; i++) {
        void *st = state_of(w, e, i);
        agg_kind kind = s->aggs[i].kind;
        uint64_t cnt, sum;
        uint8_t has;
        if (sl_rd_be64(rd, &cnt) || sl_rd_be64(rd, &sum) || sl_rd_u8(rd, &has)) return -1;
        if ((int64_t)cnt < 0 || (has && !is_mm(kind)) || (is_mm(kind) && !has != !cnt)) return -1;
        *(int64_t *)st = (int64_t)cnt;
        if (kind == AGG_SUM || kind == AGG_AVG) memcpy(&((sum_state *)st)->sum, &sum, 8);
        if (has) {
            sl_expr_value v;
            if (decode_value(rd, &v)) return -1;
            set_mm(w, st, &v);
        }
        if (kind == AGG_COUNT_DISTINCT) {
            cd_state *c = st;
            if (sl_hll_load(&c->hll, rd)) return -1;
            w->bytes += sl_hll_bytes(&c->hll);
        }
    }
    return 0;
}

static int get_header(sl_window *w, sl_rd *rd, int64_t **offs, size_t *noffs)
{
    uint64_t maxts, late, miss;
    uint32_t nof;
    if (sl_rd_be64(rd, &maxts) || sl_rd_be64(rd, &late) || sl_rd_be64(rd, &miss) ||
        sl_rd_be32(rd, &nof) || nof > sl_rd_left(rd) / 8)
        return -1;
    sl_free(*offs);
    *offs = sl_malloc((nof ? nof : 1) * sizeof **offs);
    for (uint32_t i = 0; i < nof; i++) {
        uint64_t o = 0;
        sl_rd_be64(rd, &o);
        (*offs)[i] = (int64_t)o;
    }
    *noffs = nof;
    w->max_ts = (int64_t)maxts;
    w->late = late;
    w->missing_ts = miss;
    return 0;
}

static void saved(sl_window *w)
{
    for (size_t i = 0; i < w->nunsaved; i++)
        w->unsaved[i]->unsaved = false;
    w->nunsaved = 0;
    sl_buf_reset(&w->removed);
    w->nremoved = 0;
}

struct sl_window_ckpt {
    char *path, *logpath;
    bool snapshot;
    sl_buf buf;
    uint64_t log_off; /* a delta: its place in the log */
};

sl_window_ckpt *sl_window_checkpoint(sl_window *w, const char *path, const int64_t *offs,
                                     size_t noffs)
{
    drain(w);
    sl_window_ckpt *c = sl_calloc(1, sizeof *c);
    size_t plen = strlen(path);
    c->path = sl_strdup(path);
    c->logpath = sl_malloc(plen + 5);
    memcpy(c->logpath, path, plen);
    memcpy(c->logpath + plen, ".log", 5);
    sl_buf *b = &c->buf;
    if (w->log_ok) {
        sl_buf_put_be32(b, 0); /* the body's length, set below */
        sl_buf_put_be64(b, w->gen);
        put_header(w, b, offs, noffs);
        sl_buf_put_be64(b, w->nremoved);
        sl_buf_append(b, w->removed.ptr, w->removed.len);
        sl_buf_put_be64(b, w->nunsaved);
        for (size_t i = 0; i < w->nunsaved; i++)
            put_entry(w, b, w->unsaved[i]);
        sl_put_be32(b->ptr, (uint32_t)(b->len - 4));
        sl_buf_put_be32(b, sl_crc32c(0, b->ptr + 4, b->len - 4));
    }
    if (!w->log_ok || w->log_bytes + b->len > w->snap_bytes) {
        c->snapshot = true;
        sl_buf_reset(b);
        sl_buf_put_be32(b, STATE_MAGIC);
        sl_buf_put_be32(b, STATE_VER);
        sl_buf_put_be64(b, w->spec->fingerprint);
        sl_buf_put_be64(b, w->gen + 1);
        put_header(w, b, offs, noffs);
        sl_buf_put_be64(b, w->nentries);
        for (size_t k = 0; k < w->nslots; k++)
            if (w->slots[k].e) put_entry(w, b, w->slots[k].e);
        sl_buf_put_be32(b, sl_crc32c(0, b->ptr, b->len));
        w->gen++;
        w->snap_bytes = b->len;
        w->log_bytes = 0;
        w->log_ok = true;
    } else {
        c->log_off = w->log_bytes;
        w->log_bytes += b->len;
    }
    saved(w);
    return c;
}

int sl_window_ckpt_write(sl_window_ckpt *c, char *err, size_t errlen)
{
    if (c->snapshot) {
        int rc = sl_write_file_atomic(c->path, c->buf.ptr, c->buf.len, 0644, true);
        const char *which = c->path;
        if (!rc) {
            rc = sl_write_file_atomic(c->logpath, "", 0, 0644, true);
            which = c->logpath;
        }
        if (rc) snprintf(err, errlen, "%s: %s", which, strerror(-rc));
        return rc;
    }
    /* At its offset, not appended: a retry after a partial write rewrites the same bytes. */
    int fd = open(c->logpath, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "%s: %s", c->logpath, strerror(-rc));
        return rc;
    }
    int rc = 0;
    for (size_t done = 0; done < c->buf.len;) {
        ssize_t n = pwrite(fd, c->buf.ptr + done, c->buf.len - done, (off_t)(c->log_off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (!rc && fdatasync(fd)) rc = -errno;
    close(fd);
    if (rc) snprintf(err, errlen, "%s: %s", c->logpath, strerror(-rc));
    return rc;
}

size_t sl_window_ckpt_bytes(const sl_window_ckpt *c)
{
    return c->buf.len;
}

void sl_window_ckpt_free(sl_window_ckpt *c)
{
    if (!c) return;
    sl_buf_free(&c->buf);
    sl_free(c->path);
    sl_free(c->logpath);
    sl_free(c);
}

int sl_window_save(sl_window *w, const char *path, const int64_t *offs, size_t noffs, char *err,
                   size_t errlen)
{
    sl_window_ckpt *c = sl_window_checkpoint(w, path, offs, noffs);
    int rc = sl_window_ckpt_write(c, err, errlen);
    sl_window_ckpt_free(c);
    if (rc) w->log_ok = false; /* the changes it held go into the next one, a snapshot */
    return rc;
}

static int read_file(const char *path, sl_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sl_buf_append(b, chunk, n);
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    return rc;
}

/* Replays the log's deltas of generation w->gen; a torn or damaged tail ends it. */
static void replay_log(sl_window *w, const char *logpath, int64_t **offs, size_t *noffs)
{
    sl_buf b = SL_BUF_INIT;
    size_t good = 0;
    int rrc = read_file(logpath, &b);
    if (rrc == 0) {
        sl_rd rd;
        sl_rd_init(&rd, b.ptr, b.len);
        for (;;) {
            uint32_t len;
            sl_slice body;
            uint32_t crc;
            if (sl_rd_be32(&rd, &len) || sl_rd_bytes(&rd, len, &body) || sl_rd_be32(&rd, &crc) ||
                crc != sl_crc32c(0, body.ptr, body.len))
                break;
            sl_rd br;
            sl_rd_init(&br, body.ptr, body.len);
            uint64_t gen, nrem, nupd;
            if (sl_rd_be64(&br, &gen)) break;
            if (gen != w->gen) { /* an older generation's, left by a crash: skipped */
                good = (size_t)(rd.p - b.ptr);
                continue;
            }
            if (get_header(w, &br, offs, noffs) || sl_rd_be64(&br, &nrem)) break;
            bool bad = false;
            for (uint64_t k = 0; k < nrem && !bad; k++) {
                uint64_t start;
                uint32_t keylen;
                sl_slice key;
                bad = sl_rd_be64(&br, &start) || sl_rd_be32(&br, &keylen) ||
                      sl_rd_bytes(&br, keylen, &key);
                if (!bad) remove_entry(w, key.ptr, keylen, (int64_t)start);
            }
            if (bad || sl_rd_be64(&br, &nupd)) break;
            for (uint64_t k = 0; k < nupd && !bad; k++)
                bad = get_entry(w, &br) != 0;
            if (bad || sl_rd_left(&br)) break;
            good = (size_t)(rd.p - b.ptr);
            w->log_bytes = good;
        }
    }
    if (good != b.len)
        SL_WARN(LOG, "%s: %zu byte(s) after the last whole checkpoint ignored", logpath,
                b.len - good);
    /* Appending after a torn tail would hide the new deltas: the next save is a snapshot. */
    w->log_ok = rrc == 0 && good == b.len && b.len == w->log_bytes;
    sl_buf_free(&b);
}

int sl_window_load(sl_window *w, const char *path, int64_t **offs, size_t *noffs, char *err,
                   size_t errlen)
{
    const sl_window_spec *s = w->spec;
    drain(w);
    *offs = NULL;
    *noffs = 0;
    sl_buf b = SL_BUF_INIT;
    int rc = read_file(path, &b);
    if (rc) {
        sl_buf_free(&b);
        if (rc == -ENOENT) return SL_ERR_NOTFOUND;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    rc = SL_ERR_CORRUPT;
    sl_rd rd;
    uint32_t magic, ver;
    uint64_t fp, nent, gen = 0;
    if (b.len < 8 || sl_get_be32(b.ptr + b.len - 4) != sl_crc32c(0, b.ptr, b.len - 4)) {
        snprintf(err, errlen, "%s: damaged (checksum)", path);
        goto out;
    }
    sl_rd_init(&rd, b.ptr, b.len - 4);
    if (sl_rd_be32(&rd, &magic) || sl_rd_be32(&rd, &ver) || magic != STATE_MAGIC ||
        (ver != 1 && ver != STATE_VER) || sl_rd_be64(&rd, &fp)) {
        snprintf(err, errlen, "%s: not a window state file of version 1 or %d", path, STATE_VER);
        goto out;
    }
    if (fp != s->fingerprint) {
        snprintf(err, errlen,
                 "%s: written for another window configuration (move it away to start the "
                 "windows afresh)",
                 path);
        rc = SL_ERR_CONFIG;
        goto out;
    }
    if ((ver >= 2 && sl_rd_be64(&rd, &gen)) || get_header(w, &rd, offs, noffs) ||
        sl_rd_be64(&rd, &nent))
        goto damaged;
    for (uint64_t k = 0; k < nent; k++)
        if (get_entry(w, &rd)) goto damaged;
    if (rd.err || sl_rd_left(&rd)) goto damaged;
    w->gen = gen;
    w->snap_bytes = b.len;
    w->log_bytes = 0;
    {
        size_t plen = strlen(path);
        char *logpath = sl_malloc(plen + 5);
        memcpy(logpath, path, plen);
        memcpy(logpath + plen, ".log", 5);
        if (ver >= 2) replay_log(w, logpath, offs, noffs);
        sl_free(logpath);
    }
    rc = 0;
    goto out;
damaged:
    snprintf(err, errlen, "%s: damaged (truncated or inconsistent)", path);
    rc = SL_ERR_CORRUPT;
out:
    sl_buf_free(&b);
    if (rc) {
        sl_free(*offs);
        *offs = NULL;
        *noffs = 0;
    }
    return rc;
}
