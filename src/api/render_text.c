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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "util/swar.h"
#include "util/utf8.h"

static const char *const chat_types[] = {"", "private", "group", "channel"};

/* A string literal, without its NUL. */
#define text_lit(b, s) textbuf_add((b), (s), sizeof(s) - 1)

/* 1 if none of the 8 bytes at p needs escaping in a JSON string (bytes
 * from 0x80 up pass, as UTF-8). */
static int json_plain8(const unsigned char *p)
{
	return swar_json_special(swar_load(p)) == 0;
}

/* A JSON string as jansson writes it (no flags): '"', '\\' and control
 * characters escaped, everything else (UTF-8 included) as it is.  Plain
 * text is skipped 8 bytes a step and copied in runs. */
static void text_str(struct textbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s), *run = p;
	char esc[8];

	text_lit(b, "\"");
	while (p < end) {
		if (end - p >= 8 && json_plain8(p)) {
			p += 8;
			continue;
		}

		unsigned char ch = *p;
		const char *e;

		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			p++;
			continue;
		}
		textbuf_add(b, (const char *)run, (size_t)(p - run));
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
		run = ++p;
	}
	textbuf_add(b, (const char *)run, (size_t)(p - run));
	text_lit(b, "\"");
}

static int utf8_ok(const char *s)
{
	return utf8_count(s, strlen(s)) >= 0;
}

static int take_file_msg(void *ctx, int64_t id)
{
	struct render_files *f = ctx;

	if (f->n == RENDER_FILES_MAX)
		return 1; /* more than it can hold: it will know nothing */
	f->ids[f->n++] = id;
	return 0;
}

void render_files_load(struct core_tx *tx, int64_t chat_id, int64_t lo, int64_t hi, struct render_files *f)
{
	f->chat_id = chat_id;
	f->lo = lo;
	f->hi = hi;
	f->n = 0;
	if (lo <= hi && store_media_msg_ids(tx->s, chat_id, lo, hi, RENDER_FILES_MAX + 1, take_file_msg, f) != 0)
		f->hi = lo - 1; /* failed, or too many: know nothing */
}

static int count_files(void *ctx, const struct store_file *f)
{
	return 1;
}

/* 1 if message m carries files, 0 if not, or a negative pl_err. */
static int has_files(struct core_tx *tx, const struct store_message *m, const struct render_files *f)
{
	if (core_fresh_no_files(tx, m))
		return 0; /* a text message this call sent */
	if (f && f->chat_id == m->chat_id && m->id >= f->lo && m->id <= f->hi) {
		size_t lo = 0, hi = f->n;
		while (lo < hi) { /* ids ascending */
			size_t mid = lo + (hi - lo) / 2;
			if (f->ids[mid] == m->id)
				return 1;
			if (f->ids[mid] < m->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		return 0;
	}
	return store_media_list(tx->s, m->chat_id, m->id, count_files, NULL);
}

/* Can the message be written here?  Checks what render_message would do
 * differently, without writing anything. */
static int text_covers(struct core_tx *tx, const struct store_chat *c, const struct store_message *m,
		       const struct render_files *files)
{
	struct store_restriction r = {0};

	if (m->service || m->fwd_date || (m->text && !utf8_ok(m->text)))
		return 0;
	if (c->type != STORE_CHAT_PRIVATE &&
	    (c->ban_statement || !utf8_ok(c->title) || (tx->viewer && core_mod_withheld(tx, c->id, 0, &r) == 1)))
		return 0;
	if (tx->viewer && core_mod_withheld(tx, c->id, m->id, &r) == 1)
		return 0;
	return has_files(tx, m, files) == 0; /* no files, no error */
}

/* render_chat for a chat text_covers accepted. */
static void text_chat(struct core_tx *tx, const struct store_chat *c, struct textbuf *b)
{
	struct core_user_brief u;
	int t = c->type >= 1 && c->type <= 3 ? c->type : 0;

	text_lit(b, "{\"id\":");
	textbuf_add_i64(b, core_chat_peer_id(c, tx->uid));
	text_lit(b, ",\"type\":\"");
	textbuf_puts(b, chat_types[t]);
	text_lit(b, "\"");
	if (c->type == STORE_CHAT_PRIVATE) {
		if (core_user_brief(tx, core_private_peer(c, tx->uid), &u) == 0) {
			text_lit(b, ",\"first_name\":");
			text_str(b, u.display_name);
			text_lit(b, ",\"username\":");
			text_str(b, u.username);
		}
	} else {
		text_lit(b, ",\"title\":");
		text_str(b, c->title);
		if (c->username[0]) {
			text_lit(b, ",\"username\":");
			text_str(b, c->username);
		}
	}
	text_lit(b, "}");
}

int render_private_chat_text(struct core_tx *tx, const struct store_chat *c, struct textbuf *out)
{
	if (c->type != STORE_CHAT_PRIVATE)
		return PL_INVAL;
	text_chat(tx, c, out);
	return out->err;
}

/* render_user_id. */
static void text_user(struct core_tx *tx, int64_t id, struct textbuf *b)
{
	struct core_user_brief u;

	text_lit(b, "{\"id\":");
	if (core_user_brief(tx, id, &u) < 0) {
		textbuf_add_i64(b, id);
		text_lit(b, ",\"is_bot\":false,\"first_name\":\"Deleted Account\"}");
		return;
	}
	textbuf_add_i64(b, u.id);
	if (u.is_bot)
		text_lit(b, ",\"is_bot\":true,\"first_name\":");
	else
		text_lit(b, ",\"is_bot\":false,\"first_name\":");
	text_str(b, u.display_name);
	text_lit(b, ",\"username\":");
	text_str(b, u.username);
	text_lit(b, "}");
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

/* ,"key":integer */
static void text_key_int(struct textbuf *b, const char *key_lit, size_t key_len, int64_t v)
{
	textbuf_add(b, key_lit, key_len);
	textbuf_add_i64(b, v);
}
#define text_int(b, k, v) text_key_int((b), (k), sizeof(k) - 1, (v))

/* The key of m as tx's viewer sees it (struct core_render_key). */
static void memo_key(const struct core_tx *tx, const struct store_message *m, struct core_render_key *k)
{
	memset(k, 0, sizeof *k);
	k->uid = tx->uid;
	k->viewer = tx->viewer;
	k->id = m->id;
	k->chat_id = m->chat_id;
	k->date = m->date;
	k->sender_id = m->sender_id;
	k->statement_id = m->statement_id;
	k->deleted = m->deleted;
	k->edit_date = m->edit_date;
	k->views = m->views;
}

/* Is memo the rendering of m in c for tx's viewer?  Every field the text
 * below reads is compared (the chat whole); the users it names come from
 * the call's user cache, which does not change within the call. */
static int memo_fits(const struct core_tx *tx, const struct store_chat *c, const struct store_message *m)
{
	const struct core_render_memo *k = &tx->memo;
	struct core_render_key key;

	if (!k->s)
		return 0;
	memo_key(tx, m, &key);
	return !memcmp(&k->key, &key, sizeof key) && !strcmp(k->text, m->text ? m->text : "") &&
	       !memcmp(&k->chat, c, sizeof *c);
}

/* Keeps the text just written for m (out from offset from) in tx->memo
 * when m is the call's fresh message: its update will embed the same. */
static void memo_keep(struct core_tx *tx, const struct store_chat *c, const struct store_message *m,
		      const struct textbuf *out, size_t from)
{
	struct core_render_memo *k = &tx->memo;
	size_t len = out->len - from;

	if (out->err || !tx->fresh.noted || tx->fresh.m.id != m->id || tx->fresh.m.chat_id != m->chat_id)
		return;
	const char *text = m->text ? m->text : "";
	size_t tlen = strlen(text);

	free(k->s); /* text is in the same allocation */
	k->text = NULL;
	/* the rest is written below, or unused while s is NULL */
	if (!(k->s = malloc(len + tlen + 1)))
		return;
	memcpy(k->s, out->s + from, len);
	k->text = k->s + len;
	memcpy(k->text, text, tlen + 1);
	k->len = len;
	memo_key(tx, m, &k->key);
	k->chat = *c;
}

int render_message_text(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth,
			const struct render_files *files, struct textbuf *out)
{
	struct store_message r;
	size_t from = out->len;
	int rc;

	if (!text_covers(tx, c, m, files))
		return text_via_tree(tx, c, m, depth, out);
	/* Without a reply to nest, depth changes nothing: a send's reply
	 * (depth 0) and its update (depth 1) are the same text. */
	if (!m->reply_to_id && !files && memo_fits(tx, c, m))
		return textbuf_add(out, tx->memo.s, tx->memo.len);
	text_int(out, "{\"message_id\":", m->id);
	text_int(out, ",\"date\":", m->date);
	text_lit(out, ",\"chat\":");
	text_chat(tx, c, out);
	if (c->type == STORE_CHAT_CHANNEL) {
		text_lit(out, ",\"sender_chat\":");
		text_chat(tx, c, out);
	} else {
		text_lit(out, ",\"from\":");
		text_user(tx, m->sender_id, out);
	}
	text_lit(out, ",\"text\":");
	text_str(out, m->text ? m->text : "");
	if (m->statement_id)
		text_int(out, ",\"statement_id\":", m->statement_id);
	if (m->deleted == STORE_REMOVED)
		text_lit(out, ",\"moderation\":\"removed\"");
	if (m->edit_date)
		text_int(out, ",\"edit_date\":", m->edit_date);
	if (c->type == STORE_CHAT_CHANNEL)
		text_int(out, ",\"views\":", m->views);
	if (m->reply_to_id && depth < 1 && store_message_get(tx->s, c->id, m->reply_to_id, &r) == 0) {
		if (!r.deleted && !core_message_hidden(tx, c->id, r.id)) {
			text_lit(out, ",\"reply_to_message\":");
			render_message_text(tx, c, &r, depth + 1, files, out);
		}
		store_message_release(&r);
	}
	rc = text_lit(out, "}");
	if (rc == 0 && !m->reply_to_id && !files)
		memo_keep(tx, c, m, out, from);
	return rc;
}
