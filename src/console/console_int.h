/* console_int.h: what the console's page modules share (private to src/console/).
 *
 * console.c owns the HTTP server and answers every request: the embedded assets, /metrics, and
 * /api/. Before it runs an /api/ route it checks the caller: a session cookie (with the CSRF
 * token in the X-CSRF-Token header for a state change) or HTTP basic auth. GET and HEAD need
 * role viewer; every other method needs role admin. A route handler therefore never checks
 * authentication itself; it gets arg = the sl_console and runs on the loop thread. */
#ifndef SL_CONSOLE_INT_H
#define SL_CONSOLE_INT_H

#include "console/console.h"
#include "web/http.h"

#include <uv.h>

/* A page module's routes, with paths under /api/ (e.g. "/api/topics", "/api/topics/ *" without
 * the space), ending with a route whose path is NULL; matched as sl_http_route says. */
extern const sl_http_route sl_console_kafka_routes[]; /* console-kafka: src/console/kafka_*.c */
extern const sl_http_route sl_console_ops_routes[];   /* console-ops: src/console/ops_*.c */
/* Releases what the ops routes opened for c (the scheduler's metadata connection and DAGs);
 * called by sl_console_free. */
void sl_console_ops_close(sl_console *c);

/* The addresses the console was started with (its options; never NULL except where said). */
const char *sl_console_kafka(const sl_console *c);        /* bootstrap HOST:PORT, --kafka */
const char *sl_console_cql(const sl_console *c);          /* --cql HOST:PORT */
const char *sl_console_cql_user(const sl_console *c);     /* --cql-user */
const char *sl_console_cql_password(const sl_console *c); /* --cql-password; never log it */
const char *sl_console_cql_tls_ca(const sl_console *c);   /* --cql-tls-ca, or NULL */
const char *sl_console_registry(const sl_console *c);     /* --registry http://HOST:PORT */
const char *sl_console_scheduler(const sl_console *c); /* --scheduler http://HOST:PORT, its API */
const char *sl_console_metadata(const sl_console *c);  /* --metadata sqlite:PATH|postgresql:// */
const char *sl_console_dags(const sl_console *c);      /* --dags DIR|FILE; NULL when not given */
const char *sl_console_data_dir(const sl_console *c);  /* the console's own directory */
uv_loop_t *sl_console_loop(sl_console *c);
/* The Kafka clients and history of the Topics and Consumer groups pages (kafka_int.h). */
struct sl_kview *sl_console_kview(sl_console *c);

/* The user a request was authenticated as, and whether that user is an admin; only valid
 * inside an /api/ route handler of this request. */
const char *sl_console_user(const sl_console *c);
bool sl_console_is_admin(const sl_console *c);

/* Runs work(arg, resp) on a libuv worker thread and sends resp when it returns, so a blocking
 * client call (librdkafka, CQL, curl) never stalls the loop. resp starts as 200 JSON with an
 * empty body; work may use sl_http_resp_error and sl_http_resp_header but nothing else of the
 * HTTP layer. free_arg(arg) (may be NULL) runs on the loop thread afterwards. Call it from a
 * route handler, at most once, instead of filling that handler's resp. */
void sl_console_offload(sl_http_req *req, void (*work)(void *arg, sl_http_resp *resp), void *arg,
                        void (*free_arg)(void *arg));

#endif
