/* topic_jobs.c: topic creation and deletion off the loop thread.
 *
 * Each new partition costs a directory, a few files and a directory fsync, and each deleted one
 * an unlink per file: milliseconds each, so a topic of a thousand partitions would hold the
 * loop, and every client on it, for seconds. The loop does the quick, ordered part (the
 * registry, topics.json), and libuv's worker threads the file work, in up to JOB_CHUNKS
 * disjoint partition ranges at once (their directory syncs then share journal commits):
 *   create: kafka_topics_create_begin (loop: validate, reserve the name),
 *           kafka_topic_open_new per range (workers), kafka_topics_create_end (loop: publish);
 *   delete: kafka_topics_delete_begin (loop: topics.json, close the logs),
 *           kafka_topic_remove_files per range (workers), kafka_topics_delete_end (loop).
 * A stopping broker waits for the jobs in flight (sl__broker_bg_end). */
#include "kafka/handlers_int.h"
#include "core/log.h"

/* Ranges worked on at once: libuv's default worker pool has 4 threads. */
#define JOB_CHUNKS 4
/* Partitions per range at least, so a small topic is one job. */
#define JOB_CHUNK_MIN 64

typedef struct topic_job topic_job;

typedef struct job_chunk {
    uv_work_t work; /* sender: the loop (uv_queue_work); receiver: a libuv worker thread, then
                       the loop again in on_chunk_done */
    topic_job *job;
    int32_t from, to;
    int rc;
} job_chunk;

struct topic_job {
    sl_broker *b;
    kafka_topic *tp;
    bool deleting;
    char *name; /* for the log: tp is freed when a creation fails */
    kafka_topic_cb cb;
    void *arg;
    int pending; /* chunks not yet done */
    int nchunks;
    job_chunk chunks[JOB_CHUNKS];
};

static void chunk_work(uv_work_t *w)
{
    job_chunk *c = w->data;
    topic_job *job = c->job;
    if (job->deleting)
        kafka_topic_remove_files(job->tp, c->from, c->to);
    else
        c->rc = kafka_topic_open_new(sl__broker_topics(job->b), job->tp, c->from, c->to);
}

static void on_chunk_done(uv_work_t *w, int status)
{
    job_chunk *c = w->data;
    topic_job *job = c->job;
    if (status < 0 && c->rc == 0) c->rc = status;
    if (--job->pending > 0) return;
    sl_broker *b = job->b;
    kafka_topics *topics = sl__broker_topics(b);
    if (job->deleting) {
        kafka_topics_delete_end(topics, job->tp);
        if (job->cb) job->cb(job->arg, KAFKA_ERR_NONE, "");
    } else {
        int rc = 0;
        for (int i = 0; i < job->nchunks && !rc; i++)
            rc = job->chunks[i].rc;
        char msg[300] = "";
        kafka_err_t err = kafka_topics_create_end(topics, job->tp, rc, msg, sizeof(msg));
        if (err) SL_WARN("kafka", "creating topic %s: %s", job->name, msg);
        if (job->cb) job->cb(job->arg, err, msg);
    }
    sl_free(job->name);
    sl_free(job);
    sl__broker_bg_end(b);
}

static void job_start(sl_broker *b, kafka_topic *tp, bool deleting, kafka_topic_cb cb, void *arg)
{
    topic_job *job = sl_calloc(1, sizeof(*job));
    job->b = b;
    job->tp = tp;
    job->deleting = deleting;
    job->name = sl_strdup(tp->name);
    job->cb = cb;
    job->arg = arg;
    int n = (tp->nparts + JOB_CHUNK_MIN - 1) / JOB_CHUNK_MIN;
    job->nchunks = SL_MAX(1, SL_MIN(n, JOB_CHUNKS));
    job->pending = job->nchunks;
    sl__broker_bg_begin(b);
    /* uv_queue_work fails only without a work callback; the done callbacks run on later loop
     * iterations, never inside this call. */
    for (int i = 0; i < job->nchunks; i++) {
        job_chunk *c = &job->chunks[i];
        c->job = job;
        c->from = (int32_t)((int64_t)tp->nparts * i / job->nchunks);
        c->to = (int32_t)((int64_t)tp->nparts * (i + 1) / job->nchunks);
        c->work.data = c;
        uv_queue_work(sl_broker_loop(b), &c->work, chunk_work, on_chunk_done);
    }
}

kafka_err_t sl__broker_topic_create(sl_broker *b, sl_slice name, int32_t nparts,
                                    const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                    kafka_topic_cb cb, void *arg, bool *started, char *msg,
                                    size_t msglen)
{
    *started = false;
    kafka_topic *tp;
    kafka_err_t err = kafka_topics_create_begin(sl__broker_topics(b), name, nparts, cfgs, ncfg,
                                                validate_only, &tp, msg, msglen);
    if (err || !tp) return err;
    job_start(b, tp, false, cb, arg);
    *started = true;
    return KAFKA_ERR_NONE;
}

void sl__broker_topic_remove(sl_broker *b, kafka_topic *tp, kafka_topic_cb cb, void *arg)
{
    kafka_topics_delete_begin(sl__broker_topics(b), tp);
    job_start(b, tp, true, cb, arg);
}
