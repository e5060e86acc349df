/* upload.c — the check chain every uploaded file passes (safety.h). */
#include <stdio.h>
#include <string.h>

#include "core/codes.h"
#include "safety/safety.h"
#include "util/err.h"

void safety_upload_chain_init(struct safety_upload_chain *c)
{
	memset(c, 0, sizeof(*c));
}

int safety_upload_chain_add(struct safety_upload_chain *c, const char *name, safety_upload_cb cb, void *ctx)
{
	if (c->n >= SAFETY_CHAIN_MAX)
		return PL_TOOBIG;
	c->checks[c->n].name = name;
	c->checks[c->n].cb = cb;
	c->checks[c->n].ctx = ctx;
	c->n++;
	return 0;
}

int safety_upload_chain_run(const struct safety_upload_chain *c, const struct safety_upload *u,
			    struct safety_result *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < c->n; i++) {
		int v = c->checks[i].cb(c->checks[i].ctx, u, r);

		if (v == SAFETY_DEFER)
			continue;
		snprintf(r->check, sizeof(r->check), "%s", c->checks[i].name);
		if (v == SAFETY_DENY && !r->code)
			r->code = PLC_FILE_REFUSED;
		return v == SAFETY_ALLOW ? SAFETY_ALLOW : SAFETY_DENY;
	}
	r->code = PLC_FILE_REFUSED;
	snprintf(r->check, sizeof(r->check), "default");
	snprintf(r->reason, sizeof(r->reason), "no check allowed this file");
	return SAFETY_DENY;
}

int safety_upload_allow(void *ctx, const struct safety_upload *u, struct safety_result *r)
{
	return SAFETY_ALLOW;
}
