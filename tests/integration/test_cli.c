/*
 * test_cli.c — black-box tests of the `parley` CLI (build/parley, or
 * $PARLEY_BIN) against a real parleyd started by the harness, each user with
 * its own temporary PARLEY_CONFIG.  Also checks the harness itself (restart
 * and crash on the same data folder) and libparley's keep-alive reuse and
 * reconnect against the real daemon.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "parley.h"

#define CLI_PATH_MAX 4096
#define CLI_ARGV_MAX 32
#define CLI_RUN_TIMEOUT_MS 30000 /* one CLI run */

extern char **environ;

struct cli_out {
	int status;  /* exit status, or 128+signal */
	char *out;   /* stdout, NUL-terminated */
	char *err;   /* stderr, NUL-terminated */
};

static void cli_out_release(struct cli_out *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *grown;
	size_t n = 0, cap = 0, got;

	if (!f)
		return strdup("");
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			grown = realloc(buf, cap);
			if (!grown)
				free(buf);
			assert_non_null(grown);
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The config path of user name in this harness. */
static const char *config_of(struct harness *h, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.config", harness_tmp_dir(h), name);
	return buf;
}

/* envp for the child: the environment with PARLEY_CONFIG=config. */
static char **cli_envp(const char *config)
{
	size_t n = 0, k = 0;
	char **envp, *entry;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	assert_non_null(envp);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PARLEY_CONFIG=", 14) != 0)
			envp[k++] = environ[i];
	entry = malloc(strlen(config) + 16);
	assert_non_null(entry);
	sprintf(entry, "PARLEY_CONFIG=%s", config);
	envp[k] = entry; /* last: run_cli_v frees it */
	return envp;
}

/* Runs the CLI with args (NULL-terminated) as the user whose config is
 * config, feeding input (may be NULL) on stdin. */
static struct cli_out run_cli_v(struct harness *h, const char *config, const char *input, const char *const *args)
{
	char in[CLI_PATH_MAX], out[CLI_PATH_MAX], err[CLI_PATH_MAX];
	const char *bin = getenv("PARLEY_BIN");
	char *argv[CLI_ARGV_MAX + 2];
	char **envp = cli_envp(config);
	struct cli_out r = {0};
	int n = 0, status = 0;
	pid_t pid;
	time_t start = time(NULL);

	if (!bin || !*bin)
		bin = "build/parley";
	argv[n++] = (char *)bin;
	for (; args[n - 1] && n <= CLI_ARGV_MAX; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	snprintf(in, sizeof(in), "%s/stdin", harness_tmp_dir(h));
	snprintf(out, sizeof(out), "%s/stdout", harness_tmp_dir(h));
	snprintf(err, sizeof(err), "%s/stderr", harness_tmp_dir(h));
	write_file(in, input ? input : "");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(125);
		execve(bin, argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time(NULL) - start > CLI_RUN_TIMEOUT_MS / 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	for (size_t i = 0; envp[i]; i++)
		if (!envp[i + 1])
			free(envp[i]); /* the PARLEY_CONFIG entry, the only one we made */
	free(envp);
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r.out = read_all(out);
	r.err = read_all(err);
	return r;
}

#define run_cli(h, config, input, ...) run_cli_v((h), (config), (input), (const char *const[]){__VA_ARGS__, NULL})

/* Asserts the run's status, printing its output if it differs. */
static void expect_status(const struct cli_out *r, int status)
{
	if (r->status != status)
		print_error("exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s\n", r->status, status, r->out, r->err);
	assert_int_equal(r->status, status);
}

static void expect_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		print_error("\"%s\" not found in:\n%s\n", needle, hay);
	assert_non_null(strstr(hay, needle));
}

/* Registers name through the CLI (password on stdin), remembering the
 * harness's server in name's config. */
static void cli_register(struct harness *h, const char *name)
{
	char cfg[CLI_PATH_MAX];
	struct cli_out r = run_cli(h, config_of(h, name, cfg, sizeof(cfg)), "password-of-" "test\n", "--server",
				   harness_url(h), "register", name);

	expect_status(&r, 0);
	expect_contains(r.out, "Logged in as");
	cli_out_release(&r);
}

/* Runs a command as name, expecting exit 0; returns stdout (caller frees). */
static char *cli_ok(struct harness *h, const char *name, const char *const *args)
{
	char cfg[CLI_PATH_MAX];
	struct cli_out r = run_cli_v(h, config_of(h, name, cfg, sizeof(cfg)), NULL, args);

	expect_status(&r, 0);
	free(r.err);
	return r.out;
}

#define CLI_OK(h, name, ...) cli_ok((h), (name), (const char *const[]){__VA_ARGS__, NULL})

/* Parses CLI --json output. */
static json_t *parse_json(const char *out)
{
	json_error_t jerr;
	json_t *j = json_loads(out, JSON_DECODE_ANY, &jerr);

	if (!j)
		print_error("not JSON (%s): %s\n", jerr.text, out);
	assert_non_null(j);
	return j;
}

static json_int_t json_id(const char *out, const char *key)
{
	json_t *j = parse_json(out);
	json_int_t v = json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

/* --- fixtures ------------------------------------------------------------ */

static int group_setup(void **state)
{
	struct harness *h = harness_start(NULL);

	*state = h;
	return h ? 0 : -1;
}

static int group_teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void test_help(void **state)
{
	struct harness *h = *state;
	char cfg[CLI_PATH_MAX];
	struct cli_out r;

	config_of(h, "nobody", cfg, sizeof(cfg));
	r = run_cli(h, cfg, NULL, "--help");
	expect_status(&r, 0);
	expect_contains(r.out, "send");
	expect_contains(r.out, "history");
	expect_contains(r.out, "create-channel");
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "help", "send");
	expect_status(&r, 0);
	expect_contains(r.out, "usage: parley send CHAT TEXT...");
	expect_contains(r.out, "sendMessage");
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "help", "get-chat-member-count"); /* kebab-case of the method */
	expect_status(&r, 0);
	expect_contains(r.out, "getChatMemberCount");
	cli_out_release(&r);
}

static void test_usage_errors(void **state)
{
	struct harness *h = *state;
	char cfg[CLI_PATH_MAX];
	struct cli_out r;

	config_of(h, "nobody", cfg, sizeof(cfg));
	r = run_cli(h, cfg, NULL, "frobnicate");
	expect_status(&r, 2);
	expect_contains(r.err, "unknown command");
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "send");
	expect_status(&r, 2);
	expect_contains(r.err, "missing CHAT");
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "history", "5", "--limit", "lots");
	expect_status(&r, 2);
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "history", "5", "--before", "3", "--after", "4");
	expect_status(&r, 2);
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "me", "--no-such-option");
	expect_status(&r, 2);
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "call", "getMe", "{not json");
	expect_status(&r, 2);
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "help", "no-such-command");
	expect_status(&r, 2);
	cli_out_release(&r);

	r = run_cli(h, cfg, NULL, "--server", "https://example.invalid", "me");
	expect_status(&r, 2);
	cli_out_release(&r);
}

static void test_register_login_logout(void **state)
{
	struct harness *h = *state;
	char cfg[CLI_PATH_MAX], *out, *text;
	struct cli_out r;
	struct stat st;
	json_t *me;

	cli_register(h, "alice");
	config_of(h, "alice", cfg, sizeof(cfg));
	assert_int_equal(stat(cfg, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = read_all(cfg);
	expect_contains(text, harness_url(h));
	expect_contains(text, "token=");
	assert_null(strstr(text, "token=\n"));
	free(text);

	/* The server is remembered: no --server from here on. */
	out = CLI_OK(h, "alice", "me");
	expect_contains(out, "alice (@alice)");
	free(out);
	out = CLI_OK(h, "alice", "--json", "me");
	me = parse_json(out);
	assert_string_equal(json_string_value(json_object_get(me, "username")), "alice");
	json_decref(me);
	free(out);

	out = CLI_OK(h, "alice", "sessions");
	expect_contains(out, "*");
	expect_contains(out, "parley CLI");
	free(out);

	out = CLI_OK(h, "alice", "logout");
	free(out);
	text = read_all(cfg);
	expect_contains(text, "token=\n");
	free(text);

	r = run_cli(h, cfg, NULL, "me");
	expect_status(&r, 1);
	expect_contains(r.err, "error: UNAUTHORIZED: ");
	cli_out_release(&r);

	r = run_cli(h, cfg, "wrong-password\n", "login", "alice");
	expect_status(&r, 1);
	expect_contains(r.err, "error: CREDENTIALS_INVALID: ");
	cli_out_release(&r);

	r = run_cli(h, cfg, "password-of-test\n", "login", "alice");
	expect_status(&r, 0);
	expect_contains(r.out, "Logged in as alice");
	cli_out_release(&r);
	out = CLI_OK(h, "alice", "me");
	expect_contains(out, "alice");
	free(out);
}

static void test_send_history_dialogs(void **state)
{
	struct harness *h = *state;
	char *out, cfg[CLI_PATH_MAX], longtext[5001];
	struct cli_out r;
	json_t *j;

	cli_register(h, "carol");
	cli_register(h, "david");
	out = CLI_OK(h, "carol", "send", "@david", "hello", "david");
	expect_contains(out, "[#1 ");
	expect_contains(out, "] carol: hello david");
	free(out);
	out = CLI_OK(h, "carol", "--json", "send", "david", "second");
	assert_int_equal(json_id(out, "message_id"), 2);
	free(out);
	out = CLI_OK(h, "david", "send", "carol", "--reply", "1", "--", "--hi back");
	expect_contains(out, "david (reply to #1): --hi back");
	free(out);

	out = CLI_OK(h, "david", "history", "carol");
	expect_contains(out, "[#1 ");
	expect_contains(out, "carol: hello david");
	assert_true(strstr(out, "#1 ") < strstr(out, "#3 ")); /* oldest first */
	free(out);
	out = CLI_OK(h, "david", "--json", "history", "carol", "--limit", "2");
	j = parse_json(out);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
	free(out);
	out = CLI_OK(h, "david", "history", "carol", "--after", "1");
	assert_null(strstr(out, "#1 "));
	expect_contains(out, "#2 ");
	free(out);

	out = CLI_OK(h, "carol", "dialogs");
	expect_contains(out, "UNREAD");
	expect_contains(out, "david");
	free(out);
	out = CLI_OK(h, "david", "--json", "dialogs");
	j = parse_json(out);
	assert_true(json_is_array(j));
	assert_true(json_array_size(j) >= 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "unread_count")), 2);
	json_decref(j);
	free(out);
	free(CLI_OK(h, "david", "read", "carol"));
	out = CLI_OK(h, "david", "--json", "dialogs");
	j = parse_json(out);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "unread_count")), 0);
	json_decref(j);
	free(out);

	usleep(400 * 1000); /* new messages are searchable within the index's age bound (docs/api.md) */
	out = CLI_OK(h, "carol", "search", "hello");
	expect_contains(out, "carol: hello david");
	free(out);

	/* API errors: exit 1 and "error: CODE: words". */
	config_of(h, "carol", cfg, sizeof(cfg));
	r = run_cli(h, cfg, NULL, "send", "999999", "anyone?");
	expect_status(&r, 1);
	assert_true(strncmp(r.err, "error: ", 7) == 0);
	expect_contains(r.err, "NOT_FOUND: ");
	cli_out_release(&r);
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	r = run_cli(h, cfg, NULL, "send", "david", longtext);
	expect_status(&r, 1);
	expect_contains(r.err, "error: MESSAGE_TOO_LONG: ");
	cli_out_release(&r);
}

static void test_groups_and_links(void **state)
{
	struct harness *h = *state;
	char *out, id[32], uid[32], link[600];
	json_t *j;

	cli_register(h, "erin1");
	cli_register(h, "frank");
	cli_register(h, "grace");
	out = CLI_OK(h, "frank", "--json", "me");
	snprintf(uid, sizeof(uid), "%lld", (long long)json_id(out, "id"));
	free(out);

	out = CLI_OK(h, "erin1", "--json", "create-group", "Team Parley", uid);
	assert_true(json_id(out, "id") < 0);
	snprintf(id, sizeof(id), "%lld", (long long)json_id(out, "id"));
	free(out);
	free(CLI_OK(h, "erin1", "send", id, "welcome", "all"));
	out = CLI_OK(h, "frank", "history", id);
	expect_contains(out, "erin1: welcome all");
	free(out);

	out = CLI_OK(h, "erin1", "--json", "invite-link", id, "--expire", "3600", "--limit", "5");
	j = parse_json(out);
	assert_true(json_is_string(json_object_get(j, "invite_link")));
	snprintf(link, sizeof(link), "%s", json_string_value(json_object_get(j, "invite_link")));
	assert_int_equal(json_integer_value(json_object_get(j, "member_limit")), 5);
	json_decref(j);
	free(out);

	out = CLI_OK(h, "grace", "join", link);
	expect_contains(out, "Team Parley");
	free(out);
	out = CLI_OK(h, "erin1", "members", id);
	expect_contains(out, "grace");
	expect_contains(out, "creator");
	free(out);
	out = CLI_OK(h, "grace", "dialogs");
	expect_contains(out, "Team Parley");
	free(out);

	out = CLI_OK(h, "erin1", "--json", "create-channel", "News", "--username", "erin_news");
	assert_true(json_id(out, "id") < 0);
	free(out);
	free(CLI_OK(h, "erin1", "send", "@erin_news", "first", "post"));
	out = CLI_OK(h, "grace", "join", "@erin_news");
	expect_contains(out, "News");
	free(out);
}

static void test_call_generic(void **state)
{
	struct harness *h = *state;
	char cfg[CLI_PATH_MAX], *out;
	struct cli_out r;
	json_t *j;

	cli_register(h, "heidi");
	out = CLI_OK(h, "heidi", "call", "getMe");
	j = parse_json(out);
	assert_string_equal(json_string_value(json_object_get(j, "username")), "heidi");
	json_decref(j);
	free(out);
	out = CLI_OK(h, "heidi", "call", "updateProfile", "{\"bio\":\"hello there\"}");
	free(out);
	out = CLI_OK(h, "heidi", "me");
	expect_contains(out, "bio: hello there");
	free(out);

	config_of(h, "heidi", cfg, sizeof(cfg));
	r = run_cli(h, cfg, NULL, "call", "noSuchMethod");
	expect_status(&r, 1);
	expect_contains(r.err, "error: METHOD_NOT_FOUND: ");
	cli_out_release(&r);
}

static void test_network_error_and_server_switch(void **state)
{
	struct harness *h = *state;
	char cfg[CLI_PATH_MAX], *text;
	struct cli_out r;

	cli_register(h, "ivan1");
	config_of(h, "ivan1", cfg, sizeof(cfg));
	/* A different server: remembered, and the token is dropped, not sent. */
	r = run_cli(h, cfg, NULL, "--server", "http://127.0.0.1:1", "me");
	expect_status(&r, 1);
	expect_contains(r.err, "error: NETWORK_ERROR: ");
	cli_out_release(&r);
	text = read_all(cfg);
	expect_contains(text, "server=http://127.0.0.1:1\n");
	expect_contains(text, "token=\n");
	free(text);
	r = run_cli(h, cfg, NULL, "--server", harness_url(h), "me");
	expect_status(&r, 1);
	expect_contains(r.err, "error: UNAUTHORIZED: ");
	cli_out_release(&r);
}

/* libparley against the real daemon: one connection for many calls. */
static void test_lib_keepalive(void **state)
{
	struct harness *h = *state;
	struct parley_client *c = harness_user(h, "judy1");
	struct parley_error err;
	json_t *me = NULL;

	for (int i = 0; i < 20; i++) {
		assert_int_equal(parley_get_me(c, &me, &err), 0);
		json_decref(me);
	}
	assert_int_equal(parley_client_connects(c), 1);
	assert_int_equal(parley_call(c, "noSuchMethod", NULL, NULL, &err), PARLEY_EAPI);
	assert_string_equal(err.code, "METHOD_NOT_FOUND");
	assert_int_equal(err.http_status, 404);
}

/* Many clients in many threads: one client per thread, no shared state. */
#define THREADS 8
#define THREAD_SENDS 40

struct sender {
	struct parley_client *c;
	int64_t chat_id;
	int failures;
	int64_t last_id;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct parley_error err;
	char text[64];

	for (int i = 0; i < THREAD_SENDS; i++) {
		int64_t id = 0;

		snprintf(text, sizeof(text), "message %d", i);
		if (parley_send_message(s->c, s->chat_id, text, 0, &id, &err) < 0 || id <= s->last_id)
			s->failures++;
		s->last_id = id;
	}
	return NULL;
}

static void test_lib_threads(void **state)
{
	struct harness *h = *state;
	struct parley_client *owner = harness_user(h, "thread_owner");
	struct sender senders[THREADS];
	pthread_t tids[THREADS];
	int64_t members[THREADS], group = 0;
	struct parley_error err;
	json_t *hist = NULL;
	char name[32];

	for (int i = 0; i < THREADS; i++) {
		snprintf(name, sizeof(name), "thread_user%d", i);
		senders[i] = (struct sender){harness_user(h, name), 0, 0, 0};
		members[i] = harness_user_id(h, name);
	}
	assert_int_equal(parley_create_group(owner, "Threads", members, THREADS, &group, &err), 0);
	for (int i = 0; i < THREADS; i++) {
		senders[i].chat_id = group;
		assert_int_equal(pthread_create(&tids[i], NULL, sender_main, &senders[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tids[i], NULL);
		assert_int_equal(senders[i].failures, 0);
		assert_int_equal(parley_client_connects(senders[i].c), 1);
	}
	assert_int_equal(parley_get_history(owner, group, 0, 0, 100, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 100 > THREADS * THREAD_SENDS ? THREADS * THREAD_SENDS : 100);
	json_decref(hist);
}

/* The harness: stop, restart on the same data and port, crash. */
static void test_harness_restart(void **state)
{
	struct harness *h = harness_start((const char *const[]){"PARLEY_LOG_LEVEL=info", NULL});
	struct parley_client *a, *b;
	struct parley_error err;
	int64_t mid = 0, bid;
	json_t *hist = NULL;

	(void)state;
	assert_non_null(h);
	a = harness_user(h, "kathy");
	b = harness_user(h, "louis");
	bid = harness_user_id(h, "louis");
	assert_int_equal(parley_send_message(a, bid, "before restart", 0, &mid, &err), 0);

	assert_int_equal(harness_stop(h), 0);
	assert_int_equal(harness_pid(h), -1);
	assert_int_equal(parley_get_me(a, NULL, &err), PARLEY_ENETWORK);
	assert_string_equal(err.code, "NETWORK_ERROR");
	assert_int_equal(harness_restart(h), 0);

	/* b's kept-alive connection died with the old daemon: it reconnects. */
	assert_int_equal(parley_get_history(b, harness_user_id(h, "kathy"), 0, 0, 10, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "text")), "before restart");
	json_decref(hist);
	assert_int_equal(parley_client_connects(b), 2);

	assert_int_equal(parley_send_message(a, bid, "before crash", 0, &mid, &err), 0);
	harness_kill9(h);
	assert_int_equal(harness_restart(h), 0);
	assert_int_equal(parley_get_history(b, harness_user_id(h, "kathy"), 0, 0, 10, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 2); /* acknowledged means durable */
	json_decref(hist);
	assert_non_null(harness_login(h, "kathy"));
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_register_login_logout),
		cmocka_unit_test(test_send_history_dialogs),
		cmocka_unit_test(test_groups_and_links),
		cmocka_unit_test(test_call_generic),
		cmocka_unit_test(test_network_error_and_server_switch),
		cmocka_unit_test(test_lib_keepalive),
		cmocka_unit_test(test_lib_threads),
		cmocka_unit_test(test_harness_restart),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
