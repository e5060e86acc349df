/* h_sync.c — API handlers for device sync (docs/sync.md): getState,
 * getDifference, getChatDifference, getUpdates, sendChatAction, setPrivacy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/hub.h"
#include "api/render.h"
#include "core/core.h"
#include "util/ratelimit.h"

static int add_chat_pts(void *ctx, int64_t chat_id, int64_t pts)
{
	json_array_append_new(ctx, json_pack("{s:I, s:I}", "chat_id", (json_int_t)-chat_id, "pts", (json_int_t)pts));
	return 0;
}

int h_get_state(struct api_call *call, struct store *s)
{
	int64_t pts, min;
	json_t *chats = json_array();

	if (store_update_user_state(s, call->user_id, &pts, &min) < 0 ||
	    store_large_chats(s, call->user_id, add_chat_pts, chats) < 0) {
		json_decref(chats);
		return api_fail(call, PLC_INTERNAL, "state lookup failed");
	}
	call->result = json_pack("{s:I, s:I, s:o}", "pts", (json_int_t)pts, "date", (json_int_t)call->now, "chats",
				 chats);
	return 0;
}

/* Collects stored updates as {"pts":P, "update":{...}} (plus update_id for getUpdates). */
struct diff {
	json_t *arr;
	int64_t last;
	int with_update_id;
	int64_t client_chat;  /* chat log: the chat id clients see, else 0 */
	int bad;
	size_t bytes;         /* update bodies so far, bounded by PL_DIFF_BYTES_MAX */
	struct core_tx *tx;   /* set when restrictions are in force: bodies are filtered for the viewer */
};

/* Stored updates are the same for every reader; content withheld in the
 * viewer's territory is replaced on the way out (docs/policy.md). */
static void diff_filter(struct api_call *call, struct diff *d)
{
	int64_t n = 0;

	if (call->tx && call->tx->viewer && store_restriction_count(call->tx->s, &n) == 0 && n > 0)
		d->tx = call->tx;
}

static int add_update(void *ctx, int64_t pts, const char *body, size_t len)
{
	struct diff *d = ctx;
	json_t *u = json_loadb(body, len, 0, NULL), *row;

	if (!u) {
		d->bad = 1;
		return 1;
	}
	if (d->tx)
		render_withhold_update(d->tx, u, d->client_chat);
	row = json_pack("{s:I, s:o}", "pts", (json_int_t)pts, "update", u);
	if (d->with_update_id)
		json_object_set_new(row, "update_id", json_integer(pts));
	if (d->client_chat)
		json_object_set_new(row, "chat_id", json_integer(d->client_chat));
	json_array_append_new(d->arr, row);
	d->last = pts;
	d->bytes += len;
	return d->bytes >= PL_DIFF_BYTES_MAX; /* 1: enough for one reply (the range stops, not an error) */
}

typedef int (*state_fn)(struct store *s, int64_t id, int64_t *pts, int64_t *min);
typedef int (*range_fn)(struct store *s, int64_t id, int64_t after, int limit, store_update_cb cb, void *ctx);

static int difference(struct api_call *call, struct store *s, int64_t id, int64_t client_chat, int64_t from,
		      int limit, state_fn state, range_fn range)
{
	struct diff d = {json_array(), from, 0, client_chat, 0};
	int64_t pts, min;

	if (state(s, id, &pts, &min) < 0) {
		json_decref(d.arr);
		return api_fail(call, PLC_INTERNAL, "state lookup failed");
	}
	if (from > pts)
		from = pts; /* a client ahead of the server (restored from elsewhere) restarts at the top */
	if (from + 1 < min) {
		json_decref(d.arr);
		call->result = json_pack("{s:b, s:{s:I}}", "reload", 1, "state", "pts", (json_int_t)pts);
		return 0;
	}
	d.last = from;
	diff_filter(call, &d);
	if (range(s, id, from, limit, add_update, &d) < 0 || d.bad) {
		json_decref(d.arr);
		return api_fail(call, PLC_INTERNAL, "update log lookup failed");
	}
	call->result = json_pack("{s:o, s:{s:I}, s:b}", "updates", d.arr, "state", "pts", (json_int_t)d.last, "more",
				 d.last < pts);
	return 0;
}

static int limit_of(struct api_call *call, int i)
{
	return api_has(call, i) ? (int)api_int(call, i) : PL_DIFF_MAX;
}

/* getDifference: 0 pts, 1 limit */
int h_get_difference(struct api_call *call, struct store *s)
{
	return difference(call, s, call->user_id, 0, api_int(call, 0), limit_of(call, 1), s->ops->update_user_state,
			  s->ops->update_user_range);
}

/* getChatDifference: 0 chat_id, 1 pts, 2 limit */
int h_get_chat_difference(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);

	if (rc < 0)
		return rc;
	if (!a.chat.large)
		return api_fail(call, PLC_CHAT_TYPE_INVALID, "this chat's updates are in your own sequence (getDifference)");
	return difference(call, s, a.chat.id, -a.chat.id, api_int(call, 1), limit_of(call, 2),
			  s->ops->update_chat_state, s->ops->update_chat_range);
}

/* getUpdates: 0 offset, 1 limit, 2 timeout.  Bot API semantics: updates with
 * update_id >= offset; waits up to timeout seconds when there are none. */
int h_get_updates(struct api_call *call, struct store *s)
{
	struct diff d = {json_array(), 0, 1, 0, 0};
	int64_t offset = api_int(call, 0);
	int limit = api_has(call, 1) ? (int)api_int(call, 1) : 100;

	diff_filter(call, &d);
	if (s->ops->update_user_range(s, call->user_id, offset > 0 ? offset - 1 : 0, limit, add_update, &d) < 0 ||
	    d.bad) {
		json_decref(d.arr);
		return api_fail(call, PLC_INTERNAL, "update log lookup failed");
	}
	if (!json_array_size(d.arr) && api_int(call, 2) > 0 && !call->no_wait)
		call->park = (int)api_int(call, 2);
	call->result = d.arr;
	return 0;
}

static const char *const actions[] = {"typing", "cancel", "upload_photo", "record_voice", "upload_document",
				      "choose_sticker", NULL};

struct idlist {
	int64_t v[PL_INITIAL_MEMBERS_MAX + 1];
	size_t n;
};

static int take_id(void *ctx, int64_t id)
{
	struct idlist *l = ctx;

	if (l->n >= sizeof l->v / sizeof l->v[0])
		return 1;
	l->v[l->n++] = id;
	return 0;
}

/* sendChatAction: 0 chat_id, 1 action */
int h_send_chat_action(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct idlist *ids;
	struct hub_typing *t;
	const char *action = api_str(call, 1);
	char key[64];
	size_t k;
	int rc, wait;

	for (k = 0; actions[k] && strcmp(actions[k], action); k++)
		;
	if (!actions[k])
		return api_fail(call, PLC_PARAM_INVALID, "action is one of typing, cancel, upload_photo, record_voice, "
					 "upload_document, choose_sticker");
	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0)
		return rc;
	snprintf(key, sizeof key, "t:%lld:%lld", (long long)call->user_id, (long long)a.chat.id);
	if ((wait = rl_take(call->core->typing_limits, key, 1.0 / 3, 3, (double)call->now))) {
		call->retry_after = wait;
		return api_fail(call, PLC_FLOOD_WAIT, "at most one chat action every 3 seconds per chat");
	}
	if (!a.can_post || a.chat.type == STORE_CHAT_CHANNEL)
		return api_fail(call, PLC_CHAT_WRITE_FORBIDDEN, "you cannot post in this chat");
	if (!(ids = calloc(1, sizeof *ids)))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	if (a.chat.type == STORE_CHAT_PRIVATE)
		take_id(ids, core_private_peer(&a.chat, call->user_id));
	else if (!a.chat.large && store_member_ids(s, a.chat.id, 0, PL_INITIAL_MEMBERS_MAX + 1, take_id, ids) < 0) {
		free(ids);
		return api_fail(call, PLC_INTERNAL, "member lookup failed");
	}
	t = malloc(sizeof *t + ids->n * sizeof(int64_t));
	if (!t) {
		free(ids);
		return api_fail(call, PLC_INTERNAL, "out of memory");
	}
	*t = (struct hub_typing){a.chat.id, a.chat.large, a.chat.type == STORE_CHAT_PRIVATE, call->user_id, actions[k],
				 (int64_t *)(t + 1), ids->n};
	memcpy(t + 1, ids->v, ids->n * sizeof(int64_t));
	free(ids);
	call->typing = t;
	call->result = json_true();
	return 0;
}

/* setPrivacy: 0 last_seen */
int h_set_privacy(struct api_call *call, struct store *s)
{
	static const char *const names[] = {"everybody", "contacts", "nobody"};
	int p;

	for (p = 0; p < 3 && strcmp(names[p], api_str(call, 0)); p++)
		;
	if (p == 3)
		return api_fail(call, PLC_PARAM_INVALID, "last_seen is everybody, contacts or nobody");
	if (store_user_set_privacy(s, call->user_id, p) < 0)
		return api_fail(call, PLC_INTERNAL, "could not save the setting");
	call->result = json_true();
	return 0;
}
