/*
 * server_int.h — what server.c lends the other files of the HTTP side
 * (upload.c, download.c): its shared state and its ways of answering.
 * Private to src/api.  Loop thread only, unless said otherwise.
 */
#ifndef PL_API_SERVER_INT_H
#define PL_API_SERVER_INT_H

#include <jansson.h>
#include <uv.h>

struct api_server;
struct core;
struct store_writer;
struct store;
struct store_pool;
struct pl_config;
struct pl_log;
struct rl_table;
struct net_req;

/* What the server was made with (borrowed, valid while it lives). */
struct api_env {
	uv_loop_t *loop;
	struct core *core;
	struct store_writer *writer;
	struct store_pool *readers;
	const struct pl_config *cfg;
	const struct pl_log *log;
	struct rl_table *session_limits;   /* thread-safe */
};

const struct api_env *api_srv_env(const struct api_server *srv);

/* Reader thread (a worker of the server's pool, util/workpool.h, or one of
 * libuv's for uploads and downloads): borrows a handle of the read pool with
 * a read transaction open (store_read_begin), so the whole job sees one
 * snapshot and takes one read lock; api_reader_put ends the transaction,
 * whatever the job did, and gives the handle back.  Every job on either
 * pool takes its handle this way, and none keeps one across a wait. */
struct store *api_reader_get(struct store_pool *readers);
void api_reader_put(struct store_pool *readers, struct store *s);

/* Answers req with the error envelope of code (its HTTP status), counting
 * it for method (an index into api_methods, -1 for none). */
void api_srv_respond_error(struct api_server *srv, struct net_req *req, int method, int code, const char *detail,
			   int retry_after);
/* Answers req with a JSON body (copied). */
void api_srv_respond_json(struct api_server *srv, struct net_req *req, int method, int status, const char *body,
			  size_t len);
/* Counts an answer net sent otherwise (a file) in the metrics. */
void api_srv_observe(struct api_server *srv, const struct net_req *req, int method, int status);

/* Runs API method name with params (a JSON object, stolen) as if req had
 * sent them as its JSON body: the call's answer answers req. */
void api_srv_call(struct api_server *srv, struct net_req *req, const char *name, json_t *params);

/* Work the server must wait for before it stops (uploads in progress). */
void api_srv_hold(struct api_server *srv);
void api_srv_unhold(struct api_server *srv);
/* 1 once the server is shutting down. */
int api_srv_closing(const struct api_server *srv);

#endif
