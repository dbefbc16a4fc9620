/* fuzz_cql_exec.c: a statement through the whole engine: parse, analysis against a schema with
 * every key shape and type, execution on a real store. The input is CQL text, optionally
 * followed by a NUL and bound values, each a big-endian u16 length and its bytes (length 0xffff
 * is null, 0xfffe "not set"). It runs as a QUERY and, when it prepares, as an EXECUTE too. Any
 * input must end in a result or a wire error with a message; never a crash, a leak or a hang. The
 * schema may drift as inputs run DDL; setup recreates what is missing. */
#include "fuzz.h"

#include "cql/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_VALUES 64

static uv_loop_t loop;
static sl_cql_engine *eng;
static sl_cql_session *sess;
static char dir[64];

static void on_done(void *arg, sl_cql_result *res)
{
    sl_cql_result **slot = arg;
    if (res->kind == SL_CQL_RESULT_ERROR && (!res->error.message || !res->error.message[0]))
        abort(); /* every error explains itself */
    if (res->kind == SL_CQL_RESULT_ROWS) {
        size_t off = 0;
        sl_cql_value v;
        for (uint64_t i = 0; i < (uint64_t)res->row_count * res->n_columns; i++)
            if (!sl_cql_result_next_cell(res, &off, &v)) abort();
        if (off != res->rows.len) abort();
    }
    *slot = res;
}

static sl_cql_result *run(const sl_cql_query *q)
{
    sl_cql_result *res = NULL;
    sl_cql_execute(eng, sess, q, on_done, &res);
    while (!res)
        uv_run(&loop, UV_RUN_ONCE);
    return res;
}

static void exec_text(const char *cql)
{
    sl_cql_query q;
    memset(&q, 0, sizeof q);
    q.text = SL_SLICE_STR(cql);
    sl_cql_result_free(run(&q));
}

static void teardown(void)
{
    sl_cql_session_free(sess);
    sl_cql_engine_close(eng);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-fuzz-exec-XXXXXX");
    if (!mkdtemp(dir)) abort();
    uv_loop_init(&loop);
    sl_cql_engine_opts o;
    sl_cql_engine_opts_default(&o);
    o.data_dir = dir;
    o.sync_mode = SL_CQL_SYNC_PERIODIC; /* durability is not under test here */
    char *err = NULL;
    if (sl_cql_engine_open(&loop, &o, &eng, &err) != 0) abort();
    sess = sl_cql_session_new(eng, "cassandra");
    atexit(teardown);
}

static void ensure_schema(void)
{
    exec_text("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}");
    exec_text("USE ks");
    exec_text("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text, n bigint, l list<int>, "
              "s set<text>, m map<text, int>, f frozen<list<int>>, tu tuple<int, text>)");
    exec_text("CREATE TABLE IF NOT EXISTS c (k text, c1 int, c2 timeuuid, st text static, v blob, "
              "PRIMARY KEY ((k), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)");
    exec_text("CREATE TABLE IF NOT EXISTS cp (a int, b text, c int, v double, PRIMARY KEY ((a, b), "
              "c))");
    exec_text("CREATE TABLE IF NOT EXISTS cnt (k int PRIMARY KEY, n counter)");
    exec_text("CREATE TABLE IF NOT EXISTS ty (k uuid PRIMARY KEY, a ascii, de decimal, vi varint, "
              "fl float, bo boolean, ts timestamp, dt date, tm time, ip inet, si smallint, ti "
              "tinyint)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!eng) setup();
    ensure_schema();
    /* The statement runs up to the first NUL; values follow, NUL-separated. */
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    sl_cql_value vals[MAX_VALUES];
    size_t nv = 0;
    if (nul) {
        const uint8_t *p = nul + 1, *end = data + size;
        while (end - p >= 2 && nv < MAX_VALUES) {
            uint16_t n = (uint16_t)(p[0] << 8 | p[1]);
            p += 2;
            if (n == 0xffff) {
                vals[nv++] = (sl_cql_value){SL_SLICE_NULL, SL_CQL_NULL};
            } else if (n == 0xfffe) {
                vals[nv++] = (sl_cql_value){SL_SLICE_NULL, SL_CQL_UNSET};
            } else {
                if (n > end - p) n = (uint16_t)(end - p);
                vals[nv++] = (sl_cql_value){{p, n}, SL_CQL_VALUE};
                p += n;
            }
        }
    }
    sl_slice text = {data, tlen};
    sl_cql_query q;
    memset(&q, 0, sizeof q);
    q.text = text;
    q.values = vals;
    q.n_values = nv;
    q.page_size = 3;
    sl_cql_result *res = run(&q);
    /* A second page, when there is one, from the state the first page gave. */
    if (res->kind == SL_CQL_RESULT_ROWS && res->has_more_pages) {
        q.paging_state = sl_buf_slice(&res->paging_state);
        sl_cql_result_free(run(&q));
    }
    sl_cql_result_free(res);

    sl_cql_result *pr = sl_cql_prepare(eng, sess, text);
    if (pr->kind == SL_CQL_RESULT_PREPARED) {
        if (pr->n_bind > MAX_VALUES || pr->n_pk_index > pr->n_bind) abort();
        memset(&q, 0, sizeof q);
        q.id = (sl_slice){pr->id, 16};
        q.values = vals;
        q.n_values = nv;
        sl_cql_result_free(run(&q));
        /* The same values as a one-statement BATCH. */
        sl_cql_batch_stmt st = {.id = q.id, .values = vals, .n_values = nv};
        sl_cql_batch_req b = {SL_CQL_BATCH_UNLOGGED, &st, 1, SL_CQL_CL_ONE, 0, 0, false};
        sl_cql_result *br = NULL;
        sl_cql_execute_batch(eng, sess, &b, on_done, &br);
        while (!br)
            uv_run(&loop, UV_RUN_ONCE);
        sl_cql_result_free(br);
    } else if (pr->kind != SL_CQL_RESULT_ERROR) {
        abort();
    }
    sl_cql_result_free(pr);
    return 0;
}
