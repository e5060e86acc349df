/*
 * test_audit.c — unit tests of the trust & safety audit log (src/safety/
 * audit.c) over the SQLite store's audit ops.  Each test gets a fresh
 * temporary data directory (mkdtemp) and removes it afterwards.  Tampering
 * is done the way an intruder with the file would do it: raw SQL through
 * sqlite3_open on DIR/parley.db, after dropping the append-only triggers.
 */
#include <dirent.h>
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
#include <sqlite3.h>

#include "safety/audit.h"
#include "store/store.h"

#define T_CHAIN 1000        /* entries of the chain that must verify */
#define T_TAMPER_CHAIN 1200 /* a chain longer than one verify page (1000) */

struct t_env {
	char root[64];      /* mkdtemp directory */
	char dir[96];       /* data directory inside it */
	char db[128];       /* DIR/parley.db */
	struct store *s;    /* writer handle, migrated */
};

static void t_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (unlink(p) < 0)
			t_rmtree(p);
	}
	closedir(d);
	rmdir(path);
}

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));
	char err[256];

	assert_non_null(env);
	strcpy(env->root, "/tmp/parley-audit-XXXXXX");
	assert_non_null(mkdtemp(env->root));
	snprintf(env->dir, sizeof(env->dir), "%s/data", env->root);
	snprintf(env->db, sizeof(env->db), "%s/parley.db", env->dir);
	env->s = store_sqlite_open(env->dir, STORE_SYNC_NORMAL, err, sizeof(err));
	if (!env->s)
		fail_msg("store_sqlite_open: %s", err);
	assert_int_equal(store_migrate(env->s), 0);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	store_close(env->s);
	t_rmtree(env->dir);
	t_rmtree(env->root);
	free(env);
	return 0;
}

/* ---- helpers ---- */

static const char *const t_kinds[] = {"signal.report", "case.open", "decision", "action.remove_message",
				      "statement", "appeal.file"};

/* Appends entries first..last (1-based numbers) with ts 1000 + 10 * i, in
 * one transaction, and checks the seq each one gets. */
static void t_fill(struct store *s, int first, int last)
{
	assert_int_equal(store_begin(s), 0);
	for (int i = first; i <= last; i++) {
		char subject[64], details[128];
		int64_t seq = 0;

		snprintf(subject, sizeof(subject), "message:%d:%d", i % 7 + 1, i);
		snprintf(details, sizeof(details), "{\"category\":\"spam\",\"n\":%d,\"automated\":false}", i);
		assert_int_equal(audit_append(s, 1000 + 10 * (int64_t)i, t_kinds[i % 6], i % 5, subject, details,
					      &seq),
				 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(store_commit(s), 0);
}

/* Verifies and expects OK with n entries. */
static void t_verify_ok(struct store *s, int64_t n)
{
	int64_t count = -1, bad = -1;
	char why[256] = "";
	int rc = audit_verify(s, &count, &bad, why, sizeof(why));

	if (rc != 0)
		fail_msg("verify: rc %d at %lld: %s", rc, (long long)bad, why);
	assert_int_equal(count, n);
	assert_int_equal(bad, 0);
}

/* Verifies and expects the chain broken at entry bad_seq, why holding reason. */
static void t_verify_bad(struct store *s, int64_t bad_seq, const char *reason)
{
	int64_t count = -1, bad = -1;
	char why[256] = "";
	int rc = audit_verify(s, &count, &bad, why, sizeof(why));

	if (rc != PL_ERR || bad != bad_seq || !strstr(why, reason))
		fail_msg("verify: rc %d, bad %lld (%s); wanted PL_ERR at %lld (%s)", rc, (long long)bad, why,
			 (long long)bad_seq, reason);
	assert_int_equal(count, bad_seq - 1);
}

/* Opens the database behind the store's back. */
static sqlite3 *t_raw(const struct t_env *env)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void t_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

/* Runs sql with ?1 = seq; returns the sqlite3 result code. */
static int t_exec_seq(sqlite3 *db, const char *sql, int64_t seq)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_bind_int64(q, 1, seq);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
}

/* Collects entries handed out by store_audit_range. */
struct t_entries {
	int n;
	struct audit_entry e[16];
	char details[16][256];
};

static int t_collect(void *ctx, const struct audit_entry *e)
{
	struct t_entries *t = ctx;

	if (t->n == 16)
		return 9;
	t->e[t->n] = *e;
	snprintf(t->details[t->n], sizeof(t->details[0]), "%s", e->details);
	t->e[t->n].details = t->details[t->n];
	t->n++;
	return 0;
}

/* ---- tests ---- */

static void test_empty_log(void **state)
{
	struct t_env *env = *state;
	unsigned char h[AUDIT_HASH_BYTES], zero[AUDIT_HASH_BYTES] = {0};
	char hex[65];
	int64_t seq = -1, ts = -1;

	t_verify_ok(env->s, 0);
	assert_int_equal(store_audit_last(env->s, &seq, &ts, h), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(ts, 0);
	assert_memory_equal(h, zero, sizeof(h));
	assert_int_equal(audit_head(env->s, INT64_MAX, &seq, hex), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hex, "0000000000000000000000000000000000000000000000000000000000000000");
}

/* The hash is SHA-256(prev || "<seq>\n<ts>\n<kind>\n<actor>\n<subject>\n<details>"),
 * computed here independently of audit.c, and the chain links by it. */
static void test_hash_format(void **state)
{
	struct t_env *env = *state;
	unsigned char want1[AUDIT_HASH_BYTES], want2[AUDIT_HASH_BYTES];
	unsigned char buf[512] = {0};
	struct t_entries t = {0};
	int64_t seq = 0;
	int n;

	assert_int_equal(audit_append(env->s, 1700000000, "signal.report", 42, "message:7:9",
				      "{ \"category\" : \"spam\", \"ids\" : [1, 2] }", &seq),
			 0);
	assert_int_equal(seq, 1);
	assert_int_equal(audit_append(env->s, 1700000001, "case.open", 0, "case:1", NULL, &seq), 0);
	assert_int_equal(seq, 2);

	n = snprintf((char *)buf + 32, sizeof(buf) - 32, "1\n1700000000\nsignal.report\n42\nmessage:7:9\n"
							 "{\"category\":\"spam\",\"ids\":[1,2]}");
	crypto_hash_sha256(want1, buf, 32 + (unsigned long long)n);
	memcpy(buf, want1, 32);
	n = snprintf((char *)buf + 32, sizeof(buf) - 32, "2\n1700000001\ncase.open\n0\ncase:1\n{}");
	crypto_hash_sha256(want2, buf, 32 + (unsigned long long)n);

	assert_int_equal(store_audit_range(env->s, 0, 10, t_collect, &t), 0);
	assert_int_equal(t.n, 2);
	/* details is stored in compact form; NULL details is "{}" */
	assert_string_equal(t.e[0].details, "{\"category\":\"spam\",\"ids\":[1,2]}");
	assert_string_equal(t.e[1].details, "{}");
	assert_memory_equal(t.e[0].hash, want1, 32);
	assert_memory_equal(t.e[1].prev, want1, 32);
	assert_memory_equal(t.e[1].hash, want2, 32);

	/* audit_hash computes the same from the fields */
	struct audit_entry e = t.e[1];

	memset(e.hash, 0, sizeof(e.hash));
	audit_hash(&e);
	assert_memory_equal(e.hash, want2, 32);
	t_verify_ok(env->s, 2);
}

static void test_chain_verifies(void **state)
{
	struct t_env *env = *state;
	struct store *ro;
	char err[256], hex[65], want[65];
	unsigned char h[AUDIT_HASH_BYTES];
	int64_t seq = 0, ts = 0;

	t_fill(env->s, 1, T_CHAIN);
	t_verify_ok(env->s, T_CHAIN);
	assert_int_equal(store_audit_last(env->s, &seq, &ts, h), 0);
	assert_int_equal(seq, T_CHAIN);
	assert_int_equal(ts, 1000 + 10 * T_CHAIN);
	sodium_bin2hex(want, sizeof(want), h, sizeof(h));
	assert_int_equal(audit_head(env->s, INT64_MAX, &seq, hex), 0);
	assert_int_equal(seq, T_CHAIN);
	assert_string_equal(hex, want);

	/* one more page's worth, and on a read-only handle */
	t_fill(env->s, T_CHAIN + 1, T_CHAIN + 1001);
	ro = store_sqlite_open(env->dir, STORE_READONLY, err, sizeof(err));
	assert_non_null(ro);
	t_verify_ok(ro, T_CHAIN + 1001);
	store_close(ro);
}

/* Each field of one stored row, altered, is found at exactly that entry;
 * put back, the chain verifies again. */
static void test_tamper_each_field(void **state)
{
	static const struct {
		const char *field;
		const char *sql;      /* ?1 = seq */
		const char *reason;
	} alter[] = {
		{"details", "UPDATE audit_log SET details = '{\"category\":\"other\"}' WHERE seq = ?1", "hash mismatch"},
		{"kind", "UPDATE audit_log SET kind = 'case.merge' WHERE seq = ?1", "hash mismatch"},
		{"ts", "UPDATE audit_log SET ts = ts + 1 WHERE seq = ?1", "hash mismatch"},
		{"actor", "UPDATE audit_log SET actor = actor + 100 WHERE seq = ?1", "hash mismatch"},
		{"subject", "UPDATE audit_log SET subject = 'user:1' WHERE seq = ?1", "hash mismatch"},
		{"prev", "UPDATE audit_log SET prev = randomblob(32) WHERE seq = ?1", "broken prev link"},
		{"hash", "UPDATE audit_log SET hash = randomblob(32) WHERE seq = ?1", "hash mismatch"},
		{"details, whitespace only", "UPDATE audit_log SET details = ' ' || details WHERE seq = ?1",
		 "hash mismatch"},
		{"kind, too long to read", "UPDATE audit_log SET kind = kind || hex(zeroblob(30)) WHERE seq = ?1",
		 "malformed"},
	};
	static const int64_t at[] = {1, 617, 1000, 1001, T_TAMPER_CHAIN};
	struct t_env *env = *state;
	sqlite3 *db;

	t_fill(env->s, 1, T_TAMPER_CHAIN);
	db = t_raw(env);
	/* the schema refuses UPDATE and DELETE while its triggers are there */
	assert_int_equal(t_exec_seq(db, "UPDATE audit_log SET actor = 9 WHERE seq = ?1", 5),
			 SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(t_exec_seq(db, "DELETE FROM audit_log WHERE seq = ?1", 5), SQLITE_CONSTRAINT_TRIGGER);
	t_exec(db, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
	t_exec(db, "CREATE TABLE saved AS SELECT * FROM audit_log WHERE 0");

	for (size_t f = 0; f < sizeof(alter) / sizeof(alter[0]); f++) {
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			t_exec(db, "DELETE FROM saved");
			assert_int_equal(t_exec_seq(db, "INSERT INTO saved SELECT * FROM audit_log WHERE seq = ?1", at[k]),
					 SQLITE_OK);
			assert_int_equal(t_exec_seq(db, alter[f].sql, at[k]), SQLITE_OK);
			assert_int_equal(sqlite3_changes(db), 1);
			print_message("altered %s of entry %lld\n", alter[f].field, (long long)at[k]);
			t_verify_bad(env->s, at[k], alter[f].reason);
			t_exec(db, "REPLACE INTO audit_log SELECT * FROM saved");
			t_verify_ok(env->s, T_TAMPER_CHAIN);
		}
	}
	sqlite3_close(db);
}

/* A deleted row is a gap, named by the missing seq. */
static void test_deleted_row(void **state)
{
	struct t_env *env = *state;
	char hex_before[65], hex_after[65];
	int64_t seq = 0;
	sqlite3 *db;

	t_fill(env->s, 1, 1500);
	db = t_raw(env);
	t_exec(db, "DROP TRIGGER audit_log_no_delete");
	assert_int_equal(t_exec_seq(db, "DELETE FROM audit_log WHERE seq = ?1", 1234), SQLITE_OK);
	t_verify_bad(env->s, 1234, "gap in seq: entry 1234 is missing (the next stored entry is 1235)");
	assert_int_equal(t_exec_seq(db, "DELETE FROM audit_log WHERE seq = ?1", 1), SQLITE_OK);
	t_verify_bad(env->s, 1, "gap in seq: entry 1 is missing");
	t_exec(db, "DELETE FROM audit_log");
	t_verify_ok(env->s, 0);
	sqlite3_close(db);

	/* Cutting entries off the end leaves a shorter chain that verifies: a
	 * published head is what shows it (its entry is gone or different). */
	t_fill(env->s, 1, 10);
	assert_int_equal(audit_head(env->s, INT64_MAX, &seq, hex_before), 0);
	db = t_raw(env);
	assert_int_equal(t_exec_seq(db, "DELETE FROM audit_log WHERE seq = ?1", 10), SQLITE_OK);
	sqlite3_close(db);
	t_verify_ok(env->s, 9);
	assert_int_equal(audit_head(env->s, INT64_MAX, &seq, hex_after), 0);
	assert_int_equal(seq, 9);
	assert_string_not_equal(hex_before, hex_after);
}

/* Appends of a transaction rolled back (or a request undone) leave nothing,
 * and the next append continues the chain. */
static void test_rollback_leaves_no_trace(void **state)
{
	struct t_env *env = *state;
	int64_t seq = 0, ts = 0;
	unsigned char h0[AUDIT_HASH_BYTES], h[AUDIT_HASH_BYTES];

	t_fill(env->s, 1, 5);
	assert_int_equal(store_audit_last(env->s, &seq, &ts, h0), 0);

	assert_int_equal(store_begin(env->s), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(audit_append(env->s, 5000, "decision", 1, "case:9", "{\"outcome\":\"remove\"}", &seq),
				 0);
		assert_int_equal(seq, 6 + i);
	}
	assert_int_equal(store_rollback(env->s), 0);
	assert_int_equal(store_audit_last(env->s, &seq, &ts, h), 0);
	assert_int_equal(seq, 5);
	assert_memory_equal(h, h0, sizeof(h));

	/* group commit: the first request is undone, the second kept */
	assert_int_equal(store_begin(env->s), 0);
	assert_int_equal(store_mark(env->s), 0);
	assert_int_equal(audit_append(env->s, 5001, "decision", 1, "case:9", "{}", &seq), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(store_undo(env->s), 0);
	assert_int_equal(store_mark(env->s), 0);
	assert_int_equal(audit_append(env->s, 5002, "action.suspend", 1, "user:3", "{\"days\":7}", &seq), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(store_release(env->s), 0);
	assert_int_equal(store_commit(env->s), 0);

	assert_int_equal(audit_append(env->s, 5003, "statement", 0, "case:9", "{}", &seq), 0);
	assert_int_equal(seq, 7);
	t_verify_ok(env->s, 7);
}

/* audit_head at a time: the last entry dated at or before it. */
static void test_head_at(void **state)
{
	static const int64_t ts[] = {100, 200, 200, 300, 300, 300, 450};
	struct t_env *env = *state;
	unsigned char hash[8][AUDIT_HASH_BYTES];
	struct t_entries t = {0};
	char hex[65], want[65];
	int64_t seq = -1;
	static const struct {
		int64_t at, seq;
	} cases[] = {{99, 0}, {100, 1}, {150, 1}, {199, 1}, {200, 3}, {299, 3}, {300, 6}, {449, 6},
		     {450, 7}, {INT64_MAX, 7}, {INT64_MIN, 0}};

	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		assert_int_equal(audit_append(env->s, ts[i], "signal.notice", 0, "notice:N-1", "{}", &seq), 0);
	assert_int_equal(store_audit_range(env->s, 0, 16, t_collect, &t), 0);
	assert_int_equal(t.n, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(t.e[i].ts, ts[i]);
		memcpy(hash[i + 1], t.e[i].hash, AUDIT_HASH_BYTES);
	}
	memset(hash[0], 0, AUDIT_HASH_BYTES);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(audit_head(env->s, cases[i].at, &seq, hex), 0);
		sodium_bin2hex(want, sizeof(want), hash[cases[i].seq], AUDIT_HASH_BYTES);
		if (seq != cases[i].seq || strcmp(hex, want))
			fail_msg("head at %lld: entry %lld %s, wanted %lld", (long long)cases[i].at, (long long)seq,
				 hex, (long long)cases[i].seq);
	}
}

/* A time before the last entry's is stored as the last entry's. */
static void test_ts_never_goes_back(void **state)
{
	struct t_env *env = *state;
	struct t_entries t = {0};
	int64_t seq = 0;

	assert_int_equal(audit_append(env->s, 500, "role.grant", 1, "user:2", "{\"role\":\"moderator\"}", &seq), 0);
	assert_int_equal(audit_append(env->s, 400, "role.revoke", 1, "user:2", "{\"role\":\"moderator\"}", &seq), 0);
	assert_int_equal(store_audit_range(env->s, 0, 16, t_collect, &t), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.e[1].ts, 500);
	t_verify_ok(env->s, 2);
}

/* details must be one JSON object of at most AUDIT_DETAILS_MAX bytes; kind
 * and subject must fit and keep to their characters.  Nothing is written. */
static void test_refused(void **state)
{
	static const char *const not_object[] = {
		"", "[]", "\"text\"", "12", "null", "{", "{\"a\":1}{}", "{\"a\":1} x", "{\"a\":1,\"a\":2}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\xff\"}",
	};
	static const char *const bad_kind[] = {
		"", "Decision", "case open", "case\nopen", "case:open",
		"a.very.long.kind.that.does.not.fit.in.forty.eight.bytes",
	};
	static const char *const bad_subject[] = {
		"case:1\nforged", "case:\t1", "user:\x7f", "\xc3(",
		"message:1234567890123456789:1234567890123456789:1234567890123456789:1234567890123456789:12345678",
	};
	struct t_env *env = *state;
	unsigned char h[AUDIT_HASH_BYTES];
	int64_t seq = 0, ts = 0;
	char *big;

	assert_int_equal(audit_append(env->s, 1, "decision", 0, "case:1", "{}", &seq), 0);
	for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++) {
		seq = -1;
		if (audit_append(env->s, 2, "decision", 0, "case:1", not_object[i], &seq) != PL_INVAL)
			fail_msg("details %s accepted", not_object[i]);
		assert_int_equal(seq, 0);
	}
	for (size_t i = 0; i < sizeof(bad_kind) / sizeof(bad_kind[0]); i++)
		if (audit_append(env->s, 2, bad_kind[i], 0, "case:1", "{}", &seq) != PL_INVAL)
			fail_msg("kind \"%s\" accepted", bad_kind[i]);
	assert_int_equal(audit_append(env->s, 2, NULL, 0, "case:1", "{}", &seq), PL_INVAL);
	for (size_t i = 0; i < sizeof(bad_subject) / sizeof(bad_subject[0]); i++)
		if (audit_append(env->s, 2, "decision", 0, bad_subject[i], "{}", &seq) != PL_INVAL)
			fail_msg("subject \"%s\" accepted", bad_subject[i]);

	/* AUDIT_DETAILS_MAX bytes is fine, one more is not */
	big = malloc(AUDIT_DETAILS_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', AUDIT_DETAILS_MAX + 1);
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + AUDIT_DETAILS_MAX - 2, "\"}", 3);
	assert_int_equal(strlen(big), AUDIT_DETAILS_MAX);
	assert_int_equal(audit_append(env->s, 2, "decision", 0, "case:1", big, &seq), 0);
	assert_int_equal(seq, 2);
	memset(big, 'x', AUDIT_DETAILS_MAX + 1);
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + AUDIT_DETAILS_MAX - 1, "\"}", 3);
	assert_int_equal(strlen(big), AUDIT_DETAILS_MAX + 1);
	assert_int_equal(audit_append(env->s, 3, "decision", 0, "case:1", big, &seq), PL_TOOBIG);
	free(big);

	assert_int_equal(store_audit_last(env->s, &seq, &ts, h), 0);
	assert_int_equal(seq, 2);
	t_verify_ok(env->s, 2);
}

/* The store keeps an entry only if it continues the chain. */
static void test_store_put_refuses(void **state)
{
	struct t_env *env = *state;
	struct audit_entry e;
	int64_t seq = 0, ts = 0;
	unsigned char h[AUDIT_HASH_BYTES];

	t_fill(env->s, 1, 3);
	assert_int_equal(store_audit_last(env->s, &seq, &ts, h), 0);
	memset(&e, 0, sizeof(e));
	strcpy(e.kind, "decision");
	e.details = "{}";
	e.ts = ts;
	memcpy(e.prev, h, sizeof(h));

	e.seq = 3; /* taken */
	audit_hash(&e);
	assert_int_equal(store_audit_put(env->s, &e), PL_EXISTS);
	e.seq = 1;
	assert_int_equal(store_audit_put(env->s, &e), PL_EXISTS);
	e.seq = 5; /* skips 4 */
	audit_hash(&e);
	assert_int_equal(store_audit_put(env->s, &e), PL_INVAL);
	e.seq = 4;
	e.prev[0] ^= 1; /* does not link */
	audit_hash(&e);
	assert_int_equal(store_audit_put(env->s, &e), PL_INVAL);
	e.prev[0] ^= 1;
	e.ts = ts - 1; /* goes back */
	audit_hash(&e);
	assert_int_equal(store_audit_put(env->s, &e), PL_INVAL);
	e.details = NULL;
	assert_int_equal(store_audit_put(env->s, &e), PL_INVAL);
	e.details = "{}";
	e.ts = ts;
	audit_hash(&e);
	assert_int_equal(store_audit_put(env->s, &e), 0);
	t_verify_ok(env->s, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_log, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_hash_format, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_chain_verifies, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_each_field, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_row, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_no_trace, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_head_at, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_ts_never_goes_back, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_refused, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_store_put_refuses, t_setup, t_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
