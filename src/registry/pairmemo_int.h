/* pairmemo_int.h: answers already computed for pairs of schema nodes (reader, writer), shared by
 * the AVRO and JSON compatibility checks so that a type used from many places (a DAG) is
 * compared once per pair instead of once per path. */
#ifndef SL_REGISTRY_PAIRMEMO_INT_H
#define SL_REGISTRY_PAIRMEMO_INT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sl_pairmemo_entry sl_pairmemo_entry;
typedef struct sl_pairmemo {
    sl_pairmemo_entry *v; /* open addressing; cap is 0 or a power of two */
    size_t n, cap;
} sl_pairmemo;

/* The answer stored for (a, b, tag) into *ok; false when there is none. */
bool sl_pairmemo_get(const sl_pairmemo *m, const void *a, const void *b, int tag, bool *ok);
/* Stores the answer for (a, b, tag), which must not be stored yet. */
void sl_pairmemo_put(sl_pairmemo *m, const void *a, const void *b, int tag, bool ok);
void sl_pairmemo_free(sl_pairmemo *m);

#endif
