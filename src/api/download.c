/*
 * download.c — GET and HEAD /file/<file_path> (media_http.h; docs/media.md).
 *
 * A reader thread authenticates the caller (Authorization: Bearer, ?token=,
 * or /file/bot<token>/<file_path>; none is fine for a file in a public
 * chat), asks core who may see the file (core_file_get), opens its blob and
 * works out the answer: 304 for a matching If-None-Match, 206 for a single
 * satisfiable Range (If-Range must name the same entity tag), 416 for an
 * unsatisfiable one, else 200.  The loop thread hands the open file to net,
 * which reads it on the thread pool as the client takes it
 * (net_req_respond_file): the loop never touches the disk.
 *
 * Headers: ETag is the SHA-256 of the bytes (a file never changes), so the
 * answer may be cached for a year, privately (it needs a session);
 * Content-Type is the type told from the bytes at upload; nosniff and a
 * sandboxing Content-Security-Policy keep a browser from running an
 * uploaded page as the site; photos are shown inline, every other file is
 * an attachment with its name (RFC 6266, filename*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/media_http.h"
#include "api/server_int.h"
#include "core/core.h"
#include "media/media.h"
#include "net/http_fields.h"
#include "net/net.h"
#include "store/blob.h"
#include "store/writer.h"

#define DL_TOKEN_MAX 256
#define DL_PATH_MAX 512
#define DL_HEADERS_MAX 2048

struct dl {
	struct api_server *srv;
	struct net_req *req;
	uv_work_t work;
	char token[DL_TOKEN_MAX];
	char file_id[STORE_FILE_ID_SZ];
	/* the answer */
	int status;
	int code;
	char detail[256];
	int fd;
	uint64_t off, len;
	char mime[STORE_MIME_SZ];
	char headers[DL_HEADERS_MAX];
};

static void dl_fail(struct dl *d, int code, const char *detail)
{
	d->code = code;
	snprintf(d->detail, sizeof(d->detail), "%s", detail);
}

/* Reader thread. */
static void dl_work(uv_work_t *w)
{
	struct dl *d = w->data;
	const struct api_env *env = api_srv_env(d->srv);
	struct store *s = api_reader_get(env->readers);
	struct store_session ss;
	struct store_file f;
	struct core_tx tx;
	char etag[BLOB_HEX_SZ + 2], disp[STORE_FILE_NAME_SZ * 3 + 64], name[STORE_FILE_NAME_SZ + 16];
	uint64_t size = 0, first = 0, last = 0;
	int range, n, attach;

	memset(&tx, 0, sizeof(tx));
	tx.core = env->core;
	tx.s = s;
	tx.now = (int64_t)time(NULL);
	tx.viewer = 1;
	if (d->token[0]) {
		if (core_authenticate(&tx, d->token, &ss) < 0 ||
		    core_mod_suspension_check(&tx, ss.suspended_until, ss.suspend_statement) < 0) {
			dl_fail(d, tx.code ? tx.code : PLC_UNAUTHORIZED, tx.detail);
			goto out;
		}
		tx.uid = ss.user_id;
	}
	if (core_file_get(&tx, d->file_id, &f) < 0) {
		if (tx.code == PLC_FILE_ID_INVALID)
			dl_fail(d, PLC_NOT_FOUND, "no such file");
		else if (tx.code == PLC_FILE_FORBIDDEN && !tx.uid)
			dl_fail(d, PLC_UNAUTHORIZED, "this file needs a session token (Authorization: Bearer, or ?token=)");
		else
			dl_fail(d, tx.code ? tx.code : PLC_INTERNAL, tx.detail);
		goto out;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", f.sha256);
	snprintf(d->mime, sizeof(d->mime), "%s", f.mime);
	attach = f.kind != STORE_FILE_PHOTO || media_mime_active(f.mime);
	if (f.name[0])
		snprintf(name, sizeof(name), "%s", f.name);
	else
		snprintf(name, sizeof(name), "%s.%s", f.file_id, media_mime_ext(f.mime));
	if (net_content_disposition(disp, sizeof(disp), attach, name) < 0)
		snprintf(disp, sizeof(disp), "%s", attach ? "attachment" : "inline");
	n = snprintf(d->headers, sizeof(d->headers),
		     "ETag: %s\r\nCache-Control: private, max-age=31536000, immutable\r\nAccept-Ranges: bytes\r\n"
		     "Content-Disposition: %s\r\nX-Content-Type-Options: nosniff\r\n"
		     "Content-Security-Policy: default-src 'none'; sandbox\r\n",
		     etag, disp);
	if (n < 0 || (size_t)n >= sizeof(d->headers)) {
		dl_fail(d, PLC_INTERNAL, "headers too long");
		goto out;
	}
	if (net_etag_match(d->req->if_none_match, etag)) {
		d->status = 304;
		goto out;
	}
	if (blob_open_read(env->core->media.blobs, f.sha256, &d->fd, &size) < 0) {
		dl_fail(d, PLC_NOT_FOUND, "the file's bytes are not there");
		goto out;
	}
	range = net_if_range_ok(d->req->if_range, etag) ? net_range_parse(d->req->range, size, &first, &last)
							: NET_RANGE_ALL;
	if (range == NET_RANGE_UNSATISFIABLE) {
		close(d->fd); /* on a reader thread: disk work is allowed here */
		d->fd = -1;
		snprintf(d->headers + n, sizeof(d->headers) - (size_t)n, "Content-Range: bytes */%llu\r\n",
			 (unsigned long long)size);
		dl_fail(d, PLC_RANGE_NOT_SATISFIABLE, "the range is outside the file");
		goto out;
	}
	if (range == NET_RANGE_PART) {
		d->status = 206;
		d->off = first;
		d->len = last - first + 1;
		snprintf(d->headers + n, sizeof(d->headers) - (size_t)n, "Content-Range: bytes %llu-%llu/%llu\r\n",
			 (unsigned long long)first, (unsigned long long)last, (unsigned long long)size);
	} else {
		d->status = 200;
		d->off = 0;
		d->len = size;
	}
out:
	core_tx_release(&tx);
	tx.s = NULL;
	api_reader_put(env->readers, s);
}

static void dl_done(uv_work_t *w, int status)
{
	struct dl *d = w->data;
	int file_method = -1;

	if (status < 0 && d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	if (status < 0)
		api_srv_respond_error(d->srv, d->req, file_method, PLC_SERVER_BUSY, "the call was cancelled", 0);
	else if (d->fd >= 0) {
		api_srv_observe(d->srv, d->req, file_method, d->status);
		net_req_respond_file(d->req, d->status, d->mime, d->fd, d->off, d->len, d->headers);
	} else if (d->status == 304) {
		api_srv_observe(d->srv, d->req, file_method, 304);
		net_req_respond(d->req, 304, d->mime, "", 0, d->headers);
	} else if (d->code == PLC_RANGE_NOT_SATISFIABLE) {
		char *body = api_error_json(d->code, d->detail, 0);

		api_srv_observe(d->srv, d->req, file_method, 416);
		net_req_respond(d->req, 416, "application/json", body ? body : "", body ? strlen(body) : 0, d->headers);
		free(body);
	} else {
		api_srv_respond_error(d->srv, d->req, file_method, d->code ? d->code : PLC_INTERNAL, d->detail, 0);
	}
	api_srv_unhold(d->srv);
	free(d);
}

void download_start(struct api_server *srv, struct net_req *req, const char *path)
{
	const struct api_env *env = api_srv_env(srv);
	const char *auth = req->authorization, *tok;
	struct dl *d;

	if (req->method != NET_GET && req->method != NET_HEAD) {
		api_srv_respond_error(srv, req, -1, PLC_HTTP_METHOD_INVALID, "files are fetched with GET or HEAD", 0);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		api_srv_respond_error(srv, req, -1, PLC_SERVER_BUSY, "out of memory", 0);
		return;
	}
	d->srv = srv;
	d->req = req;
	d->fd = -1;
	/* /file/bot<token>/<file_path>: the Bot API's form. */
	if (!strncmp(path, "bot", 3) && strchr(path, '/') != NULL) {
		size_t n = (size_t)(strchr(path, '/') - path) - 3;

		if (n < sizeof(d->token))
			snprintf(d->token, sizeof(d->token), "%.*s", (int)n, path + 3);
		path = strchr(path, '/') + 1;
	} else if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		for (tok = auth + 7; *tok == ' '; tok++)
			;
		snprintf(d->token, sizeof(d->token), "%s", tok);
	} else if ((tok = strstr(req->query, "token=")) != NULL && (tok == req->query || tok[-1] == '&')) {
		size_t n = strspn(tok + 6, "0123456789abcdefABCDEF");

		if (n < sizeof(d->token))
			snprintf(d->token, sizeof(d->token), "%.*s", (int)n, tok + 6);
	}
	if (strlen(path) >= DL_PATH_MAX || core_file_path_id(path, d->file_id) < 0) {
		free(d);
		api_srv_respond_error(srv, req, -1, PLC_NOT_FOUND, "no such file", 0);
		return;
	}
	d->work.data = d;
	api_srv_hold(srv);
	if (uv_queue_work(env->loop, &d->work, dl_work, dl_done) < 0) {
		api_srv_unhold(srv);
		free(d);
		api_srv_respond_error(srv, req, -1, PLC_SERVER_BUSY, "could not queue the download", 0);
	}
}
