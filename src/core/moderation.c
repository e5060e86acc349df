/*
 * moderation.c — trust & safety over the store: signals open or join cases,
 * moderators decide them, decisions act (remove, restrict, ban, suspend,
 * warn, dismiss), every decision yields a statement of reasons delivered by
 * the system account @parley_safety, and appeals can reverse it.  The rules
 * that need no storage (priorities, deadlines, DSA names, Art. 23) are in
 * src/safety/moderation.c; docs/policy.md says all of it for people.
 *
 * Audit (safety/audit.h): every signal, case change, decision, action,
 * statement, appeal, role change and flagger registration is appended to the
 * hash-chained log inside the caller's transaction and *before* the change
 * it records, so a change exists only if its entry does.
 *
 * Runs on the writer thread for changes and on reader threads for
 * core_mod_withheld / core_mod_statement_get.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/core.h"
#include "safety/audit.h"

#define SYSTEM_USERNAME "parley_safety"
#define SYSTEM_NAME "Parley Safety"
#define SYSTEM_META_KEY "system_user_id"
#define DETAILS_MAX 2048           /* audit details built here */
#define STATEMENT_TEXT_MAX 16384   /* the whole statement as stored */
#define NOTIFY_MAX 4000            /* bytes of a statement carried by a message (the rest: getStatement) */
#define NOTIFIERS_MAX 1000         /* reporters told of one decision */

static void ev(struct core_tx *tx, int type, int64_t chat, int64_t msg, int64_t user, int64_t value)
{
	if (tx->ev)
		(void)bus_events_add(tx->ev, type, chat, msg, user, value);
}

/* Appends an audit entry by tx->uid; details is a JSON object text. */
static int audit(struct core_tx *tx, const char *kind, const char *subject, const char *details)
{
	int64_t seq;
	int rc = audit_append(tx->s, tx->now, kind, tx->uid, subject, details, &seq);

	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not write the audit log (%s)", pl_strerror(rc));
	return 0;
}

static void target_subject(const struct core_target *t, char *out, size_t len)
{
	if (t->type == STORE_TARGET_MESSAGE)
		snprintf(out, len, "message:%lld:%lld", (long long)t->chat_id, (long long)t->msg_id);
	else if (t->type == STORE_TARGET_CHAT)
		snprintf(out, len, "chat:%lld", (long long)t->chat_id);
	else
		snprintf(out, len, "user:%lld", (long long)t->user_id);
}

static const char *target_name(int type)
{
	return type == STORE_TARGET_MESSAGE ? "message" : type == STORE_TARGET_CHAT ? "chat" : "user";
}

static const char *cat_name(int c)
{
	const struct mod_category_info *ci = mod_category(c);

	return ci ? ci->name : "other";
}

static const char *cat_label(int c)
{
	const struct mod_category_info *ci = mod_category(c);

	return ci ? ci->label : "other";
}

/* --- the system account --------------------------------------------------- */

int core_mod_system_uid(struct core_tx *tx, int64_t *uid)
{
	struct store_user u, taken;
	int rc;

	if (tx->core->system_uid) {
		*uid = tx->core->system_uid;
		return 0;
	}
	rc = store_safety_meta_get(tx->s, SYSTEM_META_KEY, uid);
	if (rc != PL_NOTFOUND)
		return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "system account lookup failed") : 0;
	memset(&u, 0, sizeof u);
	/* A person who took the name before this version keeps it; the system
	 * account then has no username. */
	if (store_user_find(tx->s, SYSTEM_USERNAME, &taken) == PL_NOTFOUND)
		snprintf(u.username, sizeof u.username, "%s", SYSTEM_USERNAME);
	snprintf(u.display_name, sizeof u.display_name, "%s", SYSTEM_NAME);
	snprintf(u.bio, sizeof u.bio, "Statements of reasons and decisions of %s's moderators", tx->core->platform_name);
	u.created_at = tx->now;
	u.is_bot = 1;
	if ((rc = store_user_create(tx->s, &u)) < 0 || (rc = store_safety_meta_set(tx->s, SYSTEM_META_KEY, u.id)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not create the system account");
	core_user_forget(tx, u.id);
	*uid = u.id;
	return 0;
}

int core_mod_bootstrap(struct core_tx *tx)
{
	int64_t uid;
	int rc = core_mod_system_uid(tx, &uid);

	if (rc == 0)
		tx->core->system_uid = uid;
	return rc;
}

/* Sends text (and the statement it carries) from the system account to
 * uid, in their private chat, creating it if needed.  Blocks do not apply:
 * a statement of reasons is owed to its recipient. */
static int notify(struct core_tx *tx, int64_t uid, const char *text, int64_t statement_id)
{
	struct store_chat c;
	struct store_message m;
	char buf[NOTIFY_MAX + 64];
	int64_t sys, lo, hi;
	size_t n = strlen(text);
	int rc;

	if (!uid || (rc = core_mod_system_uid(tx, &sys)) < 0)
		return uid ? rc : 0;
	if (uid == sys)
		return 0;
	lo = uid < sys ? uid : sys;
	hi = uid < sys ? sys : uid;
	rc = store_chat_find_private(tx->s, lo, hi, &c);
	if (rc == PL_NOTFOUND) {
		memset(&c, 0, sizeof c);
		c.type = STORE_CHAT_PRIVATE;
		c.creator_id = sys;
		c.created_at = c.last_date = tx->now;
		c.user_lo = lo;
		c.user_hi = hi;
		if ((rc = store_chat_create(tx->s, &c)) == 0)
			rc = store_member_put(tx->s, &(struct store_member){c.id, lo, STORE_ROLE_MEMBER, tx->now, 0, 0});
		if (rc == 0)
			rc = store_member_put(tx->s, &(struct store_member){c.id, hi, STORE_ROLE_MEMBER, tx->now, 0, 0});
	}
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not open the system account's chat");
	if (n > NOTIFY_MAX) { /* cut on a character boundary; the rest is in getStatement */
		n = NOTIFY_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
		snprintf(buf, sizeof buf, "%.*s\n[...] (whole text: getStatement)", (int)n, text);
		text = buf;
	}
	memset(&m, 0, sizeof m);
	m.chat_id = c.id;
	m.sender_id = sys;
	m.date = tx->now;
	m.text = (char *)text; /* borrowed: message_put copies */
	if ((rc = store_message_put(tx->s, &m)) < 0 ||
	    (statement_id && (rc = store_message_set_statement(tx->s, c.id, m.id, statement_id)) < 0))
		return core_fail(tx, rc, PLC_INTERNAL, "could not deliver the statement");
	ev(tx, BUS_MESSAGE_NEW, c.id, m.id, sys, 0);
	return 0;
}

/* --- targets and signals ---------------------------------------------------- */

int core_mod_target(struct core_tx *tx, struct core_target *t)
{
	struct store_message m;
	struct store_chat c;
	struct store_user u;
	int rc;

	switch (t->type) {
	case STORE_TARGET_MESSAGE:
		rc = store_chat_get(tx->s, t->chat_id, &c);
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_CHAT_NOT_FOUND, "no such chat");
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed");
		rc = store_message_get(tx->s, t->chat_id, t->msg_id, &m);
		if (rc == 0 && (m.deleted || m.service)) {
			store_message_release(&m);
			rc = PL_NOTFOUND;
		}
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_MESSAGE_NOT_FOUND, "no message %lld in this chat", (long long)t->msg_id);
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "message lookup failed");
		t->user_id = m.sender_id;
		store_message_release(&m);
		return 0;
	case STORE_TARGET_CHAT:
		rc = store_chat_get(tx->s, t->chat_id, &c);
		if (rc == 0 && c.type == STORE_CHAT_PRIVATE)
			return core_fail(tx, PL_INVAL, PLC_TARGET_INVALID, "report the user or their messages, not a private chat");
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_CHAT_NOT_FOUND, "no such chat");
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "chat lookup failed");
		t->msg_id = t->user_id = 0;
		return 0;
	case STORE_TARGET_USER:
		rc = store_user_get(tx->s, t->user_id, &u);
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_USER_NOT_FOUND, "no such user");
		if (rc < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "user lookup failed");
		t->chat_id = t->msg_id = 0;
		return 0;
	}
	return core_fail(tx, PL_INVAL, PLC_TARGET_INVALID, "name a message, a chat or a user");
}

static int source_of_kind(int kind)
{
	return kind == STORE_SIGNAL_FLAGGER ? MOD_SRC_FLAGGER : kind == STORE_SIGNAL_NOTICE ? MOD_SRC_NOTICE : MOD_SRC_REPORT;
}

static const char *kind_name(int kind)
{
	return kind == STORE_SIGNAL_FLAGGER ? "flagger_notice" : kind == STORE_SIGNAL_NOTICE ? "notice" : "report";
}

int core_mod_signal(struct core_tx *tx, const struct core_signal_in *in, struct store_signal *sig,
		    struct store_case *c)
{
	char subject[96], details[DETAILS_MAX];
	unsigned char raw[16];
	struct mod_rank r;
	int source = source_of_kind(in->kind), found, rc;
	int64_t deadline = mod_signal_deadline(&tx->core->sla, source, in->category, tx->now);

	if (!mod_category(in->category))
		return core_fail(tx, PL_INVAL, PLC_CATEGORY_INVALID, "unknown category");
	memset(sig, 0, sizeof *sig);
	sig->kind = in->kind;
	sig->reporter_id = in->reporter_id;
	sig->flagger_id = in->flagger_id;
	sig->category = in->category;
	sig->created_at = tx->now;
	sig->deadline = deadline;
	sig->text = (char *)(in->text ? in->text : "");
	sig->plaintext = (char *)in->plaintext;
	sig->location = (char *)(in->location ? in->location : "");
	snprintf(sig->name, sizeof sig->name, "%s", in->name ? in->name : "");
	snprintf(sig->email, sizeof sig->email, "%s", in->email ? in->email : "");
	if (in->kind != STORE_SIGNAL_REPORT) {
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(sig->reference, sizeof sig->reference, raw, sizeof raw);
	}
	rc = store_case_find_open(tx->s, in->target.type, in->target.chat_id, in->target.msg_id, in->target.user_id, c);
	if (rc < 0 && rc != PL_NOTFOUND)
		return core_fail(tx, rc, PLC_INTERNAL, "case lookup failed");
	found = rc == 0;
	target_subject(&in->target, subject, sizeof subject);
	snprintf(details, sizeof details,
		 "{\"category\":\"%s\",\"source\":\"%s\",\"reference\":\"%s\",\"flagger\":%lld,\"case\":%lld,"
		 "\"reporter_supplied_plaintext\":%s,\"deadline\":%lld}",
		 cat_name(in->category), mod_source_name(source), sig->reference, (long long)in->flagger_id,
		 (long long)(found ? c->id : 0), in->plaintext ? "true" : "false", (long long)deadline);
	{
		char kind[32];
		snprintf(kind, sizeof kind, "signal.%s", kind_name(in->kind));
		if ((rc = audit(tx, kind, subject, details)) < 0)
			return rc;
	}
	if (found) {
		r = (struct mod_rank){c->base_priority, c->signals, c->deadline, c->category, c->flagged};
		mod_rank_merge(&r, source, in->category, deadline);
	} else {
		memset(c, 0, sizeof *c);
		c->target = in->target.type;
		c->chat_id = in->target.chat_id;
		c->msg_id = in->target.msg_id;
		c->user_id = in->target.user_id;
		c->opened_at = tx->now;
		mod_rank_open(&r, source, in->category, deadline);
	}
	c->base_priority = r.base;
	c->signals = r.signals;
	c->deadline = r.deadline;
	c->category = r.category;
	c->flagged = r.flagged;
	c->priority = mod_rank_priority(&r);
	c->updated_at = tx->now;
	snprintf(details, sizeof details, "{\"priority\":%d,\"signals\":%lld,\"deadline\":%lld,\"category\":\"%s\"}",
		 c->priority, (long long)c->signals, (long long)c->deadline, cat_name(c->category));
	if (found) {
		char cs[48];
		snprintf(cs, sizeof cs, "case:%lld", (long long)c->id);
		if ((rc = audit(tx, "case.merge", cs, details)) < 0)
			return rc;
		rc = store_case_update(tx->s, c);
	} else {
		if ((rc = audit(tx, "case.open", subject, details)) < 0)
			return rc;
		rc = store_case_create(tx->s, c);
	}
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the case");
	sig->case_id = c->id;
	if ((rc = store_signal_create(tx->s, sig)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the signal");
	if (in->flagger_id && (rc = store_flagger_count(tx->s, in->flagger_id, 1, 0, 0)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not count the flagger's notice");
	return 0;
}

/* --- statements of reasons ---------------------------------------------------- */

struct text_buf {
	char *s;
	size_t len, cap;
};

static void tb_printf(struct text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct text_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

/* "your message 5 in "Friends"" / "the channel "News"" / "your account". */
static void describe_target(struct core_tx *tx, const struct store_statement *st, struct text_buf *b)
{
	struct store_chat c;
	const char *kind;

	if (st->target == STORE_TARGET_USER || !st->chat_id || store_chat_get(tx->s, st->chat_id, &c) < 0) {
		tb_printf(b, "your account");
		return;
	}
	kind = c.type == STORE_CHAT_CHANNEL ? "channel" : c.type == STORE_CHAT_GROUP ? "group" : "private chat";
	if (st->target == STORE_TARGET_MESSAGE && st->action != MOD_ACT_BAN_CHAT)
		tb_printf(b, "your message %lld in the %s%s%s%s", (long long)st->msg_id, kind, c.title[0] ? " \"" : "",
			  c.title, c.title[0] ? "\"" : "");
	else
		tb_printf(b, "the %s \"%s\"", kind, c.title);
}

static void describe_decision(struct core_tx *tx, const struct store_statement *st, struct text_buf *b)
{
	char until[32];

	switch (st->action) {
	case MOD_ACT_REMOVE_MESSAGE:
		describe_target(tx, st, b);
		tb_printf(b, " was removed: it is hidden from everyone and no longer found by search (it is kept, so a "
			     "successful appeal restores it).");
		break;
	case MOD_ACT_REMOVE_USER_MESSAGES:
		tb_printf(b, "all your messages in the chat of message %lld were removed: they are hidden from everyone "
			     "and no longer found by search (they are kept, so a successful appeal restores them).",
			  (long long)st->msg_id);
		break;
	case MOD_ACT_RESTRICT:
		describe_target(tx, st, b);
		tb_printf(b, " is withheld in %s: people there see a notice instead of it. Elsewhere it is unchanged.",
			  st->territories);
		break;
	case MOD_ACT_BAN_CHAT:
		describe_target(tx, st, b);
		tb_printf(b, " is banned: it can no longer be read or used by anyone (CHAT_BANNED).");
		break;
	case MOD_ACT_SUSPEND_USER:
		if (st->end_date < 0) {
			tb_printf(b, "your account is suspended permanently: you cannot log in or use it.");
		} else {
			mod_time_iso(st->end_date, until, sizeof until);
			tb_printf(b, "your account is suspended until %s: until then you cannot log in or use it.", until);
		}
		break;
	case MOD_ACT_WARN_USER:
		tb_printf(b, "you are warned. Another violation can lead to the suspension of your account (DSA Art. 23).");
		break;
	case MOD_ACT_DISMISS:
		tb_printf(b, "no action was taken on the reported content: it was not found to be illegal or against "
			     "the terms of service.");
		break;
	}
}

static const char *source_phrase(int source)
{
	switch (source) {
	case MOD_SRC_FLAGGER:
		return "a notice from a trusted flagger (DSA Art. 22)";
	case MOD_SRC_NOTICE:
		return "a notice (DSA Art. 16)";
	case MOD_SRC_REPORT:
		return "a report by a user";
	}
	return "the platform's own initiative";
}

/* The statement as people read it (and as stored in statements.text). */
static char *statement_text(struct core_tx *tx, const struct store_statement *st)
{
	struct text_buf b = {malloc(STATEMENT_TEXT_MAX), 0, STATEMENT_TEXT_MAX};
	char when[32];

	if (!b.s)
		return NULL;
	b.s[0] = 0;
	tb_printf(&b, "Statement of reasons #%lld (EU Digital Services Act, Art. 17)\n\nDecision: ", (long long)st->id);
	describe_decision(tx, st, &b);
	if (st->ground == MOD_GROUND_ILLEGAL)
		tb_printf(&b, "\nGround: illegal content under %s.", st->reference);
	else if (st->ground == MOD_GROUND_TERMS)
		tb_printf(&b, "\nGround: incompatible with the terms of service, %s (%s).", st->reference,
			  tx->core->terms_url);
	tb_printf(&b, "\nCategory: %s.", cat_label(st->category));
	if (st->facts && st->facts[0])
		tb_printf(&b, "\nFacts and circumstances: %s", st->facts);
	tb_printf(&b, "\nHow it was found: %s; no automated means were used to detect it.", source_phrase(st->source));
	tb_printf(&b, "\nHow it was decided: by a human moderator; no automated means were used to decide.");
	tb_printf(&b, "\nTerritorial scope: %s.", st->territories[0] ? st->territories : "worldwide");
	if (st->appeal_until) {
		mod_time_iso(st->appeal_until, when, sizeof when);
		tb_printf(&b,
			  "\nHow to appeal: until %s, with appealDecision (statement_id %lld) and your reasons; a different, "
			  "senior moderator decides (DSA Art. 20). You may also turn to a certified out-of-court dispute "
			  "settlement body (Art. 21) or to a court.",
			  when, (long long)st->id);
	}
	return b.s;
}

/* --- deciding a case --------------------------------------------------------- */

struct signal_scan {
	int any_flagger, any_notice;
	int64_t reporters[NOTIFIERS_MAX];
	size_t nreporters;
	int64_t flaggers[64];      /* flagger id, and how many notices */
	int64_t fcount[64];
	size_t nflaggers;
};

static int scan_signal(void *ctx, const struct store_signal *sg)
{
	struct signal_scan *sc = ctx;
	size_t i;

	sc->any_flagger |= sg->kind == STORE_SIGNAL_FLAGGER;
	sc->any_notice |= sg->kind == STORE_SIGNAL_NOTICE;
	if (sg->status != STORE_SIGNAL_OPEN)
		return 0;
	if (sg->reporter_id) {
		for (i = 0; i < sc->nreporters && sc->reporters[i] != sg->reporter_id; i++)
			;
		if (i == sc->nreporters && sc->nreporters < NOTIFIERS_MAX)
			sc->reporters[sc->nreporters++] = sg->reporter_id;
	}
	if (sg->flagger_id) {
		for (i = 0; i < sc->nflaggers && sc->flaggers[i] != sg->flagger_id; i++)
			;
		if (i == sc->nflaggers && sc->nflaggers < 64) {
			sc->flaggers[sc->nflaggers] = sg->flagger_id;
			sc->fcount[sc->nflaggers++] = 0;
		}
		if (i < sc->nflaggers)
			sc->fcount[i]++;
	}
	return 0;
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int collect_id(void *ctx, int64_t id)
{
	struct ids *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int64_t *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return PL_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

/* Removes messages ids[0..n) of chat_id for statement st. */
static int remove_messages(struct core_tx *tx, const struct store_statement *st, int64_t chat_id, const int64_t *ids,
			   size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = store_message_moderate(tx->s, chat_id, ids[i], 1)) == PL_NOTFOUND && n > 1)
			continue; /* deleted meanwhile: nothing to take down */
		if (rc == PL_NOTFOUND)
			return core_fail(tx, rc, PLC_ACTION_INVALID, "message %lld is already deleted", (long long)ids[i]);
		if (rc < 0 || (rc = store_statement_message_add(tx->s, st->id, chat_id, ids[i])) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not remove message %lld", (long long)ids[i]);
		ev(tx, BUS_MESSAGE_DELETE, chat_id, ids[i], 0, 0);
	}
	return 0;
}

struct sess_ids {
	struct core_tx *tx;
	int64_t uid;
};

static int end_session(void *ctx, const struct store_session *ss)
{
	struct sess_ids *s = ctx;

	ev(s->tx, BUS_SESSION_END, 0, 0, s->uid, ss->id);
	return 0;
}

/* Carries out the decision recorded in st (its row exists). */
static int apply_action(struct core_tx *tx, const struct store_statement *st, const struct store_case *cs)
{
	struct store_restriction r;
	struct ids ids = {0};
	int rc = 0;

	switch (st->action) {
	case MOD_ACT_REMOVE_MESSAGE:
		return remove_messages(tx, st, cs->chat_id, &cs->msg_id, 1);
	case MOD_ACT_REMOVE_USER_MESSAGES:
		if ((rc = store_message_ids_by_sender(tx->s, cs->chat_id, cs->user_id, collect_id, &ids)) < 0) {
			free(ids.v);
			return core_fail(tx, rc, PLC_INTERNAL, "could not list the user's messages");
		}
		rc = remove_messages(tx, st, cs->chat_id, ids.v, ids.n);
		free(ids.v);
		return rc;
	case MOD_ACT_RESTRICT:
		memset(&r, 0, sizeof r);
		r.chat_id = cs->chat_id;
		r.msg_id = cs->target == STORE_TARGET_MESSAGE ? cs->msg_id : 0;
		snprintf(r.territories, sizeof r.territories, "%s", st->territories);
		r.statement_id = st->id;
		r.created_at = tx->now;
		if ((rc = store_restriction_add(tx->s, &r)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not save the restriction");
		if (r.msg_id) /* clients re-render it: withheld where it applies */
			ev(tx, BUS_MESSAGE_EDIT, r.chat_id, r.msg_id, 0, 0);
		else
			ev(tx, BUS_CHAT, r.chat_id, 0, 0, 0);
		return 0;
	case MOD_ACT_BAN_CHAT:
		if ((rc = store_chat_set_ban(tx->s, cs->chat_id, st->id)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not ban the chat");
		ev(tx, BUS_CHAT, cs->chat_id, 0, 0, 0);
		return 0;
	case MOD_ACT_SUSPEND_USER: {
		struct sess_ids si = {tx, st->affected_user_id};
		if ((rc = store_user_set_suspension(tx->s, st->affected_user_id, st->end_date, st->id)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "could not suspend the account");
		core_user_forget(tx, st->affected_user_id);
		/* Live connections close now; the sessions answer ACCOUNT_SUSPENDED. */
		(void)store_session_list(tx->s, st->affected_user_id, end_session, &si);
		return 0;
	}
	}
	return 0; /* warn, dismiss: the statement is the action */
}

static int affected_user(struct core_tx *tx, const struct store_case *cs, int64_t *uid, int64_t *content_date)
{
	struct store_message m;
	struct store_chat c;
	struct store_user u;
	int rc;

	*uid = cs->user_id;
	*content_date = 0;
	if (cs->target == STORE_TARGET_MESSAGE &&
	    (rc = store_message_get(tx->s, cs->chat_id, cs->msg_id, &m)) == 0) {
		*content_date = m.date;
		store_message_release(&m);
	} else if (cs->target == STORE_TARGET_CHAT && store_chat_get(tx->s, cs->chat_id, &c) == 0) {
		*uid = c.creator_id;
		*content_date = c.created_at;
	} else if (cs->target == STORE_TARGET_USER && store_user_get(tx->s, cs->user_id, &u) == 0) {
		*content_date = u.created_at;
	}
	return 0;
}

/* Message to a reporter about the decision on their report. */
static int tell_notifier(struct core_tx *tx, int64_t uid, const struct store_statement *st)
{
	char text[600], when[32];

	mod_time_iso(st->appeal_until, when, sizeof when);
	if (st->action == MOD_ACT_DISMISS)
		snprintf(text, sizeof text,
			 "Your report (%s) was reviewed: no action was taken. The reasons are in statement of reasons "
			 "#%lld (getStatement). You can appeal until %s with appealDecision.",
			 cat_label(st->category), (long long)st->id, when);
	else
		snprintf(text, sizeof text,
			 "Your report (%s) was reviewed and acted on: %s. The reasons are in statement of reasons #%lld "
			 "(getStatement). Thank you.",
			 cat_label(st->category), mod_action_name(st->action), (long long)st->id);
	return notify(tx, uid, text, st->id);
}

static int decide_check(struct core_tx *tx, const struct core_decision *d, const struct store_case *cs,
			int chat_type)
{
	int64_t warnings = 0;
	int rc;

	if (!mod_action_fits(d->action, cs->target, chat_type))
		return core_fail(tx, PL_INVAL, PLC_ACTION_INVALID, "%s does not apply to a %s%s", mod_action_name(d->action),
				 target_name(cs->target),
				 chat_type == STORE_CHAT_PRIVATE ? " in a private chat" : "");
	if (d->action != MOD_ACT_DISMISS && (!d->ground || !d->reference || !d->reference[0]))
		return core_fail(tx, PL_INVAL, PLC_GROUND_INVALID,
				 "a decision needs ground \"illegal\" or \"terms\" and the provision or clause relied on");
	if (!d->facts || !d->facts[0])
		return core_fail(tx, PL_INVAL, PLC_PARAM_MISSING, "facts is required: the facts and circumstances relied on");
	if (d->action == MOD_ACT_RESTRICT && (!d->territories || !d->territories[0]))
		return core_fail(tx, PL_INVAL, PLC_TERRITORY_INVALID, "restrict needs territories (ISO 3166-1 alpha-2 codes)");
	if (d->action != MOD_ACT_RESTRICT && d->territories && d->territories[0])
		return core_fail(tx, PL_INVAL, PLC_TERRITORY_INVALID, "only restrict is territorial; the others apply everywhere");
	if (d->action != MOD_ACT_SUSPEND_USER && d->duration_days)
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "duration_days applies to suspend_user only");
	if (d->action == MOD_ACT_SUSPEND_USER) {
		if ((rc = store_statement_count_warnings(tx->s, cs->user_id, &warnings)) < 0)
			return core_fail(tx, rc, PLC_INTERNAL, "warning lookup failed");
		if (!mod_suspend_allowed(warnings, d->manifestly_illegal))
			return core_fail(tx, PL_DENIED, PLC_WARNING_REQUIRED,
					 "user %lld has no earlier warning: warn first (warn_user), or set manifestly_illegal "
					 "for manifestly illegal content (DSA Art. 23)", (long long)cs->user_id);
	}
	return 0;
}

int core_mod_decide(struct core_tx *tx, const struct core_decision *d, struct store_statement *st)
{
	struct store_case cs;
	struct store_chat chat;
	struct signal_scan *sc = NULL;
	char details[DETAILS_MAX], subject[96], kind[48], terr[STORE_TERRITORIES_SZ + 8];
	struct core_target t;
	char *text = NULL;
	int chat_type = 0, rc;

	memset(st, 0, sizeof *st);
	rc = store_case_get(tx->s, d->case_id, &cs);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_CASE_NOT_FOUND, "no case %lld", (long long)d->case_id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "case lookup failed");
	if (cs.status != STORE_CASE_OPEN)
		return core_fail(tx, PL_INVAL, PLC_CASE_DECIDED, "case %lld was decided (statement %lld)",
				 (long long)cs.id, (long long)cs.statement_id);
	if (cs.chat_id && store_chat_get(tx->s, cs.chat_id, &chat) == 0)
		chat_type = chat.type;
	if (d->category && !mod_category(d->category))
		return core_fail(tx, PL_INVAL, PLC_CATEGORY_INVALID, "unknown category");
	if ((rc = decide_check(tx, d, &cs, chat_type)) < 0)
		return rc;
	if (!(sc = calloc(1, sizeof *sc)))
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	if ((rc = store_signal_list_case(tx->s, cs.id, 1000000, scan_signal, sc)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "signal lookup failed");
		goto out;
	}

	st->case_id = cs.id;
	st->action = d->action;
	st->decided_by = tx->uid;
	st->created_at = tx->now;
	st->target = cs.target;
	st->chat_id = cs.chat_id;
	st->msg_id = cs.msg_id;
	st->category = d->category ? d->category : cs.category;
	st->ground = d->ground;
	st->manifestly_illegal = d->manifestly_illegal;
	st->source = sc->any_flagger ? MOD_SRC_FLAGGER : sc->any_notice ? MOD_SRC_NOTICE : MOD_SRC_REPORT;
	affected_user(tx, &cs, &st->affected_user_id, &st->content_date);
	if (d->action == MOD_ACT_SUSPEND_USER)
		st->end_date = d->duration_days ? tx->now + d->duration_days * 86400 : -1;
	snprintf(st->territories, sizeof st->territories, "%s", d->territories ? d->territories : "");
	st->appeal_until = tx->now + (int64_t)PL_APPEAL_WINDOW_DAYS * 86400;
	st->reference = (char *)(d->reference ? d->reference : "");
	st->facts = (char *)d->facts;

	mod_json_str(terr, sizeof terr, st->territories);
	snprintf(details, sizeof details,
		 "{\"case\":%lld,\"action\":\"%s\",\"category\":\"%s\",\"ground\":\"%s\",\"source\":\"%s\","
		 "\"target\":\"%s\",\"affected_user\":%lld,\"automated_detection\":false,\"automated_decision\":false,"
		 "\"territories\":%s,\"end_date\":%lld,\"manifestly_illegal\":%s}",
		 (long long)cs.id, mod_action_name(d->action), cat_name(st->category),
		 st->ground == MOD_GROUND_ILLEGAL ? "illegal" : st->ground == MOD_GROUND_TERMS ? "terms" : "none",
		 mod_source_name(st->source), target_name(cs.target), (long long)st->affected_user_id, terr,
		 (long long)st->end_date, d->manifestly_illegal ? "true" : "false");
	snprintf(subject, sizeof subject, "case:%lld", (long long)cs.id);
	if ((rc = audit(tx, "decision", subject, details)) < 0)
		goto out;
	if ((rc = store_statement_create(tx->s, st)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not save the statement of reasons");
		goto out;
	}
	/* The action, on its target, then the statement that explains it. */
	t = (struct core_target){cs.target, cs.chat_id, cs.msg_id, cs.user_id};
	target_subject(&t, subject, sizeof subject);
	if (d->action == MOD_ACT_SUSPEND_USER || d->action == MOD_ACT_WARN_USER)
		snprintf(subject, sizeof subject, "user:%lld", (long long)st->affected_user_id);
	snprintf(kind, sizeof kind, "action.%s", mod_action_name(d->action));
	snprintf(details, sizeof details, "{\"statement\":%lld,\"case\":%lld,\"territories\":%s,\"end_date\":%lld}",
		 (long long)st->id, (long long)cs.id, terr, (long long)st->end_date);
	if ((rc = audit(tx, kind, subject, details)) < 0 || (rc = apply_action(tx, st, &cs)) < 0)
		goto out;

	snprintf(subject, sizeof subject, "statement:%lld", (long long)st->id);
	snprintf(details, sizeof details,
		 "{\"case\":%lld,\"action\":\"%s\",\"affected_user\":%lld,\"notifiers\":%zu,\"appeal_until\":%lld}",
		 (long long)cs.id, mod_action_name(d->action), (long long)st->affected_user_id, sc->nreporters,
		 (long long)st->appeal_until);
	if ((rc = audit(tx, "statement", subject, details)) < 0)
		goto out;
	if (!(text = statement_text(tx, st)) || (rc = store_statement_set_text(tx->s, st->id, text)) < 0) {
		rc = core_fail(tx, text ? rc : PL_NOMEM, PLC_INTERNAL, "could not write the statement");
		goto out;
	}
	if (d->action != MOD_ACT_DISMISS && (rc = notify(tx, st->affected_user_id, text, st->id)) < 0)
		goto out;
	for (size_t i = 0; i < sc->nreporters; i++)
		if (sc->reporters[i] != st->affected_user_id && (rc = tell_notifier(tx, sc->reporters[i], st)) < 0)
			goto out;
	for (size_t i = 0; i < sc->nflaggers; i++) {
		int upheld = d->action != MOD_ACT_DISMISS;
		if ((rc = store_flagger_count(tx->s, sc->flaggers[i], 0, upheld ? sc->fcount[i] : 0,
					      upheld ? 0 : sc->fcount[i])) < 0) {
			rc = core_fail(tx, rc, PLC_INTERNAL, "could not count the flagger's accuracy");
			goto out;
		}
	}
	if ((rc = store_signal_close_case(tx->s, cs.id,
					  d->action == MOD_ACT_DISMISS ? STORE_SIGNAL_DISMISSED : STORE_SIGNAL_UPHELD,
					  st->id)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not close the signals");
		goto out;
	}
	cs.status = STORE_CASE_DECIDED;
	cs.closed_at = cs.updated_at = tx->now;
	cs.statement_id = st->id;
	if ((rc = store_case_update(tx->s, &cs)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not close the case");
		goto out;
	}
	/* The caller gets the statement with copies it owns. */
	st->reference = strdup(st->reference);
	st->facts = strdup(st->facts);
	st->text = text;
	text = NULL;
	if (!st->reference || !st->facts) {
		store_statement_release(st);
		rc = core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	}
out:
	if (rc < 0 && st->text == NULL) {
		st->reference = st->facts = NULL; /* borrowed */
	}
	free(text);
	free(sc);
	return rc;
}

/* --- appeals ------------------------------------------------------------------ */

struct notifier_check {
	int64_t uid;
	const char *reference;
	int found;
};

static int find_notifier(void *ctx, const struct store_signal *sg)
{
	struct notifier_check *n = ctx;

	if ((n->uid && sg->reporter_id == n->uid) || (n->reference && !strcmp(sg->reference, n->reference))) {
		n->found = 1;
		return 1;
	}
	return 0;
}

static int is_notifier(struct core_tx *tx, int64_t case_id, int64_t uid, const char *reference)
{
	struct notifier_check n = {uid, reference, 0};

	if (!case_id || (!uid && !reference))
		return 0;
	(void)store_signal_list_case(tx->s, case_id, 1000000, find_notifier, &n);
	return n.found;
}

struct open_appeal {
	int64_t uid;
	const char *reference;
	int found;
};

static int find_open_appeal(void *ctx, const struct store_appeal *a)
{
	struct open_appeal *o = ctx;

	if (a->status == STORE_APPEAL_OPEN &&
	    ((o->uid && a->appellant_id == o->uid) || (!o->uid && o->reference && !strcmp(a->reference, o->reference))))
		o->found = 1;
	return o->found;
}

int core_mod_appeal(struct core_tx *tx, int64_t statement_id, const char *reference, const char *text,
		    struct store_appeal *out)
{
	struct store_statement st;
	struct open_appeal oa = {tx->uid, reference, 0};
	char subject[48], details[256];
	int allowed, rc;

	memset(out, 0, sizeof *out);
	rc = store_statement_get(tx->s, statement_id, &st);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_STATEMENT_NOT_FOUND, "no statement %lld", (long long)statement_id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "statement lookup failed");
	if (st.action == MOD_ACT_DISMISS)
		allowed = is_notifier(tx, st.case_id, tx->uid, tx->uid ? NULL : reference);
	else
		allowed = tx->uid && st.affected_user_id == tx->uid && st.action != MOD_ACT_REVERSAL;
	if (!allowed) {
		rc = core_fail(tx, PL_DENIED, PLC_APPEAL_FORBIDDEN,
			       "only the affected user, or a notifier whose notice was dismissed, may appeal statement %lld",
			       (long long)statement_id);
		goto out;
	}
	if (st.reversed_by) {
		rc = core_fail(tx, PL_INVAL, PLC_APPEAL_DECIDED, "statement %lld was already reversed (statement %lld)",
			       (long long)statement_id, (long long)st.reversed_by);
		goto out;
	}
	if (tx->now > st.appeal_until) {
		rc = core_fail(tx, PL_DENIED, PLC_APPEAL_EXPIRED, "the appeal period of statement %lld has ended",
			       (long long)statement_id);
		goto out;
	}
	if ((rc = store_appeal_list_statement(tx->s, statement_id, find_open_appeal, &oa)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "appeal lookup failed");
		goto out;
	}
	if (oa.found) {
		rc = core_fail(tx, PL_EXISTS, PLC_APPEAL_EXISTS, "you already appealed statement %lld",
			       (long long)statement_id);
		goto out;
	}
	snprintf(subject, sizeof subject, "statement:%lld", (long long)statement_id);
	snprintf(details, sizeof details, "{\"statement\":%lld,\"action\":\"%s\",\"by\":\"%s\"}", (long long)statement_id,
		 mod_action_name(st.action), st.action == MOD_ACT_DISMISS ? "notifier" : "affected_user");
	if ((rc = audit(tx, "appeal.file", subject, details)) < 0)
		goto out;
	out->statement_id = statement_id;
	out->appellant_id = tx->uid;
	if (!tx->uid && reference)
		snprintf(out->reference, sizeof out->reference, "%s", reference);
	out->created_at = tx->now;
	out->status = STORE_APPEAL_OPEN;
	if (!(out->text = strdup(text)) || !(out->outcome = strdup(""))) {
		store_appeal_release(out);
		rc = core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = store_appeal_create(tx->s, out)) < 0) {
		store_appeal_release(out);
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not save the appeal");
	}
out:
	store_statement_release(&st);
	return rc;
}

static int restore_message(void *ctx, int64_t chat_id, int64_t msg_id)
{
	struct core_tx *tx = ctx;
	int rc = store_message_moderate(tx->s, chat_id, msg_id, 0);

	if (rc == PL_NOTFOUND)
		return 0; /* restored already */
	if (rc < 0)
		return rc;
	ev(tx, BUS_MESSAGE_NEW, chat_id, msg_id, 0, 1); /* value 1: restored, not new */
	return 0;
}

/* Undoes what statement orig did. */
static int undo_action(struct core_tx *tx, const struct store_statement *orig)
{
	struct store_case cs;
	struct store_user u;
	int rc = 0;

	switch (orig->action) {
	case MOD_ACT_REMOVE_MESSAGE:
	case MOD_ACT_REMOVE_USER_MESSAGES:
		rc = store_statement_message_list(tx->s, orig->id, restore_message, tx);
		break;
	case MOD_ACT_RESTRICT:
		if ((rc = store_restriction_end(tx->s, orig->id)) == 0) {
			if (orig->target == STORE_TARGET_MESSAGE)
				ev(tx, BUS_MESSAGE_EDIT, orig->chat_id, orig->msg_id, 0, 0);
			else
				ev(tx, BUS_CHAT, orig->chat_id, 0, 0, 0);
		}
		break;
	case MOD_ACT_BAN_CHAT:
		if ((rc = store_chat_set_ban(tx->s, orig->chat_id, 0)) == 0)
			ev(tx, BUS_CHAT, orig->chat_id, 0, 0, 0);
		break;
	case MOD_ACT_SUSPEND_USER:
		if (store_user_get(tx->s, orig->affected_user_id, &u) == 0 && u.suspend_statement == orig->id)
			rc = store_user_set_suspension(tx->s, orig->affected_user_id, 0, 0);
		core_user_forget(tx, orig->affected_user_id);
		break;
	case MOD_ACT_DISMISS: /* the notifier was right: the case goes back to the queue */
		if (store_case_get(tx->s, orig->case_id, &cs) == 0 && cs.status != STORE_CASE_OPEN) {
			cs.status = STORE_CASE_OPEN;
			cs.closed_at = 0;
			cs.statement_id = 0;
			cs.updated_at = tx->now;
			rc = store_case_update(tx->s, &cs);
			if (rc == PL_EXISTS)
				rc = 0; /* a newer open case on the target holds the queue place */
			else if (rc == 0) /* its notices are pending again: the next decision answers them */
				rc = store_signal_reopen(tx->s, cs.id, orig->id);
		}
		break;
	}
	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "could not reverse the decision") : 0;
}

static int scan_flaggers(void *ctx, const struct store_signal *sg)
{
	struct signal_scan *sc = ctx;
	size_t i;

	if (!sg->flagger_id)
		return 0;
	for (i = 0; i < sc->nflaggers && sc->flaggers[i] != sg->flagger_id; i++)
		;
	if (i == sc->nflaggers && sc->nflaggers < 64) {
		sc->flaggers[sc->nflaggers] = sg->flagger_id;
		sc->fcount[sc->nflaggers++] = 0;
	}
	if (i < sc->nflaggers)
		sc->fcount[i]++;
	return 0;
}

/* A reversal turns the flaggers' upheld notices into dismissed ones, or the
 * other way round. */
static int recount_flaggers(struct core_tx *tx, const struct store_statement *orig)
{
	struct signal_scan *sc = calloc(1, sizeof *sc);
	int up = orig->action == MOD_ACT_DISMISS ? 1 : -1, rc = 0;

	if (!sc)
		return core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
	if (orig->case_id)
		rc = store_signal_list_case(tx->s, orig->case_id, 1000000, scan_flaggers, sc);
	for (size_t i = 0; rc == 0 && i < sc->nflaggers; i++)
		rc = store_flagger_count(tx->s, sc->flaggers[i], 0, up * sc->fcount[i], -up * sc->fcount[i]);
	free(sc);
	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "could not recount the flagger's accuracy") : 0;
}

static const char *undo_phrase(int action)
{
	switch (action) {
	case MOD_ACT_REMOVE_MESSAGE:
		return "the removed message is visible again";
	case MOD_ACT_REMOVE_USER_MESSAGES:
		return "the removed messages are visible again";
	case MOD_ACT_RESTRICT:
		return "the territorial restriction is lifted";
	case MOD_ACT_BAN_CHAT:
		return "the chat is no longer banned";
	case MOD_ACT_SUSPEND_USER:
		return "the suspension of the account is lifted";
	case MOD_ACT_WARN_USER:
		return "the warning is withdrawn and no longer counts";
	case MOD_ACT_DISMISS:
		return "the case is back in the moderation queue for a new decision";
	}
	return "the decision is withdrawn";
}

int core_mod_appeal_decide(struct core_tx *tx, int64_t appeal_id, int reverse, const char *text,
			   struct store_appeal *out)
{
	struct store_statement orig, rev;
	char subject[48], details[256], msg[STATEMENT_TEXT_MAX];
	char *rtext = NULL;
	int rc;

	memset(&orig, 0, sizeof orig);
	memset(&rev, 0, sizeof rev);
	rc = store_appeal_get(tx->s, appeal_id, out);
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_APPEAL_NOT_FOUND, "no appeal %lld", (long long)appeal_id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "appeal lookup failed");
	if (out->status != STORE_APPEAL_OPEN) {
		rc = core_fail(tx, PL_INVAL, PLC_APPEAL_DECIDED, "appeal %lld was decided", (long long)appeal_id);
		goto out;
	}
	if ((rc = store_statement_get(tx->s, out->statement_id, &orig)) < 0) {
		rc = core_fail(tx, rc, PLC_INTERNAL, "statement lookup failed");
		goto out;
	}
	if (orig.decided_by == tx->uid) {
		rc = core_fail(tx, PL_DENIED, PLC_APPEAL_SAME_MODERATOR,
			       "you decided statement %lld: another senior moderator decides its appeal", (long long)orig.id);
		goto out;
	}
	snprintf(subject, sizeof subject, "appeal:%lld", (long long)appeal_id);
	snprintf(details, sizeof details, "{\"statement\":%lld,\"outcome\":\"%s\",\"action\":\"%s\"}",
		 (long long)orig.id, reverse ? "reverse" : "uphold", mod_action_name(orig.action));
	if ((rc = audit(tx, "appeal.decide", subject, details)) < 0)
		goto out;
	out->decided_by = tx->uid;
	out->decided_at = tx->now;
	out->status = reverse ? STORE_APPEAL_REVERSED : STORE_APPEAL_UPHELD;
	free(out->outcome);
	if (!(out->outcome = strdup(text))) {
		rc = core_fail(tx, PL_NOMEM, PLC_INTERNAL, "out of memory");
		goto out;
	}
	if (reverse) {
		rev = orig;
		rev.id = 0;
		rev.action = MOD_ACT_REVERSAL;
		rev.decided_by = tx->uid;
		rev.created_at = tx->now;
		rev.end_date = 0;
		rev.appeal_until = 0;
		rev.reverses = orig.id;
		rev.reversed_by = 0;
		rev.reference = orig.reference;
		rev.facts = (char *)text;
		rev.text = NULL;
		if ((rc = store_statement_create(tx->s, &rev)) < 0) {
			rc = core_fail(tx, rc, PLC_INTERNAL, "could not save the reversal");
			goto out;
		}
		snprintf(subject, sizeof subject, "statement:%lld", (long long)orig.id);
		snprintf(details, sizeof details, "{\"reversal\":%lld,\"appeal\":%lld,\"action\":\"%s\"}", (long long)rev.id,
			 (long long)appeal_id, mod_action_name(orig.action));
		if ((rc = audit(tx, "action.reverse", subject, details)) < 0 || (rc = undo_action(tx, &orig)) < 0 ||
		    (rc = recount_flaggers(tx, &orig)) < 0)
			goto out;
		if ((rc = store_statement_set_reversed(tx->s, orig.id, rev.id)) < 0) {
			rc = core_fail(tx, rc, PLC_INTERNAL, "could not mark the statement reversed");
			goto out;
		}
		snprintf(msg, sizeof msg,
			 "Statement of reasons #%lld: the decision of statement #%lld is reversed after appeal #%lld: %s.\n"
			 "Reasons: %s\nDecided by a senior moderator other than the one who took the first decision (DSA Art. 20).",
			 (long long)rev.id, (long long)orig.id, (long long)appeal_id, undo_phrase(orig.action), text);
		if (!(rtext = strdup(msg)) || (rc = store_statement_set_text(tx->s, rev.id, rtext)) < 0) {
			rc = core_fail(tx, rtext ? rc : PL_NOMEM, PLC_INTERNAL, "could not write the reversal");
			goto out;
		}
		out->result_statement_id = rev.id;
		if (orig.action != MOD_ACT_DISMISS && (rc = notify(tx, orig.affected_user_id, msg, rev.id)) < 0)
			goto out;
		if (out->appellant_id && out->appellant_id != orig.affected_user_id &&
		    (rc = notify(tx, out->appellant_id, msg, rev.id)) < 0)
			goto out;
	} else {
		snprintf(msg, sizeof msg,
			 "Your appeal #%lld against statement of reasons #%lld was reviewed by a senior moderator and the "
			 "decision stands.\nReasons: %s\nYou may still turn to a certified out-of-court dispute settlement "
			 "body (DSA Art. 21) or to a court.",
			 (long long)appeal_id, (long long)orig.id, text);
		if (out->appellant_id && (rc = notify(tx, out->appellant_id, msg, orig.id)) < 0)
			goto out;
	}
	if ((rc = store_appeal_update(tx->s, out)) < 0)
		rc = core_fail(tx, rc, PLC_INTERNAL, "could not save the appeal");
out:
	free(rtext);
	store_statement_release(&orig);
	if (rc < 0)
		store_appeal_release(out);
	return rc;
}

/* --- roles, flaggers, statements ----------------------------------------------- */

int core_mod_role_get(struct core_tx *tx, int64_t uid, int *role)
{
	int rc = store_role_get(tx->s, uid, role);

	return rc < 0 ? core_fail(tx, rc, PLC_INTERNAL, "role lookup failed") : 0;
}

int core_mod_role_set(struct core_tx *tx, int64_t uid, int role)
{
	struct store_user u;
	char subject[48], details[128];
	int rc;

	if ((rc = core_user_get(tx, uid, &u)) < 0)
		return rc;
	if (role < MOD_ROLE_NONE || role > MOD_ROLE_ADMIN)
		return core_fail(tx, PL_INVAL, PLC_ROLE_INVALID, "role is moderator, senior_moderator or admin");
	snprintf(subject, sizeof subject, "user:%lld", (long long)uid);
	snprintf(details, sizeof details, "{\"role\":\"%s\"}", role ? mod_role_name(role) : "none");
	if ((rc = audit(tx, role ? "role.grant" : "role.revoke", subject, details)) < 0)
		return rc;
	if ((rc = store_role_set(tx->s, uid, role, tx->uid, tx->now)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not save the role");
	return 0;
}

int core_mod_flagger_register(struct core_tx *tx, const char *name, const char *email, char key[72],
			      struct store_flagger *out)
{
	unsigned char raw[32];
	char hex[65], details[1300], jname[600], jemail[600];
	int rc;

	memset(out, 0, sizeof *out);
	if (!name || !*name || strspn(name, " \t\r\n") == strlen(name))
		return core_fail(tx, PL_INVAL, PLC_PARAM_INVALID, "a trusted flagger needs a name");
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	snprintf(key, 72, "pfk_%s", hex);
	core_token_hash(key, out->key_hash);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->email, sizeof out->email, "%s", email ? email : "");
	out->created_at = tx->now;
	out->active = 1;
	mod_json_str(jname, sizeof jname, out->name);
	mod_json_str(jemail, sizeof jemail, out->email);
	snprintf(details, sizeof details, "{\"name\":%s,\"email\":%s}", jname, jemail);
	if ((rc = audit(tx, "flagger.register", "flagger", details)) < 0)
		return rc;
	if ((rc = store_flagger_create(tx->s, out)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not register the flagger");
	return 0;
}

int core_mod_flagger_auth(struct core_tx *tx, const char *key, struct store_flagger *out)
{
	char hash[STORE_TOKEN_HASH_SZ];
	int rc;

	if (!key || !*key)
		return core_fail(tx, PL_DENIED, PLC_FLAGGER_KEY_INVALID, "no trusted-flagger key");
	core_token_hash(key, hash);
	rc = store_flagger_find_key(tx->s, hash, out);
	if (rc == 0 && !out->active)
		rc = PL_NOTFOUND;
	if (rc == PL_NOTFOUND)
		return core_fail(tx, PL_DENIED, PLC_FLAGGER_KEY_INVALID, "unknown or revoked trusted-flagger key");
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "flagger lookup failed");
	return 0;
}

int core_mod_statement_get(struct core_tx *tx, int64_t id, int role, struct store_statement *out)
{
	int rc = store_statement_get(tx->s, id, out);

	if (rc == 0 && role < MOD_ROLE_MODERATOR) {
		int affected = tx->uid && out->affected_user_id == tx->uid && out->action != MOD_ACT_DISMISS;
		if (!affected && !is_notifier(tx, out->case_id, tx->uid, NULL)) {
			store_statement_release(out);
			rc = PL_NOTFOUND;
		}
	}
	if (rc == PL_NOTFOUND)
		return core_fail(tx, rc, PLC_STATEMENT_NOT_FOUND, "no statement %lld for you", (long long)id);
	if (rc < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "statement lookup failed");
	return 0;
}

/* --- enforcement -------------------------------------------------------------- */

int core_mod_suspension_check(struct core_tx *tx, int64_t until, int64_t statement_id)
{
	struct store_statement st;
	char when[32], why[160] = "";

	if (!until || (until > 0 && until <= tx->now))
		return 0;
	if (statement_id && store_statement_get(tx->s, statement_id, &st) == 0) {
		snprintf(why, sizeof why, ": %s; %s, %.60s", cat_label(st.category),
			 st.ground == MOD_GROUND_ILLEGAL ? "illegal under" : "against the terms of service,",
			 st.reference ? st.reference : "");
		store_statement_release(&st);
	}
	if (until < 0)
		snprintf(when, sizeof when, "permanently");
	else
		mod_time_iso(until, when, sizeof when);
	return core_fail(tx, PL_DENIED, PLC_ACCOUNT_SUSPENDED,
			 "this account is suspended %s%s%s (statement of reasons %lld%s). getStatement and "
			 "appealDecision still work with an existing session",
			 until < 0 ? "" : "until ", when, "", (long long)statement_id, why);
}

const char *core_viewer_country(struct core_tx *tx)
{
	uint32_t ip;

	if (!tx->country_known) {
		if (!tx->country[0] && tx->ip && mod_ipv4_parse(tx->ip, &ip) == 0)
			(void)store_geoip_lookup(tx->s, ip, tx->country);
		tx->country_known = 1;
	}
	return tx->country;
}

static int count_restr(void *ctx, const struct store_restriction *r)
{
	(*(int *)ctx)++;
	return 0;
}

struct withheld_find {
	int64_t msg_id;
	const char *country;
	struct store_restriction *out;
};

static int match_restr(void *ctx, const struct store_restriction *r)
{
	struct withheld_find *w = ctx;

	if ((r->msg_id == 0 || r->msg_id == w->msg_id) && mod_territory_has(r->territories, w->country)) {
		*w->out = *r;
		return 1;
	}
	return 0;
}

int core_mod_withheld(struct core_tx *tx, int64_t chat_id, int64_t msg_id, struct store_restriction *r)
{
	struct withheld_find w = {msg_id, NULL, r};
	int n = 0, rc;

	if (!tx->viewer || !chat_id || tx->restr_none)
		return 0;
	if (!tx->restr_chat) { /* first look in this call: most of the time there are none at all */
		int64_t all = 0;
		if ((rc = store_restriction_count(tx->s, &all)) < 0)
			return rc;
		if (!all) {
			tx->restr_none = 1;
			return 0;
		}
	}
	if (tx->restr_chat != chat_id) {
		if ((rc = store_restriction_list_chat(tx->s, chat_id, count_restr, &n)) < 0)
			return rc;
		tx->restr_chat = chat_id;
		tx->restr_any = n > 0;
	}
	if (!tx->restr_any)
		return 0;
	w.country = core_viewer_country(tx);
	if (!w.country[0])
		return 0;
	rc = store_restriction_list_chat(tx->s, chat_id, match_restr, &w);
	return rc < 0 ? rc : rc == 1;
}

int core_mod_admin_action(struct core_tx *tx, int64_t chat_id, int action, int64_t msg_id, int64_t user_id)
{
	struct store_admin_action_row a = {0, chat_id, tx->uid, action, msg_id, user_id, tx->now};
	char subject[48], details[128];
	int64_t cases = 0;
	int rc;

	if ((rc = store_case_count_chat(tx->s, chat_id, &cases)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "case lookup failed");
	if (!cases)
		return 0; /* nothing reported here: an ordinary admin action */
	snprintf(subject, sizeof subject, "chat:%lld", (long long)chat_id);
	snprintf(details, sizeof details, "{\"message\":%lld,\"user\":%lld}", (long long)msg_id, (long long)user_id);
	if ((rc = audit(tx, action == STORE_ADMIN_BAN ? "chat_admin.ban" : "chat_admin.delete", subject, details)) < 0)
		return rc;
	if ((rc = store_admin_action_add(tx->s, &a)) < 0)
		return core_fail(tx, rc, PLC_INTERNAL, "could not record the admin's action");
	return 0;
}
