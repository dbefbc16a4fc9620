/* server_int.h: internals of server.c exposed to its unit test only. */
#ifndef SL_SERVER_INT_H
#define SL_SERVER_INT_H

#include "core/server.h"

/* Capacity of the connection's buffer for a frame that has not fully arrived (0 when none). */
size_t sl__conn_rbuf_cap(const sl_conn *c);

#endif
