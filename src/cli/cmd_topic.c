/* cmd_topic.c: `sluice topic`, a small Kafka topic tool built on librdkafka, so it reaches the
 * embedded broker exactly as it would reach a real cluster (ARCHITECTURE.md "Dependency rules").
 *
 *   sluice topic [--kafka BOOTSTRAP] list
 *   sluice topic create T [--partitions N] [--if-not-exists] [--config K=V]...
 *   sluice topic describe T
 *   sluice topic produce T [--key K] [--count N]      (lines of stdin, or N generated values)
 *   sluice topic consume T [--from-beginning] [--group G] [--count N] [--timeout D]
 *
 * Exit status: 0 success, 1 the broker refused or could not be reached, 2 bad usage. */
#include "auth/auth.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/sl.h"

#include <librdkafka/rdkafka.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define TOPIC_USAGE                                                                                \
    "topic [--kafka BOOTSTRAP] list | create T [--partitions N] [--if-not-exists] [--config "      \
    "K=V]... | describe T "                                                                        \
    "| produce T [--key K] [--count N] | consume T [--from-beginning] [--group G] [--count N] "    \
    "[--timeout D]"

enum {
    VERB_LIST,
    VERB_CREATE,
    VERB_DESCRIBE,
    VERB_PRODUCE,
    VERB_CONSUME,
};

typedef struct topic_args {
    char *kafka;
    int64_t timeout_ms; /* broker round trips; for consume, the longest wait for a message */
    int64_t partitions;
    int64_t count; /* 0: not given */
    char *key;
    char *group;
    bool from_beginning;
    bool if_not_exists;
    char **configs; /* "K=V" strings borrowed from argv */
    size_t nconfigs;
    int verb;
    const char *topic;
} topic_args;

/* Flags every verb accepts. */
static const sl_opt common_opts[] = {
    {"kafka", SL_OPT_STR, "127.0.0.1:9092", offsetof(topic_args, kafka),
     "bootstrap servers, HOST:PORT[,HOST:PORT...]", NULL, 0, 0},
    {"timeout", SL_OPT_DURATION, "10s", offsetof(topic_args, timeout_ms),
     "how long to wait for the broker; consume stops after this long without a message (0: "
     "forever)",
     NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
static const sl_opt create_opts[] = {
    {"partitions", SL_OPT_INT, "1", offsetof(topic_args, partitions), "number of partitions", NULL,
     1, 100000},
    {"if-not-exists", SL_OPT_BOOL, "false", offsetof(topic_args, if_not_exists),
     "succeed, changing nothing, when the topic already exists", NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
static const sl_opt produce_opts[] = {
    {"key", SL_OPT_STR, NULL, offsetof(topic_args, key), "key of every message", NULL, 0, 0},
    {"count", SL_OPT_INT, NULL, offsetof(topic_args, count),
     "produce N generated values \"message-I\" instead of reading stdin", NULL, 1, INT64_MAX},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
static const sl_opt consume_opts[] = {
    {"from-beginning", SL_OPT_BOOL, "false", offsetof(topic_args, from_beginning),
     "start at the earliest offset (with a group: when it has no committed offset)", NULL, 0, 0},
    {"group", SL_OPT_STR, NULL, offsetof(topic_args, group),
     "consume as a member of this consumer group, committing offsets", NULL, 0, 0},
    {"count", SL_OPT_INT, NULL, offsetof(topic_args, count), "stop after N messages", NULL, 1,
     INT64_MAX},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
static const sl_opt no_opts[] = {{NULL, 0, NULL, 0, NULL, NULL, 0, 0}};

typedef struct topic_verb {
    const char *name;
    bool needs_topic;
    const sl_opt *opts;
    int (*run)(topic_args *a);
} topic_verb;

static int run_list(topic_args *a);
static int run_create(topic_args *a);
static int run_describe(topic_args *a);
static int run_produce(topic_args *a);
static int run_consume(topic_args *a);

static const topic_verb verbs[] = {
    [VERB_LIST] = {"list", false, no_opts, run_list},
    [VERB_CREATE] = {"create", true, create_opts, run_create},
    [VERB_DESCRIBE] = {"describe", true, no_opts, run_describe},
    [VERB_PRODUCE] = {"produce", true, produce_opts, run_produce},
    [VERB_CONSUME] = {"consume", true, consume_opts, run_consume},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    SL_UNUSED(sig);
    stop_requested = 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sluice topic: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (usage: sluice %s)\n", TOPIC_USAGE);
    va_end(ap);
    return 2;
}

static void print_help(void)
{
    printf("Usage: sluice %s\n\nFlags of every command:\n", TOPIC_USAGE);
    sl_config_help(common_opts, stdout);
    printf("create:\n");
    sl_config_help(create_opts, stdout);
    printf("  --config K=V  a topic config such as retention.ms=60000 (repeatable)\n");
    printf("produce:\n");
    sl_config_help(produce_opts, stdout);
    printf("consume:\n");
    sl_config_help(consume_opts, stdout);
}

static const sl_opt *find_opt(const sl_opt *tbl, const char *name, size_t len)
{
    for (; tbl->name; tbl++)
        if (strlen(tbl->name) == len && !strncmp(tbl->name, name, len)) return tbl;
    return NULL;
}

/* The option of any verb called name, for telling whether a flag takes a value. */
static const sl_opt *find_any_opt(const char *name, size_t len)
{
    const sl_opt *tbls[] = {common_opts, create_opts, produce_opts, consume_opts};
    for (size_t i = 0; i < SL_ARRAY_LEN(tbls); i++) {
        const sl_opt *o = find_opt(tbls[i], name, len);
        if (o) return o;
    }
    return NULL;
}

/* Flags may come before or after the verb and topic, so the verb is found first and flags are
 * then checked against the common table and that verb's table. Returns 0, 1 for --help, or 2. */
static int parse_args(int argc, char **argv, topic_args *a)
{
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    a->verb = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            /* Skip the flag's value; values are checked in the second pass, once the verb is
             * known. */
            const char *name = argv[i] + 2, *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            const sl_opt *o = find_any_opt(name, nlen);
            if (!o && !(nlen == 6 && !strncmp(name, "config", 6)))
                return usage_error("unknown flag '%s'", argv[i]);
            if (!eq && (!o || o->type != SL_OPT_BOOL)) i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) return usage_error("unknown flag '%s'", argv[i]);
        if (npos == 2) return usage_error("unexpected argument '%s'", argv[i]);
        pos[npos++] = argv[i];
    }
    if (!pos[0]) return usage_error("missing command");
    for (size_t v = 0; v < SL_ARRAY_LEN(verbs); v++)
        if (!strcmp(pos[0], verbs[v].name)) a->verb = (int)v;
    if (a->verb < 0) return usage_error("unknown command '%s'", pos[0]);
    const topic_verb *verb = &verbs[a->verb];
    if (verb->needs_topic && !pos[1]) return usage_error("%s needs a topic name", verb->name);
    if (!verb->needs_topic && pos[1]) return usage_error("unexpected argument '%s'", pos[1]);
    if (pos[1] && !pos[1][0]) return usage_error("empty topic name");
    a->topic = pos[1];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] != '-') continue;
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char *val = eq ? eq + 1 : NULL;
        if (nlen == 6 && !strncmp(name, "config", 6) && a->verb == VERB_CREATE) {
            if (!val && i + 1 >= argc) return usage_error("flag '%s' needs a value", arg);
            if (!val) val = argv[++i];
            const char *kv_eq = strchr(val, '=');
            if (!kv_eq || kv_eq == val) return usage_error("--config takes K=V, not '%s'", val);
            a->configs = sl_realloc(a->configs, (a->nconfigs + 1) * sizeof *a->configs);
            a->configs[a->nconfigs++] = (char *)val;
            continue;
        }
        const sl_opt *tbl = common_opts, *o = find_opt(common_opts, name, nlen);
        if (!o) {
            tbl = verb->opts;
            o = find_opt(tbl, name, nlen);
        }
        if (!o) {
            fprintf(stderr, "sluice topic: flag '--%.*s' does not apply to %s\n", (int)nlen, name,
                    verb->name);
            return 2;
        }
        if (!val && o->type == SL_OPT_BOOL) {
            val = "true";
        } else if (!val) {
            if (i + 1 >= argc) return usage_error("flag '%s' needs a value", arg);
            val = argv[++i];
        }
        char err[256];
        if (sl_config_set(tbl, a, o->name, val, err, sizeof err) != 0) {
            fprintf(stderr, "sluice topic: %s\n", err);
            return 2;
        }
    }
    if (!a->kafka || !a->kafka[0]) return usage_error("--kafka needs HOST:PORT");
    return 0;
}

static void rdk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    SL_UNUSED(rk);
    /* syslog levels. librdkafka reports each failed connection attempt at LOG_ERR (3) and
     * retries; this command prints its own one-line reason when an operation finally fails, so
     * those go to debug, while warnings (4, e.g. a codec the broker lacks) stay visible. */
    if (level <= 2)
        SL_ERROR("rdkafka", "%s: %s", fac, buf);
    else if (level == 4)
        SL_WARN("rdkafka", "%s: %s", fac, buf);
    else
        SL_DEBUG("rdkafka", "%s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) == RD_KAFKA_CONF_OK) return 0;
    fprintf(stderr, "sluice topic: librdkafka %s=%s: %s\n", k, v, err);
    return -1;
}

static rd_kafka_t *client_new(topic_args *a, rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[512];
    if (!conf) conf = rd_kafka_conf_new();
    if (conf_set(conf, "bootstrap.servers", a->kafka) ||
        conf_set(conf, "client.id", "sluice-topic")) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (sl_auth_kafka_conf(conf, err, sizeof err)) {
        fprintf(stderr, "sluice topic: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, rdk_log);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "sluice topic: %s\n", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int op_timeout(const topic_args *a)
{
    return a->timeout_ms > 0 && a->timeout_ms < INT32_MAX ? (int)a->timeout_ms : 10000;
}

/* All-topic metadata, so that asking about one topic never auto-creates it. */
static int fetch_metadata(rd_kafka_t *rk, topic_args *a, const rd_kafka_metadata_t **md)
{
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, md, op_timeout(a));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
    fprintf(stderr, "sluice topic: metadata from %s: %s\n", a->kafka, rd_kafka_err2str(e));
    return -1;
}

static const rd_kafka_metadata_topic_t *md_find(const rd_kafka_metadata_t *md, const char *t)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, t)) return &md->topics[i];
    return NULL;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int run_list(topic_args *a)
{
    rd_kafka_t *rk = client_new(a, RD_KAFKA_PRODUCER, NULL);
    if (!rk) return 1;
    const rd_kafka_metadata_t *md;
    if (fetch_metadata(rk, a, &md) != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    const char **names = sl_calloc((size_t)md->topic_cnt + 1, sizeof *names);
    for (int i = 0; i < md->topic_cnt; i++)
        names[i] = md->topics[i].topic;
    qsort(names, (size_t)md->topic_cnt, sizeof *names, cmp_str);
    for (int i = 0; i < md->topic_cnt; i++)
        printf("%s\n", names[i]);
    sl_free(names);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return 0;
}

/* Waits for one admin result event on q; NULL after a timeout (message printed). */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, topic_args *a, const char *what)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, op_timeout(a) + 1000);
    if (!ev) {
        fprintf(stderr, "sluice topic: %s: no answer from %s\n", what, a->kafka);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "sluice topic: %s: %s\n", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op, topic_args *a)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(o, op_timeout(a), err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(o, op_timeout(a), err, sizeof err);
    return o;
}

static int run_create(topic_args *a)
{
    char err[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(a->topic, (int)a->partitions, 1, err, sizeof err);
    if (!nt) {
        fprintf(stderr, "sluice topic: %s\n", err);
        return 2;
    }
    for (size_t i = 0; i < a->nconfigs; i++) {
        char *kv = sl_strdup(a->configs[i]), *eq = strchr(kv, '=');
        *eq = '\0';
        rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt, kv, eq + 1);
        sl_free(kv);
        if (e) {
            fprintf(stderr, "sluice topic: --config %s: %s\n", a->configs[i], rd_kafka_err2str(e));
            rd_kafka_NewTopic_destroy(nt);
            return 2;
        }
    }
    rd_kafka_t *rk = client_new(a, RD_KAFKA_PRODUCER, NULL);
    if (!rk) {
        rd_kafka_NewTopic_destroy(nt);
        return 1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, a);
    rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    int rc = 1;
    rd_kafka_event_t *ev = admin_wait(q, a, "create");
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("created %s with %" PRId64 " partition%s\n", a->topic, a->partitions,
                   a->partitions == 1 ? "" : "s");
            rc = 0;
        } else if (n == 1 && a->if_not_exists &&
                   rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            printf("%s exists\n", a->topic);
            rc = 0;
        } else if (n == 1) {
            const char *msg = rd_kafka_topic_result_error_string(res[0]);
            fprintf(stderr, "sluice topic: create %s: %s\n", a->topic,
                    msg ? msg : rd_kafka_err2str(rd_kafka_topic_result_error(res[0])));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* Prints the topic's configs as DescribeConfigs reports them, marking defaults. */
static int describe_configs(rd_kafka_t *rk, topic_args *a)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, a->topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, a);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    int rc = -1;
    rd_kafka_event_t *ev = admin_wait(q, a, "describe configs");
    if (ev) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1 && rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            size_t ne;
            const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(rs[0], &ne);
            for (size_t i = 0; i < ne; i++) {
                const char *v = rd_kafka_ConfigEntry_value(ents[i]);
                printf("config %s=%s%s\n", rd_kafka_ConfigEntry_name(ents[i]), v ? v : "",
                       rd_kafka_ConfigEntry_is_default(ents[i]) ? " (default)" : "");
            }
            rc = 0;
        } else if (n == 1) {
            fprintf(stderr, "sluice topic: describe configs %s: %s\n", a->topic,
                    rd_kafka_ConfigResource_error_string(rs[0]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int run_describe(topic_args *a)
{
    rd_kafka_t *rk = client_new(a, RD_KAFKA_PRODUCER, NULL);
    if (!rk) return 1;
    const rd_kafka_metadata_t *md;
    if (fetch_metadata(rk, a, &md) != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    int rc = 1;
    const rd_kafka_metadata_topic_t *t = md_find(md, a->topic);
    if (!t || t->err) {
        fprintf(stderr, "sluice topic: describe %s: %s\n", a->topic,
                rd_kafka_err2str(t ? t->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        goto out;
    }
    printf("topic %s partitions %d\n", t->topic, t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = &t->partitions[i];
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, t->topic, p->id, &lo, &hi, op_timeout(a));
        if (e) {
            fprintf(stderr, "sluice topic: offsets of %s/%d: %s\n", t->topic, p->id,
                    rd_kafka_err2str(e));
            goto out;
        }
        printf("partition %d leader %d start %" PRId64 " end %" PRId64 "\n", p->id, p->leader, lo,
               hi);
    }
    if (describe_configs(rk, a) == 0) rc = 0;
out:
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

typedef struct produce_state {
    int64_t acked, failed;
    rd_kafka_resp_err_t first_err;
} produce_state;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    produce_state *st = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        st->acked++;
    } else {
        if (!st->failed) st->first_err = m->err;
        st->failed++;
    }
}

/* Produces one message, waiting for room in librdkafka's queue when it is full. */
static int produce_one(rd_kafka_t *rk, topic_args *a, const void *val, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_KEY(a->key, a->key ? strlen(a->key) : 0),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop_requested) {
            fprintf(stderr, "sluice topic: produce to %s: %s\n", a->topic, rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 100);
    }
}

static int run_produce(topic_args *a)
{
    produce_state st = {0, 0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Idempotence keeps lines in order and free of duplicates across retries. */
    if (conf_set(conf, "acks", "all") || conf_set(conf, "enable.idempotence", "true") ||
        conf_set(conf, "linger.ms", "5")) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = client_new(a, RD_KAFKA_PRODUCER, conf);
    if (!rk) return 1;

    int64_t sent = 0;
    int rc = 0;
    if (a->count > 0) {
        char val[32];
        for (int64_t i = 0; i < a->count && !stop_requested && rc == 0; i++, sent++) {
            int n = snprintf(val, sizeof val, "message-%" PRId64, i);
            rc = produce_one(rk, a, val, (size_t)n);
            rd_kafka_poll(rk, 0);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc == 0 && !stop_requested && (n = getline(&line, &cap, stdin)) >= 0) {
            if (n > 0 && line[n - 1] == '\n') n--;
            rc = produce_one(rk, a, line, (size_t)n);
            rd_kafka_poll(rk, 0);
            sent++;
        }
        free(line);
    }
    /* librdkafka bounds the wait by message.timeout.ms; a signal stops waiting early. */
    while (rd_kafka_outq_len(rk) > 0 && !stop_requested)
        rd_kafka_poll(rk, 100);
    if (rc == 0 && rd_kafka_outq_len(rk) > 0) rc = -1;
    rd_kafka_destroy(rk);

    if (st.failed)
        fprintf(stderr, "sluice topic: %" PRId64 " of %" PRId64 " messages failed: %s\n", st.failed,
                sent, rd_kafka_err2str(st.first_err));
    else
        fprintf(stderr, "produced %" PRId64 " messages to %s\n", st.acked, a->topic);
    return rc == 0 && st.failed == 0 && st.acked == sent ? 0 : 1;
}

/* Without a group, every partition is assigned directly: nothing is committed. */
static int assign_all(rd_kafka_t *rk, topic_args *a)
{
    const rd_kafka_metadata_t *md;
    if (fetch_metadata(rk, a, &md) != 0) return -1;
    const rd_kafka_metadata_topic_t *t = md_find(md, a->topic);
    if (!t || t->err) {
        fprintf(stderr, "sluice topic: consume %s: %s\n", a->topic,
                rd_kafka_err2str(t ? t->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
        rd_kafka_metadata_destroy(md);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, a->topic, t->partitions[i].id)->offset =
            a->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_metadata_destroy(md);
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "sluice topic: assign %s: %s\n", a->topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int run_consume(topic_args *a)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *reset = a->from_beginning ? "earliest" : "latest";
    /* librdkafka's consumer wants a group id even for assign(); without --group nothing is
     * joined or committed under it. */
    if (conf_set(conf, "auto.offset.reset", reset) ||
        conf_set(conf, "group.id", a->group ? a->group : "sluice-topic") ||
        (!a->group && conf_set(conf, "enable.auto.commit", "false"))) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = client_new(a, RD_KAFKA_CONSUMER, conf);
    if (!rk) return 1;
    rd_kafka_poll_set_consumer(rk);

    int rc = 0;
    if (a->group) {
        rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(subs, a->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
        rd_kafka_topic_partition_list_destroy(subs);
        if (e) {
            fprintf(stderr, "sluice topic: subscribe %s: %s\n", a->topic, rd_kafka_err2str(e));
            rc = 1;
        }
    } else if (assign_all(rk, a) != 0) {
        rc = 1;
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    int64_t got = 0, last = sl_mono_ms();
    while (rc == 0 && !stop_requested && (a->count == 0 || got < a->count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (a->timeout_ms > 0 && sl_mono_ms() - last >= a->timeout_ms) break;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->len) fwrite(m->payload, 1, m->len, stdout);
            putchar('\n');
            got++;
            last = sl_mono_ms();
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "sluice topic: consume %s: %s\n", a->topic, rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
                rc = 1;
        }
        rd_kafka_message_destroy(m);
    }
    fflush(stdout);
    rd_kafka_consumer_close(rk); /* commits a group's offsets and leaves the group */
    rd_kafka_destroy(rk);
    if (rc == 0 && a->count > 0 && got < a->count) {
        fprintf(stderr,
                "sluice topic: consumed %" PRId64 " of %" PRId64 " messages before the timeout\n",
                got, a->count);
        rc = 1;
    }
    return rc;
}

int sl_cmd_topic(int argc, char **argv)
{
    topic_args a;
    memset(&a, 0, sizeof a);
    sl_config_defaults(common_opts, &a);
    sl_config_defaults(create_opts, &a);
    sl_config_defaults(produce_opts, &a);
    sl_config_defaults(consume_opts, &a);
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) {
        print_help();
        rc = 0;
    } else if (rc == 0) {
        stop_requested = 0;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = verbs[a.verb].run(&a);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    sl_config_free(common_opts, &a);
    sl_config_free(produce_opts, &a);
    sl_config_free(consume_opts, &a);
    sl_free(a.configs);
    return rc;
}
