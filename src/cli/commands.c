/*
 * commands.c — the `parley` command table.  One row per subcommand: its
 * name, the API method it calls, its arguments (positionals and options,
 * each naming the JSON parameter it sets), and the printer of its result.
 * Parsing (args.c), dispatch (main.c) and help (here) all read this table, so
 * adding a command is adding a row.  Every API_PUBLIC/API_USER method of the
 * server's table (src/api/methods.c) has a row; `call` reaches any method.
 */
#include <string.h>

#include "cli/cli.h"

/* Reusable argument rows. */
#define A_CHAT {"CHAT", "chat_id", CA_CHAT, 1, NULL, "user id, -chat id or @username"}
#define A_MSG {"MESSAGE_ID", "message_id", CA_INT, 1, NULL, "message id within the chat"}
#define A_USER_ID {"USER_ID", "user_id", CA_INT, 1, NULL, "user id"}
#define A_LIMIT {"--limit N", "limit", CA_INT, 0, NULL, "page size, 1-100 (default 50)"}
#define A_FOR_ME {"--for-me", "revoke", CA_FALSE, 0, NULL, "delete only for yourself, not for everyone"}
#define A_DEVICE {"--device NAME", "device", CA_STR, 0, NULL, "label of this session (default: parley CLI)"}
#define A_PASSWORD {"(password)", "password", CA_PASSWORD, 1, NULL, "asked on the terminal, or one line of stdin"}
#define A_CAPTION {"--caption TEXT", "caption", CA_STR, 0, NULL, "0-1024 characters"}
#define A_REPLY {"--reply MESSAGE_ID", "reply_to_message_id", CA_INT, 0, NULL, "the message this one answers"}
#define NOARGS {{0}}

const struct cli_cmd cli_cmds[] = {
	/* --- accounts ------------------------------------------------------ */
	{"register", "register", CF_SAVE_TOKEN | CF_DEVICE | CF_CONFIRM, cli_print_auth, NULL,
	 "Create an account and log in (asks for the password)",
	 {{"USERNAME", "username", CA_STR, 1, NULL, "5-32 characters of a-z, 0-9 and _"},
	  {"--name NAME", "display_name", CA_STR, 0, NULL, "shown name (default: the username)"},
	  A_DEVICE, A_PASSWORD}},
	{"login", "login", CF_SAVE_TOKEN | CF_DEVICE, cli_print_auth, NULL,
	 "Log in and remember the session (asks for the password)",
	 {{"USERNAME", "username", CA_STR, 1, NULL, "your username"}, A_DEVICE, A_PASSWORD}},
	{"logout", "logOut", CF_CLEAR_TOKEN, cli_print_ok, NULL, "End this session and forget its token", NOARGS},
	{"me", "getMe", 0, cli_print_user, NULL, "Show your account", NOARGS},
	{"sessions", "getSessions", 0, cli_print_sessions, NULL, "List your sessions (devices)", NOARGS},
	{"revoke-session", "revokeSession", 0, cli_print_ok, NULL, "End one of your sessions",
	 {{"SESSION_ID", "session_id", CA_INT, 1, NULL, "id from `parley sessions`"}}},
	{"update-profile", "updateProfile", 0, cli_print_user, NULL, "Change your display name and/or bio",
	 {{"--name NAME", "display_name", CA_STR, 0, NULL, "new display name, 1-64 characters"},
	  {"--bio TEXT", "bio", CA_STR, 0, NULL, "new bio, 0-255 characters"}}},
	{"user", "getUser", 0, cli_print_user, NULL, "Look a user up by id or @username",
	 {{"USER", "user_id", CA_USER, 1, NULL, "user id or @username"}}},
	{"block", "blockUser", 0, cli_print_ok, NULL, "Block a user", {A_USER_ID}},
	{"unblock", "unblockUser", 0, cli_print_ok, NULL, "Unblock a user", {A_USER_ID}},
	{"blocked", "getBlockedUsers", 0, cli_print_users, NULL, "List the users you blocked", NOARGS},

	/* --- chats ----------------------------------------------------------- */
	{"create-group", "createGroup", 0, cli_print_chat, NULL, "Create a group with initial members",
	 {{"TITLE", "title", CA_STR, 1, NULL, "1-64 characters"},
	  {"USER_ID...", "user_ids", CA_INTS, 0, NULL, "initial members"},
	  {"--description TEXT", "description", CA_STR, 0, NULL, "0-255 characters"}}},
	{"create-channel", "createChannel", 0, cli_print_chat, NULL, "Create a channel (public with --username)",
	 {{"TITLE", "title", CA_STR, 1, NULL, "1-64 characters"},
	  {"--username NAME", "username", CA_STR, 0, NULL, "public @username"},
	  {"--description TEXT", "description", CA_STR, 0, NULL, "0-255 characters"}}},
	{"chat", "getChat", 0, cli_print_chat, NULL, "Show a chat's details", {A_CHAT}},
	{"member", "getChatMember", 0, cli_print_member, NULL, "Show one member's status in a chat",
	 {A_CHAT, A_USER_ID}},
	{"member-count", "getChatMemberCount", 0, cli_print_value, NULL, "Count a chat's members", {A_CHAT}},
	{"admins", "getChatAdministrators", 0, cli_print_members, NULL, "List a chat's creator and admins", {A_CHAT}},
	{"members", "getChatMembers", 0, cli_print_members, NULL, "List a chat's members by user id",
	 {A_CHAT, {"--after USER_ID", "offset_user_id", CA_INT, 0, NULL, "list members with a greater user id"},
	  A_LIMIT}},
	{"add-members", "addChatMembers", 0, cli_print_ok, NULL, "Add users to a group or channel",
	 {A_CHAT, {"USER_ID...", "user_ids", CA_INTS, 1, NULL, "users to add, 1-200"}}},
	{"ban", "banChatMember", 0, cli_print_ok, NULL, "Remove a member; they cannot rejoin until unbanned",
	 {A_CHAT, A_USER_ID}},
	{"unban", "unbanChatMember", 0, cli_print_ok, NULL, "Let a removed user join again", {A_CHAT, A_USER_ID}},
	{"promote", "promoteChatMember", 0, cli_print_ok, "{\"is_admin\":true}", "Make a member an administrator",
	 {A_CHAT, A_USER_ID}},
	{"demote", "promoteChatMember", 0, cli_print_ok, "{\"is_admin\":false}", "Make an administrator a plain member",
	 {A_CHAT, A_USER_ID}},
	{"set-title", "setChatTitle", 0, cli_print_ok, NULL, "Rename a group or channel",
	 {A_CHAT, {"TITLE...", "title", CA_TEXT, 1, NULL, "1-64 characters"}}},
	{"set-description", "setChatDescription", 0, cli_print_ok, NULL, "Change a chat's description",
	 {A_CHAT, {"TEXT...", "description", CA_TEXT, 1, NULL, "0-255 characters (\"\" clears)"}}},
	{"set-permissions", "setChatPermissions", 0, cli_print_ok, NULL, "Set what plain members of a group may do",
	 {A_CHAT, {"PERMISSIONS", "permissions", CA_JSON, 1, NULL,
		   "JSON, e.g. '{\"can_send_messages\":false}'; omitted fields keep their value"}}},
	{"set-username", "setChatUsername", 0, cli_print_ok, NULL, "Make a chat public as @NAME (\"\": private)",
	 {A_CHAT, {"NAME", "username", CA_STR, 1, NULL, "new username, or \"\""}}},
	{"leave", "leaveChat", 0, cli_print_ok, NULL, "Leave a group or channel", {A_CHAT}},
	{"join", "joinChat", 0, cli_print_chat, NULL, "Join by invite link, or a public chat by @name or id",
	 {{"LINK", "invite_link", CA_JOIN, 1, NULL, "invite link or code, @name or chat id"}}},
	{"invite-link", "createChatInviteLink", 0, cli_print_link, NULL, "Create an extra invite link",
	 {A_CHAT, {"--name NAME", "name", CA_STR, 0, NULL, "label, 0-64 characters"},
	  {"--expire SECONDS", "expire_date", CA_SECONDS, 0, NULL, "stop working this many seconds from now"},
	  {"--limit N", "member_limit", CA_INT, 0, NULL, "joins allowed, 1-99999"}}},
	{"export-link", "exportChatInviteLink", 0, cli_print_value, NULL,
	 "Create a new primary invite link (revokes the old one)", {A_CHAT}},
	{"revoke-link", "revokeChatInviteLink", 0, cli_print_link, NULL, "Revoke an invite link",
	 {A_CHAT, {"LINK", "invite_link", CA_STR, 1, NULL, "the link or its code"}}},
	{"links", "getChatInviteLinks", 0, cli_print_links, NULL, "List a chat's invite links", {A_CHAT}},

	/* --- messages ---------------------------------------------------------- */
	{"send", "sendMessage", 0, cli_print_message, NULL, "Send a text message",
	 {A_CHAT, {"TEXT...", "text", CA_TEXT, 1, NULL, "1-4096 characters"},
	  {"--reply MESSAGE_ID", "reply_to_message_id", CA_INT, 0, NULL, "the message this one answers"}}},
	{"forward", "forwardMessage", 0, cli_print_message, NULL, "Forward a message to CHAT",
	 {A_CHAT, {"FROM_CHAT", "from_chat_id", CA_CHAT, 1, NULL, "chat the message is in"}, A_MSG}},
	{"edit", "editMessageText", 0, cli_print_message, NULL, "Change the text of your message",
	 {A_CHAT, A_MSG, {"TEXT...", "text", CA_TEXT, 1, NULL, "1-4096 characters"}}},
	{"delete", "deleteMessage", 0, cli_print_ok, NULL, "Delete a message (for everyone unless --for-me)",
	 {A_CHAT, A_MSG, A_FOR_ME}},
	{"delete-many", "deleteMessages", 0, cli_print_ok, NULL, "Delete up to 100 messages, all or none",
	 {A_CHAT, {"MESSAGE_ID...", "message_ids", CA_INTS, 1, NULL, "1-100 message ids"}, A_FOR_ME}},
	{"pin", "pinChatMessage", 0, cli_print_ok, NULL, "Pin a message", {A_CHAT, A_MSG}},
	{"unpin", "unpinChatMessage", 0, cli_print_ok, NULL, "Unpin the pinned message",
	 {A_CHAT, {"MESSAGE_ID", "message_id", CA_INT, 0, NULL, "only unpin if this one is pinned"}}},
	{"read", "readHistory", 0, cli_print_kv, NULL, "Mark a chat read (up to --max-id)",
	 {A_CHAT, {"--max-id MESSAGE_ID", "max_id", CA_INT, 0, NULL, "last read message (default: all)"}}},
	{"history", "getHistory", 0, cli_print_messages, NULL, "Show a chat's messages",
	 {A_CHAT, A_LIMIT,
	  {"--before MESSAGE_ID", "offset_id", CA_INT, 0, "{\"direction\":\"older\"}", "messages older than this one"},
	  {"--after MESSAGE_ID", "offset_id", CA_INT, 0, "{\"direction\":\"newer\"}", "messages newer than this one"}}},
	{"dialogs", "getDialogs", 0, cli_print_dialogs, NULL, "List your chats with unread counts",
	 {A_LIMIT, {"--offset-date DATE", "offset_date", CA_INT, 0, NULL, "paging: the last dialog's date"},
	  {"--offset-chat CHAT_ID", "offset_chat_id", CA_INT, 0, NULL, "paging: the last dialog's chat id"}}},
	{"search", "searchMessages", 0, cli_print_search, NULL, "Search messages (all words must match)",
	 {{"QUERY...", "query", CA_TEXT, 1, NULL, "words to find"},
	  {"--chat CHAT", "chat_id", CA_CHAT, 0, NULL, "search only this chat"}, A_LIMIT}},
	{"view", "viewMessages", 0, cli_print_value, NULL, "Count yourself as a viewer of channel posts",
	 {A_CHAT, {"MESSAGE_ID...", "message_ids", CA_INTS, 1, NULL, "1-100 message ids"}}},

	/* --- files (uploads stream from the disk; docs/media.md) --------------- */
	{"send-photo", "sendPhoto", CF_UPLOAD, cli_print_message, NULL,
	 "Send a photo (JPEG, PNG or WebP; the server keeps no metadata of it)",
	 {A_CHAT, {"FILE", "photo", CA_FILE, 1, NULL, "the picture"}, A_CAPTION, A_REPLY}},
	{"send-file", "sendDocument", CF_UPLOAD, cli_print_message, NULL, "Send a file of any type, kept byte for byte",
	 {A_CHAT, {"FILE", "document", CA_FILE, 1, NULL, "the file"}, A_CAPTION, A_REPLY}},
	{"send-voice", "sendVoice", CF_UPLOAD, cli_print_message, NULL, "Send a voice note (an audio file)",
	 {A_CHAT, {"FILE", "voice", CA_FILE, 1, NULL, "the audio file"}, A_CAPTION, A_REPLY,
	  {"--duration SECONDS", "duration", CA_INT, 0, NULL, "its length"}}},
	{"send-video", "sendVideo", CF_UPLOAD, cli_print_message, NULL, "Send a video (kept as it is)",
	 {A_CHAT, {"FILE", "video", CA_FILE, 1, NULL, "the video file"}, A_CAPTION, A_REPLY,
	  {"--duration SECONDS", "duration", CA_INT, 0, NULL, "its length"}}},
	{"download", "getFile", CF_DOWNLOAD, cli_print_kv, NULL,
	 "Download a file by its file_id (an interrupted download is resumed)",
	 {{"FILE_ID", "file_id", CA_STR, 1, NULL, "from a message's photo, document, voice or video"},
	  {"-o PATH", "output", CA_STR, 0, NULL, "where to write it (default: the name of its file_path, here)"}}},

	/* --- live updates ------------------------------------------------------ */
	{"listen", NULL, CF_LISTEN, cli_print_ok, NULL,
	 "Print every update and event as one JSON line, live, until Ctrl-C",
	 {{"--state FILE", "state", CA_STR, 0, NULL,
	   "where the sync state is kept (default: the config file's path + " CLI_LISTEN_STATE_SUFFIX ")"},
	  {"--since-now", "since_now", CA_TRUE, 0, NULL, "start at the server's current state, not the saved one"}}},

	/* --- anything else ----------------------------------------------------- */
	{"call", NULL, 0, cli_print_json, NULL, "Call any API method with JSON parameters",
	 {{"METHOD", NULL, CA_METHOD, 1, NULL, "API method name, e.g. getMe"},
	  {"PARAMS", NULL, CA_OBJECT, 0, NULL, "JSON object (default {})"}}},
	{"health", NULL, CF_HEALTH, cli_print_ok, NULL, "Check that the server is serving (GET /healthz)", NOARGS},
};

const size_t cli_cmds_count = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

/* Does name equal the kebab-case of method ("getChatMember" ->
 * "get-chat-member")? */
static int cli_kebab_eq(const char *name, const char *method)
{
	for (; *method; method++) {
		if (*method >= 'A' && *method <= 'Z') {
			if (*name++ != '-')
				return 0;
			if (*name++ != *method - 'A' + 'a')
				return 0;
		} else if (*name++ != *method) {
			return 0;
		}
	}
	return *name == '\0';
}

const struct cli_cmd *cli_cmd_find(const char *name)
{
	for (size_t i = 0; i < cli_cmds_count; i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	for (size_t i = 0; i < cli_cmds_count; i++) {
		const char *m = cli_cmds[i].method;

		if (m && !cli_cmds[i].fixed && (strcmp(m, name) == 0 || cli_kebab_eq(name, m)))
			return &cli_cmds[i];
	}
	return NULL;
}

/* --- help -------------------------------------------------------------- */

static int cli_is_option(const struct cli_arg *a)
{
	return a->name[0] == '-';
}

/* "send CHAT TEXT... [--reply MESSAGE_ID]" */
static void cli_usage_line(FILE *out, const struct cli_cmd *cmd)
{
	fprintf(out, "%s", cmd->name);
	for (const struct cli_arg *a = cmd->args; a < cmd->args + CLI_ARGS_MAX && a->name; a++) {
		if (a->type == CA_PASSWORD)
			continue;
		if (a->required && !cli_is_option(a))
			fprintf(out, " %s", a->name);
		else
			fprintf(out, " [%s]", a->name);
	}
}

void cli_help_all(FILE *out)
{
	fprintf(out,
		"usage: parley [--server URL] [--json] [--config FILE] [--timeout SECONDS] <command> [args]\n"
		"\n"
		"Options:\n"
		"  --server URL       server to talk to (remembered; default " PARLEY_DEFAULT_SERVER ")\n"
		"  --json             print the raw result as JSON\n"
		"  --config FILE      config file (default $PARLEY_CONFIG, $XDG_CONFIG_HOME/parley/config\n"
		"                     or ~/.config/parley/config)\n"
		"  --timeout SECONDS  give up on a request after this long (default 30)\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < cli_cmds_count; i++)
		fprintf(out, "  %-16s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	fprintf(out, "\nCHAT is a user id (private chat), a -negative id (group or channel) or @username.\n"
		     "`parley help COMMAND` shows a command's arguments.  Exit status: 0 ok, 1 error, 2 usage.\n");
}

int cli_help_cmd(FILE *out, const char *name)
{
	const struct cli_cmd *cmd = cli_cmd_find(name);

	if (!cmd)
		return -1;
	fprintf(out, "usage: parley ");
	cli_usage_line(out, cmd);
	fprintf(out, "\n\n%s.\n", cmd->summary);
	if (cmd->method)
		fprintf(out, "API method: %s\n", cmd->method);
	if (cmd->args[0].name)
		fprintf(out, "\n");
	for (const struct cli_arg *a = cmd->args; a < cmd->args + CLI_ARGS_MAX && a->name; a++)
		fprintf(out, "  %-22s %s\n", a->name, a->help);
	return 0;
}
