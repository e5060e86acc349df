/*
 * lg.h — what the load generator's files share (bench/README.md).
 *
 * loadgen.c holds main(), the report and the HTTP workloads over libparley;
 * evl.c is the epoll loop with its raw WebSocket (wsc) and libmosquitto (mqc)
 * connections; live.c runs the live-delivery workloads on Parley and on
 * Mosquitto in the same shapes; store.c builds the big store and measures
 * history and catch-up on it.  Everything here is single-process and
 * reports through lg_put().
 */
#ifndef LG_H
#define LG_H

#include <stddef.h>
#include <stdint.h>

#include "parley.h"

/* Named limits of the generator. */
#define LG_RUNS_MAX 9              /* --runs */
#define LG_THREADS_MAX 256         /* --threads, --fetchers */
#define LG_FIGS_MAX 640            /* figures in one report */
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
	const char *server2;   /* a second parleyd with large_group_threshold=1000, or NULL */
	const char *mqtt;      /* "host:port" of the mosquitto broker, or NULL */
	const char *out;
	const char *data;      /* the server's data folder: the fsync probe writes there */
	const char *pinning;   /* how run.sh pinned the processes, for the report */
	const char *only;      /* run just this workload (and the baselines) */
	const char *shapes;    /* live shapes to run (comma-separated), NULL: all */
	const char *versions;  /* versions line from run.sh, for the report */
	const char *mqtt_version; /* the broker's, for the report */
	const char *state;     /* --state: users and chats of a kept store, or NULL */
	long pid, pid2, mqtt_pid;
	int quick;
	int big;               /* --big: build the store up to --store messages (10 million) */
	int runs;
	int threads;           /* closed-loop writer threads */
	int fetchers;          /* channel readers */
	int conns;             /* idle HTTP connections held */
	int subscribers;       /* channel subscribers (HTTP channel workload) */
	double seconds;        /* per timed run */
	int history_min;       /* messages in the history chat */
	/* live workloads */
	int ws_idle;           /* idle WebSocket / MQTT connections held at the last step */
	int ws_steps;          /* steps to reach ws_idle */
	int fanout_max;        /* largest fan-out (10,000) */
	int pairs;             /* 1:1 pairs */
	int window;            /* messages in flight per 1:1 pair */
	int rate;              /* paced offered load, messages per second */
	double live_seconds;   /* per timed live run */
	double paced_seconds;  /* per timed paced (open-loop) live run: its p99 needs more posts */
	long long store_msgs;  /* messages the big store reaches */
};

struct lg_user {
	int64_t id;
	char token[PARLEY_TOKEN_MAX + 1];
};

/* One figure of the report, with its value from each run. */
struct lg_fig {
	char workload[40];
	char name[80];
	char unit[24];
	const char *note;
	double v[LG_RUNS_MAX];
	int n;
};

struct lg_report {
	struct lg_fig f[LG_FIGS_MAX];
	int n;
};

/* One row of the side-by-side table: a Parley figure and Mosquitto's at
 * QoS 1 and QoS 0 (m0 "" when the figure has no QoS). */
struct lg_cmp {
	char label[72];
	char pw[40], pf[80];   /* Parley's workload and figure */
	char m1[40], m0[40];   /* Mosquitto's workloads */
	char mf[80];           /* Mosquitto's figure */
	int higher_better;
	const char *note;
};

#define LG_CMPS_MAX 96

struct lg {
	struct lg_opts o;
	struct lg_user *users;     /* users[0] owns the group and the channels */
	int nusers;
	struct lg_user *users2;    /* the users of server2 */
	int nusers2;
	int64_t group_id, channel_id;
	int64_t group2_id;         /* the 200-member group on server2 */
	int64_t fan_chat[3];       /* channels with 100, 1,000 and fanout_max subscribers */
	int fan_n[3];
	int64_t latest_post;       /* id the channel fetchers expect to see */
	long long history_count;   /* messages known to be in the history chat */
	struct parley_client *probe; /* main thread's client: /metrics, /healthz */
	struct lg_report rep;
	struct lg_cmp cmp[LG_CMPS_MAX];
	int ncmp;
	unsigned long long failures;
	double loadavg;            /* 1-minute load average before the runs */
	char mqtt_version[64];
};

extern const char *lg_durable;

void lg_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void lg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t lg_now_ns(void);
void lg_sleep_ms(long ms);
double lg_self_cpu(void);
double lg_server_cpu(long pid);
long lg_server_rss_kib(long pid);
void lg_machine_cpu(double *busy, double *steal);

/* Latency samples in nanoseconds. */
struct lg_lat {
	uint64_t *v;
	size_t n, cap;
};

void lg_lat_add(struct lg_lat *l, uint64_t ns);
void lg_lat_release(struct lg_lat *l);
void lg_lat_merge(struct lg_lat *dst, const struct lg_lat *src);
/* The q-quantile (0..1) in milliseconds, nearest rank; sorts l. */
double lg_lat_ms(struct lg_lat *l, double q);

/* Records one run's value of a figure (workload, name) in unit; note is a
 * static string or NULL. */
void lg_put(struct lg *g, const char *workload, const char *name, const char *unit, const char *note, double v);
/* The median of a figure, 0 when it has no value. */
double lg_get(struct lg *g, const char *workload, const char *name);
/* Adds a side-by-side row: Parley's (pw, pf) against Mosquitto's (m1, mf)
 * and (m0, mf); m0 may be NULL. */
void lg_compare(struct lg *g, const char *label, const char *pw, const char *pf, const char *m1, const char *m0,
		const char *mf, int higher_better, const char *note);

/* The storage baseline (sqlbase.c): rows message-like rows inserted into a
 * SQLite file beside the server's data, in transactions of 100. */
void lg_baseline_sqlite(struct lg *g, long rows);

/* Reads one un-labelled counter or gauge from GET /metrics; -1 if absent. */
double lg_metric(struct lg *g, const char *name);

/* A Prometheus histogram as GET /metrics gives it: cumulative counts. */
#define LG_HIST_MAX 32
struct lg_hist {
	int n;
	double le[LG_HIST_MAX];  /* upper bounds, seconds (+Inf: 1e300) */
	double cum[LG_HIST_MAX]; /* observations <= le[i] */
};
char *lg_metrics(struct lg *g);
double lg_metric_in(const char *body, const char *name);
void lg_hist_in(const char *body, const char *name, struct lg_hist *h);
double lg_hist_quantile(const struct lg_hist *a, const struct lg_hist *b, double q);
double lg_hist_above(const struct lg_hist *a, const struct lg_hist *b, double bound);
struct parley_client *lg_client_at(const char *server, const char *token);
void lg_check(int rc, const struct parley_error *err, const char *what);
/* Registers n users bench_<prefix>NNNNNN on server from 32 threads. */
struct lg_user *lg_register(const char *server, const char *prefix, int n);
/* Looks up the sessions of users[1..n] twice over HTTP (warm caches). */
void lg_warm_sessions(struct lg *g, int n);
/* Adds users[from..to) to chat_id (owner's token). */
void lg_add_members(const char *server, const char *owner_token, int64_t chat_id, const struct lg_user *users,
		    int from, int to);

/* live.c */
/* Creates the fan-out channels of 100, 1,000 and o.fanout_max subscribers
 * on server 1. */
void lv_setup_channels(struct lg *g);
/* Registers server 2's users and group (when there is a server 2). */
void lv_setup(struct lg *g);
void lv_run_live(struct lg *g, int run);
void lv_run_idle(struct lg *g);
void lv_compare_rows(struct lg *g);
/* Sends n more messages into the chats of the first npairs 1:1 pairs (at
 * most o.pairs) from one WebSocket sender each, o.window in flight each, no
 * receiver online; returns seconds. */
double lv_fill(struct lg *g, long long n, int npairs);
/* store.c */
void st_run(struct lg *g);

#endif
