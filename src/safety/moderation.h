/*
 * moderation.h — the rules of trust & safety that need no storage: the
 * categories and their DSA names, how a signal ranks in the queue and when
 * it is due, the actions and what each one restricts, the Art. 23 rule for
 * suspensions, roles, territories and IP addresses.  Pure functions over
 * their arguments, so unit tests (tests/unit/test_moderation.c) hit them
 * directly; src/core/moderation.c applies them to the store.
 *
 * docs/policy.md is the human version of these tables: change both.
 */
#ifndef PL_SAFETY_MODERATION_H
#define PL_SAFETY_MODERATION_H

#include <stddef.h>
#include <stdint.h>

/* The categories a report or notice names (stored as these numbers). */
enum mod_category {
	MOD_CAT_CSAM = 1,          /* child_sexual_abuse */
	MOD_CAT_TERRORISM,         /* terrorist_content */
	MOD_CAT_ILLEGAL_GOODS,     /* illegal_goods */
	MOD_CAT_SCAMS,             /* scams_fraud */
	MOD_CAT_SPAM,              /* spam */
	MOD_CAT_VIOLENCE,          /* violence */
	MOD_CAT_HATE,              /* hate */
	MOD_CAT_NCII,              /* non_consensual_imagery */
	MOD_CAT_PRIVACY,           /* privacy_violation */
	MOD_CAT_IP,                /* intellectual_property */
	MOD_CAT_OTHER,             /* other */
	MOD_CAT__COUNT
};

struct mod_category_info {
	const char *name;          /* the API's spelling */
	const char *label;         /* for people */
	const char *dsa_category;  /* DSA Transparency Database "category" */
	const char *dsa_keyword;   /* its "category_specification", or NULL */
	int weight;                /* priority it adds */
	int urgent;                /* the short SLA applies */
};

/* The row of category c, or NULL if c is not one. */
const struct mod_category_info *mod_category(int c);
/* The category named name, or 0. */
int mod_category_parse(const char *name);

/* Where a signal comes from (DSA "source_type"). */
enum mod_source {
	MOD_SRC_VOLUNTARY = 0,     /* own initiative (none yet: automated detection later) */
	MOD_SRC_REPORT = 1,        /* a user's report (reportContent): an Art. 16 notice too */
	MOD_SRC_NOTICE = 2,        /* an Art. 16 notice (submitNotice) */
	MOD_SRC_FLAGGER = 3,       /* a trusted flagger's notice (Art. 22) */
};

/* Priority a signal's source adds.  A trusted flagger outranks any user
 * report however many duplicates it has. */
#define MOD_PRIO_FLAGGER 100
#define MOD_PRIO_NOTICE 20
#define MOD_PRIO_REPORT 0

/* Service-level deadlines, in seconds (settings sla_*_minutes). */
struct mod_sla {
	int64_t flagger_urgent;    /* trusted flaggers, urgent categories (default 1 h) */
	int64_t flagger;           /* trusted flaggers, other categories (default 24 h) */
	int64_t report_urgent;     /* reports and notices, urgent categories (default 24 h) */
	int64_t report;            /* reports and notices, other categories (default 72 h) */
};
void mod_sla_default(struct mod_sla *sla);

/* Priority of one signal: its source plus its category's weight. */
int mod_signal_priority(int source, int category);
/* When a signal of source and category received at now is due. */
int64_t mod_signal_deadline(const struct mod_sla *sla, int source, int category, int64_t now);

/* What the queue orders a case by.  A new case starts from its first
 * signal; each further signal merges: the base is the highest signal
 * priority, the deadline the earliest, and every duplicate adds 1, up to
 * PL_DUPLICATE_BONUS_MAX. */
struct mod_rank {
	int base;                  /* highest single-signal priority */
	int64_t signals;           /* signals merged */
	int64_t deadline;          /* earliest deadline */
	int category;              /* the category of the highest-priority signal */
	int flagged;               /* a trusted flagger's notice is among them */
};
void mod_rank_open(struct mod_rank *r, int source, int category, int64_t deadline);
void mod_rank_merge(struct mod_rank *r, int source, int category, int64_t deadline);
/* The queue priority of r: base + min(signals - 1, PL_DUPLICATE_BONUS_MAX). */
int mod_rank_priority(const struct mod_rank *r);

/* A moderator's decision. */
enum mod_action {
	MOD_ACT_REMOVE_MESSAGE = 1,      /* message target: hidden from everyone, kept for a reversal */
	MOD_ACT_REMOVE_USER_MESSAGES,    /* message target: every message of its sender in that chat */
	MOD_ACT_RESTRICT,                /* message or chat target: withheld in the listed territories */
	MOD_ACT_BAN_CHAT,                /* chat target (group, channel): answers CHAT_BANNED */
	MOD_ACT_SUSPEND_USER,            /* any target's user: for N days or permanently (Art. 23) */
	MOD_ACT_WARN_USER,               /* any target's user: a warning, needed before a suspension */
	MOD_ACT_DISMISS,                 /* no action; the notifiers are told why */
	MOD_ACT_REVERSAL,                /* not a decision: the statement of an appeal's reversal */
	MOD_ACT__COUNT
};
int mod_action_parse(const char *name);  /* 0 if unknown (REVERSAL is not parsed) */
const char *mod_action_name(int action);
/* May action apply to a case whose target is enum store_target t (chat_type
 * the chat's enum store_chat_type, 0 for a user target)?  1 or 0. */
int mod_action_fits(int action, int target, int chat_type);

/* Suspension (DSA Art. 23): allowed once the user has had a warning, or at
 * once for manifestly illegal content.  1 or 0. */
int mod_suspend_allowed(int64_t prior_warnings, int manifestly_illegal);

/* The ground of a decision. */
enum mod_ground {
	MOD_GROUND_NONE = 0,       /* dismissals */
	MOD_GROUND_ILLEGAL = 1,    /* DSA "DECISION_GROUND_ILLEGAL_CONTENT": a legal provision */
	MOD_GROUND_TERMS = 2,      /* DSA "DECISION_GROUND_INCOMPATIBLE_CONTENT": a terms clause */
};
int mod_ground_parse(const char *name);  /* "illegal", "terms"; 0 if neither */

/* DSA Transparency Database fields an action sets (NULL when it sets none). */
struct mod_dsa_action {
	const char *visibility;    /* decision_visibility */
	const char *account;       /* decision_account */
	const char *provision;     /* decision_provision */
};
void mod_action_dsa(int action, int permanent, struct mod_dsa_action *out);
const char *mod_source_dsa(int source);  /* SOURCE_ARTICLE_16, SOURCE_TRUSTED_FLAGGER, ... */
const char *mod_source_name(int source); /* report, notice, trusted_flagger, voluntary */

/* Platform roles, lowest to highest; each includes the ones below. */
enum mod_role {
	MOD_ROLE_NONE = 0,
	MOD_ROLE_MODERATOR = 1,
	MOD_ROLE_SENIOR = 2,       /* senior_moderator: also decides appeals */
	MOD_ROLE_ADMIN = 3,        /* also grants roles and registers trusted flaggers */
};
int mod_role_parse(const char *name);    /* 0 if unknown */
const char *mod_role_name(int role);     /* "" for MOD_ROLE_NONE */

/* Territories: a list of ISO 3166-1 alpha-2 codes.  Normalizes in (codes
 * separated by commas or spaces, any case) into out as "DE,FR" (sorted
 * order of appearance, no duplicates).  Returns the number of codes, or -1
 * if one is not two letters, there are more than PL_TERRITORIES_MAX, or out
 * is too small. */
int mod_territories_normalize(const char *in, char *out, size_t outlen);
/* Is country (two letters, any case) in the normalized list?  1 or 0. */
int mod_territory_has(const char *list, const char *country);
/* Is s a two-letter country code?  Writes it upper-cased into out[3]. */
int mod_country_parse(const char *s, char out[3]);

/* An IPv4 address ("1.2.3.4" or "::ffff:1.2.3.4") as a number; 0 or -1. */
int mod_ipv4_parse(const char *s, uint32_t *out);

/* Writes s into out as a JSON string (quotes included), escaping what JSON
 * needs; at most outlen bytes, always terminated.  Returns the length it
 * needed (as snprintf).  For the audit details core builds. */
size_t mod_json_str(char *out, size_t outlen, const char *s);

/* Unix seconds as "2026-12-06T10:00:00Z" into out (21 bytes or more). */
void mod_time_iso(int64_t t, char *out, size_t outlen);

#endif
