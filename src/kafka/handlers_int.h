/* handlers_int.h: the broker's own request handlers and the broker internals they share.
 * Private to src/kafka (the group coordinator uses broker_int.h only). */
#ifndef SL_KAFKA_HANDLERS_INT_H
#define SL_KAFKA_HANDLERS_INT_H

#include "kafka/broker_int.h"
#include "kafka/topics.h"

int kafka_handle_ApiVersions(kafka_req *req, sl_buf *body);
int kafka_handle_Metadata(kafka_req *req, sl_buf *body);
int kafka_handle_Produce(kafka_req *req, sl_buf *body);
int kafka_handle_Fetch(kafka_req *req, sl_buf *body);
int kafka_handle_ListOffsets(kafka_req *req, sl_buf *body);
int kafka_handle_CreateTopics(kafka_req *req, sl_buf *body);
int kafka_handle_DeleteTopics(kafka_req *req, sl_buf *body);
int kafka_handle_DescribeConfigs(kafka_req *req, sl_buf *body);
int kafka_handle_DescribeLogDirs(kafka_req *req, sl_buf *body);
/* SASL/PLAIN (broker.c): SaslHandshake v1, SaslAuthenticate v0-2. */
int kafka_handle_SaslHandshake(kafka_req *req, sl_buf *body);
int kafka_handle_SaslAuthenticate(kafka_req *req, sl_buf *body);
int kafka_handle_InitProducerId(kafka_req *req, sl_buf *body);

/* The topic registry. */
kafka_topics *sl__broker_topics(const sl_broker *b);
/* The cluster id given in Metadata (stable across restarts). */
const char *sl__broker_cluster_id(const sl_broker *b);
/* Looks a topic up, creating it with the default partition count when auto-creation is on
 * (and allowed by the request). Returns NONE, UNKNOWN_TOPIC_OR_PARTITION or
 * INVALID_TOPIC_EXCEPTION. */
kafka_err_t sl__broker_topic_get(sl_broker *b, sl_slice name, bool allow_create, kafka_topic **out);
/* Creates a topic with its partition logs made on worker threads (topic_jobs.c), so that a large
 * topic does not stall the loop. Returns the validation error (with msg) at once, or NONE: then
 * *started says whether cb(arg, err, msg) follows on the loop thread when the topic exists or
 * has failed (it does not after a successful validate_only). cb may be NULL. */
typedef void (*kafka_topic_cb)(void *arg, kafka_err_t err, const char *msg);
kafka_err_t sl__broker_topic_create(sl_broker *b, sl_slice name, int32_t nparts,
                                    const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                    kafka_topic_cb cb, void *arg, bool *started, char *msg,
                                    size_t msglen);
/* Removes a deleting topic whose logs no sync uses any more: topics.json at once, the files on
 * worker threads, then the registry entry, then cb (topic_jobs.c). */
void sl__broker_topic_remove(sl_broker *b, kafka_topic *tp, kafka_topic_cb cb, void *arg);
/* Background topic jobs (topic_jobs.c) in flight: a stopping broker waits for the last one. */
void sl__broker_bg_begin(sl_broker *b);
void sl__broker_bg_end(sl_broker *b);
/* Called after data was appended to p: wakes Fetch long-polls and marks it for interval
 * flushing. */
void sl__broker_appended(sl_broker *b, kafka_partition *p);
/* Asks the flusher to sync p; cb(arg, rc) runs on the loop afterwards. Tracks p->flush_refs so
 * a deleted topic's logs outlive in-flight syncs. */
void sl__broker_flush(sl_broker *b, kafka_partition *p, sl_flusher_cb cb, void *arg);
/* Hides tp at once and destroys its logs once no sync is in flight (DeleteTopics); cb(arg,
 * NONE, "") follows on the loop thread when its files are gone (cb may be NULL). */
void sl__broker_topic_delete(sl_broker *b, kafka_topic *tp, kafka_topic_cb cb, void *arg);
/* Re-checks DeleteTopics requests waiting for in-flight syncs. */
void sl__broker_deletes_check(sl_broker *b);

/* Fetch long-polls (fetch.c). */
typedef struct kafka_watch {
    struct kafka_watch *next, **pprev;
    void *waiter;
} kafka_watch;
/* Wakes every long-poll watching p. */
void sl__fetch_wake(kafka_partition *p);
/* Answers every pending long-poll now (broker shutdown). */
void sl__fetch_flush_all(sl_broker *b);
/* Head of the broker's list of pending long-polls, owned by fetch.c. */
void **sl__broker_fetch_waiters(sl_broker *b);

#endif
