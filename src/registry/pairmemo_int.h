/* pairmemo_int.h: answers already computed for pairs of schema nodes (reader, writer), shared by
 * the AVRO and JSON compatibility checks so that a type used from many places (a DAG) is
 * compared once per pair instead of once per path. */
#ifndef SL_REGISTRY_PAIRMEMO_INT_H
#define SL_REGISTRY_PAIRMEMO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* A walk over pairs of nodes: the pairs being compared, innermost last, and the memo. A pair
 * met again while it is being compared (recursion) is assumed to hold; an answer is memoised
 * only when it is final: false, or true without assuming anything of a pair further out.
 * Zero-initialise with SL_PAIRWALK_INIT; the tag keeps separate answers (e.g. loud and quiet). */
typedef struct sl_pairwalk {
    struct sl_pairwalk_pair *stack;
    size_t n, cap;
    size_t lowest; /* the lowest stack index a revisit assumed to hold in this subtree */
    sl_pairmemo memo;
} sl_pairwalk;
#define SL_PAIRWALK_INIT                                                                           \
    {                                                                                              \
        .lowest = SIZE_MAX                                                                         \
    }
typedef struct sl_pairwalk_mark {
    size_t me, outer;
} sl_pairwalk_mark;

/* Before comparing (a, b): true with *ok set when the answer is known (a revisit or memoised);
 * else pushes the pair, fills mark and returns false: compare, then call sl_pairwalk_leave. */
bool sl_pairwalk_enter(sl_pairwalk *w, const void *a, const void *b, int tag, bool *ok,
                       sl_pairwalk_mark *mark);
/* Pops the pair entered with mark, memoises ok if it is final, and returns ok. */
bool sl_pairwalk_leave(sl_pairwalk *w, const void *a, const void *b, int tag, sl_pairwalk_mark mark,
                       bool ok);
void sl_pairwalk_free(sl_pairwalk *w);

#endif
