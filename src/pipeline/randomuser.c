/* randomuser.c: the deterministic randomuser.me 1.4 generator and its JSON and CSV renderings.
 *
 * Every user is drawn from one xoshiro256** stream in a fixed order of draws, so a user depends
 * only on (seed, page, its position, nat list, gender) and never on which fields are rendered. */
#include "pipeline/randomuser.h"

#include "pipeline/randomuser_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY_MS          86400000LL
#define REGISTERED_FROM 1016668800000LL /* 2002-03-21T00:00:00Z, randomuser's earliest */
#define DOB_MIN_AGE     21
#define DOB_MAX_AGE     77

static const char *const field_names[] = {"gender", "name", "location",   "email",
                                          "login",  "dob",  "registered", "phone",
                                          "cell",   "id",   "picture",    "nat"};

/* ---- the stream ---- */

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t next64(sl_ru_gen *g)
{
    uint64_t *s = g->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, n) by multiply-shift; the bias for n < 2^32 is far below anything visible. */
static inline uint64_t below(sl_ru_gen *g, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)next64(g) * n) >> 64);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sl_ru_gen_init(sl_ru_gen *g, const char *seed, size_t seed_len, int page)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the seed, then the page */
    for (size_t i = 0; i < seed_len; i++)
        h = (h ^ (uint8_t)seed[i]) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint8_t)((uint32_t)page >> (8 * i))) * 0x100000001b3ULL;
    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&h);
}

/* ---- parameters ---- */

void sl_ru_params_init(sl_ru_params *p)
{
    memset(p, 0, sizeof(*p));
    p->results = 1;
    p->page = 1;
    p->gender = SL_RU_ANY;
    p->format = SL_RU_JSON;
}

/* JavaScript parseInt's leniency: leading blanks, a sign, then the leading digits. */
static bool parse_int_prefix(const char *s, long *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (*s < '0' || *s > '9') return false;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v < 100000000) v = v * 10 + (*s - '0');
    *out = neg ? -v : v;
    return true;
}

int sl_ru_nat_index(const char *code, size_t len)
{
    if (len != 2) return -1;
    for (int i = 0; i < SL_RU_NNAT; i++)
        if (!strncasecmp(ru_nats[i].code, code, 2)) return i;
    return -1;
}

const char *sl_ru_nat_code(int nat)
{
    return nat >= 0 && nat < SL_RU_NNAT ? ru_nats[nat].code : NULL;
}

uint32_t sl_ru_field_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(field_names); i++)
        if (strlen(field_names[i]) == len && !strncasecmp(field_names[i], name, len))
            return 1u << i;
    return 0;
}

/* Calls fn for each trimmed, non-empty element of a comma list. */
static uint32_t comma_mask(const char *v, uint32_t (*fn)(const char *, size_t))
{
    uint32_t m = 0;
    while (*v) {
        const char *e = strchr(v, ',');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        const char *s = v;
        while (n > 0 && *s == ' ')
            s++, n--;
        while (n > 0 && s[n - 1] == ' ')
            n--;
        m |= fn(s, n);
        if (e == NULL) break;
        v = e + 1;
    }
    return m;
}

static uint32_t nat_bit(const char *s, size_t n)
{
    int i = sl_ru_nat_index(s, n);
    return i < 0 ? 0 : 1u << i;
}

void sl_ru_params_set(sl_ru_params *p, const char *key, const char *value)
{
    long v;
    if (!strcmp(key, "results")) {
        p->results = parse_int_prefix(value, &v) && v >= 1 && v <= SL_RU_MAX_RESULTS ? (int)v : 1;
    } else if (!strcmp(key, "page")) {
        p->page = parse_int_prefix(value, &v) && v >= 1 && v <= SL_RU_MAX_PAGE ? (int)v : 1;
    } else if (!strcmp(key, "seed")) {
        p->seed_len = SL_MIN(strlen(value), (size_t)SL_RU_SEED_MAX);
        memcpy(p->seed, value, p->seed_len);
        p->seed[p->seed_len] = '\0';
    } else if (!strcmp(key, "gender")) {
        p->gender = !strcasecmp(value, "male")     ? SL_RU_MALE
                    : !strcasecmp(value, "female") ? SL_RU_FEMALE
                                                   : SL_RU_ANY;
    } else if (!strcmp(key, "nat")) {
        p->nats = comma_mask(value, nat_bit);
    } else if (!strcmp(key, "inc")) {
        p->inc = comma_mask(value, sl_ru_field_bit);
    } else if (!strcmp(key, "exc")) {
        p->exc = comma_mask(value, sl_ru_field_bit);
    } else if (!strcmp(key, "noinfo")) {
        p->noinfo = true;
    } else if (!strcmp(key, "format") || !strcmp(key, "fmt")) {
        p->format = !strcasecmp(value, "csv") ? SL_RU_CSV
                    : !strcasecmp(value, "pretty") || !strcasecmp(value, "prettyjson")
                        ? SL_RU_PRETTY
                        : SL_RU_JSON;
    }
}

void sl_ru_params_finish(sl_ru_params *p, uint64_t entropy)
{
    p->seed_given = p->seed_len > 0;
    if (p->seed_given) return;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        p->seed[i] = hex[(entropy >> (4 * i)) & 15];
    p->seed[16] = '\0';
    p->seed_len = 16;
}

uint32_t sl_ru_params_fields(const sl_ru_params *p)
{
    uint32_t f = p->inc ? p->inc : SL_RU_F_ALL;
    return f & ~p->exc;
}

/* ---- values ---- */

static const char *pick(sl_ru_gen *g, const ru_list *l)
{
    return l->v[below(g, l->n)];
}

/* Two digits, 00..99. */
static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put_uint(char *p, uint64_t v, int min_digits)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n < min_digits)
        tmp[n++] = '0';
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

typedef struct ru_time {
    int y, mo, d;
    int64_t ms_of_day;
} ru_time;

static ru_time split_ms(int64_t ms)
{
    ru_time t;
    int64_t days = ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
    int64_t y;
    sl_civil_from_days(days, &y, &t.mo, &t.d);
    t.y = (int)y;
    t.ms_of_day = ms - days * DAY_MS;
    return t;
}

/* "1992-03-08T15:13:16.688Z" and the full years from it to the reference instant. */
static int iso_date(int64_t ms, char out[25])
{
    ru_time t = split_ms(ms);
    char *p = out;
    p = put2(p, (unsigned)(t.y / 100 % 100));
    p = put2(p, (unsigned)(t.y % 100));
    *p++ = '-';
    p = put2(p, (unsigned)t.mo);
    *p++ = '-';
    p = put2(p, (unsigned)t.d);
    *p++ = 'T';
    p = put2(p, (unsigned)(t.ms_of_day / 3600000));
    *p++ = ':';
    p = put2(p, (unsigned)(t.ms_of_day / 60000 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(t.ms_of_day / 1000 % 60));
    *p++ = '.';
    p = put_uint(p, (uint64_t)(t.ms_of_day % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
    ru_time ref = split_ms(SL_RU_REF_MS);
    int age = ref.y - t.y;
    if (ref.mo < t.mo ||
        (ref.mo == t.mo && (ref.d < t.d || (ref.d == t.d && ref.ms_of_day < t.ms_of_day))))
        age--;
    return age;
}

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

/* Fills a pattern (randomuser_int.h) into out (NUL-terminated, at most cap-1 chars). */
static void fill_pattern(sl_ru_gen *g, const char *pat, const char *dob, char *out, size_t cap)
{
    size_t n = 0;
    uint64_t digits = 0;
    for (const char *c = pat; *c && n + 7 < cap; c++) {
        switch (*c) {
        case '#': {
            int d = (int)below(g, 10);
            digits = digits * 10 + (uint64_t)d;
            out[n++] = (char)('0' + d);
            break;
        }
        case '@': {
            int d = 1 + (int)below(g, 9);
            digits = digits * 10 + (uint64_t)d;
            out[n++] = (char)('0' + d);
            break;
        }
        case 'A': out[n++] = (char)('A' + below(g, 26)); break;
        case 'L': out[n++] = dni_letters[digits % 23]; break;
        case 'D': /* DDMMYY from "YYYY-MM-DD..." */
            out[n++] = dob[8];
            out[n++] = dob[9];
            out[n++] = dob[5];
            out[n++] = dob[6];
            out[n++] = dob[2];
            out[n++] = dob[3];
            break;
        default: out[n++] = *c; break;
        }
    }
    out[n] = '\0';
}

/* ASCII for the Latin-1 supplement, U+00C0..U+00FF, lowercase. */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};

/* Base letters of Latin Extended-A, U+0100..U+017F, two code points per letter mostly. */
static const char latin_ext_a[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllll"
    "llnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* Ukrainian Cyrillic, U+0430..U+044F (lowercase; uppercase is folded first). */
static const char *const cyr[32] = {"a",  "b",  "v",  "h",    "d", "e", "zh", "z", "y",  "y", "k",
                                    "l",  "m",  "n",  "o",    "p", "r", "s",  "t", "u",  "f", "kh",
                                    "ts", "ch", "sh", "shch", "",  "y", "",   "e", "yu", "ya"};

/* ASCII for one code point; one[] (the caller's, so that worker threads can render side by side)
 * holds a single-letter answer. */
static const char *translit_cp(uint32_t cp, char one[2])
{
    if (cp >= 0xC0 && cp <= 0xFF) return latin1[cp - 0xC0];
    if (cp >= 0x100 && cp <= 0x17F) {
        if (cp == 0x132 || cp == 0x133) return "ij";
        if (cp == 0x152 || cp == 0x153) return "oe";
        size_t i = cp - 0x100;
        if (i < sizeof(latin_ext_a) - 1) {
            one[0] = latin_ext_a[i];
            one[1] = '\0';
            return one;
        }
        return "";
    }
    if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;
    if (cp >= 0x430 && cp <= 0x44F) return cyr[cp - 0x430];
    switch (cp) {
    case 0x404:
    case 0x454: return "ye";
    case 0x406:
    case 0x456: return "i";
    case 0x407:
    case 0x457: return "yi";
    case 0x490:
    case 0x491: return "g";
    case 0x401:
    case 0x451: return "yo";
    default: return "";
    }
}

/* Appends the lowercase ASCII form of a name: [a-z0-9-] only. Returns the new length. */
static size_t translit(const char *s, char *out, size_t n, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n + 5 < cap) {
        uint32_t cp;
        int len;
        if (*p < 0x80) {
            cp = *p, len = 1;
        } else if ((*p & 0xE0) == 0xC0 && p[1]) {
            cp = ((uint32_t)(*p & 0x1F) << 6) | (p[1] & 0x3F), len = 2;
        } else if ((*p & 0xF0) == 0xE0 && p[1] && p[2]) {
            cp = ((uint32_t)(*p & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            len = 3;
        } else {
            p++;
            continue;
        }
        p += len;
        if (cp < 0x80) {
            char c = (char)cp;
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') out[n++] = c;
            continue;
        }
        char one[2];
        for (const char *t = translit_cp(cp, one); *t; t++)
            out[n++] = *t;
    }
    out[n] = '\0';
    return n;
}

/* Copies the display part of "native|ascii" into out; returns the ASCII part or NULL. */
static const char *split_name(const char *s, char *out, size_t cap)
{
    const char *bar = strchr(s, '|');
    size_t n = bar ? (size_t)(bar - s) : strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return bar ? bar + 1 : NULL;
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static EVP_MD *md_md5, *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_ctx_key;

static void md_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

/* Fetched once, and one digest context per thread: an implicit fetch and a context allocation
 * per digest cost more than hashing the 20 bytes. */
static void md_init(void)
{
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&md_ctx_key, md_ctx_free);
}

static void digest(EVP_MD_CTX *ctx, EVP_MD *md, const char *in, size_t n, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (ctx == NULL || md == NULL || !EVP_DigestInit_ex2(ctx, md, NULL) ||
        !EVP_DigestUpdate(ctx, in, n) || !EVP_DigestFinal_ex(ctx, d, &dl)) {
        out[0] = '\0';
        return;
    }
    hex(d, dl, out);
}

static EVP_MD_CTX *md_ctx(void)
{
    pthread_once(&md_once, md_init);
    EVP_MD_CTX *ctx = pthread_getspecific(md_ctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        pthread_setspecific(md_ctx_key, ctx);
    }
    return ctx;
}

/* "-12.3456" from ten-thousandths. */
static void fixed4(char *out, int64_t v)
{
    if (v < 0) {
        *out++ = '-';
        v = -v;
    }
    out = put_uint(out, (uint64_t)(v / 10000), 1);
    *out++ = '.';
    *put_uint(out, (uint64_t)(v % 10000), 4) = '\0';
}

/* The low n hex digits of v, most significant first. */
static void hex64(char *out, uint64_t v, int n)
{
    static const char h[] = "0123456789abcdef";
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        out[i] = h[v & 15];
}

static int pick_nat(sl_ru_gen *g, uint32_t nats)
{
    nats &= (1u << SL_RU_NNAT) - 1;
    if (nats == 0) return (int)below(g, SL_RU_NNAT);
    int k = (int)below(g, (uint64_t)__builtin_popcount(nats));
    for (int i = 0; i < SL_RU_NNAT; i++)
        if ((nats >> i) & 1 && k-- == 0) return i;
    return 0;
}

void sl_ru_gen_user(sl_ru_gen *g, uint32_t nats, sl_ru_gender gender, bool with_login,
                    sl_ru_user *u)
{
    static const char *const female_titles[] = {"Miss", "Mrs", "Ms"};
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    u->nat = pick_nat(g, nats);
    const ru_nat *n = &ru_nats[u->nat];
    bool coin = below(g, 2) == 1;
    u->female = gender == SL_RU_FEMALE ? true : gender == SL_RU_MALE ? false : coin;
    uint64_t t = below(g, 3);
    u->title = u->female ? female_titles[t] : "Mr";
    const char *first = pick(g, u->female ? &n->female : &n->male);
    const char *last = pick(g, &n->last);
    const char *first_ascii = split_name(first, u->first, sizeof(u->first));
    const char *last_ascii = split_name(last, u->last, sizeof(u->last));

    u->street_number = 1 + (int)below(g, 9999);
    u->street = pick(g, &n->streets);
    const ru_place *pl = &n->places[below(g, n->nplaces)];
    u->city = pl->city;
    u->state = pl->state;
    u->country = n->country;
    if (n->pc_pattern != NULL) {
        u->postcode_is_int = false;
        fill_pattern(g, n->pc_pattern, NULL, u->postcode, sizeof(u->postcode));
    } else {
        u->postcode_is_int = true;
        u->postcode_int = n->pc_lo + (int)below(g, (uint64_t)(n->pc_hi - n->pc_lo + 1));
        *put_uint(u->postcode, (uint64_t)u->postcode_int, 1) = '\0';
    }
    int64_t lat = (int64_t)below(g, 1800001) - 900000;
    int64_t lon = (int64_t)below(g, 3600001) - 1800000;
    fixed4(u->latitude, lat);
    fixed4(u->longitude, lon);
    const ru_tz *tz = &ru_timezones[below(g, ru_ntimezones)];
    u->tz_offset = tz->offset;
    u->tz_desc = tz->desc;

    size_t e = 0;
    if (first_ascii) {
        e = translit(first_ascii, u->email, 0, sizeof(u->email) - 20);
    } else {
        e = translit(u->first, u->email, 0, sizeof(u->email) - 20);
    }
    u->email[e++] = '.';
    e = translit(last_ascii ? last_ascii : u->last, u->email, e, sizeof(u->email) - 14);
    memcpy(u->email + e, "@example.com", 13);

    uint64_t a = next64(g), b = next64(g);
    a = (a & ~0xF000ULL) | 0x4000ULL;                        /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant 10 */
    hex64(u->uuid, a >> 32, 8);
    u->uuid[8] = '-';
    hex64(u->uuid + 9, (a >> 16) & 0xFFFF, 4);
    u->uuid[13] = '-';
    hex64(u->uuid + 14, a & 0xFFFF, 4);
    u->uuid[18] = '-';
    hex64(u->uuid + 19, b >> 48, 4);
    u->uuid[23] = '-';
    hex64(u->uuid + 24, b & 0xFFFFFFFFFFFFULL, 12);
    u->uuid[36] = '\0';
    const char *adj = pick(g, &ru_adjectives);
    const char *animal = pick(g, &ru_animals);
    size_t al = strlen(adj), nl = strlen(animal);
    memcpy(u->username, adj, al);
    memcpy(u->username + al, animal, nl);
    *put_uint(u->username + al + nl, 100 + below(g, 900), 3) = '\0';
    u->password = pick(g, &ru_passwords);
    for (int i = 0; i < 8; i++)
        u->salt[i] = alnum[below(g, sizeof(alnum) - 1)];
    u->salt[8] = '\0';
    if (with_login) {
        EVP_MD_CTX *ctx = md_ctx();
        char in[64];
        size_t pl_len = strlen(u->password);
        memcpy(in, u->password, pl_len);
        memcpy(in + pl_len, u->salt, 8);
        digest(ctx, md_md5, in, pl_len + 8, u->md5);
        digest(ctx, md_sha1, in, pl_len + 8, u->sha1);
        digest(ctx, md_sha256, in, pl_len + 8, u->sha256);
    } else {
        u->md5[0] = u->sha1[0] = u->sha256[0] = '\0';
    }

    /* Ages DOB_MIN_AGE..DOB_MAX_AGE at the reference instant: one day of margin each side. */
    const int64_t year_ms = 31556952000LL; /* mean Gregorian year */
    int64_t span = (DOB_MAX_AGE + 1 - DOB_MIN_AGE) * year_ms - 2 * DAY_MS;
    int64_t dob = SL_RU_REF_MS - DOB_MIN_AGE * year_ms - DAY_MS - (int64_t)below(g, (uint64_t)span);
    u->dob_age = iso_date(dob, u->dob);
    int64_t reg = REGISTERED_FROM + (int64_t)below(g, (uint64_t)(SL_RU_REF_MS - REGISTERED_FROM));
    u->registered_age = iso_date(reg, u->registered);

    fill_pattern(g, pick(g, &n->phone), u->dob, u->phone, sizeof(u->phone));
    fill_pattern(g, pick(g, &n->cell), u->dob, u->cell, sizeof(u->cell));
    u->id_name = n->id_name;
    u->id_null = n->id_pattern == NULL;
    if (u->id_null)
        u->id_value[0] = '\0';
    else
        fill_pattern(g, n->id_pattern, u->dob, u->id_value, sizeof(u->id_value));
    u->picture = (int)below(g, u->female ? 97 : 100);
}

/* ---- rendering ---- */

/* A user is written with raw stores into room reserved up front: every string in a user is
 * bounded (table entries and fixed-size fields), far below USER_ROOM even when escaped. */
#define USER_ROOM 8192

static inline void put(sl_buf *b, const char *s, size_t n)
{
    sl_buf_append(b, s, n);
}

#define PUTL(b, lit) put((b), (lit), sizeof(lit) - 1)
#define WL(p, lit)   (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

/* One byte of a JSON string, escaped if JSON requires it. */
static inline char *w_char(char *p, unsigned char c)
{
    static const char hx[] = "0123456789abcdef";
    if (c >= 0x20 && c != '"' && c != '\\') {
        *p++ = (char)c;
    } else if (c == '"' || c == '\\') {
        *p++ = '\\';
        *p++ = (char)c;
    } else {
        WL(p, "\\u00");
        *p++ = hx[c >> 4];
        *p++ = hx[c & 15];
    }
    return p;
}

/* A user's string as a JSON literal. Every such string comes from the tables or is generated,
 * and none needs escaping (test_randomuser checks every table entry), so it is copied as is. */
static inline char *w_str(char *p, const char *s)
{
    size_t n = strlen(s);
    *p = '"';
    memcpy(p + 1, s, n);
    p[n + 1] = '"';
    return p + n + 2;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len = (s[0] & 0xE0) == 0xC0   ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* The seed as a JSON string: it is the one value a client sends back, so it may be anything;
 * bytes that are not UTF-8 become U+FFFD so the document stays valid JSON. */
static char *w_seed(char *p, const char *seed, size_t n)
{
    *p++ = '"';
    const unsigned char *s = (const unsigned char *)seed;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(s + i, n - i);
        if (l == 0) {
            WL(p, "\\ufffd");
            i++;
        } else if (l == 1) {
            p = w_char(p, s[i++]);
        } else {
            memcpy(p, s + i, l);
            p += l;
            i += l;
        }
    }
    *p++ = '"';
    return p;
}

static char *w_int(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    return put_uint(p, (uint64_t)v, 1);
}

static char *w_picture(char *p, const sl_ru_user *u, const char *size)
{
    WL(p, "https://randomuser.me/api/portraits/");
    size_t n = strlen(size);
    memcpy(p, size, n);
    p += n;
    if (u->female)
        WL(p, "women/");
    else
        WL(p, "men/");
    p = w_int(p, u->picture);
    WL(p, ".jpg");
    return p;
}

static char *w_user_json(char *p, const sl_ru_user *u, uint32_t f)
{
    bool first = true;
#define SEP()                                                                                      \
    do {                                                                                           \
        if (!first) *p++ = ',';                                                                    \
        first = false;                                                                             \
    } while (0)
    *p++ = '{';
    if (f & SL_RU_F_GENDER) {
        SEP();
        if (u->female)
            WL(p, "\"gender\":\"female\"");
        else
            WL(p, "\"gender\":\"male\"");
    }
    if (f & SL_RU_F_NAME) {
        SEP();
        WL(p, "\"name\":{\"title\":");
        p = w_str(p, u->title);
        WL(p, ",\"first\":");
        p = w_str(p, u->first);
        WL(p, ",\"last\":");
        p = w_str(p, u->last);
        *p++ = '}';
    }
    if (f & SL_RU_F_LOCATION) {
        SEP();
        WL(p, "\"location\":{\"street\":{\"number\":");
        p = w_int(p, u->street_number);
        WL(p, ",\"name\":");
        p = w_str(p, u->street);
        WL(p, "},\"city\":");
        p = w_str(p, u->city);
        WL(p, ",\"state\":");
        p = w_str(p, u->state);
        WL(p, ",\"country\":");
        p = w_str(p, u->country);
        WL(p, ",\"postcode\":");
        p = u->postcode_is_int ? w_int(p, u->postcode_int) : w_str(p, u->postcode);
        WL(p, ",\"coordinates\":{\"latitude\":");
        p = w_str(p, u->latitude);
        WL(p, ",\"longitude\":");
        p = w_str(p, u->longitude);
        WL(p, "},\"timezone\":{\"offset\":");
        p = w_str(p, u->tz_offset);
        WL(p, ",\"description\":");
        p = w_str(p, u->tz_desc);
        WL(p, "}}");
    }
    if (f & SL_RU_F_EMAIL) {
        SEP();
        WL(p, "\"email\":");
        p = w_str(p, u->email);
    }
    if (f & SL_RU_F_LOGIN) {
        SEP();
        WL(p, "\"login\":{\"uuid\":");
        p = w_str(p, u->uuid);
        WL(p, ",\"username\":");
        p = w_str(p, u->username);
        WL(p, ",\"password\":");
        p = w_str(p, u->password);
        WL(p, ",\"salt\":");
        p = w_str(p, u->salt);
        WL(p, ",\"md5\":");
        p = w_str(p, u->md5);
        WL(p, ",\"sha1\":");
        p = w_str(p, u->sha1);
        WL(p, ",\"sha256\":");
        p = w_str(p, u->sha256);
        *p++ = '}';
    }
    if (f & SL_RU_F_DOB) {
        SEP();
        WL(p, "\"dob\":{\"date\":");
        p = w_str(p, u->dob);
        WL(p, ",\"age\":");
        p = w_int(p, u->dob_age);
        *p++ = '}';
    }
    if (f & SL_RU_F_REGISTERED) {
        SEP();
        WL(p, "\"registered\":{\"date\":");
        p = w_str(p, u->registered);
        WL(p, ",\"age\":");
        p = w_int(p, u->registered_age);
        *p++ = '}';
    }
    if (f & SL_RU_F_PHONE) {
        SEP();
        WL(p, "\"phone\":");
        p = w_str(p, u->phone);
    }
    if (f & SL_RU_F_CELL) {
        SEP();
        WL(p, "\"cell\":");
        p = w_str(p, u->cell);
    }
    if (f & SL_RU_F_ID) {
        SEP();
        WL(p, "\"id\":{\"name\":");
        p = w_str(p, u->id_name);
        WL(p, ",\"value\":");
        if (u->id_null)
            WL(p, "null");
        else
            p = w_str(p, u->id_value);
        *p++ = '}';
    }
    if (f & SL_RU_F_PICTURE) {
        SEP();
        WL(p, "\"picture\":{\"large\":\"");
        p = w_picture(p, u, "");
        WL(p, "\",\"medium\":\"");
        p = w_picture(p, u, "med/");
        WL(p, "\",\"thumbnail\":\"");
        p = w_picture(p, u, "thumb/");
        WL(p, "\"}");
    }
    if (f & SL_RU_F_NAT) {
        SEP();
        WL(p, "\"nat\":");
        p = w_str(p, ru_nats[u->nat].code);
    }
    *p++ = '}';
#undef SEP
    return p;
}

void sl_ru_user_json(const sl_ru_user *u, uint32_t f, sl_buf *b)
{
    sl_buf_reserve(b, USER_ROOM);
    char *start = (char *)b->ptr + b->len;
    b->len += (size_t)(w_user_json(start, u, f) - start);
}

/* Re-indents compact JSON by two spaces, as JSON.stringify(v, null, 2) lays it out. */
static void pretty_print(const sl_buf *in, sl_buf *out)
{
    int depth = 0;
    bool in_str = false;
    const char *s = (const char *)in->ptr;
    for (size_t i = 0; i < in->len; i++) {
        char c = s[i];
        if (in_str) {
            put(out, &c, 1);
            if (c == '\\' && i + 1 < in->len) {
                put(out, &s[++i], 1);
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            put(out, &c, 1);
            break;
        case '{':
        case '[':
            put(out, &c, 1);
            if (i + 1 < in->len && (s[i + 1] == '}' || s[i + 1] == ']')) {
                put(out, &s[++i], 1);
                break;
            }
            depth++;
            PUTL(out, "\n");
            for (int k = 0; k < depth; k++)
                PUTL(out, "  ");
            break;
        case '}':
        case ']':
            depth--;
            PUTL(out, "\n");
            for (int k = 0; k < depth; k++)
                PUTL(out, "  ");
            put(out, &c, 1);
            break;
        case ',':
            PUTL(out, ",\n");
            for (int k = 0; k < depth; k++)
                PUTL(out, "  ");
            break;
        case ':': PUTL(out, ": "); break;
        default: put(out, &c, 1); break;
        }
    }
}

/* CSV columns per field, in order, as randomuser's json2csv flattening names them. */
static const char *const csv_cols[12] = {
    "gender",
    "name.title,name.first,name.last",
    "location.street.number,location.street.name,location.city,location.state,"
    "location.country,location.postcode,location.coordinates.latitude,"
    "location.coordinates.longitude,location.timezone.offset,location.timezone.description",
    "email",
    "login.uuid,login.username,login.password,login.salt,login.md5,login.sha1,login.sha256",
    "dob.date,dob.age",
    "registered.date,registered.age",
    "phone",
    "cell",
    "id.name,id.value",
    "picture.large,picture.medium,picture.thumbnail",
    "nat"};

/* A CSV cell: always quoted, inner quotes doubled (RFC 4180). */
static char *w_csv(char *p, const char *s)
{
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"') *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

static char *w_csv_row(char *p, const sl_ru_user *u, uint32_t f)
{
    bool first = true;
#define SEP()                                                                                      \
    do {                                                                                           \
        if (!first) *p++ = ',';                                                                    \
        first = false;                                                                             \
    } while (0)
#define COL_S(v)                                                                                   \
    do {                                                                                           \
        SEP();                                                                                     \
        p = w_csv(p, (v));                                                                         \
    } while (0)
#define COL_I(v)                                                                                   \
    do {                                                                                           \
        SEP();                                                                                     \
        p = w_int(p, (v));                                                                         \
    } while (0)
    if (f & SL_RU_F_GENDER) COL_S(u->female ? "female" : "male");
    if (f & SL_RU_F_NAME) {
        COL_S(u->title);
        COL_S(u->first);
        COL_S(u->last);
    }
    if (f & SL_RU_F_LOCATION) {
        COL_I(u->street_number);
        COL_S(u->street);
        COL_S(u->city);
        COL_S(u->state);
        COL_S(u->country);
        if (u->postcode_is_int)
            COL_I(u->postcode_int);
        else
            COL_S(u->postcode);
        COL_S(u->latitude);
        COL_S(u->longitude);
        COL_S(u->tz_offset);
        COL_S(u->tz_desc);
    }
    if (f & SL_RU_F_EMAIL) COL_S(u->email);
    if (f & SL_RU_F_LOGIN) {
        COL_S(u->uuid);
        COL_S(u->username);
        COL_S(u->password);
        COL_S(u->salt);
        COL_S(u->md5);
        COL_S(u->sha1);
        COL_S(u->sha256);
    }
    if (f & SL_RU_F_DOB) {
        COL_S(u->dob);
        COL_I(u->dob_age);
    }
    if (f & SL_RU_F_REGISTERED) {
        COL_S(u->registered);
        COL_I(u->registered_age);
    }
    if (f & SL_RU_F_PHONE) COL_S(u->phone);
    if (f & SL_RU_F_CELL) COL_S(u->cell);
    if (f & SL_RU_F_ID) {
        COL_S(u->id_name);
        SEP(); /* a null id value is an empty cell */
        if (!u->id_null) p = w_csv(p, u->id_value);
    }
    if (f & SL_RU_F_PICTURE) {
        static const char *const sizes[] = {"", "med/", "thumb/"};
        for (int i = 0; i < 3; i++) {
            SEP();
            *p++ = '"';
            p = w_picture(p, u, sizes[i]);
            *p++ = '"';
        }
    }
    if (f & SL_RU_F_NAT) COL_S(ru_nats[u->nat].code);
    *p++ = '\n';
#undef COL_S
#undef COL_I
#undef SEP
    return p;
}

const char *sl_ru_render(const sl_ru_params *p, sl_buf *out)
{
    uint32_t f = sl_ru_params_fields(p);
    sl_ru_gen g;
    sl_ru_gen_init(&g, p->seed, p->seed_len, p->page);
    sl_ru_gender gender = p->seed_given ? SL_RU_ANY : p->gender;
    bool with_login = (f & SL_RU_F_LOGIN) != 0;
    sl_ru_user u;
    if (p->format == SL_RU_CSV) {
        bool first = true;
        for (size_t i = 0; i < SL_ARRAY_LEN(csv_cols); i++) {
            if (!(f & (1u << i))) continue;
            if (!first) PUTL(out, ",");
            first = false;
            for (const char *c = csv_cols[i]; *c;) {
                const char *e = strchr(c, ',');
                size_t n = e ? (size_t)(e - c) : strlen(c);
                PUTL(out, "\"");
                put(out, c, n);
                PUTL(out, "\"");
                if (e == NULL) break;
                PUTL(out, ",");
                c = e + 1;
            }
        }
        PUTL(out, "\n");
        for (int i = 0; i < p->results; i++) {
            sl_ru_gen_user(&g, p->nats, gender, with_login, &u);
            sl_buf_reserve(out, USER_ROOM);
            char *start = (char *)out->ptr + out->len;
            out->len += (size_t)(w_csv_row(start, &u, f) - start);
        }
        return "text/csv; charset=utf-8";
    }
    sl_buf tmp = SL_BUF_INIT;
    sl_buf *b = p->format == SL_RU_PRETTY ? &tmp : out;
    sl_buf_reserve(b, (size_t)p->results * 1100 + 128);
    PUTL(b, "{\"results\":[");
    for (int i = 0; i < p->results; i++) {
        if (i > 0) PUTL(b, ",");
        sl_ru_gen_user(&g, p->nats, gender, with_login, &u);
        sl_ru_user_json(&u, f, b);
    }
    PUTL(b, "]");
    if (!p->noinfo) {
        /* The seed is the one unbounded string: up to 6 bytes per byte once escaped. */
        sl_buf_reserve(b, 6 * p->seed_len + 128);
        char *start = (char *)b->ptr + b->len, *w = start;
        WL(w, ",\"info\":{\"seed\":");
        w = w_seed(w, p->seed, p->seed_len);
        WL(w, ",\"results\":");
        w = w_int(w, p->results);
        WL(w, ",\"page\":");
        w = w_int(w, p->page);
        WL(w, ",\"version\":\"1.4\"}");
        b->len += (size_t)(w - start);
    }
    PUTL(b, "}");
    if (p->format == SL_RU_PRETTY) {
        pretty_print(&tmp, out);
        sl_buf_free(&tmp);
    }
    return "application/json; charset=utf-8";
}
