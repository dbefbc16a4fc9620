/* producer_state.h: idempotent producer state of one partition (Kafka's ProducerStateManager).
 *
 * For each producer id: its epoch and the last KAFKA_PRODUCER_BATCHES batches' sequence ranges
 * and offsets, which detect duplicates (a retried batch is acknowledged with its first offset
 * and not appended again) and gaps (OUT_OF_ORDER_SEQUENCE_NUMBER). The state is saved in a
 * snapshot file tagged with the log offset it covers; batches after that offset are replayed
 * from the log at open. */
#ifndef SL_KAFKA_PRODUCER_STATE_H
#define SL_KAFKA_PRODUCER_STATE_H

#include "kafka/batch.h"

#define KAFKA_PRODUCER_BATCHES 5

typedef struct kafka_pstate kafka_pstate;

/* The outcome of checking one batch. */
typedef struct kafka_pcheck {
    kafka_err_t err; /* NONE, INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, ... */
    bool duplicate;  /* already appended: answer with dup_base_offset, append nothing */
    int64_t dup_base_offset;
} kafka_pcheck;

kafka_pstate *kafka_pstate_new(void);
void kafka_pstate_free(kafka_pstate *s);
/* Number of producers tracked. */
size_t kafka_pstate_count(const kafka_pstate *s);

/* Checks an idempotent batch (h->producer_id >= 0) before it is appended. */
kafka_pcheck kafka_pstate_check(const kafka_pstate *s, const kafka_batch_hdr *h);
/* Records a batch appended at base_offset (after a successful check, or during replay) with
 * the wall-clock time now_ms. Non-idempotent batches (producer_id < 0) are ignored. */
void kafka_pstate_update(kafka_pstate *s, const kafka_batch_hdr *h, int64_t base_offset,
                         int64_t now_ms);
/* Drops producers whose last append is older than now_ms - max_age_ms. */
void kafka_pstate_expire(kafka_pstate *s, int64_t now_ms, int64_t max_age_ms);

/* Serialises the state as of log offset `offset` into out (a versioned, CRC-protected blob). */
void kafka_pstate_encode(const kafka_pstate *s, int64_t offset, sl_buf *out);
/* Loads a blob written by kafka_pstate_encode into s (replacing its content); *offset gets the
 * log offset it covers. Returns 0, SL_ERR_CORRUPT (CRC or size), or SL_ERR_PARSE. */
int kafka_pstate_decode(kafka_pstate *s, const uint8_t *p, size_t len, int64_t *offset);

/* Writes DIR/producer.snapshot atomically (tmp file, rename). With sync the file and the
 * directory are fsynced; without, a torn file after a power loss fails its CRC and the state is
 * rebuilt from the log instead. */
int kafka_pstate_save(const kafka_pstate *s, int64_t offset, const char *dir, bool sync);
/* Loads DIR/producer.snapshot; returns SL_ERR_NOTFOUND if it does not exist. */
int kafka_pstate_load(kafka_pstate *s, const char *dir, int64_t *offset);

#endif
