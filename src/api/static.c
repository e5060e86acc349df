/* static.c — the web app's files, loaded into memory at start-up and served
 * from there, so the loop thread never reads the disk (see static.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "api/static.h"
#include "util/err.h"

#define STATIC_FILES_MAX 512
#define STATIC_BYTES_MAX (32u << 20) /* the whole app */
#define STATIC_DEPTH_MAX 8

struct static_file {
	char path[256];        /* URL path, e.g. "/app.js" */
	const char *type;
	char etag[24];
	char *body;
	size_t len;
};

struct static_site {
	struct static_file files[STATIC_FILES_MAX];
	size_t n, bytes;
};

static const char *type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		     {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		     {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		     {".ico", "image/x-icon"}, {".webmanifest", "application/manifest+json"},
		     {".txt", "text/plain; charset=utf-8"}, {".woff2", "font/woff2"}};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static int load_file(struct static_site *site, const char *fs, const char *url, char *err, size_t errlen)
{
	struct static_file *f;
	unsigned char h[16];
	FILE *in;
	struct stat st;

	if (site->n >= STATIC_FILES_MAX || strlen(url) >= sizeof f->path) {
		snprintf(err, errlen, "too many web files, or a path too long: %s", url);
		return PL_TOOBIG;
	}
	if (stat(fs, &st) < 0 || site->bytes + (size_t)st.st_size > STATIC_BYTES_MAX) {
		snprintf(err, errlen, "%s: unreadable, or the web app exceeds %u bytes", fs, STATIC_BYTES_MAX);
		return PL_TOOBIG;
	}
	f = &site->files[site->n];
	f->len = (size_t)st.st_size;
	if (!(f->body = malloc(f->len + 1)) || !(in = fopen(fs, "rb"))) {
		free(f->body);
		snprintf(err, errlen, "%s: %s", fs, strerror(errno));
		return PL_IO;
	}
	if (fread(f->body, 1, f->len, in) != f->len) {
		fclose(in);
		free(f->body);
		snprintf(err, errlen, "%s: short read", fs);
		return PL_IO;
	}
	fclose(in);
	snprintf(f->path, sizeof f->path, "%s", url);
	f->type = type_of(url);
	crypto_generichash(h, sizeof h, (const unsigned char *)f->body, f->len, NULL, 0);
	f->etag[0] = '"';
	sodium_bin2hex(f->etag + 1, sizeof f->etag - 2, h, 10);
	strcat(f->etag, "\"");
	site->bytes += f->len;
	site->n++;
	return 0;
}

static int load_dir(struct static_site *site, const char *fs, const char *url, int depth, char *err, size_t errlen)
{
	DIR *d = opendir(fs);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		snprintf(err, errlen, "%s: %s", fs, strerror(errno));
		return PL_IO;
	}
	while (rc == 0 && (e = readdir(d))) {
		char fpath[1024], upath[512];
		struct stat st;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules") || !strcmp(e->d_name, "tests"))
			continue;
		snprintf(fpath, sizeof fpath, "%s/%s", fs, e->d_name);
		snprintf(upath, sizeof upath, "%s/%s", url, e->d_name);
		if (stat(fpath, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < STATIC_DEPTH_MAX)
			rc = load_dir(site, fpath, upath, depth + 1, err, errlen);
		else if (S_ISREG(st.st_mode))
			rc = load_file(site, fpath, upath, err, errlen);
	}
	closedir(d);
	return rc;
}

struct static_site *static_site_load(const char *root, char *err, size_t errlen)
{
	struct static_site *site = calloc(1, sizeof *site);
	struct stat st;

	if (!site)
		return NULL;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return site; /* no web app: an empty site */
	if (load_dir(site, root, "", 0, err, errlen) < 0) {
		static_site_free(site);
		return NULL;
	}
	return site;
}

void static_site_free(struct static_site *site)
{
	if (!site)
		return;
	for (size_t i = 0; i < site->n; i++)
		free(site->files[i].body);
	free(site);
}

size_t static_site_count(const struct static_site *site)
{
	return site ? site->n : 0;
}

int static_site_find(const struct static_site *site, const char *path, struct static_hit *hit)
{
	const char *want = strcmp(path, "/") ? path : "/index.html";
	char folder[sizeof site->files[0].path + 16];
	size_t len = strlen(path);

	/* A folder with an index.html — "/mod" or "/mod/" — gets that page. */
	if (path[0] == '/' && len > 1 && len < sizeof site->files[0].path && !strchr(strrchr(path, '/'), '.')) {
		snprintf(folder, sizeof folder, "%.*s/index.html", (int)(len - (path[len - 1] == '/')), path);
		if (static_site_find(site, folder, hit) == 0)
			return 0;
	}

	for (int pass = 0; site && pass < 2; pass++) {
		for (size_t i = 0; i < site->n; i++) {
			const struct static_file *f = &site->files[i];
			if (strcmp(f->path, want))
				continue;
			hit->type = f->type;
			hit->etag = f->etag;
			hit->body = f->body;
			hit->len = f->len;
			hit->is_app = pass == 1;
			return 0;
		}
		/* An app route — an invite link "/+CODE" — gets the app's page. */
		if (strncmp(path, "/+", 2) != 0 || strchr(path + 2, '/') || strchr(path, '.'))
			break;
		want = "/index.html";
	}
	return PL_NOTFOUND;
}
