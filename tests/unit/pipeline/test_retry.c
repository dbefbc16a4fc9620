/* test_retry.c: exponential backoff and its jitter bounds, Retry-After in its four forms (and
 * the garbage a hostile server may send instead), and the records-per-second rate limiter driven
 * by a simulated clock. */
#include "pipeline/retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void test_backoff_bounds(void **state)
{
    (void)state;
    /* rnd 0 gives the low end e/2, a rnd of e - e/2 the high end e. */
    assert_int_equal(sl_retry_backoff_ms(0, 250, 30000, 0), 125);
    assert_int_equal(sl_retry_backoff_ms(0, 250, 30000, 125), 250);
    assert_int_equal(sl_retry_backoff_ms(0, 250, 30000, 126), 125); /* wraps, stays in range */
    assert_int_equal(sl_retry_backoff_ms(1, 250, 30000, 0), 250);
    assert_int_equal(sl_retry_backoff_ms(3, 250, 30000, 0), 1000);
    assert_int_equal(sl_retry_backoff_ms(3, 250, 30000, 1000), 2000);
    /* Capped: 250 * 2^7 = 32000 > 30000. */
    assert_int_equal(sl_retry_backoff_ms(7, 250, 30000, 0), 15000);
    assert_int_equal(sl_retry_backoff_ms(7, 250, 30000, 15000), 30000);
    /* Large attempts neither overflow nor exceed the cap. */
    for (int a = 8; a < 5000; a += 97) {
        int64_t d = sl_retry_backoff_ms(a, 250, 30000, UINT64_MAX);
        assert_in_range(d, 15000, 30000);
    }
    assert_in_range(sl_retry_backoff_ms(60, 1, INT64_MAX / 2, 12345), 1, INT64_MAX / 2);
    /* Nonsense arguments are clamped, not trusted. */
    assert_in_range(sl_retry_backoff_ms(0, 0, 0, 0), 0, 1);
    assert_in_range(sl_retry_backoff_ms(5, 100, 10, 7), 50, 100);
}

/* Over many random draws the delays fill [e/2, e] evenly: min and max near the ends, mean near
 * 3e/4, and clients that fail together do not retry together. */
static void test_backoff_jitter_spread(void **state)
{
    (void)state;
    uint64_t rs = 42;
    const int64_t e = 4000; /* attempt 4 with base 250 */
    int64_t lo = INT64_MAX, hi = 0, sum = 0;
    int buckets[10] = {0};
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        int64_t d = sl_retry_backoff_ms(4, 250, 30000, sl_retry_rand(&rs));
        assert_in_range(d, e / 2, e);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
        buckets[(d - e / 2) * 10 / (e / 2 + 1)]++;
    }
    assert_true(lo < e / 2 + 20);
    assert_true(hi > e - 20);
    assert_in_range(sum / N, 3 * e / 4 - 30, 3 * e / 4 + 30);
    for (int b = 0; b < 10; b++)
        assert_in_range(buckets[b], N / 10 - 300, N / 10 + 300);
}

static void test_rand_differs_by_seed(void **state)
{
    (void)state;
    uint64_t a = 1, b = 2;
    assert_true(sl_retry_rand(&a) != sl_retry_rand(&b));
    uint64_t c = 1;
    a = 1;
    assert_true(sl_retry_rand(&a) == sl_retry_rand(&c)); /* deterministic for a seed */
}

/* 1994-11-06 08:49:37 UTC, RFC 9110's example date. */
#define EXAMPLE_S INT64_C(784111777)

static void test_retry_after_seconds(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_int_equal(sl_retry_after_parse("120", 0, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(sl_retry_after_parse("0", 0, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sl_retry_after_parse(" 7 ", 0, &ms), 0);
    assert_int_equal(ms, 7000);
    assert_int_equal(sl_retry_after_parse("86400", 0, &ms), 0);
    assert_int_equal(ms, 86400000);
    const char *bad[] = {
        "", " ", "-1", "1.5", "5s", "abc", "86401", "99999999999999999999999", "1 2", "0x10", "+3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms = -1;
        assert_int_equal(sl_retry_after_parse(bad[i], 0, &ms), SL_ERR_PARSE);
        assert_int_equal(ms, -1); /* untouched */
    }
    assert_int_equal(sl_retry_after_parse(NULL, 0, &ms), SL_ERR_PARSE);
}

static void test_retry_after_dates(void **state)
{
    (void)state;
    int64_t now = (EXAMPLE_S - 10) * 1000, ms = -1;
    assert_int_equal(sl_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now, &ms), 0);
    assert_int_equal(ms, 10000);
    ms = -1;
    assert_int_equal(sl_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now, &ms), 0);
    assert_int_equal(ms, 10000);
    ms = -1;
    assert_int_equal(sl_retry_after_parse("Sun Nov  6 08:49:37 1994", now, &ms), 0);
    assert_int_equal(ms, 10000);
    /* Sub-second now: the wait is to the date, not rounded to seconds. */
    assert_int_equal(sl_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now + 250, &ms), 0);
    assert_int_equal(ms, 9750);
    /* A date in the past means "now". */
    assert_int_equal(sl_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now + 60000, &ms), 0);
    assert_int_equal(ms, 0);
    /* Leap day and end of year. */
    int64_t t2024 = INT64_C(1709164800); /* 2024-02-29 00:00:00 UTC */
    assert_int_equal(sl_retry_after_parse("Thu, 29 Feb 2024 00:00:30 GMT", t2024 * 1000, &ms), 0);
    assert_int_equal(ms, 30000);
    int64_t t2026 = INT64_C(1798761599); /* 2026-12-31 23:59:59 UTC */
    assert_int_equal(
        sl_retry_after_parse("Thu, 31 Dec 2026 23:59:59 GMT", t2026 * 1000 - 5000, &ms), 0);
    assert_int_equal(ms, 5000);
    /* RFC 850's two-digit year: 26 is 2026 when now is 2026. */
    assert_int_equal(
        sl_retry_after_parse("Thursday, 31-Dec-26 23:59:59 GMT", t2026 * 1000 - 5000, &ms), 0);
    assert_int_equal(ms, 5000);
}

static void test_retry_after_bad_dates(void **state)
{
    (void)state;
    int64_t now = (EXAMPLE_S - 10) * 1000, ms = -1;
    const char *bad[] = {
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 1994 08:61:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun Nov 6 08:49:37 1994",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 2994 08:49:37 GMT", /* a thousand years away: not obeyed */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms = -1;
        if (sl_retry_after_parse(bad[i], now, &ms) != SL_ERR_PARSE)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, -1);
    }
}

static void test_ratelimit(void **state)
{
    (void)state;
    sl_ratelimit rl;
    sl_ratelimit_init(&rl, 100, 100, 0);
    assert_int_equal(sl_ratelimit_reserve(&rl, 100, 0), 0); /* the full burst at once */
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 0), 10);  /* then 10 ms per record */
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 0), 20);
    /* A second later 100 tokens came back, 2 of them already spent. */
    assert_int_equal(sl_ratelimit_reserve(&rl, 98, 1000), 0);
    assert_int_equal(sl_ratelimit_reserve(&rl, 500, 1000), 5000); /* bigger than the burst */
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 6000), 10);     /* the debt is paid off exactly */
    /* The bucket never holds more than the burst, however long the pause. */
    assert_int_equal(sl_ratelimit_reserve(&rl, 100, 1000000), 0);
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 1000000), 10);
    /* A clock that goes backwards adds nothing. */
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 999000), 20);
}

static void test_ratelimit_unlimited(void **state)
{
    (void)state;
    sl_ratelimit rl;
    sl_ratelimit_init(&rl, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sl_ratelimit_reserve(&rl, 5000, 0), 0);
}

/* A client that always waits as told: over 60 simulated seconds, pages of 500 at 1000 records/s
 * come out at 1000/s (plus the first burst), and no 1 s window holds more than rate + burst. */
static void test_ratelimit_long_run(void **state)
{
    (void)state;
    sl_ratelimit rl;
    sl_ratelimit_init(&rl, 1000, 1000, 0);
    int64_t now = 0, total = 0;
    int64_t times[1000];
    int n = 0;
    while (now < 60000) {
        now += sl_ratelimit_reserve(&rl, 500, now);
        total += 500;
        times[n++ % 1000] = now;
        assert_true(n < 1000);
    }
    assert_in_range(total, 60000, 61500);
    for (int i = 0; i + 4 < n; i++)
        assert_true(times[i + 4] - times[i] >= 1000); /* 5 pages (2500) span >= 1 s */
}

static void test_ratelimit_fractional(void **state)
{
    (void)state;
    sl_ratelimit rl;
    sl_ratelimit_init(&rl, 3, 1, 0);
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 0), 0);
    assert_int_equal(sl_ratelimit_reserve(&rl, 1, 0), 334); /* 333.3 ms, rounded up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_jitter_spread),
        cmocka_unit_test(test_rand_differs_by_seed),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_dates),
        cmocka_unit_test(test_retry_after_bad_dates),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_ratelimit_unlimited),
        cmocka_unit_test(test_ratelimit_long_run),
        cmocka_unit_test(test_ratelimit_fractional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
