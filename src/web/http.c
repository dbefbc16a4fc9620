/* http.c: libmicrohttpd in external-epoll mode on a libuv loop (docs/http.md). A uv_poll_t on
 * MHD's epoll descriptor and a uv_timer_t armed from MHD_get_timeout call MHD_run, so every
 * handler runs on the loop's thread. A delayed or deferred response suspends its connection; a
 * per-request timer, or sl_http_resume, resumes it. */
#include "web/http.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct req_state req_state;

struct sl_http_server {
    struct MHD_Daemon *d;
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t timer;
    sl_http_config cfg;
    char name[32];
    int port;
    int open_handles; /* poll and timer; the server is freed when both have closed */
    bool stopping;
    bool at_limit; /* max_connections reached: libmicrohttpd leaves new ones in the backlog */
    req_state *suspended; /* connections waiting for a delay timer or a deferred answer */
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
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* Refused connections (connection limit, out of descriptors) are an operator's business;
     * the rest of libmicrohttpd's chatter is per-request noise. */
    bool refused = strstr(msg, "limit") || strstr(msg, "accepting connection");
    sl_log(refused ? SL_LOG_WARN : SL_LOG_DEBUG, s->name, NULL, "libmicrohttpd: %s", msg);
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
    /* At the limit libmicrohttpd stops accepting without a word: say so once, and once more
     * when it accepts again, so an operator can tell a full server from a hung one. */
    const union MHD_DaemonInfo *ci = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    bool full = ci && ci->num_connections >= s->cfg.max_connections;
    if (full != s->at_limit) {
        s->at_limit = full;
        if (full)
            SL_WARN(s->name, "connection limit (%u) reached: new connections wait until one closes",
                    s->cfg.max_connections);
        else
            SL_INFO(s->name, "under the connection limit (%u) again: accepting",
                    s->cfg.max_connections);
    }
    MHD_UNSIGNED_LONG_LONG to = 0;
    if (MHD_get_timeout(s->d, &to) == MHD_YES)
        uv_timer_start(&s->timer, on_timer, to, 0);
    else
        uv_timer_stop(&s->timer);
}

/* Creates the listening socket ourselves, so a bind failure reports its errno and port 0 works. */
static int listen_socket(const char *addr, const char *name, int *fd_out, int *port_out, bool *v6)
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
    *v6 = ss.ss_family == AF_INET6;
    *fd_out = fd;
out:
    if (rc != 0) SL_ERROR(name, "cannot listen on %s: %s", addr, sl_strerror(rc));
    freeaddrinfo(ai);
    return rc;
}

/* A whole PEM file as a string; NULL with the reason logged. */
static char *read_pem(const char *name, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        SL_ERROR(name, "tls: %s: %s", path, strerror(errno));
        return NULL;
    }
    sl_buf b = SL_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        sl_buf_append(&b, chunk, n);
    fclose(f);
    sl_buf_append(&b, "", 1);
    return (char *)b.ptr;
}

static void server_free(sl_http_server *s)
{
    if (s->tls_key) OPENSSL_cleanse(s->tls_key, strlen(s->tls_key));
    sl_free(s->tls_key);
    sl_free(s->tls_cert);
    sl_free(s);
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

    if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
        SL_ERROR(s->name, "tls: a certificate needs a key and a key a certificate");
        server_free(s);
        return SL_ERR_CONFIG;
    }
    if (cfg->tls_cert && (!(s->tls_cert = read_pem(s->name, cfg->tls_cert)) ||
                          !(s->tls_key = read_pem(s->name, cfg->tls_key)))) {
        server_free(s);
        return SL_ERR_CONFIG;
    }
    int fd = -1;
    bool v6 = false;
    int rc = listen_socket(cfg->listen, s->name, &fd, &s->port, &v6);
    if (rc != 0) {
        server_free(s);
        return rc;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    /* libmicrohttpd's TLS is GnuTLS (docs/security.md says why not OpenSSL here). */
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
                                   {MHD_OPTION_END, 0, NULL}};
    if (s->tls_cert) flags |= MHD_USE_TLS;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, s->tls_cert ? tls : tls + 2,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        s->cfg.max_header_bytes, MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        s->cfg.max_connections_ip ? MHD_OPTION_PER_IP_CONNECTION_LIMIT : MHD_OPTION_END,
        s->cfg.max_connections_ip, MHD_OPTION_END);
    if (s->d == NULL) {
        SL_ERROR(s->name, "libmicrohttpd could not start on %s%s", cfg->listen,
                 s->tls_cert ? " (check the TLS certificate and key)" : "");
        close(fd);
        server_free(s);
        return SL_ERR_CONFIG;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(loop, &s->poll, di->epoll_fd);
    s->poll.data = s;
    uv_poll_start(&s->poll, UV_READABLE, on_poll);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->open_handles = 2;
    *out = s;
    return 0;
}

int sl_http_port(const sl_http_server *s)
{
    return s->port;
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_http_server *s = h->data;
    if (--s->open_handles == 0) server_free(s);
}

void sl_http_close(sl_http_server *s)
{
    if (s == NULL) return;
    s->stopping = true;
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
    /* Remove the epoll descriptor from libuv before MHD closes it. */
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    MHD_stop_daemon(s->d); /* closes the listening socket and every connection */
    s->d = NULL;
}
