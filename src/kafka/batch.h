/* batch.h: the Kafka v2 record batch header (DefaultRecordBatch) and its validation.
 *
 * The broker treats a batch as opaque once its header and CRC32C check out: records are never
 * decoded or decompressed on produce. */
#ifndef SL_KAFKA_BATCH_H
#define SL_KAFKA_BATCH_H

#include "kafka/proto.h"

/* Byte offsets of the header fields inside a batch. */
enum {
    KAFKA_BATCH_OFF_BASE_OFFSET = 0,
    KAFKA_BATCH_OFF_LENGTH = 8,
    KAFKA_BATCH_OFF_LEADER_EPOCH = 12,
    KAFKA_BATCH_OFF_MAGIC = 16,
    KAFKA_BATCH_OFF_CRC = 17,
    KAFKA_BATCH_OFF_ATTRIBUTES = 21, /* the CRC covers from here to the end */
    KAFKA_BATCH_OFF_LAST_OFFSET_DELTA = 23,
    KAFKA_BATCH_OFF_BASE_TIMESTAMP = 27,
    KAFKA_BATCH_OFF_MAX_TIMESTAMP = 35,
    KAFKA_BATCH_OFF_PRODUCER_ID = 43,
    KAFKA_BATCH_OFF_PRODUCER_EPOCH = 51,
    KAFKA_BATCH_OFF_BASE_SEQUENCE = 53,
    KAFKA_BATCH_OFF_RECORDS_COUNT = 57,
    KAFKA_BATCH_HEADER_SIZE = 61,
    /* BaseOffset and Length precede the part that Length counts. */
    KAFKA_BATCH_LOG_OVERHEAD = 12,
};

/* Attribute bits. */
#define KAFKA_ATTR_CODEC_MASK      0x07
#define KAFKA_ATTR_LOG_APPEND_TIME 0x08
#define KAFKA_ATTR_TRANSACTIONAL   0x10
#define KAFKA_ATTR_CONTROL         0x20

enum { KAFKA_CODEC_NONE, KAFKA_CODEC_GZIP, KAFKA_CODEC_SNAPPY, KAFKA_CODEC_LZ4, KAFKA_CODEC_ZSTD };

typedef struct kafka_batch_hdr {
    int64_t base_offset;
    int32_t length; /* bytes after the Length field */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} kafka_batch_hdr;

/* Decodes the header of the batch at p (avail bytes, at least KAFKA_BATCH_HEADER_SIZE).
 * Checks nothing but the size; returns 0 or SL_ERR_PARSE. */
int kafka_batch_hdr_parse(const uint8_t *p, size_t avail, kafka_batch_hdr *h);

/* Validates one produced batch occupying exactly len bytes: magic 2, Length == len - 12,
 * CRC32C over attributes..end, a known codec, records_count == last_offset_delta + 1 > 0, no
 * control batch. Fills h. Returns KAFKA_ERR_NONE, CORRUPT_MESSAGE (size, CRC, codec),
 * UNSUPPORTED_FOR_MESSAGE_FORMAT (magic 0/1) or INVALID_RECORD (counts, control batch). */
kafka_err_t kafka_batch_validate(const uint8_t *p, size_t len, kafka_batch_hdr *h);

/* Switches a batch to LogAppendTime: sets the timestamp-type bit and MaxTimestamp to now_ms and
 * recomputes the CRC, as Kafka does for message.timestamp.type=LogAppendTime topics. */
void kafka_batch_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms);

/* Offset of the last record in the batch at p (base offset + last offset delta). */
static inline int64_t kafka_batch_last_offset(const uint8_t *p)
{
    return (int64_t)sl_get_be64(p) + (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_LAST_OFFSET_DELTA);
}

#endif
