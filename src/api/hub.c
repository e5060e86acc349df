/* hub.c — live delivery to connected sessions (see hub.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "api/hub.h"
#include "api/updates.h"
#include "net/ws.h"
#include "safety/moderation.h"
#include "store/store.h"
#include "util/err.h"
#include "util/imap.h"
#include "util/textbuf.h"

#define HUB_VIEWS_FLUSH_MS 1000

struct hub_chat;

struct hub_sub {
	struct hub_sess *s;
	struct hub_chat *chat;
	size_t idx;                 /* position in chat->v */
};

struct hub_chat {
	int64_t id;
	struct hub_sub **v;
	size_t n, cap;
};

/* One per connected user (40 bytes). */
struct hub_user {
	int64_t uid;
	struct hub_sess *head;
	int64_t *contacts;
	uint32_t nsess;
	uint32_t ncontacts;
	int privacy;
};

struct hub {
	uv_loop_t *loop;
	struct imap users;          /* uid -> struct hub_user */
	struct imap chats;          /* chat id -> struct hub_chat */
	struct imap waiters;        /* uid -> first struct hub_waiter */
	struct imap views;          /* chat id -> json_t {"msg id": views} */
	uv_timer_t views_timer;
	int timer_on;
	pthread_mutex_t online_mu;
	struct imap online;         /* uid -> (void *)1, guarded by online_mu */
	hub_offline_cb offline;
	void *ctx;
	size_t nsess;
};

static void on_views_timer(uv_timer_t *t);

struct hub *hub_new(uv_loop_t *loop, hub_offline_cb offline, void *ctx)
{
	struct hub *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	h->loop = loop;
	h->offline = offline;
	h->ctx = ctx;
	imap_init(&h->users);
	imap_init(&h->chats);
	imap_init(&h->waiters);
	imap_init(&h->views);
	imap_init(&h->online);
	pthread_mutex_init(&h->online_mu, NULL);
	uv_timer_init(loop, &h->views_timer);
	h->views_timer.data = h;
	return h;
}

void hub_close(struct hub *h)
{
	uv_timer_stop(&h->views_timer);
	uv_close((uv_handle_t *)&h->views_timer, NULL);
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->views.cap; i++)
		if (h->views.keys[i])
			json_decref(h->views.vals[i]);
	for (size_t i = 0; i < h->chats.cap; i++)
		if (h->chats.keys[i]) {
			struct hub_chat *c = h->chats.vals[i];
			free(c->v);
			free(c);
		}
	for (size_t i = 0; i < h->users.cap; i++)
		if (h->users.keys[i]) {
			struct hub_user *u = h->users.vals[i];
			free(u->contacts);
			free(u);
		}
	imap_release(&h->users);
	imap_release(&h->chats);
	imap_release(&h->waiters);
	imap_release(&h->views);
	imap_release(&h->online);
	pthread_mutex_destroy(&h->online_mu);
	free(h);
}

struct hub_sess *hub_sess_new(struct hub *h, struct ws_conn *c)
{
	struct hub_sess *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->conn = c;
	s->refs = 1; /* the connection's reference, dropped by hub_sess_gone */
	h->nsess++;
	return s;
}

void hub_sess_ref(struct hub_sess *s)
{
	s->refs++;
}

void hub_sess_unref(struct hub *h, struct hub_sess *s)
{
	if (--s->refs > 0)
		return;
	free(s->token);
	free(s->subs);
	free(s);
}

/* --- following large chats ------------------------------------------- */

static int follow(struct hub *h, struct hub_sess *s, int64_t chat_id)
{
	struct hub_chat *c = imap_get(&h->chats, chat_id);
	struct hub_sub *sub;

	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i]->chat->id == chat_id)
			return 0;
	if (!c) {
		if (!(c = calloc(1, sizeof *c)))
			return PL_NOMEM;
		c->id = chat_id;
		if (imap_put(&h->chats, chat_id, c) < 0) {
			free(c);
			return PL_NOMEM;
		}
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct hub_sub **v = realloc(c->v, cap * sizeof *v);
		if (!v)
			return PL_NOMEM;
		c->v = v;
		c->cap = cap;
	}
	if (s->nsubs == s->capsubs) {
		uint32_t cap = s->capsubs ? s->capsubs * 2 : 4;
		struct hub_sub **v = cap > s->capsubs ? realloc(s->subs, cap * sizeof *v) : NULL;
		if (!v)
			return PL_NOMEM;
		s->subs = v;
		s->capsubs = cap;
	}
	if (!(sub = malloc(sizeof *sub)))
		return PL_NOMEM;
	*sub = (struct hub_sub){s, c, c->n};
	c->v[c->n++] = sub;
	s->subs[s->nsubs++] = sub;
	return 0;
}

/* Removes subscription i of s (swap-remove from both arrays). */
static void unfollow_at(struct hub *h, struct hub_sess *s, size_t i)
{
	struct hub_sub *sub = s->subs[i];
	struct hub_chat *c = sub->chat;

	c->v[sub->idx] = c->v[--c->n];
	c->v[sub->idx]->idx = sub->idx;
	s->subs[i] = s->subs[--s->nsubs];
	free(sub);
	if (!c->n) {
		imap_del(&h->chats, c->id);
		free(c->v);
		free(c);
	}
}

static void unfollow(struct hub *h, struct hub_sess *s, int64_t chat_id)
{
	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i]->chat->id == chat_id) {
			unfollow_at(h, s, i);
			return;
		}
}

/* --- sending ----------------------------------------------------------- */

/* The sessions of a user, referenced, for sending without the list changing
 * under us (a send may close a connection). */
static size_t user_sessions(struct hub *h, int64_t uid, struct hub_sess **out, size_t max)
{
	struct hub_user *u = imap_get(&h->users, uid);
	size_t n = 0;

	for (struct hub_sess *s = u ? u->head : NULL; s && n < max; s = s->unext) {
		hub_sess_ref(s);
		out[n++] = s;
	}
	return n;
}

#define HUB_USER_SESSIONS_MAX 256

/* Content withheld in some territories (docs/policy.md) has a second frame:
 * sessions whose country is in the list get it instead. */
struct hub_alt {
	struct ws_frame *f;
	const char *territories;
};

static struct ws_frame *frame_for(struct hub_sess *s, struct ws_frame *f, const struct hub_alt *alt)
{
	return alt && alt->f && mod_territory_has(alt->territories, s->country) ? alt->f : f;
}

static void send_user_alt(struct hub *h, int64_t uid, struct ws_frame *f, const struct hub_alt *alt,
			  int64_t except_uid)
{
	struct hub_sess *ss[HUB_USER_SESSIONS_MAX];
	size_t n = uid == except_uid ? 0 : user_sessions(h, uid, ss, HUB_USER_SESSIONS_MAX);

	for (size_t i = 0; i < n; i++) {
		if (ss[i]->conn)
			(void)ws_conn_send_frame(ss[i]->conn, frame_for(ss[i], f, alt));
		hub_sess_unref(h, ss[i]);
	}
}

static void send_user(struct hub *h, int64_t uid, struct ws_frame *f, int64_t except_uid)
{
	send_user_alt(h, uid, f, NULL, except_uid);
}

static void send_chat_alt(struct hub *h, int64_t chat_id, struct ws_frame *f, const struct hub_alt *alt,
			  int64_t except_uid);

static void send_chat(struct hub *h, int64_t chat_id, struct ws_frame *f, int64_t except_uid)
{
	send_chat_alt(h, chat_id, f, NULL, except_uid);
}

static void send_chat_alt(struct hub *h, int64_t chat_id, struct ws_frame *f, const struct hub_alt *alt,
			  int64_t except_uid)
{
	struct hub_chat *c = imap_get(&h->chats, chat_id);
	struct hub_sess **ss;
	size_t n = 0;

	if (!c || !(ss = malloc(c->n * sizeof *ss)))
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i]->s->uid != except_uid) {
			ss[n] = c->v[i]->s;
			hub_sess_ref(ss[n++]);
		}
	for (size_t i = 0; i < n; i++) {
		if (ss[i]->conn)
			(void)ws_conn_send_frame(ss[i]->conn, frame_for(ss[i], f, alt));
		hub_sess_unref(h, ss[i]);
	}
	free(ss);
}

static struct ws_frame *frame_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct ws_frame *frame_printf(const char *fmt, ...)
{
	char small[512], *heap = NULL;
	struct ws_frame *f;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof small)
		return ws_frame_new(small, (size_t)n);
	if (!(heap = malloc((size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(heap, (size_t)n + 1, fmt, ap);
	va_end(ap);
	f = ws_frame_new(heap, (size_t)n);
	free(heap);
	return f;
}

/* A pushed update's frame: {"pts":P,"update":BODY}, or with with_chat
 * {"chat_id":C,"pts":P,"update":BODY} — the same bytes frame_printf
 * wrote, the body copied once into the frame (it is most of the frame and
 * over the 512 bytes frame_printf formats on the stack). */
static struct ws_frame *frame_update(int with_chat, int64_t chat_id, int64_t pts, const struct upd_body *body)
{
	char head[2 * TEXTBUF_I64_SZ + 32];
	size_t n = 0;

	if (with_chat) {
		memcpy(head, "{\"chat_id\":", 11);
		n = 11 + textbuf_fmt_i64(head + 11, chat_id);
		head[n++] = ',';
	} else {
		head[n++] = '{';
	}
	memcpy(head + n, "\"pts\":", 6);
	n += 6;
	n += textbuf_fmt_i64(head + n, pts);
	memcpy(head + n, ",\"update\":", 10);
	n += 10;
	return ws_frame_new3(head, n, body->s, body->len, "}", 1);
}

/* --- waiters (getUpdates) ---------------------------------------------- */

int hub_wait(struct hub *h, struct hub_waiter *w)
{
	struct hub_waiter *head = imap_get(&h->waiters, w->uid);

	w->prev = NULL;
	w->next = head;
	if (head)
		head->prev = w;
	return imap_put(&h->waiters, w->uid, w);
}

void hub_unwait(struct hub *h, struct hub_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else if (w->next)
		imap_put(&h->waiters, w->uid, w->next);
	else
		imap_del(&h->waiters, w->uid);
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

static void wake_waiters(struct hub *h, int64_t uid)
{
	struct hub_waiter *w = imap_del(&h->waiters, uid);

	while (w) {
		struct hub_waiter *next = w->next;
		w->next = w->prev = NULL;
		w->wake(w);
		w = next;
	}
}

/* --- delivery ---------------------------------------------------------- */

static void deliver_user(struct hub *h, const struct upd_push *p)
{
	struct hub_alt alt = {NULL, p->territories ? p->territories->s : NULL};
	struct ws_frame *f;

	wake_waiters(h, p->target);
	if (!imap_get(&h->users, p->target))
		return;
	f = frame_update(0, 0, p->pts, p->body);
	if (!f)
		return;
	if (p->alt)
		alt.f = frame_update(0, 0, p->pts, p->alt);
	send_user_alt(h, p->target, f, &alt, 0);
	ws_frame_unref(f);
	if (alt.f)
		ws_frame_unref(alt.f);
}

static void deliver_chat(struct hub *h, const struct upd_push *p)
{
	struct hub_alt alt = {NULL, p->territories ? p->territories->s : NULL};
	struct ws_frame *f;

	if (!imap_get(&h->chats, p->target))
		return;
	f = frame_update(1, p->client_chat_id, p->pts, p->body);
	if (!f)
		return;
	if (p->alt)
		alt.f = frame_update(1, p->client_chat_id, p->pts, p->alt);
	send_chat_alt(h, p->target, f, &alt, 0);
	ws_frame_unref(f);
	if (alt.f)
		ws_frame_unref(alt.f);
}

static void deliver_membership(struct hub *h, const struct upd_push *p)
{
	struct hub_user *u = imap_get(&h->users, p->target);

	for (struct hub_sess *s = u ? u->head : NULL; s; s = s->unext) {
		if (p->client_chat_id)
			(void)follow(h, s, p->value);
		else
			unfollow(h, s, p->value);
	}
}

static void deliver_session_end(struct hub *h, const struct upd_push *p)
{
	struct hub_user *u = imap_get(&h->users, p->target);

	for (struct hub_sess *s = u ? u->head : NULL; s; s = s->unext)
		if (s->sid == p->pts && s->conn)
			ws_conn_close(s->conn, 4401, "session ended");
}

static void deliver_views(struct hub *h, const struct upd_push *p)
{
	json_t *batch = imap_get(&h->views, p->target);
	char key[24];

	if (!imap_get(&h->chats, p->target))
		return; /* nobody online follows it */
	if (!batch) {
		if (!(batch = json_pack("{s:I, s:{}}", "chat_id", (json_int_t)p->client_chat_id, "views")))
			return;
		if (imap_put(&h->views, p->target, batch) < 0) {
			json_decref(batch);
			return;
		}
	}
	snprintf(key, sizeof key, "%" PRId64, p->value);
	json_object_set_new(json_object_get(batch, "views"), key, json_integer(p->pts));
	if (!h->timer_on) {
		h->timer_on = 1;
		uv_timer_start(&h->views_timer, on_views_timer, HUB_VIEWS_FLUSH_MS, 0);
	}
}

static void on_views_timer(uv_timer_t *t)
{
	struct hub *h = t->data;

	h->timer_on = 0;
	for (size_t i = 0; i < h->views.cap; i++) {
		json_t *batch;
		char *s;
		if (!h->views.keys[i])
			continue;
		batch = h->views.vals[i];
		json_object_set_new(batch, "event", json_string("views"));
		if ((s = json_dumps(batch, JSON_COMPACT))) {
			struct ws_frame *f = ws_frame_new(s, strlen(s));
			if (f) {
				send_chat(h, h->views.keys[i], f, 0);
				ws_frame_unref(f);
			}
			free(s);
		}
		json_decref(batch);
	}
	imap_release(&h->views);
}

void hub_deliver(struct hub *h, const struct upd_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct upd_push *p = &l->v[i];
		switch (p->kind) {
		case UPD_USER:
			deliver_user(h, p);
			break;
		case UPD_CHAT:
			deliver_chat(h, p);
			break;
		case UPD_MEMBERSHIP:
			deliver_membership(h, p);
			break;
		case UPD_SESSION_END:
			deliver_session_end(h, p);
			break;
		case UPD_VIEWS:
			deliver_views(h, p);
			break;
		}
	}
}

/* --- presence ---------------------------------------------------------- */

static void set_online(struct hub *h, int64_t uid, int on)
{
	pthread_mutex_lock(&h->online_mu);
	if (on)
		(void)imap_put(&h->online, uid, (void *)1);
	else
		imap_del(&h->online, uid);
	pthread_mutex_unlock(&h->online_mu);
}

int hub_online(struct hub *h, int64_t uid)
{
	int on;

	pthread_mutex_lock(&h->online_mu);
	on = imap_get(&h->online, uid) != NULL;
	pthread_mutex_unlock(&h->online_mu);
	return on;
}

size_t hub_sessions(struct hub *h)
{
	return h->nsess;
}

/* Tells u's online contacts that u came online or went offline. */
static void announce(struct hub *h, const struct hub_user *u, int online, int64_t when)
{
	struct ws_frame *f;

	if (u->privacy == STORE_PRIVACY_NOBODY || !u->ncontacts)
		return;
	if (online)
		f = frame_printf("{\"event\":\"user_status\",\"user_id\":%" PRId64 ",\"status\":\"online\"}", u->uid);
	else
		f = frame_printf("{\"event\":\"user_status\",\"user_id\":%" PRId64
				 ",\"status\":\"offline\",\"last_seen\":%" PRId64 "}",
				 u->uid, when);
	if (!f)
		return;
	for (size_t i = 0; i < u->ncontacts; i++)
		send_user(h, u->contacts[i], f, u->uid);
	ws_frame_unref(f);
}

int hub_sess_auth(struct hub *h, struct hub_sess *s, const struct hub_auth *a)
{
	struct hub_user *u = imap_get(&h->users, a->uid);
	int rc;

	if (!u) {
		if (!(u = calloc(1, sizeof *u)))
			return PL_NOMEM;
		u->uid = a->uid;
		if (imap_put(&h->users, a->uid, u) < 0) {
			free(u);
			return PL_NOMEM;
		}
	}
	free(u->contacts);
	u->contacts = NULL;
	u->ncontacts = 0;
	if (a->ncontacts && a->ncontacts <= UINT32_MAX && (u->contacts = malloc(a->ncontacts * sizeof *u->contacts))) {
		memcpy(u->contacts, a->contacts, a->ncontacts * sizeof *u->contacts);
		u->ncontacts = (uint32_t)a->ncontacts;
	}
	u->privacy = a->privacy;
	s->uid = a->uid;
	s->sid = a->sid;
	memcpy(s->country, a->country, sizeof s->country);
	s->unext = u->head;
	s->uprev = NULL;
	if (u->head)
		u->head->uprev = s;
	u->head = s;
	for (size_t i = 0; i < a->nchats; i++)
		if ((rc = follow(h, s, a->chats[i])) < 0)
			return rc;
	if (u->nsess++ == 0) {
		set_online(h, a->uid, 1);
		announce(h, u, 1, 0);
	}
	return 0;
}

void hub_sess_gone(struct hub *h, struct hub_sess *s)
{
	struct hub_user *u = s->uid ? imap_get(&h->users, s->uid) : NULL;

	s->conn = NULL;
	h->nsess--;
	while (s->nsubs)
		unfollow_at(h, s, s->nsubs - 1);
	if (u) {
		if (s->uprev)
			s->uprev->unext = s->unext;
		else
			u->head = s->unext;
		if (s->unext)
			s->unext->uprev = s->uprev;
		s->unext = s->uprev = NULL;
		if (--u->nsess == 0) {
			int64_t now = (int64_t)time(NULL);
			set_online(h, u->uid, 0);
			announce(h, u, 0, now);
			if (h->offline)
				h->offline(h->ctx, u->uid, now);
			imap_del(&h->users, u->uid);
			free(u->contacts);
			free(u);
		}
	}
	hub_sess_unref(h, s);
}

void hub_typing(struct hub *h, const struct hub_typing *t)
{
	struct ws_frame *f = frame_printf("{\"event\":\"typing\",\"chat_id\":%" PRId64 ",\"user_id\":%" PRId64
					  ",\"action\":\"%s\"}",
					  t->private_chat ? t->from : -t->chat_id, t->from, t->action);

	if (!f)
		return;
	if (t->large)
		send_chat(h, t->chat_id, f, t->from);
	for (size_t i = 0; i < t->n; i++)
		send_user(h, t->recipients[i], f, t->from);
	ws_frame_unref(f);
}
