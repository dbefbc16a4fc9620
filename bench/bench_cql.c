/* bench_cql.c: durable single-row INSERTs of a created_users row, and point SELECTs by id,
 * through sluice's CQL client into `sluice store`, against PostgreSQL inserting the same rows in
 * the same run (docs/benchmarks.md, section "store").
 *
 *   bench_cql [--levels 1,16,128,1024] [--seconds S] [--runs R] [--targets sluice,postgres]
 *             [--store HOST:PORT] [--max-rows N] [--select 0|1]
 *
 * sluice: `$SLUICE_BIN store` on a temp data dir under /var/tmp (a real disk) with its default
 * durability (commitlog batch: a write is acknowledged after the group-commit WAL sync), auth
 * cassandra/cassandra. The client keeps `level` prepared INSERTs in flight on one connection for
 * S seconds (or N rows), each a fresh uuid v4 and 11 text fields of randomuser-like data; then
 * point SELECTs by id of inserted rows at the same level (--select 0 skips them). --store uses a
 * running store instead.
 *
 * PostgreSQL: initdb + pg_ctl (as the postgres user through runuser when root) on a random port
 * in a temp dir under /var/tmp, fsync and synchronous_commit on (its defaults: every commit
 * waits for its WAL flush, with PostgreSQL's own group commit across backends). The same rows
 * go through min(level, 64) libpq connections in pipeline mode, `level` statements in flight in
 * all, each INSERT its own transaction.
 *
 * Rows/s counts acknowledged rows over the wall time of the phase; latency is per request from
 * send to acknowledgement. Runs alternate the targets; the table has medians with min-max and
 * the ratio sluice/PostgreSQL of the medians. RSS is the store's VmHWM after its last phase. */
#include "core/sl.h"
#include "cql/client.h"
#include "cql/types.h"
#include "bench_stats.h"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LEVELS 8
#define MAX_RUNS   15
#define NFIELDS    11
#define PG_CONNS   64

static struct {
    int levels[MAX_LEVELS];
    int nlevels;
    double seconds;
    int runs;
    bool want_sluice, want_pg;
    bool want_select;
    const char *store_addr;
    int64_t max_rows;
    const char *sluice_bin;
} opt = {{1, 16, 128, 1024}, 4, 3.0, 5, true, true, true, NULL, 2000000, NULL};

typedef struct measure {
    double rate; /* rows/s; NAN when the phase failed */
    double p50_ms, p99_ms;
} measure;

static double now_s(void)
{
    return (double)sl_mono_ns() / 1e9;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (void *)&a, &len)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
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

static long proc_status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t klen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') v = strtol(line + klen + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    SL_UNUSED(st);
    SL_UNUSED(flag);
    SL_UNUSED(ftw);
    return remove(path);
}

/* Rows: a uuid and 11 text fields of plausible randomuser sizes (about 330 bytes). */
typedef struct row {
    uint8_t id[16];
    char f[NFIELDS][96];
} row;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Field writers: make_row runs once per request in the client process, which shares the two
 * cores with the server, so it avoids printf. */
static char *put_s(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* v in decimal, zero-padded to at least width digits. */
static char *put_u(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void make_row(row *r, uint64_t n)
{
    static const char *first[] = {"Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia"};
    static const char *last[] = {"Smith", "Garcia", "Muller", "Rossi", "Dubois", "Nielsen"};
    /* A version 4 uuid from the generator (seeded from the system's randomness in main): 122
     * random bits as sl_cql_uuid_v4 gives, without a getrandom call per row. */
    uint64_t a = rnd(), b = rnd();
    memcpy(r->id, &a, 8);
    memcpy(r->id + 8, &b, 8);
    r->id[6] = (uint8_t)((r->id[6] & 0x0f) | 0x40);
    r->id[8] = (uint8_t)((r->id[8] & 0x3f) | 0x80);
    const char *fn = first[rnd() % 7], *ln = last[rnd() % 6];
    char *p;
    *put_s(r->f[0], fn) = 0;
    *put_s(r->f[1], ln) = 0;
    *put_s(r->f[2], rnd() % 2 ? "female" : "male") = 0;
    p = put_u(r->f[3], rnd() % 9000 + 100, 0);
    *put_s(p, " Main Street, Springfield, Ohio, United States") = 0;
    *put_u(r->f[4], rnd() % 100000, 5) = 0;
    p = put_s(put_s(put_s(r->f[5], fn), "."), ln);
    *put_s(put_u(p, n, 0), "@example.com") = 0;
    *put_u(put_s(r->f[6], "bluebird"), n, 0) = 0;
    p = put_u(put_s(r->f[7], "1987-04-"), rnd() % 28 + 1, 2);
    *put_s(p, "T10:12:44.093Z") = 0;
    p = put_u(put_s(r->f[8], "2012-11-"), rnd() % 28 + 1, 2);
    *put_s(p, "T08:01:17.417Z") = 0;
    p = put_u(put_s(r->f[9], "("), rnd() % 1000, 3);
    p = put_u(put_s(p, ")-"), rnd() % 1000, 3);
    *put_u(put_s(p, "-"), rnd() % 10000, 4) = 0;
    p = put_u(put_s(r->f[10], "https://randomuser.me/api/portraits/med/women/"), rnd() % 100, 0);
    *put_s(p, ".jpg") = 0;
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
    snprintf(s->dir, sizeof s->dir, "/var/tmp/sluice-bench-cql-XXXXXX");
    if (port < 0 || !mkdtemp(s->dir)) {
        perror("bench_cql: temp dir or port");
        return -1;
    }
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
        perror(opt.sluice_bin);
        _exit(127);
    }
    for (double t0 = now_s(); now_s() - t0 < 20;) {
        if (port_open(port)) return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            /* A build without the store yet: measure the peer alone rather than nothing. */
            char text[512] = "";
            FILE *f = fopen(logpath, "r");
            if (f) {
                text[fread(text, 1, sizeof text - 1, f)] = '\0';
                fclose(f);
            }
            if (strstr(text, "unknown command")) {
                fprintf(stderr, "bench_cql: %s has no store command: PostgreSQL only\n",
                        opt.sluice_bin);
                return 1;
            }
            fprintf(stderr, "bench_cql: %s store exited at start; see %s\n", opt.sluice_bin,
                    logpath);
            return -1;
        }
        usleep(10000);
    }
    fprintf(stderr, "bench_cql: sluice store not listening after 20 s; see %s\n", logpath);
    return -1;
}

static void store_stop(store *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st;
        for (int i = 0; i < 1000 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(s->pid, &st, WNOHANG) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
        }
    }
    if (s->dir[0]) nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(s, 0, sizeof *s);
}

static const char *INSERT_CQL =
    "INSERT INTO bench.created_users (id, first_name, last_name, gender, address, post_code, "
    "email, username, dob, registered_date, phone, picture) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?)";
static const char *SELECT_CQL = "SELECT * FROM bench.created_users WHERE id = ?";

/* Ids inserted so far, for the SELECT phase. */
static uint8_t (*ids)[16];
static size_t nids, capids;

typedef struct cql_phase {
    sl_cqlc *c;
    bool select;
    int level;
    int64_t limit; /* rows to send */
    double t_end;  /* stop sending after this */
    int64_t sent, done, failed;
    double *lat;  /* ms per acknowledged request */
    uint64_t *t0; /* send time per slot */
    char first_err[1200];
} cql_phase;

static void cql_send(cql_phase *ph, int slot);

static void cql_done(sl_cqlc *c, sl_cqlc_response *resp, void *udata)
{
    cql_phase *ph = *(cql_phase **)udata;
    int slot = (int)((intptr_t *)udata)[1];
    SL_UNUSED(c);
    if (resp->status) {
        if (!ph->failed++) sl_cqlc_error_str(resp->error, ph->first_err, sizeof ph->first_err);
    } else {
        ph->lat[ph->done++] = (double)(sl_mono_ns() - ph->t0[slot]) / 1e6;
    }
    if (ph->sent < ph->limit && now_s() < ph->t_end) cql_send(ph, slot);
}

static intptr_t (*slots)[2];

static void cql_send(cql_phase *ph, int slot)
{
    sl_slice v[NFIELDS + 1];
    row r;
    int rc;
    ph->t0[slot] = sl_mono_ns();
    if (ph->select) {
        const uint8_t *id = ids[(size_t)(rnd() % nids)];
        v[0] = (sl_slice){id, 16};
        rc = sl_cqlc_execute_async(ph->c, SELECT_CQL, v, 1, NULL, cql_done, slots[slot]);
    } else {
        make_row(&r, (uint64_t)ph->sent);
        if (nids == capids) {
            capids = capids ? capids * 2 : 65536;
            ids = sl_realloc(ids, capids * 16);
        }
        memcpy(ids[nids++], r.id, 16);
        v[0] = (sl_slice){r.id, 16};
        for (int i = 0; i < NFIELDS; i++)
            v[i + 1] = (sl_slice){(const uint8_t *)r.f[i], strlen(r.f[i])};
        sl_cqlc_qopts qo = SL_CQLC_QOPTS_INIT;
        qo.idempotent = true; /* an upsert by primary key */
        rc = sl_cqlc_execute_async(ph->c, INSERT_CQL, v, NFIELDS + 1, &qo, cql_done, slots[slot]);
    }
    if (rc == 0) ph->sent++;
}

static int cql_phase_run(sl_cqlc *c, bool select, int level, measure *m)
{
    cql_phase ph = {.c = c, .select = select, .level = level, .limit = opt.max_rows};
    ph.lat = sl_malloc(sizeof(double) * (size_t)(opt.max_rows + level));
    ph.t0 = sl_calloc((size_t)level, sizeof(uint64_t));
    slots = sl_calloc((size_t)level, sizeof(*slots));
    cql_phase *self = &ph;
    for (int i = 0; i < level; i++) {
        slots[i][0] = (intptr_t)self;
        slots[i][1] = i;
    }
    double t0 = now_s();
    ph.t_end = t0 + opt.seconds;
    for (int i = 0; i < level && ph.sent < ph.limit; i++)
        cql_send(&ph, i);
    int rc = sl_cqlc_run(c, (int64_t)(opt.seconds * 1000) + 30000);
    double secs = now_s() - t0;
    m->rate = rc || ph.failed ? NAN : (double)ph.done / secs;
    m->p50_ms = bench_pct(ph.lat, (size_t)ph.done, 0.50);
    m->p99_ms = bench_pct(ph.lat, (size_t)ph.done, 0.99);
    if (ph.failed)
        fprintf(stderr, "bench_cql: %" PRId64 " %s failed, first: %s\n", ph.failed,
                select ? "SELECTs" : "INSERTs", ph.first_err);
    sl_free(ph.lat);
    sl_free(ph.t0);
    sl_free(slots);
    return isnan(m->rate) ? -1 : 0;
}

static sl_cqlc *cql_connect(const char *addr)
{
    sl_cqlc_opts o;
    sl_cqlc_opts_default(&o);
    o.contact_points = addr;
    o.user = "cassandra";
    o.password = "cassandra";
    o.max_streams = 2048;
    o.request_timeout_ms = 60000;
    sl_cqlc *c;
    sl_cqlc_error e;
    if (sl_cqlc_open(&o, &c, &e)) {
        fprintf(stderr, "bench_cql: cannot connect to %s: %s\n", addr, e.message);
        return NULL;
    }
    return c;
}

static int cql_setup(const char *addr)
{
    sl_cqlc *c = cql_connect(addr);
    if (!c) return -1;
    sl_cqlc_error e;
    char buf[1200];
    const char *ddl[] = {
        "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', "
        "'replication_factor': '1'}",
        "CREATE TABLE IF NOT EXISTS bench.created_users (id uuid PRIMARY KEY, first_name text, "
        "last_name text, gender text, address text, post_code text, email text, username text, "
        "dob text, registered_date text, phone text, picture text)",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ddl); i++)
        if (sl_cqlc_query(c, ddl[i], NULL, 0, NULL, NULL, &e)) {
            fprintf(stderr, "bench_cql: %s: %s\n", ddl[i], sl_cqlc_error_str(&e, buf, sizeof buf));
            sl_cqlc_close(c);
            return -1;
        }
    sl_cqlc_close(c);
    return 0;
}

/* PostgreSQL */

typedef struct pg {
    char root[128];
    char bindir[256];
    int port;
    bool as_root, started;
} pg;

static int run_cmd(pg *p, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
        }
        if (chdir(p->root)) _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int pg_tool(pg *p, const char *tool, const char *const *args)
{
    char *argv[32];
    char path[320];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", p->bindir, tool);
    if (p->as_root) {
        argv[n++] = "runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    argv[n++] = path;
    for (; *args && n < 31; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    return run_cmd(p, argv);
}

static int pg_start(pg *p)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) || g.gl_pathc == 0) {
        fprintf(stderr, "bench_cql: PostgreSQL server binaries not found\n");
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
    char data[192], sock[192], logf[192];
    snprintf(data, sizeof data, "%s/data", p->root);
    snprintf(sock, sizeof sock, "%s/sock", p->root);
    snprintf(logf, sizeof logf, "%s/postgres.log", p->root);
    mkdir(data, 0700);
    mkdir(sock, 0700);
    close(open(logf, O_WRONLY | O_CREAT, 0644));
    if (p->as_root) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) return -1;
        if (chown(data, pw->pw_uid, pw->pw_gid) || chown(sock, pw->pw_uid, pw->pw_gid) ||
            chown(logf, pw->pw_uid, pw->pw_gid))
            return -1;
    }
    const char *initdb[] = {
        "-D",   data,         "-U",        "postgres",          "-A", "trust", "-E",
        "UTF8", "--locale=C", "--no-sync", "--no-instructions", NULL};
    if (pg_tool(p, "initdb", initdb)) {
        fprintf(stderr, "bench_cql: initdb failed\n");
        return -1;
    }
    char o[512];
    /* fsync and synchronous_commit stay at their durable defaults. */
    snprintf(o, sizeof o,
             "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 "
             "-c shared_buffers=256MB -c synchronous_commit=on -c fsync=on",
             p->port, sock);
    const char *start[] = {"-D", data, "-l", logf, "-o", o, "-w", "-t", "60", "start", NULL};
    if (pg_tool(p, "pg_ctl", start)) {
        fprintf(stderr, "bench_cql: pg_ctl start failed; see %s\n", logf);
        return -1;
    }
    p->started = true;
    return 0;
}

static void pg_stop(pg *p)
{
    if (p->started) {
        char data[192];
        snprintf(data, sizeof data, "%s/data", p->root);
        const char *stop[] = {"-D", data, "-m", "immediate", "-w", "stop", NULL};
        pg_tool(p, "pg_ctl", stop);
    }
    if (p->root[0]) nftw(p->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(p, 0, sizeof *p);
}

static PGconn *pg_connect(pg *p)
{
    char dsn[256];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres", p->port);
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_cql: postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int pg_setup(pg *p)
{
    PGconn *c = pg_connect(p);
    if (!c) return -1;
    PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS created_users (id uuid PRIMARY KEY, "
                            "first_name text, last_name text, gender text, address text, "
                            "post_code text, email text, username text, dob text, "
                            "registered_date text, phone text, picture text)");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc) fprintf(stderr, "bench_cql: postgres: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

typedef struct pg_conn {
    PGconn *c;
    int inflight;
    uint64_t *t0; /* ring of send times, FIFO like the pipeline */
    int head, cap;
} pg_conn;

/* The same rows through nconn pipelined connections, level statements in flight in all. */
static int pg_phase_run(pg *p, int level, measure *m)
{
    int nconn = SL_MIN(level, PG_CONNS);
    int depth = (level + nconn - 1) / nconn;
    pg_conn *pc = sl_calloc((size_t)nconn, sizeof(*pc));
    double *lat = sl_malloc(sizeof(double) * (size_t)(opt.max_rows + level));
    int64_t sent = 0, done = 0, failed = 0;
    int rc = -1;
    for (int i = 0; i < nconn; i++) {
        if (!(pc[i].c = pg_connect(p))) goto out;
        PGresult *r = PQprepare(pc[i].c, "ins",
                                "INSERT INTO created_users VALUES ($1::uuid, $2, $3, $4, $5, $6, "
                                "$7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO UPDATE SET "
                                "first_name = EXCLUDED.first_name",
                                12, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench_cql: postgres prepare: %s", PQerrorMessage(pc[i].c));
            PQclear(r);
            goto out;
        }
        PQclear(r);
        PQenterPipelineMode(pc[i].c);
        PQsetnonblocking(pc[i].c, 1);
        pc[i].cap = depth + 1;
        pc[i].t0 = sl_calloc((size_t)pc[i].cap, sizeof(uint64_t));
    }
    struct pollfd *fds = sl_calloc((size_t)nconn, sizeof(*fds));
    double t0 = now_s(), t_end = t0 + opt.seconds;
    int64_t quota = level; /* statements that may be in flight in all */
    for (;;) {
        bool sending = now_s() < t_end && sent < opt.max_rows;
        for (int i = 0; i < nconn && sending; i++) {
            while (pc[i].inflight < depth && quota > 0 && sent < opt.max_rows) {
                row r;
                make_row(&r, (uint64_t)sent);
                char uuid[37];
                sl_cql_uuid_format(r.id, uuid);
                const char *vals[12];
                vals[0] = uuid;
                for (int k = 0; k < NFIELDS; k++)
                    vals[k + 1] = r.f[k];
                if (!PQsendQueryPrepared(pc[i].c, "ins", 12, vals, NULL, NULL, 0) ||
                    !PQpipelineSync(pc[i].c)) {
                    fprintf(stderr, "bench_cql: postgres send: %s", PQerrorMessage(pc[i].c));
                    goto out_fds;
                }
                pc[i].t0[(pc[i].head + pc[i].inflight) % pc[i].cap] = sl_mono_ns();
                pc[i].inflight++;
                quota--;
                sent++;
            }
        }
        int busy = 0;
        for (int i = 0; i < nconn; i++) {
            fds[i].fd = PQsocket(pc[i].c);
            fds[i].events = POLLIN | (PQflush(pc[i].c) == 1 ? POLLOUT : 0);
            busy += pc[i].inflight;
        }
        if (!busy && !sending) break;
        if (!busy && sending) continue;
        if (poll(fds, (nfds_t)nconn, 1000) < 0 && errno != EINTR) goto out_fds;
        for (int i = 0; i < nconn; i++) {
            if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
            if (!PQconsumeInput(pc[i].c)) {
                fprintf(stderr, "bench_cql: postgres: %s", PQerrorMessage(pc[i].c));
                goto out_fds;
            }
            /* Per statement: its result, NULL, then the sync's PGRES_PIPELINE_SYNC. */
            int nulls = 0;
            while (pc[i].inflight > 0 && !PQisBusy(pc[i].c)) {
                PGresult *r = PQgetResult(pc[i].c);
                if (!r) {
                    if (++nulls > 1) break; /* one NULL ends each statement's results */
                    continue;
                }
                nulls = 0;
                ExecStatusType st = PQresultStatus(r);
                if (st == PGRES_PIPELINE_SYNC) {
                    lat[done++] = (double)(sl_mono_ns() - pc[i].t0[pc[i].head]) / 1e6;
                    pc[i].head = (pc[i].head + 1) % pc[i].cap;
                    pc[i].inflight--;
                    quota++;
                } else if (st != PGRES_COMMAND_OK) {
                    if (!failed++)
                        fprintf(stderr, "bench_cql: postgres: %s", PQresultErrorMessage(r));
                }
                PQclear(r);
            }
        }
    }
    double secs = now_s() - t0;
    m->rate = failed ? NAN : (double)(done - failed) / secs;
    m->p50_ms = bench_pct(lat, (size_t)done, 0.50);
    m->p99_ms = bench_pct(lat, (size_t)done, 0.99);
    rc = failed ? -1 : 0;
out_fds:
    sl_free(fds);
out:
    for (int i = 0; i < nconn; i++) {
        if (pc[i].c) PQfinish(pc[i].c);
        sl_free(pc[i].t0);
    }
    sl_free(pc);
    sl_free(lat);
    if (rc) m->rate = NAN;
    return rc;
}

/* Reporting */

static void fmt_rate(char *out, size_t n, bench_stat3 s)
{
    if (isnan(s.med))
        snprintf(out, n, "failed");
    else
        snprintf(out, n, "%.0f (%.0f-%.0f)", s.med, s.min, s.max);
}

/* A latency or ratio cell: "-" when not measured. */
static const char *num(char *buf, size_t n, double v)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.2f", v);
    return buf;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_cql [--levels 1,16,128,1024] [--seconds S] [--runs R] "
               "[--targets sluice,postgres] [--store HOST:PORT] [--max-rows N] [--select 0|1]\n");
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v) goto bad;
        i++;
        if (!strcmp(a, "--levels")) {
            opt.nlevels = 0;
            for (char *s = (char *)v; *s && opt.nlevels < MAX_LEVELS;) {
                opt.levels[opt.nlevels++] = atoi(s);
                s += strcspn(s, ",");
                if (*s) s++;
            }
        } else if (!strcmp(a, "--seconds")) {
            opt.seconds = atof(v);
        } else if (!strcmp(a, "--runs")) {
            opt.runs = SL_MAX(1, SL_MIN(MAX_RUNS, atoi(v)));
        } else if (!strcmp(a, "--targets")) {
            opt.want_sluice = strstr(v, "sluice") != NULL;
            opt.want_pg = strstr(v, "postgres") != NULL;
        } else if (!strcmp(a, "--select")) {
            opt.want_select = atoi(v) != 0;
        } else if (!strcmp(a, "--store")) {
            opt.store_addr = v;
        } else if (!strcmp(a, "--max-rows")) {
            opt.max_rows = atoll(v);
        } else {
            goto bad;
        }
    }
    for (int i = 0; i < opt.nlevels; i++)
        if (opt.levels[i] < 1 || opt.levels[i] > 8192) goto bad;
    if (opt.seconds <= 0 || opt.max_rows < 1) goto bad;
    return 0;
bad:
    usage(stderr);
    return -1;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    SL_UNUSED(sig);
    interrupted = 1;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) return 2;
    opt.sluice_bin = getenv("SLUICE_BIN") ? getenv("SLUICE_BIN") : "build/sluice";
    uint8_t seed[16];
    sl_cql_uuid_v4(seed); /* 122 bits from the system's randomness */
    memcpy(&rng_state, seed, 8);
    rng_state |= 1; /* xorshift's state must not be 0 */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    store st = {0};
    pg pgs = {0};
    sl_cqlc *c = NULL;
    int rc = 1;
    const char *addr = opt.store_addr;
    if (opt.want_sluice) {
        int src = addr ? 0 : store_start(&st);
        if (src < 0) goto out;
        if (src == 0) {
            if (!addr) addr = st.addr;
            if (cql_setup(addr) || !(c = cql_connect(addr))) goto out;
        }
    }
    if (opt.want_pg && (pg_start(&pgs) || pg_setup(&pgs))) goto out;

    measure ins[2][MAX_LEVELS][MAX_RUNS], sel[MAX_LEVELS][MAX_RUNS];
    for (int l = 0; l < opt.nlevels; l++)
        for (int r = 0; r < opt.runs; r++) {
            ins[0][l][r].rate = ins[1][l][r].rate = sel[l][r].rate = NAN;
        }
    for (int r = 0; r < opt.runs && !interrupted; r++)
        for (int l = 0; l < opt.nlevels && !interrupted; l++) {
            /* Alternate which target goes first, so drifting load hits both alike. */
            for (int k = 0; k < 2; k++) {
                int t = (r + k) % 2;
                if (t == 0 && c) cql_phase_run(c, false, opt.levels[l], &ins[0][l][r]);
                if (t == 1 && pgs.started) pg_phase_run(&pgs, opt.levels[l], &ins[1][l][r]);
            }
            if (c && nids && opt.want_select) cql_phase_run(c, true, opt.levels[l], &sel[l][r]);
            fprintf(stderr, "run %d level %d: sluice %.0f rows/s, postgres %.0f rows/s\n", r + 1,
                    opt.levels[l], ins[0][l][r].rate, ins[1][l][r].rate);
        }
    long hwm = st.pid ? proc_status_kb(st.pid, "VmHWM") : -1;
    long rss = st.pid ? proc_status_kb(st.pid, "VmRSS") : -1;

    printf("bench_cql: prepared single-row INSERT of a created_users row (uuid + 11 text, ~330 "
           "B), durable (sluice commitlog batch group commit; PostgreSQL fsync + "
           "synchronous_commit on, min(level,%d) pipelined connections), %.1f s per case, %d "
           "runs, one CQL connection, loopback, 2 cores\n",
           PG_CONNS, opt.seconds, opt.runs);
    printf("| in flight | sluice rows/s (median, min-max) | p50 ms | p99 ms | postgres rows/s "
           "(median, min-max) | p50 ms | p99 ms | ratio |\n|---|---|---|---|---|---|---|---|\n");
    for (int l = 0; l < opt.nlevels; l++) {
        double v[2][MAX_RUNS], p50[2][MAX_RUNS], p99[2][MAX_RUNS];
        for (int t = 0; t < 2; t++)
            for (int r = 0; r < opt.runs; r++) {
                v[t][r] = ins[t][l][r].rate;
                p50[t][r] = isnan(v[t][r]) ? NAN : ins[t][l][r].p50_ms;
                p99[t][r] = isnan(v[t][r]) ? NAN : ins[t][l][r].p99_ms;
            }
        bench_stat3 s0 = bench_stats(v[0], opt.runs), s1 = bench_stats(v[1], opt.runs);
        char a[64], b[64];
        fmt_rate(a, sizeof a, s0);
        fmt_rate(b, sizeof b, s1);
        if (!c) snprintf(a, sizeof a, "not run");
        if (!pgs.started) snprintf(b, sizeof b, "not run");
        char n1[32], n2[32], n3[32], n4[32], n5[32];
        printf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", opt.levels[l], a,
               num(n1, sizeof n1, bench_stats(p50[0], opt.runs).med),
               num(n2, sizeof n2, bench_stats(p99[0], opt.runs).med), b,
               num(n3, sizeof n3, bench_stats(p50[1], opt.runs).med),
               num(n4, sizeof n4, bench_stats(p99[1], opt.runs).med),
               num(n5, sizeof n5, s0.med / s1.med));
    }
    if (c && opt.want_select) {
        printf("\nbench_cql: point SELECT by id (prepared, one CQL connection)\n| in flight | "
               "sluice rows/s (median, min-max) | p50 ms | p99 ms |\n|---|---|---|---|\n");
        for (int l = 0; l < opt.nlevels; l++) {
            double v[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS];
            for (int r = 0; r < opt.runs; r++) {
                v[r] = sel[l][r].rate;
                p50[r] = isnan(v[r]) ? NAN : sel[l][r].p50_ms;
                p99[r] = isnan(v[r]) ? NAN : sel[l][r].p99_ms;
            }
            char a[64];
            fmt_rate(a, sizeof a, bench_stats(v, opt.runs));
            char n1[32], n2[32];
            printf("| %d | %s | %s | %s |\n", opt.levels[l], a,
                   num(n1, sizeof n1, bench_stats(p50, opt.runs).med),
                   num(n2, sizeof n2, bench_stats(p99, opt.runs).med));
        }
    }
    if (hwm >= 0)
        printf("\nsluice store memory after the run: VmHWM %ld kB, VmRSS %ld kB (%zu rows "
               "inserted)\n",
               hwm, rss, nids);
    rc = interrupted ? 1 : 0;
out:
    if (c) sl_cqlc_close(c);
    store_stop(&st);
    pg_stop(&pgs);
    sl_free(ids);
    return rc;
}
