/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012).  The rate table is keyed
 * by source addresses anyone can choose, so its hash takes a random key:
 * nobody outside can predict which sources share a chain.
 */
#include "control/ident/knock.h"

#define KNOCK_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t
knock_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
knock_sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = KNOCK_ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = KNOCK_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = KNOCK_ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = KNOCK_ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = KNOCK_ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = KNOCK_ROTL(v[2], 32);
}

static void
knock_sipblock(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	knock_sipround(v);
	knock_sipround(v);
	v[0] ^= m;
}

uint64_t
knock_siphash(const uint8_t key[16], const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t k0 = knock_le64(key), k1 = knock_le64(key + 8), last;
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ULL,
		k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL,
		k1 ^ 0x7465646279746573ULL,
	};
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		knock_sipblock(v, knock_le64(b + i));
	last = (uint64_t)(n & 0xff) << 56;
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)b[i + j] << (8 * j);
	knock_sipblock(v, last);
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		knock_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
