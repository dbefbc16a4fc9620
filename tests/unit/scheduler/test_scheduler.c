/* test_scheduler.c: the task-instance state machine on its own: every trigger rule against
 * upstream outcomes, retry delays with exponential backoff and its cap, the data interval of the
 * next run with and without catchup, and the state names. */
#include "scheduler/scheduler.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define S  SL_TI_SUCCESS
#define F  SL_TI_FAILED
#define UF SL_TI_UPSTREAM_FAILED
#define SK SL_TI_SKIPPED
#define R  SL_TI_RUNNING
#define N  SL_TI_NONE

static sl_ti_state eval(sl_trigger_rule r, int n, ...)
{
    sl_ti_state up[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        up[i] = (sl_ti_state)va_arg(ap, int);
    va_end(ap);
    return sl_sched_rule_eval(r, up, (size_t)n);
}

static void test_all_success(void **st)
{
    (void)st;
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 0), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 2, S, S), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 2, S, R), N);
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 2, F, R), UF); /* at once, as Airflow */
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 2, UF, S), UF);
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 2, SK, S), SK);
    assert_int_equal(eval(SL_RULE_ALL_SUCCESS, 1, SL_TI_UP_FOR_RETRY), N);
}

static void test_all_done(void **st)
{
    (void)st;
    assert_int_equal(eval(SL_RULE_ALL_DONE, 3, S, F, SK), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ALL_DONE, 2, UF, S), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ALL_DONE, 2, F, R), N);
    assert_int_equal(eval(SL_RULE_ALL_DONE, 2, F, SL_TI_UP_FOR_RETRY), N);
}

static void test_one_failed(void **st)
{
    (void)st;
    assert_int_equal(eval(SL_RULE_ONE_FAILED, 2, F, R), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ONE_FAILED, 2, UF, S), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ONE_FAILED, 2, S, R), N);
    assert_int_equal(eval(SL_RULE_ONE_FAILED, 2, S, S), SK);
}

static void test_one_success(void **st)
{
    (void)st;
    assert_int_equal(eval(SL_RULE_ONE_SUCCESS, 2, S, R), SL_TI_SCHEDULED);
    assert_int_equal(eval(SL_RULE_ONE_SUCCESS, 2, F, R), N);
    assert_int_equal(eval(SL_RULE_ONE_SUCCESS, 2, F, F), UF);
    assert_int_equal(eval(SL_RULE_ONE_SUCCESS, 2, SK, SK), SK);
}

static void test_retry_delay(void **st)
{
    (void)st;
    sl_task t = {.retry_delay_ms = 1000};
    assert_int_equal(sl_sched_retry_delay(&t, 1), 1000);
    assert_int_equal(sl_sched_retry_delay(&t, 5), 1000);
    t.retry_exponential_backoff = true;
    assert_int_equal(sl_sched_retry_delay(&t, 1), 1000);
    assert_int_equal(sl_sched_retry_delay(&t, 2), 2000);
    assert_int_equal(sl_sched_retry_delay(&t, 4), 8000);
    t.max_retry_delay_ms = 5000;
    assert_int_equal(sl_sched_retry_delay(&t, 4), 5000);
    assert_int_equal(sl_sched_retry_delay(&t, 1000), 5000); /* no overflow */
    t.max_retry_delay_ms = 0;
    assert_true(sl_sched_retry_delay(&t, 1000) > 0);
}

#define DAY  86400000LL
#define JAN1 1704067200000LL /* 2024-01-01T00:00:00Z */

static void test_next_interval(void **st)
{
    (void)st;
    sl_cron *c;
    char err[100];
    assert_int_equal(sl_cron_parse("@daily", NULL, 0, &c, err, sizeof err), 0);
    sl_dag d = {
        .id = "d", .schedule = c, .start_date_ms = JAN1, .catchup = true, .max_active_runs = 16};
    int64_t a, b, now = JAN1 + 3 * DAY + 3600000;
    /* catchup: the first interval is [start, start+1d), due once it has ended */
    assert_int_equal(sl_sched_next_interval(&d, INT64_MIN, now, &a, &b), 1);
    assert_int_equal(a, JAN1);
    assert_int_equal(b, JAN1 + DAY);
    assert_int_equal(sl_sched_next_interval(&d, JAN1 + DAY, now, &a, &b), 1);
    assert_int_equal(a, JAN1 + DAY);
    /* the interval that has not ended is not due */
    assert_int_equal(sl_sched_next_interval(&d, JAN1 + 3 * DAY, now, &a, &b), 0);
    assert_int_equal(b, JAN1 + 4 * DAY);
    /* without catchup: only the latest complete interval */
    d.catchup = false;
    assert_int_equal(sl_sched_next_interval(&d, INT64_MIN, now, &a, &b), 1);
    assert_int_equal(a, JAN1 + 2 * DAY);
    assert_int_equal(b, JAN1 + 3 * DAY);
    /* end_date: no interval starts after it */
    d.catchup = true;
    d.end_date_ms = JAN1 + DAY;
    assert_int_equal(sl_sched_next_interval(&d, JAN1 + 2 * DAY, now, &a, &b), -1);
    /* a start_date off the schedule's grid starts at the next fire */
    d.end_date_ms = 0;
    d.start_date_ms = JAN1 + 5000;
    assert_int_equal(sl_sched_next_interval(&d, INT64_MIN, now, &a, &b), 1);
    assert_int_equal(a, JAN1 + DAY);
    sl_cron_free(c);
    /* @once fires once at its start_date, with an empty interval */
    assert_int_equal(sl_cron_parse("@once", NULL, JAN1, &c, err, sizeof err), 0);
    d.schedule = c;
    d.start_date_ms = JAN1;
    assert_int_equal(sl_sched_next_interval(&d, INT64_MIN, now, &a, &b), 1);
    assert_int_equal(a, JAN1);
    assert_int_equal(b, JAN1);
    assert_int_equal(sl_sched_next_interval(&d, JAN1, now, &a, &b), -1);
    sl_cron_free(c);
    d.schedule = NULL;
    assert_int_equal(sl_sched_next_interval(&d, INT64_MIN, now, &a, &b), -1);
}

static void test_names(void **st)
{
    (void)st;
    for (int i = SL_TI_NONE; i <= SL_TI_SKIPPED; i++) {
        sl_ti_state back;
        assert_int_equal(sl_ti_state_parse(sl_ti_state_name((sl_ti_state)i), &back), 0);
        assert_int_equal(back, i);
    }
    sl_ti_state x;
    assert_int_equal(sl_ti_state_parse("bogus", &x), SL_ERR_INVAL);
    assert_string_equal(sl_ti_state_name(SL_TI_UP_FOR_RETRY), "up_for_retry");
    assert_true(sl_ti_state_done(SL_TI_SKIPPED));
    assert_false(sl_ti_state_done(SL_TI_UP_FOR_RETRY));
    char iso[64];
    sl_sched_iso(JAN1, iso, sizeof iso);
    assert_string_equal(iso, "2024-01-01T00:00:00+00:00");
}

/* The hand-made ISO date equals gmtime + strftime's, milliseconds included, from 1970 to
 * 9999 (leap years, centuries, the 400-year rule), and a short buffer still gets a date. */
static void test_iso_dates(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % 253402300800000ull);
        if (i % 3 == 0) ms -= ms % 1000;
        if (i < 4) ms = (int64_t[]){0, 951782400000, 4107456000000, 253402300799999}[i];
        char got[64], want[64];
        sl_sched_iso(ms, got, sizeof got);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        if (ms % 1000) n += (size_t)snprintf(want + n, sizeof want - n, ".%03d", (int)(ms % 1000));
        snprintf(want + n, sizeof want - n, "+00:00");
        assert_string_equal(got, want);
    }
    char small[26];
    sl_sched_iso(JAN1 + 5, small, sizeof small);
    assert_string_equal(small, "2024-01-01T00:00:00.005+0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_success), cmocka_unit_test(test_all_done),
        cmocka_unit_test(test_one_failed),  cmocka_unit_test(test_one_success),
        cmocka_unit_test(test_retry_delay), cmocka_unit_test(test_next_interval),
        cmocka_unit_test(test_names),       cmocka_unit_test(test_iso_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
