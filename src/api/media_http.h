/*
 * media_http.h — the HTTP side of files, private to src/api (docs/media.md):
 *   upload.c    streamed uploads: POST /api/upload, /api/sendPhoto,
 *               /api/sendDocument, /api/sendVoice, /api/sendVideo with
 *               multipart/form-data or a raw body, written to the blob
 *               store by workers as they arrive, processed, registered,
 *               then sent as a regular call with the new file_id; and the
 *               collector of unreferenced blobs, on a timer;
 *   download.c  GET and HEAD /file/<file_path> (and
 *               /file/bot<token>/<file_path>): access in core, Range,
 *               ETag, caching and Content-Disposition, the bytes read on
 *               the thread pool by net.
 * Loop thread only.
 */
#ifndef PL_API_MEDIA_HTTP_H
#define PL_API_MEDIA_HTTP_H

struct api_server;
struct net_req;
struct uploads;

/* The upload side of a server, with its collector timer.  NULL on failure. */
struct uploads *uploads_new(struct api_server *srv);
/* Stops the collector timer (before the loop's last run). */
void uploads_close(struct uploads *u);
void uploads_free(struct uploads *u);

/* The head callback's answer for req: NET_BODY_STREAM for an upload. */
int uploads_head(struct uploads *u, const struct net_req *req);
/* A streamed request (req->streaming) has arrived. */
void uploads_start(struct uploads *u, struct net_req *req);

/* GET or HEAD of /file/...: path is what follows "/file/". */
void download_start(struct api_server *srv, struct net_req *req, const char *path);

#endif
