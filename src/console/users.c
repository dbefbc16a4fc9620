/* users.c: the console's users file and password hashing (see users.h). */
#include "console/users.h"

#include "auth/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/sl.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file spells a hash "pbkdf2-sha256 N SALT HASH"; in memory it is the auth module's
 * "pbkdf2-sha256$N$SALT$HASH" string, so hashing and checking are sl_auth_hash/sl_auth_verify. */
typedef struct user {
    char name[SL_USERS_NAME_MAX + 1];
    sl_role role;
    char hash[SL_AUTH_HASH_LEN];
} user;

struct sl_users {
    pthread_mutex_t mu;
    char *path;
    user *v;
    size_t n, cap;
    char dummy_hash[SL_AUTH_HASH_LEN]; /* unknown users are hashed too, against timing probes */
};

const char *sl_role_name(sl_role r)
{
    return r == SL_ROLE_ADMIN ? "admin" : r == SL_ROLE_VIEWER ? "viewer" : "none";
}

sl_role sl_role_parse(const char *s)
{
    if (s && !strcmp(s, "admin")) return SL_ROLE_ADMIN;
    if (s && !strcmp(s, "viewer")) return SL_ROLE_VIEWER;
    return SL_ROLE_NONE;
}

static void random_bytes(unsigned char *p, size_t n)
{
    if (RAND_bytes(p, (int)n) != 1) {
        /* No randomness means no safe passwords or session ids: stop rather than guess. */
        SL_ERROR("console", "OpenSSL RAND_bytes failed");
        abort();
    }
}

void sl_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    while (n > 0) {
        size_t k = SL_MIN(n, sizeof b);
        random_bytes(b, k);
        for (size_t i = 0; i < k; i++) {
            *out++ = hex[b[i] >> 4];
            *out++ = hex[b[i] & 15];
        }
        n -= k;
    }
    *out = '\0';
}

void sl_users_random_password(char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[24];
    random_bytes(b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++)
        out[i] = alphabet[b[i] & 63];
    out[sizeof b] = '\0';
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SL_USERS_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.@-", c)))
            return false;
    }
    return true;
}

static int save(sl_users *u)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_append_str(&b, "# sluice console users: NAME ROLE pbkdf2-sha256 ITERATIONS SALT HASH\n");
    for (size_t i = 0; i < u->n; i++) {
        char spaced[SL_AUTH_HASH_LEN];
        memcpy(spaced, u->v[i].hash, sizeof spaced);
        for (char *d = strchr(spaced, '$'); d; d = strchr(d, '$'))
            *d = ' ';
        sl_buf_printf(&b, "%s %s %s\n", u->v[i].name, sl_role_name(u->v[i].role), spaced);
    }
    int rc = sl_write_file_atomic(u->path, b.ptr, b.len, 0600, true);
    OPENSSL_cleanse(b.ptr, b.cap);
    sl_buf_free(&b);
    return rc;
}

static user *find(sl_users *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (!strcmp(u->v[i].name, name)) return &u->v[i];
    return NULL;
}

static void set_locked(sl_users *u, const char *name, const char *password, sl_role role)
{
    user *x = find(u, name);
    if (!x) {
        if (u->n == u->cap) {
            u->cap = u->cap ? 2 * u->cap : 8;
            u->v = sl_realloc(u->v, u->cap * sizeof *u->v);
        }
        x = &u->v[u->n++];
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s", name);
    }
    x->role = role;
    sl_auth_hash(password, strlen(password), SL_USERS_PBKDF2_ITERATIONS, x->hash);
}

static int load(sl_users *u, FILE *f, char *err, size_t errlen)
{
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        char name[128], role[16], kdf[32], salt[64], hash[128];
        int iters;
        user x = {0};
        if (sscanf(line, "%127s %15s %31s %d %63s %127s", name, role, kdf, &iters, salt, hash) !=
                6 ||
            !name_ok(name) || strcmp(kdf, "pbkdf2-sha256") || iters < 1000 ||
            (x.role = sl_role_parse(role)) == SL_ROLE_NONE ||
            snprintf(x.hash, sizeof x.hash, "pbkdf2-sha256$%d$%s$%s", iters, salt, hash) >=
                (int)sizeof x.hash ||
            !sl_auth_hash_valid(x.hash)) {
            snprintf(err, errlen, "%s:%d: not a user line (NAME ROLE pbkdf2-sha256 N SALT HASH)",
                     u->path, lineno);
            return SL_ERR_CONFIG;
        }
        memcpy(x.name, name, strlen(name) + 1); /* name_ok: at most SL_USERS_NAME_MAX */
        if (u->n == u->cap) {
            u->cap = u->cap ? 2 * u->cap : 8;
            u->v = sl_realloc(u->v, u->cap * sizeof *u->v);
        }
        u->v[u->n++] = x;
    }
    return 0;
}

int sl_users_open(const char *dir, sl_users **out, char *first_pw, size_t pwlen, char *err,
                  size_t errlen)
{
    first_pw[0] = '\0';
    int mk = sl_mkdirs(dir, 0700);
    if (mk < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-mk));
        return mk;
    }
    sl_users *u = sl_calloc(1, sizeof *u);
    pthread_mutex_init(&u->mu, NULL);
    size_t n = strlen(dir) + sizeof "/users";
    u->path = sl_malloc(n);
    snprintf(u->path, n, "%s/users", dir);
    /* A random salt and an all-zero result: checking against it costs a full PBKDF2 and never
     * matches, without paying a hash at start. */
    char salt_hex[33];
    sl_random_hex(salt_hex, 16);
    snprintf(u->dummy_hash, sizeof u->dummy_hash, "pbkdf2-sha256$%d$%s$%064d",
             SL_USERS_PBKDF2_ITERATIONS, salt_hex, 0);
    FILE *f = fopen(u->path, "r");
    int rc = 0;
    if (f) {
        rc = load(u, f, err, errlen);
        fclose(f);
    } else if (errno == ENOENT) {
        char pw[32];
        sl_users_random_password(pw);
        set_locked(u, "admin", pw, SL_ROLE_ADMIN);
        rc = save(u);
        if (rc)
            snprintf(err, errlen, "cannot write %s: %s", u->path, strerror(-rc));
        else
            snprintf(first_pw, pwlen, "%s", pw);
        OPENSSL_cleanse(pw, sizeof pw);
    } else {
        rc = -errno;
        snprintf(err, errlen, "cannot read %s: %s", u->path, strerror(errno));
    }
    if (rc) {
        sl_users_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

void sl_users_free(sl_users *u)
{
    if (!u) return;
    OPENSSL_cleanse(u->v, u->n * sizeof *u->v);
    sl_free(u->v);
    sl_free(u->path);
    pthread_mutex_destroy(&u->mu);
    sl_free(u);
}

sl_role sl_users_verify(sl_users *u, const char *name, const char *password)
{
    user x;
    pthread_mutex_lock(&u->mu);
    user *p = find(u, name);
    bool known = p != NULL;
    if (known) x = *p;
    pthread_mutex_unlock(&u->mu);
    const char *hash = known ? x.hash : u->dummy_hash;
    bool ok = sl_auth_verify(hash, password, strlen(password)) && known;
    return ok ? x.role : SL_ROLE_NONE;
}

int sl_users_set(sl_users *u, const char *name, const char *password, sl_role role)
{
    size_t pl = strlen(password);
    if (!name_ok(name) || pl == 0 || pl > SL_USERS_PASSWORD_MAX || role == SL_ROLE_NONE)
        return SL_ERR_INVAL;
    pthread_mutex_lock(&u->mu);
    set_locked(u, name, password, role);
    int rc = save(u);
    pthread_mutex_unlock(&u->mu);
    return rc;
}

int sl_users_delete(sl_users *u, const char *name)
{
    pthread_mutex_lock(&u->mu);
    user *x = find(u, name);
    int rc = 0;
    if (!x) {
        rc = SL_ERR_NOTFOUND;
    } else {
        size_t admins = 0;
        for (size_t i = 0; i < u->n; i++)
            admins += u->v[i].role == SL_ROLE_ADMIN;
        if (x->role == SL_ROLE_ADMIN && admins == 1) {
            rc = SL_ERR_INVAL; /* the console would have no one left to manage it */
        } else {
            size_t i = (size_t)(x - u->v);
            memmove(&u->v[i], &u->v[i + 1], (u->n - i - 1) * sizeof *u->v);
            u->n--;
            rc = save(u);
        }
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

void sl_users_each(sl_users *u, void (*fn)(void *arg, const char *name, sl_role role), void *arg)
{
    pthread_mutex_lock(&u->mu);
    for (size_t i = 0; i < u->n; i++)
        fn(arg, u->v[i].name, u->v[i].role);
    pthread_mutex_unlock(&u->mu);
}

sl_role sl_users_role(sl_users *u, const char *name)
{
    pthread_mutex_lock(&u->mu);
    user *x = find(u, name);
    sl_role r = x ? x->role : SL_ROLE_NONE;
    pthread_mutex_unlock(&u->mu);
    return r;
}
