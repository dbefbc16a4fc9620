/* exec_int.h: the CQL engine's private structures, shared by exec*.c, describe.c.
 *
 * A statement goes through two steps, as in Cassandra: analysis (against the catalog, without
 * bound values) builds a plan: resolved tables and columns, terms typed by their receivers and
 * folded to bytes when constant, bind variable metadata, result metadata. Execution runs a plan
 * with one set of bound values. PREPARE keeps the plan; QUERY builds a throwaway one. A plan
 * records the schema version it was analyzed against and is re-analyzed from its syntax tree
 * when DDL changed the schema since. */
#ifndef SL_CQL_EXEC_INT_H
#define SL_CQL_EXEC_INT_H

#include "cql/exec.h"
#include "cql/parser.h"
#include "cql/storage.h"

#define EXEC_SUBSYS "cql"

/* Scalar and aggregate functions known to selectors and terms. */
typedef enum cql_fn {
    FN_NONE,
    FN_NOW,
    FN_UUID,
    FN_CURRENT_TIMEUUID,
    FN_CURRENT_TIMESTAMP,
    FN_CURRENT_DATE,
    FN_CURRENT_TIME,
    FN_TO_TIMESTAMP,
    FN_TO_DATE,
    FN_TO_UNIX_TIMESTAMP,
    FN_DATE_OF,
    FN_UNIX_TIMESTAMP_OF,
    FN_MIN_TIMEUUID,
    FN_MAX_TIMEUUID,
    FN_TOKEN,
    FN_TO_JSON,
    FN_COUNT, /* aggregates from here on */
    FN_MIN,
    FN_MAX,
    FN_SUM,
    FN_AVG,
} cql_fn;

#define FN_IS_AGGREGATE(f) ((f) >= FN_COUNT)

typedef enum pterm_kind {
    PT_CONST, /* value (ptr NULL: null) */
    PT_BIND,  /* bound value number bind */
    PT_FUNC,  /* fn over sub */
    PT_LIST,  /* collection or tuple literal with non-constant parts: sub elements */
    PT_SET,
    PT_MAP, /* sub holds key, value, key, value... */
    PT_TUPLE,
} pterm_kind;

/* A term analyzed against its receiver: evaluates to a value of type. */
typedef struct pterm pterm;
struct pterm {
    pterm_kind kind;
    const sl_cql_dtype *type;
    sl_slice value;
    uint32_t bind;
    cql_fn fn;
    const sl_cql_dtype *arg_type; /* FUNC: the argument's type, for overloaded functions */
    pterm **sub;
    uint32_t nsub;
};

/* Restrictions on one key column: EQ, IN (a list of terms or one list marker) or a slice. */
typedef struct key_restr {
    bool has;
    pterm *eq;
    pterm **in;
    uint32_t n_in;
    pterm *in_list; /* IN ?: a list<T> marker */
    pterm *lo, *hi; /* slice, in the column's value order (not clustering order) */
    bool lo_incl, hi_incl;
} key_restr;

/* A multi-column restriction on a prefix of the clustering key: (c1, c2) op (tuple). */
typedef struct multi_restr {
    bool has;
    uint32_t ncols; /* the restricted prefix length */
    pterm *eq;      /* a tuple */
    pterm **in;     /* tuples */
    uint32_t n_in;
    pterm *in_list; /* IN ?: list<tuple> */
    pterm *lo, *hi; /* tuples, maybe shorter than ncols for the other side */
    uint32_t nlo, nhi;
    bool lo_incl, hi_incl;
} multi_restr;

/* A predicate evaluated on rows (filtering, IF conditions). */
typedef struct pfilter {
    int col; /* column index in the table */
    sl_cql_op op;
    pterm *elem_key; /* c[key] op v: a map key or list index */
    pterm *value;
    pterm **in;
    uint32_t n_in;
    pterm *in_list;
    bool cond; /* an IF condition: null compares, unset always holds */
} pfilter;

typedef enum psel_kind {
    PS_COL,
    PS_WRITETIME,
    PS_TTL,
    PS_COUNT_ROWS, /* COUNT(*) */
    PS_FUNC,
    PS_TERM,
} psel_kind;

typedef struct psel psel;
struct psel {
    psel_kind kind;
    int col;
    cql_fn fn;
    psel **args;
    uint32_t nargs;
    pterm *term;
    const sl_cql_dtype *type; /* the result type */
    const char *name;         /* the result column name */
    bool aggregate;           /* this selector or one below aggregates */
};

typedef enum sel_mode {
    SEL_PARTITIONS, /* every partition key column restricted by EQ/IN */
    SEL_SCAN,       /* a token range scan */
    SEL_VIRTUAL,    /* a system table whose rows the engine produces */
} sel_mode;

typedef struct select_plan {
    sl_cql_table *table;
    sel_mode mode;
    psel **sels;
    uint32_t nsels;
    bool json;
    bool distinct;
    bool aggregate;
    bool reverse;  /* ORDER BY opposite to the clustering order */
    bool ordered;  /* ORDER BY given (several partitions need a merge) */
    key_restr *pk; /* npk entries */
    key_restr *ck; /* nck entries */
    multi_restr multi;
    uint32_t n_ck_eq; /* leading clustering columns restricted by EQ/IN (or multi EQ/IN) */
    pterm *tok_lo, *tok_hi;
    bool tok_lo_incl, tok_hi_incl;
    bool tok_eq;
    pfilter *filters;
    uint32_t nfilters;
    bool ck_filter_only; /* clustering restrictions exist: static-only rows do not match */
    pterm *limit;
    pterm *ppl;
} select_plan;

typedef struct passign {
    sl_cql_assign_kind kind;
    const sl_cql_column *col;
    pterm *key;
    pterm *value;
} passign;

typedef struct pdelete {
    const sl_cql_column *col;
    pterm *key;
} pdelete;

typedef enum mod_kind { MOD_INSERT, MOD_UPDATE, MOD_DELETE } mod_kind;

typedef struct mod_plan {
    mod_kind kind;
    sl_cql_table *table;
    key_restr *pk;
    key_restr *ck;
    multi_restr multi;
    uint32_t n_ck_eq;
    bool ck_range;    /* DELETE over a clustering prefix or slice */
    passign *assigns; /* INSERT values become SET assignments */
    uint32_t nassigns;
    pdelete *dels;
    uint32_t ndels;
    pterm *json; /* INSERT JSON */
    bool json_default_unset;
    pterm *ttl;
    pterm *timestamp;
    bool if_exists;
    bool if_not_exists;
    pfilter *conds;
    uint32_t nconds;
    bool static_only; /* touches only static columns: the clustering key may be omitted */
} mod_plan;

typedef struct cql_plan cql_plan;

typedef struct batch_plan {
    cql_plan **stmts; /* sub plans sharing this plan's bind values */
    uint32_t nstmts;
    sl_cql_batch_type type;
    pterm *timestamp;
} batch_plan;

struct cql_plan {
    /* Registry links (prepared plans only). */
    uint8_t id[16];
    cql_plan *hnext;
    cql_plan *lru_prev, *lru_next;

    sl_arena ast_arena; /* the query text and its syntax tree */
    sl_cql_stmt *stmt;
    char *keyspace; /* the session keyspace at PREPARE/QUERY time, or NULL */
    char *query;
    size_t query_len;

    sl_arena arena; /* everything below; reset by re-analysis */
    bool analyzed;
    uint8_t version[16];
    sl_cql_colspec *binds;
    const sl_cql_dtype **bind_types;
    uint32_t n_binds;
    uint16_t *pk_index;
    uint32_t n_pk_index;
    sl_cql_colspec *cols; /* result metadata of a SELECT */
    uint32_t n_cols;
    sl_cql_table **tables; /* kept references */
    uint32_t n_tables, cap_tables;
    sl_cql_dtype **owned; /* dtypes made during analysis */
    uint32_t n_owned, cap_owned;
    cql_plan **subplans; /* batch children, freed with this plan */
    uint32_t n_subplans;

    select_plan *sel;
    mod_plan *mod;
    batch_plan *batch;
};

/* The engine. */
struct sl_cql_engine {
    uv_loop_t *loop;
    sl_cql_engine_opts opts; /* strings owned */
    sl_store *store;
    sl_catalog *cat;
    sl_store_batch *wb; /* reused by every write: sl_store_write is synchronous */
    uint8_t host_id[16];
    int32_t gossip_generation;
    int64_t last_ts; /* the last write timestamp handed out: they strictly increase */
    int64_t tu_ms;   /* now(): the last time uuid's millisecond and its 100 ns tick within it */
    uint32_t tu_ticks;
    sl_cql_schema_fn schema_fn;
    void *schema_arg;
    /* Prepared statements: a hash on the id and an LRU list, bounded by max_prepared. */
    cql_plan **ptab;
    size_t ptab_cap;
    size_t n_prepared;
    size_t max_prepared;
    cql_plan lru;   /* sentinel */
    size_t pending; /* writes waiting for their WAL sync */
    /* Referenced while writes are pending, so the loop stays alive for their completions
     * (the store's own wake-up handle does not hold the loop). Never sent. */
    uv_async_t *keepalive;
};

struct sl_cql_session {
    sl_cql_engine *e;
    char *keyspace;
    char *user;
};

/* One execution of one plan. */
typedef struct exec_ctx {
    sl_cql_engine *e;
    sl_cql_session *s;
    cql_plan *plan;
    const sl_cql_value *values; /* by marker index */
    size_t n_values;
    const sl_cql_query *q; /* paging, consistency; NULL inside a batch */
    int64_t now_us;
    int32_t now_s;
    int64_t ts; /* the statement's default write timestamp */
    sl_cql_result *res;
    sl_arena *tmp; /* scratch for this execution, shared by a batch's statements */
    bool batch_has_conditions;
} exec_ctx;

/* exec.c: results and errors. */
sl_cql_result *sl__exec_result_new(sl_cql_result_kind kind);
/* Turns res into an ERROR with a printf message; returns -1 for "return sl__exec_fail(...)". */
int sl__exec_fail(sl_cql_result *res, sl_cql_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *sl__exec_strdup(sl_cql_result *res, const char *s);
/* Adds a warning to res. */
void sl__exec_warn(sl_cql_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Allocates n column specs in res. */
sl_cql_colspec *sl__exec_columns(sl_cql_result *res, size_t n);
/* Fills spec with copies in res of ks/table/name and the [option] of type. */
void sl__exec_colspec(sl_cql_result *res, sl_cql_colspec *spec, const char *ks, const char *table,
                      const char *name, const sl_cql_dtype *type);
/* Appends one cell ([bytes]) to a ROWS result; a NULL ptr is null. */
void sl__exec_cell(sl_cql_result *res, sl_slice v);

/* exec.c: analysis helpers shared by the statement analyzers. */
typedef struct an_ctx {
    sl_cql_engine *e;
    cql_plan *plan;
    sl_cql_result *res; /* receives errors */
    const char *keyspace;
} an_ctx;

void *sl__an_alloc(an_ctx *a, size_t n);
char *sl__an_strdup(an_ctx *a, const char *s);
/* Remembers a dtype made during analysis, released with the plan. Returns t. */
const sl_cql_dtype *sl__an_own(an_ctx *a, sl_cql_dtype *t);
/* Keeps a reference on t for the plan's lifetime. */
sl_cql_table *sl__an_keep_table(an_ctx *a, sl_cql_table *t);
/* Resolves [ks.]name against the catalog: Invalid "Keyspace 'x' does not exist" / "unconfigured
 * table x" / "No keyspace has been specified..." on failure (NULL). */
sl_cql_table *sl__an_table(an_ctx *a, const sl_cql_qname *qn);
/* The effective keyspace of qn, or NULL with the "No keyspace has been specified" error. */
const char *sl__an_keyspace(an_ctx *a, const sl_cql_ident *ks);
/* Resolves a column by name or fails with "Undefined column name x". */
const sl_cql_column *sl__an_column(an_ctx *a, const sl_cql_table *t, const sl_cql_ident *name);
/* Analyzes term t for a receiver named name of type type (ks/table for bind metadata). */
pterm *sl__an_term(an_ctx *a, const sl_cql_term *t, const sl_cql_dtype *type, const char *ks,
                   const char *table, const char *name);
/* The list<elem> (or set) type for IN markers and collection operations, owned by the plan. */
const sl_cql_dtype *sl__an_list_of(an_ctx *a, const sl_cql_dtype *elem, sl_cql_kind kind);
/* Analyzes a WHERE or IF relation on a key column into r (EQ, IN, slices). */
int sl__an_key_relation(an_ctx *a, const sl_cql_table *t, const sl_cql_column *col,
                        const sl_cql_relation *rel, key_restr *r, bool allow_slice);
/* Analyzes a filter or condition relation on any column. */
int sl__an_filter(an_ctx *a, const sl_cql_table *t, const sl_cql_relation *rel, pfilter *f,
                  bool condition);
/* Analyzes a multi-column clustering relation. */
int sl__an_multi_relation(an_ctx *a, const sl_cql_table *t, const sl_cql_relation *rel,
                          multi_restr *m);

/* exec.c: evaluation. Each returns 0 or -1 with the error set in ctx->res. */
typedef struct evalue {
    sl_slice v; /* ptr NULL: null */
    bool unset;
} evalue;
int sl__ev_term(exec_ctx *x, const pterm *t, evalue *out);
/* A non-null, set value (error "Invalid null value ..." naming what). */
int sl__ev_term_required(exec_ctx *x, const pterm *t, const char *what, sl_slice *out);
/* Evaluates an IN list (terms or a list marker) into an array of values. */
int sl__ev_in_list(exec_ctx *x, pterm **in, uint32_t n_in, pterm *in_list, const char *what,
                   sl_slice **out, uint32_t *n);
int64_t sl__ev_int_value(const sl_cql_dtype *t, sl_slice v);
/* Applies a scalar function to one argument value (ignored by the 0-argument ones). */
int sl__ev_apply_fn(exec_ctx *x, cql_fn fn, const sl_cql_dtype *arg_type, sl_slice arg,
                    sl_slice *out);
/* Function registry (exec.c). */
typedef struct fn_def {
    const char *name;
    cql_fn fn;
    int nargs; /* -1: variadic (token) */
} fn_def;
const fn_def *sl__exec_fn_lookup(const sl_cql_qname *qn);
const char *sl__exec_fn_name(cql_fn fn);
const sl_cql_dtype *sl__exec_fn_return(cql_fn fn, const sl_cql_dtype *arg);
/* The argument types a scalar function accepts, in preference order. */
const sl_cql_kind *sl__exec_fn_arg_kinds(cql_fn fn, size_t *n);

/* Key sets: the partitions and clustering ranges a statement addresses. */
typedef struct pk_set {
    sl_slice *keys; /* n * npk components */
    uint32_t n;
} pk_set;
typedef struct ck_range {
    sl_slice *start;
    uint32_t nstart;
    bool start_incl;
    sl_slice *end;
    uint32_t nend;
    bool end_incl;
} ck_range;
/* The cartesian product of the partition key restrictions, ordered by key value and
 * deduplicated (the order Cassandra answers an IN in). */
int sl__ev_pk_set(exec_ctx *x, const sl_cql_table *t, key_restr *pk, pk_set *out);
/* The clustering ranges of the restrictions, in clustering order. eq_only: every clustering
 * column must be given (modifications). */
int sl__ev_ck_ranges(exec_ctx *x, const sl_cql_table *t, key_restr *ck, const multi_restr *multi,
                     uint32_t n_eq, ck_range **out, uint32_t *n);
/* Compares clustering values a[0..na) against bound b in clustering order on the common
 * prefix (<0, 0, >0). */
int sl__ck_compare_prefix(const sl_cql_table *t, const sl_slice *a, uint32_t na, const sl_slice *b,
                          uint32_t nb);
/* True when the row's clustering values fall in r. */
bool sl__ck_in_range(const sl_cql_table *t, const sl_slice *ckv, const ck_range *r);
/* Evaluates a filter on a row. Returns 1 match, 0 no match, -1 error. */
int sl__ev_filter(exec_ctx *x, const sl_cql_table *t, const pfilter *f, const sl_store_row *row);

/* exec.c: writes and completion. */
/* Delivers res now, or after the WAL sync covering the writes so far when sync is set (the
 * schema change listener runs first when change is set). */
void sl__exec_complete(sl_cql_engine *e, sl_cql_result *res, bool sync, bool notify_schema,
                       sl_cql_done_fn done, void *arg);
/* The next write timestamp: strictly increasing, from the store clock. */
int64_t sl__exec_next_timestamp(sl_cql_engine *e);

/* exec_select.c */
int sl__an_select(an_ctx *a, const sl_cql_select *s);
int sl__exec_select(exec_ctx *x);

/* exec_dml.c */
int sl__an_insert(an_ctx *a, const sl_cql_insert *s);
int sl__an_update(an_ctx *a, const sl_cql_update *s);
int sl__an_delete(an_ctx *a, const sl_cql_delete *s);
/* Adds one modification's mutations to the engine's write batch. Conditional statements are
 * run by exec_conditional. */
int sl__exec_mod(exec_ctx *x, const mod_plan *m);
/* Runs conditional modifications (one statement or a batch's) and builds the [applied]
 * result. Returns 1 when mutations were added to the batch, 0 when not applied, -1 on
 * error. */
int sl__exec_conditional(exec_ctx *x, exec_ctx **xs, const mod_plan **ms, size_t n);
bool sl__mod_has_conditions(const mod_plan *m);

/* exec_ddl.c: DDL, USE, TRUNCATE. Returns 0 and sets *sync and *notify for exec_complete, or -1. */
int sl__exec_ddl(exec_ctx *x, const sl_cql_stmt *st, bool *sync, bool *notify);

/* exec_system.c: the rows of a virtual system table. */
int sl__exec_system_rows(exec_ctx *x, const sl_cql_table *t, sl_store_row **rows, size_t *n);

/* describe.c */
int sl__exec_describe(exec_ctx *x, const sl_cql_describe *d);
/* Appends a name, double-quoted when CQL needs it. */
void sl__cql_append_name(sl_buf *b, const char *name);
/* The CREATE statements of a keyspace and of a table, as DESCRIBE prints them. */
void sl__cql_keyspace_cql(const sl_cql_keyspace *ks, sl_buf *out);
void sl__cql_table_cql(const sl_cql_table *t, sl_buf *out);

/* Helpers for ident comparisons. */
static inline bool ident_is(const sl_cql_ident *id, const char *s)
{
    return id->name && strcmp(id->name, s) == 0;
}

#endif
