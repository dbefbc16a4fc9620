/* batch.c: v2 record batch header parsing and validation (see batch.h). */
#include "kafka/batch.h"
#include "core/crc32c.h"

int kafka_batch_hdr_parse(const uint8_t *p, size_t avail, kafka_batch_hdr *h)
{
    if (avail < KAFKA_BATCH_HEADER_SIZE) return SL_ERR_PARSE;
    h->base_offset = (int64_t)sl_get_be64(p + KAFKA_BATCH_OFF_BASE_OFFSET);
    h->length = (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_LENGTH);
    h->leader_epoch = (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[KAFKA_BATCH_OFF_MAGIC];
    h->crc = sl_get_be32(p + KAFKA_BATCH_OFF_CRC);
    h->attributes = (int16_t)sl_get_be16(p + KAFKA_BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)sl_get_be64(p + KAFKA_BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)sl_get_be64(p + KAFKA_BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)sl_get_be64(p + KAFKA_BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)sl_get_be16(p + KAFKA_BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_BASE_SEQUENCE);
    h->records_count = (int32_t)sl_get_be32(p + KAFKA_BATCH_OFF_RECORDS_COUNT);
    return 0;
}

kafka_err_t kafka_batch_validate(const uint8_t *p, size_t len, kafka_batch_hdr *h)
{
    /* Magic sits at the same place in v0/v1 message sets, so an old format is recognised
     * before the v2 size checks. */
    if (len > KAFKA_BATCH_OFF_MAGIC && p[KAFKA_BATCH_OFF_MAGIC] < 2 &&
        len >= KAFKA_BATCH_LOG_OVERHEAD + 14)
        return KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if (kafka_batch_hdr_parse(p, len, h)) return KAFKA_ERR_CORRUPT_MESSAGE;
    if (h->magic != 2) return KAFKA_ERR_CORRUPT_MESSAGE;
    if (h->length < 0 || (size_t)h->length != len - KAFKA_BATCH_LOG_OVERHEAD)
        return KAFKA_ERR_CORRUPT_MESSAGE;
    if (sl_crc32c(0, p + KAFKA_BATCH_OFF_ATTRIBUTES, len - KAFKA_BATCH_OFF_ATTRIBUTES) != h->crc)
        return KAFKA_ERR_CORRUPT_MESSAGE;
    if ((h->attributes & KAFKA_ATTR_CODEC_MASK) > KAFKA_CODEC_ZSTD)
        return KAFKA_ERR_CORRUPT_MESSAGE;
    if (h->attributes & KAFKA_ATTR_CONTROL) return KAFKA_ERR_INVALID_RECORD;
    if (h->records_count <= 0 || h->last_offset_delta != h->records_count - 1)
        return KAFKA_ERR_INVALID_RECORD;
    /* An uncompressed record takes at least 7 bytes (length, attributes, timestamp and offset
     * deltas, key and value lengths, header count), so a count beyond that is a lie. */
    if ((h->attributes & KAFKA_ATTR_CODEC_MASK) == KAFKA_CODEC_NONE &&
        (uint64_t)h->records_count * 7 > len - KAFKA_BATCH_HEADER_SIZE)
        return KAFKA_ERR_CORRUPT_MESSAGE;
    return KAFKA_ERR_NONE;
}

void kafka_batch_set_log_append_time(uint8_t *p, size_t len, int64_t now_ms)
{
    uint16_t attr = sl_get_be16(p + KAFKA_BATCH_OFF_ATTRIBUTES);
    sl_put_be16(p + KAFKA_BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | KAFKA_ATTR_LOG_APPEND_TIME));
    sl_put_be64(p + KAFKA_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    sl_put_be32(p + KAFKA_BATCH_OFF_CRC,
                sl_crc32c(0, p + KAFKA_BATCH_OFF_ATTRIBUTES, len - KAFKA_BATCH_OFF_ATTRIBUTES));
}
