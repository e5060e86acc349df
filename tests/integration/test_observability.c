/*
 * test_observability.c — what operators see of parleyd: /healthz, the
 * Prometheus text at /metrics, the command line and the ways settings reach
 * the daemon (config file, PARLEY_<NAME> environment, --set flags).
 *
 * Most cases run against a daemon from tests/integration/harness.h; the
 * command-line and config-file cases start build/parleyd (or $PARLEYD)
 * themselves, because they need flags the harness does not pass.
 *
 * Covered: /healthz is 200; parley_requests_total counts real calls by
 * method and status; the latency histogram's buckets are cumulative, end at
 * +Inf and +Inf equals _count (which also equals the sum of the request
 * counters); parley_messages_stored rises by exactly the messages sent and
 * survives a restart; parley_connections_open covers the connections the
 * test holds and falls when they close; every sample has # HELP and # TYPE.
 * `parleyd --help` and `--version` exit 0; unknown flags, missing values
 * and bad settings exit non-zero with a message; a config file (given with
 * --config, or DATA/parleyd.conf) takes effect, the environment overrides
 * it and --set overrides both, each observed as a 413 at max_body_bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "harness.h"
#include "parley.h"

#define OBS_PATH_MAX 4096
#define OBS_WAIT_MS 10000        /* start-up, exit and reply deadlines */
#define OBS_OUTPUT_MAX 65536     /* captured stdout / stderr of a parleyd run */
#define OBS_HELD_CONNS 6         /* raw connections held open */
#define OBS_ENV_MAX 512

extern char **environ;

static int64_t obs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void obs_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *obs_parleyd(void)
{
	const char *p = getenv("PARLEYD");

	return p && *p ? p : "build/parleyd";
}

/* --- /metrics ------------------------------------------------------------- */

/* GET /metrics through c; the caller frees the text. */
static char *obs_scrape(struct parley_client *c)
{
	struct parley_error err;
	char *body = NULL;
	int status = 0;

	if (parley_get(c, "/metrics", &status, &body, NULL, &err) < 0) {
		print_error("GET /metrics: %s %s\n", err.code, err.description);
		fail();
	}
	assert_int_equal(status, 200);
	return body;
}

/* The value of the sample whose name-and-labels are exactly series, or 0
 * if it is absent (counters appear once they are non-zero). */
static double obs_value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return 0;
}

/* 1 if a sample series is present at all. */
static int obs_has(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, series, n) == 0 && l[n] == ' ')
			return 1;
	return 0;
}

static double obs_requests(const char *text, const char *method, int status)
{
	char series[160];

	snprintf(series, sizeof(series), "parley_requests_total{method=\"%s\",status=\"%d\"}", method, status);
	return obs_value(text, series);
}

/* Sum of every parley_requests_total sample. */
static double obs_requests_sum(const char *text)
{
	static const char name[] = "parley_requests_total{";
	double sum = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, name, sizeof(name) - 1) == 0) {
			const char *sp = strchr(l, ' ');
			assert_non_null(sp);
			sum += strtod(sp + 1, NULL);
		}
	return sum;
}

/* Checks the exposition format: each line is a comment or "name[{labels}]
 * value", and each sample's family was introduced by # HELP and # TYPE. */
static void obs_check_format(const char *text)
{
	char help[64][96], type[64][96];
	size_t nhelp = 0, ntype = 0;
	const char *l = text;

	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*l) {
		const char *end = strchr(l, '\n');
		char line[512], name[96];
		size_t len = (size_t)(end - l), k = 0;
		char *sp;
		int found = 0;

		assert_non_null(end);
		assert_true(len > 0 && len < sizeof(line));
		memcpy(line, l, len);
		line[len] = '\0';
		l = end + 1;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%95s", name), 1);
			if (line[2] == 'H' && nhelp < 64)
				snprintf(help[nhelp++], sizeof(help[0]), "%s", name);
			if (line[2] == 'T' && ntype < 64) {
				const char *t = line + 7 + strlen(name) + 1;
				assert_true(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
					    strcmp(t, "histogram") == 0);
				snprintf(type[ntype++], sizeof(type[0]), "%s", name);
			}
			continue;
		}
		assert_true(line[0] != '#');
		while (line[k] && (line[k] == '_' || line[k] == ':' || (line[k] >= 'a' && line[k] <= 'z') ||
				   (line[k] >= 'A' && line[k] <= 'Z') || (k && line[k] >= '0' && line[k] <= '9')))
			k++;
		assert_true(k > 0 && (line[k] == '{' || line[k] == ' '));
		memcpy(name, line, k);
		name[k] = '\0';
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		{
			char *vend;
			(void)strtod(sp + 1, &vend);
			assert_true(*vend == '\0' && vend != sp + 1);
		}
		/* Histogram samples belong to the family without the suffix. */
		for (size_t i = 0; i < ntype && !found; i++) {
			size_t fl = strlen(type[i]);
			const char *suffix = strncmp(type[i], name, fl) == 0 ? name + fl : NULL;
			found = suffix && (!*suffix || !strcmp(suffix, "_bucket") || !strcmp(suffix, "_sum") ||
					   !strcmp(suffix, "_count"));
		}
		if (!found) {
			print_error("sample \"%s\" has no # TYPE line before it\n", line);
			fail();
		}
		found = 0;
		for (size_t i = 0; i < nhelp && !found; i++)
			found = strncmp(help[i], name, strlen(help[i])) == 0;
		if (!found) {
			print_error("sample \"%s\" has no # HELP line before it\n", line);
			fail();
		}
	}
}

/* Checks the latency histogram: le ascending, counts cumulative, the last
 * bucket +Inf equal to _count.  Returns _count. */
static double obs_check_histogram(const char *text)
{
	static const char bucket[] = "parley_request_duration_seconds_bucket{le=\"";
	double last_le = -1, last_n = 0, count, sum;
	int buckets = 0, inf = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *q;
		double le, n;

		if (strncmp(l, bucket, sizeof(bucket) - 1) != 0)
			continue;
		assert_false(inf); /* nothing after +Inf */
		q = l + sizeof(bucket) - 1;
		if (strncmp(q, "+Inf\"}", 6) == 0) {
			inf = 1;
			le = INFINITY;
		} else {
			char *end;
			le = strtod(q, &end);
			assert_true(end != q && strncmp(end, "\"}", 2) == 0);
		}
		n = strtod(strchr(q, ' ') + 1, NULL);
		assert_true(le > last_le);
		assert_true(n >= last_n);
		last_le = le;
		last_n = n;
		buckets++;
	}
	assert_true(inf);
	assert_true(buckets >= 2);
	assert_true(obs_has(text, "parley_request_duration_seconds_count"));
	assert_true(obs_has(text, "parley_request_duration_seconds_sum"));
	count = obs_value(text, "parley_request_duration_seconds_count");
	sum = obs_value(text, "parley_request_duration_seconds_sum");
	assert_true(last_n == count);
	assert_true(sum >= 0 && isfinite(sum));
	return count;
}

/* --- raw connections ---------------------------------------------------------- */

/* The first occurrence of needle in hay, ignoring ASCII case, or NULL. */
static const char *obs_find_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static int obs_raw_open(const struct harness *h)
{
	const char *colon = strrchr(harness_url(h), ':');
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Sends "GET path" on fd (keep-alive) and reads the reply's head and body
 * (Content-Length) into buf.  Returns the status. */
static int obs_raw_get(int fd, const char *path, char *buf, size_t cap)
{
	char req[256];
	size_t got = 0;
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path), status = 0;
	const char *end;

	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		const char *cl;
		ssize_t k;

		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) && (cl = obs_find_nocase(buf, "\r\nContent-Length:")) && cl < end &&
		    got >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10))
			break;
		assert_int_equal(poll(&pfd, 1, OBS_WAIT_MS), 1);
		k = recv(fd, buf + got, cap - 1 - got, 0);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &status), 1);
	return status;
}

/* --- tests against the harness's daemon ------------------------------------------------ */

struct obs_fx {
	struct harness *h;
	struct parley_client *alice, *bob, *watcher;
	int64_t alice_id, bob_id;
};

static int obs_setup(void **state)
{
	struct obs_fx *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->h = harness_start(NULL)))
		return -1;
	*state = fx;
	return 0;
}

static int obs_teardown(void **state)
{
	struct obs_fx *fx = *state;

	if (fx) {
		harness_free(fx->h);
		free(fx);
	}
	return 0;
}

static void test_healthz(void **state)
{
	struct obs_fx *fx = *state;
	struct parley_client *c = harness_client(fx->h);
	struct parley_error err;
	char *body = NULL, buf[4096];
	int status = 0, fd;

	assert_int_equal(parley_health(c, &err), 0);
	assert_int_equal(parley_get(c, "/healthz", &status, &body, NULL, &err), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, "\"ok\":true"));
	free(body);
	fd = obs_raw_open(fx->h);
	assert_int_equal(obs_raw_get(fd, "/healthz", buf, sizeof(buf)), 200);
	assert_non_null(obs_find_nocase(buf, "\r\nContent-Type: application/json"));
	close(fd);
}

static void test_metrics_format(void **state)
{
	struct obs_fx *fx = *state;
	char buf[OBS_OUTPUT_MAX], *text;
	int fd = obs_raw_open(fx->h);

	assert_int_equal(obs_raw_get(fd, "/metrics", buf, sizeof(buf)), 200);
	assert_non_null(obs_find_nocase(buf, "\r\nContent-Type: text/plain"));
	close(fd);
	text = obs_scrape(harness_client(fx->h));
	obs_check_format(text);
	obs_check_histogram(text);
	assert_true(obs_has(text, "parley_messages_stored"));
	assert_true(obs_has(text, "parley_connections_open"));
	assert_true(obs_has(text, "parley_wal_pages"));
	assert_true(obs_has(text, "parley_checkpoints_total"));
	assert_true(obs_has(text, "parley_checkpoint_restarts_total"));
	free(text);
}

static void test_metrics_count_calls(void **state)
{
	struct obs_fx *fx = *state;
	struct parley_error err;
	char *before, *after;
	double count_before, count_after;
	int rc;

	fx->alice = harness_user(fx->h, "obs_alice");
	fx->bob = harness_user(fx->h, "obs_bob01");
	fx->alice_id = harness_user_id(fx->h, "obs_alice");
	fx->bob_id = harness_user_id(fx->h, "obs_bob01");
	fx->watcher = harness_client(fx->h);

	before = obs_scrape(fx->watcher);
	count_before = obs_check_histogram(before);
	assert_true(obs_requests_sum(before) == count_before);
	for (int i = 0; i < 7; i++)
		assert_int_equal(parley_send_message(fx->alice, fx->bob_id, "counted", 0, NULL, &err), 0);
	for (int i = 0; i < 2; i++) {
		rc = parley_send_message(fx->alice, fx->bob_id, "   ", 0, NULL, &err);
		assert_int_equal(rc, PARLEY_EAPI);
		assert_string_equal(err.code, "MESSAGE_EMPTY");
	}
	rc = parley_call_json(fx->alice, "noSuchMethod", "{}", NULL, &err);
	assert_int_equal(err.http_status, 404);
	assert_int_equal(parley_get_me(fx->bob, NULL, &err), 0);
	after = obs_scrape(fx->watcher);
	count_after = obs_check_histogram(after);

	assert_true(obs_requests(after, "sendMessage", 200) - obs_requests(before, "sendMessage", 200) == 7);
	assert_true(obs_requests(after, "sendMessage", 400) - obs_requests(before, "sendMessage", 400) == 2);
	assert_true(obs_requests(after, "getMe", 200) - obs_requests(before, "getMe", 200) == 1);
	assert_true(obs_requests(after, "other", 404) - obs_requests(before, "other", 404) == 1);
	/* Every call in between, and the first scrape, and nothing else. */
	assert_true(count_after - count_before == 7 + 2 + 1 + 1 + 1);
	assert_true(obs_requests_sum(after) == count_after);
	assert_true(obs_value(after, "parley_wal_pages") > 0); /* the sends' commits */
	free(before);
	free(after);
}

static void test_metrics_messages_stored(void **state)
{
	struct obs_fx *fx = *state;
	struct parley_error err;
	char *t0, *t1, *t2, *t3;
	double stored;
	int64_t group;

	t0 = obs_scrape(fx->watcher);
	for (int i = 0; i < 5; i++)
		assert_int_equal(parley_send_message(fx->alice, fx->bob_id, "stored", 0, NULL, &err), 0);
	assert_int_equal(parley_send_message(fx->bob, fx->alice_id, "stored back", 0, NULL, &err), 0);
	/* A refused message is not stored. */
	assert_int_equal(parley_send_message(fx->bob, fx->alice_id, "", 0, NULL, &err), PARLEY_EAPI);
	t1 = obs_scrape(fx->watcher);
	assert_true(obs_value(t1, "parley_messages_stored") - obs_value(t0, "parley_messages_stored") == 6);
	/* Every group commit is timed by itself as well (the disk's share). */
	assert_true(obs_value(t1, "parley_commits_total") > obs_value(t0, "parley_commits_total"));
	assert_true(obs_value(t1, "parley_writer_commit_seconds_count") - obs_value(t0, "parley_writer_commit_seconds_count") ==
		    obs_value(t1, "parley_commits_total") - obs_value(t0, "parley_commits_total"));

	/* Service messages count too: a group's creation stores at least one. */
	assert_int_equal(parley_create_group(fx->alice, "metrics", &fx->bob_id, 1, &group, &err), 0);
	t2 = obs_scrape(fx->watcher);
	assert_true(obs_value(t2, "parley_messages_stored") - obs_value(t1, "parley_messages_stored") >= 1);
	/* The new messages were indexed in batches after their commits (at
	 * most STORE_WRITER_INDEX_AGE_MS later), each batch timed. */
	for (int i = 0; i < 50 && obs_value(t2, "parley_search_index_batches_total") <
				   obs_value(t0, "parley_search_index_batches_total") + 1; i++) {
		usleep(20000);
		free(t2);
		t2 = obs_scrape(fx->watcher);
	}
	assert_true(obs_value(t2, "parley_search_index_batches_total") > obs_value(t0, "parley_search_index_batches_total"));
	assert_true(obs_value(t2, "parley_writer_index_seconds_count") > obs_value(t0, "parley_writer_index_seconds_count"));
	assert_true(obs_value(t2, "parley_search_index_failures_total") == 0);

	/* The gauge is the store's count, so it survives a restart. */
	stored = obs_value(t2, "parley_messages_stored");
	assert_int_equal(harness_stop(fx->h), 0);
	assert_int_equal(harness_restart(fx->h), 0);
	t3 = obs_scrape(fx->watcher);
	assert_true(obs_value(t3, "parley_messages_stored") == stored);
	/* The request counters start again from zero. */
	assert_true(obs_value(t3, "parley_request_duration_seconds_count") <
		    obs_value(t2, "parley_request_duration_seconds_count"));
	free(t0);
	free(t1);
	free(t2);
	free(t3);
}

static void test_metrics_connections(void **state)
{
	struct obs_fx *fx = *state;
	int fds[OBS_HELD_CONNS];
	char buf[4096], *text;
	double base, held, later = 0;
	int64_t deadline;

	text = obs_scrape(fx->watcher);
	base = obs_value(text, "parley_connections_open");
	free(text);
	assert_true(base >= 1); /* the watcher's own */
	for (int i = 0; i < OBS_HELD_CONNS; i++) {
		fds[i] = obs_raw_open(fx->h);
		assert_int_equal(obs_raw_get(fds[i], "/healthz", buf, sizeof(buf)), 200);
	}
	text = obs_scrape(fx->watcher);
	held = obs_value(text, "parley_connections_open");
	free(text);
	if (held < OBS_HELD_CONNS + 1 || held < base + OBS_HELD_CONNS) {
		print_error("parley_connections_open %g while the test holds %d (+1 scraping; %g before)\n", held,
			    OBS_HELD_CONNS, base);
		fail();
	}
	for (int i = 0; i < OBS_HELD_CONNS; i++)
		close(fds[i]);
	deadline = obs_now_ms() + OBS_WAIT_MS;
	do {
		obs_sleep_ms(20);
		text = obs_scrape(fx->watcher);
		later = obs_value(text, "parley_connections_open");
		free(text);
	} while (later > base && obs_now_ms() < deadline);
	if (later > base) {
		print_error("parley_connections_open stays at %g after the test closed its %d (was %g)\n", later,
			    OBS_HELD_CONNS, base);
		fail();
	}
}

static void test_env_override_via_harness(void **state)
{
	static const char *const env[] = {"PARLEY_MAX_BODY_BYTES=4096", NULL};
	struct harness *h = harness_start(env);
	struct parley_client *c;
	struct parley_error err;
	char *body;
	int status = 0;

	(void)state;
	assert_non_null(h);
	c = harness_client(h);
	body = malloc(5001);
	assert_non_null(body);
	memset(body, ' ', 5000);
	body[0] = '{';
	body[4999] = '}';
	body[5000] = '\0';
	assert_int_equal(parley_request(c, "POST", "/api/getMe", "application/json", body, 5000, &status, NULL, NULL,
					&err),
			 0);
	assert_int_equal(status, 413);
	/* Just under the limit is read and judged (no token: 401). */
	assert_int_equal(parley_request(c, "POST", "/api/getMe", "application/json", body + 1000, 4000, &status, NULL,
					NULL, &err),
			 0);
	assert_int_equal(status, 400); /* " ...}" is not JSON */
	free(body);
	harness_free(h);
}

/* --- running parleyd by hand ---------------------------------------------------------- */

struct obs_run {
	pid_t pid;
	char out_path[OBS_PATH_MAX];
	char err_path[OBS_PATH_MAX];
	char data[OBS_PATH_MAX];
	char url[80];
};

/* Starts parleyd with args (NULL-terminated, without argv[0]); its
 * environment is ours without PARLEY_* plus env (NULL-terminated "N=V",
 * may be NULL).  stdout and stderr go to files in dir. */
static void obs_exec(struct obs_run *r, const char *dir, const char *const *args, const char *const *env)
{
	char *argv[32], *envp[OBS_ENV_MAX];
	size_t na = 0, ne = 0;
	pid_t pid;

	snprintf(r->out_path, sizeof(r->out_path), "%.4000s/stdout", dir);
	snprintf(r->err_path, sizeof(r->err_path), "%.4000s/stderr", dir);
	argv[na++] = (char *)obs_parleyd();
	for (; args && *args && na < 31; args++)
		argv[na++] = (char *)*args;
	argv[na] = NULL;
	for (char **e = environ; *e && ne < OBS_ENV_MAX - 8; e++)
		if (strncmp(*e, "PARLEY_", 7) != 0)
			envp[ne++] = *e;
	for (; env && *env && ne < OBS_ENV_MAX - 1; env++)
		envp[ne++] = (char *)*env;
	envp[ne] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int devnull = open("/dev/null", O_RDONLY);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if (out < 0 || err < 0 || devnull < 0)
			_exit(126);
		dup2(devnull, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	r->pid = pid;
}

/* Waits for r to exit; returns its exit code (128+N for signal N), or
 * kills it and fails the test after OBS_WAIT_MS. */
static int obs_wait(struct obs_run *r)
{
	int64_t deadline = obs_now_ms() + OBS_WAIT_MS;
	int status;

	for (;;) {
		pid_t p = waitpid(r->pid, &status, WNOHANG);
		if (p == r->pid)
			break;
		if (obs_now_ms() >= deadline) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			r->pid = -1;
			print_error("parleyd did not exit within %d ms\n", OBS_WAIT_MS);
			fail();
		}
		obs_sleep_ms(10);
	}
	r->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The contents of path (up to OBS_OUTPUT_MAX bytes); the caller frees it. */
static char *obs_slurp(const char *path)
{
	char *buf = calloc(1, OBS_OUTPUT_MAX + 1);
	FILE *f = fopen(path, "r");

	assert_non_null(buf);
	if (f) {
		size_t n = fread(buf, 1, OBS_OUTPUT_MAX, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void obs_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Runs parleyd with args to completion; returns its exit code and, if not
 * NULL, its stdout and stderr (the caller frees them). */
static int obs_run_once(const char *dir, const char *const *args, char **out, char **err)
{
	struct obs_run r;
	int code;

	obs_exec(&r, dir, args, NULL);
	code = obs_wait(&r);
	if (out)
		*out = obs_slurp(r.out_path);
	if (err)
		*err = obs_slurp(r.err_path);
	return code;
}

/* A fresh folder under the harness's scratch folder. */
static void obs_mkdir(const struct harness *h, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%.3900s/%s", harness_tmp_dir(h), name);
	assert_int_equal(mkdir(out, 0700), 0);
}

static void test_command_line(void **state)
{
	struct obs_fx *fx = *state;
	char dir[OBS_PATH_MAX], data[OBS_PATH_MAX], *out, *err;
	struct stat st;
	int code;

	obs_mkdir(fx->h, "cmdline", dir, sizeof(dir));
	snprintf(data, sizeof(data), "%.4000s/data", dir);

	code = obs_run_once(dir, (const char *const[]){"--help", NULL}, &out, &err);
	assert_int_equal(code, 0);
	assert_non_null(strstr(out, "usage"));
	assert_non_null(strstr(out, "--config"));
	free(out);
	free(err);

	code = obs_run_once(dir, (const char *const[]){"--version", NULL}, &out, &err);
	assert_int_equal(code, 0);
	assert_non_null(strstr(out, "parleyd"));
	free(out);
	free(err);

	/* Mistakes exit non-zero, say what is wrong, and start nothing.  "DATA"
	 * stands for the scratch data folder. */
	{
		static const struct {
			const char *args[5];
			const char *says;
		} bad[] = {
			{{"--data", NULL}, "--data"},
			{{"--bogus-flag", "--data", "DATA", NULL}, "--bogus-flag"},
			{{"--data", "DATA", "--listen", NULL}, "--listen"},
			{{"--set", "max_body_bytes=abc", "--data", "DATA", NULL}, "max_body_bytes"},
			{{"--set", "max_body_bytes=10", "--data", "DATA", NULL}, "max_body_bytes"},
			{{"--set", "no_such_setting=1", "--data", "DATA", NULL}, "no_such_setting"},
			{{"--set", "max_body_bytes", "--data", "DATA", NULL}, "NAME=VALUE"},
			{{"--config", "/nonexistent/x.conf", "--data", "DATA", NULL}, "/nonexistent/x.conf"},
			{{"--listen", "not-an-address", "--data", "DATA", NULL}, "not-an-address"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *args[6];
			size_t n = 0;
			for (; n < 5 && bad[i].args[n]; n++)
				args[n] = strcmp(bad[i].args[n], "DATA") == 0 ? data : bad[i].args[n];
			args[n] = NULL;
			code = obs_run_once(dir, args, &out, &err);
			if (code == 0 || code >= 128 || !strstr(err, bad[i].says)) {
				print_error("parleyd %s %s ...: exit %d, stderr \"%s\"; expected a message naming %s\n",
					    args[0], args[1] ? args[1] : "", code, err, bad[i].says);
				fail();
			}
			free(out);
			free(err);
			/* Only the bad listen address gets as far as the data folder. */
			if (strcmp(bad[i].says, "not-an-address") != 0)
				assert_int_equal(stat(data, &st), -1);
		}
	}
}

/* Starts parleyd and waits for data/parleyd.addr; fails with its stderr if
 * it exits first. */
static void obs_daemon(struct obs_run *r, const char *dir, const char *data, const char *const *args,
		       const char *const *env)
{
	char addr_path[OBS_PATH_MAX + 16], buf[80];
	int64_t deadline = obs_now_ms() + OBS_WAIT_MS;
	FILE *f;

	snprintf(r->data, sizeof(r->data), "%s", data);
	snprintf(addr_path, sizeof(addr_path), "%s/parleyd.addr", data);
	unlink(addr_path);
	obs_exec(r, dir, args, env);
	while (!(f = fopen(addr_path, "r"))) {
		int status;
		if (waitpid(r->pid, &status, WNOHANG) == r->pid || obs_now_ms() >= deadline) {
			char *err = obs_slurp(r->err_path);
			print_error("parleyd did not start: %s\n", err);
			free(err);
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			fail();
		}
		obs_sleep_ms(10);
	}
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(r->url, sizeof(r->url), "http://%.64s", buf);
}

/* SIGTERM; the daemon must exit 0. */
static void obs_daemon_stop(struct obs_run *r)
{
	kill(r->pid, SIGTERM);
	assert_int_equal(obs_wait(r), 0);
}

/* The status of a POST to /api/getMe with a body of exactly len bytes. */
static int obs_post_size(const char *url, size_t len)
{
	struct parley_client *c = parley_client_new(url, NULL, 0);
	struct parley_error err;
	char *body = malloc(len + 1);
	int status = 0;

	assert_non_null(c);
	assert_non_null(body);
	assert_true(len >= 2);
	memset(body, ' ', len);
	body[0] = '{';
	body[len - 1] = '}';
	assert_int_equal(
		parley_request(c, "POST", "/api/getMe", "application/json", body, len, &status, NULL, NULL, &err), 0);
	free(body);
	parley_client_free(c);
	return status;
}

static void test_config_file(void **state)
{
	struct obs_fx *fx = *state;
	char dir[OBS_PATH_MAX], data[OBS_PATH_MAX], conf[OBS_PATH_MAX + 16], text[OBS_PATH_MAX + 512];
	char *err;
	struct obs_run r;
	int code;

	obs_mkdir(fx->h, "config", dir, sizeof(dir));
	snprintf(data, sizeof(data), "%.4000s/data", dir);
	snprintf(conf, sizeof(conf), "%s/parleyd.conf", dir);
	snprintf(text, sizeof(text),
		 "# parleyd settings for test_observability\n"
		 "listen = 127.0.0.1:0\n"
		 "data = %s\n"
		 "\n"
		 "password_cost = min   # fast hashing\n"
		 "  max_body_bytes=2048\n"
		 "log_level = warn\n",
		 data);
	obs_write_file(conf, text);

	/* The file alone: listen, data and max_body_bytes come from it. */
	obs_daemon(&r, dir, data, (const char *const[]){"--config", conf, NULL}, NULL);
	assert_int_equal(obs_post_size(r.url, 3000), 413);
	assert_int_equal(obs_post_size(r.url, 2000), 401);
	{
		struct parley_client *c = parley_client_new(r.url, NULL, 0);
		assert_non_null(c);
		assert_int_equal(parley_health(c, NULL), 0);
		parley_client_free(c);
	}
	obs_daemon_stop(&r);

	/* The environment overrides the file. */
	obs_daemon(&r, dir, data, (const char *const[]){"--config", conf, NULL},
		   (const char *const[]){"PARLEY_MAX_BODY_BYTES=8192", NULL});
	assert_int_equal(obs_post_size(r.url, 3000), 401);
	assert_int_equal(obs_post_size(r.url, 9000), 413);
	obs_daemon_stop(&r);

	/* --set overrides both. */
	obs_daemon(&r, dir, data, (const char *const[]){"--config", conf, "--set", "max_body_bytes=1024", NULL},
		   (const char *const[]){"PARLEY_MAX_BODY_BYTES=8192", NULL});
	assert_int_equal(obs_post_size(r.url, 1500), 413);
	assert_int_equal(obs_post_size(r.url, 1000), 401);
	obs_daemon_stop(&r);

	/* Without --config, DATA/parleyd.conf is read if present. */
	snprintf(conf, sizeof(conf), "%s/parleyd.conf", data);
	obs_write_file(conf, "max_body_bytes = 1500\npassword_cost = min\n");
	obs_daemon(&r, dir, data, (const char *const[]){"--data", data, "--listen", "127.0.0.1:0", NULL}, NULL);
	assert_int_equal(obs_post_size(r.url, 1600), 413);
	assert_int_equal(obs_post_size(r.url, 1400), 401);
	obs_daemon_stop(&r);

	/* A bad line stops the start with the file and line named. */
	obs_write_file(conf, "password_cost = min\nmax_body_bytes = 1500\nno_such_setting = 1\n");
	code = obs_run_once(dir, (const char *const[]){"--data", data, "--listen", "127.0.0.1:0", NULL}, NULL, &err);
	assert_true(code != 0 && code < 128);
	if (!strstr(err, "parleyd.conf:3")) {
		print_error("stderr does not name parleyd.conf:3: \"%s\"\n", err);
		fail();
	}
	free(err);
	obs_write_file(conf, "listen 127.0.0.1:0\n");
	code = obs_run_once(dir, (const char *const[]){"--data", data, NULL}, NULL, &err);
	assert_true(code != 0 && code < 128);
	assert_non_null(strstr(err, "parleyd.conf:1"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_metrics_format),
		cmocka_unit_test(test_metrics_count_calls),
		cmocka_unit_test(test_metrics_messages_stored),
		cmocka_unit_test(test_metrics_connections),
		cmocka_unit_test(test_env_override_via_harness),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, obs_setup, obs_teardown);
}
