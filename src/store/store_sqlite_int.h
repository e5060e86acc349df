/*
 * store_sqlite_int.h — private to the SQLite backend (store_sqlite.c and
 * sqlite_schema.c).  Nothing outside src/store includes this file.
 */
#ifndef PL_STORE_STORE_SQLITE_INT_H
#define PL_STORE_STORE_SQLITE_INT_H

#include <sqlite3.h>

/* The schema version this build writes: the number of the last migration. */
int store_sqlite_schema_latest(void);

/* Applies, in order, every numbered migration newer than the database's
 * PRAGMA user_version, each in its own BEGIN IMMEDIATE transaction that also
 * advances user_version.  Must be called outside a transaction on a writable
 * connection.  Returns 0, or a negative pl_err with a message in errbuf
 * (which may be NULL).  A database newer than this build is refused. */
int store_sqlite_schema_migrate(sqlite3 *db, char *errbuf, size_t errlen);

/* Maps an (extended) SQLite result code to a negative enum pl_err. */
int store_sqlite_err(int rc);

#endif
