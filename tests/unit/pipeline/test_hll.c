/* test_hll.c: the HyperLogLog sketch: exact-ish small counts, the documented error (1.6%
 * standard error: every estimate here within 3 of them) from 100 to 1,000,000 distinct values,
 * duplicates ignored, order independence, the sparse-to-dense switch, save/load round trips and
 * refusal of damaged input. */
#include "core/buf.h"
#include "core/codec.h"
#include "pipeline/hll.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static uint64_t h(uint64_t i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "user-%llu", (unsigned long long)i);
    return sl_hll_hash(buf, (size_t)n);
}

static void test_error_bound(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        sl_hll s;
        sl_hll_init(&s);
        for (uint64_t i = 0; i < sizes[k]; i++) {
            sl_hll_add(&s, h(i));
            sl_hll_add(&s, h(i)); /* a duplicate changes nothing */
        }
        double est = (double)sl_hll_estimate(&s), n = (double)sizes[k];
        double err = (est - n) / n;
        if (sizes[k] <= 10) {
            if (est != n)
                fail_msg("%llu distinct: estimate %.0f", (unsigned long long)sizes[k], est);
        } else if (err > 0.048 || err < -0.048) {
            fail_msg("%llu distinct: estimate %.0f, error %.3f", (unsigned long long)sizes[k], est,
                     err);
        }
        assert_true(sizes[k] < 300 ? s.dense == NULL : s.dense != NULL);
        sl_hll_free(&s);
    }
}

static void test_order_and_roundtrip(void **state)
{
    (void)state;
    for (uint64_t n = 50; n <= 5000; n *= 10) {
        sl_hll a, b, c;
        sl_hll_init(&a);
        sl_hll_init(&b);
        sl_hll_init(&c);
        for (uint64_t i = 0; i < n; i++) {
            sl_hll_add(&a, h(i));
            sl_hll_add(&b, h(n - 1 - i));
        }
        sl_buf x = SL_BUF_INIT, y = SL_BUF_INIT;
        sl_hll_save(&a, &x);
        sl_hll_save(&b, &y);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.ptr, y.ptr, x.len);
        sl_rd rd;
        sl_rd_init(&rd, x.ptr, x.len);
        assert_int_equal(sl_hll_load(&c, &rd), 0);
        assert_int_equal(sl_rd_left(&rd), 0);
        assert_int_equal(sl_hll_estimate(&c), sl_hll_estimate(&a));
        /* Damaged: truncated, or a bad form byte. */
        sl_hll d;
        sl_hll_init(&d);
        sl_rd_init(&rd, x.ptr, x.len - 1);
        assert_int_equal(sl_hll_load(&d, &rd), SL_ERR_CORRUPT);
        sl_hll_free(&d);
        x.ptr[0] = 7;
        sl_rd_init(&rd, x.ptr, x.len);
        assert_int_equal(sl_hll_load(&d, &rd), SL_ERR_CORRUPT);
        sl_hll_free(&d);
        sl_buf_free(&x);
        sl_buf_free(&y);
        sl_hll_free(&a);
        sl_hll_free(&b);
        sl_hll_free(&c);
    }
}

/* A sparse sketch's estimate is linear counting over its set registers, m ln(m / zeros),
 * computed here independently for every size a sparse sketch can have. */
static void test_sparse_estimates(void **state)
{
    (void)state;
    sl_hll s;
    sl_hll_init(&s);
    assert_int_equal(sl_hll_estimate(&s), 0);
    for (uint64_t i = 0; !s.dense; i++) {
        sl_hll_add(&s, h(i));
        if (s.dense) break;
        double m = SL_HLL_M;
        uint64_t want = (uint64_t)llround(m * log(m / (m - s.nsparse)));
        assert_int_equal(sl_hll_estimate(&s), want);
    }
    sl_hll_free(&s);
}

/* The first SL_HLL_INLINE pairs live in the sketch itself, no allocation; the next one moves
 * them out. Every size across that step saves the same bytes whatever the order, loads back
 * and counts exactly. */
static void test_inline_pairs(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= SL_HLL_INLINE + 3; n++) {
        sl_hll a, b, c;
        sl_hll_init(&a);
        sl_hll_init(&b);
        sl_hll_init(&c);
        for (uint64_t i = 0; i < n; i++) {
            sl_hll_add(&a, h(i));
            sl_hll_add(&b, h(n - 1 - i));
            sl_hll_add(&b, h(n - 1 - i));
        }
        assert_int_equal(a.nsparse, n);
        assert_true(n <= SL_HLL_INLINE ? a.sparse == NULL && sl_hll_bytes(&a) == 0
                                       : a.sparse != NULL && sl_hll_bytes(&a) >= n * 4);
        assert_int_equal(sl_hll_estimate(&a), n);
        sl_buf x = SL_BUF_INIT, y = SL_BUF_INIT, z = SL_BUF_INIT;
        sl_hll_save(&a, &x);
        sl_hll_save(&b, &y);
        assert_int_equal(x.len, 3 + 4 * n);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.ptr, y.ptr, x.len);
        sl_rd rd;
        sl_rd_init(&rd, x.ptr, x.len);
        assert_int_equal(sl_hll_load(&c, &rd), 0);
        sl_hll_save(&c, &z);
        assert_int_equal(z.len, x.len);
        assert_memory_equal(z.ptr, x.ptr, x.len);
        sl_buf_free(&x);
        sl_buf_free(&y);
        sl_buf_free(&z);
        sl_hll_free(&a);
        sl_hll_free(&b);
        sl_hll_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_bound),
        cmocka_unit_test(test_order_and_roundtrip),
        cmocka_unit_test(test_sparse_estimates),
        cmocka_unit_test(test_inline_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
