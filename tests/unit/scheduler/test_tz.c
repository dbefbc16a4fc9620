/* test_tz.c: sl_tz_offset against glibc's localtime_r for every zone of a varied list at
 * random instants from 1900 to 2200 (past the TZif files' last transitions, where the POSIX
 * footer rules take over) and at every transition of 2020-2040 +- 1 s; refusals. */
#include "scheduler/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static const char *const zones[] = {
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "Europe/Moscow",
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/St_Johns",
    "America/Havana",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Asia/Gaza",
    "Africa/Casablanca",
    "Africa/Cairo",
    "Antarctica/Troll",
    "Europe/Dublin",
    "America/Godthab",
    "Asia/Tokyo",
    "Etc/GMT+5",
};

static int32_t glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return (int32_t)tm.tm_gmtoff;
}

static void test_against_glibc(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    long checked = 0;
    for (size_t i = 0; i < SL_ARRAY_LEN(zones); i++) {
        sl_tz *z;
        char err[200];
        if (sl_tz_load(zones[i], &z, err, sizeof err) != 0) fail_msg("%s: %s", zones[i], err);
        setenv("TZ", zones[i], 1);
        tzset();
        for (int k = 0; k < 5000; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int64_t t = -2208988800LL + (int64_t)(x % (300ull * 365 * 86400)); /* 1900..2200 */
            int32_t want = glibc_offset(t), got = sl_tz_offset(z, t);
            if (want != got)
                fail_msg("%s at %lld: glibc %d, sl_tz %d", zones[i], (long long)t, want, got);
            checked++;
        }
        /* every change from 2020 to 2040, found by bisection, to the second */
        for (int64_t t = 1577836800; t < 2208988800; t += 86400) {
            if (glibc_offset(t) == glibc_offset(t + 86400)) continue;
            int64_t lo = t, hi = t + 86400; /* offset(lo) != offset(hi) */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (glibc_offset(mid) == glibc_offset(lo))
                    lo = mid;
                else
                    hi = mid;
            }
            for (int64_t s = hi - 2; s <= hi + 1; s++) {
                assert_int_equal(sl_tz_offset(z, s), glibc_offset(s));
                checked++;
            }
        }
        sl_tz_free(z);
    }
    unsetenv("TZ");
    tzset();
    print_message("%ld offsets equal glibc's\n", checked);
}

static void test_refusals(void **state)
{
    (void)state;
    sl_tz *z = (sl_tz *)1;
    char err[200];
    assert_int_equal(sl_tz_load("Mars/Base", &z, err, sizeof err), SL_ERR_NOTFOUND);
    assert_null(z);
    assert_string_equal(err, "unknown time zone \"Mars/Base\"");
    assert_int_equal(sl_tz_load("../../etc/passwd", &z, err, sizeof err), SL_ERR_NOTFOUND);
    assert_int_equal(sl_tz_load("/etc/passwd", &z, err, sizeof err), SL_ERR_NOTFOUND);
    assert_int_equal(sl_tz_load("", &z, err, sizeof err), SL_ERR_NOTFOUND);
    assert_int_equal(sl_tz_load("Europe", &z, err, sizeof err), SL_ERR_NOTFOUND);
    /* a file that is not TZif */
    setenv("TZDIR", "/etc", 1);
    assert_int_equal(sl_tz_load("hostname", &z, err, sizeof err), SL_ERR_NOTFOUND);
    assert_non_null(strstr(err, "is not a TZif file"));
    unsetenv("TZDIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_glibc),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
