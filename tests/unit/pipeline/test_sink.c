/* test_sink.c: the sinks without a server: cql:// URL parsing (credentials, %-escapes, contact
 * points, keyspace.table, consistency) and postgresql:// splitting (table=), each bad URL with
 * its reason; CQL serialized values and PostgreSQL binary COPY tuples byte by byte; and
 * sl_sink_open's refusals (scheme, columns) before any connection. */
#include "core/buf.h"
#include "cql/client.h"
#include "pipeline/sink.h"
#include "pipeline/sink_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_cql_url(void **state)
{
    (void)state;
    sl__sink_cql_url u;
    char err[256];
    assert_int_equal(sl__sink_cql_url_parse("cql://127.0.0.1:9042/spark_streams.created_users", &u,
                                            err, sizeof err),
                     0);
    assert_null(u.user);
    assert_null(u.password);
    assert_string_equal(u.hosts, "127.0.0.1:9042");
    assert_string_equal(u.keyspace, "spark_streams");
    assert_string_equal(u.table, "created_users");
    assert_int_equal(u.consistency, SL_CQLC_ONE);
    assert_int_equal(u.batch_rows, 32);
    sl__sink_cql_url_free(&u);

    assert_int_equal(
        sl__sink_cql_url_parse("cql://h/ks.t?batch_rows=1&consistency=quorum", &u, err, sizeof err),
        0);
    assert_int_equal(u.batch_rows, 1);
    assert_int_equal(u.consistency, SL_CQLC_QUORUM);
    sl__sink_cql_url_free(&u);
    assert_int_equal(sl__sink_cql_url_parse("cql://h/ks.t?BATCH_ROWS=1000", &u, err, sizeof err),
                     0);
    assert_int_equal(u.batch_rows, 1000);
    sl__sink_cql_url_free(&u);

    assert_int_equal(sl__sink_cql_url_parse("CQL://al%40ice:p%3As%2Fw@h1:9042,h2,[::1]:9043/"
                                            "Ks_1.T2?consistency=local_quorum",
                                            &u, err, sizeof err),
                     0);
    assert_string_equal(u.user, "al@ice");
    assert_string_equal(u.password, "p:s/w");
    assert_string_equal(u.hosts, "h1:9042,h2,[::1]:9043");
    assert_string_equal(u.keyspace, "Ks_1");
    assert_string_equal(u.table, "T2");
    assert_int_equal(u.consistency, SL_CQLC_LOCAL_QUORUM);
    sl__sink_cql_url_free(&u);

    /* No path: the seeds' table; a user without a password. */
    assert_int_equal(sl__sink_cql_url_parse("cql://bob@localhost", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "bob");
    assert_null(u.password);
    assert_string_equal(u.keyspace, "spark_streams");
    assert_string_equal(u.table, "created_users");
    sl__sink_cql_url_free(&u);
}

/* What sluice up builds: a user and a CA path holding every URL delimiter come back whole. */
static void test_url_escape_roundtrip(void **state)
{
    (void)state;
    const char *user = "al&ice %x#y?z w/@:", *ca = "/tmp/a&b %c#d?e/ca+1.pem";
    sl_buf b = SL_BUF_INIT;
    sl_sink_url_escape(&b, user);
    assert_string_equal(sl_buf_cstr(&b), "al%26ice%20%25x%23y%3Fz%20w%2F%40%3A");
    char *back = sl_sink_url_unescape((const char *)b.ptr, b.len);
    assert_string_equal(back, user);
    sl_free(back);

    sl_buf_reset(&b);
    sl_buf_append_str(&b, "cql://");
    sl_sink_url_escape(&b, user);
    sl_buf_append_str(&b, "@127.0.0.1:9042/ks.t?tls_ca=");
    sl_sink_url_escape(&b, ca);
    sl_buf_append_str(&b, "&batch_rows=7");
    sl__sink_cql_url u;
    char err[256] = "";
    assert_int_equal(sl__sink_cql_url_parse(sl_buf_cstr(&b), &u, err, sizeof err), 0);
    assert_string_equal(u.user, user);
    assert_null(u.password);
    assert_string_equal(u.hosts, "127.0.0.1:9042");
    assert_string_equal(u.tls_ca, ca);
    assert_int_equal(u.batch_rows, 7);
    sl__sink_cql_url_free(&u);
    sl_buf_free(&b);

    /* Unreserved bytes pass as they are; bad escapes are refused, never half-decoded. */
    sl_buf_reset(&b);
    sl_sink_url_escape(&b, "Az09-._~");
    assert_string_equal(sl_buf_cstr(&b), "Az09-._~");
    sl_buf_free(&b);
    assert_null(sl_sink_url_unescape("a%2", 3));
    assert_null(sl_sink_url_unescape("a%zz", 4));
    assert_null(sl_sink_url_unescape("a%00", 4));
    back = sl_sink_url_unescape("%41%62c", 7);
    assert_string_equal(back, "Abc");
    sl_free(back);
}

static void expect_cql_url_error(const char *url, const char *reason)
{
    sl__sink_cql_url u;
    char err[256] = "";
    assert_int_equal(sl__sink_cql_url_parse(url, &u, err, sizeof err), SL_ERR_INVAL);
    if (!strstr(err, reason)) fail_msg("%s: \"%s\" lacks \"%s\"", url, err, reason);
    assert_null(u.hosts);
}

static void test_cql_url_errors(void **state)
{
    (void)state;
    expect_cql_url_error("http://h/ks.t", "must start with cql://");
    expect_cql_url_error("cql:///ks.t", "no host");
    expect_cql_url_error("cql://u:p@/ks.t", "no host");
    expect_cql_url_error("cql://h1,,h2/ks.t", "empty host");
    expect_cql_url_error("cql://h1 h2/ks.t", "bad character ' '");
    expect_cql_url_error("cql://h/kstable", "must be /KEYSPACE.TABLE");
    expect_cql_url_error("cql://h/ks.ta-ble", "bad keyspace or table name");
    expect_cql_url_error("cql://h/1ks.t", "bad keyspace or table name");
    expect_cql_url_error("cql://h/ks.", "bad keyspace or table name");
    expect_cql_url_error("cql://h/ks.t?consistency=MOST", "unknown consistency \"MOST\"");
    expect_cql_url_error("cql://h/ks.t?ttl=5", "unknown URL parameter \"ttl\"");
    expect_cql_url_error("cql://h/ks.t?batch_rows=0", "batch_rows \"0\" must be 1..1000");
    expect_cql_url_error("cql://h/ks.t?batch_rows=1001", "batch_rows \"1001\" must be 1..1000");
    expect_cql_url_error("cql://h/ks.t?batch_rows=", "batch_rows \"\" must be 1..1000");
    expect_cql_url_error("cql://h/ks.t?batch_rows=3x", "batch_rows \"3x\" must be 1..1000");
    expect_cql_url_error("cql://h/ks.t?batch_rows=99999999999999999999", "must be 1..1000");
    expect_cql_url_error("cql://:p@h/ks.t", "bad user:password");
    expect_cql_url_error("cql://u:p%4@h/ks.t", "bad user:password");
    expect_cql_url_error("cql://u%00:p@h/ks.t", "bad user:password");
}

static void test_cql_values(void **state)
{
    (void)state;
    uint8_t tmp[16];
    sl_slice out;
    sl_sink_value v = {0};

    v.null = true;
    assert_int_equal(sl__sink_cql_value(SL_SINK_TEXT, &v, tmp, &out), 0);
    assert_null(out.ptr);

    memset(&v, 0, sizeof v);
    assert_int_equal(sl__sink_cql_value(SL_SINK_TEXT, &v, tmp, &out), 0);
    assert_non_null(out.ptr); /* empty text is not null */
    assert_int_equal(out.len, 0);
    v.str = "héllo";
    v.len = strlen(v.str);
    assert_int_equal(sl__sink_cql_value(SL_SINK_TEXT, &v, tmp, &out), 0);
    assert_ptr_equal(out.ptr, v.str);
    assert_int_equal(out.len, 6);
    v.str = NULL;
    assert_int_equal(sl__sink_cql_value(SL_SINK_TEXT, &v, tmp, &out), SL_ERR_INVAL);

    memset(&v, 0, sizeof v);
    for (int i = 0; i < 16; i++)
        v.v.uuid[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(sl__sink_cql_value(SL_SINK_UUID, &v, tmp, &out), 0);
    assert_int_equal(out.len, 16);
    assert_memory_equal(out.ptr, v.v.uuid, 16);

    memset(&v, 0, sizeof v);
    v.v.i64 = -2;
    assert_int_equal(sl__sink_cql_value(SL_SINK_INT, &v, tmp, &out), 0);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.ptr, "\xff\xff\xff\xfe", 4);
    v.v.i64 = (int64_t)INT32_MAX + 1;
    assert_int_equal(sl__sink_cql_value(SL_SINK_INT, &v, tmp, &out), SL_ERR_INVAL);

    v.v.i64 = 0x0102030405060708;
    assert_int_equal(sl__sink_cql_value(SL_SINK_BIGINT, &v, tmp, &out), 0);
    assert_memory_equal(out.ptr, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    v.v.i64 = 1700000000123; /* ms since the epoch, as CQL's timestamp */
    assert_int_equal(sl__sink_cql_value(SL_SINK_TIMESTAMP, &v, tmp, &out), 0);
    assert_memory_equal(out.ptr, "\x00\x00\x01\x8b\xcf\xe5\x68\x7b", 8);

    v.v.f64 = 1.5;
    assert_int_equal(sl__sink_cql_value(SL_SINK_DOUBLE, &v, tmp, &out), 0);
    assert_memory_equal(out.ptr, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8);

    v.v.b = true;
    assert_int_equal(sl__sink_cql_value(SL_SINK_BOOLEAN, &v, tmp, &out), 0);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.ptr[0], 1);

    assert_string_equal(sl__sink_cql_type(SL_SINK_TIMESTAMP), "timestamp");
    assert_string_equal(sl__sink_cql_type(SL_SINK_TEXT), "text");
}

static void test_pg_url(void **state)
{
    (void)state;
    char *ci, *tb, err[256];
    assert_int_equal(
        sl__sink_pg_url_split("postgresql://u:p@127.0.0.1:5432/db", &ci, &tb, err, sizeof err), 0);
    assert_string_equal(ci, "postgresql://u:p@127.0.0.1:5432/db");
    assert_string_equal(tb, "created_users");
    free(ci);
    free(tb);

    assert_int_equal(
        sl__sink_pg_url_split("postgres://h/db?sslmode=disable&table=stage.users&connect_timeout=3",
                              &ci, &tb, err, sizeof err),
        0);
    assert_string_equal(ci, "postgres://h/db?sslmode=disable&connect_timeout=3");
    assert_string_equal(tb, "stage.users");
    free(ci);
    free(tb);

    assert_int_equal(
        sl__sink_pg_url_split("postgresql:///db?table=t%5F1", &ci, &tb, err, sizeof err), 0);
    assert_string_equal(ci, "postgresql:///db");
    assert_string_equal(tb, "t_1");
    free(ci);
    free(tb);

    assert_int_equal(sl__sink_pg_url_split("mysql://h/db", &ci, &tb, err, sizeof err),
                     SL_ERR_INVAL);
    assert_non_null(strstr(err, "must start with postgresql://"));
    assert_int_equal(
        sl__sink_pg_url_split("postgresql://h/db?table=a;drop", &ci, &tb, err, sizeof err),
        SL_ERR_INVAL);
    assert_non_null(strstr(err, "bad table name \"a;drop\""));
    assert_int_equal(
        sl__sink_pg_url_split("postgresql://h/db?table=a.b.c", &ci, &tb, err, sizeof err),
        SL_ERR_INVAL);
    assert_null(ci);
    assert_null(tb);
    assert_int_equal(
        sl__sink_pg_url_split("postgresql://h/db?table=t%zz", &ci, &tb, err, sizeof err),
        SL_ERR_INVAL);
    assert_non_null(strstr(err, "bad %-escape in \"table=t%zz\""));
    assert_null(ci);
    assert_null(tb);
}

static void test_pg_copy(void **state)
{
    (void)state;
    static const sl_sink_column cols[] = {
        {"id", SL_SINK_UUID},      {"name", SL_SINK_TEXT}, {"n", SL_SINK_INT},
        {"big", SL_SINK_BIGINT},   {"d", SL_SINK_DOUBLE},  {"b", SL_SINK_BOOLEAN},
        {"ts", SL_SINK_TIMESTAMP},
    };
    sl_sink_value row[7];
    memset(row, 0, sizeof row);
    memset(row[0].v.uuid, 0x11, 16);
    row[1].str = "ab";
    row[1].len = 2;
    row[2].v.i64 = -1;
    row[3].null = true;
    row[4].v.f64 = 1.5;
    row[5].v.b = true;
    row[6].v.i64 = 946684800001; /* 2000-01-01 00:00:00.001 UTC: 1000 us after PG's epoch */
    sl_buf b = SL_BUF_INIT;
    char err[128];
    sl__sink_pg_copy_header(&b);
    assert_int_equal(b.len, 19);
    assert_memory_equal(b.ptr, "PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0", 19);
    sl_buf_reset(&b);
    assert_int_equal(sl__sink_pg_copy_row(&b, cols, 7, row, err, sizeof err), 0);
    static const uint8_t want[] = {
        0,    7, /* fields */
        0,    0,    0,    16,   0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,                               /* uuid */
        0,    0,    0,    2,    'a',  'b',                                      /* text */
        0,    0,    0,    4,    0xff, 0xff, 0xff, 0xff,                         /* int4 -1 */
        0xff, 0xff, 0xff, 0xff,                                                 /* null */
        0,    0,    0,    8,    0x3f, 0xf8, 0,    0,    0,    0,    0,    0,    /* float8 1.5 */
        0,    0,    0,    1,    1,                                              /* bool */
        0,    0,    0,    8,    0,    0,    0,    0,    0,    0,    0x03, 0xe8, /* timestamptz 1000
                                                                                   us */
    };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.ptr, want, sizeof want);

    /* A value out of range appends nothing and names the column. */
    size_t len = b.len;
    row[2].v.i64 = INT64_C(1) << 40;
    assert_int_equal(sl__sink_pg_copy_row(&b, cols, 7, row, err, sizeof err), SL_ERR_INVAL);
    assert_int_equal(b.len, len);
    assert_string_equal(err, "column n: value out of range for integer");
    row[2].v.i64 = 0;
    row[1].str = "a\0b";
    row[1].len = 3;
    assert_int_equal(sl__sink_pg_copy_row(&b, cols, 7, row, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "column name: text with a NUL byte (PostgreSQL refuses it)");
    row[1].len = 1;
    row[6].v.i64 = INT64_MAX;
    assert_int_equal(sl__sink_pg_copy_row(&b, cols, 7, row, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "column ts: value out of range for timestamptz");

    sl_buf_reset(&b);
    sl__sink_pg_copy_trailer(&b);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.ptr, "\xff\xff", 2);
    sl_buf_free(&b);
    assert_string_equal(sl__sink_pg_type(SL_SINK_DOUBLE), "double precision");
}

static void test_idents(void **state)
{
    (void)state;
    assert_true(sl__sink_ident_ok("created_users", 13));
    assert_true(sl__sink_ident_ok("_x9", 3));
    assert_false(sl__sink_ident_ok("9x", 2));
    assert_false(sl__sink_ident_ok("a\"b", 3));
    assert_false(sl__sink_ident_ok("", 0));
    char long_name[50];
    memset(long_name, 'a', 49);
    assert_true(sl__sink_ident_ok(long_name, 48));
    assert_false(sl__sink_ident_ok(long_name, 49));
    sl_buf b = SL_BUF_INIT;
    sl__sink_ident_append(&b, "Spark_Streams", 13);
    assert_string_equal(sl_buf_cstr(&b), "\"spark_streams\"");
    sl_buf_free(&b);
}

static void expect_open_error(const sl_sink_config *cfg, const char *reason)
{
    sl_sink *s = (sl_sink *)1;
    char err[256] = "";
    assert_int_equal(sl_sink_open(cfg, &s, err, sizeof err), SL_ERR_INVAL);
    assert_null(s);
    if (!strstr(err, reason)) fail_msg("\"%s\" lacks \"%s\"", err, reason);
}

static void test_open_refusals(void **state)
{
    (void)state;
    sl_sink_column cols[] = {{"id", SL_SINK_UUID}, {"name", SL_SINK_TEXT}};
    sl_sink_config cfg = {"redis://h/x", cols, 2, 0, 0};
    expect_open_error(&cfg, "unsupported URL scheme \"redis\" (expected cql:// or postgresql://)");
    cfg.url = "redis://user:secret@h/x";
    char err0[256];
    sl_sink *s0;
    assert_int_equal(sl_sink_open(&cfg, &s0, err0, sizeof err0), SL_ERR_INVAL);
    assert_null(strstr(err0, "secret")); /* never echo a password */
    cfg.url = "user:secret@h";
    expect_open_error(&cfg, "unsupported URL: no scheme");
    cfg.url = "cql://user:secret@h/ks.t";
    cfg.ncols = 0;
    expect_open_error(&cfg, "0 columns");
    cfg.ncols = 2;
    cols[1].name = "na me";
    expect_open_error(&cfg, "column 1: bad name \"na me\"");
    cols[1].name = "ID";
    expect_open_error(&cfg, "column ID appears twice");
    cols[1].name = "name";
    cols[1].type = (sl_sink_type)42;
    expect_open_error(&cfg, "unknown type 42");
    cols[1].type = SL_SINK_TEXT;
    cfg.max_inflight = -1;
    expect_open_error(&cfg, "negative max_inflight");
    cfg.max_inflight = 0;
    cfg.url = "cql://h/ks.t?x=1";
    expect_open_error(&cfg, "unknown URL parameter");
    cfg.url = NULL;
    expect_open_error(&cfg, "no URL");

    sl_sink_config out;
    char err[64];
    cfg.url = "cql://h/ks.t";
    assert_int_equal(sl__sink_config_check(&cfg, &out, err, sizeof err), 0);
    assert_int_equal(out.max_inflight, 256);
    assert_int_equal(out.timeout_ms, 10000);
}

/* A sink kind that records what sl_sink_write hands it. */
typedef struct fake_sink {
    sl_sink base;
    size_t n, idx[64];
    int writes;
} fake_sink;

static int fake_open(const sl_sink_config *cfg, sl_sink **out, char *err, size_t errlen)
{
    (void)cfg, (void)err, (void)errlen;
    *out = calloc(1, sizeof(fake_sink));
    return 0;
}

static int fake_write(sl_sink *base, const sl_sink_value *rows, const size_t *idx, size_t n,
                      char *err, size_t errlen)
{
    (void)rows, (void)err, (void)errlen;
    fake_sink *f = (fake_sink *)base;
    f->n = n;
    memcpy(f->idx, idx, n * sizeof *idx);
    f->writes++;
    return 0;
}

static void fake_close(sl_sink *s)
{
    free(s);
}

static const sl__sink_ops fake_ops = {"fake", fake_open, fake_write, fake_close};

static void test_write_dedupe_and_checks(void **state)
{
    (void)state;
    sl_sink_column cols[] = {{"k", SL_SINK_TEXT}, {"n", SL_SINK_INT}};
    sl_sink_config cfg = {"fake://", cols, 2, 0, 0};
    sl_sink *s;
    char err[256];
    assert_int_equal(sl__sink_open_ops(&fake_ops, &cfg, &s, err, sizeof err), 0);
    fake_sink *f = (fake_sink *)s;
    const char *keys[] = {"a", "b", "a", "c", "b", "a", ""};
    sl_sink_value rows[7][2];
    memset(rows, 0, sizeof rows);
    for (int r = 0; r < 7; r++) {
        rows[r][0].str = keys[r];
        rows[r][0].len = strlen(keys[r]);
        rows[r][1].v.i64 = r;
    }
    /* The last row of each key, in batch order: c (3), b (4), a (5), "" (6). */
    assert_int_equal(sl_sink_write(s, &rows[0][0], 7, err, sizeof err), 0);
    assert_int_equal(f->n, 4);
    assert_int_equal(f->idx[0], 3);
    assert_int_equal(f->idx[1], 4);
    assert_int_equal(f->idx[2], 5);
    assert_int_equal(f->idx[3], 6);
    /* No repeated key: every row, in order. */
    assert_int_equal(sl_sink_write(s, &rows[3][0], 4, err, sizeof err), 0);
    assert_int_equal(f->n, 4);
    assert_int_equal(f->idx[3], 3);
    /* An empty batch never reaches the kind. */
    assert_int_equal(sl_sink_write(s, &rows[0][0], 0, err, sizeof err), 0);
    assert_int_equal(f->writes, 2);

    /* Refusals name the row and column, before the kind sees anything. */
    rows[2][0].null = true;
    assert_int_equal(sl_sink_write(s, &rows[0][0], 7, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "row 2: the primary key (column 0) is null");
    rows[2][0].null = false;
    rows[4][1].v.i64 = -(INT64_C(1) << 31) - 1;
    assert_int_equal(sl_sink_write(s, &rows[0][0], 7, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "row 4 column n: -2147483649 is out of range for int");
    rows[4][1].v.i64 = 0;
    rows[5][0].str = NULL;
    assert_int_equal(sl_sink_write(s, &rows[0][0], 7, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "row 5 column k: text of 1 bytes at NULL");
    assert_int_equal(f->writes, 2);
    sl_sink_close(s);

    /* Keys of each type compare by value: uuid and bigint. */
    sl_sink_column ucols[] = {{"id", SL_SINK_UUID}};
    cfg.cols = ucols;
    cfg.ncols = 1;
    assert_int_equal(sl__sink_open_ops(&fake_ops, &cfg, &s, err, sizeof err), 0);
    f = (fake_sink *)s;
    sl_sink_value u[40];
    memset(u, 0, sizeof u);
    for (int r = 0; r < 40; r++)
        u[r].v.uuid[15] = (uint8_t)(r % 13);
    assert_int_equal(sl_sink_write(s, u, 40, err, sizeof err), 0);
    assert_int_equal(f->n, 13);
    for (int i = 0; i < 13; i++)
        assert_int_equal(f->idx[i], 27 + i);
    sl_sink_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cql_url),
        cmocka_unit_test(test_cql_url_errors),
        cmocka_unit_test(test_url_escape_roundtrip),
        cmocka_unit_test(test_cql_values),
        cmocka_unit_test(test_pg_url),
        cmocka_unit_test(test_pg_copy),
        cmocka_unit_test(test_idents),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_write_dedupe_and_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
