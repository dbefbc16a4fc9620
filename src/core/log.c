/* log.c: formats one line per call into a stack buffer and writes it with a single write(2), so
 * lines from different threads never interleave. Rate limiting keys on the fmt pointer, which
 * identifies the call site without any registration. */
#include "core/log.h"
#include "core/sl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int sl_log_level = SL_LOG_INFO;
static atomic_int log_fd = 2;

/* Large enough for any sane line; longer messages are cut and marked with "...". */
#define LINE_MAX_BYTES 8192
#define SITES          512 /* power of two */
#define PROBE          8

static const char *const level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};
static const char *const level_words[] = {"error", "warn", "info", "debug", "trace"};

typedef struct site {
    const char *fmt;
    int64_t window_ms; /* start of the current one-second window */
    unsigned count;    /* lines emitted or suppressed in the window */
    unsigned suppressed;
} site;

static site sites[SITES];
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;

int sl_log_level_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < (int)SL_ARRAY_LEN(level_words); i++)
        if (!strcasecmp(s, level_words[i])) return i;
    if (!strcasecmp(s, "warning")) return SL_LOG_WARN;
    return -1;
}

void sl_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

/* Decides whether the site may log now. Returns false to suppress; otherwise stores in
 * *reported how many lines were suppressed since the site last logged. */
static bool rate_check(const char *fmt, unsigned *reported)
{
    uintptr_t h = (uintptr_t)fmt;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    size_t idx = (size_t)(h >> 40) & (SITES - 1);
    int64_t now = sl_mono_ms();
    bool ok = true;
    *reported = 0;

    pthread_mutex_lock(&sites_lock);
    site *s = NULL, *oldest = NULL;
    for (int i = 0; i < PROBE; i++) {
        site *c = &sites[(idx + (size_t)i) & (SITES - 1)];
        if (c->fmt == fmt || c->fmt == NULL) {
            s = c;
            break;
        }
        if (!oldest || c->window_ms < oldest->window_ms) oldest = c;
    }
    if (!s) {
        /* Table crowded: recycle the stalest slot. Its pending count is lost, which only
         * affects a site that has been quiet the longest. */
        s = oldest;
        s->fmt = NULL;
    }
    if (s->fmt != fmt) {
        s->fmt = fmt;
        s->window_ms = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (now - s->window_ms >= 1000) {
        s->window_ms = now;
        s->count = 0;
    }
    if (++s->count > SL_LOG_BURST) {
        s->suppressed++;
        ok = false;
    } else {
        *reported = s->suppressed;
        s->suppressed = 0;
    }
    pthread_mutex_unlock(&sites_lock);
    return ok;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return; /* nowhere left to report a logging failure */
        }
        p += w;
        n -= (size_t)w;
    }
}

void sl__log(int lvl, const char *subsys, const char *ctx, const char *fmt, ...)
{
    unsigned suppressed;
    if (!rate_check(fmt, &suppressed)) return;

    char line[LINE_MAX_BYTES];
    size_t cap = sizeof line - 1; /* room kept for the newline */
    size_t len;

    int64_t now = sl_now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (lvl < 0) lvl = 0;
    if (lvl >= (int)SL_ARRAY_LEN(level_names)) lvl = (int)SL_ARRAY_LEN(level_names) - 1;
    int n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000),
                     level_names[lvl], subsys ? subsys : "-");
    len = n > 0 ? SL_MIN((size_t)n, cap - 1) : 0;
    if (ctx) {
        n = snprintf(line + len, cap - len, "[%s] ", ctx);
        if (n > 0) len += SL_MIN((size_t)n, cap - len - 1);
    }

    size_t msg_start = len;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line + len, cap - len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        if ((size_t)n >= cap - len) {
            len = cap - 1;
            memcpy(line + len - 3, "...", 3);
        } else {
            len += (size_t)n;
        }
    }
    /* One event, one line: a peer-supplied string must not forge extra log lines. */
    for (size_t i = msg_start; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';

    if (suppressed) {
        n = snprintf(line + len, cap - len, " (%u similar messages suppressed)", suppressed);
        if (n > 0) len += SL_MIN((size_t)n, cap - len - 1);
    }
    line[len++] = '\n';
    write_all(atomic_load(&log_fd), line, len);
}
