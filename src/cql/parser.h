/* parser.h: CQL text -> syntax tree (ast.h). A hand-written recursive-descent parser for the
 * CQL 3.4 statements sluice serves; see ast.h for what each statement yields.
 *
 * Every allocation goes to the caller's arena (no malloc per token), and every string in the tree
 * is copied there, so the tree outlives the query text. Nesting (collection literals, types,
 * parentheses, function calls) is bounded by SL_CQL_MAX_DEPTH: deeper input is a syntax error,
 * never a stack overflow. */
#ifndef SL_CQL_PARSER_H
#define SL_CQL_PARSER_H

#include "core/buf.h"
#include "cql/ast.h"

#define SL_CQL_MAX_DEPTH 64    /* nesting of terms, types, selectors */
#define SL_CQL_MAX_BINDS 65535 /* a QUERY/EXECUTE carries at most a [short] count of values */
/* Arena bytes one statement's tree may take. Trees cost up to ~40x their text (a list of
 * one-digit literals), so this, not the frame size, bounds what one QUERY makes us allocate. */
#define SL_CQL_MAX_TREE_BYTES (64 << 20)

/* A syntax or lexical error. message reads like Cassandra's, position included:
 * "line 1:9 mismatched input 'FORM' expecting K_FROM (SELECT * [FORM]...)". line is 1-based,
 * col 0-based, off the byte offset of the offending token. */
typedef struct sl_cql_parse_error {
    uint32_t line;
    uint32_t col;
    uint32_t off;
    char message[256];
} sl_cql_parse_error;

/* Parses exactly one statement (a trailing ';' is allowed) into *out, allocated in a.
 * Returns 0, or SL_ERR_PARSE with err filled (err may be NULL). */
int sl_cql_parse(const char *q, size_t len, sl_arena *a, sl_cql_stmt **out,
                 sl_cql_parse_error *err);

/* Parses a script of statements separated by ';' (empty statements skipped). On success *out is
 * an arena array of *n statements. On error returns SL_ERR_PARSE; err positions are relative to
 * the whole script and *n holds how many statements parsed before the bad one. */
int sl_cql_parse_script(const char *q, size_t len, sl_arena *a, sl_cql_stmt ***out, size_t *n,
                        sl_cql_parse_error *err);

/* Finds the end of the first statement in q[0..len), for a shell collecting lines: a ';' outside
 * strings, quoted names and comments, and for BEGIN ... BATCH the ';' after APPLY BATCH.
 * Returns 0 and sets *stmt_end to the offset just past that ';' (the statement is q[0..stmt_end));
 * returns SL_AGAIN when no such ';' is there yet (an unterminated string or comment included).
 * Whitespace and comments alone are reported as *stmt_end == 0 with SL_AGAIN. */
int sl_cql_split(const char *q, size_t len, size_t *stmt_end);

/* True when the text holds nothing but whitespace, comments and ';'. */
bool sl_cql_is_blank(const char *q, size_t len);

#endif
