/* hll.c: HyperLogLog with a sparse start (hll.h). Register j of a value is the top SL_HLL_P
 * bits of its hash; its rank is the position of the first 1 bit in the rest (1-based). */
#include "pipeline/hll.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define SPARSE_MAX (SL_HLL_M / 16) /* 256 pairs = 1 KiB, a quarter of the dense form */

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t sl_hll_hash(const void *p, size_t n)
{
    /* Eight bytes per step (FNV-1a's multiply on whole words), the tail bytewise; the
     * finaliser then spreads every input bit over the word, as HyperLogLog needs. */
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; n; b++, n--)
        h = (h ^ *b) * 0x100000001b3ull;
    return fmix64(h);
}

void sl_hll_init(sl_hll *h)
{
    memset(h, 0, sizeof *h);
}

void sl_hll_free(sl_hll *h)
{
    sl_free(h->dense);
    sl_free(h->sparse);
    memset(h, 0, sizeof *h);
}

/* The sorted pairs: inline until more than SL_HLL_INLINE are needed. */
static uint32_t *pairs(sl_hll *h)
{
    return h->capsparse ? h->sparse : h->inl;
}

static const uint32_t *cpairs(const sl_hll *h)
{
    return h->capsparse ? h->sparse : h->inl;
}

static void densify(sl_hll *h)
{
    const uint32_t *sp = pairs(h);
    h->dense = sl_calloc(SL_HLL_M, 1);
    for (uint32_t i = 0; i < h->nsparse; i++)
        h->dense[sp[i] >> 8] = (uint8_t)(sp[i] & 0xff);
    sl_free(h->sparse);
    h->sparse = NULL;
    h->nsparse = h->capsparse = 0;
}

static void set_register(sl_hll *h, uint32_t idx, uint8_t rank)
{
    if (h->dense) {
        if (rank > h->dense[idx]) h->dense[idx] = rank;
        return;
    }
    uint32_t *sp = pairs(h), lo = 0, hi = h->nsparse;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if ((sp[mid] >> 8) < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->nsparse && (sp[lo] >> 8) == idx) {
        if (rank > (sp[lo] & 0xff)) sp[lo] = idx << 8 | rank;
        return;
    }
    if (h->nsparse == SPARSE_MAX) {
        densify(h);
        set_register(h, idx, rank);
        return;
    }
    if (!h->capsparse && h->nsparse == SL_HLL_INLINE) {
        h->sparse = sl_malloc(2 * SL_HLL_INLINE * sizeof *h->sparse);
        memcpy(h->sparse, h->inl, sizeof h->inl);
        h->capsparse = 2 * SL_HLL_INLINE;
    } else if (h->capsparse && h->nsparse == h->capsparse) {
        h->capsparse *= 2;
        h->sparse = sl_realloc(h->sparse, h->capsparse * sizeof *h->sparse);
    }
    sp = pairs(h);
    memmove(&sp[lo + 1], &sp[lo], (h->nsparse - lo) * sizeof *sp);
    sp[lo] = idx << 8 | rank;
    h->nsparse++;
}

void sl_hll_add(sl_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - SL_HLL_P));
    uint64_t rest = hash << SL_HLL_P;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - SL_HLL_P + 1);
    set_register(h, idx, rank);
}

static double pow2_inv[64 - SL_HLL_P + 2];  /* 2^-k for every rank a register can hold */
static uint64_t sparse_est[SPARSE_MAX + 1]; /* the estimate of a sparse sketch of n registers */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Once per process, before any estimate: pipelines estimate on several threads. */
static void init_tables(void)
{
    for (unsigned i = 0; i < SL_ARRAY_LEN(pow2_inv); i++)
        pow2_inv[i] = ldexp(1.0, -(int)i);
    /* With at most SPARSE_MAX registers set, at least m - SPARSE_MAX are zero, so the raw
     * estimate alpha * m^2 / sum is under 2.5 m (sum >= zeros > 0.29 m) and linear counting
     * applies: it depends on the number of set registers alone. */
    _Static_assert(SPARSE_MAX < SL_HLL_M / 4, "a sparse sketch must be in linear counting range");
    double m = SL_HLL_M;
    for (uint32_t n = 0; n <= SPARSE_MAX; n++)
        sparse_est[n] = (uint64_t)llround(m * log(m / (double)(SL_HLL_M - n)));
}

uint64_t sl_hll_estimate(const sl_hll *h)
{
    pthread_once(&tables_once, init_tables);
    if (!h->dense) return sparse_est[h->nsparse];
    double m = SL_HLL_M, sum = 0;
    uint32_t zeros = 0;
    for (uint32_t j = 0; j < SL_HLL_M; j++) {
        sum += pow2_inv[h->dense[j]];
        zeros += h->dense[j] == 0;
    }
    double alpha = 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros);
    return (uint64_t)llround(e);
}

size_t sl_hll_bytes(const sl_hll *h)
{
    return h->dense ? SL_HLL_M : h->capsparse * sizeof *h->sparse;
}

void sl_hll_save(const sl_hll *h, sl_buf *out)
{
    if (h->dense) {
        sl_buf_put_u8(out, 1);
        sl_buf_append(out, h->dense, SL_HLL_M);
        return;
    }
    sl_buf_put_u8(out, 0);
    sl_buf_put_be16(out, (uint16_t)h->nsparse);
    const uint32_t *sp = cpairs(h);
    for (uint32_t i = 0; i < h->nsparse; i++)
        sl_buf_put_be32(out, sp[i]);
}

int sl_hll_load(sl_hll *h, sl_rd *rd)
{
    uint8_t form;
    if (sl_rd_u8(rd, &form)) return SL_ERR_CORRUPT;
    if (form == 1) {
        sl_slice s;
        if (sl_rd_bytes(rd, SL_HLL_M, &s)) return SL_ERR_CORRUPT;
        h->dense = sl_malloc(SL_HLL_M);
        memcpy(h->dense, s.ptr, SL_HLL_M);
        for (uint32_t j = 0; j < SL_HLL_M; j++)
            if (h->dense[j] > 64 - SL_HLL_P + 1) return SL_ERR_CORRUPT;
        return 0;
    }
    uint16_t n;
    if (form != 0 || sl_rd_be16(rd, &n) || n > SPARSE_MAX) return SL_ERR_CORRUPT;
    for (uint16_t i = 0; i < n; i++) {
        uint32_t v;
        if (sl_rd_be32(rd, &v) || (v >> 8) >= SL_HLL_M || (v & 0xff) == 0 ||
            (v & 0xff) > 64 - SL_HLL_P + 1)
            return SL_ERR_CORRUPT;
        set_register(h, v >> 8, (uint8_t)(v & 0xff));
    }
    return 0;
}
