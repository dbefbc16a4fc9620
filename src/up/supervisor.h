/* supervisor.h: the process supervisor behind `sluice up`, the compose file of this world.
 *
 * Children are started in the order they were added, each once the one before it is ready (its
 * TCP port accepts a connection, or, for a one-shot step, it has exited 0). Their stdout and
 * stderr are read line by line and written to the supervisor's stdout prefixed with the child's
 * name. A service child that dies is restarted with exponential backoff; a one-shot step that
 * fails is retried a few times. Stopping goes in reverse order: SIGTERM, a grace period, then
 * SIGKILL, all within one overall deadline.
 *
 * Children run in their own session, so a terminal's Ctrl-C reaches only the supervisor, which
 * then stops them in order. Each child gets SLUICE_SUPERVISED=1 in its environment, and the
 * sluice binary then asks the kernel to end it when the supervisor dies (sl_sup_child_init).
 *
 * Everything runs on one libuv loop, the caller's. */
#ifndef SL_UP_SUPERVISOR_H
#define SL_UP_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct sl_sup sl_sup;

typedef enum {
    SL_SUP_SERVICE, /* runs until stopped; restarted whenever it exits */
    SL_SUP_ONESHOT, /* a step that runs to completion; the next child waits for its exit 0 */
    SL_SUP_TASK,    /* runs to completion in the background; nothing waits for it */
} sl_sup_kind;

typedef struct sl_sup_spec {
    const char *name; /* the log prefix, e.g. "broker" */
    sl_sup_kind kind;
    char **argv;            /* NULL-terminated; argv[0] is the executable; copied */
    const char *ready_addr; /* SERVICE: HOST:PORT that accepts connections once up; NULL: at once */
} sl_sup_spec;

typedef struct sl_sup_opts {
    int ready_timeout_ms; /* how long a service may take to open its port (default 30000) */
    int stop_deadline_ms; /* all children stopped within this, SIGKILL at the end (default 10000) */
    int backoff_min_ms;   /* first restart delay (default 500) */
    int backoff_max_ms;   /* restart delays double up to this (default 30000) */
    int oneshot_retries;  /* extra tries of a failed one-shot step (default 3) */
    bool color;           /* colour the prefixes (a terminal) */
    /* When set, each child start, crash and stop is appended to this file as one JSON line
     * {"t": ms, "child": name, "event": "started"|"restarting"|"stopped", "detail": text,
     * "restarts": n}, which the console shows. Must outlive the supervisor. */
    const char *events_path;
} sl_sup_opts;

/* One child's state, for status lines and the console. */
typedef struct sl_sup_status {
    const char *name;
    sl_sup_kind kind;
    int pid;           /* 0 when not running */
    int restarts;      /* times restarted after an unexpected exit */
    int64_t last_exit; /* exit status, or -signal; INT64_MIN before any exit */
    bool ready;
} sl_sup_status;

/* Creates a supervisor on loop; opts may be NULL for the defaults. */
sl_sup *sl_sup_new(uv_loop_t *loop, const sl_sup_opts *opts);
/* Adds a child; the order of calls is the start order, and stopping goes in reverse. */
void sl_sup_add(sl_sup *s, const sl_sup_spec *spec);
/* Starts the children in order. on_ready(arg, 0) runs once all are ready; on_ready(arg, status)
 * with a negative status and a logged reason when one could not be started. */
void sl_sup_start(sl_sup *s, void (*on_ready)(void *arg, int status), void *arg);
/* Stops every child in reverse order within stop_deadline_ms; on_stopped(arg) runs when the
 * last has exited and the supervisor's handles are closed. A second call hastens nothing. */
void sl_sup_stop(sl_sup *s, void (*on_stopped)(void *arg), void *arg);
/* Number of children, and the state of child i. */
int sl_sup_count(const sl_sup *s);
void sl_sup_get(const sl_sup *s, int i, sl_sup_status *out);
/* Frees the supervisor, after on_stopped has run (or if it never started). */
void sl_sup_free(sl_sup *s);

/* Called first thing in a sluice process: when SLUICE_SUPERVISED is set, the kernel sends
 * SIGTERM to this process when its supervisor dies, so no child outlives a killed `up`. */
void sl_sup_child_init(void);

#endif
