/* codec.h: big-endian integers, varints and zigzag, and a bounds-checked reader.
 *
 * Decoders never trust a length (STYLE.md 4): every wire read goes through an sl_rd, which
 * checks the bytes left before each read and latches an error, so a handler can test once or
 * bail to its err_parse label at the first failure. */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include "core/buf.h"
#include <string.h>

static inline uint16_t sl_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t sl_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t sl_get_be64(const uint8_t *p)
{
    return (uint64_t)sl_get_be32(p) << 32 | sl_get_be32(p + 4);
}
static inline void sl_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void sl_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void sl_put_be64(uint8_t *p, uint64_t v)
{
    sl_put_be32(p, (uint32_t)(v >> 32));
    sl_put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t sl_zigzag_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t sl_zigzag_dec(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#define SL_VARINT_MAX 10
/* Writes v as an unsigned LEB128 varint into p (room for SL_VARINT_MAX); returns bytes used. */
size_t sl_varint_put(uint8_t *p, uint64_t v);
/* Reads a varint of at most SL_VARINT_MAX bytes from [p, p+n). Returns bytes consumed, 0 when
 * more input is needed, or SL_ERR_PARSE for an overlong encoding. */
int sl_varint_get(const uint8_t *p, size_t n, uint64_t *out);

/* Bounds-checked reader over a borrowed byte range. After the first failed read, err is set and
 * every later read fails too, returning SL_ERR_PARSE. */
typedef struct sl_rd {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    int err;
} sl_rd;

static inline void sl_rd_init(sl_rd *r, const void *p, size_t n)
{
    r->start = r->p = (const uint8_t *)p;
    r->end = n ? r->start + n : r->start; /* an empty sl_buf has a NULL ptr; NULL + 0 is UB */
    r->err = 0;
}
static inline size_t sl_rd_left(const sl_rd *r)
{
    return (size_t)(r->end - r->p);
}
static inline size_t sl_rd_offset(const sl_rd *r)
{
    return (size_t)(r->p - r->start);
}
static inline int sl_rd_fail(sl_rd *r)
{
    r->err = SL_ERR_PARSE;
    return SL_ERR_PARSE;
}
static inline int sl_rd_need(sl_rd *r, size_t n)
{
    if (r->err || sl_rd_left(r) < n) return sl_rd_fail(r);
    return 0;
}
static inline int sl_rd_u8(sl_rd *r, uint8_t *v)
{
    if (sl_rd_need(r, 1)) return SL_ERR_PARSE;
    *v = *r->p++;
    return 0;
}
static inline int sl_rd_i8(sl_rd *r, int8_t *v)
{
    return sl_rd_u8(r, (uint8_t *)v);
}
static inline int sl_rd_be16(sl_rd *r, uint16_t *v)
{
    if (sl_rd_need(r, 2)) return SL_ERR_PARSE;
    *v = sl_get_be16(r->p);
    r->p += 2;
    return 0;
}
static inline int sl_rd_be32(sl_rd *r, uint32_t *v)
{
    if (sl_rd_need(r, 4)) return SL_ERR_PARSE;
    *v = sl_get_be32(r->p);
    r->p += 4;
    return 0;
}
static inline int sl_rd_be64(sl_rd *r, uint64_t *v)
{
    if (sl_rd_need(r, 8)) return SL_ERR_PARSE;
    *v = sl_get_be64(r->p);
    r->p += 8;
    return 0;
}
static inline int sl_rd_i16(sl_rd *r, int16_t *v)
{
    return sl_rd_be16(r, (uint16_t *)v);
}
static inline int sl_rd_i32(sl_rd *r, int32_t *v)
{
    return sl_rd_be32(r, (uint32_t *)v);
}
static inline int sl_rd_i64(sl_rd *r, int64_t *v)
{
    return sl_rd_be64(r, (uint64_t *)v);
}
/* Borrows the next n bytes. */
static inline int sl_rd_bytes(sl_rd *r, size_t n, sl_slice *out)
{
    if (sl_rd_need(r, n)) return SL_ERR_PARSE;
    out->ptr = r->p;
    out->len = n;
    r->p += n;
    return 0;
}
static inline int sl_rd_skip(sl_rd *r, size_t n)
{
    if (sl_rd_need(r, n)) return SL_ERR_PARSE;
    r->p += n;
    return 0;
}
/* Unsigned varint, and the zigzag signed varint Kafka records use. */
int sl_rd_uvarint(sl_rd *r, uint64_t *v);
int sl_rd_varint(sl_rd *r, int64_t *v);

/* Writers: append big-endian values and varints to a growable buffer. */
static inline void sl_buf_put_u8(sl_buf *b, uint8_t v)
{
    *sl_buf_extend(b, 1) = v;
}
static inline void sl_buf_put_be16(sl_buf *b, uint16_t v)
{
    sl_put_be16(sl_buf_extend(b, 2), v);
}
static inline void sl_buf_put_be32(sl_buf *b, uint32_t v)
{
    sl_put_be32(sl_buf_extend(b, 4), v);
}
static inline void sl_buf_put_be64(sl_buf *b, uint64_t v)
{
    sl_put_be64(sl_buf_extend(b, 8), v);
}
void sl_buf_put_uvarint(sl_buf *b, uint64_t v);
void sl_buf_put_varint(sl_buf *b, int64_t v);

#endif
