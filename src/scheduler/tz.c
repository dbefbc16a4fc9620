/* tz.c: a TZif reader (RFC 8536) and the POSIX TZ rules of its footer.
 *
 * Only UTC offsets are kept: the scheduler needs "what is the wall clock at instant t", never
 * abbreviations or leap seconds. Every count in the file is checked against the bytes that
 * remain before anything is read or allocated. */
#include "scheduler/tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (1 << 20)

/* One end of a DST period: a day rule and the local time of day it happens at. */
typedef struct tz_when {
    char kind;    /* 'J': Julian 1..365 without Feb 29; 'D': 0..365 with it; 'M': month.week.day */
    int a, b, c;  /* J/D: a = day; M: a = month, b = week 1..5, c = weekday 0..6 */
    int32_t secs; /* local time of day, may be negative or past 24 h (RFC 8536 3.3.1) */
} tz_when;

typedef struct tz_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    tz_when start, end;
} tz_rule;

struct sl_tz {
    size_t n;       /* transitions */
    int64_t *times; /* ascending */
    int32_t *offs;  /* offset in force from times[i] */
    int32_t first;  /* before the first transition */
    bool has_rule;
    tz_rule rule;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* POSIX TZ string parsing (the footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" or "<+0530>-5:30". */
static bool tz_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (!e || e - s < 4) return false;
        *p = e + 1;
        return true;
    }
    while (isalpha((unsigned char)*s))
        s++;
    if (s - *p < 3) return false;
    *p = s;
    return true;
}

/* [+-]hh[:mm[:ss]]; hours up to 167 as RFC 8536 allows for rule times. */
static bool tz_hms(const char **p, int32_t *out)
{
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*s)) return false;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*s != ':') break;
            s++;
        }
        if (!isdigit((unsigned char)*s)) return false;
        int x = 0, digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) {
            x = x * 10 + (*s++ - '0');
            digits++;
        }
        v[i] = x;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59) return false;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *p = s;
    return true;
}

static bool tz_num(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    int v = 0;
    if (!isdigit((unsigned char)*s)) return false;
    while (isdigit((unsigned char)*s) && v <= hi)
        v = v * 10 + (*s++ - '0');
    if (v < lo || v > hi) return false;
    *out = v;
    *p = s;
    return true;
}

static bool tz_when_parse(const char **p, tz_when *w)
{
    const char *s = *p;
    if (*s == 'J') {
        s++;
        w->kind = 'J';
        if (!tz_num(&s, 1, 365, &w->a)) return false;
    } else if (*s == 'M') {
        s++;
        w->kind = 'M';
        if (!tz_num(&s, 1, 12, &w->a) || *s++ != '.' || !tz_num(&s, 1, 5, &w->b) || *s++ != '.' ||
            !tz_num(&s, 0, 6, &w->c))
            return false;
    } else {
        w->kind = 'D';
        if (!tz_num(&s, 0, 365, &w->a)) return false;
    }
    w->secs = 7200;
    if (*s == '/') {
        s++;
        if (!tz_hms(&s, &w->secs)) return false;
    }
    *p = s;
    return true;
}

static bool rule_parse(const char *s, tz_rule *r)
{
    int32_t off;
    memset(r, 0, sizeof *r);
    if (!tz_name(&s) || !tz_hms(&s, &off)) return false;
    r->std_off = -off; /* POSIX counts west of UTC */
    if (!*s) return true;
    if (!tz_name(&s)) return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (!tz_hms(&s, &off)) return false;
        r->dst_off = -off;
    }
    if (!*s) {
        /* POSIX leaves the default rules to the implementation; tzcode uses the US ones */
        r->start = (tz_when){'M', 3, 2, 0, 7200};
        r->end = (tz_when){'M', 11, 1, 0, 7200};
        return true;
    }
    if (*s++ != ',' || !tz_when_parse(&s, &r->start) || *s++ != ',' || !tz_when_parse(&s, &r->end))
        return false;
    return *s == '\0';
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    int m, d;
    sl_civil_from_days(sl_floor_div(t, 86400), &y, &m, &d);
    return y;
}

/* Seconds since the epoch, read as UTC, of the local wall time when w happens in year y. */
static int64_t when_local(const tz_when *w, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;
    if (w->kind == 'J')
        day = sl_days_from_civil(y, 1, 1) + w->a - 1 + (leap(y) && w->a >= 60);
    else if (w->kind == 'D')
        day = sl_days_from_civil(y, 1, 1) + w->a;
    else {
        int64_t first = sl_days_from_civil(y, w->a, 1);
        int dow = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        int dim = mdays[w->a - 1] + (w->a == 2 && leap(y));
        int d = 1 + (w->c - dow + 7) % 7 + (w->b - 1) * 7;
        while (d > dim)
            d -= 7;
        day = first + d - 1;
    }
    return day * 86400 + w->secs;
}

static int32_t rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->has_dst) return r->std_off;
    int64_t y = year_of(t + r->std_off);
    /* the start happens in standard time, the end in daylight time */
    int64_t start = when_local(&r->start, y) - r->std_off;
    int64_t end = when_local(&r->end, y) - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* Reads one TZif data block (v1 with 4-byte times, v2+ with 8-byte ones) into z; returns the
 * bytes used, or 0 if the block does not fit in len. */
static size_t read_block(const uint8_t *p, size_t len, int tsize, sl_tz *z)
{
    if (len < 44) return 0;
    uint32_t isutcnt = be32(p + 20), isstdcnt = be32(p + 24), leapcnt = be32(p + 28);
    uint32_t timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || leapcnt > 100000 ||
        (isutcnt && isutcnt != typecnt) || (isstdcnt && isstdcnt != typecnt) || charcnt > 65536)
        return 0;
    uint64_t need = 44 + (uint64_t)timecnt * (tsize + 1) + (uint64_t)typecnt * 6 + charcnt +
                    (uint64_t)leapcnt * (tsize + 4) + isstdcnt + isutcnt;
    if (need > len) return 0;
    const uint8_t *times = p + 44, *idx = times + (size_t)timecnt * tsize, *types = idx + timecnt;
    int32_t *offs = sl_calloc(typecnt, sizeof *offs);
    for (uint32_t i = 0; i < typecnt; i++)
        offs[i] = (int32_t)be32(types + 6 * i);
    z->n = timecnt;
    z->times = sl_calloc(timecnt ? timecnt : 1, sizeof *z->times);
    z->offs = sl_calloc(timecnt ? timecnt : 1, sizeof *z->offs);
    bool ok = true;
    for (uint32_t i = 0; i < timecnt; i++) {
        z->times[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= typecnt || (i && z->times[i] <= z->times[i - 1])) ok = false;
        z->offs[i] = ok ? offs[idx[i]] : 0;
    }
    z->first = offs[0];
    sl_free(offs);
    if (!ok) return 0;
    return (size_t)need;
}

static bool valid_name(const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 200) return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p)) return false;
    return true;
}

int sl_tz_load(const char *name, sl_tz **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!valid_name(name))
        return fail(err, errlen, SL_ERR_NOTFOUND, "unknown time zone \"%s\"", name);
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, SL_ERR_NOTFOUND, "unknown time zone \"%s\"", name);
    uint8_t *buf = sl_malloc(TZ_FILE_MAX);
    size_t len = fread(buf, 1, TZ_FILE_MAX, f);
    fclose(f);
    sl_tz *z = sl_calloc(1, sizeof *z);
    int rc = 0;
    if (len < 44 || memcmp(buf, "TZif", 4) != 0) {
        rc = fail(err, errlen, SL_ERR_NOTFOUND, "unknown time zone \"%s\" (%s is not a TZif file)",
                  name, path);
        goto done;
    }
    size_t used = read_block(buf, len, 4, z);
    if (!used) {
        rc = fail(err, errlen, SL_ERR_PARSE, "time zone \"%s\": %s is malformed", name, path);
        goto done;
    }
    if (buf[4] >= '2') {
        /* v2+: the v1 block is followed by a 64-bit one and a "\nTZ\n" footer */
        sl_free(z->times);
        sl_free(z->offs);
        z->times = NULL;
        z->offs = NULL;
        size_t used2 = read_block(buf + used, len - used, 8, z);
        if (!used2) {
            rc = fail(err, errlen, SL_ERR_PARSE, "time zone \"%s\": %s is malformed", name, path);
            goto done;
        }
        size_t at = used + used2;
        if (at < len && buf[at] == '\n') {
            const uint8_t *nl = memchr(buf + at + 1, '\n', len - at - 1);
            if (nl && nl - (buf + at + 1) > 0 && nl - (buf + at + 1) < 256) {
                char footer[256];
                size_t flen = (size_t)(nl - (buf + at + 1));
                memcpy(footer, buf + at + 1, flen);
                footer[flen] = '\0';
                z->has_rule = rule_parse(footer, &z->rule);
            }
        }
    }
done:
    sl_free(buf);
    if (rc < 0) {
        sl_tz_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

void sl_tz_free(sl_tz *z)
{
    if (!z) return;
    sl_free(z->times);
    sl_free(z->offs);
    sl_free(z);
}

int32_t sl_tz_offset(const sl_tz *z, int64_t t)
{
    if (z->n == 0 || t >= z->times[z->n - 1]) {
        if (z->has_rule && (z->n == 0 || t >= z->times[z->n - 1])) return rule_offset(&z->rule, t);
        return z->n ? z->offs[z->n - 1] : z->first;
    }
    if (t < z->times[0]) return z->first;
    size_t lo = 0, hi = z->n - 1; /* times[lo] <= t < times[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->offs[lo];
}
