/* reply.c — the reply envelope, built in one place from the code table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/core.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/textbuf.h"

char *api_error_json(int code, const char *detail, int retry_after)
{
	char desc[512];
	json_t *j;
	char *out;

	if (code == PLC_FLOOD_WAIT)
		snprintf(desc, sizeof desc, "FLOOD_WAIT_%d: %s", retry_after > 0 ? retry_after : 1,
			 detail && *detail ? detail : pl_code_message(code));
	else
		snprintf(desc, sizeof desc, "%s: %s", pl_code_name(code), detail && *detail ? detail : pl_code_message(code));
	j = json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", pl_code_status(code), "description", desc);
	if (!j)
		return NULL;
	if (code == PLC_FLOOD_WAIT)
		json_object_set_new(j, "parameters", json_pack("{s:i}", "retry_after", retry_after > 0 ? retry_after : 1));
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

#define REPLY_OK_HEAD "{\"ok\":true,\"result\":"

/* {"ok":true,"result":<text>}: the same bytes json_dumps gives for a tree.
 * In arena, or malloc'd when arena is NULL. */
static char *reply_ok_text(const char *text, size_t len, struct pl_arena *arena)
{
	size_t head = sizeof REPLY_OK_HEAD - 1;
	char *out = arena ? arena_alloc(arena, head + len + 2) : malloc(head + len + 2);

	if (!out)
		return NULL;
	memcpy(out, REPLY_OK_HEAD, head);
	memcpy(out + head, text, len);
	out[head + len] = '}';
	out[head + len + 1] = '\0';
	return out;
}

void api_result_clear(struct api_call *call)
{
	json_decref(call->result);
	call->result = NULL;
	if (!call->result_text_arena)
		free(call->result_text);
	call->result_text = NULL;
	call->result_text_arena = 0;
	call->result_len = 0;
}

int api_result_text_take(struct api_call *call, struct textbuf *t)
{
	char *s;

	if (!call->arena) {
		call->result_text = textbuf_steal(t, &call->result_len);
		return call->result_text ? 0 : PL_NOMEM;
	}
	if (t->err || !t->s || !(s = arena_alloc(call->arena, t->len + 1))) {
		textbuf_release(t);
		return PL_NOMEM;
	}
	memcpy(s, t->s, t->len + 1);
	if (!call->result_text_arena)
		free(call->result_text);
	call->result_text = s;
	call->result_len = t->len;
	call->result_text_arena = 1;
	textbuf_release(t);
	return 0;
}

char *api_reply_in(struct api_call *call, int *status, struct pl_arena *arena, int *in_arena)
{
	char *out;

	*in_arena = 0;
	if (arena && !call->code && call->result_text &&
	    (out = reply_ok_text(call->result_text, call->result_len, arena))) {
		*status = 200;
		*in_arena = 1;
		return out;
	}
	return api_reply(call, status);
}

char *api_reply(struct api_call *call, int *status)
{
	int code = call->code;
	const char *detail = call->detail;
	int retry = call->retry_after;
	char *out;

	if (!code && call->result_text) {
		*status = 200;
		if ((out = reply_ok_text(call->result_text, call->result_len, NULL)))
			return out;
		code = PLC_INTERNAL;
		detail = "out of memory";
	} else if (!code && call->result) {
		json_t *j = json_pack("{s:b, s:O}", "ok", 1, "result", call->result);
		out = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		*status = 200;
		if (out)
			return out;
		code = PLC_INTERNAL;
		detail = "out of memory";
	}
	if (!code && call->tx && call->tx->code) {
		code = call->tx->code;
		detail = call->tx->detail;
		retry = call->tx->retry_after;
	}
	if (!code) {
		code = PLC_INTERNAL;
		detail = "the call produced no result";
	}
	*status = pl_code_status(code);
	return api_error_json(code, detail, retry);
}
