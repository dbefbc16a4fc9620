/* group.c: the consumer group membership state machine and the coordinator's lifecycle.
 *
 * It follows Kafka's classic GroupCoordinator: a join moves a group to PreparingRebalance,
 * which completes when every known member has rejoined (or the rebalance timeout removes those
 * that did not); the new generation's leader gets every member's metadata and sends the
 * assignments in its SyncGroup, which makes the group Stable. Members that stop heartbeating
 * for their session timeout are removed, which starts another rebalance. */
#include "kafka/group_int.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static void on_group_timer(uv_timer_t *t);
static void on_session_timeout(uv_timer_t *t);
static void prepare_rebalance(gc_group *g);
static void try_complete_join(gc_group *g);

uint64_t sl__gc_hash(uint64_t seed, const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    /* Buckets take the low bits; fold the better-mixed high bits into them. */
    return h ^ (h >> 32);
}

static void map_grow(gc_map *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    gc_node **b = sl_calloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        gc_node *n = m->buckets[i];
        while (n) {
            gc_node *next = n->next;
            size_t at = n->hash & (nb - 1);
            n->next = b[at];
            b[at] = n;
            n = next;
        }
    }
    sl_free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void sl__gc_map_insert(gc_map *m, gc_node *n, uint64_t hash)
{
    if (m->count >= m->nbuckets) map_grow(m);
    size_t at = hash & (m->nbuckets - 1);
    n->hash = hash;
    n->next = m->buckets[at];
    m->buckets[at] = n;
    m->count++;
}

void sl__gc_map_remove(gc_map *m, gc_node *n)
{
    gc_node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    m->count--;
}

void sl__gc_map_free(gc_map *m)
{
    sl_free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

const char *sl__gc_state_name(gc_state s)
{
    switch (s) {
    case GC_EMPTY: return "Empty";
    case GC_PREPARING: return "PreparingRebalance";
    case GC_COMPLETING: return "CompletingRebalance";
    case GC_STABLE: return "Stable";
    case GC_DEAD: break;
    }
    return "Dead";
}

static bool slice_is(sl_slice s, const char *c)
{
    return c && sl_slice_eq_str(s, c);
}

gc_group *sl__gc_group_find(sl_group_coord *gc, sl_slice id)
{
    uint64_t h = sl__gc_hash(gc->seed, id.ptr, id.len);
    for (gc_node *n = sl__gc_map_chain(&gc->groups, h); n; n = n->next) {
        gc_group *g = gc_container_of(n, gc_group, node);
        if (n->hash == h && g->id_len == id.len && (!id.len || !memcmp(g->id, id.ptr, id.len)))
            return g;
    }
    return NULL;
}

gc_group *sl__gc_group_get(sl_group_coord *gc, sl_slice id)
{
    gc_group *g = sl__gc_group_find(gc, id);
    if (g) return g;
    g = sl_calloc(1, sizeof *g);
    g->gc = gc;
    g->id = sl_slice_dup(id);
    g->id_len = id.len;
    g->state = GC_EMPTY;
    g->state_ts = sl_now_ms();
    uv_timer_init(gc->loop, &g->timer);
    g->timer.data = g;
    gc->handles++;
    sl__gc_map_insert(&gc->groups, &g->node, sl__gc_hash(gc->seed, id.ptr, id.len));
    return g;
}

void sl__gc_maybe_free(sl_group_coord *gc)
{
    if (!gc->closing || gc->handles || gc->inflight || gc->log_state == GC_LOG_COMPACTING) return;
    if (gc->fd >= 0) close(gc->fd);
    sl__gc_map_free(&gc->groups);
    sl_free(gc->data_dir);
    sl_free(gc->dir);
    sl_free(gc->log_path);
    sl_free(gc);
}

static void group_closed(uv_handle_t *h)
{
    gc_group *g = h->data;
    sl_group_coord *gc = g->gc;
    sl__gc_offsets_free(g);
    sl__gc_map_free(&g->offsets);
    sl_free(g->members);
    sl_free(g->pending);
    sl_free(g->protocol_type);
    sl_free(g->protocol);
    sl_free(g->id);
    sl_free(g);
    gc->handles--;
    sl__gc_maybe_free(gc);
}

bool sl__gc_group_reap(gc_group *g)
{
    if (g->state != GC_EMPTY || g->nmembers || g->npending || g->offsets.count || g->inflight)
        return false;
    SL_DEBUG(GC_LOG_TAG, "group %s is dead: no members and no committed offsets", g->id);
    sl__gc_map_remove(&g->gc->groups, &g->node);
    uv_close((uv_handle_t *)&g->timer, group_closed);
    return true;
}

static void set_state(gc_group *g, gc_state s)
{
    gc_state old = g->state;
    g->state = s;
    g->state_ts = sl_now_ms();
    /* Offsets of an Empty consumer group expire counting from when it emptied: persist the
     * moments it enters and leaves Empty so a restart keeps that clock. */
    if ((s == GC_EMPTY) != (old == GC_EMPTY) && g->protocol_type) sl__gc_log_group(g->gc, g);
}

static void member_closed(uv_handle_t *h)
{
    gc_member *m = h->data;
    sl_group_coord *gc = m->gc;
    for (size_t i = 0; i < m->nprotos; i++) {
        sl_free(m->protos[i].name);
        sl_free(m->protos[i].meta);
    }
    sl_free(m->protos);
    sl_buf_free(&m->assignment);
    sl_free(m->id);
    sl_free(m->instance_id);
    sl_free(m->client_id);
    sl_free(m->client_host);
    sl_free(m);
    gc->handles--;
    sl__gc_maybe_free(gc);
}

static void member_update(gc_member *m, const gc_join_req *rq)
{
    for (size_t i = 0; i < m->nprotos; i++) {
        sl_free(m->protos[i].name);
        sl_free(m->protos[i].meta);
    }
    sl_free(m->protos);
    m->nprotos = rq->nprotocols;
    m->protos = sl_calloc(rq->nprotocols, sizeof *m->protos);
    for (size_t i = 0; i < rq->nprotocols; i++) {
        m->protos[i].name = sl_slice_dup(rq->protocols[i].name);
        m->protos[i].meta_len = rq->protocols[i].metadata.len;
        m->protos[i].meta = sl_malloc(m->protos[i].meta_len);
        if (m->protos[i].meta_len)
            memcpy(m->protos[i].meta, rq->protocols[i].metadata.ptr, m->protos[i].meta_len);
    }
    sl_free(m->instance_id);
    m->instance_id = rq->instance_id.ptr ? sl_slice_dup(rq->instance_id) : NULL;
    sl_free(m->client_id);
    m->client_id = sl_slice_dup(rq->client_id);
    sl_free(m->client_host);
    m->client_host = sl_slice_dup(rq->client_host);
    m->session_timeout_ms = rq->session_timeout_ms;
    m->rebalance_timeout_ms = rq->rebalance_timeout_ms;
}

static gc_member *member_new(gc_group *g, char *id, const gc_join_req *rq)
{
    gc_member *m = sl_calloc(1, sizeof *m);
    m->g = g;
    m->gc = g->gc;
    m->id = id;
    member_update(m, rq);
    uv_timer_init(g->gc->loop, &m->timer);
    m->timer.data = m;
    g->gc->handles++;
    return m;
}

void sl__gc_member_touch(gc_member *m)
{
    uv_timer_start(&m->timer, on_session_timeout, (uint64_t)m->session_timeout_ms, 0);
}

static void push(gc_member ***arr, size_t *n, size_t *cap, gc_member *m)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = sl_realloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*n)++] = m;
}

static void unlink_from(gc_member **arr, size_t *n, gc_member *m)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == m) {
            memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
            (*n)--;
            return;
        }
    }
}

static gc_member *find_in(gc_member **arr, size_t n, sl_slice id)
{
    /* Linear: groups are small, and join order must be kept for leader choice anyway. */
    for (size_t i = 0; i < n; i++)
        if (slice_is(id, arr[i]->id)) return arr[i];
    return NULL;
}

gc_member *sl__gc_member_find(gc_group *g, sl_slice id)
{
    return find_in(g->members, g->nmembers, id);
}

static void join_reply_error(gc_join_cb cb, void *arg, int16_t err, const char *member_id)
{
    gc_join_res r = {.error = err, .generation = -1, .leader = "", .member_id = member_id};
    cb(arg, &r);
}

static void join_complete(gc_member *m, const gc_join_res *res)
{
    gc_join_cb cb = m->join_cb;
    if (!cb) return;
    m->join_cb = NULL;
    cb(m->join_arg, res);
}

static void join_fail_member(gc_member *m, int16_t err)
{
    if (!m->join_cb) return;
    gc_join_cb cb = m->join_cb;
    m->join_cb = NULL;
    join_reply_error(cb, m->join_arg, err, m->id);
}

static void sync_complete(gc_member *m, int16_t err, sl_slice assignment)
{
    gc_sync_cb cb = m->sync_cb;
    if (!cb) return;
    m->sync_cb = NULL;
    cb(m->sync_arg, err, assignment);
}

/* Unlinks m from its group, answering whatever it still waits for with err, and frees it. */
static void member_remove(gc_group *g, gc_member *m, int16_t err)
{
    join_fail_member(m, err);
    sync_complete(m, err, SL_SLICE_NULL);
    if (m->pending) {
        unlink_from(g->pending, &g->npending, m);
    } else {
        unlink_from(g->members, &g->nmembers, m);
        if (g->leader == m) g->leader = g->nmembers ? g->members[0] : NULL;
    }
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, member_closed);
}

/* A leave, an expiry or a replaced static member: drop it; the rest of the group rebalances. */
static void remove_member_and_update(gc_group *g, gc_member *m, int16_t err)
{
    member_remove(g, m, err);
    switch (g->state) {
    case GC_STABLE:
    case GC_COMPLETING: prepare_rebalance(g); break;
    case GC_PREPARING: try_complete_join(g); break;
    case GC_EMPTY:
    case GC_DEAD: break;
    }
}

static void on_session_timeout(uv_timer_t *t)
{
    gc_member *m = t->data;
    gc_group *g = m->g;
    if (m->pending) {
        SL_DEBUG(GC_LOG_TAG, "group %s: pending member %s did not rejoin within %d ms", g->id,
                 m->id, m->session_timeout_ms);
        member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
        try_complete_join(g);
        return;
    }
    /* A member waiting on a join or sync response cannot heartbeat: it stays alive. */
    if (m->join_cb || m->sync_cb) {
        sl__gc_member_touch(m);
        return;
    }
    SL_INFO(GC_LOG_TAG, "group %s: member %s expired after %d ms without a heartbeat", g->id, m->id,
            m->session_timeout_ms);
    g->gc->stats.expired_members++;
    remove_member_and_update(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
}

static int32_t rebalance_timeout(const gc_group *g)
{
    int32_t t = 0;
    for (size_t i = 0; i < g->nmembers; i++)
        t = SL_MAX(t, g->members[i]->rebalance_timeout_ms);
    return t;
}

static void prepare_rebalance(gc_group *g)
{
    sl_group_coord *gc = g->gc;
    if (g->state == GC_COMPLETING) {
        for (size_t i = 0; i < g->nmembers; i++) {
            sl_buf_reset(&g->members[i]->assignment);
            sync_complete(g->members[i], KAFKA_ERR_REBALANCE_IN_PROGRESS, SL_SLICE_NULL);
        }
    }
    for (size_t i = 0; i < g->nmembers; i++)
        g->members[i]->awaiting_sync = false;
    uv_timer_stop(&g->timer);
    bool was_empty = g->state == GC_EMPTY;
    set_state(g, GC_PREPARING);
    int64_t rt = rebalance_timeout(g);
    SL_DEBUG(GC_LOG_TAG, "group %s: preparing rebalance of generation %d", g->id, g->generation);
    if (was_empty) {
        /* Kafka's InitialDelayedJoin: give other members of a new group a moment to arrive,
         * extending while they keep coming, within the rebalance timeout. */
        int64_t d = gc->opts.initial_rebalance_delay_ms;
        g->timer_kind = GC_TIMER_INITIAL;
        g->new_member_added = false;
        g->delay_remaining = SL_MAX(rt - d, 0);
        uv_timer_start(&g->timer, on_group_timer, (uint64_t)d, 0);
    } else {
        g->timer_kind = GC_TIMER_JOIN;
        uv_timer_start(&g->timer, on_group_timer, (uint64_t)rt, 0);
        try_complete_join(g);
    }
}

static void maybe_prepare_rebalance(gc_group *g)
{
    if (g->state == GC_STABLE || g->state == GC_COMPLETING || g->state == GC_EMPTY)
        prepare_rebalance(g);
}

static bool member_supports(const gc_member *m, const char *name)
{
    for (size_t i = 0; i < m->nprotos; i++)
        if (!strcmp(m->protos[i].name, name)) return true;
    return false;
}

static sl_slice member_metadata(const gc_member *m, const char *protocol)
{
    for (size_t i = 0; protocol && i < m->nprotos; i++)
        if (!strcmp(m->protos[i].name, protocol))
            return (sl_slice){m->protos[i].meta, m->protos[i].meta_len};
    return (sl_slice){(const uint8_t *)"", 0};
}

/* Kafka's vote: among the protocols every member supports, each member votes for the first
 * in its own order of preference; the most votes wins (ties go to the first member's order). */
static char *select_protocol(const gc_group *g)
{
    const gc_member *first = g->members[0];
    const char **cand = sl_calloc(first->nprotos, sizeof *cand);
    size_t *votes = sl_calloc(first->nprotos, sizeof *votes);
    size_t nc = 0;
    for (size_t i = 0; i < first->nprotos; i++) {
        bool all = true;
        for (size_t j = 1; j < g->nmembers && all; j++)
            all = member_supports(g->members[j], first->protos[i].name);
        if (all) cand[nc++] = first->protos[i].name;
    }
    for (size_t j = 0; j < g->nmembers; j++) {
        const gc_member *m = g->members[j];
        bool voted = false;
        for (size_t i = 0; i < m->nprotos && !voted; i++) {
            for (size_t c = 0; c < nc; c++) {
                if (!strcmp(m->protos[i].name, cand[c])) {
                    votes[c]++;
                    voted = true;
                    break;
                }
            }
        }
    }
    /* Joins are validated so that a common protocol exists; the fallback is defensive. */
    const char *best = nc ? cand[0] : first->protos[0].name;
    size_t best_votes = nc ? votes[0] : 0;
    for (size_t c = 1; c < nc; c++) {
        if (votes[c] > best_votes) {
            best = cand[c];
            best_votes = votes[c];
        }
    }
    char *r = sl_strdup(best);
    sl_free(cand);
    sl_free(votes);
    return r;
}

static gc_join_member *member_list(const gc_group *g)
{
    gc_join_member *list = sl_calloc(g->nmembers, sizeof *list);
    for (size_t i = 0; i < g->nmembers; i++) {
        const gc_member *m = g->members[i];
        list[i].member_id = m->id;
        list[i].instance_id = m->instance_id;
        list[i].metadata = member_metadata(m, g->protocol);
    }
    return list;
}

static void complete_join(gc_group *g)
{
    sl_group_coord *gc = g->gc;
    uv_timer_stop(&g->timer);
    g->timer_kind = GC_TIMER_NONE;
    for (size_t i = 0; i < g->nmembers;) {
        gc_member *m = g->members[i];
        if (m->join_cb) {
            i++;
            continue;
        }
        SL_INFO(GC_LOG_TAG, "group %s: member %s removed: it did not rejoin within %d ms", g->id,
                m->id, rebalance_timeout(g));
        gc->stats.expired_members++;
        member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    }
    g->generation++;
    sl_free(g->protocol);
    g->protocol = NULL;
    if (!g->nmembers) {
        set_state(g, GC_EMPTY);
        SL_INFO(GC_LOG_TAG, "group %s is empty at generation %d", g->id, g->generation);
        return;
    }
    g->protocol = select_protocol(g);
    set_state(g, GC_COMPLETING);
    gc->stats.rebalances++;
    SL_INFO(GC_LOG_TAG, "group %s: generation %d with %zu member(s), protocol %s, leader %s", g->id,
            g->generation, g->nmembers, g->protocol, g->leader->id);
    gc_join_member *list = member_list(g);
    for (size_t i = 0; i < g->nmembers; i++) {
        gc_member *m = g->members[i];
        gc_join_res res = {
            .error = KAFKA_ERR_NONE,
            .generation = g->generation,
            .protocol = g->protocol,
            .leader = g->leader->id,
            .member_id = m->id,
            .nmembers = m == g->leader ? g->nmembers : 0,
            .members = list,
        };
        m->awaiting_sync = true;
        join_complete(m, &res);
        sl__gc_member_touch(m);
    }
    sl_free(list);
    /* Members that never send their SyncGroup are removed after the rebalance timeout. */
    g->timer_kind = GC_TIMER_SYNC;
    uv_timer_start(&g->timer, on_group_timer, (uint64_t)rebalance_timeout(g), 0);
}

static void try_complete_join(gc_group *g)
{
    if (g->state != GC_PREPARING || g->timer_kind != GC_TIMER_JOIN || g->npending) return;
    for (size_t i = 0; i < g->nmembers; i++)
        if (!g->members[i]->join_cb) return;
    complete_join(g);
}

static void sync_expired(gc_group *g)
{
    if (g->state != GC_COMPLETING && g->state != GC_STABLE) return;
    bool removed = false;
    for (size_t i = 0; i < g->nmembers;) {
        gc_member *m = g->members[i];
        if (!m->awaiting_sync) {
            i++;
            continue;
        }
        SL_INFO(GC_LOG_TAG, "group %s: member %s removed: no SyncGroup within %d ms", g->id, m->id,
                rebalance_timeout(g));
        g->gc->stats.expired_members++;
        member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
        removed = true;
    }
    if (removed) prepare_rebalance(g);
}

static void on_group_timer(uv_timer_t *t)
{
    gc_group *g = t->data;
    switch (g->timer_kind) {
    case GC_TIMER_INITIAL:
        if (g->new_member_added && g->delay_remaining > 0) {
            int64_t d = SL_MIN((int64_t)g->gc->opts.initial_rebalance_delay_ms, g->delay_remaining);
            g->new_member_added = false;
            g->delay_remaining -= d;
            uv_timer_start(&g->timer, on_group_timer, (uint64_t)d, 0);
            return;
        }
        complete_join(g);
        break;
    case GC_TIMER_JOIN: complete_join(g); break;
    case GC_TIMER_SYNC:
        g->timer_kind = GC_TIMER_NONE;
        sync_expired(g);
        break;
    case GC_TIMER_NONE: break;
    }
}

/* Kafka's supportsProtocols: a first member needs a type and protocols; later ones must match
 * the type and share a protocol with every other member. */
static bool protocols_ok(const gc_group *g, const gc_member *self, const gc_join_req *rq)
{
    if (!rq->protocol_type.len || !rq->nprotocols) return false;
    size_t others = g->nmembers - (self ? 1 : 0);
    if (!others) return true;
    if (!slice_is(rq->protocol_type, g->protocol_type)) return false;
    for (size_t p = 0; p < rq->nprotocols; p++) {
        char *name = sl_slice_dup(rq->protocols[p].name);
        bool all = true;
        for (size_t i = 0; i < g->nmembers && all; i++)
            if (g->members[i] != self) all = member_supports(g->members[i], name);
        sl_free(name);
        if (all) return true;
    }
    return false;
}

static bool same_protocols(const gc_member *m, const gc_join_req *rq)
{
    if (m->nprotos != rq->nprotocols) return false;
    for (size_t i = 0; i < m->nprotos; i++) {
        const gc_protocol_in *p = &rq->protocols[i];
        if (!slice_is(p->name, m->protos[i].name) || p->metadata.len != m->protos[i].meta_len ||
            (p->metadata.len && memcmp(p->metadata.ptr, m->protos[i].meta, p->metadata.len)))
            return false;
    }
    return true;
}

/* "<client_id>-<uuid4>", as Kafka names members. */
static char *new_member_id(sl_slice client_id)
{
    uint8_t u[16];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
        uint64_t a = sl_mono_ns(), b = (uint64_t)sl_now_ms() ^ (uint64_t)(uintptr_t)u;
        memcpy(u, &a, 8);
        memcpy(u + 8, &b, 8);
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    sl_buf b = SL_BUF_INIT;
    if (client_id.len) sl_buf_append(&b, client_id.ptr, client_id.len);
    sl_buf_printf(&b, "-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                  u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                  u[14], u[15]);
    char *id = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    return id;
}

static void add_member(gc_group *g, gc_member *m, const gc_join_req *rq, gc_join_cb cb, void *arg)
{
    if (!g->nmembers) {
        sl_free(g->protocol_type);
        g->protocol_type = sl_slice_dup(rq->protocol_type);
    }
    push(&g->members, &g->nmembers, &g->members_cap, m);
    if (!g->leader) g->leader = m;
    m->join_cb = cb;
    m->join_arg = arg;
    sl__gc_member_touch(m);
    g->new_member_added = true;
    SL_DEBUG(GC_LOG_TAG, "group %s: member %s (client %s, %s) joined", g->id, m->id, m->client_id,
             m->client_host);
    maybe_prepare_rebalance(g);
}

static void update_member_and_rebalance(gc_group *g, gc_member *m, const gc_join_req *rq,
                                        gc_join_cb cb, void *arg)
{
    /* A second join while one waits: the older is almost surely from a dead connection. */
    join_fail_member(m, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    member_update(m, rq);
    m->join_cb = cb;
    m->join_arg = arg;
    sl__gc_member_touch(m);
    maybe_prepare_rebalance(g);
}

static void reply_current(gc_group *g, gc_member *m, gc_join_cb cb, void *arg)
{
    gc_join_member *list = m == g->leader ? member_list(g) : NULL;
    gc_join_res res = {
        .error = KAFKA_ERR_NONE,
        .generation = g->generation,
        .protocol = g->protocol,
        .leader = g->leader->id,
        .member_id = m->id,
        .nmembers = list ? g->nmembers : 0,
        .members = list,
    };
    sl__gc_member_touch(m);
    cb(arg, &res);
    sl_free(list);
}

static void join_new(gc_group *g, const gc_join_req *rq, gc_join_cb cb, void *arg)
{
    /* Static membership, simplified: a new join with a live member's instance id replaces
     * that member (fencing it) instead of restoring its identity. */
    if (rq->instance_id.ptr) {
        for (size_t i = 0; i < g->nmembers; i++) {
            gc_member *old = g->members[i];
            if (old->instance_id && slice_is(rq->instance_id, old->instance_id)) {
                SL_INFO(GC_LOG_TAG, "group %s: instance %s rejoined; replacing member %s", g->id,
                        old->instance_id, old->id);
                remove_member_and_update(g, old, KAFKA_ERR_FENCED_INSTANCE_ID);
                break;
            }
        }
    }
    if (!protocols_ok(g, NULL, rq)) {
        join_reply_error(cb, arg, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, "");
        return;
    }
    char *id = new_member_id(rq->client_id);
    gc_member *m = member_new(g, id, rq);
    /* KIP-394: a dynamic member first gets its id, and joins for real with it, so a client
     * that times out mid-join does not leave an orphan member behind. */
    if (rq->require_known_member && !rq->instance_id.ptr) {
        m->pending = true;
        push(&g->pending, &g->npending, &g->pending_cap, m);
        sl__gc_member_touch(m);
        join_reply_error(cb, arg, KAFKA_ERR_MEMBER_ID_REQUIRED, m->id);
        return;
    }
    add_member(g, m, rq, cb, arg);
}

static void join_known(gc_group *g, const gc_join_req *rq, gc_join_cb cb, void *arg,
                       const char *req_id)
{
    gc_member *m = find_in(g->pending, g->npending, rq->member_id);
    if (m) {
        if (!protocols_ok(g, NULL, rq)) {
            join_reply_error(cb, arg, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, req_id);
            return;
        }
        unlink_from(g->pending, &g->npending, m);
        m->pending = false;
        member_update(m, rq);
        add_member(g, m, rq, cb, arg);
        return;
    }
    m = sl__gc_member_find(g, rq->member_id);
    if (!m) {
        join_reply_error(cb, arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, req_id);
        return;
    }
    if (!protocols_ok(g, m, rq)) {
        join_reply_error(cb, arg, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL, req_id);
        return;
    }
    switch (g->state) {
    case GC_PREPARING: update_member_and_rebalance(g, m, rq, cb, arg); break;
    case GC_COMPLETING:
        /* The member lost our join response: send it again unless its metadata changed. */
        if (same_protocols(m, rq))
            reply_current(g, m, cb, arg);
        else
            update_member_and_rebalance(g, m, rq, cb, arg);
        break;
    case GC_STABLE:
        /* A leader's rejoin means it wants a new assignment (e.g. its subscription's
         * topics gained partitions); a follower's unchanged rejoin needs none. */
        if (m == g->leader || !same_protocols(m, rq))
            update_member_and_rebalance(g, m, rq, cb, arg);
        else
            reply_current(g, m, cb, arg);
        break;
    case GC_EMPTY:
    case GC_DEAD: join_reply_error(cb, arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, req_id); break;
    }
}

void sl__gc_join(sl_group_coord *gc, const gc_join_req *rq, gc_join_cb cb, void *arg)
{
    char *req_id = sl_slice_dup(rq->member_id);
    gc_group *g = NULL;
    if (gc->stopping) {
        join_reply_error(cb, arg, KAFKA_ERR_NOT_COORDINATOR, req_id);
    } else if (!rq->group_id.len) {
        join_reply_error(cb, arg, KAFKA_ERR_INVALID_GROUP_ID, req_id);
    } else if (rq->session_timeout_ms < gc->opts.min_session_timeout_ms ||
               rq->session_timeout_ms > gc->opts.max_session_timeout_ms) {
        join_reply_error(cb, arg, KAFKA_ERR_INVALID_SESSION_TIMEOUT, req_id);
    } else if (!(g = sl__gc_group_find(gc, rq->group_id)) && rq->member_id.len) {
        join_reply_error(cb, arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, req_id);
    } else {
        if (!g) g = sl__gc_group_get(gc, rq->group_id);
        if (rq->member_id.len)
            join_known(g, rq, cb, arg, req_id);
        else
            join_new(g, rq, cb, arg);
        try_complete_join(g);
    }
    sl_free(req_id);
}

void sl__gc_sync(sl_group_coord *gc, const gc_sync_req *rq, gc_sync_cb cb, void *arg)
{
    gc_group *g = gc->stopping ? NULL : sl__gc_group_find(gc, rq->group_id);
    gc_member *m = g ? sl__gc_member_find(g, rq->member_id) : NULL;
    if (gc->stopping) {
        cb(arg, KAFKA_ERR_NOT_COORDINATOR, SL_SLICE_NULL);
        return;
    }
    if (!m) {
        cb(arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, SL_SLICE_NULL);
        return;
    }
    if (rq->generation != g->generation) {
        cb(arg, KAFKA_ERR_ILLEGAL_GENERATION, SL_SLICE_NULL);
        return;
    }
    switch (g->state) {
    case GC_EMPTY:
    case GC_DEAD: cb(arg, KAFKA_ERR_UNKNOWN_MEMBER_ID, SL_SLICE_NULL); return;
    case GC_PREPARING: cb(arg, KAFKA_ERR_REBALANCE_IN_PROGRESS, SL_SLICE_NULL); return;
    case GC_STABLE:
        m->awaiting_sync = false;
        sl__gc_member_touch(m);
        cb(arg, KAFKA_ERR_NONE, sl_buf_slice(&m->assignment));
        break;
    case GC_COMPLETING:
        sync_complete(m, KAFKA_ERR_REBALANCE_IN_PROGRESS, SL_SLICE_NULL);
        m->sync_cb = cb;
        m->sync_arg = arg;
        m->awaiting_sync = false;
        sl__gc_member_touch(m);
        if (m != g->leader) return;
        for (size_t i = 0; i < g->nmembers; i++) {
            gc_member *x = g->members[i];
            const gc_assignment_in *a = NULL;
            for (size_t j = 0; j < rq->nassignments && !a; j++)
                if (slice_is(rq->assignments[j].member_id, x->id)) a = &rq->assignments[j];
            sl_buf_reset(&x->assignment);
            if (a && a->assignment.len)
                sl_buf_append(&x->assignment, a->assignment.ptr, a->assignment.len);
            if (!a)
                SL_WARN(GC_LOG_TAG, "group %s: leader %s sent no assignment for member %s", g->id,
                        m->id, x->id);
        }
        set_state(g, GC_STABLE);
        SL_DEBUG(GC_LOG_TAG, "group %s: generation %d is stable", g->id, g->generation);
        for (size_t i = 0; i < g->nmembers; i++)
            sync_complete(g->members[i], KAFKA_ERR_NONE, sl_buf_slice(&g->members[i]->assignment));
        break;
    }
    for (size_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->awaiting_sync) return;
    if (g->timer_kind == GC_TIMER_SYNC) {
        uv_timer_stop(&g->timer);
        g->timer_kind = GC_TIMER_NONE;
    }
}

int16_t sl__gc_heartbeat(sl_group_coord *gc, sl_slice group_id, sl_slice member_id,
                         int32_t generation)
{
    if (gc->stopping) return KAFKA_ERR_NOT_COORDINATOR;
    gc_group *g = sl__gc_group_find(gc, group_id);
    gc_member *m = g ? sl__gc_member_find(g, member_id) : NULL;
    if (!m) return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation) return KAFKA_ERR_ILLEGAL_GENERATION;
    sl__gc_member_touch(m);
    /* Members learn of a rebalance from their heartbeat, and rejoin. */
    return g->state == GC_PREPARING ? KAFKA_ERR_REBALANCE_IN_PROGRESS : KAFKA_ERR_NONE;
}

int16_t sl__gc_leave(sl_group_coord *gc, sl_slice group_id, sl_slice member_id,
                     sl_slice instance_id, int16_t *member_err)
{
    *member_err = KAFKA_ERR_UNKNOWN_MEMBER_ID;
    if (gc->stopping) return KAFKA_ERR_NOT_COORDINATOR;
    gc_group *g = sl__gc_group_find(gc, group_id);
    if (!g) return KAFKA_ERR_NONE;
    gc_member *m = NULL;
    if (member_id.len) {
        m = find_in(g->pending, g->npending, member_id);
        if (m) {
            member_remove(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
            try_complete_join(g);
            *member_err = KAFKA_ERR_NONE;
            return KAFKA_ERR_NONE;
        }
        m = sl__gc_member_find(g, member_id);
    } else if (instance_id.ptr) {
        for (size_t i = 0; i < g->nmembers && !m; i++)
            if (g->members[i]->instance_id && slice_is(instance_id, g->members[i]->instance_id))
                m = g->members[i];
    }
    if (!m) return KAFKA_ERR_NONE;
    SL_INFO(GC_LOG_TAG, "group %s: member %s left", g->id, m->id);
    remove_member_and_update(g, m, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    *member_err = KAFKA_ERR_NONE;
    return KAFKA_ERR_NONE;
}

void sl_group_opts_default(sl_group_opts *o)
{
    memset(o, 0, sizeof *o);
    o->offsets_retention_ms = 7LL * 24 * 3600 * 1000;
    o->offsets_retention_check_ms = 10 * 60 * 1000;
    o->min_session_timeout_ms = 6000;
    o->max_session_timeout_ms = 30 * 60 * 1000;
    o->initial_rebalance_delay_ms = 0;
    o->max_metadata_bytes = 4096;
    o->fsync = true;
}

static void on_cleanup(uv_timer_t *t)
{
    sl__gc_expire(t->data, sl_now_ms());
}

static void cleanup_closed(uv_handle_t *h)
{
    sl_group_coord *gc = h->data;
    gc->handles--;
    sl__gc_maybe_free(gc);
}

/* Answers every waiting request and stops every timer; groups and offsets stay in memory. */
static void stop_groups(sl_group_coord *gc)
{
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        gc_group *g = gc_container_of(n, gc_group, node);
        while (g->nmembers)
            member_remove(g, g->members[0], KAFKA_ERR_NOT_COORDINATOR);
        while (g->npending)
            member_remove(g, g->pending[0], KAFKA_ERR_NOT_COORDINATOR);
        uv_timer_stop(&g->timer);
    }
}

static void close_groups(sl_group_coord *gc)
{
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        gc_group *g = gc_container_of(n, gc_group, node);
        uv_close((uv_handle_t *)&g->timer, group_closed);
    }
    sl__gc_map_free(&gc->groups);
}

int sl_group_coord_create(uv_loop_t *loop, const sl_group_opts *o, sl_flusher *flusher,
                          sl_group_coord **out)
{
    sl_group_coord *gc = sl_calloc(1, sizeof *gc);
    gc->loop = loop;
    gc->opts = *o;
    gc->data_dir = sl_strdup(o->data_dir ? o->data_dir : ".");
    gc->opts.data_dir = gc->data_dir;
    gc->flusher = flusher;
    gc->fd = -1;
    gc->queue_tail = &gc->queue;
    gc->compact_min = 1 << 20;
    if (getrandom(&gc->seed, sizeof gc->seed, 0) != (ssize_t)sizeof gc->seed)
        gc->seed = (uint64_t)sl_mono_ns();
    uv_timer_init(loop, &gc->cleanup_timer);
    gc->cleanup_timer.data = gc;
    gc->handles++;
    int rc = sl__gc_log_open(gc);
    if (rc < 0) {
        /* Handles need the loop to close: memory goes once the caller runs it. */
        gc->stopping = gc->closing = true;
        close_groups(gc);
        uv_close((uv_handle_t *)&gc->cleanup_timer, cleanup_closed);
        return rc;
    }
    uint64_t every = (uint64_t)SL_MAX(o->offsets_retention_check_ms, 1);
    uv_timer_start(&gc->cleanup_timer, on_cleanup, every, every);
    /* Housekeeping alone must not keep a loop alive. */
    uv_unref((uv_handle_t *)&gc->cleanup_timer);
    *out = gc;
    return 0;
}

void sl_group_coord_stop(sl_group_coord *gc)
{
    if (!gc || gc->stopping) return;
    gc->stopping = true;
    stop_groups(gc);
    uv_timer_stop(&gc->cleanup_timer);
    sl__gc_log_stop(gc);
}

void sl_group_coord_close(sl_group_coord *gc)
{
    if (!gc || gc->closing) return;
    sl_group_coord_stop(gc);
    gc->closing = true;
    close_groups(gc);
    uv_close((uv_handle_t *)&gc->cleanup_timer, cleanup_closed);
    sl__gc_maybe_free(gc);
}

static void fill_info(const gc_group *g, sl_group_info *info)
{
    info->group_id = g->id;
    info->state = sl__gc_state_name(g->state);
    info->protocol_type = g->protocol_type ? g->protocol_type : "";
    info->protocol = g->protocol ? g->protocol : "";
    info->generation = g->generation;
    info->leader = g->leader ? g->leader->id : "";
    info->members = g->nmembers;
    info->offsets = g->offsets.count;
}

void sl_group_list(sl_group_coord *gc, void (*fn)(void *arg, const sl_group_info *g), void *arg)
{
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        sl_group_info info;
        fill_info(gc_container_of(n, gc_group, node), &info);
        fn(arg, &info);
    }
}

int sl_group_describe(sl_group_coord *gc, sl_slice group_id, sl_group_info *info,
                      void (*member_fn)(void *arg, const sl_group_member_info *m), void *arg)
{
    gc_group *g = sl__gc_group_find(gc, group_id);
    if (!g) return SL_ERR_NOTFOUND;
    fill_info(g, info);
    for (size_t i = 0; member_fn && i < g->nmembers; i++) {
        const gc_member *m = g->members[i];
        sl_group_member_info mi = {
            .member_id = m->id,
            .instance_id = m->instance_id,
            .client_id = m->client_id,
            .client_host = m->client_host,
            .session_timeout_ms = m->session_timeout_ms,
            .rebalance_timeout_ms = m->rebalance_timeout_ms,
            .metadata = member_metadata(m, g->protocol),
            .assignment = sl_buf_slice(&m->assignment),
        };
        member_fn(arg, &mi);
    }
    return 0;
}

int sl_group_offsets(sl_group_coord *gc, sl_slice group_id,
                     void (*fn)(void *arg, const sl_group_offset_info *o), void *arg)
{
    gc_group *g = sl__gc_group_find(gc, group_id);
    if (!g) return SL_ERR_NOTFOUND;
    size_t n;
    gc_offset **v = sl__gc_offsets_sorted(g, &n);
    for (size_t i = 0; i < n; i++) {
        sl_group_offset_info oi = {
            .topic = v[i]->topic,
            .partition = v[i]->partition,
            .offset = v[i]->offset,
            .leader_epoch = v[i]->leader_epoch,
            .metadata = v[i]->metadata,
            .commit_ts = v[i]->commit_ts,
        };
        fn(arg, &oi);
    }
    sl_free(v);
    return 0;
}

void sl_group_stats_get(sl_group_coord *gc, sl_group_stats *out)
{
    *out = gc->stats;
    out->groups = gc->groups.count;
    out->members = 0;
    GC_MAP_EACH(&gc->groups, n, nx)
    {
        out->members += gc_container_of(n, gc_group, node)->nmembers;
    }
    out->log_bytes = gc->log_bytes;
}
