/* server.h: a framed TCP server on a libuv loop.
 *
 * The helper accepts connections up to a limit, reads length-framed requests (the protocol
 * supplies a function that finds a frame's total length from its first bytes), enforces a
 * maximum frame size, queues writes and closes connections in order. All callbacks run on the
 * loop's thread. A connection is never freed inside its own callback (STYLE.md 9): closing only
 * marks it, and it is reaped once no callback is running and every reference is released. */
#ifndef SL_SERVER_H
#define SL_SERVER_H

#include "core/buf.h"
#include <sys/types.h>
#include <uv.h>

typedef struct sl_server sl_server;
typedef struct sl_conn sl_conn;

/* Given the first avail bytes of a frame, returns its total length (header included), SL_AGAIN
 * when more bytes are needed to tell, or SL_ERR_PARSE for a malformed header (e.g. a negative
 * length). */
typedef ssize_t (*sl_frame_len_fn)(const uint8_t *p, size_t avail);

typedef struct sl_server_opts {
    const char *listen; /* "127.0.0.1:9092"; port 0 picks a free one; NULL: see sl_server_adopt */
    size_t max_frame;   /* longer frames are refused (SL_ERR_TOOBIG); 0 means 100 MiB */
    unsigned max_conns; /* extra connections are accepted and closed at once; 0: no limit */
    sl_frame_len_fn frame_len;
    const char *name; /* subsystem tag for logs, e.g. "kafka" */
    /* TLS: with tls_cert and tls_key (PEM files) every connection speaks TLS (OpenSSL, 1.2 or
     * later); tls_ca (PEM) also requires a client certificate signed by it. NULL: plaintext. */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;
    /* A TLS connection whose handshake has not finished after this long is closed; 0: never. */
    unsigned handshake_timeout_ms;
    void *udata;
    /* A new connection. May set data with sl_conn_set_data. */
    void (*on_open)(sl_conn *c);
    /* One complete frame; the bytes are valid only during the call. */
    void (*on_frame)(sl_conn *c, const uint8_t *frame, size_t len);
    /* Optional: the memory a large frame is read into, so a protocol can place its contents
     * where they are useful (e.g. aligned for O_DIRECT). Called once a frame of len bytes, at
     * least 16 KiB more than its first avail bytes at head, has begun to arrive on a plaintext
     * or TLS connection; returns len writable bytes that stay valid until on_frame for that
     * frame returns or the connection closes, or NULL to use the connection's own buffer. */
    uint8_t *(*frame_buf)(sl_conn *c, const uint8_t *head, size_t avail, size_t len);
    /* A framing error (SL_ERR_TOOBIG or SL_ERR_PARSE) before the connection is closed; the
     * first hdr_len bytes of the offending frame are given so a protocol can answer with an
     * error response. May be NULL. */
    void (*on_frame_error)(sl_conn *c, int rc, const uint8_t *hdr, size_t hdr_len);
    /* The connection is gone (peer closed, error, or sl_conn_close); free per-connection data
     * here. Called once, after the socket has closed and the last sl_conn_keep is released, so
     * deferred work holding a reference may still use the data. */
    void (*on_close)(sl_conn *c);
    /* Optional: a TLS connection finished its handshake (what was written before it has just
     * been sent). Not called on a plaintext connection. */
    void (*on_ready)(sl_conn *c);
    /* Optional: the peer finished sending (FIN or TLS close_notify), once every frame before it
     * was delivered. Without it the connection closes by itself once nothing it owes can still
     * be written; with it, it stays open for writing until sl_conn_close (a half-close). */
    void (*on_eof)(sl_conn *c);
    /* Optional: every queued write has gone to the socket (sl_conn_write_pending is 0 again). */
    void (*on_drain)(sl_conn *c);
} sl_server_opts;

/* Binds and listens. Returns 0, or a negative code with a message logged naming the address
 * (or SL_ERR_CONFIG naming the TLS file that cannot be used). */
int sl_server_start(uv_loop_t *loop, const sl_server_opts *opts, sl_server **out);
/* Takes a connected socket accepted elsewhere (e.g. a server with listen NULL, whose owner
 * accepts) and serves it like an accepted one, on_open included. Takes fd: it is closed on
 * failure. Returns the connection, or NULL (logged) when it could not be set up. */
sl_conn *sl_server_adopt(sl_server *s, int fd);
/* The bound port (useful when listening on port 0); 0 without a listener. */
int sl_server_port(const sl_server *s);
/* Stops accepting and closes every connection; done(arg) runs once all handles are closed and
 * every kept connection released. s is freed before done runs. */
void sl_server_stop(sl_server *s, void (*done)(void *arg), void *arg);
unsigned sl_server_conn_count(const sl_server *s);
void *sl_server_udata(const sl_server *s);

/* Queues b's bytes for writing and takes them: b is left empty. No-op on a closing conn. */
void sl_conn_write(sl_conn *c, sl_buf *b);
/* A piece of an outgoing message that lives in a file: len bytes of fd from off, placed after
 * the first at bytes of the message's buffer. */
typedef struct sl_file_range {
    size_t at;
    int fd;
    int64_t off;
    size_t len;
} sl_file_range;

/* sl_conn_write with n file ranges spliced into b's bytes (their at ascending). With nothing
 * queued ahead, file bytes go to the socket with sendfile(2), without a copy through user
 * space; whatever the socket does not take at once is read into memory and queued, so the
 * descriptors need only stay valid during the call. On a TLS connection the ranges are read
 * into memory and encrypted (no sendfile). Takes b. Returns 0; or, after closing the
 * connection (part of the message may have gone out), a negative code: the socket's error, or
 * -errno or SL_ERR_CORRUPT (a range past the file's end) when a range cannot be read. */
int sl_conn_write_ranges(sl_conn *c, sl_buf *b, const sl_file_range *r, size_t n);
/* Reads n file ranges into b at their places (see sl_conn_write_ranges), for a message that
 * must wait in memory. Returns 0, or -errno or SL_ERR_CORRUPT with b unchanged. */
int sl_file_ranges_read(sl_buf *b, const sl_file_range *r, size_t n);
/* Orderly close: pending writes are flushed first, then the socket is closed. Safe to call from
 * any callback and more than once. */
void sl_conn_close(sl_conn *c);
/* Stops or restarts reading, for back-pressure or to keep responses in order. */
void sl_conn_pause(sl_conn *c);
void sl_conn_resume(sl_conn *c);
bool sl_conn_closing(const sl_conn *c);
/* Reference counting, for work that completes after the callback returns (fsync, long polls).
 * A kept connection's memory stays valid until released, even after it is closed. */
void sl_conn_keep(sl_conn *c);
void sl_conn_release(sl_conn *c);
void *sl_conn_data(const sl_conn *c);
void sl_conn_set_data(sl_conn *c, void *data);
sl_server *sl_conn_server(const sl_conn *c);
/* "127.0.0.1:51234", for log context. */
const char *sl_conn_peer(const sl_conn *c);
size_t sl_conn_write_pending(const sl_conn *c);

/* Ready-made frame_len functions. */
ssize_t sl_frame_len_be32(const uint8_t *p, size_t avail); /* 4-byte length prefix (Kafka) */

/* Installs SIGINT/SIGTERM handlers on loop: the first calls on_stop(arg); a second signal exits
 * at once with status 130. SIGPIPE is ignored. The watchers do not keep the loop alive. Returns
 * SL_ERR_EXISTS if already installed. */
int sl_signals_install(uv_loop_t *loop, void (*on_stop)(void *arg), void *arg);
void sl_signals_close(void);

#endif
