/* supervisor.c: start children in order, merge their logs, restart them, stop them in order.
 *
 * A child's life: spawned (proc and two pipes open), then exited (the exit callback ran), then
 * settled (proc and both pipes closed, so the last lines are printed before the exit is
 * reported). Every decision about an exit (restart, next step, next to stop) is taken when the
 * child settles, never while one of its handles is still open, so the handles can be reused for
 * the next spawn. */
#include "up/supervisor.h"
#include "core/buf.h"
#include "core/sl.h"
#include "web/http.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define LINE_MAX_BYTES 65536 /* a longer line is printed in pieces */
#define PROBE_EVERY_MS 100
#define HEALTHY_MS     30000 /* a service up this long has its restart backoff reset */
#define PIPE_LINGER_MS 1000  /* how long after an exit the last output may still arrive */

typedef struct linebuf {
    char *p;
    size_t len;
} linebuf;

typedef struct child {
    sl_sup *sup;
    int index;
    char *name;
    sl_sup_kind kind;
    char **argv;
    char *ready_addr;

    uv_process_t proc;
    uv_pipe_t out, err;
    linebuf out_line, err_line;
    uv_timer_t timer; /* restart backoff */
    uv_timer_t probe; /* readiness probe; it goes on while a child that died early restarts */
    int open;         /* proc, out and err handles not yet closed */
    bool running;     /* spawned and not yet settled */
    bool exited;
    int pid;
    int64_t started_ms;
    int64_t exit_status; /* status, or -signal */

    bool ready;
    int restarts;
    int tries;      /* ONESHOT: failed tries so far */
    int backoff_ms; /* next restart delay */
    int64_t last_exit;
} child;

struct sl_sup {
    uv_loop_t *loop;
    sl_sup_opts o;
    child **kids;
    int n;
    int width; /* of the widest name, for aligned prefixes */

    int starting; /* index of the child being started; n when all are ready */
    int64_t ready_deadline;
    void (*on_ready)(void *, int);
    void *ready_arg;

    bool stopping;
    int stop_index; /* the child being stopped, from n-1 down */
    int64_t stop_deadline;
    void (*on_stopped)(void *);
    void *stopped_arg;
    uv_timer_t stop_timer;
    bool stop_timer_open;
    int closing; /* children whose timer is closing at the end */
};

static void start_next(sl_sup *s);
static void stop_next(sl_sup *s);
static void spawn_child(child *c);

/* Writes one prefixed line to stdout. */
static void emit(sl_sup *s, const char *name, int color, const char *line, size_t len)
{
    static const int colors[] = {36, 33, 32, 35, 34, 31, 96, 93};
    if (s->o.color && color >= 0)
        printf("\x1b[%dm%-*s |\x1b[0m %.*s\n", colors[color % 8], s->width, name, (int)len, line);
    else
        printf("%-*s | %.*s\n", s->width, name, (int)len, line);
    fflush(stdout);
}

/* The supervisor's own lines, under the name "up". */
static void say(sl_sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sl_sup *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len >= sizeof msg) len = sizeof msg - 1;
    emit(s, "up", -1, msg, (size_t)len);
}

/* Appends one event line for the console (sl_sup_opts.events_path); a failed write only costs
 * the console its view, so it is not reported. */
static void record(sl_sup *s, const child *c, const char *event, const char *detail)
{
    if (!s->o.events_path) return;
    FILE *f = fopen(s->o.events_path, "a");
    if (!f) return;
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_printf(&b, "{\"t\":%lld,\"child\":", (long long)sl_now_ms());
    sl_http_json_str(&b, c->name, strlen(c->name));
    sl_buf_printf(&b, ",\"event\":\"%s\",\"detail\":", event);
    sl_http_json_str(&b, detail, strlen(detail));
    sl_buf_printf(&b, ",\"restarts\":%d}\n", c->restarts);
    fwrite(b.ptr, 1, b.len, f);
    fclose(f);
    sl_buf_free(&b);
}

static void describe_exit(int64_t st, char *buf, size_t len)
{
    if (st < 0)
        snprintf(buf, len, "killed by signal %d (%s)", (int)-st, strsignal((int)-st));
    else
        snprintf(buf, len, "exited with status %d", (int)st);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    SL_UNUSED(h);
    SL_UNUSED(hint);
    static char slab[65536]; /* one loop thread: the read callback consumes it at once */
    buf->base = slab;
    buf->len = sizeof slab;
}

static void line_flush(child *c, linebuf *lb)
{
    if (lb->len) emit(c->sup, c->name, c->index, lb->p, lb->len);
    lb->len = 0;
}

static void line_feed(child *c, linebuf *lb, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (lb->len + take > LINE_MAX_BYTES) take = LINE_MAX_BYTES - lb->len;
        if (!lb->p) lb->p = sl_malloc(LINE_MAX_BYTES);
        memcpy(lb->p + lb->len, p, take);
        lb->len += take;
        p += take;
        n -= take;
        if (n > 0 && *p == '\n') {
            p++;
            n--;
            line_flush(c, lb);
        } else if (lb->len == LINE_MAX_BYTES) {
            line_flush(c, lb);
        }
    }
}

static void settle(child *c);

static void on_handle_closed(uv_handle_t *h)
{
    child *c = h->data;
    if (--c->open == 0) settle(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    child *c = st->data;
    linebuf *lb = st == (uv_stream_t *)&c->out ? &c->out_line : &c->err_line;
    if (nread > 0) {
        line_feed(c, lb, buf->base, (size_t)nread);
    } else if (nread < 0) {
        line_flush(c, lb);
        uv_close((uv_handle_t *)st, on_handle_closed);
    }
}

/* A process that left the child's group may still hold its pipes: stop waiting for them. */
static void on_pipes_linger(uv_timer_t *t)
{
    child *c = t->data;
    if (!uv_is_closing((uv_handle_t *)&c->out)) {
        line_flush(c, &c->out_line);
        uv_close((uv_handle_t *)&c->out, on_handle_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&c->err)) {
        line_flush(c, &c->err_line);
        uv_close((uv_handle_t *)&c->err, on_handle_closed);
    }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
    child *c = p->data;
    c->exited = true;
    c->exit_status = term_signal ? -(int64_t)term_signal : status;
    uv_close((uv_handle_t *)p, on_handle_closed);
    uv_timer_start(&c->timer, on_pipes_linger, PIPE_LINGER_MS, 0);
}

/* Signals the child's whole process group (it leads one: it was spawned detached), so whatever
 * it started goes too. */
static void signal_child(child *c, int sig)
{
    if (uv_kill(-c->pid, sig)) uv_process_kill(&c->proc, sig);
}

static void on_timer_closed(uv_handle_t *h)
{
    child *c = h->data;
    sl_sup *s = c->sup;
    if (--s->closing == 0 && !s->stop_timer_open && s->on_stopped) s->on_stopped(s->stopped_arg);
}

static void on_stop_timer_closed(uv_handle_t *h)
{
    sl_sup *s = h->data;
    s->stop_timer_open = false;
    if (s->closing == 0 && s->on_stopped) s->on_stopped(s->stopped_arg);
}

/* All children are down: close the timers, then report. */
static void finish_stop(sl_sup *s)
{
    s->closing = 2 * s->n;
    for (int i = 0; i < s->n; i++) {
        uv_close((uv_handle_t *)&s->kids[i]->timer, on_timer_closed);
        uv_close((uv_handle_t *)&s->kids[i]->probe, on_timer_closed);
    }
    uv_close((uv_handle_t *)&s->stop_timer, on_stop_timer_closed);
    if (s->n == 0 && !s->stop_timer_open && s->on_stopped) s->on_stopped(s->stopped_arg);
}

static void on_restart_timer(uv_timer_t *t)
{
    child *c = t->data;
    if (!c->sup->stopping) spawn_child(c);
}

static void schedule_restart(child *c, int delay_ms)
{
    uv_timer_start(&c->timer, on_restart_timer, (uint64_t)delay_ms, 0);
}

static int next_backoff(child *c)
{
    sl_sup *s = c->sup;
    if (sl_mono_ms() - c->started_ms >= HEALTHY_MS) c->backoff_ms = s->o.backoff_min_ms;
    int d = c->backoff_ms;
    c->backoff_ms =
        c->backoff_ms * 2 > s->o.backoff_max_ms ? s->o.backoff_max_ms : c->backoff_ms * 2;
    return d;
}

static void fail_start(sl_sup *s, int status)
{
    if (!s->on_ready) return;
    void (*cb)(void *, int) = s->on_ready;
    s->on_ready = NULL;
    cb(s->ready_arg, status);
}

/* The child's process and pipes are all closed: decide what its exit means. */
static void settle(child *c)
{
    sl_sup *s = c->sup;
    uv_timer_stop(&c->timer);
    char why[128];
    describe_exit(c->exit_status, why, sizeof why);
    c->running = false;
    c->pid = 0;
    c->last_exit = c->exit_status;

    if (s->stopping) {
        say(s, "%s stopped (%s)", c->name, why);
        if (c->kind == SL_SUP_SERVICE) record(s, c, "stopped", why);
        if (c->index == s->stop_index) stop_next(s);
        return;
    }
    switch (c->kind) {
    case SL_SUP_SERVICE: {
        int d = next_backoff(c);
        c->restarts++;
        say(s, "%s %s; restarting in %d ms (restart %d)", c->name, why, d, c->restarts);
        char detail[200];
        snprintf(detail, sizeof detail, "%s; restarting in %d ms", why, d);
        record(s, c, "restarting", detail);
        schedule_restart(c, d);
        break;
    }
    case SL_SUP_ONESHOT:
        if (c->exit_status == 0) {
            c->ready = true;
            if (s->starting == c->index) {
                s->starting++;
                start_next(s);
            }
        } else if (c->tries++ < s->o.oneshot_retries) {
            int d = next_backoff(c);
            say(s, "%s %s; trying again in %d ms", c->name, why, d);
            schedule_restart(c, d);
        } else {
            say(s, "%s %s; giving up after %d tries", c->name, why, c->tries);
            fail_start(s, SL_ERR_INVAL);
        }
        break;
    case SL_SUP_TASK: say(s, "%s finished (%s)", c->name, why); break;
    }
}

static void spawn_child(child *c)
{
    sl_sup *s = c->sup;
    uv_pipe_init(s->loop, &c->out, 0);
    uv_pipe_init(s->loop, &c->err, 0);
    c->out.data = c->err.data = c->proc.data = c;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&c->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&c->err},
    };
    uv_process_options_t po = {
        .exit_cb = on_exit_cb,
        .file = c->argv[0],
        .args = c->argv,
        .flags = UV_PROCESS_DETACHED, /* own session: the terminal's Ctrl-C is ours to relay */
        .stdio_count = 3,
        .stdio = stdio,
    };
    c->exited = false;
    c->started_ms = sl_mono_ms();
    int r = uv_spawn(s->loop, &c->proc, &po);
    c->open = 3;
    c->running = true;
    if (r) {
        /* libuv wants the process handle closed even when the spawn failed. */
        say(s, "%s: cannot start %s: %s", c->name, c->argv[0], uv_strerror(r));
        c->exited = true;
        c->exit_status = 127;
        uv_close((uv_handle_t *)&c->proc, on_handle_closed);
        uv_close((uv_handle_t *)&c->out, on_handle_closed);
        uv_close((uv_handle_t *)&c->err, on_handle_closed);
        return;
    }
    c->pid = c->proc.pid;
    say(s, "%s started (pid %d)", c->name, c->pid);
    if (c->kind == SL_SUP_SERVICE) {
        char detail[64];
        snprintf(detail, sizeof detail, "pid %d", c->pid);
        record(s, c, "started", detail);
    }
    uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&c->err, on_alloc, on_read);
}

static void probe_again(child *c);

static void on_probe_closed(uv_handle_t *h)
{
    sl_free(h);
}

static void on_probe(uv_connect_t *req, int status)
{
    child *c = req->data;
    uv_close((uv_handle_t *)req->handle, on_probe_closed);
    sl_free(req);
    sl_sup *s = c->sup;
    if (s->stopping) {
        return;
    }
    if (status == 0) {
        c->ready = true;
        say(s, "%s ready on %s", c->name, c->ready_addr);
        if (s->starting == c->index) {
            s->starting++;
            start_next(s);
        }
        return;
    }
    if (sl_mono_ms() > s->ready_deadline) {
        say(s, "%s did not open %s within %d ms", c->name, c->ready_addr, s->o.ready_timeout_ms);
        fail_start(s, -ETIMEDOUT);
        return;
    }
    probe_again(c);
}

static void on_probe_timer(uv_timer_t *t)
{
    child *c = t->data;
    sl_sup *s = c->sup;
    if (s->stopping) {
        return;
    }
    char host[256];
    int port;
    struct sockaddr_storage ss;
    if (sl_hostport_parse(c->ready_addr, host, sizeof host, &port) ||
        (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) &&
         uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss))) {
        say(s, "%s: bad address %s", c->name, c->ready_addr);
        fail_start(s, SL_ERR_INVAL);
        return;
    }
    uv_tcp_t *tcp = sl_malloc(sizeof *tcp);
    uv_connect_t *req = sl_malloc(sizeof *req);
    uv_tcp_init(s->loop, tcp);
    req->data = c;
    if (uv_tcp_connect(req, tcp, (struct sockaddr *)&ss, on_probe)) {
        sl_free(req);
        uv_close((uv_handle_t *)tcp, on_probe_closed);
        probe_again(c);
    }
}

static void probe_again(child *c)
{
    uv_timer_start(&c->probe, on_probe_timer, PROBE_EVERY_MS, 0);
}

static void start_next(sl_sup *s)
{
    if (s->stopping) return;
    while (s->starting < s->n) {
        child *c = s->kids[s->starting];
        spawn_child(c);
        if (c->kind == SL_SUP_TASK || (c->kind == SL_SUP_SERVICE && !c->ready_addr)) {
            c->ready = true;
            s->starting++;
            continue;
        }
        if (c->kind == SL_SUP_SERVICE) {
            s->ready_deadline = sl_mono_ms() + s->o.ready_timeout_ms;
            probe_again(c);
        }
        return; /* ONESHOT: settle() moves on */
    }
    if (s->on_ready) {
        void (*cb)(void *, int) = s->on_ready;
        s->on_ready = NULL;
        cb(s->ready_arg, 0);
    }
}

static void on_stop_grace(uv_timer_t *t)
{
    sl_sup *s = t->data;
    child *c = s->kids[s->stop_index];
    if (c->running && !c->exited) {
        say(s, "%s did not stop in time; killing it", c->name);
        signal_child(c, SIGKILL);
    }
}

static void stop_next(sl_sup *s)
{
    while (--s->stop_index >= 0) {
        child *c = s->kids[s->stop_index];
        uv_timer_stop(&c->probe);
        if (!c->running) {
            uv_timer_stop(&c->timer); /* a pending restart */
            continue;
        }
        if (!c->exited) {
            signal_child(c, SIGTERM);
            /* An equal share of what is left of the deadline for each child still running. */
            int left = 0;
            for (int i = 0; i <= s->stop_index; i++)
                left += s->kids[i]->running;
            int64_t remain = s->stop_deadline - sl_mono_ms();
            int64_t grace = remain > 0 ? remain / (left ? left : 1) : 0;
            uv_timer_start(&s->stop_timer, on_stop_grace, (uint64_t)grace, 0);
        }
        return; /* settle() calls again */
    }
    uv_timer_stop(&s->stop_timer);
    finish_stop(s);
}

sl_sup *sl_sup_new(uv_loop_t *loop, const sl_sup_opts *opts)
{
    sl_sup *s = sl_calloc(1, sizeof *s);
    s->loop = loop;
    if (opts) s->o = *opts;
    if (!s->o.ready_timeout_ms) s->o.ready_timeout_ms = 30000;
    if (!s->o.stop_deadline_ms) s->o.stop_deadline_ms = 10000;
    if (!s->o.backoff_min_ms) s->o.backoff_min_ms = 500;
    if (!s->o.backoff_max_ms) s->o.backoff_max_ms = 30000;
    if (!opts) s->o.oneshot_retries = 3;
    s->width = 2; /* "up" */
    uv_timer_init(loop, &s->stop_timer);
    s->stop_timer.data = s;
    s->stop_timer_open = true;
    uv_unref((uv_handle_t *)&s->stop_timer);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("SLUICE_SUPERVISOR_PID", pid, 1);
    return s;
}

void sl_sup_add(sl_sup *s, const sl_sup_spec *spec)
{
    child *c = sl_calloc(1, sizeof *c);
    c->sup = s;
    c->index = s->n;
    c->name = sl_strdup(spec->name);
    c->kind = spec->kind;
    size_t argc = 0;
    while (spec->argv[argc])
        argc++;
    c->argv = sl_calloc(argc + 1, sizeof *c->argv);
    for (size_t i = 0; i < argc; i++)
        c->argv[i] = sl_strdup(spec->argv[i]);
    c->ready_addr = spec->ready_addr ? sl_strdup(spec->ready_addr) : NULL;
    c->backoff_ms = s->o.backoff_min_ms;
    c->last_exit = INT64_MIN;
    uv_timer_init(s->loop, &c->timer);
    uv_timer_init(s->loop, &c->probe);
    c->timer.data = c->probe.data = c;
    s->kids = sl_realloc(s->kids, (size_t)(s->n + 1) * sizeof *s->kids);
    s->kids[s->n++] = c;
    int w = (int)strlen(c->name);
    if (w > s->width) s->width = w;
}

void sl_sup_start(sl_sup *s, void (*on_ready)(void *arg, int status), void *arg)
{
    s->on_ready = on_ready;
    s->ready_arg = arg;
    s->starting = 0;
    start_next(s);
}

void sl_sup_stop(sl_sup *s, void (*on_stopped)(void *arg), void *arg)
{
    if (s->stopping) return;
    s->stopping = true;
    s->on_stopped = on_stopped;
    s->stopped_arg = arg;
    s->on_ready = NULL;
    s->stop_deadline = sl_mono_ms() + s->o.stop_deadline_ms;
    say(s, "stopping %d children in reverse order (deadline %d ms)", s->n, s->o.stop_deadline_ms);
    s->stop_index = s->n;
    stop_next(s);
}

int sl_sup_count(const sl_sup *s)
{
    return s->n;
}

void sl_sup_get(const sl_sup *s, int i, sl_sup_status *out)
{
    const child *c = s->kids[i];
    *out = (sl_sup_status){c->name, c->kind, c->pid, c->restarts, c->last_exit, c->ready};
}

void sl_sup_free(sl_sup *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        child *c = s->kids[i];
        for (char **a = c->argv; *a; a++)
            sl_free(*a);
        sl_free(c->argv);
        sl_free(c->name);
        sl_free(c->ready_addr);
        sl_free(c->out_line.p);
        sl_free(c->err_line.p);
        sl_free(c);
    }
    sl_free(s->kids);
    sl_free(s);
}

void sl_sup_child_init(void)
{
    const char *sup = getenv("SLUICE_SUPERVISOR_PID");
    if (!sup || atoi(sup) <= 0) return;
    int supervisor = atoi(sup);
    /* What this process starts in turn must not inherit the rule: the variable is ours alone. */
    unsetenv("SLUICE_SUPERVISOR_PID");
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The supervisor may have died before the line above (a child killed right after it was
     * spawned): we have been adopted already, and no death signal will come. */
    if (getppid() != supervisor) raise(SIGTERM);
}
