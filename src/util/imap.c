/* imap.c — int64 -> pointer hash map (see imap.h). */
#include <stdlib.h>

#include "util/err.h"
#include "util/imap.h"

static size_t slot(const struct imap *m, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 17) & (m->cap - 1);
}

void imap_init(struct imap *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

void imap_release(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	imap_init(m);
}

void *imap_get(const struct imap *m, int64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int grow(struct imap *m)
{
	struct imap big;

	big.cap = m->cap ? m->cap * 2 : 16;
	big.n = 0;
	big.keys = calloc(big.cap, sizeof *big.keys);
	big.vals = calloc(big.cap, sizeof *big.vals);
	if (!big.keys || !big.vals) {
		free(big.keys);
		free(big.vals);
		return PL_NOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			(void)imap_put(&big, m->keys[i], m->vals[i]);
	imap_release(m);
	*m = big;
	return 0;
}

int imap_put(struct imap *m, int64_t key, void *val)
{
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return PL_NOMEM;
	for (i = slot(m, key); m->keys[i] && m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

void *imap_del(struct imap *m, int64_t key)
{
	size_t i, j;
	void *val;

	if (!m->cap)
		return NULL;
	for (i = slot(m, key); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		if (!m->keys[i])
			return NULL;
	val = m->vals[i];
	m->keys[i] = 0;
	m->n--;
	/* backward shift: move later entries of the run into the hole */
	for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot(m, m->keys[j]);
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
	return val;
}
