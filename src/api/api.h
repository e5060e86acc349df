/*
 * api.h — Parley's API layer: the declarative method table, parameter
 * decoding and validation, authentication, and the reply envelope.
 *
 * Every API method is one row of api_methods[] (methods.c): its name, its
 * parameters with types and limits, whether it needs a session, whether it
 * writes, and its handler.  Dispatch (api.c), validation (args.c) and
 * docs/api.md (`parleyd --print-api-docs`) all come from that one table.
 *
 * A call runs in phases:
 *   1. loop thread: route, per-IP rate limit for public methods;
 *   2. a reader thread: decode + validate parameters, authenticate, run the
 *      method's prep handler (e.g. Argon2id), and for read methods its exec
 *      handler on a read-only store handle;
 *   3. write methods: exec on the writer thread inside a group commit; the
 *      reply is sent only after the commit;
 *   4. loop thread: reply, metrics, publish the call's events on the bus.
 * A WebSocket write of a signed-in socket, of an API_USER method without
 * prep, skips phase 2: the loop decodes its parameters and the writer
 * authenticates it inside the group, before exec (server.c, ws_direct).
 */
#ifndef PL_API_API_H
#define PL_API_API_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "core/codes.h"

struct store;
struct core;
struct core_tx;
struct hub;
struct hub_typing;
struct envelope;
struct pl_arena;
struct textbuf;

enum api_type {
	API_INT = 1,     /* JSON integer in [min, max] */
	API_STR,         /* UTF-8 string of min..max characters */
	API_BOOL,        /* true / false */
	API_INT_ARRAY,   /* array of min..max integers, each >= 1 */
	API_CHAT_ID,     /* integer chat id, or "@username" string */
	API_OBJECT,      /* JSON object, checked by the handler */
};

struct api_param {
	const char *name;
	int type;            /* enum api_type */
	int required;
	int64_t min, max;    /* value range, string length or array size */
	const char *doc;
	int too_long;        /* enum pl_code for a string over max; 0 = PARAM_INVALID */
	int too_short;       /* enum pl_code for a string under min; 0 = PARAM_INVALID */
};

#define API_MAX_PARAMS 12

/* Decoded parameters of one call, by position in the method's param list. */
struct api_value {
	int present;
	int64_t i;           /* API_INT, API_BOOL, API_CHAT_ID (numeric) */
	const char *s;       /* API_STR, API_CHAT_ID ("@name" without '@'); owned by the JSON doc,
			      * or by the envelope it was decoded from */
	int64_t *arr;        /* API_INT_ARRAY; owned by the call */
	size_t n;
	json_t *obj;         /* API_OBJECT; borrowed from the JSON doc */
};

/* Who may call a method.  The dispatcher (server.c, phase_read) checks it
 * and nothing else does: a method scoped API_MODERATOR and up answers
 * 403 ROLE_REQUIRED to everyone without that platform role, before its
 * parameters are even looked at. */
enum api_scope {
	API_PUBLIC = 0,    /* no session needed */
	API_USER = 1,      /* a valid session token */
	API_OPTIONAL = 2,  /* a session if a token is sent (then it must be valid), else anonymous */
	API_MODERATOR = 3, /* a session of a user with platform role moderator or higher */
	API_SENIOR = 4,    /* ... senior_moderator or higher */
	API_ADMIN = 5,     /* ... admin */
};

/* The platform role (enum mod_role) a scope needs; 0 for the others. */
static inline int api_scope_role(int scope) { return scope >= API_MODERATOR ? scope - API_MODERATOR + 1 : 0; }

enum api_flags {
	API_F_SUSPENDED_OK = 1 << 0, /* a suspended account may still call it (read its statement, appeal) */
};

enum api_kind {
	API_READ = 0,
	API_WRITE = 1,
};

enum api_rate {
	API_RATE_DEFAULT = 0, /* per session */
	API_RATE_AUTH = 1,    /* register and login: per IP and per account */
	API_RATE_NOTICE = 2,  /* submitNotice: per IP (trusted flaggers exempt), checked by its prep */
};

struct api_call;

/* A handler returns 0 and sets call->result, or a negative pl_err with
 * call->code set (api_fail). */
typedef int (*api_handler_cb)(struct api_call *call, struct store *s);

struct api_method {
	const char *name;
	int scope;           /* enum api_scope */
	int kind;            /* enum api_kind */
	int rate;            /* enum api_rate */
	api_handler_cb prep; /* optional: runs on a reader thread before exec */
	api_handler_cb exec;
	const char *returns; /* for docs */
	const char *doc;
	const int *errors;   /* codes this method can return besides the common ones; ends with -1 */
	struct api_param params[API_MAX_PARAMS]; /* ends at the first NULL name */
	int flags;           /* enum api_flags */
};

extern const struct api_method api_methods[];
extern const size_t api_methods_count;

/* One call in flight.  Owned by the API layer (api.c). */
struct api_call {
	const struct api_method *m;
	struct core *core;
	json_t *doc;                   /* the parsed request body */
	struct api_value v[API_MAX_PARAMS];
	int64_t user_id;               /* 0 for public calls */
	int64_t session_id;
	int64_t now;                   /* unix seconds at dispatch */
	char ip[64];
	const char *token;             /* bearer token, if any (borrowed) */
	const char *flagger_key;       /* "Authorization: Flagger <key>", if sent (borrowed) */
	int role;                      /* the caller's platform role (enum mod_role), for role-scoped methods */
	char country[3];               /* the account's country from the session, "" if unset */
	json_t *result;                /* the handler's answer (owned) */
	char *result_text;             /* or the answer as JSON text, used instead of result when set
					* (malloc'd, owned, or in arena: result_text_arena): replies
					* built by splicing stored text */
	size_t result_len;
	int result_text_arena;         /* result_text is in arena: nothing to free */
	struct pl_arena *arena;        /* on the writer: its group's arena (store_job.arena,
					* borrowed), else NULL; api_result_text_take uses it */
	int code;                      /* enum pl_code on failure */
	char detail[256];              /* human detail on failure */
	int retry_after;               /* FLOOD_WAIT seconds */
	void *prep_data;               /* passed from prep to exec (owned: freed with free()) */
	struct core_tx *tx;            /* set by the runner for exec */
	void *events;                  /* struct bus_events *, owned by the runner */
	struct hub *hub;               /* live delivery (presence lookups) */
	int no_wait;                   /* getUpdates: answer now, even if empty */
	int park;                      /* getUpdates: seconds to wait for an update */
	struct hub_typing *typing;     /* sendChatAction: what to relay (owned) */
};

/* Looks a method up by name; NULL if unknown.  A walk of the table. */
const struct api_method *api_method_find(const char *name);

/* A hash index of the method table by name, built once by its owner (the
 * server: every call looks its method up, ~650 instructions a walk of the
 * table and ~100 here).  Read-only once built: any thread may use it. */
#define API_METHOD_INDEX_SLOTS 256 /* a power of two, over 2x the methods */
struct api_method_index {
	unsigned char slot[API_METHOD_INDEX_SLOTS]; /* 0 free, else 1 + the row in api_methods */
};
void api_method_index_init(struct api_method_index *ix);
/* The same answer as api_method_find(name). */
const struct api_method *api_method_index_find(const struct api_method_index *ix, const char *name);

/* Decodes and validates body (len bytes) against m's parameters into call.
 * Returns 0, or a negative pl_err with call->code/detail set.  On any result
 * the caller releases with api_call_release(). */
int api_args_decode(struct api_call *call, const struct api_method *m, const char *body, size_t len);
/* The same for parameters already parsed (a WebSocket call's "params");
 * steals the reference to doc. */
int api_args_decode_json(struct api_call *call, const struct api_method *m, json_t *doc);
/* The same for a WebSocket call read by the envelope reader (envelope.h):
 * the same checks, in the same order, with the same answers as
 * api_args_decode_json on the params jansson would have read.  Borrows e:
 * decoded strings point into its arena, which must outlive the call's use
 * of them. */
int api_args_decode_envelope(struct api_call *call, const struct api_method *m, const struct envelope *e);
void api_call_release(struct api_call *call);

/* Records a failure on call and returns PL_INVAL (or rc for a denial). */
int api_fail(struct api_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Renders the reply for call: {"ok":true,"result":...} or the error envelope.
 * The result is call->result_text as it is if set (a handler that built its
 * answer as text: it must be one valid JSON value), else call->result
 * serialised.  Returns a malloc'd string (caller frees) and sets *status. */
char *api_reply(struct api_call *call, int *status);
/* The same, but with arena (may be NULL) a successful answer in text is
 * written into it (valid until its reset: *in_arena is 1, nothing to free);
 * otherwise as api_reply (*in_arena 0). */
char *api_reply_in(struct api_call *call, int *status, struct pl_arena *arena, int *in_arena);
/* Sets call->result_text (and result_len) to the text t holds, which it
 * releases: copied into call->arena if set (on the writer: no block made
 * here for another thread to free), else taken as it is.  0, or PL_NOMEM
 * if an add to t failed or memory is short. */
int api_result_text_take(struct api_call *call, struct textbuf *t);
/* Drops the call's answer, tree or text (a long poll that waits to run again). */
void api_result_clear(struct api_call *call);

/* Renders an error envelope for code with detail; malloc'd, caller frees. */
char *api_error_json(int code, const char *detail, int retry_after);

/* Writes docs/api.md from the method table to f. */
void api_print_docs(FILE *f);

/* Parameter accessors for handlers. */
static inline int api_has(const struct api_call *c, int i) { return c->v[i].present; }
static inline int64_t api_int(const struct api_call *c, int i) { return c->v[i].i; }
static inline const char *api_str(const struct api_call *c, int i) { return c->v[i].s; }

#endif
