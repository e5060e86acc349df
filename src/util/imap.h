/*
 * imap.h — a hash map from non-zero int64 keys to pointers (open addressing,
 * linear probing, backward-shift deletion).  Not thread-safe.  The map owns
 * only its table; values belong to the caller.
 */
#ifndef PL_UTIL_IMAP_H
#define PL_UTIL_IMAP_H

#include <stddef.h>
#include <stdint.h>

struct imap {
	int64_t *keys;   /* 0 = empty */
	void **vals;
	size_t cap, n;
};

void imap_init(struct imap *m);
void imap_release(struct imap *m);
void *imap_get(const struct imap *m, int64_t key);
/* Sets key to val.  Returns 0 or PL_NOMEM. */
int imap_put(struct imap *m, int64_t key, void *val);
/* Removes key; returns its value or NULL. */
void *imap_del(struct imap *m, int64_t key);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->keys && m->keys[i]) ... */

#endif
