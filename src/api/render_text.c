/*
 * render_text.c — the Bot API's Message as JSON text (render.h), for pages
 * of messages (getHistory, searchMessages).  A page rendered as a jansson
 * tree spent more time building, serialising and freeing the tree than
 * reading the rows; this writes the text directly.
 *
 * It must give exactly the bytes json_dumps(render_message(...),
 * JSON_COMPACT) gives (keys in the same order, strings escaped as jansson
 * escapes them), and it does so only for the common message; anything it
 * does not cover — service messages, files, forwards, a banned chat,
 * content withheld from the viewer, a text that is not valid UTF-8 — goes
 * through render_message, the one definition of the shape.
 * tests/unit/test_render.c checks both ways agree.
 */
#include <stdio.h>
#include <string.h>

#include "api/render.h"
#include "util/utf8.h"

static const char *const chat_types[] = {"", "private", "group", "channel"};

/* A JSON string as jansson writes it (no flags): '"', '\\' and control
 * characters escaped, everything else (UTF-8 included) as it is. */
static void text_str(struct textbuf *b, const char *s)
{
	const char *run = s;
	char esc[8];

	textbuf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *e;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		textbuf_add(b, run, (size_t)(s - run));
		switch (ch) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(esc, sizeof esc, "\\u%04X", ch);
			e = esc;
		}
		textbuf_puts(b, e);
		run = s + 1;
	}
	textbuf_add(b, run, (size_t)(s - run));
	textbuf_add(b, "\"", 1);
}

/* ,"key":"value" */
static void text_key_str(struct textbuf *b, const char *key, const char *value)
{
	textbuf_addf(b, ",\"%s\":", key);
	text_str(b, value);
}

static int utf8_ok(const char *s)
{
	return utf8_count(s, strlen(s)) >= 0;
}

static int count_files(void *ctx, const struct store_file *f)
{
	return 1;
}

/* Can the message be written here?  Checks what render_message would do
 * differently, without writing anything. */
static int text_covers(struct core_tx *tx, const struct store_chat *c, const struct store_message *m)
{
	struct store_restriction r = {0};

	if (m->service || m->fwd_date || (m->text && !utf8_ok(m->text)))
		return 0;
	if (c->type != STORE_CHAT_PRIVATE &&
	    (c->ban_statement || !utf8_ok(c->title) || (tx->viewer && core_mod_withheld(tx, c->id, 0, &r) == 1)))
		return 0;
	if (tx->viewer && core_mod_withheld(tx, c->id, m->id, &r) == 1)
		return 0;
	return store_media_list(tx->s, m->chat_id, m->id, count_files, NULL) == 0; /* no files, no error */
}

/* render_chat for a chat text_covers accepted. */
static void text_chat(struct core_tx *tx, const struct store_chat *c, struct textbuf *b)
{
	struct core_user_brief u;

	textbuf_addf(b, "{\"id\":%lld,\"type\":\"%s\"", (long long)core_chat_peer_id(c, tx->uid),
		     chat_types[c->type >= 1 && c->type <= 3 ? c->type : 0]);
	if (c->type == STORE_CHAT_PRIVATE) {
		if (core_user_brief(tx, core_private_peer(c, tx->uid), &u) == 0) {
			text_key_str(b, "first_name", u.display_name);
			text_key_str(b, "username", u.username);
		}
	} else {
		text_key_str(b, "title", c->title);
		if (c->username[0])
			text_key_str(b, "username", c->username);
	}
	textbuf_add(b, "}", 1);
}

/* render_user_id. */
static void text_user(struct core_tx *tx, int64_t id, struct textbuf *b)
{
	struct core_user_brief u;

	if (core_user_brief(tx, id, &u) < 0) {
		textbuf_addf(b, "{\"id\":%lld,\"is_bot\":false,\"first_name\":\"Deleted Account\"}", (long long)id);
		return;
	}
	textbuf_addf(b, "{\"id\":%lld,\"is_bot\":%s", (long long)u.id, u.is_bot ? "true" : "false");
	text_key_str(b, "first_name", u.display_name);
	text_key_str(b, "username", u.username);
	textbuf_add(b, "}", 1);
}

/* Through the tree: the shapes this file does not write itself. */
static int text_via_tree(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth,
			 struct textbuf *out)
{
	json_t *j = render_message(tx, c, m, depth);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	if (!s)
		return PL_NOMEM;
	rc = textbuf_puts(out, s);
	free(s);
	return rc;
}

int render_message_text(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth,
			struct textbuf *out)
{
	struct store_message r;

	if (!text_covers(tx, c, m))
		return text_via_tree(tx, c, m, depth, out);
	textbuf_addf(out, "{\"message_id\":%lld,\"date\":%lld,\"chat\":", (long long)m->id, (long long)m->date);
	text_chat(tx, c, out);
	if (c->type == STORE_CHAT_CHANNEL) {
		textbuf_puts(out, ",\"sender_chat\":");
		text_chat(tx, c, out);
	} else {
		textbuf_puts(out, ",\"from\":");
		text_user(tx, m->sender_id, out);
	}
	text_key_str(out, "text", m->text ? m->text : "");
	if (m->statement_id)
		textbuf_addf(out, ",\"statement_id\":%lld", (long long)m->statement_id);
	if (m->deleted == STORE_REMOVED)
		textbuf_puts(out, ",\"moderation\":\"removed\"");
	if (m->edit_date)
		textbuf_addf(out, ",\"edit_date\":%lld", (long long)m->edit_date);
	if (c->type == STORE_CHAT_CHANNEL)
		textbuf_addf(out, ",\"views\":%lld", (long long)m->views);
	if (m->reply_to_id && depth < 1 && store_message_get(tx->s, c->id, m->reply_to_id, &r) == 0) {
		if (!r.deleted && !core_message_hidden(tx, c->id, r.id)) {
			textbuf_puts(out, ",\"reply_to_message\":");
			render_message_text(tx, c, &r, depth + 1, out);
		}
		store_message_release(&r);
	}
	return textbuf_add(out, "}", 1);
}
