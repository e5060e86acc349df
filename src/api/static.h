/*
 * static.h — the web app's files (HTML, CSS, JavaScript modules), read from
 * the `web_root` folder once at start-up and served from memory with ETags,
 * so serving them never touches the disk.  Paths without a file extension
 * that match no file (app routes such as "/+CODE") get index.html.
 * Limits: STATIC_FILES_MAX files, STATIC_BYTES_MAX bytes in all (static.c).
 * A missing folder gives an empty site.  Restart parleyd to pick up changes.
 */
#ifndef PL_API_STATIC_H
#define PL_API_STATIC_H

#include <stddef.h>

struct static_site;

struct static_hit {
	const char *type;      /* Content-Type */
	const char *etag;      /* quoted */
	const char *body;
	size_t len;
	int is_app;            /* served index.html for an app route */
};

/* Returns the site (possibly empty), or NULL with a message in err. */
struct static_site *static_site_load(const char *root, char *err, size_t errlen);
void static_site_free(struct static_site *site);
size_t static_site_count(const struct static_site *site);
/* Fills hit for URL path; PL_NOTFOUND if none.  Pointers live as long as site. */
int static_site_find(const struct static_site *site, const char *path, struct static_hit *hit);

#endif
