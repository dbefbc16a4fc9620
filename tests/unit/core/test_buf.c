/* test_buf.c: slices, buffer growth, printf, consume/move/cstr, and arena alignment, large
 * allocations and reset. */
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void test_slices(void **state)
{
    (void)state;
    sl_slice a = SL_SLICE_STR("hello");
    assert_int_equal(a.len, 5);
    assert_true(sl_slice_eq_str(a, "hello"));
    assert_false(sl_slice_eq_str(a, "hell"));
    assert_false(sl_slice_eq_str(a, "hellO"));
    assert_true(sl_slice_eq(SL_SLICE_NULL, SL_SLICE_STR("")));
    assert_true(sl_slice_eq(SL_SLICE_NULL, SL_SLICE_NULL));
    char *d = sl_slice_dup((sl_slice){(const uint8_t *)"ab\0cd", 5});
    assert_memory_equal(d, "ab\0cd\0", 6);
    sl_free(d);
    d = sl_slice_dup(SL_SLICE_NULL);
    assert_string_equal(d, "");
    sl_free(d);
}

static void test_growth(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    assert_null(b.ptr);
    size_t caps = 0, last_cap = 0;
    for (int i = 0; i < 100000; i++) {
        uint8_t v = (uint8_t)i;
        sl_buf_append(&b, &v, 1);
        if (b.cap != last_cap) {
            /* Growth is geometric: each new capacity at least doubles. */
            if (last_cap) assert_true(b.cap >= 2 * last_cap);
            last_cap = b.cap;
            caps++;
        }
    }
    assert_int_equal(b.len, 100000);
    assert_true(caps < 20);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(b.ptr[i], (uint8_t)i);

    /* reserve guarantees room without changing len. */
    sl_buf_reserve(&b, 1 << 20);
    assert_true(b.cap - b.len >= 1 << 20);
    assert_int_equal(b.len, 100000);
    uint8_t *before = b.ptr;
    sl_buf_extend(&b, 1 << 20);
    assert_ptr_equal(b.ptr, before); /* no reallocation within reserved room */
    sl_buf_free(&b);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    sl_buf_free(&b); /* freeing twice is harmless */
}

static void test_append_extend(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    uint8_t *p = sl_buf_append(&b, "abc", 3);
    assert_memory_equal(p, "abc", 3);
    p = sl_buf_extend(&b, 2);
    p[0] = 'd';
    p[1] = 'e';
    sl_buf_append_str(&b, "fg");
    sl_buf_append(&b, NULL, 0);
    assert_int_equal(b.len, 7);
    assert_string_equal(sl_buf_cstr(&b), "abcdefg");
    assert_int_equal(b.len, 7); /* the NUL is not counted */
    sl_slice s = sl_buf_slice(&b);
    assert_true(sl_slice_eq_str(s, "abcdefg"));
    sl_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(sl_buf_cstr(&b), "");
    sl_buf_free(&b);

    sl_buf e = SL_BUF_INIT;
    assert_string_equal(sl_buf_cstr(&e), "");
    sl_buf_free(&e);
}

/* Zero-length appends to an empty buffer must not offset a NULL pointer (found by fuzzing). */
static void test_empty_append(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    uint8_t *p = sl_buf_append(&b, "", 0);
    assert_non_null(p);
    assert_int_equal(b.len, 0);
    assert_non_null(sl_buf_extend(&b, 0));
    sl_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_buf_printf(&b, "%s=%d", "x", 42);
    sl_buf_printf(&b, ";");
    assert_string_equal(sl_buf_cstr(&b), "x=42;");
    /* A line longer than the free room takes the second, sized vsnprintf. */
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sl_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 5 + 1 + 4999 + 1);
    assert_int_equal(b.ptr[5], '[');
    assert_int_equal(b.ptr[b.len - 1], ']');
    assert_int_equal(b.ptr[b.len - 2], 'z');
    sl_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 5 + 1 + 4999 + 1);
    sl_buf_free(&b);
}

static void test_consume_move(void **state)
{
    (void)state;
    sl_buf a = SL_BUF_INIT, b = SL_BUF_INIT;
    sl_buf_append_str(&a, "0123456789");
    sl_buf_consume(&a, 3);
    assert_string_equal(sl_buf_cstr(&a), "3456789");
    sl_buf_consume(&a, 0);
    assert_int_equal(a.len, 7);
    sl_buf_consume(&a, 7);
    assert_int_equal(a.len, 0);

    sl_buf_append_str(&a, "moved");
    sl_buf_append_str(&b, "old contents are freed");
    sl_buf_move(&b, &a);
    assert_null(a.ptr);
    assert_int_equal(a.len, 0);
    assert_int_equal(a.cap, 0);
    assert_string_equal(sl_buf_cstr(&b), "moved");
    sl_buf_move(&b, &b);
    assert_string_equal(sl_buf_cstr(&b), "moved");
    sl_buf_free(&b);
    sl_buf_free(&a);
}

static void test_arena(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 256);
    assert_null(a.head);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        char *p = sl_arena_alloc(&a, (size_t)(i % 37));
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xA5, (size_t)(i % 37));
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    /* A large allocation gets its own chunk and the small ones keep using the head. */
    sl_arena_reset(&a);
    uint8_t *small1 = sl_arena_alloc(&a, 8);
    uint8_t *big = sl_arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    assert_int_equal((uintptr_t)big % 16, 0);
    uint8_t *small2 = sl_arena_alloc(&a, 8);
    assert_ptr_equal(small2, small1 + 16);

    char *s = sl_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    /* n bytes exactly, embedded NULs included: a (copy, n) slice stays inside the copy */
    s = sl_arena_strndup(&a, "ab\0cd", 5);
    assert_memory_equal(s, "ab\0cd", 6);
    assert_non_null(sl_arena_alloc(&a, 0));

    sl_arena_reset(&a);
    assert_non_null(a.head);
    /* After reset the kept chunk is reused from its start. */
    uint8_t *r1 = sl_arena_alloc(&a, 16);
    sl_arena_reset(&a);
    uint8_t *r2 = sl_arena_alloc(&a, 16);
    assert_ptr_equal(r1, r2);
    sl_arena_free(&a);
    assert_null(a.head);

    /* An arena whose only chunk is oversized keeps nothing on reset. */
    sl_arena_init(&a, 0);
    sl_arena_alloc(&a, 1 << 16);
    sl_arena_reset(&a);
    assert_null(a.head);
    sl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices),        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_append_extend), cmocka_unit_test(test_printf),
        cmocka_unit_test(test_consume_move),  cmocka_unit_test(test_empty_append),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
