/*
 * test_media_crash.c — kill -9 during uploads (tests/integration/harness.h).
 *
 * Three uploads are left half-sent (their bytes in temporary files) while
 * a client sends 1 MB files as fast as it can, each acknowledged one
 * recorded; parleyd is killed with SIGKILL at that moment, so uploads are
 * caught at every step (streaming, processing, reserved, placed).  After
 * the restart (grace period 2 s):
 *   - the temporary files are gone at start-up;
 *   - every blob on disk is whole (its bytes hash to its name), and every
 *     blob the database calls live is on disk: no half file is referenced;
 *   - every acknowledged file downloads byte for byte;
 *   - once the grace period has passed, what no message refers to is gone
 *     from the disk and from the database: no leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "harness.h"
#include "parley.h"

#define MC_HALF 3                     /* uploads left half-sent */
#define MC_SENDS_MAX 400
#define MC_FILE (1024 * 1024)
#define MC_WAIT_MS 20000

struct mc_sender {
	pthread_t thread;
	struct parley_client *c;
	int64_t to;
	char dir[512];
	atomic_int stop;
	int n;                           /* acknowledged sends */
	char file_id[MC_SENDS_MAX][PARLEY_FILE_ID_MAX + 1];
	uint64_t seed[MC_SENDS_MAX];
};

static void mc_random_file(const char *path, size_t n, uint64_t seed)
{
	FILE *f = fopen(path, "wb");
	uint64_t s = seed * 2 + 1, v;

	assert_non_null(f);
	for (size_t i = 0; i < n; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		v = s;
		fwrite(&v, 1, n - i < 8 ? n - i : 8, f);
	}
	fclose(f);
}

static void *mc_send_loop(void *arg)
{
	struct mc_sender *s = arg;
	char path[600], fields[64];
	struct parley_error err;
	json_t *params, *res;

	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)s->to);
	while (!atomic_load(&s->stop) && s->n < MC_SENDS_MAX) {
		uint64_t seed = 1000 + (uint64_t)s->n;

		snprintf(path, sizeof(path), "%s/send-%d.bin", s->dir, s->n);
		mc_random_file(path, MC_FILE, seed);
		params = json_loads(fields, 0, NULL);
		res = NULL;
		if (parley_upload(s->c, "sendDocument", "document", params, path, NULL, NULL, NULL, &res, &err) == 0) {
			snprintf(s->file_id[s->n], sizeof(s->file_id[0]), "%s",
				 json_string_value(json_object_get(json_object_get(res, "document"), "file_id")));
			s->seed[s->n] = seed;
			s->n++;
		} else {
			json_decref(params);
			unlink(path);
			break; /* the server is gone */
		}
		json_decref(params);
		json_decref(res);
	}
	return NULL;
}

/* A connection that sends the head of an upload, waits for "100 Continue"
 * (the server has authenticated it and opened its temporary file), sends
 * part of the body, then waits. */
static int mc_half_upload(const char *url, const char *token, int64_t to, size_t sent)
{
	struct sockaddr_in sa;
	char head[512], *buf = malloc(sent);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	memset(buf, 'h', sent);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(strrchr(url, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(head, sizeof(head), "POST /api/sendDocument?chat_id=%lld HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
		 "Expect: 100-continue\r\n\r\n", (long long)to, token, sent * 4);
	assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
	assert_true(recv(fd, head, 25, MSG_WAITALL) == 25);
	assert_memory_equal(head, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	assert_int_equal(send(fd, buf, sent, MSG_NOSIGNAL), (ssize_t)sent);
	free(buf);
	return fd;
}

static int mc_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Blob files on disk; each must hash to its name.  Their names in names. */
static int mc_blobs_on_disk(const char *data, char names[][65], int max)
{
	char root[600], p1[900], p2[1200], p3[1500];
	DIR *d1, *d2, *d3;
	struct dirent *e1, *e2, *e3;
	int n = 0;

	snprintf(root, sizeof(root), "%s/blobs", data);
	assert_non_null(d1 = opendir(root));
	while ((e1 = readdir(d1))) {
		if (strlen(e1->d_name) != 2 || e1->d_name[0] == '.')
			continue;
		snprintf(p1, sizeof(p1), "%s/%s", root, e1->d_name);
		assert_non_null(d2 = opendir(p1));
		while ((e2 = readdir(d2))) {
			if (strlen(e2->d_name) != 2 || e2->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", p1, e2->d_name);
			assert_non_null(d3 = opendir(p2));
			while ((e3 = readdir(d3))) {
				crypto_hash_sha256_state st;
				unsigned char digest[32], buf[65536];
				char hex[65];
				size_t k;
				FILE *f;

				if (e3->d_name[0] == '.')
					continue;
				snprintf(p3, sizeof(p3), "%s/%s", p2, e3->d_name);
				assert_non_null(f = fopen(p3, "rb"));
				crypto_hash_sha256_init(&st);
				while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
					crypto_hash_sha256_update(&st, buf, k);
				fclose(f);
				crypto_hash_sha256_final(&st, digest);
				sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
				if (strcmp(hex, e3->d_name) != 0)
					fail_msg("blob %s is not whole (its bytes hash to %s)", e3->d_name, hex);
				if (n < max)
					memcpy(names[n], hex, 65);
				n++;
			}
			closedir(d3);
		}
		closedir(d2);
	}
	closedir(d1);
	return n;
}

/* From the database: blob rows (any state), live ones, and live ones with
 * references. */
static void mc_db_blobs(const char *data, int *rows, int *live, int *referenced, char live_names[][65], int max)
{
	char path[600];
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = 0;

	snprintf(path, sizeof(path), "%s/parley.db", data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sha256, state, refs FROM blobs", -1, &q, NULL), SQLITE_OK);
	*rows = *live = *referenced = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		(*rows)++;
		if (sqlite3_column_int(q, 1) == 0) {
			(*live)++;
			if (n < max)
				snprintf(live_names[n++], 65, "%s", (const char *)sqlite3_column_text(q, 0));
		}
		if (sqlite3_column_int(q, 2) > 0)
			(*referenced)++;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_kill9_during_uploads(void **state)
{
	static const char *const env[] = {"PARLEY_BLOB_GRACE_SECONDS=2", "PARLEY_UPLOAD_CONCURRENCY_PER_USER=20", NULL};
	static char disk[1000][65], live[1000][65];
	struct harness *h;
	struct parley_client *alice, *bob;
	struct mc_sender *s = calloc(1, sizeof(*s));
	char tmp[600], path[600], out[600], fields[80], up_path[600];
	int half[MC_HALF], on_disk, rows, nlive, refd, found;
	struct parley_error err;
	json_t *res = NULL, *params;

	assert_non_null(s);
	assert_true(sodium_init() >= 0);
	assert_non_null(h = harness_start(env));
	alice = harness_user(h, "alice_c");
	bob = harness_user(h, "bob_c");
	/* One upload with no message (unreferenced from the start). */
	snprintf(up_path, sizeof(up_path), "%s/orphan.bin", harness_tmp_dir(h));
	mc_random_file(up_path, 50000, 7);
	params = json_object();
	assert_int_equal(parley_upload(alice, "upload", "file", params, up_path, NULL, NULL, NULL, &res, &err), 0);
	json_decref(params);
	json_decref(res);
	/* Half-sent uploads, with bytes in temporary files. */
	for (int i = 0; i < MC_HALF; i++)
		half[i] = mc_half_upload(harness_url(h), parley_client_token(alice), harness_user_id(h, "bob_c"),
					 3 * 1024 * 1024);
	s->c = harness_login(h, "alice_c");
	s->to = harness_user_id(h, "bob_c");
	snprintf(s->dir, sizeof(s->dir), "%s", harness_tmp_dir(h));
	assert_int_equal(pthread_create(&s->thread, NULL, mc_send_loop, s), 0);
	/* Let a few sends complete, then kill in the middle of the next ones. */
	for (int i = 0; i < 2000 && s->n < 3; i++)
		usleep(10000);
	usleep(30000);
	snprintf(tmp, sizeof(tmp), "%s/blobs/tmp", harness_data_dir(h));
	harness_kill9(h);
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < MC_HALF; i++)
		close(half[i]);
	assert_true(s->n >= 3);
	/* The crash left half-written temporary files. */
	assert_true(mc_count_dir(tmp) >= MC_HALF);
	assert_int_equal(harness_restart(h), 0);
	/* Cleaned at start-up. */
	assert_int_equal(mc_count_dir(tmp), 0);
	/* Every blob on disk whole; every live row on disk. */
	on_disk = mc_blobs_on_disk(harness_data_dir(h), disk, 1000);
	mc_db_blobs(harness_data_dir(h), &rows, &nlive, &refd, live, 1000);
	for (int i = 0; i < nlive && i < 1000; i++) {
		found = 0;
		for (int j = 0; j < on_disk && j < 1000 && !found; j++)
			found = !strcmp(live[i], disk[j]);
		if (!found)
			fail_msg("blob %s is live in the database but not on disk", live[i]);
	}
	assert_true(refd >= s->n);
	/* Every acknowledged file, byte for byte. */
	for (int i = 0; i < s->n; i++) {
		snprintf(path, sizeof(path), "%s/send-%d.bin", s->dir, i);
		snprintf(out, sizeof(out), "%s/got-%d.bin", s->dir, i);
		if (parley_download(bob, s->file_id[i], out, NULL, NULL, NULL, &err) < 0)
			fail_msg("acknowledged file %d (%s): %s: %s", i, s->file_id[i], err.code, err.description);
		{
			char cmd[1400];

			snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", path, out);
			assert_int_equal(system(cmd), 0);
		}
		unlink(out);
	}
	/* After the grace period only referenced blobs are left, on disk and
	 * in the database. */
	for (int i = 0; i < MC_WAIT_MS / 100; i++) {
		on_disk = mc_blobs_on_disk(harness_data_dir(h), disk, 1000);
		mc_db_blobs(harness_data_dir(h), &rows, &nlive, &refd, live, 1000);
		if (on_disk == refd && rows == refd)
			break;
		usleep(100000);
	}
	if (on_disk != refd || rows != refd)
		fail_msg("after the grace period: %d blobs on disk, %d rows, %d referenced", on_disk, rows, refd);
	snprintf(tmp, sizeof(tmp), "%s/blobs/trash", harness_data_dir(h));
	assert_int_equal(mc_count_dir(tmp), 0);
	/* And the files still work. */
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", s->file_id[0]);
	assert_int_equal(parley_call_json(bob, "getFile", fields, NULL, &err), 0);
	assert_int_equal(harness_stop(h), 0);
	harness_free(h);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_during_uploads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
