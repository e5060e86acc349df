/*
 * store.c — history and catch-up on a big store (bench/README.md).
 *
 * The store is built through the API, as clients would build it: o.pairs
 * WebSocket senders with o.window sendMessage calls in flight each, into
 * the 1:1 chats of the pairs (lv_fill in live.c).  Nothing writes SQLite
 * behind the server's back, so every invariant the server keeps (message
 * ids, update logs, the search index) holds at every size.
 *
 * At checkpoints (100,000 messages, 1 million, 10 million — as far as
 * o.store_msgs goes) it measures, o.runs times each:
 *   - a history page: getHistory limit 50 before a random cursor in the
 *     pairs' first chat, one client, closed loop;
 *   - catch-up: a device 10,000 updates behind calls getDifference (limit
 *     1,000, the maximum) until "more" is false.
 * Both go over libparley's raw request call: the generator checks the
 * reply's shape but does not decode the JSON, so what is timed is the
 * server and the loopback, not a client-side parser.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lg.h"

#define ST_CATCHUP 10000          /* updates a catching-up device missed */
#define ST_DIFF_LIMIT 1000        /* getDifference's maximum page */
#define ST_PAGE 50                /* history page */
#define ST_WARM_PAGE 100          /* getHistory's maximum: the warm-up's page */
#define ST_COLD_PAGES 200         /* random pages timed before the warm-up */
#define ST_SETTLE_MS 200          /* a quiet server: under 5% of a core over this long */
#define ST_SETTLE_BYTES (64 << 10) /* ... and under this written to disk */
#ifndef ST_SETTLE_MAX_S
#define ST_SETTLE_MAX_S 300       /* longest wait for the checkpointer after a fill (-D0: none) */
#endif

static long long st_messages(struct lg *g)
{
	double v = lg_metric(g, "parley_messages_stored");

	return v < 0 ? 0 : (long long)v;
}

static double st_disk_mib(const struct lg *g)
{
	const char *names[] = {"parley.db", "parley.db-wal"};
	double total = 0;

	for (int i = 0; i < 2; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", g->o.data, names[i]);
		if (stat(path, &st) == 0)
			total += (double)st.st_size;
	}
	return total / (1024.0 * 1024.0);
}

/* Counts occurrences of needle in s. */
static long st_count(const char *s, const char *needle)
{
	long n = 0;
	size_t k = strlen(needle);

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += k;
	}
	return n;
}

/* POST /api/method with body; returns the reply body (caller frees) or
 * dies on a transport failure; a non-200 answer is counted as a failure. */
static char *st_call(struct lg *g, struct parley_client *c, const char *method, const char *body)
{
	char path[64], *reply = NULL;
	struct parley_error err;
	int status = 0;

	snprintf(path, sizeof path, "/api/%s", method);
	lg_check(parley_request(c, "POST", path, "application/json", body, strlen(body), &status, &reply, NULL, &err),
		 &err, method);
	if (status != 200) {
		if (!g->failures++)
			lg_log("%s: status %d: %.200s", method, status, reply ? reply : "");
	}
	return reply;
}

/* The newest message id of a chat (as seen by c). */
static int64_t st_last_id(struct lg *g, struct parley_client *c, int64_t chat)
{
	char body[96], *r, *p;
	int64_t id = 0;

	snprintf(body, sizeof body, "{\"chat_id\":%" PRId64 ",\"limit\":1}", chat);
	r = st_call(g, c, "getHistory", body);
	if (r && (p = strstr(r, "\"message_id\":")))
		id = strtoll(p + 13, NULL, 10);
	free(r);
	return id;
}

static int64_t st_pts(struct lg *g, struct parley_client *c)
{
	char *r = st_call(g, c, "getState", "{}"), *p;
	int64_t pts = 0;

	if (r && (p = strstr(r, "\"pts\":")))
		pts = strtoll(p + 6, NULL, 10);
	free(r);
	return pts;
}

/* Bytes the server process has written (/proc/PID/io write_bytes: what it
 * dirtied for the disk), or -1. */
static long long st_server_writes(long pid)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/io", pid);
	if (pid <= 0 || !(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "write_bytes:", 12))
			v = strtoll(line + 12, NULL, 10);
	fclose(f);
	return v;
}

/* Waits until the server has quietened — under 5% of a core and under
 * ST_SETTLE_BYTES written over ST_SETTLE_MS, at most ST_SETTLE_MAX_S: after
 * a fill the checkpointer is still copying the WAL into the database, and
 * its CPU and disk traffic are not the history page's.  Returns the
 * seconds waited. */
static double st_settle(struct lg *g)
{
	uint64_t t0 = lg_now_ns();

	while (lg_now_ns() - t0 < (uint64_t)ST_SETTLE_MAX_S * 1000000000ull) {
		double c0 = lg_server_cpu(g->o.pid);
		long long w0 = st_server_writes(g->o.pid);
		lg_sleep_ms(ST_SETTLE_MS);
		if (c0 < 0 || (lg_server_cpu(g->o.pid) - c0 < 0.05 * ST_SETTLE_MS / 1000.0 &&
			       st_server_writes(g->o.pid) - w0 < ST_SETTLE_BYTES))
			break;
	}
	return (double)(lg_now_ns() - t0) / 1e9;
}

/* xorshift64 for cursors. */
/* The warm-up: d reads the whole paged chat once, newest to oldest, in
 * pages of ST_WARM_PAGE — a client scrolling back through it — so that
 * the measured runs see the store as a server that has been serving it
 * does, not a page cache emptied by a restart or by the reclaimer.
 * Returns the seconds it took. */
static double st_warm(struct lg *g, struct parley_client *c, int64_t chat, int64_t last)
{
	uint64_t t0 = lg_now_ns();
	char body[160];

	for (int64_t cursor = last + 1; cursor > 1; cursor -= ST_WARM_PAGE) {
		snprintf(body, sizeof body, "{\"chat_id\":%" PRId64 ",\"offset_id\":%" PRId64 ",\"limit\":%d}", chat,
			 cursor, ST_WARM_PAGE);
		free(st_call(g, c, "getHistory", body));
	}
	return (double)(lg_now_ns() - t0) / 1e9;
}

/* One history page before cursor, timed into lh, with its /healthz
 * baseline into lz (NULL: none); returns 1 when the page was short. */
static int st_page(struct lg *g, struct parley_client *c, int64_t chat, int64_t cursor, struct lg_lat *lh,
		   struct lg_lat *lz)
{
	uint64_t t0 = lg_now_ns(), t1;
	char body[160], *r;
	struct parley_error err;
	int short_page;

	if (lz) {
		if (parley_health(c, &err) < 0)
			lg_die("healthz: %s", err.description);
		t1 = lg_now_ns();
		lg_lat_add(lz, t1 - t0);
		t0 = t1;
	}
	snprintf(body, sizeof body, "{\"chat_id\":%" PRId64 ",\"offset_id\":%" PRId64 ",\"limit\":%d}", chat, cursor,
		 ST_PAGE);
	r = st_call(g, c, "getHistory", body);
	lg_lat_add(lh, lg_now_ns() - t0);
	short_page = !r || st_count(r, "\"message_id\":") < ST_PAGE;
	free(r);
	return short_page;
}

static uint64_t st_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void st_measure(struct lg *g, const char *wl, int pages, int catchups)
{
	/* users[u0] sends to users[1]: their chat is the biggest 1:1 chat. */
	int u0 = g->nusers - g->o.pairs;
	struct parley_client *c = lg_client_at(g->o.server, g->users[u0].token);
	struct parley_client *d = lg_client_at(g->o.server, g->users[1].token);
	int64_t chat = g->users[1].id, last, pts = st_pts(g, d);
	uint64_t seed = 0x2545f4914f6cdd1dull;
	double c0, c1;

	if (pts < ST_CATCHUP + 100) {
		/* A small store spread over the pairs leaves the first pair's
		 * receiver too few updates to catch up on: send it the rest. */
		lv_fill(g, ST_CATCHUP + 100 - pts, 1);
	}
	last = st_last_id(g, c, chat);
	lg_log("%s: the server was quiet after %.1f s", wl, st_settle(g));

	lg_put(g, wl, "messages stored", "msgs", NULL, (double)st_messages(g));
	lg_put(g, wl, "messages in the paged chat", "msgs", NULL, (double)last);
	lg_put(g, wl, "store on disk (db + wal)", "MiB", NULL, st_disk_mib(g));

	/* Before the warm-up: what the first readers after a start (or after
	 * the page cache let the store go) see.  Reported, not a target. */
	{
		struct lg_lat lk = {0};
		uint64_t cold_seed = 0x9e3779b97f4a7c15ull;
		for (int i = 0; i < ST_COLD_PAGES; i++)
			st_page(g, c, chat, ST_PAGE + 1 + (int64_t)(st_rand(&cold_seed) % (uint64_t)(last > ST_PAGE + 1 ? last - ST_PAGE : 1)),
				&lk, NULL);
		lg_put(g, wl, "history page p99, before the warm-up", "ms", NULL, lg_lat_ms(&lk, 0.99));
		lg_lat_release(&lk);
	}
	lg_log("%s: warm-up: read the paged chat once (%" PRId64 " messages) in %.1f s", wl, last, st_warm(g, c, chat, last));

	for (int run = 0; run < g->o.runs; run++) {
		struct lg_lat lh = {0}, lz = {0}, lc = {0};
		long short_pages = 0;
		char body[160];

		/* history: a random cursor each time, the page before it */
		c0 = lg_server_cpu(g->o.pid);
		for (int i = 0; i < pages; i++) {
			int64_t cursor = ST_PAGE + 1 + (int64_t)(st_rand(&seed) % (uint64_t)(last > ST_PAGE + 1 ? last - ST_PAGE : 1));
			short_pages += st_page(g, c, chat, cursor, &lh, &lz);
		}
		c1 = lg_server_cpu(g->o.pid);
		lg_put(g, wl, "history page (50 before a cursor) p50", "ms", NULL, lg_lat_ms(&lh, 0.5));
		lg_put(g, wl, "history page (50 before a cursor) p99", "ms", NULL, lg_lat_ms(&lh, 0.99));
		lg_put(g, wl, "history page (50 before a cursor) p99.9", "ms", NULL, lg_lat_ms(&lh, 0.999));
		lg_put(g, wl, "GET /healthz p50, same connection", "ms", NULL, lg_lat_ms(&lz, 0.5));
		if (c0 >= 0)
			lg_put(g, wl, "server CPU per history page", "ms", NULL, (c1 - c0) * 1000 / pages);
		if (short_pages) {
			lg_log("%s: %ld history pages had fewer than %d messages", wl, short_pages, ST_PAGE);
			g->failures += (unsigned long long)short_pages;
		}

		/* catch-up: 10,000 updates behind, pages of 1,000 until done */
		pts = st_pts(g, d);
		if (pts < ST_CATCHUP) {
			lg_log("%s: the catch-up user has only %" PRId64 " updates", wl, pts);
			g->failures++;
		}
		c0 = lg_server_cpu(g->o.pid);
		for (int i = 0; i < catchups; i++) {
			int64_t from = pts - ST_CATCHUP;
			long got = 0;
			uint64_t t0 = lg_now_ns();
			for (;;) {
				char *r, *p;
				snprintf(body, sizeof body, "{\"pts\":%" PRId64 ",\"limit\":%d}", from, ST_DIFF_LIMIT);
				r = st_call(g, d, "getDifference", body);
				if (!r)
					break;
				got += st_count(r, "\"update\":");
				p = strstr(r, "\"state\":{\"pts\":");
				if (p)
					from = strtoll(p + 15, NULL, 10);
				if (!strstr(r, "\"more\":true") || !p) {
					free(r);
					break;
				}
				free(r);
			}
			lg_lat_add(&lc, lg_now_ns() - t0);
			if (got < ST_CATCHUP) {
				if (!g->failures++)
					lg_log("%s: catch-up returned %ld updates, not %d", wl, got, ST_CATCHUP);
			}
		}
		c1 = lg_server_cpu(g->o.pid);
		lg_put(g, wl, "catch-up of 10,000 updates p50", "ms", NULL, lg_lat_ms(&lc, 0.5));
		lg_put(g, wl, "catch-up of 10,000 updates p99", "ms", NULL, lg_lat_ms(&lc, 0.99));
		if (c0 >= 0)
			lg_put(g, wl, "server CPU per catch-up", "ms", NULL, (c1 - c0) * 1000 / catchups);
		lg_lat_release(&lh);
		lg_lat_release(&lz);
		lg_lat_release(&lc);
	}
	parley_client_free(c);
	parley_client_free(d);
}

void st_run(struct lg *g)
{
	static const long long marks[] = {100000, 1000000, 10000000};
	int pages = g->o.quick ? 300 : 2000, catchups = g->o.quick ? 5 : 20;
	long long have = st_messages(g), list[4];
	int n = 0;

	/* The marks below o.store_msgs, then o.store_msgs itself.  A mark
	 * the store (kept from an earlier run) is already past is skipped,
	 * except the last: that one is measured at whatever size it has. */
	for (int k = 0; k < 3; k++)
		if (marks[k] < g->o.store_msgs)
			list[n++] = marks[k];
	list[n++] = g->o.store_msgs;
	for (int k = 0; k < n; k++) {
		long long mark = list[k];
		char wl[40];
		if (mark < have && k < n - 1)
			continue;
		if (mark > have) {
			double t;
			lg_log("store: %lld messages, filling to %lld", have, mark);
			t = lv_fill(g, mark - have, g->o.pairs);
			lg_put(g, "store fill", "sendMessage rate while filling", "msgs/s", lg_durable, (mark - have) / t);
			have = st_messages(g);
			lg_log("store: %lld messages after %.0f s", have, t);
		}
		if (have > mark)
			mark = have; /* a kept store past the last mark: named by its size */
		if (mark >= 10000000)
			snprintf(wl, sizeof wl, "store @%lldM msgs", mark / 1000000);
		else if (mark >= 1000000)
			snprintf(wl, sizeof wl, "store @%.1fM msgs", mark / 1e6);
		else
			snprintf(wl, sizeof wl, "store @%lldk msgs", mark / 1000);
		lg_log("store: measuring history and catch-up at %lld messages", have);
		st_measure(g, wl, pages, catchups);
	}
}
