/* test_log.c: line format (UTC timestamp, level, subsystem, context), level filtering without
 * evaluating arguments, per-site rate limiting with the suppressed count, newline scrubbing,
 * truncation of long lines, and whole lines from concurrent threads. */
#include "core/log.h"
#include "core/sl.h"

#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static int capture_fd = -1;

/* Points the logger at a fresh temp file and returns its fd. */
static int capture_start(void)
{
    char path[] = "/tmp/sl_test_log_XXXXXX";
    capture_fd = mkstemp(path);
    assert_true(capture_fd >= 0);
    unlink(path);
    sl_log_set_fd(capture_fd);
    return capture_fd;
}

/* Returns everything logged since capture_start (malloc'd) and restores stderr. */
static char *capture_end(void)
{
    sl_log_set_fd(2);
    off_t n = lseek(capture_fd, 0, SEEK_END);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(pread(capture_fd, s, (size_t)n, 0), n);
    s[n] = '\0';
    close(capture_fd);
    capture_fd = -1;
    return s;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(sl_log_level_parse("error"), SL_LOG_ERROR);
    assert_int_equal(sl_log_level_parse("warn"), SL_LOG_WARN);
    assert_int_equal(sl_log_level_parse("warning"), SL_LOG_WARN);
    assert_int_equal(sl_log_level_parse("INFO"), SL_LOG_INFO);
    assert_int_equal(sl_log_level_parse("debug"), SL_LOG_DEBUG);
    assert_int_equal(sl_log_level_parse("trace"), SL_LOG_TRACE);
    assert_int_equal(sl_log_level_parse("loud"), -1);
    assert_int_equal(sl_log_level_parse(""), -1);
    assert_int_equal(sl_log_level_parse(NULL), -1);
}

static void test_line_format(void **state)
{
    (void)state;
    sl_log_level = SL_LOG_INFO;
    capture_start();
    SL_INFO("kafka", "listening on %s:%d", "127.0.0.1", 9092);
    sl_log(SL_LOG_WARN, "cql", "127.0.0.1:51234", "bad frame opcode %d", 99);
    SL_ERROR("core", "boom");
    char *out = capture_end();

    regex_t re;
    const char *pat = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                      "INFO  kafka listening on 127\\.0\\.0\\.1:9092\n"
                      "[0-9T:.Z-]{24} WARN  cql \\[127\\.0\\.0\\.1:51234\\] bad frame opcode 99\n"
                      "[0-9T:.Z-]{24} ERROR core boom\n$";
    assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NEWLINE), 0);
    if (regexec(&re, out, 0, NULL, 0) != 0) fail_msg("unexpected log output:\n%s", out);
    regfree(&re);

    /* The timestamp is UTC and current. */
    struct tm tm = {0};
    char *end = strptime(out, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(end);
    time_t t = timegm(&tm);
    assert_true(llabs((long long)(t - time(NULL))) <= 2);
    free(out);
}

static int evaluated;
static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void test_level_filter(void **state)
{
    (void)state;
    sl_log_level = SL_LOG_WARN;
    evaluated = 0;
    capture_start();
    SL_INFO("core", "hidden %d", side_effect());
    SL_DEBUG("core", "hidden %d", side_effect());
    SL_TRACE("core", "hidden %d", side_effect());
    SL_WARN("core", "shown %d", side_effect());
    char *out = capture_end();
    assert_int_equal(evaluated, 1);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "WARN  core shown 1"));
    free(out);

    sl_log_level = SL_LOG_TRACE;
    capture_start();
    SL_TRACE("core", "trace on");
    out = capture_end();
    assert_non_null(strstr(out, "TRACE core trace on"));
    free(out);
    sl_log_level = SL_LOG_INFO;
}

static void log_site_a(int i)
{
    SL_WARN("net", "accept failed: %d", i);
}
static void log_site_b(int i)
{
    SL_WARN("net", "accept failed: %d", i);
}

static void test_rate_limit(void **state)
{
    (void)state;
    capture_start();
    for (int i = 0; i < 25; i++)
        log_site_a(i);
    char *out = capture_end();
    /* SL_LOG_BURST lines pass within the second; the rest are counted. */
    assert_int_equal(count_lines(out), SL_LOG_BURST);
    assert_null(strstr(out, "suppressed"));
    free(out);

    /* Another call site (a distinct fmt pointer even with equal text) has its own budget,
     * unless the compiler merged the two identical literals. */
    capture_start();
    log_site_b(0);
    out = capture_end();
    int merged = count_lines(out) == 0;
    free(out);

    struct timespec ts = {1, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    capture_start();
    log_site_a(99);
    out = capture_end();
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, merged ? "accept failed: 99 (16 similar messages suppressed)\n"
                                       : "accept failed: 99 (15 similar messages suppressed)\n"));
    free(out);

    /* The count is reported once. */
    capture_start();
    log_site_a(100);
    out = capture_end();
    assert_null(strstr(out, "suppressed"));
    free(out);
}

static void test_scrub_and_truncate(void **state)
{
    (void)state;
    capture_start();
    SL_INFO("http", "path %s", "/a\nFAKE ERROR line\r");
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    SL_INFO("http", "big %s", big);
    free(big);
    char *out = capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "path /a FAKE ERROR line \n"));
    char *second = strchr(out, '\n') + 1;
    size_t len = strlen(second);
    assert_true(len <= 8192);
    assert_true(len > 8000);
    assert_memory_equal(second + len - 4, "...\n", 4);
    free(out);
}

#define THREADS    4
#define PER_THREAD 200

static void *thread_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    char payload[300];
    memset(payload, 'a' + id, sizeof payload - 1);
    payload[sizeof payload - 1] = '\0';
    /* Each line gets its own fmt pointer, so the rate limiter (keyed on it) passes them all. */
    static char fmts[THREADS][PER_THREAD][8];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(fmts[id][i], sizeof fmts[id][i], "%%s %d", i % 10);
        sl__log(SL_LOG_INFO, "thr", NULL, fmts[id][i], payload);
    }
    return NULL;
}

static void test_threads_whole_lines(void **state)
{
    (void)state;
    capture_start();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = capture_end();
    assert_int_equal(count_lines(out), THREADS * PER_THREAD);
    /* Every line carries one thread's payload uninterrupted. */
    for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        char *p = strstr(line, " thr ");
        assert_non_null(p);
        p += 5;
        char c = *p;
        for (int k = 0; k < 299; k++)
            assert_int_equal(p[k], c);
        assert_int_equal(p[299], ' ');
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_level_filter),       cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_scrub_and_truncate), cmocka_unit_test(test_threads_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
