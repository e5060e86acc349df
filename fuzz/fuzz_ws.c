/*
 * fuzz_ws.c — libFuzzer target for the WebSocket receive side (struct
 * ws_parser in src/net/ws.c, over wslay), driven without sockets.  Seed
 * corpus: fuzz/corpus/ws/ (client byte streams: masked frames).
 *
 * The input's first byte sets the run up: the message limit (bits 0-1) and
 * whether the harness starts the closing handshake itself (bits 2-4: never,
 * before the first byte, or from inside the k-th message).  The rest is what
 * a client sends.  It is fed in chunks whose sizes come from a hash of the
 * input (so each input always splits the same way and mutations change the
 * split), then again in one piece; both runs must yield the same messages,
 * the same output bytes and the same end (state and close code): how the
 * network splits bytes — and whether the wslay context was freed between
 * two chunks — must never change what is parsed.
 *
 * Every message is walked and checked (NUL-terminated, valid UTF-8 with NUL
 * allowed, within the limit).  The output is parsed as server frames: only
 * whole, final, unmasked pong and close frames of at most 125 bytes, close
 * codes a server may send, UTF-8 close reasons, nothing after a close
 * frame, and a close frame at all once the parser says it is closing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws_int.h"
#include "util/err.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t fz_msg_limits[4] = {0, 125, 4096, 1048576};
static const size_t fz_chunk_max[8] = {1, 2, 3, 7, 16, 100, 4096, 65536};
/* Output kept for comparing the two runs; more is only hashed. */
#define FZ_OUT_MAX 65536

struct fz_run {
	struct ws_parser p;           /* first: the callbacks get &p */
	uint64_t digest;              /* of the messages */
	uint64_t out_digest;          /* of the output bytes */
	size_t out_len;
	size_t max_message;
	unsigned nmsgs;
	unsigned close_at;            /* 0 never, 1 before feeding, k: in message k - 1 */
	int closed_by_us;             /* ws_parser_close returned 0 */
	int close_seen;               /* a close frame went out */
	int rc;
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

/* UTF-8 with NUL allowed, as ws.c checks it. */
static int fz_text_ok(const char *s, size_t len)
{
	while (len > 0) {
		const char *nul = memchr(s, '\0', len);
		size_t seg = nul != NULL ? (size_t)(nul - s) : len;

		if (seg > 0 && utf8_count(s, seg) < 0)
			return 0;
		if (nul == NULL)
			break;
		s += seg + 1;
		len -= seg + 1;
	}
	return 1;
}

static void fz_close(struct fz_run *r)
{
	static const char reason[] = "bye";

	if (ws_parser_close(&r->p, 4401, reason, sizeof(reason) - 1) == 0)
		r->closed_by_us = 1;
}

static void fz_on_message(struct ws_parser *p, const char *text, size_t len)
{
	struct fz_run *r = (struct fz_run *)(void *)p;

	if (text[len] != '\0' || len > r->max_message || !fz_text_ok(text, len) ||
	    p->state != WS_PARSER_OPEN)
		abort();
	r->digest = fz_mix(r->digest, &len, sizeof(len));
	r->digest = fz_mix(r->digest, text, len);
	r->nmsgs++;
	if (r->close_at >= 2 && r->nmsgs == r->close_at - 1)
		fz_close(r);
}

/* Checks one piece of output: whole server control frames only. */
static int fz_on_output(struct ws_parser *p, const char *data, size_t len)
{
	struct fz_run *r = (struct fz_run *)(void *)p;
	const unsigned char *b = (const unsigned char *)data;
	size_t off = 0;

	while (off < len) {
		unsigned op, plen;

		if (r->close_seen || len - off < 2)
			abort();
		op = b[off] & 0x0F;
		plen = b[off + 1];
		/* FIN, no RSV, pong or close, unmasked, <= 125 bytes. */
		if ((b[off] & 0xF0) != 0x80 || (op != 0x8 && op != 0xA) || plen > 125 ||
		    len - off - 2 < plen)
			abort();
		if (op == 0x8) {
			r->close_seen = 1;
			if (plen == 1)
				abort();
			if (plen >= 2) {
				int code = b[off + 2] << 8 | b[off + 3];

				if (!ws_close_code_sendable(code) ||
				    !fz_text_ok((const char *)b + off + 4, plen - 2))
					abort();
			}
		}
		off += 2 + plen;
	}
	r->out_digest = fz_mix(r->out_digest, data, len);
	r->out_len += len;
	return 0;
}

static const struct ws_parser_ops fz_ops = {fz_on_message, fz_on_output};

/* Feeds data to a fresh parser in chunks of 1..chunk_max bytes (SIZE_MAX:
 * all at once), taking contexts from pool (may be NULL) and giving them
 * back at rest. */
static void fz_run(struct fz_run *r, struct ws_parser_pool *pool, const char *data, size_t size,
		   size_t max_message, unsigned close_at, size_t chunk_max, uint64_t seed)
{
	size_t off = 0, n;

	memset(r, 0, sizeof(*r));
	r->max_message = max_message;
	r->close_at = close_at;
	ws_parser_init(&r->p, &fz_ops, max_message);
	if (close_at == 1)
		fz_close(r);
	while (off < size) {
		n = chunk_max == SIZE_MAX ? size - off : 1 + (size_t)(fz_next(&seed) % chunk_max);
		if (n > size - off)
			n = size - off;
		r->rc = ws_parser_feed(&r->p, pool, data + off, n);
		off += n;
		if (r->rc != 0 && r->rc != PL_CLOSED)
			abort();
		/* Done means done: input after it is ignored. */
		if (r->rc == PL_CLOSED && (r->p.state != WS_PARSER_DONE || r->p.wslay != NULL))
			abort();
	}
	if (r->p.state != WS_PARSER_OPEN && !r->close_seen)
		abort();
	if (r->p.state == WS_PARSER_DONE && !ws_close_code_sendable(r->p.code) && r->p.code != 1005)
		abort();
	if (r->closed_by_us && r->p.code != 4401 && r->p.code != 1002 && r->p.code != 1011)
		abort();
	ws_parser_release(&r->p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_run whole, split;
	/* The split runs share one pool across inputs, so contexts used by
	 * earlier inputs (and earlier feeds of this one) are taken again; the
	 * whole runs use none: a reused context must parse as a new one. */
	static struct ws_parser_pool pool;
	uint64_t h;
	size_t max_message;
	unsigned close_at;

	if (size == 0)
		return 0;
	h = fz_mix(14695981039346656037ULL, data, size);
	max_message = fz_msg_limits[data[0] & 3];
	close_at = (data[0] >> 2) & 7;
	data++;
	size--;
	fz_run(&split, &pool, (const char *)data, size, max_message, close_at, fz_chunk_max[h & 7],
	       h | 1);
	if (pool.count > WS_PARSER_POOL_MAX)
		abort();
	fz_run(&whole, NULL, (const char *)data, size, max_message, close_at, SIZE_MAX, 1);
	if (whole.nmsgs != split.nmsgs || whole.digest != split.digest ||
	    whole.out_digest != split.out_digest || whole.out_len != split.out_len ||
	    whole.p.state != split.p.state || whole.p.code != split.p.code ||
	    whole.close_seen != split.close_seen)
		abort();
	if (ws_frames_live() != 0)
		abort();
	return 0;
}
