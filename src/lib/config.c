/*
 * config.c — the per-user config file the `parley` CLI keeps its server URL
 * and session token in.  The format is "key=value" lines with '#' comments;
 * unknown keys are ignored so newer CLIs can add keys.  The file holds a
 * credential, so it is created with mode 0600 in folders made with 0700, and
 * replaced atomically (written as .new, fsynced, renamed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/parley_int.h"

#define CONFIG_PATH_MAX 4096  /* bytes in a config path */
#define CONFIG_LINE_MAX 2048  /* bytes in one config line */

static int config_fail(char *errbuf, size_t errlen, int rc, const char *fmt, const char *path, const char *what)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, fmt, path, what);
	return rc;
}

int parley_config_path(char *buf, size_t len)
{
	const char *env = getenv("PARLEY_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/parley/config", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/parley/config", home);
	else
		return PARLEY_EINVAL;
	return n < 0 || (size_t)n >= len ? PARLEY_EINVAL : 0;
}

/* Strips spaces, tabs and the line end from both sides of s, in place. */
static char *config_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Applies one "key=value" line to cfg.  Returns 0 or -1 (bad line). */
static int config_apply(struct parley_config *cfg, char *line)
{
	char *eq = strchr(line, '='), *key, *val;
	char *dst = NULL;
	size_t cap = 0;

	if (!eq)
		return -1;
	*eq = '\0';
	key = config_trim(line);
	val = config_trim(eq + 1);
	if (strcmp(key, "server") == 0) {
		dst = cfg->server;
		cap = sizeof(cfg->server);
	} else if (strcmp(key, "token") == 0) {
		dst = cfg->token;
		cap = sizeof(cfg->token);
	}
	if (!dst)
		return 0; /* a key for another version of the CLI */
	if (strlen(val) >= cap)
		return -1;
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

int parley_config_load(const char *path, struct parley_config *cfg, char *errbuf, size_t errlen)
{
	char line[CONFIG_LINE_MAX], where[64];
	FILE *f;
	int rc = 0, lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return config_fail(errbuf, errlen, PARLEY_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *s = config_trim(line);

		lineno++;
		snprintf(where, sizeof(where), "line %d", lineno);
		if (strlen(line) == sizeof(line) - 1 && !feof(f))
			rc = config_fail(errbuf, errlen, PARLEY_EINVAL, "%s: %s is too long", path, where);
		else if (*s && *s != '#' && config_apply(cfg, s) < 0)
			rc = config_fail(errbuf, errlen, PARLEY_EINVAL, "%s: %s is not key=value or too long", path, where);
	}
	if (rc == 0 && ferror(f))
		rc = config_fail(errbuf, errlen, PARLEY_EIO, "cannot read %s: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

/* Creates every missing folder above path (mode 0700). */
static int config_mkdirs(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int config_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* Writes the whole text to fd and fsyncs it. */
static int config_write_fd(int fd, const char *text, size_t len)
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

int parley_config_save(const char *path, const struct parley_config *cfg, char *errbuf, size_t errlen)
{
	char tmp[CONFIG_PATH_MAX + 8], text[CONFIG_LINE_MAX];
	int fd = -1, rc = PARLEY_EIO, n;

	if (!config_value_ok(cfg->server) || !config_value_ok(cfg->token))
		return config_fail(errbuf, errlen, PARLEY_EINVAL, "%s: %s", path, "values must be one line");
	if (strlen(path) >= CONFIG_PATH_MAX)
		return config_fail(errbuf, errlen, PARLEY_EINVAL, "%s: %s", path, "path too long");
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	n = snprintf(text, sizeof(text),
		     "# parley CLI settings; keep this file private: it holds your session token.\n"
		     "server=%s\ntoken=%s\n", cfg->server, cfg->token);
	if (n < 0 || (size_t)n >= sizeof(text))
		return config_fail(errbuf, errlen, PARLEY_EINVAL, "%s: %s", path, "values too long");
	if (config_mkdirs(path) < 0)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || config_write_fd(fd, text, (size_t)n) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	rc = 0;
fail:
	if (rc < 0)
		config_fail(errbuf, errlen, rc, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}
