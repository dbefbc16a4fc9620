/* test_server_tls.c: the framed server's TLS transport (server.c's memory-BIO path) on a real
 * libuv loop at 127.0.0.1, driven by OpenSSL clients on non-blocking sockets from the same thread
 * (the helpers turn the loop whenever the client would block). The certificates are made here
 * with OpenSSL: a self-signed server certificate for IP 127.0.0.1, which the clients trust and
 * verify, and a self-signed client certificate used as the CA for client verification. The
 * server echoes each 4-byte-length frame; "pause" pauses the connection for a moment, "file"
 * answers with file ranges (the path that uses sendfile without TLS). */
#include "core/codec.h"
#include "core/log.h"
#include "core/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "server_util.h"

static uv_loop_t loop;
static uv_timer_t tick, resume_timer;
static sl_server *srv;
static char dir[] = "/tmp/sl-tls-XXXXXX";
static char srv_cert[256], srv_key[256], cli_cert[256], cli_key[256], bad_path[256];
static int file_fd = -1;
static int frames, closes;
static const uint8_t *fb_delivered; /* where the last frame over 64 KiB was delivered */

#define FILE_SIZE (3u << 20)

static uint8_t file_byte(size_t i)
{
    return (uint8_t)(i * 13 + i / 509);
}

static void write_frame(sl_conn *c, const void *p, size_t n)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_be32(&b, (uint32_t)n);
    sl_buf_append(&b, p, n);
    sl_conn_write(c, &b);
}

static void on_resume(uv_timer_t *t)
{
    sl_conn *c = t->data;
    sl_conn_resume(c);
    sl_conn_release(c);
}

static void on_frame(sl_conn *c, const uint8_t *frame, size_t len)
{
    frames++;
    if (len > 64 * 1024) fb_delivered = frame;
    sl_slice body = {frame + 4, len - 4};
    if (sl_slice_eq_str(body, "pause")) {
        write_frame(c, body.ptr, body.len);
        sl_conn_pause(c);
        sl_conn_keep(c);
        resume_timer.data = c;
        uv_timer_start(&resume_timer, on_resume, 50, 0);
    } else if (sl_slice_eq_str(body, "file")) {
        /* "<" + file[7, 7 + FILE_SIZE - 7) + ">" */
        sl_file_range r = {1, file_fd, 7, FILE_SIZE - 7};
        sl_buf b = SL_BUF_INIT;
        sl_buf_put_be32(&b, (uint32_t)(2 + r.len));
        sl_buf_append(&b, "<>", 2);
        r.at = 5;
        assert_int_equal(sl_conn_write_ranges(c, &b, &r, 1), 0);
    } else {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append(&b, frame, len);
        sl_conn_write(c, &b);
    }
}

static void on_close(sl_conn *c)
{
    closes++;
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

/* One bounded loop iteration. */
static void turn(void)
{
    uv_update_time(&loop);
    uv_timer_start(&tick, noop_timer, 5, 0);
    uv_run(&loop, UV_RUN_ONCE);
}

/* opts.frame_buf for test_frame_buf (NULL in the other tests). */
static uint8_t *fb_mem;
static int fb_calls;

static uint8_t *fb_hook(sl_conn *c, const uint8_t *head, size_t avail, size_t len)
{
    (void)c;
    (void)head;
    (void)avail;
    fb_calls++;
    fb_mem = realloc(fb_mem, len);
    return fb_mem;
}

static uint8_t *(*frame_buf)(sl_conn *, const uint8_t *, size_t, size_t);
static unsigned handshake_ms; /* opts.handshake_timeout_ms */
static int readies;           /* opts.on_ready calls */

static void on_ready(sl_conn *c)
{
    readies++;
}

static int start(const char *cert, const char *key, const char *ca)
{
    sl_server_opts o = {
        .frame_buf = frame_buf,
        .listen = "127.0.0.1:0",
        .frame_len = sl_frame_len_be32,
        .name = "tlstest",
        .on_frame = on_frame,
        .on_close = on_close,
        .on_ready = on_ready,
        .handshake_timeout_ms = handshake_ms,
        .tls_cert = cert,
        .tls_key = key,
        .tls_ca = ca,
    };
    return sl_server_start(&loop, &o, &srv);
}

typedef struct client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} client;

static int tcp_connect(void)
{
    return test_connect_loopback(sl_server_port(srv));
}

/* Runs op until it stops asking to wait, turning the loop meanwhile; returns its last result. */
static int ssl_retry(client *cl, int (*op)(client *, void *, int), void *p, int n)
{
    for (int i = 0; i < 4000; i++) {
        ERR_clear_error();
        int r = op(cl, p, n);
        if (r > 0) return r;
        int e = SSL_get_error(cl->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return r;
        turn();
    }
    return -1;
}

static int op_connect(client *cl, void *p, int n)
{
    return SSL_connect(cl->ssl);
}
static int op_read(client *cl, void *p, int n)
{
    return SSL_read(cl->ssl, p, n);
}
static int op_write(client *cl, void *p, int n)
{
    return SSL_write(cl->ssl, p, n);
}

/* Connects and handshakes, verifying the server certificate against itself and the IP; with
 * cert, presents it. Returns the SSL_connect result. */
static int client_open(client *cl, const char *cert, const char *key)
{
    cl->ctx = SSL_CTX_new(TLS_client_method());
    assert_int_equal(SSL_CTX_load_verify_locations(cl->ctx, srv_cert, NULL), 1);
    SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
    if (cert) {
        assert_int_equal(SSL_CTX_use_certificate_file(cl->ctx, cert, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(cl->ctx, key, SSL_FILETYPE_PEM), 1);
    }
    cl->ssl = SSL_new(cl->ctx);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(cl->ssl), "127.0.0.1");
    cl->fd = tcp_connect();
    SSL_set_fd(cl->ssl, cl->fd);
    return ssl_retry(cl, op_connect, NULL, 0);
}

static void client_free(client *cl)
{
    SSL_free(cl->ssl);
    SSL_CTX_free(cl->ctx);
    close(cl->fd);
}

static void client_send(client *cl, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        int w = ssl_retry(cl, op_write, (char *)p + off, (int)SL_MIN(n - off, 1u << 20));
        assert_true(w > 0);
        off += (size_t)w;
    }
}

static void client_send_frame(client *cl, const void *p, size_t n)
{
    uint8_t hdr[4];
    sl_put_be32(hdr, (uint32_t)n);
    client_send(cl, hdr, 4);
    client_send(cl, p, n);
}

static void client_recv(client *cl, void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        int r = ssl_retry(cl, op_read, (char *)p + off, (int)(n - off));
        assert_true(r > 0);
        off += (size_t)r;
    }
}

/* Receives one frame and checks it is want (n bytes). */
static void client_expect(client *cl, const void *want, size_t n)
{
    uint8_t hdr[4];
    client_recv(cl, hdr, 4);
    assert_int_equal(sl_get_be32(hdr), n);
    uint8_t *got = malloc(n + 1);
    client_recv(cl, got, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static void echo_check(client *cl, const char *s)
{
    client_send_frame(cl, s, strlen(s));
    client_expect(cl, s, strlen(s));
}

/* Writes a new key and a self-signed certificate for CN cn and IP 127.0.0.1 to the files. */
static void make_cert(const char *cn, const char *cert_path, const char *key_path)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)getpid());
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext[2] = {
        X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1"),
        X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE"),
    };
    for (int i = 0; i < 2; i++) {
        assert_non_null(ext[i]);
        X509_add_ext(x, ext[i], -1);
        X509_EXTENSION_free(ext[i]);
    }
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static int group_setup(void **state)
{
    assert_non_null(mkdtemp(dir));
    snprintf(srv_cert, sizeof srv_cert, "%s/server.pem", dir);
    snprintf(srv_key, sizeof srv_key, "%s/server.key", dir);
    snprintf(cli_cert, sizeof cli_cert, "%s/client.pem", dir);
    snprintf(cli_key, sizeof cli_key, "%s/client.key", dir);
    snprintf(bad_path, sizeof bad_path, "%s/missing.pem", dir);
    make_cert("server", srv_cert, srv_key);
    make_cert("client", cli_cert, cli_key);
    char path[256];
    snprintf(path, sizeof path, "%s/ranges", dir);
    file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(file_fd >= 0);
    uint8_t *p = malloc(FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        p[i] = file_byte(i);
    assert_int_equal(write(file_fd, p, FILE_SIZE), FILE_SIZE);
    free(p);
    return 0;
}

static int group_teardown(void **state)
{
    close(file_fd);
    const char *names[] = {"server.pem", "server.key", "client.pem", "client.key", "ranges"};
    char path[256];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static int setup(void **state)
{
    sl_log_level = SL_LOG_ERROR; /* the refused handshakes below warn by design */
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &tick);
    uv_timer_init(&loop, &resume_timer);
    srv = NULL;
    frames = closes = readies = 0;
    handshake_ms = 0;
    return 0;
}

static void on_stopped(void *arg)
{
    *(bool *)arg = true;
}

static int teardown(void **state)
{
    bool stopped = srv == NULL;
    if (srv) sl_server_stop(srv, on_stopped, &stopped);
    for (int i = 0; i < 1000 && !stopped; i++)
        turn();
    assert_true(stopped);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_close((uv_handle_t *)&resume_timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void test_handshake_and_echo(void **state)
{
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    client cl;
    assert_int_equal(client_open(&cl, NULL, NULL), 1);
    echo_check(&cl, "hello");
    /* A frame larger than a TLS record and than the server's read buffer. */
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = 0;
    echo_check(&cl, big);
    /* Several frames in one record. */
    uint8_t two[18];
    sl_put_be32(two, 5);
    memcpy(two + 4, "first", 5);
    sl_put_be32(two + 9, 5);
    memcpy(two + 13, "secnd", 5);
    client_send(&cl, two, sizeof two);
    client_expect(&cl, "first", 5);
    client_expect(&cl, "secnd", 5);
    free(big);
    SSL_shutdown(cl.ssl);
    client_free(&cl);
    for (int i = 0; i < 1000 && closes < 1; i++)
        turn();
    assert_int_equal(closes, 1);
}

/* On TLS the decrypted bytes of a large frame are copied into the memory opts.frame_buf gives
 * (no direct socket read), and the frame is delivered from there. */
static void test_frame_buf(void **state)
{
    frame_buf = fb_hook;
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    frame_buf = NULL;
    client cl;
    assert_int_equal(client_open(&cl, NULL, NULL), 1);
    echo_check(&cl, "small");
    assert_int_equal(fb_calls, 0);
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('A' + i % 23);
    big[n] = 0;
    echo_check(&cl, big);
    echo_check(&cl, big);
    echo_check(&cl, "after");
    assert_int_equal(fb_calls, 2);
    assert_ptr_equal(fb_delivered, fb_mem);
    free(big);
    SSL_shutdown(cl.ssl);
    client_free(&cl);
    for (int i = 0; i < 1000 && closes < 1; i++)
        turn();
    free(fb_mem);
    fb_mem = NULL;
}

/* Frames that arrive behind a pause wait inside OpenSSL and come out, in order, on resume. */
static void test_pause_resume(void **state)
{
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    client cl;
    assert_int_equal(client_open(&cl, NULL, NULL), 1);
    /* One record each, sent without turning the loop: one socket read takes them all, and the
     * pause leaves the last three in OpenSSL's buffers. */
    const char *msgs[] = {"pause", "one", "two", "three"};
    for (size_t i = 0; i < 4; i++) {
        uint8_t buf[16];
        sl_put_be32(buf, (uint32_t)strlen(msgs[i]));
        memcpy(buf + 4, msgs[i], strlen(msgs[i]));
        assert_int_equal(SSL_write(cl.ssl, buf, (int)(4 + strlen(msgs[i]))),
                         (int)(4 + strlen(msgs[i])));
    }
    for (size_t i = 0; i < 4; i++)
        client_expect(&cl, msgs[i], strlen(msgs[i]));
    echo_check(&cl, "after");
    client_free(&cl);
}

/* File ranges go through SSL_write: the bytes arrive intact and in place. */
static void test_write_ranges(void **state)
{
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    client cl;
    assert_int_equal(client_open(&cl, NULL, NULL), 1);
    client_send_frame(&cl, "file", 4);
    size_t n = 2 + FILE_SIZE - 7;
    uint8_t *want = malloc(n);
    want[0] = '<';
    for (size_t i = 7; i < FILE_SIZE; i++)
        want[1 + i - 7] = file_byte(i);
    want[n - 1] = '>';
    client_expect(&cl, want, n);
    free(want);
    echo_check(&cl, "after");
    client_free(&cl);
}

/* A plaintext client is closed after a failed handshake; a TLS client is served alongside. */
static void test_plaintext_client_closed(void **state)
{
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    client good;
    assert_int_equal(client_open(&good, NULL, NULL), 1);
    int fd = tcp_connect();
    uint8_t frame[9] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(send(fd, frame, sizeof frame, 0), sizeof frame);
    bool eof = false;
    for (int i = 0; i < 1000 && !eof; i++) {
        uint8_t b[256];
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN)) eof = true;
        if (r > 0) assert_int_equal(b[0], 0x15); /* a TLS alert record, never an echo */
        if (!eof) turn();
    }
    assert_true(eof);
    assert_int_equal(frames, 0);
    close(fd);
    echo_check(&good, "still here");
    client_free(&good);
}

/* on_ready runs once a handshake is done; a connection that never finishes one is closed after
 * handshake_timeout_ms, and one that did is left alone. */
static void test_ready_and_handshake_timeout(void **state)
{
    handshake_ms = 200;
    assert_int_equal(start(srv_cert, srv_key, NULL), 0);
    client good;
    assert_int_equal(client_open(&good, NULL, NULL), 1);
    echo_check(&good, "ready");
    assert_int_equal(readies, 1);
    int fd = tcp_connect(); /* says nothing */
    int64_t start_ms = sl_mono_ms();
    bool eof = false;
    for (int i = 0; i < 2000 && !eof; i++) {
        uint8_t b[16];
        ssize_t r = recv(fd, b, sizeof b, 0);
        eof = r == 0 || (r < 0 && errno != EAGAIN);
        if (!eof) turn();
    }
    assert_true(eof);
    assert_true(sl_mono_ms() - start_ms >= 150);
    close(fd);
    echo_check(&good, "past the timeout");
    assert_int_equal(readies, 1);
    client_free(&good);
}

/* With tls_ca, a client must present a certificate signed by it. */
static void test_client_certificate(void **state)
{
    assert_int_equal(start(srv_cert, srv_key, cli_cert), 0);
    client with;
    assert_int_equal(client_open(&with, cli_cert, cli_key), 1);
    echo_check(&with, "mutual");
    client without;
    int r = client_open(&without, NULL, NULL);
    /* TLS 1.3: the client finishes first and learns of the refusal on its first read. */
    if (r == 1) {
        uint8_t hdr[4] = {0, 0, 0, 1};
        ssl_retry(&without, op_write, hdr, 4);
        uint8_t b[4];
        r = ssl_retry(&without, op_read, b, sizeof b);
    }
    assert_true(r <= 0);
    assert_int_equal(frames, 1);
    client_free(&without);
    /* The server certificate is not signed by the configured CA: refused too. */
    client other;
    r = client_open(&other, srv_cert, srv_key);
    if (r == 1) {
        uint8_t b[4];
        r = ssl_retry(&other, op_read, b, sizeof b);
    }
    assert_true(r <= 0);
    client_free(&other);
    echo_check(&with, "still mutual");
    client_free(&with);
}

static void test_bad_config(void **state)
{
    assert_int_equal(start(srv_cert, NULL, NULL), SL_ERR_CONFIG);
    assert_int_equal(start(NULL, srv_key, NULL), SL_ERR_CONFIG);
    assert_int_equal(start(NULL, NULL, cli_cert), SL_ERR_CONFIG);
    assert_int_equal(start(bad_path, srv_key, NULL), SL_ERR_CONFIG);
    assert_int_equal(start(srv_cert, bad_path, NULL), SL_ERR_CONFIG);
    assert_int_equal(start(srv_cert, cli_key, NULL), SL_ERR_CONFIG); /* key of another cert */
    assert_int_equal(start(srv_key, srv_cert, NULL), SL_ERR_CONFIG);
    assert_int_equal(start(srv_cert, srv_key, bad_path), SL_ERR_CONFIG);
    assert_null(srv);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_and_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_buf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_client_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_and_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
