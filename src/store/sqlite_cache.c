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
 * dropping everything is one increment.  Memory: five calloc'd blocks,
 * about 3.8 MiB in all, made at the handle's first use of it in a write
 * transaction (the writer's; the checkpointer's handle never makes one),
 * touched only where entries land.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite_int.h"

#define SQ_CACHE_INTS 8192    /* slots for counters, blocks and "no restrictions" */
#define SQ_CACHE_MEMBERS 2048 /* slots for members rows */
#define SQ_CACHE_USERS 1024   /* slots for users rows (~1.5 KiB each) */
#define SQ_CACHE_CHATS 1024   /* slots for chats rows (~1.4 KiB each) */
#define SQ_CACHE_SESSIONS 1024 /* slots for sessions rows (~250 bytes each) */

struct sq_cache_int {
	uint32_t gen;
	int kind;
	int64_t a, b, v;
};

/* A table of rows of one type: slot i's key in keys[i], its row at
 * rows + i * size.  The key is (a, b): (chat, user) for members, (id, 0)
 * for users and chats. */
struct sq_cache_key {
	uint32_t gen;
	int64_t a, b;
};

struct sq_cache_rows {
	int tag;       /* mixed into the hash: tables do not share slot patterns */
	size_t n;      /* slots */
	size_t size;   /* bytes per row */
	struct sq_cache_key *keys;
	unsigned char *rows;
};

struct sq_cache {
	uint32_t gen; /* entries of another generation are empty; never 0 */
	struct sq_cache_int ints[SQ_CACHE_INTS];
	struct sq_cache_rows members, users, chats, sessions;
};

static int sq_rows_init(struct sq_cache_rows *t, int tag, size_t n, size_t size)
{
	t->tag = tag;
	t->n = n;
	t->size = size;
	t->keys = calloc(n, sizeof(*t->keys));
	t->rows = calloc(n, size);
	return t->keys && t->rows ? 0 : -1;
}

static void sq_rows_free(struct sq_cache_rows *t)
{
	free(t->keys);
	free(t->rows);
}

void sq_cache_free(struct sq_cache *c)
{
	if (!c)
		return;
	sq_rows_free(&c->members);
	sq_rows_free(&c->users);
	sq_rows_free(&c->chats);
	sq_rows_free(&c->sessions);
	free(c);
}

struct sq_cache *sq_cache_new(void)
{
	struct sq_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->gen = 1;
	if (sq_rows_init(&c->members, -1, SQ_CACHE_MEMBERS, sizeof(struct store_member)) < 0 ||
	    sq_rows_init(&c->users, -2, SQ_CACHE_USERS, sizeof(struct store_user)) < 0 ||
	    sq_rows_init(&c->chats, -3, SQ_CACHE_CHATS, sizeof(struct store_chat)) < 0 ||
	    sq_rows_init(&c->sessions, -4, SQ_CACHE_SESSIONS, sizeof(struct store_session)) < 0)
		goto fail;
	return c;
fail:
	sq_cache_free(c);
	return NULL;
}

void sq_cache_clear(struct sq_cache *c)
{
	if (!c)
		return;
	if (++c->gen == 0) { /* wrapped: old entries could look valid again */
		memset(c->ints, 0, sizeof(c->ints));
		memset(c->members.keys, 0, c->members.n * sizeof(*c->members.keys));
		memset(c->users.keys, 0, c->users.n * sizeof(*c->users.keys));
		memset(c->chats.keys, 0, c->chats.n * sizeof(*c->chats.keys));
		memset(c->sessions.keys, 0, c->sessions.n * sizeof(*c->sessions.keys));
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

/* The live row of key (a, b) in t, or NULL. */
static void *sq_rows_find(const struct sq_cache *c, const struct sq_cache_rows *t, int64_t a, int64_t b)
{
	size_t i;

	if (!c)
		return NULL;
	i = sq_cache_hash(t->tag, a, b, t->n);
	if (t->keys[i].gen != c->gen || t->keys[i].a != a || t->keys[i].b != b)
		return NULL;
	return t->rows + i * t->size;
}

static int sq_rows_get(const struct sq_cache *c, const struct sq_cache_rows *t, int64_t a, int64_t b, void *out)
{
	const void *row = sq_rows_find(c, t, a, b);

	if (!row)
		return 0;
	memcpy(out, row, t->size);
	return 1;
}

static void sq_rows_put(const struct sq_cache *c, struct sq_cache_rows *t, int64_t a, int64_t b, const void *row)
{
	size_t i;

	if (!c)
		return;
	i = sq_cache_hash(t->tag, a, b, t->n);
	t->keys[i].gen = c->gen;
	t->keys[i].a = a;
	t->keys[i].b = b;
	memcpy(t->rows + i * t->size, row, t->size);
}

static void sq_rows_drop(const struct sq_cache *c, struct sq_cache_rows *t, int64_t a, int64_t b)
{
	size_t i;

	if (!c)
		return;
	i = sq_cache_hash(t->tag, a, b, t->n);
	if (t->keys[i].a == a && t->keys[i].b == b)
		t->keys[i].gen = 0;
}

int sq_cache_member_get(struct sq_cache *c, int64_t chat_id, int64_t user_id, struct store_member *out)
{
	return sq_rows_get(c, c ? &c->members : NULL, chat_id, user_id, out);
}

void sq_cache_member_put(struct sq_cache *c, const struct store_member *m)
{
	sq_rows_put(c, c ? &c->members : NULL, m->chat_id, m->user_id, m);
}

void sq_cache_member_drop(struct sq_cache *c, int64_t chat_id, int64_t user_id)
{
	sq_rows_drop(c, c ? &c->members : NULL, chat_id, user_id);
}

int sq_cache_user_get(struct sq_cache *c, int64_t id, struct store_user *out)
{
	return sq_rows_get(c, c ? &c->users : NULL, id, 0, out);
}

void sq_cache_user_put(struct sq_cache *c, const struct store_user *u)
{
	sq_rows_put(c, c ? &c->users : NULL, u->id, 0, u);
}

void sq_cache_user_drop(struct sq_cache *c, int64_t id)
{
	sq_rows_drop(c, c ? &c->users : NULL, id, 0);
}

int sq_cache_chat_get(struct sq_cache *c, int64_t id, struct store_chat *out)
{
	return sq_rows_get(c, c ? &c->chats : NULL, id, 0, out);
}

void sq_cache_chat_put(struct sq_cache *c, const struct store_chat *chat)
{
	sq_rows_put(c, c ? &c->chats : NULL, chat->id, 0, chat);
}

void sq_cache_chat_drop(struct sq_cache *c, int64_t id)
{
	sq_rows_drop(c, c ? &c->chats : NULL, id, 0);
}

void sq_cache_chat_advance(struct sq_cache *c, int64_t id, int64_t last_msg_id, int64_t last_date)
{
	struct store_chat *chat = sq_rows_find(c, c ? &c->chats : NULL, id, 0);

	if (chat) {
		chat->last_msg_id = last_msg_id;
		chat->last_date = last_date;
	}
}

int sq_cache_session_get(struct sq_cache *c, int64_t id, struct store_session *out)
{
	return sq_rows_get(c, c ? &c->sessions : NULL, id, 0, out);
}

void sq_cache_session_put(struct sq_cache *c, const struct store_session *ss)
{
	sq_rows_put(c, c ? &c->sessions : NULL, ss->id, 0, ss);
}

void sq_cache_session_drop(struct sq_cache *c, int64_t id)
{
	sq_rows_drop(c, c ? &c->sessions : NULL, id, 0);
}

int sq_cache_chat_last(struct sq_cache *c, int64_t id, int64_t *out)
{
	const struct store_chat *chat = sq_rows_find(c, c ? &c->chats : NULL, id, 0);

	if (!chat)
		return 0;
	*out = chat->last_msg_id;
	return 1;
}
