/*
 * conn.c — the connection object: one WebSocket (ws.c) kept up for one
 * session, and the sync rules (sync.c) applied to what arrives on it, so the
 * application's update handler sees every update exactly once and in order
 * (docs/sync.md, "What a client must do").
 *
 * The life of a connection:
 *
 *   down --connect--> open --"ready"--> catching up --done--> live
 *     ^                 |                    |                  |
 *     +--- backoff <----+---- any failure ---+------------------+
 *
 * Catching up is getDifference until `more` is false, getState (the large
 * chats and where they stand), then getChatDifference for each chat.  Live,
 * a pushed update whose pts does not follow fetches the difference of its
 * sequence.  Every step is a call on the same socket; what the server
 * pushes while a call waits for its reply is queued and handled afterwards,
 * in arrival order, through the same rules (so duplicates of what the
 * difference brought are dropped).
 *
 * Everything runs in the caller's thread inside parley_conn_run() and
 * parley_conn_call(); there are no threads and no global state.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/parley_int.h"

#define CONN_CLOSE_WAIT_MS 500 /* parley_conn_free: wait for the server's close frame */

struct parley_conn {
	struct parley_url url;
	char server[PARLEY_URL_MAX + 1];
	char token[PARLEY_TOKEN_MAX + 1];
	int timeout_ms;
	struct parley_ws ws;
	int ready;                    /* the server said "ready" on this socket */
	int caught_up;                /* the catch-up after it is done */
	int64_t session_id;
	struct parley_sync *sync;
	json_t *queue;                /* messages that arrived during calls */
	size_t queue_head;            /* the next one to handle */
	int queue_dropped;            /* updates were dropped: everything needs its difference */
	int64_t next_id;              /* the last call id used */
	int backoff_ms;               /* the next reconnect waits about this long */
	int64_t retry_at;             /* parley_now_ms() of the next connect attempt */
	unsigned long connects;
	int fatal;                    /* a fatal rc, 0 if none */
	struct parley_error err;      /* the last error */
	volatile sig_atomic_t stop;
	struct parley_conn_handlers h;
	void *ctx;
	unsigned long reported;       /* sync version last handed to the batch handler */
	int down_pending;             /* the status handler is owed a "down" */
	struct parley_state snap;     /* the state handed to the batch handler */
};

/* --- life ------------------------------------------------------------------ */

static void conn_on_update(void *ctx, const json_t *row)
{
	struct parley_conn *c = ctx;

	if (c->h.update)
		c->h.update(c->ctx, row);
}

static void conn_on_reload(void *ctx, int64_t chat_id, int64_t pts)
{
	struct parley_conn *c = ctx;

	if (c->h.reload)
		c->h.reload(c->ctx, chat_id, pts);
}

struct parley_conn *parley_conn_new(const char *server_url, const char *token, const struct parley_state *start,
				    char *errbuf, size_t errlen)
{
	struct parley_conn *c = calloc(1, sizeof(*c));
	size_t n = token ? strlen(token) : 0;

	if (!server_url || !*server_url)
		server_url = PARLEY_DEFAULT_SERVER;
	if (!c || !(c->sync = malloc(sizeof(*c->sync))) || !(c->queue = json_array())) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	if (parley_url_parse(server_url, &c->url, errbuf, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < n && n <= PARLEY_TOKEN_MAX; i++)
		if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
			n = PARLEY_TOKEN_MAX + 1; /* refused below */
	if (n == 0 || n > PARLEY_TOKEN_MAX) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "a session token of 1-%d printable characters is needed", PARLEY_TOKEN_MAX);
		goto fail;
	}
	memcpy(c->token, token, n);
	snprintf(c->server, sizeof(c->server), "%s", server_url);
	c->timeout_ms = PARLEY_TIMEOUT_DEFAULT_MS;
	parley_ws_init(&c->ws);
	c->ws.stop = &c->stop;
	parley_sync_init(c->sync, start);
	c->sync->update = conn_on_update;
	c->sync->reload = conn_on_reload;
	c->sync->ctx = c;
	c->reported = c->sync->version;
	return c;
fail:
	if (c) {
		json_decref(c->queue);
		free(c->sync);
		free(c);
	}
	return NULL;
}

void parley_conn_set_handlers(struct parley_conn *c, const struct parley_conn_handlers *h, void *ctx)
{
	if (h)
		c->h = *h;
	else
		memset(&c->h, 0, sizeof(c->h));
	c->ctx = ctx;
}

void parley_conn_set_timeout_ms(struct parley_conn *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : PARLEY_TIMEOUT_DEFAULT_MS;
}

void parley_conn_free(struct parley_conn *c)
{
	if (!c)
		return;
	c->stop = 0;
	parley_ws_close(&c->ws, 1000, CONN_CLOSE_WAIT_MS);
	parley_ws_release(&c->ws);
	parley_sync_release(c->sync);
	free(c->sync);
	json_decref(c->queue);
	memset(c->token, 0, sizeof(c->token)); /* a credential */
	free(c);
}

void parley_conn_state(const struct parley_conn *c, struct parley_state *out)
{
	parley_sync_state(c->sync, out);
}

int parley_conn_synced(const struct parley_conn *c)
{
	struct parley_sync *s = c->sync;

	return c->ws.fd >= 0 && c->ready && c->caught_up && !s->need_state && !parley_sync_next_diff(s) &&
	       s->user.pts != PARLEY_SYNC_UNKNOWN && c->queue_head >= json_array_size(c->queue);
}

void parley_conn_stop(struct parley_conn *c)
{
	c->stop = 1;
}

const struct parley_error *parley_conn_error(const struct parley_conn *c)
{
	return &c->err;
}

unsigned long parley_conn_connects(const struct parley_conn *c)
{
	return c->connects;
}

/* --- connecting and losing the connection --------------------------------- */

/* Milliseconds of backoff with up to 25% jitter, and the next step. */
static int conn_backoff(struct parley_conn *c)
{
	unsigned char r[2] = {0, 0};
	int ms = c->backoff_ms ? c->backoff_ms : PARLEY_RECONNECT_MIN_MS;

	c->backoff_ms = ms * 2 > PARLEY_RECONNECT_MAX_MS ? PARLEY_RECONNECT_MAX_MS : ms * 2;
	(void)parley_random(r, sizeof(r));
	return ms + (int)((long)ms * (r[0] << 8 | r[1]) / (4L * 65536));
}

/* Makes rc fatal when it says the session is refused. */
static int conn_check_fatal(struct parley_conn *c, int rc)
{
	if (c->ws.peer_code == 4401 || (rc == PARLEY_EAPI && c->err.http_status == 401)) {
		c->fatal = PARLEY_EAPI;
		c->err.http_status = 401;
		snprintf(c->err.code, sizeof(c->err.code), "UNAUTHORIZED");
		if (c->ws.peer_code == 4401)
			snprintf(c->err.description, sizeof(c->err.description),
				 "the server refused the session (close code 4401): log in again");
	}
	return c->fatal ? c->fatal : rc;
}

/* The socket is gone (or must go): close it, schedule the next attempt
 * and owe the application a status "down". */
static void conn_lost(struct parley_conn *c, int rc, const struct parley_error *why)
{
	if (why && why != &c->err)
		c->err = *why;
	if (c->ws.fd >= 0) {
		close(c->ws.fd);
		c->ws.fd = -1;
	}
	c->ready = 0;
	c->caught_up = 0;
	/* What the old socket queued is dropped: a stale "ready" must not start
	 * a catch-up on the new one, and the catch-up after the next ready
	 * fetches every update again anyway. */
	json_array_clear(c->queue);
	c->queue_head = 0;
	c->queue_dropped = 0;
	conn_check_fatal(c, rc);
	if (c->fatal)
		return; /* no retry: parley_conn_run() returns it */
	c->retry_at = parley_now_ms() + conn_backoff(c);
	c->down_pending = 1; /* told by parley_conn_run(), never inside a call */
}

static int conn_open(struct parley_conn *c)
{
	struct parley_error err;
	int rc;

	if (c->stop)
		return PARLEY_ECANCELED;
	rc = parley_ws_connect(&c->ws, &c->url, c->server, c->token, parley_now_ms() + c->timeout_ms, &err);
	c->ws.stop = &c->stop;
	if (rc < 0) {
		if (rc == PARLEY_ECANCELED)
			return rc;
		conn_lost(c, rc, &err);
		return c->fatal ? c->fatal : rc;
	}
	c->connects++;
	c->ready = 0;
	c->caught_up = 0;
	return 0;
}

void parley_conn_disconnect(struct parley_conn *c)
{
	struct parley_error why;

	if (c->ws.fd < 0)
		return;
	parley_error_set(&why, PARLEY_ENETWORK, "disconnected by the application");
	conn_lost(c, PARLEY_ENETWORK, &why);
	c->backoff_ms = 0;
	c->retry_at = parley_now_ms();
}

/* --- messages ------------------------------------------------------------------ */

/* Reads one JSON object from the socket. */
static int conn_read(struct parley_conn *c, int64_t deadline, json_t **msg, struct parley_error *err)
{
	struct parley_ws_msg m;
	json_error_t jerr;
	int rc;

	*msg = NULL;
	if ((rc = parley_ws_read(&c->ws, deadline, &m, err)) < 0)
		return rc;
	*msg = json_loadb(m.data, m.len, 0, &jerr);
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		return parley_error_set(err, PARLEY_EPROTO, "the server sent a message that is not a JSON object: %s",
					jerr.text);
	}
	return 0;
}

/* Keeps msg (stolen) for later.  Past PARLEY_CONN_QUEUE_MAX, updates are
 * dropped (the difference brings them back) and events are lost. */
static void conn_enqueue(struct parley_conn *c, json_t *msg)
{
	int update = json_object_get(msg, "update") != NULL;

	if (json_array_size(c->queue) - c->queue_head >= PARLEY_CONN_QUEUE_MAX) {
		json_decref(msg);
		msg = NULL;
	}
	if ((!msg || json_array_append_new(c->queue, msg) < 0) && update)
		c->queue_dropped = 1;
}

/* The next queued message (a new reference) or NULL. */
static json_t *conn_dequeue(struct parley_conn *c)
{
	json_t *msg;

	if (c->queue_head >= json_array_size(c->queue))
		return NULL;
	msg = json_incref(json_array_get(c->queue, c->queue_head++));
	if (c->queue_head >= json_array_size(c->queue)) {
		json_array_clear(c->queue);
		c->queue_head = 0;
	}
	return msg;
}

/* Hands the state to the batch handler if it changed. */
static void conn_report(struct parley_conn *c)
{
	if (c->sync->version == c->reported)
		return;
	c->reported = c->sync->version;
	if (c->h.batch) {
		parley_sync_state(c->sync, &c->snap);
		c->h.batch(c->ctx, &c->snap);
	}
}

/* The "ready" event: the session is registered for live delivery. */
static int conn_ready(struct parley_conn *c, json_t *msg)
{
	int64_t uid = (int64_t)json_integer_value(json_object_get(msg, "user_id"));

	if (c->sync->user_id && uid && uid != c->sync->user_id) {
		c->fatal = parley_error_set(&c->err, PARLEY_EAPI,
					    "the state belongs to user %" PRId64 ", the session to user %" PRId64,
					    c->sync->user_id, uid);
		snprintf(c->err.code, sizeof(c->err.code), "STATE_MISMATCH");
		return c->fatal;
	}
	if (uid && !c->sync->user_id) {
		c->sync->user_id = uid;
		c->sync->version++;
	}
	c->session_id = (int64_t)json_integer_value(json_object_get(msg, "session_id"));
	c->ready = 1;
	c->caught_up = 0;
	parley_sync_catchup(c->sync);
	return 0;
}

/* Handles one message that is not the reply to a call in progress. */
static int conn_handle(struct parley_conn *c, json_t *msg)
{
	const char *event = json_string_value(json_object_get(msg, "event"));
	json_t *code;

	if (event && strcmp(event, "ready") == 0)
		return conn_ready(c, msg);
	if (event) {
		if (c->h.event)
			c->h.event(c->ctx, msg);
		return 0;
	}
	if (json_object_get(msg, "update")) {
		(void)parley_sync_push(c->sync, msg); /* a malformed row is ignored */
		conn_report(c);
		return 0;
	}
	/* A reply nobody waits for: a call that timed out, or the error that
	 * comes before close code 4401. */
	code = json_object_get(msg, "error_code");
	if (json_is_integer(code) && json_integer_value(code) == 401)
		parley_envelope_json(msg, 401, NULL, &c->err);
	return 0;
}

/* --- calls ------------------------------------------------------------------- */

/* Sends a call and waits for its reply, queueing everything else.  On a
 * failure other than a timeout the connection is dropped. */
static int conn_call(struct parley_conn *c, const char *method, json_t *params, json_t **result,
		     struct parley_error *err)
{
	int64_t deadline = parley_now_ms() + c->timeout_ms, id;
	json_t *call, *msg = NULL, *mid;
	char *text = NULL;
	int rc;

	if (result)
		*result = NULL;
	if (c->ws.fd < 0 && (rc = conn_open(c)) < 0)
		return parley_error_set(err, rc, "%s", c->err.description);
	id = ++c->next_id;
	call = json_pack("{s:I, s:s, s:O?}", "id", (json_int_t)id, "method", method, "params", params);
	if (call && !params)
		json_object_set_new(call, "params", json_object());
	if (!call || !(text = json_dumps(call, JSON_COMPACT))) {
		json_decref(call);
		return parley_error_set(err, PARLEY_ENOMEM, "cannot encode the call");
	}
	json_decref(call);
	rc = parley_ws_send_text(&c->ws, text, strlen(text), deadline, err);
	free(text);
	while (rc == 0) {
		if ((rc = conn_read(c, deadline, &msg, err)) < 0)
			break;
		mid = json_object_get(msg, "id");
		if (json_is_integer(mid) && json_integer_value(mid) == id && json_object_get(msg, "ok")) {
			rc = parley_envelope_json(msg, 0, result, err);
			json_decref(msg);
			return rc;
		}
		if (json_is_integer(mid) && json_object_get(msg, "ok"))
			json_decref(msg); /* the late reply of a call that timed out */
		else
			conn_enqueue(c, msg);
	}
	if (rc == PARLEY_ETIMEDOUT)
		parley_error_set(err, rc, "no reply to %s within %d ms", method, c->timeout_ms);
	else if (rc != PARLEY_ECANCELED)
		conn_lost(c, rc, err);
	return rc;
}

int parley_conn_call(struct parley_conn *c, const char *method, json_t *params, json_t **result,
		     struct parley_error *err)
{
	struct parley_error local;

	if (!err)
		err = &local; /* conn_lost() keeps the reason */
	if (result)
		*result = NULL;
	parley_error_clear(err);
	if (!c || !method || !*method)
		return parley_error_set(err, PARLEY_EINVAL, "invalid API method name");
	if (params && !json_is_object(params))
		return parley_error_set(err, PARLEY_EINVAL, "the parameters must be a JSON object");
	if (c->fatal) {
		*err = c->err;
		return c->fatal;
	}
	return conn_call(c, method, params, result, err);
}

/* --- catching up ---------------------------------------------------------- */

/* One internal call; its params are stolen.  A failure that is not the
 * server's answer drops the connection (the catch-up restarts after the
 * reconnect). */
static int conn_sync_call(struct parley_conn *c, const char *method, json_t *params, json_t **result,
			  struct parley_error *err)
{
	int rc;

	if (!params)
		return parley_error_set(err, PARLEY_ENOMEM, "cannot build the parameters");
	rc = conn_call(c, method, params, result, err);
	json_decref(params);
	if (rc == PARLEY_ETIMEDOUT && c->ws.fd >= 0)
		conn_lost(c, rc, err); /* a reply may still come: do not mix it up */
	return rc;
}

/* One page of the difference of q. */
static int conn_diff_page(struct parley_conn *c, struct parley_sync_seq *q)
{
	struct parley_error err;
	int64_t chat_id = q->chat_id;
	json_t *res = NULL;
	int rc;

	if (chat_id == 0)
		rc = conn_sync_call(c, "getDifference",
				    json_pack("{s:I, s:i}", "pts", (json_int_t)q->pts, "limit", PARLEY_DIFF_PAGE), &res, &err);
	else
		rc = conn_sync_call(c, "getChatDifference",
				    json_pack("{s:I, s:I, s:i}", "chat_id", (json_int_t)chat_id, "pts", (json_int_t)q->pts,
					      "limit", PARLEY_DIFF_PAGE),
				    &res, &err);
	if (rc == PARLEY_EAPI && chat_id && err.http_status >= 400 && err.http_status < 500 &&
	    err.http_status != 429) {
		parley_sync_unfollow(c->sync, chat_id); /* not ours any more, or not a large chat */
		rc = 0;
	} else if (rc == PARLEY_EAPI) {
		c->err = err;
		conn_lost(c, rc, &err); /* the server is unwell: retry later */
	} else if (rc == 0 && parley_sync_difference(c->sync, chat_id, res) < 0) {
		rc = parley_error_set(&c->err, PARLEY_EPROTO, "malformed difference from the server");
		conn_lost(c, rc, NULL);
	}
	json_decref(res);
	conn_report(c);
	return rc;
}

/* Rows of chats not followed yet that arrived while getState was asked are
 * held at once (they stay queued too, and are dropped as duplicates when
 * their turn comes): a chat just joined then starts no later than its
 * first pushed row, even if getState already counts it. */
static void conn_hold_new_chats(struct parley_conn *c)
{
	for (size_t i = c->queue_head; i < json_array_size(c->queue); i++) {
		json_t *msg = json_array_get(c->queue, i), *chat = json_object_get(msg, "chat_id");

		if (json_is_integer(chat) && json_object_get(msg, "update") &&
		    !parley_sync_following(c->sync, (int64_t)json_integer_value(chat)))
			(void)parley_sync_push(c->sync, msg);
	}
}

static int conn_get_state(struct parley_conn *c)
{
	struct parley_error err;
	json_t *res = NULL;
	int rc = conn_sync_call(c, "getState", json_object(), &res, &err);

	if (rc == 0)
		conn_hold_new_chats(c);
	if (rc == PARLEY_EAPI)
		conn_lost(c, rc, &err);
	else if (rc == 0 && parley_sync_state_reply(c->sync, res) < 0) {
		rc = parley_error_set(&c->err, PARLEY_EPROTO, "malformed getState reply from the server");
		conn_lost(c, rc, NULL);
	}
	json_decref(res);
	conn_report(c);
	return rc;
}

/* Fetches whatever the sync rules say is missing: the user pts (getState)
 * if it is not known, the user's difference, the chat list, then each
 * chat's difference. */
static int conn_service(struct parley_conn *c)
{
	struct parley_sync *s = c->sync;
	struct parley_sync_seq *q;
	int rc = 0;

	if (c->queue_dropped) {
		c->queue_dropped = 0;
		parley_sync_catchup(s);
	}
	while (rc == 0 && c->ws.fd >= 0 && !c->fatal) {
		if (c->stop)
			return PARLEY_ECANCELED;
		if (s->user.pts == PARLEY_SYNC_UNKNOWN)
			rc = conn_get_state(c);
		else if (s->user.need_diff || s->user.gap)
			rc = conn_diff_page(c, &s->user);
		else if (s->need_state)
			rc = conn_get_state(c);
		else if ((q = parley_sync_next_diff(s)))
			rc = conn_diff_page(c, q);
		else
			break;
	}
	return c->fatal ? c->fatal : rc;
}

/* --- running ------------------------------------------------------------------ */

/* Sleeps until deadline unless stopped (a signal ends the sleep early). */
static void conn_sleep_until(struct parley_conn *c, int64_t deadline)
{
	int64_t left = deadline - parley_now_ms();

	if (left > 0 && !c->stop)
		(void)poll(NULL, 0, left > INT32_MAX ? INT32_MAX : (int)left);
}

int parley_conn_run(struct parley_conn *c, int timeout_ms)
{
	int64_t deadline = parley_now_ms() + (timeout_ms > 0 ? timeout_ms : 0), now, until;
	struct parley_error err;
	int handled = 0, rc;
	json_t *msg;

	for (;;) {
		if (c->down_pending) {
			c->down_pending = 0;
			if (c->h.status)
				c->h.status(c->ctx, 0, &c->err);
		}
		if (c->stop) {
			c->stop = 0;
			return PARLEY_ECANCELED;
		}
		if (c->fatal)
			return c->fatal;
		now = parley_now_ms();
		if (c->ws.fd < 0) {
			if (now < c->retry_at) {
				if (now >= deadline)
					return 0;
				conn_sleep_until(c, c->retry_at < deadline ? c->retry_at : deadline);
				continue;
			}
			if ((rc = conn_open(c)) < 0 && c->fatal)
				return c->fatal;
			continue;
		}
		if ((msg = conn_dequeue(c))) {
			rc = conn_handle(c, msg);
			json_decref(msg);
			handled = 1;
			if (rc < 0)
				return rc;
			continue;
		}
		if (c->ready && (!c->caught_up || c->queue_dropped || c->sync->need_state ||
				 parley_sync_next_diff(c->sync))) {
			rc = conn_service(c);
			if (rc == PARLEY_ECANCELED)
				continue;
			if (c->fatal)
				return c->fatal;
			if (rc == 0 && c->ws.fd >= 0 && !c->caught_up) {
				c->caught_up = 1;
				c->backoff_ms = 0;
				if (c->h.status)
					c->h.status(c->ctx, 1, NULL);
			}
			continue;
		}
		if (handled && now >= deadline)
			return 0;
		until = c->ws.last_rx + PARLEY_WS_IDLE_MS;
		rc = conn_read(c, until < deadline ? until : deadline, &msg, &err);
		if (rc == PARLEY_ETIMEDOUT) {
			if (parley_now_ms() < until)
				return 0;
			parley_error_set(&err, PARLEY_ETIMEDOUT, "nothing heard from %s for %d s", c->server,
					 PARLEY_WS_IDLE_MS / 1000);
			conn_lost(c, rc, &err);
			continue;
		}
		if (rc == PARLEY_ECANCELED)
			continue;
		if (rc < 0) {
			conn_lost(c, rc, &err);
			continue;
		}
		rc = conn_handle(c, msg);
		json_decref(msg);
		handled = 1;
		if (rc < 0)
			return rc;
	}
}
