/* test_topics.c: the topic registry: Kafka's name rules, creation with config overrides and
 * their errors, topics.json and producer ids surviving a reopen, deletion, producer state
 * rebuilt from the log when its snapshot is missing, stale partition data never reused,
 * creation and deletion in steps (as the broker runs them on workers) and the descriptor
 * budget. */
#include "core/crc32c.h"
#include "kafka/topics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[64];
static sl_broker_config cfg;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sluice-topics-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    sl_config_defaults(sl_broker_opts, &cfg);
    char err[256];
    return sl_broker_config_check(&cfg, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    sl_config_free(sl_broker_opts, &cfg);
    return system(cmd);
}

static sl_slice S(const char *s)
{
    return SL_SLICE_STR(s);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(kafka_topic_name_valid(S("users_created")));
    assert_true(kafka_topic_name_valid(S("a.b-c_D9")));
    assert_true(kafka_topic_name_valid(S("...")));
    assert_false(kafka_topic_name_valid(S("")));
    assert_false(kafka_topic_name_valid(S(".")));
    assert_false(kafka_topic_name_valid(S("..")));
    assert_false(kafka_topic_name_valid(S("a/b")));
    assert_false(kafka_topic_name_valid(S("a b")));
    assert_false(kafka_topic_name_valid(S("caf\xc3\xa9")));
    assert_false(kafka_topic_name_valid(SL_SLICE_NULL));
    char name[251];
    memset(name, 'x', sizeof(name));
    assert_true(kafka_topic_name_valid((sl_slice){(uint8_t *)name, 249}));
    assert_false(kafka_topic_name_valid((sl_slice){(uint8_t *)name, 250}));
}

typedef struct seen {
    char names[32][64];
    char values[32][64];
    bool defaults[32];
    int n;
} seen;

static void collect(void *arg, const char *name, const char *value, bool is_default, bool read_only)
{
    (void)read_only;
    seen *s = arg;
    snprintf(s->names[s->n], 64, "%s", name);
    snprintf(s->values[s->n], 64, "%s", value);
    s->defaults[s->n++] = is_default;
}

static const char *config_of(const seen *s, const char *name, bool *is_default)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            *is_default = s->defaults[i];
            return s->values[i];
        }
    return NULL;
}

static void test_create_and_reopen(void **state)
{
    (void)state;
    kafka_topics *t;
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    char msg[256];
    kafka_cfg_kv kv[] = {{S("retention.ms"), S("60000")},
                         {S("message.timestamp.type"), S("LogAppendTime")},
                         {S("segment.bytes"), SL_SLICE_NULL}};
    kafka_topic *tp;
    assert_int_equal(kafka_topics_create(t, S("t1"), 3, kv, 3, false, &tp, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    assert_int_equal(tp->nparts, 3);
    assert_int_equal(tp->cfg.retention_ms, 60000);
    assert_int_equal(tp->cfg.timestamp_type, 1);
    assert_int_equal(tp->cfg.segment_bytes, cfg.segment_bytes);
    /* Errors, each with the code Kafka uses. */
    assert_int_equal(kafka_topics_create(t, S("t1"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    assert_int_equal(kafka_topics_create(t, S("a/b"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(kafka_topics_create(t, S("t2"), 0, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_INVALID_PARTITIONS);
    kafka_cfg_kv bad1[] = {{S("no.such.config"), S("1")}};
    assert_int_equal(kafka_topics_create(t, S("t2"), 1, bad1, 1, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_INVALID_CONFIG);
    assert_non_null(strstr(msg, "no.such.config"));
    kafka_cfg_kv bad2[] = {{S("retention.ms"), S("-2")}};
    assert_int_equal(kafka_topics_create(t, S("t2"), 1, bad2, 1, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_INVALID_CONFIG);
    kafka_cfg_kv bad3[] = {{S("min.cleanable.dirty.ratio"), S("1.5")}};
    assert_int_equal(kafka_topics_create(t, S("t2"), 1, bad3, 1, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_INVALID_CONFIG);
    /* validate_only creates nothing. */
    assert_int_equal(kafka_topics_create(t, S("t3"), 1, NULL, 0, true, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    assert_null(kafka_topics_find(t, S("t3")));
    int64_t pid0 = kafka_topics_next_producer_id(t);
    int64_t pid1 = kafka_topics_next_producer_id(t);
    assert_true(pid1 > pid0);
    kafka_topics_close(t);

    /* Everything comes back; producer ids are never handed out twice. */
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_int_equal(kafka_topics_count(t), 1);
    tp = kafka_topics_find(t, S("t1"));
    assert_non_null(tp);
    assert_int_equal(tp->nparts, 3);
    assert_int_equal(tp->cfg.retention_ms, 60000);
    assert_non_null(kafka_topics_partition(t, S("t1"), 2));
    assert_null(kafka_topics_partition(t, S("t1"), 3));
    assert_true(kafka_topics_next_producer_id(t) > pid1);
    seen s = {0};
    kafka_topic_configs(t, tp, collect, &s);
    bool def;
    assert_string_equal(config_of(&s, "retention.ms", &def), "60000");
    assert_false(def);
    assert_string_equal(config_of(&s, "message.timestamp.type", &def), "LogAppendTime");
    assert_false(def);
    assert_string_equal(config_of(&s, "cleanup.policy", &def), "delete");
    assert_true(def);
    assert_string_equal(config_of(&s, "segment.bytes", &def), "1073741824");
    assert_true(def);

    /* Deleting hides the topic at once and removes its directories. */
    kafka_topics_mark_deleting(t, tp);
    assert_null(kafka_topics_find(t, S("t1")));
    assert_int_equal(kafka_topics_create(t, S("t1"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    assert_true(kafka_topic_idle(tp));
    assert_int_equal(kafka_topics_destroy(t, tp), 0);
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/t1-0", dir);
    assert_int_not_equal(stat(path, &st), 0);
    kafka_topics_close(t);
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_int_equal(kafka_topics_count(t), 0);
    kafka_topics_close(t);
}

/* An idempotent single-record batch, as a producer sends it. */
static void build_batch(sl_buf *b, int64_t pid, int32_t seq)
{
    sl_buf_reset(b);
    sl_buf_put_be64(b, 0);
    sl_buf_put_be32(b, 0);
    sl_buf_put_be32(b, 0);
    sl_buf_put_u8(b, 2);
    sl_buf_put_be32(b, 0);
    sl_buf_put_be16(b, 0);
    sl_buf_put_be32(b, 0);
    sl_buf_put_be64(b, 1000);
    sl_buf_put_be64(b, 1000);
    sl_buf_put_be64(b, (uint64_t)pid);
    sl_buf_put_be16(b, 0);
    sl_buf_put_be32(b, (uint32_t)seq);
    sl_buf_put_be32(b, 1);
    static const uint8_t rec[] = {0x0e, 0, 0, 0, 1, 6, 'a', 'b', 'c', 0};
    sl_buf_append(b, rec, sizeof(rec));
    sl_put_be32(b->ptr + KAFKA_BATCH_OFF_LENGTH, (uint32_t)(b->len - KAFKA_BATCH_LOG_OVERHEAD));
    sl_put_be32(b->ptr + KAFKA_BATCH_OFF_CRC, sl_crc32c(0, b->ptr + KAFKA_BATCH_OFF_ATTRIBUTES,
                                                        b->len - KAFKA_BATCH_OFF_ATTRIBUTES));
}

static void test_producer_state_rebuilt(void **state)
{
    (void)state;
    kafka_topics *t;
    char msg[256];
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_int_equal(kafka_topics_create(t, S("idem"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    kafka_partition *p = kafka_topics_partition(t, S("idem"), 0);
    sl_buf b = SL_BUF_INIT;
    char snap[128], keep[128];
    snprintf(snap, sizeof(snap), "%s/idem-0/producer.snapshot", dir);
    snprintf(keep, sizeof(keep), "%s/kept.snapshot", dir);
    for (int32_t seq = 0; seq < 8; seq++) {
        build_batch(&b, 42, seq);
        kafka_batch_hdr h;
        assert_int_equal(kafka_batch_validate(b.ptr, b.len, &h), KAFKA_ERR_NONE);
        assert_int_equal(kafka_pstate_check(p->pstate, &h).err, KAFKA_ERR_NONE);
        int64_t base;
        assert_int_equal(sl_plog_append(p->log, b.ptr, b.len, &base), 0);
        kafka_pstate_update(p->pstate, &h, base, sl_now_ms());
        p->pstate_dirty = true;
        /* A snapshot half way, kept aside: the rest must be replayed from the log. */
        if (seq == 3) {
            kafka_topics_snapshot(t, false);
            assert_int_equal(rename(snap, keep), 0);
        }
    }
    /* Simulate a crash after the half-way snapshot: the clean close writes a newer one, which
     * is replaced by the old. */
    kafka_topics_close(t);
    assert_int_equal(rename(keep, snap), 0);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
        p = kafka_topics_partition(t, S("idem"), 0);
        kafka_batch_hdr h;
        /* The last batches are duplicates with their original offsets; the next is in order. */
        build_batch(&b, 42, 7);
        kafka_batch_validate(b.ptr, b.len, &h);
        kafka_pcheck c = kafka_pstate_check(p->pstate, &h);
        assert_true(c.duplicate);
        assert_int_equal(c.dup_base_offset, 7);
        build_batch(&b, 42, 8);
        kafka_batch_validate(b.ptr, b.len, &h);
        c = kafka_pstate_check(p->pstate, &h);
        assert_int_equal(c.err, KAFKA_ERR_NONE);
        assert_false(c.duplicate);
        kafka_topics_close(t);
        /* Second round: without any snapshot at all, everything comes from the log. */
        unlink(snap);
    }
    sl_buf_free(&b);
}

/* A directory left by a topic whose deletion was cut short (topics.json rewritten, the logs not
 * yet removed) is removed at the next open, so it never leaks its records into a new topic of
 * the same name; a directory of the same shape that is not a partition log is kept. */
static void test_stale_directory_wiped(void **state)
{
    (void)state;
    kafka_topics *t;
    char msg[256];
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_int_equal(kafka_topics_create(t, S("st"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    kafka_partition *p = kafka_topics_partition(t, S("st"), 0);
    sl_buf b = SL_BUF_INIT;
    build_batch(&b, -1, -1);
    int64_t base;
    assert_int_equal(sl_plog_append(p->log, b.ptr, b.len, &base), 0);
    kafka_topics_close(t);
    char path[128];
    snprintf(path, sizeof(path), "%s/topics.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"version\": 1, \"topics\": []}\n", f);
    fclose(f);
    char foreign[128], stale[128];
    snprintf(foreign, sizeof(foreign), "%s/foreign-0", dir);
    assert_int_equal(mkdir(foreign, 0755), 0);
    snprintf(stale, sizeof(stale), "%s/st-0", dir);
    struct stat st;
    assert_int_equal(stat(stale, &st), 0);
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_null(kafka_topics_find(t, S("st")));
    assert_int_not_equal(stat(stale, &st), 0);
    assert_int_equal(stat(foreign, &st), 0);
    assert_int_equal(kafka_topics_create(t, S("st"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    p = kafka_topics_partition(t, S("st"), 0);
    assert_int_equal(sl_plog_end_offset(p->log), 0);
    kafka_topics_close(t);
    sl_buf_free(&b);
}

static bool dir_exists(const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* Creation and deletion in steps, as the broker runs them with the file work on workers: the
 * name is taken from begin to end, lookups see the topic only once it is published, and the
 * partition directories outlive delete_begin until the files are removed. */
static void test_steps(void **state)
{
    (void)state;
    kafka_topics *t;
    char msg[300];
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    kafka_topic *tp;
    assert_int_equal(
        kafka_topics_create_begin(t, S("big"), 100, NULL, 0, false, &tp, msg, sizeof(msg)),
        KAFKA_ERR_NONE);
    assert_non_null(tp);
    assert_true(kafka_topics_creating(t, S("big")));
    assert_int_equal(kafka_topics_creating_count(t), 1);
    assert_null(kafka_topics_find(t, S("big")));
    assert_int_equal(kafka_topics_create(t, S("big"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    assert_non_null(strstr(msg, "being created"));
    assert_int_equal(kafka_topic_open_new(t, tp, 50, 100), 0);
    assert_int_equal(kafka_topic_open_new(t, tp, 0, 50), 0);
    assert_int_equal(kafka_topics_create_end(t, tp, 0, msg, sizeof(msg)), KAFKA_ERR_NONE);
    assert_false(kafka_topics_creating(t, S("big")));
    assert_ptr_equal(kafka_topics_find(t, S("big")), tp);
    assert_true(dir_exists("big-99"));

    /* A failed range: everything opened is removed, the name is free again. */
    kafka_topic *tp2;
    assert_int_equal(
        kafka_topics_create_begin(t, S("half"), 10, NULL, 0, false, &tp2, msg, sizeof(msg)),
        KAFKA_ERR_NONE);
    assert_int_equal(kafka_topic_open_new(t, tp2, 0, 5), 0);
    assert_true(dir_exists("half-4"));
    assert_int_equal(kafka_topics_create_end(t, tp2, -EMFILE, msg, sizeof(msg)),
                     KAFKA_ERR_KAFKA_STORAGE_ERROR);
    assert_false(dir_exists("half-0"));
    assert_null(kafka_topics_find(t, S("half")));
    assert_false(kafka_topics_creating(t, S("half")));

    /* validate_only reserves nothing. */
    assert_int_equal(kafka_topics_create_begin(t, S("v"), 3, NULL, 0, true, &tp2, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    assert_null(tp2);
    assert_int_equal(kafka_topics_creating_count(t), 0);

    kafka_topics_mark_deleting(t, tp);
    assert_int_equal(kafka_topics_delete_begin(t, tp), 0);
    assert_true(dir_exists("big-0"));
    assert_int_equal(kafka_topics_create(t, S("big"), 1, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_TOPIC_ALREADY_EXISTS);
    kafka_topic_remove_files(tp, 0, 100);
    assert_false(dir_exists("big-0"));
    assert_false(dir_exists("big-99"));
    kafka_topics_delete_end(t, tp);
    assert_int_equal(kafka_topics_count(t), 0);
    kafka_topics_close(t);
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    assert_int_equal(kafka_topics_count(t), 0);
    kafka_topics_close(t);
}

static int open_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = -1;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A topic is refused up front, with the reason, when its partitions would not fit under
 * RLIMIT_NOFILE with the headroom kept for connections. */
static void test_descriptor_budget(void **state)
{
    (void)state;
    struct rlimit old, rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    kafka_topics *t;
    char msg[300];
    assert_int_equal(kafka_topics_open(dir, &cfg, &t), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)(open_fd_count() + KAFKA_FD_HEADROOM + 100 * KAFKA_FDS_PER_PARTITION);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);

    assert_int_equal(
        kafka_topics_create(t, S("toobig"), 101, NULL, 0, false, NULL, msg, sizeof(msg)),
        KAFKA_ERR_POLICY_VIOLATION);
    assert_non_null(strstr(msg, "RLIMIT_NOFILE"));
    assert_false(dir_exists("toobig-0"));
    /* validate_only says the same. */
    assert_int_equal(
        kafka_topics_create(t, S("toobig"), 101, NULL, 0, true, NULL, msg, sizeof(msg)),
        KAFKA_ERR_POLICY_VIOLATION);
    /* A reservation in flight counts: two halves do not both fit with the first unopened. */
    kafka_topic *tp;
    assert_int_equal(
        kafka_topics_create_begin(t, S("a"), 60, NULL, 0, false, &tp, msg, sizeof(msg)),
        KAFKA_ERR_NONE);
    assert_int_equal(kafka_topics_create(t, S("b"), 60, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_POLICY_VIOLATION);
    assert_int_equal(kafka_topic_open_new(t, tp, 0, 60), 0);
    assert_int_equal(kafka_topics_create_end(t, tp, 0, msg, sizeof(msg)), KAFKA_ERR_NONE);
    assert_int_equal(kafka_topics_create(t, S("c"), 30, NULL, 0, false, NULL, msg, sizeof(msg)),
                     KAFKA_ERR_NONE);
    kafka_topics_close(t);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_state_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_directory_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_budget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
