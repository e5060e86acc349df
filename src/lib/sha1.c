/*
 * sha1.c — the few bits of cryptographic plumbing the WebSocket handshake
 * (ws.c) needs: SHA-1, base64 and random bytes.
 *
 * RFC 6455 has the client send a random 16-byte key (base64) and the server
 * prove it read the handshake by answering base64(SHA-1(key + GUID)).  SHA-1
 * is broken for signatures and is used here for that check only.  Random
 * bytes also make the masking key of every frame the client sends.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "lib/parley_int.h"

#define SHA1_BLOCK 64

struct sha1_state {
	uint32_t h[5];
	uint64_t total;                /* bytes hashed so far */
	unsigned char buf[SHA1_BLOCK];
	size_t used;                   /* bytes waiting in buf */
};

static uint32_t sha1_rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* Mixes one 64-byte block into the state (FIPS 180-4, 6.1.2). */
static void sha1_compress(struct sha1_state *s, const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = sha1_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = s->h[0];
	b = s->h[1];
	c = s->h[2];
	d = s->h[3];
	e = s->h[4];
	for (int i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999u;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1u;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDCu;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6u;
		}
		t = sha1_rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = sha1_rol(b, 30);
		b = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

static void sha1_update(struct sha1_state *s, const unsigned char *p, size_t n)
{
	s->total += n;
	while (n > 0) {
		size_t take = SHA1_BLOCK - s->used;

		if (take > n)
			take = n;
		memcpy(s->buf + s->used, p, take);
		s->used += take;
		p += take;
		n -= take;
		if (s->used == SHA1_BLOCK) {
			sha1_compress(s, s->buf);
			s->used = 0;
		}
	}
}

void parley_sha1(const void *data, size_t len, unsigned char out[PARLEY_SHA1_LEN])
{
	struct sha1_state s = {{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u}, 0, {0}, 0};
	unsigned char pad[SHA1_BLOCK + 8] = {0x80};
	uint64_t bits;
	size_t padlen;

	sha1_update(&s, data, len);
	bits = s.total * 8;
	padlen = (s.used < 56 ? 56 - s.used : 120 - s.used);
	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(&s, pad, padlen + 8);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(s.h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s.h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s.h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s.h[i];
	}
}

size_t parley_base64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	if (outlen < PARLEY_BASE64_LEN(n))
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

int parley_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return PARLEY_EIO;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}
