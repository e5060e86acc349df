/*
 * print.c — the readable output of `parley` (without --json): messages as
 * "[#12 2026-11-29 10:04] alice: hello", dialogs and sessions as tables,
 * other objects as "key: value" lines.  Times are shown in local time.
 * Printers take what the server sent and never fail on a missing field:
 * they print what is there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

#define PRINT_TIME_MAX 32      /* bytes of a formatted time */
#define PRINT_NAME_MAX 160     /* bytes of a name built for display */
#define PRINT_LAST_WIDTH 48    /* characters of a dialog's last message */

static const char *print_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t print_int(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

static void print_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "-");
}

/* A user's or chat's shown name: display name/title, else @username. */
static const char *print_name(json_t *o)
{
	const char *s = print_str(o, "title");

	if (!s || !*s)
		s = print_str(o, "first_name");
	if (!s || !*s)
		s = print_str(o, "username");
	return s && *s ? s : "?";
}

/* Prints at most width characters of s on one line (control characters as
 * spaces, "..." when cut), then pads to width if pad. */
static void print_cell(FILE *out, const char *s, size_t width, int pad)
{
	size_t chars = 0, total = 0;
	const char *p;

	for (p = s; *p; p++)
		total += ((unsigned char)*p & 0xC0) != 0x80;
	for (p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch & 0xC0) != 0x80) {
			if (total > width && chars + 3 >= width)
				break;
			chars++;
		}
		fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, out);
	}
	if (total > width)
		for (; chars < width; chars++)
			fputc('.', out);
	while (pad && chars++ < width)
		fputc(' ', out);
}

static void print_scalar(FILE *out, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		fputs(json_string_value(v), out);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	fputs(s ? s : "?", out);
	free(s);
}

static int print_is_time_key(const char *key)
{
	size_t n = strlen(key);

	return strcmp(key, "date") == 0 || strcmp(key, "last_seen") == 0 ||
	       (n > 5 && strcmp(key + n - 5, "_date") == 0) || (n > 3 && strcmp(key + n - 3, "_at") == 0);
}

/* "key: value" lines for every field of o not in skip (NULL-terminated). */
static void print_fields(FILE *out, json_t *o, const char *const *skip)
{
	char when[PRINT_TIME_MAX];

	for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		int skipped = 0;

		for (const char *const *s = skip; s && *s && !skipped; s++)
			skipped = strcmp(*s, key) == 0;
		if (skipped)
			continue;
		fprintf(out, "%s: ", key);
		if (json_is_integer(v) && print_is_time_key(key)) {
			print_time(json_integer_value(v), when, sizeof(when));
			fputs(when, out);
		} else {
			print_scalar(out, v);
		}
		fputc('\n', out);
	}
}

void cli_print_ok(FILE *out, json_t *r)
{
	fprintf(out, "ok\n");
}

void cli_print_json(FILE *out, json_t *r)
{
	json_dumpf(r, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', out);
}

void cli_print_kv(FILE *out, json_t *r)
{
	if (json_is_object(r))
		print_fields(out, r, NULL);
	else
		cli_print_value(out, r);
}

void cli_print_value(FILE *out, json_t *r)
{
	size_t i;
	json_t *v;

	if (json_is_object(r)) {
		print_fields(out, r, NULL);
		return;
	}
	if (json_is_array(r)) {
		for (i = 0; i < json_array_size(r) && (v = json_array_get(r, i)); i++) {
			print_scalar(out, v);
			fputc('\n', out);
		}
		return;
	}
	print_scalar(out, r);
	fputc('\n', out);
}

/* "alice (@alice), id 5" */
static void print_user_line(FILE *out, json_t *u)
{
	const char *username = print_str(u, "username");

	fprintf(out, "%s", print_name(u));
	if (username && *username)
		fprintf(out, " (@%s)", username);
	fprintf(out, ", id %lld%s", (long long)print_int(u, "id"), json_is_true(json_object_get(u, "is_bot")) ? ", bot" : "");
}

void cli_print_user(FILE *out, json_t *r)
{
	const char *bio = print_str(r, "bio");

	print_user_line(out, r);
	fputc('\n', out);
	if (bio && *bio)
		fprintf(out, "bio: %s\n", bio);
}

void cli_print_users(FILE *out, json_t *r)
{
	size_t i;
	json_t *u;

	for (i = 0; i < json_array_size(r) && (u = json_array_get(r, i)); i++) {
		print_user_line(out, u);
		fputc('\n', out);
	}
	if (json_array_size(r) == 0)
		fprintf(out, "(none)\n");
}

void cli_print_auth(FILE *out, json_t *r)
{
	fprintf(out, "Logged in as ");
	print_user_line(out, json_object_get(r, "user"));
	fprintf(out, "; session %lld.\n", (long long)print_int(r, "session_id"));
}

void cli_print_sessions(FILE *out, json_t *r)
{
	char created[PRINT_TIME_MAX], seen[PRINT_TIME_MAX];
	size_t i;
	json_t *s;

	fprintf(out, "%-10s %-24s %-16s  %-16s  %s\n", "ID", "DEVICE", "CREATED", "LAST SEEN", "IP");
	for (i = 0; i < json_array_size(r) && (s = json_array_get(r, i)); i++) {
		const char *device = print_str(s, "device"), *ip = print_str(s, "ip");

		print_time(print_int(s, "created_at"), created, sizeof(created));
		print_time(print_int(s, "last_seen"), seen, sizeof(seen));
		fprintf(out, "%-8lld%s ", (long long)print_int(s, "id"),
			json_is_true(json_object_get(s, "current")) ? " *" : "  ");
		print_cell(out, device && *device ? device : "-", 24, 1);
		fprintf(out, " %-16s  %-16s  %s\n", created, seen, ip ? ip : "-");
	}
}

void cli_print_chat(FILE *out, json_t *r)
{
	static const char *const skip[] = {"id", "type", "title", "username", "first_name", NULL};
	const char *type = print_str(r, "type"), *username = print_str(r, "username");

	fprintf(out, "%s (%s, id %lld)", print_name(r), type ? type : "chat", (long long)print_int(r, "id"));
	if (username && *username)
		fprintf(out, " @%s", username);
	fputc('\n', out);
	print_fields(out, r, skip);
}

void cli_print_member(FILE *out, json_t *r)
{
	const char *status = print_str(r, "status");

	print_user_line(out, json_object_get(r, "user"));
	fprintf(out, ": %s\n", status ? status : "?");
}

void cli_print_members(FILE *out, json_t *r)
{
	size_t i;
	json_t *m;

	for (i = 0; i < json_array_size(r) && (m = json_array_get(r, i)); i++)
		cli_print_member(out, m);
	if (json_array_size(r) == 0)
		fprintf(out, "(none)\n");
}

void cli_print_link(FILE *out, json_t *r)
{
	const char *link = print_str(r, "invite_link"), *name = print_str(r, "name");
	char when[PRINT_TIME_MAX];

	fprintf(out, "%s", link ? link : "?");
	if (json_is_true(json_object_get(r, "is_primary")))
		fprintf(out, "  primary");
	if (json_is_true(json_object_get(r, "is_revoked")))
		fprintf(out, "  revoked");
	fprintf(out, "  uses %lld", (long long)print_int(r, "usage"));
	if (print_int(r, "member_limit") > 0)
		fprintf(out, "/%lld", (long long)print_int(r, "member_limit"));
	if (print_int(r, "expire_date") > 0) {
		print_time(print_int(r, "expire_date"), when, sizeof(when));
		fprintf(out, "  expires %s", when);
	}
	if (name && *name)
		fprintf(out, "  \"%s\"", name);
	fputc('\n', out);
}

void cli_print_links(FILE *out, json_t *r)
{
	size_t i;
	json_t *l;

	for (i = 0; i < json_array_size(r) && (l = json_array_get(r, i)); i++)
		cli_print_link(out, l);
	if (json_array_size(r) == 0)
		fprintf(out, "(none)\n");
}

/* The sender shown for a message: its user, else the posting channel. */
static const char *print_sender(json_t *m)
{
	json_t *from = json_object_get(m, "from");

	if (!from)
		from = json_object_get(m, "sender_chat");
	if (!from)
		from = json_object_get(m, "chat");
	return print_name(from);
}

/* Who a forwarded message first came from. */
static const char *print_origin(json_t *origin)
{
	json_t *who = json_object_get(origin, "sender_user");

	if (!who)
		who = json_object_get(origin, "chat");
	return print_name(who);
}

/* Names of the users in array a, comma-separated. */
static void print_user_names(FILE *out, json_t *a)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		fprintf(out, "%s%s", i ? ", " : "", print_name(json_array_get(a, i)));
}

/* Service messages (Bot API fields, no text): "* alice created the group".
 * Returns 0 if m is not one. */
static int print_service(FILE *out, json_t *m, const char *sender)
{
	json_t *v, *left = json_object_get(m, "left_chat_member");

	if (json_is_true(json_object_get(m, "group_chat_created")))
		fprintf(out, "* %s created the group", sender);
	else if (json_is_true(json_object_get(m, "channel_chat_created")))
		fprintf(out, "* %s created the channel", sender);
	else if ((v = json_object_get(m, "new_chat_members")) && json_is_true(json_object_get(m, "joined_by_self")))
		fprintf(out, "* %s joined", sender);
	else if (v) {
		fprintf(out, "* %s added ", sender);
		print_user_names(out, v);
	} else if (left && print_int(left, "id") == print_int(json_object_get(m, "from"), "id"))
		fprintf(out, "* %s left", sender);
	else if (left)
		fprintf(out, "* %s removed %s", sender, print_name(left));
	else if ((v = json_object_get(m, "new_chat_title")))
		fprintf(out, "* %s renamed the chat to \"%s\"", sender, json_string_value(v) ? json_string_value(v) : "");
	else if ((v = json_object_get(m, "pinned_message")))
		fprintf(out, "* %s pinned #%lld", sender, (long long)print_int(v, "message_id"));
	else
		return 0;
	return 1;
}

/* "[photo 1280x960 <file_id>] " for a message with files (the largest
 * size of a photo): the file_id is what `parley download` takes. */
static int print_media(FILE *out, json_t *m)
{
	static const char *const kinds[] = {"document", "voice", "video"};
	json_t *ph = json_object_get(m, "photo"), *f;

	if (json_is_array(ph) && json_array_size(ph) > 0) {
		f = json_array_get(ph, json_array_size(ph) - 1);
		fprintf(out, "[photo %lldx%lld %s] ", (long long)print_int(f, "width"), (long long)print_int(f, "height"),
			print_str(f, "file_id") ? print_str(f, "file_id") : "?");
		return 1;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((f = json_object_get(m, kinds[i])) != NULL) {
			fprintf(out, "[%s %s%s%lld bytes %s] ", kinds[i], print_str(f, "file_name") ? print_str(f, "file_name") : "",
				print_str(f, "file_name") ? ", " : "", (long long)print_int(f, "file_size"),
				print_str(f, "file_id") ? print_str(f, "file_id") : "?");
			return 1;
		}
	return 0;
}

void cli_print_message(FILE *out, json_t *m)
{
	char when[PRINT_TIME_MAX];
	json_t *reply = json_object_get(m, "reply_to_message"), *origin = json_object_get(m, "forward_origin");
	const char *text = print_str(m, "text"), *sender = print_sender(m);
	int media = json_object_get(m, "photo") || json_object_get(m, "document") || json_object_get(m, "voice") ||
		    json_object_get(m, "video");

	print_time(print_int(m, "date"), when, sizeof(when));
	fprintf(out, "[#%lld %s] ", (long long)print_int(m, "message_id"), when);
	if (!text && !media && print_service(out, m, sender)) {
		fputc('\n', out);
		return;
	}
	fputs(sender, out);
	if (reply)
		fprintf(out, " (reply to #%lld)", (long long)print_int(reply, "message_id"));
	fprintf(out, ": ");
	if (origin)
		fprintf(out, "[forwarded from %s] ", print_origin(origin));
	if (media && print_media(out, m))
		text = print_str(m, "caption");
	fputs(text ? text : "", out);
	if (json_object_get(m, "edit_date"))
		fprintf(out, " (edited)");
	if (json_is_integer(json_object_get(m, "views")))
		fprintf(out, " (%lld views)", (long long)print_int(m, "views"));
	fputc('\n', out);
}

/* Oldest first, whichever way the page came. */
void cli_print_messages(FILE *out, json_t *r)
{
	size_t n = json_array_size(r);
	int reverse = n > 1 && print_int(json_array_get(r, 0), "message_id") >
				       print_int(json_array_get(r, n - 1), "message_id");

	for (size_t i = 0; i < n; i++)
		cli_print_message(out, json_array_get(r, reverse ? n - 1 - i : i));
	if (n == 0)
		fprintf(out, "(no messages)\n");
}

/* Search results span chats: each line says which. */
void cli_print_search(FILE *out, json_t *r)
{
	size_t i;
	json_t *m;

	for (i = 0; i < json_array_size(r) && (m = json_array_get(r, i)); i++) {
		json_t *chat = json_object_get(m, "chat");

		fprintf(out, "%s (%lld) ", print_name(chat), (long long)print_int(chat, "id"));
		cli_print_message(out, m);
	}
	if (json_array_size(r) == 0)
		fprintf(out, "(no messages)\n");
}

/* "sender: text" of a dialog's last message, cut to width. */
static void print_last(FILE *out, json_t *m)
{
	char line[PRINT_NAME_MAX + 64];
	const char *text = print_str(m, "text"), *sender = print_sender(m);

	if (!m) {
		fputc('-', out);
		return;
	}
	if (!text && (json_object_get(m, "photo") || json_object_get(m, "document") || json_object_get(m, "voice") ||
		      json_object_get(m, "video")))
		text = json_object_get(m, "photo") ? "[photo]" : "[file]";
	if (!text && print_service(out, m, sender))
		return;
	snprintf(line, sizeof(line), "%.*s: ", PRINT_NAME_MAX / 2, sender);
	fputs(line, out);
	print_cell(out, text ? text : "", PRINT_LAST_WIDTH, 0);
}

void cli_print_dialogs(FILE *out, json_t *r)
{
	size_t i;
	json_t *d;

	fprintf(out, "%-16s %-8s %6s  %-24s %s\n", "CHAT", "TYPE", "UNREAD", "NAME", "LAST MESSAGE");
	for (i = 0; i < json_array_size(r) && (d = json_array_get(r, i)); i++) {
		json_t *chat = json_object_get(d, "chat");
		const char *type = print_str(chat, "type");

		fprintf(out, "%-16lld %-8s %6lld  ", (long long)print_int(chat, "id"), type ? type : "?",
			(long long)print_int(d, "unread_count"));
		print_cell(out, print_name(chat), 24, 1);
		fputc(' ', out);
		print_last(out, json_object_get(d, "last_message"));
		fputc('\n', out);
	}
	if (json_array_size(r) == 0)
		fprintf(out, "(no chats)\n");
}
