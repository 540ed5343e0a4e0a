/*
 * jwtverify: verifies one JWT with control/ident (jose_verify) for the
 * tests and for people.
 *
 *   jwtverify --issuer ISS --aud AUD [--aud AUD2...] --jwks FILE
 *       [--algs RS256,...] [--now UNIX] [--leeway N] [--max-token N]
 *       [--max-lifetime N] [--jwks-uri URL [--jwks-uri URL2...]]
 *       [--ca-file PEM] [--cache FILE] [--timeout-ms N] [TOKENFILE|-]
 *
 * Prints "ok" and the claims as JSON (exit 0), or the reason name on
 * stdout and the detail on stderr (exit 1); exit 2 on usage or key
 * errors.  Each --jwks-uri is one jose_issuer_refresh, in order, with its
 * outcome on stderr ("refresh: fetched 2 keys"); without TOKENFILE the
 * tool prints "keys N" after them and exits 0 if N > 0.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ident/jose.h"
#include "core/util/clock.h"

#define JV_URIS_MAX 8

struct jv_opts {
	struct jose_issuer iss;
	const char *uris[JV_URIS_MAX];
	unsigned nuris, timeout_ms;
	const char *cache;
	int64_t now;
};

static void
jv_usage(void)
{
	fprintf(stderr, "usage: jwtverify --issuer ISS --aud AUD --jwks FILE "
	                "[--algs LIST] [--now T] [--leeway N] [--max-token N] "
	                "[--max-lifetime N] [--jwks-uri URL]... [--ca-file F] "
	                "[--cache F] [--timeout-ms N] [TOKENFILE]\n");
	exit(2);
}

static void
jv_copy(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size) {
		fprintf(stderr, "jwtverify: \"%s\" too long\n", src);
		exit(2);
	}
	strcpy(dst, src);
}

static void
jv_opt(struct jv_opts *o, int c, const char *arg)
{
	struct jose_issuer *is = &o->iss;

	switch (c) {
	case 'i':
		jv_copy(is->iss, sizeof(is->iss), arg);
		break;
	case 'a':
		if (is->naud == JOSE_AUD_MAX)
			jv_usage();
		jv_copy(is->aud[is->naud++], sizeof(is->aud[0]), arg);
		break;
	case 'j':
		jv_copy(is->jwks_file, sizeof(is->jwks_file), arg);
		break;
	case 'A':
		if (jose_algs_parse(arg, &is->algs) < 0)
			jv_usage();
		break;
	case 'n':
		o->now = strtoll(arg, NULL, 10);
		break;
	case 'l':
		is->leeway = (unsigned)strtoul(arg, NULL, 10);
		break;
	case 'm':
		is->max_token = (unsigned)strtoul(arg, NULL, 10);
		break;
	case 'L':
		is->max_lifetime = (unsigned)strtoul(arg, NULL, 10);
		break;
	case 'u':
		if (o->nuris == JV_URIS_MAX)
			jv_usage();
		o->uris[o->nuris++] = arg;
		break;
	case 'c':
		jv_copy(is->ca_file, sizeof(is->ca_file), arg);
		break;
	case 'C':
		o->cache = arg;
		break;
	case 't':
		o->timeout_ms = (unsigned)strtoul(arg, NULL, 10);
		break;
	default:
		jv_usage();
	}
}

static const struct option jv_longopts[] = {
	{ "issuer", required_argument, NULL, 'i' },
	{ "aud", required_argument, NULL, 'a' },
	{ "jwks", required_argument, NULL, 'j' },
	{ "algs", required_argument, NULL, 'A' },
	{ "now", required_argument, NULL, 'n' },
	{ "leeway", required_argument, NULL, 'l' },
	{ "max-token", required_argument, NULL, 'm' },
	{ "max-lifetime", required_argument, NULL, 'L' },
	{ "jwks-uri", required_argument, NULL, 'u' },
	{ "ca-file", required_argument, NULL, 'c' },
	{ "cache", required_argument, NULL, 'C' },
	{ "timeout-ms", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

static char *
jv_read(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap);

	if (f == NULL || buf == NULL) {
		perror(path);
		exit(2);
	}
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		char *more;

		n += got;
		if (n < cap)
			continue;
		if ((more = realloc(buf, cap *= 2)) == NULL) {
			perror(path);
			exit(2);
		}
		buf = more;
	}
	/* A trailing newline is the file's, not the token's. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*len = n;
	return buf;
}

static const char *const jv_refresh_names[] = { "fetched", "cached", "kept",
	"file" };

static void
jv_keys(struct jv_opts *o)
{
	char err[256] = "";
	unsigned i;
	int r;

	for (i = 0; i < o->nuris; i++) {
		jv_copy(o->iss.jwks_uri, sizeof(o->iss.jwks_uri), o->uris[i]);
		r = jose_issuer_refresh(&o->iss, o->cache, o->timeout_ms, err,
		    sizeof(err));
		fprintf(stderr, "refresh: %s %u keys%s%s\n",
		    r < 0 ? "failed" : jv_refresh_names[r],
		    jose_keyset_count(o->iss.keys), err[0] ? ": " : "", err);
	}
	if (o->nuris == 0 && o->iss.jwks_file[0] != '\0' &&
	    (o->iss.keys = jose_keyset_load_file(o->iss.jwks_file, err,
	         sizeof(err))) == NULL) {
		fprintf(stderr, "jwtverify: %s\n", err);
		exit(2);
	}
}

static int
jv_verify(struct jv_opts *o, const char *path)
{
	struct jose_result res;
	size_t len;
	char *tok = jv_read(path, &len), *claims;
	int r = jose_verify(&o->iss, 1, tok, len, o->now, &res);

	if (r == JOSE_OK) {
		claims = json_dumps(res.claims, JSON_SORT_KEYS | JSON_COMPACT);
		printf("ok\n%s\n", claims);
		free(claims);
	} else {
		printf("%s\n", jose_reason_name(r));
		fprintf(stderr, "jwtverify: %s: %s\n", jose_reason_name(r),
		    res.detail);
	}
	jose_result_free(&res);
	free(tok);
	return r == JOSE_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct jv_opts o = { .iss = { .name = "cli", .algs = JOSE_ALGS_ALL } };
	int c, rc;

	o.now = clk_unix_s();
	while ((c = getopt_long(argc, argv, "", jv_longopts, NULL)) != -1)
		jv_opt(&o, c, optarg);
	if (o.iss.iss[0] == '\0' || argc - optind > 1)
		jv_usage();
	jv_keys(&o);
	if (optind == argc) {
		printf("keys %u\n", jose_keyset_count(o.iss.keys));
		rc = jose_keyset_count(o.iss.keys) > 0 ? 0 : 1;
	} else {
		rc = jv_verify(&o, argv[optind]);
	}
	jose_issuer_clear(&o.iss);
	return rc;
}
