/*
 * server.h — parleyd's request pipeline: routes HTTP requests from net to
 * the API method table, runs each call through its phases (see api.h) on the
 * reader pool and the group-commit writer, answers, counts, and publishes
 * committed events on the bus.  Also serves GET /healthz and GET /metrics.
 *
 * Ownership: the server borrows everything it is given (loop, core, writer,
 * readers, bus, log, config) and must be freed before them.
 */
#ifndef PL_API_SERVER_H
#define PL_API_SERVER_H

#include <stddef.h>
#include <uv.h>

struct core;
struct store_writer;
struct store_pool;
struct bus;
struct pl_log;
struct pl_config;
struct api_server;

/* messages_stored: the count at start-up, for /metrics. */
struct api_server *api_server_new(uv_loop_t *loop, struct core *core, struct store_writer *writer,
				  struct store_pool *readers, struct bus *bus, const struct pl_config *cfg,
				  const struct pl_log *log, long long messages_stored);
int api_server_listen(struct api_server *srv, const char *addr, char *err, size_t errlen);
int api_server_port(const struct api_server *srv);
/* Stops accepting and closes connections.  Calls still running finish and
 * are dropped.  The loop must then run until idle before api_server_free(). */
void api_server_close(struct api_server *srv);
/* Once api_server_inflight() is 0 after api_server_close(): stops the
 * worker threads and closes their handle (the loop must run once more
 * before api_server_free()). */
void api_server_stop(struct api_server *srv);
void api_server_free(struct api_server *srv);
/* Calls accepted but not yet answered. */
size_t api_server_inflight(const struct api_server *srv);

#endif
