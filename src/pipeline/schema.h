/* schema.h: the declared record schema of `sluice process` and its mapping to sink columns.
 *
 * A schema is a list of fields (name, type, required, an optional default, an optional "email"
 * shape check). The mapping turns fields into sink columns: rename, drop, default and concat.
 * sl_schema_parse turns one JSON record into one row of typed sink values without a malloc per
 * record: text values borrow from the record where they can and otherwise from an arena. */
#ifndef SL_PIPELINE_SCHEMA_H
#define SL_PIPELINE_SCHEMA_H

#include "core/buf.h"
#include "core/config.h"
#include "pipeline/sink.h"

/* Why a record was refused; each has a stable name for the DLQ's error header. */
typedef enum {
    SL_REC_OK = 0,
    SL_REC_NOT_JSON,        /* not_json: not a JSON object (empty, syntax error, other type) */
    SL_REC_INVALID_UTF8,    /* invalid_utf8: bytes that are not UTF-8, or a lone \u surrogate */
    SL_REC_TOO_LARGE,       /* too_large: value over max_record_size */
    SL_REC_MISSING_FIELD,   /* missing_field: a required field absent or null */
    SL_REC_WRONG_TYPE,      /* wrong_type: a field's JSON type does not fit its declared type */
    SL_REC_INVALID_UUID,    /* invalid_uuid: a uuid field that is not a UUID */
    SL_REC_INVALID_EMAIL,   /* invalid_email: an email field not shaped like an address */
    SL_REC_DUPLICATE_FIELD, /* duplicate_field: the same field twice in one object */
    SL_REC_NUL_IN_TEXT,     /* nul_in_text: a \u0000 escape, which PostgreSQL text cannot hold */
    /* format avro (pipeline/avro.h) */
    SL_REC_NOT_AVRO,             /* not_avro: no magic byte 0 and schema id */
    SL_REC_UNKNOWN_SCHEMA_ID,    /* unknown_schema_id: the registry does not know the id */
    SL_REC_UNSUPPORTED_SCHEMA,   /* unsupported_schema: not AVRO, or refused by libavro */
    SL_REC_AVRO_DECODE,          /* avro_decode_error: bytes that do not decode, or left over */
    SL_REC_REGISTRY_UNAVAILABLE, /* registry_unavailable: no answer within the retry time */
} sl_rec_error;

/* The stable snake_case name of a record error ("not_json", ...). */
const char *sl_rec_error_name(sl_rec_error e);

typedef struct sl_schema sl_schema;

/* The seeds' schema: id uuid plus first_name, last_name, gender, address, post_code, email,
 * username, dob, registered_date, phone and picture as text, all required, email checked; the
 * identity mapping onto spark_streams.created_users. */
sl_schema *sl_schema_default(void);
/* Builds a schema from the `schema:` list and the optional `mapping:` map of a pipeline
 * section (either may be NULL: the default schema, the identity mapping). Every problem is
 * added to errs with file:line; returns 0 or SL_ERR_CONFIG (and *out NULL). */
int sl_schema_from_yaml(const sl_yaml *schema, const sl_yaml *mapping, sl_schema **out,
                        sl_errs *errs);
void sl_schema_free(sl_schema *s);

/* The sink columns rows are made of (column 0 is the primary key); valid while s lives. */
const sl_sink_column *sl_schema_columns(const sl_schema *s, size_t *ncols);

/* Parses one record value (JSON, at most max_size bytes) into row[0..ncols-1]. TEXT values
 * point into value or into arena, so row is valid while both are. On a refusal returns the
 * reason and writes a one-line detail (field name and why, never the field's content). */
sl_rec_error sl_schema_parse(const sl_schema *s, const void *value, size_t len, size_t max_size,
                             sl_sink_value *row, sl_arena *arena, char *detail, size_t detaillen);

/* Parses a canonical 8-4-4-4-12 UUID (either case). Returns 0 or SL_ERR_PARSE. */
int sl_uuid_parse(const char *s, size_t len, uint8_t out[16]);
/* Whether s looks like an email address: one '@', a non-empty local part, a dotted domain,
 * no spaces or control characters. */
bool sl_email_shaped(const char *s, size_t len);
/* Parses an ISO-8601 date or date-time ("2024-05-01", "2024-05-01T10:00:00.123Z",
 * "...+02:00") into ms since the epoch. Returns 0 or SL_ERR_PARSE. */
int sl_timestamp_parse(const char *s, size_t len, int64_t *ms);

/* Whether path is a JSON path sl_json_path accepts: "$" followed by ".name" and "[N]" steps
 * (a name is any run of characters other than '.' and '['). */
bool sl_json_path_valid(const char *path);
/* Finds the value at path in the JSON text json (path as sl_json_path_valid accepts). A string
 * comes back unescaped (borrowed from json, or in arena), a number, true or false as its
 * literal text, an object or array as its JSON text; *is_str says which. Returns 0,
 * SL_ERR_NOTFOUND (no such member, or null), or SL_ERR_PARSE (json is not valid JSON on the way
 * to the value). */
int sl_json_path(const void *json, size_t len, const char *path, sl_arena *arena, const char **out,
                 size_t *outlen, bool *is_str);

#endif
