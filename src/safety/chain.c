/* chain.c — the safety check chain and its built-in checks. */
#include <stdio.h>
#include <string.h>

#include "core/codes.h"
#include "safety/safety.h"
#include "util/err.h"
#include "util/ratelimit.h"
#include "util/textbuf.h"

#define FLOOD_KEYS_MAX 100000

void safety_chain_init(struct safety_chain *c)
{
	memset(c, 0, sizeof *c);
}

int safety_chain_add(struct safety_chain *c, const char *name, safety_check_cb cb, void *ctx)
{
	if (c->n >= SAFETY_CHAIN_MAX)
		return PL_TOOBIG;
	c->checks[c->n].name = name;
	c->checks[c->n].cb = cb;
	c->checks[c->n].ctx = ctx;
	c->n++;
	return 0;
}

/* snprintf(out, size, "%s", name) without the format's cost: it runs for
 * every message. */
static void name_copy(char *out, size_t size, const char *name)
{
	size_t n = strnlen(name, size - 1);

	memcpy(out, name, n);
	out[n] = '\0';
}

int safety_chain_run(const struct safety_chain *c, const struct safety_msg *m, struct safety_result *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < c->n; i++) {
		int v = c->checks[i].cb(c->checks[i].ctx, m, r);
		if (v == SAFETY_DEFER)
			continue;
		name_copy(r->check, sizeof r->check, c->checks[i].name);
		if (v == SAFETY_DENY && !r->code)
			r->code = PLC_CHAT_WRITE_FORBIDDEN;
		return v == SAFETY_ALLOW ? SAFETY_ALLOW : SAFETY_DENY;
	}
	r->code = PLC_CHAT_WRITE_FORBIDDEN;
	snprintf(r->check, sizeof r->check, "default");
	snprintf(r->reason, sizeof r->reason, "no check allowed this message");
	return SAFETY_DENY;
}

int safety_flood_init(struct safety_flood *f, double rate, double burst)
{
	f->buckets = rl_table_new(FLOOD_KEYS_MAX);
	f->rate = rate;
	f->burst = burst;
	return f->buckets ? 0 : PL_NOMEM;
}

void safety_flood_release(struct safety_flood *f)
{
	rl_table_free(f->buckets);
	f->buckets = NULL;
}

int safety_flood_check(void *ctx, const struct safety_msg *m, struct safety_result *r)
{
	struct safety_flood *f = ctx;
	char key[40];
	int wait;

	memcpy(key, "msg:", 4);
	textbuf_fmt_i64(key + 4, m->user_id); /* "msg:%lld", as snprintf would */
	wait = rl_take(f->buckets, key, f->rate, f->burst, m->now);
	if (!wait)
		return SAFETY_DEFER;
	r->code = PLC_FLOOD_WAIT;
	r->retry_after = wait;
	snprintf(r->reason, sizeof r->reason, "more than %g messages per second", f->rate);
	return SAFETY_DENY;
}

int safety_allow_check(void *ctx, const struct safety_msg *m, struct safety_result *r)
{
	return SAFETY_ALLOW;
}
