/* fuzz_cql_parse.c: CQL text -> syntax tree, the path every QUERY and PREPARE takes. Any input
 * must end in a tree whose invariants hold (every node inside the text, markers numbered in
 * order, counts matching arrays) or in a positioned error message; never a crash, a leak or
 * unbounded recursion. The same bytes also go through the script parser and the shell's
 * statement splitter. */
#include "fuzz.h"

#include "cql/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t input_len;

static void check_pos(sl_cql_pos p)
{
    if (p.off > input_len || p.line == 0) abort();
}

static void check_ident(const sl_cql_ident *id)
{
    if (!id->name) return;
    check_pos(id->pos);
    if (id->name[id->len] != '\0') abort();
}

static void check_qname(const sl_cql_qname *q)
{
    check_ident(&q->ks);
    if (!q->name.name) abort();
    check_ident(&q->name);
}

static void check_type(const sl_cql_type *t)
{
    if (!t || !t->name || !t->text) abort();
    check_pos(t->pos);
    for (uint32_t i = 0; i < t->n_args; i++)
        check_type(t->args[i]);
}

static void check_term(const sl_cql_term *t, const sl_cql_stmt *root)
{
    if (!t) abort();
    check_pos(t->pos);
    switch (t->kind) {
    case SL_CQL_TERM_LIST:
    case SL_CQL_TERM_SET:
    case SL_CQL_TERM_TUPLE:
        for (uint32_t i = 0; i < t->u.items.n; i++)
            check_term(t->u.items.items[i], root);
        break;
    case SL_CQL_TERM_MAP:
        for (uint32_t i = 0; i < t->u.map.n; i++) {
            check_term(t->u.map.keys[i], root);
            check_term(t->u.map.values[i], root);
        }
        break;
    case SL_CQL_TERM_UDT:
        for (uint32_t i = 0; i < t->u.udt.n; i++) {
            check_ident(&t->u.udt.fields[i]);
            check_term(t->u.udt.values[i], root);
        }
        break;
    case SL_CQL_TERM_BIND:
        if (!t->text || t->u.bind.index >= root->n_binds || root->binds[t->u.bind.index] != t)
            abort();
        break;
    case SL_CQL_TERM_FUNC:
        check_qname(&t->u.func.name);
        for (uint32_t i = 0; i < t->u.func.n_args; i++)
            check_term(t->u.func.args[i], root);
        break;
    case SL_CQL_TERM_HINT:
        check_type(t->u.hint.type);
        check_term(t->u.hint.term, root);
        break;
    case SL_CQL_TERM_NULL: break;
    default:
        if (!t->text || t->text[t->len] != '\0') abort();
        break;
    }
}

static void check_opt_term(const sl_cql_term *t, const sl_cql_stmt *root)
{
    if (t) check_term(t, root);
}

static void check_selector(const sl_cql_selector *s, const sl_cql_stmt *root)
{
    check_pos(s->pos);
    check_ident(&s->alias);
    if (!s->text) abort();
    switch (s->kind) {
    case SL_CQL_SEL_COLUMN:
    case SL_CQL_SEL_WRITETIME:
    case SL_CQL_SEL_TTL:
        if (!s->col.name) abort();
        check_ident(&s->col);
        break;
    case SL_CQL_SEL_FUNC:
        check_qname(&s->func);
        for (uint32_t i = 0; i < s->n_args; i++)
            check_selector(s->args[i], root);
        break;
    case SL_CQL_SEL_CAST:
        if (s->n_args != 1) abort();
        check_selector(s->args[0], root);
        check_type(s->type);
        break;
    case SL_CQL_SEL_TERM: check_term(s->term, root); break;
    case SL_CQL_SEL_COUNT: break;
    }
}

static void check_relations(const sl_cql_relation *r, uint32_t n, const sl_cql_stmt *root)
{
    for (uint32_t i = 0; i < n; i++) {
        check_pos(r[i].pos);
        if (r[i].n_cols == 0) abort();
        for (uint32_t c = 0; c < r[i].n_cols; c++)
            check_ident(&r[i].cols[c]);
        check_opt_term(r[i].key, root);
        check_opt_term(r[i].value, root);
        for (uint32_t k = 0; k < r[i].n_in; k++)
            check_term(r[i].in_values[k], root);
        if (r[i].op != SL_CQL_OP_IN && r[i].op != SL_CQL_OP_IS_NOT_NULL && !r[i].value) abort();
    }
}

static void check_props(const sl_cql_prop *p, uint32_t n, const sl_cql_stmt *root)
{
    for (uint32_t i = 0; i < n; i++) {
        check_ident(&p[i].name);
        check_term(p[i].value, root);
    }
}

static void check_cols(const sl_cql_column_def *c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        check_ident(&c[i].name);
        check_type(c[i].type);
    }
}

static void check_stmt(const sl_cql_stmt *st, const sl_cql_stmt *root)
{
    check_pos(st->pos);
    if (!st->text || st->text[st->text_len] != '\0') abort();
    for (uint32_t i = 0; i < st->n_binds; i++)
        if (st->binds[i]->kind != SL_CQL_TERM_BIND) abort();
    switch (st->kind) {
    case SL_CQL_STMT_SELECT: {
        const sl_cql_select *s = &st->u.select;
        if (s->star != (s->n_sels == 0)) abort();
        for (uint32_t i = 0; i < s->n_sels; i++)
            check_selector(s->sels[i], root);
        check_qname(&s->table);
        check_relations(s->where, s->n_where, root);
        for (uint32_t i = 0; i < s->n_order; i++)
            check_ident(&s->order[i].col);
        check_opt_term(s->limit, root);
        check_opt_term(s->per_partition_limit, root);
        break;
    }
    case SL_CQL_STMT_INSERT: {
        const sl_cql_insert *s = &st->u.insert;
        check_qname(&s->table);
        if (s->json != (s->json_value != NULL) || s->n_cols != s->n_values) abort();
        for (uint32_t i = 0; i < s->n_values; i++) {
            check_ident(&s->cols[i]);
            check_term(s->values[i], root);
        }
        check_opt_term(s->json_value, root);
        check_opt_term(s->using.ttl, root);
        check_opt_term(s->using.timestamp, root);
        break;
    }
    case SL_CQL_STMT_UPDATE: {
        const sl_cql_update *s = &st->u.update;
        check_qname(&s->table);
        for (uint32_t i = 0; i < s->n_assigns; i++) {
            check_ident(&s->assigns[i].col);
            check_opt_term(s->assigns[i].key, root);
            check_term(s->assigns[i].value, root);
        }
        check_relations(s->where, s->n_where, root);
        check_relations(s->conds, s->n_conds, root);
        break;
    }
    case SL_CQL_STMT_DELETE: {
        const sl_cql_delete *s = &st->u.del;
        check_qname(&s->table);
        for (uint32_t i = 0; i < s->n_targets; i++)
            check_opt_term(s->targets[i].key, root);
        if (s->using.ttl) abort();
        check_relations(s->where, s->n_where, root);
        check_relations(s->conds, s->n_conds, root);
        break;
    }
    case SL_CQL_STMT_BATCH:
        for (uint32_t i = 0; i < st->u.batch.n_stmts; i++) {
            const sl_cql_stmt *c = st->u.batch.stmts[i];
            if (c->kind != SL_CQL_STMT_INSERT && c->kind != SL_CQL_STMT_UPDATE &&
                c->kind != SL_CQL_STMT_DELETE)
                abort();
            if (c->n_binds &&
                (c->binds < root->binds || c->binds + c->n_binds > root->binds + root->n_binds))
                abort();
            check_stmt(c, root);
        }
        break;
    case SL_CQL_STMT_USE: check_ident(&st->u.use); break;
    case SL_CQL_STMT_CREATE_KEYSPACE:
    case SL_CQL_STMT_ALTER_KEYSPACE:
        check_ident(&st->u.keyspace.name);
        check_props(st->u.keyspace.props, st->u.keyspace.n_props, root);
        break;
    case SL_CQL_STMT_CREATE_TABLE: {
        const sl_cql_create_table *s = &st->u.create_table;
        check_qname(&s->table);
        check_cols(s->cols, s->n_cols);
        for (uint32_t i = 0; i < s->n_pk; i++)
            check_ident(&s->partition_key[i]);
        for (uint32_t i = 0; i < s->n_ck; i++)
            check_ident(&s->clustering[i]);
        check_props(s->props, s->n_props, root);
        break;
    }
    case SL_CQL_STMT_ALTER_TABLE: {
        const sl_cql_alter_table *s = &st->u.alter_table;
        check_qname(&s->table);
        check_cols(s->cols, s->n_cols);
        for (uint32_t i = 0; i < s->n_rename; i++) {
            check_ident(&s->rename_from[i]);
            check_ident(&s->rename_to[i]);
        }
        check_props(s->props, s->n_props, root);
        break;
    }
    case SL_CQL_STMT_DROP_KEYSPACE:
    case SL_CQL_STMT_DROP_TABLE:
    case SL_CQL_STMT_DROP_TYPE:
    case SL_CQL_STMT_DROP_INDEX:
    case SL_CQL_STMT_TRUNCATE: check_qname(&st->u.drop.name); break;
    case SL_CQL_STMT_CREATE_TYPE:
        check_qname(&st->u.create_type.name);
        check_cols(st->u.create_type.fields, st->u.create_type.n_fields);
        break;
    case SL_CQL_STMT_CREATE_INDEX:
        check_qname(&st->u.create_index.table);
        check_ident(&st->u.create_index.target);
        check_props(st->u.create_index.props, st->u.create_index.n_props, root);
        break;
    case SL_CQL_STMT_DESCRIBE:
        check_ident(&st->u.describe.name.ks);
        check_ident(&st->u.describe.name.name);
        break;
    }
}

static void check_error(const sl_cql_parse_error *e)
{
    if (strncmp(e->message, "line ", 5) != 0) abort();
    if (memchr(e->message, '\0', sizeof e->message) == NULL) abort();
    if (e->off > input_len || e->line == 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data;
    sl_arena a;
    sl_cql_parse_error err;
    sl_cql_stmt *st;
    input_len = size;
    sl_arena_init(&a, 4096);
    if (sl_cql_parse(q, size, &a, &st, &err) == 0)
        check_stmt(st, st);
    else
        check_error(&err);
    sl_arena_reset(&a);

    sl_cql_stmt **stmts;
    size_t n;
    int rc = sl_cql_parse_script(q, size, &a, &stmts, &n, &err);
    if (rc != 0) check_error(&err);
    for (size_t i = 0; i < n; i++)
        check_stmt(stmts[i], stmts[i]);
    sl_arena_free(&a);

    size_t off = 0, end;
    while (off < size && sl_cql_split(q + off, size - off, &end) == 0) {
        if (end == 0 || end > size - off) abort();
        off += end;
    }
    (void)sl_cql_is_blank(q, size);
    return 0;
}
