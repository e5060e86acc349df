/* server.c — parleyd's request pipeline (see server.h and api.h).
 *
 * Each API call is one struct api_job that lives from the request callback
 * until its answer has been handed to net:
 *   loop:   route, per-IP limit for public methods      (on_request)
 *   worker: decode, authenticate, prep, read-only exec   (phase_read)
 *           and a call that writes goes on to the writer from here
 *   loop:   answer a read, park or fail                  (after_read)
 *   writer: exec inside the group transaction            (run_write)
 *   loop:   answer after commit, publish events          (write_done)
 * The workers are the server's own pool (util/workpool.h), one per read
 * handle (reader_threads): a write goes from worker to writer without
 * coming back to the loop in between, and completions come back to the
 * loop many per wake-up.  A WebSocket write of a signed-in socket with no
 * prep skips the worker (ws_direct): the loop decodes it and the writer
 * authenticates it in its group before exec, one hand-off fewer.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "api/envelope.h"
#include "api/hub.h"
#include "api/media_http.h"
#include "api/metrics.h"
#include "api/server.h"
#include "api/server_int.h"
#include "api/static.h"
#include "api/updates.h"
#include "bus/bus.h"
#include "core/core.h"
#include "net/http_fields.h"
#include "net/net.h"
#include "net/ws.h"
#include "store/writer.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/textbuf.h"
#include "util/workpool.h"

#define RATE_KEYS_MAX 100000
/* Finished jobs kept for the next calls: a job is ~6.9 KiB, and from
 * malloc each one costs a large-chunk allocation, the free list work of
 * freeing it and 6.9 KiB of zeroing, on the loop, per call (callgrind, the
 * 1:1 bench with 2,048 calls in flight and 256 kept: 3 calls in 4 missed,
 * ~4,600 of the loop's ~21,000 instructions per message).  The cache
 * follows the load: it keeps a finished job while it holds fewer than the
 * calls in flight plus JOB_CACHE_SLACK, so under a steady load every call
 * finds one, and once the load falls each finished job lets one more go,
 * which brings it back to JOB_CACHE_SLACK (~1.7 MiB) when idle.  Never
 * more than JOB_CACHE_MAX (~28 MiB, at 4,096 calls in flight). */
#define JOB_CACHE_SLACK 256
#define JOB_CACHE_MAX 4096
/* Between two steps of a pruning drain (retention pruning, below): with
 * steps of ~2-4 ms (1,000 rows), the writer spends at most about a quarter
 * of its time on a drain while one runs. */
#define API_PRUNE_PAUSE_MS 10

struct api_server {
	uv_loop_t *loop;
	struct net_server *net;
	struct core *core;
	struct store_writer *writer;
	struct store_pool *readers;
	struct workpool *workers;        /* runs the read phases */
	struct bus *bus;
	const struct pl_config *cfg;
	const struct pl_log *log;
	struct rl_table *ip_limits;      /* register + login per IP */
	struct rl_table *session_limits; /* calls per session */
	struct api_metrics metrics;
	struct hub *hub;
	struct upd_config ucfg;
	struct ws_limits wsl;
	uv_timer_t prune_timer;          /* the tick: starts a drain (prune_interval_seconds) */
	uv_timer_t prune_pause;          /* between two steps of a drain (API_PRUNE_PAUSE_MS) */
	int prune_draining;              /* a drain is going on: a step queued, or the pause before one */
	int64_t prune_cutoff;            /* the drain's: rows dated before it go */
	int64_t prune_rows;              /* the drain's deletions so far */
	int64_t prune_steps;             /* and its steps */
	uint64_t prune_start_ns;         /* uv_hrtime() at the drain's tick */
	struct api_job *parked;          /* getUpdates calls waiting for an update */
	struct static_site *site;        /* the web app */
	struct uploads *uploads;         /* streamed uploads and the file collector (upload.c) */
	struct api_env env;              /* what upload.c and download.c borrow */
	size_t inflight;
	int closing;
	struct api_job *job_cache;       /* finished jobs for reuse (pnext), loop thread only */
	size_t job_cached;
	struct api_method_index methods; /* every call's method is looked up here */
};

struct api_job {
	struct store_job wjob;           /* first: the writer hands this back */
	struct workpool_job pjob;        /* on the worker pool */
	struct api_server *srv;
	struct net_req *req;
	struct api_call call;
	struct bus_events ev;
	double mono;
	char *reply;                     /* malloc'd, or in the group's arena (reply_arena) */
	int reply_arena;                 /* reply is in wjob.arena: valid until write_done returns */
	int status;
	int method;                      /* index into api_methods */
	int64_t last_seen;               /* the session's, for touching it */
	uint64_t start_ns;
	struct upd_list pushes;          /* live deliveries after commit */
	struct hub_sess *ws;             /* WebSocket call: the session to answer on */
	int64_t ws_sid;                  /* its session, once authenticated: calls check it by id */
	char *token_own;                 /* call.token when the job owns it */
	json_t *ws_id;                   /* its "id", read by jansson */
	json_t *params;                  /* its "params" (until decoded), read by jansson */
	int fast;                        /* the call was read by the envelope reader: env below holds it */
	struct hub_auth *auth;           /* an authentication of a WebSocket */
	struct hub_waiter waiter;        /* getUpdates parked */
	uv_timer_t timer;
	int timer_used;
	struct api_job *pnext, *pprev;   /* in srv->parked */
	int direct;                      /* a WebSocket write that skipped the read phase (ws_direct) */
	int rate_wait;                   /* the session limit's answer once taken, -1 before: a call
					  * the writer runs again does not take it twice */
	/* Last, and not cleared whole when a cached job is used again
	 * (job_new): 5.3 of the job's 6.9 KiB, set up by their own fields. */
	struct core_tx tx;               /* released (tx_done) after each use: its head is cleared */
	struct core_verdicts verdicts;   /* the safety chain's answers, kept if the writer runs it again:
					  * n and next cleared, v[] read only below n */
	struct envelope env;             /* or its id and params, read by the envelope reader (fast set):
					  * decoded strings point into env's arena, freed with the job;
					  * read only when fast is set (moved in: envelope_move), else arena NULL */
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

/* Loop thread: a job is done with (its contents released): kept for
 * job_new or freed. */
static void job_release(struct api_server *srv, struct api_job *job)
{
	size_t keep = srv->inflight + JOB_CACHE_SLACK;
	struct api_job *spare;

	if (srv->job_cached >= keep || srv->job_cached >= JOB_CACHE_MAX || srv->closing) {
		free(job);
		if (srv->job_cached > keep && (spare = srv->job_cache)) { /* the load fell */
			srv->job_cache = spare->pnext;
			srv->job_cached--;
			free(spare);
		}
		return;
	}
	job->pnext = srv->job_cache;
	srv->job_cache = job;
	srv->job_cached++;
}

static void job_free_cb(uv_handle_t *h)
{
	struct api_job *job = h->data;

	job_release(job->srv, job);
}

/* Sends a reply on a WebSocket: the HTTP envelope with the call's "id"
 * first — {"id":ID, then the envelope without its "{" — written straight
 * into the frame (an id the envelope reader read, or an integer one,
 * without jansson). */
static void ws_reply(struct api_server *srv, struct api_job *job)
{
	char small[48], *head = small, *ids = NULL;
	int n = -1;

	metrics_observe(&srv->metrics, job->method, job->status, (double)(uv_hrtime() - job->start_ns) / 1e9);
	if (!job->ws->conn || !job->reply)
		return;
	if (job->fast) { /* the id as the envelope reader read it: no jansson */
		char ib[ENVELOPE_ID_BUF];
		size_t idn;
		const char *idt = envelope_id_json(&job->env.id, ib, &idn);
		if (idn + 8 <= sizeof small || (head = malloc(idn + 8))) {
			memcpy(head, "{\"id\":", 6);
			memcpy(head + 6, idt, idn);
			head[6 + idn] = ',';
			n = (int)idn + 7;
		}
	} else if (!job->ws_id)
		n = snprintf(small, sizeof small, "{\"id\":null,");
	else if (json_is_integer(job->ws_id))
		n = snprintf(small, sizeof small, "{\"id\":%" JSON_INTEGER_FORMAT ",", json_integer_value(job->ws_id));
	else if ((ids = json_dumps(job->ws_id, JSON_ENCODE_ANY | JSON_COMPACT)) &&
		 (head = malloc(strlen(ids) + 8)))
		n = sprintf(head, "{\"id\":%s,", ids);
	if (n > 0)
		(void)ws_conn_send_text2(job->ws->conn, head, (size_t)n, job->reply + 1, strlen(job->reply + 1));
	if (head != small)
		free(head);
	free(ids);
}

/* Drops the job's reply: freed unless it is in its group's arena. */
static void reply_drop(struct api_job *job)
{
	if (!job->reply_arena)
		free(job->reply);
	job->reply = NULL;
	job->reply_arena = 0;
}

static void job_finish(struct api_job *job)
{
	struct api_server *srv = job->srv;
	int retry = job->call.retry_after ? job->call.retry_after : job->tx.retry_after;

	if (job->req)
		respond(srv, job->req, job->method, job->status, job->reply, strlen(job->reply), retry);
	else if (job->ws)
		ws_reply(srv, job);
	reply_drop(job);
	bus_events_release(&job->ev);
	upd_list_release(&job->pushes);
	api_call_release(&job->call);
	json_decref(job->ws_id);
	json_decref(job->params);
	envelope_release(&job->env);
	free(job->token_own);
	if (job->ws)
		hub_sess_unref(srv->hub, job->ws);
	srv->inflight--;
	if (job->timer_used) {
		job->timer.data = job;
		uv_close((uv_handle_t *)&job->timer, job_free_cb);
	} else {
		job_release(srv, job);
	}
}

/* --- reader handles (server_int.h) -------------------------------------- */

struct store *api_reader_get(struct store_pool *readers)
{
	struct store *s = store_pool_get(readers);

	/* A transaction left open would pin the handle to an old snapshot:
	 * end it and start afresh.  If beginning fails, the call still runs,
	 * one autocommit read per statement. */
	if (store_read_begin(s) == PL_INVAL) {
		(void)store_read_end(s);
		(void)store_read_begin(s);
	}
	return s;
}

void api_reader_put(struct store_pool *readers, struct store *s)
{
	(void)store_read_end(s);
	store_pool_put(readers, s);
}

/* Ends what the call's tx holds (its caches) and lets go of the store. */
static void tx_done(struct api_job *job)
{
	core_tx_release(&job->tx);
	job->tx.s = NULL;
}

static void tx_init(struct api_job *job, struct store *s, struct bus_events *ev)
{
	struct core_tx *tx = &job->tx;

	core_tx_reuse(tx); /* a write runs in the tx its read phase used */
	tx->core = job->srv->core;
	tx->s = s;
	tx->now = job->call.now;
	tx->mono = job->mono;
	tx->uid = job->call.user_id;
	tx->ev = ev;
	/* Reads render for the caller: territorial restrictions apply.  A write
	 * builds stored updates for everyone: they are filtered when fetched. */
	tx->viewer = ev == NULL;
	tx->ip = job->call.ip;
	if (job->call.country[0]) {
		memcpy(tx->country, job->call.country, sizeof tx->country);
		tx->country_known = 1;
	}
	job->call.tx = tx;
}

/* Authenticates and applies the per-session rate limit: on a worker
 * (phase_read) on a read handle, or for a direct WebSocket write on the
 * writer inside its group (run_write), where it sees every revocation and
 * suspension committed before it, those of its own group included.  The
 * one place that decides who calls; the limit is taken once per call. */
static int authenticate(struct api_job *job)
{
	struct api_call *call = &job->call;
	struct store_session ss;
	char key[40];
	double rate = (double)job->srv->cfg->rate_requests_per_sec;
	int rc, wait;

	if (!call->token && job->ws_sid)
		rc = core_authenticate_session(&job->tx, job->ws_sid, &ss);
	else
		rc = core_authenticate(&job->tx, call->token, &ss);
	if (rc < 0)
		return rc;
	/* A suspended account's sessions answer ACCOUNT_SUSPENDED, except for
	 * reading the statement of reasons and appealing it. */
	if (!(call->m->flags & API_F_SUSPENDED_OK) &&
	    (rc = core_mod_suspension_check(&job->tx, ss.suspended_until, ss.suspend_statement)) < 0)
		return rc;
	call->user_id = ss.user_id;
	call->session_id = ss.id;
	memcpy(call->country, ss.country, sizeof call->country);
	job->last_seen = ss.last_seen;
	if (job->rate_wait < 0) {
		key[0] = 's';
		key[1] = ':';
		textbuf_fmt_i64(key + 2, ss.id); /* "s:%lld" */
		job->rate_wait = rl_take(job->srv->session_limits, key, rate, rate * 2, job->mono);
	}
	if ((wait = job->rate_wait)) {
		call->retry_after = wait;
		return api_fail(call, PLC_FLOOD_WAIT, "more than %g calls per second", rate);
	}
	return 0;
}

/* The platform role check of role-scoped methods: the one place that
 * decides who may moderate (api.h, enum api_scope). */
static int check_role(struct api_job *job, struct store *s)
{
	struct api_call *call = &job->call;
	int need = api_scope_role(call->m->scope), rc;

	if ((rc = core_mod_role_get(&job->tx, call->user_id, &call->role)) < 0)
		return rc;
	if (call->role < need)
		return api_fail(call, PLC_ROLE_REQUIRED, "%s needs the platform role %s", call->m->name,
				mod_role_name(need));
	return 0;
}

static struct api_job *job_of(struct workpool_job *pj)
{
	return (struct api_job *)(void *)((char *)pj - offsetof(struct api_job, pjob));
}

static int run_write(struct store_job *wj, struct store *s);
static void write_done(struct store_job *wj, int commit_rc);
static void write_reset(struct store_job *wj);

/* Any thread: queues the call on the writer.  Returns 0, or -1 with the
 * 503 answer set (the writer is stopping). */
static int queue_write(struct api_job *job)
{
	job->wjob.run = run_write;
	job->wjob.done = write_done;
	job->wjob.reset = write_reset;
	if (store_writer_submit(job->srv->writer, &job->wjob) < 0) {
		job->reply = api_error_json(PLC_SERVER_BUSY, "the server is shutting down", 0);
		job->status = 503;
		return -1;
	}
	return 0;
}

/* Worker thread: a call whose read phase found nothing to answer yet goes
 * straight to the writer (store_writer_submit is thread-safe), unless the
 * loop has something to do first.  Returns WORKPOOL_HANDED_OFF if it went. */
static int submit_write(struct api_job *job)
{
	if (job->reply || job->call.park || job->call.typing)
		return 0; /* after_read on the loop */
	return queue_write(job) < 0 ? 0 : WORKPOOL_HANDED_OFF;
}

/* Worker thread. */
static int phase_read(struct workpool_job *pj)
{
	struct api_job *job = job_of(pj);
	struct api_call *call = &job->call;
	const struct api_method *m = &api_methods[job->method];
	struct store *s = api_reader_get(job->srv->readers);
	int rc = 0;

	tx_init(job, s, NULL);
	call->m = m;
	/* Moderation methods check who calls before what they were sent. */
	if (m->scope >= API_MODERATOR && (rc = authenticate(job)) == 0)
		rc = check_role(job, s);
	if (rc < 0) {
		json_decref(job->params);
		job->params = NULL;
	} else if (job->fast) { /* a WebSocket call read without jansson */
		rc = api_args_decode_envelope(call, m, &job->env);
	} else if (job->params) { /* a WebSocket call, or the call an upload makes */
		rc = api_args_decode_json(call, m, job->params);
		job->params = NULL;
	} else {
		rc = api_args_decode(call, m, job->req->body, job->req->body_len);
	}
	if (rc == 0 && (m->scope == API_USER || (m->scope == API_OPTIONAL && (call->token || job->ws_sid))))
		rc = authenticate(job);
	job->tx.uid = call->user_id;
	if (call->country[0] && !job->tx.country_known) {
		memcpy(job->tx.country, call->country, sizeof job->tx.country);
		job->tx.country_known = 1;
	}
	if (rc == 0 && m->prep)
		rc = m->prep(call, s);
	if (rc == 0 && m->kind == API_READ)
		rc = m->exec(call, s);
	if (rc < 0 || m->kind == API_READ) {
		job->reply = api_reply(call, &job->status);
		api_result_clear(call); /* freed here, by the thread that built it, not by the loop */
	}
	tx_done(job);
	api_reader_put(job->srv->readers, s);
	return submit_write(job);
}

/* Writer thread, inside the group transaction. */
static int run_write(struct store_job *wj, struct store *s)
{
	struct api_job *job = (struct api_job *)wj;
	const struct api_method *m = &api_methods[job->method];
	struct upd_body *rb = NULL;
	int rc;

	tx_init(job, s, &job->ev);
	job->tx.verdicts = &job->verdicts;
	job->call.arena = wj->arena;
	/* A direct call is authenticated here, by one read of its session
	 * (and user) on the writer's handle, from its row cache once warm. */
	if (!job->direct || (rc = authenticate(job)) == 0)
		rc = m->exec(&job->call, s);
	if (rc == 0 && job->ev.n &&
	    (rc = upd_write(&job->tx, &job->srv->ucfg, &job->ev, job->call.result, wj->arena, &job->pushes, &rb)) <
		    0)
		api_fail(&job->call, PLC_INTERNAL, "could not record the update: %s", pl_strerror(rc));
	if (rc == 0 && job->call.session_id && job->call.now - job->last_seen >= 60)
		(void)store_session_touch(s, job->call.session_id, job->call.now, job->call.ip);
	if (rc < 0 && !job->call.code && !job->tx.code)
		api_fail(&job->call, PLC_INTERNAL, "%s", pl_strerror(rc));
	/* A message the caller's update already serialised is not serialised
	 * again for the reply. */
	if (rc == 0 && rb && !job->call.code && job->call.result &&
	    (job->reply = upd_reply_from_body(rb, wj->arena))) {
		job->status = 200;
		job->reply_arena = wj->arena != NULL;
	} else {
		job->reply = api_reply_in(&job->call, &job->status, wj->arena, &job->reply_arena);
	}
	job->call.arena = NULL; /* the result is cleared just below; nothing else takes from it */
	/* The reply holds the result now: freed here, by the thread that built
	 * it (its malloc cache gets the block back for the next call), not by
	 * the loop.  Nothing after the commit reads it. */
	api_result_clear(&job->call);
	upd_body_unref(rb);
	if (rc == 0 && job->status != 200)
		rc = PL_ERR; /* rendering failed: keep nothing */
	tx_done(job);
	return rc;
}

/* Writer thread: the group was rolled back and run_write runs again
 * (writer.h).  Drops what the first run left: the answer, the events and
 * pushes, the result and error; the safety chain's answers are kept, to be
 * replayed.  What else a write does happens in the store, or on the loop
 * after the commit (write_done: metrics, publishing, delivery); its tx and
 * the tx's caches start afresh in tx_init. */
static void write_reset(struct store_job *wj)
{
	struct api_job *job = (struct api_job *)wj;

	reply_drop(job);
	job->status = 0;
	bus_events_release(&job->ev);
	upd_list_release(&job->pushes);
	api_result_clear(&job->call);
	job->call.code = 0;
	job->call.detail[0] = '\0';
	job->call.retry_after = 0; /* set by exec only on a failure (a read's limits are taken in prep) */
	job->verdicts.next = 0;
	job->wjob.run_rc = 0;
}

/* Loop thread, after the commit. */
static void write_done(struct store_job *wj, int commit_rc)
{
	struct api_job *job = (struct api_job *)wj;
	struct api_server *srv = job->srv;
	struct upd_list pushes = job->pushes;
	int deliver = commit_rc == 0 && job->wjob.run_rc == 0;

	if (commit_rc < 0) {
		reply_drop(job);
		job->reply = api_error_json(commit_rc == PL_BUSY ? PLC_SERVER_BUSY : PLC_INTERNAL,
					    "the change could not be committed; nothing was saved", 0);
		job->status = pl_code_status(commit_rc == PL_BUSY ? PLC_SERVER_BUSY : PLC_INTERNAL);
		pl_log(srv->log, PL_LOG_ERROR, "commit failed: %s", pl_strerror(commit_rc));
	} else if (job->wjob.run_rc == 0 && job->ev.n) {
		for (size_t i = 0; i < job->ev.n; i++)
			if (job->ev.v[i].type == BUS_MESSAGE_NEW && !job->ev.v[i].value) /* value 1: restored */
				srv->metrics.messages_stored++;
		bus_publish(srv->bus, job->ev.v, job->ev.n);
	}
	/* Answer first, then push: a call that ends its own session (logOut, or
	 * revokeSession of itself, over its socket) must be answered before the
	 * push closes that socket with 4401. */
	upd_list_init(&job->pushes);
	if (!job->reply) {
		job->reply = api_error_json(PLC_INTERNAL, "out of memory", 0);
		job->status = 500;
	}
	job_finish(job);
	if (deliver)
		hub_deliver(srv->hub, &pushes);
	upd_list_release(&pushes);
}

static int phase_exec_again(struct workpool_job *pj);
static void after_read(struct workpool_job *pj);

/* A parked getUpdates has something to say, or its time is up: run it again,
 * this time answering even if there is still nothing. */
static void unpark(struct api_job *job)
{
	struct api_server *srv = job->srv;

	uv_timer_stop(&job->timer);
	if (job->pprev)
		job->pprev->pnext = job->pnext;
	else
		srv->parked = job->pnext;
	if (job->pnext)
		job->pnext->pprev = job->pprev;
	job->pnext = job->pprev = NULL;
	job->call.no_wait = 1;
	job->call.park = 0;
	job->pjob.run = phase_exec_again;
	job->pjob.done = after_read;
	if (workpool_submit(srv->workers, &job->pjob) < 0) {
		job->reply = api_error_json(PLC_SERVER_BUSY, "could not queue the call", 0);
		job->status = 503;
		job_finish(job);
	}
}

static void on_waiter_wake(struct hub_waiter *w)
{
	struct api_job *job = (struct api_job *)((char *)w - offsetof(struct api_job, waiter));

	unpark(job);
}

static void on_park_timeout(uv_timer_t *t)
{
	struct api_job *job = t->data;

	hub_unwait(job->srv->hub, &job->waiter);
	unpark(job);
}

static void park(struct api_job *job)
{
	struct api_server *srv = job->srv;

	reply_drop(job);
	api_result_clear(&job->call);
	job->waiter.uid = job->call.user_id;
	job->waiter.wake = on_waiter_wake;
	if (!job->timer_used) {
		uv_timer_init(srv->loop, &job->timer);
		job->timer_used = 1;
	}
	job->timer.data = job;
	if (hub_wait(srv->hub, &job->waiter) < 0) {
		unpark(job);
		return;
	}
	uv_timer_start(&job->timer, on_park_timeout, (uint64_t)job->call.park * 1000, 0);
	job->pnext = srv->parked;
	job->pprev = NULL;
	if (srv->parked)
		srv->parked->pprev = job;
	srv->parked = job;
}

/* Worker thread: a parked getUpdates runs its handler again, in a read
 * transaction of its own (none is held while it is parked). */
static int phase_exec_again(struct workpool_job *pj)
{
	struct api_job *job = job_of(pj);
	struct store *s = api_reader_get(job->srv->readers);

	tx_init(job, s, NULL);
	job->call.code = 0;
	(void)api_methods[job->method].exec(&job->call, s);
	job->reply = api_reply(&job->call, &job->status);
	api_result_clear(&job->call);
	tx_done(job);
	api_reader_put(job->srv->readers, s);
	return 0;
}

/* Loop thread, after phase_read (unless it handed the call to the writer)
 * or phase_exec_again: answers, parks, or — a write that had to come back
 * first (typing) — queues the call on the writer. */
static void after_read(struct workpool_job *pj)
{
	struct api_job *job = job_of(pj);

	if (job->call.typing && !job->call.code)
		hub_typing(job->srv->hub, job->call.typing);
	if (job->call.park && !job->call.code && !job->srv->closing) {
		park(job);
		return;
	}
	if (job->reply) {
		job_finish(job);
		return;
	}
	if (queue_write(job) < 0)
		job_finish(job);
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

/* "Authorization: Flagger <key>": a trusted flagger's notice (submitNotice). */
static const char *flagger_key(const char *auth)
{
	if (!auth || strncasecmp(auth, "Flagger ", 8) != 0)
		return NULL;
	auth += 8;
	while (*auth == ' ')
		auth++;
	return auth;
}

static int content_type_ok(const struct net_req *req)
{
	const char *ct = req->content_type;

	return !req->body_len || !ct || strncasecmp(ct, "application/json", 16) == 0;
}

/* Per-IP limit on register and login; 0 or the seconds to wait. */
static int auth_limited(struct api_server *srv, const struct api_method *m, const char *ip)
{
	char key[80];
	double per_min = (double)srv->cfg->rate_auth_ip_per_min;

	if (m->rate != API_RATE_AUTH)
		return 0;
	snprintf(key, sizeof key, "auth:%s", ip);
	return rl_take(srv->ip_limits, key, per_min / 60.0, per_min, mono_now());
}

static struct api_job *job_new(struct api_server *srv, int method, const char *ip, const char *token)
{
	struct api_job *job = srv->job_cache;

	if (job) {
		/* All but the tail, which is set up by its fields (struct
		 * api_job): tx was released by tx_done after its last use. */
		srv->job_cache = job->pnext;
		srv->job_cached--;
		memset(job, 0, offsetof(struct api_job, tx));
		memset(&job->tx, 0, offsetof(struct core_tx, users));
		job->verdicts.n = job->verdicts.next = 0;
		job->env.arena = NULL;
	} else if (!(job = calloc(1, sizeof *job))) {
		return NULL;
	}
	job->srv = srv;
	job->method = method;
	job->start_ns = uv_hrtime(); /* one clock read for both (mono_now's clock) */
	job->mono = (double)job->start_ns / 1e9;
	job->call.core = srv->core;
	job->call.hub = srv->hub;
	job->call.now = (int64_t)time(NULL);
	job->call.token = token;
	memcpy(job->call.ip, ip, strnlen(ip, sizeof job->call.ip - 1)); /* zeroed above: terminated */
	job->rate_wait = -1;
	bus_events_init(&job->ev);
	upd_list_init(&job->pushes);
	/* Password hashing (register, login) may take a core for tens of ms:
	 * the pool must not hold short calls behind it (workpool.h). */
	job->pjob.slow = api_methods[method].rate == API_RATE_AUTH;
	return job;
}

static int job_start(struct api_job *job, workpool_run_cb run, workpool_done_cb done)
{
	job->srv->inflight++;
	job->pjob.run = run;
	job->pjob.done = done;
	if (workpool_submit(job->srv->workers, &job->pjob) < 0) {
		job->srv->inflight--;
		return PL_BUSY;
	}
	return 0;
}

static void serve_api(struct api_server *srv, struct net_req *req, const char *name)
{
	const struct api_method *m = api_method_index_find(&srv->methods, name);
	struct api_job *job;
	int idx, wait;

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
	if ((wait = auth_limited(srv, m, req->peer_ip))) {
		respond_error(srv, req, idx, PLC_FLOOD_WAIT, "too many sign-up or login attempts from your address", wait);
		return;
	}
	if (!(job = job_new(srv, idx, req->peer_ip, bearer(req->authorization)))) {
		respond_error(srv, req, idx, PLC_SERVER_BUSY, "out of memory", 0);
		return;
	}
	job->req = req;
	job->call.flagger_key = flagger_key(req->authorization);
	if (job_start(job, phase_read, after_read) < 0) {
		job_release(srv, job);
		respond_error(srv, req, idx, PLC_SERVER_BUSY, "could not queue the call", 0);
	}
}

/* --- WebSocket sessions (docs/sync.md, "The WebSocket") ----------------- */

/* A call's "id" as sent: read by the envelope reader (e), or by jansson
 * (j; NULL if there was none). */
struct ws_id {
	const struct envelope_value *e;
	json_t *j;
};

static struct ws_id job_ws_id(const struct api_job *job)
{
	return (struct ws_id){job->fast ? &job->env.id : NULL, job->ws_id};
}

/* The id as JSON text, as json_dumps(j, JSON_ENCODE_ANY) writes it: a
 * literal, or into buf, the envelope's arena or *own (malloc'd: the caller
 * frees it). */
static const char *ws_id_text(struct ws_id id, char buf[ENVELOPE_ID_BUF], char **own, size_t *len)
{
	*own = NULL;
	if (id.e)
		return envelope_id_json(id.e, buf, len);
	if (id.j && (*own = json_dumps(id.j, JSON_ENCODE_ANY))) {
		*len = strlen(*own);
		return *own;
	}
	*len = 4;
	return "null";
}

/* Sends {"id":ID,"ok":false,...} for a call that never became a job. */
static void ws_error(struct hub_sess *sess, struct ws_id id, int code, const char *detail)
{
	char *body = api_error_json(code, detail, 0), *own, ib[ENVELOPE_ID_BUF];
	size_t idn;
	const char *ids = ws_id_text(id, ib, &own, &idn);
	char *frame;
	size_t n;

	if (body && sess->conn) {
		n = strlen(body) + idn + 8;
		if ((frame = malloc(n))) {
			int len = snprintf(frame, n, "{\"id\":%.*s,%s", (int)idn, ids, body + 1);
			(void)ws_conn_send_text(sess->conn, frame, (size_t)len);
			free(frame);
		}
	}
	free(body);
	free(own);
}

static int collect_i64(void *ctx, int64_t id)
{
	struct { int64_t *v; size_t n, cap; } *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return PL_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

static int collect_chat(void *ctx, int64_t chat_id, int64_t pts)
{
	return collect_i64(ctx, chat_id);
}

/* Worker thread: checks the token and learns what the hub needs. */
static int phase_auth(struct workpool_job *pj)
{
	struct api_job *job = job_of(pj);
	struct store *s = api_reader_get(job->srv->readers);
	struct store_session ss;
	struct store_user u;
	struct { int64_t *v; size_t n, cap; } chats = {0}, contacts = {0};

	tx_init(job, s, NULL);
	if (core_authenticate(&job->tx, job->call.token, &ss) == 0 &&
	    core_mod_suspension_check(&job->tx, ss.suspended_until, ss.suspend_statement) == 0 &&
	    store_user_get(s, ss.user_id, &u) == 0 && store_large_chats(s, ss.user_id, collect_chat, &chats) >= 0 &&
	    store_contact_ids(s, ss.user_id, collect_i64, &contacts) >= 0 && (job->auth = calloc(1, sizeof *job->auth))) {
		*job->auth = (struct hub_auth){ss.user_id, ss.id, chats.v, chats.n, contacts.v, contacts.n,
					       u.privacy_last_seen};
		/* Pushes of content withheld in a territory are chosen by it. */
		memcpy(job->auth->country, core_viewer_country(&job->tx), sizeof job->auth->country);
	} else {
		free(chats.v);
		free(contacts.v);
	}
	tx_done(job);
	api_reader_put(job->srv->readers, s);
	return 0;
}

static void auth_free(struct hub_auth *a)
{
	if (!a)
		return;
	free(a->chats);
	free(a->contacts);
	free(a);
}

static void after_auth(struct workpool_job *pj)
{
	struct api_job *job = job_of(pj);
	struct hub_sess *sess = job->ws;
	struct api_server *srv = job->srv;
	char buf[160];

	/* Authenticated or refused, the socket keeps no token: its calls are
	 * checked by session id from now on (a closed session fails them). */
	sess->authing = 0;
	free(sess->token);
	sess->token = NULL;
	if (!job->auth || !sess->conn || hub_sess_auth(srv->hub, sess, job->auth) < 0) {
		if (sess->conn) {
			int suspended = job->tx.code == PLC_ACCOUNT_SUSPENDED;
			ws_error(sess, job_ws_id(job), suspended ? PLC_ACCOUNT_SUSPENDED : PLC_UNAUTHORIZED,
				 suspended ? job->tx.detail : "this session token is not valid");
			ws_conn_close(sess->conn, 4401, "unauthorized");
		}
	} else if (job->ws_id || (job->fast && job->env.id.kind != ENVELOPE_ABSENT)) {
		char ib[ENVELOPE_ID_BUF], *own, *frame;
		size_t idn, fn;
		const char *ids = ws_id_text(job_ws_id(job), ib, &own, &idn);
		int n = snprintf(buf, sizeof buf, ",\"ok\":true,\"result\":{\"user_id\":%lld,\"session_id\":%lld}}",
				 (long long)job->auth->uid, (long long)job->auth->sid);
		fn = idn + (size_t)n + 8;
		if ((frame = malloc(fn))) {
			n = snprintf(frame, fn, "{\"id\":%.*s%s", (int)idn, ids, buf);
			(void)ws_conn_send_text(sess->conn, frame, (size_t)n);
			free(frame);
		}
		free(own);
	} else {
		int n = snprintf(buf, sizeof buf, "{\"event\":\"ready\",\"user_id\":%lld,\"session_id\":%lld}",
				 (long long)job->auth->uid, (long long)job->auth->sid);
		(void)ws_conn_send_text(sess->conn, buf, (size_t)n);
	}
	auth_free(job->auth);
	json_decref(job->ws_id);
	envelope_release(&job->env);
	hub_sess_unref(srv->hub, sess);
	srv->inflight--;
	job_release(srv, job);
}

/* A call frame as read: by the envelope reader (env set: the job takes its
 * arena) or by jansson (id and params borrowed from the parsed frame). */
struct ws_msg {
	struct envelope *env;
	json_t *id, *params;
	const char *method;   /* NULL if absent or not a string */
};

static struct ws_id ws_msg_id(const struct ws_msg *msg)
{
	return (struct ws_id){msg->env ? &msg->env->id : NULL, msg->id};
}

/* The job takes the frame's id and params: the envelope reader's arena
 * (moved: msg->env keeps nothing to release) or jansson's values. */
static void job_take_msg(struct api_job *job, struct ws_msg *msg, int with_params)
{
	if (msg->env) {
		envelope_move(&job->env, msg->env);
		job->fast = 1;
		msg->env = NULL;
		return;
	}
	job->ws_id = msg->id ? json_incref(msg->id) : NULL;
	if (with_params)
		job->params = msg->params ? json_incref(msg->params) : json_object();
}

/* Authenticates the socket on a worker; msg is the auth call (no id and
 * no params for a token sent with the upgrade). */
static void ws_start_auth(struct api_server *srv, struct hub_sess *sess, struct ws_msg *msg)
{
	char ip[NET_PEER_IP_MAX];
	struct api_job *job = job_new(srv, 0, ws_conn_peer_ip(sess->conn, ip, sizeof ip), sess->token);

	if (!job) {
		ws_error(sess, ws_msg_id(msg), PLC_SERVER_BUSY, "out of memory");
		return;
	}
	job->ws = sess;
	hub_sess_ref(sess);
	job_take_msg(job, msg, 0);
	sess->authing = 1;
	if (job_start(job, phase_auth, after_auth) < 0) {
		sess->authing = 0;
		ws_error(sess, job_ws_id(job), PLC_SERVER_BUSY, "could not queue the call");
		hub_sess_unref(srv->hub, sess);
		json_decref(job->ws_id);
		envelope_release(&job->env);
		job_release(srv, job);
	}
}

/* Whether a WebSocket call goes from the loop straight to the writer: a
 * write with nothing to do before its group (no prep), of a user-scoped
 * method, on a socket authenticated as a session (its calls check that
 * session by id).  Anything else takes the read phase on a worker first.
 * A direct call costs one hand-off less (loop to writer to loop instead of
 * loop to worker to writer to loop): on one core each is a context switch. */
static int ws_direct(const struct api_method *m, const struct api_job *job)
{
	return m->kind == API_WRITE && !m->prep && m->scope == API_USER && job->ws_sid && !job->call.token;
}

/* Loop thread: decodes a direct call's parameters (already read with the
 * frame) and queues it on the writer, which authenticates it before it
 * runs (run_write); a call with bad parameters is answered at once, as the
 * read phase answers it before authenticating. */
static void ws_call_direct(struct api_job *job)
{
	struct api_server *srv = job->srv;
	const struct api_method *m = &api_methods[job->method];
	int rc = job->fast ? api_args_decode_envelope(&job->call, m, &job->env)
			   : api_args_decode_json(&job->call, m, job->params);

	job->params = NULL;
	srv->inflight++;
	if (rc < 0) {
		job->reply = api_reply(&job->call, &job->status);
		job_finish(job);
		return;
	}
	job->direct = 1;
	if (queue_write(job) < 0)
		job_finish(job);
}

static void ws_call(struct api_server *srv, struct hub_sess *sess, struct ws_msg *msg)
{
	const struct api_method *m = api_method_index_find(&srv->methods, msg->method);
	struct api_job *job;
	char ip[NET_PEER_IP_MAX];
	char *token = NULL;

	if (!m) {
		ws_error(sess, ws_msg_id(msg), PLC_METHOD_NOT_FOUND, "no such API method");
		return;
	}
	ws_conn_peer_ip(sess->conn, ip, sizeof ip);
	if (auth_limited(srv, m, ip)) {
		ws_error(sess, ws_msg_id(msg), PLC_FLOOD_WAIT, "too many sign-up or login attempts from your address");
		return;
	}
	/* While the socket authenticates, a call checks the token itself (its
	 * own copy: the session drops the token once authenticated). */
	if ((!sess->sid && sess->token && !(token = strdup(sess->token))) ||
	    !(job = job_new(srv, (int)(m - api_methods), ip, token))) {
		free(token);
		ws_error(sess, ws_msg_id(msg), PLC_SERVER_BUSY, "out of memory");
		return;
	}
	job->token_own = token;
	job->ws_sid = sess->sid;
	job->ws = sess;
	hub_sess_ref(sess);
	job_take_msg(job, msg, 1);
	if (ws_direct(m, job)) {
		ws_call_direct(job);
		return;
	}
	if (job_start(job, phase_read, after_read) < 0) {
		job->reply = api_error_json(PLC_SERVER_BUSY, "could not queue the call", 0);
		job->status = 503;
		srv->inflight++; /* job_finish counts it down */
		job_finish(job);
	}
}

/* Loop thread: one call frame, read by either reader. */
static void ws_dispatch(struct api_server *srv, struct hub_sess *sess, struct ws_conn *c, struct ws_msg *msg)
{
	if (!msg->method) {
		ws_error(sess, ws_msg_id(msg), PLC_PARAM_MISSING, "method is required");
	} else if (!strcmp(msg->method, "auth")) {
		const char *token;
		if (msg->env) {
			const struct envelope_value *t = envelope_param(msg->env, "token");
			token = t && t->kind == ENVELOPE_STR ? t->s : NULL;
		} else {
			token = json_string_value(json_object_get(msg->params, "token"));
		}
		if (sess->uid || sess->authing || !token) {
			ws_error(sess, ws_msg_id(msg), sess->uid || sess->authing ? PLC_BAD_REQUEST : PLC_PARAM_MISSING,
				 sess->uid || sess->authing ? "already authenticated" : "params.token is required");
		} else {
			free(sess->token);
			sess->token = strdup(token);
			ws_start_auth(srv, sess, msg);
		}
	} else if (!sess->token && !sess->sid) {
		ws_error(sess, ws_msg_id(msg), PLC_UNAUTHORIZED,
			 "authenticate first: {\"method\":\"auth\",\"params\":{\"token\":...}}");
		ws_conn_close(c, 4401, "unauthorized");
	} else {
		ws_call(srv, sess, msg);
	}
}

/* Loop thread: a frame is read once by the envelope reader (envelope.h),
 * without a JSON tree; what it declines — params with an object or array
 * in them, and every malformed frame — jansson reads as before, with the
 * same answers. */
static void on_ws_message(void *ctx, struct ws_conn *c, const char *text, size_t len)
{
	struct api_server *srv = ctx;
	struct hub_sess *sess = ws_conn_data(c);
	struct envelope env;
	struct ws_msg msg = {0};
	json_t *doc;

	if (envelope_parse(&env, text, len) == 0) {
		msg.env = &env;
		msg.method = env.method.kind == ENVELOPE_STR ? env.method.s : NULL;
		ws_dispatch(srv, sess, c, &msg);
		envelope_release(&env); /* unless a job took it */
		return;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc || !json_is_object(doc)) {
		ws_error(sess, (struct ws_id){NULL, NULL}, PLC_JSON_INVALID, "a call is a JSON object {id, method, params}");
		json_decref(doc);
		return;
	}
	msg.id = json_object_get(doc, "id");
	msg.method = json_string_value(json_object_get(doc, "method"));
	msg.params = json_object_get(doc, "params");
	ws_dispatch(srv, sess, c, &msg);
	json_decref(doc);
}

static void on_ws_close(void *ctx, struct ws_conn *c, int code)
{
	struct api_server *srv = ctx;
	struct hub_sess *sess = ws_conn_data(c);

	if (sess)
		hub_sess_gone(srv->hub, sess);
}

static const struct ws_callbacks ws_callbacks = {on_ws_message, on_ws_close};

/* The token from "?token=..." (hex only, so no decoding is needed). */
static char *query_token(const char *query)
{
	const char *p = strstr(query, "token=");
	size_t n;

	if (!p || (p != query && p[-1] != '&'))
		return NULL;
	p += 6;
	n = strspn(p, "0123456789abcdefABCDEF");
	return n ? strndup(p, n) : NULL;
}

static void serve_ws(struct api_server *srv, struct net_req *req)
{
	const char *b = bearer(req->authorization);
	char *token = b ? strdup(b) : query_token(req->query);
	struct ws_conn *c;
	struct hub_sess *sess;

	if (!req->upgrade) {
		free(token);
		respond_error(srv, req, -1, PLC_BAD_REQUEST, "this URL speaks WebSocket: send Upgrade: websocket", 0);
		return;
	}
	metrics_observe(&srv->metrics, -1, 101, (double)(uv_hrtime() - req->start_ns) / 1e9);
	if (!(c = net_req_accept_ws(req, &srv->wsl, &ws_callbacks, srv))) {
		free(token);
		return;
	}
	if (!(sess = hub_sess_new(srv->hub, c))) {
		free(token);
		ws_conn_close(c, 1011, "out of memory");
		return;
	}
	ws_conn_set_data(c, sess);
	sess->token = token;
	if (token)
		ws_start_auth(srv, sess, &(struct ws_msg){0});
}

/* One of the writer's histograms, as metrics renders it (the bounds are
 * the writer's, static). */
static struct metrics_hist writer_hist(const struct store_writer_hist *h)
{
	return (struct metrics_hist){store_writer_bounds, STORE_WRITER_BUCKETS, h->buckets, h->sum, h->count};
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
	g.writer_reruns = ws.reruns;
	g.writer_marked = ws.marked;
	g.wal_pages = ws.wal_pages;
	g.checkpoints = ws.checkpoints;
	g.checkpoint_restarts = ws.checkpoint_restarts;
	g.checkpoint_failures = ws.checkpoint_failures;
	g.index_flushes = ws.index_flushes;
	g.index_failures = ws.index_failures;
	g.writer_group = writer_hist(&ws.group);
	g.writer_restart = writer_hist(&ws.restart);
	g.writer_job = writer_hist(&ws.job);
	g.writer_handback = writer_hist(&ws.handback);
	g.writer_index = writer_hist(&ws.index);
	g.writer_commit = writer_hist(&ws.commit);
	body = metrics_render(&srv->metrics, &g, &len);
	if (!body) {
		respond_error(srv, req, -1, PLC_INTERNAL, "out of memory", 0);
		return;
	}
	metrics_observe(&srv->metrics, -1, 200, (double)(uv_hrtime() - req->start_ns) / 1e9);
	net_req_respond(req, 200, "text/plain; version=0.0.4", body, len, NULL);
	free(body);
}

/* The web app: GET/HEAD of a file in web_root, from memory. */
static int serve_static(struct api_server *srv, struct net_req *req)
{
	struct static_hit hit;
	char extra[256];
	int fresh;

	if ((req->method != NET_GET && req->method != NET_HEAD) || static_site_find(srv->site, req->path, &hit) < 0)
		return 0;
	/* A cached copy whose tag is in If-None-Match (a list, weak tags and
	 * "*" included: RFC 9110 13.1.2) is still good: 304, no body. */
	fresh = net_etag_match(req->if_none_match, hit.etag);
	snprintf(extra, sizeof extra,
		 "ETag: %s\r\nCache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n"
		 "Content-Security-Policy: default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
		 "style-src 'self'; script-src 'self'; frame-ancestors 'none'\r\n",
		 hit.etag, hit.is_app || strstr(hit.type, "html") ? "no-cache" : "public, max-age=300");
	metrics_observe(&srv->metrics, -1, fresh ? 304 : 200, (double)(uv_hrtime() - req->start_ns) / 1e9);
	if (fresh)
		net_req_respond(req, 304, hit.type, "", 0, extra);
	else
		net_req_respond(req, 200, hit.type, hit.body, hit.len, extra);
	return 1;
}

static void on_request(void *ctx, struct net_req *req)
{
	struct api_server *srv = ctx;
	static const char ok[] = "{\"ok\":true,\"result\":\"serving\"}";

	if (srv->closing) {
		respond_error(srv, req, -1, PLC_SERVER_BUSY, "the server is shutting down", 0);
	} else if (req->streaming) { /* uploads_head chose it */
		uploads_start(srv->uploads, req);
	} else if (strncmp(req->path, "/file/", 6) == 0) {
		download_start(srv, req, req->path + 6);
	} else if (strcmp(req->path, "/api/ws") == 0) {
		serve_ws(srv, req);
	} else if (strncmp(req->path, "/api/", 5) == 0) {
		serve_api(srv, req, req->path + 5);
	} else if (strcmp(req->path, "/healthz") == 0) {
		respond(srv, req, -1, 200, ok, sizeof ok - 1, 0);
	} else if (strcmp(req->path, "/metrics") == 0) {
		serve_metrics(srv, req);
	} else if (serve_static(srv, req)) {
		return;
	} else {
		respond_error(srv, req, -1, PLC_NOT_FOUND, "no such page", 0);
	}
}

/* Uploads are streamed; every other body is read whole. */
static int on_head(void *ctx, const struct net_req *req)
{
	struct api_server *srv = ctx;

	return srv->closing ? NET_BODY_BUFFER : uploads_head(srv->uploads, req);
}

/* --- what upload.c and download.c borrow (server_int.h) ------------------ */

const struct api_env *api_srv_env(const struct api_server *srv)
{
	return &srv->env;
}

void api_srv_respond_error(struct api_server *srv, struct net_req *req, int method, int code, const char *detail,
			   int retry_after)
{
	respond_error(srv, req, method, code, detail, retry_after);
}

void api_srv_respond_json(struct api_server *srv, struct net_req *req, int method, int status, const char *body,
			  size_t len)
{
	respond(srv, req, method, status, body, len, 0);
}

void api_srv_observe(struct api_server *srv, const struct net_req *req, int method, int status)
{
	metrics_observe(&srv->metrics, method, status, (double)(uv_hrtime() - req->start_ns) / 1e9);
}

void api_srv_call(struct api_server *srv, struct net_req *req, const char *name, json_t *params)
{
	const struct api_method *m = api_method_index_find(&srv->methods, name);
	struct api_job *job;

	if (!m || !params || !(job = job_new(srv, (int)(m - api_methods), req->peer_ip, bearer(req->authorization)))) {
		json_decref(params);
		respond_error(srv, req, m ? (int)(m - api_methods) : -1, m ? PLC_SERVER_BUSY : PLC_METHOD_NOT_FOUND,
			      m ? "out of memory" : "no such API method", 0);
		return;
	}
	job->req = req;
	job->params = params;
	if (job_start(job, phase_read, after_read) < 0) {
		json_decref(job->params);
		job_release(srv, job);
		respond_error(srv, req, (int)(m - api_methods), PLC_SERVER_BUSY, "could not queue the call", 0);
	}
}

void api_srv_hold(struct api_server *srv)
{
	srv->inflight++;
}

void api_srv_unhold(struct api_server *srv)
{
	srv->inflight--;
}

int api_srv_closing(const struct api_server *srv)
{
	return srv->closing;
}

/* A write the server makes on its own behalf (presence, pruning).  Freed
 * by own_done, on the loop thread. */
struct own_job {
	struct store_job j;
	struct api_server *srv;
	int kind;
	int64_t uid, when;
	int64_t limit, removed; /* OWN_PRUNE: the step's limit, and what it deleted (writer thread) */
};

enum { OWN_LAST_SEEN = 1, OWN_PRUNE = 2 };

static void prune_step_done(struct api_server *srv, const struct own_job *o, int ok);

static int own_run(struct store_job *j, struct store *s)
{
	struct own_job *o = (struct own_job *)j;

	if (o->kind == OWN_LAST_SEEN)
		return store_user_set_last_seen(s, o->uid, o->when);
	return store_update_prune(s, o->when, (int)o->limit, &o->removed);
}

/* On the loop thread (store_writer.h), so the drain's state and timers are
 * touched there only. */
static void own_done(struct store_job *j, int commit_rc)
{
	struct own_job *o = (struct own_job *)j;

	if (o->kind == OWN_PRUNE)
		prune_step_done(o->srv, o, commit_rc == 0 && j->run_rc == 0);
	free(o);
}

/* own_run keeps nothing outside the store but a prune step's count, which
 * its second run sets again: it may run again as it is. */
static void own_reset(struct store_job *j)
{
	((struct own_job *)j)->removed = 0;
}

/* Queues a write of kind; 0, or -1 if it was not queued (no memory, or the
 * writer is stopping). */
static int own_submit(struct api_server *srv, int kind, int64_t uid, int64_t when, int64_t limit)
{
	struct own_job *o = calloc(1, sizeof *o);

	if (!o)
		return -1;
	*o = (struct own_job){{NULL, own_run, own_done, own_reset, 0, 0, 0, 0}, srv, kind, uid, when, limit, 0};
	if (store_writer_submit(srv->writer, &o->j) < 0) {
		free(o);
		return -1;
	}
	return 0;
}

static void on_offline(void *ctx, int64_t uid, int64_t when)
{
	(void)own_submit(ctx, OWN_LAST_SEEN, uid, when, 0);
}

/* ---- retention pruning ----
 *
 * Each tick (prune_interval_seconds) starts a drain, unless one is going
 * on: steps of one writer job each, store_update_prune with a limit of
 * prune_step_rows, so that one holds the writer a few ms, not the ~40 ms
 * of 10,000 rows that calls queued behind it would wait.  A step that
 * deleted its limit may have left more (store.h): the next one is queued
 * API_PRUNE_PAUSE_MS after it returned, so calls queued meanwhile run
 * between two steps.  A step that deleted fewer ends the drain; so does a
 * failed one (the next tick starts over: the store keeps the cycle's
 * progress) and closing.  Everything here runs on the loop thread. */

static void prune_end(struct api_server *srv)
{
	srv->prune_draining = 0;
	if (srv->prune_rows > 0)
		pl_log(srv->log, PL_LOG_INFO, "pruned %lld update rows and payloads older than %ld days in %lld steps, %.0f ms",
		       (long long)srv->prune_rows, srv->cfg->updates_retention_days, (long long)srv->prune_steps,
		       (double)(uv_hrtime() - srv->prune_start_ns) / 1e6);
}

static void prune_step_submit(struct api_server *srv)
{
	if (srv->closing || own_submit(srv, OWN_PRUNE, 0, srv->prune_cutoff, srv->cfg->prune_step_rows) < 0)
		prune_end(srv);
}

static void on_prune_pause(uv_timer_t *t)
{
	prune_step_submit(t->data);
}

static void prune_step_done(struct api_server *srv, const struct own_job *o, int ok)
{
	srv->metrics.prune_steps++;
	srv->prune_steps++;
	if (!ok) {
		srv->metrics.prune_failures++;
		pl_log(srv->log, PL_LOG_WARN, "pruning the update logs failed; trying again at the next tick");
		prune_end(srv);
		return;
	}
	srv->metrics.prune_rows += (unsigned long long)o->removed;
	srv->prune_rows += o->removed;
	if (o->removed < o->limit || srv->closing) {
		prune_end(srv);
		return;
	}
	uv_timer_start(&srv->prune_pause, on_prune_pause, API_PRUNE_PAUSE_MS, 0);
}

static void on_prune(uv_timer_t *t)
{
	struct api_server *srv = t->data;

	if (srv->prune_draining || srv->closing)
		return;
	srv->prune_draining = 1;
	srv->prune_cutoff = (int64_t)time(NULL) - srv->cfg->updates_retention_days * 86400;
	srv->prune_rows = 0;
	srv->prune_steps = 0;
	srv->prune_start_ns = uv_hrtime();
	prune_step_submit(srv);
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
	api_method_index_init(&srv->methods);
	net_limits_default(&lim);
	lim.max_connections = (unsigned)cfg->max_connections;
	lim.max_header_bytes = (size_t)cfg->max_header_bytes;
	lim.max_body_bytes = (size_t)cfg->max_body_bytes;
	lim.header_timeout_ms = (unsigned)cfg->header_timeout_ms;
	lim.idle_timeout_ms = (unsigned)cfg->idle_timeout_ms;
	ws_limits_default(&srv->wsl);
	srv->wsl.max_message_bytes = (size_t)cfg->ws_max_message_bytes;
	srv->wsl.max_pending_bytes = (size_t)cfg->ws_max_pending_bytes;
	srv->wsl.ping_interval_ms = (unsigned)cfg->ws_ping_interval_ms;
	srv->wsl.pong_timeout_ms = (unsigned)cfg->ws_ping_interval_ms * 2;
	srv->ucfg.large_group_threshold = cfg->large_group_threshold;
	srv->ip_limits = rl_table_new(RATE_KEYS_MAX);
	srv->session_limits = rl_table_new(RATE_KEYS_MAX);
	if (!srv->ip_limits || !srv->session_limits || metrics_init(&srv->metrics, api_methods_count) < 0)
		goto fail;
	srv->metrics.messages_stored = messages_stored;
	if (!(srv->hub = hub_new(loop, on_offline, srv)))
		goto fail;
	{
		char err[512] = "";
		if (!(srv->site = static_site_load(cfg->web_root, err, sizeof err))) {
			pl_log(log, PL_LOG_ERROR, "web app not loaded: %s", err);
			goto fail;
		}
		pl_log(log, PL_LOG_INFO, "web app: %zu files from %s", static_site_count(srv->site), cfg->web_root);
	}
	srv->env = (struct api_env){loop, core, writer, readers, cfg, log, srv->session_limits};
	if (!(srv->net = net_server_new(loop, &lim, on_request, srv)) || !(srv->uploads = uploads_new(srv)))
		goto fail;
	net_server_set_head_cb(srv->net, on_head);
	/* One worker per read handle; no more of them running at once than
	 * there are cores this process may run on (its CPU affinity): more
	 * would only take turns on them (workpool.h). */
	if (!(srv->workers = workpool_start(loop, (size_t)cfg->reader_threads, uv_available_parallelism())))
		goto fail;
	uv_timer_init(loop, &srv->prune_timer);
	uv_timer_init(loop, &srv->prune_pause);
	srv->prune_timer.data = srv->prune_pause.data = srv;
	uv_timer_start(&srv->prune_timer, on_prune, (uint64_t)cfg->prune_interval_seconds * 1000,
		       (uint64_t)cfg->prune_interval_seconds * 1000);
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
	while (srv->parked) { /* answer the long polls now */
		hub_unwait(srv->hub, &srv->parked->waiter);
		unpark(srv->parked);
	}
	net_server_close(srv->net);
	hub_close(srv->hub);
	uploads_close(srv->uploads);
	uv_close((uv_handle_t *)&srv->prune_timer, NULL);
	uv_close((uv_handle_t *)&srv->prune_pause, NULL); /* a step the writer still runs queues no other */
}

void api_server_stop(struct api_server *srv)
{
	workpool_stop(srv->workers);
}

void api_server_free(struct api_server *srv)
{
	if (!srv)
		return;
	while (srv->job_cache) {
		struct api_job *job = srv->job_cache;
		srv->job_cache = job->pnext;
		free(job);
	}
	workpool_free(srv->workers);
	net_server_free(srv->net);
	uploads_free(srv->uploads);
	hub_free(srv->hub);
	static_site_free(srv->site);
	rl_table_free(srv->ip_limits);
	rl_table_free(srv->session_limits);
	metrics_release(&srv->metrics);
	free(srv);
}

size_t api_server_inflight(const struct api_server *srv)
{
	return srv->inflight;
}
