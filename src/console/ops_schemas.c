/* ops_schemas.c: the Schemas page over the Schema Registry's REST API (--registry), with
 * libcurl on a worker thread, one keep-alive handle per call of ours:
 *   GET  /api/schemas                       global compatibility, every subject with its
 *                                           versions, latest id and type, and its level;
 *   GET  /api/schemas/{subject}             its level (and whether it is the subject's own or
 *                                           the global one) and every version's schema;
 *   GET  /api/schemas/{subject}/diff?from=A&to=B   a line diff of two versions, pretty-printed;
 *   PUT  /api/schemas/{subject}/config      {"compatibility": LEVEL} for the subject;
 *   POST /api/schemas/{subject}/versions    {"schema", "schemaType", "check_only"}: the
 *                                           registry's compatibility check against the
 *                                           subject's versions (verbose), then, if it passes,
 *                                           the registration.
 * The registry's own error codes and messages are passed on in {"error", "error_code"}. */
#include "console/ops_int.h"

#include "core/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_TIMEOUT_MS 10000
#define REG_MAX_BODY   (8 << 20)
#define DIFF_MAX_CELLS (1 << 20) /* lines(a) x lines(b) the LCS table may hold */
#define REG_CONTENT    "Content-Type: application/vnd.schemaregistry.v1+json"

typedef enum { OP_LIST, OP_SUBJECT, OP_DIFF, OP_CONFIG, OP_REGISTER } reg_op;

/* One request's work, copied on the loop thread. */
typedef struct reg_job {
    reg_op op;
    char *base, *subject;
    char *body; /* PUT/POST: the JSON to send on (already checked) */
    long from, to;
    bool check_only;
    CURL *curl;
    sl_buf in;
} reg_job;

static void reg_job_free(void *arg)
{
    reg_job *j = arg;
    sl_free(j->base);
    sl_free(j->subject);
    sl_free(j->body);
    sl_buf_free(&j->in);
    sl_free(j);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    sl_buf *b = arg;
    if (b->len + size * n > REG_MAX_BODY) return 0;
    sl_buf_append(b, p, size * n);
    return size * n;
}

/* One call to the registry: method, a path under the base URL (the subject already escaped),
 * an optional JSON body. Returns the HTTP status with the parsed answer in *out (NULL when it
 * is not JSON), or 0 when the registry could not be reached (the reason in err). */
static long reg_call(reg_job *j, const char *method, const char *path, const char *body,
                     json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", j->base, path);
    sl_buf_reset(&j->in);
    CURL *c = j->curl;
    curl_easy_reset(c);
    struct curl_slist *hdr = curl_slist_append(NULL, REG_CONTENT);
    hdr = curl_slist_append(hdr, "Accept: application/vnd.schemaregistry.v1+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &j->in);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)REG_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "the registry at %s cannot be reached: %s", j->base,
                 curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    *out = json_loadb((const char *)j->in.ptr, j->in.len, 0, NULL);
    return status;
}

/* Answers a registry failure: unreachable is 502; an error status is passed on with the
 * registry's {"error_code", "message"} as {"error", "error_code"}. */
static void reg_fail(sl_http_resp *resp, long status, json_t *ans, const char *err)
{
    if (status == 0) {
        sl_http_resp_error(resp, 502, err);
    } else {
        const char *msg = json_string_value(json_object_get(ans, "message"));
        char m[600];
        if (!msg) {
            snprintf(m, sizeof m, "the registry answered HTTP %ld", status);
            msg = m;
        }
        sl__ops_send(resp, status >= 400 && status < 600 ? (int)status : 502,
                     json_pack("{s:s, s:O?}", "error", msg, "error_code",
                               json_object_get(ans, "error_code")));
    }
    json_decref(ans);
}

/* "/subjects/ESCAPED" + rest into buf. */
static const char *subject_path(reg_job *j, const char *prefix, const char *rest, char *buf,
                                size_t len)
{
    char *esc = curl_easy_escape(j->curl, j->subject, 0);
    snprintf(buf, len, "%s%s%s", prefix, esc ? esc : "", rest);
    curl_free(esc);
    return buf;
}

/* The subject's compatibility level and where it comes from. NULL after answering a failure. */
static json_t *level_of(reg_job *j, sl_http_resp *resp, const char *global)
{
    char path[1024], err[512];
    json_t *a;
    long st = reg_call(j, "GET", subject_path(j, "/config/", "", path, sizeof path), NULL, &a, err,
                       sizeof err);
    const char *lv = json_string_value(json_object_get(a, "compatibilityLevel"));
    if (st == 200 && lv) {
        json_t *r = json_pack("{s:s, s:s}", "level", lv, "source", "subject");
        json_decref(a);
        return r;
    }
    if (st == 404) {
        json_decref(a);
        return json_pack("{s:s?, s:s}", "level", global, "source", "global");
    }
    reg_fail(resp, st, a, err);
    return NULL;
}

/* The global level, or NULL after answering a failure. *level borrows from the result. */
static json_t *global_level(reg_job *j, sl_http_resp *resp)
{
    char err[512];
    json_t *a;
    long st = reg_call(j, "GET", "/config", NULL, &a, err, sizeof err);
    if (st == 200 && json_is_string(json_object_get(a, "compatibilityLevel"))) return a;
    reg_fail(resp, st, a, err);
    return NULL;
}

static void do_list(reg_job *j, sl_http_resp *resp)
{
    char err[512], path[1024];
    json_t *g = global_level(j, resp), *subjects;
    if (!g) return;
    const char *global = json_string_value(json_object_get(g, "compatibilityLevel"));
    long st = reg_call(j, "GET", "/subjects", NULL, &subjects, err, sizeof err);
    if (st != 200 || !json_is_array(subjects)) {
        json_decref(g);
        reg_fail(resp, st, subjects, err);
        return;
    }
    json_t *list = json_array(), *v;
    size_t i;
    json_array_foreach(subjects, i, v)
    {
        if (!json_is_string(v)) continue;
        sl_free(j->subject);
        j->subject = sl_strdup(json_string_value(v));
        json_t *versions, *latest, *level = level_of(j, resp, global);
        if (!level) goto fail;
        long s1 = reg_call(j, "GET", subject_path(j, "/subjects/", "/versions", path, sizeof path),
                           NULL, &versions, err, sizeof err);
        if (s1 != 200) {
            json_decref(level);
            reg_fail(resp, s1, versions, err);
            goto fail;
        }
        long s2 =
            reg_call(j, "GET", subject_path(j, "/subjects/", "/versions/latest", path, sizeof path),
                     NULL, &latest, err, sizeof err);
        if (s2 != 200) {
            json_decref(level);
            json_decref(versions);
            reg_fail(resp, s2, latest, err);
            goto fail;
        }
        const char *type = json_string_value(json_object_get(latest, "schemaType"));
        json_array_append_new(list, json_pack("{s:O, s:o, s:O?, s:O?, s:s, s:o}", "subject", v,
                                              "versions", versions, "latest_version",
                                              json_object_get(latest, "version"), "latest_id",
                                              json_object_get(latest, "id"), "schemaType",
                                              type ? type : "AVRO", "compatibility", level));
        json_decref(latest);
    }
    sl__ops_send(resp, 200, json_pack("{s:s, s:o}", "compatibility", global, "subjects", list));
    json_decref(g);
    json_decref(subjects);
    return;
fail:
    json_decref(g);
    json_decref(subjects);
    json_decref(list);
}

/* A schema as the page shows it: JSON pretty-printed in its own key order, other text as is. */
static char *pretty(const char *schema)
{
    json_t *s = json_loads(schema, JSON_DECODE_ANY, NULL);
    char *out = s ? json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    char *r = sl_strdup(out ? out : schema);
    free(out);
    return r;
}

/* Version v of the subject ("latest" when v is 0), or NULL after answering a failure. */
static json_t *get_version(reg_job *j, sl_http_resp *resp, long v)
{
    char rest[64], path[1024], err[512];
    if (v)
        snprintf(rest, sizeof rest, "/versions/%ld", v);
    else
        snprintf(rest, sizeof rest, "/versions/latest");
    json_t *a;
    long st = reg_call(j, "GET", subject_path(j, "/subjects/", rest, path, sizeof path), NULL, &a,
                       err, sizeof err);
    if (st == 200 && json_is_string(json_object_get(a, "schema"))) {
        if (!json_object_get(a, "schemaType"))
            json_object_set_new(a, "schemaType", json_string("AVRO"));
        char *p = pretty(json_string_value(json_object_get(a, "schema")));
        json_object_set_new(a, "pretty", json_string(p));
        sl_free(p);
        return a;
    }
    reg_fail(resp, st, a, err);
    return NULL;
}

static void do_subject(reg_job *j, sl_http_resp *resp)
{
    char path[1024], err[512];
    json_t *g = global_level(j, resp), *versions;
    if (!g) return;
    json_t *level = level_of(j, resp, json_string_value(json_object_get(g, "compatibilityLevel")));
    json_decref(g);
    if (!level) return;
    long st = reg_call(j, "GET", subject_path(j, "/subjects/", "/versions", path, sizeof path),
                       NULL, &versions, err, sizeof err);
    if (st != 200 || !json_is_array(versions)) {
        json_decref(level);
        reg_fail(resp, st, versions, err);
        return;
    }
    json_t *list = json_array(), *v;
    size_t i;
    json_array_foreach(versions, i, v)
    {
        json_t *one = get_version(j, resp, (long)json_integer_value(v));
        if (!one) {
            json_decref(list);
            json_decref(level);
            json_decref(versions);
            return;
        }
        json_array_append_new(list, one);
    }
    json_decref(versions);
    sl__ops_send(resp, 200,
                 json_pack("{s:s, s:o, s:o}", "subject", j->subject, "compatibility", level,
                           "versions", list));
}

/* Splits text into lines (pointers into text, which is modified). */
static size_t split_lines(char *text, char ***out)
{
    size_t n = 1;
    for (char *p = text; *p; p++)
        n += *p == '\n';
    char **v = sl_calloc(n, sizeof *v);
    size_t k = 0;
    for (char *p = text, *nl; p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = 0;
        v[k++] = p;
    }
    *out = v;
    return k;
}

/* A line diff of a and b from their longest common subsequence: [[" "|"-"|"+", line], ...].
 * NULL when the table would exceed DIFF_MAX_CELLS. */
static json_t *line_diff(char *a, char *b)
{
    char **x, **y;
    size_t n = split_lines(a, &x), m = split_lines(b, &y);
    json_t *out = NULL;
    if ((n + 1) * (m + 1) <= DIFF_MAX_CELLS) {
        /* L[i][j]: the LCS length of x[i..] and y[j..] */
        uint32_t *L = sl_calloc((n + 1) * (m + 1), sizeof *L);
#define AT(i, k) L[(i) * (m + 1) + (k)]
        for (size_t i = n; i-- > 0;)
            for (size_t k = m; k-- > 0;)
                AT(i, k) = strcmp(x[i], y[k]) == 0 ? AT(i + 1, k + 1) + 1
                                                   : SL_MAX(AT(i + 1, k), AT(i, k + 1));
        out = json_array();
        size_t i = 0, k = 0;
        while (i < n || k < m) {
            if (i < n && k < m && strcmp(x[i], y[k]) == 0) {
                json_array_append_new(out, json_pack("[s, s]", " ", x[i]));
                i++, k++;
            } else if (k < m && (i == n || AT(i, k + 1) >= AT(i + 1, k))) {
                json_array_append_new(out, json_pack("[s, s]", "+", y[k++]));
            } else {
                json_array_append_new(out, json_pack("[s, s]", "-", x[i++]));
            }
        }
#undef AT
        sl_free(L);
    }
    sl_free(x);
    sl_free(y);
    return out;
}

static void do_diff(reg_job *j, sl_http_resp *resp)
{
    json_t *a = get_version(j, resp, j->from);
    if (!a) return;
    json_t *b = get_version(j, resp, j->to);
    if (!b) {
        json_decref(a);
        return;
    }
    char *ta = sl_strdup(json_string_value(json_object_get(a, "pretty")));
    char *tb = sl_strdup(json_string_value(json_object_get(b, "pretty")));
    json_t *lines = line_diff(ta, tb);
    if (lines)
        sl__ops_send(resp, 200,
                     json_pack("{s:s, s:O, s:O, s:o}", "subject", j->subject, "from",
                               json_object_get(a, "version"), "to", json_object_get(b, "version"),
                               "lines", lines));
    else
        sl_http_resp_error(resp, 413, "the two schemas are too long to diff");
    sl_free(ta);
    sl_free(tb);
    json_decref(a);
    json_decref(b);
}

static void do_config(reg_job *j, sl_http_resp *resp)
{
    char path[1024], err[512];
    json_t *a;
    long st = reg_call(j, "PUT", subject_path(j, "/config/", "", path, sizeof path), j->body, &a,
                       err, sizeof err);
    if (st == 200)
        sl__ops_send(resp, 200, a);
    else
        reg_fail(resp, st, a, err);
}

/* The check first (so the page can show why a schema is refused), then the registration. A
 * subject without versions has nothing to be compatible with. */
static void do_register(reg_job *j, sl_http_resp *resp)
{
    char path[1024], err[512];
    json_t *g = global_level(j, resp);
    if (!g) return;
    json_t *level = level_of(j, resp, json_string_value(json_object_get(g, "compatibilityLevel")));
    json_decref(g);
    if (!level) return;
    json_t *a;
    long st = reg_call(
        j, "POST",
        subject_path(j, "/compatibility/subjects/", "/versions?verbose=true", path, sizeof path),
        j->body, &a, err, sizeof err);
    json_t *check;
    if (st == 200 && json_is_boolean(json_object_get(a, "is_compatible"))) {
        json_t *msgs = json_object_get(a, "messages");
        check = json_pack("{s:O, s:O, s:O}", "is_compatible", json_object_get(a, "is_compatible"),
                          "messages", msgs ? msgs : json_array(), "level",
                          json_object_get(level, "level"));
        json_decref(a);
    } else if (st == 404 && json_integer_value(json_object_get(a, "error_code")) == 40401) {
        check = json_pack("{s:b, s:[s], s:O}", "is_compatible", 1, "messages",
                          "the subject has no versions yet: nothing to be compatible with", "level",
                          json_object_get(level, "level"));
        json_decref(a);
    } else {
        json_decref(level);
        reg_fail(resp, st, a, err);
        return;
    }
    json_decref(level);
    if (j->check_only || !json_is_true(json_object_get(check, "is_compatible"))) {
        sl__ops_send(resp, 200, json_pack("{s:o, s:n}", "compatibility", check, "registered"));
        return;
    }
    st = reg_call(j, "POST", subject_path(j, "/subjects/", "/versions", path, sizeof path), j->body,
                  &a, err, sizeof err);
    if (st != 200 || !json_is_integer(json_object_get(a, "id"))) {
        json_decref(check);
        reg_fail(resp, st, a, err);
        return;
    }
    json_decref(a);
    /* the version number: the registration answers only the id */
    st = reg_call(j, "POST", subject_path(j, "/subjects/", "", path, sizeof path), j->body, &a, err,
                  sizeof err);
    if (st != 200) {
        json_decref(check);
        reg_fail(resp, st, a, err);
        return;
    }
    sl__ops_send(resp, 200,
                 json_pack("{s:o, s:{s:O, s:O}}", "compatibility", check, "registered", "id",
                           json_object_get(a, "id"), "version", json_object_get(a, "version")));
    json_decref(a);
}

static void reg_work(void *arg, sl_http_resp *resp)
{
    reg_job *j = arg;
    j->curl = curl_easy_init();
    if (!j->curl) {
        sl_http_resp_error(resp, 500, "libcurl could not make a handle");
        return;
    }
    switch (j->op) {
    case OP_LIST: do_list(j, resp); break;
    case OP_SUBJECT: do_subject(j, resp); break;
    case OP_DIFF: do_diff(j, resp); break;
    case OP_CONFIG: do_config(j, resp); break;
    case OP_REGISTER: do_register(j, resp); break;
    }
    curl_easy_cleanup(j->curl);
    j->curl = NULL;
}

/* Takes "/api/schemas/SUBJECT[/suffix]" apart: the subject, and whether the path ends with
 * suffix (a subject named like ".../diff" must be reached without the page). */
static char *subject_of(sl_http_req *req, const char *suffix)
{
    const char *p = sl_http_req_path(req) + strlen("/api/schemas/");
    size_t n = strlen(p), sn = suffix ? strlen(suffix) : 0;
    if (suffix && (n <= sn || strcmp(p + n - sn, suffix) != 0)) return NULL;
    n -= sn;
    if (n == 0) return NULL;
    return sl_strndup(p, n);
}

static reg_job *reg_job_new(sl_console *c, reg_op op, char *subject)
{
    reg_job *j = sl_calloc(1, sizeof *j);
    j->op = op;
    const char *base = sl_console_registry(c);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    j->base = sl_strndup(base, n);
    j->subject = subject;
    return j;
}

static bool version_arg(sl_http_req *req, const char *name, long *out)
{
    const char *v = sl_http_req_arg(req, name);
    if (!v) return false;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 1000000000L) return false;
    *out = n;
    return true;
}

void sl__ops_schemas(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    const char *path = sl_http_req_path(req);
    reg_job *j;
    char *subject;
    if (strcmp(path, "/api/schemas") == 0) {
        j = reg_job_new(arg, OP_LIST, NULL);
    } else if ((subject = subject_of(req, "/diff")) != NULL) {
        j = reg_job_new(arg, OP_DIFF, subject);
        if (!version_arg(req, "from", &j->from) || !version_arg(req, "to", &j->to)) {
            reg_job_free(j);
            sl_http_resp_error(resp, 400, "from, to: expected two version numbers >= 1");
            return;
        }
    } else if ((subject = subject_of(req, NULL)) != NULL) {
        j = reg_job_new(arg, OP_SUBJECT, subject);
    } else {
        sl_http_resp_error(resp, 404, "no subject in the path");
        return;
    }
    sl_console_offload(req, reg_work, j, reg_job_free);
}

void sl__ops_schemas_put(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    char *subject = subject_of(req, "/config");
    if (!subject) {
        sl_http_resp_error(resp, 404, "PUT takes /api/schemas/{subject}/config");
        return;
    }
    json_t *b = sl__ops_body(req, resp);
    if (!b) {
        sl_free(subject);
        return;
    }
    static const char *const levels[] = {
        "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
        "FULL",     "FULL_TRANSITIVE",     "NONE"};
    const char *lv = json_string_value(json_object_get(b, "compatibility"));
    bool ok = false;
    for (size_t i = 0; lv && i < SL_ARRAY_LEN(levels); i++)
        ok |= strcmp(lv, levels[i]) == 0;
    if (!ok || json_object_size(b) != 1) {
        json_decref(b);
        sl_free(subject);
        sl_http_resp_error(resp, 400,
                           "expected {\"compatibility\": LEVEL}, LEVEL one of BACKWARD,"
                           " BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,"
                           " FULL_TRANSITIVE, NONE");
        return;
    }
    reg_job *j = reg_job_new(arg, OP_CONFIG, subject);
    j->body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    sl_console_offload(req, reg_work, j, reg_job_free);
}

void sl__ops_schemas_post(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    char *subject = subject_of(req, "/versions");
    if (!subject) {
        sl_http_resp_error(resp, 404, "POST takes /api/schemas/{subject}/versions");
        return;
    }
    json_t *b = sl__ops_body(req, resp);
    if (!b) {
        sl_free(subject);
        return;
    }
    json_t *schema = json_object_get(b, "schema"), *type = json_object_get(b, "schemaType");
    json_t *only = json_object_get(b, "check_only");
    const char *msg = NULL;
    if (!json_is_string(schema) || json_string_length(schema) == 0)
        msg = "schema: required, the schema as a string";
    else if (type && !json_is_string(type))
        msg = "schemaType: expected AVRO, JSON or PROTOBUF";
    else if (only && !json_is_boolean(only))
        msg = "check_only: expected true or false";
    if (msg) {
        json_decref(b);
        sl_free(subject);
        sl_http_resp_error(resp, 400, msg);
        return;
    }
    reg_job *j = reg_job_new(arg, OP_REGISTER, subject);
    j->check_only = json_is_true(only);
    json_t *fwd = json_pack("{s:O}", "schema", schema);
    if (type) json_object_set(fwd, "schemaType", type);
    json_t *refs = json_object_get(b, "references");
    if (refs) json_object_set(fwd, "references", refs);
    j->body = json_dumps(fwd, JSON_COMPACT);
    json_decref(fwd);
    json_decref(b);
    sl_console_offload(req, reg_work, j, reg_job_free);
}
