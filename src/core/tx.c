/*
 * tx.c — what a call keeps for its own duration in its struct core_tx
 * (core.h): the users it renders, looked up once each instead of once per
 * message that names them, and the message it appended last (struct
 * core_fresh).  Freed by core_tx_release when the call ends.
 *
 * The cache is per call, so it only has to be right within one transaction:
 * a write call that changes a users row (core_profile_update, a suspension,
 * ...) forgets that user (core_user_forget) and renders it afresh.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* Slots of the first allocation: a message names two users (its sender and
 * a private chat's peer), and 3 slots (~1 KB) still come from malloc's
 * per-thread cache; a page of many authors grows it. */
#define USER_CACHE_FIRST 3

/* Leaves each cache empty by its own fields (what its readers test: users.n
 * and noted.id, memo.s, fresh.noted and valid), without clearing the 3.4
 * KiB of rows they hold: the next call overwrites what it uses. */
void core_tx_release(struct core_tx *tx)
{
	free(tx->users.v);
	tx->users.v = NULL;
	tx->users.n = tx->users.cap = 0;
	tx->users.noted.id = 0;
	free(tx->memo.s); /* memo.text with it */
	tx->memo.s = NULL;
	tx->memo.text = NULL;
	tx->memo.len = 0;
	core_fresh_forget(tx);
}

void core_tx_reuse(struct core_tx *tx)
{
	core_tx_release(tx);
	memset(tx, 0, offsetof(struct core_tx, users));
	tx->verdicts = NULL;
}

void core_fresh_forget(struct core_tx *tx)
{
	free(tx->fresh.m.text);
	tx->fresh.m.text = NULL;
	tx->fresh.noted = 0;
	tx->fresh.valid = 0;
	tx->fresh.no_files = 0;
}

int core_fresh_no_files(const struct core_tx *tx, const struct store_message *m)
{
	const struct core_fresh *f = &tx->fresh;

	return f->noted && f->no_files && f->m.id == m->id && f->m.chat_id == m->chat_id;
}

void core_fresh_note(struct core_tx *tx, const struct store_chat *c, const struct store_message *m)
{
	core_fresh_forget(tx);
	tx->fresh.m = *m;
	tx->fresh.m.views = 0;   /* what message_put stores: content fields only */
	tx->fresh.m.deleted = STORE_LIVE;
	tx->fresh.m.statement_id = 0;
	tx->fresh.m.text = NULL; /* the caller's until core_fresh_adopt */
	tx->fresh.chat = *c;
	tx->fresh.noted = 1;
}

void core_fresh_adopt(struct core_tx *tx, struct store_message *m)
{
	struct core_fresh *f = &tx->fresh;

	if (!f->noted || f->valid || f->m.id != m->id || f->m.chat_id != m->chat_id)
		return;
	f->m.text = m->text;
	m->text = NULL;
	f->valid = 1;
}

static struct core_user_slot *user_slot_find(struct core_user_cache *c, int64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return &c->v[i];
	return NULL;
}

/* The entry for id, the noted one included; NULL if none. */
static struct core_user_slot *user_slot_get(struct core_user_cache *c, int64_t id)
{
	if (id && c->noted.id == id)
		return &c->noted;
	return user_slot_find(c, id);
}

/* A free slot for a new entry, or NULL when the cache is full (or memory
 * is short): the caller then just does not cache. */
static struct core_user_slot *user_slot_add(struct core_user_cache *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : USER_CACHE_FIRST;
		struct core_user_slot *v;

		if (cap > CORE_USER_CACHE_MAX)
			cap = CORE_USER_CACHE_MAX;
		if (cap <= c->n || !(v = realloc(c->v, cap * sizeof *v)))
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	return &c->v[c->n++];
}

static void user_brief_copy(struct core_user_brief *b, const struct store_user *u)
{
	b->id = u->id;
	b->is_bot = u->is_bot;
	memcpy(b->username, u->username, sizeof b->username);
	memcpy(b->display_name, u->display_name, sizeof b->display_name);
}

int core_user_brief(struct core_tx *tx, int64_t id, struct core_user_brief *out)
{
	struct core_user_slot *slot = user_slot_get(&tx->users, id);
	struct store_user u;
	int rc;

	if (slot) {
		if (!slot->found)
			return PL_NOTFOUND;
		*out = slot->u;
		return 0;
	}
	rc = store_user_get(tx->s, id, &u);
	if (rc < 0 && rc != PL_NOTFOUND)
		return rc; /* a store failure is not remembered */
	if (rc == 0)
		user_brief_copy(out, &u);
	if ((slot = user_slot_add(&tx->users))) {
		slot->id = id;
		slot->found = rc == 0;
		if (rc == 0)
			slot->u = *out;
	}
	return rc;
}

void core_user_note(struct core_tx *tx, const struct store_user *u)
{
	struct core_user_slot *slot = user_slot_find(&tx->users, u->id);

	if (!slot)
		slot = &tx->users.noted;
	slot->id = u->id;
	slot->found = 1;
	user_brief_copy(&slot->u, u);
}

void core_user_forget(struct core_tx *tx, int64_t id)
{
	struct core_user_cache *c = &tx->users;
	struct core_user_slot *slot = user_slot_find(c, id);

	if (c->noted.id == id)
		c->noted.id = 0;
	if (slot)
		*slot = c->v[--c->n]; /* order does not matter */
}
