/* source.h: the randomuser.me API as a source of users, over libcurl: builds each page's URL,
 * fetches it with timeouts, and retries failures (network errors, 5xx, 429, garbage) with
 * exponential backoff and jitter, honouring Retry-After, until the retries run out.
 *
 * Paging: every request carries results=<batch>. When the URL has seed=, the source is
 * reproducible and each request also carries page=1,2,3,... (starting at the URL's own page=, if
 * any), so a seeded run can be regenerated from the same URL. */
#ifndef SL_PIPELINE_SOURCE_H
#define SL_PIPELINE_SOURCE_H

#include "core/sl.h"

#include <jansson.h>
#include <stdatomic.h>

typedef struct sl_source sl_source;

typedef struct sl_source_config {
    const char *url;        /* http:// or https:// */
    int64_t timeout_ms;     /* whole request; connecting gets at most 10 s of it */
    int retries;            /* retries of one request after its first attempt */
    int64_t backoff_ms;     /* first retry's base delay */
    int64_t backoff_max_ms; /* cap of the exponential step */
    size_t max_body;        /* a response over this many bytes is an error (0: 64 MiB) */
    /* When set (from any thread) a transfer in progress is abandoned and the fetch returns
     * SL_ERR_CLOSED; may be NULL. */
    const atomic_bool *cancel;
} sl_source_config;

/* Waits ms milliseconds while the caller keeps its other work going (Kafka delivery reports).
 * Returns false when the caller wants the fetch abandoned (a signal, the end of --duration). */
typedef bool (*sl_source_wait_fn)(void *ctx, int64_t ms);

typedef struct sl_source_stats {
    int64_t requests; /* HTTP requests sent, retries included */
    int64_t retries;
    int64_t http_429, http_5xx, garbage, net_errors;
} sl_source_stats;

/* Checks the URL and prepares a connection. Returns 0, or SL_ERR_INVAL with the reason. */
int sl_source_open(const sl_source_config *cfg, sl_source **out, char *err, size_t errlen);
void sl_source_close(sl_source *s);

/* True when the URL carries seed= (pages are then numbered). */
bool sl_source_seeded(const sl_source *s);
/* The first page a seeded run asks for: the URL's page=, or 1. */
int sl_source_first_page(const sl_source *s);
/* The URL with any user:password removed, for logs and for naming the source in the stage. */
const char *sl_source_name(const sl_source *s);

/* Fetches one page of `results` users (page <= 0: no page parameter). Each failed attempt logs
 * one line naming the cause and the delay before the next one. Returns 0 with *users set to the
 * response's non-empty "results" array (the caller owns it); SL_ERR_LIMIT when the retries ran
 * out and SL_ERR_INVAL for an answer retrying cannot fix (such as 404), both with the reason in
 * err; SL_ERR_CLOSED when wait returned false or cancel was set. */
int sl_source_fetch(sl_source *s, int page, int results, sl_source_wait_fn wait, void *ctx,
                    json_t **users, char *err, size_t errlen);

const sl_source_stats *sl_source_stats_get(const sl_source *s);

#endif
