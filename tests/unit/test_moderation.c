/*
 * test_moderation.c — unit tests for trust & safety: the storage-free rules
 * of src/safety/moderation.c (priority, merging, deadlines, the Art. 23
 * rule, actions, territories, IPv4, JSON strings) and the case logic of
 * src/core/moderation.c over a real SQLite store in a temporary folder
 * (signals merging into one case, suspension refused without a warning,
 * removal kept and restored by a reversal, the audit chain).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "bus/bus.h"
#include "core/core.h"
#include "safety/audit.h"
#include "safety/moderation.h"
#include "util/ratelimit.h"
#include "ut_core.h"

/* --- rules without storage ---------------------------------------------- */

static void test_categories(void **state)
{
	assert_int_equal(mod_category_parse("child_sexual_abuse"), MOD_CAT_CSAM);
	assert_int_equal(mod_category_parse("spam"), MOD_CAT_SPAM);
	assert_int_equal(mod_category_parse("Spam"), 0);
	assert_int_equal(mod_category_parse(NULL), 0);
	assert_null(mod_category(0));
	assert_null(mod_category(MOD_CAT__COUNT));
	for (int c = 1; c < MOD_CAT__COUNT; c++) {
		const struct mod_category_info *ci = mod_category(c);
		assert_non_null(ci);
		assert_int_equal(mod_category_parse(ci->name), c);
		assert_true(!strncmp(ci->dsa_category, "STATEMENT_CATEGORY_", 19));
		assert_true(ci->weight >= 1 && ci->weight <= 50);
	}
	assert_true(mod_category(MOD_CAT_CSAM)->urgent && mod_category(MOD_CAT_TERRORISM)->urgent);
	assert_false(mod_category(MOD_CAT_SPAM)->urgent);
	/* CSAM and terrorism weigh most. */
	for (int c = 1; c < MOD_CAT__COUNT; c++)
		assert_true(mod_category(c)->weight <= mod_category(MOD_CAT_CSAM)->weight);
}

static void test_priority(void **state)
{
	struct mod_rank spam, flag;
	int worst_report = 0;

	/* A trusted flagger outranks any user report, however duplicated. */
	for (int c = 1; c < MOD_CAT__COUNT; c++) {
		int p = mod_signal_priority(MOD_SRC_REPORT, c) + PL_DUPLICATE_BONUS_MAX;
		if (p > worst_report)
			worst_report = p;
	}
	for (int c = 1; c < MOD_CAT__COUNT; c++)
		assert_true(mod_signal_priority(MOD_SRC_FLAGGER, c) > worst_report);
	assert_true(mod_signal_priority(MOD_SRC_NOTICE, MOD_CAT_SPAM) > mod_signal_priority(MOD_SRC_REPORT, MOD_CAT_SPAM));
	assert_true(mod_signal_priority(MOD_SRC_REPORT, MOD_CAT_CSAM) > mod_signal_priority(MOD_SRC_REPORT, MOD_CAT_HATE));

	/* 1000 spam reports on one target: +1 each, capped. */
	mod_rank_open(&spam, MOD_SRC_REPORT, MOD_CAT_SPAM, 5000);
	assert_int_equal(mod_rank_priority(&spam), 1);
	mod_rank_merge(&spam, MOD_SRC_REPORT, MOD_CAT_SPAM, 6000);
	assert_int_equal(mod_rank_priority(&spam), 2);
	assert_int_equal(spam.deadline, 5000);
	for (int i = 0; i < 998; i++)
		mod_rank_merge(&spam, MOD_SRC_REPORT, MOD_CAT_SPAM, 4000);
	assert_int_equal(spam.signals, 1000);
	assert_int_equal(spam.deadline, 4000);
	assert_int_equal(mod_rank_priority(&spam), 1 + PL_DUPLICATE_BONUS_MAX);
	assert_false(spam.flagged);

	mod_rank_open(&flag, MOD_SRC_FLAGGER, MOD_CAT_CSAM, 9000);
	assert_true(mod_rank_priority(&flag) > mod_rank_priority(&spam));
	assert_true(flag.flagged);

	/* A merge of a heavier signal raises the base and takes its category. */
	mod_rank_merge(&spam, MOD_SRC_FLAGGER, MOD_CAT_TERRORISM, 100);
	assert_int_equal(spam.category, MOD_CAT_TERRORISM);
	assert_int_equal(spam.base, MOD_PRIO_FLAGGER + 50);
	assert_int_equal(spam.deadline, 100);
	assert_true(spam.flagged);
	/* ... a lighter one does not lower it. */
	mod_rank_merge(&spam, MOD_SRC_REPORT, MOD_CAT_SPAM, 99999);
	assert_int_equal(spam.category, MOD_CAT_TERRORISM);
	assert_int_equal(spam.base, MOD_PRIO_FLAGGER + 50);
}

static void test_deadlines(void **state)
{
	struct mod_sla sla;

	mod_sla_default(&sla);
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_FLAGGER, MOD_CAT_CSAM, 1000), 1000 + 3600);
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_FLAGGER, MOD_CAT_TERRORISM, 1000), 1000 + 3600);
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_FLAGGER, MOD_CAT_SPAM, 1000), 1000 + 86400);
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_REPORT, MOD_CAT_CSAM, 1000), 1000 + 86400);
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_NOTICE, MOD_CAT_HATE, 1000), 1000 + 3 * 86400);
	sla.flagger_urgent = 60;
	assert_int_equal(mod_signal_deadline(&sla, MOD_SRC_FLAGGER, MOD_CAT_CSAM, 0), 60);
}

static void test_actions_and_art23(void **state)
{
	struct mod_dsa_action d;

	assert_int_equal(mod_action_parse("remove_message"), MOD_ACT_REMOVE_MESSAGE);
	assert_int_equal(mod_action_parse("dismiss"), MOD_ACT_DISMISS);
	assert_int_equal(mod_action_parse("reversal"), 0); /* not a decision */
	assert_int_equal(mod_action_parse("nuke"), 0);
	for (int a = 1; a < MOD_ACT_REVERSAL; a++)
		assert_int_equal(mod_action_parse(mod_action_name(a)), a);

	assert_true(mod_action_fits(MOD_ACT_REMOVE_MESSAGE, STORE_TARGET_MESSAGE, STORE_CHAT_GROUP));
	assert_false(mod_action_fits(MOD_ACT_REMOVE_MESSAGE, STORE_TARGET_CHAT, STORE_CHAT_GROUP));
	assert_true(mod_action_fits(MOD_ACT_BAN_CHAT, STORE_TARGET_CHAT, STORE_CHAT_CHANNEL));
	assert_false(mod_action_fits(MOD_ACT_BAN_CHAT, STORE_TARGET_MESSAGE, STORE_CHAT_PRIVATE));
	assert_false(mod_action_fits(MOD_ACT_BAN_CHAT, STORE_TARGET_USER, 0));
	assert_true(mod_action_fits(MOD_ACT_RESTRICT, STORE_TARGET_MESSAGE, STORE_CHAT_PRIVATE));
	assert_false(mod_action_fits(MOD_ACT_RESTRICT, STORE_TARGET_USER, 0));
	assert_true(mod_action_fits(MOD_ACT_SUSPEND_USER, STORE_TARGET_USER, 0));
	assert_false(mod_action_fits(MOD_ACT_SUSPEND_USER, STORE_TARGET_CHAT, STORE_CHAT_GROUP));
	assert_true(mod_action_fits(MOD_ACT_DISMISS, STORE_TARGET_CHAT, STORE_CHAT_GROUP));

	/* DSA Art. 23: a suspension needs a warning first, or manifestly illegal content. */
	assert_false(mod_suspend_allowed(0, 0));
	assert_true(mod_suspend_allowed(1, 0));
	assert_true(mod_suspend_allowed(0, 1));

	mod_action_dsa(MOD_ACT_SUSPEND_USER, 0, &d);
	assert_string_equal(d.account, "DECISION_ACCOUNT_SUSPENDED");
	mod_action_dsa(MOD_ACT_SUSPEND_USER, 1, &d);
	assert_string_equal(d.account, "DECISION_ACCOUNT_TERMINATED");
	mod_action_dsa(MOD_ACT_REMOVE_MESSAGE, 0, &d);
	assert_string_equal(d.visibility, "DECISION_VISIBILITY_CONTENT_REMOVED");
	assert_null(d.account);
	assert_string_equal(mod_source_dsa(MOD_SRC_FLAGGER), "SOURCE_TRUSTED_FLAGGER");
	assert_string_equal(mod_source_dsa(MOD_SRC_NOTICE), "SOURCE_ARTICLE_16");
	assert_int_equal(mod_ground_parse("illegal"), MOD_GROUND_ILLEGAL);
	assert_int_equal(mod_ground_parse("terms"), MOD_GROUND_TERMS);
	assert_int_equal(mod_ground_parse("law"), 0);
	assert_int_equal(mod_role_parse("senior_moderator"), MOD_ROLE_SENIOR);
	assert_int_equal(mod_role_parse("root"), 0);
	assert_string_equal(mod_role_name(MOD_ROLE_ADMIN), "admin");
}

static void test_territories_and_ip(void **state)
{
	char out[STORE_TERRITORIES_SZ], big[400], cc[3];
	uint32_t ip;

	assert_int_equal(mod_territories_normalize("de, fr", out, sizeof out), 2);
	assert_string_equal(out, "DE,FR");
	assert_int_equal(mod_territories_normalize("DE,DE,at", out, sizeof out), 2);
	assert_string_equal(out, "DE,AT");
	assert_int_equal(mod_territories_normalize("", out, sizeof out), 0);
	assert_int_equal(mod_territories_normalize("DEU", out, sizeof out), -1);
	assert_int_equal(mod_territories_normalize("D1", out, sizeof out), -1);
	/* More than PL_TERRITORIES_MAX distinct codes. */
	big[0] = 0;
	for (int i = 0; i < 26 * 3; i++) {
		char c[4] = {(char)('A' + i / 26 % 26), (char)('A' + i % 26), ',', 0};
		strcat(big, c);
	}
	assert_int_equal(mod_territories_normalize(big, out, sizeof out), -1);
	assert_true(mod_territory_has("DE,FR", "fr"));
	assert_true(mod_territory_has("DE,FR", "DE"));
	assert_false(mod_territory_has("DE,FR", "AT"));
	assert_false(mod_territory_has("DE,FR", ""));
	assert_false(mod_territory_has("", "DE"));
	assert_int_equal(mod_country_parse("de", cc), 0);
	assert_string_equal(cc, "DE");
	assert_int_equal(mod_country_parse("DEU", cc), -1);

	assert_int_equal(mod_ipv4_parse("1.2.3.4", &ip), 0);
	assert_int_equal(ip, 0x01020304u);
	assert_int_equal(mod_ipv4_parse("::ffff:127.0.0.1", &ip), 0);
	assert_int_equal(ip, 0x7f000001u);
	assert_int_equal(mod_ipv4_parse("255.255.255.255", &ip), 0);
	assert_int_equal(mod_ipv4_parse("256.1.1.1", &ip), -1);
	assert_int_equal(mod_ipv4_parse("1.2.3", &ip), -1);
	assert_int_equal(mod_ipv4_parse("1.2.3.4.5", &ip), -1);
	assert_int_equal(mod_ipv4_parse("::1", &ip), -1);
	assert_int_equal(mod_ipv4_parse("", &ip), -1);
}

static void test_json_str(void **state)
{
	char out[64];

	mod_json_str(out, sizeof out, "a\"b\\c\nd");
	assert_string_equal(out, "\"a\\\"b\\\\c\\u000ad\"");
	assert_int_equal(mod_json_str(out, 4, "abcdef"), 8);
	assert_string_equal(out, "\"ab");
	mod_json_str(out, sizeof out, NULL);
	assert_string_equal(out, "\"\"");
}

/* --- cases over a store -------------------------------------------------- */

struct fx {
	struct ut_core u;
	struct safety_flood flood;
	int64_t alice, bob, mod, senior;
	int64_t group;
	int64_t msg;
};

static struct core_tx tx_for(struct fx *f, int64_t uid)
{
	return ut_tx(&f->u, uid);
}

static int64_t make_user(struct fx *f, const char *name)
{
	return ut_user(&f->u, name, NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct core_tx tx;
	struct store_chat c;
	struct core_access a;
	struct store_message m;

	ut_core_open(&f->u, "mod");
	snprintf(f->u.core.terms_url, sizeof f->u.core.terms_url, "http://chat.example/terms");
	snprintf(f->u.core.platform_name, sizeof f->u.core.platform_name, "Parley");
	mod_sla_default(&f->u.core.sla);
	assert_int_equal(safety_flood_init(&f->flood, 1000.0, 1000.0), 0);
	safety_chain_add(&f->u.core.chain, "allow", safety_allow_check, NULL);
	f->alice = make_user(f, "alice");
	f->bob = make_user(f, "bobby");
	f->mod = make_user(f, "moder");
	f->senior = make_user(f, "senior");
	tx = tx_for(f, f->alice);
	assert_int_equal(core_group_create(&tx, "Friends", &f->bob, 1, NULL, &c), 0);
	f->group = c.id;
	assert_int_equal(core_access(&tx, &c, &a), 0);
	assert_int_equal(core_message_send(&tx, &a, "buy my coins", 0, &m), 0);
	f->msg = m.id;
	store_message_release(&m);
	tx = tx_for(f, 0);
	assert_int_equal(core_mod_role_set(&tx, f->mod, MOD_ROLE_MODERATOR), 0);
	assert_int_equal(core_mod_role_set(&tx, f->senior, MOD_ROLE_SENIOR), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_core_close(&f->u);
	safety_flood_release(&f->flood);
	free(f);
	return 0;
}

static int64_t report(struct fx *f, int64_t reporter, int type, int category, struct store_case *cs)
{
	struct core_tx tx = tx_for(f, reporter);
	struct core_signal_in in = {STORE_SIGNAL_REPORT, category};
	struct store_signal sg;

	in.reporter_id = reporter;
	in.target = (struct core_target){type, type == STORE_TARGET_USER ? 0 : f->group,
					 type == STORE_TARGET_MESSAGE ? f->msg : 0, type == STORE_TARGET_USER ? f->alice : 0};
	assert_int_equal(core_mod_target(&tx, &in.target), 0);
	assert_int_equal(core_mod_signal(&tx, &in, &sg, cs), 0);
	return sg.id;
}

static void test_merge(void **state)
{
	struct fx *f = *state;
	struct store_case a, b, c, q;
	int64_t open, overdue;

	report(f, f->bob, STORE_TARGET_MESSAGE, MOD_CAT_SPAM, &a);
	assert_int_equal(a.signals, 1);
	assert_int_equal(a.priority, 1);
	assert_int_equal(a.user_id, f->alice); /* the message's sender */
	report(f, f->bob, STORE_TARGET_MESSAGE, MOD_CAT_SPAM, &b);
	assert_int_equal(b.id, a.id); /* the same target joins the open case */
	assert_int_equal(b.signals, 2);
	assert_int_equal(b.priority, 2);
	report(f, f->mod, STORE_TARGET_MESSAGE, MOD_CAT_HATE, &b);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.category, MOD_CAT_HATE);
	assert_int_equal(b.priority, 20 + 2);
	report(f, f->bob, STORE_TARGET_USER, MOD_CAT_SPAM, &c); /* another target: another case */
	assert_true(c.id != a.id);
	assert_int_equal(store_case_count_open(f->u.s, 1800000000, &open, &overdue), 0);
	assert_int_equal(open, 2);
	assert_int_equal(overdue, 0);
	assert_int_equal(store_case_count_open(f->u.s, 1800000000 + 4 * 86400, &open, &overdue), 0);
	assert_int_equal(overdue, 2);
	assert_int_equal(store_case_get(f->u.s, a.id, &q), 0);
	assert_int_equal(q.signals, 3);
}

static void test_suspend_needs_warning(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->mod);
	struct core_decision d = {0};
	struct store_statement st;
	struct store_case cs;
	struct store_user u;

	report(f, f->bob, STORE_TARGET_USER, MOD_CAT_HATE, &cs);
	d = (struct core_decision){cs.id, MOD_ACT_SUSPEND_USER, 0, MOD_GROUND_TERMS, "§3", "insults", "", 7, 0};
	assert_true(core_mod_decide(&tx, &d, &st) < 0);
	assert_int_equal(tx.code, PLC_WARNING_REQUIRED);
	/* Warn first... */
	tx = tx_for(f, f->mod);
	d.action = MOD_ACT_WARN_USER;
	d.duration_days = 0;
	assert_int_equal(core_mod_decide(&tx, &d, &st), 0);
	assert_int_equal(st.affected_user_id, f->alice);
	assert_non_null(strstr(st.text, "warned"));
	store_statement_release(&st);
	/* ... then the next case may suspend. */
	report(f, f->bob, STORE_TARGET_USER, MOD_CAT_HATE, &cs);
	tx = tx_for(f, f->mod);
	d = (struct core_decision){cs.id, MOD_ACT_SUSPEND_USER, 0, MOD_GROUND_TERMS, "§3", "insults again", "", 7, 0};
	assert_int_equal(core_mod_decide(&tx, &d, &st), 0);
	assert_int_equal(st.end_date, 1800000000 + 7 * 86400);
	assert_int_equal(store_user_get(f->u.s, f->alice, &u), 0);
	assert_int_equal(u.suspended_until, st.end_date);
	assert_int_equal(u.suspend_statement, st.id);
	tx = tx_for(f, 0);
	assert_true(core_mod_suspension_check(&tx, u.suspended_until, u.suspend_statement) < 0);
	assert_int_equal(tx.code, PLC_ACCOUNT_SUSPENDED);
	assert_non_null(strstr(tx.detail, "until 2027-"));
	tx.now = u.suspended_until + 1; /* a timed suspension ends by itself */
	assert_int_equal(core_mod_suspension_check(&tx, u.suspended_until, u.suspend_statement), 0);
	store_statement_release(&st);
	/* Manifestly illegal content: suspended at once, permanently. */
	report(f, f->mod, STORE_TARGET_USER, MOD_CAT_CSAM, &cs);
	tx = tx_for(f, f->mod);
	d = (struct core_decision){cs.id, MOD_ACT_SUSPEND_USER, 0, MOD_GROUND_ILLEGAL, "§184b StGB", "csam", "", 0, 1};
	assert_int_equal(core_mod_decide(&tx, &d, &st), 0);
	assert_int_equal(st.end_date, -1);
	tx = tx_for(f, 0);
	assert_true(core_mod_suspension_check(&tx, -1, st.id) < 0);
	assert_non_null(strstr(tx.detail, "permanently"));
	store_statement_release(&st);
	/* A decided case takes no second decision. */
	tx = tx_for(f, f->mod);
	assert_true(core_mod_decide(&tx, &d, &st) < 0);
	assert_int_equal(tx.code, PLC_CASE_DECIDED);
}

static void test_remove_and_reverse(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->mod);
	struct core_decision d;
	struct store_statement st;
	struct store_appeal ap;
	struct store_message m;
	struct store_case cs;
	int64_t n = 0, bad = 0, sys = 0;
	char why[128];

	report(f, f->bob, STORE_TARGET_MESSAGE, MOD_CAT_SCAMS, &cs);
	d = (struct core_decision){cs.id, MOD_ACT_REMOVE_MESSAGE, 0, MOD_GROUND_TERMS, "§4", "fraud", "", 0, 0};
	assert_int_equal(core_mod_decide(&tx, &d, &st), 0);
	/* Kept in the store, hidden from everyone. */
	assert_int_equal(store_message_get(f->u.s, f->group, f->msg, &m), 0);
	assert_int_equal(m.deleted, STORE_REMOVED);
	assert_string_equal(m.text, "buy my coins");
	store_message_release(&m);
	/* The statement went to the sender from the system account. */
	assert_int_equal(core_mod_system_uid(&tx, &sys), 0);
	assert_true(sys > 0);
	/* Only the affected user may appeal; not a second time while open. */
	tx = tx_for(f, f->bob);
	assert_true(core_mod_appeal(&tx, st.id, NULL, "no", &ap) < 0);
	assert_int_equal(tx.code, PLC_APPEAL_FORBIDDEN);
	tx = tx_for(f, f->alice);
	assert_int_equal(core_mod_appeal(&tx, st.id, NULL, "it was a joke", &ap), 0);
	store_appeal_release(&ap);
	tx = tx_for(f, f->alice);
	assert_true(core_mod_appeal(&tx, st.id, NULL, "again", &ap) < 0);
	assert_int_equal(tx.code, PLC_APPEAL_EXISTS);
	/* Too late after six months. */
	tx = tx_for(f, f->alice);
	tx.now += (int64_t)PL_APPEAL_WINDOW_DAYS * 86400 + 1;
	assert_true(core_mod_appeal(&tx, st.id, NULL, "late", &ap) < 0);
	assert_true(tx.code == PLC_APPEAL_EXPIRED || tx.code == PLC_APPEAL_EXISTS);
	/* The decider cannot decide the appeal; another senior can. */
	tx = tx_for(f, f->mod);
	assert_true(core_mod_appeal_decide(&tx, 1, 1, "ok", &ap) < 0);
	assert_int_equal(tx.code, PLC_APPEAL_SAME_MODERATOR);
	tx = tx_for(f, f->senior);
	assert_int_equal(core_mod_appeal_decide(&tx, 1, 1, "it was a joke", &ap), 0);
	assert_int_equal(ap.status, STORE_APPEAL_REVERSED);
	assert_true(ap.result_statement_id > st.id);
	store_appeal_release(&ap);
	assert_int_equal(store_message_get(f->u.s, f->group, f->msg, &m), 0);
	assert_int_equal(m.deleted, STORE_LIVE);
	store_message_release(&m);
	store_statement_release(&st);
	assert_int_equal(store_statement_get(f->u.s, 1, &st), 0);
	assert_true(st.reversed_by > 0);
	store_statement_release(&st);
	/* Every step is in the audit chain, and it verifies. */
	assert_int_equal(audit_verify(f->u.s, &n, &bad, why, sizeof why), 0);
	assert_true(n >= 10);
}

static void test_restriction_view(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->mod);
	struct core_decision d;
	struct store_statement st;
	struct store_restriction r;
	struct store_case cs;

	report(f, f->bob, STORE_TARGET_MESSAGE, MOD_CAT_HATE, &cs);
	d = (struct core_decision){cs.id, MOD_ACT_RESTRICT, 0, MOD_GROUND_ILLEGAL, "§130 StGB", "incitement", "DE", 0, 0};
	assert_int_equal(core_mod_decide(&tx, &d, &st), 0);
	store_statement_release(&st);
	/* A viewer in DE (account country) sees the restriction; one in FR not;
	 * the writer (no viewer) never filters. */
	tx = tx_for(f, f->bob);
	tx.viewer = 1;
	memcpy(tx.country, "DE", 3);
	tx.country_known = 1;
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg, &r), 1);
	assert_string_equal(r.territories, "DE");
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg + 1, &r), 0);
	assert_int_equal(core_mod_withheld(&tx, f->group, 0, &r), 0); /* the chat as such is not */
	memcpy(tx.country, "FR", 3);
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg, &r), 0);
	tx.viewer = 0;
	memcpy(tx.country, "DE", 3);
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg, &r), 0);
	/* From the IP table when the account says nothing. */
	assert_int_equal(store_geoip_add(f->u.s, 0x0A000000u, 0x0AFFFFFFu, "DE"), 0);
	tx = tx_for(f, f->bob);
	tx.viewer = 1;
	tx.ip = "10.1.2.3";
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg, &r), 1);
	assert_string_equal(core_viewer_country(&tx), "DE");
	tx = tx_for(f, f->bob);
	tx.viewer = 1;
	tx.ip = "11.1.2.3";
	assert_int_equal(core_mod_withheld(&tx, f->group, f->msg, &r), 0);
	assert_string_equal(core_viewer_country(&tx), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_categories),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_actions_and_art23),
		cmocka_unit_test(test_territories_and_ip),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend_needs_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_reverse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restriction_view, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
