/* h_chats.c — API handlers for groups, channels, membership and invite links.
 * Parameter positions follow each method's row in methods.c. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/render.h"
#include "core/core.h"

int h_chat_arg(struct api_call *call, int i, int create, int need, struct core_access *a)
{
	const struct api_value *v = &call->v[i];

	return core_chat_resolve(call->tx, v->s ? 0 : v->i, v->s, create, need, a);
}

static int done_true(struct api_call *call, int rc)
{
	if (rc < 0)
		return rc;
	call->result = json_true();
	return 0;
}

static int chat_full(struct api_call *call, const struct store_chat *c)
{
	struct core_access a;
	int rc = core_access(call->tx, c, &a);

	if (rc < 0)
		return rc;
	call->result = render_chat_full(call->tx, &a);
	return 0;
}

/* createGroup: 0 title, 1 user_ids, 2 description */
int h_create_group(struct api_call *call, struct store *s)
{
	struct store_chat c;
	int rc = core_group_create(call->tx, api_str(call, 0), call->v[1].arr, call->v[1].n,
				   api_has(call, 2) ? api_str(call, 2) : NULL, &c);

	return rc < 0 ? rc : chat_full(call, &c);
}

/* createChannel: 0 title, 1 username, 2 description */
int h_create_channel(struct api_call *call, struct store *s)
{
	struct store_chat c;
	int rc = core_channel_create(call->tx, api_str(call, 0), api_has(call, 1) ? api_str(call, 1) : NULL,
				     api_has(call, 2) ? api_str(call, 2) : NULL, &c);

	return rc < 0 ? rc : chat_full(call, &c);
}

/* getChat: 0 chat_id.  A user with whom there is no conversation yet still
 * has a (virtual) private chat, as in the Bot API. */
int h_get_chat(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_user u;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);

	/* store_user_get, not core_user_get: a miss must keep CHAT_NOT_FOUND. */
	if (rc == PL_NOTFOUND && !call->v[0].s && api_int(call, 0) > 0 &&
	    store_user_get(call->tx->s, api_int(call, 0), &u) == 0) {
		memset(&a, 0, sizeof a);
		a.chat.type = STORE_CHAT_PRIVATE;
		a.chat.user_lo = call->user_id;
		a.chat.user_hi = u.id;
		call->result = render_chat_full(call->tx, &a);
		return 0;
	}
	if (rc < 0)
		return rc;
	call->result = render_chat_full(call->tx, &a);
	return 0;
}

/* getChatMember: 0 chat_id, 1 user_id */
int h_get_chat_member(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_member m;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a)) < 0 ||
	    (rc = core_member_get(call->tx, &a, api_int(call, 1), &m)) < 0)
		return rc;
	call->result = render_member(call->tx, &m);
	return 0;
}

int h_get_member_count(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);

	if (rc < 0)
		return rc;
	call->result = json_integer(a.chat.member_count);
	return 0;
}

/* Members are collected first and rendered after the iteration ends, so no
 * store statement is re-entered while it is stepping. */
struct member_page {
	struct store_member m[PL_PAGE_MAX];
	size_t n;
};

static int collect_member(void *ctx, const struct store_member *m)
{
	struct member_page *p = ctx;

	if (p->n >= PL_PAGE_MAX)
		return 1;
	p->m[p->n++] = *m;
	return 0;
}

static int list_members(struct api_call *call, struct core_access *a, int admins, int64_t after, int limit)
{
	struct member_page p;
	json_t *arr;
	int rc;

	p.n = 0;
	rc = store_member_list(call->tx->s, a->chat.id, admins, after, limit, collect_member, &p);
	if (rc < 0)
		return api_fail(call, PLC_INTERNAL, "member lookup failed");
	arr = json_array();
	for (size_t i = 0; i < p.n; i++)
		json_array_append_new(arr, render_member(call->tx, &p.m[i]));
	call->result = arr;
	return 0;
}

int h_get_admins(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);

	return rc < 0 ? rc : list_members(call, &a, 1, 0, PL_PAGE_MAX);
}

/* getChatMembers: 0 chat_id, 1 offset_user_id, 2 limit */
int h_get_members(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_READ, &a);

	if (rc < 0)
		return rc;
	if (a.chat.type == STORE_CHAT_CHANNEL && !a.is_admin)
		return api_fail(call, PLC_CHAT_ADMIN_REQUIRED, "only admins list a channel's subscribers");
	return list_members(call, &a, 0, api_int(call, 1), api_has(call, 2) ? (int)api_int(call, 2) : PL_PAGE_DEFAULT);
}

/* addChatMembers: 0 chat_id, 1 user_ids */
int h_add_members(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_members_add(call->tx, &a, call->v[1].arr, call->v[1].n));
}

int h_ban_member(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_member_ban(call->tx, &a, api_int(call, 1)));
}

int h_unban_member(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_member_unban(call->tx, &a, api_int(call, 1)));
}

/* promoteChatMember: 0 chat_id, 1 user_id, 2 is_admin */
int h_promote_member(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	if (rc < 0)
		return rc;
	return done_true(call, core_member_promote(call->tx, &a, api_int(call, 1),
						   api_has(call, 2) ? (int)api_int(call, 2) : 1));
}

static int edit(struct api_call *call, const struct core_chat_edit *e)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a);

	return done_true(call, rc < 0 ? rc : core_chat_edit(call->tx, &a, e));
}

int h_set_title(struct api_call *call, struct store *s)
{
	struct core_chat_edit e = {.title = api_str(call, 1)};

	return edit(call, &e);
}

int h_set_description(struct api_call *call, struct store *s)
{
	struct core_chat_edit e = {.description = api_str(call, 1)};

	return edit(call, &e);
}

int h_set_username(struct api_call *call, struct store *s)
{
	struct core_chat_edit e = {.username = api_str(call, 1)};

	return edit(call, &e);
}

/* setChatPermissions: 0 chat_id, 1 permissions {can_send_messages, ...} */
int h_set_permissions(struct api_call *call, struct store *s)
{
	static const struct {
		const char *name;
		int bit;
	} fields[] = {{"can_send_messages", STORE_PERM_SEND},
		      {"can_invite_users", STORE_PERM_INVITE},
		      {"can_pin_messages", STORE_PERM_PIN},
		      {"can_change_info", STORE_PERM_CHANGE_INFO}};
	struct core_chat_edit e = {0};
	json_t *obj = call->v[1].obj;

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		json_t *j = json_object_get(obj, fields[i].name);
		if (!j || json_is_null(j))
			continue;
		if (!json_is_boolean(j))
			return api_fail(call, PLC_PARAM_INVALID, "permissions.%s must be true or false", fields[i].name);
		if (json_is_true(j))
			e.perms_set |= fields[i].bit;
		else
			e.perms_clear |= fields[i].bit;
	}
	if (!e.perms_set && !e.perms_clear)
		return api_fail(call, PLC_PARAM_INVALID, "permissions names no known permission");
	return edit(call, &e);
}

int h_leave_chat(struct api_call *call, struct store *s)
{
	struct core_access a;
	int rc = h_chat_arg(call, 0, 0, CORE_NEED_NONE, &a);

	return done_true(call, rc < 0 ? rc : core_chat_leave(call->tx, &a));
}

/* joinChat: 0 invite_link, 1 chat_id */
int h_join_chat(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_chat c;
	int rc;

	if (api_has(call, 0)) {
		rc = core_chat_join_link(call->tx, api_str(call, 0), &c);
		return rc < 0 ? rc : chat_full(call, &c);
	}
	if (!api_has(call, 1))
		return api_fail(call, PLC_PARAM_MISSING, "give invite_link or chat_id");
	if ((rc = h_chat_arg(call, 1, 0, CORE_NEED_NONE, &a)) < 0 || (rc = core_chat_join_public(call->tx, &a)) < 0)
		return rc;
	if ((rc = store_chat_get(s, a.chat.id, &c)) < 0) /* the member count after the join */
		return api_fail(call, PLC_INTERNAL, "chat lookup failed");
	return chat_full(call, &c);
}

/* createChatInviteLink: 0 chat_id, 1 name, 2 expire_date, 3 member_limit */
int h_create_link(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_link l;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0 ||
	    (rc = core_link_create(call->tx, &a, api_has(call, 1) ? api_str(call, 1) : NULL, api_int(call, 2),
				   api_int(call, 3), 0, &l)) < 0)
		return rc;
	call->result = render_link(call->tx, &l);
	return 0;
}

int h_export_link(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_link l;
	char url[800];
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0 ||
	    (rc = core_link_create(call->tx, &a, NULL, 0, 0, 1, &l)) < 0)
		return rc;
	core_link_url(call->core, &l, url, sizeof url);
	call->result = json_string(url);
	return 0;
}

/* revokeChatInviteLink: 0 chat_id, 1 invite_link */
int h_revoke_link(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct store_link l;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0 ||
	    (rc = core_link_revoke(call->tx, &a, api_str(call, 1), &l)) < 0)
		return rc;
	call->result = render_link(call->tx, &l);
	return 0;
}

struct link_page {
	struct store_link *l;
	size_t n;
};

static int collect_link(void *ctx, const struct store_link *l)
{
	struct link_page *p = ctx;

	if (p->n >= PL_INVITE_LINKS_MAX)
		return 1;
	p->l[p->n++] = *l;
	return 0;
}

int h_get_links(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct link_page p = {NULL, 0};
	json_t *arr;
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0)
		return rc;
	if (!a.is_admin)
		return api_fail(call, PLC_CHAT_ADMIN_REQUIRED, "only admins list invite links");
	if (!(p.l = calloc(PL_INVITE_LINKS_MAX, sizeof *p.l)))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_link_list(s, a.chat.id, collect_link, &p);
	if (rc < 0) {
		free(p.l);
		return api_fail(call, PLC_INTERNAL, "link lookup failed");
	}
	arr = json_array();
	for (size_t i = 0; i < p.n; i++)
		json_array_append_new(arr, render_link(call->tx, &p.l[i]));
	free(p.l);
	call->result = arr;
	return 0;
}
