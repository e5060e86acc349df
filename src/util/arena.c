/* arena.c — a bump allocator whose blocks all go at once (arena.h). */
#include <stdint.h>
#include <stdlib.h>

#include "util/arena.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define GAP 16 /* poisoned bytes after each block */
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define GAP 0
#endif

/* Blocks are aligned to this (max_align_t's alignment on x86-64 and arm64). */
#define ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap, used;  /* bytes of mem */
};

/* The chunk's header rounded up to ALIGN: mem starts there. */
#define HDR ((sizeof(struct arena_chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static char *chunk_mem(struct arena_chunk *c)
{
	return (char *)c + HDR;
}

void arena_init(struct pl_arena *a)
{
	a->cur = a->used = a->spare = NULL;
	a->next = NULL;
}

static struct arena_chunk *chunk_new(size_t cap)
{
	struct arena_chunk *c = malloc(HDR + cap);

	if (!c)
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	POISON(chunk_mem(c), cap);
	return c;
}

void *arena_alloc(struct pl_arena *a, size_t n)
{
	struct arena_chunk *c = a->cur;
	size_t need;
	char *p;

	if (n == 0 || n > SIZE_MAX / 2)
		return NULL;
	need = (n + GAP + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (!c || c->cap - c->used < need) {
		if (need > ARENA_CHUNK_BYTES / 4) { /* a chunk of its own, behind cur */
			if (!(c = chunk_new(need)))
				return NULL;
			c->used = need;
			c->next = a->used;
			a->used = c;
			UNPOISON(chunk_mem(c), n);
			return chunk_mem(c);
		}
		if (a->spare) {
			c = a->spare;
			a->spare = c->next;
			c->next = NULL;
		} else if (!(c = chunk_new(ARENA_CHUNK_BYTES))) {
			return NULL;
		}
		if (a->cur) {
			a->cur->next = a->used;
			a->used = a->cur;
		}
		a->cur = c;
	}
	p = chunk_mem(c) + c->used;
	c->used += need;
	UNPOISON(p, n);
	return p;
}

void arena_reset(struct pl_arena *a)
{
	struct arena_chunk *c = a->cur, *next;
	size_t kept = 0;

	for (struct arena_chunk *s = a->spare; s; s = s->next)
		kept += s->cap;
	if (c)
		c->next = a->used;
	a->cur = a->used = NULL;
	for (; c; c = next) {
		next = c->next;
		if (c->cap != ARENA_CHUNK_BYTES || kept + c->cap > ARENA_KEEP_BYTES) {
			free(c);
			continue;
		}
		POISON(chunk_mem(c), c->used);
		c->used = 0;
		c->next = a->spare;
		a->spare = c;
		kept += c->cap;
	}
}

void arena_release(struct pl_arena *a)
{
	struct arena_chunk *c, *next;

	arena_reset(a);
	for (c = a->spare; c; c = next) {
		next = c->next;
		free(c);
	}
	a->spare = NULL;
}

size_t arena_bytes(const struct pl_arena *a)
{
	size_t n = 0;

	for (const struct arena_chunk *c = a->cur; c; c = c->next)
		n += c->cap;
	for (const struct arena_chunk *c = a->used; c; c = c->next)
		n += c->cap;
	for (const struct arena_chunk *c = a->spare; c; c = c->next)
		n += c->cap;
	return n;
}
