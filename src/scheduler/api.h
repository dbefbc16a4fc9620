/* api.h: the scheduler's REST API, shaped like Airflow's stable API v1 (field names, error
 * bodies, paging with limit/offset) for the calls issue 6 lists: DAGs (list, get, pause),
 * DAG runs (list, get, trigger with conf), task instances (list, get, clear), a try's log, and
 * health.
 * docs/scheduler.md "REST API" describes each call. The handlers run on the scheduler's loop
 * thread, so they use its metadata connection directly. No authentication yet: serve it on
 * loopback only. */
#ifndef SL_SCHEDULER_API_H
#define SL_SCHEDULER_API_H

#include "scheduler/scheduler.h"
#include "web/http.h"

/* The routes under /api/v1/ (GET/HEAD, POST, PATCH), ending with a NULL path. Every handler
 * expects the server's arg to be the sl_sched. */
extern const sl_http_route sl_api_routes[];

#endif
