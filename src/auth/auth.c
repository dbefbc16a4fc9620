/* auth.c: secret redaction and password hashes (auth.h). */
#include "auth/auth.h"

#include "core/sl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { SALT_LEN = 16, DK_LEN = 32, MAX_ITERATIONS = 100000000 };

typedef struct {
    char *out;
    size_t cap, len;
} sink;

static void put(sink *k, const char *p, size_t n)
{
    for (size_t i = 0; i < n && k->len + 1 < k->cap; i++)
        k->out[k->len++] = p[i];
}

/* End of a parameter value starting at v: a quoted libpq value runs to its closing quote. */
static const char *value_end(const char *v)
{
    if (*v == '\'') {
        for (v++; *v && *v != '\''; v++)
            if (*v == '\\' && v[1]) v++;
        return *v ? v + 1 : v;
    }
    return v + strcspn(v, "& ;,\t\n");
}

const char *sl_auth_redact(const char *s, char *out, size_t outlen)
{
    sink k = {out, outlen, 0};
    if (outlen == 0) return out;
    /* The userinfo ends at the last '@' before any query: a password may hold '/' or '@'
     * unencoded, and redacting too much is the safe mistake. */
    const char *scheme = strstr(s, "://");
    const char *user = scheme ? scheme + 3 : NULL, *at = NULL, *colon = NULL;
    if (user) {
        const char *q = user + strcspn(user, "?#");
        for (const char *p = user; p < q; p++)
            if (*p == '@') at = p;
        if (at) colon = memchr(user, ':', (size_t)(at - user));
    }
    const char *p = s;
    while (*p) {
        if (colon && p == colon + 1) {
            put(&k, "***", 3);
            p = at;
            colon = NULL;
            continue;
        }
        if (strncasecmp(p, "password=", 9) == 0) {
            put(&k, p, 9);
            put(&k, "***", 3);
            p = value_end(p + 9);
            continue;
        }
        put(&k, p++, 1);
    }
    out[k.len] = '\0';
    return out;
}

static void hexenc(char *out, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Exactly 2n lowercase hex digits from s into out; returns the end, or NULL. */
static const char *hexdec(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return NULL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return s + 2 * n;
}

/* Splits a hash string; false if malformed. */
static bool parse(const char *s, int *iterations, unsigned char salt[SALT_LEN],
                  unsigned char dk[DK_LEN])
{
    size_t plen = strlen(SL_AUTH_HASH_PREFIX);
    if (strncmp(s, SL_AUTH_HASH_PREFIX, plen) != 0) return false;
    s += plen;
    long it = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
        it = it * 10 + (*s - '0');
    if (digits == 0 || it < 1 || it > MAX_ITERATIONS || *s++ != '$') return false;
    if (!(s = hexdec(s, salt, SALT_LEN)) || *s++ != '$') return false;
    if (!(s = hexdec(s, dk, DK_LEN)) || *s) return false;
    *iterations = (int)it;
    return true;
}

static void derive(const char *pw, size_t pwlen, const unsigned char *salt, int iterations,
                   unsigned char dk[DK_LEN])
{
    if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, SALT_LEN, iterations, EVP_sha256(), DK_LEN, dk) !=
        1) {
        fprintf(stderr, "sluice: OpenSSL PBKDF2 failed\n");
        abort();
    }
}

int sl_auth_hash(const char *password, size_t pwlen, int iterations, char *out)
{
    if (iterations < 1 || iterations > MAX_ITERATIONS) return SL_ERR_INVAL;
    unsigned char salt[SALT_LEN], dk[DK_LEN];
    if (RAND_bytes(salt, SALT_LEN) != 1) {
        fprintf(stderr, "sluice: OpenSSL RAND_bytes failed\n");
        abort();
    }
    derive(password, pwlen, salt, iterations, dk);
    char sh[2 * SALT_LEN + 1], dh[2 * DK_LEN + 1];
    hexenc(sh, salt, SALT_LEN);
    hexenc(dh, dk, DK_LEN);
    snprintf(out, SL_AUTH_HASH_LEN, "%s%d$%s$%s", SL_AUTH_HASH_PREFIX, iterations, sh, dh);
    OPENSSL_cleanse(dk, sizeof dk);
    return 0;
}

bool sl_auth_hash_valid(const char *s)
{
    int it;
    unsigned char salt[SALT_LEN], dk[DK_LEN];
    return s && parse(s, &it, salt, dk);
}

bool sl_auth_verify(const char *hash, const char *password, size_t pwlen)
{
    int it;
    unsigned char salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
    if (!parse(hash, &it, salt, want)) return false;
    derive(password, pwlen, salt, it, got);
    bool ok = CRYPTO_memcmp(want, got, DK_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}
