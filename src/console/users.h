/* users.h: the console's users, stored hashed in one file (DIR/users, mode 0600).
 *
 * Each line is "NAME ROLE pbkdf2-sha256 ITERATIONS SALT_HEX HASH_HEX": a 16-byte random salt and
 * PBKDF2-HMAC-SHA256 from OpenSSL. The file is rewritten whole (temp file, fsync, rename) on each
 * change. Thread-safe: a mutex guards the table, and the slow hash runs outside it. */
#ifndef SL_CONSOLE_USERS_H
#define SL_CONSOLE_USERS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { SL_ROLE_NONE = 0, SL_ROLE_VIEWER = 1, SL_ROLE_ADMIN = 2 } sl_role;

typedef struct sl_users sl_users;

#define SL_USERS_PBKDF2_ITERATIONS 100000
#define SL_USERS_NAME_MAX          64
#define SL_USERS_PASSWORD_MAX      1024

/* Loads DIR/users, creating DIR and the file when missing. When the file had to be created, an
 * admin "admin" with a random password is written and the password copied to first_pw (at
 * least 32 bytes), else first_pw[0] = '\0'. Returns 0, or a negative code with err set. */
int sl_users_open(const char *dir, sl_users **out, char *first_pw, size_t pwlen, char *err,
                  size_t errlen);
void sl_users_free(sl_users *u);
/* Checks a password (slow: PBKDF2, run it off the loop). Returns the user's role, or
 * SL_ROLE_NONE for an unknown user or a wrong password, in about the same time for both. */
sl_role sl_users_verify(sl_users *u, const char *name, const char *password);
/* Adds a user, or replaces its password and role, and saves the file. Returns 0, SL_ERR_INVAL
 * for a bad name (want [A-Za-z0-9_.@-], 1-64 chars) or password (1-1024 bytes), or -errno. */
int sl_users_set(sl_users *u, const char *name, const char *password, sl_role role);
/* Removes a user and saves; SL_ERR_NOTFOUND if absent, SL_ERR_INVAL for the last admin. */
int sl_users_delete(sl_users *u, const char *name);
/* Calls fn for each user in file order. */
void sl_users_each(sl_users *u, void (*fn)(void *arg, const char *name, sl_role role), void *arg);
/* The current role of a user (SL_ROLE_NONE if deleted). */
sl_role sl_users_role(sl_users *u, const char *name);

/* "admin" / "viewer"; and back (SL_ROLE_NONE for anything else). */
const char *sl_role_name(sl_role r);
sl_role sl_role_parse(const char *s);
/* Writes a random password of 24 URL-safe characters (and its NUL) into out (>= 25 bytes). */
void sl_users_random_password(char *out);
/* Fills out with n random bytes as 2n hex digits and a NUL (from OpenSSL's RAND_bytes). */
void sl_random_hex(char *out, size_t n);

#endif
