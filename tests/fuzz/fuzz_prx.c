/*
 * libFuzzer harness for the proxy header parsers (core/prx): PROXY v1
 * and v2, Forwarded and X-Forwarded-For, and the origin walk over what
 * they report.  The first byte picks the mode and the window; the rest
 * is copied to a buffer of exactly its size, so ASan flags a read one
 * byte past it.  Every prefix is also parsed: a header arriving a byte
 * at a time must never decide differently from the whole one, except
 * by asking for more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/prx/prx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_prx_parse(unsigned mode, const uint8_t *b, uint32_t n, uint32_t win,
    struct prx_out *o)
{
	if (mode == PRX_MODE_FORWARDED || mode == PRX_MODE_XFF)
		return prx_http_parse(b, n, win, mode, o);
	return prx_proxy_parse(b, n, win, mode, o);
}

/* The promises: hops in range, a known hop of a real family. */
static void
fuzz_prx_check(int r, const struct prx_out *o, uint32_t n)
{
	if (r < PRX_MORE || r > PRX_LOCAL || o->n > PRX_HOPS_MAX)
		abort();
	if (r == PRX_DONE && o->hdrlen > n)
		abort();
	for (unsigned i = 0; i < o->n; i++)
		if (o->hop[i].af != 0 && o->hop[i].af != 4 && o->hop[i].af != 6)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct prx_trust t = { 1, 0, { { 4, 8, 0, { 10 } } } };
	unsigned mode, win;
	struct prx_out o, p;
	uint8_t *b;
	int r, rp;

	if (size < 1 || size > 20000)
		return 0;
	mode = PRX_MODE_V1 + data[0] % (PRX_MODE_MAX - PRX_MODE_V1);
	win = data[0] & 0x80 ? PRX_WINDOW_MIN : PRX_WINDOW_DEF;
	size--;
	if ((b = malloc(size + 1)) == NULL)
		abort();
	memcpy(b, data + 1, size);
	r = fuzz_prx_parse(mode, b, (uint32_t)size, win, &o);
	fuzz_prx_check(r, &o, (uint32_t)size);
	if (prx_origin(&t, &o) >= (int)o.n && o.n != 0)
		abort();
	/* A prefix decides the same, or asks for more. */
	if (size > 0) {
		uint32_t cut = (uint32_t)(data[size] * (size_t)size / 256);

		rp = fuzz_prx_parse(mode, b, cut, win, &p);
		if (rp != PRX_MORE && (rp != r || p.n != o.n))
			abort();
	}
	free(b);
	return 0;
}
