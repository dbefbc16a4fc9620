/* http.c: libmicrohttpd in external-epoll mode on a libuv loop (docs/http.md). A uv_poll_t on
 * MHD's epoll descriptor and a uv_timer_t armed from MHD_get_timeout call MHD_run, so every
 * handler runs on the loop's thread. A delayed or deferred response suspends its connection; a
 * per-request timer, or sl_http_resume, resumes it.
 *
 * Accepting is ours, not MHD's (it runs without a listening socket): under the connection limit
 * a plaintext socket goes to MHD_add_connection as it is; a TLS one is served by a core/server.c
 * sl_server (OpenSSL on memory BIOs) with no listener of its own, and relayed to MHD through a
 * socketpair whose MHD end carries the client's address. At the limit a connection is accepted,
 * told 503 (after the handshake on TLS) and closed, and out of descriptors accepting pauses. */
#include "web/http.h"

#include "core/log.h"
#include "core/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Out of descriptors, accept is retried after this long (the pending connection stays readable,
 * so polling would spin). */
#define ACCEPT_PAUSE_MS 100
/* Connections taken per readiness of the listening socket, so the loop's other work goes on. */
#define ACCEPT_BATCH 64
/* 503s being sent at once; past this a connection over the limit is closed unanswered. */
#define REFUSING_MAX 64
/* A relay stops reading one side while more than this waits to be written to the other. */
#define RELAY_HIGH     (256 * 1024)
#define RELAY_READ_BUF (64 * 1024)

typedef struct req_state req_state;
typedef struct relay relay;

struct sl_http_server {
    struct MHD_Daemon *d;
    uv_loop_t *loop;
    uv_poll_t poll;          /* MHD's epoll descriptor */
    uv_timer_t timer;        /* MHD's next timeout */
    uv_poll_t accept;        /* our listening socket, lfd */
    uv_timer_t accept_pause; /* out of descriptors: accept again after ACCEPT_PAUSE_MS */
    int lfd;
    /* TLS: every connection, relayed to MHD; plaintext: only the 503s and their lingering close. */
    sl_server *conns;
    bool tls;
    sl_http_config cfg;
    char name[32];
    int port;
    int open_handles;   /* the four above, conns and each relay; the server is freed at 0 */
    unsigned nconns;    /* connections MHD holds (plaintext sockets and relays' pair ends) */
    unsigned nrefusing; /* 503s on their way out */
    bool stopping;
    bool at_limit;        /* nconns reached max_connections: new ones get a 503 */
    bool fd_short;        /* accept failed for want of a descriptor; said once */
    req_state *suspended; /* connections waiting for a delay timer or a deferred answer */
    relay *relays;
    uint8_t rdbuf[RELAY_READ_BUF]; /* what a relay reads from MHD, until it is encrypted */
};

/* A TLS connection relayed to MHD: decrypted bytes go into our end of a socketpair, MHD's
 * answers come out of it to SSL_write. Freed once both sides are gone: the sl_conn (on_close)
 * and the pipe handle. */
struct relay {
    sl_http_server *s;
    sl_conn *c;     /* NULL once on_close ran */
    uv_pipe_t pipe; /* our end of the socketpair */
    uv_shutdown_t shut;
    size_t to_mhd; /* bytes queued on the pipe */
    bool reading;  /* reading the pipe; stopped while the TLS side's queue is over RELAY_HIGH */
    bool shut_sent;
    bool pipe_closing, pipe_closed;
    relay *prev, *next;
};

/* Per-request state, MHD's con_cls: from the first call for a request to its completion. */
struct req_state {
    sl_http_server *s;
    struct MHD_Connection *conn;
    sl_buf body;
    bool too_big;
    bool ready; /* resp holds the answer: the connection was suspended and is being resumed */
    sl_http_resp resp;
    bool in_list;             /* on the server's suspended list */
    uv_timer_t *timer;        /* while delayed */
    sl_http_pending *pending; /* while deferred */
    req_state *prev, *next;
};

/* A deferred answer. When the server closes first, st becomes NULL and the handler's late answer
 * goes to orphan, to be dropped by sl_http_resume. */
struct sl_http_pending {
    req_state *st;
    sl_http_resp orphan;
};

struct sl_http_req {
    sl_http_server *s;
    req_state *st;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    sl_slice body;
    char client[INET6_ADDRSTRLEN];
};

static void http_run(sl_http_server *s);

void sl_http_json_str(sl_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sl_buf_reserve(b, len + 2);
    sl_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sl_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"': sl_buf_append(b, "\\\"", 2); break;
        case '\\': sl_buf_append(b, "\\\\", 2); break;
        case '\n': sl_buf_append(b, "\\n", 2); break;
        case '\r': sl_buf_append(b, "\\r", 2); break;
        case '\t': sl_buf_append(b, "\\t", 2); break;
        default: sl_buf_append(b, esc, 6); break;
        }
    }
    sl_buf_append(b, s + run, len - run);
    sl_buf_append(b, "\"", 1);
}

void sl_http_resp_header(sl_http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders >= SL_HTTP_MAX_HEADERS) return;
    resp->headers[resp->nheaders][0] = sl_strdup(name);
    resp->headers[resp->nheaders][1] = sl_strdup(value);
    resp->nheaders++;
}

void sl_http_resp_error(sl_http_resp *resp, int status, const char *msg)
{
    resp->status = status;
    resp->content_type = "application/json";
    sl_buf_reset(&resp->body);
    sl_buf_append_str(&resp->body, "{\"error\":");
    sl_http_json_str(&resp->body, msg, strlen(msg));
    sl_buf_append_str(&resp->body, "}");
}

static void resp_init(sl_http_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    resp->content_type = "application/json";
}

static void resp_free(sl_http_resp *resp)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        sl_free(resp->headers[i][0]);
        sl_free(resp->headers[i][1]);
    }
    resp->nheaders = 0;
    sl_buf_free(&resp->body);
}

const char *sl_http_req_method(const sl_http_req *r)
{
    return r->method;
}

const char *sl_http_req_path(const sl_http_req *r)
{
    return r->path;
}

const char *sl_http_req_arg(const sl_http_req *r, const char *key)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    if (v != NULL) return v;
    /* "?key" without '=' is present with a NULL value; tell it apart from absent. */
    const char *vp = NULL;
    size_t vlen = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &vp,
                                      &vlen) == MHD_YES)
        return vp != NULL ? vp : "";
    return NULL;
}

typedef struct args_iter {
    void (*fn)(void *arg, const char *k, const char *v);
    void *arg;
} args_iter;

static enum MHD_Result args_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    SL_UNUSED(kind);
    args_iter *it = cls;
    it->fn(it->arg, key, value != NULL ? value : "");
    return MHD_YES;
}

void sl_http_req_args(const sl_http_req *r, void (*fn)(void *arg, const char *k, const char *v),
                      void *arg)
{
    args_iter it = {fn, arg};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, args_cb, &it);
}

const char *sl_http_req_header(const sl_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool sl_http_cookie_get(const char *hdr, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = hdr; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= outlen) return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

const char *sl_http_req_client(const sl_http_req *r)
{
    return r->client;
}

uv_loop_t *sl_http_req_loop(const sl_http_req *r)
{
    return r->s->loop;
}

sl_slice sl_http_req_body(const sl_http_req *r)
{
    return r->body;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t outlen)
{
    snprintf(out, outlen, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)outlen);
}

static bool path_matches(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*') return strncmp(pattern, path, n - 1) == 0;
    return strcmp(pattern, path) == 0;
}

static bool method_matches(const char *want, const char *method)
{
    if (want == NULL) return !strcmp(method, "GET") || !strcmp(method, "HEAD");
    return strcmp(want, method) == 0;
}

int sl_http_route_run(const sl_http_route *routes, sl_http_req *req, sl_http_resp *resp, void *arg)
{
    bool path_seen = false;
    for (const sl_http_route *r = routes; r->path != NULL; r++) {
        if (!path_matches(r->path, req->path)) continue;
        path_seen = true;
        if (!method_matches(r->method, req->method)) continue;
        r->handler(req, resp, arg);
        return 1;
    }
    return path_seen ? 0 : -1;
}

static void dispatch(sl_http_server *s, req_state *st, const char *url, const char *method)
{
    sl_http_req req = {.s = s, .st = st, .conn = st->conn, .method = method, .path = url};
    req.body = sl_buf_slice(&st->body);
    client_addr(st->conn, req.client, sizeof(req.client));
    int ran = sl_http_route_run(s->cfg.routes, &req, &st->resp, s->cfg.arg);
    if (ran == 0)
        sl_http_resp_error(&st->resp, 405, "method not allowed");
    else if (ran < 0)
        sl_http_resp_error(&st->resp, 404, "not found");
    sl_log(SL_LOG_DEBUG, s->name, req.client, "%s %s -> %d", method, url, st->resp.status);
}

static enum MHD_Result send_resp(req_state *st)
{
    sl_http_resp *resp = &st->resp;
    struct MHD_Response *r;
    if (resp->body.len > 0) {
        r = MHD_create_response_from_buffer(resp->body.len, resp->body.ptr, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) return MHD_NO;
        sl_buf_init(&resp->body); /* MHD frees it with free(), which sl_malloc's memory allows */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (r == NULL) return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i][0], resp->headers[i][1]);
    enum MHD_Result ret = MHD_queue_response(st->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_delay_closed(uv_handle_t *h)
{
    sl_free(h);
}

static void susp_link(sl_http_server *s, req_state *st)
{
    if (st->in_list) return;
    st->prev = NULL;
    st->next = s->suspended;
    if (s->suspended != NULL) s->suspended->prev = st;
    s->suspended = st;
    st->in_list = true;
}

static void susp_unlink(sl_http_server *s, req_state *st)
{
    if (!st->in_list) return;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        s->suspended = st->next;
    if (st->next != NULL) st->next->prev = st->prev;
    st->prev = st->next = NULL;
    st->in_list = false;
    if (st->timer != NULL) {
        uv_close((uv_handle_t *)st->timer, on_delay_closed);
        st->timer = NULL;
    }
}

static void on_delay(uv_timer_t *t)
{
    req_state *st = t->data;
    sl_http_server *s = st->s;
    susp_unlink(s, st);
    MHD_resume_connection(st->conn);
    http_run(s);
}

/* Keeps an already suspended connection waiting resp.delay_ms more. */
static void start_delay(sl_http_server *s, req_state *st)
{
    st->timer = sl_malloc(sizeof(*st->timer));
    uv_timer_init(s->loop, st->timer);
    st->timer->data = st;
    uv_timer_start(st->timer, on_delay, (uint64_t)st->resp.delay_ms, 0);
    susp_link(s, st);
}

sl_http_pending *sl_http_defer(sl_http_req *req)
{
    sl_http_pending *p = sl_calloc(1, sizeof(*p));
    p->st = req->st;
    req->st->pending = p;
    return p;
}

sl_http_resp *sl_http_pending_resp(sl_http_pending *p)
{
    return p->st != NULL ? &p->st->resp : &p->orphan;
}

void sl_http_resume(sl_http_pending *p)
{
    req_state *st = p->st;
    if (st == NULL) {
        resp_free(&p->orphan);
        sl_free(p);
        return;
    }
    sl_free(p);
    st->pending = NULL;
    sl_http_server *s = st->s;
    susp_unlink(s, st);
    if (st->resp.delay_ms > 0 && !s->stopping) {
        start_delay(s, st);
        return;
    }
    MHD_resume_connection(st->conn);
    http_run(s);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    SL_UNUSED(version);
    sl_http_server *s = cls;
    req_state *st = *con_cls;
    if (st == NULL) {
        st = sl_calloc(1, sizeof(*st));
        st->s = s;
        st->conn = conn;
        resp_init(&st->resp);
        *con_cls = st;
        /* A body over the limit is read and dropped, then refused: answering before it is read
         * would close a socket with unread data, and the RST can destroy the answer before
         * the client reads it. Only an absurd declared length is refused at once. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
        if (len > s->cfg.max_body_bytes) st->too_big = true;
        if (len / 64 > s->cfg.max_body_bytes) {
            sl_http_resp_error(&st->resp, 413, "request body too large");
            st->ready = true;
            return send_resp(st);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!st->too_big && st->body.len + *upload_size > s->cfg.max_body_bytes) {
            st->too_big = true;
            sl_buf_free(&st->body);
        }
        if (!st->too_big) sl_buf_append(&st->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->ready) return send_resp(st);
    if (st->too_big)
        sl_http_resp_error(&st->resp, 413, "request body too large");
    else
        dispatch(s, st, url, method);
    st->ready = true;
    if (st->pending != NULL) {
        MHD_suspend_connection(conn);
        susp_link(s, st);
        return MHD_YES;
    }
    if (st->resp.delay_ms > 0 && !s->stopping) {
        MHD_suspend_connection(conn);
        start_delay(s, st);
        return MHD_YES;
    }
    return send_resp(st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    SL_UNUSED(conn);
    SL_UNUSED(toe);
    sl_http_server *s = cls;
    req_state *st = *con_cls;
    if (st == NULL) return;
    susp_unlink(s, st);
    if (st->pending != NULL) st->pending->st = NULL; /* its owner's sl_http_resume frees it */
    resp_free(&st->resp);
    sl_buf_free(&st->body);
    sl_free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    sl_http_server *s = cls;
    /* Refused connections (the per-address limit) are an operator's business; the rest of
     * libmicrohttpd's chatter is per-request noise, e.g. on every answer through a TLS relay
     * that TCP_NODELAY does not apply to a socketpair, formatted only when it is logged. */
    bool refused = strstr(fmt, "limit") || strstr(fmt, "accepting connection");
    int lvl = refused ? SL_LOG_WARN : SL_LOG_DEBUG;
    if (lvl > sl_log_level) return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sl_log(lvl, s->name, NULL, "libmicrohttpd: %s", msg);
}

static void on_mhd_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    SL_UNUSED(conn);
    SL_UNUSED(socket_context);
    sl_http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        s->nconns++;
    else if (s->nconns > 0)
        s->nconns--;
}

static void on_timer(uv_timer_t *t)
{
    http_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    SL_UNUSED(status);
    SL_UNUSED(events);
    http_run(p->data);
}

static void http_run(sl_http_server *s)
{
    if (s->d == NULL) return;
    MHD_run(s->d);
    /* Said once per crossing, so an operator can tell a full server from a hung one. */
    bool full = s->nconns >= s->cfg.max_connections;
    if (full != s->at_limit) {
        s->at_limit = full;
        if (full)
            SL_WARN(s->name,
                    "connection limit (%u) reached: new connections get a 503 until one "
                    "closes",
                    s->cfg.max_connections);
        else
            SL_INFO(s->name, "under the connection limit (%u) again", s->cfg.max_connections);
    }
    MHD_UNSIGNED_LONG_LONG to = 0;
    if (MHD_get_timeout(s->d, &to) == MHD_YES)
        uv_timer_start(&s->timer, on_timer, to, 0);
    else
        uv_timer_stop(&s->timer);
}

static void server_free(sl_http_server *s)
{
    sl_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_http_server *s = h->data;
    if (--s->open_handles == 0) server_free(s);
}

static void relay_maybe_free(relay *r)
{
    if (r->c != NULL || !r->pipe_closed) return;
    sl_http_server *s = r->s;
    sl_free(r);
    if (--s->open_handles == 0) server_free(s);
}

static void on_pipe_closed(uv_handle_t *h)
{
    relay *r = h->data;
    r->pipe_closed = true;
    relay_maybe_free(r);
}

/* Closes our end of the pair: MHD sees the client go (or is already gone itself). */
static void relay_close_pipe(relay *r)
{
    if (r->pipe_closing) return;
    r->pipe_closing = true;
    uv_close((uv_handle_t *)&r->pipe, on_pipe_closed);
}

typedef struct pipe_write {
    uv_write_t req;
    relay *r;
    size_t len;
    uint8_t data[];
} pipe_write;

static void on_pipe_write(uv_write_t *req, int status)
{
    pipe_write *w = req->data;
    relay *r = w->r;
    r->to_mhd -= w->len;
    sl_free(w);
    if (r->pipe_closing) return; /* cancelled by the close */
    if (status < 0) {            /* MHD closed its end; what it wrote is still to be read */
        sl_log(SL_LOG_DEBUG, r->s->name, r->c ? sl_conn_peer(r->c) : NULL, "relay write: %s",
               uv_strerror(status));
        return;
    }
    if (r->to_mhd == 0 && r->c != NULL) sl_conn_resume(r->c);
}

/* Decrypted bytes from the client, for MHD. */
static void relay_to_mhd(relay *r, const uint8_t *p, size_t n)
{
    if (r->pipe_closing || r->shut_sent) return;
    if (r->to_mhd == 0) {
        uv_buf_t ub = uv_buf_init((char *)p, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&r->pipe, &ub, 1);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
        if (n == 0) return;
    }
    pipe_write *w = sl_malloc(sizeof(*w) + n);
    memcpy(w->data, p, n);
    w->r = r;
    w->len = n;
    w->req.data = w;
    uv_buf_t ub = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&r->pipe, &ub, 1, on_pipe_write) != 0) {
        sl_free(w);
        return; /* MHD's end is gone; reading the pipe ends the relay */
    }
    r->to_mhd += n;
    if (r->to_mhd > RELAY_HIGH && r->c != NULL) sl_conn_pause(r->c);
}

static void on_pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    SL_UNUSED(suggested);
    relay *r = h->data;
    *buf = uv_buf_init((char *)r->s->rdbuf, sizeof(r->s->rdbuf));
}

/* MHD's bytes for the client. At MHD's end (it closed the connection) the TLS side closes too,
 * after what is queued, with a close_notify. */
static void on_pipe_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    relay *r = st->data;
    if (n == 0) return;
    if (n < 0) {
        if (r->c != NULL) sl_conn_close(r->c);
        relay_close_pipe(r);
        return;
    }
    if (r->c == NULL) return;
    sl_buf b = SL_BUF_INIT;
    sl_buf_append(&b, buf->base, (size_t)n);
    sl_conn_write(r->c, &b);
    if (sl_conn_write_pending(r->c) > RELAY_HIGH) {
        uv_read_stop(st);
        r->reading = false;
    }
}

static void on_pipe_shut(uv_shutdown_t *req, int status)
{
    SL_UNUSED(req);
    SL_UNUSED(status);
}

static ssize_t relay_frame_len(const uint8_t *p, size_t avail)
{
    SL_UNUSED(p);
    return (ssize_t)avail; /* a byte stream: whatever arrived is passed on */
}

/* Reads what MHD has written as on_pipe_read would, without waiting for the loop's next turn. */
static void relay_pull(relay *r)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&r->pipe, &fd) != 0) return;
    while (r->reading && !r->pipe_closing) {
        ssize_t n = read(fd, r->s->rdbuf, sizeof(r->s->rdbuf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        ssize_t st = n > 0 ? n : n == 0 ? UV_EOF : uv_translate_sys_error(errno);
        uv_buf_t b = uv_buf_init((char *)r->s->rdbuf, n > 0 ? (unsigned)n : 0);
        on_pipe_read((uv_stream_t *)&r->pipe, st, &b);
        if (n < (ssize_t)sizeof(r->s->rdbuf)) return; /* drained: spare the read that says so */
    }
}

static void on_conn_frame(sl_conn *c, const uint8_t *p, size_t n)
{
    relay *r = sl_conn_data(c);
    if (r == NULL) return;
    relay_to_mhd(r, p, n);
    /* MHD reads and answers now, and the answer goes out now: a request costs one turn of the
     * loop, as on a plaintext connection, instead of three. */
    http_run(r->s);
    relay_pull(r);
}

/* The client finished sending: MHD is told the same way. */
static void on_conn_eof(sl_conn *c)
{
    relay *r = sl_conn_data(c);
    if (r == NULL || r->pipe_closing || r->shut_sent) {
        sl_conn_close(c);
        return;
    }
    r->shut_sent = true;
    r->shut.data = r;
    if (uv_shutdown(&r->shut, (uv_stream_t *)&r->pipe, on_pipe_shut) != 0) relay_close_pipe(r);
}

static void on_conn_drain(sl_conn *c)
{
    relay *r = sl_conn_data(c);
    if (r == NULL || r->reading || r->pipe_closing) return;
    if (uv_read_start((uv_stream_t *)&r->pipe, on_pipe_alloc, on_pipe_read) == 0) r->reading = true;
}

/* A refused TLS connection has had its 503 sent with the handshake's last flight. */
static void on_conn_ready(sl_conn *c)
{
    if (sl_conn_data(c) == NULL) sl_conn_close(c);
}

static void on_conn_close(sl_conn *c)
{
    sl_http_server *s = sl_server_udata(sl_conn_server(c));
    relay *r = sl_conn_data(c);
    if (r == NULL) {
        s->nrefusing--;
        return;
    }
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        s->relays = r->next;
    if (r->next != NULL) r->next->prev = r->prev;
    r->c = NULL;
    relay_close_pipe(r);
    relay_maybe_free(r);
}

/* Serves an accepted TLS socket through a relay; takes fd. Returns 0, or -errno when the
 * socketpair could not be made (fd is closed). */
static int relay_open(sl_http_server *s, int fd, const struct sockaddr *sa, socklen_t salen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    sl_conn *c = sl_server_adopt(s->conns, fd);
    if (c == NULL) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    relay *r = sl_calloc(1, sizeof(*r));
    r->s = s;
    r->c = c;
    uv_pipe_init(s->loop, &r->pipe, 0);
    r->pipe.data = r;
    r->next = s->relays;
    if (s->relays != NULL) s->relays->prev = r;
    s->relays = r;
    s->open_handles++;
    sl_conn_set_data(c, r);
    if (uv_pipe_open(&r->pipe, sv[0]) != 0) {
        close(sv[0]);
        close(sv[1]);
        relay_close_pipe(r);
        sl_conn_close(c);
        return 0;
    }
    /* The client's address, not the pair's, so per-address limits and logs see the client. On
     * failure MHD has closed sv[1] and logged why; reading the pipe then ends the relay. */
    if (MHD_add_connection(s->d, sv[1], sa, salen) != MHD_YES)
        sl_log(SL_LOG_DEBUG, s->name, sl_conn_peer(c), "libmicrohttpd refused the connection");
    if (uv_read_start((uv_stream_t *)&r->pipe, on_pipe_alloc, on_pipe_read) == 0)
        r->reading = true;
    else
        relay_close_pipe(r);
    return 0;
}

/* Over the limit: a complete 503 that names it, then an orderly close (after the handshake on
 * TLS). Takes fd. */
static void refuse(sl_http_server *s, int fd)
{
    if (s->nrefusing >= REFUSING_MAX) { /* a flood: the limit's WARN has been said */
        close(fd);
        return;
    }
    sl_conn *c = sl_server_adopt(s->conns, fd);
    if (c == NULL) return;
    s->nrefusing++;
    char body[64];
    int blen =
        snprintf(body, sizeof(body), "connection limit (%u) reached\n", s->cfg.max_connections);
    sl_buf b = SL_BUF_INIT;
    sl_buf_printf(&b,
                  "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
                  "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
                  blen, body);
    sl_log(SL_LOG_DEBUG, s->name, sl_conn_peer(c), "connection limit (%u) reached: 503",
           s->cfg.max_connections);
    sl_conn_write(c, &b);
    if (!s->tls) sl_conn_close(c);
}

static void on_accept(uv_poll_t *h, int status, int events);

static void on_accept_resume(uv_timer_t *t)
{
    sl_http_server *s = t->data;
    if (!s->stopping) uv_poll_start(&s->accept, UV_READABLE, on_accept);
}

/* Stops accepting for ACCEPT_PAUSE_MS: the connection waiting would make the socket readable
 * again at once. Existing connections are served meanwhile. */
static void accept_pause(sl_http_server *s, int err)
{
    if (err == EMFILE || err == ENFILE) {
        if (!s->fd_short) {
            struct rlimit rl = {0};
            getrlimit(RLIMIT_NOFILE, &rl);
            SL_WARN(s->name,
                    "out of file descriptors (%s, RLIMIT_NOFILE %llu): new connections wait "
                    "until descriptors are free",
                    err == ENFILE ? "ENFILE" : "EMFILE", (unsigned long long)rl.rlim_cur);
        }
        s->fd_short = true;
    } else {
        SL_ERROR(s->name, "accept: %s", strerror(err));
    }
    uv_poll_stop(&s->accept);
    uv_timer_start(&s->accept_pause, on_accept_resume, ACCEPT_PAUSE_MS, 0);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    SL_UNUSED(status);
    SL_UNUSED(events);
    sl_http_server *s = h->data;
    for (int i = 0; i < ACCEPT_BATCH && !s->stopping; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) accept_pause(s, errno);
            break;
        }
        int rc = 0;
        if (s->nconns >= s->cfg.max_connections)
            refuse(s, fd);
        else if (s->tls)
            rc = relay_open(s, fd, (struct sockaddr *)&ss, sl);
        else if (MHD_add_connection(s->d, fd, (struct sockaddr *)&ss, sl) != MHD_YES)
            SL_DEBUG(s->name, "libmicrohttpd refused a connection"); /* it closed fd */
        if (rc != 0) { /* the relay's socketpair: out of descriptors too, or worse */
            accept_pause(s, -rc);
            break;
        }
        if (s->fd_short) {
            s->fd_short = false;
            SL_INFO(s->name, "file descriptors free again: accepting");
        }
    }
    http_run(s);
}

/* Creates the listening socket ourselves, so a bind failure reports its errno and port 0 works. */
static int listen_socket(const char *addr, const char *name, int *fd_out, int *port_out)
{
    char host[256];
    int port;
    if (sl_hostport_parse(addr, host, sizeof(host), &port) != 0) {
        SL_ERROR(name, "bad listen address \"%s\" (want HOST:PORT)", addr);
        return SL_ERR_CONFIG;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
    if (gai != 0) {
        SL_ERROR(name, "cannot resolve listen host \"%s\": %s", host, gai_strerror(gai));
        return SL_ERR_CONFIG;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        rc = -errno;
        close(fd);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
out:
    if (rc != 0) SL_ERROR(name, "cannot listen on %s: %s", addr, sl_strerror(rc));
    freeaddrinfo(ai);
    return rc;
}

static void on_conns_stopped(void *arg)
{
    sl_http_server *s = arg;
    if (--s->open_handles <= 0) server_free(s);
}

int sl_http_open(uv_loop_t *loop, const sl_http_config *cfg, sl_http_server **out)
{
    sl_http_server *s = sl_calloc(1, sizeof(*s));
    s->loop = loop;
    s->cfg = *cfg;
    snprintf(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "http");
    if (s->cfg.max_header_bytes == 0) s->cfg.max_header_bytes = 16 * 1024;
    if (s->cfg.max_body_bytes == 0) s->cfg.max_body_bytes = 1024 * 1024;
    if (s->cfg.max_connections == 0) s->cfg.max_connections = 1024;
    if (s->cfg.idle_timeout_s == 0) s->cfg.idle_timeout_s = 60;
    s->cfg.listen = NULL; /* not kept: the caller owns the string */
    s->cfg.tls_cert = s->cfg.tls_key = NULL;
    s->tls = cfg->tls_cert != NULL || cfg->tls_key != NULL;

    /* The connections' server first: it checks the TLS files and fails without side effects. */
    sl_server_opts so = {
        .name = s->name,
        .tls_cert = cfg->tls_cert,
        .tls_key = cfg->tls_key,
        .handshake_timeout_ms = s->cfg.idle_timeout_s * 1000,
        .frame_len = relay_frame_len,
        .udata = s,
        .on_frame = on_conn_frame,
        .on_close = on_conn_close,
        .on_ready = on_conn_ready,
        .on_eof = on_conn_eof,
        .on_drain = on_conn_drain,
    };
    int rc = sl_server_start(loop, &so, &s->conns);
    if (rc != 0) {
        server_free(s);
        return rc;
    }
    s->lfd = -1;
    rc = listen_socket(cfg->listen, s->name, &s->lfd, &s->port);
    if (rc == 0) {
        unsigned flags =
            MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
        /* MHD's own limit stays at ours, which on_accept enforces before it is reached. */
        s->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->cfg.max_header_bytes,
            MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
            s->cfg.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_mhd_conn, s,
            s->cfg.max_connections_ip ? MHD_OPTION_PER_IP_CONNECTION_LIMIT : MHD_OPTION_END,
            s->cfg.max_connections_ip, MHD_OPTION_END);
        if (s->d == NULL) {
            SL_ERROR(s->name, "libmicrohttpd could not start on %s", cfg->listen);
            rc = SL_ERR_CONFIG;
        }
    }
    if (rc != 0) {
        if (s->lfd >= 0) close(s->lfd);
        sl_server_stop(s->conns, on_conns_stopped, s); /* frees s */
        return rc;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(loop, &s->poll, di->epoll_fd);
    uv_poll_init(loop, &s->accept, s->lfd);
    uv_timer_init(loop, &s->timer);
    uv_timer_init(loop, &s->accept_pause);
    s->poll.data = s->accept.data = s->timer.data = s->accept_pause.data = s;
    uv_poll_start(&s->poll, UV_READABLE, on_poll);
    uv_poll_start(&s->accept, UV_READABLE, on_accept);
    s->open_handles = 5; /* poll, accept, timer, accept_pause and conns */
    *out = s;
    return 0;
}

int sl_http_port(const sl_http_server *s)
{
    return s->port;
}

/* Hands the TLS side what MHD has written and not yet been read (the last answers) and closes
 * the relay. */
static void relay_finish(relay *r)
{
    uv_os_fd_t fd;
    if (!r->pipe_closing && r->c != NULL && uv_fileno((uv_handle_t *)&r->pipe, &fd) == 0) {
        ssize_t n;
        while ((n = read(fd, r->s->rdbuf, sizeof(r->s->rdbuf))) > 0) {
            sl_buf b = SL_BUF_INIT;
            sl_buf_append(&b, r->s->rdbuf, (size_t)n);
            sl_conn_write(r->c, &b);
        }
    }
    relay_close_pipe(r);
    if (r->c != NULL) sl_conn_close(r->c);
}

void sl_http_close(sl_http_server *s)
{
    if (s == NULL) return;
    s->stopping = true;
    uv_close((uv_handle_t *)&s->accept, on_handle_closed);
    uv_close((uv_handle_t *)&s->accept_pause, on_handle_closed);
    close(s->lfd);
    /* MHD must not be stopped with suspended connections: answer the delayed ones now, and the
     * deferred ones with a 503 (their handlers' late answers are dropped). */
    while (s->suspended != NULL) {
        req_state *st = s->suspended;
        susp_unlink(s, st);
        if (st->pending != NULL) {
            st->pending->st = NULL;
            st->pending = NULL;
            resp_free(&st->resp);
            sl_http_resp_error(&st->resp, 503, "server shutting down");
        }
        MHD_resume_connection(st->conn);
    }
    MHD_run(s->d);
    for (relay *r = s->relays; r != NULL; r = r->next)
        relay_finish(r);
    /* Remove the epoll descriptor from libuv before MHD closes it. */
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    MHD_stop_daemon(s->d); /* closes every connection it has */
    s->d = NULL;
    sl_server_stop(s->conns, on_conns_stopped, s);
}
