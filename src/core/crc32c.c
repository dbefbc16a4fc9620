/* crc32c.c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). The SSE4.2 crc32
 * instruction computes exactly this CRC; CPUs without it use slicing-by-8 tables built once.
 *
 * One crc32 instruction has a latency of three cycles but the CPU can start one every cycle, so
 * a single dependent chain leaves two thirds of it idle. Long buffers are therefore cut into
 * three parts whose CRCs run interleaved and are then joined. Without the pre- and
 * post-inversion the CRC is linear: for raw CRCs, crc(c, A || B) = crc(c, A) * x^(8|B|) mod P
 * xor crc(0, B). The shift by x^(8n) is one carry-less multiply (PCLMULQDQ) by a constant
 * x^(8n-33) mod P computed at start-up, reduced by a crc32 instruction over the 64-bit product
 * (which multiplies by x^32 mod P; the product of two bit-reflected values carries one more x).
 *
 * CPUs with AVX-512 and VPCLMULQDQ fold instead: sixteen 128-bit accumulators each hold a value
 * congruent mod P to the data read so far in their lane, and move D bits forward by multiplying
 * their two 64-bit halves by x^(D+64-33) and x^(D-33) mod P (the -33 again undoes the extra x
 * of reflected products, and the x^32 the final crc32 instructions multiply by). The last 128
 * bits left after folding go through the crc32 instruction, whose result is the raw CRC. */
#include "core/crc32c.h"
#include "core/crc32c_int.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#include <wmmintrin.h>
#define SL_CRC_X86    1
#define SL_CRC_X86_64 1
#elif defined(__i386__)
#include <nmmintrin.h>
#define SL_CRC_X86 1
#endif

#define POLY 0x82F63B78u

/* Bytes per part when three parts run interleaved: long parts for big buffers (the join costs
 * a few tens of cycles, noise against 3 x 8 KiB), short ones for what remains. */
#define PART_LONG  8192
#define PART_SHORT 256

static uint32_t table[8][256];
static uint32_t (*impl)(uint32_t, const void *, size_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* x^(8n-33) mod P, bit-reflected, for n = one and two parts of each size. */
static uint32_t k_long1, k_long2, k_short1, k_short2;
/* Folding constants, per fold distance D in bits: {x^(D+64-33), x^(D-33)} mod P. */
enum { FOLD_2048, FOLD_512, FOLD_384, FOLD_256, FOLD_128, FOLD_COUNT };
static const unsigned fold_bits[FOLD_COUNT] = {2048, 512, 384, 256, 128};
static uint64_t fold_k[FOLD_COUNT][2];

/* a * b mod P, both bit-reflected (bit 31 holds the coefficient of x^0). */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (0x80000000u >> i)) p ^= b;
        b = (b >> 1) ^ (POLY & (0u - (b & 1))); /* b *= x */
    }
    return p;
}

/* x^e mod P, bit-reflected. */
static uint32_t gf_xpow(uint64_t e)
{
    uint32_t r = 0x80000000u, base = 0x40000000u; /* 1 and x */
    for (; e; e >>= 1) {
        if (e & 1) r = gf_mul(r, base);
        base = gf_mul(base, base);
    }
    return r;
}

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
    k_long1 = gf_xpow(8 * PART_LONG - 33);
    k_long2 = gf_xpow(16 * PART_LONG - 33);
    k_short1 = gf_xpow(8 * PART_SHORT - 33);
    k_short2 = gf_xpow(16 * PART_SHORT - 33);
    for (int i = 0; i < FOLD_COUNT; i++) {
        fold_k[i][0] = gf_xpow(fold_bits[i] + 64 - 33);
        fold_k[i][1] = gf_xpow(fold_bits[i] - 33);
    }
    if (sl__crc32c_fold_available())
        impl = sl__crc32c_fold;
    else if (sl__crc32c_hw3_available())
        impl = sl__crc32c_hw3;
    else if (sl__crc32c_hw_available())
        impl = sl__crc32c_hw;
    else
        impl = sl__crc32c_sw;
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

#ifdef SL_CRC_X86_64
bool sl__crc32c_hw3_available(void)
{
    return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
}

/* crc * x^(8n) mod P for the raw CRC crc, given k = x^(8n-33) mod P. */
__attribute__((target("sse4.2,pclmul"))) static inline uint32_t crc_shift(uint32_t crc, uint32_t k)
{
    __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)crc), _mm_cvtsi32_si128((int)k), 0);
    return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod));
}

/* Runs three interleaved raw CRCs over the parts [p, p+part), [p+part, p+2part) and
 * [p+2part, p+3part) for as long as n allows, joining them after each round. */
__attribute__((target("sse4.2,pclmul"))) static inline uint64_t
crc_parts(uint64_t c, const uint8_t **pp, size_t *np, size_t part, uint32_t k1, uint32_t k2)
{
    const uint8_t *p = *pp;
    size_t n = *np;
    while (n >= 3 * part) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = p + part;
        do {
            uint64_t v0, v1, v2;
            memcpy(&v0, p, 8);
            memcpy(&v1, p + part, 8);
            memcpy(&v2, p + 2 * part, 8);
            c = _mm_crc32_u64(c, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
            p += 8;
        } while (p < end);
        c = crc_shift((uint32_t)c, k2) ^ crc_shift((uint32_t)c1, k1) ^ (uint32_t)c2;
        p += 2 * part;
        n -= 3 * part;
    }
    *pp = p;
    *np = n;
    return c;
}

__attribute__((target("sse4.2,pclmul"))) uint32_t sl__crc32c_hw3(uint32_t crc, const void *buf,
                                                                 size_t n)
{
    pthread_once(&once, init);
    const uint8_t *p = buf;
    if (n < 3 * PART_SHORT) return sl__crc32c_hw(crc, p, n);
    uint64_t c = ~crc;
    while ((uintptr_t)p & 7) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    c = crc_parts(c, &p, &n, PART_LONG, k_long1, k_long2);
    c = crc_parts(c, &p, &n, PART_SHORT, k_short1, k_short2);
    return sl__crc32c_hw(~(uint32_t)c, p, n); /* it inverts on the way in and out */
}

bool sl__crc32c_fold_available(void)
{
    return sl__crc32c_hw3_available() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("vpclmulqdq");
}

#define FOLD_TARGET __attribute__((target("sse4.2,pclmul,avx512f,vpclmulqdq")))

/* Each 128-bit lane of acc moved forward by the distance whose constants are in k, plus data. */
FOLD_TARGET static inline __m512i fold512(__m512i acc, __m512i k, __m512i data)
{
    __m512i hi = _mm512_clmulepi64_epi128(acc, k, 0x00); /* low qword: higher-degree half */
    __m512i lo = _mm512_clmulepi64_epi128(acc, k, 0x11);
    return _mm512_ternarylogic_epi64(hi, lo, data, 0x96); /* three-way xor */
}

FOLD_TARGET static inline __m128i fold128(__m128i acc, __m128i k, __m128i data)
{
    __m128i hi = _mm_clmulepi64_si128(acc, k, 0x00);
    __m128i lo = _mm_clmulepi64_si128(acc, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(hi, lo), data);
}

FOLD_TARGET static inline __m512i fold_const512(int i)
{
    return _mm512_set_epi64((long long)fold_k[i][1], (long long)fold_k[i][0],
                            (long long)fold_k[i][1], (long long)fold_k[i][0],
                            (long long)fold_k[i][1], (long long)fold_k[i][0],
                            (long long)fold_k[i][1], (long long)fold_k[i][0]);
}

FOLD_TARGET uint32_t sl__crc32c_fold(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&once, init);
    const uint8_t *p = buf;
    if (n < 256) return sl__crc32c_hw(crc, p, n);

    /* The starting register is the same as xoring it into the first four bytes. */
    __m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(p),
                                  _mm512_castsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    __m512i a1 = _mm512_loadu_si512(p + 64);
    __m512i a2 = _mm512_loadu_si512(p + 128);
    __m512i a3 = _mm512_loadu_si512(p + 192);
    p += 256;
    n -= 256;
    __m512i k = fold_const512(FOLD_2048);
    for (; n >= 256; p += 256, n -= 256) {
        a0 = fold512(a0, k, _mm512_loadu_si512(p));
        a1 = fold512(a1, k, _mm512_loadu_si512(p + 64));
        a2 = fold512(a2, k, _mm512_loadu_si512(p + 128));
        a3 = fold512(a3, k, _mm512_loadu_si512(p + 192));
    }
    k = fold_const512(FOLD_512);
    a1 = fold512(a0, k, a1);
    a2 = fold512(a1, k, a2);
    a3 = fold512(a2, k, a3);
    for (; n >= 64; p += 64, n -= 64)
        a3 = fold512(a3, k, _mm512_loadu_si512(p));

    /* Lanes 0, 1 and 2 lie 384, 256 and 128 bits ahead of lane 3. */
    __m128i x = _mm512_extracti32x4_epi32(a3, 3);
    x = fold128(_mm512_extracti32x4_epi32(a3, 0),
                _mm_set_epi64x((long long)fold_k[FOLD_384][1], (long long)fold_k[FOLD_384][0]), x);
    x = fold128(_mm512_extracti32x4_epi32(a3, 1),
                _mm_set_epi64x((long long)fold_k[FOLD_256][1], (long long)fold_k[FOLD_256][0]), x);
    __m128i k128 = _mm_set_epi64x((long long)fold_k[FOLD_128][1], (long long)fold_k[FOLD_128][0]);
    x = fold128(_mm512_extracti32x4_epi32(a3, 2), k128, x);
    for (; n >= 16; p += 16, n -= 16)
        x = fold128(x, k128, _mm_loadu_si128((const __m128i *)(const void *)p));

    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(x, 1));
    return sl__crc32c_hw(~(uint32_t)c, p, n); /* it inverts on the way in and out */
}
#else
bool sl__crc32c_hw3_available(void)
{
    return false;
}

uint32_t sl__crc32c_hw3(uint32_t crc, const void *buf, size_t n)
{
    return sl__crc32c_hw(crc, buf, n);
}

bool sl__crc32c_fold_available(void)
{
    return false;
}

uint32_t sl__crc32c_fold(uint32_t crc, const void *buf, size_t n)
{
    return sl__crc32c_hw(crc, buf, n);
}
#endif

uint32_t sl_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
    return impl(crc, p, n);
}
