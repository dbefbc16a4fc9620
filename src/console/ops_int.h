/* ops_int.h: what the console's DAGs, Tables and Schemas modules (ops_*.c) share.
 *
 * The DAGs page reads the scheduler's metadata store directly, through an API-only sl_sched
 * (scheduler.h) over the console's own connection to it and the DAG files; that handle also
 * serves the scheduler's Airflow-shaped REST under /api/v1/ behind the console's users. The
 * Tables page talks CQL to --cql and the Schemas page HTTP to --registry, each on a worker
 * thread (sl_console_offload). */
#ifndef SL_CONSOLE_OPS_INT_H
#define SL_CONSOLE_OPS_INT_H

#include "console/console_int.h"
#include "scheduler/scheduler.h"

#include <jansson.h>

/* The API-only scheduler handle of console c, opened on first use (loop thread only). NULL when
 * the metadata store cannot be opened: resp then holds a 503 naming the reason. */
sl_sched *sl__ops_sched(sl_console *c, sl_http_resp *resp);

/* Sets resp to status with body j (taking the reference), serialized compactly. */
void sl__ops_send(sl_http_resp *resp, int status, json_t *j);
/* Parses the request body as a JSON object, or answers 400 naming the parse error and returns
 * NULL. */
json_t *sl__ops_body(sl_http_req *req, sl_http_resp *resp);
/* epoch ms as "2024-01-31T00:00:00+00:00", or JSON null for INT64_MIN. */
json_t *sl__ops_iso(int64_t ms);

/* The route handlers of each page, listed in ops_routes.c's table. */
void sl__ops_dags(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_dag_grid(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_cql_schema(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_cql_query(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_schemas(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_schemas_post(sl_http_req *req, sl_http_resp *resp, void *arg);
void sl__ops_schemas_put(sl_http_req *req, sl_http_resp *resp, void *arg);

#endif
