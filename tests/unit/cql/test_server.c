/* test_server.c: the CQL server in-process, with the real engine on a temporary data dir and
 * plain non-blocking sockets driven from the same thread (the helpers pump the loop while they
 * wait). Covers the option table, back-pressure (more statements in flight than a connection
 * may have: reading pauses, everything is still answered exactly once), a request answered
 * while its connection is gone, and a graceful stop with writes waiting for the WAL sync. The
 * wire behaviour seen by drivers is in tests/integration/test_0200 and test_0250. */
#include "core/codec.h"
#include "core/log.h"
#include "cql/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
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

static uv_loop_t loop;
static uv_timer_t tick;
static sl_cql_server *srv;
static sl_cql_server_config cfg;
static char data_dir[64];
static int timeout_scale = 1;
static bool stopped;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    const char *s = getenv("SLUICE_TIMEOUT_SCALE");
    if (s && atoi(s) > 0) timeout_scale = atoi(s);
    sl_log_level = SL_LOG_WARN;
    signal(SIGPIPE, SIG_IGN); /* as sl_signals_install does in the sluice binary */
    snprintf(data_dir, sizeof data_dir, "/tmp/sluice-test-cql-server-XXXXXX");
    assert_non_null(mkdtemp(data_dir));
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    sl_config_defaults(sl_cql_server_opts, &cfg);
    char err[256];
    assert_int_equal(
        sl_config_set(sl_cql_server_opts, &cfg, "listen", "127.0.0.1:0", err, sizeof err), 0);
    assert_int_equal(sl_config_set(sl_cql_server_opts, &cfg, "data-dir", data_dir, err, sizeof err),
                     0);
    assert_int_equal(sl_config_set(sl_cql_server_opts, &cfg, "auth", "off", err, sizeof err), 0);
    assert_int_equal(sl_cql_server_config_check(&cfg, err, sizeof err), 0);
    assert_int_equal(sl_cql_server_open(&loop, &cfg, &srv), 0);
    stopped = false;
    return 0;
}

static void on_stopped(void *arg)
{
    (void)arg;
    stopped = true;
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

/* One loop turn that cannot block for long. The tick repeats: libuv 1.44 runs due timers before
 * it polls and uv_timer_start counts from the loop's cached time, so a one-shot tick armed late
 * (this thread descheduled) fires first and leaves epoll_wait without a timeout; with nothing
 * else pending (every write synced, the client gone) the turn never returns. */
static void pump_once(void)
{
    uv_timer_start(&tick, noop_timer, 1, 1);
    uv_run(&loop, UV_RUN_ONCE);
}

static int teardown(void **state)
{
    (void)state;
    if (srv && !stopped) sl_cql_server_stop(srv, on_stopped, NULL);
    int64_t end = sl_mono_ms() + 10000 * timeout_scale;
    while (!stopped && sl_mono_ms() < end)
        pump_once();
    assert_true(stopped);
    sl_cql_server_free(srv);
    srv = NULL;
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    sl_config_free(sl_cql_server_opts, &cfg);
    nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int client_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(sl_cql_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void client_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    int64_t end = sl_mono_ms() + 10000 * timeout_scale;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        assert_true(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        assert_true(sl_mono_ms() < end);
        pump_once();
    }
}

/* Reads one whole frame into out (header included); false when the server closed. */
static bool client_recv(int fd, sl_buf *in, sl_buf *out)
{
    int64_t end = sl_mono_ms() + 10000 * timeout_scale;
    for (;;) {
        if (in->len >= SL_CQL_HEADER_LEN) {
            size_t n = SL_CQL_HEADER_LEN + sl_get_be32(in->ptr + 5);
            if (in->len >= n) {
                sl_buf_reset(out);
                sl_buf_append(out, in->ptr, n);
                sl_buf_consume(in, n);
                return true;
            }
        }
        uint8_t tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            sl_buf_append(in, tmp, (size_t)r);
            continue;
        }
        if (r == 0) return false;
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        assert_true(sl_mono_ms() < end);
        pump_once();
    }
}

static void put_frame(sl_buf *b, int16_t stream, uint8_t op, const sl_buf *body)
{
    uint8_t *h = sl_buf_extend(b, SL_CQL_HEADER_LEN);
    h[0] = SL_CQL_VERSION;
    h[1] = 0;
    sl_put_be16(h + 2, (uint16_t)stream);
    h[4] = op;
    sl_put_be32(h + 5, (uint32_t)body->len);
    sl_buf_append(b, body->ptr, body->len);
}

static void put_query(sl_buf *b, int16_t stream, const char *text)
{
    sl_buf body = SL_BUF_INIT;
    sl_cql_put_long_string(&body, text, strlen(text));
    sl_cql_put_short(&body, SL_CQL_CL_ONE);
    sl_cql_put_byte(&body, 0);
    put_frame(b, stream, SL_CQL_OP_QUERY, &body);
    sl_buf_free(&body);
}

/* Sends frames and expects one response with the given opcode per request. */
static void expect(int fd, sl_buf *in, int16_t stream, uint8_t op)
{
    sl_buf f = SL_BUF_INIT;
    assert_true(client_recv(fd, in, &f));
    sl_cql_header h;
    sl_cql_header_read(f.ptr, &h);
    if (h.opcode != op || h.stream != stream) {
        print_error("stream %d opcode %u body %.*s\n", h.stream, h.opcode, (int)(f.len - 9),
                    (const char *)f.ptr + 9);
    }
    assert_int_equal(h.version, SL_CQL_VERSION_RESP);
    assert_int_equal(h.opcode, op);
    assert_int_equal(h.stream, stream);
    sl_buf_free(&f);
}

static int handshake(sl_buf *in)
{
    int fd = client_connect();
    sl_buf out = SL_BUF_INIT, body = SL_BUF_INIT;
    const char *k[] = {"CQL_VERSION"}, *v[] = {"3.0.0"};
    sl_cql_put_string_map(&body, k, v, 1);
    put_frame(&out, 0, SL_CQL_OP_STARTUP, &body);
    client_send(fd, out.ptr, out.len);
    expect(fd, in, 0, SL_CQL_OP_READY);
    sl_buf_free(&out);
    sl_buf_free(&body);
    return fd;
}

static void run_ddl(int fd, sl_buf *in)
{
    sl_buf out = SL_BUF_INIT;
    put_query(&out, 1,
              "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}");
    put_query(&out, 2, "CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
    client_send(fd, out.ptr, out.len);
    expect(fd, in, 1, SL_CQL_OP_RESULT);
    expect(fd, in, 2, SL_CQL_OP_RESULT);
    sl_buf_free(&out);
}

static void test_options_table(void **state)
{
    (void)state;
    sl_cql_server_config c;
    char err[256];
    sl_config_defaults(sl_cql_server_opts, &c);
    assert_string_equal(c.listen, "127.0.0.1:9042");
    assert_string_equal(c.auth, "on");
    assert_string_equal(c.user, "cassandra");
    assert_string_equal(c.password, "cassandra");
    assert_string_equal(c.commitlog_sync, "batch");
    assert_int_equal(c.max_frame_bytes, 256 * 1024 * 1024);
    assert_int_equal(sl_cql_server_config_check(&c, err, sizeof err), 0);
    assert_true(c.auth_enabled);
    assert_int_equal(c.sync_mode, SL_CQL_SYNC_BATCH);
    assert_int_equal(
        sl_config_set(sl_cql_server_opts, &c, "commitlog-sync", "periodic", err, sizeof err), 0);
    assert_int_equal(sl_config_set(sl_cql_server_opts, &c, "password", "", err, sizeof err), 0);
    assert_int_equal(sl_cql_server_config_check(&c, err, sizeof err), SL_ERR_CONFIG);
    assert_non_null(strstr(err, "password"));
    assert_int_equal(sl_config_set(sl_cql_server_opts, &c, "auth", "off", err, sizeof err), 0);
    assert_int_equal(sl_cql_server_config_check(&c, err, sizeof err), 0);
    assert_false(c.auth_enabled);
    assert_int_equal(c.sync_mode, SL_CQL_SYNC_PERIODIC);
    assert_int_not_equal(sl_config_set(sl_cql_server_opts, &c, "auth", "maybe", err, sizeof err),
                         0);
    assert_int_not_equal(
        sl_config_set(sl_cql_server_opts, &c, "max-frame-bytes", "100", err, sizeof err), 0);
    sl_config_free(sl_cql_server_opts, &c);
}

/* More writes in flight than a connection may have (4096): reading pauses and resumes, and
 * every stream is answered exactly once. */
static void test_backpressure_answers_every_stream(void **state)
{
    (void)state;
    sl_buf in = SL_BUF_INIT, out = SL_BUF_INIT, f = SL_BUF_INIT;
    int fd = handshake(&in);
    run_ddl(fd, &in);
    enum { N = 6000 };
    for (int i = 0; i < N; i++) {
        char q[128];
        if (i % 5 == 4)
            snprintf(q, sizeof q, "SELECT v FROM ks.t WHERE k = %d", i - 1);
        else
            snprintf(q, sizeof q, "INSERT INTO ks.t (k, v) VALUES (%d, 'v')", i);
        put_query(&out, (int16_t)(i % 30000 + 100), q);
    }
    client_send(fd, out.ptr, out.len);
    static uint8_t seen[N];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        assert_true(client_recv(fd, &in, &f));
        sl_cql_header h;
        sl_cql_header_read(f.ptr, &h);
        assert_int_equal(h.opcode, SL_CQL_OP_RESULT);
        int idx = h.stream - 100;
        assert_true(idx >= 0 && idx < N);
        assert_int_equal(seen[idx], 0);
        seen[idx] = 1;
    }
    close(fd);
    sl_buf_free(&in);
    sl_buf_free(&out);
    sl_buf_free(&f);
}

/* A client that sends writes and leaves before they are durable: the answers have nowhere to
 * go, and the server neither crashes nor leaks (ASan builds check the latter). */
static void test_client_gone_before_sync(void **state)
{
    (void)state;
    sl_buf in = SL_BUF_INIT, out = SL_BUF_INIT;
    int fd = handshake(&in);
    run_ddl(fd, &in);
    for (int i = 0; i < 200; i++) {
        char q[96];
        snprintf(q, sizeof q, "INSERT INTO ks.t (k, v) VALUES (%d, 'gone')", i);
        put_query(&out, (int16_t)i, q);
    }
    client_send(fd, out.ptr, out.len);
    close(fd);
    for (int i = 0; i < 50; i++)
        pump_once();
    /* The store still serves others, and the writes were applied. */
    int fd2 = handshake(&in);
    sl_buf_reset(&out);
    put_query(&out, 9, "SELECT v FROM ks.t WHERE k = 199");
    client_send(fd2, out.ptr, out.len);
    expect(fd2, &in, 9, SL_CQL_OP_RESULT);
    close(fd2);
    sl_buf_free(&in);
    sl_buf_free(&out);
}

/* SIGTERM's path: stop while writes wait for their WAL sync; done runs once they completed. */
static void test_stop_with_writes_in_flight(void **state)
{
    (void)state;
    sl_buf in = SL_BUF_INIT, out = SL_BUF_INIT;
    int fd = handshake(&in);
    run_ddl(fd, &in);
    for (int i = 0; i < 500; i++) {
        char q[96];
        snprintf(q, sizeof q, "INSERT INTO ks.t (k, v) VALUES (%d, 'stop')", i);
        put_query(&out, (int16_t)i, q);
    }
    client_send(fd, out.ptr, out.len);
    for (int i = 0; i < 3; i++)
        pump_once();
    sl_cql_server_stop(srv, on_stopped, NULL);
    sl_cql_server_stop(srv, on_stopped, NULL); /* a second stop is a no-op */
    int64_t end = sl_mono_ms() + 10000 * timeout_scale;
    while (!stopped && sl_mono_ms() < end)
        pump_once();
    assert_true(stopped);
    /* Whatever was answered came whole; then the server closed the connection. */
    sl_buf f = SL_BUF_INIT;
    while (client_recv(fd, &in, &f)) {
        sl_cql_header h;
        sl_cql_header_read(f.ptr, &h);
        assert_int_equal(h.opcode, SL_CQL_OP_RESULT);
    }
    close(fd);
    sl_buf_free(&f);
    sl_buf_free(&in);
    sl_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_table),
        cmocka_unit_test_setup_teardown(test_backpressure_answers_every_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_writes_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
