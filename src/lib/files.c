/*
 * files.c — libparley's uploads and downloads (parley.h, "files").
 *
 * An upload is one multipart/form-data request whose body is built around
 * the file rather than with it: the form fields and the file part's header
 * go first (in memory), then the file's bytes straight from the disk
 * (http.c reads them a piece at a time), then the closing boundary.  Its
 * Content-Length is known beforehand, so no chunked coding is needed.
 *
 * A download asks getFile where the file is, then GETs it into PATH.part,
 * appending: a PATH.part already there (an interrupted download) is resumed
 * with "Range: bytes=N-".  A server that answers 200 instead of 206 sends
 * the whole file again, so the part is emptied first.  When the body is in,
 * the part's SHA-256 must equal the ETag (the server names files by their
 * SHA-256) before it is renamed to PATH: a mixed or damaged file is never
 * taken for the real one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/parley_int.h"

#define FILES_PREFIX_MAX (1024u * 1024u) /* form fields and the part header */
#define FILES_PATH_MAX 4096
#define FILES_READ_CHUNK 65536

/* ---- uploads ----------------------------------------------------------------- */

/* Appends s to b as the inside of a quoted-string: '"' and '\\' escaped
 * with a backslash, CR and LF (which no quoted-string may hold)
 * percent-encoded. */
static int files_add_quoted(struct parley_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == '"')
			rc = parley_buf_adds(b, "\\\"");
		else if (*s == '\\')
			rc = parley_buf_adds(b, "\\\\");
		else if (*s == '\r')
			rc = parley_buf_adds(b, "%0D");
		else if (*s == '\n')
			rc = parley_buf_adds(b, "%0A");
		else
			rc = parley_buf_add(b, s, 1);
	}
	return rc;
}

/* One form field for a JSON value. */
static int files_add_field(struct parley_buf *b, const char *boundary, const char *key, json_t *v)
{
	char *text = NULL;
	const char *val;
	char num[64];
	int rc;

	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		val = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		val = num;
	} else if (json_is_boolean(v)) {
		val = json_is_true(v) ? "true" : "false";
	} else if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
		val = text;
	} else {
		return PARLEY_ENOMEM;
	}
	rc = parley_buf_addf(b, "--%s\r\nContent-Disposition: form-data; name=\"", boundary);
	if (rc == 0)
		rc = files_add_quoted(b, key);
	if (rc == 0)
		rc = parley_buf_addf(b, "\"\r\n\r\n%s\r\n", val);
	free(text);
	return rc;
}

int parley_upload(struct parley_client *c, const char *method, const char *field, json_t *params, const char *path,
		  const char *file_name, parley_progress_cb progress, void *progress_ctx, json_t **result,
		  struct parley_error *err)
{
	struct parley_http_req req;
	struct parley_http_resp resp;
	struct parley_buf pre;
	struct stat st;
	unsigned char rnd[12];
	char boundary[48], ctype[96], api_path[96], tail[64];
	const char *key;
	json_t *v;
	int fd = -1, rc;

	if (result)
		*result = NULL;
	parley_buf_init(&pre, FILES_PREFIX_MAX);
	if (!method || !field || !path || strlen(method) > 48 || strspn(method, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method) ||
	    (params && !json_is_object(params))) {
		rc = parley_error_set(err, PARLEY_EINVAL, "upload needs a method, a field and a file");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = parley_error_set(err, PARLEY_EIO, "cannot read %s: %s", path, fd < 0 ? strerror(errno) : "not a file");
		goto out;
	}
	if (parley_random(rnd, sizeof(rnd)) < 0) {
		rc = parley_error_set(err, PARLEY_EIO, "no random bytes for the boundary");
		goto out;
	}
	snprintf(boundary, sizeof(boundary), "parley-");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(boundary + 7 + i * 2, 3, "%02x", rnd[i]);
	rc = 0;
	json_object_foreach(params, key, v) {
		if ((rc = files_add_field(&pre, boundary, key, v)) < 0)
			break;
	}
	if (file_name == NULL)
		file_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (rc == 0)
		rc = parley_buf_addf(&pre, "--%s\r\nContent-Disposition: form-data; name=\"", boundary);
	if (rc == 0)
		rc = files_add_quoted(&pre, field);
	if (rc == 0)
		rc = parley_buf_adds(&pre, "\"; filename=\"");
	if (rc == 0)
		rc = files_add_quoted(&pre, file_name);
	if (rc == 0)
		rc = parley_buf_adds(&pre, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
	if (rc < 0) {
		rc = parley_error_set(err, rc, "the form fields are too large (%u bytes at most)", FILES_PREFIX_MAX);
		goto out;
	}
	snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
	snprintf(api_path, sizeof(api_path), "/api/%s", method);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = api_path;
	req.content_type = ctype;
	req.body = pre.p;
	req.body_len = pre.len;
	req.body_fd = fd;
	req.body_fd_len = (uint64_t)st.st_size;
	req.tail = tail;
	req.tail_len = strlen(tail);
	req.progress = progress;
	req.progress_ctx = progress_ctx;
	rc = parley_http_do(c, &req, &resp, err);
	if (rc == 0)
		rc = parley_envelope(resp.status, resp.body.p, resp.body.len, result, err);
	parley_buf_release(&resp.body);
out:
	if (fd >= 0)
		close(fd);
	parley_buf_release(&pre);
	return rc;
}

/* ---- downloads ----------------------------------------------------------------- */

struct files_sink {
	int fd;
	uint64_t have;              /* bytes in the part before this request */
	struct parley_http_resp *resp;
	int started;
	int bad;                    /* a reply we cannot append */
};

static int files_sink(void *ctx, const char *data, size_t len)
{
	struct files_sink *s = ctx;

	if (!s->started) {
		s->started = 1;
		/* 200: the whole file again (no range honoured): start over. */
		if (s->resp->status == 200 && s->have > 0) {
			if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
				return -1;
			s->have = 0;
		} else if (s->resp->status == 206) {
			unsigned long long first = 0;

			if (sscanf(s->resp->content_range, "bytes %llu-", &first) != 1 || first != s->have) {
				s->bad = 1;
				return -1;
			}
		}
	}
	while (len > 0) {
		ssize_t n = write(s->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The SHA-256 of the file at fd, from its start. */
static int files_hash(int fd, char hex[65])
{
	struct parley_sha256 s;
	char *buf = malloc(FILES_READ_CHUNK);
	off_t off = 0;
	ssize_t n;

	if (buf == NULL)
		return PARLEY_ENOMEM;
	parley_sha256_init(&s);
	while ((n = pread(fd, buf, FILES_READ_CHUNK, off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return PARLEY_EIO;
		}
		parley_sha256_update(&s, buf, (size_t)n);
		off += n;
	}
	free(buf);
	parley_sha256_hex(&s, hex);
	return 0;
}

int parley_download(struct parley_client *c, const char *file_id, const char *out_path, parley_progress_cb progress,
		    void *progress_ctx, uint64_t *size, struct parley_error *err)
{
	struct parley_http_req req;
	struct parley_http_resp resp;
	struct files_sink sink;
	struct stat st;
	json_t *params = NULL, *res = NULL;
	char part[FILES_PATH_MAX + 8], url_path[600], range[48], hex[65];
	const char *fpath;
	json_int_t fsize;
	int fd = -1, rc, attempt;

	memset(&resp, 0, sizeof(resp));
	if (!file_id || !out_path || strlen(out_path) > FILES_PATH_MAX)
		return parley_error_set(err, PARLEY_EINVAL, "download needs a file_id and a path");
	snprintf(part, sizeof(part), "%s.part", out_path);
	if ((params = json_pack("{s:s}", "file_id", file_id)) == NULL)
		return parley_error_set(err, PARLEY_ENOMEM, "out of memory");
	rc = parley_call(c, "getFile", params, &res, err);
	json_decref(params);
	if (rc < 0)
		return rc;
	fpath = json_string_value(json_object_get(res, "file_path"));
	fsize = json_integer_value(json_object_get(res, "file_size"));
	if (fpath == NULL || strlen(fpath) > 500 || fsize < 0 || strchr(fpath, '?') || strstr(fpath, "..")) {
		json_decref(res);
		return parley_error_set(err, PARLEY_EPROTO, "getFile answered without a usable file_path");
	}
	snprintf(url_path, sizeof(url_path), "/file/%s", fpath);
	json_decref(res);
	if (size)
		*size = (uint64_t)fsize;
	if ((fd = open(part, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 || fstat(fd, &st) < 0) {
		rc = parley_error_set(err, PARLEY_EIO, "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	/* A part longer than the file is not ours to resume. */
	if ((uint64_t)st.st_size > (uint64_t)fsize && ftruncate(fd, 0) < 0) {
		rc = parley_error_set(err, PARLEY_EIO, "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		if (fstat(fd, &st) < 0) {
			rc = parley_error_set(err, PARLEY_EIO, "cannot write %s: %s", part, strerror(errno));
			goto out;
		}
		memset(&sink, 0, sizeof(sink));
		sink.fd = fd;
		sink.have = (uint64_t)st.st_size;
		sink.resp = &resp;
		memset(&req, 0, sizeof(req));
		req.path = url_path;
		if (sink.have == (uint64_t)fsize) {
			/* All there already: only the tag to check against. */
			req.method = "HEAD";
		} else {
			req.method = "GET";
			if (sink.have > 0) {
				snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)sink.have);
				req.range = range;
			}
			req.sink = files_sink;
			req.sink_ctx = &sink;
			req.progress = progress;
			req.progress_ctx = progress_ctx;
		}
		rc = parley_http_do(c, &req, &resp, err);
		if (rc == 0 && resp.status == 416 && sink.have > 0) {
			/* The part does not fit the file: start over once. */
			parley_buf_release(&resp.body);
			if (ftruncate(fd, 0) < 0) {
				rc = parley_error_set(err, PARLEY_EIO, "cannot write %s: %s", part, strerror(errno));
				goto out;
			}
			continue;
		}
		if (rc < 0 && sink.bad)
			rc = parley_error_set(err, PARLEY_EPROTO, "the server sent another range than asked for");
		if (rc == 0 && resp.status != 200 && resp.status != 206)
			rc = parley_envelope(resp.status, resp.body.p, resp.body.len, NULL, err);
		parley_buf_release(&resp.body);
		if (rc < 0)
			goto out; /* the part stays, to be resumed */
		break;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != (uint64_t)fsize) {
		rc = parley_error_set(err, PARLEY_EPROTO, "the download ended at %lld of %lld bytes",
				      (long long)st.st_size, (long long)fsize);
		goto out;
	}
	if ((rc = files_hash(fd, hex)) < 0) {
		rc = parley_error_set(err, rc, "cannot read %s back", part);
		goto out;
	}
	/* The ETag is the SHA-256 of the bytes, in quotes. */
	if (strlen(resp.etag) != 66 || strncmp(resp.etag + 1, hex, 64) != 0) {
		unlink(part);
		rc = parley_error_set(err, PARLEY_EPROTO, "the downloaded bytes do not match the server's (SHA-256 %s)",
				      hex);
		goto out;
	}
	if (rename(part, out_path) < 0) {
		rc = parley_error_set(err, PARLEY_EIO, "cannot rename %s to %s: %s", part, out_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
