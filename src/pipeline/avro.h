/* avro.h: records in Confluent's wire format (magic byte 0, the schema id as a big-endian int32,
 * then the Avro binary encoding), written by `sluice ingest --format avro` and read by `sluice
 * process --format avro`, with schemas kept in a Schema Registry (sluice registry or Confluent's)
 * and encoded and decoded by libavro. */
#ifndef SL_PIPELINE_AVRO_H
#define SL_PIPELINE_AVRO_H

#include "core/buf.h"
#include "pipeline/schema.h"

#include <jansson.h>
#include <stdint.h>

/* The Avro schema of the users_created record: the 12 fields of user.h, all strings, in the
 * seeds' order (record io.sluice.User). */
extern const char sl_avro_user_schema[];

typedef struct sl_avro_enc sl_avro_enc;

/* Registers schema (Avro JSON) under subject at the registry URL (POST
 * /subjects/{subject}/versions; an equivalent schema already there keeps its id) and prepares to
 * encode with it. Each HTTP call is bounded by timeout_ms. Returns 0, or <0 with a reason. */
int sl_avro_enc_open(const char *registry, const char *subject, const char *schema,
                     int64_t timeout_ms, sl_avro_enc **out, char *err, size_t errlen);
/* The id the registry gave the schema. */
int32_t sl_avro_enc_id(const sl_avro_enc *e);
/* Appends obj (a JSON object with a member per field; a missing or null member is allowed only
 * for a field whose type is a union with null) in the wire format to out. Returns 0, or
 * SL_ERR_PARSE with a reason naming the field (out is then unchanged). */
int sl_avro_enc_write(sl_avro_enc *e, const json_t *obj, sl_buf *out, char *err, size_t errlen);
void sl_avro_enc_free(sl_avro_enc *e);

typedef struct sl_avro_dec sl_avro_dec;

/* A decoder that fetches writer schemas by id from the registry URL (GET /schemas/ids/{id}) on
 * first sight and keeps them; an id the registry does not know is asked again only after 5 s. A
 * registry that cannot be reached is retried with backoff for up to retry_ms. */
sl_avro_dec *sl_avro_dec_new(const char *registry, int64_t timeout_ms, int64_t retry_ms);
/* Decodes one framed value with its writer schema and appends it to out as compact JSON (a record
 * an object, unions unwrapped to their branch's value, enums their symbol, bytes and fixed their
 * bytes as text, floats that are not finite null), for the JSON parser that follows. Returns
 * SL_REC_OK, or the refusal (SL_REC_NOT_AVRO, _UNKNOWN_SCHEMA_ID, _UNSUPPORTED_SCHEMA,
 * _AVRO_DECODE: the bytes do not decode or some are left over, _REGISTRY_UNAVAILABLE) with a
 * detail. */
sl_rec_error sl_avro_dec_json(sl_avro_dec *d, const void *value, size_t len, sl_buf *out,
                              char *detail, size_t detaillen);
/* Schemas fetched so far (ids known to the cache). */
size_t sl_avro_dec_cached(const sl_avro_dec *d);
void sl_avro_dec_free(sl_avro_dec *d);

#endif
