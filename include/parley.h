/*
 * parley.h — libparley, the client library for the Parley messaging server.
 *
 * The library speaks Parley's HTTP/JSON API: `POST /api/<method>` with a JSON
 * object body and `Authorization: Bearer <token>`, answered by
 * {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":"CODE: words"}.
 * It is what the `parley` CLI, the integration tests and the benchmark link;
 * nothing else in the tree is a client.
 *
 * Transport: blocking HTTP/1.1 over POSIX sockets (http:// only, IPv4 and
 * IPv6); live updates over a WebSocket (RFC 6455, client side) with the
 * connection object parley_conn_*, which follows docs/sync.md's client rules.  A client keeps one keep-alive connection and reuses it across
 * calls; when a kept-alive connection turns out to be closed before any reply
 * byte arrived, the request is sent once more on a fresh connection.  Each
 * request has one deadline (connect + send + receive), see
 * parley_client_set_timeout_ms().  Replies are capped at PARLEY_RESPONSE_MAX.
 *
 * Threads: a client is used by one thread at a time.  Distinct clients may be
 * used from distinct threads at once; the library has no global state.  The
 * library never raises SIGPIPE (it sends with MSG_NOSIGNAL).
 *
 * Errors: every function that can fail returns 0 on success or a negative
 * enum parley_rc.  When given a struct parley_error it fills it: API errors
 * carry the server's HTTP status, stable code ("MESSAGE_TOO_LONG") and words;
 * transport failures carry http_status 0 and code "NETWORK_ERROR".
 *
 * Ownership: json_t results are new references the caller releases with
 * json_decref(); strings returned through char ** are malloc'd and the caller
 * frees them; params passed in are borrowed.
 */
#ifndef PARLEY_H
#define PARLEY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARLEY_VERSION "0.1.0"

/* Largest reply body the client accepts (16 MiB); larger replies fail with
 * PARLEY_ETOOBIG and code "RESPONSE_TOO_LARGE". */
#define PARLEY_RESPONSE_MAX (16u * 1024u * 1024u)
/* Largest reply header block (64 KiB). */
#define PARLEY_HEADERS_MAX (64u * 1024u)
/* Largest request body the client sends (16 MiB). */
#define PARLEY_REQUEST_MAX (16u * 1024u * 1024u)
/* Default per-request deadline: 30 s. */
#define PARLEY_TIMEOUT_DEFAULT_MS 30000
/* Default server when none is configured. */
#define PARLEY_DEFAULT_SERVER "http://127.0.0.1:8080"
/* Bounds of what a client stores. */
#define PARLEY_TOKEN_MAX 255       /* session token, bytes */
#define PARLEY_URL_MAX 511         /* server URL, bytes */
#define PARLEY_HOST_MAX 255        /* host name or address, bytes */
#define PARLEY_DEVICE_MAX 64       /* session device label, bytes */

enum parley_rc {
	PARLEY_OK = 0,
	PARLEY_EAPI = -1,      /* the server answered ok:false; see struct parley_error */
	PARLEY_ENETWORK = -2,  /* resolve, connect, send or receive failed */
	PARLEY_ETIMEDOUT = -3, /* the request deadline passed */
	PARLEY_EPROTO = -4,    /* the reply is not valid HTTP or not a Parley envelope */
	PARLEY_ETOOBIG = -5,   /* a reply or request exceeded its named limit */
	PARLEY_ENOMEM = -6,    /* allocation failed */
	PARLEY_EINVAL = -7,    /* invalid argument */
	PARLEY_EIO = -8,       /* local file I/O failed (config and state files) */
	PARLEY_ECANCELED = -9, /* parley_conn_stop() was called */
};

/* Static name of rc ("network error"); never NULL. */
const char *parley_strerror(int rc);

/* What went wrong with a call.  For API errors: the HTTP status, the stable
 * code ("FLOOD_WAIT_30" for 429 replies, "MESSAGE_TOO_LONG", ...), the words
 * after "CODE: " and, for 429, the seconds to wait.  For client-side failures:
 * http_status 0 and code NETWORK_ERROR (also for timeouts), PROTOCOL_ERROR,
 * RESPONSE_TOO_LARGE, OUT_OF_MEMORY or INVALID_ARGUMENT. */
struct parley_error {
	int http_status;
	char code[64];
	char description[512];
	int retry_after;
};

/* Resets err to "no error". */
void parley_error_clear(struct parley_error *err);

/* --- URLs ----------------------------------------------------------- */

/* A parsed http:// server URL. */
struct parley_url {
	char host[PARLEY_HOST_MAX + 1];   /* name or address, IPv6 without brackets */
	char port[6];                     /* decimal, default "80" */
	char prefix[PARLEY_URL_MAX + 1];  /* path prefix without trailing '/', often "" */
	int ipv6;                         /* host is an IPv6 literal */
};

/* Parses "http://host[:port][/prefix]" ("[v6addr]" for IPv6) into out.
 * Returns 0, or PARLEY_EINVAL with a reason in errbuf (may be NULL). */
int parley_url_parse(const char *url, struct parley_url *out, char *errbuf, size_t errlen);

/* --- clients -------------------------------------------------------- */

struct parley_client;

/* Creates a client for server_url (NULL: PARLEY_DEFAULT_SERVER).  No
 * connection is made yet.  Returns NULL with a reason in errbuf on a bad URL
 * or no memory.  Free with parley_client_free(). */
struct parley_client *parley_client_new(const char *server_url, char *errbuf, size_t errlen);

/* Closes the connection and frees c.  NULL is fine. */
void parley_client_free(struct parley_client *c);

/* Sets (copies) or, with NULL or "", clears the session token sent as
 * "Authorization: Bearer".  PARLEY_EINVAL if it is longer than
 * PARLEY_TOKEN_MAX or holds characters that are not printable ASCII. */
int parley_client_set_token(struct parley_client *c, const char *token);

/* The current token or NULL; borrowed, valid until the token changes. */
const char *parley_client_token(const struct parley_client *c);

/* Sets the device label sent with register and login (copied, truncated to
 * PARLEY_DEVICE_MAX bytes on a character boundary); NULL clears it. */
void parley_client_set_device(struct parley_client *c, const char *device);

/* Sets the per-request deadline in milliseconds; <= 0 means none. */
void parley_client_set_timeout_ms(struct parley_client *c, int ms);

/* The server URL the client was made for (borrowed). */
const char *parley_client_server(const struct parley_client *c);

/* Closes the kept-alive connection, if any; the next call reconnects. */
void parley_client_disconnect(struct parley_client *c);

/* Number of TCP connections this client has opened so far (for tests of
 * keep-alive and reconnect). */
unsigned long parley_client_connects(const struct parley_client *c);

/* --- calls ---------------------------------------------------------- */

/* Calls API method with params (a JSON object, borrowed; NULL means {}).
 * On success returns 0 and, if result is not NULL, stores a new reference to
 * the reply's "result" in *result.  On failure returns a negative
 * parley_rc (PARLEY_EAPI when the server said ok:false), leaves *result NULL
 * and fills err (may be NULL). */
int parley_call(struct parley_client *c, const char *method, json_t *params, json_t **result,
		struct parley_error *err);

/* Like parley_call() with the parameters given as a JSON text (NULL: "{}").
 * PARLEY_EINVAL with code INVALID_ARGUMENT if it is not a JSON object. */
int parley_call_json(struct parley_client *c, const char *method, const char *params_json,
		     json_t **result, struct parley_error *err);

/* Sends one raw HTTP request: http_method ("GET", "POST", ...) on path (must
 * start with '/', joined to the URL's prefix), with an optional body of
 * content_type.  The token is sent if set.  On success returns 0 with the
 * reply's status in *status and its body in *body (malloc'd, NUL-terminated,
 * caller frees; *len excludes the NUL; both may be NULL to discard).  Any
 * HTTP status counts as success here: the caller judges it. */
int parley_request(struct parley_client *c, const char *http_method, const char *path,
		   const char *content_type, const char *req_body, size_t req_len, int *status,
		   char **body, size_t *len, struct parley_error *err);

/* GET path (e.g. "/healthz", "/metrics"); as parley_request(). */
int parley_get(struct parley_client *c, const char *path, int *status, char **body, size_t *len,
	       struct parley_error *err);

/* Returns 0 if GET /healthz answers 200, else a negative parley_rc. */
int parley_health(struct parley_client *c, struct parley_error *err);

/* --- typed conveniences (thin wrappers over parley_call) -------------- */

/* register / login: on success store the new token in c and, if the
 * pointers are not NULL, the user's id and the new session's id.
 * display_name may be NULL. */
int parley_register(struct parley_client *c, const char *username, const char *password,
		    const char *display_name, int64_t *user_id, struct parley_error *err);
int parley_login(struct parley_client *c, const char *username, const char *password,
		 int64_t *user_id, int64_t *session_id, struct parley_error *err);

/* logOut; clears the token in c on success. */
int parley_logout(struct parley_client *c, struct parley_error *err);

/* getMe; *user is a new reference (may be NULL to discard). */
int parley_get_me(struct parley_client *c, json_t **user, struct parley_error *err);

/* sendMessage to chat_id (reply_to 0: not a reply); stores the new
 * message's id in *message_id if not NULL. */
int parley_send_message(struct parley_client *c, int64_t chat_id, const char *text, int64_t reply_to,
			int64_t *message_id, struct parley_error *err);

/* getHistory: newer 0 pages to older messages (ids below offset_id, 0 =
 * newest, newest first), newer 1 to ids above offset_id, oldest first.
 * limit 0 uses the server default.  *messages: a new array reference. */
int parley_get_history(struct parley_client *c, int64_t chat_id, int64_t offset_id, int newer,
		       int limit, json_t **messages, struct parley_error *err);

/* getDialogs, first page; limit 0 uses the server default.  *dialogs: a new
 * array reference. */
int parley_get_dialogs(struct parley_client *c, int limit, json_t **dialogs, struct parley_error *err);

/* readHistory up to max_id (0: everything). */
int parley_read_history(struct parley_client *c, int64_t chat_id, int64_t max_id, struct parley_error *err);

/* createGroup / createChannel; stores the new chat's id in *chat_id.
 * username may be NULL (a private channel). */
int parley_create_group(struct parley_client *c, const char *title, const int64_t *user_ids, size_t n,
			int64_t *chat_id, struct parley_error *err);
int parley_create_channel(struct parley_client *c, const char *title, const char *username,
			  int64_t *chat_id, struct parley_error *err);

/* --- files (docs/media.md) ------------------------------------------------ */

/* Progress of a transfer: bytes moved so far and the total (0 if unknown).
 * Return 0 to go on; anything else cancels (PARLEY_ECANCELED). */
typedef int (*parley_progress_cb)(void *ctx, uint64_t done, uint64_t total);

/* Bytes of a file_id. */
#define PARLEY_FILE_ID_MAX 63

/* Uploads the file at path with API method (sendPhoto, sendDocument,
 * sendVoice, sendVideo, or upload) as multipart/form-data, streamed from the
 * disk (never held whole in memory): field names the file's part ("photo",
 * "document", "voice", "video"; "file" for upload), params (a JSON object,
 * borrowed; may be NULL) the other fields (strings as they are, numbers and
 * booleans as text, objects as JSON).  file_name is the name sent (NULL:
 * the path's last part).  The server tells the type from the bytes.  On
 * success returns 0 with the reply's "result" in *result (may be NULL).
 * There is no deadline for the whole upload: it fails when no byte moves
 * for the client's timeout.  progress may be NULL. */
int parley_upload(struct parley_client *c, const char *method, const char *field, json_t *params, const char *path,
		  const char *file_name, parley_progress_cb progress, void *progress_ctx, json_t **result,
		  struct parley_error *err);

/* Downloads file_id to out_path: getFile, then GET /file/<file_path>,
 * streamed into out_path.part, which is renamed to out_path once complete
 * and its SHA-256 matches the server's ETag (else it is deleted and the
 * call fails with PARLEY_EPROTO).  A out_path.part left by an interrupted
 * download is resumed with a Range request from its size.  No deadline for
 * the whole, as for parley_upload.  *size (may be NULL) gets the file's
 * size.  progress may be NULL. */
int parley_download(struct parley_client *c, const char *file_id, const char *out_path, parley_progress_cb progress,
		    void *progress_ctx, uint64_t *size, struct parley_error *err);

/* --- config file ------------------------------------------------------ */

/* What the CLI keeps between runs: "key=value" lines, '#' comments. */
struct parley_config {
	char server[PARLEY_URL_MAX + 1];   /* "" if unset */
	char token[PARLEY_TOKEN_MAX + 1];  /* "" if unset */
};

/* Writes the config path into buf: $PARLEY_CONFIG, else
 * $XDG_CONFIG_HOME/parley/config, else $HOME/.config/parley/config.
 * PARLEY_EINVAL if none can be formed or it does not fit. */
int parley_config_path(char *buf, size_t len);

/* Loads path into cfg (zeroed first).  A missing file is not an error (cfg
 * stays empty).  PARLEY_EIO / PARLEY_EINVAL with a reason in errbuf. */
int parley_config_load(const char *path, struct parley_config *cfg, char *errbuf, size_t errlen);

/* Saves cfg to path with mode 0600: written to path.new, fsynced and renamed
 * over path; missing parent folders are created with mode 0700. */
int parley_config_save(const char *path, const struct parley_config *cfg, char *errbuf, size_t errlen);

/* --- live updates: the sync state ------------------------------------ */

/* Large chats (channels, large groups) one state follows; past this, further
 * large chats are not followed (their updates are not delivered). */
#define PARLEY_STATE_CHATS_MAX 1000
/* Bytes of the application's own line kept with a state (NUL included). */
#define PARLEY_STATE_APP_MAX 256

/* Where a device stands in the sequences of docs/sync.md: the last applied
 * pts of the user sequence and of each followed chat sequence.  It is plain
 * data: copy it, persist it with parley_state_save(), start from it again.
 * An all-zero state (parley_state_init) means "from the start of what the
 * server keeps". */
struct parley_chat_pts {
	int64_t chat_id;   /* as clients see it: negative */
	int64_t pts;       /* last applied pts of the chat sequence */
};

struct parley_state {
	int64_t user_id;   /* whose state this is; 0 until the first connection says */
	int64_t pts;       /* last applied pts of the user sequence */
	size_t nchats;
	struct parley_chat_pts chats[PARLEY_STATE_CHATS_MAX];
	char app[PARLEY_STATE_APP_MAX]; /* one line the application keeps with it
					 * (no control characters); "" if unused */
};

/* Zeroes s: the start of what the server keeps, no chats followed yet. */
void parley_state_init(struct parley_state *s);

/* Loads a state saved by parley_state_save().  A missing file is not an
 * error: s is zeroed and *found (may be NULL) is 0; else *found is 1.
 * PARLEY_EIO / PARLEY_EINVAL (a malformed or newer file) with a reason in
 * errbuf. */
int parley_state_load(const char *path, struct parley_state *s, int *found, char *errbuf, size_t errlen);

/* Saves s to path atomically (path.new, fsync, rename; mode 0600). */
int parley_state_save(const char *path, const struct parley_state *s, char *errbuf, size_t errlen);

/* --- live updates: the connection --------------------------------------- */

/* Largest server message the connection accepts after reassembling its
 * frames (16 MiB); a larger one closes the socket with 1009 and the
 * connection reconnects. */
#define PARLEY_WS_MESSAGE_MAX (16u * 1024u * 1024u)
/* Reconnect backoff: the first retry after PARLEY_RECONNECT_MIN_MS, doubling
 * up to PARLEY_RECONNECT_MAX_MS, each with up to 25% random jitter. */
#define PARLEY_RECONNECT_MIN_MS 100
#define PARLEY_RECONNECT_MAX_MS 5000
/* A connection that heard nothing for this long is taken for dead (the
 * server pings idle connections every 30 s). */
#define PARLEY_WS_IDLE_MS 75000
/* Server messages queued while a call waits for its reply; past it updates
 * are dropped and fetched again with getDifference. */
#define PARLEY_CONN_QUEUE_MAX 100000
/* Updates held per sequence while waiting for a missing pts; past it they
 * are dropped and fetched again with getDifference. */
#define PARLEY_SYNC_HELD_MAX 10000
/* Updates asked for per getDifference / getChatDifference call. */
#define PARLEY_DIFF_PAGE 100

struct parley_conn;

/* One stored update, applied: {"pts":P,"update":{...}} for the user
 * sequence or {"chat_id":C,"pts":P,"update":{...}} for a chat sequence
 * (borrowed; json_incref() it to keep it).  Each update reaches this
 * callback exactly once, in pts order per sequence. */
typedef void (*parley_update_cb)(void *ctx, const json_t *row);
/* An ephemeral event ({"event":"typing",...}, "views", "user_status"):
 * delivered when it arrives, never replayed (borrowed). */
typedef void (*parley_event_cb)(void *ctx, const json_t *event);
/* The server no longer keeps the updates after the state (it is older than
 * the retention): updates in between are lost; reload dialogs and histories.
 * The sequence (chat_id 0: the user's) continues from pts. */
typedef void (*parley_reload_cb)(void *ctx, int64_t chat_id, int64_t pts);
/* A batch of updates was applied (one pushed update, or one page of a
 * difference): state is what to persist now.  Borrowed for the call. */
typedef void (*parley_batch_cb)(void *ctx, const struct parley_state *state);
/* The connection came up (connected 1: ready and caught up), or went down
 * or failed to come up (0, why says why; it will be tried again after the
 * backoff).  Fatal errors are not reported here: parley_conn_run() returns
 * them. */
typedef void (*parley_status_cb)(void *ctx, int connected, const struct parley_error *why);

/* Every handler may be NULL.  Handlers run inside parley_conn_run() (never
 * inside parley_conn_call()), may call parley_conn_call() and
 * parley_conn_state(), and must not free the connection or call
 * parley_conn_run().  A connection is used by one thread at a time. */
struct parley_conn_handlers {
	parley_update_cb update;
	parley_event_cb event;
	parley_reload_cb reload;
	parley_batch_cb batch;
	parley_status_cb status;
};

/* Creates a connection to server_url (NULL: PARLEY_DEFAULT_SERVER) for the
 * session token (copied).  start is the state to continue from (copied), or
 * NULL to start from now (getState's current pts, as on a device's first
 * start).  Nothing is connected yet.  Returns NULL with a reason in errbuf
 * on a bad URL or token or no memory.  Free with parley_conn_free(). */
struct parley_conn *parley_conn_new(const char *server_url, const char *token, const struct parley_state *start,
				    char *errbuf, size_t errlen);

/* Sets the handlers (copied) and the ctx they get. */
void parley_conn_set_handlers(struct parley_conn *c, const struct parley_conn_handlers *h, void *ctx);

/* Deadline of one call (and of connecting) in milliseconds; <= 0: the
 * default, PARLEY_TIMEOUT_DEFAULT_MS. */
void parley_conn_set_timeout_ms(struct parley_conn *c, int ms);

/* Does the work for up to timeout_ms (0: only what is ready now): connects
 * or reconnects (with backoff) as needed, catches up after each `ready`
 * (getDifference, getState, getChatDifference), reads pushed updates and
 * events and calls the handlers, fetching the difference when a pts is
 * missing.  Disconnects and server restarts are handled inside: the update
 * handler still sees every update once and in order.  Returns 0 when the
 * time is up, PARLEY_ECANCELED after parley_conn_stop(), or a fatal error
 * that retrying cannot fix: PARLEY_EAPI for a session the server refuses
 * (close code 4401, code "UNAUTHORIZED") or a state of another user
 * ("STATE_MISMATCH"); see parley_conn_error().  After a fatal error every
 * later call returns it again. */
int parley_conn_run(struct parley_conn *c, int timeout_ms);

/* Calls method over the WebSocket ({"id":N,"method":...,"params":...}) and
 * waits for the reply with the same id; as parley_call() for params, result
 * and err.  Updates and events that arrive meanwhile are queued and handed
 * to the handlers, in order, by the next parley_conn_run().  Connects first
 * if needed (one attempt, no backoff).  A call is sent once: if the
 * connection drops before the reply, it fails with PARLEY_ENETWORK and the
 * server may or may not have done it. */
int parley_conn_call(struct parley_conn *c, const char *method, json_t *params, json_t **result,
		     struct parley_error *err);

/* Copies the current state (what has been applied) into out. */
void parley_conn_state(const struct parley_conn *c, struct parley_state *out);

/* 1 when connected, ready and caught up with no missing pts, else 0. */
int parley_conn_synced(const struct parley_conn *c);

/* Makes parley_conn_run() and parley_conn_call() return PARLEY_ECANCELED as
 * soon as they notice (at once when a signal interrupts their wait).  Only
 * sets a flag: safe in a signal handler.  The flag stays set until
 * parley_conn_run() returns PARLEY_ECANCELED. */
void parley_conn_stop(struct parley_conn *c);

/* The last error: why the connection last went down, or the fatal error
 * (borrowed, valid until the next call on c). */
const struct parley_error *parley_conn_error(const struct parley_conn *c);

/* WebSocket connections opened so far (for tests of reconnecting). */
unsigned long parley_conn_connects(const struct parley_conn *c);

/* Drops the socket without a closing handshake, as a network failure would;
 * the next parley_conn_run() reconnects and catches up (for tests). */
void parley_conn_disconnect(struct parley_conn *c);

/* Sends a close frame (1000), waits briefly for the server's, closes and
 * frees c.  NULL is fine. */
void parley_conn_free(struct parley_conn *c);

#ifdef __cplusplus
}
#endif

#endif
