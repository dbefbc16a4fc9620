/* auth.c: secret redaction and password hashes (auth.h). */
#include "auth/auth.h"

#include "core/sl.h"

#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <errno.h>
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

/* BASIC_B64_MAX: the longest base64 credentials of an Authorization header decoded */
enum { CACHE_SLOTS = 16, MAC_LEN = 32, NAME_MAX_LEN = 256, BASIC_B64_MAX = 4096 };

typedef struct {
    char *name;
    char *hash;
} auth_user;

struct sl_auth_users {
    auth_user *v;
    size_t n;
    unsigned char key[MAC_LEN];
    unsigned char cache[CACHE_SLOTS][MAC_LEN];
    bool used[CACHE_SLOTS];
    unsigned next;
};

int sl_auth_users_load(const char *path, sl_auth_users **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    sl_auth_users *u = sl_calloc(1, sizeof *u);
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (!*p || *p == '#') continue;
        char *name = strtok(p, " \t"), *hash = strtok(NULL, " \t"), *extra = strtok(NULL, " \t");
        const char *why = !hash                         ? "want NAME HASH"
                          : extra                       ? "more than NAME HASH"
                          : strlen(name) > NAME_MAX_LEN ? "name too long"
                          : !sl_auth_hash_valid(hash)
                              ? "not a pbkdf2-sha256 hash (make one with sluice store passwd)"
                              : NULL;
        for (size_t i = 0; !why && i < u->n; i++)
            if (strcmp(u->v[i].name, name) == 0) why = "user listed twice";
        if (why) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = SL_ERR_CONFIG;
            break;
        }
        u->v = sl_realloc(u->v, (u->n + 1) * sizeof *u->v);
        u->v[u->n++] = (auth_user){sl_strdup(name), sl_strdup(hash)};
    }
    fclose(f);
    if (!rc && u->n == 0) {
        snprintf(err, errlen, "%s: no users", path);
        rc = SL_ERR_CONFIG;
    }
    if (rc) {
        sl_auth_users_free(u);
        return rc;
    }
    if (RAND_bytes(u->key, sizeof u->key) != 1) abort();
    *out = u;
    return 0;
}

void sl_auth_users_free(sl_auth_users *u)
{
    if (!u) return;
    for (size_t i = 0; i < u->n; i++) {
        sl_free(u->v[i].name);
        sl_free(u->v[i].hash);
    }
    sl_free(u->v);
    OPENSSL_cleanse(u, sizeof *u);
    sl_free(u);
}

bool sl_auth_users_check(sl_auth_users *u, const char *name, size_t nlen, const char *password,
                         size_t pwlen)
{
    /* The MAC covers name, a NUL and the password, so no two pairs share one. */
    unsigned char mac[MAC_LEN];
    unsigned int maclen = 0;
    size_t n = nlen + 1 + pwlen;
    unsigned char *msg = sl_malloc(n);
    memcpy(msg, name, nlen);
    msg[nlen] = 0;
    memcpy(msg + nlen + 1, password, pwlen);
    HMAC(EVP_sha256(), u->key, sizeof u->key, msg, n, mac, &maclen);
    OPENSSL_cleanse(msg, n);
    sl_free(msg);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (u->used[i] && CRYPTO_memcmp(u->cache[i], mac, MAC_LEN) == 0) return true;
    const char *hash = NULL;
    for (size_t i = 0; i < u->n; i++)
        if (strlen(u->v[i].name) == nlen && memcmp(u->v[i].name, name, nlen) == 0)
            hash = u->v[i].hash;
    /* An unknown user costs the same PBKDF2 as a known one, against the first user's hash. */
    bool ok = sl_auth_verify(hash ? hash : u->v[0].hash, password, pwlen) && hash;
    if (ok) {
        memcpy(u->cache[u->next], mac, MAC_LEN);
        u->used[u->next] = true;
        u->next = (u->next + 1) % CACHE_SLOTS;
    }
    return ok;
}

bool sl_auth_basic_decode(const char *authorization, char *user, size_t ulen, char *pw,
                          size_t pwlen)
{
    if (ulen) user[0] = '\0';
    if (pwlen) pw[0] = '\0';
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0) return false;
    const char *b64 = authorization + 6;
    b64 += strspn(b64, " ");
    size_t len = strlen(b64);
    if (len == 0 || len % 4 || len > BASIC_B64_MAX) return false;
    unsigned char dec[BASIC_B64_MAX / 4 * 3 + 1];
    int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len);
    /* EVP_DecodeBlock counts the padding's zero bytes. */
    if (n >= 1 && b64[len - 1] == '=') n--;
    if (n >= 1 && b64[len - 2] == '=') n--;
    const unsigned char *colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
    size_t nl = colon ? (size_t)(colon - dec) : 0, pl = colon ? (size_t)n - nl - 1 : 0;
    bool ok = colon && !memchr(dec, '\0', (size_t)n) && nl < ulen && pl < pwlen;
    if (ok) {
        memcpy(user, dec, nl);
        user[nl] = '\0';
        memcpy(pw, colon + 1, pl);
        pw[pl] = '\0';
    }
    OPENSSL_cleanse(dec, sizeof dec);
    return ok;
}

bool sl_auth_users_check_basic(sl_auth_users *u, const char *authorization)
{
    char user[NAME_MAX_LEN + 1], pw[BASIC_B64_MAX / 4 * 3 + 1];
    bool ok = sl_auth_basic_decode(authorization, user, sizeof user, pw, sizeof pw) &&
              sl_auth_users_check(u, user, strlen(user), pw, strlen(pw));
    OPENSSL_cleanse(pw, sizeof pw);
    return ok;
}

bool sl_auth_token_equal(const char *given, const char *want)
{
    size_t n = strlen(want);
    return given && strlen(given) == n && CRYPTO_memcmp(given, want, n) == 0;
}

int sl_auth_kafka_conf(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    const char *path = getenv("SLUICE_KAFKA_CONFIG");
    if (!path || !*path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "SLUICE_KAFKA_CONFIG %s: %s", path, strerror(e));
        return -e;
    }
    char line[4096], e[256];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *k = line + strspn(line, " \t");
        if (!*k || *k == '#') continue;
        char *eq = strchr(k, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: want key=value", path, lineno);
            rc = SL_ERR_CONFIG;
            break;
        }
        *eq = '\0';
        k[strcspn(k, " \t")] = '\0';
        if (rd_kafka_conf_set(conf, k, eq + 1, e, sizeof e) != RD_KAFKA_CONF_OK) {
            /* e may quote the value: only the key is reported. */
            snprintf(err, errlen, "%s:%d: %s: not accepted by librdkafka", path, lineno, k);
            rc = SL_ERR_CONFIG;
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return rc;
}

const char *sl_auth_cql_password(const char *given, const char *dflt)
{
    const char *env = getenv(SL_AUTH_CQL_PASSWORD_ENV);
    return given ? given : env ? env : dflt;
}
