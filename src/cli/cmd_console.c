/* cmd_console.c: `sluice console`, the web console (docs/console.md), and `sluice console user`,
 * which manages its users file without a running console. */
#include "auth/auth.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "console/console.h"
#include "console/users.h"
#include "core/log.h"
#include "core/server.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "console [--listen HOST:PORT] [--data-dir DIR] [--kafka B] [--cql HOST:PORT] [--registry "     \
    "URL] "                                                                                        \
    "[--scheduler URL] [--metadata URL] [--config FILE]\n"                                         \
    "       sluice console user add NAME [--role admin|viewer] [--password-stdin] [--data-dir "    \
    "DIR]\n"                                                                                       \
    "       sluice console user delete NAME [--data-dir DIR] | user list [--data-dir DIR]"

typedef struct user_opts {
    char *data_dir, *role;
    bool password_stdin;
} user_opts;

static const sl_opt user_opts_tbl[] = {
    {"data-dir", SL_OPT_STR, "./sluice-data/console", offsetof(user_opts, data_dir),
     "the console's data dir (its users file)", NULL, 0, 0},
    {"role", SL_OPT_ENUM, "viewer", offsetof(user_opts, role), "admin or viewer (read-only)",
     "admin|viewer", 0, 0},
    {"password-stdin", SL_OPT_BOOL, "false", offsetof(user_opts, password_stdin),
     "read the password from stdin instead of generating one", NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

static void print_user(void *arg, const char *name, sl_role role)
{
    SL_UNUSED(arg);
    printf("%-24s %s\n", name, sl_role_name(role));
}

/* `sluice console user add|delete|list`: argv[0] is "user". */
static int cmd_user(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    bool named = !strcmp(verb, "add") || !strcmp(verb, "delete");
    if (!named && strcmp(verb, "list")) {
        fprintf(stderr, "sluice console user: want add NAME, delete NAME or list\n");
        return 2;
    }
    if (named && (argc < 3 || argv[2][0] == '-')) {
        fprintf(stderr, "sluice console user %s: missing the user's NAME\n", verb);
        return 2;
    }
    const char *name = named ? argv[2] : NULL;
    user_opts o;
    int a = named ? 3 : 2;
    sl_config_defaults(user_opts_tbl, &o);
    int rc = sl_args_parse(user_opts_tbl, &o, "console user", "console user add NAME ...", argc,
                           argv, &a);
    if (rc == 0 && a < argc) {
        fprintf(stderr, "sluice console user: unexpected argument \"%s\"\n", argv[a]);
        rc = SL_ERR_INVAL;
    }
    if (rc) {
        sl_config_free(user_opts_tbl, &o);
        return rc == 1 ? 0 : 2;
    }
    sl_users *u = NULL;
    char pw[SL_USERS_PASSWORD_MAX + 2], err[512];
    rc = sl_users_open(o.data_dir, &u, pw, sizeof pw, err, sizeof err);
    if (rc) {
        fprintf(stderr, "sluice console user: %s\n", err);
        sl_config_free(user_opts_tbl, &o);
        return 1;
    }
    if (pw[0]) printf("created user admin with password %s (shown only now)\n", pw);
    int status = 0;
    if (!strcmp(verb, "list")) {
        sl_users_each(u, print_user, NULL);
    } else if (!strcmp(verb, "delete")) {
        rc = sl_users_delete(u, name);
        if (rc) {
            fprintf(stderr, "sluice console user delete %s: %s\n", name,
                    rc == SL_ERR_INVAL      ? "the last admin cannot be deleted"
                    : rc == SL_ERR_NOTFOUND ? "no such user"
                                            : sl_strerror(rc));
            status = rc == SL_ERR_INVAL || rc == SL_ERR_NOTFOUND ? 2 : 1;
        }
    } else {
        bool generated = !o.password_stdin;
        if (generated) {
            sl_users_random_password(pw);
        } else if (!fgets(pw, sizeof pw, stdin)) {
            fprintf(stderr, "sluice console user add: no password on stdin\n");
            status = 2;
        } else {
            pw[strcspn(pw, "\r\n")] = '\0';
        }
        if (!status) {
            rc = sl_users_set(u, name, pw, sl_role_parse(o.role));
            if (rc == SL_ERR_INVAL) {
                fprintf(stderr, "sluice console user add: bad name (want [A-Za-z0-9_.@-], 1-64 "
                                "chars) or password (1-1024 bytes)\n");
                status = 2;
            } else if (rc) {
                fprintf(stderr, "sluice console user add: %s\n", sl_strerror(rc));
                status = 1;
            } else if (generated) {
                printf("user %s (%s), password %s (shown only now)\n", name, o.role, pw);
            } else {
                printf("user %s (%s) set\n", name, o.role);
            }
        }
    }
    OPENSSL_cleanse(pw, sizeof pw);
    sl_users_free(u);
    sl_config_free(user_opts_tbl, &o);
    return status;
}

/* arg is &c: a signal that came while the console was opening runs once the loop does. */
static void on_signal(void *arg)
{
    sl_console **c = arg;
    if (*c) sl_console_close(*c);
    sl_signals_close();
}

int sl_cmd_console(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "user")) return cmd_user(argc - 1, argv + 1);
    sl_console_config cfg;
    int rc = 2;
    int a = sl_cli_options(sl_console_opts, &cfg, "console", "console", USAGE, argc, argv);
    if (a == 1) rc = 0;
    if (a != 0) goto out;
    if (cfg.log_level) sl_log_level = sl_log_level_parse(cfg.log_level);
    if (!cfg.cql_password) cfg.cql_password = sl_strdup(sl_auth_cql_password(NULL, "cassandra"));
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_console *c = NULL;
    /* Before the open: the listener accepts (into its backlog) while librdkafka's clients are
     * still being made, and a SIGTERM then must stop the console, not kill it. */
    sl_signals_install(&loop, on_signal, &c);
    if (sl_console_open(&loop, &cfg, &c)) {
        sl_signals_close();
        fprintf(stderr, "sluice console: could not start (see the log above)\n");
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        rc = 1;
        goto out;
    }
    fprintf(stderr, "console listening on %s://%s (port %d)\n", cfg.tls_cert ? "https" : "http",
            cfg.listen, sl_console_port(c));
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_console_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_console_free(c);
    uv_loop_close(&loop);
    rc = 0;
out:
    sl_config_free(sl_console_opts, &cfg);
    return rc;
}
