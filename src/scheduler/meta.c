/* meta.c: the metadata store on SQLite or PostgreSQL, and the schema migrations. */
#include "scheduler/meta.h"

#include "auth/auth.h"

#include "core/log.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* SQLite statements stay prepared between uses: the scheduler runs the same few dozen
 * statements over and over, and parsing them was a tenth of a tick's CPU. */
#define STMT_CACHE 64

typedef struct cached_stmt {
    uint64_t hash;
    char *sql; /* the caller's text, before $n -> ?n */
    sqlite3_stmt *st;
    uint64_t used; /* last use, for eviction */
} cached_stmt;

/* SQLite's page cache: 512 KiB. Its default, 2 MiB, filled over the first few thousand runs and was
 * all of the scheduler's RSS growth; the hot pages (the state indexes, the newest runs) fit in
 * far less, and the OS caches the rest of the file. */
#define CACHE_PRAGMA "PRAGMA cache_size=-512"

/* The WAL size (pages) at which the checkpointer runs: SQLite's own autocheckpoint size. */
#define CHECKPOINT_PAGES 1000

/* SQLite's WAL checkpoints copy the log into the database and fsync both: 3-10 ms on this kind
 * of disk, which the scheduler's loop would pay inside a commit every few dozen runs. They run
 * on a thread of their own instead, with a connection of its own: the loop's commits signal it
 * (wal_hook, on the loop thread) and it checkpoints PASSIVE, which never blocks a writer. */
typedef struct checkpointer {
    uv_thread_t tid;
    uv_mutex_t lock;
    uv_cond_t cond;
    char *path;
    bool due, stop;
    int64_t done;    /* checkpoints completed */
    int64_t inline_; /* loop thread only: checkpoints the committer's thread ran itself */
    /* Loop thread only: on the owner's loop (sl_meta_set_loop), the committer's own checkpoint
     * waits for a quiet moment; NULL until set. */
    uv_timer_t *quiet;
    sqlite3 *owner_db;
} checkpointer;

struct sl_meta {
    sqlite3 *db; /* one of db and pg is set */
    PGconn *pg;
    char err[512];
    cached_stmt cache[STMT_CACHE];
    uint64_t uses;
    checkpointer *ckpt; /* SQLite on a file */
};

/* Held by a checkpointer while it is inside SQLite, and by fork(2) (pthread_atfork): a child
 * forked while another thread holds one of SQLite's internal mutexes would inherit it locked,
 * and the scheduler's sql tries use SQLite in their child. A fork waits for a checkpoint in
 * progress instead (a few ms, rarely). */
static uv_mutex_t fork_lock;
static uv_once_t fork_once = UV_ONCE_INIT;

static void fork_prepare(void)
{
    uv_mutex_lock(&fork_lock);
}

static void fork_release(void)
{
    uv_mutex_unlock(&fork_lock);
}

static void fork_init(void)
{
    uv_mutex_init(&fork_lock);
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void ckpt_main(void *arg)
{
    checkpointer *c = arg;
    sqlite3 *db = NULL;
    uv_mutex_lock(&fork_lock);
    int orc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL);
    uv_mutex_unlock(&fork_lock);
    if (orc != SQLITE_OK) {
        SL_ERROR("meta", "checkpointer: cannot open %s: %s", c->path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        db = NULL;
    }
    if (db) sqlite3_busy_timeout(db, 10000);
    uv_mutex_lock(&c->lock);
    for (;;) {
        while (!c->due && !c->stop)
            uv_cond_wait(&c->cond, &c->lock);
        if (c->stop) break;
        c->due = false;
        uv_mutex_unlock(&c->lock);
        uv_mutex_lock(&fork_lock);
        int rc = db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL)
                    : SQLITE_ERROR;
        uv_mutex_unlock(&fork_lock);
        if (db && rc != SQLITE_OK && rc != SQLITE_BUSY)
            SL_WARN("meta", "checkpoint of %s: %s", c->path, sqlite3_errmsg(db));
        uv_mutex_lock(&c->lock);
        c->done += rc == SQLITE_OK;
    }
    uv_mutex_unlock(&c->lock);
    uv_mutex_lock(&fork_lock);
    sqlite3_close(db);
    uv_mutex_unlock(&fork_lock);
}

/* How long the loop's connection must go without a commit before its own checkpoint runs. */
#define QUIET_MS 20

static void on_quiet(uv_timer_t *h)
{
    checkpointer *c = h->data;
    sqlite3_wal_checkpoint_v2(c->owner_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    c->inline_++;
}

/* After each commit on the loop's connection, with the WAL's size in pages. A checkpoint only
 * lets the WAL start over once it has caught up with every commit, which under a steady stream
 * of them it may not: past 4 times the size the committer checkpoints itself, as SQLite would,
 * so the WAL stays bounded. With a loop (sl_meta_set_loop) that checkpoint waits until no
 * commit came for QUIET_MS, so a burst of work (a trigger, its launch) is not held up by its
 * fsyncs; past 16 times (64 MB: a loop that never pauses) it runs at once. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    checkpointer *c = arg;
    if (pages < CHECKPOINT_PAGES) return SQLITE_OK;
    if (pages >= 4 * CHECKPOINT_PAGES) {
        if (!c->quiet || pages >= 16 * CHECKPOINT_PAGES) {
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            c->inline_++;
            return SQLITE_OK;
        }
        uv_timer_start(c->quiet, on_quiet, QUIET_MS, 0); /* re-arming pushes it back */
    }
    uv_mutex_lock(&c->lock);
    c->due = true;
    uv_cond_signal(&c->cond);
    uv_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

static void ckpt_start(sl_meta *m, const char *path)
{
    uv_once(&fork_once, fork_init);
    checkpointer *c = sl_calloc(1, sizeof *c);
    c->path = sl_strdup(path);
    uv_mutex_init(&c->lock);
    uv_cond_init(&c->cond);
    if (uv_thread_create(&c->tid, ckpt_main, c) != 0) {
        /* SQLite's own checkpoints, on this thread, stay */
        uv_cond_destroy(&c->cond);
        uv_mutex_destroy(&c->lock);
        sl_free(c->path);
        sl_free(c);
        return;
    }
    m->ckpt = c;
    sqlite3_wal_hook(m->db, on_wal, c); /* replaces sqlite3_wal_autocheckpoint's hook */
}

static void on_quiet_closed(uv_handle_t *h)
{
    sl_free(h);
}

void sl_meta_set_loop(sl_meta *m, uv_loop_t *loop)
{
    checkpointer *c = m->ckpt;
    if (!c) return;
    if (c->quiet) {
        uv_close((uv_handle_t *)c->quiet, on_quiet_closed);
        c->quiet = NULL;
    }
    if (!loop) return;
    c->quiet = sl_calloc(1, sizeof *c->quiet);
    uv_timer_init(loop, c->quiet);
    uv_unref((uv_handle_t *)c->quiet); /* never what keeps a loop alive */
    c->quiet->data = c;
    c->owner_db = m->db;
}

static void ckpt_stop(sl_meta *m)
{
    checkpointer *c = m->ckpt;
    if (!c) return;
    sl_meta_set_loop(m, NULL); /* its close completes on the loop's next run */
    sqlite3_wal_hook(m->db, NULL, NULL);
    uv_mutex_lock(&c->lock);
    c->stop = true;
    uv_cond_signal(&c->cond);
    uv_mutex_unlock(&c->lock);
    uv_thread_join(&c->tid);
    uv_cond_destroy(&c->cond);
    uv_mutex_destroy(&c->lock);
    sl_free(c->path);
    sl_free(c);
    m->ckpt = NULL;
}

int64_t sl_meta_checkpoints(sl_meta *m, int64_t *on_own_thread)
{
    if (on_own_thread) *on_own_thread = m->ckpt ? m->ckpt->inline_ : -1;
    if (!m->ckpt) return -1;
    uv_mutex_lock(&m->ckpt->lock);
    int64_t n = m->ckpt->done;
    uv_mutex_unlock(&m->ckpt->lock);
    return n;
}

/* Each migration moves the schema from version i to i + 1, in one transaction with the version
 * bump. Statements are separated by ';' and portable between the two engines. */
static const char *const migrations[] = {
    /* 1: the tables */
    "CREATE TABLE dag (dag_id TEXT PRIMARY KEY, is_paused INTEGER NOT NULL DEFAULT 0,"
    " next_interval_ms BIGINT);"
    "CREATE TABLE dag_run (dag_id TEXT NOT NULL, run_id TEXT NOT NULL, run_type TEXT NOT NULL,"
    " state TEXT NOT NULL, logical_ms BIGINT NOT NULL, interval_start_ms BIGINT NOT NULL,"
    " interval_end_ms BIGINT NOT NULL, conf TEXT NOT NULL DEFAULT '{}', queued_ms BIGINT,"
    " start_ms BIGINT, end_ms BIGINT, PRIMARY KEY (dag_id, run_id));"
    "CREATE TABLE task_instance (dag_id TEXT NOT NULL, run_id TEXT NOT NULL,"
    " task_id TEXT NOT NULL, state TEXT NOT NULL, try_number INTEGER NOT NULL DEFAULT 0,"
    " max_tries INTEGER NOT NULL, pool TEXT NOT NULL, next_try_ms BIGINT, start_ms BIGINT,"
    " end_ms BIGINT, scheduler_id BIGINT, hostname TEXT, pid INTEGER,"
    " PRIMARY KEY (dag_id, run_id, task_id));"
    "CREATE TABLE task_try (dag_id TEXT NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL,"
    " try_number INTEGER NOT NULL, state TEXT NOT NULL, start_ms BIGINT, end_ms BIGINT,"
    " scheduler_id BIGINT, hostname TEXT, pid INTEGER, log_path TEXT,"
    " PRIMARY KEY (dag_id, run_id, task_id, try_number));"
    "CREATE TABLE scheduler_job (id BIGINT PRIMARY KEY, hostname TEXT NOT NULL,"
    " pid INTEGER NOT NULL, state TEXT NOT NULL, start_ms BIGINT NOT NULL,"
    " heartbeat_ms BIGINT NOT NULL);"
    "CREATE TABLE pool (name TEXT PRIMARY KEY, slots INTEGER NOT NULL)",
    /* 2: the indexes the scheduler loop's queries need once history grows */
    "CREATE INDEX ti_state ON task_instance (state);"
    "CREATE INDEX run_state ON dag_run (state, dag_id);"
    "CREATE INDEX ti_scheduler ON task_instance (scheduler_id, state)",
    /* 3: a DAG's runs by logical date (the latest runs for the console, run lists, promotion)
     * without sorting its whole history */
    "CREATE INDEX run_logical ON dag_run (dag_id, logical_ms, run_id)",
};

const char *sl_meta_error(const sl_meta *m)
{
    return m->err;
}

bool sl_meta_is_pg(const sl_meta *m)
{
    return m->pg != NULL;
}

const char *sl_meta_lock_clause(const sl_meta *m)
{
    return m->pg ? " FOR UPDATE SKIP LOCKED" : "";
}

const char *sl_meta_url_redacted(const char *url)
{
    static _Thread_local char out[512]; /* the console calls it from its loop and its workers */
    return sl_auth_redact(url, out, sizeof out);
}

/* $n -> ?n for SQLite; quoted text is copied as is. */
static char *sqlite_sql(const char *sql)
{
    size_t n = strlen(sql);
    char *out = sl_malloc(n + 1);
    bool quoted = false;
    for (size_t i = 0; i <= n; i++) {
        char c = sql[i];
        if (c == '\'') quoted = !quoted;
        out[i] = (!quoted && c == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9') ? '?' : c;
    }
    return out;
}

/* Appends one cell; *used counts the cells so far. */
static void rows_push(sl_meta_rows *r, size_t *used, size_t *cap, char *cell)
{
    if (*used + 1 > *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->cells = sl_realloc(r->cells, *cap * sizeof(char *));
    }
    r->cells[(*used)++] = cell;
}

/* The prepared statement of sql, from the cache or prepared now (evicting the least recently
 * used); NULL on error. */
static sqlite3_stmt *stmt_get(sl_meta *m, const char *sql)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *c = sql; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    cached_stmt *victim = &m->cache[0];
    for (size_t i = 0; i < STMT_CACHE; i++) {
        cached_stmt *e = &m->cache[i];
        if (e->st && e->hash == h && strcmp(e->sql, sql) == 0) {
            e->used = ++m->uses;
            return e->st;
        }
        if (!e->st || (victim->st && e->used < victim->used)) victim = e;
    }
    char *q = sqlite_sql(sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(m->db, q, -1, &st, NULL);
    sl_free(q);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    if (victim->st) {
        sqlite3_finalize(victim->st);
        sl_free(victim->sql);
    }
    *victim = (cached_stmt){.hash = h, .sql = sl_strdup(sql), .st = st, .used = ++m->uses};
    return st;
}

static void stmt_cache_free(sl_meta *m)
{
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(m->cache[i].st);
        sl_free(m->cache[i].sql);
        m->cache[i] = (cached_stmt){0};
    }
}

static int sqlite_exec(sl_meta *m, const char *sql, int n, const char *const *params,
                       sl_meta_rows *rows, int64_t *changes)
{
    int rc;
    if (rows) memset(rows, 0, sizeof *rows);
    sqlite3_stmt *st = stmt_get(m, sql);
    if (!st) goto fail;
    for (int i = 0; i < n; i++) {
        rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, i + 1);
        if (rc != SQLITE_OK) goto fail;
    }
    size_t cap = 0, used = 0;
    if (rows) {
        memset(rows, 0, sizeof *rows);
        rows->ncols = (size_t)sqlite3_column_count(st);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rows) continue;
        for (size_t c = 0; c < rows->ncols; c++) {
            const unsigned char *t = sqlite3_column_text(st, (int)c);
            rows_push(rows, &used, &cap, t ? sl_strdup((const char *)t) : NULL);
        }
        rows->nrows++;
    }
    if (rc != SQLITE_DONE) goto fail;
    if (changes) *changes = sqlite3_changes(m->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return 0;
fail:
    snprintf(m->err, sizeof m->err, "sqlite: %s", sqlite3_errmsg(m->db));
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rows) sl_meta_rows_free(rows);
    return SL_ERR_CLOSED;
}

static int pg_exec(sl_meta *m, const char *sql, int n, const char *const *params,
                   sl_meta_rows *rows, int64_t *changes)
{
    /* A lost connection (a server restart) is re-opened between transactions. */
    if (PQstatus(m->pg) == CONNECTION_BAD) {
        PQreset(m->pg);
        if (PQstatus(m->pg) == CONNECTION_BAD) {
            const char *e = PQerrorMessage(m->pg);
            snprintf(m->err, sizeof m->err, "postgresql: %.*s", (int)strcspn(e, "\n"), e);
            return SL_ERR_CLOSED;
        }
        SL_WARN("meta", "reconnected to PostgreSQL");
    }
    PGresult *res = PQexecParams(m->pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *e = PQresultErrorMessage(res);
        snprintf(m->err, sizeof m->err, "postgresql: %.*s", (int)strcspn(e, "\n"), e);
        PQclear(res);
        return SL_ERR_CLOSED;
    }
    if (rows) {
        memset(rows, 0, sizeof *rows);
        rows->nrows = (size_t)PQntuples(res);
        rows->ncols = (size_t)PQnfields(res);
        if (rows->nrows && rows->ncols) {
            rows->cells = sl_calloc(rows->nrows * rows->ncols, sizeof(char *));
            for (size_t r = 0; r < rows->nrows; r++)
                for (size_t c = 0; c < rows->ncols; c++)
                    if (!PQgetisnull(res, (int)r, (int)c))
                        rows->cells[r * rows->ncols + c] =
                            sl_strdup(PQgetvalue(res, (int)r, (int)c));
        }
    }
    if (changes) *changes = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

int sl_meta_exec(sl_meta *m, const char *sql, int n, const char *const *params, sl_meta_rows *rows)
{
    return m->pg ? pg_exec(m, sql, n, params, rows, NULL)
                 : sqlite_exec(m, sql, n, params, rows, NULL);
}

int64_t sl_meta_exec_changes(sl_meta *m, const char *sql, int n, const char *const *params)
{
    int64_t changes = 0;
    int rc = m->pg ? pg_exec(m, sql, n, params, NULL, &changes)
                   : sqlite_exec(m, sql, n, params, NULL, &changes);
    return rc ? rc : changes;
}

int sl_meta_begin(sl_meta *m)
{
    return sl_meta_exec(m, m->pg ? "BEGIN" : "BEGIN IMMEDIATE", 0, NULL, NULL);
}

int sl_meta_commit(sl_meta *m)
{
    return sl_meta_exec(m, "COMMIT", 0, NULL, NULL);
}

void sl_meta_rollback(sl_meta *m)
{
    char keep[sizeof m->err];
    memcpy(keep, m->err, sizeof keep);
    if (m->pg ? PQtransactionStatus(m->pg) != PQTRANS_IDLE : !sqlite3_get_autocommit(m->db))
        sl_meta_exec(m, "ROLLBACK", 0, NULL, NULL);
    memcpy(m->err, keep, sizeof keep);
}

const char *sl_meta_cell(const sl_meta_rows *r, size_t row, size_t col)
{
    if (row >= r->nrows || col >= r->ncols) return NULL;
    return r->cells[row * r->ncols + col];
}

int64_t sl_meta_cell_i64(const sl_meta_rows *r, size_t row, size_t col, int64_t def)
{
    const char *s = sl_meta_cell(r, row, col);
    return s ? strtoll(s, NULL, 10) : def;
}

void sl_meta_rows_free(sl_meta_rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        sl_free(r->cells[i]);
    sl_free(r->cells);
    memset(r, 0, sizeof *r);
}

int sl_meta_version(sl_meta *m)
{
    sl_meta_rows r;
    if (sl_meta_exec(m, "SELECT max(version) FROM sl_schema", 0, NULL, &r)) return 0;
    int v = (int)sl_meta_cell_i64(&r, 0, 0, 0);
    sl_meta_rows_free(&r);
    return v;
}

/* Runs each ';'-separated statement of a migration. */
static int exec_script(sl_meta *m, const char *script)
{
    char *copy = sl_strdup(script), *save = NULL;
    int rc = 0;
    for (char *s = strtok_r(copy, ";", &save); s && !rc; s = strtok_r(NULL, ";", &save))
        rc = sl_meta_exec(m, s, 0, NULL, NULL);
    sl_free(copy);
    return rc;
}

/* Brings the schema to version. On PostgreSQL an advisory lock makes schedulers starting
 * together migrate one after the other; SQLite's BEGIN IMMEDIATE does the same. */
static int migrate(sl_meta *m, int version)
{
    if (sl_meta_begin(m)) return SL_ERR_CLOSED;
    int rc = 0;
    if (m->pg) rc = sl_meta_exec(m, "SELECT pg_advisory_xact_lock(7041964)", 0, NULL, NULL);
    if (!rc)
        rc = sl_meta_exec(m, "CREATE TABLE IF NOT EXISTS sl_schema (version INTEGER NOT NULL)", 0,
                          NULL, NULL);
    int have = rc ? 0 : sl_meta_version(m);
    if (!rc && have > (int)SL_ARRAY_LEN(migrations)) {
        snprintf(m->err, sizeof m->err,
                 "metadata schema version %d is newer than this sluice knows (%d)", have,
                 (int)SL_ARRAY_LEN(migrations));
        rc = SL_ERR_CLOSED;
    }
    for (int v = have; !rc && v < version; v++) {
        rc = exec_script(m, migrations[v]);
        char num[16];
        snprintf(num, sizeof num, "%d", v + 1);
        const char *p[] = {num};
        if (!rc) rc = sl_meta_exec(m, "DELETE FROM sl_schema", 0, NULL, NULL);
        if (!rc) rc = sl_meta_exec(m, "INSERT INTO sl_schema (version) VALUES ($1)", 1, p, NULL);
        if (!rc) SL_INFO("meta", "schema migrated to version %d", v + 1);
    }
    if (!rc) return sl_meta_commit(m);
    sl_meta_rollback(m);
    return rc;
}

static void pg_notice(void *arg, const char *msg)
{
    SL_UNUSED(arg);
    SL_DEBUG("meta", "postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

int sl_meta_open_version(const char *url, int version, sl_meta **out, char *err, size_t errlen)
{
    *out = NULL;
    sl_meta *m = sl_calloc(1, sizeof *m);
    if (strncmp(url, "sqlite:", 7) == 0 && url[7]) {
        const char *path = url + 7;
        if (strncmp(path, "//", 2) == 0) path += 2;
        if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "cannot open %s: %s", path,
                     m->db ? sqlite3_errmsg(m->db) : "out of memory");
            sl_meta_close(m);
            return SL_ERR_CLOSED;
        }
        sqlite3_busy_timeout(m->db, 10000);
        /* WAL with synchronous=NORMAL: a committed transaction survives a crash of the process
         * (SIGKILL); only a power loss may lose the last ones (docs/scheduler.md). */
        if (sl_meta_exec(m, "PRAGMA journal_mode=WAL", 0, NULL, NULL) ||
            sl_meta_exec(m, "PRAGMA synchronous=NORMAL", 0, NULL, NULL) ||
            sl_meta_exec(m, CACHE_PRAGMA, 0, NULL, NULL)) {
            snprintf(err, errlen, "%s", m->err);
            sl_meta_close(m);
            return SL_ERR_CLOSED;
        }
        ckpt_start(m, path);
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        m->pg = PQconnectdb(url);
        if (PQstatus(m->pg) != CONNECTION_OK) {
            const char *e = PQerrorMessage(m->pg);
            snprintf(err, errlen, "cannot connect to %s: %.*s", sl_meta_url_redacted(url),
                     (int)strcspn(e, "\n"), e);
            sl_meta_close(m);
            return SL_ERR_CLOSED;
        }
        PQsetNoticeProcessor(m->pg, pg_notice, NULL);
    } else {
        snprintf(err, errlen, "metadata URL must be sqlite:PATH or postgresql://...");
        sl_meta_close(m);
        return SL_ERR_CONFIG;
    }
    if (migrate(m, version)) {
        snprintf(err, errlen, "schema migration failed: %s", m->err);
        sl_meta_close(m);
        return SL_ERR_CLOSED;
    }
    *out = m;
    return 0;
}

int sl_meta_open(const char *url, sl_meta **out, char *err, size_t errlen)
{
    return sl_meta_open_version(url, SL_META_SCHEMA_VERSION, out, err, errlen);
}

void sl_meta_close(sl_meta *m)
{
    if (!m) return;
    ckpt_stop(m);
    stmt_cache_free(m);
    if (m->db) sqlite3_close(m->db);
    if (m->pg) PQfinish(m->pg);
    sl_free(m);
}
