/* catalog.h: the schema: keyspaces, tables and their columns, persisted in the store.
 *
 * The catalog lives in the same RocksDB database as the data (its own column family, sharing
 * the WAL), so schema and data recover together. DDL changes are written with the WAL but not
 * synced: the caller asks sl_store_sync for durability before acknowledging, as for any write.
 *
 * Tables are immutable once published and reference counted: ALTER publishes a new version
 * under the same name, and a reader (a cursor, a prepared statement) keeps the version it
 * started with via sl_cql_table_keep. Keyspaces are owned by the catalog and are valid until
 * the next DDL call.
 *
 * The system keyspaces (system, system_schema, system_auth, system_distributed,
 * system_traces) are built in and read-only: their tables (system.local, system.peers,
 * system.peers_v2, system_schema.*) carry Cassandra 4.0's column definitions so the executor
 * can describe and validate them; their rows are virtual (the executor produces them).
 *
 * Threading: the loop thread only. */
#ifndef SL_CQL_CATALOG_H
#define SL_CQL_CATALOG_H

#include "cql/types.h"

typedef struct sl_store sl_store;
typedef struct sl_catalog sl_catalog;

typedef enum sl_cql_col_kind {
    SL_CQL_COL_PARTITION_KEY,
    SL_CQL_COL_CLUSTERING,
    SL_CQL_COL_REGULAR,
    SL_CQL_COL_STATIC,
} sl_cql_col_kind;

typedef struct sl_cql_column {
    char *name;
    sl_cql_dtype *type;
    sl_cql_col_kind kind;
    int position;   /* order within the partition key or clustering key; -1 otherwise */
    bool desc;      /* clustering column in DESC order */
    uint16_t id;    /* storage id: stable across ALTER, never reused within the table */
    uint16_t index; /* index in table->columns */
} sl_cql_column;

/* A table option as "WITH name = value" shows it: value is CQL literal text ("0.1",
 * "{'class': 'SizeTieredCompactionStrategy'}", "'text'"). */
typedef struct sl_cql_option {
    char *name;
    char *value;
} sl_cql_option;

typedef struct sl_cql_table {
    int refs;
    char *keyspace;
    char *name;
    uint8_t id[16];      /* the table uuid (system_schema.tables.id) */
    uint32_t storage_id; /* key prefix of its data; unique forever in this database */
    bool is_system;      /* a built-in virtual table: no storage, read-only */
    bool is_counter;     /* its regular columns are counters */
    /* Columns in SELECT * order: partition key, clustering, static by name, regular by name. */
    sl_cql_column *columns;
    size_t ncolumns;
    sl_cql_column **pk; /* partition key columns by position */
    size_t npk;
    sl_cql_column **ck; /* clustering columns by position */
    size_t nck;
    sl_cql_option *options; /* sorted by name */
    size_t noptions;
    int32_t gc_grace_seconds; /* option gc_grace_seconds, default 864000 */
    int32_t default_ttl;      /* option default_time_to_live, default 0 */
    uint16_t next_column_id;
} sl_cql_table;

typedef struct sl_cql_keyspace {
    char *name;
    sl_cql_option *replication; /* {'class': ..., 'replication_factor': ...}, values unquoted */
    size_t nreplication;
    bool durable_writes;
    bool is_system;
    sl_cql_table **tables; /* sorted by name */
    size_t ntables;
} sl_cql_keyspace;

/* Builds a table definition for sl_catalog_create_table: add columns, then options. */
sl_cql_table *sl_cql_table_new(const char *keyspace, const char *name);
/* Adds a column. Partition key and clustering columns must be added in key order; desc applies
 * to clustering columns. Takes a reference on type. Returns 0 or SL_ERR_EXISTS (duplicate
 * name, message in err: Multiple definition of identifier x). */
int sl_cql_table_add_column(sl_cql_table *t, const char *name, const sl_cql_dtype *type,
                            sl_cql_col_kind kind, bool desc, sl_buf *err);
/* Sets option name to CQL literal text value (replacing an earlier one). Returns 0, or
 * SL_ERR_INVAL for an unknown option or a bad value (Unknown property 'x'). */
int sl_cql_table_set_option(sl_cql_table *t, const char *name, const char *value, sl_buf *err);
/* The column by name (case-sensitive: names are already folded by the parser), or NULL. */
const sl_cql_column *sl_cql_table_column(const sl_cql_table *t, const char *name);
/* The value of an option (as set or the default Cassandra shows), or NULL when unknown. */
const char *sl_cql_table_option(const sl_cql_table *t, const char *name);
sl_cql_table *sl_cql_table_keep(const sl_cql_table *t);
void sl_cql_table_release(sl_cql_table *t);

/* Loads the schema from s (creating the system keyspaces in memory). Returns 0 or a negative
 * status with a message in err. */
int sl_catalog_open(sl_store *s, sl_catalog **out, sl_buf *err);
void sl_catalog_close(sl_catalog *c);

/* Lookups; NULL when absent. The pointers are valid until the next DDL call (keep a table to
 * hold it longer). */
const sl_cql_keyspace *sl_catalog_keyspace(const sl_catalog *c, const char *name);
sl_cql_table *sl_catalog_table(const sl_catalog *c, const char *keyspace, const char *name);
/* All keyspaces sorted by name, system ones included. */
const sl_cql_keyspace *const *sl_catalog_keyspaces(const sl_catalog *c, size_t *n);

/* The current schema version (a uuid that changes on every DDL). */
void sl_catalog_schema_version(const sl_catalog *c, uint8_t out[16]);

/* DDL. Each returns 0, 1 when an IF [NOT] EXISTS clause made it a no-op, or a negative status
 * with Cassandra's message in err:
 *   SL_ERR_EXISTS    Already_exists (Cannot add already existing keyspace "ks")
 *   SL_ERR_NOTFOUND  Invalid (Keyspace 'ks' doesn't exist / Table 'ks.t' doesn't exist)
 *   SL_ERR_INVAL     Invalid (a bad definition, a system keyspace)
 *   SL_ERR_CONFIG    Config (bad replication settings)
 * Changes are written through the store's WAL; sl_store_sync makes them durable. */
int sl_catalog_create_keyspace(sl_catalog *c, const char *name, const sl_cql_option *replication,
                               size_t nreplication, bool durable_writes, bool if_not_exists,
                               sl_buf *err);
/* Replaces replication (when nreplication > 0) and durable_writes. */
int sl_catalog_alter_keyspace(sl_catalog *c, const char *name, const sl_cql_option *replication,
                              size_t nreplication, bool durable_writes, sl_buf *err);
/* Drops the keyspace with its tables and their data. */
int sl_catalog_drop_keyspace(sl_catalog *c, const char *name, bool if_exists, sl_buf *err);
/* Validates and publishes def (taking ownership of it in every case): assigns the table id,
 * storage id and column ids, orders the columns. Rejects a missing primary key, non-frozen
 * collections in the key, counters mixed with non-counters, unknown keyspaces. */
int sl_catalog_create_table(sl_catalog *c, sl_cql_table *def, bool if_not_exists, sl_buf *err);
/* Drops the table and deletes its data. */
int sl_catalog_drop_table(sl_catalog *c, const char *keyspace, const char *name, bool if_exists,
                          sl_buf *err);
/* ALTER TABLE ADD: a new regular (or static) column with a fresh id. */
int sl_catalog_alter_add(sl_catalog *c, const char *keyspace, const char *table, const char *name,
                         const sl_cql_dtype *type, bool is_static, sl_buf *err);
/* ALTER TABLE DROP: forgets a regular or static column; its cells become unreachable (its id is
 * never reused) and compaction removes them. */
int sl_catalog_alter_drop(sl_catalog *c, const char *keyspace, const char *table, const char *name,
                          sl_buf *err);
/* ALTER TABLE WITH: sets the given options. */
int sl_catalog_alter_options(sl_catalog *c, const char *keyspace, const char *table,
                             const sl_cql_option *opts, size_t nopts, sl_buf *err);

#endif
