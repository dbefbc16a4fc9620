/* test_offsets.c: committed offsets of src/kafka/offsets.c: durable commits reloaded after a
 * reopen, a torn or CRC-bad tail ignored, compaction at open and while running, expiry (simple
 * groups, Empty consumer groups, v2-4 retention), the generation/member checks of group
 * commits, and a file that is not ours refused. */
#include "gc_harness.h"

#include <fcntl.h>
#include <sys/stat.h>

static int setup(void **state)
{
    *state = h_new();
    return h_open(*state);
}

static int teardown(void **state)
{
    h_free(*state);
    return 0;
}

static void commit_ok(harness *h, const char *group, const char *member, int32_t gen,
                      const char *spec)
{
    commit_out o;
    h_commit(h, group, member, gen, -1, spec, &o);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    for (size_t i = 0; i < o.rq.nparts; i++)
        assert_int_equal(o.parts[i].error, 0);
}

static void reopen(harness *h)
{
    h_close(h);
    assert_int_equal(h_open(h), 0);
}

static const char *log_path(harness *h)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/__groups/offsets.log", h->dir);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void append_bytes(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void test_commit_and_reload(void **state)
{
    harness *h = *state;
    commit_out o;
    h_commit(h, "grp", NULL, -1, -1, "t:0=42/meta-0,t:1=7,u:3=100", &o);
    /* The answer waits for the fsync. */
    assert_false(o.done);
    assert_int_equal(h_offset(h, "grp", "t", 0), -1);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    assert_int_equal(o.parts[0].error, 0);
    assert_int_equal(h_offset(h, "grp", "t", 0), 42);
    assert_int_equal(h_offset(h, "grp", "t", 1), 7);
    assert_int_equal(h_offset(h, "grp", "u", 3), 100);
    assert_int_equal(h_offset(h, "grp", "u", 0), -1);
    commit_ok(h, "grp", NULL, -1, "t:0=43/meta-1");
    commit_ok(h, "other", NULL, -1, "t:0=5");

    reopen(h);
    assert_int_equal(h_offset(h, "grp", "t", 0), 43);
    assert_int_equal(h_offset(h, "grp", "t", 1), 7);
    assert_int_equal(h_offset(h, "grp", "u", 3), 100);
    assert_int_equal(h_offset(h, "other", "t", 0), 5);
    const gc_offset *off = sl__gc_offset_lookup(h->gc, SL_SLICE_STR("grp"), SL_SLICE_STR("t"), 0);
    assert_string_equal(off->metadata, "meta-1");
    assert_int_equal(off->leader_epoch, -1);
    assert_true(off->commit_ts > sl_now_ms() - 60000);

    /* The superseded record of t-0 was compacted away at open. */
    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.groups, 2);
    assert_int_equal((off_t)st.log_bytes, file_size(log_path(h)));

    /* Listing is sorted by topic and partition. */
    commit_ok(h, "grp", NULL, -1, "a:9=1");
    size_t n;
    gc_offset **v = sl__gc_offsets_sorted(sl__gc_group_find(h->gc, SL_SLICE_STR("grp")), &n);
    assert_int_equal(n, 4);
    assert_string_equal(v[0]->topic, "a");
    assert_string_equal(v[1]->topic, "t");
    assert_int_equal(v[1]->partition, 0);
    assert_int_equal(v[2]->partition, 1);
    assert_string_equal(v[3]->topic, "u");
    sl_free(v);
}

static void test_torn_tail(void **state)
{
    harness *h = *state;
    commit_ok(h, "g", NULL, -1, "t:0=1,t:1=2");
    commit_ok(h, "g", NULL, -1, "t:0=3");
    h_close(h);
    off_t good = file_size(log_path(h));

    /* Half of a record: a crash in the middle of a write. */
    uint8_t rec[40] = {0, 0, 0, 60, 1, 2, 3, 4, 1};
    append_bytes(log_path(h), rec, sizeof rec);
    assert_int_equal(h_open(h), 0);
    assert_int_equal(h_offset(h, "g", "t", 0), 3);
    assert_int_equal(h_offset(h, "g", "t", 1), 2);
    assert_true(file_size(log_path(h)) < good + (off_t)sizeof rec);
    /* Appends go after the good records, and survive another reopen. */
    commit_ok(h, "g", NULL, -1, "t:1=9");
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 0), 3);
    assert_int_equal(h_offset(h, "g", "t", 1), 9);
}

static void test_crc_bad_tail(void **state)
{
    harness *h = *state;
    commit_ok(h, "g", NULL, -1, "t:0=1");
    commit_ok(h, "g", NULL, -1, "t:0=2");
    h_close(h);
    /* Flip a byte inside the last record's body: its CRC no longer matches. */
    int fd = open(log_path(h), O_RDWR);
    off_t size = file_size(log_path(h));
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, size - 3), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, size - 3), 1);
    close(fd);
    assert_int_equal(h_open(h), 0);
    assert_int_equal(h_offset(h, "g", "t", 0), 1);
}

static void test_not_ours(void **state)
{
    harness *h = *state;
    h_close(h);
    int fd = open(log_path(h), O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "hello world", 11), 11);
    close(fd);
    assert_int_equal(h_open(h), SL_ERR_CORRUPT);
    /* A torn header of a brand-new file is not an error. */
    fd = open(log_path(h), O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "SLOF", 4), 4);
    close(fd);
    assert_int_equal(h_open(h), 0);
    assert_int_equal(file_size(log_path(h)), 8);
}

/* Compaction while running keeps the log near its live size, and holds commits that arrive
 * during the rewrite until it is done. */
static void test_compaction(void **state)
{
    harness *h = *state;
    h->gc->compact_min = 4096;
    for (int i = 0; i < 300; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "topic-a:0=%d,topic-a:1=%d", i, i * 2);
        commit_out o;
        h_commit(h, "g", NULL, -1, -1, spec, &o);
        /* Several commits in flight at once, as from many consumers. */
        commit_out o2;
        h_commit(h, "g2", NULL, -1, -1, spec, &o2);
        assert_true(RUN_UNTIL(h, o.done && o2.done, 2000));
        assert_int_equal(o.parts[0].error, 0);
        assert_int_equal(o2.parts[1].error, 0);
    }
    assert_true(RUN_UNTIL(h, h->gc->log_state == GC_LOG_IDLE, 2000));
    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_true(st.compactions >= 3);
    assert_true(st.log_bytes < 2 * h->gc->live_bytes + 4096 + 4096);
    assert_int_equal((off_t)st.log_bytes, file_size(log_path(h)));
    assert_int_equal(h_offset(h, "g", "topic-a", 1), 598);
    reopen(h);
    assert_int_equal(h_offset(h, "g", "topic-a", 0), 299);
    assert_int_equal(h_offset(h, "g", "topic-a", 1), 598);
    assert_int_equal(h_offset(h, "g2", "topic-a", 1), 598);
}

/* A commit that arrives while a rewrite runs is held, then written to the new file. */
static void test_commit_during_compaction(void **state)
{
    harness *h = *state;
    commit_ok(h, "g", NULL, -1, "t:0=1");
    sl__gc_log_maybe_compact(h->gc, true);
    assert_int_equal(h->gc->log_state, GC_LOG_COMPACTING);
    commit_out o;
    h_commit(h, "g", NULL, -1, -1, "t:0=2", &o);
    assert_false(o.done);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    assert_int_equal(o.parts[0].error, 0);
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 0), 2);
}

static void test_expiry_simple(void **state)
{
    harness *h = *state;
    h_close(h);
    h->opts.offsets_retention_ms = 100;
    assert_int_equal(h_open(h), 0);
    commit_ok(h, "g", NULL, -1, "t:0=1");
    h_sleep(h, 60);
    commit_ok(h, "g", NULL, -1, "t:1=1");
    sl__gc_expire(h->gc, sl_now_ms() + 50);
    /* t-0 is 110 ms old, t-1 only 50: a simple group's offsets expire one by one. */
    assert_int_equal(h_offset(h, "g", "t", 0), -1);
    assert_int_equal(h_offset(h, "g", "t", 1), 1);
    sl__gc_expire(h->gc, sl_now_ms() + 200);
    assert_int_equal(h_offset(h, "g", "t", 1), -1);
    /* With no offsets left the group is gone. */
    assert_string_equal(h_state(h, "g"), "Dead");
    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_int_equal(st.offsets_expired, 2);
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 1), -1);
    assert_int_equal(file_size(log_path(h)), 8);
}

/* An OffsetCommit v2-4 retention time overrides the broker's. */
static void test_expiry_request_retention(void **state)
{
    harness *h = *state;
    commit_out o;
    h_commit(h, "g", NULL, -1, 30, "t:0=1", &o);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    commit_ok(h, "g", NULL, -1, "t:1=1");
    sl__gc_expire(h->gc, sl_now_ms() + 40);
    assert_int_equal(h_offset(h, "g", "t", 0), -1);
    assert_int_equal(h_offset(h, "g", "t", 1), 1);
    /* Expired offsets stay gone after a restart (the DELETE record). */
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 0), -1);
    assert_int_equal(h_offset(h, "g", "t", 1), 1);
}

/* A consumer group keeps its offsets while it has members; once Empty they expire together,
 * retention after it emptied, and a restart keeps that clock. */
static void test_expiry_consumer_group(void **state)
{
    harness *h = *state;
    h_close(h);
    h->opts.offsets_retention_ms = 300;
    assert_int_equal(h_open(h), 0);
    join_out j;
    h_join(h, (join_args){.group = "cg", .session_ms = 5000}, &j);
    assert_true(RUN_UNTIL(h, j.done, 1000));
    sync_out s;
    h_sync(h, "cg", j.member_id, j.generation, NULL, &s);
    commit_ok(h, "cg", j.member_id, j.generation, "t:0=10");
    sl__gc_expire(h->gc, sl_now_ms() + 10000);
    assert_int_equal(h_offset(h, "cg", "t", 0), 10); /* Stable: kept */

    int16_t merr;
    sl__gc_leave(h->gc, SL_SLICE_STR("cg"), SL_SLICE_STR(j.member_id), SL_SLICE_NULL, &merr);
    assert_string_equal(h_state(h, "cg"), "Empty");
    int64_t emptied = sl_now_ms();
    sl__gc_expire(h->gc, emptied + 100);
    assert_int_equal(h_offset(h, "cg", "t", 0), 10);

    /* A restart: the group is back as an Empty consumer group that emptied at the same time. */
    reopen(h);
    sl_group_info info;
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("cg"), &info, NULL, NULL), 0);
    assert_string_equal(info.state, "Empty");
    assert_string_equal(info.protocol_type, "consumer");
    assert_int_equal(info.generation, j.generation + 1);
    sl__gc_expire(h->gc, emptied + 200);
    assert_int_equal(h_offset(h, "cg", "t", 0), 10);
    sl__gc_expire(h->gc, emptied + 350);
    assert_int_equal(h_offset(h, "cg", "t", 0), -1);
}

/* Group-managed commits check member and generation as Kafka does. */
static void test_commit_checks(void **state)
{
    harness *h = *state;
    commit_out o;
    /* No such group and a generation: ILLEGAL_GENERATION. */
    h_commit(h, "cg", "m", 3, -1, "t:0=1", &o);
    assert_true(o.done);
    assert_int_equal(o.parts[0].error, KAFKA_ERR_ILLEGAL_GENERATION);

    /* static: jb's join is still pending when the test returns, and the teardown's stop answers
     * it (valgrind found the answer written into this function's dead frame) */
    static join_out ja, jb;
    memset(&ja, 0, sizeof ja);
    memset(&jb, 0, sizeof jb);
    h_join(h, (join_args){.group = "cg", .session_ms = 5000}, &ja);
    assert_true(RUN_UNTIL(h, ja.done, 1000));
    /* CompletingRebalance: the member must sync first. */
    h_commit(h, "cg", ja.member_id, ja.generation, -1, "t:0=1", &o);
    assert_int_equal(o.parts[0].error, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    sync_out s;
    h_sync(h, "cg", ja.member_id, ja.generation, NULL, &s);
    h_commit(h, "cg", ja.member_id, ja.generation + 1, -1, "t:0=1", &o);
    assert_int_equal(o.parts[0].error, KAFKA_ERR_ILLEGAL_GENERATION);
    h_commit(h, "cg", "stranger", ja.generation, -1, "t:0=1", &o);
    assert_int_equal(o.parts[0].error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    /* A simple commit into a group with members is refused. */
    h_commit(h, "cg", "", -1, -1, "t:0=1", &o);
    assert_int_equal(o.parts[0].error, KAFKA_ERR_UNKNOWN_MEMBER_ID);

    /* PreparingRebalance still accepts the current generation's commits. */
    h_join(h, (join_args){.group = "cg", .session_ms = 5000}, &jb);
    assert_string_equal(h_state(h, "cg"), "PreparingRebalance");
    h_commit(h, "cg", ja.member_id, ja.generation, -1, "t:0=5,t:1=6", &o);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    assert_int_equal(o.parts[0].error, 0);
    assert_int_equal(h_offset(h, "cg", "t", 1), 6);

    /* Per-part checks: oversized metadata, and a part the caller already failed. */
    static char big[5000];
    memset(big, 'm', sizeof big);
    commit_out o2;
    memset(&o2, 0, sizeof o2);
    o2.parts[0] = (gc_commit_part){.topic = SL_SLICE_STR("x"),
                                   .leader_epoch = -1,
                                   .metadata = {(const uint8_t *)big, sizeof big},
                                   .commit_ts = -1};
    o2.rq = (gc_commit_req){.group_id = SL_SLICE_STR("simple"),
                            .generation = -1,
                            .retention_ms = -1,
                            .nparts = 1,
                            .parts = o2.parts};
    sl__gc_commit(h->gc, &o2.rq, on_commit, &o2);
    assert_true(o2.done);
    assert_int_equal(o2.parts[0].error, KAFKA_ERR_OFFSET_METADATA_TOO_LARGE);

    h_commit(h, "simple", NULL, -1, -1, "x:0=1,x:1=2", &o);
    RUN_UNTIL(h, o.done, 2000);
    memset(&o2, 0, sizeof o2);
    o2.parts[0] = (gc_commit_part){.topic = SL_SLICE_STR("x"),
                                   .partition = 0,
                                   .offset = 99,
                                   .leader_epoch = 4,
                                   .commit_ts = -1,
                                   .error = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION};
    o2.parts[1] = (gc_commit_part){.topic = SL_SLICE_STR("x"),
                                   .partition = 1,
                                   .offset = 98,
                                   .leader_epoch = 4,
                                   .commit_ts = -1};
    o2.rq = (gc_commit_req){.group_id = SL_SLICE_STR("simple"),
                            .generation = -1,
                            .retention_ms = -1,
                            .nparts = 2,
                            .parts = o2.parts};
    sl__gc_commit(h->gc, &o2.rq, on_commit, &o2);
    assert_true(RUN_UNTIL(h, o2.done, 2000));
    assert_int_equal(o2.parts[0].error, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(o2.parts[1].error, 0);
    assert_int_equal(h_offset(h, "simple", "x", 0), 1);
    assert_int_equal(h_offset(h, "simple", "x", 1), 98);
    const gc_offset *off =
        sl__gc_offset_lookup(h->gc, SL_SLICE_STR("simple"), SL_SLICE_STR("x"), 1);
    assert_int_equal(off->leader_epoch, 4);
    assert_string_equal(off->metadata, "");
}

/* Commits written before a stop are still answered, by the flusher's stop at the latest. */
static void test_stop_with_commit_in_flight(void **state)
{
    harness *h = *state;
    commit_out o, late;
    h_commit(h, "g", NULL, -1, -1, "t:0=1", &o);
    assert_false(o.done);
    sl_group_coord_stop(h->gc);
    h_commit(h, "g", NULL, -1, -1, "t:0=2", &late);
    assert_true(late.done);
    assert_int_equal(late.parts[0].error, KAFKA_ERR_NOT_COORDINATOR);
    sl_flusher_stop(h->flusher);
    h->flusher = NULL;
    assert_true(o.done);
    assert_int_equal(o.parts[0].error, 0);
    sl_group_coord_close(h->gc);
    h->gc = NULL;
    uv_run(&h->loop, UV_RUN_NOWAIT);
    assert_int_equal(h_open(h), 0);
    assert_int_equal(h_offset(h, "g", "t", 0), 1);
}

/* flush=os: commits are answered after write(2), without waiting for a sync. */
static void test_no_fsync(void **state)
{
    harness *h = *state;
    h_close(h);
    h->opts.fsync = false;
    assert_int_equal(h_open(h), 0);
    commit_out o;
    h_commit(h, "g", NULL, -1, -1, "t:0=1", &o);
    assert_true(o.done);
    assert_int_equal(o.parts[0].error, 0);
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 0), 1);
}

/* The periodic cleanup expires offsets by itself. */
static void test_cleanup_timer(void **state)
{
    harness *h = *state;
    h_close(h);
    h->opts.offsets_retention_ms = 50;
    h->opts.offsets_retention_check_ms = 20;
    assert_int_equal(h_open(h), 0);
    commit_ok(h, "g", NULL, -1, "t:0=1");
    assert_true(RUN_UNTIL(h, h_offset(h, "g", "t", 0) == -1, 2000));
    assert_true(RUN_UNTIL(h, !strcmp(h_state(h, "g"), "Dead"), 2000));
}

/* A failed append answers NOT_COORDINATOR and stores nothing; a log that cannot be trusted
 * (as after a failed fsync) is rewritten before the next commit is appended. */
static void test_append_failure_recovers(void **state)
{
    harness *h = *state;
    commit_ok(h, "g", NULL, -1, "t:0=1");
    int ro = open(log_path(h), O_RDONLY);
    assert_true(ro >= 0);
    assert_true(dup2(ro, h->gc->fd) >= 0); /* writes now fail with EBADF */
    close(ro);
    commit_out o;
    h_commit(h, "g", NULL, -1, -1, "t:0=2", &o);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    assert_int_equal(o.parts[0].error, KAFKA_ERR_NOT_COORDINATOR);
    assert_int_equal(h_offset(h, "g", "t", 0), 1);

    h->gc->log_broken = true;
    h_commit(h, "g", NULL, -1, -1, "t:0=3", &o);
    assert_false(o.done);
    assert_true(RUN_UNTIL(h, o.done, 2000));
    assert_int_equal(o.parts[0].error, 0);
    assert_false(h->gc->log_broken);
    reopen(h);
    assert_int_equal(h_offset(h, "g", "t", 0), 3);
}

static void collect_offset(void *arg, const sl_group_offset_info *o)
{
    char *out = arg;
    char row[128];
    snprintf(row, sizeof row, "%s-%d=%lld/%s;", o->topic, o->partition, (long long)o->offset,
             o->metadata);
    strcat(out, row);
    assert_true(o->commit_ts > 0);
}

/* The console's view: committed offsets sorted by topic and partition. */
static void test_introspect_offsets(void **state)
{
    harness *h = *state;
    commit_ok(h, "g", NULL, -1, "b:1=5/x,a:3=1,b:0=7");
    char out[256] = "";
    assert_int_equal(sl_group_offsets(h->gc, SL_SLICE_STR("g"), collect_offset, out), 0);
    assert_string_equal(out, "a-3=1/;b-0=7/;b-1=5/x;");
    assert_int_equal(sl_group_offsets(h->gc, SL_SLICE_STR("none"), collect_offset, out),
                     SL_ERR_NOTFOUND);
    sl_group_info info;
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("g"), &info, NULL, NULL), 0);
    assert_int_equal(info.offsets, 3);
    assert_string_equal(info.state, "Empty");
    assert_string_equal(info.protocol_type, "");
    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_int_equal(st.commits, 1);
    assert_int_equal(st.offsets_stored, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crc_bad_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_during_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_simple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_request_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_consumer_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_commit_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_failure_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introspect_offsets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
