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
