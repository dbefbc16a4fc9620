/* auth.h: credentials helpers shared by every component: redacting secrets before a string
 * (URL, DSN, client property list) is logged or shown. */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stddef.h>

/* Copies s to out (at most outlen-1 bytes, always NUL-terminated) with its secrets replaced by
 * "***": the password of a scheme://user:password@host authority and the value of every
 * ...password=VALUE parameter (URL query, libpq "key=value" string, librdkafka property).
 * Redaction is done on the whole input before truncation, so no part of a secret survives a
 * short buffer. Returns out. */
const char *sl_auth_redact(const char *s, char *out, size_t outlen);

#endif
