/* exec_system.c: the rows of the virtual system tables drivers and cqlsh read: system.local,
 * system.peers and system.peers_v2 (empty: one node), and system_schema.* generated from the
 * catalog, user and system tables alike. The catalog defines their columns (Cassandra 4.0's);
 * this file only fills them. */
#include "cql/exec_int.h"

#include "core/codec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct vbuild {
    exec_ctx *x;
    const sl_cql_table *t;
    sl_store_row *rows;
    size_t n, cap;
    sl_store_row *cur;
} vbuild;

static void vb_row(vbuild *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        sl_store_row *r = sl_arena_alloc(b->x->tmp, cap * sizeof *r);
        if (b->n) memcpy(r, b->rows, b->n * sizeof *r);
        b->rows = r;
        b->cap = cap;
    }
    sl_store_row *r = &b->rows[b->n++];
    memset(r, 0, sizeof *r);
    r->table = b->t;
    size_t nc = b->t->ncolumns ? b->t->ncolumns : 1;
    r->cells = sl_arena_alloc(b->x->tmp, nc * sizeof *r->cells);
    for (size_t i = 0; i < nc; i++)
        r->cells[i] = (sl_store_cell){SL_SLICE_NULL, INT64_MIN, 0};
    b->cur = r;
}

static const sl_cql_column *vb_col(vbuild *b, const char *name)
{
    return sl_cql_table_column(b->t, name);
}

/* Sets a column (absent columns are ignored: the catalog's definition decides). */
static void vb_bytes(vbuild *b, const char *name, const void *p, size_t n)
{
    const sl_cql_column *c = vb_col(b, name);
    if (!c) return;
    uint8_t *d = sl_arena_alloc(b->x->tmp, n ? n : 1);
    if (n) memcpy(d, p, n);
    b->cur->cells[c->index].value = (sl_slice){d, n};
}

static void vb_text(vbuild *b, const char *name, const char *s)
{
    if (s) vb_bytes(b, name, s, strlen(s));
}

static void vb_int(vbuild *b, const char *name, int32_t v)
{
    uint8_t p[4];
    sl_put_be32(p, (uint32_t)v);
    vb_bytes(b, name, p, 4);
}

static void vb_bool(vbuild *b, const char *name, bool v)
{
    uint8_t p = v;
    vb_bytes(b, name, &p, 1);
}

static void vb_inet(vbuild *b, const char *name, const char *addr)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, addr, a) == 1)
        vb_bytes(b, name, a, 4);
    else if (inet_pton(AF_INET6, addr, a) == 1)
        vb_bytes(b, name, a, 16);
    else if (inet_pton(AF_INET, "127.0.0.1", a) == 1)
        vb_bytes(b, name, a, 4);
}

/* A CQL literal parsed as the column's type (table options are stored as literals). */
static void vb_literal(vbuild *b, const char *name, const char *lit)
{
    const sl_cql_column *c = vb_col(b, name);
    if (!c || !lit) return;
    sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
    bool is_null = false;
    if (sl_cql_value_parse_literal(c->type, SL_SLICE_STR(lit), c->name, &out, &is_null, &err) ==
            0 &&
        !is_null)
        vb_bytes(b, name, out.ptr, out.len);
    sl_buf_free(&out);
    sl_buf_free(&err);
}

/* A collection of text elements (set/list) or text pairs (map), encoded as the column's type. */
static void vb_texts(vbuild *b, const char *name, const char *const *items, size_t n)
{
    const sl_cql_column *c = vb_col(b, name);
    if (!c) return;
    sl_slice *el = sl_arena_alloc(b->x->tmp, (n ? n : 1) * sizeof *el);
    for (size_t i = 0; i < n; i++)
        el[i] = SL_SLICE_STR(items[i]);
    sl_buf out = SL_BUF_INIT;
    sl_cql_collection_encode(c->type, el, c->type->kind == SL_CQL_MAP ? n / 2 : n, &out);
    vb_bytes(b, name, out.ptr, out.len);
    sl_buf_free(&out);
}

static void local_rows(vbuild *b)
{
    sl_cql_engine *e = b->x->e;
    const sl_cql_engine_opts *o = &e->opts;
    vb_row(b);
    vb_text(b, "key", "local");
    vb_text(b, "bootstrapped", "COMPLETED");
    vb_inet(b, "broadcast_address", o->rpc_address);
    vb_int(b, "broadcast_port", 7000);
    vb_text(b, "cluster_name", o->cluster_name);
    vb_text(b, "cql_version", o->cql_version);
    vb_text(b, "data_center", o->datacenter);
    vb_int(b, "gossip_generation", e->gossip_generation);
    vb_bytes(b, "host_id", e->host_id, 16);
    vb_inet(b, "listen_address", o->rpc_address);
    vb_int(b, "listen_port", 7000);
    vb_text(b, "native_protocol_version", "4");
    vb_text(b, "partitioner", "org.apache.cassandra.dht.Murmur3Partitioner");
    vb_text(b, "rack", o->rack);
    vb_text(b, "release_version", o->release_version);
    vb_inet(b, "rpc_address", o->rpc_address);
    vb_int(b, "rpc_port", o->rpc_port);
    uint8_t ver[16];
    sl_catalog_schema_version(e->cat, ver);
    vb_bytes(b, "schema_version", ver, 16);
    /* One token: this node owns the whole ring. Derived from the host id so it is stable. */
    char tok[24];
    snprintf(tok, sizeof tok, "%lld", (long long)(int64_t)sl_get_be64(e->host_id));
    const char *toks[1] = {tok};
    vb_texts(b, "tokens", toks, 1);
}

static void keyspace_row(vbuild *b, const sl_cql_keyspace *ks)
{
    vb_row(b);
    vb_text(b, "keyspace_name", ks->name);
    vb_bool(b, "durable_writes", ks->durable_writes);
    const char **kv = sl_arena_alloc(b->x->tmp, (2 * ks->nreplication + 1) * sizeof *kv);
    for (size_t i = 0; i < ks->nreplication; i++) {
        kv[2 * i] = ks->replication[i].name;
        kv[2 * i + 1] = ks->replication[i].value ? ks->replication[i].value : "";
    }
    vb_texts(b, "replication", kv, 2 * ks->nreplication);
}

/* The option columns of system_schema.tables that table options fill. */
static void table_row(vbuild *b, const sl_cql_table *t)
{
    vb_row(b);
    vb_text(b, "keyspace_name", t->keyspace);
    vb_text(b, "table_name", t->name);
    vb_bytes(b, "id", t->id, 16);
    const char *flags[2] = {"compound", "counter"};
    vb_texts(b, "flags", flags, t->is_counter ? 2 : 1);
    for (size_t i = 0; i < b->t->ncolumns; i++) {
        const sl_cql_column *c = &b->t->columns[i];
        if (c->kind != SL_CQL_COL_REGULAR || b->cur->cells[i].value.ptr) continue;
        const char *v = sl_cql_table_option(t, c->name);
        if (v) vb_literal(b, c->name, v);
    }
    /* Options Cassandra 4.0 still reports for drivers' sake. */
    vb_literal(b, "dclocal_read_repair_chance", "0.0");
    vb_literal(b, "read_repair_chance", "0.0");
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const sl_cql_column *const *)a)->name,
                  (*(const sl_cql_column *const *)b)->name);
}

static void column_rows(vbuild *b, const sl_cql_table *t)
{
    const sl_cql_column **cols =
        sl_arena_alloc(b->x->tmp, (t->ncolumns ? t->ncolumns : 1) * sizeof *cols);
    for (size_t i = 0; i < t->ncolumns; i++)
        cols[i] = &t->columns[i];
    qsort(cols, t->ncolumns, sizeof *cols, name_cmp);
    static const char *kinds[] = {"partition_key", "clustering", "regular", "static"};
    sl_buf tb = SL_BUF_INIT;
    for (size_t i = 0; i < t->ncolumns; i++) {
        const sl_cql_column *c = cols[i];
        vb_row(b);
        vb_text(b, "keyspace_name", t->keyspace);
        vb_text(b, "table_name", t->name);
        vb_text(b, "column_name", c->name);
        vb_text(b, "clustering_order",
                c->kind == SL_CQL_COL_CLUSTERING ? (c->desc ? "desc" : "asc") : "none");
        vb_bytes(b, "column_name_bytes", c->name, strlen(c->name));
        vb_text(b, "kind", kinds[c->kind]);
        vb_int(b, "position", c->position);
        sl_buf_reset(&tb);
        sl_cql_dtype_to_cql(c->type, &tb);
        vb_text(b, "type", sl_buf_cstr(&tb));
    }
    sl_buf_free(&tb);
}

int sl__exec_system_rows(exec_ctx *x, const sl_cql_table *t, sl_store_row **rows, size_t *n)
{
    vbuild b = {x, t, NULL, 0, 0, NULL};
    size_t nks;
    const sl_cql_keyspace *const *kss = sl_catalog_keyspaces(x->e->cat, &nks);
    if (strcmp(t->keyspace, "system") == 0) {
        if (strcmp(t->name, "local") == 0) local_rows(&b);
        /* peers and peers_v2: a single node has none. */
    } else if (strcmp(t->keyspace, "system_schema") == 0) {
        bool ks = strcmp(t->name, "keyspaces") == 0, tables = strcmp(t->name, "tables") == 0,
             columns = strcmp(t->name, "columns") == 0;
        for (size_t i = 0; i < nks; i++) {
            if (ks) keyspace_row(&b, kss[i]);
            for (size_t k = 0; k < kss[i]->ntables && (tables || columns); k++) {
                if (tables) table_row(&b, kss[i]->tables[k]);
                if (columns) column_rows(&b, kss[i]->tables[k]);
            }
        }
    }
    *rows = b.rows;
    *n = b.n;
    return 0;
}
