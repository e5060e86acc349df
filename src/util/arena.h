/*
 * arena.h — a bump allocator whose blocks all go at once (nginx's pools,
 * h2o's h2o_mem_pool_t).
 *
 * An arena hands out blocks from big chunks it mallocs; there is no free of
 * one block.  arena_reset ends every block at once and keeps the chunks
 * (up to ARENA_KEEP_BYTES of them) for the next round, so an arena that is
 * reset and filled again over and over stops calling malloc.  The writer
 * gives each group of calls one (store/writer.h, store_job.arena): the
 * blocks a call hands from the writer thread to the loop thread — an
 * update's body, the push list, the reply — cost no malloc on one thread
 * and free on the other (glibc's per-thread cache never gets a block
 * freed on another thread back: 240-390 instructions to allocate, 107-174
 * to free, against ~30 for a bump here).
 *
 * One thread at a time: the writer fills an arena, then the loop reads
 * what it holds and resets it; the hand-over between them is the caller's
 * (under the writer's lock).
 *
 * Under AddressSanitizer every block is followed by a poisoned gap and a
 * reset poisons all of the arena's chunks, so a read past a block or of a
 * block after the reset is reported as one of freed memory would be.
 */
#ifndef PL_UTIL_ARENA_H
#define PL_UTIL_ARENA_H

#include <stddef.h>

/* A chunk's usable bytes (a group of 512 private messages fills ~1.2 MiB:
 * ~2.3 KiB a message).  A block over a quarter of it gets a chunk of its
 * own, freed at the next reset. */
#define ARENA_CHUNK_BYTES (256 * 1024)
/* Chunks an arena keeps across a reset; the rest are freed then. */
#define ARENA_KEEP_BYTES (4 * 1024 * 1024)

struct arena_chunk;

struct pl_arena {
	struct arena_chunk *cur;   /* being filled; NULL before the first block */
	struct arena_chunk *used;  /* filled before cur, newest first */
	struct arena_chunk *spare; /* kept by a reset, not used since */
	struct pl_arena *next;     /* free for whoever keeps a list of arenas (writer.c) */
};

void arena_init(struct pl_arena *a);
/* n bytes aligned for any type, valid until the next arena_reset or
 * arena_release; NULL when memory is short (or n is 0). */
void *arena_alloc(struct pl_arena *a, size_t n);
/* Ends every block; keeps up to ARENA_KEEP_BYTES of chunks for reuse. */
void arena_reset(struct pl_arena *a);
/* Frees every chunk: the arena is as after arena_init. */
void arena_release(struct pl_arena *a);
/* Bytes of chunks the arena holds (used, in use and spare). */
size_t arena_bytes(const struct pl_arena *a);

#endif
