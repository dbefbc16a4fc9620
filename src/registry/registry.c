/* registry.c: the Schema Registry's state, its storage in _schemas and its REST API.
 *
 * One libuv loop owns everything. librdkafka's queues signal a pipe (rd_kafka_queue_io_event_
 * enable) that a uv_poll watches, so delivery reports and consumed records are handled on the
 * loop thread. Every change is a record in _schemas; the in-memory state is only ever changed by
 * applying a consumed record, in log order, so every instance computes the same state. Two
 * instances may pick the same id or version at once: on replay the first record for an id (or
 * for a subject's version) wins, and the loser, reading its write back, tries again. */
#include "registry/registry.h"
#include "auth/auth.h"

#include "core/log.h"
#include "core/sl.h"
#include "registry/schema.h"
#include "web/http.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG          "registry"
#define CT           "application/vnd.schemaregistry.v1+json"
#define MAX_ATTEMPTS 8

#define O(f) offsetof(sl_registry_config, f)
const sl_opt sl_registry_opts[] = {
    {"listen", SL_OPT_HOSTPORT, "127.0.0.1:8081", O(listen), "address to serve the REST API on",
     NULL, 0, 0},
    {"kafka", SL_OPT_STR, "127.0.0.1:9092", O(kafka),
     "bootstrap servers of the cluster that holds the schemas topic", NULL, 0, 0},
    {"topic", SL_OPT_STR, "_schemas", O(topic), "the compacted topic the registry stores into",
     NULL, 0, 0},
    {"max-schema", SL_OPT_SIZE, "1MiB", O(max_schema),
     "largest schema text accepted; beyond it 422 with error code 42209", NULL, 1, 64 << 20},
    {"timeout", SL_OPT_DURATION, "30s", O(timeout_ms),
     "a write not read back from the topic by then is answered 50002", NULL, 100, INT64_MAX},
    {"startup-timeout", SL_OPT_DURATION, "60s", O(startup_ms),
     "how long start waits for the cluster and the replay of the topic", NULL, 100, INT64_MAX},
    {"auth-file", SL_OPT_STR, NULL, O(auth_file),
     "require HTTP basic auth of a user in this file of NAME HASH lines (sluice store passwd)",
     NULL, 0, 0},
    {"tls-cert", SL_OPT_STR, NULL, O(tls_cert), "PEM certificate chain: serve HTTPS only", NULL, 0,
     0},
    {"tls-key", SL_OPT_STR, NULL, O(tls_key), "PEM private key of --tls-cert", NULL, 0, 0},
    {"max-connections", SL_OPT_INT, "1024", O(max_connections),
     "HTTP connections open at once; past it a new one is answered 503 and closed", NULL, 1,
     1000000},
    {"log-level", SL_OPT_ENUM, NULL, O(log_level),
     "log level (default: info, or $SLUICE_LOG_LEVEL)", "error|warn|info|debug|trace", 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};
#undef O

enum { C_NONE, C_BACKWARD, C_BACKWARD_T, C_FORWARD, C_FORWARD_T, C_FULL, C_FULL_T, C_UNSET = -1 };
static const char *const compat_names[] = {
    "NONE", "BACKWARD",       "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
    "FULL", "FULL_TRANSITIVE"};
enum { M_READWRITE, M_READONLY, M_READONLY_OVERRIDE, M_IMPORT, M_UNSET = -1 };
static const char *const mode_names[] = {"READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"};
static const char *const type_names[] = {"AVRO", "JSON", "PROTOBUF"};

typedef struct schema_rec {
    int32_t id;
    sl_regschema_type type;
    char *text;
    char *canon; /* canonical text; the text itself if this build cannot parse the type */
    char *refs;  /* the references as a compact JSON array, or NULL */
    sl_regschema *parsed;
    char *by_id; /* the cached body of GET /schemas/ids/{id} */
    int uses;    /* subject versions (soft-deleted ones too) that use this id */
} schema_rec;

typedef struct version {
    int32_t version;
    int32_t id;
    bool deleted;
} version;

typedef struct subject {
    char *name;
    version *v; /* ascending */
    size_t n, cap;
    int compat, mode;
} subject;

typedef struct reg_req {
    char *subject;
    sl_regschema_type type;
    char *text;
    char *refs;
    sl_regschema *parsed;          /* NULL for a type this build does not parse */
    int32_t want_id, want_version; /* IMPORT mode; 0: none */
    int attempts;
    int32_t id, version; /* what the last attempt wrote */
} reg_req;

typedef struct op op;
struct op {
    op *next;
    sl_registry *r;
    sl_http_pending *p;
    int outstanding; /* delivery reports still to come */
    int64_t offset;  /* highest offset of this op's records */
    rd_kafka_resp_err_t err;
    int64_t deadline;
    int64_t retry_at; /* > 0: a registration that lost a race, tried again at this time */
    reg_req *reg;     /* a registration, checked and maybe retried on read-back */
    sl_buf body;      /* otherwise the answer, sent once read back */
};

struct sl_registry {
    sl_registry_config cfg;
    sl_auth_users *users; /* --auth-file, or NULL */
    uv_loop_t *loop;
    sl_http_server *http;
    rd_kafka_t *prod, *cons;
    rd_kafka_topic_t *ptopic, *ctopic;
    rd_kafka_queue_t *cq, *mainq;
    int pipefd[2];
    uv_poll_t poll;
    uv_timer_t timer;
    int64_t consumed; /* offset of the last record applied; -1: none */
    schema_rec **ids;
    size_t idcap;
    int32_t max_id;
    subject **subjects;
    size_t nsubjects, subcap;
    int compat, mode;
    op *ops;
    bool types[3]; /* which schema types this build parses */
    int closing;   /* handles still to close */
};

/* ---- state ---- */

static subject *find_subject(sl_registry *r, const char *name)
{
    for (size_t i = 0; i < r->nsubjects; i++)
        if (!strcmp(r->subjects[i]->name, name)) return r->subjects[i];
    return NULL;
}

static subject *get_subject(sl_registry *r, const char *name)
{
    subject *s = find_subject(r, name);
    if (s) return s;
    if (r->nsubjects == r->subcap) {
        r->subcap = r->subcap ? r->subcap * 2 : 16;
        r->subjects = sl_realloc(r->subjects, r->subcap * sizeof *r->subjects);
    }
    s = sl_calloc(1, sizeof *s);
    s->name = sl_strdup(name);
    s->compat = C_UNSET;
    s->mode = M_UNSET;
    r->subjects[r->nsubjects++] = s;
    return s;
}

static version *find_version(subject *s, int32_t v)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].version == v) return &s->v[i];
    return NULL;
}

static version *latest(subject *s, bool include_deleted)
{
    for (size_t i = s ? s->n : 0; i > 0; i--)
        if (include_deleted || !s->v[i - 1].deleted) return &s->v[i - 1];
    return NULL;
}

static schema_rec *get_id(sl_registry *r, int64_t id)
{
    return id > 0 && (size_t)id < r->idcap ? r->ids[id] : NULL;
}

static void schema_rec_free(schema_rec *sr)
{
    if (!sr) return;
    sl_regschema_free(sr->parsed);
    free(sr->text);
    free(sr->canon);
    free(sr->refs);
    free(sr->by_id);
    free(sr);
}

static int parse_type(const char *s, sl_regschema_type *t)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, type_names[i])) {
            *t = (sl_regschema_type)i;
            return 0;
        }
    return -1;
}

static char *canon_of(sl_regschema_type t, const char *text, sl_regschema **parsed)
{
    char err[256];
    sl_regschema *p = NULL;
    if (sl_regschema_parse(t, text, strlen(text), &p, err, sizeof err)) p = NULL;
    char *c = sl_strdup(p ? sl_regschema_canonical(p) : text);
    if (parsed)
        *parsed = p;
    else
        sl_regschema_free(p);
    return c;
}

static void build_by_id(schema_rec *sr)
{
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_append_str(&b, "{");
    if (sr->type != SL_SCHEMA_AVRO)
        sl_buf_printf(&b, "\"schemaType\":\"%s\",", type_names[sr->type]);
    if (sr->refs) sl_buf_printf(&b, "\"references\":%s,", sr->refs);
    sl_buf_append_str(&b, "\"schema\":");
    sl_http_json_str(&b, sr->text, strlen(sr->text));
    sl_buf_append_str(&b, "}");
    sr->by_id = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
}

static void remove_version(sl_registry *r, subject *s, size_t i)
{
    schema_rec *sr = get_id(r, s->v[i].id);
    if (sr) sr->uses--;
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

static bool same_refs(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *refs_text(json_t *refs)
{
    if (!json_is_array(refs) || json_array_size(refs) == 0) return NULL;
    return json_dumps(refs, JSON_COMPACT);
}

/* A SCHEMA record: the first record for an id, and for a subject's version, wins. */
static void apply_schema(sl_registry *r, const char *subj, int32_t ver, json_t *val)
{
    json_int_t id = json_integer_value(json_object_get(val, "id"));
    const char *text = json_string_value(json_object_get(val, "schema"));
    const char *ts = json_string_value(json_object_get(val, "schemaType"));
    sl_regschema_type t = SL_SCHEMA_AVRO;
    if (id <= 0 || id > INT32_MAX || !text || (ts && parse_type(ts, &t))) {
        SL_WARN(TAG, "skipping a malformed schema record for %s version %d", subj, ver);
        return;
    }
    char *refs = refs_text(json_object_get(val, "references"));
    schema_rec *sr = get_id(r, id);
    if (sr) {
        bool same = sr->type == t && same_refs(sr->refs, refs);
        if (same && strcmp(sr->text, text)) {
            char *c = canon_of(t, text, NULL);
            same = !strcmp(c, sr->canon);
            free(c);
        }
        if (!same) {
            SL_INFO(TAG, "id %lld is taken by another schema; %s version %d lost the race",
                    (long long)id, subj, ver);
            free(refs);
            return;
        }
        free(refs);
    } else {
        if ((size_t)id >= r->idcap) {
            size_t cap = r->idcap ? r->idcap : 64;
            while (cap <= (size_t)id)
                cap *= 2;
            r->ids = sl_realloc(r->ids, cap * sizeof *r->ids);
            memset(r->ids + r->idcap, 0, (cap - r->idcap) * sizeof *r->ids);
            r->idcap = cap;
        }
        sr = sl_calloc(1, sizeof *sr);
        sr->id = (int32_t)id;
        sr->type = t;
        sr->text = sl_strdup(text);
        sr->refs = refs;
        sr->canon = canon_of(t, text, &sr->parsed);
        build_by_id(sr);
        r->ids[id] = sr;
        if (id > r->max_id) r->max_id = (int32_t)id;
    }
    subject *s = get_subject(r, subj);
    bool deleted = json_is_true(json_object_get(val, "deleted"));
    version *v = find_version(s, ver);
    if (v) {
        if (v->id != id) {
            SL_INFO(TAG, "%s version %d is taken by id %d; id %lld lost the race", subj, ver, v->id,
                    (long long)id);
            return;
        }
        v->deleted = deleted;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = sl_realloc(s->v, s->cap * sizeof *s->v);
    }
    size_t i = s->n;
    while (i > 0 && s->v[i - 1].version > ver)
        i--;
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = (version){ver, (int32_t)id, deleted};
    s->n++;
    sr->uses++;
}

static int level_parse(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcasecmp(s, names[i])) return i;
    return -1;
}

static void apply(sl_registry *r, const rd_kafka_message_t *m)
{
    json_error_t je;
    json_t *key = m->key ? json_loadb(m->key, m->key_len, 0, &je) : NULL;
    json_t *val = m->payload ? json_loadb(m->payload, m->len, 0, &je) : NULL;
    const char *kt = json_string_value(json_object_get(key, "keytype"));
    const char *subj = json_string_value(json_object_get(key, "subject"));
    if (!kt) {
        SL_WARN(TAG, "skipping a record without a key type at offset %lld", (long long)m->offset);
    } else if (!strcmp(kt, "SCHEMA") && subj) {
        int32_t ver = (int32_t)json_integer_value(json_object_get(key, "version"));
        subject *s = find_subject(r, subj);
        if (val) {
            apply_schema(r, subj, ver, val);
        } else if (s) {
            for (size_t i = 0; i < s->n; i++)
                if (s->v[i].version == ver) {
                    remove_version(r, s, i);
                    break;
                }
        }
    } else if (!strcmp(kt, "CONFIG") || !strcmp(kt, "MODE")) {
        bool cfg = kt[0] == 'C';
        int lvl = C_UNSET;
        if (val)
            lvl = cfg ? level_parse(json_string_value(json_object_get(val, "compatibilityLevel")),
                                    compat_names, 7)
                      : level_parse(json_string_value(json_object_get(val, "mode")), mode_names, 4);
        if (subj) {
            subject *s = get_subject(r, subj);
            *(cfg ? &s->compat : &s->mode) = lvl;
        } else {
            *(cfg ? &r->compat : &r->mode) = lvl >= 0 ? lvl : (cfg ? C_BACKWARD : M_READWRITE);
        }
    } else if ((!strcmp(kt, "DELETE_SUBJECT") || !strcmp(kt, "CLEAR_SUBJECT")) && subj && val) {
        json_int_t upto = json_integer_value(json_object_get(val, "version"));
        subject *s = find_subject(r, subj);
        for (size_t i = s ? s->n : 0; i > 0; i--) {
            if (s->v[i - 1].version > upto) continue;
            if (kt[0] == 'D')
                s->v[i - 1].deleted = true;
            else
                remove_version(r, s, i - 1);
        }
    }
    json_decref(key);
    json_decref(val);
}

/* ---- the topic ---- */

static void check_ops(sl_registry *r);

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    SL_UNUSED(rk);
    SL_UNUSED(opaque);
    op *o = m->_private;
    o->outstanding--;
    if (m->err)
        o->err = m->err;
    else if (m->offset > o->offset)
        o->offset = m->offset;
}

static void consume_available(sl_registry *r, int timeout_ms)
{
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consume_queue(r->cq, timeout_ms))) {
        timeout_ms = 0;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                SL_WARN(TAG, "reading %s: %s", r->cfg.topic, rd_kafka_message_errstr(m));
        } else {
            apply(r, m);
            r->consumed = m->offset;
        }
        rd_kafka_message_destroy(m);
    }
}

static void pump(sl_registry *r)
{
    char drain[64];
    while (read(r->pipefd[0], drain, sizeof drain) > 0) {
    }
    rd_kafka_poll(r->prod, 0);
    consume_available(r, 0);
    check_ops(r);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    SL_UNUSED(status);
    SL_UNUSED(events);
    pump(h->data);
}

/* The io events only fire when a queue goes from empty to non-empty; the timer also bounds how
 * long a write may wait for its read-back. */
static void on_timer(uv_timer_t *t)
{
    pump(t->data);
}

static op *op_new(sl_registry *r)
{
    op *o = sl_calloc(1, sizeof *o);
    o->r = r;
    o->offset = -1;
    o->deadline = sl_mono_ms() + r->cfg.timeout_ms;
    sl_buf_init(&o->body);
    return o;
}

static void op_produce(op *o, json_t *key, json_t *val)
{
    sl_registry *r = o->r;
    char *k = json_dumps(key, JSON_COMPACT);
    char *v = val ? json_dumps(val, JSON_COMPACT) : NULL;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        r->prod, RD_KAFKA_V_RKT(r->ptopic), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(k, strlen(k)),
        RD_KAFKA_V_VALUE(v, v ? strlen(v) : 0), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
    if (e)
        o->err = e;
    else
        o->outstanding++;
    free(k);
    free(v);
    json_decref(key);
    json_decref(val);
}

static void reg_req_free(reg_req *q)
{
    if (!q) return;
    free(q->subject);
    free(q->text);
    free(q->refs);
    sl_regschema_free(q->parsed);
    free(q);
}

/* ---- answers ---- */

static void reply_error(sl_http_resp *resp, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(sl_http_resp *resp, int status, int code, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = CT;
    sl_buf_reset(&resp->body);
    sl_buf_printf(&resp->body, "{\"error_code\":%d,\"message\":", code);
    sl_http_json_str(&resp->body, m, strlen(m));
    sl_buf_append_str(&resp->body, "}");
}

/* Takes the reference to j. */
static void reply_json(sl_http_resp *resp, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    resp->status = 200;
    resp->content_type = CT;
    sl_buf_reset(&resp->body);
    sl_buf_append_str(&resp->body, s);
    free(s);
    json_decref(j);
}

static void op_finish(op *o, sl_http_resp *resp)
{
    if (o->err) {
        reply_error(resp, 500, 50001, "Error in the backend data store: %s",
                    rd_kafka_err2str(o->err));
        return;
    }
    resp->status = 200;
    resp->content_type = CT;
    sl_buf_reset(&resp->body);
    sl_buf_move(&resp->body, &o->body);
}

static int reg_attempt(sl_registry *r, reg_req *q, sl_http_resp *resp, op **out);
static bool same_schema(const schema_rec *sr, const reg_req *q);

/* A registration read back under another schema lost a race with another registry: it is
 * tried again after a random pause that grows with each loss, so two writers racing for one
 * subject part ways instead of colliding again at once. */
static void schedule_retry(op *o, int64_t now)
{
    int attempts = o->reg->attempts < 7 ? o->reg->attempts : 7;
    int64_t span = (int64_t)10 << attempts; /* 20 ms .. 1.28 s */
    o->retry_at = now + 1 + (int64_t)(sl_mono_ns() % (uint64_t)span);
}

static void check_ops(sl_registry *r)
{
    int64_t now = sl_mono_ms();
    op **pp = &r->ops;
    while (*pp) {
        op *o = *pp;
        bool done = o->outstanding == 0 && (o->err || (o->offset >= 0 && r->consumed >= o->offset));
        bool late = now > o->deadline;
        if ((!done && !late) || (o->retry_at && now < o->retry_at && !late)) {
            pp = &o->next;
            continue;
        }
        sl_http_resp *resp = sl_http_pending_resp(o->p);
        reg_req *q = o->err ? NULL : o->reg;
        if (q && done && !o->retry_at) {
            subject *s = find_subject(r, q->subject);
            version *v = find_version(s, q->version);
            bool won = v && v->id == q->id && same_schema(get_id(r, q->id), q);
            if (!won && ++q->attempts < MAX_ATTEMPTS && !late) {
                schedule_retry(o, now);
                pp = &o->next;
                continue;
            }
            if (won) {
                reply_json(resp, json_pack("{s:i}", "id", (json_int_t)q->id));
            } else if (!late) {
                reply_error(resp, 500, 50001,
                            "Error in the backend data store: gave up after %d conflicting writes",
                            q->attempts);
            } else {
                reply_error(resp, 500, 50002, "Operation timed out");
            }
        } else if (late) {
            reply_error(resp, 500, 50002, "Operation timed out");
        } else if (q) {
            /* the pause is over: write again (or answer, if the schema is there by now) */
            *pp = o->next;
            op *again = NULL;
            o->reg = NULL;
            if (reg_attempt(r, q, resp, &again) == 0 && again) {
                again->p = o->p;
                again->next = r->ops;
                r->ops = again;
                sl_buf_free(&o->body);
                free(o);
                pp = &r->ops;
                continue;
            }
            reg_req_free(q);
            sl_http_resume(o->p);
            sl_buf_free(&o->body);
            free(o);
            continue;
        } else {
            op_finish(o, resp);
        }
        *pp = o->next;
        sl_http_resume(o->p);
        reg_req_free(o->reg);
        sl_buf_free(&o->body);
        free(o);
    }
}

static json_t *key_schema(const char *subj, int32_t v)
{
    return json_pack("{s:s,s:s,s:i,s:i}", "keytype", "SCHEMA", "subject", subj, "version",
                     (json_int_t)v, "magic", 1);
}

static json_t *key_of(const char *kt, const char *subj)
{
    return json_pack("{s:s,s:o,s:i}", "keytype", kt, "subject",
                     subj ? json_string(subj) : json_null(), "magic", 0);
}

static json_t *schema_value(const char *subj, int32_t ver, const schema_rec *sr,
                            sl_regschema_type t, const char *text, const char *refs, bool deleted)
{
    json_t *v = json_pack("{s:s,s:i,s:i}", "subject", subj, "version", (json_int_t)ver, "id",
                          (json_int_t)(sr ? sr->id : 0));
    if (t != SL_SCHEMA_AVRO) json_object_set_new(v, "schemaType", json_string(type_names[t]));
    if (refs) json_object_set_new(v, "references", json_loads(refs, 0, NULL));
    json_object_set_new(v, "schema", json_string(text));
    json_object_set_new(v, "deleted", json_boolean(deleted));
    return v;
}

/* Starts a write: the request waits for the read-back (check_ops answers it). */
static void op_defer(sl_registry *r, op *o, sl_http_req *req)
{
    o->p = sl_http_defer(req);
    o->next = r->ops;
    r->ops = o;
}

/* ---- request helpers ---- */

static bool content_type_ok(sl_http_req *req, sl_http_resp *resp)
{
    const char *ct = sl_http_req_header(req, "Content-Type");
    if (!ct) return true;
    size_t n = strcspn(ct, "; ");
    static const char *const ok[] = {"application/vnd.schemaregistry.v1+json",
                                     "application/vnd.schemaregistry+json", "application/json",
                                     "application/octet-stream"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && !strncasecmp(ct, ok[i], n)) return true;
    reply_error(resp, 415, 415, "HTTP 415 Unsupported Media Type");
    return false;
}

/* The request body as a JSON object, or NULL with the answer set. */
static json_t *body_json(sl_http_req *req, sl_http_resp *resp)
{
    if (!content_type_ok(req, resp)) return NULL;
    sl_slice b = sl_http_req_body(req);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &je);
    if (!j) {
        reply_error(resp, 400, 400, "Unexpected character in the request body: %s (line %d)",
                    je.text, je.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        reply_error(resp, 422, 422, "Unrecognized request body: an object is expected");
        return NULL;
    }
    return j;
}

static bool arg_true(sl_http_req *req, const char *k)
{
    const char *v = sl_http_req_arg(req, k);
    return v && (!strcasecmp(v, "true") || !*v);
}

/* {v|latest}: 0 for latest, -2 for an invalid one (answered). */
static int32_t parse_version(const char *s, sl_http_resp *resp)
{
    if (!strcmp(s, "latest") || !strcmp(s, "-1")) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > INT32_MAX) {
        reply_error(resp, 422, 42202,
                    "The specified version '%s' is not a valid version id. Allowed values are "
                    "between [1, 2^31-1] and the string \"latest\"",
                    s);
        return -2;
    }
    return (int32_t)v;
}

static bool not_found_subject(subject *s, bool deleted, const char *name, sl_http_resp *resp)
{
    if (s && (deleted ? s->n > 0 : latest(s, false) != NULL)) return false;
    reply_error(resp, 404, 40401, "Subject '%s' not found.", name);
    return true;
}

/* The version {v} names, or NULL with the answer set. */
static version *resolve_version(subject *s, const char *name, const char *vs, bool deleted,
                                sl_http_resp *resp)
{
    int32_t v = parse_version(vs, resp);
    if (v == -2) return NULL;
    if (not_found_subject(s, deleted, name, resp)) return NULL;
    version *ver = v == 0 ? latest(s, deleted) : find_version(s, v);
    if (!ver || (ver->deleted && !deleted)) {
        reply_error(resp, 404, 40402, "Version %s not found.", vs);
        return NULL;
    }
    return ver;
}

static json_t *version_json(sl_registry *r, subject *s, version *v)
{
    schema_rec *sr = get_id(r, v->id);
    json_t *j = json_pack("{s:s,s:i,s:i}", "subject", s->name, "version", (json_int_t)v->version,
                          "id", (json_int_t)v->id);
    if (sr->type != SL_SCHEMA_AVRO)
        json_object_set_new(j, "schemaType", json_string(type_names[sr->type]));
    if (sr->refs) json_object_set_new(j, "references", json_loads(sr->refs, 0, NULL));
    json_object_set_new(j, "schema", json_string(sr->text));
    return j;
}

static int effective_compat(sl_registry *r, subject *s)
{
    return s && s->compat != C_UNSET ? s->compat : r->compat;
}

static int effective_mode(sl_registry *r, subject *s)
{
    return s && s->mode != M_UNSET ? s->mode : r->mode;
}

/* The schema a request body describes; NULL with the answer set. */
static reg_req *request_schema(sl_registry *r, json_t *body, const char *subj, sl_http_resp *resp)
{
    json_t *js = json_object_get(body, "schema");
    const char *ts = json_string_value(json_object_get(body, "schemaType"));
    if (!json_is_string(js)) {
        reply_error(resp, 422, 42201, "Invalid schema: the request has no \"schema\" string");
        return NULL;
    }
    size_t len = json_string_length(js);
    if ((int64_t)len > r->cfg.max_schema) {
        reply_error(resp, 422, 42209, "Schema too large: %zu bytes, the limit is %lld", len,
                    (long long)r->cfg.max_schema);
        return NULL;
    }
    sl_regschema_type t = SL_SCHEMA_AVRO;
    if (ts && parse_type(ts, &t)) {
        reply_error(resp, 422, 42201, "Invalid schema type %s", ts);
        return NULL;
    }
    json_t *refs = json_object_get(body, "references");
    if (refs && !json_is_array(refs) && !json_is_null(refs)) {
        reply_error(resp, 422, 42201, "Invalid schema: references must be an array");
        return NULL;
    }
    for (size_t i = 0; json_is_array(refs) && i < json_array_size(refs); i++) {
        json_t *ref = json_array_get(refs, i);
        const char *rs = json_string_value(json_object_get(ref, "subject"));
        json_int_t rv = json_integer_value(json_object_get(ref, "version"));
        version *v = rs ? find_version(find_subject(r, rs), (int32_t)rv) : NULL;
        if (!json_is_string(json_object_get(ref, "name")) || !v || v->deleted) {
            reply_error(resp, 422, 42201, "Invalid schema: reference %zu names no live version", i);
            return NULL;
        }
    }
    char err[512];
    sl_regschema *p = NULL;
    if (!r->types[t]) {
        reply_error(resp, 422, 42201, "Invalid schema type %s: this build does not parse it",
                    type_names[t]);
        return NULL;
    }
    if (sl_regschema_parse(t, json_string_value(js), len, &p, err, sizeof err)) {
        reply_error(resp, 422, 42201, "Invalid schema %s", err);
        return NULL;
    }
    reg_req *q = sl_calloc(1, sizeof *q);
    q->subject = sl_strdup(subj);
    q->type = t;
    q->text = sl_strdup(json_string_value(js));
    q->refs = refs_text(refs);
    q->parsed = p;
    json_t *wid = json_object_get(body, "id"), *wv = json_object_get(body, "version");
    if (json_is_integer(wid) && json_integer_value(wid) > 0)
        q->want_id = (int32_t)json_integer_value(wid);
    if (json_is_integer(wv) && json_integer_value(wv) > 0)
        q->want_version = (int32_t)json_integer_value(wv);
    return q;
}

static bool same_schema(const schema_rec *sr, const reg_req *q)
{
    return sr->type == q->type && same_refs(sr->refs, q->refs) &&
           !strcmp(sr->canon, sl_regschema_canonical(q->parsed));
}

static sl_regschema *parsed_of(schema_rec *sr)
{
    if (!sr->parsed) {
        char err[64];
        sl_regschema_parse(sr->type, sr->text, strlen(sr->text), &sr->parsed, err, sizeof err);
    }
    return sr->parsed;
}

/* Checks q against subject s's versions per level; only: one version, or NULL for the level's
 * set. Reasons go into msgs. */
static bool compatible(sl_registry *r, subject *s, version *only, int level, reg_req *q,
                       json_t *msgs)
{
    if (level == C_NONE || !s) return true;
    bool transitive = level == C_BACKWARD_T || level == C_FORWARD_T || level == C_FULL_T;
    bool back = level != C_FORWARD && level != C_FORWARD_T;
    bool fwd = level != C_BACKWARD && level != C_BACKWARD_T;
    bool ok = true;
    for (size_t i = s->n; i > 0; i--) {
        version *v = &s->v[i - 1];
        if (only ? v != only : v->deleted) continue;
        schema_rec *sr = get_id(r, v->id);
        sl_regschema *old = parsed_of(sr);
        if (sr->type != q->type || !old) {
            json_array_append_new(msgs, json_sprintf("version %d has another schema type (%s)",
                                                     v->version, type_names[sr->type]));
            ok = false;
        } else {
            char **m = NULL;
            size_t nm = 0;
            if (back && !sl_regschema_can_read(q->parsed, old, &m, &nm)) ok = false;
            if (fwd && !sl_regschema_can_read(old, q->parsed, &m, &nm)) ok = false;
            for (size_t k = 0; k < nm; k++) {
                json_array_append_new(msgs,
                                      json_sprintf("{oldSchemaVersion: %d, %s}", v->version, m[k]));
                free(m[k]);
            }
            free(m);
        }
        if (!transitive || only) break;
    }
    return ok;
}

/* One attempt at registering q. Returns 0 with *out set when it wrote a record (the answer comes
 * after the read-back), or 1 with the answer in resp. */
static int reg_attempt(sl_registry *r, reg_req *q, sl_http_resp *resp, op **out)
{
    *out = NULL;
    subject *s = find_subject(r, q->subject);
    int mode = effective_mode(r, s);
    for (size_t i = s ? s->n : 0; i > 0; i--) {
        version *v = &s->v[i - 1];
        if (!v->deleted && same_schema(get_id(r, v->id), q) &&
            (!q->want_id || q->want_id == v->id)) {
            reply_json(resp, json_pack("{s:i}", "id", (json_int_t)v->id));
            return 1;
        }
    }
    if (mode == M_READONLY || mode == M_READONLY_OVERRIDE) {
        reply_error(resp, 422, 42205, "Subject %s is in read-only mode", q->subject);
        return 1;
    }
    if ((q->want_id || q->want_version) && mode != M_IMPORT) {
        reply_error(resp, 422, 42205,
                    "Subject %s is not in import mode: a schema id or version cannot be given",
                    q->subject);
        return 1;
    }
    if (mode != M_IMPORT) {
        json_t *msgs = json_array();
        bool ok = compatible(r, s, NULL, effective_compat(r, s), q, msgs);
        if (!ok) {
            char *m = json_dumps(msgs, JSON_COMPACT);
            reply_error(resp, 409, 409,
                        "Schema being registered is incompatible with an earlier schema for "
                        "subject \"%s\", details: %s",
                        q->subject, m);
            free(m);
            json_decref(msgs);
            return 1;
        }
        json_decref(msgs);
    }
    int32_t id = 0;
    if (q->want_id) {
        schema_rec *sr = get_id(r, q->want_id);
        if (sr && !same_schema(sr, q)) {
            reply_error(resp, 422, 42207, "Overwrite new schema with id %d is not permitted.",
                        q->want_id);
            return 1;
        }
        id = q->want_id;
    } else {
        for (int32_t i = 1; i <= r->max_id && !id; i++)
            if (r->ids[i] && same_schema(r->ids[i], q)) id = i;
        if (!id) id = r->max_id + 1;
    }
    version *lv = latest(s, true);
    int32_t ver = q->want_version ? q->want_version : (lv ? lv->version : 0) + 1;
    if (q->want_version && find_version(s, ver)) {
        reply_error(resp, 422, 42205, "Version %d of subject %s already exists", ver, q->subject);
        return 1;
    }
    q->id = id;
    q->version = ver;
    op *o = op_new(r);
    o->reg = q;
    schema_rec tmp = {.id = id};
    op_produce(o, key_schema(q->subject, ver),
               schema_value(q->subject, ver, &tmp, q->type, q->text, q->refs, false));
    *out = o;
    return 0;
}

/* ---- handlers ---- */

typedef struct call {
    sl_registry *r;
    sl_http_req *req;
    sl_http_resp *resp;
    const char *a[3]; /* the path's {s}, {v}, {id} in order */
} call;

static void h_root(call *c)
{
    reply_json(c->resp, json_object());
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void h_subjects(call *c)
{
    bool del = arg_true(c->req, "deleted");
    const char *prefix = sl_http_req_arg(c->req, "subjectPrefix");
    const char **names = sl_calloc(c->r->nsubjects + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < c->r->nsubjects; i++) {
        subject *s = c->r->subjects[i];
        if (!(del ? s->n > 0 : latest(s, false) != NULL)) continue;
        if (prefix && strncmp(s->name, prefix, strlen(prefix))) continue;
        names[n++] = s->name;
    }
    qsort(names, n, sizeof *names, cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    free(names);
    reply_json(c->resp, a);
}

static void h_lookup(call *c)
{
    json_t *body = body_json(c->req, c->resp);
    if (!body) return;
    reg_req *q = request_schema(c->r, body, c->a[0], c->resp);
    json_decref(body);
    if (!q) return;
    bool del = arg_true(c->req, "deleted");
    subject *s = find_subject(c->r, c->a[0]);
    if (!not_found_subject(s, del, c->a[0], c->resp)) {
        version *hit = NULL;
        for (size_t i = s->n; i > 0 && !hit; i--)
            if ((del || !s->v[i - 1].deleted) && same_schema(get_id(c->r, s->v[i - 1].id), q))
                hit = &s->v[i - 1];
        if (hit)
            reply_json(c->resp, version_json(c->r, s, hit));
        else
            reply_error(c->resp, 404, 40403, "Schema not found");
    }
    reg_req_free(q);
}

static void h_register(call *c)
{
    json_t *body = body_json(c->req, c->resp);
    if (!body) return;
    reg_req *q = request_schema(c->r, body, c->a[0], c->resp);
    json_decref(body);
    if (!q) return;
    op *o = NULL;
    if (reg_attempt(c->r, q, c->resp, &o) == 0)
        op_defer(c->r, o, c->req);
    else
        reg_req_free(q);
}

static void h_versions(call *c)
{
    bool del = arg_true(c->req, "deleted");
    subject *s = find_subject(c->r, c->a[0]);
    if (not_found_subject(s, del, c->a[0], c->resp)) return;
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        if (del || !s->v[i].deleted) json_array_append_new(a, json_integer(s->v[i].version));
    reply_json(c->resp, a);
}

static void h_version(call *c)
{
    subject *s = find_subject(c->r, c->a[0]);
    version *v = resolve_version(s, c->a[0], c->a[1], arg_true(c->req, "deleted"), c->resp);
    if (v) reply_json(c->resp, version_json(c->r, s, v));
}

static void h_version_schema(call *c)
{
    subject *s = find_subject(c->r, c->a[0]);
    version *v = resolve_version(s, c->a[0], c->a[1], arg_true(c->req, "deleted"), c->resp);
    if (!v) return;
    c->resp->content_type = CT;
    sl_buf_append_str(&c->resp->body, get_id(c->r, v->id)->text);
}

/* Ids of the schemas whose references name subject s's version v. */
static json_t *referenced_by(sl_registry *r, const char *s, int32_t v)
{
    json_t *a = json_array();
    for (int32_t i = 1; i <= r->max_id; i++) {
        schema_rec *sr = r->ids[i];
        if (!sr || !sr->refs || sr->uses == 0) continue;
        json_t *refs = json_loads(sr->refs, 0, NULL);
        size_t k;
        json_t *ref;
        json_array_foreach(refs, k, ref)
        {
            const char *rs = json_string_value(json_object_get(ref, "subject"));
            if (rs && !strcmp(rs, s) && json_integer_value(json_object_get(ref, "version")) == v) {
                json_array_append_new(a, json_integer(i));
                break;
            }
        }
        json_decref(refs);
    }
    return a;
}

static void h_referencedby(call *c)
{
    subject *s = find_subject(c->r, c->a[0]);
    version *v = resolve_version(s, c->a[0], c->a[1], true, c->resp);
    if (v) reply_json(c->resp, referenced_by(c->r, s->name, v->version));
}

static bool read_only(call *c, subject *s)
{
    int m = effective_mode(c->r, s);
    if (m != M_READONLY && m != M_READONLY_OVERRIDE) return false;
    reply_error(c->resp, 422, 42205, "Subject %s is in read-only mode", c->a[0]);
    return true;
}

static void h_delete_version(call *c)
{
    bool perm = arg_true(c->req, "permanent");
    subject *s = find_subject(c->r, c->a[0]);
    int32_t vn = parse_version(c->a[1], c->resp);
    if (vn == -2 || not_found_subject(s, true, c->a[0], c->resp) || read_only(c, s)) return;
    version *v = vn == 0 ? latest(s, perm) : find_version(s, vn);
    if (!v) {
        reply_error(c->resp, 404, 40402, "Version %s not found.", c->a[1]);
        return;
    }
    if (v->deleted && !perm) {
        reply_error(c->resp, 404, 40406,
                    "Subject '%s' Version %d was soft deleted.Set permanent=true to delete "
                    "permanently",
                    s->name, v->version);
        return;
    }
    if (!v->deleted && perm) {
        reply_error(c->resp, 404, 40407,
                    "Subject '%s' Version %d was not deleted first before being permanently "
                    "deleted",
                    s->name, v->version);
        return;
    }
    json_t *refd = referenced_by(c->r, s->name, v->version);
    size_t nref = json_array_size(refd);
    json_decref(refd);
    if (nref) {
        reply_error(c->resp, 422, 42206,
                    "One or more references exist to the schema {subject=%s,version=%d}.", s->name,
                    v->version);
        return;
    }
    op *o = op_new(c->r);
    schema_rec *sr = get_id(c->r, v->id);
    op_produce(o, key_schema(s->name, v->version),
               perm ? NULL
                    : schema_value(s->name, v->version, sr, sr->type, sr->text, sr->refs, true));
    sl_buf_printf(&o->body, "%d", v->version);
    op_defer(c->r, o, c->req);
}

static void h_delete_subject(call *c)
{
    bool perm = arg_true(c->req, "permanent");
    subject *s = find_subject(c->r, c->a[0]);
    if (not_found_subject(s, true, c->a[0], c->resp) || read_only(c, s)) return;
    version *lv = latest(s, false);
    if (!perm && !lv) {
        reply_error(c->resp, 404, 40404,
                    "Subject '%s' was soft deleted.Set permanent=true to delete permanently",
                    s->name);
        return;
    }
    if (perm && lv) {
        reply_error(c->resp, 404, 40405,
                    "Subject '%s' was not deleted first before being permanently deleted", s->name);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        json_t *refd = referenced_by(c->r, s->name, s->v[i].version);
        size_t nref = json_array_size(refd);
        json_decref(refd);
        if (nref) {
            reply_error(c->resp, 422, 42206,
                        "One or more references exist to the schema {subject=%s,version=%d}.",
                        s->name, s->v[i].version);
            return;
        }
    }
    op *o = op_new(c->r);
    sl_buf_append_str(&o->body, "[");
    bool first = true;
    for (size_t i = 0; i < s->n; i++) {
        version *v = &s->v[i];
        if (!perm && v->deleted) continue;
        schema_rec *sr = get_id(c->r, v->id);
        op_produce(o, key_schema(s->name, v->version),
                   perm
                       ? NULL
                       : schema_value(s->name, v->version, sr, sr->type, sr->text, sr->refs, true));
        sl_buf_printf(&o->body, "%s%d", first ? "" : ",", v->version);
        first = false;
    }
    sl_buf_append_str(&o->body, "]");
    if (perm)
        op_produce(o, key_of("DELETE_SUBJECT", s->name), NULL);
    else
        op_produce(o, key_of("DELETE_SUBJECT", s->name),
                   json_pack("{s:s,s:i}", "subject", s->name, "version", (json_int_t)lv->version));
    op_defer(c->r, o, c->req);
}

static bool id_arg(call *c, schema_rec **out)
{
    char *end;
    errno = 0;
    long long id = strtoll(c->a[0], &end, 10);
    schema_rec *sr = errno || *end || end == c->a[0] ? NULL : get_id(c->r, id);
    if (!sr || sr->uses == 0) {
        reply_error(c->resp, 404, 40403, "Schema %s not found", c->a[0]);
        return false;
    }
    *out = sr;
    return true;
}

static void h_schema_by_id(call *c)
{
    schema_rec *sr;
    if (!id_arg(c, &sr)) return;
    c->resp->content_type = CT;
    sl_buf_append_str(&c->resp->body, sr->by_id);
}

static void h_schema_by_id_raw(call *c)
{
    schema_rec *sr;
    if (!id_arg(c, &sr)) return;
    c->resp->content_type = CT;
    sl_buf_append_str(&c->resp->body, sr->text);
}

static void h_schema_id_versions(call *c, bool subjects_only)
{
    schema_rec *sr;
    if (!id_arg(c, &sr)) return;
    bool del = arg_true(c->req, "deleted");
    json_t *a = json_array();
    for (size_t i = 0; i < c->r->nsubjects; i++) {
        subject *s = c->r->subjects[i];
        for (size_t k = 0; k < s->n; k++) {
            if (s->v[k].id != sr->id || (s->v[k].deleted && !del)) continue;
            if (subjects_only) {
                json_array_append_new(a, json_string(s->name));
                break;
            }
            json_array_append_new(a, json_pack("{s:s,s:i}", "subject", s->name, "version",
                                               (json_int_t)s->v[k].version));
        }
    }
    reply_json(c->resp, a);
}

static void h_schema_id_versions_v(call *c)
{
    h_schema_id_versions(c, false);
}

static void h_schema_id_subjects(call *c)
{
    h_schema_id_versions(c, true);
}

static void h_types(call *c)
{
    json_t *a = json_array();
    for (int t = 0; t < 3; t++)
        if (c->r->types[t]) json_array_append_new(a, json_string(type_names[t]));
    reply_json(c->resp, a);
}

/* GET/PUT/DELETE of /config and /mode, global (c->a[0] NULL) or per subject. */
static void level_endpoint(call *c, bool cfg)
{
    const char *m = sl_http_req_method(c->req);
    const char *field = cfg ? "compatibilityLevel" : "mode";
    const char *const *names = cfg ? compat_names : mode_names;
    int nnames = cfg ? 7 : 4;
    subject *s = c->a[0] ? find_subject(c->r, c->a[0]) : NULL;
    int cur = c->a[0] ? (s ? (cfg ? s->compat : s->mode) : -1) : (cfg ? c->r->compat : c->r->mode);
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        if (cur < 0 && arg_true(c->req, "defaultToGlobal")) cur = cfg ? c->r->compat : c->r->mode;
        if (cur < 0) {
            if (cfg)
                reply_error(c->resp, 404, 40408,
                            "Subject '%s' does not have subject-level compatibility configured",
                            c->a[0]);
            else
                reply_error(c->resp, 404, 40409,
                            "Subject '%s' does not have subject-level mode configured", c->a[0]);
            return;
        }
        reply_json(c->resp, json_pack("{s:s}", field, names[cur]));
        return;
    }
    op *o;
    if (!strcmp(m, "DELETE")) {
        if (!s || (cur < 0 && s->n == 0)) {
            reply_error(c->resp, 404, 40401, "Subject '%s' not found.", c->a[0]);
            return;
        }
        o = op_new(c->r);
        int shown = cur >= 0 ? cur : (cfg ? c->r->compat : c->r->mode);
        sl_buf_printf(&o->body, "{\"%s\":\"%s\"}", field, names[shown]);
        op_produce(o, key_of(cfg ? "CONFIG" : "MODE", c->a[0]), NULL);
        op_defer(c->r, o, c->req);
        return;
    }
    json_t *body = body_json(c->req, c->resp);
    if (!body) return;
    const char *want = json_string_value(json_object_get(body, cfg ? "compatibility" : "mode"));
    int lvl = level_parse(want, names, nnames);
    json_decref(body);
    if (lvl < 0) {
        if (cfg)
            reply_error(c->resp, 422, 42203,
                        "Invalid compatibility level. Valid values are none, backward, forward, "
                        "full, backward_transitive, forward_transitive, and full_transitive");
        else
            reply_error(c->resp, 422, 42204,
                        "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, "
                        "IMPORT");
        return;
    }
    if (!cfg && lvl == M_IMPORT && !arg_true(c->req, "force")) {
        bool empty = true;
        for (size_t i = 0; i < c->r->nsubjects && empty; i++) {
            subject *x = c->r->subjects[i];
            if ((!c->a[0] || x == s) && x->n > 0) empty = false;
        }
        if (!empty) {
            reply_error(c->resp, 422, 42205,
                        "Cannot import since found existing subjects; use force=true");
            return;
        }
    }
    o = op_new(c->r);
    sl_buf_printf(&o->body, "{\"%s\":\"%s\"}", cfg ? "compatibility" : "mode", names[lvl]);
    op_produce(o, key_of(cfg ? "CONFIG" : "MODE", c->a[0]), json_pack("{s:s}", field, names[lvl]));
    op_defer(c->r, o, c->req);
}

static void h_config(call *c)
{
    level_endpoint(c, true);
}

static void h_mode(call *c)
{
    level_endpoint(c, false);
}

static void h_compat(call *c)
{
    json_t *body = body_json(c->req, c->resp);
    if (!body) return;
    reg_req *q = request_schema(c->r, body, c->a[0], c->resp);
    json_decref(body);
    if (!q) return;
    subject *s = find_subject(c->r, c->a[0]);
    version *only = NULL;
    if (c->a[1]) {
        only = resolve_version(s, c->a[0], c->a[1], false, c->resp);
        if (!only) {
            reg_req_free(q);
            return;
        }
    }
    json_t *msgs = json_array();
    bool ok = compatible(c->r, s, only, effective_compat(c->r, s), q, msgs);
    json_t *j = json_pack("{s:b}", "is_compatible", ok);
    if (arg_true(c->req, "verbose")) json_object_set(j, "messages", msgs);
    json_decref(msgs);
    reply_json(c->resp, j);
    reg_req_free(q);
}

typedef struct endpoint {
    const char *method;  /* "GET" also answers HEAD */
    const char *pattern; /* '*' is one path segment, captured */
    void (*fn)(call *c);
} endpoint;

static const endpoint endpoints[] = {
    {"GET", "", h_root},
    {"GET", "subjects", h_subjects},
    {"POST", "subjects/*", h_lookup},
    {"DELETE", "subjects/*", h_delete_subject},
    {"GET", "subjects/*/versions", h_versions},
    {"POST", "subjects/*/versions", h_register},
    {"GET", "subjects/*/versions/*", h_version},
    {"DELETE", "subjects/*/versions/*", h_delete_version},
    {"GET", "subjects/*/versions/*/schema", h_version_schema},
    {"GET", "subjects/*/versions/*/referencedby", h_referencedby},
    {"GET", "schemas/ids/*", h_schema_by_id},
    {"GET", "schemas/ids/*/schema", h_schema_by_id_raw},
    {"GET", "schemas/ids/*/versions", h_schema_id_versions_v},
    {"GET", "schemas/ids/*/subjects", h_schema_id_subjects},
    {"GET", "schemas/types", h_types},
    {"GET", "config", h_config},
    {"PUT", "config", h_config},
    {"GET", "config/*", h_config},
    {"PUT", "config/*", h_config},
    {"DELETE", "config/*", h_config},
    {"POST", "compatibility/subjects/*/versions/*", h_compat},
    {"POST", "compatibility/subjects/*/versions", h_compat},
    {"GET", "mode", h_mode},
    {"PUT", "mode", h_mode},
    {"GET", "mode/*", h_mode},
    {"PUT", "mode/*", h_mode},
    {"DELETE", "mode/*", h_mode},
};

/* Matches path (without its leading '/') against pattern, capturing '*' segments into c->a. */
static bool match(const char *pattern, const char *path, call *c, char *scratch)
{
    int na = 0;
    c->a[0] = c->a[1] = c->a[2] = NULL;
    strcpy(scratch, path);
    char *p = scratch;
    const char *q = pattern;
    for (;;) {
        size_t pl = strcspn(p, "/"), ql = strcspn(q, "/");
        if (ql == 1 && q[0] == '*') {
            if (pl == 0 || na == 3) return false;
            c->a[na++] = p;
        } else if (pl != ql || strncmp(p, q, pl)) {
            return false;
        }
        bool pend = p[pl] == '\0', qend = q[ql] == '\0';
        if (pend != qend) return false;
        p[pl] = '\0';
        if (pend) return true;
        p += pl + 1;
        q += ql + 1;
    }
}

static void on_request(sl_http_req *req, sl_http_resp *resp, void *arg)
{
    call c = {.r = arg, .req = req, .resp = resp};
    if (c.r->users &&
        !sl_auth_users_check_basic(c.r->users, sl_http_req_header(req, "Authorization"))) {
        sl_http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"sluice registry\"");
        reply_error(resp, 401, 401, "Unauthorized");
        return;
    }
    const char *path = sl_http_req_path(req);
    const char *method = sl_http_req_method(req);
    if (!strcmp(method, "HEAD")) method = "GET";
    while (*path == '/')
        path++;
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/')
        len--;
    char *trimmed = sl_strndup(path, len);
    char *scratch = sl_malloc(len + 1);
    bool path_known = false;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        if (!match(endpoints[i].pattern, trimmed, &c, scratch)) continue;
        path_known = true;
        if (strcmp(endpoints[i].method, method)) continue;
        /* the compatibility route without a version leaves a[1] NULL */
        endpoints[i].fn(&c);
        free(scratch);
        free(trimmed);
        return;
    }
    if (path_known)
        reply_error(resp, 405, 405, "HTTP 405 Method Not Allowed");
    else
        reply_error(resp, 404, 404, "HTTP 404 Not Found");
    free(scratch);
    free(trimmed);
}

static const sl_http_route routes[] = {
    {NULL, "/*", on_request},     {"POST", "/*", on_request}, {"PUT", "/*", on_request},
    {"DELETE", "/*", on_request}, {NULL, NULL, NULL},
};

/* ---- start and stop ---- */

static rd_kafka_t *new_client(rd_kafka_type_t type, const sl_registry_config *cfg, sl_registry *r)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka, err, sizeof err) ||
        rd_kafka_conf_set(conf, "client.id", "sluice-registry", err, sizeof err) ||
        (type == RD_KAFKA_PRODUCER &&
         (rd_kafka_conf_set(conf, "acks", "all", err, sizeof err) ||
          rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err))) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err) ||
          rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err))) ||
        sl_auth_kafka_conf(conf, err, sizeof err)) {
        SL_ERROR(TAG, "kafka config: %s", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) SL_ERROR(TAG, "kafka client: %s", err);
    return rk;
}

static int create_topic(sl_registry *r, int64_t deadline)
{
    bool compact = true;
    for (;;) {
        char err[256];
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(r->cfg.topic, 1, 1, err, sizeof err);
        if (compact) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        rd_kafka_queue_t *q = rd_kafka_queue_new(r->prod);
        rd_kafka_CreateTopics(r->prod, &nt, 1, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(
            q, (int)(deadline - sl_mono_ms() > 0 ? deadline - sl_mono_ms() : 1));
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        const char *why = "timed out";
        if (ev) {
            e = rd_kafka_event_error(ev);
            why = rd_kafka_event_error_string(ev);
            const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
            size_t n = 0;
            const rd_kafka_topic_result_t **tr =
                res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
            if (!e && n == 1) {
                e = rd_kafka_topic_result_error(tr[0]);
                why = rd_kafka_topic_result_error_string(tr[0]);
            }
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                SL_INFO(TAG, "created %s (cleanup.policy=compact)", r->cfg.topic);
            e = 0;
        } else {
            why = why ? why : rd_kafka_err2str(e);
        }
        char msg[256];
        snprintf(msg, sizeof msg, "%s", why ? why : "");
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        if (e == 0) return 0;
        /* Correctness never depends on compaction (the latest record per key wins on replay),
         * so a cluster that refuses the policy still gets a working, uncompacted topic. */
        if (e == RD_KAFKA_RESP_ERR_INVALID_CONFIG && compact) {
            SL_WARN(TAG,
                    "the cluster refused cleanup.policy=compact for %s (%s); creating it "
                    "without: it will grow with every change",
                    r->cfg.topic, msg);
            compact = false;
            continue;
        }
        if (sl_mono_ms() > deadline) {
            SL_ERROR(TAG, "cannot create %s on %s: %s", r->cfg.topic, r->cfg.kafka, msg);
            return SL_ERR_CONFIG;
        }
        usleep(200 * 1000);
    }
}

static int replay(sl_registry *r, int64_t deadline)
{
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_query_watermark_offsets(r->cons, r->cfg.topic, 0, &lo, &hi, 5000))) {
        if (sl_mono_ms() > deadline) {
            SL_ERROR(TAG, "cannot read %s's offsets: %s", r->cfg.topic, rd_kafka_err2str(e));
            return SL_ERR_CONFIG;
        }
        usleep(200 * 1000);
    }
    if (rd_kafka_consume_start_queue(r->ctopic, 0, RD_KAFKA_OFFSET_BEGINNING, r->cq)) {
        SL_ERROR(TAG, "cannot consume %s: %s", r->cfg.topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return SL_ERR_CONFIG;
    }
    /* Compaction leaves gaps, so the end is reached when the last consumed offset is hi-1 or
     * nothing more comes after a record at or beyond it. */
    while (hi > 0 && r->consumed < hi - 1) {
        if (sl_mono_ms() > deadline) {
            SL_ERROR(TAG, "replaying %s: at offset %lld of %lld when the startup timeout ran out",
                     r->cfg.topic, (long long)r->consumed, (long long)hi);
            return SL_ERR_CONFIG;
        }
        consume_available(r, 200);
        int64_t nlo, nhi;
        if (r->consumed < hi - 1 &&
            !rd_kafka_query_watermark_offsets(r->cons, r->cfg.topic, 0, &nlo, &nhi, 1000)) {
            /* a compacted tail: nothing left to read below hi */
            rd_kafka_topic_partition_list_t *pl = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(pl, r->cfg.topic, 0);
            rd_kafka_position(r->cons, pl);
            int64_t pos = pl->elems[0].offset;
            rd_kafka_topic_partition_list_destroy(pl);
            if (pos >= hi) break;
        }
    }
    int ids = 0;
    for (int32_t i = 1; i <= r->max_id; i++)
        ids += r->ids[i] != NULL;
    SL_INFO(TAG, "replayed %s to offset %lld: %zu subjects, %d schemas", r->cfg.topic,
            (long long)hi, r->nsubjects, ids);
    return 0;
}

int sl_registry_open(uv_loop_t *loop, const sl_registry_config *cfg, sl_registry **out)
{
    *out = NULL;
    sl_registry *r = sl_calloc(1, sizeof *r);
    r->cfg = *cfg;
    r->loop = loop;
    r->consumed = -1;
    r->compat = C_BACKWARD;
    r->mode = M_READWRITE;
    r->pipefd[0] = r->pipefd[1] = -1;
    for (int t = 0; t < 3; t++) {
        sl_regschema *p = NULL;
        char err[64];
        static const char *const probe[] = {"\"int\"", "{}", "syntax = \"proto3\";"};
        r->types[t] = sl_regschema_parse((sl_regschema_type)t, probe[t], strlen(probe[t]), &p, err,
                                         sizeof err) == 0;
        sl_regschema_free(p);
    }
    int64_t deadline = sl_mono_ms() + cfg->startup_ms;
    int rc = SL_ERR_CONFIG;
    char aerr[512];
    if (cfg->auth_file && (rc = sl_auth_users_load(cfg->auth_file, &r->users, aerr, sizeof aerr))) {
        SL_ERROR(TAG, "auth-file %s", aerr);
        goto fail;
    }
    rc = SL_ERR_CONFIG;
    if (!(r->prod = new_client(RD_KAFKA_PRODUCER, cfg, r))) goto fail;
    if (!(r->cons = new_client(RD_KAFKA_CONSUMER, cfg, r))) goto fail;
    r->cq = rd_kafka_queue_new(r->cons);
    r->mainq = rd_kafka_queue_get_main(r->prod);
    /* Before any topic handle: its metadata request could auto-create the topic without the
     * compact policy. */
    if ((rc = create_topic(r, deadline))) goto fail;
    r->ptopic = rd_kafka_topic_new(r->prod, cfg->topic, NULL);
    r->ctopic = rd_kafka_topic_new(r->cons, cfg->topic, NULL);
    if ((rc = replay(r, deadline))) goto fail;
    if (pipe2(r->pipefd, O_NONBLOCK | O_CLOEXEC)) {
        rc = -errno;
        goto fail;
    }
    rd_kafka_queue_io_event_enable(r->cq, r->pipefd[1], "c", 1);
    rd_kafka_queue_io_event_enable(r->mainq, r->pipefd[1], "p", 1);
    uv_poll_init(loop, &r->poll, r->pipefd[0]);
    r->poll.data = r;
    uv_poll_start(&r->poll, UV_READABLE, on_poll);
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_timer, 50, 50);
    sl_http_config hc = {.listen = cfg->listen,
                         .name = TAG,
                         .routes = routes,
                         .arg = r,
                         /* room for a schema at the limit however its JSON string escapes */
                         .max_body_bytes = (size_t)cfg->max_schema * 6 + 65536,
                         .max_connections = (unsigned)cfg->max_connections,
                         .tls_cert = cfg->tls_cert,
                         .tls_key = cfg->tls_key};
    if ((rc = sl_http_open(loop, &hc, &r->http))) {
        sl_registry_close(r);
        return rc;
    }
    *out = r;
    return 0;
fail:
    sl_registry_close(r);
    return rc;
}

int sl_registry_port(const sl_registry *r)
{
    return sl_http_port(r->http);
}

static void free_state(sl_registry *r)
{
    sl_auth_users_free(r->users);
    r->users = NULL;
    for (size_t i = 0; i < r->idcap; i++)
        schema_rec_free(r->ids[i]);
    free(r->ids);
    for (size_t i = 0; i < r->nsubjects; i++) {
        free(r->subjects[i]->name);
        free(r->subjects[i]->v);
        free(r->subjects[i]);
    }
    free(r->subjects);
}

static void on_closed(uv_handle_t *h)
{
    sl_registry *r = h->data;
    if (--r->closing == 0) free(r);
}

void sl_registry_close(sl_registry *r)
{
    if (!r) return;
    if (r->http) sl_http_close(r->http);
    if (r->pipefd[0] >= 0) {
        rd_kafka_queue_io_event_enable(r->cq, -1, NULL, 0);
        rd_kafka_queue_io_event_enable(r->mainq, -1, NULL, 0);
    }
    if (r->prod) {
        /* Delivery reports still point at ops: let them arrive before the ops go. */
        rd_kafka_flush(r->prod, 2000);
        rd_kafka_purge(r->prod, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->prod, 0);
    }
    /* The closed server answers 503 to what it still holds; resuming frees each. */
    while (r->ops) {
        op *o = r->ops;
        r->ops = o->next;
        sl_http_resume(o->p);
        reg_req_free(o->reg);
        sl_buf_free(&o->body);
        free(o);
    }
    if (r->ctopic && r->pipefd[0] >= 0) rd_kafka_consume_stop(r->ctopic, 0);
    if (r->cq) rd_kafka_queue_destroy(r->cq);
    if (r->mainq) rd_kafka_queue_destroy(r->mainq);
    if (r->ptopic) rd_kafka_topic_destroy(r->ptopic);
    if (r->ctopic) rd_kafka_topic_destroy(r->ctopic);
    if (r->prod) rd_kafka_destroy(r->prod);
    if (r->cons) rd_kafka_destroy(r->cons);
    free_state(r);
    if (r->pipefd[0] < 0) {
        free(r);
        return;
    }
    close(r->pipefd[0]);
    close(r->pipefd[1]);
    /* r holds the handles: it goes when both have closed, on the loop's next run. */
    r->closing = 2;
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_closed);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_closed);
}
