/* sl.c: status strings, allocation wrappers, clocks and the small text parsers shared by the
 * config and CLI layers. */
#include "core/sl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *sl_strerror(int rc)
{
    switch (rc) {
    case SL_OK: return "ok";
    case SL_AGAIN: return "incomplete input";
    case SL_ERR_PARSE: return "malformed input";
    case SL_ERR_TOOBIG: return "over the size limit";
    case SL_ERR_CONFIG: return "invalid configuration";
    case SL_ERR_LIMIT: return "resource limit reached";
    case SL_ERR_CLOSED: return "closed";
    case SL_ERR_NOTFOUND: return "not found";
    case SL_ERR_EXISTS: return "already exists";
    case SL_ERR_INVAL: return "invalid argument";
    case SL_ERR_CORRUPT: return "checksum mismatch";
    case SL_ERR_UNSUPPORTED: return "unsupported";
    }
    if (rc < 0 && rc > -4096) {
        /* strerrordesc_np returns a static string (unlike strerror, which may use a buffer). */
        const char *s = strerrordesc_np(-rc);
        if (s) return s;
    }
    return "unknown error";
}

static void oom(size_t n, const char *file, int line)
{
    char msg[160];
    int len = snprintf(msg, sizeof msg, "sluice: out of memory allocating %zu bytes at %s:%d\n", n,
                       file, line);
    if (len > 0) fwrite(msg, 1, (size_t)SL_MIN(len, (int)sizeof msg - 1), stderr);
    abort();
}

void *sl__malloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}

void *sl__calloc(size_t n, size_t m, const char *file, int line)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m, file, line);
    return p;
}

void *sl__realloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, file, line);
    return q;
}

char *sl__strdup(const char *s, const char *file, int line)
{
    size_t n = strlen(s);
    char *p = sl__malloc(n + 1, file, line);
    memcpy(p, s, n + 1);
    return p;
}

char *sl__strndup(const char *s, size_t n, const char *file, int line)
{
    size_t len = strnlen(s, n);
    char *p = sl__malloc(len + 1, file, line);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

int64_t sl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sl_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t sl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parses a non-empty run of decimal digits into *v; returns the first byte after it or NULL
 * on no digits or overflow past INT64_MAX. */
static const char *parse_digits(const char *s, int64_t *v)
{
    int64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (n > (INT64_MAX - d) / 10) return NULL;
        n = n * 10 + d;
    }
    if (p == s) return NULL;
    *v = n;
    return p;
}

int sl_hostport_parse(const char *s, char *host, size_t hostlen, int *port)
{
    const char *h, *colon;
    size_t hl;
    if (!s || !*s) return SL_ERR_INVAL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return SL_ERR_INVAL;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return SL_ERR_INVAL;
        h = s;
        hl = (size_t)(colon - s);
        /* A bare IPv6 address is ambiguous ("::1:80"); it needs brackets. */
        if (memchr(h, ':', hl)) return SL_ERR_INVAL;
    }
    if (hl == 0 || hl >= hostlen) return SL_ERR_INVAL;
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)h[i]) || h[i] == '[' || h[i] == ']' || h[i] == '/')
            return SL_ERR_INVAL;
    int64_t p;
    const char *end = parse_digits(colon + 1, &p);
    if (!end || *end || p > 65535) return SL_ERR_INVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int sl_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t mul;
    } units[] = {
        {"", 1},        {"ms", 1},      {"s", 1000},     {"m", 60000},
        {"min", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    int64_t v;
    if (!s) return SL_ERR_INVAL;
    const char *end = parse_digits(s, &v);
    if (!end) return SL_ERR_INVAL;
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].suffix) != 0) continue;
        if (v > INT64_MAX / units[i].mul) return SL_ERR_INVAL;
        *out = v * units[i].mul;
        return 0;
    }
    return SL_ERR_INVAL;
}

int sl_parse_size(const char *s, int64_t *out)
{
    int64_t v;
    if (!s) return SL_ERR_INVAL;
    const char *end = parse_digits(s, &v);
    if (!end) return SL_ERR_INVAL;
    int shift = 0;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'b': shift = 0; break;
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: return SL_ERR_INVAL;
    }
    if (*end) {
        /* After the letter: nothing, "b", or "ib" ("64k", "64kb", "64KiB"). A bare "b" suffix
         * takes nothing more. */
        const char *rest = end + 1;
        if (shift == 0) {
            if (*rest) return SL_ERR_INVAL;
        } else if (!(*rest == '\0' || strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0)) {
            return SL_ERR_INVAL;
        }
    }
    if (v > (INT64_MAX >> shift)) return SL_ERR_INVAL;
    *out = v << shift;
    return 0;
}

int sl_mkdirs(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) && errno != EEXIST) return -errno;
        *p = '/';
    }
    return mkdir(tmp, (mode_t)mode) && errno != EEXIST ? -errno : 0;
}

int sl_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t cap = 4096, n = 0;
    char *p = sl_malloc(cap + 1);
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = SL_ERR_TOOBIG;
                break;
            }
            cap *= 2;
            p = sl_realloc(p, cap + 1);
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (rc == 0 && n > max) rc = SL_ERR_TOOBIG;
    if (rc) {
        sl_free(p);
        return rc;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

int sl_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, bool sync)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) return -errno;
    int rc = 0;
    for (size_t off = 0; off < len && !rc;) {
        ssize_t n = write(fd, (const char *)data + off, len - off);
        if (n < 0 && errno != EINTR) rc = -errno;
        if (n > 0) off += (size_t)n;
    }
    if (!rc && sync && fdatasync(fd) < 0) rc = -errno;
    if (close(fd) < 0 && !rc) rc = -errno;
    if (!rc && rename(tmp, path) < 0) rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if (!sync) return 0;
    /* The rename itself must survive a crash: sync the directory entry. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *d = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    rc = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    return rc;
}

int64_t sl_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365], from March 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468; /* 719468: days from 0000-03-01 to 1970-01-01 */
}

void sl_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}
