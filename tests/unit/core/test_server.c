/* test_server.c: the framed TCP server on a real libuv loop at 127.0.0.1, port 0, driven by
 * plain non-blocking client sockets from the same thread (the helpers pump the loop while they
 * wait). The test protocol is 4-byte big-endian length frames; the server echoes each frame,
 * and a few payloads ask it to pause, close, keep or defer. */
#include "core/codec.h"
#include "core/log.h"
#include "core/server.h"
#include "core/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "server_util.h"

#define FLOOD_FRAMES 128

static uv_loop_t loop;
static uv_timer_t tick;
static sl_server *srv;
static int timeout_scale = 1;

static struct {
    int opens, closes, frames, errors;
    int last_error;
    size_t last_hdr_len;
    uint8_t last_hdr[64];
    size_t max_frame_seen;
    size_t rbuf_cap_at_max; /* the conn's buffer capacity while the largest frame was delivered */
    sl_conn *paused;        /* the conn that asked to pause */
    sl_conn *kept;          /* the conn that asked to be kept */
    size_t pending_after_close;
    bool data_ok; /* on_close saw the data set in on_open */
    bool stopped;
} ev;

static void on_open(sl_conn *c)
{
    ev.opens++;
    sl_conn_set_data(c, &ev);
}

static void on_close(sl_conn *c)
{
    ev.closes++;
    ev.data_ok = sl_conn_data(c) == &ev;
}

static void write_frame(sl_conn *c, const void *p, size_t n)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_be32(&b, (uint32_t)n);
    sl_buf_append(&b, p, n);
    sl_conn_write(c, &b);
    assert_null(b.ptr); /* the write took the buffer */
}

/* A file of RANGE_FILE pattern bytes for the sl_conn_write_ranges tests (-1 when unused). */
#define RANGE_FILE  (16u << 20)
#define RANGE_FIRST (12u << 20) /* more than loopback sockets take at once */
#define QUEUED_BIG  (16u << 20) /* likewise, on a fresh connection */
static int range_fd = -1;
static int range_rc = 1;     /* what the last sl_conn_write_ranges returned */
static size_t range_pending; /* bytes queued right after it */

static uint8_t range_byte(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

/* The response to "file": "A" + file[100, 100 + RANGE_FIRST) + "B" + file[5, 10) + "C", framed. A
 * client that is not reading makes the socket refuse most of it, so both sendfile and the
 * read into memory are used. "filebad" asks for a range past the end of the file. */
static void write_file_frame(sl_conn *c, bool bad)
{
    sl_file_range r[2] = {{5, range_fd, 100, RANGE_FIRST}, {6, range_fd, bad ? RANGE_FILE : 5, 5}};
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_be32(&b, (uint32_t)(3 + r[0].len + r[1].len));
    sl_buf_append(&b, "ABC", 3);
    range_rc = sl_conn_write_ranges(c, &b, r, 2);
    range_pending = sl_conn_write_pending(c);
    assert_null(b.ptr);
}

static void on_deferred(uv_timer_t *t)
{
    sl_conn *c = t->data;
    write_frame(c, "later", 5);
    sl_conn_release(c);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void on_frame(sl_conn *c, const uint8_t *frame, size_t len)
{
    ev.frames++;
    if (len > ev.max_frame_seen) ev.rbuf_cap_at_max = sl__conn_rbuf_cap(c);
    ev.max_frame_seen = SL_MAX(ev.max_frame_seen, len);
    sl_slice body = {frame + 4, len - 4};
    assert_int_equal(sl_get_be32(frame), len - 4);
    if (sl_slice_eq_str(body, "pause")) {
        write_frame(c, body.ptr, body.len);
        sl_conn_pause(c);
        ev.paused = c;
    } else if (sl_slice_eq_str(body, "close")) {
        write_frame(c, "bye", 3);
        sl_conn_close(c);
        /* Still valid after closing inside the callback: the frame and the conn. */
        assert_true(sl_conn_closing(c));
        assert_memory_equal(frame + 4, "close", 5);
        assert_non_null(sl_conn_peer(c));
        write_frame(c, "dropped", 7); /* no-op on a closing conn */
    } else if (sl_slice_eq_str(body, "keep")) {
        sl_conn_keep(c);
        ev.kept = c;
        sl_conn_close(c);
    } else if (sl_slice_eq_str(body, "defer")) {
        sl_conn_keep(c);
        uv_timer_t *t = malloc(sizeof *t);
        uv_timer_init(&loop, t);
        t->data = c;
        uv_timer_start(t, on_deferred, 50, 0);
    } else if (sl_slice_eq_str(body, "file") || sl_slice_eq_str(body, "filebad")) {
        write_file_frame(c, body.len == 7);
    } else if (sl_slice_eq_str(body, "queued-file")) {
        /* A big write queued first: the ranges must wait behind it, in memory. */
        uint8_t *big = malloc(QUEUED_BIG);
        memset(big, 'q', QUEUED_BIG);
        write_frame(c, big, QUEUED_BIG);
        free(big);
        write_file_frame(c, false);
    } else if (sl_slice_eq_str(body, "flood")) {
        /* 8 MiB in 64 KiB frames, then an orderly close: all of it must reach the client. */
        uint8_t *chunk = malloc(65536);
        for (int i = 0; i < FLOOD_FRAMES; i++) {
            memset(chunk, 'a' + i % 26, 65536);
            write_frame(c, chunk, 65536);
        }
        free(chunk);
        sl_conn_close(c);
        ev.pending_after_close = sl_conn_write_pending(c);
    } else {
        write_frame(c, body.ptr, body.len);
    }
}

static void on_frame_error(sl_conn *c, int rc, const uint8_t *hdr, size_t hdr_len)
{
    ev.errors++;
    ev.last_error = rc;
    ev.last_hdr_len = hdr_len;
    memcpy(ev.last_hdr, hdr, SL_MIN(hdr_len, sizeof ev.last_hdr));
    write_frame(c, rc == SL_ERR_TOOBIG ? "TOOBIG" : "PARSE", rc == SL_ERR_TOOBIG ? 6 : 5);
}

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

/* One loop turn that cannot block for more than a few ms. The tick must repeat: libuv 1.44 runs
 * due timers before it polls, and uv_timer_start counts from the loop's cached time, so a
 * one-shot tick armed after a delay of 2 ms or more (this thread descheduled on a loaded
 * machine) fires first and leaves epoll_wait with no timeout at all; with nothing else pending
 * (a paused conn, a quiet client) the turn then never returns. A repeating tick is re-armed from
 * the fresh time when it fires, so a timer is always there to bound the poll. */
static void turn(void)
{
    uv_timer_start(&tick, noop_timer, 2, 2);
    uv_run(&loop, UV_RUN_ONCE);
}

/* Runs the loop until pred(arg) holds or the (scaled) timeout passes. */
static bool run_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t end = sl_mono_ms() + (int64_t)timeout_ms * timeout_scale;
    while (!pred(arg)) {
        if (sl_mono_ms() > end) return false;
        turn();
    }
    return true;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void pump(int ms)
{
    run_until(never, NULL, ms);
}

/* Pumps until *p >= want. */
static bool wait_int(int *p, int want, int timeout_ms)
{
    int64_t end = sl_mono_ms() + (int64_t)timeout_ms * timeout_scale;
    while (*p < want) {
        if (sl_mono_ms() > end) return false;
        turn();
    }
    return true;
}

static bool conns_at_most(void *arg)
{
    return sl_server_conn_count(srv) <= *(unsigned *)arg;
}

static int client_connect(void)
{
    return test_connect_loopback(sl_server_port(srv));
}

static void client_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    int64_t end = sl_mono_ms() + 5000 * timeout_scale;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        assert_true(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        assert_true(sl_mono_ms() < end);
        turn();
    }
}

static void client_send_frame(int fd, const char *s)
{
    uint8_t hdr[4];
    sl_put_be32(hdr, (uint32_t)strlen(s));
    client_send(fd, hdr, 4);
    client_send(fd, s, strlen(s));
}

/* Reads exactly n bytes, pumping the loop meanwhile. Returns n, or the bytes read before EOF
 * or error. */
static size_t client_recv(int fd, void *p, size_t n, int timeout_ms)
{
    uint8_t *b = p;
    size_t got = 0;
    int64_t end = sl_mono_ms() + (int64_t)timeout_ms * timeout_scale;
    while (got < n) {
        ssize_t r = recv(fd, b + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) break;
        if (sl_mono_ms() > end) break;
        turn();
    }
    return got;
}

/* Receives one frame and checks its payload. */
static void client_expect(int fd, const char *want)
{
    uint8_t hdr[4];
    assert_int_equal(client_recv(fd, hdr, 4, 3000), 4);
    size_t n = sl_get_be32(hdr);
    assert_int_equal(n, strlen(want));
    char *body = malloc(n + 1);
    assert_int_equal(client_recv(fd, body, n, 3000), n);
    body[n] = '\0';
    assert_string_equal(body, want);
    free(body);
}

/* True when the server has closed fd: EOF (or a reset) within the timeout. */
static bool client_closed(int fd, int timeout_ms)
{
    int64_t end = sl_mono_ms() + (int64_t)timeout_ms * timeout_scale;
    uint8_t b[4096];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0) return true;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
        if (sl_mono_ms() > end) return false;
        if (r < 0) {
            turn();
        }
    }
}

/* Nothing arrives on fd within ms. */
static bool client_quiet(int fd, int ms)
{
    uint8_t b;
    int64_t end = sl_mono_ms() + ms;
    while (sl_mono_ms() < end) {
        if (recv(fd, &b, 1, MSG_PEEK) >= 0) return false;
        turn();
    }
    return true;
}

static int start_server(size_t max_frame, unsigned max_conns)
{
    memset(&ev, 0, sizeof ev);
    sl_server_opts o = {
        .listen = "127.0.0.1:0",
        .max_frame = max_frame,
        .max_conns = max_conns,
        .frame_len = sl_frame_len_be32,
        .name = "test",
        .udata = &ev,
        .on_open = on_open,
        .on_frame = on_frame,
        .on_frame_error = on_frame_error,
        .on_close = on_close,
    };
    return sl_server_start(&loop, &o, &srv);
}

/* opts.frame_buf for test_frame_buf: frames are placed FB_LEAD bytes into fb_mem. */
#define FB_LEAD 100
static uint8_t *fb_mem;
static size_t fb_calls, fb_avail, fb_len;
static const uint8_t *fb_frame; /* where the largest frame was delivered */

static uint8_t *fb_hook(sl_conn *c, const uint8_t *head, size_t avail, size_t len)
{
    (void)c;
    fb_calls++;
    fb_avail = avail;
    fb_len = len;
    assert_int_equal(sl_get_be32(head), len - 4);
    return fb_mem + FB_LEAD;
}

static void on_frame_fb(sl_conn *c, const uint8_t *frame, size_t len)
{
    if (len > ev.max_frame_seen) fb_frame = frame;
    on_frame(c, frame, len);
}

static void on_stopped(void *arg)
{
    assert_ptr_equal(arg, &ev);
    ev.stopped = true;
}

/* Every wait below is bounded; this catches one that is not (a blocking call, a loop turn
 * that never returns) within a minute instead of at ctest's 300 s, and names the cause. */
static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "test_server: watchdog: a test blocked for 60 s (scaled)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(2);
}

static int setup(void **state)
{
    (void)state;
    const char *s = getenv("SLUICE_TIMEOUT_SCALE");
    if (s && atoi(s) > 0) timeout_scale = atoi(s);
    signal(SIGALRM, on_watchdog);
    alarm(60 * (unsigned)timeout_scale);
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &tick);
    uv_unref((uv_handle_t *)&tick);
    assert_int_equal(start_server(4096, 0), 0);
    assert_true(sl_server_port(srv) > 0);
    assert_ptr_equal(sl_server_udata(srv), &ev);
    return 0;
}

/* Stops the server and requires every handle closed and every conn freed: a leak or a handle
 * left open fails here (and under ASan). */
static int teardown(void **state)
{
    (void)state;
    if (srv) {
        int opens = ev.opens;
        sl_server_stop(srv, on_stopped, &ev);
        srv = NULL;
        int64_t stop_end = sl_mono_ms() + 5000 * timeout_scale;
        while (!ev.stopped && sl_mono_ms() < stop_end) {
            turn();
        }
        assert_true(ev.stopped);
        assert_int_equal(ev.closes, opens);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    /* Bounded too: a handle left open must fail uv_loop_close below, not block here. */
    int64_t end = sl_mono_ms() + 2000 * timeout_scale;
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && sl_mono_ms() < end)
        usleep(1000);
    alarm(0);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void range_file_make(void)
{
    char path[] = "/tmp/test_server_rangeXXXXXX";
    range_fd = mkstemp(path);
    assert_true(range_fd >= 0);
    unlink(path);
    uint8_t *p = malloc(RANGE_FILE);
    for (size_t i = 0; i < RANGE_FILE; i++)
        p[i] = range_byte(i);
    assert_int_equal(write(range_fd, p, RANGE_FILE), RANGE_FILE);
    free(p);
}

/* Reads the "file" response and checks every byte. */
static void client_expect_file_frame(int fd)
{
    size_t n = 3 + RANGE_FIRST + 5;
    uint8_t *p = malloc(4 + n);
    assert_int_equal(client_recv(fd, p, 4 + n, 5000), 4 + n);
    assert_int_equal(sl_get_be32(p), n);
    assert_int_equal(p[4], 'A');
    for (size_t i = 0; i < RANGE_FIRST; i++)
        if (p[5 + i] != range_byte(100 + i)) fail_msg("byte %zu of the first range differs", i);
    assert_int_equal(p[5 + RANGE_FIRST], 'B');
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(p[6 + RANGE_FIRST + i], range_byte(5 + i));
    assert_int_equal(p[4 + n - 1], 'C');
    free(p);
}

static void test_write_ranges(void **state)
{
    (void)state;
    range_file_make();
    int fd = client_connect();
    client_send_frame(fd, "file");
    assert_true(wait_int(&ev.frames, 1, 3000));
    assert_int_equal(range_rc, 0);
    /* Not read yet: the socket took the start (sendfile) and the rest waits in memory. */
    size_t n = 4 + 3 + RANGE_FIRST + 5;
    assert_true(range_pending > 0 && range_pending < n);
    client_expect_file_frame(fd);
    /* The connection still frames correctly afterwards. */
    client_send_frame(fd, "hello");
    client_expect(fd, "hello");
    close(fd);

    /* A fresh connection (its receive buffer not grown by reading), so the queued write is more
     * than the sockets hold. */
    fd = client_connect();
    client_send_frame(fd, "queued-file");
    uint8_t *big = malloc(4 + QUEUED_BIG);
    assert_int_equal(client_recv(fd, big, 4 + QUEUED_BIG, 5000), 4 + QUEUED_BIG);
    assert_int_equal(sl_get_be32(big), QUEUED_BIG);
    assert_int_equal(big[4 + QUEUED_BIG - 1], 'q');
    free(big);
    assert_true(range_pending >= n); /* all of it, behind what is left of the queued write */
    client_expect_file_frame(fd);
    client_send_frame(fd, "hello");
    client_expect(fd, "hello");
    close(fd);
    close(range_fd);
    range_fd = -1;
}

static void test_write_ranges_bad_file(void **state)
{
    (void)state;
    range_file_make();
    int fd = client_connect();
    client_send_frame(fd, "filebad");
    assert_true(wait_int(&ev.frames, 1, 3000));
    assert_int_equal(range_rc, SL_ERR_CORRUPT);
    /* Part of the frame may have gone out: the connection is closed, not left mis-framed. */
    assert_true(client_closed(fd, 3000));
    unsigned zero = 0;
    assert_true(run_until(conns_at_most, &zero, 3000));
    close(fd);
    close(range_fd);
    range_fd = -1;
}

static void test_file_ranges_read(void **state)
{
    (void)state;
    range_file_make();
    sl_buf b = SL_BUF_INIT;
    sl_buf_append(&b, "xyz", 3);
    sl_file_range r[3] = {{0, range_fd, 0, 2}, {2, range_fd, 10, 0}, {2, range_fd, 20, 3}};
    assert_int_equal(sl_file_ranges_read(&b, r, 3), 0);
    uint8_t want[8] = {range_byte(0),  range_byte(1),  'x', 'y', range_byte(20),
                       range_byte(21), range_byte(22), 'z'};
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.ptr, want, 8);
    sl_file_range bad = {1, range_fd, RANGE_FILE - 1, 2};
    assert_int_equal(sl_file_ranges_read(&b, &bad, 1), SL_ERR_CORRUPT);
    assert_int_equal(b.len, 8); /* unchanged */
    sl_file_range closed = {0, -1, 0, 1};
    assert_int_equal(sl_file_ranges_read(&b, &closed, 1), -EBADF);
    sl_buf_free(&b);
    close(range_fd);
    range_fd = -1;
}

static void test_echo(void **state)
{
    (void)state;
    int fd = client_connect();
    client_send_frame(fd, "hello");
    client_expect(fd, "hello");
    assert_int_equal(ev.rbuf_cap_at_max, 0); /* a frame read whole is delivered in place */
    assert_int_equal(ev.opens, 1);
    assert_int_equal(sl_server_conn_count(srv), 1);

    /* Three frames in one segment come back in order; an empty frame is a frame. */
    uint8_t b[64];
    size_t n = 0;
    const char *msgs[] = {"one", "", "three"};
    for (int i = 0; i < 3; i++) {
        sl_put_be32(b + n, (uint32_t)strlen(msgs[i]));
        memcpy(b + n + 4, msgs[i], strlen(msgs[i]));
        n += 4 + strlen(msgs[i]);
    }
    client_send(fd, b, n);
    for (int i = 0; i < 3; i++)
        client_expect(fd, msgs[i]);
    assert_int_equal(ev.frames, 4);

    /* The peer closing is noticed, on_close runs once with the data from on_open. */
    close(fd);
    assert_true(wait_int(&ev.closes, 1, 2000));
    assert_true(ev.data_ok);
    assert_int_equal(sl_server_conn_count(srv), 0);
}

static void test_too_big_closes_only_that_conn(void **state)
{
    (void)state;
    int good = client_connect();
    int bad = client_connect();
    client_send_frame(good, "before");
    client_expect(good, "before");

    /* A frame of exactly max_frame is fine. */
    char *fill = malloc(4096);
    memset(fill, 'q', 4092);
    fill[4092] = '\0';
    client_send_frame(good, fill);
    client_expect(good, fill);
    free(fill);

    /* One byte over: the protocol hears of it with the header, answers, and the conn closes. */
    uint8_t hdr[12];
    sl_put_be32(hdr, 4093);
    memcpy(hdr + 4, "ABCDEFGH", 8);
    client_send(bad, hdr, sizeof hdr);
    client_expect(bad, "TOOBIG");
    assert_true(client_closed(bad, 3000));
    assert_int_equal(ev.errors, 1);
    assert_int_equal(ev.last_error, SL_ERR_TOOBIG);
    assert_true(ev.last_hdr_len >= 4 && ev.last_hdr_len <= 12);
    assert_memory_equal(ev.last_hdr, hdr, ev.last_hdr_len);

    /* The other connection is unaffected. */
    client_send_frame(good, "after");
    client_expect(good, "after");
    assert_int_equal(ev.max_frame_seen, 4096);
    close(bad);
    close(good);
}

static void test_too_big_with_body_in_flight(void **state)
{
    (void)state;
    /* The client keeps sending the body of a refused 1 MiB frame: the error response must still
     * arrive intact (no RST from closing over unread data). */
    int fd = client_connect();
    size_t n = 1 << 20;
    uint8_t *big = calloc(1, n + 4);
    sl_put_be32(big, (uint32_t)n);
    ssize_t w = send(fd, big, n + 4, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    client_expect(fd, "TOOBIG");
    assert_true(client_closed(fd, 5000));
    free(big);
    close(fd);
}

static void test_negative_length_is_parse_error(void **state)
{
    (void)state;
    int fd = client_connect();
    client_send(fd, "\xff\xff\xff\xfe", 4);
    client_expect(fd, "PARSE");
    assert_true(client_closed(fd, 3000));
    assert_int_equal(ev.last_error, SL_ERR_PARSE);
    assert_int_equal(ev.last_hdr_len, 4);
    close(fd);
}

static void test_max_conns(void **state)
{
    (void)state;
    sl_server *old = srv;
    sl_server_stop(old, NULL, NULL);
    assert_int_equal(start_server(4096, 2), 0);

    int a = client_connect(), b = client_connect();
    client_send_frame(a, "a1");
    client_expect(a, "a1");
    client_send_frame(b, "b1");
    client_expect(b, "b1");
    assert_int_equal(sl_server_conn_count(srv), 2);

    int sl_level = sl_log_level;
    sl_log_level = SL_LOG_ERROR; /* the limit warning is expected here */
    int c = client_connect();
    assert_true(client_closed(c, 3000));
    sl_log_level = sl_level;
    assert_int_equal(ev.opens, 2);
    assert_int_equal(sl_server_conn_count(srv), 2);

    /* Existing connections are still served. */
    client_send_frame(a, "a2");
    client_expect(a, "a2");
    client_send_frame(b, "b2");
    client_expect(b, "b2");

    /* A freed slot is usable again. */
    close(a);
    unsigned one = 1;
    assert_true(run_until(conns_at_most, &one, 2000));
    int d = client_connect();
    client_send_frame(d, "d1");
    client_expect(d, "d1");
    assert_int_equal(ev.opens, 3);
    close(b);
    close(c);
    close(d);
}

static void test_partial_frames_byte_by_byte(void **state)
{
    (void)state;
    int fd = client_connect();
    uint8_t b[64];
    size_t n = 0;
    const char *msgs[] = {"first frame", "x", "second longer frame body"};
    for (int i = 0; i < 3; i++) {
        sl_put_be32(b + n, (uint32_t)strlen(msgs[i]));
        memcpy(b + n + 4, msgs[i], strlen(msgs[i]));
        n += 4 + strlen(msgs[i]);
    }
    for (size_t i = 0; i < n; i++) {
        client_send(fd, b + i, 1);
        pump(1);
    }
    for (int i = 0; i < 3; i++)
        client_expect(fd, msgs[i]);
    assert_int_equal(ev.frames, 3);
    close(fd);
}

/* Sends a frame of body pattern bytes (byte i is i * mul) with a 3-byte "end" frame glued to its
 * end, in pieces growing from step by *grow + 1, and checks both come back. Returns the frame
 * sent (free it). */
static uint8_t *send_big_then_end(int fd, size_t body, size_t step, size_t grow, unsigned mul)
{
    uint8_t *msg = malloc(body + 4 + 4 + 3);
    sl_put_be32(msg, (uint32_t)body);
    for (size_t i = 0; i < body; i++)
        msg[4 + i] = (uint8_t)(i * mul);
    sl_put_be32(msg + 4 + body, 3);
    memcpy(msg + 8 + body, "end", 3);
    size_t total = body + 11, off = 0;
    while (off < total) {
        size_t k = SL_MIN(step, total - off);
        client_send(fd, msg + off, k);
        off += k;
        step = step * grow + 1;
        pump(1);
    }
    uint8_t *echo = malloc(body + 4);
    assert_int_equal(client_recv(fd, echo, body + 4, 5000), body + 4);
    assert_memory_equal(echo, msg, body + 4);
    client_expect(fd, "end");
    free(echo);
    return msg;
}

static void test_large_frame_in_pieces(void **state)
{
    (void)state;
    sl_server_stop(srv, NULL, NULL);
    assert_int_equal(start_server(1 << 20, 0), 0);
    int fd = client_connect();
    /* A 600 KiB frame sent in odd-sized pieces with a small frame glued to its end: exercises
     * the copy of a partial frame, the direct read into the conn's buffer, and the return to
     * in-place delivery. */
    size_t body = 600 * 1024;
    uint8_t *msg = send_big_then_end(fd, body, 1, 3, 7);
    assert_int_equal(ev.frames, 2);
    assert_int_equal(ev.max_frame_seen, body + 4);
    /* The partial frame's buffer was sized to that frame exactly, not grown geometrically. */
    assert_int_equal(ev.rbuf_cap_at_max, body + 4);
    free(msg);
    close(fd);
}

/* A large frame goes whole into the memory opts.frame_buf gives, read there directly after its
 * first bytes; small frames never ask for it. */
static void test_frame_buf(void **state)
{
    (void)state;
    sl_server_stop(srv, NULL, NULL);
    memset(&ev, 0, sizeof ev);
    size_t body = 600 * 1024;
    fb_mem = malloc(FB_LEAD + body + 4);
    fb_calls = 0;
    sl_server_opts o = {
        .listen = "127.0.0.1:0",
        .max_frame = 1 << 20,
        .frame_len = sl_frame_len_be32,
        .name = "test",
        .on_open = on_open,
        .on_frame = on_frame_fb,
        .frame_buf = fb_hook,
        .on_close = on_close,
    };
    assert_int_equal(sl_server_start(&loop, &o, &srv), 0);
    int fd = client_connect();
    client_send_frame(fd, "small");
    client_expect(fd, "small");
    assert_int_equal(fb_calls, 0);
    uint8_t *msg = send_big_then_end(fd, body, 7, 5, 13);
    assert_int_equal(fb_calls, 1);
    assert_int_equal(fb_len, body + 4);
    assert_true(fb_avail >= 4 && fb_avail < body + 4);
    assert_ptr_equal(fb_frame, fb_mem + FB_LEAD);
    assert_memory_equal(fb_mem + FB_LEAD, msg, body + 4);
    /* The connection's own buffer never held the large frame. */
    assert_true(ev.rbuf_cap_at_max < body);
    free(msg);
    close(fd);
    unsigned zero = 0;
    assert_true(run_until(conns_at_most, &zero, 2000));
    free(fb_mem);
    fb_mem = NULL;
}

/* A server without a listener, for test_adopt: its owner accepts. */
static int adopt_eofs, adopt_drains;
static sl_conn *adopt_conn;

static void on_adopt_eof(sl_conn *c)
{
    adopt_eofs++;
    adopt_conn = c;
}

static void on_adopt_drain(sl_conn *c)
{
    (void)c;
    adopt_drains++;
}

static void test_adopt(void **state)
{
    (void)state;
    sl_server_stop(srv, NULL, NULL);
    memset(&ev, 0, sizeof ev);
    adopt_eofs = adopt_drains = 0;
    adopt_conn = NULL;
    sl_server_opts o = {
        .frame_len = sl_frame_len_be32,
        .name = "test",
        .on_open = on_open,
        .on_frame = on_frame,
        .on_close = on_close,
        .on_eof = on_adopt_eof,
        .on_drain = on_adopt_drain,
    };
    assert_int_equal(sl_server_start(&loop, &o, &srv), 0);
    assert_int_equal(sl_server_port(srv), 0);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    socklen_t len = sizeof sin;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    int fd = test_connect_loopback(ntohs(sin.sin_port));
    int afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(afd >= 0);
    close(lfd);
    sl_conn *c = sl_server_adopt(srv, afd);
    assert_non_null(c);
    assert_int_equal(ev.opens, 1);
    client_send_frame(fd, "hello");
    client_expect(fd, "hello");

    /* With on_eof the peer's FIN half-closes: the server can still write, then closes. */
    shutdown(fd, SHUT_WR);
    assert_true(wait_int(&adopt_eofs, 1, 2000));
    assert_ptr_equal(adopt_conn, c);
    assert_false(sl_conn_closing(c));
    assert_true(client_quiet(fd, 50));

    /* A write the socket cannot take at once is queued; on_drain says when it has gone. */
    uint8_t *big = malloc(QUEUED_BIG);
    memset(big, 'q', QUEUED_BIG);
    int drains = adopt_drains;
    write_frame(c, big, QUEUED_BIG);
    assert_true(sl_conn_write_pending(c) > 0);
    uint8_t *got = malloc(QUEUED_BIG + 4);
    assert_int_equal(client_recv(fd, got, QUEUED_BIG + 4, 5000), QUEUED_BIG + 4);
    assert_memory_equal(got + 4, big, QUEUED_BIG);
    assert_true(wait_int(&adopt_drains, drains + 1, 2000));
    assert_int_equal(sl_conn_write_pending(c), 0);
    free(big);
    free(got);
    write_frame(c, "late", 4);
    client_expect(fd, "late");
    sl_conn_close(c);
    assert_true(client_closed(fd, 3000));
    close(fd);
    assert_true(wait_int(&ev.closes, 1, 2000));
    assert_int_equal(adopt_eofs, 1);
}

static void test_orderly_close_flushes(void **state)
{
    (void)state;
    int fd = client_connect();
    client_send_frame(fd, "flood");
    /* Let the server fill the socket buffers while the client does not read. */
    pump(50);
    assert_true(ev.pending_after_close > 0);
    size_t n = FLOOD_FRAMES * (65536 + 4);
    uint8_t *all = malloc(n);
    assert_int_equal(client_recv(fd, all, n, 10000), n);
    for (int i = 0; i < FLOOD_FRAMES; i++) {
        const uint8_t *f = all + (size_t)i * (65536 + 4);
        assert_int_equal(sl_get_be32(f), 65536);
        assert_int_equal(f[4], 'a' + i % 26);
        assert_int_equal(f[4 + 65535], 'a' + i % 26);
    }
    assert_true(client_closed(fd, 3000));
    free(all);
    close(fd);
    assert_true(wait_int(&ev.closes, 1, 2000));
}

static void test_close_inside_callback(void **state)
{
    (void)state;
    int fd = client_connect();
    client_send_frame(fd, "close");
    client_send_frame(fd, "never delivered");
    client_expect(fd, "bye");
    assert_true(client_closed(fd, 3000));
    close(fd);
    assert_true(wait_int(&ev.closes, 1, 2000));
    assert_int_equal(ev.frames, 1);
}

/* Reads what the log pipe holds (non-blocking) into out, NUL-terminated. */
static void log_drain(int fd, char *out, size_t n)
{
    size_t len = strlen(out);
    ssize_t r;
    while (len + 1 < n && (r = read(fd, out + len, n - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = 0;
}

/* Out of descriptors, libuv refuses connections by itself; the listener's check says so once
 * (not every second), and says when descriptors are free again. */
static void test_out_of_fds_is_logged(void **state)
{
    (void)state;
    int lp[2];
    assert_int_equal(pipe(lp), 0);
    fcntl(lp[0], F_SETFL, O_NONBLOCK);
    sl_log_set_fd(lp[1]);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = {256, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    static int held[256];
    int nheld = 0;
    for (int fd; nheld < 256 && (fd = dup(0)) >= 0;)
        held[nheld++] = fd;
    assert_int_equal(errno, EMFILE);
    pump(2600);
    char text[4096] = "";
    log_drain(lp[0], text, sizeof text);
    assert_non_null(strstr(text, "out of file descriptors (EMFILE, RLIMIT_NOFILE 256)"));
    /* Two checks found the limit; the warning is not repeated within 30 s. */
    assert_null(strstr(strstr(text, "out of file descriptors") + 1, "out of file descriptors"));
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    pump(1300);
    log_drain(lp[0], text, sizeof text);
    assert_non_null(strstr(text, "file descriptors free again"));
    sl_log_set_fd(2);
    close(lp[0]);
    close(lp[1]);
}

static void test_keep_release(void **state)
{
    (void)state;
    int fd = client_connect();
    client_send_frame(fd, "keep");
    assert_true(client_closed(fd, 3000));
    close(fd); /* ends the server's linger at once */
    unsigned zero = 0;
    assert_true(run_until(conns_at_most, &zero, 2000));
    /* The socket is gone but the kept conn is still valid memory. */
    assert_non_null(ev.kept);
    assert_true(sl_conn_closing(ev.kept));
    assert_ptr_equal(sl_conn_data(ev.kept), &ev);
    assert_ptr_equal(sl_conn_server(ev.kept), srv);
    assert_int_equal(sl_conn_write_pending(ev.kept), 0);
    sl_buf b = SL_BUF_INIT;
    sl_buf_append_str(&b, "late");
    sl_conn_write(ev.kept, &b); /* dropped, and b is freed */
    assert_null(b.ptr);
    sl_conn_pause(ev.kept);
    sl_conn_resume(ev.kept);
    sl_conn_close(ev.kept);
    assert_int_equal(ev.closes, 0); /* on_close waits for the last reference */
    sl_conn_release(ev.kept);
    assert_int_equal(ev.closes, 1);
    ev.kept = NULL;
}

static void test_deferred_reply_after_half_close(void **state)
{
    (void)state;
    /* The client sends a request and shuts down its side: a reply the server still owes (it
     * kept the conn) is written before the server closes. */
    int fd = client_connect();
    client_send_frame(fd, "defer");
    shutdown(fd, SHUT_WR);
    client_expect(fd, "later");
    assert_true(client_closed(fd, 3000));
    close(fd);
    assert_true(wait_int(&ev.closes, 1, 2000));
}

static void test_pause_resume(void **state)
{
    (void)state;
    int fd = client_connect();
    /* Three frames in one segment: the first pauses, so the other two are held. */
    uint8_t b[64];
    size_t n = 0;
    const char *msgs[] = {"pause", "a", "b"};
    for (int i = 0; i < 3; i++) {
        sl_put_be32(b + n, (uint32_t)strlen(msgs[i]));
        memcpy(b + n + 4, msgs[i], strlen(msgs[i]));
        n += 4 + strlen(msgs[i]);
    }
    client_send(fd, b, n);
    client_expect(fd, "pause");
    assert_true(client_quiet(fd, 100));
    assert_int_equal(ev.frames, 1);
    client_send_frame(fd, "c"); /* not read while paused */
    assert_true(client_quiet(fd, 50));
    assert_int_equal(ev.frames, 1);

    sl_conn_resume(ev.paused);
    client_expect(fd, "a");
    client_expect(fd, "b");
    client_expect(fd, "c");
    assert_int_equal(ev.frames, 4);

    /* Pausing again mid-stream and resuming twice is harmless. */
    client_send_frame(fd, "pause");
    client_expect(fd, "pause");
    client_send_frame(fd, "d");
    assert_true(client_quiet(fd, 50));
    sl_conn_resume(ev.paused);
    sl_conn_resume(ev.paused);
    client_expect(fd, "d");
    close(fd);
}

static void test_turn_bounded_with_stale_loop_time(void **state)
{
    (void)state;
    /* A paused conn and a quiet client: nothing but the tick can end a loop turn. The loop's
     * cached time is left stale by more than the tick's 2 ms before each turn, as when the test
     * thread is descheduled; every turn must still return (this hung before the tick repeated). */
    int fd = client_connect();
    client_send_frame(fd, "pause");
    client_expect(fd, "pause");
    int64_t start = sl_mono_ms();
    for (int i = 0; i < 20; i++) {
        usleep(3000);
        turn();
    }
    assert_true(sl_mono_ms() - start < 2000 * timeout_scale);
    assert_int_equal(ev.frames, 1);
    sl_conn_resume(ev.paused);
    client_send_frame(fd, "after");
    client_expect(fd, "after");
    close(fd);
}

static void test_stop_closes_everything(void **state)
{
    (void)state;
    int a = client_connect(), b = client_connect();
    client_send_frame(a, "x");
    client_expect(a, "x");
    client_send_frame(b, "y");
    client_expect(b, "y");
    sl_server_stop(srv, on_stopped, &ev);
    srv = NULL;
    assert_true(client_closed(a, 3000));
    assert_true(client_closed(b, 3000));
    int64_t end = sl_mono_ms() + 3000 * timeout_scale;
    while (!ev.stopped && sl_mono_ms() < end) {
        turn();
    }
    assert_true(ev.stopped);
    assert_int_equal(ev.closes, 2);
    close(a);
    close(b);
}

static void test_start_errors(void **state)
{
    (void)state;
    sl_server *s2 = NULL;
    int lvl = sl_log_level;
    sl_log_level = -1; /* the failures below log errors by design */
    sl_server_opts o = {.listen = "nope", .frame_len = sl_frame_len_be32, .on_frame = on_frame};
    assert_int_equal(sl_server_start(&loop, &o, &s2), SL_ERR_INVAL);
    assert_null(s2);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", sl_server_port(srv));
    o.listen = addr;
    assert_int_equal(sl_server_start(&loop, &o, &s2), -EADDRINUSE);
    assert_null(s2);
    o.listen = "192.0.2.1:0"; /* TEST-NET-1: not an address of this host */
    assert_int_equal(sl_server_start(&loop, &o, &s2), -EADDRNOTAVAIL);
    sl_log_level = lvl;
}

static void test_frame_len_be32(void **state)
{
    (void)state;
    assert_int_equal(sl_frame_len_be32((const uint8_t *)"\0\0\0", 3), SL_AGAIN);
    assert_int_equal(sl_frame_len_be32(NULL, 0), SL_AGAIN);
    assert_int_equal(sl_frame_len_be32((const uint8_t *)"\0\0\0\0", 4), 4);
    assert_int_equal(sl_frame_len_be32((const uint8_t *)"\0\0\1\0", 4), 260);
    assert_int_equal(sl_frame_len_be32((const uint8_t *)"\x7f\xff\xff\xff", 4),
                     (ssize_t)INT32_MAX + 4);
    assert_int_equal(sl_frame_len_be32((const uint8_t *)"\x80\0\0\0", 4), SL_ERR_PARSE);
}

static int stop_calls;
static void count_stop(void *arg)
{
    (void)arg;
    stop_calls++;
}

static void test_signals(void **state)
{
    (void)state;
    stop_calls = 0;
    assert_int_equal(sl_signals_install(&loop, count_stop, NULL), 0);
    assert_int_equal(sl_signals_install(&loop, count_stop, NULL), SL_ERR_EXISTS);
    assert_int_equal(signal(SIGPIPE, SIG_IGN), SIG_IGN);
    raise(SIGTERM);
    assert_true(wait_int(&stop_calls, 1, 2000));
    sl_signals_close();
    uv_run(&loop, UV_RUN_NOWAIT);

    /* A second signal exits at once with 130; checked in a child with a loop of its own. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t l2;
        uv_timer_t keepalive; /* signal watchers are unref'd: something must keep l2 alive */
        uv_loop_init(&l2);
        uv_timer_init(&l2, &keepalive);
        uv_timer_start(&keepalive, noop_timer, 1000, 1000);
        sl_log_level = -1;
        if (sl_signals_install(&l2, count_stop, NULL) != 0) _exit(3);
        stop_calls = 0;
        raise(SIGINT);
        for (int i = 0; i < 500 && stop_calls == 0; i++) {
            uv_run(&l2, UV_RUN_NOWAIT);
            usleep(1000);
        }
        if (stop_calls != 1) _exit(4);
        raise(SIGINT);
        for (int i = 0; i < 500; i++) {
            uv_run(&l2, UV_RUN_NOWAIT);
            usleep(1000);
        }
        _exit(5);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_closes_only_that_conn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_with_body_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_length_is_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_conns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_frames_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_frame_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_buf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orderly_close_flushes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_reply_after_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_bounded_with_stale_loop_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_closes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ranges_bad_file, setup, teardown),
        cmocka_unit_test(test_file_ranges_read),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
        cmocka_unit_test(test_frame_len_be32),
        cmocka_unit_test_setup_teardown(test_out_of_fds_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
