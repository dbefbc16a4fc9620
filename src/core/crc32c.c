/* crc32c.c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). The SSE4.2 crc32
 * instruction computes exactly this CRC; CPUs without it use slicing-by-8 tables built once. */
#include "core/crc32c.h"
#include "core/crc32c_int.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SL_CRC_X86 1
#endif

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static uint32_t (*impl)(uint32_t, const void *, size_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static void init(void)
{
    build_tables();
    impl = sl__crc32c_hw_available() ? sl__crc32c_hw : sl__crc32c_sw;
}

uint32_t sl__crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&once, init);
    const uint8_t *p = buf;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^
              table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#ifdef SL_CRC_X86
bool sl__crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2"))) uint32_t sl__crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
#ifdef __x86_64__
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
#endif
    while (n >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        crc = _mm_crc32_u32(crc, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return ~crc;
}
#else
bool sl__crc32c_hw_available(void)
{
    return false;
}

uint32_t sl__crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
    return sl__crc32c_sw(crc, buf, n);
}
#endif

uint32_t sl_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
    return impl(crc, p, n);
}
