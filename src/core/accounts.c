/* accounts.c — accounts, passwords, sessions, profiles and blocking. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/core.h"
#include "util/utf8.h"

int core_fail(struct core_tx *tx, int rc, int code, const char *fmt, ...)
{
	va_list ap;

	tx->code = code;
	va_start(ap, fmt);
	vsnprintf(tx->detail, sizeof tx->detail, fmt, ap);
	va_end(ap);
	return rc;
}

int core_set_password_cost(struct core *c, const char *cost)
{
	if (strcmp(cost, "interactive") == 0) {
		c->pw_ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
		c->pw_mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	} else if (strcmp(cost, "moderate") == 0) {
		c->pw_ops = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
		c->pw_mem = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
	} else if (strcmp(cost, "min") == 0) {
		c->pw_ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		c->pw_mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	} else {
		return -1;
	}
	return 0;
}

int core_username_normalize(const char *in, char *out)
{
	size_t n = strlen(in);

	if (in[0] == '@') {
		in++;
		n--;
	}
	if (n < PL_USERNAME_MIN || n > PL_USERNAME_MAX)
		return PL_INVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!(isascii(ch) && (isalnum(ch) || ch == '_')))
			return PL_INVAL;
		out[i] = (char)tolower(ch);
	}
	out[n] = 0;
	return 0;
}

int core_password_hash(const struct core *c, const char *pw, char *hash)
{
	char out[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str_alg(out, pw, strlen(pw), c->pw_ops, c->pw_mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return PL_NOMEM;
	snprintf(hash, STORE_HASH_SZ, "%s", out);
	return 0;
}

int core_password_verify(const char *hash, const char *pw)
{
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : PL_DENIED;
}

void core_token_hash(const char *token, char hash[STORE_TOKEN_HASH_SZ])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hash, STORE_TOKEN_HASH_SZ, d, sizeof d);
}

void core_token_new(char token[65], char hash[STORE_TOKEN_HASH_SZ])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(token, 65, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	core_token_hash(token, hash);
}


int core_username_available(struct core_tx *tx, const char *name)
{
	struct store_user u;
	struct store_chat c;
	int rc = store_user_find(tx->s, name, &u);

	if (rc == 0)
		return core_fail(tx, PL_EXISTS, PLC_USERNAME_OCCUPIED, "@%s is taken", name);
	if (rc != PL_NOTFOUND)
		return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
	rc = store_chat_find(tx->s, name, &c);
	if (rc == 0)
		return core_fail(tx, PL_EXISTS, PLC_USERNAME_OCCUPIED, "@%s is taken", name);
	if (rc != PL_NOTFOUND)
		return core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed");
	return 0;
}

int core_register(struct core_tx *tx, const char *username, const char *pw_hash, const char *display,
		  const char *device, const char *ip, const char *token_hash, struct store_user *u,
		  struct store_session *ss)
{
	int rc;

	memset(u, 0, sizeof *u);
	if (core_username_normalize(username, u->username) < 0)
		return core_fail(tx, PL_INVAL, PLC_USERNAME_INVALID, "\"%s\" is not a valid username", username);
	if ((rc = core_username_available(tx, u->username)) < 0)
		return rc;
	snprintf(u->display_name, sizeof u->display_name, "%s", display && *display ? display : username);
	snprintf(u->pw_hash, sizeof u->pw_hash, "%s", pw_hash);
	u->created_at = tx->now;
	rc = store_user_create(tx->s, u);
	if (rc == 0)
		core_user_forget(tx, u->id); /* an id looked up before it existed */
	if (rc == PL_EXISTS)
		return core_fail(tx, rc, PLC_USERNAME_OCCUPIED, "@%s is taken", u->username);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not create the account");
	return core_session_open(tx, u->id, device, ip, token_hash, ss);
}

struct oldest {
	int64_t n;
	int64_t id;
	int64_t created;
};

static int count_sessions(void *ctx, const struct store_session *s)
{
	struct oldest *o = ctx;

	o->n++;
	if (!o->id || s->created_at < o->created || (s->created_at == o->created && s->id < o->id)) {
		o->id = s->id;
		o->created = s->created_at;
	}
	return 0;
}

int core_session_open(struct core_tx *tx, int64_t uid, const char *device, const char *ip,
		      const char *token_hash, struct store_session *ss)
{
	struct oldest o = {0, 0, 0};
	int rc;

	if ((rc = store_session_list(tx->s, uid, count_sessions, &o)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "session lookup failed");
	if (o.n >= PL_SESSIONS_MAX && (rc = store_session_delete(tx->s, uid, o.id)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not drop the oldest session");
	if (o.n >= PL_SESSIONS_MAX && tx->ev)
		bus_events_add(tx->ev, BUS_SESSION_END, 0, 0, uid, o.id);
	memset(ss, 0, sizeof *ss);
	ss->user_id = uid;
	snprintf(ss->token_hash, sizeof ss->token_hash, "%s", token_hash);
	snprintf(ss->device, sizeof ss->device, "%s", device ? device : "");
	snprintf(ss->ip, sizeof ss->ip, "%s", ip ? ip : "");
	ss->created_at = ss->last_seen = tx->now;
	if ((rc = store_session_create(tx->s, ss)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not open a session");
	return 0;
}

/* The end of an authentication: rc of the session lookup into ss. */
static int core_authenticated(struct core_tx *tx, int rc, struct store_session *ss)
{
	if (rc == PL_NOTFOUND)
		return core_fail(tx, PL_DENIED, PLC_UNAUTHORIZED, "this session token is not valid");
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "session lookup failed");
	tx->uid = ss->user_id;
	if (ss->country[0]) { /* the account says where it is; else the IP table will */
		memcpy(tx->country, ss->country, sizeof tx->country);
		tx->country_known = 1;
	}
	return 0;
}

int core_authenticate(struct core_tx *tx, const char *token, struct store_session *ss)
{
	char hash[STORE_TOKEN_HASH_SZ];

	if (!token || strlen(token) != 64)
		return core_fail(tx, PL_DENIED, PLC_UNAUTHORIZED, "send Authorization: Bearer <token>");
	core_token_hash(token, hash);
	return core_authenticated(tx, store_session_find(tx->s, hash, ss), ss);
}

int core_authenticate_session(struct core_tx *tx, int64_t session_id, struct store_session *ss)
{
	return core_authenticated(tx, store_session_get(tx->s, session_id, ss), ss);
}

int core_session_close(struct core_tx *tx, int64_t session_id)
{
	int rc = store_session_delete(tx->s, tx->uid, session_id);

	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_SESSION_NOT_FOUND, "no session %lld", (long long)session_id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not close the session");
	if (tx->ev)
		bus_events_add(tx->ev, BUS_SESSION_END, 0, 0, tx->uid, session_id);
	return 0;
}

int core_user_get(struct core_tx *tx, int64_t id, struct store_user *out)
{
	int rc = store_user_get(tx->s, id, out);

	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_USER_NOT_FOUND, "no user %lld", (long long)id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
	return 0;
}

int core_user_find(struct core_tx *tx, const char *username, struct store_user *out)
{
	char name[STORE_USERNAME_SZ];
	int rc;

	if (core_username_normalize(username, name) < 0)
		return core_fail(tx, PL_NOTFOUND, PLC_USER_NOT_FOUND, "no user @%s", username);
	rc = store_user_find(tx->s, name, out);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_USER_NOT_FOUND, "no user @%s", name);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
	return 0;
}

int core_profile_update(struct core_tx *tx, const char *display, const char *bio, struct store_user *out)
{
	int rc;

	if ((rc = core_user_get(tx, tx->uid, out)) < 0)
		return rc;
	if (display) {
		if (utf8_count(display, strlen(display)) < 1)
			return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "display_name must not be empty");
		snprintf(out->display_name, sizeof out->display_name, "%s", display);
	}
	if (bio)
		snprintf(out->bio, sizeof out->bio, "%s", bio);
	if ((rc = store_user_update(tx->s, out)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the profile");
	core_user_forget(tx, tx->uid);
	return 0;
}

int core_profile_country(struct core_tx *tx, const char *country, struct store_user *out)
{
	char cc[STORE_COUNTRY_SZ] = "";
	int rc;

	if (*country && mod_country_parse(country, cc) < 0)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "country is an ISO 3166-1 alpha-2 code (\"DE\"), or \"\"");
	if ((rc = store_user_set_country(tx->s, tx->uid, cc)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the country");
	core_user_forget(tx, tx->uid);
	memcpy(out->country, cc, sizeof cc);
	return 0;
}

int core_block(struct core_tx *tx, int64_t target, int on)
{
	struct store_user u;
	int rc;

	if ((rc = core_user_get(tx, target, &u)) < 0)
		return rc;
	if (target == tx->uid)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "you cannot block yourself");
	if ((rc = store_block_set(tx->s, tx->uid, target, on, tx->now)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the block list");
	return 0;
}
