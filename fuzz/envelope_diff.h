/*
 * envelope_diff.h — the differential check of the WebSocket envelope reader
 * (src/api/envelope.h) against jansson, shared by fuzz/fuzz_envelope.c and
 * tests/unit/test_envelope.c (header-only: both include it).
 *
 * server.c's on_ws_message reads a frame with envelope_parse and, when the
 * reader declines it, with json_loadb(JSON_REJECT_DUPLICATES) as before.
 * A declined frame takes the old path, so the two can only differ on a
 * frame the reader accepts; for such a frame envdiff_check asserts that
 * jansson accepts it too, as an object, and that everything server.c
 * takes from it is the same from both readers: the id as JSON text (what
 * every answer starts with, and whether it was sent at all), the method,
 * params (same keys, same scalar values), the auth token, and, for every
 * method of api_methods[], the decoded parameters or the error code,
 * detail and error reply.
 */
#ifndef PL_FUZZ_ENVELOPE_DIFF_H
#define PL_FUZZ_ENVELOPE_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api/api.h"
#include "api/envelope.h"
#include "util/err.h"

/* Sets why and returns -1. */
static int envdiff_fail(char *why, size_t n, const char *what, const char *detail)
{
	snprintf(why, n, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

static int envdiff_value(const struct envelope_value *v, json_t *j)
{
	switch (v->kind) {
	case ENVELOPE_NULL:
		return json_is_null(j);
	case ENVELOPE_BOOL:
		return json_is_boolean(j) && json_is_true(j) == (int)v->i;
	case ENVELOPE_INT:
		return json_is_integer(j) && json_integer_value(j) == v->i;
	case ENVELOPE_STR:
		return json_is_string(j) && json_string_length(j) == v->len && !memcmp(json_string_value(j), v->s, v->len) &&
		       v->s[v->len] == '\0';
	}
	return 0;
}

/* Both readers' decodes of one method's parameters. */
static int envdiff_method(const struct api_method *m, json_t *params, const struct envelope *e, char *why, size_t wn)
{
	struct api_call a, b;
	int ra, rb, bad = 0;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	ra = api_args_decode_json(&a, m, params ? json_incref(params) : json_object());
	rb = api_args_decode_envelope(&b, m, e);
	if (ra != rb || a.code != b.code || strcmp(a.detail, b.detail)) {
		snprintf(why, wn, "%s: jansson %d %d \"%.100s\", envelope %d %d \"%.100s\"", m->name, ra, a.code, a.detail, rb,
			 b.code, b.detail);
		bad = 1;
	}
	for (int i = 0; !bad && ra == 0 && i < API_MAX_PARAMS; i++) {
		const struct api_value *x = &a.v[i], *y = &b.v[i];
		if (x->present != y->present || x->i != y->i || !x->s != !y->s || (x->s && strcmp(x->s, y->s)) ||
		    x->n != y->n || (x->n && memcmp(x->arr, y->arr, x->n * sizeof *x->arr)) || x->obj || y->obj) {
			snprintf(why, wn, "%s: parameter %d differs", m->name, i);
			bad = 1;
		}
	}
	if (!bad && ra < 0) {
		int sa, sb;
		char *pa = api_reply(&a, &sa), *pb = api_reply(&b, &sb);
		if (!pa || !pb || sa != sb || strcmp(pa, pb)) {
			snprintf(why, wn, "%s: error replies differ", m->name);
			bad = 1;
		}
		free(pa);
		free(pb);
	}
	api_call_release(&a);
	api_call_release(&b);
	return bad ? -1 : 0;
}

/* Checks one frame (len bytes).  Returns 1 if the envelope reader took it
 * and agrees with jansson, 0 if it declined it (jansson answers), -1 if
 * they disagree (why says how). */
static int envdiff_check(const char *text, size_t len, char *why, size_t wn)
{
	struct envelope e;
	json_t *doc, *jid, *jparams;
	const char *jmethod, *jtok, *etok, *eids;
	const struct envelope_value *t;
	char ib[ENVELOPE_ID_BUF], *jids;
	size_t idn;
	int rc = envelope_parse(&e, text, len), out = 1;

	if (rc == PL_DECLINED || rc == PL_NOMEM)
		return 0;
	if (rc != 0)
		return envdiff_fail(why, wn, "envelope_parse returned an unknown code", NULL);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		envelope_release(&e);
		return envdiff_fail(why, wn, "the reader took a frame jansson refuses", NULL);
	}
	jid = json_object_get(doc, "id");
	jmethod = json_string_value(json_object_get(doc, "method"));
	jparams = json_object_get(doc, "params");
	/* The id: sent or not, and its text (COMPACT changes nothing for a scalar). */
	jids = jid ? json_dumps(jid, JSON_ENCODE_ANY) : NULL;
	eids = envelope_id_json(&e.id, ib, &idn);
	if (!jid != (e.id.kind == ENVELOPE_ABSENT) || (jid && !envdiff_value(&e.id, jid) && e.id.kind != ENVELOPE_STR) ||
	    strlen(jids ? jids : "null") != idn || memcmp(jids ? jids : "null", eids, idn)) {
		out = envdiff_fail(why, wn, "ids differ", jids);
		goto done;
	}
	if (!jmethod != (e.method.kind != ENVELOPE_STR) ||
	    (jmethod && (strcmp(jmethod, e.method.s) || strlen(e.method.s) != e.method.len))) {
		out = envdiff_fail(why, wn, "methods differ", jmethod);
		goto done;
	}
	if (!jparams != !e.has_params || (jparams && (!json_is_object(jparams) || json_object_size(jparams) != e.n))) {
		out = envdiff_fail(why, wn, "params differ", NULL);
		goto done;
	}
	for (size_t i = 0; i < e.n; i++) {
		if (!envdiff_value(&e.params[i].v, json_object_get(jparams, e.params[i].key))) {
			out = envdiff_fail(why, wn, "param values differ", e.params[i].key);
			goto done;
		}
	}
	jtok = json_string_value(json_object_get(jparams, "token"));
	t = envelope_param(&e, "token");
	etok = t && t->kind == ENVELOPE_STR ? t->s : NULL;
	if (!jtok != !etok || (jtok && strcmp(jtok, etok))) {
		out = envdiff_fail(why, wn, "tokens differ", NULL);
		goto done;
	}
	for (size_t i = 0; i < api_methods_count; i++) {
		if (envdiff_method(&api_methods[i], jparams, &e, why, wn) < 0) {
			out = -1;
			goto done;
		}
	}
done:
	free(jids);
	json_decref(doc);
	envelope_release(&e);
	return out;
}

#endif
