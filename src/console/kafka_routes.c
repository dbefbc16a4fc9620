/* kafka_routes.c: the Topics and Consumer groups pages' /api/ routes (console-kafka's). */
#include "console/console_int.h"

const sl_http_route sl_console_kafka_routes[] = {
    {NULL, NULL, NULL},
};
