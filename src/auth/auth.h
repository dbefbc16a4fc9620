/* auth.h: credentials helpers shared by every component: redacting secrets before a string
 * (URL, DSN, client property list) is logged or shown, and password hashes.
 *
 * A hash is the string "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX": PBKDF2-HMAC-SHA256 from
 * OpenSSL, a 16-byte random salt and a 32-byte result; `sluice store passwd` prints one. */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define SL_AUTH_HASH_PREFIX "pbkdf2-sha256$"
#define SL_AUTH_ITERATIONS  100000
#define SL_AUTH_HASH_LEN    128 /* room for a hash string and its NUL */

/* Copies s to out (at most outlen-1 bytes, always NUL-terminated) with its secrets replaced by
 * "***": the password of a scheme://user:password@host authority and the value of every
 * ...password=VALUE parameter (URL query, libpq "key=value" string, librdkafka property).
 * Redaction is done on the whole input before truncation, so no part of a secret survives a
 * short buffer. Returns out. */
const char *sl_auth_redact(const char *s, char *out, size_t outlen);

/* The environment variable sluice's CQL clients read a password from, so that it need not be
 * on a command line (where any local user sees it in ps); `sluice up` sets it for its children. */
#define SL_AUTH_CQL_PASSWORD_ENV "SLUICE_CQL_PASSWORD"
/* given when not NULL, else $SLUICE_CQL_PASSWORD when set, else dflt. */
const char *sl_auth_cql_password(const char *given, const char *dflt);

/* Writes a hash of password (a fresh random salt, iterations rounds) into out, at least
 * SL_AUTH_HASH_LEN bytes. Returns 0, or SL_ERR_INVAL for iterations < 1. */
int sl_auth_hash(const char *password, size_t pwlen, int iterations, char *out);
/* True if s is a well-formed hash string (prefix, 1..10^8 iterations, 32 hex salt, 64 hex hash). */
bool sl_auth_hash_valid(const char *s);
/* Checks a password against a hash string in time independent of where they differ; false for
 * a malformed hash. Slow by design (PBKDF2): keep it off hot paths or cache successes. */
bool sl_auth_verify(const char *hash, const char *password, size_t pwlen);

/* Users from a file of "NAME HASH" lines (# comments and blank lines skipped; HASH as above),
 * for HTTP basic auth and SASL/PLAIN. Successful checks are remembered as HMACs under a random
 * per-process key, so a client sending the same credentials on every request pays PBKDF2 once.
 * Not thread-safe: one owner thread. */
typedef struct sl_auth_users sl_auth_users;

/* Loads path. Returns 0, or SL_ERR_CONFIG / -errno with err set ("FILE:LINE: reason"). */
int sl_auth_users_load(const char *path, sl_auth_users **out, char *err, size_t errlen);
void sl_auth_users_free(sl_auth_users *u);
/* True if name is a user of u and password its password. */
bool sl_auth_users_check(sl_auth_users *u, const char *name, size_t nlen, const char *password,
                         size_t pwlen);
/* Checks an HTTP "Authorization: Basic BASE64(user:password)" header value (NULL: false). */
bool sl_auth_users_check_basic(sl_auth_users *u, const char *authorization);

/* Decodes an HTTP "Authorization: Basic BASE64(user:password)" value (NULL: false) into user and
 * pw, each NUL-terminated (ulen and pwlen count the NUL). False when it is not Basic, not
 * base64, has no colon, holds a NUL byte, or a part does not fit; user and pw are then cleared. */
bool sl_auth_basic_decode(const char *authorization, char *user, size_t ulen, char *pw,
                          size_t pwlen);
/* True if given (any string, NULL: false) is the secret token want, compared in time
 * independent of where they differ (session ids, CSRF tokens). */
bool sl_auth_token_equal(const char *given, const char *want);

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

/* Applies the librdkafka properties of the file named by $SLUICE_KAFKA_CONFIG, one key=value a
 * line (# comments), e.g. security.protocol, sasl.mechanism, sasl.username, sasl.password, so
 * sluice's own clients reach a broker with SASL without a secret on any command line. Nothing
 * when the variable is unset. Returns 0, or SL_ERR_CONFIG / -errno with err set (FILE:LINE and
 * the key, never the value). */
int sl_auth_kafka_conf(rd_kafka_conf_t *conf, char *err, size_t errlen);

#endif
