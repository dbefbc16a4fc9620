/* topics.c: the topic registry, topics.json, per-topic configs and producer ids (topics.h). */
#include "kafka/topics.h"
#include "core/log.h"
#include "kafka/compact.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOPICS_FILE "topics.json"
#define PID_FILE    "producer_ids"
/* Producer ids are reserved this many at a time, so the file is written once per block. */
#define PID_BLOCK 1000
/* Producers idle this long are forgotten (Kafka's producer.id.expiration.ms). */
#define KAFKA_PRODUCER_EXPIRY_MS (24 * 3600 * 1000LL)
/* Bytes appended to a partition before its producer snapshot is saved again. */
#define KAFKA_SNAPSHOT_BYTES (64 << 20)
/* Bytes read per step while replaying batches into producer state. */
#define REPLAY_CHUNK (1 << 20)

struct kafka_topics {
    char *dir;
    const sl_broker_config *bcfg;
    kafka_topic **v; /* creation order */
    size_t n, cap;
    int32_t *hash; /* open addressing: index into v, -1 empty; cap a power of two */
    size_t hcap;
    int64_t next_pid;
    int64_t pid_block_end;
    kafka_topic **creating; /* names reserved by creations in flight (kafka_topics_create_begin) */
    size_t ncreating, ccreating;
    sl_plog_tail_pool tail_pool; /* the logs' in-memory tails */
};

/* The topic configs, sorted by name (the order DescribeConfigs lists them in). */
enum { TCFG_LONG, TCFG_ENUM, TCFG_RATIO /* a fraction in [0, 1], stored in millionths */ };
typedef struct tcfg_def {
    const char *name;
    size_t off;
    int type;
    const char *choices; /* TCFG_ENUM: '|'-separated; the value stored is the index */
    int64_t min, max;
} tcfg_def;

#define OFF(f) offsetof(kafka_topic_cfg, f)
static const tcfg_def tcfg_defs[] = {
    {"cleanup.policy", OFF(cleanup_policy), TCFG_ENUM,
     "delete|compact|compact,delete|delete,compact", 0, 0},
    {"compression.type", OFF(compression_type), TCFG_ENUM, "producer", 0, 0},
    {"delete.retention.ms", OFF(delete_retention_ms), TCFG_LONG, NULL, 0, INT64_MAX},
    {"index.interval.bytes", OFF(index_interval_bytes), TCFG_LONG, NULL, 0, INT32_MAX},
    {"max.message.bytes", OFF(max_message_bytes), TCFG_LONG, NULL, 0, INT32_MAX},
    {"message.timestamp.type", OFF(timestamp_type), TCFG_ENUM, "CreateTime|LogAppendTime", 0, 0},
    {"min.cleanable.dirty.ratio", OFF(min_cleanable_dirty_ratio), TCFG_RATIO, NULL, 0, 1000000},
    {"min.insync.replicas", OFF(min_insync_replicas), TCFG_LONG, NULL, 1, INT32_MAX},
    {"retention.bytes", OFF(retention_bytes), TCFG_LONG, NULL, -1, INT64_MAX},
    {"retention.ms", OFF(retention_ms), TCFG_LONG, NULL, -1, INT64_MAX},
    {"segment.bytes", OFF(segment_bytes), TCFG_LONG, NULL, 14, INT32_MAX},
    {"segment.ms", OFF(segment_ms), TCFG_LONG, NULL, 1, INT64_MAX},
};
#undef OFF

static int64_t *cfg_field(kafka_topic_cfg *c, const tcfg_def *d)
{
    return (int64_t *)((char *)c + d->off);
}

static const tcfg_def *tcfg_find(sl_slice name)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(tcfg_defs); i++)
        if (sl_slice_eq_str(name, tcfg_defs[i].name)) return &tcfg_defs[i];
    return NULL;
}

static void cfg_defaults(const sl_broker_config *b, kafka_topic_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->retention_ms = b->retention_ms;
    c->retention_bytes = b->retention_bytes;
    c->segment_bytes = b->segment_bytes;
    c->segment_ms = b->segment_ms;
    c->max_message_bytes = 1048588; /* Kafka's default message.max.bytes */
    c->index_interval_bytes = 4096;
    c->min_insync_replicas = 1;
    c->delete_retention_ms = 86400000; /* Kafka's defaults: 1 day, 0.5 */
    c->min_cleanable_dirty_ratio = 500000;
}

/* The index of value among '|'-separated choices, or -1. */
static int choice_index(const char *choices, sl_slice value)
{
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == value.len && !memcmp(p, value.ptr, len)) return i;
        if (!bar) return -1;
        p = bar + 1;
    }
}

static void choice_text(const char *choices, int64_t idx, char *out, size_t outlen)
{
    const char *p = choices;
    for (int64_t i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) p = "";
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len >= outlen) len = outlen - 1;
    memcpy(out, p, len);
    out[len] = 0;
}

/* Parses one config value into c; on failure writes Kafka-style reason text into msg. */
static int cfg_set(kafka_topic_cfg *c, sl_slice name, sl_slice value, char *msg, size_t msglen)
{
    const tcfg_def *d = tcfg_find(name);
    if (!d) {
        snprintf(msg, msglen, "Unknown topic config name: %.*s", (int)SL_MIN(name.len, 200),
                 (const char *)name.ptr);
        return SL_ERR_INVAL;
    }
    if (d->type == TCFG_ENUM) {
        int i = choice_index(d->choices, value);
        if (i < 0) {
            snprintf(msg, msglen, "Invalid value %.*s for configuration %s: supported: %s",
                     (int)SL_MIN(value.len, 100), (const char *)value.ptr, d->name, d->choices);
            return SL_ERR_INVAL;
        }
        *cfg_field(c, d) = i;
        return 0;
    }
    char tmp[32];
    char *end;
    if (value.len == 0 || value.len >= sizeof(tmp)) goto bad;
    memcpy(tmp, value.ptr, value.len);
    tmp[value.len] = 0;
    errno = 0;
    if (d->type == TCFG_RATIO) {
        double f = strtod(tmp, &end);
        if (errno || *end || !(f >= 0 && f <= 1)) {
            snprintf(msg, msglen, "Invalid value %s for configuration %s: must be in [0, 1]", tmp,
                     d->name);
            return SL_ERR_INVAL;
        }
        *cfg_field(c, d) = (int64_t)(f * 1e6 + 0.5);
        return 0;
    }
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end || v < d->min || v > d->max) goto bad;
    *cfg_field(c, d) = v;
    return 0;
bad:
    snprintf(msg, msglen,
             "Invalid value %.*s for configuration %s: must be a number in [%" PRId64 ", %" PRId64
             "]",
             (int)SL_MIN(value.len, 100), (const char *)value.ptr, d->name, d->min, d->max);
    return SL_ERR_INVAL;
}

bool kafka_topic_name_valid(sl_slice name)
{
    if (!name.ptr || name.len == 0 || name.len > KAFKA_TOPIC_MAX_NAME) return false;
    if (sl_slice_eq_str(name, ".") || sl_slice_eq_str(name, "..")) return false;
    for (size_t i = 0; i < name.len; i++) {
        uint8_t ch = name.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static uint64_t name_hash(sl_slice s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ s.ptr[i]) * 1099511628211ull;
    return h;
}

static void hash_rebuild(kafka_topics *t)
{
    size_t cap = 16;
    while (cap < t->n * 2 + 2)
        cap *= 2;
    sl_free(t->hash);
    t->hash = sl_malloc(cap * sizeof(int32_t));
    for (size_t i = 0; i < cap; i++)
        t->hash[i] = -1;
    t->hcap = cap;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = name_hash(SL_SLICE_STR(t->v[i]->name)) & (cap - 1);
        while (t->hash[h] != -1)
            h = (h + 1) & (cap - 1);
        t->hash[h] = (int32_t)i;
    }
}

kafka_topic *kafka_topics_find_any(kafka_topics *t, sl_slice name)
{
    if (!name.ptr) return NULL;
    for (size_t h = name_hash(name) & (t->hcap - 1); t->hash[h] != -1;
         h = (h + 1) & (t->hcap - 1)) {
        kafka_topic *tp = t->v[t->hash[h]];
        if (sl_slice_eq_str(name, tp->name)) return tp;
    }
    return NULL;
}

kafka_topic *kafka_topics_find(kafka_topics *t, sl_slice name)
{
    kafka_topic *tp = kafka_topics_find_any(t, name);
    return tp && !tp->deleting ? tp : NULL;
}

kafka_partition *kafka_topics_partition(kafka_topics *t, sl_slice topic, int32_t index)
{
    kafka_topic *tp = kafka_topics_find(t, topic);
    if (!tp || index < 0 || index >= tp->nparts) return NULL;
    return &tp->parts[index];
}

size_t kafka_topics_count(const kafka_topics *t)
{
    return t->n;
}
kafka_topic *kafka_topics_at(kafka_topics *t, size_t i)
{
    return i < t->n ? t->v[i] : NULL;
}

/* Writes data to DIR/name atomically: a temp file, fdatasync, rename, directory fsync. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int rc = sl_write_file_atomic(path, data, len, 0644, true);
    if (rc) SL_ERROR("kafka", "writing %s: %s", path, sl_strerror(rc));
    return rc;
}

static int topics_save(kafka_topics *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < t->n; i++) {
        kafka_topic *tp = t->v[i];
        if (tp->deleting) continue;
        json_t *cfgs = json_object();
        for (size_t j = 0; j < tp->nover; j++)
            json_object_set_new(cfgs, tp->over_keys[j], json_string(tp->over_vals[j]));
        json_array_append_new(arr, json_pack("{s:s, s:i, s:o}", "name", tp->name, "partitions",
                                             (json_int_t)tp->nparts, "configs", cfgs));
    }
    json_t *root = json_pack("{s:i, s:o}", "version", 1, "topics", arr);
    char *text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    int rc = write_atomic(t->dir, TOPICS_FILE, text, strlen(text));
    free(text);
    return rc;
}

static void pstate_rebuild(kafka_partition *p)
{
    int64_t snap = -1;
    int64_t start = sl_plog_start_offset(p->log), end = sl_plog_end_offset(p->log);
    int rc = kafka_pstate_load(p->pstate, p->dir, &snap);
    if (rc == 0 && snap > end) {
        SL_WARN("kafka",
                "%s: producer snapshot at offset %" PRId64 " is past the log end %" PRId64
                "; rebuilding from the log",
                p->dir, snap, end);
        rc = SL_ERR_CORRUPT;
    }
    if (rc) {
        kafka_pstate_free(p->pstate);
        p->pstate = kafka_pstate_new();
        snap = start;
    }
    int64_t off = SL_MAX(snap, start);
    p->snap_offset = snap;
    int64_t now = sl_now_ms();
    sl_buf b = SL_BUF_INIT;
    size_t replayed = 0;
    while (off < end) {
        sl_buf_reset(&b);
        if (sl_plog_read(p->log, off, REPLAY_CHUNK, &b) || b.len == 0) break;
        size_t pos = 0;
        int64_t before = off;
        kafka_batch_hdr h;
        while (kafka_batch_hdr_parse(b.ptr + pos, b.len - pos, &h) == 0 && h.length >= 0 &&
               (size_t)h.length + KAFKA_BATCH_LOG_OVERHEAD <= b.len - pos) {
            int64_t last = h.base_offset + h.last_offset_delta;
            if (last >= off) {
                kafka_pstate_update(p->pstate, &h, h.base_offset, now);
                replayed++;
                off = last + 1;
            }
            pos += (size_t)h.length + KAFKA_BATCH_LOG_OVERHEAD;
        }
        if (off == before) break;
    }
    sl_buf_free(&b);
    if (replayed) {
        p->pstate_dirty = true;
        SL_INFO("kafka", "%s: replayed %zu batches after the producer snapshot", p->dir, replayed);
    }
}

static void plog_opts(kafka_topics *t, const kafka_topic_cfg *c, sl_plog_opts *o)
{
    sl_plog_opts_default(o);
    o->tail_pool = &t->tail_pool;
    o->segment_bytes = c->segment_bytes;
    o->segment_ms = c->segment_ms;
    o->retention_ms = c->retention_ms;
    o->retention_bytes = c->retention_bytes;
    o->index_interval = (int32_t)c->index_interval_bytes;
    o->cache_keep = t->bcfg->page_cache_keep;
}

static void topic_free(kafka_topic *tp)
{
    for (size_t j = 0; j < tp->nover; j++) {
        sl_free(tp->over_keys[j]);
        sl_free(tp->over_vals[j]);
    }
    sl_free(tp->over_keys);
    sl_free(tp->over_vals);
    if (tp->parts)
        for (int32_t i = 0; i < tp->nparts; i++) {
            sl_free(tp->parts[i].dir);
            kafka_pstate_free(tp->parts[i].pstate);
        }
    sl_free(tp->parts);
    sl_free(tp->name);
    sl_free(tp);
}

static void unlink_snapshots(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/producer.snapshot", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/producer.snapshot.tmp", dir);
    unlink(path);
}

/* Gives tp its partitions (directories named, logs not open yet). */
static void topic_prepare(kafka_topics *t, kafka_topic *tp)
{
    tp->parts = sl_calloc((size_t)tp->nparts, sizeof(kafka_partition));
    for (int32_t i = 0; i < tp->nparts; i++) {
        kafka_partition *p = &tp->parts[i];
        p->topic = tp;
        p->index = i;
        size_t n = strlen(t->dir) + strlen(tp->name) + 16;
        p->dir = sl_malloc(n);
        snprintf(p->dir, n, "%s/%s-%d", t->dir, tp->name, i);
    }
}

/* Opens partitions [from, to) of tp. A new topic (fresh) starts empty: a directory left behind
 * by an earlier topic of that name is wiped first. Its directories are made here without the
 * parent sync sl_plog_open would do, as topics.json's write syncs the data dir afterwards. On
 * failure the logs this call opened are closed, or destroyed for a new topic. */
static int topic_open_range(kafka_topics *t, kafka_topic *tp, int32_t from, int32_t to, bool fresh)
{
    sl_plog_opts o;
    plog_opts(t, &tp->cfg, &o);
    for (int32_t i = from; i < to; i++) {
        kafka_partition *p = &tp->parts[i];
        int rc = 0;
        if (fresh) {
            unlink_snapshots(p->dir);
            if (mkdir(p->dir, 0755) && errno != EEXIST) rc = -errno;
        }
        if (!rc) rc = sl_plog_open(p->dir, &o, &p->log);
        if (!rc && fresh && sl_plog_end_offset(p->log) > 0) {
            SL_WARN("kafka", "%s: removing stale data of an earlier topic of that name", p->dir);
            rc = sl_plog_destroy(p->log);
            p->log = NULL;
            if (!rc) rc = sl_plog_open(p->dir, &o, &p->log);
        }
        if (rc) {
            SL_ERROR("kafka", "opening partition log %s: %s", p->dir, sl_strerror(rc));
            p->log = NULL;
            if (fresh) rmdir(p->dir); /* what a failed open left, if empty */
            for (int32_t j = from; j < i; j++) {
                if (fresh)
                    sl_plog_destroy(tp->parts[j].log);
                else
                    sl_plog_close(tp->parts[j].log);
                tp->parts[j].log = NULL;
                kafka_pstate_free(tp->parts[j].pstate);
                tp->parts[j].pstate = NULL;
            }
            return rc;
        }
        p->pstate = kafka_pstate_new();
        pstate_rebuild(p);
    }
    return 0;
}

static void topic_add(kafka_topics *t, kafka_topic *tp)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = sl_realloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = tp;
    hash_rebuild(t);
}

/* Builds a topic from its name, partition count and overrides; validates every config. */
static kafka_err_t topic_build(kafka_topics *t, sl_slice name, int32_t nparts,
                               const kafka_cfg_kv *cfgs, size_t ncfg, kafka_topic **out, char *msg,
                               size_t msglen)
{
    kafka_topic *tp = sl_calloc(1, sizeof(*tp));
    tp->name = sl_slice_dup(name);
    tp->nparts = nparts;
    cfg_defaults(t->bcfg, &tp->cfg);
    tp->over_keys = sl_calloc(ncfg + 1, sizeof(char *));
    tp->over_vals = sl_calloc(ncfg + 1, sizeof(char *));
    for (size_t i = 0; i < ncfg; i++) {
        if (!cfgs[i].value.ptr) continue; /* null: keep the default */
        if (cfg_set(&tp->cfg, cfgs[i].name, cfgs[i].value, msg, msglen)) {
            topic_free(tp);
            return KAFKA_ERR_INVALID_CONFIG;
        }
        char *key = sl_slice_dup(cfgs[i].name);
        size_t j;
        for (j = 0; j < tp->nover; j++)
            if (!strcmp(tp->over_keys[j], key)) break;
        if (j < tp->nover) {
            sl_free(key);
            sl_free(tp->over_vals[j]);
        } else {
            tp->over_keys[tp->nover++] = key;
        }
        tp->over_vals[j] = sl_slice_dup(cfgs[i].value);
    }
    *out = tp;
    return KAFKA_ERR_NONE;
}

/* Descriptors the process may still open: RLIMIT_NOFILE minus those open now and those that
 * creations in flight will take; *limit gets RLIMIT_NOFILE. INT64_MAX when either is unknown. */
static int64_t fds_free(const kafka_topics *t, int64_t *limit)
{
    struct rlimit rl;
    *limit = -1;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY) return INT64_MAX;
    *limit = (int64_t)rl.rlim_cur;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return INT64_MAX;
    int64_t open_now = -1; /* the directory stream's own */
    struct dirent *de;
    while ((de = readdir(d)))
        open_now += de->d_name[0] != '.';
    closedir(d);
    for (size_t i = 0; i < t->ncreating; i++)
        open_now += (int64_t)t->creating[i]->nparts * KAFKA_FDS_PER_PARTITION;
    return *limit - open_now;
}

static int topics_load(kafka_topics *t)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", t->dir, TOPICS_FILE);
    if (access(path, F_OK) != 0) return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        SL_ERROR("kafka", "%s:%d: %s", path, jerr.line, jerr.text);
        return SL_ERR_CORRUPT;
    }
    int rc = 0;
    json_t *arr = json_object_get(root, "topics");
    if (!json_is_array(arr)) {
        SL_ERROR("kafka", "%s: no \"topics\" array", path);
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    size_t i;
    json_t *jt;
    int64_t total = 0, limit;
    json_array_foreach(arr, i, jt) total += json_integer_value(json_object_get(jt, "partitions"));
    int64_t avail = fds_free(t, &limit);
    if (avail != INT64_MAX && total * KAFKA_FDS_PER_PARTITION > avail - KAFKA_FD_HEADROOM)
        SL_WARN("kafka",
                "%s: %" PRId64 " partitions need up to %" PRId64
                " file descriptors, more than this process's limit of %" PRId64
                " (RLIMIT_NOFILE) leaves: raise it (ulimit -n) if opening them fails",
                path, total, total * KAFKA_FDS_PER_PARTITION, limit);
    json_array_foreach(arr, i, jt)
    {
        const char *name = json_string_value(json_object_get(jt, "name"));
        json_int_t np = json_integer_value(json_object_get(jt, "partitions"));
        json_t *jc = json_object_get(jt, "configs");
        if (!name || !kafka_topic_name_valid(SL_SLICE_STR(name)) || np < 1 ||
            np > KAFKA_MAX_PARTITIONS || kafka_topics_find_any(t, SL_SLICE_STR(name))) {
            SL_ERROR("kafka", "%s: topic entry %zu is invalid", path, i);
            rc = SL_ERR_CORRUPT;
            goto out;
        }
        size_t nc = json_is_object(jc) ? json_object_size(jc) : 0;
        kafka_cfg_kv *kv = sl_calloc(nc + 1, sizeof(*kv));
        size_t k = 0;
        const char *key;
        json_t *jv;
        if (nc) json_object_foreach(jc, key, jv)
            {
                const char *sv = json_string_value(jv);
                kv[k].name = SL_SLICE_STR(key);
                kv[k].value = sv ? SL_SLICE_STR(sv) : SL_SLICE_NULL;
                k++;
            }
        char msg[256];
        kafka_topic *tp;
        kafka_err_t err =
            topic_build(t, SL_SLICE_STR(name), (int32_t)np, kv, k, &tp, msg, sizeof(msg));
        sl_free(kv);
        if (err) {
            SL_ERROR("kafka", "%s: topic %s: %s", path, name, msg);
            rc = SL_ERR_CORRUPT;
            goto out;
        }
        topic_prepare(t, tp);
        rc = topic_open_range(t, tp, 0, tp->nparts, false);
        if (rc) {
            topic_free(tp);
            goto out;
        }
        topic_add(t, tp);
    }
out:
    json_decref(root);
    return rc;
}

static int pid_save(kafka_topics *t, int64_t block_end)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRId64 "\n", block_end);
    return write_atomic(t->dir, PID_FILE, text, (size_t)n);
}

static int pid_load(kafka_topics *t)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", t->dir, PID_FILE);
    FILE *f = fopen(path, "re");
    t->next_pid = t->pid_block_end = 0;
    if (!f) return errno == ENOENT ? 0 : -errno;
    long long v = -1;
    int ok = fscanf(f, "%lld", &v);
    fclose(f);
    if (ok != 1 || v < 0) {
        SL_ERROR("kafka", "%s: not a producer id", path);
        return SL_ERR_CORRUPT;
    }
    t->next_pid = t->pid_block_end = v;
    return 0;
}

int64_t kafka_topics_next_producer_id(kafka_topics *t)
{
    if (t->next_pid >= t->pid_block_end) {
        if (pid_save(t, t->next_pid + PID_BLOCK)) return -1;
        t->pid_block_end = t->next_pid + PID_BLOCK;
    }
    return t->next_pid++;
}

int64_t kafka_topics_next_producer_id_peek(const kafka_topics *t)
{
    return t->next_pid;
}

/* The partition index of a directory named "<valid topic>-<index>", with the topic name's
 * length in *name_len; -1 for any other name. */
static int32_t partition_dir_index(const char *name, size_t *name_len)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1] || strlen(dash + 1) > 5) return -1;
    if (dash[1] == '0' && dash[2]) return -1;
    int32_t v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    *name_len = (size_t)(dash - name);
    if (v >= KAFKA_MAX_PARTITIONS ||
        !kafka_topic_name_valid((sl_slice){(const uint8_t *)name, *name_len}))
        return -1;
    return v;
}

/* Startup hygiene. A partition directory whose topic topics.json does not list (or whose index
 * is past the topic's partition count) was left by a DeleteTopics or CreateTopics cut short by
 * a crash: topics.json is rewritten before a deletion removes the logs and after a creation
 * made them, so in both cases nobody was told the data exists. It is removed, with a warning.
 * A directory of that shape that no partition log made is not ours: it is reported and kept. */
static void orphans_sweep(kafka_topics *t)
{
    DIR *d = opendir(t->dir);
    if (!d) return;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t nlen;
        int32_t index = partition_dir_index(de->d_name, &nlen);
        if (index < 0) continue;
        kafka_topic *tp = kafka_topics_find_any(t, (sl_slice){(const uint8_t *)de->d_name, nlen});
        if (tp && index < tp->nparts) continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISDIR(st.st_mode)) continue;
        if (!sl_plog_dir_is_log(path)) {
            SL_WARN("kafka",
                    "%s: not a partition of any topic in " TOPICS_FILE
                    " and not a partition log; leaving it alone",
                    path);
            continue;
        }
        int rc = sl_plog_remove_dir(path); /* logs its own failure */
        if (!rc)
            SL_WARN("kafka",
                    "%s: removed orphaned partition directory (not in " TOPICS_FILE
                    ", left by a topic deletion or creation cut short)",
                    path);
        removed += rc == 0;
    }
    closedir(d);
    if (removed) {
        int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
}

int kafka_topics_open(const char *dir, const sl_broker_config *cfg, kafka_topics **out)
{
    int rc = sl_mkdirs(dir, 0755);
    if (rc) {
        SL_ERROR("kafka", "creating data dir %s: %s", dir, sl_strerror(rc));
        return rc;
    }
    kafka_topics *t = sl_calloc(1, sizeof(*t));
    t->dir = sl_strdup(dir);
    t->bcfg = cfg;
    t->tail_pool.per_log = cfg->fetch_tail_bytes;
    t->tail_pool.total = cfg->fetch_tail_total;
    hash_rebuild(t);
    rc = pid_load(t);
    if (!rc) rc = topics_load(t);
    if (rc) {
        kafka_topics_close(t);
        return rc;
    }
    orphans_sweep(t);
    *out = t;
    return 0;
}

static void partition_snapshot(kafka_partition *p, bool sync)
{
    int64_t end = sl_plog_end_offset(p->log);
    if (!p->pstate_dirty && p->snap_offset == end) return;
    if (kafka_pstate_save(p->pstate, end, p->dir, sync) == 0) {
        p->snap_offset = end;
        p->snap_bytes = 0;
        p->pstate_dirty = false;
    }
}

void kafka_partition_appended(kafka_partition *p, size_t len)
{
    p->snap_bytes += (int64_t)len;
    if (p->snap_bytes >= KAFKA_SNAPSHOT_BYTES) partition_snapshot(p, false);
}

void kafka_topics_snapshot(kafka_topics *t, bool sync)
{
    for (size_t i = 0; i < t->n; i++) {
        kafka_topic *tp = t->v[i];
        if (tp->deleting) continue;
        for (int32_t j = 0; j < tp->nparts; j++)
            partition_snapshot(&tp->parts[j], sync);
    }
}

void kafka_topics_close(kafka_topics *t)
{
    if (!t) return;
    kafka_topics_snapshot(t, true);
    for (size_t i = 0; i < t->n; i++) {
        kafka_topic *tp = t->v[i];
        for (int32_t j = 0; j < tp->nparts; j++)
            sl_plog_close(tp->parts[j].log);
        topic_free(tp);
    }
    /* The tests and benchmarks read this line to see that the tails were used. */
    SL_INFO("kafka", "fetch tail: %" PRIu64 " ranges, %" PRIu64 " bytes served from memory",
            t->tail_pool.hits, t->tail_pool.hit_bytes);
    sl_free(t->v);
    sl_free(t->hash);
    sl_free(t->creating);
    sl_free(t->dir);
    sl_free(t);
}

bool kafka_topics_creating(const kafka_topics *t, sl_slice name)
{
    for (size_t i = 0; i < t->ncreating; i++)
        if (sl_slice_eq_str(name, t->creating[i]->name)) return true;
    return false;
}

size_t kafka_topics_creating_count(const kafka_topics *t)
{
    return t->ncreating;
}

kafka_err_t kafka_topics_create_begin(kafka_topics *t, sl_slice name, int32_t nparts,
                                      const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                      kafka_topic **out, char *msg, size_t msglen)
{
    msg[0] = 0;
    *out = NULL;
    if (!kafka_topic_name_valid(name)) {
        snprintf(msg, msglen,
                 "Topic name is illegal: it must be 1 to %d characters of "
                 "[a-zA-Z0-9._-] and not '.' or '..'",
                 KAFKA_TOPIC_MAX_NAME);
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    }
    kafka_topic *old = kafka_topics_find_any(t, name);
    if (old || kafka_topics_creating(t, name)) {
        snprintf(msg, msglen,
                 !old            ? "Topic '%.*s' is being created."
                 : old->deleting ? "Topic '%.*s' is marked for deletion."
                                 : "Topic '%.*s' already exists.",
                 (int)name.len, (const char *)name.ptr);
        return KAFKA_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (nparts < 1 || nparts > KAFKA_MAX_PARTITIONS) {
        snprintf(msg, msglen, "Number of partitions must be in [1, %d].", KAFKA_MAX_PARTITIONS);
        return KAFKA_ERR_INVALID_PARTITIONS;
    }
    kafka_topic *tp;
    kafka_err_t err = topic_build(t, name, nparts, cfgs, ncfg, &tp, msg, msglen);
    if (err) return err;
    int64_t limit, avail = fds_free(t, &limit);
    int64_t need = (int64_t)nparts * KAFKA_FDS_PER_PARTITION;
    if (avail != INT64_MAX && need > avail - KAFKA_FD_HEADROOM) {
        topic_free(tp);
        snprintf(msg, msglen,
                 "%d partition(s) need %" PRId64 " file descriptors (%d each), but only %" PRId64
                 " of this process's %" PRId64
                 " (RLIMIT_NOFILE) are free after keeping %d for connections: raise the limit "
                 "(ulimit -n) or use fewer partitions.",
                 nparts, need, KAFKA_FDS_PER_PARTITION, SL_MAX(avail - KAFKA_FD_HEADROOM, 0), limit,
                 KAFKA_FD_HEADROOM);
        return KAFKA_ERR_POLICY_VIOLATION;
    }
    if (validate_only) {
        topic_free(tp);
        return KAFKA_ERR_NONE;
    }
    topic_prepare(t, tp);
    if (t->ncreating == t->ccreating) {
        t->ccreating = t->ccreating ? t->ccreating * 2 : 8;
        t->creating = sl_realloc(t->creating, t->ccreating * sizeof(*t->creating));
    }
    t->creating[t->ncreating++] = tp;
    *out = tp;
    return KAFKA_ERR_NONE;
}

int kafka_topic_open_new(const kafka_topics *t, kafka_topic *tp, int32_t from, int32_t to)
{
    return topic_open_range((kafka_topics *)t, tp, from, to, true);
}

kafka_err_t kafka_topics_create_end(kafka_topics *t, kafka_topic *tp, int rc, char *msg,
                                    size_t msglen)
{
    size_t i;
    for (i = 0; i < t->ncreating && t->creating[i] != tp; i++) {
    }
    if (i < t->ncreating) t->creating[i] = t->creating[--t->ncreating];
    if (rc) {
        for (int32_t j = 0; j < tp->nparts; j++)
            if (tp->parts[j].log) sl_plog_destroy(tp->parts[j].log);
        snprintf(msg, msglen, "Could not create the partition logs: %s.", sl_strerror(rc));
        topic_free(tp);
        return KAFKA_ERR_KAFKA_STORAGE_ERROR;
    }
    topic_add(t, tp);
    if (topics_save(t)) {
        /* Not persisted: undo, so a restart does not lose a topic a client saw created. */
        t->n--;
        hash_rebuild(t);
        for (int32_t j = 0; j < tp->nparts; j++)
            sl_plog_destroy(tp->parts[j].log);
        topic_free(tp);
        snprintf(msg, msglen, "Could not write topics.json.");
        return KAFKA_ERR_KAFKA_STORAGE_ERROR;
    }
    SL_INFO("kafka", "created topic %s with %d partition(s)", tp->name, tp->nparts);
    return KAFKA_ERR_NONE;
}

kafka_err_t kafka_topics_create(kafka_topics *t, sl_slice name, int32_t nparts,
                                const kafka_cfg_kv *cfgs, size_t ncfg, bool validate_only,
                                kafka_topic **out, char *msg, size_t msglen)
{
    kafka_topic *tp;
    kafka_err_t err =
        kafka_topics_create_begin(t, name, nparts, cfgs, ncfg, validate_only, &tp, msg, msglen);
    if (err || !tp) return err;
    int rc = kafka_topic_open_new(t, tp, 0, tp->nparts);
    err = kafka_topics_create_end(t, tp, rc, msg, msglen);
    if (!err && out) *out = tp;
    return err;
}

void kafka_topics_mark_deleting(kafka_topics *t, kafka_topic *tp)
{
    SL_UNUSED(t);
    tp->deleting = true;
}

bool kafka_topic_idle(const kafka_topic *tp)
{
    for (int32_t j = 0; j < tp->nparts; j++)
        if (tp->parts[j].flush_refs > 0) return false;
    return true;
}

int kafka_topics_delete_begin(kafka_topics *t, kafka_topic *tp)
{
    int rc = topics_save(t);
    for (int32_t j = 0; j < tp->nparts; j++) {
        if (tp->parts[j].log) sl_plog_abandon(tp->parts[j].log);
        tp->parts[j].log = NULL;
    }
    return rc;
}

void kafka_topic_remove_files(const kafka_topic *tp, int32_t from, int32_t to)
{
    for (int32_t j = from; j < to; j++)
        sl_plog_remove_dir(tp->parts[j].dir);
}

void kafka_topics_delete_end(kafka_topics *t, kafka_topic *tp)
{
    size_t i;
    for (i = 0; i < t->n && t->v[i] != tp; i++) {
    }
    if (i < t->n) {
        memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
        t->n--;
        hash_rebuild(t);
    }
    SL_INFO("kafka", "deleted topic %s", tp->name);
    topic_free(tp);
}

int kafka_topics_destroy(kafka_topics *t, kafka_topic *tp)
{
    int rc = kafka_topics_delete_begin(t, tp);
    kafka_topic_remove_files(tp, 0, tp->nparts);
    kafka_topics_delete_end(t, tp);
    return rc;
}

void kafka_topics_retain(kafka_topics *t, int64_t now_ms)
{
    for (size_t i = 0; i < t->n; i++) {
        kafka_topic *tp = t->v[i];
        if (tp->deleting) continue;
        for (int32_t j = 0; j < tp->nparts; j++) {
            kafka_partition *p = &tp->parts[j];
            /* cleanup.policy=compact alone deletes nothing by time or size, as Kafka. */
            int rc = tp->cfg.cleanup_policy == KAFKA_CLEANUP_COMPACT
                         ? 0
                         : sl_plog_retain(p->log, now_ms);
            if (rc) SL_WARN("kafka", "retention on %s: %s", p->dir, sl_strerror(rc));
            size_t before = kafka_pstate_count(p->pstate);
            kafka_pstate_expire(p->pstate, now_ms, KAFKA_PRODUCER_EXPIRY_MS);
            if (kafka_pstate_count(p->pstate) != before) p->pstate_dirty = true;
        }
    }
}

void kafka_topic_configs(const kafka_topics *t, const kafka_topic *tp,
                         void (*emit)(void *arg, const char *name, const char *value,
                                      bool is_default, bool read_only),
                         void *arg)
{
    kafka_topic_cfg c;
    if (tp)
        c = tp->cfg;
    else
        cfg_defaults(t->bcfg, &c);
    for (size_t i = 0; i < SL_ARRAY_LEN(tcfg_defs); i++) {
        const tcfg_def *d = &tcfg_defs[i];
        bool is_default = true;
        if (tp)
            for (size_t j = 0; j < tp->nover; j++)
                if (!strcmp(tp->over_keys[j], d->name)) is_default = false;
        char val[64];
        int64_t v = *cfg_field(&c, d);
        if (d->type == TCFG_ENUM)
            choice_text(d->choices, v, val, sizeof(val));
        else if (d->type == TCFG_RATIO)
            snprintf(val, sizeof(val), "%g", (double)v / 1e6);
        else
            snprintf(val, sizeof(val), "%" PRId64, v);
        emit(arg, d->name, val, is_default, false);
    }
}

static bool compact_due(const kafka_topic *tp, const kafka_partition *p, int64_t now_ms)
{
    enum { MAXSEG = 4096 };
    int64_t *bases = sl_malloc(MAXSEG * sizeof(int64_t)),
            *sizes = sl_malloc(MAXSEG * sizeof(int64_t));
    size_t n = sl_plog_closed_segments(p->log, bases, sizes, MAXSEG);
    int64_t dirty = 0, total = 0;
    for (size_t k = 0; k < n; k++) {
        total += sizes[k];
        if (bases[k] >= p->clean_end) dirty += sizes[k];
    }
    sl_free(bases);
    sl_free(sizes);
    if (n == 0) return false;
    bool due = p->clean_due_ms > 0 && now_ms >= p->clean_due_ms;
    return due || (dirty > 0 && dirty * 1000000 >= tp->cfg.min_cleanable_dirty_ratio * total);
}

kafka_partition *kafka_topics_compact_next(kafka_topics *t, int64_t now_ms,
                                           kafka_compact_cursor *cur, sl_compact_opts *o)
{
    for (; cur->topic < t->n; cur->topic++, cur->part = 0) {
        kafka_topic *tp = t->v[cur->topic];
        if (tp->deleting || tp->cfg.cleanup_policy == KAFKA_CLEANUP_DELETE) continue;
        while (cur->part < tp->nparts) {
            kafka_partition *p = &tp->parts[cur->part++];
            if (!p->log || !compact_due(tp, p, now_ms)) continue;
            *o = (sl_compact_opts){.now_ms = now_ms,
                                   .delete_retention_ms = tp->cfg.delete_retention_ms};
            return p;
        }
    }
    return NULL;
}

void kafka_partition_compacted(kafka_partition *p, int rc, const sl_compact_stats *st)
{
    if (rc || st->clean_end < 0) return; /* logged; retried next round */
    p->clean_end = st->clean_end;
    p->clean_due_ms = st->next_tombstone_ms == INT64_MAX ? 0 : st->next_tombstone_ms;
}
