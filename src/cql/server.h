/* server.h: `sluice store`'s network side, a CQL native protocol v4 server on one libuv loop.
 *
 * The server owns the listener, the connections and their protocol state (STARTUP, SASL PLAIN
 * authentication, compression, REGISTER), decodes requests with frame.h and hands statements
 * to the engine (exec.h), which it opens on the same loop. Responses go out as the engine
 * completes them, so a connection's streams may be answered out of order: reads at once,
 * writes after the group-commit WAL sync. Schema changes are pushed as EVENT frames to the
 * connections that registered for SCHEMA_CHANGE. */
#ifndef SL_CQL_SERVER_H
#define SL_CQL_SERVER_H

#include "core/config.h"
#include "cql/frame.h"
#include <uv.h>

typedef struct sl_cql_server sl_cql_server;

/* The `store:` section of sluice.yaml and the flags of `sluice store` (sl_cql_server_opts). */
typedef struct sl_cql_server_config {
    char *listen;   /* HOST:PORT to bind */
    char *data_dir; /* the RocksDB directory */
    char *auth;     /* "on": PasswordAuthenticator; "off": AllowAllAuthenticator */
    char *user;     /* the one account, when auth is on */
    char *password; /* its password; never logged */
    char *tls_cert; /* PEM files: the listener speaks TLS only; NULL: plaintext */
    char *tls_key;
    char *tls_ca;         /* clients must present a certificate signed by these; NULL: not asked */
    char *commitlog_sync; /* "batch" | "periodic" */
    int64_t commitlog_sync_period; /* ms between WAL syncs in periodic mode */
    int64_t max_frame_bytes;       /* largest request body accepted, compressed or not */
    int64_t max_connections;       /* connections beyond this are closed at once */
    char *cluster_name;            /* system.local cluster_name */
    char *datacenter;              /* system.local data_center (drivers' localDataCenter) */
    char *log_level;               /* error | warn | info | debug | trace */
    int64_t memtable_bytes;        /* one RocksDB memtable (up to 3 exist while flushing) */
    int64_t block_cache_bytes;     /* RocksDB's block cache for reads */

    /* Derived by sl_cql_server_config_check. */
    bool auth_enabled;
    sl_cql_sync_mode sync_mode;
} sl_cql_server_config;

/* The option table: defaults, parsing, validation and --help for sl_cql_server_config. */
extern const sl_opt sl_cql_server_opts[];

/* Checks cross-field rules (a user and password when auth is on) and fills the derived fields.
 * On failure writes a one-line reason naming the key into err and returns SL_ERR_CONFIG. */
int sl_cql_server_config_check(sl_cql_server_config *cfg, char *err, size_t errlen);

/* Binds the listener and opens the engine on cfg->data_dir. cfg is copied. Returns 0, or a
 * negative code with the reason logged. */
int sl_cql_server_open(uv_loop_t *loop, const sl_cql_server_config *cfg, sl_cql_server **out);
/* The bound port (the listen port may be 0). */
int sl_cql_server_port(const sl_cql_server *s);
/* Graceful stop: stops accepting, closes connections (responses to writes already handed to
 * the engine are dropped once their sync completes), then closes the engine; done(arg) runs on
 * the loop when everything is closed. */
void sl_cql_server_stop(sl_cql_server *s, void (*done)(void *arg), void *arg);
/* Frees a stopped server. */
void sl_cql_server_free(sl_cql_server *s);

#endif
