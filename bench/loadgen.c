/*
 * loadgen.c — Parley's load generator, run by bench/run.sh (see
 * bench/README.md for the workloads and what their figures mean).
 *
 * It is a plain client of a running parleyd: everything goes through
 * libparley (include/parley.h), one client — one keep-alive HTTP connection —
 * per thread, so what it measures is what a client sees.  Besides the
 * server's answers it reads two things about the server process from /proc
 * (CPU time and resident memory, given --pid), and its own CPU time from
 * getrusage(), so a run shows whether the generator rather than the server
 * was the bottleneck.
 *
 * Sequence: register the users, build the chats (a 200-member group and a
 * channel with --subscribers subscribers), warm up, then run each workload
 * --runs times and report the median of each figure: a table on stdout and
 * a JSON document at --out.  Setup and progress go to stderr.
 *
 * Every workload is closed-loop: each thread sends its next request when the
 * previous answer arrived, so throughput and latency are two views of the
 * same run.  The generator exits 1 if any measured call failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "parley.h"

#include "lg.h"

const char *lg_durable = "durable: sync=full, acknowledged after the fsync of its group commit";

/* ---- small utilities ------------------------------------------------- */

void lg_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t lg_t0; /* start of the process, for the log's clock */

void lg_log(const char *fmt, ...)
{
	va_list ap;

	if (!lg_t0)
		lg_t0 = lg_now_ns();
	fprintf(stderr, "loadgen: [%5.1f s] ", (double)(lg_now_ns() - lg_t0) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lg_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* This process's CPU seconds (user + system, all threads). */
double lg_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* The server's CPU seconds from /proc/PID/stat (utime + stime), or -1. */
double lg_server_cpu(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (pid <= 0 || !(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: fields restart
	 * after the last ')'.  utime and stime are fields 14 and 15. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The server's resident set in KiB from /proc/PID/status (VmRSS), or -1. */
long lg_server_rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (pid <= 0 || !(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Seconds all CPUs of the machine spent busy (user, system, interrupts) and
 * stolen by the hypervisor, from the first line of /proc/stat. */
void lg_machine_cpu(double *busy, double *steal)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	double hz = (double)sysconf(_SC_CLK_TCK);

	*busy = *steal = -1;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &v[6], &v[7]) == 8) {
		/* user nice system idle iowait irq softirq steal */
		*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
		*steal = (double)v[7] / hz;
	}
	fclose(f);
}

/* The 1-minute load average, or -1. */
static double lg_loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* ---- latency samples --------------------------------------------------- */

void lg_lat_add(struct lg_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		uint64_t *v;
		if (cap > LG_SAMPLES_MAX || !(v = realloc(l->v, cap * sizeof *v)))
			return; /* past the cap the run keeps counting, not sampling */
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns;
}

void lg_lat_release(struct lg_lat *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int lg_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Appends src's samples to dst (dst grows without the per-thread cap). */
void lg_lat_merge(struct lg_lat *dst, const struct lg_lat *src)
{
	uint64_t *v;

	if (!src->n)
		return;
	if (!(v = realloc(dst->v, (dst->n + src->n) * sizeof *v)))
		lg_die("out of memory");
	memcpy(v + dst->n, src->v, src->n * sizeof *v);
	dst->v = v;
	dst->n += src->n;
	dst->cap = dst->n;
}

/* The q-quantile (0..1) in milliseconds, nearest rank; sorts l. */
double lg_lat_ms(struct lg_lat *l, double q)
{
	size_t i;

	if (!l->n)
		return 0;
	qsort(l->v, l->n, sizeof *l->v, lg_cmp_u64);
	i = (size_t)(q * (double)l->n);
	if (i >= l->n)
		i = l->n - 1;
	return (double)l->v[i] / 1e6;
}

/* ---- the report ---------------------------------------------------------- */

static struct lg_fig *lg_fig(struct lg *g, const char *workload, const char *name, const char *unit,
			     const char *note)
{
	struct lg_report *r = &g->rep;
	struct lg_fig *f;

	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].workload, workload) && !strcmp(r->f[i].name, name))
			return &r->f[i];
	if (r->n == LG_FIGS_MAX)
		lg_die("more than %d figures", LG_FIGS_MAX);
	f = &r->f[r->n++];
	memset(f, 0, sizeof *f);
	snprintf(f->workload, sizeof f->workload, "%s", workload);
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->unit, sizeof f->unit, "%s", unit);
	f->note = note;
	return f;
}

/* Records one run's value of a figure. */
void lg_put(struct lg *g, const char *workload, const char *name, const char *unit, const char *note,
		   double v)
{
	struct lg_fig *f = lg_fig(g, workload, name, unit, note);

	if (f->n < LG_RUNS_MAX)
		f->v[f->n++] = v;
}

static int lg_cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double lg_median(const struct lg_fig *f)
{
	double v[LG_RUNS_MAX];

	if (!f->n)
		return 0;
	memcpy(v, f->v, (size_t)f->n * sizeof *v);
	qsort(v, (size_t)f->n, sizeof *v, lg_cmp_dbl);
	return f->n % 2 ? v[f->n / 2] : (v[f->n / 2 - 1] + v[f->n / 2]) / 2;
}

double lg_get(struct lg *g, const char *workload, const char *name)
{
	for (int i = 0; i < g->rep.n; i++)
		if (!strcmp(g->rep.f[i].workload, workload) && !strcmp(g->rep.f[i].name, name))
			return lg_median(&g->rep.f[i]);
	return 0;
}

/* Adds a figure that is the ratio of two medians (one value, no runs). */
static void lg_ratio(struct lg *g, const char *workload, const char *name, const char *num_w, const char *num,
		     const char *den_w, const char *den)
{
	double d = lg_get(g, den_w, den);

	if (d > 0 && lg_get(g, num_w, num) > 0)
		lg_put(g, workload, name, "x", NULL, lg_get(g, num_w, num) / d);
}

static void lg_fmt(char *val, size_t len, double m)
{
	if (m != 0 && (m < 0.1 && m > -0.1))
		snprintf(val, len, "%.4f", m);
	else if (m < 100 && m > -100)
		snprintf(val, len, "%.2f", m);
	else
		snprintf(val, len, "%.0f", m);
}

void lg_compare(struct lg *g, const char *label, const char *pw, const char *pf, const char *m1, const char *m0,
		const char *mf, int higher_better, const char *note)
{
	struct lg_cmp *c;

	if (g->ncmp == LG_CMPS_MAX)
		lg_die("more than %d comparisons", LG_CMPS_MAX);
	c = &g->cmp[g->ncmp++];
	memset(c, 0, sizeof *c);
	snprintf(c->label, sizeof c->label, "%s", label);
	snprintf(c->pw, sizeof c->pw, "%s", pw);
	snprintf(c->pf, sizeof c->pf, "%s", pf);
	snprintf(c->m1, sizeof c->m1, "%s", m1 ? m1 : "");
	snprintf(c->m0, sizeof c->m0, "%s", m0 ? m0 : "");
	snprintf(c->mf, sizeof c->mf, "%s", mf);
	c->higher_better = higher_better;
	c->note = note;
}

static const struct lg_fig *lg_find(const struct lg *g, const char *workload, const char *name)
{
	for (int i = 0; i < g->rep.n; i++)
		if (!strcmp(g->rep.f[i].workload, workload) && !strcmp(g->rep.f[i].name, name))
			return &g->rep.f[i];
	return NULL;
}

/* The ratio Parley / Mosquitto as printed: for figures where higher is
 * better, > 1 means Parley is ahead; for latency and memory (lower is
 * better) it is the plain quotient too, so < 1 means Parley is ahead. */
static int lg_cmp_values(const struct lg *g, const struct lg_cmp *c, double *p, double *q1, double *q0)
{
	const struct lg_fig *fp = lg_find(g, c->pw, c->pf), *f1 = c->m1[0] ? lg_find(g, c->m1, c->mf) : NULL,
			    *f0 = c->m0[0] ? lg_find(g, c->m0, c->mf) : NULL;

	*p = fp ? lg_median(fp) : NAN;
	*q1 = f1 ? lg_median(f1) : NAN;
	*q0 = f0 ? lg_median(f0) : NAN;
	return fp != NULL;
}

static void lg_report_print(struct lg *g)
{
	const char *last = "";

	printf("\nParley %s benchmark (%s): median of %d run%s per figure; %.0f s per timed HTTP run, %.1f s per "
	       "live run (%.1f s paced); Parley with durability on (sync=full: a message is acknowledged after its group commit "
	       "was fsynced); pinning: %s\n",
	       PARLEY_VERSION, g->o.versions ? g->o.versions : "", g->o.runs, g->o.runs == 1 ? "" : "s", g->o.seconds,
	       g->o.live_seconds, g->o.paced_seconds, g->o.pinning ? g->o.pinning : "none");
	printf("settings: %d HTTP writer threads, %d fetchers, %d HTTP connections, %d subscribers; live: %d idle "
	       "connections in %d steps, fan-out up to %d, %d 1:1 pairs x %d in flight, paced load %d msgs/s, "
	       "payload 100 bytes, store %lld messages\n",
	       g->o.threads, g->o.fetchers, g->o.conns, g->o.subscribers, g->o.ws_idle, g->o.ws_steps, g->o.fanout_max,
	       g->o.pairs, g->o.window, g->o.rate, g->o.store_msgs);
	printf("\n%-28s %-46s %12s  %-16s %s\n", "workload", "figure", "median", "unit", "");
	printf("%-28s %-46s %12s  %-16s %s\n", "--------", "------", "------", "----", "");
	for (int i = 0; i < g->rep.n; i++) {
		const struct lg_fig *f = &g->rep.f[i];
		const char *w = strcmp(f->workload, last) ? f->workload : "";
		char val[32];

		lg_fmt(val, sizeof val, lg_median(f));
		printf("%-28s %-46s %12s  %-16s %s\n", w, f->name, val, f->unit, f->note ? f->note : "");
		last = f->workload;
	}
	if (g->ncmp) {
		printf("\nParley against Mosquitto %s (same run, same shapes, 100-byte payloads; Parley durable: "
		       "sync=full; Mosquitto: persistence off).\nratio = Parley / Mosquitto; for latency and memory "
		       "lower is better, so a ratio below 1 favours Parley there.\n",
		       g->mqtt_version[0] ? g->mqtt_version : "");
		printf("\n%-40s %12s %12s %12s %10s %10s  %s\n", "figure", "Parley", "Mosq QoS1", "Mosq QoS0",
		       "P/QoS1", "P/QoS0", "unit");
		printf("%-40s %12s %12s %12s %10s %10s  %s\n", "------", "------", "---------", "---------", "------",
		       "------", "----");
		for (int i = 0; i < g->ncmp; i++) {
			const struct lg_cmp *c = &g->cmp[i];
			const struct lg_fig *fp = lg_find(g, c->pw, c->pf);
			double p, q1, q0;
			char a[32], b[32], d[32], r1[32], r0[32];

			if (!lg_cmp_values(g, c, &p, &q1, &q0))
				continue;
			lg_fmt(a, sizeof a, p);
			snprintf(b, sizeof b, "-");
			snprintf(d, sizeof d, "-");
			snprintf(r1, sizeof r1, "-");
			snprintf(r0, sizeof r0, "-");
			if (!isnan(q1)) {
				lg_fmt(b, sizeof b, q1);
				if (q1 > 0)
					snprintf(r1, sizeof r1, "%.2f", p / q1);
			}
			if (!isnan(q0)) {
				lg_fmt(d, sizeof d, q0);
				if (q0 > 0)
					snprintf(r0, sizeof r0, "%.2f", p / q0);
			}
			printf("%-40s %12s %12s %12s %10s %10s  %s\n", c->label, a, b, d, r1, r0, fp ? fp->unit : "");
		}
	}
	fflush(stdout);
}

static json_t *lg_num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static void lg_report_write(struct lg *g, const char *path)
{
	json_t *doc, *figs = json_array(), *cmps = json_array(), *cfg;
	char tmp[4096], date[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 0; i < g->rep.n; i++) {
		const struct lg_fig *f = &g->rep.f[i];
		json_t *runs = json_array();
		for (int k = 0; k < f->n; k++)
			json_array_append_new(runs, json_real(f->v[k]));
		json_array_append_new(figs, json_pack("{s:s, s:s, s:f, s:s, s:o, s:s?}", "workload", f->workload,
						      "figure", f->name, "value", lg_median(f), "unit", f->unit,
						      "runs", runs, "note", f->note));
	}
	for (int i = 0; i < g->ncmp; i++) {
		const struct lg_cmp *c = &g->cmp[i];
		double p, q1, q0;
		if (!lg_cmp_values(g, c, &p, &q1, &q0))
			continue;
		json_array_append_new(cmps, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "figure", c->label,
						      "parley_workload", c->pw, "parley_figure", c->pf, "parley", lg_num(p),
						      "mosquitto_qos1", lg_num(q1), "mosquitto_qos0", lg_num(q0),
						      "ratio_qos1", lg_num(q1 > 0 ? p / q1 : NAN),
						      "ratio_qos0", lg_num(q0 > 0 ? p / q0 : NAN), "higher_is_better",
						      c->higher_better));
	}
	cfg = json_pack("{s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:f, s:i, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, "
			"s:f, s:f, s:I, s:i, s:s}",
			"quick", g->o.quick, "big", g->o.big, "runs", g->o.runs, "threads", g->o.threads, "fetchers",
			g->o.fetchers, "connections", g->o.conns, "subscribers", g->o.subscribers, "seconds",
			g->o.seconds, "group_members", LG_GROUP_SIZE, "history_messages_min", g->o.history_min, "sync",
			"full", "pinning", g->o.pinning ? g->o.pinning : "none", "ws_idle", g->o.ws_idle, "ws_steps",
			g->o.ws_steps, "fanout_max", g->o.fanout_max, "pairs", g->o.pairs, "window", g->o.window,
			"paced_rate", g->o.rate, "live_seconds", g->o.live_seconds, "paced_seconds",
			g->o.paced_seconds, "store_messages",
			(json_int_t)g->o.store_msgs, "payload_bytes", 100, "versions",
			g->o.versions ? g->o.versions : "");
	doc = json_pack("{s:i, s:s, s:s, s:s, s:f, s:o, s:o, s:o, s:I}", "format", 2, "date", date, "parley_version",
			PARLEY_VERSION, "mosquitto_version", g->mqtt_version, "loadavg_at_start", g->loadavg, "config",
			cfg, "figures", figs, "comparisons", cmps, "failed_calls", (json_int_t)g->failures);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	if (!doc || json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) < 0 || rename(tmp, path) < 0)
		lg_die("cannot write %s", path);
	json_decref(doc);
}

/* ---- server counters ----------------------------------------------------- */

/* GET /metrics: the body (caller frees) or NULL. */
char *lg_metrics(struct lg *g)
{
	char *body = NULL;
	int status = 0;

	if (parley_get(g->probe, "/metrics", &status, &body, NULL, NULL) < 0 || status != 200) {
		free(body);
		return NULL;
	}
	return body;
}

/* The value of un-labelled series name in a /metrics body; -1 if absent. */
double lg_metric_in(const char *body, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, nlen) && p[nlen] == ' ')
			return strtod(p + nlen + 1, NULL);
	return -1;
}

/* Reads one un-labelled counter or gauge from GET /metrics; -1 if absent. */
double lg_metric(struct lg *g, const char *name)
{
	char *body = lg_metrics(g);
	double v = lg_metric_in(body, name);

	free(body);
	return v;
}

/* The cumulative buckets of histogram name in a /metrics body, into h
 * (bounds in seconds, +Inf last); h->n = 0 if absent. */
void lg_hist_in(const char *body, const char *name, struct lg_hist *h)
{
	char key[128];
	size_t klen = (size_t)snprintf(key, sizeof key, "%s_bucket{le=\"", name);

	h->n = 0;
	if (klen >= sizeof key)
		return;
	for (const char *p = body; p && *p && h->n < LG_HIST_MAX; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *q;
		if (strncmp(p, key, klen))
			continue;
		q = p + klen;
		h->le[h->n] = !strncmp(q, "+Inf", 4) ? 1e300 : strtod(q, NULL);
		if (!(q = strstr(q, "} ")))
			break;
		h->cum[h->n++] = strtod(q + 2, NULL);
	}
}

/* The bucket bound under which fraction q of the observations between
 * a and b fell (b taken later): a p99 to the histogram's resolution;
 * -1 with no observations or different buckets. */
double lg_hist_quantile(const struct lg_hist *a, const struct lg_hist *b, double q)
{
	double total;

	if (!b->n || a->n != b->n || (total = b->cum[b->n - 1] - a->cum[a->n - 1]) <= 0)
		return -1;
	for (int i = 0; i < b->n; i++)
		if (b->cum[i] - a->cum[i] >= q * total)
			return b->le[i];
	return -1;
}

/* Observations between a and b (b taken later) above bound, a bucket
 * bound in seconds; -1 with no observations, different buckets or a bound
 * that is not one of them. */
double lg_hist_above(const struct lg_hist *a, const struct lg_hist *b, double bound)
{
	if (!b->n || a->n != b->n)
		return -1;
	for (int i = 0; i < b->n; i++)
		if (b->le[i] > bound * 0.999 && b->le[i] < bound * 1.001)
			return (b->cum[b->n - 1] - a->cum[a->n - 1]) - (b->cum[i] - a->cum[i]);
	return -1;
}

/* ---- clients --------------------------------------------------------------- */

struct parley_client *lg_client_at(const char *server, const char *token)
{
	char err[256];
	struct parley_client *c = parley_client_new(server, err, sizeof err);

	if (!c)
		lg_die("client for %s: %s", server, err);
	if (token && parley_client_set_token(c, token) < 0)
		lg_die("bad token");
	return c;
}

static struct parley_client *lg_client(struct lg *g, const char *token)
{
	return lg_client_at(g->o.server, token);
}

void lg_check(int rc, const struct parley_error *err, const char *what)
{
	if (rc < 0)
		lg_die("%s failed: %s %s %s", what, parley_strerror(rc), err->code, err->description);
}

/* ---- closed-loop driver ---------------------------------------------------- */

struct lg_worker;

/* One request of a workload; returns 0 or a negative parley_rc. */
typedef int (*lg_op_cb)(struct lg_worker *w, struct parley_error *err);

struct lg_drive {
	struct lg *g;
	lg_op_cb op;
	int nthreads;
	double seconds;
	long long max_ops;        /* per thread; 0: until the time is up */
	pthread_barrier_t start;
	atomic_int stop;
};

struct lg_worker {
	pthread_t th;
	struct lg_drive *d;
	int idx;
	struct parley_client *c;
	int64_t chat_id;          /* where this thread sends or reads */
	int rot;                  /* token rotation for channel fetchers */
	unsigned long long ops, errors, stale;
	struct lg_lat lat;
	struct lg_lat lat2;       /* a second series (the baseline) when the op has one */
	char first_error[sizeof(((struct parley_error *)0)->code) + sizeof(((struct parley_error *)0)->description) + 2];
};

static void *lg_worker_main(void *arg)
{
	struct lg_worker *w = arg;
	struct lg_drive *d = w->d;

	pthread_barrier_wait(&d->start);
	while (!atomic_load_explicit(&d->stop, memory_order_relaxed) && (!d->max_ops || (long long)w->ops < d->max_ops)) {
		struct parley_error err;
		uint64_t t0 = lg_now_ns();
		int rc = d->op(w, &err);
		uint64_t t1 = lg_now_ns();

		if (rc < 0) {
			if (!w->errors++)
				snprintf(w->first_error, sizeof w->first_error, "%s %s", err.code, err.description);
			if (w->errors >= LG_ERRORS_MAX)
				break; /* the server is gone or refusing: stop hammering it */
			continue;
		}
		w->ops++;
		lg_lat_add(&w->lat, t1 - t0);
	}
	return NULL;
}

/* What one timed run measured. */
struct lg_run {
	double wall, ops, rate;        /* seconds, calls, calls per second */
	double p50, p99;               /* ms */
	double p50b, p99b;             /* ms, second series */
	double server_cpu, self_cpu;   /* seconds during the run */
	double commits, write_calls;   /* server counters during the run */
	double other_cpu, steal;       /* cores: CPU neither process used; stolen */
	unsigned long long errors, stale;
};

/* Runs op on workers[0..n) (clients and per-thread fields already set) for
 * d->seconds or d->max_ops, and fills out.  Exits on thread failures only;
 * failed calls are counted in out->errors and g->failures. */
static void lg_drive_run(struct lg_drive *d, struct lg_worker *workers, struct lg_run *out)
{
	struct lg *g = d->g;
	struct lg_lat all = {0}, all2 = {0};
	double c0, s0, m0, j0, b0, st0, b1, st1;
	uint64_t t0, t1;

	memset(out, 0, sizeof *out);
	atomic_store(&d->stop, 0);
	if (pthread_barrier_init(&d->start, NULL, (unsigned)d->nthreads + 1) != 0)
		lg_die("barrier");
	for (int i = 0; i < d->nthreads; i++) {
		workers[i].d = d;
		workers[i].idx = i;
		workers[i].ops = workers[i].errors = workers[i].stale = 0;
		if (pthread_create(&workers[i].th, NULL, lg_worker_main, &workers[i]) != 0)
			lg_die("cannot start thread %d", i);
	}
	m0 = lg_metric(g, "parley_commits_total");
	j0 = lg_metric(g, "parley_write_calls_total");
	c0 = lg_server_cpu(g->o.pid);
	s0 = lg_self_cpu();
	lg_machine_cpu(&b0, &st0);
	t0 = lg_now_ns();
	pthread_barrier_wait(&d->start);
	if (!d->max_ops) {
		lg_sleep_ms((long)(d->seconds * 1000));
		atomic_store(&d->stop, 1);
	}
	for (int i = 0; i < d->nthreads; i++)
		pthread_join(workers[i].th, NULL);
	t1 = lg_now_ns();
	out->server_cpu = c0 < 0 ? -1 : lg_server_cpu(g->o.pid) - c0;
	out->self_cpu = lg_self_cpu() - s0;
	lg_machine_cpu(&b1, &st1);
	out->commits = lg_metric(g, "parley_commits_total") - m0;
	out->write_calls = lg_metric(g, "parley_write_calls_total") - j0;
	pthread_barrier_destroy(&d->start);
	out->wall = (double)(t1 - t0) / 1e9;
	if (b0 >= 0 && b1 >= 0 && out->server_cpu >= 0 && out->wall > 0) {
		out->other_cpu = (b1 - b0 - out->server_cpu - out->self_cpu) / out->wall;
		out->steal = (st1 - st0) / out->wall;
		if (out->other_cpu < 0)
			out->other_cpu = 0; /* tick rounding */
	}
	for (int i = 0; i < d->nthreads; i++) {
		struct lg_worker *w = &workers[i];
		out->ops += (double)w->ops;
		out->errors += w->errors;
		out->stale += w->stale;
		if (w->errors)
			lg_log("thread %d: %llu failed calls, first: %s", i, w->errors, w->first_error);
		lg_lat_merge(&all, &w->lat);
		lg_lat_merge(&all2, &w->lat2);
		w->lat.n = w->lat2.n = 0;
	}
	g->failures += out->errors;
	out->rate = out->wall > 0 ? out->ops / out->wall : 0;
	out->p50 = lg_lat_ms(&all, 0.50);
	out->p99 = lg_lat_ms(&all, 0.99);
	out->p50b = lg_lat_ms(&all2, 0.50);
	out->p99b = lg_lat_ms(&all2, 0.99);
	lg_lat_release(&all);
	lg_lat_release(&all2);
}

static struct lg_worker *lg_workers_new(struct lg *g, int n, const char *token)
{
	struct lg_worker *w = calloc((size_t)n, sizeof *w);

	if (!w)
		lg_die("out of memory");
	for (int i = 0; i < n; i++)
		w[i].c = lg_client(g, token);
	return w;
}

static void lg_workers_free(struct lg_worker *w, int n)
{
	for (int i = 0; i < n; i++) {
		parley_client_free(w[i].c);
		lg_lat_release(&w[i].lat);
		lg_lat_release(&w[i].lat2);
	}
	free(w);
}

/* Opens every worker's connection before the clock starts. */
static void lg_workers_connect(struct lg_worker *w, int n)
{
	for (int i = 0; i < n; i++) {
		struct parley_error err;
		lg_check(parley_health(w[i].c, &err), &err, "GET /healthz");
	}
}

/* Records where the CPU went during r, in cores (1.0 is one core's worth,
 * all of it when run.sh pinned the server to one core): the server, the
 * generator, and everything else on the machine — other processes and
 * interrupts — which makes a run noisy when it is not near 0.  phase names
 * the part of a workload when it has several. */
static void lg_put_cpu(struct lg *g, const char *wl, const char *phase, const struct lg_run *r)
{
	char name[64];

	if (r->wall <= 0)
		return;
	if (r->server_cpu >= 0) {
		snprintf(name, sizeof name, "server CPU busy%s%s", *phase ? ", " : "", phase);
		lg_put(g, wl, name, "cores", NULL, r->server_cpu / r->wall);
	}
	snprintf(name, sizeof name, "load generator CPU%s%s", *phase ? ", " : "", phase);
	lg_put(g, wl, name, "cores", NULL, r->self_cpu / r->wall);
	snprintf(name, sizeof name, "other CPU on the machine%s%s", *phase ? ", " : "", phase);
	lg_put(g, wl, name, "cores", NULL, r->other_cpu);
	snprintf(name, sizeof name, "CPU stolen by the hypervisor%s%s", *phase ? ", " : "", phase);
	lg_put(g, wl, name, "cores", NULL, r->steal);
}

/* Records the figures every write workload shares. */
static void lg_put_write_run(struct lg *g, const char *wl, const char *phase, const char *rate_unit,
			     const struct lg_run *r)
{
	lg_put(g, wl, "throughput", rate_unit, lg_durable, r->rate);
	lg_put(g, wl, "sendMessage latency p50", "ms", lg_durable, r->p50);
	lg_put(g, wl, "sendMessage latency p99", "ms", lg_durable, r->p99);
	if (r->ops > 0 && r->server_cpu >= 0)
		lg_put(g, wl, "server CPU per 1,000 messages", "CPU-s", NULL, r->server_cpu * 1000 / r->ops);
	if (r->commits > 0)
		lg_put(g, wl, "messages per group commit", "calls/commit", NULL, r->write_calls / r->commits);
	lg_put_cpu(g, wl, phase, r);
}

/* ---- setup ------------------------------------------------------------------- */

struct lg_reg {
	pthread_t th;
	const char *server, *prefix;
	struct lg_user *users;
	int from, to;
};

static void *lg_register_main(void *arg)
{
	struct lg_reg *r = arg;
	struct parley_client *c = lg_client_at(r->server, NULL);

	for (int i = r->from; i < r->to; i++) {
		struct parley_error err;
		char name[40];
		int rc;
		snprintf(name, sizeof name, "bench_%s%06d", r->prefix, i);
		rc = parley_register(c, name, LG_PASSWORD, NULL, &r->users[i].id, &err);
		lg_check(rc, &err, "register");
		snprintf(r->users[i].token, sizeof r->users[i].token, "%s", parley_client_token(c));
		parley_client_set_token(c, NULL);
	}
	parley_client_free(c);
	return NULL;
}

struct lg_user *lg_register(const char *server, const char *prefix, int n)
{
	enum { NT = 32 };
	struct lg_reg r[NT];
	struct lg_user *users = calloc((size_t)n, sizeof *users);
	uint64_t t0 = lg_now_ns();

	if (!users)
		lg_die("out of memory");
	for (int i = 0; i < NT; i++) {
		r[i] = (struct lg_reg){.server = server, .prefix = prefix, .users = users,
				       .from = (int)((long long)n * i / NT), .to = (int)((long long)n * (i + 1) / NT)};
		if (pthread_create(&r[i].th, NULL, lg_register_main, &r[i]) != 0)
			lg_die("cannot start thread");
	}
	for (int i = 0; i < NT; i++)
		pthread_join(r[i].th, NULL);
	lg_log("registered %d users on %s in %.1f s", n, server, (double)(lg_now_ns() - t0) / 1e9);
	return users;
}

static void lg_setup_users(struct lg *g, int n)
{
	g->users = lg_register(g->o.server, "", n);
	g->nusers = n;
}

void lg_add_members(const char *server, const char *owner_token, int64_t chat_id, const struct lg_user *users,
		    int from, int to)
{
	struct parley_client *c = lg_client_at(server, owner_token);
	struct parley_error err;

	for (int i = from; i < to; i += LG_ADD_BATCH) {
		json_t *p, *arr = json_array();
		for (int k = i; k < i + LG_ADD_BATCH && k < to; k++)
			json_array_append_new(arr, json_integer(users[k].id));
		p = json_pack("{s:I, s:o}", "chat_id", (json_int_t)chat_id, "user_ids", arr);
		lg_check(parley_call(c, "addChatMembers", p, NULL, &err), &err, "addChatMembers");
		json_decref(p);
	}
	parley_client_free(c);
}

static void lg_setup_chats(struct lg *g)
{
	struct parley_client *c = lg_client(g, g->users[0].token);
	int64_t ids[LG_ADD_BATCH];
	struct parley_error err;
	uint64_t t0 = lg_now_ns();
	int n = 0;

	for (int i = 1; i < LG_GROUP_SIZE; i++)
		ids[n++] = g->users[i].id;
	lg_check(parley_create_group(c, "bench group", ids, (size_t)n, &g->group_id, &err), &err, "createGroup");
	lg_check(parley_create_channel(c, "bench channel", NULL, &g->channel_id, &err), &err, "createChannel");
	parley_client_free(c);
	lg_add_members(g->o.server, g->users[0].token, g->channel_id, g->users, 1, g->o.subscribers + 1);
	lg_log("group %lld (%d members), channel %lld (%d subscribers) in %.1f s", (long long)g->group_id,
	       LG_GROUP_SIZE, (long long)g->channel_id, g->o.subscribers, (double)(lg_now_ns() - t0) / 1e9);
}

/* ---- kept store -------------------------------------------------------------
 * With --state FILE (bench/run.sh passes it when BENCH_STORE_DIR keeps the
 * data folder), the users and chats of server 1 are listed in FILE after
 * they were made, and a later run on the same data folder reads them back
 * instead of registering again: the sessions' tokens do not expire. */

#define LG_STATE_MAGIC "parley-bench-state 1"
#define LG_TOKEN_SCAN "255" /* PARLEY_TOKEN_MAX, for fscanf */
_Static_assert(PARLEY_TOKEN_MAX == 255, "LG_TOKEN_SCAN must match PARLEY_TOKEN_MAX");

/* Reads FILE into g; 0 when it does not exist, dies when it does not fit
 * this run's sizes. */
static int lg_state_load(struct lg *g, int nusers)
{
	FILE *f = fopen(g->o.state, "r");
	char magic[64];
	int n, subs, fmax, pairs, ok = 1;

	if (!f)
		return 0;
	if (!fgets(magic, sizeof magic, f) || strncmp(magic, LG_STATE_MAGIC, strlen(LG_STATE_MAGIC)) ||
	    fscanf(f, "%d %d %d %d %" SCNd64 " %" SCNd64, &n, &subs, &fmax, &pairs, &g->group_id,
		   &g->channel_id) != 6)
		lg_die("%s: not a state file of this generator", g->o.state);
	if (n != nusers || subs != g->o.subscribers || fmax != g->o.fanout_max || pairs != g->o.pairs)
		lg_die("%s was written for %d users, %d subscribers, fan-out %d, %d pairs; this run needs %d, %d, %d, %d "
		       "(use the same size options as the run that built the store)",
		       g->o.state, n, subs, fmax, pairs, nusers, g->o.subscribers, g->o.fanout_max, g->o.pairs);
	for (int k = 0; k < 3; k++)
		if (fscanf(f, "%" SCNd64 " %d", &g->fan_chat[k], &g->fan_n[k]) != 2)
			ok = 0;
	g->users = calloc((size_t)n, sizeof *g->users);
	if (!g->users)
		lg_die("out of memory");
	for (int i = 0; ok && i < n; i++)
		if (fscanf(f, "%" SCNd64 " %" LG_TOKEN_SCAN "s", &g->users[i].id, g->users[i].token) != 2)
			ok = 0;
	fclose(f);
	if (!ok)
		lg_die("%s is truncated", g->o.state);
	g->nusers = n;
	lg_log("reusing the %d users, the group and the 4 channels listed in %s", n, g->o.state);
	return 1;
}

static void lg_state_save(const struct lg *g)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", g->o.state);
	f = fopen(tmp, "w");
	if (!f)
		lg_die("cannot write %s", tmp);
	fprintf(f, "%s\n%d %d %d %d %" PRId64 " %" PRId64 "\n", LG_STATE_MAGIC, g->nusers, g->o.subscribers,
		g->o.fanout_max, g->o.pairs, g->group_id, g->channel_id);
	for (int k = 0; k < 3; k++)
		fprintf(f, "%" PRId64 " %d\n", g->fan_chat[k], g->fan_n[k]);
	for (int i = 0; i < g->nusers; i++)
		fprintf(f, "%" PRId64 " %s\n", g->users[i].id, g->users[i].token);
	if (fclose(f) != 0 || rename(tmp, g->o.state) != 0)
		lg_die("cannot write %s", g->o.state);
}

/* ---- workloads ---------------------------------------------------------------- */

static int lg_op_send(struct lg_worker *w, struct parley_error *err)
{
	return parley_send_message(w->c, w->chat_id, LG_TEXT, 0, NULL, err);
}

static int lg_op_health(struct lg_worker *w, struct parley_error *err)
{
	return parley_health(w->c, err);
}

static int lg_op_get_me(struct lg_worker *w, struct parley_error *err)
{
	return parley_get_me(w->c, NULL, err);
}

/* One getHistory limit 50, preceded by one GET /healthz on the same
 * connection whose time goes to the second series (the baseline). */
static int lg_op_history(struct lg_worker *w, struct parley_error *err)
{
	json_t *msgs = NULL;
	uint64_t t0 = lg_now_ns();
	int rc;

	if ((rc = parley_health(w->c, err)) < 0)
		return rc;
	lg_lat_add(&w->lat2, lg_now_ns() - t0);
	rc = parley_get_history(w->c, w->chat_id, 0, 0, 50, &msgs, err);
	if (rc == 0 && json_array_size(msgs) != 50) {
		parley_error_clear(err);
		snprintf(err->code, sizeof err->code, "SHORT_PAGE");
		snprintf(err->description, sizeof err->description, "%zu messages", json_array_size(msgs));
		rc = PARLEY_EPROTO;
	}
	json_decref(msgs);
	return rc;
}

/* One subscriber fetches the channel's latest post; the thread cycles
 * through its share of the subscribers' sessions. */
static int lg_op_fetch(struct lg_worker *w, struct parley_error *err)
{
	struct lg *g = w->d->g;
	int nthreads = w->d->nthreads;
	int sub = 1 + (w->idx + nthreads * w->rot++) % g->o.subscribers;
	json_t *msgs = NULL;
	int rc;

	if (w->rot >= g->o.subscribers)
		w->rot = 0;
	parley_client_set_token(w->c, g->users[sub].token);
	rc = parley_get_history(w->c, w->chat_id, 0, 0, 1, &msgs, err);
	if (rc == 0) {
		json_t *id = json_object_get(json_array_get(msgs, 0), "message_id");
		if (!json_is_integer(id) || json_integer_value(id) != g->latest_post)
			w->stale++;
	}
	json_decref(msgs);
	return rc;
}

/* Fsync baseline: overwrites LG_FSYNC_BYTES at a time, in order, in a
 * preallocated file in the server's data folder and fdatasyncs each, as a
 * SQLite WAL commit does once the WAL has reached its working size (the
 * file's size never changes, so no metadata is journalled); n samples. */
static void lg_baseline_fsync(struct lg *g, int n)
{
	char path[4096], block[LG_FSYNC_BYTES];
	struct lg_lat l = {0};
	int fd;

	snprintf(path, sizeof path, "%s/bench-fsync-probe", g->o.data);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0) {
		lg_log("fsync probe: cannot create %s: %s", path, strerror(errno));
		return;
	}
	memset(block, 'x', sizeof block);
	for (int i = 0; i < n; i++)
		if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
			goto out;
	if (fsync(fd) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = lg_now_ns();
		if (pwrite(fd, block, sizeof block, (off_t)i * LG_FSYNC_BYTES) != (ssize_t)sizeof block ||
		    fdatasync(fd) < 0)
			goto out;
		lg_lat_add(&l, lg_now_ns() - t0);
	}
	lg_put(g, "baseline", "fsync (4 KiB write + fdatasync) p50", "ms", NULL, lg_lat_ms(&l, 0.5));
	lg_put(g, "baseline", "fsync (4 KiB write + fdatasync) p99", "ms", NULL, lg_lat_ms(&l, 0.99));
out:
	if (l.n < (size_t)n)
		lg_log("fsync probe: %s", strerror(errno));
	close(fd);
	unlink(path);
	lg_lat_release(&l);
}

/* Round trips that do no work: GET /healthz (answered on the loop thread)
 * and getMe (authenticated, through a reader thread), one thread. */
static void lg_baseline_rtt(struct lg *g)
{
	struct lg_drive d = {.g = g, .nthreads = 1, .max_ops = g->o.quick ? 3000 : 10000};
	struct lg_worker *w = lg_workers_new(g, 1, g->users[1].token);
	struct lg_run r;

	lg_workers_connect(w, 1);
	d.op = lg_op_health;
	lg_drive_run(&d, w, &r);
	lg_put(g, "baseline", "GET /healthz p50", "ms", NULL, r.p50);
	lg_put(g, "baseline", "GET /healthz p99", "ms", NULL, r.p99);
	d.op = lg_op_get_me;
	lg_drive_run(&d, w, &r);
	lg_put(g, "baseline", "getMe p50", "ms", NULL, r.p50);
	lg_put(g, "baseline", "getMe p99", "ms", NULL, r.p99);
	if (r.ops > 0 && r.server_cpu >= 0)
		lg_put(g, "baseline", "server CPU per 1,000 getMe", "CPU-s", NULL, r.server_cpu * 1000 / r.ops);
	lg_workers_free(w, 1);
}

struct lg_open {
	pthread_t th;
	struct lg *g;
	struct parley_client **c;  /* NULL: warm up on one connection instead */
	int from, to;
	int failed;
};

/* Connection i authenticates as this user. */
static const char *lg_conn_token(const struct lg *g, int i)
{
	return g->users[1 + i % (g->nusers - 1)].token;
}

static void *lg_open_main(void *arg)
{
	struct lg_open *o = arg;
	struct lg *g = o->g;
	struct parley_client *one = o->c ? NULL : lg_client(g, NULL);

	for (int i = o->from; i < o->to; i++) {
		struct parley_error err;
		struct parley_client *c = one;
		if (o->c)
			c = o->c[i] = lg_client(g, lg_conn_token(g, i));
		else
			parley_client_set_token(c, lg_conn_token(g, i));
		if (parley_get_me(c, NULL, &err) < 0 && !o->failed++)
			lg_log("connection %d: %s %s", i, err.code, err.description);
	}
	parley_client_free(one);
	return NULL;
}

/* Opens o.conns keep-alive connections, each authenticated by one getMe,
 * from a few threads; stores the clients in c.  With c NULL, makes the same
 * getMe calls over one connection per thread instead (to warm the server's
 * caches).  Returns the seconds taken. */
static double lg_conns_open(struct lg *g, struct parley_client **c)
{
	enum { NT = 8 };
	struct lg_open o[NT];
	uint64_t t0 = lg_now_ns();

	for (int i = 0; i < NT; i++) {
		o[i] = (struct lg_open){.g = g, .c = c, .from = g->o.conns * i / NT, .to = g->o.conns * (i + 1) / NT};
		if (pthread_create(&o[i].th, NULL, lg_open_main, &o[i]) != 0)
			lg_die("cannot start thread");
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(o[i].th, NULL);
		g->failures += (unsigned long long)o[i].failed;
	}
	return (double)(lg_now_ns() - t0) / 1e9;
}

struct lg_warm {
	pthread_t th;
	struct lg *g;
	int from, to;
};

static void *lg_warm_main(void *arg)
{
	struct lg_warm *w = arg;
	struct parley_client *c = lg_client(w->g, NULL);

	for (int pass = 0; pass < 2; pass++)
		for (int i = w->from; i < w->to; i++) {
			struct parley_error err;
			parley_client_set_token(c, w->g->users[1 + i].token);
			if (parley_get_me(c, NULL, &err) < 0)
				lg_die("getMe: %s %s", err.code, err.description);
		}
	parley_client_free(c);
	return NULL;
}

/* Looks up the sessions of users[1..n] twice (getMe over 8 connections),
 * so the store's page caches hold them before connections are counted. */
void lg_warm_sessions(struct lg *g, int n)
{
	enum { NT = 8 };
	struct lg_warm w[NT];

	for (int i = 0; i < NT; i++) {
		w[i] = (struct lg_warm){.g = g, .from = n * i / NT, .to = n * (i + 1) / NT};
		if (pthread_create(&w[i].th, NULL, lg_warm_main, &w[i]) != 0)
			lg_die("cannot start thread");
	}
	for (int i = 0; i < NT; i++)
		pthread_join(w[i].th, NULL);
}

/* Connections held: each run opens o.conns more keep-alive connections,
 * each authenticated by one getMe, and compares the server's RSS before and
 * after.  Earlier runs' connections stay open (when the file limit allows),
 * so a run never just reuses memory its predecessor freed.  All are closed
 * at the end. */
static void lg_wl_connections(struct lg *g)
{
	int keep = (long long)g->o.runs * g->o.conns <= LG_HELD_MAX;
	struct parley_client **c = calloc((size_t)g->o.runs * (size_t)g->o.conns, sizeof *c);
	long rss0, rss1, rss2, base = 0;
	double t, open0, open1;

	if (!c)
		lg_die("out of memory");
	/* The same sessions' lookups first, twice, so the store's page caches
	 * already hold them and the RSS growth below is the connections'. */
	lg_conns_open(g, NULL);
	lg_conns_open(g, NULL);
	for (int run = 0; run < g->o.runs; run++) {
		struct parley_client **batch = c + (size_t)(keep ? run : 0) * (size_t)g->o.conns;
		lg_sleep_ms(200);
		rss0 = lg_server_rss_kib(g->o.pid);
		open0 = lg_metric(g, "parley_connections_open");
		if (!run)
			base = rss0;
		t = lg_conns_open(g, batch);
		lg_sleep_ms(300);
		rss1 = lg_server_rss_kib(g->o.pid);
		open1 = lg_metric(g, "parley_connections_open");
		lg_put(g, "http connections", "connections added (server's count)", "conns", NULL, open1 - open0);
		lg_put(g, "http connections", "server RSS before", "MiB", NULL, (double)rss0 / 1024);
		lg_put(g, "http connections", "server RSS after opening", "MiB", NULL, (double)rss1 / 1024);
		lg_put(g, "http connections", "memory per idle connection", "KiB/conn", NULL,
		       (double)(rss1 - rss0) / (double)g->o.conns);
		lg_put(g, "http connections", "open + authenticate rate", "conns/s", NULL, g->o.conns / t);
		if (!keep)
			for (int i = 0; i < g->o.conns; i++)
				parley_client_free(batch[i]);
	}
	for (size_t i = 0; keep && i < (size_t)g->o.runs * (size_t)g->o.conns; i++)
		parley_client_free(c[i]);
	free(c);
	lg_sleep_ms(300);
	rss2 = lg_server_rss_kib(g->o.pid);
	lg_put(g, "http connections", "server RSS before the first run", "MiB", NULL, (double)base / 1024);
	lg_put(g, "http connections", "server RSS after closing them all", "MiB", NULL, (double)rss2 / 1024);
}

/* Durable 1:1 messages: thread i is users[1+2i] writing to users[2+2i]. */
static void lg_wl_direct(struct lg *g, double seconds, int record)
{
	int n = g->o.threads;
	struct lg_drive d = {.g = g, .op = lg_op_send, .nthreads = n, .seconds = seconds};
	struct lg_worker *w = calloc((size_t)n, sizeof *w);
	struct lg_run r;

	if (!w)
		lg_die("out of memory");
	for (int i = 0; i < n; i++) {
		w[i].c = lg_client(g, g->users[1 + 2 * i].token);
		w[i].chat_id = g->users[2 + 2 * i].id;
	}
	lg_workers_connect(w, n);
	lg_drive_run(&d, w, &r);
	g->history_count += (long long)w[0].ops;
	if (record)
		lg_put_write_run(g, "http 1:1", "", "msgs/s", &r);
	lg_workers_free(w, n);
}

/* Messages into the 200-member group: thread i is member users[1+i]. */
static void lg_wl_group(struct lg *g)
{
	int n = g->o.threads;
	struct lg_drive d = {.g = g, .op = lg_op_send, .nthreads = n, .seconds = g->o.seconds};
	struct lg_worker *w = calloc((size_t)n, sizeof *w);
	struct lg_run r;

	if (!w)
		lg_die("out of memory");
	for (int i = 0; i < n; i++) {
		w[i].c = lg_client(g, g->users[1 + i].token);
		w[i].chat_id = g->group_id;
	}
	lg_workers_connect(w, n);
	lg_drive_run(&d, w, &r);
	lg_put_write_run(g, "http group-200", "", "msgs/s", &r);
	lg_workers_free(w, n);
}

/* The channel: its owner posts from o.threads connections, then o.fetchers
 * threads fetch the latest post as the subscribers, each thread cycling
 * through its share of them. */
static void lg_wl_channel(struct lg *g)
{
	int np = g->o.threads, nf = g->o.fetchers;
	struct lg_drive d = {.g = g, .op = lg_op_send, .nthreads = np, .seconds = g->o.seconds};
	struct lg_worker *w = lg_workers_new(g, np, g->users[0].token);
	struct parley_client *c;
	struct parley_error err;
	json_t *msgs = NULL;
	struct lg_run r;
	char name[64];

	for (int i = 0; i < np; i++)
		w[i].chat_id = g->channel_id;
	lg_workers_connect(w, np);
	lg_drive_run(&d, w, &r);
	lg_put_write_run(g, "http channel", "post", "posts/s", &r);
	lg_workers_free(w, np);

	/* What the fetchers must see: the newest post. */
	c = lg_client(g, g->users[0].token);
	lg_check(parley_get_history(c, g->channel_id, 0, 0, 1, &msgs, &err), &err, "getHistory");
	g->latest_post = json_integer_value(json_object_get(json_array_get(msgs, 0), "message_id"));
	json_decref(msgs);
	parley_client_free(c);

	d = (struct lg_drive){.g = g, .op = lg_op_fetch, .nthreads = nf, .seconds = g->o.seconds};
	w = lg_workers_new(g, nf, NULL);
	for (int i = 0; i < nf; i++)
		w[i].chat_id = g->channel_id;
	lg_workers_connect(w, nf);
	lg_drive_run(&d, w, &r);
	lg_put(g, "http channel", "deliveries (getHistory of latest post)", "fetches/s", NULL, r.rate);
	lg_put(g, "http channel", "delivery getHistory p50", "ms", NULL, r.p50);
	lg_put(g, "http channel", "delivery getHistory p99", "ms", NULL, r.p99);
	snprintf(name, sizeof name, "time to reach all %d subscribers", g->o.subscribers);
	lg_put(g, "http channel", name, "s", NULL, r.rate > 0 ? g->o.subscribers / r.rate : 0);
	lg_put(g, "http channel", "stale fetches (not the latest post)", "fetches", NULL, (double)r.stale);
	if (r.ops > 0 && r.server_cpu >= 0)
		lg_put(g, "http channel", "server CPU per 1,000 deliveries", "CPU-s", NULL, r.server_cpu * 1000 / r.ops);
	lg_put_cpu(g, "http channel", "fetch", &r);
	lg_workers_free(w, nf);
}

/* History page: getHistory limit 50 on the 1:1 chat of users[1] and
 * users[2], alternating with GET /healthz on the same connection; one
 * thread (latency), then o.threads threads (pages per second). */
static void lg_wl_history(struct lg *g)
{
	struct lg_drive d = {.g = g, .op = lg_op_history, .nthreads = 1, .seconds = g->o.seconds / 2};
	struct lg_worker *w = lg_workers_new(g, g->o.threads, g->users[1].token);
	struct lg_run r;

	for (int i = 0; i < g->o.threads; i++)
		w[i].chat_id = g->users[2].id;
	lg_workers_connect(w, g->o.threads);
	lg_drive_run(&d, w, &r);
	lg_put(g, "http history", "getHistory limit 50 p50", "ms", NULL, r.p50);
	lg_put(g, "http history", "getHistory limit 50 p99", "ms", NULL, r.p99);
	lg_put(g, "http history", "GET /healthz p50, same connection", "ms", NULL, r.p50b);
	lg_put(g, "http history", "GET /healthz p99, same connection", "ms", NULL, r.p99b);
	d.nthreads = g->o.threads;
	lg_drive_run(&d, w, &r);
	lg_put(g, "http history", "pages/s (with as many /healthz)", "pages/s", NULL, r.rate);
	if (r.ops > 0 && r.server_cpu >= 0)
		lg_put(g, "http history", "server CPU per 1,000 pages", "CPU-s", NULL, r.server_cpu * 1000 / r.ops);
	lg_put_cpu(g, "http history", "", &r);
	lg_workers_free(w, g->o.threads);
}

/* Fills the history chat up to o.history_min messages. */
static void lg_history_fill(struct lg *g)
{
	long long need = g->o.history_min - g->history_count;
	int n = g->o.threads;
	struct lg_drive d = {.g = g, .op = lg_op_send, .nthreads = n};
	struct lg_worker *w;
	struct lg_run r;

	if (need <= 0)
		return;
	d.max_ops = (need + n - 1) / n;
	w = lg_workers_new(g, n, g->users[1].token);
	for (int i = 0; i < n; i++)
		w[i].chat_id = g->users[2].id;
	lg_drive_run(&d, w, &r);
	g->history_count += (long long)r.ops;
	lg_workers_free(w, n);
}

/* ---- main --------------------------------------------------------------------- */

static void lg_usage(void)
{
	fprintf(stderr,
		"usage: loadgen --server URL --pid PID --data DIR --out FILE [options]\n"
		"  --quick            small sizes, one run (about a minute)\n"
		"  --big              build the store up to 10 million messages (opt-in: it takes a while)\n"
		"  --runs N           runs per workload; the median is reported (default 3)\n"
		"  --threads N        HTTP closed-loop writer threads (default 16)\n"
		"  --fetchers N       HTTP channel reader threads (default 32)\n"
		"  --conns N          idle HTTP connections to hold (default 2000)\n"
		"  --subscribers N    HTTP channel subscribers (default 10000)\n"
		"  --seconds S        length of each timed HTTP run (default 5)\n"
		"  --live-seconds S   length of each timed live run (default 3)\n"
		"  --paced-seconds S  length of each timed paced live run (default 10)\n"
		"  --idle N           idle WebSocket / MQTT connections held at the last step (default 15000)\n"
		"  --steps N          steps to reach them (default 3)\n"
		"  --fanout N         largest channel fan-out (default 10000)\n"
		"  --pairs N          1:1 pairs (default 64)\n"
		"  --window N         1:1 messages in flight per pair (default 32)\n"
		"  --rate N           paced offered load in messages per second (default 1000)\n"
		"  --store N          messages in the big store (default 1000000; --big 10000000)\n"
		"  --state FILE       reuse the users and chats listed in FILE (a kept store), or list them there\n"
		"  --server2 URL --pid2 PID   a second parleyd with large_group_threshold=1000\n"
		"  --mqtt HOST:PORT --mqtt-pid PID   the mosquitto broker to compare with\n"
		"  --pinning TEXT     how the processes were pinned, for the report\n"
		"  --versions TEXT    versions of the programs, for the report\n"
		"  --mqtt-version TEXT   the broker's version, for the report\n"
		"  --shapes LIST      live shapes to run, comma-separated: 1:1, 1:1 paced, channel-100 paced,\n"
		"                     fan-out N, group-200, group-200 paced (default: all)\n"
		"  --only NAME        one workload: http (connections, 1:1, group-200, channel, history), live, idle,\n"
		"                     store\n");
	exit(2);
}

static long lg_arg_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v < lo || v > hi)
		lg_die("%s must be an integer in [%ld, %ld]", what, lo, hi);
	return v;
}

static void lg_parse(struct lg_opts *o, int argc, char **argv)
{
	int quick = 0, big = 0;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--big"))
			big = 1;
	*o = (struct lg_opts){.quick = quick, .big = big, .runs = quick ? 1 : 3, .threads = quick ? 8 : 16,
			      .fetchers = quick ? 16 : 32, .conns = quick ? 1000 : 2000,
			      .subscribers = quick ? 2000 : 10000, .seconds = quick ? 1 : 5,
			      .history_min = quick ? 1000 : 5000, .ws_idle = quick ? 6000 : 15000, .ws_steps = 3,
			      .fanout_max = quick ? 2000 : 10000, .pairs = 64, .window = 32, .rate = 1000,
			      .live_seconds = quick ? 1.0 : 3.0, .paced_seconds = quick ? 2.0 : 10.0,
			      .store_msgs = big ? 10000000 : quick ? 50000 : 1000000};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick") || !strcmp(a, "--big"))
			continue;
		if (!v)
			lg_usage();
		i++;
		if (!strcmp(a, "--server"))
			o->server = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--data"))
			o->data = v;
		else if (!strcmp(a, "--pinning"))
			o->pinning = v;
		else if (!strcmp(a, "--only"))
			o->only = v;
		else if (!strcmp(a, "--pid"))
			o->pid = lg_arg_long(v, 1, 1L << 30, "--pid");
		else if (!strcmp(a, "--runs"))
			o->runs = (int)lg_arg_long(v, 1, LG_RUNS_MAX, "--runs");
		else if (!strcmp(a, "--threads"))
			o->threads = (int)lg_arg_long(v, 1, LG_THREADS_MAX, "--threads");
		else if (!strcmp(a, "--fetchers"))
			o->fetchers = (int)lg_arg_long(v, 1, LG_THREADS_MAX, "--fetchers");
		else if (!strcmp(a, "--conns"))
			o->conns = (int)lg_arg_long(v, 1, LG_HELD_MAX, "--conns");
		else if (!strcmp(a, "--subscribers"))
			o->subscribers = (int)lg_arg_long(v, LG_GROUP_SIZE, 1000000, "--subscribers");
		else if (!strcmp(a, "--seconds"))
			o->seconds = (double)lg_arg_long(v, 1, 3600, "--seconds");
		else if (!strcmp(a, "--live-seconds"))
			o->live_seconds = (double)lg_arg_long(v, 1, 3600, "--live-seconds");
		else if (!strcmp(a, "--paced-seconds"))
			o->paced_seconds = (double)lg_arg_long(v, 1, 3600, "--paced-seconds");
		else if (!strcmp(a, "--idle"))
			o->ws_idle = (int)lg_arg_long(v, 1, LG_HELD_MAX, "--idle");
		else if (!strcmp(a, "--steps"))
			o->ws_steps = (int)lg_arg_long(v, 1, LG_RUNS_MAX, "--steps");
		else if (!strcmp(a, "--fanout"))
			o->fanout_max = (int)lg_arg_long(v, LG_GROUP_SIZE, LG_HELD_MAX, "--fanout");
		else if (!strcmp(a, "--pairs"))
			o->pairs = (int)lg_arg_long(v, 1, 4096, "--pairs");
		else if (!strcmp(a, "--window"))
			o->window = (int)lg_arg_long(v, 1, 4096, "--window");
		else if (!strcmp(a, "--rate"))
			o->rate = (int)lg_arg_long(v, 10, 1000000, "--rate");
		else if (!strcmp(a, "--store"))
			o->store_msgs = lg_arg_long(v, 10000, 1000000000L, "--store");
		else if (!strcmp(a, "--state"))
			o->state = v;
		else if (!strcmp(a, "--server2"))
			o->server2 = v;
		else if (!strcmp(a, "--pid2"))
			o->pid2 = lg_arg_long(v, 1, 1L << 30, "--pid2");
		else if (!strcmp(a, "--mqtt"))
			o->mqtt = v;
		else if (!strcmp(a, "--mqtt-pid"))
			o->mqtt_pid = lg_arg_long(v, 1, 1L << 30, "--mqtt-pid");
		else if (!strcmp(a, "--shapes"))
			o->shapes = v;
		else if (!strcmp(a, "--versions"))
			o->versions = v;
		else if (!strcmp(a, "--mqtt-version"))
			o->mqtt_version = v;
		else
			lg_usage();
	}
	if (!o->server || !o->out || !o->data || !o->pid)
		lg_usage();
}

/* Whether workload (an HTTP one or a group: "live", "idle", "store") runs
 * under --only; "http" selects every HTTP workload. */
static int lg_want(const struct lg *g, const char *workload)
{
	static const char *http[] = {"connections", "1:1", "group-200", "channel", "history"};

	if (!g->o.only || !strcmp(g->o.only, workload))
		return 1;
	if (!strcmp(g->o.only, "http"))
		for (size_t i = 0; i < sizeof http / sizeof *http; i++)
			if (!strcmp(http[i], workload))
				return 1;
	return 0;
}

/* Waits for the server to answer /healthz (it was just started). */
static void lg_wait_ready(struct lg *g)
{
	struct parley_error err;

	for (int i = 0; i < 100; i++) {
		if (parley_health(g->probe, &err) == 0)
			return;
		lg_sleep_ms(100);
	}
	lg_die("the server at %s does not answer: %s", g->o.server, err.description);
}

int main(int argc, char **argv)
{
	struct lg *g = calloc(1, sizeof *g);
	int nusers, rc;

	if (!g)
		lg_die("out of memory");
	lg_t0 = lg_now_ns();
	lg_parse(&g->o, argc, argv);
	g->probe = lg_client(g, NULL);
	lg_wait_ready(g);
	g->loadavg = lg_loadavg();
	if (g->loadavg > 0.5)
		lg_log("WARNING: load average %.2f before the runs: other work shares the CPUs, figures will be noisy",
		       g->loadavg);
	/* users[0] owns the chats; users[1..] subscribe and receive (HTTP
	 * channel subscribers, live receivers, idle connections); the HTTP
	 * 1:1 pairs and group members are taken from the front of the same
	 * list; the live 1:1 senders are the last o.pairs users. */
	nusers = g->o.subscribers;
	if (nusers < g->o.ws_idle)
		nusers = g->o.ws_idle;
	if (nusers < g->o.fanout_max)
		nusers = g->o.fanout_max;
	if (nusers < 2 * g->o.threads)
		nusers = 2 * g->o.threads;
	if (nusers < g->o.pairs)
		nusers = g->o.pairs;
	nusers += 1 + g->o.pairs;
	if (g->o.threads >= LG_GROUP_SIZE)
		lg_die("--threads must be below %d (the group's size)", LG_GROUP_SIZE);
	if (g->o.mqtt)
		snprintf(g->mqtt_version, sizeof g->mqtt_version, "%s", g->o.mqtt_version ? g->o.mqtt_version : "");
	if (!g->o.state || !lg_state_load(g, nusers)) {
		lg_setup_users(g, nusers);
		lg_setup_chats(g);
		lv_setup_channels(g);
		if (g->o.state)
			lg_state_save(g);
	}
	lv_setup(g);

	/* Idle connections first: a server that has already held and freed
	 * thousands of connections would hand the new ones recycled memory,
	 * and the RSS growth would understate what a connection costs. */
	if (lg_want(g, "idle")) {
		lg_warm_sessions(g, g->o.ws_idle);
		lv_run_idle(g);
	}
	lg_log("warm-up");
	lg_wl_direct(g, g->o.quick ? 1 : 2, 0);
	for (int run = 0; run < g->o.runs; run++) {
		lg_log("baseline, run %d of %d", run + 1, g->o.runs);
		lg_baseline_fsync(g, g->o.quick ? 200 : 500);
		lg_baseline_sqlite(g, g->o.quick ? 50000 : 200000);
		lg_baseline_rtt(g);
	}
	if (lg_want(g, "connections")) {
		lg_log("connections, %d runs", g->o.runs);
		lg_wl_connections(g);
	}
	for (int run = 0; run < g->o.runs; run++) {
		lg_log("messages, run %d of %d", run + 1, g->o.runs);
		if (lg_want(g, "1:1"))
			lg_wl_direct(g, g->o.seconds, 1);
		if (lg_want(g, "group-200"))
			lg_wl_group(g);
		if (lg_want(g, "channel"))
			lg_wl_channel(g);
		if (lg_want(g, "history")) {
			lg_history_fill(g);
			lg_wl_history(g);
		}
	}
	for (int run = 0; run < g->o.runs && lg_want(g, "live"); run++)
		lv_run_live(g, run);
	if (lg_want(g, "store"))
		st_run(g);
	lv_compare_rows(g);
	lg_ratio(g, "ratios", "1:1 send p50 / fsync p50", "http 1:1", "sendMessage latency p50", "baseline",
		 "fsync (4 KiB write + fdatasync) p50");
	lg_ratio(g, "ratios", "live 1:1 messages/s / SQLite row inserts/s", "parley 1:1", "messages per second (received)",
		 "baseline", "SQLite row inserts per second (batches of 100)");
	lg_ratio(g, "ratios", "live 1:1 per server CPU-s / SQLite rows per CPU-s", "parley 1:1",
		 "deliveries per server CPU-second", "baseline", "SQLite row inserts per CPU-second");
	lg_ratio(g, "ratios", "group send p50 / 1:1 send p50", "http group-200", "sendMessage latency p50", "http 1:1",
		 "sendMessage latency p50");
	lg_ratio(g, "ratios", "channel post p50 / 1:1 send p50", "http channel", "sendMessage latency p50", "http 1:1",
		 "sendMessage latency p50");
	lg_ratio(g, "ratios", "history p50 / healthz p50", "http history", "getHistory limit 50 p50", "http history",
		 "GET /healthz p50, same connection");
	lg_ratio(g, "ratios", "history p50 / getMe p50", "http history", "getHistory limit 50 p50", "baseline",
		 "getMe p50");
	lg_ratio(g, "ratios", "delivery CPU / getMe CPU", "http channel", "server CPU per 1,000 deliveries", "baseline",
		 "server CPU per 1,000 getMe");
	lg_ratio(g, "ratios", "history page CPU / getMe CPU", "http history", "server CPU per 1,000 pages", "baseline",
		 "server CPU per 1,000 getMe");

	lg_report_print(g);
	lg_report_write(g, g->o.out);
	rc = g->failures ? 1 : 0;
	if (rc)
		lg_log("%llu calls failed during measurement", g->failures);
	parley_client_free(g->probe);
	free(g->users);
	free(g->users2);
	free(g);
	return rc;
}
