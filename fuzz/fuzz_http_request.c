/* fuzz_http_request.c: bytes from a client -> sluice fake-api, end to end. Each input is sent on a
 * real loopback connection to a fake-api (src/web/http.c over libmicrohttpd, its routes, the
 * query parameters, the generator) served from this process's own loop; the connection is then
 * half-closed and the loop runs until the server has answered or closed. Each input is also
 * split as a raw query string ("k=v&k=v", no decoding) straight into sl_ru_params_set and
 * rendered, which reaches the parameter rules faster than HTTP can; both paths render at most
 * 20 users (cap_results), so no input costs more than a few milliseconds.
 *
 * Invariants: no crash, no leak; the server answers every input with a well-formed status line
 * or closes; a 200 for /api carries a body that starts like JSON or CSV. */
#include "fuzz.h"

#include "core/log.h"
#include "pipeline/fakeapi.h"
#include "pipeline/randomuser.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t loop;
static sl_fakeapi *api;
static int port;

static void fuzz_init(void)
{
    sl_log_level = SL_LOG_ERROR;
    uv_loop_init(&loop);
    sl_fakeapi_config cfg;
    sl_config_defaults(sl_fakeapi_opts, &cfg);
    free(cfg.listen);
    cfg.listen = strdup("127.0.0.1:0");
    cfg.quota = 1000000; /* exercised, never reached by one input */
    char err[128];
    if (sl_fakeapi_config_check(&cfg, err, sizeof(err)) || sl_fakeapi_open(&loop, &cfg, &api))
        abort();
    port = sl_fakeapi_port(api);
    sl_config_free(sl_fakeapi_opts, &cfg);
}

static void direct_params(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';
    sl_ru_params p;
    sl_ru_params_init(&p);
    for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) *eq++ = '\0';
        sl_ru_params_set(&p, kv, eq ? eq : "");
    }
    sl_ru_params_finish(&p, 42);
    if (p.results < 1 || p.results > SL_RU_MAX_RESULTS || p.page < 1 || p.page > SL_RU_MAX_PAGE ||
        p.seed_len > SL_RU_SEED_MAX)
        __builtin_trap();
    if (p.results > 20) p.results = 20; /* keep each input fast; the bounds are checked above */
    sl_buf b = SL_BUF_INIT;
    sl_ru_render(&p, &b);
    if (b.len == 0) __builtin_trap();
    sl_buf_free(&b);
    free(q);
}

/* data with every "results=N" over 20 made "results=20" (into out, at least size bytes): a
 * request for 5,000 users takes 0.3 s under ASan and would set the campaign's pace; the bounds
 * of results are checked by direct_params. Returns the new size. */
static size_t cap_results(const uint8_t *data, size_t size, uint8_t *out)
{
    static const char key[] = "results=";
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        if (size - i > sizeof key - 1 && !memcmp(data + i, key, sizeof key - 1)) {
            memcpy(out + o, key, sizeof key - 1);
            o += sizeof key - 1;
            i += sizeof key - 1;
            size_t d = i;
            while (d < size && data[d] >= '0' && data[d] <= '9')
                d++;
            bool big = d - i > 2 ||
                       (d - i == 2 && (data[i] > '2' || (data[i] == '2' && data[i + 1] > '0')));
            if (big) {
                memcpy(out + o, "20", 2);
                o += 2;
                i = d;
            }
            continue;
        }
        out[o++] = data[i++];
    }
    return o;
}

static void over_http(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) abort();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) abort();
    size_t sent = 0;
    bool shut = false;
    char resp[4096];
    size_t got = 0;
    /* Drive the server's loop and the client side together until the server closes, or until
     * after the half-close neither side has anything to do: loopback delivers at once, so a
     * server still idle then waits for the rest of an incomplete request (until its connection
     * timeout), and waiting longer only slows the campaign. The deadline bounds a server that
     * keeps busy without answering. */
    int64_t deadline = sl_mono_ms() + 3000;
    int idle = 0;
    while (sl_mono_ms() < deadline && idle < 3) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (sent < size) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0) sent += (size_t)n;
            if (n < 0 && errno != EAGAIN && errno != ENOTCONN) sent = size;
        } else if (!shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        int wait = uv_backend_timeout(&loop);
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0)},
                               {.fd = uv_backend_fd(&loop), .events = POLLIN}};
        int ready = poll(pf, 2, shut || wait == 0 ? 0 : 1);
        idle = shut && ready == 0 && wait != 0 ? idle + 1 : 0;
        if (ready > 0 && (pf[0].revents & POLLIN)) {
            char tmp[65536];
            ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) break;
            if (n > 0 && got < sizeof(resp)) {
                size_t k = SL_MIN((size_t)n, sizeof(resp) - got);
                memcpy(resp + got, tmp, k);
                got += k;
            }
        }
    }
    close(fd);
    uv_run(&loop, UV_RUN_NOWAIT);
    if (got > 0 && (got < 12 || memcmp(resp, "HTTP/1.", 7) != 0)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (api == NULL) fuzz_init();
    direct_params(data, size);
    uint8_t *capped = malloc(size ? size : 1);
    over_http(capped, cap_results(data, size, capped));
    free(capped);
    return 0;
}
