/* messages.c — sending, forwarding, editing, deleting, pinning, reading and
 * viewing messages.  Permission checks come from core_access(). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/core.h"
#include "core/core_int.h"
#include "util/utf8.h"

static void ev(struct core_tx *tx, int type, int64_t chat, int64_t msg, int64_t user, int64_t value)
{
	if (tx->ev)
		(void)bus_events_add(tx->ev, type, chat, msg, user, value);
}

int core_text_check(struct core_tx *tx, const char *text)
{
	long n = utf8_count(text, strlen(text));

	if (n < 0)
		return core_fail(tx, PL_INVAL, PLC_TEXT_INVALID_UTF8, "the text is not valid UTF-8");
	if (n == 0 || strspn(text, " \t\r\n") == strlen(text))
		return core_fail(tx, PL_INVAL, PLC_MESSAGE_EMPTY, "the message has no text");
	if (n > PL_MESSAGE_MAX)
		return core_fail(tx, PL_TOOBIG, PLC_MESSAGE_TOO_LONG, "%ld characters; the limit is %d", n,
				 PL_MESSAGE_MAX);
	return 0;
}

static int first_id(void *ctx, const struct store_message *m)
{
	*(int64_t *)ctx = m->id;
	return 1;
}

/* Did tx->uid delete this message for themselves only?  The history walk
 * skips such messages, so asking it for the one message at msg_id tells. */
int core_message_hidden(struct core_tx *tx, int64_t chat_id, int64_t msg_id)
{
	int64_t seen = 0;

	if (!tx->uid)
		return 0;
	if (store_message_history(tx->s, chat_id, tx->uid, msg_id - 1, STORE_NEWER, 1, first_id, &seen) < 0)
		return 0;
	return seen != msg_id;
}

int core_message_get(struct core_tx *tx, struct core_access *a, int64_t msg_id, struct store_message *out)
{
	int rc;

	if (!a->can_read)
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "you are not a member of this chat");
	rc = store_message_get(tx->s, a->chat.id, msg_id, out);
	if (rc == 0 && (out->deleted || core_message_hidden(tx, a->chat.id, msg_id))) {
		store_message_release(out);
		rc = PL_NOTFOUND;
	}
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_MESSAGE_NOT_FOUND, "no message %lld in this chat", (long long)msg_id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "message lookup failed");
	return 0;
}

int core_block_check(struct core_tx *tx, int64_t peer)
{
	int rc;

	if (peer == tx->uid)
		return 0;
	if ((rc = store_block_get(tx->s, peer, tx->uid)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "block lookup failed");
	if (rc == 1)
		return core_fail(tx, PL_DENIED, PLC_USER_BLOCKED, "this user does not accept messages from you");
	if ((rc = store_block_get(tx->s, tx->uid, peer)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "block lookup failed");
	if (rc == 1)
		return core_fail(tx, PL_DENIED, PLC_USER_BLOCKED, "you blocked this user; unblock them to write");
	return 0;
}

/* Refuses posting where the chat or a block forbids it. */
int core_post_check(struct core_tx *tx, struct core_access *a)
{
	if (!a->can_post)
		return core_fail(tx, PL_DENIED, PLC_CHAT_WRITE_FORBIDDEN,
				 a->chat.type == STORE_CHAT_CHANNEL ? "only admins post in a channel"
				 : a->is_member ? "members may not post in this group"
						: "you are not a member of this chat");
	if (a->chat.type != STORE_CHAT_PRIVATE)
		return 0;
	return core_block_check(tx, core_private_peer(&a->chat, tx->uid));
}

/* Runs the safety chain over a message about to be committed, or replays
 * its answer if this write already ran once (struct core_verdicts). */
int core_text_safety(struct core_tx *tx, struct core_access *a, const char *text)
{
	struct safety_msg m = {tx->uid, a->chat.id, a->chat.type, text, strlen(text), tx->mono};
	struct core_verdicts *vs = tx->verdicts;
	struct safety_result r;
	int v;

	if (vs && vs->next < vs->n) {
		v = vs->v[vs->next].verdict;
		r = vs->v[vs->next++].r;
	} else {
		v = safety_chain_run(&tx->core->chain, &m, &r);
		if (vs && vs->n < CORE_VERDICTS_MAX) {
			vs->v[vs->n].verdict = v;
			vs->v[vs->n++].r = r;
			vs->next = vs->n;
		}
	}
	if (v == SAFETY_ALLOW)
		return 0;
	tx->retry_after = r.retry_after;
	return core_fail(tx, PL_DENIED, r.code, "%s", r.reason[0] ? r.reason : "refused by policy");
}

int core_message_append(struct core_tx *tx, struct core_access *a, struct store_message *m)
{
	int rc;

	m->id = a->chat.last_msg_id + 1; /* the store checks this guess */
	if ((rc = store_message_put(tx->s, m)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not store the message");
	a->chat.last_msg_id = m->id;
	a->chat.last_date = m->date;
	if (tx->ev)
		core_fresh_note(tx, &a->chat, m);
	ev(tx, BUS_MESSAGE_NEW, a->chat.id, m->id, tx->uid, 0);
	return 0;
}

int core_message_send(struct core_tx *tx, struct core_access *a, const char *text, int64_t reply_to,
		      struct store_message *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = core_post_check(tx, a)) < 0 || (rc = core_text_check(tx, text)) < 0)
		return rc;
	if (reply_to) {
		struct store_message r;
		if ((rc = core_message_get(tx, a, reply_to, &r)) < 0)
			return rc;
		store_message_release(&r);
	}
	if ((rc = core_text_safety(tx, a, text)) < 0)
		return rc;
	out->chat_id = a->chat.id;
	out->sender_id = tx->uid;
	out->date = tx->now;
	out->reply_to_id = reply_to;
	out->text = strdup(text);
	if (!out->text)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	if ((rc = core_message_append(tx, a, out)) < 0)
		return rc;
	tx->fresh.no_files = 1; /* text only: rendering need not look for files */
	return 0;
}

int core_message_forward(struct core_tx *tx, struct core_access *dst, struct core_access *src, int64_t msg_id,
			 struct store_message *out)
{
	struct store_message orig;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = core_post_check(tx, dst)) < 0 || (rc = core_message_get(tx, src, msg_id, &orig)) < 0)
		return rc;
	if (orig.service) {
		store_message_release(&orig);
		return core_fail(tx, PL_INVAL, PLC_MESSAGE_NOT_FOUND, "service messages cannot be forwarded");
	}
	if ((rc = core_text_safety(tx, dst, orig.text)) < 0) {
		store_message_release(&orig);
		return rc;
	}
	out->chat_id = dst->chat.id;
	out->sender_id = tx->uid;
	out->date = tx->now;
	out->text = orig.text; /* ownership moves to out */
	if (orig.fwd_date) {   /* a forward of a forward keeps the first origin */
		out->fwd_user_id = orig.fwd_user_id;
		out->fwd_chat_id = orig.fwd_chat_id;
		out->fwd_msg_id = orig.fwd_msg_id;
		out->fwd_date = orig.fwd_date;
	} else if (src->chat.type == STORE_CHAT_CHANNEL) {
		out->fwd_chat_id = src->chat.id;
		out->fwd_msg_id = orig.id;
		out->fwd_date = orig.date;
	} else {
		out->fwd_user_id = orig.sender_id;
		out->fwd_date = orig.date;
	}
	if ((rc = core_message_append(tx, dst, out)) < 0)
		return rc;
	/* A photo or file travels with its message (checked again on the way). */
	return core_media_copy(tx, src->chat.id, msg_id, dst->chat.id, out->id);
}

int core_message_edit(struct core_tx *tx, struct core_access *a, int64_t msg_id, const char *text,
		      struct store_message *out)
{
	int rc;

	if ((rc = core_message_get(tx, a, msg_id, out)) < 0)
		return rc;
	if (out->sender_id != tx->uid || out->service || !a->is_member) {
		rc = core_fail(tx, PL_DENIED, PLC_MESSAGE_EDIT_FORBIDDEN, "only the sender can edit a message");
		goto fail;
	}
	if ((rc = core_message_has_media(tx, a->chat.id, msg_id)) != 0) {
		rc = rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "media lookup failed")
			    : core_fail(tx, PL_DENIED, PLC_MESSAGE_EDIT_FORBIDDEN,
					"this message carries a photo or file: its caption cannot be edited as text");
		goto fail;
	}
	if ((rc = core_text_check(tx, text)) < 0)
		goto fail;
	if (strcmp(out->text, text) == 0) {
		rc = core_fail(tx, PL_INVAL, PLC_MESSAGE_NOT_MODIFIED, "the text did not change");
		goto fail;
	}
	if ((rc = store_message_edit(tx->s, a->chat.id, msg_id, text, tx->now)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not save the edit");
		goto fail;
	}
	free(out->text);
	out->text = strdup(text);
	out->edit_date = tx->now;
	if (!out->text)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	ev(tx, BUS_MESSAGE_EDIT, a->chat.id, msg_id, tx->uid, 0);
	return 0;
fail:
	store_message_release(out);
	return rc;
}

static int may_revoke(const struct core_access *a, const struct store_message *m, int64_t uid)
{
	if (a->chat.type == STORE_CHAT_PRIVATE)
		return a->is_member;
	return a->is_admin || (a->is_member && m->sender_id == uid && !m->service);
}

int core_messages_delete(struct core_tx *tx, struct core_access *a, const int64_t *ids, size_t n, int revoke)
{
	int64_t senders[PL_BATCH_MAX];
	int rc = 0;

	if (!a->can_read)
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "you are not a member of this chat");
	if (n > PL_BATCH_MAX)
		return core_fail(tx, PL_TOOBIG, PLC_PARAM_INVALID, "at most %d messages at once", PL_BATCH_MAX);
	for (size_t i = 0; i < n; i++) { /* check all first: all or none */
		struct store_message m;
		if ((rc = core_message_get(tx, a, ids[i], &m)) < 0)
			return rc;
		int ok = !revoke || may_revoke(a, &m, tx->uid);
		senders[i] = m.sender_id;
		store_message_release(&m);
		if (!ok)
			return core_fail(tx, PL_DENIED, PLC_MESSAGE_DELETE_FORBIDDEN,
					 "message %lld is not yours to delete for everyone", (long long)ids[i]);
	}
	for (size_t i = 0; i < n; i++) {
		rc = revoke ? store_message_delete(tx->s, a->chat.id, ids[i])
			    : store_message_hide(tx->s, tx->uid, a->chat.id, ids[i]);
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not delete message %lld", (long long)ids[i]);
		ev(tx, BUS_MESSAGE_DELETE, a->chat.id, ids[i], revoke ? 0 : tx->uid, 0);
		/* A chat admin acting on someone else's message: moderators see it in getCase. */
		if (revoke && a->chat.type != STORE_CHAT_PRIVATE && senders[i] != tx->uid &&
		    (rc = core_mod_admin_action(tx, a->chat.id, STORE_ADMIN_DELETE, ids[i], senders[i])) < 0)
			return rc;
		if (revoke && a->chat.pinned_msg_id == ids[i]) {
			a->chat.pinned_msg_id = 0;
			if ((rc = store_chat_update(tx->s, &a->chat)) < 0)
				return core_fail(tx, rc, PLC_INTERNAL, "could not unpin");
			ev(tx, BUS_CHAT, a->chat.id, 0, tx->uid, 0);
		}
	}
	return 0;
}

int core_message_pin(struct core_tx *tx, struct core_access *a, int64_t msg_id, int pin)
{
	char p[32];
	int rc;

	if (!a->can_pin)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "you may not pin messages in this chat");
	if (pin) {
		struct store_message m;
		if ((rc = core_message_get(tx, a, msg_id, &m)) < 0)
			return rc;
		store_message_release(&m);
		a->chat.pinned_msg_id = msg_id;
	} else {
		if (msg_id && a->chat.pinned_msg_id != msg_id)
			return 0;
		a->chat.pinned_msg_id = 0;
	}
	if ((rc = store_chat_update(tx->s, &a->chat)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the pin");
	ev(tx, BUS_CHAT, a->chat.id, 0, tx->uid, 0);
	if (!pin)
		return 0;
	snprintf(p, sizeof p, "%lld", (long long)msg_id);
	return core_service_post(tx, &a->chat, CORE_SVC_PINNED, p);
}

int core_read_history(struct core_tx *tx, struct core_access *a, int64_t max_id, int64_t *read_max,
		      int64_t *unread)
{
	int rc;

	if (!a->is_member)
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "you are not a member of this chat");
	if (!max_id || max_id > a->chat.last_msg_id)
		max_id = a->chat.last_msg_id;
	*read_max = a->me.read_max_id;
	if (max_id > a->me.read_max_id) {
		if ((rc = store_member_set_read(tx->s, a->chat.id, tx->uid, max_id)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not save the read position");
		*read_max = a->me.read_max_id = max_id;
		ev(tx, BUS_READ, a->chat.id, 0, tx->uid, max_id);
	}
	if ((rc = store_message_unread(tx->s, a->chat.id, tx->uid, *read_max, unread)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not count unread messages");
	return 0;
}

int core_messages_view(struct core_tx *tx, struct core_access *a, const int64_t *ids, size_t n, int64_t *views)
{
	int rc;

	if (a->chat.type != STORE_CHAT_CHANNEL)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "view counts exist in channels only");
	if (!a->can_read)
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "you are not a subscriber of this channel");
	for (size_t i = 0; i < n; i++) {
		rc = store_message_view(tx->s, a->chat.id, ids[i], tx->uid, &views[i]);
		if (rc == PL_NOTFOUND) {
			views[i] = 0;
			continue;
		}
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not count the view");
		ev(tx, BUS_VIEWS, a->chat.id, ids[i], 0, views[i]);
	}
	return 0;
}
