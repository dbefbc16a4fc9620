/* alerts.c: alert rules over the collector's samples (see collect_int.h).
 *
 * A rule is {name, metric, target, op, threshold, for}: metric is consumer_lag (of a group),
 * records_per_s (into a topic), dlq_per_s (into the DLQ topic) or failed_dag_runs (DAGs whose
 * latest run failed). A rule whose condition holds for `for` fires; it resolves when the
 * condition stops holding. Each transition goes to the history (DATA_DIR/alerts-history.jsonl,
 * appended), the log, and the webhook (a JSON POST through libcurl). A metric that could not be
 * read (its component down) leaves the rule as it is. */
#include "console/collect_int.h"

#include "core/log.h"
#include "core/sl.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_RULES 64
#define HISTORY   200

typedef enum { M_LAG, M_RECORDS, M_DLQ, M_FAILED_RUNS } metric;

static const char *const metric_names[] = {"consumer_lag", "records_per_s", "dlq_per_s",
                                           "failed_dag_runs"};

typedef struct rule {
    char name[128], target[256];
    metric m;
    bool less; /* op "<" rather than ">" */
    double threshold;
    int64_t for_ms;
    /* state */
    int64_t pending_since; /* wall ms the condition started holding; 0: it does not */
    bool firing;
    int64_t since;
    double value;
} rule;

struct col_alerts {
    const sl_console_config *cfg;
    pthread_mutex_t mu;
    rule rules[MAX_RULES];
    size_t nrules;
    json_t *history; /* array, oldest first, at most HISTORY */
    char rules_path[4096], history_path[4096];
};

static json_t *rule_json(const rule *r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:I}", "name", r->name, "metric",
                     metric_names[r->m], "target", r->target, "op", r->less ? "<" : ">",
                     "threshold", r->threshold, "for_ms", (json_int_t)r->for_ms);
}

/* One rule from JSON; false with a reason naming the rule's index. */
static bool rule_parse(const sl_console_config *cfg, json_t *j, size_t i, rule *r, char *err,
                       size_t errlen)
{
    memset(r, 0, sizeof *r);
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *m = json_string_value(json_object_get(j, "metric"));
    const char *target = json_string_value(json_object_get(j, "target"));
    const char *op = json_string_value(json_object_get(j, "op"));
    json_t *th = json_object_get(j, "threshold");
    json_t *fr = json_object_get(j, "for_ms");
    const char *fs = json_string_value(json_object_get(j, "for"));
    if (!json_is_object(j) || !name || !*name || strlen(name) >= sizeof r->name) {
        snprintf(err, errlen, "rule %zu: want an object with a name (1-127 chars)", i);
        return false;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    size_t k = 0;
    while (k < SL_ARRAY_LEN(metric_names) && (!m || strcmp(m, metric_names[k])))
        k++;
    if (k == SL_ARRAY_LEN(metric_names)) {
        snprintf(err, errlen,
                 "rule %zu (%s): metric must be consumer_lag, records_per_s, dlq_per_s or "
                 "failed_dag_runs",
                 i, name);
        return false;
    }
    r->m = (metric)k;
    if (op && strcmp(op, "<") && strcmp(op, ">")) {
        snprintf(err, errlen, "rule %zu (%s): op must be \"<\" or \">\"", i, name);
        return false;
    }
    r->less = op && !strcmp(op, "<");
    if (!json_is_number(th) || !isfinite(json_number_value(th))) {
        snprintf(err, errlen, "rule %zu (%s): threshold must be a number", i, name);
        return false;
    }
    r->threshold = json_number_value(th);
    if (fs) {
        if (sl_parse_duration_ms(fs, &r->for_ms) || r->for_ms < 0) {
            snprintf(err, errlen, "rule %zu (%s): for must be a duration such as \"30s\"", i, name);
            return false;
        }
    } else if (fr) {
        if (!json_is_integer(fr) || json_integer_value(fr) < 0) {
            snprintf(err, errlen, "rule %zu (%s): for_ms must be an integer >= 0", i, name);
            return false;
        }
        r->for_ms = json_integer_value(fr);
    }
    const char *def = r->m == M_LAG       ? cfg->group
                      : r->m == M_DLQ     ? cfg->dlq_topic
                      : r->m == M_RECORDS ? cfg->topic
                                          : "";
    if (target && strlen(target) >= sizeof r->target) {
        snprintf(err, errlen, "rule %zu (%s): target too long", i, name);
        return false;
    }
    snprintf(r->target, sizeof r->target, "%s", target ? target : def);
    return true;
}

static int parse_rules(col_alerts *a, json_t *rules, rule *out, size_t *n, char *err, size_t errlen)
{
    if (!json_is_array(rules) || json_array_size(rules) > MAX_RULES) {
        snprintf(err, errlen, "rules must be an array of at most %d rules", MAX_RULES);
        return SL_ERR_INVAL;
    }
    for (size_t i = 0; i < json_array_size(rules); i++)
        if (!rule_parse(a->cfg, json_array_get(rules, i), i, &out[i], err, errlen))
            return SL_ERR_INVAL;
    *n = json_array_size(rules);
    return 0;
}

static void default_rules(col_alerts *a)
{
    json_t *d =
        json_pack("[{s:s, s:s, s:s, s:f, s:s}, {s:s, s:s, s:s, s:f, s:s},"
                  " {s:s, s:s, s:s, s:f, s:s}]",
                  "name", "consumer lag", "metric", "consumer_lag", "op", ">", "threshold", 10000.0,
                  "for", "1m", "name", "records into the DLQ", "metric", "dlq_per_s", "op", ">",
                  "threshold", 0.0, "for", "0s", "name", "DAG run failed", "metric",
                  "failed_dag_runs", "op", ">", "threshold", 0.0, "for", "0s");
    char err[256];
    parse_rules(a, d, a->rules, &a->nrules, err, sizeof err);
    json_decref(d);
}

col_alerts *col_alerts_new(const sl_console_config *cfg)
{
    col_alerts *a = sl_calloc(1, sizeof *a);
    a->cfg = cfg;
    pthread_mutex_init(&a->mu, NULL);
    snprintf(a->rules_path, sizeof a->rules_path, "%s/alerts.json", cfg->data_dir);
    snprintf(a->history_path, sizeof a->history_path, "%s/alerts-history.jsonl", cfg->data_dir);
    json_error_t je;
    json_t *rules = json_load_file(a->rules_path, 0, &je);
    char err[256];
    if (!rules) {
        default_rules(a);
    } else if (parse_rules(a, rules, a->rules, &a->nrules, err, sizeof err)) {
        SL_ERROR("console", "%s: %s; using the default rules", a->rules_path, err);
        default_rules(a);
    }
    json_decref(rules);
    a->history = json_array();
    FILE *f = fopen(a->history_path, "r");
    char line[2048];
    while (f && fgets(line, sizeof line, f)) {
        json_t *e = json_loads(line, 0, NULL);
        if (json_is_object(e))
            json_array_append_new(a->history, e);
        else
            json_decref(e);
        if (json_array_size(a->history) > HISTORY) json_array_remove(a->history, 0);
    }
    if (f) fclose(f);
    return a;
}

void col_alerts_free(col_alerts *a)
{
    if (!a) return;
    json_decref(a->history);
    pthread_mutex_destroy(&a->mu);
    sl_free(a);
}

/* The rule's metric in s, or NAN when it could not be read. */
static double value_of(const rule *r, const col_sample *s)
{
    switch (r->m) {
    case M_LAG:
        if (!s->up[COL_BROKER]) return NAN;
        for (size_t i = 0; i < s->ngroups; i++)
            if (!strcmp(s->groups[i].name, r->target))
                return s->groups[i].lag < 0 ? NAN : (double)s->groups[i].lag;
        return 0; /* no such group (yet): nothing unconsumed by it */
    case M_RECORDS:
    case M_DLQ:
        if (!s->up[COL_BROKER]) return NAN;
        for (size_t i = 0; i < s->ntopics; i++)
            if (!strcmp(s->topics[i].name, r->target)) return s->topics[i].rate;
        return 0;
    case M_FAILED_RUNS: return s->up[COL_SCHEDULER] ? (double)s->dags_failed : NAN;
    }
    return NAN;
}

static size_t webhook_sink(char *p, size_t size, size_t n, void *arg)
{
    SL_UNUSED(p);
    SL_UNUSED(arg);
    return size * n;
}

static void notify(col_alerts *a, json_t *ev)
{
    const char *name = json_string_value(json_object_get(ev, "rule"));
    const char *state = json_string_value(json_object_get(ev, "state"));
    double v = json_number_value(json_object_get(ev, "value"));
    if (!strcmp(state, "firing"))
        SL_WARN("alerts", "alert \"%s\" firing: value %g", name, v);
    else
        SL_INFO("alerts", "alert \"%s\" resolved: value %g", name, v);
    if (!a->cfg->webhook) return;
    char *body = json_dumps(ev, JSON_COMPACT);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, a->cfg->webhook);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, webhook_sink);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status >= 300)
        SL_WARN("alerts", "webhook for alert \"%s\" failed: %s", name,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "the receiver answered an error");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
}

void col_alerts_eval(col_alerts *a, const col_sample *s)
{
    json_t *events = json_array();
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nrules; i++) {
        rule *r = &a->rules[i];
        double v = value_of(r, s);
        if (isnan(v)) continue;
        r->value = v;
        bool holds = r->less ? v < r->threshold : v > r->threshold;
        if (holds && !r->pending_since) r->pending_since = s->t_ms;
        if (!holds) r->pending_since = 0;
        bool fire = holds && s->t_ms - r->pending_since >= r->for_ms;
        if (fire == r->firing) continue;
        r->firing = fire;
        r->since = s->t_ms;
        json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:f, s:f}", "t", (json_int_t)s->t_ms,
                               "rule", r->name, "state", fire ? "firing" : "resolved", "metric",
                               metric_names[r->m], "target", r->target, "op", r->less ? "<" : ">",
                               "threshold", r->threshold, "value", v);
        json_array_append(a->history, ev);
        if (json_array_size(a->history) > HISTORY) json_array_remove(a->history, 0);
        json_array_append_new(events, ev);
    }
    pthread_mutex_unlock(&a->mu);
    FILE *f = json_array_size(events) ? fopen(a->history_path, "a") : NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (f) {
            char *line = json_dumps(ev, JSON_COMPACT);
            fprintf(f, "%s\n", line);
            free(line);
        }
        notify(a, ev);
    }
    if (f) fclose(f);
    json_decref(events);
}

json_t *col_alerts_firing(col_alerts *a)
{
    json_t *out = json_array();
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nrules; i++)
        if (a->rules[i].firing)
            json_array_append_new(out, json_pack("{s:s, s:f, s:I}", "name", a->rules[i].name,
                                                 "value", a->rules[i].value, "since",
                                                 (json_int_t)a->rules[i].since));
    pthread_mutex_unlock(&a->mu);
    return out;
}

json_t *col_alerts_json(col_alerts *a)
{
    json_t *rules = json_array();
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nrules; i++) {
        const rule *r = &a->rules[i];
        json_t *j = rule_json(r);
        json_object_set_new(j, "state",
                            json_string(r->firing          ? "firing"
                                        : r->pending_since ? "pending"
                                                           : "ok"));
        json_object_set_new(j, "value", json_real(r->value));
        json_object_set_new(j, "since", json_integer(r->firing ? r->since : 0));
        json_array_append_new(rules, j);
    }
    json_t *hist = json_deep_copy(a->history);
    pthread_mutex_unlock(&a->mu);
    return json_pack("{s:o, s:o, s:O}", "rules", rules, "history", hist, "webhook",
                     a->cfg->webhook ? json_true() : json_false());
}

int col_alerts_set_rules(col_alerts *a, json_t *rules, char *err, size_t errlen)
{
    rule *parsed = sl_calloc(MAX_RULES, sizeof *parsed);
    size_t n = 0;
    int rc = parse_rules(a, rules, parsed, &n, err, errlen);
    if (rc) {
        sl_free(parsed);
        return rc;
    }
    json_t *saved = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(saved, rule_json(&parsed[i]));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->rules_path);
    if (json_dump_file(saved, tmp, JSON_INDENT(2)) || rename(tmp, a->rules_path)) {
        snprintf(err, errlen, "cannot write %s: %s", a->rules_path, strerror(errno));
        json_decref(saved);
        sl_free(parsed);
        return -EIO;
    }
    json_decref(saved);
    pthread_mutex_lock(&a->mu);
    /* A rule kept by name keeps its state, so editing a threshold does not re-fire it. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < a->nrules; j++)
            if (!strcmp(parsed[i].name, a->rules[j].name) && parsed[i].m == a->rules[j].m) {
                parsed[i].pending_since = a->rules[j].pending_since;
                parsed[i].firing = a->rules[j].firing;
                parsed[i].since = a->rules[j].since;
                parsed[i].value = a->rules[j].value;
            }
    memcpy(a->rules, parsed, n * sizeof *parsed);
    a->nrules = n;
    pthread_mutex_unlock(&a->mu);
    sl_free(parsed);
    return 0;
}
