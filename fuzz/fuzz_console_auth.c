/* fuzz_console_auth.c: the console's credential parsing, which every /api/ request reaches before
 * any route: the session cookie (sl_http_cookie_get), HTTP basic credentials
 * (sl_auth_basic_decode, shared with the registry) and the session and CSRF token comparison
 * (sl_auth_token_equal). The input is used three ways: as a Cookie header, as an Authorization
 * header, and as the user:password text of an Authorization header sluice encodes itself.
 *
 * Invariants: no crash or read past the input; a cookie value fits its buffer and is the text
 * after "sluice_session=" in the header; decoded credentials fit, hold no NUL, and the user no
 * colon; encoding decoded credentials and decoding again gives them back; credentials encoded
 * here decode exactly when they are user:password text that fits; a token equals only itself. */
#include "fuzz.h"

#include "auth/auth.h"
#include "web/http.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { ID_LEN = 64, USER_MAX = 65, PW_MAX = 1025 };

static const char token[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* "Basic " and the base64 of n bytes of p. */
static char *basic_of(const void *p, size_t n)
{
    char *h = malloc(6 + 4 * (n / 3 + 1) + 1);
    memcpy(h, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)h + 6, p, (int)n);
    return h;
}

static void cookie(const char *hdr)
{
    char id[ID_LEN + 2];
    if (!sl_http_cookie_get(hdr, "sluice_session", id, sizeof id)) return;
    size_t n = strlen(id);
    if (n >= sizeof id) __builtin_trap();
    char *want = malloc(n + 16);
    memcpy(want, "sluice_session=", 15);
    memcpy(want + 15, id, n + 1);
    if (!strstr(hdr, want)) __builtin_trap();
    free(want);
    /* the session lookup compares the id with each session's */
    if (sl_auth_token_equal(id, token) != !strcmp(id, token)) __builtin_trap();
}

static void authorization(const char *hdr)
{
    char user[USER_MAX], pw[PW_MAX];
    if (!sl_auth_basic_decode(hdr, user, sizeof user, pw, sizeof pw)) {
        if (user[0] || pw[0]) __builtin_trap();
        return;
    }
    if (strchr(user, ':')) __builtin_trap();
    size_t ul = strlen(user), pl = strlen(pw);
    char *plain = malloc(ul + pl + 2);
    memcpy(plain, user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, pw, pl + 1);
    char *again = basic_of(plain, ul + 1 + pl);
    char u2[USER_MAX], p2[PW_MAX];
    if (!sl_auth_basic_decode(again, u2, sizeof u2, p2, sizeof p2) || strcmp(u2, user) ||
        strcmp(p2, pw))
        __builtin_trap();
    free(again);
    free(plain);
}

static void encoded(const uint8_t *data, size_t size)
{
    if (size > 3000) return; /* the decoder's bound on base64 text (4096 bytes) */
    char *hdr = basic_of(data, size);
    char user[USER_MAX], pw[PW_MAX];
    bool ok = sl_auth_basic_decode(hdr, user, sizeof user, pw, sizeof pw);
    const uint8_t *colon = memchr(data, ':', size);
    bool want = colon && !memchr(data, '\0', size) && (size_t)(colon - data) < sizeof user &&
                size - (size_t)(colon - data) - 1 < sizeof pw;
    if (ok != want) __builtin_trap();
    if (ok && (strlen(user) != (size_t)(colon - data) || memcmp(user, data, strlen(user)) ||
               memcmp(pw, colon + 1, strlen(pw)) || strlen(user) + 1 + strlen(pw) != size))
        __builtin_trap();
    free(hdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    cookie(s);
    authorization(s);
    if (sl_auth_token_equal(s, token) != !strcmp(s, token)) __builtin_trap();
    free(s);
    encoded(data, size);
    return 0;
}
