/* test_client.c: the CQL client without a server: request frames as encoded on the wire,
 * RESULT and ERROR bodies decoded from bytes written out by hand after the spec (truncated at
 * every length too), and the request logic over a detached connection: the prepared statement
 * cache, re-preparing after Unprepared, USE, and a server refusing protocol v4. A scripted
 * loopback peer (a thread in this file, not sluice's store) drives the TCP side: handshake and
 * SASL PLAIN, pipelining past the stream window, failover, timeouts and connection loss. Batches
 * also run against sluice's store in-process, on the client's shared loop. */
#include "cql/client.h"
#include "cql/client_int.h"
#include "core/codec.h"
#include "core/config.h"
#include "core/log.h"
#include "cql/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Body builders for hand-written responses. */
static void put_str(sl_buf *b, const char *s)
{
    sl_buf_put_be16(b, (uint16_t)strlen(s));
    sl_buf_append(b, s, strlen(s));
}

static void put_bytes(sl_buf *b, const void *p, int32_t n)
{
    sl_buf_put_be32(b, (uint32_t)n);
    if (n > 0) sl_buf_append(b, p, (size_t)n);
}

/* A response frame (version 0x84) around body. */
static void put_frame(sl_buf *out, uint8_t flags, int16_t stream, uint8_t opcode,
                      const sl_buf *body)
{
    uint8_t h[9] = {0x84, flags, 0, 0, opcode, 0, 0, 0, 0};
    sl_put_be16(h + 2, (uint16_t)stream);
    sl_put_be32(h + 5, (uint32_t)body->len);
    sl_buf_append(out, h, 9);
    sl_buf_append(out, body->ptr, body->len);
}

typedef struct frame {
    uint8_t version, flags, opcode;
    int16_t stream;
    sl_slice body;
} frame;

/* The next request frame in a capture buffer; false when none is left. */
static bool next_frame(const sl_buf *cap, size_t *off, frame *f)
{
    if (cap->len - *off < 9) return false;
    const uint8_t *p = cap->ptr + *off;
    f->version = p[0];
    f->flags = p[1];
    f->stream = (int16_t)sl_get_be16(p + 2);
    f->opcode = p[4];
    uint32_t len = sl_get_be32(p + 5);
    assert_true(cap->len - *off - 9 >= len);
    f->body = (sl_slice){p + 9, len};
    *off += 9 + len;
    return true;
}

static void test_query_encoding(void **state)
{
    (void)state;
    sl_buf cap = SL_BUF_INIT;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc *c;
    assert_int_equal(sl__cqlc_new_detached(&o, &cap, &c), 0);
    sl_slice vals[3] = {SL_SLICE_STR("abc"), SL_SLICE_NULL, {(const uint8_t *)"", 0}};
    sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
    qo.consistency = SL_CQLC_LOCAL_QUORUM;
    qo.page_size = 100;
    qo.paging_state = SL_SLICE_STR("PS");
    qo.serial_consistency = SL_CQLC_LOCAL_SERIAL;
    qo.timestamp = 1234567;
    assert_int_equal(sl_cqlc_query_async(c, "SELECT * FROM t WHERE a=? AND b=? AND c=?", vals, 3,
                                         &qo, NULL, NULL),
                     0);
    assert_int_equal(cap.len, 0); /* nothing is written before the loop turns */
    sl__cqlc_test_flush(c);
    size_t off = 0;
    frame f;
    assert_true(next_frame(&cap, &off, &f));
    assert_int_equal(f.version, 0x04);
    assert_int_equal(f.flags, 0);
    assert_int_equal(f.opcode, 0x07);
    assert_true(f.stream >= 0);
    sl_rd r;
    sl_rd_init(&r, f.body.ptr, f.body.len);
    uint32_t n32 = 0;
    uint16_t n16;
    uint8_t u8;
    sl_slice s;
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(sl_rd_bytes(&r, n32, &s), 0);
    assert_true(sl_slice_eq_str(s, "SELECT * FROM t WHERE a=? AND b=? AND c=?"));
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, SL_CQLC_LOCAL_QUORUM);
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0x01 | 0x04 | 0x08 | 0x10 | 0x20);
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, 3);
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(n32, 3);
    assert_int_equal(sl_rd_skip(&r, 3), 0);
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal((int32_t)n32, -1); /* null */
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(n32, 0); /* empty, not null */
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(n32, 100);
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(sl_rd_bytes(&r, n32, &s), 0);
    assert_true(sl_slice_eq_str(s, "PS"));
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, SL_CQLC_LOCAL_SERIAL);
    uint64_t ts;
    assert_int_equal(sl_rd_be64(&r, &ts), 0);
    assert_int_equal(ts, 1234567);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_false(next_frame(&cap, &off, &f));

    /* Defaults: the client's consistency, no flags. */
    cap.len = 0;
    assert_int_equal(sl_cqlc_query_async(c, "SELECT 1", NULL, 0, NULL, NULL, NULL), 0);
    assert_int_equal(sl_cqlc_query_async(c, "SELECT 2", NULL, 0, NULL, NULL, NULL), 0);
    sl__cqlc_test_flush(c);
    off = 0;
    frame f1, f2;
    assert_true(next_frame(&cap, &off, &f1));
    assert_true(next_frame(&cap, &off, &f2)); /* two requests, one write */
    assert_int_not_equal(f1.stream, f2.stream);
    assert_int_equal(f1.body.len, 4 + 8 + 2 + 1);
    assert_int_equal(sl_get_be16(f1.body.ptr + 12), SL_CQLC_ONE);
    assert_int_equal(f1.body.ptr[14], 0);
    assert_int_equal(sl_cqlc_inflight(c), 3);
    sl_cqlc_close(c);
    sl_buf_free(&cap);
}

static void test_startup_and_auth_bodies(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl__cqlc_put_startup(&b);
    sl_rd r;
    sl_rd_init(&r, b.ptr, b.len);
    uint16_t n = 0;
    sl_slice k, v;
    assert_int_equal(sl_rd_be16(&r, &n), 0);
    bool saw_version = false;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t l;
        assert_int_equal(sl_rd_be16(&r, &l), 0);
        assert_int_equal(sl_rd_bytes(&r, l, &k), 0);
        assert_int_equal(sl_rd_be16(&r, &l), 0);
        assert_int_equal(sl_rd_bytes(&r, l, &v), 0);
        if (sl_slice_eq_str(k, "CQL_VERSION")) {
            assert_true(sl_slice_eq_str(v, "3.0.0"));
            saw_version = true;
        }
        assert_false(sl_slice_eq_str(k, "COMPRESSION"));
    }
    assert_true(saw_version);
    assert_int_equal(sl_rd_left(&r), 0);

    sl_buf_reset(&b);
    sl__cqlc_put_auth_plain(&b, "cassandra", "secret");
    assert_int_equal(b.len, 4 + 1 + 9 + 1 + 6);
    assert_int_equal(sl_get_be32(b.ptr), 17);
    assert_memory_equal(b.ptr + 4, "\0cassandra\0secret", 17);
    sl_buf_free(&b);
}

/* A Rows body: global table spec, a paging state, uuid and list<text> and a UDT column. */
static void rows_body(sl_buf *b)
{
    sl_buf_put_be32(b, 2);           /* Rows */
    sl_buf_put_be32(b, 0x01 | 0x02); /* global spec, has more pages */
    sl_buf_put_be32(b, 3);
    put_bytes(b, "PS", 2);
    put_str(b, "ks");
    put_str(b, "t");
    put_str(b, "id");
    sl_buf_put_be16(b, 0x0C);
    put_str(b, "tags");
    sl_buf_put_be16(b, 0x20);
    sl_buf_put_be16(b, 0x0D);
    put_str(b, "addr");
    sl_buf_put_be16(b, 0x30);
    put_str(b, "ks");
    put_str(b, "address");
    sl_buf_put_be16(b, 2);
    put_str(b, "street");
    sl_buf_put_be16(b, 0x0D);
    put_str(b, "zip");
    sl_buf_put_be16(b, 0x09);
    sl_buf_put_be32(b, 2); /* rows */
    put_bytes(b, "0123456789abcdef", 16);
    put_bytes(b, "\0\0\0\1\0\0\0\1x", 9);
    put_bytes(b, "", 0);
    put_bytes(b, "fedcba9876543210", 16);
    put_bytes(b, NULL, -1);
    put_bytes(b, NULL, -1);
}

static void test_decode_rows(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    rows_body(&b);
    sl_cqlc_result *res;
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), 0);
    assert_int_equal(b.len, 0); /* taken by move */
    assert_int_equal(res->kind, SL_CQLC_ROWS);
    assert_int_equal(res->ncols, 3);
    assert_string_equal(res->cols[0].name, "id");
    assert_string_equal(res->cols[0].keyspace, "ks");
    assert_string_equal(res->cols[1].table, "t");
    assert_int_equal(res->cols[0].type.id, SL_CQLC_T_UUID);
    assert_int_equal(res->cols[1].type.id, SL_CQLC_T_LIST);
    assert_int_equal(res->cols[1].type.nsub, 1);
    assert_int_equal(res->cols[1].type.sub[0].id, SL_CQLC_T_VARCHAR);
    assert_int_equal(res->cols[1].type.option.len, 4);
    const sl_cqlc_type *udt = &res->cols[2].type;
    assert_int_equal(udt->id, SL_CQLC_T_UDT);
    assert_string_equal(udt->keyspace, "ks");
    assert_string_equal(udt->name, "address");
    assert_int_equal(udt->nsub, 2);
    assert_string_equal(udt->field_names[1], "zip");
    assert_int_equal(udt->sub[1].id, SL_CQLC_T_INT);
    assert_true(res->has_more_pages);
    assert_true(sl_slice_eq_str(res->paging_state, "PS"));
    assert_int_equal(res->nrows, 2);
    assert_int_equal(res->row_width, 3);
    assert_int_equal(sl_cqlc_cell(res, 0, 0).len, 16);
    assert_int_equal(sl_cqlc_cell(res, 0, 1).len, 9);
    assert_non_null(sl_cqlc_cell(res, 0, 2).ptr); /* empty is not null */
    assert_int_equal(sl_cqlc_cell(res, 0, 2).len, 0);
    assert_memory_equal(sl_cqlc_cell(res, 1, 0).ptr, "fedcba9876543210", 16);
    assert_null(sl_cqlc_cell(res, 1, 1).ptr);
    assert_int_equal(sl_cqlc_col_index(res, "tags"), 1);
    assert_int_equal(sl_cqlc_col_index(res, "nope"), -1);
    sl_cqlc_result_free(res);
}

static void test_decode_rows_truncated(void **state)
{
    (void)state;
    sl_buf whole = SL_BUF_INIT;
    rows_body(&whole);
    for (size_t n = 0; n < whole.len; n++) {
        sl_buf b = SL_BUF_INIT;
        sl_buf_append(&b, whole.ptr, n);
        sl_cqlc_result *res = (sl_cqlc_result *)1;
        assert_int_equal(sl__cqlc_decode_result(0, &b, &res), SL_ERR_PARSE);
        assert_null(res);
    }
    /* A row count far beyond the bytes present fails before allocating for it. */
    sl_buf b = SL_BUF_INIT;
    sl_buf_put_be32(&b, 2);
    sl_buf_put_be32(&b, 0x04); /* no metadata */
    sl_buf_put_be32(&b, 1000);
    sl_buf_put_be32(&b, 0x7fffffff);
    sl_cqlc_result *res;
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), SL_ERR_PARSE);
    /* Nested types deeper than the limit are refused. */
    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 2);
    sl_buf_put_be32(&b, 0x01);
    sl_buf_put_be32(&b, 1);
    put_str(&b, "k");
    put_str(&b, "t");
    put_str(&b, "c");
    for (int i = 0; i < 40; i++)
        sl_buf_put_be16(&b, 0x20);
    sl_buf_put_be16(&b, 0x09);
    sl_buf_put_be32(&b, 0);
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), SL_ERR_PARSE);
    /* An unknown result kind. */
    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 9);
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), SL_ERR_PARSE);
    sl_buf_free(&b);
    sl_buf_free(&whole);
}

static void test_decode_other_results(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_cqlc_result *res;
    /* Warnings and a tracing id before a Void body. */
    sl_buf_append(&b, "0123456789abcdef", 16);
    sl_buf_put_be16(&b, 2);
    put_str(&b, "Batch too large");
    put_str(&b, "second");
    sl_buf_put_be32(&b, 1);
    assert_int_equal(sl__cqlc_decode_result(0x02 | 0x08, &b, &res), 0);
    assert_int_equal(res->kind, SL_CQLC_VOID);
    assert_int_equal(res->nwarnings, 2);
    assert_string_equal(res->warnings[0], "Batch too large");
    sl_cqlc_result_free(res);

    sl_buf_put_be32(&b, 3);
    put_str(&b, "spark_streams");
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), 0);
    assert_int_equal(res->kind, SL_CQLC_SET_KEYSPACE);
    assert_string_equal(res->keyspace, "spark_streams");
    sl_cqlc_result_free(res);

    sl_buf_put_be32(&b, 5);
    put_str(&b, "CREATED");
    put_str(&b, "TABLE");
    put_str(&b, "ks");
    put_str(&b, "t");
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), 0);
    assert_int_equal(res->kind, SL_CQLC_SCHEMA_CHANGE);
    assert_string_equal(res->change_type, "CREATED");
    assert_string_equal(res->target, "TABLE");
    assert_string_equal(res->change_keyspace, "ks");
    assert_string_equal(res->change_name, "t");
    sl_cqlc_result_free(res);

    /* Prepared: id, 2 bind variables with one pk index, no result columns. */
    sl_buf_put_be32(&b, 4);
    sl_buf_put_be16(&b, 4);
    sl_buf_append(&b, "ID42", 4);
    sl_buf_put_be32(&b, 0x01);
    sl_buf_put_be32(&b, 2);
    sl_buf_put_be32(&b, 1);
    sl_buf_put_be16(&b, 0);
    put_str(&b, "ks");
    put_str(&b, "t");
    put_str(&b, "id");
    sl_buf_put_be16(&b, 0x0C);
    put_str(&b, "m");
    sl_buf_put_be16(&b, 0x21);
    sl_buf_put_be16(&b, 0x0D);
    sl_buf_put_be16(&b, 0x02);
    sl_buf_put_be32(&b, 0x04);
    sl_buf_put_be32(&b, 0);
    assert_int_equal(sl__cqlc_decode_result(0, &b, &res), 0);
    assert_int_equal(res->kind, SL_CQLC_PREPARED);
    assert_true(sl_slice_eq_str(res->id, "ID42"));
    assert_int_equal(res->nbind, 2);
    assert_int_equal(res->npk, 1);
    assert_int_equal(res->pk_index[0], 0);
    assert_string_equal(res->bind[1].name, "m");
    assert_int_equal(res->bind[1].type.id, SL_CQLC_T_MAP);
    assert_int_equal(res->bind[1].type.sub[1].id, SL_CQLC_T_BIGINT);
    assert_int_equal(res->ncols, 0);
    sl_cqlc_result_free(res);
    sl_buf_free(&b);
}

static void test_decode_errors(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    sl_cqlc_error e;
    char line[1200];

    sl_buf_put_be32(&b, 0x2200);
    put_str(&b, "unconfigured table nope");
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.status, SL_CQLC_ESERVER);
    assert_int_equal(e.code, SL_CQLC_INVALID);
    assert_string_equal(sl_cqlc_error_str(&e, line, sizeof line),
                        "code=2200 [Invalid query] message=\"unconfigured table nope\"");

    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 0x1000);
    put_str(&b, "Cannot achieve consistency level QUORUM");
    sl_buf_put_be16(&b, 4);
    sl_buf_put_be32(&b, 2);
    sl_buf_put_be32(&b, 1);
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.code, SL_CQLC_UNAVAILABLE);
    assert_int_equal(e.consistency, 4);
    assert_int_equal(e.required, 2);
    assert_int_equal(e.alive, 1);

    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 0x1100);
    put_str(&b, "timeout");
    sl_buf_put_be16(&b, 1);
    sl_buf_put_be32(&b, 0);
    sl_buf_put_be32(&b, 1);
    put_str(&b, "BATCH_LOG");
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.blockfor, 1);
    assert_string_equal(e.write_type, "BATCH_LOG");

    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 0x2400);
    put_str(&b, "Keyspace ks already exists");
    put_str(&b, "ks");
    put_str(&b, "");
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.code, SL_CQLC_ALREADY_EXISTS);
    assert_string_equal(e.keyspace, "ks");
    assert_string_equal(e.table, "");

    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 0x2500);
    put_str(&b, "Prepared query with ID 4944 not found");
    sl_buf_put_be16(&b, 4);
    sl_buf_append(&b, "ID42", 4);
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.unprepared_id_len, 4);
    assert_memory_equal(e.unprepared_id, "ID42", 4);

    /* Extras missing: code and message still count; a cut message does not. */
    sl_buf_reset(&b);
    sl_buf_put_be32(&b, 0x1200);
    put_str(&b, "read timeout");
    assert_int_equal(sl__cqlc_decode_error(0, sl_buf_slice(&b), &e), 0);
    assert_int_equal(e.code, SL_CQLC_READ_TIMEOUT);
    assert_int_equal(sl__cqlc_decode_error(0, (sl_slice){b.ptr, b.len - 1}, &e), SL_ERR_PARSE);
    assert_string_equal(sl_cqlc_code_name(0x2000), "Syntax error in CQL query");
    assert_string_equal(sl_cqlc_code_name(0x7777), "Error");
    sl_buf_free(&b);
}

typedef struct outcome {
    int calls;
    int status;
    int code;
    int kind;
    char msg[1100];
} outcome;

static void on_done(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    outcome *o = udata;
    (void)c;
    o->calls++;
    o->status = resp->status;
    o->kind = resp->result ? resp->result->kind : 0;
    if (resp->status) {
        o->code = resp->error->code;
        snprintf(o->msg, sizeof o->msg, "%s", resp->error->message);
    }
}

static void prepared_body(sl_buf *b, const char *id)
{
    sl_buf_put_be32(b, 4);
    sl_buf_put_be16(b, (uint16_t)strlen(id));
    sl_buf_append(b, id, strlen(id));
    sl_buf_put_be32(b, 0x01);
    sl_buf_put_be32(b, 1);
    sl_buf_put_be32(b, 1);
    sl_buf_put_be16(b, 0);
    put_str(b, "ks");
    put_str(b, "t");
    put_str(b, "id");
    sl_buf_put_be16(b, 0x0C);
    sl_buf_put_be32(b, 0x04);
    sl_buf_put_be32(b, 0);
}

/* Answers the single request in cap with opcode and body; returns that request's frame. */
static frame answer(sl_cqlc *c, sl_buf *cap, uint8_t opcode, const sl_buf *body)
{
    sl__cqlc_test_flush(c);
    size_t off = 0;
    frame f;
    assert_true(next_frame(cap, &off, &f));
    assert_int_equal(off, cap->len);
    sl_buf resp = SL_BUF_INIT;
    put_frame(&resp, 0, f.stream, opcode, body);
    frame copy = f;
    /* The request bytes are checked by the caller before the capture is reused. */
    static uint8_t saved[4096];
    assert_true(f.body.len <= sizeof saved);
    memcpy(saved, f.body.ptr, f.body.len);
    copy.body.ptr = saved;
    cap->len = 0;
    sl__cqlc_test_feed(c, resp.ptr, resp.len);
    sl_buf_free(&resp);
    return copy;
}

static void test_prepare_cache_and_reprepare(void **state)
{
    (void)state;
    sl_buf cap = SL_BUF_INIT, body = SL_BUF_INIT;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc *c;
    assert_int_equal(sl__cqlc_new_detached(&o, &cap, &c), 0);
    const char *q = "INSERT INTO ks.t (id) VALUES (?)";
    sl_slice v = SL_SLICE_STR("0123456789abcdef");
    outcome out = {0};
    assert_int_equal(sl_cqlc_execute_async(c, q, &v, 1, NULL, on_done, &out), 0);

    /* First a PREPARE of the text. */
    prepared_body(&body, "AAAA");
    frame f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x09);
    assert_int_equal(sl_get_be32(f.body.ptr), strlen(q));
    assert_memory_equal(f.body.ptr + 4, q, strlen(q));

    /* Then the EXECUTE with that id, which the server has forgotten. */
    sl_buf_reset(&body);
    sl_buf_put_be32(&body, 0x2500);
    put_str(&body, "Prepared query with ID AAAA not found");
    sl_buf_put_be16(&body, 4);
    sl_buf_append(&body, "AAAA", 4);
    f = answer(c, &cap, 0x00, &body);
    assert_int_equal(f.opcode, 0x0A);
    assert_int_equal(sl_get_be16(f.body.ptr), 4);
    assert_memory_equal(f.body.ptr + 2, "AAAA", 4);
    assert_int_equal(out.calls, 0);

    /* The client prepares again by itself; the server hands out a new id. */
    sl_buf_reset(&body);
    prepared_body(&body, "BBBBB");
    f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x09);

    /* And the EXECUTE is retried with the new id and the same values. */
    sl_buf_reset(&body);
    sl_buf_put_be32(&body, 1);
    f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x0A);
    assert_memory_equal(f.body.ptr + 2, "BBBBB", 5);
    assert_int_equal(sl_get_be16(f.body.ptr + 7 + 3), 1); /* one value */
    assert_memory_equal(f.body.ptr + 7 + 3 + 2 + 4, "0123456789abcdef", 16);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    assert_int_equal(out.kind, SL_CQLC_VOID);

    /* The cache now answers: the next EXECUTE goes out at once with the id. */
    outcome out2 = {0};
    assert_int_equal(sl_cqlc_execute_async(c, q, &v, 1, NULL, on_done, &out2), 0);
    f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x0A);
    assert_memory_equal(f.body.ptr + 2, "BBBBB", 5);
    assert_int_equal(out2.calls, 1);

    sl_cqlc_stats st;
    sl_cqlc_get_stats(c, &st);
    assert_int_equal(st.reprepares, 1);
    assert_int_equal(sl_cqlc_inflight(c), 0);

    /* A server that keeps forgetting: after a bounded number of re-prepares the caller gets
     * the Unprepared error. */
    outcome out3 = {0};
    assert_int_equal(sl_cqlc_execute_async(c, q, &v, 1, NULL, on_done, &out3), 0);
    sl_buf unprep = SL_BUF_INIT;
    sl_buf_put_be32(&unprep, 0x2500);
    put_str(&unprep, "not found");
    sl_buf_put_be16(&unprep, 5);
    sl_buf_append(&unprep, "BBBBB", 5);
    int rounds = 0;
    while (out3.calls == 0) {
        assert_true(++rounds < 10);
        f = answer(c, &cap, 0x00, &unprep);
        if (out3.calls) break;
        assert_int_equal(f.opcode, 0x0A);
        sl_buf_reset(&body);
        prepared_body(&body, "BBBBB");
        f = answer(c, &cap, 0x08, &body);
        assert_int_equal(f.opcode, 0x09);
    }
    assert_int_equal(out3.status, SL_CQLC_ESERVER);
    assert_int_equal(out3.code, SL_CQLC_UNPREPARED);

    /* A PREPARE the server refuses fails the waiting EXECUTE with the server's error. */
    outcome out4 = {0};
    assert_int_equal(
        sl_cqlc_execute_async(c, "INSERT INTO nope (a) VALUES (?)", &v, 1, NULL, on_done, &out4),
        0);
    sl_buf_reset(&body);
    sl_buf_put_be32(&body, 0x2200);
    put_str(&body, "unconfigured table nope");
    f = answer(c, &cap, 0x00, &body);
    assert_int_equal(f.opcode, 0x09);
    assert_int_equal(out4.calls, 1);
    assert_int_equal(out4.status, SL_CQLC_ESERVER);
    assert_int_equal(out4.code, SL_CQLC_INVALID);
    assert_string_equal(out4.msg, "unconfigured table nope");

    sl_buf_free(&unprep);
    sl_buf_free(&body);
    sl_cqlc_close(c);
    sl_buf_free(&cap);
}

static void test_batch_prepares_entries(void **state)
{
    (void)state;
    sl_buf cap = SL_BUF_INIT, body = SL_BUF_INIT;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc *c;
    assert_int_equal(sl__cqlc_new_detached(&o, &cap, &c), 0);
    sl_slice v = SL_SLICE_STR("x");
    sl_cqlc_batch *b = sl_cqlc_batch_new(SL_CQLC_BATCH_UNLOGGED);
    sl_cqlc_batch_add(b, "INSERT INTO t (a) VALUES (?)", &v, 1, true);
    sl_cqlc_batch_add(b, "INSERT INTO t (a) VALUES ('y')", NULL, 0, false);
    assert_int_equal(sl_cqlc_batch_count(b), 2);
    outcome out = {0};
    assert_int_equal(sl_cqlc_batch_async(c, b, NULL, on_done, &out), 0);
    sl_cqlc_batch_free(b); /* the request keeps its own copy */
    prepared_body(&body, "P1");
    frame f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x09);
    sl_buf_reset(&body);
    sl_buf_put_be32(&body, 1);
    f = answer(c, &cap, 0x08, &body);
    assert_int_equal(f.opcode, 0x0D);
    sl_rd r;
    sl_rd_init(&r, f.body.ptr, f.body.len);
    uint8_t u8;
    uint16_t n16;
    uint32_t n32 = 0;
    sl_slice s;
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 1); /* unlogged */
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, 2);
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 1); /* prepared */
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(sl_rd_bytes(&r, n16, &s), 0);
    assert_true(sl_slice_eq_str(s, "P1"));
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, 1);
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(sl_rd_skip(&r, n32), 0);
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0); /* text */
    assert_int_equal(sl_rd_be32(&r, &n32), 0);
    assert_int_equal(sl_rd_bytes(&r, n32, &s), 0);
    assert_true(sl_slice_eq_str(s, "INSERT INTO t (a) VALUES ('y')"));
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, 0);
    assert_int_equal(sl_rd_be16(&r, &n16), 0);
    assert_int_equal(n16, SL_CQLC_ONE);
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, 0);
    sl_buf_free(&body);
    sl_cqlc_close(c);
    sl_buf_free(&cap);
}

static void test_use_sets_keyspace(void **state)
{
    (void)state;
    sl_buf cap = SL_BUF_INIT, body = SL_BUF_INIT;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc *c;
    assert_int_equal(sl__cqlc_new_detached(&o, &cap, &c), 0);
    assert_null(sl_cqlc_keyspace(c));
    outcome out = {0};
    assert_int_equal(sl_cqlc_query_async(c, "USE spark_streams", NULL, 0, NULL, on_done, &out), 0);
    sl_buf_put_be32(&body, 3);
    put_str(&body, "spark_streams");
    answer(c, &cap, 0x08, &body);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.kind, SL_CQLC_SET_KEYSPACE);
    assert_string_equal(sl_cqlc_keyspace(c), "spark_streams");
    sl_buf_free(&body);
    sl_cqlc_close(c);
    sl_buf_free(&cap);
}

static void test_refused_version_and_close(void **state)
{
    (void)state;
    sl_buf cap = SL_BUF_INIT, body = SL_BUF_INIT, resp = SL_BUF_INIT;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc *c;
    assert_int_equal(sl__cqlc_new_detached(&o, &cap, &c), 0);
    outcome out = {0}, out2 = {0};
    assert_int_equal(sl_cqlc_query_async(c, "SELECT 1", NULL, 0, NULL, on_done, &out), 0);
    sl__cqlc_test_flush(c);
    /* A v3-only server answers in its own version with a protocol error. */
    sl_buf_put_be32(&body, 0x000A);
    put_str(&body, "Invalid or unsupported protocol version (4); supported versions are (3/v3)");
    uint8_t h[9] = {0x83, 0, 0, 0, 0x00, 0, 0, 0, 0};
    sl_put_be32(h + 5, (uint32_t)body.len);
    sl_buf_append(&resp, h, 9);
    sl_buf_append(&resp, body.ptr, body.len);
    sl__cqlc_test_feed(c, resp.ptr, resp.len);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.status, SL_ERR_CLOSED);
    assert_non_null(strstr(out.msg, "does not support CQL native protocol v4"));
    assert_non_null(strstr(out.msg, "supported versions are (3/v3)"));

    /* Close fails what is still queued, calling back once. */
    assert_int_equal(sl_cqlc_query_async(c, "SELECT 2", NULL, 0, NULL, on_done, &out2), 0);
    sl_cqlc_close(c);
    assert_int_equal(out2.calls, 1);
    assert_int_equal(out2.status, SL_ERR_CLOSED);
    sl_buf_free(&body);
    sl_buf_free(&resp);
    sl_buf_free(&cap);
}

/* A scripted CQL peer on a loopback port, in a thread with blocking sockets, for the client's
 * transport: handshake and auth, failover, timeouts, connection loss. QUERY texts steer it:
 * "hang" gets no answer, "close-once" closes the connection the first time it is seen. */
typedef struct peer {
    int lfd, port;
    pthread_t th;
    volatile int stop;
    bool auth;
    uint8_t version; /* of the responses: 0x84, or 0x83 for a v3-only server */
    volatile int queries, auth_ok, auth_bad, closed_once, conns;
    char last_auth[64];
} peer;

static bool read_full(int fd, void *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return false;
        p = (uint8_t *)p + r;
        n -= (size_t)r;
    }
    return true;
}

static void peer_send(int fd, uint8_t version, int16_t stream, uint8_t op, const sl_buf *body)
{
    sl_buf f = SL_BUF_INIT;
    put_frame(&f, 0, stream, op, body);
    f.ptr[0] = version;
    ssize_t w = write(fd, f.ptr, f.len);
    (void)w;
    sl_buf_free(&f);
}

static void peer_conn(peer *pe, int fd)
{
    uint8_t h[9];
    while (read_full(fd, h, 9)) {
        uint32_t len = sl_get_be32(h + 5);
        uint8_t *body = malloc(len + 1);
        if (!read_full(fd, body, len)) {
            free(body);
            break;
        }
        int16_t stream = (int16_t)sl_get_be16(h + 2);
        sl_buf out = SL_BUF_INIT;
        bool close_now = false;
        if (pe->version != 0x84) {
            sl_buf_put_be32(&out, 0x000A);
            put_str(&out, "Invalid or unsupported protocol version (4); supported versions are "
                          "(3/v3)");
            peer_send(fd, pe->version, stream, 0x00, &out);
            close_now = true;
        } else if (h[4] == 0x01) {
            if (pe->auth) {
                put_str(&out, "org.apache.cassandra.auth.PasswordAuthenticator");
                peer_send(fd, 0x84, stream, 0x03, &out);
            } else {
                peer_send(fd, 0x84, stream, 0x02, &out);
            }
        } else if (h[4] == 0x0F) {
            uint32_t n = sl_get_be32(body);
            memcpy(pe->last_auth, body + 4, n < sizeof pe->last_auth ? n : sizeof pe->last_auth);
            if (n == 20 && !memcmp(body + 4, "\0cassandra\0cassandra", 20)) {
                pe->auth_ok++;
                sl_buf_put_be32(&out, (uint32_t)-1);
                peer_send(fd, 0x84, stream, 0x10, &out);
            } else {
                pe->auth_bad++;
                sl_buf_put_be32(&out, 0x0100);
                put_str(&out, "Provided username and/or password are incorrect");
                peer_send(fd, 0x84, stream, 0x00, &out);
            }
        } else if (h[4] == 0x07) {
            pe->queries++;
            uint32_t n = sl_get_be32(body);
            sl_slice q = {body + 4, n};
            if (sl_slice_eq_str(q, "hang")) {
                /* no answer */
            } else if (sl_slice_eq_str(q, "close-once") && !pe->closed_once) {
                pe->closed_once = 1;
                close_now = true;
            } else {
                sl_buf_put_be32(&out, 1);
                peer_send(fd, 0x84, stream, 0x08, &out);
            }
        }
        sl_buf_free(&out);
        free(body);
        if (close_now) break;
    }
    close(fd);
}

static void *peer_main(void *arg)
{
    peer *pe = arg;
    while (!pe->stop) {
        struct pollfd p = {pe->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(pe->lfd, NULL, NULL);
        if (fd < 0) continue;
        pe->conns++;
        /* One connection at a time is all these tests need (the client keeps one per host);
         * the next accept waits for this one to close. */
        peer_conn(pe, fd);
    }
    return NULL;
}

static void peer_start(peer *pe)
{
    if (!pe->version) pe->version = 0x84;
    pe->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(pe->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(pe->lfd, 16), 0);
    assert_int_equal(getsockname(pe->lfd, (struct sockaddr *)&a, &len), 0);
    pe->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&pe->th, NULL, peer_main, pe), 0);
}

static void peer_stop(peer *pe)
{
    pe->stop = 1;
    pthread_join(pe->th, NULL);
    close(pe->lfd);
}

/* A port nothing listens on. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void opts_for(sl_cqlc_opts *o, char *cp, size_t n, int port1, int port2)
{
    sl_cqlc_opts_default(o);
    if (port2)
        snprintf(cp, n, "127.0.0.1:%d,127.0.0.1:%d", port1, port2);
    else
        snprintf(cp, n, "127.0.0.1:%d", port1);
    o->contact_points = cp;
    o->user = "cassandra";
    o->password = "cassandra";
    o->reconnect_min_ms = 20;
}

static void test_tcp_auth_and_queries(void **state)
{
    (void)state;
    peer pe = {.auth = true};
    peer_start(&pe);
    sl_cqlc_opts o;
    char cp[64];
    opts_for(&o, cp, sizeof cp, pe.port, 0);
    sl_cqlc *c;
    sl_cqlc_error e;
    assert_int_equal(sl_cqlc_open(&o, &c, &e), 0);
    assert_int_equal(pe.auth_ok, 1);
    sl_cqlc_result *res;
    assert_int_equal(sl_cqlc_query(c, "INSERT x", NULL, 0, NULL, &res, &e), 0);
    assert_int_equal(res->kind, SL_CQLC_VOID);
    sl_cqlc_result_free(res);
    /* Pipelining: many more requests than streams, all answered. */
    outcome *outs = calloc(3000, sizeof(*outs));
    for (int i = 0; i < 3000; i++)
        assert_int_equal(sl_cqlc_query_async(c, "INSERT y", NULL, 0, NULL, on_done, &outs[i]), 0);
    assert_int_equal(sl_cqlc_run(c, 10000), 0);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(outs[i].calls, 1);
        assert_int_equal(outs[i].status, 0);
    }
    free(outs);
    assert_int_equal(pe.queries, 3001);
    sl_cqlc_close(c);

    /* Wrong password: the server's Bad credentials comes back from open. */
    o.password = "nope";
    assert_int_equal(sl_cqlc_open(&o, &c, &e), SL_CQLC_ESERVER);
    assert_int_equal(e.code, SL_CQLC_BAD_CREDENTIALS);
    assert_non_null(strstr(e.message, "incorrect"));
    /* No user at all, against a server that requires one. */
    o.user = NULL;
    assert_int_equal(sl_cqlc_open(&o, &c, &e), SL_CQLC_ESERVER);
    assert_non_null(strstr(e.message, "requires authentication"));
    peer_stop(&pe);
}

static void test_tcp_refused_version(void **state)
{
    (void)state;
    peer pe = {.version = 0x83};
    peer_start(&pe);
    sl_cqlc_opts o;
    char cp[64];
    opts_for(&o, cp, sizeof cp, pe.port, 0);
    sl_cqlc *c;
    sl_cqlc_error e;
    assert_int_equal(sl_cqlc_open(&o, &c, &e), SL_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.message, "does not support CQL native protocol v4"));
    peer_stop(&pe);
}

static void test_tcp_failover_and_no_host(void **state)
{
    (void)state;
    peer pe = {0};
    peer_start(&pe);
    sl_cqlc_opts o;
    char cp[64];
    int dead = dead_port();
    opts_for(&o, cp, sizeof cp, dead, pe.port);
    sl_cqlc *c;
    sl_cqlc_error e;
    assert_int_equal(sl_cqlc_open(&o, &c, &e), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(sl_cqlc_query(c, "SELECT", NULL, 0, NULL, NULL, &e), 0);
    sl_cqlc_stats st;
    sl_cqlc_get_stats(c, &st);
    assert_true(st.connect_failures >= 1);
    assert_int_equal(st.conns_ready, 1);
    sl_cqlc_close(c);

    /* Every contact point dead: open names each one. */
    opts_for(&o, cp, sizeof cp, dead, dead_port());
    assert_int_equal(sl_cqlc_open(&o, &c, &e), SL_CQLC_ENOHOST);
    assert_non_null(strstr(e.message, "unable to connect to any server"));
    peer_stop(&pe);
}

/* A server that accepts TCP (the kernel's backlog) but never answers STARTUP: open times out,
 * and closing the failed client must not close the timed-out connection a second time. */
static void test_tcp_open_times_out(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    sl_cqlc_opts o;
    char cp[64];
    for (int i = 0; i < 5; i++) {
        opts_for(&o, cp, sizeof cp, ntohs(a.sin_port), 0);
        o.connect_timeout_ms = 50 + 10 * i;
        sl_cqlc *c = (sl_cqlc *)&o; /* must be set to NULL on failure */
        sl_cqlc_error e;
        assert_true(sl_cqlc_open(&o, &c, &e) < 0);
        assert_null(c);
        assert_non_null(strstr(e.message, "timed out"));
    }
    close(fd);
}

static void test_tcp_timeout_and_connection_loss(void **state)
{
    (void)state;
    peer pe = {0};
    peer_start(&pe);
    sl_cqlc_opts o;
    char cp[64];
    opts_for(&o, cp, sizeof cp, pe.port, 0);
    o.request_timeout_ms = 200;
    sl_cqlc *c;
    sl_cqlc_error e;
    assert_int_equal(sl_cqlc_open(&o, &c, &e), 0);
    assert_int_equal(sl_cqlc_query(c, "hang", NULL, 0, NULL, NULL, &e), -ETIMEDOUT);
    /* The connection goes on serving; the unanswered stream stays reserved. */
    assert_int_equal(sl_cqlc_query(c, "SELECT", NULL, 0, NULL, NULL, &e), 0);

    /* The server drops the connection with a request in flight: an idempotent request is sent
     * again once the client has reconnected... */
    sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
    qo.idempotent = true;
    o.request_timeout_ms = 5000;
    sl_cqlc_close(c);
    assert_int_equal(sl_cqlc_open(&o, &c, &e), 0);
    assert_int_equal(sl_cqlc_query(c, "close-once", NULL, 0, &qo, NULL, &e), 0);
    assert_int_equal(pe.closed_once, 1);
    assert_true(pe.conns >= 3);
    sl_cqlc_stats st;
    sl_cqlc_get_stats(c, &st);
    assert_int_equal(st.retries, 1);
    /* ...one that is not idempotent is reported, since it may have been applied. */
    pe.closed_once = 0;
    assert_int_equal(sl_cqlc_query(c, "close-once", NULL, 0, NULL, NULL, &e), SL_ERR_CLOSED);
    assert_non_null(strstr(e.message, "lost with the request in flight"));
    /* And the client reconnects for the next one. */
    assert_int_equal(sl_cqlc_query(c, "SELECT", NULL, 0, NULL, NULL, &e), 0);
    sl_cqlc_close(c);
    peer_stop(&pe);
}

static void on_shared_done(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    on_done(c, resp, udata);
    /* Submitting from a callback is allowed; this one goes out in the same loop turn. */
    outcome *o = udata;
    if (o->calls == 1)
        assert_int_equal(sl_cqlc_query_async(c, "again", NULL, 0, NULL, on_done, o), 0);
}

static void test_tcp_shared_loop(void **state)
{
    (void)state;
    peer pe = {0};
    peer_start(&pe);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_cqlc_opts o;
    char cp[64];
    opts_for(&o, cp, sizeof cp, pe.port, 0);
    o.loop = &loop;
    sl_cqlc *c;
    sl_cqlc_error e;
    /* The blocking API refuses a shared loop (loops do not nest). */
    assert_int_equal(sl_cqlc_open(&o, &c, &e), SL_ERR_INVAL);
    assert_int_equal(sl_cqlc_new(&o, &c, &e), 0);
    assert_int_equal(sl_cqlc_query(c, "x", NULL, 0, NULL, NULL, &e), SL_ERR_INVAL);
    outcome out = {0};
    /* Sent before any connection is ready: it waits in the queue. */
    assert_int_equal(sl_cqlc_query_async(c, "first", NULL, 0, NULL, on_shared_done, &out), 0);
    while (out.calls < 2)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(out.status, 0);
    assert_int_equal(pe.queries, 2);
    sl_cqlc_close(c); /* memory goes once the loop has closed the handles */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    peer_stop(&pe);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void on_stopped(void *arg)
{
    *(bool *)arg = true;
}

static void run_until(uv_loop_t *loop, const outcome *o, int calls)
{
    int64_t end = sl_mono_ms() + 10000;
    while (o->calls < calls && sl_mono_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    assert_int_equal(o->calls, calls);
    assert_int_equal(o->status, 0);
}

typedef struct count_outcome {
    outcome o;
    int64_t n;
} count_outcome;

static void on_count(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    count_outcome *co = udata;
    on_done(c, resp, &co->o);
    if (resp->status == 0 && resp->result->nrows == 1 && resp->result->cells[0].len == 8)
        co->n = (int64_t)sl_get_be64(resp->result->cells[0].ptr);
}

/* The client's unlogged and logged batches (unprepared and prepared entries) against the real
 * store in-process, on one shared loop: every row lands. */
static void test_batches_against_the_store(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sluice-test-cqlc-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int level = sl_log_level;
    sl_log_level = SL_LOG_WARN;
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_cql_server_config cfg;
    char err[256];
    sl_config_defaults(sl_cql_server_opts, &cfg);
    assert_int_equal(
        sl_config_set(sl_cql_server_opts, &cfg, "listen", "127.0.0.1:0", err, sizeof err), 0);
    assert_int_equal(sl_config_set(sl_cql_server_opts, &cfg, "data-dir", dir, err, sizeof err), 0);
    assert_int_equal(sl_cql_server_config_check(&cfg, err, sizeof err), 0);
    sl_cql_server *srv;
    assert_int_equal(sl_cql_server_open(&loop, &cfg, &srv), 0);

    sl_cqlc_opts o;
    char cp[64];
    opts_for(&o, cp, sizeof cp, sl_cql_server_port(srv), 0);
    o.loop = &loop;
    sl_cqlc *c;
    sl_cqlc_error e;
    assert_int_equal(sl_cqlc_new(&o, &c, &e), 0);
    outcome out = {0};
    int calls = 0;
    assert_int_equal(sl_cqlc_query_async(c,
                                         "CREATE KEYSPACE b WITH replication = {'class': "
                                         "'SimpleStrategy', 'replication_factor': 1}",
                                         NULL, 0, NULL, on_done, &out),
                     0);
    run_until(&loop, &out, ++calls);
    assert_int_equal(sl_cqlc_query_async(c,
                                         "CREATE TABLE b.t (k int, c int, v text, "
                                         "PRIMARY KEY (k, c))",
                                         NULL, 0, NULL, on_done, &out),
                     0);
    run_until(&loop, &out, ++calls);

    uint8_t kb[200][4], cb[200][4];
    for (int type = SL_CQLC_BATCH_LOGGED; type <= SL_CQLC_BATCH_UNLOGGED; type++) {
        sl_cqlc_batch *b = sl_cqlc_batch_new(type);
        for (int i = 0; i < 100; i++) {
            int n = type * 100 + i;
            sl_put_be32(kb[n], (uint32_t)(n % 7));
            sl_put_be32(cb[n], (uint32_t)n);
            sl_slice v[3] = {{kb[n], 4}, {cb[n], 4}, SL_SLICE_STR("batched")};
            sl_cqlc_batch_add(b, "INSERT INTO b.t (k, c, v) VALUES (?, ?, ?)", v, 3, i % 2 == 0);
        }
        assert_int_equal(sl_cqlc_batch_async(c, b, NULL, on_done, &out), 0);
        run_until(&loop, &out, ++calls);
        assert_int_equal(out.kind, SL_CQLC_VOID);
        sl_cqlc_batch_free(b);
    }
    /* Runs of two prepared statements with different bind markers: each entry is sent with
     * its own statement's id (a run shares one cache lookup, a new text looks up again). */
    uint8_t kb2[100][4], cb2[100][4];
    sl_cqlc_batch *b2 = sl_cqlc_batch_new(SL_CQLC_BATCH_UNLOGGED);
    for (int i = 0; i < 100; i++) {
        sl_put_be32(kb2[i], (uint32_t)(i % 7));
        sl_put_be32(cb2[i], (uint32_t)(200 + i));
        sl_slice v[3] = {{kb2[i], 4}, {cb2[i], 4}, SL_SLICE_STR("batched")};
        if (i % 4 < 2)
            sl_cqlc_batch_add(b2, "INSERT INTO b.t (k, c, v) VALUES (?, ?, ?)", v, 3, true);
        else
            sl_cqlc_batch_add(b2, "INSERT INTO b.t (k, c, v) VALUES (?, ?, 'second')", v, 2, true);
    }
    assert_int_equal(sl_cqlc_batch_async(c, b2, NULL, on_done, &out), 0);
    run_until(&loop, &out, ++calls);
    assert_int_equal(out.kind, SL_CQLC_VOID);
    sl_cqlc_batch_free(b2);
    count_outcome co = {0};
    assert_int_equal(
        sl_cqlc_query_async(c, "SELECT COUNT(*) FROM b.t", NULL, 0, NULL, on_count, &co), 0);
    run_until(&loop, &co.o, 1);
    assert_int_equal(co.n, 300);

    sl_cqlc_close(c);
    bool stopped = false;
    sl_cql_server_stop(srv, on_stopped, &stopped);
    int64_t end = sl_mono_ms() + 10000;
    while (!stopped && sl_mono_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(stopped);
    sl_cql_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    sl_config_free(sl_cql_server_opts, &cfg);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sl_log_level = level;
}

static void test_bad_opts(void **state)
{
    (void)state;
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    sl_cqlc_error e;
    sl_cqlc *c = NULL;
    o.contact_points = "127.0.0.1:notaport";
    assert_int_equal(sl_cqlc_new(&o, &c, &e), SL_ERR_INVAL);
    assert_null(c);
    assert_non_null(strstr(e.message, "127.0.0.1:notaport"));
    o.contact_points = "";
    assert_int_equal(sl_cqlc_new(&o, &c, &e), SL_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_encoding),
        cmocka_unit_test(test_startup_and_auth_bodies),
        cmocka_unit_test(test_decode_rows),
        cmocka_unit_test(test_decode_rows_truncated),
        cmocka_unit_test(test_decode_other_results),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_prepare_cache_and_reprepare),
        cmocka_unit_test(test_batch_prepares_entries),
        cmocka_unit_test(test_use_sets_keyspace),
        cmocka_unit_test(test_refused_version_and_close),
        cmocka_unit_test(test_bad_opts),
        cmocka_unit_test(test_tcp_auth_and_queries),
        cmocka_unit_test(test_tcp_refused_version),
        cmocka_unit_test(test_tcp_failover_and_no_host),
        cmocka_unit_test(test_tcp_open_times_out),
        cmocka_unit_test(test_tcp_timeout_and_connection_loss),
        cmocka_unit_test(test_tcp_shared_loop),
        cmocka_unit_test(test_batches_against_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
