/* h_media.c — API handlers for photos and files: sendPhoto, sendDocument,
 * sendVoice, sendVideo (a file_id; uploads reach them through upload.c,
 * which stores the file and then calls them with its file_id), getFile and
 * upload.  Parameter positions follow each method's row in methods.c:
 * 0 chat_id, 1 the file, 2 caption, 3 reply_to_message_id,
 * 4 reply_parameters (5 duration: voice, video). */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/render.h"
#include "core/core.h"
#include "media/media.h"

/* What prep found for exec: the files the file_id brings. */
struct h_media_prep {
	struct store_file files[MEDIA_PHOTO_SIZES_MAX];
	size_t n;
};

/* The kind of file a method sends. */
static int h_media_kind(const struct api_method *m)
{
	if (!strcmp(m->name, "sendPhoto"))
		return STORE_FILE_PHOTO;
	if (!strcmp(m->name, "sendVoice"))
		return STORE_FILE_VOICE;
	if (!strcmp(m->name, "sendVideo"))
		return STORE_FILE_VIDEO;
	return STORE_FILE_DOCUMENT;
}

/* Reader: the file_id must name a file the caller may see, of the right kind. */
int h_send_media_prep(struct api_call *call, struct store *s)
{
	int kind = h_media_kind(call->m);
	struct h_media_prep *p;
	struct store_file f;
	int rc;

	if ((rc = core_file_get(call->tx, api_str(call, 1), &f)) < 0)
		return rc;
	if (kind == STORE_FILE_PHOTO ? f.kind != STORE_FILE_PHOTO
				     : f.kind == STORE_FILE_PHOTO || (kind != STORE_FILE_DOCUMENT && f.kind != kind))
		return api_fail(call, PLC_FILE_TYPE_INVALID, "this file_id is a %s; it cannot be sent with %s",
				f.kind == STORE_FILE_PHOTO ? "photo" : f.kind == STORE_FILE_VOICE ? "voice note"
								     : f.kind == STORE_FILE_VIDEO ? "video" : "document",
				call->m->name);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return api_fail(call, PLC_INTERNAL, "out of memory");
	call->prep_data = p;
	return core_file_set(call->tx, &f, p->files, &p->n);
}

/* Writer. */
int h_send_media(struct api_call *call, struct store *s)
{
	struct h_media_prep *p = call->prep_data;
	struct core_access a;
	struct store_message m;
	int64_t reply = api_int(call, 3);
	int rc;

	if (!reply && call->v[4].obj) {
		json_t *id = json_object_get(call->v[4].obj, "message_id");

		if (!json_is_integer(id) || json_integer_value(id) < 1)
			return api_fail(call, PLC_PARAM_INVALID, "reply_parameters.message_id must be a positive integer");
		reply = json_integer_value(id);
	}
	if ((rc = h_chat_arg(call, 0, 1, CORE_NEED_NONE, &a)) < 0)
		return rc;
	if ((rc = core_media_send(call->tx, &a, p->files, p->n, api_has(call, 2) ? api_str(call, 2) : "", reply,
				  &m)) < 0)
		return rc;
	call->result = render_message(call->tx, &a.chat, &m, 0);
	store_message_release(&m);
	return 0;
}

/* getFile: 0 file_id */
int h_get_file(struct api_call *call, struct store *s)
{
	struct store_file f;
	int rc;

	if ((rc = core_file_get(call->tx, api_str(call, 0), &f)) < 0)
		return rc;
	call->result = render_file(&f);
	return 0;
}

/* upload with a JSON body: the file must come in the body itself. */
int h_upload(struct api_call *call, struct store *s)
{
	return api_fail(call, PLC_CONTENT_TYPE_INVALID,
			"upload takes the file itself: multipart/form-data (field \"file\") or the raw bytes as the body");
}
