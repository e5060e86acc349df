/* server.c — parleyd's request pipeline (see server.h and api.h).
 *
 * Each API call is one struct api_job that lives from the request callback
 * until its answer has been handed to net:
 *   loop:   route, per-IP limit for public methods      (on_request)
 *   reader: decode, authenticate, prep, read-only exec   (phase_read)
 *   loop:   answer, or queue on the writer               (after_read)
 *   writer: exec inside the group transaction            (run_write)
 *   loop:   answer after commit, publish events          (write_done)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/server.h"
#include "bus/bus.h"
#include "core/core.h"
#include "net/net.h"
#include "store/writer.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define RATE_KEYS_MAX 100000

struct api_server {
	uv_loop_t *loop;
	struct net_server *net;
	struct core *core;
	struct store_writer *writer;
	struct store_pool *readers;
	struct bus *bus;
	const struct pl_config *cfg;
	const struct pl_log *log;
	struct rl_table *ip_limits;      /* register + login per IP */
	struct rl_table *session_limits; /* calls per session */
	struct api_metrics metrics;
	size_t inflight;
	int closing;
};

struct api_job {
	struct store_job wjob;           /* first: the writer hands this back */
	uv_work_t work;
	struct api_server *srv;
	struct net_req *req;
	struct api_call call;
	struct core_tx tx;
	struct bus_events ev;
	double mono;
	char *reply;
	int status;
	int method;                      /* index into api_methods */
	int64_t last_seen;               /* the session's, for touching it */
};

static double mono_now(void)
{
	return (double)uv_hrtime() / 1e9;
}

static void respond(struct api_server *srv, struct net_req *req, int method, int status, const char *body,
		    size_t len, int retry_after)
{
	char extra[64] = "";

	if (status == 429)
		snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry_after > 0 ? retry_after : 1);
	metrics_observe(&srv->metrics, method, status, (double)(uv_hrtime() - req->start_ns) / 1e9);
	net_req_respond(req, status, "application/json", body, len, extra[0] ? extra : NULL);
}

static void respond_error(struct api_server *srv, struct net_req *req, int method, int code, const char *detail,
			  int retry_after)
{
	char *body = api_error_json(code, detail, retry_after);

	if (!body) {
		static const char oom[] = "{\"ok\":false,\"error_code\":500,\"description\":\"INTERNAL: out of memory\"}";
		respond(srv, req, method, 500, oom, sizeof oom - 1, 0);
		return;
	}
	respond(srv, req, method, pl_code_status(code), body, strlen(body), retry_after);
	free(body);
}

static void job_finish(struct api_job *job)
{
	struct api_server *srv = job->srv;
	int retry = job->call.retry_after ? job->call.retry_after : job->tx.retry_after;

	respond(srv, job->req, job->method, job->status, job->reply, strlen(job->reply), retry);
	free(job->reply);
	bus_events_release(&job->ev);
	api_call_release(&job->call);
	free(job);
	srv->inflight--;
}

static void tx_init(struct api_job *job, struct store *s, struct bus_events *ev)
{
	struct core_tx *tx = &job->tx;

	memset(tx, 0, sizeof *tx);
	tx->core = job->srv->core;
	tx->s = s;
	tx->now = job->call.now;
	tx->mono = job->mono;
	tx->uid = job->call.user_id;
	tx->ev = ev;
	job->call.tx = tx;
}

/* Authenticates and applies the per-session rate limit. */
static int authenticate(struct api_job *job)
{
	struct api_call *call = &job->call;
	struct store_session ss;
	char key[40];
	double rate = (double)job->srv->cfg->rate_requests_per_sec;
	int rc, wait;

	if ((rc = core_authenticate(&job->tx, call->token, &ss)) < 0)
		return rc;
	call->user_id = ss.user_id;
	call->session_id = ss.id;
	job->last_seen = ss.last_seen;
	snprintf(key, sizeof key, "s:%lld", (long long)ss.id);
	wait = rl_take(job->srv->session_limits, key, rate, rate * 2, job->mono);
	if (wait) {
		call->retry_after = wait;
		return api_fail(call, PLC_FLOOD_WAIT, "more than %g calls per second", rate);
	}
	return 0;
}

/* Reader thread. */
static void phase_read(uv_work_t *w)
{
	struct api_job *job = w->data;
	struct api_call *call = &job->call;
	const struct api_method *m = &api_methods[job->method];
	struct store *s = store_pool_get(job->srv->readers);
	int rc;

	tx_init(job, s, NULL);
	rc = api_args_decode(call, m, job->req->body, job->req->body_len);
	if (rc == 0 && m->scope == API_USER)
		rc = authenticate(job);
	job->tx.uid = call->user_id;
	if (rc == 0 && m->prep)
		rc = m->prep(call, s);
	if (rc == 0 && m->kind == API_READ)
		rc = m->exec(call, s);
	if (rc < 0 || m->kind == API_READ)
		job->reply = api_reply(call, &job->status);
	job->tx.s = NULL;
	store_pool_put(job->srv->readers, s);
}

/* Writer thread, inside the group transaction. */
static int run_write(struct store_job *wj, struct store *s)
{
	struct api_job *job = (struct api_job *)wj;
	const struct api_method *m = &api_methods[job->method];
	int rc;

	tx_init(job, s, &job->ev);
	rc = m->exec(&job->call, s);
	if (rc == 0 && job->call.session_id && job->call.now - job->last_seen >= 60)
		(void)store_session_touch(s, job->call.session_id, job->call.now, job->call.ip);
	if (rc < 0 && !job->call.code && !job->tx.code)
		api_fail(&job->call, PLC_INTERNAL, "%s", pl_strerror(rc));
	job->reply = api_reply(&job->call, &job->status);
	if (rc == 0 && job->status != 200)
		rc = PL_ERR; /* rendering failed: keep nothing */
	job->tx.s = NULL;
	return rc;
}

/* Loop thread, after the commit. */
static void write_done(struct store_job *wj, int commit_rc)
{
	struct api_job *job = (struct api_job *)wj;
	struct api_server *srv = job->srv;

	if (commit_rc < 0) {
		free(job->reply);
		job->reply = api_error_json(commit_rc == PL_BUSY ? PLC_SERVER_BUSY : PLC_INTERNAL,
					    "the change could not be committed; nothing was saved", 0);
		job->status = pl_code_status(commit_rc == PL_BUSY ? PLC_SERVER_BUSY : PLC_INTERNAL);
		pl_log(srv->log, PL_LOG_ERROR, "commit failed: %s", pl_strerror(commit_rc));
	} else if (job->wjob.run_rc == 0 && job->ev.n) {
		for (size_t i = 0; i < job->ev.n; i++)
			if (job->ev.v[i].type == BUS_MESSAGE_NEW)
				srv->metrics.messages_stored++;
		bus_publish(srv->bus, job->ev.v, job->ev.n);
	}
	if (!job->reply) {
		job->reply = api_error_json(PLC_INTERNAL, "out of memory", 0);
		job->status = 500;
	}
	job_finish(job);
}

/* Loop thread, after phase_read. */
static void after_read(uv_work_t *w, int status)
{
	struct api_job *job = w->data;

	if (job->reply || status < 0) {
		if (!job->reply) {
			job->reply = api_error_json(PLC_INTERNAL, "the call was cancelled", 0);
			job->status = 500;
		}
		job_finish(job);
		return;
	}
	job->wjob.run = run_write;
	job->wjob.done = write_done;
	if (store_writer_submit(job->srv->writer, &job->wjob) < 0) {
		job->reply = api_error_json(PLC_SERVER_BUSY, "the server is shutting down", 0);
		job->status = 503;
		job_finish(job);
	}
}

static const char *bearer(const char *auth)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return auth;
}

static int content_type_ok(const struct net_req *req)
{
	const char *ct = req->content_type;

	return !req->body_len || !ct || strncasecmp(ct, "application/json", 16) == 0;
}

static void serve_api(struct api_server *srv, struct net_req *req, const char *name)
{
	const struct api_method *m = api_method_find(name);
	struct api_job *job;
	int idx;

	if (!m) {
		respond_error(srv, req, -1, PLC_METHOD_NOT_FOUND, "no such API method", 0);
		return;
	}
	idx = (int)(m - api_methods);
	if (req->method != NET_POST && req->method != NET_GET) {
		respond_error(srv, req, idx, PLC_HTTP_METHOD_INVALID, "use POST", 0);
		return;
	}
	if (!content_type_ok(req)) {
		respond_error(srv, req, idx, PLC_CONTENT_TYPE_INVALID, "send the parameters as application/json", 0);
		return;
	}
	if (m->rate == API_RATE_AUTH) {
		char key[80];
		double per_min = (double)srv->cfg->rate_auth_ip_per_min;
		int wait;
		snprintf(key, sizeof key, "auth:%s", req->peer_ip);
		if ((wait = rl_take(srv->ip_limits, key, per_min / 60.0, per_min, mono_now()))) {
			respond_error(srv, req, idx, PLC_FLOOD_WAIT, "too many sign-up or login attempts from your address",
				      wait);
			return;
		}
	}
	if (!(job = calloc(1, sizeof *job))) {
		respond_error(srv, req, idx, PLC_SERVER_BUSY, "out of memory", 0);
		return;
	}
	job->srv = srv;
	job->req = req;
	job->method = idx;
	job->mono = mono_now();
	job->call.core = srv->core;
	job->call.now = (int64_t)time(NULL);
	job->call.token = bearer(req->authorization);
	snprintf(job->call.ip, sizeof job->call.ip, "%s", req->peer_ip);
	bus_events_init(&job->ev);
	job->work.data = job;
	srv->inflight++;
	if (uv_queue_work(srv->loop, &job->work, phase_read, after_read) < 0) {
		srv->inflight--;
		free(job);
		respond_error(srv, req, idx, PLC_SERVER_BUSY, "could not queue the call", 0);
	}
}

static void serve_metrics(struct api_server *srv, struct net_req *req)
{
	struct metrics_gauges g = {0};
	struct store_writer_stats ws;
	size_t len = 0;
	char *body;

	store_writer_stats(srv->writer, &ws);
	g.connections = net_server_connections(srv->net);
	g.inflight = srv->inflight;
	g.write_queue = store_writer_queued(srv->writer);
	g.commits = ws.commits;
	g.write_jobs = ws.jobs;
	g.commit_failures = ws.failed;
	body = metrics_render(&srv->metrics, &g, &len);
	if (!body) {
		respond_error(srv, req, -1, PLC_INTERNAL, "out of memory", 0);
		return;
	}
	metrics_observe(&srv->metrics, -1, 200, (double)(uv_hrtime() - req->start_ns) / 1e9);
	net_req_respond(req, 200, "text/plain; version=0.0.4", body, len, NULL);
	free(body);
}

static void on_request(void *ctx, struct net_req *req)
{
	struct api_server *srv = ctx;
	static const char ok[] = "{\"ok\":true,\"result\":\"serving\"}";

	if (srv->closing) {
		respond_error(srv, req, -1, PLC_SERVER_BUSY, "the server is shutting down", 0);
	} else if (strncmp(req->path, "/api/", 5) == 0) {
		serve_api(srv, req, req->path + 5);
	} else if (strcmp(req->path, "/healthz") == 0) {
		respond(srv, req, -1, 200, ok, sizeof ok - 1, 0);
	} else if (strcmp(req->path, "/metrics") == 0) {
		serve_metrics(srv, req);
	} else {
		respond_error(srv, req, -1, PLC_NOT_FOUND, "no such page", 0);
	}
}

struct api_server *api_server_new(uv_loop_t *loop, struct core *core, struct store_writer *writer,
				  struct store_pool *readers, struct bus *bus, const struct pl_config *cfg,
				  const struct pl_log *log, long long messages_stored)
{
	struct api_server *srv = calloc(1, sizeof *srv);
	struct net_limits lim;

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->core = core;
	srv->writer = writer;
	srv->readers = readers;
	srv->bus = bus;
	srv->cfg = cfg;
	srv->log = log;
	net_limits_default(&lim);
	lim.max_connections = (unsigned)cfg->max_connections;
	lim.max_header_bytes = (size_t)cfg->max_header_bytes;
	lim.max_body_bytes = (size_t)cfg->max_body_bytes;
	lim.header_timeout_ms = (unsigned)cfg->header_timeout_ms;
	lim.idle_timeout_ms = (unsigned)cfg->idle_timeout_ms;
	srv->ip_limits = rl_table_new(RATE_KEYS_MAX);
	srv->session_limits = rl_table_new(RATE_KEYS_MAX);
	if (!srv->ip_limits || !srv->session_limits || metrics_init(&srv->metrics, api_methods_count) < 0)
		goto fail;
	srv->metrics.messages_stored = messages_stored;
	if (!(srv->net = net_server_new(loop, &lim, on_request, srv)))
		goto fail;
	return srv;
fail:
	api_server_free(srv);
	return NULL;
}

int api_server_listen(struct api_server *srv, const char *addr, char *err, size_t errlen)
{
	return net_server_listen(srv->net, addr, err, errlen);
}

int api_server_port(const struct api_server *srv)
{
	return net_server_port(srv->net);
}

void api_server_close(struct api_server *srv)
{
	srv->closing = 1;
	net_server_close(srv->net);
}

void api_server_free(struct api_server *srv)
{
	if (!srv)
		return;
	net_server_free(srv->net);
	rl_table_free(srv->ip_limits);
	rl_table_free(srv->session_limits);
	metrics_release(&srv->metrics);
	free(srv);
}

size_t api_server_inflight(const struct api_server *srv)
{
	return srv->inflight;
}
