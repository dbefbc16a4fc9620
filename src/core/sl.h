/* sl.h: status codes and allocation wrappers shared by every sluice module.
 *
 * Status model (STYLE.md 3): 0 is OK; a negative value is either -errno or one of the SL_ERR_*
 * codes below, which sit far below the errno range so the two never collide. Wire error codes
 * (Kafka's, CQL's) are separate types and never travel through these. */
#ifndef SL_H
#define SL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SL_OK 0
enum {
    SL_AGAIN = -20000,      /* frame incomplete: read more (nginx NGX_AGAIN) */
    SL_ERR_PARSE = -20001,  /* malformed input */
    SL_ERR_TOOBIG = -20002, /* a length or count over its configured limit */
    SL_ERR_CONFIG = -20003, /* invalid configuration value or file */
    SL_ERR_LIMIT = -20004,  /* a resource limit (connections, memory budget) was reached */
    SL_ERR_CLOSED = -20005, /* the peer or object is closed */
    SL_ERR_NOTFOUND = -20006,
    SL_ERR_EXISTS = -20007,
    SL_ERR_INVAL = -20008,   /* invalid argument from a caller */
    SL_ERR_CORRUPT = -20009, /* stored data failed a checksum */
    SL_ERR_UNSUPPORTED = -20010,
};

/* Returns a static description of an SL_ERR_* code or -errno value. */
const char *sl_strerror(int rc);

/* Allocation failure aborts with file:line (Redis zmalloc). Sizes a client sent must be checked
 * against a limit before they reach these. */
#define sl_malloc(n)     sl__malloc((n), __FILE__, __LINE__)
#define sl_calloc(n, m)  sl__calloc((n), (m), __FILE__, __LINE__)
#define sl_realloc(p, n) sl__realloc((p), (n), __FILE__, __LINE__)
#define sl_strdup(s)     sl__strdup((s), __FILE__, __LINE__)
#define sl_strndup(s, n) sl__strndup((s), (n), __FILE__, __LINE__)
#define sl_free(p)       free(p)
void *sl__malloc(size_t n, const char *file, int line);
void *sl__calloc(size_t n, size_t m, const char *file, int line);
void *sl__realloc(void *p, size_t n, const char *file, int line);
char *sl__strdup(const char *s, const char *file, int line);
char *sl__strndup(const char *s, size_t n, const char *file, int line);

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)    ((a) > (b) ? (a) : (b))
#define SL_UNUSED(x)    (void)(x)

/* Wall-clock milliseconds since the epoch, and monotonic milliseconds. */
int64_t sl_now_ms(void);
int64_t sl_mono_ms(void);
/* Monotonic nanoseconds, for benchmarks and latency figures. */
uint64_t sl_mono_ns(void);

/* Splits "host:port" or "[v6]:port". host receives a NUL-terminated copy (at most hostlen-1
 * chars). Returns 0 or SL_ERR_INVAL. */
int sl_hostport_parse(const char *s, char *host, size_t hostlen, int *port);

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31), and back: H. Hinnant's
 * days_from_civil / civil_from_days, exact for any year, with no libc time zone calls. */
int64_t sl_days_from_civil(int64_t y, int m, int d);
void sl_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* a / b rounded toward negative infinity: the day of a negative timestamp. */
static inline int64_t sl_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Parses "250ms", "30s", "5m", "2h", "7d" or a bare number of milliseconds. */
int sl_parse_duration_ms(const char *s, int64_t *out);
/* Parses "512", "64k", "100MiB", "1g" (powers of 1024). */
int sl_parse_size(const char *s, int64_t *out);
/* mkdir -p: creates path and every missing parent with mode (an existing one is left as it is).
 * Returns 0 or -errno (-ENAMETOOLONG past PATH_MAX). */
int sl_mkdirs(const char *path, unsigned mode);
/* Replaces path with len bytes of data all at once: written to path.tmp (mode), then renamed
 * over path. With sync, the data is fdatasync()ed before the rename and the directory fsync()ed
 * after it, so after a crash path holds the old or the new contents, never a mix. Returns 0 or
 * -errno (path.tmp removed). */
int sl_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, bool sync);
/* Reads all of path into *out (sl_malloc'd, NUL-terminated, *len bytes before the NUL). Returns 0,
 * -errno, or SL_ERR_TOOBIG when it holds more than max bytes (then *out is NULL). */
int sl_read_file(const char *path, size_t max, char **out, size_t *len);

#include <stdlib.h>

#endif
