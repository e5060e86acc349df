/*
 * listen.c — `parley listen`: keeps a libparley connection (parley_conn_*)
 * up and prints every update and event as one JSON line on stdout, flushed
 * line by line:
 *
 *   {"pts":43,"update":{"type":"new_message","message":{...}}}
 *   {"chat_id":-17,"pts":9,"update":{...}}
 *   {"event":"typing","chat_id":-5,"user_id":7,"action":"typing"}
 *   {"event":"reload","chat_id":0,"pts":120}     (updates before pts are lost)
 *
 * The sync state is saved after every applied batch (atomically, see
 * parley_state_save()), after the batch's lines were written, so a restart
 * goes on where the last run stopped: Ctrl-C or SIGTERM lose and repeat
 * nothing.  A crash (kill -9) can land between writing lines and saving the
 * state; when stdout is a regular file, the state also records the file and
 * how far it had been written, and the next run first cuts off what was
 * written after that point, so the lines are printed again exactly once.
 * (On a pipe, a crash may repeat the last batch.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define LISTEN_PATH_MAX 4096
#define LISTEN_RUN_SLICE_MS 1000 /* parley_conn_run() per loop: bounds the reaction to a signal */

struct listen {
	const char *state_path;
	struct parley_conn *conn;
	int out_regular;         /* stdout is a regular file: keep its mark in the state */
	int failed;              /* writing stdout or the state failed */
	int was_connected;
	char errbuf[CLI_ERR_MAX];
};

static struct parley_conn *volatile listen_conn; /* for the signal handler */
static volatile sig_atomic_t listen_stopped;

static void listen_on_signal(int sig)
{
	struct parley_conn *c = listen_conn;

	(void)sig;
	listen_stopped = 1;
	if (c)
		parley_conn_stop(c);
}

static int listen_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = listen_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a signal ends the wait; a second one kills */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	return 0;
}

/* --- the output mark ------------------------------------------------------- */

/* Writes "out=DEV:INO:OFFSET" for stdout into app. */
static void listen_mark(char *app, size_t len)
{
	struct stat st;
	off_t off;

	app[0] = '\0';
	if (fstat(STDOUT_FILENO, &st) < 0 || !S_ISREG(st.st_mode) || (off = lseek(STDOUT_FILENO, 0, SEEK_CUR)) < 0)
		return;
	snprintf(app, len, "out=%ju:%ju:%jd", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)off);
}

/* Before the first line: if stdout is the file the saved state describes
 * and holds more than was written by the time of that state, the rest was
 * printed by a run that died before saving: cut it off. */
static void listen_trim(struct listen *l, const char *app)
{
	uintmax_t dev, ino;
	intmax_t off;
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	l->out_regular = 1;
	if (sscanf(app, "out=%ju:%ju:%jd", &dev, &ino, &off) != 3 || dev != (uintmax_t)st.st_dev ||
	    ino != (uintmax_t)st.st_ino || off < 0 || (intmax_t)st.st_size <= off)
		return;
	if (ftruncate(STDOUT_FILENO, (off_t)off) == 0)
		(void)lseek(STDOUT_FILENO, 0, SEEK_END);
	else
		fprintf(stderr, "parley: warning: cannot cut the output back to %jd bytes: %s\n", off, strerror(errno));
}

/* --- handlers ------------------------------------------------------------------ */

static void listen_print(struct listen *l, json_t *line)
{
	if (!line || json_dumpf(line, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		l->failed = 1;
	json_decref(line);
}

/* Prints an update as {"chat_id"?,"pts","update"}, the same key order
 * whether it was pushed or fetched. */
static void listen_on_update(void *ctx, const json_t *row)
{
	json_t *chat = json_object_get(row, "chat_id");
	json_t *line = chat ? json_pack("{s:O, s:O, s:O}", "chat_id", chat, "pts", json_object_get(row, "pts"),
					"update", json_object_get(row, "update"))
			    : json_pack("{s:O, s:O}", "pts", json_object_get(row, "pts"), "update",
					json_object_get(row, "update"));

	listen_print(ctx, line);
}

static void listen_on_batch(void *ctx, const struct parley_state *state);

/* An event is printed at once; the state is saved again so that its new
 * output mark covers the line (a crash must not cut it off). */
static void listen_on_event(void *ctx, const json_t *event)
{
	struct listen *l = ctx;
	struct parley_state *s;

	listen_print(l, json_deep_copy(event));
	if (!l->out_regular || !(s = malloc(sizeof(*s))))
		return;
	parley_conn_state(l->conn, s);
	listen_on_batch(l, s);
	free(s);
}

static void listen_on_reload(void *ctx, int64_t chat_id, int64_t pts)
{
	listen_print(ctx, json_pack("{s:s, s:I, s:I}", "event", "reload", "chat_id", (json_int_t)chat_id, "pts",
				    (json_int_t)pts));
}

static void listen_on_batch(void *ctx, const struct parley_state *state)
{
	struct listen *l = ctx;
	struct parley_state *s;

	if (l->failed)
		return; /* the lines did not all get out: saving would skip them */
	if (!(s = malloc(sizeof(*s)))) {
		l->failed = 1;
		return;
	}
	*s = *state;
	if (l->out_regular)
		listen_mark(s->app, sizeof(s->app));
	if (parley_state_save(l->state_path, s, l->errbuf, sizeof(l->errbuf)) < 0)
		l->failed = 1;
	free(s);
}

static void listen_on_status(void *ctx, int connected, const struct parley_error *why)
{
	struct listen *l = ctx;
	struct parley_state *s;

	if (connected) {
		if ((s = malloc(sizeof(*s)))) {
			parley_conn_state(l->conn, s);
			fprintf(stderr, "parley: listening as user %" PRId64 " (pts %" PRId64 ", %zu large chats)\n",
				s->user_id, s->pts, s->nchats);
			free(s);
		}
		l->was_connected = 1;
		return;
	}
	if (listen_stopped)
		return;
	fprintf(stderr, "parley: %s: %s; reconnecting\n", l->was_connected ? "disconnected" : "cannot connect",
		why && why->description[0] ? why->description : "connection lost");
	l->was_connected = 0;
}

/* --- the command ------------------------------------------------------------------ */

static int listen_fail(const char *code, const char *words)
{
	fprintf(stderr, "error: %s: %s\n", code, words);
	return CLI_EXIT_ERROR;
}

/* Loads the state to start from into *start (NULL: from now). */
static int listen_start(struct listen *l, const struct cli_listen_opts *o, struct parley_state *st,
			struct parley_state **start)
{
	int found = 0;

	if (parley_state_load(l->state_path, st, &found, l->errbuf, sizeof(l->errbuf)) < 0)
		return listen_fail("STATE_ERROR", l->errbuf);
	listen_trim(l, st->app);
	*start = st;
	if (json_is_true(json_object_get(o->params, "since_now")))
		*start = NULL; /* the server's current state, whatever was saved */
	return 0;
}

int cli_listen(const struct cli_listen_opts *o)
{
	const struct parley_conn_handlers h = {listen_on_update, listen_on_event, listen_on_reload, listen_on_batch,
					       listen_on_status};
	const char *state_opt = json_string_value(json_object_get(o->params, "state"));
	char path[LISTEN_PATH_MAX];
	struct parley_state *st = calloc(1, sizeof(*st)), *start = NULL;
	struct listen l;
	int rc = CLI_EXIT_ERROR;

	memset(&l, 0, sizeof(l));
	if (!st)
		return listen_fail("OUT_OF_MEMORY", "cannot start");
	if (!o->token || !*o->token) {
		listen_fail("UNAUTHORIZED", "not logged in: run `parley login USERNAME` first");
		goto out;
	}
	if (state_opt && *state_opt)
		snprintf(path, sizeof(path), "%s", state_opt);
	else if (snprintf(path, sizeof(path), "%s" CLI_LISTEN_STATE_SUFFIX, o->config_path) >= (int)sizeof(path)) {
		listen_fail("STATE_ERROR", "the state file path is too long");
		goto out;
	}
	l.state_path = path;
	if (listen_start(&l, o, st, &start) != 0)
		goto out;
	if (!(l.conn = parley_conn_new(o->server, o->token, start, l.errbuf, sizeof(l.errbuf)))) {
		listen_fail("CONFIG_ERROR", l.errbuf);
		goto out;
	}
	parley_conn_set_handlers(l.conn, &h, &l);
	if (o->timeout_ms)
		parley_conn_set_timeout_ms(l.conn, o->timeout_ms);
	/* Save once before printing anything: a state file that cannot be
	 * written must stop us now, not after lines went out unrecorded. */
	parley_conn_state(l.conn, st);
	listen_on_batch(&l, st);
	if (l.failed) {
		listen_fail("STATE_ERROR", l.errbuf);
		goto out;
	}
	listen_conn = l.conn;
	if (listen_signals() < 0) {
		listen_fail("SIGNAL_ERROR", strerror(errno));
		goto out;
	}
	while (!listen_stopped && !l.failed) {
		int r = parley_conn_run(l.conn, LISTEN_RUN_SLICE_MS);

		if (r == PARLEY_ECANCELED || listen_stopped)
			break;
		if (r < 0) {
			const struct parley_error *e = parley_conn_error(l.conn);

			listen_fail(e->code[0] ? e->code : "CLIENT_ERROR", e->description);
			goto out;
		}
	}
	if (l.failed) {
		listen_fail(l.errbuf[0] ? "STATE_ERROR" : "IO_ERROR", l.errbuf[0] ? l.errbuf : "cannot write the output");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	listen_conn = NULL;
	parley_conn_free(l.conn);
	free(st);
	return rc;
}
