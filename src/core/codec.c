/* codec.c: LEB128 varints, zigzag varints and their buffer writers and checked readers. */
#include "core/codec.h"

size_t sl_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

int sl_varint_get(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t lim = SL_MIN(n, (size_t)SL_VARINT_MAX);
    for (size_t i = 0; i < lim; i++) {
        uint64_t b = p[i];
        /* The tenth byte holds only bit 63; anything more overflows 64 bits. */
        if (i == SL_VARINT_MAX - 1 && b > 1) return SL_ERR_PARSE;
        v |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return (int)i + 1;
        }
    }
    return n >= SL_VARINT_MAX ? SL_ERR_PARSE : 0;
}

int sl_rd_uvarint(sl_rd *r, uint64_t *v)
{
    if (r->err) return SL_ERR_PARSE;
    int n = sl_varint_get(r->p, sl_rd_left(r), v);
    if (n <= 0) return sl_rd_fail(r);
    r->p += n;
    return 0;
}

int sl_rd_varint(sl_rd *r, int64_t *v)
{
    uint64_t u;
    if (sl_rd_uvarint(r, &u)) return SL_ERR_PARSE;
    *v = sl_zigzag_dec(u);
    return 0;
}

void sl_buf_put_uvarint(sl_buf *b, uint64_t v)
{
    uint8_t tmp[SL_VARINT_MAX];
    sl_buf_append(b, tmp, sl_varint_put(tmp, v));
}

void sl_buf_put_varint(sl_buf *b, int64_t v)
{
    sl_buf_put_uvarint(b, sl_zigzag_enc(v));
}
