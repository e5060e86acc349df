/*
 * test_listen.c — live updates end to end against the real parleyd
 * (tests/integration/harness.h): `parley listen` ($PARLEY_BIN, default
 * build/parley) as a child process, and libparley's connection object
 * (parley_conn_*) used directly.
 *
 *   - listen_exactly_once: user B runs `parley listen` while user A sends
 *     LISTEN_MESSAGES messages to B; meanwhile the server is killed with
 *     SIGKILL and restarted, and the listen process is killed with SIGKILL
 *     and started again (while messages keep coming).  Its output must hold
 *     each message's new_message update exactly once, every line's pts
 *     strictly above the one before, and the saved state must end at the
 *     last pts.  Ctrl-C then ends it with status 0.
 *     A line printed after the last saved state (a crash between printing
 *     and saving) is cut off when listen starts again.
 *   - listen_since_now_and_refused: --since-now prints nothing of the past;
 *     a state of another user and a token the server refuses (close 4401)
 *     end listen with status 1.
 *   - conn_two_devices: two sessions of one user, each with its own
 *     connection, see every update once and in order — private messages,
 *     a group that turns large (chat_large, then its own sequence) and a
 *     channel joined while connected and posted to at once — across
 *     dropped sockets and a server crash; typing reaches both; a call over
 *     the socket answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
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

#define LISTEN_MESSAGES 200
#define LISTEN_WAIT_MS 60000     /* for the output to hold everything */
#define LISTEN_EXIT_WAIT_MS 10000
#define LISTEN_PATH_MAX 4096
#define CONN_WAIT_MS 30000

extern char **environ;

/* --- small helpers ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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
			cap = cap ? cap * 2 : 65536;
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

/* Writes a CLI config for client c's session. */
static void write_config(struct harness *h, const char *path, struct parley_client *c)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "server=%s\ntoken=%s\n", harness_url(h), parley_client_token(c) ? parley_client_token(c) : "");
	assert_int_equal(fclose(f), 0);
}

static void send_text(struct parley_client *c, int64_t chat, const char *fmt, int i)
{
	struct parley_error err;
	char text[64];
	int rc;

	snprintf(text, sizeof(text), fmt, i);
	rc = parley_send_message(c, chat, text, 0, NULL, &err);
	if (rc)
		print_error("send \"%s\": %s: %s\n", text, err.code, err.description);
	assert_int_equal(rc, 0);
}

/* --- the listen child ------------------------------------------------------------- */

/* Starts `parley listen [args]` with PARLEY_CONFIG=config, stdout appended
 * to out and stderr to errpath. */
static pid_t listen_start(const char *config, const char *out, const char *errpath, const char *const *args)
{
	const char *bin = getenv("PARLEY_BIN");
	char *argv[16], cfgenv[LISTEN_PATH_MAX + 16];
	size_t n = 0, k = 0;
	char **envp;
	pid_t pid;

	if (!bin || !*bin)
		bin = "build/parley";
	argv[n++] = (char *)bin;
	argv[n++] = "listen";
	for (; args && *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	while (environ[k])
		k++;
	envp = calloc(k + 2, sizeof(*envp));
	assert_non_null(envp);
	n = 0;
	for (size_t i = 0; i < k; i++)
		if (strncmp(environ[i], "PARLEY_CONFIG=", 14) != 0)
			envp[n++] = environ[i];
	snprintf(cfgenv, sizeof(cfgenv), "PARLEY_CONFIG=%s", config);
	envp[n] = cfgenv;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600), fe = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600),
		    fi = open("/dev/null", O_RDONLY);

		if (fo < 0 || fe < 0 || fi < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(125);
		execve(bin, argv, envp);
		_exit(127);
	}
	free(envp);
	return pid;
}

/* Waits for pid to end (up to ms); returns its exit status, 128+signal, or
 * -1 after killing it because it did not end. */
static int listen_wait(pid_t pid, int ms)
{
	int64_t end = now_ms() + ms;
	int status = 0;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(5);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Counts the lines of out that are new_message updates. */
static int count_messages(const char *out)
{
	char *text = read_all(out);
	int n = 0;

	for (const char *p = text; (p = strstr(p, "\"type\":\"new_message\"")); p++)
		n++;
	free(text);
	return n;
}

/* Waits until out holds want new_message lines. */
static int wait_messages(const char *out, int want, int ms)
{
	int64_t end = now_ms() + ms;
	int n;

	while ((n = count_messages(out)) < want && now_ms() < end)
		sleep_ms(20);
	return n;
}

/* Checks out: every line JSON; updates with strictly increasing pts; each
 * "m<i>" text (i in 1..want) exactly once.  Returns the last pts. */
static int64_t check_output(const char *out, const char *fmt, int want)
{
	char *text = read_all(out), *line, *save = NULL, name[64];
	int *seen = calloc((size_t)want + 1, sizeof(*seen)), lines = 0;
	int64_t last = 0;

	assert_non_null(seen);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *j = json_loads(line, 0, &jerr), *u, *pts;
		const char *t;
		int i;

		if (!j)
			print_error("line %d is not JSON (%s): %s\n", lines + 1, jerr.text, line);
		assert_non_null(j);
		lines++;
		if (json_object_get(j, "event")) {
			json_decref(j);
			continue;
		}
		pts = json_object_get(j, "pts");
		assert_true(json_is_integer(pts));
		if (json_object_get(j, "chat_id") == NULL) {
			if (json_integer_value(pts) <= last)
				print_error("line %d: pts %lld after %lld\n", lines, (long long)json_integer_value(pts),
					    (long long)last);
			assert_true(json_integer_value(pts) > last);
			last = json_integer_value(pts);
		}
		u = json_object_get(j, "update");
		t = json_string_value(json_object_get(json_object_get(u, "message"), "text"));
		if (t && strcmp(json_string_value(json_object_get(u, "type")), "new_message") == 0) {
			for (i = 1; i <= want; i++) {
				snprintf(name, sizeof(name), fmt, i);
				if (strcmp(name, t) == 0)
					break;
			}
			assert_true(i <= want);
			if (seen[i])
				print_error("\"%s\" twice (line %d)\n", t, lines);
			assert_int_equal(seen[i], 0);
			seen[i] = 1;
		}
		json_decref(j);
	}
	for (int i = 1; i <= want; i++) {
		if (!seen[i])
			print_error("message %d missing\n", i);
		assert_true(seen[i]);
	}
	free(seen);
	free(text);
	return last;
}

static int64_t state_pts(const char *path)
{
	struct parley_state *st = malloc(sizeof(*st));
	char errbuf[256];
	int64_t pts;
	int found = 0;

	assert_non_null(st);
	assert_int_equal(parley_state_load(path, st, &found, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(found, 1);
	pts = st->pts;
	free(st);
	return pts;
}

static void test_listen_exactly_once(void **state)
{
	struct harness *h = harness_start(NULL);
	struct parley_client *a, *b;
	char cfg[LISTEN_PATH_MAX], out[LISTEN_PATH_MAX], errp[LISTEN_PATH_MAX], st[LISTEN_PATH_MAX];
	const char *const args[] = {"--state", st, NULL};
	int64_t bid, last;
	char *text;
	FILE *f;
	pid_t pid;
	int n;

	assert_non_null(h);
	a = harness_user(h, "alice_listen");
	b = harness_user(h, "bob_listen");
	bid = harness_user_id(h, "bob_listen");
	snprintf(cfg, sizeof(cfg), "%s/bob.config", harness_tmp_dir(h));
	snprintf(out, sizeof(out), "%s/listen.out", harness_tmp_dir(h));
	snprintf(errp, sizeof(errp), "%s/listen.err", harness_tmp_dir(h));
	snprintf(st, sizeof(st), "%s/bob.state", harness_tmp_dir(h));
	write_config(h, cfg, b);

	pid = listen_start(cfg, out, errp, args);
	for (int i = 1; i <= LISTEN_MESSAGES; i++) {
		send_text(a, bid, "m%d", i);
		if (i == 50) { /* the server crashes while pushes are on their way */
			harness_kill9(h);
			assert_int_equal(harness_restart(h), 0);
		}
		if (i == 120) { /* so does the listener */
			kill(pid, SIGKILL);
			assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 128 + SIGKILL);
		}
		if (i == 160) /* after 40 messages it did not see live */
			pid = listen_start(cfg, out, errp, args);
	}
	n = wait_messages(out, LISTEN_MESSAGES, LISTEN_WAIT_MS);
	if (n != LISTEN_MESSAGES) {
		char *e = read_all(errp);

		print_error("listen printed %d of %d messages; its stderr:\n%s\n", n, LISTEN_MESSAGES, e);
		free(e);
	}
	kill(pid, SIGINT); /* Ctrl-C */
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 0);
	last = check_output(out, "m%d", LISTEN_MESSAGES);
	assert_int_equal(n, LISTEN_MESSAGES);
	assert_int_equal(last, LISTEN_MESSAGES); /* B's sequence holds nothing else */
	assert_int_equal(state_pts(st), last);

	/* Started again, it goes on where it stopped: nothing is repeated. */
	pid = listen_start(cfg, out, errp, args);
	send_text(a, bid, "m%d", LISTEN_MESSAGES + 1);
	assert_int_equal(wait_messages(out, LISTEN_MESSAGES + 1, LISTEN_WAIT_MS), LISTEN_MESSAGES + 1);
	kill(pid, SIGTERM);
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 0);
	assert_int_equal(check_output(out, "m%d", LISTEN_MESSAGES + 1), LISTEN_MESSAGES + 1);

	/* A line written after the last saved state (what a crash between
	 * printing and saving leaves) is cut off by the next start. */
	f = fopen(out, "a");
	assert_non_null(f);
	fputs("{\"pts\":999999,\"update\":{\"type\":\"unsaved\"}}\n", f);
	assert_int_equal(fclose(f), 0);
	pid = listen_start(cfg, out, errp, args);
	send_text(a, bid, "m%d", LISTEN_MESSAGES + 2);
	assert_int_equal(wait_messages(out, LISTEN_MESSAGES + 2, LISTEN_WAIT_MS), LISTEN_MESSAGES + 2);
	kill(pid, SIGINT);
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 0);
	assert_int_equal(check_output(out, "m%d", LISTEN_MESSAGES + 2), LISTEN_MESSAGES + 2);
	text = read_all(out);
	assert_null(strstr(text, "unsaved"));
	free(text);
	harness_free(h);
}

static void test_listen_since_now_and_refused(void **state)
{
	struct harness *h = harness_start(NULL);
	struct parley_client *a, *b;
	char cfg[LISTEN_PATH_MAX], out[LISTEN_PATH_MAX], errp[LISTEN_PATH_MAX], st[LISTEN_PATH_MAX];
	const char *const args[] = {"--state", st, "--since-now", NULL};
	char *text, *e;
	int64_t bid;
	FILE *f;
	pid_t pid;

	assert_non_null(h);
	a = harness_user(h, "alice_since");
	b = harness_user(h, "bob_since");
	bid = harness_user_id(h, "bob_since");
	for (int i = 1; i <= 5; i++)
		send_text(a, bid, "old%d", i);
	snprintf(cfg, sizeof(cfg), "%s/bob.config", harness_tmp_dir(h));
	snprintf(out, sizeof(out), "%s/since.out", harness_tmp_dir(h));
	snprintf(errp, sizeof(errp), "%s/since.err", harness_tmp_dir(h));
	snprintf(st, sizeof(st), "%s/bob.state", harness_tmp_dir(h));
	write_config(h, cfg, b);
	pid = listen_start(cfg, out, errp, args);
	/* Wait until it is caught up (it says so on stderr), then send. */
	for (int64_t end = now_ms() + LISTEN_WAIT_MS; now_ms() < end; sleep_ms(20)) {
		e = read_all(errp);
		int up = strstr(e, "listening as user") != NULL;
		free(e);
		if (up)
			break;
	}
	send_text(a, bid, "new%d", 1);
	assert_int_equal(wait_messages(out, 1, LISTEN_WAIT_MS), 1);
	kill(pid, SIGINT);
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 0);
	text = read_all(out);
	assert_null(strstr(text, "old"));
	assert_non_null(strstr(text, "\"text\":\"new1\""));
	free(text);
	assert_int_equal(state_pts(st), 6);

	/* A state saved for bob is refused for alice's session. */
	snprintf(cfg, sizeof(cfg), "%s/alice.config", harness_tmp_dir(h));
	write_config(h, cfg, a);
	{
		const char *const plain[] = {"--state", st, NULL};

		pid = listen_start(cfg, out, errp, plain);
	}
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 1);
	e = read_all(errp);
	assert_non_null(strstr(e, "STATE_MISMATCH"));
	free(e);
	assert_int_equal(state_pts(st), 6); /* untouched */

	/* A token the server does not know: close 4401, status 1. */
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f, "server=%s\ntoken=00112233445566778899aabbccddeeff\n", harness_url(h));
	fclose(f);
	pid = listen_start(cfg, out, errp, args);
	assert_int_equal(listen_wait(pid, LISTEN_EXIT_WAIT_MS), 1);
	e = read_all(errp);
	assert_non_null(strstr(e, "UNAUTHORIZED"));
	free(e);
	harness_free(h);
}

/* --- the connection object directly ---------------------------------------------- */

#define DEV_ROWS_MAX 2048

/* What one device saw. */
struct device {
	struct parley_conn *c;
	json_t *rows;          /* every update row, in the order applied */
	int typing;
	int reloads;
	int64_t user_pts;      /* the last user-sequence pts seen */
	int out_of_order;      /* a user-sequence pts that did not follow */
	int64_t chat_pts[8][2];/* chat id, last pts */
	int chat_bad;          /* a chat pts that did not follow */
};

static void dev_update(void *ctx, const json_t *row)
{
	struct device *d = ctx;
	int64_t pts = (int64_t)json_integer_value(json_object_get(row, "pts"));
	json_t *chat = json_object_get(row, "chat_id");

	json_array_append(d->rows, (json_t *)row);
	if (!chat) {
		if (d->user_pts && pts != d->user_pts + 1)
			d->out_of_order = 1;
		d->user_pts = pts;
		return;
	}
	for (int i = 0; i < 8; i++) {
		if (d->chat_pts[i][0] == 0 || d->chat_pts[i][0] == (int64_t)json_integer_value(chat)) {
			if (d->chat_pts[i][0] && pts <= d->chat_pts[i][1])
				d->chat_bad = 1;
			d->chat_pts[i][0] = (int64_t)json_integer_value(chat);
			d->chat_pts[i][1] = pts;
			return;
		}
	}
}

static void dev_event(void *ctx, const json_t *ev)
{
	struct device *d = ctx;

	if (strcmp(json_string_value(json_object_get(ev, "event")), "typing") == 0)
		d->typing++;
}

static void dev_reload(void *ctx, int64_t chat_id, int64_t pts)
{
	((struct device *)ctx)->reloads++;
}

static void dev_open(struct device *d, struct harness *h, struct parley_client *session)
{
	const struct parley_conn_handlers hs = {dev_update, dev_event, dev_reload, NULL, NULL};
	struct parley_state *zero = calloc(1, sizeof(*zero));
	char errbuf[256];

	assert_non_null(zero);
	memset(d, 0, sizeof(*d));
	d->rows = json_array();
	d->c = parley_conn_new(harness_url(h), parley_client_token(session), zero, errbuf, sizeof(errbuf));
	if (!d->c)
		print_error("parley_conn_new: %s\n", errbuf);
	assert_non_null(d->c);
	parley_conn_set_handlers(d->c, &hs, d);
	parley_conn_set_timeout_ms(d->c, 10000);
	free(zero);
}

static void dev_close(struct device *d)
{
	parley_conn_free(d->c);
	json_decref(d->rows);
}

/* Runs both devices until cond(dev) holds for each, or fails. */
static void run_until(struct device *d, int n, int (*cond)(struct device *, void *), void *arg)
{
	int64_t end = now_ms() + CONN_WAIT_MS;
	int done = 0;

	while (!done) {
		done = 1;
		for (int i = 0; i < n; i++) {
			int rc = parley_conn_run(d[i].c, 20);

			if (rc)
				print_error("device %d: %s: %s\n", i, parley_conn_error(d[i].c)->code,
					    parley_conn_error(d[i].c)->description);
			assert_int_equal(rc, 0);
			if (!cond(&d[i], arg))
				done = 0;
		}
		if (!done && now_ms() > end) {
			for (int i = 0; i < n; i++) {
				char *last = json_dumps(json_array_get(d[i].rows, json_array_size(d[i].rows) - 1), 0);

				print_error("device %d: %zu rows (the last: %s), synced %d, last error %s\n", i,
					    json_array_size(d[i].rows), last ? last : "none", parley_conn_synced(d[i].c),
					    parley_conn_error(d[i].c)->description);
				free(last);
			}
			fail();
		}
	}
}

static int cond_synced(struct device *d, void *arg)
{
	return parley_conn_synced(d->c);
}

/* Counts d's new_message rows whose text starts with prefix. */
static int dev_count(const struct device *d, const char *prefix)
{
	size_t i;
	json_t *row;
	int n = 0;

	json_array_foreach(d->rows, i, row) {
		const char *t = json_string_value(
			json_object_get(json_object_get(json_object_get(row, "update"), "message"), "text"));

		if (t && strncmp(t, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

struct want {
	const char *prefix;
	int n;
};

static int cond_count(struct device *d, void *arg)
{
	const struct want *w = arg;

	return dev_count(d, w->prefix) >= w->n && parley_conn_synced(d->c);
}

static int cond_typing(struct device *d, void *arg)
{
	return d->typing > 0;
}

static int cond_chats(struct device *d, void *arg)
{
	struct parley_state *st = malloc(sizeof(*st));
	size_t n;

	assert_non_null(st);
	parley_conn_state(d->c, st);
	n = st->nchats;
	free(st);
	return parley_conn_synced(d->c) && n == (size_t)(intptr_t)arg;
}

/* Each "<prefix><i>" (1..n) exactly once in d's rows. */
static void dev_expect(const struct device *d, const char *prefix, int n)
{
	char want[64];

	for (int i = 1; i <= n; i++) {
		size_t k;
		json_t *row;
		int found = 0;

		snprintf(want, sizeof(want), "%s%d", prefix, i);
		json_array_foreach(d->rows, k, row) {
			const char *t = json_string_value(
				json_object_get(json_object_get(json_object_get(row, "update"), "message"), "text"));

			if (t && strcmp(t, want) == 0)
				found++;
		}
		if (found != 1)
			print_error("\"%s\" seen %d times\n", want, found);
		assert_int_equal(found, 1);
	}
}

static void test_conn_two_devices(void **state)
{
	const char *const env[] = {"PARLEY_LARGE_GROUP_THRESHOLD=2", NULL};
	struct harness *h = harness_start(env);
	struct parley_client *a, *b, *b2, *c;
	struct device dev[2];
	struct parley_error err;
	struct want w;
	int64_t bid, cid, group, channel;
	json_t *res = NULL;

	assert_non_null(h);
	a = harness_user(h, "alice_conn");
	b = harness_user(h, "bob_conn");
	c = harness_user(h, "carol_conn");
	b2 = harness_login(h, "bob_conn");
	bid = harness_user_id(h, "bob_conn");
	cid = harness_user_id(h, "carol_conn");
	dev_open(&dev[0], h, b);
	dev_open(&dev[1], h, b2);
	run_until(dev, 2, cond_synced, NULL);

	/* Private messages, with one device's socket dropped half-way and the
	 * server crashing later. */
	for (int i = 1; i <= 60; i++) {
		send_text(a, bid, "p%d", i);
		if (i == 20)
			parley_conn_disconnect(dev[0].c);
		if (i % 10 == 0) {
			parley_conn_run(dev[0].c, 0);
			parley_conn_run(dev[1].c, 0);
		}
		if (i == 40) {
			harness_kill9(h);
			assert_int_equal(harness_restart(h), 0);
		}
	}
	w.prefix = "p";
	w.n = 60;
	run_until(dev, 2, cond_count, &w);

	/* Typing reaches both devices; a call over the socket answers. */
	assert_int_equal(parley_call_json(a, "sendChatAction", "{\"chat_id\":0,\"action\":\"typing\"}", NULL, &err),
			 PARLEY_EAPI);
	res = json_pack("{s:I, s:s}", "chat_id", (json_int_t)bid, "action", "typing");
	assert_int_equal(parley_call(a, "sendChatAction", res, NULL, &err), 0);
	json_decref(res);
	run_until(dev, 2, cond_typing, NULL);
	assert_int_equal(parley_conn_call(dev[1].c, "getMe", NULL, &res, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "id")), bid);
	json_decref(res);

	/* A group of two turns large when carol joins (threshold 2): both
	 * devices follow its chat sequence from then on. */
	assert_int_equal(parley_create_group(a, "team", &bid, 1, &group, &err), 0);
	for (int i = 1; i <= 5; i++)
		send_text(a, group, "g%d", i);
	res = json_pack("{s:I, s:[I]}", "chat_id", (json_int_t)group, "user_ids", (json_int_t)cid);
	assert_int_equal(parley_call(a, "addChatMembers", res, NULL, &err), 0);
	json_decref(res);
	for (int i = 6; i <= 30; i++)
		send_text(i % 2 ? a : c, group, "g%d", i);
	w.prefix = "g";
	w.n = 30;
	run_until(dev, 2, cond_count, &w);
	run_until(dev, 2, cond_chats, (void *)(intptr_t)1);

	/* A channel bob joins while connected, posts following at once: the
	 * devices hear of the join and of the posts in the same read, before
	 * they ask getState where the channel stands. */
	assert_int_equal(parley_create_channel(a, "news", "news_conn", &channel, &err), 0);
	res = json_pack("{s:I}", "chat_id", (json_int_t)channel);
	assert_int_equal(parley_call(b, "joinChat", res, NULL, &err), 0);
	json_decref(res);
	for (int i = 1; i <= 20; i++) {
		send_text(a, channel, "c%d", i);
		if (i == 10) {
			run_until(dev, 2, cond_chats, (void *)(intptr_t)2);
			parley_conn_disconnect(dev[1].c);
		}
	}
	w.prefix = "c";
	w.n = 20;
	run_until(dev, 2, cond_count, &w);

	for (int i = 0; i < 2; i++) {
		dev_expect(&dev[i], "p", 60);
		dev_expect(&dev[i], "g", 30);
		dev_expect(&dev[i], "c", 20);
		assert_false(dev[i].out_of_order);
		assert_false(dev[i].chat_bad);
		assert_int_equal(dev[i].reloads, 0);
		assert_true(parley_conn_connects(dev[i].c) >= 3);
	}
	assert_int_equal(json_array_size(dev[0].rows), json_array_size(dev[1].rows));
	dev_close(&dev[0]);
	dev_close(&dev[1]);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_exactly_once),
		cmocka_unit_test(test_listen_since_now_and_refused),
		cmocka_unit_test(test_conn_two_devices),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
