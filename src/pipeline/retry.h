/* retry.h: pacing for clients of a remote service: exponential backoff with jitter, the HTTP
 * Retry-After header, and a records-per-second rate limit. Pure functions of their inputs (the
 * caller passes the clock and the random bits), so tests can drive them without sleeping. */
#ifndef SL_PIPELINE_RETRY_H
#define SL_PIPELINE_RETRY_H

#include "core/sl.h"

/* The delay before retry number attempt (0 for the first retry): the exponential step
 * e = min(max_ms, base_ms * 2^attempt), jittered uniformly in [e/2, e] ("equal jitter", so a
 * retry never comes immediately and clients that failed together spread out). rnd is any
 * uniformly random 64-bit value. */
int64_t sl_retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd);

/* Parses an HTTP Retry-After value (RFC 9110 10.2.3): delta-seconds ("120") or an HTTP-date in
 * any of the three forms a recipient must accept (IMF-fixdate, RFC 850, asctime). Sets *out_ms to
 * the wait from now_ms (0 for a date in the past). Returns 0, or SL_ERR_PARSE for anything else
 * (the caller then falls back to its own backoff). */
int sl_retry_after_parse(const char *value, int64_t now_ms, int64_t *out_ms);

/* A token bucket in records: rate tokens a second, at most burst stored. A reservation may drive
 * the balance negative, so a request for more than the burst waits in proportion instead of
 * never fitting; over any long interval the average stays at rate. */
typedef struct sl_ratelimit {
    double rate;   /* tokens per second; <= 0 means unlimited */
    double burst;  /* bucket capacity */
    double tokens; /* current balance, may be negative */
    int64_t last_ms;
} sl_ratelimit;

/* Starts with a full bucket. rate <= 0 disables the limit. */
void sl_ratelimit_init(sl_ratelimit *rl, double rate, double burst, int64_t now_ms);
/* Takes n tokens at now_ms and returns how many ms the caller must wait before using them
 * (0 when the bucket covered them). */
int64_t sl_ratelimit_reserve(sl_ratelimit *rl, double n, int64_t now_ms);

/* A fast non-cryptographic generator for jitter (splitmix64); *state is any seed. */
uint64_t sl_retry_rand(uint64_t *state);

#endif
