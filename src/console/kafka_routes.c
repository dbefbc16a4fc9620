/* kafka_routes.c: the Topics and Consumer groups pages' /api/ routes (docs/console.md). Each
 * handler checks its path and arguments on the loop thread, then runs the librdkafka work on a
 * worker through sl_console_offload.
 *
 *   GET  /api/topics                      the topic list
 *   GET  /api/topics/{t}                  partitions, configs, rate history, groups
 *   GET  /api/topics/{t}/messages?...     the message browser
 *   POST /api/topics/{t}/messages         produce one message
 *   GET  /api/groups                      the group list
 *   GET  /api/groups/{g}                  members, offsets, lag, lag history
 *   POST /api/groups/{g}/offsets          reset an empty group's offsets */
#include "console/console_int.h"
#include "console/kafka_int.h"

#define TOPIC_NAME_MAX 249 /* Kafka's limit */
#define GROUP_NAME_MAX 255

typedef enum {
    JOB_TOPICS,
    JOB_TOPIC,
    JOB_BROWSE,
    JOB_PRODUCE,
    JOB_GROUPS,
    JOB_GROUP,
    JOB_RESET,
} job_kind;

/* One request's work; sender: the route handler on the loop, receiver: a worker, then the loop
 * again for job_free. */
typedef struct job {
    job_kind kind;
    sl_kview *k;
    char *name;
    sl_browse_query q;
    sl_buf body;
} job;

static void job_work(void *arg, sl_http_resp *resp)
{
    job *j = arg;
    sl_ck_answer a = {0};
    switch (j->kind) {
    case JOB_TOPICS: sl_console_kafka_topics(j->k, &a); break;
    case JOB_TOPIC: sl_console_kafka_topic(j->k, j->name, &a); break;
    case JOB_BROWSE: sl_console_kafka_browse(j->k, j->name, &j->q, &a); break;
    case JOB_PRODUCE: sl_console_kafka_produce(j->k, j->name, sl_buf_slice(&j->body), &a); break;
    case JOB_GROUPS: sl_console_kafka_groups(j->k, &a); break;
    case JOB_GROUP: sl_console_kafka_group(j->k, j->name, &a); break;
    case JOB_RESET: sl_console_kafka_reset(j->k, j->name, sl_buf_slice(&j->body), &a); break;
    }
    resp->status = a.status ? a.status : 500;
    sl_buf_move(&resp->body, &a.body);
}

static void job_free(void *arg)
{
    job *j = arg;
    sl_console_kafka_release(j->k);
    sl_browse_query_free(&j->q);
    sl_buf_free(&j->body);
    sl_free(j->name);
    sl_free(j);
}

static void start(sl_http_req *req, sl_console *c, job_kind kind, const char *name, size_t len,
                  job *j)
{
    if (!j) j = sl_calloc(1, sizeof *j);
    j->kind = kind;
    j->k = sl_console_kafka_keep(sl_console_kview(c));
    if (name) j->name = sl_strndup(name, len);
    sl_slice body = sl_http_req_body(req);
    if (body.len) sl_buf_append(&j->body, body.ptr, body.len);
    sl_console_offload(req, job_work, j, job_free);
}

/* Kafka's legal topic names: 1..249 of [a-zA-Z0-9._-]. */
static bool topic_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static void api_topics(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(resp);
    start(req, arg, JOB_TOPICS, NULL, 0, NULL);
}

/* Splits "/api/topics/T[/messages]"; returns false (answered) on a bad path. */
static bool topic_path(sl_http_req *req, sl_http_resp *resp, const char **name, size_t *len,
                       bool *messages)
{
    const char *rest = sl_http_req_path(req) + strlen("/api/topics/");
    const char *slash = strchr(rest, '/');
    *name = rest;
    *len = slash ? (size_t)(slash - rest) : strlen(rest);
    *messages = slash && !strcmp(slash, "/messages");
    if (slash && !*messages) {
        sl_http_resp_error(resp, 404, "not found");
        return false;
    }
    if (!topic_ok(rest, *len)) {
        sl_http_resp_error(resp, 400,
                           "invalid topic name: 1-249 characters of a-z, A-Z, 0-9, '.', '_', '-'");
        return false;
    }
    return true;
}

static void api_topic_get(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *name;
    size_t len;
    bool messages;
    if (!topic_path(req, resp, &name, &len, &messages)) return;
    if (!messages) {
        start(req, arg, JOB_TOPIC, name, len, NULL);
        return;
    }
    job *j = sl_calloc(1, sizeof *j);
    char err[160];
    if (sl_browse_query_parse(&j->q, sl_http_req_arg(req, "partition"),
                              sl_http_req_arg(req, "from"), sl_http_req_arg(req, "offset"),
                              sl_http_req_arg(req, "timestamp"), sl_http_req_arg(req, "limit"),
                              sl_http_req_arg(req, "q"), sl_http_req_arg(req, "in"), err,
                              sizeof err)) {
        sl_http_resp_error(resp, 400, err);
        sl_free(j);
        return;
    }
    start(req, arg, JOB_BROWSE, name, len, j);
}

static void api_topic_post(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *name;
    size_t len;
    bool messages;
    if (!topic_path(req, resp, &name, &len, &messages)) return;
    if (!messages) {
        sl_http_resp_error(resp, 405, "method not allowed");
        return;
    }
    start(req, arg, JOB_PRODUCE, name, len, NULL);
}

static void api_groups(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(resp);
    start(req, arg, JOB_GROUPS, NULL, 0, NULL);
}

static bool group_ok(sl_http_resp *resp, size_t n)
{
    if (n > 0 && n <= GROUP_NAME_MAX) return true;
    sl_http_resp_error(resp, 400, "invalid group id: 1-255 characters");
    return false;
}

static void api_group_get(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *rest = sl_http_req_path(req) + strlen("/api/groups/");
    if (group_ok(resp, strlen(rest))) start(req, arg, JOB_GROUP, rest, strlen(rest), NULL);
}

static void api_group_post(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *rest = sl_http_req_path(req) + strlen("/api/groups/");
    size_t n = strlen(rest), suffix = strlen("/offsets");
    if (n <= suffix || strcmp(rest + n - suffix, "/offsets")) {
        sl_http_resp_error(resp, n > 0 && !strchr(rest, '/') ? 405 : 404,
                           n > 0 && !strchr(rest, '/') ? "method not allowed" : "not found");
        return;
    }
    if (group_ok(resp, n - suffix)) start(req, arg, JOB_RESET, rest, n - suffix, NULL);
}

const sl_http_route sl_console_kafka_routes[] = {
    {NULL, "/api/topics", api_topics},
    {NULL, "/api/topics/*", api_topic_get},
    {"POST", "/api/topics/*", api_topic_post},
    {NULL, "/api/groups", api_groups},
    {NULL, "/api/groups/*", api_group_get},
    {"POST", "/api/groups/*", api_group_post},
    {NULL, NULL, NULL},
};
