/* test_cmd_topic.c: the argument handling of `sluice topic`. Every case here is rejected (exit 2,
 * one line on stderr) or answered (--help) before any connection is made, so no broker is
 * needed; tests/integration/test_0105_topic_cli.py drives the commands against one. */
#include "cli/commands.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char captured[4096];

/* Runs `sluice topic ARGS...` (NULL-terminated) with stdout and stderr captured into captured;
 * returns the exit status. */
static int run(const char *first, ...)
{
    char *argv[32] = {"topic"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);

    fflush(stdout);
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(fileno(tmp), 1);
    dup2(fileno(tmp), 2);
    int rc = sl_cmd_topic(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return rc;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void expect_usage_error(int rc, const char *needle)
{
    assert_int_equal(rc, 2);
    assert_int_equal(lines(captured), 1);
    if (!strstr(captured, needle)) fail_msg("expected '%s' in: %s", needle, captured);
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(run("--help", NULL), 0);
    assert_non_null(strstr(captured, "sluice topic"));
    assert_non_null(strstr(captured, "--partitions"));
    assert_non_null(strstr(captured, "--from-beginning"));
    assert_non_null(strstr(captured, "--config K=V"));
    assert_int_equal(run("consume", "t", "-h", NULL), 0);
}

static void test_verbs_and_topics(void **state)
{
    (void)state;
    expect_usage_error(run(NULL), "missing command");
    expect_usage_error(run("frobnicate", NULL), "unknown command 'frobnicate'");
    expect_usage_error(run("create", NULL), "create needs a topic name");
    expect_usage_error(run("describe", "--kafka", "h:1", NULL), "describe needs a topic name");
    expect_usage_error(run("list", "extra", NULL), "unexpected argument 'extra'");
    expect_usage_error(run("produce", "a", "b", NULL), "unexpected argument 'b'");
    expect_usage_error(run("consume", "", NULL), "empty topic name");
}

static void test_unknown_and_misplaced_flags(void **state)
{
    (void)state;
    expect_usage_error(run("--no-such-flag", "1", NULL), "--no-such-flag");
    expect_usage_error(run("list", "-x", NULL), "unknown flag '-x'");
    expect_usage_error(run("--", "list", NULL), "unknown flag '--'");
    expect_usage_error(run("consume", "t", "--key", "k", NULL), "--key' does not apply");
    expect_usage_error(run("list", "--partitions", "3", NULL), "does not apply to list");
    expect_usage_error(run("produce", "t", "--config", "a=b", NULL), "does not apply");
    expect_usage_error(run("create", "t", "--from-beginning", NULL), "does not apply");
}

static void test_flag_values(void **state)
{
    (void)state;
    expect_usage_error(run("create", "t", "--partitions", "0", NULL), "partitions");
    expect_usage_error(run("create", "t", "--partitions=abc", NULL), "partitions");
    expect_usage_error(run("create", "t", "--partitions", NULL), "needs a value");
    expect_usage_error(run("create", "t", "--config", "noequals", NULL), "K=V");
    expect_usage_error(run("create", "t", "--config", "=v", NULL), "K=V");
    expect_usage_error(run("produce", "t", "--count", "0", NULL), "count");
    expect_usage_error(run("consume", "t", "--count", "-5", NULL), "count");
    expect_usage_error(run("consume", "t", "--timeout", "5parsecs", NULL), "timeout");
    expect_usage_error(run("list", "--kafka", "", NULL), "kafka");
    expect_usage_error(run("list", "--kafka", NULL), "needs a value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_verbs_and_topics),
        cmocka_unit_test(test_unknown_and_misplaced_flags),
        cmocka_unit_test(test_flag_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
