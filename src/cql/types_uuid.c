/* types_uuid.c: uuid generation and text form, and partition tokens (Murmur3Partitioner). */
#include "cql/types.h"

#include <ctype.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>

static void random_bytes(void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = getrandom(b, n, 0);
        if (r <= 0) { /* cannot happen after boot with a kernel >= 3.17; never leave zeros */
            for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)(rand() ^ (int)sl_mono_ns());
            return;
        }
        b += r;
        n -= (size_t)r;
    }
}

void sl_cql_uuid_v4(uint8_t out[16])
{
    random_bytes(out, 16);
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
}

/* 100ns intervals between 1582-10-15 (the uuid epoch) and 1970-01-01. */
#define UUID_EPOCH_OFFSET 0x01B21DD213814000LL

static uint8_t clock_node[8]; /* clock sequence (2 bytes) and node (6), random per process */
static atomic_flag clock_node_once = ATOMIC_FLAG_INIT;
static atomic_int clock_node_ready;
static _Atomic int64_t last_ticks;

static const uint8_t *get_clock_node(void)
{
    if (!atomic_load(&clock_node_ready)) {
        if (!atomic_flag_test_and_set(&clock_node_once)) {
            random_bytes(clock_node, sizeof(clock_node));
            clock_node[0] = (clock_node[0] & 0x3f) | 0x80; /* variant 10 */
            clock_node[2] |= 0x01; /* multicast bit: a random node, not a MAC (RFC 4122 4.5) */
            atomic_store(&clock_node_ready, 1);
        } else {
            while (!atomic_load(&clock_node_ready))
                ;
        }
    }
    return clock_node;
}

static void make_v1(int64_t ticks, uint8_t out[16])
{
    uint64_t ts = (uint64_t)(ticks + UUID_EPOCH_OFFSET);
    sl_put_be32(out, (uint32_t)ts);                                   /* time_low */
    sl_put_be16(out + 4, (uint16_t)(ts >> 32));                       /* time_mid */
    sl_put_be16(out + 6, (uint16_t)(((ts >> 48) & 0x0fff) | 0x1000)); /* version 1 */
    memcpy(out + 8, get_clock_node(), 8);
}

void sl_cql_timeuuid_now(uint8_t out[16])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
    /* Strictly increasing within the process, even when the clock stalls or steps back. */
    int64_t prev = atomic_load(&last_ticks), next;
    do {
        next = now > prev ? now : prev + 1;
    } while (!atomic_compare_exchange_weak(&last_ticks, &prev, next));
    make_v1(next, out);
}

void sl_cql_timeuuid_at(int64_t unix_ms, uint32_t ticks, uint8_t out[16])
{
    make_v1(unix_ms * 10000 + (int64_t)(ticks % 10000), out);
}

int64_t sl_cql_timeuuid_unix_ms(const uint8_t u[16])
{
    uint64_t ts = (uint64_t)(sl_get_be16(u + 6) & 0x0fff) << 48 |
                  (uint64_t)sl_get_be16(u + 4) << 32 | sl_get_be32(u);
    int64_t t = (int64_t)ts - UUID_EPOCH_OFFSET;
    return t >= 0 ? t / 10000 : -((-t + 9999) / 10000);
}

void sl_cql_uuid_format(const uint8_t u[16], char out[37])
{
    static const char hx[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hx[u[i] >> 4];
        *p++ = hx[u[i] & 15];
    }
    *p = 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int sl_cql_uuid_parse(sl_slice s, uint8_t out[16])
{
    if (s.len != 36) return SL_ERR_INVAL;
    size_t j = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s.ptr[i] != '-') return SL_ERR_INVAL;
            i++;
            continue;
        }
        int hi = hexval(s.ptr[i]), lo = hexval(s.ptr[i + 1]);
        if (hi < 0 || lo < 0) return SL_ERR_INVAL;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

/* ---- Murmur3 ---- */

void sl_cql_partition_key(const sl_slice *comps, size_t n, sl_buf *out)
{
    if (n == 1) {
        sl_buf_append(out, comps[0].ptr, comps[0].len);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sl_buf_put_be16(out, (uint16_t)comps[i].len);
        sl_buf_append(out, comps[i].ptr, comps[i].len);
        sl_buf_put_u8(out, 0);
    }
}

static inline uint64_t rotl64(uint64_t v, int n)
{
    return (v << n) | (v >> (64 - n));
}

static inline uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Cassandra's MurmurHash.hash3_x64_128 with seed 0: the standard algorithm except that tail
 * bytes are read as Java's signed bytes and sign-extended before shifting. */
int64_t sl_cql_murmur3_token(const void *key, size_t len)
{
    const uint8_t *data = key;
    if (len == 0) return INT64_MIN;
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1 = get_le64(data + i * 16), k2 = get_le64(data + i * 16 + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t *tail = data + nblocks * 16;
    uint64_t k1 = 0, k2 = 0;
#define SX(i) ((uint64_t)(int64_t)(int8_t)tail[i])
    switch (len & 15) {
    case 15: k2 ^= SX(14) << 48; /* fallthrough */
    case 14: k2 ^= SX(13) << 40; /* fallthrough */
    case 13: k2 ^= SX(12) << 32; /* fallthrough */
    case 12: k2 ^= SX(11) << 24; /* fallthrough */
    case 11: k2 ^= SX(10) << 16; /* fallthrough */
    case 10: k2 ^= SX(9) << 8;   /* fallthrough */
    case 9:
        k2 ^= SX(8);
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        /* fallthrough */
    case 8: k1 ^= SX(7) << 56; /* fallthrough */
    case 7: k1 ^= SX(6) << 48; /* fallthrough */
    case 6: k1 ^= SX(5) << 40; /* fallthrough */
    case 5: k1 ^= SX(4) << 32; /* fallthrough */
    case 4: k1 ^= SX(3) << 24; /* fallthrough */
    case 3: k1 ^= SX(2) << 16; /* fallthrough */
    case 2: k1 ^= SX(1) << 8;  /* fallthrough */
    case 1:
        k1 ^= SX(0);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
#undef SX
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    int64_t token = (int64_t)h1;
    return token == INT64_MIN ? INT64_MAX : token;
}

int64_t sl_cql_token(const sl_slice *comps, size_t n)
{
    if (n == 1) return sl_cql_murmur3_token(comps[0].ptr, comps[0].len);
    uint8_t stack[256];
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += comps[i].len + 3;
    if (total <= sizeof(stack)) {
        uint8_t *p = stack;
        for (size_t i = 0; i < n; i++) {
            sl_put_be16(p, (uint16_t)comps[i].len);
            if (comps[i].len) memcpy(p + 2, comps[i].ptr, comps[i].len);
            p[2 + comps[i].len] = 0;
            p += comps[i].len + 3;
        }
        return sl_cql_murmur3_token(stack, total);
    }
    sl_buf b = SL_BUF_INIT;
    sl_cql_partition_key(comps, n, &b);
    int64_t t = sl_cql_murmur3_token(b.ptr, b.len);
    sl_buf_free(&b);
    return t;
}
