/*
 * sha1.c — SHA-1 (FIPS 180-4) for the WebSocket handshake, and nothing else.
 *
 * RFC 6455 derives Sec-WebSocket-Accept from SHA-1(key + GUID).  SHA-1 is
 * broken for signatures and must not be used for anything that needs a
 * secure hash; here it only proves the server understood the handshake.
 * libsodium, which the server links, has no SHA-1, and pulling in a TLS
 * library for one digest is not worth it.  Declared in net/ws_int.h.
 */
#include <stdint.h>
#include <string.h>

#include "net/ws_int.h"

#define SHA1_BLOCK 64

struct sha1_ctx {
	uint32_t h[5];
	uint64_t total;              /* bytes hashed so far */
	unsigned char buf[SHA1_BLOCK];
	size_t used;                 /* bytes waiting in buf */
};

static uint32_t sha1_rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* Mixes one 64-byte block into the state. */
static void sha1_block(struct sha1_ctx *s, const unsigned char *p)
{
	uint32_t w[80];
	uint32_t a, b, c, d, e, f, k, t;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
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

static void sha1_update(struct sha1_ctx *s, const unsigned char *p, size_t n)
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
			sha1_block(s, s->buf);
			s->used = 0;
		}
	}
}

void net_sha1(const void *data, size_t len, unsigned char digest[NET_SHA1_LEN])
{
	static const unsigned char pad = 0x80;
	static const unsigned char zero[SHA1_BLOCK];
	struct sha1_ctx s = {{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u}, 0, {0}, 0};
	unsigned char lenbe[8];
	uint64_t bits;

	sha1_update(&s, data, len);
	bits = s.total * 8;
	/* 0x80, zeros up to 56 mod 64, then the bit length big-endian. */
	sha1_update(&s, &pad, 1);
	sha1_update(&s, zero, (SHA1_BLOCK + 56 - s.used) % SHA1_BLOCK);
	for (int i = 0; i < 8; i++)
		lenbe[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(&s, lenbe, 8);
	for (int i = 0; i < 5; i++) {
		digest[4 * i] = (unsigned char)(s.h[i] >> 24);
		digest[4 * i + 1] = (unsigned char)(s.h[i] >> 16);
		digest[4 * i + 2] = (unsigned char)(s.h[i] >> 8);
		digest[4 * i + 3] = (unsigned char)s.h[i];
	}
}
