/*
 * fuzz_args.c — libFuzzer target for API parameter decoding
 * (src/api/args.c: api_args_decode() and api_call_release()).
 * Seed corpus: fuzz/corpus/args/.
 *
 * Input layout: the first byte picks a method from api_methods[] (modulo
 * api_methods_count), the remaining bytes are the request body exactly as the
 * HTTP layer would pass it.  Each seed is named after the method its first
 * byte picked when it was written (sendMessage_*, createGroup_*, ...); if the
 * table is reordered the seeds still decode, against other methods.  The body is copied into a buffer of exactly its length, with
 * no terminating NUL, so that the decoder reading one byte too far is an
 * AddressSanitizer report rather than a silent read of the fuzzer's memory.
 *
 * After decoding, every decoded value is walked byte by byte and checked
 * against what api.h promises handlers: a successful decode yields only
 * well-typed values within the limits of the method's parameter table, and
 * a failed one leaves a client-facing code and a terminated detail.  Any
 * broken promise aborts, so the fuzzer reports it as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api/api.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deepest JSON nesting the walker follows; jansson itself stops parsing at
 * 2048 levels, so this bounds the walker's recursion whatever the input. */
#define FZ_DEPTH_MAX 4096

/* Folds everything read into one value that the compiler cannot drop. */
static volatile uint64_t fz_sink;

static uint64_t fz_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* Reads every byte of a NUL-terminated string of claimed length n and checks
 * that the terminator sits exactly at n.  Returns the updated digest. */
static uint64_t fz_walk_str(uint64_t h, const char *s, size_t n)
{
	if (s == NULL || s[n] != '\0' || strlen(s) != n)
		abort();
	return fz_mix(h, s, n + 1);
}

/* Walks any JSON value: strings byte by byte, arrays and objects element by
 * element, numbers by value.  depth counts the containers above j. */
static uint64_t fz_walk_json(uint64_t h, json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > FZ_DEPTH_MAX)
		abort();
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach (j, key, v) {
			h = fz_walk_str(h, key, strlen(key));
			h = fz_walk_json(h, v, depth + 1);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach (j, i, v)
			h = fz_walk_json(h, v, depth + 1);
		h = fz_mix(h, &i, sizeof i);
		break;
	case JSON_STRING:
		h = fz_walk_str(h, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(j);
		h = fz_mix(h, &n, sizeof n);
		break;
	}
	case JSON_REAL: {
		double d = json_real_value(j);
		h = fz_mix(h, &d, sizeof d);
		break;
	}
	default:
		h = fz_mix(h, "t", 1);
		break;
	}
	return h;
}

/* Checks one decoded value against its parameter row and folds it in. */
static uint64_t fz_walk_value(uint64_t h, const struct api_param *p, const struct api_value *v)
{
	size_t n;
	long chars;

	if (!v->present)
		return h;
	switch (p->type) {
	case API_INT:
		if (v->i < p->min || v->i > p->max)
			abort();
		h = fz_mix(h, &v->i, sizeof v->i);
		break;
	case API_STR:
		n = strlen(v->s);
		h = fz_walk_str(h, v->s, n);
		chars = utf8_count(v->s, n);
		if (chars < 0 || chars < p->min || chars > p->max)
			abort();
		break;
	case API_BOOL:
		if (v->i != 0 && v->i != 1)
			abort();
		h = fz_mix(h, &v->i, sizeof v->i);
		break;
	case API_INT_ARRAY:
		if ((int64_t)v->n < p->min || (int64_t)v->n > p->max || (v->n > 0 && v->arr == NULL))
			abort();
		for (size_t i = 0; i < v->n; i++) {
			if (v->arr[i] < 1)
				abort();
			h = fz_mix(h, &v->arr[i], sizeof v->arr[i]);
		}
		break;
	case API_CHAT_ID:
		if (v->s != NULL) {
			n = strlen(v->s);
			h = fz_walk_str(h, v->s, n);
			if (n < 1 || n > 32)
				abort();
		} else if (v->i == 0 || v->i == INT64_MIN) {
			abort();
		}
		h = fz_mix(h, &v->i, sizeof v->i);
		break;
	case API_OBJECT:
		if (!json_is_object(v->obj))
			abort();
		h = fz_walk_json(h, v->obj, 0);
		break;
	default:
		abort();
	}
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct api_method *m;
	struct api_call call;
	char *body;
	uint64_t h = 14695981039346656037ULL;
	size_t len;
	int rc;

	if (size < 1 || api_methods_count == 0)
		return 0;
	m = &api_methods[data[0] % api_methods_count];
	len = size - 1;
	/* Exactly len bytes, never NUL-terminated: overreads must be visible. */
	body = malloc(len ? len : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, len);

	memset(&call, 0, sizeof call);
	rc = api_args_decode(&call, m, body, len);
	if (call.m != m)
		abort();
	if (rc == 0) {
		if (!json_is_object(call.doc) || call.code != 0)
			abort();
		h = fz_walk_json(h, call.doc, 0);
		for (int i = 0; i < API_MAX_PARAMS && m->params[i].name; i++) {
			if (m->params[i].required && !call.v[i].present)
				abort();
			h = fz_walk_value(h, &m->params[i], &call.v[i]);
		}
	} else {
		/* A failure names a client-facing code and a terminated detail. */
		if (rc >= 0 || call.code <= 0 || memchr(call.detail, '\0', sizeof call.detail) == NULL)
			abort();
		h = fz_walk_str(h, call.detail, strlen(call.detail));
		if (call.doc != NULL)
			h = fz_walk_json(h, call.doc, 0);
	}
	fz_sink = h;
	api_call_release(&call);
	if (call.doc != NULL || call.result != NULL || call.prep_data != NULL)
		abort();
	for (int i = 0; i < API_MAX_PARAMS; i++)
		if (call.v[i].arr != NULL || call.v[i].present)
			abort();
	free(body);
	return 0;
}
