/* bench_kafka.c: produce-then-consume throughput of `sluice broker` against librdkafka's
 * in-memory mock cluster, measured the same way in the same run (docs/benchmarks.md).
 *
 *   bench_kafka [--messages N] [--runs R (default 5)] [--sizes 100,1024] [--targets sluice,mock]
 *               [--flush always|interval:MS|os] [--phase-timeout SECONDS]
 *
 * Each measurement starts a fresh server in its own process: `$SLUICE_BIN broker` on a temp data
 * dir under /var/tmp (a real disk, so flush=always means real fdatasync), or a forked child that
 * hosts rd_kafka_mock_cluster_new(). A librdkafka 2.0.2 producer (acks=all, no compression) sends
 * N messages of one size to a 1-partition topic and waits for every delivery report (timed from
 * the first produce call to the last report). Consumers then read back, each timed from the first
 * message to the last:
 *   - the window: the last W messages, W = min(N, 3 MiB / (size + 16)), on both targets. The mock
 *     keeps only the newest 5 MiB or 100000 batches of a partition (rdkafka_mock.c: max_size,
 *     max_cnt) and deletes older ones, so this is the part of the log both still hold; the
 *     consume ratio is taken here. W is below the mock's limit with room for record and batch
 *     headers; a mock that no longer holds all of it fails the measurement rather than reading
 *     less.
 *   - all N messages from the log start, on sluice only (the mock no longer has them): the
 *     linearity figure, with no ratio.
 * The server's CPU time (utime+stime from /proc/PID/stat) and memory (VmHWM, VmRSS from
 * /proc/PID/status) are read around each phase, of the broker itself when $SLUICE_BIN is a
 * wrapper (perf record, a script) that runs it as a child. Runs alternate the two targets so that
 * background load drifts over both; the table shows medians with min-max, the ratio
 * sluice/mock of the medians, and the median (min-max) of each run's own sluice/mock ratio. */
#include "core/sl.h"
#include "bench_stats.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOPIC     "bench"
#define MAX_RUNS  20
#define MAX_SIZES 8

enum { T_SLUICE, T_MOCK, T_COUNT };
static const char *target_names[T_COUNT] = {"sluice", "mock"};

typedef struct server {
    int kind;
    pid_t pid;
    pid_t measured; /* whose CPU and memory are read: pid, or the broker a wrapper runs */
    int ctl_fd;     /* mock: closing it tells the child to exit */
    char bootstrap[256];
    char dir[128]; /* sluice: the temp data dir */
} server;

typedef struct phase_result {
    double secs;  /* NAN when the phase failed or timed out */
    double cpu_s; /* server CPU seconds during the phase */
    long hwm_kb;  /* server VmHWM after the phase */
    long rss_kb;  /* server VmRSS after the phase */
    int64_t msgs; /* messages moved: consume reads only what the server still holds */
} phase_result;

#define MAX_BROKER_ARGS 8

static struct {
    int64_t messages;
    int runs;
    size_t sizes[MAX_SIZES];
    int nsizes;
    bool want[T_COUNT];
    const char *flush;
    double phase_timeout;
    const char *sluice_bin;
    const char *broker_args[MAX_BROKER_ARGS]; /* extra `sluice broker` flags (--broker-arg) */
    int nbroker_args;
} opt = {100000, 5, {100, 1024}, 2, {true, true}, "always", 300, NULL, {NULL}, 0};

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

/* utime+stime of pid in seconds, from /proc/PID/stat. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces; fields resume after its closing parenthesis. */
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The children of every thread of pid (/proc/PID/task/TID/children), at most max. */
static int proc_children(pid_t pid, pid_t *out, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < max;) {
        if (e->d_name[0] == '.') continue;
        char cpath[320];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        FILE *f = fopen(cpath, "r");
        for (int c; f && n < max && fscanf(f, "%d", &c) == 1;)
            out[n++] = (pid_t)c;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return n;
}

static bool proc_comm_is(pid_t pid, const char *name)
{
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    bool ok = f && fgets(comm, sizeof comm, f);
    if (f) fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    return ok && !strcmp(comm, name);
}

/* The process that is the broker when $SLUICE_BIN is a wrapper (perf record, time, a shell
 * script) that runs it as a child: the wrapper's own CPU would read about 0. Followed down
 * from pid, preferring a child named "sluice", to a process without children (the broker
 * starts none). Without a wrapper, pid itself. */
static pid_t measured_pid(pid_t pid)
{
    for (int depth = 0; depth < 8; depth++) {
        pid_t kids[16];
        int n = proc_children(pid, kids, 16);
        if (n == 0) break;
        pid_t next = kids[0];
        for (int i = 0; i < n; i++)
            if (proc_comm_is(kids[i], "sluice")) next = kids[i];
        pid = next;
    }
    return pid;
}

/* True when pid has exited (no /proc entry, or a zombie nobody has reaped yet). */
static bool proc_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

/* A "Key:   N kB" line of /proc/PID/status, in kB; -1 when absent. */
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

static int sluice_start(server *s)
{
    int port = free_port();
    snprintf(s->dir, sizeof s->dir, "/var/tmp/sluice-bench-XXXXXX");
    if (port < 0 || !mkdtemp(s->dir)) {
        perror("bench_kafka: temp dir or port");
        return -1;
    }
    char listen[64], data[160], logpath[160];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(logpath, sizeof logpath, "%s/broker.log", s->dir);
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("SLUICE_LOG_LEVEL", "warn", 1);
        const char *args[9 + MAX_BROKER_ARGS] = {opt.sluice_bin, "broker", "--listen", listen,
                                                 "--data-dir",   data,     "--flush",  opt.flush};
        for (int i = 0; i < opt.nbroker_args; i++)
            args[8 + i] = opt.broker_args[i];
        execv(opt.sluice_bin, (char *const *)args);
        perror(opt.sluice_bin);
        _exit(127);
    }
    snprintf(s->bootstrap, sizeof s->bootstrap, "%s", listen);
    for (double t0 = now_s(); now_s() - t0 < 10;) {
        if (port_open(port)) {
            static bool said;
            s->measured = measured_pid(s->pid);
            if (s->measured != s->pid && !said) {
                said = true;
                fprintf(stderr,
                        "bench_kafka: %s runs the broker as a child (pid %d): its CPU and "
                        "memory are the figures\n",
                        opt.sluice_bin, (int)s->measured);
            }
            return 0;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            fprintf(stderr, "bench_kafka: %s exited at start; see %s\n", opt.sluice_bin, logpath);
            s->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    fprintf(stderr, "bench_kafka: sluice broker not listening after 10 s; see %s\n", logpath);
    return -1;
}

/* The child hosts the mock cluster until its control pipe closes. It is forked before the
 * parent creates any librdkafka client for this measurement, so no threads are duplicated. */
static int mock_start(server *s)
{
    int out[2], ctl[2];
    if (pipe(out) || pipe(ctl)) return -1;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        close(out[0]);
        close(ctl[1]);
        char err[256];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
        rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
        if (!mc || rd_kafka_mock_topic_create(mc, TOPIC, 1, 1)) _exit(1);
        dprintf(out[1], "%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        close(out[1]);
        char c;
        while (read(ctl[0], &c, 1) < 0 && errno == EINTR) {
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        _exit(0);
    }
    close(out[1]);
    close(ctl[0]);
    s->ctl_fd = ctl[1];
    FILE *f = fdopen(out[0], "r");
    bool ok = f && fgets(s->bootstrap, sizeof s->bootstrap, f);
    if (f) fclose(f);
    if (!ok) {
        fprintf(stderr, "bench_kafka: mock cluster did not start\n");
        return -1;
    }
    s->bootstrap[strcspn(s->bootstrap, "\n")] = '\0';
    s->measured = s->pid;
    return 0;
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        if (s->kind == T_MOCK) {
            close(s->ctl_fd);
        } else {
            /* A wrapper need not pass SIGTERM on (a shell does not): the broker gets it too. */
            if (s->measured > 0 && s->measured != s->pid) kill(s->measured, SIGTERM);
            kill(s->pid, SIGTERM);
        }
        int st;
        for (int i = 0; i < 1000 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(s->pid, &st, WNOHANG) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
        }
        /* A wrapper's broker is not our child: it is waited for by its /proc entry. */
        if (s->kind == T_SLUICE && s->measured > 0 && s->measured != s->pid) {
            for (int i = 0; i < 1000 && !proc_gone(s->measured); i++)
                usleep(10000);
            if (!proc_gone(s->measured)) kill(s->measured, SIGKILL);
        }
    }
    if (s->kind == T_SLUICE && s->dir[0]) nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(s, 0, sizeof *s);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err)) goto fail;
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof err)) goto fail;
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk) return rk;
fail:
    fprintf(stderr, "bench_kafka: librdkafka: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* sluice gets the topic through CreateTopics (the mock child created its own), so neither
 * timing includes auto-creation. */
static int create_topic(const char *bootstrap)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk) return -1;
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(TOPIC, 1, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    int rc = -1;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_topic_result_t **r =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && !rd_kafka_topic_result_error(r[0]))
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "bench_kafka: create topic: %s\n",
                    rd_kafka_err2str(rd_kafka_topic_result_error(r[0])));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

typedef struct dr_state {
    int64_t ok, failed;
    rd_kafka_resp_err_t first_err;
} dr_state;

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    dr_state *st = opaque;
    if (m->err) {
        if (!st->failed) st->first_err = m->err;
        st->failed++;
    } else {
        st->ok++;
    }
}

static void phase_begin(const server *s, double *cpu0)
{
    *cpu0 = proc_cpu_s(s->measured);
}

static void phase_end(const server *s, double cpu0, double secs, phase_result *r)
{
    r->secs = secs;
    r->cpu_s = proc_cpu_s(s->measured) - cpu0;
    r->hwm_kb = proc_status_kb(s->measured, "VmHWM");
    r->rss_kb = proc_status_kb(s->measured, "VmRSS");
}

static int produce_phase(const server *s, size_t size, phase_result *r)
{
    static const char *const kv[] = {"acks",
                                     "all",
                                     "linger.ms",
                                     "5",
                                     "queue.buffering.max.messages",
                                     "1000000",
                                     "message.timeout.ms",
                                     "600000",
                                     NULL};
    dr_state st = {0, 0, 0};
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", s->bootstrap, err, sizeof err);
    for (const char *const *p = kv; p[0]; p += 2)
        rd_kafka_conf_set(conf, p[0], p[1], err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "bench_kafka: %s\n", err);
        return -1;
    }
    /* Connected and holding the topic's metadata before the clock starts. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, TOPIC, NULL);
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);

    /* One payload for every message; librdkafka only reads it (no copy flag, never freed). */
    static uint8_t payload[1 << 20];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 131 + (i >> 7));

    double cpu0, t0 = now_s(), deadline = t0 + opt.phase_timeout;
    phase_begin(s, &cpu0);
    bool timed_out = false;
    for (int64_t i = 0; i < opt.messages && !timed_out; i++) {
        while (rd_kafka_produce(rkt, 0, 0, payload + (size_t)(i % 4096), size, NULL, 0, NULL) ==
               -1) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "bench_kafka: produce: %s\n",
                        rd_kafka_err2str(rd_kafka_last_error()));
                timed_out = true;
                break;
            }
            rd_kafka_poll(rk, 1);
            if (now_s() > deadline) {
                timed_out = true;
                break;
            }
        }
    }
    while (!timed_out && rd_kafka_outq_len(rk) > 0) {
        rd_kafka_poll(rk, 5);
        if (now_s() > deadline) timed_out = true;
    }
    double secs = now_s() - t0;
    phase_end(s, cpu0, secs, r);
    r->msgs = st.ok;
    if (timed_out) rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (timed_out || st.failed || st.ok != opt.messages) {
        if (st.failed)
            fprintf(stderr, "bench_kafka: %" PRId64 " deliveries failed: %s\n", st.failed,
                    rd_kafka_err2str(st.first_err));
        r->secs = NAN;
        return -1;
    }
    return 0;
}

/* Reads offsets [from, N) and checks that every one arrives in order with the right size.
 * *low gets the partition's log start offset as the server reports it before reading. */
static int consume_phase(const server *s, size_t size, int64_t from, phase_result *r, int64_t *low)
{
    /* auto.offset.reset=error: a server that no longer holds `from` fails the phase instead of
     * silently reading a shorter range. */
    static const char *const kv[] = {"group.id",
                                     "bench",
                                     "enable.auto.commit",
                                     "false",
                                     "enable.partition.eof",
                                     "false",
                                     "auto.offset.reset",
                                     "error",
                                     NULL};
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, s->bootstrap, kv);
    if (!rk) return -1;
    rd_kafka_poll_set_consumer(rk);
    int64_t high = -1;
    *low = -1;
    rd_kafka_query_watermark_offsets(rk, TOPIC, 0, low, &high, 10000);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = from;

    double cpu0, deadline = now_s() + opt.phase_timeout;
    phase_begin(s, &cpu0);
    rd_kafka_assign(rk, parts);
    int64_t got = 0, next_offset = from;
    double t_first = 0;
    bool bad = false;
    while (next_offset < opt.messages && !bad) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (now_s() > deadline) bad = true;
            continue;
        }
        if (m->err) {
            fprintf(stderr,
                    "bench_kafka: %s: consume from %" PRId64 " (log start %" PRId64 "): %s\n",
                    target_names[s->kind], from, *low, rd_kafka_message_errstr(m));
            bad = true;
        } else if (m->offset != next_offset || m->len != size) {
            fprintf(stderr,
                    "bench_kafka: consume: offset %" PRId64 " len %zu, expected %" PRId64
                    " len %zu\n",
                    m->offset, m->len, next_offset, size);
            bad = true;
        } else {
            if (got++ == 0) t_first = now_s();
            next_offset = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
    /* Timed from the first message to the last, so connection setup and the first fetch's
     * wait do not count: this is the rate at which a consumer drains what is there. */
    double secs = now_s() - t_first;
    phase_end(s, cpu0, secs, r);
    r->msgs = got;
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (bad) r->secs = NAN;
    return bad ? -1 : 0;
}

/* The consume window both targets hold. The mock deletes whole batches once it holds more than
 * 5 MiB, so after a deletion it may keep as little as 5 MiB less one producer batch (batch.size,
 * 1 MB); it counts about size + 25 bytes per message (4267 of 1 KiB, ~41800 of 100 B measured).
 * 3 MiB / (size + 16) leaves room for both. */
static int64_t window_for(size_t size)
{
    int64_t w = (int64_t)((3u << 20) / (size + 16));
    return w < opt.messages ? w : opt.messages;
}

static void fmt_rate(char *out, size_t n, bench_stat3 st)
{
    if (!st.n)
        snprintf(out, n, "failed");
    else if (st.n == 1)
        snprintf(out, n, "%.0f", st.med);
    else
        snprintf(out, n, "%.0f (%.0f-%.0f)", st.med, st.min, st.max);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_kafka [--messages N (1..10000000, default 100000)] [--runs R (1..%d, "
            "default 5)]\n"
            "                   [--sizes B,B... (default 100,1024)] [--targets sluice,mock]\n"
            "                   [--flush always|interval:MS|os] [--phase-timeout SECONDS "
            "(default 300)]\n"
            "                   [--broker-arg FLAG=VALUE ... (passed to sluice broker)]\n"
            "SLUICE_BIN names the binary (default build/sluice).\n",
            MAX_RUNS);
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!v) goto bad;
        i++;
        if (!strcmp(a, "--messages")) {
            opt.messages = strtoll(v, &end, 10);
            if (*end || opt.messages < 1 || opt.messages > 10000000) goto bad;
        } else if (!strcmp(a, "--runs")) {
            opt.runs = (int)strtol(v, &end, 10);
            if (*end || opt.runs < 1 || opt.runs > MAX_RUNS) goto bad;
        } else if (!strcmp(a, "--sizes")) {
            opt.nsizes = 0;
            for (const char *p = v; *p && opt.nsizes < MAX_SIZES; p = *end ? end + 1 : end) {
                long n = strtol(p, &end, 10);
                if (end == p || n < 1 || n > (1 << 20) - 4096 || (*end && *end != ',')) goto bad;
                opt.sizes[opt.nsizes++] = (size_t)n;
            }
            if (!opt.nsizes) goto bad;
        } else if (!strcmp(a, "--targets")) {
            opt.want[T_SLUICE] = strstr(v, "sluice") != NULL;
            opt.want[T_MOCK] = strstr(v, "mock") != NULL;
            if (!opt.want[T_SLUICE] && !opt.want[T_MOCK]) goto bad;
        } else if (!strcmp(a, "--flush")) {
            opt.flush = v;
        } else if (!strcmp(a, "--broker-arg")) {
            if (opt.nbroker_args == MAX_BROKER_ARGS) goto bad;
            opt.broker_args[opt.nbroker_args++] = v;
        } else if (!strcmp(a, "--phase-timeout")) {
            opt.phase_timeout = strtod(v, &end);
            if (*end || opt.phase_timeout <= 0) goto bad;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "bench_kafka: bad argument '%s%s%s'\n", a, v ? " " : "", v ? v : "");
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) return 2;
    opt.sluice_bin = getenv("SLUICE_BIN") ? getenv("SLUICE_BIN") : "build/sluice";
    if (opt.want[T_SLUICE] && access(opt.sluice_bin, X_OK)) {
        fprintf(stderr, "bench_kafka: %s is not executable (set SLUICE_BIN)\n", opt.sluice_bin);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    /* [phase][size][target][run]; phases: produce, consume the window, consume all */
    enum { PH_PRODUCE, PH_WINDOW, PH_ALL, PH_COUNT };
    static phase_result res[PH_COUNT][MAX_SIZES][T_COUNT][MAX_RUNS];
    static long hwm_kb[MAX_SIZES][T_COUNT][MAX_RUNS];
    static int64_t kept[MAX_SIZES][T_COUNT][MAX_RUNS]; /* messages held after produce */
    int failures = 0;
    for (int run = 0; run < opt.runs; run++) {
        for (int si = 0; si < opt.nsizes; si++) {
            size_t size = opt.sizes[si];
            int64_t w = window_for(size);
            for (int k = 0; k < T_COUNT; k++) {
                int t = (run + k) % 2 ? T_MOCK : T_SLUICE; /* alternate which goes first */
                for (int ph = 0; ph < PH_COUNT; ph++)
                    res[ph][si][t][run].secs = NAN;
                hwm_kb[si][t][run] = -1;
                kept[si][t][run] = -1;
                if (!opt.want[t]) continue;
                server s = {.kind = t};
                int64_t low = -1;
                int rc = t == T_SLUICE ? sluice_start(&s) : mock_start(&s);
                if (rc == 0 && t == T_SLUICE) rc = create_topic(s.bootstrap);
                if (rc == 0) rc = produce_phase(&s, size, &res[PH_PRODUCE][si][t][run]);
                if (rc == 0)
                    rc = consume_phase(&s, size, opt.messages - w, &res[PH_WINDOW][si][t][run],
                                       &low);
                if (low >= 0) kept[si][t][run] = opt.messages - low;
                if (rc == 0 && t == T_SLUICE)
                    rc = consume_phase(&s, size, 0, &res[PH_ALL][si][t][run], &low);
                if (s.pid > 0) hwm_kb[si][t][run] = proc_status_kb(s.measured, "VmHWM");
                server_stop(&s);
                if (rc) failures++;
                fprintf(stderr,
                        "run %d %s %zu B: produce %.2f s, consume last %" PRId64
                        " %.3f s, consume all %.2f s%s\n",
                        run + 1, target_names[t], size, res[PH_PRODUCE][si][t][run].secs, w,
                        res[PH_WINDOW][si][t][run].secs, res[PH_ALL][si][t][run].secs,
                        rc ? " (FAILED)" : "");
            }
        }
    }

    printf("bench_kafka: produce then consume, %" PRId64 " messages per case, 1 partition, "
           "acks=all, no compression, librdkafka %s client; sluice flush=%s on ext4 (/var/tmp); "
           "medians of %d runs (min-max)\n",
           opt.messages, rd_kafka_version_str(), opt.flush, opt.runs);
    printf("| case | sluice msgs/s | sluice MB/s | mock msgs/s | mock MB/s | ratio sluice/mock | "
           "paired ratio | "
           "sluice RSS peak (VmHWM) | mock RSS peak | sluice CPU s/GB | mock CPU s/GB |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    /* For bench/report's plot of throughput against message size (bench/run sets the dir). */
    FILE *tsv = NULL;
    const char *outdir = getenv("SLUICE_BENCH_OUT");
    if (outdir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/kafka_throughput.tsv", outdir);
        tsv = fopen(path, "a");
    }
    for (int si = 0; si < opt.nsizes; si++) {
        char size[32];
        if (opt.sizes[si] % 1024 == 0)
            snprintf(size, sizeof size, "%zu KiB", opt.sizes[si] / 1024);
        else
            snprintf(size, sizeof size, "%zu B", opt.sizes[si]);
        for (int ph = 0; ph < PH_COUNT; ph++) {
            bench_stat3 rate[T_COUNT], mbs[T_COUNT], cpu[T_COUNT], hwm[T_COUNT];
            double runrate[T_COUNT][MAX_RUNS];
            for (int t = 0; t < T_COUNT; t++) {
                double r[MAX_RUNS], m[MAX_RUNS], c[MAX_RUNS], h[MAX_RUNS];
                for (int run = 0; run < opt.runs; run++) {
                    phase_result *p = &res[ph][si][t][run];
                    bool ok = !isnan(p->secs) && p->secs > 0 && p->msgs > 0;
                    double gb = (double)p->msgs * (double)opt.sizes[si] / 1e9;
                    r[run] = ok ? (double)p->msgs / p->secs : NAN;
                    m[run] = ok ? gb * 1e3 / p->secs : NAN;
                    /* CPU time comes in 10 ms ticks: shorter phases give no figure. */
                    c[run] = ok && p->secs >= 0.1 ? p->cpu_s / gb : NAN;
                    /* Peak RSS is a property of the server's life: taken after its last phase. */
                    h[run] =
                        ok && hwm_kb[si][t][run] >= 0 ? (double)hwm_kb[si][t][run] / 1024.0 : NAN;
                }
                memcpy(runrate[t], r, sizeof r);
                rate[t] = bench_stats(r, opt.runs);
                mbs[t] = bench_stats(m, opt.runs);
                cpu[t] = bench_stats(c, opt.runs);
                hwm[t] = bench_stats(h, opt.runs);
            }
            /* A CPU median needs most runs to have had a long enough phase. */
            int quorum = opt.runs / 2 + 1;
            char paired[48] = "-";
            char name[96], rs[64], rm[64], ratio[16] = "-", mm[16] = "-", mh[16] = "-",
                                           mc[16] = "-";
            if (ph == PH_PRODUCE)
                snprintf(name, sizeof name, "produce %s", size);
            else if (ph == PH_WINDOW)
                snprintf(name, sizeof name, "consume %s, last %" PRId64, size,
                         window_for(opt.sizes[si]));
            else
                snprintf(name, sizeof name, "consume %s, all %" PRId64 " (sluice only)", size,
                         opt.messages);
            fmt_rate(rs, sizeof rs, rate[T_SLUICE]);
            fmt_rate(rm, sizeof rm, rate[T_MOCK]);
            if (ph == PH_ALL) {
                snprintf(rm, sizeof rm, "-");
            } else {
                snprintf(ratio, sizeof ratio, "%.2f", rate[T_SLUICE].med / rate[T_MOCK].med);
                /* Each run's two targets ran back to back, so their ratio sees nearly the same
                   background load; the median of those drifts less than a ratio of medians. */
                double pr[MAX_RUNS];
                for (int run = 0; run < opt.runs; run++)
                    pr[run] = runrate[T_SLUICE][run] / runrate[T_MOCK][run];
                bench_stat3 ps = bench_stats(pr, opt.runs);
                if (ps.n)
                    snprintf(paired, sizeof paired, "%.2f (%.2f-%.2f)", ps.med, ps.min, ps.max);
                snprintf(mm, sizeof mm, "%.1f", mbs[T_MOCK].med);
                snprintf(mh, sizeof mh, "%.0f MiB", hwm[T_MOCK].med);
                if (cpu[T_MOCK].n >= quorum) snprintf(mc, sizeof mc, "%.1f", cpu[T_MOCK].med);
            }
            char sc[16] = "-";
            if (cpu[T_SLUICE].n >= quorum) snprintf(sc, sizeof sc, "%.1f", cpu[T_SLUICE].med);
            for (int t = 0; tsv && ph != PH_ALL && t < T_COUNT; t++)
                if (rate[t].n)
                    fprintf(tsv, "%s\t%zu\t%s\t%.0f\t%.0f\t%.0f\t%.2f\n",
                            ph == PH_PRODUCE ? "produce" : "consume", opt.sizes[si],
                            target_names[t], rate[t].med, rate[t].min, rate[t].max, mbs[t].med);
            printf("| %s | %s | %.1f | %s | %s | %s | %s | %.0f MiB | %s | %s | %s |\n", name, rs,
                   mbs[T_SLUICE].med, rm, mm, ratio, paired, hwm[T_SLUICE].med, mh, sc, mc);
        }
    }
    printf("Messages each target still held after producing N (log end - log start):\n");
    for (int si = 0; si < opt.nsizes; si++) {
        for (int t = 0; t < T_COUNT; t++) {
            int64_t lo = INT64_MAX, hi = -1;
            for (int run = 0; run < opt.runs; run++) {
                if (kept[si][t][run] < 0) continue;
                lo = SL_MIN(lo, kept[si][t][run]);
                hi = SL_MAX(hi, kept[si][t][run]);
            }
            if (hi >= 0)
                printf("  %s %zu B: %" PRId64 "-%" PRId64 " of %" PRId64 "\n", target_names[t],
                       opt.sizes[si], lo, hi, opt.messages);
        }
    }
    if (tsv) fclose(tsv);
    if (failures) fprintf(stderr, "bench_kafka: %d measurement(s) failed\n", failures);
    return failures ? 1 : 0;
}
