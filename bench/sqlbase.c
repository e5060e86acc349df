/*
 * sqlbase.c — the storage baseline: what SQLite itself does on this disk
 * (bench/README.md, "Baselines").
 *
 * Issue 5's durable 1:1 target (50,000 messages per second) was set
 * against "SQLite in WAL did 64,000 row inserts per second in batches of
 * 100 on this machine".  This measures that figure in the same invocation
 * as the server, so the 1:1 rate can be read as a ratio against it rather
 * than against a number from another day: one message-like row (a 100-byte
 * text, clustered by (chat, id) over SB_CHATS interleaved chats, as
 * Parley's messages table is) per insert, SB_BATCH inserts per transaction,
 * WAL with synchronous=FULL (an fsync per commit, as parleyd's default),
 * one prepared statement, in a file beside the server's data folder.
 *
 * Two figures: rows per second of wall time (fsync waits included) and
 * rows per CPU-second of the thread that ran them (what one core can do).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lg.h"

#define SB_BATCH 100   /* inserts per transaction (the reference) */
#define SB_CHATS 64    /* interleaved clustering keys: the 1:1 shape's pairs */
#define SB_TEXT 100    /* bytes of text per row: the live shapes' payload */

static double sb_thread_cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs one statement; 0 or -1 (logged). */
static int sb_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	lg_log("sqlite baseline: %s: %s", sql, err ? err : "?");
	sqlite3_free(err);
	return -1;
}

/* Inserts rows rows in transactions of SB_BATCH; 0 or -1. */
static int sb_fill(sqlite3 *db, sqlite3_stmt *q, long rows)
{
	char text[SB_TEXT + 1];

	memset(text, 'x', SB_TEXT);
	text[SB_TEXT] = '\0';
	for (long i = 0; i < rows;) {
		if (sb_exec(db, "BEGIN IMMEDIATE") < 0)
			return -1;
		for (int k = 0; k < SB_BATCH && i < rows; k++, i++) {
			sqlite3_bind_int64(q, 1, 1000 + i % SB_CHATS);
			sqlite3_bind_int64(q, 2, 1 + i / SB_CHATS);
			sqlite3_bind_int64(q, 3, 1795000000 + i / 20000);
			sqlite3_bind_text(q, 4, text, SB_TEXT, SQLITE_STATIC);
			if (sqlite3_step(q) != SQLITE_DONE) {
				lg_log("sqlite baseline: insert: %s", sqlite3_errmsg(db));
				return -1;
			}
			sqlite3_reset(q);
		}
		if (sb_exec(db, "COMMIT") < 0)
			return -1;
	}
	return 0;
}

void lg_baseline_sqlite(struct lg *g, long rows)
{
	char path[4096], side[4200];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	uint64_t t0;
	double c0;

	snprintf(path, sizeof path, "%s/bench-sqlite-baseline.db", g->o.data);
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		lg_log("sqlite baseline: cannot open %s", path);
		goto out;
	}
	if (sb_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-16384;"
			"DROP TABLE IF EXISTS m;"
			"CREATE TABLE m (chat_id INTEGER NOT NULL, id INTEGER NOT NULL, date INTEGER NOT NULL,"
			" text TEXT, PRIMARY KEY (chat_id, id)) WITHOUT ROWID") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO m(chat_id, id, date, text) VALUES(?1, ?2, ?3, ?4)", -1, &q, NULL) !=
	    SQLITE_OK) {
		lg_log("sqlite baseline: prepare: %s", sqlite3_errmsg(db));
		goto out;
	}
	t0 = lg_now_ns();
	c0 = sb_thread_cpu();
	if (sb_fill(db, q, rows) < 0)
		goto out;
	lg_put(g, "baseline", "SQLite row inserts per second (batches of 100)", "rows/s",
	       "WAL, synchronous=FULL, 64 interleaved (chat, id) keys, 100-byte text",
	       (double)rows / ((double)(lg_now_ns() - t0) / 1e9));
	lg_put(g, "baseline", "SQLite row inserts per CPU-second", "rows/CPU-s", NULL,
	       (double)rows / (sb_thread_cpu() - c0));
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	remove(path);
	snprintf(side, sizeof side, "%s-wal", path);
	remove(side);
	snprintf(side, sizeof side, "%s-shm", path);
	remove(side);
}
