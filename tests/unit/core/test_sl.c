/* test_sl.c: status strings, allocation wrappers, clocks, the host:port, duration and size
 * parsers at their edges, and the file helpers. */
#include "core/sl.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(sl_strerror(0), "ok");
    assert_string_equal(sl_strerror(SL_ERR_TOOBIG), "over the size limit");
    assert_string_equal(sl_strerror(SL_AGAIN), "incomplete input");
    assert_string_equal(sl_strerror(-ENOENT), "No such file or directory");
    assert_string_equal(sl_strerror(-ECONNRESET), "Connection reset by peer");
    assert_string_equal(sl_strerror(-19999), "unknown error");
    assert_string_equal(sl_strerror(12345), "unknown error");
    /* Every SL_ERR_* code has its own text. */
    for (int rc = SL_ERR_PARSE; rc >= SL_ERR_UNSUPPORTED; rc--)
        assert_string_not_equal(sl_strerror(rc), "unknown error");
}

static void test_alloc(void **state)
{
    (void)state;
    char *p = sl_malloc(0);
    assert_non_null(p);
    sl_free(p);
    int *z = sl_calloc(16, sizeof(int));
    for (int i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    z = sl_realloc(z, 1000 * sizeof(int));
    assert_int_equal(z[15], 0);
    sl_free(z);
    char *s = sl_strdup("sluice");
    assert_string_equal(s, "sluice");
    sl_free(s);
    s = sl_strndup("sluice", 3);
    assert_string_equal(s, "slu");
    sl_free(s);
    s = sl_strndup("ab", 10);
    assert_string_equal(s, "ab");
    sl_free(s);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t wall = sl_now_ms();
    assert_true(wall / 1000 - (int64_t)time(NULL) <= 1);
    assert_true(wall > 1600000000000LL);
    int64_t m1 = sl_mono_ms();
    uint64_t n1 = sl_mono_ns();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_true(sl_mono_ms() - m1 >= 20);
    assert_true(sl_mono_ns() - n1 >= 20000000u);
}

static void test_hostport(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(sl_hostport_parse("127.0.0.1:9092", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9092);
    assert_int_equal(sl_hostport_parse("localhost:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 0);
    assert_int_equal(sl_hostport_parse("[::1]:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    assert_int_equal(sl_hostport_parse("[fe80::1%eth0]:80", host, sizeof host, &port), 0);
    assert_string_equal(host, "fe80::1%eth0");

    static const char *const bad[] = {
        "",        "localhost", "localhost:", ":9092",  "host:65536",
        "host:-1", "host:80x",  "host: 80",   "::1:80", "[::1]80",
        "[::1]",   "[]:80",     "[::1:80",    "a b:80", "host:99999999999999999999999",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        port = -7;
        assert_int_equal(sl_hostport_parse(bad[i], host, sizeof host, &port), SL_ERR_INVAL);
        assert_int_equal(port, -7);
    }
    assert_int_equal(sl_hostport_parse(NULL, host, sizeof host, &port), SL_ERR_INVAL);
    /* A host that does not fit is refused, not truncated. */
    char small[5];
    assert_int_equal(sl_hostport_parse("abcd:1", small, sizeof small, &port), 0);
    assert_int_equal(sl_hostport_parse("abcde:1", small, sizeof small, &port), SL_ERR_INVAL);
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"0", 0},        {"250", 250},
        {"250ms", 250},  {"30s", 30000},
        {"5m", 300000},  {"5min", 300000},
        {"2h", 7200000}, {"7d", 604800000},
        {"0s", 0},       {"9223372036854775807", INT64_MAX},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        int64_t v = -1;
        assert_int_equal(sl_parse_duration_ms(ok[i].s, &v), 0);
        assert_true(v == ok[i].ms);
    }
    static const char *const bad[] = {
        "",
        "s",
        "-5s",
        "5 s",
        "5x",
        "5sec",
        "1.5s",
        " 5s",
        "5s ",
        "9223372036854775808",
        "106751991167301d",
        "abc",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        int64_t v = -1;
        assert_int_equal(sl_parse_duration_ms(bad[i], &v), SL_ERR_INVAL);
        assert_int_equal(v, -1);
    }
    int64_t v;
    assert_int_equal(sl_parse_duration_ms(NULL, &v), SL_ERR_INVAL);
}

static void test_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t n;
    } ok[] = {
        {"0", 0},
        {"512", 512},
        {"512b", 512},
        {"64k", 64 << 10},
        {"64K", 64 << 10},
        {"64kb", 64 << 10},
        {"64KiB", 64 << 10},
        {"100MiB", 100ll << 20},
        {"100m", 100ll << 20},
        {"1g", 1ll << 30},
        {"1GB", 1ll << 30},
        {"2t", 2ll << 40},
        {"8388607t", 8388607ll << 40},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        int64_t v = -1;
        assert_int_equal(sl_parse_size(ok[i].s, &v), 0);
        assert_true(v == ok[i].n);
    }
    static const char *const bad[] = {
        "",
        "k",
        "-1",
        "1.5m",
        "64 k",
        "64kk",
        "64kib2",
        "64x",
        "64bb",
        "8388608t",
        "99999999999999999999",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        int64_t v = -1;
        assert_int_equal(sl_parse_size(bad[i], &v), SL_ERR_INVAL);
        assert_int_equal(v, -1);
    }
}

static void test_mkdirs(void **state)
{
    (void)state;
    char root[] = "/tmp/sl-mkdirs-XXXXXX", path[256], file[256];
    assert_non_null(mkdtemp(root));
    snprintf(path, sizeof path, "%s/a/b/c", root);
    assert_int_equal(sl_mkdirs(path, 0700), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(sl_mkdirs(path, 0755), 0); /* already there */
    snprintf(file, sizeof file, "%s/f", root);  /* a file where a parent should be */
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/f/x", root);
    assert_int_equal(sl_mkdirs(path, 0755), -ENOTDIR);
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(sl_mkdirs(longp, 0755), -ENAMETOOLONG);
    unlink(file);
    snprintf(path, sizeof path, "rm -r %s", root);
    assert_int_equal(system(path), 0);
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char root[] = "/tmp/sl-atomic-XXXXXX", path[256], tmp[300], buf[64];
    assert_non_null(mkdtemp(root));
    snprintf(path, sizeof path, "%s/state", root);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(sl_write_file_atomic(path, "first\n", 6, 0600, true), 0);
    assert_int_equal(sl_write_file_atomic(path, "second\n", 7, 0600, false), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "second\n", 7);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(tmp, &st), -1); /* no temp file left behind */
    /* A path whose directory does not exist: an error, and the old contents untouched. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such", root);
    assert_int_equal(sl_write_file_atomic(missing, "x", 1, 0644, true), -ENOENT);
    /* A directory where the file should be: rename fails, the temp file is removed. */
    char dir[300], dirtmp[320];
    snprintf(dir, sizeof dir, "%s/d", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dirtmp, sizeof dirtmp, "%s.tmp", dir);
    assert_int_equal(sl_write_file_atomic(dir, "x", 1, 0644, true), -EISDIR);
    assert_int_equal(stat(dirtmp, &st), -1);
    /* sl_read_file: the whole file, NUL-terminated; over max is SL_ERR_TOOBIG; errors -errno */
    char *text;
    size_t len;
    assert_int_equal(sl_read_file(path, 7, &text, &len), 0);
    assert_int_equal(len, 7);
    assert_string_equal(text, "second\n");
    sl_free(text);
    assert_int_equal(sl_read_file(path, 6, &text, &len), SL_ERR_TOOBIG);
    assert_null(text);
    assert_int_equal(sl_read_file(missing, 100, &text, &len), -ENOENT);
    char big[300];
    snprintf(big, sizeof big, "%s/big", root);
    static char block[10000];
    memset(block, 'x', sizeof block);
    assert_int_equal(sl_write_file_atomic(big, block, sizeof block, 0600, false), 0);
    assert_int_equal(sl_read_file(big, sizeof block, &text, &len), 0);
    assert_int_equal(len, sizeof block);
    assert_memory_equal(text, block, sizeof block);
    sl_free(text);
    assert_int_equal(sl_read_file(big, sizeof block - 1, &text, &len), SL_ERR_TOOBIG);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -r %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror), cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_clocks),   cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_duration), cmocka_unit_test(test_size),
        cmocka_unit_test(test_mkdirs),   cmocka_unit_test(test_write_file_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
