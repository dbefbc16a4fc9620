/* template.c: the few Jinja names Airflow DAGs use in task fields, without Jinja: each
 * "{{ name }}" is looked up in a table; anything else between braces is refused with a reason,
 * so a typo fails the try instead of running a command with a hole in it. */
#include "scheduler/template.h"

#include "core/buf.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TMPL_MAX_NAME 256

typedef enum { FMT_DS, FMT_DS_NODASH, FMT_TS, FMT_TS_NODASH } time_fmt;

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SL_ERR_PARSE;
}

/* Airflow's forms: ds 2024-01-31, ds_nodash 20240131, ts 2024-01-31T00:00:00+00:00,
 * ts_nodash 20240131T000000; all in UTC. */
static void put_time(sl_buf *b, int64_t ms, time_fmt f)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    static const char *const fmts[] = {"%Y-%m-%d", "%Y%m%d", "%Y-%m-%dT%H:%M:%S+00:00",
                                       "%Y%m%dT%H%M%S"};
    char s[64];
    strftime(s, sizeof s, fmts[f], &tm);
    sl_buf_append_str(b, s);
}

/* Renders a JSON value: strings as their text, the rest as compact JSON. */
static void put_json(sl_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        sl_buf_append(b, json_string_value(v), json_string_length(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) sl_buf_append_str(b, s);
    free(s);
}

/* params.a.b: the run's conf first (Airflow's dag_run_conf_overrides_params), then the DAG's
 * params. */
static int put_param(sl_buf *b, const char *path, const json_t *conf, const sl_tmpl_ctx *ctx,
                     char *err, size_t errlen)
{
    if (conf) {
        const json_t *v = conf;
        char part[TMPL_MAX_NAME];
        const char *p = path;
        while (v && *p) {
            size_t n = strcspn(p, ".");
            snprintf(part, sizeof part, "%.*s", (int)n, p);
            v = json_is_object(v) ? json_object_get(v, part) : NULL;
            p += n + (p[n] == '.');
        }
        if (v) {
            put_json(b, v);
            return 0;
        }
    }
    const sl_yaml *y = ctx->params ? sl_yaml_get(ctx->params, path) : NULL;
    if (!y)
        return fail(err, errlen, "{{ params.%s }}: no such param (not in params or conf)", path);
    if (y->kind != SL_YAML_SCALAR)
        return fail(err, errlen, "{{ params.%s }}: is a %s, not a value", path,
                    y->kind == SL_YAML_MAP ? "map" : "list");
    if (y->scalar) sl_buf_append_str(b, y->scalar);
    return 0;
}

static int put_name(sl_buf *b, const char *name, const json_t *conf, const sl_tmpl_ctx *ctx,
                    char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int which; /* 0..3 time_fmt of the interval start; 4 start ts; 5 end ts */
    } times[] = {
        {"ds", FMT_DS},           {"ds_nodash", FMT_DS_NODASH},
        {"ts", FMT_TS},           {"ts_nodash", FMT_TS_NODASH},
        {"logical_date", FMT_TS}, {"data_interval_start", 4},
        {"data_interval_end", 5},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(times); i++) {
        if (strcmp(name, times[i].name) != 0) continue;
        if (times[i].which == 5)
            put_time(b, ctx->interval_end_ms, FMT_TS);
        else
            put_time(b, ctx->interval_start_ms,
                     times[i].which == 4 ? FMT_TS : (time_fmt)times[i].which);
        return 0;
    }
    const char *s = NULL;
    if (strcmp(name, "run_id") == 0)
        s = ctx->run_id;
    else if (strcmp(name, "dag.dag_id") == 0 || strcmp(name, "dag_id") == 0)
        s = ctx->dag_id;
    else if (strcmp(name, "task.task_id") == 0 || strcmp(name, "task_id") == 0)
        s = ctx->task_id;
    if (s) {
        sl_buf_append_str(b, s);
        return 0;
    }
    if (strcmp(name, "try_number") == 0 || strcmp(name, "ti.try_number") == 0) {
        sl_buf_printf(b, "%d", ctx->try_number);
        return 0;
    }
    if (strncmp(name, "params.", 7) == 0 && name[7])
        return put_param(b, name + 7, conf, ctx, err, errlen);
    return fail(err, errlen,
                "{{ %s }}: unknown name (ds, ds_nodash, ts, ts_nodash, logical_date, "
                "data_interval_start, data_interval_end, run_id, dag.dag_id, task.task_id, "
                "try_number, params.NAME)",
                name);
}

int sl_tmpl_render(const char *text, const sl_tmpl_ctx *ctx, char **out, char *err, size_t errlen)
{
    *out = NULL;
    json_t *conf = NULL;
    if (ctx->conf_json && *ctx->conf_json) {
        json_error_t je;
        conf = json_loads(ctx->conf_json, JSON_DECODE_ANY, &je);
        if (!conf) return fail(err, errlen, "conf is not JSON: %s", je.text);
        if (!json_is_object(conf)) {
            json_decref(conf);
            return fail(err, errlen, "conf is not a JSON object");
        }
    }
    sl_buf b = SL_BUF_INIT;
    const char *p = text;
    int rc = 0;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            sl_buf_append_str(&b, p);
            break;
        }
        sl_buf_append(&b, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            rc = fail(err, errlen, "\"{{\" at offset %zu is not closed by \"}}\"",
                      (size_t)(open - text));
            break;
        }
        const char *s = open + 2, *e = close;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        size_t n = (size_t)(e - s);
        if (n >= 2 && (*s == '\'' || *s == '"') && e[-1] == *s && !memchr(s + 1, *s, n - 2)) {
            /* a quoted literal, Jinja's way to write "{{" itself: {{ '{{' }} */
            sl_buf_append(&b, s + 1, n - 2);
        } else if (n == 0 || n >= TMPL_MAX_NAME) {
            rc = fail(err, errlen, "\"{{ }}\" at offset %zu: %s", (size_t)(open - text),
                      n ? "name too long" : "empty");
            break;
        } else {
            char name[TMPL_MAX_NAME];
            memcpy(name, s, n);
            name[n] = '\0';
            rc = put_name(&b, name, conf, ctx, err, errlen);
            if (rc) break;
        }
        p = close + 2;
    }
    json_decref(conf);
    if (rc) {
        sl_buf_free(&b);
        return rc;
    }
    *out = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    return 0;
}
