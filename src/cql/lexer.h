/* lexer.h: CQL tokens, scanned on demand from a borrowed text buffer.
 *
 * The token set follows Cassandra's Lexer.g: case-insensitive keywords (reported as IDENT tokens
 * with kw set, so unreserved keywords can still serve as names), "quoted names" with "" escaping,
 * 'strings' with '' escaping and $$pg-style$$ strings, integers and floats with an optional
 * leading '-', -NaN and -Infinity, 0x hex blobs, uuids, durations, and comments (--, //,
 * slash-star). A token only records its span; unescaping happens when the parser copies it into the
 * tree. */
#ifndef SL_CQL_LEXER_H
#define SL_CQL_LEXER_H

#include "core/sl.h"
#include "cql/parser.h"

typedef enum sl_cql_tok_kind {
    SL_CQL_TOK_EOF,
    SL_CQL_TOK_IDENT,       /* a name or a keyword (kw != SL_CQL_KW_NONE) */
    SL_CQL_TOK_QNAME,       /* "Quoted Name" */
    SL_CQL_TOK_EMPTY_QNAME, /* "" */
    SL_CQL_TOK_STRING,      /* 'text' or $$text$$ */
    SL_CQL_TOK_INTEGER,
    SL_CQL_TOK_FLOAT, /* also -NaN and -Infinity (NaN and Infinity alone are keywords) */
    SL_CQL_TOK_BOOLEAN,
    SL_CQL_TOK_DURATION,
    SL_CQL_TOK_UUID,
    SL_CQL_TOK_HEX, /* 0x... */
    SL_CQL_TOK_QMARK,
    SL_CQL_TOK_LPAREN,
    SL_CQL_TOK_RPAREN,
    SL_CQL_TOK_LBRACKET,
    SL_CQL_TOK_RBRACKET,
    SL_CQL_TOK_LBRACE,
    SL_CQL_TOK_RBRACE,
    SL_CQL_TOK_COMMA,
    SL_CQL_TOK_SEMI,
    SL_CQL_TOK_DOT,
    SL_CQL_TOK_COLON,
    SL_CQL_TOK_RANGE, /* .. */
    SL_CQL_TOK_EQ,
    SL_CQL_TOK_LT,
    SL_CQL_TOK_LTE,
    SL_CQL_TOK_GT,
    SL_CQL_TOK_GTE,
    SL_CQL_TOK_NEQ,
    SL_CQL_TOK_PLUS,
    SL_CQL_TOK_MINUS,
    SL_CQL_TOK_STAR,
    SL_CQL_TOK_SLASH,
    SL_CQL_TOK_PERCENT,
    SL_CQL_TOK_PLUS_EQ,
    SL_CQL_TOK_MINUS_EQ,
} sl_cql_tok_kind;

/* Every keyword: X(NAME, "lower-case text", reserved). Reserved keywords cannot be names. */
#define SL_CQL_KEYWORDS(X)                                                                         \
    X(ADD, "add", 1)                                                                               \
    X(AGGREGATE, "aggregate", 0)                                                                   \
    X(AGGREGATES, "aggregates", 0)                                                                 \
    X(ALL, "all", 0)                                                                               \
    X(ALLOW, "allow", 1)                                                                           \
    X(ALTER, "alter", 1)                                                                           \
    X(AND, "and", 1)                                                                               \
    X(APPLY, "apply", 1)                                                                           \
    X(AS, "as", 0)                                                                                 \
    X(ASC, "asc", 1)                                                                               \
    X(ASCII, "ascii", 0)                                                                           \
    X(AUTHORIZE, "authorize", 1)                                                                   \
    X(BATCH, "batch", 1)                                                                           \
    X(BEGIN, "begin", 1)                                                                           \
    X(BETWEEN, "between", 0)                                                                       \
    X(BIGINT, "bigint", 0)                                                                         \
    X(BLOB, "blob", 0)                                                                             \
    X(BOOLEAN, "boolean", 0)                                                                       \
    X(BY, "by", 1)                                                                                 \
    X(CALLED, "called", 0)                                                                         \
    X(CAST, "cast", 0)                                                                             \
    X(CLUSTER, "cluster", 0)                                                                       \
    X(CLUSTERING, "clustering", 0)                                                                 \
    X(COLUMNFAMILIES, "columnfamilies", 0)                                                         \
    X(COLUMNFAMILY, "columnfamily", 1)                                                             \
    X(COMPACT, "compact", 0)                                                                       \
    X(CONTAINS, "contains", 0)                                                                     \
    X(COUNT, "count", 0)                                                                           \
    X(COUNTER, "counter", 0)                                                                       \
    X(CREATE, "create", 1)                                                                         \
    X(CUSTOM, "custom", 0)                                                                         \
    X(DATE, "date", 0)                                                                             \
    X(DECIMAL, "decimal", 0)                                                                       \
    X(DEFAULT, "default", 0)                                                                       \
    X(DELETE, "delete", 1)                                                                         \
    X(DESC, "desc", 1)                                                                             \
    X(DESCRIBE, "describe", 1)                                                                     \
    X(DISTINCT, "distinct", 0)                                                                     \
    X(DOUBLE, "double", 0)                                                                         \
    X(DROP, "drop", 1)                                                                             \
    X(DURATION, "duration", 0)                                                                     \
    X(ENTRIES, "entries", 1)                                                                       \
    X(EXECUTE, "execute", 1)                                                                       \
    X(EXISTS, "exists", 0)                                                                         \
    X(FILTERING, "filtering", 0)                                                                   \
    X(FINALFUNC, "finalfunc", 0)                                                                   \
    X(FLOAT, "float", 0)                                                                           \
    X(FROM, "from", 1)                                                                             \
    X(FROZEN, "frozen", 0)                                                                         \
    X(FULL, "full", 1)                                                                             \
    X(FUNCTION, "function", 0)                                                                     \
    X(FUNCTIONS, "functions", 0)                                                                   \
    X(GRANT, "grant", 1)                                                                           \
    X(GROUP, "group", 0)                                                                           \
    X(IF, "if", 1)                                                                                 \
    X(IN, "in", 1)                                                                                 \
    X(INDEX, "index", 1)                                                                           \
    X(INET, "inet", 0)                                                                             \
    X(INFINITY, "infinity", 1)                                                                     \
    X(INITCOND, "initcond", 0)                                                                     \
    X(INPUT, "input", 0)                                                                           \
    X(INSERT, "insert", 1)                                                                         \
    X(INT, "int", 0)                                                                               \
    X(INTERNALS, "internals", 0)                                                                   \
    X(INTO, "into", 1)                                                                             \
    X(IS, "is", 1)                                                                                 \
    X(JSON, "json", 0)                                                                             \
    X(KEY, "key", 0)                                                                               \
    X(KEYS, "keys", 0)                                                                             \
    X(KEYSPACE, "keyspace", 1)                                                                     \
    X(KEYSPACES, "keyspaces", 0)                                                                   \
    X(LANGUAGE, "language", 0)                                                                     \
    X(LIKE, "like", 0)                                                                             \
    X(LIMIT, "limit", 1)                                                                           \
    X(LIST, "list", 0)                                                                             \
    X(LOGIN, "login", 0)                                                                           \
    X(MAP, "map", 0)                                                                               \
    X(MATERIALIZED, "materialized", 1)                                                             \
    X(MAXWRITETIME, "maxwritetime", 0)                                                             \
    X(MODIFY, "modify", 1)                                                                         \
    X(NAN, "nan", 1)                                                                               \
    X(NORECURSIVE, "norecursive", 1)                                                               \
    X(NOT, "not", 1)                                                                               \
    X(NULL, "null", 1)                                                                             \
    X(OF, "of", 1)                                                                                 \
    X(ON, "on", 1)                                                                                 \
    X(ONLY, "only", 0)                                                                             \
    X(OPTIONS, "options", 0)                                                                       \
    X(OR, "or", 1)                                                                                 \
    X(ORDER, "order", 1)                                                                           \
    X(PARTITION, "partition", 0)                                                                   \
    X(PASSWORD, "password", 0)                                                                     \
    X(PER, "per", 0)                                                                               \
    X(PERMISSION, "permission", 0)                                                                 \
    X(PERMISSIONS, "permissions", 0)                                                               \
    X(PRIMARY, "primary", 1)                                                                       \
    X(RENAME, "rename", 1)                                                                         \
    X(REPLACE, "replace", 0)                                                                       \
    X(RETURNS, "returns", 0)                                                                       \
    X(REVOKE, "revoke", 1)                                                                         \
    X(ROLE, "role", 0)                                                                             \
    X(ROLES, "roles", 0)                                                                           \
    X(SCHEMA, "schema", 1)                                                                         \
    X(SELECT, "select", 1)                                                                         \
    X(SET, "set", 1)                                                                               \
    X(SFUNC, "sfunc", 0)                                                                           \
    X(SMALLINT, "smallint", 0)                                                                     \
    X(STATIC, "static", 0)                                                                         \
    X(STORAGE, "storage", 0)                                                                       \
    X(STYPE, "stype", 0)                                                                           \
    X(SUPERUSER, "superuser", 0)                                                                   \
    X(TABLE, "table", 1)                                                                           \
    X(TABLES, "tables", 0)                                                                         \
    X(TEXT, "text", 0)                                                                             \
    X(TIME, "time", 0)                                                                             \
    X(TIMESTAMP, "timestamp", 0)                                                                   \
    X(TIMEUUID, "timeuuid", 0)                                                                     \
    X(TINYINT, "tinyint", 0)                                                                       \
    X(TO, "to", 1)                                                                                 \
    X(TOKEN, "token", 1)                                                                           \
    X(TRIGGER, "trigger", 0)                                                                       \
    X(TRUNCATE, "truncate", 1)                                                                     \
    X(TTL, "ttl", 0)                                                                               \
    X(TUPLE, "tuple", 0)                                                                           \
    X(TYPE, "type", 0)                                                                             \
    X(TYPES, "types", 0)                                                                           \
    X(UNLOGGED, "unlogged", 1)                                                                     \
    X(UNSET, "unset", 0)                                                                           \
    X(UPDATE, "update", 1)                                                                         \
    X(USE, "use", 1)                                                                               \
    X(USER, "user", 0)                                                                             \
    X(USERS, "users", 0)                                                                           \
    X(USING, "using", 1)                                                                           \
    X(UUID, "uuid", 0)                                                                             \
    X(VALUES, "values", 0)                                                                         \
    X(VARCHAR, "varchar", 0)                                                                       \
    X(VARINT, "varint", 0)                                                                         \
    X(VIEW, "view", 1)                                                                             \
    X(WHERE, "where", 1)                                                                           \
    X(WITH, "with", 1)                                                                             \
    X(WRITETIME, "writetime", 0)

typedef enum sl_cql_kw {
    SL_CQL_KW_NONE = 0,
#define SL_CQL_KW_ENUM_(name, text, reserved) SL_CQL_KW_##name,
    SL_CQL_KEYWORDS(SL_CQL_KW_ENUM_)
#undef SL_CQL_KW_ENUM_
        SL_CQL_KW_COUNT_
} sl_cql_kw;

typedef struct sl_cql_token {
    uint8_t kind; /* sl_cql_tok_kind */
    bool escapes; /* a STRING or QNAME holding '' or "" to unescape */
    bool dollar;  /* a $$string$$ */
    uint16_t kw;  /* sl_cql_kw for IDENT tokens */
    uint32_t off; /* span in the source, quotes included */
    uint32_t len;
    uint32_t line; /* 1-based */
    uint32_t col;  /* 0-based */
} sl_cql_token;

typedef struct sl_cql_lexer {
    const char *src;
    uint32_t len;
    uint32_t off;
    uint32_t line;
    uint32_t line_start; /* offset where the current line starts */
} sl_cql_lexer;

/* Starts scanning src[0..len); len must be below 4 GiB (the parser checks). */
void sl_cql_lex_init(sl_cql_lexer *lx, const char *src, uint32_t len);
/* Scans the next token, skipping whitespace and comments; at the end, EOF tokens forever.
 * Returns 0, or SL_ERR_PARSE with err set (an unterminated string, name or comment, or a
 * character no token starts with). */
int sl_cql_lex_next(sl_cql_lexer *lx, sl_cql_token *t, sl_cql_parse_error *err);

/* The keyword spelled by s[0..n) in any case, or SL_CQL_KW_NONE. */
sl_cql_kw sl_cql_keyword(const char *s, size_t n);
/* True for keywords that cannot be used as names. */
bool sl_cql_kw_reserved(sl_cql_kw kw);
/* Lower-case text of a keyword ("select"). */
const char *sl_cql_kw_text(sl_cql_kw kw);
/* ANTLR-style token name for "expecting ..." messages: "K_FROM", "')'", "IDENT". */
const char *sl_cql_tok_name(sl_cql_tok_kind kind);

#endif
