/*
 * sniff.c — the type of an upload, told from its bytes by libmagic
 * (media.h).  The name and the Content-Type a client sends are never used.
 *
 * libmagic handles are not thread-safe; one handle behind a mutex serves
 * every worker (a look at 64 KiB takes well under a millisecond).
 * Decompressing (MAGIC_NO_CHECK_COMPRESS) is off: libmagic looks at the
 * bytes as they are, and never more than MEDIA_SNIFF_BYTES of them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <magic.h>

#include "media/media.h"
#include "util/err.h"

struct media_sniffer {
	pthread_mutex_t mu;
	magic_t magic;
};

struct media_sniffer *media_sniffer_new(char *err, size_t errlen)
{
	struct media_sniffer *s = calloc(1, sizeof(*s));
	size_t bytes_max = MEDIA_SNIFF_BYTES;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (s->magic == NULL || magic_load(s->magic, NULL) != 0) {
		snprintf(err, errlen, "libmagic: %s", s->magic ? magic_error(s->magic) : "cannot start");
		if (s->magic)
			magic_close(s->magic);
		free(s);
		return NULL;
	}
	(void)magic_setparam(s->magic, MAGIC_PARAM_BYTES_MAX, &bytes_max);
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void media_sniffer_free(struct media_sniffer *s)
{
	if (s == NULL)
		return;
	magic_close(s->magic);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int media_sniff(struct media_sniffer *s, const void *data, size_t len, char mime[MEDIA_MIME_MAX])
{
	const char *m;

	if (len > MEDIA_SNIFF_BYTES)
		len = MEDIA_SNIFF_BYTES;
	pthread_mutex_lock(&s->mu);
	m = len ? magic_buffer(s->magic, data, len) : NULL;
	snprintf(mime, MEDIA_MIME_MAX, "%s", m && strchr(m, '/') ? m : "application/octet-stream");
	pthread_mutex_unlock(&s->mu);
	/* Only token characters: the type goes into a header. */
	for (char *p = mime; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("/.+-_", *p)))
			*p = '_';
	return 0;
}

static const struct {
	const char *mime;
	const char *ext;
} media_exts[] = {
	{"image/jpeg", "jpg"}, {"image/png", "png"}, {"image/webp", "webp"}, {"image/gif", "gif"},
	{"audio/ogg", "ogg"}, {"audio/mpeg", "mp3"}, {"audio/x-m4a", "m4a"}, {"audio/mp4", "m4a"},
	{"audio/x-wav", "wav"}, {"audio/flac", "flac"}, {"video/mp4", "mp4"}, {"video/webm", "webm"},
	{"video/quicktime", "mov"}, {"video/x-matroska", "mkv"}, {"application/pdf", "pdf"},
	{"application/zip", "zip"}, {"text/plain", "txt"}, {"application/json", "json"},
	{"text/csv", "csv"},
};

const char *media_mime_ext(const char *mime)
{
	for (size_t i = 0; i < sizeof(media_exts) / sizeof(media_exts[0]); i++)
		if (strcasecmp(mime, media_exts[i].mime) == 0)
			return media_exts[i].ext;
	return "bin";
}

int media_mime_active(const char *mime)
{
	static const char *const active[] = {"text/html", "image/svg", "application/xhtml", "text/xml",
					     "application/xml", "text/javascript", "application/javascript",
					     "text/x-", "application/x-sh"};

	for (size_t i = 0; i < sizeof(active) / sizeof(active[0]); i++)
		if (strncasecmp(mime, active[i], strlen(active[i])) == 0)
			return 1;
	return 0;
}
