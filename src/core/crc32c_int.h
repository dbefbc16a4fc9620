/* crc32c_int.h: the CRC-32C implementations behind sl_crc32c, exposed so tests can check that
 * they agree. Private to src/core and its tests. */
#ifndef SL_CRC32C_INT_H
#define SL_CRC32C_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Portable slicing-by-8. Same contract as sl_crc32c. */
uint32_t sl__crc32c_sw(uint32_t crc, const void *p, size_t n);
/* True when this CPU has the SSE4.2 crc32 instruction. */
bool sl__crc32c_hw_available(void);
/* The SSE4.2 path; call only when sl__crc32c_hw_available() is true. */
uint32_t sl__crc32c_hw(uint32_t crc, const void *p, size_t n);
/* True when this CPU also has PCLMULQDQ (and is x86-64), for the interleaved path. */
bool sl__crc32c_hw3_available(void);
/* SSE4.2 over three interleaved parts joined by carry-less multiplies; buffers under 768
 * bytes take the single-stream path. Call only when sl__crc32c_hw3_available() is true. */
uint32_t sl__crc32c_hw3(uint32_t crc, const void *p, size_t n);
/* True when this CPU also has AVX-512F and VPCLMULQDQ, for the folding path. */
bool sl__crc32c_fold_available(void);
/* Carry-less folding over 256-byte steps; buffers under 256 bytes take the single-stream path.
 * Call only when sl__crc32c_fold_available() is true. */
uint32_t sl__crc32c_fold(uint32_t crc, const void *p, size_t n);

#endif
