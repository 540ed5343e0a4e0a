/*
 * Reason and algorithm names: one list each, so counters, logs, the CLI
 * and the tests agree on every spelling.
 */
#include <stdio.h>
#include <string.h>

#include "control/ident/jose_int.h"

#define JOSE_REASON_NAME(id, name) [JOSE_##id] = name,
static const char *const jose_reason_names[] = { JOSE_REASONS(
    JOSE_REASON_NAME) };
#undef JOSE_REASON_NAME

static const char *const jose_alg_names[JOSE_ALG_MAX] = {
	[JOSE_ALG_RS256] = "RS256",
	[JOSE_ALG_PS256] = "PS256",
	[JOSE_ALG_ES256] = "ES256",
	[JOSE_ALG_ES384] = "ES384",
	[JOSE_ALG_EDDSA] = "EdDSA",
};

const char *
jose_reason_name(int r)
{
	if (r < 0 || r >= JOSE_REASON_MAX)
		return "unknown";
	return jose_reason_names[r];
}

const char *
jose_alg_name(int alg)
{
	if (alg < 0 || alg >= JOSE_ALG_MAX)
		return NULL;
	return jose_alg_names[alg];
}

int
jose_alg_parse(const char *name)
{
	int a;

	for (a = 0; a < JOSE_ALG_MAX; a++)
		if (strcmp(name, jose_alg_names[a]) == 0)
			return a;
	return -1;
}

int
jose_algs_parse(const char *list, unsigned *algs)
{
	char buf[16];
	const char *p = list, *comma;
	int a;

	*algs = 0;
	while (*p != '\0') {
		comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || n >= sizeof(buf))
			return -1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if ((a = jose_alg_parse(buf)) < 0)
			return -1;
		*algs |= JOSE_ALG_BIT(a);
		p += n + (comma != NULL);
	}
	return *algs ? 0 : -1;
}

void
jose_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
