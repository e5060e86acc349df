/* metrics.c — request counters and the latency histogram in Prometheus text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/metrics.h"

static const int statuses[METRICS_STATUSES] = {200, 400, 401, 403, 404, 405, 408, 413,
					       415, 429, 431, 500, 503, 0, 0, 0};
static const double bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

int metrics_init(struct api_metrics *m, size_t nmethods)
{
	memset(m, 0, sizeof *m);
	m->nmethods = nmethods;
	m->requests = calloc((nmethods + 1) * METRICS_STATUSES, sizeof *m->requests);
	return m->requests ? 0 : -1;
}

void metrics_release(struct api_metrics *m)
{
	free(m->requests);
	m->requests = NULL;
}

static int status_slot(int status)
{
	for (int i = 0; i < METRICS_STATUSES && statuses[i]; i++)
		if (statuses[i] == status)
			return i;
	return METRICS_STATUSES - 1; /* "other" */
}

void metrics_observe(struct api_metrics *m, int method, int status, double seconds)
{
	size_t row = method < 0 || (size_t)method >= m->nmethods ? m->nmethods : (size_t)method;
	int b = 0;

	m->requests[row * METRICS_STATUSES + (size_t)status_slot(status)]++;
	while (b < METRICS_BUCKETS && seconds > bounds[b])
		b++;
	m->buckets[b]++;
	m->latency_sum += seconds;
	m->latency_count++;
}

/* A growable text buffer with a hard cap. */
struct text {
	char *p;
	size_t len, cap;
	int oom;
};

#define METRICS_TEXT_MAX (4u << 20)

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		size_t cap = t->cap * 2;
		char *np = cap <= METRICS_TEXT_MAX ? realloc(t->p, cap) : NULL;
		if (!np) {
			t->oom = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	t->len += (size_t)n;
}

/* One un-labelled series with its HELP and TYPE lines.  Values are whole
 * numbers below 2^53, so %.0f prints them exactly. */
static void one(struct text *t, const char *name, const char *type, const char *help, double v)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n%s %.0f\n", name, help, name, type, name, v);
}

/* One histogram with its HELP and TYPE lines; nothing if it has no buckets. */
static void hist(struct text *t, const char *name, const char *help, const struct metrics_hist *h)
{
	unsigned long long cum = 0;

	if (!h->n || !h->bounds || !h->buckets)
		return;
	put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t b = 0; b < h->n; b++) {
		cum += h->buckets[b];
		put(t, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[b], cum);
	}
	cum += h->buckets[h->n];
	put(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cum, name, h->sum, name, h->count);
}

char *metrics_render(const struct api_metrics *m, const struct metrics_gauges *g, size_t *len)
{
	struct text t = {malloc(16384), 0, 16384, 0};
	unsigned long long cum = 0;

	if (!t.p)
		return NULL;
	t.p[0] = 0;
	put(&t, "# HELP parley_requests_total HTTP requests answered, by API method and status.\n"
		"# TYPE parley_requests_total counter\n");
	for (size_t r = 0; r <= m->nmethods; r++)
		for (int s = 0; s < METRICS_STATUSES; s++) {
			unsigned long long v = m->requests[r * METRICS_STATUSES + (size_t)s];
			char st[16];
			if (!v)
				continue;
			if (statuses[s])
				snprintf(st, sizeof st, "%d", statuses[s]);
			else
				snprintf(st, sizeof st, "other");
			put(&t, "parley_requests_total{method=\"%s\",status=\"%s\"} %llu\n",
			    r < m->nmethods ? api_methods[r].name : "other", st, v);
		}
	put(&t, "# HELP parley_request_duration_seconds Time from a complete request to its answer.\n"
		"# TYPE parley_request_duration_seconds histogram\n");
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		cum += m->buckets[b];
		put(&t, "parley_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[b], cum);
	}
	cum += m->buckets[METRICS_BUCKETS];
	put(&t, "parley_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	put(&t, "parley_request_duration_seconds_sum %.6f\nparley_request_duration_seconds_count %llu\n",
	    m->latency_sum, m->latency_count);
	one(&t, "parley_messages_stored", "gauge", "Messages in the store (service messages included).",
	    (double)m->messages_stored);
	one(&t, "parley_prune_rows_total", "counter",
	    "Update log rows and payloads deleted by retention pruning.", (double)m->prune_rows);
	one(&t, "parley_prune_steps_total", "counter", "Retention pruning steps (writes of their own) run.",
	    (double)m->prune_steps);
	one(&t, "parley_prune_failures_total", "counter", "Retention pruning steps that failed.",
	    (double)m->prune_failures);
	one(&t, "parley_connections_open", "gauge", "Open client connections.", g->connections);
	one(&t, "parley_requests_inflight", "gauge", "Calls accepted and not yet answered.", (double)g->inflight);
	one(&t, "parley_write_queue", "gauge", "Write calls waiting for the writer.", (double)g->write_queue);
	one(&t, "parley_commits_total", "counter", "Group commits (transactions) written.", (double)g->commits);
	one(&t, "parley_write_calls_total", "counter", "Write calls run by the writer.", (double)g->write_jobs);
	one(&t, "parley_commit_failures_total", "counter", "Group commits that failed.", (double)g->commit_failures);
	one(&t, "parley_writer_reruns_total", "counter",
	    "Groups rolled back and run again with a savepoint per call (a call failed after a change).",
	    (double)g->writer_reruns);
	one(&t, "parley_writer_marked_total", "counter",
	    "Groups run with a savepoint per call (reruns, the groups held after one, and groups with a job that cannot run again).",
	    (double)g->writer_marked);
	one(&t, "parley_wal_pages", "gauge", "Pages in the write-ahead log after the last commit.", (double)g->wal_pages);
	one(&t, "parley_checkpoints_total", "counter", "Checkpoints run by the checkpointer thread.",
	    (double)g->checkpoints);
	one(&t, "parley_checkpoint_restarts_total", "counter",
	    "Checkpoints that held the writer (WAL past the hard bound).", (double)g->checkpoint_restarts);
	one(&t, "parley_checkpoint_failures_total", "counter", "Checkpoints that returned an error.",
	    (double)g->checkpoint_failures);
	one(&t, "parley_search_index_batches_total", "counter",
	    "Batches of new messages added to the search index by the writer between two groups.",
	    (double)g->index_flushes);
	one(&t, "parley_search_index_failures_total", "counter",
	    "Search-index batches that failed (their messages stay queued and are tried again).",
	    (double)g->index_failures);
	hist(&t, "parley_writer_group_seconds",
	     "Time the writer held the queue for one group: from taking it to its commit returning.", &g->writer_group);
	hist(&t, "parley_writer_restart_seconds",
	     "Time the writer held the queue for one RESTART checkpoint between two groups.", &g->writer_restart);
	hist(&t, "parley_writer_job_seconds",
	     "Time from a write call's submission to the writer to its group's commit returning.", &g->writer_job);
	hist(&t, "parley_writer_handback_seconds",
	     "Time from a write call's commit returning to the loop thread taking it back.", &g->writer_handback);
	hist(&t, "parley_writer_commit_seconds",
	     "Time of one group's COMMIT alone: writing its WAL frames and the fsync.", &g->writer_commit);
	hist(&t, "parley_writer_index_seconds",
	     "Time the writer held the queue for one search-index batch between two groups.", &g->writer_index);
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}
