/* h_accounts.c — API handlers for accounts, sessions, profiles and blocks. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/hub.h"
#include "api/render.h"
#include "core/core.h"
#include "util/ratelimit.h"
#include "util/utf8.h"

/* What the slow, reader-thread prep phase of register/login hands to exec. */
struct auth_prep {
	char pw_hash[STORE_HASH_SZ];
	char token[65];
	char token_hash[STORE_TOKEN_HASH_SZ];
	int64_t uid;
};

static struct auth_prep *prep_new(struct api_call *call)
{
	struct auth_prep *p = calloc(1, sizeof *p);

	if (!p) {
		api_fail(call, PLC_INTERNAL, "out of memory");
		return NULL;
	}
	call->prep_data = p;
	core_token_new(p->token, p->token_hash);
	return p;
}

static json_t *auth_result(const struct auth_prep *p, const struct store_session *ss, const struct store_user *u)
{
	return json_pack("{s:s, s:I, s:o}", "token", p->token, "session_id", (json_int_t)ss->id, "user",
			 render_user(u, 1));
}

/* register: 0 username, 1 password, 2 display_name, 3 device */
int h_register_prep(struct api_call *call, struct store *s)
{
	char name[STORE_USERNAME_SZ];
	const char *pw = api_str(call, 1);
	struct auth_prep *p;

	if (core_username_normalize(api_str(call, 0), name) < 0 || api_str(call, 0)[0] == '@')
		return api_fail(call, PLC_USERNAME_INVALID, "usernames are 5-32 characters of a-z, 0-9 and _");
	if (utf8_count(pw, strlen(pw)) < PL_PASSWORD_MIN)
		return api_fail(call, PLC_PASSWORD_TOO_SHORT, "the password has fewer than %d characters",
				PL_PASSWORD_MIN);
	if (!(p = prep_new(call)))
		return PL_NOMEM;
	if (core_password_hash(call->core, pw, p->pw_hash) < 0)
		return api_fail(call, PLC_INTERNAL, "could not hash the password");
	return 0;
}

int h_register(struct api_call *call, struct store *s)
{
	struct auth_prep *p = call->prep_data;
	struct store_user u;
	struct store_session ss;
	int rc;

	rc = core_register(call->tx, api_str(call, 0), p->pw_hash, api_has(call, 2) ? api_str(call, 2) : NULL,
			   api_has(call, 3) ? api_str(call, 3) : "", call->ip, p->token_hash, &u, &ss);
	if (rc < 0)
		return rc;
	call->result = auth_result(p, &ss, &u);
	return 0;
}

/* login: 0 username, 1 password, 2 device */
int h_login_prep(struct api_call *call, struct store *s)
{
	char name[STORE_USERNAME_SZ], key[64];
	struct store_user u;
	struct auth_prep *p;
	int wait, rc;

	if (core_username_normalize(api_str(call, 0), name) < 0)
		return api_fail(call, PLC_CREDENTIALS_INVALID, "wrong username or password");
	snprintf(key, sizeof key, "login:%s", name);
	wait = rl_take(call->core->login_limits, key, call->core->login_per_min / 60.0, call->core->login_per_min,
		       (double)call->now);
	if (wait) {
		call->retry_after = wait;
		return api_fail(call, PLC_FLOOD_WAIT, "too many login attempts for @%s", name);
	}
	if (!(p = prep_new(call)))
		return PL_NOMEM;
	rc = store_user_find(s, name, &u);
	if (rc < 0 && rc != PL_NOTFOUND)
		return api_fail(call, PLC_INTERNAL, "user lookup failed");
	if (rc == PL_NOTFOUND) {
		/* Spend the same time as a real check: no user enumeration by timing. */
		(void)core_password_hash(call->core, api_str(call, 1), p->pw_hash);
		return api_fail(call, PLC_CREDENTIALS_INVALID, "wrong username or password");
	}
	if (core_password_verify(u.pw_hash, api_str(call, 1)) < 0)
		return api_fail(call, PLC_CREDENTIALS_INVALID, "wrong username or password");
	/* Told only to whoever knows the password: why, and until when. */
	if ((rc = core_mod_suspension_check(call->tx, u.suspended_until, u.suspend_statement)) < 0)
		return rc;
	p->uid = u.id;
	return 0;
}

int h_login(struct api_call *call, struct store *s)
{
	struct auth_prep *p = call->prep_data;
	struct store_user u;
	struct store_session ss;
	int rc;

	if ((rc = core_user_get(call->tx, p->uid, &u)) < 0)
		return rc;
	rc = core_session_open(call->tx, u.id, api_has(call, 2) ? api_str(call, 2) : "", call->ip, p->token_hash, &ss);
	if (rc < 0)
		return rc;
	call->result = auth_result(p, &ss, &u);
	return 0;
}

int h_logout(struct api_call *call, struct store *s)
{
	int rc = core_session_close(call->tx, call->session_id);

	if (rc < 0)
		return rc;
	call->result = json_true();
	return 0;
}

int h_get_me(struct api_call *call, struct store *s)
{
	struct store_user u;
	int role = 0, rc = core_user_get(call->tx, call->user_id, &u);

	if (rc < 0 || (rc = core_mod_role_get(call->tx, call->user_id, &role)) < 0)
		return rc;
	call->result = render_user(&u, 1);
	if (call->result && u.country[0])
		json_object_set_new(call->result, "country", json_string(u.country));
	if (call->result && role) /* what a moderation console shows its user */
		json_object_set_new(call->result, "platform_role", json_string(mod_role_name(role)));
	return 0;
}

struct session_list {
	json_t *arr;
	int64_t current;
};

static int add_session(void *ctx, const struct store_session *ss)
{
	struct session_list *l = ctx;

	json_array_append_new(l->arr, render_session(ss, l->current));
	return 0;
}

int h_get_sessions(struct api_call *call, struct store *s)
{
	struct session_list l = {json_array(), call->session_id};
	int rc = store_session_list(s, call->user_id, add_session, &l);

	if (rc < 0) {
		json_decref(l.arr);
		return api_fail(call, PLC_INTERNAL, "session lookup failed");
	}
	call->result = l.arr;
	return 0;
}

int h_revoke_session(struct api_call *call, struct store *s)
{
	int rc = core_session_close(call->tx, api_int(call, 0));

	if (rc < 0)
		return rc;
	call->result = json_true();
	return 0;
}

/* updateProfile: 0 display_name, 1 bio, 2 country */
int h_update_profile(struct api_call *call, struct store *s)
{
	struct store_user u;
	int rc = core_profile_update(call->tx, api_has(call, 0) ? api_str(call, 0) : NULL,
				     api_has(call, 1) ? api_str(call, 1) : NULL, &u);

	if (rc == 0 && api_has(call, 2))
		rc = core_profile_country(call->tx, api_str(call, 2), &u);
	if (rc < 0)
		return rc;
	call->result = render_user(&u, 1);
	if (call->result && u.country[0])
		json_object_set_new(call->result, "country", json_string(u.country));
	return 0;
}

/* Online status and last seen, as u's privacy setting allows the caller. */
static void add_presence(struct api_call *call, struct store *s, const struct store_user *u)
{
	int64_t lo = u->id < call->user_id ? u->id : call->user_id, hi = u->id ^ lo ^ call->user_id;
	struct store_chat c;
	int visible = u->privacy_last_seen == STORE_PRIVACY_EVERYBODY ||
		      (u->privacy_last_seen == STORE_PRIVACY_CONTACTS && store_chat_find_private(s, lo, hi, &c) == 0);

	if (!visible) {
		json_object_set_new(call->result, "status", json_string("hidden"));
		return;
	}
	if (call->hub && hub_online(call->hub, u->id)) {
		json_object_set_new(call->result, "status", json_string("online"));
		return;
	}
	json_object_set_new(call->result, "status", json_string("offline"));
	if (u->last_seen)
		json_object_set_new(call->result, "last_seen", json_integer(u->last_seen));
}

int h_get_user(struct api_call *call, struct store *s)
{
	struct store_user u;
	int rc;

	if (api_has(call, 0))
		rc = core_user_get(call->tx, api_int(call, 0), &u);
	else if (api_has(call, 1))
		rc = core_user_find(call->tx, api_str(call, 1), &u);
	else
		return api_fail(call, PLC_PARAM_MISSING, "give user_id or username");
	if (rc < 0)
		return rc;
	call->result = render_user(&u, 1);
	if (call->result && u.id != call->user_id)
		add_presence(call, s, &u);
	return 0;
}

static int block(struct api_call *call, int on)
{
	int rc = core_block(call->tx, api_int(call, 0), on);

	if (rc < 0)
		return rc;
	call->result = json_true();
	return 0;
}

int h_block_user(struct api_call *call, struct store *s)
{
	return block(call, 1);
}

int h_unblock_user(struct api_call *call, struct store *s)
{
	return block(call, 0);
}

static int add_user(void *ctx, const struct store_user *u)
{
	json_array_append_new(ctx, render_user(u, 0));
	return 0;
}

int h_get_blocked(struct api_call *call, struct store *s)
{
	json_t *arr = json_array();

	if (store_block_list(s, call->user_id, add_user, arr) < 0) {
		json_decref(arr);
		return api_fail(call, PLC_INTERNAL, "block list lookup failed");
	}
	call->result = arr;
	return 0;
}
