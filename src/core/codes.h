/*
 * codes.h — the stable error codes a client sees.
 *
 * One table (an X-macro) gives each code its HTTP status and a default human
 * message.  Core logic names the code (it knows *why* a call fails); the API
 * layer (src/api/api.c) renders it as
 *   {"ok":false,"error_code":STATUS,"description":"CODE: message"}
 * in the style of Telegram's "400 MESSAGE_TOO_LONG".  Codes are never renamed
 * or reused: clients and docs/api.md depend on them.
 */
#ifndef PL_CORE_CODES_H
#define PL_CORE_CODES_H

#define PL_CODES(X)                                                                          \
	X(OK, 200, "success")                                                                \
	X(BAD_REQUEST, 400, "the request is malformed")                                      \
	X(JSON_INVALID, 400, "the request body is not a JSON object")                        \
	X(PARAM_MISSING, 400, "a required parameter is missing")                             \
	X(PARAM_INVALID, 400, "a parameter has the wrong type or is out of range")           \
	X(TEXT_INVALID_UTF8, 400, "a text parameter is not valid UTF-8")                     \
	X(MESSAGE_EMPTY, 400, "the message text is empty")                                   \
	X(MESSAGE_TOO_LONG, 400, "the message text is longer than 4096 characters")          \
	X(MESSAGE_NOT_FOUND, 400, "no such message in this chat")                            \
	X(MESSAGE_NOT_MODIFIED, 400, "the new text is the same as the old")                  \
	X(USERNAME_INVALID, 400, "usernames are 5-32 characters of a-z, 0-9 and _")          \
	X(USERNAME_OCCUPIED, 400, "this username is taken")                                  \
	X(PASSWORD_TOO_SHORT, 400, "passwords have at least 8 characters")                   \
	X(CREDENTIALS_INVALID, 400, "wrong username or password")                            \
	X(USER_NOT_FOUND, 400, "no such user")                                               \
	X(CHAT_NOT_FOUND, 400, "no such chat, or you cannot see it")                         \
	X(CHAT_TITLE_EMPTY, 400, "a chat needs a title")                                     \
	X(SESSION_NOT_FOUND, 400, "no such session")                                         \
	X(USER_ALREADY_PARTICIPANT, 400, "the user is already a member of this chat")       \
	X(USER_NOT_PARTICIPANT, 400, "the user is not a member of this chat")               \
	X(INVITE_HASH_INVALID, 400, "no such invite link")                                   \
	X(INVITE_HASH_EXPIRED, 400, "the invite link has expired or was revoked")            \
	X(INVITE_USAGE_LIMIT, 400, "the invite link has reached its member limit")          \
	X(QUERY_EMPTY, 400, "the search query has no words")                                 \
	X(TOO_MANY_MEMBERS, 400, "the chat has reached its member limit")                    \
	X(CHAT_TYPE_INVALID, 400, "this method does not apply to this kind of chat")         \
	X(UNAUTHORIZED, 401, "missing, invalid or revoked session token")                    \
	X(CHAT_WRITE_FORBIDDEN, 403, "you cannot post in this chat")                         \
	X(CHAT_ADMIN_REQUIRED, 403, "this needs an administrator of the chat")               \
	X(CHAT_CREATOR_REQUIRED, 403, "this needs the creator of the chat")                  \
	X(CHAT_FORBIDDEN, 403, "you are not a member of this chat")                          \
	X(USER_BANNED_IN_CHAT, 403, "you were removed from this chat")                       \
	X(USER_BLOCKED, 403, "this user does not accept messages or invitations from you")  \
	X(MESSAGE_EDIT_FORBIDDEN, 403, "only the sender can edit a message")                 \
	X(MESSAGE_DELETE_FORBIDDEN, 403, "you cannot delete this message for everyone")     \
	X(METHOD_NOT_FOUND, 404, "no such API method")                                       \
	X(NOT_FOUND, 404, "no such resource")                                                \
	X(HTTP_METHOD_INVALID, 405, "API methods are called with POST (or GET)")             \
	X(REQUEST_TIMEOUT, 408, "the request did not arrive in time")                        \
	X(REQUEST_TOO_LARGE, 413, "the request body is larger than the limit")               \
	X(CONTENT_TYPE_INVALID, 415, "send the parameters as application/json")              \
	X(HEADERS_TOO_LARGE, 431, "the request headers are larger than the limit")           \
	X(FLOOD_WAIT, 429, "too many requests")                                              \
	X(INTERNAL, 500, "internal server error")                                            \
	X(SERVER_BUSY, 503, "the server is overloaded; retry shortly") \
	X(ACCOUNT_SUSPENDED, 403, "this account is suspended")                              \
	X(CHAT_BANNED, 403, "this chat was banned by the platform's moderators")            \
	X(ROLE_REQUIRED, 403, "this needs a platform moderator role")                       \
	X(CATEGORY_INVALID, 400, "unknown category (see docs/policy.md)")                   \
	X(TARGET_INVALID, 400, "name a message (chat_id + message_ids), a chat or a user")  \
	X(NOTIFIER_REQUIRED, 400, "name and email are required (except for child sexual abuse material)") \
	X(GOOD_FAITH_REQUIRED, 400, "a notice needs the good-faith statement (good_faith true)") \
	X(FLAGGER_KEY_INVALID, 401, "unknown or revoked trusted-flagger key")               \
	X(NOTICE_NOT_FOUND, 404, "no notice with this reference")                           \
	X(CASE_NOT_FOUND, 400, "no such case")                                              \
	X(CASE_DECIDED, 400, "this case was already decided")                               \
	X(ACTION_INVALID, 400, "this action does not apply to this case's target")          \
	X(GROUND_INVALID, 400, "ground is illegal (with a legal provision) or terms (with a terms clause)") \
	X(TERRITORY_INVALID, 400, "territories are ISO 3166-1 alpha-2 codes")               \
	X(WARNING_REQUIRED, 400, "suspension needs an earlier warning or manifestly illegal content (DSA Art. 23)") \
	X(STATEMENT_NOT_FOUND, 400, "no such statement of reasons, or it is not yours")     \
	X(APPEAL_FORBIDDEN, 403, "only the affected user, or a notifier whose notice was dismissed, may appeal") \
	X(APPEAL_EXPIRED, 400, "the 6-month appeal period is over")                         \
	X(APPEAL_EXISTS, 400, "this decision already has an open appeal")                  \
	X(APPEAL_NOT_FOUND, 400, "no such appeal")                                          \
	X(APPEAL_DECIDED, 400, "this appeal was already decided")                           \
	X(APPEAL_SAME_MODERATOR, 403, "an appeal is decided by a moderator other than the one who decided the case") \
	X(ROLE_INVALID, 400, "role is moderator, senior_moderator or admin") \
	X(FILE_TOO_BIG, 413, "the file is larger than the limit")                          \
	X(FILE_EMPTY, 400, "the file is empty")                                            \
	X(FILE_TYPE_INVALID, 400, "this kind of file is not accepted here (the type is told from its bytes)") \
	X(PHOTO_INVALID, 400, "the photo cannot be decoded: corrupt, truncated, or not JPEG, PNG or WebP") \
	X(PHOTO_INVALID_DIMENSIONS, 400, "the photo has more pixels than the limit")      \
	X(FILE_ID_INVALID, 400, "no such file")                                            \
	X(FILE_FORBIDDEN, 403, "you cannot see this file: it is in no chat of yours")      \
	X(FILE_REFUSED, 403, "the file was refused by the platform's content checks")      \
	X(MEDIA_CAPTION_TOO_LONG, 400, "captions are at most 1024 characters")             \
	X(UPLOADS_TOO_MANY, 429, "too many uploads at once; wait for one to finish")       \
	X(RANGE_NOT_SATISFIABLE, 416, "the requested range is not in the file")

enum pl_code {
#define PL_CODE_ENUM(name, status, msg) PLC_##name,
	PL_CODES(PL_CODE_ENUM)
#undef PL_CODE_ENUM
	PLC__COUNT
};

/* Static name ("MESSAGE_TOO_LONG"), HTTP status and default message of code. */
const char *pl_code_name(int code);
int pl_code_status(int code);
const char *pl_code_message(int code);

#endif
