/*
 * hub.h — who is connected, and live delivery to them (docs/sync.md).
 *
 * The hub knows every WebSocket session: its user and which large chats it
 * follows.  After a write commits, hub_deliver() pushes its updates: a user
 * update to every session of that user, a chat update — encoded once into one
 * shared frame — to every session following the chat.  It also parks
 * getUpdates long-polls until their user has something new, batches channel
 * view counts, relays typing, and tracks presence.
 *
 * Threading: everything runs on the loop thread, except hub_online(), which
 * reader threads may call.
 *
 * Ownership: the hub owns struct hub_sess; the WebSocket glue in server.c
 * creates one per connection, references it while calls are in flight
 * (hub_sess_ref/unref) and tells the hub when the connection is gone.
 */
#ifndef PL_API_HUB_H
#define PL_API_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ws_conn;
struct upd_list;
struct hub;

/* One per WebSocket, for its whole life: kept small (72 bytes). */
struct hub_sess {
	struct ws_conn *conn;       /* NULL once the connection is gone */
	int64_t uid, sid;           /* 0 until authenticated; calls then authenticate by sid */
	char *token;                /* bearer token (owned) while the socket authenticates; NULL after */
	struct hub_sess *unext, *uprev;
	struct hub_sub **subs;      /* large chats followed */
	uint32_t nsubs, capsubs;
	int refs;
	unsigned char authing;      /* an auth call is running */
	char country[3];            /* the viewer's country ("" unknown): withheld content is chosen by it */
};

/* Called when a user's last session closes: persist last_seen. */
typedef void (*hub_offline_cb)(void *ctx, int64_t uid, int64_t when);

struct hub *hub_new(uv_loop_t *loop, hub_offline_cb offline, void *ctx);
/* Closes the view-batch timer; run the loop once more before hub_free. */
void hub_close(struct hub *h);
void hub_free(struct hub *h);

struct hub_sess *hub_sess_new(struct hub *h, struct ws_conn *c);
void hub_sess_ref(struct hub_sess *s);
void hub_sess_unref(struct hub *h, struct hub_sess *s);

/* What an auth call learned on a reader thread. */
struct hub_auth {
	int64_t uid, sid;
	int64_t *chats;             /* large chats the user is in (owned by caller) */
	size_t nchats;
	int64_t *contacts;          /* users sharing a private chat (owned by caller) */
	size_t ncontacts;
	int privacy;                /* enum store_privacy of last_seen */
	char country[3];            /* the account's country, else the IP table's; "" unknown */
};

/* Registers an authenticated session: follows its large chats, marks the
 * user online (pushing user_status to their contacts, privacy allowing). */
int hub_sess_auth(struct hub *h, struct hub_sess *s, const struct hub_auth *a);
/* The connection is gone: unregister (the struct lives on while referenced). */
void hub_sess_gone(struct hub *h, struct hub_sess *s);

/* Delivers the pushes of a committed call. */
void hub_deliver(struct hub *h, const struct upd_list *l);

/* A parked getUpdates long-poll: wake() runs (once) when uid has a new update. */
struct hub_waiter {
	int64_t uid;
	void (*wake)(struct hub_waiter *w);
	struct hub_waiter *next, *prev;
};
int hub_wait(struct hub *h, struct hub_waiter *w);
void hub_unwait(struct hub *h, struct hub_waiter *w);

/* Relays a typing indicator (never stored).  recipients: member ids of a small
 * chat (or the peer of a private chat); for a large chat pass none and
 * chat_id: its followers get it. */
struct hub_typing {
	int64_t chat_id;            /* internal id */
	int large;
	int private_chat;           /* recipients see chat_id = from */
	int64_t from;
	const char *action;
	const int64_t *recipients;
	size_t n;
};
void hub_typing(struct hub *h, const struct hub_typing *t);

/* Is uid connected now?  Any thread. */
int hub_online(struct hub *h, int64_t uid);
/* Sessions connected now. */
size_t hub_sessions(struct hub *h);

#endif
