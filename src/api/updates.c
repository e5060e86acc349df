/* updates.c — update-log rows and live pushes from a call's events (see
 * updates.h and docs/sync.md).  Writer thread, inside the transaction. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/updates.h"
#include "bus/bus.h"
#include "core/core.h"
#include "util/arena.h"
#include "util/textbuf.h"

/* An update's text written directly (text_message): hard maximum.  A
 * message of 4,096 characters, each escaped at 6 bytes, and its chat and
 * sender are well under it; past it the update is built through the tree. */
#define UPD_TEXT_MAX (256 * 1024)
/* Bytes of the stack buffer an update's text starts in when it goes into
 * an arena (a message's update is ~500-900 bytes). */
#define UPD_TEXT_STACK 2048

static const char *const statuses[] = {"left", "kicked", "member", "administrator", "creator"};

/* A body of len bytes (and the NUL) to fill in: in arena, or malloc'd when
 * arena is NULL.  NULL when memory is short. */
static struct upd_body *body_alloc(struct pl_arena *arena, size_t len)
{
	struct upd_body *b = arena ? arena_alloc(arena, sizeof *b + len + 1) : malloc(sizeof *b + len + 1);

	if (!b)
		return NULL;
	b->refs = 1;
	b->arena = arena != NULL;
	b->len = len;
	return b;
}

static struct upd_body *body_new(struct pl_arena *arena, const char *s, size_t len)
{
	struct upd_body *b = body_alloc(arena, len);

	if (!b)
		return NULL;
	memcpy(b->s, s, len);
	b->s[len] = 0;
	return b;
}


/* Starts t as the text of a body built in place: its first bytes hold the
 * header upd_body_take fills in, so the text is not copied again.  With an
 * arena the text is copied into it at the end instead, and is built in buf
 * (cap bytes, the caller's stack) unless it outgrows it: no malloc. */
static void body_text_init(struct textbuf *t, const struct pl_arena *arena, char *buf, size_t cap)
{
	static const char hdr[offsetof(struct upd_body, s)];

	textbuf_init_buf(t, UPD_TEXT_MAX + sizeof hdr, arena ? buf : NULL, cap);
	textbuf_add(t, hdr, sizeof hdr);
}

/* The body t holds (body_text_init), t left empty; NULL if an add failed
 * or memory is short (t is released then).  With an arena the text is
 * copied into it (the textbuf's block is freed here, on the thread that
 * made it); else the textbuf's block becomes the body. */
static struct upd_body *body_text_take(struct textbuf *t, struct pl_arena *arena)
{
	size_t len;
	struct upd_body *b = NULL;

	if (t->err || t->len < offsetof(struct upd_body, s)) {
		textbuf_release(t);
		return NULL;
	}
	if (arena) {
		len = t->len - offsetof(struct upd_body, s);
		b = body_new(arena, t->s + offsetof(struct upd_body, s), len);
		textbuf_release(t);
		return b;
	}
	if (!(b = (struct upd_body *)(void *)textbuf_steal(t, &len)))
		return NULL;
	b->refs = 1;
	b->arena = 0;
	b->len = len - offsetof(struct upd_body, s);
	return b;
}

void upd_body_ref(struct upd_body *b)
{
	b->refs++;
}

void upd_body_unref(struct upd_body *b)
{
	if (b && --b->refs == 0 && !b->arena)
		free(b);
}

void upd_list_init(struct upd_list *l)
{
	memset(l, 0, sizeof *l);
}

void upd_list_release(struct upd_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		upd_body_unref(l->v[i].body);
		upd_body_unref(l->v[i].alt);
		upd_body_unref(l->v[i].territories);
	}
	if (!l->arena)
		free(l->v);
	upd_list_init(l);
}

static int push_alt(struct upd_list *l, int kind, int64_t target, int64_t pts, int64_t value, int64_t client_chat,
		    struct upd_body *body, struct upd_body *alt, struct upd_body *territories)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : l->arena ? 4 : 16;
		struct upd_push *v;
		if (l->n >= UPD_PUSHES_MAX)
			return PL_TOOBIG;
		if (l->arena) { /* the old list stays in the arena, unused */
			if (!(v = arena_alloc(l->arena, cap * sizeof *v)))
				return PL_NOMEM;
			if (l->n)
				memcpy(v, l->v, l->n * sizeof *v);
		} else if (!(v = realloc(l->v, cap * sizeof *v))) {
			return PL_NOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	if (body)
		upd_body_ref(body);
	if (alt && territories) {
		upd_body_ref(alt);
		upd_body_ref(territories);
	} else {
		alt = territories = NULL;
	}
	l->v[l->n++] = (struct upd_push){kind, target, pts, value, client_chat, body, alt, territories};
	return 0;
}

static int push(struct upd_list *l, int kind, int64_t target, int64_t pts, int64_t value, int64_t client_chat,
		struct upd_body *body)
{
	return push_alt(l, kind, target, pts, value, client_chat, body, NULL, NULL);
}

struct upd_ctx {
	struct core_tx *tx;
	const struct upd_config *cfg;
	struct upd_list *out;
	int64_t tag_chat, tag_msg;  /* the message the update being built carries */
	/* The message is withheld in territories: pushes carry a second body. */
	struct store_restriction wh;
	struct upd_body *territories; /* non-NULL while building such a message's update */
	struct upd_body *alt;         /* the withheld version of the body being routed */
	const json_t *result;         /* the call's result (upd_write), or NULL */
	int used_result;              /* the update being built embeds result as it is */
	struct upd_body *result_body; /* the first stored body that did (owned reference) */
	int fresh;                    /* the one event is tx->fresh's message (upd_write) */
	struct pl_arena *arena;       /* bodies are made in it (NULL: malloc'd) */
};

/* A stored body: the JSON text once in the payload table. */
struct stored {
	int64_t id;
	struct upd_body *body;
};

/* Stores body (taking the caller's reference) in the payload table. */
static int store_body(struct upd_ctx *u, struct upd_body *body, int64_t chat_id, int64_t msg_id, struct stored *st)
{
	int rc;

	st->body = body;
	if (!body)
		return PL_NOMEM;
	rc = store_payload_put(u->tx->s, body->s, body->len, u->tx->now, chat_id, msg_id, &st->id);
	if (rc < 0) {
		upd_body_unref(st->body);
		st->body = NULL;
	}
	return rc;
}

/* The compact JSON text of j as a body (NULL on failure); j is kept. */
static struct upd_body *body_of(struct upd_ctx *u, const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	struct upd_body *b = s ? body_new(u->arena, s, strlen(s)) : NULL;

	free(s);
	return b;
}

static int store_update_tagged(struct upd_ctx *u, json_t *upd, int64_t chat_id, int64_t msg_id, struct stored *st)
{
	struct upd_body *b = body_of(u, upd);

	json_decref(upd);
	return store_body(u, b, chat_id, msg_id, st);
}

static int store_update(struct upd_ctx *u, json_t *upd, struct stored *st)
{
	return store_update_tagged(u, upd, 0, 0, st);
}

/* Appends st to uid's log, reading the payload's view (0: its body, 1: its
 * second view, which st->body then is), and routes st->body to uid. */
static int to_user_view(struct upd_ctx *u, int64_t uid, const struct stored *st, int view)
{
	int64_t pts;
	int rc = store_update_user_append_view(u->tx->s, uid, st->id, view, u->tx->now, &pts);

	return rc < 0 ? rc : push_alt(u->out, UPD_USER, uid, pts, 0, 0, st->body, u->alt, u->territories);
}

static int to_user(struct upd_ctx *u, int64_t uid, const struct stored *st)
{
	return to_user_view(u, uid, st, 0);
}

static int to_chat(struct upd_ctx *u, const struct store_chat *c, const struct stored *st)
{
	int64_t pts;
	int rc = store_update_chat_append(u->tx->s, c->id, st->id, u->tx->now, &pts);

	return rc < 0 ? rc : push_alt(u->out, UPD_CHAT, c->id, pts, 0, -c->id, st->body, u->alt, u->territories);
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int collect_id(void *ctx, int64_t id)
{
	struct ids *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int64_t *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return PL_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

/* The members of a chat, all pages. */
static int member_ids(struct upd_ctx *u, int64_t chat_id, struct ids *out)
{
	int64_t after = 0;
	int rc;

	memset(out, 0, sizeof *out);
	for (;;) {
		size_t before = out->n;
		rc = store_member_ids(u->tx->s, chat_id, after, 1000, collect_id, out);
		if (rc < 0)
			return rc;
		if (out->n - before < 1000)
			return 0;
		after = out->v[out->n - 1];
	}
}

/* Builds the update for one viewer; NULL on failure or when there is nothing
 * to say (the builder decides). */
typedef json_t *(*upd_build_cb)(struct upd_ctx *u, const struct store_chat *c, void *arg);

/* How to build an update about a chat.  In a private chat the two members'
 * versions differ in one value only — the chat as each sees it (the other
 * member) — so the second version is the first's text with that value
 * spliced in: part builds it for u->tx->uid, and it is the value of the
 * first key named key in the update's text. */
struct upd_builder {
	upd_build_cb build;
	upd_build_cb part;
	const char *key;
	/* The text of build's update written directly, without a tree (NULL:
	 * none); it answers NULL for an update it does not write, which is
	 * then built through build. */
	struct upd_body *(*text)(struct upd_ctx *u, const struct store_chat *c, void *arg);
	/* part's value written as text, the same way (NULL: none). */
	struct upd_body *(*part_text)(struct upd_ctx *u, const struct store_chat *c, void *arg);
};

/* Builds the update and, for a withheld message, its withheld version
 * (u->alt, released by the caller with upd_body_unref). */
static json_t *build_both(struct upd_ctx *u, const struct store_chat *c, upd_build_cb build, void *arg)
{
	json_t *j = build(u, c, arg), *alt;

	upd_body_unref(u->alt);
	u->alt = NULL;
	if (!j || !u->territories || !(alt = json_deep_copy(j)))
		return j;
	render_withheld(u->tx, json_object_get(alt, "message"), &u->wh, NULL);
	u->alt = body_of(u, alt);
	json_decref(alt);
	return j;
}

/* The body of b's update for u->tx->uid, and u->alt its withheld version
 * (released by the caller): written as text where b can, else through the
 * tree.  NULL on failure. */
static struct upd_body *build_body(struct upd_ctx *u, const struct store_chat *c, const struct upd_builder *b,
				   void *arg)
{
	struct upd_body *body;
	json_t *j;

	if (b->text && !u->territories) { /* a withheld message needs the tree for its alt */
		upd_body_unref(u->alt);
		u->alt = NULL;
		if ((body = b->text(u, c, arg)))
			return body;
	}
	j = build_both(u, c, b->build, arg);
	body = body_of(u, j);
	json_decref(j);
	return body;
}

/* Where the JSON value starting at s[i] (valid compact JSON, as jansson
 * writes it) ends: the index just past it. */
static size_t value_end(const char *s, size_t len, size_t i)
{
	int depth = 0, in_str = 0;

	for (; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			else
				continue;
			if (depth == 0 && !in_str)
				return i + 1;
			continue;
		}
		if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (ch == ',' && depth == 0) {
			return i;
		}
	}
	return len;
}

/* A copy of body with the value of the first key named key replaced by
 * val; *at gets the bytes replaced ([from, to) of body).  A raw '"' never
 * occurs inside a JSON string (it is escaped), so the first match of "key":
 * is that key.  NULL when there is none, or no memory. */
static struct upd_body *splice_at(struct upd_ctx *u, const struct upd_body *body, const char *key,
				  const struct upd_body *val, struct store_view *at_out)
{
	char pat[40];
	int plen = snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *at;
	struct upd_body *b;
	size_t start, end;

	if (plen < 0 || (size_t)plen >= sizeof pat || !val || !(at = strstr(body->s, pat)))
		return NULL;
	start = (size_t)(at - body->s) + (size_t)plen;
	end = value_end(body->s, body->len, start);
	at_out->from = start;
	at_out->to = end;
	if (!(b = body_alloc(u->arena, body->len - (end - start) + val->len)))
		return NULL;
	memcpy(b->s, body->s, start);
	memcpy(b->s + start, val->s, val->len);
	memcpy(b->s + start + val->len, body->s + end, body->len - end + 1);
	return b;
}

static struct upd_body *splice(struct upd_ctx *u, const struct upd_body *body, const char *key,
			       const struct upd_body *val)
{
	struct store_view at;

	return splice_at(u, body, key, val, &at);
}

/* The update for the second member of a private chat (u->tx->uid), from the
 * first one's text: body, and u->alt replaced by its own withheld version.
 * When it is first with [at->from, at->to) replaced by *part, *part gets that
 * value (the caller releases it); else (the splice found no place, so it
 * was built whole) *part is NULL. */
static struct upd_body *second_view(struct upd_ctx *u, const struct store_chat *c, const struct upd_builder *b,
				    void *arg, const struct upd_body *first, struct upd_body **part_out,
				    struct store_view *at)
{
	struct upd_body *part = b->part_text ? b->part_text(u, c, arg) : NULL, *out = NULL, *alt = NULL;
	json_t *j;

	*part_out = NULL;
	if (!part) {
		j = b->part(u, c, arg);
		part = body_of(u, j);
		json_decref(j);
	}
	if (part && (out = splice_at(u, first, b->key, part, at)) && u->alt &&
	    !(alt = splice(u, u->alt, b->key, part))) {
		upd_body_unref(out);
		out = NULL;
	}
	if (out) {
		*part_out = part;
		upd_body_unref(u->alt);
		u->alt = alt;
		return out;
	}
	upd_body_unref(part);
	j = build_both(u, c, b->build, arg);
	out = body_of(u, j);
	json_decref(j);
	return out;
}

/* Keeps a reference to body if the update it was made from embeds the
 * call's result unchanged (upd_write hands it back). */
static void keep_result_body(struct upd_ctx *u, struct upd_body *body)
{
	if (u->used_result && body && !u->result_body) {
		upd_body_ref(body);
		u->result_body = body;
	}
	u->used_result = 0;
}

/* Stores and routes a private chat's update to its two members: first to
 * viewers[0] with withheld version alt0, second to viewers[1] with u->alt.
 * When part is not NULL, second is first with [at->from, at->to) replaced
 * by part, and both share one payload: the first member's row reads its
 * body, the second's its second view.  Else (second was built whole) each
 * has a payload of its own. */
static int deliver_pair(struct upd_ctx *u, const int64_t viewers[2], struct upd_body *first,
			struct upd_body *alt0, struct upd_body *second, const struct upd_body *part,
			const struct store_view *at)
{
	struct upd_body *alt1 = u->alt;
	struct stored st = {0, first};
	int rc;

	if (part) {
		struct store_view view = {part->s, part->len, at->from, at->to};
		rc = store_payload_put_view(u->tx->s, first->s, first->len, &view, u->tx->now, u->tag_chat,
					    u->tag_msg, &st.id);
	} else {
		rc = store_payload_put(u->tx->s, first->s, first->len, u->tx->now, u->tag_chat, u->tag_msg, &st.id);
	}
	u->alt = alt0;
	if (rc == 0)
		rc = to_user_view(u, viewers[0], &st, 0);
	u->alt = alt1;
	if (rc == 0 && !part)
		rc = store_payload_put(u->tx->s, second->s, second->len, u->tx->now, u->tag_chat, u->tag_msg,
				       &st.id);
	st.body = second;
	if (rc == 0)
		rc = to_user_view(u, viewers[1], &st, part ? 1 : 0);
	return rc;
}

/* Stores and routes a private chat's update to each member, rendered once:
 * the caller's version first (it may reuse the call's own rendering), the
 * other member's spliced from it, both in one payload (deliver_pair). */
static int deliver_private(struct upd_ctx *u, const struct store_chat *c, const struct upd_builder *b, void *arg)
{
	int64_t saved = u->tx->uid;
	int64_t viewers[2] = {c->user_lo, c->user_hi};
	struct stored st = {0, NULL};
	struct upd_body *first, *second = NULL, *part = NULL, *alt0 = NULL;
	struct store_view at = {NULL, 0, 0, 0};
	int rc;

	if (saved == c->user_hi) {
		viewers[0] = c->user_hi;
		viewers[1] = c->user_lo;
	}
	u->tx->uid = viewers[0];
	first = build_body(u, c, b, arg);
	keep_result_body(u, first);
	if (c->user_lo == c->user_hi) { /* saved messages: one member, one view */
		if (first)
			upd_body_ref(first);
		if ((rc = store_body(u, first, u->tag_chat, u->tag_msg, &st)) == 0)
			rc = to_user(u, viewers[0], &st);
		upd_body_unref(st.body);
		goto out;
	}
	if (!first) {
		rc = PL_NOMEM;
		goto out;
	}
	if ((alt0 = u->alt))
		upd_body_ref(alt0);
	u->tx->uid = viewers[1];
	if (!(second = second_view(u, c, b, arg, first, &part, &at)))
		rc = PL_NOMEM;
	else
		rc = deliver_pair(u, viewers, first, alt0, second, part, &at);
out:
	upd_body_unref(first);
	upd_body_unref(second);
	upd_body_unref(part);
	upd_body_unref(alt0);
	u->tx->uid = saved;
	upd_body_unref(u->alt);
	u->alt = NULL;
	return rc;
}

/* Stores and routes one update about chat c: per member in a private chat,
 * once for all members of a small group, once in the log of a large chat. */
static int deliver(struct upd_ctx *u, const struct store_chat *c, const struct upd_builder *b, void *arg)
{
	struct stored st;
	struct ids members;
	int rc = 0;

	if (c->type == STORE_CHAT_PRIVATE)
		return deliver_private(u, c, b, arg);
	if ((rc = store_body(u, build_body(u, c, b, arg), u->tag_chat, u->tag_msg, &st)) < 0)
		return rc;
	keep_result_body(u, st.body);
	if (c->large) {
		rc = to_chat(u, c, &st);
	} else if ((rc = member_ids(u, c->id, &members)) == 0) {
		for (size_t i = 0; i < members.n && rc == 0; i++)
			rc = to_user(u, members.v[i], &st);
		free(members.v);
	}
	upd_body_unref(st.body);
	upd_body_unref(u->alt);
	u->alt = NULL;
	return rc;
}

struct msg_arg {
	const char *type;
	const struct store_message *m;
	int restored;          /* a reversed removal brings it back */
};

struct restr_union {
	int64_t msg_id;
	char list[STORE_TERRITORIES_SZ * 2];
	struct store_restriction first;
	int n;
};

static int union_restr(void *ctx, const struct store_restriction *r)
{
	struct restr_union *ru = ctx;
	size_t len = strlen(ru->list);

	if (r->msg_id && r->msg_id != ru->msg_id)
		return 0;
	if (!ru->n++)
		ru->first = *r;
	if (len + strlen(r->territories) + 2 < sizeof ru->list)
		snprintf(ru->list + len, sizeof ru->list - len, "%s%s", len ? "," : "", r->territories);
	return 0;
}

/* Looks up whether message m of chat c is withheld anywhere; sets up
 * u->territories and u->wh if so. */
static int withheld_setup(struct upd_ctx *u, const struct store_chat *c, const struct store_message *m)
{
	struct restr_union ru;
	char norm[STORE_TERRITORIES_SZ];
	int rc;

	memset(&ru, 0, sizeof ru);
	ru.msg_id = m->id;
	if (m->service || (rc = store_restriction_list_chat(u->tx->s, c->id, union_restr, &ru)) < 0 || !ru.n)
		return 0;
	if (mod_territories_normalize(ru.list, norm, sizeof norm) < 0)
		snprintf(norm, sizeof norm, "%s", ru.first.territories);
	u->wh = ru.first;
	snprintf(u->wh.territories, sizeof u->wh.territories, "%s", norm);
	if (!(u->territories = body_new(u->arena, norm, strlen(norm))))
		return PL_NOMEM;
	return 0;
}

/* The call's result when it is message m as the update for u->tx->uid would
 * render it: the message a sendMessage or forwardMessage just stored, which
 * its handler rendered for the caller.  It differs from the update's
 * rendering only by what the update adds or does not nest (a reply, a
 * restored flag, a pinned message), so those messages are rendered again. */
static json_t *call_rendering(struct upd_ctx *u, const struct store_chat *c, const struct msg_arg *a)
{
	json_t *r = (json_t *)u->result, *chat, *from;

	if (!r || !json_is_object(r) || a->restored || strcmp(a->type, "new_message") || a->m->reply_to_id ||
	    a->m->service)
		return NULL;
	chat = json_object_get(r, "chat");
	from = json_object_get(r, c->type == STORE_CHAT_CHANNEL ? "sender_chat" : "from");
	if (json_integer_value(json_object_get(r, "message_id")) != a->m->id ||
	    json_integer_value(json_object_get(r, "date")) != a->m->date ||
	    json_integer_value(json_object_get(chat, "id")) != core_chat_peer_id(c, u->tx->uid) ||
	    (c->type != STORE_CHAT_CHANNEL && json_integer_value(json_object_get(from, "id")) != a->m->sender_id))
		return NULL;
	return json_incref(r);
}

/* Messages in updates are rendered without nesting other messages (replies
 * and pins name them by id), so a stored update carries the content of one
 * message only and can be redacted when that message is deleted. */
static json_t *build_message(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	struct msg_arg *a = arg;
	json_t *m = call_rendering(u, c, a);

	u->used_result = m != NULL;
	if (!m && !(m = render_message(u->tx, c, a->m, 1)))
		return NULL;
	if (a->restored)
		json_object_set_new(m, "restored", json_true());
	if (a->m->reply_to_id)
		json_object_set_new(m, "reply_to_message_id", json_integer(a->m->reply_to_id));
	if (a->m->service == CORE_SVC_PINNED && a->m->text)
		json_object_set_new(m, "pinned_message_id", json_integer(strtoll(a->m->text, NULL, 10)));
	return json_pack("{s:s, s:o}", "type", a->type, "message", m);
}

/* build_message's update as text: {"type":...,"message":M} with M as
 * render_message_text writes it at depth 1 (the bytes of the tree, render.h;
 * the common message without building one) and build_message's additions.
 * NULL for a service message (build_message builds it) or on failure. */
static struct upd_body *text_message(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	struct msg_arg *a = arg;
	struct upd_body *body = NULL;
	struct textbuf t;
	char buf[UPD_TEXT_STACK];
	json_t *r;

	if (a->m->service) /* build_message adds to some */
		return NULL;
	body_text_init(&t, u->arena, buf, sizeof buf);
	textbuf_puts(&t, "{\"type\":\"");
	textbuf_puts(&t, a->type);
	textbuf_puts(&t, "\",\"message\":");
	render_message_text(u->tx, c, a->m, 1, NULL, &t);
	if (!textbuf_unput(&t, '}')) /* reopen M for what build_message adds to it */
		goto out;
	if (a->restored)
		textbuf_puts(&t, ",\"restored\":true");
	if (a->m->reply_to_id) {
		textbuf_puts(&t, ",\"reply_to_message_id\":");
		textbuf_add_i64(&t, a->m->reply_to_id);
	}
	textbuf_puts(&t, "}}");
	if (!(body = body_text_take(&t, u->arena)))
		goto out;
	/* The same bytes as the call's own rendering where build_message would
	 * have embedded it: its reply can be cut from this body. */
	if (body && (r = call_rendering(u, c, a))) {
		u->used_result = 1;
		json_decref(r);
	}
out:
	textbuf_release(&t);
	return body;
}

/* The chat as u->tx->uid sees it, the viewer-dependent part of a message. */
static json_t *part_chat(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	return render_chat(u->tx, c);
}

/* part_chat as text, for a private chat. */
static struct upd_body *part_chat_text(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	struct upd_body *body = NULL;
	struct textbuf t;
	char buf[UPD_TEXT_STACK];

	body_text_init(&t, u->arena, buf, sizeof buf);
	if (render_private_chat_text(u->tx, c, &t) == 0)
		body = body_text_take(&t, u->arena);
	textbuf_release(&t);
	return body;
}

static const struct upd_builder message_builder = {build_message, part_chat, "chat", text_message, part_chat_text};

/* Delivers message a->m of chat c (withheld where its chat's restrictions
 * say), its updates tagged with it. */
static int deliver_message(struct upd_ctx *u, const struct store_chat *c, struct msg_arg *a)
{
	int rc;

	u->tag_chat = c->id;
	u->tag_msg = a->m->id;
	if ((rc = withheld_setup(u, c, a->m)) == 0)
		rc = deliver(u, c, &message_builder, a);
	upd_body_unref(u->territories);
	u->territories = NULL;
	u->tag_chat = u->tag_msg = 0;
	return rc;
}

/* The message the call appended (tx->fresh) when e is its event and the
 * call's only one (u->fresh): the row as the store has it, not read back. */
static int on_message(struct upd_ctx *u, const struct store_chat *c, const struct bus_event *e)
{
	struct store_message m;
	struct msg_arg a = {e->type == BUS_MESSAGE_NEW ? "new_message" : "edit_message", &m,
			    e->type == BUS_MESSAGE_NEW && e->value == 1};
	int rc;

	if (u->fresh) { /* upd_write checked it is e's message */
		a.m = &u->tx->fresh.m;
		return deliver_message(u, c, &a);
	}
	rc = store_message_get(u->tx->s, c->id, e->msg_id, &m);
	if (rc == PL_NOTFOUND || (rc == 0 && m.deleted)) {
		if (rc == 0)
			store_message_release(&m);
		return 0; /* gone again within the same call */
	}
	if (rc < 0)
		return rc;
	rc = deliver_message(u, c, &a);
	store_message_release(&m);
	return rc;
}

struct del_arg {
	const int64_t *ids;
	size_t n;
	int for_me;
};

static json_t *build_delete(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	struct del_arg *a = arg;
	json_t *ids = json_array();

	for (size_t i = 0; i < a->n; i++)
		json_array_append_new(ids, json_integer(a->ids[i]));
	return json_pack("{s:s, s:I, s:o, s:b}", "type", "delete_messages", "chat_id",
			 (json_int_t)core_chat_peer_id(c, u->tx->uid), "message_ids", ids, "for_me", a->for_me);
}

static json_t *part_chat_id(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	return json_integer(core_chat_peer_id(c, u->tx->uid));
}

static const struct upd_builder delete_builder = {build_delete, part_chat_id, "chat_id"};

/* A message deleted for everyone leaves no copy of its content in the logs:
 * every stored update that carried it now says only that it was redacted. */
static int redact(struct upd_ctx *u, const struct store_chat *c, const int64_t *ids, size_t n)
{
	char body[96];
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		int len = snprintf(body, sizeof body, "{\"type\":\"redacted\",\"message_id\":%lld}", (long long)ids[i]);
		rc = store_payload_redact(u->tx->s, c->id, ids[i], body, (size_t)len);
	}
	return rc;
}

/* Deletes of one chat by one call travel as one update: events [i, j). */
static int on_delete(struct upd_ctx *u, const struct store_chat *c, const struct bus_events *ev, size_t i,
		     size_t j)
{
	int64_t *ids = malloc((j - i) * sizeof *ids);
	struct del_arg a = {ids, j - i, ev->v[i].user_id != 0};
	int64_t saved = u->tx->uid;
	struct stored st;
	int rc;

	if (!ids)
		return PL_NOMEM;
	for (size_t k = i; k < j; k++)
		ids[k - i] = ev->v[k].msg_id;
	if (!a.for_me) {
		rc = redact(u, c, ids, j - i);
		if (rc == 0)
			rc = deliver(u, c, &delete_builder, &a);
	} else { /* only the user who deleted for themselves hears of it */
		u->tx->uid = ev->v[i].user_id;
		if ((rc = store_update(u, build_delete(u, c, &a), &st)) == 0)
			rc = to_user(u, ev->v[i].user_id, &st);
		upd_body_unref(st.body);
		u->tx->uid = saved;
	}
	free(ids);
	return rc;
}

static int on_read(struct upd_ctx *u, const struct store_chat *c, const struct bus_event *e)
{
	int64_t saved = u->tx->uid, unread = 0, peer;
	struct stored st;
	int rc;

	(void)store_message_unread(u->tx->s, c->id, e->user_id, e->value, &unread);
	u->tx->uid = e->user_id;
	rc = store_update(u, json_pack("{s:s, s:I, s:I, s:I}", "type", "read_inbox", "chat_id",
				       (json_int_t)core_chat_peer_id(c, e->user_id), "max_id", (json_int_t)e->value,
				       "unread_count", (json_int_t)unread), &st);
	if (rc == 0)
		rc = to_user(u, e->user_id, &st);
	upd_body_unref(st.body);
	peer = core_private_peer(c, e->user_id);
	if (rc == 0 && c->type == STORE_CHAT_PRIVATE && peer != e->user_id) {
		rc = store_update(u, json_pack("{s:s, s:I, s:I}", "type", "read_outbox", "chat_id", (json_int_t)e->user_id,
					       "max_id", (json_int_t)e->value), &st);
		if (rc == 0)
			rc = to_user(u, peer, &st);
		upd_body_unref(st.body);
	}
	u->tx->uid = saved;
	return rc;
}

/* A group that has grown past the threshold switches to a chat log, once. */
static int maybe_large(struct upd_ctx *u, struct store_chat *c)
{
	struct ids members;
	struct stored st;
	int64_t pts, min;
	int rc;

	if (c->type != STORE_CHAT_GROUP || c->large || c->member_count <= u->cfg->large_group_threshold)
		return 0;
	if ((rc = store_chat_set_large(u->tx->s, c->id)) < 0 ||
	    (rc = store_update_chat_state(u->tx->s, c->id, &pts, &min)) < 0)
		return rc;
	c->large = 1;
	rc = store_update(u, json_pack("{s:s, s:I, s:I}", "type", "chat_large", "chat_id", (json_int_t)-c->id, "pts",
				       (json_int_t)pts), &st);
	if (rc < 0)
		return rc;
	if ((rc = member_ids(u, c->id, &members)) == 0) {
		for (size_t i = 0; i < members.n && rc == 0; i++) {
			rc = to_user(u, members.v[i], &st);
			if (rc == 0)
				rc = push(u->out, UPD_MEMBERSHIP, members.v[i], pts, c->id, 1, NULL);
		}
		free(members.v);
	}
	upd_body_unref(st.body);
	return rc;
}

static int on_member(struct upd_ctx *u, struct store_chat *c, const struct bus_event *e)
{
	int64_t saved = u->tx->uid, pts = 0, min;
	int role = e->value >= 0 && e->value <= 4 ? (int)e->value : 0;
	struct stored st;
	int rc;

	if (c->type == STORE_CHAT_PRIVATE)
		return 0;
	json_t *upd;

	if ((rc = maybe_large(u, c)) < 0)
		return rc;
	if (c->large && (rc = store_update_chat_state(u->tx->s, c->id, &pts, &min)) < 0)
		return rc;
	u->tx->uid = e->user_id;
	upd = json_pack("{s:s, s:I, s:o, s:s}", "type", "chat_member", "chat_id", (json_int_t)-c->id, "user",
			render_user_id(u->tx, e->user_id), "status", statuses[role]);
	if (upd && c->large) /* where this member's view of the chat sequence starts */
		json_object_set_new(upd, "pts", json_integer(pts));
	rc = store_update(u, upd, &st);
	u->tx->uid = saved;
	if (rc == 0)
		rc = to_user(u, e->user_id, &st);
	upd_body_unref(st.body);
	if (rc == 0 && c->large)
		rc = push(u->out, UPD_MEMBERSHIP, e->user_id, pts, c->id, role >= STORE_ROLE_MEMBER, NULL);
	return rc;
}

/* The chat object of a "chat" update, as u->tx->uid sees it. */
static json_t *chat_object(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	json_t *chat = render_chat(u->tx, c);

	if (!chat)
		return NULL;
	if (c->type != STORE_CHAT_PRIVATE) {
		json_object_set_new(chat, "description", json_string(c->description));
		json_object_set_new(chat, "member_count", json_integer(c->member_count));
		if (c->type == STORE_CHAT_GROUP)
			json_object_set_new(chat, "permissions", render_permissions(c->perms));
	}
	json_object_set_new(chat, "pinned_message_id", json_integer(c->pinned_msg_id));
	return chat;
}

static json_t *build_chat(struct upd_ctx *u, const struct store_chat *c, void *arg)
{
	json_t *chat = chat_object(u, c, arg);

	return chat ? json_pack("{s:s, s:o}", "type", "chat", "chat", chat) : NULL;
}

static const struct upd_builder chat_builder = {build_chat, chat_object, "chat"};

/* Handles events [i, j) that share a chat and, for deletes, a kind. */
static int on_events(struct upd_ctx *u, const struct bus_events *ev, size_t i, size_t j)
{
	const struct bus_event *e = &ev->v[i];
	struct store_chat c;
	int rc;

	if (e->type == BUS_SESSION_END)
		return push(u->out, UPD_SESSION_END, e->user_id, e->value, 0, 0, NULL);
	if (u->fresh)
		c = u->tx->fresh.chat;
	else if ((rc = store_chat_get(u->tx->s, e->chat_id, &c)) < 0)
		return rc == PL_NOTFOUND ? 0 : rc;
	switch (e->type) {
	case BUS_MESSAGE_NEW:
	case BUS_MESSAGE_EDIT:
		return on_message(u, &c, e);
	case BUS_MESSAGE_DELETE:
		return on_delete(u, &c, ev, i, j);
	case BUS_READ:
		return on_read(u, &c, e);
	case BUS_MEMBER:
		return on_member(u, &c, e);
	case BUS_CHAT:
		return deliver(u, &c, &chat_builder, NULL);
	case BUS_VIEWS:
		return push(u->out, UPD_VIEWS, c.id, e->value, e->msg_id, core_chat_peer_id(&c, u->tx->uid), NULL);
	}
	return 0;
}

int upd_write(struct core_tx *tx, const struct upd_config *cfg, const struct bus_events *events,
	      const json_t *result, struct pl_arena *arena, struct upd_list *out, struct upd_body **result_body)
{
	struct upd_ctx u = {tx, cfg, out};
	const struct core_fresh *f = &tx->fresh;
	int rc = 0;

	u.result = result;
	u.arena = arena;
	if (!out->v)
		out->arena = arena;
	/* A call that appended one message and did nothing else (sendMessage,
	 * forwardMessage, a channel post): its message and chat as they stand. */
	u.fresh = events->n == 1 && events->v[0].type == BUS_MESSAGE_NEW && f->valid &&
		  f->m.chat_id == events->v[0].chat_id && f->chat.id == f->m.chat_id && f->m.id == events->v[0].msg_id;

	for (size_t i = 0; i < events->n && rc == 0;) {
		size_t j = i + 1;
		const struct bus_event *e = &events->v[i];
		if (e->type == BUS_MESSAGE_DELETE) /* group a run of deletes in one chat */
			while (j < events->n && events->v[j].type == BUS_MESSAGE_DELETE &&
			       events->v[j].chat_id == e->chat_id && events->v[j].user_id == e->user_id)
				j++;
		rc = on_events(&u, events, i, j);
		i = j;
	}
	if (rc == 0 && result_body)
		*result_body = u.result_body;
	else
		upd_body_unref(u.result_body);
	return rc;
}

/* The reply {"ok":true,"result":M} to a call whose result M is embedded
 * as it is in body {"type":...,"message":M}: the same bytes api_reply would
 * write, without serialising M again.  NULL if body is not of that shape. */
char *upd_reply_from_body(const struct upd_body *body, struct pl_arena *arena)
{
	static const char head[] = "{\"ok\":true,\"result\":";
	static const char key[] = "\"message\":";
	const char *at = strstr(body->s, key);
	size_t start, end, n;
	char *out;

	if (!at)
		return NULL;
	start = (size_t)(at - body->s) + sizeof key - 1;
	end = value_end(body->s, body->len, start);
	n = sizeof head - 1 + (end - start) + 2;
	if (end <= start || end >= body->len || body->s[start] != '{' ||
	    !(out = arena ? arena_alloc(arena, n) : malloc(n)))
		return NULL;
	memcpy(out, head, sizeof head - 1);
	memcpy(out + sizeof head - 1, body->s + start, end - start);
	memcpy(out + sizeof head - 1 + (end - start), "}", 2);
	return out;
}
