/* console.c: the console's HTTP server: embedded assets, authentication in front of every /api/
 * route, sessions with CSRF tokens, users, and the worker offload the page modules use.
 *
 * Every request reaches on_request. Paths under /api/ need a caller: a session (cookie
 * sluice_session, set by POST /api/login) or HTTP basic auth. Reads (GET, HEAD) need role
 * viewer. A state change needs role admin and, with a session, the session's CSRF token in the
 * X-CSRF-Token header; with basic auth it needs Content-Type application/json, which a foreign
 * page cannot send without a CORS preflight that this server never grants. */
#include "console/console.h"
#include "console/assets.h"
#include "console/collect_int.h"
#include "console/console_int.h"
#include "console/kafka_int.h"
#include "console/users.h"

#include "auth/auth.h"

#include "core/log.h"
#include "core/sl.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define SESSION_MAX    1024
#define BASIC_CACHE    32
#define BASIC_CACHE_MS 60000
#define TOKEN_BYTES    32

typedef struct session {
    char id[2 * TOKEN_BYTES + 1];
    char csrf[2 * TOKEN_BYTES + 1];
    char user[SL_USERS_NAME_MAX + 1];
    int64_t expires; /* monotonic ms */
} session;

/* A password checked by basic auth, remembered briefly so API clients do not pay PBKDF2 on
 * every call. key is SHA-256(secret || user || ':' || password); the password is not kept. */
typedef struct basic_entry {
    unsigned char key[32];
    char user[SL_USERS_NAME_MAX + 1];
    int64_t expires;
} basic_entry;

struct sl_console {
    uv_loop_t *loop;
    const sl_console_config *cfg;
    sl_http_server *http;
    sl_users *users;
    sl_collector *col;
    char *metadata;
    sl_buf index_html; /* index.html with a script tag for every page_*.js */
    /* The sessions table is shared with login work on worker threads. */
    pthread_mutex_t mu;
    session *sessions;
    size_t nsessions;
    basic_entry basic[BASIC_CACHE];
    unsigned char secret[32];
    /* The caller of the /api/ request being handled (loop thread only). */
    char cur_user[SL_USERS_NAME_MAX + 1];
    sl_role cur_role;
    sl_kview *kview; /* the Topics and Consumer groups pages' clients (kafka_int.h) */
};

sl_kview *sl_console_kview(sl_console *c)
{
    return c->kview;
}

const char *sl_console_kafka(const sl_console *c)
{
    return c->cfg->kafka;
}
const char *sl_console_cql(const sl_console *c)
{
    return c->cfg->cql;
}
const char *sl_console_cql_user(const sl_console *c)
{
    return c->cfg->cql_user;
}
const char *sl_console_cql_tls_ca(const sl_console *c)
{
    return c->cfg->cql_tls_ca;
}

const char *sl_console_cql_password(const sl_console *c)
{
    return c->cfg->cql_password;
}
const char *sl_console_registry(const sl_console *c)
{
    return c->cfg->registry;
}
const char *sl_console_scheduler(const sl_console *c)
{
    return c->cfg->scheduler;
}
const char *sl_console_metadata(const sl_console *c)
{
    return c->metadata;
}
const char *sl_console_dags(const sl_console *c)
{
    return c->cfg->dags;
}
const char *sl_console_data_dir(const sl_console *c)
{
    return c->cfg->data_dir;
}
uv_loop_t *sl_console_loop(sl_console *c)
{
    return c->loop;
}
const char *sl_console_user(const sl_console *c)
{
    return c->cur_user;
}
bool sl_console_is_admin(const sl_console *c)
{
    return c->cur_role == SL_ROLE_ADMIN;
}

typedef struct offload {
    uv_work_t w;
    sl_http_pending *p;
    void (*work)(void *arg, sl_http_resp *resp);
    void *arg;
    void (*free_arg)(void *arg);
    sl_http_resp resp; /* filled on the worker, moved into the pending answer on the loop */
} offload;

static void offload_work(uv_work_t *w)
{
    offload *o = w->data;
    o->work(o->arg, &o->resp);
}

static void offload_done(uv_work_t *w, int status)
{
    SL_UNUSED(status);
    offload *o = w->data;
    sl_http_resp *r = sl_http_pending_resp(o->p);
    r->status = o->resp.status;
    r->content_type = o->resp.content_type;
    sl_buf_move(&r->body, &o->resp.body);
    for (size_t i = 0; i < o->resp.nheaders; i++) {
        sl_http_resp_header(r, o->resp.headers[i][0], o->resp.headers[i][1]);
        sl_free(o->resp.headers[i][0]);
        sl_free(o->resp.headers[i][1]);
    }
    sl_buf_free(&o->resp.body);
    if (o->free_arg) o->free_arg(o->arg);
    sl_http_resume(o->p);
    sl_free(o);
}

void sl_console_offload(sl_http_req *req, void (*work)(void *arg, sl_http_resp *resp), void *arg,
                        void (*free_arg)(void *arg))
{
    offload *o = sl_calloc(1, sizeof *o);
    o->p = sl_http_defer(req);
    o->work = work;
    o->arg = arg;
    o->free_arg = free_arg;
    o->resp.status = 200;
    o->resp.content_type = "application/json";
    o->w.data = o;
    /* Sender: this loop thread; the worker fills o->resp and offload_done runs back here. */
    uv_queue_work(sl_http_req_loop(req), &o->w, offload_work, offload_done);
}

static void session_purge_locked(sl_console *c, int64_t now)
{
    size_t j = 0;
    for (size_t i = 0; i < c->nsessions; i++)
        if (c->sessions[i].expires > now) c->sessions[j++] = c->sessions[i];
    c->nsessions = j;
}

/* Creates a session for user and copies it to out; any thread. */
static void session_new(sl_console *c, const char *user, session *out)
{
    session s = {0};
    sl_random_hex(s.id, TOKEN_BYTES);
    sl_random_hex(s.csrf, TOKEN_BYTES);
    snprintf(s.user, sizeof s.user, "%s", user);
    int64_t now = sl_mono_ms();
    s.expires = now + c->cfg->session_ttl_ms;
    pthread_mutex_lock(&c->mu);
    session_purge_locked(c, now);
    if (c->nsessions == SESSION_MAX) {
        /* The oldest session gives way: a flood of logins cannot grow memory. */
        memmove(c->sessions, c->sessions + 1, (SESSION_MAX - 1) * sizeof *c->sessions);
        c->nsessions--;
    }
    c->sessions[c->nsessions++] = s;
    pthread_mutex_unlock(&c->mu);
    *out = s;
}

/* Finds the live session with this id and copies it to out. */
static bool session_find(sl_console *c, const char *id, session *out)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    session_purge_locked(c, sl_mono_ms());
    for (size_t i = 0; i < c->nsessions; i++)
        if (sl_auth_token_equal(id, c->sessions[i].id)) {
            *out = c->sessions[i];
            found = true;
        }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static void session_end(sl_console *c, const char *id)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsessions; i++)
        if (!strcmp(c->sessions[i].id, id)) c->sessions[i].expires = 0;
    session_purge_locked(c, sl_mono_ms());
    pthread_mutex_unlock(&c->mu);
}

/* Checks basic credentials: from the cache, or by PBKDF2 on this (the loop) thread on a miss,
 * which costs one hash per client and minute. Returns the role. */
static sl_role basic_check(sl_console *c, const char *user, const char *pw)
{
    unsigned char key[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, c->secret, sizeof c->secret);
    EVP_DigestUpdate(md, user, strlen(user) + 1);
    EVP_DigestUpdate(md, pw, strlen(pw));
    EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    int64_t now = sl_mono_ms();
    basic_entry *slot = &c->basic[0];
    for (int i = 0; i < BASIC_CACHE; i++) {
        basic_entry *e = &c->basic[i];
        if (e->expires > now && CRYPTO_memcmp(e->key, key, sizeof key) == 0)
            return sl_users_role(c->users, e->user); /* a deleted user loses access at once */
        if (e->expires < slot->expires) slot = e;
    }
    sl_role r = sl_users_verify(c->users, user, pw);
    if (r != SL_ROLE_NONE) {
        memcpy(slot->key, key, sizeof key);
        snprintf(slot->user, sizeof slot->user, "%s", user);
        slot->expires = now + BASIC_CACHE_MS;
    }
    return r;
}

static void json_out(sl_http_resp *resp, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    sl_buf_reset(&resp->body);
    sl_buf_append_str(&resp->body, s);
    free(s);
    json_decref(j);
}

/* The request body as a JSON object, or NULL with a 400 answered. */
static json_t *body_object(sl_http_req *req, sl_http_resp *resp)
{
    sl_slice b = sl_http_req_body(req);
    json_error_t e;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &e);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "bad JSON at line %d column %d: %s", e.line, e.column, e.text);
        sl_http_resp_error(resp, 400, msg);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        sl_http_resp_error(resp, 400, "bad JSON: expected an object");
        return NULL;
    }
    return j;
}

static void session_cookie(sl_console *c, sl_http_resp *resp, const char *id, int64_t max_age_s)
{
    char cookie[256];
    /* Over HTTPS the browser must never send the session over plain HTTP. */
    snprintf(cookie, sizeof cookie,
             "sluice_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", id,
             (long long)max_age_s, c->cfg->tls_cert ? "; Secure" : "");
    sl_http_resp_header(resp, "Set-Cookie", cookie);
}

typedef struct login_job {
    sl_console *c;
    char user[SL_USERS_NAME_MAX + 1];
    char *password;
    char client[64];
} login_job;

/* Worker thread: PBKDF2, then the session (the sessions table has its own lock). */
static void login_work(void *arg, sl_http_resp *resp)
{
    login_job *j = arg;
    sl_role r = sl_users_verify(j->c->users, j->user, j->password);
    if (r == SL_ROLE_NONE) {
        SL_WARN("console", "failed login for user \"%s\" from %s", j->user, j->client);
        sl_http_resp_error(resp, 401, "wrong user or password");
        return;
    }
    session s;
    session_new(j->c, j->user, &s);
    session_cookie(j->c, resp, s.id, j->c->cfg->session_ttl_ms / 1000);
    SL_INFO("console", "user \"%s\" logged in from %s", j->user, j->client);
    json_out(resp,
             json_pack("{s:s, s:s, s:s, s:I}", "user", s.user, "role", sl_role_name(r), "csrf",
                       s.csrf, "expires_in_ms", (json_int_t)j->c->cfg->session_ttl_ms));
}

static void login_free(void *arg)
{
    login_job *j = arg;
    OPENSSL_cleanse(j->password, strlen(j->password));
    sl_free(j->password);
    sl_free(j);
}

static void api_login(sl_http_req *req, sl_http_resp *resp, sl_console *c)
{
    const char *ct = sl_http_req_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16)) {
        sl_http_resp_error(resp, 415, "login wants Content-Type: application/json");
        return;
    }
    json_t *j = body_object(req, resp);
    if (!j) return;
    const char *user = json_string_value(json_object_get(j, "user"));
    const char *pw = json_string_value(json_object_get(j, "password"));
    if (!user || !pw || strlen(user) > SL_USERS_NAME_MAX || strlen(pw) > SL_USERS_PASSWORD_MAX) {
        json_decref(j);
        sl_http_resp_error(resp, 400, "login wants {\"user\": \"...\", \"password\": \"...\"}");
        return;
    }
    login_job *lj = sl_calloc(1, sizeof *lj);
    lj->c = c;
    snprintf(lj->user, sizeof lj->user, "%s", user);
    lj->password = sl_strdup(pw);
    snprintf(lj->client, sizeof lj->client, "%s", sl_http_req_client(req));
    json_decref(j);
    sl_console_offload(req, login_work, lj, login_free);
}

static void api_logout(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    char id[2 * TOKEN_BYTES + 2];
    const char *ck = sl_http_req_header(req, "Cookie");
    if (ck && sl_http_cookie_get(ck, "sluice_session", id, sizeof id)) session_end(c, id);
    session_cookie(c, resp, "", 0);
    sl_buf_append_str(&resp->body, "{\"ok\":true}");
}

static void api_session(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    session s = {0};
    char id[2 * TOKEN_BYTES + 2];
    const char *ck = sl_http_req_header(req, "Cookie");
    bool has =
        ck && sl_http_cookie_get(ck, "sluice_session", id, sizeof id) && session_find(c, id, &s);
    json_out(resp, json_pack("{s:s, s:s, s:s, s:I}", "user", c->cur_user, "role",
                             sl_role_name(c->cur_role), "csrf", has ? s.csrf : "", "expires_in_ms",
                             (json_int_t)(has ? s.expires - sl_mono_ms() : 0)));
}

static void user_item(void *arg, const char *name, sl_role role)
{
    json_array_append_new(arg, json_pack("{s:s, s:s}", "name", name, "role", sl_role_name(role)));
}

static bool need_admin(sl_console *c, sl_http_resp *resp)
{
    if (c->cur_role == SL_ROLE_ADMIN) return true;
    sl_http_resp_error(resp, 403, "this needs role admin");
    return false;
}

static void api_users(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    sl_console *c = arg;
    if (!need_admin(c, resp)) return;
    json_t *a = json_array();
    sl_users_each(c->users, user_item, a);
    json_out(resp, json_pack("{s:o}", "users", a));
}

static void api_users_post(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    json_t *j = body_object(req, resp);
    if (!j) return;
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *pw = json_string_value(json_object_get(j, "password"));
    const char *rs = json_string_value(json_object_get(j, "role"));
    sl_role role = rs ? sl_role_parse(rs) : SL_ROLE_VIEWER;
    int rc =
        name && pw && role != SL_ROLE_NONE ? sl_users_set(c->users, name, pw, role) : SL_ERR_INVAL;
    if (rc == SL_ERR_INVAL)
        sl_http_resp_error(resp, 400,
                           "want {\"name\": [A-Za-z0-9_.@-]{1,64}, \"password\": 1-1024 bytes, "
                           "\"role\": \"admin\"|\"viewer\"}");
    else if (rc)
        sl_http_resp_error(resp, 500, sl_strerror(rc));
    else {
        SL_INFO("console", "user \"%s\" set user \"%s\" (%s)", c->cur_user, name,
                sl_role_name(role));
        resp->status = 201;
        json_out(resp, json_pack("{s:s, s:s}", "name", name, "role", sl_role_name(role)));
    }
    json_decref(j);
}

static void api_users_delete(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    const char *name = sl_http_req_path(req) + strlen("/api/users/");
    int rc = sl_users_delete(c->users, name);
    if (rc == SL_ERR_NOTFOUND)
        sl_http_resp_error(resp, 404, "no such user");
    else if (rc == SL_ERR_INVAL)
        sl_http_resp_error(resp, 409, "the last admin cannot be deleted");
    else if (rc)
        sl_http_resp_error(resp, 500, sl_strerror(rc));
    else
        sl_buf_append_str(&resp->body, "{\"ok\":true}");
}

static void api_users_guard(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    need_admin(arg, resp);
}

static void api_overview(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    sl_console *c = arg;
    sl_collector_overview(c->col, &resp->body);
}

static void api_alerts(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    SL_UNUSED(req);
    sl_console *c = arg;
    sl_collector_alerts(c->col, &resp->body);
}

static void api_alert_rules_put(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    sl_slice b = sl_http_req_body(req);
    json_error_t e;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &e);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "bad JSON at line %d column %d: %s", e.line, e.column, e.text);
        sl_http_resp_error(resp, 400, msg);
        return;
    }
    json_t *rules = json_is_object(j) ? json_object_get(j, "rules") : j;
    char err[300];
    int rc = sl_collector_set_rules(c->col, rules, err, sizeof err);
    json_decref(j);
    if (rc) {
        sl_http_resp_error(resp, rc == SL_ERR_INVAL ? 400 : 500, err);
        return;
    }
    SL_INFO("console", "user \"%s\" replaced the alert rules", c->cur_user);
    sl_collector_alerts(c->col, &resp->body);
}

/* The console's own routes; the page modules' tables follow in api_tables. A route that only
 * an admin may read checks it itself (need_admin). */
static const sl_http_route core_routes[] = {
    {NULL, "/api/session", api_session},
    {"POST", "/api/logout", api_logout},
    {NULL, "/api/users", api_users},
    {"POST", "/api/users", api_users_post},
    {"DELETE", "/api/users/*", api_users_delete},
    {NULL, "/api/users/*", api_users_guard},
    {NULL, "/api/overview", api_overview},
    {NULL, "/api/alerts", api_alerts},
    {"PUT", "/api/alerts/rules", api_alert_rules_put},
    {NULL, NULL, NULL},
};

static const sl_http_route *const api_tables[] = {
    core_routes,
    sl_console_kafka_routes,
    sl_console_ops_routes,
};

static bool is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* Who is calling: a session or basic auth. Answers 401/403 and returns false if refused. */
static bool authorize(sl_console *c, sl_http_req *req, sl_http_resp *resp)
{
    const char *method = sl_http_req_method(req);
    const char *path = sl_http_req_path(req);
    const char *ck = sl_http_req_header(req, "Cookie");
    char id[2 * TOKEN_BYTES + 2], user[SL_USERS_NAME_MAX + 2], pw[SL_USERS_PASSWORD_MAX + 2];
    session s;
    bool by_session = false;
    sl_role role = SL_ROLE_NONE;
    if (ck && sl_http_cookie_get(ck, "sluice_session", id, sizeof id) && session_find(c, id, &s)) {
        role = sl_users_role(c->users, s.user);
        snprintf(c->cur_user, sizeof c->cur_user, "%s", s.user);
        by_session = true;
    } else if (sl_auth_basic_decode(sl_http_req_header(req, "Authorization"), user, sizeof user, pw,
                                    sizeof pw)) {
        role = basic_check(c, user, pw);
        OPENSSL_cleanse(pw, sizeof pw);
        if (role == SL_ROLE_NONE)
            SL_WARN("console", "failed basic auth for user \"%s\" from %s", user,
                    sl_http_req_client(req));
        snprintf(c->cur_user, sizeof c->cur_user, "%.*s", SL_USERS_NAME_MAX, user);
    }
    if (role == SL_ROLE_NONE) {
        c->cur_user[0] = '\0';
        /* Browsers would pop up their own login box; the SPA says X-Requested-With. */
        if (!sl_http_req_header(req, "X-Requested-With"))
            sl_http_resp_header(resp, "WWW-Authenticate",
                                "Basic realm=\"sluice\", charset=\"UTF-8\"");
        sl_http_resp_error(resp, 401, "authentication required (log in, or use basic auth)");
        return false;
    }
    c->cur_role = role;
    if (is_read(method)) return true;
    if (by_session) {
        const char *tok = sl_http_req_header(req, "X-CSRF-Token");
        if (!sl_auth_token_equal(tok, s.csrf)) {
            sl_http_resp_error(resp, 403, "missing or wrong CSRF token (X-CSRF-Token)");
            return false;
        }
    } else {
        const char *ct = sl_http_req_header(req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16)) {
            sl_http_resp_error(resp, 403,
                               "a state change with basic auth needs Content-Type: "
                               "application/json");
            return false;
        }
    }
    if (role != SL_ROLE_ADMIN && strcmp(path, "/api/logout")) {
        sl_http_resp_error(resp, 403, "read-only user: this needs role admin");
        return false;
    }
    return true;
}

static void on_api(sl_console *c, sl_http_req *req, sl_http_resp *resp)
{
    sl_http_resp_header(resp, "Cache-Control", "no-store");
    const char *path = sl_http_req_path(req);
    if (!strcmp(path, "/api/login")) {
        if (strcmp(sl_http_req_method(req), "POST"))
            sl_http_resp_error(resp, 405, "method not allowed");
        else
            api_login(req, resp, c);
        return;
    }
    if (!authorize(c, req, resp)) return;
    int seen = -1;
    for (size_t i = 0; i < SL_ARRAY_LEN(api_tables) && seen < 1; i++) {
        int ran = sl_http_route_run(api_tables[i], req, resp, c);
        if (ran > seen) seen = ran;
    }
    if (seen == 0) sl_http_resp_error(resp, 405, "method not allowed");
    if (seen < 0) sl_http_resp_error(resp, 404, "no such API route");
    c->cur_user[0] = '\0';
    c->cur_role = SL_ROLE_NONE;
}

static void send_asset(sl_http_resp *resp, const char *name, const void *data, size_t len)
{
    resp->content_type = sl_console_asset_type(name);
    sl_buf_append(&resp->body, data, len);
    sl_http_resp_header(resp, "Cache-Control", "no-cache");
}

static void on_static(sl_console *c, sl_http_req *req, sl_http_resp *resp)
{
    const char *path = sl_http_req_path(req);
    if (!is_read(sl_http_req_method(req))) {
        sl_http_resp_error(resp, 405, "method not allowed");
        return;
    }
    if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
        sl_http_resp_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                            "base-uri 'none'; form-action 'self'");
        send_asset(resp, "index.html", c->index_html.ptr, c->index_html.len);
        return;
    }
    if (strncmp(path, "/assets/", 8)) {
        sl_http_resp_error(resp, 404, "not found");
        return;
    }
    const char *name = path + 8;
    /* Names are looked up in the embedded table only; a path-like name is refused by name. */
    if (strstr(name, "..") || strchr(name, '/') || strchr(name, '\\')) {
        sl_http_resp_error(resp, 400, "bad asset path");
        return;
    }
    const sl_asset *a = sl_console_asset_find(name);
    if (!a) {
        sl_http_resp_error(resp, 404, "no such asset");
        return;
    }
    send_asset(resp, a->name, a->data, a->len);
}

/* Prometheus text. Readable without a login, as scrapers expect: it carries counts and rates,
 * never data or secrets, and the console listens on loopback unless told otherwise. */
static void on_metrics(sl_console *c, sl_http_req *req, sl_http_resp *resp)
{
    if (!is_read(sl_http_req_method(req))) {
        sl_http_resp_error(resp, 405, "method not allowed");
        return;
    }
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    sl_collector_prometheus(c->col, &resp->body);
}

static void on_request(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_console *c = arg;
    sl_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    sl_http_resp_header(resp, "X-Frame-Options", "DENY");
    sl_http_resp_header(resp, "Referrer-Policy", "no-referrer");
    const char *path = sl_http_req_path(req);
    if (!strncmp(path, "/api/", 5) || !strcmp(path, "/api"))
        on_api(c, req, resp);
    else if (!strcmp(path, "/metrics"))
        on_metrics(c, req, resp);
    else
        on_static(c, req, resp);
}

/* Every method reaches on_request, which tells reads from state changes itself. */
static const sl_http_route server_routes[] = {
    {NULL, "*", on_request},    {"POST", "*", on_request},   {"PUT", "*", on_request},
    {"PATCH", "*", on_request}, {"DELETE", "*", on_request}, {NULL, NULL, NULL},
};

/* index.html with a script tag for each page module, where it says <!-- sluice:pages -->. */
static void build_index(sl_console *c)
{
    const sl_asset *ix = sl_console_asset_find("index.html");
    const char *mark = "<!-- sluice:pages -->";
    const char *text = (const char *)ix->data;
    const char *at = strstr(text, mark);
    size_t head = at ? (size_t)(at - text) : ix->len;
    sl_buf_append(&c->index_html, text, head);
    for (const sl_asset *a = sl_console_assets; a->name; a++) {
        size_t n = strlen(a->name);
        if (!strncmp(a->name, "page_", 5) && n > 3 && !strcmp(a->name + n - 3, ".js"))
            sl_buf_printf(&c->index_html, "<script src=\"/assets/%s\"></script>\n", a->name);
    }
    if (at) sl_buf_append_str(&c->index_html, at + strlen(mark));
}

int sl_console_open(uv_loop_t *loop, const sl_console_config *cfg, sl_console **out)
{
    sl_console *c = sl_calloc(1, sizeof *c);
    c->loop = loop;
    c->cfg = cfg;
    pthread_mutex_init(&c->mu, NULL);
    c->sessions = sl_calloc(SESSION_MAX, sizeof *c->sessions);
    char hex[2 * sizeof c->secret + 1];
    sl_random_hex(hex, sizeof c->secret);
    memcpy(c->secret, hex, sizeof c->secret);
    OPENSSL_cleanse(hex, sizeof hex);
    if (cfg->metadata) {
        c->metadata = sl_strdup(cfg->metadata);
    } else {
        size_t n = strlen(cfg->data_dir) + 64;
        c->metadata = sl_malloc(n);
        snprintf(c->metadata, n, "sqlite:%s/../scheduler/scheduler.db", cfg->data_dir);
    }
    build_index(c);
    char pw[64], err[512];
    int rc = sl_users_open(cfg->data_dir, &c->users, pw, sizeof pw, err, sizeof err);
    if (rc) {
        SL_ERROR("console", "%s", err);
        goto fail;
    }
    if (pw[0]) {
        /* Printed once, to stdout only; the users file keeps just the hash. */
        printf("console: first start: created user admin with password %s (shown only now; "
               "stored hashed in %s/users)\n",
               pw, cfg->data_dir);
        fflush(stdout);
        OPENSSL_cleanse(pw, sizeof pw);
    }
    sl_http_config hc = {.listen = cfg->listen,
                         .name = "console",
                         .routes = server_routes,
                         .arg = c,
                         .max_body_bytes = (size_t)cfg->max_body,
                         .tls_cert = cfg->tls_cert,
                         .tls_key = cfg->tls_key};
    rc = sl_http_open(loop, &hc, &c->http);
    if (rc) goto fail;
    sl_kview_config kc = {
        .bootstrap = cfg->kafka,
        .registry = cfg->registry,
        .sample_ms = cfg->collect_ms,
        .timeout_ms = 2000, /* bounds how long a stop waits for a sample in flight */
    };
    rc = sl_console_kafka_open(loop, &kc, &c->kview, err, sizeof err);
    if (rc) {
        SL_ERROR("console", "%s", err);
        sl_http_close(c->http);
        goto fail;
    }
    c->col = sl_collector_start(cfg);
    *out = c;
    return 0;
fail:
    sl_users_free(c->users);
    sl_buf_free(&c->index_html);
    sl_free(c->metadata);
    sl_free(c->sessions);
    pthread_mutex_destroy(&c->mu);
    sl_free(c);
    return rc;
}

#define O(f) offsetof(sl_console_config, f)
const sl_opt sl_console_opts[] = {
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:8080", O(listen), "address of the web console", NULL, 0,
     0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert), "PEM certificate chain: serve HTTPS only", NULL, 0,
     0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of --tls-cert", NULL, 0, 0},
    {"data-dir", SL_OPT_STR, "./sluice-data/console", O(data_dir),
     "the console's users file and alert history", NULL, 0, 0},
    {"kafka", SL_OPT_STR, "127.0.0.1:9092", O(kafka), "Kafka bootstrap servers", NULL, 0, 0},
    {"cql", SL_OPT_STR, "127.0.0.1:9042", O(cql), "the CQL store, HOST:PORT", NULL, 0, 0},
    {"cql-user", SL_OPT_STR, "cassandra", O(cql_user), "user for the CQL store", NULL, 0, 0},
    {"cql-password", SL_OPT_STR, NULL, O(cql_password),
     "that user's password (default: $SLUICE_CQL_PASSWORD, or cassandra)", NULL, 0, 0},
    {"cql-tls-ca", SL_OPT_STR, NULL, O(cql_tls_ca),
     "PEM CA file: reach the CQL store with TLS, checking its certificate", NULL, 0, 0},
    {"registry", SL_OPT_STR, "http://127.0.0.1:8081", O(registry), "the Schema Registry's URL",
     NULL, 0, 0},
    {"scheduler", SL_OPT_STR, "http://127.0.0.1:8082", O(scheduler),
     "the scheduler's REST API (its --listen)", NULL, 0, 0},
    {"metadata", SL_OPT_STR, NULL, O(metadata),
     "the scheduler's metadata, sqlite:PATH or postgresql://... (default "
     "sqlite:DATA_DIR/../scheduler/scheduler.db)",
     NULL, 0, 0},
    {"dags", SL_OPT_STR, NULL, O(dags), "the scheduler's DAG file or directory", NULL, 0, 0},
    {"process-metrics", SL_OPT_STR, NULL, O(process_metrics),
     "processors' --metrics-listen addresses, HOST:PORT[,HOST:PORT...]", NULL, 0, 0},
    {"events", SL_OPT_STR, NULL, O(events),
     "the supervisor's event file (sluice up sets it) shown on the Overview page", NULL, 0, 0},
    {"webhook", SL_OPT_STR, NULL, O(webhook), "URL that alert notifications are POSTed to as JSON",
     NULL, 0, 0},
    {"topic", SL_OPT_STR, "users_created", O(topic), "the pipeline's topic (Overview, alerts)",
     NULL, 0, 0},
    {"dlq-topic", SL_OPT_STR, "users_created.dlq", O(dlq_topic), "the pipeline's dead-letter topic",
     NULL, 0, 0},
    {"group", SL_OPT_STR, "sluice-process", O(group), "the processors' consumer group", NULL, 0, 0},
    {"table", SL_OPT_STR, "spark_streams.created_users", O(table), "the pipeline's table, KS.TABLE",
     NULL, 0, 0},
    {"session-ttl", SL_OPT_DURATION, "8h", O(session_ttl_ms), "how long a login session lasts",
     NULL, 1000, 30LL * 86400000},
    {"collect-interval", SL_OPT_DURATION, "2s", O(collect_ms),
     "how often the components are polled for metrics and alerts", NULL, 100, 3600000},
    {"max-body", SL_OPT_SIZE, "1MiB", O(max_body), "largest request body accepted (413 beyond)",
     NULL, 1024, 64LL << 20},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level), "error|warn|info|debug|trace",
     "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

int sl_console_port(const sl_console *c)
{
    return sl_http_port(c->http);
}

void sl_console_close(sl_console *c)
{
    if (!c || !c->http) return;
    sl_http_close(c->http);
    c->http = NULL;
    sl_console_kafka_close(c->kview);
    c->kview = NULL;
    sl_collector_free(c->col);
    c->col = NULL;
}

void sl_console_free(sl_console *c)
{
    if (!c) return;
    sl_console_ops_close(c);
    sl_users_free(c->users);
    sl_buf_free(&c->index_html);
    sl_free(c->metadata);
    OPENSSL_cleanse(c->sessions, SESSION_MAX * sizeof *c->sessions);
    sl_free(c->sessions);
    pthread_mutex_destroy(&c->mu);
    sl_free(c);
}
