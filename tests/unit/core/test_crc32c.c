/* test_crc32c.c: CRC-32C against the check value and the RFC 3720 B.4 vectors, on the
 * slicing-by-8, single-stream SSE4.2, interleaved SSE4.2+PCLMULQDQ and AVX-512 VPCLMULQDQ
 * folding paths, plus incremental use and agreement on random data. */
#include "core/crc32c.h"
#include "core/crc32c_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* Bit-at-a-time definition, the reference the fast paths must match. */
static uint32_t crc_bitwise(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void check_vectors(crc_fn f)
{
    uint8_t m[48];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, "", 0), 0);

    memset(m, 0, 32);
    assert_int_equal(f(0, m, 32), 0x8A9136AAu);
    memset(m, 0xff, 32);
    assert_int_equal(f(0, m, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)i;
    assert_int_equal(f(0, m, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, m, 32), 0x113FDB5Cu);

    static const uint8_t read_pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    assert_int_equal(f(0, read_pdu, sizeof read_pdu), 0xD9963A56u);
}

static void test_reference_vectors(void **state)
{
    (void)state;
    check_vectors(crc_bitwise);
}

static void test_dispatch_vectors(void **state)
{
    (void)state;
    check_vectors(sl_crc32c);
}

static void test_sw_vectors(void **state)
{
    (void)state;
    check_vectors(sl__crc32c_sw);
}

static void test_hw_vectors(void **state)
{
    (void)state;
    if (!sl__crc32c_hw_available()) skip();
    check_vectors(sl__crc32c_hw);
}

static void test_hw3_vectors(void **state)
{
    (void)state;
    if (!sl__crc32c_hw3_available()) skip();
    check_vectors(sl__crc32c_hw3);
}

static void test_fold_vectors(void **state)
{
    (void)state;
    if (!sl__crc32c_fold_available()) skip();
    check_vectors(sl__crc32c_fold);
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* The interleaved and folding paths against the bitwise reference and the single-stream paths:
 * every length 0..4096 at a random alignment and with a random starting CRC. Lengths cross the
 * three-way thresholds (768 and 3 x 256 multiples), the folding steps (256, 64 and 16 bytes)
 * and the 8-byte head and tail loops. */
static void test_fast_paths_agree(void **state)
{
    (void)state;
    bool hw3 = sl__crc32c_hw3_available(), fold = sl__crc32c_fold_available();
    if (!hw3 && !fold) skip();
    enum { MAXLEN = 4096, SLACK = 64 };
    uint8_t *data = malloc(MAXLEN + SLACK);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < MAXLEN + SLACK; i++)
        data[i] = (uint8_t)xorshift(&x);
    for (size_t n = 0; n <= MAXLEN; n++) {
        size_t off = (size_t)(xorshift(&x) % SLACK);
        uint32_t init = n % 3 ? (uint32_t)xorshift(&x) : 0;
        const uint8_t *p = data + off;
        uint32_t want = crc_bitwise(init, p, n);
        if (hw3) assert_int_equal(sl__crc32c_hw3(init, p, n), want);
        if (fold) assert_int_equal(sl__crc32c_fold(init, p, n), want);
        assert_int_equal(sl__crc32c_hw(init, p, n), want);
        assert_int_equal(sl__crc32c_sw(init, p, n), want);
        assert_int_equal(sl_crc32c(init, p, n), want);
    }
    free(data);
}

/* Long buffers use 3 x 8 KiB parts before the 3 x 256 B ones (and fold 256 bytes a step):
 * sizes around those multiples, and incremental use split at random points. */
static void test_fast_paths_long(void **state)
{
    (void)state;
    bool hw3 = sl__crc32c_hw3_available(), fold = sl__crc32c_fold_available();
    if (!hw3 && !fold) skip();
    size_t cap = 3 * 8192 * 5 + 3 * 256 * 3 + 64;
    uint8_t *data = malloc(cap);
    uint64_t x = 0xD1B54A32D192ED03ull;
    for (size_t i = 0; i < cap; i++)
        data[i] = (uint8_t)xorshift(&x);
    const size_t base[] = {3 * 8192, 3 * 8192 * 2, 3 * 8192 * 5, 3 * 8192 + 3 * 256,
                           3 * 8192 * 2 + 3 * 256 * 3};
    for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
        for (int d = -9; d <= 9; d++) {
            size_t n = base[b] + (size_t)(d * 7), off = (size_t)(xorshift(&x) % 16);
            if (n + off > cap) continue;
            uint32_t want = sl__crc32c_sw(0, data + off, n);
            assert_int_equal(sl__crc32c_hw3(0, data + off, n), want);
            size_t cut = (size_t)(xorshift(&x) % (n + 1));
            assert_int_equal(
                sl__crc32c_hw3(sl__crc32c_hw3(0, data + off, cut), data + off + cut, n - cut),
                want);
        }
    }
    free(data);
}

/* Every length 0..300 at every alignment 0..15, and every split point of incremental use, must
 * agree across the implementations: this exercises the head, body and tail loops. */
static void test_paths_agree(void **state)
{
    (void)state;
    uint8_t data[320];
    uint64_t x = 0x243F6A8885A308D3ull;
    for (size_t i = 0; i < sizeof data; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    bool hw = sl__crc32c_hw_available();
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n + off <= 300; n++) {
            uint32_t want = crc_bitwise(0, data + off, n);
            assert_int_equal(sl__crc32c_sw(0, data + off, n), want);
            assert_int_equal(sl_crc32c(0, data + off, n), want);
            if (hw) assert_int_equal(sl__crc32c_hw(0, data + off, n), want);
        }
    }
    uint32_t whole = crc_bitwise(0, data, 257);
    for (size_t cut = 0; cut <= 257; cut++) {
        assert_int_equal(sl__crc32c_sw(sl__crc32c_sw(0, data, cut), data + cut, 257 - cut), whole);
        assert_int_equal(sl_crc32c(sl_crc32c(0, data, cut), data + cut, 257 - cut), whole);
    }
}

static void test_large_buffer(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8));
    uint32_t want = crc_bitwise(0, p, n);
    assert_int_equal(sl__crc32c_sw(0, p, n), want);
    assert_int_equal(sl_crc32c(0, p, n), want);
    if (sl__crc32c_hw3_available()) assert_int_equal(sl__crc32c_hw3(0, p, n), want);
    if (sl__crc32c_fold_available()) assert_int_equal(sl__crc32c_fold(0, p, n), want);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors), cmocka_unit_test(test_dispatch_vectors),
        cmocka_unit_test(test_sw_vectors),        cmocka_unit_test(test_hw_vectors),
        cmocka_unit_test(test_paths_agree),       cmocka_unit_test(test_large_buffer),
        cmocka_unit_test(test_hw3_vectors),       cmocka_unit_test(test_fold_vectors),
        cmocka_unit_test(test_fast_paths_agree),  cmocka_unit_test(test_fast_paths_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
