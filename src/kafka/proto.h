/* proto.h: the Kafka wire primitives on top of core's sl_rd / sl_buf.
 *
 * Classic encodings use int16/int32 length prefixes; flexible versions (KIP-482) use compact
 * forms (unsigned varint of length+1, 0 meaning null) and end every struct with tagged fields.
 * Readers borrow from the request frame: a null string or bytes field comes back as a slice
 * with ptr == NULL, an empty one with a non-NULL ptr and len 0. Every length and array count is
 * checked against the bytes left (and a count limit) before anything is allocated for it. */
#ifndef SL_KAFKA_PROTO_H
#define SL_KAFKA_PROTO_H

#include "core/codec.h"

/* Kafka's wire error codes (org.apache.kafka.common.protocol.Errors). Never mixed with SL_ERR_*. */
typedef enum kafka_err {
    KAFKA_ERR_UNKNOWN_SERVER_ERROR = -1,
    KAFKA_ERR_NONE = 0,
    KAFKA_ERR_OFFSET_OUT_OF_RANGE = 1,
    KAFKA_ERR_CORRUPT_MESSAGE = 2,
    KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KAFKA_ERR_INVALID_FETCH_SIZE = 4,
    KAFKA_ERR_LEADER_NOT_AVAILABLE = 5,
    KAFKA_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    KAFKA_ERR_REQUEST_TIMED_OUT = 7,
    KAFKA_ERR_MESSAGE_TOO_LARGE = 10,
    KAFKA_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    KAFKA_ERR_NETWORK_EXCEPTION = 13,
    KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KAFKA_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    KAFKA_ERR_NOT_COORDINATOR = 16,
    KAFKA_ERR_INVALID_TOPIC_EXCEPTION = 17,
    KAFKA_ERR_RECORD_LIST_TOO_LARGE = 18,
    KAFKA_ERR_NOT_ENOUGH_REPLICAS = 19,
    KAFKA_ERR_INVALID_REQUIRED_ACKS = 21,
    KAFKA_ERR_ILLEGAL_GENERATION = 22,
    KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    KAFKA_ERR_INVALID_GROUP_ID = 24,
    KAFKA_ERR_UNKNOWN_MEMBER_ID = 25,
    KAFKA_ERR_INVALID_SESSION_TIMEOUT = 26,
    KAFKA_ERR_REBALANCE_IN_PROGRESS = 27,
    KAFKA_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    KAFKA_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    KAFKA_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    KAFKA_ERR_INVALID_TIMESTAMP = 32,
    KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM = 33,
    KAFKA_ERR_ILLEGAL_SASL_STATE = 34,
    KAFKA_ERR_UNSUPPORTED_VERSION = 35,
    KAFKA_ERR_TOPIC_ALREADY_EXISTS = 36,
    KAFKA_ERR_INVALID_PARTITIONS = 37,
    KAFKA_ERR_INVALID_REPLICATION_FACTOR = 38,
    KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    KAFKA_ERR_INVALID_CONFIG = 40,
    KAFKA_ERR_NOT_CONTROLLER = 41,
    KAFKA_ERR_INVALID_REQUEST = 42,
    KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    KAFKA_ERR_POLICY_VIOLATION = 44,
    KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KAFKA_ERR_INVALID_PRODUCER_EPOCH = 47,
    KAFKA_ERR_INVALID_TXN_STATE = 48,
    KAFKA_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    KAFKA_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    KAFKA_ERR_CONCURRENT_TRANSACTIONS = 51,
    KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    KAFKA_ERR_KAFKA_STORAGE_ERROR = 56,
    KAFKA_ERR_SASL_AUTHENTICATION_FAILED = 58,
    KAFKA_ERR_UNKNOWN_PRODUCER_ID = 59,
    KAFKA_ERR_NON_EMPTY_GROUP = 68,
    KAFKA_ERR_GROUP_ID_NOT_FOUND = 69,
    KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND = 70,
    KAFKA_ERR_INVALID_FETCH_SESSION_EPOCH = 71,
    KAFKA_ERR_FENCED_LEADER_EPOCH = 74,
    KAFKA_ERR_UNKNOWN_LEADER_EPOCH = 75,
    KAFKA_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KAFKA_ERR_OFFSET_NOT_AVAILABLE = 78,
    KAFKA_ERR_MEMBER_ID_REQUIRED = 79,
    KAFKA_ERR_GROUP_MAX_SIZE_REACHED = 81,
    KAFKA_ERR_FENCED_INSTANCE_ID = 82,
    KAFKA_ERR_INVALID_RECORD = 87,
    KAFKA_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    KAFKA_ERR_PRODUCER_FENCED = 90,
} kafka_err_t;

/* API keys the broker knows (ApiKeys.java). */
enum {
    KAFKA_API_PRODUCE = 0,
    KAFKA_API_FETCH = 1,
    KAFKA_API_LIST_OFFSETS = 2,
    KAFKA_API_METADATA = 3,
    KAFKA_API_OFFSET_COMMIT = 8,
    KAFKA_API_OFFSET_FETCH = 9,
    KAFKA_API_FIND_COORDINATOR = 10,
    KAFKA_API_JOIN_GROUP = 11,
    KAFKA_API_HEARTBEAT = 12,
    KAFKA_API_LEAVE_GROUP = 13,
    KAFKA_API_SYNC_GROUP = 14,
    KAFKA_API_DESCRIBE_GROUPS = 15,
    KAFKA_API_LIST_GROUPS = 16,
    KAFKA_API_SASL_HANDSHAKE = 17,
    KAFKA_API_API_VERSIONS = 18,
    KAFKA_API_CREATE_TOPICS = 19,
    KAFKA_API_DELETE_TOPICS = 20,
    KAFKA_API_INIT_PRODUCER_ID = 22,
    KAFKA_API_DESCRIBE_CONFIGS = 32,
    KAFKA_API_DESCRIBE_LOG_DIRS = 35,
    KAFKA_API_SASL_AUTHENTICATE = 36,
};

/* Upper bound on any array count in a request, on top of the bytes-left check. */
#define KAFKA_MAX_ARRAY (1 << 20)

/* Returns Kafka's name for an error code ("CORRUPT_MESSAGE"), or "UNKNOWN" for others. */
const char *kafka_err_name(int16_t err);
/* Returns the API's name ("Produce") or NULL for an unknown key. */
const char *kafka_api_name(int16_t api_key);

/* The request header (v1/v2): the fields before the body. client_id is a classic nullable
 * string even in header v2. Tagged fields of header v2 are left for the caller (kafka_rd_tags),
 * since only the dispatch table knows whether a version is flexible. */
typedef struct kafka_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    sl_slice client_id;
} kafka_hdr;

/* Reads a request header. Returns 0 or SL_ERR_PARSE. */
int kafka_hdr_parse(sl_rd *r, kafka_hdr *h);

/* Classic nullable string: int16 length, -1 = null. Other negative lengths fail. */
int kafka_rd_string(sl_rd *r, sl_slice *out);
/* Compact nullable string: uvarint length+1, 0 = null. */
int kafka_rd_compact_string(sl_rd *r, sl_slice *out);
/* Either of the above, by the request's flexibility. */
int kafka_rd_str(sl_rd *r, bool flexible, sl_slice *out);
/* Classic nullable bytes (int32 length, -1 = null) and compact bytes. */
int kafka_rd_bytes(sl_rd *r, sl_slice *out);
int kafka_rd_compact_bytes(sl_rd *r, sl_slice *out);
int kafka_rd_byts(sl_rd *r, bool flexible, sl_slice *out);
/* Array count: int32 (-1 = null) or compact uvarint count+1 (0 = null). Null comes back as -1.
 * The count must satisfy count * min_elem <= bytes left and count <= KAFKA_MAX_ARRAY, so a
 * caller may allocate count elements after this succeeds. min_elem is the smallest encoded
 * size of one element (at least 1). */
int kafka_rd_array(sl_rd *r, bool flexible, size_t min_elem, int32_t *count);
/* Unsigned varint limited to 32 bits. */
int kafka_rd_uvarint32(sl_rd *r, uint32_t *v);
/* Skips a tagged-field section (a count, then tag/size/bytes each). Callers use it only for
 * flexible versions; kafka_rd_tags_if does the check. */
int kafka_rd_tags(sl_rd *r);
static inline int kafka_rd_tags_if(sl_rd *r, bool flexible)
{
    return flexible ? kafka_rd_tags(r) : (r->err ? SL_ERR_PARSE : 0);
}
/* Small typed readers that mirror sl_rd's, for symmetry in handlers. */
static inline int kafka_rd_bool(sl_rd *r, bool *v)
{
    uint8_t u;
    if (sl_rd_u8(r, &u)) return SL_ERR_PARSE;
    *v = u != 0;
    return 0;
}

/* Writers append to a response body. */
static inline void kafka_put_i8(sl_buf *b, int8_t v)
{
    sl_buf_put_u8(b, (uint8_t)v);
}
static inline void kafka_put_i16(sl_buf *b, int16_t v)
{
    sl_buf_put_be16(b, (uint16_t)v);
}
static inline void kafka_put_i32(sl_buf *b, int32_t v)
{
    sl_buf_put_be32(b, (uint32_t)v);
}
static inline void kafka_put_i64(sl_buf *b, int64_t v)
{
    sl_buf_put_be64(b, (uint64_t)v);
}
static inline void kafka_put_bool(sl_buf *b, bool v)
{
    sl_buf_put_u8(b, v ? 1 : 0);
}
/* A nullable string (s.ptr == NULL writes null), classic or compact by flexible. */
void kafka_put_str(sl_buf *b, bool flexible, sl_slice s);
/* A C string; NULL writes null. */
void kafka_put_cstr(sl_buf *b, bool flexible, const char *s);
/* Nullable bytes (s.ptr == NULL writes null), classic int32 or compact. */
void kafka_put_bytes(sl_buf *b, bool flexible, sl_slice s);
/* An array count known up front; -1 writes null. */
void kafka_put_array(sl_buf *b, bool flexible, int32_t count);
/* An empty tagged-field section, written only when flexible. */
static inline void kafka_put_tags(sl_buf *b, bool flexible)
{
    if (flexible) sl_buf_put_u8(b, 0);
}
/* For classic encodings whose count is learned while writing: reserve an int32 and patch it. */
static inline size_t kafka_put_i32_placeholder(sl_buf *b)
{
    size_t at = b->len;
    sl_buf_put_be32(b, 0);
    return at;
}
static inline void kafka_patch_i32(sl_buf *b, size_t at, int32_t v)
{
    sl_put_be32(b->ptr + at, (uint32_t)v);
}

#endif
