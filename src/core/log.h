/* log.h: levelled logging with a subsystem tag, a context prefix and rate limiting.
 *
 * A line reads: 2026-11-22T01:50:00.123Z INFO  kafka [127.0.0.1:51234] message
 * The macros test the level before evaluating their arguments. The same call site repeating
 * more than SL_LOG_BURST times within a second is suppressed, and the count of suppressed
 * lines is reported when it next logs. Thread-safe. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>

typedef enum { SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG, SL_LOG_TRACE } sl_log_level_t;

#define SL_LOG_BURST 10

extern int sl_log_level;

/* Parses "error", "warn", "info", "debug" or "trace"; returns the level or -1. */
int sl_log_level_parse(const char *s);
/* Sends output to fd (default 2). */
void sl_log_set_fd(int fd);

#define sl_log(lvl, subsys, ctx, ...)                                                              \
    do {                                                                                           \
        if ((int)(lvl) <= sl_log_level) sl__log((lvl), (subsys), (ctx), __VA_ARGS__);              \
    } while (0)

#define SL_ERROR(subsys, ...) sl_log(SL_LOG_ERROR, subsys, NULL, __VA_ARGS__)
#define SL_WARN(subsys, ...)  sl_log(SL_LOG_WARN, subsys, NULL, __VA_ARGS__)
#define SL_INFO(subsys, ...)  sl_log(SL_LOG_INFO, subsys, NULL, __VA_ARGS__)
#define SL_DEBUG(subsys, ...) sl_log(SL_LOG_DEBUG, subsys, NULL, __VA_ARGS__)
#define SL_TRACE(subsys, ...) sl_log(SL_LOG_TRACE, subsys, NULL, __VA_ARGS__)

/* The fmt pointer identifies the call site for rate limiting. ctx may be NULL. */
void sl__log(int lvl, const char *subsys, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
