/*
 * methods.c — the API method table.  One row per method: name, auth scope,
 * read or write, rate class, handlers, parameters with types and limits, and
 * the docs.  Dispatch, validation and docs/api.md all come from this table;
 * `make check-docs` fails if docs/api.md drifts from it.
 *
 * Names follow the Telegram Bot API wherever it has the method.
 */
#include <stdint.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "core/limits.h"

#define I64MAX INT64_MAX
#define E(...) ((const int[]){__VA_ARGS__, -1})
#define NOERR ((const int[]){-1})

/* Reusable parameter rows. */
#define P_CHAT {"chat_id", API_CHAT_ID, 1, 0, 0, "Chat id (a user id for a private chat, negative for groups and channels) or \"@username\" of a public chat"}
#define P_MSG {"message_id", API_INT, 1, 1, I64MAX, "Message id within the chat"}
#define P_USER {"user_id", API_INT, 1, 1, I64MAX, "User id"}
#define P_TEXT {"text", API_STR, 1, 1, PL_MESSAGE_MAX, "Message text", PLC_MESSAGE_TOO_LONG, PLC_MESSAGE_EMPTY}
#define P_LIMIT {"limit", API_INT, 0, 1, PL_PAGE_MAX, "Page size, default 50"}
#define P_OFFSET {"offset", API_INT, 0, 0, I64MAX, "Paging: items to skip"}
#define P_CASE {"case_id", API_INT, 1, 1, I64MAX, "Case id"}
#define P_CAPTION {"caption", API_STR, 0, 0, PL_CAPTION_MAX, "Caption, 0-1024 characters (found by searchMessages)", PLC_MEDIA_CAPTION_TOO_LONG}
#define P_REPLY_TO {"reply_to_message_id", API_INT, 0, 1, I64MAX, "Message in the same chat this one answers"}
#define P_REPLY_PARAMS {"reply_parameters", API_OBJECT, 0, 0, 0, "ReplyParameters {message_id} (Bot API form of reply_to_message_id)"}
#define P_DURATION {"duration", API_INT, 0, 0, PL_DURATION_MAX, "Seconds, as the sender says (kept with an upload)"}
#define E_MEDIA PLC_CHAT_NOT_FOUND, PLC_CHAT_WRITE_FORBIDDEN, PLC_USER_BLOCKED, PLC_FILE_ID_INVALID, PLC_FILE_FORBIDDEN, \
	PLC_FILE_TYPE_INVALID, PLC_FILE_TOO_BIG, PLC_FILE_EMPTY, PLC_FILE_REFUSED, PLC_MEDIA_CAPTION_TOO_LONG, \
	PLC_UPLOADS_TOO_MANY, PLC_MESSAGE_NOT_FOUND, PLC_FLOOD_WAIT
#define UPLOAD_DOC " Upload: POST the file as multipart/form-data (this parameter's field, with the others as fields) or as the raw body (the others in the query string); its type is told from its bytes, never from its name or Content-Type. docs/media.md."
#define P_CATEGORY {"category", API_STR, 1, 1, 32, "child_sexual_abuse, terrorist_content, illegal_goods, scams_fraud, spam, violence, hate, non_consensual_imagery, privacy_violation, intellectual_property or other", PLC_CATEGORY_INVALID}

const struct api_method api_methods[] = {
	/* --- accounts -------------------------------------------------- */
	{"register", API_PUBLIC, API_WRITE, API_RATE_AUTH, h_register_prep, h_register,
	 "AuthResult {token, session_id, user}",
	 "Creates an account and logs it in on this device.",
	 E(PLC_USERNAME_INVALID, PLC_USERNAME_OCCUPIED, PLC_PASSWORD_TOO_SHORT, PLC_FLOOD_WAIT),
	 {{"username", API_STR, 1, PL_USERNAME_MIN, PL_USERNAME_MAX, "a-z, 0-9 and _ (case-insensitive)", PLC_USERNAME_INVALID, PLC_USERNAME_INVALID},
	  {"password", API_STR, 1, PL_PASSWORD_MIN, PL_PASSWORD_MAX, "Any characters", 0, PLC_PASSWORD_TOO_SHORT},
	  {"display_name", API_STR, 0, 0, PL_NAME_MAX, "Shown name; defaults to the username"},
	  {"device", API_STR, 0, 0, PL_DEVICE_MAX, "Label of this device's session"}}},
	{"login", API_PUBLIC, API_WRITE, API_RATE_AUTH, h_login_prep, h_login,
	 "AuthResult {token, session_id, user}",
	 "Checks the password and opens a new session (one token per device).",
	 E(PLC_CREDENTIALS_INVALID, PLC_FLOOD_WAIT),
	 {{"username", API_STR, 1, 1, PL_USERNAME_MAX, "Username"},
	  {"password", API_STR, 1, 1, PL_PASSWORD_MAX, "Password"},
	  {"device", API_STR, 0, 0, PL_DEVICE_MAX, "Label of this device's session"}}},
	{"logOut", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_logout, "True",
	 "Ends the calling session; its token stops working at once.", NOERR, {{0}}},
	{"getMe", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_me, "User",
	 "The calling user, with bio, country and (for moderators) platform_role.", NOERR, {{0}}},
	{"getSessions", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_sessions, "Array of Session",
	 "The caller's sessions (devices), newest first; `current` marks this one.", NOERR, {{0}}},
	{"revokeSession", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_revoke_session, "True",
	 "Ends one of the caller's sessions.",
	 E(PLC_SESSION_NOT_FOUND),
	 {{"session_id", API_INT, 1, 1, I64MAX, "Id from getSessions"}}},
	{"updateProfile", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_update_profile, "User",
	 "Changes the caller's display name, bio and/or country.",
	 E(PLC_PARAM_INVALID),
	 {{"display_name", API_STR, 0, 1, PL_NAME_MAX, "Shown name"},
	  {"bio", API_STR, 0, 0, PL_BIO_MAX, "About the user"},
	  {"country", API_STR, 0, 0, 2, "ISO 3166-1 alpha-2 code of where you are (territorial restrictions follow it); \"\" = from your IP address"}}},
	{"getUser", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_user, "User",
	 "Looks a user up by id or by username (one of the two).",
	 E(PLC_USER_NOT_FOUND),
	 {{"user_id", API_INT, 0, 1, I64MAX, "User id"},
	  {"username", API_STR, 0, 1, PL_USERNAME_MAX + 1, "Username, with or without @"}}},
	{"blockUser", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_block_user, "True",
	 "Blocks a user: they can no longer message you or add you to chats.",
	 E(PLC_USER_NOT_FOUND), {P_USER}},
	{"unblockUser", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_unblock_user, "True",
	 "Unblocks a user.", E(PLC_USER_NOT_FOUND), {P_USER}},
	{"getBlockedUsers", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_blocked, "Array of User",
	 "Users the caller has blocked.", NOERR, {{0}}},

	/* --- chats ----------------------------------------------------- */
	{"createGroup", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_create_group, "Chat",
	 "Creates a group owned by the caller, with initial members.",
	 E(PLC_CHAT_TITLE_EMPTY, PLC_USER_NOT_FOUND, PLC_USER_BLOCKED),
	 {{"title", API_STR, 1, 1, PL_NAME_MAX, "Chat title", 0, PLC_CHAT_TITLE_EMPTY},
	  {"user_ids", API_INT_ARRAY, 0, 0, PL_INITIAL_MEMBERS_MAX, "Initial members"},
	  {"description", API_STR, 0, 0, PL_BIO_MAX, "Chat description"}}},
	{"createChannel", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_create_channel, "Chat",
	 "Creates a broadcast channel; with a username it is public.",
	 E(PLC_CHAT_TITLE_EMPTY, PLC_USERNAME_INVALID, PLC_USERNAME_OCCUPIED),
	 {{"title", API_STR, 1, 1, PL_NAME_MAX, "Chat title", 0, PLC_CHAT_TITLE_EMPTY},
	  {"username", API_STR, 0, 0, PL_USERNAME_MAX, "Public @username; omit for a private channel"},
	  {"description", API_STR, 0, 0, PL_BIO_MAX, "Chat description"}}},
	{"getChat", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_chat, "ChatFullInfo",
	 "A chat with description, permissions, member count and pinned message. Public chats can be read by anyone.",
	 E(PLC_CHAT_NOT_FOUND), {P_CHAT}},
	{"getChatMember", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_chat_member, "ChatMember",
	 "One member's status in a chat.", E(PLC_CHAT_NOT_FOUND, PLC_USER_NOT_FOUND), {P_CHAT, P_USER}},
	{"getChatMemberCount", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_member_count, "Integer",
	 "Number of members (subscribers for a channel).", E(PLC_CHAT_NOT_FOUND), {P_CHAT}},
	{"getChatAdministrators", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_admins, "Array of ChatMember",
	 "The creator and administrators.", E(PLC_CHAT_NOT_FOUND), {P_CHAT}},
	{"getChatMembers", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_members, "Array of ChatMember",
	 "Members by user id, after offset_user_id. In channels only administrators may list subscribers.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED),
	 {P_CHAT, {"offset_user_id", API_INT, 0, 0, I64MAX, "List members with a greater user id"}, P_LIMIT}},
	{"addChatMembers", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_add_members, "True",
	 "Adds users to a group (admins, or members if the group allows) or a channel (admins).",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_USER_NOT_FOUND, PLC_USER_BLOCKED, PLC_TOO_MANY_MEMBERS),
	 {P_CHAT, {"user_ids", API_INT_ARRAY, 1, 1, PL_INITIAL_MEMBERS_MAX, "Users to add"}}},
	{"banChatMember", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_ban_member, "True",
	 "Removes a member; they cannot rejoin until unbanned. Admins only; only the creator removes admins.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_USER_NOT_PARTICIPANT), {P_CHAT, P_USER}},
	{"unbanChatMember", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_unban_member, "True",
	 "Lets a removed user join again (it does not add them).",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED), {P_CHAT, P_USER}},
	{"promoteChatMember", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_promote_member, "True",
	 "Makes a member an administrator, or back a member with is_admin false. Creator only.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_CREATOR_REQUIRED, PLC_USER_NOT_PARTICIPANT),
	 {P_CHAT, P_USER, {"is_admin", API_BOOL, 0, 0, 1, "Default true"}}},
	{"setChatTitle", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_set_title, "True",
	 "Renames a group or channel.", E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_CHAT_TITLE_EMPTY),
	 {P_CHAT, {"title", API_STR, 1, 1, PL_NAME_MAX, "Chat title", 0, PLC_CHAT_TITLE_EMPTY}}},
	{"setChatDescription", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_set_description, "True",
	 "Changes a group's or channel's description.", E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED),
	 {P_CHAT, {"description", API_STR, 1, 0, PL_BIO_MAX, "Chat description"}}},
	{"setChatPermissions", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_set_permissions, "True",
	 "Sets what plain members of a group may do. Admins only.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_CHAT_TYPE_INVALID),
	 {P_CHAT, {"permissions", API_OBJECT, 1, 0, 0,
		   "ChatPermissions {can_send_messages, can_invite_users, can_pin_messages, can_change_info}; omitted fields keep their value"}}},
	{"setChatUsername", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_set_username, "True",
	 "Makes a channel or group public under @username, or private with an empty username. Creator only.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_CREATOR_REQUIRED, PLC_USERNAME_INVALID, PLC_USERNAME_OCCUPIED),
	 {P_CHAT, {"username", API_STR, 1, 0, PL_USERNAME_MAX, "New username, or \"\""}}},
	{"leaveChat", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_leave_chat, "True",
	 "Leaves a group or channel.", E(PLC_CHAT_NOT_FOUND, PLC_USER_NOT_PARTICIPANT, PLC_CHAT_TYPE_INVALID), {P_CHAT}},
	{"joinChat", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_join_chat, "Chat",
	 "Joins by invite link, or joins a public chat by chat_id or @username.",
	 E(PLC_CHAT_NOT_FOUND, PLC_INVITE_HASH_INVALID, PLC_INVITE_HASH_EXPIRED, PLC_INVITE_USAGE_LIMIT,
	   PLC_USER_ALREADY_PARTICIPANT, PLC_USER_BANNED_IN_CHAT, PLC_TOO_MANY_MEMBERS),
	 {{"invite_link", API_STR, 0, 1, 512, "An invite link or its code"},
	  {"chat_id", API_CHAT_ID, 0, 0, 0, "A public chat's id or \"@username\""}}},
	{"createChatInviteLink", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_create_link, "ChatInviteLink",
	 "Creates an extra invite link. Admins, or members of a group that allows inviting.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_CHAT_TYPE_INVALID),
	 {P_CHAT, {"name", API_STR, 0, 0, PL_NAME_MAX, "Label"},
	  {"expire_date", API_INT, 0, 0, I64MAX, "Unix time when the link stops working"},
	  {"member_limit", API_INT, 0, 1, PL_INVITE_LIMIT_MAX, "Joins allowed"}}},
	{"exportChatInviteLink", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_export_link, "String",
	 "Creates a new primary invite link; the previous primary link is revoked.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_CHAT_TYPE_INVALID), {P_CHAT}},
	{"revokeChatInviteLink", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_revoke_link, "ChatInviteLink",
	 "Revokes an invite link; it can no longer be used to join.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED, PLC_INVITE_HASH_INVALID),
	 {P_CHAT, {"invite_link", API_STR, 1, 1, 512, "The link or its code"}}},
	{"getChatInviteLinks", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_links, "Array of ChatInviteLink",
	 "The chat's invite links (at most 1000, newest first). Admins only.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED), {P_CHAT}},

	/* --- messages -------------------------------------------------- */
	{"sendMessage", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_send_message, "Message",
	 "Sends a text message; the reply comes after the message is durably stored.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_WRITE_FORBIDDEN, PLC_USER_BLOCKED, PLC_MESSAGE_EMPTY,
	   PLC_MESSAGE_TOO_LONG, PLC_TEXT_INVALID_UTF8, PLC_MESSAGE_NOT_FOUND, PLC_FLOOD_WAIT),
	 {P_CHAT, P_TEXT,
	  {"reply_to_message_id", API_INT, 0, 1, I64MAX, "Message in the same chat this one answers"},
	  {"reply_parameters", API_OBJECT, 0, 0, 0, "ReplyParameters {message_id} (Bot API form of reply_to_message_id)"}}},
	{"forwardMessage", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_forward_message, "Message",
	 "Forwards a message, keeping its origin.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_WRITE_FORBIDDEN, PLC_USER_BLOCKED, PLC_MESSAGE_NOT_FOUND, PLC_FLOOD_WAIT),
	 {P_CHAT, {"from_chat_id", API_CHAT_ID, 1, 0, 0, "Chat the message is in"}, P_MSG}},
	{"editMessageText", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_edit_message, "Message",
	 "Changes the text of one's own message; edit_date is set.",
	 E(PLC_CHAT_NOT_FOUND, PLC_MESSAGE_NOT_FOUND, PLC_MESSAGE_EDIT_FORBIDDEN, PLC_MESSAGE_NOT_MODIFIED,
	   PLC_MESSAGE_EMPTY, PLC_MESSAGE_TOO_LONG, PLC_TEXT_INVALID_UTF8),
	 {P_CHAT, P_MSG, P_TEXT}},
	{"deleteMessage", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_delete_message, "True",
	 "Deletes a message for everyone (the sender or an admin; either side of a private chat) or, with revoke false, only for the caller.",
	 E(PLC_CHAT_NOT_FOUND, PLC_MESSAGE_NOT_FOUND, PLC_MESSAGE_DELETE_FORBIDDEN),
	 {P_CHAT, P_MSG, {"revoke", API_BOOL, 0, 0, 1, "Delete for everyone (default true)"}}},
	{"deleteMessages", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_delete_messages, "True",
	 "Deletes up to 100 messages, like deleteMessage; all or none.",
	 E(PLC_CHAT_NOT_FOUND, PLC_MESSAGE_NOT_FOUND, PLC_MESSAGE_DELETE_FORBIDDEN),
	 {P_CHAT, {"message_ids", API_INT_ARRAY, 1, 1, PL_BATCH_MAX, "Message ids"},
	  {"revoke", API_BOOL, 0, 0, 1, "Delete for everyone (default true)"}}},
	{"pinChatMessage", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_pin_message, "True",
	 "Pins a message (admins, members of a group that allows pinning, either side of a private chat).",
	 E(PLC_CHAT_NOT_FOUND, PLC_MESSAGE_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED), {P_CHAT, P_MSG}},
	{"unpinChatMessage", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_unpin_message, "True",
	 "Unpins the pinned message.", E(PLC_CHAT_NOT_FOUND, PLC_CHAT_ADMIN_REQUIRED),
	 {P_CHAT, {"message_id", API_INT, 0, 1, I64MAX, "Only unpin if this one is pinned"}}},
	{"readHistory", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_read_history, "ReadResult {read_inbox_max_id, unread_count}",
	 "Marks the chat read up to max_id (default: everything). The read position never moves back.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN),
	 {P_CHAT, {"max_id", API_INT, 0, 0, I64MAX, "Last read message id"}}},
	{"getHistory", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_history, "Array of Message",
	 "A page of a chat's messages. direction \"older\" (default): ids below offset_id (0 = newest), newest first; \"newer\": ids above offset_id, oldest first.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN),
	 {P_CHAT, {"offset_id", API_INT, 0, 0, I64MAX, "Paging cursor (exclusive)"},
	  {"direction", API_STR, 0, 5, 5, "\"older\" or \"newer\""}, P_LIMIT}},
	{"getDialogs", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_dialogs, "Array of Dialog",
	 "The caller's chats, most recent first, each with its last message and unread count.",
	 NOERR,
	 {{"offset_date", API_INT, 0, 0, I64MAX, "Paging: the last dialog's date"},
	  {"offset_chat_id", API_INT, 0, INT64_MIN + 1, I64MAX, "Paging: the last dialog's chat id"}, P_LIMIT}},
	{"searchMessages", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_search_messages, "Array of Message",
	 "Full-text search (all words must match) in one chat, or in all of the caller's chats; newest first. "
	 "A new message is found once the server indexed it, in batches: at most about 0.1 s after it was sent "
	 "(edits, deletes and removals show at once).",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_QUERY_EMPTY),
	 {{"query", API_STR, 1, 1, PL_QUERY_MAX, "Words to find", 0, PLC_QUERY_EMPTY},
	  {"chat_id", API_CHAT_ID, 0, 0, 0, "Limit the search to one chat"},
	  {"offset_date", API_INT, 0, 0, I64MAX, "Paging: the last result's date"},
	  {"offset_chat_id", API_INT, 0, INT64_MIN + 1, I64MAX, "Paging: the last result's chat id"},
	  {"offset_message_id", API_INT, 0, 0, I64MAX, "Paging: the last result's message id"}, P_LIMIT}},
	{"viewMessages", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_view_messages, "Array of Integer",
	 "Counts the caller as a viewer of channel posts (once per user) and returns their view counts.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_CHAT_TYPE_INVALID),
	 {P_CHAT, {"message_ids", API_INT_ARRAY, 1, 1, PL_BATCH_MAX, "Message ids"}}},

	/* --- media (docs/media.md) -------------------------------------- */
	{"sendPhoto", API_USER, API_WRITE, API_RATE_DEFAULT, h_send_media_prep, h_send_media, "Message",
	 "Sends a photo: JPEG, PNG or WebP of at most photo_max_bytes and photo_max_pixels. It is kept as JPEGs of up to 4 sizes (photo: Array of PhotoSize, smallest first: 90, 320 and 800 px and the full size up to photo_max_side), re-encoded from the pixels, so no metadata of the upload (EXIF, GPS) is kept." UPLOAD_DOC,
	 E(E_MEDIA, PLC_PHOTO_INVALID, PLC_PHOTO_INVALID_DIMENSIONS),
	 {P_CHAT, {"photo", API_STR, 1, 1, 64, "file_id of a photo (any of its sizes), or the upload"}, P_CAPTION, P_REPLY_TO,
	  P_REPLY_PARAMS}},
	{"sendDocument", API_USER, API_WRITE, API_RATE_DEFAULT, h_send_media_prep, h_send_media, "Message",
	 "Sends a file of any type (document: Document {file_id, file_unique_id, file_name, mime_type, file_size}), at most file_max_bytes, kept byte for byte." UPLOAD_DOC,
	 E(E_MEDIA),
	 {P_CHAT, {"document", API_STR, 1, 1, 64, "file_id of a document, voice note or video, or the upload"}, P_CAPTION,
	  P_REPLY_TO, P_REPLY_PARAMS}},
	{"sendVoice", API_USER, API_WRITE, API_RATE_DEFAULT, h_send_media_prep, h_send_media, "Message",
	 "Sends a voice note (voice: Voice {file_id, file_unique_id, duration, mime_type, file_size}): audio (OGG/Opus, MP3, M4A, ...), kept as a file, at most file_max_bytes." UPLOAD_DOC,
	 E(E_MEDIA),
	 {P_CHAT, {"voice", API_STR, 1, 1, 64, "file_id of a voice note, or the upload"}, P_CAPTION, P_REPLY_TO,
	  P_REPLY_PARAMS, P_DURATION}},
	{"sendVideo", API_USER, API_WRITE, API_RATE_DEFAULT, h_send_media_prep, h_send_media, "Message",
	 "Sends a video (video: Video {file_id, file_unique_id, duration, file_name, mime_type, file_size}), kept as a file (not transcoded), at most file_max_bytes." UPLOAD_DOC,
	 E(E_MEDIA),
	 {P_CHAT, {"video", API_STR, 1, 1, 64, "file_id of a video, or the upload"}, P_CAPTION, P_REPLY_TO,
	  P_REPLY_PARAMS, P_DURATION}},
	{"getFile", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_file, "File {file_id, file_unique_id, file_size, file_path}",
	 "A file the caller may see (uploaded by them, or in a chat they can read). Download it with GET /file/<file_path> and the session token (Authorization: Bearer, or ?token=); Range, ETag and If-None-Match work there.",
	 E(PLC_FILE_ID_INVALID, PLC_FILE_FORBIDDEN), {{"file_id", API_STR, 1, 1, 64, "A file_id"}}},
	{"upload", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_upload,
	 "File (photos: with photo, Array of PhotoSize)",
	 "Stores a file without sending it, for a later send by file_id. It is deleted if no message uses it within blob_grace_seconds. Only as an upload (field \"file\" of multipart/form-data, or the raw body): a JSON body is refused with CONTENT_TYPE_INVALID." UPLOAD_DOC,
	 E(PLC_FILE_TOO_BIG, PLC_FILE_EMPTY, PLC_FILE_TYPE_INVALID, PLC_FILE_REFUSED, PLC_PHOTO_INVALID,
	   PLC_PHOTO_INVALID_DIMENSIONS, PLC_UPLOADS_TOO_MANY, PLC_CONTENT_TYPE_INVALID),
	 {{"kind", API_STR, 0, 1, 16, "photo, document (default), voice or video"},
	  {"file_name", API_STR, 0, 0, PL_FILE_NAME_MAX, "The file's name (raw bodies; multipart takes the part's filename)"},
	  P_DURATION}},

	/* --- sync (docs/sync.md) ---------------------------------------- */
	{"getState", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_state, "State {pts, date, chats: [{chat_id, pts}]}",
	 "The caller's update sequence and the sequence of each large chat (channel, big group) they are in.",
	 NOERR, {{0}}},
	{"getDifference", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_difference,
	 "Difference {updates: [{pts, update}], state: {pts}, more} or {reload: true, state}",
	 "The caller's updates after pts, oldest first. `reload` when pts is older than the log keeps.",
	 NOERR,
	 {{"pts", API_INT, 1, 0, I64MAX, "The last pts the client applied"},
	  {"limit", API_INT, 0, 1, PL_DIFF_MAX, "Most updates to return, default 1000"}}},
	{"getChatDifference", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_chat_difference,
	 "Difference {updates: [{chat_id, pts, update}], state: {pts}, more} or {reload: true, state}",
	 "A large chat's updates after pts, oldest first.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_CHAT_TYPE_INVALID),
	 {P_CHAT, {"pts", API_INT, 1, 0, I64MAX, "The last pts of this chat the client applied"},
	  {"limit", API_INT, 0, 1, PL_DIFF_MAX, "Most updates to return, default 1000"}}},
	{"getUpdates", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_updates,
	 "Array of {update_id, pts, update}",
	 "Long polling (Bot API): the caller's updates with update_id >= offset; waits up to timeout seconds for one.",
	 NOERR,
	 {{"offset", API_INT, 0, 0, I64MAX, "First update_id to return; earlier ones are confirmed"},
	  {"limit", API_INT, 0, 1, 100, "Most updates to return, default 100"},
	  {"timeout", API_INT, 0, 0, PL_POLL_TIMEOUT_MAX, "Seconds to wait when there is nothing, default 0"}}},
	{"sendChatAction", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_send_chat_action, "True",
	 "Shows the others in the chat that you are typing (or uploading, ...). Never stored; rate-limited.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_CHAT_WRITE_FORBIDDEN, PLC_FLOOD_WAIT),
	 {P_CHAT, {"action", API_STR, 1, 1, 32, "typing, cancel, upload_photo, record_voice, upload_document or choose_sticker"}}},
	{"setPrivacy", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_set_privacy, "True",
	 "Who sees your online status and last-seen time: everybody, contacts (people you share a private chat with) or nobody.",
	 NOERR, {{"last_seen", API_STR, 1, 1, 16, "everybody, contacts or nobody"}}},

	/* --- trust & safety: signals (docs/policy.md) ------------------- */
	{"reportContent", API_USER, API_WRITE, API_RATE_DEFAULT, NULL, h_report_content,
	 "{reports: [{report_id, case_id, message_id, status, deadline}]}",
	 "Reports messages (chat_id + message_ids), a group or channel (chat_id) or a user (user_id) to the platform's moderators; reports about a group or channel also reach its admins (getChatReports).",
	 E(PLC_CATEGORY_INVALID, PLC_TARGET_INVALID, PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_MESSAGE_NOT_FOUND, PLC_USER_NOT_FOUND),
	 {P_CATEGORY, {"chat_id", API_CHAT_ID, 0, 0, 0, "The chat of the messages, or the group or channel reported"},
	  {"message_ids", API_INT_ARRAY, 0, 1, PL_BATCH_MAX, "Messages reported (each becomes its own case)"},
	  {"user_id", API_INT, 0, 1, I64MAX, "A user reported (instead of chat_id)"},
	  {"text", API_STR, 0, 0, PL_REPORT_TEXT_MAX, "What is wrong, in the reporter's words"},
	  {"reporter_plaintext", API_STR, 0, 1, PL_MESSAGE_MAX, "Secret chats: the text the reporter saw on their device; stored and shown marked as reporter-supplied"}}},
	{"submitNotice", API_OPTIONAL, API_WRITE, API_RATE_NOTICE, h_submit_notice_prep, h_submit_notice,
	 "{reference, status, trusted_flagger, deadline}",
	 "A notice of illegal content (DSA Art. 16), from anyone, logged in or not; keep the reference to follow it (getNotice). Trusted flaggers send their key (flagger_key, or `Authorization: Flagger <key>`): their notices come first, with a deadline. Rate-limited per IP address (rate_notices_ip_per_hour) except for flaggers.",
	 E(PLC_CATEGORY_INVALID, PLC_GOOD_FAITH_REQUIRED, PLC_NOTIFIER_REQUIRED, PLC_TARGET_INVALID, PLC_FLAGGER_KEY_INVALID,
	   PLC_CHAT_NOT_FOUND, PLC_MESSAGE_NOT_FOUND, PLC_USER_NOT_FOUND, PLC_FLOOD_WAIT),
	 {P_CATEGORY, {"explanation", API_STR, 1, 1, PL_REPORT_TEXT_MAX, "Why the content is illegal"},
	  {"good_faith", API_BOOL, 1, 0, 1, "Must be true: you believe in good faith that the notice is accurate and complete"},
	  {"chat_id", API_CHAT_ID, 0, 0, 0, "Exact location: a group or channel (negative id or \"@username\"), or, logged in, your private chat with a user"},
	  {"message_ids", API_INT_ARRAY, 0, 1, PL_BATCH_MAX, "Exact location: messages of chat_id"},
	  {"user_id", API_INT, 0, 1, I64MAX, "Exact location: a user account (instead of chat_id)"},
	  {"location", API_STR, 0, 0, PL_LOCATION_MAX, "The location as you have it (a link), kept with the notice"},
	  {"name", API_STR, 0, 0, PL_NAME_MAX, "Your name (optional only for child sexual abuse material)"},
	  {"email", API_STR, 0, 0, PL_EMAIL_MAX, "Your email address (optional only for child sexual abuse material)"},
	  {"flagger_key", API_STR, 0, 1, 128, "A trusted flagger's API key"}}},
	{"getNotice", API_PUBLIC, API_READ, API_RATE_DEFAULT, NULL, h_get_notice,
	 "{reference, kind, category, submitted_at, status, deadline, decision: Statement, appeals: [Appeal]}",
	 "A notice by its reference: whether it was acted on and, once decided, the statement of reasons and the notifier's appeals against it.",
	 E(PLC_NOTICE_NOT_FOUND), {{"reference", API_STR, 1, 1, 64, "The reference submitNotice returned"}}},
	{"getStatement", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_statement, "Statement",
	 "A statement of reasons (DSA Art. 17): for the affected user, a notifier of its case, or a moderator. Works for suspended accounts.",
	 E(PLC_STATEMENT_NOT_FOUND), {{"statement_id", API_INT, 1, 1, I64MAX, "Statement id"}}, API_F_SUSPENDED_OK},
	{"appealDecision", API_OPTIONAL, API_WRITE, API_RATE_DEFAULT, NULL, h_appeal_decision, "Appeal",
	 "Appeals a decision within 6 months (DSA Art. 20): the affected user, or a notifier whose notice was dismissed (logged in, or with the notice's reference). A different, senior moderator decides. Works for suspended accounts.",
	 E(PLC_STATEMENT_NOT_FOUND, PLC_APPEAL_FORBIDDEN, PLC_APPEAL_EXPIRED, PLC_APPEAL_EXISTS, PLC_APPEAL_DECIDED),
	 {{"statement_id", API_INT, 1, 1, I64MAX, "The statement of reasons of the decision"},
	  {"text", API_STR, 1, 1, PL_REPORT_TEXT_MAX, "Why the decision is wrong"},
	  {"reference", API_STR, 0, 1, 64, "Without a session: the reference of your notice"}}, API_F_SUSPENDED_OK},
	{"getChatReports", API_USER, API_READ, API_RATE_DEFAULT, NULL, h_get_chat_reports,
	 "Array of {report_id, category, text, about, message_id, date, status}",
	 "Users' reports about a group or channel and its messages, newest first, for its administrators (reporters are not named). Admins act with deleteMessage and banChatMember; the platform's moderators see both.",
	 E(PLC_CHAT_NOT_FOUND, PLC_CHAT_FORBIDDEN, PLC_CHAT_ADMIN_REQUIRED, PLC_CHAT_TYPE_INVALID),
	 {P_CHAT, P_LIMIT, P_OFFSET}},

	/* --- trust & safety: moderators ---------------------------------- */
	{"getModerationQueue", API_MODERATOR, API_READ, API_RATE_DEFAULT, NULL, h_get_queue,
	 "{open, overdue, cases: [Case]}",
	 "Open cases, highest priority first, then earliest deadline; overdue ones say so.",
	 NOERR, {P_LIMIT, P_OFFSET}},
	{"getCase", API_MODERATOR, API_READ, API_RATE_DEFAULT, NULL, h_get_case,
	 "{case, content: {chat, message, context, user, restrictions}, signals, history, chat_admin_actions, actions, warnings}",
	 "A case with the reported content in context (whatever the moderator's membership), every report and notice, earlier decisions on the same user or chat, what the chat's admins did, and the actions that apply.",
	 E(PLC_CASE_NOT_FOUND), {P_CASE}},
	{"decideCase", API_MODERATOR, API_WRITE, API_RATE_DEFAULT, NULL, h_decide_case, "{statement: Statement, case: Case}",
	 "Decides an open case: the action is carried out, a statement of reasons goes to the affected user from @parley_safety, and the notifiers are told. suspend_user needs an earlier warning or manifestly_illegal (DSA Art. 23).",
	 E(PLC_CASE_NOT_FOUND, PLC_CASE_DECIDED, PLC_ACTION_INVALID, PLC_GROUND_INVALID, PLC_CATEGORY_INVALID,
	   PLC_TERRITORY_INVALID, PLC_WARNING_REQUIRED, PLC_PARAM_MISSING),
	 {P_CASE, {"action", API_STR, 1, 1, 32, "remove_message, remove_user_messages, restrict, ban_chat, suspend_user, warn_user or dismiss"},
	  {"facts", API_STR, 1, 1, PL_FACTS_MAX, "Facts and circumstances relied on (for a dismissal: why no action)"},
	  {"category", API_STR, 0, 1, 32, "The category found, if not the case's"},
	  {"ground", API_STR, 0, 1, 16, "\"illegal\" or \"terms\" (required unless dismiss)"},
	  {"legal_provision", API_STR, 0, 1, PL_REFERENCE_MAX, "Ground illegal: the law relied on"},
	  {"terms_clause", API_STR, 0, 1, PL_REFERENCE_MAX, "Ground terms: the terms-of-service clause relied on"},
	  {"territories", API_STR, 0, 0, PL_TERRITORIES_MAX * 3, "restrict: ISO 3166-1 alpha-2 codes, e.g. \"DE,FR\""},
	  {"duration_days", API_INT, 0, 1, PL_SUSPEND_DAYS_MAX, "suspend_user: days; omit for a permanent suspension"},
	  {"manifestly_illegal", API_BOOL, 0, 0, 1, "The content is manifestly illegal (suspension without an earlier warning)"}}},
	{"exportStatements", API_MODERATOR, API_READ, API_RATE_DEFAULT, NULL, h_export_statements,
	 "{statements: [DSA statement], next_after_id, more}",
	 "Statements of restricting decisions dated from <= date < to, in the DSA Transparency Database's fields (docs/policy.md).",
	 NOERR,
	 {{"from", API_INT, 1, 0, I64MAX, "Unix time, inclusive"}, {"to", API_INT, 1, 0, I64MAX, "Unix time, exclusive"},
	  {"after_id", API_INT, 0, 0, I64MAX, "Paging: next_after_id of the previous page"},
	  {"limit", API_INT, 0, 1, PL_EXPORT_MAX, "Statements per page, default 1000"}}},
	{"getAppeals", API_SENIOR, API_READ, API_RATE_DEFAULT, NULL, h_get_appeals, "Array of Appeal",
	 "Appeals, oldest first, with the decision appealed and whether the caller may decide it.",
	 E(PLC_PARAM_INVALID),
	 {{"status", API_STR, 0, 1, 16, "open (default), upheld, reversed or all"}, P_LIMIT, P_OFFSET}},
	{"decideAppeal", API_SENIOR, API_WRITE, API_RATE_DEFAULT, NULL, h_decide_appeal, "Appeal",
	 "Decides an appeal (not by the moderator who decided the case): reverse restores what was removed, banned, restricted or suspended and says so to the user; uphold tells the appellant why not.",
	 E(PLC_APPEAL_NOT_FOUND, PLC_APPEAL_DECIDED, PLC_APPEAL_SAME_MODERATOR, PLC_PARAM_INVALID),
	 {{"appeal_id", API_INT, 1, 1, I64MAX, "Appeal id"}, {"outcome", API_STR, 1, 1, 16, "\"uphold\" or \"reverse\""},
	  {"text", API_STR, 1, 1, PL_FACTS_MAX, "The reasons, sent to the appellant"}}},

	/* --- trust & safety: platform admins -------------------------------- */
	{"grantRole", API_ADMIN, API_WRITE, API_RATE_DEFAULT, NULL, h_grant_role, "{user, role}",
	 "Gives a user a platform role (replacing any other).",
	 E(PLC_ROLE_INVALID, PLC_USER_NOT_FOUND, PLC_PARAM_MISSING),
	 {{"role", API_STR, 1, 1, 32, "moderator, senior_moderator or admin"}, {"user_id", API_INT, 0, 1, I64MAX, "User id"},
	  {"username", API_STR, 0, 1, PL_USERNAME_MAX + 1, "Or the username"}}},
	{"revokeRole", API_ADMIN, API_WRITE, API_RATE_DEFAULT, NULL, h_revoke_role, "True",
	 "Takes a user's platform role away.", E(PLC_USER_NOT_FOUND, PLC_PARAM_MISSING),
	 {{"user_id", API_INT, 0, 1, I64MAX, "User id"}, {"username", API_STR, 0, 1, PL_USERNAME_MAX + 1, "Or the username"}}},
	{"getRoles", API_ADMIN, API_READ, API_RATE_DEFAULT, NULL, h_get_roles, "Array of {user, role, granted_by, granted_at}",
	 "Everyone with a platform role.", NOERR, {{0}}},
	{"registerFlagger", API_ADMIN, API_WRITE, API_RATE_DEFAULT, NULL, h_register_flagger, "{flagger: Flagger, api_key}",
	 "Registers a trusted flagger (DSA Art. 22). The API key is shown this once; only its hash is kept.",
	 E(PLC_PARAM_INVALID),
	 {{"name", API_STR, 1, 1, PL_NAME_MAX, "The organisation"}, {"email", API_STR, 1, 3, PL_EMAIL_MAX, "Its contact address"}}},
	{"getFlaggers", API_ADMIN, API_READ, API_RATE_DEFAULT, NULL, h_get_flaggers, "Array of Flagger",
	 "Trusted flaggers with their notices and accuracy (the share of their decided notices that were acted on).",
	 NOERR, {{0}}},
};

const size_t api_methods_count = sizeof(api_methods) / sizeof(api_methods[0]);

const struct api_method *api_method_find(const char *name)
{
	/* The first byte first: a WebSocket call looks its method up per
	 * frame, and most names differ there. */
	for (size_t i = 0; i < api_methods_count; i++)
		if (api_methods[i].name[0] == name[0] && strcmp(api_methods[i].name, name) == 0)
			return &api_methods[i];
	return NULL;
}

/* FNV-1a of a name, folded to a slot. */
static size_t method_slot(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (h ^ h >> 16) & (API_METHOD_INDEX_SLOTS - 1);
}

void api_method_index_init(struct api_method_index *ix)
{
	_Static_assert(sizeof(api_methods) / sizeof(api_methods[0]) < API_METHOD_INDEX_SLOTS / 2,
		       "API_METHOD_INDEX_SLOTS: too few for the table");
	memset(ix, 0, sizeof *ix);
	for (size_t i = 0; i < api_methods_count; i++) {
		size_t k = method_slot(api_methods[i].name);
		while (ix->slot[k])
			k = (k + 1) & (API_METHOD_INDEX_SLOTS - 1);
		ix->slot[k] = (unsigned char)(i + 1);
	}
}

const struct api_method *api_method_index_find(const struct api_method_index *ix, const char *name)
{
	for (size_t k = method_slot(name); ix->slot[k]; k = (k + 1) & (API_METHOD_INDEX_SLOTS - 1)) {
		const struct api_method *m = &api_methods[ix->slot[k] - 1];
		if (strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}
