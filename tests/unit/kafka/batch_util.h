/* batch_util.h: test helpers shared by the partition log and flusher tests: valid Kafka v2
 * record batches (uncompressed records, CRC32C computed) and temp directories. */
#ifndef SL_TEST_BATCH_UTIL_H
#define SL_TEST_BATCH_UTIL_H

#include "core/codec.h"
#include "core/crc32c.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends to b a batch of n records, record i with timestamp ts0 + i * step and a value of vlen
 * bytes filled with fill. attrs sets the batch attributes (e.g. 1 claims gzip). Returns the
 * batch's offset in b. */
static inline size_t tb_batch_attrs(sl_buf *b, int n, int64_t ts0, int64_t step, size_t vlen,
                                    uint8_t fill, int16_t attrs)
{
    size_t at = b->len;
    sl_buf_put_be64(b, 0);            /* base offset, assigned by the log */
    sl_buf_put_be32(b, 0);            /* length, below */
    sl_buf_put_be32(b, (uint32_t)-1); /* partition leader epoch */
    sl_buf_put_u8(b, 2);              /* magic */
    sl_buf_put_be32(b, 0);            /* crc, below */
    sl_buf_put_be16(b, (uint16_t)attrs);
    sl_buf_put_be32(b, (uint32_t)(n - 1));
    sl_buf_put_be64(b, (uint64_t)ts0);
    sl_buf_put_be64(b, (uint64_t)(ts0 < 0 ? -1 : ts0 + (n - 1) * step));
    sl_buf_put_be64(b, (uint64_t)-1); /* producer id */
    sl_buf_put_be16(b, (uint16_t)-1); /* producer epoch */
    sl_buf_put_be32(b, (uint32_t)-1); /* base sequence */
    sl_buf_put_be32(b, (uint32_t)n);
    sl_buf rec = SL_BUF_INIT;
    for (int i = 0; i < n; i++) {
        sl_buf_reset(&rec);
        sl_buf_put_u8(&rec, 0);
        sl_buf_put_varint(&rec, ts0 < 0 ? 0 : i * step);
        sl_buf_put_varint(&rec, i);
        sl_buf_put_varint(&rec, -1);
        sl_buf_put_varint(&rec, (int64_t)vlen);
        memset(sl_buf_extend(&rec, vlen), fill, vlen);
        sl_buf_put_varint(&rec, 0);
        sl_buf_put_varint(b, (int64_t)rec.len);
        sl_buf_append(b, rec.ptr, rec.len);
    }
    sl_buf_free(&rec);
    sl_put_be32(b->ptr + at + 8, (uint32_t)(b->len - at - 12));
    sl_put_be32(b->ptr + at + 17, sl_crc32c(0, b->ptr + at + 21, b->len - at - 21));
    return at;
}

static inline size_t tb_batch(sl_buf *b, int n, int64_t ts0, int64_t step, size_t vlen,
                              uint8_t fill)
{
    return tb_batch_attrs(b, n, ts0, step, vlen, fill, 0);
}

static int tb_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static inline void tb_rm_rf(const char *dir)
{
    nftw(dir, tb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates a fresh directory under TMPDIR (or /tmp); path must hold 256 bytes. */
static inline void tb_tmpdir(char *path, const char *tag)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, 256, "%s/sluice-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(path)) abort();
}

#endif
