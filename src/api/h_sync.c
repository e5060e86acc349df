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
#include "util/textbuf.h"

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

/* Replies of stored updates are built as text: each update's body is stored
 * as the exact JSON text pushed live, so it is copied into the reply as it
 * is, never parsed and serialised again.  The rows and the envelope around
 * them are the bytes jansson gave when the reply was a tree:
 *   getDifference      {"updates":[{"pts":P,"update":BODY},...],"state":{"pts":N},"more":B}
 *   getChatDifference  the same, each row also ...,"chat_id":C}
 *   getUpdates         [{"pts":P,"update":BODY,"update_id":P},...]
 * Only where a territorial restriction is in force, and only for bodies that
 * carry a message, is a body parsed to be filtered for the viewer. */
#define DIFF_TEXT_MAX (2 * PL_DIFF_BYTES_MAX + PL_DIFF_MAX * 128) /* reply text: hard maximum */

struct diff {
	struct textbuf out;   /* the reply's text so far */
	size_t n;             /* rows in it */
	int64_t last;
	int with_update_id;
	int64_t client_chat;  /* chat log: the chat id clients see, else 0 */
	int bad;
	size_t bytes;         /* update bodies so far, bounded by PL_DIFF_BYTES_MAX */
	struct core_tx *tx;   /* set when restrictions are in force: bodies are filtered for the viewer */
};

static void diff_init(struct diff *d, int64_t from, int with_update_id, int64_t client_chat)
{
	memset(d, 0, sizeof *d);
	textbuf_init(&d->out, DIFF_TEXT_MAX);
	d->last = from;
	d->with_update_id = with_update_id;
	d->client_chat = client_chat;
}

/* Stored updates are the same for every reader; content withheld in the
 * viewer's territory is replaced on the way out (docs/policy.md). */
static void diff_filter(struct api_call *call, struct diff *d)
{
	int64_t n = 0;

	if (call->tx && call->tx->viewer && store_restriction_count(call->tx->s, &n) == 0 && n > 0)
		d->tx = call->tx;
}

/* Could render_withhold_update change this body?  Only an update carrying a
 * message.  The patterns can only match JSON structure: inside a string
 * every quote is escaped.  Bodies are stored compact (updates.c writes them
 * as json_dumps JSON_COMPACT does, no spaces); test_read_path and
 * test_safety_territory fail if a withheld body slips through. */
static int body_has_message(const char *body, size_t len)
{
	static const char key[] = "\"type\":\"";
	const size_t k = sizeof key - 1;
	const char *p = body, *end = body + len;

	while ((p = memchr(p, '"', (size_t)(end - p))) && (size_t)(end - p) > k) {
		if (!memcmp(p, key, k) &&
		    (((size_t)(end - p) >= k + 12 && !memcmp(p + k, "new_message\"", 12)) ||
		     ((size_t)(end - p) >= k + 13 && !memcmp(p + k, "edit_message\"", 13))))
			return 1;
		p++;
	}
	return 0;
}

/* Appends the body as the viewer may see it: parsed and filtered. */
static int add_filtered(struct diff *d, const char *body, size_t len)
{
	json_t *u = json_loadb(body, len, 0, NULL);
	char *text;
	int rc;

	if (!u)
		return PL_INVAL;
	render_withhold_update(d->tx, u, d->client_chat);
	text = json_dumps(u, JSON_COMPACT);
	json_decref(u);
	if (!text)
		return PL_NOMEM;
	rc = textbuf_puts(&d->out, text);
	free(text);
	return rc;
}

static int add_update(void *ctx, int64_t pts, const char *body, size_t len)
{
	struct diff *d = ctx;
	int rc;

	if (len < 2 || body[0] != '{' || body[len - 1] != '}') { /* not a stored update: refuse it */
		d->bad = 1;
		return 1;
	}
	if (d->n)
		textbuf_add(&d->out, ",", 1);
	textbuf_puts(&d->out, "{\"pts\":");
	textbuf_add_i64(&d->out, pts);
	textbuf_puts(&d->out, ",\"update\":");
	if (d->tx && body_has_message(body, len))
		rc = add_filtered(d, body, len);
	else
		rc = textbuf_add(&d->out, body, len);
	if (d->with_update_id) {
		textbuf_puts(&d->out, ",\"update_id\":");
		textbuf_add_i64(&d->out, pts);
	}
	if (d->client_chat) {
		textbuf_puts(&d->out, ",\"chat_id\":");
		textbuf_add_i64(&d->out, d->client_chat);
	}
	if (rc < 0 || textbuf_add(&d->out, "}", 1) < 0) {
		d->bad = 1;
		return 1;
	}
	d->n++;
	d->last = pts;
	d->bytes += len;
	return d->bytes >= PL_DIFF_BYTES_MAX; /* 1: enough for one reply (the range stops, not an error) */
}

/* Hands the finished text to the call as its result. */
static int diff_result(struct api_call *call, struct diff *d)
{
	if (!(call->result_text = textbuf_steal(&d->out, &call->result_len)))
		return api_fail(call, PLC_INTERNAL, "the reply does not fit");
	return 0;
}

typedef int (*state_fn)(struct store *s, int64_t id, int64_t *pts, int64_t *min);
typedef int (*range_fn)(struct store *s, int64_t id, int64_t after, int limit, store_update_cb cb, void *ctx);

static int difference(struct api_call *call, struct store *s, int64_t id, int64_t client_chat, int64_t from,
		      int limit, state_fn state, range_fn range)
{
	struct diff d;
	int64_t pts, min;

	if (state(s, id, &pts, &min) < 0)
		return api_fail(call, PLC_INTERNAL, "state lookup failed");
	if (from > pts)
		from = pts; /* a client ahead of the server (restored from elsewhere) restarts at the top */
	if (from + 1 < min) {
		call->result = json_pack("{s:b, s:{s:I}}", "reload", 1, "state", "pts", (json_int_t)pts);
		return 0;
	}
	diff_init(&d, from, 0, client_chat);
	diff_filter(call, &d);
	textbuf_puts(&d.out, "{\"updates\":[");
	if (range(s, id, from, limit, add_update, &d) < 0 || d.bad) {
		textbuf_release(&d.out);
		return api_fail(call, PLC_INTERNAL, "update log lookup failed");
	}
	textbuf_addf(&d.out, "],\"state\":{\"pts\":%lld},\"more\":%s}", (long long)d.last, d.last < pts ? "true" : "false");
	return diff_result(call, &d);
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
	struct diff d;
	int64_t offset = api_int(call, 0);
	int limit = api_has(call, 1) ? (int)api_int(call, 1) : 100;

	diff_init(&d, 0, 1, 0);
	diff_filter(call, &d);
	textbuf_puts(&d.out, "[");
	if (s->ops->update_user_range(s, call->user_id, offset > 0 ? offset - 1 : 0, limit, add_update, &d) < 0 ||
	    d.bad) {
		textbuf_release(&d.out);
		return api_fail(call, PLC_INTERNAL, "update log lookup failed");
	}
	textbuf_puts(&d.out, "]");
	if (!d.n && api_int(call, 2) > 0 && !call->no_wait)
		call->park = (int)api_int(call, 2);
	return diff_result(call, &d);
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
	core_user_forget(call->tx, call->user_id);
	call->result = json_true();
	return 0;
}
