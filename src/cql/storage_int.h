/* storage_int.h: the storage module's on-disk formats (keys, cells, rows), shared by storage.c,
 * storage_read.c and the unit tests.
 *
 * Keys of the data column family (P is a partition's prefix):
 *   P = [u32 storage id][u64 token with the sign bit flipped][pk components, escaped]
 *   P 0x10 0x00                   the static row (its row deletion is the partition tombstone;
 *                                 tables without clustering keep it in their one row instead)
 *   P 0x10 0x03 [u16 col] [elem]  an element of a static non-frozen collection
 *   P 0x18 [u16 n] [lo] [hi]      a range tombstone covering rows R with lo <= R < hi, where
 *                                 R, lo and hi are the row keys below without P 0x20
 *   P 0x20 [ck...] 0x00           a row: marker, row deletion and its simple cells
 *   P 0x20 [ck...] 0x03 [u16 col] [elem]  an element of a non-frozen collection
 * Clustering values use an order-preserving, self-delimiting encoding (inverted for DESC
 * columns), so byte order is clustering order. Element keys use the same encoding: the value
 * for sets, the key for maps, a timeuuid for lists.
 *
 * Values:
 *   cell  = [u8 flags][i64 ts] [u32 ttl][u32 expiry s] if EXPIRING, [u32 deletion s] if
 *           TOMBSTONE, then the value bytes (a counter: an i64 sum)
 *   row   = [u8 0x80 | flags HAS_MARKER, HAS_DEL] [marker cell if HAS_MARKER]
 *           [i64 del ts][u32 del s] if HAS_DEL, [u16 n] n x ([u16 col][u32 len][cell]),
 *           cells sorted by column id
 *   range tombstone = a tombstone cell
 * A value's first byte tells rows (high bit set) from cells, so the merge operator and the
 * compaction filter need not parse keys. Every value is written as a RocksDB merge operand;
 * the merge operator reconciles cells with Cassandra's rule, so writes never read. */
#ifndef SL_CQL_STORAGE_INT_H
#define SL_CQL_STORAGE_INT_H

#include "cql/storage.h"
#include <rocksdb/c.h>

enum {
    SK_STATIC = 0x10,
    SK_RANGE_TOMB = 0x18,
    SK_ROWS = 0x20,
    SK_ROW = 0x00,  /* after the clustering: the row value */
    SK_ELEM = 0x03, /* after the clustering: a collection element */
};

enum {
    CELL_TOMBSTONE = 0x01,
    CELL_EXPIRING = 0x02,
    CELL_COUNTER = 0x04,
};

enum {
    ROW_TAG = 0x80,
    ROW_HAS_MARKER = 0x01,
    ROW_HAS_DEL = 0x02,
};

#define SL_NO_TS INT64_MIN

/* A decoded cell header; value borrows from the encoded bytes. */
typedef struct sk_cell {
    uint8_t flags;
    int64_t ts;
    int32_t ttl;
    int32_t ldt; /* expiry (EXPIRING) or deletion (TOMBSTONE) time, seconds */
    sl_slice value;
} sk_cell;

/* Cells. */
void sl__cell_put(sl_buf *out, uint8_t flags, int64_t ts, int32_t ttl, int32_t ldt, sl_slice v);
int sl__cell_get(sl_slice in, sk_cell *c);
/* Cassandra's Cells.reconcile: the greater timestamp; on a tie, a tombstone or expiring cell
 * over a live one, a tombstone over an expiring one, the later deletion time, then the greater
 * value. Counters sum. Returns the winner (a or b), or 2 when *sum holds a summed counter. */
int sl__cell_reconcile(const sk_cell *a, const sk_cell *b, int64_t *sum);
/* Live at now_s: not a tombstone and not expired. */
static inline bool sl__cell_live(const sk_cell *c, int32_t now_s)
{
    if (c->flags & CELL_TOMBSTONE) return false;
    return !(c->flags & CELL_EXPIRING) || now_s < c->ldt;
}

/* Rows. A decoded row borrows its cells from the encoded bytes. */
typedef struct sk_row {
    bool has_marker, has_del;
    sk_cell marker;
    int64_t del_ts;
    int32_t del_ldt;
    size_t ncells;
    uint16_t *col;
    sk_cell *cells;
    size_t cap;
} sk_row;

void sl__row_init(sk_row *r);
void sl__row_free(sk_row *r);
int sl__row_decode(sl_slice in, sk_row *r);
void sl__row_encode(const sk_row *r, sl_buf *out);
/* Merges b into a (both decoded; a's cells may then borrow from b's bytes). */
void sl__row_merge(sk_row *a, const sk_row *b, sl_buf *scratch);

/* Order-preserving value encoding. put appends v (NULL ptr = null, only inside tuples) inverted
 * when desc; get decodes one value, appending its serialized bytes to out. */
void sl__key_put(sl_buf *out, const sl_cql_dtype *t, sl_slice v, bool desc);
int sl__key_get(sl_rd *r, const sl_cql_dtype *t, bool desc, sl_buf *out, bool *is_null);
/* Partition key components: escaped bytes with a terminator (equality and determinism only). */
void sl__key_put_escaped(sl_buf *out, sl_slice v);
int sl__key_get_escaped(sl_rd *r, sl_buf *out);
/* The partition prefix P of a key. */
void sl__key_partition(sl_buf *out, uint32_t storage_id, int64_t token, const sl_slice *pk,
                       size_t npk);
static inline uint64_t sl__token_key(int64_t token)
{
    return (uint64_t)token ^ 0x8000000000000000ULL;
}
/* The smallest byte string greater than every string starting with k (k is changed in place;
 * false when k is all 0xff). */
bool sl__key_successor(sl_buf *k);

/* The table registry the compaction filter reads (gc grace, key layout): the catalog keeps it
 * current. register takes its own reference on t and replaces an older version. */
void sl__store_register(sl_store *s, const sl_cql_table *t);
void sl__store_unregister(sl_store *s, uint32_t storage_id);

/* Applies the statements written but not yet applied (batch mode groups them per loop
 * iteration); every read calls it first. */
void sl__store_flush(sl_store *s);
/* The database and data column family, for storage_read.c. */
rocksdb_t *sl__store_db(sl_store *s);
rocksdb_column_family_handle_t *sl__store_cf(sl_store *s);
/* Default read options (no bounds), for point reads. */
rocksdb_readoptions_t *sl__store_ro(sl_store *s);
/* A clustering bound as lo (start: S, or succ(S) when exclusive) or hi (end: succ(E) when
 * inclusive, else E) over encoded clustering values; *unbounded for n == 0. */
void sl__bound_encode(const sl_cql_table *t, const sl_store_bound *bd, bool is_end, sl_buf *out,
                      bool *unbounded);
/* Appends the live elements of list col in a row ([u32 len][element key][u32 len][value]...):
 * part is P, crel the encoded clustering (empty for a static column). */
int sl__store_list_read(sl_store *s, const sl_cql_table *t, sl_slice part, sl_slice crel,
                        const sl_cql_column *col, int32_t now_s, sl_buf *out);

/* The merge operator, for storage.c. */
typedef struct sl_store sl_store;
char *sl__merge_full(void *st, const char *key, size_t klen, const char *existing, size_t elen,
                     const char *const *ops, const size_t *oplens, int nops, unsigned char *ok,
                     size_t *outlen);
char *sl__merge_partial(void *st, const char *key, size_t klen, const char *const *ops,
                        const size_t *oplens, int nops, unsigned char *ok, size_t *outlen);

#endif
