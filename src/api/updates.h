/*
 * updates.h — turns a write call's committed-to-be events into update-log
 * rows and into the pushes that deliver them live (docs/sync.md).
 *
 * upd_write() runs on the writer thread inside the group transaction, right
 * after the call's handler succeeded, so an update is stored if and only if
 * its change is committed.  It renders each update's body once, stores it
 * once (store_payload_put), and appends it to every log that must carry it:
 * the per-user logs of the members of a private chat or small group (fan-out
 * on write), or the one per-chat log of a channel or large group.  A private
 * chat's two versions (they differ in the value naming the chat) are one
 * payload with a second view (store_payload_put_view).  The pushes it returns are handed to the hub on the loop thread after commit.
 *
 * Ownership: bodies are reference-counted (upd_body_ref/unref) and shared by
 * every push and frame built from them; a body is touched by one thread at a
 * time (writer, then loop), so the count needs no atomics.  Given an arena
 * (the writer's group arena, store_job.arena), upd_write takes the bodies,
 * the push list and the reply from it instead of malloc: they are made on
 * the writer and dropped on the loop, which glibc's per-thread caches serve
 * worst (~450 instructions a block).  Such a body is marked arena and its
 * last unref frees nothing; it and the list stay valid until the arena is
 * reset — after the group's done callbacks — so whatever keeps one longer
 * copies it (hub's frames copy the bodies they send).
 */
#ifndef PL_API_UPDATES_H
#define PL_API_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct core_tx;
struct bus_events;
struct pl_arena;

struct upd_body {
	int refs;
	int arena;             /* in an arena: the last unref frees nothing */
	size_t len;
	char s[];              /* NUL-terminated JSON */
};

void upd_body_ref(struct upd_body *b);
void upd_body_unref(struct upd_body *b);

enum upd_kind {
	UPD_USER = 1,          /* target = user id; stored in the user log at pts */
	UPD_CHAT = 2,          /* target = chat id; stored in the chat log at pts */
	UPD_VIEWS = 3,         /* ephemeral: target = chat id (client id in body), value = msg id, pts = views */
	UPD_SESSION_END = 4,   /* target = user id, pts = session id: close its connections */
	UPD_MEMBERSHIP = 5,    /* target = user id, value = chat id, pts = chat pts: (un)subscribe a large chat */
};

struct upd_push {
	int kind;
	int64_t target;
	int64_t pts;
	int64_t value;
	int64_t client_chat_id; /* UPD_CHAT: the chat id clients see; UPD_MEMBERSHIP: 1 join, 0 leave */
	struct upd_body *body;  /* UPD_USER / UPD_CHAT: owned reference */
	/* Content withheld in some territories (docs/policy.md): sessions in
	 * one of them get alt instead of body.  Both NULL for most updates. */
	struct upd_body *alt;          /* owned reference */
	struct upd_body *territories;  /* owned reference: "DE,FR" */
};

#define UPD_PUSHES_MAX 1000000

struct upd_list {
	struct upd_push *v;    /* malloc'd, or in arena */
	size_t n, cap;
	struct pl_arena *arena; /* borrowed: v grows in it (NULL: malloc) */
};

void upd_list_init(struct upd_list *l);
void upd_list_release(struct upd_list *l);

struct upd_config {
	int64_t large_group_threshold; /* groups with more members use a chat log */
};

/* Writes the update rows for events and appends the pushes to out.
 * result is the call's result or NULL (borrowed, not changed): when it is a
 * message the call stored, rendered for the caller, the caller's update
 * reuses it instead of rendering the message again, and *result_body (if
 * result_body is not NULL) gets a reference to that update's body, else
 * NULL; the caller releases it with upd_body_unref.  arena (borrowed, may
 * be NULL: malloc) holds the bodies made and, if out is empty, out's list
 * (above).  Returns 0 or a negative pl_err (then the call must be undone). */
int upd_write(struct core_tx *tx, const struct upd_config *cfg, const struct bus_events *events,
	      const json_t *result, struct pl_arena *arena, struct upd_list *out, struct upd_body **result_body);

/* The call's reply, {"ok":true,"result":M}, cut from a body upd_write
 * handed back (it embeds M as its "message"): byte for byte what
 * api_reply would write.  In arena if not NULL (valid until its reset),
 * else malloc'd and the caller frees it; NULL on failure. */
char *upd_reply_from_body(const struct upd_body *body, struct pl_arena *arena);

#endif
