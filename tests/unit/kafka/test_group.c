/* test_group.c: the membership state machine of src/kafka/group.c on a real libuv loop with
 * short timeouts: joins (MEMBER_ID_REQUIRED, deferral until every member rejoined, leader and
 * protocol choice), syncs (followers wait for the leader), heartbeats, leaves, session and
 * rebalance expiry, the initial rebalance delay, static members, the errors Kafka returns, and
 * close with requests still waiting. */
#include "gc_harness.h"

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

/* Joins a lone member (v4: MEMBER_ID_REQUIRED first) and makes it Stable; returns its id. */
static void join_one(harness *h, const char *group, char *id_out, int32_t *gen_out, int session)
{
    join_out j;
    h_join(h, (join_args){.group = group, .v4 = true, .session_ms = session}, &j);
    assert_true(j.done);
    assert_int_equal(j.error, KAFKA_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(j.generation, -1);
    assert_true(!strncmp(j.member_id, "cli-", 4));
    char id[128];
    strcpy(id, j.member_id);
    h_join(h, (join_args){.group = group, .member = id, .v4 = true, .session_ms = session}, &j);
    assert_true(RUN_UNTIL(h, j.done, 1000));
    assert_int_equal(j.error, 0);
    assert_string_equal(j.member_id, id);
    assert_string_equal(j.leader, id);
    assert_int_equal(j.nmembers, 1);
    assert_string_equal(j.member_meta[0], "range-meta");
    assert_string_equal(j.protocol, "range");
    assert_string_equal(h_state(h, group), "CompletingRebalance");
    sync_out s;
    char as[256];
    snprintf(as, sizeof as, "%s=A0", id);
    h_sync(h, group, id, j.generation, as, &s);
    assert_true(s.done);
    assert_int_equal(s.error, 0);
    assert_string_equal(s.assignment, "A0");
    assert_string_equal(h_state(h, group), "Stable");
    strcpy(id_out, id);
    *gen_out = j.generation;
}

static void test_single_member(void **state)
{
    harness *h = *state;
    char id[128];
    int32_t gen;
    join_one(h, "g1", id, &gen, 1000);
    assert_int_equal(gen, 1);
    assert_int_equal(h_heartbeat(h, "g1", id, gen), 0);
    assert_int_equal(h_heartbeat(h, "g1", id, gen + 1), KAFKA_ERR_ILLEGAL_GENERATION);
    assert_int_equal(h_heartbeat(h, "g1", "nobody", gen), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(h_heartbeat(h, "nogroup", id, gen), KAFKA_ERR_UNKNOWN_MEMBER_ID);

    /* A follower-less leader rejoining with the same metadata starts a new generation. */
    join_out j;
    h_join(h, (join_args){.group = "g1", .member = id}, &j);
    assert_true(RUN_UNTIL(h, j.done, 1000));
    assert_int_equal(j.generation, gen + 1);

    sl_group_info info;
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("g1"), &info, NULL, NULL), 0);
    assert_string_equal(info.state, "CompletingRebalance");
    assert_string_equal(info.protocol_type, "consumer");
    assert_string_equal(info.leader, id);
    assert_int_equal(info.members, 1);

    int16_t merr;
    assert_int_equal(
        sl__gc_leave(h->gc, SL_SLICE_STR("g1"), SL_SLICE_STR(id), SL_SLICE_NULL, &merr), 0);
    assert_int_equal(merr, 0);
    assert_string_equal(h_state(h, "g1"), "Empty");
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("g1"), &info, NULL, NULL), 0);
    assert_int_equal(info.generation, gen + 2);
    assert_int_equal(info.members, 0);
    assert_string_equal(info.protocol_type, "consumer");

    /* Leaving twice, or from a group that does not exist. */
    sl__gc_leave(h->gc, SL_SLICE_STR("g1"), SL_SLICE_STR(id), SL_SLICE_NULL, &merr);
    assert_int_equal(merr, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    sl__gc_leave(h->gc, SL_SLICE_STR("zz"), SL_SLICE_STR(id), SL_SLICE_NULL, &merr);
    assert_int_equal(merr, KAFKA_ERR_UNKNOWN_MEMBER_ID);

    /* An Empty group with no offsets is forgotten by the periodic cleanup. */
    sl__gc_expire(h->gc, sl_now_ms());
    assert_string_equal(h_state(h, "g1"), "Dead");
}

/* Two members: the second join rebalances; the first learns it from its heartbeat; the join
 * answers wait for both; the follower's sync waits for the leader's assignments. */
static void test_two_members_rebalance(void **state)
{
    harness *h = *state;
    char a[128];
    int32_t gen;
    join_one(h, "g", a, &gen, 1000);

    join_out jb;
    h_join(h, (join_args){.group = "g"}, &jb); /* v3: no MEMBER_ID_REQUIRED round */
    h_sleep(h, 20);
    assert_false(jb.done);
    assert_string_equal(h_state(h, "g"), "PreparingRebalance");
    assert_int_equal(h_heartbeat(h, "g", a, gen), KAFKA_ERR_REBALANCE_IN_PROGRESS);

    join_out ja;
    h_join(h, (join_args){.group = "g", .member = a}, &ja);
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    assert_int_equal(ja.error, 0);
    assert_int_equal(jb.error, 0);
    assert_int_equal(ja.generation, gen + 1);
    assert_int_equal(jb.generation, gen + 1);
    assert_string_equal(ja.leader, a);
    assert_string_equal(jb.leader, a);
    assert_int_equal(ja.nmembers, 2); /* the leader gets everyone's metadata */
    assert_int_equal(jb.nmembers, 0);
    assert_string_equal(ja.members[0], a);
    assert_string_equal(ja.members[1], jb.member_id);

    sync_out sb, sa;
    h_sync(h, "g", jb.member_id, jb.generation, NULL, &sb);
    h_sleep(h, 10);
    assert_false(sb.done);
    /* The heartbeat of a member awaiting its assignment is fine. */
    assert_int_equal(h_heartbeat(h, "g", jb.member_id, jb.generation), 0);
    char as[512];
    snprintf(as, sizeof as, "%s=AA;%s=BB", a, jb.member_id);
    h_sync(h, "g", a, ja.generation, as, &sa);
    assert_true(sa.done);
    assert_true(sb.done);
    assert_int_equal(sa.error, 0);
    assert_int_equal(sb.error, 0);
    assert_string_equal(sa.assignment, "AA");
    assert_string_equal(sb.assignment, "BB");
    assert_string_equal(h_state(h, "g"), "Stable");

    /* A late sync in Stable gets the stored assignment at once. */
    sync_out again;
    h_sync(h, "g", jb.member_id, jb.generation, NULL, &again);
    assert_true(again.done);
    assert_string_equal(again.assignment, "BB");

    /* B leaves: A is told to rejoin, and gets a generation of its own. */
    int16_t merr;
    sl__gc_leave(h->gc, SL_SLICE_STR("g"), SL_SLICE_STR(jb.member_id), SL_SLICE_NULL, &merr);
    assert_int_equal(merr, 0);
    assert_int_equal(h_heartbeat(h, "g", a, ja.generation), KAFKA_ERR_REBALANCE_IN_PROGRESS);
    h_join(h, (join_args){.group = "g", .member = a}, &ja);
    assert_true(RUN_UNTIL(h, ja.done, 1000));
    assert_int_equal(ja.generation, gen + 2);
    assert_int_equal(ja.nmembers, 1);

    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_int_equal(st.groups, 1);
    assert_int_equal(st.members, 1);
    assert_int_equal(st.rebalances, 3);
}

/* A member that stops heartbeating is evicted after its session timeout, and the survivor
 * takes over after a rebalance. */
static void test_session_expiry(void **state)
{
    harness *h = *state;
    join_out ja, jb;
    h_join(h, (join_args){.group = "g", .session_ms = 2000}, &ja);
    h_join(h, (join_args){.group = "g", .session_ms = 150}, &jb);
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    assert_int_equal(ja.generation, 1); /* both arrived within the same (0 ms) delay */
    assert_int_equal(jb.generation, 1);
    sync_out sa, sb;
    h_sync(h, "g", jb.member_id, 1, NULL, &sb);
    h_sync(h, "g", ja.member_id, 1, NULL, &sa);
    assert_true(sa.done && sb.done);

    int64_t start = sl_mono_ms();
    int16_t hb = 0;
    while (sl_mono_ms() - start < 1000 && hb == 0) {
        h_sleep(h, 20);
        hb = h_heartbeat(h, "g", ja.member_id, 1);
    }
    assert_int_equal(hb, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    int64_t took = sl_mono_ms() - start;
    assert_true(took >= 130 && took < 600);
    assert_int_equal(h_heartbeat(h, "g", jb.member_id, 1), KAFKA_ERR_UNKNOWN_MEMBER_ID);

    h_join(h, (join_args){.group = "g", .member = ja.member_id, .session_ms = 2000}, &ja);
    assert_true(RUN_UNTIL(h, ja.done, 1000));
    assert_int_equal(ja.generation, 2);
    assert_int_equal(ja.nmembers, 1);
    sl_group_stats st;
    sl_group_stats_get(h->gc, &st);
    assert_int_equal(st.expired_members, 1);
}

/* A member that does not rejoin within the rebalance timeout is dropped from the generation. */
static void test_rebalance_timeout(void **state)
{
    harness *h = *state;
    join_out ja, jb, jc;
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 200}, &ja);
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 200}, &jb);
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    sync_out sa, sb;
    h_sync(h, "g", ja.member_id, 1, NULL, &sa);
    h_sync(h, "g", jb.member_id, 1, NULL, &sb);
    assert_true(sa.done && sb.done);

    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 200}, &jc);
    h_join(
        h,
        (join_args){.group = "g", .member = ja.member_id, .session_ms = 5000, .rebalance_ms = 200},
        &ja);
    int64_t start = sl_mono_ms();
    assert_true(RUN_UNTIL(h, ja.done && jc.done, 2000));
    int64_t took = sl_mono_ms() - start;
    assert_true(took >= 180);
    assert_int_equal(ja.generation, 2);
    assert_int_equal(ja.nmembers, 2);
    assert_int_equal(h_heartbeat(h, "g", jb.member_id, 1), KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

/* A follower that never sends its SyncGroup is removed after the rebalance timeout. */
static void test_sync_timeout(void **state)
{
    harness *h = *state;
    join_out ja, jb;
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 150}, &ja);
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 150}, &jb);
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    sync_out sa;
    h_sync(h, "g", ja.member_id, 1, NULL, &sa);
    assert_true(sa.done);
    assert_string_equal(h_state(h, "g"), "Stable");
    h_sleep(h, 250);
    assert_string_equal(h_state(h, "g"), "PreparingRebalance");
    assert_int_equal(h_heartbeat(h, "g", jb.member_id, 1), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    h_join(h, (join_args){.group = "g", .member = ja.member_id, .session_ms = 5000}, &ja);
    assert_true(RUN_UNTIL(h, ja.done, 1000));
    assert_int_equal(ja.nmembers, 1);
}

/* The leader never syncs: followers waiting on it get REBALANCE_IN_PROGRESS once it is gone. */
static void test_leader_never_syncs(void **state)
{
    harness *h = *state;
    join_out ja, jb;
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 150}, &ja);
    h_join(h, (join_args){.group = "g", .session_ms = 5000, .rebalance_ms = 150}, &jb);
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    sync_out sb;
    h_sync(h, "g", jb.member_id, 1, NULL, &sb);
    assert_false(sb.done);
    assert_true(RUN_UNTIL(h, sb.done, 1000));
    assert_int_equal(sb.error, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    h_join(h, (join_args){.group = "g", .member = jb.member_id, .session_ms = 5000}, &jb);
    assert_true(RUN_UNTIL(h, jb.done, 1000));
    assert_int_equal(jb.error, 0);
    assert_string_equal(jb.leader, jb.member_id); /* leadership passed on */
}

static void test_protocol_vote(void **state)
{
    harness *h = *state;
    join_out j[3];
    h_join(h, (join_args){.group = "v", .protos = "range,roundrobin"}, &j[0]);
    h_join(h, (join_args){.group = "v", .protos = "roundrobin,range"}, &j[1]);
    h_join(h, (join_args){.group = "v", .protos = "roundrobin,range,sticky"}, &j[2]);
    assert_true(RUN_UNTIL(h, j[0].done && j[1].done && j[2].done, 1000));
    assert_string_equal(j[0].protocol, "roundrobin");
    assert_string_equal(j[0].member_meta[0], "roundrobin-meta");

    /* Only protocols everyone supports are candidates. */
    h_join(h, (join_args){.group = "w", .protos = "sticky,range"}, &j[0]);
    h_join(h, (join_args){.group = "w", .protos = "range"}, &j[1]);
    assert_true(RUN_UNTIL(h, j[0].done && j[1].done, 1000));
    assert_string_equal(j[0].protocol, "range");

    /* No protocol in common, or another protocol type: rejected. */
    h_join(h, (join_args){.group = "w", .protos = "sticky"}, &j[2]);
    assert_true(j[2].done);
    assert_int_equal(j[2].error, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    h_join(h, (join_args){.group = "w", .ptype = "connect", .protos = "range"}, &j[2]);
    assert_true(j[2].done);
    assert_int_equal(j[2].error, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    h_join(h, (join_args){.group = "x", .ptype = "", .protos = "range"}, &j[2]);
    assert_int_equal(j[2].error, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
}

static void test_join_errors(void **state)
{
    harness *h = *state;
    join_out j;
    h_join(h, (join_args){.group = ""}, &j);
    assert_true(j.done);
    assert_int_equal(j.error, KAFKA_ERR_INVALID_GROUP_ID);
    h_join(h, (join_args){.group = "g", .session_ms = 5}, &j);
    assert_int_equal(j.error, KAFKA_ERR_INVALID_SESSION_TIMEOUT);
    h_join(h, (join_args){.group = "g", .session_ms = 31 * 60 * 1000}, &j);
    assert_int_equal(j.error, KAFKA_ERR_INVALID_SESSION_TIMEOUT);
    h_join(h, (join_args){.group = "g", .member = "ghost"}, &j);
    assert_int_equal(j.error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_string_equal(j.member_id, "ghost");
    assert_int_equal(j.generation, -1);

    char a[128];
    int32_t gen;
    join_one(h, "g", a, &gen, 1000);
    h_join(h, (join_args){.group = "g", .member = "ghost"}, &j);
    assert_int_equal(j.error, KAFKA_ERR_UNKNOWN_MEMBER_ID);

    sync_out s;
    h_sync(h, "g", "ghost", gen, NULL, &s);
    assert_int_equal(s.error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    h_sync(h, "g", a, gen + 7, NULL, &s);
    assert_int_equal(s.error, KAFKA_ERR_ILLEGAL_GENERATION);
    h_sync(h, "nope", a, gen, NULL, &s);
    assert_int_equal(s.error, KAFKA_ERR_UNKNOWN_MEMBER_ID);

    /* A sync during a rebalance is told so. */
    join_out jb;
    h_join(h, (join_args){.group = "g"}, &jb);
    h_sync(h, "g", a, gen, NULL, &s);
    assert_int_equal(s.error, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    h_join(h, (join_args){.group = "g", .member = a}, &j);
    assert_true(RUN_UNTIL(h, j.done && jb.done, 1000));
}

/* The pending id of MEMBER_ID_REQUIRED expires after the session timeout when the client
 * never comes back, and does not hold up a rebalance forever. */
static void test_pending_member_expiry(void **state)
{
    harness *h = *state;
    char a[128];
    int32_t gen;
    join_one(h, "g", a, &gen, 2000);
    join_out jp;
    h_join(h, (join_args){.group = "g", .v4 = true, .session_ms = 100}, &jp);
    assert_int_equal(jp.error, KAFKA_ERR_MEMBER_ID_REQUIRED);
    /* A pending member is not a member yet. */
    assert_int_equal(h_heartbeat(h, "g", jp.member_id, gen), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    h_sleep(h, 200);
    join_out j;
    h_join(h, (join_args){.group = "g", .member = jp.member_id, .v4 = true}, &j);
    assert_true(j.done);
    assert_int_equal(j.error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    assert_string_equal(h_state(h, "g"), "Stable");
}

/* group.initial.rebalance.delay.ms lets members of a new group arrive before generation 1. */
static void test_initial_delay(void **state)
{
    harness *h = *state;
    h_close(h);
    h->opts.initial_rebalance_delay_ms = 100;
    assert_int_equal(h_open(h), 0);
    join_out ja, jb;
    h_join(h, (join_args){.group = "d", .rebalance_ms = 1000}, &ja);
    h_sleep(h, 60);
    assert_false(ja.done);
    h_join(h, (join_args){.group = "d", .rebalance_ms = 1000}, &jb);
    int64_t start = sl_mono_ms();
    assert_true(RUN_UNTIL(h, ja.done && jb.done, 1000));
    /* The second arrival extended the wait by another delay. */
    assert_true(sl_mono_ms() - start >= 90);
    assert_int_equal(ja.generation, 1);
    assert_int_equal(jb.generation, 1);
    assert_int_equal(ja.nmembers, 2);
}

/* Static membership, simplified: a join with a live member's instance id replaces it. */
static void test_static_member(void **state)
{
    harness *h = *state;
    join_out j1, j2;
    h_join(h, (join_args){.group = "s", .instance = "inst-1", .v4 = true}, &j1);
    assert_true(RUN_UNTIL(h, j1.done, 1000));
    assert_int_equal(j1.error, 0); /* static members skip MEMBER_ID_REQUIRED */
    sync_out s;
    h_sync(h, "s", j1.member_id, j1.generation, NULL, &s);
    h_join(h, (join_args){.group = "s", .instance = "inst-1", .v4 = true}, &j2);
    assert_true(RUN_UNTIL(h, j2.done, 1000));
    assert_int_equal(j2.error, 0);
    assert_string_not_equal(j2.member_id, j1.member_id);
    assert_int_equal(j2.nmembers, 1);
    assert_int_equal(h_heartbeat(h, "s", j1.member_id, j1.generation), KAFKA_ERR_UNKNOWN_MEMBER_ID);
    /* LeaveGroup v3 by instance id alone. */
    int16_t merr;
    sl__gc_leave(h->gc, SL_SLICE_STR("s"), SL_SLICE_STR(""), SL_SLICE_STR("inst-1"), &merr);
    assert_int_equal(merr, 0);
    assert_string_equal(h_state(h, "s"), "Empty");
}

/* A second join from the same member while one waits answers the older one. */
static void test_duplicate_join(void **state)
{
    harness *h = *state;
    join_out ja, jc, jb, ja2;
    h_join(h, (join_args){.group = "g"}, &ja);
    h_join(h, (join_args){.group = "g"}, &jc);
    assert_true(RUN_UNTIL(h, ja.done && jc.done, 1000));
    sync_out s;
    h_sync(h, "g", ja.member_id, 1, NULL, &s);
    h_sync(h, "g", jc.member_id, 1, NULL, &s);
    h_join(h, (join_args){.group = "g"}, &jb);
    h_join(h, (join_args){.group = "g", .member = ja.member_id}, &ja2);
    assert_false(ja2.done); /* it waits for C */
    h_join(h, (join_args){.group = "g", .member = ja.member_id}, &ja);
    assert_true(ja2.done);
    assert_int_equal(ja2.error, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    h_join(h, (join_args){.group = "g", .member = jc.member_id}, &jc);
    assert_true(RUN_UNTIL(h, ja.done && jb.done && jc.done, 1000));
    assert_int_equal(ja.error, 0);
    assert_int_equal(ja.generation, 2);
    assert_int_equal(ja.nmembers, 3);
}

/* Closing answers every waiting request, and the loop ends with nothing left open. */
static void test_close_with_waiters(void **state)
{
    harness *h = *state;
    char a[128];
    int32_t gen;
    join_one(h, "g", a, &gen, 1000);
    join_out jb;
    h_join(h, (join_args){.group = "g"}, &jb);
    h_sleep(h, 10);
    assert_false(jb.done);
    h_close(h);
    assert_true(jb.done);
    assert_int_equal(jb.error, KAFKA_ERR_NOT_COORDINATOR);
}

static void collect_group(void *arg, const sl_group_info *g)
{
    char *out = arg;
    strcat(out, g->group_id);
    strcat(out, ":");
    strcat(out, g->state);
    strcat(out, ";");
}

static void collect_member(void *arg, const sl_group_member_info *m)
{
    char *out = arg;
    strcat(out, m->client_id);
    strcat(out, "@");
    strcat(out, m->client_host);
    strcat(out, "=");
    strncat(out, (const char *)m->assignment.ptr, m->assignment.len);
    strcat(out, ";");
}

static void test_introspection(void **state)
{
    harness *h = *state;
    char a[128];
    int32_t gen;
    join_one(h, "g", a, &gen, 1000);
    char list[256] = "";
    sl_group_list(h->gc, collect_group, list);
    assert_string_equal(list, "g:Stable;");
    char members[256] = "";
    sl_group_info info;
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("g"), &info, collect_member, members),
                     0);
    assert_string_equal(members, "cli@/127.0.0.1=A0;");
    assert_string_equal(info.protocol, "range");
    assert_int_equal(sl_group_describe(h->gc, SL_SLICE_STR("none"), &info, NULL, NULL),
                     SL_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_members_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_never_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_vote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_member_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introspection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
