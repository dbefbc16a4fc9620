/* dag.c: the DAG loader. Each DAG map is checked as a whole; every problem found is added to
 * errs with the file:line of the node at fault, and a DAG with any problem is left out while
 * the others load. Task order is made topological here, so the scheduler can walk it. */
#include "scheduler/dag.h"
#include "scheduler/tasks.h"

#include "core/buf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DAG_MAX_TASKS 5000
#define DAG_MAX_DEPS  1000
#define ID_MAX        250

/* The type name is checked here so the error points at the type: line; sl_task_check (tasks.c)
 * checks the type's own fields. */
static const char *const task_types[] = {"ingest", "shell", "http", "sql", "sensor", "noop", NULL};

static const char *const dag_keys[] = {
    "dag_id",
    "description",
    "tags",
    "schedule",
    "timezone",
    "start_date",
    "end_date",
    "catchup",
    "max_active_runs",
    "default_args",
    "params",
    "tasks",
    "is_paused_upon_creation",
    NULL,
};

/* The task-level keys that default_args may also hold. */
static const char *const arg_keys[] = {
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "pool",
    "trigger_rule",
    NULL,
};

static const char *const rule_names[] = {"all_success", "all_done", "one_failed", "one_success"};

/* Defaults as in Airflow 2: retry_delay 300 s, max_retry_delay capped at 24 h. */
#define DEF_RETRY_DELAY_MS     300000
#define DEF_MAX_RETRY_DELAY_MS 86400000
#define DEF_MAX_ACTIVE_RUNS    16

typedef struct ctx {
    sl_errs *errs;
    const char *file;
    int nerr;
} ctx;

static void err_at(ctx *C, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err_at(ctx *C, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_errs_add(C->errs, C->file, line, "%s", msg);
    C->nerr++;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

static const char *kind_name(const sl_yaml *y)
{
    return y->kind == SL_YAML_MAP ? "a map" : y->kind == SL_YAML_SEQ ? "a list" : "a value";
}

/* A non-empty scalar, or an error naming what. */
static const char *scalar(ctx *C, const sl_yaml *y, const char *what)
{
    if (y->kind != SL_YAML_SCALAR) {
        err_at(C, y->line, "%s: expected a value, got %s", what, kind_name(y));
        return NULL;
    }
    if (!y->scalar || !*y->scalar) {
        err_at(C, y->line, "%s: missing value", what);
        return NULL;
    }
    return y->scalar;
}

/* dag_id and task_id end up in URLs, file names and SQL rows: Airflow's character set. */
static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "yes", "on", "1", NULL};
    static const char *const f[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; t[i]; i++) {
        if (strcasecmp(s, t[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, f[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

/* A duration needs its unit: "300s", "5m", "1h", "250ms", "1d". */
static bool parse_duration(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    return n && !isdigit((unsigned char)s[n - 1]) && sl_parse_duration_ms(s, out) == 0;
}

int sl_trigger_rule_parse(const char *s, sl_trigger_rule *out)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(rule_names); i++) {
        if (strcmp(s, rule_names[i]) == 0) {
            *out = (sl_trigger_rule)i;
            return 0;
        }
    }
    return SL_ERR_INVAL;
}

const char *sl_trigger_rule_name(sl_trigger_rule r)
{
    return (unsigned)r < SL_ARRAY_LEN(rule_names) ? rule_names[r] : "?";
}

int sl_dag_parse_date(const char *s, const char *tz, int64_t *out_ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return SL_ERR_INVAL;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5) return SL_ERR_INVAL;
        p += 1 + m;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &m) != 1 || m != 2) return SL_ERR_INVAL;
            p += 3;
        }
    }
    int64_t off_ms = 0;
    bool has_off = false;
    if (*p == 'Z') {
        has_off = true;
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
            return SL_ERR_INVAL;
        off_ms = ((int64_t)oh * 3600 + om * 60) * 1000 * (*p == '-' ? -1 : 1);
        has_off = true;
        p += 1 + m;
    }
    if (*p) return SL_ERR_INVAL;
    int rc = sl_cron_local_to_ms(has_off ? NULL : tz, y, mo, d, h, mi, sec, out_ms);
    if (rc < 0) return rc;
    *out_ms -= off_ms;
    return 0;
}

/* Retry and timeout settings shared by default_args and each task. */
typedef struct task_args {
    int retries;
    int64_t retry_delay_ms, max_retry_delay_ms, execution_timeout_ms;
    bool backoff;
    const char *pool;
    sl_trigger_rule rule;
} task_args;

/* Applies key=val to a if key is one of arg_keys; returns false if it is not. */
static bool apply_arg(ctx *C, task_args *a, const char *key, const sl_yaml *val, const char *where)
{
    if (!in_list(arg_keys, key)) return false;
    char what[300];
    snprintf(what, sizeof what, "%s%s", where, key);
    const char *s = scalar(C, val, what);
    if (!s) return true;
    if (strcmp(key, "retries") == 0) {
        if (!parse_int(s, 0, 1000, &a->retries))
            err_at(C, val->line, "%s: expected a whole number 0..1000, got \"%s\"", what, s);
    } else if (strcmp(key, "retry_exponential_backoff") == 0) {
        if (!parse_bool(s, &a->backoff))
            err_at(C, val->line, "%s: expected true or false, got \"%s\"", what, s);
    } else if (strcmp(key, "pool") == 0) {
        if (!valid_id(s))
            err_at(C, val->line, "%s: \"%s\" is not a pool name (letters, digits, _ - .)", what, s);
        else
            a->pool = s;
    } else if (strcmp(key, "trigger_rule") == 0) {
        if (sl_trigger_rule_parse(s, &a->rule) != 0)
            err_at(C, val->line,
                   "%s: unknown rule \"%s\" (all_success, all_done, one_failed, one_success)", what,
                   s);
    } else {
        int64_t ms;
        if (strcmp(s, "none") == 0 && strcmp(key, "execution_timeout") == 0) {
            a->execution_timeout_ms = 0;
        } else if (!parse_duration(s, &ms) || ms <= 0) {
            err_at(C, val->line,
                   "%s: expected a duration with a unit (\"300s\", \"5m\", \"1h\"), got \"%s\"",
                   what, s);
        } else if (strcmp(key, "retry_delay") == 0) {
            a->retry_delay_ms = ms;
        } else if (strcmp(key, "max_retry_delay") == 0) {
            a->max_retry_delay_ms = ms;
        } else {
            a->execution_timeout_ms = ms;
        }
    }
    return true;
}

static void free_task(sl_task *t)
{
    sl_free(t->id);
    sl_free(t->type);
    for (size_t i = 0; i < t->ndeps; i++)
        sl_free(t->depends_on[i]);
    sl_free(t->depends_on);
    sl_free(t->pool);
}

static void free_dag(sl_dag *d)
{
    sl_free(d->id);
    sl_free(d->description);
    for (size_t i = 0; i < d->ntags; i++)
        sl_free(d->tags[i]);
    sl_free(d->tags);
    sl_cron_free(d->schedule);
    sl_free(d->timezone);
    for (size_t i = 0; i < d->ntasks; i++)
        free_task(&d->tasks[i]);
    sl_free(d->tasks);
    sl_free(d->by_id);
    memset(d, 0, sizeof *d);
}

static void add_dep(sl_task *t, const char *dep)
{
    t->depends_on = sl_realloc(t->depends_on, (t->ndeps + 1) * sizeof *t->depends_on);
    t->depends_on[t->ndeps++] = sl_strdup(dep);
}

static void load_task(ctx *C, sl_dag *d, const sl_yaml *m, const task_args *defaults)
{
    sl_task *t = &d->tasks[d->ntasks++];
    memset(t, 0, sizeof *t);
    t->line = m->line;
    t->spec = m;
    task_args a = *defaults;
    const sl_yaml *deps = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i];
        const sl_yaml *v = m->items[i];
        if (strcmp(k, "task_id") == 0) {
            const char *s = scalar(C, v, "task_id");
            if (s && !valid_id(s))
                err_at(C, v->line, "task_id: \"%s\" is not an id (1-250 letters, digits, _ - .)",
                       s);
            else if (s)
                t->id = sl_strdup(s);
        } else if (strcmp(k, "type") == 0) {
            const char *s = scalar(C, v, "type");
            if (s && !in_list(task_types, s))
                err_at(C, v->line,
                       "type: unknown task type \"%s\" (ingest, shell, http, sql, sensor, noop)",
                       s);
            else if (s)
                t->type = sl_strdup(s);
        } else if (strcmp(k, "depends_on") == 0) {
            deps = v;
        } else {
            /* anything else is a type-specific field, checked by the task type */
            apply_arg(C, &a, k, v, "");
        }
    }
    const char *label = t->id ? t->id : "?";
    if (!t->id) err_at(C, m->line, "task: missing field task_id");
    if (!t->type) {
        if (!sl_yaml_get(m, "type")) err_at(C, m->line, "task %s: missing field type", label);
    }
    if (deps) {
        if (deps->kind == SL_YAML_SCALAR && deps->scalar) {
            add_dep(t, deps->scalar);
        } else if (deps->kind == SL_YAML_SEQ && deps->n <= DAG_MAX_DEPS) {
            for (size_t i = 0; i < deps->n; i++) {
                const char *s = scalar(C, deps->items[i], "depends_on");
                if (s) add_dep(t, s);
            }
        } else if (deps->kind == SL_YAML_SEQ) {
            err_at(C, deps->line, "task %s: depends_on: more than %d tasks", label, DAG_MAX_DEPS);
        } else if (deps->kind == SL_YAML_MAP || deps->scalar) {
            err_at(C, deps->line,
                   "task %s: depends_on: expected a task id or a list of them, got %s", label,
                   kind_name(deps));
        }
    }
    t->retries = a.retries;
    t->retry_delay_ms = a.retry_delay_ms;
    t->retry_exponential_backoff = a.backoff;
    t->max_retry_delay_ms = a.max_retry_delay_ms;
    t->execution_timeout_ms = a.execution_timeout_ms;
    t->trigger_rule = a.rule;
    t->pool = a.pool ? sl_strdup(a.pool) : NULL;
    /* the type's own fields */
    if (t->id && t->type) C->nerr += sl_task_check(t, C->errs);
}

/* The line of depends_on item `dep` in task t, for messages; the task's line if not found. */
static int dep_line(const sl_task *t, const char *dep)
{
    const sl_yaml *deps = sl_yaml_get(t->spec, "depends_on");
    if (!deps) return t->line;
    if (deps->kind == SL_YAML_SCALAR) return deps->line;
    for (size_t i = 0; i < deps->n; i++)
        if (deps->items[i]->scalar && strcmp(deps->items[i]->scalar, dep) == 0)
            return deps->items[i]->line;
    return deps->line;
}

static size_t task_index(const sl_dag *d, const char *id)
{
    for (size_t i = 0; i < d->ntasks; i++)
        if (d->tasks[i].id && strcmp(d->tasks[i].id, id) == 0) return i;
    return SIZE_MAX;
}

/* Finds a cycle through `at` by DFS over dep (dep[i]: indexes of what task i depends on;
 * color: 0 new, 1 on the stack, 2 done); reports it as "a -> b -> a" and returns true. */
static bool find_cycle(ctx *C, const sl_dag *d, size_t **dep, size_t at, unsigned char *color,
                       size_t *stack, size_t depth)
{
    color[at] = 1;
    stack[depth] = at;
    const sl_task *t = &d->tasks[at];
    for (size_t i = 0; i < t->ndeps; i++) {
        size_t j = dep[at][i];
        if (color[j] == 1) {
            size_t from = depth;
            while (stack[from] != j)
                from--;
            sl_buf path = SL_BUF_INIT;
            for (size_t k = from; k <= depth; k++)
                sl_buf_printf(&path, "%s -> ", d->tasks[stack[k]].id);
            sl_buf_printf(&path, "%s", d->tasks[j].id);
            err_at(C, dep_line(t, d->tasks[j].id), "dag %s: cycle in depends_on: %.400s", d->id,
                   sl_buf_cstr(&path));
            sl_buf_free(&path);
            return true;
        }
        if (color[j] == 0 && find_cycle(C, d, dep, j, color, stack, depth + 1)) return true;
    }
    color[at] = 2;
    return false;
}

/* Checks ids and references, then cycles, then reorders tasks so each follows what it depends
 * on (Kahn's algorithm, taking the earliest ready task in file order each time). */
/* Task indexes sorted by id (then line), for lookups in O(log n) while checking. */
static int cmp_by_id(const void *a, const void *b, void *dag)
{
    const sl_dag *d = dag;
    const sl_task *x = &d->tasks[*(const size_t *)a], *y = &d->tasks[*(const size_t *)b];
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static size_t find_sorted(const sl_dag *d, const size_t *by_id, const char *id)
{
    size_t lo = 0, hi = d->ntasks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->tasks[by_id[mid]].id, id);
        if (c == 0) return by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

static void check_graph(ctx *C, sl_dag *d)
{
    size_t n = d->ntasks;
    size_t *by_id = sl_calloc(n, sizeof *by_id);
    for (size_t i = 0; i < n; i++)
        by_id[i] = i;
    qsort_r(by_id, n, sizeof *by_id, cmp_by_id, d);
    for (size_t k = 1, first = 0; k < n; k++) {
        const sl_task *a = &d->tasks[by_id[first]], *b = &d->tasks[by_id[k]];
        if (strcmp(a->id, b->id) == 0)
            err_at(C, b->line, "dag %s: task_id \"%s\" is used twice (first at line %d)", d->id,
                   b->id, a->line);
        else
            first = k;
    }
    for (size_t i = 0; i < n; i++) {
        sl_task *t = &d->tasks[i];
        for (size_t k = 0; k < t->ndeps; k++) {
            if (find_sorted(d, by_id, t->depends_on[k]) == SIZE_MAX)
                err_at(C, dep_line(t, t->depends_on[k]), "task %s: depends_on: unknown task \"%s\"",
                       t->id, t->depends_on[k]);
            for (size_t m = 0; m < k; m++)
                if (strcmp(t->depends_on[m], t->depends_on[k]) == 0)
                    err_at(C, dep_line(t, t->depends_on[k]), "task %s: depends_on: \"%s\" twice",
                           t->id, t->depends_on[k]);
        }
    }
    if (C->nerr) {
        sl_free(by_id);
        return;
    }
    size_t **dep = sl_calloc(n, sizeof *dep);
    size_t *waiting = sl_calloc(n, sizeof *waiting); /* deps not yet placed */
    for (size_t i = 0; i < n; i++) {
        dep[i] = sl_calloc(d->tasks[i].ndeps + 1, sizeof **dep);
        for (size_t k = 0; k < d->tasks[i].ndeps; k++)
            dep[i][k] = find_sorted(d, by_id, d->tasks[i].depends_on[k]);
        waiting[i] = d->tasks[i].ndeps;
    }
    unsigned char *color = sl_calloc(n, 1);
    size_t *stack = sl_calloc(n + 1, sizeof *stack);
    for (size_t i = 0; i < n; i++)
        if (color[i] == 0 && find_cycle(C, d, dep, i, color, stack, 0)) break;
    if (C->nerr == 0) {
        /* who depends on each task, as one array sliced by first[] */
        size_t *first = sl_calloc(n + 1, sizeof *first), edges = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t m = 0; m < d->tasks[i].ndeps; m++) {
                first[dep[i][m] + 1]++;
                edges++;
            }
        for (size_t i = 0; i < n; i++)
            first[i + 1] += first[i];
        size_t *users = sl_calloc(edges + 1, sizeof *users), *fill = sl_calloc(n, sizeof *fill);
        for (size_t i = 0; i < n; i++)
            for (size_t m = 0; m < d->tasks[i].ndeps; m++) {
                size_t j = dep[i][m];
                users[first[j] + fill[j]++] = i;
            }
        sl_task *sorted = sl_calloc(n, sizeof *sorted);
        bool *placed = sl_calloc(n, sizeof *placed);
        for (size_t k = 0; k < n; k++) {
            size_t i = 0;
            while (placed[i] || waiting[i])
                i++; /* acyclic: some unplaced task is ready */
            placed[i] = true;
            sorted[k] = d->tasks[i];
            for (size_t u = first[i]; u < first[i + 1]; u++)
                waiting[users[u]]--;
        }
        sl_free(d->tasks);
        d->tasks = sorted;
        /* kept for sl_dag_task: the scheduler looks tasks up by id in every pass over a run */
        for (size_t i = 0; i < n; i++)
            by_id[i] = i;
        qsort_r(by_id, n, sizeof *by_id, cmp_by_id, d);
        d->by_id = by_id;
        by_id = NULL;
        sl_free(placed);
        sl_free(fill);
        sl_free(users);
        sl_free(first);
    }
    for (size_t i = 0; i < n; i++)
        sl_free(dep[i]);
    sl_free(dep);
    sl_free(waiting);
    sl_free(stack);
    sl_free(color);
    sl_free(by_id);
}

static int load_dag(sl_dagset *set, const sl_yaml *m, sl_errs *errs)
{
    ctx C = {.errs = errs, .file = m->file};
    sl_dag d = {0};
    d.file = m->file;
    d.line = m->line;
    d.max_active_runs = DEF_MAX_ACTIVE_RUNS;
    d.catchup = true; /* Airflow 2's catchup_by_default */
    d.is_paused_upon_creation = -1;
    const sl_yaml *f;
    for (size_t i = 0; i < m->n; i++)
        if (!in_list(dag_keys, m->keys[i]))
            err_at(&C, m->key_lines[i], "unknown DAG field \"%s\"", m->keys[i]);

    if ((f = sl_yaml_get(m, "dag_id"))) {
        const char *s = scalar(&C, f, "dag_id");
        if (s && !valid_id(s))
            err_at(&C, f->line, "dag_id: \"%s\" is not an id (1-250 letters, digits, _ - .)", s);
        else if (s)
            d.id = sl_strdup(s);
    } else {
        err_at(&C, m->line, "DAG: missing field dag_id");
    }
    if ((f = sl_yaml_get(m, "description")) && f->kind == SL_YAML_SCALAR && f->scalar)
        d.description = sl_strdup(f->scalar);
    else if (f && f->kind != SL_YAML_SCALAR)
        err_at(&C, f->line, "description: expected a value, got %s", kind_name(f));
    if ((f = sl_yaml_get(m, "tags"))) {
        if (f->kind == SL_YAML_SCALAR && f->scalar) {
            d.tags = sl_calloc(1, sizeof *d.tags);
            d.tags[d.ntags++] = sl_strdup(f->scalar);
        } else if (f->kind == SL_YAML_SEQ) {
            d.tags = sl_calloc(f->n ? f->n : 1, sizeof *d.tags);
            for (size_t i = 0; i < f->n; i++) {
                const char *s = scalar(&C, f->items[i], "tags");
                if (s) d.tags[d.ntags++] = sl_strdup(s);
            }
        } else if (f->kind == SL_YAML_MAP) {
            err_at(&C, f->line, "tags: expected a list, got a map");
        }
    }
    d.timezone = sl_strdup("UTC");
    if ((f = sl_yaml_get(m, "timezone"))) {
        const char *s = scalar(&C, f, "timezone");
        if (s && !sl_cron_tz_valid(s)) {
            err_at(&C, f->line, "timezone: unknown time zone \"%s\"", s);
        } else if (s) {
            sl_free(d.timezone);
            d.timezone = sl_strdup(s);
        }
    }
    const char *dates[2] = {"start_date", "end_date"};
    int64_t *dst[2] = {&d.start_date_ms, &d.end_date_ms};
    for (int i = 0; i < 2; i++) {
        if (!(f = sl_yaml_get(m, dates[i]))) continue;
        const char *s = scalar(&C, f, dates[i]);
        if (s && sl_dag_parse_date(s, d.timezone, dst[i]) != 0)
            err_at(&C, f->line,
                   "%s: expected a date like 2024-01-31 or 2024-01-31T10:00[:00][Z|+hh:mm], got "
                   "\"%s\"",
                   dates[i], s);
    }
    if (d.end_date_ms && d.start_date_ms && d.end_date_ms <= d.start_date_ms)
        err_at(&C, sl_yaml_get(m, "end_date")->line, "end_date: not after start_date");
    if ((f = sl_yaml_get(m, "schedule"))) {
        const char *s =
            f->kind == SL_YAML_SCALAR && !f->scalar ? "none" : scalar(&C, f, "schedule");
        char why[256];
        if (s && strcasecmp(s, "none") != 0 &&
            sl_cron_parse(s, d.timezone, d.start_date_ms, &d.schedule, why, sizeof why) != 0)
            err_at(&C, f->line, "schedule: %s", why);
        if (d.schedule && sl_cron_kind_of(d.schedule) == SL_CRON_ONCE && !d.start_date_ms)
            err_at(&C, f->line, "schedule: @once needs a start_date");
    }
    if ((f = sl_yaml_get(m, "catchup"))) {
        const char *s = scalar(&C, f, "catchup");
        if (s && !parse_bool(s, &d.catchup))
            err_at(&C, f->line, "catchup: expected true or false, got \"%s\"", s);
    }
    if ((f = sl_yaml_get(m, "is_paused_upon_creation"))) {
        const char *s = scalar(&C, f, "is_paused_upon_creation");
        bool b;
        if (s && !parse_bool(s, &b))
            err_at(&C, f->line, "is_paused_upon_creation: expected true or false, got \"%s\"", s);
        else if (s)
            d.is_paused_upon_creation = b;
    }
    if ((f = sl_yaml_get(m, "max_active_runs"))) {
        const char *s = scalar(&C, f, "max_active_runs");
        if (s && !parse_int(s, 1, 10000, &d.max_active_runs))
            err_at(&C, f->line, "max_active_runs: expected a whole number 1..10000, got \"%s\"", s);
    }
    if ((f = sl_yaml_get(m, "params"))) {
        if (f->kind == SL_YAML_MAP)
            d.params = f;
        else if (f->kind != SL_YAML_SCALAR || f->scalar)
            err_at(&C, f->line, "params: expected a map of names to defaults, got %s",
                   kind_name(f));
    }
    task_args defaults = {.retry_delay_ms = DEF_RETRY_DELAY_MS,
                          .max_retry_delay_ms = DEF_MAX_RETRY_DELAY_MS};
    if ((f = sl_yaml_get(m, "default_args"))) {
        if (f->kind == SL_YAML_MAP) {
            for (size_t i = 0; i < f->n; i++)
                if (!apply_arg(&C, &defaults, f->keys[i], f->items[i], "default_args."))
                    err_at(&C, f->key_lines[i], "default_args: unknown field \"%s\" (%s)",
                           f->keys[i],
                           "retries, retry_delay, retry_exponential_backoff, max_retry_delay, "
                           "execution_timeout, pool, trigger_rule");
        } else if (f->kind != SL_YAML_SCALAR || f->scalar) {
            err_at(&C, f->line, "default_args: expected a map, got %s", kind_name(f));
        }
    }
    if (!(f = sl_yaml_get(m, "tasks"))) {
        err_at(&C, m->line, "DAG %s: missing field tasks", d.id ? d.id : "?");
    } else if (f->kind != SL_YAML_SEQ || f->n == 0) {
        err_at(&C, f->line, "tasks: expected a list of at least one task, got %s",
               f->kind == SL_YAML_SEQ ? "an empty list" : kind_name(f));
    } else if (f->n > DAG_MAX_TASKS) {
        err_at(&C, f->line, "tasks: more than %d tasks", DAG_MAX_TASKS);
    } else {
        d.tasks = sl_calloc(f->n, sizeof *d.tasks);
        for (size_t i = 0; i < f->n; i++) {
            if (f->items[i]->kind != SL_YAML_MAP)
                err_at(&C, f->items[i]->line, "tasks: expected a task (a map), got %s",
                       kind_name(f->items[i]));
            else
                load_task(&C, &d, f->items[i], &defaults);
        }
        if (C.nerr == 0) check_graph(&C, &d);
    }
    if (C.nerr == 0 && sl_dagset_find(set, d.id)) {
        const sl_dag *o = sl_dagset_find(set, d.id);
        err_at(&C, d.line, "dag_id \"%s\" is already defined at %s:%d", d.id, o->file, o->line);
    }
    if (C.nerr) {
        free_dag(&d);
        return 0;
    }
    set->dags = sl_realloc(set->dags, (set->n + 1) * sizeof *set->dags);
    set->dags[set->n++] = d;
    return 1;
}

int sl_dag_load_yaml(sl_dagset *set, const sl_yaml *doc, sl_errs *errs)
{
    if (!doc) return 0;
    if (doc->kind == SL_YAML_MAP && doc->n == 0) {
        sl_errs_add(errs, doc->file, 0, "empty DAG file");
        return 0;
    }
    const sl_yaml *list = NULL;
    if (doc->kind == SL_YAML_SEQ)
        list = doc;
    else if (doc->kind == SL_YAML_MAP && doc->n == 1 && strcmp(doc->keys[0], "dags") == 0)
        list = doc->items[0];
    if (!list) {
        if (doc->kind == SL_YAML_MAP) return load_dag(set, doc, errs);
        sl_errs_add(errs, doc->file, doc->line,
                    "expected a DAG (a map with dag_id) or a list of DAGs under dags:");
        return 0;
    }
    if (list->kind != SL_YAML_SEQ) {
        sl_errs_add(errs, doc->file, list->line, "dags: expected a list of DAGs, got %s",
                    kind_name(list));
        return 0;
    }
    int added = 0;
    for (size_t i = 0; i < list->n; i++) {
        if (list->items[i]->kind != SL_YAML_MAP)
            sl_errs_add(errs, doc->file, list->items[i]->line,
                        "dags: expected a DAG (a map), got %s", kind_name(list->items[i]));
        else
            added += load_dag(set, list->items[i], errs);
    }
    return added;
}

/* Keeps doc and its text (taken) in set, and points the DAGs it adds at that text. */
static int load_doc(sl_dagset *set, sl_yaml *doc, char *text, size_t len, sl_errs *errs)
{
    set->docs = sl_realloc(set->docs, (set->ndocs + 1) * sizeof *set->docs);
    set->texts = sl_realloc(set->texts, (set->ndocs + 1) * sizeof *set->texts);
    set->docs[set->ndocs] = doc;
    set->texts[set->ndocs++] = text;
    size_t before = set->n;
    int added = sl_dag_load_yaml(set, doc, errs);
    for (size_t i = before; i < set->n; i++) {
        set->dags[i].text = text;
        set->dags[i].text_len = len;
    }
    return added;
}

int sl_dag_load_str(sl_dagset *set, const char *text, size_t len, const char *name, sl_errs *errs)
{
    sl_yaml *doc = NULL;
    if (sl_yaml_load_str(text, len, name, &doc, errs) != 0) return 0;
    if (!doc) {
        sl_errs_add(errs, name, 0, "empty DAG file");
        return 0;
    }
    char *copy = sl_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return load_doc(set, doc, copy, len, errs);
}

/* A DAG file is read whole, so that the text its DAGs were loaded from can be kept. */
#define DAG_FILE_MAX (16u << 20)

static int load_file(sl_dagset *set, const char *path, sl_errs *errs)
{
    size_t len;
    char *text;
    int rc = sl_read_file(path, DAG_FILE_MAX, &text, &len);
    if (rc) {
        sl_errs_add(errs, path, 0, "cannot read: %s",
                    rc == SL_ERR_TOOBIG ? "larger than 16 MiB" : sl_strerror(rc));
        return 0;
    }
    sl_yaml *doc = NULL;
    rc = sl_yaml_load_str(text, len, path, &doc, errs);
    if (rc == 0 && !doc) sl_errs_add(errs, path, 0, "empty DAG file");
    if (rc || !doc) {
        sl_free(text);
        return 0;
    }
    return load_doc(set, doc, text, len, errs);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool yaml_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && ((l > 5 && strcmp(n + l - 5, ".yaml") == 0) ||
                           (l > 4 && strcmp(n + l - 4, ".yml") == 0));
}

int sl_dag_load_path(sl_dagset *set, const char *path, sl_errs *errs)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        sl_errs_add(errs, path, 0, "cannot read: %s", strerror(errno));
        return SL_ERR_NOTFOUND;
    }
    if (!S_ISDIR(st.st_mode)) return load_file(set, path, errs);
    DIR *dir = opendir(path);
    if (!dir) {
        sl_errs_add(errs, path, 0, "cannot read: %s", strerror(errno));
        return SL_ERR_NOTFOUND;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!yaml_name(e->d_name)) continue;
        names = sl_realloc(names, (n + 1) * sizeof *names);
        names[n++] = sl_strdup(e->d_name);
    }
    closedir(dir);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int added = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(names[i]) + 2;
        char *full = sl_malloc(len);
        snprintf(full, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) added += load_file(set, full, errs);
        sl_free(full);
        sl_free(names[i]);
    }
    sl_free(names);
    return added;
}

/* The seeds' DAG (airscholar/e2e-data-engineering dags/kafka_stream.py): @daily from
 * 2023-09-03 10:00, no catchup, one task streaming users from the API into Kafka for 60 s. */
static const char default_dag[] =
    "dag_id: user_automation\n"
    "description: Streams random users from the API into the users_created topic for 60 s, "
    "daily (the seeds' DAG).\n"
    "tags: [seed]\n"
    "schedule: \"@daily\"\n"
    "start_date: 2023-09-03T10:00\n"
    "catchup: false\n"
    "tasks:\n"
    "  - task_id: stream_data_from_api\n"
    "    type: ingest\n"
    "    duration: 60s\n";

void sl_dag_add_default(sl_dagset *set)
{
    if (sl_dagset_find(set, "user_automation")) return;
    sl_errs errs = {0};
    int n = sl_dag_load_str(set, default_dag, sizeof default_dag - 1, "<built-in user_automation>",
                            &errs);
    if (n != 1) {
        /* the text above is ours: failing to load it is a bug, not an input error */
        sl_errs_print(&errs, stderr);
        abort();
    }
    sl_errs_free(&errs);
}

const sl_dag *sl_dagset_find(const sl_dagset *set, const char *dag_id)
{
    if (!dag_id) return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->dags[i].id, dag_id) == 0) return &set->dags[i];
    return NULL;
}

const sl_task *sl_dag_task(const sl_dag *d, const char *task_id)
{
    size_t i = d->by_id ? find_sorted(d, d->by_id, task_id) : task_index(d, task_id);
    return i == SIZE_MAX ? NULL : &d->tasks[i];
}

void sl_dagset_free(sl_dagset *set)
{
    for (size_t i = 0; i < set->n; i++)
        free_dag(&set->dags[i]);
    sl_free(set->dags);
    for (size_t i = 0; i < set->ndocs; i++) {
        sl_yaml_free(set->docs[i]);
        sl_free(set->texts[i]);
    }
    sl_free(set->docs);
    sl_free(set->texts);
    memset(set, 0, sizeof *set);
}
