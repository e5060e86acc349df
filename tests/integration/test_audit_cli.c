/*
 * test_audit_cli.c — `parleyd --data DIR audit verify | head | tail` against
 * the data folder of a real parleyd started by the harness
 * (tests/integration/harness.h).
 *
 * The daemon does not write audit entries by itself yet, so the test writes
 * a few straight into DIR/parley.db with raw SQL, hashing them here by the
 * format of src/safety/audit.h (an independent implementation of it), then
 * checks what the command says: OK with the right count and head, the entry
 * in force at a time, the last entries as JSON lines, and, after one stored
 * field is altered, BROKEN at that entry with exit status 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define AC_RUN_TIMEOUT_S 20
#define AC_OUT_MAX 65536
#define AC_ZERO_HEX "0000000000000000000000000000000000000000000000000000000000000000"

struct ac_out {
	int status;
	char out[AC_OUT_MAX];
	char err[AC_OUT_MAX];
};

static void ac_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Runs build/parleyd (or $PARLEYD) --data DATA args..., collecting its
 * exit status and output. */
static void ac_run_v(struct harness *h, struct ac_out *r, const char *const *args)
{
	const char *bin = getenv("PARLEYD");
	char out[4200], err[4200];
	char *argv[16];
	int n = 0, status = 0;
	time_t start = time(NULL);
	pid_t pid;

	argv[n++] = (char *)(bin && *bin ? bin : "build/parleyd");
	argv[n++] = "--data";
	argv[n++] = (char *)harness_data_dir(h);
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/audit.out", harness_tmp_dir(h));
	snprintf(err, sizeof(err), "%s/audit.err", harness_tmp_dir(h));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(125);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time(NULL) - start > AC_RUN_TIMEOUT_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ac_read(out, r->out, sizeof(r->out));
	ac_read(err, r->err, sizeof(r->err));
}

#define ac_run(h, r, ...) ac_run_v((h), (r), (const char *const[]){__VA_ARGS__, NULL})

static void ac_expect(const struct ac_out *r, int status, const char *out)
{
	if (r->status != status || strcmp(r->out, out) != 0)
		fail_msg("exit %d, wanted %d\nstdout:\n%s\nwanted:\n%s\nstderr:\n%s", r->status, status, r->out, out,
			 r->err);
}

/* Appends entry seq (1-based) to the raw database, chained to prev, and
 * returns its hash in hash. */
static void ac_put(sqlite3 *db, int64_t seq, int64_t ts, const char *kind, int64_t actor, const char *subject,
		   const char *details, const unsigned char prev[32], unsigned char hash[32])
{
	unsigned char buf[1024];
	sqlite3_stmt *q = NULL;
	int n;

	memcpy(buf, prev, 32);
	n = snprintf((char *)buf + 32, sizeof(buf) - 32, "%lld\n%lld\n%s\n%lld\n%s\n%s", (long long)seq,
		     (long long)ts, kind, (long long)actor, subject, details);
	crypto_hash_sha256(hash, buf, 32 + (unsigned long long)n);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO audit_log(seq, ts, kind, actor, subject, details, prev, hash)"
					    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_int64(q, 2, ts);
	sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, actor);
	sqlite3_bind_text(q, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, details, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 8, hash, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

static void test_audit_cli(void **state)
{
	struct harness *h = harness_start(NULL);
	unsigned char hash[4][32] = {{0}};
	char hex[4][65], want[1024], path[4200];
	struct ac_out *r = calloc(1, sizeof(*r));
	sqlite3 *db = NULL;
	json_t *line;
	char *nl;

	assert_non_null(h);
	assert_non_null(r);
	/* while the server runs: read-only, beside it */
	ac_run(h, r, "audit", "verify");
	ac_expect(r, 0, "audit log OK: 0 entries, head " AC_ZERO_HEX "\n");
	assert_int_equal(harness_stop(h), 0);

	/* stopped: an empty log verifies with 0 entries */
	ac_run(h, r, "audit", "verify");
	ac_expect(r, 0, "audit log OK: 0 entries, head " AC_ZERO_HEX "\n");
	ac_run(h, r, "audit", "head");
	ac_expect(r, 0, "audit head: entry 0, hash " AC_ZERO_HEX "\n");
	ac_run(h, r, "audit", "tail");
	ac_expect(r, 0, "");

	snprintf(path, sizeof(path), "%s/parley.db", harness_data_dir(h));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	ac_put(db, 1, 1000, "signal.report", 5, "message:3:7", "{\"category\":\"spam\"}", hash[0], hash[1]);
	ac_put(db, 2, 2000, "decision", 9, "case:1", "{\"outcome\":\"remove\"}", hash[1], hash[2]);
	ac_put(db, 3, 3000, "action.remove_message", 9, "message:3:7", "{}", hash[2], hash[3]);
	for (int i = 0; i < 4; i++)
		sodium_bin2hex(hex[i], sizeof(hex[i]), hash[i], 32);

	ac_run(h, r, "audit", "verify");
	snprintf(want, sizeof(want), "audit log OK: 3 entries, head %s\n", hex[3]);
	ac_expect(r, 0, want);
	ac_run(h, r, "audit", "head", "--at", "2999");
	snprintf(want, sizeof(want), "audit head: entry 2, hash %s\n", hex[2]);
	ac_expect(r, 0, want);
	ac_run(h, r, "audit", "head", "--at", "999");
	ac_expect(r, 0, "audit head: entry 0, hash " AC_ZERO_HEX "\n");

	/* tail 2: entries 2 and 3, one JSON object a line */
	ac_run(h, r, "audit", "tail", "2");
	assert_int_equal(r->status, 0);
	assert_non_null(nl = strchr(r->out, '\n'));
	*nl = '\0';
	assert_non_null(line = json_loads(r->out, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(line, "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(line, "kind")), "decision");
	assert_string_equal(json_string_value(json_object_get(json_object_get(line, "details"), "outcome")), "remove");
	assert_string_equal(json_string_value(json_object_get(line, "prev")), hex[1]);
	assert_string_equal(json_string_value(json_object_get(line, "hash")), hex[2]);
	json_decref(line);
	assert_non_null(line = json_loads(nl + 1, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(line, "seq")), 3);
	json_decref(line);

	/* one altered field: BROKEN at that entry, exit 1 */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_log_no_update;"
					  " UPDATE audit_log SET details = '{\"outcome\":\"dismiss\"}' WHERE seq = 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ac_run(h, r, "audit", "verify");
	ac_expect(r, 1, "audit log BROKEN at entry 2: hash mismatch: the stored fields do not hash to the stored hash\n");

	/* usage errors: exit 2 */
	ac_run(h, r, "audit");
	assert_int_equal(r->status, 2);
	ac_run(h, r, "audit", "tail", "0");
	assert_int_equal(r->status, 2);
	ac_run(h, r, "nonsense");
	assert_int_equal(r->status, 2);

	/* and the daemon still starts as before on the same folder */
	assert_int_equal(harness_restart(h), 0);
	assert_int_equal(harness_stop(h), 0);
	free(r);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_cli),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
