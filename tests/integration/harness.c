/*
 * harness.c — runs the real parleyd for integration tests (see harness.h).
 *
 * Start-up: the daemon gets --listen 127.0.0.1:0 and a fresh data folder;
 * once listening it writes DATA/parleyd.addr ("127.0.0.1:PORT\n", renamed
 * into place so it is complete when it appears).  The harness waits for that
 * file, then for GET /healthz to answer 200.  Restarts reuse the port so the
 * base URL, and the clients made for it, stay valid.
 *
 * The harness is not thread-safe: call it from the test's main thread (the
 * clients it hands out may then be used from one thread each).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
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
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "harness.h"

#define HARNESS_PATH_MAX 4096
#define HARNESS_POLL_MS 10         /* sleep between readiness checks */
#define HARNESS_LOG_TAIL 4096      /* bytes of the daemon's log shown on failure */
#define HARNESS_RESTART_TRIES 25   /* binds of the old port tried on restart */
#define HARNESS_NAME_MAX 64

extern char **environ;

static const char *const harness_default_env[] = {
	"PARLEY_PASSWORD_COST=min",
	"PARLEY_RATE_AUTH_IP_PER_MIN=1000000",
	"PARLEY_RATE_LOGIN_ACCOUNT_PER_MIN=1000000",
	"PARLEY_RATE_REQUESTS_PER_SEC=1000000",
	"PARLEY_RATE_MESSAGES_PER_SEC=1000000",
	NULL,
};

struct harness_user_rec {
	char name[HARNESS_NAME_MAX];
	int64_t id;
};

struct harness {
	char root[HARNESS_PATH_MAX];      /* the mkdtemp scratch folder */
	char data[HARNESS_PATH_MAX];      /* root/data: the daemon's --data */
	char tmp[HARNESS_PATH_MAX];       /* root/tmp: the test's own files */
	char log[HARNESS_PATH_MAX];       /* root/parleyd.log */
	char addr_file[HARNESS_PATH_MAX]; /* data/parleyd.addr */
	char listen[64];                  /* "127.0.0.1:PORT" once known */
	char url[80];
	const char *parleyd;
	char **envp;                      /* owned strings, NULL-terminated */
	pid_t pid;                        /* -1 when not running */
	struct parley_client **clients;   /* owned */
	size_t nclients, capclients;
	struct harness_user_rec *users;
	size_t nusers, capusers;
};

/* --- small helpers --------------------------------------------------- */

static int64_t harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void harness_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int harness_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

/* Grows *arr (of elem-sized items) to hold one more than *n. */
static int harness_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -1;
	if (ncap > max)
		ncap = max;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Removes path and everything below it. */
static void harness_rmtree(const char *path)
{
	char child[HARNESS_PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(path);

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", path, e->d_name) >= (int)sizeof(child))
			continue;
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			harness_rmtree(child);
		else
			unlink(child);
	}
	closedir(d);
	rmdir(path);
}

/* Prints the end of the daemon's log to stderr. */
static void harness_log_tail(const struct harness *h)
{
	char buf[HARNESS_LOG_TAIL + 1];
	size_t n;
	FILE *f = fopen(h->log, "r");

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > HARNESS_LOG_TAIL)
		fseek(f, -HARNESS_LOG_TAIL, SEEK_END);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, HARNESS_LOG_TAIL, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "---- parleyd log (%s) ----\n%s%s---- end of log ----\n", h->log, buf,
		n && buf[n - 1] != '\n' ? "\n" : "");
}

/* --- environment ------------------------------------------------------ */

/* Does "NAME=..." entry a set one of the names in list (NULL-terminated)? */
static int harness_env_in(const char *a, const char *const *list)
{
	size_t n = strcspn(a, "=");

	for (; list && *list; list++)
		if (strncmp(a, *list, n) == 0 && (*list)[n] == '=')
			return 1;
	return 0;
}

static int harness_env_add(struct harness *h, size_t *n, const char *entry)
{
	if (!(h->envp[*n] = strdup(entry)))
		return -1;
	(*n)++;
	return 0;
}

/* envp = extra, then the defaults and the inherited environment minus what
 * extra (and, for the inherited, the defaults) override. */
static int harness_env_build(struct harness *h, const char *const *extra)
{
	size_t total = 0, n = 0, nextra = 0;
	int rc = 0;

	while (extra && extra[nextra])
		nextra++;
	if (nextra > HARNESS_ENV_MAX)
		return -1;
	for (char **e = environ; e && *e; e++)
		total++;
	total += nextra + sizeof(harness_default_env) / sizeof(harness_default_env[0]);
	if (!(h->envp = calloc(total + 1, sizeof(*h->envp))))
		return -1;
	for (size_t i = 0; rc == 0 && i < nextra; i++)
		rc = harness_env_add(h, &n, extra[i]);
	for (const char *const *d = harness_default_env; rc == 0 && *d; d++)
		if (!harness_env_in(*d, extra))
			rc = harness_env_add(h, &n, *d);
	for (char **e = environ; rc == 0 && e && *e; e++)
		if (!harness_env_in(*e, extra) && !harness_env_in(*e, harness_default_env))
			rc = harness_env_add(h, &n, *e);
	return rc;
}

/* --- the daemon ------------------------------------------------------- */

/* Reaps the daemon if it has exited; returns 1 and its status then. */
static int harness_reap(struct harness *h, int *status)
{
	if (h->pid <= 0 || waitpid(h->pid, status, WNOHANG) != h->pid)
		return 0;
	h->pid = -1;
	return 1;
}

static int harness_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Reads data/parleyd.addr into h->listen and h->url; 1 if it was there. */
static int harness_read_addr(struct harness *h)
{
	char buf[sizeof(h->listen)];
	size_t n;
	FILE *f = fopen(h->addr_file, "r");

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n < 2 || buf[n - 1] != '\n' || !strchr(buf, ':'))
		return 0;
	buf[n - 1] = '\0';
	snprintf(h->listen, sizeof(h->listen), "%s", buf);
	snprintf(h->url, sizeof(h->url), "http://%s", buf);
	return 1;
}

/* Waits until /healthz answers 200. */
static int harness_wait_health(struct harness *h, int64_t deadline)
{
	struct parley_client *c = parley_client_new(h->url, NULL, 0);
	struct parley_error err;
	int rc = -1, status;

	if (!c)
		return -1;
	parley_client_set_timeout_ms(c, 1000);
	while (rc < 0 && harness_now_ms() < deadline && !harness_reap(h, &status)) {
		if ((rc = parley_health(c, &err)) < 0)
			harness_sleep_ms(HARNESS_POLL_MS);
	}
	parley_client_free(c);
	return rc < 0 ? -1 : 0;
}

/* Waits for parleyd.addr, then /healthz.  Returns 0, -1 (timeout or no
 * health) or -2 (the daemon exited: e.g. the port was still taken). */
static int harness_wait_ready(struct harness *h)
{
	int64_t deadline = harness_now_ms() + HARNESS_START_TIMEOUT_MS;
	int status;

	while (!harness_read_addr(h)) {
		if (harness_reap(h, &status))
			return -2;
		if (harness_now_ms() >= deadline)
			return -1;
		harness_sleep_ms(HARNESS_POLL_MS);
	}
	if (harness_wait_health(h, deadline) < 0)
		return h->pid < 0 ? -2 : -1;
	return 0;
}

/* Child side of the fork: only async-signal-safe calls until execve. */
static void harness_child(const struct harness *h, const char *listen, int logfd)
{
	char *argv[] = {(char *)h->parleyd, "--listen", (char *)listen, "--data", (char *)h->data, NULL};
	int devnull = open("/dev/null", O_RDONLY);
	static const char msg[] = "harness: cannot exec parleyd\n";

#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* do not outlive a crashed test */
#endif
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	if (logfd >= 0) {
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
	}
	execve(h->parleyd, argv, h->envp);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(126);
	_exit(127);
}

/* Starts the daemon listening on listen; see harness_wait_ready(). */
static int harness_spawn(struct harness *h, const char *listen)
{
	int logfd = -1, rc;
	pid_t pid;

	unlink(h->addr_file);
	if (!harness_flag("HARNESS_VERBOSE"))
		logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid = fork();
	if (pid == 0)
		harness_child(h, listen, logfd);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return -1;
	}
	h->pid = pid;
	if ((rc = harness_wait_ready(h)) == -1) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = -1;
	}
	return rc;
}

/* --- lifecycle ---------------------------------------------------------- */

/* Makes the scratch folders under $TMPDIR (or /tmp). */
static int harness_dirs(struct harness *h)
{
	const char *tmpdir = getenv("TMPDIR");

	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if (snprintf(h->root, sizeof(h->root), "%s/parley-test-XXXXXX", tmpdir) >= (int)sizeof(h->root) ||
	    !mkdtemp(h->root))
		return -1;
	snprintf(h->data, sizeof(h->data), "%.4000s/data", h->root);
	snprintf(h->tmp, sizeof(h->tmp), "%.4000s/tmp", h->root);
	snprintf(h->log, sizeof(h->log), "%.4000s/parleyd.log", h->root);
	snprintf(h->addr_file, sizeof(h->addr_file), "%.4000s/parleyd.addr", h->data);
	if (mkdir(h->data, 0700) < 0 || mkdir(h->tmp, 0700) < 0)
		return -1;
	return 0;
}

struct harness *harness_start(const char *const *extra_env)
{
	struct harness *h = calloc(1, sizeof(*h));
	const char *bin = getenv("PARLEYD");

	if (!h)
		return NULL;
	h->pid = -1;
	h->parleyd = bin && *bin ? bin : "build/parleyd";
	if (harness_dirs(h) < 0 || harness_env_build(h, extra_env) < 0) {
		fprintf(stderr, "harness: cannot set up a scratch folder or environment: %s\n", strerror(errno));
		goto fail;
	}
	if (access(h->parleyd, X_OK) < 0) {
		fprintf(stderr, "harness: %s is not executable (set PARLEYD or run make)\n", h->parleyd);
		goto fail;
	}
	if (harness_spawn(h, "127.0.0.1:0") != 0) {
		fprintf(stderr, "harness: %s did not start serving within %d ms\n", h->parleyd,
			HARNESS_START_TIMEOUT_MS);
		harness_log_tail(h);
		goto fail;
	}
	return h;
fail:
	harness_free(h);
	return NULL;
}

int harness_stop(struct harness *h)
{
	int64_t deadline = harness_now_ms() + HARNESS_STOP_TIMEOUT_MS;
	int status = 0;

	if (h->pid <= 0)
		return -1;
	kill(h->pid, SIGTERM);
	while (!harness_reap(h, &status)) {
		if (harness_now_ms() >= deadline) {
			fprintf(stderr, "harness: parleyd did not stop within %d ms of SIGTERM; killing it\n",
				HARNESS_STOP_TIMEOUT_MS);
			harness_log_tail(h);
			harness_kill9(h);
			return -1;
		}
		harness_sleep_ms(HARNESS_POLL_MS);
	}
	return harness_exit_code(status);
}

void harness_kill9(struct harness *h)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
}

int harness_restart(struct harness *h)
{
	int rc = -2;

	if (h->pid > 0)
		harness_stop(h);
	/* The old port may be briefly unavailable: try it a few times. */
	for (int i = 0; i < HARNESS_RESTART_TRIES && rc == -2; i++) {
		if (i)
			harness_sleep_ms(100);
		rc = harness_spawn(h, h->listen);
	}
	if (rc != 0) {
		fprintf(stderr, "harness: restart on %s failed\n", h->listen);
		harness_log_tail(h);
		return -1;
	}
	return 0;
}

void harness_free(struct harness *h)
{
	if (!h)
		return;
	if (h->pid > 0)
		harness_stop(h);
	for (size_t i = 0; i < h->nclients; i++)
		parley_client_free(h->clients[i]);
	free(h->clients);
	free(h->users);
	for (size_t i = 0; h->envp && h->envp[i]; i++)
		free(h->envp[i]);
	free(h->envp);
	if (h->root[0] && !harness_flag("HARNESS_KEEP"))
		harness_rmtree(h->root);
	else if (h->root[0])
		fprintf(stderr, "harness: kept %s\n", h->root);
	free(h);
}

const char *harness_url(const struct harness *h)
{
	return h->url;
}

const char *harness_data_dir(const struct harness *h)
{
	return h->data;
}

const char *harness_tmp_dir(const struct harness *h)
{
	return h->tmp;
}

pid_t harness_pid(const struct harness *h)
{
	return h->pid;
}

/* --- clients and users ---------------------------------------------------- */

struct parley_client *harness_client(struct harness *h)
{
	char errbuf[256];
	struct parley_client *c;

	if (harness_grow((void **)&h->clients, &h->capclients, h->nclients, sizeof(*h->clients),
			 HARNESS_CLIENTS_MAX) < 0) {
		print_error("harness_client: more than %d clients or out of memory\n", HARNESS_CLIENTS_MAX);
		fail();
	}
	c = parley_client_new(h->url, errbuf, sizeof(errbuf));
	if (!c) {
		print_error("harness_client: %s\n", errbuf);
		fail();
	}
	h->clients[h->nclients++] = c;
	return c;
}

const char *harness_password(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "pw-%s-harness", name);
	return buf;
}

struct parley_client *harness_user(struct harness *h, const char *name)
{
	struct parley_client *c = harness_client(h);
	struct parley_error err;
	char pw[HARNESS_NAME_MAX + 16];
	int64_t id = 0;

	if (strlen(name) >= HARNESS_NAME_MAX ||
	    harness_grow((void **)&h->users, &h->capusers, h->nusers, sizeof(*h->users), HARNESS_CLIENTS_MAX) < 0) {
		print_error("harness_user(%s): name too long or too many users\n", name);
		fail();
	}
	if (parley_register(c, name, harness_password(name, pw, sizeof(pw)), name, &id, &err) < 0) {
		print_error("harness_user(%s): register: %s: %s\n", name, err.code, err.description);
		fail();
	}
	snprintf(h->users[h->nusers].name, sizeof(h->users[h->nusers].name), "%s", name);
	h->users[h->nusers++].id = id;
	return c;
}

struct parley_client *harness_login(struct harness *h, const char *name)
{
	struct parley_client *c = harness_client(h);
	struct parley_error err;
	char pw[HARNESS_NAME_MAX + 16];

	if (parley_login(c, name, harness_password(name, pw, sizeof(pw)), NULL, NULL, &err) < 0) {
		print_error("harness_login(%s): %s: %s\n", name, err.code, err.description);
		fail();
	}
	return c;
}

int64_t harness_user_id(const struct harness *h, const char *name)
{
	for (size_t i = 0; i < h->nusers; i++)
		if (strcmp(h->users[i].name, name) == 0)
			return h->users[i].id;
	print_error("harness_user_id(%s): no such harness user\n", name);
	fail();
	return 0;
}

json_t *harness_call_ok(struct parley_client *c, const char *method, json_t *params, int line)
{
	struct parley_error err;
	json_t *res = NULL;
	int rc;

	assert_non_null(params);
	rc = parley_call(c, method, params, &res, &err);
	json_decref(params);
	if (rc < 0) {
		print_error("line %d: %s failed: %d %s: %s\n", line, method, err.http_status, err.code,
			    err.description);
		fail();
	}
	return res;
}

void harness_call_fails(struct parley_client *c, const char *method, json_t *params, int status, const char *code,
			int line)
{
	struct parley_error err;
	json_t *res = NULL;
	int rc;

	assert_non_null(params);
	rc = parley_call(c, method, params, &res, &err);
	json_decref(params);
	if (rc == 0) {
		json_decref(res);
		print_error("line %d: %s succeeded; expected %d %s\n", line, method, status, code);
		fail();
	}
	if (rc != PARLEY_EAPI || err.http_status != status || strcmp(err.code, code) != 0) {
		print_error("line %d: %s: got rc %d, %d %s (%s); expected %d %s\n", line, method, rc,
			    err.http_status, err.code, err.description, status, code);
		fail();
	}
}
