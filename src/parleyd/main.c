/*
 * main.c — parleyd, the Parley server.
 *
 * Reads the settings (defaults, config file, environment, flags), opens the
 * store and runs its migrations, starts the group-commit writer and the
 * reader pool, and serves HTTP on a libuv loop until SIGTERM or SIGINT, when
 * it stops accepting, finishes the calls in flight, commits, and exits 0.
 * Given a command after the options (parleyd --data DIR audit verify), it
 * runs that against the data folder instead and exits with its status.
 * All state lives in main's struct parleyd; nothing is global.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <uv.h>

#include "api/api.h"
#include "api/server.h"
#include "bus/bus.h"
#include "core/core.h"
#include "media/media.h"
#include "safety/audit.h"
#include "store/blob.h"
#include "store/store.h"
#include "store/writer.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define PARLEYD_VERSION "0.1.0"
#define LOGIN_KEYS_MAX 100000

struct parleyd {
	struct pl_config cfg;
	struct pl_log log;
	uv_loop_t loop;
	struct core core;
	struct safety_flood flood;
	struct store *wstore;
	struct store *cstore;           /* the checkpointer's handle (NULL: checkpoint_pages 0) */
	struct store_pool readers;
	struct store_writer *writer;
	struct bus *bus;
	struct api_server *api;
	struct blob_store *blobs;       /* uploaded files (docs/media.md) */
	struct media_sniffer *sniffer;
	uv_signal_t sigterm, sigint;
	uv_timer_t drain;
	int stopping;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: parleyd [options]\n"
		"  --listen ADDR:PORT   serve HTTP here (default 127.0.0.1:8080; port 0 picks one)\n"
		"  --data DIR           data folder (default ./data), created on first start\n"
		"  --config FILE        settings file (default DIR/parleyd.conf if present)\n"
		"  --set NAME=VALUE     any setting (see docs/operations.md); repeatable\n"
		"  --print-api-docs     print docs/api.md, generated from the method table\n"
		"  --print-config-docs  print the table of settings\n"
		"  --version, --help\n"
		"Environment: PARLEY_<SETTING> overrides the file; flags override both.\n"
		"Commands (after the options; they work on --data, the server may be running):\n"
		"  audit verify                 check the audit log's hash chain (exit 0 OK, 1 broken)\n"
		"  audit head [--at UNIX_TIME]  the hash of the last entry (at or before a time)\n"
		"  audit tail [N]               the last N entries (default 10), one JSON object a line\n"
		"  admin grant-role USERNAME ROLE   give a platform role: moderator, senior_moderator or admin\n"
		"  admin revoke-role USERNAME       take it away\n"
		"  admin list-roles                 who has a platform role\n"
		"  admin add-flagger NAME EMAIL     register a trusted flagger; prints its API key (once)\n"
		"  admin list-flaggers              trusted flaggers, their notices and accuracy\n"
		"  admin load-geoip FILE.csv        replace the IP-to-country table (start_ip,end_ip,CC lines, IPv4)\n");
}

/* First pass: what decides where the config file is. */
static int find_config(int argc, char **argv, const char **config, const char **data)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			*config = argv[++i];
		else if (!strcmp(argv[i], "--data") && i + 1 < argc)
			*data = argv[++i];
	}
	return 0;
}

static int apply_flags(struct pl_config *c, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--config")) {
			i++;
			continue;
		}
		if ((!strcmp(a, "--listen") || !strcmp(a, "--data") || !strcmp(a, "--set")) && i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", a);
			return -1;
		}
		if (!strcmp(a, "--listen") || !strcmp(a, "--data")) {
			if (pl_config_set(c, a + 2, argv[++i], err, errlen) < 0)
				return -1;
		} else if (!strcmp(a, "--set")) {
			char kv[1024], *eq;
			snprintf(kv, sizeof kv, "%s", argv[++i]);
			if (!(eq = strchr(kv, '='))) {
				snprintf(err, errlen, "--set wants NAME=VALUE");
				return -1;
			}
			*eq = 0;
			if (pl_config_set(c, kv, eq + 1, err, errlen) < 0)
				return -1;
		} else {
			snprintf(err, errlen, "unknown option %s (try --help)", a);
			return -1;
		}
	}
	return 0;
}

static int load_config(struct parleyd *d, int argc, char **argv)
{
	const char *config = NULL, *data = NULL;
	char path[PL_CONFIG_STR_SZ + 32], err[512];
	int rc;

	pl_config_defaults(&d->cfg);
	find_config(argc, argv, &config, &data);
	if (!data && getenv("PARLEY_DATA"))
		data = getenv("PARLEY_DATA");
	snprintf(path, sizeof path, "%s/parleyd.conf", data ? data : d->cfg.data);
	rc = pl_config_load_file(&d->cfg, config ? config : path, config != NULL, err, sizeof err);
	if (rc >= 0 && (rc = pl_config_load_env(&d->cfg, err, sizeof err)) >= 0)
		rc = apply_flags(&d->cfg, argc, argv, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		return -1;
	}
	if (strcmp(d->cfg.sync, "full") && strcmp(d->cfg.sync, "normal")) {
		fprintf(stderr, "parleyd: sync must be full or normal\n");
		return -1;
	}
	d->log.level = pl_log_level_parse(d->cfg.log_level);
	if (d->log.level < 0) {
		fprintf(stderr, "parleyd: log_level must be debug, info, warn or error\n");
		return -1;
	}
	return 0;
}

static int make_data_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "parleyd: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Trust & safety settings (docs/policy.md). */
static void set_terms_url(struct parleyd *d)
{
	struct core *c = &d->core;

	if (d->cfg.terms_url[0])
		snprintf(c->terms_url, sizeof c->terms_url, "%s", d->cfg.terms_url);
	else
		snprintf(c->terms_url, sizeof c->terms_url, "%.600s/terms", c->public_url);
}

static int init_safety(struct parleyd *d)
{
	struct core *c = &d->core;

	c->sla.flagger_urgent = d->cfg.sla_flagger_urgent_minutes * 60;
	c->sla.flagger = d->cfg.sla_flagger_minutes * 60;
	c->sla.report_urgent = d->cfg.sla_report_urgent_minutes * 60;
	c->sla.report = d->cfg.sla_report_minutes * 60;
	snprintf(c->platform_name, sizeof c->platform_name, "%s", d->cfg.platform_name);
	set_terms_url(d);
	c->notices_per_hour = (double)d->cfg.rate_notices_ip_per_hour;
	return (c->notice_limits = rl_table_new(LOGIN_KEYS_MAX)) ? 0 : -1;
}

static int init_core(struct parleyd *d)
{
	struct core *c = &d->core;

	if (core_set_password_cost(c, d->cfg.password_cost) < 0) {
		fprintf(stderr, "parleyd: password_cost must be interactive, moderate or min\n");
		return -1;
	}
	if (d->cfg.public_url[0])
		snprintf(c->public_url, sizeof c->public_url, "%s", d->cfg.public_url);
	else
		snprintf(c->public_url, sizeof c->public_url, "http://%s", d->cfg.listen);
	c->public_url[strcspn(c->public_url, "\r\n")] = 0;
	if (c->public_url[0] && c->public_url[strlen(c->public_url) - 1] == '/')
		c->public_url[strlen(c->public_url) - 1] = 0;
	c->login_per_min = (double)d->cfg.rate_login_account_per_min;
	if (!(c->login_limits = rl_table_new(LOGIN_KEYS_MAX)) || !(c->typing_limits = rl_table_new(LOGIN_KEYS_MAX)))
		return -1;
	if (safety_flood_init(&d->flood, (double)d->cfg.rate_messages_per_sec, (double)d->cfg.rate_messages_burst) < 0)
		return -1;
	safety_chain_init(&c->chain);
	safety_chain_add(&c->chain, "flood", safety_flood_check, &d->flood);
	safety_chain_add(&c->chain, "allow", safety_allow_check, NULL);
	/* Media: limits, and the chain every upload passes (hash banks go
	 * before "allow"). */
	c->media.photo_max_bytes = (uint64_t)d->cfg.photo_max_bytes;
	c->media.file_max_bytes = (uint64_t)d->cfg.file_max_bytes;
	c->media.photo_max_pixels = (uint64_t)d->cfg.photo_max_pixels;
	c->media.photo_max_side = (unsigned)d->cfg.photo_max_side;
	c->media.grace = d->cfg.blob_grace_seconds;
	safety_upload_chain_init(&c->media.chain);
	safety_upload_chain_add(&c->media.chain, "allow", safety_upload_allow, NULL);
	return init_safety(d);
}

/* The blob store (temporary files a crash left are deleted now, before any
 * upload runs) and libmagic. */
static int init_media(struct parleyd *d)
{
	char err[512];
	int64_t removed = 0;

	if (!(d->blobs = blob_local_open(d->cfg.data, err, sizeof err))) {
		fprintf(stderr, "parleyd: cannot open the file store: %s\n", err);
		return -1;
	}
	if (blob_clean(d->blobs, &removed) < 0)
		pl_log(&d->log, PL_LOG_WARN, "files: could not remove every leftover temporary file");
	else if (removed)
		pl_log(&d->log, PL_LOG_INFO, "files: %lld leftover temporary file(s) removed", (long long)removed);
	if (!(d->sniffer = media_sniffer_new(err, sizeof err))) {
		fprintf(stderr, "parleyd: %s\n", err);
		return -1;
	}
	d->core.media.blobs = d->blobs;
	d->core.media.sniffer = d->sniffer;
	return 0;
}

/* The store_open_flags the setting sync asks for. */
static int sync_flag(const struct parleyd *d)
{
	return strcmp(d->cfg.sync, "normal") ? 0 : STORE_SYNC_NORMAL;
}

/* Runs the store's migrations, saying so when there are any: on a large
 * store one can take a while (dropping an index of a 12 GB store took 27 s)
 * and the server listens only after it. */
static int migrate_store(struct parleyd *d)
{
	int cur = 0, latest = 0, rc;
	uint64_t t0 = uv_hrtime();

	if ((rc = store_schema(d->wstore, &cur, &latest)) < 0)
		return rc;
	if (cur > 0 && cur < latest)
		pl_log(&d->log, PL_LOG_INFO, "store: migrating from schema %d to %d (a large store may take a while)", cur,
		       latest);
	if ((rc = store_migrate(d->wstore)) < 0)
		return rc;
	if (cur > 0 && cur < latest)
		pl_log(&d->log, PL_LOG_INFO, "store: now at schema %d, migrated in %.1f s", latest,
		       (double)(uv_hrtime() - t0) / 1e9);
	return 0;
}

static int open_store(struct parleyd *d, long long *messages)
{
	char err[512];
	int64_t n = 0;
	int rc;

	d->wstore = store_sqlite_open(d->cfg.data, sync_flag(d), err, sizeof err);
	if (!d->wstore) {
		fprintf(stderr, "parleyd: cannot open the store: %s\n", err);
		return -1;
	}
	if ((rc = migrate_store(d)) < 0 || (rc = store_message_count(d->wstore, &n)) < 0) {
		fprintf(stderr, "parleyd: store migration failed: %s\n", pl_strerror(rc));
		return -1;
	}
	*messages = n;
	/* The system account that sends statements of reasons exists from the first start. */
	{
		struct core_tx tx = {&d->core, d->wstore, (int64_t)time(NULL)};
		if ((rc = store_begin(d->wstore)) < 0 || (rc = core_mod_bootstrap(&tx)) < 0 ||
		    (rc = store_commit(d->wstore)) < 0) {
			store_rollback(d->wstore);
			fprintf(stderr, "parleyd: cannot create the system account: %s\n", pl_strerror(rc));
			return -1;
		}
	}
	/* The same synchronous setting as the writer's: a checkpoint fsyncs the database file. */
	if (d->cfg.checkpoint_pages > 0 && !(d->cstore = store_sqlite_open(d->cfg.data, sync_flag(d), err, sizeof err))) {
		fprintf(stderr, "parleyd: cannot open the checkpoint handle: %s\n", err);
		return -1;
	}
	if (store_pool_init(&d->readers, d->cfg.data, (size_t)d->cfg.reader_threads, err, sizeof err) < 0) {
		fprintf(stderr, "parleyd: cannot open read handles: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---- commands: parleyd [options] COMMAND ... ---- */

#define AUDIT_TAIL_DEFAULT 10
#define AUDIT_TAIL_PAGE 1000  /* entries read per store call by audit tail */

/* The index of the first argument that is not an option or an option's
 * value (argc if none): where a command starts. */
static int find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") || !strcmp(argv[i], "--data") || !strcmp(argv[i], "--config") ||
		    !strcmp(argv[i], "--set"))
			i++;
		else if (argv[i][0] != '-')
			return i;
	}
	return argc;
}

/* Parses a whole decimal int64 into *out; -1 if s is not one. */
static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

/* Prints one audit entry as a line of compact JSON. */
static int audit_print_entry(void *ctx, const struct audit_entry *e)
{
	char prev[2 * AUDIT_HASH_BYTES + 1], hash[2 * AUDIT_HASH_BYTES + 1];
	json_t *o = json_object(), *details = json_loads(e->details, 0, NULL);
	char *line;

	sodium_bin2hex(prev, sizeof prev, e->prev, AUDIT_HASH_BYTES);
	sodium_bin2hex(hash, sizeof hash, e->hash, AUDIT_HASH_BYTES);
	json_object_set_new(o, "seq", json_integer(e->seq));
	json_object_set_new(o, "ts", json_integer(e->ts));
	json_object_set_new(o, "kind", e->kind[0] ? json_string(e->kind) : json_null());
	json_object_set_new(o, "actor", json_integer(e->actor));
	json_object_set_new(o, "subject", json_string(e->subject));
	/* A stored details that is not JSON (altered) is shown as a string. */
	json_object_set_new(o, "details", details ? details : json_string(e->details));
	json_object_set_new(o, "prev", json_string(prev));
	json_object_set_new(o, "hash", json_string(hash));
	if ((line = json_dumps(o, JSON_COMPACT))) {
		printf("%s\n", line);
		free(line);
	}
	json_decref(o);
	(*(int64_t *)ctx)++;
	return 0;
}

/* audit verify | head [--at UNIX_TIME] | tail [N], on a read-only handle
 * inside one read transaction (one snapshot).  Exit status: 0, 1 when the
 * chain is broken, 2 for usage and other errors. */
static int cmd_audit(struct parleyd *d, int argc, char **argv)
{
	char err[512], why[256], hex[2 * AUDIT_HASH_BYTES + 1];
	unsigned char hash[AUDIT_HASH_BYTES];
	const char *sub = argc > 1 ? argv[1] : "";
	struct store *s = NULL;
	int64_t n = 0, seq = 0, bad = 0, at = INT64_MAX;
	int rc, status = 2;

	if (!strcmp(sub, "verify") && argc == 2) {
	} else if (!strcmp(sub, "head") && (argc == 2 || (argc == 4 && !strcmp(argv[2], "--at")))) {
		if (argc == 4 && parse_i64(argv[3], &at) < 0) {
			fprintf(stderr, "parleyd: audit head --at wants a unix time in seconds\n");
			return 2;
		}
	} else if (!strcmp(sub, "tail") && argc <= 3) {
		n = AUDIT_TAIL_DEFAULT;
		if (argc == 3 && (parse_i64(argv[2], &n) < 0 || n < 1)) {
			fprintf(stderr, "parleyd: audit tail wants a number of entries (1 or more)\n");
			return 2;
		}
	} else {
		fprintf(stderr, "usage: parleyd [--data DIR] audit verify | head [--at UNIX_TIME] | tail [N]\n");
		return 2;
	}
	if (!(s = store_sqlite_open(d->cfg.data, STORE_READONLY, err, sizeof err))) {
		fprintf(stderr, "parleyd: cannot open the store: %s\n", err);
		return 2;
	}
	if ((rc = store_begin(s)) < 0)
		goto fail;
	if (!strcmp(sub, "verify")) {
		rc = audit_verify(s, &n, &bad, why, sizeof why);
		if (rc == PL_ERR) {
			printf("audit log BROKEN at entry %" PRId64 ": %s\n", bad, why);
			status = 1;
			goto out;
		}
		if (rc < 0 || (rc = store_audit_last(s, &seq, NULL, hash)) < 0)
			goto fail;
		sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
		printf("audit log OK: %" PRId64 " entries, head %s\n", n, hex);
	} else if (!strcmp(sub, "head")) {
		if ((rc = audit_head(s, at, &seq, hex)) < 0)
			goto fail;
		printf("audit head: entry %" PRId64 ", hash %s\n", seq, hex);
	} else {
		int64_t printed = 0, after;

		if ((rc = store_audit_last(s, &seq, NULL, hash)) < 0)
			goto fail;
		after = seq > n ? seq - n : 0;
		do {
			int64_t before = printed;

			if ((rc = store_audit_range(s, after, AUDIT_TAIL_PAGE, audit_print_entry, &printed)) < 0)
				goto fail;
			if (printed - before < AUDIT_TAIL_PAGE)
				break;
			after += printed - before; /* seq is dense in an unbroken log */
		} while (1);
	}
	status = 0;
	goto out;
fail:
	fprintf(stderr, "parleyd: cannot read the audit log in %s: %s%s\n", d->cfg.data, pl_strerror(rc),
		rc == PL_IO ? " (has parleyd of this version started once on it, to migrate it?)" : "");
	status = 2;
out:
	if (s) {
		store_rollback(s);
		store_close(s);
	}
	return status;
}

/* ---- admin: roles, trusted flaggers, the IP table ---- */

#define GEOIP_LINE_MAX 256

/* Loads "start_ip,end_ip,CC" lines (IPv4; '#' comments and a header line
 * are skipped) into the store, replacing the table.  Returns rows or -1. */
static long geoip_load(struct store *s, const char *path)
{
	char line[GEOIP_LINE_MAX], a[64], b[64], cc[8], code[3];
	uint32_t start, end;
	long n = 0, lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "parleyd: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (store_geoip_clear(s) < 0)
		goto bad;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (sscanf(line, " %63[^, ] , %63[^, ] , %7s", a, b, cc) != 3 || mod_country_parse(cc, code) < 0 ||
		    mod_ipv4_parse(a, &start) < 0 || mod_ipv4_parse(b, &end) < 0 || end < start) {
			if (lineno == 1 && n == 0)
				continue; /* a header */
			fprintf(stderr, "parleyd: %s:%ld: expected start_ip,end_ip,CC (IPv4)\n", path, lineno);
			goto bad;
		}
		if (store_geoip_add(s, start, end, code) < 0)
			goto bad;
		n++;
	}
	fclose(f);
	return n;
bad:
	fclose(f);
	return -1;
}

static int print_role(void *ctx, int64_t uid, int role, int64_t by, int64_t at)
{
	struct store_user u;

	if (store_user_get(ctx, uid, &u) == 0)
		printf("%-32s %s\n", u.username, mod_role_name(role));
	return 0;
}

static int print_flagger(void *ctx, const struct store_flagger *f)
{
	int64_t decided = f->upheld + f->dismissed;

	char acc[16] = "n/a";

	if (decided)
		snprintf(acc, sizeof acc, "%.0f%%", 100.0 * (double)f->upheld / (double)decided);
	printf("%" PRId64 "\t%s\t%s\t%s\tnotices %" PRId64 ", upheld %" PRId64 ", dismissed %" PRId64 ", accuracy %s\n",
	       f->id, f->name, f->email, f->active ? "active" : "revoked", f->notices, f->upheld, f->dismissed, acc);
	return 0;
}

/* admin grant-role USERNAME ROLE | revoke-role USERNAME | list-roles |
 * add-flagger NAME EMAIL | list-flaggers | load-geoip FILE, in one
 * transaction of their own on the data folder (the server may be running:
 * SQLite serializes the writers).  Changes are in the audit log, by actor 0
 * (the operator).  Exit status: 0, 1 refused, 2 usage or I/O. */
static int cmd_admin(struct parleyd *d, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	struct core_tx tx;
	struct store_user u;
	struct store_flagger fl;
	char err[512], key[72];
	struct store *s;
	int rc = 0, status = 2;
	long rows = 0;

	if (!((!strcmp(sub, "grant-role") && argc == 4) || (!strcmp(sub, "revoke-role") && argc == 3) ||
	      (!strcmp(sub, "add-flagger") && argc == 4) || (!strcmp(sub, "load-geoip") && argc == 3) ||
	      ((!strcmp(sub, "list-flaggers") || !strcmp(sub, "list-roles")) && argc == 2))) {
		fprintf(stderr, "usage: parleyd [--data DIR] admin grant-role USERNAME ROLE | revoke-role USERNAME | "
				"list-roles | add-flagger NAME EMAIL | list-flaggers | load-geoip FILE.csv\n");
		return 2;
	}
	if (init_safety(d) < 0 || make_data_dir(d->cfg.data) < 0)
		return 2;
	if (!(s = store_sqlite_open(d->cfg.data, 0, err, sizeof err))) {
		fprintf(stderr, "parleyd: cannot open the store: %s\n", err);
		return 2;
	}
	memset(&tx, 0, sizeof tx);
	tx.core = &d->core;
	tx.s = s;
	tx.now = (int64_t)time(NULL);
	if ((rc = store_migrate(s)) < 0 || (rc = store_begin(s)) < 0 || (rc = core_mod_bootstrap(&tx)) < 0) {
		fprintf(stderr, "parleyd: cannot use the store in %s: %s\n", d->cfg.data, pl_strerror(rc));
		goto out;
	}
	if (!strcmp(sub, "grant-role") || !strcmp(sub, "revoke-role")) {
		int role = !strcmp(sub, "grant-role") ? mod_role_parse(argv[3]) : MOD_ROLE_NONE;
		if (!strcmp(sub, "grant-role") && !role) {
			fprintf(stderr, "parleyd: role is moderator, senior_moderator or admin\n");
			goto out;
		}
		if ((rc = core_user_find(&tx, argv[2], &u)) < 0 || (rc = core_mod_role_set(&tx, u.id, role)) < 0) {
			fprintf(stderr, "parleyd: %s: %s\n", pl_code_name(tx.code), tx.detail);
			status = 1;
			goto out;
		}
		printf(role ? "@%s is now %s\n" : "@%s has no platform role now%s\n", u.username, mod_role_name(role));
	} else if (!strcmp(sub, "add-flagger")) {
		if ((rc = core_mod_flagger_register(&tx, argv[2], argv[3], key, &fl)) < 0) {
			fprintf(stderr, "parleyd: %s: %s\n", pl_code_name(tx.code), tx.detail);
			status = 1;
			goto out;
		}
		printf("trusted flagger %" PRId64 " (%s) registered.\nAPI key (shown only now; keep it secret): %s\n", fl.id,
		       fl.name, key);
		sodium_memzero(key, sizeof key);
	} else if (!strcmp(sub, "load-geoip")) {
		if ((rows = geoip_load(s, argv[2])) < 0)
			goto out;
		printf("IP-to-country table: %ld ranges\n", rows);
	} else if (!strcmp(sub, "list-roles")) {
		rc = store_role_list(s, print_role, s);
	} else {
		rc = store_flagger_list(s, print_flagger, NULL);
	}
	if (rc < 0 || (rc = store_commit(s)) < 0) {
		fprintf(stderr, "parleyd: admin %s failed: %s\n", sub, pl_strerror(rc));
		goto out;
	}
	status = 0;
out:
	if (status)
		store_rollback(s);
	store_close(s);
	rl_table_free(d->core.notice_limits);
	d->core.notice_limits = NULL;
	return status;
}

/* Runs the command at argv[0]; returns the exit status. */
static int run_command(struct parleyd *d, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct parleyd *d, int argc, char **argv);
	} commands[] = {
		{"audit", cmd_audit},
		{"admin", cmd_admin},
	};

	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].run(d, argc, argv);
	fprintf(stderr, "parleyd: unknown command %s (try --help)\n", argv[0]);
	return 2;
}

/* Writes DATA/parleyd.addr ("HOST:PORT\n") atomically, for scripts and tests. */
static void write_addr_file(struct parleyd *d, int port)
{
	char host[PL_CONFIG_STR_SZ], path[PL_CONFIG_STR_SZ + 32], tmp[PL_CONFIG_STR_SZ + 40];
	char *colon;
	FILE *f;

	snprintf(host, sizeof host, "%s", d->cfg.listen);
	colon = strrchr(host, ':');
	if (colon)
		*colon = 0;
	snprintf(path, sizeof path, "%s/parleyd.addr", d->cfg.data);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f, "%s:%d\n", host, port);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
	rename(tmp, path);
	if (!d->cfg.public_url[0]) { /* invite links name the port actually bound */
		snprintf(d->core.public_url, sizeof d->core.public_url, "http://%s:%d", host, port);
		set_terms_url(d);
	}
	pl_log(&d->log, PL_LOG_INFO, "parleyd %s listening on http://%s:%d (data in %s)", PARLEYD_VERSION, host, port,
	       d->cfg.data);
}

static void on_drain(uv_timer_t *t)
{
	struct parleyd *d = t->data;

	if (api_server_inflight(d->api))
		return;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	api_server_stop(d->api);
	store_writer_stop(d->writer);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct parleyd *d = s->data;

	if (d->stopping)
		return;
	d->stopping = 1;
	pl_log(&d->log, PL_LOG_INFO, "signal %d: finishing calls in flight, then stopping", signum);
	api_server_close(d->api);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_timer_init(&d->loop, &d->drain);
	d->drain.data = d;
	uv_timer_start(&d->drain, on_drain, 0, 10);
}

static int serve(struct parleyd *d, long long messages)
{
	char err[512];
	int rc;

	if (!(d->writer = store_writer_start(&d->loop, d->wstore, (size_t)d->cfg.write_batch_max, d->cstore,
					     d->cfg.checkpoint_pages)) ||
	    !(d->bus = bus_local_new()) ||
	    !(d->api = api_server_new(&d->loop, &d->core, d->writer, &d->readers, d->bus, &d->cfg, &d->log,
				      messages))) {
		fprintf(stderr, "parleyd: out of memory\n");
		return -1;
	}
	if ((rc = api_server_listen(d->api, d->cfg.listen, err, sizeof err)) < 0) {
		fprintf(stderr, "parleyd: cannot listen on %s: %s\n", d->cfg.listen, err);
		api_server_close(d->api);
		api_server_stop(d->api);
		store_writer_stop(d->writer);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		return -1;
	}
	write_addr_file(d, api_server_port(d->api));
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	d->sigterm.data = d->sigint.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	pl_log(&d->log, PL_LOG_INFO, "stopped cleanly");
	return 0;
}

static void cleanup(struct parleyd *d)
{
	api_server_free(d->api);
	store_writer_free(d->writer);
	bus_free(d->bus);
	store_pool_release(&d->readers);
	store_close(d->cstore);
	store_close(d->wstore);
	media_sniffer_free(d->sniffer);
	blob_close(d->blobs);
	uv_loop_close(&d->loop);
}

int main(int argc, char **argv)
{
	struct parleyd *d;
	char threads[16];
	long long messages = 0;
	int cmd, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("parleyd %s\n", PARLEYD_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--print-api-docs")) {
			api_print_docs(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--print-config-docs")) {
			pl_config_print_docs(stdout);
			return 0;
		}
	}
	if (sodium_init() < 0 || store_sqlite_setup_process() < 0 || !(d = calloc(1, sizeof *d)))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if ((cmd = find_command(argc, argv)) < argc) { /* a command: the options before it only */
		rc = load_config(d, cmd, argv) < 0 ? 2 : run_command(d, argc - cmd, argv + cmd);
		goto out;
	}
	if (load_config(d, argc, argv) < 0 || init_core(d) < 0 || make_data_dir(d->cfg.data) < 0)
		goto out;
	/* The API's read phases run on the server's own workers, one per read
	 * handle (api_server_new); libuv's thread pool, as many threads, runs
	 * the disk and media work of uploads and downloads. */
	snprintf(threads, sizeof threads, "%ld", d->cfg.reader_threads);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	if (uv_loop_init(&d->loop) < 0)
		goto out;
	if (open_store(d, &messages) == 0 && init_media(d) == 0 && serve(d, messages) == 0)
		rc = 0;
	cleanup(d);
out:
	safety_flood_release(&d->flood);
	rl_table_free(d->core.login_limits);
	rl_table_free(d->core.typing_limits);
	rl_table_free(d->core.notice_limits);
	free(d);
	return rc;
}
