/* test_randomuser.c: the generator's determinism, parameter parsing (randomuser's lenient rules),
 * per-nationality formats, inc/exc/noinfo, pretty JSON and CSV, and its speed. */
#include "pipeline/randomuser.h"

#include "pipeline/randomuser_int.h"

#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static bool matches(const char *re, const char *s)
{
    regex_t r;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    if (!ok) fprintf(stderr, "\"%s\" does not match /%s/\n", s, re);
    return ok;
}

static void params(sl_ru_params *p, const char *const *kv)
{
    sl_ru_params_init(p);
    for (; kv[0] != NULL; kv += 2)
        sl_ru_params_set(p, kv[0], kv[1]);
    sl_ru_params_finish(p, 0x0123456789abcdefULL);
}

static json_t *render_json(const char *const *kv)
{
    sl_ru_params p;
    params(&p, kv);
    sl_buf b = SL_BUF_INIT;
    const char *ct = sl_ru_render(&p, &b);
    assert_non_null(strstr(ct, "json"));
    json_error_t err;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &err);
    if (j == NULL) fprintf(stderr, "bad JSON: %s at %d\n", err.text, err.position);
    assert_non_null(j);
    sl_buf_free(&b);
    return j;
}

static void test_determinism(void **state)
{
    (void)state;
    const char *kv[] = {"seed", "abc", "page", "3", "results", "300", NULL};
    sl_ru_params p;
    params(&p, kv);
    sl_buf a = SL_BUF_INIT, b = SL_BUF_INIT;
    sl_ru_render(&p, &a);
    sl_ru_render(&p, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* Another page, another seed: other users. */
    sl_buf c = SL_BUF_INIT;
    p.page = 4;
    sl_ru_render(&p, &c);
    assert_false(c.len == a.len && !memcmp(c.ptr, a.ptr, a.len));
    sl_buf_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&c);

    /* A user does not depend on which fields are rendered. */
    sl_ru_gen g1, g2;
    sl_ru_user u1, u2;
    sl_ru_gen_init(&g1, "x", 1, 1);
    sl_ru_gen_init(&g2, "x", 1, 1);
    for (int i = 0; i < 100; i++) {
        sl_ru_gen_user(&g1, 0, SL_RU_ANY, true, &u1);
        sl_ru_gen_user(&g2, 0, SL_RU_ANY, false, &u2);
        assert_string_equal(u1.uuid, u2.uuid);
        assert_string_equal(u1.phone, u2.phone);
    }
}

static void test_params(void **state)
{
    (void)state;
    sl_ru_params p;
    const char *d[] = {NULL};
    params(&p, d);
    assert_int_equal(p.results, 1);
    assert_int_equal(p.page, 1);
    assert_false(p.seed_given);
    assert_string_equal(p.seed, "fedcba9876543210");
    assert_int_equal(sl_ru_params_fields(&p), SL_RU_F_ALL);

    struct {
        const char *v;
        int want;
    } results[] = {{"1", 1},
                   {"5000", 5000},
                   {"5001", 1},
                   {"0", 1},
                   {"-4", 1},
                   {"abc", 1},
                   {"", 1},
                   {"7x", 7},
                   {" 9", 9},
                   {"+3", 3},
                   {"99999999999999999999", 1}};
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        sl_ru_params_init(&p);
        sl_ru_params_set(&p, "results", results[i].v);
        assert_int_equal(p.results, results[i].want);
    }
    sl_ru_params_init(&p);
    sl_ru_params_set(&p, "page", "10001");
    assert_int_equal(p.page, 1);
    sl_ru_params_set(&p, "page", "10000");
    assert_int_equal(p.page, 10000);

    const char *kv[] = {"seed",    "s",
                        "gender",  "FEMALE",
                        "nat",     "us, fr,XX,gb",
                        "inc",     "name,email,login,bogus",
                        "exc",     "login",
                        "noinfo",  "",
                        "fmt",     "csv",
                        "unknown", "1",
                        NULL};
    params(&p, kv);
    assert_true(p.seed_given);
    assert_string_equal(p.seed, "s");
    assert_int_equal(p.gender, SL_RU_FEMALE);
    assert_int_equal(p.nats, (1u << sl_ru_nat_index("US", 2)) | (1u << sl_ru_nat_index("FR", 2)) |
                                 (1u << sl_ru_nat_index("GB", 2)));
    assert_int_equal(sl_ru_params_fields(&p), SL_RU_F_NAME | SL_RU_F_EMAIL);
    assert_true(p.noinfo);
    assert_int_equal(p.format, SL_RU_CSV);

    sl_ru_params_set(&p, "format", "prettyjson");
    assert_int_equal(p.format, SL_RU_PRETTY);
    sl_ru_params_set(&p, "format", "yaml");
    assert_int_equal(p.format, SL_RU_JSON);
    sl_ru_params_set(&p, "gender", "x");
    assert_int_equal(p.gender, SL_RU_ANY);

    /* A long seed is cut, never overflows. */
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sl_ru_params_set(&p, "seed", big);
    assert_int_equal(p.seed_len, SL_RU_SEED_MAX);

    assert_int_equal(sl_ru_nat_index("ua", 2), 19);
    assert_int_equal(sl_ru_nat_index("u", 1), -1);
    assert_string_equal(sl_ru_nat_code(0), "AU");
    assert_null(sl_ru_nat_code(21));
    assert_int_equal(sl_ru_field_bit("Login", 5), SL_RU_F_LOGIN);
    assert_int_equal(sl_ru_field_bit("logi", 4), 0);
}

/* Per nationality: postcode type and form, id name and form (null for IR NZ TR UA). */
static const struct {
    const char *nat;
    const char *postcode; /* NULL: an integer in [lo, hi] */
    int lo, hi;
    const char *id_name, *id_re, *phone_re;
} formats[] = {
    {"AU", NULL, 200, 9999, "TFN", "^[0-9]{9}$", "^0[0-9]-[0-9]{4}-[0-9]{4}$"},
    {"BR", NULL, 10000, 99999, "CPF", "^[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}-[0-9]{2}$",
     "^\\([0-9]{2}\\) [0-9]{4}-[0-9]{4}$"},
    {"CA", "^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$", 0, 0, "SIN", "^[0-9]{9}$",
     "^[1-9][0-9]{2}-[1-9][0-9]{2}-[0-9]{4}$"},
    {"CH", NULL, 1000, 9999, "AVS", "^756\\.[0-9]{4}\\.[0-9]{4}\\.[0-9]{2}$",
     "^0[0-9]{2} [0-9]{3} [0-9]{2} [0-9]{2}$"},
    {"DE", NULL, 10000, 99999, "SVNR", "^[0-9]{2} [0-9]{6} [A-Z] [0-9]{3}$",
     "^0[0-9]{3}-[0-9]{7}$"},
    {"DK", NULL, 1000, 9999, "CPR", "^[0-9]{6}-[0-9]{4}$", "^[1-9][0-9]{7}$"},
    {"ES", NULL, 10000, 99999, "DNI", "^[0-9]{8}-[A-Z]$", "^9[0-9]{2}-[0-9]{3}-[0-9]{3}$"},
    {"FI", NULL, 10000, 99999, "HETU", "^[0-9]{6}-[0-9]{3}[A-Z]$", "^0[0-9]-[0-9]{3}-[0-9]{3}$"},
    {"FR", NULL, 10000, 99999, "INSEE", "^[1-9][0-9]{12} [0-9]{2}$", "^0[1-9](-[0-9]{2}){4}$"},
    {"GB", "^[A-Z][0-9]{2} [0-9][A-Z]{2}$", 0, 0, "NINO",
     "^[A-Z]{2} [0-9]{2} [0-9]{2} [0-9]{2} [A-Z]$", "^0[0-9 ]+$"},
    {"IE", NULL, 10000, 99999, "PPS", "^[0-9]{7}[A-Z]$", "^0[0-9]{2}-[0-9]{3}-[0-9]{4}$"},
    {"IN", NULL, 100000, 999999, "UIDAI", "^[1-9][0-9]{11}$", "^[1-9][0-9]{9}$"},
    {"IR", NULL, 10000, 99999, "", NULL, "^0[1-9][0-9]-[0-9]{8}$"},
    {"MX", NULL, 10000, 99999, "NSS", "^[0-9]{2} [0-9]{2} [0-9]{2} [0-9]{4} [0-9]$",
     "^\\([1-9][0-9]{2}\\) [0-9]{3} [0-9]{4}$"},
    {"NL", "^[1-9][0-9]{3} [A-Z]{2}$", 0, 0, "BSN", "^[0-9]{8}$", "^\\(0[0-9]{3}\\) [0-9]{6}$"},
    {"NO", "^[0-9]{4}$", 0, 0, "FN", "^[0-9]{11}$", "^[1-9][0-9]{7}$"},
    {"NZ", NULL, 1000, 9999, "", NULL, "^\\(0[0-9]{2}\\)-[0-9]{3}-[0-9]{4}$"},
    {"RS", NULL, 10000, 99999, "SID", "^[0-9]{9}$", "^0[0-9]{2}-[0-9]{4}-[0-9]{3}$"},
    {"TR", NULL, 10000, 99999, "", NULL, "^\\([1-9][0-9]{2}\\)-[0-9]{3}-[0-9]{4}$"},
    {"UA", NULL, 10000, 99999, "", NULL, "^\\(0[0-9]{2}\\) [0-9]{3}-[0-9]{2}-[0-9]{2}$"},
    {"US", NULL, 10000, 99999, "SSN", "^[0-9]{3}-[0-9]{2}-[0-9]{4}$",
     "^\\([1-9][0-9]{2}\\) [1-9][0-9]{2}-[0-9]{4}$"},
};

static void test_nationality_formats(void **state)
{
    (void)state;
    assert_int_equal(sizeof(formats) / sizeof(formats[0]), SL_RU_NNAT);
    for (size_t k = 0; k < SL_RU_NNAT; k++) {
        int nat = sl_ru_nat_index(formats[k].nat, 2);
        assert_int_equal(nat, (int)k);
        sl_ru_gen g;
        sl_ru_gen_init(&g, formats[k].nat, 2, 1);
        for (int i = 0; i < 300; i++) {
            sl_ru_user u;
            sl_ru_gen_user(&g, 1u << nat, SL_RU_ANY, true, &u);
            assert_int_equal(u.nat, nat);
            if (formats[k].postcode) {
                assert_false(u.postcode_is_int);
                assert_true(matches(formats[k].postcode, u.postcode));
            } else {
                assert_true(u.postcode_is_int);
                assert_in_range(u.postcode_int, formats[k].lo, formats[k].hi);
            }
            assert_string_equal(u.id_name, formats[k].id_name);
            if (formats[k].id_re)
                assert_true(matches(formats[k].id_re, u.id_value));
            else
                assert_true(u.id_null);
            assert_true(matches(formats[k].phone_re, u.phone));
            assert_true(matches("^[a-z0-9-]+\\.[a-z0-9-]+@example\\.com$", u.email));
            assert_true(matches("^[a-z]+[0-9]{3}$", u.username));
            assert_true(matches("^[0-9a-f]{32}$", u.md5));
            assert_true(matches("^[0-9a-f]{40}$", u.sha1));
            assert_true(matches("^[0-9a-f]{64}$", u.sha256));
            assert_true(u.dob_age >= 21 && u.dob_age <= 77);
            assert_true(strcmp(u.registered, "2002-03-21") >= 0);
            assert_true(strcmp(u.registered, "2026-01-01") < 0);
            assert_in_range(u.street_number, 1, 9999);
            assert_in_range(u.picture, 0, u.female ? 96 : 99);
            assert_string_equal(u.title, u.female ? u.title : "Mr");
        }
    }
}

static void test_email_transliteration(void **state)
{
    (void)state;
    /* Find users with non-ASCII names in each script and check their addresses. */
    const char *nats[] = {"UA", "IR", "RS", "TR", "DE", "NO"};
    for (size_t k = 0; k < 6; k++) {
        sl_ru_gen g;
        sl_ru_gen_init(&g, "t", 1, 1);
        int nat = sl_ru_nat_index(nats[k], 2);
        for (int i = 0; i < 200; i++) {
            sl_ru_user u;
            sl_ru_gen_user(&g, 1u << nat, SL_RU_ANY, false, &u);
            assert_true(matches("^[a-z0-9-]+\\.[a-z0-9-]+@example\\.com$", u.email));
            assert_true(strlen(u.email) > strlen(".@example.com") + 2);
        }
    }
    sl_ru_gen g;
    sl_ru_gen_init(&g, "t", 1, 1);
    int ua = sl_ru_nat_index("UA", 2);
    for (int i = 0; i < 500; i++) {
        sl_ru_user u;
        sl_ru_gen_user(&g, 1u << ua, SL_RU_ANY, false, &u);
        if (!strcmp(u.first, "Ярослав") && !strcmp(u.last, "Шевченко"))
            assert_string_equal(u.email, "yaroslav.shevchenko@example.com");
        if (!strcmp(u.first, "Олександр")) assert_non_null(strstr(u.email, "oleksandr."));
    }
}

static void test_inc_exc_noinfo(void **state)
{
    (void)state;
    const char *all[] = {"seed", "f", "results", "3", NULL};
    json_t *j = render_json(all);
    json_t *u = json_array_get(json_object_get(j, "results"), 0);
    assert_int_equal(json_object_size(u), 12);
    assert_non_null(json_object_get(j, "info"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "info"), "seed")),
                        "f");

    const char *inc[] = {"seed", "f", "results", "3", "inc", "gender,nat,id", "noinfo", "", NULL};
    json_t *j2 = render_json(inc);
    json_t *u2 = json_array_get(json_object_get(j2, "results"), 0);
    assert_int_equal(json_object_size(u2), 3);
    assert_non_null(json_object_get(u2, "gender"));
    assert_non_null(json_object_get(u2, "id"));
    assert_null(json_object_get(u2, "email"));
    assert_null(json_object_get(j2, "info"));
    /* The same user, fewer fields. */
    assert_true(json_equal(json_object_get(u, "nat"), json_object_get(u2, "nat")));
    assert_true(json_equal(json_object_get(u, "id"), json_object_get(u2, "id")));

    const char *exc[] = {"seed", "f", "results", "3", "exc", "login,picture", NULL};
    json_t *j3 = render_json(exc);
    json_t *u3 = json_array_get(json_object_get(j3, "results"), 2);
    assert_int_equal(json_object_size(u3), 10);
    assert_null(json_object_get(u3, "login"));
    assert_null(json_object_get(u3, "picture"));

    /* Pretty output parses to the same document. */
    const char *pretty[] = {"seed", "f", "results", "3", "format", "pretty", NULL};
    json_t *j4 = render_json(pretty);
    assert_true(json_equal(j, j4));
    json_decref(j);
    json_decref(j2);
    json_decref(j3);
    json_decref(j4);

    /* A seed that needs JSON escaping is echoed escaped. */
    const char *odd[] = {"seed", "a\"b\\c\n", NULL};
    json_t *j5 = render_json(odd);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j5, "info"), "seed")),
                        "a\"b\\c\n");
    json_decref(j5);
}

static void test_csv(void **state)
{
    (void)state;
    const char *kv[] = {"seed", "c", "results", "20", "format", "csv", NULL};
    sl_ru_params p;
    params(&p, kv);
    sl_buf b = SL_BUF_INIT;
    const char *ct = sl_ru_render(&p, &b);
    assert_string_equal(ct, "text/csv; charset=utf-8");
    const char *s = sl_buf_cstr(&b);
    assert_true(!strncmp(s,
                         "\"gender\",\"name.title\",\"name.first\",\"name.last\","
                         "\"location.street.number\"",
                         70));
    int lines = 0;
    for (const char *c = s; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 21);
    assert_non_null(strstr(s, "\"picture.thumbnail\",\"nat\"\n"));
    sl_buf_free(&b);

    const char *inc[] = {"seed", "c", "results", "2", "format", "csv", "inc", "nat,id", NULL};
    params(&p, inc);
    sl_ru_render(&p, &b);
    s = sl_buf_cstr(&b);
    assert_true(!strncmp(s, "\"id.name\",\"id.value\",\"nat\"\n", 27));
    sl_buf_free(&b);
}

/* The renderer copies table strings without escaping: none may need it, each must be UTF-8 and
 * short enough for the user struct's buffers. */
static void check_plain(const char *s, size_t max)
{
    size_t n = strlen(s);
    assert_true(n < max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        assert_false(c < 0x20 || c == '"' || c == '\\' || c == 0x7f);
    }
    /* Valid UTF-8: every lead byte has its continuation bytes. */
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        assert_true(c < 0x80 || (c >= 0xC2 && c <= 0xF4));
        assert_true(i + len <= n);
        for (size_t k = 1; k < len; k++)
            assert_int_equal((unsigned char)s[i + k] & 0xC0, 0x80);
        i += len;
    }
}

static void check_list(const ru_list *l, size_t max)
{
    assert_true(l->n > 0);
    for (size_t i = 0; i < l->n; i++)
        check_plain(l->v[i], max);
}

static void test_tables_need_no_escaping(void **state)
{
    (void)state;
    for (int i = 0; i < SL_RU_NNAT; i++) {
        const ru_nat *n = &ru_nats[i];
        check_plain(n->code, 3);
        check_plain(n->country, 64);
        check_list(&n->male, 64);
        check_list(&n->female, 64);
        check_list(&n->last, 64);
        check_list(&n->streets, 128);
        check_list(&n->phone, 24);
        check_list(&n->cell, 24);
        for (size_t k = 0; k < n->nplaces; k++) {
            check_plain(n->places[k].city, 128);
            check_plain(n->places[k].state, 128);
        }
        check_plain(n->id_name, 16);
        if (n->id_pattern) check_plain(n->id_pattern, 32);
        if (n->pc_pattern)
            check_plain(n->pc_pattern, 12);
        else
            assert_true(n->pc_lo > 0 && n->pc_lo < n->pc_hi);
    }
    for (size_t k = 0; k < ru_ntimezones; k++) {
        check_plain(ru_timezones[k].offset, 8);
        check_plain(ru_timezones[k].desc, 128);
    }
    check_list(&ru_adjectives, 20);
    check_list(&ru_animals, 20);
    check_list(&ru_passwords, 40);
}

/* fake-api renders big pages on worker threads: concurrent renders give the same bytes. */
static void *render_thread(void *arg)
{
    sl_buf *b = arg;
    const char *kv[] = {"seed", "threads", "results", "2000", "nat", "ua,ir,rs,tr,de", NULL};
    sl_ru_params p;
    params(&p, kv);
    sl_ru_render(&p, b);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    sl_buf want = SL_BUF_INIT, got[4] = {SL_BUF_INIT, SL_BUF_INIT, SL_BUF_INIT, SL_BUF_INIT};
    render_thread(&want);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, render_thread, &got[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(got[i].len, want.len);
        assert_memory_equal(got[i].ptr, want.ptr, want.len);
        sl_buf_free(&got[i]);
    }
    sl_buf_free(&want);
}

/* Not a pass/fail bound: prints the generator's speed for docs/fake-api.md. */
static void test_speed(void **state)
{
    (void)state;
    const char *kv[] = {"seed", "speed", "results", "5000", NULL};
    sl_ru_params p;
    params(&p, kv);
    sl_buf b = SL_BUF_INIT;
    uint64_t t0 = sl_mono_ns();
    int pages = 20;
    for (int i = 0; i < pages; i++) {
        p.page = i + 1;
        sl_buf_reset(&b);
        sl_ru_render(&p, &b);
    }
    double s = (double)(sl_mono_ns() - t0) / 1e9;
    printf("randomuser: %d users rendered as JSON in %.3f s: %.0f users/s (%zu bytes/page)\n",
           pages * 5000, s, pages * 5000 / s, b.len);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_nationality_formats),
        cmocka_unit_test(test_email_transliteration),
        cmocka_unit_test(test_inc_exc_noinfo),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_tables_need_no_escaping),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
