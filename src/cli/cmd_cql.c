/* cmd_cql.c: `sluice cql`, a shell like cqlsh over the CQL client (src/cql/client.h), so it
 * reaches sluice's store and a real Cassandra alike.
 *
 *   sluice cql [HOST:PORT[,HOST:PORT...]] [-u USER -p PASS] [-k KEYSPACE] [-e STATEMENT]
 *              [-f FILE] [--prepared] [--request-timeout D]
 *
 * Statements end with ';' and may span lines. Results print as cqlsh prints them: a header row,
 * a separator of dashes and '+', the rows, then "(N rows)", every page of the result. DESCRIBE
 * is passed to the server (Cassandra 4 and sluice's store answer it) and its create_statement
 * rows are printed. USE changes the prompt. Errors read like cqlsh's; with -e, -f or a piped
 * stdin the exit status is 2 when any statement failed. --prepared sends each statement with
 * PREPARE and EXECUTE, as the processor does, instead of QUERY.
 *
 * Exit status: 0 success, 1 no connection, 2 a statement failed in batch mode or bad usage. */
#include "auth/auth.h"
#include "cli/commands.h"
#include "core/codec.h"
#include "core/config.h"
#include "core/log.h"
#include "core/sl.h"
#include "cql/client.h"
#include "cql/parser.h"
#include "cql/types.h"

#include <editline/readline.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CQL_USAGE                                                                                  \
    "cql [HOST:PORT[,HOST:PORT...]] [-u USER -p PASS] [-k KEYSPACE] [-e STATEMENT] [-f FILE] "     \
    "[--prepared] [--request-timeout D]"

#define PAGE_SIZE 1000

typedef struct cql_args {
    char *u, *p, *k, *e, *f;
    char *tls_ca, *tls_cert, *tls_key;
    bool prepared;
    int64_t request_timeout_ms;
    int64_t connect_timeout_ms;
} cql_args;

static const sl_opt cql_opts[] = {
    {"u", SL_OPT_STR, "cassandra", offsetof(cql_args, u), "user name", NULL, 0, 0},
    {"p", SL_OPT_STR, NULL, offsetof(cql_args, p),
     "password (default: $SLUICE_CQL_PASSWORD, or cassandra)", NULL, 0, 0},
    {"k", SL_OPT_STR, NULL, offsetof(cql_args, k), "keyspace to USE first", NULL, 0, 0},
    {"tls-ca", SL_OPT_STR, NULL, offsetof(cql_args, tls_ca),
     "connect with TLS, checking the server's certificate against this PEM CA file", NULL, 0, 0},
    {"tls-cert", SL_OPT_STR, NULL, offsetof(cql_args, tls_cert),
     "PEM client certificate, for a store started with --tls-ca", NULL, 0, 0},
    {"tls-key", SL_OPT_STR, NULL, offsetof(cql_args, tls_key), "PEM key of --tls-cert", NULL, 0, 0},
    {"e", SL_OPT_STR, NULL, offsetof(cql_args, e), "execute the statement(s) and exit", NULL, 0, 0},
    {"f", SL_OPT_STR, NULL, offsetof(cql_args, f), "execute the statements of FILE and exit", NULL,
     0, 0},
    {"prepared", SL_OPT_BOOL, "false", offsetof(cql_args, prepared),
     "send statements as PREPARE + EXECUTE (through the client's cache) instead of QUERY", NULL, 0,
     0},
    {"request-timeout", SL_OPT_DURATION, "12s", offsetof(cql_args, request_timeout_ms),
     "how long to wait for one request", NULL, 1, INT64_MAX},
    {"connect-timeout", SL_OPT_DURATION, "5s", offsetof(cql_args, connect_timeout_ms),
     "how long to wait for a connection", NULL, 1, INT64_MAX},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

typedef struct shell {
    sl_cqlc *c;
    bool prepared;
    bool tty;
    const char *source; /* "<stdin>" or the -f file, for error locations; NULL interactive */
    int errors;
    sl_buf out;
} shell;

/* Values, formatted as cqlsh shows them. */

static bool is_numeric(uint16_t id)
{
    switch (id) {
    case SL_CQLC_T_BIGINT:
    case SL_CQLC_T_COUNTER:
    case SL_CQLC_T_DECIMAL:
    case SL_CQLC_T_DOUBLE:
    case SL_CQLC_T_FLOAT:
    case SL_CQLC_T_INT:
    case SL_CQLC_T_VARINT:
    case SL_CQLC_T_SMALLINT:
    case SL_CQLC_T_TINYINT: return true;
    default: return false;
    }
}

static void fmt_hex(sl_buf *o, sl_slice v)
{
    sl_buf_append_str(o, "0x");
    for (size_t i = 0; i < v.len; i++)
        sl_buf_printf(o, "%02x", v.ptr[i]);
}

/* Display width: code points, so that UTF-8 text lines up. */
static size_t display_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((uint8_t)s[i] & 0xC0) != 0x80) w++;
    return w;
}

static void pad(sl_buf *o, size_t n)
{
    memset(sl_buf_extend(o, n), ' ', n);
}

/* One page as cqlsh prints it: header (first page only when not a terminal), rows. */
static void print_table(shell *sh, const sl_cqlc_result *res, bool header)
{
    size_t nc = res->ncols, nr = res->nrows;
    sl_buf cells = SL_BUF_INIT;
    size_t *off = sl_malloc(sizeof(size_t) * (nr * nc + 1));
    size_t *width = sl_calloc(nc ? nc : 1, sizeof(size_t));
    /* Values are formatted by types.h as cqlsh shows them; a type it cannot read shows blobs. */
    sl_cql_dtype **dt = sl_calloc(nc ? nc : 1, sizeof(*dt));
    for (size_t j = 0; j < nc; j++) {
        width[j] = display_width(res->cols[j].name, strlen(res->cols[j].name));
        sl_rd r;
        sl_rd_init(&r, res->cols[j].type.option.ptr, res->cols[j].type.option.len);
        if (sl_cql_dtype_decode_option(&r, &dt[j])) dt[j] = NULL;
    }
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nc; j++) {
            off[i * nc + j] = cells.len;
            sl_slice v = sl_cqlc_cell(res, i, j);
            if (dt[j])
                sl_cql_value_format(dt[j], v, SL_CQL_FMT_DISPLAY, &cells);
            else if (v.ptr)
                fmt_hex(&cells, v);
            else
                sl_buf_append_str(&cells, "null");
        }
    for (size_t j = 0; j < nc; j++)
        if (dt[j]) sl_cql_dtype_release(dt[j]);
    sl_free(dt);
    off[nr * nc] = cells.len;
    for (size_t k = 0; k < nr * nc; k++) {
        size_t w = display_width((const char *)cells.ptr + off[k], off[k + 1] - off[k]);
        if (w > width[k % nc]) width[k % nc] = w;
    }
    sl_buf *o = &sh->out;
    if (header) {
        size_t mark = o->len;
        sl_buf_put_u8(o, ' ');
        for (size_t j = 0; j < nc; j++) {
            if (j) sl_buf_append_str(o, " | ");
            sl_buf_append_str(o, res->cols[j].name);
            pad(o, width[j] - display_width(res->cols[j].name, strlen(res->cols[j].name)));
        }
        while (o->len > mark && o->ptr[o->len - 1] == ' ') /* cqlsh strips the header's tail */
            o->len--;
        sl_buf_append_str(o, "\n-");
        for (size_t j = 0; j < nc; j++) {
            if (j) sl_buf_append_str(o, "-+-");
            memset(sl_buf_extend(o, width[j]), '-', width[j]);
        }
        sl_buf_append_str(o, "-\n");
    }
    for (size_t i = 0; i < nr; i++) {
        sl_buf_put_u8(o, ' ');
        for (size_t j = 0; j < nc; j++) {
            size_t k = i * nc + j, len = off[k + 1] - off[k];
            size_t w = display_width((const char *)cells.ptr + off[k], len);
            if (j) sl_buf_append_str(o, " | ");
            if (is_numeric(res->cols[j].type.id)) pad(o, width[j] - w);
            sl_buf_append(o, cells.ptr + off[k], len);
            if (!is_numeric(res->cols[j].type.id) && j + 1 < nc) pad(o, width[j] - w);
        }
        sl_buf_put_u8(o, '\n');
    }
    sl_buf_free(&cells);
    sl_free(off);
    sl_free(width);
}

static void flush_out(shell *sh)
{
    if (sh->out.len) fwrite(sh->out.ptr, 1, sh->out.len, stdout);
    sl_buf_reset(&sh->out);
    fflush(stdout);
}

/* The exception name cqlsh shows before a server error (the Python driver's classes). */
static const char *error_class(const sl_cqlc_error *e)
{
    if (e->status == SL_CQLC_ENOHOST) return "NoHostAvailable";
    if (e->status == -ETIMEDOUT) return "OperationTimedOut";
    if (e->status != SL_CQLC_ESERVER) return "ConnectionException";
    switch (e->code) {
    case SL_CQLC_SERVER_ERROR: return "ServerError";
    case SL_CQLC_PROTOCOL_ERROR: return "ProtocolException";
    case SL_CQLC_BAD_CREDENTIALS: return "AuthenticationFailed";
    case SL_CQLC_UNAVAILABLE: return "Unavailable";
    case SL_CQLC_OVERLOADED: return "OverloadedErrorMessage";
    case SL_CQLC_IS_BOOTSTRAPPING: return "IsBootstrappingErrorMessage";
    case SL_CQLC_TRUNCATE_ERROR: return "TruncateError";
    case SL_CQLC_WRITE_TIMEOUT: return "WriteTimeout";
    case SL_CQLC_READ_TIMEOUT: return "ReadTimeout";
    case SL_CQLC_READ_FAILURE: return "ReadFailure";
    case SL_CQLC_FUNCTION_FAILURE: return "FunctionFailure";
    case SL_CQLC_WRITE_FAILURE: return "WriteFailure";
    case SL_CQLC_SYNTAX_ERROR: return "SyntaxException";
    case SL_CQLC_UNAUTHORIZED: return "Unauthorized";
    case SL_CQLC_INVALID: return "InvalidRequest";
    case SL_CQLC_CONFIG_ERROR: return "ConfigurationException";
    case SL_CQLC_ALREADY_EXISTS: return "AlreadyExists";
    default: return "ServerError";
    }
}

static void print_error(shell *sh, const sl_cqlc_error *e, int line)
{
    flush_out(sh);
    char where[300] = "";
    if (sh->source) snprintf(where, sizeof where, "%s:%d:", sh->source, line);
    if (e->status == SL_CQLC_ESERVER && e->code == SL_CQLC_ALREADY_EXISTS && e->keyspace[0]) {
        if (e->table[0])
            fprintf(stderr, "%sAlreadyExists: Table '%s.%s' already exists\n", where, e->keyspace,
                    e->table);
        else
            fprintf(stderr, "%sAlreadyExists: Keyspace '%s' already exists\n", where, e->keyspace);
    } else if (e->status == SL_CQLC_ESERVER) {
        char buf[1200];
        fprintf(stderr, "%s%s: Error from server: %s\n", where, error_class(e),
                sl_cqlc_error_str(e, buf, sizeof buf));
    } else {
        fprintf(stderr, "%s%s: %s\n", where, error_class(e), e->message);
    }
    fflush(stderr);
    sh->errors++;
}

static bool starts_with_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return !strncasecmp(s, w, n) && (s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == '\n' ||
                                     s[n] == '\r' || s[n] == ';');
}

/* Names laid out in columns across 80 characters, as Python's cmd.columnize does. */
static void columnize(sl_buf *o, const char **names, size_t n)
{
    size_t maxw = 0;
    for (size_t i = 0; i < n; i++)
        maxw = SL_MAX(maxw, strlen(names[i]));
    size_t per_line = SL_MAX((size_t)1, 80 / (maxw + 2));
    for (size_t i = 0; i < n; i++) {
        sl_buf_append_str(o, names[i]);
        bool last = i + 1 == n || (i + 1) % per_line == 0;
        if (last)
            sl_buf_put_u8(o, '\n');
        else
            pad(o, maxw + 2 - strlen(names[i]));
    }
}

static const char *cell_str(const sl_cqlc_result *r, size_t row, int col, sl_arena *a)
{
    if (col < 0) return "";
    sl_slice v = sl_cqlc_cell(r, row, (size_t)col);
    return v.ptr ? sl_arena_strndup(a, (const char *)v.ptr, v.len) : "";
}

/* DESCRIBE output: a list of names (KEYSPACES, TABLES, TYPES, ...) or CREATE statements. */
static void print_describe(shell *sh, const char *stmt, sl_cqlc_result **pages, size_t npages)
{
    sl_arena a;
    sl_arena_init(&a, 4096);
    const char *p = stmt + (starts_with_word(stmt, "DESCRIBE") ? 8 : 4);
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    bool list = starts_with_word(p, "KEYSPACES") || starts_with_word(p, "TABLES") ||
                starts_with_word(p, "COLUMNFAMILIES") || starts_with_word(p, "TYPES") ||
                starts_with_word(p, "FUNCTIONS") || starts_with_word(p, "AGGREGATES");
    bool keyspaces = starts_with_word(p, "KEYSPACES");
    sl_buf *o = &sh->out;
    const char **names = NULL;
    size_t nnames = 0, cap = 0;
    const char *cur_ks = NULL;
    for (size_t pi = 0; pi < npages; pi++) {
        const sl_cqlc_result *r = pages[pi];
        int ks = sl_cqlc_col_index(r, "keyspace_name"), name = sl_cqlc_col_index(r, "name");
        int create = sl_cqlc_col_index(r, "create_statement");
        for (size_t i = 0; i < r->nrows; i++) {
            if (!list) {
                sl_buf_printf(o, "\n%s\n", cell_str(r, i, create, &a));
                continue;
            }
            const char *k = cell_str(r, i, ks, &a);
            if (!keyspaces && cur_ks && strcmp(cur_ks, k)) {
                if (!sl_cqlc_keyspace(sh->c))
                    sl_buf_printf(o, "\nKeyspace %s\n---------%.*s\n", cur_ks, (int)strlen(cur_ks),
                                  "------------------------------------------------------------"
                                  "----------------------------------------------------------");
                else
                    sl_buf_put_u8(o, '\n');
                columnize(o, names, nnames);
                nnames = 0;
            }
            cur_ks = k;
            if (nnames == cap) {
                cap = cap ? cap * 2 : 16;
                names = sl_realloc(names, cap * sizeof(*names));
            }
            names[nnames++] = cell_str(r, i, name, &a);
        }
    }
    if (list && (nnames || keyspaces)) {
        if (!keyspaces && cur_ks && !sl_cqlc_keyspace(sh->c))
            sl_buf_printf(o, "\nKeyspace %s\n---------%.*s\n", cur_ks, (int)strlen(cur_ks),
                          "------------------------------------------------------------"
                          "----------------------------------------------------------");
        else
            sl_buf_put_u8(o, '\n');
        columnize(o, names, nnames);
    }
    sl_buf_put_u8(o, '\n');
    sl_free(names);
    sl_arena_free(&a);
}

static void print_warnings(shell *sh, const sl_cqlc_result *r)
{
    if (!r->nwarnings) return;
    sl_buf_append_str(&sh->out, "\nWarnings :\n");
    for (size_t i = 0; i < r->nwarnings; i++)
        sl_buf_printf(&sh->out, "%s\n\n", r->warnings[i]);
}

/* Runs one statement (without its ';'), every page of it. */
static void run_statement(shell *sh, const char *stmt, int line)
{
    bool describe = starts_with_word(stmt, "DESCRIBE") || starts_with_word(stmt, "DESC");
    sl_cqlc_pager *pg = sl_cqlc_pager_new(sh->c, stmt, NULL, 0, PAGE_SIZE, sh->prepared);
    sl_cqlc_result **pages = NULL;
    size_t npages = 0;
    size_t rows = 0;
    sl_cqlc_error err;
    int rc;
    sl_cqlc_result *page;
    bool table = false;
    while ((rc = sl_cqlc_pager_next(pg, &page, &err)) == 1) {
        if (page->kind != SL_CQLC_ROWS) {
            print_warnings(sh, page);
            sl_cqlc_result_free(page);
            continue;
        }
        if (describe) {
            pages = sl_realloc(pages, (npages + 1) * sizeof(*pages));
            pages[npages++] = page;
            continue;
        }
        if (!table) sl_buf_put_u8(&sh->out, '\n');
        if (page->nrows || !table) print_table(sh, page, !table);
        if (!page->nrows && !table) sl_buf_put_u8(&sh->out, '\n');
        table = true;
        rows += page->nrows;
        print_warnings(sh, page);
        sl_cqlc_result_free(page);
        flush_out(sh);
    }
    sl_cqlc_pager_free(pg);
    if (rc < 0) {
        print_error(sh, &err, line);
    } else if (describe) {
        print_describe(sh, stmt, pages, npages);
    } else if (table) {
        sl_buf_printf(&sh->out, "\n(%zu rows)\n", rows);
    }
    for (size_t i = 0; i < npages; i++)
        sl_cqlc_result_free(pages[i]);
    sl_free(pages);
    flush_out(sh);
}

/* Lines collect in stmt until the parser's sl_cql_split finds a statement's end: a ';' outside
 * strings and comments, or the one after APPLY BATCH. */
typedef struct splitter {
    sl_buf stmt;
    int first_line;
} splitter;

static bool is_blank(const char *s)
{
    return sl_cql_is_blank(s, strlen(s));
}

/* Handles a complete statement; returns false to stop the shell (EXIT/QUIT). */
static bool dispatch(shell *sh, char *stmt, int line)
{
    while (*stmt == ' ' || *stmt == '\t' || *stmt == '\n' || *stmt == '\r')
        stmt++;
    size_t n = strlen(stmt);
    while (n && (stmt[n - 1] == ' ' || stmt[n - 1] == '\n' || stmt[n - 1] == '\t' ||
                 stmt[n - 1] == '\r' || stmt[n - 1] == ';'))
        stmt[--n] = '\0';
    if (!n) return true;
    if (starts_with_word(stmt, "EXIT") || starts_with_word(stmt, "QUIT")) return false;
    run_statement(sh, stmt, line);
    return true;
}

/* Feeds one line; complete statements are run. Returns false once EXIT/QUIT was seen. */
static bool feed_line(shell *sh, splitter *sp, const char *line, int lineno)
{
    if (sp->stmt.len == 0 || is_blank(sl_buf_cstr(&sp->stmt))) {
        sp->first_line = lineno;
        /* Shell commands need no ';' (cqlsh accepts EXIT and QUIT alone on a line). */
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (starts_with_word(p, "EXIT") || starts_with_word(p, "QUIT")) return false;
    }
    sl_buf_append_str(&sp->stmt, line);
    sl_buf_put_u8(&sp->stmt, '\n');
    size_t end;
    while (sl_cql_split((const char *)sp->stmt.ptr, sp->stmt.len, &end) == 0) {
        char *s = sl_strndup((const char *)sp->stmt.ptr, end);
        sl_buf_consume(&sp->stmt, end);
        bool go = dispatch(sh, s, sp->first_line);
        sl_free(s);
        if (!go) return false;
        sp->first_line = lineno;
    }
    return true;
}

/* End of input: a last statement without ';' still runs (cqlsh -e allows it). */
static void feed_end(shell *sh, splitter *sp)
{
    if (sp->stmt.len && !is_blank(sl_buf_cstr(&sp->stmt))) {
        char *s = sl_strdup(sl_buf_cstr(&sp->stmt));
        dispatch(sh, s, sp->first_line);
        sl_free(s);
    }
    sl_buf_reset(&sp->stmt);
}

static void run_text(shell *sh, const char *text)
{
    splitter sp = {SL_BUF_INIT, 1};
    int lineno = 1;
    const char *p = text;
    bool go = true;
    while (go && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = sl_strndup(p, n);
        go = feed_line(sh, &sp, line, lineno++);
        sl_free(line);
        p += n + (nl ? 1 : 0);
    }
    if (go) feed_end(sh, &sp);
    sl_buf_free(&sp.stmt);
}

static void run_stream(shell *sh, FILE *in)
{
    splitter sp = {SL_BUF_INIT, 1};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 1;
    bool go = true;
    while (go && (n = getline(&line, &cap, in)) >= 0) {
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        go = feed_line(sh, &sp, line, lineno++);
    }
    if (go) feed_end(sh, &sp);
    free(line);
    sl_buf_free(&sp.stmt);
}

static void history_path(char *out, size_t n)
{
    const char *home = getenv("HOME");
    snprintf(out, n, "%s/.sluice_cql_history", home && *home ? home : ".");
}

static void run_interactive(shell *sh)
{
    splitter sp = {SL_BUF_INIT, 1};
    char hist[4096];
    history_path(hist, sizeof hist);
    using_history();
    read_history(hist);
    int lineno = 1;
    for (;;) {
        char prompt[300];
        const char *ks = sl_cqlc_keyspace(sh->c);
        if (sp.stmt.len && !is_blank(sl_buf_cstr(&sp.stmt)))
            snprintf(prompt, sizeof prompt, "   ... ");
        else if (ks)
            snprintf(prompt, sizeof prompt, "cqlsh:%s> ", ks);
        else
            snprintf(prompt, sizeof prompt, "cqlsh> ");
        char *line = readline(prompt);
        if (!line) {
            putchar('\n');
            break;
        }
        if (!is_blank(line)) add_history(line);
        bool go = feed_line(sh, &sp, line, lineno++);
        free(line);
        if (!go) break;
    }
    write_history(hist);
    sl_buf_free(&sp.stmt);
}

int sl_cmd_cql(int argc, char **argv)
{
    cql_args a;
    sl_config_defaults(cql_opts, &a);
    /* A shell's stderr is for the user: only warnings unless asked (main.c reads the env). */
    if (!getenv("SLUICE_LOG_LEVEL")) sl_log_level = SL_LOG_WARN;
    const char *hosts = "127.0.0.1:9042";
    bool have_hosts = false;
    int rc = 2, argi = 1;
    /* HOST:PORT may come before or after the flags. */
    while (argi < argc) {
        int r = sl_args_parse(cql_opts, &a, "cql", CQL_USAGE, argc, argv, &argi);
        if (r == 1) {
            rc = 0;
            goto out;
        }
        if (r < 0) goto out;
        if (argi >= argc) break;
        if (!strcmp(argv[argi], "--")) {
            argi++;
            continue;
        }
        if (!have_hosts) {
            hosts = argv[argi++];
            have_hosts = true;
            continue;
        }
        fprintf(stderr, "sluice cql: unexpected argument '%s' (usage: sluice %s)\n", argv[argi],
                CQL_USAGE);
        goto out;
    }
    if (a.e && a.f) {
        fprintf(stderr, "sluice cql: -e and -f cannot be used together\n");
        goto out;
    }

    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    o.contact_points = hosts;
    o.user = a.u && *a.u ? a.u : NULL;
    o.password = sl_auth_cql_password(a.p, "cassandra");
    o.keyspace = a.k;
    o.tls_ca = a.tls_ca;
    o.tls_cert = a.tls_cert;
    o.tls_key = a.tls_key;
    o.request_timeout_ms = a.request_timeout_ms;
    o.connect_timeout_ms = a.connect_timeout_ms;
    shell sh = {.prepared = a.prepared, .tty = isatty(0) && !a.e && !a.f};
    sl_cqlc_error err;
    int orc = sl_cqlc_open(&o, &sh.c, &err);
    if (orc) {
        char buf[1200];
        if (orc == SL_ERR_INVAL)
            fprintf(stderr, "sluice cql: %s\n", err.message);
        else
            fprintf(stderr, "Connection error: ('Unable to connect to any servers', {'%s': %s})\n",
                    hosts,
                    err.status == SL_CQLC_ESERVER ? sl_cqlc_error_str(&err, buf, sizeof buf)
                                                  : err.message);
        rc = orc == SL_ERR_INVAL ? 2 : 1;
        goto out;
    }
    if (a.e) {
        sh.source = "<stdin>";
        run_text(&sh, a.e);
    } else if (a.f) {
        FILE *f = fopen(a.f, "r");
        if (!f) {
            fprintf(stderr, "sluice cql: cannot open %s: %s\n", a.f, strerror(errno));
            sl_cqlc_close(sh.c);
            goto out;
        }
        sh.source = a.f;
        run_stream(&sh, f);
        fclose(f);
    } else if (sh.tty) {
        run_interactive(&sh);
    } else {
        sh.source = "<stdin>";
        run_stream(&sh, stdin);
    }
    flush_out(&sh);
    sl_buf_free(&sh.out);
    sl_cqlc_close(sh.c);
    rc = sh.errors && !sh.tty ? 2 : 0;
out:
    sl_config_free(cql_opts, &a);
    return rc;
}
