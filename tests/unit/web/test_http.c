/* test_http.c: the libmicrohttpd wrapper served from a loop thread and driven by libcurl: route
 * matching (exact, prefix, method), 404/405, query arguments, headers, the client address,
 * bodies and their limit, response headers, delayed responses (and closing while one is
 * pending), request size limits, JSON string escaping, and a bad listen address. */
#include "web/http.h"

#include "core/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

typedef struct fixture {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    sl_http_server *srv;
    int port;
} fixture;

/* Handlers run on the loop thread. */
static void h_echo(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    (void)arg;
    const char *a = sl_http_req_arg(req, "a");
    const char *flag = sl_http_req_arg(req, "flag");
    const char *hdr = sl_http_req_header(req, "x-test");
    sl_slice body = sl_http_req_body(req);
    resp->content_type = "text/plain";
    sl_buf_printf(&resp->body, "%s %s a=%s flag=%s hdr=%s client=%s body=%zu",
                  sl_http_req_method(req), sl_http_req_path(req), a ? a : "(null)",
                  flag ? flag : "(null)", hdr ? hdr : "(null)", sl_http_req_client(req), body.len);
    sl_http_resp_header(resp, "X-Reply", "yes");
}

static void add_arg(void *arg, const char *k, const char *v)
{
    sl_buf_printf(arg, "[%s=%s]", k, v);
}

static void h_args(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    (void)arg;
    sl_http_req_args(req, add_arg, &resp->body);
}

static void h_slow(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    (void)arg;
    const char *ms = sl_http_req_arg(req, "ms");
    resp->delay_ms = ms ? atoi(ms) : 300;
    resp->status = 201;
    sl_buf_append_str(&resp->body, "late");
}

static void h_err(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    (void)req;
    (void)arg;
    sl_http_resp_error(resp, 503, "quote \" backslash \\ newline \n tab \t ctl \x01");
}

/* Deferred answers: a loop timer plays the work that finishes later. */
typedef struct defer_job {
    uv_timer_t timer;
    sl_http_pending *p;
    struct defer_job *next;
} defer_job;

static defer_job *jobs; /* loop thread only */

static void on_job_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_job(uv_timer_t *t)
{
    defer_job *j = t->data;
    for (defer_job **pp = &jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    sl_http_resp *resp = sl_http_pending_resp(j->p);
    resp->status = 202;
    sl_buf_append_str(&resp->body, "deferred");
    sl_http_resume(j->p);
    uv_close((uv_handle_t *)&j->timer, on_job_closed);
}

static void h_defer(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    uv_loop_t *loop = arg;
    const char *ms = sl_http_req_arg(req, "ms");
    const char *delay = sl_http_req_arg(req, "delay");
    if (delay) resp->delay_ms = atoi(delay);
    defer_job *j = calloc(1, sizeof(*j));
    j->p = sl_http_defer(req);
    uv_timer_init(loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, on_job, ms ? (uint64_t)atoi(ms) : 100, 0);
    j->next = jobs;
    jobs = j;
}

static const sl_http_route routes[] = {
    {NULL, "/defer", h_defer}, {NULL, "/echo", h_echo}, {"POST", "/echo", h_echo},
    {NULL, "/args", h_args},   {NULL, "/slow", h_slow}, {NULL, "/err/*", h_err},
    {NULL, NULL, NULL},
};

static void on_stop(uv_async_t *a)
{
    fixture *f = a->data;
    sl_http_close(f->srv);
    uv_close((uv_handle_t *)&f->stop, NULL);
    /* Work still running when the server closed finishes now: its answers are dropped. */
    for (defer_job *j = jobs; j; j = j->next)
        uv_timer_start(&j->timer, on_job, 0, 0);
}

static void *loop_main(void *arg)
{
    fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    sl_http_config cfg = {.listen = "127.0.0.1:0",
                          .name = "test",
                          .routes = routes,
                          .arg = &f->loop,
                          .max_header_bytes = 8192,
                          .max_body_bytes = 1000};
    assert_int_equal(sl_http_open(&f->loop, &cfg, &f->srv), 0);
    f->port = sl_http_port(f->srv);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    pthread_create(&f->thread, NULL, loop_main, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    uv_async_send(&f->stop); /* main thread -> loop thread: close the server */
    pthread_join(f->thread, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

typedef struct reply {
    long status;
    sl_buf body;
    sl_buf headers;
    double secs;
} reply;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sl_buf_append(arg, p, sz * n);
    return sz * n;
}

static CURLcode fetch(fixture *f, const char *method, const char *path, const char *body,
                      size_t body_len, struct curl_slist *hdrs, reply *r)
{
    char url[20100 + 64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
    CURL *c = curl_easy_init();
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    uint64_t t0 = sl_mono_ns();
    CURLcode rc = curl_easy_perform(c);
    r->secs = (double)(sl_mono_ns() - t0) / 1e9;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    sl_buf_cstr(&r->body);
    sl_buf_cstr(&r->headers);
    return rc;
}

static void reply_free(reply *r)
{
    sl_buf_free(&r->body);
    sl_buf_free(&r->headers);
}

static void test_routes_and_args(void **state)
{
    fixture *f = *state;
    reply r;
    struct curl_slist *h = curl_slist_append(NULL, "X-Test: hi");
    assert_int_equal(fetch(f, "GET", "/echo?a=x%20y&flag", NULL, 0, h, &r), CURLE_OK);
    curl_slist_free_all(h);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.ptr, "GET /echo a=x y flag= hdr=hi client=127.0.0.1 body=0");
    assert_non_null(strstr((char *)r.headers.ptr, "X-Reply: yes"));
    assert_non_null(strstr((char *)r.headers.ptr, "Content-Type: text/plain"));
    reply_free(&r);

    assert_int_equal(fetch(f, "GET", "/echo", NULL, 0, NULL, &r), CURLE_OK);
    assert_string_equal((char *)r.body.ptr,
                        "GET /echo a=(null) flag=(null) hdr=(null) client=127.0.0.1 body=0");
    reply_free(&r);

    fetch(f, "GET", "/args?x=1&y&z=%41%42&x=2", NULL, 0, NULL, &r);
    assert_string_equal((char *)r.body.ptr, "[x=1][y=][z=AB][x=2]");
    reply_free(&r);

    fetch(f, "HEAD", "/echo", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    reply_free(&r);

    fetch(f, "POST", "/echo", "12345", 5, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body.ptr, "POST /echo"));
    assert_non_null(strstr((char *)r.body.ptr, "body=5"));
    reply_free(&r);

    fetch(f, "GET", "/err/anything/below", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(
        (char *)r.body.ptr,
        "{\"error\":\"quote \\\" backslash \\\\ newline \\n tab \\t ctl \\u0001\"}");
    reply_free(&r);
}

static void test_not_found_and_method(void **state)
{
    fixture *f = *state;
    reply r;
    fetch(f, "GET", "/nope", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal((char *)r.body.ptr, "{\"error\":\"not found\"}");
    assert_non_null(strstr((char *)r.headers.ptr, "application/json"));
    reply_free(&r);
    fetch(f, "GET", "/echo/", NULL, 0, NULL, &r); /* exact routes do not match a longer path */
    assert_int_equal(r.status, 404);
    reply_free(&r);
    fetch(f, "DELETE", "/echo", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal((char *)r.body.ptr, "{\"error\":\"method not allowed\"}");
    reply_free(&r);
    fetch(f, "POST", "/args", "x", 1, NULL, &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);
}

static void test_limits(void **state)
{
    fixture *f = *state;
    reply r;
    char big[1200];
    memset(big, 'b', sizeof(big));
    fetch(f, "POST", "/echo", big, sizeof(big), NULL, &r);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    fetch(f, "POST", "/echo", big, 1000, NULL, &r); /* exactly the limit */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body.ptr, "body=1000"));
    reply_free(&r);

    static char path[20100] = "/echo?a=";
    memset(path + 8, 'u', 20000);
    path[20008] = '\0';
    fetch(f, "GET", path, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 414);
    reply_free(&r);

    static char hdr[20100] = "X-Test: ";
    memset(hdr + 8, 'h', 20000);
    hdr[20008] = '\0';
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    fetch(f, "GET", "/echo", NULL, 0, h, &r);
    curl_slist_free_all(h);
    assert_int_equal(r.status, 431);
    reply_free(&r);

    fetch(f, "GET", "/echo", NULL, 0, NULL, &r); /* still serving */
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_delayed(void **state)
{
    fixture *f = *state;
    reply r;
    fetch(f, "GET", "/slow?ms=300", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal((char *)r.body.ptr, "late");
    assert_true(r.secs >= 0.29);
    reply_free(&r);
    /* While one request waits, others are answered at once. */
    fetch(f, "GET", "/echo", NULL, 0, NULL, &r);
    assert_true(r.secs < 0.29);
    reply_free(&r);
}

static void test_deferred(void **state)
{
    fixture *f = *state;
    reply r;
    fetch(f, "GET", "/defer?ms=200", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal((char *)r.body.ptr, "deferred");
    assert_true(r.secs >= 0.19);
    reply_free(&r);
    /* A deferred answer with a delay waits for both. */
    fetch(f, "GET", "/defer?ms=100&delay=200", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_true(r.secs >= 0.29);
    reply_free(&r);
    fetch(f, "GET", "/echo", NULL, 0, NULL, &r);
    assert_true(r.secs < 0.19);
    reply_free(&r);
}

typedef struct bg {
    fixture *f;
    reply r;
    CURLcode rc;
} bg;

static void *bg_fetch(void *arg)
{
    bg *b = arg;
    b->rc = fetch(b->f, "GET", "/slow?ms=20000", NULL, 0, NULL, &b->r);
    return NULL;
}

static void *bg_defer(void *arg)
{
    bg *b = arg;
    b->rc = fetch(b->f, "GET", "/defer?ms=20000", NULL, 0, NULL, &b->r);
    return NULL;
}

/* Closing the server with a deferred answer outstanding: the client gets a 503 promptly, and the
 * work's late sl_http_resume only frees its orphaned answer. */
static void test_close_with_pending_defer(void **state)
{
    (void)state;
    fixture *f;
    setup((void **)&f);
    bg b = {.f = f};
    pthread_t t;
    pthread_create(&t, NULL, bg_defer, &b);
    usleep(300000);
    teardown((void **)&f);
    pthread_join(t, NULL);
    assert_true(b.r.secs < 10);
    if (b.rc == CURLE_OK) assert_int_equal(b.r.status, 503);
    reply_free(&b.r);
}

/* Closing the server with a delayed request pending answers or drops it, promptly. */
static void test_close_with_pending_delay(void **state)
{
    (void)state;
    fixture *f;
    setup((void **)&f);
    bg b = {.f = f};
    pthread_t t;
    pthread_create(&t, NULL, bg_fetch, &b);
    usleep(300000);
    teardown((void **)&f);
    pthread_join(t, NULL);
    assert_true(b.r.secs < 10);
    if (b.rc == CURLE_OK) assert_int_equal(b.r.status, 201);
    reply_free(&b.r);
}

static void test_bad_listen(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_http_server *s = NULL;
    int saved = sl_log_level;
    sl_log_level = -1;
    sl_http_config cfg = {.listen = "no-port", .routes = routes};
    assert_int_equal(sl_http_open(&loop, &cfg, &s), SL_ERR_CONFIG);
    cfg.listen = "256.1.1.1:80";
    assert_true(sl_http_open(&loop, &cfg, &s) < 0);
    /* A port in use. */
    cfg.listen = "127.0.0.1:0";
    sl_http_server *a = NULL;
    assert_int_equal(sl_http_open(&loop, &cfg, &a), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", sl_http_port(a));
    cfg.listen = addr;
    assert_int_equal(sl_http_open(&loop, &cfg, &s), -EADDRINUSE);
    sl_log_level = saved;
    sl_http_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* An IPv6 listen address, when the machine has ::1. */
static void test_ipv6(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_http_server *s = NULL;
    int saved = sl_log_level;
    sl_log_level = -1;
    sl_http_config cfg = {.listen = "[::1]:0", .routes = routes, .arg = &loop};
    int rc = sl_http_open(&loop, &cfg, &s);
    sl_log_level = saved;
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT || rc == SL_ERR_CONFIG) {
        uv_loop_close(&loop);
        skip();
    }
    assert_int_equal(rc, 0);
    fixture f = {.port = sl_http_port(s)};
    char url[64];
    snprintf(url, sizeof(url), "http://[::1]:%d/echo", f.port);
    CURL *c = curl_easy_init();
    sl_buf body = SL_BUF_INIT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    /* The loop is driven here between curl steps: a multi handle keeps both in one thread. */
    CURLM *m = curl_multi_init();
    curl_multi_add_handle(m, c);
    int running = 1;
    for (int i = 0; running && i < 100000; i++) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 1, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    assert_non_null(strstr(sl_buf_cstr(&body), "client=::1"));
    curl_multi_remove_handle(m, c);
    curl_easy_cleanup(c);
    curl_multi_cleanup(m);
    sl_buf_free(&body);
    sl_http_close(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_json_str(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_http_json_str(&b, "a\"b\\c\x1f\xc3\xa9", 8);
    assert_int_equal(b.len, strlen("\"a\\\"b\\\\c\\u001f\xc3\xa9\""));
    assert_memory_equal(b.ptr, "\"a\\\"b\\\\c\\u001f\xc3\xa9\"", b.len);
    sl_buf_reset(&b);
    sl_http_json_str(&b, "", 0);
    assert_memory_equal(b.ptr, "\"\"", 2);
    sl_buf_free(&b);
}

static void test_cookie_get(void **state)
{
    (void)state;
    char v[8];
    assert_true(sl_http_cookie_get("a=1; sid=xyz; b=2", "sid", v, sizeof v));
    assert_string_equal(v, "xyz");
    assert_true(sl_http_cookie_get(";;  sid=", "sid", v, sizeof v));
    assert_string_equal(v, "");
    assert_true(sl_http_cookie_get("sid=;x=1", "sid", v, sizeof v));
    assert_string_equal(v, "");
    assert_true(sl_http_cookie_get("xsid=1; sid=2", "sid", v, sizeof v));
    assert_string_equal(v, "2");
    assert_true(sl_http_cookie_get("sid=1234567", "sid", v, sizeof v));
    assert_false(sl_http_cookie_get("sid=12345678", "sid", v, sizeof v)); /* does not fit */
    assert_false(sl_http_cookie_get("sidx=1; si=2; sid", "sid", v, sizeof v));
    assert_false(sl_http_cookie_get("", "sid", v, sizeof v));
    assert_false(sl_http_cookie_get(NULL, "sid", v, sizeof v));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_and_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
        cmocka_unit_test(test_close_with_pending_delay),
        cmocka_unit_test(test_close_with_pending_defer),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_cookie_get),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
