/* h_messages.c — API handlers for messages, history, dialogs and search.
 * Parameter positions follow each method's row in methods.c. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/render.h"
#include "core/core.h"
#include "util/textbuf.h"

/* A page of messages as JSON text: hard maximum.  The largest page possible
 * (100 messages of 4,096 characters, each with its reply, every character
 * escaped at 6 bytes) is under 5 MiB; past the maximum a page answers
 * INTERNAL rather than growing without bound. */
#define PAGE_TEXT_MAX (16 * 1024 * 1024)
/* The stack buffer a call's message text starts in on the writer (a
 * message as JSON is ~300-700 bytes; longer ones move to malloc). */
#define MSG_TEXT_STACK 2048

/* A page of messages copied out of a store iteration, rendered afterwards so
 * no store statement is re-entered while it is stepping. */
struct msg_page {
	struct store_message m[PL_PAGE_MAX];
	size_t n;
	int oom;
};

static int collect_msg(void *ctx, const struct store_message *m)
{
	struct msg_page *p = ctx;

	if (p->n >= PL_PAGE_MAX)
		return 1;
	p->m[p->n] = *m;
	p->m[p->n].text = m->text ? strdup(m->text) : NULL;
	if (m->text && !p->m[p->n].text)
		p->oom = 1;
	p->n++;
	return 0;
}

static void page_release(struct msg_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		store_message_release(&p->m[i]);
	p->n = 0;
}

static int done_true(struct api_call *call, int rc)
{
	if (rc < 0)
		return rc;
	call->result = json_true();
	return 0;
}

/* The message a call stored or changed, as its reply: JSON text written
 * directly (render_message_text: the bytes of render_message's tree). */
static int done_msg(struct api_call *call, struct core_access *a, struct store_message *m, int rc)
{
	struct textbuf out;
	char buf[MSG_TEXT_STACK];

	if (rc < 0)
		return rc;
	/* On the writer the text goes into the group's arena: built here on
	 * the stack, copied once (api_result_text_take). */
	textbuf_init_buf(&out, PAGE_TEXT_MAX, call->arena ? buf : NULL, sizeof buf);
	render_message_text(call->tx, &a->chat, m, 0, NULL, &out);
	core_fresh_adopt(call->tx, m); /* the update is built from it (upd_write) */
	store_message_release(m);
	if (api_result_text_take(call, &out) < 0)
		return api_fail(call, PLC_INTERNAL, "the message could not be rendered");
	return 0;
}

/* sendMessage: 0 chat_id, 1 text, 2 reply_to_message_id, 3 reply_parameters */
int h_send_message(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_message m;
	int64_t reply = api_int(call, 2);
	int rc;

	if (!reply && call->v[3].obj) {
		json_t *id = json_object_get(call->v[3].obj, "message_id");
		if (!json_is_integer(id) || json_integer_value(id) < 1)
			return api_fail(call, PLC_PARAM_INVALID, "reply_parameters.message_id must be a positive integer");
		reply = json_integer_value(id);
	}
	if ((rc = h_chat_arg(call, 0, 1, CORE_NEED_NONE, &a)) < 0)
		return rc;
	return done_msg(call, &a, &m, core_message_send(call->tx, &a, api_str(call, 1), reply, &m));
}

/* forwardMessage: 0 chat_id, 1 from_chat_id, 2 message_id */
int h_forward_message(struct api_call *call, struct store *s)
{
	struct core_access dst, src;
	struct store_message m;
	int rc;

	if ((rc = h_chat_arg(call, 1, 0, CORE_NEED_READ, &src)) < 0 ||
	    (rc = h_chat_arg(call, 0, 1, CORE_NEED_NONE, &dst)) < 0)
		return rc;
	return done_msg(call, &dst, &m, core_message_forward(call->tx, &dst, &src, api_int(call, 2), &m));
}

/* editMessageText: 0 chat_id, 1 message_id, 2 text */
int h_edit_message(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_message m;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a)) < 0)
		return rc;
	return done_msg(call, &a, &m, core_message_edit(call->tx, &a, api_int(call, 1), api_str(call, 2), &m));
}

/* deleteMessage: 0 chat_id, 1 message_id, 2 revoke */
int h_delete_message(struct api_call *call, struct store *s)
{
	struct core_access a;
	int64_t id = api_int(call, 1);
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a)) < 0)
		return rc;
	return done_true(call, core_messages_delete(call->tx, &a, &id, 1, api_has(call, 2) ? (int)api_int(call, 2) : 1));
}

/* deleteMessages: 0 chat_id, 1 message_ids, 2 revoke */
int h_delete_messages(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a)) < 0)
		return rc;
	return done_true(call, core_messages_delete(call->tx, &a, call->v[1].arr, call->v[1].n,
						    api_has(call, 2) ? (int)api_int(call, 2) : 1));
}

int h_pin_message(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_message_pin(call->tx, &a, api_int(call, 1), 1));
}

int h_unpin_message(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_message_pin(call->tx, &a, api_int(call, 1), 0));
}

/* readHistory: 0 chat_id, 1 max_id */
int h_read_history(struct api_call *call, struct store *s)
{
	struct core_access a;
	int64_t read_max, unread;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0 ||
	    (rc = core_read_history(call->tx, &a, api_int(call, 1), &read_max, &unread)) < 0)
		return rc;
	call->result = json_pack("{s:I, s:I}", "read_inbox_max_id", (json_int_t)read_max, "unread_count",
				 (json_int_t)unread);
	return 0;
}

/* A page's reply: the Message array as text (render_message_text), or a
 * failure.  Chat c is the page's; NULL looks each message's chat up
 * (search), leaving out messages of chats that are gone. */
static int render_page(struct api_call *call, const struct store_chat *c, struct msg_page *p)
{
	struct render_files *files = NULL;
	struct textbuf out;
	struct store_chat mc;
	size_t n = 0;

	/* A chat's page: which of its messages carry files, in one look. */
	if (c && p->n && (files = malloc(sizeof *files))) {
		int64_t a = p->m[0].id, b = p->m[p->n - 1].id;
		render_files_load(call->tx, c->id, a < b ? a : b, a < b ? b : a, files);
	}
	textbuf_init(&out, PAGE_TEXT_MAX);
	textbuf_add(&out, "[", 1);
	for (size_t i = 0; i < p->n; i++) {
		if (!c && store_chat_get(call->tx->s, p->m[i].chat_id, &mc) < 0)
			continue;
		if (n++)
			textbuf_add(&out, ",", 1);
		render_message_text(call->tx, c ? c : &mc, &p->m[i], 0, files, &out);
	}
	textbuf_add(&out, "]", 1);
	page_release(p);
	free(files);
	if (!(call->result_text = textbuf_steal(&out, &call->result_len)))
		return api_fail(call, PLC_INTERNAL, "the page could not be rendered");
	return 0;
}

/* getHistory: 0 chat_id, 1 offset_id, 2 direction, 3 limit */
int h_get_history(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct msg_page *p;
	int dir = STORE_OLDER, rc;

	if (api_has(call, 2)) {
		if (!strcmp(api_str(call, 2), "newer"))
			dir = STORE_NEWER;
		else if (strcmp(api_str(call, 2), "older"))
			return api_fail(call, PLC_PARAM_INVALID, "direction is \"older\" or \"newer\"");
	}
	rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);
	/* store_user_get, not core_user_get: a miss must keep CHAT_NOT_FOUND. */
	if (rc == PL_NOTFOUND && !call->v[0].s && api_int(call, 0) > 0 &&
	    store_user_get(call->tx->s, api_int(call, 0), &(struct store_user){0}) == 0) {
		call->result = json_array(); /* no conversation yet */
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!(p = calloc(1, sizeof *p)))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_message_history(s, a.chat.id, call->user_id, api_int(call, 1), dir,
				   api_has(call, 3) ? (int)api_int(call, 3) : PL_PAGE_DEFAULT, collect_msg, p);
	if (rc < 0 || p->oom) {
		page_release(p);
		free(p);
		return api_fail(call, PLC_INTERNAL, "history lookup failed");
	}
	rc = render_page(call, &a.chat, p);
	free(p);
	return rc;
}

/* Converts a client chat id used as a paging cursor to an internal chat id
 * (0 if it names nothing). */
static int64_t cursor_chat(struct api_call *call, int64_t client_id)
{
	struct store_chat c;
	int64_t me = call->user_id;

	if (client_id < 0)
		return -client_id;
	if (client_id > 0 && store_chat_find_private(call->tx->s, me < client_id ? me : client_id,
						     me < client_id ? client_id : me, &c) == 0)
		return c.id;
	return 0;
}

struct dialog_page {
	struct store_dialog d[PL_PAGE_MAX];
	size_t n;
};

static int collect_dialog(void *ctx, const struct store_dialog *d)
{
	struct dialog_page *p = ctx;

	if (p->n >= PL_PAGE_MAX)
		return 1;
	p->d[p->n++] = *d;
	return 0;
}

static json_t *render_dialog(struct api_call *call, const struct store_dialog *d)
{
	struct core_tx *tx = call->tx;
	struct store_member peer;
	int64_t unread = 0, outbox = 0;
	json_t *j, *last;

	(void)store_message_unread(tx->s, d->chat.id, tx->uid, d->member.read_max_id, &unread);
	if (d->chat.type == STORE_CHAT_PRIVATE &&
	    store_member_get(tx->s, d->chat.id, core_private_peer(&d->chat, tx->uid), &peer) == 0)
		outbox = peer.read_max_id;
	j = json_pack("{s:o, s:I, s:I, s:I}", "chat", render_chat(tx, &d->chat), "unread_count", (json_int_t)unread,
		      "read_inbox_max_id", (json_int_t)d->member.read_max_id, "read_outbox_max_id", (json_int_t)outbox);
	if (j && (last = render_last_message(tx, &d->chat)))
		json_object_set_new(j, "last_message", last);
	return j;
}

/* getDialogs: 0 offset_date, 1 offset_chat_id, 2 limit */
int h_get_dialogs(struct api_call *call, struct store *s)
{
	struct dialog_page *p = calloc(1, sizeof *p);
	json_t *arr;
	int rc;

	if (!p)
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_dialog_list(s, call->user_id, api_int(call, 0), cursor_chat(call, api_int(call, 1)),
			       api_has(call, 2) ? (int)api_int(call, 2) : PL_PAGE_DEFAULT, collect_dialog, p);
	if (rc < 0) {
		free(p);
		return api_fail(call, PLC_INTERNAL, "dialog lookup failed");
	}
	arr = json_array();
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(arr, render_dialog(call, &p->d[i]));
	free(p);
	call->result = arr;
	return 0;
}

static int query_has_word(const char *q)
{
	for (; *q; q++)
		if ((unsigned char)*q >= 0x80 || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z') || (*q >= '0' && *q <= '9'))
			return 1;
	return 0;
}

/* searchMessages: 0 query, 1 chat_id, 2 offset_date, 3 offset_chat_id, 4 offset_message_id, 5 limit */
int h_search_messages(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct msg_page *p;
	int64_t chat = 0;
	int rc;

	if (!query_has_word(api_str(call, 0)))
		return api_fail(call, PLC_QUERY_EMPTY, "the query has no letters or digits");
	if (api_has(call, 1)) {
		if ((rc = h_chat_arg(call, 1, 0, CORE_NEED_READ, &a)) < 0)
			return rc;
		chat = a.chat.id;
	}
	if (!(p = calloc(1, sizeof *p)))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_message_search(s, call->user_id, chat, api_str(call, 0), api_int(call, 2),
				  cursor_chat(call, api_int(call, 3)), api_int(call, 4),
				  api_has(call, 5) ? (int)api_int(call, 5) : PL_PAGE_DEFAULT, collect_msg, p);
	if (rc < 0 || p->oom) {
		page_release(p);
		free(p);
		return api_fail(call, PLC_INTERNAL, "search failed");
	}
	rc = render_page(call, NULL, p);
	free(p);
	return rc;
}

/* viewMessages: 0 chat_id, 1 message_ids */
int h_view_messages(struct api_call *call, struct store *s)
{
	struct core_access a;
	int64_t views[PL_BATCH_MAX];
	json_t *arr;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a)) < 0 ||
	    (rc = core_messages_view(call->tx, &a, call->v[1].arr, call->v[1].n, views)) < 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < call->v[1].n; i++)
		json_array_append_new(arr, json_integer(views[i]));
	call->result = arr;
	return 0;
}
