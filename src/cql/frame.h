/* frame.h: the CQL native protocol v4 frame codec (doc/native_protocol_v4.spec).
 *
 * A frame is a 9-byte big-endian header (version, flags, stream, opcode, body length) and a body.
 * This module reads and writes the header, the spec's notation types (§3) on sl_rd / sl_buf,
 * the request bodies the server decodes (STARTUP, REGISTER, QUERY, PREPARE, EXECUTE, BATCH,
 * AUTH_RESPONSE), and lz4 / snappy body compression (§5). It holds no connection state.
 *
 * Values and requests use the engine's types (exec.h): a value is its serialized bytes (§6) as
 * a borrowed sl_slice plus a kind for [value]'s null (-1) and not set (-2); QUERY and EXECUTE
 * decode into an sl_cql_query and BATCH into an sl_cql_batch_req, ready for sl_cql_execute.
 * Decoded requests borrow from the frame body; the arrays they need come from a caller's
 * arena, so a request is freed all at once. */
#ifndef SL_CQL_FRAME_H
#define SL_CQL_FRAME_H

#include "core/buf.h"
#include "core/codec.h"
#include "cql/exec.h"

#include <sys/types.h>

#define SL_CQL_VERSION       4    /* the only protocol version served */
#define SL_CQL_VERSION_RESP  0x84 /* version byte of every response: direction bit + 4 */
#define SL_CQL_HEADER_LEN    9
#define SL_CQL_MAX_BODY      (256u * 1024 * 1024) /* the spec's 256 MB body limit, our default */
#define SL_CQL_EVENT_STREAM  (-1)
#define SL_CQL_MAX_ITEMS     65535 /* counts are [short]s */
#define SL_CQL_CQL_VERSION   "3.4.5"
#define SL_CQL_PROTOCOL_NAME "4/v4"

/* Header flags (§2.2). */
enum {
    SL_CQL_FLAG_COMPRESSION = 0x01,
    SL_CQL_FLAG_TRACING = 0x02,
    SL_CQL_FLAG_CUSTOM_PAYLOAD = 0x04,
    SL_CQL_FLAG_WARNING = 0x08,
    SL_CQL_FLAG_USE_BETA = 0x10,
};

/* Opcodes (§2.4). */
typedef enum sl_cql_opcode {
    SL_CQL_OP_ERROR = 0x00,
    SL_CQL_OP_STARTUP = 0x01,
    SL_CQL_OP_READY = 0x02,
    SL_CQL_OP_AUTHENTICATE = 0x03,
    SL_CQL_OP_OPTIONS = 0x05,
    SL_CQL_OP_SUPPORTED = 0x06,
    SL_CQL_OP_QUERY = 0x07,
    SL_CQL_OP_RESULT = 0x08,
    SL_CQL_OP_PREPARE = 0x09,
    SL_CQL_OP_EXECUTE = 0x0A,
    SL_CQL_OP_REGISTER = 0x0B,
    SL_CQL_OP_EVENT = 0x0C,
    SL_CQL_OP_BATCH = 0x0D,
    SL_CQL_OP_AUTH_CHALLENGE = 0x0E,
    SL_CQL_OP_AUTH_RESPONSE = 0x0F,
    SL_CQL_OP_AUTH_SUCCESS = 0x10,
    SL_CQL_OP_MAX = 0x10,
} sl_cql_opcode;

/* Rows metadata flags (§4.2.5.2). */
enum {
    SL_CQL_ROWS_GLOBAL_TABLES_SPEC = 0x0001,
    SL_CQL_ROWS_HAS_MORE_PAGES = 0x0002,
    SL_CQL_ROWS_NO_METADATA = 0x0004,
};

/* QUERY / EXECUTE / BATCH parameter flags (§4.1.4, §4.1.7). */
enum {
    SL_CQL_QF_VALUES = 0x01,
    SL_CQL_QF_SKIP_METADATA = 0x02,
    SL_CQL_QF_PAGE_SIZE = 0x04,
    SL_CQL_QF_PAGING_STATE = 0x08,
    SL_CQL_QF_SERIAL_CONSISTENCY = 0x10,
    SL_CQL_QF_DEFAULT_TIMESTAMP = 0x20,
    SL_CQL_QF_NAMES_FOR_VALUES = 0x40,
};

/* Frame body compression (§5), chosen by STARTUP's COMPRESSION option. */
typedef enum sl_cql_compression {
    SL_CQL_COMPRESSION_NONE = 0,
    SL_CQL_COMPRESSION_LZ4,
    SL_CQL_COMPRESSION_SNAPPY,
} sl_cql_compression;

/* [string list], [string map], [string multimap] and [bytes map], borrowing from the body. */
typedef struct sl_cql_string_list {
    size_t n;
    sl_slice *items;
} sl_cql_string_list;

typedef struct sl_cql_string_map {
    size_t n;
    sl_slice *keys;
    sl_slice *values;
} sl_cql_string_map;

typedef struct sl_cql_string_multimap {
    size_t n;
    sl_slice *keys;
    sl_cql_string_list *values;
} sl_cql_string_multimap;

typedef struct sl_cql_bytes_map {
    size_t n;
    sl_slice *keys;
    sl_cql_value *values;
} sl_cql_bytes_map;

/* [inet]: an IPv4 (4 bytes) or IPv6 (16 bytes) address and a port. */
typedef struct sl_cql_inet {
    uint8_t addr[16];
    uint8_t len; /* 4 or 16 */
    int32_t port;
} sl_cql_inet;

typedef struct sl_cql_header {
    uint8_t version; /* the whole byte, direction bit included */
    uint8_t flags;
    int16_t stream;
    uint8_t opcode;
    uint32_t length; /* body bytes; below 2^31 once sl_cql_frame_len accepted it */
} sl_cql_header;

/* Header. */

/* sl_server frame_len for CQL v4: 9 + body length, SL_AGAIN until the header is known, and
 * SL_ERR_PARSE for a negative length. A version byte other than 0x04 is not followed further:
 * another version is returned as a 4-byte "frame" (enough for its stream id, and decided before
 * a v1/v2 header, which is shorter, would be whole), a v4 header with the response bit as a
 * 9-byte one, so the frame handler can answer the refusal a driver steps down on, and close. */
ssize_t sl_cql_frame_len(const uint8_t *p, size_t avail);
/* Reads a header from 9 bytes. */
void sl_cql_header_read(const uint8_t *p, sl_cql_header *h);
/* The stream id of a request whose header may be partial or of another protocol version
 * (v1/v2 headers have a one-byte stream); 0 when too few bytes arrived to tell. */
int16_t sl_cql_header_stream(const uint8_t *p, size_t avail);
/* The spec's name of an opcode ("QUERY"), or NULL for an unassigned one. */
const char *sl_cql_opcode_name(uint8_t opcode);
/* The name of a consistency level ("LOCAL_ONE"), or NULL for an unknown code. */
const char *sl_cql_consistency_name(uint16_t cl);

/* Writing frames: begin appends a response header (version 0x84, length 0) and returns its
 * offset in b; finish patches the body length once the body is appended. */
size_t sl_cql_frame_begin(sl_buf *b, uint8_t flags, int16_t stream, uint8_t opcode);
void sl_cql_frame_finish(sl_buf *b, size_t hdr_off);
/* Appends a whole ERROR frame: [int] code, [string] message (truncated to 65535 bytes on a
 * UTF-8 boundary) and no extra body; callers with extras build the frame themselves. */
void sl_cql_put_error_frame(sl_buf *b, int16_t stream, sl_cql_errcode code, const char *msg);

/* Notation readers (§3). Each fails with SL_ERR_PARSE (latched in r) on a short or invalid
 * input; strings are not checked for UTF-8 here (the executor validates text it uses). */
int sl_cql_rd_int(sl_rd *r, int32_t *v);
int sl_cql_rd_long(sl_rd *r, int64_t *v);
int sl_cql_rd_short(sl_rd *r, uint16_t *v);
int sl_cql_rd_byte(sl_rd *r, uint8_t *v);
int sl_cql_rd_string(sl_rd *r, sl_slice *s);
int sl_cql_rd_long_string(sl_rd *r, sl_slice *s); /* negative length is an error */
int sl_cql_rd_uuid(sl_rd *r, sl_slice *s);        /* 16 bytes */
/* [bytes]: any negative length is null. */
int sl_cql_rd_bytes(sl_rd *r, sl_cql_value *v);
/* [value]: -1 null, -2 not set, below -2 an error. */
int sl_cql_rd_value(sl_rd *r, sl_cql_value *v);
int sl_cql_rd_short_bytes(sl_rd *r, sl_slice *s);
int sl_cql_rd_inet(sl_rd *r, sl_cql_inet *in); /* length other than 4 or 16 is an error */
/* [option]: the id, and for custom (0) its class name in *custom (else {NULL, 0}). Collection
 * and tuple options carry nested options the caller reads next. */
int sl_cql_rd_option_id(sl_rd *r, uint16_t *id, sl_slice *custom);
/* Lists and maps allocate their arrays from a; a count larger than the bytes left could hold
 * is an error before anything is allocated. */
int sl_cql_rd_string_list(sl_rd *r, sl_arena *a, sl_cql_string_list *out);
int sl_cql_rd_string_map(sl_rd *r, sl_arena *a, sl_cql_string_map *out);
int sl_cql_rd_string_multimap(sl_rd *r, sl_arena *a, sl_cql_string_multimap *out);
int sl_cql_rd_bytes_map(sl_rd *r, sl_arena *a, sl_cql_bytes_map *out);

/* The value of key in a string map; false when absent. Keys compare exactly (case matters, as
 * in Cassandra's STARTUP handling of upper-case option names). */
bool sl_cql_string_map_get(const sl_cql_string_map *m, const char *key, sl_slice *value);

/* Notation writers. Strings longer than their length field allows are the caller's bug and
 * abort; put_error_frame truncates messages itself. */
static inline void sl_cql_put_byte(sl_buf *b, uint8_t v)
{
    sl_buf_put_u8(b, v);
}
static inline void sl_cql_put_short(sl_buf *b, uint16_t v)
{
    sl_buf_put_be16(b, v);
}
static inline void sl_cql_put_int(sl_buf *b, int32_t v)
{
    sl_buf_put_be32(b, (uint32_t)v);
}
static inline void sl_cql_put_long(sl_buf *b, int64_t v)
{
    sl_buf_put_be64(b, (uint64_t)v);
}
void sl_cql_put_string(sl_buf *b, const void *s, size_t len);
void sl_cql_put_cstring(sl_buf *b, const char *s);
void sl_cql_put_long_string(sl_buf *b, const void *s, size_t len);
void sl_cql_put_uuid(sl_buf *b, const uint8_t uuid[16]);
/* [bytes] / [value] from a value: SET writes the bytes, NULL -1, UNSET -2. */
void sl_cql_put_value(sl_buf *b, const sl_cql_value *v);
/* [bytes] of n bytes at p; p == NULL writes null (-1). */
void sl_cql_put_bytes(sl_buf *b, const void *p, size_t n);
void sl_cql_put_short_bytes(sl_buf *b, const void *p, size_t n);
void sl_cql_put_inet(sl_buf *b, const sl_cql_inet *in);
void sl_cql_put_string_list(sl_buf *b, const char *const *items, size_t n);
void sl_cql_put_string_map(sl_buf *b, const char *const *keys, const char *const *values, size_t n);
/* [string multimap]: key i has counts[i] values, taken in order from values. */
void sl_cql_put_string_multimap(sl_buf *b, const char *const *keys, const size_t *counts,
                                const char *const *values, size_t n);
/* [bytes map]: values[i] == NULL writes a null [bytes]. */
void sl_cql_put_bytes_map(sl_buf *b, const char *const *keys, const sl_slice *values, size_t n);

/* Request bodies. r is positioned after any custom payload; arrays come from a. Each returns
 * 0 or SL_ERR_PARSE, leaving r at the failing field so the caller can log its offset. The
 * optional parameters read as exec.h documents them when absent (page_size -1, paging_state
 * empty, serial_consistency 0, has_timestamp false); a null paging state reads as empty. */
int sl_cql_decode_query_params(sl_rd *r, sl_arena *a, sl_cql_query *q);
/* QUERY: the [long string] into q->text, then the parameters. */
int sl_cql_decode_query(sl_rd *r, sl_arena *a, sl_cql_query *q);
int sl_cql_decode_prepare(sl_rd *r, sl_slice *query);
/* EXECUTE: the [short bytes] id into q->id, then the parameters. */
int sl_cql_decode_execute(sl_rd *r, sl_arena *a, sl_cql_query *q);
/* BATCH. Flags 0x01-0x08 must be 0, and 0x40 (names for values) is refused: the spec calls it
 * undecodable, since it is announced after the values it would change (CASSANDRA-10246). */
int sl_cql_decode_batch(sl_rd *r, sl_arena *a, sl_cql_batch_req *b);

/* Compression (§5). lz4 bodies are a 4-byte big-endian uncompressed length then one raw lz4
 * block, as Cassandra writes them; snappy bodies are raw snappy. */

/* "lz4" / "snappy" (case-insensitive) to an algorithm; SL_ERR_NOTFOUND for anything else. */
int sl_cql_compression_parse(sl_slice name, sl_cql_compression *out);
const char *sl_cql_compression_name(sl_cql_compression c);
/* Appends the compressed form of in to out. */
void sl_cql_compress(sl_cql_compression c, sl_slice in, sl_buf *out);
/* Appends the decompressed form of in to out. SL_ERR_TOOBIG when the declared or actual size
 * exceeds max, SL_ERR_PARSE for corrupt input; out keeps its old length on failure. */
int sl_cql_decompress(sl_cql_compression c, sl_slice in, size_t max, sl_buf *out);
/* Compresses the body of the complete frame at b->ptr + hdr_off in place of the body and sets
 * the compression flag and length. Empty bodies are left as they are. */
void sl_cql_frame_compress(sl_buf *b, size_t hdr_off, sl_cql_compression c);

#endif
