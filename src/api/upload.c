/*
 * upload.c — streamed uploads and the collector of unreferenced files
 * (media_http.h; docs/media.md).
 *
 * An upload is one struct upload that lives from the request until its
 * answer and its last job are done.  Its steps, each on the thread that may
 * do it:
 *   loop    head: POST to an upload route with a body that is not JSON is
 *           streamed (uploads_head); limits on the count of uploads
 *   reader  authenticate (session, suspension, rate), open the temporary
 *           object the bytes go to
 *   loop    per-user limit, Content-Length against the limit, start the
 *           body; multipart/form-data is parsed here (src/net/multipart.c),
 *           form fields kept (bounded), the file's bytes gathered into a
 *           buffer of UP_CHUNK bytes
 *   worker  each full buffer is written (and hashed) while the next one
 *           fills; when both are full the body is paused (net stops reading
 *           the socket) until the write is done: at most 2 * UP_CHUNK plus
 *           one read of memory per upload, whatever the file's size
 *   worker  the body is complete: core_upload_process (type from the
 *           bytes, photo decoding and sizes, the upload check chain)
 *   writer  core_upload_reserve: the blobs' rows, before their bytes move
 *   worker  core_upload_place: the bytes move to their content address
 *   writer  core_upload_publish: the blobs are live, the files made
 *   loop    upload: answered with the file; sendPhoto and the others: the
 *           same method is called with the new file_id (api_srv_call), as if
 *           the client had sent it in JSON, and that call's answer is the
 *           request's answer.
 * Any failure answers at once (with the first error) and then cleans up:
 * a job in flight is waited for, temporary objects are deleted on a worker.
 *
 * The collector runs every UP_GC_PERIOD (bounded by the grace period) as a
 * writer job (core_media_gc), and empties the blob store's trash on a worker
 * after the commit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "api/media_http.h"
#include "api/render.h"
#include "api/server_int.h"
#include "core/core.h"
#include "media/media.h"
#include "net/multipart.h"
#include "net/net.h"
#include "store/blob.h"
#include "store/writer.h"
#include "util/config.h"
#include "util/imap.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define UP_CHUNK (1024 * 1024)             /* bytes written by a worker at once */
#define UP_BUF_MAX (2 * UP_CHUNK)          /* a buffer never grows past this */
#define UP_MULTIPART_SLACK (256 * 1024)    /* body bytes besides the file: fields, part headers */
#define UP_GC_PERIOD_MAX_S 600
#define UP_GC_BATCH 200            /* blobs removed per writer job (each a rename + fsync) */
#define UP_TOKEN_MAX 256

/* The routes. */
enum up_route { UP_SEND_PHOTO = 0, UP_SEND_DOCUMENT, UP_SEND_VOICE, UP_SEND_VIDEO, UP_UPLOAD, UP__ROUTES };

static const struct {
	const char *path;   /* after "/api/" */
	const char *field;  /* the file's form field */
	int kind;           /* enum store_file_kind; UP_UPLOAD: from "kind" */
} up_routes[UP__ROUTES] = {
	[UP_SEND_PHOTO] = {"sendPhoto", "photo", STORE_FILE_PHOTO},
	[UP_SEND_DOCUMENT] = {"sendDocument", "document", STORE_FILE_DOCUMENT},
	[UP_SEND_VOICE] = {"sendVoice", "voice", STORE_FILE_VOICE},
	[UP_SEND_VIDEO] = {"sendVideo", "video", STORE_FILE_VIDEO},
	[UP_UPLOAD] = {"upload", "file", STORE_FILE_DOCUMENT},
};

struct uploads {
	struct api_server *srv;
	const struct api_env *env;
	struct imap per_user;      /* uid -> uploads in progress (as a pointer-sized count) */
	size_t active;
	uv_timer_t gc_timer;
	int gc_running;
	int closed;
};

/* A buffer of file bytes. */
struct up_buf {
	char *p;
	size_t len, cap;
};

struct upload {
	struct uploads *mod;
	struct net_req *req;       /* NULL once answered */
	int route;                 /* enum up_route */
	int method;                /* index into api_methods, for the metrics */
	int kind;
	uint64_t max_file;         /* bytes allowed while streaming */
	char token[UP_TOKEN_MAX];
	int64_t uid;
	int counted;               /* in mod->per_user */
	/* jobs */
	uv_work_t work;
	struct store_job wjob;
	int busy;                  /* a worker or writer job is running */
	int finishing;             /* clean up when it returns */
	struct core_tx tx;         /* code and detail of a failure in a job */
	int step_rc;
	/* the body */
	int multipart;
	struct mp_parser mp;
	int in_file, file_seen, body_done;
	char part_name[MP_NAME_MAX + 1];
	struct up_buf field;       /* the value of the form field being read */
	json_t *fields;            /* parameters: query string, then form fields */
	char file_name[MP_FILENAME_MAX + 1];
	uint64_t file_bytes;
	struct up_buf fill, out;   /* being filled on the loop; being written */
	struct blob_temp *temp;
	/* processing */
	struct core_upload up;
	int64_t duration;
};

/* ---- life and answers --------------------------------------------------------- */

/* Takes u out of its user's uploads in progress.  Called before any answer
 * goes out, so a client that sends its next upload on the answer is never
 * refused UPLOADS_TOO_MANY for one whose clean-up is still running. */
static void up_uncount(struct upload *u)
{
	struct uploads *mod = u->mod;
	intptr_t n;

	if (!u->counted)
		return;
	u->counted = 0;
	n = (intptr_t)imap_get(&mod->per_user, u->uid) - 1;
	if (n > 0)
		(void)imap_put(&mod->per_user, u->uid, (void *)n);
	else
		imap_del(&mod->per_user, u->uid);
}

static void up_free(struct upload *u)
{
	struct uploads *mod = u->mod;

	up_uncount(u);
	mod->active--;
	json_decref(u->fields);
	free(u->fill.p);
	free(u->out.p);
	free(u->field.p);
	free(u);
	api_srv_unhold(mod->srv);
}

static void up_clean_work(uv_work_t *w)
{
	struct upload *u = w->data;

	blob_temp_discard(u->temp);
	u->temp = NULL;
	core_upload_release(&u->up);
}

static void up_clean_done(uv_work_t *w, int status)
{
	up_free(w->data);
}

/* Ends u: deletes what it holds on a worker (after its job in flight), then
 * frees it.  Answers first if it has not. */
static void up_finish(struct upload *u)
{
	up_uncount(u);
	if (u->req != NULL) {
		net_req_respond(u->req, 500, NULL, NULL, 0, NULL);
		u->req = NULL;
	}
	if (u->busy) {
		u->finishing = 1;
		return;
	}
	if (u->temp == NULL && u->up.n == 0) {
		up_free(u);
		return;
	}
	u->busy = 1;
	if (uv_queue_work(u->mod->env->loop, &u->work, up_clean_work, up_clean_done) < 0) {
		u->busy = 0;
		up_clean_work(&u->work); /* no pool: delete here rather than leak */
		up_free(u);
	}
}

/* Answers with an error (once) and ends u. */
static void up_fail(struct upload *u, int code, const char *detail, int retry_after)
{
	up_uncount(u);
	if (u->req != NULL) {
		api_srv_respond_error(u->mod->srv, u->req, u->method, code, detail, retry_after);
		u->req = NULL;
	}
	up_finish(u);
}

/* Answers with the failure a job recorded on u->tx. */
static void up_fail_tx(struct upload *u)
{
	up_fail(u, u->tx.code ? u->tx.code : PLC_INTERNAL, u->tx.detail[0] ? u->tx.detail : "the upload failed",
		u->tx.retry_after);
}

/* A job came back: 1 if u goes on, 0 if it was being finished. */
static int up_back(struct upload *u)
{
	u->busy = 0;
	if (u->finishing || u->req == NULL || api_srv_closing(u->mod->srv)) {
		u->finishing = 0;
		up_finish(u);
		return 0;
	}
	return 1;
}

static int up_queue(struct upload *u, uv_work_cb work, uv_after_work_cb after)
{
	u->busy = 1;
	u->work.data = u;
	if (uv_queue_work(u->mod->env->loop, &u->work, work, after) < 0) {
		u->busy = 0;
		return PL_BUSY;
	}
	return 0;
}

static int up_submit(struct upload *u, store_job_run_cb run, store_job_done_cb done)
{
	u->busy = 1;
	memset(&u->wjob, 0, sizeof(u->wjob));
	u->wjob.run = run;
	u->wjob.done = done;
	if (store_writer_submit(u->mod->env->writer, &u->wjob) < 0) {
		u->busy = 0;
		return PL_BUSY;
	}
	return 0;
}

static struct upload *up_of_job(struct store_job *j)
{
	return (struct upload *)(void *)((char *)j - offsetof(struct upload, wjob));
}

/* A core_tx for a job: the store of its thread (NULL on a plain worker). */
static void up_tx(struct upload *u, struct store *s)
{
	memset(&u->tx, 0, sizeof(u->tx));
	u->tx.core = u->mod->env->core;
	u->tx.s = s;
	u->tx.now = (int64_t)time(NULL);
	u->tx.mono = (double)uv_hrtime() / 1e9;
	u->tx.uid = u->uid;
}

/* ---- parameters -------------------------------------------------------------- */

static int up_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes a query component in place (%XX, '+' as space); its new length. */
static size_t up_unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && up_hex(s[i + 1]) >= 0 && up_hex(s[i + 2]) >= 0) {
			s[o++] = (char)(up_hex(s[i + 1]) * 16 + up_hex(s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return o;
}

/* Sets field name to value (len bytes) in u->fields; a repeat or bad UTF-8
 * fails. */
static int up_field_set(struct upload *u, const char *name, const char *value, size_t len)
{
	json_t *v;

	if (json_object_get(u->fields, name) != NULL) {
		u->tx.code = PLC_PARAM_INVALID;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "%s is given twice", name);
		return PL_INVAL;
	}
	if (json_object_size(u->fields) >= PL_UPLOAD_FIELDS_MAX) {
		u->tx.code = PLC_PARAM_INVALID;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "more than %d parameters", PL_UPLOAD_FIELDS_MAX);
		return PL_INVAL;
	}
	/* reply_parameters is an object; everything else a string the method
	 * table converts (Bot API clients send numbers as strings). */
	if (!strcmp(name, "reply_parameters") && len > 0 && value[0] == '{')
		v = json_loadb(value, len, JSON_REJECT_DUPLICATES, NULL);
	else
		v = json_stringn(value, len);
	if (v == NULL) {
		u->tx.code = PLC_TEXT_INVALID_UTF8;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "%s is not valid UTF-8 (or JSON)", name);
		return PL_INVAL;
	}
	json_object_set_new(u->fields, name, v);
	return 0;
}

/* The query string's parameters into u->fields. */
static int up_query(struct upload *u, const char *query)
{
	char buf[PL_UPLOAD_FIELD_MAX + 64];
	const char *p = query;

	while (*p) {
		size_t n = strcspn(p, "&"), k, vlen;
		char *eq;

		if (n >= sizeof(buf)) {
			u->tx.code = PLC_PARAM_INVALID;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "a query parameter is longer than %d bytes",
				 PL_UPLOAD_FIELD_MAX);
			return PL_INVAL;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (p[n] == '&');
		if (n == 0)
			continue;
		if ((eq = strchr(buf, '=')) == NULL)
			eq = buf + n;
		else
			*eq++ = '\0';
		k = up_unescape(buf, strlen(buf));
		buf[k] = '\0';
		vlen = up_unescape(eq, strlen(eq));
		if (k == 0 || strlen(buf) != k)
			continue;
		if (!strcmp(buf, "token"))
			continue; /* a session token is not a parameter */
		if (up_field_set(u, buf, eq, vlen) < 0)
			return PL_INVAL;
	}
	return 0;
}

/* ---- writing the file ---------------------------------------------------------- */

static void up_write_work(uv_work_t *w)
{
	struct upload *u = w->data;

	u->step_rc = blob_temp_write(u->temp, u->out.p, u->out.len);
}

static void up_process_start(struct upload *u);
static void up_write_next(struct upload *u);

static void up_write_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;

	if (!up_back(u))
		return;
	if (status < 0 || u->step_rc < 0) {
		up_fail(u, u->step_rc == PL_TOOBIG ? PLC_SERVER_BUSY : PLC_INTERNAL, "could not store the upload", 0);
		return;
	}
	u->out.len = 0;
	up_write_next(u);
}

/* Writes the filled buffer if nothing is being written; resumes the body
 * once there is room; processes when the body is over and all is written. */
static void up_write_next(struct upload *u)
{
	struct up_buf t;

	if (u->busy)
		return;
	if (u->fill.len > 0 && (u->fill.len >= UP_CHUNK || u->body_done)) {
		t = u->out;
		u->out = u->fill;
		u->fill = t;
		u->fill.len = 0;
		if (up_queue(u, up_write_work, up_write_done) < 0) {
			up_fail(u, PLC_SERVER_BUSY, "could not queue the write", 0);
			return;
		}
	}
	if (!u->body_done && u->req != NULL)
		net_req_body_resume(u->req);
	if (u->body_done && !u->busy)
		up_process_start(u);
}

/* Bytes of the file, from the body or a multipart part. */
static int up_file_bytes(struct upload *u, const char *data, size_t len)
{
	if (len > u->max_file - u->file_bytes) {
		u->tx.code = PLC_FILE_TOO_BIG;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "more than %llu bytes", (unsigned long long)u->max_file);
		return PL_TOOBIG;
	}
	u->file_bytes += len;
	if (u->fill.len + len > u->fill.cap) {
		size_t cap = u->fill.cap ? u->fill.cap : UP_CHUNK + 65536;
		char *p;

		while (cap < u->fill.len + len)
			cap *= 2;
		if (cap > UP_BUF_MAX + 65536 || (p = realloc(u->fill.p, cap)) == NULL) {
			u->tx.code = PLC_SERVER_BUSY;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "out of memory");
			return PL_NOMEM;
		}
		u->fill.p = p;
		u->fill.cap = cap;
	}
	memcpy(u->fill.p + u->fill.len, data, len);
	u->fill.len += len;
	if (u->fill.len >= UP_CHUNK) {
		if (u->busy)
			net_req_body_pause(u->req); /* the disk lags: stop reading */
		else
			up_write_next(u);
	}
	return 0;
}

/* ---- multipart -------------------------------------------------------------------- */

static int up_part_begin(void *ctx, const struct mp_part *p)
{
	struct upload *u = ctx;

	if (!strcmp(p->name, up_routes[u->route].field)) {
		if (u->file_seen) {
			u->tx.code = PLC_PARAM_INVALID;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "one file per request");
			return PL_INVAL;
		}
		u->in_file = u->file_seen = 1;
		snprintf(u->file_name, sizeof(u->file_name), "%s", p->filename);
		return 0;
	}
	snprintf(u->part_name, sizeof(u->part_name), "%s", p->name);
	u->field.len = 0;
	return 0;
}

static int up_part_data(void *ctx, const char *data, size_t len)
{
	struct upload *u = ctx;

	if (u->in_file)
		return up_file_bytes(u, data, len);
	if (len > PL_UPLOAD_FIELD_MAX - u->field.len) {
		u->tx.code = PLC_PARAM_INVALID;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "%s is longer than %d bytes", u->part_name,
			 PL_UPLOAD_FIELD_MAX);
		return PL_TOOBIG;
	}
	if (u->field.p == NULL && (u->field.p = malloc(PL_UPLOAD_FIELD_MAX)) == NULL) {
		u->tx.code = PLC_SERVER_BUSY;
		return PL_NOMEM;
	}
	memcpy(u->field.p + u->field.len, data, len);
	u->field.len += len;
	return 0;
}

static int up_part_end(void *ctx)
{
	struct upload *u = ctx;

	if (u->in_file) {
		u->in_file = 0;
		return 0;
	}
	return up_field_set(u, u->part_name, u->field.p ? u->field.p : "", u->field.len);
}

static const struct mp_callbacks up_mp_cb = {up_part_begin, up_part_data, up_part_end};

/* ---- the body -------------------------------------------------------------------- */

static void up_on_data(void *ctx, struct net_req *req, const char *data, size_t len)
{
	struct upload *u = ctx;
	int rc;

	if (u->req == NULL)
		return;
	rc = u->multipart ? mp_parser_feed(&u->mp, data, len) : up_file_bytes(u, data, len);
	if (rc < 0) {
		if (!u->tx.code) {
			u->tx.code = PLC_BAD_REQUEST;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "the multipart/form-data body is malformed");
		}
		up_fail_tx(u); /* answered before the body's end: net drops the rest */
	}
}

/* The kind, the name and the duration, from the parameters. */
static int up_params(struct upload *u)
{
	const char *s;
	json_t *d;

	if (u->route == UP_UPLOAD && (s = json_string_value(json_object_get(u->fields, "kind"))) != NULL) {
		if (!strcmp(s, "photo"))
			u->kind = STORE_FILE_PHOTO;
		else if (!strcmp(s, "voice"))
			u->kind = STORE_FILE_VOICE;
		else if (!strcmp(s, "video"))
			u->kind = STORE_FILE_VIDEO;
		else if (strcmp(s, "document") != 0) {
			u->tx.code = PLC_PARAM_INVALID;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "kind is photo, document, voice or video");
			return PL_INVAL;
		}
	}
	if (!u->file_name[0] && (s = json_string_value(json_object_get(u->fields, "file_name"))) != NULL)
		snprintf(u->file_name, sizeof(u->file_name), "%s", s);
	if ((d = json_object_get(u->fields, "duration")) != NULL) {
		char *end;
		long long v = strtoll(json_string_value(d) ? json_string_value(d) : "x", &end, 10);

		if (*end || v < 0 || v > PL_DURATION_MAX) {
			u->tx.code = PLC_PARAM_INVALID;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "duration must be between 0 and %d", PL_DURATION_MAX);
			return PL_INVAL;
		}
		u->duration = v;
	}
	return 0;
}

/* The method's parameters, checked as the call will check them, before
 * anything is stored: a caption too long or a chat_id that is not one is
 * refused now rather than after the upload was processed. */
static int up_check_params(struct upload *u)
{
	const struct api_method *m = &api_methods[u->method];
	struct api_call call;
	json_t *probe = json_deep_copy(u->fields);
	int rc;

	memset(&call, 0, sizeof(call));
	if (probe == NULL) {
		u->tx.code = PLC_SERVER_BUSY;
		return PL_NOMEM;
	}
	if (u->route != UP_UPLOAD)
		json_object_set_new(probe, up_routes[u->route].field, json_string("pending-upload"));
	rc = api_args_decode_json(&call, m, probe);
	if (rc < 0) {
		u->tx.code = call.code;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "%s", call.detail);
	}
	api_call_release(&call);
	return rc;
}

static void up_on_end(void *ctx, struct net_req *req, int rc)
{
	struct upload *u = ctx;

	if (u->req == NULL)
		return;
	if (rc == PL_CLOSED) {
		net_req_respond(req, 400, NULL, NULL, 0, NULL); /* dropped: the peer is gone */
		u->req = NULL;
		up_finish(u);
		return;
	}
	if (rc == PL_TOOBIG) {
		char d[96];

		snprintf(d, sizeof(d), "more than %llu bytes", (unsigned long long)u->max_file);
		up_fail(u, PLC_FILE_TOO_BIG, d, 0);
		return;
	}
	if (u->multipart && mp_parser_finish(&u->mp) < 0) {
		up_fail(u, PLC_BAD_REQUEST, "the multipart/form-data body ends before its closing boundary", 0);
		return;
	}
	if (u->multipart && !u->file_seen) {
		char d[128];

		snprintf(d, sizeof(d), "%s is required: the file, as a form field of that name",
			 up_routes[u->route].field);
		up_fail(u, PLC_PARAM_MISSING, d, 0);
		return;
	}
	if (up_params(u) < 0 || up_check_params(u) < 0) {
		up_fail_tx(u);
		return;
	}
	u->body_done = 1;
	up_write_next(u);
}

static const struct net_body_cb up_body_cb = {up_on_data, up_on_end};

/* ---- registering --------------------------------------------------------------- */

static void up_publish_done(struct store_job *j, int commit_rc);

static int up_publish_run(struct store_job *j, struct store *s)
{
	struct upload *u = up_of_job(j);

	up_tx(u, s);
	return core_upload_publish(&u->tx, &u->up);
}

/* The answer of an upload with no message: the file (a photo: its sizes). */
static void up_answer_file(struct upload *u)
{
	struct core_upload_item *main_item = &u->up.items[u->up.n - 1];
	json_t *res = render_file(&main_item->file), *env = NULL;
	char *body = NULL;

	if (res && main_item->file.kind == STORE_FILE_PHOTO) {
		json_t *sizes = json_array();

		for (size_t i = 0; i < u->up.n; i++)
			json_array_append_new(sizes, render_photo_size(&u->up.items[i].file));
		json_object_set_new(res, "photo", sizes);
	}
	if (res && (env = json_pack("{s:b, s:o}", "ok", 1, "result", res)) != NULL)
		body = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if (body == NULL) {
		up_fail(u, PLC_INTERNAL, "out of memory", 0);
		return;
	}
	up_uncount(u);
	api_srv_respond_json(u->mod->srv, u->req, u->method, 200, body, strlen(body));
	u->req = NULL;
	free(body);
}

static void up_publish_done(struct store_job *j, int commit_rc)
{
	struct upload *u = up_of_job(j);
	json_t *params;

	if (!up_back(u))
		return;
	if (commit_rc < 0 || j->run_rc < 0) {
		if (commit_rc < 0)
			u->tx.code = PLC_SERVER_BUSY;
		up_fail_tx(u);
		return;
	}
	if (u->route == UP_UPLOAD) {
		up_answer_file(u);
	} else {
		/* The method itself, with the new file_id (a photo's largest size). */
		params = u->fields;
		u->fields = NULL;
		json_object_set_new(params, up_routes[u->route].field,
				    json_string(u->up.items[u->up.n - 1].file.file_id));
		api_srv_call(u->mod->srv, u->req, up_routes[u->route].path, params);
		u->req = NULL;
	}
	u->up.n = 0; /* placed and published: no temporary objects left */
	up_finish(u);
}

static void up_place_work(uv_work_t *w)
{
	struct upload *u = w->data;

	u->step_rc = core_upload_place(u->mod->env->core, &u->up);
}

static void up_place_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;

	/* Placed or dropped: the items hold no temporary object any more. */
	if (!up_back(u))
		return;
	if (status < 0 || u->step_rc < 0) {
		up_fail(u, PLC_INTERNAL, "could not store the upload", 0);
		return;
	}
	if (up_submit(u, up_publish_run, up_publish_done) < 0)
		up_fail(u, PLC_SERVER_BUSY, "the server is shutting down", 0);
}

static int up_reserve_run(struct store_job *j, struct store *s)
{
	struct upload *u = up_of_job(j);

	up_tx(u, s);
	return core_upload_reserve(&u->tx, &u->up);
}

static void up_reserve_done(struct store_job *j, int commit_rc)
{
	struct upload *u = up_of_job(j);

	if (!up_back(u))
		return;
	if (commit_rc < 0 || j->run_rc < 0) {
		if (commit_rc < 0)
			u->tx.code = PLC_SERVER_BUSY;
		up_fail_tx(u);
		return;
	}
	if (up_queue(u, up_place_work, up_place_done) < 0)
		up_fail(u, PLC_SERVER_BUSY, "could not queue the upload", 0);
}

static void up_process_work(uv_work_t *w)
{
	struct upload *u = w->data;
	struct blob_temp *t = u->temp;

	u->temp = NULL; /* core_upload_process takes it */
	up_tx(u, NULL);
	u->step_rc = core_upload_process(&u->tx, u->kind, t, u->file_name, u->duration, &u->up);
}

static void up_process_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;

	if (!up_back(u))
		return;
	if (status < 0 || u->step_rc < 0) {
		up_fail_tx(u);
		return;
	}
	if (up_submit(u, up_reserve_run, up_reserve_done) < 0)
		up_fail(u, PLC_SERVER_BUSY, "the server is shutting down", 0);
}

static void up_process_start(struct upload *u)
{
	if (up_queue(u, up_process_work, up_process_done) < 0)
		up_fail(u, PLC_SERVER_BUSY, "could not queue the upload", 0);
}

/* ---- the start ------------------------------------------------------------------- */

/* Reader: who is uploading, and where the bytes go. */
static void up_auth_work(uv_work_t *w)
{
	struct upload *u = w->data;
	const struct api_env *env = u->mod->env;
	struct store *s = api_reader_get(env->readers);
	struct store_session ss;
	double rate = (double)env->cfg->rate_requests_per_sec;
	char key[40];
	int wait;

	up_tx(u, s);
	u->step_rc = core_authenticate(&u->tx, u->token[0] ? u->token : NULL, &ss);
	if (u->step_rc == 0)
		u->step_rc = core_mod_suspension_check(&u->tx, ss.suspended_until, ss.suspend_statement);
	if (u->step_rc == 0) {
		u->uid = ss.user_id;
		snprintf(key, sizeof(key), "s:%lld", (long long)ss.id);
		if ((wait = rl_take(env->session_limits, key, rate, rate * 2, u->tx.mono)) != 0) {
			u->tx.code = PLC_FLOOD_WAIT;
			u->tx.retry_after = wait;
			snprintf(u->tx.detail, sizeof(u->tx.detail), "more than %g calls per second", rate);
			u->step_rc = PL_DENIED;
		}
	}
	core_tx_release(&u->tx);
	u->tx.s = NULL;
	api_reader_put(env->readers, s);
	if (u->step_rc == 0 && (u->step_rc = blob_temp_open(env->core->media.blobs, &u->temp)) < 0) {
		u->tx.code = PLC_INTERNAL;
		snprintf(u->tx.detail, sizeof(u->tx.detail), "could not store the upload");
	}
}

static void up_auth_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;
	struct uploads *mod = u->mod;
	uint64_t max_body;
	intptr_t n;
	char d[160];
	int rc;

	if (!up_back(u))
		return;
	if (status < 0 || u->step_rc < 0) {
		up_fail_tx(u);
		return;
	}
	n = (intptr_t)imap_get(&mod->per_user, u->uid);
	if (n >= mod->env->cfg->upload_concurrency_per_user) {
		snprintf(d, sizeof(d), "you have %ld uploads in progress; the limit is %ld", (long)n,
			 mod->env->cfg->upload_concurrency_per_user);
		up_fail(u, PLC_UPLOADS_TOO_MANY, d, 1);
		return;
	}
	if (imap_put(&mod->per_user, u->uid, (void *)(n + 1)) < 0) {
		up_fail(u, PLC_SERVER_BUSY, "out of memory", 0);
		return;
	}
	u->counted = 1;
	max_body = u->max_file + (u->multipart ? UP_MULTIPART_SLACK : 0);
	rc = net_req_body_start(u->req, max_body, &up_body_cb, u);
	if (rc == PL_TOOBIG) {
		snprintf(d, sizeof(d), "%lld bytes; the limit is %llu", (long long)u->req->content_length,
			 (unsigned long long)u->max_file);
		up_fail(u, PLC_FILE_TOO_BIG, d, 0);
	} else if (rc < 0) {
		up_fail(u, PLC_BAD_REQUEST, "the request cannot carry an upload", 0);
	}
	/* Else the body's callbacks drive u (some may have run already). */
}

static int up_route_of(const char *path)
{
	if (strncmp(path, "/api/", 5) != 0)
		return -1;
	for (int i = 0; i < UP__ROUTES; i++)
		if (!strcmp(path + 5, up_routes[i].path))
			return i;
	return -1;
}

int uploads_head(struct uploads *mod, const struct net_req *req)
{
	const char *ct = req->content_type;

	if (req->method != NET_POST || up_route_of(req->path) < 0)
		return NET_BODY_BUFFER;
	/* JSON is a call with a file_id; anything else carries a file. */
	if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
		return NET_BODY_BUFFER;
	if (ct == NULL && req->content_length <= 0)
		return NET_BODY_BUFFER;
	return NET_BODY_STREAM;
}

void uploads_start(struct uploads *mod, struct net_req *req)
{
	const struct api_env *env = mod->env;
	const struct api_method *m;
	struct upload *u;
	char boundary[MP_BOUNDARY_MAX + 1];
	const char *auth = req->authorization, *tok;
	int route = up_route_of(req->path), rc;

	m = route >= 0 ? api_method_find(up_routes[route].path) : NULL;
	if (route < 0 || m == NULL) {
		api_srv_respond_error(mod->srv, req, -1, PLC_METHOD_NOT_FOUND, "no such API method", 0);
		return;
	}
	if (mod->active >= (size_t)env->cfg->uploads_max) {
		api_srv_respond_error(mod->srv, req, (int)(m - api_methods), PLC_UPLOADS_TOO_MANY,
				      "the server has as many uploads in progress as it takes", 2);
		return;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL || (u->fields = json_object()) == NULL) {
		free(u);
		api_srv_respond_error(mod->srv, req, (int)(m - api_methods), PLC_SERVER_BUSY, "out of memory", 0);
		return;
	}
	u->mod = mod;
	u->req = req;
	u->route = route;
	u->method = (int)(m - api_methods);
	u->kind = up_routes[route].kind;
	mod->active++;
	api_srv_hold(mod->srv);
	/* While streaming, a photo route is held to the photo limit; a generic
	 * upload to the file limit (its kind may come after the file). */
	u->max_file = route == UP_SEND_PHOTO ? (uint64_t)env->cfg->photo_max_bytes : (uint64_t)env->cfg->file_max_bytes;
	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		for (tok = auth + 7; *tok == ' '; tok++)
			;
		snprintf(u->token, sizeof(u->token), "%s", tok);
	} else if ((tok = strstr(req->query, "token=")) != NULL && (tok == req->query || tok[-1] == '&')) {
		size_t n = strspn(tok + 6, "0123456789abcdefABCDEF");

		snprintf(u->token, sizeof(u->token), "%.*s", (int)(n < sizeof(u->token) ? n : 0), tok + 6);
	}
	if (up_query(u, req->query) < 0) {
		up_fail_tx(u);
		return;
	}
	if (req->content_type && mp_boundary_parse(req->content_type, boundary) == 0) {
		u->multipart = 1;
		mp_parser_init(&u->mp, boundary, &up_mp_cb, u);
	} else if (req->content_type && !strncasecmp(req->content_type, "multipart/", 10)) {
		up_fail(u, PLC_CONTENT_TYPE_INVALID, "multipart/form-data needs a valid boundary", 0);
		return;
	} else {
		u->file_seen = 1; /* the body is the file */
	}
	if (!u->token[0]) {
		up_fail(u, PLC_UNAUTHORIZED, "an upload needs a session token (Authorization: Bearer)", 0);
		return;
	}
	/* Announced too big: refused before anything is read. */
	if (req->content_length > 0 &&
	    (uint64_t)req->content_length > u->max_file + (u->multipart ? UP_MULTIPART_SLACK : 0)) {
		char d[96];

		snprintf(d, sizeof(d), "%lld bytes; the limit is %llu", (long long)req->content_length,
			 (unsigned long long)u->max_file);
		up_fail(u, PLC_FILE_TOO_BIG, d, 0);
		return;
	}
	if ((rc = up_queue(u, up_auth_work, up_auth_done)) < 0)
		up_fail(u, PLC_SERVER_BUSY, "could not queue the upload", 0);
}

/* ---- the collector ------------------------------------------------------------------ */

struct up_gc {
	struct store_job j;            /* first */
	struct uploads *mod;
	struct core *core;
	uv_loop_t *loop;
	const struct pl_log *log;
	uv_work_t work;
	int64_t removed, marked, emptied;
};

static int up_gc_run(struct store_job *j, struct store *s)
{
	struct up_gc *g = (struct up_gc *)j;
	struct core_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.core = g->core;
	tx.s = s;
	tx.now = (int64_t)time(NULL);
	return core_media_gc(&tx, UP_GC_BATCH, &g->removed, &g->marked);
}

static void up_gc_empty(uv_work_t *w)
{
	struct up_gc *g = w->data;

	(void)blob_trash_empty(g->core->media.blobs, &g->emptied);
}

static void up_gc_emptied(uv_work_t *w, int status)
{
	struct up_gc *g = w->data;

	if (g->mod)
		g->mod->gc_running = 0;
	free(g);
}

static void up_gc_done(struct store_job *j, int commit_rc)
{
	struct up_gc *g = (struct up_gc *)j;

	if (commit_rc == 0 && j->run_rc == 0 && (g->removed || g->marked))
		pl_log(g->log, PL_LOG_INFO, "files: %lld unreferenced blob(s) deleted, %lld marked for deletion",
		       (long long)g->removed, (long long)g->marked);
	g->work.data = g;
	if (commit_rc == 0 && g->removed > 0 && uv_queue_work(g->loop, &g->work, up_gc_empty, up_gc_emptied) == 0)
		return;
	if (g->mod)
		g->mod->gc_running = 0;
	free(g);
}

static void up_gc_tick(uv_timer_t *t)
{
	struct uploads *mod = t->data;
	struct up_gc *g;

	if (mod->gc_running || mod->closed || (g = calloc(1, sizeof(*g))) == NULL)
		return;
	g->mod = mod;
	g->core = mod->env->core;
	g->loop = mod->env->loop;
	g->log = mod->env->log;
	g->j.run = up_gc_run;
	g->j.done = up_gc_done;
	mod->gc_running = 1;
	if (store_writer_submit(mod->env->writer, &g->j) < 0) {
		mod->gc_running = 0;
		free(g);
	}
}

struct uploads *uploads_new(struct api_server *srv)
{
	struct uploads *mod = calloc(1, sizeof(*mod));
	int64_t period;

	if (mod == NULL)
		return NULL;
	mod->srv = srv;
	mod->env = api_srv_env(srv);
	imap_init(&mod->per_user);
	/* Often enough that a blob outlives its grace period by at most half
	 * of it again (and by at most UP_GC_PERIOD_MAX_S). */
	period = mod->env->cfg->blob_grace_seconds / 2;
	period = period < 1 ? 1 : period > UP_GC_PERIOD_MAX_S ? UP_GC_PERIOD_MAX_S : period;
	uv_timer_init(mod->env->loop, &mod->gc_timer);
	mod->gc_timer.data = mod;
	uv_timer_start(&mod->gc_timer, up_gc_tick, (uint64_t)period * 1000, (uint64_t)period * 1000);
	return mod;
}

void uploads_close(struct uploads *mod)
{
	if (mod == NULL || mod->closed)
		return;
	mod->closed = 1;
	uv_close((uv_handle_t *)&mod->gc_timer, NULL);
}

void uploads_free(struct uploads *mod)
{
	if (mod == NULL)
		return;
	imap_release(&mod->per_user);
	free(mod);
}
