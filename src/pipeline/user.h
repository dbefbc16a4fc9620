/* user.h: the seeds' format_data in C: one raw randomuser.me user (API 1.4 JSON) flattened into
 * the 12-field record that travels on users_created (ARCHITECTURE.md "The data path"), and the
 * random UUIDs that become each record's id. */
#ifndef SL_PIPELINE_USER_H
#define SL_PIPELINE_USER_H

#include "core/buf.h"
#include "core/sl.h"

#include <jansson.h>

#define SL_USER_NFIELDS 12
#define SL_UUID_STRLEN  36

/* The record's field names in the seeds' order: id, first_name, ..., picture. */
extern const char *const sl_user_fields[SL_USER_NFIELDS];

/* Fills out with a random version-4 UUID (RFC 9562 5.4) from the kernel's CSPRNG, read in blocks
 * so that a million ids cost a few hundred getrandom(2) calls. Thread-safe. */
void sl_user_uuid4(uint8_t out[16]);
/* Writes the canonical lowercase 8-4-4-4-12 form and a NUL into out. */
void sl_user_uuid_format(const uint8_t u[16], char out[SL_UUID_STRLEN + 1]);

/* Flattens raw (one element of the API's "results") with the given id string, as format_data:
 *   address   = "{street.number} {street.name}, {city}, {state}, {country}"
 *   post_code = location.postcode as text, whether the API sent a number or a string
 *   dob, registered_date = dob.date, registered.date (the API's strings, unchanged)
 *   picture   = picture.medium
 * Returns a new JSON object with the 12 fields in the seeds' order, or NULL with a reason naming
 * the missing or mistyped field ("location.street.number: missing") in err. */
json_t *sl_user_flatten(const json_t *raw, const char *id, char *err, size_t errlen);

/* sl_user_flatten, then appends the record as compact JSON text to out. Returns 0 or
 * SL_ERR_PARSE (err says why; out is unchanged). */
int sl_user_encode(const json_t *raw, const char *id, sl_buf *out, char *err, size_t errlen);

#endif
