/*
 * safety.h — the check chain every message passes before it is committed.
 *
 * Each check answers ALLOW, DENY or DEFER ("no opinion"); the first ALLOW or
 * DENY decides, and a chain where every check defers denies (the Mosquitto
 * security-plugin rule: fail closed).  parleyd's chain today:
 *   1. flood: DENY with FLOOD_WAIT when a user sends faster than
 *      rate_messages_per_sec (burst rate_messages_burst), else DEFER;
 *   2. allow: ALLOW (the explicit default policy).
 * Later checks (keyword/URL rule lists, hash banks) are inserted before
 * "allow".  Checks run on the writer thread; a check's state is its own.
 */
#ifndef PL_SAFETY_SAFETY_H
#define PL_SAFETY_SAFETY_H

#include <stddef.h>
#include <stdint.h>

enum safety_verdict { SAFETY_ALLOW = 0, SAFETY_DENY = 1, SAFETY_DEFER = 2 };

/* What a check sees of a message about to be committed. */
struct safety_msg {
	int64_t user_id;
	int64_t chat_id;
	int chat_type;        /* enum store_chat_type */
	const char *text;     /* UTF-8, NUL-terminated */
	size_t len;
	double now;           /* monotonic seconds */
};

/* Why a check denied. */
struct safety_result {
	int code;             /* enum pl_code for the client */
	int retry_after;      /* seconds, for FLOOD_WAIT */
	char check[32];       /* name of the deciding check */
	char reason[128];
};

typedef int (*safety_check_cb)(void *ctx, const struct safety_msg *m, struct safety_result *r);

#define SAFETY_CHAIN_MAX 16

struct safety_chain {
	struct {
		const char *name;
		safety_check_cb cb;
		void *ctx;
	} checks[SAFETY_CHAIN_MAX];
	size_t n;
};

void safety_chain_init(struct safety_chain *c);
/* Appends a check.  Returns 0 or PL_TOOBIG. */
int safety_chain_add(struct safety_chain *c, const char *name, safety_check_cb cb, void *ctx);
/* Runs the chain; returns enum safety_verdict (never DEFER). */
int safety_chain_run(const struct safety_chain *c, const struct safety_msg *m, struct safety_result *r);

/* The flood check: ctx is a struct safety_flood. */
struct rl_table;
struct safety_flood {
	struct rl_table *buckets;  /* owned */
	double rate, burst;
};
int safety_flood_init(struct safety_flood *f, double rate, double burst);
void safety_flood_release(struct safety_flood *f);
int safety_flood_check(void *ctx, const struct safety_msg *m, struct safety_result *r);

/* The default policy: always ALLOW. */
int safety_allow_check(void *ctx, const struct safety_msg *m, struct safety_result *r);

/* --- uploads (upload.c, docs/media.md) ------------------------------------
 * Every uploaded file passes its own chain before it can be used in a
 * message: with its SHA-256 and, for photos, the decoded pixels, so that a
 * hash bank (exact SHA-256, or a perceptual hash of the pixels) can refuse a
 * known-bad image before anyone receives it.  The same chain runs again,
 * with the hash only, when a stored file is attached to another message
 * (sent again by file_id, or forwarded), so a bank that learns of a file
 * later stops its spread.  Same rules as the message chain: first ALLOW or
 * DENY decides, all-DEFER denies; a DENY without a code is FILE_REFUSED.
 * Checks run on worker threads, several at once: a check must be
 * thread-safe.  parleyd's chain today: allow. */
struct safety_upload {
	int64_t user_id;
	int kind;                  /* enum store_file_kind */
	const char *sha256;        /* hex, of the bytes as uploaded */
	uint64_t size;
	const char *mime;          /* sniffed from the bytes */
	const unsigned char *rgb;  /* photos at upload: 8-bit RGB, upright; else NULL */
	unsigned width, height;    /* of rgb */
};

typedef int (*safety_upload_cb)(void *ctx, const struct safety_upload *u, struct safety_result *r);

struct safety_upload_chain {
	struct {
		const char *name;
		safety_upload_cb cb;
		void *ctx;
	} checks[SAFETY_CHAIN_MAX];
	size_t n;
};

void safety_upload_chain_init(struct safety_upload_chain *c);
/* Appends a check.  Returns 0 or PL_TOOBIG. */
int safety_upload_chain_add(struct safety_upload_chain *c, const char *name, safety_upload_cb cb, void *ctx);
/* Runs the chain; returns SAFETY_ALLOW or SAFETY_DENY (r says why). */
int safety_upload_chain_run(const struct safety_upload_chain *c, const struct safety_upload *u,
			    struct safety_result *r);
/* The default policy for uploads: always ALLOW. */
int safety_upload_allow(void *ctx, const struct safety_upload *u, struct safety_result *r);

#endif
