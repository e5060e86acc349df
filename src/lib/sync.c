/*
 * sync.c — the client side of docs/sync.md as pure logic: no sockets, no
 * clocks.  conn.c feeds it what the server sends (pushed rows, difference
 * and getState results) and asks it what to fetch next; the unit tests feed
 * it the same way.
 *
 * Invariant: for every sequence, update() has been called exactly for the
 * pts values 1..pts that the server has (each once, ascending), and nothing
 * above pts.  Rows are applied only when their pts is exactly pts + 1; later
 * rows wait in `held`, earlier ones are dropped.  Held rows are only a cache:
 * dropping them is always safe because the difference brings them back.
 */
#include <stdio.h>
#include <string.h>

#include "lib/parley_int.h"

/* --- sequences ----------------------------------------------------------- */

static struct parley_sync_seq *sync_chat(struct parley_sync *s, int64_t chat_id)
{
	for (size_t i = 0; i < s->nchats; i++)
		if (s->chats[i].chat_id == chat_id)
			return &s->chats[i];
	return NULL;
}

static struct parley_sync_seq *sync_seq(struct parley_sync *s, int64_t chat_id)
{
	return chat_id ? sync_chat(s, chat_id) : &s->user;
}

static void sync_seq_clear(struct parley_sync_seq *q)
{
	json_decref(q->held);
	q->held = NULL;
}

/* Starts following chat_id from pts (or PARLEY_SYNC_UNKNOWN).  Returns the
 * sequence, or NULL when PARLEY_STATE_CHATS_MAX are followed already. */
static struct parley_sync_seq *sync_follow(struct parley_sync *s, int64_t chat_id, int64_t pts)
{
	struct parley_sync_seq *q = sync_chat(s, chat_id);

	for (size_t i = 0; i < s->nleft; i++)
		if (s->left[i] == chat_id)
			s->left[i] = 0; /* joined again */
	if (q)
		return q;
	if (s->nchats >= PARLEY_STATE_CHATS_MAX) {
		s->overflow = 1;
		return NULL;
	}
	q = &s->chats[s->nchats++];
	memset(q, 0, sizeof(*q));
	q->chat_id = chat_id;
	q->pts = pts;
	q->need_diff = 1;
	s->version++;
	return q;
}

int parley_sync_following(struct parley_sync *s, int64_t chat_id)
{
	return sync_chat(s, chat_id) != NULL;
}

void parley_sync_unfollow(struct parley_sync *s, int64_t chat_id)
{
	struct parley_sync_seq *q = sync_chat(s, chat_id);

	if (q) {
		sync_seq_clear(q);
		*q = s->chats[--s->nchats];
		s->version++;
	}
	s->left[s->left_next] = chat_id;
	s->left_next = (s->left_next + 1) % PARLEY_SYNC_LEFT_MAX;
	if (s->nleft < PARLEY_SYNC_LEFT_MAX)
		s->nleft++;
}

static int sync_has_left(const struct parley_sync *s, int64_t chat_id)
{
	for (size_t i = 0; i < s->nleft; i++)
		if (s->left[i] == chat_id)
			return 1;
	return 0;
}

void parley_sync_init(struct parley_sync *s, const struct parley_state *start)
{
	memset(s, 0, sizeof(*s));
	s->user.pts = PARLEY_SYNC_UNKNOWN;
	s->user.need_diff = 1;
	s->need_state = 1;
	if (!start || start->pts < 0)
		return;
	s->user_id = start->user_id;
	s->user.pts = start->pts;
	s->from_start = start->pts == 0 && start->nchats == 0;
	for (size_t i = 0; i < start->nchats && i < PARLEY_STATE_CHATS_MAX; i++)
		if (start->chats[i].chat_id && start->chats[i].pts >= 0)
			sync_follow(s, start->chats[i].chat_id, start->chats[i].pts);
	parley_strlcpy_utf8(s->app, start->app, sizeof(s->app));
}

void parley_sync_release(struct parley_sync *s)
{
	sync_seq_clear(&s->user);
	for (size_t i = 0; i < s->nchats; i++)
		sync_seq_clear(&s->chats[i]);
	s->nchats = 0;
}

void parley_sync_state(const struct parley_sync *s, struct parley_state *out)
{
	out->user_id = s->user_id;
	out->pts = s->user.pts;
	out->nchats = 0;
	for (size_t i = 0; i < s->nchats; i++) {
		if (s->chats[i].pts == PARLEY_SYNC_UNKNOWN)
			continue;
		out->chats[out->nchats].chat_id = s->chats[i].chat_id;
		out->chats[out->nchats].pts = s->chats[i].pts;
		out->nchats++;
	}
	snprintf(out->app, sizeof(out->app), "%s", s->app);
}

void parley_sync_catchup(struct parley_sync *s)
{
	s->user.need_diff = 1;
	s->need_state = 1;
	for (size_t i = 0; i < s->nchats; i++)
		s->chats[i].need_diff = 1;
}

/* --- rows ------------------------------------------------------------------ */

static int64_t sync_row_pts(const json_t *row)
{
	return (int64_t)json_integer_value(json_object_get(row, "pts"));
}

static void sync_drain(struct parley_sync *s, int64_t chat_id);

/* What applying a user-sequence update means for the chats followed:
 * chat_large starts a chat sequence; the user's own chat_member says they
 * joined (find out whether the chat is large) or left (stop). */
static void sync_effects(struct parley_sync *s, const json_t *upd)
{
	const char *type = json_string_value(json_object_get(upd, "type"));
	int64_t chat_id = (int64_t)json_integer_value(json_object_get(upd, "chat_id"));
	const json_t *pts = json_object_get(upd, "pts");
	const char *status;

	if (!type || !chat_id)
		return;
	if (strcmp(type, "chat_large") == 0 && json_is_integer(pts)) {
		struct parley_sync_seq *q = sync_follow(s, chat_id, (int64_t)json_integer_value(pts));

		if (q && q->pts == PARLEY_SYNC_UNKNOWN) { /* pushes came first: now we know where it starts */
			q->pts = (int64_t)json_integer_value(pts);
			q->need_diff = 1;
			sync_drain(s, chat_id);
		}
		return;
	}
	if (strcmp(type, "chat_member") != 0 || !s->user_id ||
	    (int64_t)json_integer_value(json_object_get(json_object_get(upd, "user"), "id")) != s->user_id)
		return;
	status = json_string_value(json_object_get(upd, "status"));
	if (status && (strcmp(status, "left") == 0 || strcmp(status, "kicked") == 0)) {
		parley_sync_unfollow(s, chat_id);
	} else if (!sync_chat(s, chat_id)) {
		for (size_t i = 0; i < s->nleft; i++)
			if (s->left[i] == chat_id)
				s->left[i] = 0;
		if (json_is_integer(pts))
			sync_follow(s, chat_id, (int64_t)json_integer_value(pts));
		else
			s->need_state = 1; /* a large chat?  getState says, with its pts */
	}
}

/* Applies row, the next of q. */
static void sync_apply(struct parley_sync *s, struct parley_sync_seq *q, json_t *row)
{
	int64_t chat_id = q->chat_id;

	q->pts = sync_row_pts(row);
	s->applied++;
	s->version++;
	if (s->update)
		s->update(s->ctx, row);
	if (chat_id == 0)
		sync_effects(s, json_object_get(row, "update")); /* may move chat sequences, not the user's */
}

/* Applies the held rows of chat_id that now follow; drops those at or below
 * its pts.  Looks the sequence up again after every row: applying may
 * follow or unfollow chats. */
static void sync_drain(struct parley_sync *s, int64_t chat_id)
{
	struct parley_sync_seq *q;

	while ((q = sync_seq(s, chat_id)) && q->pts != PARLEY_SYNC_UNKNOWN && json_array_size(q->held)) {
		json_t *row = json_incref(json_array_get(q->held, 0));
		int64_t pts = sync_row_pts(row);

		if (pts > q->pts + 1) {
			json_decref(row);
			break;
		}
		json_array_remove(q->held, 0);
		if (pts == q->pts + 1)
			sync_apply(s, q, row);
		json_decref(row);
	}
	if ((q = sync_seq(s, chat_id)) && !json_array_size(q->held)) {
		sync_seq_clear(q);
		q->gap = 0; /* what was missing arrived after all */
	}
}

/* Keeps row in q->held in pts order, once. */
static int sync_hold(struct parley_sync_seq *q, json_t *row)
{
	int64_t pts = sync_row_pts(row);
	size_t lo = 0, hi;

	if (!q->held && !(q->held = json_array()))
		return PARLEY_ENOMEM;
	hi = json_array_size(q->held);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t p = sync_row_pts(json_array_get(q->held, mid));

		if (p == pts)
			return PARLEY_SYNC_HELD; /* a duplicate of a held row */
		if (p < pts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (json_array_size(q->held) >= PARLEY_SYNC_HELD_MAX) {
		sync_seq_clear(q); /* the difference will bring them back */
		q->need_diff = 1;
		return PARLEY_SYNC_HELD;
	}
	if (json_array_insert(q->held, lo, row) < 0)
		return PARLEY_ENOMEM;
	return PARLEY_SYNC_HELD;
}

/* The rules of docs/sync.md, step 3, for row in sequence chat_id. */
static int sync_take(struct parley_sync *s, int64_t chat_id, json_t *row)
{
	struct parley_sync_seq *q = sync_seq(s, chat_id);
	int64_t pts = sync_row_pts(row);

	if (!q)
		return PARLEY_SYNC_DROPPED;
	if (q->pts != PARLEY_SYNC_UNKNOWN && pts <= q->pts)
		return PARLEY_SYNC_DROPPED;
	if (q->pts == PARLEY_SYNC_UNKNOWN || pts > q->pts + 1) {
		if (q->pts != PARLEY_SYNC_UNKNOWN)
			q->gap = 1; /* fetch what is missing */
		return sync_hold(q, row);
	}
	sync_apply(s, q, row);
	sync_drain(s, chat_id);
	return PARLEY_SYNC_APPLIED;
}

/* Is row an update row?  Sets *chat_id (0 for the user sequence). */
static int sync_row_ok(const json_t *row, int64_t *chat_id)
{
	const json_t *c = json_object_get(row, "chat_id");

	if (!json_is_object(row) || !json_is_integer(json_object_get(row, "pts")) || sync_row_pts(row) < 1 ||
	    !json_is_object(json_object_get(row, "update")) || (c && !json_is_integer(c)))
		return 0;
	*chat_id = c ? (int64_t)json_integer_value(c) : 0;
	return 1;
}

int parley_sync_push(struct parley_sync *s, json_t *row)
{
	int64_t chat_id;

	if (!sync_row_ok(row, &chat_id))
		return PARLEY_EPROTO;
	if (chat_id && !sync_chat(s, chat_id)) {
		/* A chat we do not follow yet: the server subscribed this session
		 * (a join) before we heard of it.  Keep its rows until getState
		 * says where the chat starts; ignore chats we just left. */
		if (sync_has_left(s, chat_id) || !sync_follow(s, chat_id, PARLEY_SYNC_UNKNOWN))
			return PARLEY_SYNC_DROPPED;
		s->need_state = 1;
	}
	return sync_take(s, chat_id, row);
}

/* --- what the server answers ---------------------------------------------- */

/* The sequence continues from pts after the server lost or dropped what came
 * before: tell the application, then drop what is held at or below it. */
static void sync_restart(struct parley_sync *s, struct parley_sync_seq *q, int64_t pts)
{
	int64_t chat_id = q->chat_id;

	q->pts = pts;
	s->version++;
	if (chat_id == 0)
		s->need_state = 1; /* joins and leaves in between are lost too */
	if (s->reload)
		s->reload(s->ctx, chat_id, pts);
	sync_drain(s, chat_id);
}

int parley_sync_difference(struct parley_sync *s, int64_t chat_id, json_t *result)
{
	json_t *rows = json_object_get(result, "updates"), *row;
	json_t *spts = json_object_get(json_object_get(result, "state"), "pts");
	struct parley_sync_seq *q = sync_seq(s, chat_id);
	int more = json_is_true(json_object_get(result, "more"));
	int64_t top, rid;
	size_t i;

	if (!q)
		return 0; /* unfollowed meanwhile */
	if (!json_is_integer(spts))
		return PARLEY_EPROTO;
	top = (int64_t)json_integer_value(spts);
	if (json_is_true(json_object_get(result, "reload"))) {
		q->need_diff = 0;
		q->gap = 0;
		sync_restart(s, q, top);
		return 0;
	}
	if (!json_is_array(rows))
		return PARLEY_EPROTO;
	json_array_foreach(rows, i, row) {
		if (!sync_row_ok(row, &rid) || (chat_id && rid != chat_id))
			return PARLEY_EPROTO;
		(void)sync_take(s, chat_id, row);
		if (!(q = sync_seq(s, chat_id)))
			return 0; /* the update itself ended the chat */
	}
	q->need_diff = more;
	if (!more)
		q->gap = 0; /* rows still held past top came after the answer: wait for the next push */
	if (more || q->pts == top)
		return more;
	if (q->pts > top) {
		/* The server is behind us: it lost updates we applied (restored
		 * from a backup) or this state is from elsewhere.  Its sequence
		 * is the truth from now on. */
		sync_seq_clear(q);
		sync_restart(s, q, top);
		return 0;
	}
	/* The server says it has nothing between our pts and top: the rows we
	 * hold up to top follow with holes the log does not have. */
	while ((q = sync_seq(s, chat_id)) && json_array_size(q->held) &&
	       sync_row_pts(json_array_get(q->held, 0)) <= top) {
		row = json_incref(json_array_get(q->held, 0));
		json_array_remove(q->held, 0);
		if (sync_row_pts(row) > q->pts)
			sync_apply(s, q, row);
		json_decref(row);
	}
	if ((q = sync_seq(s, chat_id)) && q->pts < top) {
		q->pts = top;
		s->version++;
	}
	if (q)
		sync_drain(s, chat_id);
	return 0;
}

int parley_sync_state_reply(struct parley_sync *s, json_t *result)
{
	json_t *chats = json_object_get(result, "chats"), *pts = json_object_get(result, "pts"), *c;
	int first = s->from_start;
	size_t i, k;

	if (!json_is_integer(pts) || !json_is_array(chats))
		return PARLEY_EPROTO;
	if (s->user.pts != PARLEY_SYNC_UNKNOWN && json_integer_value(pts) > s->user.pts &&
	    s->state_tries < PARLEY_SYNC_STATE_TRIES) {
		s->state_tries++;
		s->user.need_diff = 1; /* catch up first, then ask again */
		return 0;
	}
	s->state_tries = 0;
	s->need_state = 0;
	s->from_start = 0;
	if (s->user.pts == PARLEY_SYNC_UNKNOWN) {
		s->user.pts = (int64_t)json_integer_value(pts);
		s->version++;
		sync_drain(s, 0);
	}
	json_array_foreach(chats, i, c) {
		int64_t id = (int64_t)json_integer_value(json_object_get(c, "chat_id"));
		int64_t p = (int64_t)json_integer_value(json_object_get(c, "pts"));
		struct parley_sync_seq *q;

		if (!id)
			continue;
		if (!(q = sync_chat(s, id))) {
			sync_follow(s, id, first ? 0 : p);
		} else if (q->pts == PARLEY_SYNC_UNKNOWN) {
			/* Rows were pushed before we knew the chat: start no later
			 * than the first of them, so none is skipped. */
			int64_t held = json_array_size(q->held) ? sync_row_pts(json_array_get(q->held, 0)) - 1 : p;

			q->pts = held < p ? held : p;
			q->need_diff = 1;
			s->version++;
			sync_drain(s, id);
		}
	}
	/* Chats we started to hear of that getState does not name are not ours
	 * (or not large): forget them. */
	for (k = 0; k < s->nchats;) {
		if (s->chats[k].pts == PARLEY_SYNC_UNKNOWN) {
			sync_seq_clear(&s->chats[k]);
			s->chats[k] = s->chats[--s->nchats];
		} else {
			k++;
		}
	}
	return 0;
}

struct parley_sync_seq *parley_sync_next_diff(struct parley_sync *s)
{
	if (s->user.pts != PARLEY_SYNC_UNKNOWN && (s->user.need_diff || s->user.gap))
		return &s->user;
	for (size_t i = 0; i < s->nchats; i++)
		if ((s->chats[i].need_diff || s->chats[i].gap) && s->chats[i].pts != PARLEY_SYNC_UNKNOWN)
			return &s->chats[i];
	return NULL;
}
