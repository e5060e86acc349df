/* args.c — decodes a request's JSON body against a method's parameter table.
 * Every check a parameter's type and limits imply happens here, so handlers
 * see only well-typed values within range. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/err.h"
#include "util/utf8.h"

int api_fail(struct api_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	call->code = code;
	va_start(ap, fmt);
	vsnprintf(call->detail, sizeof call->detail, fmt, ap);
	va_end(ap);
	return PL_INVAL;
}

/* Parses a decimal integer string (Bot API clients send numbers as strings
 * too).  Returns 0 or -1. */
static int parse_int_str(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int get_int(json_t *j, int64_t *out)
{
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return 0;
	}
	if (json_is_string(j))
		return parse_int_str(json_string_value(j), out);
	return -1;
}

static int decode_int(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	if (get_int(j, &v->i) < 0)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be an integer", p->name);
	if (v->i < p->min || v->i > p->max)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be between %lld and %lld", p->name,
				(long long)p->min, (long long)p->max);
	return 0;
}

static int decode_str(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	long n;

	if (!json_is_string(j))
		return api_fail(c, PLC_PARAM_INVALID, "%s must be a string", p->name);
	v->s = json_string_value(j);
	n = utf8_count(v->s, json_string_length(j));
	if (n < 0 || strlen(v->s) != json_string_length(j))
		return api_fail(c, PLC_TEXT_INVALID_UTF8, "%s is not valid UTF-8", p->name);
	if (n > p->max)
		return api_fail(c, p->too_long ? p->too_long : PLC_PARAM_INVALID,
				"%s is %ld characters long; the limit is %lld", p->name, n, (long long)p->max);
	if (n < p->min)
		return api_fail(c, p->too_short ? p->too_short : PLC_PARAM_INVALID, "%s needs at least %lld characters",
				p->name, (long long)p->min);
	return 0;
}

static int decode_bool(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	if (json_is_boolean(j))
		v->i = json_is_true(j);
	else if (json_is_integer(j) && (json_integer_value(j) == 0 || json_integer_value(j) == 1))
		v->i = json_integer_value(j);
	else if (json_is_string(j) && (!strcmp(json_string_value(j), "true") || !strcmp(json_string_value(j), "false")))
		v->i = !strcmp(json_string_value(j), "true");
	else
		return api_fail(c, PLC_PARAM_INVALID, "%s must be true or false", p->name);
	return 0;
}

static int decode_array(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	size_t n;

	if (!json_is_array(j))
		return api_fail(c, PLC_PARAM_INVALID, "%s must be an array of integers", p->name);
	n = json_array_size(j);
	if ((int64_t)n < p->min || (int64_t)n > p->max)
		return api_fail(c, PLC_PARAM_INVALID, "%s must hold %lld to %lld items", p->name, (long long)p->min,
				(long long)p->max);
	v->arr = n ? calloc(n, sizeof *v->arr) : NULL;
	if (n && !v->arr)
		return api_fail(c, PLC_INTERNAL, "out of memory");
	v->n = n;
	for (size_t i = 0; i < n; i++)
		if (get_int(json_array_get(j, i), &v->arr[i]) < 0 || v->arr[i] < 1)
			return api_fail(c, PLC_PARAM_INVALID, "%s[%zu] must be a positive integer", p->name, i);
	return 0;
}

static int decode_chat_id(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	const char *s = json_is_string(j) ? json_string_value(j) : NULL;

	if (s && s[0] == '@') {
		size_t n = strlen(s + 1);
		if (n < 1 || n > 32 || n != json_string_length(j) - 1)
			return api_fail(c, PLC_PARAM_INVALID, "%s: \"@username\" has 5-32 characters", p->name);
		v->s = s + 1;
		return 0;
	}
	if (get_int(j, &v->i) < 0 || v->i == 0 || v->i == INT64_MIN)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be a non-zero integer or \"@username\"", p->name);
	return 0;
}

static int decode_one(struct api_call *c, const struct api_param *p, json_t *j, struct api_value *v)
{
	switch (p->type) {
	case API_INT:
		return decode_int(c, p, j, v);
	case API_STR:
		return decode_str(c, p, j, v);
	case API_BOOL:
		return decode_bool(c, p, j, v);
	case API_INT_ARRAY:
		return decode_array(c, p, j, v);
	case API_CHAT_ID:
		return decode_chat_id(c, p, j, v);
	case API_OBJECT:
		if (!json_is_object(j))
			return api_fail(c, PLC_PARAM_INVALID, "%s must be an object", p->name);
		v->obj = j;
		return 0;
	}
	return api_fail(c, PLC_INTERNAL, "bad parameter table");
}

static int body_blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
			return 0;
	return 1;
}

int api_args_decode(struct api_call *call, const struct api_method *m, const char *body, size_t len)
{
	json_error_t err;
	json_t *doc;

	call->m = m;
	if (body_blank(body, len))
		return api_args_decode_json(call, m, json_object());
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		if (utf8_count(body, len) < 0)
			return api_fail(call, PLC_TEXT_INVALID_UTF8, "the request body is not valid UTF-8");
		return api_fail(call, PLC_JSON_INVALID, "line %d column %d: %s", err.line, err.column, err.text);
	}
	return api_args_decode_json(call, m, doc);
}

int api_args_decode_json(struct api_call *call, const struct api_method *m, json_t *doc)
{
	call->m = m;
	call->doc = doc;
	if (!doc)
		return api_fail(call, PLC_INTERNAL, "out of memory");
	if (!json_is_object(call->doc))
		return api_fail(call, PLC_JSON_INVALID, "the parameters must be a JSON object");
	for (int i = 0; i < API_MAX_PARAMS && m->params[i].name; i++) {
		const struct api_param *p = &m->params[i];
		json_t *j = json_object_get(call->doc, p->name);
		if (!j || json_is_null(j)) {
			if (p->required)
				return api_fail(call, PLC_PARAM_MISSING, "%s is required", p->name);
			continue;
		}
		call->v[i].present = 1;
		if (decode_one(call, p, j, &call->v[i]) < 0)
			return PL_INVAL;
	}
	return 0;
}

void api_call_release(struct api_call *call)
{
	for (int i = 0; i < API_MAX_PARAMS; i++)
		free(call->v[i].arr);
	json_decref(call->doc);
	api_result_clear(call);
	free(call->prep_data);
	free(call->typing);
	call->typing = NULL;
	memset(call->v, 0, sizeof call->v);
	call->doc = NULL;
	call->prep_data = NULL;
}
