/* test_auth.c: secret redaction: URL userinfo (short, empty, with '@' and '/' in the password),
 * password= parameters in URL queries, libpq key=value strings (quoted too) and librdkafka
 * property lists, strings without secrets unchanged, and truncation after redaction; password
 * hashes: format, salted, right and wrong passwords, malformed hash strings refused; basic
 * credentials decoded (padding, colons in the password, bounds) or refused with the outputs
 * cleared; token comparison by length and content. */
#include "auth/auth.h"
#include "core/sl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static void test_hash(void **st)
{
    (void)st;
    char h[SL_AUTH_HASH_LEN], h2[SL_AUTH_HASH_LEN];
    assert_int_equal(sl_auth_hash("pw", 2, 1000, h), 0);
    assert_true(strncmp(h, "pbkdf2-sha256$1000$", 19) == 0);
    assert_int_equal(strlen(h), 19 + 32 + 1 + 64);
    assert_true(sl_auth_hash_valid(h));
    assert_true(sl_auth_verify(h, "pw", 2));
    assert_false(sl_auth_verify(h, "pW", 2));
    assert_false(sl_auth_verify(h, "pw", 1));
    assert_false(sl_auth_verify(h, "pwx", 3));
    /* A fresh salt each time: the same password never hashes to the same string. */
    assert_int_equal(sl_auth_hash("pw", 2, 1000, h2), 0);
    assert_string_not_equal(h, h2);
    assert_int_equal(sl_auth_hash("pw", 2, 0, h2), SL_ERR_INVAL);
    /* NUL inside a password is part of it (SASL PLAIN bytes). */
    assert_int_equal(sl_auth_hash("a\0b", 3, 10, h2), 0);
    assert_true(sl_auth_verify(h2, "a\0b", 3));
    assert_false(sl_auth_verify(h2, "a", 1));
}

static void test_malformed_hashes(void **st)
{
    (void)st;
    char h[SL_AUTH_HASH_LEN];
    sl_auth_hash("pw", 2, 10, h);
    const char *bad[] = {"",
                         "pw",
                         "pbkdf2-sha256$",
                         "pbkdf2-sha256$0$",
                         "pbkdf2-sha256$x$",
                         "pbkdf2-sha256$999999999999$00$00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(sl_auth_hash_valid(bad[i]));
        assert_false(sl_auth_verify(bad[i], "pw", 2));
    }
    char t[SL_AUTH_HASH_LEN + 8];
    snprintf(t, sizeof t, "%s", h);
    t[strlen(t) - 1] = 'G';
    assert_false(sl_auth_hash_valid(t));
    snprintf(t, sizeof t, "%sa", h);
    assert_false(sl_auth_hash_valid(t));
    snprintf(t, sizeof t, "%s", h);
    t[strlen(t) - 1] = '\0';
    assert_false(sl_auth_hash_valid(t));
}

static bool basic(const char *hdr, char *user, size_t ulen, char *pw, size_t pwlen)
{
    memset(user, 'x', ulen);
    memset(pw, 'x', pwlen);
    return sl_auth_basic_decode(hdr, user, ulen, pw, pwlen);
}

static void test_basic_decode(void **st)
{
    (void)st;
    char u[8], p[8];
    assert_true(basic("Basic dTpw", u, sizeof u, p, sizeof p)); /* u:p */
    assert_string_equal(u, "u");
    assert_string_equal(p, "p");
    assert_true(basic("basic   YWxpY2U6YTpi", u, sizeof u, p, sizeof p)); /* alice:a:b */
    assert_string_equal(u, "alice");
    assert_string_equal(p, "a:b");
    assert_true(basic("Basic Og==", u, sizeof u, p, sizeof p)); /* ":" */
    assert_string_equal(u, "");
    assert_string_equal(p, "");
    assert_true(basic("Basic YWI6Yw==", u, sizeof u, p, sizeof p)); /* ab:c, two pad bytes */
    assert_string_equal(p, "c");
    assert_true(basic("Basic YWI6Y2Q=", u, sizeof u, p, sizeof p)); /* ab:cd, one */
    assert_string_equal(p, "cd");
    /* refused: each leaves both outputs empty */
    static const char *const bad[] = {
        NULL,
        "",
        "Bearer dTpw",
        "Basic ",
        "Basic dTp",              /* not a multiple of 4 */
        "Basic dT*w",             /* not base64 */
        "Basic dXNlcg==",         /* "user": no colon */
        "Basic dQB4OnA=",         /* "u\0x:p": a NUL */
        "Basic YWJjZGVmZ2g6cA==", /* "abcdefgh:p": the user does not fit 8 bytes */
        "Basic dTphYmNkZWZnaA==", /* "u:abcdefgh": nor the password */
        "Basic ====",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (basic(bad[i], u, sizeof u, p, sizeof p)) fail_msg("accepted %s", bad[i]);
        assert_string_equal(u, "");
        assert_string_equal(p, "");
    }
    char big[4 + 6 + 4100];
    strcpy(big, "Basic ");
    memset(big + 6, 'Q', 4100);
    big[6 + 4100] = '\0';
    assert_false(basic(big, u, sizeof u, p, sizeof p));
}

static void test_token_equal(void **st)
{
    (void)st;
    assert_true(sl_auth_token_equal("abc123", "abc123"));
    assert_false(sl_auth_token_equal("abc12", "abc123"));
    assert_false(sl_auth_token_equal("abc1234", "abc123"));
    assert_false(sl_auth_token_equal("abc124", "abc123"));
    assert_false(sl_auth_token_equal("", "abc123"));
    assert_false(sl_auth_token_equal(NULL, "abc123"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userinfo),         cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_truncation),       cmocka_unit_test(test_hash),
        cmocka_unit_test(test_malformed_hashes), cmocka_unit_test(test_basic_decode),
        cmocka_unit_test(test_token_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
