/*
 * core.h — Parley's domain logic: accounts, sessions, chats, membership and
 * permissions, messages.  Pure logic over the store interface: no sockets, no
 * JSON.  Every rule about who may do what lives here, in one place
 * (core_access_*), and every API handler goes through it.
 *
 * A call runs inside a struct core_tx: the store handle to use (the writer's,
 * inside a group commit, for writes; a read-only handle for reads), the
 * acting user, the time, and where to put the failure code and the events to
 * publish after commit.
 *
 * Errors: 0 on success, or a negative enum pl_err with tx->code set to the
 * client-facing enum pl_code and tx->detail to a human sentence.
 *
 * Chat ids seen by clients (the Telegram Bot API convention): a private chat
 * is named by the other user's id (positive); groups and channels by the
 * negated internal chat id.  core_chat_resolve() and core_chat_peer_id()
 * convert.
 */
#ifndef PL_CORE_CORE_H
#define PL_CORE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/codes.h"
#include "core/limits.h"
#include "safety/moderation.h"
#include "safety/safety.h"
#include "store/store.h"

struct bus_events;
struct rl_table;
struct blob_store;
struct blob_temp;
struct media_sniffer;

/* Media (media.c, docs/media.md): where files are kept and their limits. */
struct core_media {
	struct blob_store *blobs;          /* owned by main */
	struct media_sniffer *sniffer;     /* owned by main */
	struct safety_upload_chain chain;  /* every upload, and every new use of a stored file */
	uint64_t photo_max_bytes;
	uint64_t file_max_bytes;
	uint64_t photo_max_pixels;
	unsigned photo_max_side;
	int64_t grace;                     /* seconds an unreferenced blob is kept */
};

/* Shared, read-mostly state of the domain layer.  Owned by parleyd's main. */
struct core {
	unsigned long long pw_ops;  /* Argon2id opslimit */
	size_t pw_mem;              /* Argon2id memlimit */
	char public_url[640];       /* base of invite links, no trailing slash */
	struct safety_chain chain;  /* checks before a message is committed */
	struct rl_table *login_limits; /* login attempts per username (owned by main) */
	struct rl_table *typing_limits; /* sendChatAction per user and chat (owned by main) */
	double login_per_min;
	/* Trust & safety (moderation.c, docs/policy.md). */
	struct mod_sla sla;         /* deadlines of signals */
	char platform_name[128];    /* in statements and their DSA export */
	char terms_url[640];        /* cited by decisions on terms grounds */
	struct rl_table *notice_limits; /* submitNotice per IP (owned by main) */
	double notices_per_hour;
	int64_t system_uid;         /* @parley_safety, set by core_mod_bootstrap at start-up; 0 = look it up */
	struct core_media media;
};

/* A user as messages and chats name them (render_user_id, render_chat):
 * the fields of struct store_user that rendering shows. */
struct core_user_brief {
	int64_t id;
	int is_bot;
	char username[STORE_USERNAME_SZ];
	char display_name[STORE_NAME_SZ];
};

/* Users one call has looked up for rendering (core_user_brief), kept for
 * the call: a page of 50 messages names its few authors once each.  At most
 * CORE_USER_CACHE_MAX entries; past that, lookups go to the store. */
#define CORE_USER_CACHE_MAX 256
struct core_user_cache {
	struct core_user_slot {
		int64_t id;
		int found;                 /* 0: no such user (rendered as a placeholder) */
		struct core_user_brief u;
	} *v;                              /* malloc'd; freed by core_tx_release */
	size_t n, cap;
	struct core_user_slot noted;       /* a user a core function read anyway
					    * (core_user_note), held without an
					    * allocation; id 0: none */
};

/* What the safety chain answered during a write's first run, replayed when
 * the writer runs the write again after rolling its group back (writer.h),
 * so a check with state (the flood limit's token buckets) is not charged
 * twice.  Past CORE_VERDICTS_MAX answers in one call the chain runs again. */
#define CORE_VERDICTS_MAX 4
struct core_verdicts {
	int n;      /* answers kept */
	int next;   /* answers replayed in this run: 0 before each run after the first */
	struct {
		int verdict; /* enum safety_verdict */
		struct safety_result r;
	} v[CORE_VERDICTS_MAX];
};

/* The message a write call appended last (core_message_append) as it is
 * stored, and its chat's row as it stands after the append: the writer
 * builds the message's update from them (upd_write) instead of reading
 * both back, for a call whose one event is that message's BUS_MESSAGE_NEW
 * (a call that changed nothing else).  noted: m and chat are set, but for
 * m.text (NULL).  valid: the text is there too — the handler that answered
 * with the message handed it over (core_fresh_adopt); m.text is then owned,
 * freed by core_tx_release.  no_files: the message carries no files (a
 * text sendMessage), so rendering looks for none. */
struct core_fresh {
	int noted;
	int valid;
	int no_files;
	struct store_message m;
	struct store_chat chat;
};

/* What of a message render_message_text reads besides its text: equal
 * keys (compared whole; made by memset and then set, so no padding differs)
 * and equal texts render the same bytes for the same viewer and chat. */
struct core_render_key {
	int64_t uid, id, chat_id, date, sender_id, statement_id, edit_date, views;
	int viewer, deleted;
};

/* The text render_message_text (src/api/render_text.c) wrote for the
 * call's fresh message: a sendMessage's reply and its caller's update embed
 * the same bytes, so the second is copied from the first.  s (malloc'd, or
 * NULL) is the message's JSON text; the rest is what it was rendered from
 * (text is a copy of the message's, in s's allocation after its len bytes).
 * Freed by core_tx_release. */
struct core_render_memo {
	char *s;
	size_t len;
	struct core_render_key key;
	char *text;
	struct store_chat chat;
};

struct core_tx {
	struct core *core;
	struct store *s;
	int64_t now;                /* unix seconds */
	double mono;                /* monotonic seconds (rate limits) */
	int64_t uid;                /* acting user; 0 if none */
	struct bus_events *ev;      /* NULL for reads */
	int code;                   /* enum pl_code, set on failure */
	char detail[256];
	int retry_after;
	/* Rendering for a viewer (reads): territorial restrictions apply to
	 * what they see.  The writer builds stored updates with viewer 0; those
	 * are filtered when fetched (docs/policy.md, "Territorial restriction"). */
	int viewer;
	const char *ip;             /* the caller's address (borrowed), for the IP table */
	char country[STORE_COUNTRY_SZ]; /* the viewer's country: the account's, else from the IP */
	int country_known;
	int restr_none;             /* cache: no restriction is in force anywhere (1), unknown (0) */
	int64_t restr_chat;         /* cache: the chat last checked for restrictions ... */
	int restr_any;              /* ... and whether it has any in force */
	/* The call's caches, last: core_tx_reuse zeroes only the fields above
	 * (add new ones there); core_tx_release leaves these empty. */
	struct core_user_cache users; /* cache: users rendered by this call (core_user_brief) */
	struct core_verdicts *verdicts; /* kept across runs of one write by its owner; NULL: none */
	struct core_fresh fresh;    /* the message this call appended last, as stored */
	struct core_render_memo memo; /* cache: fresh's rendering as text (render_text.c) */
};

/* Frees what the call's tx keeps for its duration (its caches); the tx may
 * be used again.  Call when the call ends, before tx is reset or dropped. */
void core_tx_release(struct core_tx *tx);
/* core_tx_release, then zeroes the fields before the caches: tx is as a
 * zeroed one for the next call, without clearing the whole 3.7 KiB (the
 * writer does this for every call).  tx must be zeroed or released before
 * its first use. */
void core_tx_reuse(struct core_tx *tx);
/* Notes message m, just appended to chat c (whose row c is as it stands
 * after the append), in tx->fresh, without its text; core_fresh_forget
 * drops it.  core_fresh_adopt takes m->text (setting it to NULL) if m is
 * that message, which makes tx->fresh valid; the caller releases m as
 * usual. */
void core_fresh_note(struct core_tx *tx, const struct store_chat *c, const struct store_message *m);
void core_fresh_adopt(struct core_tx *tx, struct store_message *m);
void core_fresh_forget(struct core_tx *tx);
/* 1 if m is tx->fresh's message and that carries no files, else 0. */
int core_fresh_no_files(const struct core_tx *tx, const struct store_message *m);

/* Records code + detail on tx; returns rc (a negative pl_err). */
int core_fail(struct core_tx *tx, int rc, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets Argon2id cost from "interactive", "moderate" or "min"; -1 if unknown. */
int core_set_password_cost(struct core *c, const char *cost);

/* --- accounts (accounts.c) ------------------------------------------------ */

/* Validates a username (5-32 of [a-zA-Z0-9_]) and writes it lower-cased to
 * out (STORE_USERNAME_SZ).  Returns 0 or PL_INVAL. */
int core_username_normalize(const char *in, char *out);

/* Argon2id.  Slow by design: call on a reader thread, never the loop or the
 * writer.  hash is STORE_HASH_SZ bytes. */
int core_password_hash(const struct core *c, const char *pw, char *hash);
int core_password_verify(const char *hash, const char *pw);

/* A fresh random session token (64 hex chars) and its SHA-256 (hex). */
void core_token_new(char token[65], char hash[STORE_TOKEN_HASH_SZ]);
void core_token_hash(const char *token, char hash[STORE_TOKEN_HASH_SZ]);

/* Creates the account and its first session. */
int core_register(struct core_tx *tx, const char *username, const char *pw_hash, const char *display,
		  const char *device, const char *ip, const char *token_hash, struct store_user *u,
		  struct store_session *ss);
/* Opens a session for user u (whose password was already verified). */
int core_session_open(struct core_tx *tx, int64_t uid, const char *device, const char *ip,
		      const char *token_hash, struct store_session *ss);
/* Finds the session for a bearer token; UNAUTHORIZED if none. */
int core_authenticate(struct core_tx *tx, const char *token, struct store_session *ss);
/* The same for a session known by id (a WebSocket that authenticated with
 * its token once): fails as a bad token does once the session is closed. */
int core_authenticate_session(struct core_tx *tx, int64_t session_id, struct store_session *ss);
int core_session_close(struct core_tx *tx, int64_t session_id);
int core_profile_update(struct core_tx *tx, const char *display, const char *bio, struct store_user *out);
/* Sets the account's country (ISO 3166-1 alpha-2, "" = from the IP) in
 * the store and in *out. */
int core_profile_country(struct core_tx *tx, const char *country, struct store_user *out);
/* Is name free as both a user and a chat username?  0, or PL_EXISTS with
 * USERNAME_OCCUPIED. */
int core_username_available(struct core_tx *tx, const char *name);
int core_user_get(struct core_tx *tx, int64_t id, struct store_user *out);
/* What rendering shows of user id (tx.c), looked up once per call: 0 and
 * *out, PL_NOTFOUND if there is no such user, or another negative pl_err
 * (not cached).  Sets no failure on tx.  Every core function that changes a
 * users row calls core_user_forget(tx, id) after it, so nothing a call
 * renders after its own write is stale. */
int core_user_brief(struct core_tx *tx, int64_t id, struct core_user_brief *out);
void core_user_forget(struct core_tx *tx, int64_t id);
/* Remembers u, a users row just read in this call's transaction, for
 * core_user_brief: a core function that looked a user up anyway saves
 * rendering the lookup. */
void core_user_note(struct core_tx *tx, const struct store_user *u);
int core_user_find(struct core_tx *tx, const char *username, struct store_user *out);
int core_block(struct core_tx *tx, int64_t target, int on);

/* --- chats (chats.c) --------------------------------------------------------- */

/* Access a caller has to a chat, from core_access(). */
struct core_access {
	struct store_chat chat;
	struct store_member me;     /* role LEFT if no row */
	int is_member;              /* role >= MEMBER */
	int is_admin;               /* role >= ADMIN */
	int can_read;               /* member, or the chat is public */
	int can_post;
	int can_invite;
	int can_pin;
	int can_change_info;
};

/* Resolves a client chat id (or @username if name != NULL) to a chat and the
 * caller's access.  A private chat with a user that does not exist yet is
 * created when create is set (writes only), else CHAT_NOT_FOUND.  Chats the
 * caller cannot see at all answer CHAT_NOT_FOUND. */
enum core_need {
	CORE_NEED_NONE = 0,   /* resolve only */
	CORE_NEED_READ = 1,   /* member, or a public chat: else CHAT_FORBIDDEN */
	CORE_NEED_MEMBER = 2, /* member: else CHAT_FORBIDDEN */
};
int core_chat_resolve(struct core_tx *tx, int64_t client_id, const char *name, int create, int need,
		      struct core_access *a);
/* Access of tx->uid to chat c. */
int core_access(struct core_tx *tx, const struct store_chat *c, struct core_access *a);
/* The other user of a private chat. */
int64_t core_private_peer(const struct store_chat *c, int64_t viewer);
/* The id a viewer uses for chat c. */
int64_t core_chat_peer_id(const struct store_chat *c, int64_t viewer);

int core_group_create(struct core_tx *tx, const char *title, const int64_t *uids, size_t n, const char *desc,
		      struct store_chat *out);
int core_channel_create(struct core_tx *tx, const char *title, const char *username, const char *desc,
			struct store_chat *out);
int core_members_add(struct core_tx *tx, struct core_access *a, const int64_t *uids, size_t n);
int core_member_ban(struct core_tx *tx, struct core_access *a, int64_t uid);
int core_member_unban(struct core_tx *tx, struct core_access *a, int64_t uid);
int core_member_promote(struct core_tx *tx, struct core_access *a, int64_t uid, int admin);
int core_member_get(struct core_tx *tx, struct core_access *a, int64_t uid, struct store_member *out);

/* Fields to change on a chat; NULL / negative = keep. */
struct core_chat_edit {
	const char *title;
	const char *description;
	const char *username;
	int perms_set, perms_clear; /* enum store_perm bits */
};
int core_chat_edit(struct core_tx *tx, struct core_access *a, const struct core_chat_edit *e);
int core_chat_leave(struct core_tx *tx, struct core_access *a);
int core_chat_join_link(struct core_tx *tx, const char *link, struct store_chat *out);
int core_chat_join_public(struct core_tx *tx, struct core_access *a);

/* Extracts the code of an invite link ("https://h/+CODE", "+CODE", "CODE")
 * into code (STORE_LINK_CODE_SZ); PL_INVAL if it cannot be one. */
int core_link_code(const char *link, char *code);
int core_link_create(struct core_tx *tx, struct core_access *a, const char *name, int64_t expire,
		     int64_t limit, int primary, struct store_link *out);
int core_link_revoke(struct core_tx *tx, struct core_access *a, const char *link, struct store_link *out);
/* Writes the public URL of link l into out. */
void core_link_url(const struct core *c, const struct store_link *l, char *out, size_t len);

/* --- messages (messages.c) ------------------------------------------------ */

/* Checks a message text: UTF-8, 1..PL_MESSAGE_MAX characters. */
int core_text_check(struct core_tx *tx, const char *text);
int core_message_send(struct core_tx *tx, struct core_access *a, const char *text, int64_t reply_to,
		      struct store_message *out);
int core_message_forward(struct core_tx *tx, struct core_access *dst, struct core_access *src, int64_t msg_id,
			 struct store_message *out);
int core_message_edit(struct core_tx *tx, struct core_access *a, int64_t msg_id, const char *text,
		      struct store_message *out);
int core_messages_delete(struct core_tx *tx, struct core_access *a, const int64_t *ids, size_t n, int revoke);
int core_message_pin(struct core_tx *tx, struct core_access *a, int64_t msg_id, int pin);
int core_read_history(struct core_tx *tx, struct core_access *a, int64_t max_id, int64_t *read_max,
		      int64_t *unread);
int core_messages_view(struct core_tx *tx, struct core_access *a, const int64_t *ids, size_t n, int64_t *views);
/* Did tx->uid delete this message for themselves only?  1 or 0. */
int core_message_hidden(struct core_tx *tx, int64_t chat_id, int64_t msg_id);
/* Gets a visible message of a readable chat. */
int core_message_get(struct core_tx *tx, struct core_access *a, int64_t msg_id, struct store_message *out);

/* Appends a service message (kind, payload text) to chat c. */
enum core_service {
	CORE_SVC_CREATED = 1,      /* payload: title */
	CORE_SVC_MEMBERS_ADDED,    /* payload: comma-separated user ids */
	CORE_SVC_MEMBER_LEFT,      /* payload: user id */
	CORE_SVC_MEMBER_REMOVED,   /* payload: user id */
	CORE_SVC_TITLE,            /* payload: new title */
	CORE_SVC_PINNED,           /* payload: message id */
	CORE_SVC_JOINED,           /* payload: user id (joined by link or by name) */
};
int core_service_post(struct core_tx *tx, struct store_chat *c, int kind, const char *payload);

/* --- trust & safety (moderation.c, docs/policy.md) ------------------------
 * Every signal, decision, action, appeal, role change and flagger
 * registration is appended to the audit log (safety/audit.h) inside the
 * caller's transaction and before the change it records. */

/* Creates the system account @parley_safety if it does not exist, and
 * remembers its id in tx->core (start-up, before threads run). */
int core_mod_bootstrap(struct core_tx *tx);
/* The system account's id (created if missing: writes only). */
int core_mod_system_uid(struct core_tx *tx, int64_t *uid);

/* What a signal or case is about (internal ids; see enum store_target). */
struct core_target {
	int type;
	int64_t chat_id, msg_id, user_id;
};
/* Checks that the target exists and completes it (a message's sender). */
int core_mod_target(struct core_tx *tx, struct core_target *t);

struct core_signal_in {
	int kind;                   /* enum store_signal_kind */
	int category;               /* enum mod_category */
	struct core_target target;
	int64_t reporter_id;        /* 0: anonymous */
	int64_t flagger_id;
	const char *text, *plaintext, *location, *name, *email; /* NULL = none */
};
/* Records a signal and opens or joins the open case of its target.  Fills
 * *sig (borrowing in's texts; a notice gets a fresh reference) and *c. */
int core_mod_signal(struct core_tx *tx, const struct core_signal_in *in, struct store_signal *sig,
		    struct store_case *c);

struct core_decision {
	int64_t case_id;
	int action;                 /* enum mod_action */
	int category;               /* 0: the case's */
	int ground;                 /* enum mod_ground; dismissals may give none */
	const char *reference;      /* the legal provision or terms clause */
	const char *facts;
	const char *territories;    /* restrict: normalized list (mod_territories_normalize) */
	int64_t duration_days;      /* suspend_user: 0 = permanently */
	int manifestly_illegal;
};
/* Decides an open case: applies the action, writes the statement of
 * reasons, tells the affected user and the notifiers.  *out is the statement
 * (store_statement_release). */
int core_mod_decide(struct core_tx *tx, const struct core_decision *d, struct store_statement *out);

/* Files an appeal against statement_id: by tx->uid, or (tx->uid 0) by the
 * author of the notice with this reference. */
int core_mod_appeal(struct core_tx *tx, int64_t statement_id, const char *reference, const char *text,
		    struct store_appeal *out);
/* Decides an open appeal (a senior moderator other than the decider):
 * reverse restores what the decision took away and says so. */
int core_mod_appeal_decide(struct core_tx *tx, int64_t appeal_id, int reverse, const char *text,
			   struct store_appeal *out);

/* Platform roles (enum mod_role) and trusted flaggers. */
int core_mod_role_get(struct core_tx *tx, int64_t uid, int *role);
int core_mod_role_set(struct core_tx *tx, int64_t uid, int role);
/* Registers a flagger; key gets its API key (shown once; only its hash is kept). */
int core_mod_flagger_register(struct core_tx *tx, const char *name, const char *email, char key[72],
			      struct store_flagger *out);
int core_mod_flagger_auth(struct core_tx *tx, const char *key, struct store_flagger *out);

/* A statement, if tx->uid may read it: the affected user (not of a
 * dismissal), a notifier of its case, or a moderator (role >= MODERATOR). */
int core_mod_statement_get(struct core_tx *tx, int64_t id, int role, struct store_statement *out);

/* Refuses an account that is suspended now: ACCOUNT_SUSPENDED saying why
 * and until when.  until/statement as in struct store_user. */
int core_mod_suspension_check(struct core_tx *tx, int64_t until, int64_t statement_id);

/* Is message msg_id (0: the chat as such) of chat_id withheld from the
 * viewer of tx?  1 and the restriction in *r, 0, or a negative pl_err. */
int core_mod_withheld(struct core_tx *tx, int64_t chat_id, int64_t msg_id, struct store_restriction *r);
/* The viewer's country ("" if unknown): the account's, else the IP table's. */
const char *core_viewer_country(struct core_tx *tx);

/* Records what a chat admin did (delete, ban) in a chat with cases. */
int core_mod_admin_action(struct core_tx *tx, int64_t chat_id, int action, int64_t msg_id, int64_t user_id);

/* --- media (media.c, docs/media.md) ----------------------------------------
 * A file is a row of the store (struct store_file: file_id, kind, type,
 * name, size) over a content-addressed blob; a photo is a group of files,
 * one per size.  Uploads are processed on worker threads
 * (core_upload_process, with tx->s NULL), then registered by the writer in
 * two commits around moving the bytes into place (core_upload_reserve,
 * core_upload_place on a worker, core_upload_publish), so that no stored
 * row ever names bytes that are not there, and no bytes are left that no
 * row names. */

#define CORE_FILE_UNIQUE_SZ 24       /* file_unique_id, NUL included */

/* The file_unique_id of a blob: the same for the same bytes (Bot API). */
void core_file_unique_id(const char *sha256, char out[CORE_FILE_UNIQUE_SZ]);
/* A new random file_id. */
void core_file_id_new(char out[STORE_FILE_ID_SZ]);
/* A file name from an upload as kept: valid UTF-8 (bad bytes become '_'),
 * no control characters, slashes or backslashes, no leading or trailing
 * dots and spaces, at most PL_FILE_NAME_MAX characters; "" if nothing is
 * left.  out has STORE_FILE_NAME_SZ bytes. */
void core_file_name_clean(const char *in, char out[STORE_FILE_NAME_SZ]);
/* The path getFile gives ("photos/<file_id>.jpg"), served at GET /file/<path>. */
void core_file_path(const struct store_file *f, char *out, size_t len);
/* The file_id in a path core_file_path made (or any ".../<file_id>[.ext]"). */
int core_file_path_id(const char *path, char out[STORE_FILE_ID_SZ]);

/* Looks file_id up (FILE_ID_INVALID if there is none or its bytes are no
 * longer kept) and checks that tx->uid may see it (FILE_FORBIDDEN): its
 * uploader, or anyone who can read a chat holding it in a message not
 * deleted for everyone (anyone at all for a public channel, tx->uid 0
 * too). */
int core_file_get(struct core_tx *tx, const char *file_id, struct store_file *out);
/* The files one file_id brings into a message: every size of a photo,
 * smallest first, else the file alone; *n of them (at most
 * MEDIA_PHOTO_SIZES_MAX, 4). */
int core_file_set(struct core_tx *tx, const struct store_file *f, struct store_file *out, size_t *n);

/* Sends a message carrying files (one photo's sizes, or one file) with a
 * caption ("" for none, at most PL_CAPTION_MAX characters) in a's chat:
 * posting rights, the reply, the message chain over the caption, the
 * upload chain over each file (hash only) and that each file's bytes are
 * still kept are checked.  Writer. */
int core_media_send(struct core_tx *tx, struct core_access *a, const struct store_file *files, size_t n,
		    const char *caption, int64_t reply_to, struct store_message *out);
/* Gives message (dst_chat, dst_id) the files of (src_chat, src_id), if any
 * (forwarding), through the upload chain again.  Writer. */
int core_media_copy(struct core_tx *tx, int64_t src_chat, int64_t src_id, int64_t dst_chat, int64_t dst_id);
/* 1 if the message carries files, 0 if not, or a negative pl_err. */
int core_message_has_media(struct core_tx *tx, int64_t chat_id, int64_t msg_id);

/* One file an upload stores. */
struct core_upload_item {
	struct blob_temp *temp;            /* its bytes, until placed */
	struct store_file file;            /* sha256, kind, mime, name, size, width, height, duration */
	int need;                          /* the bytes must be moved into place (reserve says) */
};

/* What an upload stores: a photo's sizes (smallest first), or one file. */
struct core_upload {
	size_t n;
	struct core_upload_item items[4];
};

/* Worker thread (tx->s NULL; tx->uid the uploader): finishes orig (the
 * uploaded bytes, taken over whatever happens), tells its type from the
 * bytes and checks it against kind (FILE_EMPTY, FILE_TYPE_INVALID,
 * FILE_TOO_BIG), and for a photo decodes it (PHOTO_INVALID,
 * PHOTO_INVALID_DIMENSIONS), runs the upload chain with the pixels and
 * makes its sizes as new objects (the original bytes are never kept); any
 * other file is kept as it is after the upload chain.  name is the file
 * name as sent (may be NULL), duration the sender's (voice, video). */
int core_upload_process(struct core_tx *tx, int kind, struct blob_temp *orig, const char *name, int64_t duration,
			struct core_upload *out);
/* Writer: registers the blobs before their bytes move (sets need). */
int core_upload_reserve(struct core_tx *tx, struct core_upload *up);
/* Worker, after the reserve committed: moves the bytes that need it into
 * place and drops the others. */
int core_upload_place(struct core *c, struct core_upload *up);
/* Writer, after placing: the blobs become live and the files are made
 * (up->items[i].file gets its id and file_id); a photo's sizes share a
 * group.  SERVER_BUSY if a blob was collected meanwhile (the upload took
 * longer than the grace period). */
int core_upload_publish(struct core_tx *tx, struct core_upload *up);
/* Worker: drops the objects still held (failure paths). */
void core_upload_release(struct core_upload *up);

/* Writer: the collector's step.  Removes the bytes of blobs marked dying
 * in an earlier commit (into the blob store's trash) with their rows, then
 * marks the blobs unreferenced for longer than the grace period dying.
 * Empty the trash after the commit (blob_trash_empty, on a worker). */
int core_media_gc(struct core_tx *tx, int limit, int64_t *removed, int64_t *marked);

#endif
