/* source.c: the randomuser API client (see source.h). One libcurl easy handle, reused so the
 * connection stays open between pages. */
#include "pipeline/source.h"

#include "core/buf.h"
#include "core/log.h"
#include "pipeline/retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define SOURCE_MAX_BODY    ((size_t)64 << 20)
#define SOURCE_CONNECT_MAX 10000 /* ms */

struct sl_source {
    CURL *curl;
    char *base;  /* scheme://[user:pass@]host[:port]/path, without the query */
    char *query; /* the URL's own query minus results= and page=, "" if none */
    char *name;  /* the URL without credentials, for logs */
    bool seeded;
    int first_page;
    sl_source_config cfg;
    sl_buf body;
    char retry_after[64]; /* the last response's Retry-After, "" if none */
    bool body_too_big;
    char curl_err[CURL_ERROR_SIZE];
    uint64_t rnd;
    sl_source_stats stats;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sl_source *s = ud;
    size_t len = size * n;
    if (s->body.len + len > s->cfg.max_body) {
        s->body_too_big = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    sl_buf_append(&s->body, p, len);
    return len;
}

/* libcurl's progress callback: a non-zero return aborts the transfer. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    SL_UNUSED(dt), SL_UNUSED(dn), SL_UNUSED(ut), SL_UNUSED(un);
    const sl_source *s = ud;
    return s->cfg.cancel && atomic_load(s->cfg.cancel);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sl_source *s = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && !strncasecmp(p, name, sizeof name - 1)) {
        const char *v = p + sizeof name - 1;
        size_t vl = len - (sizeof name - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof s->retry_after) vl = sizeof s->retry_after - 1;
        memcpy(s->retry_after, v, vl);
        s->retry_after[vl] = 0;
    } else if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        s->retry_after[0] = 0; /* a new response (after a redirect or 100 Continue) */
    }
    return len;
}

/* Splits the URL's query into what we keep and what paging owns (results=, page=). */
static void split_query(sl_source *s, const char *q)
{
    sl_buf keep = SL_BUF_INIT;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', n);
        size_t kl = eq ? (size_t)(eq - q) : n;
        const char *val = eq ? eq + 1 : q + n;
        size_t vl = (size_t)(q + n - val);
        bool paging = (kl == 7 && !strncmp(q, "results", 7)) || (kl == 4 && !strncmp(q, "page", 4));
        if (kl == 4 && !strncmp(q, "seed", 4) && vl) s->seeded = true;
        if (kl == 4 && !strncmp(q, "page", 4)) {
            int p = 0;
            for (size_t i = 0; i < vl && isdigit((unsigned char)val[i]) && p < 1000000; i++)
                p = p * 10 + (val[i] - '0');
            if (p > 0) s->first_page = p;
        }
        if (!paging && n) {
            if (keep.len) sl_buf_append_str(&keep, "&");
            sl_buf_append(&keep, q, n);
        }
        q = amp ? amp + 1 : NULL;
    }
    s->query = sl_strdup(keep.len ? sl_buf_cstr(&keep) : "");
    sl_buf_free(&keep);
}

int sl_source_open(const sl_source_config *cfg, sl_source **out, char *err, size_t errlen)
{
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    CURLU *u = curl_url();
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, cfg->url, 0);
    char *scheme = NULL, *query = NULL, *name = NULL;
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "bad --source URL: %s", curl_url_strerror(uc));
        curl_url_cleanup(u);
        return SL_ERR_INVAL;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
        snprintf(err, errlen, "bad --source URL: scheme must be http or https, not %s",
                 scheme ? scheme : "(none)");
        curl_free(scheme);
        curl_url_cleanup(u);
        return SL_ERR_INVAL;
    }
    curl_free(scheme);

    sl_source *s = sl_calloc(1, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.max_body) s->cfg.max_body = SOURCE_MAX_BODY;
    s->first_page = 1;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = NULL;
    split_query(s, query);
    curl_free(query);

    char *full = NULL;
    curl_url_set(u, CURLUPART_QUERY, NULL, 0);
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    curl_url_get(u, CURLUPART_URL, &full, 0);
    s->base = sl_strdup(full);
    curl_free(full);
    curl_url_set(u, CURLUPART_USER, NULL, 0);
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    curl_url_get(u, CURLUPART_URL, &name, 0);
    s->name = sl_malloc(strlen(name) + strlen(s->query) + 2);
    sprintf(s->name, "%s%s%s", name, *s->query ? "?" : "", s->query);
    curl_free(name);
    curl_url_cleanup(u);

    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)sl_mono_ns();
    s->rnd = seed;

    s->curl = curl_easy_init();
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)SL_MIN(cfg->timeout_ms, SOURCE_CONNECT_MAX));
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-ingest/" SLUICE_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
    if (cfg->cancel) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    *out = s;
    return 0;
}

void sl_source_close(sl_source *s)
{
    if (!s) return;
    curl_easy_cleanup(s->curl);
    sl_buf_free(&s->body);
    sl_free(s->base);
    sl_free(s->query);
    sl_free(s->name);
    sl_free(s);
}

bool sl_source_seeded(const sl_source *s)
{
    return s->seeded;
}

int sl_source_first_page(const sl_source *s)
{
    return s->first_page;
}

const char *sl_source_name(const sl_source *s)
{
    return s->name;
}

const sl_source_stats *sl_source_stats_get(const sl_source *s)
{
    return &s->stats;
}

/* Up to max bytes of the body with anything unprintable shown as '.', for log lines. */
static void body_snippet(const sl_buf *b, char *out, size_t outlen, size_t max)
{
    if (!b->len) {
        snprintf(out, outlen, "(empty body)");
        return;
    }
    size_t n = SL_MIN(b->len, SL_MIN(max, outlen - 4));
    for (size_t i = 0; i < n; i++)
        out[i] = (b->ptr[i] >= 0x20 && b->ptr[i] < 0x7f) ? (char)b->ptr[i] : '.';
    strcpy(out + n, b->len > n ? "..." : "");
}

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FATAL, ATTEMPT_CANCELLED } attempt_kind;

/* One HTTP request and the judgement of its answer. On RETRY *after_ms is the server's
 * Retry-After, or -1 when it gave none (or none that parses). */
static attempt_kind attempt(sl_source *s, const char *url, json_t **users, int64_t *after_ms,
                            char *why, size_t whylen)
{
    sl_buf_reset(&s->body);
    s->body_too_big = false;
    s->retry_after[0] = 0;
    s->curl_err[0] = 0;
    *after_ms = -1;
    s->stats.requests++;
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    CURLcode cc = curl_easy_perform(s->curl);
    if (cc == CURLE_ABORTED_BY_CALLBACK) return ATTEMPT_CANCELLED;
    if (cc != CURLE_OK) {
        if (s->body_too_big) {
            s->stats.garbage++;
            snprintf(why, whylen, "garbage: response larger than %zu bytes", s->cfg.max_body);
        } else {
            s->stats.net_errors++;
            snprintf(why, whylen, "%s: %s",
                     cc == CURLE_OPERATION_TIMEDOUT ? "timed out" : "request failed",
                     s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc));
        }
        return ATTEMPT_RETRY;
    }
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    char snip[160];
    body_snippet(&s->body, snip, sizeof snip, 120);
    if (status == 429) {
        s->stats.http_429++;
        int64_t ra;
        if (s->retry_after[0] && sl_retry_after_parse(s->retry_after, sl_now_ms(), &ra) == 0)
            *after_ms = ra;
        snprintf(why, whylen, "HTTP 429 Too Many Requests (Retry-After: %s) %s",
                 s->retry_after[0] ? s->retry_after : "none", snip);
        return ATTEMPT_RETRY;
    }
    if (status >= 500 || status == 408 || status == 425) {
        s->stats.http_5xx += status >= 500;
        snprintf(why, whylen, "HTTP %ld %s", status, snip);
        return ATTEMPT_RETRY;
    }
    if (status >= 400) {
        snprintf(why, whylen, "HTTP %ld %s", status, snip);
        return ATTEMPT_FATAL;
    }
    if (status < 200 || status >= 300) {
        s->stats.garbage++;
        snprintf(why, whylen, "garbage: HTTP %ld %s", status, snip);
        return ATTEMPT_RETRY;
    }
    json_error_t je;
    json_t *doc = json_loadb((const char *)s->body.ptr, s->body.len, 0, &je);
    if (!doc) {
        s->stats.garbage++;
        snprintf(why, whylen, "garbage: not JSON (%s at line %d column %d): %s", je.text, je.line,
                 je.column, snip);
        return ATTEMPT_RETRY;
    }
    const json_t *e = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
    json_t *results = json_is_object(doc) ? json_object_get(doc, "results") : NULL;
    if (e) {
        s->stats.garbage++;
        snprintf(why, whylen, "the source reported an error: %s",
                 json_is_string(e) ? json_string_value(e) : snip);
    } else if (!json_is_array(results)) {
        s->stats.garbage++;
        snprintf(why, whylen, "garbage: JSON without a \"results\" array: %s", snip);
    } else if (json_array_size(results) == 0) {
        s->stats.garbage++;
        snprintf(why, whylen, "garbage: an empty \"results\" array");
    } else {
        *users = json_incref(results);
        json_decref(doc);
        return ATTEMPT_OK;
    }
    json_decref(doc);
    return ATTEMPT_RETRY;
}

int sl_source_fetch(sl_source *s, int page, int results, sl_source_wait_fn wait, void *ctx,
                    json_t **users, char *err, size_t errlen)
{
    char url[8192];
    int n = snprintf(url, sizeof url, "%s?%s%sresults=%d", s->base, s->query, *s->query ? "&" : "",
                     results);
    if (page > 0 && n > 0 && (size_t)n < sizeof url)
        n += snprintf(url + n, sizeof url - (size_t)n, "&page=%d", page);
    if (n < 0 || (size_t)n >= sizeof url) {
        snprintf(err, errlen, "source URL too long");
        return SL_ERR_INVAL;
    }
    char why[512];
    for (int tries = 0;; tries++) {
        int64_t after_ms;
        attempt_kind k = attempt(s, url, users, &after_ms, why, sizeof why);
        if (k == ATTEMPT_OK) return 0;
        if (k == ATTEMPT_CANCELLED) return SL_ERR_CLOSED;
        if (k == ATTEMPT_FATAL) {
            snprintf(err, errlen, "source %s answered %s: not retrying", s->name, why);
            return SL_ERR_INVAL;
        }
        if (tries >= s->cfg.retries) {
            snprintf(err, errlen, "source %s: giving up after %d attempts; last: %s", s->name,
                     tries + 1, why);
            return SL_ERR_LIMIT;
        }
        int64_t delay = sl_retry_backoff_ms(tries, s->cfg.backoff_ms, s->cfg.backoff_max_ms,
                                            sl_retry_rand(&s->rnd));
        if (after_ms >= 0) {
            delay = after_ms;
            SL_WARN("ingest", "source %s: %s; waiting %.2f s as Retry-After asks (retry %d of %d)",
                    s->name, why, (double)delay / 1000, tries + 1, s->cfg.retries);
        } else {
            SL_WARN("ingest", "source %s: %s; retry %d of %d in %.2f s", s->name, why, tries + 1,
                    s->cfg.retries, (double)delay / 1000);
        }
        s->stats.retries++;
        if (!wait(ctx, delay)) return SL_ERR_CLOSED;
    }
}
