/* executor.c: a task try as a child process in its own process group, or on a thread of the
 * scheduler's process. */
#include "scheduler/executor.h"

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* The sluice binary a fresh-process try execs (sl_exec_set_program); NULL: none, the forked
 * child runs every type itself. */
static char *exec_program;

void sl_exec_set_program(const char *path)
{
    sl_free(exec_program);
    exec_program = path ? sl_strdup(path) : NULL;
}

int sl_exec_log_path(const char *data_dir, const char *dag_id, const char *run_id,
                     const char *task_id, int try_number, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/logs/%s/%s/%s/%d.log", data_dir, dag_id, run_id, task_id,
                     try_number);
    return n < 0 || (size_t)n >= len ? SL_ERR_TOOBIG : 0;
}

/* mkdir -p of dir (modified in place and restored): the deepest first, since usually only the
 * last one or two are new (a try's task directory, a new run's), which saves a mkdir(2) per
 * existing level on every try. */
static int mkdir_p(char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    if (errno != ENOENT) return -errno;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return -ENOENT;
    *slash = '\0';
    int rc = mkdir_p(dir);
    *slash = '/';
    if (rc) return rc;
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* mkdir -p of the directories above path's last component. */
static int mkdirs_for(const char *path)
{
    char *p = sl_strdup(path);
    char *slash = strrchr(p, '/');
    int rc = 0;
    if (slash && slash != p) {
        *slash = '\0';
        rc = mkdir_p(p);
    }
    sl_free(p);
    return rc;
}

static void stamp(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void sl_exec_log_note(const char *log_path, const char *fmt, ...)
{
    FILE *f = fopen(log_path, "a");
    if (!f) return;
    char ts[40];
    stamp(ts, sizeof ts);
    fprintf(f, "[%s] [scheduler] ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

/* Runs the task between the executor's first and last lines of the try's log. */
static int run_logged(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx, FILE *log,
                      const char *how)
{
    setvbuf(log, NULL, _IOLBF, 0);
    char ts[40];
    stamp(ts, sizeof ts);
    fprintf(log, "[%s] [executor] %s.%s run %s try %d (pid %ld%s)\n", ts, ctx->dag_id, ctx->task_id,
            ctx->run_id, ctx->try_number, (long)getpid(), how);
    int rc = sl_task_run(d, t, ctx, log);
    stamp(ts, sizeof ts);
    fprintf(log, "[%s] [executor] try %d %s\n", ts, ctx->try_number,
            rc == 0 ? "succeeded" : "failed");
    fflush(log);
    return rc;
}

/* In the child, for a type that must not run in a forked copy of the scheduler: execs
 * `sluice __try` with the DAG's text (as the scheduler loaded it) in a memfd and the try's
 * context as arguments. Returns only when that fails. */
static void exec_fresh(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx)
{
    int mfd = memfd_create("sluice-dag", 0);
    if (mfd < 0) {
        dprintf(2, "sluice: try: memfd_create: %s\n", strerror(errno));
        return;
    }
    for (size_t off = 0; off < d->text_len;) {
        ssize_t n = write(mfd, d->text + off, d->text_len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            dprintf(2, "sluice: try: writing the DAG's text: %s\n", strerror(errno));
            return;
        }
        off += (size_t)n;
    }
    char fd_s[16], try_s[16], start_s[24], end_s[24];
    snprintf(fd_s, sizeof fd_s, "%d", mfd);
    snprintf(try_s, sizeof try_s, "%d", ctx->try_number);
    snprintf(start_s, sizeof start_s, "%lld", (long long)ctx->interval_start_ms);
    snprintf(end_s, sizeof end_s, "%lld", (long long)ctx->interval_end_ms);
    char *argv[] = {exec_program,
                    "__try",
                    fd_s,
                    (char *)(d->file ? d->file : "<dag>"),
                    (char *)ctx->dag_id,
                    (char *)t->id,
                    (char *)(ctx->run_id ? ctx->run_id : ""),
                    try_s,
                    start_s,
                    end_s,
                    (char *)(ctx->conf_json ? ctx->conf_json : "{}"),
                    NULL};
    execv(exec_program, argv);
    dprintf(2, "sluice: try: exec %s: %s\n", exec_program, strerror(errno));
}

/* In the child: wait for the go byte, then run the task with the log as stdout and stderr. */
static void child_main(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx,
                       const char *log_path, int go_rd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);
    /* The parent's handlers (libuv's SIGCHLD, the stop signals) and mask are not the task's. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    char go;
    ssize_t n;
    do
        n = read(go_rd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(3);
    close(go_rd);
    /* The log's directories are made here, once the try is recorded running, to keep them off
     * the scheduler's loop: a new directory costs a millisecond or more on a busy ext4. */
    int md = mkdirs_for(log_path);
    int fd = md ? md : open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        dprintf(2, "sluice: try log %s: %s\n", log_path, strerror(md ? -md : errno));
        _exit(1);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null < 0) _exit(1);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    close(null);
    if (exec_program && d->text && sl_task_fresh_process(t)) {
        exec_fresh(d, t, ctx);
        _exit(1);
    }
    FILE *log = fdopen(dup(1), "a");
    if (!log) _exit(1);
    int rc = run_logged(d, t, ctx, log, "");
    fflush(stdout);
    fflush(stderr);
    _exit(rc == 0 ? 0 : 1);
}

static volatile sig_atomic_t fresh_cancel;

static void on_fresh_signal(int sig)
{
    SL_UNUSED(sig);
    fresh_cancel = 1;
}

int sl_exec_fresh_main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "sluice __try: internal command of the scheduler, not for use by hand\n");
        return 2;
    }
    char *end;
    long fd = strtol(argv[1], &end, 10);
    if (*end || fd < 0 || fd > INT_MAX) {
        fprintf(stderr, "sluice __try: bad descriptor \"%s\"\n", argv[1]);
        return 2;
    }
    sl_buf text = SL_BUF_INIT;
    char chunk[65536];
    for (;;) {
        ssize_t n = pread((int)fd, chunk, sizeof chunk, (off_t)text.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "sluice __try: reading the DAG's text: %s\n", strerror(errno));
            sl_buf_free(&text);
            return 1;
        }
        if (n == 0) break;
        sl_buf_append(&text, chunk, (size_t)n);
    }
    close((int)fd);
    sl_dagset set = {0};
    sl_errs errs = {0};
    sl_dag_load_str(&set, (const char *)text.ptr, text.len, argv[2], &errs);
    sl_buf_free(&text);
    sl_errs_print(&errs, stderr);
    sl_errs_free(&errs);
    int rc = 1;
    const sl_dag *d = sl_dagset_find(&set, argv[3]);
    const sl_task *t = d ? sl_dag_task(d, argv[4]) : NULL;
    if (!t) {
        fprintf(stderr, "sluice __try: %s.%s is not in the DAG's text\n", argv[3], argv[4]);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fresh_signal;
    sigaction(SIGTERM, &sa, NULL);
    sl_task_ctx ctx = {.dag_id = d->id,
                       .task_id = t->id,
                       .run_id = argv[5],
                       .try_number = atoi(argv[6]),
                       .interval_start_ms = strtoll(argv[7], NULL, 10),
                       .interval_end_ms = strtoll(argv[8], NULL, 10),
                       .conf_json = argv[9],
                       .cancel = (volatile int *)&fresh_cancel};
    FILE *log = fdopen(dup(1), "a");
    if (!log) goto out;
    rc = run_logged(d, t, &ctx, log, ", fresh process");
    fclose(log);
    fflush(stdout);
    fflush(stderr);
out:
    sl_dagset_free(&set);
    return rc == 0 ? 0 : 1;
}

int sl_exec_start(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx, const char *log_path,
                  sl_exec_try *out)
{
    out->pid = -1;
    out->go_fd = -1;
    int rc, p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -errno;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        close(p[0]);
        close(p[1]);
        return rc;
    }
    if (pid == 0) {
        close(p[1]);
        child_main(d, t, ctx, log_path, p[0], parent);
    }
    /* Both sides set the group, so it exists whichever runs first. */
    setpgid(pid, pid);
    close(p[0]);
    out->pid = pid;
    out->go_fd = p[1];
    return 0;
}

void sl_exec_go(sl_exec_try *x)
{
    if (x->go_fd < 0) return;
    ssize_t n;
    do
        n = write(x->go_fd, "g", 1);
    while (n < 0 && errno == EINTR);
    close(x->go_fd);
    x->go_fd = -1;
}

struct sl_exec_thread {
    uv_thread_t tid;
    const sl_dag *d;
    const sl_task *t;
    sl_task_ctx ctx;
    char *dag_id, *task_id, *run_id, *conf_json, *log_path;
    volatile int cancel;
    int rc;
    sl_exec_done_fn done;
    void *arg;
};

static int thread_free(sl_exec_thread *x, bool join)
{
    if (join) uv_thread_join(&x->tid);
    int rc = x->rc;
    sl_free(x->dag_id);
    sl_free(x->task_id);
    sl_free(x->run_id);
    sl_free(x->conf_json);
    sl_free(x->log_path);
    sl_free(x);
    return rc;
}

static void thread_main(void *arg)
{
    sl_exec_thread *x = arg;
    int md = mkdirs_for(x->log_path);
    FILE *log = md ? NULL : fopen(x->log_path, "ae");
    if (!log) {
        x->rc = md ? md : -errno;
    } else {
        x->rc = run_logged(x->d, x->t, &x->ctx, log, ", in-process");
        fclose(log);
    }
    x->done(x, x->arg);
}

int sl_exec_start_thread(const sl_dag *d, const sl_task *t, const sl_task_ctx *ctx,
                         const char *log_path, sl_exec_done_fn done, void *arg,
                         sl_exec_thread **out)
{
    *out = NULL;
    sl_exec_thread *x = sl_calloc(1, sizeof *x);
    x->d = d;
    x->t = t;
    x->dag_id = sl_strdup(ctx->dag_id);
    x->task_id = sl_strdup(ctx->task_id);
    x->run_id = sl_strdup(ctx->run_id);
    x->conf_json = sl_strdup(ctx->conf_json ? ctx->conf_json : "{}");
    x->log_path = sl_strdup(log_path);
    x->ctx = *ctx;
    x->ctx.dag_id = x->dag_id;
    x->ctx.task_id = x->task_id;
    x->ctx.run_id = x->run_id;
    x->ctx.conf_json = x->conf_json;
    x->ctx.cancel = &x->cancel;
    x->done = done;
    x->arg = arg;
    int rc = uv_thread_create(&x->tid, thread_main, x);
    if (rc) {
        x->rc = rc;
        thread_free(x, false);
        return rc;
    }
    *out = x;
    return 0;
}

void sl_exec_cancel(sl_exec_thread *x)
{
    __atomic_store_n(&x->cancel, 1, __ATOMIC_RELEASE);
}

int sl_exec_join(sl_exec_thread *x)
{
    return thread_free(x, true);
}

int sl_exec_kill_group(pid_t pgid)
{
    if (pgid <= 1) return -ESRCH;
    return kill(-pgid, SIGKILL) == 0 ? 0 : -errno;
}
