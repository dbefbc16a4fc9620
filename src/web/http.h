/* http.h: a small HTTP/1.1 server on libmicrohttpd, driven from one libuv loop (docs/http.md).
 *
 * A component gives a table of routes; each handler runs on the loop's thread, reads the request
 * through the sl_http_req accessors and fills an sl_http_resp. libmicrohttpd does the protocol
 * (keep-alive, pipelining, chunked bodies, HEAD, Date) and bounds the request line and headers:
 * beyond max_header_bytes it answers 414 (URL) or 431 (headers) and closes. Bodies are bounded by
 * max_body_bytes (413). A path no route matches gets 404, a matched path with another method 405,
 * both with a JSON body {"error":"..."}. At max_connections a new connection is answered 503
 * (Retry-After: 1) and closed; the open ones are served on. With tls_cert/tls_key the listener
 * speaks only TLS, through OpenSSL (core/server.h). Not thread-safe: one loop owns a server. */
#ifndef SL_WEB_HTTP_H
#define SL_WEB_HTTP_H

#include "core/buf.h"
#include "core/sl.h"

#include <uv.h>

typedef struct sl_http_server sl_http_server;
typedef struct sl_http_req sl_http_req;         /* valid only during its handler call */
typedef struct sl_http_pending sl_http_pending; /* a deferred answer, see sl_http_defer */

#define SL_HTTP_MAX_HEADERS 8

/* What a handler answers. status defaults to 200, content_type to application/json, body to
 * empty. The body is moved into the response after the handler returns. */
typedef struct sl_http_resp {
    int status;
    const char *content_type; /* static string */
    sl_buf body;
    int64_t delay_ms; /* > 0: send after this long, without blocking the loop */
    size_t nheaders;
    char *headers[SL_HTTP_MAX_HEADERS][2]; /* set with sl_http_resp_header */
} sl_http_resp;

typedef void (*sl_http_handler)(sl_http_req *req, sl_http_resp *resp, void *arg);

/* One route. method NULL accepts GET and HEAD. A path ending in '*' matches every path with the
 * prefix before the '*'; otherwise the match is exact. The first matching route wins. */
typedef struct sl_http_route {
    const char *method;
    const char *path;
    sl_http_handler handler;
} sl_http_route;

typedef struct sl_http_config {
    const char *listen;          /* HOST:PORT, [V6]:PORT; port 0 picks a free one */
    const char *name;            /* log subsystem, e.g. "fakeapi" */
    const sl_http_route *routes; /* ends with a route whose path is NULL */
    void *arg;                   /* passed to every handler */
    size_t max_header_bytes;     /* request line + headers; 0: 16 KiB */
    size_t max_body_bytes;       /* 0: 1 MiB */
    unsigned max_connections;    /* open at once; past it 503 and close; 0: 1024 */
    unsigned max_connections_ip; /* per client address; 0: no limit beyond max_connections */
    unsigned idle_timeout_s;     /* 0: 60; bounds a TLS handshake too */
    const char *tls_cert;        /* PEM certificate chain file: HTTPS only; NULL: plain HTTP */
    const char *tls_key;         /* PEM private key file, with tls_cert */
} sl_http_config;

/* Runs the first route of routes (ending with a NULL path) that matches req's method and path,
 * as the server does with its own table, e.g. for a second table behind a catch-all route.
 * Returns 1 when a handler ran, 0 when a route matched the path but not the method (the server
 * answers 405), -1 when none matched the path (404). resp is left alone unless a handler ran. */
int sl_http_route_run(const sl_http_route *routes, sl_http_req *req, sl_http_resp *resp, void *arg);

/* Binds and starts serving on loop. Returns 0, or -errno / SL_ERR_CONFIG (logged). */
int sl_http_open(uv_loop_t *loop, const sl_http_config *cfg, sl_http_server **out);
/* The bound port (useful with port 0). */
int sl_http_port(const sl_http_server *s);
/* Stops accepting, answers delayed requests at once, closes every connection and the loop
 * handles, then frees the server. The loop must run afterwards for the handles to close. */
void sl_http_close(sl_http_server *s);

/* The method ("GET") and the decoded path without the query ("/api/"). */
const char *sl_http_req_method(const sl_http_req *r);
const char *sl_http_req_path(const sl_http_req *r);
/* A query argument, URL-decoded; NULL if absent, "" for "?key" without a value. The first of
 * repeated keys wins. */
const char *sl_http_req_arg(const sl_http_req *r, const char *key);
/* Calls fn for each query argument in order (value "" when it has none). */
void sl_http_req_args(const sl_http_req *r, void (*fn)(void *arg, const char *k, const char *v),
                      void *arg);
/* A request header (case-insensitive name), or NULL. */
const char *sl_http_req_header(const sl_http_req *r, const char *name);
/* The value of cookie name in a Cookie header value hdr (NULL: none), copied NUL-terminated into
 * out; false if absent or longer than outlen-1 bytes. */
bool sl_http_cookie_get(const char *hdr, const char *name, char *out, size_t outlen);
/* The client's address without port, "127.0.0.1" or "::1". */
const char *sl_http_req_client(const sl_http_req *r);
/* The loop the server runs on, for work a handler starts. */
uv_loop_t *sl_http_req_loop(const sl_http_req *r);
/* The request body (empty for GET). Borrowed until the handler returns. */
sl_slice sl_http_req_body(const sl_http_req *r);

/* Defers the answer: after the handler returns, the connection waits until sl_http_resume. The
 * handler (or work it starts) fills sl_http_pending_resp(p) later, on the loop thread, then calls
 * sl_http_resume(p), which sends it (after resp.delay_ms) and frees p. If the server closes
 * first, the client gets a 503 and the late answer is dropped; sl_http_resume must still be
 * called, and never from within the handler itself. */
sl_http_pending *sl_http_defer(sl_http_req *req);
/* The response to fill for a deferred answer; loop thread only. */
sl_http_resp *sl_http_pending_resp(sl_http_pending *p);
/* Sends the deferred answer and frees p; loop thread only. */
void sl_http_resume(sl_http_pending *p);

/* Adds a response header (copied); at most SL_HTTP_MAX_HEADERS, further ones are dropped. */
void sl_http_resp_header(sl_http_resp *resp, const char *name, const char *value);
/* Sets status and a JSON body {"error":"msg"} (msg JSON-escaped). */
void sl_http_resp_error(sl_http_resp *resp, int status, const char *msg);
/* Appends s as a JSON string literal, quotes included, escaping what JSON requires. */
void sl_http_json_str(sl_buf *b, const char *s, size_t len);

#endif
