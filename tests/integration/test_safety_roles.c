/*
 * test_safety_roles.c — who may moderate, against the real parleyd
 * (docs/policy.md, "Platform roles").
 *
 * The moderation methods are read from the method table itself, through
 * `parleyd --print-api-docs` (docs/api.md is generated from it): every
 * method whose Auth line names a platform role.  Covered: each of them
 * answers 401 without a session and 403 ROLE_REQUIRED to a user without the
 * role, whatever the parameters; a moderator gets 403 from the senior and
 * admin methods, a senior moderator from the admin ones; roles granted on
 * the command line (stopped server) and through the API; getMe shows the
 * role; revokeRole takes it back at once; getRoles lists the holders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parley.h"
#include "safety_util.h"

#define ROLE_METHODS_MAX 64

struct role_method {
	char name[64];
	int need;              /* 1 moderator, 2 senior_moderator, 3 admin */
};

/* The role-scoped methods of the method table. */
static size_t role_methods(struct role_method *out, size_t max)
{
	const char *bin = getenv("PARLEYD");
	char cmd[1024], line[4096], name[64] = "";
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd, "'%s' --print-api-docs", bin && *bin ? bin : "build/parleyd");
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof line, p)) {
		if (!strncmp(line, "### ", 4)) {
			snprintf(name, sizeof name, "%.*s", (int)strcspn(line + 4, "\n"), line + 4);
			continue;
		}
		if (strncmp(line, "- Auth: ", 8) || !strstr(line, "ROLE_REQUIRED") || n >= max)
			continue;
		snprintf(out[n].name, sizeof out[n].name, "%s", name);
		out[n].need = strstr(line, "platform admin") ? 3 : strstr(line, "senior moderator") ? 2 : 1;
		n++;
	}
	assert_int_equal(pclose(p), 0);
	return n;
}

/* method, called with {} and with plausible parameters, must answer status code. */
static void expect_refused(struct parley_client *c, const char *method, int status, const char *code)
{
	SX_FAILS(c, method, status, code, "{}");
	SX_FAILS(c, method, status, code,
		 "{\"case_id\":1,\"action\":\"dismiss\",\"facts\":\"x\",\"appeal_id\":1,\"outcome\":\"uphold\",\"text\":\"x\","
		 "\"from\":0,\"to\":1,\"role\":\"admin\",\"username\":\"pleb1\",\"name\":\"x\",\"email\":\"x@x.org\"}");
	SX_FAILS(c, method, status, code, "{\"case_id\":\"not a number\"}");
}

static void test_role_scopes(void **state)
{
	struct harness *h = harness_start(NULL);
	struct role_method m[ROLE_METHODS_MAX];
	struct parley_client *anon, *pleb, *mod, *senior, *chief;
	size_t n = role_methods(m, ROLE_METHODS_MAX), by_need[4] = {0};
	json_t *res;
	char out[1024];

	assert_non_null(h);
	/* The table has them all, at the scopes docs/policy.md says. */
	for (size_t i = 0; i < n; i++)
		by_need[m[i].need]++;
	assert_true(n >= 10);
	assert_true(by_need[1] >= 4 && by_need[2] >= 2 && by_need[3] >= 4);

	anon = harness_client(h);
	pleb = harness_user(h, "pleb1");
	mod = harness_user(h, "moder");
	senior = harness_user(h, "senior");
	chief = harness_user(h, "chief");
	/* The first admin on the command line of a stopped server, a bad role refused. */
	assert_int_equal(harness_stop(h), 0);
	assert_int_equal(sx_cli(h, out, sizeof out, "admin grant-role chief overlord"), 2);
	assert_int_equal(sx_cli(h, out, sizeof out, "admin grant-role nobody99 admin"), 1);
	assert_int_equal(sx_cli(h, out, sizeof out, "admin grant-role chief admin"), 0);
	assert_int_equal(sx_cli(h, out, sizeof out, "admin list-roles"), 0);
	assert_non_null(strstr(out, "chief"));
	assert_int_equal(harness_restart(h), 0);
	/* The others through the API. */
	SX_FAILS(chief, "grantRole", 400, "ROLE_INVALID", "{\"username\":\"moder\",\"role\":\"overlord\"}");
	SX_FAILS(chief, "grantRole", 400, "USER_NOT_FOUND", "{\"username\":\"nobody99\",\"role\":\"moderator\"}");
	SX_DO(chief, "grantRole", "{\"username\":\"moder\",\"role\":\"moderator\"}");
	SX_DO(chief, "grantRole", "{\"user_id\":%lld,\"role\":\"senior_moderator\"}", (long long)harness_user_id(h, "senior"));
	res = SX_OK(mod, "getMe", "{}");
	assert_string_equal(sx_str(res, "platform_role"), "moderator");
	json_decref(res);
	res = SX_OK(pleb, "getMe", "{}");
	assert_null(json_object_get(res, "platform_role"));
	json_decref(res);

	for (size_t i = 0; i < n; i++) {
		expect_refused(anon, m[i].name, 401, "UNAUTHORIZED");
		expect_refused(pleb, m[i].name, 403, "ROLE_REQUIRED");
		if (m[i].need > 1)
			expect_refused(mod, m[i].name, 403, "ROLE_REQUIRED");
		if (m[i].need > 2)
			expect_refused(senior, m[i].name, 403, "ROLE_REQUIRED");
	}
	/* And they do answer those who hold the role. */
	SX_DO(mod, "getModerationQueue", "{}");
	SX_DO(senior, "getAppeals", "{}");
	res = SX_OK(chief, "getRoles", "{}");
	assert_int_equal(json_array_size(res), 3);
	assert_string_equal(sx_str(json_array_get(res, 0), "role"), "admin");
	json_decref(res);

	/* Revoked: refused at once. */
	SX_DO(chief, "revokeRole", "{\"username\":\"moder\"}");
	SX_FAILS(mod, "getModerationQueue", 403, "ROLE_REQUIRED", "{}");
	sx_audit_ok(h);
	assert_int_equal(sx_cli(h, out, sizeof out, "audit tail 5"), 0);
	assert_non_null(strstr(out, "\"role.revoke\""));
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_scopes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
