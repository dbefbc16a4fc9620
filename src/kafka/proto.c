/* proto.c: Kafka wire primitives (see proto.h). */
#include "kafka/proto.h"

/* An empty string must not come back with ptr NULL, which means null. */
static const uint8_t empty_bytes[1];

/* Fails with the reader positioned at the start of the bad field, so the offset logged for a
 * malformed request names the field rather than the bytes after it. */
static int fail_at(sl_rd *r, const uint8_t *at)
{
    r->p = at;
    return sl_rd_fail(r);
}

static int fixup_empty(sl_slice *out)
{
    if (out->len == 0) out->ptr = empty_bytes;
    return 0;
}

int kafka_rd_uvarint32(sl_rd *r, uint32_t *v)
{
    uint64_t u;
    if (sl_rd_uvarint(r, &u)) return sl_rd_fail(r);
    if (u > UINT32_MAX) return sl_rd_fail(r);
    *v = (uint32_t)u;
    return 0;
}

int kafka_hdr_parse(sl_rd *r, kafka_hdr *h)
{
    if (sl_rd_i16(r, &h->api_key) || sl_rd_i16(r, &h->api_version) ||
        sl_rd_i32(r, &h->correlation_id))
        return SL_ERR_PARSE;
    return kafka_rd_string(r, &h->client_id);
}

int kafka_rd_string(sl_rd *r, sl_slice *out)
{
    const uint8_t *at = r->p;
    int16_t n;
    if (sl_rd_i16(r, &n)) return SL_ERR_PARSE;
    if (n == -1) {
        *out = SL_SLICE_NULL;
        return 0;
    }
    if (n < 0 || sl_rd_bytes(r, (size_t)n, out)) return fail_at(r, at);
    return fixup_empty(out);
}

int kafka_rd_compact_string(sl_rd *r, sl_slice *out)
{
    const uint8_t *at = r->p;
    uint32_t n;
    if (kafka_rd_uvarint32(r, &n)) return fail_at(r, at);
    if (n == 0) {
        *out = SL_SLICE_NULL;
        return 0;
    }
    if (sl_rd_bytes(r, (size_t)n - 1, out)) return fail_at(r, at);
    return fixup_empty(out);
}

int kafka_rd_str(sl_rd *r, bool flexible, sl_slice *out)
{
    return flexible ? kafka_rd_compact_string(r, out) : kafka_rd_string(r, out);
}

int kafka_rd_bytes(sl_rd *r, sl_slice *out)
{
    const uint8_t *at = r->p;
    int32_t n;
    if (sl_rd_i32(r, &n)) return SL_ERR_PARSE;
    if (n == -1) {
        *out = SL_SLICE_NULL;
        return 0;
    }
    if (n < 0 || sl_rd_bytes(r, (size_t)n, out)) return fail_at(r, at);
    return fixup_empty(out);
}

int kafka_rd_compact_bytes(sl_rd *r, sl_slice *out)
{
    return kafka_rd_compact_string(r, out);
}

int kafka_rd_byts(sl_rd *r, bool flexible, sl_slice *out)
{
    return flexible ? kafka_rd_compact_bytes(r, out) : kafka_rd_bytes(r, out);
}

int kafka_rd_array(sl_rd *r, bool flexible, size_t min_elem, int32_t *count)
{
    const uint8_t *at = r->p;
    int64_t n;
    if (flexible) {
        uint32_t u;
        if (kafka_rd_uvarint32(r, &u)) return fail_at(r, at);
        n = (int64_t)u - 1;
    } else {
        int32_t v;
        if (sl_rd_i32(r, &v)) return SL_ERR_PARSE;
        if (v < -1) return fail_at(r, at);
        n = v;
    }
    if (n == -1) {
        *count = -1;
        return 0;
    }
    if (min_elem == 0) min_elem = 1;
    if (n > KAFKA_MAX_ARRAY || (uint64_t)n * min_elem > sl_rd_left(r)) return fail_at(r, at);
    *count = (int32_t)n;
    return 0;
}

int kafka_rd_tags(sl_rd *r)
{
    uint32_t n, tag, size;
    if (kafka_rd_uvarint32(r, &n)) return SL_ERR_PARSE;
    /* Each field takes at least two bytes (tag and size). */
    if ((uint64_t)n * 2 > sl_rd_left(r)) return sl_rd_fail(r);
    for (uint32_t i = 0; i < n; i++) {
        if (kafka_rd_uvarint32(r, &tag) || kafka_rd_uvarint32(r, &size) || sl_rd_skip(r, size))
            return SL_ERR_PARSE;
    }
    return 0;
}

static void put_uvarint(sl_buf *b, uint64_t v)
{
    sl_buf_put_uvarint(b, v);
}

void kafka_put_str(sl_buf *b, bool flexible, sl_slice s)
{
    if (flexible) {
        put_uvarint(b, s.ptr ? (uint64_t)s.len + 1 : 0);
    } else {
        sl_buf_put_be16(b, s.ptr ? (uint16_t)s.len : (uint16_t)0xffff);
    }
    if (s.ptr && s.len) sl_buf_append(b, s.ptr, s.len);
}

void kafka_put_cstr(sl_buf *b, bool flexible, const char *s)
{
    kafka_put_str(b, flexible, s ? (sl_slice){(const uint8_t *)s, strlen(s)} : SL_SLICE_NULL);
}

void kafka_put_bytes(sl_buf *b, bool flexible, sl_slice s)
{
    if (flexible) {
        put_uvarint(b, s.ptr ? (uint64_t)s.len + 1 : 0);
    } else {
        sl_buf_put_be32(b, s.ptr ? (uint32_t)s.len : 0xffffffffu);
    }
    if (s.ptr && s.len) sl_buf_append(b, s.ptr, s.len);
}

void kafka_put_array(sl_buf *b, bool flexible, int32_t count)
{
    if (flexible)
        put_uvarint(b, count < 0 ? 0 : (uint64_t)count + 1);
    else
        sl_buf_put_be32(b, (uint32_t)count);
}

const char *kafka_err_name(int16_t err)
{
    switch (err) {
    case KAFKA_ERR_UNKNOWN_SERVER_ERROR: return "UNKNOWN_SERVER_ERROR";
    case KAFKA_ERR_NONE: return "NONE";
    case KAFKA_ERR_OFFSET_OUT_OF_RANGE: return "OFFSET_OUT_OF_RANGE";
    case KAFKA_ERR_CORRUPT_MESSAGE: return "CORRUPT_MESSAGE";
    case KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION: return "UNKNOWN_TOPIC_OR_PARTITION";
    case KAFKA_ERR_INVALID_FETCH_SIZE: return "INVALID_FETCH_SIZE";
    case KAFKA_ERR_LEADER_NOT_AVAILABLE: return "LEADER_NOT_AVAILABLE";
    case KAFKA_ERR_NOT_LEADER_OR_FOLLOWER: return "NOT_LEADER_OR_FOLLOWER";
    case KAFKA_ERR_REQUEST_TIMED_OUT: return "REQUEST_TIMED_OUT";
    case KAFKA_ERR_MESSAGE_TOO_LARGE: return "MESSAGE_TOO_LARGE";
    case KAFKA_ERR_OFFSET_METADATA_TOO_LARGE: return "OFFSET_METADATA_TOO_LARGE";
    case KAFKA_ERR_NETWORK_EXCEPTION: return "NETWORK_EXCEPTION";
    case KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS: return "COORDINATOR_LOAD_IN_PROGRESS";
    case KAFKA_ERR_COORDINATOR_NOT_AVAILABLE: return "COORDINATOR_NOT_AVAILABLE";
    case KAFKA_ERR_NOT_COORDINATOR: return "NOT_COORDINATOR";
    case KAFKA_ERR_INVALID_TOPIC_EXCEPTION: return "INVALID_TOPIC_EXCEPTION";
    case KAFKA_ERR_RECORD_LIST_TOO_LARGE: return "RECORD_LIST_TOO_LARGE";
    case KAFKA_ERR_NOT_ENOUGH_REPLICAS: return "NOT_ENOUGH_REPLICAS";
    case KAFKA_ERR_INVALID_REQUIRED_ACKS: return "INVALID_REQUIRED_ACKS";
    case KAFKA_ERR_ILLEGAL_GENERATION: return "ILLEGAL_GENERATION";
    case KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL: return "INCONSISTENT_GROUP_PROTOCOL";
    case KAFKA_ERR_INVALID_GROUP_ID: return "INVALID_GROUP_ID";
    case KAFKA_ERR_UNKNOWN_MEMBER_ID: return "UNKNOWN_MEMBER_ID";
    case KAFKA_ERR_INVALID_SESSION_TIMEOUT: return "INVALID_SESSION_TIMEOUT";
    case KAFKA_ERR_REBALANCE_IN_PROGRESS: return "REBALANCE_IN_PROGRESS";
    case KAFKA_ERR_INVALID_COMMIT_OFFSET_SIZE: return "INVALID_COMMIT_OFFSET_SIZE";
    case KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED: return "TOPIC_AUTHORIZATION_FAILED";
    case KAFKA_ERR_GROUP_AUTHORIZATION_FAILED: return "GROUP_AUTHORIZATION_FAILED";
    case KAFKA_ERR_CLUSTER_AUTHORIZATION_FAILED: return "CLUSTER_AUTHORIZATION_FAILED";
    case KAFKA_ERR_INVALID_TIMESTAMP: return "INVALID_TIMESTAMP";
    case KAFKA_ERR_UNSUPPORTED_VERSION: return "UNSUPPORTED_VERSION";
    case KAFKA_ERR_TOPIC_ALREADY_EXISTS: return "TOPIC_ALREADY_EXISTS";
    case KAFKA_ERR_INVALID_PARTITIONS: return "INVALID_PARTITIONS";
    case KAFKA_ERR_INVALID_REPLICATION_FACTOR: return "INVALID_REPLICATION_FACTOR";
    case KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT: return "INVALID_REPLICA_ASSIGNMENT";
    case KAFKA_ERR_INVALID_CONFIG: return "INVALID_CONFIG";
    case KAFKA_ERR_NOT_CONTROLLER: return "NOT_CONTROLLER";
    case KAFKA_ERR_INVALID_REQUEST: return "INVALID_REQUEST";
    case KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case KAFKA_ERR_POLICY_VIOLATION: return "POLICY_VIOLATION";
    case KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER: return "DUPLICATE_SEQUENCE_NUMBER";
    case KAFKA_ERR_INVALID_PRODUCER_EPOCH: return "INVALID_PRODUCER_EPOCH";
    case KAFKA_ERR_INVALID_TXN_STATE: return "INVALID_TXN_STATE";
    case KAFKA_ERR_INVALID_PRODUCER_ID_MAPPING: return "INVALID_PRODUCER_ID_MAPPING";
    case KAFKA_ERR_INVALID_TRANSACTION_TIMEOUT: return "INVALID_TRANSACTION_TIMEOUT";
    case KAFKA_ERR_CONCURRENT_TRANSACTIONS: return "CONCURRENT_TRANSACTIONS";
    case KAFKA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    case KAFKA_ERR_KAFKA_STORAGE_ERROR: return "KAFKA_STORAGE_ERROR";
    case KAFKA_ERR_UNKNOWN_PRODUCER_ID: return "UNKNOWN_PRODUCER_ID";
    case KAFKA_ERR_NON_EMPTY_GROUP: return "NON_EMPTY_GROUP";
    case KAFKA_ERR_GROUP_ID_NOT_FOUND: return "GROUP_ID_NOT_FOUND";
    case KAFKA_ERR_FETCH_SESSION_ID_NOT_FOUND: return "FETCH_SESSION_ID_NOT_FOUND";
    case KAFKA_ERR_INVALID_FETCH_SESSION_EPOCH: return "INVALID_FETCH_SESSION_EPOCH";
    case KAFKA_ERR_FENCED_LEADER_EPOCH: return "FENCED_LEADER_EPOCH";
    case KAFKA_ERR_UNKNOWN_LEADER_EPOCH: return "UNKNOWN_LEADER_EPOCH";
    case KAFKA_ERR_UNSUPPORTED_COMPRESSION_TYPE: return "UNSUPPORTED_COMPRESSION_TYPE";
    case KAFKA_ERR_OFFSET_NOT_AVAILABLE: return "OFFSET_NOT_AVAILABLE";
    case KAFKA_ERR_MEMBER_ID_REQUIRED: return "MEMBER_ID_REQUIRED";
    case KAFKA_ERR_GROUP_MAX_SIZE_REACHED: return "GROUP_MAX_SIZE_REACHED";
    case KAFKA_ERR_FENCED_INSTANCE_ID: return "FENCED_INSTANCE_ID";
    case KAFKA_ERR_INVALID_RECORD: return "INVALID_RECORD";
    case KAFKA_ERR_UNSTABLE_OFFSET_COMMIT: return "UNSTABLE_OFFSET_COMMIT";
    case KAFKA_ERR_PRODUCER_FENCED: return "PRODUCER_FENCED";
    }
    return "UNKNOWN";
}

const char *kafka_api_name(int16_t api_key)
{
    switch (api_key) {
    case KAFKA_API_PRODUCE: return "Produce";
    case KAFKA_API_FETCH: return "Fetch";
    case KAFKA_API_LIST_OFFSETS: return "ListOffsets";
    case KAFKA_API_METADATA: return "Metadata";
    case KAFKA_API_OFFSET_COMMIT: return "OffsetCommit";
    case KAFKA_API_OFFSET_FETCH: return "OffsetFetch";
    case KAFKA_API_FIND_COORDINATOR: return "FindCoordinator";
    case KAFKA_API_JOIN_GROUP: return "JoinGroup";
    case KAFKA_API_HEARTBEAT: return "Heartbeat";
    case KAFKA_API_LEAVE_GROUP: return "LeaveGroup";
    case KAFKA_API_SYNC_GROUP: return "SyncGroup";
    case KAFKA_API_DESCRIBE_GROUPS: return "DescribeGroups";
    case KAFKA_API_LIST_GROUPS: return "ListGroups";
    case KAFKA_API_API_VERSIONS: return "ApiVersions";
    case KAFKA_API_CREATE_TOPICS: return "CreateTopics";
    case KAFKA_API_DELETE_TOPICS: return "DeleteTopics";
    case KAFKA_API_INIT_PRODUCER_ID: return "InitProducerId";
    case KAFKA_API_DESCRIBE_CONFIGS: return "DescribeConfigs";
    case KAFKA_API_DESCRIBE_LOG_DIRS: return "DescribeLogDirs";
    case KAFKA_API_SASL_HANDSHAKE: return "SaslHandshake";
    case KAFKA_API_SASL_AUTHENTICATE: return "SaslAuthenticate";
    }
    return NULL;
}
