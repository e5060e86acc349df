/*
 * test_media.c — photos and files against the real parleyd
 * (tests/integration/harness.h), through libparley (parley_upload,
 * parley_download) and raw HTTP where headers matter.
 *
 * Covered: byte-exact round trips (a small file, 100 MB, and a download
 * resumed with Range from a partial file — and a partial file with wrong
 * bytes caught by the ETag check); Range (206, 416, suffix), ETag and
 * If-None-Match (304), HEAD, Content-Type from the bytes and
 * Content-Disposition; access (a non-member is refused, no token is refused,
 * a public channel's file is open to all, members and the uploader get it);
 * deduplication (the same bytes twice: one file on disk); the limits with
 * clear codes (too big, wrong type, a decompression bomb, a truncated JPEG,
 * a PNG with a corrupt chunk, an empty file, a long caption, too many uploads
 * at once); EXIF with GPS removed and the photo turned upright; media in
 * history, search (captions), updates and forwards; upload then send by
 * file_id; and an unreferenced file deleted after the grace period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "imggen.h"
#include "parley.h"

#define TM_BIG (100u * 1024 * 1024)
#define TM_RAW_MAX (4u * 1024 * 1024)
#define TM_WAIT_MS 20000

struct tmx {
	struct harness *h;
	struct parley_client *alice, *bob, *carol;
	int64_t alice_id, bob_id, carol_id;
};

/* ---- helpers ------------------------------------------------------------------ */

static char *tm_path(struct tmx *t, const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", harness_tmp_dir(t->h), name);
	return buf[i];
}

static void tm_write(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *tm_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char *p;

	if (f == NULL)
		fail_msg("cannot read %s", path);
	assert_int_equal(fstat(fileno(f), &st), 0);
	if (!S_ISREG(st.st_mode))
		fail_msg("%s is not a file", path);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*n = (size_t)st.st_size;
	return p;
}

/* n pseudo-random bytes (a fast xorshift; only distinctness matters). */
static void tm_random_file(const char *path, size_t n, uint64_t seed)
{
	FILE *f = fopen(path, "wb");
	uint64_t s = seed | 1, buf[8192];

	assert_non_null(f);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);

		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			buf[i] = s;
		}
		assert_int_equal(fwrite(buf, 1, k, f), k);
		done += k;
	}
	assert_int_equal(fclose(f), 0);
}

static int tm_files_equal(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	char ba[65536], bb[65536];
	size_t na, nb;
	int same = fa && fb;

	while (same) {
		na = fread(ba, 1, sizeof(ba), fa);
		nb = fread(bb, 1, sizeof(bb), fb);
		if (na != nb || memcmp(ba, bb, na) != 0)
			same = 0;
		if (na == 0)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Uploads path with method, fields as JSON text; returns the result. */
static json_t *tm_upload(struct parley_client *c, const char *method, const char *field, const char *fields,
			 const char *path, struct parley_error *err)
{
	json_t *params = json_loads(fields ? fields : "{}", 0, NULL), *res = NULL;
	int rc;

	assert_non_null(params);
	rc = parley_upload(c, method, field, params, path, NULL, NULL, NULL, &res, err);
	json_decref(params);
	return rc == 0 ? res : NULL;
}

/* Uploads and expects success; returns the message (or File). */
static json_t *tm_send(struct parley_client *c, const char *method, const char *field, const char *fields,
		       const char *path)
{
	struct parley_error err;
	json_t *r = tm_upload(c, method, field, fields, path, &err);

	if (!r)
		fail_msg("%s: %s: %s", method, err.code, err.description);
	return r;
}

/* Uploads and expects the error code. */
static void tm_refused(struct parley_client *c, const char *method, const char *field, const char *fields,
		       const char *path, const char *code, int status)
{
	struct parley_error err;
	json_t *r = tm_upload(c, method, field, fields, path, &err);

	if (r) {
		json_decref(r);
		fail_msg("%s of %s: accepted, want %s", method, path, code);
	}
	if (strcmp(err.code, code) != 0 || err.http_status != status)
		fail_msg("%s of %s: %d %s (%s), want %d %s", method, path, err.http_status, err.code, err.description,
			 status, code);
}

static const char *tm_str(json_t *o, const char *path1, const char *key)
{
	json_t *x = path1 ? json_object_get(o, path1) : o;

	return json_string_value(json_object_get(x, key));
}

static json_t *tm_call(struct parley_client *c, const char *method, const char *json)
{
	struct parley_error err;
	json_t *res = NULL;

	if (parley_call_json(c, method, json, &res, &err) < 0)
		fail_msg("%s %s: %s: %s", method, json, err.code, err.description);
	return res;
}

static void tm_call_fails(struct parley_client *c, const char *method, const char *json, const char *code)
{
	struct parley_error err;
	json_t *res = NULL;

	if (parley_call_json(c, method, json, &res, &err) == 0) {
		json_decref(res);
		fail_msg("%s %s: accepted, want %s", method, json, code);
	}
	if (strcmp(err.code, code) != 0)
		fail_msg("%s %s: %s (%s), want %s", method, json, err.code, err.description, code);
}

/* A raw HTTP exchange (for headers libparley does not send): the status,
 * the head and the body (malloc'd). */
static int tm_raw(struct tmx *t, const char *req, char *head, size_t headcap, char **body, size_t *blen)
{
	const char *url = harness_url(t->h);
	struct sockaddr_in sa;
	char *buf = malloc(TM_RAW_MAX + 1), *end;
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1, port = atoi(strrchr(url, ':') + 1);

	assert_non_null(buf);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	shutdown(fd, SHUT_WR); /* Connection: close is in every request */
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t k;

		if (poll(&p, 1, TM_WAIT_MS) <= 0)
			break;
		if ((k = recv(fd, buf + n, TM_RAW_MAX - n, 0)) <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &status);
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	snprintf(head, headcap, "%.*s", (int)(end + 4 - buf), buf);
	*blen = n - (size_t)(end + 4 - buf);
	*body = malloc(*blen + 1);
	memcpy(*body, end + 4, *blen);
	(*body)[*blen] = '\0';
	free(buf);
	return status;
}

/* The value of header name in head (a static copy), or NULL. */
static const char *tm_header(const char *head, const char *name)
{
	static char v[1024];
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *s = p + n + 1, *e = strstr(s, "\r\n");

			while (*s == ' ')
				s++;
			snprintf(v, sizeof(v), "%.*s", (int)(e - s), s);
			return v;
		}
	}
	return NULL;
}

/* Blob files on disk, each checked to be named by its SHA-256. */
static int tm_blobs_on_disk(struct tmx *t)
{
	char root[600], p1[900], p2[1200], p3[1500];
	DIR *d1, *d2, *d3;
	struct dirent *e1, *e2, *e3;
	int n = 0;

	snprintf(root, sizeof(root), "%s/blobs", harness_data_dir(t->h));
	assert_non_null(d1 = opendir(root));
	while ((e1 = readdir(d1))) {
		if (strlen(e1->d_name) != 2 || e1->d_name[0] == '.')
			continue;
		snprintf(p1, sizeof(p1), "%s/%s", root, e1->d_name);
		if (!(d2 = opendir(p1)))
			continue;
		while ((e2 = readdir(d2))) {
			if (strlen(e2->d_name) != 2 || e2->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", p1, e2->d_name);
			if (!(d3 = opendir(p2)))
				continue;
			while ((e3 = readdir(d3))) {
				unsigned char digest[32];
				char hex[65];
				size_t len;
				unsigned char *data;

				if (e3->d_name[0] == '.')
					continue;
				snprintf(p3, sizeof(p3), "%s/%s", p2, e3->d_name);
				data = tm_read(p3, &len);
				crypto_hash_sha256(digest, data, len);
				sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
				free(data);
				if (strcmp(hex, e3->d_name) != 0)
					fail_msg("blob %s holds bytes hashing to %s", e3->d_name, hex);
				n++;
			}
			closedir(d3);
		}
		closedir(d2);
	}
	closedir(d1);
	return n;
}

/* ---- fixtures ------------------------------------------------------------------- */

static int tm_setup_env(void **state, const char *const *env)
{
	struct tmx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_true(sodium_init() >= 0);
	t->h = harness_start(env);
	assert_non_null(t->h);
	t->alice = harness_user(t->h, "alice_m");
	t->bob = harness_user(t->h, "bob_m");
	t->carol = harness_user(t->h, "carol_m");
	t->alice_id = harness_user_id(t->h, "alice_m");
	t->bob_id = harness_user_id(t->h, "bob_m");
	t->carol_id = harness_user_id(t->h, "carol_m");
	*state = t;
	return 0;
}

static int tm_setup(void **state)
{
	static const char *const env[] = {"PARLEY_BLOB_GRACE_SECONDS=2", NULL};

	return tm_setup_env(state, env);
}

static int tm_setup_limits(void **state)
{
	static const char *const env[] = {"PARLEY_PHOTO_MAX_BYTES=100000", "PARLEY_FILE_MAX_BYTES=300000",
					  "PARLEY_PHOTO_MAX_PIXELS=1000000", "PARLEY_UPLOAD_CONCURRENCY_PER_USER=1",
					  NULL};

	return tm_setup_env(state, env);
}

static int tm_teardown(void **state)
{
	struct tmx *t = *state;
	int status = harness_stop(t->h);

	harness_free(t->h);
	free(t);
	/* A clean stop (under ASan: no leak, no error in the daemon either). */
	assert_int_equal(status, 0);
	return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_small_round_trip_history_search(void **state)
{
	struct tmx *t = *state;
	char fields[256], *out = tm_path(t, "small.out"), *in = tm_path(t, "small.bin");
	json_t *m, *doc, *hist, *found, *file;
	struct parley_error err;
	uint64_t size = 0;

	tm_random_file(in, 1000, 1);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"caption\":\"quarterly zebra numbers\"}",
		 (long long)t->bob_id);
	m = tm_send(t->alice, "sendDocument", "document", fields, in);
	doc = json_object_get(m, "document");
	assert_non_null(doc);
	assert_string_equal(tm_str(m, NULL, "caption"), "quarterly zebra numbers");
	assert_null(json_object_get(m, "text"));
	assert_string_equal(tm_str(doc, NULL, "file_name"), "small.bin");
	assert_string_equal(tm_str(doc, NULL, "mime_type"), "application/octet-stream");
	assert_int_equal(json_integer_value(json_object_get(doc, "file_size")), 1000);
	/* The receiver downloads it byte for byte. */
	assert_int_equal(parley_download(t->bob, tm_str(doc, NULL, "file_id"), out, NULL, NULL, &size, &err), 0);
	assert_int_equal(size, 1000);
	assert_true(tm_files_equal(in, out));
	/* getFile: the File shape. */
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", tm_str(doc, NULL, "file_id"));
	file = tm_call(t->bob, "getFile", fields);
	assert_string_equal(tm_str(file, NULL, "file_unique_id"), tm_str(doc, NULL, "file_unique_id"));
	assert_non_null(strstr(tm_str(file, NULL, "file_path"), "documents/"));
	json_decref(file);
	/* History and search show it, with its caption. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->alice_id);
	hist = tm_call(t->bob, "getHistory", fields);
	assert_string_equal(tm_str(json_array_get(hist, 0), "document", "file_id"), tm_str(doc, NULL, "file_id"));
	usleep(400 * 1000); /* new messages are searchable within the index's age bound (docs/api.md) */
	found = tm_call(t->bob, "searchMessages", "{\"query\":\"zebra\"}");
	assert_int_equal(json_array_size(found), 1);
	assert_string_equal(tm_str(json_array_get(found, 0), "document", "file_id"), tm_str(doc, NULL, "file_id"));
	/* A media message's caption is not editable as text. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"message_id\":%lld,\"text\":\"x\"}", (long long)t->bob_id,
		 (long long)json_integer_value(json_object_get(m, "message_id")));
	tm_call_fails(t->alice, "editMessageText", fields, "MESSAGE_EDIT_FORBIDDEN");
	json_decref(hist);
	json_decref(found);
	json_decref(m);
}

static void test_big_round_trip_and_resume(void **state)
{
	struct tmx *t = *state;
	char fields[128], *in = tm_path(t, "big.bin"), *out = tm_path(t, "big.out"), part[600];
	json_t *m;
	struct parley_error err;
	const char *fid;
	uint64_t size;
	size_t n;
	unsigned char *data;

	tm_random_file(in, TM_BIG, 2);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendDocument", "document", fields, in);
	fid = tm_str(m, "document", "file_id");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "document"), "file_size")), TM_BIG);
	assert_int_equal(parley_download(t->bob, fid, out, NULL, NULL, &size, &err), 0);
	assert_int_equal(size, TM_BIG);
	assert_true(tm_files_equal(in, out));
	unlink(out);
	/* Resumed: a part with the first 37 MB; Range fetches the rest. */
	snprintf(part, sizeof(part), "%s.part", out);
	data = tm_read(in, &n);
	tm_write(part, data, 37u * 1024 * 1024);
	assert_int_equal(parley_download(t->bob, fid, out, NULL, NULL, &size, &err), 0);
	assert_true(tm_files_equal(in, out));
	assert_int_equal(access(part, F_OK), -1);
	unlink(out);
	/* A part with wrong bytes: the rest comes by Range (206), and the
	 * whole then fails the ETag's SHA-256 and is thrown away. */
	data[5] ^= 1;
	tm_write(part, data, 1000);
	assert_int_equal(parley_download(t->bob, fid, out, NULL, NULL, &size, &err), PARLEY_EPROTO);
	assert_non_null(strstr(err.description, "do not match"));
	assert_int_equal(access(part, F_OK), -1);
	assert_int_equal(access(out, F_OK), -1);
	free(data);
	unlink(in);
	json_decref(m);
}

static void test_http_headers(void **state)
{
	struct tmx *t = *state;
	char fields[128], req[1024], head[4096], path[256], etag[128], *body;
	const char *h;
	size_t blen;
	json_t *m, *file;
	unsigned char *png;
	size_t plen;

	assert_int_equal(imggen_png(64, 48, 0, &png, &plen), 0);
	tm_write(tm_path(t, "résumé \"q\".png"), png, plen);
	free(png);
	/* Sent as a document: kept as it is, typed from the bytes. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendDocument", "document", fields, tm_path(t, "résumé \"q\".png"));
	assert_string_equal(tm_str(m, "document", "mime_type"), "image/png");
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", tm_str(m, "document", "file_id"));
	file = tm_call(t->bob, "getFile", fields);
	snprintf(path, sizeof(path), "/file/%s", tm_str(file, NULL, "file_path"));
	/* Whole, with the headers. */
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n",
		 path, parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 200);
	assert_int_equal(blen, plen);
	assert_string_equal(tm_header(head, "Content-Type"), "image/png");
	assert_string_equal(tm_header(head, "Accept-Ranges"), "bytes");
	assert_string_equal(tm_header(head, "X-Content-Type-Options"), "nosniff");
	assert_non_null(strstr(tm_header(head, "Cache-Control"), "private"));
	assert_string_equal(tm_header(head, "Content-Disposition"),
			    "attachment; filename=\"r_sum_ _q_.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22q%22.png");
	snprintf(etag, sizeof(etag), "%s", tm_header(head, "ETag"));
	assert_int_equal(strlen(etag), 66);
	free(body);
	/* Range: a middle, a suffix, unsatisfiable, and an If-Range that
	 * does not match (the whole). */
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nRange: bytes=10-29\r\nConnection: close\r\n"
		 "Authorization: Bearer %s\r\n\r\n", path, parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 206);
	assert_int_equal(blen, 20);
	snprintf(etag + 100, 28, "bytes 10-29/%zu", plen);
	assert_string_equal(tm_header(head, "Content-Range"), etag + 100);
	free(body);
	snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nRange: bytes=-7\r\nConnection: close\r\n\r\n",
		 path, parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 206);
	assert_int_equal(blen, 7);
	free(body);
	snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nRange: bytes=%zu-\r\nConnection: close\r\n\r\n",
		 path, parley_client_token(t->bob), plen);
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 416);
	assert_non_null(strstr(body, "RANGE_NOT_SATISFIABLE"));
	free(body);
	snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\nIf-Range: \"other\"\r\n"
		 "Connection: close\r\n\r\n", path, parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 200);
	assert_int_equal(blen, plen);
	free(body);
	/* If-None-Match: 304 with no body; HEAD: the length, no body. */
	snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"x\", %s\r\n"
		 "Connection: close\r\n\r\n", path, parley_client_token(t->bob), etag);
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 304);
	assert_int_equal(blen, 0);
	free(body);
	snprintf(req, sizeof(req), "HEAD %s?token=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path,
		 parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 200);
	assert_int_equal(blen, 0);
	assert_int_equal(atoi(tm_header(head, "Content-Length")), (int)plen);
	free(body);
	/* The Bot API's form of the path, and a file_id that does not exist. */
	snprintf(req, sizeof(req), "GET /file/bot%s/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 parley_client_token(t->bob), tm_str(file, NULL, "file_path"));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 200);
	free(body);
	snprintf(req, sizeof(req), "GET /file/documents/nosuchfile.png?token=%s HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\n\r\n", parley_client_token(t->bob));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 404);
	free(body);
	(void)h;
	json_decref(file);
	json_decref(m);
}

static void test_access(void **state)
{
	struct tmx *t = *state;
	char fields[256], req[1024], head[4096], *body, path[256];
	struct parley_error err;
	json_t *m, *chat, *file;
	int64_t group, channel;
	size_t blen;
	const char *fid;

	tm_random_file(tm_path(t, "secret.bin"), 5000, 3);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendDocument", "document", fields, tm_path(t, "secret.bin"));
	fid = tm_str(m, "document", "file_id");
	/* Carol is in no chat holding it. */
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", fid);
	tm_call_fails(t->carol, "getFile", fields, "FILE_FORBIDDEN");
	assert_int_equal(parley_download(t->carol, fid, tm_path(t, "carol.out"), NULL, NULL, NULL, &err), PARLEY_EAPI);
	assert_string_equal(err.code, "FILE_FORBIDDEN");
	file = tm_call(t->bob, "getFile", fields);
	snprintf(path, sizeof(path), "/file/%s", tm_str(file, NULL, "file_path"));
	json_decref(file);
	snprintf(req, sizeof(req), "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path,
		 parley_client_token(t->carol));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 403);
	assert_non_null(strstr(body, "FILE_FORBIDDEN"));
	free(body);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 401);
	free(body);
	/* Carol may not send it on by file_id either. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"document\":\"%s\"}", (long long)t->alice_id, fid);
	tm_call_fails(t->carol, "sendDocument", fields, "FILE_FORBIDDEN");
	/* In a group with her, she may: forwarded there, it travels along. */
	snprintf(fields, sizeof(fields), "{\"title\":\"media\",\"user_ids\":[%lld]}", (long long)t->carol_id);
	chat = tm_call(t->bob, "createGroup", fields);
	group = json_integer_value(json_object_get(chat, "id"));
	json_decref(chat);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"from_chat_id\":%lld,\"message_id\":%lld}", (long long)group,
		 (long long)t->alice_id, (long long)json_integer_value(json_object_get(m, "message_id")));
	json_decref(tm_call(t->bob, "forwardMessage", fields));
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", fid);
	json_decref(tm_call(t->carol, "getFile", fields));
	assert_int_equal(parley_download(t->carol, fid, tm_path(t, "carol.out"), NULL, NULL, NULL, &err), 0);
	assert_true(tm_files_equal(tm_path(t, "secret.bin"), tm_path(t, "carol.out")));
	/* Out of the group, out of reach. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)group);
	json_decref(tm_call(t->carol, "leaveChat", fields));
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", fid);
	tm_call_fails(t->carol, "getFile", fields, "FILE_FORBIDDEN");
	json_decref(m);
	/* A public channel's photo is open to anyone, without a session. */
	chat = tm_call(t->alice, "createChannel", "{\"title\":\"pics\",\"username\":\"public_pics\"}");
	channel = json_integer_value(json_object_get(chat, "id"));
	json_decref(chat);
	{
		unsigned char *jpg;
		size_t jl;

		assert_int_equal(imggen_jpeg(100, 80, 4, &jpg, &jl), 0);
		tm_write(tm_path(t, "pub.jpg"), jpg, jl);
		free(jpg);
	}
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)channel);
	m = tm_send(t->alice, "sendPhoto", "photo", fields, tm_path(t, "pub.jpg"));
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}",
		 tm_str(json_array_get(json_object_get(m, "photo"), 0), NULL, "file_id"));
	file = tm_call(t->carol, "getFile", fields);
	snprintf(req, sizeof(req), "GET /file/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 tm_str(file, NULL, "file_path"));
	assert_int_equal(tm_raw(t, req, head, sizeof(head), &body, &blen), 200);
	assert_string_equal(tm_header(head, "Content-Type"), "image/jpeg");
	assert_non_null(strstr(tm_header(head, "Content-Disposition"), "inline"));
	free(body);
	json_decref(file);
	json_decref(m);
}

static void test_dedup_and_file_id_reuse(void **state)
{
	struct tmx *t = *state;
	char fields[256];
	json_t *m1, *m2, *up, *m3;
	int before = tm_blobs_on_disk(t);

	tm_random_file(tm_path(t, "same.bin"), 70000, 9);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->bob_id);
	m1 = tm_send(t->alice, "sendDocument", "document", fields, tm_path(t, "same.bin"));
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->alice_id);
	m2 = tm_send(t->carol, "sendDocument", "document", fields, tm_path(t, "same.bin"));
	/* Two uploads by two users: two files, one blob (and the same unique id). */
	assert_string_not_equal(tm_str(m1, "document", "file_id"), tm_str(m2, "document", "file_id"));
	assert_string_equal(tm_str(m1, "document", "file_unique_id"), tm_str(m2, "document", "file_unique_id"));
	assert_int_equal(tm_blobs_on_disk(t), before + 1);
	/* upload alone, then send by file_id: no new bytes either. */
	up = tm_send(t->alice, "upload", "file", "{\"kind\":\"document\"}", tm_path(t, "same.bin"));
	assert_non_null(tm_str(up, NULL, "file_path"));
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"document\":\"%s\",\"caption\":\"again\"}",
		 (long long)t->bob_id, tm_str(up, NULL, "file_id"));
	m3 = tm_call(t->alice, "sendDocument", fields);
	assert_string_equal(tm_str(m3, "document", "file_id"), tm_str(up, NULL, "file_id"));
	assert_int_equal(tm_blobs_on_disk(t), before + 1);
	/* A photo's file_id is no document. */
	json_decref(m1);
	json_decref(m2);
	json_decref(up);
	json_decref(m3);
}

static void test_exif_removed_and_upright(void **state)
{
	struct tmx *t = *state;
	static const unsigned char gps_lat[] = {0, 0, 0x0b, 0x7e, 0, 0, 0, 100};
	char fields[256], out[600];
	struct parley_error err;
	json_t *m, *sizes;
	unsigned char *jpg, *got;
	size_t jl, gl;

	assert_int_equal(imggen_jpeg_exif(1200, 600, 6, &jpg, &jl), 0);
	assert_true(imggen_contains(jpg, jl, IMGGEN_EXIF_SECRET, strlen(IMGGEN_EXIF_SECRET)));
	tm_write(tm_path(t, "gps.jpg"), jpg, jl);
	free(jpg);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"caption\":\"from home\"}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendPhoto", "photo", fields, tm_path(t, "gps.jpg"));
	sizes = json_object_get(m, "photo");
	/* 90, 320, 800 and the full size, upright: 600 wide, 1200 high. */
	assert_int_equal(json_array_size(sizes), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sizes, 3), "width")), 600);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sizes, 3), "height")), 1200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sizes, 0), "height")), 90);
	for (size_t i = 0; i < json_array_size(sizes); i++) {
		snprintf(out, sizeof(out), "%s", tm_path(t, "size.jpg"));
		assert_int_equal(parley_download(t->bob, tm_str(json_array_get(sizes, i), NULL, "file_id"), out, NULL, NULL,
						 NULL, &err), 0);
		got = tm_read(out, &gl);
		assert_int_equal(gl, json_integer_value(json_object_get(json_array_get(sizes, i), "file_size")));
		assert_false(imggen_contains(got, gl, "Exif", 4));
		assert_false(imggen_contains(got, gl, "SECRET", 6));
		assert_false(imggen_contains(got, gl, gps_lat, sizeof(gps_lat)));
		assert_true(got[0] == 0xff && got[1] == 0xd8);
		free(got);
		unlink(out);
	}
	json_decref(m);
}

static void test_updates_carry_media(void **state)
{
	struct tmx *t = *state;
	char fields[256];
	json_t *st, *diff, *m, *last = NULL, *u;
	unsigned char *png;
	size_t pl;

	st = tm_call(t->bob, "getState", "{}");
	assert_int_equal(imggen_png(30, 20, 1, &png, &pl), 0);
	tm_write(tm_path(t, "u.png"), png, pl);
	free(png);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"caption\":\"live\"}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendPhoto", "photo", fields, tm_path(t, "u.png"));
	snprintf(fields, sizeof(fields), "{\"pts\":%lld}", (long long)json_integer_value(json_object_get(st, "pts")));
	diff = tm_call(t->bob, "getDifference", fields);
	for (size_t i = 0; i < json_array_size(json_object_get(diff, "updates")); i++)
		last = json_object_get(json_array_get(json_object_get(diff, "updates"), i), "update");
	assert_non_null(last);
	u = json_object_get(last, "message");
	assert_string_equal(tm_str(last, NULL, "type"), "new_message");
	assert_string_equal(tm_str(u, NULL, "caption"), "live");
	assert_string_equal(tm_str(json_array_get(json_object_get(u, "photo"), 0), NULL, "file_id"),
			    tm_str(json_array_get(json_object_get(m, "photo"), 0), NULL, "file_id"));
	json_decref(st);
	json_decref(diff);
	json_decref(m);
}

static void test_unreferenced_deleted_after_grace(void **state)
{
	struct tmx *t = *state;
	char fields[256];
	json_t *m, *up;
	int base, n = -1;

	base = tm_blobs_on_disk(t);
	tm_random_file(tm_path(t, "tmpfile.bin"), 12345, 11);
	tm_random_file(tm_path(t, "orphan.bin"), 23456, 12);
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld}", (long long)t->bob_id);
	m = tm_send(t->alice, "sendDocument", "document", fields, tm_path(t, "tmpfile.bin"));
	up = tm_send(t->alice, "upload", "file", NULL, tm_path(t, "orphan.bin"));
	assert_int_equal(tm_blobs_on_disk(t), base + 2);
	/* Deleted for everyone: no message refers to the file any more. */
	snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"message_id\":%lld}", (long long)t->bob_id,
		 (long long)json_integer_value(json_object_get(m, "message_id")));
	json_decref(tm_call(t->alice, "deleteMessage", fields));
	/* Grace 2 s, collector every 1 s: both gone within a few seconds. */
	for (int i = 0; i < 200 && n != base; i++) {
		usleep(100000);
		n = tm_blobs_on_disk(t);
	}
	assert_int_equal(n, base);
	snprintf(fields, sizeof(fields), "{\"file_id\":\"%s\"}", tm_str(up, NULL, "file_id"));
	tm_call_fails(t->alice, "getFile", fields, "FILE_ID_INVALID");
	json_decref(m);
	json_decref(up);
}

static void test_limits(void **state)
{
	struct tmx *t = *state;
	char fields[2400], to_bob[64];
	unsigned char *b;
	size_t bl;

	snprintf(to_bob, sizeof(to_bob), "{\"chat_id\":%lld}", (long long)t->bob_id);
	/* Too big: a photo over 100000 bytes, a file over 300000. */
	tm_random_file(tm_path(t, "p.big"), 100001, 20);
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "p.big"), "FILE_TOO_BIG", 413);
	tm_random_file(tm_path(t, "f.big"), 300001, 21);
	tm_refused(t->alice, "sendDocument", "document", to_bob, tm_path(t, "f.big"), "FILE_TOO_BIG", 413);
	/* Wrong type, told from the bytes whatever the name. */
	{
		static const char pdf[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";

		tm_write(tm_path(t, "fake.jpg"), pdf, sizeof(pdf) - 1);
	}
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "fake.jpg"), "FILE_TYPE_INVALID", 400);
	tm_refused(t->alice, "sendVoice", "voice", to_bob, tm_path(t, "fake.jpg"), "FILE_TYPE_INVALID", 400);
	/* A decompression bomb: 20000 x 20000 in a few hundred bytes. */
	assert_int_equal(imggen_png_bomb(20000, 20000, &b, &bl), 0);
	tm_write(tm_path(t, "bomb.png"), b, bl);
	free(b);
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "bomb.png"), "PHOTO_INVALID_DIMENSIONS", 400);
	/* Within the bytes but over this server's 1000000 pixels. */
	assert_int_equal(imggen_png(1100, 1000, 0, &b, &bl), 0);
	tm_write(tm_path(t, "wide.png"), b, bl);
	free(b);
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "wide.png"), "PHOTO_INVALID_DIMENSIONS", 400);
	/* A truncated JPEG, a PNG with a corrupt chunk. */
	assert_int_equal(imggen_jpeg(300, 200, 5, &b, &bl), 0);
	tm_write(tm_path(t, "cut.jpg"), b, bl * 2 / 3);
	free(b);
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "cut.jpg"), "PHOTO_INVALID", 400);
	assert_int_equal(imggen_png(64, 64, 0, &b, &bl), 0);
	assert_int_equal(imggen_png_corrupt(b, bl), 0);
	tm_write(tm_path(t, "crc.png"), b, bl);
	free(b);
	tm_refused(t->alice, "sendPhoto", "photo", to_bob, tm_path(t, "crc.png"), "PHOTO_INVALID", 400);
	/* Empty; a caption past 1024 characters; a chat that is not there. */
	tm_write(tm_path(t, "empty"), "", 0);
	tm_refused(t->alice, "sendDocument", "document", to_bob, tm_path(t, "empty"), "FILE_EMPTY", 400);
	tm_random_file(tm_path(t, "ok.bin"), 100, 22);
	{
		char caption[1026];

		memset(caption, 'c', 1025);
		caption[1025] = '\0';
		snprintf(fields, sizeof(fields), "{\"chat_id\":%lld,\"caption\":\"%s\"}", (long long)t->bob_id, caption);
	}
	tm_refused(t->alice, "sendDocument", "document", fields, tm_path(t, "ok.bin"), "MEDIA_CAPTION_TOO_LONG", 400);
	/* Nothing refused was kept. */
	assert_int_equal(tm_blobs_on_disk(t), 0);
	/* A file refused by the method after its upload (here: no such chat)
	 * is stored, unreferenced, until the grace period ends. */
	tm_refused(t->alice, "sendDocument", "document", "{\"chat_id\":-999999}", tm_path(t, "ok.bin"),
		   "CHAT_NOT_FOUND", 400);
}

/* upload_concurrency_per_user is 1 here: an upload left half-sent holds
 * the slot, the next one of the same user is refused, another user's not. */
static void test_concurrency(void **state)
{
	struct tmx *t = *state;
	const char *url = harness_url(t->h);
	char req[1024], to_bob[64];
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	snprintf(to_bob, sizeof(to_bob), "{\"chat_id\":%lld}", (long long)t->bob_id);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(strrchr(url, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* "100 Continue" comes once the upload is authenticated and counted. */
	snprintf(req, sizeof(req), "POST /api/sendDocument?chat_id=%lld HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/octet-stream\r\nContent-Length: 200000\r\nExpect: 100-continue\r\n\r\n",
		 (long long)t->bob_id, parley_client_token(t->alice));
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	{
		char cont[32] = "";
		struct pollfd p = {fd, POLLIN, 0};

		assert_int_equal(poll(&p, 1, TM_WAIT_MS), 1);
		assert_true(recv(fd, cont, 25, MSG_WAITALL) == 25);
		assert_memory_equal(cont, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	assert_int_equal(send(fd, "half", 4, MSG_NOSIGNAL), 4);
	tm_random_file(tm_path(t, "second.bin"), 100, 30);
	tm_refused(t->alice, "sendDocument", "document", to_bob, tm_path(t, "second.bin"), "UPLOADS_TOO_MANY", 429);
	json_decref(tm_send(t->carol, "sendDocument", "document", to_bob, tm_path(t, "second.bin")));
	close(fd); /* the half upload ends: the slot is free again */
	usleep(300000);
	json_decref(tm_send(t->alice, "sendDocument", "document", to_bob, tm_path(t, "second.bin")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_round_trip_history_search, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_big_round_trip_and_resume, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_http_headers, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_access, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_file_id_reuse, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_exif_removed_and_upright, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_updates_carry_media, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_unreferenced_deleted_after_grace, tm_setup, tm_teardown),
		cmocka_unit_test_setup_teardown(test_limits, tm_setup_limits, tm_teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, tm_setup_limits, tm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
