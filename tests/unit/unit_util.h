/*
 * Helpers the cmocka unit tests share: a seeded random stream, so that
 * a failing case can be replayed, and a scratch folder per test program.
 */
#ifndef CORDON_TESTS_UNIT_UTIL_H
#define CORDON_TESTS_UNIT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* splitmix64: the next number of the stream whose state is *S. */
static inline uint64_t
unit_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Makes a fresh folder /tmp/NAME.XXXXXX, its path in DIR: 0 or -1. */
static inline int
unit_tmpdir_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/%s.XXXXXX", name);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes DIR and everything in it: 0 or -1. */
static inline int
unit_tmpdir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
