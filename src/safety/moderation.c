/* moderation.c — the storage-free rules of trust & safety (moderation.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "safety/moderation.h"
#include "store/store.h"

/* DSA Transparency Database spellings: "category" (STATEMENT_CATEGORY_*)
 * and "category_specification" (KEYWORD_*). */
static const struct mod_category_info categories[MOD_CAT__COUNT] = {
	[MOD_CAT_CSAM] = {"child_sexual_abuse", "child sexual abuse material",
			  "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL", 50, 1},
	[MOD_CAT_TERRORISM] = {"terrorist_content", "terrorist content", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
			       "KEYWORD_TERRORIST_CONTENT", 50, 1},
	[MOD_CAT_ILLEGAL_GOODS] = {"illegal_goods", "illegal goods and drugs",
				   "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS", "KEYWORD_PROHIBITED_PRODUCTS", 25, 0},
	[MOD_CAT_SCAMS] = {"scams_fraud", "scams and fraud", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", NULL, 15, 0},
	[MOD_CAT_SPAM] = {"spam", "spam", "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE", NULL, 1, 0},
	[MOD_CAT_VIOLENCE] = {"violence", "violence", "STATEMENT_CATEGORY_VIOLENCE", "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
			      30, 0},
	[MOD_CAT_HATE] = {"hate", "hate speech", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "KEYWORD_HATE_SPEECH", 20,
			  0},
	[MOD_CAT_NCII] = {"non_consensual_imagery", "non-consensual intimate imagery",
			  "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", 35, 0},
	[MOD_CAT_PRIVACY] = {"privacy_violation", "privacy violation",
			     "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", NULL, 15, 0},
	[MOD_CAT_IP] = {"intellectual_property", "intellectual property infringement",
			"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS", "KEYWORD_COPYRIGHT_INFRINGEMENT", 10, 0},
	[MOD_CAT_OTHER] = {"other", "other violation of the terms", "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", NULL, 5, 0},
};

const struct mod_category_info *mod_category(int c)
{
	return c > 0 && c < MOD_CAT__COUNT ? &categories[c] : NULL;
}

int mod_category_parse(const char *name)
{
	for (int c = 1; c < MOD_CAT__COUNT; c++)
		if (name && !strcmp(categories[c].name, name))
			return c;
	return 0;
}

void mod_sla_default(struct mod_sla *sla)
{
	sla->flagger_urgent = 3600;
	sla->flagger = 86400;
	sla->report_urgent = 86400;
	sla->report = 3 * 86400;
}

static int source_priority(int source)
{
	switch (source) {
	case MOD_SRC_FLAGGER:
		return MOD_PRIO_FLAGGER;
	case MOD_SRC_NOTICE:
		return MOD_PRIO_NOTICE;
	default:
		return MOD_PRIO_REPORT;
	}
}

int mod_signal_priority(int source, int category)
{
	const struct mod_category_info *ci = mod_category(category);

	return source_priority(source) + (ci ? ci->weight : 0);
}

int64_t mod_signal_deadline(const struct mod_sla *sla, int source, int category, int64_t now)
{
	const struct mod_category_info *ci = mod_category(category);
	int urgent = ci && ci->urgent;

	if (source == MOD_SRC_FLAGGER)
		return now + (urgent ? sla->flagger_urgent : sla->flagger);
	return now + (urgent ? sla->report_urgent : sla->report);
}

void mod_rank_open(struct mod_rank *r, int source, int category, int64_t deadline)
{
	r->base = mod_signal_priority(source, category);
	r->signals = 1;
	r->deadline = deadline;
	r->category = category;
	r->flagged = source == MOD_SRC_FLAGGER;
}

void mod_rank_merge(struct mod_rank *r, int source, int category, int64_t deadline)
{
	int p = mod_signal_priority(source, category);

	if (p > r->base) {
		r->base = p;
		r->category = category;
	}
	if (deadline < r->deadline)
		r->deadline = deadline;
	r->signals++;
	r->flagged |= source == MOD_SRC_FLAGGER;
}

int mod_rank_priority(const struct mod_rank *r)
{
	int64_t dup = r->signals > 1 ? r->signals - 1 : 0;

	return r->base + (int)(dup < PL_DUPLICATE_BONUS_MAX ? dup : PL_DUPLICATE_BONUS_MAX);
}

static const char *const action_names[MOD_ACT__COUNT] = {
	[MOD_ACT_REMOVE_MESSAGE] = "remove_message",
	[MOD_ACT_REMOVE_USER_MESSAGES] = "remove_user_messages",
	[MOD_ACT_RESTRICT] = "restrict",
	[MOD_ACT_BAN_CHAT] = "ban_chat",
	[MOD_ACT_SUSPEND_USER] = "suspend_user",
	[MOD_ACT_WARN_USER] = "warn_user",
	[MOD_ACT_DISMISS] = "dismiss",
	[MOD_ACT_REVERSAL] = "reversal",
};

int mod_action_parse(const char *name)
{
	for (int a = 1; a < MOD_ACT_REVERSAL; a++)
		if (name && !strcmp(action_names[a], name))
			return a;
	return 0;
}

const char *mod_action_name(int action)
{
	return action > 0 && action < MOD_ACT__COUNT ? action_names[action] : "unknown";
}

int mod_action_fits(int action, int target, int chat_type)
{
	int public_chat = chat_type == STORE_CHAT_GROUP || chat_type == STORE_CHAT_CHANNEL;

	switch (action) {
	case MOD_ACT_REMOVE_MESSAGE:
	case MOD_ACT_REMOVE_USER_MESSAGES:
		return target == STORE_TARGET_MESSAGE;
	case MOD_ACT_RESTRICT:
		return target == STORE_TARGET_MESSAGE || (target == STORE_TARGET_CHAT && public_chat);
	case MOD_ACT_BAN_CHAT:
		return (target == STORE_TARGET_MESSAGE || target == STORE_TARGET_CHAT) && public_chat;
	case MOD_ACT_SUSPEND_USER:
	case MOD_ACT_WARN_USER:
		return target == STORE_TARGET_MESSAGE || target == STORE_TARGET_USER;
	case MOD_ACT_DISMISS:
		return 1;
	}
	return 0;
}

int mod_suspend_allowed(int64_t prior_warnings, int manifestly_illegal)
{
	return prior_warnings > 0 || manifestly_illegal;
}

int mod_ground_parse(const char *name)
{
	if (name && !strcmp(name, "illegal"))
		return MOD_GROUND_ILLEGAL;
	if (name && !strcmp(name, "terms"))
		return MOD_GROUND_TERMS;
	return 0;
}

void mod_action_dsa(int action, int permanent, struct mod_dsa_action *out)
{
	memset(out, 0, sizeof *out);
	switch (action) {
	case MOD_ACT_REMOVE_MESSAGE:
	case MOD_ACT_REMOVE_USER_MESSAGES:
		out->visibility = "DECISION_VISIBILITY_CONTENT_REMOVED";
		break;
	case MOD_ACT_RESTRICT:
		out->visibility = "DECISION_VISIBILITY_CONTENT_DISABLED";
		break;
	case MOD_ACT_BAN_CHAT:
		out->visibility = "DECISION_VISIBILITY_CONTENT_DISABLED";
		out->provision = "DECISION_PROVISION_PARTIAL_TERMINATION";
		break;
	case MOD_ACT_SUSPEND_USER:
		out->account = permanent ? "DECISION_ACCOUNT_TERMINATED" : "DECISION_ACCOUNT_SUSPENDED";
		out->provision = permanent ? "DECISION_PROVISION_TOTAL_TERMINATION" : "DECISION_PROVISION_TOTAL_SUSPENSION";
		break;
	case MOD_ACT_WARN_USER:
		out->visibility = "DECISION_VISIBILITY_OTHER";
		break;
	}
}

const char *mod_source_dsa(int source)
{
	switch (source) {
	case MOD_SRC_FLAGGER:
		return "SOURCE_TRUSTED_FLAGGER";
	case MOD_SRC_NOTICE:
	case MOD_SRC_REPORT:
		return "SOURCE_ARTICLE_16";
	default:
		return "SOURCE_VOLUNTARY";
	}
}

const char *mod_source_name(int source)
{
	switch (source) {
	case MOD_SRC_FLAGGER:
		return "trusted_flagger";
	case MOD_SRC_NOTICE:
		return "notice";
	case MOD_SRC_REPORT:
		return "report";
	default:
		return "voluntary";
	}
}

static const char *const role_names[] = {"", "moderator", "senior_moderator", "admin"};

int mod_role_parse(const char *name)
{
	for (int r = MOD_ROLE_MODERATOR; r <= MOD_ROLE_ADMIN; r++)
		if (name && !strcmp(role_names[r], name))
			return r;
	return 0;
}

const char *mod_role_name(int role)
{
	return role >= 0 && role <= MOD_ROLE_ADMIN ? role_names[role] : "";
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int mod_country_parse(const char *s, char out[3])
{
	if (!s || !is_alpha(s[0]) || !is_alpha(s[1]) || s[2])
		return -1;
	out[0] = upper(s[0]);
	out[1] = upper(s[1]);
	out[2] = 0;
	return 0;
}

int mod_territory_has(const char *list, const char *country)
{
	char cc[3];

	if (!list || mod_country_parse(country, cc) < 0)
		return 0;
	for (const char *p = list; *p; p += p[2] ? 3 : 2)
		if (p[0] == cc[0] && p[1] == cc[1])
			return 1;
	return 0;
}

int mod_territories_normalize(const char *in, char *out, size_t outlen)
{
	size_t len = 0;
	int n = 0;

	if (!outlen)
		return -1;
	out[0] = 0;
	for (const char *p = in ? in : ""; *p;) {
		char cc[3];
		if (*p == ',' || *p == ' ') {
			p++;
			continue;
		}
		if (!is_alpha(p[0]) || !is_alpha(p[1]) || (p[2] && p[2] != ',' && p[2] != ' '))
			return -1;
		cc[0] = upper(p[0]);
		cc[1] = upper(p[1]);
		cc[2] = 0;
		p += 2;
		if (mod_territory_has(out, cc))
			continue;
		if (++n > PL_TERRITORIES_MAX || len + (len ? 3 : 2) + 1 > outlen)
			return -1;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", len ? "," : "", cc);
	}
	return n;
}

static int parse_octets(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int parts = 0;

	while (parts < 4) {
		unsigned n = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			n = n * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || n > 255)
			return -1;
		v = (v << 8) | n;
		if (++parts < 4 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*out = v;
	return 0;
}

int mod_ipv4_parse(const char *s, uint32_t *out)
{
	if (!s)
		return -1;
	if (!strncmp(s, "::ffff:", 7) || !strncmp(s, "::FFFF:", 7))
		s += 7;
	return parse_octets(s, out);
}

size_t mod_json_str(char *out, size_t outlen, const char *s)
{
	size_t n = 0;

#define PUT(c) do { if (n + 1 < outlen) out[n] = (c); n++; } while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p < 0x20) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			for (int i = 0; esc[i]; i++)
				PUT(esc[i]);
		} else {
			PUT((char)*p);
		}
	}
	PUT('"');
#undef PUT
	if (outlen)
		out[n < outlen ? n : outlen - 1] = 0;
	return n;
}

void mod_time_iso(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "%lld", (long long)t);
}
