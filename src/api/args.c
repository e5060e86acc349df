/* args.c — decodes a request's JSON body against a method's parameter table.
 * Every check a parameter's type and limits imply happens here, so handlers
 * see only well-typed values within range.  The parameters come from a
 * jansson tree or from the WebSocket envelope reader (envelope.h); both
 * are seen through one small view (struct arg), so each check is written
 * once and both give the same answer for the same value. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/envelope.h"
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

/* One parameter's value as sent, whichever reader read it: jansson (j set,
 * and the only way to an array or an object) or the envelope reader. */
struct arg {
	int kind;            /* enum envelope_kind, or ARG_REAL, ARG_ARRAY, ARG_OBJECT */
	int64_t i;           /* ENVELOPE_BOOL, ENVELOPE_INT */
	const char *s;       /* ENVELOPE_STR */
	size_t len;
	int ascii;           /* ENVELOPE_STR known all ASCII (then len characters, none of them NUL) */
	json_t *j;           /* ARG_ARRAY, ARG_OBJECT */
};

enum { ARG_REAL = ENVELOPE_STR + 1, ARG_ARRAY, ARG_OBJECT };

static void arg_of_json(json_t *j, struct arg *a)
{
	memset(a, 0, sizeof *a);
	a->j = j;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		a->kind = ARG_OBJECT;
		break;
	case JSON_ARRAY:
		a->kind = ARG_ARRAY;
		break;
	case JSON_STRING:
		a->kind = ENVELOPE_STR;
		a->s = json_string_value(j);
		a->len = json_string_length(j);
		break;
	case JSON_INTEGER:
		a->kind = ENVELOPE_INT;
		a->i = json_integer_value(j);
		break;
	case JSON_REAL:
		a->kind = ARG_REAL;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		a->kind = ENVELOPE_BOOL;
		a->i = json_is_true(j);
		break;
	case JSON_NULL:
		a->kind = ENVELOPE_NULL;
		break;
	}
}

static int get_int(const struct arg *a, int64_t *out)
{
	if (a->kind == ENVELOPE_INT) {
		*out = a->i;
		return 0;
	}
	if (a->kind == ENVELOPE_STR)
		return parse_int_str(a->s, out);
	return -1;
}

static int decode_int(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	if (get_int(a, &v->i) < 0)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be an integer", p->name);
	if (v->i < p->min || v->i > p->max)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be between %lld and %lld", p->name,
				(long long)p->min, (long long)p->max);
	return 0;
}

static int decode_str(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	long n;

	if (a->kind != ENVELOPE_STR)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be a string", p->name);
	v->s = a->s;
	n = a->ascii ? (long)a->len : utf8_count(v->s, a->len);
	if (n < 0 || (!a->ascii && strlen(v->s) != a->len))
		return api_fail(c, PLC_TEXT_INVALID_UTF8, "%s is not valid UTF-8", p->name);
	if (n > p->max)
		return api_fail(c, p->too_long ? p->too_long : PLC_PARAM_INVALID,
				"%s is %ld characters long; the limit is %lld", p->name, n, (long long)p->max);
	if (n < p->min)
		return api_fail(c, p->too_short ? p->too_short : PLC_PARAM_INVALID, "%s needs at least %lld characters",
				p->name, (long long)p->min);
	return 0;
}

static int decode_bool(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	if (a->kind == ENVELOPE_BOOL)
		v->i = a->i;
	else if (a->kind == ENVELOPE_INT && (a->i == 0 || a->i == 1))
		v->i = a->i;
	else if (a->kind == ENVELOPE_STR && (!strcmp(a->s, "true") || !strcmp(a->s, "false")))
		v->i = !strcmp(a->s, "true");
	else
		return api_fail(c, PLC_PARAM_INVALID, "%s must be true or false", p->name);
	return 0;
}

static int decode_array(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	size_t n;

	if (a->kind != ARG_ARRAY)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be an array of integers", p->name);
	n = json_array_size(a->j);
	if ((int64_t)n < p->min || (int64_t)n > p->max)
		return api_fail(c, PLC_PARAM_INVALID, "%s must hold %lld to %lld items", p->name, (long long)p->min,
				(long long)p->max);
	v->arr = n ? calloc(n, sizeof *v->arr) : NULL;
	if (n && !v->arr)
		return api_fail(c, PLC_INTERNAL, "out of memory");
	v->n = n;
	for (size_t i = 0; i < n; i++) {
		struct arg e;
		arg_of_json(json_array_get(a->j, i), &e);
		if (get_int(&e, &v->arr[i]) < 0 || v->arr[i] < 1)
			return api_fail(c, PLC_PARAM_INVALID, "%s[%zu] must be a positive integer", p->name, i);
	}
	return 0;
}

static int decode_chat_id(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	const char *s = a->kind == ENVELOPE_STR ? a->s : NULL;

	if (s && s[0] == '@') {
		size_t n = strlen(s + 1);
		if (n < 1 || n > 32 || n != a->len - 1)
			return api_fail(c, PLC_PARAM_INVALID, "%s: \"@username\" has 5-32 characters", p->name);
		v->s = s + 1;
		return 0;
	}
	if (get_int(a, &v->i) < 0 || v->i == 0 || v->i == INT64_MIN)
		return api_fail(c, PLC_PARAM_INVALID, "%s must be a non-zero integer or \"@username\"", p->name);
	return 0;
}

static int decode_one(struct api_call *c, const struct api_param *p, const struct arg *a, struct api_value *v)
{
	switch (p->type) {
	case API_INT:
		return decode_int(c, p, a, v);
	case API_STR:
		return decode_str(c, p, a, v);
	case API_BOOL:
		return decode_bool(c, p, a, v);
	case API_INT_ARRAY:
		return decode_array(c, p, a, v);
	case API_CHAT_ID:
		return decode_chat_id(c, p, a, v);
	case API_OBJECT:
		if (a->kind != ARG_OBJECT)
			return api_fail(c, PLC_PARAM_INVALID, "%s must be an object", p->name);
		v->obj = a->j;
		return 0;
	}
	return api_fail(c, PLC_INTERNAL, "bad parameter table");
}

/* Decodes the method's parameters in table order, each by the value
 * get(ctx, name) finds (0 if not sent): the first failure is the answer,
 * whichever reader read the request. */
static int decode_all(struct api_call *call, const struct api_method *m,
		      int (*get)(const void *ctx, const char *name, struct arg *a), const void *ctx)
{
	for (int i = 0; i < API_MAX_PARAMS && m->params[i].name; i++) {
		const struct api_param *p = &m->params[i];
		struct arg a;
		if (!get(ctx, p->name, &a) || a.kind == ENVELOPE_NULL) {
			if (p->required)
				return api_fail(call, PLC_PARAM_MISSING, "%s is required", p->name);
			continue;
		}
		call->v[i].present = 1;
		if (decode_one(call, p, &a, &call->v[i]) < 0)
			return PL_INVAL;
	}
	return 0;
}

static int get_json(const void *ctx, const char *name, struct arg *a)
{
	json_t *j = json_object_get(ctx, name);

	if (!j)
		return 0;
	arg_of_json(j, a);
	return 1;
}

static int get_field(const void *ctx, const char *name, struct arg *a)
{
	const struct envelope_value *v = envelope_param(ctx, name);

	if (!v)
		return 0;
	*a = (struct arg){v->kind, v->i, v->s, v->len, v->kind == ENVELOPE_STR && v->ascii, NULL};
	return 1;
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
	return decode_all(call, m, get_json, call->doc);
}

int api_args_decode_envelope(struct api_call *call, const struct api_method *m, const struct envelope *e)
{
	call->m = m;
	return decode_all(call, m, get_field, e);
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
