/*
 * bus.h — carries committed events to whoever must see them.
 *
 * Core logic appends events to a per-call struct bus_events while it works
 * inside a transaction; the API layer publishes them on the bus only after
 * the transaction committed, so nothing is ever announced that could still
 * roll back.  The bus is a table of function pointers (like the store): the
 * local backend (bus_local.c) dispatches in-process on the loop thread; a
 * NATS backend will carry events between nodes.
 *
 * Ownership: bus_publish() borrows the events; subscribers must copy what
 * they keep.
 */
#ifndef PL_BUS_BUS_H
#define PL_BUS_BUS_H

#include <stddef.h>
#include <stdint.h>

enum bus_event_type {
	BUS_MESSAGE_NEW = 1,    /* chat_id, msg_id, user_id = sender */
	BUS_MESSAGE_EDIT,       /* chat_id, msg_id, user_id = editor */
	BUS_MESSAGE_DELETE,     /* chat_id, msg_id; user_id = 0 for everyone, else only for that user */
	BUS_READ,               /* chat_id, user_id read up to value */
	BUS_MEMBER,             /* chat_id, user_id, value = new enum store_role */
	BUS_CHAT,               /* chat_id: title, description, permissions, username or pin changed */
	BUS_VIEWS,              /* chat_id, msg_id, value = view count */
	BUS_SESSION_END,        /* user_id, value = session id: revoked or logged out */
};

struct bus_event {
	int type;               /* enum bus_event_type */
	int64_t chat_id;
	int64_t msg_id;
	int64_t user_id;
	int64_t value;
};

/* Events collected by one call; at most BUS_EVENTS_MAX. */
#define BUS_EVENTS_MAX 4096

/* A call's first BUS_EVENTS_INLINE events live in the struct itself: most
 * calls make one (a message), and the writer that fills the list and the
 * loop that frees it are different threads, so an allocation here costs
 * both a slow path of malloc's.  v points at inl until the list outgrows
 * it, so the struct must not be copied once an event was added.  A zeroed
 * struct is an empty list too. */
#define BUS_EVENTS_INLINE 2
struct bus_events {
	struct bus_event *v;   /* inl, NULL, or malloc'd (freed by bus_events_release) */
	size_t n, cap;
	struct bus_event inl[BUS_EVENTS_INLINE];
};

void bus_events_init(struct bus_events *e);
void bus_events_release(struct bus_events *e);
/* Appends one event.  Returns 0, PL_NOMEM or PL_TOOBIG. */
int bus_events_add(struct bus_events *e, int type, int64_t chat_id, int64_t msg_id, int64_t user_id,
		   int64_t value);

typedef void (*bus_event_cb)(void *ctx, const struct bus_event *ev, size_t n);

struct bus;

struct bus_ops {
	int version;
	const char *name;
	void (*free)(struct bus *b);
	int (*subscribe)(struct bus *b, bus_event_cb cb, void *ctx);
	void (*publish)(struct bus *b, const struct bus_event *ev, size_t n);
};

struct bus {
	const struct bus_ops *ops;
};

/* The in-process bus.  NULL on allocation failure. */
struct bus *bus_local_new(void);

static inline void bus_free(struct bus *b) { if (b) b->ops->free(b); }
static inline int bus_subscribe(struct bus *b, bus_event_cb cb, void *ctx) { return b->ops->subscribe(b, cb, ctx); }
static inline void bus_publish(struct bus *b, const struct bus_event *ev, size_t n) { b->ops->publish(b, ev, n); }

#endif
