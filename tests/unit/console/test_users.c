/* test_users.c: the console's users file: the first-start admin and its password, PBKDF2
 * verification (right, wrong, unknown user), adding, replacing and deleting users (never the
 * last admin), bad names and passwords, the file's format and mode, reloading it, and a
 * corrupt line named by file:line; plus role names and random passwords. */
#include "console/users.h"

#include "core/sl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sluice-test-users-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static char *read_file(const char *name)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_first_start_and_verify(void **state)
{
    (void)state;
    sl_users *u = NULL;
    char pw[64], err[256];
    assert_int_equal(sl_users_open(dir, &u, pw, sizeof pw, err, sizeof err), 0);
    assert_int_equal(strlen(pw), 24);
    assert_int_equal(sl_users_verify(u, "admin", pw), SL_ROLE_ADMIN);
    assert_int_equal(sl_users_verify(u, "admin", "wrong"), SL_ROLE_NONE);
    assert_int_equal(sl_users_verify(u, "nobody", pw), SL_ROLE_NONE);
    assert_int_equal(sl_users_verify(u, "admin", ""), SL_ROLE_NONE);
    char *text = read_file("users");
    assert_non_null(text);
    assert_null(strstr(text, pw)); /* only the hash is stored */
    assert_non_null(strstr(text, "\nadmin admin pbkdf2-sha256 100000 "));
    char path[300];
    snprintf(path, sizeof path, "%s/users", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sl_users_free(u);

    /* A second open loads the file and prints no password. */
    char again[64];
    assert_int_equal(sl_users_open(dir, &u, again, sizeof again, err, sizeof err), 0);
    assert_string_equal(again, "");
    assert_int_equal(sl_users_verify(u, "admin", pw), SL_ROLE_ADMIN);
    sl_users_free(u);
}

static void count_user(void *arg, const char *name, sl_role role)
{
    (void)name;
    (void)role;
    (*(int *)arg)++;
}

static void test_set_delete(void **state)
{
    (void)state;
    sl_users *u = NULL;
    char pw[64], err[256];
    assert_int_equal(sl_users_open(dir, &u, pw, sizeof pw, err, sizeof err), 0);
    assert_int_equal(sl_users_set(u, "ann", "ann-pw", SL_ROLE_VIEWER), 0);
    assert_int_equal(sl_users_verify(u, "ann", "ann-pw"), SL_ROLE_VIEWER);
    assert_int_equal(sl_users_role(u, "ann"), SL_ROLE_VIEWER);
    /* Replacing keeps one entry, with the new password and role. */
    assert_int_equal(sl_users_set(u, "ann", "new-pw", SL_ROLE_ADMIN), 0);
    assert_int_equal(sl_users_verify(u, "ann", "ann-pw"), SL_ROLE_NONE);
    assert_int_equal(sl_users_verify(u, "ann", "new-pw"), SL_ROLE_ADMIN);
    int n = 0;
    sl_users_each(u, count_user, &n);
    assert_int_equal(n, 2);
    /* Bad input. */
    assert_int_equal(sl_users_set(u, "", "x", SL_ROLE_VIEWER), SL_ERR_INVAL);
    assert_int_equal(sl_users_set(u, "a b", "x", SL_ROLE_VIEWER), SL_ERR_INVAL);
    assert_int_equal(sl_users_set(u, "a\nb", "x", SL_ROLE_VIEWER), SL_ERR_INVAL);
    assert_int_equal(sl_users_set(u, "ok", "", SL_ROLE_VIEWER), SL_ERR_INVAL);
    assert_int_equal(sl_users_set(u, "ok", "x", SL_ROLE_NONE), SL_ERR_INVAL);
    char longname[SL_USERS_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(sl_users_set(u, longname, "x", SL_ROLE_VIEWER), SL_ERR_INVAL);
    char *longpw = malloc(SL_USERS_PASSWORD_MAX + 2);
    memset(longpw, 'p', SL_USERS_PASSWORD_MAX + 1);
    longpw[SL_USERS_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(sl_users_set(u, "ok", longpw, SL_ROLE_VIEWER), SL_ERR_INVAL);
    free(longpw);
    /* Deleting: unknown, then admins until one is left. */
    assert_int_equal(sl_users_delete(u, "nobody"), SL_ERR_NOTFOUND);
    assert_int_equal(sl_users_delete(u, "admin"), 0);
    assert_int_equal(sl_users_delete(u, "ann"), SL_ERR_INVAL); /* the last admin */
    assert_int_equal(sl_users_role(u, "admin"), SL_ROLE_NONE);
    sl_users_free(u);
    /* What was saved is what a reload sees. */
    assert_int_equal(sl_users_open(dir, &u, pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "");
    assert_int_equal(sl_users_verify(u, "ann", "new-pw"), SL_ROLE_ADMIN);
    assert_int_equal(sl_users_role(u, "admin"), SL_ROLE_NONE);
    sl_users_free(u);
}

static void test_corrupt_file(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "admin admin\n",
        "admin root pbkdf2-sha256 100000 00112233445566778899aabbccddeeff "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "admin admin md5 100000 00112233445566778899aabbccddeeff "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "admin admin pbkdf2-sha256 10 00112233445566778899aabbccddeeff "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "admin admin pbkdf2-sha256 100000 0011zz "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "a%b admin pbkdf2-sha256 100000 00112233445566778899aabbccddeeff "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/users", dir);
        FILE *f = fopen(path, "w");
        fprintf(f, "# comment\n%s", bad[i]);
        fclose(f);
        sl_users *u = NULL;
        char pw[64], err[512];
        assert_int_equal(sl_users_open(dir, &u, pw, sizeof pw, err, sizeof err), SL_ERR_CONFIG);
        assert_non_null(strstr(err, "users:2: not a user line"));
        assert_null(u);
    }
}

static void test_roles_and_random(void **state)
{
    (void)state;
    assert_string_equal(sl_role_name(SL_ROLE_ADMIN), "admin");
    assert_string_equal(sl_role_name(SL_ROLE_VIEWER), "viewer");
    assert_int_equal(sl_role_parse("viewer"), SL_ROLE_VIEWER);
    assert_int_equal(sl_role_parse("Admin"), SL_ROLE_NONE);
    assert_int_equal(sl_role_parse(NULL), SL_ROLE_NONE);
    char a[32], b[32], h[65];
    sl_users_random_password(a);
    sl_users_random_password(b);
    assert_int_equal(strlen(a), 24);
    assert_string_not_equal(a, b);
    for (const char *p = a; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    sl_random_hex(h, 32);
    assert_int_equal(strlen(h), 64);
    assert_int_equal(strspn(h, "0123456789abcdef"), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
        cmocka_unit_test(test_roles_and_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
