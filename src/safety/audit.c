/*
 * audit.c — the append-only, hash-chained audit log of trust & safety
 * (contract: audit.h; storage: the store's audit_* ops; notes:
 * docs/operations.md "Audit log" and docs/store.md).
 *
 * An entry is built here and handed to the store, which keeps it only if it
 * continues the chain (next seq, prev = the last hash, ts not going back);
 * the store never hashes and never updates or deletes an entry.  Hashing is
 * libsodium's SHA-256 (the process has called sodium_init(), as parleyd's
 * main does); details are checked and made compact with jansson.
 *
 * Canonical form, so that the stored fields and the hash mean one thing:
 * kind is 1..47 bytes of [a-z0-9_.-] and subject at most 95 bytes of UTF-8
 * with no control characters, so neither can hold the "\n" that separates
 * the fields of the hashed text; details is re-serialised by jansson as
 * compact JSON (no newline either: jansson escapes control characters),
 * keys in the caller's order, duplicate keys refused.
 *
 * Nothing here allocates memory that outlives a call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "safety/audit.h"
#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"

#define AUDIT_VERIFY_PAGE 1000  /* entries read per store call while verifying */
#define AUDIT_APPEND_TRIES 3    /* another process appended between read and put */

/* kind: 1..sizeof(kind)-1 bytes of lower-case letters, digits, '_', '.', '-'. */
static int audit_kind_ok(const char *kind)
{
	size_t n;

	if (!kind || !(n = strlen(kind)) || n >= sizeof(((struct audit_entry *)0)->kind))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = kind[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* subject: at most sizeof(subject)-1 bytes of UTF-8 without control characters. */
static int audit_subject_ok(const char *subject)
{
	size_t n = strlen(subject);

	if (n >= sizeof(((struct audit_entry *)0)->subject) || utf8_count(subject, n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)subject[i] < 0x20 || subject[i] == 0x7f)
			return 0;
	return 1;
}

/* Checks that details (NULL meaning "{}") is one JSON object of at most
 * AUDIT_DETAILS_MAX bytes and returns its compact form in *out (malloc'd,
 * the caller frees it). */
static int audit_details_compact(const char *details, char **out)
{
	json_error_t jerr;
	json_t *root;
	size_t n;

	*out = NULL;
	if (!details)
		details = "{}";
	if ((n = strnlen(details, AUDIT_DETAILS_MAX + 1)) > AUDIT_DETAILS_MAX)
		return PL_TOOBIG;
	root = json_loadb(details, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return PL_INVAL;
	}
	*out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!*out)
		return PL_NOMEM;
	if (strlen(*out) > AUDIT_DETAILS_MAX) { /* re-serialised numbers can grow */
		free(*out);
		*out = NULL;
		return PL_TOOBIG;
	}
	return 0;
}

void audit_hash(struct audit_entry *e)
{
	crypto_hash_sha256_state h;
	char head[64 + sizeof(e->kind) + sizeof(e->subject)];
	int n;

	/* "<seq>\n<ts>\n<kind>\n<actor>\n<subject>\n" then details: the fixed
	 * fields are bounded (strnlen), so head always holds them. */
	n = snprintf(head, sizeof(head), "%lld\n%lld\n%.*s\n%lld\n%.*s\n", (long long)e->seq,
		     (long long)e->ts, (int)strnlen(e->kind, sizeof(e->kind)), e->kind, (long long)e->actor,
		     (int)strnlen(e->subject, sizeof(e->subject)), e->subject);
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, e->prev, AUDIT_HASH_BYTES);
	crypto_hash_sha256_update(&h, (const unsigned char *)head, (unsigned long long)n);
	if (e->details)
		crypto_hash_sha256_update(&h, (const unsigned char *)e->details, strlen(e->details));
	crypto_hash_sha256_final(&h, e->hash);
}

int audit_append(struct store *s, int64_t ts, const char *kind, int64_t actor, const char *subject,
		 const char *details, int64_t *seq)
{
	struct audit_entry e;
	char *compact = NULL;
	int64_t last_ts = 0;
	int rc = PL_ERR;

	if (seq)
		*seq = 0;
	if (!subject)
		subject = "";
	if (!audit_kind_ok(kind) || !audit_subject_ok(subject))
		return PL_INVAL;
	if ((rc = audit_details_compact(details, &compact)) < 0)
		goto out;
	for (int i = 0; i < AUDIT_APPEND_TRIES; i++) {
		memset(&e, 0, sizeof(e));
		if ((rc = store_audit_last(s, &e.seq, &last_ts, e.prev)) < 0)
			goto out;
		e.seq++;
		e.ts = ts < last_ts ? last_ts : ts; /* the chain's time never goes back */
		memcpy(e.kind, kind, strlen(kind) + 1);
		memcpy(e.subject, subject, strlen(subject) + 1);
		e.actor = actor;
		e.details = compact;
		audit_hash(&e);
		if ((rc = store_audit_put(s, &e)) != PL_EXISTS)
			break;
	}
	if (rc == 0 && seq)
		*seq = e.seq;
out:
	free(compact);
	return rc;
}

/* The state of a verification walking the chain. */
struct audit_walk {
	int64_t expect;                       /* the seq the next entry must have */
	int64_t prev_ts;
	unsigned char prev[AUDIT_HASH_BYTES]; /* hash of the entry before */
	int64_t count;                        /* entries found good */
	int page;                             /* entries seen in this page */
	int64_t bad_seq;
	char *why;
	size_t whylen;
};

/* Checks one entry against the one before; 0 to go on, 1 (with bad_seq and
 * why set) at the first bad entry. */
static int audit_walk_entry(void *ctx, const struct audit_entry *e)
{
	struct audit_walk *w = ctx;
	struct audit_entry again;

	w->page++;
	w->bad_seq = w->expect;
	if (e->seq != w->expect) {
		snprintf(w->why, w->whylen, "gap in seq: entry %lld is missing (the next stored entry is %lld)",
			 (long long)w->expect, (long long)e->seq);
		return 1;
	}
	if (!e->kind[0]) {
		snprintf(w->why, w->whylen, "malformed row: a field has the wrong type or size");
		return 1;
	}
	if (memcmp(e->prev, w->prev, AUDIT_HASH_BYTES) != 0) {
		if (e->seq == 1)
			snprintf(w->why, w->whylen, "broken prev link: the first entry's prev is not zero");
		else
			snprintf(w->why, w->whylen, "broken prev link: prev is not the hash of entry %lld",
				 (long long)(e->seq - 1));
		return 1;
	}
	again = *e;
	audit_hash(&again);
	if (memcmp(again.hash, e->hash, AUDIT_HASH_BYTES) != 0) {
		snprintf(w->why, w->whylen, "hash mismatch: the stored fields do not hash to the stored hash");
		return 1;
	}
	if (e->seq > 1 && e->ts < w->prev_ts) {
		snprintf(w->why, w->whylen, "ts goes backwards: %lld is before entry %lld's %lld",
			 (long long)e->ts, (long long)(e->seq - 1), (long long)w->prev_ts);
		return 1;
	}
	memcpy(w->prev, e->hash, AUDIT_HASH_BYTES);
	w->prev_ts = e->ts;
	w->expect++;
	w->count++;
	w->bad_seq = 0;
	return 0;
}

/* Streams the log in pages of AUDIT_VERIFY_PAGE.  On PL_ERR, *count is the
 * number of good entries before the bad one (bad_seq - 1).  A read error is
 * returned as it is, with *bad_seq 0.  A log cut short at its end verifies:
 * only a published head (audit_head) shows that. */
int audit_verify(struct store *s, int64_t *count, int64_t *bad_seq, char *why, size_t whylen)
{
	struct audit_walk w;
	char none[1];
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.expect = 1;
	w.why = why && whylen ? why : none;
	w.whylen = why && whylen ? whylen : sizeof(none);
	w.why[0] = '\0';
	do {
		w.page = 0;
		rc = store_audit_range(s, w.expect - 1, AUDIT_VERIFY_PAGE, audit_walk_entry, &w);
	} while (rc == 0 && w.page == AUDIT_VERIFY_PAGE);
	if (rc > 0)
		rc = PL_ERR;
	if (rc < 0 && rc != PL_ERR) {
		w.bad_seq = 0;
		snprintf(w.why, w.whylen, "cannot read the audit log: %s", pl_strerror(rc));
	}
	if (count)
		*count = w.count;
	if (bad_seq)
		*bad_seq = rc == PL_ERR ? w.bad_seq : 0;
	return rc;
}

int audit_head(struct store *s, int64_t ts, int64_t *seq, char out[65])
{
	unsigned char h[AUDIT_HASH_BYTES];
	int64_t n = 0;
	int rc;

	if ((rc = store_audit_head_at(s, ts, &n, h)) < 0) {
		n = 0;
		memset(h, 0, sizeof(h));
	}
	sodium_bin2hex(out, 2 * AUDIT_HASH_BYTES + 1, h, sizeof(h));
	if (seq)
		*seq = n;
	return rc;
}
