/* test_render.c — unit tests for the read path's rendering (src/api/render.c,
 * render_text.c): the text a page of messages is built from must be the very
 * bytes the jansson tree gives, for every kind of message and viewer; and the
 * per-call cache of users (core_user_brief) must never render a name the
 * call itself has just changed.  Over a real SQLite store in a temporary
 * folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/render.h"
#include "bus/bus.h"
#include "core/core.h"
#include "util/ratelimit.h"
#include "ut_core.h"

struct fx {
	struct ut_core u;
	int64_t alice, bob, carol;
};

static struct core_tx tx_for(struct fx *f, int64_t uid)
{
	return ut_tx(&f->u, uid);
}

static int64_t make_user(struct fx *f, const char *name, const char *display)
{
	return ut_user(&f->u, name, display);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	ut_core_open(&f->u, "render");
	f->u.mono_step = 10.0;
	safety_chain_add(&f->u.core.chain, "allow", safety_allow_check, NULL);
	f->alice = make_user(f, "alice", "Alice \"A\" \xc3\xa9\xf0\x9f\x98\x80");
	f->bob = make_user(f, "bobby", "Bob\\\t\x01");
	f->carol = make_user(f, "carol", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_core_close(&f->u);
	free(f);
	return 0;
}

static int64_t send_text(struct fx *f, int64_t uid, struct core_access *a, const char *text, int64_t reply)
{
	struct core_tx tx = tx_for(f, uid);
	struct store_message m;

	assert_int_equal(core_message_send(&tx, a, text, reply, &m), 0);
	store_message_release(&m);
	core_tx_release(&tx);
	return m.id;
}

/* Every message of chat c as viewer uid sees it: text path == tree path. */
struct cmp_ctx {
	struct core_tx *tx;
	const struct store_chat *c;
	const struct render_files *files;
	int n;
};

static int cmp_one(void *ctx, const struct store_message *m)
{
	struct cmp_ctx *x = ctx;
	struct store_message copy = *m;
	struct textbuf out;
	json_t *j;
	char *want, *got;

	copy.text = m->text ? strdup(m->text) : NULL;
	j = render_message(x->tx, x->c, &copy, 0);
	assert_non_null(j);
	want = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	textbuf_init(&out, 1 << 20);
	assert_int_equal(render_message_text(x->tx, x->c, &copy, 0, x->files, &out), 0);
	got = textbuf_steal(&out, NULL);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(got);
	store_message_release(&copy);
	x->n++;
	return 0;
}

/* textbuf_fmt_i64 writes what snprintf's %lld does, the extremes included. */
static void test_textbuf_fmt_i64(void **state)
{
	const int64_t v[] = {0, 1, -1, 9, 10, -10, 123456789, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	char got[TEXTBUF_I64_SZ + 4], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int n = snprintf(want, sizeof want, "%lld", (long long)v[i]);
		memset(got, 'x', sizeof got);
		assert_int_equal(textbuf_fmt_i64(got, v[i]), (size_t)n);
		assert_string_equal(got, want);
		assert_int_equal(got[TEXTBUF_I64_SZ], 'x'); /* nothing past its size */
	}
}

/* A textbuf in the caller's buffer stays there while the text fits, moves
 * to malloc when it outgrows it (what it held kept), and steal hands out a
 * malloc'd copy either way; the caller's buffer is never freed (ASan and
 * the leak check would say). */
static void test_textbuf_buf(void **state)
{
	struct textbuf t;
	char buf[8], *s;

	(void)state;
	textbuf_init_buf(&t, 64, buf, sizeof buf);
	textbuf_puts(&t, "abcdefg"); /* 7 and the NUL: fits */
	assert_ptr_equal(t.s, buf);
	s = textbuf_steal(&t, NULL);
	assert_ptr_not_equal(s, buf);
	assert_string_equal(s, "abcdefg");
	free(s);
	textbuf_init_buf(&t, 64, buf, sizeof buf);
	textbuf_puts(&t, "abcdefg");
	textbuf_puts(&t, "hij"); /* outgrows buf */
	assert_ptr_not_equal(t.s, buf);
	assert_string_equal(t.s, "abcdefghij");
	textbuf_puts(&t, "klmnopqrstuvwxyz");
	assert_string_equal(t.s, "abcdefghijklmnopqrstuvwxyz");
	textbuf_release(&t);
	textbuf_init_buf(&t, 64, buf, sizeof buf);
	textbuf_puts(&t, "ab");
	textbuf_release(&t); /* frees nothing */
	textbuf_init_buf(&t, 64, buf, sizeof buf);
	assert_string_equal(t.s, "");
	textbuf_release(&t);
}

/* textbuf_unput reopens a closed object, and only that. */
static void test_textbuf_unput(void **state)
{
	struct textbuf t;
	char *s;

	(void)state;
	textbuf_init(&t, 16);
	assert_int_equal(textbuf_unput(&t, '}'), 0); /* empty */
	textbuf_puts(&t, "{\"a\":1}");
	assert_int_equal(textbuf_unput(&t, ']'), 0);
	assert_int_equal(textbuf_unput(&t, '}'), 1);
	assert_string_equal(t.s, "{\"a\":1"); /* still a C string */
	textbuf_puts(&t, ",\"b\":2}");
	s = textbuf_steal(&t, NULL);
	assert_string_equal(s, "{\"a\":1,\"b\":2}");
	free(s);
	textbuf_init(&t, 4);
	textbuf_puts(&t, "{}");
	assert_true(textbuf_puts(&t, "toolong") < 0);
	assert_int_equal(textbuf_unput(&t, '}'), 0); /* after a failed add: nothing */
	textbuf_release(&t);
}

static int compare_chat(struct fx *f, int64_t uid, int viewer, const char *country, const struct store_chat *c)
{
	struct core_tx tx = tx_for(f, uid);
	struct render_files files;
	struct cmp_ctx x = {&tx, c, NULL, 0};
	int n;

	tx.ev = NULL;
	tx.viewer = viewer;
	if (country) {
		snprintf(tx.country, sizeof tx.country, "%s", country);
		tx.country_known = 1;
	}
	/* Copy-free: the callback renders while the history statement steps,
	 * which the ops it calls (other statements) allow. */
	assert_int_equal(store_message_history(f->u.s, c->id, uid, 0, STORE_OLDER, 100, cmp_one, &x), 0);
	/* Again with the page's files looked up at once, as getHistory does. */
	n = x.n;
	x.n = 0;
	render_files_load(&tx, c->id, 1, c->last_msg_id, &files);
	x.files = &files;
	assert_int_equal(store_message_history(f->u.s, c->id, uid, 0, STORE_OLDER, 100, cmp_one, &x), 0);
	assert_int_equal(x.n, n);
	core_tx_release(&tx);
	return x.n;
}

static void test_text_matches_tree(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice);
	struct core_access dm, grp, ch, grp_b;
	struct store_chat g, chan;
	struct store_message m;
	struct store_restriction r = {0};
	int64_t ids[] = {f->bob, f->carol}, first, post;

	/* A private chat, a group and a channel with every kind of message. */
	assert_int_equal(core_chat_resolve(&tx, f->bob, NULL, 1, CORE_NEED_NONE, &dm), 0);
	assert_int_equal(core_group_create(&tx, "Club \"\xc3\xa9\"", ids, 2, "desc", &g), 0);
	assert_int_equal(core_channel_create(&tx, "News", "news_chan", NULL, &chan), 0);
	assert_int_equal(core_chat_resolve(&tx, -g.id, NULL, 0, CORE_NEED_READ, &grp), 0);
	assert_int_equal(core_chat_resolve(&tx, -chan.id, NULL, 0, CORE_NEED_READ, &ch), 0);
	first = send_text(f, f->alice, &dm, "plain", 0);
	send_text(f, f->alice, &dm, "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f us \x1f del \x7f "
				  "\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", first);
	send_text(f, f->bob, &dm, "from bob", first);
	/* Characters to escape at every place of an 8-byte step, next to
	 * plain ASCII and UTF-8 runs (text_str skips plain text 8 bytes a step). */
	send_text(f, f->alice, &dm, "a\"bcdefgh\\ijklmnop\x01qrstuvwx\x1fyz0123456\"\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				  "0123456\n01234567\\", 0);
	assert_int_equal(core_message_edit(&tx, &dm, first, "edited", &m), 0);
	store_message_release(&m);
	first = send_text(f, f->alice, &grp, "group hello", 0);
	{
		struct core_tx tb = tx_for(f, f->bob);
		assert_int_equal(core_chat_resolve(&tb, -g.id, NULL, 0, CORE_NEED_READ, &grp_b), 0);
		core_tx_release(&tb);
	}
	send_text(f, f->bob, &grp_b, "group reply", first);
	post = send_text(f, f->alice, &ch, "channel post", 0);
	send_text(f, f->alice, &ch, "channel reply", post);
	assert_int_equal(core_message_forward(&tx, &grp, &ch, post, &m), 0);
	store_message_release(&m);
	assert_int_equal(core_message_forward(&tx, &dm, &grp, first, &m), 0);
	store_message_release(&m);
	assert_int_equal(core_message_pin(&tx, &grp, first, 1), 0);
	assert_int_equal(store_message_set_statement(f->u.s, dm.chat.id, 1, 7), 0);
	{ /* a photo on bob's message */
		struct store_file file = {0};
		int need = 0;
		snprintf(file.sha256, sizeof file.sha256, "%064d", 7);
		snprintf(file.file_id, sizeof file.file_id, "AgADfile1");
		snprintf(file.mime, sizeof file.mime, "image/jpeg");
		file.kind = STORE_FILE_PHOTO;
		file.size = 1000;
		file.width = file.height = 90;
		file.uploader_id = f->bob;
		file.created_at = 1800000000;
		assert_int_equal(store_blob_reserve(f->u.s, file.sha256, 1000, 1800000000, &need), 0);
		assert_int_equal(store_blob_publish(f->u.s, file.sha256), 0);
		assert_int_equal(store_file_put(f->u.s, &file), 0);
		assert_int_equal(store_media_attach(f->u.s, dm.chat.id, 3, 0, file.id), 0);
	}
	assert_int_equal(store_message_moderate(f->u.s, grp.chat.id, first, 1), 0);
	core_tx_release(&tx);
	/* Fresh rows (titles, pins). */
	assert_int_equal(store_chat_get(f->u.s, dm.chat.id, &dm.chat), 0);
	assert_int_equal(store_chat_get(f->u.s, g.id, &g), 0);
	assert_int_equal(store_chat_get(f->u.s, chan.id, &chan), 0);

	for (int viewer = 0; viewer <= 1; viewer++) {
		assert_true(compare_chat(f, f->alice, viewer, "DE", &dm.chat) >= 4);
		assert_true(compare_chat(f, f->bob, viewer, NULL, &dm.chat) >= 4);
		assert_true(compare_chat(f, f->alice, viewer, "DE", &g) >= 4);
		assert_true(compare_chat(f, f->carol, viewer, "DE", &g) >= 4);
		assert_true(compare_chat(f, f->alice, viewer, "FR", &chan) >= 2);
	}
	/* Restrictions in force: one message of the private chat, the whole
	 * channel; the viewer in DE sees them withheld, others not. */
	r.chat_id = dm.chat.id;
	r.msg_id = 2;
	snprintf(r.territories, sizeof r.territories, "DE,AT");
	r.statement_id = 11;
	r.created_at = 1800000000;
	assert_int_equal(store_restriction_add(f->u.s, &r), 0);
	r.chat_id = chan.id;
	r.msg_id = 0;
	r.statement_id = 12;
	assert_int_equal(store_restriction_add(f->u.s, &r), 0);
	for (int viewer = 0; viewer <= 1; viewer++) {
		assert_true(compare_chat(f, f->alice, viewer, "DE", &dm.chat) >= 4);
		assert_true(compare_chat(f, f->alice, viewer, "FR", &dm.chat) >= 4);
		assert_true(compare_chat(f, f->bob, viewer, NULL, &dm.chat) >= 4);
		assert_true(compare_chat(f, f->alice, viewer, "DE", &chan) >= 2);
		assert_true(compare_chat(f, f->alice, viewer, "US", &chan) >= 2);
		assert_true(compare_chat(f, f->carol, viewer, "DE", &g) >= 4);
	}
}

static const char *first_name(json_t *user)
{
	return json_string_value(json_object_get(user, "first_name"));
}

/* message m in chat c rendered as text (depth) and through the tree: equal. */
static char *text_of(struct core_tx *tx, const struct store_chat *c, const struct store_message *m, int depth)
{
	struct textbuf out;
	json_t *j = render_message(tx, c, m, depth);
	char *want = json_dumps(j, JSON_COMPACT), *got;

	json_decref(j);
	textbuf_init(&out, 1 << 20);
	assert_int_equal(render_message_text(tx, c, m, depth, NULL, &out), 0);
	got = textbuf_steal(&out, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	return got;
}

/* A send's reply and its update are one rendering (tx->memo): the second
 * is the first's bytes, and anything that would render differently (the
 * viewer, the message, the chat) renders afresh. */
static void test_memo_fresh(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice);
	struct core_access dm;
	struct store_message m, other;
	struct store_chat c;
	char *first, *again;

	assert_int_equal(core_chat_resolve(&tx, f->bob, NULL, 1, CORE_NEED_NONE, &dm), 0);
	assert_int_equal(core_message_send(&tx, &dm, "hello \"memo\"", 0, &m), 0);
	first = text_of(&tx, &dm.chat, &m, 0);
	assert_non_null(tx.memo.s);
	again = text_of(&tx, &dm.chat, &m, 1);
	assert_string_equal(again, first);
	free(again);
	other = m;
	other.edit_date = 1800000123;
	free(text_of(&tx, &dm.chat, &other, 1));
	other = m;
	other.text = "something else";
	free(text_of(&tx, &dm.chat, &other, 1));
	c = dm.chat;
	c.last_msg_id++;
	free(text_of(&tx, &c, &m, 1));
	tx.uid = f->bob;
	again = text_of(&tx, &dm.chat, &m, 1);
	assert_string_not_equal(again, first);
	free(again);
	tx.uid = f->alice;
	again = text_of(&tx, &dm.chat, &m, 1);
	assert_string_equal(again, first);
	free(again);
	free(first);
	store_message_release(&m);
	core_tx_release(&tx);
	assert_null(tx.memo.s);
}

/* A tx reused for the next call (core_tx_reuse, as the writer does) starts
 * as a zeroed one: nothing of the last call's caches — its fresh message,
 * its memo, the users it rendered — is taken for the new call's, though
 * their rows stay in memory. */
static void test_tx_reuse(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice), z = tx_for(f, f->bob);
	struct core_access dm, back;
	struct store_message m, m2;
	struct store_user u;
	char *first, *second;

	assert_int_equal(core_chat_resolve(&tx, f->bob, NULL, 1, CORE_NEED_NONE, &dm), 0);
	assert_int_equal(core_message_send(&tx, &dm, "first call", 0, &m), 0);
	first = text_of(&tx, &dm.chat, &m, 0);
	assert_non_null(tx.memo.s);
	assert_true(tx.fresh.noted);
	assert_true(tx.users.n > 0 || tx.users.noted.id != 0);
	tx.code = 7;
	snprintf(tx.detail, sizeof tx.detail, "left over");

	core_tx_reuse(&tx);
	assert_null(tx.memo.s);
	assert_null(tx.memo.text);
	assert_null(tx.users.v);
	assert_int_equal(tx.users.n, 0);
	assert_int_equal(tx.users.noted.id, 0);
	assert_false(tx.fresh.noted);
	assert_false(tx.fresh.valid);
	assert_null(tx.fresh.m.text);
	assert_int_equal(tx.code, 0);
	assert_string_equal(tx.detail, "");
	assert_null(tx.s);
	/* The next call, by bob, as a fresh tx would run it. */
	tx.core = z.core;
	tx.s = z.s;
	tx.now = z.now;
	tx.mono = z.mono;
	tx.uid = f->bob;
	tx.ev = z.ev;
	assert_int_equal(core_user_get(&tx, f->bob, &u), 0);
	assert_int_equal(core_chat_resolve(&tx, f->alice, NULL, 1, CORE_NEED_NONE, &back), 0);
	assert_int_equal(core_message_send(&tx, &back, "second call", 0, &m2), 0);
	second = text_of(&tx, &back.chat, &m2, 0);
	assert_string_not_equal(second, first);
	assert_non_null(strstr(second, "second call"));
	/* The first message as bob's new call sees it: rendered afresh. */
	free(text_of(&tx, &dm.chat, &m, 1));
	free(first);
	free(second);
	store_message_release(&m);
	store_message_release(&m2);
	core_tx_release(&tx);
	core_tx_release(&z);
}

/* A call that renders a user, changes that user's row and renders again
 * shows the new row: every core write forgets the cached user. */
static void test_user_cache_forgets_writes(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->carol);
	struct core_access dm;
	struct store_user u;
	json_t *a, *b, *c;

	assert_int_equal(core_chat_resolve(&tx, f->alice, NULL, 1, CORE_NEED_NONE, &dm), 0);
	a = render_user_id(&tx, f->carol);
	assert_string_equal(first_name(a), "carol");
	assert_int_equal(core_profile_update(&tx, "Carol Renamed", NULL, &u), 0);
	b = render_user_id(&tx, f->carol);
	assert_string_equal(first_name(b), "Carol Renamed");
	/* The peer named by a private chat comes from the same cache. */
	{
		struct core_tx ta = tx_for(f, f->alice);
		json_t *chat = render_chat(&ta, &dm.chat);
		assert_string_equal(first_name(chat), "Carol Renamed");
		json_decref(chat);
		core_tx_release(&ta);
	}
	/* A user looked up before they existed renders once they do. */
	c = render_user_id(&tx, f->carol + 100);
	assert_string_equal(first_name(c), "Deleted Account");
	json_decref(c);
	assert_int_equal(core_profile_country(&tx, "DE", &u), 0);
	c = render_user_id(&tx, f->carol);
	assert_string_equal(first_name(c), "Carol Renamed");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	core_tx_release(&tx);
	assert_null(tx.users.v);
}

/* The cache is bounded: past CORE_USER_CACHE_MAX users a call still renders
 * every one correctly (the rest straight from the store). */
static void test_user_cache_bounded(void **state)
{
	struct fx *f = *state;
	struct core_tx tx = tx_for(f, f->alice);
	struct core_user_brief u;

	for (int64_t id = 1; id <= CORE_USER_CACHE_MAX + 50; id++) {
		int rc = core_user_brief(&tx, id, &u);
		if (id == f->alice || id == f->bob || id == f->carol)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, PL_NOTFOUND);
	}
	assert_true(tx.users.n <= CORE_USER_CACHE_MAX);
	assert_int_equal(core_user_brief(&tx, f->bob, &u), 0);
	assert_string_equal(u.username, "bobby");
	core_tx_release(&tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textbuf_unput),
		cmocka_unit_test(test_textbuf_buf),
		cmocka_unit_test(test_textbuf_fmt_i64),
		cmocka_unit_test_setup_teardown(test_text_matches_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memo_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_cache_forgets_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_cache_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
