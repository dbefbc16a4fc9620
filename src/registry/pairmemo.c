/* pairmemo.c: an open-addressing table from (pointer, pointer, tag) to a boolean. */
#include "registry/pairmemo_int.h"

#include "core/sl.h"

#include <stdint.h>
#include <stdlib.h>

struct sl_pairmemo_entry {
    const void *a, *b;
    int tag;
    bool ok;
};

static size_t slot(const sl_pairmemo *m, const void *a, const void *b, int tag)
{
    uint64_t h = (uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15u ^
                 (uint64_t)(uintptr_t)b * 0xC2B2AE3D27D4EB4Fu ^ (uint64_t)tag;
    size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
    while (m->v[i].a && (m->v[i].a != a || m->v[i].b != b || m->v[i].tag != tag))
        i = (i + 1) & (m->cap - 1);
    return i;
}

bool sl_pairmemo_get(const sl_pairmemo *m, const void *a, const void *b, int tag, bool *ok)
{
    if (!m->cap) return false;
    const sl_pairmemo_entry *e = &m->v[slot(m, a, b, tag)];
    if (!e->a) return false;
    *ok = e->ok;
    return true;
}

void sl_pairmemo_put(sl_pairmemo *m, const void *a, const void *b, int tag, bool ok)
{
    if (2 * (m->n + 1) > m->cap) {
        sl_pairmemo old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->v = sl_calloc(m->cap, sizeof *m->v);
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i].a) m->v[slot(m, old.v[i].a, old.v[i].b, old.v[i].tag)] = old.v[i];
        free(old.v);
    }
    m->v[slot(m, a, b, tag)] = (sl_pairmemo_entry){a, b, tag, ok};
    m->n++;
}

void sl_pairmemo_free(sl_pairmemo *m)
{
    free(m->v);
    *m = (sl_pairmemo){0};
}

struct sl_pairwalk_pair {
    const void *a, *b;
};

bool sl_pairwalk_enter(sl_pairwalk *w, const void *a, const void *b, int tag, bool *ok,
                       sl_pairwalk_mark *mark)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->stack[i].a == a && w->stack[i].b == b) {
            if (i < w->lowest) w->lowest = i;
            *ok = true;
            return true;
        }
    if (sl_pairmemo_get(&w->memo, a, b, tag, ok)) return true;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->stack = sl_realloc(w->stack, w->cap * sizeof *w->stack);
    }
    *mark = (sl_pairwalk_mark){w->n, w->lowest};
    w->stack[w->n++] = (struct sl_pairwalk_pair){a, b};
    w->lowest = SIZE_MAX;
    return false;
}

bool sl_pairwalk_leave(sl_pairwalk *w, const void *a, const void *b, int tag, sl_pairwalk_mark mark,
                       bool ok)
{
    w->n--;
    if (!ok || w->lowest >= mark.me) sl_pairmemo_put(&w->memo, a, b, tag, ok);
    w->lowest = w->lowest < mark.me && w->lowest < mark.outer ? w->lowest : mark.outer;
    return ok;
}

void sl_pairwalk_free(sl_pairwalk *w)
{
    sl_free(w->stack);
    sl_pairmemo_free(&w->memo);
}
