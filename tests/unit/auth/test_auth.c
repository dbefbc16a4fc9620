/* test_auth.c: secret redaction: URL userinfo (short, empty, with '@' and '/' in the password),
 * password= parameters in URL queries, libpq key=value strings (quoted too) and librdkafka
 * property lists, strings without secrets unchanged, and truncation after redaction. */
#include "auth/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const char *r(const char *s)
{
    static char out[256];
    return sl_auth_redact(s, out, sizeof out);
}

static void test_userinfo(void **st)
{
    (void)st;
    assert_string_equal(r("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
    assert_string_equal(r("cql://u:p@h:9042/ks.t"), "cql://u:***@h:9042/ks.t");
    assert_string_equal(r("cql://u:@h/ks.t"), "cql://u:***@h/ks.t");
    assert_string_equal(r("postgresql://u:p@ss/w@h/db"), "postgresql://u:***@h/db");
    assert_string_equal(r("postgresql://u@h/db"), "postgresql://u@h/db");
    assert_string_equal(r("http://127.0.0.1:8000/api/"), "http://127.0.0.1:8000/api/");
    assert_string_equal(r("127.0.0.1:9092"), "127.0.0.1:9092");
}

static void test_parameters(void **st)
{
    (void)st;
    assert_string_equal(r("postgresql://h/db?user=u&password=pw&sslmode=off"),
                        "postgresql://h/db?user=u&password=***&sslmode=off");
    assert_string_equal(r("host=h password=pw dbname=d"), "host=h password=*** dbname=d");
    assert_string_equal(r("host=h password='a b\\' c' dbname=d"), "host=h password=*** dbname=d");
    assert_string_equal(r("sasl.username=u,sasl.password=pw"), "sasl.username=u,sasl.password=***");
    assert_string_equal(r("PASSWORD=x"), "PASSWORD=***");
}

static void test_truncation(void **st)
{
    (void)st;
    char small[20];
    const char *s = "postgresql://user:secretsecret@host/db";
    assert_string_equal(sl_auth_redact(s, small, sizeof small), "postgresql://user:*");
    assert_null(strstr(sl_auth_redact(s, small, sizeof small), "sec"));
    char one[1];
    assert_string_equal(sl_auth_redact(s, one, sizeof one), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userinfo),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
