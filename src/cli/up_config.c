/* up_config.c: every section of sluice.yaml, checked at once, and the example file.
 *
 * Each component keeps its own option table (the same table serves its flags); this file only
 * lists them, so a key added to a component shows up in the check and the example at once. */
#include "cli/up_config.h"
#include "cli/commands.h"
#include "console/console.h"
#include "cql/server.h"
#include "kafka/broker.h"
#include "pipeline/fakeapi.h"
#include "pipeline/process.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

#define OPT_END                                                                                    \
    {                                                                                              \
        NULL, 0, NULL, 0, NULL, NULL, 0, 0                                                         \
    }

/* `kafka:` and `cassandra:` name real clusters; `up` reads them itself (cmd_up.c). */
typedef struct clusters {
    char *bootstrap, *kafka_tls_ca;
    char *contact_points, *user, *password, *tls_ca;
} clusters;

static const sl_opt kafka_opts[] = {
    {"bootstrap", SL_OPT_STR, NULL, offsetof(clusters, bootstrap),
     "a real Kafka cluster, HOST:PORT[,HOST:PORT...]: set, `up` starts no embedded broker", NULL, 0,
     0},
    {"tls_ca", SL_OPT_STR, NULL, offsetof(clusters, kafka_tls_ca),
     "PEM CA file: the pipeline's Kafka clients use TLS (security.protocol SSL) and check the "
     "broker's certificate (needed with broker.tls-cert)",
     NULL, 0, 0},
    OPT_END,
};

static const sl_opt cassandra_opts[] = {
    {"contact_points", SL_OPT_STR, NULL, offsetof(clusters, contact_points),
     "a real Cassandra cluster, HOST:PORT[,HOST:PORT...]: set, `up` starts no embedded store", NULL,
     0, 0},
    {"user", SL_OPT_STR, "cassandra", offsetof(clusters, user),
     "user the pipeline logs in as (the embedded store's default)", NULL, 0, 0},
    {"password", SL_OPT_STR, "cassandra", offsetof(clusters, password), "that user's password",
     NULL, 0, 0},
    {"tls_ca", SL_OPT_STR, NULL, offsetof(clusters, tls_ca),
     "PEM CA file: the pipeline's CQL clients use TLS and check the store's certificate (needed "
     "with store.tls-cert)",
     NULL, 0, 0},
    OPT_END,
};

const sl_opt sl_up_opts[] = {
    {"data_dir", SL_OPT_STR, "./sluice-data", offsetof(sl_up_args, data_dir),
     "where every component keeps its data (one subdirectory each)", NULL, 0, 0},
    {"ingest_duration", SL_OPT_DURATION, "60s", offsetof(sl_up_args, ingest_ms),
     "how long the first ingest run pulls users from the API (0: no first run)", NULL, 0, 0},
    {"partitions", SL_OPT_INT, "1", offsetof(sl_up_args, partitions),
     "partitions of users_created when up creates it", NULL, 1, 10000},
    {"check", SL_OPT_BOOL, "false", offsetof(sl_up_args, check),
     "check the config and print what would start, then exit (a flag only)", NULL, 0, 0},
    {"print_config", SL_OPT_BOOL, "false", offsetof(sl_up_args, print_config),
     "print the example sluice.yaml with every key and its default, then exit (a flag only)", NULL,
     0, 0},
    OPT_END,
};

static int check_pipeline(const sl_yaml *sec, sl_errs *errs);
static void example_pipeline(FILE *out);

typedef struct section {
    const char *name;
    const char *about;
    const sl_opt *tbl;
    size_t size;                                      /* of the object tbl fills */
    int (*check)(const sl_yaml *sec, sl_errs *errs);  /* instead of tbl alone */
    void (*example)(FILE *out);                       /* extra lines after the table's keys */
    int (*post)(void *obj, char *err, size_t errlen); /* the component's cross-key check */
} section;

static int post_broker(void *obj, char *err, size_t errlen)
{
    return sl_broker_config_check(obj, err, errlen);
}

static int post_store(void *obj, char *err, size_t errlen)
{
    return sl_cql_server_config_check(obj, err, errlen);
}

static int post_fakeapi(void *obj, char *err, size_t errlen)
{
    return sl_fakeapi_config_check(obj, err, errlen);
}

static const section sections[] = {
    {.name = "up",
     .about = "sluice up itself (flags of the same names override)",
     .tbl = sl_up_opts,
     .size = sizeof(sl_up_args)},
    {.name = "kafka",
     .about = "real clusters instead of the embedded engines",
     .tbl = kafka_opts,
     .size = sizeof(clusters)},
    {.name = "cassandra", .tbl = cassandra_opts, .size = sizeof(clusters)},
    {.name = "broker",
     .about = "sluice broker: the Kafka-wire broker",
     .tbl = sl_broker_opts,
     .size = sizeof(sl_broker_config),
     .post = post_broker},
    {.name = "store",
     .about = "sluice store: the CQL-wire store",
     .tbl = sl_cql_server_opts,
     .size = sizeof(sl_cql_server_config),
     .post = post_store},
    {.name = "fake-api",
     .about = "sluice fake-api: randomuser.me 1.4, offline",
     .tbl = sl_fakeapi_opts,
     .size = sizeof(sl_fakeapi_config),
     .post = post_fakeapi},
    {.name = "scheduler",
     .about =
         "sluice scheduler: Airflow-style DAGs (up passes --data-dir and --dags, and --listen:\n"
         "# this section's listen, else 127.0.0.1:8082, as the console has 8080)",
     .tbl = sl_scheduler_cli_opts,
     .size = 0},
    {.name = "registry",
     .about = "sluice registry: a Confluent-compatible Schema Registry",
     .tbl = sl_registry_opts,
     .size = sizeof(sl_registry_config)},
    {.name = "console",
     .about = "sluice console: the web console, JSON API and /metrics (up passes every address\n"
              "# and --data-dir; the processor's metrics_listen, default 127.0.0.1:8083 under up)",
     .tbl = sl_console_opts,
     .size = sizeof(sl_console_config)},
    {.name = "pipeline",
     .about = "sluice process: topic -> schema -> sink",
     .tbl = sl_process_opts,
     .size = sizeof(sl_process_config),
     .check = check_pipeline,
     .example = example_pipeline},
};

#define NSECTIONS (sizeof sections / sizeof sections[0])

static int check_pipeline(const sl_yaml *sec, sl_errs *errs)
{
    sl_process_config cfg;
    sl_process_config_init(&cfg);
    int n = sl_process_config_apply(&cfg, sec, errs);
    char err[256];
    if (n == 0 && sl_process_config_check(&cfg, err, sizeof err)) {
        sl_errs_add(errs, sec->file, sec->line, "pipeline: %s", err);
        n++;
    }
    sl_process_config_free(&cfg);
    return n;
}

static int check_table(const section *s, const sl_yaml *sec, sl_errs *errs)
{
    /* The scheduler's object size is a variable, not a constant expression. */
    size_t size = s->size ? s->size : sl_scheduler_cli_opts_size;
    void *obj = sl_calloc(1, size);
    sl_config_defaults(s->tbl, obj);
    int n = sl_config_apply(s->tbl, obj, sec, s->name, errs);
    char err[256];
    if (n == 0 && s->post && s->post(obj, err, sizeof err)) {
        sl_errs_add(errs, sec->file, sec->line, "%s: %s", s->name, err);
        n++;
    }
    sl_config_free(s->tbl, obj);
    sl_free(obj);
    return n;
}

int sl_up_config_check(const sl_yaml *root, sl_errs *errs)
{
    if (!root) return 0;
    if (root->kind != SL_YAML_MAP) {
        sl_errs_add(errs, root->file, root->line, "expected a map of sections");
        return 1;
    }
    int n = 0;
    for (size_t i = 0; i < root->n; i++) {
        const section *s = NULL;
        for (size_t j = 0; j < NSECTIONS; j++)
            if (!strcmp(sections[j].name, root->keys[i])) s = &sections[j];
        if (!s) {
            char known[256] = "";
            for (size_t j = 0; j < NSECTIONS; j++) {
                strcat(known, j ? ", " : "");
                strcat(known, sections[j].name);
            }
            sl_errs_add(errs, root->file, root->key_lines[i], "%s: unknown section (known: %s)",
                        root->keys[i], known);
            n++;
            continue;
        }
        const sl_yaml *sec = root->items[i];
        if (sec->kind == SL_YAML_SCALAR && !sec->scalar) continue; /* "kafka:" with nothing set */
        n += s->check ? s->check(root->items[i], errs) : check_table(s, root->items[i], errs);
    }
    /* up wires its children to these listeners in plaintext (it gives them no CA to verify with,
     * the console's CQL and Kafka clients have no TLS settings, and its HTTP URLs are http://),
     * so TLS on one of them would cut the pipeline: refused here. The console, which only
     * browsers reach, may serve HTTPS. */
    static const char *const plain_only[] = {"broker.tls-cert",   "store.tls-cert",
                                             "registry.tls-cert", "scheduler.tls-cert",
                                             "fake-api.tls-cert", "pipeline.metrics_tls_cert"};
    const sl_yaml *ca = sl_yaml_get(root, "cassandra.tls_ca");
    bool cql_tls = ca && ca->kind == SL_YAML_SCALAR && ca->scalar;
    ca = sl_yaml_get(root, "kafka.tls_ca");
    bool kafka_tls = ca && ca->kind == SL_YAML_SCALAR && ca->scalar;
    for (size_t i = 0; i < sizeof plain_only / sizeof *plain_only; i++) {
        const sl_yaml *y = sl_yaml_get(root, plain_only[i]);
        if (!y || (y->kind == SL_YAML_SCALAR && !y->scalar)) continue;
        if ((i == 0 && kafka_tls) || (i == 1 && cql_tls)) continue; /* clients get the CA */
        sl_errs_add(errs, y->file, y->line,
                    "%s: not supported under sluice up (its other components connect to this "
                    "listener without TLS; run the component on its own for TLS)%s",
                    plain_only[i],
                    i == 0   ? ", unless kafka.tls_ca is set"
                    : i == 1 ? ", unless cassandra.tls_ca is set"
                             : "");
        n++;
    }
    return n;
}

/* A scalar as YAML must see it: quoted when plain style would change or break it. */
static void put_scalar(FILE *out, const char *v)
{
    bool plain = *v && !strchr("[]{}*&!|>'\"%@`#,?:- ", v[0]) && !strstr(v, ": ") &&
                 !strstr(v, " #") && v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != ':';
    if (plain) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void example_pipeline(FILE *out)
{
    fputs(
        "  # schema: the fields of each record and their types (uuid, text, int, bigint, double,\n"
        "  # boolean, timestamp); the default is the seeds' 12 fields, id uuid and the rest\n"
        "  # text. mapping: rename, default, drop and concat from fields to columns.\n"
        "  # docs/process.md has the grammar and examples. derive:, filter: and rules: add\n"
        "  # columns, drop records and check them (docs/transforms.md).\n",
        out);
}

void sl_up_config_example(FILE *out)
{
    fputs("# sluice.yaml: every key sluice reads, with its default. Each component reads its own\n"
          "# section; `sluice up --config FILE` checks the whole file before it starts anything.\n"
          "# Keys shown commented out have no default. Made by `sluice up --print-config`.\n",
          out);
    for (size_t i = 0; i < NSECTIONS; i++) {
        const section *s = &sections[i];
        fputc('\n', out);
        if (s->about) fprintf(out, "# %s\n", s->about);
        fprintf(out, "%s:\n", s->name);
        for (const sl_opt *o = s->tbl; o->name; o++) {
            if (s->tbl == sl_up_opts && o->type == SL_OPT_BOOL) continue; /* flags only */
            fprintf(out, "  # %s", o->help);
            if (o->choices) fprintf(out, " (%s)", o->choices);
            fputc('\n', out);
            if (o->def) {
                fprintf(out, "  %s: ", o->name);
                put_scalar(out, o->def);
                fputc('\n', out);
            } else {
                fprintf(out, "  # %s:\n", o->name);
            }
        }
        if (s->example) s->example(out);
    }
}
