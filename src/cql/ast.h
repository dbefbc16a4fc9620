/* ast.h: the syntax tree of one CQL statement, as the parser (parser.h) builds it and the executor
 * (exec.h) analyzes it.
 *
 * Memory: every node, array and string lives in the sl_arena the caller passed to sl_cql_parse;
 * nothing here is freed on its own. Strings are NUL-terminated and also carry their length.
 *
 * Positions: line is 1-based, col is 0-based (ANTLR's convention, which Cassandra's syntax errors
 * print as "line L:C"), off is the byte offset into the parsed text.
 *
 * Names: an unquoted identifier is folded to lower case; a quoted one ("Name") keeps its case with
 * "" unescaped, and has quoted set. Either way name is what the catalog compares. */
#ifndef SL_CQL_AST_H
#define SL_CQL_AST_H

#include "core/sl.h"

typedef struct sl_cql_pos {
    uint32_t line; /* 1-based */
    uint32_t col;  /* 0-based */
    uint32_t off;  /* byte offset */
} sl_cql_pos;

typedef struct sl_cql_ident {
    const char *name; /* NULL when absent (an optional name not given) */
    uint32_t len;
    bool quoted;
    sl_cql_pos pos;
} sl_cql_ident;

/* [keyspace.]name; ks.name is NULL when no keyspace was written. */
typedef struct sl_cql_qname {
    sl_cql_ident ks;
    sl_cql_ident name;
} sl_cql_qname;

/* A column type as written: a tree of names. name is lower case for native and collection types
 * ("int", "text", "varchar", "list", "set", "map", "tuple", "frozen", "counter"...), the UDT name
 * for user types (ks set when qualified), or the class string for 'custom' types (custom set).
 * text/text_len is the type's source text (e.g. "frozen<map<text, int>>") for error messages. */
typedef struct sl_cql_type sl_cql_type;
struct sl_cql_type {
    const char *name;
    uint32_t len;
    bool custom;
    sl_cql_ident ks;
    sl_cql_type **args; /* list/set: 1, map: 2, tuple: >= 1, frozen: 1 */
    uint32_t n_args;
    const char *text;
    uint32_t text_len;
    sl_cql_pos pos;
};

typedef enum sl_cql_term_kind {
    SL_CQL_TERM_STRING,   /* text: the string's value, '' and $$ quoting removed */
    SL_CQL_TERM_INTEGER,  /* text as written, sign included: "-12" */
    SL_CQL_TERM_FLOAT,    /* text as written: "1.5", "-2e10", "NaN", "-Infinity" */
    SL_CQL_TERM_UUID,     /* text as written: "550e8400-e29b-41d4-a716-446655440000" */
    SL_CQL_TERM_BOOLEAN,  /* text "true" or "false" (lower case) */
    SL_CQL_TERM_BLOB,     /* text as written, "0x" prefix included: "0xcafe" */
    SL_CQL_TERM_DURATION, /* text as written: "1h30m", "P1D" (parsed, executor may reject) */
    SL_CQL_TERM_NULL,
    SL_CQL_TERM_LIST,  /* [a, b]            u.items */
    SL_CQL_TERM_SET,   /* {a, b}            u.items */
    SL_CQL_TERM_MAP,   /* {k: v}            u.map; "{}" is an empty MAP, valid for sets too */
    SL_CQL_TERM_TUPLE, /* (a, b)            u.items */
    SL_CQL_TERM_UDT,   /* {field: v}        u.udt (parsed; the executor may reject) */
    SL_CQL_TERM_BIND,  /* ? or :name        u.bind; text is the name ("" for ?) */
    SL_CQL_TERM_FUNC,  /* f(args)           u.func: now(), uuid(), toTimestamp(x), token(...) */
    SL_CQL_TERM_HINT,  /* (type) term       u.hint */
} sl_cql_term_kind;

typedef struct sl_cql_term sl_cql_term;
struct sl_cql_term {
    sl_cql_term_kind kind;
    sl_cql_pos pos;
    const char *text; /* literals and bind names; NULL for collections, tuples and functions */
    uint32_t len;
    union {
        struct {
            sl_cql_term **items;
            uint32_t n;
        } items;
        struct {
            sl_cql_term **keys;
            sl_cql_term **values;
            uint32_t n;
        } map;
        struct {
            sl_cql_ident *fields;
            sl_cql_term **values;
            uint32_t n;
        } udt;
        struct {
            uint32_t index; /* position among the statement's markers, 0-based */
        } bind;
        struct {
            sl_cql_qname name; /* name.name is lower case unless quoted: "now", "token" */
            sl_cql_term **args;
            uint32_t n_args;
        } func;
        struct {
            sl_cql_type *type;
            sl_cql_term *term;
        } hint;
    } u;
};

typedef enum sl_cql_sel_kind {
    SL_CQL_SEL_COLUMN,    /* col */
    SL_CQL_SEL_COUNT,     /* COUNT(*) or COUNT(1): counts rows */
    SL_CQL_SEL_WRITETIME, /* WRITETIME(col) */
    SL_CQL_SEL_TTL,       /* TTL(col) */
    SL_CQL_SEL_FUNC,      /* f(selector, ...), e.g. toTimestamp(now()), count(col), token(id) */
    SL_CQL_SEL_CAST,      /* CAST(selector AS type): args[0], type */
    SL_CQL_SEL_TERM,      /* a literal or bind marker used as a selector */
} sl_cql_sel_kind;

typedef struct sl_cql_selector sl_cql_selector;
struct sl_cql_selector {
    sl_cql_sel_kind kind;
    sl_cql_pos pos;
    sl_cql_ident alias; /* AS alias; name NULL when none */
    sl_cql_ident col;   /* COLUMN, WRITETIME, TTL */
    sl_cql_qname func;  /* FUNC */
    sl_cql_selector **args;
    uint32_t n_args;
    sl_cql_term *term; /* TERM */
    sl_cql_type *type; /* CAST */
    const char *text;  /* the selector's source text without alias, for default column names */
    uint32_t text_len;
};

typedef enum sl_cql_op {
    SL_CQL_OP_EQ,
    SL_CQL_OP_LT,
    SL_CQL_OP_LTE,
    SL_CQL_OP_GT,
    SL_CQL_OP_GTE,
    SL_CQL_OP_NEQ,          /* != */
    SL_CQL_OP_IN,           /* IN (a, b) -> in_values; IN ? -> value is the bind marker */
    SL_CQL_OP_CONTAINS,     /* CONTAINS */
    SL_CQL_OP_CONTAINS_KEY, /* CONTAINS KEY */
    SL_CQL_OP_LIKE,
    SL_CQL_OP_IS_NOT_NULL, /* IS NOT NULL (value NULL) */
} sl_cql_op;

typedef enum sl_cql_rel_kind {
    SL_CQL_REL_COLUMN, /* col op term: cols[0] (key set for col[key] op term) */
    SL_CQL_REL_TOKEN,  /* token(c1, c2) op term: cols are token's arguments */
    SL_CQL_REL_MULTI,  /* (c1, c2) op (tuple): cols; value a TUPLE or bind; IN: list of tuples */
} sl_cql_rel_kind;

/* One WHERE relation, or one IF condition (always REL_COLUMN there). */
typedef struct sl_cql_relation {
    sl_cql_rel_kind kind;
    sl_cql_op op;
    sl_cql_pos pos;
    sl_cql_ident *cols;
    uint32_t n_cols;
    sl_cql_term *key;   /* col[key] op value (collection element); NULL otherwise */
    sl_cql_term *value; /* NULL for IN (...) and IS NOT NULL */
    sl_cql_term **in_values;
    uint32_t n_in;
} sl_cql_relation;

typedef enum sl_cql_assign_kind {
    SL_CQL_ASSIGN_SET,     /* c = t */
    SL_CQL_ASSIGN_ADD,     /* c = c + t, c += t: counter increment, collection append/union */
    SL_CQL_ASSIGN_SUB,     /* c = c - t, c -= t: counter decrement, collection removal */
    SL_CQL_ASSIGN_PREPEND, /* c = t + c: list prepend */
    SL_CQL_ASSIGN_ELEMENT, /* c[key] = t: list index or map key */
} sl_cql_assign_kind;

typedef struct sl_cql_assign {
    sl_cql_assign_kind kind;
    sl_cql_pos pos;
    sl_cql_ident col;
    sl_cql_term *key; /* ELEMENT */
    sl_cql_term *value;
} sl_cql_assign;

/* USING TTL t AND TIMESTAMP t; each NULL when absent. Terms, so bind markers work. */
typedef struct sl_cql_using {
    sl_cql_term *ttl;
    sl_cql_term *timestamp;
} sl_cql_using;

/* WITH name = value: value is a constant or a map literal ({'class': 'SimpleStrategy', ...}). */
typedef struct sl_cql_prop {
    sl_cql_ident name;
    sl_cql_term *value;
} sl_cql_prop;

typedef struct sl_cql_order {
    sl_cql_ident col;
    bool desc;
} sl_cql_order;

typedef struct sl_cql_column_def {
    sl_cql_ident name;
    sl_cql_type *type;
    bool is_static;
    bool primary_key; /* written inline: "id uuid PRIMARY KEY" */
} sl_cql_column_def;

typedef struct sl_cql_select {
    bool json;
    bool distinct;
    bool star; /* SELECT *; sels empty */
    sl_cql_selector **sels;
    uint32_t n_sels;
    sl_cql_qname table;
    sl_cql_relation *where;
    uint32_t n_where;
    sl_cql_ident *group_by; /* parsed; the executor may reject */
    uint32_t n_group_by;
    sl_cql_order *order;
    uint32_t n_order;
    sl_cql_term *per_partition_limit; /* NULL when absent */
    sl_cql_term *limit;               /* NULL when absent */
    bool allow_filtering;
} sl_cql_select;

typedef struct sl_cql_insert {
    sl_cql_qname table;
    bool json; /* INSERT ... JSON json_value [DEFAULT NULL|UNSET] */
    sl_cql_term *json_value;
    bool default_unset; /* DEFAULT UNSET (DEFAULT NULL is the default) */
    sl_cql_ident *cols; /* VALUES form: n_cols == n_values, checked by the parser */
    uint32_t n_cols;
    sl_cql_term **values;
    uint32_t n_values;
    bool if_not_exists;
    sl_cql_using using;
} sl_cql_insert;

typedef struct sl_cql_update {
    sl_cql_qname table;
    sl_cql_using using;
    sl_cql_assign *assigns;
    uint32_t n_assigns;
    sl_cql_relation *where;
    uint32_t n_where;
    bool if_exists;
    sl_cql_relation *conds; /* IF c op t AND ... */
    uint32_t n_conds;
} sl_cql_update;

/* A DELETE target: a column, or one element of a collection (col[key]). */
typedef struct sl_cql_delete_target {
    sl_cql_ident col;
    sl_cql_term *key;
} sl_cql_delete_target;

typedef struct sl_cql_delete {
    sl_cql_delete_target *targets; /* empty: delete whole rows */
    uint32_t n_targets;
    sl_cql_qname table;
    sl_cql_using using; /* only timestamp is allowed; the parser rejects TTL */
    sl_cql_relation *where;
    uint32_t n_where;
    bool if_exists;
    sl_cql_relation *conds;
    uint32_t n_conds;
} sl_cql_delete;

/* Values are the BATCH frame's type byte (native_protocol_v4 §4.1.7). */
typedef enum sl_cql_batch_type {
    SL_CQL_BATCH_LOGGED,
    SL_CQL_BATCH_UNLOGGED,
    SL_CQL_BATCH_COUNTER,
} sl_cql_batch_type;

typedef struct sl_cql_stmt sl_cql_stmt;

typedef struct sl_cql_batch {
    sl_cql_batch_type type;
    sl_cql_using using;  /* USING TIMESTAMP for the whole batch */
    sl_cql_stmt **stmts; /* INSERT, UPDATE or DELETE only */
    uint32_t n_stmts;
} sl_cql_batch;

/* CREATE KEYSPACE / ALTER KEYSPACE. */
typedef struct sl_cql_keyspace_def {
    bool if_not_exists;
    sl_cql_ident name;
    sl_cql_prop *props;
    uint32_t n_props;
} sl_cql_keyspace_def;

typedef struct sl_cql_create_table {
    bool if_not_exists;
    sl_cql_qname table;
    sl_cql_column_def *cols;
    uint32_t n_cols;
    /* The primary key, from either an inline PRIMARY KEY or a PRIMARY KEY (...) clause (the
     * parser rejects both at once). n_pk == 0 when neither was given: the executor's error. */
    sl_cql_ident *partition_key;
    uint32_t n_pk;
    sl_cql_ident *clustering;
    uint32_t n_ck;
    sl_cql_order *clustering_order; /* WITH CLUSTERING ORDER BY (c DESC, ...) */
    uint32_t n_clustering_order;
    bool compact_storage; /* parsed so the executor can reject it as Cassandra 4 does */
    sl_cql_prop *props;
    uint32_t n_props;
} sl_cql_create_table;

typedef enum sl_cql_alter_kind {
    SL_CQL_ALTER_ADD,    /* ADD [(] c type [static], ... [)] -> cols */
    SL_CQL_ALTER_DROP,   /* DROP c | DROP (c1, c2) -> drop; [USING TIMESTAMP t] */
    SL_CQL_ALTER_RENAME, /* RENAME a TO b [AND c TO d] -> rename_from/rename_to */
    SL_CQL_ALTER_WITH,   /* WITH props */
} sl_cql_alter_kind;

typedef struct sl_cql_alter_table {
    sl_cql_qname table;
    sl_cql_alter_kind kind;
    sl_cql_column_def *cols;
    uint32_t n_cols;
    sl_cql_ident *drop;
    uint32_t n_drop;
    sl_cql_ident *rename_from;
    sl_cql_ident *rename_to;
    uint32_t n_rename;
    sl_cql_prop *props;
    uint32_t n_props;
    sl_cql_term *timestamp; /* DROP ... USING TIMESTAMP t */
} sl_cql_alter_table;

/* DROP KEYSPACE / TABLE / TYPE / INDEX, and TRUNCATE (if_exists false). For a keyspace, the name
 * is in name.name and name.ks is absent. */
typedef struct sl_cql_drop {
    bool if_exists;
    sl_cql_qname name;
} sl_cql_drop;

/* CREATE TYPE: parsed so the executor can answer with a clear error. */
typedef struct sl_cql_create_type {
    bool if_not_exists;
    sl_cql_qname name;
    sl_cql_column_def *fields;
    uint32_t n_fields;
} sl_cql_create_type;

/* CREATE [CUSTOM] INDEX: parsed so the executor can answer with a clear error. */
typedef struct sl_cql_create_index {
    bool if_not_exists;
    bool custom;
    sl_cql_ident name; /* optional */
    sl_cql_qname table;
    sl_cql_ident target;
    const char *target_fn; /* NULL, "keys", "values", "entries" or "full" */
    sl_cql_term *using_class;
    sl_cql_prop *props;
    uint32_t n_props;
} sl_cql_create_index;

typedef enum sl_cql_describe_kind {
    SL_CQL_DESC_CLUSTER,
    SL_CQL_DESC_SCHEMA, /* [FULL] SCHEMA */
    SL_CQL_DESC_KEYSPACES,
    SL_CQL_DESC_KEYSPACE, /* [ONLY] KEYSPACE [k]: name.name NULL means the current keyspace */
    SL_CQL_DESC_TABLES,
    SL_CQL_DESC_TABLE, /* COLUMNFAMILY too */
    SL_CQL_DESC_TYPES,
    SL_CQL_DESC_TYPE,
    SL_CQL_DESC_FUNCTIONS,
    SL_CQL_DESC_FUNCTION,
    SL_CQL_DESC_AGGREGATES,
    SL_CQL_DESC_AGGREGATE,
    SL_CQL_DESC_INDEX,
    SL_CQL_DESC_VIEW, /* MATERIALIZED VIEW */
    SL_CQL_DESC_NAME, /* DESCRIBE x or x.y: a keyspace, table, type, ... whichever exists */
} sl_cql_describe_kind;

typedef struct sl_cql_describe {
    sl_cql_describe_kind kind;
    sl_cql_qname name;
    bool full;           /* DESCRIBE FULL SCHEMA */
    bool only;           /* DESCRIBE ONLY KEYSPACE */
    bool with_internals; /* ... WITH INTERNALS */
} sl_cql_describe;

typedef enum sl_cql_stmt_kind {
    SL_CQL_STMT_SELECT,
    SL_CQL_STMT_INSERT,
    SL_CQL_STMT_UPDATE,
    SL_CQL_STMT_DELETE,
    SL_CQL_STMT_BATCH,
    SL_CQL_STMT_USE,
    SL_CQL_STMT_CREATE_KEYSPACE,
    SL_CQL_STMT_ALTER_KEYSPACE,
    SL_CQL_STMT_DROP_KEYSPACE,
    SL_CQL_STMT_CREATE_TABLE,
    SL_CQL_STMT_ALTER_TABLE,
    SL_CQL_STMT_DROP_TABLE,
    SL_CQL_STMT_TRUNCATE,
    SL_CQL_STMT_CREATE_TYPE,
    SL_CQL_STMT_DROP_TYPE,
    SL_CQL_STMT_CREATE_INDEX,
    SL_CQL_STMT_DROP_INDEX,
    SL_CQL_STMT_DESCRIBE,
} sl_cql_stmt_kind;

struct sl_cql_stmt {
    sl_cql_stmt_kind kind;
    sl_cql_pos pos;
    /* Every bind marker in order of appearance; binds[i]->u.bind.index == i. For a BATCH the
     * array spans all its statements and each child's binds is its own slice of it (indexes
     * stay batch-wide), so one set of bound values serves the whole batch. */
    sl_cql_term **binds;
    uint32_t n_binds;
    const char *text; /* a copy of the statement's source text, without the trailing ';' */
    uint32_t text_len;
    union {
        sl_cql_select select;
        sl_cql_insert insert;
        sl_cql_update update;
        sl_cql_delete del;
        sl_cql_batch batch;
        sl_cql_ident use;             /* USE ks */
        sl_cql_keyspace_def keyspace; /* CREATE / ALTER KEYSPACE */
        sl_cql_create_table create_table;
        sl_cql_alter_table alter_table;
        sl_cql_drop drop; /* DROP KEYSPACE / TABLE / TYPE / INDEX, TRUNCATE */
        sl_cql_create_type create_type;
        sl_cql_create_index create_index;
        sl_cql_describe describe;
    } u;
};

/* A static name for a statement kind ("SELECT", "CREATE TABLE"...), for logs and errors
 * (defined in parser.c). */
const char *sl_cql_stmt_kind_name(sl_cql_stmt_kind k);

#endif
