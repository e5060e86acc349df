/*
 * state.c — struct parley_state and the file that keeps it between runs.
 *
 * The file is text, one "key=value" per line, '#' comments, versioned:
 *
 *   # parley sync state
 *   version=1
 *   user_id=7
 *   pts=42
 *   chat=-17 9
 *   app=...
 *
 * Unknown keys are ignored (a newer library may add some); a newer version
 * is refused rather than misread.  It is replaced atomically (written as
 * .new, fsynced, renamed), so a crash leaves either the old state or the new
 * one, never a mix: a state only ever moves forward.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/parley_int.h"

#define STATE_VERSION 1
#define STATE_PATH_MAX 4096
#define STATE_LINE_MAX (PARLEY_STATE_APP_MAX + 64)
/* The whole file: a header, the numbers, every chat and the app line. */
#define STATE_TEXT_MAX (256 + PARLEY_STATE_CHATS_MAX * 48 + STATE_LINE_MAX)

void parley_state_init(struct parley_state *s)
{
	memset(s, 0, sizeof(*s));
}

static int state_fail(char *errbuf, size_t errlen, int rc, const char *path, const char *what)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s", path, what);
	return rc;
}

/* Parses a whole decimal int64 (optional '-'). */
static int state_int(const char *v, int64_t *out)
{
	char *end;

	errno = 0;
	*out = (int64_t)strtoll(v, &end, 10);
	return *v && !*end && errno == 0 ? 0 : -1;
}

/* Applies one "key=value" line.  0 or -1. */
static int state_apply(struct parley_state *s, char *line, int *version)
{
	char *eq = strchr(line, '='), *v, *sp;
	int64_t a, b;

	if (!eq)
		return -1;
	*eq = '\0';
	v = eq + 1;
	if (strcmp(line, "app") == 0) {
		if (strlen(v) >= sizeof(s->app))
			return -1;
		memcpy(s->app, v, strlen(v) + 1);
		return 0;
	}
	if (strcmp(line, "chat") == 0) {
		if (!(sp = strchr(v, ' ')))
			return -1;
		*sp = '\0';
		if (state_int(v, &a) < 0 || state_int(sp + 1, &b) < 0 || a == 0 || b < 0)
			return -1;
		if (s->nchats >= PARLEY_STATE_CHATS_MAX)
			return 0; /* more than this library follows */
		s->chats[s->nchats].chat_id = a;
		s->chats[s->nchats].pts = b;
		s->nchats++;
		return 0;
	}
	if (strcmp(line, "version") == 0 || strcmp(line, "user_id") == 0 || strcmp(line, "pts") == 0) {
		if (state_int(v, &a) < 0)
			return -1;
		if (line[0] == 'v')
			*version = (int)(a > 0 && a < 1000 ? a : 1000);
		else if (line[0] == 'u')
			s->user_id = a;
		else
			s->pts = a;
	}
	return 0; /* a key of a newer library */
}

int parley_state_load(const char *path, struct parley_state *s, int *found, char *errbuf, size_t errlen)
{
	char line[STATE_LINE_MAX];
	int rc = 0, version = 0;
	size_t n;
	FILE *f;

	parley_state_init(s);
	if (found)
		*found = 0;
	if (!(f = fopen(path, "r"))) {
		if (errno == ENOENT)
			return 0;
		return state_fail(errbuf, errlen, PARLEY_EIO, path, strerror(errno));
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n' && !feof(f)) {
			rc = state_fail(errbuf, errlen, PARLEY_EINVAL, path, "a line is too long");
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n && line[0] != '#' && state_apply(s, line, &version) < 0)
			rc = state_fail(errbuf, errlen, PARLEY_EINVAL, path, "malformed line");
	}
	if (rc == 0 && ferror(f))
		rc = state_fail(errbuf, errlen, PARLEY_EIO, path, strerror(errno));
	fclose(f);
	if (rc == 0 && version != STATE_VERSION)
		rc = state_fail(errbuf, errlen, PARLEY_EINVAL, path,
				version > STATE_VERSION ? "written by a newer libparley" : "not a parley state file");
	if (rc < 0) {
		parley_state_init(s);
		return rc;
	}
	if (found)
		*found = 1;
	return 0;
}

/* Writes len bytes and fsyncs. */
static int state_write_fd(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return fsync(fd);
}

int parley_state_save(const char *path, const struct parley_state *s, char *errbuf, size_t errlen)
{
	char tmp[STATE_PATH_MAX + 8];
	struct parley_buf text;
	int fd = -1, rc;

	for (const char *p = s->app; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return state_fail(errbuf, errlen, PARLEY_EINVAL, path, "the app line has control characters");
	if (strlen(path) >= STATE_PATH_MAX)
		return state_fail(errbuf, errlen, PARLEY_EINVAL, path, "path too long");
	if (s->nchats > PARLEY_STATE_CHATS_MAX)
		return state_fail(errbuf, errlen, PARLEY_EINVAL, path, "too many chats");
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	parley_buf_init(&text, STATE_TEXT_MAX);
	rc = parley_buf_addf(&text, "# parley sync state (libparley " PARLEY_VERSION "); do not edit while in use\n"
				    "version=%d\nuser_id=%" PRId64 "\npts=%" PRId64 "\n",
			     STATE_VERSION, s->user_id, s->pts);
	for (size_t i = 0; rc == 0 && i < s->nchats; i++)
		rc = parley_buf_addf(&text, "chat=%" PRId64 " %" PRId64 "\n", s->chats[i].chat_id, s->chats[i].pts);
	if (rc == 0 && s->app[0])
		rc = parley_buf_addf(&text, "app=%s\n", s->app);
	if (rc < 0) {
		rc = state_fail(errbuf, errlen, rc, path, parley_strerror(rc));
		goto out;
	}
	rc = PARLEY_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || state_write_fd(fd, text.p, text.len) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out;
	rc = 0;
out:
	if (rc == PARLEY_EIO)
		state_fail(errbuf, errlen, rc, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	parley_buf_release(&text);
	return rc;
}
