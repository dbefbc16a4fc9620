/* fakeapi.h: `sluice fake-api`, randomuser.me 1.4 served offline (docs/fake-api.md).
 *
 * GET /api/ and /api/1.4/ answer with sl_ru_render's body. A per-client quota counts users served
 * per address within a window, as randomuser.me does, and answers 429 with Retry-After beyond
 * it. A fixed latency and a failure rate (500 with randomuser's error body) can be injected. */
#ifndef SL_PIPELINE_FAKEAPI_H
#define SL_PIPELINE_FAKEAPI_H

#include "core/config.h"

#include <uv.h>

typedef struct sl_fakeapi_config {
    char *listen;
    char *tls_cert, *tls_key; /* PEM files: HTTPS only; NULL: plain HTTP */
    int64_t quota;            /* users per client per window; 0: unlimited */
    int64_t quota_window_ms;
    int64_t latency_ms; /* added to every answer */
    char *fail_rate;    /* "0.1": that share of requests gets a 500 */
    char *log_level;
    double fail_rate_v; /* derived by sl_fakeapi_config_check */
} sl_fakeapi_config;

/* The option table: the `fake-api:` section of sluice.yaml and the flags. */
extern const sl_opt sl_fakeapi_opts[];

/* Validates and derives; on failure writes a one-line reason into err. */
int sl_fakeapi_config_check(sl_fakeapi_config *cfg, char *err, size_t errlen);

typedef struct sl_fakeapi sl_fakeapi;

/* Starts serving on loop. Returns 0 or a negative status (logged). */
int sl_fakeapi_open(uv_loop_t *loop, const sl_fakeapi_config *cfg, sl_fakeapi **out);
/* The bound port. */
int sl_fakeapi_port(const sl_fakeapi *f);
/* Stops serving and frees f; run the loop afterwards so its handles close. */
void sl_fakeapi_close(sl_fakeapi *f);

#endif
