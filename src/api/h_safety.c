/*
 * h_safety.c — API handlers of trust & safety (docs/policy.md): reports,
 * notices and trusted flaggers, the moderation queue and cases, decisions
 * and statements of reasons (with their DSA Transparency Database export),
 * appeals, platform roles, and chat admins' view of reports.
 *
 * Who may call what is decided by each method's scope in methods.c, checked
 * by the dispatcher (server.c); the rules live in src/core/moderation.c.
 * Parameter positions follow each method's row in methods.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "api/handlers.h"
#include "api/render.h"
#include "core/core.h"
#include "util/ratelimit.h"

#define EXCERPT_CHARS 200     /* of a reported message, in the queue */
#define HISTORY_MAX 50        /* earlier statements shown with a case */
#define ADMIN_ACTIONS_MAX 50  /* chat admins' actions shown with a case */

static const char *const kinds[] = {"", "report", "notice", "trusted_flagger"};
static const char *const signal_statuses[] = {"open", "action_taken", "dismissed"};
static const char *const appeal_statuses[] = {"open", "upheld", "reversed"};
static const char *const target_types[] = {"", "message", "chat", "user"};
static const char *const chat_types[] = {"", "private", "group", "channel"};

/* The EEA, for the DSA territorial_scope of a decision that applies everywhere. */
static const char *const eea[] = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
				  "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"};

static const char *pick(const char *const *v, size_t n, int i)
{
	return i >= 0 && (size_t)i < n ? v[i] : "";
}
#define PICK(v, i) pick((v), sizeof(v) / sizeof((v)[0]), (i))

static const char *cat_name(int c)
{
	const struct mod_category_info *ci = mod_category(c);

	return ci ? ci->name : "other";
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

/* "DE,FR" as ["DE","FR"]. */
static json_t *territory_list(const char *list)
{
	json_t *a = json_array();
	char cc[3] = "";

	for (const char *p = list; p && p[0] && p[1]; p += p[2] ? 3 : 2) {
		cc[0] = p[0];
		cc[1] = p[1];
		json_array_append_new(a, json_string(cc));
		if (!p[2])
			break;
	}
	return a;
}

/* --- users, chats and messages as moderators see them --------------------- */

static json_t *mod_user(struct core_tx *tx, int64_t uid)
{
	struct store_user u;
	json_t *j;

	if (!uid)
		return json_null();
	if (store_user_get(tx->s, uid, &u) < 0)
		return json_pack("{s:I, s:s}", "id", (json_int_t)uid, "first_name", "Deleted Account");
	j = render_user(&u, 0);
	if (j && u.suspended_until) {
		json_object_set_new(j, "suspended_until", json_integer(u.suspended_until));
		json_object_set_new(j, "suspend_statement_id", json_integer(u.suspend_statement));
	}
	if (j && u.country[0])
		json_object_set_new(j, "country", json_string(u.country));
	return j;
}

/* A chat as moderators name it: groups and channels by their client id;
 * private chats by their two users (it has no single client id). */
static json_t *mod_chat(struct core_tx *tx, const struct store_chat *c)
{
	json_t *j = json_pack("{s:s}", "type", PICK(chat_types, c->type));

	if (!j)
		return NULL;
	if (c->type == STORE_CHAT_PRIVATE) {
		json_object_set_new(j, "users", json_pack("[o, o]", mod_user(tx, c->user_lo), mod_user(tx, c->user_hi)));
		return j;
	}
	json_object_set_new(j, "id", json_integer(-c->id));
	json_object_set_new(j, "title", json_string(c->title));
	if (c->username[0])
		json_object_set_new(j, "username", json_string(c->username));
	json_object_set_new(j, "member_count", json_integer(c->member_count));
	json_object_set_new(j, "creator", mod_user(tx, c->creator_id));
	if (c->ban_statement)
		json_object_set_new(j, "ban_statement_id", json_integer(c->ban_statement));
	return j;
}

/* A message with what moderators need, removed ones included. */
static json_t *mod_message(struct core_tx *tx, const struct store_message *m)
{
	json_t *j = json_pack("{s:I, s:I, s:o}", "message_id", (json_int_t)m->id, "date", (json_int_t)m->date, "from",
			      mod_user(tx, m->sender_id));

	if (!j)
		return NULL;
	if (m->service)
		json_object_set_new(j, "service", json_true());
	else if (m->text)
		json_object_set_new(j, "text", json_string(m->text));
	if (m->deleted == STORE_DELETED)
		json_object_set_new(j, "state", json_string("deleted"));
	else if (m->deleted == STORE_REMOVED)
		json_object_set_new(j, "state", json_string("removed"));
	else
		json_object_set_new(j, "state", json_string("visible"));
	if (m->edit_date)
		json_object_set_new(j, "edit_date", json_integer(m->edit_date));
	if (m->reply_to_id)
		json_object_set_new(j, "reply_to_message_id", json_integer(m->reply_to_id));
	if (m->fwd_date)
		json_object_set_new(j, "forwarded", json_true());
	return j;
}

static json_t *excerpt(const char *text)
{
	char buf[EXCERPT_CHARS * 4 + 8];
	size_t n = 0, chars = 0;

	if (!text)
		return json_null();
	while (text[n] && chars < EXCERPT_CHARS) {
		n++;
		while (((unsigned char)text[n] & 0xC0) == 0x80)
			n++;
		chars++;
	}
	snprintf(buf, sizeof buf, "%.*s%s", (int)n, text, text[n] ? "…" : "");
	return json_string(buf);
}

static json_t *render_target(struct core_tx *tx, int type, int64_t chat_id, int64_t msg_id, int64_t user_id)
{
	struct store_chat c;
	json_t *j = json_pack("{s:s}", "type", PICK(target_types, type));

	if (!j)
		return NULL;
	if (chat_id && store_chat_get(tx->s, chat_id, &c) == 0)
		json_object_set_new(j, "chat", mod_chat(tx, &c));
	if (msg_id)
		json_object_set_new(j, "message_id", json_integer(msg_id));
	if (user_id)
		json_object_set_new(j, "user", mod_user(tx, user_id));
	return j;
}

static json_t *render_case(struct core_tx *tx, const struct store_case *c, int with_excerpt)
{
	struct store_message m;
	json_t *j = json_pack("{s:I, s:s, s:o, s:s, s:i, s:I, s:b, s:I, s:b, s:I, s:I}", "case_id", (json_int_t)c->id,
			      "status", c->status == STORE_CASE_OPEN ? "open" : "decided", "target",
			      render_target(tx, c->target, c->chat_id, c->msg_id, c->user_id), "category",
			      cat_name(c->category), "priority", c->priority, "signals", (json_int_t)c->signals,
			      "trusted_flagger", c->flagged, "deadline", (json_int_t)c->deadline, "overdue",
			      c->status == STORE_CASE_OPEN && c->deadline < tx->now, "opened_at", (json_int_t)c->opened_at,
			      "updated_at", (json_int_t)c->updated_at);

	if (!j)
		return NULL;
	if (c->statement_id)
		json_object_set_new(j, "statement_id", json_integer(c->statement_id));
	if (with_excerpt && c->target == STORE_TARGET_MESSAGE &&
	    store_message_get(tx->s, c->chat_id, c->msg_id, &m) == 0) {
		json_object_set_new(j, "excerpt", excerpt(m.text));
		store_message_release(&m);
	}
	return j;
}

static json_t *render_flagger(const struct store_flagger *f)
{
	int64_t decided = f->upheld + f->dismissed;
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:b, s:I, s:I, s:I}", "flagger_id", (json_int_t)f->id, "name",
			      f->name, "email", f->email, "registered_at", (json_int_t)f->created_at, "active", f->active,
			      "notices", (json_int_t)f->notices, "upheld", (json_int_t)f->upheld, "dismissed",
			      (json_int_t)f->dismissed);

	if (j) /* the share of its decided notices that were acted on */
		json_object_set_new(j, "accuracy", decided ? json_real((double)f->upheld / (double)decided) : json_null());
	return j;
}

static json_t *render_signal(struct core_tx *tx, const struct store_signal *sg)
{
	struct store_flagger f;
	json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "signal_id", (json_int_t)sg->id, "case_id",
			      (json_int_t)sg->case_id, "kind", PICK(kinds, sg->kind), "category", cat_name(sg->category),
			      "text", sg->text ? sg->text : "", "created_at", (json_int_t)sg->created_at, "deadline",
			      (json_int_t)sg->deadline, "status", PICK(signal_statuses, sg->status));

	if (!j)
		return NULL;
	if (sg->reporter_id)
		json_object_set_new(j, "reporter", mod_user(tx, sg->reporter_id));
	if (sg->plaintext) /* what the reporter says they saw in a secret chat: not verified */
		json_object_set_new(j, "reporter_supplied_plaintext",
				    json_pack("{s:s, s:b, s:s}", "text", sg->plaintext, "reporter_supplied", 1, "note",
					      "supplied by the reporter from their own device; the server cannot verify it"));
	if (sg->reference[0])
		json_object_set_new(j, "reference", json_string(sg->reference));
	if (sg->name[0] || sg->email[0])
		json_object_set_new(j, "notifier", json_pack("{s:s, s:s}", "name", sg->name, "email", sg->email));
	if (sg->location && sg->location[0])
		json_object_set_new(j, "location", json_string(sg->location));
	if (sg->flagger_id && store_flagger_get(tx->s, sg->flagger_id, &f) == 0)
		json_object_set_new(j, "flagger", render_flagger(&f));
	if (sg->statement_id)
		json_object_set_new(j, "statement_id", json_integer(sg->statement_id));
	return j;
}

/* A statement of reasons.  for_moderator adds who decided. */
static json_t *render_statement(struct core_tx *tx, const struct store_statement *st, int for_moderator)
{
	json_t *j = json_pack("{s:I, s:I, s:s, s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:s, s:s, s:o, s:o, s:o}",
			      "statement_id", (json_int_t)st->id, "case_id", (json_int_t)st->case_id, "action",
			      mod_action_name(st->action), "created_at", (json_int_t)st->created_at, "target",
			      json_pack("{s:s, s:I, s:I, s:I}", "type", PICK(target_types, st->target), "chat_id",
					(json_int_t)(st->chat_id ? -st->chat_id : 0), "message_id", (json_int_t)st->msg_id,
					"user_id", (json_int_t)st->affected_user_id),
			      "category", cat_name(st->category), "ground",
			      st->ground == MOD_GROUND_ILLEGAL ? json_string("illegal")
			      : st->ground == MOD_GROUND_TERMS ? json_string("terms") : json_null(),
			      "legal_provision", st->ground == MOD_GROUND_ILLEGAL ? str_or_null(st->reference) : json_null(),
			      "terms_clause", st->ground == MOD_GROUND_TERMS ? str_or_null(st->reference) : json_null(),
			      "facts", str_or_null(st->facts), "manifestly_illegal", st->manifestly_illegal,
			      "automated_detection", st->automated_detection, "automated_decision", st->automated_decision,
			      "source", mod_source_name(st->source), "text", st->text ? st->text : "", "territorial_scope",
			      st->territories[0] ? territory_list(st->territories) : json_string("worldwide"),
			      "end_date", st->end_date > 0 ? json_integer(st->end_date) : json_null(), "appeal_until",
			      time_or_null(st->appeal_until));

	if (!j)
		return NULL;
	if (st->action == MOD_ACT_SUSPEND_USER)
		json_object_set_new(j, "permanent", json_boolean(st->end_date < 0));
	if (st->reverses)
		json_object_set_new(j, "reverses", json_integer(st->reverses));
	if (st->reversed_by)
		json_object_set_new(j, "reversed_by", json_integer(st->reversed_by));
	if (for_moderator)
		json_object_set_new(j, "decided_by", mod_user(tx, st->decided_by));
	return j;
}

static json_t *render_appeal(struct core_tx *tx, const struct store_appeal *a, int for_moderator)
{
	json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:I, s:o, s:o}", "appeal_id", (json_int_t)a->id, "statement_id",
			      (json_int_t)a->statement_id, "status", PICK(appeal_statuses, a->status), "text",
			      a->text ? a->text : "", "created_at", (json_int_t)a->created_at, "decided_at",
			      time_or_null(a->decided_at), "outcome", str_or_null(a->outcome));

	if (!j)
		return NULL;
	if (a->result_statement_id)
		json_object_set_new(j, "reversal_statement_id", json_integer(a->result_statement_id));
	if (for_moderator) {
		json_object_set_new(j, "appellant", a->appellant_id ? mod_user(tx, a->appellant_id)
								 : json_pack("{s:s}", "notice_reference", a->reference));
		if (a->decided_by)
			json_object_set_new(j, "decided_by", mod_user(tx, a->decided_by));
	}
	return j;
}

/* --- signals ---------------------------------------------------------------- */

static int parse_category(struct api_call *call, int i, int *cat)
{
	if (!(*cat = mod_category_parse(api_str(call, i))))
		return api_fail(call, PLC_CATEGORY_INVALID,
				"category is one of child_sexual_abuse, terrorist_content, illegal_goods, scams_fraud, spam, "
				"violence, hate, non_consensual_imagery, privacy_violation, intellectual_property, other");
	return 0;
}

/* Records one signal per target; appends {report_id/reference, case_id,
 * message_id} to arr. */
static int signal_targets(struct api_call *call, struct core_signal_in *in, const int64_t *msg_ids, size_t n,
			  json_t *arr)
{
	struct store_signal sg;
	struct store_case cs;
	int rc;

	for (size_t i = 0; i < (n ? n : 1); i++) {
		if (n)
			in->target.msg_id = msg_ids[i];
		if ((rc = core_mod_target(call->tx, &in->target)) < 0 || (rc = core_mod_signal(call->tx, in, &sg, &cs)) < 0)
			return rc;
		json_t *row = json_pack("{s:I, s:s, s:I}", "case_id", (json_int_t)cs.id, "status", "received", "deadline",
					(json_int_t)sg.deadline);
		if (in->kind == STORE_SIGNAL_REPORT)
			json_object_set_new(row, "report_id", json_integer(sg.id));
		else
			json_object_set_new(row, "reference", json_string(sg.reference));
		if (n)
			json_object_set_new(row, "message_id", json_integer(msg_ids[i]));
		json_array_append_new(arr, row);
	}
	return 0;
}

/* reportContent: 0 category, 1 chat_id, 2 message_ids, 3 user_id, 4 text, 5 reporter_plaintext */
int h_report_content(struct api_call *call, struct store *s)
{
	struct core_signal_in in = {STORE_SIGNAL_REPORT};
	struct core_access a;
	json_t *arr;
	int rc;

	if ((rc = parse_category(call, 0, &in.category)) < 0)
		return rc;
	in.reporter_id = call->user_id;
	in.text = api_has(call, 4) ? api_str(call, 4) : NULL;
	in.plaintext = api_has(call, 5) ? api_str(call, 5) : NULL;
	if (api_has(call, 1) == api_has(call, 3) || (api_has(call, 2) && !api_has(call, 1)))
		return api_fail(call, PLC_TARGET_INVALID, "name chat_id with message_ids (messages), chat_id (a group or "
					"channel) or user_id (a user)");
	if (api_has(call, 1)) {
		/* The reporter must see what they report. */
		if ((rc = h_chat_arg(call, 1, 0, CORE_NEED_READ, &a)) < 0)
			return rc;
		for (size_t i = 0; i < call->v[2].n; i++) {
			struct store_message m;
			if ((rc = core_message_get(call->tx, &a, call->v[2].arr[i], &m)) < 0)
				return rc;
			store_message_release(&m);
		}
		in.target = (struct core_target){api_has(call, 2) ? STORE_TARGET_MESSAGE : STORE_TARGET_CHAT, a.chat.id};
		if (!api_has(call, 2) && a.chat.type == STORE_CHAT_PRIVATE) /* a private chat: report its other user */
			in.target = (struct core_target){STORE_TARGET_USER, 0, 0, core_private_peer(&a.chat, call->user_id)};
	} else {
		in.target = (struct core_target){STORE_TARGET_USER, 0, 0, api_int(call, 3)};
	}
	if (!(arr = json_array()))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	if ((rc = signal_targets(call, &in, call->v[2].arr, call->v[2].n, arr)) < 0) {
		json_decref(arr);
		return rc;
	}
	call->result = json_pack("{s:o}", "reports", arr);
	return 0;
}

/* What submitNotice's prep learned: the flagger, if it was one. */
struct notice_prep {
	int64_t flagger_id;
	char name[STORE_NAME_SZ];
	char email[STORE_EMAIL_SZ];
};

/* submitNotice: 0 category, 1 explanation, 2 good_faith, 3 chat_id, 4 message_ids, 5 user_id,
 * 6 location, 7 name, 8 email, 9 flagger_key.  The prep (reader thread)
 * authenticates a trusted flagger, or applies the per-IP limit. */
int h_submit_notice_prep(struct api_call *call, struct store *s)
{
	const char *key = api_has(call, 9) ? api_str(call, 9) : call->flagger_key;
	struct notice_prep *p = calloc(1, sizeof *p);
	struct store_flagger f;
	char rkey[96];
	int rc, wait;

	if (!p)
		return api_fail(call, PLC_INTERNAL, "out of memory");
	call->prep_data = p;
	if (key) {
		if ((rc = core_mod_flagger_auth(call->tx, key, &f)) < 0)
			return rc;
		p->flagger_id = f.id;
		snprintf(p->name, sizeof p->name, "%s", f.name);
		snprintf(p->email, sizeof p->email, "%s", f.email);
		return 0;
	}
	snprintf(rkey, sizeof rkey, "notice:%s", call->ip);
	wait = rl_take(call->core->notice_limits, rkey, call->core->notices_per_hour / 3600.0, call->core->notices_per_hour,
		       (double)call->now);
	if (wait) {
		call->retry_after = wait;
		return api_fail(call, PLC_FLOOD_WAIT, "too many notices from your address");
	}
	return 0;
}

/* The chat a notice names: a group or channel by id or @username, or (for a
 * logged-in notifier) their private chat with a user. */
static int notice_chat(struct api_call *call, int i, int64_t *chat_id)
{
	const struct api_value *v = &call->v[i];
	struct store_chat c;
	struct core_access a;
	int rc;

	if (v->s) {
		char name[STORE_USERNAME_SZ];
		if (core_username_normalize(v->s, name) < 0 || (rc = store_chat_find(call->tx->s, name, &c)) == PL_NOTFOUND)
			return api_fail(call, PLC_CHAT_NOT_FOUND, "no public chat @%s", v->s);
		if (rc < 0)
			return api_fail(call, PLC_INTERNAL, "chat lookup failed");
		*chat_id = c.id;
		return 0;
	}
	if (v->i < 0) {
		*chat_id = -v->i;
		return 0;
	}
	if (!call->user_id)
		return api_fail(call, PLC_CHAT_NOT_FOUND, "name a group or channel (negative id or @username)");
	if ((rc = core_chat_resolve(call->tx, v->i, NULL, 0, CORE_NEED_MEMBER, &a)) < 0)
		return rc;
	*chat_id = a.chat.id;
	return 0;
}

int h_submit_notice(struct api_call *call, struct store *s)
{
	struct notice_prep *p = call->prep_data;
	struct core_signal_in in = {STORE_SIGNAL_NOTICE};
	json_t *arr;
	int rc;

	if ((rc = parse_category(call, 0, &in.category)) < 0)
		return rc;
	if (!api_int(call, 2))
		return api_fail(call, PLC_GOOD_FAITH_REQUIRED,
				"confirm that you believe in good faith that the information is accurate (good_faith true)");
	in.text = api_str(call, 1);
	in.location = api_has(call, 6) ? api_str(call, 6) : NULL;
	in.name = api_has(call, 7) ? api_str(call, 7) : NULL;
	in.email = api_has(call, 8) ? api_str(call, 8) : NULL;
	in.reporter_id = call->user_id;
	if (p && p->flagger_id) {
		in.kind = STORE_SIGNAL_FLAGGER;
		in.flagger_id = p->flagger_id;
		in.name = in.name ? in.name : p->name;
		in.email = in.email ? in.email : p->email;
	}
	/* DSA Art. 16(2)(c): name and email, except for child sexual abuse material. */
	if (in.category != MOD_CAT_CSAM && (!in.name || !in.name[0] || !in.email || !strchr(in.email, '@')))
		return api_fail(call, PLC_NOTIFIER_REQUIRED, "give your name and email address (optional only for child "
					"sexual abuse material)");
	if (in.email && in.email[0] && !strchr(in.email, '@'))
		return api_fail(call, PLC_PARAM_INVALID, "email is not an email address");
	if (api_has(call, 3) == api_has(call, 5) || (api_has(call, 4) && !api_has(call, 3)))
		return api_fail(call, PLC_TARGET_INVALID, "give the exact location: chat_id with message_ids, chat_id, "
					"or user_id");
	if (api_has(call, 3)) {
		int64_t chat = 0;
		if ((rc = notice_chat(call, 3, &chat)) < 0)
			return rc;
		in.target = (struct core_target){api_has(call, 4) ? STORE_TARGET_MESSAGE : STORE_TARGET_CHAT, chat};
	} else {
		in.target = (struct core_target){STORE_TARGET_USER, 0, 0, api_int(call, 5)};
	}
	if (!(arr = json_array()))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	if ((rc = signal_targets(call, &in, call->v[4].arr, call->v[4].n, arr)) < 0) {
		json_decref(arr);
		return rc;
	}
	call->result = json_pack("{s:O, s:s, s:b, s:O}", "reference",
				 json_object_get(json_array_get(arr, 0), "reference"), "status", "received",
				 "trusted_flagger", in.kind == STORE_SIGNAL_FLAGGER, "deadline",
				 json_object_get(json_array_get(arr, 0), "deadline"));
	if (json_array_size(arr) > 1)
		json_object_set(call->result, "notices", arr);
	json_decref(arr);
	return 0;
}

struct ref_appeals {
	struct core_tx *tx;
	const char *reference;
	json_t *arr;
};

static int add_ref_appeal(void *ctx, const struct store_appeal *a)
{
	struct ref_appeals *r = ctx;

	if (!strcmp(a->reference, r->reference))
		json_array_append_new(r->arr, render_appeal(r->tx, a, 0));
	return 0;
}

/* getNotice: 0 reference.  Public: the reference is the notifier's secret. */
int h_get_notice(struct api_call *call, struct store *s)
{
	struct store_signal sg;
	struct store_statement st;
	int rc = store_signal_get_ref(s, api_str(call, 0), &sg);

	if (rc == PL_NOTFOUND)
		return api_fail(call, PLC_NOTICE_NOT_FOUND, "no notice %s", api_str(call, 0));
	if (rc < 0)
		return api_fail(call, PLC_INTERNAL, "notice lookup failed");
	call->result = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "reference", sg.reference, "kind",
				 PICK(kinds, sg.kind), "category", cat_name(sg.category), "submitted_at",
				 (json_int_t)sg.created_at, "status", PICK(signal_statuses, sg.status), "deadline",
				 (json_int_t)sg.deadline);
	if (sg.statement_id && store_statement_get(s, sg.statement_id, &st) == 0) {
		struct ref_appeals ra = {call->tx, sg.reference, json_array()};
		json_object_set_new(call->result, "decision", render_statement(call->tx, &st, 0));
		if (ra.arr && store_appeal_list_statement(s, st.id, add_ref_appeal, &ra) >= 0)
			json_object_set_new(call->result, "appeals", ra.arr);
		else
			json_decref(ra.arr);
		store_statement_release(&st);
	}
	store_signal_release(&sg);
	return 0;
}

/* --- statements and appeals ------------------------------------------------- */

static int add_own_appeal(void *ctx, const struct store_appeal *a)
{
	struct { struct api_call *call; json_t *arr; int mod; } *x = ctx;

	if (x->mod || (x->call->user_id && a->appellant_id == x->call->user_id))
		json_array_append_new(x->arr, render_appeal(x->call->tx, a, x->mod));
	return 0;
}

/* getStatement: 0 statement_id */
int h_get_statement(struct api_call *call, struct store *s)
{
	struct store_statement st;
	struct { struct api_call *call; json_t *arr; int mod; } x = {call, NULL, 0};
	int role = 0, rc;

	if ((rc = core_mod_role_get(call->tx, call->user_id, &role)) < 0 ||
	    (rc = core_mod_statement_get(call->tx, api_int(call, 0), role, &st)) < 0)
		return rc;
	x.mod = role >= MOD_ROLE_MODERATOR;
	call->result = render_statement(call->tx, &st, x.mod);
	if ((x.arr = json_array()) && store_appeal_list_statement(s, st.id, add_own_appeal, &x) >= 0)
		json_object_set_new(call->result, "appeals", x.arr);
	else
		json_decref(x.arr);
	store_statement_release(&st);
	return 0;
}

/* appealDecision: 0 statement_id, 1 text, 2 reference */
int h_appeal_decision(struct api_call *call, struct store *s)
{
	struct store_appeal a;
	int rc;

	if (!call->user_id && !api_has(call, 2))
		return api_fail(call, PLC_UNAUTHORIZED, "log in, or give the reference of your notice");
	rc = core_mod_appeal(call->tx, api_int(call, 0), api_has(call, 2) ? api_str(call, 2) : NULL, api_str(call, 1), &a);
	if (rc < 0)
		return rc;
	call->result = render_appeal(call->tx, &a, 0);
	store_appeal_release(&a);
	return 0;
}

/* getAppeals: 0 status, 1 limit, 2 offset */
struct appeal_list {
	struct store_appeal v[PL_PAGE_MAX];
	size_t n;
};

static int collect_appeal(void *ctx, const struct store_appeal *a)
{
	struct appeal_list *l = ctx;

	if (l->n >= PL_PAGE_MAX)
		return 1;
	l->v[l->n] = *a;
	l->v[l->n].text = strdup(a->text ? a->text : "");
	l->v[l->n].outcome = strdup(a->outcome ? a->outcome : "");
	l->n++;
	return 0;
}

int h_get_appeals(struct api_call *call, struct store *s)
{
	static const char *const names[] = {"open", "upheld", "reversed", "all"};
	struct appeal_list *l;
	struct store_statement st;
	int status = 0, rc;
	json_t *arr;

	if (api_has(call, 0)) {
		for (status = 0; status < 4 && strcmp(names[status], api_str(call, 0)); status++)
			;
		if (status == 4)
			return api_fail(call, PLC_PARAM_INVALID, "status is open, upheld, reversed or all");
		if (status == 3)
			status = -1;
	}
	if (!(l = calloc(1, sizeof *l)))
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_appeal_list(s, status, api_has(call, 1) ? (int)api_int(call, 1) : PL_PAGE_DEFAULT, api_int(call, 2),
			       collect_appeal, l);
	arr = json_array();
	for (size_t i = 0; i < l->n; i++) {
		json_t *j = render_appeal(call->tx, &l->v[i], 1);
		if (store_statement_get(s, l->v[i].statement_id, &st) == 0) {
			json_object_set_new(j, "statement", render_statement(call->tx, &st, 1));
			/* Appeals are decided by someone other than the first decider. */
			json_object_set_new(j, "can_decide", json_boolean(l->v[i].status == STORE_APPEAL_OPEN &&
									  st.decided_by != call->user_id));
			store_statement_release(&st);
		}
		json_array_append_new(arr, j);
		store_appeal_release(&l->v[i]);
	}
	free(l);
	if (rc < 0) {
		json_decref(arr);
		return api_fail(call, PLC_INTERNAL, "appeal lookup failed");
	}
	call->result = arr;
	return 0;
}

/* decideAppeal: 0 appeal_id, 1 outcome, 2 text */
int h_decide_appeal(struct api_call *call, struct store *s)
{
	struct store_appeal a;
	const char *outcome = api_str(call, 1);
	int rc;

	if (strcmp(outcome, "uphold") && strcmp(outcome, "reverse"))
		return api_fail(call, PLC_PARAM_INVALID, "outcome is \"uphold\" or \"reverse\"");
	if ((rc = core_mod_appeal_decide(call->tx, api_int(call, 0), !strcmp(outcome, "reverse"), api_str(call, 2), &a)) < 0)
		return rc;
	call->result = render_appeal(call->tx, &a, 1);
	store_appeal_release(&a);
	return 0;
}

/* --- the queue, cases and decisions ---------------------------------------- */

struct case_list {
	struct store_case v[PL_PAGE_MAX];
	size_t n;
};

static int collect_case(void *ctx, const struct store_case *c)
{
	struct case_list *l = ctx;

	if (l->n >= PL_PAGE_MAX)
		return 1;
	l->v[l->n++] = *c;
	return 0;
}

/* getModerationQueue: 0 limit, 1 offset */
int h_get_queue(struct api_call *call, struct store *s)
{
	struct case_list *l = calloc(1, sizeof *l);
	int64_t open = 0, overdue = 0;
	json_t *arr;
	int rc;

	if (!l)
		return api_fail(call, PLC_INTERNAL, "out of memory");
	rc = store_case_queue(s, api_has(call, 0) ? (int)api_int(call, 0) : PL_PAGE_DEFAULT, api_int(call, 1),
			      collect_case, l);
	if (rc >= 0)
		rc = store_case_count_open(s, call->now, &open, &overdue);
	if (rc < 0) {
		free(l);
		return api_fail(call, PLC_INTERNAL, "queue lookup failed");
	}
	arr = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(arr, render_case(call->tx, &l->v[i], 1));
	free(l);
	call->result = json_pack("{s:I, s:I, s:o}", "open", (json_int_t)open, "overdue", (json_int_t)overdue, "cases", arr);
	return 0;
}

static int add_signal(void *ctx, const struct store_signal *sg)
{
	struct { struct core_tx *tx; json_t *arr; } *x = ctx;

	json_array_append_new(x->arr, render_signal(x->tx, sg));
	return 0;
}

struct st_list {
	struct store_statement v[HISTORY_MAX];
	size_t n;
};

static int collect_statement(void *ctx, const struct store_statement *st)
{
	struct st_list *l = ctx;

	if (l->n >= HISTORY_MAX)
		return 1;
	l->v[l->n] = *st;
	l->v[l->n].reference = strdup(st->reference ? st->reference : "");
	l->v[l->n].facts = strdup(st->facts ? st->facts : "");
	l->v[l->n].text = strdup(st->text ? st->text : "");
	l->n++;
	return 0;
}

static int add_admin_action(void *ctx, const struct store_admin_action_row *a)
{
	struct { struct core_tx *tx; json_t *arr; } *x = ctx;

	json_array_append_new(x->arr, json_pack("{s:o, s:s, s:I, s:o, s:I}", "admin", mod_user(x->tx, a->actor_id),
						"action", a->action == STORE_ADMIN_BAN ? "ban_member" : "delete_message",
						"message_id", (json_int_t)a->msg_id, "user",
						mod_user(x->tx, a->user_id), "date", (json_int_t)a->created_at));
	return 0;
}

static int add_restriction(void *ctx, const struct store_restriction *r)
{
	json_array_append_new(ctx, json_pack("{s:I, s:o, s:I}", "message_id", (json_int_t)r->msg_id, "territories",
					     territory_list(r->territories), "statement_id", (json_int_t)r->statement_id));
	return 0;
}

/* The reported content in context: the message and PL_CASE_CONTEXT around
 * it, whatever the moderator's membership, removed ones included. */
static json_t *case_content(struct core_tx *tx, const struct store_case *c)
{
	struct store_message m;
	struct store_chat chat;
	json_t *j = json_object(), *ctx, *restr;

	if (c->chat_id && store_chat_get(tx->s, c->chat_id, &chat) == 0) {
		json_object_set_new(j, "chat", mod_chat(tx, &chat));
		if ((restr = json_array()) && store_restriction_list_chat(tx->s, c->chat_id, add_restriction, restr) >= 0)
			json_object_set_new(j, "restrictions", restr);
		else
			json_decref(restr);
	}
	if (c->target == STORE_TARGET_MESSAGE) {
		ctx = json_array();
		for (int64_t id = c->msg_id - PL_CASE_CONTEXT; id <= c->msg_id + PL_CASE_CONTEXT; id++) {
			if (id < 1 || store_message_get(tx->s, c->chat_id, id, &m) < 0)
				continue;
			if (id == c->msg_id)
				json_object_set_new(j, "message", mod_message(tx, &m));
			else
				json_array_append_new(ctx, mod_message(tx, &m));
			store_message_release(&m);
		}
		json_object_set_new(j, "context", ctx);
	}
	if (c->user_id)
		json_object_set_new(j, "user", mod_user(tx, c->user_id));
	return j;
}

/* getCase: 0 case_id */
int h_get_case(struct api_call *call, struct store *s)
{
	struct core_tx *tx = call->tx;
	struct store_case c;
	struct st_list *hist;
	struct { struct core_tx *tx; json_t *arr; } sigs = {tx, json_array()}, acts = {tx, json_array()};
	json_t *history, *actions;
	int64_t warnings = 0;
	int chat_type = 0, rc;
	struct store_chat chat;

	tx->viewer = 0; /* moderators see content whatever territory they are in */
	rc = store_case_get(s, api_int(call, 0), &c);
	if (rc == PL_NOTFOUND || rc < 0) {
		json_decref(sigs.arr);
		json_decref(acts.arr);
		return api_fail(call, rc == PL_NOTFOUND ? PLC_CASE_NOT_FOUND : PLC_INTERNAL, "no case %lld",
				(long long)api_int(call, 0));
	}
	if (c.chat_id && store_chat_get(s, c.chat_id, &chat) == 0)
		chat_type = chat.type;
	(void)store_signal_list_case(s, c.id, PL_CASE_SIGNALS_MAX, add_signal, &sigs);
	if (c.chat_id)
		(void)store_admin_action_list(s, c.chat_id, c.opened_at - 86400, ADMIN_ACTIONS_MAX, add_admin_action, &acts);
	history = json_array();
	if ((hist = calloc(1, sizeof *hist))) {
		(void)store_statement_list_subject(s, c.user_id, c.chat_id, HISTORY_MAX, collect_statement, hist);
		for (size_t i = 0; i < hist->n; i++) {
			json_array_append_new(history, render_statement(tx, &hist->v[i], 1));
			store_statement_release(&hist->v[i]);
		}
		free(hist);
	}
	if (c.user_id)
		(void)store_statement_count_warnings(s, c.user_id, &warnings);
	actions = json_array();
	for (int a = 1; a < MOD_ACT_REVERSAL; a++)
		if (mod_action_fits(a, c.target, chat_type))
			json_array_append_new(actions, json_string(mod_action_name(a)));
	call->result = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b}", "case", render_case(tx, &c, 0), "content",
				 case_content(tx, &c), "signals", sigs.arr, "history", history, "chat_admin_actions",
				 acts.arr, "actions", actions, "warnings", (json_int_t)warnings, "reports_visible_to_chat_admins",
				 chat_type == STORE_CHAT_GROUP || chat_type == STORE_CHAT_CHANNEL);
	return 0;
}

/* decideCase: 0 case_id, 1 action, 2 facts, 3 category, 4 ground, 5 legal_provision, 6 terms_clause,
 * 7 territories, 8 duration_days, 9 manifestly_illegal */
int h_decide_case(struct api_call *call, struct store *s)
{
	struct core_decision d = {api_int(call, 0)};
	struct store_statement st;
	struct store_case c;
	char terr[STORE_TERRITORIES_SZ] = "";
	int rc;

	if (!(d.action = mod_action_parse(api_str(call, 1))))
		return api_fail(call, PLC_ACTION_INVALID, "action is remove_message, remove_user_messages, restrict, "
					"ban_chat, suspend_user, warn_user or dismiss");
	d.facts = api_str(call, 2);
	if (api_has(call, 3) && !(d.category = mod_category_parse(api_str(call, 3))))
		return api_fail(call, PLC_CATEGORY_INVALID, "unknown category");
	if (api_has(call, 4) && !(d.ground = mod_ground_parse(api_str(call, 4))))
		return api_fail(call, PLC_GROUND_INVALID, "ground is \"illegal\" or \"terms\"");
	if (d.ground == MOD_GROUND_ILLEGAL)
		d.reference = api_has(call, 5) ? api_str(call, 5) : NULL;
	else if (d.ground == MOD_GROUND_TERMS)
		d.reference = api_has(call, 6) ? api_str(call, 6) : NULL;
	if (d.ground && (!d.reference || !d.reference[0]))
		return api_fail(call, PLC_GROUND_INVALID, d.ground == MOD_GROUND_ILLEGAL
					  ? "ground illegal needs legal_provision: the law relied on"
					  : "ground terms needs terms_clause: the clause of the terms relied on");
	if (api_has(call, 7) && mod_territories_normalize(api_str(call, 7), terr, sizeof terr) < 0)
		return api_fail(call, PLC_TERRITORY_INVALID, "territories are ISO 3166-1 alpha-2 codes, e.g. \"DE,FR\"");
	d.territories = terr;
	d.duration_days = api_int(call, 8);
	d.manifestly_illegal = (int)api_int(call, 9);
	if ((rc = core_mod_decide(call->tx, &d, &st)) < 0)
		return rc;
	call->result = json_pack("{s:o}", "statement", render_statement(call->tx, &st, 1));
	if (store_case_get(s, d.case_id, &c) == 0)
		json_object_set_new(call->result, "case", render_case(call->tx, &c, 0));
	store_statement_release(&st);
	return 0;
}

/* --- DSA Transparency Database export ----------------------------------------- */

static json_t *tdb_date(int64_t t)
{
	char buf[16];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d", &tm))
		return json_null();
	return json_string(buf);
}

static json_t *tdb_scope(const char *territories)
{
	json_t *a;

	if (territories[0])
		return territory_list(territories);
	a = json_array();
	for (size_t i = 0; i < sizeof eea / sizeof eea[0]; i++)
		json_array_append_new(a, json_string(eea[i]));
	return a;
}

struct flagger_name_ctx {
	struct core_tx *tx;
	char name[STORE_NAME_SZ];
};

static int first_flagger(void *ctx, const struct store_signal *sg)
{
	struct flagger_name_ctx *f = ctx;
	struct store_flagger fl;

	if (sg->flagger_id && store_flagger_get(f->tx->s, sg->flagger_id, &fl) == 0) {
		snprintf(f->name, sizeof f->name, "%s", fl.name);
		return 1;
	}
	return 0;
}

/* One statement in the field names and enum spellings of the DSA
 * Transparency Database (docs/policy.md): null = not applicable. */
static json_t *tdb_statement(struct core_tx *tx, const struct store_statement *st)
{
	const struct mod_category_info *ci = mod_category(st->category);
	struct mod_dsa_action da;
	struct flagger_name_ctx fn = {tx, ""};
	int illegal = st->ground == MOD_GROUND_ILLEGAL, visible_end;
	char puid[64];
	json_t *j = json_object(), *vis = json_null(), *ctype;

	mod_action_dsa(st->action, st->end_date < 0, &da);
	if (da.visibility)
		vis = json_pack("[s]", da.visibility);
	visible_end = da.visibility && st->end_date > 0;
	if (st->source == MOD_SRC_FLAGGER)
		(void)store_signal_list_case(tx->s, st->case_id, 1000000, first_flagger, &fn);
	snprintf(puid, sizeof puid, "parley-statement-%lld", (long long)st->id);
	if (st->target == STORE_TARGET_MESSAGE)
		ctype = json_pack("[s]", "CONTENT_TYPE_TEXT");
	else
		ctype = json_pack("[s]", "CONTENT_TYPE_OTHER");
	json_object_set_new(j, "decision_visibility", vis);
	json_object_set_new(j, "decision_visibility_other",
			    st->action == MOD_ACT_WARN_USER ? json_string("warning to the account holder") : json_null());
	json_object_set_new(j, "end_date_visibility_restriction", visible_end ? tdb_date(st->end_date) : json_null());
	json_object_set_new(j, "decision_monetary", json_null());
	json_object_set_new(j, "end_date_monetary_restriction", json_null());
	json_object_set_new(j, "decision_provision", da.provision ? json_string(da.provision) : json_null());
	json_object_set_new(j, "end_date_service_restriction",
			    da.provision && st->end_date > 0 ? tdb_date(st->end_date) : json_null());
	json_object_set_new(j, "decision_account", da.account ? json_string(da.account) : json_null());
	json_object_set_new(j, "end_date_account_restriction",
			    da.account && st->end_date > 0 ? tdb_date(st->end_date) : json_null());
	json_object_set_new(j, "account_type", json_string("ACCOUNT_TYPE_PRIVATE"));
	json_object_set_new(j, "decision_ground", json_string(illegal ? "DECISION_GROUND_ILLEGAL_CONTENT"
								    : "DECISION_GROUND_INCOMPATIBLE_CONTENT"));
	json_object_set_new(j, "decision_ground_reference_url", illegal ? json_null() : json_string(tx->core->terms_url));
	json_object_set_new(j, "illegal_content_legal_ground", illegal ? str_or_null(st->reference) : json_null());
	json_object_set_new(j, "illegal_content_explanation", illegal ? str_or_null(st->facts) : json_null());
	json_object_set_new(j, "incompatible_content_ground", illegal ? json_null() : str_or_null(st->reference));
	json_object_set_new(j, "incompatible_content_explanation", illegal ? json_null() : str_or_null(st->facts));
	json_object_set_new(j, "incompatible_content_illegal",
			    illegal ? json_null() : json_string(st->manifestly_illegal ? "Yes" : "No"));
	json_object_set_new(j, "category", json_string(ci ? ci->dsa_category : "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"));
	json_object_set_new(j, "category_specification",
			    ci && ci->dsa_keyword ? json_pack("[s]", ci->dsa_keyword) : json_null());
	json_object_set_new(j, "content_type", ctype);
	json_object_set_new(j, "content_type_other", st->target == STORE_TARGET_MESSAGE ? json_null()
						     : json_string(st->target == STORE_TARGET_CHAT ? "group or channel"
											: "user account"));
	json_object_set_new(j, "content_date", tdb_date(st->content_date));
	json_object_set_new(j, "application_date", tdb_date(st->created_at));
	json_object_set_new(j, "decision_facts", str_or_null(st->facts));
	json_object_set_new(j, "territorial_scope", tdb_scope(st->territories));
	json_object_set_new(j, "source_type", json_string(mod_source_dsa(st->source)));
	json_object_set_new(j, "source_identity", fn.name[0] ? json_string(fn.name) : json_null());
	json_object_set_new(j, "automated_detection", json_string(st->automated_detection ? "Yes" : "No"));
	json_object_set_new(j, "automated_decision", json_string(st->automated_decision ? "AUTOMATED_DECISION_FULLY"
									       : "AUTOMATED_DECISION_NOT_AUTOMATED"));
	json_object_set_new(j, "platform_name", json_string(tx->core->platform_name));
	json_object_set_new(j, "puid", json_string(puid));
	/* Not database fields: what the export is about here. */
	json_object_set_new(j, "statement_id", json_integer(st->id));
	json_object_set_new(j, "action", json_string(mod_action_name(st->action)));
	json_object_set_new(j, "reversed", json_boolean(st->reversed_by != 0));
	return j;
}

struct export_ctx {
	struct st_list l;
	int limit;
};

static int collect_export(void *ctx, const struct store_statement *st)
{
	struct export_ctx *e = ctx;

	if (e->l.n >= (size_t)e->limit || e->l.n >= HISTORY_MAX)
		return 1;
	return collect_statement(&e->l, st);
}

/* exportStatements: 0 from, 1 to, 2 after_id, 3 limit.  Restricting
 * decisions only: dismissals and reversals are not statements the database
 * takes (they are in getStatement). */
int h_export_statements(struct api_call *call, struct store *s)
{
	int limit = api_has(call, 3) ? (int)api_int(call, 3) : PL_EXPORT_MAX;
	int64_t after = api_int(call, 2), last = after;
	json_t *arr = json_array();
	struct export_ctx *e = calloc(1, sizeof *e);
	int rc = 0, more = 1;

	if (!e || !arr) {
		free(e);
		json_decref(arr);
		return api_fail(call, PLC_INTERNAL, "out of memory");
	}
	e->limit = HISTORY_MAX;
	while (more && (int)json_array_size(arr) < limit) {
		e->l.n = 0;
		if ((rc = store_statement_list_range(s, api_int(call, 0), api_int(call, 1), last, HISTORY_MAX,
						     collect_export, e)) < 0)
			break;
		more = e->l.n == HISTORY_MAX;
		for (size_t i = 0; i < e->l.n; i++) {
			const struct store_statement *st = &e->l.v[i];
			if ((int)json_array_size(arr) < limit) {
				last = st->id;
				if (st->action != MOD_ACT_DISMISS && st->action != MOD_ACT_REVERSAL)
					json_array_append_new(arr, tdb_statement(call->tx, st));
			} else {
				more = 1;
			}
			store_statement_release(&e->l.v[i]);
		}
	}
	free(e);
	if (rc < 0) {
		json_decref(arr);
		return api_fail(call, PLC_INTERNAL, "statement lookup failed");
	}
	call->result = json_pack("{s:o, s:I, s:b}", "statements", arr, "next_after_id", (json_int_t)last, "more", more);
	return 0;
}

/* --- chat admins ----------------------------------------------------------------- */

static int add_chat_report(void *ctx, const struct store_signal *sg)
{
	struct { struct core_tx *tx; json_t *arr; int64_t chat; } *x = ctx;
	struct store_case c;
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:s}", "report_id", (json_int_t)sg->id, "category",
			      cat_name(sg->category), "text", sg->text ? sg->text : "", "date",
			      (json_int_t)sg->created_at, "status", PICK(signal_statuses, sg->status));

	/* Who reported is not shown to chat admins. */
	if (j && store_case_get(x->tx->s, sg->case_id, &c) == 0) {
		if (c.msg_id)
			json_object_set_new(j, "message_id", json_integer(c.msg_id));
		json_object_set_new(j, "about", json_string(c.msg_id ? "message" : "chat"));
	}
	json_array_append_new(x->arr, j);
	return 0;
}

/* getChatReports: 0 chat_id, 1 limit, 2 offset.  Users' reports about a
 * group or channel and its messages, for its administrators. */
int h_get_chat_reports(struct api_call *call, struct store *s)
{
	struct core_access a;
	struct { struct core_tx *tx; json_t *arr; int64_t chat; } x = {call->tx, NULL, 0};
	int rc;

	if ((rc = h_chat_arg(call, 0, 0, CORE_NEED_MEMBER, &a)) < 0)
		return rc;
	if (a.chat.type == STORE_CHAT_PRIVATE)
		return api_fail(call, PLC_CHAT_TYPE_INVALID, "private chats have no administrators");
	if (!a.is_admin)
		return api_fail(call, PLC_CHAT_ADMIN_REQUIRED, "only the chat's administrators see its reports");
	x.arr = json_array();
	x.chat = a.chat.id;
	rc = store_signal_list_chat(s, a.chat.id, STORE_SIGNAL_REPORT,
				    api_has(call, 1) ? (int)api_int(call, 1) : PL_PAGE_DEFAULT, api_int(call, 2),
				    add_chat_report, &x);
	if (rc < 0) {
		json_decref(x.arr);
		return api_fail(call, PLC_INTERNAL, "report lookup failed");
	}
	call->result = x.arr;
	return 0;
}

/* --- roles and trusted flaggers ----------------------------------------------- */

static int role_user(struct api_call *call, int id_param, int name_param, int64_t *uid)
{
	struct store_user u;
	int rc;

	if (api_has(call, id_param)) {
		*uid = api_int(call, id_param);
		return 0;
	}
	if (!api_has(call, name_param))
		return api_fail(call, PLC_PARAM_MISSING, "give user_id or username");
	if ((rc = core_user_find(call->tx, api_str(call, name_param), &u)) < 0)
		return rc;
	*uid = u.id;
	return 0;
}

/* grantRole: 0 role, 1 user_id, 2 username */
int h_grant_role(struct api_call *call, struct store *s)
{
	int64_t uid;
	int role = mod_role_parse(api_str(call, 0)), rc;

	if (!role)
		return api_fail(call, PLC_ROLE_INVALID, "role is moderator, senior_moderator or admin");
	if ((rc = role_user(call, 1, 2, &uid)) < 0 || (rc = core_mod_role_set(call->tx, uid, role)) < 0)
		return rc;
	call->result = json_pack("{s:o, s:s}", "user", mod_user(call->tx, uid), "role", mod_role_name(role));
	return 0;
}

/* revokeRole: 0 user_id, 1 username */
int h_revoke_role(struct api_call *call, struct store *s)
{
	int64_t uid;
	int rc;

	if ((rc = role_user(call, 0, 1, &uid)) < 0 || (rc = core_mod_role_set(call->tx, uid, MOD_ROLE_NONE)) < 0)
		return rc;
	call->result = json_true();
	return 0;
}

static int add_role(void *ctx, int64_t uid, int role, int64_t by, int64_t at)
{
	struct { struct core_tx *tx; json_t *arr; } *x = ctx;

	json_array_append_new(x->arr, json_pack("{s:o, s:s, s:I, s:I}", "user", mod_user(x->tx, uid), "role",
						mod_role_name(role), "granted_by", (json_int_t)by, "granted_at",
						(json_int_t)at));
	return 0;
}

int h_get_roles(struct api_call *call, struct store *s)
{
	struct { struct core_tx *tx; json_t *arr; } x = {call->tx, json_array()};

	if (store_role_list(s, add_role, &x) < 0) {
		json_decref(x.arr);
		return api_fail(call, PLC_INTERNAL, "role lookup failed");
	}
	call->result = x.arr;
	return 0;
}

/* registerFlagger: 0 name, 1 email */
int h_register_flagger(struct api_call *call, struct store *s)
{
	struct store_flagger f;
	char key[72];
	int rc;

	if ((rc = core_mod_flagger_register(call->tx, api_str(call, 0), api_str(call, 1), key, &f)) < 0)
		return rc;
	call->result = json_pack("{s:o, s:s}", "flagger", render_flagger(&f), "api_key", key);
	sodium_memzero(key, sizeof key);
	return 0;
}

static int add_flagger(void *ctx, const struct store_flagger *f)
{
	json_array_append_new(ctx, render_flagger(f));
	return 0;
}

int h_get_flaggers(struct api_call *call, struct store *s)
{
	json_t *arr = json_array();

	if (store_flagger_list(s, add_flagger, arr) < 0) {
		json_decref(arr);
		return api_fail(call, PLC_INTERNAL, "flagger lookup failed");
	}
	call->result = arr;
	return 0;
}
