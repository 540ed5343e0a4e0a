/*
 * knockparse: reads one knock as hex (stdin or FILE) and prints what
 * knock_parse made of it, one "name=value" line each, or "reason=NAME".
 * With --key PUB.pem it also checks the proof of possession; with
 * --replay FILE it runs the daemon's whole path (knock_check, then
 * knock_finish with --key as the cnf key) against that replay cache and
 * prints "verdict=NAME", with proof of possession required as in the
 * shipped defaults (identity.knock.proof; --no-require-pop is "proof =
 * false").  --jwk FILE instead of --key takes the cnf key
 * as a JWK (JSON), imported by jose_jwk_to_pkey (knock_finish_jwk).
 * Exit 0 when everything asked for passed.
 * For tests/knock/test_knock.py, which encodes knocks independently.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "control/ident/jose.h"
#include "core/util/clock.h"
#include "control/ident/knock.h"

static size_t
hex_read(FILE *f, uint8_t *buf, size_t cap)
{
	int c, hi = -1;
	size_t n = 0;

	while ((c = fgetc(f)) != EOF) {
		const char *digits = "0123456789abcdef";
		const char *p = strchr(digits, c | 0x20);

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (p == NULL || c == 0 || n == cap) {
			fprintf(stderr, "knockparse: bad hex or too long\n");
			exit(2);
		}
		if (hi < 0) {
			hi = (int)(p - digits);
		} else {
			buf[n++] = (uint8_t)(hi << 4 | (int)(p - digits));
			hi = -1;
		}
	}
	return n;
}

static const char *
addr_str(int af, const uint8_t *a)
{
	static char s[INET6_ADDRSTRLEN];

	inet_ntop(af == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	return s;
}

/* "ADDR" or "ADDR/LEN" into P; exits on a bad one. */
static void
pfx_parse(const char *s, struct knock_pfx *p)
{
	char buf[64];
	const char *slash = strchr(s, '/');

	snprintf(buf, sizeof(buf), "%.*s",
	    slash ? (int)(slash - s) : (int)strlen(s), s);
	memset(p, 0, sizeof(*p));
	p->af = strchr(buf, ':') ? 6 : 4;
	if (inet_pton(p->af == 4 ? AF_INET : AF_INET6, buf, p->addr) != 1) {
		fprintf(stderr, "knockparse: bad address %s\n", s);
		exit(2);
	}
	p->plen = slash ? (uint8_t)atoi(slash + 1) : p->af == 4 ? 32 : 128;
}

static void
print_msg(const struct knock_msg *m)
{
	printf("version=%u\nflags=%u\ntimestamp=%lld\nnonce=", m->version,
	    m->flags, (long long)m->timestamp);
	for (int i = 0; i < KNOCK_NONCE_LEN; i++)
		printf("%02x", m->nonce[i]);
	printf("\naddr=%s\n", addr_str(m->addr_af, m->addr));
	printf("service=%.*s\ntoken=%.*s\n", (int)m->service_len, m->service,
	    (int)m->token_len, m->token);
	printf("sig_alg=%s\nsig_len=%zu\nsigned_len=%zu\n",
	    m->sig_alg < 0 ? "none" : knock_alg_name(m->sig_alg), m->sig_len,
	    m->signed_len);
}

static EVP_PKEY *
load_pub(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (k == NULL) {
		fprintf(stderr, "knockparse: %s: not a PEM public key\n", path);
		exit(2);
	}
	return k;
}

/* The daemon's path: check, then finish against the replay file. */
static json_t *
load_jwk(const char *path)
{
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);

	if (j == NULL) {
		fprintf(stderr, "knockparse: %s: not JSON\n", path);
		exit(2);
	}
	return j;
}

static struct knock_pfx src = { .af = 4, .plen = 32, .addr = { 192, 0, 2, 7 } };
static struct knock_nat nat[KNOCK_NAT_MAX];
static unsigned nnat;

static int
run_daemon_path(const uint8_t *buf, size_t len, const char *replay, int64_t now,
    EVP_PKEY *key, json_t *jwk, int alg, int pop_required)
{
	struct knock_conf c = { .replay_path = replay,
		.nat = nat,
		.nnat = nnat };
	struct knock_ctx k;
	struct knock_msg m;
	char err[256];
	int rc;

	if (knock_ctx_init(&k, &c, now, err, sizeof(err)) < 0) {
		fprintf(stderr, "knockparse: %s\n", err);
		exit(2);
	}
	rc = knock_check(&k, buf, len, src.af, src.addr, now * 1000, now * 1000,
	    &m);
	if (rc == KNOCK_R_OK && jwk)
		rc = knock_finish_jwk(&k, &m, jwk, pop_required);
	else if (rc == KNOCK_R_OK)
		rc = knock_finish(&k, &m, key, alg, pop_required);
	printf("verdict=%s\n", knock_reason_name(rc));
	knock_ctx_fini(&k);
	return rc == KNOCK_R_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "jwk", required_argument, NULL, 'j' },
		{ "alg", required_argument, NULL, 'a' },
		{ "replay", required_argument, NULL, 'r' },
		{ "now", required_argument, NULL, 'n' },
		{ "no-require-pop", no_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "nat", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[KNOCK_MAX_LEN + 64];
	const char *replay = NULL;
	EVP_PKEY *key = NULL;
	json_t *jwk = NULL;
	enum jose_alg jalg;
	char err[JOSE_DETAIL_MAX];
	int c, alg = KNOCK_ALG_ANY, rc, pop_required = 1;
	int64_t now = clk_unix_s();
	struct knock_msg m;
	FILE *in = stdin;
	size_t len;

	while (
	    (c = getopt_long(argc, argv, "k:j:a:r:n:ps:N:", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = load_pub(optarg);
			break;
		case 'j':
			jwk = load_jwk(optarg);
			break;
		case 'a':
			for (alg = 0; alg < KNOCK_ALG_MAX; alg++)
				if (strcmp(optarg, knock_alg_name(alg)) == 0)
					break;
			if (alg == KNOCK_ALG_MAX) {
				fprintf(stderr, "knockparse: bad --alg\n");
				return 2;
			}
			break;
		case 'r':
			replay = optarg;
			break;
		case 'n':
			now = strtoll(optarg, NULL, 10);
			break;
		case 'p':
			pop_required = 0;
			break;
		case 's':
			pfx_parse(optarg, &src);
			break;
		case 'N':
			if (nnat == KNOCK_NAT_MAX || !strchr(optarg, ','))
				return 2;
			pfx_parse(optarg, &nat[nnat].inside);
			pfx_parse(strchr(optarg, ',') + 1,
			    &nat[nnat++].outside);
			break;
		default:
			fprintf(stderr,
			    "usage: knockparse [--key PUB.pem | "
			    "--jwk JWK.json] "
			    "[--alg NAME] [--replay FILE [--now T] "
			    "[--no-require-pop] [--src ADDR] "
			    "[--nat INSIDE/LEN,OUTSIDE/LEN]...] [HEXFILE]\n");
			return 2;
		}
	}
	if (optind < argc && (in = fopen(argv[optind], "r")) == NULL) {
		perror(argv[optind]);
		return 2;
	}
	len = hex_read(in, buf, sizeof(buf));
	if (replay) {
		rc = run_daemon_path(buf, len, replay, now, key, jwk, alg,
		    pop_required);
		EVP_PKEY_free(key);
		json_decref(jwk);
		return rc;
	}
	rc = knock_parse(buf, len, &m);
	printf("reason=%s\n", knock_reason_name(rc));
	if (rc != KNOCK_R_OK)
		return 1;
	print_msg(&m);
	if (jwk) {
		key = jose_jwk_to_pkey(jwk, &jalg, err, sizeof(err));
		json_decref(jwk);
		if (key == NULL) {
			printf("pop=bad\njwk_error=%s\n", err);
			return 1;
		}
		if (alg == KNOCK_ALG_ANY)
			alg = (int)jalg;
	}
	if (key) {
		rc = knock_pop_verify(&m, key, alg);
		printf("pop=%s\n", rc == 0 ? "ok" : "bad");
		EVP_PKEY_free(key);
		return rc == 0 ? 0 : 1;
	}
	return 0;
}
