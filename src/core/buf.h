/* buf.h: borrowed slices, growable byte buffers and request-scoped arenas.
 *
 * Ownership (STYLE.md 6): an sl_slice borrows and never owns. An sl_buf owns its bytes; a
 * function that takes an sl_buf "by move" resets the caller's struct to empty. An sl_arena owns
 * everything allocated from it and frees it all at once. */
#ifndef SL_BUF_H
#define SL_BUF_H

#include "core/sl.h"
#include <stdarg.h>

typedef struct sl_slice {
    const uint8_t *ptr;
    size_t len;
} sl_slice;

#define SL_SLICE_STR(s) ((sl_slice){(const uint8_t *)(s), strlen(s)})
#define SL_SLICE_NULL   ((sl_slice){NULL, 0})

/* True when both slices hold the same bytes. */
bool sl_slice_eq(sl_slice a, sl_slice b);
/* True when the slice equals the C string s. */
bool sl_slice_eq_str(sl_slice a, const char *s);
/* Returns a malloc'd NUL-terminated copy. */
char *sl_slice_dup(sl_slice s);

typedef struct sl_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} sl_buf;

#define SL_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void sl_buf_init(sl_buf *b);
void sl_buf_free(sl_buf *b);
/* Makes room for at least extra more bytes; growth is geometric. */
void sl_buf_reserve(sl_buf *b, size_t extra);
/* Appends n bytes; returns a pointer to where they went. */
uint8_t *sl_buf_append(sl_buf *b, const void *p, size_t n);
/* Grows len by n and returns a pointer to the n new, uninitialised bytes. */
uint8_t *sl_buf_extend(sl_buf *b, size_t n);
void sl_buf_append_str(sl_buf *b, const char *s);
void sl_buf_printf(sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_buf_vprintf(sl_buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (n <= len), moving the rest down. */
void sl_buf_consume(sl_buf *b, size_t n);
static inline void sl_buf_reset(sl_buf *b)
{
    b->len = 0;
}
static inline sl_slice sl_buf_slice(const sl_buf *b)
{
    return (sl_slice){b->ptr, b->len};
}
/* Moves src into dst (dst's old memory is freed); src becomes empty. */
void sl_buf_move(sl_buf *dst, sl_buf *src);
/* Returns a NUL-terminated view (appends a NUL that len does not count). */
const char *sl_buf_cstr(sl_buf *b);

/* Bump allocator for request-scoped memory: allocations are freed together by reset/free. */
typedef struct sl_arena_chunk sl_arena_chunk;
typedef struct sl_arena {
    sl_arena_chunk *head;
    size_t chunk_size;
} sl_arena;

void sl_arena_init(sl_arena *a, size_t chunk_size);
/* Returns 16-byte aligned memory valid until the next reset or free. */
void *sl_arena_alloc(sl_arena *a, size_t n);
/* Copies s[0..n) and a NUL. Embedded NULs are kept, so a (copy, n) slice is always valid:
 * wire strings may hold them. */
char *sl_arena_strndup(sl_arena *a, const char *s, size_t n);
/* Frees everything but the first chunk, which is kept for reuse. */
void sl_arena_reset(sl_arena *a);
void sl_arena_free(sl_arena *a);

#include <string.h>

#endif
