/* jsonschema_int.h: JSON Schema (draft-07) for the registry's schema seam (schema.c dispatches
 * SL_SCHEMA_JSON here). The document is loaded with jansson; the keyword structure is checked by
 * our own walk against draft-07's meta-schema; compatibility covers the keyword subset listed in
 * docs/registry.md. */
#ifndef SL_REGISTRY_JSONSCHEMA_INT_H
#define SL_REGISTRY_JSONSCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sl_jsonschema sl_jsonschema;

/* Parses and checks a JSON Schema document; on failure returns <0 with a reason in err. */
int sl_jsonschema_parse(const char *text, size_t len, sl_jsonschema **out, char *err,
                        size_t errlen);
/* Compact JSON with object members sorted: equal texts mean equivalent documents. */
const char *sl_jsonschema_canonical(const sl_jsonschema *s);
/* Does reader accept every document writer accepts (over the checked keyword subset)? On false,
 * appends malloc'd reasons to *msgs (msgs may be NULL). */
bool sl_jsonschema_can_read(const sl_jsonschema *reader, const sl_jsonschema *writer, char ***msgs,
                            size_t *nmsgs);
void sl_jsonschema_free(sl_jsonschema *s);

#endif
