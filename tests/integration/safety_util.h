/*
 * safety_util.h — helpers of the trust & safety integration tests
 * (test_safety_*.c): calls that must succeed or fail in a stated way,
 * results picked apart, the parleyd command line (admin, audit) on the
 * harness's data folder, and a raw HTTP request for headers libparley does
 * not send.  Everything is static inline so each test takes what it uses.
 *
 * Include after <cmocka.h>, "harness.h" and "parley.h".
 */
#ifndef PL_TESTS_SAFETY_UTIL_H
#define PL_TESTS_SAFETY_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SX_PARAMS_MAX 65536   /* bytes of one call's parameters */
#define SX_OUT_MAX 65536      /* bytes of a command's output kept */

static inline char *sx_vfmt(const char *fmt, va_list ap)
{
	char *buf = malloc(SX_PARAMS_MAX);

	assert_non_null(buf);
	assert_true(vsnprintf(buf, SX_PARAMS_MAX, fmt, ap) < SX_PARAMS_MAX);
	return buf;
}

/* Calls method with printf-formatted JSON params; fails the test (naming
 * line) unless it succeeds.  Returns the result (caller decrefs). */
static inline json_t *sx_ok_at(int line, struct parley_client *c, const char *method, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline json_t *sx_ok_at(int line, struct parley_client *c, const char *method, const char *fmt, ...)
{
	struct parley_error err;
	json_t *res = NULL;
	va_list ap;
	char *params;
	int rc;

	va_start(ap, fmt);
	params = sx_vfmt(fmt, ap);
	va_end(ap);
	rc = parley_call_json(c, method, params, &res, &err);
	if (rc < 0) {
		print_error("line %d: %s %s failed: %d %s: %s\n", line, method, params, err.http_status, err.code,
			    err.description);
		free(params);
		fail();
	}
	free(params);
	return res;
}
#define SX_OK(c, method, ...) sx_ok_at(__LINE__, (c), (method), __VA_ARGS__)
/* As SX_OK, dropping the result. */
#define SX_DO(c, method, ...) json_decref(sx_ok_at(__LINE__, (c), (method), __VA_ARGS__))

/* Calls method and fails the test unless the server answers status and
 * code (a code ending in '_' matches as a prefix: "FLOOD_WAIT_").  The
 * description is copied into desc (may be NULL). */
static inline void sx_fails_at(int line, struct parley_client *c, const char *method, int status, const char *code,
			       char *desc, size_t desclen, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static inline void sx_fails_at(int line, struct parley_client *c, const char *method, int status, const char *code,
			       char *desc, size_t desclen, const char *fmt, ...)
{
	struct parley_error err;
	json_t *res = NULL;
	va_list ap;
	char *params;
	int rc;

	va_start(ap, fmt);
	params = sx_vfmt(fmt, ap);
	va_end(ap);
	rc = parley_call_json(c, method, params, &res, &err);
	if (rc == 0) {
		char *s = json_dumps(res, JSON_COMPACT);
		print_error("line %d: %s %s succeeded (%s); expected %d %s\n", line, method, params, s ? s : "", status, code);
		free(s);
		json_decref(res);
		free(params);
		fail();
	}
	if (rc != PARLEY_EAPI || err.http_status != status ||
	    (code[strlen(code) - 1] == '_' ? strncmp(err.code, code, strlen(code)) : strcmp(err.code, code)) != 0) {
		print_error("line %d: %s %s: got rc %d, %d %s (%s); expected %d %s\n", line, method, params, rc,
			    err.http_status, err.code, err.description, status, code);
		free(params);
		fail();
	}
	if (desc)
		snprintf(desc, desclen, "%s", err.description);
	free(params);
}
#define SX_FAILS(c, method, status, code, ...) sx_fails_at(__LINE__, (c), (method), (status), (code), NULL, 0, __VA_ARGS__)

static inline int64_t sx_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v)) {
		char *s = json_dumps(obj, JSON_COMPACT);
		print_error("no integer \"%s\" in %s\n", key, s ? s : "(null)");
		free(s);
		fail();
	}
	return json_integer_value(v);
}

static inline const char *sx_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s) {
		char *d = json_dumps(obj, JSON_COMPACT);
		print_error("no string \"%s\" in %s\n", key, d ? d : "(null)");
		free(d);
		fail();
	}
	return s;
}

/* Runs "parleyd --data DATA ARGS" (args printf-formatted, already quoted
 * for the shell), with stdout and stderr into out.  Returns the exit status. */
static inline int sx_cli(struct harness *h, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int sx_cli(struct harness *h, char *out, size_t outlen, const char *fmt, ...)
{
	const char *bin = getenv("PARLEYD");
	char args[4096], *cmd = malloc(SX_PARAMS_MAX);
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	assert_non_null(cmd);
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, SX_PARAMS_MAX, "'%s' --data '%s' %s 2>&1", bin && *bin ? bin : "build/parleyd", harness_data_dir(h),
		 args);
	assert_non_null(p = popen(cmd, "r"));
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = 0;
	} else {
		char sink[256];
		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	st = pclose(p);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Makes name a platform role holder with the command line (server
 * stopped and restarted around it, as an operator would). */
static inline void sx_grant_cli(struct harness *h, const char *name, const char *role)
{
	char out[1024];
	int rc;

	assert_int_equal(harness_stop(h), 0);
	rc = sx_cli(h, out, sizeof out, "admin grant-role %s %s", name, role);
	if (rc != 0) {
		print_error("admin grant-role %s %s: exit %d: %s\n", name, role, rc, out);
		fail();
	}
	assert_int_equal(harness_restart(h), 0);
}

/* parleyd audit verify on the data folder: fails the test unless it is OK. */
static inline void sx_audit_ok(struct harness *h)
{
	char out[SX_OUT_MAX];
	int rc = sx_cli(h, out, sizeof out, "audit verify");

	if (rc != 0 || !strstr(out, "audit log OK")) {
		print_error("audit verify: exit %d: %s\n", rc, out);
		fail();
	}
}

/* The kinds of the last n audit entries, as "kind subject\n" lines in out. */
static inline void sx_audit_tail(struct harness *h, int n, char *out, size_t outlen)
{
	assert_int_equal(sx_cli(h, out, outlen, "audit tail %d", n), 0);
}

/* Sends one raw HTTP/1.1 request (Connection: close) to the harness and
 * reads the whole reply into reply.  Returns the status code or -1. */
static inline int sx_raw(struct harness *h, const char *request, char *reply, size_t replylen)
{
	const char *url = harness_url(h), *colon = strrchr(url, ':');
	struct sockaddr_in sa;
	size_t n = 0;
	ssize_t r;
	int fd, status = -1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, request, strlen(request)) == (ssize_t)strlen(request)) {
		while (n + 1 < replylen && (r = read(fd, reply + n, replylen - 1 - n)) > 0)
			n += (size_t)r;
		reply[n] = 0;
		if (sscanf(reply, "HTTP/1.1 %d", &status) != 1)
			status = -1;
	}
	close(fd);
	return status;
}

#endif
