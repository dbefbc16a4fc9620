/* crc32c.h: CRC-32C (Castagnoli), as used by Kafka record batches and the storage layers.
 * Uses the SSE4.2 crc32 instruction when the CPU has it, and slicing-by-8 tables otherwise. */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes: sl_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t sl_crc32c(uint32_t crc, const void *p, size_t n);

#endif
