/*
 * args.c — turns one command-table row and the command's argv into the JSON
 * parameters of its API method.  Options start with "--" ("--limit 5" or
 * "--limit=5"); everything else is positional, filled in table order; "--"
 * makes the rest positional (for text starting with "--").  Negative numbers
 * ("-1000001", a group id) are positionals, not options.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

struct args_state {
	const struct cli_cmd *cmd;
	json_t *params;
	const char *method;
	const char *password_param;
	char *err;
	size_t errlen;
};

static int args_usage(struct args_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int args_usage(struct args_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, st->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int args_is_option(const struct cli_arg *a)
{
	return a->name[0] == '-';
}

/* Length of an option row's name without its metavariable. */
static size_t args_opt_len(const struct cli_arg *a)
{
	return strcspn(a->name, " ");
}

static const struct cli_arg *args_find_option(const struct cli_cmd *cmd, const char *opt, size_t n)
{
	for (const struct cli_arg *a = cmd->args; a < cmd->args + CLI_ARGS_MAX && a->name; a++)
		if (args_is_option(a) && args_opt_len(a) == n && strncmp(a->name, opt, n) == 0)
			return a;
	return NULL;
}

static int args_parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return *s && !*end && errno == 0 && (*s == '-' || (*s >= '0' && *s <= '9')) ? 0 : -1;
}

/* Merges the JSON object text obj into params (NULL: nothing). */
static int args_merge(struct args_state *st, const char *obj)
{
	json_t *o;
	int rc;

	if (!obj)
		return 0;
	o = json_loads(obj, 0, NULL);
	rc = json_is_object(o) && json_object_update(st->params, o) == 0 ? 0 : -1;
	json_decref(o);
	return rc < 0 ? args_usage(st, "internal: bad JSON in the command table") : 0;
}

/* Sets key to v (stolen); a parameter given twice is a usage error. */
static int args_set(struct args_state *st, const struct cli_arg *a, const char *key, json_t *v)
{
	if (!v)
		return args_usage(st, "out of memory");
	if (json_object_get(st->params, key)) {
		json_decref(v);
		return args_usage(st, "%s: given twice or conflicts with another option", a->name);
	}
	json_object_set_new(st->params, key, v);
	return args_merge(st, a->also);
}

/* A chat: an integer id, "@name", or a bare name (gets the '@'). */
static json_t *args_chat(const char *s)
{
	long long v;
	char buf[80];

	if (args_parse_int(s, &v) == 0)
		return json_integer(v);
	if (s[0] == '@' || strlen(s) + 2 > sizeof(buf))
		return json_string(s);
	snprintf(buf, sizeof(buf), "@%s", s);
	return json_string(buf);
}

/* Converts one value s for row a and sets it. */
static int args_one(struct args_state *st, const struct cli_arg *a, const char *s)
{
	json_error_t jerr;
	long long v;
	json_t *j;

	switch (a->type) {
	case CA_INT:
	case CA_SECONDS:
		if (args_parse_int(s, &v) < 0)
			return args_usage(st, "%s: \"%s\" is not an integer", a->name, s);
		if (a->type == CA_SECONDS)
			v += (long long)time(NULL);
		return args_set(st, a, a->param, json_integer(v));
	case CA_CHAT:
		if (!*s)
			return args_usage(st, "%s: empty chat", a->name);
		return args_set(st, a, a->param, args_chat(s));
	case CA_USER:
		if (args_parse_int(s, &v) == 0)
			return args_set(st, a, "user_id", json_integer(v));
		return args_set(st, a, "username", json_string(s));
	case CA_JOIN:
		if (args_parse_int(s, &v) == 0)
			return args_set(st, a, "chat_id", json_integer(v));
		return args_set(st, a, s[0] == '@' ? "chat_id" : "invite_link", json_string(s));
	case CA_JSON:
		j = json_loads(s, JSON_DECODE_ANY, &jerr);
		if (!j)
			return args_usage(st, "%s: not JSON: %s", a->name, jerr.text);
		return args_set(st, a, a->param, j);
	case CA_OBJECT:
		j = json_loads(s, 0, &jerr);
		if (!json_is_object(j)) {
			json_decref(j);
			return args_usage(st, "%s: not a JSON object%s%s", a->name, j ? "" : ": ", j ? "" : jerr.text);
		}
		json_object_update(st->params, j);
		json_decref(j);
		return 0;
	case CA_METHOD:
		st->method = s;
		return 0;
	default:
		if (!(j = json_string(s))) /* NULL for text that is not UTF-8 */
			return args_usage(st, "%s: not valid UTF-8", a->name);
		return args_set(st, a, a->param, j);
	}
}

/* CA_TEXT: joins vals with spaces.  CA_INTS: an array of integers. */
static int args_rest(struct args_state *st, const struct cli_arg *a, char **vals, int n)
{
	json_t *arr;
	size_t len = 0;
	char *text;
	long long v;

	if (a->type == CA_INTS) {
		arr = json_array();
		for (int i = 0; arr && i < n; i++) {
			if (args_parse_int(vals[i], &v) < 0) {
				json_decref(arr);
				return args_usage(st, "%s: \"%s\" is not an integer", a->name, vals[i]);
			}
			json_array_append_new(arr, json_integer(v));
		}
		return args_set(st, a, a->param, arr);
	}
	for (int i = 0; i < n; i++)
		len += strlen(vals[i]) + 1;
	text = malloc(len + 1);
	if (!text)
		return args_usage(st, "out of memory");
	text[0] = '\0';
	for (int i = 0, off = 0; i < n; i++)
		off += sprintf(text + off, "%s%s", i ? " " : "", vals[i]);
	arr = json_string(text); /* NULL for text that is not UTF-8 */
	free(text);
	if (!arr)
		return args_usage(st, "%s: not valid UTF-8", a->name);
	return args_set(st, a, a->param, arr);
}

/* Reads the options out of argv; positionals go to pos[*npos]. */
static int args_scan(struct args_state *st, int argc, char **argv, char **pos, int *npos)
{
	int only_pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *s = argv[i], *eq;
		const struct cli_arg *a;
		size_t n;

		/* A one-letter option ("-o PATH") is one only if the command has
		 * it: "-100" stays a (negative) positional. */
		if (!only_pos && s[0] == '-' && s[1] != '-' && s[1] != '\0' &&
		    (a = args_find_option(st->cmd, s, strcspn(s, "="))) != NULL) {
			eq = strchr(s, '=');
			if (!eq && i + 1 >= argc)
				return args_usage(st, "%s needs a value", a->name);
			if (args_one(st, a, eq ? eq + 1 : argv[++i]) < 0)
				return -1;
			continue;
		}
		if (only_pos || s[0] != '-' || s[1] != '-') {
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (s[2] == '\0') {
			only_pos = 1;
			continue;
		}
		eq = strchr(s, '=');
		n = eq ? (size_t)(eq - s) : strlen(s);
		if (!(a = args_find_option(st->cmd, s, n)))
			return args_usage(st, "%s: unknown option %.*s", st->cmd->name, (int)n, s);
		if (a->type == CA_TRUE || a->type == CA_FALSE) {
			if (eq)
				return args_usage(st, "%.*s takes no value", (int)n, s);
			if (args_set(st, a, a->param, json_boolean(a->type == CA_TRUE)) < 0)
				return -1;
			continue;
		}
		if (!eq && i + 1 >= argc)
			return args_usage(st, "%s needs a value", a->name);
		if (args_one(st, a, eq ? eq + 1 : argv[++i]) < 0)
			return -1;
	}
	return 0;
}

/* Hands the positionals to the positional rows, in order. */
static int args_assign(struct args_state *st, char **pos, int npos)
{
	const struct cli_cmd *cmd = st->cmd;
	int used = 0;

	for (const struct cli_arg *a = cmd->args; a < cmd->args + CLI_ARGS_MAX && a->name; a++) {
		if (a->type == CA_PASSWORD) {
			st->password_param = a->param;
			continue;
		}
		if (args_is_option(a))
			continue;
		if (used >= npos) {
			if (a->required)
				return args_usage(st, "%s: missing %s", cmd->name, a->name);
			continue;
		}
		if (a->type == CA_TEXT || a->type == CA_INTS) {
			if (args_rest(st, a, pos + used, npos - used) < 0)
				return -1;
			used = npos;
		} else if (args_one(st, a, pos[used++]) < 0) {
			return -1;
		}
	}
	if (used < npos)
		return args_usage(st, "%s: unexpected argument \"%s\"", cmd->name, pos[used]);
	return 0;
}

int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, json_t **params, const char **method,
		   const char **password_param, char *errbuf, size_t errlen)
{
	struct args_state st = {cmd, json_object(), cmd->method, NULL, errbuf, errlen};
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, rc = -1;

	*params = NULL;
	if (!st.params || !pos) {
		args_usage(&st, "out of memory");
		goto out;
	}
	if (args_merge(&st, cmd->fixed) < 0 || args_scan(&st, argc, argv, pos, &npos) < 0 ||
	    args_assign(&st, pos, npos) < 0)
		goto out;
	*params = st.params;
	st.params = NULL;
	*method = st.method;
	*password_param = st.password_param;
	rc = 0;
out:
	json_decref(st.params);
	free(pos);
	return rc;
}
