/* console.h: `sluice console`, the web console (docs/console.md).
 *
 * One HTTP server on a libuv loop serves the single-page app embedded in the binary, a JSON API
 * under /api/ behind users, sessions, CSRF tokens and roles, and Prometheus text at /metrics. A
 * collector thread polls the broker, store, registry, processor and scheduler through their own
 * protocols; the Overview and Alerts pages and /metrics read its latest sample. */
#ifndef SL_CONSOLE_H
#define SL_CONSOLE_H

#include "core/config.h"

#include <stdbool.h>
#include <uv.h>

typedef struct sl_console sl_console;

typedef struct sl_console_config {
    char *listen;
    char *tls_cert, *tls_key; /* PEM files: HTTPS only (session cookies get Secure); NULL: HTTP */
    char *data_dir; /* users, alert rules and history; up's supervisor events one level up */
    char *kafka, *cql, *cql_user, *cql_password, *registry, *scheduler, *metadata, *dags;
    char *cql_tls_ca;      /* PEM CA: the CQL clients use TLS; NULL: plaintext */
    char *process_metrics; /* HOST:PORT[,HOST:PORT] of processors' --metrics-listen */
    char *events;          /* the supervisor's event file (up sets it) */
    char *webhook;         /* alert notifications are POSTed here as JSON */
    char *topic, *dlq_topic, *group, *table; /* the pipeline the Overview draws */
    char *log_level;
    int64_t session_ttl_ms;
    int64_t collect_ms;
    int64_t max_body;
} sl_console_config;

/* The option table of `sluice console` and of sluice.yaml's console: section. */
extern const sl_opt sl_console_opts[];

/* Starts serving on loop. The users file in cfg->data_dir is created with an admin whose
 * random password is printed once to stdout when it does not exist. Returns 0, or a negative
 * code with the reason logged. cfg must outlive the console. */
int sl_console_open(uv_loop_t *loop, const sl_console_config *cfg, sl_console **out);
/* The bound port (useful with port 0). */
int sl_console_port(const sl_console *c);
/* Stops the server and the collector; the loop must then run until it has nothing left (work
 * on worker threads finishes), and only then may sl_console_free free the console. */
void sl_console_close(sl_console *c);
void sl_console_free(sl_console *c);

#endif
