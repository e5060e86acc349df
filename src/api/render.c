/* render.c — JSON shapes of the Telegram Bot API, from store rows. */
#include <stdlib.h>
#include <string.h>

#include "api/render.h"

static const char *const chat_types[] = {"", "private", "group", "channel"};
static const char *const statuses[] = {"left", "kicked", "member", "administrator", "creator"};

json_t *render_user(const struct store_user *u, int with_bio)
{
	json_t *j = json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)u->id, "is_bot", u->is_bot, "first_name",
			      u->display_name, "username", u->username);

	if (j && with_bio)
		json_object_set_new(j, "bio", json_string(u->bio));
	return j;
}

json_t *render_user_id(struct core_tx *tx, int64_t id)
{
	struct core_user_brief u;

	if (core_user_brief(tx, id, &u) < 0)
		return json_pack("{s:I, s:b, s:s}", "id", (json_int_t)id, "is_bot", 0, "first_name", "Deleted Account");
	return json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)u.id, "is_bot", u.is_bot, "first_name",
			 u.display_name, "username", u.username);
}

static json_t *restriction_reason(const struct store_restriction *r, const char *text)
{
	return json_pack("[{s:s, s:s, s:s, s:I, s:s}]", "platform", "all", "reason", "territorial", "text", text,
			 "statement_id", (json_int_t)r->statement_id, "territories", r->territories);
}

/* A banned chat says so; a chat withheld where the viewer is carries the reason. */
static void chat_moderation(struct core_tx *tx, const struct store_chat *c, json_t *j)
{
	struct store_restriction r = {0};
	char text[256];

	if (c->ban_statement) {
		json_object_set_new(j, "banned", json_true());
		json_object_set_new(j, "ban_statement_id", json_integer(c->ban_statement));
	}
	if (tx->viewer && core_mod_withheld(tx, c->id, 0, &r) == 1) {
		snprintf(text, sizeof text,
			 "This chat is not available in your country (%s) by a decision of the platform's moderators "
			 "(statement of reasons %lld).", core_viewer_country(tx), (long long)r.statement_id);
		json_object_set_new(j, "restriction_reason", restriction_reason(&r, text));
	}
}

void render_withheld(struct core_tx *tx, json_t *msg, const struct store_restriction *r, const char *country)
{
	char text[320];

	if (!json_is_object(msg))
		return;
	if (country && *country)
		snprintf(text, sizeof text,
			 "This message is not available in your country (%s): it is restricted there by a decision of "
			 "the platform's moderators (statement of reasons %lld).", country, (long long)r->statement_id);
	else
		snprintf(text, sizeof text,
			 "This message is not available in your country: it is restricted there by a decision of the "
			 "platform's moderators (statement of reasons %lld).", (long long)r->statement_id);
	render_media_drop(msg);
	json_object_set_new(msg, "text", json_string(text));
	json_object_set_new(msg, "restriction_reason", restriction_reason(r, text));
	json_object_del(msg, "reply_to_message");
}

void render_withhold_update(struct core_tx *tx, json_t *update, int64_t client_chat)
{
	const char *type = json_string_value(json_object_get(update, "type"));
	json_t *msg = json_object_get(update, "message");
	struct store_restriction r = {0};
	struct store_chat c;
	int64_t cid, chat = 0, me = tx->uid;

	if (!type || (strcmp(type, "new_message") && strcmp(type, "edit_message")) || !json_is_object(msg))
		return;
	cid = client_chat ? client_chat : json_integer_value(json_object_get(json_object_get(msg, "chat"), "id"));
	if (cid < 0)
		chat = -cid;
	else if (cid > 0 && store_chat_find_private(tx->s, me < cid ? me : cid, me < cid ? cid : me, &c) == 0)
		chat = c.id;
	if (!chat)
		return;
	if (core_mod_withheld(tx, chat, json_integer_value(json_object_get(msg, "message_id")), &r) == 1 &&
	    render_has_content(msg))
		render_withheld(tx, msg, &r, core_viewer_country(tx));
	if (core_mod_withheld(tx, chat, 0, &r) == 1) {
		char text[256];
		snprintf(text, sizeof text,
			 "This chat is not available in your country (%s) by a decision of the platform's moderators "
			 "(statement of reasons %lld).", core_viewer_country(tx), (long long)r.statement_id);
		json_object_set_new(json_object_get(msg, "chat"), "restriction_reason", restriction_reason(&r, text));
	}
}

json_t *render_chat(struct core_tx *tx, const struct store_chat *c)
{
	json_t *j = json_pack("{s:I, s:s}", "id", (json_int_t)core_chat_peer_id(c, tx->uid), "type",
			      chat_types[c->type >= 1 && c->type <= 3 ? c->type : 0]);
	struct core_user_brief u;

	if (!j)
		return NULL;
	if (c->type == STORE_CHAT_PRIVATE) {
		if (core_user_brief(tx, core_private_peer(c, tx->uid), &u) == 0) {
			json_object_set_new(j, "first_name", json_string(u.display_name));
			json_object_set_new(j, "username", json_string(u.username));
		}
		return j;
	}
	json_object_set_new(j, "title", json_string(c->title));
	if (c->username[0])
		json_object_set_new(j, "username", json_string(c->username));
	chat_moderation(tx, c, j);
	return j;
}

json_t *render_permissions(int perms)
{
	return json_pack("{s:b, s:b, s:b, s:b}", "can_send_messages", !!(perms & STORE_PERM_SEND),
			 "can_invite_users", !!(perms & STORE_PERM_INVITE), "can_pin_messages",
			 !!(perms & STORE_PERM_PIN), "can_change_info", !!(perms & STORE_PERM_CHANGE_INFO));
}

json_t *render_chat_full(struct core_tx *tx, const struct core_access *a)
{
	const struct store_chat *c = &a->chat;
	json_t *j = render_chat(tx, c);
	struct store_message m;

	if (!j)
		return NULL;
	if (c->type != STORE_CHAT_PRIVATE) {
		json_object_set_new(j, "description", json_string(c->description));
		json_object_set_new(j, "member_count", json_integer(c->member_count));
		if (c->type == STORE_CHAT_GROUP)
			json_object_set_new(j, "permissions", render_permissions(c->perms));
	}
	json_object_set_new(j, "my_status", json_string(statuses[a->me.role >= 0 && a->me.role <= 4 ? a->me.role : 0]));
	if (c->pinned_msg_id && store_message_get(tx->s, c->id, c->pinned_msg_id, &m) == 0) {
		if (!m.deleted && !core_message_hidden(tx, c->id, m.id))
			json_object_set_new(j, "pinned_message", render_message(tx, c, &m, 1));
		store_message_release(&m);
	}
	return j;
}

static json_t *render_origin(struct core_tx *tx, const struct store_message *m)
{
	struct store_chat c;

	if (m->fwd_chat_id && store_chat_get(tx->s, m->fwd_chat_id, &c) == 0)
		return json_pack("{s:s, s:I, s:o, s:I}", "type", "channel", "date", (json_int_t)m->fwd_date, "chat",
				 render_chat(tx, &c), "message_id", (json_int_t)m->fwd_msg_id);
	return json_pack("{s:s, s:I, s:o}", "type", "user", "date", (json_int_t)m->fwd_date, "sender_user",
			 render_user_id(tx, m->fwd_user_id));
}

/* Users named by a comma-separated id list. */
static json_t *render_user_list(struct core_tx *tx, const char *ids)
{
	json_t *a = json_array();
	const char *p = ids;

	while (a && p && *p) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p)
			break;
		json_array_append_new(a, render_user_id(tx, id));
		p = *end == ',' ? end + 1 : NULL;
	}
	return a;
}

static void render_service(struct core_tx *tx, const struct store_chat *c, const struct store_message *m,
			   json_t *j, int depth)
{
	const char *p = m->text ? m->text : "";
	struct store_message pinned;

	switch (m->service) {
	case CORE_SVC_CREATED:
		json_object_set_new(j, c->type == STORE_CHAT_CHANNEL ? "channel_chat_created" : "group_chat_created",
				    json_true());
		break;
	case CORE_SVC_MEMBERS_ADDED:
		json_object_set_new(j, "new_chat_members", render_user_list(tx, p));
		break;
	case CORE_SVC_JOINED:
		json_object_set_new(j, "new_chat_members", render_user_list(tx, p));
		json_object_set_new(j, "joined_by_self", json_true());
		break;
	case CORE_SVC_MEMBER_LEFT:
	case CORE_SVC_MEMBER_REMOVED:
		json_object_set_new(j, "left_chat_member", render_user_id(tx, strtoll(p, NULL, 10)));
		break;
	case CORE_SVC_TITLE:
		json_object_set_new(j, "new_chat_title", json_string(p));
		break;
	case CORE_SVC_PINNED:
		if (depth < 1 && store_message_get(tx->s, c->id, strtoll(p, NULL, 10), &pinned) == 0) {
			if (!pinned.deleted && !core_message_hidden(tx, c->id, pinned.id))
				json_object_set_new(j, "pinned_message", render_message(tx, c, &pinned, depth + 1));
			store_message_release(&pinned);
		}
		break;
	}
}

json_t *render_message(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth)
{
	json_t *j = json_pack("{s:I, s:I, s:o}", "message_id", (json_int_t)m->id, "date", (json_int_t)m->date, "chat",
			      render_chat(tx, c));
	struct store_message r;

	if (!j)
		return NULL;
	if (c->type == STORE_CHAT_CHANNEL)
		json_object_set_new(j, "sender_chat", render_chat(tx, c));
	else
		json_object_set_new(j, "from", render_user_id(tx, m->sender_id));
	if (m->service) {
		render_service(tx, c, m, j, depth);
		return j;
	}
	if (render_media(tx, m, j) == 0)
		json_object_set_new(j, "text", json_string(m->text ? m->text : ""));
	if (m->statement_id)
		json_object_set_new(j, "statement_id", json_integer(m->statement_id));
	if (m->deleted == STORE_REMOVED) /* only moderators' tools render these */
		json_object_set_new(j, "moderation", json_string("removed"));
	if (m->edit_date)
		json_object_set_new(j, "edit_date", json_integer(m->edit_date));
	if (m->fwd_date)
		json_object_set_new(j, "forward_origin", render_origin(tx, m));
	if (c->type == STORE_CHAT_CHANNEL)
		json_object_set_new(j, "views", json_integer(m->views));
	if (m->reply_to_id && depth < 1 && store_message_get(tx->s, c->id, m->reply_to_id, &r) == 0) {
		if (!r.deleted && !core_message_hidden(tx, c->id, r.id))
			json_object_set_new(j, "reply_to_message", render_message(tx, c, &r, depth + 1));
		store_message_release(&r);
	}
	if (tx->viewer) {
		struct store_restriction rs = {0};
		if (core_mod_withheld(tx, c->id, m->id, &rs) == 1)
			render_withheld(tx, j, &rs, core_viewer_country(tx));
	}
	return j;
}

json_t *render_member(struct core_tx *tx, const struct store_member *m)
{
	return json_pack("{s:o, s:s, s:I}", "user", render_user_id(tx, m->user_id), "status",
			 statuses[m->role >= 0 && m->role <= 4 ? m->role : 0], "joined_date", (json_int_t)m->joined_at);
}

json_t *render_link(struct core_tx *tx, const struct store_link *l)
{
	char url[800];
	json_t *j;

	core_link_url(tx->core, l, url, sizeof url);
	j = json_pack("{s:s, s:o, s:b, s:b, s:b, s:I}", "invite_link", url, "creator",
		      render_user_id(tx, l->creator_id), "creates_join_request", 0, "is_primary", l->is_primary,
		      "is_revoked", l->revoked, "usage", (json_int_t)l->usage);
	if (!j)
		return NULL;
	if (l->name[0])
		json_object_set_new(j, "name", json_string(l->name));
	if (l->expire_date)
		json_object_set_new(j, "expire_date", json_integer(l->expire_date));
	if (l->member_limit)
		json_object_set_new(j, "member_limit", json_integer(l->member_limit));
	return j;
}

json_t *render_session(const struct store_session *s, int64_t current)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:b}", "id", (json_int_t)s->id, "device", s->device, "ip", s->ip,
			 "created_at", (json_int_t)s->created_at, "last_seen", (json_int_t)s->last_seen, "current",
			 s->id == current);
}

struct last_ctx {
	struct core_tx *tx;
	const struct store_chat *c;
	json_t *out;
};

static int take_last(void *ctx, const struct store_message *m)
{
	struct last_ctx *l = ctx;

	l->out = render_message(l->tx, l->c, m, 0);
	return 1;
}

json_t *render_last_message(struct core_tx *tx, const struct store_chat *c)
{
	struct last_ctx l = {tx, c, NULL};

	(void)store_message_history(tx->s, c->id, tx->uid, 0, STORE_OLDER, 1, take_last, &l);
	return l.out;
}
