/*
 * store.h — Parley's storage interface.
 *
 * A storage backend is a table of function pointers (struct store_ops); every
 * store handle begins with a pointer to its ops, in the manner of SQLite's
 * sqlite3_io_methods.  Callers use the static inline store_*() wrappers below
 * and never see SQL.  The SQLite backend (store_sqlite.c) is the embedded
 * default; a PostgreSQL backend implements the same table.
 *
 * Threading: one handle is one database connection and is used by one thread
 * at a time.  parleyd opens one writer handle (owned by the writer thread,
 * which groups many requests into one transaction), a second read-write
 * handle for the checkpointer thread next to it (writer.h), and a pool of
 * read-only handles for reader threads.  Reads on a reader handle never wait
 * for the writer (WAL).
 *
 * Sharding: every row of a chat's data carries chat_id and every row of a
 * user's data carries user_id.
 *
 * Errors: every op returns 0 on success or a negative enum pl_err:
 * PL_NOTFOUND when the row does not exist, PL_EXISTS on a unique-key clash,
 * PL_BUSY when the database is locked, PL_IO for any other backend failure.
 *
 * Ownership: structs passed in are owned by the caller.  Structs filled by a
 * get op are owned by the caller too; a store_message filled by the store has
 * a malloc'd text that store_message_release() frees.  Structs passed to an
 * iteration callback (store_*_cb) belong to the store and are valid only for
 * the duration of the call; a callback returns 0 to go on, or non-zero to stop
 * (that value is then returned by the op).
 */
#ifndef PL_STORE_STORE_H
#define PL_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define STORE_OPS_VERSION 8 /* 7: changes; 8: index_defer/pending/flush */

/* Sizes of fixed text fields, in bytes, including the terminating NUL.
 * Character limits are enforced by the API layer; these bound the bytes
 * (4 bytes per UTF-8 character at most). */
#define STORE_USERNAME_SZ 33     /* 5..32 of [a-z0-9_], lower-cased */
#define STORE_NAME_SZ 257        /* display name / chat title: 64 chars */
#define STORE_BIO_SZ 1025        /* bio / chat description: 255 chars */
#define STORE_HASH_SZ 129        /* Argon2id encoded string (crypto_pwhash_STRBYTES) */
#define STORE_TOKEN_HASH_SZ 65   /* hex SHA-256 of a session token */
#define STORE_DEVICE_SZ 129      /* device label: 64 chars */
#define STORE_IP_SZ 64           /* textual IPv4/IPv6 address */
#define STORE_LINK_CODE_SZ 33    /* invite link code */
#define STORE_COUNTRY_SZ 3       /* ISO 3166-1 alpha-2, upper case; "" if unknown */
#define STORE_TERRITORIES_SZ 193 /* comma-separated country codes: 64 of them */
#define STORE_EMAIL_SZ 1017      /* 254 characters */
#define STORE_REF_SZ 48          /* a notice's public reference */

enum store_chat_type {
	STORE_CHAT_PRIVATE = 1,
	STORE_CHAT_GROUP = 2,
	STORE_CHAT_CHANNEL = 3,
};

/* A member's role.  Rows with LEFT or KICKED are kept (to refuse re-entry of
 * kicked users and to remember read positions) but do not count as members. */
enum store_role {
	STORE_ROLE_LEFT = 0,
	STORE_ROLE_KICKED = 1,
	STORE_ROLE_MEMBER = 2,
	STORE_ROLE_ADMIN = 3,
	STORE_ROLE_CREATOR = 4,
};

/* What ordinary members of a group may do (chats.perms bitmask). */
enum store_perm {
	STORE_PERM_SEND = 1 << 0,
	STORE_PERM_INVITE = 1 << 1,
	STORE_PERM_PIN = 1 << 2,
	STORE_PERM_CHANGE_INFO = 1 << 3,
};

struct store_user {
	int64_t id;
	char username[STORE_USERNAME_SZ];
	char display_name[STORE_NAME_SZ];
	char bio[STORE_BIO_SZ];
	char pw_hash[STORE_HASH_SZ];
	int64_t created_at;          /* unix seconds */
	int is_bot;
	int64_t last_seen;           /* unix seconds the user was last online; 0 = never */
	int privacy_last_seen;       /* enum store_privacy: who sees last_seen and online */
	char country[STORE_COUNTRY_SZ]; /* set by the user (updateProfile); "" = from the IP */
	int64_t suspended_until;     /* 0 = not suspended, -1 = permanently, else unix seconds */
	int64_t suspend_statement;   /* the statement of reasons of the suspension */
};

enum store_privacy {
	STORE_PRIVACY_EVERYBODY = 0,
	STORE_PRIVACY_CONTACTS = 1,  /* people with whom the user has a private chat */
	STORE_PRIVACY_NOBODY = 2,
};

struct store_session {
	int64_t id;
	int64_t user_id;
	char token_hash[STORE_TOKEN_HASH_SZ];
	char device[STORE_DEVICE_SZ];
	char ip[STORE_IP_SZ];
	int64_t created_at;
	int64_t last_seen;
	/* Copied from the account by session_find and session_get only (authentication needs
	 * them on every call; one lookup instead of two). */
	char country[STORE_COUNTRY_SZ];
	int64_t suspended_until;
	int64_t suspend_statement;
};

struct store_chat {
	int64_t id;
	int type;                     /* enum store_chat_type */
	char title[STORE_NAME_SZ];    /* groups and channels */
	char username[STORE_USERNAME_SZ]; /* public channels/groups; "" if none */
	char description[STORE_BIO_SZ];
	int64_t creator_id;
	int64_t created_at;
	int perms;                    /* enum store_perm bits for plain members */
	int64_t last_msg_id;          /* the chat's sequence: id of the newest message */
	int64_t last_date;            /* date of the newest message (or creation) */
	int64_t pinned_msg_id;        /* 0 if none */
	int64_t member_count;         /* members with role >= STORE_ROLE_MEMBER */
	int64_t user_lo, user_hi;     /* private chats: the two users, lo < hi */
	int large;                    /* uses a chat update sequence (channels; big groups) */
	int64_t ban_statement;        /* banned by the platform: the statement of reasons; 0 if not */
};

struct store_member {
	int64_t chat_id;
	int64_t user_id;
	int role;                     /* enum store_role */
	int64_t joined_at;
	int64_t invited_by;           /* 0 if joined by themselves */
	int64_t read_max_id;          /* read up to and including this message id */
};

struct store_link {
	char code[STORE_LINK_CODE_SZ];
	int64_t chat_id;
	int64_t creator_id;
	char name[STORE_NAME_SZ];
	int64_t created_at;
	int64_t expire_date;          /* 0 = never */
	int64_t member_limit;         /* 0 = unlimited */
	int64_t usage;                /* joins so far */
	int revoked;
	int is_primary;               /* the chat's primary link (exportChatInviteLink) */
};

struct store_message {
	int64_t chat_id;
	int64_t id;                   /* position in its chat: 1, 2, 3, ... */
	int64_t sender_id;
	int64_t date;
	int64_t edit_date;            /* 0 if never edited */
	char *text;                   /* malloc'd UTF-8; NULL once deleted */
	int64_t reply_to_id;          /* 0 if none */
	int64_t fwd_user_id;          /* forward origin: original sender, 0 if not forwarded */
	int64_t fwd_chat_id;          /* forward origin: original chat (channels), 0 if none */
	int64_t fwd_msg_id;           /* forward origin: message id in fwd_chat_id */
	int64_t fwd_date;             /* forward origin: original date */
	int64_t views;                /* channel posts: distinct viewers */
	int deleted;                  /* enum store_deleted: 0 live, else hidden from everyone */
	int service;                  /* non-zero for service messages (joined, renamed, ...) */
	int64_t statement_id;         /* a statement of reasons this message delivers (system account); 0 */
};

/* Why a message is hidden from everyone.  Every reader of messages treats
 * any non-zero value as gone; only moderators' tools look at a removed
 * message's text, and a reversed removal sets it back to STORE_LIVE. */
enum store_deleted {
	STORE_LIVE = 0,
	STORE_DELETED = 1,            /* deleted for everyone: text dropped */
	STORE_REMOVED = 2,            /* removed by a moderation decision: text kept, out of search */
};

/* An update payload's second view: the body with bytes [from, to) replaced
 * by val (len bytes) — in a private chat, the other member's version, which
 * differs only in the value naming the chat.  val is the caller's. */
struct store_view {
	const char *val;
	size_t len;
	size_t from, to;              /* from <= to <= the body's length */
};

/* One row of a user's dialog list. */
struct store_dialog {
	struct store_chat chat;
	struct store_member member;
};

typedef int (*store_user_cb)(void *ctx, const struct store_user *u);
typedef int (*store_session_cb)(void *ctx, const struct store_session *s);
typedef int (*store_member_cb)(void *ctx, const struct store_member *m);
typedef int (*store_link_cb)(void *ctx, const struct store_link *l);
typedef int (*store_message_cb)(void *ctx, const struct store_message *m);
typedef int (*store_dialog_cb)(void *ctx, const struct store_dialog *d);
/* One stored update: its sequence number and its encoded body (not NUL-terminated). */
typedef int (*store_update_cb)(void *ctx, int64_t pts, const char *body, size_t len);
/* A chat and its sequence number. */
typedef int (*store_chat_pts_cb)(void *ctx, int64_t chat_id, int64_t pts);
/* A user id. */
typedef int (*store_id_cb)(void *ctx, int64_t id);
/* An audit log entry (struct audit_entry is defined in safety/audit.h). */
struct audit_entry;
typedef int (*store_audit_cb)(void *ctx, const struct audit_entry *e);

/* --- trust & safety rows (docs/policy.md) ------------------------------ */

/* What a case, a signal or a statement is about.  A message target carries
 * chat_id, msg_id and user_id = its sender; a chat target chat_id; a user
 * target user_id. */
enum store_target {
	STORE_TARGET_MESSAGE = 1,
	STORE_TARGET_CHAT = 2,
	STORE_TARGET_USER = 3,
};

enum store_case_status { STORE_CASE_OPEN = 0, STORE_CASE_DECIDED = 1 };

/* One queue entry: every open signal about the same target joins it. */
struct store_case {
	int64_t id;
	int target;                   /* enum store_target */
	int64_t chat_id, msg_id, user_id;
	int status;                   /* enum store_case_status */
	int category;                 /* enum mod_category of the highest-priority signal */
	int priority;                 /* queue order, highest first: base_priority + duplicates (capped) */
	int base_priority;            /* the highest priority of one signal */
	int64_t signals;              /* signals merged into the case */
	int64_t deadline;             /* unix seconds: the earliest deadline of its signals */
	int flagged;                  /* a trusted flagger's notice is among them */
	int64_t opened_at, updated_at, closed_at;
	int64_t statement_id;         /* the decision, once decided */
};

enum store_signal_kind {
	STORE_SIGNAL_REPORT = 1,      /* reportContent by a user */
	STORE_SIGNAL_NOTICE = 2,      /* DSA Art. 16 notice from anyone */
	STORE_SIGNAL_FLAGGER = 3,     /* notice from a trusted flagger (Art. 22) */
};

enum store_signal_status { STORE_SIGNAL_OPEN = 0, STORE_SIGNAL_UPHELD = 1, STORE_SIGNAL_DISMISSED = 2 };

/* A report or notice.  The text fields are malloc'd when filled by a get op
 * (store_signal_release frees them) and borrowed when passed to a callback. */
struct store_signal {
	int64_t id, case_id;
	int kind;                     /* enum store_signal_kind */
	int64_t reporter_id;          /* the user who sent it; 0 if anonymous */
	int64_t flagger_id;           /* STORE_SIGNAL_FLAGGER: the organisation */
	int category;                 /* enum mod_category */
	int64_t created_at, deadline;
	int status;                   /* enum store_signal_status */
	int64_t statement_id;         /* the decision on it */
	char reference[STORE_REF_SZ]; /* notices: the public reference; "" for reports */
	char name[STORE_NAME_SZ];     /* notices: the notifier */
	char email[STORE_EMAIL_SZ];
	char *text;                   /* the reporter's words / why it is illegal */
	char *plaintext;              /* secret chats: what the reporter says they saw (reporter-supplied); NULL */
	char *location;               /* notices: the location as written (URL, ...); "" */
};

/* A statement of reasons (DSA Art. 17): one per decision, and one per
 * reversal.  Texts as for struct store_signal (store_statement_release). */
struct store_statement {
	int64_t id, case_id;
	int action;                   /* enum mod_action */
	int64_t decided_by;           /* the moderator; 0 = automated or the operator */
	int64_t created_at;
	int target;                   /* enum store_target */
	int64_t affected_user_id;     /* whose content or account; 0 if none (dismissal of a chat report) */
	int64_t chat_id, msg_id;
	int category;                 /* enum mod_category */
	int ground;                   /* enum mod_ground */
	int manifestly_illegal;
	int automated_detection, automated_decision;
	int source;                   /* enum mod_source of the case's first signal */
	int64_t content_date;         /* when the content was posted (or the chat made) */
	int64_t end_date;             /* end of a suspension or restriction: 0 none (indefinite), -1 permanent */
	char territories[STORE_TERRITORIES_SZ]; /* "" = everywhere */
	int64_t appeal_until;         /* 0 = not appealable */
	int64_t reverses;             /* a reversal: the statement it reverses */
	int64_t reversed_by;          /* the reversal of this one, 0 if none */
	char *reference;              /* the legal provision or terms clause relied on */
	char *facts;                  /* facts and circumstances */
	char *text;                   /* the whole statement as sent to the user */
};

enum store_appeal_status { STORE_APPEAL_OPEN = 0, STORE_APPEAL_UPHELD = 1, STORE_APPEAL_REVERSED = 2 };

/* An appeal (DSA Art. 20).  Texts as for struct store_signal (store_appeal_release). */
struct store_appeal {
	int64_t id, statement_id;
	int64_t appellant_id;         /* 0: an anonymous notifier (by notice reference) */
	char reference[STORE_REF_SZ]; /* the notice it comes from, if by reference */
	int64_t created_at;
	int status;                   /* enum store_appeal_status */
	int64_t decided_by, decided_at;
	int64_t result_statement_id;  /* a reversal's statement */
	char *text;                   /* the appellant's words */
	char *outcome;                /* the deciding moderator's reasons; "" while open */
};

/* A trusted flagger (DSA Art. 22).  Only the SHA-256 of its key is stored. */
struct store_flagger {
	int64_t id;
	char name[STORE_NAME_SZ];
	char email[STORE_EMAIL_SZ];
	char key_hash[STORE_TOKEN_HASH_SZ];
	int64_t created_at;
	int active;
	int64_t notices, upheld, dismissed; /* accuracy = upheld / (upheld + dismissed) */
};

/* A territorial restriction of a message (msg_id != 0) or a whole chat. */
struct store_restriction {
	int64_t id, chat_id, msg_id;
	char territories[STORE_TERRITORIES_SZ];
	int64_t statement_id;
	int64_t created_at;
};

/* Something a chat's own administrator did about reported content. */
enum store_admin_action { STORE_ADMIN_DELETE = 1, STORE_ADMIN_BAN = 2 };
struct store_admin_action_row {
	int64_t id, chat_id, actor_id;
	int action;                   /* enum store_admin_action */
	int64_t msg_id, user_id;
	int64_t created_at;
};

typedef int (*store_case_cb)(void *ctx, const struct store_case *c);
typedef int (*store_signal_cb)(void *ctx, const struct store_signal *sg);
typedef int (*store_statement_cb)(void *ctx, const struct store_statement *st);
typedef int (*store_appeal_cb)(void *ctx, const struct store_appeal *a);
typedef int (*store_flagger_cb)(void *ctx, const struct store_flagger *f);
typedef int (*store_restriction_cb)(void *ctx, const struct store_restriction *r);
typedef int (*store_admin_action_cb)(void *ctx, const struct store_admin_action_row *a);
/* A platform role: user, enum mod_role, who granted it, when. */
typedef int (*store_role_cb)(void *ctx, int64_t user_id, int role, int64_t granted_by, int64_t granted_at);
/* A message named by chat and id. */
typedef int (*store_msg_ref_cb)(void *ctx, int64_t chat_id, int64_t msg_id);

/* --- media rows (docs/media.md) ---------------------------------------- */

#define STORE_SHA_SZ 65          /* SHA-256 in lower-case hex */
#define STORE_FILE_ID_SZ 48      /* a file's public id */
#define STORE_MIME_SZ 128        /* a sniffed media type */
#define STORE_FILE_NAME_SZ 1025  /* a file name as uploaded: 255 characters */

/* A stored blob's state (blobs.state).  A blob row is written before its
 * bytes are moved into place (pending) and marked live after; the garbage
 * collector marks unreferenced ones dying (committed) before it removes
 * their bytes and then the row.  So the bytes of a live blob are always
 * there, and nothing is left on disk that no row names. */
enum store_blob_state {
	STORE_BLOB_LIVE = 0,
	STORE_BLOB_PENDING = 1,      /* the bytes may or may not be in place yet */
	STORE_BLOB_DYING = 2,        /* the bytes may or may not be gone already */
};

struct store_blob {
	char sha256[STORE_SHA_SZ];
	int64_t size;
	int state;                   /* enum store_blob_state */
	int64_t refs;                /* message_media rows of live messages that use it */
	int64_t unref_at;            /* when refs last became 0 (or the row was made) */
	int64_t created_at;
};

enum store_file_kind {
	STORE_FILE_PHOTO = 1,        /* one size of a photo (re-encoded JPEG) */
	STORE_FILE_DOCUMENT = 2,
	STORE_FILE_VOICE = 3,
	STORE_FILE_VIDEO = 4,
};

/* One file as clients know it (file_id): a blob with a kind, a type, a
 * name and who uploaded it.  The sizes of one photo share group_id (the id
 * of its largest size's row); other files have group_id 0. */
struct store_file {
	int64_t id;
	char file_id[STORE_FILE_ID_SZ];
	char sha256[STORE_SHA_SZ];
	int kind;                    /* enum store_file_kind */
	char mime[STORE_MIME_SZ];
	char name[STORE_FILE_NAME_SZ];
	int64_t size;
	int64_t width, height;       /* photos */
	int64_t duration;            /* voice and video, seconds (0: unknown) */
	int64_t uploader_id;
	int64_t group_id;
	int64_t created_at;
};

typedef int (*store_blob_cb)(void *ctx, const struct store_blob *b);
typedef int (*store_file_cb)(void *ctx, const struct store_file *f);

void store_signal_release(struct store_signal *sg);
void store_statement_release(struct store_statement *st);
void store_appeal_release(struct store_appeal *a);

/* How hard checkpoint() tries (SQLite's checkpoint modes of the same names). */
enum store_ckpt_mode {
	STORE_CKPT_PASSIVE = 0,  /* copy what no reader still needs; never waits, never blocks */
	STORE_CKPT_RESTART = 1,  /* take the write lock (the writer waits meanwhile), copy all,
				  * wait for readers to leave the WAL: the next commit starts it over */
	STORE_CKPT_TRUNCATE = 2, /* RESTART, then cut the WAL file to 0 bytes */
};

enum store_dir {
	STORE_OLDER = 0,   /* ids < from_id, newest first */
	STORE_NEWER = 1,   /* ids > from_id, oldest first */
};

struct store;

struct store_ops {
	int version; /* STORE_OPS_VERSION */
	const char *name;

	void (*close)(struct store *s);
	/* Runs the numbered migrations not yet applied.  Writer handle only. */
	int (*migrate)(struct store *s);
	/* The schema version the store has now and the one migrate brings it
	 * to (a caller can say that a long migration is coming). */
	int (*schema)(struct store *s, int *current, int *latest);

	/* Transactions.  begin/commit/rollback bound a group commit; mark,
	 * release and undo nest one request inside it (SQL savepoints) so a
	 * request that fails leaves no trace while its neighbours commit.
	 * A savepoint copies every page the request touches first, so the
	 * writer runs requests without one and reads changes around each: a
	 * count that moves whenever the open write transaction changes (rows
	 * written, search-index updates queued; not the writes of what earlier
	 * requests noted to write later — log counters, chats rows — which
	 * change nothing they had not already changed).  A request that failed with
	 * the count unchanged left nothing to undo; one that changed something
	 * makes the writer roll the group back and run it again with marks
	 * (writer.h).  Once changes was read outside a mark, the transaction
	 * is bare: ops open no savepoint of their own either, and one that
	 * fails after a change leaves half of itself in the transaction.
	 * changes returns 0, or PL_IO when no write transaction is open any
	 * more (SQLite rolled it back after an I/O error) or it holds half an
	 * op: then only rollback may follow. */
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*mark)(struct store *s);
	int (*release)(struct store *s);
	int (*undo)(struct store *s);
	int (*changes)(struct store *s, uint64_t *n);
	/* Deferred search indexing (docs/store.md).  With index_defer on, a
	 * commit whose transaction only added new messages leaves their index
	 * updates queued in the handle, committed; index_flush applies them in
	 * a transaction of its own (outside any transaction: PL_INVAL), and
	 * close does too.  Searches do not see a queued message.  A commit
	 * that edits, deletes or moderates applies the whole queue first, in
	 * order.  Nothing is lost on a crash: migrate indexes the messages
	 * committed after the last applied queue (a watermark in fts_state).
	 * Only one handle may write messages while one defers.  index_pending
	 * reports how many committed updates wait and since when
	 * (CLOCK_MONOTONIC ns, the clock of uv_hrtime; 0 when none). */
	int (*index_defer)(struct store *s, int on);
	void (*index_pending)(struct store *s, size_t *n, uint64_t *since_ns);
	int (*index_flush)(struct store *s);
	/* A read transaction on a read-only handle (a reader's whole call):
	 * every op until read_end sees one snapshot and the handle takes its
	 * read lock once, not once per statement.  read_end ends it whatever
	 * happened inside (it rolls back if the commit fails, and does nothing
	 * if no transaction is open), so a handle always goes back to its pool
	 * without one.  Do not hold one across a wait: a reader's snapshot
	 * keeps the WAL from being reset by checkpoints. */
	int (*read_begin)(struct store *s);
	int (*read_end)(struct store *s);

	/* Checkpoints (WAL; docs/store.md "Checkpoints").  checkpoint_manual
	 * stops the handle from checkpointing by itself after its commits
	 * (SQLite's default runs one inside the committing thread, with its
	 * fsync, once the WAL holds 1,000 pages) and from then on records the
	 * WAL's size at each commit, which wal_pages reads: the pages written
	 * to the WAL since it last started over, as of this handle's last
	 * commit (0 before its first).  Both: the writer handle, its thread.
	 * checkpoint copies WAL pages into the database file and fsyncs it:
	 * PASSIVE on a read-write handle of its own so the writer does not wait
	 * for it, RESTART on the writer's handle between two groups (writer.h).
	 * mode is an enum store_ckpt_mode; *wal and *done (either may be NULL)
	 * get the pages in the WAL and those of them now in the database file.
	 * PL_BUSY when another checkpoint is running or, for RESTART and
	 * TRUNCATE, when a writer or a reader did not let go within 250 ms
	 * (what could be copied was). */
	int (*checkpoint_manual)(struct store *s);
	int (*wal_pages)(struct store *s, int64_t *pages);
	int (*checkpoint)(struct store *s, int mode, int64_t *wal, int64_t *done);

	/* users */
	int (*user_create)(struct store *s, struct store_user *u); /* sets u->id */
	int (*user_get)(struct store *s, int64_t id, struct store_user *out);
	int (*user_find)(struct store *s, const char *username, struct store_user *out);
	int (*user_update)(struct store *s, const struct store_user *u); /* display_name, bio, pw_hash */
	int (*user_count)(struct store *s, int64_t *out);

	/* sessions */
	int (*session_create)(struct store *s, struct store_session *ss); /* sets ss->id */
	int (*session_find)(struct store *s, const char *token_hash, struct store_session *out);
	/* The same by session id (a WebSocket authenticated once checks its
	 * session on each call without keeping the token).  PL_NOTFOUND once
	 * the session is closed. */
	int (*session_get)(struct store *s, int64_t session_id, struct store_session *out);
	int (*session_list)(struct store *s, int64_t user_id, store_session_cb cb, void *ctx);
	int (*session_delete)(struct store *s, int64_t user_id, int64_t session_id);
	int (*session_touch)(struct store *s, int64_t session_id, int64_t now, const char *ip);

	/* blocks: blocker has blocked blocked */
	int (*block_set)(struct store *s, int64_t blocker, int64_t blocked, int on, int64_t now);
	int (*block_get)(struct store *s, int64_t blocker, int64_t blocked); /* 1, 0 or <0 */
	int (*block_list)(struct store *s, int64_t blocker, store_user_cb cb, void *ctx);

	/* chats */
	int (*chat_create)(struct store *s, struct store_chat *c); /* sets c->id */
	int (*chat_get)(struct store *s, int64_t id, struct store_chat *out);
	int (*chat_find)(struct store *s, const char *username, struct store_chat *out);
	int (*chat_find_private)(struct store *s, int64_t user_lo, int64_t user_hi, struct store_chat *out);
	/* Updates title, username, description, perms and pinned_msg_id. */
	int (*chat_update)(struct store *s, const struct store_chat *c);

	/* members; member_put inserts or replaces and keeps chats.member_count */
	int (*member_put)(struct store *s, const struct store_member *m);
	int (*member_get)(struct store *s, int64_t chat_id, int64_t user_id, struct store_member *out);
	/* Members with role >= MEMBER (or >= ADMIN if admins_only), by user id
	 * ascending, user_id > after_user_id, at most limit. */
	int (*member_list)(struct store *s, int64_t chat_id, int admins_only, int64_t after_user_id,
			   int limit, store_member_cb cb, void *ctx);
	int (*member_set_read)(struct store *s, int64_t chat_id, int64_t user_id, int64_t read_max_id);

	/* invite links */
	int (*link_create)(struct store *s, const struct store_link *l); /* PL_EXISTS if code taken */
	int (*link_get)(struct store *s, const char *code, struct store_link *out);
	int (*link_update)(struct store *s, const struct store_link *l); /* usage, revoked, name, expire_date, member_limit */
	int (*link_list)(struct store *s, int64_t chat_id, store_link_cb cb, void *ctx);

	/* messages */
	/* Appends m to its chat: m->id becomes the chat's last_msg_id + 1, and
	 * the chat's last_msg_id and last_date are advanced.  Indexed for search.
	 * On the way in, m->id is 0 or the id the caller expects (the chats row
	 * it read in this transaction: last_msg_id + 1), which saves reading the
	 * row again outside a transaction; a wrong guess costs that read, never a
	 * wrong id.  Inside a transaction the chat's advance may be held back and
	 * written once for many appends (docs/store.md): every op reads it. */
	int (*message_put)(struct store *s, struct store_message *m);
	int (*message_get)(struct store *s, int64_t chat_id, int64_t id, struct store_message *out);
	int (*message_edit)(struct store *s, int64_t chat_id, int64_t id, const char *text, int64_t edit_date);
	/* Deletes for everyone: text dropped, deleted set, removed from search. */
	int (*message_delete)(struct store *s, int64_t chat_id, int64_t id);
	/* Deletes for one user only. */
	int (*message_hide)(struct store *s, int64_t user_id, int64_t chat_id, int64_t id);
	/* Messages of chat_id not deleted and not hidden for user_id, paged by id
	 * (see enum store_dir; from_id 0 with STORE_OLDER means from the newest). */
	int (*message_history)(struct store *s, int64_t chat_id, int64_t user_id, int64_t from_id,
			       int dir, int limit, store_message_cb cb, void *ctx);
	/* Full-text search for query (plain words, all must match) in chat_id, or
	 * in every chat where user_id is a member if chat_id is 0; newest first;
	 * only messages with (date, chat_id, id) before the given offset triple
	 * when offset_date > 0. */
	int (*message_search)(struct store *s, int64_t user_id, int64_t chat_id, const char *query,
			      int64_t offset_date, int64_t offset_chat, int64_t offset_id, int limit,
			      store_message_cb cb, void *ctx);
	/* Records that user_id viewed the message; *views gets the new count.
	 * Counting the same viewer twice is a no-op. */
	int (*message_view)(struct store *s, int64_t chat_id, int64_t id, int64_t user_id, int64_t *views);
	/* Messages of chat_id with id > after_id, not deleted, not sent by user_id
	 * and not hidden for user_id. */
	int (*message_unread)(struct store *s, int64_t chat_id, int64_t user_id, int64_t after_id, int64_t *out);
	int (*message_count)(struct store *s, int64_t *out);

	/* The chats user_id is a member of, by (last_date, chat id) descending,
	 * before (offset_date, offset_chat) when offset_date > 0. */
	int (*dialog_list)(struct store *s, int64_t user_id, int64_t offset_date, int64_t offset_chat,
			   int limit, store_dialog_cb cb, void *ctx);

	/* --- update logs (docs/sync.md) --------------------------------- */
	/* Stores an encoded update body once; rows of many logs refer to it.
	 * chat_id/msg_id (0 if none) name the message whose content it carries,
	 * so payload_redact can find it.  view (NULL: none) is the payload's
	 * second view, which a user log row appended with view 1 reads instead
	 * of the body: a private chat's two members share one payload. */
	int (*payload_put)(struct store *s, const char *body, size_t len, const struct store_view *view, int64_t date,
			   int64_t chat_id, int64_t msg_id, int64_t *id);
	/* Replaces the body of every payload carrying message (chat_id, msg_id),
	 * and drops its second view (every row then reads the new body): a
	 * message deleted for everyone leaves no copy in the update logs. */
	int (*payload_redact)(struct store *s, int64_t chat_id, int64_t msg_id, const char *body, size_t len);
	/* Appends payload_id to user_id's log with the user's next pts (1, 2, ...),
	 * returned in *pts.  The counter lives in the store and is never reused.
	 * view 1: the row reads the payload's second view (store_view), 0 its
	 * body.  An unknown user or payload is PL_NOTFOUND, nothing written.
	 * Along a log, payload ids must not decrease (update_prune relies on it):
	 * a caller stores a payload and appends it before it stores the next,
	 * as src/api/updates.c does. */
	int (*update_user_append)(struct store *s, int64_t user_id, int64_t payload_id, int view, int64_t date,
				  int64_t *pts);
	/* Appends payload_id to chat_id's log with the chat's next pts (chats.pts);
	 * the same rules as update_user_append. */
	int (*update_chat_append)(struct store *s, int64_t chat_id, int64_t payload_id, int64_t date, int64_t *pts);
	/* The log's current pts and the lowest pts still kept (pts + 1 if the
	 * log keeps nothing): a client at pts p can be replayed iff p + 1 >= min_kept. */
	int (*update_user_state)(struct store *s, int64_t user_id, int64_t *pts, int64_t *min_kept);
	int (*update_chat_state)(struct store *s, int64_t chat_id, int64_t *pts, int64_t *min_kept);
	/* Updates with pts > after_pts, ascending, at most limit. */
	int (*update_user_range)(struct store *s, int64_t user_id, int64_t after_pts, int limit,
				 store_update_cb cb, void *ctx);
	int (*update_chat_range)(struct store *s, int64_t chat_id, int64_t after_pts, int limit,
				 store_update_cb cb, void *ctx);
	/* Deletes log rows (and payloads no row refers to) dated before
	 * before_date, at most limit rows per call; *removed gets the count.
	 * Each log loses old rows from its front only, so what it keeps stays
	 * contiguous.  The work spans calls (a cycle over every log, kept in the
	 * store); a call reads at most a fixed multiple of limit rows and returns
	 * early at the end of a cycle, so a caller drains a backlog by calling
	 * again while *removed == limit (docs/store.md, "Pruning"). */
	int (*update_prune)(struct store *s, int64_t before_date, int limit, int64_t *removed);
	/* The large chats user_id is a member of (role >= MEMBER), with their pts. */
	int (*large_chats)(struct store *s, int64_t user_id, store_chat_pts_cb cb, void *ctx);
	/* Marks a chat large (idempotent). */
	int (*chat_set_large)(struct store *s, int64_t chat_id);
	/* Members (role >= MEMBER) of chat_id, by user id ascending, after
	 * after_user_id, at most limit: ids only (fan-out needs no more). */
	int (*member_ids)(struct store *s, int64_t chat_id, int64_t after_user_id, int limit, store_id_cb cb,
			  void *ctx);
	/* Users with whom user_id has a private chat ("contacts" for privacy). */
	int (*contact_ids)(struct store *s, int64_t user_id, store_id_cb cb, void *ctx);
	/* Presence: last_seen (unix seconds) and the last-seen privacy setting. */
	int (*user_set_last_seen)(struct store *s, int64_t user_id, int64_t last_seen);
	int (*user_set_privacy)(struct store *s, int64_t user_id, int privacy);

	/* --- audit log (src/safety/audit.h) ----------------------------- */
	/* Append-only: no op updates or deletes an entry.  Callers go through
	 * audit_append/audit_verify; these ops store and read, they do not hash. */
	/* The last entry's seq, ts and hash (0, 0 and 32 zero bytes if none). */
	int (*audit_last)(struct store *s, int64_t *seq, int64_t *ts, unsigned char hash[32]);
	/* Stores e (details a NUL-terminated JSON text) as the next entry.
	 * PL_EXISTS if e->seq is taken (another writer appended first);
	 * PL_INVAL if e->seq is not last + 1, e->prev is not the last entry's
	 * hash (32 zero bytes for seq 1), e->ts is before the last entry's ts,
	 * or details is NULL.  One statement: nothing is written on failure. */
	int (*audit_put)(struct store *s, const struct audit_entry *e);
	/* Entries with seq > after_seq, ascending, at most limit.  The entry
	 * passed to cb, and its details, belong to the store (valid during the
	 * call).  A row that does not fit struct audit_entry (a text too long,
	 * a hash not 32 bytes, details NULL) is passed with an empty kind, which
	 * audit_append never writes, so a verifier sees it as malformed. */
	int (*audit_range)(struct store *s, int64_t after_seq, int limit, store_audit_cb cb, void *ctx);
	/* The entry in force at time ts: the last one with ts <= the given ts
	 * (seq 0 and 32 zero bytes if none). */
	int (*audit_head_at)(struct store *s, int64_t ts, int64_t *seq, unsigned char hash[32]);

	/* --- trust & safety (docs/policy.md) ---------------------------- */
	/* Account and chat state: a suspension (until 0 lifts it), a chat ban
	 * (statement 0 lifts it). */
	int (*user_set_suspension)(struct store *s, int64_t user_id, int64_t until, int64_t statement_id);
	int (*user_set_country)(struct store *s, int64_t user_id, const char *country);
	int (*chat_set_ban)(struct store *s, int64_t chat_id, int64_t statement_id);
	/* Removes a live message from everyone's view keeping its text
	 * (remove = 1: STORE_LIVE -> STORE_REMOVED, out of search), or restores
	 * a removed one (remove = 0: back to STORE_LIVE, searchable again).
	 * PL_NOTFOUND if the message is not in the expected state. */
	int (*message_moderate)(struct store *s, int64_t chat_id, int64_t id, int remove);
	/* Ids of the live messages sender_id posted in chat_id, ascending. */
	int (*message_ids_by_sender)(struct store *s, int64_t chat_id, int64_t sender_id, store_id_cb cb, void *ctx);
	/* Sets the statement a (system) message carries. */
	int (*message_set_statement)(struct store *s, int64_t chat_id, int64_t id, int64_t statement_id);

	/* Platform roles: role 0 removes the row.  role_get gives 0 for none. */
	int (*role_get)(struct store *s, int64_t user_id, int *role);
	int (*role_set)(struct store *s, int64_t user_id, int role, int64_t granted_by, int64_t now);
	int (*role_list)(struct store *s, store_role_cb cb, void *ctx);

	/* Trusted flaggers.  flagger_count adds the deltas to the counters. */
	int (*flagger_create)(struct store *s, struct store_flagger *f); /* sets f->id; PL_EXISTS if the key hash is taken */
	int (*flagger_get)(struct store *s, int64_t id, struct store_flagger *out);
	int (*flagger_find_key)(struct store *s, const char *key_hash, struct store_flagger *out);
	int (*flagger_list)(struct store *s, store_flagger_cb cb, void *ctx);
	int (*flagger_count)(struct store *s, int64_t id, int64_t notices, int64_t upheld, int64_t dismissed);

	/* Cases.  case_find_open: the open case of a target (PL_NOTFOUND if
	 * none).  case_update writes every field but id and the target. */
	int (*case_create)(struct store *s, struct store_case *c); /* sets c->id */
	int (*case_get)(struct store *s, int64_t id, struct store_case *out);
	int (*case_find_open)(struct store *s, int target, int64_t chat_id, int64_t msg_id, int64_t user_id,
			      struct store_case *out);
	int (*case_update)(struct store *s, const struct store_case *c);
	/* Open cases, highest priority first, then earliest deadline, then oldest. */
	int (*case_queue)(struct store *s, int limit, int64_t offset, store_case_cb cb, void *ctx);
	/* Open cases, and how many of them have a deadline before now. */
	int (*case_count_open)(struct store *s, int64_t now, int64_t *open, int64_t *overdue);
	/* Cases (any status) about chat_id or a message in it. */
	int (*case_count_chat)(struct store *s, int64_t chat_id, int64_t *out);

	/* Signals.  signal_get_ref: a notice by its reference (texts malloc'd). */
	int (*signal_create)(struct store *s, struct store_signal *sg); /* sets sg->id */
	int (*signal_get_ref)(struct store *s, const char *reference, struct store_signal *out);
	/* A case's signals, newest first, at most limit. */
	int (*signal_list_case)(struct store *s, int64_t case_id, int limit, store_signal_cb cb, void *ctx);
	/* Signals of one kind about chat_id or its messages, newest first. */
	int (*signal_list_chat)(struct store *s, int64_t chat_id, int kind, int limit, int64_t offset,
				store_signal_cb cb, void *ctx);
	/* Marks every open signal of a case decided (status, statement). */
	int (*signal_close_case)(struct store *s, int64_t case_id, int status, int64_t statement_id);
	/* Opens again the signals a (reversed) statement closed. */
	int (*signal_reopen)(struct store *s, int64_t case_id, int64_t statement_id);

	/* Statements of reasons. */
	int (*statement_create)(struct store *s, struct store_statement *st); /* sets st->id */
	int (*statement_get)(struct store *s, int64_t id, struct store_statement *out);
	int (*statement_set_text)(struct store *s, int64_t id, const char *text);
	int (*statement_set_reversed)(struct store *s, int64_t id, int64_t reversed_by);
	/* Statements dated from <= created_at < to, with id > after_id, by id. */
	int (*statement_list_range)(struct store *s, int64_t from, int64_t to, int64_t after_id, int limit,
				    store_statement_cb cb, void *ctx);
	/* Statements about user_id or chat_id (either may be 0), newest first. */
	int (*statement_list_subject)(struct store *s, int64_t user_id, int64_t chat_id, int limit,
				      store_statement_cb cb, void *ctx);
	/* Warnings (MOD_ACT_WARN_USER) given to user_id and not reversed. */
	int (*statement_count_warnings)(struct store *s, int64_t user_id, int64_t *out);
	/* The messages a removal statement took down (for a reversal). */
	int (*statement_message_add)(struct store *s, int64_t statement_id, int64_t chat_id, int64_t msg_id);
	int (*statement_message_list)(struct store *s, int64_t statement_id, store_msg_ref_cb cb, void *ctx);

	/* Appeals. */
	int (*appeal_create)(struct store *s, struct store_appeal *a); /* sets a->id */
	int (*appeal_get)(struct store *s, int64_t id, struct store_appeal *out);
	/* Appeals with this status (-1: any), oldest first, after offset. */
	int (*appeal_list)(struct store *s, int status, int limit, int64_t offset, store_appeal_cb cb, void *ctx);
	/* The appeals of one statement, oldest first. */
	int (*appeal_list_statement)(struct store *s, int64_t statement_id, store_appeal_cb cb, void *ctx);
	/* Writes status, decided_by, decided_at, result_statement_id and outcome. */
	int (*appeal_update)(struct store *s, const struct store_appeal *a);

	/* Territorial restrictions in force. */
	int (*restriction_add)(struct store *s, struct store_restriction *r); /* sets r->id */
	/* Lifts the restrictions a statement imposed. */
	int (*restriction_end)(struct store *s, int64_t statement_id);
	/* The restrictions in force on chat_id (whole chat and its messages). */
	int (*restriction_list_chat)(struct store *s, int64_t chat_id, store_restriction_cb cb, void *ctx);
	/* How many restrictions are in force anywhere. */
	int (*restriction_count)(struct store *s, int64_t *out);

	/* The IP-to-country table (IPv4, inclusive ranges, as 32-bit numbers). */
	int (*geoip_clear)(struct store *s);
	int (*geoip_add)(struct store *s, uint32_t start, uint32_t end, const char *country);
	/* The country of ip: "" (and 0) if no range holds it. */
	int (*geoip_lookup)(struct store *s, uint32_t ip, char country[STORE_COUNTRY_SZ]);

	/* What chat administrators did about reported content. */
	int (*admin_action_add)(struct store *s, const struct store_admin_action_row *a);
	int (*admin_action_list)(struct store *s, int64_t chat_id, int64_t since, int limit,
				 store_admin_action_cb cb, void *ctx);

	/* Small named values of the safety module (e.g. the system account's id). */
	int (*safety_meta_get)(struct store *s, const char *key, int64_t *value); /* PL_NOTFOUND if unset */
	int (*safety_meta_set)(struct store *s, const char *key, int64_t value);

	/* --- media (docs/media.md) -------------------------------------- */
	/* blobs.refs counts the message_media rows of messages not deleted for
	 * everyone: attaching a file adds one, deleting its message takes it
	 * away (the backend keeps this itself, whatever deletes the message). */
	/* Before an upload's bytes are moved into place: a missing, pending or
	 * dying row becomes pending (*need_write 1: move the bytes, then
	 * publish); a live one stays (*need_write 0: the bytes are there).
	 * Either way unref_at is set to now, so the collector leaves it alone
	 * for a grace period. */
	int (*blob_reserve)(struct store *s, const char *sha256, int64_t size, int64_t now, int *need_write);
	/* The bytes are in place: pending becomes live.  PL_NOTFOUND if the
	 * row is missing or dying (the upload took longer than the grace). */
	int (*blob_publish)(struct store *s, const char *sha256);
	int (*blob_get)(struct store *s, const char *sha256, struct store_blob *out);
	int (*file_put)(struct store *s, struct store_file *f); /* sets f->id; PL_EXISTS if file_id is taken */
	int (*file_get)(struct store *s, const char *file_id, struct store_file *out);
	/* Sets the group of file id (photos: after the group's rows exist). */
	int (*file_set_group)(struct store *s, int64_t id, int64_t group_id);
	/* The files of group_id, smallest first. */
	int (*file_group)(struct store *s, int64_t group_id, store_file_cb cb, void *ctx);
	/* Attaches file id to message (chat_id, msg_id) at position ord. */
	int (*media_attach)(struct store *s, int64_t chat_id, int64_t msg_id, int ord, int64_t file);
	/* The files of a message, by position (none: returns 0, no call). */
	int (*media_list)(struct store *s, int64_t chat_id, int64_t msg_id, store_file_cb cb, void *ctx);
	/* Ids of the messages of chat_id from lo_id to hi_id (both included)
	 * that carry files, ascending, at most limit: one look for a page of
	 * history instead of one per message. */
	int (*media_msg_ids)(struct store *s, int64_t chat_id, int64_t lo_id, int64_t hi_id, int limit, store_id_cb cb,
			     void *ctx);
	/* Chats holding file id in a message not deleted for everyone, at most
	 * limit, most recently attached first. */
	int (*file_chats)(struct store *s, int64_t file, int limit, store_id_cb cb, void *ctx);
	/* Garbage collection, in two commits: blob_gc_mark marks up to limit
	 * unreferenced blobs whose unref_at is before cutoff dying (*n); after
	 * that has committed, blob_gc_dying lists dying blobs (up to limit),
	 * the caller removes their bytes, and blob_delete drops each row with
	 * its files (PL_NOTFOUND unless it is still dying). */
	int (*blob_gc_mark)(struct store *s, int64_t cutoff, int limit, int64_t *n);
	int (*blob_gc_dying)(struct store *s, int limit, store_blob_cb cb, void *ctx);
	int (*blob_delete)(struct store *s, const char *sha256);
	/* Rows and bytes of blobs by state (live + pending, dying). */
	int (*blob_count)(struct store *s, int64_t *rows, int64_t *bytes);
};

struct store {
	const struct store_ops *ops;
};

enum store_open_flags {
	STORE_READONLY = 1 << 0,
	STORE_SYNC_NORMAL = 1 << 1, /* fsync at checkpoints only; default is FULL */
};

/* Opens (creating if needed) the SQLite database in directory dir.  Returns
 * NULL on failure with a message in errbuf.  Close with store_close(). */
struct store *store_sqlite_open(const char *dir, int flags, char *errbuf, size_t errlen);

/* Process-wide SQLite settings, for main() to call once before it opens a
 * store (SQLite refuses them once it is initialised; later calls change
 * nothing).  Turns off SQLite's allocation statistics, which take a global
 * mutex around every malloc and free SQLite makes, and registers the VFS that
 * writes a commit's WAL frames in one system call (docs/store.md, "WAL
 * writes"), which stores opened afterwards use.  Returns 0 or a negative
 * pl_err. */
int store_sqlite_setup_process(void);

/* Frees a message's text (not the struct). */
void store_message_release(struct store_message *m);

static inline void store_close(struct store *s) { if (s) s->ops->close(s); }
static inline int store_migrate(struct store *s) { return s->ops->migrate(s); }
static inline int store_schema(struct store *s, int *c, int *l) { return s->ops->schema(s, c, l); }
static inline int store_begin(struct store *s) { return s->ops->begin(s); }
static inline int store_commit(struct store *s) { return s->ops->commit(s); }
static inline int store_rollback(struct store *s) { return s->ops->rollback(s); }
static inline int store_mark(struct store *s) { return s->ops->mark(s); }
static inline int store_release(struct store *s) { return s->ops->release(s); }
static inline int store_undo(struct store *s) { return s->ops->undo(s); }
static inline int store_changes(struct store *s, uint64_t *n) { return s->ops->changes(s, n); }
static inline int store_index_defer(struct store *s, int on) { return s->ops->index_defer(s, on); }
static inline void store_index_pending(struct store *s, size_t *n, uint64_t *since_ns)
{
	s->ops->index_pending(s, n, since_ns);
}
static inline int store_index_flush(struct store *s) { return s->ops->index_flush(s); }
static inline int store_read_begin(struct store *s) { return s->ops->read_begin(s); }
static inline int store_read_end(struct store *s) { return s->ops->read_end(s); }
static inline int store_checkpoint_manual(struct store *s) { return s->ops->checkpoint_manual(s); }
static inline int store_wal_pages(struct store *s, int64_t *pages) { return s->ops->wal_pages(s, pages); }
static inline int store_checkpoint(struct store *s, int mode, int64_t *wal, int64_t *done) { return s->ops->checkpoint(s, mode, wal, done); }

static inline int store_user_create(struct store *s, struct store_user *u) { return s->ops->user_create(s, u); }
static inline int store_user_get(struct store *s, int64_t id, struct store_user *o) { return s->ops->user_get(s, id, o); }
static inline int store_user_find(struct store *s, const char *n, struct store_user *o) { return s->ops->user_find(s, n, o); }
static inline int store_user_update(struct store *s, const struct store_user *u) { return s->ops->user_update(s, u); }
static inline int store_user_count(struct store *s, int64_t *o) { return s->ops->user_count(s, o); }

static inline int store_session_create(struct store *s, struct store_session *ss) { return s->ops->session_create(s, ss); }
static inline int store_session_find(struct store *s, const char *h, struct store_session *o) { return s->ops->session_find(s, h, o); }
static inline int store_session_get(struct store *s, int64_t sid, struct store_session *o) { return s->ops->session_get(s, sid, o); }
static inline int store_session_list(struct store *s, int64_t uid, store_session_cb cb, void *c) { return s->ops->session_list(s, uid, cb, c); }
static inline int store_session_delete(struct store *s, int64_t uid, int64_t sid) { return s->ops->session_delete(s, uid, sid); }
static inline int store_session_touch(struct store *s, int64_t sid, int64_t now, const char *ip) { return s->ops->session_touch(s, sid, now, ip); }

static inline int store_block_set(struct store *s, int64_t a, int64_t b, int on, int64_t now) { return s->ops->block_set(s, a, b, on, now); }
static inline int store_block_get(struct store *s, int64_t a, int64_t b) { return s->ops->block_get(s, a, b); }
static inline int store_block_list(struct store *s, int64_t a, store_user_cb cb, void *c) { return s->ops->block_list(s, a, cb, c); }

static inline int store_chat_create(struct store *s, struct store_chat *c) { return s->ops->chat_create(s, c); }
static inline int store_chat_get(struct store *s, int64_t id, struct store_chat *o) { return s->ops->chat_get(s, id, o); }
static inline int store_chat_find(struct store *s, const char *n, struct store_chat *o) { return s->ops->chat_find(s, n, o); }
static inline int store_chat_find_private(struct store *s, int64_t lo, int64_t hi, struct store_chat *o) { return s->ops->chat_find_private(s, lo, hi, o); }
static inline int store_chat_update(struct store *s, const struct store_chat *c) { return s->ops->chat_update(s, c); }

static inline int store_member_put(struct store *s, const struct store_member *m) { return s->ops->member_put(s, m); }
static inline int store_member_get(struct store *s, int64_t c, int64_t u, struct store_member *o) { return s->ops->member_get(s, c, u, o); }
static inline int store_member_list(struct store *s, int64_t c, int adm, int64_t after, int lim, store_member_cb cb, void *x) { return s->ops->member_list(s, c, adm, after, lim, cb, x); }
static inline int store_member_set_read(struct store *s, int64_t c, int64_t u, int64_t m) { return s->ops->member_set_read(s, c, u, m); }

static inline int store_link_create(struct store *s, const struct store_link *l) { return s->ops->link_create(s, l); }
static inline int store_link_get(struct store *s, const char *code, struct store_link *o) { return s->ops->link_get(s, code, o); }
static inline int store_link_update(struct store *s, const struct store_link *l) { return s->ops->link_update(s, l); }
static inline int store_link_list(struct store *s, int64_t c, store_link_cb cb, void *x) { return s->ops->link_list(s, c, cb, x); }

static inline int store_message_put(struct store *s, struct store_message *m) { return s->ops->message_put(s, m); }
static inline int store_message_get(struct store *s, int64_t c, int64_t id, struct store_message *o) { return s->ops->message_get(s, c, id, o); }
static inline int store_message_edit(struct store *s, int64_t c, int64_t id, const char *t, int64_t d) { return s->ops->message_edit(s, c, id, t, d); }
static inline int store_message_delete(struct store *s, int64_t c, int64_t id) { return s->ops->message_delete(s, c, id); }
static inline int store_message_hide(struct store *s, int64_t u, int64_t c, int64_t id) { return s->ops->message_hide(s, u, c, id); }
static inline int store_message_history(struct store *s, int64_t c, int64_t u, int64_t from, int dir, int lim, store_message_cb cb, void *x) { return s->ops->message_history(s, c, u, from, dir, lim, cb, x); }
static inline int store_message_search(struct store *s, int64_t u, int64_t c, const char *q, int64_t od, int64_t oc, int64_t oi, int lim, store_message_cb cb, void *x) { return s->ops->message_search(s, u, c, q, od, oc, oi, lim, cb, x); }
static inline int store_message_view(struct store *s, int64_t c, int64_t id, int64_t u, int64_t *v) { return s->ops->message_view(s, c, id, u, v); }
static inline int store_message_unread(struct store *s, int64_t c, int64_t u, int64_t after, int64_t *o) { return s->ops->message_unread(s, c, u, after, o); }
static inline int store_message_count(struct store *s, int64_t *o) { return s->ops->message_count(s, o); }

static inline int store_payload_put(struct store *s, const char *b, size_t n, int64_t d, int64_t c, int64_t m, int64_t *id) { return s->ops->payload_put(s, b, n, NULL, d, c, m, id); }
static inline int store_payload_put_view(struct store *s, const char *b, size_t n, const struct store_view *v, int64_t d, int64_t c, int64_t m, int64_t *id) { return s->ops->payload_put(s, b, n, v, d, c, m, id); }
static inline int store_payload_redact(struct store *s, int64_t c, int64_t m, const char *b, size_t n) { return s->ops->payload_redact(s, c, m, b, n); }
static inline int store_update_user_append(struct store *s, int64_t u, int64_t p, int64_t d, int64_t *pts) { return s->ops->update_user_append(s, u, p, 0, d, pts); }
static inline int store_update_user_append_view(struct store *s, int64_t u, int64_t p, int v, int64_t d, int64_t *pts) { return s->ops->update_user_append(s, u, p, v, d, pts); }
static inline int store_update_chat_append(struct store *s, int64_t c, int64_t p, int64_t d, int64_t *pts) { return s->ops->update_chat_append(s, c, p, d, pts); }
static inline int store_update_user_state(struct store *s, int64_t u, int64_t *pts, int64_t *min) { return s->ops->update_user_state(s, u, pts, min); }
static inline int store_update_chat_state(struct store *s, int64_t c, int64_t *pts, int64_t *min) { return s->ops->update_chat_state(s, c, pts, min); }
static inline int store_update_user_range(struct store *s, int64_t u, int64_t after, int lim, store_update_cb cb, void *x) { return s->ops->update_user_range(s, u, after, lim, cb, x); }
static inline int store_update_chat_range(struct store *s, int64_t c, int64_t after, int lim, store_update_cb cb, void *x) { return s->ops->update_chat_range(s, c, after, lim, cb, x); }
static inline int store_update_prune(struct store *s, int64_t before, int lim, int64_t *n) { return s->ops->update_prune(s, before, lim, n); }
static inline int store_large_chats(struct store *s, int64_t u, store_chat_pts_cb cb, void *x) { return s->ops->large_chats(s, u, cb, x); }
static inline int store_chat_set_large(struct store *s, int64_t c) { return s->ops->chat_set_large(s, c); }
static inline int store_member_ids(struct store *s, int64_t c, int64_t after, int lim, store_id_cb cb, void *x) { return s->ops->member_ids(s, c, after, lim, cb, x); }
static inline int store_contact_ids(struct store *s, int64_t u, store_id_cb cb, void *x) { return s->ops->contact_ids(s, u, cb, x); }
static inline int store_user_set_last_seen(struct store *s, int64_t u, int64_t t) { return s->ops->user_set_last_seen(s, u, t); }
static inline int store_user_set_privacy(struct store *s, int64_t u, int p) { return s->ops->user_set_privacy(s, u, p); }

static inline int store_dialog_list(struct store *s, int64_t u, int64_t od, int64_t oc, int lim, store_dialog_cb cb, void *x) { return s->ops->dialog_list(s, u, od, oc, lim, cb, x); }

static inline int store_audit_last(struct store *s, int64_t *seq, int64_t *ts, unsigned char h[32]) { return s->ops->audit_last(s, seq, ts, h); }
static inline int store_audit_put(struct store *s, const struct audit_entry *e) { return s->ops->audit_put(s, e); }
static inline int store_audit_range(struct store *s, int64_t after, int lim, store_audit_cb cb, void *x) { return s->ops->audit_range(s, after, lim, cb, x); }
static inline int store_audit_head_at(struct store *s, int64_t ts, int64_t *seq, unsigned char h[32]) { return s->ops->audit_head_at(s, ts, seq, h); }

static inline int store_user_set_suspension(struct store *s, int64_t u, int64_t until, int64_t st) { return s->ops->user_set_suspension(s, u, until, st); }
static inline int store_user_set_country(struct store *s, int64_t u, const char *cc) { return s->ops->user_set_country(s, u, cc); }
static inline int store_chat_set_ban(struct store *s, int64_t c, int64_t st) { return s->ops->chat_set_ban(s, c, st); }
static inline int store_message_moderate(struct store *s, int64_t c, int64_t id, int rm) { return s->ops->message_moderate(s, c, id, rm); }
static inline int store_message_ids_by_sender(struct store *s, int64_t c, int64_t u, store_id_cb cb, void *x) { return s->ops->message_ids_by_sender(s, c, u, cb, x); }
static inline int store_message_set_statement(struct store *s, int64_t c, int64_t id, int64_t st) { return s->ops->message_set_statement(s, c, id, st); }
static inline int store_role_get(struct store *s, int64_t u, int *r) { return s->ops->role_get(s, u, r); }
static inline int store_role_set(struct store *s, int64_t u, int r, int64_t by, int64_t now) { return s->ops->role_set(s, u, r, by, now); }
static inline int store_role_list(struct store *s, store_role_cb cb, void *x) { return s->ops->role_list(s, cb, x); }
static inline int store_flagger_create(struct store *s, struct store_flagger *f) { return s->ops->flagger_create(s, f); }
static inline int store_flagger_get(struct store *s, int64_t id, struct store_flagger *o) { return s->ops->flagger_get(s, id, o); }
static inline int store_flagger_find_key(struct store *s, const char *h, struct store_flagger *o) { return s->ops->flagger_find_key(s, h, o); }
static inline int store_flagger_list(struct store *s, store_flagger_cb cb, void *x) { return s->ops->flagger_list(s, cb, x); }
static inline int store_flagger_count(struct store *s, int64_t id, int64_t n, int64_t up, int64_t dis) { return s->ops->flagger_count(s, id, n, up, dis); }
static inline int store_case_create(struct store *s, struct store_case *c) { return s->ops->case_create(s, c); }
static inline int store_case_get(struct store *s, int64_t id, struct store_case *o) { return s->ops->case_get(s, id, o); }
static inline int store_case_find_open(struct store *s, int t, int64_t c, int64_t m, int64_t u, struct store_case *o) { return s->ops->case_find_open(s, t, c, m, u, o); }
static inline int store_case_update(struct store *s, const struct store_case *c) { return s->ops->case_update(s, c); }
static inline int store_case_queue(struct store *s, int lim, int64_t off, store_case_cb cb, void *x) { return s->ops->case_queue(s, lim, off, cb, x); }
static inline int store_case_count_open(struct store *s, int64_t now, int64_t *open, int64_t *overdue) { return s->ops->case_count_open(s, now, open, overdue); }
static inline int store_case_count_chat(struct store *s, int64_t c, int64_t *o) { return s->ops->case_count_chat(s, c, o); }
static inline int store_signal_create(struct store *s, struct store_signal *sg) { return s->ops->signal_create(s, sg); }
static inline int store_signal_get_ref(struct store *s, const char *ref, struct store_signal *o) { return s->ops->signal_get_ref(s, ref, o); }
static inline int store_signal_list_case(struct store *s, int64_t c, int lim, store_signal_cb cb, void *x) { return s->ops->signal_list_case(s, c, lim, cb, x); }
static inline int store_signal_list_chat(struct store *s, int64_t c, int k, int lim, int64_t off, store_signal_cb cb, void *x) { return s->ops->signal_list_chat(s, c, k, lim, off, cb, x); }
static inline int store_signal_reopen(struct store *s, int64_t c, int64_t sid) { return s->ops->signal_reopen(s, c, sid); }
static inline int store_signal_close_case(struct store *s, int64_t c, int st, int64_t sid) { return s->ops->signal_close_case(s, c, st, sid); }
static inline int store_statement_create(struct store *s, struct store_statement *st) { return s->ops->statement_create(s, st); }
static inline int store_statement_get(struct store *s, int64_t id, struct store_statement *o) { return s->ops->statement_get(s, id, o); }
static inline int store_statement_set_text(struct store *s, int64_t id, const char *t) { return s->ops->statement_set_text(s, id, t); }
static inline int store_statement_set_reversed(struct store *s, int64_t id, int64_t by) { return s->ops->statement_set_reversed(s, id, by); }
static inline int store_statement_list_range(struct store *s, int64_t from, int64_t to, int64_t after, int lim, store_statement_cb cb, void *x) { return s->ops->statement_list_range(s, from, to, after, lim, cb, x); }
static inline int store_statement_list_subject(struct store *s, int64_t u, int64_t c, int lim, store_statement_cb cb, void *x) { return s->ops->statement_list_subject(s, u, c, lim, cb, x); }
static inline int store_statement_count_warnings(struct store *s, int64_t u, int64_t *o) { return s->ops->statement_count_warnings(s, u, o); }
static inline int store_statement_message_add(struct store *s, int64_t st, int64_t c, int64_t m) { return s->ops->statement_message_add(s, st, c, m); }
static inline int store_statement_message_list(struct store *s, int64_t st, store_msg_ref_cb cb, void *x) { return s->ops->statement_message_list(s, st, cb, x); }
static inline int store_appeal_create(struct store *s, struct store_appeal *a) { return s->ops->appeal_create(s, a); }
static inline int store_appeal_get(struct store *s, int64_t id, struct store_appeal *o) { return s->ops->appeal_get(s, id, o); }
static inline int store_appeal_list(struct store *s, int st, int lim, int64_t off, store_appeal_cb cb, void *x) { return s->ops->appeal_list(s, st, lim, off, cb, x); }
static inline int store_appeal_list_statement(struct store *s, int64_t st, store_appeal_cb cb, void *x) { return s->ops->appeal_list_statement(s, st, cb, x); }
static inline int store_appeal_update(struct store *s, const struct store_appeal *a) { return s->ops->appeal_update(s, a); }
static inline int store_restriction_add(struct store *s, struct store_restriction *r) { return s->ops->restriction_add(s, r); }
static inline int store_restriction_end(struct store *s, int64_t st) { return s->ops->restriction_end(s, st); }
static inline int store_restriction_list_chat(struct store *s, int64_t c, store_restriction_cb cb, void *x) { return s->ops->restriction_list_chat(s, c, cb, x); }
static inline int store_restriction_count(struct store *s, int64_t *o) { return s->ops->restriction_count(s, o); }
static inline int store_geoip_clear(struct store *s) { return s->ops->geoip_clear(s); }
static inline int store_geoip_add(struct store *s, uint32_t a, uint32_t b, const char *cc) { return s->ops->geoip_add(s, a, b, cc); }
static inline int store_geoip_lookup(struct store *s, uint32_t ip, char cc[STORE_COUNTRY_SZ]) { return s->ops->geoip_lookup(s, ip, cc); }
static inline int store_admin_action_add(struct store *s, const struct store_admin_action_row *a) { return s->ops->admin_action_add(s, a); }
static inline int store_admin_action_list(struct store *s, int64_t c, int64_t since, int lim, store_admin_action_cb cb, void *x) { return s->ops->admin_action_list(s, c, since, lim, cb, x); }
static inline int store_safety_meta_get(struct store *s, const char *k, int64_t *v) { return s->ops->safety_meta_get(s, k, v); }
static inline int store_safety_meta_set(struct store *s, const char *k, int64_t v) { return s->ops->safety_meta_set(s, k, v); }

static inline int store_blob_reserve(struct store *s, const char *h, int64_t size, int64_t now, int *w) { return s->ops->blob_reserve(s, h, size, now, w); }
static inline int store_blob_publish(struct store *s, const char *h) { return s->ops->blob_publish(s, h); }
static inline int store_blob_get(struct store *s, const char *h, struct store_blob *o) { return s->ops->blob_get(s, h, o); }
static inline int store_file_put(struct store *s, struct store_file *f) { return s->ops->file_put(s, f); }
static inline int store_file_get(struct store *s, const char *fid, struct store_file *o) { return s->ops->file_get(s, fid, o); }
static inline int store_file_set_group(struct store *s, int64_t id, int64_t g) { return s->ops->file_set_group(s, id, g); }
static inline int store_file_group(struct store *s, int64_t g, store_file_cb cb, void *x) { return s->ops->file_group(s, g, cb, x); }
static inline int store_media_attach(struct store *s, int64_t c, int64_t m, int ord, int64_t f) { return s->ops->media_attach(s, c, m, ord, f); }
static inline int store_media_list(struct store *s, int64_t c, int64_t m, store_file_cb cb, void *x) { return s->ops->media_list(s, c, m, cb, x); }
static inline int store_media_msg_ids(struct store *s, int64_t c, int64_t lo, int64_t hi, int lim, store_id_cb cb, void *x) { return s->ops->media_msg_ids(s, c, lo, hi, lim, cb, x); }
static inline int store_file_chats(struct store *s, int64_t f, int lim, store_id_cb cb, void *x) { return s->ops->file_chats(s, f, lim, cb, x); }
static inline int store_blob_gc_mark(struct store *s, int64_t cutoff, int lim, int64_t *n) { return s->ops->blob_gc_mark(s, cutoff, lim, n); }
static inline int store_blob_gc_dying(struct store *s, int lim, store_blob_cb cb, void *x) { return s->ops->blob_gc_dying(s, lim, cb, x); }
static inline int store_blob_delete(struct store *s, const char *h) { return s->ops->blob_delete(s, h); }
static inline int store_blob_count(struct store *s, int64_t *rows, int64_t *bytes) { return s->ops->blob_count(s, rows, bytes); }

#endif
