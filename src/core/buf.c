/* buf.c: slices, growable buffers and arenas. */
#include "core/buf.h"

#include <stdio.h>

bool sl_slice_eq(sl_slice a, sl_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool sl_slice_eq_str(sl_slice a, const char *s)
{
    return sl_slice_eq(a, SL_SLICE_STR(s));
}

char *sl_slice_dup(sl_slice s)
{
    char *p = sl_malloc(s.len + 1);
    if (s.len) memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

void sl_buf_init(sl_buf *b)
{
    *b = (sl_buf)SL_BUF_INIT;
}

void sl_buf_free(sl_buf *b)
{
    sl_free(b->ptr);
    sl_buf_init(b);
}

void sl_buf_reserve(sl_buf *b, size_t extra)
{
    /* An empty buffer is given memory even for extra == 0, so sl_buf_extend never offsets a
     * NULL pointer. */
    if (b->ptr && b->cap - b->len >= extra) return;
    if (extra > SIZE_MAX / 2 - b->len) {
        fprintf(stderr, "sluice: sl_buf_reserve: size overflow (%zu + %zu)\n", b->len, extra);
        abort();
    }
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->ptr = sl_realloc(b->ptr, cap);
    b->cap = cap;
}

uint8_t *sl_buf_extend(sl_buf *b, size_t n)
{
    sl_buf_reserve(b, n);
    uint8_t *p = b->ptr + b->len;
    b->len += n;
    return p;
}

uint8_t *sl_buf_append(sl_buf *b, const void *p, size_t n)
{
    uint8_t *dst = sl_buf_extend(b, n);
    if (n) memcpy(dst, p, n);
    return dst;
}

void sl_buf_append_str(sl_buf *b, const char *s)
{
    sl_buf_append(b, s, strlen(s));
}

void sl_buf_vprintf(sl_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    /* Try the space already there first; most lines fit and need one vsnprintf. */
    sl_buf_reserve(b, 1);
    size_t room = b->cap - b->len;
    int n = vsnprintf((char *)b->ptr + b->len, room, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= room) {
        sl_buf_reserve(b, (size_t)n + 1);
        vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

void sl_buf_printf(sl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sl_buf_consume(sl_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
}

void sl_buf_move(sl_buf *dst, sl_buf *src)
{
    if (dst == src) return;
    sl_free(dst->ptr);
    *dst = *src;
    sl_buf_init(src);
}

const char *sl_buf_cstr(sl_buf *b)
{
    sl_buf_reserve(b, 1);
    b->ptr[b->len] = '\0';
    return (const char *)b->ptr;
}

struct sl_arena_chunk {
    sl_arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) uint8_t data[];
};

#define ARENA_ALIGN         16
#define ARENA_DEFAULT_CHUNK 4096

void sl_arena_init(sl_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
}

static sl_arena_chunk *chunk_new(size_t size)
{
    sl_arena_chunk *c = sl_malloc(sizeof *c + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *sl_arena_alloc(sl_arena *a, size_t n)
{
    if (n > SIZE_MAX - 2 * ARENA_ALIGN) {
        fprintf(stderr, "sluice: sl_arena_alloc: size overflow (%zu)\n", n);
        abort();
    }
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    sl_arena_chunk *h = a->head;
    if (h && h->size - h->used >= need) {
        void *p = h->data + h->used;
        h->used += need;
        return p;
    }
    /* A large request gets a chunk of its own, linked behind the head so the head's free space
     * stays in use for the small allocations that follow. */
    if (need > a->chunk_size / 4 && h) {
        sl_arena_chunk *c = chunk_new(need);
        c->used = need;
        c->next = h->next;
        h->next = c;
        return c->data;
    }
    sl_arena_chunk *c = chunk_new(SL_MAX(need, a->chunk_size));
    c->used = need;
    c->next = h;
    a->head = c;
    return c->data;
}

char *sl_arena_strndup(sl_arena *a, const char *s, size_t n)
{
    char *p = sl_arena_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void sl_arena_reset(sl_arena *a)
{
    /* Keep one standard-sized chunk: an oversized one would pin a rare large request's memory. */
    sl_arena_chunk *keep = NULL;
    for (sl_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (!keep && c->size == a->chunk_size) {
            keep = c;
            continue;
        }
        sl_free(c);
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

void sl_arena_free(sl_arena *a)
{
    for (sl_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        sl_free(c);
    }
    a->head = NULL;
}
