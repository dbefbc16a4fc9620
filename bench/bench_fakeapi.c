/* bench_fakeapi.c: how fast the randomuser generator renders users, in one thread, without
 * HTTP, in users per CPU second of the thread (on a shared machine, wall time measures the
 * neighbours too). Pages of 5000 users, seed "bench", all fields.
 *
 * The peer is jansson (the JSON library sluice already links): the same users, from the same
 * random stream, built as a json_t tree (json_object_set_new_nocheck, json_string_nocheck, ...)
 * and serialized with json_dumpb(JSON_COMPACT), which gives byte for byte the body sl_ru_render
 * writes (checked on the first page; the bench fails if not). Two rows:
 *   - render: generation (names, places, the login hashes) and encoding, sl_ru_render against
 *     sl_ru_gen_user + jansson: what a request costs;
 *   - encode only: one page of users generated beforehand, then encoded again and again,
 *     sl_ru_user_json against jansson: the encoder alone.
 * CSV is rendered too, without a peer. The sides alternate, RUNS runs each; the table gives
 * medians (min-max) and the ratio of the medians sluice/jansson.
 *   bench_fakeapi [USERS per run, default 50000] */
#include "pipeline/randomuser.h"
#include "bench_stats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS  5
#define PAGE  5000
#define SEED  "bench"
#define FIRST 1 /* first page of a run */

/* CPU seconds of this thread: on a shared machine, wall time measures the neighbours too. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sl_ru_params params(sl_ru_format fmt)
{
    sl_ru_params p;
    sl_ru_params_init(&p);
    sl_ru_params_set(&p, "seed", SEED);
    sl_ru_params_set(&p, "results", "5000");
    sl_ru_params_finish(&p, 0);
    p.format = fmt;
    return p;
}

static json_t *str(const char *s)
{
    return json_string_nocheck(s);
}

static json_t *picture(const sl_ru_user *u, const char *size)
{
    char b[96];
    snprintf(b, sizeof b, "https://randomuser.me/api/portraits/%s%s/%d.jpg", size,
             u->female ? "women" : "men", u->picture);
    return json_string_nocheck(b);
}

/* One user as a jansson object, the fields in randomuser's order (jansson keeps insertion
 * order). */
static json_t *user_json(const sl_ru_user *u)
{
    json_t *o = json_object(), *x, *y;
    json_object_set_new_nocheck(o, "gender", str(u->female ? "female" : "male"));
    x = json_object();
    json_object_set_new_nocheck(x, "title", str(u->title));
    json_object_set_new_nocheck(x, "first", str(u->first));
    json_object_set_new_nocheck(x, "last", str(u->last));
    json_object_set_new_nocheck(o, "name", x);
    x = json_object();
    y = json_object();
    json_object_set_new_nocheck(y, "number", json_integer(u->street_number));
    json_object_set_new_nocheck(y, "name", str(u->street));
    json_object_set_new_nocheck(x, "street", y);
    json_object_set_new_nocheck(x, "city", str(u->city));
    json_object_set_new_nocheck(x, "state", str(u->state));
    json_object_set_new_nocheck(x, "country", str(u->country));
    json_object_set_new_nocheck(
        x, "postcode", u->postcode_is_int ? json_integer(u->postcode_int) : str(u->postcode));
    y = json_object();
    json_object_set_new_nocheck(y, "latitude", str(u->latitude));
    json_object_set_new_nocheck(y, "longitude", str(u->longitude));
    json_object_set_new_nocheck(x, "coordinates", y);
    y = json_object();
    json_object_set_new_nocheck(y, "offset", str(u->tz_offset));
    json_object_set_new_nocheck(y, "description", str(u->tz_desc));
    json_object_set_new_nocheck(x, "timezone", y);
    json_object_set_new_nocheck(o, "location", x);
    json_object_set_new_nocheck(o, "email", str(u->email));
    x = json_object();
    json_object_set_new_nocheck(x, "uuid", str(u->uuid));
    json_object_set_new_nocheck(x, "username", str(u->username));
    json_object_set_new_nocheck(x, "password", str(u->password));
    json_object_set_new_nocheck(x, "salt", str(u->salt));
    json_object_set_new_nocheck(x, "md5", str(u->md5));
    json_object_set_new_nocheck(x, "sha1", str(u->sha1));
    json_object_set_new_nocheck(x, "sha256", str(u->sha256));
    json_object_set_new_nocheck(o, "login", x);
    x = json_object();
    json_object_set_new_nocheck(x, "date", str(u->dob));
    json_object_set_new_nocheck(x, "age", json_integer(u->dob_age));
    json_object_set_new_nocheck(o, "dob", x);
    x = json_object();
    json_object_set_new_nocheck(x, "date", str(u->registered));
    json_object_set_new_nocheck(x, "age", json_integer(u->registered_age));
    json_object_set_new_nocheck(o, "registered", x);
    json_object_set_new_nocheck(o, "phone", str(u->phone));
    json_object_set_new_nocheck(o, "cell", str(u->cell));
    x = json_object();
    json_object_set_new_nocheck(x, "name", str(u->id_name));
    json_object_set_new_nocheck(x, "value", u->id_null ? json_null() : str(u->id_value));
    json_object_set_new_nocheck(o, "id", x);
    x = json_object();
    json_object_set_new_nocheck(x, "large", picture(u, ""));
    json_object_set_new_nocheck(x, "medium", picture(u, "med/"));
    json_object_set_new_nocheck(x, "thumbnail", picture(u, "thumb/"));
    json_object_set_new_nocheck(o, "picture", x);
    json_object_set_new_nocheck(o, "nat", str(sl_ru_nat_code(u->nat)));
    return o;
}

/* A page's body by jansson: users from us (n of them), or generated for page when us is NULL.
 * Returns the body's length in out (grown as needed). */
static size_t page_jansson(const sl_ru_user *us, int n, int page, sl_buf *out)
{
    json_t *arr = json_array();
    sl_ru_gen g;
    sl_ru_user u;
    if (!us) sl_ru_gen_init(&g, SEED, strlen(SEED), page);
    for (int i = 0; i < n; i++) {
        if (!us) sl_ru_gen_user(&g, 0, SL_RU_ANY, true, &u);
        json_array_append_new(arr, user_json(us ? &us[i] : &u));
    }
    json_t *info = json_object();
    json_object_set_new_nocheck(info, "seed", str(SEED));
    json_object_set_new_nocheck(info, "results", json_integer(n));
    json_object_set_new_nocheck(info, "page", json_integer(page));
    json_object_set_new_nocheck(info, "version", str("1.4"));
    json_t *root = json_object();
    json_object_set_new_nocheck(root, "results", arr);
    json_object_set_new_nocheck(root, "info", info);
    out->len = 0;
    size_t len = json_dumpb(root, (char *)out->ptr, out->cap, JSON_COMPACT);
    if (len > out->cap) {
        sl_buf_reserve(out, len);
        len = json_dumpb(root, (char *)out->ptr, out->cap, JSON_COMPACT);
    }
    out->len = len;
    json_decref(root);
    return len;
}

/* The same page by sluice's encoder from us: what sl_ru_render writes for it. */
static size_t page_sluice(const sl_ru_user *us, int n, int page, sl_buf *out)
{
    sl_buf_reset(out);
    sl_buf_append(out, "{\"results\":[", 12);
    for (int i = 0; i < n; i++) {
        if (i > 0) sl_buf_append(out, ",", 1);
        sl_ru_user_json(&us[i], SL_RU_F_ALL, out);
    }
    char info[128];
    int k = snprintf(info, sizeof info,
                     "],\"info\":{\"seed\":\"" SEED "\",\"results\":%d,\"page\":%d,\"version\":"
                     "\"1.4\"}}",
                     n, page);
    sl_buf_append(out, info, (size_t)k);
    return out->len;
}

enum { RENDER_SLUICE, RENDER_JANSSON, ENCODE_SLUICE, ENCODE_JANSSON, RENDER_CSV, NCASES };

/* users of one case; returns users per CPU second, and the bytes made in *bytes. */
static double run(int which, long users, const sl_ru_user *page_users, sl_buf *b, size_t *bytes)
{
    sl_ru_params p = params(which == RENDER_CSV ? SL_RU_CSV : SL_RU_JSON);
    *bytes = 0;
    double c0 = cpu_s();
    for (long done = 0, page = FIRST; done < users; done += PAGE, page++) {
        p.page = (int)page;
        switch (which) {
        case RENDER_SLUICE:
        case RENDER_CSV:
            sl_buf_reset(b);
            sl_ru_render(&p, b);
            *bytes += b->len;
            break;
        case RENDER_JANSSON: *bytes += page_jansson(NULL, PAGE, (int)page, b); break;
        case ENCODE_SLUICE: *bytes += page_sluice(page_users, PAGE, FIRST, b); break;
        case ENCODE_JANSSON: *bytes += page_jansson(page_users, PAGE, FIRST, b); break;
        }
    }
    return (double)users / (cpu_s() - c0);
}

/* The three bodies of the first page must be the same bytes: else the sides do different work. */
static int check_same(const sl_ru_user *page_users)
{
    sl_buf a = SL_BUF_INIT, b = SL_BUF_INIT, c = SL_BUF_INIT;
    sl_ru_params p = params(SL_RU_JSON);
    p.page = FIRST;
    sl_ru_render(&p, &a);
    page_jansson(NULL, PAGE, FIRST, &b);
    page_sluice(page_users, PAGE, FIRST, &c);
    int same = a.len == b.len && a.len == c.len && memcmp(a.ptr, b.ptr, a.len) == 0 &&
               memcmp(a.ptr, c.ptr, a.len) == 0;
    if (!same)
        fprintf(stderr,
                "bench_fakeapi: page %d differs: sl_ru_render %zu bytes, jansson %zu, "
                "encoder alone %zu\n",
                FIRST, a.len, b.len, c.len);
    sl_buf_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&c);
    return same ? 0 : -1;
}

int main(int argc, char **argv)
{
    long users = argc > 1 ? atol(argv[1]) : 50000;
    if (users < PAGE) users = PAGE;
    users = (users + PAGE - 1) / PAGE * PAGE;
    sl_ru_user *page_users = sl_calloc(PAGE, sizeof *page_users);
    sl_ru_gen g;
    sl_ru_gen_init(&g, SEED, strlen(SEED), FIRST);
    for (int i = 0; i < PAGE; i++)
        sl_ru_gen_user(&g, 0, SL_RU_ANY, true, &page_users[i]);
    if (check_same(page_users)) return 1;

    double rate[NCASES][RUNS];
    size_t bytes[NCASES];
    sl_buf b = SL_BUF_INIT;
    for (int r = 0; r < RUNS; r++)
        for (int k = 0; k < NCASES; k++)
            rate[k][r] = run(k, users, page_users, &b, &bytes[k]);
    sl_buf_free(&b);
    sl_free(page_users);

    printf(
        "bench_fakeapi: users per CPU second of one thread, %ld users per run in pages of %d "
        "(seed \"%s\", all fields), no HTTP; jansson %s builds and dumps (JSON_COMPACT) the same "
        "bytes; alternating, %d runs, median (min-max)\n",
        users, PAGE, SEED, JANSSON_VERSION, RUNS);
    printf("| case | sluice users/s (median, min-max) | peer: jansson users/s (median, min-max) "
           "| ratio | sluice MB per CPU s |\n");
    printf("|---|---|---|---|---|\n");
    static const struct {
        const char *name;
        int ours, peer;
    } rows[] = {
        {"JSON render (generate + encode)", RENDER_SLUICE, RENDER_JANSSON},
        {"JSON encode only (users generated before)", ENCODE_SLUICE, ENCODE_JANSSON},
        {"CSV render (no peer)", RENDER_CSV, -1},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(rows); i++) {
        int o = rows[i].ours, pe = rows[i].peer;
        bench_stat3 om = bench_stats(rate[o], RUNS);
        double mb = om.med * ((double)bytes[o] / (double)users) / 1e6;
        if (pe < 0) {
            printf("| %s | %.0f (%.0f-%.0f) | - | - | %.1f |\n", rows[i].name, om.med, om.min,
                   om.max, mb);
            continue;
        }
        bench_stat3 pm = bench_stats(rate[pe], RUNS);
        printf("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %.1f |\n", rows[i].name, om.med,
               om.min, om.max, pm.med, pm.min, pm.max, om.med / pm.med, mb);
    }
    return 0;
}
