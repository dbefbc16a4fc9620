/* ops_routes.c: the DAGs, Tables and Schemas pages' /api/ routes, and the scheduler's REST
 * under /api/v1/ (console-ops'). */
#include "console/console_int.h"

const sl_http_route sl_console_ops_routes[] = {
    {NULL, NULL, NULL},
};
