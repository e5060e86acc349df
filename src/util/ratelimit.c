/* ratelimit.c — a bounded open-addressing table of token buckets. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ratelimit.h"

#define RL_KEY_MAX 96

struct rl_bucket {
	char key[RL_KEY_MAX];   /* "" = free slot */
	double tokens;
	double stamp;           /* last refill, seconds */
	double burst;
};

struct rl_table {
	pthread_mutex_t mu;
	size_t cap;             /* slots: twice max_keys, a power of two */
	size_t used;
	size_t max_keys;
	struct rl_bucket *slots;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct rl_table *rl_table_new(size_t max_keys)
{
	struct rl_table *t = calloc(1, sizeof *t);
	size_t cap = 16;

	if (!t)
		return NULL;
	while (cap < max_keys * 2)
		cap <<= 1;
	t->slots = calloc(cap, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	t->max_keys = max_keys;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void rl_table_free(struct rl_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t->slots);
	free(t);
}

/* Rebuilds the table keeping only buckets that are not yet full again.
 * Called when the table holds max_keys buckets. */
static void rl_compact(struct rl_table *t, double now, double rate)
{
	struct rl_bucket *old = t->slots;
	struct rl_bucket *fresh = calloc(t->cap, sizeof *fresh);

	if (!fresh) {
		memset(t->slots, 0, t->cap * sizeof *t->slots);
		t->used = 0;
		return;
	}
	t->slots = fresh;
	t->used = 0;
	for (size_t i = 0; i < t->cap; i++) {
		struct rl_bucket *b = &old[i];
		if (!b->key[0] || b->tokens + (now - b->stamp) * rate >= b->burst)
			continue;
		if (t->used >= t->max_keys / 2)
			break; /* keep at most half: the rest are the oldest-looking */
		size_t j = hash_key(b->key) & (t->cap - 1);
		while (fresh[j].key[0])
			j = (j + 1) & (t->cap - 1);
		fresh[j] = *b;
		t->used++;
	}
	free(old);
}

static struct rl_bucket *rl_lookup(struct rl_table *t, const char *key, double burst, double now)
{
	size_t j = hash_key(key) & (t->cap - 1);

	while (t->slots[j].key[0]) {
		if (strcmp(t->slots[j].key, key) == 0)
			return &t->slots[j];
		j = (j + 1) & (t->cap - 1);
	}
	snprintf(t->slots[j].key, RL_KEY_MAX, "%s", key);
	t->slots[j].tokens = burst;
	t->slots[j].stamp = now;
	t->slots[j].burst = burst;
	t->used++;
	return &t->slots[j];
}

int rl_take(struct rl_table *t, const char *key, double rate, double burst, double now)
{
	struct rl_bucket *b;
	int wait = 0;

	pthread_mutex_lock(&t->mu);
	if (t->used >= t->max_keys)
		rl_compact(t, now, rate);
	b = rl_lookup(t, key, burst, now);
	b->tokens += (now - b->stamp) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->stamp = now;
	b->burst = burst;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)ceil((1.0 - b->tokens) / rate);
	pthread_mutex_unlock(&t->mu);
	return wait < 0 ? 1 : wait;
}
