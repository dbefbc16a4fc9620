/* retry.c: backoff with jitter, Retry-After parsing and the rate limiter (see retry.h). */
#include "pipeline/retry.h"

#include <ctype.h>
#include <string.h>

/* Retry-After values longer than a day are treated as garbage rather than obeyed. */
#define RETRY_AFTER_MAX_S (24 * 3600)

int64_t sl_retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd)
{
    if (base_ms < 1) base_ms = 1;
    if (max_ms < base_ms) max_ms = base_ms;
    int64_t e = base_ms;
    for (int i = 0; i < attempt && e < max_ms; i++)
        e = e > max_ms / 2 ? max_ms : e * 2;
    if (e > max_ms) e = max_ms;
    int64_t half = e / 2;
    return half + (int64_t)(rnd % (uint64_t)(e - half + 1));
}

uint64_t sl_retry_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Reads exactly n digits (n > 0) at *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool lit(const char **p, const char *s)
{
    size_t n = strlen(s);
    if (strncmp(*p, s, n)) return false;
    *p += n;
    return true;
}

static bool month(const char **p, int *out)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (!strncmp(*p, names + 3 * i, 3)) {
            *p += 3;
            *out = i + 1;
            return true;
        }
    return false;
}

/* "HH:MM:SS" */
static bool clock_time(const char **p, int *h, int *mi, int *s)
{
    return digits(p, 2, h) && lit(p, ":") && digits(p, 2, mi) && lit(p, ":") && digits(p, 2, s) &&
           *h < 24 && *mi < 60 && *s <= 60;
}

static const char *const wkdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};

/* Skips a day name: the three-letter form (IMF-fixdate, asctime) or the full one (RFC 850). */
static bool day_name(const char **p, bool full)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(wkdays); i++) {
        size_t n = full ? strlen(wkdays[i]) : 3;
        if (!strncmp(*p, wkdays[i], n)) {
            *p += n;
            return true;
        }
    }
    return false;
}

/* Parses an HTTP-date into seconds since the epoch. */
static bool http_date(const char *s, int64_t now_ms, int64_t *out_s)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    const char *p = s;
    if (day_name(&p, false) && lit(&p, ", ")) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (!(digits(&p, 2, &d) && lit(&p, " ") && month(&p, &mo) && lit(&p, " ") &&
              digits(&p, 4, &y) && lit(&p, " ") && clock_time(&p, &h, &mi, &sec) &&
              lit(&p, " GMT")))
            return false;
    } else if ((p = s, day_name(&p, true)) && lit(&p, ", ")) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; a two-digit year more than 50 years ahead
         * is in the past century (RFC 9110 5.6.7). */
        int yy;
        if (!(digits(&p, 2, &d) && lit(&p, "-") && month(&p, &mo) && lit(&p, "-") &&
              digits(&p, 2, &yy) && lit(&p, " ") && clock_time(&p, &h, &mi, &sec) &&
              lit(&p, " GMT")))
            return false;
        int64_t now_year = 1970 + now_ms / 1000 / 86400 / 365; /* close enough for a century */
        y = (int)(now_year / 100 * 100) + yy;
        if (y > now_year + 50) y -= 100;
    } else if ((p = s, day_name(&p, false)) && lit(&p, " ")) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (!(month(&p, &mo) && lit(&p, " "))) return false;
        if (*p == ' ') {
            p++;
            if (!digits(&p, 1, &d)) return false;
        } else if (!digits(&p, 2, &d)) {
            return false;
        }
        if (!(lit(&p, " ") && clock_time(&p, &h, &mi, &sec) && lit(&p, " ") && digits(&p, 4, &y)))
            return false;
    } else {
        return false;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p || d < 1 || d > 31) return false;
    *out_s = sl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return true;
}

int sl_retry_after_parse(const char *value, int64_t now_ms, int64_t *out_ms)
{
    if (!value) return SL_ERR_PARSE;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        int64_t v = 0;
        const char *p = value;
        for (; isdigit((unsigned char)*p); p++) {
            v = v * 10 + (*p - '0');
            if (v > RETRY_AFTER_MAX_S) return SL_ERR_PARSE;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p) return SL_ERR_PARSE;
        *out_ms = v * 1000;
        return 0;
    }
    int64_t t;
    if (!http_date(value, now_ms, &t)) return SL_ERR_PARSE;
    int64_t wait = t * 1000 - now_ms;
    if (wait < 0) wait = 0;
    if (wait > (int64_t)RETRY_AFTER_MAX_S * 1000) return SL_ERR_PARSE;
    *out_ms = wait;
    return 0;
}

void sl_ratelimit_init(sl_ratelimit *rl, double rate, double burst, int64_t now_ms)
{
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->tokens = rl->burst;
    rl->last_ms = now_ms;
}

int64_t sl_ratelimit_reserve(sl_ratelimit *rl, double n, int64_t now_ms)
{
    if (rl->rate <= 0) return 0;
    if (now_ms > rl->last_ms) {
        rl->tokens += (double)(now_ms - rl->last_ms) * rl->rate / 1000.0;
        if (rl->tokens > rl->burst) rl->tokens = rl->burst;
        rl->last_ms = now_ms;
    }
    rl->tokens -= n;
    if (rl->tokens >= 0) return 0;
    double ms = -rl->tokens * 1000.0 / rl->rate;
    return (int64_t)ms + ((double)(int64_t)ms < ms);
}
