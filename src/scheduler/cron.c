/* cron.c: parsing and next/previous fire times for DAG schedules.
 *
 * Matching works on wall-clock fields in the schedule's time zone, searched field by field
 * (month, day, hour, minute) so a yearly expression costs a few dozen steps, not a minute scan.
 * A matching wall-clock minute becomes an instant as Airflow makes it (croniter on the naive local
 * time, then the zone attached the way Python's zoneinfo does):
 *   - a minute that does not exist (the spring-forward gap) takes the offset in force before
 *     the gap, so "30 2 * * *" in New York fires at 03:30 EDT that day;
 *   - a minute that exists twice (fall-back) is its first occurrence only, so a daily job does
 *     not run twice; a search that starts inside the repeated hour skips what it already passed.
 *
 * Time zones come from the system tz database through tz.c, which never touches the process's
 * TZ, so schedules in different zones may be used from any thread at once. */
#include "scheduler/cron.h"

#include "scheduler/tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* croniter gives up after 50 years without a match; so do we. */
#define CRON_MAX_YEARS 50

struct sl_cron {
    sl_cron_kind kind;
    char *text;
    sl_tz *zone; /* NULL: UTC */
    int64_t anchor_ms;
    int64_t every_ms;
    uint64_t minutes; /* bit m: minute m matches */
    uint32_t hours;
    uint32_t doms;   /* bit d, 1..31 */
    uint16_t months; /* bit m, 1..12 */
    uint8_t dows;    /* bit d, 0..6, 0 = Sunday */
    bool dom_star, dow_star;
};

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value names_base + i */
    int names_base;
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

/* Weekday accepts 0..7 (7 is Sunday, folded to 0 after expansion). */
static const field_def fields[5] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

static const struct {
    const char *name, *expr;
} presets[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SL_ERR_PARSE;
}

/* Reads a number or a name of field f from *p; returns 0 and the value, or -1. */
static int parse_value(const field_def *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 1000) return -1;
            s++;
        }
        *p = s;
        *out = (int)v;
        return 0;
    }
    if (!f->names) return -1;
    for (int i = 0; f->names[i]; i++) {
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            *out = f->names_base + i;
            return 0;
        }
    }
    return -1;
}

/* Parses one comma-separated field into a bit set. Mirrors croniter's expansion: "*" / "lo-hi"
 * / "v", each optionally "/step" ("v/step" means v-max/step); a weekday range ending at 0 (sun)
 * ends at 7; a set that covers the whole field counts as "*" for the day-or rule. */
static int parse_field(int fi, const char *text, uint64_t *bits, bool *star, char *err,
                       size_t errlen)
{
    const field_def *f = &fields[fi];
    uint64_t set = 0;
    const char *p = text;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            if (parse_value(f, &p, &lo) < 0)
                return fail(err, errlen, "%s field \"%s\": expected a number%s or *", f->name, text,
                            f->names ? ", a name" : "");
            hi = lo;
            if (*p == '-') {
                p++;
                if (parse_value(f, &p, &hi) < 0)
                    return fail(err, errlen, "%s field \"%s\": bad range end", f->name, text);
                if (fi == 4 && hi == 0 && lo > 0) hi = 7;
                if (lo > hi)
                    return fail(err, errlen, "%s field \"%s\": range %d-%d runs backwards", f->name,
                                text, lo, hi);
            } else if (*p == '/') {
                hi = f->hi;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return fail(err, errlen, "%s field \"%s\": bad step", f->name, text);
            long s = 0;
            while (isdigit((unsigned char)*p) && s <= 1000)
                s = s * 10 + (*p++ - '0');
            if (s == 0 || s > 1000)
                return fail(err, errlen, "%s field \"%s\": step must be 1..1000", f->name, text);
            step = (int)s;
        }
        if (lo < f->lo || hi > f->hi)
            return fail(err, errlen, "%s field \"%s\": %d is out of range %d-%d", f->name, text,
                        lo < f->lo ? lo : hi, f->lo, fi == 4 ? 7 : f->hi);
        for (int v = lo; v <= hi; v += step)
            set |= 1ull << (fi == 4 && v == 7 ? 0 : v);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p) return fail(err, errlen, "%s field \"%s\": unexpected '%c'", f->name, text, *p);
        break;
    }
    int lo = f->lo, hi = fi == 4 ? 6 : f->hi;
    uint64_t all = (hi == 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
    *bits = set;
    *star = set == all;
    return 0;
}

static int parse_expr(sl_cron *c, const char *expr, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(expr) >= sizeof buf) return fail(err, errlen, "schedule is too long");
    strcpy(buf, expr);
    char *tok[6];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 6) break;
        tok[n++] = t;
    }
    if (n != 5)
        return fail(err, errlen,
                    "\"%s\": a cron expression has 5 fields (minute hour day-of-month month "
                    "day-of-week), this has %s%d",
                    expr, n == 6 ? "at least " : "", n);
    uint64_t bits[5];
    bool star[5];
    for (int i = 0; i < 5; i++) {
        int rc = parse_field(i, tok[i], &bits[i], &star[i], err, errlen);
        if (rc < 0) return rc;
    }
    c->minutes = bits[0];
    c->hours = (uint32_t)bits[1];
    c->doms = (uint32_t)bits[2];
    c->months = (uint16_t)bits[3];
    c->dows = (uint8_t)bits[4];
    c->dom_star = star[2];
    c->dow_star = star[4];
    return 0;
}

static bool tz_is_utc(const char *tz)
{
    return !tz || strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0;
}

int sl_cron_parse(const char *text, const char *tz, int64_t anchor_ms, sl_cron **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    char *t = sl_strndup(text, len);
    sl_tz *zone = NULL;
    if (!tz_is_utc(tz)) {
        int rc = sl_tz_load(tz, &zone, err, errlen);
        if (rc < 0) {
            sl_free(t);
            return rc;
        }
    }
    sl_cron *c = sl_calloc(1, sizeof *c);
    c->zone = zone;
    c->text = t;
    c->anchor_ms = anchor_ms;
    int rc = 0;
    if (len == 0) {
        rc = fail(err, errlen, "empty schedule");
    } else if (strcasecmp(t, "@once") == 0) {
        c->kind = SL_CRON_ONCE;
    } else if (strncasecmp(t, "every", 5) == 0 && isspace((unsigned char)t[5])) {
        const char *d = t + 5;
        while (isspace((unsigned char)*d))
            d++;
        int64_t ms;
        c->kind = SL_CRON_INTERVAL;
        /* a bare number would be milliseconds in sluice.yaml; a schedule says its unit */
        if (!isdigit((unsigned char)t[len - 1]) && sl_parse_duration_ms(d, &ms) == 0 && ms >= 1000)
            c->every_ms = ms;
        else
            rc =
                fail(err, errlen,
                     "\"%s\": an interval is \"every N\" with a unit (s, m, h, d), at least 1s", t);
    } else if (t[0] == '@') {
        size_t i;
        for (i = 0; i < SL_ARRAY_LEN(presets); i++)
            if (strcasecmp(t, presets[i].name) == 0) break;
        if (i == SL_ARRAY_LEN(presets))
            rc = fail(err, errlen,
                      "unknown preset \"%s\" (@once @hourly @daily @weekly @monthly @yearly)", t);
        else
            rc = parse_expr(c, presets[i].expr, err, errlen);
    } else {
        rc = parse_expr(c, t, err, errlen);
    }
    if (rc < 0) {
        sl_cron_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sl_cron_free(sl_cron *c)
{
    if (!c) return;
    sl_free(c->text);
    sl_tz_free(c->zone);
    sl_free(c);
}

sl_cron_kind sl_cron_kind_of(const sl_cron *c)
{
    return c->kind;
}
const char *sl_cron_text(const sl_cron *c)
{
    return c->text;
}
int64_t sl_cron_every_ms(const sl_cron *c)
{
    return c->every_ms;
}

/* Wall-clock time as fields, and conversions through days since 1970-01-01 (proleptic
 * Gregorian, H. Hinnant's algorithms), so UTC needs no libc time zone calls at all. */
typedef struct wall {
    int year, mon, day, hour, min; /* mon 1..12, day 1..31 */
} wall;

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static void civil_wall(int64_t days, wall *w)
{
    int64_t y;
    sl_civil_from_days(days, &y, &w->mon, &w->day);
    w->year = (int)y;
}

/* Wall fields read as if they were UTC, in seconds. */
static int64_t wall_secs(const wall *w)
{
    return sl_days_from_civil(w->year, w->mon, w->day) * 86400 + w->hour * 3600 + w->min * 60;
}

static void wall_from_secs(int64_t s, wall *w)
{
    int64_t days = sl_floor_div(s, 86400), rem = s - days * 86400;
    civil_wall(days, w);
    w->hour = (int)(rem / 3600);
    w->min = (int)(rem % 3600 / 60);
}

static int64_t tz_offset(const sl_tz *zone, int64_t t)
{
    return zone ? sl_tz_offset(zone, t) : 0;
}

/* The instant (seconds) of wall-clock time w: its first occurrence when it exists twice, and
 * with the offset before the gap when it does not exist. Zone transitions are assumed to be
 * more than a day apart, which the tz database holds to. */
static int64_t wall_to_instant(const sl_tz *tz, const wall *w)
{
    int64_t ws = wall_secs(w);
    if (!tz) return ws;
    int64_t before = tz_offset(tz, ws - 86400), after = tz_offset(tz, ws + 86400);
    int64_t best = INT64_MAX;
    if (tz_offset(tz, ws - before) == before) best = ws - before;
    if (after != before && tz_offset(tz, ws - after) == after && ws - after < best)
        best = ws - after;
    return best != INT64_MAX ? best : ws - before;
}

static void instant_to_wall(const sl_tz *tz, int64_t t, wall *w)
{
    wall_from_secs(t + tz_offset(tz, t), w);
}

static bool day_matches(const sl_cron *c, const wall *w)
{
    if (w->day > days_in_month(w->year, w->mon)) return false;
    bool dom = (c->doms >> w->day) & 1;
    int64_t days = sl_days_from_civil(w->year, w->mon, w->day);
    int dow = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool dowm = (c->dows >> dow) & 1;
    if (!c->dom_star && !c->dow_star) return dom || dowm;
    return dom && dowm;
}

/* The first matching wall minute at or after w (forward) or at or before it (backward); false
 * when none within CRON_MAX_YEARS. */
static bool search(const sl_cron *c, wall *w, bool forward)
{
    int limit = w->year + (forward ? CRON_MAX_YEARS : -CRON_MAX_YEARS);
    while (forward ? w->year <= limit : w->year >= limit) {
        if (!((c->months >> w->mon) & 1)) {
            if (forward) {
                if (++w->mon > 12) {
                    w->mon = 1;
                    w->year++;
                }
                w->day = 1;
                w->hour = w->min = 0;
            } else {
                if (--w->mon < 1) {
                    w->mon = 12;
                    w->year--;
                }
                w->day = days_in_month(w->year, w->mon);
                w->hour = 23;
                w->min = 59;
            }
            continue;
        }
        if (!day_matches(c, w)) {
            int64_t days = sl_days_from_civil(w->year, w->mon, w->day);
            civil_wall(days + (forward ? 1 : -1), w);
            w->hour = forward ? 0 : 23;
            w->min = forward ? 0 : 59;
            continue;
        }
        if (!((c->hours >> w->hour) & 1)) {
            int64_t s = wall_secs(w) - w->min * 60 + (forward ? 3600 : -60);
            wall_from_secs(s, w);
            continue;
        }
        if (!((c->minutes >> w->min) & 1)) {
            wall_from_secs(wall_secs(w) + (forward ? 60 : -60), w);
            continue;
        }
        return true;
    }
    return false;
}

static int cron_expr_step(const sl_cron *c, int64_t ms, bool forward, int64_t *out_ms)
{
    /* forward: the first minute after ms's minute; backward: the last minute before ms */
    int64_t start =
        forward ? (sl_floor_div(ms, 60000) + 1) * 60 : (sl_floor_div(ms - 1, 60000)) * 60;
    wall w;
    instant_to_wall(c->zone, start, &w);
    int rc = SL_ERR_NOTFOUND;
    while (search(c, &w, forward)) {
        int64_t t = wall_to_instant(c->zone, &w);
        if (forward ? t * 1000 > ms : t * 1000 < ms) {
            *out_ms = t * 1000;
            rc = 0;
            break;
        }
        /* a repeated or skipped hour put this minute on the wrong side of ms: move on */
        wall_from_secs(wall_secs(&w) + (forward ? 60 : -60), &w);
    }
    return rc;
}

int sl_cron_next(const sl_cron *c, int64_t after_ms, int64_t *next_ms)
{
    switch (c->kind) {
    case SL_CRON_ONCE:
        if (c->anchor_ms <= after_ms) return SL_ERR_NOTFOUND;
        *next_ms = c->anchor_ms;
        return 0;
    case SL_CRON_INTERVAL:
        if (after_ms < c->anchor_ms) {
            *next_ms = c->anchor_ms;
            return 0;
        }
        *next_ms =
            c->anchor_ms + (sl_floor_div(after_ms - c->anchor_ms, c->every_ms) + 1) * c->every_ms;
        return 0;
    case SL_CRON_EXPR: break;
    }
    return cron_expr_step(c, after_ms, true, next_ms);
}

int sl_cron_prev(const sl_cron *c, int64_t before_ms, int64_t *prev_ms)
{
    switch (c->kind) {
    case SL_CRON_ONCE:
        if (c->anchor_ms >= before_ms) return SL_ERR_NOTFOUND;
        *prev_ms = c->anchor_ms;
        return 0;
    case SL_CRON_INTERVAL:
        if (before_ms <= c->anchor_ms) return SL_ERR_NOTFOUND;
        *prev_ms =
            c->anchor_ms + sl_floor_div(before_ms - 1 - c->anchor_ms, c->every_ms) * c->every_ms;
        return 0;
    case SL_CRON_EXPR: break;
    }
    return cron_expr_step(c, before_ms, false, prev_ms);
}

bool sl_cron_tz_valid(const char *tz)
{
    if (tz_is_utc(tz)) return true;
    sl_tz *z;
    if (sl_tz_load(tz, &z, NULL, 0) != 0) return false;
    sl_tz_free(z);
    return true;
}

int sl_cron_local_to_ms(const char *tz, int year, int mon, int day, int hour, int min, int sec,
                        int64_t *out_ms)
{
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour < 0 || hour > 23 ||
        min < 0 || min > 59 || sec < 0 || sec > 59)
        return SL_ERR_INVAL;
    sl_tz *z = NULL;
    if (!tz_is_utc(tz) && sl_tz_load(tz, &z, NULL, 0) != 0) return SL_ERR_NOTFOUND;
    wall w = {year, mon, day, hour, min};
    *out_ms = (wall_to_instant(z, &w) + sec) * 1000;
    sl_tz_free(z);
    return 0;
}
