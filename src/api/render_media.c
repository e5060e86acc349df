/* render_media.c — the Bot API's shapes of files (render.h): PhotoSize,
 * Document, Voice, Video and File, and a message's files. */
#include <string.h>

#include "api/render.h"

static const char *const media_keys[] = {"photo", "document", "voice", "video", "caption"};

static void rm_common(json_t *j, const struct store_file *f)
{
	char uniq[CORE_FILE_UNIQUE_SZ];

	core_file_unique_id(f->sha256, uniq);
	json_object_set_new(j, "file_id", json_string(f->file_id));
	json_object_set_new(j, "file_unique_id", json_string(uniq));
}

json_t *render_photo_size(const struct store_file *f)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	rm_common(j, f);
	json_object_set_new(j, "width", json_integer(f->width));
	json_object_set_new(j, "height", json_integer(f->height));
	json_object_set_new(j, "file_size", json_integer(f->size));
	return j;
}

json_t *render_file_kind(const struct store_file *f)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	rm_common(j, f);
	if (f->kind == STORE_FILE_VOICE || f->kind == STORE_FILE_VIDEO)
		json_object_set_new(j, "duration", json_integer(f->duration));
	if (f->kind != STORE_FILE_VOICE && f->name[0])
		json_object_set_new(j, "file_name", json_string(f->name));
	json_object_set_new(j, "mime_type", json_string(f->mime));
	json_object_set_new(j, "file_size", json_integer(f->size));
	return j;
}

json_t *render_file(const struct store_file *f)
{
	char path[STORE_FILE_ID_SZ + 64];
	json_t *j = json_object();

	if (!j)
		return NULL;
	rm_common(j, f);
	core_file_path(f, path, sizeof(path));
	json_object_set_new(j, "file_size", json_integer(f->size));
	json_object_set_new(j, "file_path", json_string(path));
	return j;
}

struct rm_list {
	struct store_file f[4];
	size_t n;
};

static int rm_collect(void *ctx, const struct store_file *f)
{
	struct rm_list *l = ctx;

	if (l->n >= sizeof(l->f) / sizeof(l->f[0]))
		return 1;
	l->f[l->n++] = *f;
	return 0;
}

int render_media(struct core_tx *tx, const struct store_message *m, json_t *msg)
{
	struct rm_list l;

	l.n = 0;
	if (m->service || core_fresh_no_files(tx, m)) /* a text message this call sent */
		return 0;
	if (store_media_list(tx->s, m->chat_id, m->id, rm_collect, &l) < 0 || l.n == 0)
		return 0;
	if (l.f[0].kind == STORE_FILE_PHOTO) {
		json_t *sizes = json_array();

		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(sizes, render_photo_size(&l.f[i]));
		json_object_set_new(msg, "photo", sizes);
	} else {
		json_object_set_new(msg, l.f[0].kind == STORE_FILE_VOICE   ? "voice"
					  : l.f[0].kind == STORE_FILE_VIDEO ? "video"
									    : "document",
				    render_file_kind(&l.f[0]));
	}
	if (m->text && m->text[0])
		json_object_set_new(msg, "caption", json_string(m->text));
	return 1;
}

void render_media_drop(json_t *msg)
{
	for (size_t i = 0; i < sizeof(media_keys) / sizeof(media_keys[0]); i++)
		json_object_del(msg, media_keys[i]);
}

int render_has_content(json_t *msg)
{
	if (json_object_get(msg, "text"))
		return 1;
	for (size_t i = 0; i < sizeof(media_keys) / sizeof(media_keys[0]); i++)
		if (json_object_get(msg, media_keys[i]))
			return 1;
	return 0;
}
