/* bench_sink.c: rows/s of the sinks (src/pipeline/sink.h) as sluice process drives them: one
 * thread, batches written one after another, each sl_sink_write returning once its rows are
 * durable (docs/benchmarks.md, section "sinks").
 *
 *   bench_sink [--rows N] [--batch B] [--inflight L] [--runs R] [--targets cql,pg,peer]
 *
 * cql:  cql:// into `$SLUICE_BIN store` (temp data dir under /var/tmp, default durability:
 *       commitlog batch, each write acknowledged after its group-commit WAL sync; auth on),
 *       max_inflight L prepared upserts in flight on the client's private loop.
 * pg:   postgresql:// into a PostgreSQL started by the bench (initdb + pg_ctl in /var/tmp,
 *       fsync and synchronous_commit on): per batch one transaction, binary COPY into the temp
 *       staging table, INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE, COMMIT.
 * peer: the same rows into the same PostgreSQL the way a program without the sink would:
 *       libpq, per batch BEGIN, one prepared INSERT ... ON CONFLICT (id) DO UPDATE per row sent
 *       in pipeline mode, COMMIT.
 *
 * Rows are the seeds' created_users: a fresh uuid v4 and 11 text fields of randomuser-like
 * data (about 330 bytes), new ids every run (inserts, not updates). Rows/s is N over the wall
 * time of the batches; batch latency p50/p99 is per sl_sink_write. Runs alternate the targets;
 * the table shows medians with min-max, and the ratios to the peer. RSS is the store's VmHWM. */
#include "core/sl.h"
#include "cql/types.h"
#include "pipeline/sink.h"
#include "bench_stats.h"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <math.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCOLS    12
#define MAX_RUNS 15

enum { T_CQL, T_PG, T_PEER, NTARGETS };
static const char *const target_names[NTARGETS] = {"cql", "pg", "peer"};

static struct {
    size_t rows;
    size_t batch;
    int inflight;
    int runs;
    bool want[NTARGETS];
    const char *sluice_bin;
} opt = {200000, 1000, 256, 3, {true, true, true}, NULL};

static const sl_sink_column cols[NCOLS] = {
    {"id", SL_SINK_UUID},        {"first_name", SL_SINK_TEXT},
    {"last_name", SL_SINK_TEXT}, {"gender", SL_SINK_TEXT},
    {"address", SL_SINK_TEXT},   {"post_code", SL_SINK_TEXT},
    {"email", SL_SINK_TEXT},     {"username", SL_SINK_TEXT},
    {"dob", SL_SINK_TEXT},       {"registered_date", SL_SINK_TEXT},
    {"phone", SL_SINK_TEXT},     {"picture", SL_SINK_TEXT},
};

static double now_s(void)
{
    return (double)sl_mono_ns() / 1e9;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static long vm_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) v = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* User + system CPU seconds of pid so far. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    SL_UNUSED(st);
    SL_UNUSED(flag);
    SL_UNUSED(ftw);
    return remove(path);
}

/* Runs argv (as the postgres user when root) with stdout to /dev/null; 0 when it exits 0. */
static int run(const char *cwd, bool as_postgres, const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const char *args[40];
        int n = 0;
        if (as_postgres) {
            args[n++] = "runuser";
            args[n++] = "-u";
            args[n++] = "postgres";
            args[n++] = "--";
        }
        for (; *argv && n < 39; argv++)
            args[n++] = *argv;
        args[n] = NULL;
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) dup2(fd, 1);
        if (chdir(cwd)) _exit(126);
        execvp(args[0], (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The rows: text lives in one arena per run; values borrow from it. */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const firsts[] = {"Ana", "José", "Zoë", "Noah", "Emma", "Lucas", "Mia", "Oskar"};
static const char *const lasts[] = {"Lima", "Müller", "Smith", "Dubois", "Rossi", "Nguyen", "Kim"};

static char *text;
static size_t text_len, text_cap;

static void set_text(sl_sink_value *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_text(sl_sink_value *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text + text_len, text_cap - text_len, fmt, ap);
    va_end(ap);
    v->null = false;
    v->str = text + text_len;
    v->len = (size_t)n;
    text_len += (size_t)n;
}

static void make_rows(sl_sink_value *vals, size_t n)
{
    text_len = 0;
    for (size_t r = 0; r < n; r++) {
        sl_sink_value *v = &vals[r * NCOLS];
        memset(v, 0, NCOLS * sizeof *v);
        sl_cql_uuid_v4(v[0].v.uuid);
        const char *f = firsts[rnd() % SL_ARRAY_LEN(firsts)];
        const char *l = lasts[rnd() % SL_ARRAY_LEN(lasts)];
        set_text(&v[1], "%s", f);
        set_text(&v[2], "%s", l);
        set_text(&v[3], "%s", rnd() & 1 ? "female" : "male");
        set_text(&v[4], "%u Rua das Flores, Recife, Pernambuco, Brazil",
                 (unsigned)(rnd() % 9999 + 1));
        set_text(&v[5], "%05u", (unsigned)(rnd() % 100000));
        set_text(&v[6], "%s.%s.%zu@example.com", f, l, r);
        set_text(&v[7], "bluebird%zu", r);
        set_text(&v[8], "1987-04-%02uT10:12:44.093Z", (unsigned)(rnd() % 28 + 1));
        set_text(&v[9], "2012-11-%02uT08:01:17.417Z", (unsigned)(rnd() % 28 + 1));
        set_text(&v[10], "(%03u) %03u-%04u", (unsigned)(rnd() % 1000), (unsigned)(rnd() % 1000),
                 (unsigned)(rnd() % 10000));
        set_text(&v[11], "https://randomuser.me/api/portraits/med/women/%u.jpg",
                 (unsigned)(rnd() % 100));
    }
}

/* sluice store */

typedef struct store {
    pid_t pid;
    char dir[128];
    char addr[64];
} store;

static int store_start(store *s)
{
    int port = free_port();
    snprintf(s->dir, sizeof s->dir, "/var/tmp/sluice-bench-sink-XXXXXX");
    if (port < 0 || !mkdtemp(s->dir)) return -1;
    char data[160], logpath[160];
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%d", port);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(logpath, sizeof logpath, "%s/store.log", s->dir);
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("SLUICE_LOG_LEVEL", "warn", 1);
        execl(opt.sluice_bin, opt.sluice_bin, "store", "--listen", s->addr, "--data-dir", data,
              (char *)NULL);
        _exit(127);
    }
    for (double t0 = now_s(); now_s() - t0 < 20; usleep(10000)) {
        if (port_open(port)) return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) break;
    }
    fprintf(stderr, "bench_sink: sluice store did not start; see %s\n", logpath);
    return -1;
}

static void store_stop(store *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 1000 && waitpid(s->pid, NULL, WNOHANG) == 0; i++)
            usleep(10000);
        if (kill(s->pid, 0) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
    }
    if (s->dir[0]) nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(s, 0, sizeof *s);
}

/* PostgreSQL */

typedef struct pgsrv {
    char root[128], bindir[256], data[160];
    int port;
    bool as_root, started;
} pgsrv;

static int pg_tool(pgsrv *p, const char *tool, const char *const *args)
{
    const char *argv[32];
    char path[320];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", p->bindir, tool);
    argv[n++] = path;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return run(p->root, p->as_root, argv);
}

static int pg_start(pgsrv *p)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) || g.gl_pathc == 0) {
        fprintf(stderr, "bench_sink: PostgreSQL server binaries not found\n");
        return -1;
    }
    snprintf(p->bindir, sizeof p->bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(p->bindir, '/') = '\0';
    p->as_root = geteuid() == 0;
    p->port = free_port();
    snprintf(p->root, sizeof p->root, "/var/tmp/sluice-bench-pg-XXXXXX");
    if (!mkdtemp(p->root)) return -1;
    chmod(p->root, 0755);
    char sock[192], logf[192];
    snprintf(p->data, sizeof p->data, "%s/data", p->root);
    snprintf(sock, sizeof sock, "%s/sock", p->root);
    snprintf(logf, sizeof logf, "%s/postgres.log", p->root);
    mkdir(p->data, 0700);
    mkdir(sock, 0700);
    close(open(logf, O_WRONLY | O_CREAT, 0644));
    if (p->as_root) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || chown(p->data, pw->pw_uid, pw->pw_gid) || chown(sock, pw->pw_uid, pw->pw_gid) ||
            chown(logf, pw->pw_uid, pw->pw_gid))
            return -1;
    }
    const char *initdb[] = {
        "-D",   p->data,      "-U",        "postgres",          "-A", "trust", "-E",
        "UTF8", "--locale=C", "--no-sync", "--no-instructions", NULL};
    if (pg_tool(p, "initdb", initdb)) {
        fprintf(stderr, "bench_sink: initdb failed\n");
        return -1;
    }
    char o[512];
    snprintf(o, sizeof o,
             "-p %d -k %s -c listen_addresses=127.0.0.1 -c shared_buffers=256MB "
             "-c fsync=on -c synchronous_commit=on",
             p->port, sock);
    const char *start[] = {"-D", p->data, "-l", logf, "-o", o, "-w", "-t", "60", "start", NULL};
    if (pg_tool(p, "pg_ctl", start)) {
        fprintf(stderr, "bench_sink: pg_ctl start failed; see %s\n", logf);
        return -1;
    }
    p->started = true;
    return 0;
}

static void pg_stop(pgsrv *p)
{
    if (p->started) {
        const char *stop[] = {"-D", p->data, "-m", "immediate", "-w", "stop", NULL};
        pg_tool(p, "pg_ctl", stop);
    }
    if (p->root[0]) nftw(p->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(p, 0, sizeof *p);
}

/* One run of one target */

typedef struct measure {
    double rate, p50_ms, p99_ms;
    double server_us; /* the store's CPU per row (cql only) */
    double client_us; /* this process's CPU per row: the sink's own cost */
} measure;

static pid_t server_pid; /* the store, for the cql target */

static int run_sink(const char *url, const sl_sink_value *vals, measure *m)
{
    sl_sink_config cfg = {url, cols, NCOLS, opt.inflight, 30000};
    sl_sink *s;
    char err[2048];
    if (sl_sink_open(&cfg, &s, err, sizeof err)) {
        fprintf(stderr, "bench_sink: %s\n", err);
        return -1;
    }
    size_t nb = (opt.rows + opt.batch - 1) / opt.batch;
    double *lat = sl_malloc(nb * sizeof *lat);
    double c0 = server_pid ? cpu_s(server_pid) : NAN, s0 = cpu_s(getpid());
    double t0 = now_s();
    int rc = 0;
    for (size_t b = 0; b < nb && rc == 0; b++) {
        size_t first = b * opt.batch, n = SL_MIN(opt.batch, opt.rows - first);
        double t = now_s();
        rc = sl_sink_write(s, vals + first * NCOLS, n, err, sizeof err);
        lat[b] = (now_s() - t) * 1000;
    }
    double secs = now_s() - t0;
    m->server_us = server_pid ? (cpu_s(server_pid) - c0) * 1e6 / (double)opt.rows : NAN;
    m->client_us = (cpu_s(getpid()) - s0) * 1e6 / (double)opt.rows;
    if (rc) fprintf(stderr, "bench_sink: %s\n", err);
    m->rate = rc ? NAN : (double)opt.rows / secs;
    m->p50_ms = bench_pct(lat, nb, 0.5);
    m->p99_ms = bench_pct(lat, nb, 0.99);
    sl_free(lat);
    sl_sink_close(s);
    return rc;
}

static bool pg_ok(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_PIPELINE_SYNC;
    if (!ok) fprintf(stderr, "bench_sink: peer %s: %s", what, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

/* The peer: per batch BEGIN, pipelined prepared upserts, COMMIT, on one connection. */
static int run_peer(int port, const sl_sink_value *vals, measure *m)
{
    char dsn[128];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
    PGconn *c = PQconnectdb(dsn);
    int rc = -1;
    size_t nb = (opt.rows + opt.batch - 1) / opt.batch;
    double *lat = sl_malloc(nb * sizeof *lat);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_sink: peer: %s", PQerrorMessage(c));
        goto out;
    }
    if (!pg_ok(c, PQexec(c, "SET client_min_messages = warning"), "set") ||
        !pg_ok(c,
               PQexec(c, "CREATE TABLE IF NOT EXISTS peer_users (id uuid PRIMARY KEY, "
                         "first_name text, last_name text, gender text, address text, "
                         "post_code text, email text, username text, dob text, "
                         "registered_date text, phone text, picture text)"),
               "create") ||
        !pg_ok(c,
               PQprepare(c, "ins",
                         "INSERT INTO peer_users VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                         "$10, $11, $12) ON CONFLICT (id) DO UPDATE SET first_name = "
                         "EXCLUDED.first_name, last_name = EXCLUDED.last_name, gender = "
                         "EXCLUDED.gender, address = EXCLUDED.address, post_code = "
                         "EXCLUDED.post_code, email = EXCLUDED.email, username = "
                         "EXCLUDED.username, dob = EXCLUDED.dob, registered_date = "
                         "EXCLUDED.registered_date, phone = EXCLUDED.phone, picture = "
                         "EXCLUDED.picture",
                         0, NULL),
               "prepare"))
        goto out;
    /* Binary parameters: the uuid as its 16 bytes, text as its bytes. */
    double t0 = now_s(), s0 = cpu_s(getpid());
    for (size_t b = 0; b < nb; b++) {
        size_t first = b * opt.batch, n = SL_MIN(opt.batch, opt.rows - first);
        double t = now_s();
        if (!PQenterPipelineMode(c)) goto out;
        PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
        for (size_t r = first; r < first + n; r++) {
            const sl_sink_value *v = &vals[r * NCOLS];
            const char *pv[NCOLS];
            int pl[NCOLS], pf[NCOLS];
            for (int k = 0; k < NCOLS; k++) {
                pv[k] = k ? v[k].str : (const char *)v[k].v.uuid;
                pl[k] = k ? (int)v[k].len : 16;
                pf[k] = 1;
            }
            if (!PQsendQueryPrepared(c, "ins", NCOLS, pv, pl, pf, 0)) {
                fprintf(stderr, "bench_sink: peer send: %s", PQerrorMessage(c));
                goto out;
            }
        }
        PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
        PQpipelineSync(c);
        /* n + 2 statements, each a result then NULL, then the sync. */
        for (size_t k = 0; k < n + 2; k++) {
            if (!pg_ok(c, PQgetResult(c), "statement")) goto out;
            PGresult *end = PQgetResult(c);
            if (end) PQclear(end);
        }
        if (!pg_ok(c, PQgetResult(c), "sync") || !PQexitPipelineMode(c)) goto out;
        lat[b] = (now_s() - t) * 1000;
    }
    m->rate = (double)opt.rows / (now_s() - t0);
    m->client_us = (cpu_s(getpid()) - s0) * 1e6 / (double)opt.rows;
    m->p50_ms = bench_pct(lat, nb, 0.5);
    m->p99_ms = bench_pct(lat, nb, 0.99);
    pg_ok(c, PQexec(c, "TRUNCATE peer_users"), "truncate");
    rc = 0;
out:
    if (rc) m->rate = NAN;
    sl_free(lat);
    PQfinish(c);
    return rc;
}

/* Reporting */

static void med_range(const double *v, int n, double out[3])
{
    bench_stat3 s = bench_stats(v, n);
    out[0] = s.med;
    out[1] = s.min;
    out[2] = s.max;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--rows") && v) {
            opt.rows = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "--batch") && v) {
            opt.batch = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "--inflight") && v) {
            opt.inflight = atoi(v), i++;
        } else if (!strcmp(a, "--runs") && v) {
            opt.runs = atoi(v), i++;
        } else if (!strcmp(a, "--targets") && v) {
            for (int t = 0; t < NTARGETS; t++)
                opt.want[t] = strstr(v, target_names[t]) != NULL;
            i++;
        } else {
            fprintf(stderr, "usage: bench_sink [--rows N] [--batch B] [--inflight L] [--runs R] "
                            "[--targets cql,pg,peer]\n");
            return -1;
        }
    }
    if (opt.rows == 0 || opt.batch == 0 || opt.inflight <= 0 || opt.runs < 1 ||
        opt.runs > MAX_RUNS) {
        fprintf(stderr, "bench_sink: rows, batch, inflight > 0 and runs 1..%d\n", MAX_RUNS);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) return 2;
    opt.sluice_bin = getenv("SLUICE_BIN") ? getenv("SLUICE_BIN") : "build/sluice";
    uint8_t seed[16];
    sl_cql_uuid_v4(seed);
    memcpy(&rng, seed, 8);
    rng |= 1;
    signal(SIGPIPE, SIG_IGN);
    text_cap = opt.rows * 400;
    text = sl_malloc(text_cap);
    sl_sink_value *vals = sl_malloc(opt.rows * NCOLS * sizeof *vals);

    store st = {0};
    pgsrv pg = {0};
    int rc = 1;
    char cql_url[128], pg_url[128];
    if (opt.want[T_CQL]) {
        if (store_start(&st)) goto out;
        snprintf(cql_url, sizeof cql_url, "cql://%s/bench.created_users", st.addr);
    }
    if ((opt.want[T_PG] || opt.want[T_PEER]) && pg_start(&pg)) goto out;
    snprintf(pg_url, sizeof pg_url, "postgresql://postgres@127.0.0.1:%d/postgres", pg.port);

    measure m[NTARGETS][MAX_RUNS];
    for (int t = 0; t < NTARGETS; t++)
        for (int r = 0; r < MAX_RUNS; r++)
            m[t][r] = (measure){NAN, NAN, NAN, NAN, NAN};
    for (int r = 0; r < opt.runs; r++) {
        for (int k = 0; k < NTARGETS; k++) {
            int t = (k + r) % NTARGETS; /* rotate the order so drifting load hits all alike */
            if (!opt.want[t]) continue;
            make_rows(vals, opt.rows);
            server_pid = t == T_CQL ? st.pid : 0;
            int frc = t == T_CQL  ? run_sink(cql_url, vals, &m[t][r])
                      : t == T_PG ? run_sink(pg_url, vals, &m[t][r])
                                  : run_peer(pg.port, vals, &m[t][r]);
            if (frc) goto out;
            fprintf(stderr, "  run %d %-4s %10.0f rows/s, CPU us/row: client %.1f, store %.1f\n",
                    r + 1, target_names[t], m[t][r].rate, m[t][r].client_us, m[t][r].server_us);
        }
    }

    printf("bench_sink: %zu created_users rows (uuid + 11 text, ~330 B) per run, batches of %zu "
           "written one after another, each durable before the next; cql max_inflight %d; %d "
           "runs; RelWithDebInfo\n",
           opt.rows, opt.batch, opt.inflight, opt.runs);
    printf("| target | rows/s (median, min-max) | batch p50 ms | batch p99 ms | vs peer | client "
           "CPU us/row | store CPU us/row |\n");
    double peer[3];
    double rates[MAX_RUNS];
    for (int r = 0; r < opt.runs; r++)
        rates[r] = m[T_PEER][r].rate;
    med_range(rates, opt.runs, peer);
    static const char *const labels[NTARGETS] = {"sink cql:// -> sluice store",
                                                 "sink postgresql:// (COPY + merge)",
                                                 "peer: libpq pipelined INSERT ... ON CONFLICT"};
    for (int t = 0; t < NTARGETS; t++) {
        if (!opt.want[t]) continue;
        double rr[3], p50[3], p99[3], cu[3], ku[3], a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS],
            k[MAX_RUNS];
        for (int r = 0; r < opt.runs; r++) {
            rates[r] = m[t][r].rate;
            a[r] = m[t][r].p50_ms;
            b[r] = m[t][r].p99_ms;
            c[r] = m[t][r].server_us;
            k[r] = m[t][r].client_us;
        }
        med_range(rates, opt.runs, rr);
        med_range(a, opt.runs, p50);
        med_range(b, opt.runs, p99);
        med_range(c, opt.runs, cu);
        med_range(k, opt.runs, ku);
        char cpu[32] = "-";
        if (!isnan(cu[0])) snprintf(cpu, sizeof cpu, "%.1f", cu[0]);
        printf("| %s | %.0f (%.0f-%.0f) | %.1f | %.1f | %.2f | %.1f | %s |\n", labels[t], rr[0],
               rr[1], rr[2], p50[0], p99[0], rr[0] / peer[0], ku[0], cpu);
    }
    if (st.pid > 0) printf("sluice store VmHWM: %ld KiB\n", vm_hwm_kb(st.pid));
    rc = 0;
out:
    store_stop(&st);
    pg_stop(&pg);
    sl_free(vals);
    sl_free(text);
    return rc;
}
