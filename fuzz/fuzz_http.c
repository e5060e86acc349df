/*
 * fuzz_http.c — libFuzzer target for the HTTP request assembler
 * (src/net/http_parse.c).  Seed corpus: fuzz/corpus/http/ (plain requests).
 *
 * The input is a byte stream as a client would send it.  It is fed to the
 * assembler in chunks whose sizes come from a hash of the input (so each
 * input always splits the same way, and mutations change the split too),
 * with limits picked the same way, sometimes feeding on before every kept
 * request was taken; every request yielded is walked.  When
 * the input fits the assembler's pipelining buffer it is also fed in one
 * piece, and both runs must yield the same requests and the same outcome:
 * how bytes are split by the network must never change what is parsed.
 *
 * Then the same stream is parsed with the parser stopping at every head
 * (net_parser_set_head_stop), reading each body either whole
 * (net_parser_buffer) or streamed to a callback (net_parser_stream, with the
 * same limit), chosen per request from the hash: the requests (bodies
 * reassembled from the pieces), the outcome and the error status must be
 * the same as without stopping.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"
#include "net/net.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t fz_header_limits[4] = {64, 1024, 16384, 100000};
static const size_t fz_body_limits[4] = {0, 100, 4096, 1048576};
static const size_t fz_chunk_max[8] = {1, 2, 3, 7, 16, 100, 4096, 65536};

/* What a run produced, folded into a few numbers. */
struct fz_result {
	uint64_t digest;
	unsigned nreqs;
	int rc;
	int status;
};

static uint64_t fz_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t fz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t fz_mix_str(uint64_t h, const char *s)
{
	if (s == NULL)
		return fz_mix(h, "\xff", 1);
	return fz_mix(h, s, strlen(s) + 1);
}

/* Touches every part of req, checks what the contract promises, and folds
 * it into the digest. */
static void fz_walk(struct fz_result *r, const struct net_parsed_req *q)
{
	uint64_t h = r->digest;

	if (q->method < NET_GET || q->method > NET_OTHER || q->path == NULL || q->path[0] != '/' ||
	    q->query == NULL || q->body == NULL || q->body[q->body_len] != '\0' ||
	    (q->keep_alive != 0 && q->keep_alive != 1) || q->http_major != 1)
		abort();
	h = fz_mix(h, &q->method, sizeof(q->method));
	h = fz_mix(h, &q->keep_alive, sizeof(q->keep_alive));
	h = fz_mix(h, &q->http_minor, sizeof(q->http_minor));
	h = fz_mix_str(h, q->path);
	h = fz_mix_str(h, q->query);
	h = fz_mix_str(h, q->authorization);
	h = fz_mix_str(h, q->content_type);
	h = fz_mix(h, &q->body_len, sizeof(q->body_len));
	h = fz_mix(h, q->body, q->body_len);
	r->digest = h;
	r->nreqs++;
}

/* A streamed body put back together. */
struct fz_body {
	char *data;
	size_t len;
	size_t max;
};

static void fz_on_body(void *ctx, const char *data, size_t len)
{
	struct fz_body *b = ctx;

	if (len == 0 || len > b->max - b->len)
		abort(); /* the parser must enforce the limit it was given */
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* Head stop: decides how the request at a head is read.  Returns what
 * net_parser_next would have; *streaming tells whether a head was taken. */
static int fz_decide(struct net_parser *p, uint64_t *pick, size_t bmax, struct fz_body *b,
		     struct net_parsed_req *head, int *streaming, int *status)
{
	if (net_parser_head(p) == NULL)
		abort();
	if ((fz_next(pick) & 1) == 0)
		return net_parser_buffer(p, status);
	b->len = 0;
	b->max = bmax;
	if (net_parser_stream(p, bmax, fz_on_body, b, head, status) < 0)
		return PL_TOOBIG;
	*streaming = 1;
	return 0;
}

/* Feeds data to a fresh parser in chunks of 1..chunk_max bytes (SIZE_MAX:
 * all at once).  lazy: after a request, feed the next chunk before asking for
 * the requests still kept, so that new bytes queue up behind kept ones.
 * stop: stop at heads, picking buffer or stream from pick_seed. */
static void fz_run(struct fz_result *r, const char *data, size_t size, size_t hmax, size_t bmax,
		   size_t chunk_max, uint64_t seed, int lazy, int stop, uint64_t pick_seed)
{
	struct net_parser p;
	struct net_parsed_req q, head;
	struct fz_body b = {NULL, 0, 0};
	size_t off = 0, n;
	int rc = PL_AGAIN, status = 0, again_status, streaming = 0;

	memset(r, 0, sizeof(*r));
	memset(&head, 0, sizeof(head));
	net_parser_init(&p, hmax, bmax);
	net_parser_set_head_stop(&p, stop);
	if (stop && (b.data = malloc(bmax + 1)) == NULL)
		abort();
	for (;;) {
		if (off < size) {
			if (chunk_max == SIZE_MAX)
				n = size - off;
			else
				n = 1 + (size_t)(fz_next(&seed) % (chunk_max < size ? chunk_max : size));
			if (n > size - off)
				n = size - off;
			rc = net_parser_next(&p, data + off, n, &q, &status);
			off += n;
		} else if (rc == 0) {
			rc = net_parser_next(&p, NULL, 0, &q, &status);
		} else {
			break;
		}
		while (rc == 0 || rc == NET_PARSE_HEAD || rc == NET_PARSE_END) {
			if (rc == NET_PARSE_HEAD) {
				if (!stop || streaming)
					abort();
				rc = fz_decide(&p, &pick_seed, bmax, &b, &head, &streaming, &status);
				if (rc < 0)
					break;
				rc = net_parser_next(&p, NULL, 0, &q, &status);
				continue;
			}
			if (rc == NET_PARSE_END) {
				if (!streaming || q.method != 0 || q.target != NULL)
					abort();
				/* The body as the buffering parser would have had it. */
				free(head.body);
				if ((head.body = malloc(b.len + 1)) == NULL)
					abort();
				memcpy(head.body, b.data, b.len);
				head.body[b.len] = '\0';
				head.body_len = b.len;
				head.keep_alive = q.keep_alive;
				fz_walk(r, &head);
				net_parsed_req_release(&head);
				streaming = 0;
				rc = 0;
			} else {
				if (streaming)
					abort();
				fz_walk(r, &q);
			}
			net_parsed_req_release(&q);
			if (lazy && off < size)
				break;
			rc = net_parser_next(&p, NULL, 0, &q, &status);
		}
		if (rc != 0 && rc != PL_AGAIN) {
			if (status != 400 && status != 413 && status != 431 && status != 500)
				abort();
			/* A dead parser stays dead. */
			if (net_parser_next(&p, "GET / HTTP/1.1\r\n\r\n", 18, &q, &again_status) != rc ||
			    again_status != status)
				abort();
			break;
		}
		(void)net_parser_take_continue(&p);
		(void)net_parser_started(&p);
	}
	r->rc = rc;
	r->status = status;
	net_parsed_req_release(&head);
	free(b.data);
	net_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_result whole, split, stopped;
	uint64_t h = fz_mix(14695981039346656037ULL, data, size);
	size_t hmax = fz_header_limits[h & 3];
	size_t bmax = fz_body_limits[(h >> 2) & 3];
	size_t cmax = fz_chunk_max[(h >> 4) & 7];

	if (size == 0)
		return 0;
	fz_run(&split, (const char *)data, size, hmax, bmax, cmax, h | 1, (int)((h >> 7) & 1), 0, 0);
	if (size <= NET_PARSE_HELD_MAX) {
		fz_run(&whole, (const char *)data, size, hmax, bmax, SIZE_MAX, 1, 0, 0, 0);
		if (whole.nreqs != split.nreqs || whole.digest != split.digest ||
		    whole.rc != split.rc || whole.status != split.status)
			abort();
	}
	/* Stopping at heads must not change a thing. */
	fz_run(&stopped, (const char *)data, size, hmax, bmax, cmax, h | 1, (int)((h >> 7) & 1), 1, h >> 11 | 1);
	if (stopped.nreqs != split.nreqs || stopped.digest != split.digest || stopped.rc != split.rc ||
	    stopped.status != split.status)
		abort();
	return 0;
}
