/* test_cron.c: parsing (each refusal), presets, day-or, names, intervals, @once, prev, and
 * time zones across DST changes. test_0400 compares 10,000 random expressions with croniter. */
#include "scheduler/cron.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

/* 2026-11-22T05:34:56Z */
#define NOW 1795325696000LL

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t next_of(const char *expr, const char *tz, int64_t after)
{
    sl_cron *c;
    char err[200];
    int rc = sl_cron_parse(expr, tz, 0, &c, err, sizeof err);
    if (rc != 0) fail_msg("%s: %s", expr, err);
    int64_t out = -1;
    if (sl_cron_next(c, after, &out) != 0) out = -1;
    sl_cron_free(c);
    return out;
}

static int64_t prev_of(const char *expr, int64_t before)
{
    sl_cron *c;
    char err[200];
    assert_int_equal(sl_cron_parse(expr, NULL, 0, &c, err, sizeof err), 0);
    int64_t out = -1;
    if (sl_cron_prev(c, before, &out) != 0) out = -1;
    sl_cron_free(c);
    return out;
}

static void expect_error(const char *expr, const char *needle)
{
    sl_cron *c = (sl_cron *)1;
    char err[200] = "";
    assert_int_equal(sl_cron_parse(expr, NULL, 0, &c, err, sizeof err), SL_ERR_PARSE);
    assert_null(c);
    if (!strstr(err, needle)) fail_msg("\"%s\": error \"%s\" lacks \"%s\"", expr, err, needle);
}

static void test_basic_next(void **state)
{
    (void)state;
    int64_t t = utc(2026, 11, 22, 5, 34);
    assert_int_equal(next_of("* * * * *", NULL, t), utc(2026, 11, 22, 5, 35));
    assert_int_equal(next_of("* * * * *", NULL, t + 59999), utc(2026, 11, 22, 5, 35));
    assert_int_equal(next_of("*/15 * * * *", NULL, t), utc(2026, 11, 22, 5, 45));
    assert_int_equal(next_of("0 0 * * *", NULL, t), utc(2026, 11, 23, 0, 0));
    assert_int_equal(next_of("@daily", NULL, t), utc(2026, 11, 23, 0, 0));
    assert_int_equal(next_of("@hourly", NULL, t), utc(2026, 11, 22, 6, 0));
    assert_int_equal(next_of("@weekly", NULL, t), utc(2026, 11, 29, 0, 0)); /* a Sunday */
    assert_int_equal(next_of("@monthly", NULL, t), utc(2026, 12, 1, 0, 0));
    assert_int_equal(next_of("@yearly", NULL, t), utc(2027, 1, 1, 0, 0));
    assert_int_equal(next_of("@ANNUALLY", NULL, t), utc(2027, 1, 1, 0, 0));
    /* exactly on a fire: the next one */
    assert_int_equal(next_of("@daily", NULL, utc(2026, 11, 23, 0, 0)), utc(2026, 11, 24, 0, 0));
    assert_int_equal(next_of("5/20 * * * *", NULL, t), utc(2026, 11, 22, 5, 45));
    assert_int_equal(next_of("10-50/20 3 * * *", NULL, t), utc(2026, 11, 23, 3, 10));
    assert_int_equal(next_of("0 9 29 2 *", NULL, t), utc(2028, 2, 29, 9, 0));
    assert_int_equal(next_of("0 0 30 2 *", NULL, t), -1);
}

static void test_names_and_weekdays(void **state)
{
    (void)state;
    int64_t t = utc(2026, 11, 22, 5, 34); /* a Sunday */
    assert_int_equal(next_of("0 9 * * MON-fri", NULL, t), utc(2026, 11, 23, 9, 0));
    assert_int_equal(next_of("0 9 * * sat", NULL, t), utc(2026, 11, 28, 9, 0));
    assert_int_equal(next_of("0 9 * * 7", NULL, t), utc(2026, 11, 22, 9, 0));
    assert_int_equal(next_of("0 9 * * fri-sun", NULL, t), utc(2026, 11, 22, 9, 0));
    assert_int_equal(next_of("0 0 1 jan,Jul *", NULL, t), utc(2027, 1, 1, 0, 0));
    /* both day fields restricted: either matches (the 1st, or any Wednesday) */
    assert_int_equal(next_of("0 0 1 * wed", NULL, t), utc(2026, 11, 25, 0, 0));
    assert_int_equal(next_of("0 0 1 * wed", NULL, utc(2026, 11, 26, 0, 0)), utc(2026, 12, 1, 0, 0));
    /* a full day-of-month range counts as "*": only Wednesdays */
    assert_int_equal(next_of("0 0 1-31 * wed", NULL, utc(2026, 11, 26, 0, 0)),
                     utc(2026, 12, 2, 0, 0));
}

static void test_prev(void **state)
{
    (void)state;
    int64_t t = utc(2026, 11, 22, 5, 34);
    assert_int_equal(prev_of("@daily", t), utc(2026, 11, 22, 0, 0));
    assert_int_equal(prev_of("@daily", utc(2026, 11, 22, 0, 0)), utc(2026, 11, 21, 0, 0));
    assert_int_equal(prev_of("@daily", utc(2026, 11, 22, 0, 0) + 1), utc(2026, 11, 22, 0, 0));
    assert_int_equal(prev_of("0 12 29 2 *", t), utc(2024, 2, 29, 12, 0));
    assert_int_equal(prev_of("59 23 31 12 *", t), utc(2025, 12, 31, 23, 59));
    assert_int_equal(prev_of("0 0 30 2 *", t), -1);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("* * * *", "5 fields");
    expect_error("* * * * * *", "5 fields");
    expect_error("60 * * * *", "minute field \"60\": 60 is out of range 0-59");
    expect_error("* 24 * * *", "hour");
    expect_error("* * 0 * *", "day-of-month field \"0\": 0 is out of range 1-31");
    expect_error("* * 32 * *", "day-of-month");
    expect_error("* * * 13 *", "month");
    expect_error("* * * * 8", "out of range 0-7");
    expect_error("5-1 * * * *", "runs backwards");
    expect_error("*/0 * * * *", "step");
    expect_error("a * * * *", "expected a number or *");
    expect_error("* * * foo *", "expected a number, a name or *");
    expect_error("1,,2 * * * *", "expected");
    expect_error("1-2-3 * * * *", "unexpected '-'");
    expect_error("@fortnightly", "unknown preset");
    expect_error("", "empty");
    expect_error("every 30", "with a unit");
    expect_error("every 500ms", "at least 1s");
    expect_error("every", "5 fields");
    sl_cron *c;
    char err[100];
    assert_int_equal(sl_cron_parse("@daily", "Mars/Base", 0, &c, err, sizeof err), SL_ERR_NOTFOUND);
    assert_string_equal(err, "unknown time zone \"Mars/Base\"");
    assert_int_equal(sl_cron_parse("@daily", "../etc/passwd", 0, &c, err, sizeof err),
                     SL_ERR_NOTFOUND);
}

static void test_interval_and_once(void **state)
{
    (void)state;
    sl_cron *c;
    char err[100];
    int64_t anchor = utc(2026, 1, 1, 0, 0), out;
    assert_int_equal(sl_cron_parse("  every 30s ", NULL, anchor, &c, err, sizeof err), 0);
    assert_int_equal(sl_cron_kind_of(c), SL_CRON_INTERVAL);
    assert_string_equal(sl_cron_text(c), "every 30s");
    assert_int_equal(sl_cron_every_ms(c), 30000);
    assert_int_equal(sl_cron_next(c, anchor - 5000000, &out), 0);
    assert_int_equal(out, anchor);
    assert_int_equal(sl_cron_next(c, anchor, &out), 0);
    assert_int_equal(out, anchor + 30000);
    assert_int_equal(sl_cron_next(c, anchor + 45000, &out), 0);
    assert_int_equal(out, anchor + 60000);
    assert_int_equal(sl_cron_prev(c, anchor + 60000, &out), 0);
    assert_int_equal(out, anchor + 30000);
    assert_int_equal(sl_cron_prev(c, anchor, &out), SL_ERR_NOTFOUND);
    sl_cron_free(c);

    assert_int_equal(sl_cron_parse("@once", NULL, anchor, &c, err, sizeof err), 0);
    assert_int_equal(sl_cron_kind_of(c), SL_CRON_ONCE);
    assert_int_equal(sl_cron_next(c, 0, &out), 0);
    assert_int_equal(out, anchor);
    assert_int_equal(sl_cron_next(c, anchor, &out), SL_ERR_NOTFOUND);
    assert_int_equal(sl_cron_prev(c, anchor + 1, &out), 0);
    assert_int_equal(out, anchor);
    assert_int_equal(sl_cron_prev(c, anchor, &out), SL_ERR_NOTFOUND);
    sl_cron_free(c);
}

static void test_time_zones(void **state)
{
    (void)state;
    const char *ny = "America/New_York";
    /* 09:00 New York is 14:00Z in winter, 13:00Z in summer */
    assert_int_equal(next_of("0 9 * * *", ny, utc(2026, 1, 10, 0, 0)), utc(2026, 1, 10, 14, 0));
    assert_int_equal(next_of("0 9 * * *", ny, utc(2026, 7, 10, 0, 0)), utc(2026, 7, 10, 13, 0));
    /* spring forward 2026-03-08: 02:30 does not exist and takes the offset before (03:30 EDT) */
    assert_int_equal(next_of("30 2 * * *", ny, utc(2026, 3, 7, 12, 0)), utc(2026, 3, 8, 7, 30));
    assert_int_equal(next_of("30 2 * * *", ny, utc(2026, 3, 8, 7, 30)), utc(2026, 3, 9, 6, 30));
    /* fall back 2026-11-01: 01:30 happens twice, a daily job fires at the first only */
    assert_int_equal(next_of("30 1 * * *", ny, utc(2026, 10, 31, 12, 0)), utc(2026, 11, 1, 5, 30));
    assert_int_equal(next_of("30 1 * * *", ny, utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
    /* hourly across fall-back: from inside the repeated hour it moves on, never back */
    int64_t t = utc(2026, 11, 1, 6, 10); /* 01:10 EST, the second 01:xx */
    int64_t n = next_of("30 * * * *", ny, t);
    assert_true(n > t);
    assert_int_equal(n, utc(2026, 11, 1, 7, 30)); /* 02:30 EST */
    assert_int_equal(next_of("0 0 * * *", "Asia/Kolkata", utc(2026, 1, 1, 0, 0)),
                     utc(2026, 1, 1, 18, 30));
    assert_int_equal(next_of("0 0 * * *", "UTC", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 2, 0, 0));
    /* the process's own TZ is left as it was */
    assert_null(getenv("TZ"));
}

static void test_speed(void **state)
{
    (void)state;
    sl_cron *c;
    char err[100];
    assert_int_equal(sl_cron_parse("0 0 29 2 mon", NULL, 0, &c, err, sizeof err), 0);
    int64_t t = NOW, out;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(sl_cron_next(c, t, &out), 0);
        assert_true(out > t);
        t = out;
    }
    sl_cron_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_next),
        cmocka_unit_test(test_names_and_weekdays),
        cmocka_unit_test(test_prev),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_interval_and_once),
        cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
