/* cmd_up.c: `sluice up`, the whole pipeline as supervised child processes (src/up/supervisor.h).
 *
 * Start order: store, broker, the keyspace and table, the topics, registry, fake-api, process, then
 * one ingest run; stopping goes the other way, producers first and the store last. A component
 * whose subcommand this binary does not have is left out and said so. With kafka.bootstrap or
 * cassandra.contact_points set in the config, the embedded broker or store is not started and
 * the pipeline uses the cluster given. */
#include "auth/auth.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/up_config.h"
#include "core/log.h"
#include "console/users.h"
#include "core/server.h"
#include "pipeline/sink.h"
#include "up/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "up [--config FILE] [--data-dir DIR] [--ingest-duration D] [--partitions N] [--check] "        \
    "[--print-config]"

#define SEED_TABLE_DDL                                                                             \
    "CREATE KEYSPACE IF NOT EXISTS spark_streams WITH replication = "                              \
    "{'class': 'SimpleStrategy', 'replication_factor': '1'}; "                                     \
    "CREATE TABLE IF NOT EXISTS spark_streams.created_users (id uuid PRIMARY KEY, "                \
    "first_name text, last_name text, gender text, address text, post_code text, email text, "     \
    "username text, dob text, registered_date text, phone text, picture text); "                   \
    "CREATE TABLE IF NOT EXISTS spark_streams.users_per_nat_minute (key text PRIMARY KEY, "        \
    "nat text, window_start timestamp, window_end timestamp, users bigint, "                       \
    "distinct_emails bigint, closed boolean);"

/* The embedded store's memory under up, unless the config's store: section sets them. */
#define UP_STORE_MEMTABLE   "8MiB"
#define UP_STORE_CACHE      "8MiB"
#define UP_PROCESS_PREFETCH "8MiB"

/* The resolved plan: addresses and what runs where. */
typedef struct plan {
    const char *config; /* --config FILE, passed on to every component */
    char exe[PATH_MAX];
    const char *kafka; /* bootstrap servers */
    const char *cql;   /* contact point(s) */
    const char *api;   /* fake-api listen address */
    const char *reg;   /* registry listen address */
    const char *sched; /* the scheduler's API */
    const char *console;
    const char *pmetrics;  /* the processor's --metrics-listen, which the console polls */
    char events[PATH_MAX]; /* the supervisor's event file, shown by the console */
    char console_pw[64];   /* the first-start admin password, when up created the users file */
    const char *cql_user, *cql_password;
    const char *cql_tls_ca;   /* cassandra.tls_ca: the CQL clients use TLS; NULL: plaintext */
    const char *kafka_tls_ca; /* kafka.tls_ca: the Kafka clients use TLS; NULL: plaintext */
    char *sink;               /* the processor's cql:// sink, user and CA path %-escaped */
    bool embedded_broker, embedded_store;
    bool store_memtable_set, store_cache_set; /* the config sizes the store's memory itself */
    sl_up_args a;
    FILE *dry;          /* --check: describe the children here instead of adding them */
    bool pipeline_sink; /* the config's pipeline: section names its own sink */
    bool pipeline_state_dir;
    bool pipeline_prefetch;
    bool pipeline_custom; /* its own schema or window preset: the default window may not fit */
} plan;

typedef struct up_state {
    sl_sup *sup;
    plan *p;
    int rc;
} up_state;

static bool have_command(const char *name)
{
    for (const sl_command *c = sl_commands; c->name; c++)
        if (!strcmp(c->name, name)) return true;
    return false;
}

static const char *yaml_str(const sl_yaml *root, const char *path, const char *dflt)
{
    const sl_yaml *y = root ? sl_yaml_get(root, path) : NULL;
    return y && y->kind == SL_YAML_SCALAR && y->scalar ? y->scalar : dflt;
}

/* --config FILE or --config=FILE, if given (sl_cli_options takes it out of argv later). */
static const char *find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) return argv[i + 1];
        if (!strncmp(argv[i], "--config=", 9)) return argv[i] + 9;
    }
    return NULL;
}

/* argv builder: a fixed array is enough for the longest command line below. */
typedef struct args {
    char *v[32];
    int n;
    char own[8][PATH_MAX + 64]; /* formatted arguments */
    int nown;
} args;

static void arg(args *a, const char *s)
{
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static const char *fmt(args *a, const char *f, const char *x)
{
    char *o = a->own[a->nown++];
    snprintf(o, sizeof a->own[0], f, x);
    return o;
}

static void add(plan *p, sl_sup *sup, const char *name, sl_sup_kind kind, args *a,
                const char *ready)
{
    if (p->config && kind == SL_SUP_SERVICE) {
        arg(a, "--config");
        arg(a, p->config);
    }
    if (p->dry) {
        static const char *const kinds[] = {"service", "step", "task"};
        fprintf(p->dry, "  %-8s %-7s", name, kinds[kind]);
        for (int i = 1; i < a->n; i++)
            fprintf(p->dry, " %s", a->v[i]);
        fputc('\n', p->dry);
        return;
    }
    sl_sup_spec spec = {.name = name, .kind = kind, .argv = a->v, .ready_addr = ready};
    sl_sup_add(sup, &spec);
}

static void build_console(plan *p, sl_sup *sup);

static void build(plan *p, sl_sup *sup)
{
    const char *d = p->a.data_dir;
    if (p->embedded_store) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "store"), arg(&a, "--listen"), arg(&a, p->cql);
        arg(&a, "--data-dir"), arg(&a, fmt(&a, "%s/store", d));
        /* Smaller than the standalone store's 64 MiB each, so that the whole pipeline stays
         * within issue 9's 150 MB while streaming (docs/up.md, "Memory"). */
        if (!p->store_memtable_set) arg(&a, "--memtable-size"), arg(&a, UP_STORE_MEMTABLE);
        if (!p->store_cache_set) arg(&a, "--block-cache-size"), arg(&a, UP_STORE_CACHE);
        add(p, sup, "store", SL_SUP_SERVICE, &a, p->cql);
    }
    if (p->embedded_broker) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "broker"), arg(&a, "--listen"), arg(&a, p->kafka);
        arg(&a, "--data-dir"), arg(&a, fmt(&a, "%s/broker", d));
        add(p, sup, "broker", SL_SUP_SERVICE, &a, p->kafka);
    }
    {
        args a = {0};
        arg(&a, p->exe), arg(&a, "cql"), arg(&a, p->cql), arg(&a, "-u"), arg(&a, p->cql_user);
        if (p->cql_tls_ca) arg(&a, "--tls-ca"), arg(&a, p->cql_tls_ca);
        arg(&a, "-e"), arg(&a, SEED_TABLE_DDL);
        add(p, sup, "table", SL_SUP_ONESHOT, &a, NULL);
    }
    static const char *const topics[] = {"users_created", "users_created.dlq"};
    for (int i = 0; i < 2; i++) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "topic"), arg(&a, "--kafka"), arg(&a, p->kafka);
        arg(&a, "create"), arg(&a, topics[i]), arg(&a, "--if-not-exists");
        if (i == 0) {
            char *n = a.own[a.nown++];
            snprintf(n, sizeof a.own[0], "%lld", (long long)p->a.partitions);
            arg(&a, "--partitions"), arg(&a, n);
        }
        add(p, sup, i == 0 ? "topic" : "dlq", SL_SUP_ONESHOT, &a, NULL);
    }
    if (have_command("registry")) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "registry"), arg(&a, "--listen"), arg(&a, p->reg);
        arg(&a, "--kafka"), arg(&a, p->kafka);
        add(p, sup, "registry", SL_SUP_SERVICE, &a, p->reg);
    }
    if (have_command("fake-api")) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "fake-api"), arg(&a, "--listen"), arg(&a, p->api);
        add(p, sup, "fake-api", SL_SUP_SERVICE, &a, p->api);
    }
    if (have_command("process")) {
        args a = {0};
        arg(&a, p->exe), arg(&a, "process"), arg(&a, "--kafka"), arg(&a, p->kafka);
        arg(&a, "--metrics-listen"), arg(&a, p->pmetrics);
        if (!p->pipeline_sink) arg(&a, "--sink"), arg(&a, p->sink);
        /* The default pipeline's window: users per nationality per minute (transforms.md). */
        if (!p->pipeline_custom) arg(&a, "--window-preset"), arg(&a, "users_per_nat_minute");
        if (!p->pipeline_state_dir) arg(&a, "--state-dir"), arg(&a, fmt(&a, "%s/process", d));
        /* An eighth of the standalone prefetch, for the memory budget (docs/up.md, "Memory"). */
        if (!p->pipeline_prefetch) arg(&a, "--prefetch"), arg(&a, UP_PROCESS_PREFETCH);
        add(p, sup, "process", SL_SUP_SERVICE, &a, NULL);
    }
    if (have_command("scheduler")) {
        /* The scheduler runs the seeds' DAG, whose one task is the ingest run. It is paused at
         * creation (as in Airflow 2); up unpauses it, which makes the scheduler run its latest
         * complete daily interval at once (catchup false), so data flows now and once. A manual
         * trigger as well would make a second, identical run. Without a schedule (ingest
         * duration 0) unpausing runs nothing: a later `sluice dag trigger` then runs at once. */
        args a = {0};
        arg(&a, p->exe), arg(&a, "scheduler"), arg(&a, "--listen"), arg(&a, p->sched);
        arg(&a, "--data-dir"), arg(&a, fmt(&a, "%s/scheduler", d));
        arg(&a, "--dags"), arg(&a, fmt(&a, "%s/dags", d));
        add(p, sup, "scheduler", SL_SUP_SERVICE, &a, p->sched);
        args b = {0};
        arg(&b, p->exe), arg(&b, "dag"), arg(&b, "unpause"), arg(&b, "user_automation");
        arg(&b, "--scheduler"), arg(&b, fmt(&b, "http://%s", p->sched));
        add(p, sup, "unpause", SL_SUP_ONESHOT, &b, NULL);
    } else if (have_command("ingest") && have_command("fake-api") && p->a.ingest_ms > 0) {
        args a = {0};
        char dur[32];
        snprintf(dur, sizeof dur, "%llds", (long long)(p->a.ingest_ms + 999) / 1000);
        arg(&a, p->exe), arg(&a, "ingest"), arg(&a, "--source");
        arg(&a, fmt(&a, "http://%s/api/", p->api));
        arg(&a, "--topic"), arg(&a, "users_created"), arg(&a, "--kafka"), arg(&a, p->kafka);
        arg(&a, "--duration"), arg(&a, fmt(&a, "%s", dur));
        add(p, sup, "ingest", SL_SUP_TASK, &a, NULL);
    }
    build_console(p, sup);
}

/* With kafka.tls_ca, every child's librdkafka client reads DATA/kafka-client.properties through
 * $SLUICE_KAFKA_CONFIG (auth.h): SSL, the CA, the host name checked. A file the user already
 * named in $SLUICE_KAFKA_CONFIG is left alone: it must then say SSL itself. */
static int kafka_tls_config(const plan *p)
{
    const char *mine = getenv("SLUICE_KAFKA_CONFIG");
    if (mine && *mine) return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/kafka-client.properties", p->a.data_dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sluice up: cannot write %s: %s\n", path, strerror(errno));
        return -errno;
    }
    fprintf(f,
            "# written by sluice up for kafka.tls_ca\nsecurity.protocol=SSL\nssl.ca.location=%s\n"
            "ssl.endpoint.identification.algorithm=https\n",
            p->kafka_tls_ca);
    if (fclose(f) != 0) return -errno;
    setenv("SLUICE_KAFKA_CONFIG", path, 1);
    return 0;
}

/* The processor's sink: a user name or CA path may hold any of "@:/?#&% ", so both are
 * %-escaped (sl_sink_url_escape) and the sink decodes them back (sl_sink_url_unescape). */
static char *sink_url(const plan *p)
{
    sl_buf b = SL_BUF_INIT;
    sl_buf_append_str(&b, "cql://");
    sl_sink_url_escape(&b, p->cql_user);
    sl_buf_printf(&b, "@%s/spark_streams.created_users", p->cql);
    if (p->cql_tls_ca) {
        sl_buf_append_str(&b, "?tls_ca=");
        sl_sink_url_escape(&b, p->cql_tls_ca);
    }
    char *s = sl_strdup(sl_buf_cstr(&b));
    sl_buf_free(&b);
    return s;
}

/* The console last: it watches the others, and is the first to stop. */
static void build_console(plan *p, sl_sup *sup)
{
    if (!have_command("console")) return;
    const char *d = p->a.data_dir;
    args a = {0};
    arg(&a, p->exe), arg(&a, "console"), arg(&a, "--listen"), arg(&a, p->console);
    arg(&a, "--data-dir"), arg(&a, fmt(&a, "%s/console", d));
    arg(&a, "--kafka"), arg(&a, p->kafka), arg(&a, "--cql"), arg(&a, p->cql);
    arg(&a, "--cql-user"), arg(&a, p->cql_user);
    if (p->cql_tls_ca) arg(&a, "--cql-tls-ca"), arg(&a, p->cql_tls_ca);
    arg(&a, "--registry"), arg(&a, fmt(&a, "http://%s", p->reg));
    if (have_command("scheduler")) {
        arg(&a, "--scheduler"), arg(&a, fmt(&a, "http://%s", p->sched));
        arg(&a, "--metadata"), arg(&a, fmt(&a, "sqlite:%s/scheduler/scheduler.db", d));
        arg(&a, "--dags"), arg(&a, fmt(&a, "%s/dags", d));
    }
    if (have_command("process")) arg(&a, "--process-metrics"), arg(&a, p->pmetrics);
    arg(&a, "--events"), arg(&a, p->events);
    add(p, sup, "console", SL_SUP_SERVICE, &a, p->console);
}

/* The seeds' DAG as up runs it: the built-in user_automation with this pipeline's addresses
 * and the first run's length. Rewritten at every start (it is up's, not the user's). */
static int write_dag(const plan *p)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    snprintf(dir, sizeof dir, "%s/dags", p->a.data_dir);
    int e = sl_mkdirs(dir, 0755);
    if (e) return e;
    snprintf(path, sizeof path, "%s/user_automation.yaml", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -errno;
    int64_t ms = p->a.ingest_ms > 0 ? p->a.ingest_ms : 60000;
    fprintf(f,
            "# Written by sluice up at each start: the seeds' DAG with this pipeline's addresses.\n"
            "dag_id: user_automation\n"
            "description: Streams random users from the API into the users_created topic, daily "
            "(the seeds' DAG).\n"
            "tags: [seed]\n"
            "schedule: %s\n"
            "start_date: 2023-09-03T10:00\n"
            "catchup: false\n"
            "tasks:\n"
            "  - task_id: stream_data_from_api\n"
            "    type: ingest\n"
            "    source: http://%s/api/\n"
            "    kafka: \"%s\"\n"
            "    topic: users_created\n"
            "    duration: %lldms\n",
            /* --ingest-duration 0: no run at all until one is triggered by hand */
            p->a.ingest_ms > 0 ? "\"@daily\"" : "none", p->api, p->kafka, (long long)ms);
    if (fclose(f)) return -errno;
    return rename(tmp, path) ? -errno : 0;
}

/* Creates the console's users file before the console starts, so up itself can print the
 * first-start admin password in its summary (the console prints nothing then). */
static int console_users(plan *p)
{
    char dir[PATH_MAX], err[512];
    snprintf(dir, sizeof dir, "%s/console", p->a.data_dir);
    sl_users *u = NULL;
    if (sl_users_open(dir, &u, p->console_pw, sizeof p->console_pw, err, sizeof err)) {
        fprintf(stderr, "sluice up: console users: %s\n", err);
        return 1;
    }
    sl_users_free(u);
    return 0;
}

static void print_endpoints(const plan *p)
{
    printf("\nsluice is up; data in %s\n", p->a.data_dir);
    printf("  kafka     %-22s kcat -b %s -L\n", p->kafka, p->kafka);
    printf("  cql       %-22s sluice cql %s -e \"SELECT first_name, last_name FROM "
           "spark_streams.created_users LIMIT 10\"\n",
           p->cql, p->cql);
    if (have_command("fake-api")) printf("  fake-api  http://%s/api/\n", p->api);
    if (have_command("registry")) printf("  registry  http://%s/subjects\n", p->reg);
    if (have_command("scheduler"))
        printf("  scheduler http://%-15s sluice dag runs user_automation --scheduler http://%s\n",
               p->sched, p->sched);
    if (have_command("console")) {
        printf("  console   http://%s/\n", p->console);
        if (p->console_pw[0])
            printf("            first start: user admin, password %s (shown only now)\n",
                   p->console_pw);
        else
            printf("            users in %s/console/users (sluice console user add NAME)\n",
                   p->a.data_dir);
        printf("  metrics   http://%s/metrics\n", p->console);
    }
    if (!have_command("process"))
        printf("  (this build has no 'process' command: nothing moves users into the table)\n");
    printf("Ctrl-C stops everything.\n\n");
    fflush(stdout);
}

static void on_stopped(void *arg)
{
    SL_UNUSED(arg);
    sl_signals_close();
}

static void on_signal(void *arg)
{
    up_state *st = arg;
    sl_sup_stop(st->sup, on_stopped, st);
}

static void on_ready(void *arg, int status)
{
    up_state *st = arg;
    if (status == 0) {
        print_endpoints(st->p);
        return;
    }
    fprintf(stderr, "sluice up: the pipeline could not be started (see the lines above)\n");
    st->rc = 1;
    sl_sup_stop(st->sup, on_stopped, st);
}

int sl_cmd_up(int argc, char **argv)
{
    plan p = {0};
    p.config = find_config(argc, argv);
    int r = sl_cli_options(sl_up_opts, &p.a, "up", "up", USAGE, argc, argv);
    if (r != 0) {
        sl_config_free(sl_up_opts, &p.a);
        return r == 1 ? 0 : 2; /* 1: --help was printed */
    }
    sl_yaml *root = NULL;
    if (p.config) {
        sl_errs errs = {0};
        if (sl_yaml_load_file(p.config, &root, &errs)) {
            sl_errs_print(&errs, stderr);
            sl_errs_free(&errs);
            sl_config_free(sl_up_opts, &p.a);
            return 2;
        }
        sl_errs_free(&errs);
    }
    if (p.a.print_config) {
        sl_up_config_example(stdout);
        sl_yaml_free(root);
        sl_config_free(sl_up_opts, &p.a);
        return 0;
    }
    /* The whole file, every section, before anything starts. */
    sl_errs errs = {0};
    if (sl_up_config_check(root, &errs)) {
        sl_errs_print(&errs, stderr);
        fprintf(stderr, "sluice up: %zu error%s in %s; nothing was started\n", errs.n,
                errs.n == 1 ? "" : "s", p.config);
        sl_errs_free(&errs);
        sl_yaml_free(root);
        sl_config_free(sl_up_opts, &p.a);
        return 2;
    }
    p.pipeline_sink = root && sl_yaml_get(root, "pipeline.sink");
    p.pipeline_state_dir = root && sl_yaml_get(root, "pipeline.state_dir");
    p.pipeline_prefetch = root && sl_yaml_get(root, "pipeline.prefetch");
    p.pipeline_custom = root && (sl_yaml_get(root, "pipeline.schema") ||
                                 sl_yaml_get(root, "pipeline.window_preset"));
    ssize_t n = readlink("/proc/self/exe", p.exe, sizeof p.exe - 1);
    if (n <= 0) {
        fprintf(stderr, "sluice up: cannot find its own executable: %s\n", strerror(errno));
        sl_yaml_free(root);
        sl_config_free(sl_up_opts, &p.a);
        return 1;
    }
    p.exe[n] = '\0';
    const char *bootstrap = yaml_str(root, "kafka.bootstrap", NULL);
    const char *contact = yaml_str(root, "cassandra.contact_points", NULL);
    p.embedded_broker = !bootstrap;
    p.embedded_store = !contact;
    p.store_memtable_set = yaml_str(root, "store.memtable-size", NULL) != NULL;
    p.store_cache_set = yaml_str(root, "store.block-cache-size", NULL) != NULL;
    p.kafka = bootstrap ? bootstrap : yaml_str(root, "broker.listen", "127.0.0.1:9092");
    p.cql = contact ? contact : yaml_str(root, "store.listen", "127.0.0.1:9042");
    p.cql_user = yaml_str(root, "cassandra.user", yaml_str(root, "store.user", "cassandra"));
    p.cql_tls_ca = yaml_str(root, "cassandra.tls_ca", NULL);
    p.kafka_tls_ca = yaml_str(root, "kafka.tls_ca", NULL);
    p.cql_password =
        yaml_str(root, "cassandra.password", yaml_str(root, "store.password", "cassandra"));
    p.api = yaml_str(root, "fake-api.listen", "127.0.0.1:8000");
    p.reg = yaml_str(root, "registry.listen", "127.0.0.1:8081");
    /* The console has 8080, Airflow's webserver port; the scheduler's own API moves aside. */
    p.sched = yaml_str(root, "scheduler.listen", "127.0.0.1:8082");
    p.console = yaml_str(root, "console.listen", "127.0.0.1:8080");
    p.pmetrics = yaml_str(root, "pipeline.metrics_listen", "127.0.0.1:8083");
    snprintf(p.events, sizeof p.events, "%s/up-events.jsonl", p.a.data_dir);
    p.sink = sink_url(&p);

    /* The CQL clients among the children (table, process, console) read the password from the
     * environment, which only this user can read (/proc/PID/environ), never from argv. */
    setenv(SL_AUTH_CQL_PASSWORD_ENV, p.cql_password, 1);
    int rc = 1;
    if (p.a.check) {
        printf("%s: ok; sluice up would start, in this order:\n", p.config ? p.config : "defaults");
        p.dry = stdout;
        build(&p, NULL);
        rc = 0;
        goto out;
    }
    int e = sl_mkdirs(p.a.data_dir, 0755);
    if (e) {
        fprintf(stderr, "sluice up: cannot create the data dir %s: %s\n", p.a.data_dir,
                strerror(-e));
        goto out;
    }
    if (have_command("scheduler") && (e = write_dag(&p))) {
        fprintf(stderr, "sluice up: cannot write %s/dags/user_automation.yaml: %s\n", p.a.data_dir,
                strerror(-e));
        goto out;
    }
    if (have_command("console") && (e = console_users(&p))) goto out;
    if (p.kafka_tls_ca && (e = kafka_tls_config(&p))) goto out;
    struct stat est;
    if (stat(p.events, &est) == 0 && est.st_size > (1 << 20)) truncate(p.events, 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sl_sup_opts so = {.color = isatty(1), .oneshot_retries = 5, .events_path = p.events};
    up_state st = {.sup = sl_sup_new(&loop, &so), .p = &p, .rc = 0};
    build(&p, st.sup);
    sl_signals_install(&loop, on_signal, &st);
    sl_sup_start(st.sup, on_ready, &st);
    uv_run(&loop, UV_RUN_DEFAULT);
    sl_sup_free(st.sup);
    uv_loop_close(&loop);
    rc = st.rc;
out:
    sl_free(p.sink);
    sl_yaml_free(root);
    sl_config_free(sl_up_opts, &p.a);
    return rc;
}
