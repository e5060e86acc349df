/* chats.c — chats, membership, roles, permissions and invite links.
 *
 * core_access() is the one place that decides what a user may do in a chat;
 * every operation below asks it, and nothing else decides. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/core.h"
#include "core/core_int.h"

#define DEFAULT_GROUP_PERMS (STORE_PERM_SEND | STORE_PERM_INVITE)

static void ev(struct core_tx *tx, int type, int64_t chat, int64_t msg, int64_t user, int64_t value)
{
	if (tx->ev)
		(void)bus_events_add(tx->ev, type, chat, msg, user, value);
}

int64_t core_private_peer(const struct store_chat *c, int64_t viewer)
{
	return c->user_lo == viewer ? c->user_hi : c->user_lo;
}

int64_t core_chat_peer_id(const struct store_chat *c, int64_t viewer)
{
	return c->type == STORE_CHAT_PRIVATE ? core_private_peer(c, viewer) : -c->id;
}

static int has_perm(const struct core_access *a, int perm)
{
	return a->is_admin || (a->is_member && (a->chat.perms & perm));
}

int core_access(struct core_tx *tx, const struct store_chat *c, struct core_access *a)
{
	int rc;

	memset(a, 0, sizeof *a);
	a->chat = *c;
	if (c->ban_statement) /* banned by the platform: for everyone, members and admins too */
		return core_fail(tx, PL_DENIED, PLC_CHAT_BANNED,
				 "this chat was banned by the platform's moderators (statement of reasons %lld)",
				 (long long)c->ban_statement);
	rc = store_member_get(tx->s, c->id, tx->uid, &a->me);
	if (rc == PL_NOTFOUND) {
		a->me.chat_id = c->id;
		a->me.user_id = tx->uid;
		a->me.role = STORE_ROLE_LEFT;
	} else if (rc < 0) {
		return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
	}
	a->is_member = a->me.role >= STORE_ROLE_MEMBER;
	a->is_admin = a->me.role >= STORE_ROLE_ADMIN;
	a->can_read = a->is_member ||
		      (c->type != STORE_CHAT_PRIVATE && c->username[0] && a->me.role != STORE_ROLE_KICKED);
	switch (c->type) {
	case STORE_CHAT_PRIVATE:
		a->can_post = a->can_pin = a->is_member;
		break;
	case STORE_CHAT_GROUP:
		a->can_post = has_perm(a, STORE_PERM_SEND);
		a->can_invite = has_perm(a, STORE_PERM_INVITE);
		a->can_pin = has_perm(a, STORE_PERM_PIN);
		a->can_change_info = has_perm(a, STORE_PERM_CHANGE_INFO);
		break;
	default: /* channels: admins do everything, subscribers read */
		a->can_post = a->can_invite = a->can_pin = a->can_change_info = a->is_admin;
		break;
	}
	return 0;
}

/* Finds or (if create) makes the private chat between tx->uid and peer. */
static int private_chat(struct core_tx *tx, int64_t peer, int create, struct store_chat *c)
{
	struct store_user u;
	int64_t lo = tx->uid < peer ? tx->uid : peer, hi = tx->uid < peer ? peer : tx->uid;
	int rc = store_user_get(tx->s, peer, &u);

	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_CHAT_NOT_FOUND, "no user %lld", (long long)peer);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
	core_user_note(tx, &u); /* the chat renders with the peer's name */
	rc = store_chat_find_private(tx->s, lo, hi, c);
	if (rc == 0 || rc != PL_NOTFOUND)
		return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed") : 0;
	if (!create)
		return core_fail(tx, PL_NOTFOUND, PLC_CHAT_NOT_FOUND, "no conversation with user %lld yet",
				 (long long)peer);
	/* Only posting creates a chat, and a block refuses the post: refused
	 * before the chat is made, the call fails having changed nothing, so
	 * the writer need not roll its group back and run it again. */
	if ((rc = core_block_check(tx, peer)) < 0)
		return rc;
	memset(c, 0, sizeof *c);
	c->type = STORE_CHAT_PRIVATE;
	c->creator_id = tx->uid;
	c->created_at = c->last_date = tx->now;
	c->user_lo = lo;
	c->user_hi = hi;
	if ((rc = store_chat_create(tx->s, c)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not create the chat");
	for (int i = 0; i < (lo == hi ? 1 : 2); i++) {
		struct store_member m = {c->id, i ? hi : lo, STORE_ROLE_MEMBER, tx->now, 0, 0};
		if ((rc = store_member_put(tx->s, &m)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not add a member");
	}
	return store_chat_get(tx->s, c->id, c);
}

static int find_by_name(struct core_tx *tx, const char *name, int create, struct store_chat *c)
{
	char n[STORE_USERNAME_SZ];
	struct store_user u;
	int rc;

	if (core_username_normalize(name, n) < 0)
		return core_fail(tx, PL_NOTFOUND, PLC_CHAT_NOT_FOUND, "no chat @%s", name);
	rc = store_chat_find(tx->s, n, c);
	if (rc != PL_NOTFOUND)
		return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed") : 0;
	rc = store_user_find(tx->s, n, &u);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_CHAT_NOT_FOUND, "no chat @%s", n);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
	return private_chat(tx, u.id, create, c);
}

int core_chat_resolve(struct core_tx *tx, int64_t client_id, const char *name, int create, int need,
		      struct core_access *a)
{
	struct store_chat c;
	int rc;

	if (name)
		rc = find_by_name(tx, name, create, &c);
	else if (client_id > 0)
		rc = private_chat(tx, client_id, create, &c);
	else if (client_id < 0 && client_id != INT64_MIN) {
		rc = store_chat_get(tx->s, -client_id, &c);
		if (rc == 0 && c.type == STORE_CHAT_PRIVATE)
			rc = PL_NOTFOUND;
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_CHAT_NOT_FOUND, "no chat %lld", (long long)client_id);
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed");
	} else {
		return core_fail(tx, PL_NOTFOUND, PLC_CHAT_NOT_FOUND, "chat id 0 names no chat");
	}
	if (rc < 0)
		return rc;
	if ((rc = core_access(tx, &c, a)) < 0)
		return rc;
	if (a->me.role == STORE_ROLE_KICKED && need != CORE_NEED_NONE)
		return core_fail(tx, PL_DENIED, PLC_USER_BANNED_IN_CHAT, "you were removed from this chat");
	if ((need == CORE_NEED_READ && !a->can_read) || (need == CORE_NEED_MEMBER && !a->is_member))
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "you are not a member of this chat");
	return 0;
}

int core_service_post(struct core_tx *tx, struct store_chat *c, int kind, const char *payload)
{
	struct store_message m;
	int rc;

	memset(&m, 0, sizeof m);
	m.chat_id = c->id;
	m.sender_id = tx->uid;
	m.date = tx->now;
	m.service = kind;
	m.text = (char *)(payload ? payload : ""); /* borrowed: message_put copies */
	if ((rc = store_message_put(tx->s, &m)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not store a service message");
	c->last_msg_id = m.id;
	c->last_date = m.date;
	ev(tx, BUS_MESSAGE_NEW, c->id, m.id, tx->uid, 0);
	return 0;
}

static int service_user(struct core_tx *tx, struct store_chat *c, int kind, int64_t uid)
{
	char p[32];

	if (c->type != STORE_CHAT_GROUP)
		return 0; /* channels do not announce joins and leaves */
	snprintf(p, sizeof p, "%lld", (long long)uid);
	return core_service_post(tx, c, kind, p);
}

static int put_member(struct core_tx *tx, int64_t chat, int64_t uid, int role, int64_t invited_by)
{
	struct store_member m;
	int rc = store_member_get(tx->s, chat, uid, &m);

	if (rc == PL_NOTFOUND) {
		memset(&m, 0, sizeof m);
		m.chat_id = chat;
		m.user_id = uid;
	} else if (rc < 0) {
		return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
	}
	if (role >= STORE_ROLE_MEMBER && m.role < STORE_ROLE_MEMBER) {
		m.joined_at = tx->now;
		m.invited_by = invited_by;
	}
	m.role = role;
	if ((rc = store_member_put(tx->s, &m)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the membership");
	ev(tx, BUS_MEMBER, chat, 0, uid, role);
	return 0;
}

/* May tx->uid add uid to a chat?  Refused if uid blocked the caller. */
static int check_addable(struct core_tx *tx, int64_t uid)
{
	struct store_user u;
	int rc;

	if ((rc = core_user_get(tx, uid, &u)) < 0)
		return rc;
	rc = store_block_get(tx->s, uid, tx->uid);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "block lookup failed");
	if (rc == 1)
		return core_fail(tx, PL_DENIED, PLC_USER_BLOCKED, "user %lld does not accept invitations from you",
				 (long long)uid);
	return 0;
}

static int new_chat(struct core_tx *tx, int type, const char *title, const char *username, const char *desc,
		    struct store_chat *c)
{
	int rc;

	memset(c, 0, sizeof *c);
	if (!title || !*title || strspn(title, " \t\r\n") == strlen(title))
		return core_fail(tx, PL_INVAL, PLC_CHAT_TITLE_EMPTY, "a chat needs a title");
	c->type = type;
	snprintf(c->title, sizeof c->title, "%s", title);
	snprintf(c->description, sizeof c->description, "%s", desc ? desc : "");
	if (username && *username) {
		if (core_username_normalize(username, c->username) < 0)
			return core_fail(tx, PL_INVAL, PLC_USERNAME_INVALID, "\"%s\" is not a valid username",
					 username);
		if ((rc = core_username_available(tx, c->username)) < 0)
			return rc;
	}
	c->creator_id = tx->uid;
	c->created_at = c->last_date = tx->now;
	c->perms = type == STORE_CHAT_GROUP ? DEFAULT_GROUP_PERMS : 0;
	rc = store_chat_create(tx->s, c);
	if (rc == PL_EXISTS)
		return core_fail(tx, rc, PLC_USERNAME_OCCUPIED, "@%s is taken", c->username);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not create the chat");
	if ((rc = put_member(tx, c->id, tx->uid, STORE_ROLE_CREATOR, 0)) < 0)
		return rc;
	if ((rc = core_service_post(tx, c, CORE_SVC_CREATED, c->title)) < 0)
		return rc;
	return 0;
}

int core_group_create(struct core_tx *tx, const char *title, const int64_t *uids, size_t n, const char *desc,
		      struct store_chat *out)
{
	struct core_access a;
	int rc;

	if ((rc = new_chat(tx, STORE_CHAT_GROUP, title, NULL, desc, out)) < 0)
		return rc;
	if (n) {
		if ((rc = core_access(tx, out, &a)) < 0 || (rc = core_members_add(tx, &a, uids, n)) < 0)
			return rc;
	}
	return store_chat_get(tx->s, out->id, out);
}

int core_channel_create(struct core_tx *tx, const char *title, const char *username, const char *desc,
			struct store_chat *out)
{
	int rc;

	if ((rc = new_chat(tx, STORE_CHAT_CHANNEL, title, username, desc, out)) < 0)
		return rc;
	return store_chat_get(tx->s, out->id, out);
}

static int member_room(struct core_tx *tx, const struct store_chat *c, size_t adding)
{
	if (c->type == STORE_CHAT_GROUP && c->member_count + (int64_t)adding > PL_GROUP_MEMBERS_MAX)
		return core_fail(tx, PL_TOOBIG, PLC_TOO_MANY_MEMBERS, "groups hold at most %d members",
				 PL_GROUP_MEMBERS_MAX);
	return 0;
}

int core_members_add(struct core_tx *tx, struct core_access *a, const int64_t *uids, size_t n)
{
	char list[PL_INITIAL_MEMBERS_MAX * 21 + 1];
	size_t len = 0, added = 0;
	int rc;

	list[0] = 0;
	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats have exactly two members");
	if (!a->can_invite)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "you may not add members to this chat");
	if ((rc = member_room(tx, &a->chat, n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct store_member m;
		if (uids[i] == tx->uid)
			continue;
		if ((rc = check_addable(tx, uids[i])) < 0)
			return rc;
		rc = store_member_get(tx->s, a->chat.id, uids[i], &m);
		if (rc < 0 && rc != PL_NOTFOUND)
			return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
		if (rc == 0 && m.role >= STORE_ROLE_MEMBER)
			continue;
		if (rc == 0 && m.role == STORE_ROLE_KICKED && !a->is_admin)
			return core_fail(tx, PL_DENIED, PLC_USER_BANNED_IN_CHAT,
					 "user %lld was removed; only an admin can add them back", (long long)uids[i]);
		if ((rc = put_member(tx, a->chat.id, uids[i], STORE_ROLE_MEMBER, tx->uid)) < 0)
			return rc;
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%lld", added ? "," : "",
					(long long)uids[i]);
		added++;
	}
	if (added && a->chat.type == STORE_CHAT_GROUP)
		return core_service_post(tx, &a->chat, CORE_SVC_MEMBERS_ADDED, list);
	return 0;
}

static int target_member(struct core_tx *tx, struct core_access *a, int64_t uid, struct store_member *m)
{
	int rc = store_member_get(tx->s, a->chat.id, uid, m);

	if (rc == PL_NOTFOUND || (rc == 0 && m->role < STORE_ROLE_MEMBER))
		return core_fail(tx, PL_NOTFOUND, PLC_USER_NOT_PARTICIPANT, "user %lld is not a member",
				 (long long)uid);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
	return 0;
}

int core_member_ban(struct core_tx *tx, struct core_access *a, int64_t uid)
{
	struct store_member m;
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "use blockUser for private chats");
	if (!a->is_admin)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "only admins remove members");
	if (uid == tx->uid)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "use leaveChat to leave");
	rc = store_member_get(tx->s, a->chat.id, uid, &m);
	if (rc == PL_NOTFOUND) { /* ban a non-member: keeps them out */
		if ((rc = core_user_get(tx, uid, &(struct store_user){0})) < 0)
			return rc;
		return put_member(tx, a->chat.id, uid, STORE_ROLE_KICKED, tx->uid);
	}
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
	if (m.role == STORE_ROLE_CREATOR)
		return core_fail(tx, PL_DENIED, PLC_CHAT_CREATOR_REQUIRED, "the creator cannot be removed");
	if (m.role == STORE_ROLE_ADMIN && a->me.role != STORE_ROLE_CREATOR)
		return core_fail(tx, PL_DENIED, PLC_CHAT_CREATOR_REQUIRED, "only the creator removes admins");
	if (m.role == STORE_ROLE_KICKED)
		return 0;
	int was_member = m.role >= STORE_ROLE_MEMBER;
	if ((rc = put_member(tx, a->chat.id, uid, STORE_ROLE_KICKED, tx->uid)) < 0 ||
	    (rc = core_mod_admin_action(tx, a->chat.id, STORE_ADMIN_BAN, 0, uid)) < 0)
		return rc;
	return was_member ? service_user(tx, &a->chat, CORE_SVC_MEMBER_REMOVED, uid) : 0;
}

int core_member_unban(struct core_tx *tx, struct core_access *a, int64_t uid)
{
	struct store_member m;
	int rc;

	if (!a->is_admin)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "only admins unban");
	rc = store_member_get(tx->s, a->chat.id, uid, &m);
	if (rc == PL_NOTFOUND || (rc == 0 && m.role != STORE_ROLE_KICKED))
		return 0;
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed");
	return put_member(tx, a->chat.id, uid, STORE_ROLE_LEFT, 0);
}

int core_member_promote(struct core_tx *tx, struct core_access *a, int64_t uid, int admin)
{
	struct store_member m;
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats have no admins");
	if (a->me.role != STORE_ROLE_CREATOR)
		return core_fail(tx, PL_DENIED, PLC_CHAT_CREATOR_REQUIRED, "only the creator appoints admins");
	if ((rc = target_member(tx, a, uid, &m)) < 0)
		return rc;
	if (m.role == STORE_ROLE_CREATOR)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "the creator's role cannot change");
	return put_member(tx, a->chat.id, uid, admin ? STORE_ROLE_ADMIN : STORE_ROLE_MEMBER, m.invited_by);
}

int core_member_get(struct core_tx *tx, struct core_access *a, int64_t uid, struct store_member *out)
{
	struct store_user u;
	int rc;

	if ((rc = core_user_get(tx, uid, &u)) < 0)
		return rc;
	rc = store_member_get(tx->s, a->chat.id, uid, out);
	if (rc == PL_NOTFOUND) {
		memset(out, 0, sizeof *out);
		out->chat_id = a->chat.id;
		out->user_id = uid;
		out->role = STORE_ROLE_LEFT;
		return 0;
	}
	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "membership lookup failed") : 0;
}

static int edit_username(struct core_tx *tx, struct core_access *a, const char *username)
{
	char n[STORE_USERNAME_SZ] = "";
	int rc;

	if (a->me.role != STORE_ROLE_CREATOR)
		return core_fail(tx, PL_DENIED, PLC_CHAT_CREATOR_REQUIRED, "only the creator sets the username");
	if (*username && core_username_normalize(username, n) < 0)
		return core_fail(tx, PL_INVAL, PLC_USERNAME_INVALID, "\"%s\" is not a valid username", username);
	if (*n && strcmp(n, a->chat.username) != 0 && (rc = core_username_available(tx, n)) < 0)
		return rc;
	snprintf(a->chat.username, sizeof a->chat.username, "%s", n);
	return 0;
}

int core_chat_edit(struct core_tx *tx, struct core_access *a, const struct core_chat_edit *e)
{
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats have no title or settings");
	if ((e->title || e->description) && !a->can_change_info)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "you may not change this chat's info");
	if ((e->perms_set || e->perms_clear) && !a->is_admin)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "only admins set permissions");
	if ((e->perms_set || e->perms_clear) && a->chat.type != STORE_CHAT_GROUP)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "only groups have member permissions");
	if (e->username && (rc = edit_username(tx, a, e->username)) < 0)
		return rc;
	if (e->title) {
		if (!*e->title || strspn(e->title, " \t\r\n") == strlen(e->title))
			return core_fail(tx, PL_INVAL, PLC_CHAT_TITLE_EMPTY, "a chat needs a title");
		snprintf(a->chat.title, sizeof a->chat.title, "%s", e->title);
	}
	if (e->description)
		snprintf(a->chat.description, sizeof a->chat.description, "%s", e->description);
	a->chat.perms = (a->chat.perms | e->perms_set) & ~e->perms_clear;
	rc = store_chat_update(tx->s, &a->chat);
	if (rc == PL_EXISTS)
		return core_fail(tx, rc, PLC_USERNAME_OCCUPIED, "@%s is taken", a->chat.username);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the chat");
	ev(tx, BUS_CHAT, a->chat.id, 0, tx->uid, 0);
	if (e->title)
		return core_service_post(tx, &a->chat, CORE_SVC_TITLE, a->chat.title);
	return 0;
}

int core_chat_leave(struct core_tx *tx, struct core_access *a)
{
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats cannot be left; delete them");
	if (!a->is_member)
		return core_fail(tx, PL_NOTFOUND, PLC_USER_NOT_PARTICIPANT, "you are not a member of this chat");
	if ((rc = put_member(tx, a->chat.id, tx->uid, STORE_ROLE_LEFT, 0)) < 0)
		return rc;
	return service_user(tx, &a->chat, CORE_SVC_MEMBER_LEFT, tx->uid);
}

static int join(struct core_tx *tx, struct core_access *a)
{
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats cannot be joined");
	if (a->is_member)
		return core_fail(tx, PL_EXISTS, PLC_USER_ALREADY_PARTICIPANT, "you are already a member");
	if (a->me.role == STORE_ROLE_KICKED)
		return core_fail(tx, PL_DENIED, PLC_USER_BANNED_IN_CHAT, "you were removed from this chat");
	if ((rc = member_room(tx, &a->chat, 1)) < 0)
		return rc;
	rc = put_member(tx, a->chat.id, tx->uid,
			a->chat.creator_id == tx->uid ? STORE_ROLE_CREATOR : STORE_ROLE_MEMBER, 0);
	if (rc < 0)
		return rc;
	return service_user(tx, &a->chat, CORE_SVC_JOINED, tx->uid);
}

int core_chat_join_public(struct core_tx *tx, struct core_access *a)
{
	if (!a->chat.username[0] && !a->is_member)
		return core_fail(tx, PL_DENIED, PLC_CHAT_FORBIDDEN, "this chat is private: join by invite link");
	return join(tx, a);
}

int core_link_code(const char *link, char *code)
{
	const char *p = strrchr(link, '/');
	size_t n;

	p = p ? p + 1 : link;
	if (*p == '+')
		p++;
	n = strlen(p);
	if (n < 1 || n >= STORE_LINK_CODE_SZ || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return PL_INVAL;
	memcpy(code, p, n + 1);
	return 0;
}

void core_link_url(const struct core *c, const struct store_link *l, char *out, size_t len)
{
	snprintf(out, len, "%s/+%s", c->public_url, l->code);
}

static int link_usable(struct core_tx *tx, const struct store_link *l)
{
	if (l->revoked || (l->expire_date && l->expire_date <= tx->now))
		return core_fail(tx, PL_DENIED, PLC_INVITE_HASH_EXPIRED, "this invite link has expired or was revoked");
	if (l->member_limit && l->usage >= l->member_limit)
		return core_fail(tx, PL_DENIED, PLC_INVITE_USAGE_LIMIT, "this invite link was used %lld times already",
				 (long long)l->usage);
	return 0;
}

int core_chat_join_link(struct core_tx *tx, const char *link, struct store_chat *out)
{
	char code[STORE_LINK_CODE_SZ];
	struct store_link l;
	struct core_access a;
	int rc;

	if (core_link_code(link, code) < 0)
		return core_fail(tx, PL_INVAL, PLC_INVITE_HASH_INVALID, "this is not an invite link");
	rc = store_link_get(tx->s, code, &l);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_INVITE_HASH_INVALID, "no such invite link");
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "link lookup failed");
	if ((rc = link_usable(tx, &l)) < 0)
		return rc;
	if ((rc = store_chat_get(tx->s, l.chat_id, out)) < 0)
		return core_fail(tx, rc, PLC_INVITE_HASH_INVALID, "the chat of this link is gone");
	if ((rc = core_access(tx, out, &a)) < 0 || (rc = join(tx, &a)) < 0)
		return rc;
	l.usage++;
	if ((rc = store_link_update(tx->s, &l)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not count the link's use");
	return store_chat_get(tx->s, l.chat_id, out);
}

struct primary_ctx {
	struct store_link links[8];
	size_t n;
};

static int collect_primary(void *ctx, const struct store_link *l)
{
	struct primary_ctx *p = ctx;

	if (l->is_primary && !l->revoked && p->n < 8)
		p->links[p->n++] = *l;
	return 0;
}

/* Revokes the chat's current primary link(s) before a new one is made. */
static int revoke_primary(struct core_tx *tx, int64_t chat_id)
{
	struct primary_ctx p;
	int rc;

	p.n = 0;
	if ((rc = store_link_list(tx->s, chat_id, collect_primary, &p)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "link lookup failed");
	for (size_t i = 0; i < p.n; i++) {
		p.links[i].revoked = 1;
		if ((rc = store_link_update(tx->s, &p.links[i])) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not revoke the old link");
	}
	return 0;
}

int core_link_create(struct core_tx *tx, struct core_access *a, const char *name, int64_t expire,
		     int64_t limit, int primary, struct store_link *out)
{
	unsigned char raw[12];
	int rc;

	if (a->chat.type == STORE_CHAT_PRIVATE)
		return core_fail(tx, PL_INVAL, PLC_CHAT_TYPE_INVALID, "private chats have no invite links");
	if (!a->can_invite)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "you may not invite to this chat");
	/* A new primary link revokes the old one, which members may not do. */
	if (primary && !a->is_admin)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "only admins replace the primary link");
	if (expire && expire <= tx->now)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "expire_date is in the past");
	if (primary && (rc = revoke_primary(tx, a->chat.id)) < 0)
		return rc;
	memset(out, 0, sizeof *out);
	out->chat_id = a->chat.id;
	out->creator_id = tx->uid;
	snprintf(out->name, sizeof out->name, "%s", name ? name : "");
	out->created_at = tx->now;
	out->expire_date = expire;
	out->member_limit = limit;
	out->is_primary = primary;
	for (int tries = 0; tries < 4; tries++) {
		randombytes_buf(raw, sizeof raw);
		sodium_bin2base64(out->code, sizeof out->code, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		rc = store_link_create(tx->s, out);
		if (rc != PL_EXISTS)
			break;
	}
	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "could not create the link") : 0;
}

int core_link_revoke(struct core_tx *tx, struct core_access *a, const char *link, struct store_link *out)
{
	char code[STORE_LINK_CODE_SZ];
	int rc;

	if (core_link_code(link, code) < 0)
		return core_fail(tx, PL_INVAL, PLC_INVITE_HASH_INVALID, "this is not an invite link");
	rc = store_link_get(tx->s, code, out);
	if (rc == PL_NOTFOUND || (rc == 0 && out->chat_id != a->chat.id))
		return core_fail(tx, PL_NOTFOUND, PLC_INVITE_HASH_INVALID, "no such invite link in this chat");
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "link lookup failed");
	if (!a->is_admin && out->creator_id != tx->uid)
		return core_fail(tx, PL_DENIED, PLC_CHAT_ADMIN_REQUIRED, "only admins revoke others' links");
	out->revoked = 1;
	if ((rc = store_link_update(tx->s, out)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not revoke the link");
	return 0;
}
