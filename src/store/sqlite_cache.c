/*
 * sqlite_cache.c — the writer handle's cache of rows it reads for every
 * message (the contract is in store_sqlite_int.h, "the row cache").
 *
 * The writer is the only writer of the tables cached here, so what it read
 * stays true until it writes the row itself.  Every op that writes a cached
 * row drops its entry first (store_sqlite.c, sqlite_safety.c); a rollback
 * or an undo drops everything (store_sqlite.c: sq_txn_reset, sq_undo); and
 * a commit by anyone else (PRAGMA data_version moved) drops everything too.
 *
 * Tables are direct-mapped: a key has one slot, and a newer key evicts an
 * older one.  An entry is valid while its generation is the cache's, so
 * dropping everything is one increment.  Memory: one calloc'd block of
 * about 3.5 MiB per writable handle, touched only where entries land.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite_int.h"

#define SQ_CACHE_INTS 8192    /* slots for counters, blocks and "no restrictions" */
#define SQ_CACHE_MEMBERS 2048 /* slots for members rows */
#define SQ_CACHE_USERS 1024   /* slots for users rows (~1.5 KiB each) */
#define SQ_CACHE_CHATS 1024   /* slots for chats rows (~1.4 KiB each) */

struct sq_cache_int {
	uint32_t gen;
	int kind;
	int64_t a, b, v;
};

struct sq_cache_member {
	uint32_t gen;
	struct store_member m;
};

struct sq_cache_user {
	uint32_t gen;
	struct store_user u;
};

struct sq_cache_chat {
	uint32_t gen;
	struct store_chat c;
};

struct sq_cache {
	uint32_t gen; /* entries of another generation are empty; never 0 */
	struct sq_cache_int ints[SQ_CACHE_INTS];
	struct sq_cache_member members[SQ_CACHE_MEMBERS];
	struct sq_cache_user users[SQ_CACHE_USERS];
	struct sq_cache_chat chats[SQ_CACHE_CHATS];
};

struct sq_cache *sq_cache_new(void)
{
	struct sq_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->gen = 1;
	return c;
}

void sq_cache_free(struct sq_cache *c)
{
	free(c);
}

void sq_cache_clear(struct sq_cache *c)
{
	if (!c)
		return;
	if (++c->gen == 0) { /* wrapped: old entries could look valid again */
		memset(c->ints, 0, sizeof(c->ints));
		memset(c->members, 0, sizeof(c->members));
		memset(c->users, 0, sizeof(c->users));
		memset(c->chats, 0, sizeof(c->chats));
		c->gen = 1;
	}
}

static size_t sq_cache_hash(int64_t kind, int64_t a, int64_t b, size_t n)
{
	uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15u ^ (uint64_t)b * 0xC2B2AE3D27D4EB4Fu ^ (uint64_t)kind;

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9u;
	h ^= h >> 32;
	return (size_t)(h % n);
}

static struct sq_cache_int *sq_cache_int_slot(struct sq_cache *c, int kind, int64_t a, int64_t b)
{
	return &c->ints[sq_cache_hash(kind, a, b, SQ_CACHE_INTS)];
}

int sq_cache_int_get(struct sq_cache *c, int kind, int64_t a, int64_t b, int64_t *v)
{
	const struct sq_cache_int *e;

	if (!c)
		return 0;
	e = sq_cache_int_slot(c, kind, a, b);
	if (e->gen != c->gen || e->kind != kind || e->a != a || e->b != b)
		return 0;
	*v = e->v;
	return 1;
}

void sq_cache_int_put(struct sq_cache *c, int kind, int64_t a, int64_t b, int64_t v)
{
	struct sq_cache_int *e;

	if (!c)
		return;
	e = sq_cache_int_slot(c, kind, a, b);
	e->gen = c->gen;
	e->kind = kind;
	e->a = a;
	e->b = b;
	e->v = v;
}

void sq_cache_int_drop(struct sq_cache *c, int kind, int64_t a, int64_t b)
{
	struct sq_cache_int *e;

	if (!c)
		return;
	e = sq_cache_int_slot(c, kind, a, b);
	if (e->kind == kind && e->a == a && e->b == b)
		e->gen = 0;
}

static struct sq_cache_member *sq_cache_member_slot(struct sq_cache *c, int64_t chat_id, int64_t user_id)
{
	return &c->members[sq_cache_hash(-1, chat_id, user_id, SQ_CACHE_MEMBERS)];
}

int sq_cache_member_get(struct sq_cache *c, int64_t chat_id, int64_t user_id, struct store_member *out)
{
	const struct sq_cache_member *e;

	if (!c)
		return 0;
	e = sq_cache_member_slot(c, chat_id, user_id);
	if (e->gen != c->gen || e->m.chat_id != chat_id || e->m.user_id != user_id)
		return 0;
	*out = e->m;
	return 1;
}

void sq_cache_member_put(struct sq_cache *c, const struct store_member *m)
{
	struct sq_cache_member *e;

	if (!c)
		return;
	e = sq_cache_member_slot(c, m->chat_id, m->user_id);
	e->gen = c->gen;
	e->m = *m;
}

void sq_cache_member_drop(struct sq_cache *c, int64_t chat_id, int64_t user_id)
{
	struct sq_cache_member *e;

	if (!c)
		return;
	e = sq_cache_member_slot(c, chat_id, user_id);
	if (e->m.chat_id == chat_id && e->m.user_id == user_id)
		e->gen = 0;
}

static struct sq_cache_user *sq_cache_user_slot(struct sq_cache *c, int64_t id)
{
	return &c->users[sq_cache_hash(-2, id, 0, SQ_CACHE_USERS)];
}

int sq_cache_user_get(struct sq_cache *c, int64_t id, struct store_user *out)
{
	const struct sq_cache_user *e;

	if (!c)
		return 0;
	e = sq_cache_user_slot(c, id);
	if (e->gen != c->gen || e->u.id != id)
		return 0;
	*out = e->u;
	return 1;
}

void sq_cache_user_put(struct sq_cache *c, const struct store_user *u)
{
	struct sq_cache_user *e;

	if (!c)
		return;
	e = sq_cache_user_slot(c, u->id);
	e->gen = c->gen;
	e->u = *u;
}

void sq_cache_user_drop(struct sq_cache *c, int64_t id)
{
	struct sq_cache_user *e;

	if (!c)
		return;
	e = sq_cache_user_slot(c, id);
	if (e->u.id == id)
		e->gen = 0;
}

static struct sq_cache_chat *sq_cache_chat_slot(struct sq_cache *c, int64_t id)
{
	return &c->chats[sq_cache_hash(-3, id, 0, SQ_CACHE_CHATS)];
}

int sq_cache_chat_get(struct sq_cache *c, int64_t id, struct store_chat *out)
{
	const struct sq_cache_chat *e;

	if (!c)
		return 0;
	e = sq_cache_chat_slot(c, id);
	if (e->gen != c->gen || e->c.id != id)
		return 0;
	*out = e->c;
	return 1;
}

void sq_cache_chat_put(struct sq_cache *c, const struct store_chat *chat)
{
	struct sq_cache_chat *e;

	if (!c)
		return;
	e = sq_cache_chat_slot(c, chat->id);
	e->gen = c->gen;
	e->c = *chat;
}

void sq_cache_chat_drop(struct sq_cache *c, int64_t id)
{
	struct sq_cache_chat *e;

	if (!c)
		return;
	e = sq_cache_chat_slot(c, id);
	if (e->c.id == id)
		e->gen = 0;
}

void sq_cache_chat_advance(struct sq_cache *c, int64_t id, int64_t last_msg_id, int64_t last_date)
{
	struct sq_cache_chat *e;

	if (!c)
		return;
	e = sq_cache_chat_slot(c, id);
	if (e->gen == c->gen && e->c.id == id) {
		e->c.last_msg_id = last_msg_id;
		e->c.last_date = last_date;
	}
}
