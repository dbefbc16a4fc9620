/* ingest.c: the ingest loop (see ingest.h). One thread: fetch a page, flatten and produce it,
 * serve delivery reports while waiting (backoff, rate limit); librdkafka's own threads keep
 * sending while the next page is fetched. */
#include "pipeline/ingest.h"

#include "auth/auth.h"
#include "pipeline/avro.h"

#include "core/buf.h"
#include "core/log.h"
#include "pipeline/retry.h"
#include "pipeline/source.h"
#include "pipeline/stage.h"
#include "pipeline/user.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STAGE_READ_MAX    2000 /* unsent rows read back from the stage per query */
#define MARK_BATCH        5000 /* delivered seqs marked sent per UPDATE, at most */
#define MARK_EVERY_MS     200  /* delivered seqs wait at most this long to be marked sent */
#define PROGRESS_EVERY_MS 250
#define METADATA_WAIT_MAX 10000 /* ms: the broker check at start */
#define POLL_SLICE_MS     100
#define STALL_MARGIN_MS   5000
/* Records in flight before fetching waits for delivery reports (at least 4 pages). */
#define IN_FLIGHT_MIN 20000

/* The fetch thread requests and parses the next page while the main thread flattens and
 * produces the current one. One request at a time, handed over under lock:
 *   main -> fetcher: page and want, with posted set (pf_post);
 *   fetcher -> main: users, rc and err, with done set (pf_await).
 * The fetcher owns the sl_source while running; main only reads its name. cancel (set by main
 * on a signal, a failure or the deadline) makes the fetcher abandon the transfer or backoff. */
typedef struct prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started, quit, posted, done;
    bool pending; /* main: a request is posted and its result not yet taken */
    int page, want;
    json_t *users;
    int rc;
    int result_page;
    char err[1024];
    atomic_bool cancel;
    sl_source *src;
} prefetch;

typedef struct ingest {
    const sl_ingest_config *cfg;
    sl_ingest_stats *st;
    rd_kafka_t *rk;
    sl_source *src;
    prefetch pf;
    sl_stage *stage;
    sl_ratelimit rl;
    int64_t start_ms, deadline_ms; /* monotonic */
    int64_t last_progress_ms;
    bool progress_drawn;
    char first_failure[512]; /* the first failed delivery report */
    char fatal[512];         /* librdkafka fatal error */
    char auth[256];          /* the broker refused our SASL credentials: librdkafka's reason */
    /* Stage mode: seqs whose delivery succeeded, not yet marked sent. */
    int64_t *marks;
    size_t nmarks, capmarks;
    int64_t last_mark_ms;
    int stage_rc;
    char stage_err[512];
    sl_buf value;
    sl_avro_enc *avro; /* --format avro */
    sl_buf avro_value;
} ingest;

static bool stopping(const ingest *in)
{
    return in->cfg->stop && *in->cfg->stop;
}

/* A failed delivery ends the run: the record is lost to this run (a staged row stays unsent),
 * and fetching more only adds to what the next run must redo. */
static bool failing(const ingest *in)
{
    return in->st->failed > 0 || in->fatal[0] || in->stage_rc < 0;
}

static void progress(ingest *in, bool final)
{
    if (!in->cfg->progress) return;
    int64_t now = sl_mono_ms();
    if (!final && now - in->last_progress_ms < PROGRESS_EVERY_MS) return;
    in->last_progress_ms = now;
    double secs = (double)(now - in->start_ms) / 1000;
    const sl_ingest_stats *st = in->st;
    fprintf(stderr,
            "\rsluice ingest: %" PRId64 " %s, %" PRId64 " produced, %" PRId64
            " delivered (%.0f/s), %.1f s\x1b[K",
            st->fetched, in->stage ? "staged" : "fetched", st->produced, st->delivered,
            secs > 0 ? (double)st->delivered / secs : 0.0, secs);
    if (final && in->progress_drawn) fputc('\n', stderr);
    fflush(stderr);
    in->progress_drawn = true;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    ingest *in = opaque;
    if (m->err) {
        in->st->failed++;
        if (!in->first_failure[0])
            snprintf(in->first_failure, sizeof in->first_failure, "%s [%" PRId32 "]: %s",
                     rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
        return;
    }
    in->st->delivered++;
    if (in->stage) {
        if (in->nmarks == in->capmarks) {
            in->capmarks = in->capmarks ? in->capmarks * 2 : 1024;
            in->marks = sl_realloc(in->marks, in->capmarks * sizeof *in->marks);
        }
        in->marks[in->nmarks++] = (int64_t)(intptr_t)m->_private;
    }
}

/* librdkafka's log lines through ours (called from its threads; sl__log is thread-safe). */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    SL_UNUSED(rk);
    int lvl = level <= 3   ? SL_LOG_ERROR
              : level == 4 ? SL_LOG_WARN
              : level <= 6 ? SL_LOG_INFO
                           : SL_LOG_DEBUG;
    sl_log(lvl, "kafka", fac, "%s", buf);
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    ingest *in = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_fatal_error(rk, buf, sizeof buf);
        snprintf(in->fatal, sizeof in->fatal, "kafka producer failed: %s", buf);
        SL_ERROR("ingest", "%s", in->fatal);
        return;
    }
    /* Kept for the start's error, which would otherwise say only "no answer". */
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) snprintf(in->auth, sizeof in->auth, "%s", reason);
    /* librdkafka's log line has said it already; only the summary is worth a warning. */
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        SL_WARN("ingest", "kafka: %s", reason);
    else
        SL_DEBUG("ingest", "kafka: %s", reason);
}

/* Marks delivered stage rows sent. */
static void flush_marks(ingest *in, bool now)
{
    if (!in->stage || !in->nmarks || in->stage_rc < 0) return;
    /* Marking late only risks a duplicate after a crash; one UPDATE per delivered row would
     * cost a round trip each. */
    int64_t t = sl_mono_ms();
    if (!now && in->nmarks < MARK_BATCH && t - in->last_mark_ms < MARK_EVERY_MS) return;
    in->last_mark_ms = t;
    for (size_t off = 0; off < in->nmarks; off += MARK_BATCH) {
        size_t n = SL_MIN(MARK_BATCH, in->nmarks - off);
        int rc =
            sl_stage_mark_sent(in->stage, in->marks + off, n, in->stage_err, sizeof in->stage_err);
        if (rc < 0) {
            in->stage_rc = rc;
            return;
        }
    }
    in->nmarks = 0;
}

/* Serves delivery reports for up to ms (0: once, without blocking). */
static void serve(ingest *in, int64_t ms)
{
    rd_kafka_poll(in->rk, (int)ms);
    flush_marks(in, false);
    progress(in, false);
}

/* The source's wait: keeps serving delivery reports; false once the run should end. */
static bool wait_cb(void *ctx, int64_t ms)
{
    ingest *in = ctx;
    int64_t until = sl_mono_ms() + ms;
    for (;;) {
        if (stopping(in) || failing(in)) return false;
        int64_t now = sl_mono_ms();
        if (now >= in->deadline_ms) return false;
        if (now >= until) return true;
        serve(in, SL_MIN(SL_MIN(until, in->deadline_ms) - now, POLL_SLICE_MS));
    }
}

/* Records produced whose delivery report has not come back yet. */
static int64_t in_flight(const ingest *in)
{
    return in->st->produced - in->st->delivered - in->st->failed;
}

/* Backpressure: waits, serving delivery reports, until want more records fit under cap. Returns
 * false when the run should end instead (a signal, a failure, the deadline), or when no report
 * at all came back for longer than the delivery timeout, which then is the run's failure. */
static bool wait_for_room(ingest *in, int64_t want, int64_t cap)
{
    int64_t seen = in->st->delivered + in->st->failed, since = sl_mono_ms();
    while (in_flight(in) + want > cap) {
        if (stopping(in) || failing(in)) return false;
        serve(in, POLL_SLICE_MS);
        int64_t now = sl_mono_ms(), n = in->st->delivered + in->st->failed;
        if (n != seen) {
            seen = n;
            since = now;
        } else if (now - since > in->cfg->delivery_timeout_ms + STALL_MARGIN_MS) {
            snprintf(in->fatal, sizeof in->fatal,
                     "kafka: no delivery report for %.1f s while %" PRId64
                     " records wait (is the broker down?)",
                     (double)(now - since) / 1000, in_flight(in));
            return false;
        }
    }
    return true;
}

/* Produces one record. Returns 0, 1 when the run should end before it (see wait_for_room), or
 * <0 with err set. */
static int produce(ingest *in, const char *topic, const char *key, const void *value, size_t len,
                   int64_t seq, char *err, size_t errlen)
{
    if (in->avro) {
        /* The record is made (and staged) as JSON; Avro is only its form on the wire. */
        json_error_t jerr;
        json_t *j = json_loadb(value, len, 0, &jerr);
        sl_buf_reset(&in->avro_value);
        char why[256] = "not JSON";
        int rc = j ? sl_avro_enc_write(in->avro, j, &in->avro_value, why, sizeof why) : -1;
        json_decref(j);
        if (rc < 0) {
            snprintf(err, errlen, "record %s: cannot encode it as Avro: %s", key, why);
            return SL_ERR_PARSE;
        }
        value = in->avro_value.ptr;
        len = in->avro_value.len;
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            in->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, SL_UUID_STRLEN),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
        if (!e) {
            in->st->produced++;
            return 0;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "kafka: cannot produce to %s: %s", topic, rd_kafka_err2str(e));
            return SL_ERR_CLOSED;
        }
        /* librdkafka's queue is full: wait for one delivery to make room. */
        if (!wait_for_room(in, 1, in_flight(in))) return 1;
    }
}

static int kafka_open(ingest *in, char *err, size_t errlen)
{
    const sl_ingest_config *cfg = in->cfg;
    char v[32], e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(v, sizeof v, "%" PRId64, cfg->delivery_timeout_ms);
    const char *props[][2] = {
        {"bootstrap.servers", cfg->kafka},      {"client.id", "sluice-ingest"}, {"acks", "all"},
        {"enable.idempotence", "true"},         {"message.timeout.ms", v},      {"linger.ms", "5"},
        {"queue.buffering.max.kbytes", "8192"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(props); i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], e, sizeof e) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: %s=%s: %s", props[i][0], props[i][1], e);
            rd_kafka_conf_destroy(conf);
            return SL_ERR_CONFIG;
        }
    if (sl_auth_kafka_conf(conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return SL_ERR_CONFIG;
    }
    rd_kafka_conf_set_opaque(conf, in);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_kafka_log);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    in->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!in->rk) {
        snprintf(err, errlen, "kafka: %s", e);
        return SL_ERR_CONFIG;
    }

    /* Fail fast, with a reason, when the broker cannot be reached at all; later outages are
     * the delivery timeout's. Auto-creation may answer "unknown topic" for a moment. */
    int64_t wait = SL_MIN(cfg->delivery_timeout_ms, METADATA_WAIT_MAX);
    int64_t until = sl_mono_ms() + wait;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(in->rk, cfg->topic, NULL);
    int rc = 0;
    bool answered = false;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = until - sl_mono_ms();
        rd_kafka_resp_err_t me = rd_kafka_metadata(in->rk, 0, rkt, &md, (int)SL_MAX(left, 1));
        /* A request that ran out of the time left after the broker had answered says nothing
         * new: the topic is still the missing one (the last retry may get only a millisecond). */
        if (me && !answered) {
            rd_kafka_poll(in->rk, 0); /* serves the error callback: was it the credentials? */
            if (in->auth[0])
                snprintf(err, errlen, "kafka: authentication to %s failed: %s", cfg->kafka,
                         in->auth);
            else
                snprintf(err, errlen, "kafka: no answer from %s within %.1f s (%s)", cfg->kafka,
                         (double)wait / 1000, rd_kafka_err2str(me));
            rc = SL_ERR_CLOSED;
            break;
        }
        if (!me) {
            rd_kafka_resp_err_t te = md->topic_cnt == 1 ? md->topics[0].err : 0;
            rd_kafka_metadata_destroy(md);
            answered = true;
            if (te != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
        }
        if (sl_mono_ms() >= until) {
            snprintf(err, errlen,
                     "kafka: topic %s does not exist on %s and was not created (create it with "
                     "sluice topic create %s)",
                     cfg->topic, cfg->kafka, cfg->topic);
            rc = SL_ERR_NOTFOUND;
            break;
        }
        rd_kafka_poll(in->rk, 200);
    }
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* Waits until every produced record has its delivery report, or the delivery timeout (plus a
 * margin) has passed. */
static void drain(ingest *in)
{
    /* After a failure, what has not left librdkafka's queues fails now rather than one by one
     * at its timeout; what is in flight still gets its answer. */
    if (failing(in)) rd_kafka_purge(in->rk, RD_KAFKA_PURGE_F_QUEUE);
    int64_t until = sl_mono_ms() + in->cfg->delivery_timeout_ms + STALL_MARGIN_MS;
    while (rd_kafka_outq_len(in->rk) > 0 && sl_mono_ms() < until && !in->fatal[0])
        serve(in, POLL_SLICE_MS);
    serve(in, 0);
}

/* Waits for the rate limiter before taking n users from the API. */
static bool pace(ingest *in, int n)
{
    if (!wait_for_room(in, n, SL_MAX(IN_FLIGHT_MIN, 4 * (int64_t)in->cfg->batch))) return false;
    if (sl_mono_ms() >= in->deadline_ms) return false;
    int64_t w = sl_ratelimit_reserve(&in->rl, n, sl_mono_ms());
    return w == 0 || wait_cb(in, w);
}

/* The fetcher's wait between retries: sleeps in slices, giving up when cancelled. */
static bool pf_wait(void *ctx, int64_t ms)
{
    prefetch *pf = ctx;
    int64_t until = sl_mono_ms() + ms;
    while (!atomic_load(&pf->cancel)) {
        int64_t left = until - sl_mono_ms();
        if (left <= 0) return true;
        usleep((useconds_t)SL_MIN(left, 20) * 1000);
    }
    return false;
}

static void *pf_main(void *arg)
{
    prefetch *pf = arg;
    pthread_mutex_lock(&pf->lock);
    for (;;) {
        while (!pf->posted && !pf->quit)
            pthread_cond_wait(&pf->cond, &pf->lock);
        if (pf->quit) break;
        pf->posted = false;
        int page = pf->page, want = pf->want;
        pthread_mutex_unlock(&pf->lock);
        json_t *users = NULL;
        char err[sizeof pf->err] = "";
        int rc = atomic_load(&pf->cancel)
                     ? SL_ERR_CLOSED
                     : sl_source_fetch(pf->src, page, want, pf_wait, pf, &users, err, sizeof err);
        pthread_mutex_lock(&pf->lock);
        pf->users = users;
        pf->rc = rc;
        pf->result_page = page;
        memcpy(pf->err, err, sizeof err);
        pf->done = true;
        pthread_cond_broadcast(&pf->cond);
    }
    pthread_mutex_unlock(&pf->lock);
    return NULL;
}

static void pf_start(ingest *in)
{
    prefetch *pf = &in->pf;
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->cond, NULL);
    pf->src = in->src;
    if (pthread_create(&pf->thread, NULL, pf_main, pf) != 0) {
        fprintf(stderr, "sluice: pthread_create failed\n");
        abort();
    }
    pf->started = true;
}

static void pf_post(ingest *in, int page, int want)
{
    prefetch *pf = &in->pf;
    pthread_mutex_lock(&pf->lock);
    pf->page = page;
    pf->want = want;
    pf->posted = true;
    pf->done = false;
    pthread_cond_broadcast(&pf->cond);
    pthread_mutex_unlock(&pf->lock);
    pf->pending = true;
}

/* Waits for the posted request, serving delivery reports meanwhile. Returns 1 with *users and
 * *page set, 0 when the run should end quietly (a signal, the deadline, a failure elsewhere:
 * the request is then cancelled), <0 when the source failed (err set). */
static int pf_await(ingest *in, json_t **users, int *page, char *err, size_t errlen)
{
    prefetch *pf = &in->pf;
    pthread_mutex_lock(&pf->lock);
    while (!pf->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&pf->cond, &pf->lock, &ts);
        if (pf->done) break;
        pthread_mutex_unlock(&pf->lock);
        if (stopping(in) || failing(in) || sl_mono_ms() >= in->deadline_ms)
            atomic_store(&pf->cancel, true);
        serve(in, 0);
        pthread_mutex_lock(&pf->lock);
    }
    pf->done = false;
    pf->pending = false;
    *users = pf->users;
    *page = pf->result_page;
    pf->users = NULL;
    int rc = pf->rc;
    if (rc < 0 && rc != SL_ERR_CLOSED) snprintf(err, errlen, "%s", pf->err);
    pthread_mutex_unlock(&pf->lock);
    if (rc == SL_ERR_CLOSED) return 0;
    return rc < 0 ? rc : 1;
}

/* Cancels what is pending and ends the fetch thread. */
static void pf_finish(ingest *in)
{
    prefetch *pf = &in->pf;
    if (!pf->started) return;
    if (pf->pending) {
        atomic_store(&pf->cancel, true);
        json_t *users = NULL;
        int page;
        char err[8];
        pf_await(in, &users, &page, err, sizeof err);
        json_decref(users);
    }
    pthread_mutex_lock(&pf->lock);
    pf->quit = true;
    pthread_cond_broadcast(&pf->cond);
    pthread_mutex_unlock(&pf->lock);
    pthread_join(pf->thread, NULL);
    pthread_cond_destroy(&pf->cond);
    pthread_mutex_destroy(&pf->lock);
    pf->started = false;
}

/* Posts the next request unless the run has all it needs: have users are counted already and
 * upcoming more are about to be (assumed valid). */
static void post_next(ingest *in, int *page, int64_t have, int64_t upcoming)
{
    const sl_ingest_config *cfg = in->cfg;
    if (in->pf.pending || stopping(in) || failing(in)) return;
    if (cfg->count >= 0 && have + upcoming >= cfg->count) return;
    if (sl_mono_ms() >= in->deadline_ms) return;
    int want = cfg->batch;
    if (!sl_source_seeded(in->src) && cfg->count >= 0)
        want = (int)SL_MIN(want, cfg->count - have - upcoming);
    if (!pace(in, want)) return;
    pf_post(in, *page, want);
    if (*page) (*page)++;
}

/* Consecutive pages without one valid user end the run as a broken source would. */
static int no_valid_users(ingest *in, int *empty_pages, char *err, size_t errlen)
{
    if (++*empty_pages <= in->cfg->retries) return 0;
    snprintf(err, errlen, "source %s: %d pages in a row without one valid user",
             sl_source_name(in->src), *empty_pages);
    return SL_ERR_LIMIT;
}

static int run_direct(ingest *in, char *err, size_t errlen)
{
    const sl_ingest_config *cfg = in->cfg;
    bool seeded = sl_source_seeded(in->src);
    int page = seeded ? sl_source_first_page(in->src) : 0;
    int empty_pages = 0;
    char why[256], id[SL_UUID_STRLEN + 1];
    for (;;) {
        post_next(in, &page, in->st->produced, 0);
        if (!in->pf.pending) break;
        json_t *users = NULL;
        int got_page;
        int rc = pf_await(in, &users, &got_page, err, errlen);
        if (rc <= 0) return rc;
        size_t n = json_array_size(users);
        /* The next page is fetched while this one is produced. */
        post_next(in, &page, in->st->produced, (int64_t)n);
        int64_t valid = 0;
        for (size_t i = 0; i < n; i++) {
            if (cfg->count >= 0 && in->st->produced >= cfg->count) break;
            in->st->fetched++;
            uint8_t u[16];
            sl_user_uuid4(u);
            sl_user_uuid_format(u, id);
            sl_buf_reset(&in->value);
            if (sl_user_encode(json_array_get(users, i), id, &in->value, why, sizeof why) < 0) {
                in->st->invalid++;
                SL_WARN("ingest", "source %s: user %zu of a page skipped: %s",
                        sl_source_name(in->src), i, why);
                continue;
            }
            valid++;
            if ((rc = produce(in, cfg->topic, id, in->value.ptr, in->value.len, 0, err, errlen)) !=
                0) {
                json_decref(users);
                return rc < 0 ? rc : 0;
            }
        }
        json_decref(users);
        if (valid)
            empty_pages = 0;
        else if ((rc = no_valid_users(in, &empty_pages, err, errlen)) < 0)
            return rc;
        serve(in, 0);
    }
    return 0;
}

/* Produces every unsent stage row after *cursor: the record stored with it, as it is. */
static int produce_staged(ingest *in, int64_t *cursor, char *err, size_t errlen)
{
    for (;;) {
        const sl_stage_row *rows;
        int n = sl_stage_next(in->stage, *cursor, STAGE_READ_MAX, &rows, err, errlen);
        if (n <= 0) return n;
        for (int i = 0; i < n; i++) {
            *cursor = rows[i].seq;
            int rc = produce(in, rows[i].topic, rows[i].id, rows[i].value, rows[i].value_len,
                             rows[i].seq, err, errlen);
            if (rc != 0) return rc < 0 ? rc : 0;
        }
        serve(in, 0);
        if (in->stage_rc < 0) return 0;
        if (n < STAGE_READ_MAX) return 0;
    }
}

static int run_staged(ingest *in, char *err, size_t errlen)
{
    const sl_ingest_config *cfg = in->cfg;
    /* --count 0 only sends what earlier runs left unsent: no job of its own. */
    sl_stage_job job = {.id = 0};
    bool seeded = sl_source_seeded(in->src);
    int rc = 0;
    if (cfg->count != 0)
        rc = sl_stage_job_begin(in->stage, sl_source_name(in->src), cfg->topic, cfg->count,
                                cfg->batch, seeded ? sl_source_first_page(in->src) : 0, &job, err,
                                errlen);
    if (rc < 0) return rc;
    in->st->resumed = job.resumed;
    int64_t unsent = 0;
    if (sl_stage_unsent(in->stage, &unsent, err, errlen) < 0) return SL_ERR_CLOSED;
    if (job.resumed)
        SL_INFO("ingest",
                "stage %s: resuming job %" PRId64 ": %" PRId64 " of %" PRId64
                " users staged, next page %d; %" PRId64 " rows unsent",
                sl_stage_table(in->stage), job.id, job.fetched, job.target, job.next_page, unsent);
    else if (unsent)
        SL_INFO("ingest", "stage %s: %" PRId64 " rows of earlier runs unsent; sending them first",
                sl_stage_table(in->stage), unsent);

    int64_t cursor = 0;
    int empty_pages = 0;
    char why[256];
    json_t **keep = sl_malloc((size_t)cfg->batch * sizeof *keep);
    char(*ids)[SL_UUID_STRLEN + 1] = sl_malloc((size_t)cfg->batch * sizeof *ids);
    const char **idp = sl_malloc((size_t)cfg->batch * sizeof *idp);
    const char **vals = sl_malloc((size_t)cfg->batch * sizeof *vals);
    size_t *voff = sl_malloc((size_t)cfg->batch * sizeof *voff);
    int page = job.next_page;
    for (;;) {
        if ((rc = produce_staged(in, &cursor, err, errlen)) < 0) break;
        if (stopping(in) || failing(in)) break;
        if (cfg->count == 0) break;
        post_next(in, &page, job.fetched, 0);
        if (!in->pf.pending) break;
        json_t *users = NULL;
        int got_page;
        if ((rc = pf_await(in, &users, &got_page, err, errlen)) <= 0) break;
        size_t n = json_array_size(users), nkeep = 0;
        post_next(in, &page, job.fetched, (int64_t)n);
        /* The page's records, NUL-separated in in->value, each at voff[k]. */
        sl_buf_reset(&in->value);
        for (size_t i = 0; i < n && nkeep < (size_t)cfg->batch; i++) {
            if (cfg->count >= 0 && job.fetched + (int64_t)nkeep >= cfg->count) break;
            json_t *u = json_array_get(users, i);
            uint8_t b[16];
            sl_user_uuid4(b);
            sl_user_uuid_format(b, ids[nkeep]);
            size_t at = in->value.len;
            if (sl_user_encode(u, ids[nkeep], &in->value, why, sizeof why) < 0) {
                in->st->invalid++;
                SL_WARN("ingest", "source %s: user %zu of a page skipped: %s",
                        sl_source_name(in->src), i, why);
                continue;
            }
            sl_buf_append(&in->value, "", 1);
            voff[nkeep] = at;
            idp[nkeep] = ids[nkeep];
            keep[nkeep++] = u;
        }
        for (size_t k = 0; k < nkeep; k++)
            vals[k] = (const char *)in->value.ptr + voff[k];
        rc = sl_stage_put(in->stage, &job, cfg->topic, keep, idp, vals, nkeep,
                          got_page ? got_page + 1 : 0, err, errlen);
        json_decref(users);
        if (rc < 0) break;
        in->st->fetched += (int64_t)nkeep;
        if (nkeep)
            empty_pages = 0;
        else if ((rc = no_valid_users(in, &empty_pages, err, errlen)) < 0)
            break;
    }
    sl_free(keep);
    sl_free(ids);
    sl_free(idp);
    sl_free(vals);
    sl_free(voff);
    if (rc < 0) return rc;
    drain(in);
    flush_marks(in, true);
    if (in->stage_rc < 0) return 0;
    bool done = cfg->count < 0 || job.fetched >= cfg->count;
    if (!stopping(in) && done && !in->st->failed && rd_kafka_outq_len(in->rk) == 0 &&
        sl_stage_unsent(in->stage, &unsent, err, errlen) == 0 && unsent == 0 && job.id)
        return sl_stage_job_finish(in->stage, &job, err, errlen);
    return 0;
}

int sl_ingest_config_check(const sl_ingest_config *cfg, char *err, size_t errlen)
{
    sl_source_config sc = {.url = cfg->source, .timeout_ms = 1000};
    sl_source *src = NULL;
    if (sl_source_open(&sc, &src, err, errlen) < 0) return SL_ERR_INVAL;
    sl_source_close(src);
    if (cfg->stage && strncmp(cfg->stage, "postgresql://", 13) &&
        strncmp(cfg->stage, "postgres://", 11)) {
        snprintf(err, errlen, "--stage must be a postgresql:// URL");
        return SL_ERR_INVAL;
    }
    if (cfg->format && strcmp(cfg->format, "json") && strcmp(cfg->format, "avro")) {
        snprintf(err, errlen, "--format must be json or avro, not \"%s\"", cfg->format);
        return SL_ERR_INVAL;
    }
    bool avro = cfg->format && !strcmp(cfg->format, "avro");
    if (avro && (!cfg->registry ||
                 (strncmp(cfg->registry, "http://", 7) && strncmp(cfg->registry, "https://", 8)))) {
        snprintf(err, errlen, "--format avro needs --registry http://HOST:PORT");
        return SL_ERR_INVAL;
    }
    return 0;
}

int sl_ingest_run(const sl_ingest_config *cfg, sl_ingest_stats *stats, char *err, size_t errlen)
{
    ingest in = {.cfg = cfg, .st = stats};
    memset(stats, 0, sizeof *stats);
    in.start_ms = sl_mono_ms();
    in.deadline_ms = cfg->duration_ms > 0 ? in.start_ms + cfg->duration_ms : INT64_MAX;
    /* A burst of one page: requests are spaced batch/rate apart from the first, so no second
     * holds more than rate users. */
    sl_ratelimit_init(&in.rl, cfg->rate, cfg->batch, in.start_ms);

    sl_source_config sc = {.url = cfg->source,
                           .timeout_ms = cfg->timeout_ms,
                           .retries = cfg->retries,
                           .backoff_ms = cfg->backoff_ms,
                           .backoff_max_ms = cfg->backoff_max_ms,
                           .cancel = &in.pf.cancel};
    int rc = sl_source_open(&sc, &in.src, err, errlen);
    if (rc < 0) return rc;
    if (cfg->stage && (rc = sl_stage_open(cfg->stage, &in.stage, err, errlen)) < 0) {
        sl_source_close(in.src);
        return rc;
    }
    if (cfg->format && !strcmp(cfg->format, "avro")) {
        size_t n = strlen(cfg->topic) + sizeof "-value";
        char *subject = sl_malloc(n);
        snprintf(subject, n, "%s-value", cfg->topic);
        rc = sl_avro_enc_open(cfg->registry, subject, sl_avro_user_schema, cfg->timeout_ms,
                              &in.avro, err, errlen);
        if (rc == 0)
            SL_INFO("ingest", "avro: schema id %" PRId32 " (subject %s at %s)",
                    sl_avro_enc_id(in.avro), subject, cfg->registry);
        sl_free(subject);
    }
    if (rc == 0 && (rc = kafka_open(&in, err, errlen)) == 0) {
        SL_INFO("ingest", "%s -> %s on %s%s%s, %s", sl_source_name(in.src), cfg->topic, cfg->kafka,
                in.stage ? " through stage table " : "", in.stage ? sl_stage_table(in.stage) : "",
                sl_source_seeded(in.src) ? "seeded (paged)" : "unseeded");
        pf_start(&in);
        rc = in.stage ? run_staged(&in, err, errlen) : run_direct(&in, err, errlen);
        pf_finish(&in);
        char derr[768] = "";
        drain(&in);
        if (in.fatal[0]) {
            if (rc == 0) snprintf(err, errlen, "%s", in.fatal);
            rc = SL_ERR_CLOSED;
        } else if (in.stage_rc < 0) {
            if (rc == 0) snprintf(err, errlen, "%s", in.stage_err);
            rc = in.stage_rc;
        }
        int64_t outstanding = rd_kafka_outq_len(in.rk);
        if (stats->failed || outstanding) {
            snprintf(derr, sizeof derr,
                     "%" PRId64 " of %" PRId64 " records not delivered%s; first failure: %s",
                     stats->failed + outstanding, stats->produced,
                     outstanding ? " (no delivery report in time)" : "",
                     in.first_failure[0] ? in.first_failure : "none reported");
            if (rc == 0) {
                snprintf(err, errlen, "%s", derr);
                rc = SL_ERR_CLOSED;
            } else {
                SL_ERROR("ingest", "%s", derr);
            }
        }
    }
    progress(&in, true);
    stats->elapsed_ms = sl_mono_ms() - in.start_ms;
    stats->source = *sl_source_stats_get(in.src);
    if (in.rk) rd_kafka_destroy(in.rk);
    sl_stage_close(in.stage);
    sl_source_close(in.src);
    sl_free(in.marks);
    sl_buf_free(&in.value);
    sl_buf_free(&in.avro_value);
    sl_avro_enc_free(in.avro);
    return rc;
}
