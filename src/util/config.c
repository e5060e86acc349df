/* config.c — the directive table behind config.h and its readers. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config.h"

enum dir_type { DIR_STR, DIR_LONG };

struct directive {
	const char *name;
	int type;
	size_t off;
	size_t size;          /* DIR_STR: buffer size */
	long min, max;        /* DIR_LONG bounds */
	const char *def;
	const char *doc;
};

#define S(f, d, doc) {#f, DIR_STR, offsetof(struct pl_config, f), sizeof(((struct pl_config *)0)->f), 0, 0, d, doc}
#define L(f, lo, hi, d, doc) {#f, DIR_LONG, offsetof(struct pl_config, f), 0, lo, hi, d, doc}

static const struct directive directives[] = {
	S(listen, "127.0.0.1:8080", "Address and port to serve HTTP on (\"[::1]:8080\" for IPv6; port 0 picks one)"),
	S(data, "./data", "Data folder: database, address file; created on first start"),
	S(public_url, "", "Base URL used in invite links; default http://LISTEN"),
	S(web_root, "./web", "Folder of the web app served at /; read once at start-up"),
	S(log_level, "info", "debug, info, warn or error"),
	S(password_cost, "interactive", "Argon2id cost: interactive (64 MiB), moderate (256 MiB) or min (tests only)"),
	S(sync, "full", "full: fsync every group commit (acknowledged = durable); normal: fsync at checkpoints"),
	L(reader_threads, 1, 64, "4", "Threads running reads, password hashing and validation"),
	L(write_batch_max, 1, 100000, "512", "Most write requests committed in one transaction"),
	L(checkpoint_pages, 0, 1000000, "1000", "WAL pages after a commit that wake the checkpointer thread (docs/store.md); 0: SQLite checkpoints inside the writer's commits"),
	L(max_connections, 1, 1000000, "10000", "Open HTTP connections; more are answered 503 and closed"),
	L(max_header_bytes, 1024, 1048576, "16384", "Request line and headers; more is answered 431"),
	L(max_body_bytes, 1024, 1073741824, "1048576", "Request body; more is answered 413"),
	L(header_timeout_ms, 100, 3600000, "10000", "A request must arrive completely within this; else 408"),
	L(idle_timeout_ms, 100, 86400000, "60000", "Idle keep-alive connections are closed after this"),
	L(rate_auth_ip_per_min, 1, 1000000000, "20", "register + login calls per IP address per minute (burst the same)"),
	L(rate_login_account_per_min, 1, 1000000000, "10", "login attempts per username per minute (burst the same)"),
	L(rate_requests_per_sec, 1, 1000000000, "100", "API calls per session per second (burst twice that)"),
	L(rate_messages_per_sec, 1, 1000000000, "10", "Messages (send, forward) per user per second"),
	L(rate_messages_burst, 1, 1000000000, "30", "Messages a user may send at once before rate_messages_per_sec applies"),
	L(large_group_threshold, 2, 1000000, "100", "Groups with more members switch to one update sequence per chat (docs/sync.md)"),
	L(updates_retention_days, 1, 3650, "7", "Days the update logs keep updates for catch-up; older states get \"reload\""),
	L(prune_interval_seconds, 1, 86400, "60", "How often parleyd looks for updates older than updates_retention_days and deletes them, in steps, until none is left"),
	L(prune_step_rows, 1, 100000, "1000", "Most update rows and payloads one pruning step deletes (one write of its own, a few ms at 1,000); steps follow each other 10 ms apart until one deletes fewer"),
	L(ws_max_message_bytes, 1024, 67108864, "1048576", "Largest WebSocket message a client may send; more closes with 1009"),
	L(ws_max_pending_bytes, 4096, 1073741824, "4194304", "Output waiting for a slow WebSocket client; more closes with 4408"),
	L(ws_ping_interval_ms, 1000, 3600000, "30000", "Idle WebSocket connections are pinged this often; silent for twice this: closed"),
	L(sla_flagger_urgent_minutes, 1, 525600, "60", "Deadline of a trusted flagger's notice about child sexual abuse material or terrorist content"),
	L(sla_flagger_minutes, 1, 525600, "1440", "Deadline of a trusted flagger's notice in any other category"),
	L(sla_report_urgent_minutes, 1, 525600, "1440", "Deadline of a user report or notice about child sexual abuse material or terrorist content"),
	L(sla_report_minutes, 1, 525600, "4320", "Deadline of a user report or notice in any other category"),
	L(rate_notices_ip_per_hour, 1, 1000000000, "20", "submitNotice calls per IP address per hour, trusted flaggers exempt (burst the same)"),
	S(platform_name, "Parley", "Platform name in statements of reasons and their DSA export (platform_name)"),
	S(terms_url, "", "URL of the terms of service cited by decisions on terms grounds; default PUBLIC_URL/terms"),
	L(photo_max_bytes, 1024, 1073741824, "10485760", "Largest photo upload (sendPhoto); more is answered 413 FILE_TOO_BIG"),
	L(file_max_bytes, 1024, 1099511627776, "2147483648", "Largest file upload (documents, voice notes, videos); more is answered 413 FILE_TOO_BIG"),
	L(photo_max_pixels, 1, 1000000000, "40000000", "Pixels of a photo (width x height, read from its header before decoding); more is PHOTO_INVALID_DIMENSIONS"),
	L(photo_max_side, 90, 10000, "2560", "Longest side of the largest size kept of a photo; smaller sizes are 90, 320 and 800"),
	L(upload_concurrency_per_user, 1, 1000, "4", "Uploads one user may have in progress at once; more is answered 429 UPLOADS_TOO_MANY"),
	L(uploads_max, 1, 100000, "64", "Uploads in progress on the server at once (each holds up to 2 MiB of buffers)"),
	L(blob_grace_seconds, 1, 31536000, "86400", "A stored file no message refers to is deleted this long after it lost its last reference (or was uploaded)"),
};

#define NDIR (sizeof directives / sizeof directives[0])

static const struct directive *dir_find(const char *name)
{
	for (size_t i = 0; i < NDIR; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

static int dir_apply(struct pl_config *c, const struct directive *d, const char *value, char *err, size_t errlen)
{
	char *p = (char *)c + d->off;
	char *end;
	long v;

	if (d->type == DIR_STR) {
		if (strlen(value) >= d->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes", d->name, d->size - 1);
			return -1;
		}
		memcpy(p, value, strlen(value) + 1);
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < d->min || v > d->max) {
		snprintf(err, errlen, "%s: expected an integer in [%ld, %ld], got \"%s\"", d->name, d->min, d->max,
			 value);
		return -1;
	}
	memcpy(p, &v, sizeof v);
	return 0;
}

void pl_config_defaults(struct pl_config *c)
{
	char err[128];

	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NDIR; i++)
		(void)dir_apply(c, &directives[i], directives[i].def, err, sizeof err);
}

int pl_config_set(struct pl_config *c, const char *name, const char *value, char *err, size_t errlen)
{
	const struct directive *d = dir_find(name);

	if (!d) {
		snprintf(err, errlen, "unknown setting \"%s\"", name);
		return -1;
	}
	return dir_apply(c, d, value, err, errlen);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int pl_config_load_file(struct pl_config *c, const char *path, int must_exist, char *err, size_t errlen)
{
	char line[1024], sub[512];
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = 0;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#'), *eq, *k;
		lineno++;
		if (hash)
			*hash = 0;
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected \"name = value\"", path, lineno);
			rc = -1;
			break;
		}
		*eq = 0;
		if (pl_config_set(c, trim(k), trim(eq + 1), sub, sizeof sub) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

int pl_config_load_env(struct pl_config *c, char *err, size_t errlen)
{
	char var[128], sub[512];

	for (size_t i = 0; i < NDIR; i++) {
		const char *v;
		size_t j;
		snprintf(var, sizeof var, "PARLEY_%s", directives[i].name);
		for (j = 7; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		v = getenv(var);
		if (!v)
			continue;
		if (dir_apply(c, &directives[i], v, sub, sizeof sub) < 0) {
			snprintf(err, errlen, "%s: %s", var, sub);
			return -1;
		}
	}
	return 0;
}

void pl_config_print_docs(FILE *f)
{
	fprintf(f, "| setting | environment | default | meaning |\n|---|---|---|---|\n");
	for (size_t i = 0; i < NDIR; i++) {
		char var[128];
		snprintf(var, sizeof var, "PARLEY_%s", directives[i].name);
		for (size_t j = 7; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		fprintf(f, "| `%s` | `%s` | `%s` | %s |\n", directives[i].name, var,
			directives[i].def[0] ? directives[i].def : "(empty)", directives[i].doc);
	}
}
