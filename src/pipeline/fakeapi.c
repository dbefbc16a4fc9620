/* fakeapi.c: the randomuser.me 1.4 API on src/web/http.h, with quota, latency and failure
 * injection. Everything runs on the caller's loop thread. */
#include "pipeline/fakeapi.h"

#include "core/log.h"
#include "pipeline/randomuser.h"
#include "web/http.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOG "fakeapi"

/* randomuser.me's own messages, so clients written against it recognise them. */
#define MSG_FAIL                                                                                   \
    "Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you."
#define MSG_QUOTA                                                                                  \
    "Whoa, ease up there cowboy. You've requested %lld users in the last minute. Help us keep "    \
    "this service free and spare some bandwidth for other users please :)"

typedef struct quota_entry {
    char addr[48]; /* "" when the slot is free */
    int64_t users;
} quota_entry;

struct sl_fakeapi {
    uv_loop_t *loop;
    sl_http_server *http;
    sl_fakeapi_config cfg; /* strings not kept: only the numbers are used after open */
    uint64_t rng[2];       /* xorshift128+ for seeds and failure draws; not the user stream */
    int64_t window_start;  /* monotonic ms; the whole table resets when the window ends */
    quota_entry *quota;
    size_t quota_cap, quota_used;
};

#define O(f) offsetof(sl_fakeapi_config, f)
const sl_opt sl_fakeapi_opts[] = {
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:8000", O(listen), "address to serve HTTP on", NULL, 0,
     0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert), "PEM certificate chain: serve HTTPS only", NULL, 0,
     0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of --tls-cert", NULL, 0, 0},
    {"quota", SL_OPT_INT, "0", O(quota),
     "users each client address may fetch per window; beyond it 429 (0: unlimited)", NULL, 0,
     INT64_MAX},
    {"quota-window", SL_OPT_DURATION, "300s", O(quota_window_ms),
     "the quota window; every client's count resets when it ends", NULL, 1, INT64_MAX},
    {"latency-ms", SL_OPT_INT, "0", O(latency_ms), "delay every answer by this many milliseconds",
     NULL, 0, 3600000},
    {"fail-rate", SL_OPT_STR, "0", O(fail_rate),
     "share of requests (0..1) answered 500 with randomuser's error body", NULL, 0, 0},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level),
     "log level (default: info, or $SLUICE_LOG_LEVEL)", "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
#undef O

int sl_fakeapi_config_check(sl_fakeapi_config *cfg, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(cfg->fail_rate ? cfg->fail_rate : "0", &end);
    if (errno != 0 || end == cfg->fail_rate || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
        snprintf(err, errlen, "fail-rate: \"%s\" is not a number from 0 to 1",
                 cfg->fail_rate ? cfg->fail_rate : "");
        return SL_ERR_CONFIG;
    }
    cfg->fail_rate_v = v;
    return 0;
}

static uint64_t rng_next(sl_fakeapi *f)
{
    uint64_t s1 = f->rng[0];
    const uint64_t s0 = f->rng[1];
    f->rng[0] = s0;
    s1 ^= s1 << 23;
    f->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return f->rng[1] + s0;
}

static uint64_t addr_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* The slot of addr, inserting it; the table grows at half load. */
static quota_entry *quota_slot(sl_fakeapi *f, const char *addr)
{
    if (f->quota_used * 2 >= f->quota_cap) {
        size_t old_cap = f->quota_cap;
        quota_entry *old = f->quota;
        f->quota_cap = old_cap ? old_cap * 2 : 64;
        f->quota = sl_calloc(f->quota_cap, sizeof(*f->quota));
        f->quota_used = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].addr[0]) continue;
            *quota_slot(f, old[i].addr) = old[i];
        }
        sl_free(old);
    }
    size_t mask = f->quota_cap - 1;
    for (size_t i = addr_hash(addr) & mask;; i = (i + 1) & mask) {
        quota_entry *e = &f->quota[i];
        if (!e->addr[0]) {
            snprintf(e->addr, sizeof(e->addr), "%s", addr);
            e->users = 0;
            f->quota_used++;
            return e;
        }
        if (!strcmp(e->addr, addr)) return e;
    }
}

/* Charges n users to the client; false (with the seconds to wait) when that would exceed the
 * quota, in which case nothing is charged. */
static bool quota_take(sl_fakeapi *f, const char *addr, int n, int64_t *used, int64_t *retry_s)
{
    int64_t now = sl_mono_ms();
    if (now - f->window_start >= f->cfg.quota_window_ms) {
        if (f->quota_used > 0) memset(f->quota, 0, f->quota_cap * sizeof(*f->quota));
        f->quota_used = 0;
        f->window_start = now;
    }
    quota_entry *e = quota_slot(f, addr);
    if (e->users + n > f->cfg.quota) {
        *used = e->users;
        int64_t left = f->window_start + f->cfg.quota_window_ms - now;
        *retry_s = SL_MAX(1, (left + 999) / 1000);
        return false;
    }
    e->users += n;
    return true;
}

static void set_param(void *arg, const char *k, const char *v)
{
    sl_ru_params_set(arg, k, v);
}

/* Pages at least this large are rendered on libuv's thread pool, so a big page neither holds the
 * loop from other clients nor keeps a second core idle. */
#define RENDER_OFFLOAD_MIN 200

/* One page rendered off the loop. Owns its copy of the parameters and the body until
 * after_render, on the loop thread, moves the body into the deferred answer. Loop thread ->
 * worker (uv_queue_work) -> loop thread; it never touches the sl_fakeapi, which may be gone. */
typedef struct render_job {
    uv_work_t work;
    sl_ru_params params;
    sl_buf body;
    const char *content_type;
    sl_http_pending *pending;
} render_job;

static void render_work(uv_work_t *w)
{
    render_job *j = w->data;
    j->content_type = sl_ru_render(&j->params, &j->body);
}

static void after_render(uv_work_t *w, int status)
{
    render_job *j = w->data;
    sl_http_resp *resp = sl_http_pending_resp(j->pending);
    if (status == 0) {
        resp->content_type = j->content_type;
        sl_buf_move(&resp->body, &j->body);
    } else {
        sl_http_resp_error(resp, 500, MSG_FAIL);
    }
    sl_http_resume(j->pending);
    sl_buf_free(&j->body);
    sl_free(j);
}

static void on_api(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    sl_fakeapi *f = arg;
    resp->delay_ms = f->cfg.latency_ms;
    if (f->cfg.fail_rate_v > 0 && (double)(rng_next(f) >> 11) * 0x1.0p-53 < f->cfg.fail_rate_v) {
        sl_http_resp_error(resp, 500, MSG_FAIL);
        return;
    }
    sl_ru_params p;
    sl_ru_params_init(&p);
    sl_http_req_args(req, set_param, &p);
    sl_ru_params_finish(&p, rng_next(f));
    int64_t used, retry_s;
    if (f->cfg.quota > 0 && !quota_take(f, sl_http_req_client(req), p.results, &used, &retry_s)) {
        char msg[256], ra[24];
        snprintf(msg, sizeof(msg), MSG_QUOTA, (long long)used);
        sl_http_resp_error(resp, 429, msg);
        snprintf(ra, sizeof(ra), "%lld", (long long)retry_s);
        sl_http_resp_header(resp, "Retry-After", ra);
        sl_log(SL_LOG_DEBUG, LOG, sl_http_req_client(req), "quota: %lld users served, refused %d",
               (long long)used, p.results);
        return;
    }
    if (p.results >= RENDER_OFFLOAD_MIN) {
        render_job *j = sl_calloc(1, sizeof(*j));
        j->params = p;
        j->work.data = j;
        j->pending = sl_http_defer(req);
        uv_queue_work(f->loop, &j->work, render_work, after_render);
        return;
    }
    resp->content_type = sl_ru_render(&p, &resp->body);
}

static const sl_http_route routes[] = {
    {NULL, "/api", on_api},      {NULL, "/api/", on_api}, {NULL, "/api/1.4", on_api},
    {NULL, "/api/1.4/", on_api}, {NULL, NULL, NULL},
};

int sl_fakeapi_open(uv_loop_t *loop, const sl_fakeapi_config *cfg, sl_fakeapi **out)
{
    sl_fakeapi *f = sl_calloc(1, sizeof(*f));
    f->loop = loop;
    f->cfg = *cfg;
    f->cfg.listen = f->cfg.fail_rate = f->cfg.log_level = f->cfg.tls_cert = f->cfg.tls_key = NULL;
    if (getrandom(f->rng, sizeof(f->rng), 0) != (ssize_t)sizeof(f->rng)) {
        f->rng[0] = (uint64_t)sl_now_ms();
        f->rng[1] = sl_mono_ns() | 1;
    }
    if (f->rng[0] == 0 && f->rng[1] == 0) f->rng[1] = 1;
    f->window_start = sl_mono_ms();
    sl_http_config hc = {
        .listen = cfg->listen,
        .name = LOG,
        .routes = routes,
        .arg = f,
        .max_header_bytes = 16 * 1024,
        .max_body_bytes = 64 * 1024,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
    };
    int rc = sl_http_open(loop, &hc, &f->http);
    if (rc != 0) {
        sl_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

int sl_fakeapi_port(const sl_fakeapi *f)
{
    return sl_http_port(f->http);
}

void sl_fakeapi_close(sl_fakeapi *f)
{
    if (f == NULL) return;
    sl_http_close(f->http);
    sl_free(f->quota);
    sl_free(f);
}
