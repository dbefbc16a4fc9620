/* types.h: CQL type descriptors and the operations on serialized values.
 *
 * (The descriptor is sl_cql_dtype; sl_cql_type in ast.h is the parser's type node, a tree of
 * names, which sl_cql_dtype_from_ast resolves.)
 *
 * A CQL value is always its native protocol serialized form (native_protocol_v4.spec §6) held
 * in an sl_slice: wire, executor, storage and client pass values that way, so a bound value
 * flows to storage without conversion. A slice with a NULL ptr is CQL null; an empty value (0
 * bytes, legal for most types) has a non-NULL ptr and len 0.
 *
 * Type descriptors are immutable and shared: the primitive ones are static singletons, the
 * parameterized ones (collections, tuples, UDTs) are reference counted. Every function that
 * returns a new sl_cql_dtype * hands the caller one reference, released with
 * sl_cql_dtype_release (a no-op on the static ones). */
#ifndef SL_CQL_TYPES_H
#define SL_CQL_TYPES_H

#include "core/buf.h"
#include "core/codec.h"
#include "cql/ast.h"
#include <jansson.h>

/* Kinds carry the protocol's [option] ids (§4.2.5.2). text and varchar are one type (0x0D). */
typedef enum sl_cql_kind {
    SL_CQL_CUSTOM = 0x00,
    SL_CQL_ASCII = 0x01,
    SL_CQL_BIGINT = 0x02,
    SL_CQL_BLOB = 0x03,
    SL_CQL_BOOLEAN = 0x04,
    SL_CQL_COUNTER = 0x05,
    SL_CQL_DECIMAL = 0x06,
    SL_CQL_DOUBLE = 0x07,
    SL_CQL_FLOAT = 0x08,
    SL_CQL_INT = 0x09,
    SL_CQL_TIMESTAMP = 0x0B,
    SL_CQL_UUID = 0x0C,
    SL_CQL_TEXT = 0x0D,
    SL_CQL_VARINT = 0x0E,
    SL_CQL_TIMEUUID = 0x0F,
    SL_CQL_INET = 0x10,
    SL_CQL_DATE = 0x11,
    SL_CQL_TIME = 0x12,
    SL_CQL_SMALLINT = 0x13,
    SL_CQL_TINYINT = 0x14,
    SL_CQL_LIST = 0x20,
    SL_CQL_MAP = 0x21,
    SL_CQL_SET = 0x22,
    SL_CQL_UDT = 0x30,
    SL_CQL_TUPLE = 0x31,
} sl_cql_kind;

/* Nesting limit for parsed and decoded types and values. */
#define SL_CQL_TYPE_MAX_DEPTH 32

typedef struct sl_cql_dtype sl_cql_dtype;
struct sl_cql_dtype {
    sl_cql_kind kind;
    bool frozen;   /* list/set/map/UDT: stored as one cell; tuples are always frozen */
    int refs;      /* < 0 for the static primitives */
    uint16_t nsub; /* list/set 1 (element), map 2 (key, value), tuple/UDT n fields */
    sl_cql_dtype **sub;
    char *custom;       /* CUSTOM: the class name */
    char *udt_keyspace; /* UDT (decoded from [option]s only; CREATE TYPE is not supported) */
    char *udt_name;
    char **field_names; /* UDT: nsub names */
};

/* The static descriptor of a primitive kind (everything but CUSTOM and the parameterized
 * kinds), or NULL. */
const sl_cql_dtype *sl_cql_dtype_prim(sl_cql_kind kind);
/* A new list/set/map/tuple type over sub (nsub entries: 1, 1, 2, n). Takes ownership of the
 * references in sub (the array itself is copied). Tuples are forced frozen. */
sl_cql_dtype *sl_cql_dtype_new(sl_cql_kind kind, bool frozen, size_t nsub, sl_cql_dtype **sub);
/* Another reference to t (returned for convenience; t itself for the static primitives). */
sl_cql_dtype *sl_cql_dtype_keep(const sl_cql_dtype *t);
void sl_cql_dtype_release(sl_cql_dtype *t);
/* The frozen version of t (a new reference; t itself when already frozen or not a collection). */
sl_cql_dtype *sl_cql_dtype_freeze(const sl_cql_dtype *t);

/* Structural equality (text and varchar are equal; frozenness counts). */
bool sl_cql_dtype_equal(const sl_cql_dtype *a, const sl_cql_dtype *b);
/* list, set or map. */
bool sl_cql_dtype_is_collection(const sl_cql_dtype *t);
/* A non-frozen collection: stored as one cell per element. */
bool sl_cql_dtype_is_multicell(const sl_cql_dtype *t);
/* Byte size of a fixed-size kind's non-empty values (int 4, uuid 16, ...), or -1. */
int sl_cql_dtype_fixed_size(const sl_cql_dtype *t);

/* Resolves a parsed type (ast.h) to a descriptor. Returns 0, or SL_ERR_INVAL with Cassandra's
 * message in err (Unknown type ks.foo, Non-frozen collections are not allowed inside
 * collections: list<list<int>>, ...). */
int sl_cql_dtype_from_ast(const sl_cql_type *ast, sl_cql_dtype **out, sl_buf *err);
/* Parses CQL type text ("int", "varchar", "frozen<map<text, list<int>>>", "tuple<int, text>",
 * case-insensitive, quoted names not needed). Returns 0, or SL_ERR_INVAL with a message in err
 * ("Unknown type foo"). */
int sl_cql_dtype_parse(sl_slice text, sl_cql_dtype **out, sl_buf *err);
/* Appends the CQL name: "int", "text", "frozen<map<text, list<int>>>", "tuple<int, text>". */
void sl_cql_dtype_to_cql(const sl_cql_dtype *t, sl_buf *out);
/* The name of a primitive kind ("int", "text", "timeuuid"), or "list"/"map"/... for the rest. */
const char *sl_cql_kind_name(sl_cql_kind kind);

/* Appends t's protocol [option] (§4.2.5.2): id [short] then the element options. */
void sl_cql_dtype_encode_option(const sl_cql_dtype *t, sl_buf *out);
/* Reads one [option] from r (bounds-checked, nesting at most SL_CQL_TYPE_MAX_DEPTH). Returns 0
 * or SL_ERR_PARSE. */
int sl_cql_dtype_decode_option(sl_rd *r, sl_cql_dtype **out);

/* Checks that v (not null) is a well-formed value of t: fixed sizes ("Expected 4 or 0 byte int
 * (3)"), UTF-8 for text, 7-bit for ascii, collection and tuple framing with every element
 * valid. Returns 0 or SL_ERR_INVAL with Cassandra's wording in err. */
int sl_cql_value_validate(const sl_cql_dtype *t, sl_slice v, sl_buf *err);

/* Orders two valid non-null values of t the way Cassandra's AbstractType.compare does (used for
 * clustering order, ORDER BY, set elements and map keys): <0, 0 or >0. Empty values sort
 * first. */
int sl_cql_value_compare(const sl_cql_dtype *t, sl_slice a, sl_slice b);

typedef enum sl_cql_fmt {
    SL_CQL_FMT_LITERAL, /* CQL literal syntax: 'quoted' strings, 0x blobs; re-parseable */
    SL_CQL_FMT_DISPLAY, /* cqlsh output: strings bare at top level, quoted inside collections */
} sl_cql_fmt;

/* Appends the text of value v of t ("null" for a NULL ptr). Invalid bytes format as a 0x blob
 * rather than failing. */
void sl_cql_value_format(const sl_cql_dtype *t, sl_slice v, sl_cql_fmt fmt, sl_buf *out);
/* Appends v as JSON the way SELECT JSON writes it (strings and uuids quoted, collections as
 * arrays/objects with map keys as strings, null as null). */
void sl_cql_value_format_json(const sl_cql_dtype *t, sl_slice v, sl_buf *out);

/* The kinds of CQL constants (Cassandra's Constants.Type). */
typedef enum sl_cql_const_kind {
    SL_CQL_CONST_STRING,  /* text is the unescaped content, without quotes */
    SL_CQL_CONST_INTEGER, /* "-12" */
    SL_CQL_CONST_FLOAT,   /* "1.5", "-2e10", "NaN", "Infinity", "-Infinity" */
    SL_CQL_CONST_BOOLEAN, /* "true" / "false", any case */
    SL_CQL_CONST_UUID,    /* "123e4567-e89b-12d3-a456-426614174000" */
    SL_CQL_CONST_HEX,     /* "0xcafe" (with the 0x) */
} sl_cql_const_kind;

/* Serializes the constant text of kind ck as a value of the primitive type t into out
 * (appending). Returns 0, or SL_ERR_INVAL with Cassandra's message in err, e.g.
 * Invalid STRING constant (abc) for "id" of type uuid     (column names the receiver)
 * The executor turns SL_ERR_INVAL into Invalid 0x2200. */
int sl_cql_value_from_const(const sl_cql_dtype *t, sl_cql_const_kind ck, sl_slice text,
                            const char *column, sl_buf *out, sl_buf *err);
/* Serializes a literal term (ast.h: constants, null, collections, tuples, type hints; nested)
 * as t. Bind markers and function calls are the executor's: they give SL_ERR_UNSUPPORTED.
 * *is_null is set for null. Errors as sl_cql_value_from_const, plus "Invalid list literal for
 * l of type set<int>"-style ones for collection shape mismatches. */
int sl_cql_value_from_term(const sl_cql_dtype *t, const sl_cql_term *term, const char *column,
                           sl_buf *out, bool *is_null, sl_buf *err);
/* Parses a whole CQL literal (constants, null, [list], {set}, {map: ...}, (tuple), nested) and
 * appends its serialization as t. *is_null is set for the literal null. Sets are sorted and
 * deduplicated and map keys sorted, as Cassandra does. Errors as sl_cql_value_from_const. */
int sl_cql_value_parse_literal(const sl_cql_dtype *t, sl_slice text, const char *column,
                               sl_buf *out, bool *is_null, sl_buf *err);
/* Converts a JSON value (INSERT JSON, fromJson) to a serialized t, accepting what Cassandra's
 * fromJSONObject accepts (numbers or numeric strings, uuid strings, "0x.." blobs, arrays for
 * lists/sets/tuples, objects for maps with keys as JSON text). *is_null for JSON null. */
int sl_cql_value_from_json(const sl_cql_dtype *t, const json_t *j, const char *column, sl_buf *out,
                           bool *is_null, sl_buf *err);

/* Appends the serialization of a collection or tuple from already serialized elements: a list
 * or set takes n elements, a map n keys and values interleaved (2n slices), a tuple n fields
 * (NULL ptr = null field). Set elements and map keys are sorted by t's order and duplicates
 * dropped (the last map value for a key wins). */
void sl_cql_collection_encode(const sl_cql_dtype *t, const sl_slice *elems, size_t n, sl_buf *out);

/* Iterates a serialized list/set (one slice per element), map (key, value, key, value, ...) or
 * tuple (one per field, NULL ptr for null). sl_cql_iter_init returns the element count to
 * expect (2 per map entry) or SL_ERR_PARSE; next returns 1 with a slice, 0 at the end, or
 * SL_ERR_PARSE. */
typedef struct sl_cql_iter {
    sl_rd r;
    size_t left;
    bool tuple; /* fields run to the end of the value */
} sl_cql_iter;
int sl_cql_iter_init(sl_cql_iter *it, const sl_cql_dtype *t, sl_slice v);
int sl_cql_iter_next(sl_cql_iter *it, sl_slice *elem);

/* UUIDs. v4 is random; time uuids (v1) are unique within the process and increase with time
 * (clock sequence and node are random per process, as Cassandra's UUIDGen). */
void sl_cql_uuid_v4(uint8_t out[16]);
void sl_cql_timeuuid_now(uint8_t out[16]);
/* A v1 uuid for the Unix time ms, with the given 100ns sub-millisecond counter and the
 * process's clock sequence and node. */
void sl_cql_timeuuid_at(int64_t unix_ms, uint32_t ticks, uint8_t out[16]);
/* The Unix time in milliseconds of a v1 uuid (toTimestamp(timeuuid)). */
int64_t sl_cql_timeuuid_unix_ms(const uint8_t u[16]);
/* Writes the 36 characters and a NUL. */
void sl_cql_uuid_format(const uint8_t u[16], char out[37]);
/* Parses the 8-4-4-4-12 hex form; returns 0 or SL_ERR_INVAL. */
int sl_cql_uuid_parse(sl_slice s, uint8_t out[16]);

/* The partition key as Cassandra serializes it for the partitioner: the single component's
 * bytes, or for n > 1 the CompositeType form: for each component <u16 len><bytes><0x00>. */
void sl_cql_partition_key(const sl_slice *comps, size_t n, sl_buf *out);
/* Murmur3Partitioner.getToken of a serialized partition key: the first 64 bits of MurmurHash3
 * x64 128 (seed 0, with Cassandra's sign-extended tail bytes); Long.MIN_VALUE maps to MAX_VALUE
 * and the empty key to Long.MIN_VALUE. */
int64_t sl_cql_murmur3_token(const void *key, size_t len);
/* The token of a partition key given as its components. */
int64_t sl_cql_token(const sl_slice *comps, size_t n);

#endif
