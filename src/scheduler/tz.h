/* tz.h: UTC offsets of IANA time zones, read from the system tz database (TZif files, RFC 8536,
 * with their POSIX TZ footer for instants past the last listed transition). A loaded zone is
 * immutable, so any thread may use it; nothing touches the process's TZ. */
#ifndef SL_SCHEDULER_TZ_H
#define SL_SCHEDULER_TZ_H

#include "core/sl.h"

typedef struct sl_tz sl_tz;

/* Loads zone name ("Europe/Paris"; "UTC" too) from $TZDIR or /usr/share/zoneinfo. A name with
 * "..", a leading '/' or odd characters, a missing file or a malformed one writes a one-line
 * reason into err and returns SL_ERR_NOTFOUND or SL_ERR_PARSE. */
int sl_tz_load(const char *name, sl_tz **out, char *err, size_t errlen);
void sl_tz_free(sl_tz *z);

/* The offset from UTC, in seconds east, in force at t (seconds since the epoch). */
int32_t sl_tz_offset(const sl_tz *z, int64_t t);

#endif
