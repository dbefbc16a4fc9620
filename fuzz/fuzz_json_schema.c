/* fuzz_json_schema.c: one JSON schema text through the registry's parser (sl_regschema_parse).
 * Any input must end in a schema or a refusal with a reason; a schema's canonical text must parse
 * again to the same canonical text, and a schema must be compatible with itself (both directions
 * of the check walk it whole, recursion and shared types included). Never a crash, a leak or a
 * read past the input: the text is copied into an exact-size buffer, so ASan catches overreads. */
#include "fuzz.h"

#include "registry/schema.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sl_regschema *s = NULL;
    char err[512] = "";
    int rc = sl_regschema_parse(SL_SCHEMA_JSON, copy, size, &s, err, sizeof err);
    free(copy);
    if (rc) {
        if (s || !err[0]) abort();
        return 0;
    }
    const char *canon = sl_regschema_canonical(s);
    sl_regschema *again = NULL;
    if (sl_regschema_parse(SL_SCHEMA_JSON, canon, strlen(canon), &again, err, sizeof err) ||
        strcmp(sl_regschema_canonical(again), canon))
        abort();
    char **msgs = NULL;
    size_t n = 0;
    if (!sl_regschema_can_read(s, again, &msgs, &n) || n) abort();
    if (!sl_regschema_can_read(again, s, NULL, NULL)) abort();
    free(msgs);
    sl_regschema_free(again);
    sl_regschema_free(s);
    return 0;
}
