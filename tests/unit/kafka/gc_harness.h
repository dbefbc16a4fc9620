/* gc_harness.h: drives the group coordinator's internal API on a real libuv loop for
 * test_group.c and test_offsets.c: a temp data dir, join/sync/commit helpers that record
 * their (possibly deferred) answers, and a bounded "run the loop until" helper. */
#ifndef GC_HARNESS_H
#define GC_HARNESS_H

#include "kafka/group_int.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct harness {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE returning while a test waits */
    sl_group_coord *gc;
    sl_flusher *flusher;
    sl_group_opts opts;
    char dir[64];
} harness;

static inline void tick_cb(uv_timer_t *t)
{
    (void)t;
}

static inline void h_rmdir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p) continue;
        if (e->d_type == DT_DIR)
            h_rmdir(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

static inline int h_open(harness *h)
{
    assert_int_equal(sl_flusher_start(&h->loop, &h->flusher), 0);
    int rc = sl_group_coord_create(&h->loop, &h->opts, h->flusher, &h->gc);
    if (rc) {
        h->gc = NULL;
        sl_flusher_stop(h->flusher);
        h->flusher = NULL;
        uv_run(&h->loop, UV_RUN_NOWAIT);
    }
    return rc;
}

/* Shuts down as the broker does (stop, flusher stop, close) and runs the loop until every
 * handle and request the coordinator had is gone. */
static inline void h_close(harness *h)
{
    if (!h->gc) return;
    sl_group_coord_stop(h->gc);
    sl_flusher_stop(h->flusher);
    h->flusher = NULL;
    sl_group_coord_close(h->gc);
    h->gc = NULL;
    uv_timer_stop(&h->tick);
    uv_unref((uv_handle_t *)&h->tick);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_ref((uv_handle_t *)&h->tick);
    uv_timer_start(&h->tick, tick_cb, 2, 2);
}

static inline harness *h_new(void)
{
    harness *h = calloc(1, sizeof *h);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->tick);
    uv_timer_start(&h->tick, tick_cb, 2, 2);
    strcpy(h->dir, "/tmp/sluice-gc-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    sl_group_opts_default(&h->opts);
    h->opts.data_dir = h->dir;
    h->opts.min_session_timeout_ms = 10;
    return h;
}

static inline void h_free(harness *h)
{
    h_close(h);
    uv_close((uv_handle_t *)&h->tick, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    h_rmdir(h->dir);
    free(h);
}

/* Runs the loop until cond holds or ms pass; evaluates to cond. */
#define RUN_UNTIL(h, cond, ms)                                                                     \
    ({                                                                                             \
        int64_t dl_ = sl_mono_ms() + (ms);                                                         \
        while (!(cond) && sl_mono_ms() < dl_)                                                      \
            uv_run(&(h)->loop, UV_RUN_ONCE);                                                       \
        (cond);                                                                                    \
    })

/* Runs the loop for ms. */
static inline void h_sleep(harness *h, int ms)
{
    int64_t dl = sl_mono_ms() + ms;
    while (sl_mono_ms() < dl)
        uv_run(&h->loop, UV_RUN_ONCE);
}

typedef struct join_out {
    bool done;
    int16_t error;
    int32_t generation;
    char protocol[64];
    char leader[128];
    char member_id[128];
    size_t nmembers;
    char members[8][128];
    char member_meta[8][64];
} join_out;

static inline void on_join(void *arg, const gc_join_res *r)
{
    join_out *o = arg;
    assert_false(o->done);
    o->done = true;
    o->error = r->error;
    o->generation = r->generation;
    snprintf(o->protocol, sizeof o->protocol, "%s", r->protocol ? r->protocol : "");
    snprintf(o->leader, sizeof o->leader, "%s", r->leader);
    snprintf(o->member_id, sizeof o->member_id, "%s", r->member_id);
    o->nmembers = r->nmembers;
    for (size_t i = 0; i < r->nmembers && i < 8; i++) {
        snprintf(o->members[i], sizeof o->members[i], "%s", r->members[i].member_id);
        snprintf(o->member_meta[i], sizeof o->member_meta[i], "%.*s",
                 (int)r->members[i].metadata.len, (const char *)r->members[i].metadata.ptr);
    }
}

typedef struct join_args {
    const char *group;
    const char *member;   /* "" for a first join */
    const char *instance; /* NULL for none */
    const char *ptype;    /* default "consumer" */
    const char *protos;   /* "range,roundrobin": metadata of each is "<name>-meta" */
    int session_ms, rebalance_ms;
    bool v4;
} join_args;

static inline void h_join(harness *h, join_args a, join_out *out)
{
    char member[128]; /* a.member may point into *out */
    snprintf(member, sizeof member, "%s", a.member ? a.member : "");
    memset(out, 0, sizeof *out);
    gc_protocol_in protos[8];
    char names[8][32], metas[8][48];
    size_t n = 0;
    const char *p = a.protos ? a.protos : "range";
    while (*p && n < 8) {
        size_t len = strcspn(p, ",");
        snprintf(names[n], sizeof names[n], "%.*s", (int)len, p);
        snprintf(metas[n], sizeof metas[n], "%s-meta", names[n]);
        protos[n].name = SL_SLICE_STR(names[n]);
        protos[n].metadata = SL_SLICE_STR(metas[n]);
        n++;
        p += len;
        if (*p == ',') p++;
    }
    gc_join_req rq = {
        .group_id = SL_SLICE_STR(a.group),
        .member_id = SL_SLICE_STR(member),
        .instance_id = a.instance ? SL_SLICE_STR(a.instance) : SL_SLICE_NULL,
        .protocol_type = SL_SLICE_STR(a.ptype ? a.ptype : "consumer"),
        .client_id = SL_SLICE_STR("cli"),
        .client_host = SL_SLICE_STR("/127.0.0.1"),
        .session_timeout_ms = a.session_ms ? a.session_ms : 1000,
        .rebalance_timeout_ms = a.rebalance_ms ? a.rebalance_ms : 1000,
        .require_known_member = a.v4,
        .nprotocols = n,
        .protocols = protos,
    };
    sl__gc_join(h->gc, &rq, on_join, out);
}

typedef struct sync_out {
    bool done;
    int16_t error;
    char assignment[64];
} sync_out;

static inline void on_sync(void *arg, int16_t err, sl_slice a)
{
    sync_out *o = arg;
    assert_false(o->done);
    o->done = true;
    o->error = err;
    snprintf(o->assignment, sizeof o->assignment, "%.*s", (int)a.len, (const char *)a.ptr);
}

/* assignments: "m1=a1;m2=a2" (member ids contain no '=' or ';'). */
static inline void h_sync(harness *h, const char *group, const char *member, int32_t gen,
                          const char *assignments, sync_out *out)
{
    memset(out, 0, sizeof *out);
    gc_assignment_in as[8];
    size_t n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", assignments ? assignments : "");
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok && n < 8;
         tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        as[n].member_id = SL_SLICE_STR(tok);
        as[n].assignment = SL_SLICE_STR(eq + 1);
        n++;
    }
    gc_sync_req rq = {
        .group_id = SL_SLICE_STR(group),
        .member_id = SL_SLICE_STR(member),
        .generation = gen,
        .nassignments = n,
        .assignments = as,
    };
    sl__gc_sync(h->gc, &rq, on_sync, out);
}

static inline int16_t h_heartbeat(harness *h, const char *group, const char *member, int32_t gen)
{
    return sl__gc_heartbeat(h->gc, SL_SLICE_STR(group), SL_SLICE_STR(member), gen);
}

/* A commit of up to 8 partitions that outlives the call until its callback. */
typedef struct commit_out {
    bool done;
    gc_commit_req rq;
    gc_commit_part parts[8];
    char topics[8][128];
    char metas[8][64];
} commit_out;

static inline void on_commit(void *arg, gc_commit_req *rq)
{
    commit_out *o = arg;
    assert_ptr_equal(rq, &o->rq);
    assert_false(o->done);
    o->done = true;
}

/* spec: "topic:partition=offset[/metadata],..." */
static inline void h_commit(harness *h, const char *group, const char *member, int32_t gen,
                            int64_t retention_ms, const char *spec, commit_out *o)
{
    memset(o, 0, sizeof *o);
    size_t n = 0;
    const char *p = spec;
    while (*p && n < 8) {
        size_t len = strcspn(p, ",");
        char item[128];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        char *colon = strchr(item, ':'), *eq = strchr(item, '='), *slash = strchr(item, '/');
        assert_non_null(colon);
        assert_non_null(eq);
        *colon = *eq = '\0';
        if (slash) *slash = '\0';
        snprintf(o->topics[n], sizeof o->topics[n], "%s", item);
        snprintf(o->metas[n], sizeof o->metas[n], "%s", slash ? slash + 1 : "");
        o->parts[n] = (gc_commit_part){
            .topic = SL_SLICE_STR(o->topics[n]),
            .partition = atoi(colon + 1),
            .offset = atoll(eq + 1),
            .leader_epoch = -1,
            .metadata = SL_SLICE_STR(o->metas[n]),
            .commit_ts = -1,
        };
        n++;
        p += len;
        if (*p == ',') p++;
    }
    o->rq = (gc_commit_req){
        .group_id = SL_SLICE_STR(group),
        .member_id = SL_SLICE_STR(member ? member : ""),
        .generation = gen,
        .retention_ms = retention_ms,
        .nparts = n,
        .parts = o->parts,
    };
    sl__gc_commit(h->gc, &o->rq, on_commit, o);
}

/* The committed offset of topic:partition in group, or -1. */
static inline int64_t h_offset(harness *h, const char *group, const char *topic, int32_t partition)
{
    const gc_offset *o =
        sl__gc_offset_lookup(h->gc, SL_SLICE_STR(group), SL_SLICE_STR(topic), partition);
    return o ? o->offset : -1;
}

static inline const char *h_state(harness *h, const char *group)
{
    sl_group_info info;
    if (sl_group_describe(h->gc, SL_SLICE_STR(group), &info, NULL, NULL)) return "Dead";
    return info.state;
}

#endif
