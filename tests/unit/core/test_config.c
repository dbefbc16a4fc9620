/* test_config.c: YAML loading (file and string) with line numbers; syntax errors, duplicate
 * keys, anchors and aliases reported as file:line; option tables with defaults, nested maps,
 * unknown keys, wrong kinds and bad values, all collected; and the command-line parser. */
#include "core/buf.h"
#include "core/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct broker_cfg {
    char *listen;
    char *data_dir;
    int64_t partitions;
    bool auto_create;
    int64_t retention_ms;
    int64_t segment_bytes;
    char *fsync;
    char *tls_cert;
    int64_t tls_timeout_ms;
} broker_cfg;

static const sl_opt broker_opts[] = {
    {.name = "listen",
     .type = SL_OPT_HOSTPORT,
     .def = "127.0.0.1:9092",
     .offset = offsetof(broker_cfg, listen),
     .help = "address to bind"},
    {.name = "data_dir",
     .type = SL_OPT_STR,
     .def = "sluice-data",
     .offset = offsetof(broker_cfg, data_dir),
     .help = "where data lives"},
    {.name = "partitions",
     .type = SL_OPT_INT,
     .def = "1",
     .offset = offsetof(broker_cfg, partitions),
     .help = "default partitions",
     .min = 1,
     .max = 1000},
    {.name = "auto_create",
     .type = SL_OPT_BOOL,
     .def = "true",
     .offset = offsetof(broker_cfg, auto_create),
     .help = "create topics"},
    {.name = "retention",
     .type = SL_OPT_DURATION,
     .def = "7d",
     .offset = offsetof(broker_cfg, retention_ms),
     .help = "keep data for",
     .min = 1000,
     .max = INT64_MAX},
    {.name = "segment_bytes",
     .type = SL_OPT_SIZE,
     .def = "1g",
     .offset = offsetof(broker_cfg, segment_bytes),
     .help = "segment size",
     .min = 1024,
     .max = 1LL << 40},
    {.name = "fsync",
     .type = SL_OPT_ENUM,
     .def = "always",
     .offset = offsetof(broker_cfg, fsync),
     .help = "when to fsync",
     .choices = "always|interval|os"},
    {.name = "tls.cert",
     .type = SL_OPT_STR,
     .offset = offsetof(broker_cfg, tls_cert),
     .help = "certificate file"},
    {.name = "tls.timeout",
     .type = SL_OPT_DURATION,
     .def = "10s",
     .offset = offsetof(broker_cfg, tls_timeout_ms),
     .help = "handshake timeout"},
    {.name = NULL},
};

/* Joins the error list into one string for easy matching. */
static char *errs_text(const sl_errs *e)
{
    size_t n = 1;
    for (size_t i = 0; i < e->n; i++)
        n += strlen(e->msgs[i]) + 1;
    char *s = calloc(1, n);
    for (size_t i = 0; i < e->n; i++) {
        strcat(s, e->msgs[i]);
        strcat(s, "\n");
    }
    return s;
}

static void assert_has_error(const sl_errs *e, const char *want)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->msgs[i], want)) return;
    char *all = errs_text(e);
    fail_msg("missing error '%s' in:\n%s", want, all);
    free(all);
}

static sl_yaml *load(const char *text, sl_errs *e)
{
    sl_yaml *y = NULL;
    int rc = sl_yaml_load_str(text, strlen(text), "sluice.yaml", &y, e);
    if (rc != 0) assert_null(y);
    return y;
}

static void test_errs(void **state)
{
    (void)state;
    sl_errs e = {0};
    sl_errs_add(&e, "a.yaml", 3, "broker.listen: %s", "bad");
    sl_errs_add(&e, "a.yaml", 0, "cannot read");
    sl_errs_add(&e, NULL, 0, "plain %d", 7);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.msgs[0], "a.yaml:3: broker.listen: bad");
    assert_string_equal(e.msgs[1], "a.yaml: cannot read");
    assert_string_equal(e.msgs[2], "plain 7");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sl_errs_print(&e, f);
    fclose(f);
    assert_string_equal(buf, "a.yaml:3: broker.listen: bad\na.yaml: cannot read\nplain 7\n");
    free(buf);
    sl_errs_free(&e);
    assert_int_equal(e.n, 0);
    assert_null(e.msgs);
}

static void test_yaml_tree(void **state)
{
    (void)state;
    sl_errs e = {0};
    sl_yaml *y = load("# comment\n"
                      "broker:\n"
                      "  listen: 127.0.0.1:9093\n"
                      "  empty:\n"
                      "  tilde: ~\n"
                      "  quoted: \"\"\n"
                      "  list: [a, b, 3]\n"
                      "store:\n"
                      "  nested:\n"
                      "    deep: 'x y'\n"
                      "multi: |\n"
                      "  line one\n"
                      "  line two\n",
                      &e);
    assert_int_equal(e.n, 0);
    assert_non_null(y);
    assert_int_equal(y->kind, SL_YAML_MAP);
    assert_string_equal(y->file, "sluice.yaml");
    assert_int_equal(y->n, 3);
    assert_string_equal(y->keys[0], "broker");
    assert_int_equal(y->key_lines[0], 2);
    assert_string_equal(y->keys[1], "store");
    assert_int_equal(y->key_lines[1], 8);

    const sl_yaml *l = sl_yaml_get(y, "broker.listen");
    assert_non_null(l);
    assert_int_equal(l->kind, SL_YAML_SCALAR);
    assert_string_equal(l->scalar, "127.0.0.1:9093");
    assert_int_equal(l->line, 3);
    assert_string_equal(l->file, "sluice.yaml");
    assert_null(sl_yaml_get(y, "broker.empty")->scalar);
    assert_null(sl_yaml_get(y, "broker.tilde")->scalar);
    assert_string_equal(sl_yaml_get(y, "broker.quoted")->scalar, "");
    const sl_yaml *list = sl_yaml_get(y, "broker.list");
    assert_int_equal(list->kind, SL_YAML_SEQ);
    assert_int_equal(list->n, 3);
    assert_null(list->keys);
    assert_string_equal(list->items[2]->scalar, "3");
    assert_int_equal(list->items[2]->line, 7);
    assert_string_equal(sl_yaml_get(y, "store.nested.deep")->scalar, "x y");
    assert_int_equal(sl_yaml_get(y, "store.nested.deep")->line, 10);
    assert_string_equal(sl_yaml_get(y, "multi")->scalar, "line one\nline two\n");

    assert_null(sl_yaml_get(y, "nope"));
    assert_null(sl_yaml_get(y, "broker.nope"));
    assert_null(sl_yaml_get(y, "broker.listen.deeper")); /* a scalar is not a map */
    assert_null(sl_yaml_get(y, "broker.list.0"));
    assert_null(sl_yaml_get(NULL, "x"));
    sl_yaml_free(y);
}

static void test_yaml_empty_documents(void **state)
{
    (void)state;
    const char *empties[] = {"", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
    for (size_t i = 0; i < SL_ARRAY_LEN(empties); i++) {
        sl_errs e = {0};
        sl_yaml *y = load(empties[i], &e);
        assert_non_null(y);
        assert_int_equal(e.n, 0);
        assert_int_equal(y->kind, SL_YAML_MAP);
        assert_int_equal(y->n, 0);
        sl_yaml_free(y);
    }
    /* A top-level list loads; applying it as options is an error. */
    sl_errs e = {0};
    sl_yaml *y = load("- a\n- b\n", &e);
    assert_non_null(y);
    assert_int_equal(y->kind, SL_YAML_SEQ);
    broker_cfg c;
    sl_config_defaults(broker_opts, &c);
    assert_int_equal(sl_config_apply(broker_opts, &c, y, "broker", &e), 1);
    assert_has_error(&e, "sluice.yaml:1: broker: expected a map, got a list");
    sl_config_free(broker_opts, &c);
    sl_yaml_free(y);
    sl_errs_free(&e);
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *prefix; /* the error must start with this */
    } cases[] = {
        {"a: 1\nb: [1, 2\n", "sluice.yaml:3: syntax error: "},
        {"a: 1\n  b: 2\n", "sluice.yaml:2: syntax error: "},
        {"a:\n  - x\n  y: 1\n", "sluice.yaml:3: syntax error: "},
        {"a: \"unterminated\n", "sluice.yaml:2: syntax error: "},
        {"a: 1\n\tb: 2\n", "sluice.yaml:2: syntax error: "},
        {"a: 1\n---\nb: 2\n", "sluice.yaml:2: more than one YAML document"},
        {"a: \x01\n", "sluice.yaml: invalid text at byte 3: "},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_errs e = {0};
        sl_yaml *y = load(cases[i].text, &e);
        assert_null(y);
        assert_int_equal(e.n, 1);
        if (strncmp(e.msgs[0], cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, e.msgs[0], cases[i].prefix);
        sl_errs_free(&e);
    }
}

static void test_yaml_duplicates_and_aliases(void **state)
{
    (void)state;
    sl_errs e = {0};
    sl_yaml *y = load("broker:\n"
                      "  listen: a:1\n"
                      "  listen: b:2\n"
                      "base: &b\n"
                      "  x: 1\n"
                      "copy: *b\n"
                      "broker: {}\n"
                      "? [complex, key]\n"
                      ": 1\n",
                      &e);
    assert_null(y);
    /* Every problem is reported, each at its line. */
    assert_has_error(&e, "sluice.yaml:3: listen: duplicate key (first at line 2)");
    assert_has_error(&e, "sluice.yaml:4: anchors (&b) are not supported");
    assert_has_error(&e, "sluice.yaml:6: aliases (*b) are not supported");
    assert_has_error(&e, "sluice.yaml:7: broker: duplicate key (first at line 1)");
    assert_has_error(&e, "sluice.yaml:8: keys must be plain values, not a list");
    assert_int_equal(e.n, 5);
    sl_errs_free(&e);

    y = load("a: 1\n\"\": 2\n", &e);
    assert_null(y);
    assert_has_error(&e, "sluice.yaml:2: empty key");
    sl_errs_free(&e);
}

static void test_yaml_depth_limit(void **state)
{
    (void)state;
    sl_buf b = SL_BUF_INIT;
    for (int i = 0; i < 10000; i++)
        sl_buf_append_str(&b, "[");
    sl_errs e = {0};
    sl_yaml *y = NULL;
    assert_int_equal(sl_yaml_load_str((const char *)b.ptr, b.len, "deep.yaml", &y, &e),
                     SL_ERR_CONFIG);
    assert_null(y);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.msgs[0], "deep.yaml:1: nesting deeper than 64 levels");
    sl_errs_free(&e);
    sl_buf_free(&b);
}

static void test_yaml_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sl_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "broker:\n  partitions: 3\n  lisen: x\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    sl_errs e = {0};
    sl_yaml *y = NULL;
    assert_int_equal(sl_yaml_load_file(path, &y, &e), 0);
    assert_string_equal(y->file, path);
    broker_cfg c;
    sl_config_defaults(broker_opts, &c);
    assert_int_equal(sl_config_apply(broker_opts, &c, sl_yaml_get(y, "broker"), "broker", &e), 1);
    char want[128];
    snprintf(want, sizeof want, "%s:3: broker.lisen: unknown key (did you mean 'listen'?)", path);
    assert_has_error(&e, want);
    assert_int_equal(c.partitions, 3);
    sl_config_free(broker_opts, &c);
    sl_yaml_free(y);
    sl_errs_free(&e);
    unlink(path);

    assert_int_equal(sl_yaml_load_file("/nonexistent/sluice.yaml", &y, &e), SL_ERR_CONFIG);
    assert_null(y);
    assert_has_error(&e, "/nonexistent/sluice.yaml: cannot read: No such file or directory");
    sl_errs_free(&e);

    /* A syntax error in a file names the file and line. */
    char path2[] = "/tmp/sl_test_config_XXXXXX";
    fd = mkstemp(path2);
    text = "a: 1\nb: [\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(sl_yaml_load_file(path2, &y, &e), SL_ERR_CONFIG);
    assert_int_equal(e.n, 1);
    snprintf(want, sizeof want, "%s:3: syntax error: ", path2);
    assert_memory_equal(e.msgs[0], want, strlen(want));
    sl_errs_free(&e);
    unlink(path2);
}

static void test_defaults(void **state)
{
    (void)state;
    broker_cfg c;
    memset(&c, 0xAB, sizeof c);
    sl_config_defaults(broker_opts, &c);
    assert_string_equal(c.listen, "127.0.0.1:9092");
    assert_string_equal(c.data_dir, "sluice-data");
    assert_int_equal(c.partitions, 1);
    assert_true(c.auto_create);
    assert_int_equal(c.retention_ms, 7LL * 86400 * 1000);
    assert_int_equal(c.segment_bytes, 1LL << 30);
    assert_string_equal(c.fsync, "always");
    assert_null(c.tls_cert);
    assert_int_equal(c.tls_timeout_ms, 10000);
    sl_config_free(broker_opts, &c);
    assert_null(c.listen);
    assert_null(c.fsync);
}

static void test_apply_good(void **state)
{
    (void)state;
    sl_errs e = {0};
    sl_yaml *y = load("broker:\n"
                      "  listen: '[::1]:19092'\n"
                      "  data_dir: /var/lib/sluice\n"
                      "  partitions: 12\n"
                      "  auto_create: no\n"
                      "  retention: 30m\n"
                      "  segment_bytes: 64MiB\n"
                      "  fsync: interval\n"
                      "  tls:\n"
                      "    cert: /etc/cert.pem\n"
                      "  tls.timeout: 250ms\n",
                      &e);
    assert_non_null(y);
    broker_cfg c;
    sl_config_defaults(broker_opts, &c);
    assert_int_equal(sl_config_apply(broker_opts, &c, sl_yaml_get(y, "broker"), "broker", &e), 0);
    assert_int_equal(e.n, 0);
    assert_string_equal(c.listen, "[::1]:19092");
    assert_string_equal(c.data_dir, "/var/lib/sluice");
    assert_int_equal(c.partitions, 12);
    assert_false(c.auto_create);
    assert_int_equal(c.retention_ms, 30 * 60 * 1000);
    assert_int_equal(c.segment_bytes, 64LL << 20);
    assert_string_equal(c.fsync, "interval");
    assert_string_equal(c.tls_cert, "/etc/cert.pem");
    assert_int_equal(c.tls_timeout_ms, 250);
    /* A missing section applies nothing. */
    assert_int_equal(sl_config_apply(broker_opts, &c, sl_yaml_get(y, "store"), "store", &e), 0);
    sl_config_free(broker_opts, &c);
    sl_yaml_free(y);
}

static void test_apply_collects_all_errors(void **state)
{
    (void)state;
    sl_errs e = {0};
    sl_yaml *y;
    y = load("broker:\n"
             "  lisen: 127.0.0.1:1\n"
             "  listen: localhost\n"
             "  partitions: 0\n"
             "  auto_create: maybe\n"
             "  retention: 5 minutes\n"
             "  segment_bytes: 12\n"
             "  fsync: sometimes\n"
             "  data_dir: [a, b]\n"
             "  tls:\n"
             "    cert: {x: 1}\n"
             "    timout: 1s\n"
             "    timeout: soon\n"
             "  partitions_x: 1\n"
             "  tls.cert:\n"
             "  zzzzzzzz: 1\n"
             "  retention: 999999999999999999999d\n"
             "  tls: 5\n",
             &e);
    /* Duplicate keys are load errors; this document has "retention" and "tls" twice. */
    assert_null(y);
    assert_has_error(&e, "sluice.yaml:17: retention: duplicate key (first at line 6)");
    assert_has_error(&e, "sluice.yaml:18: tls: duplicate key (first at line 10)");
    sl_errs_free(&e);

    y = load("broker:\n"
             "  lisen: 127.0.0.1:1\n"
             "  listen: localhost\n"
             "  partitions: 0\n"
             "  auto_create: maybe\n"
             "  retention: 5 minutes\n"
             "  segment_bytes: 12\n"
             "  fsync: sometimes\n"
             "  data_dir: [a, b]\n"
             "  tls:\n"
             "    cert: {x: 1}\n"
             "    timout: 1s\n"
             "    timeout: soon\n"
             "  partitions_x: 1\n"
             "  tls.cert:\n"
             "  zzzzzzzz: 1\n",
             &e);
    assert_non_null(y);
    broker_cfg c;
    sl_config_defaults(broker_opts, &c);
    int n = sl_config_apply(broker_opts, &c, sl_yaml_get(y, "broker"), "broker", &e);
    assert_has_error(&e, "sluice.yaml:2: broker.lisen: unknown key (did you mean 'listen'?)");
    assert_has_error(&e, "sluice.yaml:3: broker.listen: 'localhost': expected HOST:PORT (e.g. "
                         "127.0.0.1:9092 or [::1]:9092)");
    assert_has_error(&e, "sluice.yaml:4: broker.partitions: '0' is out of range [1, 1000]");
    assert_has_error(&e, "sluice.yaml:5: broker.auto_create: 'maybe': not a boolean (use "
                         "true/false, yes/no, on/off, 1/0)");
    assert_has_error(&e, "sluice.yaml:6: broker.retention: '5 minutes': bad duration (use e.g. "
                         "250ms, 30s, 5m, 2h, 7d)");
    assert_has_error(&e, "sluice.yaml:7: broker.segment_bytes: '12' is out of range [1024 bytes, "
                         "1099511627776 bytes]");
    assert_has_error(&e, "sluice.yaml:8: broker.fsync: 'sometimes' is not one of "
                         "always|interval|os");
    assert_has_error(&e, "sluice.yaml:9: broker.data_dir: expected a value, got a list");
    assert_has_error(&e, "sluice.yaml:11: broker.tls.cert: expected a value, got a map");
    assert_has_error(&e, "sluice.yaml:12: broker.tls.timout: unknown key (did you mean "
                         "'tls.timeout'?)");
    assert_has_error(&e, "sluice.yaml:13: broker.tls.timeout: 'soon': bad duration (use e.g. "
                         "250ms, 30s, 5m, 2h, 7d)");
    assert_has_error(&e, "sluice.yaml:14: broker.partitions_x: unknown key (did you mean "
                         "'partitions'?)");
    assert_has_error(&e, "sluice.yaml:15: broker.tls.cert: missing value");
    assert_has_error(&e, "sluice.yaml:16: broker.zzzzzzzz: unknown key");
    assert_int_equal(n, 14);
    assert_int_equal(e.n, 14);
    /* Fields with bad values keep their defaults. */
    assert_string_equal(c.listen, "127.0.0.1:9092");
    assert_int_equal(c.partitions, 1);
    assert_string_equal(c.fsync, "always");
    sl_config_free(broker_opts, &c);
    sl_yaml_free(y);
    sl_errs_free(&e);

    /* A section that expects sub-keys given a scalar, and no section name. */
    y = load("tls: 5\nlisten: 1.2.3.4:5\n", &e);
    sl_config_defaults(broker_opts, &c);
    assert_int_equal(sl_config_apply(broker_opts, &c, y, NULL, &e), 1);
    assert_has_error(&e, "sluice.yaml:1: tls: expected a map, got a value");
    assert_string_equal(c.listen, "1.2.3.4:5");
    sl_config_free(broker_opts, &c);
    sl_yaml_free(y);
    sl_errs_free(&e);
}

static void test_int_bounds_and_forms(void **state)
{
    (void)state;
    typedef struct {
        int64_t free_int, port;
    } cfg;
    static const sl_opt opts[] = {
        {.name = "free_int", .type = SL_OPT_INT, .def = "-5", .offset = offsetof(cfg, free_int)},
        {.name = "port",
         .type = SL_OPT_INT,
         .def = "0",
         .offset = offsetof(cfg, port),
         .min = 0,
         .max = 65535},
        {.name = NULL},
    };
    cfg c;
    sl_config_defaults(opts, &c);
    assert_int_equal(c.free_int, -5);
    char err[256];
    assert_int_equal(sl_config_set(opts, &c, "free_int", "9223372036854775807", err, sizeof err),
                     0);
    assert_true(c.free_int == INT64_MAX);
    assert_int_equal(sl_config_set(opts, &c, "free_int", "-9223372036854775808", err, sizeof err),
                     0);
    assert_true(c.free_int == INT64_MIN);
    assert_int_equal(sl_config_set(opts, &c, "free_int", "9223372036854775808", err, sizeof err),
                     SL_ERR_CONFIG);
    assert_string_equal(err, "free_int: '9223372036854775808': not an integer");
    static const char *const bad[] = {"", " 1", "1 ", "0x10", "1e3", "12abc", "--1"};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        assert_int_equal(sl_config_set(opts, &c, "free_int", bad[i], err, sizeof err),
                         SL_ERR_CONFIG);
    assert_int_equal(sl_config_set(opts, &c, "port", "65535", err, sizeof err), 0);
    assert_int_equal(c.port, 65535);
    assert_int_equal(sl_config_set(opts, &c, "port", "65536", err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, "port: '65536' is out of range [0, 65535]");
    assert_int_equal(sl_config_set(opts, &c, "port", "-1", err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(c.port, 65535);
    assert_int_equal(sl_config_set(opts, &c, "nope", "1", err, sizeof err), SL_ERR_NOTFOUND);
    assert_string_equal(err, "nope: unknown option");
    /* Long values are cut in messages. */
    char longv[300];
    memset(longv, '9', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    assert_int_equal(sl_config_set(opts, &c, "port", longv, err, sizeof err), SL_ERR_CONFIG);
    assert_true(strlen(err) < 120);
    sl_config_free(opts, &c);
}

static void test_bool_forms(void **state)
{
    (void)state;
    typedef struct {
        bool b;
    } cfg;
    static const sl_opt opts[] = {{.name = "b", .type = SL_OPT_BOOL, .offset = offsetof(cfg, b)},
                                  {.name = NULL}};
    cfg c;
    sl_config_defaults(opts, &c);
    assert_false(c.b);
    char err[128];
    const char *yes[] = {"true", "TRUE", "yes", "On", "1"};
    const char *no[] = {"false", "No", "off", "0"};
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        c.b = false;
        assert_int_equal(sl_config_set(opts, &c, "b", yes[i], err, sizeof err), 0);
        assert_true(c.b);
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(no); i++) {
        c.b = true;
        assert_int_equal(sl_config_set(opts, &c, "b", no[i], err, sizeof err), 0);
        assert_false(c.b);
    }
    assert_int_equal(sl_config_set(opts, &c, "b", "2", err, sizeof err), SL_ERR_CONFIG);
    assert_int_equal(sl_config_set(opts, &c, "b", "", err, sizeof err), SL_ERR_CONFIG);
}

static void test_help(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sl_config_help(broker_opts, f);
    fclose(f);
    /* One line per option, flags with '-' for '_', help texts aligned in one column. */
    static const char *const want[][2] = {
        {"  --listen HOST:PORT ", "address to bind (default: 127.0.0.1:9092)\n"},
        {"  --data-dir VALUE ", "where data lives (default: sluice-data)\n"},
        {"  --partitions N ", "default partitions (default: 1)\n"},
        {"  --auto-create ", "create topics (default: true)\n"},
        {"  --retention DURATION ", "keep data for (default: 7d)\n"},
        {"  --segment-bytes SIZE ", "segment size (default: 1g)\n"},
        {"  --fsync always|interval|os ", "when to fsync (default: always)\n"},
        {"  --tls.cert VALUE ", "certificate file\n"},
        {"  --tls.timeout DURATION ", "handshake timeout (default: 10s)\n"},
    };
    const char *line = buf;
    long col = -1;
    for (size_t i = 0; i < SL_ARRAY_LEN(want); i++) {
        assert_memory_equal(line, want[i][0], strlen(want[i][0]));
        const char *help = strstr(line, want[i][1]);
        assert_non_null(help);
        if (col < 0) col = help - line;
        assert_int_equal(help - line, col);
        line = help + strlen(want[i][1]);
    }
    assert_string_equal(line, "");
    free(buf);
}

/* Runs sl_args_parse with stderr captured; returns the rc and stores stderr's text. */
static int parse_args(broker_cfg *c, int argc, char **argv, int *argi, char *errout, size_t errlen)
{
    fflush(stderr);
    int saved = dup(2);
    char path[] = "/tmp/sl_test_args_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    dup2(fd, 2);
    int rc =
        sl_args_parse(broker_opts, c, "broker", "broker [--listen HOST:PORT]", argc, argv, argi);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, errout, errlen - 1, 0);
    errout[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static void test_args(void **state)
{
    (void)state;
    broker_cfg c;
    char err[512];
    sl_config_defaults(broker_opts, &c);
    char *argv[] = {
        "broker",         "--listen", "127.0.0.1:1", "--data-dir=/tmp/x", "--auto-create",
        "--partitions=7", "--fsync",  "os",          "--retention",       "1h",
        "topic",          "--tail"};
    int argi = 1;
    assert_int_equal(parse_args(&c, SL_ARRAY_LEN(argv), argv, &argi, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(argi, 10); /* stopped at the first positional */
    assert_string_equal(c.listen, "127.0.0.1:1");
    assert_string_equal(c.data_dir, "/tmp/x");
    assert_true(c.auto_create);
    assert_int_equal(c.partitions, 7);
    assert_string_equal(c.fsync, "os");
    assert_int_equal(c.retention_ms, 3600000);

    /* "--" ends flags; "--flag=false" turns a bool off; data_dir and data-dir are one name. */
    char *argv2[] = {"broker", "--auto-create=false", "--data_dir", "d", "--", "--listen"};
    argi = 1;
    assert_int_equal(parse_args(&c, SL_ARRAY_LEN(argv2), argv2, &argi, err, sizeof err), 0);
    assert_int_equal(argi, 5);
    assert_false(c.auto_create);
    assert_string_equal(c.data_dir, "d");

    /* Errors: one line naming the command, SL_ERR_INVAL. */
    char *unknown[] = {"broker", "--lisen=1"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, unknown, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err,
                        "sluice broker: unknown flag '--lisen' (try 'sluice broker --help')\n");
    char *bad[] = {"broker", "--partitions", "lots"};
    argi = 1;
    assert_int_equal(parse_args(&c, 3, bad, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "sluice broker: --partitions: 'lots': not an integer\n");
    char *range[] = {"broker", "--partitions=0"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, range, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "sluice broker: --partitions: '0' is out of range [1, 1000]\n");
    char *missing[] = {"broker", "--listen"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, missing, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "sluice broker: --listen needs a value\n");
    char *badbool[] = {"broker", "--auto-create=perhaps"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, badbool, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_non_null(strstr(err, "sluice broker: --auto-create: 'perhaps': not a boolean"));
    char *single[] = {"broker", "-x"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, single, &argi, err, sizeof err), SL_ERR_INVAL);
    assert_string_equal(err, "sluice broker: unknown flag '-x' (try 'sluice broker --help')\n");

    /* A lone "-" is a positional (stdin by convention). */
    char *dash[] = {"broker", "-"};
    argi = 1;
    assert_int_equal(parse_args(&c, 2, dash, &argi, err, sizeof err), 0);
    assert_int_equal(argi, 1);
    sl_config_free(broker_opts, &c);
}

static void test_args_help(void **state)
{
    (void)state;
    broker_cfg c;
    sl_config_defaults(broker_opts, &c);
    fflush(stdout);
    int saved = dup(1);
    char path[] = "/tmp/sl_test_help_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    dup2(fd, 1);
    char *argv[] = {"broker", "--listen", "1.2.3.4:5", "--help", "--bogus"};
    int argi = 1;
    int rc =
        sl_args_parse(broker_opts, &c, "broker", "broker [--listen HOST:PORT]", 5, argv, &argi);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char out[4096];
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    assert_int_equal(rc, 1);
    assert_memory_equal(out, "Usage: sluice broker [--listen HOST:PORT]\n\nOptions:\n", 51);
    assert_non_null(strstr(out, "--segment-bytes SIZE"));
    sl_config_free(broker_opts, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errs),
        cmocka_unit_test(test_yaml_tree),
        cmocka_unit_test(test_yaml_empty_documents),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_yaml_duplicates_and_aliases),
        cmocka_unit_test(test_yaml_depth_limit),
        cmocka_unit_test(test_yaml_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_apply_good),
        cmocka_unit_test(test_apply_collects_all_errors),
        cmocka_unit_test(test_int_bounds_and_forms),
        cmocka_unit_test(test_bool_forms),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_args_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
