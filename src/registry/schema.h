/* schema.h: the registry's view of a schema (the seam between the registry and the schema types;
 * docs/registry.md). AVRO is parsed with libavro and brought to the Avro specification's Parsing
 * Canonical Form; compatibility follows the specification's schema resolution rules. JSON is
 * JSON Schema draft-07 (jsonschema.c): sorted compact JSON as its canonical form, compatibility
 * over the keyword subset docs/registry.md lists. */
#ifndef SL_REGISTRY_SCHEMA_H
#define SL_REGISTRY_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { SL_SCHEMA_AVRO, SL_SCHEMA_JSON, SL_SCHEMA_PROTOBUF } sl_regschema_type;
typedef struct sl_regschema sl_regschema;
/* Parses a schema of type t; on failure returns <0 with a reason fit for a 42201 message.
 * refs/nrefs: referenced schemas already resolved (may be 0). */
int sl_regschema_parse(sl_regschema_type t, const char *text, size_t len, sl_regschema **out,
                       char *err, size_t errlen);
/* The canonical text: two schemas are the same schema iff their canonical texts are equal. */
const char *sl_regschema_canonical(const sl_regschema *s);
/* Can data written with writer be read with reader? On false, appends human-readable reasons
 * (malloc'd strings) to *msgs for ?verbose=true. Both schemas have the same type. */
bool sl_regschema_can_read(const sl_regschema *reader, const sl_regschema *writer, char ***msgs,
                           size_t *nmsgs);
void sl_regschema_free(sl_regschema *s);

#endif
