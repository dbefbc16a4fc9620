/* transform.c: derive, filter and rules over one parsed row. Derived columns are evaluated in
 * their order, each seeing the columns before it; then the filter; then the rules, in their
 * order, the first one that is not true refusing the record. An expression error anywhere
 * refuses the record with the error's reason: a record that cannot be judged is not silently
 * dropped. */
#include "pipeline/transform.h"

#include <stdio.h>
#include <string.h>

#define MAX_DERIVED 128
#define MAX_RULES   128

typedef struct named_expr {
    char *name;
    sl_expr *e;
} named_expr;

struct sl_transform {
    sl_sink_column *cols; /* schema's + derived; the derived names owned */
    size_t nbase, ncols;
    named_expr *derive;
    size_t nderive;
    sl_expr *filter;
    named_expr *rules;
    size_t nrules;
};

bool sl_transform_column_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 48 || (name[0] >= '0' && name[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return false;
    return true;
}

static sl_expr *compile(const sl_yaml *v, const char *key, const char *name,
                        const sl_sink_column *cols, size_t ncols, sl_errs *errs)
{
    const char *sep = name ? "." : "";
    if (!name) name = "";
    if (v->kind != SL_YAML_SCALAR || !v->scalar) {
        sl_errs_add(errs, v->file, v->line, "pipeline.%s%s%s: expected an expression", key, sep,
                    name);
        return NULL;
    }
    sl_expr *e;
    char err[256];
    if (sl_expr_compile(v->scalar, cols, ncols, &e, err, sizeof err)) {
        sl_errs_add(errs, v->file, v->line, "pipeline.%s%s%s: %s", key, sep, name, err);
        return NULL;
    }
    return e;
}

int sl_transform_from_yaml(const sl_yaml *filter, const sl_yaml *derive, const sl_yaml *rules,
                           const sl_sink_column *cols, size_t ncols, sl_transform **out,
                           sl_errs *errs)
{
    size_t n0 = errs->n;
    *out = NULL;
    sl_transform *t = sl_calloc(1, sizeof *t);
    size_t nd = derive && derive->kind == SL_YAML_MAP ? derive->n : 0;
    t->cols = sl_calloc(ncols + nd + 1, sizeof *t->cols);
    memcpy(t->cols, cols, ncols * sizeof *cols);
    t->nbase = t->ncols = ncols;
    if (derive) {
        if (derive->kind != SL_YAML_MAP || derive->n > MAX_DERIVED) {
            sl_errs_add(errs, derive->file, derive->line,
                        "pipeline.derive: expected a map of column: expression (at most %d)",
                        MAX_DERIVED);
        } else {
            t->derive = sl_calloc(derive->n, sizeof *t->derive);
            for (size_t i = 0; i < derive->n; i++) {
                const char *name = derive->keys[i];
                bool dup = false;
                for (size_t c = 0; c < t->ncols; c++)
                    dup |= !strcmp(t->cols[c].name, name);
                if (!sl_transform_column_name_ok(name)) {
                    sl_errs_add(errs, derive->file, derive->key_lines[i],
                                "pipeline.derive.%s: a column name is a lower-case identifier "
                                "of at most 48 characters",
                                name);
                    continue;
                }
                if (dup) {
                    sl_errs_add(errs, derive->file, derive->key_lines[i],
                                "pipeline.derive.%s: there is a column of that name already", name);
                    continue;
                }
                sl_expr *e = compile(derive->items[i], "derive", name, t->cols, t->ncols, errs);
                if (!e) continue;
                named_expr *d = &t->derive[t->nderive++];
                d->name = sl_strdup(name);
                d->e = e;
                t->cols[t->ncols++] =
                    (sl_sink_column){d->name, sl_expr_sink_type(sl_expr_result_type(e))};
            }
        }
    }
    if (filter) {
        t->filter = compile(filter, "filter", NULL, t->cols, t->ncols, errs);
        if (t->filter && sl_expr_result_type(t->filter) != SL_EXPR_BOOL)
            sl_errs_add(errs, filter->file, filter->line,
                        "pipeline.filter: the expression is %s, not boolean",
                        sl_expr_type_name(sl_expr_result_type(t->filter)));
    }
    if (rules) {
        if (rules->kind != SL_YAML_MAP || rules->n > MAX_RULES) {
            sl_errs_add(errs, rules->file, rules->line,
                        "pipeline.rules: expected a map of name: expression (at most %d)",
                        MAX_RULES);
        } else {
            t->rules = sl_calloc(rules->n, sizeof *t->rules);
            for (size_t i = 0; i < rules->n; i++) {
                sl_expr *e =
                    compile(rules->items[i], "rules", rules->keys[i], t->cols, t->ncols, errs);
                if (!e) continue;
                if (sl_expr_result_type(e) != SL_EXPR_BOOL) {
                    sl_errs_add(errs, rules->items[i]->file, rules->items[i]->line,
                                "pipeline.rules.%s: the expression is %s, not boolean",
                                rules->keys[i], sl_expr_type_name(sl_expr_result_type(e)));
                    sl_expr_free(e);
                    continue;
                }
                t->rules[t->nrules].name = sl_strdup(rules->keys[i]);
                t->rules[t->nrules++].e = e;
            }
        }
    }
    if (errs->n > n0) {
        sl_transform_free(t);
        return SL_ERR_CONFIG;
    }
    *out = t;
    return 0;
}

void sl_transform_free(sl_transform *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nderive; i++) {
        sl_free(t->derive[i].name);
        sl_expr_free(t->derive[i].e);
    }
    for (size_t i = 0; i < t->nrules; i++) {
        sl_free(t->rules[i].name);
        sl_expr_free(t->rules[i].e);
    }
    sl_expr_free(t->filter);
    sl_free(t->derive);
    sl_free(t->rules);
    sl_free(t->cols);
    sl_free(t);
}

const sl_sink_column *sl_transform_columns(const sl_transform *t, size_t *ncols)
{
    *ncols = t->ncols;
    return t->cols;
}

static sl_tx_result refuse(sl_tx_refusal *why, const sl_expr_value *v, const char *what,
                           const char *name)
{
    why->reason = v->reason;
    why->rule = NULL;
    snprintf(why->detail, sizeof why->detail, "%s%s%s: %s", what, name ? " " : "", name ? name : "",
             v->str);
    return SL_TX_REFUSE;
}

sl_tx_result sl_transform_apply(const sl_transform *t, sl_sink_value *row, const void *raw,
                                size_t rawlen, sl_arena *arena, int64_t now_ms, sl_tx_refusal *why)
{
    sl_expr_ctx c = {.row = row, .raw = raw, .rawlen = rawlen, .arena = arena, .now_ms = now_ms};
    for (size_t i = 0; i < t->nderive; i++) {
        sl_expr_value v = sl_expr_eval(t->derive[i].e, &c);
        if (v.type == SL_EXPR_ERROR) return refuse(why, &v, "derive", t->derive[i].name);
        sl_expr_to_sink(&v, &row[t->nbase + i]);
    }
    if (t->filter) {
        sl_expr_value v = sl_expr_eval(t->filter, &c);
        if (v.type == SL_EXPR_ERROR) return refuse(why, &v, "filter", NULL);
        if (v.type != SL_EXPR_BOOL || !v.v.b) return SL_TX_DROP;
    }
    for (size_t i = 0; i < t->nrules; i++) {
        sl_expr_value v = sl_expr_eval(t->rules[i].e, &c);
        if (v.type == SL_EXPR_ERROR) return refuse(why, &v, "rule", t->rules[i].name);
        if (v.type == SL_EXPR_BOOL && v.v.b) continue;
        why->reason = "rule_failed";
        why->rule = t->rules[i].name;
        snprintf(why->detail, sizeof why->detail, "rule %s: %s", t->rules[i].name,
                 v.type == SL_EXPR_NULL ? "null" : "false");
        return SL_TX_REFUSE;
    }
    return SL_TX_KEEP;
}
