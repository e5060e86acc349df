/*
 * audit.h — the append-only, hash-chained audit log of trust & safety.
 *
 * Every signal (report, notice), decision, action, appeal, role grant and
 * flagger registration is appended here *before it takes effect*: in the same
 * transaction as the change and ahead of it, so the change exists only if its
 * entry does.  Each entry carries the SHA-256 of the entry before it; a
 * transparency report publishes the hash of a day's last entry, and anyone
 * holding it can check that the figures come from an unaltered record.
 *
 * Entry hash = SHA-256( prev_hash (32 bytes) || canonical text ), where the
 * canonical text is
 *     "<seq>\n<ts>\n<kind>\n<actor>\n<subject>\n<details>"
 * (decimal integers; details is the compact JSON as stored).  The first
 * entry's prev_hash is 32 zero bytes.
 *
 * Kinds are dotted words: "signal.report", "signal.notice", "case.open",
 * "case.merge", "decision", "action.remove_message", "statement",
 * "appeal.file", "appeal.decide", "role.grant", "role.revoke",
 * "flagger.register", ...  Subjects name what the entry is about:
 * "message:<chat_id>:<msg_id>", "chat:<chat_id>", "user:<user_id>",
 * "case:<id>", "appeal:<id>", "notice:<ref>".  details is a JSON object
 * with the structured facts (category, source, automated, territories, ...)
 * that transparency reports count; it never holds passwords, tokens, keys or
 * secret-chat content.
 *
 * Threading: call audit_append on the writer thread inside the group
 * transaction.  audit_verify reads on any handle.
 */
#ifndef PL_SAFETY_AUDIT_H
#define PL_SAFETY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define AUDIT_HASH_BYTES 32
#define AUDIT_DETAILS_MAX 65536   /* bytes of details JSON per entry */

struct audit_entry {
	int64_t seq;                         /* 1, 2, 3, ... */
	int64_t ts;                          /* unix seconds */
	char kind[48];
	int64_t actor;                       /* user id; 0 = the system or an anonymous notifier */
	char subject[96];
	const char *details;                 /* JSON object text (borrowed) */
	unsigned char prev[AUDIT_HASH_BYTES];
	unsigned char hash[AUDIT_HASH_BYTES];
};

/* Appends an entry (seq and hashes computed here).  Returns 0 and *seq, or a
 * negative pl_err (PL_TOOBIG for details over AUDIT_DETAILS_MAX, PL_INVAL for
 * a kind or subject too long or details that is not a JSON object).
 * kind is [a-z0-9_.-] only and subject has no control characters, so that
 * no field can hold the newline separating them in the hashed text; details
 * (NULL means "{}") is stored as jansson's compact form of it.  ts never
 * goes back along the chain: a ts before the last entry's is stored as the
 * last entry's (so audit_head at a time names a prefix of the log). */
int audit_append(struct store *s, int64_t ts, const char *kind, int64_t actor, const char *subject,
		 const char *details, int64_t *seq);

/* Computes e->hash from e->prev and the other fields. */
void audit_hash(struct audit_entry *e);

/* Checks the whole chain from the first entry.  Returns 0 when every entry's
 * prev matches the hash before it and its own hash recomputes; else PL_ERR
 * with *bad_seq = the first bad entry and a reason in why.  *count gets the
 * number of entries checked (and found good: bad_seq - 1 on PL_ERR).  A log
 * that cannot be read returns that error (*bad_seq 0, the reason in why). */
int audit_verify(struct store *s, int64_t *count, int64_t *bad_seq, char *why, size_t whylen);

/* The hash of the last entry at or before ts (for daily reports), hex in
 * out (65 bytes); *seq its number (0 and 64 zeros if none).  Returns 0 or a
 * negative pl_err. */
int audit_head(struct store *s, int64_t ts, int64_t *seq, char out[65]);

#endif
