/*
 * render.h — the Bot API's JSON shapes (User, Chat, Message, ChatMember,
 * ChatInviteLink, ...) built from store rows.  Private to src/api.
 *
 * Every function returns a new reference (caller decrefs) or NULL on
 * allocation failure; rows it looks up it reads through tx->s.
 */
#ifndef PL_API_RENDER_H
#define PL_API_RENDER_H

#include <jansson.h>

#include "core/core.h"
#include "util/textbuf.h"

json_t *render_user(const struct store_user *u, int with_bio);
/* Looks the user up; a missing user renders as a placeholder "Deleted Account". */
json_t *render_user_id(struct core_tx *tx, int64_t id);
json_t *render_chat(struct core_tx *tx, const struct store_chat *c);
json_t *render_chat_full(struct core_tx *tx, const struct core_access *a);
json_t *render_permissions(int perms);
/* depth limits nesting: replies and pinned messages are rendered one level deep. */
json_t *render_message(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth);
/* What a page knows of its messages' files: which ids of chat_id from lo to
 * hi carry any, looked up once for the page (render_files_load).  Messages
 * outside lo..hi, and every message when it knows nothing (hi < lo), are
 * looked up one by one. */
#define RENDER_FILES_MAX 128
struct render_files {
	int64_t chat_id, lo, hi;
	int64_t ids[RENDER_FILES_MAX]; /* ascending */
	size_t n;
};
void render_files_load(struct core_tx *tx, int64_t chat_id, int64_t lo, int64_t hi, struct render_files *f);
/* Appends m rendered as JSON text to out (render_text.c): the same bytes as
 * json_dumps(render_message(tx, c, m, depth), JSON_COMPACT), built without a
 * tree for the common message (text, in a chat neither banned nor withheld,
 * not forwarded, no files, not a service message) and through
 * render_message for the others.  files may be NULL.  0, or a negative
 * pl_err (out's error). */
int render_message_text(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth,
			const struct render_files *files, struct textbuf *out);
/* Appends private chat c as render_chat writes it (render_text.c): 0, or
 * PL_INVAL for a chat of another type (render_chat has checks to make for
 * those), or out's error. */
int render_private_chat_text(struct core_tx *tx, const struct store_chat *c, struct textbuf *out);
json_t *render_member(struct core_tx *tx, const struct store_member *m);
json_t *render_link(struct core_tx *tx, const struct store_link *l);
json_t *render_session(const struct store_session *s, int64_t current);
/* The last visible message of chat c for tx->uid, or NULL if none. */
json_t *render_last_message(struct core_tx *tx, const struct store_chat *c);

/* Territorial restriction (docs/policy.md).  render_message and render_chat
 * apply it themselves for a viewer (tx->viewer).  render_withheld replaces
 * a rendered message's content by the notice of restriction r, in the shape
 * of Telegram's restriction_reason; country may be NULL ("your country").
 * render_withhold_update does the same to a stored update body about to be
 * handed to tx's viewer (client_chat: the chat id of a chat log, else 0). */
void render_withheld(struct core_tx *tx, json_t *msg, const struct store_restriction *r, const char *country);
void render_withhold_update(struct core_tx *tx, json_t *update, int64_t client_chat);

/* Files (render_media.c).  render_media adds a message's files to msg
 * (photo: Array of PhotoSize; document, voice or video) and its caption
 * (the message's text, if any) and returns 1, or returns 0 for a message
 * without files (which then has "text").  render_media_drop takes them out
 * again (a withheld message); render_has_content tells whether a rendered
 * message has text or files. */
int render_media(struct core_tx *tx, const struct store_message *m, json_t *msg);
void render_media_drop(json_t *msg);
int render_has_content(json_t *msg);
/* PhotoSize {file_id, file_unique_id, width, height, file_size}. */
json_t *render_photo_size(const struct store_file *f);
/* Document / Voice / Video {file_id, file_unique_id, [duration], [file_name], mime_type, file_size}. */
json_t *render_file_kind(const struct store_file *f);
/* File {file_id, file_unique_id, file_size, file_path} (getFile). */
json_t *render_file(const struct store_file *f);

#endif
