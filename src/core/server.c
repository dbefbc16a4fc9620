/* server.c: the framed TCP server helper and the shutdown-signal helper.
 *
 * Reading. Each server owns one read buffer shared by its connections: libuv calls alloc, read
 * and the read callback back to back on the loop thread, so frames that arrive whole are handed
 * to on_frame straight from it, without a copy. Only the unfinished tail of a read is copied into
 * the connection's own buffer, which is sized to the frame it is waiting for (never more than
 * max_frame); the rest of a large frame is then read directly into that buffer.
 *
 * Lifetime. A connection holds one reference for its socket (dropped when libuv has closed both
 * of its handles), one per sl_conn_keep, and one while it waits on the deferred-work list. It is
 * freed, after on_close, when the count reaches zero; that can only happen from a libuv close
 * callback or a user's sl_conn_release, never in the middle of delivering one of its frames.
 *
 * Closing. An orderly close stops reading, waits for queued writes to drain, shuts down the
 * sending side and reads (discarding) until the peer closes or a short linger expires. Closing
 * with unread bytes in the kernel would send a RST, which can destroy the error response a
 * protocol just queued for an oversized frame (nginx lingering close).
 *
 * TLS. With a certificate configured every connection gets an OpenSSL SSL object on two memory
 * BIOs: ciphertext read from the socket goes into one, the handshake is driven from the read
 * callback, and SSL_read's plaintext is fed to the same framing code as a plaintext read (it is
 * decrypted into the server's read buffer, which the ciphertext has just left). Writes are
 * encrypted with SSL_write and what OpenSSL puts in the other BIO is written to the socket. A
 * plaintext connection has no SSL object and takes none of these paths.
 *
 * Adoption. A server started without a listen address has no listener: its owner accepts and
 * hands each socket to sl_server_adopt (web/http.c does, to relay TLS to libmicrohttpd), which
 * sets it up as on_connection does. */
#include "core/server.h"
#include "core/codec.h"
#include "core/server_int.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
/* A frame missing at least this much is read straight into the connection's buffer. */
#define DIRECT_READ_MIN (16 * 1024)
/* An idle connection's buffer above this size is released once its frame is delivered. */
#define RBUF_KEEP_MAX         (64 * 1024)
#define ERR_HDR_MAX           64
#define DEFAULT_MAX_FRAME     (100u * 1024 * 1024)
#define FLUSH_TIMEOUT_MS      30000
#define STOP_FLUSH_TIMEOUT_MS 1000
#define LINGER_MS             2000
#define BACKLOG               511
#define FD_CHECK_MS           1000  /* how often a listener checks it could accept */
#define FD_WARN_EVERY_MS      30000 /* repeats of the out-of-descriptors warning */
/* Plaintext encrypted per SSL_write: bounds the ciphertext buffered before it is queued. */
#define TLS_WRITE_CHUNK (256 * 1024)

typedef enum {
    ST_OPEN,   /* reading and delivering frames */
    ST_FLUSH,  /* close requested: waiting for queued writes */
    ST_LINGER, /* writes done and FIN sent: discarding input until the peer closes */
    ST_CLOSED, /* uv_close issued on both handles */
} conn_state;

struct sl_conn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* flush timeout, then linger timeout */
    uv_shutdown_t shut;
    sl_server *srv;
    sl_conn *prev, *next; /* the server's list of every conn not yet freed */
    sl_conn *drain_next;  /* the server's deferred-work list */
    void *data;
    conn_state state;
    unsigned refs;
    unsigned user_refs;
    unsigned handles; /* libuv handles not yet closed (tcp, timer) */
    unsigned nwrites; /* uv_write requests outstanding */
    size_t write_pending;
    bool paused;
    bool held; /* rbuf may hold complete frames, kept back by a pause */
    bool eof;  /* the peer finished sending */
    bool drain_queued;
    bool opened;           /* on_open ran, so on_close is owed */
    bool eof_told;         /* opts.on_eof ran */
    sl_buf rbuf;           /* the start of a frame that has not fully arrived */
    size_t need;           /* bytes rbuf must hold before parsing again; 0 when unknown */
    uint8_t *fbuf;         /* opts.frame_buf's memory for the frame arriving (need bytes) */
    size_t fgot;           /* bytes of that frame in fbuf so far */
    SSL *ssl;              /* NULL on a plaintext connection */
    BIO *tls_in, *tls_out; /* ciphertext from and to the socket (owned by ssl) */
    bool tls_ready;        /* handshake done */
    sl_buf tls_early;      /* plaintext written before the handshake finished */
    char peer[64];
};

struct sl_server {
    uv_loop_t *loop;
    bool listening; /* opts.listen was given: listener and fd_check are in use */
    uv_tcp_t listener;
    uv_idle_t idle;      /* runs deferred drains */
    uv_timer_t fd_check; /* see on_fd_check */
    bool fd_short;       /* the last check found no descriptor free */
    int64_t fd_warned;   /* sl_mono_ms of the last out-of-descriptors warning */
    sl_server_opts opts;
    char *name;
    int port;
    unsigned nconns;  /* open sockets */
    unsigned nlive;   /* conns not yet freed */
    unsigned handles; /* listener, idle and fd_check, until closed */
    bool stopping;
    bool stop_busy; /* inside sl_server_stop: finishing is deferred to its end */
    sl_conn *conns;
    sl_conn *drain_head, *drain_tail;
    void (*done)(void *);
    void *done_arg;
    SSL_CTX *tls; /* NULL: plaintext */
    uint8_t rdbuf[READ_BUF_SIZE];
};

typedef struct write_req {
    uv_write_t req;
    sl_conn *conn;
    sl_buf buf;
    size_t len; /* bytes in flight, from buf.ptr + (buf.len - len) */
} write_req;

static void conn_do_close(sl_conn *c);
static void conn_after_flush(sl_conn *c);
static void conn_drain(sl_conn *c);
static void server_maybe_finish(sl_server *s);
static void on_idle(uv_idle_t *h);
static void conn_write_raw(sl_conn *c, sl_buf *b);
static void tls_pump(sl_conn *c);

static inline void conn_ref(sl_conn *c)
{
    c->refs++;
}

static void conn_unref(sl_conn *c)
{
    if (--c->refs > 0) return;
    sl_server *s = c->srv;
    if (c->opened && s->opts.on_close) s->opts.on_close(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    sl_buf_free(&c->rbuf);
    if (c->ssl) SSL_free(c->ssl);
    sl_buf_free(&c->tls_early);
    sl_free(c);
    s->nlive--;
    server_maybe_finish(s);
}

/* Queues c for conn_drain on the next loop iteration, outside any callback. */
static void conn_schedule_drain(sl_conn *c)
{
    sl_server *s = c->srv;
    if (c->drain_queued || s->stopping) return;
    c->drain_queued = true;
    conn_ref(c);
    c->drain_next = NULL;
    if (s->drain_tail)
        s->drain_tail->drain_next = c;
    else
        s->drain_head = c;
    s->drain_tail = c;
    uv_idle_start(&s->idle, on_idle);
}

/* After the peer's EOF, the connection closes once nothing it owes can still be written. */
static void conn_check_eof(sl_conn *c)
{
    if (!c->eof || c->state != ST_OPEN || c->user_refs != 0 || c->paused || c->drain_queued) return;
    void (*on_eof)(sl_conn *) = c->srv->opts.on_eof;
    if (!on_eof) {
        sl_conn_close(c);
    } else if (!c->eof_told) {
        c->eof_told = true;
        on_eof(c);
    }
}

static void frame_error(sl_conn *c, int rc, ssize_t fl, const uint8_t *p, size_t avail)
{
    sl_server *s = c->srv;
    if (rc == SL_ERR_TOOBIG)
        sl_log(SL_LOG_WARN, s->name, c->peer, "frame of %zd bytes over max_frame %zu, closing", fl,
               s->opts.max_frame);
    else
        sl_log(SL_LOG_WARN, s->name, c->peer, "malformed frame header, closing");
    if (s->opts.on_frame_error) s->opts.on_frame_error(c, rc, p, SL_MIN(avail, ERR_HDR_MAX));
    sl_conn_close(c);
}

/* Delivers the complete frames at the start of [p, p+n) and returns the bytes consumed. Stops
 * at an incomplete frame (setting c->need), a pause or a close. */
static size_t parse_frames(sl_conn *c, const uint8_t *p, size_t n)
{
    sl_server *s = c->srv;
    size_t off = 0;
    c->need = 0;
    while (off < n && c->state == ST_OPEN && !c->paused) {
        ssize_t fl = s->opts.frame_len(p + off, n - off);
        if (fl == SL_AGAIN) break;
        if (fl <= 0) {
            frame_error(c, SL_ERR_PARSE, fl, p + off, n - off);
            break;
        }
        if ((size_t)fl > s->opts.max_frame) {
            frame_error(c, SL_ERR_TOOBIG, fl, p + off, n - off);
            break;
        }
        if ((size_t)fl > n - off) {
            c->need = (size_t)fl;
            break;
        }
        s->opts.on_frame(c, p + off, (size_t)fl);
        off += (size_t)fl;
    }
    return off;
}

/* Makes rbuf's capacity at least want bytes, exactly, so a waiting frame costs its own size. */
static void rbuf_fit(sl_conn *c, size_t want)
{
    if (c->rbuf.cap >= want) return;
    c->rbuf.ptr = sl_realloc(c->rbuf.ptr, want);
    c->rbuf.cap = want;
}

static void rbuf_shrink(sl_conn *c)
{
    if (c->rbuf.len == 0) {
        c->need = 0;
        if (c->rbuf.cap > RBUF_KEEP_MAX) sl_buf_free(&c->rbuf);
    }
}

/* Delivers what rbuf holds. */
static void conn_drain(sl_conn *c)
{
    if (c->rbuf.len == 0) return;
    size_t used = parse_frames(c, c->rbuf.ptr, c->rbuf.len);
    if (c->state != ST_OPEN) {
        sl_buf_free(&c->rbuf);
        c->need = 0;
        c->held = false;
        return;
    }
    sl_buf_consume(&c->rbuf, used);
    /* Parsing stops at an incomplete frame unless a pause stopped it first. */
    c->held = c->paused && c->rbuf.len > 0;
    rbuf_shrink(c);
}

/* Delivers the frame completed in the protocol's memory. */
static void fbuf_deliver(sl_conn *c)
{
    uint8_t *f = c->fbuf;
    size_t len = c->need;
    c->fbuf = NULL;
    c->fgot = 0;
    c->need = 0;
    c->srv->opts.on_frame(c, f, len);
}

/* Offers a large frame that has begun to arrive (its first n bytes at p) to opts.frame_buf.
 * Returns whether the protocol took it; the bytes are then in its memory. */
static bool fbuf_start(sl_conn *c, const uint8_t *p, size_t n)
{
    sl_server *s = c->srv;
    if (!s->opts.frame_buf || c->need < n + DIRECT_READ_MIN) return false;
    uint8_t *f = s->opts.frame_buf(c, p, n, c->need);
    if (!f) return false;
    memcpy(f, p, n);
    c->fbuf = f;
    c->fgot = n;
    return true;
}

/* Handles n bytes just read into the shared buffer. */
static void conn_feed(sl_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->state == ST_OPEN && !c->paused) {
        if (c->fbuf) {
            size_t take = SL_MIN(c->need - c->fgot, n);
            memcpy(c->fbuf + c->fgot, p, take);
            c->fgot += take;
            p += take;
            n -= take;
            if (c->fgot == c->need) fbuf_deliver(c);
            continue;
        }
        if (c->rbuf.len == 0) {
            size_t used = parse_frames(c, p, n);
            p += used;
            n -= used;
            if (n == 0 || c->state != ST_OPEN || c->paused) break;
            if (fbuf_start(c, p, n)) return;
            rbuf_fit(c, SL_MAX(c->need, n));
            sl_buf_append(&c->rbuf, p, n);
            return;
        }
        if (c->held) {
            conn_drain(c);
            continue;
        }
        /* Finish the frame already started, then go back to delivering in place. A header
         * too short to size its frame grows a little at a time. */
        size_t want = c->need > c->rbuf.len ? c->need - c->rbuf.len : ERR_HDR_MAX;
        size_t take = SL_MIN(want, n);
        rbuf_fit(c, c->rbuf.len + take);
        sl_buf_append(&c->rbuf, p, take);
        p += take;
        n -= take;
        conn_drain(c);
    }
    if (n > 0 && c->state == ST_OPEN) {
        /* Paused: keep the rest; reading has stopped, so this is at most one read's worth. */
        sl_buf_append(&c->rbuf, p, n);
        c->held = true;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sl_conn *c = h->data;
    sl_server *s = c->srv;
    if (!c->ssl && c->state == ST_OPEN && c->fbuf) {
        *buf = uv_buf_init((char *)c->fbuf + c->fgot, (unsigned)(c->need - c->fgot));
        return;
    }
    if (!c->ssl && c->state == ST_OPEN && !c->held && c->need > c->rbuf.len &&
        c->need - c->rbuf.len >= DIRECT_READ_MIN) {
        rbuf_fit(c, c->need);
        *buf = uv_buf_init((char *)c->rbuf.ptr + c->rbuf.len, (unsigned)(c->need - c->rbuf.len));
        return;
    }
    *buf = uv_buf_init((char *)s->rdbuf, sizeof s->rdbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    sl_conn *c = stream->data;
    sl_server *s = c->srv;
    if (nread == 0) return;
    if (nread < 0) {
        if (c->state == ST_OPEN && nread == UV_EOF) {
            uv_read_stop(stream);
            c->eof = true;
            conn_check_eof(c);
            return;
        }
        if (c->state == ST_OPEN)
            sl_log(SL_LOG_DEBUG, s->name, c->peer, "read: %s", uv_strerror((int)nread));
        c->eof = true;
        conn_do_close(c);
        return;
    }
    if (c->state != ST_OPEN) return; /* lingering: discard */
    if (c->ssl) {
        /* A memory BIO takes everything (it grows); the read buffer is free again after. */
        BIO_write(c->tls_in, buf->base, (int)nread);
        tls_pump(c);
        return;
    }
    if (c->fbuf && buf->base == (char *)c->fbuf + c->fgot) {
        c->fgot += (size_t)nread;
        if (c->fgot == c->need) fbuf_deliver(c);
        return;
    }
    if (buf->base != (char *)s->rdbuf) {
        c->rbuf.len += (size_t)nread;
        if (c->rbuf.len >= c->need) conn_drain(c);
        return;
    }
    conn_feed(c, (const uint8_t *)buf->base, (size_t)nread);
}

static void on_handle_closed(uv_handle_t *h)
{
    sl_conn *c = h->data;
    if (--c->handles > 0) return;
    sl_server *s = c->srv;
    s->nconns--;
    sl_log(SL_LOG_DEBUG, s->name, c->peer, "closed (%u open)", s->nconns);
    conn_unref(c);
}

static void conn_do_close(sl_conn *c)
{
    if (c->state == ST_CLOSED) return;
    c->state = ST_CLOSED;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_close_timeout(uv_timer_t *t)
{
    sl_conn *c = t->data;
    if (c->state == ST_FLUSH)
        sl_log(SL_LOG_DEBUG, c->srv->name, c->peer, "close: %zu bytes unsent, dropping",
               c->write_pending);
    conn_do_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    sl_conn *c = req->data;
    if (c->state != ST_LINGER) return;
    if (status < 0 || c->eof) {
        conn_do_close(c);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) conn_do_close(c);
}

static void conn_after_flush(sl_conn *c)
{
    if (c->eof || c->srv->stopping) {
        conn_do_close(c);
        return;
    }
    c->state = ST_LINGER;
    uv_timer_start(&c->timer, on_close_timeout, LINGER_MS, 0);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_do_close(c);
}

static void on_write(uv_write_t *req, int status)
{
    write_req *w = req->data;
    sl_conn *c = w->conn;
    c->nwrites--;
    c->write_pending -= w->len;
    sl_buf_free(&w->buf);
    sl_free(w);
    if (status < 0) {
        if (status != UV_ECANCELED && c->state != ST_CLOSED)
            sl_log(SL_LOG_DEBUG, c->srv->name, c->peer, "write: %s", uv_strerror(status));
        conn_do_close(c);
        return;
    }
    if (c->state == ST_FLUSH) {
        if (c->nwrites == 0)
            conn_after_flush(c);
        else /* progress: a slow reader is not a dead one */
            uv_timer_again(&c->timer);
    } else if (c->state == ST_OPEN && c->nwrites == 0 && c->srv->opts.on_drain) {
        c->srv->opts.on_drain(c);
    }
}

/* Queues b's bytes for the socket as they are, and takes them. */
static void conn_write_raw(sl_conn *c, sl_buf *b)
{
    if (c->state != ST_OPEN || b->len == 0) {
        sl_buf_free(b);
        return;
    }
    if (b->len > UINT32_MAX) { /* a uv_buf_t length is 32 bits; no protocol sends this */
        sl_log(SL_LOG_ERROR, c->srv->name, c->peer, "write of %zu bytes refused", b->len);
        sl_buf_free(b);
        conn_do_close(c);
        return;
    }
    size_t off = 0;
    if (c->nwrites == 0) {
        uv_buf_t ub = uv_buf_init((char *)b->ptr, (unsigned)b->len);
        int r = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        if (r >= 0 && (size_t)r == b->len) {
            sl_buf_free(b);
            return;
        }
        if (r < 0 && r != UV_EAGAIN) {
            sl_log(SL_LOG_DEBUG, c->srv->name, c->peer, "write: %s", uv_strerror(r));
            sl_buf_free(b);
            conn_do_close(c);
            return;
        }
        if (r > 0) off = (size_t)r;
    }
    write_req *w = sl_malloc(sizeof *w);
    w->conn = c;
    w->req.data = w;
    w->len = b->len - off;
    sl_buf_init(&w->buf);
    sl_buf_move(&w->buf, b);
    uv_buf_t ub = uv_buf_init((char *)w->buf.ptr + off, (unsigned)w->len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write);
    if (r < 0) {
        sl_log(SL_LOG_DEBUG, c->srv->name, c->peer, "write: %s", uv_strerror(r));
        sl_buf_free(&w->buf);
        sl_free(w);
        conn_do_close(c);
        return;
    }
    c->nwrites++;
    c->write_pending += w->len;
}

/* Queues the ciphertext OpenSSL has produced. */
static void tls_flush(sl_conn *c)
{
    size_t n = BIO_ctrl_pending(c->tls_out);
    if (n == 0) return;
    sl_buf b = SL_BUF_INIT;
    int r = BIO_read(c->tls_out, sl_buf_extend(&b, n), (int)n);
    b.len = r > 0 ? (size_t)r : 0;
    conn_write_raw(c, &b);
}

/* Logs an OpenSSL failure (the peer's or ours) and closes the connection, after sending the
 * alert OpenSSL may have produced. */
static void tls_fail(sl_conn *c, const char *what, int ssl_err)
{
    char reason[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    else
        snprintf(reason, sizeof reason, "SSL error %d", ssl_err);
    ERR_clear_error();
    sl_log(SL_LOG_WARN, c->srv->name, c->peer, "TLS %s failed: %s, closing", what, reason);
    tls_flush(c);
    c->tls_ready = false; /* no close_notify after a fatal error */
    sl_conn_close(c);
}

static void tls_write(sl_conn *c, sl_buf *b)
{
    if (!c->tls_ready) { /* sent once the handshake is done */
        sl_buf_append(&c->tls_early, b->ptr, b->len);
        sl_buf_free(b);
        return;
    }
    ERR_clear_error();
    for (size_t off = 0; off < b->len && c->state == ST_OPEN;) {
        int r = SSL_write(c->ssl, b->ptr + off, (int)SL_MIN(b->len - off, TLS_WRITE_CHUNK));
        if (r <= 0) {
            tls_fail(c, "write", SSL_get_error(c->ssl, r));
            break;
        }
        off += (size_t)r;
        tls_flush(c);
    }
    sl_buf_free(b);
}

/* Advances the handshake, then decrypts and delivers what the input BIO holds until it runs
 * dry, the connection pauses or it closes. */
static void tls_pump(sl_conn *c)
{
    sl_server *s = c->srv;
    ERR_clear_error(); /* SSL_get_error reads the thread's queue, which others may have left */
    if (!c->tls_ready) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                tls_flush(c);
            else
                tls_fail(c, "handshake", e);
            return;
        }
        c->tls_ready = true;
        if (s->opts.handshake_timeout_ms) uv_timer_stop(&c->timer);
        tls_flush(c);
        sl_log(SL_LOG_DEBUG, s->name, c->peer, "TLS %s %s", SSL_get_version(c->ssl),
               SSL_get_cipher_name(c->ssl));
        if (c->tls_early.len) {
            sl_buf early = SL_BUF_INIT;
            sl_buf_move(&early, &c->tls_early);
            tls_write(c, &early);
        }
        if (s->opts.on_ready && c->state == ST_OPEN) s->opts.on_ready(c);
    }
    while (c->state == ST_OPEN && !c->paused) {
        int r = SSL_read(c->ssl, s->rdbuf, sizeof s->rdbuf);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the peer finished sending */
                c->eof = true;
                conn_check_eof(c);
            } else if (e != SSL_ERROR_WANT_READ) {
                tls_fail(c, "read", e);
            }
            break;
        }
        conn_feed(c, s->rdbuf, (size_t)r);
    }
    if (c->state == ST_OPEN) tls_flush(c); /* e.g. TLS 1.3 key updates */
}

/* Bytes received but not yet delivered inside OpenSSL (a pause stopped the pump). */
static bool tls_has_input(const sl_conn *c)
{
    return c->ssl && (SSL_pending(c->ssl) > 0 || BIO_ctrl_pending(c->tls_in) > 0);
}

void sl_conn_write(sl_conn *c, sl_buf *b)
{
    if (c->ssl && c->state == ST_OPEN && b->len)
        tls_write(c, b);
    else
        conn_write_raw(c, b);
}

/* Appends len bytes of fd from off to out; SL_ERR_CORRUPT when the file ends first. */
static int range_read(sl_buf *out, int fd, int64_t off, size_t len)
{
    size_t old = out->len, got = 0;
    uint8_t *p = sl_buf_extend(out, len);
    while (got < len) {
        ssize_t r = pread(fd, p + got, len - got, (off_t)(off + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            out->len = old;
            return r < 0 ? -errno : SL_ERR_CORRUPT;
        }
        got += (size_t)r;
    }
    return 0;
}

int sl_file_ranges_read(sl_buf *b, const sl_file_range *r, size_t n)
{
    if (n == 0) return 0;
    sl_buf out = SL_BUF_INIT;
    size_t total = b->len;
    for (size_t i = 0; i < n; i++)
        total += r[i].len;
    sl_buf_reserve(&out, total);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        sl_buf_append(&out, b->ptr + from, r[i].at - from);
        from = r[i].at;
        int rc = range_read(&out, r[i].fd, r[i].off, r[i].len);
        if (rc) {
            sl_buf_free(&out);
            return rc;
        }
    }
    sl_buf_append(&out, b->ptr + from, b->len - from);
    sl_buf_free(b);
    sl_buf_move(b, &out);
    return 0;
}

/* Sends what the socket takes at once of [p, p+len) (a non-blocking write); returns the bytes
 * sent, or a negative libuv code other than EAGAIN. */
static ssize_t conn_try_send(sl_conn *c, const uint8_t *p, size_t len)
{
    uv_buf_t ub = uv_buf_init((char *)p, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
    return r == UV_EAGAIN ? 0 : r;
}

/* Sends what the socket takes at once of a file range; returns the bytes sent. Errors are left
 * to the pread and the queued write that follow, which tell a bad file from a dead peer. */
static size_t conn_try_sendfile(int sock, int fd, int64_t off, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        off_t o = (off_t)(off + (int64_t)sent);
        ssize_t r = sendfile(sock, fd, &o, len - sent);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        sent += (size_t)r;
    }
    return sent;
}

int sl_conn_write_ranges(sl_conn *c, sl_buf *b, const sl_file_range *r, size_t n)
{
    if (c->state != ST_OPEN) {
        sl_buf_free(b);
        return 0;
    }
    if (c->ssl) { /* the bytes must pass through SSL_write: no sendfile */
        int rc = sl_file_ranges_read(b, r, n);
        if (rc) {
            sl_log(SL_LOG_ERROR, c->srv->name, c->peer, "read of file ranges: %s",
                   rc == SL_ERR_CORRUPT ? "the file ends first" : sl_strerror(rc));
            sl_buf_free(b);
            conn_do_close(c);
            return rc;
        }
        sl_conn_write(c, b);
        return 0;
    }
    uv_os_fd_t sock = -1;
    bool direct = c->nwrites == 0 && uv_fileno((uv_handle_t *)&c->tcp, &sock) == 0;
    sl_buf rest = SL_BUF_INIT; /* what waits in memory, from the first piece the socket refused */
    size_t from = 0;
    int rc = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t to = i < n ? r[i].at : b->len, len = to - from;
        const uint8_t *p = b->ptr + from;
        if (direct && len) {
            ssize_t w = conn_try_send(c, p, len);
            if (w < 0) {
                sl_log(SL_LOG_DEBUG, c->srv->name, c->peer, "write: %s", uv_strerror((int)w));
                rc = (int)w;
                break;
            }
            p += w;
            len -= (size_t)w;
            direct = len == 0;
        }
        if (len) sl_buf_append(&rest, p, len);
        from = to;
        if (i == n) break;
        size_t sent = direct ? conn_try_sendfile(sock, r[i].fd, r[i].off, r[i].len) : 0;
        direct = sent == r[i].len;
        rc = sent < r[i].len ? range_read(&rest, r[i].fd, r[i].off + (int64_t)sent, r[i].len - sent)
                             : 0;
        if (rc) {
            sl_log(SL_LOG_ERROR, c->srv->name, c->peer, "read of %zu bytes at %" PRId64 ": %s",
                   r[i].len - sent, r[i].off + (int64_t)sent,
                   rc == SL_ERR_CORRUPT ? "the file ends first" : sl_strerror(rc));
            break;
        }
    }
    sl_buf_free(b);
    if (rc) {
        /* The peer may have part of this message: nothing sent after it could be framed. */
        sl_buf_free(&rest);
        conn_do_close(c);
        return rc;
    }
    if (rest.len) sl_conn_write(c, &rest);
    sl_buf_free(&rest);
    return 0;
}

void sl_conn_close(sl_conn *c)
{
    if (c->state != ST_OPEN) return;
    if (c->ssl && c->tls_ready) { /* close_notify, so the peer can tell an end from a cut */
        SSL_shutdown(c->ssl);
        tls_flush(c);
        if (c->state != ST_OPEN) return;
    }
    c->state = ST_FLUSH;
    /* rbuf is left alone: this may run inside on_frame, whose bytes may live there. */
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (c->nwrites == 0) {
        conn_after_flush(c);
        return;
    }
    uv_timer_start(&c->timer, on_close_timeout,
                   c->srv->stopping ? STOP_FLUSH_TIMEOUT_MS : FLUSH_TIMEOUT_MS,
                   c->srv->stopping ? STOP_FLUSH_TIMEOUT_MS : FLUSH_TIMEOUT_MS);
}

void sl_conn_pause(sl_conn *c)
{
    if (c->paused) return;
    c->paused = true;
    if (c->state == ST_OPEN) uv_read_stop((uv_stream_t *)&c->tcp);
}

void sl_conn_resume(sl_conn *c)
{
    if (!c->paused) return;
    c->paused = false;
    if (c->state != ST_OPEN) return;
    if (!c->eof) uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    /* Frames held back while paused are delivered from the loop, not from inside whatever
     * callback resumed us. */
    if (c->held || c->eof || tls_has_input(c)) conn_schedule_drain(c);
}

bool sl_conn_closing(const sl_conn *c)
{
    return c->state != ST_OPEN;
}

void sl_conn_keep(sl_conn *c)
{
    c->user_refs++;
    conn_ref(c);
}

void sl_conn_release(sl_conn *c)
{
    c->user_refs--;
    if (c->user_refs == 0 && c->refs > 1) conn_check_eof(c);
    conn_unref(c);
}

void *sl_conn_data(const sl_conn *c)
{
    return c->data;
}
void sl_conn_set_data(sl_conn *c, void *data)
{
    c->data = data;
}
sl_server *sl_conn_server(const sl_conn *c)
{
    return c->srv;
}
const char *sl_conn_peer(const sl_conn *c)
{
    return c->peer;
}
size_t sl_conn_write_pending(const sl_conn *c)
{
    return c->write_pending;
}

size_t sl__conn_rbuf_cap(const sl_conn *c)
{
    return c->rbuf.cap;
}

static void on_idle(uv_idle_t *h)
{
    sl_server *s = h->data;
    sl_conn *list = s->drain_head;
    s->drain_head = s->drain_tail = NULL;
    uv_idle_stop(&s->idle);
    while (list) {
        sl_conn *c = list;
        list = c->drain_next;
        c->drain_queued = false;
        if (c->state == ST_OPEN && !c->paused) conn_drain(c);
        if (c->ssl && c->state == ST_OPEN && !c->paused) tls_pump(c);
        conn_check_eof(c);
        conn_unref(c);
    }
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        uv_ip4_name(sin, ip, sizeof ip);
        port = ntohs(sin->sin_port);
        snprintf(out, outlen, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(sin6, ip, sizeof ip);
        port = ntohs(sin6->sin6_port);
        snprintf(out, outlen, "[%s]:%d", ip, port);
    } else {
        snprintf(out, outlen, "?");
    }
}

static void free_handle(uv_handle_t *h)
{
    sl_free(h);
}

/* Warns (at most every FD_WARN_EVERY_MS) that the process is out of descriptors. */
static void fd_short_warn(sl_server *s, int err)
{
    int64_t now = sl_mono_ms();
    if (s->fd_short && now - s->fd_warned < FD_WARN_EVERY_MS) return;
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    sl_log(SL_LOG_WARN, s->name, NULL,
           "out of file descriptors (%s, RLIMIT_NOFILE %llu): new connections are closed at once "
           "until descriptors are free",
           err == UV_ENFILE ? "ENFILE" : "EMFILE", (unsigned long long)rl.rlim_cur);
    s->fd_short = true;
    s->fd_warned = now;
}

/* libuv handles EMFILE/ENFILE in accept itself (it frees a reserved descriptor, accepts and
 * closes the waiting connections) without calling on_connection, so the listener checks once
 * a second whether it could take one more descriptor, to say why connections are refused. */
static void on_fd_check(uv_timer_t *t)
{
    sl_server *s = t->data;
    uv_os_fd_t lfd;
    if (uv_fileno((uv_handle_t *)&s->listener, &lfd)) return;
    int fd = fcntl(lfd, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0) {
        close(fd);
        if (s->fd_short) sl_log(SL_LOG_INFO, s->name, NULL, "file descriptors free again");
        s->fd_short = false;
    } else if (errno == EMFILE || errno == ENFILE) {
        fd_short_warn(s, -errno);
    }
}

static void on_handshake_timeout(uv_timer_t *t)
{
    sl_conn *c = t->data;
    sl_log(SL_LOG_WARN, c->srv->name, c->peer, "TLS handshake not done after %u ms, closing",
           c->srv->opts.handshake_timeout_ms);
    conn_do_close(c);
}

/* A connection on the server's lists whose socket is yet to be accepted or opened. */
static sl_conn *conn_new(sl_server *s)
{
    sl_conn *c = sl_calloc(1, sizeof *c);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->refs = 1;
    c->state = ST_OPEN;
    sl_buf_init(&c->rbuf);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->nlive++;
    return c;
}

/* Sets up a connection whose socket is open: its peer, TLS, on_open and reading. */
static void conn_start(sl_conn *c)
{
    sl_server *s = c->srv;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_peer(&ss, c->peer, sizeof c->peer);
    uv_tcp_nodelay(&c->tcp, 1);
    sl_log(SL_LOG_DEBUG, s->name, c->peer, "accepted (%u open)", s->nconns);
    if (s->tls) {
        c->ssl = SSL_new(s->tls);
        c->tls_in = BIO_new(BIO_s_mem());
        c->tls_out = BIO_new(BIO_s_mem());
        if (!c->ssl || !c->tls_in || !c->tls_out) {
            sl_log(SL_LOG_ERROR, s->name, c->peer, "TLS: out of memory, closing");
            BIO_free(c->tls_in);
            BIO_free(c->tls_out);
            c->tls_in = c->tls_out = NULL;
            conn_do_close(c);
            return;
        }
        /* An empty input BIO means "wait for more", not end of stream. */
        BIO_set_mem_eof_return(c->tls_in, -1);
        BIO_set_mem_eof_return(c->tls_out, -1);
        SSL_set_bio(c->ssl, c->tls_in, c->tls_out);
        SSL_set_accept_state(c->ssl);
        if (s->opts.handshake_timeout_ms)
            uv_timer_start(&c->timer, on_handshake_timeout, s->opts.handshake_timeout_ms, 0);
    }
    c->opened = true;
    if (s->opts.on_open) s->opts.on_open(c);
    if (c->state == ST_OPEN && !c->paused) uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connection(uv_stream_t *ls, int status)
{
    sl_server *s = ls->data;
    if (status == UV_EMFILE || status == UV_ENFILE) {
        fd_short_warn(s, status);
        return;
    }
    if (status < 0) {
        sl_log(SL_LOG_ERROR, s->name, NULL, "accept: %s", uv_strerror(status));
        return;
    }
    if (s->opts.max_conns && s->nconns >= s->opts.max_conns) {
        uv_tcp_t *t = sl_malloc(sizeof *t);
        uv_tcp_init(s->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0) {
            struct sockaddr_storage ss;
            int len = sizeof ss;
            char peer[64] = "?";
            if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) == 0)
                format_peer(&ss, peer, sizeof peer);
            sl_log(SL_LOG_WARN, s->name, peer, "connection limit (%u) reached, closing",
                   s->opts.max_conns);
        }
        uv_close((uv_handle_t *)t, free_handle);
        return;
    }

    sl_conn *c = conn_new(s);
    int r = uv_accept(ls, (uv_stream_t *)&c->tcp);
    if (r < 0) {
        sl_log(SL_LOG_ERROR, s->name, NULL, "accept: %s", uv_strerror(r));
        conn_do_close(c);
        return;
    }
    conn_start(c);
}

sl_conn *sl_server_adopt(sl_server *s, int fd)
{
    if (s->stopping) {
        close(fd);
        return NULL;
    }
    sl_conn *c = conn_new(s);
    int r = uv_tcp_open(&c->tcp, fd);
    if (r < 0) {
        sl_log(SL_LOG_ERROR, s->name, NULL, "adopt: %s", uv_strerror(r));
        close(fd);
        conn_do_close(c);
        return NULL;
    }
    conn_start(c);
    return c->opened ? c : NULL;
}

/* Creates a listening socket for host:port; returns the fd or -errno. Done with plain sockets
 * so a failure leaves no libuv handle behind that would need a loop turn to free. */
static int listen_socket(const char *host, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) return gai == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    int err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, BACKLOG) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    return err;
}

/* Logs why ctx cannot use the file key names (OpenSSL's last reason) and returns NULL. */
static SSL_CTX *tls_ctx_fail(SSL_CTX *ctx, const char *name, const char *key, const char *file)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    sl_log(SL_LOG_ERROR, name, NULL, "%s %s: %s", key, file, reason);
    SSL_CTX_free(ctx);
    return NULL;
}

/* The listener's TLS context from the PEM files of o; NULL with the reason logged. */
static SSL_CTX *tls_ctx_new(const sl_server_opts *o, const char *name)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return tls_ctx_fail(NULL, name, "tls", "context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections give their 34 KiB of record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    const char *files[][2] = {
        {"tls-cert", o->tls_cert}, {"tls-key", o->tls_key}, {"tls-ca", o->tls_ca}};
    for (size_t i = 0; i < 3; i++) { /* OpenSSL would only say "system lib" */
        if (files[i][1] && access(files[i][1], R_OK) != 0) {
            sl_log(SL_LOG_ERROR, name, NULL, "%s %s: %s", files[i][0], files[i][1],
                   strerror(errno));
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
        return tls_ctx_fail(ctx, name, "tls-cert", o->tls_cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1)
        return tls_ctx_fail(ctx, name, "tls-key", o->tls_key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_ctx_fail(ctx, name, "tls-key does not match tls-cert", o->tls_cert);
    if (o->tls_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
            if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
            return tls_ctx_fail(ctx, name, "tls-ca", o->tls_ca);
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)name,
                                       (unsigned)SL_MIN(strlen(name), SSL_MAX_SID_CTX_LENGTH));
    }
    return ctx;
}

int sl_server_start(uv_loop_t *loop, const sl_server_opts *opts, sl_server **out)
{
    const char *name = opts->name ? opts->name : "server";
    char host[256] = "";
    int port = 0;
    *out = NULL;
    if (!opts->frame_len || !opts->on_frame ||
        (opts->listen && sl_hostport_parse(opts->listen, host, sizeof host, &port) != 0)) {
        sl_log(SL_LOG_ERROR, name, NULL, "cannot listen on '%s': expected HOST:PORT",
               opts->listen ? opts->listen : "(null)");
        return SL_ERR_INVAL;
    }
    if (!opts->tls_cert != !opts->tls_key || (opts->tls_ca && !opts->tls_cert)) {
        sl_log(SL_LOG_ERROR, name, NULL,
               "tls-cert and tls-key go together (and tls-ca needs them)");
        return SL_ERR_CONFIG;
    }
    SSL_CTX *tls = NULL;
    if (opts->tls_cert && !(tls = tls_ctx_new(opts, name))) return SL_ERR_CONFIG;
    int fd = opts->listen ? listen_socket(host, port) : -1;
    if (opts->listen && fd < 0) {
        sl_log(SL_LOG_ERROR, name, NULL, "cannot listen on %s: %s", opts->listen, sl_strerror(fd));
        SSL_CTX_free(tls);
        return fd;
    }
    sl_server *s = sl_calloc(1, sizeof *s);
    s->tls = tls;
    s->loop = loop;
    s->opts = *opts;
    s->name = sl_strdup(name);
    s->opts.name = s->name;
    s->opts.listen = NULL; /* not owned; not needed after binding */
    s->opts.tls_cert = s->opts.tls_key = s->opts.tls_ca = NULL;
    if (!s->opts.max_frame) s->opts.max_frame = DEFAULT_MAX_FRAME;
    uv_idle_init(loop, &s->idle);
    s->idle.data = s;
    s->handles = 1;
    if (fd < 0) { /* connections come from sl_server_adopt */
        *out = s;
        return 0;
    }
    s->listening = true;
    uv_tcp_init(loop, &s->listener);
    uv_timer_init(loop, &s->fd_check);
    uv_unref((uv_handle_t *)&s->fd_check);
    s->listener.data = s->fd_check.data = s;
    s->handles = 3;
    int r = uv_tcp_open(&s->listener, fd);
    if (r < 0) close(fd);
    if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection);
    if (r < 0) {
        sl_log(SL_LOG_ERROR, name, NULL, "cannot listen on %s: %s", opts->listen, uv_strerror(r));
        sl_server_stop(s, NULL, NULL);
        return r;
    }
    uv_timer_start(&s->fd_check, on_fd_check, FD_CHECK_MS, FD_CHECK_MS);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    sl_log(SL_LOG_DEBUG, name, NULL, "listening on %s:%d%s", host, s->port, tls ? " (TLS)" : "");
    *out = s;
    return 0;
}

int sl_server_port(const sl_server *s)
{
    return s->port;
}
unsigned sl_server_conn_count(const sl_server *s)
{
    return s->nconns;
}
void *sl_server_udata(const sl_server *s)
{
    return s->opts.udata;
}

static void server_maybe_finish(sl_server *s)
{
    if (!s->stopping || s->stop_busy || s->handles > 0 || s->nlive > 0) return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    SSL_CTX_free(s->tls);
    sl_free(s->name);
    sl_free(s);
    if (done) done(arg);
}

static void on_server_handle_closed(uv_handle_t *h)
{
    sl_server *s = h->data;
    s->handles--;
    server_maybe_finish(s);
}

void sl_server_stop(sl_server *s, void (*done)(void *arg), void *arg)
{
    if (s->stopping) return;
    s->stopping = true;
    s->stop_busy = true;
    s->done = done;
    s->done_arg = arg;
    uv_close((uv_handle_t *)&s->idle, on_server_handle_closed);
    if (s->listening) {
        uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
        uv_close((uv_handle_t *)&s->fd_check, on_server_handle_closed);
    }
    for (sl_conn *c = s->drain_head, *next; c; c = next) {
        next = c->drain_next;
        c->drain_queued = false;
        conn_unref(c);
    }
    s->drain_head = s->drain_tail = NULL;
    for (sl_conn *c = s->conns; c; c = c->next) {
        if (c->state == ST_OPEN)
            sl_conn_close(c);
        else if (c->state == ST_LINGER)
            conn_do_close(c);
        else if (c->state == ST_FLUSH)
            uv_timer_start(&c->timer, on_close_timeout, STOP_FLUSH_TIMEOUT_MS, 0);
    }
    s->stop_busy = false;
    server_maybe_finish(s);
}

ssize_t sl_frame_len_be32(const uint8_t *p, size_t avail)
{
    if (avail < 4) return SL_AGAIN;
    int32_t n = (int32_t)sl_get_be32(p);
    if (n < 0) return SL_ERR_PARSE;
    return (ssize_t)n + 4;
}

static struct {
    uv_signal_t sigint, sigterm;
    void (*on_stop)(void *);
    void *arg;
    int count;
    int handles; /* signal handles not yet closed */
} sig;

static void on_signal(uv_signal_t *h, int signum)
{
    if (++sig.count > 1) {
        static const char msg[] = "sluice: second signal, exiting now\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    SL_INFO("core", "received %s, shutting down (send again to exit at once)",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (sig.on_stop) sig.on_stop(sig.arg);
}

int sl_signals_install(uv_loop_t *loop, void (*on_stop)(void *arg), void *arg)
{
    if (sig.handles) return SL_ERR_EXISTS;
    signal(SIGPIPE, SIG_IGN);
    sig.on_stop = on_stop;
    sig.arg = arg;
    sig.count = 0;
    uv_signal_init(loop, &sig.sigint);
    uv_signal_init(loop, &sig.sigterm);
    int r = uv_signal_start(&sig.sigint, on_signal, SIGINT);
    if (r == 0) r = uv_signal_start(&sig.sigterm, on_signal, SIGTERM);
    /* Signal watchers must not keep the loop alive once everything else has stopped. */
    uv_unref((uv_handle_t *)&sig.sigint);
    uv_unref((uv_handle_t *)&sig.sigterm);
    sig.handles = 2;
    if (r < 0) {
        sl_signals_close();
        return r;
    }
    return 0;
}

static void on_signal_closed(uv_handle_t *h)
{
    sig.handles--;
}

void sl_signals_close(void)
{
    if (sig.handles != 2 || uv_is_closing((uv_handle_t *)&sig.sigint)) return;
    uv_close((uv_handle_t *)&sig.sigint, on_signal_closed);
    uv_close((uv_handle_t *)&sig.sigterm, on_signal_closed);
}
