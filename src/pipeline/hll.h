/* hll.h: HyperLogLog distinct counting for the windows' count_distinct (docs/transforms.md).
 *
 * Precision 12: 4096 six-bit registers kept one per byte, standard error 1.04/sqrt(4096) = 1.6%.
 * A sketch starts sparse (a sorted list of (register, rank) pairs, 4 bytes each) and turns
 * dense (4 KiB) once the list would be larger than 1 KiB, so the many small groups of a
 * windowed GROUP BY cost little. The estimate uses linear counting while many registers are
 * empty (exact-ish for small sets) and the HyperLogLog harmonic mean above that; 64-bit hashes
 * make a large-range correction unnecessary. Merging and serialisation are deterministic:
 * the same values in any order give the same bytes. */
#ifndef SL_PIPELINE_HLL_H
#define SL_PIPELINE_HLL_H

#include "core/buf.h"
#include "core/codec.h"

#define SL_HLL_P 12
#define SL_HLL_M (1u << SL_HLL_P)

#define SL_HLL_INLINE 2 /* pairs held in the sketch itself before any allocation */

typedef struct sl_hll {
    uint8_t *dense;   /* SL_HLL_M registers, or NULL while sparse */
    uint32_t *sparse; /* sorted by register: idx << 8 | rank; NULL while in inl */
    uint32_t nsparse, capsparse;
    /* The pairs while capsparse is 0: a window's many small groups (a value or two each)
     * then cost no allocation. */
    uint32_t inl[SL_HLL_INLINE];
} sl_hll;

/* A 64-bit hash of n bytes (FNV-1a's multiply over 8-byte words, then a 64-bit finaliser). */
uint64_t sl_hll_hash(const void *p, size_t n);
void sl_hll_init(sl_hll *h);
void sl_hll_free(sl_hll *h);
/* Adds a value by its 64-bit hash. */
void sl_hll_add(sl_hll *h, uint64_t hash);
/* The estimated number of distinct values added. */
uint64_t sl_hll_estimate(const sl_hll *h);
/* Bytes of memory the sketch holds. */
size_t sl_hll_bytes(const sl_hll *h);
/* Appends the sketch to out (a byte for the form, then the registers or pairs). */
void sl_hll_save(const sl_hll *h, sl_buf *out);
/* Reads a sketch saved by sl_hll_save from rd into h (initialised). Returns 0 or
 * SL_ERR_CORRUPT. */
int sl_hll_load(sl_hll *h, sl_rd *rd);

#endif
