/*
 * metrics.h — counters behind GET /metrics (Prometheus text format 0.0.4).
 * Updated and read on the loop thread only.
 */
#ifndef PL_API_METRICS_H
#define PL_API_METRICS_H

#include <stddef.h>

#define METRICS_STATUSES 16
#define METRICS_BUCKETS 14

struct api_metrics {
	size_t nmethods;                 /* api_methods_count; row nmethods = non-API paths */
	unsigned long long *requests;    /* [(nmethods + 1) * METRICS_STATUSES] */
	unsigned long long buckets[METRICS_BUCKETS + 1]; /* last = +Inf */
	double latency_sum;
	unsigned long long latency_count;
	long long messages_stored;
	unsigned long long prune_rows;     /* update rows and payloads pruning deleted */
	unsigned long long prune_steps;    /* pruning steps run (api_server's drain) */
	unsigned long long prune_failures; /* of which failed (the drain stops until the next tick) */
};

int metrics_init(struct api_metrics *m, size_t nmethods);
void metrics_release(struct api_metrics *m);
/* method: index into api_methods, or -1 for other paths. */
void metrics_observe(struct api_metrics *m, int method, int status, double seconds);

/* A histogram kept elsewhere (the writer's), rendered as it is: n upper
 * bounds in seconds, ascending; n + 1 counts, not cumulative, the last
 * past the last bound (+Inf).  Borrowed: the caller keeps both arrays. */
struct metrics_hist {
	const double *bounds;
	size_t n;
	const unsigned long long *buckets;
	double sum;
	unsigned long long count;
};

struct metrics_gauges {
	unsigned connections;
	size_t inflight;
	size_t write_queue;
	unsigned long long commits, write_jobs, commit_failures;
	unsigned long long writer_reruns, writer_marked;
	long long wal_pages;
	unsigned long long checkpoints, checkpoint_restarts, checkpoint_failures;
	unsigned long long index_flushes, index_failures; /* search-index batches applied (tried), failed */
	struct metrics_hist writer_group, writer_restart, writer_job, writer_handback, writer_index,
		writer_commit; /* n 0: not rendered */
};

/* Renders everything; returns a malloc'd string (caller frees) or NULL. */
char *metrics_render(const struct api_metrics *m, const struct metrics_gauges *g, size_t *len);

#endif
