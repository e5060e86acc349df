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

/* Named limits of the generator. */
#define LG_RUNS_MAX 9              /* --runs */
#define LG_THREADS_MAX 256         /* --threads, --fetchers */
#define LG_FIGS_MAX 96             /* figures in one report */
#define LG_SAMPLES_MAX (1u << 22)  /* latency samples kept per thread and run */
#define LG_GROUP_SIZE 200          /* members of the group workload, creator included */
#define LG_HELD_MAX 18000          /* connections held at once (a process may open 20,000 files here) */
#define LG_ERRORS_MAX 1000         /* failed calls after which a thread gives up */
#define LG_ADD_BATCH 200           /* user ids per addChatMembers call (the API's limit) */
#define LG_FSYNC_BYTES 4096        /* bytes written per fsync probe */
#define LG_PASSWORD "bench-password"
#define LG_TEXT "The quick brown fox jumps over the lazy dog: a benchmark message of ordinary length."

struct lg_opts {
	const char *server;
	const char *out;
	const char *data;      /* the server's data folder: the fsync probe writes there */
	const char *pinning;   /* how run.sh pinned the processes, for the report */
	const char *only;      /* run just this workload (and the baselines) */
	long pid;
	int quick;
	int runs;
	int threads;           /* closed-loop writer threads */
	int fetchers;          /* channel readers */
	int conns;             /* idle connections held */
	int subscribers;       /* channel subscribers */
	double seconds;        /* per timed run */
	int history_min;       /* messages in the history chat */
};

struct lg_user {
	int64_t id;
	char token[PARLEY_TOKEN_MAX + 1];
};

/* One figure of the report, with its value from each run. */
struct lg_fig {
	char workload[32];
	char name[64];
	char unit[24];
	const char *note;
	double v[LG_RUNS_MAX];
	int n;
};

struct lg_report {
	struct lg_fig f[LG_FIGS_MAX];
	int n;
};

struct lg {
	struct lg_opts o;
	struct lg_user *users;     /* users[0] owns the group and the channel */
	int nusers;
	int64_t group_id, channel_id;
	int64_t latest_post;       /* id the channel fetchers expect to see */
	long long history_count;   /* messages known to be in the history chat */
	struct parley_client *probe; /* main thread's client: /metrics, /healthz */
	struct lg_report rep;
	unsigned long long failures;
	double loadavg;            /* 1-minute load average before the runs */
};

static const char *lg_durable = "durability: fsync per group commit";

/* ---- small utilities ------------------------------------------------- */

static void lg_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void lg_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void lg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lg_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lg_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* This process's CPU seconds (user + system, all threads). */
static double lg_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* The server's CPU seconds from /proc/PID/stat (utime + stime), or -1. */
static double lg_server_cpu(long pid)
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
static long lg_server_rss_kib(long pid)
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
static void lg_machine_cpu(double *busy, double *steal)
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

struct lg_lat {
	uint64_t *v;   /* nanoseconds */
	size_t n, cap;
};

static void lg_lat_add(struct lg_lat *l, uint64_t ns)
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

static void lg_lat_release(struct lg_lat *l)
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
static void lg_lat_merge(struct lg_lat *dst, const struct lg_lat *src)
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
static double lg_lat_ms(struct lg_lat *l, double q)
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
static void lg_put(struct lg *g, const char *workload, const char *name, const char *unit, const char *note,
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

static double lg_get(struct lg *g, const char *workload, const char *name)
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

static void lg_report_print(struct lg *g)
{
	const char *last = "";

	printf("\nParley %s benchmark: median of %d run%s per figure; %d writer threads, %d fetchers, %d "
	       "connections, %d subscribers, %.0f s per timed run; server sync=full; pinning: %s\n",
	       PARLEY_VERSION, g->o.runs, g->o.runs == 1 ? "" : "s", g->o.threads, g->o.fetchers, g->o.conns,
	       g->o.subscribers, g->o.seconds, g->o.pinning ? g->o.pinning : "none");
	printf("\n%-12s %-38s %12s  %-14s %s\n", "workload", "figure", "median", "unit", "");
	printf("%-12s %-38s %12s  %-14s %s\n", "--------", "------", "------", "----", "");
	for (int i = 0; i < g->rep.n; i++) {
		const struct lg_fig *f = &g->rep.f[i];
		double m = lg_median(f);
		const char *w = strcmp(f->workload, last) ? f->workload : "";
		char val[32];

		if (m != 0 && (m < 0.1 && m > -0.1))
			snprintf(val, sizeof val, "%.4f", m);
		else if (m < 100 && m > -100)
			snprintf(val, sizeof val, "%.2f", m);
		else
			snprintf(val, sizeof val, "%.0f", m);
		printf("%-12s %-38s %12s  %-14s %s\n", w, f->name, val, f->unit, f->note ? f->note : "");
		last = f->workload;
	}
	fflush(stdout);
}

static void lg_report_write(struct lg *g, const char *path)
{
	json_t *doc, *figs = json_array(), *cfg;
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
	cfg = json_pack("{s:b, s:i, s:i, s:i, s:i, s:i, s:f, s:i, s:i, s:s, s:s}", "quick", g->o.quick, "runs",
			g->o.runs, "threads", g->o.threads, "fetchers", g->o.fetchers, "connections", g->o.conns,
			"subscribers", g->o.subscribers, "seconds", g->o.seconds, "group_members", LG_GROUP_SIZE,
			"history_messages_min", g->o.history_min, "sync", "full",
			"pinning", g->o.pinning ? g->o.pinning : "none");
	doc = json_pack("{s:i, s:s, s:s, s:f, s:o, s:o, s:I}", "format", 1, "date", date, "parley_version",
			PARLEY_VERSION, "loadavg_at_start", g->loadavg, "config", cfg, "figures", figs,
			"failed_calls", (json_int_t)g->failures);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	if (!doc || json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) < 0 || rename(tmp, path) < 0)
		lg_die("cannot write %s", path);
	json_decref(doc);
}

/* ---- server counters ----------------------------------------------------- */

/* Reads one un-labelled counter or gauge from GET /metrics; -1 if absent. */
static double lg_metric(struct lg *g, const char *name)
{
	char *body = NULL, *p;
	size_t nlen = strlen(name);
	double v = -1;
	int status = 0;

	if (parley_get(g->probe, "/metrics", &status, &body, NULL, NULL) == 0 && status == 200) {
		for (p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, name, nlen) && p[nlen] == ' ') {
				v = strtod(p + nlen + 1, NULL);
				break;
			}
	}
	free(body);
	return v;
}

/* ---- clients --------------------------------------------------------------- */

static struct parley_client *lg_client(struct lg *g, const char *token)
{
	char err[256];
	struct parley_client *c = parley_client_new(g->o.server, err, sizeof err);

	if (!c)
		lg_die("client for %s: %s", g->o.server, err);
	if (token && parley_client_set_token(c, token) < 0)
		lg_die("bad token");
	return c;
}

static void lg_check(int rc, const struct parley_error *err, const char *what)
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
	struct lg *g;
	int from, to;
};

static void *lg_register_main(void *arg)
{
	struct lg_reg *r = arg;
	struct lg *g = r->g;
	struct parley_client *c = lg_client(g, NULL);

	for (int i = r->from; i < r->to; i++) {
		struct parley_error err;
		char name[40];
		int rc;
		snprintf(name, sizeof name, "bench_%06d", i);
		rc = parley_register(c, name, LG_PASSWORD, NULL, &g->users[i].id, &err);
		lg_check(rc, &err, "register");
		snprintf(g->users[i].token, sizeof g->users[i].token, "%s", parley_client_token(c));
		parley_client_set_token(c, NULL);
	}
	parley_client_free(c);
	return NULL;
}

static void lg_setup_users(struct lg *g, int n)
{
	int nt = g->o.threads < 32 ? 32 : g->o.threads;
	struct lg_reg *r = calloc((size_t)nt, sizeof *r);
	uint64_t t0 = lg_now_ns();

	if (!r || !(g->users = calloc((size_t)n, sizeof *g->users)))
		lg_die("out of memory");
	g->nusers = n;
	for (int i = 0; i < nt; i++) {
		r[i].g = g;
		r[i].from = (int)((long long)n * i / nt);
		r[i].to = (int)((long long)n * (i + 1) / nt);
		if (pthread_create(&r[i].th, NULL, lg_register_main, &r[i]) != 0)
			lg_die("cannot start thread");
	}
	for (int i = 0; i < nt; i++)
		pthread_join(r[i].th, NULL);
	free(r);
	lg_log("registered %d users in %.1f s", n, (double)(lg_now_ns() - t0) / 1e9);
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
	for (int i = 1; i <= g->o.subscribers; i += LG_ADD_BATCH) {
		json_t *p, *arr = json_array();
		for (int k = i; k < i + LG_ADD_BATCH && k <= g->o.subscribers; k++)
			json_array_append_new(arr, json_integer(g->users[k].id));
		p = json_pack("{s:I, s:o}", "chat_id", (json_int_t)g->channel_id, "user_ids", arr);
		lg_check(parley_call(c, "addChatMembers", p, NULL, &err), &err, "addChatMembers");
		json_decref(p);
	}
	parley_client_free(c);
	lg_log("group %lld (%d members), channel %lld (%d subscribers) in %.1f s", (long long)g->group_id,
	       LG_GROUP_SIZE, (long long)g->channel_id, g->o.subscribers, (double)(lg_now_ns() - t0) / 1e9);
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
		lg_put(g, "connections", "connections added (server's count)", "conns", NULL, open1 - open0);
		lg_put(g, "connections", "server RSS before", "MiB", NULL, (double)rss0 / 1024);
		lg_put(g, "connections", "server RSS after opening", "MiB", NULL, (double)rss1 / 1024);
		lg_put(g, "connections", "memory per idle connection", "KiB/conn", NULL,
		       (double)(rss1 - rss0) / (double)g->o.conns);
		lg_put(g, "connections", "open + authenticate rate", "conns/s", NULL, g->o.conns / t);
		if (!keep)
			for (int i = 0; i < g->o.conns; i++)
				parley_client_free(batch[i]);
	}
	for (size_t i = 0; keep && i < (size_t)g->o.runs * (size_t)g->o.conns; i++)
		parley_client_free(c[i]);
	free(c);
	lg_sleep_ms(300);
	rss2 = lg_server_rss_kib(g->o.pid);
	lg_put(g, "connections", "server RSS before the first run", "MiB", NULL, (double)base / 1024);
	lg_put(g, "connections", "server RSS after closing them all", "MiB", NULL, (double)rss2 / 1024);
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
		lg_put_write_run(g, "1:1", "", "msgs/s", &r);
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
	lg_put_write_run(g, "group-200", "", "msgs/s", &r);
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
	lg_put_write_run(g, "channel", "post", "posts/s", &r);
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
	lg_put(g, "channel", "deliveries (getHistory of latest post)", "fetches/s", NULL, r.rate);
	lg_put(g, "channel", "delivery getHistory p50", "ms", NULL, r.p50);
	lg_put(g, "channel", "delivery getHistory p99", "ms", NULL, r.p99);
	snprintf(name, sizeof name, "time to reach all %d subscribers", g->o.subscribers);
	lg_put(g, "channel", name, "s", NULL, r.rate > 0 ? g->o.subscribers / r.rate : 0);
	lg_put(g, "channel", "stale fetches (not the latest post)", "fetches", NULL, (double)r.stale);
	if (r.ops > 0 && r.server_cpu >= 0)
		lg_put(g, "channel", "server CPU per 1,000 deliveries", "CPU-s", NULL, r.server_cpu * 1000 / r.ops);
	lg_put_cpu(g, "channel", "fetch", &r);
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
	lg_put(g, "history", "getHistory limit 50 p50", "ms", NULL, r.p50);
	lg_put(g, "history", "getHistory limit 50 p99", "ms", NULL, r.p99);
	lg_put(g, "history", "GET /healthz p50, same connection", "ms", NULL, r.p50b);
	lg_put(g, "history", "GET /healthz p99, same connection", "ms", NULL, r.p99b);
	d.nthreads = g->o.threads;
	lg_drive_run(&d, w, &r);
	lg_put(g, "history", "pages/s (with as many /healthz)", "pages/s", NULL, r.rate);
	if (r.ops > 0 && r.server_cpu >= 0)
		lg_put(g, "history", "server CPU per 1,000 pages", "CPU-s", NULL, r.server_cpu * 1000 / r.ops);
	lg_put_cpu(g, "history", "", &r);
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
		"  --runs N           runs per workload; the median is reported (default 3)\n"
		"  --threads N        closed-loop writer threads (default 16)\n"
		"  --fetchers N       channel reader threads (default 32)\n"
		"  --conns N          idle connections to hold (default 2000)\n"
		"  --subscribers N    channel subscribers (default 10000)\n"
		"  --seconds S        length of each timed run (default 5)\n"
		"  --pinning TEXT     how the processes were pinned, for the report\n"
		"  --only NAME        one workload: connections, 1:1, group-200, channel, history\n");
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
	int quick = 0;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
	*o = (struct lg_opts){.quick = quick, .runs = quick ? 1 : 3, .threads = quick ? 8 : 16,
			      .fetchers = quick ? 16 : 32, .conns = quick ? 1000 : 2000,
			      .subscribers = quick ? 2000 : 10000, .seconds = quick ? 3 : 5,
			      .history_min = quick ? 1000 : 5000};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick"))
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
		else
			lg_usage();
	}
	if (!o->server || !o->out || !o->data || !o->pid)
		lg_usage();
}

static int lg_want(const struct lg *g, const char *workload)
{
	return !g->o.only || !strcmp(g->o.only, workload);
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
	lg_parse(&g->o, argc, argv);
	g->probe = lg_client(g, NULL);
	lg_wait_ready(g);
	g->loadavg = lg_loadavg();
	if (g->loadavg > 0.5)
		lg_log("WARNING: load average %.2f before the runs: other work shares the CPUs, figures will be noisy",
		       g->loadavg);
	/* users[0] owns the chats; users[1..subscribers] subscribe; 1:1 pairs
	 * and group members are taken from the front of the same list. */
	nusers = g->o.subscribers + 1;
	if (nusers < 2 * g->o.threads + 1)
		nusers = 2 * g->o.threads + 1;
	if (g->o.threads >= LG_GROUP_SIZE)
		lg_die("--threads must be below %d (the group's size)", LG_GROUP_SIZE);
	lg_setup_users(g, nusers);
	lg_setup_chats(g);

	lg_log("warm-up");
	lg_wl_direct(g, g->o.quick ? 1 : 2, 0);
	for (int run = 0; run < g->o.runs; run++) {
		lg_log("baseline, run %d of %d", run + 1, g->o.runs);
		lg_baseline_fsync(g, g->o.quick ? 200 : 500);
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
	lg_ratio(g, "ratios", "1:1 send p50 / fsync p50", "1:1", "sendMessage latency p50", "baseline",
		 "fsync (4 KiB write + fdatasync) p50");
	lg_ratio(g, "ratios", "group send p50 / 1:1 send p50", "group-200", "sendMessage latency p50", "1:1",
		 "sendMessage latency p50");
	lg_ratio(g, "ratios", "channel post p50 / 1:1 send p50", "channel", "sendMessage latency p50", "1:1",
		 "sendMessage latency p50");
	lg_ratio(g, "ratios", "history p50 / healthz p50", "history", "getHistory limit 50 p50", "history",
		 "GET /healthz p50, same connection");
	lg_ratio(g, "ratios", "history p50 / getMe p50", "history", "getHistory limit 50 p50", "baseline",
		 "getMe p50");
	lg_ratio(g, "ratios", "delivery CPU / getMe CPU", "channel", "server CPU per 1,000 deliveries", "baseline",
		 "server CPU per 1,000 getMe");
	lg_ratio(g, "ratios", "history page CPU / getMe CPU", "history", "server CPU per 1,000 pages", "baseline",
		 "server CPU per 1,000 getMe");

	lg_report_print(g);
	lg_report_write(g, g->o.out);
	rc = g->failures ? 1 : 0;
	if (rc)
		lg_log("%llu calls failed during measurement", g->failures);
	parley_client_free(g->probe);
	free(g->users);
	free(g);
	return rc;
}
