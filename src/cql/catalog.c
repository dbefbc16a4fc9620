/* catalog.c: keyspaces and tables, persisted as JSON in the store's catalog column family:
 *   "v"           the schema version (16 bytes)
 *   "n"           the next table storage id (u32)
 *   "k/<ks>"      {"replication": {...}, "durable_writes": bool}
 *   "t/<ks>/<t>"  {"id", "sid", "next_col", "cols": [{"n","t","k","p","d","i"}], "opts": {...}}
 * Names are limited to [A-Za-z0-9_]{1,48} as in Cassandra, so '/' never appears in one. */
#include "cql/catalog.h"
#include "cql/storage.h"
#include "cql/storage_int.h"
#include "core/log.h"

#include <ctype.h>
#include <openssl/evp.h>

#define NAME_MAX_LEN 48

struct sl_catalog {
    sl_store *s;
    sl_cql_keyspace **ks;
    size_t nks;
    uint8_t version[16];
    uint32_t next_sid;
};

/* ---- table options ---- */

typedef enum { OPT_TEXT, OPT_NUM, OPT_INT, OPT_BOOL, OPT_MAP } opt_kind;

static const struct {
    const char *name;
    opt_kind kind;
    const char *def;
} table_options[] = {
    {"additional_write_policy", OPT_TEXT, "'99p'"},
    {"bloom_filter_fp_chance", OPT_NUM, "0.01"},
    {"caching", OPT_MAP, "{'keys': 'ALL', 'rows_per_partition': 'NONE'}"},
    {"cdc", OPT_BOOL, "false"},
    {"comment", OPT_TEXT, "''"},
    {"compaction", OPT_MAP,
     "{'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', "
     "'max_threshold': '32', 'min_threshold': '4'}"},
    {"compression", OPT_MAP,
     "{'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}"},
    {"crc_check_chance", OPT_NUM, "1.0"},
    {"default_time_to_live", OPT_INT, "0"},
    {"extensions", OPT_MAP, "{}"},
    {"gc_grace_seconds", OPT_INT, "864000"},
    {"max_index_interval", OPT_INT, "2048"},
    {"memtable_flush_period_in_ms", OPT_INT, "0"},
    {"min_index_interval", OPT_INT, "128"},
    {"read_repair", OPT_TEXT, "'BLOCKING'"},
    {"speculative_retry", OPT_TEXT, "'99p'"},
};

static int option_index(const char *name)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(table_options); i++)
        if (!strcmp(table_options[i].name, name)) return (int)i;
    return -1;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

/* ---- tables ---- */

sl_cql_table *sl_cql_table_new(const char *keyspace, const char *name)
{
    sl_cql_table *t = sl_calloc(1, sizeof(*t));
    t->refs = 1;
    t->keyspace = sl_strdup(keyspace);
    t->name = sl_strdup(name);
    t->gc_grace_seconds = 864000;
    return t;
}

sl_cql_table *sl_cql_table_keep(const sl_cql_table *t)
{
    sl_cql_table *m = (sl_cql_table *)t;
    m->refs++;
    return m;
}

static void free_options(sl_cql_option *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sl_free(o[i].name);
        sl_free(o[i].value);
    }
    sl_free(o);
}

void sl_cql_table_release(sl_cql_table *t)
{
    if (!t || --t->refs > 0) return;
    for (size_t i = 0; i < t->ncolumns; i++) {
        sl_free(t->columns[i].name);
        sl_cql_dtype_release(t->columns[i].type);
    }
    sl_free(t->columns);
    sl_free(t->pk);
    sl_free(t->ck);
    free_options(t->options, t->noptions);
    sl_free(t->keyspace);
    sl_free(t->name);
    sl_free(t);
}

const sl_cql_column *sl_cql_table_column(const sl_cql_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncolumns; i++)
        if (!strcmp(t->columns[i].name, name)) return &t->columns[i];
    return NULL;
}

int sl_cql_table_add_column(sl_cql_table *t, const char *name, const sl_cql_dtype *type,
                            sl_cql_col_kind kind, bool desc, sl_buf *err)
{
    if (sl_cql_table_column(t, name)) {
        sl_buf_printf(err, "Multiple definition of identifier %s", name);
        return SL_ERR_EXISTS;
    }
    int pos = -1;
    if (kind == SL_CQL_COL_PARTITION_KEY || kind == SL_CQL_COL_CLUSTERING) {
        pos = 0;
        for (size_t i = 0; i < t->ncolumns; i++)
            if (t->columns[i].kind == kind) pos++;
    }
    t->columns = sl_realloc(t->columns, (t->ncolumns + 1) * sizeof(*t->columns));
    sl_cql_column *c = &t->columns[t->ncolumns];
    memset(c, 0, sizeof(*c));
    c->name = sl_strdup(name);
    c->type = sl_cql_dtype_keep(type);
    c->kind = kind;
    c->position = pos;
    c->desc = kind == SL_CQL_COL_CLUSTERING && desc;
    c->id = (uint16_t)t->next_column_id;
    c->index = (uint16_t)t->ncolumns;
    t->next_column_id++;
    t->ncolumns++;
    return 0;
}

static bool option_value_ok(opt_kind k, const char *v)
{
    size_t n = strlen(v);
    switch (k) {
    case OPT_TEXT: return n >= 2 && v[0] == '\'' && v[n - 1] == '\'';
    case OPT_MAP: return n >= 2 && v[0] == '{' && v[n - 1] == '}';
    case OPT_BOOL: return !strcasecmp(v, "true") || !strcasecmp(v, "false");
    case OPT_INT: {
        char *e;
        long long x = strtoll(v, &e, 10);
        return n && !*e && x >= 0 && x <= INT32_MAX;
    }
    case OPT_NUM: {
        char *e;
        strtod(v, &e);
        return n && !*e;
    }
    }
    return false;
}

int sl_cql_table_set_option(sl_cql_table *t, const char *name, const char *value, sl_buf *err)
{
    int oi = option_index(name);
    if (oi < 0) {
        sl_buf_printf(err, "Unknown property '%s'", name);
        return SL_ERR_INVAL;
    }
    if (!option_value_ok(table_options[oi].kind, value)) {
        sl_buf_printf(err, "Invalid value for property '%s': %s", name, value);
        return SL_ERR_INVAL;
    }
    if (!strcmp(name, "gc_grace_seconds")) t->gc_grace_seconds = (int32_t)atol(value);
    if (!strcmp(name, "default_time_to_live")) t->default_ttl = (int32_t)atol(value);
    for (size_t i = 0; i < t->noptions; i++)
        if (!strcmp(t->options[i].name, name)) {
            sl_free(t->options[i].value);
            t->options[i].value = sl_strdup(value);
            return 0;
        }
    t->options = sl_realloc(t->options, (t->noptions + 1) * sizeof(*t->options));
    size_t i = t->noptions++;
    while (i > 0 && strcmp(t->options[i - 1].name, name) > 0) {
        t->options[i] = t->options[i - 1];
        i--;
    }
    t->options[i].name = sl_strdup(name);
    t->options[i].value = sl_strdup(value);
    return 0;
}

const char *sl_cql_table_option(const sl_cql_table *t, const char *name)
{
    for (size_t i = 0; i < t->noptions; i++)
        if (!strcmp(t->options[i].name, name)) return t->options[i].value;
    int oi = option_index(name);
    return oi < 0 ? NULL : table_options[oi].def;
}

static int kind_rank(sl_cql_col_kind k)
{
    switch (k) {
    case SL_CQL_COL_PARTITION_KEY: return 0;
    case SL_CQL_COL_CLUSTERING: return 1;
    case SL_CQL_COL_STATIC: return 2;
    case SL_CQL_COL_REGULAR: return 3;
    }
    return 4;
}

static int col_cmp(const void *x, const void *y)
{
    const sl_cql_column *a = x, *b = y;
    int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
    if (ra != rb) return ra - rb;
    if (ra <= 1) return a->position - b->position;
    return strcmp(a->name, b->name);
}

/* Orders the columns as SELECT * shows them and rebuilds the key arrays and indexes. */
static void table_finalize(sl_cql_table *t)
{
    if (t->ncolumns) qsort(t->columns, t->ncolumns, sizeof(*t->columns), col_cmp);
    sl_free(t->pk);
    sl_free(t->ck);
    t->npk = t->nck = 0;
    t->pk = sl_calloc(t->ncolumns + 1, sizeof(*t->pk));
    t->ck = sl_calloc(t->ncolumns + 1, sizeof(*t->ck));
    t->is_counter = false;
    for (size_t i = 0; i < t->ncolumns; i++) {
        sl_cql_column *c = &t->columns[i];
        c->index = (uint16_t)i;
        if (c->kind == SL_CQL_COL_PARTITION_KEY) t->pk[t->npk++] = c;
        if (c->kind == SL_CQL_COL_CLUSTERING) t->ck[t->nck++] = c;
        if (c->type->kind == SL_CQL_COUNTER) t->is_counter = true;
    }
}

static sl_cql_table *table_copy(const sl_cql_table *t)
{
    sl_cql_table *c = sl_cql_table_new(t->keyspace, t->name);
    memcpy(c->id, t->id, 16);
    c->storage_id = t->storage_id;
    c->is_system = t->is_system;
    c->gc_grace_seconds = t->gc_grace_seconds;
    c->default_ttl = t->default_ttl;
    c->next_column_id = t->next_column_id;
    c->columns = sl_calloc(t->ncolumns + 1, sizeof(*c->columns));
    for (size_t i = 0; i < t->ncolumns; i++) {
        c->columns[i] = t->columns[i];
        c->columns[i].name = sl_strdup(t->columns[i].name);
        c->columns[i].type = sl_cql_dtype_keep(t->columns[i].type);
    }
    c->ncolumns = t->ncolumns;
    c->options = sl_calloc(t->noptions + 1, sizeof(*c->options));
    for (size_t i = 0; i < t->noptions; i++) {
        c->options[i].name = sl_strdup(t->options[i].name);
        c->options[i].value = sl_strdup(t->options[i].value);
    }
    c->noptions = t->noptions;
    table_finalize(c);
    return c;
}

/* ---- keyspaces ---- */

static void keyspace_free(sl_cql_keyspace *k)
{
    for (size_t i = 0; i < k->ntables; i++)
        sl_cql_table_release(k->tables[i]);
    sl_free(k->tables);
    free_options(k->replication, k->nreplication);
    sl_free(k->name);
    sl_free(k);
}

static size_t ks_pos(const sl_catalog *c, const char *name, bool *found)
{
    size_t lo = 0, hi = c->nks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(c->ks[mid]->name, name);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const sl_cql_keyspace *sl_catalog_keyspace(const sl_catalog *c, const char *name)
{
    bool found;
    size_t i = ks_pos(c, name, &found);
    return found ? c->ks[i] : NULL;
}

static size_t table_pos(const sl_cql_keyspace *k, const char *name, bool *found)
{
    size_t lo = 0, hi = k->ntables;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(k->tables[mid]->name, name);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

sl_cql_table *sl_catalog_table(const sl_catalog *c, const char *keyspace, const char *name)
{
    const sl_cql_keyspace *k = sl_catalog_keyspace(c, keyspace);
    if (!k) return NULL;
    bool found;
    size_t i = table_pos(k, name, &found);
    return found ? k->tables[i] : NULL;
}

const sl_cql_keyspace *const *sl_catalog_keyspaces(const sl_catalog *c, size_t *n)
{
    *n = c->nks;
    return (const sl_cql_keyspace *const *)c->ks;
}

void sl_catalog_schema_version(const sl_catalog *c, uint8_t out[16])
{
    memcpy(out, c->version, 16);
}

static sl_cql_keyspace *ks_insert(sl_catalog *c, const char *name)
{
    bool found;
    size_t i = ks_pos(c, name, &found);
    if (found) return c->ks[i];
    sl_cql_keyspace *k = sl_calloc(1, sizeof(*k));
    k->name = sl_strdup(name);
    k->durable_writes = true;
    c->ks = sl_realloc(c->ks, (c->nks + 1) * sizeof(*c->ks));
    memmove(&c->ks[i + 1], &c->ks[i], (c->nks - i) * sizeof(*c->ks));
    c->ks[i] = k;
    c->nks++;
    return k;
}

/* Puts t into its keyspace, replacing (and releasing) an older version. Takes t's reference. */
static void table_publish(sl_cql_keyspace *k, sl_cql_table *t)
{
    bool found;
    size_t i = table_pos(k, t->name, &found);
    if (found) {
        sl_cql_table_release(k->tables[i]);
        k->tables[i] = t;
        return;
    }
    k->tables = sl_realloc(k->tables, (k->ntables + 1) * sizeof(*k->tables));
    memmove(&k->tables[i + 1], &k->tables[i], (k->ntables - i) * sizeof(*k->tables));
    k->tables[i] = t;
    k->ntables++;
}

static void set_replication(sl_cql_keyspace *k, const sl_cql_option *r, size_t n)
{
    free_options(k->replication, k->nreplication);
    k->replication = sl_calloc(n + 1, sizeof(*k->replication));
    k->nreplication = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = r[i].value;
        /* Cassandra stores the strategy's full class name. */
        if (!strcmp(r[i].name, "class") && !strchr(v, '.')) {
            sl_buf b = SL_BUF_INIT;
            sl_buf_printf(&b, "org.apache.cassandra.locator.%s", v);
            k->replication[k->nreplication].value = (char *)sl_buf_cstr(&b);
        } else {
            k->replication[k->nreplication].value = sl_strdup(v);
        }
        k->replication[k->nreplication++].name = sl_strdup(r[i].name);
    }
    /* sorted by name, like a Java map */
    for (size_t i = 1; i < k->nreplication; i++)
        for (size_t j = i; j > 0 && strcmp(k->replication[j - 1].name, k->replication[j].name) > 0;
             j--) {
            sl_cql_option tmp = k->replication[j];
            k->replication[j] = k->replication[j - 1];
            k->replication[j - 1] = tmp;
        }
}

/* ---- the built-in system keyspaces ---- */

static void name_uuid(const char *a, const char *b, uint8_t out[16])
{
    unsigned int n = 16;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    EVP_DigestUpdate(ctx, a, strlen(a));
    EVP_DigestUpdate(ctx, b, strlen(b));
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    out[6] = (out[6] & 0x0f) | 0x30; /* name-based (v3), as UUID.nameUUIDFromBytes */
    out[8] = (out[8] & 0x3f) | 0x80;
}

/* name:type pairs; a leading "pk " or "ck " marks key columns in order. */
typedef struct sysdef {
    const char *ks, *name;
    const char *cols;
} sysdef;

#define TABLE_OPTION_COLUMNS                                                                       \
    "additional_write_policy text,bloom_filter_fp_chance double,"                                  \
    "caching frozen<map<text, text>>,cdc boolean,comment text,"                                    \
    "compaction frozen<map<text, text>>,compression frozen<map<text, text>>,"                      \
    "crc_check_chance double,default_time_to_live int,extensions frozen<map<text, blob>>,"         \
    "gc_grace_seconds int,id uuid,max_index_interval int,memtable_flush_period_in_ms int,"         \
    "min_index_interval int,read_repair text,speculative_retry text"

static const sysdef system_tables[] = {
    {"system", "local",
     "pk key text,bootstrapped text,broadcast_address inet,broadcast_port int,"
     "cluster_name text,cql_version text,data_center text,gossip_generation int,host_id uuid,"
     "listen_address inet,listen_port int,native_protocol_version text,partitioner text,"
     "rack text,release_version text,rpc_address inet,rpc_port int,schema_version uuid,"
     "tokens set<text>,truncated_at map<uuid, blob>"},
    {"system", "peers",
     "pk peer inet,data_center text,host_id uuid,preferred_ip inet,rack text,"
     "release_version text,rpc_address inet,schema_version uuid,tokens set<text>"},
    {"system", "peers_v2",
     "pk peer inet,ck peer_port int,data_center text,host_id uuid,native_address inet,"
     "native_port int,preferred_ip inet,preferred_port int,rack text,release_version text,"
     "schema_version uuid,tokens set<text>"},
    {"system_schema", "keyspaces",
     "pk keyspace_name text,durable_writes boolean,replication frozen<map<text, text>>"},
    {"system_schema", "tables",
     "pk keyspace_name text,ck table_name text," TABLE_OPTION_COLUMNS ",flags frozen<set<text>>"},
    {"system_schema", "columns",
     "pk keyspace_name text,ck table_name text,ck column_name text,clustering_order text,"
     "column_name_bytes blob,kind text,position int,type text"},
    {"system_schema", "dropped_columns",
     "pk keyspace_name text,ck table_name text,ck column_name text,dropped_time timestamp,"
     "kind text,type text"},
    {"system_schema", "types",
     "pk keyspace_name text,ck type_name text,field_names frozen<list<text>>,"
     "field_types frozen<list<text>>"},
    {"system_schema", "functions",
     "pk keyspace_name text,ck function_name text,ck argument_types frozen<list<text>>,"
     "argument_names frozen<list<text>>,body text,called_on_null_input boolean,language text,"
     "return_type text"},
    {"system_schema", "aggregates",
     "pk keyspace_name text,ck aggregate_name text,ck argument_types frozen<list<text>>,"
     "final_func text,initcond text,return_type text,state_func text,state_type text"},
    {"system_schema", "triggers",
     "pk keyspace_name text,ck table_name text,ck trigger_name text,"
     "options frozen<map<text, text>>"},
    {"system_schema", "indexes",
     "pk keyspace_name text,ck table_name text,ck index_name text,kind text,"
     "options frozen<map<text, text>>"},
    {"system_schema", "views",
     "pk keyspace_name text,ck view_name text,base_table_id uuid,base_table_name text,"
     "include_all_columns boolean,where_clause text," TABLE_OPTION_COLUMNS},
};

static const struct {
    const char *name, *cls, *rf;
} system_keyspaces[] = {
    {"system", "org.apache.cassandra.locator.LocalStrategy", NULL},
    {"system_auth", "org.apache.cassandra.locator.SimpleStrategy", "1"},
    {"system_distributed", "org.apache.cassandra.locator.SimpleStrategy", "3"},
    {"system_schema", "org.apache.cassandra.locator.LocalStrategy", NULL},
    {"system_traces", "org.apache.cassandra.locator.SimpleStrategy", "2"},
};

static bool is_system_keyspace(const char *name)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(system_keyspaces); i++)
        if (!strcmp(system_keyspaces[i].name, name)) return true;
    return false;
}

static void add_system(sl_catalog *c)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(system_keyspaces); i++) {
        sl_cql_keyspace *k = ks_insert(c, system_keyspaces[i].name);
        k->is_system = true;
        sl_cql_option r[2] = {{"class", (char *)system_keyspaces[i].cls},
                              {"replication_factor", (char *)system_keyspaces[i].rf}};
        set_replication(k, r, system_keyspaces[i].rf ? 2 : 1);
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(system_tables); i++) {
        const sysdef *d = &system_tables[i];
        sl_cql_table *t = sl_cql_table_new(d->ks, d->name);
        t->is_system = true;
        name_uuid(d->ks, d->name, t->id);
        const char *p = d->cols;
        while (*p) {
            const char *e = p;
            int depth = 0;
            while (*e && (*e != ',' || depth)) {
                if (*e == '<') depth++;
                if (*e == '>') depth--;
                e++;
            }
            char *def = sl_strndup(p, (size_t)(e - p));
            sl_cql_col_kind kind = SL_CQL_COL_REGULAR;
            char *q = def;
            if (!strncmp(q, "pk ", 3)) {
                kind = SL_CQL_COL_PARTITION_KEY;
                q += 3;
            } else if (!strncmp(q, "ck ", 3)) {
                kind = SL_CQL_COL_CLUSTERING;
                q += 3;
            }
            char *sp = strchr(q, ' ');
            *sp = 0;
            sl_cql_dtype *type;
            sl_buf err = SL_BUF_INIT;
            if (sl_cql_dtype_parse(SL_SLICE_STR(sp + 1), &type, &err)) abort();
            sl_cql_table_add_column(t, q, type, kind, false, &err);
            sl_cql_dtype_release(type);
            sl_buf_free(&err);
            sl_free(def);
            p = *e ? e + 1 : e;
        }
        table_finalize(t);
        table_publish(ks_insert(c, d->ks), t);
    }
}

/* ---- persistence ---- */

static void ks_key(sl_buf *b, const char *ks)
{
    b->len = 0;
    sl_buf_printf(b, "k/%s", ks);
}

static void table_key(sl_buf *b, const char *ks, const char *t)
{
    b->len = 0;
    sl_buf_printf(b, "t/%s/%s", ks, t);
}

static const char *kind_name(sl_cql_col_kind k)
{
    switch (k) {
    case SL_CQL_COL_PARTITION_KEY: return "partition_key";
    case SL_CQL_COL_CLUSTERING: return "clustering";
    case SL_CQL_COL_STATIC: return "static";
    case SL_CQL_COL_REGULAR: return "regular";
    }
    return "regular";
}

static int kind_parse(const char *s, sl_cql_col_kind *k)
{
    static const sl_cql_col_kind all[] = {SL_CQL_COL_PARTITION_KEY, SL_CQL_COL_CLUSTERING,
                                          SL_CQL_COL_STATIC, SL_CQL_COL_REGULAR};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(kind_name(all[i]), s)) {
            *k = all[i];
            return 0;
        }
    return -1;
}

static void put_json(sl_store_batch *b, const sl_buf *key, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    sl_store_batch_meta_put(b, sl_buf_slice(key), SL_SLICE_STR(s));
    free(s);
    json_decref(j);
}

static void persist_keyspace(sl_store_batch *b, const sl_cql_keyspace *k)
{
    json_t *r = json_object();
    for (size_t i = 0; i < k->nreplication; i++)
        json_object_set_new(r, k->replication[i].name, json_string(k->replication[i].value));
    json_t *j = json_pack("{s:o, s:b}", "replication", r, "durable_writes", k->durable_writes);
    sl_buf key = SL_BUF_INIT;
    ks_key(&key, k->name);
    put_json(b, &key, j);
    sl_buf_free(&key);
}

static void persist_table(sl_store_batch *b, const sl_cql_table *t)
{
    char id[37];
    sl_cql_uuid_format(t->id, id);
    json_t *cols = json_array();
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *c = &t->columns[i];
        sl_buf type = SL_BUF_INIT;
        sl_cql_dtype_to_cql(c->type, &type);
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:i, s:b, s:i}", "n", c->name, "t",
                                              sl_buf_cstr(&type), "k", kind_name(c->kind), "p",
                                              c->position, "d", c->desc, "i", (int)c->id));
        sl_buf_free(&type);
    }
    json_t *opts = json_object();
    for (size_t i = 0; i < t->noptions; i++)
        json_object_set_new(opts, t->options[i].name, json_string(t->options[i].value));
    json_t *j = json_pack("{s:s, s:I, s:i, s:o, s:o}", "id", id, "sid", (json_int_t)t->storage_id,
                          "next_col", (int)t->next_column_id, "cols", cols, "opts", opts);
    sl_buf key = SL_BUF_INIT;
    table_key(&key, t->keyspace, t->name);
    put_json(b, &key, j);
    sl_buf_free(&key);
}

/* Every DDL ends here: a new schema version, written with the change in one batch. */
static int commit(sl_catalog *c, sl_store_batch *b, sl_buf *err)
{
    sl_cql_uuid_v4(c->version);
    sl_store_batch_meta_put(b, SL_SLICE_STR("v"), (sl_slice){c->version, 16});
    uint8_t n[4];
    sl_put_be32(n, c->next_sid);
    sl_store_batch_meta_put(b, SL_SLICE_STR("n"), (sl_slice){n, 4});
    int rc = sl_store_write(c->s, b, err);
    sl_store_batch_free(b);
    return rc;
}

typedef struct load_ctx {
    sl_catalog *c;
    int rc;
    sl_buf *err;
} load_ctx;

static int load_keyspace(void *arg, sl_slice key, sl_slice val)
{
    load_ctx *lc = arg;
    char *name = sl_strndup((const char *)key.ptr + 2, key.len - 2);
    json_error_t je;
    json_t *j = json_loadb((const char *)val.ptr, val.len, 0, &je);
    json_t *r = j ? json_object_get(j, "replication") : NULL;
    if (!r || !json_is_object(r)) {
        sl_buf_printf(lc->err, "catalog entry for keyspace %s is corrupt", name);
        json_decref(j);
        sl_free(name);
        lc->rc = SL_ERR_CORRUPT;
        return 1;
    }
    sl_cql_keyspace *k = ks_insert(lc->c, name);
    size_t n = json_object_size(r), i = 0;
    sl_cql_option *opts = sl_calloc(n + 1, sizeof(*opts));
    const char *kk;
    json_t *v;
    json_object_foreach(r, kk, v)
    {
        opts[i].name = (char *)kk;
        opts[i++].value = (char *)(json_string_value(v) ? json_string_value(v) : "");
    }
    set_replication(k, opts, i);
    sl_free(opts);
    k->durable_writes = json_is_true(json_object_get(j, "durable_writes"));
    json_decref(j);
    sl_free(name);
    return 0;
}

static int load_table(void *arg, sl_slice key, sl_slice val)
{
    load_ctx *lc = arg;
    char *path = sl_strndup((const char *)key.ptr + 2, key.len - 2);
    char *slash = strchr(path, '/');
    json_error_t je;
    json_t *j = json_loadb((const char *)val.ptr, val.len, 0, &je);
    sl_cql_table *t = NULL;
    const sl_cql_keyspace *k = slash ? (*slash = 0, sl_catalog_keyspace(lc->c, path)) : NULL;
    json_t *cols = j ? json_object_get(j, "cols") : NULL;
    const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
    if (!k || !json_is_array(cols) || !id) goto corrupt;
    t = sl_cql_table_new(path, slash + 1);
    if (sl_cql_uuid_parse(SL_SLICE_STR(id), t->id)) goto corrupt;
    t->storage_id = (uint32_t)json_integer_value(json_object_get(j, "sid"));
    size_t i;
    json_t *cj;
    json_array_foreach(cols, i, cj)
    {
        const char *n = json_string_value(json_object_get(cj, "n"));
        const char *ty = json_string_value(json_object_get(cj, "t"));
        const char *kd = json_string_value(json_object_get(cj, "k"));
        sl_cql_col_kind kind;
        sl_cql_dtype *type;
        sl_buf e = SL_BUF_INIT;
        if (!n || !ty || !kd || kind_parse(kd, &kind) ||
            sl_cql_dtype_parse(SL_SLICE_STR(ty), &type, &e)) {
            sl_buf_free(&e);
            goto corrupt;
        }
        sl_cql_table_add_column(t, n, type, kind, json_is_true(json_object_get(cj, "d")), &e);
        sl_cql_dtype_release(type);
        sl_buf_free(&e);
        sl_cql_column *c = &t->columns[t->ncolumns - 1];
        c->id = (uint16_t)json_integer_value(json_object_get(cj, "i"));
        c->position = (int)json_integer_value(json_object_get(cj, "p"));
    }
    t->next_column_id = (uint16_t)json_integer_value(json_object_get(j, "next_col"));
    const char *on;
    json_t *ov;
    json_object_foreach(json_object_get(j, "opts"), on, ov)
    {
        sl_buf e = SL_BUF_INIT;
        if (json_string_value(ov)) sl_cql_table_set_option(t, on, json_string_value(ov), &e);
        sl_buf_free(&e);
    }
    table_finalize(t);
    table_publish((sl_cql_keyspace *)k, t);
    sl__store_register(lc->c->s, t);
    json_decref(j);
    sl_free(path);
    return 0;
corrupt:
    sl_buf_printf(lc->err, "catalog entry %.*s is corrupt", (int)key.len, key.ptr);
    sl_cql_table_release(t);
    json_decref(j);
    sl_free(path);
    lc->rc = SL_ERR_CORRUPT;
    return 1;
}

int sl_catalog_open(sl_store *s, sl_catalog **out, sl_buf *err)
{
    sl_catalog *c = sl_calloc(1, sizeof(*c));
    c->s = s;
    c->next_sid = 1;
    *out = NULL;
    add_system(c);
    sl_buf v = SL_BUF_INIT;
    int rc = sl_store_meta_get(s, SL_SLICE_STR("v"), &v);
    if (rc == 0 && v.len == 16) {
        memcpy(c->version, v.ptr, 16);
    } else if (rc == SL_ERR_NOTFOUND) {
        sl_cql_uuid_v4(c->version); /* a fresh store: persisted with the first DDL */
        rc = 0;
    }
    v.len = 0;
    if (!rc && sl_store_meta_get(s, SL_SLICE_STR("n"), &v) == 0 && v.len == 4)
        c->next_sid = sl_get_be32(v.ptr);
    sl_buf_free(&v);
    load_ctx lc = {c, 0, err};
    if (!rc) rc = sl_store_meta_scan(s, SL_SLICE_STR("k/"), load_keyspace, &lc);
    if (!rc) rc = sl_store_meta_scan(s, SL_SLICE_STR("t/"), load_table, &lc);
    if (!rc) rc = lc.rc;
    if (rc) {
        if (!err->len) sl_buf_printf(err, "cannot load the schema: %s", sl_strerror(rc));
        sl_catalog_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sl_catalog_close(sl_catalog *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nks; i++) {
        sl_cql_keyspace *k = c->ks[i];
        for (size_t j = 0; j < k->ntables; j++)
            if (!k->tables[j]->is_system) sl__store_unregister(c->s, k->tables[j]->storage_id);
        keyspace_free(k);
    }
    sl_free(c->ks);
    sl_free(c);
}

/* ---- DDL ---- */

static int check_user_keyspace(const char *name, sl_buf *err)
{
    if (is_system_keyspace(name)) {
        sl_buf_printf(err, "%s keyspace is not user-modifiable.", name);
        return SL_ERR_INVAL;
    }
    return 0;
}

static int check_replication(const sl_cql_option *r, size_t n, sl_buf *err)
{
    const char *cls = NULL;
    bool rf = false;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(r[i].name, "class")) cls = r[i].value;
        if (!strcmp(r[i].name, "replication_factor")) {
            char *e;
            long x = strtol(r[i].value, &e, 10);
            if (!*r[i].value || *e || x < 0) {
                sl_buf_printf(err, "Replication factor must be non-negative; found %s", r[i].value);
                return SL_ERR_CONFIG;
            }
            rf = true;
        }
    }
    if (!cls) {
        sl_buf_printf(err, "Missing replication strategy class");
        return SL_ERR_CONFIG;
    }
    const char *base = strrchr(cls, '.') ? strrchr(cls, '.') + 1 : cls;
    if (!strcmp(base, "SimpleStrategy")) {
        if (!rf) {
            sl_buf_printf(err, "SimpleStrategy requires a replication_factor strategy option.");
            return SL_ERR_CONFIG;
        }
    } else if (strcmp(base, "NetworkTopologyStrategy") != 0) {
        sl_buf_printf(err, "Unable to find replication strategy class '%s'", cls);
        return SL_ERR_CONFIG;
    }
    return 0;
}

int sl_catalog_create_keyspace(sl_catalog *c, const char *name, const sl_cql_option *replication,
                               size_t nreplication, bool durable_writes, bool if_not_exists,
                               sl_buf *err)
{
    if (!valid_name(name)) {
        sl_buf_printf(err,
                      "Keyspace name must not be empty, more than %d characters long, or contain "
                      "non-alphanumeric-underscore characters (got \"%s\")",
                      NAME_MAX_LEN, name);
        return SL_ERR_INVAL;
    }
    if (sl_catalog_keyspace(c, name)) {
        if (if_not_exists) return 1;
        sl_buf_printf(err, "Cannot add already existing keyspace \"%s\"", name);
        return SL_ERR_EXISTS;
    }
    int rc = check_replication(replication, nreplication, err);
    if (rc) return rc;
    sl_cql_keyspace *k = ks_insert(c, name);
    set_replication(k, replication, nreplication);
    k->durable_writes = durable_writes;
    sl_store_batch *b = sl_store_batch_new(c->s);
    persist_keyspace(b, k);
    return commit(c, b, err);
}

int sl_catalog_alter_keyspace(sl_catalog *c, const char *name, const sl_cql_option *replication,
                              size_t nreplication, bool durable_writes, sl_buf *err)
{
    sl_cql_keyspace *k = (sl_cql_keyspace *)sl_catalog_keyspace(c, name);
    if (!k) {
        sl_buf_printf(err, "Keyspace '%s' doesn't exist", name);
        return SL_ERR_NOTFOUND;
    }
    int rc = check_user_keyspace(name, err);
    if (rc) return rc;
    if (nreplication && (rc = check_replication(replication, nreplication, err))) return rc;
    if (nreplication) set_replication(k, replication, nreplication);
    k->durable_writes = durable_writes;
    sl_store_batch *b = sl_store_batch_new(c->s);
    persist_keyspace(b, k);
    return commit(c, b, err);
}

static void drop_table_in(sl_catalog *c, sl_store_batch *b, sl_cql_table *t)
{
    sl_buf key = SL_BUF_INIT;
    table_key(&key, t->keyspace, t->name);
    sl_store_batch_meta_delete(b, sl_buf_slice(&key));
    sl_store_batch_drop_data(b, t->storage_id);
    sl__store_unregister(c->s, t->storage_id);
    sl_buf_free(&key);
}

int sl_catalog_drop_keyspace(sl_catalog *c, const char *name, bool if_exists, sl_buf *err)
{
    bool found;
    size_t i = ks_pos(c, name, &found);
    if (!found) {
        if (if_exists) return 1;
        sl_buf_printf(err, "Keyspace '%s' doesn't exist", name);
        return SL_ERR_NOTFOUND;
    }
    int rc = check_user_keyspace(name, err);
    if (rc) return rc;
    sl_cql_keyspace *k = c->ks[i];
    sl_store_batch *b = sl_store_batch_new(c->s);
    for (size_t j = 0; j < k->ntables; j++)
        drop_table_in(c, b, k->tables[j]);
    sl_buf key = SL_BUF_INIT;
    ks_key(&key, name);
    sl_store_batch_meta_delete(b, sl_buf_slice(&key));
    sl_buf_free(&key);
    memmove(&c->ks[i], &c->ks[i + 1], (c->nks - i - 1) * sizeof(*c->ks));
    c->nks--;
    keyspace_free(k);
    return commit(c, b, err);
}

static int check_column(const sl_cql_table *t, const sl_cql_column *col, sl_buf *err)
{
    bool key = col->kind == SL_CQL_COL_PARTITION_KEY || col->kind == SL_CQL_COL_CLUSTERING;
    if (!valid_name(col->name) && strlen(col->name) > 65535) {
        sl_buf_printf(err, "Column name too long");
        return SL_ERR_INVAL;
    }
    if (key && sl_cql_dtype_is_multicell(col->type)) {
        sl_buf_printf(err, "Invalid non-frozen collection type ");
        sl_cql_dtype_to_cql(col->type, err);
        sl_buf_printf(err, " for PRIMARY KEY component %s", col->name);
        return SL_ERR_INVAL;
    }
    if (key && col->type->kind == SL_CQL_COUNTER) {
        sl_buf_printf(err, "counter type is not supported for PRIMARY KEY column '%s'", col->name);
        return SL_ERR_INVAL;
    }
    if (col->kind == SL_CQL_COL_STATIC && t->nck == 0) {
        sl_buf_printf(err, "Static columns are only useful (and thus allowed) if the table has "
                           "at least one clustering column");
        return SL_ERR_INVAL;
    }
    return 0;
}

static int check_counters(const sl_cql_table *t, sl_buf *err)
{
    size_t counters = 0, regular = 0;
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *col = &t->columns[i];
        if (col->kind != SL_CQL_COL_REGULAR && col->kind != SL_CQL_COL_STATIC) continue;
        if (col->type->kind == SL_CQL_COUNTER)
            counters++;
        else
            regular++;
    }
    if (counters && regular) {
        sl_buf_printf(err, "Cannot mix counter and non counter columns in the same table");
        return SL_ERR_INVAL;
    }
    return 0;
}

int sl_catalog_create_table(sl_catalog *c, sl_cql_table *def, bool if_not_exists, sl_buf *err)
{
    int rc = 0;
    sl_cql_keyspace *k = (sl_cql_keyspace *)sl_catalog_keyspace(c, def->keyspace);
    if (!k) {
        sl_buf_printf(err, "Keyspace '%s' doesn't exist", def->keyspace);
        rc = SL_ERR_NOTFOUND;
        goto out;
    }
    if ((rc = check_user_keyspace(def->keyspace, err))) goto out;
    if (!valid_name(def->name)) {
        sl_buf_printf(err,
                      "Table name must not be empty, more than %d characters long, or contain "
                      "non-alphanumeric-underscore characters (got \"%s\")",
                      NAME_MAX_LEN, def->name);
        rc = SL_ERR_INVAL;
        goto out;
    }
    if (sl_catalog_table(c, def->keyspace, def->name)) {
        if (if_not_exists) {
            rc = 1;
            goto out;
        }
        sl_buf_printf(err, "Cannot add already existing table \"%s\" to keyspace \"%s\"", def->name,
                      def->keyspace);
        rc = SL_ERR_EXISTS;
        goto out;
    }
    table_finalize(def);
    if (def->npk == 0) {
        sl_buf_printf(err, "No PRIMARY KEY specifed for table '%s' (exactly one required)",
                      def->name);
        rc = SL_ERR_INVAL;
        goto out;
    }
    for (size_t i = 0; i < def->ncolumns; i++)
        if ((rc = check_column(def, &def->columns[i], err))) goto out;
    if ((rc = check_counters(def, err))) goto out;
    if (c->next_sid == UINT32_MAX) {
        sl_buf_printf(err, "Out of table ids");
        rc = SL_ERR_LIMIT;
        goto out;
    }
    sl_cql_timeuuid_now(def->id);
    def->storage_id = c->next_sid++;
    def->is_system = false;
    table_publish(k, def);
    sl__store_register(c->s, def);
    sl_store_batch *b = sl_store_batch_new(c->s);
    persist_table(b, def);
    return commit(c, b, err);
out:
    sl_cql_table_release(def);
    return rc;
}

int sl_catalog_drop_table(sl_catalog *c, const char *keyspace, const char *name, bool if_exists,
                          sl_buf *err)
{
    sl_cql_keyspace *k = (sl_cql_keyspace *)sl_catalog_keyspace(c, keyspace);
    bool found = false;
    size_t i = k ? table_pos(k, name, &found) : 0;
    if (!found) {
        if (if_exists) return 1;
        if (!k)
            sl_buf_printf(err, "Keyspace '%s' doesn't exist", keyspace);
        else
            sl_buf_printf(err, "Table '%s.%s' doesn't exist", keyspace, name);
        return SL_ERR_NOTFOUND;
    }
    int rc = check_user_keyspace(keyspace, err);
    if (rc) return rc;
    sl_cql_table *t = k->tables[i];
    sl_store_batch *b = sl_store_batch_new(c->s);
    drop_table_in(c, b, t);
    memmove(&k->tables[i], &k->tables[i + 1], (k->ntables - i - 1) * sizeof(*k->tables));
    k->ntables--;
    sl_cql_table_release(t);
    return commit(c, b, err);
}

/* Finds a user table for ALTER; *out is the current version (borrowed). */
static int alter_target(sl_catalog *c, const char *keyspace, const char *table, sl_cql_table **out,
                        sl_buf *err)
{
    if (!sl_catalog_keyspace(c, keyspace)) {
        sl_buf_printf(err, "Keyspace '%s' doesn't exist", keyspace);
        return SL_ERR_NOTFOUND;
    }
    int rc = check_user_keyspace(keyspace, err);
    if (rc) return rc;
    *out = sl_catalog_table(c, keyspace, table);
    if (!*out) {
        sl_buf_printf(err, "Table '%s.%s' doesn't exist", keyspace, table);
        return SL_ERR_NOTFOUND;
    }
    return 0;
}

static int publish_altered(sl_catalog *c, sl_cql_table *t, sl_buf *err)
{
    table_publish((sl_cql_keyspace *)sl_catalog_keyspace(c, t->keyspace), t);
    sl__store_register(c->s, t);
    sl_store_batch *b = sl_store_batch_new(c->s);
    persist_table(b, t);
    return commit(c, b, err);
}

int sl_catalog_alter_add(sl_catalog *c, const char *keyspace, const char *table, const char *name,
                         const sl_cql_dtype *type, bool is_static, sl_buf *err)
{
    sl_cql_table *cur;
    int rc = alter_target(c, keyspace, table, &cur, err);
    if (rc) return rc;
    if (sl_cql_table_column(cur, name)) {
        sl_buf_printf(err, "Column with name '%s' already exists", name);
        return SL_ERR_INVAL;
    }
    if (cur->next_column_id == UINT16_MAX) {
        sl_buf_printf(err, "Too many columns added to table %s.%s", keyspace, table);
        return SL_ERR_LIMIT;
    }
    sl_cql_table *t = table_copy(cur);
    sl_buf e2 = SL_BUF_INIT;
    sl_cql_table_add_column(t, name, type, is_static ? SL_CQL_COL_STATIC : SL_CQL_COL_REGULAR,
                            false, &e2);
    sl_buf_free(&e2);
    table_finalize(t);
    const sl_cql_column *col = sl_cql_table_column(t, name);
    if ((rc = check_column(t, col, err)) || (rc = check_counters(t, err))) {
        sl_cql_table_release(t);
        return rc;
    }
    return publish_altered(c, t, err);
}

int sl_catalog_alter_drop(sl_catalog *c, const char *keyspace, const char *table, const char *name,
                          sl_buf *err)
{
    sl_cql_table *cur;
    int rc = alter_target(c, keyspace, table, &cur, err);
    if (rc) return rc;
    const sl_cql_column *col = sl_cql_table_column(cur, name);
    if (!col) {
        sl_buf_printf(err, "Column %s was not found in table %s", name, table);
        return SL_ERR_INVAL;
    }
    if (col->kind == SL_CQL_COL_PARTITION_KEY || col->kind == SL_CQL_COL_CLUSTERING) {
        sl_buf_printf(err, "Cannot drop PRIMARY KEY column %s", name);
        return SL_ERR_INVAL;
    }
    sl_cql_table *t = table_copy(cur);
    size_t i = col->index;
    sl_free(t->columns[i].name);
    sl_cql_dtype_release(t->columns[i].type);
    memmove(&t->columns[i], &t->columns[i + 1], (t->ncolumns - i - 1) * sizeof(*t->columns));
    t->ncolumns--;
    table_finalize(t);
    return publish_altered(c, t, err);
}

int sl_catalog_alter_options(sl_catalog *c, const char *keyspace, const char *table,
                             const sl_cql_option *opts, size_t nopts, sl_buf *err)
{
    sl_cql_table *cur;
    int rc = alter_target(c, keyspace, table, &cur, err);
    if (rc) return rc;
    sl_cql_table *t = table_copy(cur);
    for (size_t i = 0; i < nopts; i++)
        if ((rc = sl_cql_table_set_option(t, opts[i].name, opts[i].value, err))) {
            sl_cql_table_release(t);
            return rc;
        }
    return publish_altered(c, t, err);
}
