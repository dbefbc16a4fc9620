/* bench_plog.c: the partition log on its own (docs/benchmarks.md): append throughput without
 * and with a sync per append, reopen time over ~1 GiB (clean, after a crash with a recovery
 * point, after a crash without one), and sequential and random read throughput.
 *
 *   bench_plog [--gib N] [--runs R] [--dir DIR]
 *
 * The peer is the same work done with bare system calls on the same files: write(2) of the same
 * batches, write(2)+fdatasync, and pread(2) of the same byte ranges. It shows what the log costs
 * over the system calls it cannot avoid. Reopen has no peer: its goal is absolute (< 1 s for
 * 1 GiB, issue 3). Data lives under DIR (default /var/tmp, a real disk), page cache warm. */
#include "kafka/flusher.h"
#include "kafka/plog.h"
#include "../tests/unit/kafka/batch_util.h"
#include "core/log.h"
#include "bench_stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_RUNS   15
#define SEG_BYTES  (128LL << 20)
#define BATCH_RECS 100
#define VALUE_LEN  150

static int runs = 5;
static double gib = 1.0;
static const char *base_dir = "/var/tmp";
#define PATH_LEN 1024
static sl_buf batch; /* one ~16 KiB batch, reused */

static double now_s(void)
{
    return (double)sl_mono_ns() / 1e9;
}

static void row(const char *name, const char *unit, bench_stat3 s, const bench_stat3 *peer)
{
    char a[64], b[64] = "-", r[16] = "-";
    snprintf(a, sizeof(a), "%.1f %s (%.1f-%.1f)", s.med, unit, s.min, s.max);
    if (peer) {
        snprintf(b, sizeof(b), "%.1f %s (%.1f-%.1f)", peer->med, unit, peer->min, peer->max);
        snprintf(r, sizeof(r), "%.2f", s.med / peer->med);
    }
    printf("| %-34s | %-30s | %-30s | %-5s |\n", name, a, b, r);
    fflush(stdout);
}

static sl_plog_opts bench_opts(int64_t seg_bytes)
{
    sl_plog_opts o;
    sl_plog_opts_default(&o);
    o.segment_bytes = seg_bytes;
    o.retention_ms = -1;
    return o;
}

static char bench_dir[256]; /* removed on every way out */

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_plog: %s: %s\n", what, sl_strerror(rc));
    if (bench_dir[0]) tb_rm_rf(bench_dir);
    exit(1);
}

static void on_signal(int sig)
{
    /* Not async-signal-safe, but the process is leaving and a GiB of test data must not stay. */
    if (bench_dir[0]) tb_rm_rf(bench_dir);
    _exit(128 + sig);
}

/* Appends bytes worth of batches; returns seconds. */
static double fill(sl_plog *l, int64_t bytes, bool sync_each)
{
    double t0 = now_s();
    for (int64_t done = 0; done < bytes; done += (int64_t)batch.len) {
        int64_t base, synced;
        int rc = sl_plog_append(l, batch.ptr, batch.len, &base);
        if (rc) die("append", rc);
        if (sync_each && (rc = sl_plog_sync(l, &synced))) die("sync", rc);
    }
    return now_s() - t0;
}

static double raw_fill(const char *path, int64_t bytes, bool sync_each)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die(path, -errno);
    double t0 = now_s();
    for (int64_t done = 0; done < bytes; done += (int64_t)batch.len) {
        if (write(fd, batch.ptr, batch.len) != (ssize_t)batch.len) die("write", -errno);
        if (sync_each && fdatasync(fd)) die("fdatasync", -errno);
    }
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    return t;
}

static void bench_group_commit(const char *dir, const bench_stat3 *per_ack_peer);

static void bench_append(const char *dir)
{
    int64_t bytes = 256LL << 20;
    double mine[MAX_RUNS], peer[MAX_RUNS], smine[MAX_RUNS], speer[MAX_RUNS];
    int nsync = 1000;
    char sub[PATH_LEN], raw[PATH_LEN];
    snprintf(raw, sizeof(raw), "%s/raw.bin", dir);
    for (int r = 0; r < runs; r++) {
        snprintf(sub, sizeof(sub), "%s/append-%d", dir, r);
        sl_plog_opts o = bench_opts(SEG_BYTES);
        sl_plog *l;
        int rc = sl_plog_open(sub, &o, &l);
        if (rc) die("open", rc);
        mine[r] = (double)bytes / (1 << 20) / fill(l, bytes, false);
        peer[r] = (double)bytes / (1 << 20) / raw_fill(raw, bytes, false);
        smine[r] = nsync / fill(l, (int64_t)nsync * (int64_t)batch.len, true);
        speer[r] = nsync / raw_fill(raw, (int64_t)nsync * (int64_t)batch.len, true);
        sl_plog_destroy(l);
    }
    bench_stat3 p = bench_stats(peer, runs), sp = bench_stats(speer, runs);
    row("append, no sync", "MB/s", bench_stats(mine, runs), &p);
    row("append + fdatasync each", "appends/s", bench_stats(smine, runs), &sp);
    bench_group_commit(dir, &sp);
}

/* Group commit: requesters that each append, ask the flusher, and go again when acked. */
typedef struct gc_producer {
    sl_flusher *f;
    sl_plog *log;
    int left;
    int *finished;
} gc_producer;

static void gc_step(void *arg, int rc)
{
    gc_producer *p = arg;
    if (rc) die("flush", rc);
    if (p->left-- == 0) {
        (*p->finished)++;
        return;
    }
    int64_t base;
    if ((rc = sl_plog_append(p->log, batch.ptr, batch.len, &base))) die("append", rc);
    sl_flusher_request(p->f, p->log, gc_step, p);
}

static void bench_group_commit(const char *dir, const bench_stat3 *per_ack_peer)
{
    enum { NLOGS = 8, NPROD = 64, EACH = 40 };
    double acks[MAX_RUNS], per_sync[MAX_RUNS], syncs_s[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        sl_flusher *f;
        int rc = sl_flusher_start(&loop, &f);
        if (rc) die("flusher", rc);
        sl_plog *logs[NLOGS];
        char sub[PATH_LEN];
        for (int i = 0; i < NLOGS; i++) {
            snprintf(sub, sizeof(sub), "%s/gc-%d-%d", dir, r, i);
            sl_plog_opts o = bench_opts(SEG_BYTES);
            if ((rc = sl_plog_open(sub, &o, &logs[i]))) die("open", rc);
        }
        static gc_producer ps[NPROD];
        int finished = 0;
        double t0 = now_s();
        for (int i = 0; i < NPROD; i++) {
            ps[i] = (gc_producer){f, logs[i % NLOGS], EACH, &finished};
            gc_step(&ps[i], 0);
        }
        while (finished < NPROD)
            uv_run(&loop, UV_RUN_ONCE);
        double t = now_s() - t0;
        sl_flusher_stats st;
        sl_flusher_stats_get(f, &st);
        acks[r] = (double)st.requests / t;
        per_sync[r] = (double)st.requests / (double)st.syncs;
        syncs_s[r] = (double)st.syncs / t;
        sl_flusher_stop(f);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        for (int i = 0; i < NLOGS; i++)
            sl_plog_destroy(logs[i]);
    }
    row("group commit 64 req x 8 logs", "acks/s", bench_stats(acks, runs), per_ack_peer);
    row("  requests per fdatasync", "", bench_stats(per_sync, runs), NULL);
    row("  fdatasyncs per second", "", bench_stats(syncs_s, runs), NULL);
}

/* A child appends more and dies without closing the log, as under kill -9. */
static void crash_child(const char *dir, int64_t seg_bytes, int64_t bytes_before_sync,
                        int64_t bytes_after)
{
    pid_t pid = fork();
    if (pid == 0) {
        bench_dir[0] = 0; /* the parent cleans up */
        sl_plog_opts o = bench_opts(seg_bytes);
        sl_plog *l;
        int64_t synced;
        if (sl_plog_open(dir, &o, &l)) _exit(1);
        fill(l, bytes_before_sync, false);
        if (bytes_before_sync && sl_plog_sync(l, &synced)) _exit(2);
        fill(l, bytes_after, false);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) die("crash child", -1);
}

static double timed_open(const char *dir, int64_t seg_bytes, int64_t *end)
{
    sl_plog_opts o = bench_opts(seg_bytes);
    sl_plog *l;
    double t0 = now_s();
    int rc = sl_plog_open(dir, &o, &l);
    double t = now_s() - t0;
    if (rc) die("reopen", rc);
    *end = sl_plog_end_offset(l);
    sl_plog_close(l);
    return t;
}

static void bench_reopen(const char *dir, int64_t seg_bytes, const char *label)
{
    double v[MAX_RUNS];
    int64_t end, end0;
    char name[96], ck[PATH_LEN];
    snprintf(ck, sizeof(ck), "%s/recovery-point", dir);
    timed_open(dir, seg_bytes, &end0);

    for (int r = 0; r < runs; r++)
        v[r] = timed_open(dir, seg_bytes, &end) * 1000;
    snprintf(name, sizeof(name), "reopen %s, clean", label);
    row(name, "ms", bench_stats(v, runs), NULL);

    for (int r = 0; r < runs; r++) {
        crash_child(dir, seg_bytes, 4 << 20, 1 << 20);
        v[r] = timed_open(dir, seg_bytes, &end) * 1000;
    }
    snprintf(name, sizeof(name), "reopen %s, crash after sync", label);
    row(name, "ms", bench_stats(v, runs), NULL);

    for (int r = 0; r < runs; r++) {
        crash_child(dir, seg_bytes, 0, 1 << 20);
        unlink(ck);
        v[r] = timed_open(dir, seg_bytes, &end) * 1000;
    }
    snprintf(name, sizeof(name), "reopen %s, crash, no recovery pt", label);
    row(name, "ms", bench_stats(v, runs), NULL);
}

static int64_t dir_bytes(const char *dir)
{
    char cmd[PATH_LEN + 32];
    snprintf(cmd, sizeof(cmd), "du -sb %s | cut -f1", dir);
    FILE *p = popen(cmd, "r");
    long long n = 0;
    if (fscanf(p, "%lld", &n) != 1) n = 0;
    pclose(p);
    return n;
}

static void bench_read(const char *dir)
{
    sl_plog_opts o = bench_opts(SEG_BYTES);
    sl_plog *l;
    int rc = sl_plog_open(dir, &o, &l);
    if (rc) die("open", rc);
    int64_t end = sl_plog_end_offset(l);
    double seq[MAX_RUNS], seq_peer[MAX_RUNS], rnd[MAX_RUNS], rnd_peer[MAX_RUNS];
    sl_buf out = SL_BUF_INIT;
    size_t max = 1 << 20;
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        int64_t next = sl_plog_start_offset(l), got = 0;
        while (next < end) {
            sl_buf_reset(&out);
            if ((rc = sl_plog_read(l, next, max, &out))) die("read", rc);
            size_t off = 0, last = 0;
            while (off < out.len) {
                last = off;
                off += 12 + sl_get_be32(out.ptr + off + 8);
            }
            next = (int64_t)sl_get_be64(out.ptr + last) +
                   (int32_t)sl_get_be32(out.ptr + last + 23) + 1;
            got += (int64_t)out.len;
        }
        seq[r] = (double)got / (1 << 20) / (now_s() - t0);

        /* Peer: the same bytes read with pread in 1 MiB chunks, file by file. */
        t0 = now_s();
        got = 0;
        DIR *d = opendir(dir);
        struct dirent *de;
        sl_buf_reserve(&out, max);
        while ((de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (n < 5 || strcmp(de->d_name + n - 4, ".log")) continue;
            char p[PATH_LEN];
            if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p)) continue;
            int fd = open(p, O_RDONLY);
            ssize_t k;
            for (off_t pos = 0; (k = pread(fd, out.ptr, max, pos)) > 0; pos += k)
                got += k;
            close(fd);
        }
        closedir(d);
        seq_peer[r] = (double)got / (1 << 20) / (now_s() - t0);

        /* Random fetches: offsets that miss the position cache and need the index. */
        int n = 20000;
        uint64_t seed = 88172645463325252ULL + (uint64_t)r;
        t0 = now_s();
        for (int i = 0; i < n; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            sl_buf_reset(&out);
            if ((rc = sl_plog_read(l, (int64_t)(seed % (uint64_t)end), 64 << 10, &out)))
                die("read", rc);
        }
        rnd[r] = n / (now_s() - t0);

        char p[PATH_LEN];
        if (snprintf(p, sizeof(p), "%s/%020d.log", dir, 0) >= (int)sizeof(p))
            die(dir, -ENAMETOOLONG);
        int fd = open(p, O_RDONLY);
        t0 = now_s();
        for (int i = 0; i < n; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            if (pread(fd, out.ptr, 64 << 10, (off_t)(seed % (uint64_t)(SEG_BYTES - (64 << 10)))) <=
                0)
                die("pread", -errno);
        }
        rnd_peer[r] = n / (now_s() - t0);
        close(fd);
    }
    bench_stat3 a = bench_stats(seq_peer, runs), b = bench_stats(rnd_peer, runs);
    row("sequential read, 1 MiB fetches", "MB/s", bench_stats(seq, runs), &a);
    row("random read, 64 KiB fetches", "reads/s", bench_stats(rnd, runs), &b);
    sl_buf_free(&out);
    sl_plog_close(l);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gib") && i + 1 < argc)
            gib = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base_dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_plog [--gib N] [--runs R] [--dir DIR]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || gib <= 0) {
        fprintf(stderr, "bench_plog: --runs 1..%d, --gib > 0\n", MAX_RUNS);
        return 2;
    }
    sl_log_level = SL_LOG_ERROR;
    char *dir = bench_dir, data[PATH_LEN];
    snprintf(dir, sizeof(bench_dir), "%s/sluice-bench-plog-XXXXXX", base_dir);
    if (!mkdtemp(dir)) {
        bench_dir[0] = 0;
        die(base_dir, -errno);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not skip the cleanup */
    tb_batch(&batch, BATCH_RECS, 1700000000000, 1, VALUE_LEN, 'v');

    printf("bench_plog: partition log, RelWithDebInfo, %zu-byte batches (%d records of %d B, "
           "uncompressed), index interval 4 KiB, data in %s, page cache warm, %d runs\n",
           batch.len, BATCH_RECS, VALUE_LEN, base_dir, runs);
    printf("| %-34s | %-30s | %-30s | %-5s |\n", "case", "sluice (median, min-max)",
           "peer: bare syscalls (median, min-max)", "ratio");
    printf("|%s|%s|%s|%s|\n", "------------------------------------",
           "--------------------------------", "--------------------------------", "-------");
    bench_append(dir);

    /* ~N GiB over 128 MiB segments: the reopen and read data set. */
    snprintf(data, sizeof(data), "%s/segmented", dir);
    sl_plog_opts o = bench_opts(SEG_BYTES);
    sl_plog *l;
    int rc = sl_plog_open(data, &o, &l);
    if (rc) die("open", rc);
    /* Leave room in the last segment for what the crash runs append (~6 MiB per run). */
    fill(l, (int64_t)(gib * (double)(1LL << 30)) - (48LL << 20), false);
    sl_plog_close(l);
    char label[64];
    snprintf(label, sizeof(label), "%.2f GiB/128M segs", (double)dir_bytes(data) / (1 << 30));
    bench_reopen(data, SEG_BYTES, label);
    bench_read(data);
    tb_rm_rf(data);

    /* The worst case: one active segment of ~N GiB (segment_bytes 1 GiB, the default). */
    snprintf(data, sizeof(data), "%s/one-segment", dir);
    o = bench_opts(1LL << 30);
    if ((rc = sl_plog_open(data, &o, &l))) die("open", rc);
    fill(l, (int64_t)(SL_MIN(gib, 1.0) * (double)(1LL << 30)) - (48LL << 20), false);
    sl_plog_close(l);
    snprintf(label, sizeof(label), "%.2f GiB/1 seg", (double)dir_bytes(data) / (1 << 30));
    bench_reopen(data, 1LL << 30, label);
    tb_rm_rf(dir);
    sl_buf_free(&batch);
    return 0;
}
