/* bus_local.c — the in-process bus: synchronous fan-out to subscribers on the
 * thread that publishes (parleyd's loop thread). */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "util/err.h"

#define BUS_LOCAL_SUBS_MAX 32

struct bus_local {
	struct bus base;
	struct {
		bus_event_cb cb;
		void *ctx;
	} subs[BUS_LOCAL_SUBS_MAX];
	size_t nsubs;
};

static void local_free(struct bus *b)
{
	free(b);
}

static int local_subscribe(struct bus *b, bus_event_cb cb, void *ctx)
{
	struct bus_local *l = (struct bus_local *)b;

	if (l->nsubs >= BUS_LOCAL_SUBS_MAX)
		return PL_TOOBIG;
	l->subs[l->nsubs].cb = cb;
	l->subs[l->nsubs].ctx = ctx;
	l->nsubs++;
	return 0;
}

static void local_publish(struct bus *b, const struct bus_event *ev, size_t n)
{
	struct bus_local *l = (struct bus_local *)b;

	for (size_t i = 0; i < l->nsubs; i++)
		l->subs[i].cb(l->subs[i].ctx, ev, n);
}

static const struct bus_ops local_ops = {1, "local", local_free, local_subscribe, local_publish};

struct bus *bus_local_new(void)
{
	struct bus_local *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->base.ops = &local_ops;
	return &l->base;
}

void bus_events_init(struct bus_events *e)
{
	e->v = e->inl;
	e->n = 0;
	e->cap = BUS_EVENTS_INLINE;
}

void bus_events_release(struct bus_events *e)
{
	if (e->v != e->inl)
		free(e->v);
	bus_events_init(e);
}

int bus_events_add(struct bus_events *e, int type, int64_t chat_id, int64_t msg_id, int64_t user_id,
		   int64_t value)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct bus_event *v;
		if (e->n >= BUS_EVENTS_MAX)
			return PL_TOOBIG;
		if (cap > BUS_EVENTS_MAX)
			cap = BUS_EVENTS_MAX;
		if (e->v == e->inl) {
			if ((v = malloc(cap * sizeof *v)))
				memcpy(v, e->inl, e->n * sizeof *v);
		} else {
			v = realloc(e->v, cap * sizeof *v);
		}
		if (!v)
			return PL_NOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct bus_event){type, chat_id, msg_id, user_id, value};
	return 0;
}
