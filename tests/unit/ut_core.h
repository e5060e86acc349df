/* ut_core.h — the fixture of the unit tests that run src/core over a real
 * SQLite store in a temporary folder (test_core, test_moderation,
 * test_render).  Header-only: each test program is one translation unit.
 *
 * ut_core_open() makes the folder, opens and migrates the store, and sets up
 * a struct core with the "min" password cost, a login rate table and an empty
 * check chain (the caller adds its checks); ut_core_close() releases all of
 * it and removes the folder.  Everything is owned by the struct ut_core. */
#ifndef PL_TESTS_UT_CORE_H
#define PL_TESTS_UT_CORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/core.h"
#include "util/ratelimit.h"

struct ut_core {
	char dir[64];
	struct store *s;
	struct core core;
	struct bus_events ev;
	double mono;      /* the monotonic clock calls see ... */
	double mono_step; /* ... advanced by this much for each call (0: frozen) */
};

static inline void ut_core_open(struct ut_core *u, const char *tag)
{
	char err[256];

	snprintf(u->dir, sizeof u->dir, "/tmp/parley-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(u->dir));
	u->s = store_sqlite_open(u->dir, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(u->s);
	assert_int_equal(store_migrate(u->s), 0);
	assert_int_equal(core_set_password_cost(&u->core, "min"), 0);
	snprintf(u->core.public_url, sizeof u->core.public_url, "http://chat.example");
	u->core.login_limits = rl_table_new(16);
	u->core.login_per_min = 10;
	safety_chain_init(&u->core.chain);
	bus_events_init(&u->ev);
	u->mono = 1000.0;
}

static inline void ut_core_close(struct ut_core *u)
{
	char cmd[128];

	store_close(u->s);
	rl_table_free(u->core.login_limits);
	bus_events_release(&u->ev);
	snprintf(cmd, sizeof cmd, "rm -rf %s", u->dir);
	assert_int_equal(system(cmd), 0);
}

/* A call by uid (0: the system) at a fixed date. */
static inline struct core_tx ut_tx(struct ut_core *u, int64_t uid)
{
	struct core_tx tx;

	memset(&tx, 0, sizeof tx);
	tx.core = &u->core;
	tx.s = u->s;
	tx.now = 1800000000;
	tx.mono = (u->mono += u->mono_step);
	tx.uid = uid;
	tx.ev = &u->ev;
	return tx;
}

/* Registers @name (display name @display, NULL: the username) with the
 * password "password1"; returns the new user's id. */
static inline int64_t ut_user(struct ut_core *u, const char *name, const char *display)
{
	struct core_tx tx = ut_tx(u, 0);
	char hash[STORE_HASH_SZ], token[65], th[STORE_TOKEN_HASH_SZ];
	struct store_user usr;
	struct store_session ss;

	assert_int_equal(core_password_hash(&u->core, "password1", hash), 0);
	core_token_new(token, th);
	assert_int_equal(core_register(&tx, name, hash, display, "test", "127.0.0.1", th, &usr, &ss), 0);
	core_tx_release(&tx);
	return usr.id;
}

#endif
