/*
 * ratelimit.h — token buckets keyed by string (an IP, "login:alice",
 * "msg:42"), for the limits a stranger or a flooding client can hit.
 *
 * A table holds at most max_keys buckets; when it is full, buckets that have
 * refilled completely are forgotten first (they carry no information), then
 * the oldest.  Thread-safe: a mutex guards the table.
 */
#ifndef PL_UTIL_RATELIMIT_H
#define PL_UTIL_RATELIMIT_H

#include <stddef.h>

struct rl_table;

/* Returns NULL on allocation failure.  Free with rl_table_free(). */
struct rl_table *rl_table_new(size_t max_keys);
void rl_table_free(struct rl_table *t);

/* Takes one token from key's bucket, which refills at rate tokens per second
 * up to burst.  now is in seconds (monotonic).  Returns 0 when allowed, or
 * the whole number of seconds (>= 1) until a token is available. */
int rl_take(struct rl_table *t, const char *key, double rate, double burst, double now);

#endif
