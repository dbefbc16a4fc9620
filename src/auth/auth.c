/* auth.c: secret redaction (auth.h). */
#include "auth/auth.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

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
