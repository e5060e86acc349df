/*
 * harness.h — helpers linked into every integration test: start the real
 * parleyd on a free loopback port with a fresh data folder, hand out
 * registered clients, stop, crash and restart it, and clean up.
 *
 * A harness owns a scratch folder (mkdtemp) holding data/ (the daemon's
 * --data) and parleyd.log (its stdout and stderr; set HARNESS_VERBOSE=1 to
 * see them on the terminal instead, HARNESS_KEEP=1 to keep the folder).  The
 * daemon is build/parleyd, or $PARLEYD.  It runs with fast password hashing
 * and rate limits set to 1000000 (effectively off), unless the caller's
 * extra environment says otherwise.
 *
 * Usernames are the server's: 5-32 characters of a-z, 0-9 and _.
 */
#ifndef PL_TESTS_HARNESS_H
#define PL_TESTS_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "parley.h"

#define HARNESS_START_TIMEOUT_MS 10000 /* wait for parleyd.addr and /healthz 200 */
#define HARNESS_STOP_TIMEOUT_MS 10000  /* wait for exit after SIGTERM, then SIGKILL */
#define HARNESS_ENV_MAX 64             /* extra environment entries */
#define HARNESS_CLIENTS_MAX 100000     /* clients one harness hands out */

struct harness;

/* Starts parleyd.  extra_env: "NAME=VALUE" strings ending with NULL (may be
 * NULL), overriding the inherited and default environment, e.g.
 * {"PARLEY_RATE_MESSAGES_PER_SEC=5", NULL}.  Returns NULL (the reason and
 * the daemon's log on stderr) if it does not serve within
 * HARNESS_START_TIMEOUT_MS.  Free with harness_free(). */
struct harness *harness_start(const char *const *extra_env);

/* Stops the daemon if running, frees every client the harness handed out
 * and removes the scratch folder.  NULL is fine. */
void harness_free(struct harness *h);

/* "http://127.0.0.1:PORT" (borrowed; the same across restarts). */
const char *harness_url(const struct harness *h);
/* The daemon's --data folder and a scratch folder for the test's own files
 * (both removed by harness_free). */
const char *harness_data_dir(const struct harness *h);
const char *harness_tmp_dir(const struct harness *h);
/* The daemon's pid, or -1 when it is not running. */
pid_t harness_pid(const struct harness *h);

/* SIGTERM and wait.  Returns the daemon's exit status (0 for a clean stop,
 * 128+N if a signal N ended it), or -1 if it did not stop in time (it is
 * then killed) or was not running. */
int harness_stop(struct harness *h);

/* SIGKILL and wait: a crash, for durability tests. */
void harness_kill9(struct harness *h);

/* Starts the daemon again on the same data folder and port.  0, or -1 (the
 * reason on stderr).  Existing clients reconnect by themselves. */
int harness_restart(struct harness *h);

/* A new client for the daemon with no session.  Owned by the harness. */
struct parley_client *harness_client(struct harness *h);

/* Registers name (display name = name, password from harness_password())
 * and returns its logged-in client, owned by the harness.  Fails the running
 * cmocka test if registration fails. */
struct parley_client *harness_user(struct harness *h, const char *name);

/* A new session (a new client, logged in) of a user made by harness_user().
 * Fails the running test on error. */
struct parley_client *harness_login(struct harness *h, const char *name);

/* The id of a user made by harness_user(); fails the running test if the
 * harness made no such user. */
int64_t harness_user_id(const struct harness *h, const char *name);

/* Calls method with params (a new reference this call takes) and returns
 * the result, a new reference the caller releases; on any error, prints it
 * with line (the caller's __LINE__) and fails the running cmocka test. */
json_t *harness_call_ok(struct parley_client *c, const char *method, json_t *params, int line);

/* Calls method with params (a new reference this call takes) and fails the
 * running cmocka test, printing what came back with line, unless the call
 * failed with HTTP status and error code exactly. */
void harness_call_fails(struct parley_client *c, const char *method, json_t *params, int status, const char *code,
			int line);

/* The password harness_user() gives name, written into buf. */
const char *harness_password(const char *name, char *buf, size_t len);

#endif
